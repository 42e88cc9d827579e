"""Every verdict and figure shown to users is true: rule-breaking configurations, coverage of the
whole selection, placeholder capital costs, one Pareto front per travel mode, real boroughs."""

from __future__ import annotations

import dataclasses
import html
import io
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimise
from catchment.build import build_demo, build_from_scenario
from catchment.metrics import plan_summary
from catchment.plan import PLAN_STATUSES, Plan
from catchment.scenario import parse_scenario, read_scenario
from catchment.sweep import parse_sweep
from catchment.validate import Violation, validate_plan
from geodata.errors import InputDataError
from maps.sweep import pareto_figure, sweep_report_html
from solvers.batch import SolveOptions
from solvers.sweep import pareto_mask, run_sweep

ROOT = Path(__file__).resolve().parents[1]
REDBRIDGE = ROOT / "scenarios" / "redbridge.toml"
PLACEHOLDER_NOTE = "capital costs are placeholders"


def _run(*argv: str) -> int:
    return optimise.main([*argv, "--quiet"])


# ---------------------------------------------------------------------------- rule-breaking configurations
def test_breaks_rules_is_a_status_with_the_broken_rules():
    assert "breaks_rules" in PLAN_STATUSES
    one = Violation("floor", "polysystem PS01 has 12 people, below the floor of 50")
    plan = Plan({"u": "s"}, {"s": "reuse"}, "breaks_rules", violations=(one,))
    assert plan.status_label == "breaks 1 rule" and not plan.proven_optimal
    assert Plan({"u": "s"}, {"s": "reuse"}, "breaks_rules", violations=(one, one)).status_label == "breaks 2 rules"
    with pytest.raises(ValueError, match="violations"):
        Plan({"u": "s"}, {"s": "reuse"}, "breaks_rules")
    with pytest.raises(ValueError, match="violations"):
        Plan({"u": "s"}, {"s": "reuse"}, "feasible", violations=(one,))


@pytest.fixture(scope="module")
def redbridge_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rb") / "run"
    assert _run("run", str(REDBRIDGE), "--out", str(out)) == optimise.EXIT_OK
    return out


def test_evaluate_of_a_rule_breaking_configuration(redbridge_run, tmp_path, capsys):
    assignments = pd.read_csv(redbridge_run / "assignments.csv", dtype=str)
    capsys.readouterr()

    # the optimal plan as a configuration: satisfies every rule, exit 0
    config = tmp_path / "config.csv"
    assignments[["unit_id", "polysystem_id", "hub_site_id"]].to_csv(config, index=False)
    good = tmp_path / "good"
    assert _run("evaluate", str(REDBRIDGE), "--plan", str(config), "--out", str(good)) == optimise.EXIT_OK
    solution = json.loads((good / "solution.json").read_text())
    assert solution["status"] == "feasible" and solution["violations"] == []
    assert "satisfies every rule" in (good / "report.html").read_text(encoding="utf-8")
    assert "satisfies every rule" in capsys.readouterr().out

    # one practice split off on its own: two polysystems below the floor
    broken = assignments[["unit_id", "polysystem_id"]].copy()
    broken.loc[broken.index[0], "polysystem_id"] = "TINY"
    broken.to_csv(config, index=False)
    out = tmp_path / "bad"
    assert _run("evaluate", str(REDBRIDGE), "--plan", str(config), "--out", str(out)) == optimise.EXIT_BREAKS_RULES
    assert optimise.EXIT_BREAKS_RULES == 6

    # the validator is the one source of the list
    built = build_from_scenario(read_scenario(REDBRIDGE))
    from catchment.evaluate import plan_from_configuration

    plan = plan_from_configuration(built.problem, pd.read_csv(config, dtype=str))
    expected = validate_plan(built.problem, plan)
    assert [v.rule for v in expected] == ["floor", "floor"] and list(plan.violations) == expected

    solution = json.loads((out / "solution.json").read_text())
    assert solution["status"] == "breaks_rules" and solution["status_label"] == "breaks 2 rules"
    assert solution["proven_optimal"] is False
    assert [(v["rule"], v["message"]) for v in solution["violations"]] == [(v.rule, v.message) for v in expected]
    assert (out / "violations.txt").read_text() == "".join(f"{v}\n" for v in expected)

    stdout = capsys.readouterr().out
    assert "BREAKS 2 RULES" in stdout and "The configuration breaks 2 rules:" in stdout
    assert "satisfies every rule" not in stdout
    for v in expected:
        assert v.message in stdout

    report = (out / "report.html").read_text(encoding="utf-8")
    headline = report[report.index("<div class='status") :]
    headline = headline[: headline.index("</div>")]
    assert "the configuration breaks 2 rules" in headline
    for v in expected:
        assert html.escape(str(v)) in headline
    assert "satisfies every rule" not in report

    page = (out / "map.html").read_text(encoding="utf-8")
    assert "breaks 2 rules" in page and "satisfies every rule" not in page
    for v in expected:  # the key is stored as a JSON string: compare the part without quotes
        assert v.message.split(")) ")[-1] in page


