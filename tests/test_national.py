"""The national run: per-CCG subproblems, CCGs below the floor, coverage of every practice, Dask."""

from __future__ import annotations

import json
import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

import optimise
from catchment.metrics import ASSIGNMENT_COLUMNS, POLYSYSTEM_COLUMNS
from catchment.national import NationalInput, ccg_subproblem, default_largest, registrations_by_ccg
from catchment.validate import validate_plan
from geodata.settings import BNG
from maps.html import escape
from solvers.batch import SolveOptions
from solvers.distributed import dask_client
from solvers.national import CCG_SUMMARY_COLUMNS, COVERAGE_COLUMNS, NATIONAL_TABLES, solve_national, solve_order

OPTIONS = SolveOptions(time_limit=60)
MINUTES_PER_METRE = 1.3 / (25.0 * 1000 / 60)  # crow-fly x1.3 at 25 km/h


def _practices() -> gpd.GeoDataFrame:
    rows = [  # CCG AAA: five practices, 150,000 patients; CCG BBB: one practice of 20,000
        ("P1", "AAA", 30_000, 530_000, 180_000),
        ("P2", "AAA", 30_000, 531_000, 180_500),
        ("P3", "AAA", 30_000, 534_000, 181_000),
        ("P4", "AAA", 30_000, 535_000, 182_000),
        ("P5", "AAA", 30_000, 532_500, 183_000),
        ("Q1", "BBB", 20_000, 560_000, 200_000),
    ]
    return gpd.GeoDataFrame(
        {
            "practice_code": [r[0] for r in rows],
            "name": [f"Practice {r[0]}" for r in rows],
            "ccg_code": [r[1] for r in rows],
            "list_size": pd.array([r[2] for r in rows], dtype="Int64"),
        },
        geometry=[Point(r[3], r[4]) for r in rows],
        crs=BNG,
    )


def _hospitals() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["H1", "H2"], "name": ["Near Hospital", "Far Hospital"]},
        geometry=[Point(532_000, 181_000), Point(600_000, 250_000)],
        crs=BNG,
    )


def _registrations() -> pd.DataFrame:
    rows = [
        ("P1", "L1", 20_000),
        ("P1", "L2", 10_000),
        ("P2", "L1", 30_000),
        ("P3", "L3", 30_000),
        ("P4", "L3", 15_000),
        ("P4", "L2", 15_000),
    ]  # P5 and Q1: no registrations by LSOA
    return pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])


def _centroids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"lsoa_code": ["L1", "L2", "L3"]},
        geometry=[Point(530_500, 180_000), Point(533_000, 182_000), Point(534_500, 181_500)],
        crs=BNG,
    )


def _subproblem(ccg: str):
    practices = _practices()
    return ccg_subproblem(
        ccg, practices.loc[practices["ccg_code"] == ccg], _hospitals(), _registrations(), _centroids()
    )


@pytest.fixture(scope="module")
def national() -> NationalInput:
    left_out = pd.DataFrame(
        {
            "practice_code": ["Z9"],
            "name": ["Unplaced"],
            "ccg_code": ["AAA"],
            "list_size": [1_000],
            "reason": ["no coordinates"],
        }
    )
    return NationalInput(
        subproblems=(_subproblem("AAA"), _subproblem("BBB")),
        practices=_practices(),
        left_out=left_out,
        floor=50_000.0,
        travel_label="estimate: test",
    )


@pytest.fixture(scope="module")
def serial(national):
    return solve_national(national, options=OPTIONS)


