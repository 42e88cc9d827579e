"""Scenario sweeps: the TOML schema, every grid point solved and re-checked, the Pareto front, the command."""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimise
from catchment import sweep as catchment_sweep
from catchment.build import build_demo
from catchment.metrics import capital_cost, objective_terms
from catchment.scenario import read_scenario
from catchment.sweep import SweepPoint, apply_point, parse_sweep, read_sweep, sweep_bases
from catchment.validate import validate_plan
from geodata.errors import ProblemDefinitionError, ScenarioError
from solvers.batch import SolveOptions
from solvers.sweep import SWEEP_COLUMNS, pareto_mask, run_sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.fixture(scope="module")
def demo_sweep(demo):
    spec = parse_sweep(
        {
            "sweep": {"base": "demo", "name": "demo grid"},
            "grid": {
                "floor": [50_000, 90_000],
                "polysystems": ["free", 4],
                "budget": ["none", 5e6],
                "mode": ["drive", "walk"],
            },
        }
    )
    result = run_sweep(
        spec, {None: demo}, options=SolveOptions(time_limit=60), not_applicable={"mode": "fixed travel times"}
    )
    return spec, result


def test_schema_reads_ranges_lists_and_words(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        '[sweep]\nname = "grid"\nbase = "demo"\ntime_limit = 30\nmaps = false\n'
        '[grid]\nfloor = {start = 30000, stop = 60000, step = 10000}\npolysystems = ["free", 5, [4, 6]]\n'
        'max_travel_min = ["none", 12.5]\nbudget = ["none", 0, 2000000]\nmode = ["drive", "walk"]\n'
    )
    spec = read_sweep(path)
    assert spec.axes["floor"] == (30_000.0, 40_000.0, 50_000.0, 60_000.0)
    assert spec.axes["polysystems"] == ((None, None), (5, 5), (4, 6))
    assert spec.axes["max_travel_min"] == (None, 12.5)
    assert spec.axes["budget"] == (None, 0.0, 2_000_000.0)
    assert spec.size() == 4 * 3 * 2 * 3 * 2 and spec.time_limit == 30 and spec.maps is False
    points = spec.points(skip_axes=("mode",))
    assert len(points) == 4 * 3 * 2 * 3 and "mode" not in points[0].params
    assert [p.plan_id for p in points[:2]] == ["P001", "P002"]
    assert points[0].label() == "floor=30,000, polysystems=free, max_travel_min=none, budget=none"


def test_schema_lists_every_problem_with_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[sweep]\nbase = "missing.toml"\ncolour = "red"\n'
        '[grid]\nfloor = [-5, "x"]\npolysystems = [0, [6, 4]]\nbudget = ["lots"]\nmode = ["bike"]\nspeed = [1]\n'
    )
    with pytest.raises(ScenarioError) as info:
        read_sweep(path)
    text = str(info.value)
    for expected in (
        "base scenario file not found",
        "[sweep] has unknown key(s) colour",
        "[grid] floor[0]",
        "[grid] floor[1]",
        "[grid] polysystems[0]",
        "[grid] polysystems[1]",
        "[grid] budget[0]",
        "[grid] mode[0]",
        "[grid] has unknown key(s) speed",
    ):
        assert expected in text, expected
    assert str(path) in text


def test_apply_point_changes_only_the_rules(demo):
    point = SweepPoint("P001", {"floor": 40_000.0, "polysystems": (4, 6), "max_travel_min": 15.0, "budget": None})
    variant = apply_point(demo.problem, point)
    r = variant.rules
    assert (r.floor, r.min_polysystems, r.max_polysystems, r.max_travel_min, r.budget) == (40_000, 4, 6, 15.0, None)
    assert variant.site_ids == demo.problem.site_ids and np.array_equal(variant.travel_min, demo.problem.travel_min)
    assert demo.problem.rules.floor == 50_000  # the base is not touched
    capped = dataclasses.replace(demo.problem, rules=dataclasses.replace(demo.problem.rules, ceiling=100_000))
    with pytest.raises(ProblemDefinitionError, match="ceiling"):
        apply_point(capped, SweepPoint("P002", {"floor": 120_000.0}))