# ---------------------------------------------------------------------------- coverage of the whole selection
ELR = """
[scenario]
name = "East Leicestershire and Rutland"
[units]
type = "practice"
ccg = "03W"
[sites]
hospitals_within_m = 3000
largest_practices = 10
[travel]
source = "estimate"
[rules]
floor = 30000
{rules}
[data]
{data}
"""


def _elr(tmp_path: Path, *, rules: str = "", data: str = "") -> Path:
    path = tmp_path / "elr.toml"
    path.write_text(ELR.format(rules=rules, data=data))
    return path


@pytest.fixture
def choices_without_oakham(tmp_path, real_data):
    """The NHS Choices GP file with Oakham Medical Practice (C82010, Rutland) taken out."""
    source = real_data / "england" / "nhs-choices-gp_2019.csv"
    lines = source.read_bytes().split(b"\n")
    kept = [line for line in lines if b"\xacC82010\xac" not in line]
    assert len(kept) == len(lines) - 1
    target = tmp_path / "nhs-choices-gp-no-oakham.csv"
    target.write_bytes(b"\n".join(kept))
    return target


@pytest.mark.filterwarnings("default::geodata.errors.DataWarning")  # the data's warning, logged by the command
def test_coverage_counts_a_practice_dropped_for_missing_coordinates(
    tmp_path, real_data, choices_without_oakham, capsys, caplog
):
    # Code-Point Open covers London only: Oakham (LE15 6NT) cannot be placed at all
    scenario = _elr(tmp_path, data=f'nhs_choices = "{choices_without_oakham}"')
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):  # the command routes warnings through logging
        assert _run("run", str(scenario), "--data-dir", str(real_data), "--out", str(out)) == optimise.EXIT_OK
    assert any("DataWarning" in r.getMessage() and "C82010" in r.getMessage() for r in caplog.records)
    # 31 practices of 338,663 patients in the CCG; Oakham has 15,938 of them
    solution = json.loads((out / "solution.json").read_text())
    summary = solution["summary"]
    assert summary["n_units"] == 30 and summary["n_units_dropped"] == 1
    assert summary["selection_population"] == 338_663 and summary["total_population"] == 338_663 - 15_938
    assert solution["coverage"] == pytest.approx((338_663 - 15_938) / 338_663)
    assert solution["coverage"] < 1.0
    assert solution["coverage_text"] == (
        "95.3% of the population of the selection (338,663 people; 1 unit dropped: "
        "no coordinates (none usable in NHS Choices, postcode not in Code-Point Open): 1)"
    )
    dropped = pd.read_csv(out / "dropped.csv", dtype={"unit_id": str})
    assert dropped.to_dict("records") == [
        {
            "unit_id": "C82010",
            "name": "OAKHAM MEDICAL PRACTICE",
            "population": 15_938.0,
            "reason": "no coordinates (none usable in NHS Choices, postcode not in Code-Point Open)",
        }
    ]
    stdout = capsys.readouterr().out
    assert "covering 95.3% of the population of the selection" in stdout and "1 unit dropped" in stdout
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "95.3%" in report and "C82010" in report and "OAKHAM MEDICAL PRACTICE" in report
    assert "100.0% of the population" not in report
    assert "95.3% of the population of the selection" in (out / "map.html").read_text(encoding="utf-8")


def test_nothing_dropped_gives_an_empty_dropped_file(redbridge_run):
    dropped = pd.read_csv(redbridge_run / "dropped.csv")
    assert list(dropped.columns) == ["unit_id", "name", "population", "reason"] and dropped.empty
    solution = json.loads((redbridge_run / "solution.json").read_text())
    assert solution["coverage"] == 1.0 and solution["summary"]["selection_population"] == 337_420


