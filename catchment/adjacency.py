"""Contiguity of area units: which areas are neighbours, and which area hosts each hub site.

The areas are small-area polygons (LSOAs).

Rook contiguity (a shared boundary of at least a metre, not a corner) is what the
contiguity rule of :class:`catchment.problem.Rules` means by "one area on the ground".
Point units (practices) have no adjacency.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import shapely

__all__ = ["lsoa_adjacency", "area_links"]


def lsoa_adjacency(areas: gpd.GeoDataFrame, *, min_shared_m: float = 1.0) -> list[tuple[int, int]]:
    """Rook adjacency of polygons: pairs sharing a boundary at least ``min_shared_m`` long.

    Polygons touching at a point only (queen contiguity) are not neighbours: a
    polysystem joined through a single corner is not one area on the ground.
    """
    geoms = areas.geometry.to_numpy()
    left, right = areas.sindex.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
    lengths = shapely.length(shared)
    ok = lengths >= min_shared_m
    return list(zip(left[ok].tolist(), right[ok].tolist(), strict=True))


def _host_units(units: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> list[int | None]:
    """Area containing each site; a site outside every area is hosted by the nearest area.

    A hub just outside the study area (a hospital across the borough line) serves the
    polysystem of the area it stands next to; that area roots contiguity.
    """
    joined = gpd.sjoin_nearest(
        sites[["geometry"]].set_crs(units.crs, allow_override=True) if sites.crs is None else sites[["geometry"]],
        units[["geometry"]],
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return [int(v) for v in joined["index_right"].to_numpy()]


def area_links(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    unit_type: str,
    *,
    adjacency: list[tuple[int, int]] | None = None,
    site_unit: Sequence[int | None] | None = None,
) -> tuple[list[tuple[int, int]] | None, Sequence[int | None] | None]:
    """Adjacency of area units and the unit hosting each site, computed where not given.

    Point units (practices) get neither; ``units`` and ``sites`` must have a RangeIndex.
    """
    if unit_type == "lsoa" and units.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        if adjacency is None:
            adjacency = lsoa_adjacency(units)
        if site_unit is None:
            site_unit = _host_units(units, sites)
    return adjacency, site_unit
