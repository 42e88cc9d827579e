"""The polysystem MIP model: hand-solvable instances with known optima, for both solvers.

The base instance (four units of 10 people, three sites; minutes):

======  ====  ====  ====
unit     S1    S2    S3
======  ====  ====  ====
A         1    10     4
B         2     8     1
C         8     2     1
D         9     1     4
======  ====  ====  ====

Hand-derived optima (total population 40):

* floor 0: every unit to its nearest site, 3 hubs, mean travel 4/40*10 = 1.0;
* at most 2 hubs: {S1: A, B; S2: C, D} = 6 -> 1.5 (S1+S3 and S2+S3 both give 7);
* one hub: S3 = 10 -> 2.5 (S1 = 20, S2 = 21);
* floor 20: again {S1: A, B; S2: C, D} -> 1.5; floor 30: one hub, S3 -> 2.5;
* floor 30 with D waived: {S3: A, B, C; S2: D} = 6 + 1 -> 1.75.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from catchment.plan import Plan
from catchment.problem import HubOption, Objective, Problem, Rules
from catchment.validate import check_plan, validate_plan
from solvers import PolysystemModel, check_solver_options, solve, solver_available
from solvers.backends import _status

SOLVERS = ["highs", "cbc"]
TRAVEL = [[1, 10, 4], [2, 8, 1], [8, 2, 1], [9, 1, 4]]


def base(*, population=(10, 10, 10, 10), travel=TRAVEL, **kwargs) -> Problem:
    rules = kwargs.pop("rules", Rules(floor=0))
    return Problem.from_arrays(
        unit_ids=["A", "B", "C", "D"],
        population=population,
        site_ids=["S1", "S2", "S3"],
        travel_min=travel,
        rules=rules,
        **kwargs,
    )


def solved(problem: Problem, solver: str, **kwargs) -> Plan:
    plan = solve(problem, solver=solver, **kwargs)
    if plan.has_plan:
        check_plan(problem, plan)
    return plan


@pytest.fixture(params=SOLVERS)
def solver(request) -> str:
    assert solver_available(request.param), f"{request.param} must be installed"
    return request.param


# ---------------------------------------------------------------------------- known optima
def test_nearest_site_without_floor(solver):
    plan = solved(base(), solver)
    assert plan.status == "optimal"
    assert dict(plan.assignment) == {"A": "S1", "B": "S3", "C": "S3", "D": "S2"}
    assert plan.objective == pytest.approx(1.0)
    assert plan.hubs == ("S1", "S2", "S3")
    assert plan.solver == solver


def test_max_polysystems(solver):
    plan = solved(base(rules=Rules(floor=0, max_polysystems=2)), solver)
    assert plan.status == "optimal"
    assert dict(plan.assignment) == {"A": "S1", "B": "S1", "C": "S2", "D": "S2"}
    assert plan.objective == pytest.approx(1.5)


def test_single_hub(solver):
    plan = solved(base(rules=Rules(floor=0, max_polysystems=1)), solver)
    assert set(plan.assignment.values()) == {"S3"}
    assert plan.objective == pytest.approx(2.5)


def test_floor_splits_into_pairs(solver):
    plan = solved(base(rules=Rules(floor=20)), solver)
    assert dict(plan.assignment) == {"A": "S1", "B": "S1", "C": "S2", "D": "S2"}
    assert plan.objective == pytest.approx(1.5)


def test_floor_forces_one_polysystem(solver):
    plan = solved(base(rules=Rules(floor=30)), solver)
    assert plan.hubs == ("S3",)
    assert plan.objective == pytest.approx(2.5)


def test_waiver_lets_a_small_polysystem_stand(solver):
    plan = solved(base(rules=Rules(floor=30, waivers={"D": "rural practice"})), solver)
    assert dict(plan.assignment) == {"A": "S3", "B": "S3", "C": "S3", "D": "S2"}
    assert plan.objective == pytest.approx(1.75)


def test_min_polysystems(solver):
    plan = solved(base(rules=Rules(floor=10, min_polysystems=3, max_polysystems=3)), solver)
    assert plan.status == "optimal"
    assert len(plan.hubs) == 3
    assert plan.objective == pytest.approx(1.0)


def test_ceiling_infeasible_with_one_hub(solver):
    plan = solved(base(rules=Rules(floor=0, ceiling=30, max_polysystems=1)), solver)
    assert plan.status == "infeasible"
    assert not plan.has_plan
    assert plan.objective is None


def test_ceiling_binds(solver):
    # B has 20 people: B and C would share S3 (30 people); a ceiling of 25 sends C to S2
    free = solved(base(population=(10, 20, 10, 10)), solver)
    assert free.assignment["C"] == "S3" and free.objective == pytest.approx(50 / 50)
    plan = solved(base(population=(10, 20, 10, 10), rules=Rules(floor=0, ceiling=25)), solver)
    assert dict(plan.assignment) == {"A": "S1", "B": "S3", "C": "S2", "D": "S2"}
    assert plan.objective == pytest.approx(60 / 50)


def test_required_site(solver):
    problem = base(rules=Rules(floor=0, max_polysystems=1), site_status=["candidate", "required", "candidate"])
    plan = solved(problem, solver)
    assert plan.hubs == ("S2",)
    assert plan.objective == pytest.approx(21 / 4)


def test_excluded_site(solver):
    problem = base(rules=Rules(floor=0, max_polysystems=1), site_status=["candidate", "candidate", "excluded"])
    plan = solved(problem, solver)
    assert plan.hubs == ("S1",)
    assert plan.objective == pytest.approx(5.0)


def test_infeasible_floor(solver):
    plan = solved(base(rules=Rules(floor=50)), solver)
    assert plan.status == "infeasible"
    assert plan.assignment == {}
    assert plan.status_label.startswith("infeasible")


def test_max_travel_rule(solver):
    assert solved(base(rules=Rules(floor=30, max_travel_min=4)), solver).hubs == ("S3",)
    assert solved(base(rules=Rules(floor=30, max_travel_min=3.5)), solver).status == "infeasible"


def _options(s3_new_build: float) -> list[HubOption]:
    return [
        HubOption("S1", "reuse", 0.0),
        HubOption("S2", "reuse", 0.0),
        HubOption("S3", "reuse", 0.0, capacity=30),
        HubOption("S3", "new_build", s3_new_build, capacity=None),
    ]


@pytest.mark.parametrize(
    ("capital_weight", "budget", "hub", "option", "objective"),
    [
        (0.5, None, "S3", "new_build", 2.5 + 0.5 * 4),  # S3 must be new-built to serve 40 > 30
        (1.0, None, "S1", "reuse", 5.0),  # GBP 4m at weight 1 costs more than it saves
        (0.5, 3e6, "S1", "reuse", 5.0),  # the budget rules the new build out
    ],
)
def test_options_capacity_capital_budget(solver, capital_weight, budget, hub, option, objective):
    problem = base(
        rules=Rules(floor=0, max_polysystems=1, budget=budget),
        options=_options(4e6),
        objective=Objective(weights={"mean_travel": 1.0, "capital": capital_weight}),
    )
    plan = solved(problem, solver)
    assert dict(plan.hub_options) == {hub: option}
    assert plan.objective == pytest.approx(objective)


def test_max_travel_objective(solver):
    problem = base(rules=Rules(floor=0, max_polysystems=1), objective=Objective(weights={"max_travel": 1.0}))
    plan = solved(problem, solver)
    assert plan.hubs == ("S3",)
    assert plan.objective == pytest.approx(4.0)


def test_deprivation_objective_changes_the_choice(solver):
    # A is very deprived: weights p*d = 500, 10, 10, 10; S1 costs (500+20+80+90)/530, S3 (2000+10+10+40)/530
    rules = Rules(floor=0, max_polysystems=1)
    deprivation = [50.0, 1.0, 1.0, 1.0]
    plain = solved(base(rules=rules, deprivation=deprivation), solver)
    assert plain.hubs == ("S3",)
    weighted = solved(
        base(rules=rules, deprivation=deprivation, objective=Objective(weights={"deprivation_travel": 1.0})), solver
    )
    assert weighted.hubs == ("S1",)
    assert weighted.objective == pytest.approx(690 / 530)
    assert weighted.stats["term_values"]["mean_travel"] == pytest.approx(5.0)


def test_lexicographic_objective(solver):
    # S3's only option costs GBP 1m: capital first rules it out, mean travel then picks S1 over S2
    options = [HubOption("S1", "reuse", 0.0), HubOption("S2", "reuse", 0.0), HubOption("S3", "refurbish", 1e6)]
    rules = Rules(floor=0, max_polysystems=1)
    assert solved(base(rules=rules, options=options), solver).hubs == ("S3",)
    problem = base(rules=rules, options=options, objective=Objective(lexicographic=("capital", "mean_travel")))
    plan = solved(problem, solver)
    assert plan.status == "optimal"
    assert plan.hubs == ("S1",)
    assert plan.objective == pytest.approx(0.0)  # the primary term
    assert plan.stats["term_values"]["mean_travel"] == pytest.approx(5.0)
    assert [s["term"] for s in plan.stats["stages"]] == ["capital", "mean_travel"]


def test_groups_split_a_natural_polysystem(solver):
    # B and C would share S3; with groups {A, B} and {C, D} S3 serves one group only.
    # B has 20 people, so S3 serves B: A->S1 (10), B->S3 (20), C->S2 (20), D->S2 (10) = 60/50
    problem = base(
        population=(10, 20, 10, 10), rules=Rules(floor=0, respect_groups=True), groups=["G1", "G1", "G2", "G2"]
    )
    plan = solved(problem, solver)
    assert dict(plan.assignment) == {"A": "S1", "B": "S3", "C": "S2", "D": "S2"}
    assert plan.objective == pytest.approx(1.2)
    one = base(rules=Rules(floor=0, max_polysystems=1, respect_groups=True), groups=["G1", "G1", "G2", "G2"])
    assert solved(one, solver).status == "infeasible"


def test_host_unit_joins_its_own_hub(solver):
    # S3 stands in A's area: if S3 opens, A must be in its polysystem
    problem = base(rules=Rules(floor=0, max_polysystems=2), site_unit=[None, None, 0])
    plan = solved(problem, solver)
    if "S3" in plan.hub_options:
        assert plan.assignment["A"] == "S3"
    assert plan.objective == pytest.approx(1.5)


# ---------------------------------------------------------------------------- contiguity
def path_problem(**rules) -> Problem:
    """Four areas in a row, hubs in the two end areas; the nearest hub alternates."""
    return Problem.from_arrays(
        unit_ids=["P0", "P1", "P2", "P3"],
        population=[1, 1, 1, 1],
        site_ids=["Sa", "Sb"],
        travel_min=[[0, 10], [5, 1], [2, 5], [10, 0]],
        unit_type="lsoa",
        adjacency=[(0, 1), (1, 2), (2, 3)],
        site_unit=[0, 3],
        rules=Rules(floor=0, **rules),
    )


@pytest.mark.parametrize("method", ["cuts", "flow"])
def test_contiguity_on_a_path(solver, method):
    loose = solved(path_problem(), solver)
    assert dict(loose.assignment) == {"P0": "Sa", "P1": "Sb", "P2": "Sa", "P3": "Sb"}
    assert loose.objective == pytest.approx(0.75)
    plan = solved(path_problem(contiguity=True), solver, contiguity=method)
    assert plan.status == "optimal"
    assert dict(plan.assignment) == {"P0": "Sa", "P1": "Sb", "P2": "Sb", "P3": "Sb"}
    assert plan.objective == pytest.approx(1.5)
    assert plan.stats["contiguity"] == method


def grid_problem(
    rows: int, cols: int, n_sites: int, *, seed: int, floor: float, hosted: bool = True, noise: float = 0.0
) -> Problem:
    rng = np.random.default_rng(seed)
    xy = np.array([(r, c) for r in range(rows) for c in range(cols)], dtype=float)
    adjacency = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    adjacency += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    hosts = rng.choice(rows * cols, n_sites, replace=False)
    travel = 1 + 3 * np.linalg.norm(xy[:, None] - xy[hosts][None], axis=2)
    travel *= rng.uniform(1 - noise, 1 + noise, travel.shape)
    return Problem.from_arrays(
        unit_ids=[f"E{i:03d}" for i in range(rows * cols)],
        population=rng.integers(1000, 2500, rows * cols),
        site_ids=[f"S{j}" for j in range(n_sites)],
        travel_min=travel,
        unit_type="lsoa",
        adjacency=adjacency,
        site_unit=[int(h) for h in hosts] if hosted else None,
        rules=Rules(floor=floor, contiguity=True),
    )


def bfs_connected(problem: Problem, units: list[str]) -> bool:
    index = {u: problem.unit_index(u) for u in units}
    members = set(index.values())
    nbrs: dict[int, list[int]] = {i: [] for i in members}
    for a, b in problem.adjacency:
        if a in members and b in members:
            nbrs[a].append(b)
            nbrs[b].append(a)
    start = next(iter(members))
    seen, stack = {start}, [start]
    while stack:
        for b in nbrs[stack.pop()]:
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen == members


@pytest.mark.parametrize(("hosted", "noise"), [(True, 0.0), (True, 0.4), (False, 0.3)])
def test_contiguity_on_grids(hosted, noise):
    problem = grid_problem(6, 6, 6, seed=3, floor=12_000, hosted=hosted, noise=noise)
    results = {}
    for solver in SOLVERS:
        for method in ("cuts", "flow"):
            plan = solved(problem, solver, contiguity=method)
            assert plan.status == "optimal", (solver, method, plan.notes)
            for site in plan.hubs:
                assert bfs_connected(problem, list(plan.units_of(site))), (solver, method, site)
            results[(solver, method)] = plan.objective
    best = min(results.values())
    assert all(v == pytest.approx(best, rel=2e-4) for v in results.values()), results


def _without_contiguity(problem: Problem) -> Problem:
    return Problem.from_arrays(
        unit_ids=problem.unit_ids,
        population=problem.population,
        site_ids=problem.site_ids,
        travel_min=problem.travel_min,
        unit_type="lsoa",
        adjacency=problem.adjacency,
        site_unit=problem.site_unit,
        rules=Rules(floor=problem.rules.floor),
    )


def test_separator_cuts_restore_contiguity():
    problem = grid_problem(6, 6, 6, seed=1, floor=12_000, noise=0.4)
    free = solved(_without_contiguity(problem), "highs")
    assert any(not bfs_connected(problem, list(free.units_of(s))) for s in free.hubs), "noise should break contiguity"
    plan = solved(problem, "highs")
    assert plan.status == "optimal"
    assert 1 < plan.stats["rounds"] <= 3 and plan.stats["contiguity_cuts"] > 0
    assert plan.stats["contiguity"] == "cuts"
    assert all(bfs_connected(problem, list(plan.units_of(s))) for s in plan.hubs)
    assert plan.objective >= free.objective - 1e-9


def test_cut_rounds_switch_to_flow_when_contiguity_keeps_binding():
    problem = grid_problem(6, 6, 6, seed=7, floor=12_000, noise=0.6)
    plan = solved(problem, "highs")
    assert plan.status == "optimal"
    assert plan.stats["contiguity"] == "cuts+flow"
    assert any("switched to flow" in n for n in plan.notes)
    flow = solved(problem, "highs", contiguity="flow")
    assert plan.objective == pytest.approx(flow.objective, rel=2e-4)
    assert all(bfs_connected(problem, list(plan.units_of(s))) for s in plan.hubs)


# ---------------------------------------------------------------------------- status, gaps, pruning
def geometric(n: int, m: int, *, seed: int, floor: float) -> Problem:
    rng = np.random.default_rng(seed)
    units, sites = rng.uniform(0, 30, (n, 2)), rng.uniform(0, 30, (m, 2))
    travel = 2 + 2.5 * np.linalg.norm(units[:, None] - sites[None], axis=2)
    return Problem.from_arrays(
        unit_ids=[f"U{i}" for i in range(n)],
        population=rng.integers(1000, 5000, n),
        site_ids=[f"S{j}" for j in range(m)],
        travel_min=travel,
        rules=Rules(floor=floor),
    )


def test_time_limited_answer_is_feasible_not_optimal():
    problem = geometric(200, 30, seed=0, floor=50_000)  # about 20 s to prove optimal with HiGHS
    plan = solved(problem, "highs", time_limit=1.0)
    assert plan.status == "feasible"
    assert not plan.proven_optimal
    assert plan.status_label == "feasible, not proven optimal"
    # on a busy machine HiGHS may stop before its root relaxation gives a bound: then none is claimed
    if plan.bound is None:
        assert plan.gap is None
    else:
        assert plan.bound <= plan.objective and plan.gap is not None and plan.gap > plan.mip_gap
    assert any("time limit" in n for n in plan.notes)
    assert plan.stats["warm_start"] == "used"
    assert plan.objective <= plan.stats["heuristic_objective"] + 1e-9


def test_cbc_time_limit_reports_a_bound():
    problem = geometric(200, 30, seed=0, floor=50_000)
    plan = solved(problem, "cbc", time_limit=2.0)
    assert plan.status == "feasible"
    assert plan.bound is not None and plan.gap is not None and plan.gap > 0


class _FakeProblem:
    def __init__(self, status: int, sol_status: int) -> None:
        self.status, self.sol_status = status, sol_status


@pytest.mark.parametrize(
    ("status", "sol_status", "expected"),
    [
        (1, 1, "optimal"),
        (1, 2, "feasible"),  # PuLP says "Optimal" after a time limit: sol_status tells the truth
        (-1, -1, "infeasible"),
        (-1, 0, "infeasible"),
        (0, 0, "unsolved"),
        (-3, 0, "unsolved"),
    ],
)
def test_status_mapping(status, sol_status, expected):
    assert _status(_FakeProblem(status, sol_status)) == expected


def test_warm_start_is_used_and_can_be_switched_off(solver):
    problem = geometric(30, 8, seed=1, floor=20_000)
    warm = solved(problem, solver)
    assert warm.stats["warm_start"] == "used"
    assert warm.stats["heuristic_objective"] >= warm.objective - 1e-9
    cold = solved(problem, solver, warm_start=False)
    assert cold.stats["warm_start"] == "none"
    assert cold.objective == pytest.approx(warm.objective, rel=2e-4)


def test_pruning_is_recorded_and_retried():
    # with each unit's single nearest site the floor of 30 cannot be met: retry with k=2
    plan = solved(base(rules=Rules(floor=30)), "highs", k_nearest=1, warm_start=False)
    assert plan.status == "optimal"
    assert plan.hubs == ("S3",)
    assert [a["k"] for a in plan.stats["attempts"]] == [1, 2]
    assert plan.stats["attempts"][0]["status"] == "infeasible"
    assert plan.stats["k_nearest"] == 2 and plan.stats["pruned"]
    assert any("2 nearest sites" in n for n in plan.notes)
    assert any("retried" in n for n in plan.notes)


def test_automatic_pruning_on_large_instances():
    problem = geometric(600, 100, seed=2, floor=0)  # 60,000 pairs > 50,000: k = 20
    model = PolysystemModel.from_problem(problem)
    assert model.effective_k() == 20
    assert PolysystemModel.from_problem(problem, k_nearest=100).effective_k() is None
    assert PolysystemModel.from_problem(geometric(40, 10, seed=2, floor=0)).effective_k() is None


def test_model_names_constraints_after_real_ids():
    problem = Problem.from_arrays(
        unit_ids=["E01-000 1", "E01/0002"],
        population=[5, 5],
        site_ids=["Site A", "Site-B"],
        travel_min=[[1, 2], [2, 1]],
        rules=Rules(floor=5),
    )
    model = PolysystemModel.from_problem(problem)
    lp = model.build()
    names = {c.name for c in lp.constraints()}
    assert {"assign_E01_000_1", "assign_E01_0002", "floor_Site_A", "floor_Site_B"} <= names
    assert "link(E01_000_1,Site_B)" in names
    assert all(" " not in v.name and "-" not in v.name for v in lp.variables())


def test_colliding_ids_get_unique_names():
    problem = Problem.from_arrays(
        unit_ids=["A-1", "A_1"], population=[5, 5], site_ids=["S"], travel_min=[[1], [1]], rules=Rules(floor=0)
    )
    names = {c.name for c in PolysystemModel.from_problem(problem).build().constraints()}
    assert {"assign_A_1", "assign_A_1_2"} <= names


def test_from_cost_matrix_and_reuse():
    model = PolysystemModel.from_cost_matrix(TRAVEL, [10, 10, 10, 10], rules=Rules(floor=20))
    assert model.problem.unit_ids == ("U0", "U1", "U2", "U3")
    plan = model.solve()
    assert plan.objective == pytest.approx(1.5)
    assert model.lp is not None
    again = model.solve(solver="cbc")
    assert again.assignment == plan.assignment
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.status = "feasible"  # type: ignore[misc]


def test_plan_stats_and_runtime():
    plan = solved(base(rules=Rules(floor=20)), "highs")
    stats = plan.stats
    assert stats["pairs_kept"] == stats["pairs_allowed"] == 12
    assert stats["k_nearest"] is None and not stats["pruned"]
    assert stats["n_variables"] > 0 and stats["n_constraints"] > 0
    assert plan.runtime_s >= stats["build_s"] + stats["solve_s"]
    assert plan.mip_gap == 1e-4
    assert plan.gap is not None and plan.gap <= 1e-4
    assert math.isfinite(plan.bound)


def test_options_are_validated_together():
    with pytest.raises(ValueError) as err:
        check_solver_options(solver="gurobi", time_limit=-1, mip_gap=2, k_nearest=0, threads=0, contiguity="magic")
    text = str(err.value)
    for word in ("solver", "time_limit", "mip_gap", "k_nearest", "threads", "contiguity"):
        assert word in text
    with pytest.raises(ValueError, match="k_nearest"):
        solve(base(), k_nearest=-3)
    with pytest.raises(ValueError, match="solver"):
        PolysystemModel.from_problem(base()).solve(solver="glpk")


def test_every_plan_passes_the_validator_on_a_realistic_instance(solver):
    problem = geometric(60, 12, seed=4, floor=30_000)
    plan = solved(problem, solver, time_limit=30)
    assert plan.status in ("optimal", "feasible")
    assert validate_plan(problem, plan) == []


# ---------------------------------------------------------------------------- real data
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _redbridge(real_data: Path, name: str) -> Problem:
    from catchment.build import build_from_scenario
    from catchment.scenario import read_scenario

    return build_from_scenario(read_scenario(SCENARIOS / name), data_dir=real_data).problem


def test_redbridge_practices_real_data(real_data, solver):
    """The 42 practices of Redbridge CCG (337,420 patients), floor 50,000: six polysystems."""
    problem = _redbridge(real_data, "redbridge.toml")
    assert problem.n_units == 42 and problem.total_population == 337_420
    plan = solved(problem, solver)
    assert plan.status == "optimal"
    assert len(plan.hubs) == 6  # 337,420 / 50,000 allows six
    assert plan.stats["pairs_kept"] == plan.stats["pairs_allowed"] == 42 * problem.n_sites
    assert plan.stats["heuristic_objective"] >= plan.objective - 1e-9


def test_redbridge_lsoas_contiguous_real_data(real_data):
    """The 161 LSOAs of Redbridge, floor 50,000, contiguous: proven optimal by cut rounds."""
    problem = _redbridge(real_data, "redbridge-lsoa.toml")
    assert problem.n_units == 161 and problem.rules.contiguity
    plan = solved(problem, "highs")
    assert plan.status == "optimal"
    assert plan.stats["contiguity"] == "cuts"
    for site in plan.hubs:
        assert bfs_connected(problem, list(plan.units_of(site)))


def test_cheapest_fitting_option_when_capital_is_not_in_the_objective():
    from catchment.problem import HubOption, Problem, Rules
    from solvers import solve

    problem = Problem.from_arrays(
        unit_ids=["a", "b"],
        population=[30_000, 30_000],
        site_ids=["s"],
        travel_min=[[1.0], [2.0]],
        options=[
            HubOption("s", "reuse", 100.0, capacity=50_000),
            HubOption("s", "refurbish", 1_000.0, capacity=70_000),
            HubOption("s", "new_build", 9_000.0, capacity=90_000),
        ],
        rules=Rules(floor=50_000),
    )
    plan = solve(problem)
    assert dict(plan.hub_options) == {"s": "refurbish"}