# ---------------------------------------------------------------------------- placeholder capital costs
def test_placeholder_costs_are_labelled_in_every_output(redbridge_run):
    solution = json.loads((redbridge_run / "solution.json").read_text())
    assert solution["capital_costs_source"] == "placeholder"
    assert solution["capital_costs_note"].startswith(PLACEHOLDER_NOTE)
    assert solution["problem"]["capital_costs_source"] == "placeholder"
    polysystems = pd.read_csv(redbridge_run / "polysystems.csv")
    assert (polysystems["capital_cost_source"] == "placeholder").all()
    report = (redbridge_run / "report.html").read_text(encoding="utf-8")
    assert PLACEHOLDER_NOTE in report and "Total capital (placeholder)" in report
    assert "Capital by hub option (total £1.75m) (placeholder)" in report
    page = (redbridge_run / "map.html").read_text(encoding="utf-8")
    assert PLACEHOLDER_NOTE in page and "(placeholder)" in page


def test_estimated_travel_times_are_labelled_in_every_output(redbridge_run):
    """redbridge.toml's travel times are the crow-fly estimate: each travel figure or its heading
    says "estimate" (the tables, the workbook, the GeoJSON, the report, the map's popups)."""
    import openpyxl

    from catchment.problem import ESTIMATE_LABEL

    for name in ("polysystems.csv", "assignments.csv"):
        assert (pd.read_csv(redbridge_run / name)["travel_source"] == "estimate").all(), name
    for name in ("polysystems.geojson", "units.geojson"):
        features = json.loads((redbridge_run / name).read_text())["features"]
        assert {f["properties"]["travel_source"] for f in features} == {"estimate"}, name
    book = openpyxl.load_workbook(redbridge_run / "plan.xlsx", read_only=True)
    headings = {
        name: [c.value for c in next(book[name].iter_rows(max_row=1))] for name in ("Polysystems", "Assignments")
    }
    assert f"Mean travel (min){ESTIMATE_LABEL}" in headings["Polysystems"]
    assert f"Longest travel (min){ESTIMATE_LABEL}" in headings["Polysystems"]
    assert f"Travel to hub (min){ESTIMATE_LABEL}" in headings["Assignments"]
    report = (redbridge_run / "report.html").read_text(encoding="utf-8")
    for words in (
        "Mean travel to hub",
        "Longest travel to hub",
        "<th class='n'>Mean travel",
        "<th class='n'>Travel to hub",
    ):
        assert f"{words}{ESTIMATE_LABEL}" in report, words
    assert f"Distribution of travel times{ESTIMATE_LABEL}" in report
    page = html.unescape((redbridge_run / "map.html").read_text(encoding="utf-8"))
    assert page.count(f"min{ESTIMATE_LABEL}") > 40  # the key, every hub's and every practice's popup


def _demo_sweep(tmp_path: Path, capsys) -> str:
    """Run a one-point sweep of the demo into ``tmp_path / "sweep"``; return what it printed."""
    sweep = tmp_path / "grid.toml"
    sweep.write_text('[sweep]\nname = "grid"\nbase = "demo"\nmaps = false\n[grid]\nfloor = [50000]\n')
    assert _run("sweep", str(sweep), "--serial", "--no-exports", "--out", str(tmp_path / "sweep")) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("source", ["network", "estimate"])
