"""Snapping points (practices, LSOA centroids, hub sites) to the nearest road-network node.

The network is a networkx (Multi)DiGraph whose nodes carry ``x``/``y`` in EPSG:27700
metres (see :mod:`geodata.network`). Snapping is to the nearest *node*, found for all
points at once with a k-d tree. On a simplified OSM graph a node is a junction or a dead
end, so the straight line from the point to the node stands for the walk or short drive
to the road network (the "access leg" added by :mod:`geodata.travel`); points farther
than ``max_snap_m`` are reported in one :class:`~geodata.errors.SnapWarning` (or one
:class:`~geodata.errors.InputDataError` with ``strict=True``).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy.spatial import cKDTree

from geodata.errors import DataProblem, InputDataError, NetworkError, SnapWarning
from geodata.settings import BNG
from geodata.tables import few

__all__ = [
    "snap_points",
    "point_coordinates",
    "graph_node_arrays",
    "check_graph_crs",
    "nearest_node_positions",
    "report_far_points",
]


def check_graph_crs(G: nx.Graph) -> None:
    """Check that a road graph is in British National Grid.

    Parameters
    ----------
    G
        Road graph; ``G.graph["crs"]`` must be EPSG:27700 (string or pyproj CRS).

    Raises
    ------
    NetworkError
        When the CRS is missing or is not EPSG:27700.
    """
    crs = G.graph.get("crs")
    if crs is None:
        raise NetworkError(
            'road graph has no G.graph["crs"]; node x/y must be EPSG:27700 metres '
            "(project it with osmnx.project_graph(G, to_crs='EPSG:27700'))"
        )
    try:
        epsg = CRS.from_user_input(crs).to_epsg()
    except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
        raise NetworkError(f"road graph CRS {crs!r} is not understood: {exc}") from exc
    if epsg != 27700:
        raise NetworkError(
            f"road graph is in {crs!s}, not EPSG:27700; project it with osmnx.project_graph(G, to_crs='EPSG:27700')"
        )


def graph_node_arrays(G: nx.Graph) -> tuple[list[Hashable], np.ndarray]:
    """Node identifiers and coordinates of a road graph, in graph order.

    Parameters
    ----------
    G
        Road graph in EPSG:27700 with ``x`` and ``y`` node attributes.

    Returns
    -------
    nodes : list
        Node identifiers in ``G.nodes`` order.
    xy : numpy.ndarray
        ``(n, 2)`` float64 array of easting, northing.

    Raises
    ------
    NetworkError
        Empty graph, wrong CRS, or nodes without finite ``x``/``y``.
    """
    check_graph_crs(G)
    n = G.number_of_nodes()
    if n == 0:
        raise NetworkError("road graph has no nodes")
    nodes = list(G.nodes)
    xy = np.empty((n, 2), dtype=np.float64)
    xy[:, 0] = np.fromiter((_num(x) for _, x in G.nodes(data="x")), np.float64, n)
    xy[:, 1] = np.fromiter((_num(y) for _, y in G.nodes(data="y")), np.float64, n)
    bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
    if bad.size:
        examples = ", ".join(repr(nodes[i]) for i in bad[:10])
        raise NetworkError(f"{bad.size:,} road-graph node(s) lack numeric x/y coordinates, e.g. {examples}")
    return nodes, xy


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def point_coordinates(
    points: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray | Sequence[Sequence[float]],
    *,
    ids: Sequence[Hashable] | None = None,
    what: str = "points",
) -> tuple[np.ndarray, list[Hashable]]:
    """EPSG:27700 coordinates and identifiers of a set of points.

    Parameters
    ----------
    points
        A GeoSeries or GeoDataFrame of points in any CRS (reprojected to EPSG:27700), or an
        ``(n, 2)`` array of easting, northing already in EPSG:27700.
    ids
        Identifier of each point; default the (Geo)Series/Frame index, or ``0..n-1`` for
        an array.
    what
        Label used in error messages (e.g. ``"origins"``).

    Returns
    -------
    xy : numpy.ndarray
        ``(n, 2)`` float64 array.
    ids : list
        One identifier per point.

    Raises
    ------
    InputDataError
        Missing CRS, empty or non-point geometries, non-finite coordinates, wrong shape,
        or ``ids`` of the wrong length; every problem is listed.
    """
    label = f"<{what}>"
    problems: list[DataProblem] = []
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geoms.crs is None:
            raise InputDataError([DataProblem(label, "geometries have no CRS; set one (e.g. EPSG:27700)")])
        default_ids = list(points.index)
        if CRS.from_user_input(geoms.crs).to_epsg() != 27700:
            geoms = geoms.to_crs(BNG)
        present = np.array([g is not None for g in geoms], dtype=bool)
        is_point = present & (geoms.geom_type == "Point").to_numpy()
        is_point[present] &= ~geoms[present].is_empty.to_numpy()
        xy = np.full((len(geoms), 2), np.nan)
        if is_point.any():
            xy[is_point, 0] = geoms[is_point].x.to_numpy()
            xy[is_point, 1] = geoms[is_point].y.to_numpy()
        for i in np.flatnonzero(~is_point):
            kind = geoms.iloc[i].geom_type if geoms.iloc[i] is not None else "missing"
            problems.append(DataProblem(label, f"{default_ids[i]!r}: geometry is {kind}, not a point"))
    else:
        try:
            xy = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputDataError([DataProblem(label, f"coordinates are not numeric: {exc}")]) from exc
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise InputDataError([DataProblem(label, f"expected an (n, 2) array of x, y; got shape {xy.shape}")])
        default_ids = list(range(len(xy)))
        is_point = np.ones(len(xy), dtype=bool)
    for i in np.flatnonzero(is_point & ~np.isfinite(xy).all(axis=1)):
        problems.append(DataProblem(label, f"{default_ids[i]!r}: coordinates are not finite: {xy[i].tolist()}"))
    if ids is None:
        out_ids = default_ids
    else:
        out_ids = list(ids)
        if len(out_ids) != len(xy):
            problems.append(DataProblem(label, f"{len(out_ids)} ids given for {len(xy)} points"))
    if problems:
        raise InputDataError(problems)
    return xy, out_ids


def nearest_node_positions(tree: cKDTree, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of, and distances to, the nearest tree points.

    Parameters
    ----------
    tree
        k-d tree built on the node coordinates.
    xy
        ``(n, 2)`` query coordinates in the same CRS.

    Returns
    -------
    positions : numpy.ndarray
        ``int64`` index into the tree's points.
    distances : numpy.ndarray
        Euclidean distances in metres.
    """
    if len(xy) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    dist, pos = tree.query(xy, k=1)
    return np.asarray(pos, dtype=np.int64), np.asarray(dist, dtype=np.float64)


