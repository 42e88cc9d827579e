r"""Contiguous polysystems: separator cuts, flow constraints and graph helpers.

Two ways of imposing contiguity, used together by :class:`solvers.mip.PolysystemModel`
(``contiguity="cuts"``, the default) or the second alone (``contiguity="flow"``).

**Separator cuts** (Oehrlein & Haunert 2017; Validi, Buchanan & Lykhovyd 2022). Solve the
model without contiguity; in each polysystem, every piece ``C`` cut off from the hub's host
unit ``h_j`` gets, for each ``a`` in ``C``, the ``a,h_j``-separator inequality
:math:`x_{aj} \le \sum_{s \in S} x_{sj}`, where ``S`` is the boundary of ``C`` among the
site's candidate units, reduced to the vertices touching the host's side (a minimal
separator). For a site without a host unit the root is the largest piece ``b`` and the cut
reads :math:`x_{aj} + x_{bj} - 1 \le \sum_{s\in S} x_{sj}`. Re-solve (warm-started from a
connected plan: the disconnected solution repaired by :func:`solvers.heuristic.repair_plan`)
until every polysystem is connected. Each round solves a relaxation, so its bound is a
valid lower bound and a connected optimum of a round is optimal. From the first
disconnected round on, the neighbour inequalities below are added too. PuLP has no
lazy-constraint callbacks (nor has highspy 1.15's callback input), hence whole rounds.

**Single-commodity flow** (Shirabe 2005). For every site ``j`` with candidate units
``U_j`` and the arcs ``A_j`` of the adjacency graph inside ``U_j`` (none entering the
root), a continuous flow ``f_jab >= 0`` leaves the root and every other member keeps one
unit of it:

.. math::

    \sum_{a:(a,b)\in A_j} f_{jab} - \sum_{c:(b,c)\in A_j} f_{jbc} = x_{bj}
        \quad b \in U_j \setminus \{h_j\}                 \qquad \text{(balance)}

    \sum_{a:(a,b)\in A_j} f_{jab} \le (|U_j| - 1)\, x_{bj}
        \quad b \in U_j \setminus \{h_j\}                 \qquad \text{(inflow)}

    x_{bj} \le \sum_{a \in N(b) \cap U_j} x_{aj}
        \quad b \in U_j \setminus \{h_j\}                 \qquad \text{(neighbour)}

A unit outside the polysystem receives no flow (inflow) and so passes none on (balance):
every member is reached from the root through members. The neighbour inequalities are
valid (a member other than the root has a member neighbour) and tighten the relaxation. A
site without a host unit chooses its root: binaries ``r_bj`` with ``sum_b r_bj = y_j``,
``r_bj <= x_bj``, and the balance relaxed to ``inflow - outflow >= x_bj - |U_j| r_bj`` (the
root keeps its own unit and sends out up to ``|U_j| - 1``).

**Why cuts first, then flow.** Measured with HiGHS (single thread) to proven optimality:

===============================================  ==============  ==========  ==============
case                                             cuts (rounds)   flow        cuts then flow
===============================================  ==============  ==========  ==============
Redbridge LSOAs, 161 x 17 sites (scenario)       10.5 s (1)      60.9 s      10.5 s
Redbridge LSOAs, 161 x 20 random hosts, 2 seeds  6.6 / 8.9 s     80 / 23 s   same
12 x 12 grid, travel times with +-40% noise      7.9 s (3)       6.4 s       7.9 s
6 x 6 grids, +-40..60% noise (hard)              28 / 73 s       5.8 / 9.2   9.4 / 12.1 s
===============================================  ==============  ==========  ==============

With road travel times the optimum of the model without contiguity is usually already
contiguous, or nearly: one or two cheap rounds prove it, while the flow model multiplies
the size of the LP by ten. Where contiguity keeps binding round after round (artificial
noise), each round restarts branch and bound, so after ``3`` rounds the flow constraints
are added to the same model (the cuts stay) and one more solve finishes exactly.
:func:`solvers.common.candidate_pairs` first drops units that cannot reach a site's host
within its candidate units, which shrinks both forms.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pulp

from catchment.settings import CONTIGUITY_METHODS

__all__ = [
    "CONTIGUITY_METHODS",
    "SeparatorCut",
    "separator_cuts",
    "FlowContiguity",
    "add_flow_contiguity",
    "is_connected",
    "components",
    "spanning_flows",
]


@dataclass(frozen=True)
class SeparatorCut:
    r"""An ``a,b``-separator inequality :math:`x_{aj} + x_{bj} - 1 \le \sum_{s\in S} x_{sj}`.

    With a host unit ``b`` is the host, whose :math:`x_{bj} = y_j \ge x_{aj}`, and the
    cut is written :math:`x_{aj} \le \sum_{s \in S} x_{sj}`.

    Attributes
    ----------
    site : int
        The site ``j``.
    unit : int
        ``a``: a unit in a piece cut off from the root.
    other : int or None
        ``b`` for a site without a host unit (a unit of the root piece); ``None`` when the
        root is the host unit.
    separator : tuple of int
        ``S``: candidate units of ``j`` separating ``a`` from the root.
    """

    site: int
    unit: int
    other: int | None
    separator: tuple[int, ...]


def separator_cuts(
    site_of_unit: Sequence[int],
    *,
    site_units: Mapping[int, Iterable[int]],
    hosts: Sequence[int | None],
    neighbours: Sequence[Sequence[int]],
) -> list[SeparatorCut]:
    """Separator cuts violated by an assignment whose polysystems are not all connected.

    For each polysystem, the piece holding the root (the host unit, or else the largest
    piece) is kept; for every other piece ``C`` the separator is the boundary of ``C``
    among the site's candidate units, reduced to the vertices that touch the root's side
    (a minimal separator in the sense of Fischetti et al. 2017). One cut per unit of
    ``C``; every cut is violated by the assignment and valid for every connected plan.

    Parameters
    ----------
    site_of_unit
        Site index of each unit.
    site_units
        Site -> its candidate units.
    hosts
        Host unit of each site, or ``None``.
    neighbours
        Adjacency lists.

    Returns
    -------
    list of SeparatorCut
        Empty when every polysystem is connected.
    """
    members: dict[int, set[int]] = {}
    for i, j in enumerate(site_of_unit):
        members.setdefault(int(j), set()).add(i)
    cuts: list[SeparatorCut] = []
    for j, mem in sorted(members.items()):
        pieces = components(mem, neighbours)
        if len(pieces) <= 1:
            continue
        host = hosts[j]
        root_piece = next((p for p in pieces if host in p), None) if host is not None else None
        if root_piece is None:
            root_piece = max(pieces, key=lambda p: (len(p), -min(p)))
        root = host if host is not None else min(root_piece)
        cands = set(site_units[j])
        for piece in pieces:
            if piece is root_piece:
                continue
            boundary = {b for a in piece for b in neighbours[a] if b not in piece and b in cands}
            side = next(c for c in components((cands - boundary - piece) | {root}, neighbours) if root in c)
            separator = tuple(sorted(s for s in boundary if any(v in side for v in neighbours[s])))
            for a in sorted(piece):
                cuts.append(SeparatorCut(j, a, None if host is not None else root, separator))
    return cuts


@dataclass
class FlowContiguity:
    """The flow variables added to a model (kept for warm starts).

    Attributes
    ----------
    flows : dict
        ``(site, a, b)`` -> flow variable on arc ``a -> b`` of the site's polysystem.
    roots : dict
        ``(unit, site)`` -> root-choice binary, for sites without a host unit.
    """

    flows: dict[tuple[int, int, int], pulp.LpVariable]
    roots: dict[tuple[int, int], pulp.LpVariable]


def add_flow_contiguity(
    prob: pulp.LpProblem,
    *,
    x: Mapping[tuple[int, int], pulp.LpVariable],
    open_vars: Mapping[int, pulp.LpVariable],
    site_units: Mapping[int, Sequence[int]],
    hosts: Sequence[int | None],
    neighbours: Sequence[Sequence[int]],
    unit_labels: Sequence[str],
    site_labels: Sequence[str],
    neighbour_rows: bool = True,
) -> FlowContiguity:
    """Add the flow contiguity constraints for every site to ``prob``.

    Parameters
    ----------
    prob
        The model.
    x
        ``(unit, site)`` -> assignment binary, for every candidate pair.
    open_vars
        Site -> binary "the hub opens".
    site_units
        Site -> its candidate units.
    hosts
        Host unit of each site (``None``: the model chooses a root).
    neighbours
        Adjacency lists of the units.
    unit_labels, site_labels
        LP-safe names of units and sites (constraint names).
    neighbour_rows
        Add the neighbour inequalities of hosted sites (``False`` when the model has them).

    Returns
    -------
    FlowContiguity
    """
    flows: dict[tuple[int, int, int], pulp.LpVariable] = {}
    roots: dict[tuple[int, int], pulp.LpVariable] = {}
    le, ge, eq = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
    for j, units in site_units.items():
        if not units:
            continue
        members = set(units)
        host = hosts[j] if hosts[j] in members else None
        big_m = float(len(units) - 1)
        s = site_labels[j]
        inflow: dict[int, list[tuple[pulp.LpVariable, float]]] = {b: [] for b in units}
        outflow: dict[int, list[tuple[pulp.LpVariable, float]]] = {b: [] for b in units}
        if len(units) > 1:
            for a in units:
                for b in neighbours[a]:
                    if b in members and b != host:
                        var = prob.add_variable(f"f({unit_labels[a]},{unit_labels[b]},{s})", lowBound=0, upBound=big_m)
                        flows[(j, a, b)] = var
                        inflow[b].append((var, 1.0))
                        outflow[a].append((var, -1.0))
        if host is None:
            for b in units:
                roots[(b, j)] = prob.add_variable(
                    f"root({unit_labels[b]},{s})", cat=pulp.LpInteger, lowBound=0, upBound=1
                )
            prob.addConstraint(
                pulp.LpConstraint(
                    pulp.LpAffineExpression([*((roots[(b, j)], 1.0) for b in units), (open_vars[j], -1.0)]),
                    eq,
                    f"root_{s}",
                    0.0,
                )
            )
        for b in units:
            if b == host:
                continue
            u = unit_labels[b]
            xb = x[(b, j)]
            if host is None:
                rb = roots[(b, j)]
                prob.addConstraint(
                    pulp.LpConstraint(pulp.LpAffineExpression([(rb, 1.0), (xb, -1.0)]), le, f"rootin({u},{s})", 0.0)
                )
                prob.addConstraint(
                    pulp.LpConstraint(
                        # the root keeps its own unit too: it may send out up to |U_j| - 1 net
                        pulp.LpAffineExpression([*inflow[b], *outflow[b], (xb, -1.0), (rb, big_m + 1.0)]),
                        ge,
                        f"balance({u},{s})",
                        0.0,
                    )
                )
            else:
                prob.addConstraint(
                    pulp.LpConstraint(
                        pulp.LpAffineExpression([*inflow[b], *outflow[b], (xb, -1.0)]), eq, f"balance({u},{s})", 0.0
                    )
                )
            if inflow[b]:
                prob.addConstraint(
                    pulp.LpConstraint(pulp.LpAffineExpression([*inflow[b], (xb, -big_m)]), le, f"inflow({u},{s})", 0.0)
                )
            if host is not None and not neighbour_rows:
                continue
            terms = [(x[(a, j)], -1.0) for a in neighbours[b] if a in members]
            if host is None:
                terms.append((roots[(b, j)], -1.0))
            prob.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression([(xb, 1.0), *terms]), le, f"nbr({u},{s})", 0.0)
            )
    return FlowContiguity(flows, roots)


def spanning_flows(
    members: Iterable[int], root: int, neighbours: Sequence[Sequence[int]]
) -> dict[tuple[int, int], float] | None:
    """Flows on a BFS tree of a connected polysystem: a feasible point of the flow model.

    Parameters
    ----------
    members
        Units of the polysystem.
    root
        The root unit (host of the hub).
    neighbours
        Adjacency lists.

    Returns
    -------
    dict or None
        ``(a, b)`` -> flow on tree arc ``a -> b`` (the size of the subtree below ``b``);
        ``None`` if the members are not connected through ``root``.
    """
    members = set(members)
    if root not in members:
        return None
    parent = {root: root}
    order = [root]
    queue = deque([root])
    while queue:
        a = queue.popleft()
        for b in neighbours[a]:
            if b in members and b not in parent:
                parent[b] = a
                order.append(b)
                queue.append(b)
    if len(parent) != len(members):
        return None
    below = dict.fromkeys(order, 1.0)
    flows: dict[tuple[int, int], float] = {}
    for b in reversed(order[1:]):
        a = parent[b]
        flows[(a, b)] = below[b]
        below[a] += below[b]
    return flows


def components(members: Iterable[int], neighbours: Sequence[Sequence[int]]) -> list[set[int]]:
    """Connected components of the subgraph induced by ``members``."""
    left = set(members)
    out: list[set[int]] = []
    while left:
        start = left.pop()
        comp = {start}
        queue = deque([start])
        while queue:
            a = queue.popleft()
            for b in neighbours[a]:
                if b in left:
                    left.discard(b)
                    comp.add(b)
                    queue.append(b)
        out.append(comp)
    return out


def is_connected(members: Iterable[int], neighbours: Sequence[Sequence[int]]) -> bool:
    """True if the units ``members`` form one connected piece (or none)."""
    members = list(members)
    return len(members) <= 1 or len(components(members, neighbours)) == 1
