"""Travel-time matrices: on a road network, read from a user's file, or estimated crow-fly.

Every matrix is a :class:`TravelTimes` in minutes that says where its numbers come from
(``source`` is ``"network"``, ``"matrix"`` or ``"estimate"``; :attr:`TravelTimes.label`
is the short text to print next to them). Unreachable pairs are ``numpy.inf``, never 0.

Network matrices are computed with :func:`scipy.sparse.csgraph.dijkstra` on a CSR copy of
the graph (one shortest-path tree per unique snapped node on the smaller side: from each
destination on the *reversed* graph, or from each origin on the graph itself), plus an
access leg at each end: the straight-line snap distance walked at ``access_speed_kph``.
scipy's searches hold the GIL, so large matrices share their searches among forked worker
processes (``workers=``), which inherit the graph without copying it.
Results are cached on disk (:mod:`geodata.cache`), keyed by a fingerprint of the network,
the points, their ids and the parameters that change the numbers.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import math
import multiprocessing
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from tqdm import tqdm

from geodata.cache import hash_ids, hash_parts, load_arrays, save_arrays
from geodata.errors import (
    DataProblem,
    InputDataError,
    MissingFileError,
    NetworkError,
    ProblemCollector,
    TravelTimeError,
)
from geodata.settings import (
    MAX_DETOUR_FACTOR,
    MAX_PARALLEL,
    MAX_SPEED_KPH,
    MAX_TRAVEL_MIN,
    MIN_SPEED_KPH,
    is_count,
    usable_cores,
)
from geodata.snap import (
    FAR_POINTS_WALK,
    graph_node_arrays,
    nearest_node_positions,
    point_coordinates,
    report_far_points,
)

__all__ = [
    "TravelTimes",
    "RoadArrays",
    "road_arrays",
    "travel_time_matrix",
    "read_travel_matrix",
    "crow_fly_matrix",
]

logger = logging.getLogger(__name__)

Source = Literal["network", "matrix", "estimate"]
_SOURCES: tuple[str, ...] = ("network", "matrix", "estimate")
SnapTo = Literal["any", "strong"]
Points: TypeAlias = gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray

#: Memory budget (bytes) of one block of shortest-path rows (sources x all nodes).
_BLOCK_BYTES = 32 * 2**20
#: Least work (searches x graph nodes) shared among worker processes: below it, forking
#: (tens of milliseconds) costs more than it saves. 5 million is ~50 searches on a
#: 100k-node road graph, about 1.5 s of scipy's dijkstra on one core.
_PARALLEL_WORK = 5_000_000
#: Blocks of searches per worker process (small blocks balance the cores and move the progress bar).
_BLOCKS_PER_WORKER = 8
#: Version tag mixed into every cache key; bump when the computation changes.
_KEY_VERSION = "travel_time_matrix/1"


# --------------------------------------------------------------------------- TravelTimes


@dataclass(frozen=True, eq=False, repr=False)
class TravelTimes:
    """An origin x destination matrix of travel times in minutes, with its provenance.

    Parameters
    ----------
    origin_ids, destination_ids
        Identifiers of the rows and columns (real codes: practice, LSOA, site ids); unique.
    minutes
        ``(n_origins, n_destinations)`` float64 array; ``inf`` where unreachable. Stored
        as a read-only copy.
    source
        ``"network"`` (computed on a road graph), ``"matrix"`` (read from a user file) or
        ``"estimate"`` (crow-fly distance).
    description
        Human-readable origin of the numbers, e.g.
        ``"drive network north-london-palmers-green.osm, 4,197 nodes"``.
    origin_snap_m, destination_snap_m
        Distance from each point to its network node (network matrices only).
    params
        Parameters that produced the numbers (weight, cutoff, speeds, file...).

    Raises
    ------
    TravelTimeError
        Duplicate ids, shape mismatch, NaN or negative minutes.
    """

    origin_ids: tuple[Hashable, ...]
    destination_ids: tuple[Hashable, ...]
    minutes: np.ndarray
    source: Source
    description: str
    origin_snap_m: np.ndarray | None = None
    destination_snap_m: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "origin_ids", tuple(_py(i) for i in self.origin_ids))
        set_(self, "destination_ids", tuple(_py(i) for i in self.destination_ids))
        for what, ids in (("origin", self.origin_ids), ("destination", self.destination_ids)):
            index = pd.Index(list(ids), dtype=object)
            dupes = index[index.duplicated()].unique().tolist()
            if dupes:
                raise TravelTimeError(f"duplicate {what} ids: {', '.join(map(repr, dupes[:20]))}")
        if self.source not in _SOURCES:
            raise TravelTimeError(f"unknown source {self.source!r}")
        minutes = _frozen(self.minutes)
        shape = (len(self.origin_ids), len(self.destination_ids))
        if minutes.shape != shape:
            raise TravelTimeError(f"minutes has shape {minutes.shape}, ids give {shape}")
        if np.isnan(minutes).any():
            raise TravelTimeError("minutes contain NaN (use inf for unreachable pairs)")
        if (minutes < 0).any():
            raise TravelTimeError("minutes contain negative values")
        set_(self, "minutes", minutes)
        for name, n in (("origin_snap_m", shape[0]), ("destination_snap_m", shape[1])):
            value = getattr(self, name)
            if value is not None:
                value = _frozen(value)
                if value.shape != (n,):
                    raise TravelTimeError(f"{name} has shape {value.shape}, expected ({n},)")
                set_(self, name, value)
        set_(self, "params", dict(self.params))

    def __repr__(self) -> str:
        n_o, n_d = self.shape
        return f"<TravelTimes {n_o:,} origins x {n_d:,} destinations, {self.label}>"

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_origins, n_destinations)``."""
        return self.minutes.shape

    @property
    def is_estimate(self) -> bool:
        """``True`` when the minutes are a crow-fly estimate, not road travel times."""
        return self.source == "estimate"

    @property
    def label(self) -> str:
        """Short text to print wherever these numbers appear.

        Examples: ``"road network (travel_time)"``, ``"matrix travel.csv"``,
        ``"estimate (crow-fly x1.3 at 25 km/h)"``.
        """
        p = self.params
        if self.source == "estimate":
            return f"estimate (crow-fly x{_g(p.get('detour_factor'))} at {_g(p.get('speed_kph'))} km/h)"
        if self.source == "matrix":
            return f"matrix {Path(str(p.get('path', 'user file'))).name}"
        text = f"road network ({p.get('weight', 'travel_time')}"
        if p.get("cutoff_min") is not None:
            text += f", cutoff {_g(p['cutoff_min'])} min"
        return text + ")"

    @cached_property
    def _origin_pos(self) -> dict[Hashable, int]:
        return {i: k for k, i in enumerate(self.origin_ids)}

    @cached_property
    def _destination_pos(self) -> dict[Hashable, int]:
        return {i: k for k, i in enumerate(self.destination_ids)}

    def to_frame(self) -> pd.DataFrame:
        """Long table of every pair.

        Returns
        -------
        pandas.DataFrame
            Columns ``origin_id``, ``destination_id``, ``minutes``, ``source``; the
            :attr:`label` and :attr:`description` are in ``frame.attrs``.
        """
        n_o, n_d = self.shape
        frame = pd.DataFrame(
            {
                "origin_id": pd.Index(list(self.origin_ids)).repeat(n_d),
                "destination_id": np.tile(pd.Index(list(self.destination_ids)).to_numpy(), n_o),
                "minutes": self.minutes.ravel(),
                "source": pd.Categorical.from_codes(  # type: ignore[call-overload]  # categories may be a list
                    np.full(n_o * n_d, _SOURCES.index(self.source), dtype=np.int8), categories=list(_SOURCES)
                ),
            }
        )
        frame.attrs.update(label=self.label, description=self.description)
        return frame

    def unreachable(self) -> pd.DataFrame:
        """Pairs with no route (or beyond the cutoff).

        Returns
        -------
        pandas.DataFrame
            Columns ``origin_id``, ``destination_id``, in matrix order.
        """
        rows, cols = np.nonzero(np.isinf(self.minutes))
        return pd.DataFrame(
            {
                "origin_id": pd.Index(list(self.origin_ids), dtype=object)[rows].tolist(),
                "destination_id": pd.Index(list(self.destination_ids), dtype=object)[cols].tolist(),
            },
            dtype=object,
        )

    def subset(
        self,
        *,
        origin_ids: Sequence[Hashable] | None = None,
        destination_ids: Sequence[Hashable] | None = None,
    ) -> TravelTimes:
        """The matrix restricted (and reordered) to some origins and/or destinations.

        Parameters
        ----------
        origin_ids, destination_ids
            Ids to keep, in the wanted order; ``None`` keeps all.

        Returns
        -------
        TravelTimes
            Same source, description and params.

        Raises
        ------
        TravelTimeError
            Listing every requested id that is not in the matrix.
        """
        o = self._positions(origin_ids, self._origin_pos, "origin")
        d = self._positions(destination_ids, self._destination_pos, "destination")
        return dataclasses.replace(
            self,
            origin_ids=tuple(self.origin_ids[i] for i in o),
            destination_ids=tuple(self.destination_ids[j] for j in d),
            minutes=self.minutes[np.ix_(o, d)],
            origin_snap_m=None if self.origin_snap_m is None else self.origin_snap_m[o],
            destination_snap_m=None if self.destination_snap_m is None else self.destination_snap_m[d],
        )

    @staticmethod
    def _positions(ids: Sequence[Hashable] | None, pos: dict[Hashable, int], what: str) -> np.ndarray:
        if ids is None:
            return np.arange(len(pos))
        wanted = [_py(i) for i in ids]
        missing = [i for i in wanted if i not in pos]
        if missing:
            raise TravelTimeError(
                f"{len(missing)} {what} id(s) not in the matrix: {', '.join(map(repr, missing[:50]))}"
            )
        return np.fromiter((pos[i] for i in wanted), dtype=np.int64, count=len(wanted))

    def nearest(self, k: int) -> np.ndarray:
        """Column positions of the ``k`` nearest destinations of each origin.

        Parameters
        ----------
        k
            How many; capped at the number of destinations.

        Returns
        -------
        numpy.ndarray
            ``(n_origins, min(k, n_destinations))`` int64, nearest first; ties keep
            destination order; unreachable destinations come last.
        """
        if k < 1:
            raise TravelTimeError(f"k must be at least 1, got {k}")
        k = min(k, self.shape[1])
        return np.argsort(self.minutes, axis=1, kind="stable")[:, :k].astype(np.int64, copy=False)


