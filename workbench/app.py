"""The workbench page: Dash layout and callbacks (``python optimise.py app``).

Dash serves the page and its React and Leaflet code from the installed ``dash`` and
``dash-leaflet`` packages (nothing from the internet); our own script and styles are in
``workbench/assets``. The page talks to one :class:`~workbench.state.Session` in this
process (a local, single-planner app). Engine errors are shown in the page with the
command line's words, and nothing the planner did is lost: the session changes only when
an action succeeds.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dash
import dash_leaflet as dl
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html

from catchment.metrics import capital_costs_label, travel_times_label
from catchment.objective import OBJECTIVE_TERMS
from catchment.plan import gap_words, share_words
from catchment.problem import OPTION_KINDS, PLACEHOLDER_COSTS_NOTE
from geodata.errors import CatchmentError, shown_value
from maps.palette import POLYSYSTEM_COLOURS
from workbench.mapdata import bounds, hub_colours, outline_layer, static_layers, styles
from workbench.state import AREA_KINDS, Session, area_choices, error_lines, export_error, finite, rules_form

__all__ = ["check_listen", "create_app", "View", "run", "serve_in_background"]

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("assets")
#: Problems up to this many units redraw their polysystem areas after every edit; larger ones
#: (dissolving London's areas takes seconds) when the planner asks ("Redraw areas"), so that
#: an edit's verdict never waits for them.
AUTO_AREAS_MAX_UNITS = 400
#: Rows of the page's lists (broken rules, polysystems) drawn at most; the rest are counted
#: (every one is in the exported files).
LIST_ROWS = 40
#: Dash's callback dispatcher (under the app's routes prefix): the page POSTs each callback's
#: inputs there as JSON.
DISPATCHER = "_dash-update-component"
#: The export buttons: id -> label (the label names the export in its messages).
EXPORTS = {
    "export-xlsx": "Workbook (.xlsx)",
    "export-zip": "Output folder (zip)",
    "export-geojson": "GeoJSON",
    "export-pdf": "Board report (PDF)",
}


def _fn(name: str) -> dict[str, str]:
    """A function of ``assets/workbench.js`` as a dash-leaflet function property."""
    return {"variable": f"workbench.{name}"}


class View:
    """What the page draws of the session: colours per hub, the map layers, the selection.

    Parameters
    ----------
    session
        The session.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.colours: dict[str, str] = {}
        self.version = -1
        self.layers: dict[str, Any] = {}
        self.selected: str | None = None
        self.outlines_for = -1
        self.outlines: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        self.highlight_extra: frozenset[str] = frozenset()
        self.sent_hubs: tuple[str, ...] | None = None
        #: The session's shortlist the page was last sent (a finished shortlist is sent once).
        self.sent_shortlist: Any = None

    def refresh(self) -> bool:
        """Rebuild the map's data after something new was opened or solved; True when rebuilt."""
        s = self.session
        if s.built is None or self.version == s.version:
            return False
        self.layers = static_layers(s.built, version=s.version)
        plan = s.verdict.plan if s.verdict is not None else None
        if plan is not None:
            self.colours, areas = hub_colours(s.built, plan, preferred=self.colours)
            self.outlines = outline_layer(areas, self.colours, plan)
            self.outlines_for = s.edits
        else:
            self.outlines = {"type": "FeatureCollection", "features": []}
        self.version = s.version
        self.selected = None
        return True

    def colour_new_hubs(self) -> None:
        """Hubs opened by an edit get a colour no other hub has (when the palette allows)."""
        s = self.session
        if s.verdict is None:
            return
        for hub in s.verdict.plan.hubs:
            if hub not in self.colours:
                used = set(self.colours.values())
                free = [c for c in POLYSYSTEM_COLOURS if c not in used]
                self.colours[hub] = free[0] if free else POLYSYSTEM_COLOURS[len(self.colours) % len(POLYSYSTEM_COLOURS)]

    def styles(self) -> dict[str, Any]:
        """The style map of the edited configuration (see :func:`workbench.mapdata.styles`)."""
        s = self.session
        self.colour_new_hubs()
        if s.verdict is None:
            from catchment.plan import Plan

            plan, highlight = Plan({}, {}, "unsolved"), frozenset[str]()
        else:
            plan, highlight = s.verdict.plan, s.verdict.highlight
        return styles(
            plan,
            self.colours,
            highlight=highlight | self.highlight_extra,
            forced=s.forced,
            selected=self.selected,
            seq=s.edits,
        )

    def update_outlines(self) -> dict[str, Any]:
        """The polysystem areas of the edited configuration (recomputed when it changed)."""
        s = self.session
        if s.built is None or s.verdict is None:
            return {"type": "FeatureCollection", "features": []}
        if self.outlines_for != s.edits:
            from catchment.outputs import polysystem_areas

            plan = s.verdict.plan
            self.colour_new_hubs()
            self.outlines = outline_layer(polysystem_areas(s.built, plan), self.colours, plan)
            self.outlines_for = s.edits
        return self.outlines


# ---------------------------------------------------------------------------- small pieces of layout
def _number(id_: str, label: str, *, step: float | str = "any", note: str = "") -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=id_),
            dcc.Input(id=id_, type="number", step=step, debounce=False),
            html.Span(note, className="wb-note"),
        ],
        className="wb-row",
    )


def _text(id_: str, label: str, *, placeholder: str = "") -> html.Div:
    return html.Div(
        [html.Label(label, htmlFor=id_), dcc.Input(id=id_, type="text", placeholder=placeholder)], className="wb-row"
    )


def _fmt(value: Any, pattern: str = "{:,.2f}", missing: str = "n/a") -> str:
    number = finite(value)
    return missing if number is None else pattern.format(number)


def _share(value: Any) -> str:
    number = finite(value)
    return "n/a" if number is None else share_words(number, 0)