def test_terminal_sweep_and_shortlist_label_estimated_travel(source, tmp_path, capsys, monkeypatch):
    """Travel figures say "(estimate)" on an estimate only, in the terminal, sweep.html and the shortlist map.

    run's objective line and polysystem table, sweep's table, sweep.html's travel and objective
    headings and its chart's travel axis, shortlist's optimum in the terminal and on its map.
    The demo (a road network) is also run as if its travel times were the crow-fly estimate:
    the commands build it through ``build_demo``.
    """
    import catchment.build
    import catchment.sweep
    from catchment.metrics import objective_estimate_label
    from catchment.problem import ESTIMATE_LABEL, Objective
    from solvers import solve

    built = build_demo()
    if source == "estimate":
        built = dataclasses.replace(built, problem=dataclasses.replace(built.problem, travel_source="estimate"))
        for module in (catchment.build, catchment.sweep):
            monkeypatch.setattr(module, "build_demo", lambda **_: built)
    label = ESTIMATE_LABEL if source == "estimate" else ""

    plan = solve(built.problem, time_limit=60)
    optimise._report(built, plan, tmp_path)
    printed = capsys.readouterr().out
    assert f" mean_travel_min{label}  max_travel_min{label} " in printed
    assert f"objective {plan.objective:.4f}{label}  bound {plan.bound:.4f}{label}  gap " in printed
    printed += _demo_sweep(tmp_path, capsys)
    assert f" mean_travel_min{label}  capital_cost " in printed
    page = (tmp_path / "sweep" / "sweep.html").read_text(encoding="utf-8")
    for heading in ("objective", "mean travel (min)", "longest (min)"):
        assert f">{heading}{label}</th>" in page, heading
    assert f"population-weighted mean travel to the hub (minutes){label}<" in page  # the chart's axis
    assert (ESTIMATE_LABEL in page) == (source == "estimate")
    assert _run("shortlist", "demo", "--serial", "--no-exports", "--out", str(tmp_path / "shortlist")) == 0
    printed += capsys.readouterr().out
    optimum = json.loads((tmp_path / "shortlist" / "shortlist.json").read_text())["optimum"]
    assert f"optimum {optimum:.4f}{label}, " in printed
    page = (tmp_path / "shortlist" / "shortlist.html").read_text(encoding="utf-8")
    assert f"Optimum: {optimum:.4f}{label} (" in page
    assert (ESTIMATE_LABEL in page) == (source == "estimate")
    phased = tmp_path / "phase"
    assert _run("phase", "demo", "--years", "2", "--annual-budget", "1e6", "--no-exports", "--out", str(phased)) == 0
    printed += capsys.readouterr().out
    assert re.search(rf"Plan: .*, objective \d+\.\d{{4}}{re.escape(label)}\.\n", printed)
    assert (ESTIMATE_LABEL in printed) == (source == "estimate")  # a road network's figures: as before
    capital_only = dataclasses.replace(built.problem, objective=Objective({"capital": 1.0}))
    assert objective_estimate_label(capital_only) == ""  # an objective of GBP alone is no travel estimate


@pytest.mark.parametrize("costs", ["placeholder", "scenario"])
def test_terminal_tables_head_placeholder_capital(costs, tmp_path, capsys, monkeypatch):
    """run's and sweep's tables head their capital column "capital_cost (placeholder)" on placeholders only.

    The demo's costs are placeholders; it is also run as if its scenario had supplied them.
    """
    import catchment.build
    import catchment.sweep
    from catchment.problem import PLACEHOLDER_LABEL
    from solvers import solve

    built = build_demo()
    if costs == "scenario":
        options = tuple(dataclasses.replace(o, placeholder=False) for o in built.problem.options)
        built = dataclasses.replace(built, problem=dataclasses.replace(built.problem, options=options))
        for module in (catchment.build, catchment.sweep):
            monkeypatch.setattr(module, "build_demo", lambda **_: built)
    assert built.problem.capital_costs_source == costs
    heading = "capital_cost" + (PLACEHOLDER_LABEL if costs == "placeholder" else "")

    optimise._report(built, solve(built.problem, time_limit=60), tmp_path)
    printed = capsys.readouterr().out
    assert f" max_travel_min  {heading}\n" in printed
    printed += _demo_sweep(tmp_path, capsys)
    assert f" mean_travel_min  {heading}  n_polysystems " in printed
    assert (PLACEHOLDER_LABEL in printed) == (costs == "placeholder")  # supplied costs: as before


def test_costs_the_scenario_supplies_are_not_placeholders(tmp_path, capsys):
    text = REDBRIDGE.read_text() + (
        "\n[sites.options.hospital]\nreuse = 600000\nnew_build = 11000000\n"
        "\n[sites.options.community]\nreuse = 300000\nrefurbish = 1500000\n"
    )
    scenario = tmp_path / "rb-costs.toml"
    scenario.write_text(text)
    out = tmp_path / "out"
    assert _run("run", str(scenario), "--out", str(out)) == optimise.EXIT_OK
    solution = json.loads((out / "solution.json").read_text())
    assert solution["capital_costs_source"] == "scenario" and solution["capital_costs_note"] is None
    assert (pd.read_csv(out / "polysystems.csv")["capital_cost_source"] == "scenario").all()
    assert "placeholder" not in capsys.readouterr().out
    for name in ("report.html", "map.html"):
        page = (out / name).read_text(encoding="utf-8")
        assert PLACEHOLDER_NOTE not in page and "(placeholder)" not in page, name