def test_ccg_subproblem_sites_and_travel():
    sub = _subproblem("AAA")
    problem = sub.problem
    assert sub.solvable and sub.population == 150_000 and sub.practices == ("P1", "P2", "P3", "P4", "P5")
    assert sub.n_hospitals == 1 and sub.n_practice_sites == default_largest(150_000, 50_000, 5) == 5
    assert set(problem.site_ids) == {"H1", "P1", "P2", "P3", "P4", "P5"}  # the far hospital is not a candidate
    assert problem.travel_source == "estimate" and "estimate" in problem.travel_label
    # P1: patient-weighted over its LSOAs (2/3 in L1, 1/3 in L2); P5: from its own location
    h = problem.site_index("H1")
    l1, l2 = np.hypot(530_500 - 532_000, 180_000 - 181_000), np.hypot(533_000 - 532_000, 182_000 - 181_000)
    expected = (2 / 3 * l1 + 1 / 3 * l2) * MINUTES_PER_METRE
    assert problem.travel_min[problem.unit_index("P1"), h] == pytest.approx(expected)
    own = np.hypot(532_500 - 532_000, 183_000 - 181_000) * MINUTES_PER_METRE
    assert problem.travel_min[problem.unit_index("P5"), h] == pytest.approx(own)
    assert sub.registrations_covered == pytest.approx(120_000 / 150_000)
    assert default_largest(2_000_000, 50_000, 300) == 80 and default_largest(60_000, 50_000, 3) == 3


def _same_subproblem(a, b) -> None:
    assert (a.ccg_code, a.practices, a.population, a.n_hospitals, a.n_practice_sites) == (
        b.ccg_code,
        b.practices,
        b.population,
        b.n_hospitals,
        b.n_practice_sites,
    )
    assert a.registrations_covered == b.registrations_covered or (
        np.isnan(a.registrations_covered) and np.isnan(b.registrations_covered)
    )
    assert (a.problem is None) == (b.problem is None)
    if a.problem is not None:
        assert a.problem.unit_ids == b.problem.unit_ids and a.problem.site_ids == b.problem.site_ids
        np.testing.assert_array_equal(a.problem.population, b.problem.population)
        np.testing.assert_array_equal(a.problem.travel_min, b.problem.travel_min)  # bit for bit


def test_registrations_split_once_by_ccg_give_the_same_subproblems():
    practices, registrations = _practices(), _registrations()
    extra = pd.DataFrame({"practice_code": ["X1"], "lsoa_code": ["L1"], "patients": [5]})  # not a placed practice
    registrations = pd.concat([extra, registrations], ignore_index=True)
    split = registrations_by_ccg(registrations, practices)
    assert sorted(split) == ["AAA"]  # BBB's only practice has no registration rows; X1 is dropped
    assert list(split["AAA"]["practice_code"]) == ["P1", "P1", "P2", "P3", "P4", "P4"]  # file order kept
    for ccg in ("AAA", "BBB"):
        group = practices.loc[practices["ccg_code"] == ccg]
        whole = ccg_subproblem(ccg, group, _hospitals(), registrations, _centroids())
        own = ccg_subproblem(ccg, group, _hospitals(), split.get(ccg, registrations.iloc[:0]), _centroids())
        _same_subproblem(whole, own)


def test_national_subproblems_equal_the_per_ccg_filtering_on_real_data(real_data):
    from catchment.national import NATIONAL_FILES, national_subproblems
    from geodata.nhs import read_practice_lsoa
    from geodata.ons import read_lsoa_centroids
    from geodata.practices import load_hospitals

    ccgs = ["08N", "07W", "99A"]
    national = national_subproblems(real_data, ccgs=ccgs)
    registrations = read_practice_lsoa(real_data / NATIONAL_FILES["registrations"])
    centroids = read_lsoa_centroids(real_data / NATIONAL_FILES["centroids"])
    hospitals = load_hospitals(real_data, sector="NHS")
    assert [s.ccg_code for s in national.subproblems] == sorted(ccgs)
    for sub in national.subproblems:
        group = national.practices.loc[national.practices["ccg_code"] == sub.ccg_code]
        _same_subproblem(sub, ccg_subproblem(sub.ccg_code, group, hospitals, registrations, centroids))


def test_ccg_below_the_floor_is_reported_not_merged():
    sub = _subproblem("BBB")
    assert not sub.solvable and sub.problem is None
    assert sub.shortfall == 30_000 and "not merged" in sub.reason and "30,000" in sub.reason


