"""The board report: one self-contained HTML file (no external request of any kind).

:func:`report_html` gives key figures (the status in honest words — "feasible, not proven
optimal" when so — with gap, bound, solver and runtime; coverage, number of polysystems,
total capital, where travel times come from), the map (inlined in an ``iframe srcdoc``,
without background tiles), a table of the polysystems, charts as inline SVG (population
against the floor, distribution of travel times, capital by option), the units of each
polysystem and the provenance of the inputs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from catchment.build import BuiltProblem
from catchment.metrics import (
    assignments_frame,
    capital_costs_label,
    objective_estimate_label,
    plan_bounds_label,
    plan_summary,
    polysystems_frame,
    travel_times_label,
)
from catchment.objective import extra_reported_terms
from catchment.plan import Plan, gap_words, money_words, share_words
from catchment.problem import ESTIMATE_LABEL, PLACEHOLDER_LABEL
from maps.areas import PlanGeometry, plan_geometry
from maps.charts import capital_chart, population_chart, travel_chart
from maps.html import escape as _e
from maps.palette import OPTION_LABELS, SITE_TYPE_LABELS
from maps.plan_map import map_html, plan_map, plan_summary_label, polysystem_colours

__all__ = ["report_html", "REPORT_CSS"]

#: Styles of the report page (system fonts only; prints on A4).
REPORT_CSS = """
:root { --ink: #1b1b1b; --muted: #555; --line: #d9d9d9; --warn: #8a4b00; --ok: #145a32; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px 28px 48px; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid var(--ink); padding-bottom: 3px; }
.sub { color: var(--muted); margin: 0 0 14px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card .v { font-size: 20px; font-weight: 700; }
.card .k { color: var(--muted); font-size: 12px; }
.status { padding: 10px 12px; border-radius: 6px; margin: 12px 0; border-left: 6px solid var(--ok);
  background: #eef6f0; }
.status.feasible { border-left-color: var(--warn); background: #fbf3e8; }
.status.none { border-left-color: #8b0000; background: #f9eaea; }
.warn { color: var(--warn); font-weight: 600; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left;
  vertical-align: top; }
table.data th { background: #f3f3f3; }
table.data td.n, table.data th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.facts td { padding: 2px 12px 2px 0; vertical-align: top; }
.sw { display: inline-block; width: 12px; height: 12px; border: 1px solid #222; vertical-align: -1px;
  margin-right: 4px; }
iframe.map { width: 100%; height: 640px; border: 1px solid var(--line); border-radius: 6px; }
img.map { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.charts { display: grid; grid-template-columns: 1fr; gap: 18px; }
svg.chart { width: 100%; max-width: 780px; height: auto; }
details { margin: 6px 0; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print { iframe.map { height: 520px; } h2 { break-after: avoid; } .charts svg { break-inside: avoid; } }
"""


def report_html(
    built: BuiltProblem,
    plan: Plan,
    *,
    title: str | None = None,
    min_patients: float = 100.0,
    generated: dt.datetime | None = None,
    geometry: PlanGeometry | None = None,
    colours: Mapping[str, str] | None = None,
    map_image: str | None = None,
) -> str:
    """The board report of a plan as one self-contained HTML page.

    Parameters
    ----------
    built, plan
        The plan and its problem.
    title
        Heading (default: "Polysystem plan").
    min_patients
        Practice units: smallest number of registered patients for an LSOA to be drawn.
    generated
        Time stamp printed in the footer (default: now).
    geometry, colours
        Shapes and polysystem colours when already computed.
    map_image
        The ``src`` (a ``data:`` URL) of a picture of the map, shown instead of the
        interactive map (for print: :func:`maps.pdf.report_pdf`).

    Returns
    -------
    str
        The page. It loads nothing: scripts, styles and charts are inline; the map has no
        background tiles.
    """
    problem = built.problem
    geometry = geometry or plan_geometry(built, plan, min_patients=min_patients)
    colours = dict(colours or polysystem_colours(plan, geometry))
    summary = plan_summary(problem, plan)
    table = polysystems_frame(problem, plan)
    assignments = assignments_frame(problem, plan)
    heading = title or "Polysystem plan"
    stamp = (generated or dt.datetime.now()).strftime("%d %B %Y %H:%M")

    if map_image is None:
        page = map_html(
            plan_map(built, plan, tiles=False, key_box=False, legend_open=False, geometry=geometry, colours=colours)
        )
        map_section = (
            f"<iframe class='map' title='Map of the plan' srcdoc=\"{_e(page)}\"></iframe>"
            "<p class='sub'>Click a hub for its details; the layer list (top right) switches on travel times; "
            "the legend unfolds. "
            "The map needs no internet; it has no background map.</p>"
        )
    else:
        map_section = (
            f"<img class='map' alt='Map of the plan' src=\"{_e(map_image)}\">"
            "<p class='sub'>The plan drawn without a background map (map.png); map.html is the interactive map.</p>"
        )

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(heading)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{_e(heading)}</h1>",
        f"<p class='sub'>{summary['n_polysystems']} polysystems of {_unit_words(problem.unit_type)} · "
        f"floor {problem.rules.floor:,.0f} people · generated {_e(stamp)}</p>",
        _status_block(plan, summary),
        _cards(summary, problem.objective.terms),
        _coverage_and_costs(built, summary),
        _facts(built, plan, summary, geometry.method),
        "<h2>Map</h2>",
        map_section,
        "<h2>Polysystems</h2>",
        _polysystem_table(
            table, colours, placeholder=capital_costs_label(problem), estimate=travel_times_label(problem)
        ),
        "<h2>Charts</h2><div class='charts'>",
        population_chart(problem, plan, colours=colours),
        travel_chart(problem, plan),
        capital_chart(problem, plan),
        "</div>",
        "<h2>Units of each polysystem</h2>",
        _units_details(assignments, table, estimate=travel_times_label(problem)),
        "<h2>Provenance</h2>",
        _provenance(built, plan),
        f"<footer>Produced by catchment-planner. Travel times: {_e(plan_summary_label(built))}. "
        "Every figure is recomputed from the problem and the plan, not taken from the solver.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


# ---------------------------------------------------------------------------- sections
def _status_block(plan: Plan, summary: dict[str, Any]) -> str:
    cls = "" if plan.proven_optimal else ("feasible" if plan.has_plan else "none")
    words = plan.status_label
    broken = ""
    if plan.status == "breaks_rules":  # the validator's findings: never "satisfies every rule"
        cls = "none"
        words = f"the configuration {words} (scored as given; the independent validator found them)"
        broken = "<p><b>Broken rules:</b></p><ul>" + "".join(f"<li>{_e(v)}</li>" for v in plan.violations) + "</ul>"
    elif plan.status == "feasible" and plan.solver == "evaluate":
        words += " — a configuration scored as given: it satisfies every rule (checked by the validator), not optimised"
    elif plan.status == "feasible":
        words += (
            " — the plan satisfies every rule, but the solver did not prove that no better plan exists"
            f"{'' if plan.gap is None else f' (remaining gap {gap_words(plan.gap)})'}"
        )
    notes = "".join(f"<li>{_e(n)}</li>" for n in plan.notes)
    notes = f"<ul>{notes}</ul>" if notes else ""
    return f"<div class='status {cls}'><b>Status: {_e(words)}</b>{broken}{notes}</div>"


def _estimate(summary: dict[str, Any]) -> str:
    """:data:`~catchment.problem.ESTIMATE_LABEL` when the summary's travel times are the crow-fly estimate."""
    return ESTIMATE_LABEL if summary.get("travel_source") == "estimate" else ""


def _cards(summary: dict[str, Any], used: tuple[str, ...]) -> str:
    terms = summary.get("objective_terms") or {}
    cards = [
        ("Polysystems", f"{summary['n_polysystems']}"),
        ("Coverage of the selection", share_words(summary["coverage"])),
        ("Population covered", f"{summary['population_assigned']:,.0f}"),
        ("Mean travel to hub" + _estimate(summary), _minutes(terms.get("mean_travel"))),
        ("Longest travel to hub" + _estimate(summary), _minutes(terms.get("max_travel"))),
        (
            "Total capital" + (PLACEHOLDER_LABEL if summary["capital_costs_note"] else ""),
            money_words(summary["capital_cost"]),
        ),
        *((t.label, _e(t.text(terms.get(t.name)))) for t in extra_reported_terms(used)),
    ]
    body = "".join(f"<div class='card'><div class='v'>{v}</div><div class='k'>{_e(k)}</div></div>" for k, v in cards)
    return f"<div class='cards'>{body}</div>"


def _coverage_and_costs(built: BuiltProblem, summary: dict[str, Any]) -> str:
    """Coverage against the whole selection, the units dropped, and the placeholder-cost warning."""
    parts = [f"<p>Coverage: {_e(summary['coverage_text'])}.</p>"]
    dropped = built.problem.dropped
    if dropped:
        rows = "".join(
            f"<tr><td>{_e(d.unit_id)}</td><td>{_e(d.name)}</td><td class='n'>{d.population:,.0f}</td>"
            f"<td>{_e(d.reason)}</td></tr>"
            for d in dropped
        )
        parts.append(
            "<p class='warn'>Units of the selection left out of the plan (dropped.csv):</p>"
            "<table class='data dropped'><tr><th>Unit</th><th>Name</th><th class='n'>Population</th>"
            f"<th>Reason</th></tr>{rows}</table>"
        )
    if summary["capital_costs_note"]:
        parts.append(f"<p class='warn placeholder'>Note: {_e(summary['capital_costs_note'])}.</p>")
    return "".join(parts)


def _facts(built: BuiltProblem, plan: Plan, summary: dict[str, Any], method: str) -> str:
    label = plan_summary_label(built)
    estimate = summary["travel_source"] == "estimate"
    objective = _e(objective_estimate_label(built.problem))  # the objective and its bounds, of estimated travel
    bounds = plan_bounds_label(built.problem, plan)
    rows = [
        ("Status", _e(plan.status_label)),
        ("Objective", _num(plan.objective, label=objective)),
        ("Best bound", _num(plan.bound, label=objective)),
        *((("Bounds", _e(bounds)),) if bounds else ()),
        ("Gap", "n/a" if plan.gap is None or not math.isfinite(plan.gap) else _e(gap_words(plan.gap, 4))),
        ("Gap requested", "n/a" if plan.mip_gap is None else f"{plan.mip_gap:.4%}"),
        ("Solver", _e(plan.solver or "n/a")),
        ("Solve time", f"{plan.runtime_s:.2f} s"),
        ("Data and travel times", f"{built.load_s:.2f} s"),
        (
            "Units",
            f"{summary['n_units_assigned']:,} of {summary['n_units']:,} assigned"
            + (
                f"; {summary['n_units_dropped']:,} of the selection dropped (see above)"
                if summary["n_units_dropped"]
                else ""
            ),
        ),
        ("Travel times", (f"<span class='warn'>{_e(label)}</span>" if estimate else _e(label))),
        ("Areas on the map", _e(method)),
    ]
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<h2>How this plan was found</h2><table class='facts'>{body}</table>"


def _polysystem_table(
    table: pd.DataFrame, colours: Mapping[str, str], *, placeholder: str = "", estimate: str = ""
) -> str:
    head = (
        "<tr><th>Polysystem</th><th>Hub</th><th>Site</th><th>Option</th><th class='n'>Population</th>"
        f"<th class='n'>Units</th><th class='n'>Mean travel{_e(estimate)}</th>"
        f"<th class='n'>Longest travel{_e(estimate)}</th>"
        f"<th class='n'>Capital{_e(placeholder)}</th><th>Notes</th></tr>"
    )
    rows = []
    row: Any  # a row of the table: its fields are the table's columns
    for row in table.itertuples(index=False):
        notes = []
        if row.below_floor:
            notes.append("below the floor" + (f" (waiver: {row.waiver_reason})" if row.waiver_reason else ""))
        if row.site_status == "required":
            notes.append("required site")
        if row.capital_cost_source == "placeholder":
            notes.append("placeholder capital cost")
        colour = colours.get(row.polysystem_id, "#BBBBBB")
        rows.append(
            f"<tr><td><span class='sw' style='background:{colour}'></span>{_e(row.polysystem_id)}</td>"
            f"<td>{_e(row.hub_site_name)} ({_e(row.hub_site_id)})</td>"
            f"<td>{_e(SITE_TYPE_LABELS.get(row.hub_type, row.hub_type))}</td>"
            f"<td>{_e(OPTION_LABELS.get(row.hub_option, row.hub_option))}</td>"
            f"<td class='n'>{row.population:,.0f}</td><td class='n'>{row.n_units}</td>"
            f"<td class='n'>{_minutes(row.mean_travel_min)}</td><td class='n'>{_minutes(row.max_travel_min)}</td>"
            f"<td class='n'>{money_words(row.capital_cost)}</td><td>{_e('; '.join(notes))}</td></tr>"
        )
    total_pop = table["population"].sum()
    total_cap = table["capital_cost"].fillna(0).sum()
    rows.append(
        f"<tr><th>Total</th><th></th><th></th><th></th><th class='n'>{total_pop:,.0f}</th>"
        f"<th class='n'>{int(table['n_units'].sum())}</th><th></th><th></th>"
        f"<th class='n'>{money_words(total_cap)}</th><th></th></tr>"
    )
    return f"<table class='data polysystems'>{head}{''.join(rows)}</table>"


def _units_details(assignments: pd.DataFrame, table: pd.DataFrame, *, estimate: str = "") -> str:
    out = []
    for row in table.itertuples(index=False):
        members = assignments.loc[assignments["hub_site_id"] == row.hub_site_id].sort_values("unit_name")
        body = "".join(
            f"<tr><td>{_e(u.unit_id)}</td><td>{_e(u.unit_name)}</td><td class='n'>{u.population:,.0f}</td>"
            f"<td class='n'>{_minutes(u.travel_min)}</td></tr>"
            for u in members.itertuples(index=False)
        )
        out.append(
            f"<details><summary>{_e(row.polysystem_id)} · {_e(row.hub_site_name)} · {len(members)} units"
            f"</summary><table class='data'><tr><th>Unit</th><th>Name</th><th class='n'>Population</th>"
            f"<th class='n'>Travel to hub{_e(estimate)}</th></tr>{body}</table></details>"
        )
    unassigned = assignments.loc[assignments["polysystem_id"].isna()]
    if len(unassigned):
        out.append(
            f"<p class='warn'>{len(unassigned)} unit(s) in no polysystem: "
            f"{_e(', '.join(unassigned['unit_id'].astype(str)[:20]))}</p>"
        )
    return "".join(out)


def _provenance(built: BuiltProblem, plan: Plan) -> str:
    rows = "".join(
        f"<tr><td>{_e(path)}</td><td><code>{_e(digest[:16])}…</code></td></tr>"
        for path, digest in sorted(built.input_files.items())
    )
    rows = rows or "<tr><td colspan='2'>no input files recorded</td></tr>"
    return f"<table class='data'><tr><th>Input</th><th>SHA-256 (first 16 hex digits)</th></tr>{rows}</table>"


# ---------------------------------------------------------------------------- formatting
def _unit_words(unit_type: str) -> str:
    return "GP practices" if unit_type == "practice" else "small areas (LSOAs)"


def _num(value: Any, *, label: str = "") -> str:
    """``value`` to four decimals followed by ``label`` (escaped HTML), or ``"n/a"`` alone."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{float(value):,.4f}{label}"


def _minutes(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{float(value):.1f} min"
