r"""A lower bound stronger than the Lagrangian bound: branching on sites, the Lagrangian bound at every node.

The Lagrangian bound (:func:`solvers.lagrangian.lagrangian_bound`) reaches at best the
Dantzig-Wolfe bound, and under a tight floor that bound stays well below the optimum: its
master mixes fractions of many sites' polysystems (redbridge-lsoa: 3.84245 against the
optimum 3.88655, 12% of the LP's gap closed). Deciding sites closes that gap.

**Argument.** Every plan opens each usable site or leaves it closed. A *node* is the model
with some candidate sites forced open (``required``) and some closed (``excluded``); its
plans split into those of its two children, one more site decided each way. The
Lagrangian bound of a node's model holds for every plan of the node, and so does its
parent's (a node's plans are some of its parent's): a node's bound is the larger of the
two. So the least bound over the leaves of any such tree holds for every plan of the
whole model, and a leaf whose bound reaches a known plan's objective ``upper`` holds no
better plan. Before its own Lagrangian bound is computed, a child is bounded by its
parent's per-site figure (:attr:`~solvers.lagrangian.LagrangianBound.site_open`,
``site_closed``: what a plan with the site open, or closed, costs at least beyond the
parent's bound), and a child whose relaxed model has no plan at all
(:attr:`~solvers.lagrangian.LagrangianBound.infeasible`) leaves no leaf. A leaf with every
site decided cannot be split on sites; its model is then an assignment of units to fixed
sites, and the single MIP (:class:`solvers.mip.PolysystemModel`, contiguity included) bounds
it exactly when it proves its answer, and by its own bound when time runs out; a leaf
whose MIP proves that it has no plan leaves no leaf.

**Search.** Best first: the leaf of least bound is taken; if its own bound is not computed
yet, it is computed and the leaf goes back with it; else it is split on the undecided
site whose cheaper way (open or closed) costs most beyond its bound
(:math:`\max_j \min(\text{open}_j, \text{closed}_j)`). The search stops when the least
leaf reaches ``upper`` (the plan is then proven optimal), at the deadline, after
``max_nodes`` evaluations, or when the least leaf has every site decided and its MIP done
(its bound is then final); the bound is the least leaf at that moment. The Lagrangian
bounds leave contiguity out: still a relaxation.

Measured (``python bench/bounds.py redbridge-lsoa``, tests/test_branching.py): the tree
reaches redbridge-lsoa's optimum 3.88655, so proves it, with 28 Lagrangian bounds and one
leaf MIP in 12 s; without the leaves' MIPs it ends at that leaf at 3.87773 (82% of the LP's
gap). See docs/benchmarks.md, "Bounds".
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from catchment.problem import Problem
from solvers.lagrangian import LagrangianBound, lagrangian_bound
from solvers.mip import PolysystemModel
from solvers.relaxation import Relaxation

__all__ = ["BranchingBound", "site_branching_bound"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BranchingBound:
    """A lower bound for every plan of the whole model from a tree of site decisions.

    Attributes
    ----------
    bound : float or None
        The least bound over the tree's leaves (``None``: the root has no Lagrangian bound,
        e.g. a lexicographic objective's later terms). At least ``root``.
    root : float or None
        The root's Lagrangian bound.
    nodes : int
        Lagrangian bounds computed here (the root's included unless it was given).
    leaf_mips : int
        MIPs solved for leaves with every site decided.
    open_leaves : int
        Leaves below ``upper`` left when the search stopped (0: every leaf reached it or has
        no plan).
    proven : bool
        ``bound`` reached ``upper``: no plan is better than the one ``upper`` came from.
    stop : str
        Why the search stopped: ``"proven"``, ``"deadline"``, ``"nodes"`` (``max_nodes``),
        ``"decided"`` (the least leaf has every site decided: its bound is final, so no
        branching on sites raises the least bound further), ``"root"`` (no branching:
        no per-site figures) or ``"exhausted"`` (no leaf has a plan).
    seconds : float
    notes : tuple of str
    """

    bound: float | None
    root: float | None
    nodes: int
    leaf_mips: int
    open_leaves: int
    proven: bool
    stop: str
    seconds: float
    notes: tuple[str, ...] = ()

    def stats(self) -> dict[str, object]:
        """Plain-data summary."""
        return {
            "bound": self.bound,
            "root": self.root,
            "nodes": self.nodes,
            "leaf_mips": self.leaf_mips,
            "open_leaves": self.open_leaves,
            "proven": self.proven,
            "stop": self.stop,
            "seconds": round(self.seconds, 3),
        }


def site_branching_bound(
    problem: Problem,
    *,
    upper: float | None,
    deadline: float | None = None,
    max_nodes: int | None = None,
    relaxation: Relaxation | None = None,
    root: LagrangianBound | None = None,
    solve_decided: bool = True,
) -> BranchingBound:
    """A lower bound for every plan of the whole model by branching on sites (module docstring).

    Parameters
    ----------
    problem
        The problem.
    upper
        The objective of a known plan: leaves at or above it are closed (``None``: none is,
        and the search runs to the deadline or ``max_nodes``).
    deadline
        ``time.perf_counter()`` value to finish by (``None``: none); each node's Lagrangian
        search keeps to it, and no node starts after it.
    max_nodes
        Lagrangian bounds to compute here at most (``None``: no limit).
    relaxation
        A solved LP relaxation of the whole model: its duals start every node's multipliers
        (they are multipliers of the same rows).
    root
        The root's Lagrangian bound if already computed (with reduced costs).
    solve_decided
        Bound a leaf with every site decided by its MIP (within the time left; not started
        with less than :data:`_LEAF_MIP_MIN_SECONDS` left); else the search ends at such a
        leaf when it is the least.

    Returns
    -------
    BranchingBound
    """
    began = time.perf_counter()
    status = tuple(problem.site_status)
    usable = problem.usable_sites()

    def node(site_status: tuple[str, ...]) -> Problem:
        return problem if site_status == status else dataclasses.replace(problem, site_status=site_status)

    def bound_of(site_status: tuple[str, ...], start: np.ndarray | None = None) -> LagrangianBound:
        return lagrangian_bound(node(site_status), relaxation=relaxation, upper=upper, deadline=deadline, start=start)

    first = root if root is not None else bound_of(status)
    nodes = 0 if root is not None else 1
    if first.bound is None:
        notes = ("no Lagrangian bound at the root", *first.notes)
        return BranchingBound(None, None, nodes, 0, 0, False, "root", time.perf_counter() - began, notes)
    if first.site_open is None or first.site_closed is None:
        notes = ("no per-site figures (not computed under a budget): the root's bound, no branching",)
        proven = _reached(first.bound, upper)
        seconds = time.perf_counter() - began
        return BranchingBound(first.bound, first.bound, nodes, 0, 0, proven, "root", seconds, notes)

    # leaves: (bound, order, site statuses, their Lagrangian bound if computed (own) else their parent's,
    # own, their MIP solved)
    leaves: list[tuple[float, int, tuple[str, ...], LagrangianBound, bool, bool]] = [
        (first.bound, 0, status, first, True, False)
    ]
    leaf_mips = 0
    order = 1
    final = math.inf  # the bound of a leaf taken with every site decided
    stopped = "exhausted"  # no leaf left: none has a plan
    while leaves:
        if _reached(leaves[0][0], upper):
            break
        if deadline is not None and time.perf_counter() >= deadline:
            stopped = "deadline"
            break
        value, _, site_status, lag, own, solved = heapq.heappop(leaves)
        if not own:  # a child bounded by its parent's figures: its own bound, from its parent's multipliers
            if max_nodes is not None and nodes >= max_nodes:
                heapq.heappush(leaves, (value, order, site_status, lag, False, False))
                stopped = "nodes"
                break
            lag = bound_of(site_status, lag.multipliers)
            nodes += 1
            if lag.infeasible:
                continue  # no plan opens and closes these sites
            computed = -math.inf if lag.bound is None else lag.bound
            heapq.heappush(leaves, (max(value, computed), order, site_status, lag, True, False))
            order += 1
            continue
        free = [j for j in usable if site_status[j] == "candidate"]
        if not free and solve_decided and not solved and _time_for_a_mip(deadline):
            exact = _decided_bound(node(site_status), deadline)
            leaf_mips += 1
            if exact is not None:
                heapq.heappush(leaves, (max(value, exact), order, site_status, lag, True, True))
                order += 1
            continue
        if not free or lag.bound is None or lag.site_open is None or lag.site_closed is None:
            # every site decided (or no figures to branch on): this least leaf's bound is final,
            # so no further branching raises the least bound over the leaves
            final = value
            stopped = "deadline" if not free and solve_decided and not solved else "decided"  # no time for its MIP
            break
        j = _branch_site(free, lag.site_open, lag.site_closed)
        for decision, child in (
            ("required", lag.bound + lag.site_open[j]),
            ("excluded", lag.bound + lag.site_closed[j]),
        ):
            if child == math.inf:
                continue  # no plan of this leaf has site j so
            child_status = site_status[:j] + (decision,) + site_status[j + 1 :]
            heapq.heappush(leaves, (max(value, float(child)), order, child_status, lag, False, False))
            order += 1
    least = min(leaves[0][0] if leaves else math.inf, final)
    bound = max(first.bound, least)  # inf only if no leaf has a plan: then neither has the model
    open_leaves = sum(1 for leaf in leaves if not _reached(leaf[0], upper)) + (final < math.inf)
    proven = _reached(bound, upper)
    seconds = time.perf_counter() - began
    stop = "proven" if proven else stopped
    logger.info(
        "site branching bound %.6g (root %.6g, upper %s): %d node(s), %d open leaf(s), %.1f s",
        bound,
        first.bound,
        upper,
        nodes,
        open_leaves,
        seconds,
    )
    return BranchingBound(bound, first.bound, nodes, leaf_mips, open_leaves, proven, stop, seconds)


def _branch_site(free: list[int], site_open: np.ndarray, site_closed: np.ndarray) -> int:
    """The undecided site to split a leaf on: the one whose cheaper way costs most beyond the leaf's bound."""
    return max(free, key=lambda s: (min(site_open[s], site_closed[s]), -s))


#: Seconds left below which a leaf's MIP is not started (the search ends at the leaf instead).
_LEAF_MIP_MIN_SECONDS = 1.0


def _time_for_a_mip(deadline: float | None) -> bool:
    return deadline is None or deadline - time.perf_counter() >= _LEAF_MIP_MIN_SECONDS


def _decided_bound(leaf: Problem, deadline: float | None) -> float | None:
    """A bound for every plan of a leaf's model (every site decided) from its MIP; ``None``: it has no plan.

    The MIP's plan is certified for the whole leaf model (``Plan.bound``); with no bound
    known (time ran out before any), the leaf keeps ``-inf`` (its Lagrangian bound stands).
    """
    limit = None if deadline is None else max(_LEAF_MIP_MIN_SECONDS, deadline - time.perf_counter())
    plan = PolysystemModel.from_problem(leaf).solve(time_limit=limit, mip_gap=_LEAF_MIP_GAP, threads=1)
    if plan.status == "infeasible":
        return None
    return -math.inf if plan.bound is None else float(plan.bound)


#: The leaves' MIPs' relative gap: their bound is what counts, close to their answer.
_LEAF_MIP_GAP = 1e-6

#: Relative tolerance for a bound to count as reaching ``upper`` (floating-point noise of the
#: Lagrangian's sums; the bound reported is the computed one).
_REACHED_TOL = 1e-9


def _reached(value: float, upper: float | None) -> bool:
    return upper is not None and value >= upper - _REACHED_TOL * max(1.0, abs(upper))