def test_every_practice_is_assigned_or_listed(serial, national):
    coverage = serial.coverage()
    assert list(coverage.columns) == list(COVERAGE_COLUMNS)
    assert sorted(coverage["practice_code"]) == ["P1", "P2", "P3", "P4", "P5", "Q1", "Z9"]
    status = dict(zip(coverage["practice_code"], coverage["status"], strict=True))
    assert status == {
        "P1": "assigned",
        "P2": "assigned",
        "P3": "assigned",
        "P4": "assigned",
        "P5": "assigned",
        "Q1": "below_floor",
        "Z9": "left_out",
    }
    unassigned = coverage.loc[coverage["status"] != "assigned"]
    assert unassigned["reason"].str.len().gt(0).all()
    summary = serial.summary()
    assert summary["practices"] == 7 and summary["practices_accounted_share"] == 1.0
    assert summary["practices_assigned_share"] == pytest.approx(5 / 7)
    json.dumps(summary)  # JSON-safe


def test_national_tables(serial, national):
    assignments, polysystems = serial.assignments(), serial.polysystems()
    assert list(assignments.columns[: len(ASSIGNMENT_COLUMNS)]) == list(ASSIGNMENT_COLUMNS)
    assert list(polysystems.columns[: len(POLYSYSTEM_COLUMNS)]) == list(POLYSYSTEM_COLUMNS)
    assert "ccg_code" in assignments and "ccg_code" in polysystems
    assert (polysystems["hub_shared_with"] == "").all()  # one CCG planned: no site shared
    assert assignments["polysystem_id"].str.startswith("AAA-PS").all()
    assert polysystems["population"].sum() == 150_000 and (polysystems["population"] >= 50_000).all()
    outcome = next(o for o in serial.outcomes if o.subproblem.ccg_code == "AAA")
    assert validate_plan(outcome.subproblem.problem, outcome.record.plan) == []
    summary = serial.ccg_summary()
    assert list(summary.columns) == list(CCG_SUMMARY_COLUMNS)
    rows = summary.set_index("ccg_code")
    assert rows.loc["AAA", "status"] == "optimal" and rows.loc["AAA", "polysystems"] == len(polysystems)
    assert rows.loc["BBB", "status"] == "below_floor" and rows.loc["BBB", "shortfall"] == 30_000
    assert rows.loc["BBB", "polysystems"] == 0 and "floor" in rows.loc["BBB", "reason"]


def test_solve_order_is_longest_first_and_skips_ccgs_below_the_floor():
    from dataclasses import replace
    from types import SimpleNamespace

    def sub(code: str, units: int, sites: int):
        return replace(_subproblem("AAA"), ccg_code=code, problem=SimpleNamespace(n_units=units, n_sites=sites))

    subs = [sub("A", 10, 5), sub("B", 200, 100), sub("C", 50, 50), sub("D", 100, 25), _subproblem("BBB")]
    # pairs: A 50, B 20,000, C 2,500, D 2,500 (tie: by code); BBB is below the floor
    assert [s.ccg_code for s in solve_order(subs)] == ["B", "C", "D", "A"]


def test_write_tables(serial, tmp_path):
    paths = serial.write_tables(tmp_path)
    assert [p.name for p in paths] == list(NATIONAL_TABLES) and all(p.is_file() for p in paths)
    coverage = pd.read_csv(tmp_path / "coverage.csv")
    assert list(coverage.columns) == list(COVERAGE_COLUMNS) and len(coverage) == 7


def test_national_on_dask_equals_serial(serial, national):
    with dask_client(workers=2) as client:
        parallel = solve_national(national, options=OPTIONS, client=client)
    pd.testing.assert_frame_equal(serial.assignments(), parallel.assignments())
    pd.testing.assert_frame_equal(serial.coverage(), parallel.coverage())
    pd.testing.assert_frame_equal(
        serial.ccg_summary().drop(columns="runtime_s"), parallel.ccg_summary().drop(columns="runtime_s")
    )


