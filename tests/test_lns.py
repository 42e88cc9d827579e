"""The large-neighbourhood search (solvers.lns): valid plans, an honest bound, exact sub-models."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings

from catchment.plan import Plan
from catchment.problem import HubOption, Objective, Problem, Rules
from catchment.validate import validate_plan
from solvers import solve
from solvers.backends import run_solver
from solvers.common import candidate_pairs, objective_value, term_values, travel_weights
from solvers.formulation import build_formulation
from solvers.heuristic import solve_heuristic
from solvers.lagrangian import lagrangian_bound
from solvers.lns import (
    _Fixing,
    _Guide,
    _Search,
    _stop_pool,
    _subproblem,
    _support_step,
    lns_unsupported,
    relaxation_bound,
    solve_lns,
)
from solvers.mip import PolysystemModel
from solvers.relaxation import solve_relaxation
from tests.test_solver_properties import best_valid_plan, practice_instances


def _towns(n_units: int = 90, n_sites: int = 24, seed: int = 7, **rules) -> Problem:
    """Practice-like units in a few towns on a 30 km square; travel at 30 km/h."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 30, size=(4, 2))
    units = centres[rng.integers(0, 4, n_units)] + rng.normal(0, 3, size=(n_units, 2))
    sites = units[rng.choice(n_units, n_sites, replace=False)] + rng.normal(0, 0.3, size=(n_sites, 2))
    travel = np.linalg.norm(units[:, None, :] - sites[None, :, :], axis=2) * 2.0
    population = rng.integers(4_000, 14_000, n_units).astype(float)
    deprivation = rng.uniform(5, 60, n_units)
    options = [HubOption(f"S{j}", "reuse", 0.0) for j in range(n_sites)]
    options += [HubOption(f"S{j}", "new_build", 2e6, capacity=None) for j in range(0, n_sites, 3)]
    return Problem.from_arrays(
        unit_ids=[f"P{i:03d}" for i in range(n_units)],
        population=population,
        site_ids=[f"S{j}" for j in range(n_sites)],
        travel_min=travel,
        options=options,
        rules=Rules(floor=50_000, **rules),
        deprivation=deprivation,
    )


