"""Hostile names in every HTML output: shown as text, never run as script.

Every string that comes from data (practice, area and site names and ids, borough names,
file names, travel labels, plan notes, scenario and sweep names, shortlist and phasing
notes, plan labels) is replaced by markup that would run script if a page inserted it as
HTML. Each page is checked twice:

* in the file: no payload appears as written; its escaped form does;
* in headless Chromium (no network): ``alert`` is replaced before any script runs (in
  every frame, the report's inlined map too), every layer is put on the map, every
  tooltip and popup is opened and every legend added; no payload may call ``alert`` or
  set its flag, and the names must read as the payloads' text.
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from matplotlib import rc_context
from test_maps_browser import browser  # noqa: F401 - the headless Chromium fixture

from catchment.build import BuiltProblem, build_demo
from catchment.plan import Plan
from catchment.sweep import parse_sweep
from maps import comparison_map, report_html, save_map, write_plan_outputs
from maps.html import chart_text, escape, escape_properties, tooltip_text
from maps.phasing import write_phasing_outputs
from maps.shortlist import write_shortlist_outputs
from maps.sweep import write_sweep_outputs
from solvers import solve, solve_heuristic
from solvers.batch import SolveOptions
from solvers.phasing import phase_plan
from solvers.shortlist import shortlist_sites
from solvers.sweep import run_sweep

#: Markup that runs script wherever a page inserts it as HTML (or closes a ``<script>``),
#: each also setting a flag, and text that must survive escaping as written.
PAYLOADS = (
    "<img src=x onerror=alert(2);window.__pwned=2>",
    "</script><script>alert(1);window.__pwned=1</script>",
    "\"'><svg onload=alert(3);window.__pwned=3>",
    "`${alert(4)}` R&amp;D \\u003c $5 & <b>bold</b>",
)
OPTIONS = SolveOptions(time_limit=60)


def _payload(k: int) -> str:
    return PAYLOADS[k % len(PAYLOADS)]


def hostile_built(built: BuiltProblem) -> BuiltProblem:
    """The demo with hostile unit and site ids and names, area and borough names, labels, files."""
    problem = built.problem
    unit_ids = {u: f"{u}{_payload(k)}" if k < 2 * len(PAYLOADS) else u for k, u in enumerate(problem.unit_ids)}
    site_ids = {s: f"{s}{_payload(k)}" for k, s in enumerate(problem.site_ids)}
    units = built.units.copy()
    units["unit_id"] = units["unit_id"].map(unit_ids)
    units["name"] = [f"{name} {_payload(k)}" for k, name in enumerate(units["name"])]
    sites = built.sites.copy()
    sites["site_id"] = sites["site_id"].map(site_ids)
    sites["name"] = [f"{name} {_payload(k + 1)}" for k, name in enumerate(sites["name"])]
    areas = built.areas.copy()
    areas["name"] = [f"{name} {_payload(k + 2)}" for k, name in enumerate(areas["name"])]
    registrations = built.registrations
    if problem.unit_type == "lsoa":
        areas["lsoa_code"] = areas["lsoa_code"].map(lambda a: unit_ids.get(a, a))
    else:
        registrations = registrations.assign(practice_code=registrations["practice_code"].map(unit_ids))
    boundaries = built.boundaries.assign(lad_name=[_payload(k) for k in range(len(built.boundaries))])
    waivers = {unit_ids[problem.unit_ids[0]]: _payload(3)}
    hostile = dataclasses.replace(
        problem,
        unit_ids=tuple(unit_ids[u] for u in problem.unit_ids),
        unit_names=tuple(units["name"]),
        site_ids=tuple(site_ids[s] for s in problem.site_ids),
        site_names=tuple(sites["name"]),
        options=tuple(dataclasses.replace(o, site_id=site_ids[o.site_id]) for o in problem.options),
        travel_label=f"{problem.travel_label} {_payload(1)}",
        rules=dataclasses.replace(problem.rules, waivers=waivers),
        units=units,
        sites=sites,
    )
    return dataclasses.replace(
        built,
        problem=hostile,
        units=units,
        sites=sites,
        areas=areas,
        registrations=registrations,
        boundaries=boundaries,
        travel_description=f"{built.travel_description} {_payload(2)}",
        input_files={**built.input_files, f"data/{_payload(0)}.csv": "0" * 64},
    )


def with_notes(plan: Plan) -> Plan:
    return dataclasses.replace(plan, notes=(*plan.notes, *PAYLOADS))


# ---------------------------------------------------------------------------- the helpers
@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_leaves_no_markup(payload):
    text = escape(payload)
    assert not set("<>\"'") & set(text) and html.unescape(text) == payload
    assert escape_properties({"name": payload, "n": 3, "none": None}) == {"name": text, "n": 3, "none": None}
    inert = tooltip_text(payload)
    assert not set("<>\"'`$\\") & set(inert) and html.unescape(inert) == payload
    assert escape(None) == escape(float("nan")) == escape(pd.NA) == ""


def test_chart_text_is_drawn_as_written():
    from matplotlib.figure import Figure

    name = "Site $\\frac{1 $2 & <b>"
    fig = Figure()
    fig.text(0.1, 0.5, name)
    with pytest.raises(ValueError):  # read as (broken) mathematics
        fig.savefig(io.StringIO(), format="svg")
    fig = Figure()
    fig.text(0.1, 0.5, chart_text(name))
    out = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg")
    assert escape(name) in out.getvalue()  # the text as written, escaped by matplotlib's SVG writer


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Every HTML page the engine writes, drawn for the hostile demo."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        practice = hostile_built(build_demo())
        lsoa = hostile_built(build_demo(unit_type="lsoa"))
    plan = solve(practice.problem, time_limit=60)
    assert plan.status == "optimal"
    lsoa_plan = solve_heuristic(lsoa.problem)
    out: dict[str, Path] = {}

    folder = tmp_path_factory.mktemp("plan")
    files = write_plan_outputs(folder, practice, with_notes(plan))
    out["map.html"], out["report.html"] = files["map.html"], files["report.html"]
    folder = tmp_path_factory.mktemp("lsoa")
    files = write_plan_outputs(folder, lsoa, with_notes(lsoa_plan))
    out["lsoa map.html"], out["lsoa report.html"] = files["map.html"], files["report.html"]
    titled = tmp_path_factory.mktemp("titled") / "report.html"
    titled.write_text(report_html(practice, plan, title=_payload(2)), encoding="utf-8")
    out["titled report.html"] = titled

    short = shortlist_sites(practice.problem, options=OPTIONS)
    table = short.frame().assign(note=[_payload(k) for k in range(len(short.frame()))])
    folder = tmp_path_factory.mktemp("shortlist")
    out["shortlist.html"] = write_shortlist_outputs(
        folder, practice, table, summary={"optimum": short.optimum, "tolerance": short.tolerance}
    )["shortlist.html"]

    spec = parse_sweep({"sweep": {"base": "demo", "name": _payload(0)}, "grid": {"floor": [50_000, 900_000]}})
    result = run_sweep(spec, {None: practice}, options=OPTIONS, not_applicable={"mode": _payload(1)})
    table = result.frame()
    table["note"] = [_payload(k + 2) for k in range(len(table))]
    items = [
        (o.point, o.record.plan if o.record is not None else None, o.status, o.note, {"name": _payload(3)})
        for o in result.outcomes
    ]
    folder = tmp_path_factory.mktemp("sweep")
    out["sweep.html"] = write_sweep_outputs(
        folder,
        table,
        items,
        bases={None: practice},
        title=_payload(0),
        base=_payload(1),
        not_applicable={_payload(2): _payload(3)},
        maps=False,
    )["sweep.html"]

    phasing = phase_plan(practice.problem, plan, years=3, annual_budget=2_000_000)
    assert phasing.has_schedule
    summary = {
        "plan": f"Plan: the configuration {_payload(0)}.csv",
        "status": phasing.status,
        "carry_over": False,
        "person_years": phasing.person_years(),
        "notes": list(PAYLOADS),
    }
    folder = tmp_path_factory.mktemp("phasing")
    out["phasing.html"] = write_phasing_outputs(folder, phasing.frame(), phasing.years_frame(), summary=summary)[
        "phasing.html"
    ]

    other = solve(
        dataclasses.replace(
            practice.problem,
            rules=dataclasses.replace(
                practice.problem.rules,
                min_polysystems=len(plan.hub_options) - 1,
                max_polysystems=len(plan.hub_options) - 1,
            ),
        ),
        time_limit=60,
    )
    assert other.has_plan
    folder = tmp_path_factory.mktemp("compare")
    out["comparison.html"] = save_map(
        comparison_map(practice, plan, other, labels=(_payload(0), _payload(2))), folder / "comparison.html"
    )
    return out


PAGES = (
    "map.html",
    "report.html",
    "lsoa map.html",
    "lsoa report.html",
    "titled report.html",
    "shortlist.html",
    "sweep.html",
    "phasing.html",
    "comparison.html",
)


def _escaped_forms(text: str) -> set[str]:
    """How escaped ``text`` may be written: HTML text, inside a JSON string, in ``srcdoc``."""
    escaped = html.escape(text)
    in_json = json.dumps(escaped)[1:-1]
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        in_json = in_json.replace(char, code)
    return {escaped, in_json, html.escape(escaped)}


@pytest.mark.parametrize("page", PAGES)
def test_no_payload_is_written_as_markup(pages, page):
    text = pages[page].read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert payload not in text, f"{page} holds {payload!r} unescaped"
    for payload in PAYLOADS[:3]:
        assert any(form in text for form in _escaped_forms(payload)), f"{page} lacks {payload!r} escaped"
    # the one closing tag a payload could write never appears outside the page's own scripts
    assert text.lower().count("</script>") == text.lower().count("<script")


# ---------------------------------------------------------------------------- in a browser
#: Runs before any script of every frame: records calls instead of showing dialogs.
GUARD = (
    "window.__alerts = [];"
    "window.alert = window.confirm = window.prompt = function (m) { window.__alerts.push(String(m)); };"
)

#: Puts every layer and legend on the map, hovers every feature and opens every popup, then
#: (after the page had time to load any injected image) reports what ran and what was shown.
EXERCISE = """
const done = arguments[arguments.length - 1];
const seen = {guard: Array.isArray(window.__alerts), hovered: 0, tooltips: 0, popups: 0, texts: []};
document.querySelectorAll("details").forEach(d => { d.open = true; });
if (window.L) {
  const globals = Object.getOwnPropertyNames(window).map(k => { try { return window[k]; } catch (e) { return null; } });
  for (const map of globals.filter(v => v instanceof L.Map)) {
    for (const v of globals) {
      if (v instanceof L.Layer && !(v instanceof L.Map) && !(v instanceof L.DivOverlay) && !map.hasLayer(v)) {
        v.addTo(map);
      }
      if (v instanceof L.Control && !v._map) { v.addTo(map); }
    }
    const layers = [];
    map.eachLayer(l => { if (!(l instanceof L.LayerGroup) && !(l instanceof L.GridLayer)) { layers.push(l); } });
    for (const l of layers) {
      const at = l.getLatLng ? l.getLatLng() : (l.getBounds ? l.getBounds().getCenter() : null);
      if (!at) { continue; }
      l.fire("mouseover", {latlng: at}, true);
      seen.hovered += 1;
      document.querySelectorAll(".leaflet-tooltip").forEach(t => { seen.tooltips += 1; seen.texts.push(t.textContent); });
      l.fire("mouseout", {latlng: at}, true);
      if (l.getPopup && l.getPopup()) {
        l.openPopup(at);
        seen.popups += 1;
        seen.texts.push(l.getPopup().getElement().textContent);
        l.closePopup();
      }
    }
  }
}
setTimeout(() => {
  seen.texts.push(document.body.innerText);
  seen.alerts = window.__alerts;
  seen.pwned = window.__pwned === undefined ? null : String(window.__pwned);
  done(seen);
}, 800);
"""  # noqa: E501 - the page script, one statement a line

#: Pages with a map: at least this many features hovered and popups opened.
MAP_PAGES = {"map.html": (200, 40), "lsoa map.html": (150, 5), "shortlist.html": (40, 10), "comparison.html": (200, 40)}


@pytest.fixture(scope="module")
def guarded(browser):  # noqa: F811 - the pytest fixture imported above
    """The browser with :data:`GUARD` in every new document (and frame)."""
    browser.set_script_timeout(120)
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": GUARD})
    yield browser
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def _exercise(driver) -> dict:
    seen = driver.execute_async_script(EXERCISE)
    assert seen["guard"], "alert was not replaced before the page's scripts ran"
    return seen


@pytest.mark.parametrize("page", PAGES)
def test_no_payload_runs_in_a_browser(guarded, pages, page):
    from selenium.webdriver.common.by import By
    from test_maps_browser import _errors

    guarded.get_log("browser")  # forget earlier pages
    guarded.get(pages[page].as_uri())
    frames = [_exercise(guarded)]
    if "report" in page:  # the report's map is a page of its own, inlined in an iframe
        guarded.switch_to.frame(guarded.find_element(By.CSS_SELECTOR, "iframe.map"))
        try:
            frames.append(_exercise(guarded))
        finally:
            guarded.switch_to.default_content()
    for seen in frames:
        assert seen["alerts"] == [] and seen["pwned"] is None, (
            f"{page}: payloads ran {len(seen['alerts'])} time(s): alert({sorted(set(seen['alerts']))})"
        )
    maps = frames[-1] if page in MAP_PAGES or "report" in page else None
    if page in MAP_PAGES:
        hovered, popups = MAP_PAGES[page]
        assert maps["hovered"] >= hovered and maps["tooltips"] >= hovered and maps["popups"] >= popups, maps
    shown = "\n".join(text for seen in frames for text in seen["texts"])
    for payload in PAYLOADS:  # shown as written: as text, neither run nor mangled
        assert payload in shown, f"{page} does not show {payload!r} as text"
    assert _errors(guarded) == []
