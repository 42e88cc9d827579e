"""Selecting a study area: by CCG, by borough (LAD), by bounding box or by polygon.

Rows are selected by an *anchor point*: the point itself for practices and sites, the
population-weighted centroid (``centroid_x``/``centroid_y``) for LSOAs, or otherwise a
point inside each polygon. A bounding box is tested exactly, on the anchor points'
coordinates in the box's own CRS. Polygons and widened areas are built in British
National Grid; a longitude/latitude box is then densified along its edges first (its
sides follow meridians and parallels, which are curves in EPSG:27700).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from . import tables as v
from .boundaries import read_lad_boundaries
from .errors import DataProblem, InputDataError, UnknownCodeError
from .settings import BNG, WGS84
from .settings import data_dir as default_data_dir

__all__ = [
    "LAD_BOUNDARIES_FILE",
    "LAND_FILE",
    "LAND_TOLERANCE_M",
    "MAX_ISOLATION_M",
    "select",
    "selection_area",
    "anchor_points",
    "land_distance",
    "isolation",
]

logger = logging.getLogger(__name__)

#: Local authority (borough) boundaries, relative to the data folder: spatial selection by
#: LAD, the borough of each practice for ``boundaries = "lad"`` and the outlines on maps.
#: National (all of England, ONS December 2017, super generalised), so that a study area
#: outside London is never matched to London boroughs; where borough lines must be exact,
#: name a finer file (e.g. ``london/lad22-boundaries-gen20.gpkg``) in a scenario's [data].
LAD_BOUNDARIES_FILE = "england/lad17-boundaries-super-generalised.geojson"

#: Local authority boundaries of the whole United Kingdom (super-generalised): the land on
#: which every practice, site and small-area centroid must lie (see :func:`land_distance`).
LAND_FILE = "england/lad17-boundaries-super-generalised.geojson"
#: How far off that land a point may lie (metres). The super-generalised coast cuts off
#: docks, piers and small islands: every published practice, hospital and LSOA centroid
#: lies within 0.4 km of it; a point in the North Sea or at Calais lies 30 km or more off.
LAND_TOLERANCE_M = 5_000.0
#: A unit whose nearest other unit of the selection is farther than this (metres) is taken
#: as misplaced. The most isolated practice of any CCG (Isles of Scilly) is 51 km from the
#: next one of its CCG.
MAX_ISOLATION_M = 75_000.0

_FRAME = "<selected table>"


def _codes(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(c) for c in value]


def _check_bbox(bbox: tuple[float, float, float, float], crs: CRS) -> tuple[float, float, float, float]:
    problems: list[str] = []
    try:
        west, south, east, north = (float(c) for c in bbox)
    except (TypeError, ValueError):
        raise InputDataError(
            [DataProblem("<bbox>", f"expected four numbers (west, south, east, north), got {bbox!r}")]
        ) from None
    if not west < east:
        problems.append(f"west {west:g} must be less than east {east:g}")
    if not south < north:
        problems.append(f"south {south:g} must be less than north {north:g}")
    if crs.is_geographic:
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            problems.append(f"longitudes {west:g}, {east:g} are outside -180..180 (is the box in {crs.to_string()}?)")
        if not (-90 <= south <= 90 and -90 <= north <= 90):
            problems.append(f"latitudes {south:g}, {north:g} are outside -90..90 (order is west, south, east, north)")
    if problems:
        raise InputDataError([DataProblem("<bbox>", p) for p in problems])
    return west, south, east, north


def _guess_crs(geometry: BaseGeometry) -> str:
    """Longitude/latitude when every coordinate fits, else British National Grid."""
    minx, miny, maxx, maxy = geometry.bounds
    return WGS84 if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90 else BNG


def selection_area(
    *,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    bbox_crs: str = WGS84,
    polygon_crs: str | None = None,
    buffer_m: float = 0.0,
) -> BaseGeometry | None:
    """The area described by a bounding box and/or a polygon, as one EPSG:27700 geometry.

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in ``bbox_crs``.
    polygon
        Shapely geometry, GeoSeries or GeoDataFrame (its parts are merged). A GeoSeries
        or GeoDataFrame carries its CRS; a bare shapely geometry is in ``polygon_crs``.
    bbox_crs
        CRS of ``bbox`` (default longitude/latitude, EPSG:4326).
    polygon_crs
        CRS of a shapely ``polygon``; ``None`` means longitude/latitude when every
        coordinate is within +-180/+-90, EPSG:27700 otherwise.
    buffer_m
        Widen the area by this many metres (e.g. hospitals within 2 km of a borough).

    Returns
    -------
    shapely geometry or None
        The intersection of the box and the polygon, buffered; ``None`` when neither is
        given.

    Raises
    ------
    InputDataError
        If the box is not four numbers in order or the polygon is empty or has no CRS.
    """
    parts: list[BaseGeometry] = []
    if bbox is not None:
        crs = CRS.from_user_input(bbox_crs)
        west, south, east, north = _check_bbox(bbox, crs)
        step = min(east - west, north - south) / 64
        ring = shapely.segmentize(shapely.box(west, south, east, north), step)
        parts.append(gpd.GeoSeries([ring], crs=crs).to_crs(BNG).iloc[0])
    if polygon is not None:
        if isinstance(polygon, (gpd.GeoDataFrame, gpd.GeoSeries)):
            if polygon.crs is None:
                raise InputDataError([DataProblem("<polygon>", "the polygon GeoDataFrame has no CRS")])
            shape = v.to_bng(polygon).union_all() if len(polygon) else shapely.GeometryCollection()
        elif isinstance(polygon, BaseGeometry):
            geometry_crs = polygon_crs if polygon_crs is not None else _guess_crs(polygon)
            shape = gpd.GeoSeries([polygon], crs=geometry_crs).to_crs(BNG).iloc[0]
        else:
            raise InputDataError(
                [DataProblem("<polygon>", f"expected a shapely geometry or GeoDataFrame, got {type(polygon).__name__}")]
            )
        if shape.is_empty:
            raise InputDataError([DataProblem("<polygon>", "the polygon is empty")])
        parts.append(shapely.make_valid(shape))
    if not parts:
        return None
    area = parts[0] if len(parts) == 1 else shapely.intersection(parts[0], parts[1])
    return area.buffer(buffer_m) if buffer_m else area


def anchor_points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The point of each row used for spatial selection, in EPSG:27700.

    ``centroid_x``/``centroid_y`` when present (population-weighted LSOA centroids),
    the geometry itself for points, a point inside each polygon otherwise.

    Parameters
    ----------
    frame
        GeoDataFrame with a CRS.

    Returns
    -------
    geopandas.GeoSeries
        Same index as ``frame``.

    Raises
    ------
    InputDataError
        If ``frame`` is not a GeoDataFrame with a CRS.
    """
    if {"centroid_x", "centroid_y"} <= set(frame.columns):
        return gpd.GeoSeries(gpd.points_from_xy(frame["centroid_x"], frame["centroid_y"]), index=frame.index, crs=BNG)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise InputDataError([DataProblem(_FRAME, "spatial selection needs a GeoDataFrame with a CRS")])
    geometry = v.to_bng(frame).geometry
    if (geometry.geom_type == "Point").all():
        return geometry
    return geometry.representative_point()