def layout(session: Session, *, scenario_path: str = "") -> html.Div:
    """The page."""
    choices = area_choices(session.data_dir)
    weights = [_number(f"w-{term}", f"weight: {term}") for term in OBJECTIVE_TERMS]
    return html.Div(
        [
            dcc.Store(id="styles"),
            dcc.Store(id="version", data=-1),
            dcc.Store(id="edit-seq", data=-1),
            dcc.Download(id="download"),
            dcc.Interval(id="tick", interval=500, disabled=True),
            html.Div(
                [
                    html.H1("Catchment planner: workbench"),
                    dcc.Input(
                        id="scenario-path",
                        type="text",
                        value=scenario_path,
                        placeholder="scenario file (.toml)",
                        style={"width": "280px"},
                    ),
                    html.Button("Open file", id="open-file"),
                    dcc.Dropdown(
                        id="area-kind",
                        options=[{"label": v, "value": k} for k, v in AREA_KINDS.items()],
                        value="ccg",
                        clearable=False,
                        style={"width": "170px", "color": "#111"},
                    ),
                    dcc.Dropdown(
                        id="area-code",
                        options=[{"label": n, "value": c} for c, n in choices.get("ccg", [])],
                        placeholder="area",
                        style={"width": "260px", "color": "#111"},
                    ),
                    dcc.RadioItems(
                        id="unit-type",
                        options=[{"label": " practices", "value": "practice"}, {"label": " LSOAs", "value": "lsoa"}],
                        value="practice",
                        inline=True,
                    ),
                    html.Button("Open area", id="open-area"),
                    html.Span(id="opened", className="wb-status"),
                ],
                className="wb-header",
            ),
            dcc.Store(id="area-choices", data=choices),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(id="messages", className="wb-messages"),
                            html.Details(
                                [
                                    html.Summary("Rules"),
                                    _number("floor", "floor (people)", step=1),
                                    _number("ceiling", "ceiling (people)", step=1),
                                    _number("n-min", "polysystems at least", step=1),
                                    _number("n-max", "polysystems at most", step=1),
                                    _number("max-travel", "travel limit (min)"),
                                    _number("budget", "budget (GBP)", step=1),
                                    dcc.Checklist(
                                        id="contiguity",
                                        options=[{"label": " contiguous polysystems", "value": "yes"}],
                                        value=[],
                                    ),
                                    html.Div(
                                        [
                                            html.Label("boundaries", htmlFor="boundaries"),
                                            dcc.Dropdown(
                                                id="boundaries",
                                                options=[
                                                    {"label": "none", "value": ""},
                                                    {"label": "borough (lad)", "value": "lad"},
                                                    {"label": "CCG (ccg)", "value": "ccg"},
                                                ],
                                                value="",
                                                clearable=False,
                                                style={"width": "150px"},
                                            ),
                                        ],
                                        className="wb-row",
                                    ),
                                    _text("required", "required sites", placeholder="site ids, comma separated"),
                                    _text("excluded", "excluded sites", placeholder="site ids, comma separated"),
                                    *weights,
                                    _number("time-limit", "time limit (s)"),
                                    html.Button("Apply rules", id="apply-rules"),
                                    html.Button("Solve", id="solve"),
                                    html.Button("Cancel", id="cancel"),
                                    html.Div(id="progress"),
                                ],
                                open=True,
                            ),
                            html.Details(
                                [
                                    html.Summary("Edit"),
                                    html.Div(
                                        [
                                            html.Label("unit", htmlFor="unit"),
                                            dcc.Dropdown(id="unit", placeholder="click the map or type"),
                                        ]
                                    ),
                                    html.Div(id="unit-info", className="wb-note"),
                                    html.Div(
                                        [
                                            html.Label("move to", htmlFor="target"),
                                            dcc.Dropdown(id="target", placeholder="polysystem"),
                                        ]
                                    ),
                                    html.Button("Move", id="move"),
                                    html.Button("Undo", id="undo"),
                                    html.Button("Redo", id="redo"),
                                    html.Hr(),
                                    html.Div(
                                        [
                                            html.Label("polysystem", htmlFor="hub"),
                                            dcc.Dropdown(id="hub", placeholder="polysystem"),
                                            html.Label("hub option", htmlFor="option"),
                                            dcc.Dropdown(
                                                id="option",
                                                options=[{"label": o, "value": o} for o in OPTION_KINDS],
                                            ),
                                            html.Button("Set option", id="set-option"),
                                            html.Label("new hub site", htmlFor="new-site"),
                                            dcc.Dropdown(id="new-site", placeholder="site (click one on the map)"),
                                            html.Button("Move hub", id="set-hub"),
                                            html.Button("Open a hub there", id="open-hub"),
                                            html.Button("Close polysystem (units to 'move to')", id="close-hub"),
                                        ]
                                    ),
                                ],
                                open=True,
                            ),
                            html.Details(
                                [
                                    html.Summary("Estates"),
                                    html.Div(id="site-info", className="wb-note"),
                                    html.Button("Force open", id="force-open"),
                                    html.Button("Force closed", id="force-closed"),
                                    html.Button("Release", id="force-clear"),
                                    html.Button("Shortlist sites", id="shortlist"),
                                    html.Div(id="shortlist-table"),
                                ]
                            ),
                            html.Details(
                                [
                                    html.Summary("Export"),
                                    *[html.Button(label, id=id_) for id_, label in EXPORTS.items()],
                                ],
                                open=True,
                            ),
                        ],
                        className="wb-side",
                    ),
                    html.Div(
                        dl.Map(
                            id="map",
                            center=[51.5, -0.1],
                            zoom=10,
                            style={"height": "100%", "width": "100%"},
                            children=[
                                dl.GeoJSON(
                                    id="outlines",
                                    data={"type": "FeatureCollection", "features": []},
                                    style=_fn("outlineStyle"),
                                    onEachFeature=_fn("onEachOutline"),
                                    interactive=False,
                                ),
                                dl.GeoJSON(
                                    id="boroughs",
                                    data={"type": "FeatureCollection", "features": []},
                                    style={"color": "#555555", "weight": 1.5, "dashArray": "6 4", "fill": False},
                                    interactive=False,
                                ),
                                dl.GeoJSON(
                                    id="units",
                                    data={"type": "FeatureCollection", "features": []},
                                    pointToLayer=_fn("unitToLayer"),
                                    style=_fn("unitStyle"),
                                    onEachFeature=_fn("onEachUnit"),
                                ),
                                dl.GeoJSON(
                                    id="sites",
                                    data={"type": "FeatureCollection", "features": []},
                                    pointToLayer=_fn("siteToLayer"),
                                    onEachFeature=_fn("onEachSite"),
                                ),
                                dl.ScaleControl(position="bottomleft"),
                            ],
                        ),
                        className="wb-map",
                    ),
                    html.Div(
                        [
                            html.Div(id="verdict"),
                            html.Div(id="verdict-seq", style={"display": "none"}),
                            html.Div(
                                [
                                    html.Span(id="areas-note", className="wb-note"),
                                    html.Button("Redraw areas", id="redraw-areas"),
                                ]
                            ),
                            html.Div(id="map-seq", style={"display": "none"}),
                            html.Div(id="map-changed", style={"display": "none"}),
                            html.Details([html.Summary("Polysystems"), html.Div(id="table")], open=True),
                            html.Details(
                                [
                                    html.Summary("Compare"),
                                    dcc.Dropdown(id="cmp-a", placeholder="first", value="today"),
                                    dcc.Dropdown(id="cmp-b", placeholder="second", value="edited"),
                                    html.Button("Compare", id="compare"),
                                    html.Button("Show moves on the map", id="compare-map"),
                                    html.Div(id="comparison"),
                                ],
                                open=True,
                            ),
                        ],
                        className="wb-right",
                    ),
                ],
                className="wb-main",
            ),
        ],
        className="wb-page",
    )


