r"""A lower bound stronger than the LP relaxation: Lagrangian relaxation of the assignment rows.

The LP relaxation is weak under a population floor: a site may open by a fraction and
serve a fraction of a floor's worth of people. Relaxing instead the one row that ties the
sites together, "each unit is assigned once" (:math:`\sum_j x_{ij} = 1`, multiplier
:math:`u_i`), leaves one small integer problem per site, solved exactly, and an outer
choice of which sites open:

.. math::

    L(u) = \sum_i u_i + w_T T_0 + \min_{S} \sum_{j \in S} v_j(u),

where :math:`v_j(u)` is the cheapest way to run site :math:`j` (one of its hub options,
its capital cost in the objective) serving a set of units of reduced cost
:math:`c_{ij} - u_i`: the host unit included, the floor reached, the option's capacity
and the ceiling respected — a covering knapsack, solved by dynamic programming. The outer
minimum is over the sets of sites the count (exactly / at most / at least ``p``), the
required and excluded sites and the budget allow, solved exactly (sorting, or a small
integer programme when there is a budget). Every plan of the model is a point of this
relaxed problem with the same objective, so :math:`L(u)` is a lower bound for every plan
for *any* ``u``; the best :math:`L(u)` seen is the bound. The multipliers start from the
LP duals (:class:`solvers.relaxation.RowDuals`) and are improved by column generation on
the equivalent Dantzig-Wolfe master (HiGHS): its columns are the site configurations the
programmes return (every site's best one at each point), its unit-row duals, kept in a
box around the best multipliers so far (two penalty columns per unit row; the box widens
when it holds the duals back and nothing new comes) and smoothed towards them (Wentges),
are the next point. When the best
:math:`L(u)` reaches the restricted master's value with no box column in use, no
configuration prices out and the
bound is the Lagrangian dual's optimum, the Dantzig-Wolfe bound (``converged``); the
master's value itself is never reported as the bound. (``method="subgradient"``: a
deflected subgradient method instead.) Measured on the OR-Library ``pmedcap1`` set (all 20
converge in a few seconds): that optimum lies well below the published optima on some
instances (pmedcap1-08: 771.67 against 820, the LP bound 768.74); an independent
set-partitioning column generation gives the same values, so the remaining gap is the
decomposition's own, not unconverged multipliers. Contiguity and the one-boundary-group
rule of hostless sites are left out: fewer rules, still a relaxation. Pairs are those
:func:`solvers.common.candidate_pairs` allows (every valid reduction, no ``k`` rule), so
the bound holds for the whole model.

Why the dynamic programme on rounded populations keeps the bound valid
------------------------------------------------------------------------
*Floor only* (no size limit binds). Populations are counted in a unit :math:`\delta`
(``floor / cover_states``) and each unit's floor coefficient :math:`a_i` is rounded
**up**: :math:`r_i = \lceil a_i/\delta \rceil`; the floor becomes
:math:`\sum r_i \ge R = \lceil F'/\delta \rceil` with :math:`F'` the floor less the
tolerances a plan may use. Any set with :math:`\sum a_i \ge F'` has
:math:`\sum r_i \delta \ge \sum a_i \ge F'`, so every set that meets the true floor meets
the rounded one: the rounded problem has more feasible sets, its minimum is no larger,
and the bound stays a lower bound (rounding only weakens it). Units of non-positive
reduced cost are all taken (with no size limit, taking one never hurts).

*A binding size limit* (ceiling or option capacity). Rounding up would forbid sets that
fit, so it is not used: when every population is a whole multiple of a common unit (their
greatest common divisor) and the largest limit is at most ``exact_states`` such units,
the programme runs on exact populations (a second layer records whether a unit that alone
meets the floor — waived, or above the floor — is in the set). Otherwise the size rows
are relaxed too, with their LP duals :math:`\lambda_j \ge 0` as fixed multipliers
(:math:`\lambda_j(\sum p_i x_{ij} - \text{limit})` is :math:`\le 0` on every plan, so
adding it lowers every plan's value: still a lower bound).

The longest-travel term :math:`w_T T` is bounded below through its rows
:math:`T \ge \sum_j t_{ij} x_{ij}` with their LP duals :math:`m_i \ge 0`, scaled so that
:math:`\sum m_i \le w_T`, and :math:`T \ge T_0` (the largest nearest-site travel).

Reduced-cost fixing
-------------------
With the best multipliers, a plan that assigns unit :math:`i` to site :math:`j` costs at
least :math:`L + d_{ij}`, where :math:`d_{ij} \ge 0` is computed from the same pieces:
the site's value with :math:`i` forced in is at least :math:`c_{ij} - u_i` plus the
least cost of covering the rest of the floor by every unit of positive reduced cost
(:math:`i` included: a set may count :math:`i` twice, a smaller number, so a valid
under-estimate), with whole units (a knapsack table over the rounded populations, while
its work allows: :data:`_EXACT_REST_WORK`) or else fractions of them (its LP relaxation, a
smaller number again), and the outer choice with site :math:`j` forced open. Under a
binding size limit (the exact programme) the site's value with :math:`i` forced in is at
least :math:`c_{ij} - u_i` plus the least cost, read from the programme's tables, of any
set of the site's units that fits in the option's limit less :math:`p_i` (and, when
:math:`i` alone does not meet the floor, holds a unit that does or reaches the floor less
:math:`p_i`); that set may hold :math:`i` again, so the minimum is over more sets: a valid
under-estimate, exact whenever the best such set leaves :math:`i` out. Per site, the
outer choice with the site forced open and forced closed gives how much a plan with the
site open (closed) costs at least beyond :math:`L`. Pairs with :math:`L + d_{ij}` above a
plan's objective cannot be in a better plan. It is given only where the outer step is
solved by sorting (no budget).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from catchment.objective import TERMS
from catchment.problem import Problem
from solvers.common import candidate_pairs
from solvers.relaxation import Relaxation, RowDuals

__all__ = [
    "LagrangianBound",
    "lagrangian_bound",
    "lagrangian_deadline",
    "bound_source",
    "stronger_bound",
    "bound_record",
    "TIME_SHARE",
    "MAX_SECONDS",
]

logger = logging.getLogger(__name__)

#: The floor programme's population unit: this share of the median unit's population, within
#: the floor over COVER_STATES_MAX and the floor over COVER_STATES_MIN (see :func:`_floor_unit`).
ROUNDING_SHARE, COVER_STATES_MIN, COVER_STATES_MAX = 0.005, 200, 20_000
#: The best point's reduced costs take about this many evaluations' time (synthetic-20k: 4.0 s
#: against 3.0 s; floor programmes): the search stops early enough to leave it before the deadline.
_REDUCED_COST_EVALUATIONS = 1.5
#: Fewest units :func:`_cheapest_first` takes before it checks that they reach the floor.
_PREFIX_MIN = 64
#: Subgradient iterations that fill the master before its duals steer the multipliers.
_FIRST_STEPS = 30
#: Most states of the exact programme under a binding size limit.
EXACT_STATES = 4096
#: Table cells (units of positive reduced cost x floor units left, summed over the sites, site by
#: site in index order) for which the reduced costs at one set of multipliers cover the rest of a
#: site's floor with whole units (a knapsack table) rather than fractions of them; a site whose
#: table does not fit in what is left keeps the fractional cover.
_EXACT_REST_WORK = 30_000_000
#: Subgradient iterations at most.
MAX_ITERATIONS = 300
#: Inside a time-limited solve the bound may use this share of the time left, and at most
#: MAX_SECONDS: where the units are small beside the floor (London's 4,835 LSOAs) it stays
#: near the LP bound (the Dantzig-Wolfe bound is little stronger there), and 20% of a
#: 10-minute search (116 s, still below the LP bound) was time the search lost.
TIME_SHARE, MAX_SECONDS = 0.2, 30.0
#: Iterations without a better bound before the step halves; the smallest step factor.
_STALL, _MIN_THETA = 10, 1e-4
#: Weight of the previous direction in the next (a deflected subgradient); first step factor.
_DEFLECTION, _THETA = 0.5, 0.1
#: Smoothing of the master's duals towards the best multipliers; cost of leaving a unit
#: uncovered in the master, times the objective's scale.
_SMOOTHING, _BIG_FACTOR = 0.9, 10.0
#: The column generation has converged when the best :math:`L(u)` is within this share of the
#: objective's scale of the restricted master's value (no configuration prices out).
_CONVERGED = 1e-9
#: Reduced costs are taken at this many of the last best multipliers (the largest valid one of each pair).
_FIXING_POINTS = 3
#: Half-width of the box around the best multipliers, times their mean size (0: no box).
_BOX = 1.0
#: A plan may fall short of the floor by this much (relative, then absolute) and still be
#: accepted by the MIP's tolerances: the relaxed floor is lowered by it.
_FLOOR_SLACK_REL, _FLOOR_SLACK_ABS = 1e-9, 1e-6


@dataclass(frozen=True)
class LagrangianBound:
    """A Lagrangian lower bound for every plan of the whole model.

    Attributes
    ----------
    bound : float or None
        The best :math:`L(u)` found, a lower bound for every plan (``None``: none computed,
        e.g. an infeasible model or a lexicographic objective's later terms).
    lp_bound : float or None
        The LP bound whose duals started the multipliers (if any).
    iterations : int
    seconds : float
    mode : str
        ``"floor"`` (no size limit binds), ``"exact"`` (exact populations under a size
        limit) or ``"floor, size rows relaxed"``.
    unit : float
        The population unit of the dynamic programme.
    reduced : ndarray or None
        ``(n_units, n_sites)``: each allowed pair's Lagrangian reduced cost :math:`d_{ij}`
        (``inf`` where no pair is allowed); ``None`` where not computed (a budget). A plan
        that assigns unit ``i`` to site ``j`` has an objective of at least
        ``bound + reduced[i, j]``.
    notes : list of str
    site_open, site_closed : ndarray or None
        ``(n_sites,)``: how much a plan with site ``j`` open (closed) costs at least beyond
        ``bound`` (``inf``: no plan has it so); computed with ``reduced``.
    converged : bool
        The search proved that ``bound`` is the Lagrangian dual's optimum (the
        Dantzig-Wolfe bound of the relaxation, for the fixed multipliers of any rows
        relaxed with their LP duals and the populations as the floor programme rounds
        them): no site configuration prices out against the restricted master, or the
        relaxed answer serves every unit once.
    master : float or None
        The restricted master LP's last value (column generation only). Not a lower bound
        unless ``converged``: then ``bound`` reaches it.
    multipliers : ndarray or None
        ``(n_units,)``: the multipliers :math:`u` of ``bound`` (a start for a related model's
        search, see ``start`` of :func:`lagrangian_bound`).
    infeasible : bool
        The relaxed model has no plan (no set of sites the count, the required sites and the
        budget allow can each reach its floor), so neither has the model.
    """

    bound: float | None
    lp_bound: float | None
    iterations: int
    seconds: float
    mode: str
    unit: float
    reduced: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    site_open: np.ndarray | None = None
    site_closed: np.ndarray | None = None
    converged: bool = False
    master: float | None = None
    multipliers: np.ndarray | None = None
    infeasible: bool = False

    def stats(self) -> dict[str, object]:
        """Plain-data summary (for ``Plan.stats``)."""
        return {
            "bound": self.bound,
            "iterations": self.iterations,
            "seconds": round(self.seconds, 3),
            "mode": self.mode,
            "population_unit": self.unit,
            "converged": self.converged,
            "master": self.master,
        }


def bound_source(lp: float | None, lagrangian: float | None, *, tol: float = 1e-12) -> str | None:
    """Which bound certifies a gap: ``"lagrangian"`` when strictly stronger, else ``"lp"``."""
    if lagrangian is not None and (lp is None or lagrangian > lp + tol * max(1.0, abs(lp))):
        return "lagrangian"
    return "lp" if lp is not None else None


def stronger_bound(lp: float | None, lagrangian: float | None) -> float | None:
    """The larger of two valid bounds (``None`` when neither is known)."""
    known = [b for b in (lp, lagrangian) if b is not None]
    return max(known) if known else None


def bound_record(*, lp: float | None, lagrangian: float | None, final: float | None) -> dict[str, object]:
    """``Plan.stats["bounds"]``: both bounds and which one certified the gap.

    Parameters
    ----------
    lp, lagrangian
        The LP bound and the Lagrangian bound, each for the whole model (``None``: none).
    final
        The bound the plan reports (the largest valid one; it may come from a MIP's own
        branch and bound).

    Returns
    -------
    dict
        ``{"lp": ..., "lagrangian": ..., "source": "lp" | "lagrangian" | "mip" | None}``.
    """
    source = bound_source(lp, lagrangian)
    best = stronger_bound(lp, lagrangian)
    if final is not None and (best is None or final > best + 1e-12 * max(1.0, abs(best))):
        source = "mip"
    elif final is None:
        source = None
    return {"lp": lp, "lagrangian": lagrangian, "source": source}


# ---------------------------------------------------------------------------- the data
@dataclass
class _Site:
    """One usable site: its allowed units, host and options."""

    units: np.ndarray
    host: int | None
    option_cost: np.ndarray  # objective coefficient of each option
    option_budget: np.ndarray  # GBP of each option
    option_limit: np.ndarray  # size limit of each option (at most the population the site can reach)
    binding: bool


@dataclass
class _Data:
    problem: Problem
    cost: np.ndarray  # (n, m) objective coefficient of each pair (travel terms)
    travel: np.ndarray  # (n, m) minutes, 0 where not allowed
    allowed: np.ndarray  # (n, m) bool
    sites: dict[int, _Site]
    floor: float  # relaxed floor F'
    coef: np.ndarray  # floor coefficient a_i
    coverer: np.ndarray  # bool: a unit that alone meets the floor (floor 0: every unit)
    max_weight: float  # w_T of the longest-travel term (0: not in the objective)
    max_low: float
    required: np.ndarray
    lo: int
    hi: int
    budget: float | None


def _weights(problem: Problem) -> Mapping[str, float]:
    objective = problem.objective
    if objective.lexicographic is not None:
        return {objective.lexicographic[0]: 1.0}
    return {t: w for t, w in objective.weights.items() if w > 0}


def _data(problem: Problem) -> _Data:
    n, m = problem.n_units, problem.n_sites
    rules = problem.rules
    weights = _weights(problem)
    cand = candidate_pairs(problem, k=None)
    allowed = cand.mask(n, m)
    travel = np.where(allowed, np.where(np.isfinite(problem.travel_min), problem.travel_min, 0.0), 0.0)
    per_minute = np.zeros(n)
    max_weight = 0.0
    for term in TERMS:
        w = weights.get(term.name, 0.0)
        if w <= 0:
            continue
        if term.kind == "travel":
            per_minute += w * term.travel_shares(problem)
        elif term.kind == "max":
            max_weight = w
    cost = per_minute[:, None] * travel
    nearest = np.where(allowed, travel, np.inf).min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    max_low = float(nearest.max()) if nearest.size else 0.0

    budget = None if rules.budget is None else float(rules.budget)
    ceiling = math.inf if rules.ceiling is None else float(rules.ceiling)
    hosts = problem.site_unit or (None,) * m
    reach = np.bincount(cand.sites, weights=problem.population[cand.units], minlength=m)
    closed = set(cand.closed_sites)
    sites: dict[int, _Site] = {}
    for j in problem.usable_sites().tolist():
        if j in closed:
            continue
        opts = [o for o in problem.options_of(problem.site_ids[j]) if budget is None or o.capital_cost <= budget]
        if not opts:
            continue
        ocost = np.zeros(len(opts))
        for term in TERMS:
            w = weights.get(term.name, 0.0)
            if term.kind == "options" and w > 0:
                ocost += w * np.array([term.option_coefficient(term.option_amount(o)) for o in opts])
        limit = np.array(
            [min(ceiling, math.inf if o.capacity is None else float(o.capacity), float(reach[j])) for o in opts]
        )
        units = np.flatnonzero(allowed[:, j])
        host = hosts[j]
        sites[j] = _Site(
            units=units[units != host] if host is not None else units,
            host=host,
            option_cost=ocost,
            option_budget=np.array([o.capital_cost for o in opts], dtype=float),
            option_limit=limit,
            binding=bool(limit.min() < float(reach[j])),
        )
    floor = float(rules.floor)
    relaxed_floor = max(0.0, floor * (1 - _FLOOR_SLACK_REL) - _FLOOR_SLACK_ABS)
    coef = np.asarray(problem.floor_coefficients, dtype=float)
    coverer = np.ones(n, dtype=bool) if floor <= 0 else coef >= relaxed_floor
    hi = len(sites)
    for cap in (rules.max_polysystems, problem.max_polysystems_by_floor):
        if cap is not None:
            hi = min(hi, int(cap))
    return _Data(
        problem=problem,
        cost=cost,
        travel=travel,
        allowed=allowed,
        sites=sites,
        floor=relaxed_floor,
        coef=coef,
        coverer=coverer,
        max_weight=max_weight,
        max_low=max_low,
        required=problem.required_sites(),
        lo=int(rules.min_polysystems or 0),
        hi=hi,
        budget=budget,
    )


# ---------------------------------------------------------------------------- site programmes
@dataclass
class _SiteAnswer:
    """A site's value per option, the units it serves at its best option, and its floor programme."""

    values: np.ndarray  # per option
    chosen: list[np.ndarray]  # units served, per option
    table: np.ndarray | None = None  # programme values (for reduced-cost fixing)