def _py(value: Any) -> Any:
    """Numpy scalars to Python scalars, so ids compare and hash like the user's."""
    return value.item() if isinstance(value, np.generic) else value


def _g(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else "?"


def _frozen(values: Any) -> np.ndarray:
    arr = np.array(values, dtype=np.float64, copy=True, order="C")
    arr.flags.writeable = False
    return arr


# --------------------------------------------------------------------------- network arrays


@dataclass(frozen=True, eq=False, repr=False)
class RoadArrays:
    """A road graph compiled for routing: sorted nodes, coordinates, CSR adjacency.

    Parameters
    ----------
    nodes
        Node ids, sorted (positions in the arrays below).
    xy
        ``(n, 2)`` EPSG:27700 coordinates.
    forward
        CSR adjacency, ``forward[u, v]`` = smallest ``weight`` over parallel u->v edges.
    reverse
        The transposed adjacency (``reverse[v, u] = forward[u, v]``).
    weight
        Edge attribute used (seconds).
    fingerprint
        SHA-256 of node ids, coordinates and the adjacency arrays.
    description
        E.g. ``"drive network north-london-palmers-green.osm, 4,197 nodes"``.
    """

    nodes: list[Hashable]
    xy: np.ndarray
    forward: sparse.csr_array
    reverse: sparse.csr_array
    weight: str
    fingerprint: str
    description: str

    def __repr__(self) -> str:
        return f"<RoadArrays {self.description}, weight {self.weight!r}>"

    @cached_property
    def tree(self) -> cKDTree:
        """k-d tree on the node coordinates (for snapping)."""
        return cKDTree(self.xy)

    @cached_property
    def strong_nodes(self) -> np.ndarray:
        """Positions of the nodes in the largest strongly connected component."""
        _, labels = connected_components(self.forward, directed=True, connection="strong")
        return np.flatnonzero(labels == np.bincount(labels).argmax())

    @cached_property
    def strong_tree(self) -> cKDTree:
        """k-d tree on the nodes of the largest strongly connected component."""
        return cKDTree(self.xy[self.strong_nodes])

    def snap(self, xy: np.ndarray, *, snap_to: SnapTo = "any") -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point.

        Parameters
        ----------
        xy
            ``(n, 2)`` EPSG:27700 coordinates.
        snap_to
            ``"any"`` node, or only nodes of the largest ``"strong"``-ly connected
            component (every such node can reach, and be reached from, every other).

        Returns
        -------
        positions : numpy.ndarray
            Node positions (into :attr:`nodes`).
        distances : numpy.ndarray
            Straight-line snap distances, metres.
        """
        if snap_to == "any":
            return nearest_node_positions(self.tree, xy)
        if snap_to == "strong":
            pos, dist = nearest_node_positions(self.strong_tree, xy)
            return self.strong_nodes[pos], dist
        raise TravelTimeError(f"snap_to must be 'any' or 'strong', got {snap_to!r}")


def road_arrays(G: nx.Graph, *, weight: str = "travel_time") -> RoadArrays:
    """Compile a road graph into sorted arrays and CSR matrices (done once per call).

    Parameters
    ----------
    G
        (Multi)(Di)Graph with node ``x``/``y`` in EPSG:27700 and a numeric, non-negative
        ``weight`` on every edge (seconds). Undirected edges count both ways.
    weight
        Edge attribute to minimise.

    Returns
    -------
    RoadArrays

    Raises
    ------
    NetworkError
        Wrong CRS, nodes without coordinates, edges whose weight is missing,
        non-numeric or negative.
    """
    nodes_g, xy_g = graph_node_arrays(G)
    n = len(nodes_g)
    order = _sort_order(nodes_g)
    nodes = [nodes_g[i] for i in order]
    xy = np.ascontiguousarray(xy_g[order])
    rank = {node: r for r, node in enumerate(nodes)}

    u, v, w = _arc_arrays(G, rank, weight)
    for bad, what in ((np.isnan(w), "no"), (w < 0, "a negative")):
        if bad.any():
            idx = np.flatnonzero(bad)
            examples = ", ".join(f"{nodes[u[i]]!r}->{nodes[v[i]]!r}" for i in idx[:10])
            raise NetworkError(f"{idx.size:,} of {w.size:,} edges have {what} {weight!r} value, e.g. {examples}")
    keep = (u != v) & np.isfinite(w)
    u, v, w = u[keep], v[keep], w[keep]
    srt = np.lexsort((w, v, u))
    u, v, w = u[srt], v[srt], w[srt]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, w = u[first], v[first], w[first]  # min over parallel edges
    forward = _csr(u, v, w, n)
    back = np.lexsort((u, v))
    reverse = _csr(v[back], u[back], w[back], n)
    fingerprint = hash_parts("road-network/1", hash_ids(nodes), xy, forward.indptr, forward.indices, forward.data)
    return RoadArrays(
        nodes=nodes,
        xy=xy,
        forward=forward,
        reverse=reverse,
        weight=weight,
        fingerprint=fingerprint,
        description=_describe(G, n, int(forward.nnz)),
    )


def _arc_arrays(G: nx.Graph, rank: dict[Hashable, int], weight: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tail and head positions and ``weight`` (NaN where missing) of every arc, parallel edges included.

    Walks the adjacency once (an undirected edge is met from both ends, so it gives both
    arcs); ``G.edges(data=...)`` would walk it twice, once to count.
    """
    tails: list[int] = []
    heads: list[int] = []
    values: list[Any] = []
    add_tail, add_head, add_value = tails.append, heads.append, values.append
    nan = float("nan")
    multi = G.is_multigraph()
    for a, neighbours in G.adjacency():
        ra = rank[a]
        for b, data in neighbours.items():
            rb = rank[b]
            for attrs in data.values() if multi else (data,):
                add_tail(ra)
                add_head(rb)
                add_value(attrs.get(weight, nan))
    try:
        w = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"edge attribute {weight!r} is not numeric on every edge: {exc}") from exc
    return np.asarray(tails, dtype=np.int64), np.asarray(heads, dtype=np.int64), w