def test_costs_given_for_one_site_type_leave_the_other_placeholder(real_data):
    raw = {
        "units": {"type": "practice", "ccg": "08N"},
        "sites": {"largest_practices": 4, "options": {"hospital": {"reuse": 1.0}}},
        "travel": {"source": "estimate"},
    }
    built = build_from_scenario(parse_scenario(raw), data_dir=real_data)
    flags = {
        (o.site_id, built.problem.site_types[built.problem.site_index(o.site_id)]): o.placeholder
        for o in built.problem.options
    }
    assert {t for (_, t), p in flags.items() if p} == {"community"}
    assert {t for (_, t), p in flags.items() if not p} == {"hospital"}
    assert built.problem.capital_costs_source == "placeholder"


def test_demo_costs_are_placeholders():
    assert build_demo().problem.capital_costs_source == "placeholder"


# ---------------------------------------------------------------------------- one Pareto front per travel mode
def test_sweep_fronts_are_per_travel_mode(tmp_path):
    drive = build_demo()
    # walking takes four times as long: compared together, every walk plan would be dominated
    walk = dataclasses.replace(
        drive, problem=dataclasses.replace(drive.problem, travel_min=drive.problem.travel_min * 4.0)
    )
    spec = parse_sweep(
        {"sweep": {"base": "demo", "name": "modes"}, "grid": {"floor": [50_000, 80_000], "mode": ["drive", "walk"]}}
    )
    result = run_sweep(spec, {"drive": drive, "walk": walk}, options=SolveOptions(time_limit=60))
    table = result.frame()
    assert table["validated"].all()
    together = pareto_mask(table[["mean_travel_min", "capital_cost", "n_polysystems"]].to_numpy(dtype=float))
    assert not together[(table["mode"] == "walk").to_numpy()].any()  # the old, mixed front
    for mode in ("drive", "walk"):
        rows = table.loc[table["mode"] == mode]
        expected = pareto_mask(rows[["mean_travel_min", "capital_cost", "n_polysystems"]].to_numpy(dtype=float))
        assert rows["pareto"].tolist() == expected.tolist() and rows["pareto"].any(), mode
    assert (table["capital_costs_source"] == "placeholder").all()

    fig = pareto_figure(table)
    assert len(fig.axes) == 2
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "Mean travel against capital cost: drive",
        "Mean travel against capital cost: walk",
    ]
    assert all("(placeholder)" in ax.get_ylabel() for ax in fig.axes)
    page = sweep_report_html(table, title="modes", base="demo")
    assert "one front per mode (drive, walk)" in page and "Pareto front of each travel mode" in page
    walk_front = ", ".join(table.loc[(table["mode"] == "walk") & table["pareto"], "plan_id"])
    assert f"<b>walk</b>: {walk_front}" in page
    assert "Capital costs are placeholders" in page and "capital (placeholder)" in page


def test_sweep_command_prints_one_front_per_mode(tmp_path, capsys, monkeypatch):
    sweep = tmp_path / "grid.toml"
    sweep.write_text('[sweep]\nname = "grid"\nbase = "demo"\nmaps = false\n[grid]\nfloor = [50000, 80000]\n')
    assert _run("sweep", str(sweep), "--serial", "--out", str(tmp_path / "out")) == optimise.EXIT_OK
    stdout = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    front = ", ".join(table.loc[table["pareto"], "plan_id"])
    assert f"Pareto front: {front}" in stdout and PLACEHOLDER_NOTE in stdout


# ---------------------------------------------------------------------------- boroughs outside London
def test_lad_boundaries_outside_london_give_the_real_districts(tmp_path, real_data):
    built = build_from_scenario(read_scenario(_elr(tmp_path, rules='boundaries = "lad"')), data_dir=real_data)
    lad = dict(zip(built.problem.unit_ids, built.problem.groups, strict=True))
    assert lad["C82010"] == "E06000017"  # Oakham Medical Practice: Rutland
    assert lad["C82077"] == "E06000017"  # The Uppingham Surgery: Rutland
    assert lad["C82038"] == "E07000133"  # Latham House, Melton Mowbray: Melton
    assert lad["C82009"] == "E07000131"  # Market Harborough: Harborough
    assert lad["C82071"] == "E07000135"  # Wigston: Oadby and Wigston
    assert not any(code.startswith("E09") for code in lad.values())  # never a London borough