class _FloorProgramme:
    """Covering knapsack on populations rounded up to ``unit`` (see the module docstring)."""

    def __init__(self, data: _Data, unit: float) -> None:
        self.data = data
        if data.floor > 0:
            self.unit = unit
            self.need = max(0, math.ceil(data.floor / self.unit - 1e-9))
            # round up (never down): a set meeting the true floor meets the rounded one
            r = np.ceil(data.coef / self.unit - 1e-12).astype(np.int64)
            r[data.coverer] = self.need
        else:  # floor 0: an open site without a host serves at least one unit
            self.unit = 1.0
            self.need = 1
            r = np.ones(data.problem.n_units, dtype=np.int64)
        self.weight = np.minimum(r, self.need)

    def solve(self, site: _Site, red: np.ndarray, *, extra: float) -> tuple[float, np.ndarray, np.ndarray]:
        """Least cost of a set meeting the floor (``red``: reduced cost of every unit at this site).

        Returns the value, the units taken, and the table ``best[s]`` = least cost of
        covering ``s`` more units of the floor beyond the forced part (host and
        non-positive units).
        """
        units = site.units
        c = red[units]
        w = self.weight[units]
        base = extra
        covered = 0
        taken = [units[c <= 0]]
        base += float(c[c <= 0].sum())
        covered += int(w[c <= 0].sum())
        if site.host is not None:
            base += float(red[site.host])
            covered += int(self.weight[site.host])
            taken.append(np.array([site.host]))
        left = max(0, self.need - covered)
        pos = c > 0
        pc, pw, pu = c[pos], w[pos], units[pos]
        table = np.full(self.need + 1, np.inf)
        if left == 0:
            table[:] = 0.0
            return base, np.concatenate(taken), table
        # an upper bound on the rest: greedy by cost per weight; dearer single items cannot be used
        if pc.size == 0:
            return math.inf, _NONE, table
        ratio = np.argsort(pc / np.maximum(pw, 1), kind="stable")
        cum = np.cumsum(pw[ratio])
        k = int(np.searchsorted(cum, left))
        upper = float(pc[ratio[: k + 1]].sum()) if k < ratio.size else math.inf
        # a unit is in an optimal set only if its cost plus the fractional cover of the rest
        # (with every unit: a lower estimate) stays within the greedy set's cost
        cw, cc = np.cumsum(pw[ratio]), np.cumsum(pc[ratio])
        rest = np.maximum(left - pw, 0)
        keep = (pc + _fractional_cover(rest, cw, cc, pc[ratio] / np.maximum(pw[ratio], 1))) <= upper * (1 + 1e-12)
        pc, pw, pu = pc[keep], pw[keep], pu[keep]
        order = np.argsort(pc, kind="stable")
        pc, pw, pu = pc[order], pw[order], pu[order]
        takes = np.zeros((pc.size, left + 1), dtype=bool)
        best = _cover_table(pc, pw, left, takes=takes)
        value = float(best[left])
        table[: left + 1] = best
        table[left + 1 :] = 0.0 if left == 0 else best[left]
        if not math.isfinite(value):
            return math.inf, np.array([], dtype=np.int64), table
        s = left
        chosen = []
        for q in range(pc.size - 1, -1, -1):
            if s > 0 and takes[q, s]:
                chosen.append(pu[q])
                s = max(0, s - int(min(pw[q], left)))
        taken.append(np.array(chosen, dtype=np.int64))
        return base + value, np.concatenate(taken), table

    def covered_forced(self, site: _Site, red: np.ndarray) -> int:
        """Floor units covered by the forced part (host, non-positive units)."""
        units = site.units
        c = red[units]
        covered = int(self.weight[units][c <= 0].sum())
        if site.host is not None:
            covered += int(self.weight[site.host])
        return covered