def _sort_order(nodes: list[Hashable]) -> np.ndarray:
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in nodes):
        try:
            return np.argsort(np.asarray(nodes, dtype=np.int64), kind="stable")
        except OverflowError:
            pass
    try:
        # node ids of one graph compare with each other (TypeError otherwise, handled below)
        return np.asarray(sorted(range(len(nodes)), key=nodes.__getitem__), dtype=np.int64)  # type: ignore[arg-type]
    except TypeError:
        return np.asarray(
            sorted(range(len(nodes)), key=lambda i: (type(nodes[i]).__name__, repr(nodes[i]))), dtype=np.int64
        )


def _csr(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int) -> sparse.csr_array:
    """CSR from arcs sorted by row then column; explicit zero weights stay edges."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sparse.csr_array((data, cols.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))


def _describe(G: nx.Graph, n_nodes: int, n_arcs: int) -> str:
    kind = G.graph.get("mode") or G.graph.get("network_type")
    name = G.graph.get("source") or G.graph.get("name") or G.graph.get("place")
    text = f"{kind} network" if kind else "road network"
    if name:
        text += f" {Path(str(name)).name if Path(str(name)).suffix else name}"
    return f"{text}, {n_nodes:,} nodes, {n_arcs:,} arcs"


# --------------------------------------------------------------------------- network matrix


def travel_time_matrix(
    G: nx.Graph | RoadArrays,
    origins: Points,
    destinations: Points,
    *,
    origin_ids: Sequence[Hashable] | None = None,
    destination_ids: Sequence[Hashable] | None = None,
    weight: str = "travel_time",
    cutoff_min: float | None = None,
    access_speed_kph: float = 4.8,
    max_snap_m: float = 500.0,
    snap_to: SnapTo = "any",
    strict: bool = False,
    cache: bool = True,
    progress: bool = True,
    workers: int | None = None,
    origin_label: str = "origins",
    far_origins: str = FAR_POINTS_WALK,
) -> TravelTimes:
    """Door-to-door travel times (minutes) between two point sets on a road network.

    Each point is snapped to its nearest node; the time is the shortest ``weight`` path
    (seconds, converted to minutes) between the two nodes plus an access leg at each end
    (snap distance at ``access_speed_kph``). Two points on the same node are only their
    access legs apart.

    Parameters
    ----------
    G
        Road graph (node ``x``/``y`` in EPSG:27700, edge ``weight`` in seconds), or a
        :class:`RoadArrays` compiled from it with the same ``weight`` (to reuse it).
    origins, destinations
        GeoSeries/GeoDataFrame of points (any CRS) or ``(n, 2)`` EPSG:27700 arrays.
    origin_ids, destination_ids
        Unique identifiers (default: the index, or ``0..n-1`` for arrays).
    weight
        Edge attribute to minimise, in seconds.
    cutoff_min
        Door-to-door times above this become ``inf`` (and the search stops early).
    access_speed_kph
        Speed of the access legs (default 4.8 km/h, walking).
    max_snap_m
        Points farther than this from the network are reported (one SnapWarning per side).
    snap_to
        ``"any"`` node (default), or ``"strong"``: only nodes of the largest strongly
        connected component, so that no point is stranded on a car-park loop or a one-way
        stub at the edge of the extract (then only the cutoff makes pairs unreachable).
    strict
        Raise instead of warning about far points.
    origin_label, far_origins
        How the warning about far origins names them and says what becomes of them (e.g.
        the LSOAs of practice units, left out of the practices' means by the caller).
    cache
        Read and write the on-disk cache (:func:`geodata.settings.cache_dir`).
    progress
        Show a tqdm bar on stderr when there are many searches (and stderr is a terminal).
    workers
        Worker processes sharing the searches (default
        :func:`geodata.settings.usable_cores`); forked only where the work is large
        enough to pay for it (and only where ``fork`` is available). The numbers do not
        depend on it.

    Returns
    -------
    TravelTimes
        ``source="network"``, with snap distances; unreachable pairs are ``inf``.

    Raises
    ------
    NetworkError
        Unusable graph (CRS, coordinates, weights).
    InputDataError
        Bad points, duplicate ids, or far points when ``strict``.
    TravelTimeError
        Bad parameters.

    Warns
    -----
    SnapWarning
        Points farther than ``max_snap_m`` from the network.
    """
    _check_parameters(access_speed_kph=access_speed_kph, cutoff_min=cutoff_min, snap_to=snap_to, workers=workers)
    net = G if isinstance(G, RoadArrays) else road_arrays(G, weight=weight)
    if net.weight != weight:
        raise TravelTimeError(f"RoadArrays were compiled for weight {net.weight!r}, not {weight!r}")
    o_xy, o_ids = point_coordinates(origins, ids=origin_ids, what="origins")
    d_xy, d_ids = point_coordinates(destinations, ids=destination_ids, what="destinations")
    _check_unique(o_ids, "origins")
    _check_unique(d_ids, "destinations")

    key_params = {
        "weight": weight,
        "cutoff_min": cutoff_min,
        "access_speed_kph": float(access_speed_kph),
        "snap_to": snap_to,
    }
    params = {
        **key_params,
        "max_snap_m": float(max_snap_m),
        "network_fingerprint": net.fingerprint,
    }
    far_label = {"what": origin_label, "consequence": far_origins}
    key = _cache_key(net, o_xy, o_ids, d_xy, d_ids, key_params)
    shape = (len(o_ids), len(d_ids))
    cached = _from_cache(key, shape) if cache else None
    if cached is not None:
        logger.info("travel times %d x %d read from cache (%s)", *shape, key[:12])
        minutes, o_snap, d_snap = cached
        report_far_points(o_ids, o_snap, max_snap_m=max_snap_m, strict=strict, stacklevel=2, **far_label)
        report_far_points(d_ids, d_snap, max_snap_m=max_snap_m, strict=strict, what="destinations", stacklevel=2)
    else:
        o_pos, o_snap = net.snap(o_xy, snap_to=snap_to)
        d_pos, d_snap = net.snap(d_xy, snap_to=snap_to)
        report_far_points(o_ids, o_snap, max_snap_m=max_snap_m, strict=strict, stacklevel=2, **far_label)
        report_far_points(d_ids, d_snap, max_snap_m=max_snap_m, strict=strict, what="destinations", stacklevel=2)
        minutes = _door_to_door_minutes(
            net,
            (o_pos, o_snap),
            (d_pos, d_snap),
            cutoff_min=cutoff_min,
            access_speed_kph=access_speed_kph,
            progress=progress,
            workers=workers,
        )
        if cache:
            save_arrays(
                key,
                {"minutes": minutes, "origin_snap_m": o_snap, "destination_snap_m": d_snap},
                {"description": net.description, "params": params, "shape": list(shape)},
            )
    _log_unreachable(minutes, cutoff_min=cutoff_min)
    return TravelTimes(
        origin_ids=tuple(o_ids),
        destination_ids=tuple(d_ids),
        minutes=minutes,
        source="network",
        description=net.description,
        origin_snap_m=o_snap,
        destination_snap_m=d_snap,
        params=params,
    )


def _check_parameters(
    *, access_speed_kph: float, cutoff_min: float | None, snap_to: str, workers: int | None = None
) -> None:
    """Raise :class:`TravelTimeError` for a bad access speed, cutoff, snapping rule or worker count."""
    if not access_speed_kph > 0:
        raise TravelTimeError(f"access_speed_kph must be positive, got {access_speed_kph}")
    if cutoff_min is not None and not cutoff_min >= 0:
        raise TravelTimeError(f"cutoff_min must be non-negative, got {cutoff_min}")
    if snap_to not in ("any", "strong"):
        raise TravelTimeError(f"snap_to must be 'any' or 'strong', got {snap_to!r}")
    if workers is not None and not is_count(workers, MAX_PARALLEL):
        raise TravelTimeError(f"workers must be a whole number from 1 to {MAX_PARALLEL:,}, got {workers!r}")


def _cache_key(
    net: RoadArrays,
    o_xy: np.ndarray,
    o_ids: Sequence[Hashable],
    d_xy: np.ndarray,
    d_ids: Sequence[Hashable],
    key_params: dict[str, Any],
) -> str:
    """Cache key of a matrix: the network, both point sets with their ids, and the parameters."""
    return hash_parts(
        _KEY_VERSION,
        net.fingerprint,
        o_xy,
        hash_ids(o_ids),
        d_xy,
        hash_ids(d_ids),
        json.dumps(key_params, sort_keys=True),
    )


def _door_to_door_minutes(
    net: RoadArrays,
    origins: tuple[np.ndarray, np.ndarray],
    destinations: tuple[np.ndarray, np.ndarray],
    *,
    cutoff_min: float | None,
    access_speed_kph: float,
    progress: bool,
    workers: int | None,
) -> np.ndarray:
    """Network minutes between snapped nodes plus the access legs, ``inf`` beyond the cutoff.

    ``origins`` and ``destinations`` are ``(node positions, snap distances in metres)``.
    """
    (o_pos, o_snap), (d_pos, d_snap) = origins, destinations
    limit_s = np.inf if cutoff_min is None else float(cutoff_min) * 60.0
    minutes = _node_minutes(net, o_pos, d_pos, limit_s=limit_s, progress=progress, workers=workers)
    metres_per_min = access_speed_kph * 1000.0 / 60.0
    minutes += o_snap[:, None] / metres_per_min
    minutes += d_snap[None, :] / metres_per_min
    if cutoff_min is not None:
        minutes[minutes > cutoff_min] = np.inf
    return minutes


def _log_unreachable(minutes: np.ndarray, *, cutoff_min: float | None) -> None:
    """Log how many pairs are ``inf`` (a warning when there is no cutoff to explain them)."""
    n_inf = int(np.isinf(minutes).sum())
    if n_inf:
        why = "unreachable or beyond the cutoff" if cutoff_min is not None else "unreachable on the network"
        log = logger.info if cutoff_min is not None else logger.warning
        log(
            "%d of %d origin-destination pairs are %s (inf); see TravelTimes.unreachable()",
            n_inf,
            minutes.size,
            why,
        )


def _from_cache(key: str, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    entry = load_arrays(key)
    if entry is None:
        return None
    try:
        arrays = [entry.arrays[name] for name in ("minutes", "origin_snap_m", "destination_snap_m")]
    except KeyError as exc:
        logger.warning("travel-time cache entry %s lacks array %s; recomputing", key[:12], exc)
        return None
    if arrays[0].shape != shape or arrays[1].shape != shape[:1] or arrays[2].shape != shape[1:]:
        logger.warning("travel-time cache entry %s has the wrong shape; recomputing", key[:12])
        return None
    return arrays[0], arrays[1], arrays[2]


def _check_unique(ids: Sequence[Hashable], what: str) -> None:
    index = pd.Index(list(ids), dtype=object)
    dupes = index[index.duplicated()].unique()
    if len(dupes):
        raise InputDataError(DataProblem(f"<{what}>", f"duplicate id {i!r}") for i in dupes)


def _node_minutes(
    net: RoadArrays,
    o_pos: np.ndarray,
    d_pos: np.ndarray,
    *,
    limit_s: float,
    progress: bool,
    workers: int | None,
) -> np.ndarray:
    """Network-only minutes between snapped nodes, ``(len(o_pos), len(d_pos))``, writable."""
    if o_pos.size == 0 or d_pos.size == 0:
        return np.zeros((o_pos.size, d_pos.size))
    uo, o_inv = np.unique(o_pos, return_inverse=True)
    ud, d_inv = np.unique(d_pos, return_inverse=True)
    # One search per unique node on the smaller side: trees grown backwards from the
    # destinations on the reversed graph give every origin's time *to* them.
    from_destinations = ud.size <= uo.size
    graph, sources, targets = (net.reverse, ud, uo) if from_destinations else (net.forward, uo, ud)
    n_nodes = net.xy.shape[0]
    processes = _worker_processes(sources.size * n_nodes, usable_cores() if workers is None else workers)
    block = int(max(1, min(sources.size, _BLOCK_BYTES // (8 * n_nodes))))
    if processes > 1:
        block = min(block, math.ceil(sources.size / (processes * _BLOCKS_PER_WORKER)))
    starts = range(0, sources.size, block)
    seconds = np.empty((sources.size, targets.size))
    bar = tqdm(
        total=int(sources.size),
        desc="travel times",
        unit="search",
        file=sys.stderr,
        disable=True if (not progress or len(starts) < 3) else None,
        leave=False,
    )
    blocks = [sources[start : start + block] for start in starts]
    with bar, _search_pool(processes, graph, targets, limit_s) as search:
        for start, rows in zip(starts, search(blocks), strict=True):
            seconds[start : start + rows.shape[0]] = rows
            bar.update(rows.shape[0])
    node_seconds = seconds.T if from_destinations else seconds  # (unique origins, unique destinations)
    return node_seconds[np.ix_(o_inv.ravel(), d_inv.ravel())] / 60.0


def _worker_processes(work: int, workers: int) -> int:
    """Processes to share ``work`` (searches x graph nodes) among: 1 below :data:`_PARALLEL_WORK`.

    Also 1 where processes cannot be forked (no ``fork`` start method, or this process is
    itself a daemonic worker, which may not have children).
    """
    if workers <= 1 or work < _PARALLEL_WORK:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        logger.debug("travel times: no fork here, searching in one process")
        return 1
    return workers


#: What each forked search process inherits: (graph, targets, limit in seconds).
_WORKER_STATE: tuple[sparse.csr_array, np.ndarray, float] | None = None


def _inherit(graph: sparse.csr_array, targets: np.ndarray, limit_s: float) -> None:
    """Pool initializer: keep the graph handed over by ``fork`` (no pickling, no copy)."""
    global _WORKER_STATE
    _WORKER_STATE = (graph, targets, limit_s)


def _search_rows(graph: sparse.csr_array, sources: np.ndarray, targets: np.ndarray, limit_s: float) -> np.ndarray:
    """Seconds from each of ``sources`` to each of ``targets`` (scipy's dijkstra, ``inf`` beyond ``limit_s``)."""
    return dijkstra(graph, directed=True, indices=sources, limit=limit_s)[:, targets]


def _search_inherited(sources: np.ndarray) -> np.ndarray:
    """:func:`_search_rows` in a forked worker, on the graph it inherited."""
    assert _WORKER_STATE is not None, "worker process started without a graph"
    graph, targets, limit_s = _WORKER_STATE
    return _search_rows(graph, sources, targets, limit_s)


@contextlib.contextmanager
def _search_pool(
    processes: int, graph: sparse.csr_array, targets: np.ndarray, limit_s: float
) -> Iterator[Callable[[list[np.ndarray]], Iterator[np.ndarray]]]:
    """A function mapping blocks of sources to their rows, in order: here, or in forked processes.

    The forked processes get the graph through the ``fork`` itself (the initializer's
    arguments are never pickled with that start method), and send back only their rows.
    """
    if processes <= 1:
        yield lambda blocks: (_search_rows(graph, chunk, targets, limit_s) for chunk in blocks)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_inherit, initargs=(graph, targets, limit_s)) as pool:
        yield lambda blocks: pool.imap(_search_inherited, blocks)


# --------------------------------------------------------------------------- crow-fly estimate


def crow_fly_matrix(
    origins: Points,
    destinations: Points,
    *,
    origin_ids: Sequence[Hashable] | None = None,
    destination_ids: Sequence[Hashable] | None = None,
    detour_factor: float = 1.3,
    speed_kph: float = 25.0,
) -> TravelTimes:
    """Estimated travel times from straight-line distances (no road network).

    ``minutes = distance_m * detour_factor / (speed_kph * 1000 / 60)``. The defaults are
    rough assumptions for urban driving: roads are on average about 1.3 times longer than
    the straight line, and door-to-door speeds in a town average about 25 km/h once
    junctions, traffic and parking are counted. They are an estimate, labelled as such
    (``source="estimate"``, :attr:`TravelTimes.label`), for when no network or matrix is
    available.

    Parameters
    ----------
    origins, destinations
        GeoSeries/GeoDataFrame of points (any CRS) or ``(n, 2)`` EPSG:27700 arrays.
    origin_ids, destination_ids
        Unique identifiers (default: the index, or ``0..n-1`` for arrays).
    detour_factor
        Road distance / straight-line distance, from 1 to
        :data:`geodata.settings.MAX_DETOUR_FACTOR`.
    speed_kph
        Average speed along the road distance, from :data:`geodata.settings.MIN_SPEED_KPH`
        to :data:`geodata.settings.MAX_SPEED_KPH`.

    Returns
    -------
    TravelTimes
        ``source="estimate"``.

    Raises
    ------
    InputDataError
        Bad points or duplicate ids.
    TravelTimeError
        Bad parameters.
    """
    if not 1 <= detour_factor <= MAX_DETOUR_FACTOR:
        raise TravelTimeError(f"detour_factor must be from 1 to {MAX_DETOUR_FACTOR:g}, got {detour_factor}")
    if not MIN_SPEED_KPH <= speed_kph <= MAX_SPEED_KPH:
        raise TravelTimeError(f"speed_kph must be from {MIN_SPEED_KPH:g} to {MAX_SPEED_KPH:g}, got {speed_kph}")
    o_xy, o_ids = point_coordinates(origins, ids=origin_ids, what="origins")
    d_xy, d_ids = point_coordinates(destinations, ids=destination_ids, what="destinations")
    _check_unique(o_ids, "origins")
    _check_unique(d_ids, "destinations")
    metres = cdist(o_xy, d_xy) if len(o_xy) and len(d_xy) else np.zeros((len(o_xy), len(d_xy)))
    minutes = metres * detour_factor / (speed_kph * 1000.0 / 60.0)
    return TravelTimes(
        origin_ids=tuple(o_ids),
        destination_ids=tuple(d_ids),
        minutes=minutes,
        source="estimate",
        description=f"straight-line distance x{detour_factor:g} at {speed_kph:g} km/h (EPSG:27700)",
        params={"detour_factor": float(detour_factor), "speed_kph": float(speed_kph)},
    )


# --------------------------------------------------------------------------- user matrices

_ORIGIN_NAMES = ("origin_id", "origin", "origins", "from_id", "from", "o", "o_id", "orig", "source", "src")
_DEST_NAMES = (
    "destination_id", "destination", "destinations", "to_id", "to", "d", "d_id", "dest", "dest_id",
    "target", "site_id",
)  # fmt: skip
_MINUTE_NAMES = (
    "minutes", "travel_minutes", "travel_time_min", "travel_time_minutes", "time_min", "duration_min",
    "duration_minutes", "mins", "min", "travel_time", "time", "duration",
)  # fmt: skip
_SECOND_NAMES = (
    "seconds",
    "travel_time_s",
    "travel_time_seconds",
    "duration_s",
    "duration_seconds",
    "time_s",
    "secs",
)


def read_travel_matrix(
    path: str | Path,
    *,
    origin_ids: Sequence[Hashable] | None = None,
    destination_ids: Sequence[Hashable] | None = None,
    layout: Literal["auto", "long", "wide"] = "auto",
    origins_among: Iterable[Hashable] | None = None,
) -> TravelTimes:
    """Read a travel-time matrix supplied by the user (CSV or Parquet).

    Two layouts are understood:

    * **long**: one row per pair, with an origin column (``origin_id``, ``origin``,
      ``from_id``, ``from``...), a destination column (``destination_id``,
      ``destination``, ``to_id``, ``to``...) and a time column in minutes (``minutes``,
      ``travel_time`` as written by r5py, ``duration_min``...) or in seconds
      (``seconds``, ``travel_time_s``, ``duration_s``...). Names are matched ignoring
      case, spaces and hyphens.
    * **wide**: first column the origin ids, one column per destination id (header).

    Ids are read as text (so ``"E01000001"`` or ``"0042"`` stay as written) and matched to
    ``origin_ids`` / ``destination_ids`` by their text. ``inf`` marks an unreachable pair;
    an empty cell is an error, and so is a time above :data:`geodata.settings.MAX_TRAVEL_MIN`
    (a day: ``1e300`` or ``1e999`` is a mistake, not a journey).

    Parameters
    ----------
    path
        ``.csv`` (optionally ``.gz``; comma, semicolon, tab or pipe separated, UTF-8) or
        ``.parquet``.
    origin_ids, destination_ids
        Ids the matrix must cover, in the wanted order (default: every id in the file, in
        order of first appearance). Other ids in the file are ignored.
    origins_among
        Without ``origin_ids``: read only the file's origins that are among these ids (in
        order of first appearance; none need be in the file). The file's other origins
        are ignored like any id not requested, logged at INFO and listed in
        ``params["ignored_origins"]``.
    layout
        ``"long"``, ``"wide"`` or ``"auto"`` (long when an origin and a destination column
        are found; without a time column that is then an error, not a wide matrix).

    Returns
    -------
    TravelTimes
        ``source="matrix"``.

    Raises
    ------
    MissingFileError
        The file does not exist.
    InputDataError
        Listing every problem with its row (CSV: the editor line number, header = 1;
        Parquet: the record number, 1-based) and column: unknown columns, empty or
        duplicate ids, duplicate pairs, non-numeric, empty, negative or absurd (above a day)
        times, requested ids or pairs missing from the file.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what="travel-time matrix")
    if layout not in ("auto", "long", "wide"):
        raise TravelTimeError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
    header, body, rows = _read_table(path)
    problems = ProblemCollector(path)
    among = None if origins_among is None else pd.Index([str(i).strip() for i in origins_among], dtype=object)
    roles = _long_roles(header)
    # origin and destination columns are the long layout's keys: a wide header has neither
    use_long = layout == "long" or (layout == "auto" and roles[0] is not None and roles[1] is not None)
    if use_long:
        missing = [name for name, r in zip(("origin", "destination", "minutes"), roles, strict=True) if r is None]
        if missing:
            what = ["minutes (or seconds)" if name == "minutes" else name for name in missing]
            problems.add(
                f"the long layout needs origin, destination and minutes columns: the {' and '.join(what)} "
                f"column{'s are' if len(missing) > 1 else ' is'} missing (columns found: {', '.join(header)})",
                row=1,
            )
            problems.raise_if_any()
        minutes, o_out, d_out, unit = _parse_long(
            header, body, rows, roles, origin_ids, destination_ids, among, problems
        )
    else:
        wanted = [str(i).strip() for i in destination_ids or ()]
        if wanted and set(wanted).isdisjoint(h.strip() for h in header[1:]):
            problems.add(
                "not a travel-time matrix: neither the long layout (origin_id, destination_id and minutes "
                "columns) nor a wide layout (origin ids in the first column, one column per destination "
                f"id such as {', '.join(map(repr, wanted[:3]))}); columns found: {', '.join(header)}",
                row=1,
            )
            problems.raise_if_any()
        minutes, o_out, d_out = _parse_wide(header, body, rows, origin_ids, destination_ids, among, problems)
        unit = "minutes"
    problems.raise_if_any()
    params: dict[str, Any] = {"path": str(path), "layout": "long" if use_long else "wide", "unit": unit}
    if among is not None and origin_ids is None:
        in_file = _ids_text(body[roles[0] if use_long else 0]).unique()
        ignored = [o for o in in_file if o != "" and o not in among]
        if ignored:
            logger.info("%s: %d origin(s) not in the selection ignored: %s", path.name, len(ignored), ignored[:10])
        params["ignored_origins"] = ignored
    n_inf = int(np.isinf(minutes).sum())
    if n_inf:
        logger.info("%s: %d pairs marked unreachable (inf)", path.name, n_inf)
    return TravelTimes(
        origin_ids=tuple(o_out),
        destination_ids=tuple(d_out),
        minutes=minutes,
        source="matrix",
        description=f"travel-time matrix {path.name} ({'long' if use_long else 'wide'} layout, {unit})",
        params=params,
    )


def _read_table(path: Path) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """Header, body (object columns, str ids) and each body row's 1-based line/record number."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for unreadable files
            raise InputDataError([DataProblem(str(path), f"not a readable Parquet file: {exc}")]) from exc
        header = [str(c) for c in frame.columns]
        body = pd.DataFrame({i: _parquet_cells(frame[c]) for i, c in enumerate(frame.columns)})
        return header, body, np.arange(1, len(frame) + 1)
    try:
        with _open_text(path) as fh:
            sample = fh.read(65536)
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
        raw = pd.read_csv(
            path,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputDataError([DataProblem(str(path), f"not a readable CSV file: {exc}")]) from exc
    raw = raw.fillna("")
    if raw.empty:
        raise InputDataError([DataProblem(str(path), "the file is empty")])
    header = [str(h).strip() for h in raw.iloc[0]]
    body = raw.iloc[1:].reset_index(drop=True)
    body.columns = pd.RangeIndex(body.shape[1])
    lines = np.arange(2, len(body) + 2)
    blank = (body.apply(lambda col: col.str.strip()) == "").all(axis=1).to_numpy()
    return header, body[~blank].reset_index(drop=True), lines[~blank]


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


def _parquet_cells(col: pd.Series) -> pd.Series:
    """Float columns stay numbers (travel times); anything else becomes text, missing -> ''."""
    if pd.api.types.is_float_dtype(col):
        return col.astype(np.float64).astype(object)
    return col.astype(object).map(lambda v: "" if pd.isna(v) else str(v))


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _long_roles(header: list[str]) -> tuple[int | None, int | None, int | None]:
    normed = [_norm(h) for h in header]

    def find(names: Sequence[str]) -> int | None:
        for name in names:
            if name in normed:
                return normed.index(name)
        return None

    time_col = find(_MINUTE_NAMES)
    if time_col is None:
        time_col = find(_SECOND_NAMES)
    return find(_ORIGIN_NAMES), find(_DEST_NAMES), time_col


def _ids_text(col: pd.Series) -> pd.Series:
    return col.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())


def _parse_times(
    col: pd.Series, rows: np.ndarray, column: str, problems: ProblemCollector, *, unit: str = "minutes"
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values and a mask of the valid ones; problems for the rest.

    A time is valid from 0 to :data:`geodata.settings.MAX_TRAVEL_MIN` (in ``unit``: minutes or
    seconds), or infinite when the cell says so (``inf``: an unreachable pair); a number that
    only overflows to infinity (``1e999``) is above the maximum like ``1e300``.
    """
    text = col.map(lambda v: v.strip() if isinstance(v, str) else v)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    most = MAX_TRAVEL_MIN * (60 if unit == "seconds" else 1)
    above = np.flatnonzero(values > most)
    absurd = [i for i in above if not _unreachable(text.iloc[i])]
    bad = np.union1d(np.flatnonzero(np.isnan(values) | (values < 0)), np.asarray(absurd, dtype=int))
    for i in bad:
        raw = text.iloc[i]
        if raw == "" or raw is None or (isinstance(raw, float) and np.isnan(raw)):
            message = "travel time is empty (write inf for an unreachable pair)"
        elif np.isnan(values[i]):
            message = f"travel time {raw!r} is not a number"
        elif values[i] < 0:
            message = f"travel time {raw!r} is negative"
        else:
            message = (
                f"travel time {raw!r} is above the maximum {most:,.0f} {unit}, not a plausible value "
                "(write inf for an unreachable pair)"
            )
        problems.add(message, row=int(rows[i]), column=column)
    valid = np.ones(values.size, dtype=bool)
    valid[bad] = False
    return values, valid


def _unreachable(cell: object) -> bool:
    """Whether a cell marks an unreachable pair: ``inf`` or ``infinity`` (any case), or an infinite float."""
    if isinstance(cell, str):
        return cell.lstrip("+").lower() in ("inf", "infinity")
    return isinstance(cell, float) and cell == np.inf


def _wanted(
    requested: Sequence[Hashable] | None,
    in_file: pd.Index,
    what: str,
    column: str,
    problems: ProblemCollector,
    among: pd.Index | None = None,
) -> tuple[list[Hashable], pd.Index]:
    """Output ids and their text keys; problems for requested ids absent from the file.

    Nothing requested: every id of the file, or those ``among`` some ids.
    """
    if requested is None:
        if among is not None:
            in_file = in_file[in_file.isin(among)]
        return list(in_file), in_file
    out = [_py(i) for i in requested]
    keys = pd.Index([str(i).strip() for i in out], dtype=object)
    for i, k in zip(out, keys, strict=True):
        if k not in in_file:
            problems.add(f"{what} id {i!r} is not in the file", column=column)
    dupes = keys[keys.duplicated()].unique()
    for k in dupes:
        problems.add(f"{what} id {k!r} is requested twice", column=column)
    return out, keys


def _parse_long(
    header: list[str],
    body: pd.DataFrame,
    rows: np.ndarray,
    roles: tuple[int | None, int | None, int | None],
    origin_ids: Sequence[Hashable] | None,
    destination_ids: Sequence[Hashable] | None,
    among: pd.Index | None,
    problems: ProblemCollector,
) -> tuple[np.ndarray, list[Hashable], list[Hashable], str]:
    oc, dc, tc = roles
    assert oc is not None and dc is not None and tc is not None
    o_name, d_name, t_name = header[oc], header[dc], header[tc]
    o = _ids_text(body[oc])
    d = _ids_text(body[dc])
    for col, name in ((o, o_name), (d, d_name)):
        for i in np.flatnonzero((col == "").to_numpy()):
            problems.add("id is empty", row=int(rows[i]), column=name)
    unit = "seconds" if _norm(t_name) in _SECOND_NAMES else "minutes"
    values, valid = _parse_times(body[tc], rows, t_name, problems, unit=unit)
    if unit == "seconds":
        values = values / 60.0
    pairs = pd.MultiIndex.from_arrays([o, d])
    dup = pairs.duplicated(keep="first")
    if dup.any():
        first_row = dict(zip(pairs[~dup], rows[~dup], strict=True))
        for i in np.flatnonzero(dup):
            pair = pairs[int(i)]
            problems.add(
                f"duplicate pair {pair[0]!r} -> {pair[1]!r} (first on row {first_row[pair]})",
                row=int(rows[i]),
                column=f"{o_name}, {d_name}",
            )
    file_o = pd.Index(o[o != ""].unique(), dtype=object)
    file_d = pd.Index(d[d != ""].unique(), dtype=object)
    o_out, o_keys = _wanted(origin_ids, file_o, "origin", o_name, problems, among)
    d_out, d_keys = _wanted(destination_ids, file_d, "destination", d_name, problems)
    # pandas takes any array-like target (the stub says Index)
    oi = o_keys.get_indexer(o) if o_keys.is_unique else np.full(len(o), -1)  # type: ignore[arg-type]
    di = d_keys.get_indexer(d) if d_keys.is_unique else np.full(len(d), -1)  # type: ignore[arg-type]
    use = (oi >= 0) & (di >= 0) & ~dup
    minutes = np.full((len(o_keys), len(d_keys)), np.nan)
    minutes[oi[use], di[use]] = np.where(valid[use], values[use], 0.0)
    seen = ~np.isnan(minutes)
    o_present = o_keys.isin(file_o)
    d_present = d_keys.isin(file_d)
    if not (o_keys.is_unique and d_keys.is_unique):
        return minutes, o_out, d_out, unit
    for i, j in zip(*np.nonzero(~seen & o_present[:, None] & d_present[None, :]), strict=True):
        problems.add(f"no travel time for origin {o_out[i]!r} -> destination {d_out[j]!r}")
    return np.nan_to_num(minutes, nan=0.0, posinf=np.inf), o_out, d_out, unit


def _parse_wide(
    header: list[str],
    body: pd.DataFrame,
    rows: np.ndarray,
    origin_ids: Sequence[Hashable] | None,
    destination_ids: Sequence[Hashable] | None,
    among: pd.Index | None,
    problems: ProblemCollector,
) -> tuple[np.ndarray, list[Hashable], list[Hashable]]:
    if len(header) < 2:
        problems.add("wide layout needs an origin id column and at least one destination column", row=1)
        problems.raise_if_any()
    o_name = header[0] or "1"
    dest_header = pd.Index([h.strip() for h in header[1:]], dtype=object)
    for pos, h in enumerate(dest_header, start=2):
        if h == "":
            problems.add("destination id (column header) is empty", row=1, column=str(pos))
    for h in dest_header[dest_header.duplicated()].unique():
        problems.add(f"destination id {h!r} appears in more than one column", row=1, column=h)
    o = _ids_text(body[0])
    for i in np.flatnonzero((o == "").to_numpy()):
        problems.add("origin id is empty", row=int(rows[i]), column=o_name)
    dup = o.duplicated(keep="first").to_numpy() & (o != "").to_numpy()
    if dup.any():
        first_row = dict(zip(o[~dup], rows[~dup], strict=True))
        for i in np.flatnonzero(dup):
            origin = o.iloc[i]
            problems.add(
                f"duplicate origin {origin!r} (first on row {first_row[origin]})",
                row=int(rows[i]),
                column=o_name,
            )
    file_o = pd.Index(o[o != ""].unique(), dtype=object)
    file_d = pd.Index(dest_header[dest_header != ""].unique(), dtype=object)
    o_out, o_keys = _wanted(origin_ids, file_o, "origin", o_name, problems, among)
    d_out, d_keys = _wanted(destination_ids, file_d, "destination", "header", problems)
    row_of = {k: i for i, k in reversed(list(enumerate(o)))}  # first occurrence wins
    col_of = {k: j for j, k in reversed(list(enumerate(dest_header)))}
    keep_rows = [row_of[k] for k in o_keys if k in row_of]
    keep_cols = [col_of[k] for k in d_keys if k in col_of]
    minutes = np.zeros((len(o_keys), len(d_keys)))
    if keep_rows and keep_cols:
        out_rows = [i for i, k in enumerate(o_keys) if k in row_of]
        out_cols = [j for j, k in enumerate(d_keys) if k in col_of]
        for jj, j in zip(out_cols, keep_cols, strict=True):
            col = body[j + 1].iloc[keep_rows] if j + 1 in body.columns else pd.Series([""] * len(keep_rows))
            values, valid = _parse_times(col, rows[keep_rows], dest_header[j], problems)
            minutes[out_rows, jj] = np.where(valid, values, 0.0)
    return minutes, o_out, d_out
