"""Exports of a plan for other tools: an Excel workbook and GeoJSON layers.

* :func:`workbook_bytes` / :func:`write_workbook` — ``plan.xlsx`` with the sheets
  :data:`SHEETS`: the polysystems (hub, site, option, capital cost — labelled placeholder
  when the scenario supplies none —, population, units, travel), the assignments (every
  unit), the moves (units whose polysystem differs from a reference configuration such as
  today's PCNs, when one is known), the rules broken (the independent validator,
  :func:`catchment.validate.validate_plan`) and the facts (status in honest words,
  objective, bound, gap, engine, scenario hash and provenance: the content of
  ``solution.json``);
* :func:`geojson_layers` / :func:`write_geojson` — ``polysystems.geojson`` (one feature per
  polysystem: its area where one is drawn, else its hub's point) and ``units.geojson``,
  in WGS 84 longitude/latitude as RFC 7946 requires;
* :func:`write_exports` — the three files (:data:`EXPORT_FILES`) into an output folder.

Every string of the workbook is written as text: a value starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return (a name in the data, say) is a text cell marked
with Excel's quote prefix, never a formula.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from catchment.build import BuiltProblem
from catchment.compare import compare_plans
from catchment.current import PCN_SOLVER
from catchment.metrics import (
    CONFIGURED_ID_COLUMN,
    assignments_frame,
    capital_costs_label,
    configured_polysystems,
    objective_estimate_label,
    polysystems_frame,
    travel_times_label,
)
from catchment.outputs import json_safe, polysystem_areas, solution_record
from catchment.plan import Plan
from catchment.validate import validate_plan
from geodata.settings import BNG

__all__ = [
    "EXPORT_FILES",
    "SHEETS",
    "FORMULA_PREFIXES",
    "GEOJSON_CRS",
    "workbook_bytes",
    "write_workbook",
    "geojson_layers",
    "write_geojson",
    "write_exports",
]

logger = logging.getLogger(__name__)

#: Files written by :func:`write_exports`.
EXPORT_FILES = ("plan.xlsx", "polysystems.geojson", "units.geojson")
#: Sheets of the workbook, in order.
SHEETS = ("Polysystems", "Assignments", "Moves", "Rules broken", "Facts")
#: A text cell starting with one of these would be read as a formula by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The coordinates of the GeoJSON files (RFC 7946: WGS 84 longitude, latitude).
GEOJSON_CRS = "EPSG:4326"

#: Column of :func:`catchment.metrics.polysystems_frame` -> heading in the workbook.
_POLYSYSTEM_HEADINGS = {
    "polysystem_id": "Polysystem",
    CONFIGURED_ID_COLUMN: "Polysystem (as configured)",
    "hub_site_id": "Hub site id",
    "hub_site_name": "Hub site",
    "hub_type": "Site type",
    "hub_option": "Option",
    "capital_cost": "Capital cost (GBP)",
    "capital_cost_source": "Capital cost source",
    "travel_source": "Travel times source",
    "population": "Population",
    "n_units": "Units",
    "mean_travel_min": "Mean travel (min)",
    "max_travel_min": "Longest travel (min)",
    "below_floor": "Below the floor",
    "waiver_reason": "Waiver",
    "capacity": "Capacity",
    "site_status": "Site status",
    "groups": "Boundary groups",
}
#: Column of :func:`catchment.metrics.assignments_frame` -> heading in the workbook.
_ASSIGNMENT_HEADINGS = {
    "unit_id": "Unit id",
    "unit_name": "Unit",
    "unit_type": "Unit type",
    "polysystem_id": "Polysystem",
    CONFIGURED_ID_COLUMN: "Polysystem (as configured)",
    "hub_site_id": "Hub site id",
    "hub_site_name": "Hub site",
    "population": "Population",
    "travel_min": "Travel to hub (min)",
    "waiver_reason": "Waiver",
    "travel_source": "Travel times source",
    "group": "Boundary group",
    "imd_score": "IMD score",
}
#: Column of :attr:`catchment.compare.PlanComparison.moves` -> heading in the workbook.
_MOVE_HEADINGS = {
    "unit_id": "Unit id",
    "unit_name": "Unit",
    "from": "From polysystem",
    "from_label": "From (as configured)",
    "to": "To polysystem",
    "from_continues_as": "From continues as",
    "population": "Population",
    "travel_before_min": "Travel before (min)",
    "travel_after_min": "Travel after (min)",
}
_BOLD = Font(bold=True)


# ---------------------------------------------------------------------------- workbook
def workbook_bytes(
    built: BuiltProblem,
    plan: Plan,
    *,
    solution: Mapping[str, Any] | None = None,
    reference: Plan | None = None,
    reference_label: str | None = None,
) -> bytes:
    """The Excel workbook of a plan (``plan.xlsx``) as bytes.

    Parameters
    ----------
    built, plan
        The plan and its problem.
    solution
        The plan's ``solution.json`` record (:func:`catchment.outputs.solution_record`),
        source of the facts sheet; computed here when not given.
    reference
        A configuration of the same problem to list moves against (today's PCNs, the other
        side of a comparison); ``None``: the moves sheet says that none is known.
    reference_label
        What ``reference`` is, in words (default: "today's PCNs" for a plan of
        :func:`catchment.current.current_pcn_plan`, else "the comparison configuration").

    Returns
    -------
    bytes
        The ``.xlsx`` file, sheets :data:`SHEETS`.
    """
    problem = built.problem
    if solution is None:
        solution = solution_record(built, plan)
    book = Workbook()
    book.remove(book.active)
    polysystems = polysystems_frame(problem, plan)
    headings = dict(_POLYSYSTEM_HEADINGS)
    headings["capital_cost"] += capital_costs_label(problem)
    estimate = travel_times_label(problem)  # an estimate's travel figures say so in their headings
    for column in ("mean_travel_min", "max_travel_min"):
        headings[column] += estimate
    _table(book.create_sheet(SHEETS[0]), polysystems, headings)
    _table(
        book.create_sheet(SHEETS[1]),
        assignments_frame(problem, plan),
        {**_ASSIGNMENT_HEADINGS, "travel_min": _ASSIGNMENT_HEADINGS["travel_min"] + estimate},
    )
    moves = _moves_sheet(book.create_sheet(SHEETS[2]), built, plan, reference, reference_label)
    violations = validate_plan(problem, plan)
    sheet = book.create_sheet(SHEETS[3])
    if violations:
        rows = pd.DataFrame(
            [(v.rule, v.message, ", ".join(v.ids)) for v in violations], columns=["rule", "message", "ids"]
        )
        _table(sheet, rows, {"rule": "Rule", "message": "What is wrong", "ids": "Units and sites"})
    else:
        _put(sheet, 1, 1, "none: the plan satisfies every rule (checked by the independent validator)")
    _facts_sheet(
        book.create_sheet(SHEETS[4]),
        solution,
        violations=len(violations),
        moves=moves,
        estimate=objective_estimate_label(problem),
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_workbook(
    path: str | Path,
    built: BuiltProblem,
    plan: Plan,
    *,
    solution: Mapping[str, Any] | None = None,
    reference: Plan | None = None,
    reference_label: str | None = None,
) -> Path:
    """Write :func:`workbook_bytes` to ``path`` (normally inside a staging folder); return the path."""
    path = Path(path)
    path.write_bytes(
        workbook_bytes(built, plan, solution=solution, reference=reference, reference_label=reference_label)
    )
    return path


def _cell_value(value: Any) -> Any:
    """A value openpyxl writes as it is: missing and non-finite numbers empty, numpy to Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(json_safe(value))
    if not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def _put(sheet: Worksheet, row: int, column: int, value: Any) -> None:
    """One cell; text is always text (see the module docstring)."""
    value = _cell_value(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes any text starting with "=" a formula
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True  # and Excel keeps it as text when the cell is edited


def _table(sheet: Worksheet, frame: pd.DataFrame, headings: Mapping[str, str]) -> None:
    """``frame`` as a table with a bold heading row (columns in ``headings`` first, then the others)."""
    columns = [c for c in headings if c in frame.columns] + [c for c in frame.columns if c not in headings]
    for k, column in enumerate(columns, start=1):
        _put(sheet, 1, k, headings.get(column, column))
        sheet.cell(row=1, column=k).font = _BOLD
        width = max([len(str(headings.get(column, column)))] + [len(str(v)) for v in frame[column].head(200)])
        sheet.column_dimensions[sheet.cell(row=1, column=k).column_letter].width = min(max(width + 2, 8), 60)
    for r, values in enumerate(frame[columns].itertuples(index=False, name=None), start=2):
        for k, value in enumerate(values, start=1):
            _put(sheet, r, k, value)
    sheet.freeze_panes = "A2"


def _moves_sheet(
    sheet: Worksheet, built: BuiltProblem, plan: Plan, reference: Plan | None, label: str | None
) -> tuple[str, int, float] | None:
    """The moves from ``reference`` to ``plan``; (label, units, people) or None when there is no reference."""
    if reference is None:
        _put(
            sheet,
            1,
            1,
            "No comparison configuration was given for this plan, so no moves are listed "
            "(the commands list moves against today's PCNs for practice scenarios whose PCN mapping "
            "file is present, and compare against its other configuration).",
        )
        return None
    if label is None:
        label = "today's PCNs" if reference.solver == PCN_SOLVER else "the comparison configuration"
    comparison = compare_plans(built.problem, reference, plan)
    moves = comparison.moves.copy()
    by_id = configured_polysystems(reference)
    if by_id:
        moves.insert(list(moves.columns).index("from") + 1, "from_label", moves["from"].map(by_id))
    if len(moves):
        estimate = travel_times_label(built.problem)
        travel = {k: _MOVE_HEADINGS[k] + estimate for k in ("travel_before_min", "travel_after_min")}
        _table(sheet, moves, {**_MOVE_HEADINGS, **travel})
    else:
        _put(sheet, 1, 1, f"No unit changes polysystem: the plan groups the units as {label} does.")
    return label, comparison.units_moved, comparison.population_moved


def _facts_sheet(
    sheet: Worksheet,
    solution: Mapping[str, Any],
    *,
    violations: int,
    moves: tuple[str, int, float] | None,
    estimate: str = "",
) -> None:
    summary = solution.get("summary") or {}
    engine = solution.get("engine") or {}
    rows: list[tuple[str, Any]] = [
        ("Status", solution.get("status_label")),
        ("Proven optimal", "yes" if solution.get("proven_optimal") else "no"),
        ("Objective" + estimate, solution.get("objective")),  # a number cell: the label goes in its name
        ("Best bound" + estimate, solution.get("bound")),
        *((("Bounds", solution["bounds_label"]),) if solution.get("bounds_label") else ()),  # as the report says
        ("Gap", solution.get("gap")),
        ("Gap requested", solution.get("mip_gap_requested")),
        ("Stopped by the time limit", "yes" if solution.get("stopped_by_time_limit") else "no"),
        ("Solver", solution.get("solver")),
        ("Solve time (s)", solution.get("runtime_s")),
        ("Rules broken", violations or "none (checked by the independent validator)"),
        ("Polysystems", summary.get("n_polysystems")),
        ("Coverage", solution.get("coverage_text")),
        ("Total capital cost (GBP)", summary.get("capital_cost")),
        ("Capital costs", solution.get("capital_costs_note") or "supplied by the scenario"),
        ("Travel times", solution.get("travel_label")),
        (
            "Moves",
            "no comparison configuration known"
            if moves is None
            else f"{moves[1]:,} unit(s), {moves[2]:,.0f} people, compared with {moves[0]}",
        ),
        *((f"Note {k}", note) for k, note in enumerate(solution.get("notes") or [], start=1)),
        *((f"Problem: {key}", value) for key, value in (solution.get("problem") or {}).items()),
        ("Engine", engine.get("name")),
        ("Engine version", engine.get("version")),
        ("Engine git commit", engine.get("git_commit")),
        ("Engine git tree modified", engine.get("git_dirty")),
        ("Python", engine.get("python")),
        ("Scenario file", solution.get("scenario_file")),
        ("Scenario SHA-256", solution.get("scenario_sha256")),
        *(
            (f"Sweep {key}", solution.get(f"sweep_{key}"))
            for key in ("file", "sha256")
            if solution.get(f"sweep_{key}") is not None
        ),
        *((f"Input file {path}", f"SHA-256 {digest}") for path, digest in (solution.get("input_files") or {}).items()),
    ]
    _put(sheet, 1, 1, "Fact")
    _put(sheet, 1, 2, "Value")
    sheet.cell(row=1, column=1).font = sheet.cell(row=1, column=2).font = _BOLD
    for r, (key, value) in enumerate(rows, start=2):
        _put(sheet, r, 1, key)
        _put(sheet, r, 2, "n/a" if value is None else value)
        if key in ("Gap", "Gap requested") and isinstance(sheet.cell(row=r, column=2).value, float):
            sheet.cell(row=r, column=2).number_format = "0.0000%"
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 90


# ---------------------------------------------------------------------------- GeoJSON
def _layers_text(built: BuiltProblem, plan: Plan, *, areas: gpd.GeoDataFrame | None = None) -> dict[str, str]:
    problem = built.problem
    assignments = assignments_frame(problem, plan)
    units = built.units[["unit_id", "geometry"]].merge(assignments, on="unit_id", how="left")
    units_layer = gpd.GeoDataFrame(units, geometry="geometry", crs=built.units.crs or BNG)

    table = polysystems_frame(problem, plan)
    areas = polysystem_areas(built, plan) if areas is None else areas
    shapes = dict(zip(areas["hub_site_id"], areas.geometry, strict=True)) if len(areas) else {}
    method = str(areas["method"].iloc[0]) if len(areas) else None
    points = dict(zip(built.sites["site_id"], built.sites.geometry, strict=True))
    table["geometry_kind"] = ["area" if h in shapes else "hub point" for h in table["hub_site_id"]]
    table["area_method"] = [method if h in shapes else None for h in table["hub_site_id"]]
    geometry = [shapes.get(h, points.get(h)) for h in table["hub_site_id"]]
    polysystems = gpd.GeoDataFrame(table, geometry=geometry, crs=built.sites.crs or BNG)
    return {
        "polysystems": _geojson(polysystems),
        "units": _geojson(units_layer),
    }


def _geojson(frame: gpd.GeoDataFrame) -> str:
    """RFC 7946 text: WGS 84 coordinates, no ``crs`` member, missing values as null."""
    frame = frame.to_crs(GEOJSON_CRS)
    for column in frame.columns:
        if column != frame.geometry.name and frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: None if v is None or v is pd.NA else v)
    return frame.to_json(na="null", drop_id=True)


