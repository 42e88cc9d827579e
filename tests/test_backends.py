"""The solver layer (:func:`solvers.backends.run_solver`) on models small enough to check by hand."""

from __future__ import annotations

import pulp
import pytest

from solvers.backends import run_solver


def _three_binaries() -> pulp.LpProblem:
    """min x1 + 2 x2 + 3 x3 over binaries with at least two of them: the optimum is 3."""
    prob = pulp.LpProblem("three", pulp.LpMinimize)
    x = [prob.add_variable(f"x{i}", cat=pulp.LpBinary) for i in range(3)]
    prob += pulp.lpSum((i + 1) * v for i, v in enumerate(x))
    prob += pulp.lpSum(x) >= 2, "two"
    return prob


@pytest.mark.parametrize(
    ("cutoff", "status", "objective"), [(None, "optimal", 3.0), (3.5, "optimal", 3.0), (2.9, "infeasible", None)]
)
def test_a_cutoff_looks_only_for_plans_below_it(cutoff, status, objective):
    # below a cutoff of 2.9 there is no plan, which the solver reports as infeasible
    outcome = run_solver(
        _three_binaries(),
        solver="highs",
        time_limit=60,
        mip_gap=0.0,
        threads=1,
        msg=False,
        warm_start=False,
        cutoff=cutoff,
    )
    assert (outcome.status, outcome.objective) == (status, objective)


def test_solves_asking_for_other_threads_in_one_process_are_solved():
    # HiGHS keeps one thread scheduler per process: a solve asking for another number of
    # threads than the scheduler has used to stop at once, read as "unsolved"
    for threads in (2, 1, 2):
        outcome = run_solver(
            _three_binaries(), solver="highs", time_limit=60, mip_gap=0.0, threads=threads, msg=False, warm_start=False
        )
        assert (outcome.status, outcome.objective) == ("optimal", 3.0), threads
