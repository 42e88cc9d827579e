"""The workbench's session (no browser): opening, rules, edits, undo/redo, jobs, comparison, export."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from geodata.errors import CatchmentError, ScenarioError
from workbench.mapdata import static_layers, styles
from workbench.state import Session, area_scenario, rules_form, scenario_with_rules, solver_progress


@pytest.fixture(scope="module")
def session(tmp_path_factory, real_data):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        s = Session(real_data)
        s.open_file("scenarios/redbridge.toml")
    return s


def test_opens_with_todays_pcns_and_their_verdict(session):
    assert session.today is not None and session.verdict is not None
    assert len(session.verdict.plan.hubs) == 6
    floors = [v for v in session.verdict.violations if v.rule == "floor"]
    assert len(floors) == 2  # two of Redbridge's six PCNs are below 50,000 (README)
    assert session.verdict.highlight >= {v.ids[0] for v in floors}


def test_rules_panel_is_parsed_like_a_scenario_file(session):
    form = rules_form(session.scenario)
    assert form["floor"] == 50000
    changed = scenario_with_rules(
        session.scenario, {**form, "floor": 40000, "polysystems_min": 4, "polysystems_max": 7}
    )
    assert changed.rules.floor == 40000
    assert (changed.rules.min_polysystems, changed.rules.max_polysystems) == (4, 7)
    with pytest.raises(ScenarioError) as bad:
        scenario_with_rules(session.scenario, {**form, "floor": "many", "ceiling": -5})
    text = str(bad.value)
    assert "[rules] floor must be a number" in text and "[rules] ceiling must be positive" in text


def test_area_from_a_list_is_a_scenario():
    scenario = area_scenario("lad", "E09000026", "lsoa")
    assert scenario.units.lad == "E09000026" and scenario.rules.contiguity
    with pytest.raises(ScenarioError, match="stp selects practices"):
        area_scenario("stp", "QMF", "lsoa")
    with pytest.raises(ScenarioError, match="ccg selects practices"):
        area_scenario("ccg", "08N", "lsoa")


def test_move_breaks_the_floor_then_undo_and_redo(session):
    plan = session.verdict.plan
    before = len(session.verdict.violations)
    populations = dict(zip(session.problem.unit_ids, session.problem.population, strict=True))
    # the biggest polysystem loses its largest practice to the smallest one
    sizes = {h: sum(populations[u] for u in plan.units_of(h)) for h in plan.hubs}
    big, small = max(sizes, key=sizes.get), min(sizes, key=sizes.get)
    unit = max(plan.units_of(big), key=populations.get)
    verdict = session.move(unit, small)
    assert verdict.plan.assignment[unit] == small
    assert verdict.plan.status in ("breaks_rules", "feasible")
    session.undo()
    assert session.verdict.plan.assignment[unit] == big
    assert len(session.verdict.violations) == before
    session.redo()
    assert session.verdict.plan.assignment[unit] == small
    session.undo()


def test_bad_edits_are_refused_and_change_nothing(session):
    seq = session.edits
    with pytest.raises(CatchmentError, match="unknown unit"):
        session.move("NOPE", session.verdict.plan.hubs[0])
    with pytest.raises(CatchmentError, match="unknown site 'NOT-A-HUB'"):
        session.move(session.problem.unit_ids[0], "NOT-A-HUB")
    closed = next(s for s in session.problem.site_ids if s not in session.verdict.plan.hub_options)
    with pytest.raises(CatchmentError, match=closed):
        session.move(session.problem.unit_ids[0], closed)
    assert session.edits == seq


def test_option_and_hub_changes(session):
    hub = session.verdict.plan.hubs[0]
    session.set_option(hub, "new_build")
    assert session.verdict.plan.hub_options[hub] == "new_build"
    free = next(s for s in session.problem.site_ids if s not in session.verdict.plan.hub_options)
    session.set_hub(hub, free)
    assert free in session.verdict.plan.hub_options and hub not in session.verdict.plan.hub_options
    session.undo()
    session.undo()
    assert session.verdict.plan.hub_options[hub] != "new_build"


def test_open_and_close_a_hub(session):
    plan = session.verdict.plan
    free = next(s for s in session.problem.site_ids if s not in plan.hub_options)
    session.open_hub(free)
    assert free in session.verdict.plan.hub_options
    session.close_hub(free, plan.hubs[0])
    assert free not in session.verdict.plan.hub_options
    session.undo()
    session.undo()
    assert session.verdict.plan.hub_options == plan.hub_options


def test_compare_today_with_the_edited_configuration(session):
    plan = session.verdict.plan
    unit = session.problem.unit_ids[0]
    target = next(h for h in plan.hubs if h != plan.assignment[unit])
    session.move(unit, target)
    comparison = session.compare("today", "edited")
    assert comparison.units_moved == 1 and list(comparison.moves["unit_id"]) == [unit]
    session.undo()
    with pytest.raises(CatchmentError, match="no optimum"):
        session.compare("today", "optimum")


def test_map_data_and_styles(session):
    layers = static_layers(session.built, version=3)
    assert len(layers["units"]["features"]) == session.problem.n_units
    assert {f["properties"]["v"] for f in layers["sites"]["features"]} == {3}
    plan = session.verdict.plan
    st = styles(plan, {h: "#123456" for h in plan.hubs}, highlight={"X"}, forced={}, selected=None, seq=1)
    assert set(st["units"]) == set(plan.assignment) and st["highlight"] == ["X"]


def test_solve_in_the_background_and_cancel(session):
    session.start_solve()
    session.cancel()
    assert session.poll() == "cancelled"
    session.start_solve()
    deadline = time.monotonic() + 180
    while session.poll() == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    summary = session.job_summary()
    assert summary["state"] == "done" and summary["status"] == "optimal" and summary["validated"]
    assert session.verdict.plan.assignment == session.optimum.plan.assignment
    assert not session.verdict.violations


def test_output_folder_zip(session):
    data = session.output_folder_zip()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"assignments.csv", "polysystems.csv", "solution.json", "map.html", "violations.txt"} <= set(names)
    assert {"plan.xlsx", "polysystems.geojson", "units.geojson"} <= set(names)


def test_solver_progress_rows_of_the_highs_log():
    row = " T       0       0         0   0.00%   3.853920306     3.886545715        0.84%"
    row += "       12      8      0      1234    41.5s"
    assert solver_progress(row) == {"bound": "3.853920306", "best": "3.886545715", "gap": "0.84%", "time": "41.5s"}
    assert solver_progress("Presolving model") is None
    assert solver_progress("Src  Proc. InQueue |  Leaves   Expl. | BestBound       BestSol              Gap |") is None


def test_forcing_a_site_open_is_scored_and_released(session):
    free = next(s for s in session.problem.site_ids if s not in session.verdict.plan.hub_options)
    before = len(session.verdict.violations)
    session.force_site(free, "open")
    assert session.problem.site_status[session.problem.site_index(free)] == "required"
    assert len(session.verdict.violations) == before + 1
    assert free in session.verdict.highlight
    session.force_site(free, None)
    assert len(session.verdict.violations) == before
    with pytest.raises(KeyError):
        session.force_site("NO-SUCH-SITE", "open")


def test_area_lists_come_from_the_data(real_data):
    from workbench.state import area_choices

    choices = area_choices(real_data)
    assert "08N" in dict(choices["ccg"])
    assert dict(choices["lad"])["E09000026"].startswith("Redbridge")
    assert "QMF" in dict(choices["stp"])


def test_workbook_and_geojson_of_the_edited_configuration(session):
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(session.workbook()), read_only=True)
    assert len(book.sheetnames) >= 3
    layers = session.geojson()
    assert len(layers["units"]["features"]) == session.problem.n_units
    assert len(layers["polysystems"]["features"]) == len(session.verdict.plan.hubs)


def test_board_report_pdf_of_the_edited_configuration(session):
    from pypdf import PdfReader

    pdf = session.report_pdf()
    assert pdf.startswith(b"%PDF")
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    plan = session.verdict.plan
    names = dict(zip(session.problem.site_ids, session.problem.site_names, strict=True))
    # every polysystem's hub is named, and a configuration that breaks rules is not passed off as valid
    assert all(" ".join(names[h].split()[:2]) in " ".join(text.split()) for h in plan.hubs), text[:500]
    if session.verdict.violations:
        assert "satisfies every rule" not in text and "break" in text.lower()


def test_the_rules_panel_does_not_repeat_the_scenarios_unused_key_warnings(caplog):
    """A key the scenario does not use is said when the file is read, not again at every change of a rule."""
    import logging

    from catchment.scenario import parse_scenario

    raw = {"units": {"ccg": "08N"}, "travel": {"source": "estimate", "cutoff_min": 5}}
    with caplog.at_level(logging.WARNING, logger="catchment.scenario"):
        scenario = parse_scenario(raw, source="s.toml")
        said = len(caplog.records)
        scenario_with_rules(scenario, {**rules_form(scenario), "floor": 40_000})
    assert said == 1 and "[travel] cutoff_min is not used" in caplog.records[0].getMessage()
    assert len(caplog.records) == said


def test_verdict_labels_placeholder_costs_and_estimated_travel(session):
    """redbridge.toml: built-in placeholder costs and crow-fly travel times, labelled in the
    verdict panel and the polysystem table as in every other output."""
    from catchment.problem import ESTIMATE_LABEL, PLACEHOLDER_COSTS_NOTE, PLACEHOLDER_LABEL
    from workbench.app import polysystem_table, verdict_block

    panel = str(verdict_block(session))
    assert f"capital cost (GBP){PLACEHOLDER_LABEL}" in panel and f"note: {PLACEHOLDER_COSTS_NOTE}" in panel
    assert f"mean travel (min){ESTIMATE_LABEL}" in panel and f"longest travel (min){ESTIMATE_LABEL}" in panel
    assert f"mean min{ESTIMATE_LABEL}" in str(polysystem_table(session))


def test_comparison_labels_estimated_travel_as_the_verdict_does(session):
    """redbridge.toml travels crow-fly: the comparison's travel figures say "(estimate)"."""
    from catchment.problem import ESTIMATE_LABEL
    from workbench.app import comparison_block

    block, _ = comparison_block(session, "today", "edited")
    labels = [str(row.children[0].children) for row in block[0].children[1:]]
    assert labels == [
        "polysystems",
        f"mean travel (min){ESTIMATE_LABEL}",
        f"longest travel (min){ESTIMATE_LABEL}",
        "rules broken",
    ]
