"""Two plans on one map (e.g. the existing configuration and the optimised plan).

Polysystems of two plans have no common names (``PS01`` of one plan need not be ``PS01``
of the other), so :func:`catchment.compare.polysystem_changes` (re-exported here) first matches them by the
population they share (an optimal assignment); a unit *changes* when its polysystem in the second plan is
not the match of its polysystem in the first. :func:`comparison_map` draws both plans as
layers (the first with dashed outlines), the matched polysystems in the same colour where
neighbours allow, and highlights the units that change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import numpy as np
import pandas as pd

from catchment.build import BuiltProblem
from catchment.compare import adjusted_rand_index, polysystem_changes
from catchment.metrics import capital_costs_label, plan_summary, travel_times_label
from catchment.objective import extra_reported_terms
from catchment.plan import Plan, money_words, share_words
from maps.areas import plan_geometry, to_wgs84
from maps.assets import HtmlPopup, MapControl, text_tooltip
from maps.html import escape as _e
from maps.plan_map import add_plan_layers, base_map, legend_html, polysystem_colours

__all__ = ["polysystem_changes", "comparison_map"]  # polysystem_changes: from catchment.compare


def comparison_map(
    built: BuiltProblem,
    plan_a: Plan,
    plan_b: Plan,
    *,
    labels: Sequence[str] = ("existing", "optimised"),
    tiles: bool = True,
    simplify_m: float = 10.0,
    min_patients: float = 100.0,
) -> folium.Map:
    """Both plans as layers, with the units that change polysystem highlighted.

    Parameters
    ----------
    built
        The problem and its frames.
    plan_a, plan_b
        The two plans (``plan_a`` drawn with dashed outlines, its areas off at first).
    labels
        Names of the two plans in layer names and the key box.
    tiles
        Add the OpenStreetMap background (online only).
    simplify_m, min_patients
        As for :func:`maps.plan_map.plan_map`.

    Returns
    -------
    folium.Map
    """
    label_a, label_b = labels
    geometry_a = plan_geometry(built, plan_a, min_patients=min_patients)
    geometry_b = plan_geometry(built, plan_b, min_patients=min_patients)
    changes = polysystem_changes(built.problem, plan_a, plan_b)
    colours_a = polysystem_colours(plan_a, geometry_a)
    pairs = changes.dropna(subset=["polysystem_a", "match_of_a"]).drop_duplicates("polysystem_a")
    preferred = {
        b: colours_a[a] for a, b in zip(pairs["polysystem_a"], pairs["match_of_a"], strict=True) if a in colours_a
    }
    colours_b = polysystem_colours(plan_b, geometry_b, preferred=preferred)

    m = base_map(built, geometry_b, tiles=tiles)
    add_plan_layers(
        m,
        built,
        plan_a,
        geometry_a,
        colours_a,
        label=label_a,
        show=False,
        show_outlines=True,
        travel=False,
        candidates=False,
        boundaries=False,
        outline_dash="8 5",
        simplify_m=simplify_m,
    )
    add_plan_layers(m, built, plan_b, geometry_b, colours_b, label=label_b, show=True, simplify_m=simplify_m)
    _change_layer(built, changes, label_a, label_b).add_to(m)
    MapControl(
        _comparison_box(built, plan_a, plan_b, changes, labels), position="bottomleft", css_class="catchment-key"
    ).add_to(m)
    changes_html = (
        f'<h5>Changes</h5><div class="row"><svg width="26" height="12"><line x1="0" y1="6" x2="26" y2="6" '
        f'stroke="#111" stroke-width="2.6" stroke-dasharray="8 5"/></svg> {_e(label_a)} polysystem outline</div>'
        '<div class="row"><svg width="18" height="14"><rect x="1" y="1" width="16" height="12" fill="#fff" '
        'fill-opacity="0.5" stroke="#000" stroke-width="2.5" stroke-dasharray="2 3"/></svg> '
        "unit that changes polysystem</div>"
    )
    legend = legend_html(built, plan_b, colours_b, geometry_b, extra=changes_html).replace(
        "<h5>Polysystems", f"<h5>{_e(_capital(label_b))}: polysystems", 1
    )
    MapControl(legend, position="bottomright", css_class="catchment-legend").add_to(m)
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    return m


def _change_layer(built: BuiltProblem, changes: pd.DataFrame, label_a: str, label_b: str) -> folium.FeatureGroup:
    moved = changes.loc[changes["changed"]]
    layer = folium.FeatureGroup(name=f"Units that change polysystem ({len(moved)})", show=True)
    if len(moved) == 0:
        return layer
    units = built.units[["unit_id", "geometry"]].merge(moved, on="unit_id", how="inner")
    units = to_wgs84(units, simplify_m=10.0)
    polygons = units.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    for row in units.itertuples(index=False):
        text = (
            f"{row.unit_name} ({row.unit_id}): {label_a} {row.polysystem_a or 'none'} → "
            f"{label_b} {row.polysystem_b or 'none'}"
        )
        shape: folium.GeoJson | folium.CircleMarker
        if polygons:
            shape = folium.GeoJson(
                row.geometry.__geo_interface__,
                style_function=lambda f: {
                    "color": "#000000",
                    "weight": 2.5,
                    "dashArray": "2 3",
                    "fillColor": "#FFFFFF",
                    "fillOpacity": 0.35,
                    "className": "catchment-change",
                },
                tooltip=text_tooltip(text),
            )
        else:
            point = row.geometry.representative_point()
            shape = folium.CircleMarker(
                location=[point.y, point.x],
                radius=12,
                color="#000000",
                weight=2.5,
                dash_array="2 3",
                fill=False,
                class_name="catchment-change",
                tooltip=text_tooltip(text),
            )
            popup = f"<div class='catchment-popup'>{_e(text)}<br>population {row.population:,.0f}</div>"
            HtmlPopup(popup).add_to(shape)
        shape.add_to(layer)
    return layer


def _comparison_box(
    built: BuiltProblem, plan_a: Plan, plan_b: Plan, changes: pd.DataFrame, labels: Sequence[str]
) -> str:
    problem = built.problem
    sa, sb = plan_summary(problem, plan_a), plan_summary(problem, plan_b)
    ta, tb = sa.get("objective_terms") or {}, sb.get("objective_terms") or {}
    rows = [
        ("Status", _e(plan_a.status_label), _e(plan_b.status_label)),
        ("Rules broken", str(len(plan_a.violations)), str(len(plan_b.violations))),
        ("Polysystems", str(sa["n_polysystems"]), str(sb["n_polysystems"])),
        ("Coverage", share_words(sa["coverage"]), share_words(sb["coverage"])),
        (
            "Mean travel" + _e(travel_times_label(problem)),
            _minutes(ta.get("mean_travel")),
            _minutes(tb.get("mean_travel")),
        ),
        (
            "Longest travel" + _e(travel_times_label(problem)),
            _minutes(ta.get("max_travel")),
            _minutes(tb.get("max_travel")),
        ),
        (
            "Capital" + _e(capital_costs_label(problem)),
            money_words(sa["capital_cost"]),
            money_words(sb["capital_cost"]),
        ),
        *(
            (_e(t.label), _e(t.text(ta.get(t.name))), _e(t.text(tb.get(t.name))))
            for t in extra_reported_terms(problem.objective.terms)
        ),
    ]
    head = f"<tr><td></td><td><b>{_e(labels[0])}</b></td><td><b>{_e(labels[1])}</b></td></tr>"
    body = "".join(f"<tr><td><b>{k}</b></td><td>{a}</td><td>{b}</td></tr>" for k, a, b in rows)
    moved = changes.loc[changes["changed"]]
    total = float(changes["population"].sum())
    share = float(moved["population"].sum()) / total if total > 0 else math.nan
    moved_text = (
        f"{len(moved)} of {len(changes)} units change polysystem "
        f"({moved['population'].sum():,.0f} people, {share_words(share)})"
    )
    ari = adjusted_rand_index(changes)
    ari_text = "" if ari is None else f"Adjusted Rand index of the two groupings: {ari:.3f} (1 = the same grouping)"
    travel = sb["travel_label"]
    return (
        f"<h4>{_e(_capital(labels[0]))} and {_e(labels[1])} plans</h4><table>{head}{body}</table>"
        f"<div>{_e(moved_text)}</div><div>{_e(ari_text)}</div><div>Travel times: {_e(travel)}</div>"
    )


def _capital(text: str) -> str:
    """``text`` with a capital first letter (the rest as written)."""
    return text[:1].upper() + text[1:]


def _minutes(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.1f} min"