def test_every_point_solved_and_rechecked(demo_sweep, demo):
    spec, result = demo_sweep
    table = result.frame()
    assert list(table.columns) == list(SWEEP_COLUMNS)
    assert len(table) == 8 and set(table["mode"]) == {"n/a"}  # the mode axis is not expanded
    assert result.not_applicable == {"mode": "fixed travel times"}
    for outcome in result.outcomes:
        problem = apply_point(demo.problem, outcome.point)
        if outcome.status == "infeasible":
            assert outcome.record is not None and not outcome.record.has_plan and outcome.note
            continue
        plan = outcome.record.plan
        assert validate_plan(problem, plan) == []
        terms = objective_terms(problem, plan)
        row = table.loc[table["plan_id"] == outcome.plan_id].iloc[0]
        assert row["mean_travel_min"] == pytest.approx(terms["mean_travel"])
        assert row["capital_cost"] == pytest.approx(capital_cost(problem, plan))
        assert row["n_polysystems"] == len(plan.hub_options)
        assert bool(row["validated"])
        if outcome.point.params["budget"] is not None:
            assert row["capital_cost"] <= outcome.point.params["budget"] + 1e-6
        if outcome.point.params["polysystems"] == (4, 4):
            assert row["n_polysystems"] == 4
    # 276,066 people cannot make four polysystems of 90,000
    infeasible = table.loc[table["status"] == "infeasible"]
    assert set(infeasible["floor"]) == {90_000.0} and set(infeasible["polysystems"]) == {"4"}
    assert infeasible["note"].str.contains("floor").all()


def test_pareto_front_is_the_set_of_non_dominated_plans(demo_sweep):
    _, result = demo_sweep
    table = result.frame()
    ok = table.loc[table["validated"].fillna(False).astype(bool)]
    figures = ok[["mean_travel_min", "capital_cost", "n_polysystems"]].to_numpy(dtype=float)
    for k, (plan_id, row) in enumerate(zip(ok["plan_id"], figures, strict=True)):
        dominated = any(np.all(other <= row) and np.any(other < row) for other in figures)
        assert bool(ok.iloc[k]["pareto"]) == (not dominated), plan_id
    assert not table.loc[~table["validated"].fillna(False).astype(bool), "pareto"].any()


def test_pareto_mask_brute_force():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 4, size=(30, 3)).astype(float)
    values[3] = np.nan
    mask = pareto_mask(values)
    for i, row in enumerate(values):
        if np.isnan(row).any():
            assert not mask[i]
            continue
        others = values[~np.isnan(values).any(axis=1)]
        assert mask[i] == (not any(np.all(o <= row) and np.any(o < row) for o in others))


def _mode_axis_bases(tmp_path, monkeypatch, demo, network: str):
    """The bases of a drive/walk sweep over an LSOA scenario on ``network``, and the modes built."""
    base = tmp_path / "net.toml"
    base.write_text(
        '[units]\ntype = "lsoa"\nbbox = [-0.2, 51.5, -0.1, 51.6]\n[sites]\nlargest_practices = 3\n'
        f'[travel]\nsource = "network"\nnetwork = "{network}"\n'
    )
    seen = []

    def fake_build(scenario, *, data_dir=None):
        seen.append(scenario.travel.mode)
        return demo

    monkeypatch.setattr(catchment_sweep, "build_from_scenario", fake_build)
    spec = parse_sweep({"sweep": {"base": str(base)}, "grid": {"mode": ["drive", "walk"]}})
    bases, not_applicable, _ = sweep_bases(spec, read_scenario(spec.base))
    return spec, bases, not_applicable, seen


def test_mode_axis_rebuilds_travel_for_a_network_scenario(tmp_path, monkeypatch, demo):
    spec, bases, not_applicable, seen = _mode_axis_bases(tmp_path, monkeypatch, demo, "osm/x.osm")
    assert seen == ["drive", "walk"] and set(bases) == {"drive", "walk"} and not not_applicable
    result = run_sweep(spec, bases, options=SolveOptions(time_limit=60))
    assert list(result.frame()["mode"]) == ["drive", "walk"]

    estimate = tmp_path / "est.toml"
    estimate.write_text(Path(spec.base).read_text().replace('source = "network"', 'source = "estimate"'))
    seen.clear()
    spec = parse_sweep({"sweep": {"base": str(estimate)}, "grid": {"mode": ["drive", "walk"], "floor": [50_000]}})
    bases, not_applicable, _ = sweep_bases(spec, read_scenario(spec.base))
    assert seen == ["drive"] and list(bases) == [None]
    assert "not a road network" in not_applicable["mode"]
    assert len(spec.points(skip_axes=tuple(not_applicable))) == 1


def test_sweep_command_on_the_demo(tmp_path):
    path = tmp_path / "demo-sweep.toml"
    path.write_text(
        '[sweep]\nname = "demo floors"\nbase = "demo"\nmaps = true\n'
        '[grid]\nfloor = [50000, 300000]\nmode = ["drive", "walk"]\n'
    )
    out = tmp_path / "out"
    assert optimise.main(["sweep", str(path), "--out", str(out), "--serial", "--quiet"]) == optimise.EXIT_OK
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["plan_id"]) == ["P001", "P002"] and list(table["status"]) == ["optimal", "infeasible"]
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert "<svg" in page and "not applicable" in page and "plans/P001/report.html" in page
    for name in (
        "assignments.csv",
        "polysystems.csv",
        "solution.json",
        "polysystems.gpkg",
        "map.html",
        "report.html",
        "map.png",
    ):
        assert (out / "plans" / "P001" / name).is_file(), name
    diagnosis = (out / "plans" / "P002" / "diagnosis.txt").read_text()
    assert "infeasible" in diagnosis and "300,000" in diagnosis