# ---------------------------------------------------------------------------- rendering of the session
def verdict_block(session: Session) -> list[Any]:
    """Status, key figures and the broken rules of the edited configuration."""
    v = session.verdict
    if v is None:
        return [
            html.Div("No configuration yet: the solve is running, or press Solve.", className="wb-note", id="status")
        ]
    plan = v.plan
    f = v.figures
    problem = session.problem
    estimate, placeholder = travel_times_label(problem), capital_costs_label(problem)
    rows = [
        ("polysystems", str(f["polysystems"])),
        ("mean travel (min)" + estimate, _fmt(f["mean_travel_min"])),
        ("longest travel (min)" + estimate, _fmt(f["max_travel_min"])),
        ("objective", _fmt(f["objective"], "{:,.4f}")),
        ("capital cost (GBP)" + placeholder, _fmt(f["capital_cost"], "{:,.0f}")),
    ]
    label = plan.status_label if plan.status == "breaks_rules" else "satisfies every rule"
    origin = plan.solver or "edited"
    out: list[Any] = [
        html.Div(f"Configuration ({origin}, edit {session.edits}): {label}", className="wb-status", id="status"),
        html.Div(f"travel times: {problem.travel_label}", className="wb-note"),
        html.Table([html.Tr([html.Td(k), html.Td(val)]) for k, val in rows], className="wb-figures"),
        *([html.Div(f"note: {PLACEHOLDER_COSTS_NOTE}", className="wb-note")] if placeholder else []),
    ]
    if v.violations:
        out.append(html.Div(f"Broken rules ({len(v.violations)}):"))
        out.append(
            html.Ul(
                [html.Li(str(x), className=f"wb-breach wb-rule-{x.rule}") for x in v.violations[:LIST_ROWS]],
                id="breaches",
            )
        )
        if len(v.violations) > LIST_ROWS:
            out.append(
                html.Div(f"... and {len(v.violations) - LIST_ROWS} more (all in the export)", className="wb-note")
            )
    else:
        out.append(html.Ul([], id="breaches"))
    opt = session.optimum
    if opt is not None:
        out.append(
            html.Div(
                f"Last solve: {opt.plan.status_label}; objective {_fmt(opt.objective, '{:,.4f}')}, "
                f"bound {_fmt(opt.plan.bound, '{:,.4f}')}, gap {gap_words(opt.gap, 4)}; "
                f"validated: {'yes' if opt.validated else 'no'}",
                className="wb-note",
                id="solve-label",
            )
        )
    return out


def polysystem_table(session: Session) -> Any:
    """The edited configuration's polysystems (population against the floor)."""
    if session.verdict is None:
        return ""
    table = session.polysystems()
    floor = session.problem.rules.floor
    estimate = travel_times_label(session.problem)
    head = html.Tr([html.Th(c) for c in ("polysystem", "hub", "option", "population", "units", "mean min" + estimate)])
    rows = []
    if floor is not None and len(table) > LIST_ROWS:  # the polysystems below the floor first
        table = table.assign(_below=table["population"] < floor).sort_values(["_below"], ascending=False, kind="stable")
    for r in table.head(LIST_ROWS).itertuples(index=False):
        below = floor is not None and finite(r.population) is not None and r.population < floor
        rows.append(
            html.Tr(
                [
                    html.Td(str(r.polysystem_id)),
                    html.Td(str(r.hub_site_name)[:24]),
                    html.Td(str(r.hub_option)),
                    html.Td(_fmt(r.population, "{:,.0f}"), className="wb-breach" if below else ""),
                    html.Td(str(r.n_units)),
                    html.Td(_fmt(r.mean_travel_min)),
                ]
            )
        )
    more = [html.Div(f"... and {len(table) - LIST_ROWS} more (all in the export)", className="wb-note")]
    return [html.Table([head, *rows], className="wb-table"), *(more if len(table) > LIST_ROWS else [])]


def progress_text(session: Session) -> list[Any]:
    """The background job's progress, as its process reports it."""
    summary = session.job_summary()
    if not summary:
        return []
    kind, state, elapsed = summary["kind"], summary["state"], summary["elapsed_s"]
    if state == "running":
        live = summary["progress"]
        reported = (
            html.Div(
                f"solver log at {live['time']}: best plan {live['best']}, bound {live['bound']}, gap {live['gap']}",
                id="job-live",
            )
            if live
            else html.Div("no branch-and-bound progress reported by the solver yet", className="wb-note")
        )
        return [
            html.Div(f"{kind}: running, {elapsed:.0f} s elapsed", id="job-state"),
            reported,
            html.Div(
                "As the solver prints them (its model's objective; for the neighbourhood search, the current "
                "sub-model's). Cancel stops it at once; nothing is kept.",
                className="wb-note",
            ),
        ]
    if state != "done":
        return [
            html.Div(f"{kind}: {state} after {elapsed:.1f} s", id="job-state"),
            *[html.Div(e, className="wb-breach") for e in summary["errors"]],
        ]
    if kind != "solve":
        return [html.Div(f"{kind}: done in {elapsed:.1f} s", id="job-state")]
    lines = [
        html.Div(f"solve: {summary['label']} in {elapsed:.1f} s", id="job-state"),
        html.Div(
            f"best plan {_fmt(summary['objective'], '{:,.4f}')}, bound {_fmt(summary['bound'], '{:,.4f}')}, "
            f"gap {gap_words(summary['gap'], 4)}"
        ),
    ]
    if summary["diagnosis"]:
        lines.append(html.Div(summary["diagnosis"], className="wb-breach"))
    if summary["violations"]:
        lines.append(
            html.Div(
                "INTERNAL ERROR: the plan failed the independent validator; it is not used: "
                + "; ".join(summary["violations"]),
                className="wb-breach",
            )
        )
    elif summary["validated"]:
        lines.append(html.Div("the plan passed the independent validator", className="wb-note"))
    if summary.get("replaced"):
        lines.append(
            html.Div("the solve's plan replaced the configuration you had: Undo brings it back", className="wb-note")
        )
    return lines