@functools.lru_cache(maxsize=4)
def _land(path: str, mtime_ns: int, size: int) -> shapely.STRtree:  # noqa: ARG001 - cache key
    return shapely.STRtree(np.asarray(read_lad_boundaries(path).geometry.array))


def land_distance(points: gpd.GeoSeries, land: str | Path) -> np.ndarray:
    """Distance (metres) from each point to the land of a boundary file (0 on land).

    Parameters
    ----------
    points
        Points with a CRS (any).
    land
        Boundary file (e.g. :data:`LAND_FILE` under the data folder), read once per
        content (file size and time) and kept.

    Returns
    -------
    numpy.ndarray
        One distance per point, ``inf`` for a point that cannot be placed (e.g. a
        longitude/latitude outside the globe).

    Raises
    ------
    MissingFileError, InputDataError
        If the boundary file is missing or unreadable.
    """
    path = v.require_file(land, what="land (LAD boundary) file")
    stat = path.stat()
    tree = _land(str(path), stat.st_mtime_ns, stat.st_size)
    geoms = np.asarray(v.to_bng(gpd.GeoDataFrame(geometry=points.reset_index(drop=True))).geometry.array)
    distance = np.zeros(len(geoms))
    finite = np.isfinite(shapely.get_x(geoms)) & np.isfinite(shapely.get_y(geoms)) & ~shapely.is_empty(geoms)
    distance[~finite] = np.inf
    placed = np.flatnonzero(finite)
    on_land = np.zeros(len(placed), dtype=bool)
    on_land[tree.query(geoms[placed], predicate="intersects")[0]] = True
    todo = placed[~on_land]
    if len(todo):
        _, nearest = tree.query_nearest(geoms[todo], return_distance=True, all_matches=False)
        distance[todo] = nearest
    return distance


def isolation(points: gpd.GeoSeries) -> np.ndarray:
    """Distance (metres) from each point to the nearest other point (``inf`` when alone)."""
    from scipy.spatial import cKDTree

    bng = v.to_bng(gpd.GeoDataFrame(geometry=points.reset_index(drop=True))).geometry
    xy = np.column_stack([bng.x.to_numpy(), bng.y.to_numpy()])
    if len(xy) < 2 or not np.isfinite(xy).all():
        return np.full(len(xy), np.inf)
    distance, _ = cKDTree(xy).query(xy, k=2)
    return distance[:, 1]


def _lad_boundaries(lad_boundaries: gpd.GeoDataFrame | str | Path | None) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(lad_boundaries, gpd.GeoDataFrame):
        return lad_boundaries, "<LAD boundaries>"
    path = Path(lad_boundaries) if lad_boundaries is not None else default_data_dir() / LAD_BOUNDARIES_FILE
    return read_lad_boundaries(path), str(path)