def test_a_coastal_practice_just_outside_the_generalised_coastline_takes_its_district(tmp_path, real_data):
    # C83004 lies just off the super-generalised coastline of Boston (Lincolnshire):
    # it is in no boundary of the national file, but within the land check's tolerance of one
    path = tmp_path / "boston.toml"
    path.write_text(
        '[scenario]\nname = "03T"\n[units]\ntype = "practice"\nccg = "03T"\n'
        '[sites]\nlargest_practices = 6\n[travel]\nsource = "estimate"\n'
        '[rules]\nfloor = 30000\nboundaries = "lad"\n'
    )
    built = build_from_scenario(read_scenario(path), data_dir=real_data, cache=False)
    lad = dict(zip(built.problem.unit_ids, built.problem.groups, strict=True))
    assert lad["C83004"] == "E07000136"  # Boston


def test_a_unit_in_no_boundary_is_an_error_naming_it_and_the_file(tmp_path, real_data):
    london = real_data / "london" / "lad22-boundaries-gen20.gpkg"
    scenario = _elr(tmp_path, rules='boundaries = "lad"', data=f'lad_boundaries = "{london}"')
    with pytest.raises(InputDataError) as info:
        build_from_scenario(read_scenario(scenario), data_dir=real_data, cache=False)
    text = str(info.value)
    assert str(london) in text and "C82010 (OAKHAM MEDICAL PRACTICE) lies in no boundary" in text
    assert len(info.value.problems) == 31  # every practice of the CCG, all at once
    code = _run("run", str(scenario), "--data-dir", str(real_data), "--out", str(tmp_path / "out"))
    assert code == optimise.EXIT_INPUT and not (tmp_path / "out").exists()


def test_plan_summary_coverage_uses_the_dropped_units():
    built = build_demo()
    from catchment.problem import DroppedUnit

    problem = dataclasses.replace(
        built.problem, dropped=(DroppedUnit("X1", "Lost practice", 10_000.0, "no coordinates"),)
    )
    plan = Plan({u: problem.site_ids[0] for u in problem.unit_ids}, {problem.site_ids[0]: "reuse"}, "feasible")
    summary = plan_summary(problem, plan)
    total = float(np.sum(problem.population))
    assert summary["coverage"] == pytest.approx(total / (total + 10_000))
    assert summary["dropped_reasons"] == {"no coordinates": 1}


# ---------------------------------------------------------------------------- a gap is never rounded to zero
def test_gap_words_never_round_an_open_gap_to_zero():
    from catchment.plan import gap_words

    assert gap_words(3e-5) == "< 0.01%" and gap_words(0.0162) == "1.62%"
    assert gap_words(4e-7, 4) == "< 0.0001%" and gap_words(3e-5, 4) == "0.0030%"
    assert gap_words(None) == gap_words(float("nan")) == "n/a (no bound)"


# ---------------------------------------------------------------------------- a share is never rounded to 0% or 100%
def test_share_words_never_round_a_share_to_none_or_all():
    from catchment.plan import share_words

    assert share_words(0.0) == "0.0%" and share_words(1.0) == "100.0%" and share_words(0.953) == "95.3%"
    assert share_words(4e-5) == "< 0.1%" and share_words(0.9995) == "> 99.9%" and share_words(0.99991) == "> 99.9%"
    assert share_words(0.999) == "99.9%" and share_words(0.001) == "0.1%"
    assert share_words(0.9998, 2) == "99.98%" and share_words(0.99999, 2) == "> 99.99%"
    assert share_words(0.996, 0) == "> 99%" and share_words(0.004, 0) == "< 1%"
    assert share_words(float("nan")) == "n/a"


# ---------------------------------------------------------------------------- an amount is never rounded to £0.00m
def test_money_words_never_round_an_amount_to_zero():
    from catchment.plan import money_words

    assert money_words(1_750_000) == "£1.75m" and money_words(100_000) == "£0.10m"
    assert money_words(99_999) == "£99,999" and money_words(100) == "£100" and money_words(0.3) == "£0.30"
    assert money_words(0) == money_words(-0.0) == "£0"
    assert money_words(None) == money_words(float("nan")) == money_words(float("inf")) == "n/a"