def shortlist_block(session: Session) -> Any:
    """The ranked sites (regret and value of keeping in percent of the best plan found).

    The best plan is "the optimum" only when proven; otherwise a line above the table says
    what it is and which solve found it, and each regret and value says what was proven
    (``regret_label``/``value_label`` of the shortlist, shown when the pointer rests on it).
    """
    shortlist = session.shortlist
    if shortlist is None:
        return ""
    proven = shortlist.best.status == "optimal"
    table = shortlist.frame()
    plan_words = "in optimum" if proven else "in best plan found"
    head = html.Tr([html.Th(c) for c in ("rank", "site", plan_words, "regret %", "value %", "near-opt.")])
    rows = [
        html.Tr(
            [
                html.Td(str(r.rank)),
                html.Td(f"{str(r.site_name)[:22]} ({r.site_id})"),
                html.Td("yes" if r.in_optimum else ""),
                html.Td(
                    _fmt(r.regret_pct, missing="infeasible")
                    if r.forced_open_status != "screened"
                    else "≥ " + _fmt(r.regret_bound_pct),
                    title=str(r.regret_label),
                ),
                html.Td(_fmt(r.value_pct, missing="essential"), title=str(r.value_label)),
                html.Td(_share(r.near_optimal_share)),
            ]
        )
        for r in table.itertuples(index=False)
    ]
    rows_table = html.Table([head, *rows], className="wb-table", id="shortlist-rows")
    if proven:
        return rows_table
    words = (
        f"best plan found: {shortlist.best.plan.status_label}, by {shortlist.best_source}; regret and value "
        "are against it, and each says what was proven when the pointer rests on it"
    )
    return html.Div([html.Div(words, className="wb-note"), rows_table])


def _site_label(session: Session, site: str) -> str:
    problem = session.problem
    j = problem.site_index(site)
    return f"{problem.site_names[j]} ({site})"


def hub_options(session: Session) -> list[dict[str, str]]:
    """Dropdown options naming each polysystem of the edited configuration by its hub."""
    if session.verdict is None:
        return []
    plan = session.verdict.plan
    ids = plan.polysystem_ids()
    return [{"label": f"{ids[h]}: {_site_label(session, h)}", "value": h} for h in plan.hubs]


def comparison_block(session: Session, a: str, b: str) -> tuple[Any, frozenset[str]]:
    """Figures of two plans side by side and their moves; the moved unit ids."""
    comparison = session.compare(a, b)
    sides = (comparison.current, comparison.proposed)
    estimate = travel_times_label(session.problem)
    keys = [
        ("polysystems", "polysystems", "{:,.0f}"),
        ("mean_travel_min", "mean travel (min)" + estimate, "{:,.2f}"),
        ("max_travel_min", "longest travel (min)" + estimate, "{:,.2f}"),
        ("rules_broken", "rules broken", "{:,.0f}"),
    ]
    rows = [html.Tr([html.Th(""), html.Th(a), html.Th(b)])]
    rows += [html.Tr([html.Td(label), *[html.Td(_fmt(s.get(k), p)) for s in sides]]) for k, label, p in keys]
    ari = comparison.adjusted_rand_index
    moves = comparison.moves
    moved = frozenset(str(u) for u in moves["unit_id"])
    listing = [  # records, not itertuples: itertuples renames the column "from" (a Python keyword) to _2
        html.Li(f"{r['unit_id']}: {r['from']} -> {r['to']} ({_fmt(r['population'], '{:,.0f}')} people)")
        for r in moves.head(50).to_dict("records")
    ]
    more = [html.Div(f"... and {len(moves) - 50} more", className="wb-note")] if len(moves) > 50 else []
    block = [
        html.Table(rows, className="wb-table"),
        html.Div(
            f"adjusted Rand index {'n/a' if ari is None else f'{ari:.3f}'}; {comparison.units_moved} units "
            f"({comparison.population_moved:,.0f} people) move",
            id="comparison-summary",
        ),
        html.Ul(listing),
        *more,
    ]
    return block, moved