def _cover_table(cost: np.ndarray, weight: np.ndarray, left: int, *, takes: np.ndarray | None = None) -> np.ndarray:
    """Least cost ``best[s]`` of covering at least ``s`` (``0..left``) with each unit at most once.

    ``cost`` and ``weight`` (whole floor units) are the units', in the order they are
    considered; with ``takes`` (``(units, left + 1)`` bool), ``takes[q, s]`` records whether
    unit ``q`` improved ``best[s]`` when it was considered (for tracing a set back).
    """
    best = np.full(left + 1, np.inf)
    best[0] = 0.0
    shifted = np.empty_like(best)
    for q in range(cost.size):
        r = int(min(weight[q], left))
        shifted[r:] = best[: left + 1 - r]
        shifted[:r] = best[0]
        shifted += cost[q]
        if takes is not None:
            takes[q] = shifted < best
        np.minimum(best, shifted, out=best)
    return best


def _cheapest_first(ratio: np.ndarray, weight: np.ndarray, need: int) -> np.ndarray:
    """Indices of the units of lowest ``ratio``, in that order, enough to reach ``need`` in weight (or all).

    A fractional cover of any amount up to ``need`` uses only such a prefix, and any set
    of the lowest ratios (whichever of a tie) gives the same cost curve up to its weight:
    so the cover is the full sort's, without sorting every unit (on 20,000 units per site
    the full sorts were the largest part of the reduced costs).
    """
    size = ratio.size
    guess = max(_PREFIX_MIN, 4 * math.ceil(need / max(float(np.median(weight)), 1.0)))
    if guess < size:
        part = np.argpartition(ratio, guess - 1)[:guess]
        part = part[np.argsort(ratio[part], kind="stable")]
        if float(weight[part].sum()) >= need:
            return part
    return np.argsort(ratio, kind="stable")