def test_the_sweep_page_shows_a_small_budget_in_pounds(tmp_path):
    """A GBP 100 budget (no hub costs so little: infeasible) was shown as "£0.00m"."""
    sweep = tmp_path / "budget.toml"
    sweep.write_text('[sweep]\nname = "budget"\nbase = "demo"\nmaps = false\n[grid]\nbudget = ["none", 100]\n')
    assert _run("sweep", str(sweep), "--serial", "--out", str(tmp_path / "out")) == optimise.EXIT_OK
    page = (tmp_path / "out" / "sweep.html").read_text()
    assert ">£100</td>" in page
    assert "£0.00m" not in page


def test_a_coverage_short_of_everyone_never_says_100_percent():
    """South East London's practices without one of 2,016,131 people (coverage 0.99991): not "100.0%"."""
    from catchment.metrics import coverage_text

    text = coverage_text(0.9999146880832644, 2_016_131, {"no coordinates": 1})
    assert text == "> 99.9% of the population of the selection (2,016,131 people; 1 unit dropped: no coordinates: 1)"


def test_the_patients_left_out_of_travel_are_never_said_to_be_none_or_all(caplog):
    """9 of 100,000 patients without a centroid are "< 0.1%" of them (before "0.0%"), 99,991 "> 99.9%"."""
    from catchment.build import check_registration_lsoas

    registrations = pd.DataFrame(
        {"practice_code": ["A1", "A1"], "lsoa_code": ["E01000001", "E01000002"], "patients": [9, 99_991]}
    )
    for located in ("E01000002", "E01000001"):
        centroids = pd.DataFrame({"lsoa_code": [located]})
        check_registration_lsoas(
            registrations, registrations, file=Path("r.csv"), lsoa_files={"centroids": (Path("c.csv"), centroids)}
        )
    few, most = [r.getMessage() for r in caplog.records if "live have no centroid in c.csv" in r.getMessage()]
    assert "9 of the selected practices' 100,000 patients (< 0.1%) live" in few
    assert "99,991 of the selected practices' 100,000 patients (> 99.9%) live" in most


def test_a_plan_not_proven_optimal_never_shows_a_zero_gap(tmp_path, capsys):
    """A time-limited plan whose gap rounds to zero (mip_gap set lower) says "< 0.01%", never "0.00%"."""
    from maps import report_html
    from solvers import solve

    built = build_demo()
    plan = solve(built.problem, time_limit=60)
    unproven = dataclasses.replace(plan, status="feasible", gap=4e-7, mip_gap=1e-8)
    page = report_html(built, unproven)
    assert "feasible, not proven optimal" in page
    assert "remaining gap &lt; 0.01%)" in page and "<b>Gap</b></td><td>&lt; 0.0001%</td>" in page
    optimise._report(built, unproven, tmp_path)  # the terminal's summary
    printed = capsys.readouterr().out
    assert "FEASIBLE, NOT PROVEN OPTIMAL" in printed and "gap < 0.0001%" in printed and "0.0000%" not in printed


def test_the_map_and_workbook_name_the_bound_that_certified_the_gap():
    """The map's key and the workbook's Facts say which bound certified the gap, in the report's words.

    The map's key says it for a plan not proven optimal (a proven one keeps its short key);
    the Facts sheet, like the report, whenever the solver recorded its bounds.
    """
    import openpyxl

    from catchment.exports import workbook_bytes
    from maps import plan_geometry, report_html
    from maps.plan_map import key_figures_html
    from solvers import solve

    built = build_demo()
    plan = solve(built.problem, time_limit=60)
    bounds = {"lp": 7.05, "lagrangian": 7.12, "source": "lagrangian"}
    feasible = dataclasses.replace(plan, status="feasible", gap=0.01, stats={**plan.stats, "bounds": bounds})
    optimal = dataclasses.replace(feasible, status="optimal")
    words = "LP relaxation 7.05; Lagrangian 7.12; the gap is certified by the Lagrangian bound"
    assert feasible.bounds_label == words
    row = f"<tr><td><b>Bounds</b></td><td>{html.escape(words)}</td></tr>"
    assert row in report_html(built, feasible)  # the report's provenance table, as before
    assert row in key_figures_html(built, feasible, plan_geometry(built, feasible))
    assert "Bounds" not in key_figures_html(built, optimal, plan_geometry(built, optimal))
    for shown in (feasible, optimal):
        book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(built, shown)))
        facts = [key for key, _ in book["Facts"].iter_rows(min_row=2, values_only=True)]
        values = dict(book["Facts"].iter_rows(min_row=2, values_only=True))
        assert values["Bounds"] == words and facts.index("Bounds") == facts.index("Best bound") + 1
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(built, plan)))  # no bounds recorded: no row
    assert "Bounds" not in dict(book["Facts"].iter_rows(min_row=2, values_only=True))


