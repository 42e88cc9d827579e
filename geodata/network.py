"""Road networks: read OSM files or download with osmnx, ready for travel-time routing.

Every builder returns an osmnx-style ``networkx.MultiDiGraph`` that is

* filtered to one travel **mode** with osmnx's own network-type filter (``"drive"``:
  public motor roads, one-way streets respected; ``"walk"``: footways, paths and
  streets, every edge two-way);
* reduced to its largest strongly (drive) or weakly (walk) connected component, the
  number of nodes dropped being logged;
* topologically simplified, with ``length`` (m), ``speed_kph`` and ``travel_time`` (s)
  on every edge (travel times are computed per OSM segment *before* simplification and
  summed, so each merged edge keeps the exact time of its parts; see
  :mod:`geodata.speeds`);
* projected to British National Grid: node ``x``/``y`` are EPSG:27700 metres, and
  ``G.graph`` records ``crs``, ``mode`` and ``source`` (file path, place or bbox).

OSM XML (``.osm``, ``.xml``, optionally ``.gz``/``.bz2``) and PBF (``.osm.pbf``) files
take the same path: pyosmium reads the file, keeps the highway ways that pass the
mode's filter and the nodes they use, and writes them to a temporary OSM XML file
that :func:`osmnx.graph_from_xml` turns into a graph. ``graph_from_xml`` on its own
would keep *every* way in the file (buildings, rivers, footways in a drive network),
so the filter must be applied before it; doing it in pyosmium keeps both formats on
one code path and keeps PBF extracts small.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import osmium
import osmnx as ox
import requests
from osmium.osm.mutable import Way as MutableWay
from shapely.errors import ShapelyError

from geodata.errors import MissingFileError, NetworkError
from geodata.settings import BNG
from geodata.speeds import add_travel_times, check_mode

__all__ = [
    "BBox",
    "TagClause",
    "graph_from_bbox",
    "graph_from_graphml",
    "graph_from_osm_file",
    "graph_from_place",
    "downloaded_network",
    "network_filter",
    "save_graph",
    "way_matches",
]

log = logging.getLogger(__name__)

#: ``(left, bottom, right, top)`` in WGS84 degrees, osmnx 2.x order.
BBox = tuple[float, float, float, float]

# file name endings -> osmium format string
_FORMATS: tuple[tuple[str, str], ...] = (
    (".osm.pbf", "pbf"),
    (".pbf", "pbf"),
    (".osm.gz", "osm.gz"),
    (".xml.gz", "osm.gz"),
    (".osm.bz2", "osm.bz2"),
    (".xml.bz2", "osm.bz2"),
    (".osm", "osm"),
    (".xml", "osm"),
)

# one Overpass QL tag clause: ["key"], ["key"="v"], ["key"!="v"], ["key"~"re"], ["key"!~"re"]
_CLAUSE = re.compile(r'\["(?P<key>[^"]+)"(?:(?P<op>!~|~|!=|=)"(?P<value>[^"]*)")?\]')


@dataclass(frozen=True)
class TagClause:
    """One tag condition of an Overpass way filter, evaluated as Overpass does.

    ``op`` is ``None`` (the key must exist), ``"="``, ``"!="``, ``"~"`` or ``"!~"``
    (regular expression, unanchored, case-sensitive). ``!=`` and ``!~`` also hold
    when the key is absent.
    """

    key: str
    op: str | None
    value: str

    def test(self, tags: Mapping[str, str]) -> bool:
        """Whether a way with these tags meets the condition."""
        present = tags.get(self.key)
        if self.op is None:
            return present is not None
        if self.op == "=":
            return present == self.value
        if self.op == "!=":
            return present != self.value
        matched = present is not None and re.search(self.value, present) is not None
        return matched if self.op == "~" else not matched


def network_filter(mode: str) -> tuple[TagClause, ...]:
    """The tag conditions a way must meet to belong to a ``mode`` network.

    The conditions are read from osmnx's Overpass filter for that network type
    (``osmnx._overpass._get_network_filter``, which also applies
    ``osmnx.settings.default_access``), so a network read from a file keeps exactly
    the ways an osmnx download would.

    Parameters
    ----------
    mode
        ``"drive"`` or ``"walk"``.

    Returns
    -------
    tuple
        Conditions, all of which must hold (see :func:`way_matches`).

    Raises
    ------
    ValueError
        If the mode is unknown.
    NetworkError
        If the osmnx filter cannot be read (an osmnx version this code does not know).
    """
    check_mode(mode)
    try:
        text = ox._overpass._get_network_filter(mode)
    except AttributeError as exc:  # pragma: no cover - osmnx internals moved
        msg = f"osmnx {ox.__version__} has no network filter for {mode!r}: {exc}"
        raise NetworkError(msg) from exc
    clauses = [TagClause(m["key"], m["op"], m["value"] or "") for m in _CLAUSE.finditer(text)]
    if _CLAUSE.sub("", text).strip():  # pragma: no cover - osmnx syntax changed
        msg = f"cannot read the osmnx {mode!r} filter {text!r}"
        raise NetworkError(msg)
    return tuple(clauses)


def way_matches(tags: Mapping[str, str], mode: str) -> bool:
    """Whether an OSM way with these tags belongs to the ``mode`` network.

    Parameters
    ----------
    tags
        The way's tags (any mapping with ``get``; pyosmium tag lists work).
    mode
        ``"drive"`` or ``"walk"``.

    Returns
    -------
    bool
        True if every condition of :func:`network_filter` holds.
    """
    return all(clause.test(tags) for clause in network_filter(mode))


def _file_format(path: Path) -> str:
    """Osmium format string for an OSM file, from its name."""
    name = path.name.lower()
    for ending, fmt in _FORMATS:
        if name.endswith(ending):
            return fmt
    allowed = ", ".join(ending for ending, _ in _FORMATS)
    msg = f"{path}: not an OSM file name (expected one of {allowed})"
    raise NetworkError(msg)


def _in_bbox(way: Any, bbox: BBox) -> bool:
    """Whether any node of a pyosmium way (with locations) lies inside ``bbox``."""
    left, bottom, right, top = bbox
    for ref in way.nodes:
        location = ref.location
        if location.valid() and left <= location.lon <= right and bottom <= location.lat <= top:
            return True
    return False


def _longest_run(refs: list[int], present: set[int]) -> list[int]:
    """Longest stretch of consecutive node refs whose nodes exist in the file."""
    best: list[int] = []
    run: list[int] = []
    for ref in refs:
        if ref in present:
            run.append(ref)
            if len(run) > len(best):
                best = list(run)
        else:
            run = []
    return best


def _extract_highways(path: Path, *, mode: str, bbox: BBox | None, out: Path) -> int:
    """Write the ``mode`` ways of an OSM file and their nodes to OSM XML ``out``.

    Returns the number of ways written. Ways whose nodes are missing from the file
    (cut extracts) keep their longest complete stretch.
    """
    fmt = _file_format(path)
    clauses = network_filter(mode)
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    wanted: set[int] = set()

    if bbox is None:
        reader = osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.WAY)
    else:
        entities = osmium.osm.NODE | osmium.osm.WAY
        reader = osmium.FileProcessor(osmium.io.File(str(path), fmt), entities).with_locations()
    reader = reader.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    reader = reader.with_filter(osmium.filter.KeyFilter("highway"))
    for way in reader:
        # the entity filter lets only ways through; their TagList reads like a mapping
        if not all(clause.test(way.tags) for clause in clauses):  # type: ignore[arg-type]
            continue
        if bbox is not None and not _in_bbox(way, bbox):
            continue
        refs = [ref.ref for ref in way.nodes]  # type: ignore[union-attr]
        ways.append((way.id, refs, {tag.k: tag.v for tag in way.tags}))
        wanted.update(refs)

    if not ways:
        return 0

    present: set[int] = set()
    nodes = osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE)
    nodes = nodes.with_filter(osmium.filter.IdFilter(wanted))
    written = 0
    clipped = 0
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for node in nodes:
            present.add(node.id)
            writer.add_node(node)
        for way_id, refs, tags in ways:
            kept = refs if present.issuperset(refs) else _longest_run(refs, present)
            if len(kept) < len(refs):
                clipped += 1
            if len(kept) < 2:
                continue
            writer.add_way(MutableWay(id=way_id, nodes=kept, tags=tags))
            written += 1
    if clipped:
        log.info("%s: %d way(s) referenced nodes missing from the file; clipped", path, clipped)
    return written


def _keep_largest_component(G: nx.MultiDiGraph, *, mode: str) -> nx.MultiDiGraph:
    """Largest strongly (drive) or weakly (walk) connected component, logging the loss."""
    strongly = mode == "drive"
    before = len(G)
    G = ox.truncate.largest_component(G, strongly=strongly)
    dropped = before - len(G)
    kind = "strongly" if strongly else "weakly"
    log.info(
        "kept the largest %s connected component: %d of %d nodes (%d dropped)",
        kind,
        len(G),
        before,
        dropped,
    )
    return G


def _finish(
    G: nx.MultiDiGraph,
    *,
    mode: str,
    source: str,
    largest_component: bool,
) -> nx.MultiDiGraph:
    """Component, travel times, simplification, projection and metadata for a raw graph."""
    if largest_component:
        G = _keep_largest_component(G, mode=mode)
    add_travel_times(G, mode=mode)
    if not G.graph.get("simplified"):
        G = ox.simplify_graph(G, edge_attr_aggs={"length": sum, "travel_time": sum})
    for _, _, data in G.edges(data=True):
        # merged edges carry a list of segment speeds: keep their effective speed
        if isinstance(data["speed_kph"], list):
            data["speed_kph"] = 3.6 * data["length"] / data["travel_time"]
    G = ox.project_graph(G, to_crs=BNG)
    G.graph["crs"] = BNG
    G.graph["mode"] = mode
    G.graph["source"] = source
    log.info("%s network from %s: %d nodes, %d edges", mode, source, len(G), G.number_of_edges())
    return G


def _check_bbox(bbox: BBox) -> BBox:
    """Validate a ``(left, bottom, right, top)`` WGS84 box."""
    try:
        left, bottom, right, top = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        msg = f"bbox must be (left, bottom, right, top) in degrees, not {bbox!r}"
        raise ValueError(msg) from exc
    ok = (
        all(math.isfinite(v) for v in (left, bottom, right, top))
        and -180 <= left < right <= 180
        and -90 <= bottom < top <= 90
    )
    if not ok:
        msg = f"bbox must be (left, bottom, right, top) in degrees with left < right and bottom < top, not {bbox!r}"
        raise ValueError(msg)
    return (left, bottom, right, top)


def graph_from_osm_file(
    path: str | Path,
    *,
    mode: str = "drive",
    bbox: BBox | None = None,
    largest_component: bool = True,
) -> nx.MultiDiGraph:
    """Build a road network from an OSM XML or PBF file.

    Parameters
    ----------
    path
        ``.osm`` / ``.xml`` (optionally ``.gz`` or ``.bz2``) or ``.osm.pbf`` file.
    mode
        ``"drive"`` or ``"walk"`` (osmnx network types; see :func:`network_filter`).
    bbox
        Optional ``(left, bottom, right, top)`` in WGS84 degrees: keep only the nodes
        inside it (the box is applied before simplification, as osmnx does).
    largest_component
        Keep only the largest strongly (drive) or weakly (walk) connected component.

    Returns
    -------
    networkx.MultiDiGraph
        Simplified network in EPSG:27700 with ``length``, ``speed_kph`` and
        ``travel_time`` on every edge.

    Raises
    ------
    ValueError
        If ``mode`` or ``bbox`` is invalid.
    MissingFileError
        If the file does not exist.
    NetworkError
        If the file cannot be read, is empty, or has no ways for this mode (inside
        ``bbox`` when given); the message names the file.
    """
    check_mode(mode)
    if bbox is not None:
        bbox = _check_bbox(bbox)
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what="OpenStreetMap file")
    where = f" inside bbox {bbox}" if bbox is not None else ""

    with tempfile.TemporaryDirectory(prefix="catchment-osm-") as tmp:
        extract = Path(tmp) / "highways.osm"
        try:
            n_ways = _extract_highways(path, mode=mode, bbox=bbox, out=extract)
        except (RuntimeError, ValueError, OSError) as exc:
            msg = f"{path}: cannot read as an OpenStreetMap file: {exc}"
            raise NetworkError(msg) from exc
        if n_ways == 0:
            msg = f"{path}: no highway ways for a {mode!r} network{where}"
            raise NetworkError(msg)
        log.info("%s: %d highway ways kept for a %s network%s", path, n_ways, mode, where)
        G = ox.graph_from_xml(
            extract,
            bidirectional=mode in ox.settings.bidirectional_network_types,
            simplify=False,
            retain_all=True,
        )

    if bbox is not None:
        try:
            G = ox.truncate.truncate_graph_bbox(G, bbox)
        except ValueError as exc:
            msg = f"{path}: no network nodes{where}"
            raise NetworkError(msg) from exc
    if G.number_of_edges() == 0:
        msg = f"{path}: the {mode!r} ways{where} form no usable road segments"
        raise NetworkError(msg)
    return _finish(G, mode=mode, source=str(path), largest_component=largest_component)


_DOWNLOAD_ERRORS = (
    ox._errors.InsufficientResponseError,
    ox._errors.ResponseStatusCodeError,
    requests.RequestException,
    ValueError,
    TypeError,
)


def graph_from_place(query: str, *, mode: str = "drive") -> nx.MultiDiGraph:
    """Download the road network of a named place with osmnx (needs internet).

    The place is geocoded by Nominatim (``osmnx.settings.nominatim_url``) and its
    network fetched from Overpass (``osmnx.settings.overpass_url``).

    Parameters
    ----------
    query
        Place name Nominatim resolves to a boundary polygon, e.g.
        ``"London Borough of Redbridge, UK"``.
    mode
        ``"drive"`` or ``"walk"``.

    Returns
    -------
    networkx.MultiDiGraph
        Simplified network in EPSG:27700 (largest component) with travel times.

    Raises
    ------
    ValueError
        If the mode is unknown.
    NetworkError
        If the place cannot be geocoded to a polygon or the download fails.
    """
    check_mode(mode)
    try:
        G = ox.graph_from_place(query, network_type=mode, simplify=False, retain_all=True)
    except _DOWNLOAD_ERRORS as exc:
        msg = f"cannot download a {mode!r} network for place {query!r}: {exc}"
        raise NetworkError(msg) from exc
    return _finish(G, mode=mode, source=f"place: {query}", largest_component=True)


def graph_from_bbox(bbox: BBox, *, mode: str = "drive") -> nx.MultiDiGraph:
    """Download the road network inside a WGS84 box with osmnx (needs internet).

    Parameters
    ----------
    bbox
        ``(left, bottom, right, top)`` in degrees (osmnx 2.x order).
    mode
        ``"drive"`` or ``"walk"``.

    Returns
    -------
    networkx.MultiDiGraph
        Simplified network in EPSG:27700 (largest component) with travel times.

    Raises
    ------
    ValueError
        If the mode or the box is invalid.
    NetworkError
        If the download fails or the box holds no network.
    """
    check_mode(mode)
    bbox = _check_bbox(bbox)
    try:
        G = ox.graph_from_bbox(bbox, network_type=mode, simplify=False, retain_all=True)
    except _DOWNLOAD_ERRORS as exc:
        msg = f"cannot download a {mode!r} network for bbox {bbox}: {exc}"
        raise NetworkError(msg) from exc
    return _finish(G, mode=mode, source=f"bbox: {bbox}", largest_component=True)


def downloaded_network(
    *,
    place: str | None = None,
    bbox: BBox | None = None,
    mode: str = "drive",
    refresh: bool = False,
) -> tuple[nx.MultiDiGraph, Path]:
    """The network of a place or a box: downloaded once, then read from the cache.

    The first call downloads with :func:`graph_from_place` or :func:`graph_from_bbox`
    (internet needed) and saves the network as GraphML in
    ``cache_dir()/networks/<key>.graphml``, the key hashing the query (place name or box)
    and the mode; later calls, online or not, read that file. The file is written under a
    temporary name and renamed, so an interrupted download leaves no half-written network.

    Parameters
    ----------
    place
        Place name Nominatim resolves to a boundary polygon (give ``place`` or ``bbox``).
    bbox
        ``(left, bottom, right, top)`` in degrees.
    mode
        ``"drive"`` or ``"walk"``.
    refresh
        Download again even when the cache holds the network.

    Returns
    -------
    (networkx.MultiDiGraph, pathlib.Path)
        The network and its GraphML file in the cache.

    Raises
    ------
    ValueError
        If neither or both of ``place`` and ``bbox`` are given, or the mode or the box is
        invalid.
    NetworkError
        If the network is not cached and cannot be downloaded (offline, unknown place).
    """
    from geodata.cache import hash_parts
    from geodata.settings import cache_dir

    if (place is None) == (bbox is None):
        raise ValueError("give a place or a bbox, not both or neither")
    check_mode(mode)
    if place is not None:
        query = f"place: {place}"
        fetch = functools.partial(graph_from_place, place, mode=mode)
    else:
        assert bbox is not None  # checked above
        box = _check_bbox(bbox)
        query = f"bbox: {tuple(float(v) for v in box)}"
        fetch = functools.partial(graph_from_bbox, box, mode=mode)
    key = hash_parts("osm-network-download", query, mode)
    path = cache_dir() / "networks" / f"{key}.graphml"
    if path.is_file() and not refresh:
        log.info("%s %s network: read from the cache %s (downloaded earlier)", query, mode, path)
        return graph_from_graphml(path), path
    G = fetch()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{key}.", suffix=".graphml", delete=False) as tmp:
        staging = Path(tmp.name)
    try:
        save_graph(G, staging)
        staging.replace(path)
    finally:
        staging.unlink(missing_ok=True)
    return G, path


_GRAPHML_ERRORS = (
    SyntaxError,  # includes xml.etree.ElementTree.ParseError
    nx.NetworkXError,
    ShapelyError,
    ValueError,
    KeyError,
    TypeError,
)


def save_graph(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Save a network as GraphML (osmnx format), creating parent folders.

    Parameters
    ----------
    G
        Network from one of this module's builders.
    path
        Destination file, conventionally ``*.graphml``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    ox.save_graphml(G, path)
    log.info("saved %s network (%d nodes) to %s", G.graph.get("mode"), len(G), path)
    return path


def graph_from_graphml(path: str | Path) -> nx.MultiDiGraph:
    """Load a network saved by :func:`save_graph` (or any osmnx GraphML with travel times).

    Parameters
    ----------
    path
        GraphML file.

    Returns
    -------
    networkx.MultiDiGraph
        The network with numeric ``length``, ``speed_kph`` and ``travel_time``;
        projected to EPSG:27700 if it was saved in another CRS.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    NetworkError
        If the file is not a readable GraphML network, is empty, or has edges without
        a positive finite ``travel_time`` (all such edges are counted).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what="GraphML network file")
    try:
        G = ox.load_graphml(path, graph_dtypes={"congestion_factor": float})
    except _GRAPHML_ERRORS as exc:
        msg = f"{path}: cannot read as a GraphML network: {exc}"
        raise NetworkError(msg) from exc
    if G.number_of_edges() == 0:
        msg = f"{path}: the network has no edges"
        raise NetworkError(msg)
    bad = [
        (u, v) for u, v, t in G.edges(data="travel_time") if not isinstance(t, float) or not math.isfinite(t) or t < 0
    ]
    if bad:
        msg = (
            f"{path}: {len(bad)} of {G.number_of_edges()} edges have no valid "
            f"'travel_time' (e.g. {bad[0][0]}->{bad[0][1]}); build the network with "
            "geodata.network or run geodata.speeds.add_travel_times before saving"
        )
        raise NetworkError(msg)
    crs = G.graph.get("crs")
    if crs is None:
        msg = f"{path}: the network has no 'crs' graph attribute"
        raise NetworkError(msg)
    if str(crs).upper() != BNG:
        G = ox.project_graph(G, to_crs=BNG)
        G.graph["crs"] = BNG
    G.graph.setdefault("source", str(path))
    return G