def _fractional_cover(need: np.ndarray, cum_weight: np.ndarray, cum_cost: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Least cost of covering each of ``need`` with fractions of units (sorted by cost per weight)."""
    k = np.searchsorted(cum_weight, need)  # first prefix that covers
    k = np.minimum(k, cum_weight.size - 1)
    before_w = np.where(k > 0, cum_weight[np.maximum(k - 1, 0)], 0.0)
    before_c = np.where(k > 0, cum_cost[np.maximum(k - 1, 0)], 0.0)
    out = before_c + (need - before_w) * ratio[k]
    return np.where(need <= 0, 0.0, np.where(need > cum_weight[-1], np.inf, out))


class _ExactProgramme:
    """Knapsack on exact populations under the size limits, with a floor (see the module docstring)."""

    def __init__(self, data: _Data, unit: float, states: int) -> None:
        self.data = data
        self.unit = unit
        self.states = states
        self.weight = np.rint(data.problem.population / unit).astype(np.int64)
        self.need = math.ceil(data.floor / unit - 1e-9) if data.floor > 0 else 0
        self.floor_zero = data.floor <= 0

    def _forward(
        self, js: list[int], sites: Mapping[int, _Site], red: np.ndarray, *, record: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The programme's tables, its items and (``record``) the choices to trace sets back.

        ``dp[k, layer, s]``: least cost of a set of exactly ``s`` units of population at site
        ``js[k]``, host included; layer 1: a unit that alone meets the floor is in it.
        """
        data = self.data
        top = self.states
        n = data.problem.n_units
        cost = np.full((n, len(js)), np.inf)
        dp = np.full((len(js), 2, top + 1), np.inf)
        for k, j in enumerate(js):
            site = sites[j]
            cost[site.units, k] = red[site.units, j]
            if site.host is not None:
                h = site.host
                if self.weight[h] <= top:
                    dp[k, 1 if data.coverer[h] else 0, self.weight[h]] = red[h, j]
            else:
                dp[k, 0, 0] = 0.0
        items = np.flatnonzero(np.isfinite(cost).any(axis=1) & (self.weight <= top))
        takes = np.zeros((items.size, len(js), 2, top + 1), dtype=bool) if record else None
        from_one = np.zeros((items.size, len(js), top + 1), dtype=bool) if record else None
        cand = np.empty_like(dp)
        for q, i in enumerate(items.tolist()):
            w = int(self.weight[i])
            c = cost[i][:, None]
            cand.fill(np.inf)
            if data.coverer[i]:
                if from_one is not None:
                    from_one[q, :, w:] = dp[:, 1, : top + 1 - w] < dp[:, 0, : top + 1 - w]
                cand[:, 1, w:] = np.minimum(dp[:, 0, : top + 1 - w], dp[:, 1, : top + 1 - w]) + c
            else:
                cand[:, :, w:] = dp[:, :, : top + 1 - w] + c[:, :, None]
            if takes is not None:
                np.less(cand, dp, out=takes[q])
            np.minimum(dp, cand, out=dp)
        return dp, items, takes, from_one

    def _limits(self, site: _Site) -> list[int]:
        """Each option's size limit in states."""
        lim = np.minimum(np.floor(site.option_limit * (1 + 1e-9) / self.unit + 1e-9), self.states)
        return [int(v) for v in lim.astype(int)]

    def forced_values(self, sites: Mapping[int, _Site], red: np.ndarray) -> dict[int, np.ndarray]:
        r"""A lower estimate of each site's value with each of its units forced in (per ``site.units``).

        With unit :math:`i` (``w_i`` states) forced into site :math:`j` under an option of
        limit :math:`S`, the rest of the set weighs at most :math:`S - w_i` and, when
        :math:`i` alone does not meet the floor, either holds a unit that does or weighs at
        least the floor less :math:`w_i`. The least cost of *any* set of the site's units
        (host included) with those properties is read from the programme's tables; that set
        may contain :math:`i` again, so the minimum is over more sets than the true one:
        never larger, a valid estimate. ``inf``: no set with :math:`i` fits.
        """
        data = self.data
        js = list(sites)
        dp, _, _, _ = self._forward(js, sites, red, record=False)
        out: dict[int, np.ndarray] = {}
        for k, j in enumerate(js):
            site = sites[j]
            units = site.units
            w = self.weight[units]
            cover = data.coverer[units] | self.floor_zero
            c = red[units, j]
            best = np.full(units.size, np.inf)
            any_layer = np.minimum.accumulate(np.minimum(dp[k, 0], dp[k, 1]))  # least cost of weight <= s
            one = np.minimum.accumulate(dp[k, 1])
            for o, lim in enumerate(self._limits(site)):
                for wv in np.unique(w[w <= lim]).tolist():
                    room = lim - wv
                    sel = w == wv
                    low = max(0, self.need - wv)
                    rest0 = float(dp[k, 0, low : room + 1].min()) if low <= room else math.inf
                    plain = min(float(one[room]), rest0)  # i does not meet the floor alone
                    rest = np.where(cover[sel], float(any_layer[room]), plain)
                    best[sel] = np.minimum(best[sel], c[sel] + rest + float(site.option_cost[o]))
            out[j] = best
        return out

    def solve_many(self, sites: Mapping[int, _Site], red: np.ndarray) -> dict[int, _SiteAnswer]:
        """Least cost per option and the units served, for many sites at once (``red``: ``(n, m)``)."""
        js = list(sites)
        dp, items, takes, from_one = self._forward(js, sites, red, record=True)
        assert takes is not None and from_one is not None
        out: dict[int, _SiteAnswer] = {}
        low = 0 if self.floor_zero else self.need
        for k, j in enumerate(js):
            site = sites[j]
            values = np.full(site.option_cost.size, np.inf)
            chosen: list[np.ndarray] = []
            for o, lim in enumerate(self._limits(site)):
                s1 = int(np.argmin(dp[k, 1, : lim + 1]))
                options = [(float(dp[k, 1, s1]), 1, s1)]
                # floor 0: every unit is a "coverer", so layer 1 is "serves someone" (the serve row)
                if not self.floor_zero and low <= lim:
                    s0 = low + int(np.argmin(dp[k, 0, low : lim + 1]))
                    options.append((float(dp[k, 0, s0]), 0, s0))
                value, layer, s = min(options)
                values[o] = value + site.option_cost[o]
                chosen.append(
                    self._trace(site, items, takes[:, k], from_one[:, k], layer, s) if math.isfinite(value) else _NONE
                )
            out[j] = _SiteAnswer(values, chosen)
        return out

    def _trace(
        self, site: _Site, items: np.ndarray, takes: np.ndarray, from_one: np.ndarray, layer: int, s: int
    ) -> np.ndarray:
        out = []
        for q in range(items.size - 1, -1, -1):
            if takes[q, layer, s]:
                i = int(items[q])
                out.append(i)
                if self.data.coverer[i]:
                    layer = 1 if from_one[q, s] else 0
                s -= int(self.weight[i])
        if site.host is not None:
            out.append(site.host)
        return np.array(out, dtype=np.int64)


_NONE = np.array([], dtype=np.int64)


# ---------------------------------------------------------------------------- the outer step
def _outer(data: _Data, values: Mapping[int, np.ndarray]) -> tuple[float, dict[int, int]] | None:
    """Least total value of the open sites allowed by count, required sites and budget: (value, {site: option})."""
    sites = list(values)
    required = set(data.required.tolist())
    if data.budget is None:
        best = {j: int(np.argmin(values[j])) for j in sites}
        v = {j: float(values[j][best[j]]) for j in sites}
        must = [j for j in sites if j in required]
        if len(must) < len(required) or any(not math.isfinite(v[j]) for j in must):
            return None
        rest = sorted((j for j in sites if j not in required and math.isfinite(v[j])), key=lambda j: v[j])
        negatives = np.asarray(sum(v[j] < 0 for j in rest))
        chosen = must + rest[: int(_taken(data, len(must), negatives, len(rest)))]
        if not data.lo <= len(chosen) <= data.hi:
            return None
        return sum(v[j] for j in chosen), {j: best[j] for j in chosen}
    return _outer_budget(data, values)


def _taken(data: _Data, fixed: int, negatives: np.ndarray, available: int) -> np.ndarray:
    """How many of the other sites, lowest value first, the outer step opens after ``fixed`` open ones.

    It opens them while fewer than ``hi`` are open and either fewer than ``lo`` are or the
    next value is negative: with the values sorted, a prefix of length
    ``min(hi - fixed, max(lo - fixed, negatives), available)`` (elementwise over arrays).
    """
    return np.maximum(0, np.minimum(np.minimum(data.hi - fixed, np.maximum(data.lo - fixed, negatives)), available))


def _outer_budget(data: _Data, values: Mapping[int, np.ndarray]) -> tuple[float, dict[int, int]] | None:
    """The outer step with a budget: a small integer programme; its proven dual bound is the value."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    keys = [(j, o) for j, vals in values.items() for o in range(vals.size) if math.isfinite(vals[o])]
    if not keys:
        return None
    c = np.array([values[j][o] for j, o in keys])
    sites = sorted({j for j, _ in keys})
    pos = {j: k for k, j in enumerate(sites)}
    nk = len(keys)
    one = np.zeros((len(sites), nk))
    for k, (j, _) in enumerate(keys):
        one[pos[j], k] = 1.0
    required = set(data.required.tolist())
    if not required <= set(sites):
        return None
    low = np.array([1.0 if j in required else 0.0 for j in sites])
    budget_row = np.array([data.sites[j].option_budget[o] for j, o in keys])
    cons = [
        LinearConstraint(one, low, np.ones(len(sites))),
        LinearConstraint(np.ones((1, nk)), data.lo, data.hi),
        LinearConstraint(budget_row[None, :], -np.inf, data.budget),
    ]
    res = milp(c, constraints=cons, integrality=np.ones(nk), bounds=Bounds(0, 1), options={"mip_rel_gap": 1e-9})
    if res.x is None:
        return None
    dual = getattr(res, "mip_dual_bound", None)
    value = float(res.fun) if dual is None or not math.isfinite(dual) else min(float(res.fun), float(dual))
    chosen = {keys[k][0]: keys[k][1] for k in np.flatnonzero(res.x > 0.5)}
    return value, chosen


# ---------------------------------------------------------------------------- the bound
@dataclass
class _Evaluation:
    value: float
    counts: np.ndarray  # times each unit is served
    site_values: dict[int, np.ndarray]
    tables: dict[int, np.ndarray]
    red: np.ndarray  # (n, m) reduced cost used
    served: dict[int, list[np.ndarray]]  # units served by each site, per option


class _Lagrangian:
    def __init__(self, data: _Data, duals: RowDuals | None, *, cover_states: int | None, exact_states: int) -> None:
        self.data = data
        n = data.problem.n_units
        m = data.problem.n_sites
        self.size_mult = np.zeros(m)
        self.max_mult = np.zeros(n)
        if data.max_weight > 0 and duals is not None:
            mm = np.maximum(duals.maxtravel, 0.0)
            total = float(mm.sum())
            self.max_mult = mm * (data.max_weight / total) if total > data.max_weight else mm
        binding = [j for j, s in data.sites.items() if s.binding]
        self.exact: _ExactProgramme | None = None
        self.mode = "floor"
        if binding:
            unit = _common_unit(data.problem.population)
            top = max(float(data.sites[j].option_limit.max()) for j in binding)
            if unit is not None and top / unit <= exact_states:
                states = int(math.floor(top / unit + 1e-9))
                self.exact = _ExactProgramme(data, unit, states)
                self.mode = "exact"
            else:
                if duals is not None:
                    self.size_mult = np.maximum(-duals.size, 0.0)
                self.mode = "floor, size rows relaxed"
        self.floor_prog = _FloorProgramme(data, _floor_unit(data, cover_states))
        self.unit = self.exact.unit if self.exact is not None else self.floor_prog.unit
        #: Wall seconds of the last evaluation, and how many evaluations' time the work after
        #: the search (the reduced costs) is kept (see :meth:`out_of_time`).
        self.last_seconds = 0.0
        self.reserve = 0.0

    def out_of_time(self, deadline: float | None) -> bool:
        """Whether one more evaluation, and the work kept for after the search, would end past ``deadline``.

        The last evaluation's time is the estimate of the next (they take about the same:
        the same programmes, other multipliers).
        """
        if deadline is None:
            return False
        return time.perf_counter() + (1.0 + self.reserve) * self.last_seconds >= deadline

    def base(self) -> np.ndarray:
        """Each pair's cost in :math:`L` before the multipliers ``u``."""
        data = self.data
        pop = data.problem.population
        return data.cost + self.max_mult[:, None] * data.travel + self.size_mult[None, :] * pop[:, None]

    def evaluate(self, u: np.ndarray) -> _Evaluation | None:
        began = time.perf_counter()
        try:
            return self._evaluate(u)
        finally:
            self.last_seconds = time.perf_counter() - began

    def _evaluate(self, u: np.ndarray) -> _Evaluation | None:
        data = self.data
        pop = data.problem.population
        base = data.cost + self.max_mult[:, None] * data.travel - u[:, None]
        site_values: dict[int, np.ndarray] = {}
        served: dict[int, list[np.ndarray]] = {}
        tables: dict[int, np.ndarray] = {}
        red_all = np.where(data.allowed, base + self.size_mult[None, :] * pop[:, None], np.inf)
        if self.exact is not None:
            exact = {j: site for j, site in data.sites.items() if site.binding}
            for j, ans in self.exact.solve_many(exact, red_all).items():
                site_values[j] = ans.values
                served[j] = ans.chosen
        for j, site in data.sites.items():
            red = red_all[:, j]
            if j not in site_values:
                val, chosen, table = self.floor_prog.solve(site, red, extra=0.0)
                lam = self.size_mult[j]
                site_values[j] = val + site.option_cost - lam * site.option_limit
                served[j] = [chosen] * site.option_cost.size
                tables[j] = table
        outer = _outer(data, site_values)
        if outer is None:
            return None
        total, chosen_sites = outer
        counts = np.zeros(data.problem.n_units)
        for j, o in chosen_sites.items():
            counts[served[j][o]] += 1
        max_part = (data.max_weight - float(self.max_mult.sum())) * data.max_low
        return _Evaluation(float(u.sum()) + max_part + total, counts, site_values, tables, red_all, served)


