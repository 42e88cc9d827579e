"""What the workbench's map draws, as GeoJSON (WGS84) and small style maps.

The geometry of units, sites and boroughs is built once per opened problem
(:func:`static_layers`, simplified once by :func:`maps.areas.to_wgs84`) and stays on the
page; an edit sends only :func:`styles` (unit id -> colour, the ids to highlight, the
state of each site), which the page's own script applies to the features whose style
changed. The polysystem areas (:func:`outline_layer`, one shape per polysystem:
:func:`catchment.outputs.polysystem_areas`) are redrawn after the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import geopandas as gpd

from catchment.build import BuiltProblem
from catchment.outputs import polysystem_areas
from catchment.plan import Plan
from maps.areas import to_wgs84, touching_pairs
from maps.palette import POLYSYSTEM_COLOURS, colour_graph

__all__ = ["UNASSIGNED", "static_layers", "outline_layer", "hub_colours", "styles", "bounds"]

#: Colour of a unit in no polysystem.
UNASSIGNED = "#9E9E9E"
#: Simplification of the drawn polygons, metres.
SIMPLIFY_M = 15.0


def _geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(frame.to_json(drop_id=True, na="null"))
    return data


def static_layers(built: BuiltProblem, *, version: int) -> dict[str, dict[str, Any]]:
    """GeoJSON of the units, the candidate sites and the borough outlines.

    Every feature carries ``id`` (unit or site id), ``name`` and ``v`` (``version``: the
    page keeps the features of the latest version only).
    """
    problem = built.problem
    units = built.units[["unit_id", "geometry"]].copy()
    names = dict(zip(problem.unit_ids, problem.unit_names, strict=True)) if problem.unit_names else {}
    pop = dict(zip(problem.unit_ids, problem.population.tolist(), strict=True))
    units = gpd.GeoDataFrame(
        {
            "id": units["unit_id"].astype(str),
            "name": units["unit_id"].astype(str).map(lambda u: str(names.get(u, u))),
            "population": units["unit_id"].astype(str).map(pop).astype(float).round(0),
            "v": version,
        },
        geometry=units.geometry.to_numpy(),
        crs=built.units.crs,
    )
    units = units.loc[units["id"].isin(set(problem.unit_ids))]
    sites = built.sites
    site_frame = gpd.GeoDataFrame(
        {
            "id": sites["site_id"].astype(str),
            "name": sites["name"].astype(str),
            "site_type": sites["site_type"].astype(str),
            "v": version,
        },
        geometry=sites.geometry.to_numpy(),
        crs=sites.crs,
    )
    layers = {
        "units": _geojson(to_wgs84(units, simplify_m=SIMPLIFY_M)),
        "sites": _geojson(to_wgs84(site_frame, simplify_m=0)),
    }
    if built.boundaries is not None and len(built.boundaries):
        outline = gpd.GeoDataFrame(geometry=built.boundaries.geometry.boundary.to_numpy(), crs=built.boundaries.crs)
        layers["boroughs"] = _geojson(to_wgs84(outline, simplify_m=SIMPLIFY_M))
    else:
        layers["boroughs"] = {"type": "FeatureCollection", "features": []}
    return layers


def bounds(layers: Mapping[str, Mapping[str, Any]]) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the units and sites (for fitting the map)."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for c in coords:
                walk(c)

    for name in ("units", "sites"):
        for feature in layers[name]["features"]:
            walk(feature["geometry"]["coordinates"])
    if not xs:
        return [[51.28, -0.51], [51.69, 0.33]]
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def hub_colours(
    built: BuiltProblem, plan: Plan, *, preferred: Mapping[str, str] | None = None
) -> tuple[dict[str, str], gpd.GeoDataFrame]:
    """A colour per hub site (neighbouring polysystems differ) and the polysystem areas.

    Parameters
    ----------
    built
        The problem and its frames.
    plan
        The plan.
    preferred
        Hub site id -> colour to keep where no neighbour has it (colours stay put across solves).

    Returns
    -------
    (dict, GeoDataFrame)
        Hub site id -> colour, and :func:`catchment.outputs.polysystem_areas` of the plan.
    """
    areas = polysystem_areas(built, plan) if plan.has_plan else None
    hubs = list(plan.hubs)
    edges: list[tuple[str, str]] = []
    if areas is not None and len(areas):
        edges = touching_pairs(areas.dropna(subset=["hub_site_id"]), "hub_site_id")
    colours = colour_graph(hubs, edges, palette=POLYSYSTEM_COLOURS, preferred=preferred)
    return colours, areas if areas is not None else gpd.GeoDataFrame()


def outline_layer(areas: gpd.GeoDataFrame, colours: Mapping[str, str], plan: Plan) -> dict[str, Any]:
    """GeoJSON of the polysystem areas: ``hub`` (site id), ``polysystem``, ``population``, ``colour``."""
    if areas is None or not len(areas):
        return {"type": "FeatureCollection", "features": []}
    ids = plan.polysystem_ids()
    frame = gpd.GeoDataFrame(
        {
            "hub": areas["hub_site_id"].astype(str),
            "polysystem": areas["hub_site_id"].map(ids).astype(str),
            "population": areas["population"].astype(float).round(0),
            "colour": areas["hub_site_id"].map(lambda h: colours.get(h, UNASSIGNED)),
        },
        geometry=areas.geometry.to_numpy(),
        crs=areas.crs,
    )
    return _geojson(to_wgs84(frame, simplify_m=SIMPLIFY_M))


def styles(
    plan: Plan,
    colours: Mapping[str, str],
    *,
    highlight: frozenset[str] | set[str],
    forced: Mapping[str, str],
    selected: str | None,
    seq: int,
) -> dict[str, Any]:
    """The small style map an edit sends: unit colours, highlighted ids, site states.

    Returns
    -------
    dict
        ``seq`` (the edit counter), ``units`` (unit id -> colour), ``highlight`` (ids),
        ``hubs`` (open hub site id -> [colour, option]), ``forced`` (site id -> open/closed),
        ``selected`` (a unit or site id, or ``None``).
    """
    return {
        "seq": seq,
        "units": {u: colours.get(h, UNASSIGNED) for u, h in plan.assignment.items()},
        "highlight": sorted(highlight),
        "hubs": {h: [colours.get(h, UNASSIGNED), o] for h, o in plan.hub_options.items()},
        "forced": dict(forced),
        "selected": selected,
    }
