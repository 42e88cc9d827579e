"""Time limits that hold and reruns that give the same plan (catchment.timing).

No test here asserts a wall-clock duration: the clock is replaced by fake ones, and
deadlines are checked as relations between the times the code itself computed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from catchment import build
from catchment.problem import Problem, Rules
from catchment.timing import (
    STOPPED_BY_TIME_LIMIT,
    TIME_LIMIT_MARGIN_S,
    TIME_LIMIT_MARGIN_SHARE,
    time_limit_margin,
)
from solvers import backends, lns, solve, solve_heuristic
from solvers.backends import WarmHiGHS, run_solver
from solvers.common import candidate_pairs
from solvers.formulation import build_formulation
from solvers.heuristic import WorkBudget, repair_plan
from solvers.lns import solve_lns
from solvers.mip import PolysystemModel

ROOT = Path(__file__).resolve().parents[1]


def _plan_hash(plan) -> str:
    text = json.dumps([sorted(plan.assignment.items()), sorted(plan.hub_options.items())])
    return hashlib.sha256(text.encode()).hexdigest()


def _fake_clock(step: float):
    """A clock that advances ``step`` seconds at every reading (fast or slow machine)."""
    ticks = itertools.count()
    origin = time.perf_counter()
    return lambda: origin + step * next(ticks)


def _towns(n_units: int = 60, n_sites: int = 18, seed: int = 11, **rules) -> Problem:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 30, size=(4, 2))
    units = centres[rng.integers(0, 4, n_units)] + rng.normal(0, 3, size=(n_units, 2))
    sites = units[rng.choice(n_units, n_sites, replace=False)] + rng.normal(0, 0.3, size=(n_sites, 2))
    travel = np.linalg.norm(units[:, None, :] - sites[None, :, :], axis=2) * 2.0
    return Problem.from_arrays(
        unit_ids=[f"P{i:03d}" for i in range(n_units)],
        population=rng.integers(4_000, 14_000, n_units).astype(float),
        site_ids=[f"S{j}" for j in range(n_sites)],
        travel_min=travel,
        rules=Rules(floor=50_000, **rules),
    )


@pytest.fixture(scope="module")
def demo_lsoa() -> Problem:
    return build.build_demo(unit_type="lsoa").problem


# ---------------------------------------------------------------------------- the margin
def test_margin_is_five_percent_plus_ten_seconds():
    assert (TIME_LIMIT_MARGIN_SHARE, TIME_LIMIT_MARGIN_S) == (0.05, 10.0)
    assert time_limit_margin(60) == pytest.approx(13.0)
    assert time_limit_margin(115) == pytest.approx(15.75)


# ---------------------------------------------------------------------------- the heuristic
@pytest.mark.parametrize("step", [1e-9, 0.01])
def test_heuristic_plan_does_not_depend_on_the_clock(monkeypatch, demo_lsoa, step):
    """Fast or slow clock, with or without a (generous) time limit: the same plan."""
    reference = solve_heuristic(demo_lsoa)
    monkeypatch.setattr(time, "perf_counter", _fake_clock(step))
    again = solve_heuristic(demo_lsoa, time_limit=1e9)
    assert _plan_hash(again) == _plan_hash(reference)
    assert again.stats["work"] == reference.stats["work"] <= reference.stats["work_limit"]
    assert not again.stats["stopped_by_time_limit"]
    assert STOPPED_BY_TIME_LIMIT not in again.notes


def test_heuristic_work_limit_decides_the_plan(demo_lsoa):
    small = solve_heuristic(demo_lsoa, work_limit=2_000)
    assert small.stats["work"] <= 2_000 + demo_lsoa.n_units  # one step may cost a hub set's units
    assert _plan_hash(small) == _plan_hash(solve_heuristic(demo_lsoa, work_limit=2_000))
    assert not small.stats["stopped_by_time_limit"]


def test_heuristic_cut_by_its_deadline_says_so(monkeypatch, demo_lsoa):
    monkeypatch.setattr(time, "perf_counter", _fake_clock(1.0))  # every reading is a second later
    plan = solve_heuristic(demo_lsoa, time_limit=0.5)
    assert plan is not None and plan.stats["stopped_by_time_limit"]
    assert STOPPED_BY_TIME_LIMIT in plan.notes
    assert plan.stats["work"] < plan.stats["work_limit"]


def test_repair_budget_reports_a_deadline_stop(monkeypatch, demo_lsoa):
    plan = solve_heuristic(demo_lsoa, work_limit=0)
    nearest = np.array([demo_lsoa.site_index(plan.assignment[u]) for u in demo_lsoa.unit_ids])
    nearest[::7] = -1  # units to place again
    counted = WorkBudget(5_000)
    first = repair_plan(demo_lsoa, nearest, budget=counted)
    assert first is not None and not counted.timed_out
    again = repair_plan(demo_lsoa, nearest, work_limit=5_000)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    monkeypatch.setattr(time, "perf_counter", _fake_clock(1.0))
    hurried = WorkBudget(5_000, deadline=time.perf_counter() + 0.5)
    repair_plan(demo_lsoa, nearest, budget=hurried)
    assert hurried.timed_out


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_work_limit_is_checked(bad):
    with pytest.raises(ValueError, match="work_limit"):
        solve_heuristic(_towns(), work_limit=bad)


# ---------------------------------------------------------------------------- the MIP and the deadline
def test_mip_reruns_give_identical_plans(demo_lsoa):
    """A run that ends before its limit (proven optimal) is the same on rerun, with no note."""
    first = solve(demo_lsoa, time_limit=600, method="mip")
    second = solve(demo_lsoa, time_limit=600, method="mip")
    assert first.status == "optimal"
    assert _plan_hash(first) == _plan_hash(second)
    assert first.stats["heuristic_objective"] == second.stats["heuristic_objective"]
    assert not first.stats["stopped_by_time_limit"] and STOPPED_BY_TIME_LIMIT not in first.notes


def test_run_cut_by_a_tiny_time_limit_carries_the_note(demo_lsoa):
    plan = solve(demo_lsoa, time_limit=0.001, method="mip")
    assert plan.has_plan
    assert plan.stats["stopped_by_time_limit"]
    assert plan.notes.count(STOPPED_BY_TIME_LIMIT) == 1


def test_highs_gets_no_more_than_what_remains(monkeypatch, demo_lsoa):
    """Every HiGHS call starts with a limit within what is left of the caller's deadline."""
    calls: list[tuple[float, float | None]] = []
    original = WarmHiGHS.callSolver

    def recording(self, lp):
        entered = time.perf_counter()
        original(self, lp)
        calls.append((entered, self.time_limit_given))

    monkeypatch.setattr(WarmHiGHS, "callSolver", recording)
    limit = 120.0
    began = time.perf_counter()
    solve(demo_lsoa, time_limit=limit, method="mip")
    assert calls
    # the solve starts its own clock a little after ``began`` (its argument checks: about 0.1 ms;
    # the first call, the fixing path's LP on a quickly warm-started model, can start right after)
    start_lag = 0.01
    for entered, given in calls:
        assert given is not None and 0 < given <= began + start_lag + limit - entered