def geojson_layers(
    built: BuiltProblem, plan: Plan, *, areas: gpd.GeoDataFrame | None = None
) -> dict[str, dict[str, Any]]:
    """The GeoJSON layers of a plan (RFC 7946, coordinates in :data:`GEOJSON_CRS`).

    Parameters
    ----------
    built, plan
        The plan and its problem.
    areas
        :func:`catchment.outputs.polysystem_areas` of the plan when already computed.

    Returns
    -------
    dict
        ``"polysystems"``: a FeatureCollection with one feature per polysystem (the
        columns of :func:`catchment.metrics.polysystems_frame`, ``geometry_kind``
        ``"area"`` with ``area_method`` saying how it was drawn, or ``"hub point"`` where no
        area is drawn); ``"units"``: one feature per unit (its point or polygon, with the
        columns of :func:`catchment.metrics.assignments_frame`).
    """
    return {name: json.loads(text) for name, text in _layers_text(built, plan, areas=areas).items()}


def write_geojson(
    folder: str | Path, built: BuiltProblem, plan: Plan, *, areas: gpd.GeoDataFrame | None = None
) -> dict[str, Path]:
    """Write ``polysystems.geojson`` and ``units.geojson`` (:func:`geojson_layers`) into ``folder``.

    Returns
    -------
    dict
        File name -> path written.
    """
    folder = Path(folder)
    paths = {}
    for name, text in _layers_text(built, plan, areas=areas).items():
        paths[f"{name}.geojson"] = folder / f"{name}.geojson"
        paths[f"{name}.geojson"].write_text(text + "\n", encoding="utf-8")
    return paths


def write_exports(
    folder: str | Path,
    built: BuiltProblem,
    plan: Plan,
    *,
    solution: Mapping[str, Any] | None = None,
    reference: Plan | None = None,
    reference_label: str | None = None,
) -> dict[str, Path]:
    """Write :data:`EXPORT_FILES` into ``folder`` (normally a :func:`catchment.outputs.atomic_output_dir`).

    ``solution`` defaults to the folder's ``solution.json`` when it holds one (so the facts
    sheet says exactly what that file says), else it is computed. ``reference`` and
    ``reference_label``: as for :func:`workbook_bytes`.

    Returns
    -------
    dict
        File name -> path written.
    """
    folder = Path(folder)
    record_file = folder / "solution.json"
    if solution is None and record_file.is_file():
        solution = json.loads(record_file.read_text(encoding="utf-8"))
    paths = {
        "plan.xlsx": write_workbook(
            folder / "plan.xlsx", built, plan, solution=solution, reference=reference, reference_label=reference_label
        )
    }
    paths.update(write_geojson(folder, built, plan))
    logger.info("workbook and GeoJSON written to %s", folder)
    return paths