class _Master:
    """The restricted master LP of the equivalent Dantzig-Wolfe decomposition (HiGHS).

    Its columns are site configurations (a site, an option, the units served) that the
    site programmes produced; its row duals on the units are the next multipliers. It only
    steers the multipliers: the bound is always :math:`L(u)` computed by the programmes.
    """

    def __init__(self, lag: _Lagrangian, big: float) -> None:
        import highspy

        data = lag.data
        self.lag = lag
        self.n = data.problem.n_units
        self.site_row = {j: self.n + 1 + k for k, j in enumerate(data.sites)}
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)
        inf = highspy.kHighsInf
        required = set(data.required.tolist())
        lower = [1.0] * self.n + [float(data.lo)] + [1.0 if j in required else 0.0 for j in data.sites]
        upper = [1.0] * self.n + [float(data.hi)] + [1.0] * len(data.sites)
        if data.budget is not None:
            lower.append(-inf)
            upper.append(float(data.budget))
        self.budget_row = len(lower) - 1 if data.budget is not None else None
        h.addRows(len(lower), np.array(lower), np.array(upper), 0, np.array([0]), np.array([]), np.array([]))
        # slack columns keep the master feasible before it has columns covering every unit,
        # opening enough sites and every required one
        # and, with their costs, keep the unit rows' duals in a box (set_box): column i leaves
        # unit i uncovered, column n + i covers it once more
        for i in range(self.n):
            h.addCol(big, 0.0, inf, 1, np.array([i], dtype=np.int32), np.array([1.0]))
        for i in range(self.n):
            h.addCol(big, 0.0, inf, 1, np.array([i], dtype=np.int32), np.array([-1.0]))
        h.addCol(big, 0.0, inf, 1, np.array([self.n], dtype=np.int32), np.array([1.0]))
        for j in required & set(data.sites):
            h.addCol(big, 0.0, 1.0, 1, np.array([self.site_row[j]], dtype=np.int32), np.array([1.0]))
        self.h = h
        self.seen: set[tuple[int, int, bytes]] = set()
        self.count = 0

    def add(self, j: int, o: int, units: np.ndarray, cost: float) -> bool:
        """Add a configuration of cost ``cost``; False if the master has it already."""
        units = np.unique(units)
        key = (j, o, units.tobytes())
        if key in self.seen or units.size == 0 or not math.isfinite(cost):
            return False
        self.seen.add(key)
        rows = [*units.tolist(), self.n, self.site_row[j]]
        vals = [1.0] * (units.size + 2)
        if self.budget_row is not None:
            rows.append(self.budget_row)
            vals.append(float(self.lag.data.sites[j].option_budget[o]))
        self.h.addCol(cost, 0.0, 1.0, len(rows), np.array(rows, dtype=np.int32), np.array(vals))
        self.count += 1
        return True

    def add_evaluation(self, ev: _Evaluation, u: np.ndarray) -> int:
        """Add every site's best configuration at ``u``; the number new.

        (Every option's best one as well was measured slower: redbridge-lsoa 10.7 CPU s against
        4.1 to the same converged bound, python bench/bounds.py redbridge-lsoa.)
        """
        added = 0
        for j, values in ev.site_values.items():
            o = int(np.argmin(values))
            if math.isfinite(values[o]):
                units = ev.served[j][o]
                added += self.add(j, o, units, float(values[o]) + float(u[np.unique(units)].sum()))
        return added

    def add_plan(self, plan: np.ndarray, base: np.ndarray) -> None:
        """Add a plan's polysystems (``plan``: site of each unit; ``base``: pair costs without ``u``)."""
        data = self.lag.data
        for j in np.unique(plan).tolist():
            site = data.sites.get(j)
            if site is None:
                continue
            units = np.flatnonzero(plan == j)
            pop = float(data.problem.population[units].sum())
            fits = np.flatnonzero(site.option_limit * (1 + 1e-9) >= pop)
            if fits.size == 0:
                continue
            lam = self.lag.size_mult[j]
            o = int(fits[np.argmin(site.option_cost[fits] - lam * site.option_limit[fits])])
            extra = float(site.option_cost[o] - lam * site.option_limit[o])
            self.add(j, o, units, float(base[units, j].sum()) + extra)

    def set_box(self, centre: np.ndarray, width: float) -> None:
        """Keep the unit rows' duals within ``centre +- width`` (the costs of the box columns)."""
        cols = np.arange(2 * self.n, dtype=np.int32)
        self.h.changeColsCost(cols.size, cols, np.concatenate([centre + width, -(centre - width)]))

    def solve(self) -> tuple[np.ndarray, float, bool] | None:
        """The unit rows' duals, the master's value and whether a box column is used (``None``: not solved).

        With no box column used, the value is the restricted master's own (an upper
        bound on the Lagrangian dual's optimum).
        """
        import highspy

        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            logger.warning("master status %s", self.h.modelStatusToString(self.h.getModelStatus()))
            return None
        solution = self.h.getSolution()
        dual = np.asarray(solution.row_dual)
        boxed = float(np.abs(np.asarray(solution.col_value)[: 2 * self.n]).sum()) > 1e-9
        return dual[: self.n].copy(), float(self.h.getInfo().objective_function_value), boxed


