"""The estates shortlist on a map: candidate hub sites coloured by regret, numbered by rank.

:func:`shortlist_map` draws every assessed site (square = hospital site, circle = community
site) with its rank written inside, filled by regret class: dark blue for the sites of the
optimal plan, then light to dark for the cost of forcing a site open (within the
near-optimal tolerance, 2-5%, 5-10%, above 10%), grey when no plan can open it. A thick
black ring marks an *essential* site (no plan exists without it). Rank and ring carry the
message too, so colour is never the only cue. The table it reads is
:meth:`solvers.shortlist.Shortlist.frame` (``shortlist.csv``).

:func:`write_shortlist_outputs` writes ``shortlist.csv``, ``shortlist.html`` and
``shortlist.json`` into a folder.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element

from catchment.build import BuiltProblem
from catchment.metrics import objective_estimate_label
from catchment.outputs import json_safe
from catchment.plan import NOT_PROVEN_OPTIMAL, share_words, status_words
from catchment.problem import PLACEHOLDER_COSTS_NOTE
from geodata.settings import BNG
from maps.areas import to_wgs84
from maps.assets import HtmlPopup, MapControl, OfflineMap, text_tooltip
from maps.html import escape as _e
from maps.palette import OKABE_ITO, SITE_TYPE_LABELS, TRAVEL_COLOURS, text_colour
from maps.plan_map import MAP_CSS, save_map

__all__ = ["REGRET_CLASSES", "regret_class", "shortlist_map", "write_shortlist_outputs", "SHORTLIST_FILES"]

logger = logging.getLogger(__name__)

#: Files written by :func:`write_shortlist_outputs`.
SHORTLIST_FILES = ("shortlist.csv", "shortlist.html", "shortlist.json")

#: Regret class -> (fill colour, words). The upper bounds of the middle classes are in
#: percent of the optimum; ``near`` is "within the near-optimal tolerance".
REGRET_CLASSES: Mapping[str, tuple[str, str]] = {
    "optimum": (OKABE_ITO[5], "in the optimal plan"),
    "near": (TRAVEL_COLOURS[1], "near-optimal: forcing it open costs at most the tolerance"),
    "5": (TRAVEL_COLOURS[3], "forcing it open costs up to 5% more"),
    "10": (TRAVEL_COLOURS[5], "forcing it open costs 5-10% more"),
    "more": (TRAVEL_COLOURS[7], "forcing it open costs over 10% more"),
    "above": (TRAVEL_COLOURS[4], "forcing it open costs more than the tolerance (a proven bound; not solved)"),
    "infeasible": ("#BBBBBB", "no plan can open it (or no plan found in time)"),
}


#: Words for ``regret_bound_source`` (:data:`solvers.shortlist.SHORTLIST_COLUMNS`).
BOUND_SOURCES: Mapping[str, str] = {
    "lp": "LP relaxation",
    "lagrangian": "Lagrangian bound",
    "solver": "the forced solve's own bound",
    "base": "the base plan opens it (or the rules require it)",
}


def regret_class(
    in_optimum: bool, regret_pct: float | None, tolerance_pct: float, *, bound_pct: float | None = None
) -> str:
    """The class of :data:`REGRET_CLASSES` for a site (``bound_pct``: its proven regret bound, when unsolved)."""
    if in_optimum:
        return "optimum"
    if regret_pct is None or not math.isfinite(regret_pct):
        if bound_pct is not None and math.isfinite(bound_pct) and bound_pct > tolerance_pct:
            return "more" if bound_pct > 10 else "above"
        return "infeasible"
    if regret_pct <= tolerance_pct + 1e-9:
        return "near"
    if regret_pct <= 5:
        return "5"
    if regret_pct <= 10:
        return "10"
    return "more"


def _marker_svg(site_type: str, fill: str, rank: int, *, essential: bool, size: int = 26) -> str:
    ink = text_colour(fill)
    ring = 4.0 if essential else 1.5
    s = size
    inset = ring / 2 + 0.5
    shape = (
        f'<rect x="{inset}" y="{inset}" width="{s - 2 * inset}" height="{s - 2 * inset}" rx="3" '
        if site_type == "hospital"
        else f'<circle cx="{s / 2}" cy="{s / 2}" r="{s / 2 - inset}" '
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" viewBox="0 0 {s} {s}">'
        f'{shape}fill="{fill}" stroke="#111111" stroke-width="{ring}"/>'
        f'<text x="{s / 2}" y="{s / 2 + 4}" text-anchor="middle" font-size="{11 if rank < 100 else 9}" '
        f'font-weight="700" font-family="Arial, sans-serif" fill="{ink}">{rank}</text></svg>'
    )


def _num(value: Any, fmt: str, *, missing: str = "n/a") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return missing
    return format(float(value), fmt)


def _figure(value: Any, pct: Any, label: Any) -> str:
    """A regret or value, its percent and what it is (``regret_label``/``value_label``: proven, at least, ...)."""
    words = f"; {_e(label)}" if isinstance(label, str) and label else ""
    return f"{_num(value, '.3f')} ({_num(pct, '.1f')}%){words}"


def shortlist_map(
    built: BuiltProblem,
    table: pd.DataFrame,
    *,
    optimum: float,
    tolerance: float,
    objective_label: str = "objective",
    tiles: bool = True,
    title: str = "Hub-site shortlist",
    base_status: str = "optimal",
    best_source: str = "",
    base_objective: float | None = None,
) -> folium.Map:
    """Interactive map of a shortlist.

    Parameters
    ----------
    built
        The problem and its frames (sites in EPSG:27700).
    table
        The shortlist (:data:`solvers.shortlist.SHORTLIST_COLUMNS`).
    optimum
        Objective of the best plan (the optimum when ``base_status`` is ``optimal``).
    tolerance
        Relative tolerance of a near-optimal plan (0.02 = 2%).
    objective_label
        What the objective measures, in words (e.g. "mean travel, minutes").
    tiles
        Add the OpenStreetMap background (needs internet to show).
    title
        Heading of the key box.
    base_status
        Status of the best plan (:data:`catchment.plan.PLAN_STATUSES`): unless ``optimal``,
        it is called "the best plan found" and said to be not proven optimal.
    best_source
        Which solve found the best plan, in words
        (:attr:`solvers.shortlist.Shortlist.best_source`); said in the key when
        ``base_objective`` is given.
    base_objective
        The base solve's objective, when a forced solve found a better plan.

    Returns
    -------
    folium.Map
        Links no CDN; save with :func:`maps.plan_map.save_map`.
    """
    sites = built.sites.merge(table, on="site_id", how="inner", suffixes=("", "_table"))
    sites = to_wgs84(gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG), simplify_m=0)
    context = built.units.geometry.representative_point()
    bounds = np.vstack(
        [gpd.GeoSeries(g, crs=BNG).to_crs(4326).total_bounds for g in (context, built.sites.geometry) if len(g)]
    )
    west, south = bounds[:, 0].min(), bounds[:, 1].min()
    east, north = bounds[:, 2].max(), bounds[:, 3].max()
    m = OfflineMap(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=12,
        tiles=None,
        control_scale=True,
        font_size="13px",
    )
    # the root of a map is a branca Figure, which has a header
    m.get_root().header.add_child(Element(f"<style>{MAP_CSS}</style>"), name="catchment_css")  # type: ignore[attr-defined]
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap background (online)", control=True).add_to(m)
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], padding=(10, 10))

    if built.boundaries is not None and len(built.boundaries):
        outlines = to_wgs84(built.boundaries[["geometry"]].copy(), simplify_m=20)
        folium.GeoJson(
            outlines.__geo_interface__,
            name="Borough outlines",
            style_function=lambda _: {"color": "#555555", "weight": 1.5, "fill": False, "dashArray": "4 3"},
        ).add_to(m)
    units = folium.FeatureGroup(name="Practices" if built.problem.unit_type == "practice" else "Small areas")
    points = gpd.GeoSeries(context, crs=BNG).to_crs(4326)
    for point in points:
        folium.CircleMarker(
            [point.y, point.x], radius=2.5, color="#666666", weight=1, fill=True, fill_color="#999999", fill_opacity=0.7
        ).add_to(units)
    units.add_to(m)

    proven = base_status == "optimal"
    # a base plan not proven optimal is not "the optimal plan": its words say so wherever it appears
    in_base = "In the optimal plan" if proven else f"In the best plan found ({NOT_PROVEN_OPTIMAL})"
    in_base_words = in_base[0].lower() + in_base[1:]
    layer = folium.FeatureGroup(name="Candidate hub sites by rank")
    tol_pct = 100 * tolerance
    for row in sites.sort_values("rank", ascending=False).itertuples(index=False):
        kind = regret_class(
            bool(row.in_optimum),
            None if pd.isna(row.regret_pct) else float(row.regret_pct),
            tol_pct,
            bound_pct=None if pd.isna(row.regret_bound_pct) else float(row.regret_bound_pct),
        )
        fill = REGRET_CLASSES[kind][0]
        icon = folium.DivIcon(
            html=_marker_svg(row.site_type, fill, int(row.rank), essential=bool(row.essential)),
            icon_size=(26, 26),
            icon_anchor=(13, 13),
            class_name=f"catchment-shortlist-{kind}",
        )
        marker = folium.Marker(
            [row.geometry.y, row.geometry.x],
            icon=icon,
            tooltip=text_tooltip(f"#{int(row.rank)} {row.site_name} ({row.site_id})"),
        )
        rows = [
            ("Rank", f"{int(row.rank)} of {len(sites)}"),
            ("Site", f"{_e(row.site_name)} ({_e(row.site_id)})"),
            ("Type", _e(SITE_TYPE_LABELS.get(row.site_type, row.site_type))),
            (in_base, "yes" if row.in_optimum else "no"),
            (
                "Regret (forced open)",
                _figure(row.regret, row.regret_pct, row.regret_label)
                if not pd.isna(row.regret)
                else _e(row.forced_open_status),
            ),
            (
                "Regret, proven lower bound",
                f"{_num(row.regret_bound, '.3f')} ({_num(row.regret_bound_pct, '.1f')}%), "
                f"{_e(BOUND_SOURCES.get(row.regret_bound_source, row.regret_bound_source))}"
                if not pd.isna(row.regret_bound)
                else "none",
            ),
            (
                "Value of keeping (forced closed)",
                "essential: no plan without it"
                if row.essential
                else _figure(row.value_of_keeping, row.value_pct, row.value_label)
                if not pd.isna(row.value_of_keeping)
                else _e(row.forced_closed_status),
            ),
            ("In near-optimal plans", f"{int(row.near_optimal_plans)} ({share_words(row.near_optimal_share, 0)})"),
        ]
        if isinstance(row.note, str) and row.note:
            rows.append(("Note", _e(row.note)))
        body = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{v}</td></tr>" for k, v in rows)
        HtmlPopup(f'<div class="catchment-popup"><table>{body}</table></div>').add_to(marker)
        marker.add_to(layer)
    layer.add_to(m)

    legend = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{colour};'
        f'border:1px solid #111;margin-right:6px;vertical-align:middle"></span>{_e(words)}</div>'
        for key, (colour, words) in (
            (key, (colour, words if proven or key != "optimum" else in_base_words))
            for key, (colour, words) in REGRET_CLASSES.items()
        )
    )
    MapControl(
        f"<h4>Sites by regret</h4>{legend}"
        '<div style="margin-top:4px">Number = rank; square = hospital site, circle = community site; '
        "thick ring = essential (no plan without it).</div>",
        position="bottomright",
        css_class="catchment-legend",
    ).add_to(m)
    n_essential = int(table["essential"].sum())
    estimate = _e(objective_estimate_label(built.problem))  # the optimum of estimated travel, as the terminal says
    MapControl(
        f"<h4>{_e(title)}</h4>"
        + (
            f"<div>Optimum: {optimum:.4f}{estimate} ({_e(objective_label)})</div>"
            if proven
            else f"<div>Best plan found: {optimum:.4f}{estimate} ({_e(objective_label)}), "
            f"<b>{_e(status_words(base_status))}</b></div>"
        )
        + (
            f"<div>Found by {_e(best_source)} (the base solve's plan: {base_objective:.4f}{estimate})</div>"
            if base_objective is not None and best_source
            else ""
        )
        + (
            ""
            if proven
            else "<div>Regrets and values against a plan not proven optimal are not exact: each one says "
            "whether it is at least, at most or an estimate; the proven lower bound on the regret is "
            "beside it.</div>"
        )
        + f"<div>{len(table)} sites assessed, {int(table['in_optimum'].sum())} {_e(in_base_words)}, "
        f"{n_essential} essential</div>"
        f"<div>Near-optimal: within {tolerance:.0%} of the {'optimum' if proven else 'best plan found'}</div>"
        f"<div>Travel times: {_e(built.problem.travel_label)}</div>"
        + (
            f"<div class='placeholder'><b>Note:</b> {_e(PLACEHOLDER_COSTS_NOTE)}</div>"
            if built.problem.capital_costs_source == "placeholder"
            else ""
        ),
        position="bottomleft",
        css_class="catchment-key",
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m


def write_shortlist_outputs(
    folder: str | Path,
    built: BuiltProblem,
    table: pd.DataFrame,
    *,
    summary: Mapping[str, Any],
    tiles: bool = True,
) -> dict[str, Path]:
    """Write ``shortlist.csv``, ``shortlist.html`` (map) and ``shortlist.json`` (figures).

    Parameters
    ----------
    folder
        An existing folder (normally a :func:`catchment.outputs.atomic_output_dir`).
    built
        The problem and its frames.
    table
        The shortlist table.
    summary
        Plain figures (``optimum``, ``tolerance``, solves, timings, definitions) for
        ``shortlist.json``; ``optimum`` and ``tolerance`` are required. ``best_status``
        (else ``base_status``) is the best plan's status, ``best_plan_source`` and
        ``base_objective`` say where it came from when a forced solve found it.
    tiles
        Background tiles on the map.

    Returns
    -------
    dict
        File name -> path.
    """
    folder = Path(folder)
    paths = {name: folder / name for name in SHORTLIST_FILES}
    table.to_csv(paths["shortlist.csv"], index=False)
    terms = [t for t in built.problem.objective.terms]
    label = " + ".join(terms) if terms else "objective"
    save_map(
        shortlist_map(
            built,
            table,
            optimum=float(summary["optimum"]),
            tolerance=float(summary["tolerance"]),
            objective_label=label,
            tiles=tiles,
            base_status=str(summary.get("best_status", summary.get("base_status", "optimal"))),
            best_source=str(summary.get("best_plan_source", "")),
            base_objective=None if summary.get("base_objective") is None else float(summary["base_objective"]),
        ),
        paths["shortlist.html"],
    )
    costs = built.problem.capital_costs_source
    record = {
        **summary,
        "base_status_label": status_words(str(summary.get("base_status", "optimal"))),
        **(
            {"best_status_label": status_words(str(summary["best_status"]))}
            if summary.get("best_status") is not None
            else {}
        ),
        "capital_costs_source": costs,
        "capital_costs_note": PLACEHOLDER_COSTS_NOTE if costs == "placeholder" else None,
    }
    paths["shortlist.json"].write_text(json.dumps(json_safe(record), indent=2) + "\n")
    logger.info("shortlist written to %s", folder)
    return paths