# ---------------------------------------------------------------------------- the app
def create_app(session: Session, *, scenario_path: str | None = None) -> dash.Dash:
    """The Dash app around a session (open ``scenario_path`` first when given)."""
    view = View(session)
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        title="Catchment planner workbench",
        serve_locally=True,
        update_title="",
    )
    app.layout = lambda: layout(session, scenario_path=scenario_path or session.source)
    dispatcher = app.config.routes_pathname_prefix + DISPATCHER

    @app.server.before_request
    def _refuse_malformed_callback_requests() -> Any:
        """A request to the dispatcher that Dash could not read gets HTTP 400 and a line in the log."""
        from flask import jsonify, request

        if request.path != dispatcher or request.method != "POST":
            return None
        try:
            body = json.loads(request.get_data()) if request.is_json else None
        except ValueError as exc:
            problem: str | None = f"the body is not JSON ({exc})"
        else:
            problem = (
                callback_request_problem(body, app.callback_map, checks=REQUEST_CHECKS)
                if request.is_json
                else "the body must be JSON (Content-Type: application/json)"
            )
        if problem is None:
            return None
        logger.warning("refused a malformed callback request (HTTP 400): %s", problem)
        return jsonify(error=f"malformed callback request: {problem}"), 400

    app.clientside_callback(
        ClientsideFunction(namespace="workbench", function_name="apply"),
        Output("map-seq", "children"),
        Output("map-changed", "children"),
        Input("styles", "data"),
    )

    @app.callback(
        Output("area-code", "options"),
        Input("area-kind", "value"),
        State("area-choices", "data"),
    )
    def _area_codes(kind: str | None, choices: Mapping[str, Any] | None) -> list[dict[str, str]]:
        # the values were checked before (REQUEST_CHECKS): this callback has no messages to show
        return [{"label": n, "value": c} for c, n in (choices or {}).get(kind or "", [])]

    action_inputs = [
        "open-file",
        "open-area",
        "apply-rules",
        "solve",
        "cancel",
        "move",
        "undo",
        "redo",
        "set-option",
        "set-hub",
        "open-hub",
        "close-hub",
        "force-open",
        "force-closed",
        "force-clear",
        "shortlist",
        "compare",
        "compare-map",
    ]
    rule_states = [
        State("floor", "value"),
        State("ceiling", "value"),
        State("n-min", "value"),
        State("n-max", "value"),
        State("max-travel", "value"),
        State("budget", "value"),
        State("contiguity", "value"),
        State("boundaries", "value"),
        State("required", "value"),
        State("excluded", "value"),
        State("time-limit", "value"),
        *[State(f"w-{t}", "value") for t in OBJECTIVE_TERMS],
    ]

    @app.callback(
        Output("messages", "children"),
        Output("styles", "data"),
        Output("verdict", "children"),
        Output("verdict-seq", "children"),
        Output("table", "children"),
        Output("progress", "children"),
        Output("tick", "disabled"),
        Output("version", "data"),
        Output("edit-seq", "data"),
        Output("target", "options"),
        Output("hub", "options"),
        Output("cmp-a", "options"),
        Output("cmp-b", "options"),
        Output("comparison", "children"),
        Output("shortlist-table", "children"),
        Output("opened", "children"),
        *[Input(i, "n_clicks") for i in action_inputs],
        Input("tick", "n_intervals"),
        State("scenario-path", "value"),
        State("area-kind", "value"),
        State("area-code", "value"),
        State("unit-type", "value"),
        State("unit", "value"),
        State("target", "value"),
        State("hub", "value"),
        State("option", "value"),
        State("new-site", "value"),
        State("cmp-a", "value"),
        State("cmp-b", "value"),
        State("version", "data"),
        State("edit-seq", "data"),
        *rule_states,
        prevent_initial_call=False,
    )
    def _act(*values: Any) -> tuple[Any, ...]:
        n = len(action_inputs) + 1
        sent_version, sent_edits = values[n + 11 : n + 13]  # what the page shows (a response may be dropped)
        page_version = page_edits = None  # not known until checked: the page's stores are set again
        rules = values[n + 13 :]
        trigger = ctx.triggered_id
        messages: list[str] = []
        comparison: Any = dash.no_update
        edit_before = session.edits
        try:
            page_version = _count_field(sent_version, "version")
            page_edits = _count_field(sent_edits, "edit sequence")
            fields = (
                *("scenario file", "area kind", "area", "unit type", "unit", "move to", "polysystem"),
                *("hub option", "new hub site", "first plan", "second plan"),
            )
            texts = [_text_field(v, f) for v, f in zip(values[n : n + 11], fields, strict=True)]
            (path, kind, code, unit_type, unit, target, hub, option, new_site, cmp_a, cmp_b) = texts
            if trigger is None and scenario_path and session.built is None:
                session.open_file(scenario_path)
            elif trigger == "open-file":
                if not path:
                    raise CatchmentError("give a scenario file to open")
                session.open_file(path)
            elif trigger == "open-area":
                if not code:
                    raise CatchmentError("pick an area from the list to open")
                session.open_area(kind or "", code, unit_type or "")
            elif trigger == "tick":
                session.poll()
            elif session.built is None and trigger is not None:
                raise CatchmentError("open a scenario file or an area first")
            elif trigger == "apply-rules":
                session.set_rules(_rules_from_page(rules))
            elif trigger == "solve":
                session.set_rules(_rules_from_page(rules))
                session.start_solve()
            elif trigger == "cancel":
                session.cancel()
            elif trigger == "move":
                unit = _selectable(session, unit, "unit", unit=True)
                target = _selectable(session, target, "move to", unit=False)
                if not unit or not target:
                    raise CatchmentError("choose a unit (click it on the map) and the polysystem to move it to")
                session.move(unit, target)
            elif trigger == "undo":
                session.undo()
            elif trigger == "redo":
                session.redo()
            elif trigger == "set-option":
                hub, option = _selectable(session, hub, "polysystem", unit=False), _option_field(option, "hub option")
                if not hub or not option:
                    raise CatchmentError("choose a polysystem and a hub option")
                session.set_option(hub, option)
            elif trigger == "set-hub":
                hub = _selectable(session, hub, "polysystem", unit=False)
                new_site = _selectable(session, new_site, "new hub site", unit=False)
                if not hub or not new_site:
                    raise CatchmentError("choose a polysystem and the site of its new hub")
                session.set_hub(hub, new_site)
            elif trigger == "open-hub":
                new_site = _selectable(session, new_site, "new hub site", unit=False)
                option = _option_field(option, "hub option")
                if not new_site:
                    raise CatchmentError("choose the site of the new hub (click it on the map)")
                session.open_hub(new_site, option)
            elif trigger == "close-hub":
                hub = _selectable(session, hub, "polysystem", unit=False)
                target = _selectable(session, target, "move to", unit=False)
                if not hub or not target:
                    raise CatchmentError("choose the polysystem to close and, under 'move to', where its units go")
                session.close_hub(hub, target)
            elif trigger in ("force-open", "force-closed", "force-clear"):
                if not view.selected or view.selected not in session.problem.site_ids:
                    raise CatchmentError("click a site on the map first")
                force = {"force-open": "open", "force-closed": "closed"}.get(trigger)
                session.force_site(view.selected, force)
            elif trigger == "shortlist":
                session.start_shortlist()
            elif trigger in ("compare", "compare-map"):
                if not cmp_a or not cmp_b:
                    raise CatchmentError("choose the two plans to compare (first and second)")
                block, moved = comparison_block(session, cmp_a, cmp_b)
                comparison = block
                view.highlight_extra = moved if trigger == "compare-map" else frozenset()
            if trigger in ("open-file", "open-area") and session.verdict is None:
                session.start_solve()  # no configuration of today to show: the scenario's solution
        except (CatchmentError, FileNotFoundError, ValueError, KeyError) as exc:
            messages = ["ERROR: " + line for line in error_lines(exc)]
        except Exception as exc:  # noqa: BLE001 - shown in the page; the server goes on serving
            logger.exception("workbench action %s failed", trigger)
            messages = [f"INTERNAL ERROR ({trigger}): {type(exc).__name__}: {exc} (the traceback is in the server log)"]
        if trigger not in ("compare-map", "compare") and session.edits != edit_before:
            view.highlight_extra = frozenset()
        view.refresh()
        job = session.job
        running = job is not None and job.state == "running"
        plans = [{"label": k, "value": k} for k in session.plans()]
        hubs = hub_options(session)
        unchanged = trigger == "tick" and session.edits == page_edits and session.version == page_version
        new_shortlist = session.shortlist is not view.sent_shortlist  # e.g. the shortlist job just finished
        view.sent_shortlist = session.shortlist
        if unchanged:
            return (
                dash.no_update,
                dash.no_update,
                dash.no_update,
                dash.no_update,
                dash.no_update,
                progress_text(session),
                not running,
                *[dash.no_update] * 7,
                shortlist_block(session) if new_shortlist else dash.no_update,
                dash.no_update,
            )
        opened = f"{session.scenario.name} ({session.source})" if session.scenario is not None else "nothing open"
        hubs_key = tuple(o["value"] for o in hubs)
        hubs_out: Any = hubs if hubs_key != view.sent_hubs else dash.no_update
        view.sent_hubs = hubs_key
        return (
            [html.Div(m) for m in messages],
            view.styles(),
            verdict_block(session),
            str(session.edits),
            polysystem_table(session),
            progress_text(session),
            not running,
            session.version if session.version != page_version else dash.no_update,
            session.edits,
            hubs_out,
            hubs_out,
            plans,
            plans,
            comparison,
            shortlist_block(session),
            opened,
        )

    @app.callback(
        Output("units", "data"),
        Output("sites", "data"),
        Output("boroughs", "data"),
        Output("map", "viewport"),
        Output("unit", "options"),
        Output("new-site", "options"),
        Output("floor", "value"),
        Output("ceiling", "value"),
        Output("n-min", "value"),
        Output("n-max", "value"),
        Output("max-travel", "value"),
        Output("budget", "value"),
        Output("contiguity", "value"),
        Output("boundaries", "value"),
        Output("required", "value"),
        Output("excluded", "value"),
        Output("time-limit", "value"),
        *[Output(f"w-{t}", "value") for t in OBJECTIVE_TERMS],
        Output("messages", "children", allow_duplicate=True),
        Input("version", "data"),
        prevent_initial_call=True,
    )
    def _load(version: Any) -> tuple[Any, ...]:
        try:
            seen = _count_field(version, "version")
        except CatchmentError as exc:
            return (*[dash.no_update] * (len(ctx.outputs_list) - 1), _error_messages(exc))
        if session.built is None or session.scenario is None or seen is None or seen < 0:
            raise dash.exceptions.PreventUpdate
        view.refresh()  # the map's data of what is open now (whichever request comes first)
        layers = view.layers
        problem = session.problem
        names = problem.unit_names or problem.unit_ids
        units = [{"label": f"{n} ({u})", "value": u} for u, n in zip(problem.unit_ids, names, strict=True)]
        sites = [{"label": _site_label(session, s), "value": s} for s in problem.site_ids]
        form = rules_form(session.scenario)
        weights = form["weights"]
        return (
            layers["units"],
            layers["sites"],
            layers["boroughs"],
            {"bounds": bounds(layers)},
            units,
            sites,
            form["floor"],
            form["ceiling"],
            form["polysystems_min"],
            form["polysystems_max"],
            form["max_travel_min"],
            form["budget"],
            ["yes"] if form["contiguity"] else [],
            form["boundaries"] or "",
            form["required"],
            form["excluded"],
            form["time_limit"],
            *[weights.get(t) for t in OBJECTIVE_TERMS],
            dash.no_update,
        )

    @app.callback(
        Output("outlines", "data"),
        Output("areas-note", "children"),
        Output("messages", "children", allow_duplicate=True),
        Input("edit-seq", "data"),
        Input("redraw-areas", "n_clicks"),
        prevent_initial_call=True,
    )
    def _outlines(seq: Any, redraw: Any) -> tuple[Any, Any, Any]:
        try:
            seen = _count_field(seq, "edit sequence")
            _count_field(redraw, "Redraw areas (clicks)")
        except CatchmentError as exc:
            return dash.no_update, dash.no_update, _error_messages(exc)
        if seen is None or seen < 0 or session.built is None:
            raise dash.exceptions.PreventUpdate
        auto = session.problem.n_units <= AUTO_AREAS_MAX_UNITS
        if ctx.triggered_id == "redraw-areas" or auto or view.outlines_for == session.edits:
            return view.update_outlines(), f"polysystem areas as of edit {view.outlines_for}", dash.no_update
        note = (
            f"polysystem areas as of edit {view.outlines_for} (points and the verdict show edit {session.edits}); "
            "Redraw areas to update them"
        )
        return dash.no_update, note, dash.no_update

    @app.callback(
        Output("unit", "value"),
        Output("new-site", "value"),
        Output("styles", "data", allow_duplicate=True),
        Output("unit-info", "children"),
        Output("site-info", "children"),
        Output("messages", "children", allow_duplicate=True),
        Input("units", "clickData"),
        Input("sites", "clickData"),
        Input("unit", "value"),
        prevent_initial_call=True,
    )
    def _select(unit_click: Any, site_click: Any, unit_value: Any) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        unit: Any = dash.no_update
        site: Any = dash.no_update
        selected = view.selected
        try:
            clicked_unit = _clicked_id(unit_click, "map click (units)")
            clicked_site = _clicked_id(site_click, "map click (sites)")
            typed = _text_field(unit_value, "unit")
            if trigger == "units" and unit_click:
                selected = unit = _selectable(session, clicked_unit, "map click (units)", unit=True)
            elif trigger == "sites" and site_click:
                selected = site = _selectable(session, clicked_site, "map click (sites)", unit=False)
            elif trigger == "unit":
                selected = _selectable(session, typed, "unit", unit=True)
        except CatchmentError as exc:
            return (*[dash.no_update] * (len(ctx.outputs_list) - 1), _error_messages(exc))
        view.selected = selected
        styles = view.styles()
        return unit, site, styles, _unit_info(session, selected), _site_info(session, selected), dash.no_update

    @app.callback(
        Output("download", "data"),
        Output("messages", "children", allow_duplicate=True),
        *[Input(id_, "n_clicks") for id_ in EXPORTS],
        prevent_initial_call=True,
    )
    def _export(*_clicks: Any) -> tuple[Any, Any]:
        if session.verdict is None:
            return dash.no_update, [html.Div("ERROR: nothing to export yet: solve, or open today's PCNs")]
        stem = Path(session.source).stem or "plan"
        trigger = ctx.triggered_id
        try:
            if trigger == "export-xlsx":
                data, name = session.workbook(), f"{stem}-plan.xlsx"
            elif trigger == "export-zip":
                data, name = session.output_folder_zip(), f"{stem}-workbench.zip"
            elif trigger == "export-pdf":
                data, name = session.report_pdf(), f"{stem}-report.pdf"
            else:
                layers = session.geojson()
                return {"content": json.dumps(layers["polysystems"]), "filename": f"{stem}-polysystems.geojson"}, []
        except (CatchmentError, ValueError) as exc:
            return dash.no_update, _error_messages(exc)
        except OSError as exc:  # the files could not be written (the temporary folder)
            return dash.no_update, _error_messages(export_error(EXPORTS.get(str(trigger), str(trigger)), exc))
        return {"content": base64.b64encode(data).decode(), "filename": name, "base64": True}, []

    return app


