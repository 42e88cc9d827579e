"""Large-neighbourhood search with exact sub-models, for London-scale problems.

One MIP over every unit stalls at London scale (docs/benchmarks.md: all 4,835 London
LSOAs with contiguity were still 4.8 % from their bound after 600 s). This matheuristic
keeps the exact model but solves it a neighbourhood at a time, and measures its answer
against a bound of the whole model:

1. **Bound.** The LP relaxation of the whole model (every rule except contiguity, each
   unit's ``k`` nearest sites) is solved with HiGHS. Its left-out pairs are then *priced*:
   from the LP's duals, a pair ``(i, j)`` outside the model has reduced cost
   :math:`c_{ij} - u_i - a_i f_j - p_i s_j` (assignment, floor and size rows; its own
   linking row starts with dual 0). Pairs with a negative reduced cost are added and the
   LP solved again, until there are none: the LP value is then the relaxation of the
   *unpruned* model, so the bound holds for every plan, not only for plans using each
   unit's ``k`` nearest sites (column generation; usually no pair needs adding). When
   pricing cannot finish (round limit, time, rows it does not model), the LP only steers
   the search: no bound is reported from it and nothing is called optimal by it.
2. **Start.** The relaxation rounded (each unit to its largest share) and repaired by
   :func:`solvers.heuristic.repair_plan`, or the heuristic's plan (under contiguity, or
   when the repair fails), or a plan the caller gives: the best of them.
   Without contiguity, the whole model restricted to the relaxation's support (the pairs
   with a positive LP value, the plan's own, each unit's 4 nearest sites the LP opens at
   least in part) is then solved from that plan, until the plan is within ``mip_gap`` of
   the bound or for at most a quarter of the time left (a kernel-search step: on all
   London practices it takes the rounding's 6.9 % gap to 0.95 % in 4 s). It is skipped
   under contiguity, and when the start is within twice ``mip_gap`` of the bound: there
   the neighbourhoods below are faster (:func:`_support_pays`).
3. **Improve.** Repeatedly free a neighbourhood: a seed polysystem and the polysystems
   nearest to it (population-weighted travel of their units to its hub), about ``N``
   units in all; solve the exact MIP (:class:`solvers.mip.PolysystemModel`) over those
   units and the sites free there with every rule, the rest of the plan fixed and the
   current plan as its warm start (so a sub-model never makes the plan worse); keep the
   answer when it is better. Each pass seeds every polysystem once, those furthest above
   the relaxation first (a polysystem's excess: its units' travel cost in the plan less
   their cost in the LP; ties in a seeded random order). On the London LSOAs this took the
   plan from 3.9256 to 3.9173 in 300 s (gap 1.68 % -> 1.47 %) against the random order.
   A neighbourhood already tried without success is skipped until one of its polysystems
   changes. A sub-model stops after 200 branch-and-bound nodes or at a 0.1 % gap: it is
   there to improve the plan, not to prove anything (5 s stop it too, as a safety). ``N``
   starts at about 8 polysystems' worth of units and adapts: it grows by a quarter after a
   sub-model proven at its root node, shrinks by a fifth after one stopped by its node or
   time limit, and grows by half when a whole pass improved nothing, up to 4 times its
   start (1.5 times under contiguity, whose sub-models slow down quickly with size).
   Answers are applied in the order the neighbourhoods were handed out, whichever worker
   finishes first, so the search does not depend on the machine's speed.
4. **Stop** when the gap to the bound is within ``mip_gap`` (status ``optimal``: proven by
   the bound; with population floors the LP is weak, and on the Redbridge instances the
   proven optima lie 1.2-1.3 % above it, see ``bench/lp_gap.py``), when a pass at the
   largest size improves nothing, or at the time limit.
   If time is left and the gap is still above ``mip_gap``, the whole MIP runs warm-started
   from the incumbent for the rest of the time: its cuts can raise the bound, and it may
   still improve the plan.

Every limit that decides the plan before the time limit is a count (sub-model nodes,
heuristic steps, pricing rounds) and the visiting order is seeded, so a run that ends
before its time limit gives the same plan on rerun. Wherever the time limit stopped
something (the relaxation, a sub-model's safety limit, the search, the final MIP), the
plan carries :data:`catchment.timing.STOPPED_BY_TIME_LIMIT`.

Sub-models keep the floor, ceiling, capacities, contiguity, groups and waivers; the
polysystem count bounds and the budget are reduced by what the fixed part uses; the
objective weights are scaled so that a sub-model's objective is the whole objective's
share of the freed units. Only weighted sums of linear terms (``mean_travel``,
``deprivation_travel``, ``capital``) decompose so; ``max_travel`` and lexicographic
objectives are solved by the single MIP (:func:`lns_unsupported` says why).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import multiprocessing
import signal
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy import sparse

from catchment.objective import TERMS, travel_terms
from catchment.plan import NOT_PROVEN_OPTIMAL, Plan, gap_words, relative_gap
from catchment.problem import Objective, Problem
from catchment.settings import DEFAULTS
from catchment.timing import STOPPED_BY_TIME_LIMIT
from solvers.backends import solver_available, time_left
from solvers.common import (
    candidate_pairs,
    objective_value,
    term_values,
)
from solvers.distributed import default_workers
from solvers.formulation import build_formulation, plan_indices, solve_formulation
from solvers.heuristic import REPAIR_WORK, WorkBudget, repair_plan, solve_heuristic
from solvers.lagrangian import LagrangianBound, bound_record, lagrangian_bound, lagrangian_deadline, stronger_bound
from solvers.mip import PolysystemModel, check_solver_options
from solvers.relaxation import Relaxation, minute_weights, solve_relaxation

__all__ = ["solve_lns", "lns_unsupported", "relaxation_bound", "LNS_MIN_UNITS"]

logger = logging.getLogger(__name__)

#: Below this many units the single MIP is the better tool (``method="auto"``).
LNS_MIN_UNITS = 500
#: Polysystems in the first neighbourhoods (converted to units from the start plan).
_FIRST_POLYSYSTEMS = 8
_BIG_MINUTES = 1e4
_BROKEN = (
    'the worker processes stopped (a script calling the solver needs an `if __name__ == "__main__":` '
    "guard); the neighbourhoods are solved in this process instead"
)
#: Time limit of one sub-model (seconds) and the gap it is solved to: sub-models are there
#: to improve the plan, not to prove anything, so they are stopped early (tuned on London).
_SUB_LIMIT_S = 5.0
_SUB_GAP = 1e-3
#: Branch-and-bound nodes of one sub-model at most: the count that stops it (the seconds
#: above are only a safety, and a sub-model they stop marks the plan time-dependent).
_SUB_NODES = 200
#: Nodes of the MIP over the relaxation's support at most (its share of the time is a safety).
_SUPPORT_NODES = 1000
#: The MIP over the relaxation's support may use this share of the time left (no time
#: limit: this many seconds); a pair or site counts as in the support above this LP value.
_SUPPORT_SHARE = 0.25
_SUPPORT_MAX_S = 120.0
_SUPPORT_TOL = 1e-6
#: Nearest support sites added to each unit's pairs without contiguity (london-practices:
#: with 4, the support MIP reached a 0.95 % gap in 5 s; with none, it stopped at 1.8 %).
_SUPPORT_NEAREST = 4
#: The support MIP runs when the start's gap is above this multiple of ``mip_gap``.
_SUPPORT_FROM_GAP = 2.0
#: A pair is left out of the sub-models only when it costs more than the plan by this much (relative).
_FIX_TOLERANCE = 1e-9


def lns_unsupported(problem: Problem) -> str | None:
    """Why the neighbourhood search cannot solve ``problem`` exactly piecewise (or ``None``)."""
    objective = problem.objective
    if objective.lexicographic is not None:
        return "a lexicographic objective does not decompose by neighbourhood"
    for term in TERMS:
        if not term.linear and objective.weights.get(term.name, 0.0) > 0:
            return f"the {term.name} term does not decompose by neighbourhood"
    return None


@dataclass
class _Search:
    """The incumbent and what the search did."""

    site_of: np.ndarray
    options: dict[int, str]
    objective: float
    submodels: int = 0
    improved: int = 0
    time_limited: int = 0
    passes: int = 0
    target_units: float = 0.0
    history: list[tuple[float, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    support: dict[str, Any] | None = None
    #: Pairs left out of the sub-models by reduced-cost fixing.
    fixed_pairs: int = 0
    #: The time limit (not a count) stopped something: a rerun may differ.
    timed_out: bool = False


def solve_lns(
    problem: Problem,
    *,
    solver: str = DEFAULTS.solver,
    time_limit: float | None = DEFAULTS.time_limit,
    mip_gap: float = DEFAULTS.mip_gap,
    k_nearest: int | None = DEFAULTS.k_nearest,
    threads: int | None = DEFAULTS.threads,
    msg: bool = False,
    contiguity: str = DEFAULTS.contiguity,
    neighbourhood_units: int | None = None,
    seed: int = 2009,
    start: Plan | None = None,
    workers: int | None = None,  # unlike solve()'s 1: called on its own, the search uses every core
    reduced_cost_fixing: bool = True,
) -> Plan:
    """Solve a large problem by large-neighbourhood search with exact sub-models.

    Parameters
    ----------
    problem
        The problem. Its objective must decompose (see :func:`lns_unsupported`).
    solver
        ``"highs"`` or ``"cbc"`` for the sub-models and the final MIP. The relaxation that
        gives the bound is always solved with HiGHS.
    time_limit
        Wall-clock seconds for the whole call, or ``None``.
    mip_gap
        Relative gap to the bound at which the plan counts as optimal.
    k_nearest
        Nearest-site rule of the relaxation and the final MIP (``None``: automatic, as in
        :class:`~solvers.mip.PolysystemModel`).
    threads, msg, contiguity
        As for :func:`solvers.dispatch.solve`.
    neighbourhood_units
        Units freed per sub-model at first (``None``: about 8 polysystems' worth).
    seed
        Seed of the order in which neighbourhoods are visited (results are reproducible).
    start
        A valid plan to start from, tried alongside the rounded relaxation.
    workers
        Worker processes solving neighbourhoods at once (``None``: one per core this
        process may use; 1: in this process). Rules that couple neighbourhoods (bounds on
        the polysystem count, a budget) force 1.
    reduced_cost_fixing
        Leave out of the neighbourhoods the pairs the Lagrangian reduced costs rule out
        (:class:`_Fixing`); ``False`` keeps them (for comparison: ``bench/lns_fixing.py``).

    Returns
    -------
    Plan
        ``optimal`` when the gap to the bound is within ``mip_gap``, else ``feasible``;
        ``stats["method"] == "lns"`` and the search's figures in ``stats["lns"]``. If no
        starting plan can be found, the single MIP's plan (with its honest status).

    Raises
    ------
    ValueError
        If an option is invalid or the objective does not decompose.
    RuntimeError
        If HiGHS (needed for the relaxation) or the chosen solver is not available.
    """
    check_solver_options(
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        k_nearest=k_nearest,
        threads=threads,
        contiguity=contiguity,
        workers=workers,
    )
    if neighbourhood_units is not None and (
        isinstance(neighbourhood_units, bool) or not isinstance(neighbourhood_units, int) or neighbourhood_units < 2
    ):
        raise ValueError(f"neighbourhood_units must be an integer of at least 2, got {neighbourhood_units!r}")
    why = lns_unsupported(problem)
    if why is not None:
        raise ValueError(f"the neighbourhood search cannot solve this problem: {why}; use method='mip'")
    for name in {"highs", solver}:
        if not solver_available(name):
            raise RuntimeError(f"solver {name!r} is not available in this environment")
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + float(time_limit)
    model = PolysystemModel(problem, k_nearest=k_nearest, contiguity=contiguity)
    k = model.effective_k()
    rules = problem.rules
    coupled = any(v is not None for v in (rules.min_polysystems, rules.max_polysystems, rules.budget))
    workers = 1 if coupled else (default_workers() if workers is None else workers)
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 1:  # started now: the workers import the solvers while the relaxation runs
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_ignore_interrupt
            )
            stack.callback(_stop_pool, pool)
            for _ in range(workers):
                pool.submit(_warm_up)
        return _solve_lns(
            problem,
            model,
            k,
            t0=t0,
            deadline=deadline,
            solver=solver,
            time_limit=time_limit,
            mip_gap=mip_gap,
            threads=threads,
            msg=msg,
            neighbourhood_units=neighbourhood_units,
            seed=seed,
            start=start,
            pool=pool,
            workers=workers,
            reduced_cost_fixing=reduced_cost_fixing,
        )


def relaxation_bound(
    problem: Problem, *, k_nearest: int | None = None, time_limit: float | None = None, threads: int | None = None
) -> tuple[float | None, bool]:
    """The bound :func:`solve_lns` measures its plans against, on its own.

    The LP relaxation of the whole model (every rule but contiguity) over each unit's
    ``k_nearest`` sites, priced over every other allowed pair.

    Parameters
    ----------
    problem
        The problem.
    k_nearest
        Sites per unit in the first LP (``None``: as :func:`solve_lns`).
    time_limit
        Seconds, or ``None``.
    threads
        HiGHS threads, or ``None``.

    Returns
    -------
    tuple
        ``(bound, holds_for_every_pair)``: ``bound`` is ``None`` when the LP was not solved
        (infeasible or out of time); ``holds_for_every_pair`` is False when pricing could
        not finish, so the bound holds only for plans over the first LP's pairs.
    """
    check_solver_options(time_limit=time_limit, k_nearest=k_nearest, threads=threads)
    k = PolysystemModel(problem, k_nearest=k_nearest).effective_k()
    deadline = None if time_limit is None else time.perf_counter() + float(time_limit)
    relax = solve_relaxation(problem, candidate_pairs(problem, k=k), deadline=deadline, threads=threads)
    return relax.bound if relax.status == "optimal" else None, relax.priced


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers at once: a sub-model still running when the search ends is not needed."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the main process, which stops them (:func:`_stop_pool`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> None:
    """Import the solver stack in a fresh worker (the first sub-model is then not slowed)."""
    import solvers.mip  # noqa: F401


def _solve_lns(
    problem: Problem,
    model: PolysystemModel,
    k: int | None,
    *,
    t0: float,
    deadline: float | None,
    solver: str,
    time_limit: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    neighbourhood_units: int | None,
    seed: int,
    start: Plan | None,
    pool: Executor | None,
    workers: int,
    reduced_cost_fixing: bool = True,
) -> Plan:

    relax = solve_relaxation(problem, candidate_pairs(problem, k=k), deadline=deadline, threads=threads)
    logger.info(
        "relaxation: %s, bound %s, %.1f s, %d pricing round(s), %d pair(s) added",
        relax.status,
        relax.bound,
        relax.seconds,
        relax.rounds,
        relax.pairs_added,
    )
    if relax.status == "infeasible" or relax.bound is None:
        # Infeasible (or unsolved) relaxation: the single MIP retries, diagnoses and reports honestly.
        plan = model.solve(
            solver=solver, time_limit=time_left(deadline), mip_gap=mip_gap, threads=threads, msg=msg, start=start
        )
        plan = _with_note(plan, f"the relaxation was {relax.status}; solved as one MIP instead of by neighbourhoods")
        return _time_cut(plan) if relax.timed_out else plan

    t_start = time.perf_counter()
    found, start_timed_out = _starting_plan(problem, relax, start, deadline=deadline)
    start_s = time.perf_counter() - t_start
    if found is None:
        plan = model.solve(solver=solver, time_limit=time_left(deadline), mip_gap=mip_gap, threads=threads, msg=msg)
        plan = _with_note(plan, "no starting plan was found for the neighbourhood search; solved as one MIP")
        return _time_cut(plan) if start_timed_out else plan
    site_of, options, start_source = found
    objective = objective_value(problem.objective, term_values(problem, site_of, options))
    search = _Search(site_of=site_of, options=options, objective=objective, timed_out=start_timed_out)
    search.history.append((round(time.perf_counter() - t0, 3), objective))
    logger.info("start (%s): %.6g, gap %.2f%%", start_source, objective, 100 * _gap(objective, relax.bound))

    if _support_pays(problem, search, relax.bound, mip_gap) and not _done(search, relax.bound, mip_gap, deadline):
        _support_step(problem, search, relax, deadline=deadline, mip_gap=mip_gap, solver=solver, threads=threads, t0=t0)

    lagrangian = _lagrangian_step(
        problem, relax, search, deadline=deadline, mip_gap=mip_gap, reduced_costs=reduced_cost_fixing
    )
    search_bound = cast(float, stronger_bound(relax.bound, None if lagrangian is None else lagrangian.bound))

    allowed = np.zeros((problem.n_units, problem.n_sites), dtype=bool)
    assert relax.cand is not None
    allowed[relax.cand.units, relax.cand.sites] = True
    allowed[np.arange(problem.n_units), site_of] = True
    useful = allowed.copy()
    fixing = _Fixing.create(useful, lagrangian) if reduced_cost_fixing else None
    if fixing is not None:
        fixing.refresh(search)
    _improve(
        problem,
        search,
        useful,
        bound=search_bound,
        deadline=deadline,
        mip_gap=mip_gap,
        solver=solver,
        threads=threads,
        first_units=neighbourhood_units,
        seed=seed,
        pool=pool,
        workers=workers,
        t0=t0,
        guide=_Guide.create(problem, relax),
        fixing=fixing,
    )
    lns_s = time.perf_counter() - t0

    bound, final, notes = _final_mip(
        problem,
        model,
        search,
        relax,
        deadline=deadline,
        time_limit=time_limit,
        solver=solver,
        mip_gap=mip_gap,
        threads=threads,
        msg=msg,
        t0=t0,
        lagrangian=None if lagrangian is None else lagrangian.bound,
    )
    bounds = bound_record(
        lp=relax.bound if relax.priced else None,
        lagrangian=None if lagrangian is None else lagrangian.bound,
        final=bound,
    )

    gap = _gap(search.objective, bound)
    status = "optimal" if gap <= mip_gap else "feasible"
    gap_or_none = None if bound is None else gap
    uses_pruned_pair = bool(np.any(~allowed[np.arange(problem.n_units), search.site_of]))
    notes[:0] = [
        f"large-neighbourhood search: {search.submodels} exact sub-model(s) solved, {search.improved} improved "
        f"the plan (start: {start_source})",
        _bound_note(relax, bound, bounds),
    ]
    if status == "feasible":
        stopped = deadline is not None and time.perf_counter() >= deadline - 1.0
        notes.append(
            f"{'time limit reached: ' if stopped else ''}{NOT_PROVEN_OPTIMAL}"
            + (f" (gap {gap_words(gap)})" if bound is not None else "")
        )
    if search.timed_out:
        notes.append(STOPPED_BY_TIME_LIMIT)
    terms = term_values(problem, search.site_of, search.options)
    cand = relax.cand
    stats = {
        "method": "lns",
        "pairs_allowed": cand.n_allowed,
        "pairs_kept": cand.n_pairs,
        "k_nearest": cand.k,
        "pruned": cand.pruned and not relax.priced,
        "term_values": terms,
        "stopped_by_time_limit": search.timed_out,
        "start_objective": search.history[0][1],
        "bounds": bounds,
        "lns": _lns_stats(
            search,
            relax,
            start_source=start_source,
            start_s=start_s,
            lns_s=lns_s,
            final=final,
            uses_pruned_pair=uses_pruned_pair,
            lagrangian=lagrangian,
        ),
    }
    return Plan(
        assignment={problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(search.site_of.tolist())},
        hub_options={problem.site_ids[j]: o for j, o in search.options.items()},
        status=status,
        objective=search.objective,
        bound=bound,
        gap=gap_or_none,
        solver=solver,
        runtime_s=time.perf_counter() - t0,
        mip_gap=mip_gap,
        notes=tuple(notes),
        stats=stats,
    )


def _lagrangian_step(
    problem: Problem,
    relax: Relaxation,
    search: _Search,
    *,
    deadline: float | None,
    mip_gap: float,
    reduced_costs: bool,
) -> LagrangianBound | None:
    """The Lagrangian bound (:mod:`solvers.lagrangian`) when the LP bound leaves the plan more than ``mip_gap`` away.

    It may use :data:`solvers.lagrangian.TIME_SHARE` of the time left, at most
    :data:`solvers.lagrangian.MAX_SECONDS`; the plan steers its steps and
    seeds its master. Its reduced costs are computed only when ``reduced_costs`` (the
    search's reduced-cost fixing, their one reader here). ``None`` when not run.
    """
    if _gap(search.objective, relax.bound) <= mip_gap:
        return None
    stop = lagrangian_deadline(deadline)
    result = lagrangian_bound(
        problem,
        relaxation=relax,
        upper=search.objective,
        plan=search.site_of,
        deadline=stop,
        reduced_costs=reduced_costs,
    )
    logger.info("lagrangian bound %s (LP %s), %.1f s", result.bound, relax.bound, result.seconds)
    return result


@dataclass
class _Fixing:
    r"""Reduced-cost fixing of the sub-models' pairs, refreshed as the plan improves.

    A plan that assigns unit :math:`i` to site :math:`j` costs at least :math:`L + d_{ij}`
    (the Lagrangian bound and its reduced cost, :mod:`solvers.lagrangian`), so a pair with
    :math:`L + d_{ij} > z` (the search's plan) is in no plan better than it: leaving it out
    of every neighbourhood loses no improvement, and as :math:`z` falls more pairs go. The
    plan's own pairs always satisfy :math:`L + d_{ij} \le z` and stay. Only the sub-models
    are narrowed; the bounds and the final whole-model MIP are not.
    """

    allowed: np.ndarray
    threshold: np.ndarray

    @classmethod
    def create(cls, allowed: np.ndarray, lagrangian: LagrangianBound | None) -> _Fixing | None:
        if lagrangian is None or lagrangian.bound is None or lagrangian.reduced is None:
            return None
        return cls(allowed, lagrangian.bound + lagrangian.reduced)

    def refresh(self, search: _Search) -> None:
        """Leave out (in place) the pairs no plan better than ``search``'s can use."""
        z = search.objective
        before = int(self.allowed.sum())
        self.allowed &= ~(self.threshold > z + _FIX_TOLERANCE * max(1.0, abs(z)))
        self.allowed[np.arange(self.allowed.shape[0]), search.site_of] = True
        search.fixed_pairs += before - int(self.allowed.sum())
        logger.debug("reduced-cost fixing: %d pair(s) left out so far", search.fixed_pairs)


def _bound_note(relax: Relaxation, bound: float | None, bounds: dict[str, Any] | None = None) -> str:
    cand = relax.cand
    assert cand is not None
    if bounds is not None and bound is not None and bounds.get("source") == "lagrangian":
        lp = bounds.get("lp")
        return (
            f"bound {bound:.6g} from the Lagrangian relaxation of the whole model over every allowed unit-site "
            "pair (each unit's assignment row relaxed, every site's floor and size solved exactly; contiguity left "
            "out)" + (f", above the LP relaxation's {lp:.6g}" if lp is not None else "")
        )
    if bound is None:
        return (
            f"no bound for the whole model: the relaxation over each unit's {cand.k} nearest sites "
            f"({relax.bound:.6g}) was not priced over the other pairs, so a plan using farther sites could "
            "be below it"
        )
    if relax.priced and bound <= (relax.bound or -math.inf) + 1e-12:
        return (
            f"bound {bound:.6g} from the LP relaxation of the whole model over every allowed unit-site pair "
            "(the pairs left out were priced: none could lower it)"
        )
    return f"bound {bound:.6g} from the final MIP, proven for the whole model"


def _final_mip(
    problem: Problem,
    model: PolysystemModel,
    search: _Search,
    relax: Relaxation,
    *,
    deadline: float | None,
    time_limit: float | None,
    solver: str,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    t0: float,
    lagrangian: float | None = None,
) -> tuple[float | None, dict[str, Any] | None, list[str]]:
    """The bound that holds for every plan, and the whole-model MIP from the search's plan when time allows.

    Returns the bound (``None``: none proven), the final MIP's figures (``None``: not run)
    and notes; the search's plan is replaced in place when the MIP improved it.
    """
    # Only a bound that holds for every plan may prove anything: the relaxation's when its
    # left-out pairs were priced, the Lagrangian's (over every allowed pair), the final
    # MIP's (the single MIP proves its bound for the whole model, see solvers.mip.PolysystemModel).
    bound = stronger_bound(relax.bound if relax.priced else None, lagrangian)
    final: dict[str, Any] | None = None
    notes: list[str] = []
    left = time_left(deadline)
    limit = cast(float, time_limit)  # read only when there is time left, so a deadline, so a time limit
    if _gap(search.objective, bound) > mip_gap and left is not None and left <= max(5.0, 0.05 * float(limit)):
        search.timed_out = True  # too little time left for the final MIP
    if _gap(search.objective, bound) > mip_gap and (left is None or left > max(5.0, 0.05 * float(limit))):
        incumbent = _plan_of(problem, search.site_of, search.options, search.objective)
        # With a priced relaxation, the final MIP's own proof would price the same pairs again and,
        # with a weak LP, prove little more: it then only has to improve the plan (prove=False:
        # a pruned model then reports no bound, and an unpruned one its solver's).
        mip_plan = model.solve(
            solver=solver,
            time_limit=left,
            mip_gap=mip_gap,
            threads=threads,
            msg=msg,
            start=incumbent,
            prove=not relax.priced,
        )
        search.timed_out |= bool(mip_plan.stats.get("stopped_by_time_limit"))
        final = {
            "status": mip_plan.status,
            "objective": mip_plan.objective,
            "bound": mip_plan.bound,
            "seconds": round(mip_plan.runtime_s, 3),
        }
        if mip_plan.bound is not None:
            bound = float(mip_plan.bound) if bound is None else max(bound, float(mip_plan.bound))
        if mip_plan.has_plan and mip_plan.objective is not None and mip_plan.objective < search.objective - 1e-12:
            search.site_of, search.options = plan_indices(problem, mip_plan)
            search.objective = objective_value(problem.objective, term_values(problem, search.site_of, search.options))
            search.history.append((round(time.perf_counter() - t0, 3), search.objective))
            notes.append("the final whole-model MIP improved the neighbourhood search's plan")
    return bound, final, notes


def _lns_stats(
    search: _Search,
    relax: Relaxation,
    *,
    start_source: str,
    start_s: float,
    lns_s: float,
    final: dict[str, Any] | None,
    uses_pruned_pair: bool,
    lagrangian: LagrangianBound | None = None,
) -> dict[str, Any]:
    """The search's figures, ``stats["lns"]`` of its plan."""
    return {
        "lagrangian": None if lagrangian is None else lagrangian.stats(),
        "relaxation_bound": relax.bound,
        "relaxation_s": round(relax.seconds, 3),
        "pricing_rounds": relax.rounds,
        "pairs_priced_in": relax.pairs_added,
        "bound_covers_every_pair": relax.priced,
        "start": start_source,
        "start_s": round(start_s, 3),
        "support": search.support,
        "submodels": search.submodels,
        "improved": search.improved,
        "submodels_time_limited": search.time_limited,
        "submodel_s_mean": round(float(np.mean(search.seconds)), 3) if search.seconds else None,
        "submodel_s_max": round(max(search.seconds), 3) if search.seconds else None,
        "passes": search.passes,
        "neighbourhood_units": int(search.target_units),
        "search_s": round(lns_s, 3),
        "history": search.history,
        "uses_pair_outside_relaxation": uses_pruned_pair,
        "pairs_fixed_by_reduced_cost": search.fixed_pairs,
        "final_mip": final,
    }


# ---------------------------------------------------------------------------- start
def _starting_plan(
    problem: Problem, relax: Relaxation, start: Plan | None, *, deadline: float | None
) -> tuple[tuple[np.ndarray, dict[int, str], str] | None, bool]:
    """The best of the given plan, the repaired rounding and (if needed) the heuristic's plan.

    Also says whether the deadline (not a count) stopped the repair or the heuristic.
    """
    found: list[tuple[float, np.ndarray, dict[int, str], str]] = []

    def offer(site_of: np.ndarray, options: dict[int, str], source: str) -> None:
        value = objective_value(problem.objective, term_values(problem, site_of, options))
        found.append((value, site_of, options, source))

    if start is not None and start.has_plan:
        offer(*plan_indices(problem, start), "the given plan")
    budget = WorkBudget(REPAIR_WORK, deadline)
    rounded = _rounded(problem, relax)
    if rounded is not None:
        repaired = repair_plan(problem, rounded, budget=budget)
        if repaired is not None:
            offer(repaired[0], dict(repaired[1]), "the relaxation rounded and repaired")
    timed_out = budget.timed_out
    if not found:
        plan = solve_heuristic(problem, time_limit=time_left(deadline))
        if plan is not None:
            offer(*plan_indices(problem, plan), "the heuristic")
            timed_out |= bool(plan.stats.get("stopped_by_time_limit"))
    if not found:
        return None, timed_out
    best = min(found, key=lambda item: item[0])
    return (best[1].astype(np.int64), best[2], best[3]), timed_out


def _rounded(problem: Problem, relax: Relaxation) -> np.ndarray | None:
    """Each unit at its largest share, hubs whose host unit went elsewhere closed.

    A hub's host unit must be in its polysystem; where the rounding sent it elsewhere, the
    hub is dropped and its units go to the open hub nearest them among their pairs.
    """
    site_of = relax.site_of_unit
    if site_of is None or relax.cand is None or np.any(site_of < 0):
        return None
    site_of = site_of.copy()
    hosts = problem.site_unit or (None,) * problem.n_sites
    open_sites = {int(j) for j in np.unique(site_of) if hosts[j] is None or site_of[hosts[j]] == j}
    stray = np.flatnonzero(~np.isin(site_of, sorted(open_sites)))
    if stray.size == 0:
        return site_of
    cand = relax.cand
    ok = np.isin(cand.sites, sorted(open_sites)) & np.isin(cand.units, stray)
    units, sites, travel = cand.units[ok], cand.sites[ok], cand.travel[ok]
    order = np.lexsort((-travel, units))  # per unit, nearest last
    last = np.flatnonzero(np.r_[units[order][1:] != units[order][:-1], True]) if units.size else np.zeros(0, int)
    site_of[units[order][last]] = sites[order][last]
    site_of[np.setdiff1d(stray, units)] = -1  # no open hub among its pairs: the repair places it
    return site_of


def _support_pays(problem: Problem, search: _Search, bound: float, mip_gap: float) -> bool:
    """Whether the MIP over the relaxation's support is worth its time here (measured on the benchmarks).

    Under contiguity its cut rounds cost more than the neighbourhoods need for the same gain
    (london-lsoa: 68 s for 4.041 -> 3.982, which the neighbourhoods reach in 30 s). When the
    start is already near the target, the neighbourhoods close the rest sooner
    (synthetic-20k: 1.01 % -> 0.99 % in 2 s, the support MIP 36 s; synthetic-5k: 1.39 %
    -> 1 % in 6 s, the support MIP 8 s). From far away it wins (london-practices: 6.9 % ->
    0.95 % in 4 s, the neighbourhoods 55 s).
    """
    return not problem.rules.contiguity and _gap(search.objective, bound) > _SUPPORT_FROM_GAP * mip_gap


def _support_step(
    problem: Problem,
    search: _Search,
    relax: Relaxation,
    *,
    deadline: float | None,
    mip_gap: float,
    solver: str,
    threads: int | None,
    t0: float,
) -> None:
    """Solve the whole model over the relaxation's support, from the current plan (in place).

    Its pairs are those with a positive LP value, the plan's own, and each unit's
    :data:`_SUPPORT_NEAREST` nearest sites among those the LP opens at least in part. This
    small MIP keeps every rule and closes much of the rounding's gap in seconds (a
    kernel-search step); HiGHS stops it as soon as the plan is within ``mip_gap`` of the
    relaxation's bound, else at a 0.1 % gap of its own or after :data:`_SUPPORT_NODES`
    nodes (and, as a safety, after a quarter of the time left).
    """
    cand, share, opened, bound = relax.cand, relax.pair_share, relax.open_share, relax.bound
    assert cand is not None and share is not None and opened is not None and bound is not None
    began = time.perf_counter()
    keep = share > _SUPPORT_TOL
    open_sites = opened > _SUPPORT_TOL
    open_sites[sorted(search.options)] = True
    idx = np.flatnonzero(open_sites[cand.sites])
    idx = idx[np.lexsort((cand.travel[idx], cand.units[idx]))]  # by unit, nearest first
    first = np.flatnonzero(np.r_[True, cand.units[idx][1:] != cand.units[idx][:-1]])
    rank = np.arange(idx.size) - np.repeat(first, np.diff(np.r_[first, idx.size]))
    keep[idx[rank < _SUPPORT_NEAREST]] = True
    pairs = np.unique(
        np.c_[np.r_[cand.units[keep], np.arange(problem.n_units)], np.r_[cand.sites[keep], search.site_of]], axis=0
    )  # sorted by unit, then site
    sub = dataclasses.replace(
        cand, units=pairs[:, 0], sites=pairs[:, 1], travel=problem.travel_min[pairs[:, 0], pairs[:, 1]], pruned=True
    )
    left = time_left(deadline)
    budget = _SUPPORT_MAX_S if left is None else _SUPPORT_SHARE * left
    target = bound / (1.0 - mip_gap) * (1.0 - 1e-9) if bound > 0 else None
    form = build_formulation(problem, sub, "support", "cuts")
    attempt = solve_formulation(
        problem,
        form,
        solver=solver,
        deadline=began + budget,
        mip_gap=min(mip_gap, _SUB_GAP),
        threads=threads,
        msg=False,
        start=(search.site_of, search.options),
        target=target,
        node_limit=_SUPPORT_NODES,
    )
    search.timed_out |= attempt.timed_out
    outcome: dict[str, Any] = {
        "pairs": int(pairs.shape[0]),
        "sites": int(open_sites.sum()),
        "status": attempt.status,
        "objective": None,
        "improved": False,
    }
    if attempt.site_of_unit is not None:
        value = objective_value(problem.objective, term_values(problem, attempt.site_of_unit, attempt.hub_options))
        outcome["objective"] = value
        if value < search.objective - 1e-12:
            search.site_of = attempt.site_of_unit.astype(np.int64)
            search.options = dict(attempt.hub_options)
            search.objective = value
            search.history.append((round(time.perf_counter() - t0, 3), value))
            outcome["improved"] = True
    outcome["seconds"] = round(time.perf_counter() - began, 3)
    search.support = outcome
    logger.info(
        "MIP over the relaxation's support (%d pairs, %d sites): %s, %.6g, gap %.2f%%, %.1f s",
        outcome["pairs"],
        outcome["sites"],
        attempt.status,
        search.objective,
        100 * _gap(search.objective, bound),
        outcome["seconds"],
    )


# ---------------------------------------------------------------------------- search
def _improve(
    problem: Problem,
    search: _Search,
    allowed: np.ndarray,
    *,
    bound: float,
    deadline: float | None,
    mip_gap: float,
    solver: str,
    threads: int | None,
    first_units: int | None,
    seed: int,
    pool: Executor | None,
    workers: int,
    t0: float,
    guide: _Guide | None = None,
    fixing: _Fixing | None = None,
) -> None:
    """Improve ``search``'s plan neighbourhood by neighbourhood (in place).

    With a process pool, up to ``workers`` neighbourhoods are solved at once. They never
    share a unit or a candidate site, so each answer applies to the plan as it is when it
    comes back, whatever the others changed meanwhile. Each pass seeds every polysystem
    once; with a ``guide``, the polysystems whose plan is furthest above the relaxation
    go first, else the order is random. With ``fixing`` (over ``allowed``), each better
    plan leaves out the pairs no plan better than it can use.
    """
    rng = np.random.default_rng(seed)
    n = problem.n_units
    target = float(first_units) if first_units is not None else _FIRST_POLYSYSTEMS * n / max(1, len(search.options))
    search.target_units = target = min(target, float(n))
    # contiguous sub-models get slow fast as they grow (cut rounds, then flows): grow them less
    largest = max(target, min(float(n), (1.5 if problem.rules.contiguity else 4.0) * target))
    failed: set[int] = set()
    running: dict[Future, _Task] = {}
    busy_units = np.zeros(n, dtype=bool)
    busy_sites = np.zeros(problem.n_sites, dtype=bool)
    queue: list[int] = []
    improved_in_pass = True
    try:
        while True:
            stop = _done(search, bound, mip_gap, deadline)
            if stop and _gap(search.objective, bound) <= mip_gap:
                return  # proven good enough: sub-models still running are not needed
            # hand out work while there are free workers and seeds left in this pass
            while not stop and len(running) < workers:
                if not queue:
                    if running:
                        break  # finish the pass before judging it
                    if search.passes and not improved_in_pass:
                        if target >= largest:
                            return
                        search.target_units = target = min(largest, 1.5 * target)
                    search.passes += 1
                    improved_in_pass = False
                    queue = rng.permutation(np.array(sorted(search.options), dtype=np.int64)).tolist()
                if guide is not None:
                    guide.order(search, queue)
                task = _next_task(problem, search, allowed, queue, failed, busy_units, busy_sites, target)
                if task is None:
                    if not running:
                        queue.clear()  # every seed left is spent: the pass is over
                        continue
                    break
                task.args = (task.sub, task.start, solver, _sub_limit(deadline), _SUB_GAP, threads, _SUB_NODES)
                if pool is not None:
                    try:
                        task.future = pool.submit(_solve_sub, *task.args)
                    except BrokenProcessPool:
                        pool, workers = None, 1
                        logger.warning(_BROKEN)
                if pool is None:
                    task.future = _run_now(_solve_sub, *task.args)
                task.began = time.perf_counter()
                running[cast(Future, task.future)] = task  # submitted just above, to the pool or run now
                busy_units[task.units] = True
                busy_sites[task.sites] = True
            if not running:
                if stop or not queue:
                    if stop:
                        return
                    continue
            # the oldest neighbourhood first, whichever worker finishes first: the order of
            # the answers (and so the plan) does not depend on the machine's speed
            future = next(iter(running))
            task = running.pop(future)
            busy_units[task.units] = False
            busy_sites[task.sites] = False
            try:
                result = future.result()
            except BrokenProcessPool:
                if pool is not None:
                    pool, workers = None, 1
                    logger.warning(_BROKEN)
                result = _solve_sub(*task.args)
            outcome = _apply(problem, search, task, result)
            search.submodels += 1
            search.seconds.append(time.perf_counter() - task.began)
            search.timed_out |= bool(result[0].stats.get("stopped_by_time_limit"))
            if outcome == "improved":
                search.improved += 1
                improved_in_pass = True
                search.history.append((round(time.perf_counter() - t0, 3), search.objective))
                if fixing is not None:
                    fixing.refresh(search)
            else:
                failed.add(task.key)
            if outcome == "time_limited":
                search.time_limited += 1
                target = max(2.0, 0.8 * target)
            elif outcome == "same fast":
                target = min(largest, 1.25 * target)
            search.target_units = target
    finally:
        for future in running:
            future.cancel()


@dataclass
class _Guide:
    r"""Where the plan is furthest above the relaxation: those polysystems are seeded first.

    A unit's excess is its travel cost in the plan less its cost in the LP relaxation
    (:math:`\sum_j c_{ij} x^{LP}_{ij}`); a polysystem's is the sum over its units. The LP
    bounds the whole plan's cost, not each unit's, so this only ranks where to look first.
    """

    unit_weight: np.ndarray  # objective per minute of travel, per unit
    lp_cost: np.ndarray  # each unit's cost in the relaxation
    travel: np.ndarray

    @classmethod
    def create(cls, problem: Problem, relax: Relaxation) -> _Guide | None:
        weight = minute_weights(problem)
        cand = relax.cand
        if not weight.any() or cand is None or relax.pair_share is None:
            return None
        lp_cost = np.bincount(
            cand.units, weights=weight[cand.units] * cand.travel * relax.pair_share, minlength=problem.n_units
        )
        return cls(weight, lp_cost, problem.travel_min)

    def order(self, search: _Search, queue: list[int]) -> None:
        """Sort ``queue`` (hub site indices) by their polysystem's excess, largest first."""
        if len(queue) < 2:
            return
        units = np.arange(search.site_of.size)
        excess = self.unit_weight * self.travel[units, search.site_of] - self.lp_cost
        per_site = np.bincount(search.site_of, weights=excess, minlength=self.travel.shape[1])
        queue.sort(key=lambda hub: -per_site[hub])


@dataclass
class _Task:
    """One neighbourhood handed to a worker."""

    units: np.ndarray
    sites: np.ndarray
    hubs: np.ndarray
    key: int
    sub: Problem
    start: Plan
    before: float
    future: Future | None = None
    args: tuple[Any, ...] = ()
    began: float = 0.0


def _next_task(
    problem: Problem,
    search: _Search,
    allowed: np.ndarray,
    queue: list[int],
    failed: set[int],
    busy_units: np.ndarray,
    busy_sites: np.ndarray,
    target: float,
) -> _Task | None:
    """The first seed in ``queue`` whose neighbourhood is new and clear of running work."""
    hubs = np.array(sorted(search.options), dtype=np.int64)
    closeness = _closeness(problem, search.site_of, hubs)
    queue[:] = [hub for hub in queue if hub in search.options]  # hubs closed since the pass began
    for pos, seed_hub in enumerate(queue):
        chosen = _neighbourhood(search.site_of, hubs, closeness, int(np.searchsorted(hubs, seed_hub)), target)
        units = np.flatnonzero(np.isin(search.site_of, chosen))
        if busy_units[units].any():
            continue
        del queue[pos]
        key = hash((chosen.tobytes(), units.tobytes()))
        if key in failed:
            return _next_task(problem, search, allowed, queue, failed, busy_units, busy_sites, target)
        sub, sites = _subproblem(problem, search, allowed, units, chosen, blocked=busy_sites)
        if sub is None:
            failed.add(key)
            return _next_task(problem, search, allowed, queue, failed, busy_units, busy_sites, target)
        at = {int(j): q for q, j in enumerate(sites)}
        sub_site = np.array([at[int(search.site_of[i])] for i in units], dtype=np.int64)
        sub_options = {at[int(j)]: search.options[int(j)] for j in chosen}
        start = Plan(
            assignment={sub.unit_ids[q]: sub.site_ids[j] for q, j in enumerate(sub_site.tolist())},
            hub_options={sub.site_ids[j]: o for j, o in sub_options.items()},
            status="feasible",
        )
        before = objective_value(sub.objective, term_values(sub, sub_site, sub_options))
        return _Task(units, sites, chosen, key, sub, start, before)
    return None


def _solve_sub(
    sub: Problem,
    start: Plan,
    solver: str,
    time_limit: float,
    mip_gap: float,
    threads: int | None,
    node_limit: int | None = None,
) -> tuple[Plan, float]:
    """Solve one sub-model from ``start`` (runs in a worker process)."""
    began = time.perf_counter()
    # prove=False: a sub-model only has to improve the plan (its proof would cost a priced relaxation)
    plan = PolysystemModel(sub, k_nearest=None).solve(
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        start=start,
        node_limit=node_limit,
        prove=False,
    )
    return plan, time_limit - (time.perf_counter() - began)


def _run_now(func: Any, *args: Any) -> Future:
    future: Future = Future()
    future.set_result(func(*args))
    return future


def _apply(problem: Problem, search: _Search, task: _Task, result: tuple[Plan, float]) -> str:
    """Put a sub-model's plan into the search when it is better.

    Returns ``improved``, ``same``, ``same fast`` or ``time_limited``.
    """
    plan, _ = result
    sub = task.sub
    if not plan.has_plan:
        return "time_limited"
    sub_site, sub_options = plan_indices(sub, plan)
    after = objective_value(sub.objective, term_values(sub, sub_site, sub_options))
    if not after < task.before - 1e-9 * max(1.0, abs(task.before)):
        # a pruned sub-model is not proven for all its pairs, but its solve finished: "same", not time-limited
        if plan.stats.get("restricted_status", plan.status) != "optimal":
            return "time_limited"
        return "same fast" if int(plan.stats.get("nodes", 0) or 0) <= 1 else "same"
    search.site_of[task.units] = task.sites[sub_site]
    for j in task.hubs:
        search.options.pop(int(j), None)
    search.options.update({int(task.sites[j]): o for j, o in sub_options.items()})
    search.objective = objective_value(problem.objective, term_values(problem, search.site_of, search.options))
    return "improved"


def _done(search: _Search, bound: float, mip_gap: float, deadline: float | None) -> bool:
    if _gap(search.objective, bound) <= mip_gap:
        return True
    if deadline is not None and time.perf_counter() >= deadline:
        search.timed_out = True
        return True
    return False


def _sub_limit(deadline: float | None) -> float:
    left = time_left(deadline)
    return _SUB_LIMIT_S if left is None else max(0.2, min(_SUB_LIMIT_S, left))


def _closeness(problem: Problem, site_of: np.ndarray, hubs: np.ndarray) -> np.ndarray:
    """Symmetric ``(hubs, hubs)`` nearness: population-weighted travel of one's units to the other's hub."""
    row = np.searchsorted(hubs, site_of)
    pop = problem.population
    weights = np.where(pop > 0, pop, 1.0)
    members = sparse.csr_matrix((weights, (row, np.arange(site_of.size))), shape=(hubs.size, site_of.size))
    travel = problem.travel_min[:, hubs]
    travel = np.where(np.isfinite(travel), travel, _BIG_MINUTES)
    mean = np.asarray(members @ travel) / np.asarray(members.sum(axis=1))
    return mean + mean.T


def _neighbourhood(
    site_of: np.ndarray, hubs: np.ndarray, closeness: np.ndarray, seed: int, target: float
) -> np.ndarray:
    """The seed polysystem and its nearest ones, up to about ``target`` units (at least two)."""
    sizes = np.bincount(np.searchsorted(hubs, site_of), minlength=hubs.size)
    order = np.argsort(closeness[seed], kind="stable")
    order = np.concatenate([[seed], order[order != seed]])
    total = np.cumsum(sizes[order])
    count = max(2, int(np.searchsorted(total, target)) + 1)
    return np.sort(hubs[order[:count]])


def _subproblem(
    problem: Problem,
    search: _Search,
    allowed: np.ndarray,
    units: np.ndarray,
    freed_hubs: np.ndarray,
    *,
    blocked: np.ndarray | None = None,
) -> tuple[Problem | None, np.ndarray]:
    """The problem over ``units`` with the rest of the plan fixed (``None`` if nothing to free).

    Its sites: usable, not open in the fixed part, hosted by a freed unit or by none, not
    ``blocked`` (candidates of a neighbourhood being solved elsewhere), and a pair of some
    freed unit. The freed hubs are always among them.
    """
    n, m = problem.n_units, problem.n_sites
    rules = problem.rules
    in_u = np.zeros(n, dtype=bool)
    in_u[units] = True
    hosts = np.array([-1 if h is None else h for h in (problem.site_unit or (None,) * m)], dtype=np.int64)
    fixed_open = np.zeros(m, dtype=bool)
    fixed_open[np.array(sorted(search.options), dtype=np.int64)] = True
    fixed_open[freed_hubs] = False
    usable = np.array([st != "excluded" for st in problem.site_status], dtype=bool)
    host_ok = np.where(hosts < 0, True, in_u[np.maximum(hosts, 0)])
    reach = allowed[units].any(axis=0)
    free = usable & ~fixed_open & host_ok & reach
    if blocked is not None:
        free &= ~blocked
    free[freed_hubs] = True
    sites = np.flatnonzero(free)
    if units.size == 0 or sites.size == 0:
        return None, sites
    pos_u = np.full(n, -1, dtype=np.int64)
    pos_u[units] = np.arange(units.size)

    n_fixed = len(search.options) - freed_hubs.size
    fixed_capital = sum(
        problem.option(problem.site_ids[j], o).capital_cost for j, o in search.options.items() if fixed_open[j]
    )
    unit_set = {problem.unit_ids[i] for i in units}
    sub_rules = dataclasses.replace(
        rules,
        waivers={u: r for u, r in rules.waivers.items() if u in unit_set},
        min_polysystems=None
        if rules.min_polysystems is None or rules.min_polysystems - n_fixed < 1
        else rules.min_polysystems - n_fixed,
        max_polysystems=None if rules.max_polysystems is None else rules.max_polysystems - n_fixed,
        budget=None if rules.budget is None else max(0.0, rules.budget - fixed_capital),
    )
    pop = problem.population
    weights = dict(problem.objective.weights)
    for term in travel_terms():  # the freed units' share of each travel term
        if weights.get(term.name, 0.0) > 0:
            weights[term.name] *= float(term.travel_shares(problem)[units].sum())
    if not any(w > 0 for w in weights.values()):
        return None, sites
    adjacency: tuple[tuple[int, int], ...] | None = None
    if problem.adjacency is not None:
        pairs = np.asarray(problem.adjacency, dtype=np.int64).reshape(-1, 2)
        both = in_u[pairs[:, 0]] & in_u[pairs[:, 1]]
        adjacency = tuple((a, b) for a, b in pos_u[pairs[both]].tolist())
    travel = problem.travel_min[np.ix_(units, sites)]
    travel = np.where(allowed[np.ix_(units, sites)], travel, np.inf)
    site_set = {problem.site_ids[j] for j in sites}
    sub = Problem(
        unit_ids=tuple(problem.unit_ids[i] for i in units),
        unit_type=problem.unit_type,
        population=pop[units],
        site_ids=tuple(problem.site_ids[j] for j in sites),
        site_names=tuple(problem.site_names[j] for j in sites),
        site_types=tuple(problem.site_types[j] for j in sites),
        site_status=tuple(problem.site_status[j] for j in sites),
        options=tuple(o for o in problem.options if o.site_id in site_set),
        travel_min=travel,
        rules=sub_rules,
        objective=Objective(weights=weights),
        travel_source=problem.travel_source,
        travel_label=problem.travel_label,
        deprivation=None if problem.deprivation is None else problem.deprivation[units],
        unit_data={name: values[units] for name, values in problem.unit_data.items()},
        groups=None if problem.groups is None else tuple(problem.groups[i] for i in units),
        adjacency=adjacency,
        site_unit=None
        if problem.site_unit is None
        else tuple(None if hosts[j] < 0 else int(pos_u[hosts[j]]) for j in sites),
        unit_names=tuple(problem.unit_names[i] for i in units) if problem.unit_names else None,
    )
    return sub, sites


# ---------------------------------------------------------------------------- helpers
def _gap(objective: float, bound: float | None) -> float:
    if bound is None:
        return math.inf
    return relative_gap(objective, bound)


def _plan_of(problem: Problem, site_of: np.ndarray, options: dict[int, str], objective: float) -> Plan:
    return Plan(
        assignment={problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(site_of.tolist())},
        hub_options={problem.site_ids[j]: o for j, o in options.items()},
        status="feasible",
        objective=objective,
        solver="lns",
    )


def _with_note(plan: Plan, note: str) -> Plan:
    return dataclasses.replace(plan, notes=(*plan.notes, note))


def _time_cut(plan: Plan) -> Plan:
    """``plan`` marked as stopped by the time limit (once)."""
    notes = plan.notes if STOPPED_BY_TIME_LIMIT in plan.notes else (*plan.notes, STOPPED_BY_TIME_LIMIT)
    return dataclasses.replace(plan, notes=notes, stats={**dict(plan.stats), "stopped_by_time_limit": True})