#: What becomes of points far from the road network, as a warning says it: their time is
#: the walk to the nearest node (at the access speed) plus the road time from there.
FAR_POINTS_WALK = "their access legs are long"


def report_far_points(
    ids: Sequence[Hashable],
    snap_m: np.ndarray,
    *,
    max_snap_m: float,
    strict: bool = False,
    what: str = "points",
    consequence: str = FAR_POINTS_WALK,
    stacklevel: int = 2,
) -> None:
    """Warn about (or refuse) points that lie far from the road network.

    Parameters
    ----------
    ids
        Point identifiers.
    snap_m
        Distance of each point to its snapped node, metres.
    max_snap_m
        Largest acceptable distance.
    strict
        Raise instead of warning.
    what
        Label of the point set in the message.
    consequence
        What becomes of the far points, said after the count (default
        :data:`FAR_POINTS_WALK`: they walk to the nearest road).
    stacklevel
        Passed to :func:`warnings.warn`.

    Raises
    ------
    InputDataError
        With ``strict=True``, one problem per far point.

    Warns
    -----
    SnapWarning
        One warning naming the far points, farthest first (the first
        :func:`geodata.tables.few` of them, and how many in all), and their distances.
    """
    far = np.flatnonzero(np.asarray(snap_m) > max_snap_m)
    if far.size == 0:
        return
    if strict:
        raise InputDataError(
            DataProblem(
                f"<{what}>",
                f"{ids[i]!r} is {snap_m[i]:,.0f} m from the nearest road node (limit {max_snap_m:,.0f} m)",
            )
            for i in far.tolist()
        )
    farthest_first = far[np.argsort(-np.asarray(snap_m)[far], kind="stable")]
    listing = few(f"{ids[i]!r} ({snap_m[i]:,.0f} m)" for i in farthest_first.tolist())
    warnings.warn(
        f"{far.size} of {len(ids)} {what} lie more than {max_snap_m:,.0f} m from the road network; "
        f"{consequence}: {listing}",
        SnapWarning,
        stacklevel=stacklevel + 1,
    )


def snap_points(
    G: nx.Graph,
    points: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray,
    *,
    max_snap_m: float = 500.0,
    ids: Sequence[Hashable] | None = None,
    snap_to: Literal["any", "strong"] = "any",
    strict: bool = False,
) -> pd.DataFrame:
    """Snap points to their nearest road-graph node.

    Parameters
    ----------
    G
        Road graph with ``x``/``y`` node attributes in EPSG:27700.
    points
        GeoSeries/GeoDataFrame of points (any CRS, reprojected) or an ``(n, 2)`` array of
        EPSG:27700 coordinates.
    max_snap_m
        Points farther than this from every node are reported.
    ids
        Identifier per point (default: the index, or ``0..n-1`` for an array).
    snap_to
        ``"any"`` node, or ``"strong"``: only nodes of the largest strongly connected
        component (connected component for an undirected graph), so that no point lands
        on an island it cannot leave.
    strict
        Raise :class:`~geodata.errors.InputDataError` for far points instead of warning.

    Returns
    -------
    pandas.DataFrame
        One row per point, in input order: ``id``, ``node`` (graph node id) and
        ``snap_m`` (straight-line distance to that node, metres).

    Raises
    ------
    NetworkError
        The graph is not usable (no nodes, wrong CRS, missing coordinates).
    InputDataError
        Bad points, or far points when ``strict``.
    ValueError
        Unknown ``snap_to``.

    Warns
    -----
    SnapWarning
        Points farther than ``max_snap_m`` from the network, all listed in one warning.
    """
    nodes, node_xy = graph_node_arrays(G)
    xy, point_ids = point_coordinates(points, ids=ids)
    if snap_to == "any":
        candidates = np.arange(len(nodes))
    elif snap_to == "strong":
        components = nx.strongly_connected_components(G) if G.is_directed() else nx.connected_components(G)
        largest = max(components, key=len)
        candidates = np.flatnonzero([n in largest for n in nodes])
    else:
        raise ValueError(f"snap_to must be 'any' or 'strong', got {snap_to!r}")
    pos, dist = nearest_node_positions(cKDTree(node_xy[candidates]), xy)
    pos = candidates[pos]
    report_far_points(point_ids, dist, max_snap_m=max_snap_m, strict=strict, stacklevel=2)
    node_col = pd.Series([nodes[i] for i in pos], dtype=object if not _all_int(nodes) else np.int64)
    return pd.DataFrame({"id": point_ids, "node": node_col, "snap_m": dist})


def _all_int(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