def _floor_unit(data: _Data, states: int | None) -> float:
    """The population unit of the floor programme.

    Exact (the populations' common divisor) when that needs no more states than the
    rounded one; else the floor over ``states``, by default a :data:`ROUNDING_SHARE` of the
    median unit's population (each unit then loses at most that share to the rounding),
    within :data:`COVER_STATES_MIN` and :data:`COVER_STATES_MAX` states.
    """
    if data.floor <= 0:
        return 1.0
    if states is None:
        positive = data.problem.population[data.problem.population > 0]
        median = float(np.median(positive)) if positive.size else data.floor
        unit = min(max(median * ROUNDING_SHARE, data.floor / COVER_STATES_MAX), data.floor / COVER_STATES_MIN)
    else:
        unit = data.floor / states
    common = _common_unit(data.problem.population)
    return common if common is not None and common >= unit else unit


def _common_unit(population: np.ndarray) -> float | None:
    """The greatest common divisor of the populations when all are whole numbers, else ``None``."""
    if not np.allclose(population, np.rint(population), rtol=0, atol=1e-9):
        return None
    ints = np.rint(population).astype(np.int64)
    ints = ints[ints > 0]
    if ints.size == 0:
        return None
    return float(np.gcd.reduce(ints))


def lagrangian_deadline(deadline: float | None, *, share: float = TIME_SHARE) -> float | None:
    """When a time-limited solve's call to :func:`lagrangian_bound` stops.

    Parameters
    ----------
    deadline
        The solve's own ``time.perf_counter()`` deadline (``None``: no time limit, and none
        for the bound either).
    share
        Share of the time left (at most :data:`MAX_SECONDS` in any case).

    Returns
    -------
    float or None
    """
    if deadline is None:
        return None
    now = time.perf_counter()
    return now + min(MAX_SECONDS, share * max(0.0, deadline - now))


