"""The shapes a plan is drawn with (EPSG:27700 in, WGS84 out for web maps).

* :func:`plan_geometry` — polysystem areas and the small areas behind them:
  LSOA units: the dissolved LSOA polygons; practice units: LSOAs by the polysystem most of
  their registered patients belong to (shaded by that share); without boundaries or
  registrations: Voronoi cells around the practices, clipped to a hull, and labelled as an
  approximation;
* :func:`voronoi_cells` — those cells;
* :func:`touching_pairs` — which areas touch (for the colouring of neighbours);
* :func:`to_wgs84` — modest simplification (shared edges kept shared) and WGS84.

The polygons are computed by :func:`catchment.outputs.polysystem_areas` and
:func:`catchment.outputs.majority_areas` (the same areas as ``polysystems.gpkg``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from catchment.build import BuiltProblem
from catchment.metrics import assignments_frame
from catchment.outputs import MIN_PATIENTS, drawn_areas, majority_areas, polysystem_areas
from catchment.plan import Plan, share_words
from catchment.territories import TERRITORY_COLUMN
from geodata.settings import BNG, WGS84

__all__ = ["PlanGeometry", "plan_geometry", "voronoi_cells", "touching_pairs", "to_wgs84", "VORONOI_METHOD"]

logger = logging.getLogger(__name__)

#: How approximate areas are described wherever they are shown.
VORONOI_METHOD = "approximate areas: Voronoi cells around the practices (no small-area boundaries available)"


@dataclass(frozen=True)
class PlanGeometry:
    """Shapes of one plan (EPSG:27700).

    Attributes
    ----------
    polysystems : GeoDataFrame
        One row per polysystem with an area: ``polysystem_id``, ``hub_site_id``,
        ``population``, ``method``, ``geometry``.
    areas : GeoDataFrame
        The small areas behind them: ``area_id``, ``name``, ``polysystem_id``,
        ``hub_site_id``, ``share`` (of the area's registered patients in that polysystem;
        1 for LSOA units), ``population`` (residents for LSOA units; patients registered at
        the plan's practices for practice units), ``travel_min`` (see ``travel_note``),
        ``geometry``.
    method : str
        How the areas were drawn, in words.
    approximate : bool
        True for Voronoi cells (no boundaries available).
    travel_note : str
        What ``travel_min`` of an area means.
    """

    polysystems: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    method: str
    approximate: bool
    travel_note: str


AREA_COLUMNS = ["area_id", "name", "polysystem_id", "hub_site_id", "share", "population", "travel_min", "geometry"]


def plan_geometry(built: BuiltProblem, plan: Plan, *, min_patients: float = MIN_PATIENTS) -> PlanGeometry:
    """Polysystem areas and small areas of a plan.

    Parameters
    ----------
    built
        The problem and its frames.
    plan
        The plan.
    min_patients
        Practice units: an LSOA is drawn only where at least this many of its residents
        are registered at the plan's practices (patients are registered all over a city;
        a handful far away does not make an area part of a polysystem). ~100 is about 7%
        of an LSOA's 1,500 residents.

    Returns
    -------
    PlanGeometry
    """
    problem = built.problem
    assignments = assignments_frame(problem, plan)
    if problem.unit_type == "lsoa" and built.units.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        units = built.units[["unit_id", "geometry"]].merge(assignments, on="unit_id", how="left")
        areas = _whole_unit_areas(units, units.geometry)
        return PlanGeometry(
            polysystem_areas(built, plan),
            areas,
            "dissolved LSOA boundaries",
            False,
            "travel time from the area's population-weighted centre to its hub",
        )
    has_areas = (
        built.areas is not None
        and built.registrations is not None
        and len(built.areas) > 0
        and built.areas.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    )
    if has_areas:
        return _majority_geometry(built, plan, assignments, min_patients=min_patients)
    return _voronoi_geometry(built, plan, assignments)


def _majority_geometry(
    built: BuiltProblem, plan: Plan, assignments: pd.DataFrame, *, min_patients: float
) -> PlanGeometry:
    """Practice units: LSOAs by majority polysystem (:func:`catchment.outputs.majority_areas`)."""
    majority = majority_areas(built, plan)
    registered = majority["registered"]
    drawn = drawn_areas(majority, min_patients=min_patients)
    kept = majority.loc[drawn].reset_index(drop=True)
    dropped = registered.loc[~drawn].sum()
    travel = assignments.set_index("unit_id")["travel_min"]
    registrations = built.registrations
    assert registrations is not None  # plan_geometry checked it
    reg = registrations.assign(travel=registrations["practice_code"].map(travel)).dropna(subset=["travel"])
    reg = reg.loc[np.isfinite(reg["travel"].to_numpy(dtype=float))]
    weighted = (reg["patients"] * reg["travel"]).groupby(reg["lsoa_code"]).sum()
    mean_travel = weighted / reg.groupby("lsoa_code")["patients"].sum()
    names = kept["name"] if "name" in kept.columns else kept["lsoa_code"]
    areas = gpd.GeoDataFrame(
        {
            "area_id": kept["lsoa_code"],
            "name": names,
            "polysystem_id": kept["polysystem_id"],
            "hub_site_id": kept["hub_site_id"],
            "share": kept["share"].astype(float),
            "population": kept["registered"].astype(float),
            "travel_min": kept["lsoa_code"].map(mean_travel).astype(float),
        },
        geometry=kept.geometry.to_numpy(),
        crs=BNG,
    )
    method = "LSOAs by the polysystem most of their registered patients belong to"
    if TERRITORY_COLUMN in majority.columns:
        method = "practices' territories (each LSOA goes to the practice holding most of its patients)"
    if dropped > 0:
        share = dropped / registered.sum()
        method += (
            f" (LSOAs with fewer than {min_patients:,.0f} patients registered at these practices are not "
            f"drawn: {share_words(share)} of patients)"
        )
    polysystems = _dissolve(areas, plan, assignments, method)
    return PlanGeometry(
        polysystems,
        areas,
        method,
        False,
        "mean travel time to the hub of the practices where the area's patients are registered "
        "(weighted by registered patients)",
    )


def _dissolve(areas: gpd.GeoDataFrame, plan: Plan, assignments: pd.DataFrame, method: str) -> gpd.GeoDataFrame:
    """One polygon per polysystem from its small areas, with the population of its units."""
    columns = ["polysystem_id", "hub_site_id", "population", "method", "geometry"]
    if len(areas) == 0:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=BNG)
    dissolved = areas[["hub_site_id", "geometry"]].dissolve(by="hub_site_id", as_index=False)
    totals = assignments.groupby("hub_site_id")["population"].sum()
    dissolved["polysystem_id"] = dissolved["hub_site_id"].map(plan.polysystem_ids())
    dissolved["population"] = dissolved["hub_site_id"].map(totals).astype(float)
    dissolved["method"] = method
    return dissolved[columns].sort_values("polysystem_id").reset_index(drop=True)


def _whole_unit_areas(units: pd.DataFrame, geometry: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """One area per unit (``share`` 1), drawn with ``geometry`` (its boundary or its cell)."""
    return gpd.GeoDataFrame(
        {
            "area_id": units["unit_id"],
            "name": units["unit_name"],
            "polysystem_id": units["polysystem_id"],
            "hub_site_id": units["hub_site_id"],
            "share": 1.0,
            "population": units["population"],
            "travel_min": units["travel_min"],
        },
        geometry=geometry.to_numpy(),
        crs=BNG,
    )


def _voronoi_geometry(built: BuiltProblem, plan: Plan, assignments: pd.DataFrame) -> PlanGeometry:
    units = built.units[["unit_id", "geometry"]].merge(assignments, on="unit_id", how="left")
    points = units.geometry
    clip = _hull(points, built.boundaries)
    cells = voronoi_cells(points, clip=clip)
    areas = _whole_unit_areas(units, cells)
    areas = areas.loc[~areas.geometry.is_empty & areas["hub_site_id"].notna()].reset_index(drop=True)
    polysystems = _dissolve(areas, plan, assignments, VORONOI_METHOD)
    logger.info("no small-area boundaries: polysystems drawn as Voronoi cells around %d units", len(units))
    return PlanGeometry(polysystems, areas, VORONOI_METHOD, True, "travel time of the practice in the cell to its hub")


def _hull(points: gpd.GeoSeries, boundaries: gpd.GeoDataFrame | None) -> shapely.Geometry:
    """Convex hull of the points with a margin, inside the boundaries when there are some."""
    hull = shapely.convex_hull(shapely.multipoints(points.to_numpy()))
    coords = shapely.get_coordinates(points.to_numpy())
    span = float(np.ptp(coords, axis=0).max()) if len(coords) > 1 else 1000.0
    hull = shapely.buffer(hull, max(500.0, 0.05 * span))
    if boundaries is not None and len(boundaries):
        inside = shapely.intersection(hull, boundaries.to_crs(BNG).geometry.union_all())
        if not inside.is_empty and inside.area > 0.25 * hull.area:
            return inside
    return hull


def voronoi_cells(points: gpd.GeoSeries, *, clip: shapely.Geometry) -> gpd.GeoSeries:
    """Voronoi cell of each point, clipped; points at the same place share one cell.

    Parameters
    ----------
    points
        Points (EPSG:27700).
    clip
        Polygon the cells are cut to.

    Returns
    -------
    GeoSeries
        One cell per point, in the order of ``points`` (co-located points: the cell is
        given to the first of them, the others get an empty polygon).
    """
    coords = np.round(shapely.get_coordinates(points.to_numpy()), 1)
    unique, first = np.unique(coords, axis=0, return_index=True)
    out = np.array([shapely.Polygon()] * len(coords), dtype=object)
    if len(unique) == 1:
        out[first[0]] = clip
    elif len(unique) > 1:
        diagram = shapely.voronoi_polygons(shapely.multipoints(unique), extend_to=clip, ordered=True)
        cells = shapely.intersection(np.asarray(shapely.get_parts(diagram)), clip)
        out[first] = cells
    return gpd.GeoSeries(out, index=points.index, crs=points.crs)


def touching_pairs(frame: gpd.GeoDataFrame, id_column: str, *, tolerance_m: float = 30.0) -> list[tuple[str, str]]:
    """Pairs of ids whose shapes touch or come within ``tolerance_m`` of each other.

    Parameters
    ----------
    frame
        Shapes in a metric CRS.
    id_column
        Column naming each shape.
    tolerance_m
        Gap still counted as touching (generalised boundaries leave slivers).

    Returns
    -------
    list of (str, str)
        Sorted id pairs, each once.
    """
    if len(frame) < 2:
        return []
    geoms = frame.geometry.to_numpy()
    left, right = frame.sindex.query(shapely.buffer(geoms, tolerance_m), predicate="intersects")
    ids = frame[id_column].astype(str).to_numpy()
    pairs = {tuple(sorted((ids[a], ids[b]))) for a, b in zip(left, right, strict=True) if ids[a] != ids[b]}
    return sorted(pairs)


def to_wgs84(frame: gpd.GeoDataFrame, *, simplify_m: float = 10.0, decimals: int = 5) -> gpd.GeoDataFrame:
    """Simplify modestly and convert to WGS84 for a web map.

    Polygons that form a coverage (no overlaps) are simplified together, so neighbours
    keep a common edge; other shapes one by one, keeping their topology. Coordinates are
    rounded to ``decimals`` (5: about a metre).

    Parameters
    ----------
    frame
        Shapes in EPSG:27700.
    simplify_m
        Simplification tolerance in metres (0: none).
    decimals
        Decimal places of the longitudes and latitudes.

    Returns
    -------
    GeoDataFrame
        In EPSG:4326.
    """
    frame = frame.to_crs(BNG) if frame.crs is not None and frame.crs != BNG else frame
    geoms = frame.geometry.to_numpy()
    polygonal = len(geoms) > 0 and bool(np.all(np.isin(shapely.get_type_id(geoms), (3, 6))))
    if simplify_m > 0 and polygonal:
        if len(geoms) > 1 and bool(shapely.coverage_is_valid(geoms, gap_width=0.0)):
            geoms = shapely.coverage_simplify(geoms, simplify_m)
        else:
            geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    out = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=list(geoms), crs=BNG).to_crs(WGS84)
    rounded = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    out[out.geometry.name] = gpd.GeoSeries(rounded, index=out.index, crs=WGS84)
    return out
