"""The Lagrangian bound is a bound: never above a known optimum.

* small random instances (the generators and the brute-force oracle of
  ``tests/test_solver_properties.py``, which share no code with the solvers): the bound
  is at most the oracle's optimum, and every unit-site pair has a Lagrangian reduced cost
  that the best valid plan using the pair covers;
* OR-Library ``pmedcap1`` instances: the bound is at most the published optimum;
* the real Redbridge practices: the bound lies between the LP bound and the proven optimum;
* the neighbourhood search reports both bounds and the one that certified its gap, and
  its status stays honest;
* the outer step's values with each site forced open or closed equal the best set of
  sites by enumeration, and the search keeps to its deadline (no round starts that would
  end past it with the reduced costs still to compute).
"""

from __future__ import annotations

import itertools
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.orlib import OrlibInstance, instance_names, read_instance
from catchment.problem import HubOption, Problem, Rules
from catchment.validate import validate_plan
from solvers.common import candidate_pairs
from solvers.lagrangian import (
    _REDUCED_COST_EVALUATIONS,
    EXACT_STATES,
    _data,
    _forced_outer,
    _Lagrangian,
    _outer,
    bound_source,
    lagrangian_bound,
    stronger_bound,
)
from solvers.relaxation import Relaxation, solve_relaxation
from tests.test_solver_properties import OBJECTIVES, area_instances, practice_instances, valid_plans

SETTINGS = settings(
    max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
TOL = 1e-7


def _brute_force(problem: Problem) -> tuple[float | None, dict[tuple[int, int], float]]:
    """One pass over every valid plan: the optimum (first objective term, ``None``: no valid
    plan) and, per unit-site pair, the best objective of the plans that use it."""
    optimum: float | None = None
    per_pair: dict[tuple[int, int], float] = {}
    for key, plan in valid_plans(problem):
        optimum = key[0] if optimum is None else min(optimum, key[0])
        for unit, site in plan.assignment.items():
            q = (problem.unit_index(unit), problem.site_index(site))
            per_pair[q] = min(per_pair.get(q, math.inf), key[0])
    return optimum, per_pair


def _check(problem: Problem) -> None:
    optimum, per_pair = _brute_force(problem)
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    for method in ("columns", "subgradient"):
        result = lagrangian_bound(
            problem,
            relaxation=relax if relax.status == "optimal" else None,
            upper=optimum,
            max_iterations=40,
            method=method,
        )
        if optimum is None:  # no valid plan: any bound (or none) is vacuously valid
            continue
        assert result.bound is not None, result.notes
        assert result.bound <= optimum + TOL * max(1.0, abs(optimum)), (method, result.bound, optimum, result.mode)
        if result.reduced is not None:
            # every pair, not only the optimal plan's: a plan using it costs at least bound + d
            for (i, j), value in per_pair.items():
                d = result.reduced[i, j]
                assert result.bound + d <= value + TOL * max(1.0, abs(value)), (method, i, j, d, value)


@SETTINGS
@given(practice_instances())
def test_bound_never_exceeds_the_brute_force_optimum(problem):
    _check(problem)


@SETTINGS
@given(area_instances())
def test_bound_never_exceeds_the_brute_force_optimum_of_contiguous_areas(problem):
    _check(problem)


def _pmedcap_relaxed(name: str) -> tuple[OrlibInstance, Problem, Relaxation]:
    """An OR-Library instance (a missing file fails the test), its problem and its LP relaxation over every pair."""
    instance = read_instance(name)
    problem = instance.problem
    return instance, problem, solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)


#: Five of the twenty (bench/bounds.py runs all twenty): n = 50 and n = 100.
PMEDCAP = ["pmedcap1-01", "pmedcap1-05", "pmedcap1-09", "pmedcap1-13", "pmedcap1-17"]


def test_bound_never_exceeds_the_published_pmedcap1_optima():
    assert set(PMEDCAP) <= set(instance_names())
    for name in PMEDCAP:
        instance, problem, relax = _pmedcap_relaxed(name)
        result = lagrangian_bound(problem, relaxation=relax, upper=instance.optimum / instance.scale, max_iterations=30)
        assert result.bound is not None and result.mode == "exact"
        assert instance.cost(result.bound) <= instance.optimum + 1e-6, (name, instance.cost(result.bound))
        # at the LP's duals the programme is at least the LP (exact populations): the bound never loses to it
        assert result.bound >= (relax.bound or -math.inf) - 1e-9