def _grid(side: int = 14, seed: int = 3) -> Problem:
    """LSOA-like square cells with rook adjacency; every fifth cell hosts a site."""
    rng = np.random.default_rng(seed)
    n = side * side
    xy = np.array([(i % side, i // side) for i in range(n)], dtype=float)
    adjacency = [(i, i + 1) for i in range(n) if (i + 1) % side] + [(i, i + side) for i in range(n - side)]
    hosts = list(range(0, n, 5))
    travel = np.linalg.norm(xy[:, None, :] - xy[hosts][None, :, :], axis=2) * 3.0 + 1.0
    return Problem.from_arrays(
        unit_ids=[f"E{i:04d}" for i in range(n)],
        population=rng.integers(1_400, 2_400, n).astype(float),
        site_ids=[f"H{i:04d}" for i in hosts],
        travel_min=travel,
        unit_type="lsoa",
        rules=Rules(floor=30_000, contiguity=True),
        adjacency=adjacency,
        site_unit=hosts,
    )


def _optimum(problem: Problem) -> Plan:
    plan = PolysystemModel(problem, k_nearest=problem.n_sites).solve(time_limit=120, mip_gap=1e-6)
    assert plan.status == "optimal"
    return plan


def test_plan_is_valid_and_its_bound_is_below_the_true_optimum():
    problem = _towns()
    optimum = _optimum(problem)
    plan = solve_lns(problem, time_limit=15, mip_gap=1e-6, workers=1, neighbourhood_units=25)
    assert validate_plan(problem, plan) == []
    assert plan.stats["method"] == "lns"
    assert plan.bound <= optimum.objective + 1e-9 <= plan.objective + 1e-9
    assert plan.gap == pytest.approx((plan.objective - plan.bound) / plan.objective)
    lns = plan.stats["lns"]
    assert lns["bound_covers_every_pair"]
    notes = " ".join(plan.notes)
    if "from the final MIP" in notes:
        # the final MIP proved its bound within the time limit (on a fast enough machine: here
        # 3.5 s on 4 December 2026); otherwise the bound is the relaxations' over every pair
        assert lns["final_mip"]["status"] == "optimal" and plan.bound == pytest.approx(lns["final_mip"]["bound"])
    else:
        assert "every allowed unit-site pair" in notes
    assert lns["submodels"] >= 1
    assert plan.objective <= lns["history"][0][1] + 1e-12  # never worse than its start
    # the search found the optimum here, or says it has not proven it
    assert plan.status == "optimal" or plan.objective > plan.bound * (1 + 1e-6)


def test_pricing_makes_the_bound_hold_for_every_pair():
    problem = _towns(seed=7)
    pruned = candidate_pairs(problem, k=3)
    assert pruned.pruned
    relax = solve_relaxation(problem, pruned, deadline=None, threads=None)
    assert relax.priced and relax.pairs_added > 0
    full = build_formulation(problem, candidate_pairs(problem, k=None), "full", "cuts")
    for var in full.prob.variables():
        var.cat = pulp.LpContinuous
    full.prob.solve(pulp.HiGHS(msg=False))
    assert relax.bound == pytest.approx(pulp.value(full.prob.objective), rel=1e-7)
    # without pricing, the LP over each unit's 2 nearest sites is above the full relaxation
    only = build_formulation(problem, pruned, "pruned", "cuts")
    for var in only.prob.variables():
        var.cat = pulp.LpContinuous
    only.prob.solve(pulp.HiGHS(msg=False))
    assert pulp.value(only.prob.objective) > relax.bound + 1e-6


def test_relaxation_bound_is_the_priced_lp_and_lies_below_the_optimum():
    problem = _towns(seed=7)
    full, every = relaxation_bound(problem)
    pruned, priced = relaxation_bound(problem, k_nearest=3)  # pricing brings back the pairs it needs
    assert every and priced
    assert pruned == pytest.approx(full, rel=1e-7)
    assert full <= _optimum(problem).objective + 1e-9
    with pytest.raises(ValueError, match="k_nearest"):
        relaxation_bound(problem, k_nearest=0)


def test_relaxation_values_line_up_with_its_pairs():
    problem = _towns(seed=7)
    relax = solve_relaxation(problem, candidate_pairs(problem, k=3), deadline=None, threads=None)
    assert relax.pairs_added > 0  # priced pairs were appended, then every array re-sorted by unit
    cand, share, opened = relax.cand, relax.pair_share, relax.open_share
    assert share.shape == cand.units.shape and opened.shape == (problem.n_sites,)
    per_unit = np.bincount(cand.units, weights=share, minlength=problem.n_units)
    assert per_unit == pytest.approx(np.ones(problem.n_units), abs=1e-6)  # assignment rows
    assert np.all(share <= opened[cand.sites] + 1e-6)  # linking rows: a pair's value is at most its site's
    objective = travel_weights(problem, "mean_travel")[cand.units] * cand.travel @ share
    assert objective == pytest.approx(relax.bound, rel=1e-7)


def test_guide_seeds_first_the_polysystem_furthest_above_the_relaxation():
    problem = _towns(seed=7)
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    guide = _Guide.create(problem, relax)
    weight = travel_weights(problem, "mean_travel")
    assert guide.lp_cost.sum() == pytest.approx(relax.bound, rel=1e-7)  # the LP's cost, unit by unit
    plan = solve_heuristic(problem, time_limit=1)
    site_of = np.array([problem.site_index(plan.assignment[u]) for u in problem.unit_ids])
    hubs = sorted(set(site_of.tolist()))
    # send one unit to the open hub farthest from it: that polysystem now has the largest excess
    unit = int(np.flatnonzero(site_of == hubs[-1])[0])
    site_of[unit] = hubs[int(np.argmax(problem.travel_min[unit, hubs]))]
    search = _Search(site_of=site_of, options={j: "reuse" for j in hubs}, objective=0.0)
    queue = list(hubs)
    guide.order(search, queue)
    excess = np.bincount(
        site_of,
        weights=weight * problem.travel_min[np.arange(site_of.size), site_of] - guide.lp_cost,
        minlength=problem.n_sites,
    )
    assert sorted(queue) == hubs and [excess[j] for j in queue] == sorted((excess[j] for j in hubs), reverse=True)
    assert queue[0] == int(site_of[unit])
    assert _Guide.create(dataclasses.replace(problem, objective=Objective(weights={"capital": 1.0})), relax) is None


def test_support_model_improves_a_poor_plan_and_stops_at_the_target():
    problem = _towns(n_units=120, n_sites=30, seed=2)
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    poor = solve_heuristic(problem, time_limit=0.01)
    site_of = np.array([problem.site_index(poor.assignment[u]) for u in problem.unit_ids])
    options = {problem.site_index(s): o for s, o in poor.hub_options.items()}
    before = objective_value(problem.objective, term_values(problem, site_of, options))
    for gap in (1e-6, 0.05):
        search = _Search(site_of=site_of.copy(), options=dict(options), objective=before)
        _support_step(problem, search, relax, deadline=None, mip_gap=gap, solver="highs", threads=None, t0=0.0)
        support = search.support
        assert support["pairs"] < problem.n_units * problem.n_sites
        assert search.objective == pytest.approx(
            objective_value(problem.objective, term_values(problem, search.site_of, search.options)), rel=1e-12
        )
        plan = Plan(
            {problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(search.site_of)},
            {problem.site_ids[j]: o for j, o in search.options.items()},
            status="feasible",
        )
        assert validate_plan(problem, plan) == []
        assert search.objective <= before
        if gap == 0.05:  # stopped by the target (within 5% of the bound), not by proving the support optimal
            assert support["status"] == "feasible" and support["improved"]
            assert (search.objective - relax.bound) / search.objective <= gap
        else:
            assert support["status"] == "optimal"


def test_objective_target_stops_highs_at_the_first_good_enough_plan():
    rng = np.random.default_rng(0)
    value, weight = rng.integers(10, 100, 60), rng.integers(10, 100, 60)
    prob = pulp.LpProblem("knapsack", pulp.LpMinimize)
    x = prob.add_variable_dict("x", range(60), cat=pulp.LpBinary)
    prob += pulp.lpSum(-float(value[i]) * x[i] for i in range(60))
    prob += pulp.lpSum(float(weight[i]) * x[i] for i in range(60)) <= float(weight.sum()) / 3, "capacity"
    best = run_solver(prob, solver="highs", time_limit=60, mip_gap=0, threads=None, msg=False, warm_start=False)
    assert best.status == "optimal"
    target = 0.9 * best.objective
    stopped = run_solver(
        prob,
        solver="highs",
        time_limit=60,
        mip_gap=0,
        threads=None,
        msg=False,
        warm_start=False,
        objective_target=target,
    )
    assert stopped.status == "feasible" and best.objective < stopped.objective <= target


def test_sub_model_objective_is_the_whole_objectives_share():
    problem = _towns(n_units=60, n_sites=15, seed=5)
    problem = Problem.from_arrays(
        unit_ids=problem.unit_ids,
        population=problem.population,
        site_ids=problem.site_ids,
        travel_min=problem.travel_min,
        options=problem.options,
        rules=problem.rules,
        deprivation=problem.deprivation,
        objective=Objective(weights={"mean_travel": 1.0, "deprivation_travel": 0.5, "capital": 0.3}),
    )
    plan = _optimum(problem)
    site_of = np.array([problem.site_index(plan.assignment[u]) for u in problem.unit_ids])
    options = {problem.site_index(s): o for s, o in plan.hub_options.items()}
    search = _Search(site_of=site_of.copy(), options=dict(options), objective=plan.objective)
    hubs = np.array(sorted(options))[:2]
    units = np.flatnonzero(np.isin(site_of, hubs))
    allowed = np.ones((problem.n_units, problem.n_sites), dtype=bool)
    sub, sites = _subproblem(problem, search, allowed, units, hubs)
    assert set(hubs) <= set(sites.tolist())
    # merge the two polysystems into the first hub, with its dearer option: both objectives move alike
    pos = {int(j): q for q, j in enumerate(sites)}
    before_sub = np.array([pos[int(site_of[i])] for i in units])
    after_sub = np.full(units.size, pos[int(hubs[0])])
    opts_before = {pos[int(j)]: options[int(j)] for j in hubs}
    opts_after = {pos[int(hubs[0])]: "new_build" if hubs[0] % 3 == 0 else "reuse"}
    sub_change = objective_value(sub.objective, term_values(sub, after_sub, opts_after)) - objective_value(
        sub.objective, term_values(sub, before_sub, opts_before)
    )
    whole_after = site_of.copy()
    whole_after[units] = hubs[0]
    whole_opts = {j: o for j, o in options.items() if j not in set(hubs.tolist())}
    whole_opts[int(hubs[0])] = opts_after[pos[int(hubs[0])]]
    whole_change = objective_value(problem.objective, term_values(problem, whole_after, whole_opts)) - objective_value(
        problem.objective, term_values(problem, site_of, options)
    )
    assert sub_change == pytest.approx(whole_change, rel=1e-9, abs=1e-12)


def test_parallel_workers_give_a_valid_plan():
    problem = _towns(n_units=120, n_sites=30, seed=2)
    plan = solve_lns(problem, time_limit=20, mip_gap=1e-3, workers=2, neighbourhood_units=30)
    assert validate_plan(problem, plan) == []
    assert plan.bound <= plan.objective


def test_contiguous_areas_stay_contiguous():
    problem = _grid()
    plan = solve_lns(problem, time_limit=20, mip_gap=1e-3, workers=2, neighbourhood_units=60)
    assert validate_plan(problem, plan) == []  # the validator checks contiguity and host units
    optimum_bound = plan.bound
    assert optimum_bound <= plan.objective


def test_coupling_rules_hold_with_one_worker():
    problem = _towns(max_polysystems=9, budget=4e6)
    plan = solve_lns(problem, time_limit=20, mip_gap=1e-3, workers=2, neighbourhood_units=25)
    assert validate_plan(problem, plan) == []
    assert len(plan.hub_options) <= 9
    spent = sum(problem.option(s, o).capital_cost for s, o in plan.hub_options.items())
    assert spent <= 4e6


def test_objectives_that_do_not_decompose_use_the_mip():
    problem = _towns(n_units=40, n_sites=10)
    worst = Problem.from_arrays(
        unit_ids=problem.unit_ids,
        population=problem.population,
        site_ids=problem.site_ids,
        travel_min=problem.travel_min,
        rules=problem.rules,
        objective=Objective(weights={"max_travel": 1.0}),
    )
    assert "max_travel" in lns_unsupported(worst)
    with pytest.raises(ValueError, match="max_travel"):
        solve_lns(worst, time_limit=10)
    plan = solve(worst, method="auto", time_limit=30)
    assert plan.stats.get("method") != "lns" and validate_plan(worst, plan) == []


def test_solve_dispatches_by_method_and_validates_options():
    problem = _towns(n_units=50, n_sites=12)
    small = solve(problem, time_limit=30)  # auto: small problems get the single MIP
    assert small.stats.get("method") != "lns"
    by_lns = solve(problem, method="lns", time_limit=15, mip_gap=1e-3)
    assert by_lns.stats["method"] == "lns" and validate_plan(problem, by_lns) == []
    assert by_lns.objective <= small.objective * (1 + 1e-3) + 1e-9
    with pytest.raises(ValueError, match="method must be one of"):
        solve(problem, method="fast")
    with pytest.raises(ValueError, match="workers must be"):
        solve(problem, method="lns", workers=0)


def test_a_start_plan_is_used():
    problem = _towns(n_units=50, n_sites=12)
    best = _optimum(problem)
    plan = solve_lns(problem, time_limit=10, mip_gap=1e-6, workers=1, start=best)
    assert plan.objective == pytest.approx(best.objective, rel=1e-9)
    assert plan.stats["lns"]["start"] == "the given plan" or plan.stats["start_objective"] <= best.objective + 1e-9


def test_stopping_the_pool_ends_sub_models_still_running():
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("forkserver"))
    running = [pool.submit(time.sleep, 300) for _ in range(2)]
    queued = pool.submit(time.sleep, 300)
    while not all(f.running() for f in running):
        time.sleep(0.05)
    processes = list(pool._processes.values())
    _stop_pool(pool)
    assert processes and not any(p.is_alive() for p in processes)
    limit = time.monotonic() + 60
    while not all(f.done() for f in [*running, queued]) and time.monotonic() < limit:
        time.sleep(0.05)
    assert all(f.done() for f in [*running, queued])  # cancelled, or failed with the pool: none left pending


def test_rules_objective_and_plan_survive_pickling():
    rules = Rules(floor=30_000, waivers={"P001": "island practice"}, max_polysystems=4)
    objective = Objective(weights={"mean_travel": 1.0, "capital": 0.2})
    plan = Plan({"P001": "S1"}, {"S1": "reuse"}, status="feasible", stats={"k": 1})
    assert pickle.loads(pickle.dumps(rules)) == rules
    assert pickle.loads(pickle.dumps(objective)) == objective
    again = pickle.loads(pickle.dumps(plan))
    assert dict(again.assignment) == {"P001": "S1"} and again.stats["k"] == 1 and again.status == "feasible"


@settings(max_examples=30, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(practice_instances())
def test_reduced_cost_fixing_keeps_every_pair_of_an_optimal_plan(problem):
    """Fixing against the optimum's value never leaves out a pair of a (brute-force) optimal plan."""
    best = best_valid_plan(problem)
    if best is None:
        return
    (optimum, *_), plan = best
    lag = lagrangian_bound(problem, max_iterations=40)
    fixing = _Fixing.create(np.ones((problem.n_units, problem.n_sites), dtype=bool), lag)
    if fixing is None:
        return
    # any plan of the model is a starting point; take the optimal one's sites as the search's plan
    site_of = np.array([problem.site_index(plan.assignment[u]) for u in problem.unit_ids])
    search = _Search(site_of=site_of, options={}, objective=float(optimum))
    fixing.refresh(search)
    for unit, site in plan.assignment.items():
        assert fixing.allowed[problem.unit_index(unit), problem.site_index(site)], (unit, site)
    assert search.fixed_pairs == int((~fixing.allowed).sum())


def test_fixing_narrows_the_sub_models_on_practices():
    """On a practice-like instance the Lagrangian's reduced costs leave most pairs out of the sub-models."""
    problem = _towns(n_units=120, n_sites=30, seed=3)
    plan = solve_lns(problem, time_limit=60, seed=1)
    assert plan.has_plan and validate_plan(problem, plan) == []
    assert plan.stats["bounds"]["lagrangian"] is not None, "the LP bound left a gap: the Lagrangian ran"
    lns = plan.stats["lns"]
    assert 0 < lns["pairs_fixed_by_reduced_cost"] < problem.n_units * problem.n_sites, lns


class _Stop(Exception):
    """Ends a search once the spied call is seen."""


@pytest.mark.parametrize("fixing", [False, True])
def test_reduced_costs_are_computed_only_when_fixing_uses_them(monkeypatch, fixing):
    """The Lagrangian step asks for reduced costs exactly when the search fixes pairs with them."""
    problem = _towns(n_units=120, n_sites=30, seed=3)
    seen = []

    def spy(*args, **kwargs):
        seen.append(lagrangian_bound(*args, **kwargs))
        raise _Stop

    monkeypatch.setattr("solvers.lns.lagrangian_bound", spy)
    with pytest.raises(_Stop):
        solve_lns(problem, time_limit=60, seed=1, reduced_cost_fixing=fixing)
    assert len(seen) == 1 and seen[0].bound is not None, "the LP bound left a gap: the Lagrangian ran"
    assert (seen[0].reduced is not None) == fixing
    assert (seen[0].site_open is not None) == fixing
