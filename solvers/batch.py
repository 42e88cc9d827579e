"""One solve, checked and summarised: the unit of work of sweeps, shortlists and national runs.

:func:`solve_and_check` runs the cheap infeasibility checks, solves, re-derives every figure
from the problem and the plan (never from the solver) and runs the independent validator.
It returns a small, picklable :class:`SolveRecord`, so the same function runs in this
process or on a Dask worker (:mod:`solvers.distributed`) with the same result.

>>> record = solve_and_check(problem, SolveOptions(time_limit=60))   # doctest: +SKIP
>>> record.status, record.objective, record.validated                # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from catchment.diagnose import Diagnosis, diagnose, diagnose_after_solve
from catchment.metrics import capital_cost, objective_terms
from catchment.plan import Plan
from catchment.problem import Problem
from catchment.settings import COMMAND_TIME_LIMIT_S, SolverSettings
from catchment.validate import validate_plan
from solvers.dispatch import solve

__all__ = ["SolveOptions", "SolveRecord", "solve_and_check", "diagnosis_summary"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SolveOptions(SolverSettings):
    """Solver settings shared by every solve of a batch.

    A :class:`~catchment.settings.SolverSettings` with the batch commands' time limit by default.

    Parameters
    ----------
    time_limit
        Wall-clock seconds per solve (default :data:`~catchment.settings.COMMAND_TIME_LIMIT_S`),
        or ``None``.
    solver, mip_gap, k_nearest, threads, contiguity, method
        As for :class:`~catchment.settings.SolverSettings`. On a Dask worker with one thread,
        one solver thread (``threads=1``) avoids oversubscribing the cores.
    workers
        Ignored: a batch's neighbourhood searches run in the worker's own process
        (``workers=1``), as the batch already spreads solves over the cores.

    Raises
    ------
    ValueError
        If an option is invalid (every problem listed).
    """

    time_limit: float | None = COMMAND_TIME_LIMIT_S


@dataclass(frozen=True)
class SolveRecord:
    """What one solve achieved, with figures recomputed from the problem and the plan.

    Attributes
    ----------
    status : str
        ``optimal``, ``feasible``, ``infeasible`` or ``unsolved`` (see
        :data:`catchment.plan.PLAN_STATUSES`).
    plan : Plan
        The plan (empty assignment when there is none).
    objective : float or None
        The objective recomputed by :func:`catchment.metrics.objective_terms`.
    gap : float or None
        The solver's relative gap.
    mean_travel_min, max_travel_min : float or None
        Population-weighted mean and longest travel to the hub (minutes).
    capital_cost : float or None
        Total capital cost of the chosen hub options (GBP).
    n_polysystems : int
    validated : bool or None
        True when the independent validator found no broken rule; ``None`` without a plan.
    violations : tuple of str
        The broken rules (empty for a valid plan).
    diagnosis : str
        One line saying why there is no plan (infeasible), else empty.
    proven_by : str
        ``"checks"`` when the cheap checks proved infeasibility before any solve,
        ``"solver"`` when the solver did, else empty.
    infeasibility : Diagnosis or None
        The whole diagnosis behind ``diagnosis`` when infeasibility was proven (what a
        single run prints), else ``None``.
    runtime_s : float
        Seconds for checks, solve and validation.
    """

    status: str
    plan: Plan
    objective: float | None = None
    gap: float | None = None
    mean_travel_min: float | None = None
    max_travel_min: float | None = None
    capital_cost: float | None = None
    n_polysystems: int = 0
    validated: bool | None = None
    violations: tuple[str, ...] = ()
    diagnosis: str = ""
    proven_by: str = ""
    runtime_s: float = 0.0
    infeasibility: Diagnosis | None = None

    @property
    def has_plan(self) -> bool:
        """True when there is a plan (valid or not)."""
        return self.plan.has_plan

    @property
    def usable(self) -> bool:
        """True when there is a plan and it passed the validator."""
        return self.plan.has_plan and bool(self.validated)

    @property
    def hubs(self) -> frozenset[str]:
        """Open hub site ids."""
        return frozenset(self.plan.hub_options)


def diagnosis_summary(diagnosis: Diagnosis, *, limit: int = 3) -> str:
    """One line for tables: the first proofs and the most useful relaxation.

    Parameters
    ----------
    diagnosis
        A :class:`~catchment.diagnose.Diagnosis`.
    limit
        Proofs shown; the rest are counted.

    Returns
    -------
    str
    """
    proofs = list(diagnosis.proofs)
    parts = [f.message for f in proofs[:limit]]
    if len(proofs) > limit:
        parts.append(f"and {len(proofs) - limit} more finding(s)")
    text = "; ".join(parts) or "no plan satisfies the rules"
    if diagnosis.suggestions:
        text += f" | relax: {diagnosis.suggestions[0].message}"
    return " ".join(text.split())


def solve_and_check(problem: Problem, options: SolveOptions, *, workers: int | None = 1) -> SolveRecord:
    """Check, solve, validate and summarise one problem.

    The one path from a problem to a checked plan: the command line's ``run`` and ``demo``
    and every batch study (sweep, shortlist, national, phasing) go through it.

    Parameters
    ----------
    problem
        The problem.
    options
        Solver settings.
    workers
        Processes of a neighbourhood search (see :func:`solvers.mip.solve`): 1 in a batch,
        which already spreads solves over the cores; a single run passes its scenario's.

    Returns
    -------
    SolveRecord
        ``infeasible`` with a one-line diagnosis when the cheap checks or the solver prove
        that no plan exists; ``unsolved`` when the time limit passed without a plan.
    """
    started = time.perf_counter()
    found = diagnose(problem)
    if not found.feasible_possible:
        return SolveRecord(
            status="infeasible",
            plan=Plan({}, {}, "infeasible", solver="checks"),
            diagnosis=diagnosis_summary(found),
            proven_by="checks",
            runtime_s=time.perf_counter() - started,
            infeasibility=found,
        )
    plan = solve(problem, **{**options.solve_keywords(), "workers": workers})
    if not plan.has_plan:
        diagnosis, proven_by, infeasibility = "", "", None
        if plan.status == "infeasible":
            infeasibility = diagnose_after_solve(problem)
            diagnosis, proven_by = diagnosis_summary(infeasibility), "solver"
        else:
            diagnosis = f"no plan found within the time limit ({options.time_limit} s), infeasibility not proven"
        return SolveRecord(
            status=plan.status,
            plan=plan,
            gap=plan.gap,
            diagnosis=diagnosis,
            proven_by=proven_by,
            runtime_s=time.perf_counter() - started,
            infeasibility=infeasibility,
        )
    terms = objective_terms(problem, plan)
    violations = tuple(str(v) for v in validate_plan(problem, plan))
    if violations:
        logger.warning("a %s plan breaks %d rule(s): %s", plan.solver, len(violations), violations[0])
    return SolveRecord(
        status=plan.status,
        plan=plan,
        objective=_finite(terms["objective"]),
        gap=plan.gap,
        mean_travel_min=_finite(terms["mean_travel"]),
        max_travel_min=_finite(terms["max_travel"]),
        capital_cost=capital_cost(problem, plan),
        n_polysystems=len(plan.hub_options),
        validated=not violations,
        violations=violations,
        runtime_s=time.perf_counter() - started,
    )


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
