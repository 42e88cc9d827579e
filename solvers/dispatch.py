"""The one-call entry point: one MIP, or the neighbourhood search for large problems.

:func:`solve` picks the method (see :data:`catchment.settings.METHODS`) and calls
:class:`solvers.mip.PolysystemModel` or :func:`solvers.lns.solve_lns`; it sits above both
so that neither imports the other's caller.
"""

from __future__ import annotations

from catchment.plan import Plan
from catchment.problem import Problem
from catchment.settings import DEFAULTS, check_solver_options
from solvers.lns import LNS_MIN_UNITS, lns_unsupported, solve_lns
from solvers.mip import PolysystemModel

__all__ = ["solve"]


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
        Nearest-site rule (see :class:`~solvers.mip.PolysystemModel`); ``None`` = automatic.
    warm_start
        Start from the heuristic's plan.
    threads
        Solver threads.
    msg
        Forward the solver log to logging.
    contiguity
        ``"cuts"`` (default) or ``"flow"``: how contiguity is imposed when the rules ask.
    method
        ``"mip"``: one MIP (:class:`~solvers.mip.PolysystemModel`); ``"lns"``: large-neighbourhood
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
    check_solver_options(
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        k_nearest=k_nearest,
        threads=threads,
        contiguity=contiguity,
        method=method,
        workers=workers,
    )

    if method == "lns" or (method == "auto" and problem.n_units >= LNS_MIN_UNITS and lns_unsupported(problem) is None):
        return solve_lns(
            problem,
            solver=solver,
            time_limit=time_limit,
            mip_gap=mip_gap,
            k_nearest=k_nearest,
            threads=threads,
            msg=msg,
            contiguity=contiguity,
            workers=workers,
            start=start,
        )
    return PolysystemModel.from_problem(problem, k_nearest=k_nearest, contiguity=contiguity).solve(
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        warm_start=warm_start,
        threads=threads,
        msg=msg,
        start=start,
    )