def test_national_command_on_one_real_ccg(real_data, tmp_path):
    out = tmp_path / "national"
    travel_log = logging.getLogger("catchment.travel")
    level = travel_log.level
    code = optimise.main(
        ["national", "--ccg", "08N", "--serial", "--out", str(out), "--data-dir", str(real_data), "--quiet"]
    )
    assert code == optimise.EXIT_OK
    assert travel_log.level == level  # quietened for the run only: later scenario builds log as before
    assignments = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    polysystems = pd.read_csv(out / "polysystems.csv")
    ccgs = pd.read_csv(out / "ccg_summary.csv")
    coverage = pd.read_csv(out / "coverage.csv")
    summary = json.loads((out / "national.json").read_text())
    # Redbridge CCG: 42 practices, 337,420 registered patients (Jan 2021)
    assert len(assignments) == 42 and assignments["population"].sum() == 337_420
    assert set(assignments["ccg_code"]) == {"08N"} and (polysystems["population"] >= 50_000).all()
    assert ccgs["ccg_code"].tolist() == ["08N"] and ccgs["status"].iloc[0] in ("optimal", "feasible")
    assert ccgs["hospital_sites"].iloc[0] >= 1 and ccgs["practices"].iloc[0] == 42
    assert (coverage["status"] == "assigned").all() and len(coverage) == 42
    assert summary["practices_accounted_share"] == 1.0 and "estimate" in summary["travel_label"]


def test_a_ccg_not_proven_optimal_and_placeholder_costs_are_labelled(real_data, tmp_path, monkeypatch, capsys):
    """A CCG whose solve stopped before proof is "feasible, not proven optimal" in the terminal,
    ccg_summary.csv and national.json; the built-in costs are labelled placeholders there too.

    The solve is made to return its plan as not proven (what a time limit does), so that the
    outcome does not depend on how fast the machine is.
    """
    import dataclasses

    import solvers.national as solvers_national
    from catchment.plan import NOT_PROVEN_OPTIMAL
    from catchment.problem import PLACEHOLDER_COSTS_NOTE

    solve = solvers_national.solve_and_check

    def not_proven(problem, options):
        record = solve(problem, options)
        plan = dataclasses.replace(record.plan, status="feasible", gap=0.0123)
        return dataclasses.replace(record, status="feasible", gap=0.0123, plan=plan)

    monkeypatch.setattr(solvers_national, "solve_and_check", not_proven)
    out = tmp_path / "national"
    argv = ["national", "--ccg", "08N", "--serial", "--out", str(out), "--data-dir", str(real_data), "--quiet"]
    assert optimise.main(argv) == optimise.EXIT_OK
    printed = capsys.readouterr().out
    assert f"CCGs: {NOT_PROVEN_OPTIMAL} 1" in printed
    assert f"08N: {NOT_PROVEN_OPTIMAL} (gap 1.23%)" in printed
    assert f"note: {PLACEHOLDER_COSTS_NOTE}" in printed
    ccgs = pd.read_csv(out / "ccg_summary.csv")
    assert ccgs["status_label"].tolist() == [NOT_PROVEN_OPTIMAL]
    assert ccgs["capital_cost_source"].tolist() == ["placeholder"]
    summary = json.loads((out / "national.json").read_text())
    assert summary["ccgs_not_proven_optimal"] == ["08N"]
    assert summary["capital_costs_source"] == "placeholder" and summary["capital_costs_note"] == PLACEHOLDER_COSTS_NOTE


@pytest.fixture(scope="module")
def not_proven_comparison(real_data, tmp_path_factory):
    """``national --compare pcn`` on one real CCG whose solve stops before proof (what a time
    limit does; made so, so that the outcome does not depend on how fast the machine is)."""
    import dataclasses

    import solvers.national as solvers_national

    solve = solvers_national.solve_and_check

    def not_proven(problem, options):
        record = solve(problem, options)
        plan = dataclasses.replace(record.plan, status="feasible", gap=0.0123)
        return dataclasses.replace(record, status="feasible", gap=0.0123, plan=plan)

    import contextlib
    import io

    out = tmp_path_factory.mktemp("national") / "out"
    argv = ["national", "--ccg", "08N", "--serial", "--compare", "pcn", "--out", str(out)]
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.setattr(solvers_national, "solve_and_check", not_proven)
        assert optimise.main([*argv, "--data-dir", str(real_data), "--quiet"]) == optimise.EXIT_OK
    (out.parent / "terminal.txt").write_text(printed.getvalue(), encoding="utf-8")  # what the command printed
    return out