def test_redbridge_practices_bound_between_lp_and_optimum(redbridge_problem):
    problem = redbridge_problem
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    result = lagrangian_bound(problem, relaxation=relax, max_iterations=80)
    assert relax.bound is not None and result.bound is not None
    assert result.bound > relax.bound  # strictly stronger here
    assert result.bound <= 5.162835711658372 + 1e-9  # the proven optimum (bench/results)
    assert bound_source(relax.bound, result.bound) == "lagrangian"
    assert stronger_bound(relax.bound, result.bound) == result.bound
    assert bound_source(relax.bound, None) == "lp" and bound_source(None, None) is None
    assert result.reduced is not None
    fin = np.isfinite(result.reduced)
    assert fin.sum() == candidate_pairs(problem, k=None).n_pairs
    assert np.all(result.reduced[fin] >= 0)


@pytest.fixture(scope="module")
def redbridge_problem():
    from bench.instances import build_instance

    return build_instance("redbridge-practices").problem


def test_neighbourhood_search_reports_both_bounds_and_the_certifying_one():
    from solvers.lns import solve_lns
    from tests.test_lns import _optimum, _towns

    problem = _towns()
    optimum = _optimum(problem)
    plan = solve_lns(problem, time_limit=15, mip_gap=1e-6, workers=1, neighbourhood_units=25)
    assert validate_plan(problem, plan) == []
    bounds = plan.stats["bounds"]
    assert bounds["lp"] is not None and bounds["lagrangian"] is not None  # the LP left a gap: both computed
    assert bounds["lagrangian"] <= optimum.objective + 1e-9 and bounds["lp"] <= optimum.objective + 1e-9
    assert plan.bound == pytest.approx(max(bounds["lp"], bounds["lagrangian"])) or bounds["source"] == "mip"
    if bounds["source"] == "lagrangian":
        assert plan.bound == pytest.approx(bounds["lagrangian"])
        assert "Lagrangian relaxation" in " ".join(plan.notes)
    assert plan.bounds_label is not None and "Lagrangian" in plan.bounds_label
    assert plan.stats["lns"]["lagrangian"]["iterations"] >= 1
    # honest status: optimal only when the reported bound proves it
    assert plan.gap == pytest.approx((plan.objective - plan.bound) / plan.objective)
    assert (plan.status == "optimal") == (plan.gap <= 1e-6)


#: Instances whose Dantzig-Wolfe bound lies strictly above the LP bound (bench/bounds.py).
PMEDCAP_CONVERGED = ["pmedcap1-01", "pmedcap1-08", "pmedcap1-20"]


def test_converged_pmedcap1_bound_lies_between_the_lp_bound_and_the_published_optimum():
    assert set(PMEDCAP_CONVERGED) <= set(instance_names())
    for name in PMEDCAP_CONVERGED:
        instance, problem, relax = _pmedcap_relaxed(name)
        optimum = instance.optimum / instance.scale
        result = lagrangian_bound(problem, relaxation=relax, upper=optimum)
        assert result.converged and result.bound is not None and result.master is not None, (name, result.notes)
        assert result.bound == pytest.approx(result.master, rel=1e-8)  # the column generation's end
        assert relax.bound is not None and result.bound > relax.bound + 1e-9, name
        assert instance.cost(result.bound) <= instance.optimum + 1e-6, (name, instance.cost(result.bound))
        # the exact programme with each unit forced in rules out pairs the outer part alone did not
        assert result.reduced is not None
        d = result.reduced[np.isfinite(result.reduced)]
        assert np.mean(result.bound + d > optimum * (1 + 1e-9)) > 0.3, name


