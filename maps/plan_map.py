"""The interactive map of a plan (folium, works offline).

:func:`plan_map` draws, bottom to top: travel time to the assigned hub (a choropleth,
off by default), the small areas coloured by polysystem, borough outlines, the polysystem
outlines, the practices (practice units; circles sized by list size), the candidate sites
not chosen and the hubs (shape by site type, lettered badge by option). A legend, a layer
control and a box of key figures (status with gap, coverage, number of polysystems,
where travel times come from) complete it. Neighbouring polysystems never share a colour
(:func:`polysystem_colours`).

Leaflet is inlined into the page (:mod:`maps.assets`): polygons, markers, popups and
legend render with no internet. Only the OpenStreetMap background needs a connection; the
map stays readable without it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element

from catchment.build import BuiltProblem
from catchment.metrics import (
    assignments_frame,
    capital_costs_label,
    estimate_label_of,
    plan_bounds_label,
    plan_summary,
    polysystems_frame,
    travel_times_label,
)
from catchment.objective import extra_reported_terms
from catchment.plan import Plan, gap_words, money_words, share_words
from catchment.problem import PLACEHOLDER_LABEL
from geodata.settings import BNG
from maps.areas import PlanGeometry, plan_geometry, to_wgs84, touching_pairs
from maps.assets import HtmlPopup, LayerLegend, MapControl, OfflineMap, text_tooltip
from maps.html import escape as _e
from maps.html import escape_properties
from maps.palette import (
    OPTION_COLOURS,
    OPTION_LABELS,
    OPTION_LETTERS,
    POLYSYSTEM_COLOURS,
    SITE_TYPE_LABELS,
    colour_graph,
    text_colour,
    travel_breaks,
    travel_colour,
    travel_scale,
)

__all__ = [
    "plan_map",
    "polysystem_colours",
    "map_html",
    "save_map",
    "hub_icon_svg",
    "base_map",
    "add_plan_layers",
    "PlanLayers",
    "key_figures_html",
    "legend_html",
    "travel_legend_html",
    "plan_summary_label",
    "format_gap",
    "MAP_CSS",
]

logger = logging.getLogger(__name__)

#: Leaflet pane of the filled area layers (below the overlay pane of outlines and markers).
AREA_PANE = "catchment-areas"

#: Styles of the boxes, legend and icons drawn over the map.
MAP_CSS = """
.catchment-box { background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35);
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: #111; max-width: 340px; }
.catchment-box h4 { margin: 0 0 4px; font-size: 13px; }
.catchment-box summary { cursor: pointer; font-size: 13px; }
.catchment-box h5 { margin: 6px 0 2px; font-size: 12px; }
.catchment-box table { border-collapse: collapse; }
.catchment-box td { padding: 1px 4px 1px 0; vertical-align: top; }
.catchment-legend { max-height: 62vh; overflow-y: auto; }
.catchment-legend .sw { display: inline-block; width: 14px; height: 12px; border: 1px solid #222;
  vertical-align: middle; margin-right: 5px; }