def test_run_solver_takes_the_earlier_of_deadline_and_limit(monkeypatch):
    problem = _towns()
    form = build_formulation(problem, candidate_pairs(problem), "t")
    seen: list[float | None] = []
    original = WarmHiGHS.callSolver

    def recording(self, lp):
        original(self, lp)
        seen.append(self.time_limit_given)

    monkeypatch.setattr(WarmHiGHS, "callSolver", recording)
    began = time.perf_counter()
    run_solver(
        form.prob,
        solver="highs",
        time_limit=1_000.0,
        deadline=began + 7.0,
        mip_gap=1e-4,
        threads=None,
        msg=False,
        warm_start=False,
    )
    assert seen and seen[0] <= 7.0
    run_solver(
        form.prob,
        solver="highs",
        time_limit=3.0,
        deadline=began + 1_000.0,
        mip_gap=1e-4,
        threads=None,
        msg=False,
        warm_start=False,
    )
    assert seen[1] <= 3.0


def test_large_models_run_without_presolve(monkeypatch):
    problem = _towns()
    prob = build_formulation(problem, candidate_pairs(problem), "t").prob
    monkeypatch.setattr(backends, "PRESOLVE_MAX_COLUMNS", 0)
    engine = WarmHiGHS(msg=False, gapRel=1e-4)
    prob.solve(engine)
    assert any("Presolve is switched off" in line for line in engine.log_lines)
    monkeypatch.setattr(backends, "PRESOLVE_MAX_COLUMNS", 10**9)
    engine = WarmHiGHS(msg=False, gapRel=1e-4)
    prob.solve(engine)
    assert not any("Presolve is switched off" in line for line in engine.log_lines)