def select(
    frame: gpd.GeoDataFrame,
    *,
    ccg: str | Iterable[str] | None = None,
    lad: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    bbox_crs: str = WGS84,
    polygon_crs: str | None = None,
    buffer_m: float = 0.0,
    lad_boundaries: gpd.GeoDataFrame | str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Keep the rows of ``frame`` inside a study area; all criteria given must hold.

    Parameters
    ----------
    frame
        Practices, sites or LSOAs (GeoDataFrame with a CRS).
    ccg
        CCG code(s), matched against the ``ccg_code`` column.
    lad
        Local authority (borough) code(s). Matched against the ``lad_code`` column when
        there is one; otherwise spatially: rows whose anchor point lies within the LAD
        boundary (widened by ``buffer_m``).
    bbox
        ``(west, south, east, north)`` in ``bbox_crs``; rows whose anchor point, expressed
        in ``bbox_crs``, lies in the box (edges included). With ``buffer_m`` the box is
        densified, projected to EPSG:27700 and widened instead.
    polygon
        Shapely geometry, GeoSeries or GeoDataFrame in any CRS; rows whose anchor point
        lies in it.
    bbox_crs
        CRS of ``bbox``: longitude/latitude (EPSG:4326) by default; ``"EPSG:27700"`` for
        eastings/northings.
    polygon_crs
        CRS of a bare shapely ``polygon`` (see :func:`selection_area`).
    buffer_m
        Widen the box/polygon (and a spatial LAD boundary) by this many metres.
    lad_boundaries
        Boundaries (GeoDataFrame with ``lad_code``, or a file) for spatial LAD
        selection; default :data:`LAD_BOUNDARIES_FILE` (England) in the data folder.

    Returns
    -------
    geopandas.GeoDataFrame
        The selected rows (index reset), in the CRS of ``frame``.

    Raises
    ------
    InputDataError
        If a criterion's column is missing, a LAD code is unknown to the boundaries, or
        the box/polygon is malformed.
    """
    mask = pd.Series(True, index=frame.index)
    criteria: list[str] = []
    if ccg is not None:
        if "ccg_code" not in frame.columns:
            raise InputDataError([DataProblem(_FRAME, "no CCG code column to select by CCG", column="ccg_code")])
        codes = _codes(ccg)
        mask &= frame["ccg_code"].isin(codes)
        criteria.append(f"CCG {', '.join(codes)}")
    if lad is not None:
        codes = _codes(lad)
        criteria.append(f"LAD {', '.join(codes)}")
        if "lad_code" in frame.columns:
            unknown = sorted(set(codes) - set(frame["lad_code"]))
            if unknown:
                raise UnknownCodeError(_FRAME, kind="lad", codes=unknown, known=frame["lad_code"])
            mask &= frame["lad_code"].isin(codes)
        else:
            boundaries, source = _lad_boundaries(lad_boundaries)
            v.check_columns(boundaries, ["lad_code"], file=source)
            unknown = sorted(set(codes) - set(boundaries["lad_code"]))
            if unknown:
                raise UnknownCodeError(source, kind="lad", codes=unknown, known=boundaries["lad_code"])
            area = v.to_bng(boundaries.loc[boundaries["lad_code"].isin(codes)]).union_all()
            if buffer_m:
                area = area.buffer(buffer_m)
            shapely.prepare(area)
            mask &= pd.Series(shapely.covers(area, np.asarray(anchor_points(frame).array)), index=frame.index)
            criteria[-1] += f" (spatially{f', + {buffer_m:g} m' if buffer_m else ''})"
    if bbox is not None and not buffer_m:
        # Exact: compare the anchor points' coordinates in the box's own CRS.
        crs = CRS.from_user_input(bbox_crs)
        west, south, east, north = _check_bbox(bbox, crs)
        points = anchor_points(frame).to_crs(crs)
        inside = points.x.between(west, east) & points.y.between(south, north)
        mask &= inside.to_numpy()
        criteria.append(f"box {west:g}, {south:g}, {east:g}, {north:g} ({crs.to_string()})")
        bbox = None
    area = selection_area(bbox=bbox, polygon=polygon, bbox_crs=bbox_crs, polygon_crs=polygon_crs, buffer_m=buffer_m)
    if area is not None:
        shapely.prepare(area)
        inside = shapely.covers(area, np.asarray(anchor_points(frame).array))
        mask &= pd.Series(inside, index=frame.index)
        criteria.append(("box/polygon" if bbox is not None else "polygon") + (f" + {buffer_m:g} m" if buffer_m else ""))
    selected = frame.loc[mask].reset_index(drop=True)
    if criteria:
        log = logger.warning if selected.empty else logger.info
        log("selected %s of %s rows (%s)", f"{len(selected):,}", f"{len(frame):,}", "; ".join(criteria))
    return selected
