"""The fast heuristic: valid plans (checked by the independent validator), never claimed optimal."""

from __future__ import annotations

import numpy as np
import pytest

from catchment.metrics import objective_terms
from catchment.problem import HubOption, Objective, Problem, Rules
from catchment.validate import check_plan, validate_plan
from solvers import solve, solve_heuristic
from solvers.heuristic import repair_plan

TRAVEL = [[1, 10, 4], [2, 8, 1], [8, 2, 1], [9, 1, 4]]


def base(*, population=(10, 10, 10, 10), **kwargs) -> Problem:
    rules = kwargs.pop("rules", Rules(floor=0))
    return Problem.from_arrays(
        unit_ids=["A", "B", "C", "D"],
        population=population,
        site_ids=["S1", "S2", "S3"],
        travel_min=TRAVEL,
        rules=rules,
        **kwargs,
    )


def geometric(n: int, m: int, *, seed: int, floor: float, **kwargs) -> Problem:
    rng = np.random.default_rng(seed)
    units, sites = rng.uniform(0, 30, (n, 2)), rng.uniform(0, 30, (m, 2))
    travel = 2 + 2.5 * np.linalg.norm(units[:, None] - sites[None], axis=2)
    rules = kwargs.pop("rules", Rules(floor=floor))
    return Problem.from_arrays(
        unit_ids=[f"U{i}" for i in range(n)],
        population=rng.integers(1000, 5000, n),
        site_ids=[f"S{j}" for j in range(m)],
        travel_min=travel,
        rules=rules,
        **kwargs,
    )


def grid(rows: int, cols: int, n_sites: int, *, seed: int, floor: float) -> Problem:
    rng = np.random.default_rng(seed)
    xy = np.array([(r, c) for r in range(rows) for c in range(cols)], dtype=float)
    adjacency = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    adjacency += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    hosts = rng.choice(rows * cols, n_sites, replace=False)
    travel = (1 + 3 * np.linalg.norm(xy[:, None] - xy[hosts][None], axis=2)) * rng.uniform(
        0.7, 1.3, (rows * cols, n_sites)
    )
    return Problem.from_arrays(
        unit_ids=[f"E{i:03d}" for i in range(rows * cols)],
        population=rng.integers(1000, 2500, rows * cols),
        site_ids=[f"S{j}" for j in range(n_sites)],
        travel_min=travel,
        unit_type="lsoa",
        adjacency=adjacency,
        site_unit=[int(h) for h in hosts],
        rules=Rules(floor=floor, contiguity=True),
    )


def checked(problem: Problem, **kwargs):
    plan = solve_heuristic(problem, **kwargs)
    assert plan is not None
    check_plan(problem, plan)
    assert plan.status == "feasible" and not plan.proven_optimal
    assert plan.solver == "heuristic"
    assert plan.objective == pytest.approx(objective_terms(problem, plan)["objective"])
    return plan


@pytest.mark.parametrize(
    "rules",
    [
        Rules(floor=0),
        Rules(floor=20),
        Rules(floor=30),
        Rules(floor=30, waivers={"D": "island practice"}),
        Rules(floor=0, max_polysystems=2),
        Rules(floor=0, min_polysystems=3),
        Rules(floor=0, ceiling=20),
        Rules(floor=30, max_travel_min=4),
    ],
)
def test_valid_on_hand_instances(rules):
    plan = checked(base(rules=rules))
    exact = solve(base(rules=rules))
    assert plan.objective >= exact.objective - 1e-9


def test_finds_the_hand_optima():
    assert checked(base(rules=Rules(floor=20))).objective == pytest.approx(1.5)
    waived = checked(base(rules=Rules(floor=30, waivers={"D": "island practice"})))
    assert dict(waived.assignment) == {"A": "S3", "B": "S3", "C": "S3", "D": "S2"}


def test_required_excluded_groups_and_options():
    required = checked(base(rules=Rules(floor=0, max_polysystems=1), site_status=["candidate", "required", "excluded"]))
    assert required.hubs == ("S2",)
    groups = checked(
        base(population=(10, 20, 10, 10), rules=Rules(floor=0, respect_groups=True), groups=["G1", "G1", "G2", "G2"])
    )
    for site in groups.hubs:
        assert len({"G1" if u in "AB" else "G2" for u in groups.units_of(site)}) == 1
    options = [
        HubOption("S1", "reuse", 0.0),
        HubOption("S2", "reuse", 0.0),
        HubOption("S3", "reuse", 0.0, capacity=30),
        HubOption("S3", "new_build", 4e6),
    ]
    capital = checked(
        base(
            rules=Rules(floor=0, max_polysystems=1, budget=3e6),
            options=options,
            objective=Objective(weights={"mean_travel": 1.0, "capital": 0.5}),
        )
    )
    assert dict(capital.hub_options) == {"S1": "reuse"}


def test_none_when_no_plan_exists():
    assert solve_heuristic(base(rules=Rules(floor=50))) is None
    assert solve_heuristic(base(rules=Rules(floor=0, ceiling=30, max_polysystems=1))) is None


def test_contiguous_plans_on_a_grid():
    problem = grid(7, 7, 7, seed=2, floor=15_000)
    plan = checked(problem)
    assert validate_plan(problem, plan) == []
    exact = solve(problem)
    assert exact.objective <= plan.objective + 1e-9


def test_close_to_the_optimum_on_a_realistic_instance():
    problem = geometric(80, 15, seed=5, floor=40_000)
    plan = checked(problem)
    exact = solve(problem)
    assert exact.status == "optimal"
    assert exact.objective - 1e-9 <= plan.objective <= 1.05 * exact.objective


def test_other_objectives():
    problem = geometric(
        40,
        8,
        seed=6,
        floor=20_000,
        deprivation=np.linspace(5, 60, 40),
        objective=Objective(weights={"max_travel": 1.0, "deprivation_travel": 0.5}),
    )
    checked(problem)
    lex = geometric(40, 8, seed=6, floor=20_000, objective=Objective(lexicographic=("max_travel", "mean_travel")))
    plan = checked(lex)
    assert plan.objective == pytest.approx(plan.stats["term_values"]["max_travel"])


def test_deterministic():
    problem = geometric(50, 10, seed=7, floor=30_000)
    assert solve_heuristic(problem).assignment == solve_heuristic(problem).assignment


def test_repair_plan_reconnects_and_refills():
    problem = grid(6, 6, 5, seed=4, floor=12_000)
    nearest = np.argmin(np.where(np.isfinite(problem.travel_min), problem.travel_min, np.inf), axis=1)
    for j, host in enumerate(problem.site_unit):
        nearest[host] = j
    repaired = repair_plan(problem, nearest)
    assert repaired is not None
    site_of_unit, options = repaired
    from catchment.plan import Plan

    plan = Plan(
        {problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(site_of_unit)},
        {problem.site_ids[j]: o for j, o in options.items()},
        status="feasible",
    )
    assert validate_plan(problem, plan) == []


def test_time_limit_is_validated():
    with pytest.raises(ValueError, match="time_limit"):
        solve_heuristic(base(), time_limit=-1)