.catchment-legend .row { white-space: nowrap; }
.catchment-key .status-feasible { color: #8a4b00; font-weight: 600; }
.catchment-key .status-optimal { color: #145a32; font-weight: 600; }
.catchment-key .status-breaks, .catchment-legend .status-breaks { color: #8b0000; font-weight: 600; }
.catchment-key .warn { color: #8a4b00; }
.catchment-hub, .catchment-candidate { background: none; border: none; }
.catchment-hub svg, .catchment-candidate svg { overflow: visible; display: block; }
.catchment-popup table { border-collapse: collapse; font-size: 12px; }
.catchment-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
.catchment-popup .names { max-height: 120px; overflow-y: auto; font-size: 11px; }
.catchment-layer-legend .note { max-width: 230px; font-size: 11px; color: #333; margin-top: 4px; }
.catchment-layer-legend .sw { display: inline-block; width: 14px; height: 12px; border: 1px solid #222;
  vertical-align: middle; margin-right: 5px; }
"""


@dataclass(frozen=True)
class PlanLayers:
    """What :func:`add_plan_layers` added (``None``: layer not drawn)."""

    breaks: list[float]
    travel: folium.GeoJson | None
    areas: folium.GeoJson | None
    outlines: folium.GeoJson | None
    hubs: folium.FeatureGroup


# ---------------------------------------------------------------------------- public
def plan_map(
    built: BuiltProblem,
    plan: Plan,
    *,
    tiles: bool = True,
    simplify_m: float = 10.0,
    min_patients: float = 100.0,
    title: str | None = None,
    key_box: bool = True,
    legend_open: bool = True,
    geometry: PlanGeometry | None = None,
    colours: Mapping[str, str] | None = None,
) -> folium.Map:
    """Interactive map of a plan.

    Parameters
    ----------
    built
        The problem and its frames (EPSG:27700).
    plan
        The plan to draw.
    tiles
        Add the OpenStreetMap background (needs internet to show; the map is readable
        without it). ``False`` for a page that makes no request at all.
    simplify_m
        Simplification tolerance of the polygons, in metres.
    min_patients
        Practice units: smallest number of registered patients for an LSOA to be drawn
        (see :func:`maps.areas.plan_geometry`).
    title
        Heading of the key-figures box (default: "Polysystem plan").
    key_box
        Show the key-figures box (a page that shows them itself may leave it out).
    legend_open
        Show the legend unfolded at first (it can be folded and unfolded).
    geometry, colours
        Shapes and polysystem colours when already computed (e.g. for a report that
        also draws charts in the same colours).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` (or ``Map.save``); the page links no CDN.
    """
    geometry = geometry or plan_geometry(built, plan, min_patients=min_patients)
    colours = colours or polysystem_colours(plan, geometry)
    m = base_map(built, geometry, tiles=tiles)
    layers = add_plan_layers(m, built, plan, geometry, colours, simplify_m=simplify_m)
    if key_box:
        MapControl(
            key_figures_html(built, plan, geometry, title=title), position="bottomleft", css_class="catchment-key"
        ).add_to(m)
    MapControl(
        legend_html(built, plan, colours, geometry, open_=legend_open),
        position="bottomright",
        css_class="catchment-legend",
    ).add_to(m)
    if layers.travel is not None:
        LayerLegend(layers.travel, travel_legend_html(built, layers.breaks, geometry)).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m


def polysystem_colours(
    plan: Plan,
    geometry: PlanGeometry,
    *,
    preferred: Mapping[str, str] | None = None,
    palette: Sequence[str] = POLYSYSTEM_COLOURS,
) -> dict[str, str]:
    """A colour per polysystem id; polysystems whose areas touch get different colours.

    Parameters
    ----------
    plan
        The plan (every polysystem gets a colour, with an area or not).
    geometry
        Its shapes (:func:`maps.areas.plan_geometry`).
    preferred
        Polysystem id -> colour to keep where no neighbour has it.
    palette
        Colours, colour-blind safe by default.

    Returns
    -------
    dict
        Polysystem id -> hex colour.
    """
    ids = sorted(plan.polysystem_ids().values())
    edges = touching_pairs(geometry.polysystems.dropna(subset=["polysystem_id"]), "polysystem_id")
    return colour_graph(ids, edges, palette=palette, preferred=preferred)


def map_html(m: folium.Map) -> str:
    """The complete HTML page of a map."""
    return m.get_root().render()


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map's page (UTF-8) and return its path."""
    path = Path(path)
    path.write_text(map_html(m), encoding="utf-8")
    return path


def hub_icon_svg(site_type: str, option: str | None, fill: str, *, size: int = 30, chosen: bool = True) -> str:
    """Inline SVG of a site: square for a hospital site, circle for a community site.

    A chosen hub is filled with its polysystem's colour, lettered H or C, and carries a
    badge with the option's letter (R reuse, F refurbish, N new build). A candidate not
    chosen is a small hollow grey shape.
    """
    letter = "H" if site_type == "hospital" else "C"
    if not chosen:
        s = size
        shape = (
            f'<rect x="1.5" y="1.5" width="{s - 3}" height="{s - 3}" rx="2" '
            if site_type == "hospital"
            else f'<circle cx="{s / 2}" cy="{s / 2}" r="{s / 2 - 1.5}" '
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" viewBox="0 0 {s} {s}">'
            f'{shape}fill="#FFFFFF" fill-opacity="0.85" stroke="#555555" stroke-width="1.5" '
            f'stroke-dasharray="3 2"/>'
            f'<text x="{s / 2}" y="{s / 2 + 3.5}" text-anchor="middle" font-size="{s * 0.55:.0f}" '
            f'font-family="Arial, sans-serif" fill="#555555">{letter}</text></svg>'
        )
    s = size
    ink = text_colour(fill)
    shape = (
        f'<rect x="2" y="2" width="{s - 4}" height="{s - 4}" rx="3" '
        if site_type == "hospital"
        else f'<circle cx="{s / 2}" cy="{s / 2}" r="{s / 2 - 2}" '
    )
    badge = ""
    if option:
        b_fill = OPTION_COLOURS.get(option, "#BBBBBB")
        b_ink = text_colour(b_fill)
        badge = (
            f'<circle cx="{s - 2}" cy="3" r="7.5" fill="{b_fill}" stroke="#222222" stroke-width="1.2"/>'
            f'<text x="{s - 2}" y="6.6" text-anchor="middle" font-size="10" font-weight="700" '
            f'font-family="Arial, sans-serif" fill="{b_ink}">{OPTION_LETTERS.get(option, "?")}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" viewBox="0 0 {s} {s}">'
        f'{shape}fill="{fill}" stroke="#111111" stroke-width="2.5"/>'
        f'<text x="{s / 2}" y="{s / 2 + 5}" text-anchor="middle" font-size="{s * 0.5:.0f}" font-weight="700" '
        f'font-family="Arial, sans-serif" fill="{ink}">{letter}</text>{badge}</svg>'
    )


# ---------------------------------------------------------------------------- building blocks
def base_map(built: BuiltProblem, geometry: PlanGeometry, *, tiles: bool) -> folium.Map:
    """An :class:`~maps.assets.OfflineMap` fitted to the plan, with the page's styles."""
    bounds = _bounds(built, geometry)
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = OfflineMap(location=centre, zoom_start=12, tiles=None, control_scale=True, font_size="13px")
    # branca types get_root() as an Element; a map's root is a Figure, which has the header
    m.get_root().header.add_child(Element(f"<style>{MAP_CSS}</style>"), name="catchment_css")  # type: ignore[attr-defined]
    # Filled areas sit in a pane below Leaflet's overlay pane: whichever area layer is
    # switched on last, outlines and practices stay on top of it.
    folium.map.CustomPane(AREA_PANE, z_index=390, pointer_events=True).add_to(m)
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap background (online)", control=True).add_to(m)
    m.fit_bounds(bounds, padding=(10, 10))
    return m


def add_plan_layers(
    m: folium.Map,
    built: BuiltProblem,
    plan: Plan,
    geometry: PlanGeometry,
    colours: Mapping[str, str],
    *,
    label: str = "",
    show: bool = True,
    travel: bool = True,
    candidates: bool = True,
    boundaries: bool = True,
    outline_dash: str | None = None,
    show_outlines: bool | None = None,
    simplify_m: float = 10.0,
) -> PlanLayers:
    """Add a plan's layers to a map.

    Parameters
    ----------
    m
        The map.
    built, plan, geometry, colours
        The plan, its shapes and polysystem colours.
    label
        Prefix of the layer names (for maps with several plans).
    show
        Whether the plan's area and hub layers are on at first.
    travel, candidates, boundaries
        Whether to add those layers.
    outline_dash
        SVG dash pattern of the polysystem outlines (``None``: solid).
    show_outlines
        Whether the polysystem outlines are on at first (default: ``show``).
    simplify_m
        Simplification tolerance of the polygons, in metres.

    Returns
    -------
    PlanLayers
        The travel-time class breaks and the layers other elements refer to.
    """
    prefix = f"{_e(label)}: " if label else ""  # Leaflet's layer control shows names as HTML
    problem = built.problem
    assignments = assignments_frame(problem, plan)
    table = polysystems_frame(problem, plan)
    breaks = travel_breaks(assignments["travel_min"].dropna())
    areas = to_wgs84(geometry.areas, simplify_m=simplify_m) if len(geometry.areas) else geometry.areas
    travel_layer = None
    if travel and len(areas):
        travel_layer = _travel_layer(areas, breaks, geometry, name=f"{prefix}Travel time to hub")
        travel_layer.add_to(m)
    area_layer = None
    if len(areas):
        area_layer = _area_layer(areas, colours, geometry, name=f"{prefix}{_area_layer_name(geometry)}", show=show)
        area_layer.add_to(m)
    if boundaries and built.boundaries is not None and len(built.boundaries):
        _boundary_layer(built.boundaries).add_to(m)
    outline_layer = None
    if len(geometry.polysystems):
        polys = to_wgs84(geometry.polysystems, simplify_m=simplify_m)
        outline_layer = _polysystem_layer(
            polys,
            colours,
            table,
            name=f"{prefix}Polysystems",
            show=show if show_outlines is None else show_outlines,
            dash=outline_dash or ("6 4" if geometry.approximate else None),
        )
        outline_layer.add_to(m)
    if problem.unit_type == "practice" and built.units.geom_type.eq("Point").all():
        _practice_layer(built, plan, assignments, colours, name=f"{prefix}Practices", show=show).add_to(m)
    if candidates:
        _candidate_layer(built, plan, name=f"{prefix}Candidate sites not chosen").add_to(m)
    hubs = _hub_layer(built, plan, table, assignments, colours, name=f"{prefix}Hubs", show=show)
    hubs.add_to(m)
    return PlanLayers(breaks, travel_layer, area_layer, outline_layer, hubs)


def key_figures_html(built: BuiltProblem, plan: Plan, geometry: PlanGeometry, *, title: str | None = None) -> str:
    """The key-figures box: status (honestly), gap, coverage, count, capital, travel source."""
    summary = plan_summary(built.problem, plan)
    status_class = {"optimal": "status-optimal", "breaks_rules": "status-breaks"}.get(plan.status, "status-feasible")
    terms = summary.get("objective_terms") or {}
    placeholder = capital_costs_label(built.problem)
    bounds = plan_bounds_label(built.problem, plan)
    rows = [
        ("Status", f'<span class="{status_class}">{_e(plan.status_label)}</span>'),
        ("Gap", _e(format_gap(plan.gap))),
        # the bound that certified an open gap, as the report's "How this plan was found" says it
        *((("Bounds", _e(bounds)),) if bounds and not plan.proven_optimal else ()),
        ("Solver", f"{_e(plan.solver or 'n/a')}, {plan.runtime_s:.1f} s"),
        ("Polysystems", f"{summary['n_polysystems']}"),
        ("Coverage", _e(summary["coverage_text"])),
        ("Mean travel", _minutes(terms.get("mean_travel")) + _e(travel_times_label(built.problem))),
        ("Longest travel", _minutes(terms.get("max_travel")) + _e(travel_times_label(built.problem))),
        ("Capital", money_words(summary["capital_cost"]) + _e(placeholder)),
        *((_e(t.label), _e(t.text(terms.get(t.name)))) for t in extra_reported_terms(built.problem.objective.terms)),
        ("Travel times", _e(summary["travel_label"])),
        ("Areas", _e(geometry.method)),
    ]
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    warn = ""
    if geometry.approximate:
        warn = '<div class="warn">Areas are approximate (Voronoi cells around the practices).</div>'
    if summary["travel_source"] == "estimate":
        warn += '<div class="warn">Travel times are an estimate, not road travel times.</div>'
    if plan.violations:
        warn += (
            '<div class="warn">Broken rules:<ul>'
            + "".join(f"<li>{_e(v)}</li>" for v in plan.violations)
            + "</ul></div>"
        )
    if summary["capital_costs_note"]:
        warn += f'<div class="warn">Note: {_e(summary["capital_costs_note"])}.</div>'
    return f"<h4>{_e(title or 'Polysystem plan')}</h4><table>{body}</table>{warn}"


def legend_html(
    built: BuiltProblem,
    plan: Plan,
    colours: Mapping[str, str],
    geometry: PlanGeometry,
    *,
    open_: bool = True,
    extra: str = "",
) -> str:
    """The legend (a foldable box): polysystems, hub symbols, practices, outlines, ``extra``."""
    table = polysystems_frame(built.problem, plan)
    parts = [f"<details{' open' if open_ else ''}><summary><b>Legend</b></summary>"]
    if plan.status == "breaks_rules":
        parts.append(f'<div class="row status-breaks">The configuration {_e(plan.status_label)} (see the key)</div>')
    parts.append("<h5>Polysystems (hub, population)</h5>")
    row: Any  # a row of the table: its fields are the table's columns
    for row in table.itertuples(index=False):
        colour = colours.get(row.polysystem_id, "#BBBBBB")
        flag = " ⚠ below floor" if row.below_floor else ""
        parts.append(
            f'<div class="row"><span class="sw" style="background:{colour}"></span>'
            f"{_e(row.polysystem_id)} · {_e(_short(row.hub_site_name))} · {row.population:,.0f}{flag}</div>"
        )
    parts.append("<h5>Hubs</h5><table>")
    for site_type in ("hospital", "community"):
        parts.append(
            f"<tr><td>{hub_icon_svg(site_type, None, '#DDDDDD', size=18)}</td>"
            f"<td>hub on a {SITE_TYPE_LABELS[site_type]}</td></tr>"
        )
    for option, letter in OPTION_LETTERS.items():
        fill = OPTION_COLOURS[option]
        parts.append(
            f'<tr><td><svg width="18" height="18"><circle cx="9" cy="9" r="7.5" fill="{fill}" stroke="#222"/>'
            f'<text x="9" y="12.5" text-anchor="middle" font-size="10" font-weight="700" '
            f'font-family="Arial" fill="{text_colour(fill)}">{letter}</text></svg></td>'
            f"<td>option: {OPTION_LABELS[option]}</td></tr>"
        )
    if built.problem.capital_costs_source == "placeholder":
        parts.append('<tr><td></td><td class="placeholder">capital costs: placeholders</td></tr>')
    parts.append(
        f"<tr><td>{hub_icon_svg('community', None, '#FFFFFF', size=16, chosen=False)}</td>"
        "<td>candidate site not chosen</td></tr></table>"
    )
    if built.problem.unit_type == "practice":
        parts.append(
            '<h5>Practices</h5><div class="row"><svg width="18" height="14"><circle cx="7" cy="7" r="5" '
            'fill="#999" stroke="#222"/></svg>practice, area ∝ list size</div>'
        )
        if not geometry.approximate:
            parts.append(
                '<div class="row">Area shading: stronger = larger share of the<br>'
                "area's patients in that polysystem</div>"
            )
    if built.boundaries is not None and len(built.boundaries):
        parts.append(
            '<h5>Outlines</h5><div class="row"><svg width="26" height="10"><line x1="0" y1="5" x2="26" y2="5" '
            'stroke="#444" stroke-width="1.6" stroke-dasharray="5 3"/></svg> borough boundary</div>'
        )
    parts.append(f"{extra}</details>")
    return "".join(parts)


def travel_legend_html(built: BuiltProblem, breaks: Sequence[float], geometry: PlanGeometry) -> str:
    """Legend of the travel-time layer: classes, what an area's time means, the source."""
    rows = "".join(
        f'<div class="row"><span class="sw" style="background:{colour}"></span>{_e(text)}</div>'
        for colour, text in travel_scale(breaks)
    )
    label = plan_summary_label(built)
    return (
        f'<h4>Travel time to hub</h4>{rows}<div class="note">{_e(geometry.travel_note)}.<br>Source: {_e(label)}</div>'
    )


def plan_summary_label(built: BuiltProblem) -> str:
    """Where travel times come from, in words; an estimate always says so."""
    problem = built.problem
    label = problem.travel_label or built.travel_description
    if problem.travel_source == "estimate" and "estimate" not in label.lower():
        label = f"estimate: {label}"
    return label


# ---------------------------------------------------------------------------- layers
def _area_layer_name(geometry: PlanGeometry) -> str:
    if geometry.approximate:
        return "Approximate areas (Voronoi cells)"
    return "Small areas by polysystem"


def _area_layer(
    areas: gpd.GeoDataFrame, colours: Mapping[str, str], geometry: PlanGeometry, *, name: str, show: bool
) -> folium.GeoJson:
    shaded = not geometry.approximate and bool((areas["share"] < 1).any())
    data = _features(areas, ["area_id", "name", "polysystem_id", "share", "population", "travel_min"])
    fill = {_e(k): v for k, v in colours.items()}  # the features hold escaped ids

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        props = feature["properties"]
        colour = fill.get(props["polysystem_id"] or "", "#BBBBBB")
        share = props["share"] if props["share"] is not None else 1.0
        opacity = 0.15 + 0.6 * share if shaded else 0.55
        return {
            "fillColor": colour,
            "color": "#FFFFFF",
            "weight": 0.6,
            "opacity": 0.8,
            "fillOpacity": round(opacity, 2),
            "className": "catchment-area",
        }

    fields = ["area_id", "name", "polysystem_id", "population", "travel_min"]
    aliases = ["Area", "Name", "Polysystem", "People" if not shaded else "Registered patients", "Travel (min)"]
    if shaded:
        fields.insert(3, "share_pct")
        aliases.insert(3, "Share in polysystem")
    return folium.GeoJson(
        data,
        name=name,
        show=show,
        style_function=style,
        pane=AREA_PANE,
        highlight_function=lambda f: {"weight": 2.0, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
    )


def _travel_layer(
    areas: gpd.GeoDataFrame, breaks: Sequence[float], geometry: PlanGeometry, *, name: str
) -> folium.GeoJson:
    data = _features(areas, ["area_id", "name", "polysystem_id", "share", "population", "travel_min"])

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        value = feature["properties"]["travel_min"]
        return {
            "fillColor": travel_colour(value, breaks),
            "color": "#666666",
            "weight": 0.4,
            "fillOpacity": 0.85,
            "className": "catchment-travel",
        }

    return folium.GeoJson(
        data,
        name=name,
        show=False,
        style_function=style,
        pane=AREA_PANE,
        tooltip=folium.GeoJsonTooltip(
            fields=["area_id", "name", "travel_min"], aliases=["Area", "Name", "Travel to hub (min)"], sticky=True
        ),
    )


def _boundary_layer(boundaries: gpd.GeoDataFrame) -> folium.GeoJson:
    frame = boundaries.to_crs(BNG)
    name_col = next((c for c in ("lad_name", "name") if c in frame.columns), None)
    labels = frame[name_col].astype(str) if name_col else ""
    frame = gpd.GeoDataFrame({"label": labels}, geometry=frame.geometry, crs=BNG)
    data = _features(to_wgs84(frame, simplify_m=15.0), ["label"])
    return folium.GeoJson(
        data,
        name="Borough boundaries",
        style_function=lambda f: {
            "fill": False,
            "color": "#444444",
            "weight": 1.6,
            "dashArray": "5 3",
            "interactive": False,
            "className": "catchment-boundary",
        },
    )


def _polysystem_layer(
    polys: gpd.GeoDataFrame, colours: Mapping[str, str], table: pd.DataFrame, *, name: str, show: bool, dash: str | None
) -> folium.GeoJson:
    info = table.set_index("polysystem_id")
    frame = polys.copy()
    frame["hub"] = frame["polysystem_id"].map(info["hub_site_name"]).fillna("")
    frame["n_units"] = frame["polysystem_id"].map(info["n_units"])
    frame["mean_travel_min"] = frame["polysystem_id"].map(info["mean_travel_min"])
    data = _features(frame, ["polysystem_id", "hub", "population", "n_units", "mean_travel_min"])

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "fill": False,
            "color": "#111111",
            "weight": 2.6,
            "opacity": 0.95,
            "dashArray": dash,
            "className": "catchment-polysystem",
        }

    return folium.GeoJson(
        data,
        name=name,
        show=show,
        style_function=style,
        tooltip=folium.GeoJsonTooltip(
            fields=["polysystem_id", "hub", "population", "n_units", "mean_travel_min"],
            aliases=["Polysystem", "Hub", "Population", "Units", "Mean travel (min)" + estimate_label_of(table)],
            sticky=True,
        ),
    )


def _practice_layer(
    built: BuiltProblem, plan: Plan, assignments: pd.DataFrame, colours: Mapping[str, str], *, name: str, show: bool
) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=name, show=show)
    units = to_wgs84(built.units[["unit_id", "geometry"]].merge(assignments, on="unit_id", how="left"), simplify_m=0)
    largest = float(np.nanmax(units["population"])) if len(units) else 1.0
    for row in units.itertuples(index=False):
        colour = colours.get(row.polysystem_id, "#BBBBBB") if isinstance(row.polysystem_id, str) else "#BBBBBB"
        radius = 3.0 + 9.0 * math.sqrt(max(float(row.population), 0.0) / max(largest, 1.0))
        marker = folium.CircleMarker(
            location=[row.geometry.y, row.geometry.x],
            radius=round(radius, 1),
            color="#111111",
            weight=1.2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
            class_name="catchment-practice",
            tooltip=text_tooltip(f"{row.unit_name} ({row.unit_id})"),
        )
        HtmlPopup(
            _popup(
                [
                    ("Practice", f"{_e(row.unit_name)} ({_e(row.unit_id)})"),
                    ("Registered patients", f"{row.population:,.0f}"),
                    ("Polysystem", _e(row.polysystem_id or "none")),
                    ("Hub", _e(row.hub_site_name or "none")),
                    ("Travel to hub", _minutes(row.travel_min) + estimate_label_of(row)),
                ]
            )
        ).add_to(marker)
        marker.add_to(layer)
    return layer


def _candidate_layer(built: BuiltProblem, plan: Plan, *, name: str) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=name, show=True)
    sites = built.sites.loc[~built.sites["site_id"].isin(plan.hub_options)]
    if len(sites) == 0:
        return layer
    sites = to_wgs84(sites, simplify_m=0)
    offered: dict[str, list[str]] = {}
    for option in built.problem.options:
        offered.setdefault(option.site_id, []).append(
            f"{OPTION_LABELS.get(option.option, option.option)} "
            f"{money_words(option.capital_cost)}"
            f"{PLACEHOLDER_LABEL if option.placeholder else ''}"
        )
    for row in sites.itertuples(index=False):
        icon = folium.DivIcon(
            html=hub_icon_svg(row.site_type, None, "#FFFFFF", size=16, chosen=False),
            icon_size=(16, 16),
            icon_anchor=(8, 8),
            class_name="catchment-candidate",
        )
        marker = folium.Marker(
            location=[row.geometry.y, row.geometry.x],
            icon=icon,
            tooltip=text_tooltip(f"{row.name} ({row.site_id}): candidate not chosen"),
        )
        HtmlPopup(
            _popup(
                [
                    ("Candidate site", f"{_e(row.name)} ({_e(row.site_id)})"),
                    ("Type", _e(SITE_TYPE_LABELS.get(row.site_type, row.site_type))),
                    ("Status", _e(row.status)),
                    ("Options", "<br>".join(_e(t) for t in offered.get(row.site_id, [])) or "none"),
                ]
            )
        ).add_to(marker)
        marker.add_to(layer)
    return layer


def _hub_layer(
    built: BuiltProblem,
    plan: Plan,
    table: pd.DataFrame,
    assignments: pd.DataFrame,
    colours: Mapping[str, str],
    *,
    name: str,
    show: bool,
) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=name, show=show)
    table = table.loc[table["hub_site_id"].isin(built.sites["site_id"])]
    sites = to_wgs84(built.sites.set_index("site_id").loc[list(table["hub_site_id"])].reset_index(), simplify_m=0)
    members = assignments.dropna(subset=["hub_site_id"]).groupby("hub_site_id")["unit_name"].apply(list)
    unit_word = "Practices" if built.problem.unit_type == "practice" else "Areas"
    row: Any  # a row of the table: its fields are the table's columns
    for row, site in zip(table.itertuples(index=False), sites.itertuples(index=False), strict=False):
        colour = colours.get(row.polysystem_id, "#BBBBBB")
        icon = folium.DivIcon(
            html=hub_icon_svg(row.hub_type, row.hub_option, colour, size=30),
            icon_size=(30, 30),
            icon_anchor=(15, 15),
            class_name=f"catchment-hub catchment-hub-{row.hub_type} catchment-option-{row.hub_option}",
        )
        marker = folium.Marker(
            location=[site.geometry.y, site.geometry.x],
            icon=icon,
            tooltip=text_tooltip(f"{row.polysystem_id}: {row.hub_site_name}"),
        )
        names = sorted(members.get(row.hub_site_id, []))
        HtmlPopup(
            _popup(
                [
                    ("Polysystem", _e(row.polysystem_id)),
                    ("Hub", f"{_e(row.hub_site_name)} ({_e(row.hub_site_id)})"),
                    ("Site", _e(SITE_TYPE_LABELS.get(row.hub_type, str(row.hub_type)))),
                    ("Option", _e(OPTION_LABELS.get(row.hub_option, row.hub_option))),
                    (
                        "Capital cost",
                        money_words(row.capital_cost)
                        + (PLACEHOLDER_LABEL if row.capital_cost_source == "placeholder" else ""),
                    ),
                    ("Population", f"{row.population:,.0f}" + (" (below the floor)" if row.below_floor else "")),
                    ("Mean travel", _minutes(row.mean_travel_min) + estimate_label_of(row)),
                    ("Longest travel", _minutes(row.max_travel_min) + estimate_label_of(row)),
                    (
                        f"{unit_word} ({len(names)})",
                        '<div class="names">' + "<br>".join(_e(n) for n in names) + "</div>",
                    ),
                ]
            )
        ).add_to(marker)
        marker.add_to(layer)
    return layer


# ---------------------------------------------------------------------------- helpers
def _features(frame: gpd.GeoDataFrame, columns: list[str]) -> dict[str, Any]:
    """GeoJSON of ``frame`` with JSON-safe properties (NaN -> null) and a unique ``id``.

    Texts are HTML-escaped (:func:`maps.html.escape_properties`): the layers' tooltips
    (``folium.GeoJsonTooltip``) insert property values into the page as HTML.
    """
    features = []
    for k, (geom, props) in enumerate(zip(frame.geometry, frame[columns].to_dict("records"), strict=True)):
        if geom is None or geom.is_empty:
            continue
        clean = {key: _json_value(value) for key, value in props.items()}
        if "share" in clean:
            clean["share_pct"] = None if clean["share"] is None else share_words(clean["share"], 0)
        if "travel_min" in clean and clean["travel_min"] is not None:
            clean["travel_min"] = round(clean["travel_min"], 1)
        if "mean_travel_min" in clean and clean["mean_travel_min"] is not None:
            clean["mean_travel_min"] = round(clean["mean_travel_min"], 1)
        if "population" in clean and clean["population"] is not None:
            clean["population"] = f"{clean['population']:,.0f}"
        features.append(
            {
                "type": "Feature",
                "id": str(k),
                "properties": escape_properties(clean),
                "geometry": geom.__geo_interface__,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is None:
        return None
    return value


def _bounds(built: BuiltProblem, geometry: PlanGeometry) -> list[list[float]]:
    parts = [geometry.polysystems.geometry, built.units.geometry, built.sites.geometry]
    boxes = np.array([gpd.GeoSeries(p, crs=BNG).to_crs(4326).total_bounds for p in parts if len(p)])
    boxes = boxes[np.isfinite(boxes).all(axis=1)]
    west, south = boxes[:, 0].min(), boxes[:, 1].min()
    east, north = boxes[:, 2].max(), boxes[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def _popup(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="catchment-popup"><table>{body}</table></div>'


def _short(text: Any, width: int = 28) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _minutes(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{float(value):.1f} min"


def format_gap(value: float | None) -> str:
    """A relative gap in words for people: ``< 0.01%`` when (nearly) closed (:func:`catchment.plan.gap_words`)."""
    return gap_words(value)