@st.composite
def capacitated_instances(draw) -> Problem:
    """Up to 5 units and 2-3 sites with a binding ceiling (the exact programme), a floor now and then."""
    n = draw(st.integers(2, 5))
    m = draw(st.integers(2, 3))
    population = draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    total = sum(population)
    travel = [[float(draw(st.integers(0, 12))) for _ in range(m)] for _ in range(n)]
    options = []
    for j in range(m):
        capacity = float(draw(st.integers(max(population), total))) if draw(st.integers(0, 3)) == 0 else None
        options.append(HubOption(f"S{j}", "reuse", draw(st.sampled_from([0.0, 1e6])), capacity))
        if draw(st.booleans()):
            options.append(HubOption(f"S{j}", "new_build", 2e6, None))
    count = draw(st.one_of(st.none(), st.integers(2, m)))
    hosted = draw(st.booleans()) and n >= m
    floor = min(draw(st.sampled_from([0, 0, 4, 8])), total // 2)
    return Problem.from_arrays(
        unit_ids=[f"U{i}" for i in range(n)],
        population=population,
        site_ids=[f"S{j}" for j in range(m)],
        travel_min=travel,
        options=options,
        site_unit=list(range(m)) if hosted else None,
        site_status=draw(st.lists(st.sampled_from(["candidate"] * 5 + ["required"]), min_size=m, max_size=m)),
        rules=Rules(
            floor=floor,
            ceiling=float(draw(st.integers(max(floor, *population), total - 1))),  # binds: n >= 2
            min_polysystems=count if draw(st.booleans()) else None,
            max_polysystems=count,
        ),
        objective=draw(st.sampled_from(OBJECTIVES[:2])),
    )


@SETTINGS
@given(capacitated_instances())
def test_reduced_costs_under_a_size_limit_never_rule_out_a_plan(problem):
    plans = [(key[0], plan) for key, plan in valid_plans(problem)]
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    result = lagrangian_bound(problem, relaxation=relax if relax.status == "optimal" else None, max_iterations=40)
    if not plans:
        return
    assert result.bound is not None and result.mode == "exact", (result.mode, result.notes)
    assert result.reduced is not None and result.site_open is not None and result.site_closed is not None
    for value, plan in plans:
        limit = value + TOL * max(1.0, abs(value))
        assert result.bound <= limit
        for unit, site in plan.assignment.items():
            d = result.reduced[problem.unit_index(unit), problem.site_index(site)]
            assert result.bound + d <= limit, (unit, site, d, value)
        open_sites = {problem.site_index(s) for s in plan.hub_options}
        for j in range(problem.n_sites):
            extra = result.site_open[j] if j in open_sites else result.site_closed[j]
            assert result.bound + extra <= limit, (j, j in open_sites, extra, value)


def _set_partitioning_bound(problem: Problem) -> float:
    """The LP value of the set-partitioning master of a capacitated p-median (no host units, floor 0).

    An independent column generation that shares no code with :mod:`solvers.lagrangian`:
    rows "each unit once", "p sites", "each site at most once"; a column is a site and a
    non-empty set of units within the ceiling, priced by a plain 0-1 knapsack per site.
    """
    import highspy

    n, m = problem.n_units, problem.n_sites
    cost = problem.population[:, None] * problem.travel_min  # the objective times the total population
    weight = np.rint(problem.population).astype(int)
    cap = int(problem.rules.ceiling or weight.sum())
    p = int(problem.rules.max_polysystems or m)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")  # warm-started simplex from round to round
    lower = np.array([1.0] * n + [p] + [0.0] * m)
    upper = np.array([1.0] * n + [p] + [1.0] * m)
    h.addRows(n + 1 + m, lower, upper, 0, np.array([0]), np.array([], dtype=np.int32), np.array([]))
    for row in range(n + 1):  # dear slacks keep the first masters feasible
        h.addCol(
            1e4 * float(cost[np.isfinite(cost)].max()),
            0.0,
            highspy.kHighsInf,
            1,
            np.array([row], dtype=np.int32),
            np.array([1.0]),
        )
    while True:
        h.run()
        dual = np.asarray(h.getSolution().row_dual)
        added = 0
        red = cost - dual[:n, None]
        best, keep = np.zeros((m, cap + 1)), np.zeros((n, m, cap + 1), dtype=bool)
        for i in range(n):  # a 0-1 knapsack per site, every site at once
            w = weight[i]
            cand = best[:, : cap + 1 - w] + red[i][:, None]
            keep[i, :, w:] = cand < best[:, w:]
            best[:, w:] = np.minimum(best[:, w:], cand)
        for j in range(m):
            s, units = int(np.argmin(best[j])), []
            for i in range(n - 1, -1, -1):
                if keep[i, j, s]:
                    units.append(i)
                    s -= weight[i]
            if not units:  # the cheapest single unit: a site serves someone
                units = [int(np.argmin(np.where(weight <= cap, red[:, j], np.inf)))]
            if red[units, j].sum() - dual[n] - dual[n + 1 + j] < -1e-9:
                rows = np.array([*units, n, n + 1 + j], dtype=np.int32)
                h.addCol(float(cost[units, j].sum()), 0.0, highspy.kHighsInf, rows.size, rows, np.ones(rows.size))
                added += 1
        if not added:
            return float(h.getInfo().objective_function_value) / float(problem.population.sum())


def test_converged_bound_is_the_set_partitioning_bound():
    instance = read_instance("pmedcap1-08")
    problem = instance.problem
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    result = lagrangian_bound(problem, relaxation=relax, upper=instance.optimum / instance.scale)
    assert result.converged and result.bound is not None
    independent = _set_partitioning_bound(problem)
    assert result.bound == pytest.approx(independent, rel=1e-7)
    assert instance.cost(independent) < 0.95 * instance.optimum  # the decomposition's own gap, not the search's


@st.composite
def _outer_cases(draw):
    """Site values (some infinite), required sites and a count range for the outer step."""
    m = draw(st.integers(1, 7))
    values = draw(
        st.lists(
            st.one_of(st.sampled_from([0.0, math.inf, -1.0, 1.0]), st.floats(-5, 5, allow_nan=False)),
            min_size=m,
            max_size=m,
        )
    )
    required = draw(st.sets(st.integers(0, m - 1), max_size=m))
    lo = draw(st.integers(0, m))
    hi = draw(st.integers(lo, m))
    return dict(enumerate(values)), required, lo, hi


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(_outer_cases())
def test_outer_values_with_each_site_forced_equal_the_best_set_by_enumeration(case):
    """The outer step, and each site forced open and forced closed: the least total over every allowed set."""
    values, required, lo, hi = case
    data = SimpleNamespace(required=np.array(sorted(required), dtype=np.int64), lo=lo, hi=hi, budget=None)

    def least(*, open_: int | None = None, shut: int | None = None) -> float:
        best = math.inf
        for size in range(lo, hi + 1):
            for chosen in itertools.combinations(values, size):
                if not required <= set(chosen) or (open_ is not None and open_ not in chosen) or shut in chosen:
                    continue
                best = min(best, sum(values[j] for j in chosen))
        return best

    got = _forced_outer(data, values)  # type: ignore[arg-type]
    outer = _outer(data, {j: np.array([value]) for j, value in values.items()})  # type: ignore[arg-type]
    base = least()
    if not math.isfinite(base):
        assert got is None and outer is None
        return
    assert got is not None and outer is not None
    assert outer[0] == pytest.approx(base, abs=1e-9) and sum(values[j] for j in outer[1]) == outer[0]
    forced, closed, total = got
    assert total == pytest.approx(base, abs=1e-9)
    for j in values:
        assert forced[j] == pytest.approx(least(open_=j), abs=1e-9), ("open", j)
        assert closed[j] == pytest.approx(least(shut=j), abs=1e-9), ("closed", j)


def test_a_deadline_already_passed_gives_one_round_and_the_reduced_costs():
    """No round starts past the deadline; the first (the starting multipliers) and its reduced costs are kept."""
    instance = read_instance("pmedcap1-01")
    relax = solve_relaxation(instance.problem, candidate_pairs(instance.problem, k=None), deadline=None, threads=None)
    result = lagrangian_bound(instance.problem, relaxation=relax, deadline=time.perf_counter() - 1.0)
    assert result.iterations == 1
    assert result.bound is not None and result.reduced is not None
    assert result.bound * instance.scale <= instance.optimum + TOL
    full = lagrangian_bound(instance.problem, relaxation=relax)
    assert full.iterations > 1 and full.bound is not None and full.bound >= result.bound - TOL


def test_a_round_does_not_start_when_it_and_the_reduced_costs_would_end_past_the_deadline():
    """The last round's time estimates the next; the reduced costs keep their share of the time."""
    lag = _Lagrangian(_data(read_instance("pmedcap1-01").problem), None, cover_states=None, exact_states=EXACT_STATES)
    lag.evaluate(np.zeros(lag.data.problem.n_units))
    assert not lag.out_of_time(None)
    lag.last_seconds = 100.0
    assert lag.out_of_time(time.perf_counter() + 50.0)  # one more round alone would end after it
    lag.last_seconds = 40.0
    assert not lag.out_of_time(time.perf_counter() + 150.0)
    lag.reserve = _REDUCED_COST_EVALUATIONS
    assert lag.out_of_time(time.perf_counter() + 90.0)  # 40 s + 1.5 x 40 s for the reduced costs