def test_a_comparison_with_a_plan_not_proven_optimal_does_not_call_it_the_optimum(not_proven_comparison):
    from catchment.plan import NOT_PROVEN_OPTIMAL
    from solvers.national import PCN_COMPARISON_COLUMNS

    table = pd.read_csv(not_proven_comparison / "pcn_comparison.csv")
    assert list(table.columns) == list(PCN_COMPARISON_COLUMNS)
    assert table["optimised_status"].tolist() == ["feasible"]  # the machine column is kept
    assert table["optimised_status_label"].tolist() == [NOT_PROVEN_OPTIMAL]
    page = (not_proven_comparison / "pcn_comparison.html").read_text(encoding="utf-8")
    assert "optimum" not in page
    assert escape(f"the engine's plan under the same rules ({NOT_PROVEN_OPTIMAL} for the CCG 08N)") in page
    assert f"<td>feasible</td><td>{NOT_PROVEN_OPTIMAL}</td>" in page  # the row says it beside the status


def test_the_comparison_page_calls_plans_all_proven_optimal_the_optimum_and_words_each_status():
    from maps.national import pcn_comparison_html
    from solvers.national import PCN_COMPARISON_COLUMNS

    row = dict.fromkeys(PCN_COMPARISON_COLUMNS, math.nan) | {
        "ccg_code": "AAA",
        "optimised_status": "optimal",
        "optimised_polysystems": 2,
        "optimised_status_label": "optimal (proven)",
    }
    page = pcn_comparison_html(pd.DataFrame([row]), {}, travel_label="estimate")
    assert escape("the engine's optimum under the same rules") in page and "not proven" not in page
    assert "<td>optimal</td><td>optimal (proven)</td>" in page  # the status in words beside the status


def test_the_national_tables_say_the_travel_times_are_the_estimate(not_proven_comparison):
    """ccg_summary.csv and pcn_comparison.csv carry travel_source, as run's CSV files do, and the
    comparison page's travel headings say "(estimate)"."""
    from catchment.problem import ESTIMATE_LABEL

    ccgs = pd.read_csv(not_proven_comparison / "ccg_summary.csv")
    assert list(ccgs.columns) == list(CCG_SUMMARY_COLUMNS) and ccgs["travel_source"].tolist() == ["estimate"]
    table = pd.read_csv(not_proven_comparison / "pcn_comparison.csv")
    assert table["travel_source"].tolist() == ["estimate"]
    page = (not_proven_comparison / "pcn_comparison.html").read_text(encoding="utf-8")
    for column in ("pcn_mean_travel_min", "optimised_mean_travel_min", "improvement_pct"):
        assert f"<th>{column}{ESTIMATE_LABEL}</th>" in page
    assert f"<th>Median improvement in mean travel{ESTIMATE_LABEL}</th>" in page
    assert f"<th>Middle half of the CCGs{ESTIMATE_LABEL}</th>" in page
    printed = (not_proven_comparison.parent / "terminal.txt").read_text(encoding="utf-8")
    assert f"the optimised plans improve mean travel{ESTIMATE_LABEL} by " in printed


def test_the_comparison_page_labels_travel_headings_only_for_the_estimate():
    from maps.national import pcn_comparison_html
    from solvers.national import PCN_COMPARISON_COLUMNS

    def page(source: str) -> str:
        row = dict.fromkeys(PCN_COMPARISON_COLUMNS, math.nan) | {"ccg_code": "AAA", "travel_source": source}
        return pcn_comparison_html(pd.DataFrame([row]), {}, travel_label=source)

    assert "<th>pcn_mean_travel_min (estimate)</th>" in page("estimate")
    network = page("network")
    assert "<th>pcn_mean_travel_min</th>" in network and "(estimate)" not in network