def test_redbridge_sweep_file_is_valid():
    spec = read_sweep(ROOT / "scenarios" / "redbridge-sweep.toml")
    assert Path(spec.base).name == "redbridge.toml" and spec.size() == 4 * 3 * 2 * 2 * 2
    assert list(itertools.islice(spec.axes, 5)) == ["floor", "polysystems", "max_travel_min", "budget", "mode"]


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ("floor = { start = 0, stop = 1e308, step = 1e-300 }", "[grid] floor stop must be a number of people at most"),
        ("floor = { start = 0, stop = 1e6, step = 1e-320 }", "[grid] floor gives too many values to count, more than"),
        ("floor = { start = 0, stop = 1e6, step = 10 }", "[grid] floor gives 100,001 values, more than"),
        ("floor = [1e300]", "[grid] floor[0] must be a number of people from 0 to"),
        ("max_travel_min = [1e300]", "[grid] max_travel_min[0] must be"),
        ("budget = [1e300]", "[grid] budget[0] must be"),
    ],
    ids=["range-stop-absurd", "range-step-absurd", "range-too-many", "floor-absurd", "travel-absurd", "budget-absurd"],
)
def test_absurd_grids_are_refused_with_the_limit(grid, expected):
    from catchment.problem import MAX_GBP
    from geodata.settings import MAX_POPULATION, MAX_TRAVEL_MIN

    with pytest.raises(ScenarioError) as info:
        parse_sweep({"sweep": {"base": "demo"}, "grid": tomllib.loads(grid)}, source="absurd.toml")
    text = str(info.value)
    assert f"absurd.toml: {expected}" in text, text
    limit = {
        "floor": f"{MAX_POPULATION:,}",
        "max_travel_min": f"{MAX_TRAVEL_MIN:,.0f}",
        "budget": f"{MAX_GBP:,.0f}",
    }[grid.split()[0]]
    assert limit in text or f"{catchment_sweep._MAX_POINTS:,}" in text, text


@pytest.mark.parametrize("value", [1e300, float("inf"), 0, -1])
def test_absurd_sweep_time_limit_is_refused_with_the_range(value):
    from catchment.settings import TIME_LIMIT_RANGE

    with pytest.raises(ScenarioError) as info:
        parse_sweep({"sweep": {"base": "demo", "time_limit": value}, "grid": {"floor": [40000]}}, source="absurd.toml")
    assert f"absurd.toml: [sweep] time_limit must be {TIME_LIMIT_RANGE}, got {value!r}" in str(info.value)


def test_mode_axis_does_not_apply_to_a_graphml_network(tmp_path, monkeypatch, demo):
    """Before, both modes were built from the same GraphML file: identical travel times, labelled drive and walk."""
    _, bases, not_applicable, seen = _mode_axis_bases(tmp_path, monkeypatch, demo, "networks/saved.GraphML")
    assert seen == ["drive"] and list(bases) == [None]
    assert "GraphML" in not_applicable["mode"]


def test_a_point_not_proven_optimal_says_so_in_the_table_the_page_and_the_terminal(tmp_path, monkeypatch, capsys):
    """A time-limited point is "feasible, not proven optimal" in sweep.csv, sweep.html and the terminal.

    The solve is made to return its plan as not proven (what a time limit does), so that the
    outcome does not depend on how fast the machine is.
    """
    import solvers.sweep as solvers_sweep
    from catchment.plan import NOT_PROVEN_OPTIMAL

    solve = solvers_sweep.solve_and_check

    def not_proven(problem, options):
        record = solve(problem, options)
        if record.status != "optimal":
            return record
        return dataclasses.replace(record, status="feasible", plan=dataclasses.replace(record.plan, status="feasible"))

    monkeypatch.setattr(solvers_sweep, "solve_and_check", not_proven)
    path = tmp_path / "demo-sweep.toml"
    path.write_text('[sweep]\nname = "demo floors"\nbase = "demo"\nmaps = false\n[grid]\nfloor = [50000, 300000]\n')
    out = tmp_path / "out"
    assert optimise.main(["sweep", str(path), "--out", str(out), "--serial", "--quiet", "--no-exports"]) == 0
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["status"]) == ["feasible", "infeasible"]
    assert table["status_label"][0] == NOT_PROVEN_OPTIMAL
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert f">{NOT_PROVEN_OPTIMAL}</td>" in page
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.lstrip().startswith("P001")]
    assert rows and NOT_PROVEN_OPTIMAL in rows[0]
    assert f"{NOT_PROVEN_OPTIMAL} 1" in printed