def test_a_gap_without_a_lagrangian_step_names_the_mips_own_bound(capsys):
    """A plan the solver stopped before proving it (no Lagrangian step) says which bound its gap is against.

    A node limit stops HiGHS as its time limit does (the count keeps the plan the same on any
    machine); every output then reads the bound from ``stats["bounds"]``, in ``bounds_label``'s words.
    """
    import openpyxl

    from catchment.exports import workbook_bytes
    from catchment.outputs import solution_record
    from maps import plan_geometry, report_html
    from maps.plan_map import key_figures_html
    from solvers.mip import PolysystemModel

    built = build_demo()
    rules = dataclasses.replace(built.problem.rules, floor=45_000, ceiling=65_000)
    built = dataclasses.replace(built, problem=dataclasses.replace(built.problem, rules=rules))
    plan = PolysystemModel(built.problem).solve(node_limit=1, mip_gap=0.0)
    assert plan.status == "feasible" and plan.gap is not None and plan.gap > 0  # stopped with an open gap
    words = "LP relaxation n/a; Lagrangian not computed; the gap is certified by the MIP's own bound"
    assert plan.stats["bounds"] == {"lp": None, "lagrangian": None, "source": "mip"}
    assert plan.bounds_label == words
    record = solution_record(built, plan)
    assert record["bounds_label"] == words and record["bound"] == plan.bound and record["gap"] == plan.gap
    row = f"<tr><td><b>Bounds</b></td><td>{html.escape(words)}</td></tr>"
    assert row in report_html(built, plan)
    assert row in key_figures_html(built, plan, plan_geometry(built, plan))
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(built, plan)))
    assert dict(book["Facts"].iter_rows(min_row=2, values_only=True))["Bounds"] == words
    capsys.readouterr()
    optimise._report(built, plan, Path("out"))
    assert f"\nbounds: {words}\n" in capsys.readouterr().out


def test_bounds_of_an_estimated_objective_say_estimate_in_every_output(tmp_path, capsys):
    """On crow-fly travel the objective, the best bound and both bounds in the Bounds line say "(estimate)".

    The terminal, solution.json, the report, the map's key and the workbook's Facts; a road
    network's plan keeps the plain words (the test above).
    """
    import openpyxl

    from catchment.exports import workbook_bytes
    from catchment.outputs import solution_record
    from maps import plan_geometry, report_html
    from maps.plan_map import key_figures_html
    from solvers import solve

    built = build_demo()
    built = dataclasses.replace(built, problem=dataclasses.replace(built.problem, travel_source="estimate"))
    plan = solve(built.problem, time_limit=60)
    bounds = {"lp": 7.05, "lagrangian": 7.12, "source": "lagrangian"}
    feasible = dataclasses.replace(plan, status="feasible", gap=0.01, stats={**plan.stats, "bounds": bounds})
    words = "LP relaxation 7.05 (estimate); Lagrangian 7.12 (estimate); the gap is certified by the Lagrangian bound"
    assert solution_record(built, feasible)["bounds_label"] == words
    row = f"<tr><td><b>Bounds</b></td><td>{html.escape(words)}</td></tr>"
    page = report_html(built, feasible)
    assert row in page
    assert f"<tr><td><b>Objective</b></td><td>{feasible.objective:,.4f} (estimate)</td></tr>" in page
    assert f"<tr><td><b>Best bound</b></td><td>{feasible.bound:,.4f} (estimate)</td></tr>" in page
    assert row in key_figures_html(built, feasible, plan_geometry(built, feasible))
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(built, feasible)))
    values = dict(book["Facts"].iter_rows(min_row=2, values_only=True))
    assert values["Bounds"] == words
    assert values["Objective (estimate)"] == feasible.objective and "Objective" not in values
    assert values["Best bound (estimate)"] == feasible.bound
    optimise._report(built, feasible, tmp_path)
    assert f"bounds: {words}" in capsys.readouterr().out