def test_a_node_limit_returns_the_incumbent():
    """HiGHS stopped by its node limit: the incumbent is read (PuLP 3.3 knows no kSolutionLimit)."""
    problem = _towns(n_units=120, n_sites=40, seed=5)
    plan = PolysystemModel(problem).solve(node_limit=1, mip_gap=0.0)
    assert plan.has_plan and plan.stats["nodes"] >= 1
    assert not plan.stats["stopped_by_time_limit"]
    again = PolysystemModel(problem).solve(node_limit=1, mip_gap=0.0)
    assert _plan_hash(again) == _plan_hash(plan)


def test_cli_solve_limit_keeps_a_reserve_for_writing():
    sys.path.insert(0, str(ROOT))
    try:
        import optimise
    finally:
        sys.path.remove(str(ROOT))
    now = time.perf_counter()
    limit = optimise._solve_limit(100.0, now + 90.0, n_units=100)
    assert limit <= 90.0 - (optimise._OUTPUT_RESERVE_S + optimise._OUTPUT_RESERVE_PER_UNIT_S * 100)
    # a build that ate the limit still leaves the solve half of it
    assert optimise._solve_limit(100.0, now - 5.0, n_units=100) == pytest.approx(50.0)
    assert optimise._solve_limit(None, None, n_units=100) is None


# ---------------------------------------------------------------------------- the neighbourhood search
def test_lns_reruns_do_not_depend_on_the_clock(monkeypatch):
    """Node counts, the seeded order and the hand-out order decide the plan, not seconds.

    The sub-models' safety limit is raised so that a loaded test machine cannot reach it
    (a sub-model it stops marks the plan time-dependent, as the next test shows).
    """
    monkeypatch.setattr(lns, "_SUB_LIMIT_S", 600.0)
    problem = _towns(n_units=90, n_sites=24, seed=7)
    reference = solve_lns(problem, workers=1, neighbourhood_units=20)
    monkeypatch.setattr(time, "perf_counter", _fake_clock(0.003))
    again = solve_lns(problem, workers=1, neighbourhood_units=20)
    assert _plan_hash(again) == _plan_hash(reference)
    assert not again.stats["stopped_by_time_limit"] and STOPPED_BY_TIME_LIMIT not in again.notes


def test_lns_cut_by_the_time_limit_says_so():
    problem = _towns(n_units=90, n_sites=24, seed=7)
    plan = solve_lns(problem, workers=1, time_limit=0.001)
    assert plan.has_plan
    assert plan.stats["stopped_by_time_limit"] and STOPPED_BY_TIME_LIMIT in plan.notes


# ---------------------------------------------------------------------------- the command
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "optimise.py"), *args],
        cwd=cwd,
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


#: solution.json fields that measure time (they may differ between reruns; nothing else may).
_TIMING = ("runtime_s", "load_s", "build_s", "solve_s", "heuristic_s", "seconds", "solve_time_limit_s")


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMING}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_cli_reruns_are_byte_identical_apart_from_timings(tmp_path):
    for name in ("a", "b"):
        result = _cli("demo", "--units", "lsoa", "--out", str(tmp_path / name), "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert STOPPED_BY_TIME_LIMIT not in result.stdout
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "assignments.csv").read_bytes() == (b / "assignments.csv").read_bytes()
    assert (a / "polysystems.csv").read_bytes() == (b / "polysystems.csv").read_bytes()
    ja, jb = (json.loads((d / "solution.json").read_text()) for d in (a, b))
    assert _without_timings(ja) == _without_timings(jb)
    assert ja["time_limit_s"] == 120.0 and ja["time_limit_margin_s"] == pytest.approx(16.0)
    assert ja["stopped_by_time_limit"] is False


def test_cli_run_cut_by_the_time_limit_says_so(tmp_path):
    result = _cli("demo", "--units", "lsoa", "--time-limit", "0.01", "--out", str(tmp_path / "o"), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"note: {STOPPED_BY_TIME_LIMIT}" in result.stdout
    record = json.loads((tmp_path / "o" / "solution.json").read_text())
    assert record["stopped_by_time_limit"] is True
    assert STOPPED_BY_TIME_LIMIT in record["notes"]
    assert record["time_limit_s"] == 0.01
    assert record["solve_time_limit_s"] <= 0.01