def callback_request_problem(
    body: Any,
    callbacks: Mapping[str, Mapping[str, Any]],
    *,
    checks: Mapping[str, Callable[..., Any]] | None = None,
) -> str | None:
    """What makes a request to Dash's callback dispatcher unreadable by Dash, or ``None``.

    The page sends a JSON object naming one of ``callbacks`` (``app.callback_map``) in
    ``output``, that callback's outputs in ``outputs`` (one ``{id, property}`` object, a list
    of them for several outputs), one such object per input in ``inputs`` and per state in
    ``state`` (left out when there is none), and the inputs that changed as ``id.property``
    texts in ``changedPropIds``. Dash reads that shape without checking it (anything else
    raised a KeyError, AttributeError, TypeError or CallbackException: HTTP 500). The values
    are the callbacks' to check, and the page's messages show what is wrong with them; a
    callback without messages to show has its values checked here by its function in
    ``checks`` (keyed as ``callbacks``; it takes the values of the inputs, then of the states,
    and raises :class:`~geodata.errors.CatchmentError` naming the field). A request naming a
    callback the page runs itself (clientside) is refused: the server has no function for it.
    (The page has no pattern-matching callbacks: every id is text.)
    """
    if not isinstance(body, Mapping):
        return f"the body must be a JSON object, got {_json_words(body)}"
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        return f"'output' must name a callback of this page, got {_json_words(output)}"
    spec = callbacks[output]
    if "callback" not in spec:
        return f"'output' names {shown_value(output)}, a callback the page runs itself, not one of the server"
    declared = spec["output"]
    many = isinstance(declared, (list, tuple))
    outputs = [(o.component_id, o.component_property) for o in (declared if many else [declared])]
    if many:
        problem = _items_problem(body.get("outputs"), "outputs", outputs)
    else:  # one output: one object
        problem = _items_problem([body.get("outputs")], "outputs", outputs, one=True)
    inputs = [(d["id"], d["property"]) for d in spec["inputs"]]
    problem = problem or _items_problem(body.get("inputs"), "inputs", inputs)
    states = [(d["id"], d["property"]) for d in spec["state"]]
    problem = problem or _items_problem(body.get("state", []), "state", states)
    if problem:
        return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return f"'changedPropIds' must be a list of texts, got {_json_words(changed)}"
    unknown = [c for c in changed if c not in {f"{i}.{p}" for i, p in inputs}]
    if unknown:
        return f"'changedPropIds' names {_json_words(unknown[0])}, not an input of callback {shown_value(output)}"
    check = (checks or {}).get(output)
    if check is not None:
        try:
            check(*[item.get("value") for item in [*body["inputs"], *body.get("state", [])]])
        except CatchmentError as exc:
            return " ".join(error_lines(exc))
    return None


