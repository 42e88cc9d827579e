"""Properties on small random instances, against a brute-force oracle.

The oracle enumerates every assignment of units to usable sites and every option of every
open hub, keeps the plans the independent validator accepts and scores them with
:func:`catchment.metrics.objective_terms`: it shares no code with the solvers. Then:

* every plan a solver returns passes the validator, for both solvers and the heuristic;
* a plan the MIP calls optimal has the oracle's optimal objective (within ``mip_gap``);
* the MIP says infeasible exactly when the oracle finds no valid plan;
* the MIP objective is never worse than the heuristic's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catchment.metrics import objective_terms
from catchment.plan import Plan
from catchment.problem import HubOption, Objective, Problem, Rules
from catchment.validate import validate_plan
from solvers import solve, solve_heuristic

SETTINGS = settings(
    max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
OBJECTIVES = [
    Objective(weights={"mean_travel": 1.0}),
    Objective(weights={"mean_travel": 1.0, "capital": 0.4}),
    Objective(weights={"max_travel": 1.0, "mean_travel": 0.05}),
    Objective(weights={"deprivation_travel": 1.0, "mean_travel": 0.5}),
    Objective(lexicographic=("capital", "mean_travel")),
]


@st.composite
def practice_instances(draw) -> Problem:
    """Up to 5 units and 3 sites; each rule is switched on now and then, so most are feasible."""
    n = draw(st.integers(2, 5))
    m = draw(st.integers(1, 3))
    sometimes = st.sampled_from([False, False, True])
    population = draw(st.lists(st.integers(1, 20), min_size=n, max_size=n))
    travel = [
        [math.inf if draw(st.integers(0, 9)) == 0 else float(draw(st.integers(1, 15))) for _ in range(m)]
        for _ in range(n)
    ]
    floor = draw(st.sampled_from([0, 10, 10, 20]))
    ceiling = draw(st.sampled_from([30, 45])) if draw(sometimes) else None
    low = draw(st.integers(1, m)) if draw(sometimes) else None
    high = draw(st.integers(low or 1, m)) if draw(sometimes) else None
    status = draw(st.lists(st.sampled_from(["candidate"] * 4 + ["required", "excluded"]), min_size=m, max_size=m))
    options = []
    for j in range(m):
        capacity = draw(st.sampled_from([20.0, 35.0])) if draw(sometimes) else None
        options.append(HubOption(f"S{j}", "reuse", draw(st.sampled_from([0.0, 0.0, 1e6])), capacity))
        if draw(sometimes):
            options.append(HubOption(f"S{j}", "new_build", draw(st.sampled_from([2e6, 4e6])), None))
    groups = draw(st.lists(st.sampled_from(["G1", "G2"]), min_size=n, max_size=n)) if draw(sometimes) else None
    rules = Rules(
        floor=floor,
        ceiling=ceiling,
        min_polysystems=low,
        max_polysystems=high,
        max_travel_min=9.0 if draw(sometimes) else None,
        budget=draw(st.sampled_from([1e6, 3e6])) if draw(sometimes) else None,
        respect_groups=groups is not None,
        waivers={f"U{i}": "test waiver" for i in range(n) if draw(st.integers(0, 4)) == 0},
    )
    return Problem.from_arrays(
        unit_ids=[f"U{i}" for i in range(n)],
        population=population,
        site_ids=[f"S{j}" for j in range(m)],
        travel_min=travel,
        site_status=status,
        options=options,
        rules=rules,
        groups=groups,
        deprivation=draw(st.lists(st.floats(1, 50), min_size=n, max_size=n)),
        objective=draw(st.sampled_from(OBJECTIVES)),
    )


@st.composite
def area_instances(draw) -> Problem:
    """Areas on a 2 x c grid (c = 2 or 3), hubs hosted in areas or not, contiguity required."""
    cols = draw(st.integers(2, 3))
    n = 2 * cols
    adjacency = [(c, c + 1) for c in range(cols - 1)] + [(cols + c, cols + c + 1) for c in range(cols - 1)]
    adjacency += [(c, cols + c) for c in range(cols)]
    m = draw(st.integers(1, 3))
    hosts = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m, unique=True))
    travel = [[float(draw(st.integers(0, 12))) for _ in range(m)] for _ in range(n)]
    groups = [f"G{c * 2 // cols}" for _ in range(2) for c in range(cols)] if draw(st.booleans()) else None
    return Problem.from_arrays(
        unit_ids=[f"E{i}" for i in range(n)],
        population=draw(st.lists(st.integers(1, 10), min_size=n, max_size=n)),
        site_ids=[f"S{j}" for j in range(m)],
        travel_min=travel,
        unit_type="lsoa",
        adjacency=adjacency,
        site_unit=hosts if draw(st.booleans()) else None,
        groups=groups,
        rules=Rules(
            floor=draw(st.sampled_from([0, 8, 15])),
            contiguity=True,
            respect_groups=groups is not None,
            max_polysystems=draw(st.one_of(st.none(), st.integers(1, m))),
        ),
    )


def _key(problem: Problem, plan: Plan) -> tuple[float, ...]:
    terms = objective_terms(problem, plan)
    if problem.objective.lexicographic is not None:
        return tuple(terms[t] for t in problem.objective.lexicographic)
    return (terms["objective"],)


def valid_plans(problem: Problem) -> Iterator[tuple[tuple[float, ...], Plan]]:
    """Every valid plan by brute force, with its objective key."""
    usable = [s for s, st_ in zip(problem.site_ids, problem.site_status, strict=True) if st_ != "excluded"]
    for assignment in itertools.product(usable, repeat=problem.n_units):
        hubs = sorted(set(assignment))
        for chosen in itertools.product(*(problem.options_of(s) for s in hubs)):
            plan = Plan(
                dict(zip(problem.unit_ids, assignment, strict=True)),
                {o.site_id: o.option for o in chosen},
                status="feasible",
            )
            if not validate_plan(problem, plan):
                yield _key(problem, plan), plan


def best_valid_plan(problem: Problem) -> tuple[tuple[float, ...], Plan] | None:
    """The best valid plan by brute force and its objective key, or None if no plan is valid."""
    best: tuple[tuple[float, ...], Plan] | None = None
    for key, plan in valid_plans(problem):
        if best is None or key < best[0]:
            best = (key, plan)
    return best


def oracle(problem: Problem) -> tuple[float, ...] | None:
    """Best objective over every valid plan (brute force), or None if none is valid."""
    best = best_valid_plan(problem)
    return None if best is None else best[0]


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """a is no worse than b, within the solver's relative gap, term by term in order."""
    for x, y in zip(a, b, strict=False):
        if x < y - 1e-6:
            return True
        if x > y + 1e-4 * abs(y) + 1e-6:
            return False
    return True


def _check(problem: Problem, **kwargs) -> None:
    best = oracle(problem)
    heuristic = solve_heuristic(problem, time_limit=0.2)
    if heuristic is not None:
        assert validate_plan(problem, heuristic) == []
        assert best is not None and _close(best, _key(problem, heuristic))
    for solver in ("highs", "cbc"):
        plan = solve(problem, solver=solver, **kwargs)
        if best is None:
            assert plan.status == "infeasible", (solver, plan.notes)
            assert not plan.has_plan
            continue
        assert plan.status == "optimal", (solver, plan.status, plan.notes)
        assert validate_plan(problem, plan) == [], solver
        key = _key(problem, plan)
        assert _close(key, best) and _close(best, key), (solver, key, best)
        if heuristic is not None:
            assert _close(key, _key(problem, heuristic)), (solver, key, _key(problem, heuristic))


@SETTINGS
@given(practice_instances())
def test_practice_plans_are_valid_and_optimal(problem):
    _check(problem)


@SETTINGS
@given(area_instances(), st.sampled_from(["cuts", "flow"]))
def test_contiguous_plans_are_valid_and_optimal(problem, method):
    _check(problem, contiguity=method)