def lagrangian_bound(
    problem: Problem,
    *,
    relaxation: Relaxation | None = None,
    upper: float | None = None,
    deadline: float | None = None,
    max_iterations: int = MAX_ITERATIONS,
    cover_states: int | None = None,
    exact_states: int = EXACT_STATES,
    reduced_costs: bool = True,
    plan: np.ndarray | None = None,
    method: str = "columns",
    start: np.ndarray | None = None,
) -> LagrangianBound:
    """A lower bound for every plan of the whole model by Lagrangian relaxation (module docstring).

    Parameters
    ----------
    problem
        The problem.
    relaxation
        A solved LP relaxation (:func:`solvers.relaxation.solve_relaxation`): its duals
        start the multipliers and its value is reported beside the bound.
    upper
        The objective of a known plan (steers the step sizes; not needed for validity).
    deadline
        ``time.perf_counter()`` value to finish by, or ``None``: no round starts that the
        last one's time says would end past it, keeping time for the reduced costs
        (:data:`_REDUCED_COST_EVALUATIONS` rounds' worth); a round is not cut short.
    max_iterations
        Subgradient iterations at most.
    cover_states, exact_states
        States of the floor-only programme (``None``: by the work, :func:`_floor_unit`) and
        most states of the exact programme (see the module docstring).
    reduced_costs
        Also compute each pair's Lagrangian reduced cost.
    plan
        Site index of each unit in a known plan: its polysystems seed the master.
    method
        ``"columns"`` (multipliers from the restricted master LP, smoothed) or
        ``"subgradient"`` (a deflected subgradient method with Polyak steps).
    start
        ``(n_units,)``: multipliers of the unit rows to start from instead of the LP's duals
        (e.g. :attr:`LagrangianBound.multipliers` of the same rows in a related model). Any
        values give a valid bound; good ones save rounds.

    Returns
    -------
    LagrangianBound
    """
    t0 = time.perf_counter()
    duals = relaxation.duals if relaxation is not None and relaxation.status == "optimal" else None
    lp = relaxation.bound if relaxation is not None and relaxation.status == "optimal" else None
    data = _data(problem)
    lag = _Lagrangian(data, duals, cover_states=cover_states, exact_states=exact_states)
    if reduced_costs and data.budget is None:
        lag.reserve = _REDUCED_COST_EVALUATIONS
    if start is not None:
        u = np.asarray(start, dtype=float).copy()
    elif duals is not None:
        u = np.asarray(duals.assign, dtype=float).copy()
    else:
        u = np.where(data.allowed, data.cost, np.inf).min(axis=1)
        u = np.where(np.isfinite(u), u, 0.0)
    scale = max(1e-9, abs(upper) if upper is not None else abs(lp) if lp is not None else 1.0)
    search = _columns if method == "columns" else _subgradient
    found = search(lag, u, upper=upper, deadline=deadline, max_iterations=max_iterations, scale=scale, plan=plan)
    if found is None:
        seconds = time.perf_counter() - t0
        return LagrangianBound(
            None, lp, 0, seconds, lag.mode, lag.unit, notes=["the relaxed model is infeasible"], infeasible=True
        )
    fixing = _fixing(lag, found, deadline=deadline) if reduced_costs and data.budget is None else None
    seconds = time.perf_counter() - t0
    logger.info(
        "lagrangian bound %.6g (lp %s, master %s, converged %s), %d iterations, %.1f s, %s",
        found.value,
        lp,
        found.master,
        found.converged,
        found.iterations,
        seconds,
        lag.mode,
    )
    return LagrangianBound(
        found.value if math.isfinite(found.value) else None,
        lp,
        found.iterations,
        seconds,
        lag.mode,
        lag.unit,
        None if fixing is None else fixing[0],
        found.notes,
        site_open=None if fixing is None else fixing[1],
        site_closed=None if fixing is None else fixing[2],
        converged=found.converged,
        master=found.master,
        multipliers=found.u.copy(),
    )


@dataclass
class _Found:
    """What a multiplier search found: the best :math:`L(u)`, its multipliers and evaluation."""

    value: float
    u: np.ndarray
    evaluation: _Evaluation
    iterations: int
    notes: list[str]
    converged: bool = False
    master: float | None = None
    earlier: list[_Evaluation] = field(default_factory=list)  # the previous best ones, latest first


def _earlier(best: _Evaluation | None, earlier: list[_Evaluation]) -> list[_Evaluation]:
    """The previous best evaluations once ``best`` is beaten (for :func:`_fixing`)."""
    return earlier if best is None else [best, *earlier][: _FIXING_POINTS - 1]


def _subgradient(
    lag: _Lagrangian,
    u: np.ndarray,
    *,
    upper: float | None,
    deadline: float | None,
    max_iterations: int,
    scale: float,
    plan: np.ndarray | None,
    master: _Master | None = None,
) -> _Found | None:
    """Deflected subgradient steps (Polyak's rule towards ``upper``); the best value, multipliers, evaluation.

    With ``master``, every evaluation's configurations are added to it.
    """
    del plan
    best_value, best_u, best_eval = -math.inf, u.copy(), None
    earlier: list[_Evaluation] = []
    converged = False
    direction = np.zeros(u.size)
    theta, stall, it = _THETA, 0, 0
    notes: list[str] = []
    while it < max_iterations:
        if it > 0 and lag.out_of_time(deadline):
            notes.append(f"time limit reached after {it} iterations")
            break
        ev = lag.evaluate(u)
        it += 1
        if ev is None:
            return None
        if master is not None:
            master.add_evaluation(ev, u)
        if ev.value > best_value + 1e-12 * scale:
            earlier = _earlier(best_eval, earlier)
            best_value, best_u, best_eval = ev.value, u.copy(), ev
            stall = 0
        else:
            stall += 1
            if stall >= _STALL:  # back to the best multipliers with shorter steps
                theta /= 2
                stall = 0
                if theta < _MIN_THETA:
                    break
                assert best_eval is not None
                u, ev, direction = best_u.copy(), best_eval, np.zeros(u.size)
        g = 1.0 - ev.counts
        if not g.any():  # the relaxed answer is a plan: L is the optimum, nothing beats it
            converged = True
            break
        if upper is not None and upper - best_value <= 1e-9 * scale:
            break
        direction = g + _DEFLECTION * direction
        target = upper if upper is not None else best_value + 0.01 * scale
        gap = max(target - ev.value, 1e-6 * scale)
        u = u + theta * gap / float(direction @ direction) * direction
    assert best_eval is not None
    return _Found(best_value, best_u, best_eval, it, notes, converged, earlier=earlier)


