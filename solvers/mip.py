"""The polysystem mixed-integer model (PuLP), solved with HiGHS or CBC.

:class:`PolysystemModel` states the formulation; :func:`solve` is the one-call entry
point. Both return an immutable :class:`catchment.plan.Plan` whose status is honest:
``optimal`` only when proven (within ``mip_gap``) for the whole model, a bound only when it
holds for every plan, even when the model was restricted to each unit's ``k`` nearest
sites (the left-out pairs are priced; see :func:`_prove_whole_model`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp

from catchment.objective import TERMS, option_terms
from catchment.plan import Plan
from catchment.problem import Objective, Problem, Rules
from catchment.settings import DEFAULTS, METHODS, check_solver_options
from catchment.timing import STOPPED_BY_TIME_LIMIT
from solvers.common import (
    AUTO_K,
    AUTO_K_PAIRS,
    Candidates,
    adjacency_lists,
    candidate_pairs,
    choose_options,
    extend_candidates,
    lp_labels,
    objective_key,
    objective_value,
    term_values,
)
from solvers.backends import SolveOutcome, run_solver, solver_available
from solvers.contiguity import (
    FlowContiguity,
    SeparatorCut,
    add_flow_contiguity,
    separator_cuts,
    spanning_flows,
)
from solvers.heuristic import REPAIR_WORK, WorkBudget, repair_plan, solve_heuristic

__all__ = ["PolysystemModel", "solve", "check_solver_options", "METHODS"]

logger = logging.getLogger(__name__)

_LE, _GE, _EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
#: Separator-cut rounds before contiguity switches to the flow constraints (see solvers.contiguity).
_CUT_ROUNDS = 3
#: Share of the time limit the heuristic warm start may take at most (its work is counted in
#: steps; this only stops it on a slow machine or a short limit, and the plan then says so).
_HEURISTIC_SHARE = 0.2


@dataclass
class _Formulation:
    """One built model and the handles needed to start and read it."""

    prob: pulp.LpProblem
    cand: Candidates
    x: list[Any]
    x_of: dict[tuple[int, int], Any]
    open_vars: dict[int, Any]
    option_vars: dict[tuple[int, str], Any]
    group_vars: dict[tuple[int, str], Any]
    max_var: Any
    terms: dict[str, pulp.LpAffineExpression]
    flow: FlowContiguity | None
    build_s: float
    contiguity: str | None
    unit_labels: list[str]
    site_labels: list[str]
    hosts: tuple[int | None, ...]
    neighbours: list[list[int]]
    site_units: dict[int, list[int]]
    site_unit_sets: dict[int, set[int]]
    lex_limits: dict[str, float] = field(default_factory=dict)
    neighbour_rows: bool = False
    n_cuts: int = 0


@dataclass
class _Attempt:
    """What one model (one pruning level) achieved."""

    k: int | None
    status: str
    site_of_unit: np.ndarray | None = None
    hub_options: dict[int, str] = field(default_factory=dict)
    objective: float | None = None
    bound: float | None = None
    solve_s: float = 0.0
    warm_start: str = "none"
    notes: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    time_limited: bool = False
    timed_out: bool = False
    rounds: int = 0
    cuts: int = 0
    nodes: int = 0


class PolysystemModel:
    r"""Polysystem planning as a mixed-integer program.

    **Sets.** Units :math:`I` (practices or LSOAs, population :math:`p_i`, IMD score
    :math:`d_i`); usable sites :math:`J` (not excluded); options :math:`O_j` of site
    :math:`j` (capital :math:`c_{jo}`, capacity :math:`\kappa_{jo}`); candidate pairs
    :math:`A \subseteq I \times J` with finite travel :math:`t_{ij} \le` ``max_travel_min``,
    :math:`p_i` within the site's size limit, in the group of the site's host unit
    (``respect_groups``), and connected to the host within the site's pairs
    (``contiguity``); with ``k_nearest`` only each unit's :math:`k` nearest such sites,
    plus host pairs and enough of the nearest units of each required site to reach the
    floor. :math:`A_i`, :math:`A^j` are the sites of unit :math:`i` and the units of site
    :math:`j`; :math:`h_j` is the unit hosting site :math:`j` (``Problem.site_unit``);
    :math:`W` the waived units; :math:`F` the floor, :math:`C` the ceiling,
    :math:`P=\sum_i p_i`, :math:`D=\sum_i p_i d_i`.

    **Variables.** :math:`x_{ij}\in\{0,1\}` unit :math:`i` joins the polysystem of site
    :math:`j`, only for :math:`(i,j)\in A` (sparse); :math:`y_j\in\{0,1\}` the hub at
    :math:`j` opens (fixed to 1 for required sites); :math:`w_{jo}\in\{0,1\}` it opens with
    option :math:`o` (identified with :math:`y_j` when :math:`|O_j|=1`);
    :math:`z_{jg}\in\{0,1\}` the polysystem of a site without host unit serves group
    :math:`g` (``respect_groups``); :math:`T\ge 0` the longest travel (``max_travel``
    objective); flow variables for contiguity (:mod:`solvers.contiguity`).

    **Constraints** (named after real ids, e.g. ``assign_E01000001``, ``floor_S12``):

    * ``assign_i``: :math:`\sum_{j\in A_i} x_{ij} = 1`.
    * ``link(i,j)``: :math:`x_{ij}\le y_j` (disaggregated: the strong linking), or
      :math:`x_{ij}\le z_{j,g(i)}` with ``onegroup_j``: :math:`\sum_g z_{jg}\le y_j`.
    * ``host_j``: :math:`x_{h_j j} = y_j` (a hub's host unit is in its polysystem); when
      the host cannot be served by its own site, :math:`y_j\le 0`.
    * ``option_j``: :math:`\sum_{o} w_{jo} = y_j`.
    * ``floor_j``: :math:`\sum_{i\in A^j} a_i x_{ij}\ge F y_j` with :math:`a_i=F` for
      waived units and :math:`a_i=\min(p_i, F)` otherwise — a waived unit lifts its
      polysystem's floor, and the capped coefficients are a valid tightening.
    * ``size_j``: :math:`\sum_{i} p_i x_{ij}\le \sum_o \min(\kappa_{jo}, C)\, w_{jo}`
      (ceiling and capacity of the chosen option; omitted when it cannot bind).
    * ``min_polysystems`` / ``max_polysystems``: bounds on :math:`\sum_j y_j`; without
      waivers also the valid ``count_floor_bound``
      :math:`\sum_j y_j\le\lfloor\sum_i\min(p_i,F)/F\rfloor`.
    * ``budget``: :math:`\sum_{j,o} c_{jo} w_{jo}\le B`.
    * ``serve_j`` (floor 0 only): :math:`y_j\le\sum_i x_{ij}` — no empty polysystem.
    * ``maxtravel_i``: :math:`T\ge\sum_j t_{ij}x_{ij}` (only for units whose farthest
      candidate exceeds :math:`\max_i\min_j t_{ij}`, the lower bound of :math:`T`).
    * Contiguity (``contiguity="cuts"``, default): rounds of ``a,b``-separator cuts
      ``sep<n>(a,j)``: :math:`x_{aj}\le\sum_{s\in S}x_{sj}` for every piece cut off from
      the host, plus, from the first disconnected round on, the neighbour inequalities
      ``nbr(i,j)``: :math:`x_{ij}\le\sum_{a\in N(i)\cap A^j}x_{aj}`;
      after 3 rounds still disconnected, the flow constraints are added;
      ``contiguity="flow"``: single-commodity flow from :math:`h_j` in one solve. Both in
      :mod:`solvers.contiguity`, which also explains and measures the choice.

    **Objective.** Terms :math:`\text{mean} = \sum p_i t_{ij} x_{ij}/P`,
    :math:`\text{max} = T`, :math:`\text{deprivation} = \sum p_i d_i t_{ij} x_{ij}/D`,
    :math:`\text{capital} = \sum c_{jo} w_{jo}/10^6` (GBP millions). Minimise the weighted
    sum, or lexicographically: minimise each term in turn, adding
    ``lex_<term>``: term :math:`\le v^*(1+\varepsilon)` for the earlier ones (each stage
    warm-started from the previous solution). A lexicographic plan reports its first term
    as ``objective`` with that stage's bound; every term is in ``stats["term_values"]``.

    **Honesty.** ``Plan.status`` is ``optimal`` only when it is proven within ``mip_gap``
    for the whole model (``prob.sol_status``, not PuLP's ``LpStatus``), and ``bound``
    always holds for every plan of the whole model. Without pruning both come from the
    solver (HiGHS's dual bound, CBC's log). When the ``k`` rule removed pairs, the
    solver's status and bound are only the pruned model's: the left-out pairs are then
    priced against the duals of the LP relaxation over every allowed pair, the pairs that
    could still be in a better plan are added and the MIP re-solved, and the plan is
    ``optimal`` only when no pair left out can improve it by more than ``mip_gap``
    (reduced-cost fixing; the argument is in :func:`_prove_whole_model`). Otherwise it is
    ``feasible`` with the priced bound (or none), and the pruned model's optimum is a
    note (``stats["restricted_status"]``, ``stats["proof"]``). A pruned model that is
    infeasible is retried with ``2k`` and then every pair before infeasibility is
    claimed. ``stats`` records pairs kept, ``k``, model size, build/solve/heuristic
    seconds, the warm start's fate and the contiguity rounds.

    Parameters
    ----------
    problem
        The problem (immutable; only read).
    k_nearest
        Keep only each unit's ``k`` nearest usable sites. ``None`` (default) keeps every
        pair unless there are more than 50,000 usable pairs, in which case ``k=20``. Pass a
        ``k`` at least the number of sites for the full model.
    contiguity
        How contiguity (when the rules ask for it) is imposed: ``"cuts"`` or ``"flow"``.
    name
        Model name (LP files).

    Examples
    --------
    >>> model = PolysystemModel.from_problem(problem, k_nearest=20)   # doctest: +SKIP
    >>> plan = model.solve(solver="highs", time_limit=60)              # doctest: +SKIP
    """

    def __init__(
        self,
        problem: Problem,
        *,
        k_nearest: int | None = None,
        contiguity: str = DEFAULTS.contiguity,
        name: str = "polysystems",
    ) -> None:
        check_solver_options(k_nearest=k_nearest, contiguity=contiguity)
        self.problem = problem
        self.k_nearest = k_nearest
        self.contiguity = contiguity
        self.name = lp_labels([name])[0]
        self._last: _Formulation | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_problem(
        cls, problem: Problem, *, k_nearest: int | None = None, contiguity: str = DEFAULTS.contiguity, name: str = "polysystems"
    ) -> PolysystemModel:
        """Model for an existing :class:`~catchment.problem.Problem`."""
        return cls(problem, k_nearest=k_nearest, contiguity=contiguity, name=name)

    @classmethod
    def from_cost_matrix(
        cls,
        travel_min: Any,
        population: Sequence[float],
        *,
        unit_ids: Sequence[str] | None = None,
        site_ids: Sequence[str] | None = None,
        rules: Rules | None = None,
        objective: Objective | None = None,
        k_nearest: int | None = None,
        contiguity: str = DEFAULTS.contiguity,
        name: str = "polysystems",
        **problem_fields: Any,
    ) -> PolysystemModel:
        """Model from plain arrays (spopt style).

        Parameters
        ----------
        travel_min
            ``(n_units, n_sites)`` travel minutes (``inf`` where unreachable).
        population
            Population of each unit.
        unit_ids, site_ids
            Ids (default ``U0, U1, ...`` and ``S0, S1, ...``).
        rules, objective
            Default :class:`~catchment.problem.Rules` (floor 50,000) and mean travel.
        k_nearest, contiguity, name
            As for the constructor.
        **problem_fields
            Any other :meth:`Problem.from_arrays` argument (``options``, ``site_status``,
            ``deprivation``, ``groups``, ``adjacency``, ``site_unit``, ...).

        Raises
        ------
        catchment.ProblemDefinitionError
            If the arrays or rules are inconsistent.
        """
        travel = np.asarray(travel_min, dtype=float)
        n, m = travel.shape if travel.ndim == 2 else (len(population), 0)
        problem = Problem.from_arrays(
            unit_ids=unit_ids if unit_ids is not None else [f"U{i}" for i in range(n)],
            population=population,
            site_ids=site_ids if site_ids is not None else [f"S{j}" for j in range(m)],
            travel_min=travel,
            rules=rules,
            objective=objective,
            **problem_fields,
        )
        return cls(problem, k_nearest=k_nearest, contiguity=contiguity, name=name)

    # ------------------------------------------------------------------ inspection
    @property
    def lp(self) -> pulp.LpProblem | None:
        """The PuLP model of the last solve (``None`` before :meth:`solve`)."""
        return None if self._last is None else self._last.prob

    def effective_k(self) -> int | None:
        """The nearest-site rule the first attempt uses (``None``: every pair)."""
        n_usable = int(self.problem.usable_sites().size)
        k = self.k_nearest
        if k is None and self.problem.n_units * n_usable > AUTO_K_PAIRS:
            k = AUTO_K
        return None if k is None or k >= n_usable else k

    def build(self, *, k: int | None = None, keep: np.ndarray | None = None) -> pulp.LpProblem:
        """Build (without solving) the model for the nearest-site rule ``k``."""
        self._last = _build(self.problem, candidate_pairs(self.problem, k=k, keep=keep), self.name, self.contiguity)
        return self._last.prob

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        *,
        solver: str = DEFAULTS.solver,
        time_limit: float | None = DEFAULTS.time_limit,
        mip_gap: float = DEFAULTS.mip_gap,
        warm_start: bool = True,
        threads: int | None = DEFAULTS.threads,
        msg: bool = False,
        start: Plan | None = None,
        node_limit: int | None = None,
        prove: bool = True,
    ) -> Plan:
        """Solve the model and return the plan.

        Parameters
        ----------
        solver
            ``"highs"`` (default) or ``"cbc"``.
        time_limit
            Wall-clock seconds for the whole call (heuristic, every retry and every
            lexicographic stage), or ``None``.
        mip_gap
            Relative gap at which a solution counts as optimal.
        warm_start
            Start the solver from the heuristic's plan (also the fallback answer when the
            solver finds no plan in time).
        threads
            Solver threads (``None``: the solver's default).
        msg
            Forward the solver's log to the ``solvers.backends`` logger.
        start
            A valid plan of this problem to start from instead of the heuristic's (a
            previous plan, or the incumbent of :func:`solvers.lns.solve_lns`): the warm
            start, and the answer when the solver finds nothing better in time.
        node_limit
            Branch-and-bound nodes per solver call at most (``None``: no limit). A count,
            so the plan does not depend on the machine's speed.
        prove
            When the ``k`` rule left pairs out, prove the answer for the whole model by
            pricing them (see "Honesty" above). ``False`` (the neighbourhood search's
            sub-models, which only need a better plan) skips it: such a plan is then
            ``feasible``, and ``stats["restricted_status"]`` says what the solver proved
            over the pairs kept.

        Returns
        -------
        Plan
            ``optimal`` (proven within ``mip_gap``), ``feasible`` (not proven),
            ``infeasible`` (no plan satisfies the rules; run the diagnosis) or
            ``unsolved`` (no plan and no proof within the time limit).

        Raises
        ------
        ValueError
            If an option is invalid.
        RuntimeError
            If the solver is not installed.
        """
        check_solver_options(solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
        if not solver_available(solver):
            raise RuntimeError(f"solver {solver!r} is not available in this environment")
        t0 = time.perf_counter()
        deadline = None if time_limit is None else t0 + float(time_limit)
        problem = self.problem

        heuristic = start
        heuristic_s = 0.0
        if start is not None and set(start.assignment) != set(problem.unit_ids):
            raise ValueError("start must assign every unit of the problem")
        heuristic_timed_out = False
        if start is None and warm_start:
            share = None if time_limit is None else _HEURISTIC_SHARE * float(time_limit)
            heuristic = solve_heuristic(problem, time_limit=share)
            heuristic_s = time.perf_counter() - t0
            heuristic_timed_out = heuristic is not None and bool(heuristic.stats.get("stopped_by_time_limit"))
        h_sites = None if heuristic is None else _plan_indices(problem, heuristic)

        attempts: list[_Attempt] = []
        builds: list[float] = []
        k = self.effective_k()
        while True:
            cand = candidate_pairs(problem, k=k, keep=None if h_sites is None else h_sites[0])
            form = _build(problem, cand, self.name, self.contiguity)
            self._last = form
            builds.append(form.build_s)
            attempt = _solve_formulation(
                problem, form, solver=solver, deadline=deadline, mip_gap=mip_gap, threads=threads,
                msg=msg, start=h_sites if warm_start or start is not None else None, node_limit=node_limit,
            )
            attempts.append(attempt)
            if attempt.status != "infeasible" or not cand.pruned:
                break
            n_usable = int(problem.usable_sites().size)
            k = None if k is None or 2 * k >= n_usable else 2 * k
            logger.info("the pruned model is infeasible; retrying with %s", f"k={k}" if k else "every pair")
            if deadline is not None and time.perf_counter() >= deadline:
                attempt.timed_out = True
                break
        attempts[0].timed_out |= heuristic_timed_out
        proof = None
        if prove and form.cand.pruned and attempts[-1].site_of_unit is not None:
            form, proof = _prove_whole_model(
                problem, form, attempts, builds, name=self.name, contiguity=self.contiguity, solver=solver,
                deadline=deadline, mip_gap=mip_gap, threads=threads, msg=msg,
            )
            self._last = form
        return _make_plan(
            problem, form, attempts, heuristic, solver=solver, mip_gap=mip_gap, builds=builds,
            heuristic_s=heuristic_s, runtime_s=time.perf_counter() - t0,
            start_label="the heuristic's" if start is None else "the starting", proof=proof,
        )


def solve(
    problem: Problem,
    *,
    solver: str = DEFAULTS.solver,
    time_limit: float | None = DEFAULTS.time_limit,
    mip_gap: float = DEFAULTS.mip_gap,
    k_nearest: int | None = DEFAULTS.k_nearest,
    warm_start: bool = True,
    threads: int | None = DEFAULTS.threads,
    msg: bool = False,
    contiguity: str = DEFAULTS.contiguity,
    method: str = DEFAULTS.method,
    workers: int | None = DEFAULTS.workers,
    start: Plan | None = None,
) -> Plan:
    """Solve a polysystem problem: one MIP, or neighbourhood by neighbourhood for large ones.

    Parameters
    ----------
    problem
        The problem.
    solver
        ``"highs"`` or ``"cbc"``.
    time_limit
        Wall-clock seconds for the whole call, or ``None``.
    mip_gap
        Relative optimality gap.
    k_nearest
        Nearest-site rule (see :class:`PolysystemModel`); ``None`` = automatic.
    warm_start
        Start from the heuristic's plan.
    threads
        Solver threads.
    msg
        Forward the solver log to logging.
    contiguity
        ``"cuts"`` (default) or ``"flow"``: how contiguity is imposed when the rules ask.
    method
        ``"mip"``: one MIP (:class:`PolysystemModel`); ``"lns"``: large-neighbourhood
        search with exact sub-models, measured against the whole model's LP bound
        (:func:`solvers.lns.solve_lns`); ``"auto"`` (default): ``lns`` from
        :data:`solvers.lns.LNS_MIN_UNITS` units when the objective decomposes (no
        ``max_travel``, not lexicographic), else ``mip``.
    workers
        Processes solving neighbourhoods at once (``lns`` only; ``None``: one per core).
    start
        A valid plan to start from (warm start), instead of the heuristic's.

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        If an option is invalid (all problems listed at once).
    """
    check_solver_options(solver=solver, time_limit=time_limit, mip_gap=mip_gap, k_nearest=k_nearest, threads=threads,
                         contiguity=contiguity, method=method, workers=workers)
    from solvers.lns import LNS_MIN_UNITS, lns_unsupported, solve_lns

    if method == "lns" or (method == "auto" and problem.n_units >= LNS_MIN_UNITS and lns_unsupported(problem) is None):
        return solve_lns(problem, solver=solver, time_limit=time_limit, mip_gap=mip_gap, k_nearest=k_nearest,
                         threads=threads, msg=msg, contiguity=contiguity, workers=workers, start=start)
    return PolysystemModel.from_problem(problem, k_nearest=k_nearest, contiguity=contiguity).solve(
        solver=solver, time_limit=time_limit, mip_gap=mip_gap, warm_start=warm_start, threads=threads, msg=msg,
        start=start,
    )


# ---------------------------------------------------------------------------- building
def _binary(prob: pulp.LpProblem, name: str, *, low: int = 0, up: int = 1) -> Any:
    return prob.add_variable(name, lowBound=low, upBound=up, cat=pulp.LpInteger)


def _add(prob: pulp.LpProblem, terms: Any, sense: int, name: str, rhs: float = 0.0) -> None:
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs))


def _build(
    problem: Problem, cand: Candidates, name: str, contiguity: str = "cuts", *, whole: Candidates | None = None
) -> _Formulation:
    """Build the model over the pairs ``cand``.

    Two coefficients depend on which pairs exist: a site's size row uses the population it
    can reach (a valid tightening for plans over ``cand``), and the lower bound of the
    ``max_travel`` variable is the largest nearest-site travel. With ``whole`` (every
    allowed pair) both are taken from it instead, so that the rows are those of the whole
    model: the relaxation whose duals price left-out pairs needs that.
    """
    t0 = time.perf_counter()
    rules = problem.rules
    n = problem.n_units
    pop = problem.population
    ul = lp_labels(problem.unit_ids)
    sl = lp_labels(problem.site_ids)
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    units = cand.units.tolist()
    sites = cand.sites.tolist()

    x = [_binary(prob, f"x({ul[i]},{sl[j]})") for i, j in zip(units, sites)]
    x_of = dict(zip(zip(units, sites), x))
    usable = problem.usable_sites().tolist()
    required = set(problem.required_sites().tolist())
    hosts = problem.site_unit or (None,) * problem.n_sites
    open_vars = {j: _binary(prob, f"open_{sl[j]}", low=1 if j in required else 0) for j in usable}

    # pairs of each site
    by_site = np.argsort(cand.sites, kind="stable")
    bounds = np.searchsorted(cand.sites[by_site], np.arange(problem.n_sites + 1))
    site_pairs = {j: by_site[bounds[j]:bounds[j + 1]].tolist() for j in usable}

    # options
    option_vars: dict[tuple[int, str], Any] = {}
    for j in usable:
        opts = problem.options_of(problem.site_ids[j])
        if len(opts) == 1:
            option_vars[(j, opts[0].option)] = open_vars[j]
            continue
        for o in opts:
            option_vars[(j, o.option)] = _binary(prob, f"opt({sl[j]},{o.option})")
        _add(prob, [*((option_vars[(j, o.option)], 1.0) for o in opts), (open_vars[j], -1.0)], _EQ, f"option_{sl[j]}")

    # assignment
    starts = np.searchsorted(cand.units, np.arange(n + 1)).tolist()
    for i in range(n):
        _add(prob, [(x[q], 1.0) for q in range(starts[i], starts[i + 1])], _EQ, f"assign_{ul[i]}", 1.0)

    # groups of sites without a host unit
    group_vars: dict[tuple[int, str], Any] = {}
    group_of_pair: dict[int, Any] = {}
    if rules.respect_groups and problem.groups is not None:
        glabels = dict(zip(sorted(set(problem.groups)), lp_labels(sorted(set(problem.groups)))))
        for j in usable:
            if hosts[j] is not None:
                continue
            gs = sorted({problem.groups[units[q]] for q in site_pairs[j]})
            if len(gs) <= 1:
                continue
            for g in gs:
                group_vars[(j, g)] = _binary(prob, f"grp({sl[j]},{glabels[g]})")
            _add(prob, [*((group_vars[(j, g)], 1.0) for g in gs), (open_vars[j], -1.0)], _LE, f"onegroup_{sl[j]}")
            for q in site_pairs[j]:
                group_of_pair[q] = group_vars[(j, problem.groups[units[q]])]

    # linking and host units
    host_pair = {j: x_of.get((hosts[j], j)) for j in usable if hosts[j] is not None}
    for q, (i, j) in enumerate(zip(units, sites)):
        if hosts[j] == i:
            continue
        _add(prob, [(x[q], 1.0), (group_of_pair.get(q, open_vars[j]), -1.0)], _LE, f"link({ul[i]},{sl[j]})")
    for j, xv in host_pair.items():
        if xv is None:
            _add(prob, [(open_vars[j], 1.0)], _LE, f"host_{sl[j]}")
        else:
            _add(prob, [(xv, 1.0), (open_vars[j], -1.0)], _EQ, f"host_{sl[j]}")

    # floor, size, serve
    floor = float(rules.floor)
    coef_floor = problem.floor_coefficients
    ceiling = math.inf if rules.ceiling is None else float(rules.ceiling)
    reach_of = np.bincount((whole or cand).sites, weights=pop[(whole or cand).units], minlength=problem.n_sites)
    for j in usable:
        qs = site_pairs[j]
        s = sl[j]
        if floor > 0:
            _add(prob, [*((x[q], float(coef_floor[units[q]])) for q in qs), (open_vars[j], -floor)], _GE, f"floor_{s}")
        elif host_pair.get(j) is None:
            _add(prob, [(open_vars[j], 1.0), *((x[q], -1.0) for q in qs)], _LE, f"serve_{s}")
        reach = float(reach_of[j])
        limits = {
            o.option: min(ceiling, math.inf if o.capacity is None else float(o.capacity), reach)
            for o in problem.options_of(problem.site_ids[j])
        }
        if min(limits.values()) < reach:
            size_terms: dict[Any, float] = {}
            for opt, lim in limits.items():
                var = option_vars[(j, opt)]
                size_terms[var] = size_terms.get(var, 0.0) - lim
            _add(prob, [*((x[q], float(pop[units[q]])) for q in qs), *size_terms.items()], _LE, f"size_{s}")

    # count, budget
    count = [(open_vars[j], 1.0) for j in usable]
    if rules.min_polysystems is not None:
        _add(prob, count, _GE, "min_polysystems", float(rules.min_polysystems))
    if rules.max_polysystems is not None:
        _add(prob, count, _LE, "max_polysystems", float(rules.max_polysystems))
    most = problem.max_polysystems_by_floor
    if most is not None:
        if most < min(len(usable), rules.max_polysystems or len(usable)):
            _add(prob, count, _LE, "count_floor_bound", float(most))
    costs = {(j, o.option): o.capital_cost for j in usable for o in problem.options_of(problem.site_ids[j])}
    if rules.budget is not None and any(c > 0 for c in costs.values()):
        _add(prob, [(option_vars[key], float(c)) for key, c in costs.items() if c > 0], _LE, "budget", float(rules.budget))

    # contiguity
    flow = None
    method = contiguity if rules.contiguity else None
    site_units = {j: [units[q] for q in site_pairs[j]] for j in usable}
    neighbours = adjacency_lists(problem)
    if method == "flow":
        flow = add_flow_contiguity(
            prob, x=x_of, open_vars=open_vars, site_units=site_units,
            hosts=hosts, neighbours=neighbours, unit_labels=ul, site_labels=sl,
        )

    # objective terms
    terms = _objective_terms(problem, prob, cand, x, option_vars, costs, starts, ul, whole=whole)
    max_var = terms.pop("_max_var", None)
    _set_objective(prob, problem.objective, terms, stage=0)
    return _Formulation(
        prob, cand, x, x_of, open_vars, option_vars, group_vars, max_var, terms, flow, time.perf_counter() - t0,
        contiguity=method, unit_labels=ul, site_labels=sl, hosts=tuple(hosts), neighbours=neighbours,
        site_units=site_units, site_unit_sets={j: set(v) for j, v in site_units.items()},
    )


def _objective_terms(problem, prob, cand, x, option_vars, costs, starts, ul, *, whole=None) -> dict[str, Any]:
    used = set(problem.objective.terms)
    terms: dict[str, Any] = {}
    for spec in TERMS:  # the linear terms, from the table
        if spec.name not in used:
            continue
        if spec.kind == "travel":
            coef = spec.pair_coefficients(problem, cand.units, cand.travel)
            terms[spec.name] = pulp.LpAffineExpression(zip(x, coef.tolist()))
        elif spec.kind == "options":
            amounts = {key: spec.option_amount(problem.option(problem.site_ids[key[0]], key[1])) for key in costs}
            terms[spec.name] = pulp.LpAffineExpression(
                [(option_vars[key], spec.option_coefficient(a)) for key, a in amounts.items() if a > 0]
            )
    for spec in TERMS:  # the longest travel: a variable above every assigned unit's travel
        if spec.kind != "max" or spec.name not in used:
            continue
        travel = cand.travel
        ref = whole or cand
        nearest = np.full(problem.n_units, np.inf)
        np.minimum.at(nearest, ref.units, ref.travel)
        nearest = nearest[np.isfinite(nearest)]
        low = float(nearest.max()) if nearest.size else 0.0
        t_var = prob.add_variable("max_travel", lowBound=low)
        for i in range(problem.n_units):
            a, b = starts[i], starts[i + 1]
            if b > a and travel[a:b].max() > low:
                _add(prob, [(t_var, 1.0), *((x[q], -float(travel[q])) for q in range(a, b))], _GE, f"maxtravel_{ul[i]}")
        terms[spec.name] = pulp.LpAffineExpression([(t_var, 1.0)])
        terms["_max_var"] = t_var
    return terms


def _set_objective(prob: pulp.LpProblem, objective: Objective, terms: Mapping[str, Any], *, stage: int) -> None:
    if objective.lexicographic is not None:
        expr = pulp.LpAffineExpression(terms[objective.lexicographic[stage]])
    else:
        expr = pulp.lpSum(w * terms[t] for t, w in objective.weights.items() if w > 0)
    if not len(expr):
        # a term without variables (no capital costs at all): keep one zero coefficient, else
        # PuLP adds a "__dummy" column that stays in the model and breaks CBC's MPS input later
        expr = pulp.LpAffineExpression([(v, 0.0) for v in prob.variables()[:1]])
    prob.setObjective(expr)


# ---------------------------------------------------------------------------- solving
@dataclass
class _StageResult:
    """One objective stage: one solve, or several rounds of separator cuts."""

    status: str = "unsolved"
    site_of_unit: np.ndarray | None = None
    hub_options: dict[int, str] = field(default_factory=dict)
    bound: float | None = None
    seconds: float = 0.0
    warm_start: str = "none"
    rounds: int = 0
    time_limited: bool = False
    timed_out: bool = False
    nodes: int = 0
    notes: list[str] = field(default_factory=list)


def _solve_formulation(
    problem: Problem,
    form: _Formulation,
    *,
    solver: str,
    deadline: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    start: tuple[np.ndarray, dict[int, str]] | None,
    target: float | None = None,
    node_limit: int | None = None,
) -> _Attempt:
    """Solve a built model (every lexicographic stage); ``target``, ``node_limit``: see :func:`_solve_stage`."""
    attempt = _Attempt(k=form.cand.k, status="unsolved")
    incumbent = start
    if start is not None and not _set_start(problem, form, *start):
        attempt.warm_start = "skipped"
        attempt.notes.append("the heuristic plan is not a point of this model; no warm start")
        incumbent = None
    lex = problem.objective.lexicographic
    stages = lex if lex is not None else (None,)
    for s, term in enumerate(stages):
        if s > 0:
            _set_objective(form.prob, problem.objective, form.terms, stage=s)
        res = _solve_stage(problem, form, solver=solver, deadline=deadline, mip_gap=mip_gap, threads=threads,
                           msg=msg, incumbent=incumbent, stage=s, target=target, node_limit=node_limit)
        attempt.solve_s += res.seconds
        attempt.rounds += res.rounds
        attempt.nodes += res.nodes
        attempt.timed_out |= res.timed_out
        if s == 0 and incumbent is not None:
            attempt.warm_start = res.warm_start
        attempt.notes.extend(n for n in res.notes if n not in attempt.notes)
        attempt.stages.append({"term": term, "status": res.status, "bound": res.bound, "rounds": res.rounds,
                               "seconds": round(res.seconds, 4)})
        if res.status in ("infeasible", "unsolved"):
            if s == 0:
                attempt.status, attempt.bound = res.status, res.bound
            else:
                attempt.notes.append(
                    f"lexicographic stage {s + 1} ({term}) found no plan within the time limit; "
                    "the plan optimises the earlier terms only"
                )
                attempt.status = "feasible"
                attempt.time_limited = True
            break
        attempt.site_of_unit, attempt.hub_options = res.site_of_unit, res.hub_options
        if s == 0:  # a lexicographic plan reports its first (primary) term and that stage's bound
            attempt.bound = res.bound
        attempt.status = res.status if s == 0 or attempt.status == "optimal" else "feasible"
        attempt.time_limited |= res.time_limited
        incumbent = (res.site_of_unit, res.hub_options)
        if term is not None and s + 1 < len(stages):
            value = term_values(problem, *incumbent)[term]
            tol = problem.objective.lexicographic_tolerance
            rhs = value + max(abs(value) * tol, 1e-9 * max(1.0, abs(value)))
            form.lex_limits[term] = rhs
            if len(form.terms[term]):  # an empty term (e.g. no capital costs) constrains nothing
                form.prob.addConstraint(pulp.LpConstraint(form.terms[term], _LE, f"lex_{term}", rhs))
            if deadline is not None and time.perf_counter() >= deadline:
                attempt.status = "feasible"
                attempt.time_limited = attempt.timed_out = True
                attempt.notes.append(
                    f"time limit reached before lexicographic stage {s + 2}; the plan optimises the earlier terms only"
                )
                break
    attempt.cuts = form.n_cuts
    return attempt


def _solve_stage(
    problem: Problem,
    form: _Formulation,
    *,
    solver: str,
    deadline: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    incumbent: tuple[np.ndarray, dict[int, str]] | None,
    stage: int,
    target: float | None = None,
    node_limit: int | None = None,
) -> _StageResult:
    """Solve for one objective; with contiguity by cuts, add separator cuts until connected.

    Every round solves a relaxation of the contiguous problem, so its bound is a valid
    lower bound; a disconnected round solution is repaired by the heuristic into a
    connected incumbent, which warm-starts the next round (it satisfies every cut).
    ``target``: HiGHS stops a round as soon as it finds a plan with that objective or
    lower (the caller's bound already proves such a plan good enough). ``node_limit``:
    nodes per solver call at most. Every solver call ends by ``deadline``; ``timed_out``
    records that it (not a count) stopped something.
    """
    res = _StageResult()
    cutting = form.contiguity == "cuts"
    best_bound: float | None = None
    while True:
        warm = incumbent is not None and _set_start(problem, form, *incumbent)
        outcome = run_solver(form.prob, solver=solver, time_limit=None, deadline=deadline, mip_gap=mip_gap,
                             threads=threads, msg=msg, warm_start=warm, objective_target=target,
                             node_limit=node_limit)
        res.rounds += 1
        res.seconds += outcome.seconds
        res.nodes += outcome.nodes or 0
        res.timed_out |= outcome.time_limited
        if res.rounds == 1:
            res.warm_start = outcome.warm_start if warm else "none"
        res.notes.extend(n for n in outcome.notes if n not in res.notes)
        if outcome.bound is not None:
            best_bound = outcome.bound if best_bound is None else max(best_bound, outcome.bound)
        if outcome.status == "infeasible":
            res.status = "infeasible"
            return res
        if outcome.status == "unsolved":
            res.bound = best_bound
            if incumbent is not None and res.rounds > 1:
                res.status, res.time_limited = "feasible", True
                res.site_of_unit, res.hub_options = incumbent
                res.notes.append(f"contiguity: stopped in cut round {res.rounds}; the best connected plan is returned")
            return res
        site_of_unit, hub_options = _extract(problem, form)
        cuts = separator_cuts(site_of_unit, site_units=form.site_units, hosts=form.hosts,
                              neighbours=form.neighbours) if cutting else []
        if not cuts:
            res.status = outcome.status
            res.site_of_unit, res.hub_options = site_of_unit, hub_options
            res.bound = best_bound
            res.time_limited = outcome.status != "optimal"
            return res
        _add_cuts(problem, form, cuts)
        if res.rounds >= _CUT_ROUNDS:
            # contiguity keeps binding: finish exactly in one solve with the flow model (the cuts stay)
            form.flow = add_flow_contiguity(
                form.prob, x=form.x_of, open_vars=form.open_vars, site_units=form.site_units, hosts=form.hosts,
                neighbours=form.neighbours, unit_labels=form.unit_labels, site_labels=form.site_labels,
                neighbour_rows=not form.neighbour_rows,
            )
            form.contiguity = "cuts+flow"
            cutting = False
            res.notes.append(f"contiguity: still binding after {res.rounds} cut rounds; switched to flow constraints")
        budget = WorkBudget(REPAIR_WORK, deadline)
        repaired = repair_plan(problem, site_of_unit, budget=budget)
        res.timed_out |= budget.timed_out
        if repaired is not None and _within_lex(problem, form, repaired):
            if incumbent is None or _stage_key(problem, stage, repaired) < _stage_key(problem, stage, incumbent):
                incumbent = repaired
        out_of_time = deadline is not None and time.perf_counter() >= deadline
        if outcome.status != "optimal" or out_of_time:
            res.bound = best_bound
            res.time_limited = True
            res.timed_out |= out_of_time
            if incumbent is None:
                return res
            res.status = "feasible"
            res.site_of_unit, res.hub_options = incumbent
            res.notes.append(
                f"contiguity: time limit reached in cut round {res.rounds}; the best connected plan is returned"
            )
            return res


def _stage_key(problem: Problem, stage: int, plan: tuple[np.ndarray, Mapping[int, str]]) -> float:
    terms = term_values(problem, *plan)
    lex = problem.objective.lexicographic
    return terms[lex[stage]] if lex is not None else objective_value(problem.objective, terms)


def _within_lex(problem: Problem, form: _Formulation, plan: tuple[np.ndarray, Mapping[int, str]]) -> bool:
    if not form.lex_limits:
        return True
    terms = term_values(problem, *plan)
    return all(terms[t] <= rhs for t, rhs in form.lex_limits.items())


def _add_cuts(problem: Problem, form: _Formulation, cuts: Sequence[SeparatorCut]) -> None:
    """Add separator cuts, and on the first call the neighbour inequalities."""
    ul, sl = form.unit_labels, form.site_labels
    if not form.neighbour_rows:
        form.neighbour_rows = True
        for (i, j), xv in form.x_of.items():
            if form.hosts[j] is None or form.hosts[j] == i:
                continue
            members = form.site_unit_sets[j]
            _add(form.prob, [(xv, 1.0), *((form.x_of[(a, j)], -1.0) for a in form.neighbours[i] if a in members)],
                 _LE, f"nbr({ul[i]},{sl[j]})")
    for cut in cuts:
        form.n_cuts += 1
        j = cut.site
        terms = [(form.x_of[(cut.unit, j)], 1.0), *((form.x_of[(s, j)], -1.0) for s in cut.separator)]
        rhs = 0.0
        if cut.other is not None:
            terms.append((form.x_of[(cut.other, j)], 1.0))
            rhs = 1.0
        _add(form.prob, terms, _LE, f"sep{form.n_cuts}({ul[cut.unit]},{sl[j]})", rhs)


def _extract(problem: Problem, form: _Formulation) -> tuple[np.ndarray, dict[int, str]]:
    values = np.array([v.varValue or 0.0 for v in form.x])
    units, sites = form.cand.units, form.cand.sites
    site_of_unit = np.full(problem.n_units, -1, dtype=np.int64)
    best = np.full(problem.n_units, -1.0)
    for q in np.argsort(values, kind="stable"):
        i = units[q]
        if values[q] > best[i]:
            best[i] = values[q]
            site_of_unit[i] = sites[q]
    hub_options: dict[int, str] = {}
    for j in sorted(set(site_of_unit.tolist())):
        chosen = [o for (jj, o), var in form.option_vars.items() if jj == j and (var.varValue or 0.0) > 0.5]
        if chosen:
            hub_options[j] = chosen[0]
        else:  # the solver left the option undecided (cannot happen with integral values)
            pops = {j: float(problem.population[site_of_unit == j].sum())}
            hub_options[j] = (choose_options(problem, pops) or {j: problem.options_of(problem.site_ids[j])[0].option})[j]
    if not any(spec.name in problem.objective.terms for spec in option_terms()):
        # Capital is not in the objective, so the solver picks among the options that fit at
        # random; a planner expects the cheapest that fits. Objective unchanged, budget only eased.
        pops = {j: float(problem.population[site_of_unit == j].sum()) for j in hub_options}
        cheapest = choose_options(problem, pops)
        if cheapest is not None:
            hub_options = cheapest
    return site_of_unit, hub_options


def _set_start(problem: Problem, form: _Formulation, site_of_unit: np.ndarray, hub_options: Mapping[int, str]) -> bool:
    """Give every variable its value in a known plan; False if the plan is not a model point."""
    chosen = {(i, int(j)) for i, j in enumerate(site_of_unit)}
    if any(pair not in form.x_of for pair in chosen):
        return False
    for pair, var in form.x_of.items():
        var.setInitialValue(1.0 if pair in chosen else 0.0)
    for j, var in form.open_vars.items():
        var.setInitialValue(1.0 if j in hub_options else 0.0, check=False)
    for (j, opt), var in form.option_vars.items():
        if var is not form.open_vars[j]:
            var.setInitialValue(1.0 if hub_options.get(j) == opt else 0.0)
    for (j, g), var in form.group_vars.items():
        members = np.flatnonzero(site_of_unit == j)
        var.setInitialValue(1.0 if members.size and problem.groups[members[0]] == g else 0.0)
    if form.max_var is not None:
        worst = float(problem.travel_min[np.arange(problem.n_units), site_of_unit].max())
        form.max_var.setInitialValue(max(worst, form.max_var.lowBound or 0.0))
    if form.flow is not None:
        nbrs = adjacency_lists(problem)
        hosts = problem.site_unit or (None,) * problem.n_sites
        arc_flow: dict[tuple[int, int, int], float] = {}
        root_of: dict[int, int] = {}
        for j in hub_options:
            members = np.flatnonzero(site_of_unit == j).tolist()
            root = hosts[j] if hosts[j] is not None else members[0]
            tree = spanning_flows(members, root, nbrs)
            if tree is None:
                return False
            root_of[j] = root
            arc_flow.update({(j, a, b): f for (a, b), f in tree.items()})
        for key, var in form.flow.flows.items():
            var.setInitialValue(arc_flow.get(key, 0.0), check=False)
        for (i, j), var in form.flow.roots.items():
            var.setInitialValue(1.0 if root_of.get(j) == i else 0.0)
    return all(v.varValue is not None for v in form.prob.variables())


def _plan_indices(problem: Problem, plan: Plan) -> tuple[np.ndarray, dict[int, str]]:
    site_of_unit = np.array([problem.site_index(plan.assignment[u]) for u in problem.unit_ids], dtype=np.int64)
    return site_of_unit, {problem.site_index(s): o for s, o in plan.hub_options.items()}


# ---------------------------------------------------------------------------- the proof
#: Re-solves with pairs brought back by pricing before the answer is left unproven.
_PROOF_RESOLVES = 3


@dataclass
class _Proof:
    """What pricing the left-out pairs proved about a pruned model's answer (see :func:`_prove_whole_model`)."""

    status: str
    bound: float | None
    note: str
    lp_bound: float | None = None
    lp_status: str = "unsolved"
    pricing_rounds: int = 0
    pairs_priced_in: int = 0
    pairs_added: int = 0
    resolves: int = 0
    seconds: float = 0.0

    def stats(self) -> dict[str, Any]:
        return {"status": self.status, "bound": self.bound, "lp_bound": self.lp_bound, "lp_status": self.lp_status,
                "pricing_rounds": self.pricing_rounds, "lp_pairs_priced_in": self.pairs_priced_in,
                "mip_pairs_added": self.pairs_added, "resolves": self.resolves, "seconds": round(self.seconds, 4)}


def _whole_bound(lp: float, reduced: np.ndarray, kept: np.ndarray, restricted_bound: float) -> float:
    """A bound for every plan: :math:`\\max(L, \\min(B_R, L + \\min_{q \\notin R} \\max(0, d_q)))`."""
    outside = np.isfinite(reduced) & ~kept
    least = float(np.maximum(reduced[outside], 0.0).min()) if outside.any() else math.inf
    return max(lp, min(restricted_bound, lp + least))


def _nearest_first(problem: Problem, need: np.ndarray, *, budget: int) -> np.ndarray:
    """At most ``budget`` of the pairs ``need``: those whose site is nearest in its unit's order."""
    count = int(need.sum())
    if count <= budget:
        return need
    order = np.argsort(problem.travel_min, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(problem.n_sites)[None, :].repeat(problem.n_units, axis=0), axis=1)
    units, sites = np.nonzero(need)
    take = np.lexsort((problem.travel_min[units, sites], rank[units, sites]))[:budget]
    out = np.zeros_like(need)
    out[units[take], sites[take]] = True
    return out


def _prove_whole_model(
    problem: Problem,
    form: _Formulation,
    attempts: list[_Attempt],
    builds: list[float],
    *,
    name: str,
    contiguity: str,
    solver: str,
    deadline: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
) -> tuple[_Formulation, _Proof]:
    r"""Carry a pruned model's answer over to the whole model, or say it cannot be.

    **Argument** (reduced-cost fixing). Let :math:`R` be the pairs of the pruned MIP, with
    incumbent :math:`z` and proven bound :math:`B_R` over plans that use only pairs of
    :math:`R`. Solve the LP relaxation of the *whole* model by column generation: start
    from the LP over :math:`R`, add every allowed pair whose reduced cost is negative, and
    repeat until none is (:func:`solvers.lns.priced_relaxation`). Its value :math:`L` is a
    bound for every plan, and with its row duals :math:`y` every column :math:`q` has a
    reduced cost :math:`d_q = c_q - y^\top A_q` (a pair's own linking row, absent from the
    LP, has dual 0). For any plan :math:`x` of the whole model (integral, so also a point
    of the relaxation), the sign conditions on :math:`y` give :math:`y^\top A x \ge y^\top
    b`, hence

    .. math:: c^\top x = y^\top A x + d^\top x \ge L + \sum_q e_q(x_q),

    where :math:`e_q(x_q) = d_q x_q - \max(0,d_q)\,l_q - \min(0,d_q)\,u_q \ge 0` on the
    bounds :math:`[l_q, u_q]`. A plan using a pair :math:`q \notin R` therefore costs at
    least :math:`L + \max(0, d_q)`, and every plan at least

    .. math:: B = \max\bigl(L,\ \min(B_R,\ L + \min_{q \notin R} \max(0, d_q))\bigr),

    which is the bound reported: valid for the whole model whatever :math:`R` is. When
    :math:`(z - B)/|z| \le` ``mip_gap`` and the pruned MIP was solved to optimality, the
    plan is optimal for the whole model. Otherwise the pairs with
    :math:`L + \max(0, d_q) < z - \tfrac12\,\text{mip\_gap}\,|z|` (the only ones that can
    appear in a better plan) are added to :math:`R` and the MIP re-solved from the
    incumbent; then every pair left out satisfies :math:`L + d_q \ge z - \tfrac12
    \text{mip\_gap}|z|`, so :math:`B` is :math:`B_R` or within half the gap of the old
    incumbent. At most as many pairs as :math:`R` holds are added at a time (each unit's
    nearest first: the model at most doubles), up to :data:`_PROOF_RESOLVES` re-solves.

    The argument closes when the LP is tight next to single pairs: :math:`z - L` must be
    smaller than the reduced costs of the pairs left out. With a weak LP (a few hubs over
    many points, or population floors, where :math:`L` lies up to a percent or more below
    the optimum and one unit's share of the objective is far smaller than that gap)
    nearly every pair may be needed; the plan is then ``feasible`` with the bound
    :math:`B`, and the re-solves only serve to improve it.

    The LP relaxation ignores contiguity and is still a relaxation (a bound). When
    pricing cannot be done (a
    lexicographic objective, hostless sites serving several boundary groups) or does not
    finish in time, nothing is proven: the status is ``feasible``, the bound ``None``, and
    the pruned model's optimum is a note.
    """
    from solvers.lns import priced_relaxation

    began = time.perf_counter()
    last = attempts[-1]
    relax = priced_relaxation(problem, form.cand, deadline=deadline, threads=threads)
    proof = _Proof(status="feasible", bound=None, note="", lp_bound=relax.bound, lp_status=relax.status,
                   pricing_rounds=relax.rounds, pairs_priced_in=relax.pairs_added)
    if relax.bound is None or relax.reduced is None:
        why = ("the pricing of the left-out pairs cannot model this problem's rows (a lexicographic objective or "
               "hostless sites serving several boundary groups)" if relax.status == "optimal"
               else f"the relaxation over every allowed pair was {relax.status} in the time left")
        proof.note = f"not proven for the whole model: {why}; a plan using farther sites is not ruled out"
        proof.seconds = time.perf_counter() - began
        return form, proof
    lp, reduced = relax.bound, relax.reduced
    while True:
        z = objective_value(problem.objective, term_values(problem, last.site_of_unit, last.hub_options))
        restricted = last.bound if last.bound is not None else (
            z - mip_gap * abs(z) if last.status == "optimal" else -math.inf)
        kept = form.cand.mask(problem.n_units, problem.n_sites)
        bound = _whole_bound(lp, reduced, kept, restricted)
        gap = max(0.0, z - bound) / max(abs(z), 1e-9)
        proof.bound = bound
        if last.status == "optimal" and gap <= mip_gap:
            proof.status = "optimal"
            break
        slack = 0.5 * mip_gap * abs(z)
        need = np.isfinite(reduced) & ~kept & (lp + np.maximum(reduced, 0.0) < z - slack)
        if not need.any() or proof.resolves >= _PROOF_RESOLVES or (
                deadline is not None and time.perf_counter() >= deadline):
            break
        reachable = (2 ** (_PROOF_RESOLVES - proof.resolves) - 1) * form.cand.n_pairs
        if deadline is None and int(need.sum()) > reachable:
            # no time limit and the doubling re-solves cannot take in every pair needed: they
            # could run for hours and still prove nothing
            break
        need = _nearest_first(problem, need, budget=form.cand.n_pairs)
        cand = extend_candidates(problem, form.cand, need)
        logger.info("pricing: %d left-out pair(s) could be in a better plan; re-solving with %d pairs",
                    int(need.sum()), cand.n_pairs)
        form = _build(problem, cand, name, contiguity)
        builds.append(form.build_s)
        incumbent = (last.site_of_unit, last.hub_options)
        attempt = _solve_formulation(problem, form, solver=solver, deadline=deadline, mip_gap=mip_gap,
                                     threads=threads, msg=msg, start=incumbent)
        proof.resolves += 1
        proof.pairs_added += int(need.sum())
        if attempt.site_of_unit is None or _stage_key(problem, 0, (attempt.site_of_unit, attempt.hub_options)) > \
                _stage_key(problem, 0, incumbent):
            attempt.site_of_unit, attempt.hub_options = incumbent
            attempt.status = "feasible"
        attempts.append(attempt)
        last = attempt
    pairs = f"{proof.pairs_added:,} left-out pair(s) brought back by pricing, " if proof.pairs_added else ""
    if proof.status == "optimal":
        proof.note = (f"optimal for the whole model: {pairs}every other allowed pair has a reduced cost against the "
                      f"LP relaxation over every pair (bound {lp:.6g}) that rules it out of a better plan")
    else:
        proof.note = (f"not proven for the whole model ({pairs}a plan using other pairs is not ruled out); "
                      f"bound {proof.bound:.6g} holds for every plan (LP relaxation over every pair, priced)")
    proof.seconds = time.perf_counter() - began
    return form, proof


# ---------------------------------------------------------------------------- the plan
def _make_plan(
    problem: Problem,
    form: _Formulation,
    attempts: list[_Attempt],
    heuristic: Plan | None,
    *,
    solver: str,
    mip_gap: float,
    builds: list[float],
    heuristic_s: float,
    runtime_s: float,
    start_label: str = "the heuristic's",
    proof: _Proof | None = None,
) -> Plan:
    last = attempts[-1]
    cand = form.cand
    notes: list[str] = []
    retries = attempts[:len(attempts) - (proof.resolves if proof is not None else 0)]
    for a, b in zip(retries, retries[1:]):
        notes.append(
            f"the model over each unit's {a.k} nearest sites was infeasible; retried with "
            + (f"the {b.k} nearest" if b.k else "every usable site")
        )
    notes.extend(last.notes)
    stats: dict[str, Any] = {
        "pairs_allowed": cand.n_allowed,
        "pairs_kept": cand.n_pairs,
        "k_nearest": cand.k,
        "pruned": cand.pruned,
        "n_variables": len(form.prob.variables()),
        "n_constraints": len(form.prob._constraints),
        "build_s": round(sum(builds), 4),
        "solve_s": round(sum(a.solve_s for a in attempts), 4),
        "heuristic_s": round(heuristic_s, 4),
        "warm_start": last.warm_start,
        "contiguity": form.contiguity,
        "rounds": sum(a.rounds for a in attempts),
        "contiguity_cuts": sum(a.cuts for a in attempts),
        "nodes": sum(a.nodes for a in attempts),
        "attempts": [{"k": a.k, "status": a.status} for a in attempts],
        "stopped_by_time_limit": any(a.timed_out for a in attempts),
    }
    if stats["stopped_by_time_limit"]:
        notes.append(STOPPED_BY_TIME_LIMIT)
    if proof is not None:
        stats["proof"] = proof.stats()
    if problem.objective.lexicographic is not None:
        stats["stages"] = last.stages
    if heuristic is not None:
        stats["heuristic_objective" if start_label == "the heuristic's" else "start_objective"] = heuristic.objective

    if last.status in ("infeasible", "unsolved") or last.site_of_unit is None:
        if heuristic is not None:
            if last.status == "infeasible":
                logger.warning("the solver reported the model infeasible although %s plan is valid", start_label)
            why = (f"the solver reported the model infeasible, yet {start_label} plan is valid"
                   if last.status == "infeasible" else "the solver found no plan within the time limit")
            return _replace_plan(heuristic, notes=[*notes, f"{why}; this is {start_label} plan"],
                                 runtime_s=runtime_s, stats={**dict(heuristic.stats), **stats})
        status = last.status
        if status == "infeasible" and cand.pruned:
            status = "unsolved"
            notes.append(
                f"the model over each unit's {cand.k} nearest sites is infeasible and the time limit stopped "
                "the retry with more sites: infeasibility of the full problem is not proven"
            )
        elif status == "infeasible":
            notes.append("the solver proved that no plan satisfies the rules")
        else:
            notes.append("the solver found no plan within the time limit and the heuristic found none either")
        return Plan({}, {}, status=status, bound=last.bound if status == "unsolved" else None, solver=solver,
                    runtime_s=runtime_s, mip_gap=mip_gap, notes=tuple(notes), stats=stats)

    site_of_unit, hub_options = last.site_of_unit, last.hub_options
    terms = term_values(problem, site_of_unit, hub_options)
    objective = objective_value(problem.objective, terms)
    status = last.status
    bound = last.bound
    restricted = None
    if cand.pruned:
        # The solver's status and bound are the pruned model's: only a proof for the whole
        # model may keep them (the rule of PolysystemModel's "Honesty" paragraph).
        restricted = (f"{last.status} over each unit's {cand.k} nearest sites ({cand.n_pairs:,} of "
                      f"{cand.n_allowed:,} allowed unit-site pairs): objective {objective:.6g}")
        stats["restricted_status"] = last.status
        stats["restricted_objective"] = objective
        stats["restricted_bound"] = last.bound
        if proof is None:
            status = "feasible" if status == "optimal" else status
            bound = None
            notes.append(f"{restricted}; a plan using farther sites is not ruled out and no bound is proven for "
                         "the whole model")
        else:
            status = proof.status
            bound = proof.bound
            notes.append(f"{restricted}; {proof.note}")
    elif proof is not None:  # pricing brought back every pair: the solver's answer is the whole model's
        bound = proof.bound if bound is None or proof.bound is None else max(bound, proof.bound)
        notes.append(proof.note)
    if heuristic is not None and status == "feasible":
        h_sites, h_opts = _plan_indices(problem, heuristic)
        h_terms = term_values(problem, h_sites, h_opts)
        if objective_key(problem.objective, h_terms) < objective_key(problem.objective, terms):
            site_of_unit, hub_options, terms = h_sites, h_opts, h_terms
            objective = objective_value(problem.objective, terms)
            notes.append(f"{start_label} plan was better than the solver's incumbent and is returned")
    if status == "optimal" and bound is None:
        gap = None
    elif bound is not None:
        gap = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    else:
        gap = None
    if status == "feasible" and last.time_limited:
        notes.append(
            "time limit reached: feasible, not proven optimal"
            + (f" (gap {gap:.2%})" if gap is not None else "")
        )
    stats["term_values"] = terms
    return Plan(
        assignment={problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(site_of_unit.tolist())},
        hub_options={problem.site_ids[j]: o for j, o in hub_options.items()},
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        solver=solver,
        runtime_s=runtime_s,
        mip_gap=mip_gap,
        notes=tuple(notes),
        stats=stats,
    )


def _replace_plan(plan: Plan, *, notes: list[str], runtime_s: float, stats: Mapping[str, Any]) -> Plan:
    return Plan(
        assignment=plan.assignment, hub_options=plan.hub_options, status="feasible", objective=plan.objective,
        bound=None, gap=None, solver=plan.solver, runtime_s=runtime_s, mip_gap=None,
        notes=tuple(dict.fromkeys((*plan.notes, *notes))), stats=stats,
    )