def _items_problem(items: Any, key: str, expected: list[tuple[Any, str]], *, one: bool = False) -> str | None:
    """What is wrong with the ``{id, property}`` objects of a callback request's ``key``, or ``None``.

    ``one``: ``key`` holds one object (``items`` is it, in a list of one), not a list.
    """
    if not isinstance(items, list) or len(items) != len(expected):
        return f"'{key}' must be a list of {len(expected)} {{id, property}} objects, got {_json_words(items)}"
    for n, (item, (id_, prop)) in enumerate(zip(items, expected, strict=True)):
        where = f"'{key}'" if one else f"'{key}'[{n}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("property"), str):
            return f"{where} must be an {{id, property}} object, got {_json_words(item)}"
        elif item.get("id") != id_ or item["property"].split("@")[0] != prop:
            sent = f"{item.get('id')}.{item['property']}"
            return f"{where} must be {id_}.{prop} (the callback's), got {_json_words(sent)}"
    return None


def _json_words(value: Any) -> str:
    """A value of a request in a message: its JSON type and the start of its text."""
    if value is None:
        return "null"
    kind = {dict: "object", list: "list", str: "text", bool: "boolean"}.get(type(value), "number")
    return f"{kind} {shown_value(value)}"


def _wrong_type(field: str, expected: str, value: Any) -> CatchmentError:
    """The error for a value of the page that is not of the field's kind (names the field)."""
    return CatchmentError(f"{field}: expected {expected}, got {type(value).__name__} {shown_value(value)}")


def _text_field(value: Any, field: str) -> str | None:
    """A text field or dropdown of the page: its text, or ``None`` when empty.

    Raises
    ------
    CatchmentError
        If the page sent something other than text (naming the field).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _wrong_type(field, "text", value)
    return value


def _count_field(value: Any, field: str) -> int | None:
    """A whole number the page keeps (a store's sequence number, a button's clicks), or ``None``.

    Raises
    ------
    CatchmentError
        If the page sent something other than a whole number (naming the field).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(field, "a whole number", value)
    return value


def _clicked_id(click: Any, field: str) -> str | None:
    """The feature id of a dash-leaflet ``clickData`` (``None``: no click, or a feature without id).

    Raises
    ------
    CatchmentError
        If the page sent something other than a map feature with a text id (naming the field).
    """
    if click is None:
        return None
    props = click.get("properties") if isinstance(click, Mapping) else None
    if not isinstance(click, Mapping) or not isinstance(props if props is not None else {}, Mapping):
        raise _wrong_type(field, "a map feature", click)
    return _text_field((props or {}).get("id"), field)