def _columns(
    lag: _Lagrangian,
    u: np.ndarray,
    *,
    upper: float | None,
    deadline: float | None,
    max_iterations: int,
    scale: float,
    plan: np.ndarray | None,
) -> _Found | None:
    """Multipliers from the restricted master's duals, smoothed towards the best so far (Wentges).

    The master is first filled by a few subgradient steps (their
    configurations, and the plan's polysystems), which also give the first best multipliers.
    """
    master = _Master(lag, big=_BIG_FACTOR * scale)
    if plan is not None:
        master.add_plan(plan, lag.base())
    first = _subgradient(
        lag,
        u,
        upper=upper,
        deadline=deadline,
        max_iterations=min(_FIRST_STEPS, max_iterations // 2),
        scale=scale,
        plan=None,
        master=master,
    )
    if first is None:
        return None
    if first.converged:
        return first
    best_value, best_u, best_eval, it, notes = first.value, first.u, first.evaluation, first.iterations, first.notes
    earlier = first.earlier
    converged, master_value = False, None
    constant = (lag.data.max_weight - float(lag.max_mult.sum())) * lag.data.max_low
    alpha = _SMOOTHING
    width = _BOX * max(float(np.abs(best_u).mean()), 1e-9 * scale)
    while it < max_iterations:
        if lag.out_of_time(deadline):
            notes[:] = [f"time limit reached after {it} iterations"]
            break
        if _BOX:
            master.set_box(best_u, width)
        solved = master.solve()
        if solved is None:
            notes.append("the master LP was not solved")
            break
        u_master, value, boxed = solved
        master_value = None if boxed else value + constant
        if master_value is not None and best_value >= master_value - _CONVERGED * scale:
            # no configuration prices out: the master's value is the Lagrangian dual's optimum
            # (the Dantzig-Wolfe bound) and the best L reaches it
            converged = True
            break
        if upper is not None and upper - best_value <= 1e-9 * scale:
            break
        point = alpha * best_u + (1 - alpha) * u_master
        ev = lag.evaluate(point)
        it += 1
        logger.debug("master %.6g (box %s), best L %.6g", value + constant, boxed, best_value)
        if ev is None:
            return None
        improved = ev.value > best_value + 1e-12 * scale
        if improved:
            earlier = _earlier(best_eval, earlier)
            best_value, best_u, best_eval = ev.value, point, ev
        added = master.add_evaluation(ev, point)
        if boxed and not added and not improved:
            width *= 2  # the box holds the duals back and nothing new came: widen it
        alpha = _SMOOTHING if added else 0.0  # no new column: price at the master's own duals
        if not added and not improved and not boxed and alpha == 0.0 and np.array_equal(point, u_master):
            break
    return _Found(best_value, best_u, best_eval, it, notes, converged, master_value, earlier)


def _fixing(
    lag: _Lagrangian, found: _Found, *, deadline: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    r"""Reduced costs against the best :math:`L`, from its multipliers and the previous best ones.

    A plan with unit :math:`i` at site :math:`j` costs at least :math:`L(u^k) + d_{ij}(u^k)`
    for every :math:`k`, so :math:`\max_k (L(u^k) + d_{ij}(u^k)) - L` is a valid reduced cost
    against the best :math:`L` (likewise for the per-site figures). The best point's are
    always computed; an earlier point's only when it fits before ``deadline``
    (:meth:`_Lagrangian.out_of_time`).
    """
    out: tuple[np.ndarray, ...] | None = None
    for k, ev in enumerate([found.evaluation, *found.earlier]):
        if k > 0 and lag.out_of_time(deadline):
            break  # the best point's reduced costs always; the earlier ones only if they fit in the time limit
        parts = _reduced(lag, ev)
        if parts is None:
            continue
        shifted = tuple(x + (ev.value - found.value) for x in parts)
        out = shifted if out is None else tuple(np.maximum(a, b) for a, b in zip(out, shifted, strict=True))
    if out is None:
        return None
    pairs, site_open, site_closed = (np.maximum(x, 0.0) for x in out)
    return pairs, site_open, site_closed


def _reduced(lag: _Lagrangian, ev: _Evaluation) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    r"""Lagrangian reduced costs at ``ev``'s multipliers (module docstring).

    Returns each allowed pair's :math:`d_{ij} \ge 0` (``(n, m)``, ``inf`` where not allowed)
    and each site's increase of :math:`L` when forced open and when forced closed (``(m,)``).
    """
    data = lag.data
    n, m = data.problem.n_units, data.problem.n_sites
    best = {j: float(v.min()) for j, v in ev.site_values.items()}
    # outer value with site j forced open, less the outer optimum
    outer = _forced_outer(data, best)
    if outer is None:
        return None
    forced, closed, base_total = outer
    exact = lag.exact
    with_unit: dict[int, np.ndarray] = {}
    if exact is not None:
        with_unit = exact.forced_values({j: s for j, s in data.sites.items() if s.binding}, ev.red)
    out = np.full((n, m), np.inf)
    work = _EXACT_REST_WORK
    for j, site in data.sites.items():
        units = site.units
        if not (math.isfinite(best[j]) and math.isfinite(forced[j])):
            continue  # the site cannot open (or not with the outer rules): its pairs are in no plan
        if j in with_unit:
            # the exact programme with i forced in (its capacity less i's population)
            site_with = np.maximum(best[j], with_unit[j])
        else:
            prog = lag.floor_prog
            red = ev.red[:, j]
            c = red[units]
            lam = lag.size_mult[j]
            opt_part = float(np.min(site.option_cost - lam * site.option_limit))
            covered = prog.covered_forced(site, red)
            left = max(0, prog.need - covered)
            forced_part = float(c[c <= 0].sum()) + (float(red[site.host]) if site.host is not None else 0.0)
            w = prog.weight[units]
            # a unit already taken for free (c <= 0): forcing it changes nothing; else the rest of
            # the floor costs at least its fractional cover by every unit of positive cost
            rest = np.maximum(0, left - w)
            pos = c > 0
            if pos.any():
                cp, wp = c[pos], w[pos].astype(float)
                order = _cheapest_first(cp / np.maximum(wp, 1), wp, left)
                pc, pw = cp[order], wp[order]
                frac = _fractional_cover(rest.astype(float), np.cumsum(pw), np.cumsum(pc), pc / np.maximum(pw, 1))
                if 0 < cp.size * left <= work:
                    work -= cp.size * left
                    # the rest covered by whole units: every unit of positive cost, not only the
                    # cheapest ones above (i included, so a set may count i twice: an under-estimate,
                    # valid, and never below the fractional cover, the same programme's LP relaxation)
                    exact_rest = _cover_table(cp, wp, left)[np.minimum(rest, left)]
                    frac = np.maximum(frac, exact_rest)
            else:
                frac = np.where(rest > 0, np.inf, 0.0)
            with_i = forced_part + c + frac + opt_part
            site_with = np.where(c <= 0, best[j], np.maximum(best[j], with_i))
        out[units, j] = site_with - best[j] + (forced[j] - base_total)
        if site.host is not None:
            out[site.host, j] = forced[j] - base_total
    site_open = np.full(m, np.inf)
    site_closed = np.zeros(m)
    for j in data.sites:
        site_open[j] = forced[j] - base_total if math.isfinite(best[j]) else math.inf
        site_closed[j] = closed[j] - base_total
    return np.maximum(out, 0.0), np.maximum(site_open, 0.0), np.maximum(site_closed, 0.0)


def _forced_outer(data: _Data, v: Mapping[int, float]) -> tuple[dict[int, float], dict[int, float], float] | None:
    """Outer value with each site forced open, with each forced closed, and unforced; no budget only.

    ``inf``: no choice of sites the count and the required sites allow has the site open
    (closed). ``None``: the outer step itself has no choice.

    The outer step (:func:`_outer`) opens the required sites, then a prefix of the others
    sorted by value (:func:`_taken`). Forcing a site open or closed takes it out of the
    sorted list and adds one to the sites open before it or not, so each of the ``2m``
    values is a prefix sum, all computed at once (one sort, not one pass per site).
    """
    required = set(data.required.tolist())
    sites = list(v)
    must = [j for j in sites if j in required]
    if any(not math.isfinite(v[j]) for j in must):
        return None
    rest = sorted((j for j in sites if j not in required and math.isfinite(v[j])), key=lambda j: v[j])
    vals = np.array([v[j] for j in rest], dtype=float)
    prefix = np.concatenate([[0.0], np.cumsum(vals)])
    n_rest, n_must = vals.size, len(must)
    must_total = float(sum(v[j] for j in must))
    negatives = int(np.count_nonzero(vals < 0))

    def total(fixed: int, t: np.ndarray, extra: np.ndarray) -> np.ndarray:
        return np.where((data.lo <= fixed + t) & (fixed + t <= data.hi), must_total + extra, np.inf)

    t0 = _taken(data, n_must, np.asarray(negatives), n_rest)
    base = float(total(n_must, t0, prefix[t0]))
    if not math.isfinite(base):
        return None
    # each sorted site taken out of the list: the prefix of the others, of length t
    pos = np.arange(n_rest)
    negs_without = negatives - (vals < 0)

    def without(t: np.ndarray) -> np.ndarray:
        return np.where(pos < t, prefix[np.minimum(t + 1, n_rest)] - vals, prefix[np.minimum(t, n_rest)])

    t_open = _taken(data, n_must + 1, negs_without, n_rest - 1)
    t_closed = _taken(data, n_must, negs_without, n_rest - 1)
    forced_open = total(n_must + 1, t_open, vals + without(t_open))
    forced_closed = total(n_must, t_closed, without(t_closed))
    forced = {j: base for j in must}
    closed = {j: math.inf for j in must}
    for k, j in enumerate(rest):
        forced[j] = float(forced_open[k])
        closed[j] = float(forced_closed[k])
    for j in sites:  # no finite value: it cannot open; closing it changes nothing
        if j not in forced:
            forced[j] = math.inf
            closed[j] = base
    return forced, closed, base