def _area_lists(value: Any, field: str) -> Mapping[str, Any] | None:
    """The page's lists of areas (``{kind: [[code, name], ...]}``), or ``None``.

    They are :func:`workbench.state.area_choices`, kept in the page's store ``area-choices``.

    Raises
    ------
    CatchmentError
        If the page sent something else (naming the field).
    """
    if value is None:
        return None
    pairs_ok = isinstance(value, Mapping) and all(
        isinstance(k, str)
        and isinstance(areas, list)
        and all(isinstance(a, list) and len(a) == 2 and all(isinstance(x, str) for x in a) for a in areas)
        for k, areas in value.items()
    )
    if not pairs_ok:
        raise _wrong_type(field, "lists of areas by kind ({kind: [[code, name], ...]})", value)
    return value


def _area_codes_request(kind: Any, choices: Any) -> None:
    """The values of the area list's callback (``area-kind``, ``area-choices``): raises naming a bad one."""
    _text_field(kind, "area kind")
    _area_lists(choices, "area lists")


#: The value checks of the callbacks that have no messages to show (their key in
#: ``app.callback_map`` -> the check, see :func:`callback_request_problem`): a bad value is a
#: malformed request (HTTP 400).
REQUEST_CHECKS: dict[str, Callable[..., None]] = {"area-code.options": _area_codes_request}


def _selectable(session: Session, value: str | None, field: str, *, unit: bool) -> str | None:
    """``value`` when it is a unit (``unit``) or a candidate site of the open problem, ``None`` when empty.

    Raises
    ------
    CatchmentError
        If it is neither (naming the field).
    """
    if value is None:
        return None
    ids = () if session.built is None else session.problem.unit_ids if unit else session.problem.site_ids
    if value not in ids:
        what = "a unit" if unit else "a candidate site"
        raise CatchmentError(f"{field}: {shown_value(value)} is not {what} of the open problem")
    return value


def _option_field(value: str | None, field: str) -> str | None:
    """``value`` when it is a hub option (:data:`catchment.problem.OPTION_KINDS`), ``None`` when empty.

    Raises
    ------
    CatchmentError
        If it is not (naming the field).
    """
    if value is None or value in OPTION_KINDS:
        return value
    raise CatchmentError(f"{field}: {shown_value(value)} is not a hub option ({', '.join(OPTION_KINDS)})")


def _error_messages(exc: BaseException) -> list[html.Div]:
    """An error as the page's message lines (``ERROR: ``, one per line of the message)."""
    return [html.Div("ERROR: " + line) for line in error_lines(exc)]


def _unit_info(session: Session, unit: str | None) -> str:
    if session.built is None or session.verdict is None or not unit or unit not in session.problem.unit_ids:
        return ""
    problem = session.problem
    i = problem.unit_ids.index(unit)
    hub = session.verdict.plan.assignment.get(unit)
    ps = session.verdict.plan.polysystem_ids().get(hub or "", "none")
    name = (problem.unit_names or problem.unit_ids)[i]
    return f"{name} ({unit}): {problem.population[i]:,.0f} people, in {ps}"


def _site_info(session: Session, site: str | None) -> str:
    if session.built is None or not site or site not in session.problem.site_ids:
        return "click a site on the map"
    status = session.problem.site_status[session.problem.site_index(site)]
    forced = session.forced.get(site)
    return f"{_site_label(session, site)}: {status}" + (f" (forced {forced})" if forced else "")


def _rules_from_page(values: tuple[Any, ...]) -> dict[str, Any]:
    """The rules panel's values as :func:`workbench.state.scenario_with_rules` takes them."""
    floor, ceiling, n_min, n_max, travel, budget, contiguity, boundaries, required, excluded, limit = values[:11]
    weights = dict(zip(OBJECTIVE_TERMS, values[11:], strict=True))

    def whole(x: Any) -> Any:
        return int(x) if isinstance(x, float) and math.isfinite(x) and x.is_integer() else x

    return {
        "floor": floor,
        "ceiling": ceiling,
        "polysystems_min": whole(n_min),
        "polysystems_max": whole(n_max),
        "max_travel_min": travel,
        "budget": budget,
        "contiguity": bool(contiguity),
        "boundaries": boundaries or None,
        "required": required or "",
        "excluded": excluded or "",
        "time_limit": limit,
        "weights": {k: v for k, v in weights.items() if v not in (None, "")},
    }


def run(
    scenario: str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    data_dir: Path | None = None,
) -> None:
    """Serve the workbench until interrupted.

    Parameters
    ----------
    scenario
        A scenario file to open first (errors raise before the server starts).
    host, port
        Where to listen (``127.0.0.1``: this machine only).
    data_dir
        The data folder (default ``$CATCHMENT_DATA_DIR``).

    Raises
    ------
    CatchmentError
        If ``host``:``port`` cannot be listened on (:func:`check_listen`), before anything is
        loaded; a bad scenario file.
    """
    check_listen(host, port)  # before the scenario is loaded (seconds)
    session = Session(data_dir)
    if scenario is not None:
        session.open_file(scenario)  # bad input: the command line's message and exit code 2
        if session.verdict is None:
            session.start_solve()  # no configuration of today to show: the scenario's solution
    app = create_app(session, scenario_path=None if scenario is None else str(scenario))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logger.info("workbench on http://%s:%d/ (Ctrl-C stops it)", host, port)
    app.run(host=host, port=port, debug=False)


def check_listen(host: str, port: int) -> None:
    """Check that the server can listen on ``host``:``port`` (as werkzeug binds it), and free it again.

    Raises
    ------
    CatchmentError
        If it cannot: the port is in use (naming ``--port`` and the port), or the address is
        unusable (naming ``--host`` and ``--port``).
    """
    import errno
    import socket

    from werkzeug.serving import get_sockaddr, select_address_family

    family = select_address_family(host, port)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
            probe.bind(get_sockaddr(host, port, family))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise CatchmentError(
                f"--port {port}: the port is in use by another program on {host} ({reason}); stop that "
                "program or give another --port"
            ) from None
        raise CatchmentError(
            f"--host {shown_value(host)} --port {port}: the workbench cannot listen there ({reason})"
        ) from None


def serve_in_background(app: dash.Dash, *, host: str = "127.0.0.1", port: int = 0) -> Any:
    """Serve ``app`` from a thread (tests, benchmarks, screenshots); returns the server.

    ``port`` 0 takes a free port (``server.server_port``); ``server.shutdown()`` stops it.
    """
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(host, port, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, name="workbench-server", daemon=True).start()
    return server
