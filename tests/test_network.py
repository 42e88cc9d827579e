"""Road networks from OSM files, GraphML round trips and travel speeds."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
from pyproj import Transformer

from geodata.errors import MissingFileError, NetworkError
from geodata.network import (
    graph_from_graphml,
    graph_from_osm_file,
    network_filter,
    save_graph,
    way_matches,
)
from geodata.speeds import (
    DEFAULT_SPEEDS_KPH,
    FALLBACK_SPEED_KPH,
    MPH_TO_KPH,
    WALK_SPEED_KPH,
    add_travel_times,
    edge_speed_kph,
    parse_maxspeed,
)

LONDON = "osm/north-london-palmers-green.osm"
RUTLAND = "osm/rutland-latest.osm.pbf"
MPH = MPH_TO_KPH


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def london_drive(real_data: Path) -> nx.MultiDiGraph:
    return graph_from_osm_file(real_data / LONDON, mode="drive")


@pytest.fixture(scope="module")
def london_walk(real_data: Path) -> nx.MultiDiGraph:
    return graph_from_osm_file(real_data / LONDON, mode="walk")


@pytest.fixture(scope="module")
def rutland_drive(real_data: Path) -> nx.MultiDiGraph:
    return graph_from_osm_file(real_data / RUTLAND, mode="drive")


def _write_osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[dict]) -> Path:
    """Write a small OSM XML file: nodes ``{id: (lat, lon)}``, ways ``{id, nodes, tags}``."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node_id, (lat, lon) in nodes.items():
        lines.append(f'  <node id="{node_id}" lat="{lat}" lon="{lon}"/>')
    for way in ways:
        lines.append(f'  <way id="{way["id"]}">')
        lines.extend(f'    <nd ref="{ref}"/>' for ref in way["nodes"])
        lines.extend(f'    <tag k="{k}" v="{v}"/>' for k, v in way["tags"].items())
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# a 3 x 2 block of streets in Palmers Green, ~110 m apart
#   1 --- 2 --- 3
#   |     |     |
#   4 --- 5 --- 6
_NODES = {
    1: (51.6200, -0.1100),
    2: (51.6200, -0.1084),
    3: (51.6200, -0.1068),
    4: (51.6190, -0.1100),
    5: (51.6190, -0.1084),
    6: (51.6190, -0.1068),
    7: (51.6185, -0.1060),
    8: (51.6180, -0.1050),
}
_WAYS = [
    {"id": 101, "nodes": [1, 2, 3], "tags": {"highway": "residential", "maxspeed": "20 mph"}},
    {"id": 102, "nodes": [4, 5, 6], "tags": {"highway": "residential"}},
    {"id": 103, "nodes": [1, 4], "tags": {"highway": "tertiary", "maxspeed": "30 mph"}},
    {"id": 104, "nodes": [3, 6], "tags": {"highway": "unclassified", "oneway": "yes"}},
    {"id": 105, "nodes": [2, 5], "tags": {"highway": "footway"}},
    {"id": 106, "nodes": [6, 7], "tags": {"highway": "service", "service": "driveway"}},
    {"id": 107, "nodes": [7, 8], "tags": {"highway": "residential", "access": "private"}},
    {"id": 108, "nodes": [5, 8], "tags": {"highway": "proposed"}},
    {"id": 109, "nodes": [1, 3, 6, 4, 1], "tags": {"building": "yes"}},
]


@pytest.fixture
def small_osm(tmp_path: Path) -> Path:
    return _write_osm(tmp_path / "block.osm", _NODES, _WAYS)


def _osmids(G: nx.MultiDiGraph) -> set[int]:
    ids: set[int] = set()
    for _, _, osmid in G.edges(data="osmid"):
        ids.update(osmid if isinstance(osmid, list) else [osmid])
    return ids


def _assert_travel_times(G: nx.MultiDiGraph) -> None:
    for u, v, data in G.edges(data=True):
        assert math.isfinite(data["travel_time"]) and data["travel_time"] > 0, (u, v, data)
        assert math.isfinite(data["speed_kph"]) and data["speed_kph"] > 0, (u, v, data)
        assert data["length"] > 0, (u, v, data)
        expected = data["length"] / (data["speed_kph"] / 3.6)
        assert data["travel_time"] == pytest.approx(expected, rel=1e-9)


def _assert_bng(G: nx.MultiDiGraph, *, east: tuple[float, float], north: tuple[float, float]) -> None:
    assert G.graph["crs"] == "EPSG:27700"
    xs = [x for _, x in G.nodes(data="x")]
    ys = [y for _, y in G.nodes(data="y")]
    assert east[0] < min(xs) and max(xs) < east[1]
    assert north[0] < min(ys) and max(ys) < north[1]


# ---------------------------------------------------------------------- real files


def test_london_drive_network(london_drive: nx.MultiDiGraph, real_data: Path) -> None:
    G = london_drive
    # measured: 824 nodes, 1,880 edges (largest strongly connected component)
    assert 700 < len(G) < 1000
    assert 1600 < G.number_of_edges() < 2200
    assert G.graph["mode"] == "drive"
    assert G.graph["source"] == str(real_data / LONDON)
    _assert_bng(G, east=(527_000, 535_000), north=(190_000, 197_000))
    assert nx.is_strongly_connected(G)
    _assert_travel_times(G)
    # one-way streets stay one-way
    assert any(not G.has_edge(v, u) for u, v in G.edges())
    highways: set[str] = set()
    for _, _, hwy in G.edges(data="highway"):
        highways.update(hwy if isinstance(hwy, list) else [hwy])
    assert {"primary", "residential", "trunk"} <= highways
    assert not highways & {"footway", "cycleway", "steps", "service", "path", "proposed"}


def test_london_drive_uses_tagged_limits(london_drive: nx.MultiDiGraph) -> None:
    # edges made from one OSM way (a merged edge may mix tagged and untagged ways)
    tagged = [
        d for *_, d in london_drive.edges(data=True) if d.get("maxspeed") == "20 mph" and isinstance(d["osmid"], int)
    ]
    assert len(tagged) > 100
    for data in tagged:
        assert data["speed_kph"] == pytest.approx(20 * MPH)


def test_london_walk_network(london_walk: nx.MultiDiGraph, london_drive: nx.MultiDiGraph) -> None:
    G = london_walk
    # measured: 3,423 nodes, 8,702 edges
    assert 3000 < len(G) < 4000
    assert 7500 < G.number_of_edges() < 10000
    assert len(G) > len(london_drive)
    assert G.graph["mode"] == "walk"
    _assert_bng(G, east=(527_000, 535_000), north=(190_000, 197_000))
    assert nx.is_weakly_connected(G)
    _assert_travel_times(G)
    assert all(G.has_edge(v, u) for u, v in G.edges())  # every edge two-way
    assert all(s == pytest.approx(WALK_SPEED_KPH) for *_, s in G.edges(data="speed_kph"))
    highways: set[str] = set()
    for _, _, hwy in G.edges(data="highway"):
        highways.update(hwy if isinstance(hwy, list) else [hwy])
    assert "footway" in highways
    assert not highways & {"motorway", "cycleway", "proposed"}


def test_rutland_pbf_drive_network(rutland_drive: nx.MultiDiGraph, real_data: Path) -> None:
    G = rutland_drive
    # measured: 2,515 nodes, 5,717 edges
    assert 2000 < len(G) < 3200
    assert 4500 < G.number_of_edges() < 7000
    assert G.graph["source"] == str(real_data / RUTLAND)
    _assert_bng(G, east=(470_000, 515_000), north=(290_000, 325_000))
    assert nx.is_strongly_connected(G)
    _assert_travel_times(G)
    # the A1 is tagged 70 mph in Rutland: the fastest edges must be that fast
    assert max(s for *_, s in G.edges(data="speed_kph")) == pytest.approx(70 * MPH)


def test_bbox_keeps_only_nodes_inside(real_data: Path, london_drive: nx.MultiDiGraph) -> None:
    bbox = (-0.125, 51.605, -0.105, 51.620)
    G = graph_from_osm_file(real_data / LONDON, mode="drive", bbox=bbox)
    assert 0 < len(G) < len(london_drive)
    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    for _, data in G.nodes(data=True):
        lon, lat = to_wgs84.transform(data["x"], data["y"])
        assert bbox[0] - 1e-6 <= lon <= bbox[2] + 1e-6
        assert bbox[1] - 1e-6 <= lat <= bbox[3] + 1e-6
    _assert_travel_times(G)


def test_graphml_round_trip(london_drive: nx.MultiDiGraph, tmp_path: Path) -> None:
    path = save_graph(london_drive, tmp_path / "nested" / "london.graphml")
    assert path.is_file()
    G = graph_from_graphml(path)
    assert len(G) == len(london_drive)
    assert G.number_of_edges() == london_drive.number_of_edges()
    assert G.graph["crs"] == "EPSG:27700"
    assert G.graph["mode"] == "drive"
    assert G.graph["source"] == london_drive.graph["source"]
    for u, v, k, data in london_drive.edges(keys=True, data=True):
        loaded = G.edges[u, v, k]
        assert isinstance(loaded["travel_time"], float)
        assert loaded["travel_time"] == pytest.approx(data["travel_time"], rel=1e-12)
        assert loaded["length"] == pytest.approx(data["length"], rel=1e-12)
    for n, data in london_drive.nodes(data=True):
        assert G.nodes[n]["x"] == pytest.approx(data["x"])


# ------------------------------------------------------------- filters on a small file


def test_small_file_drive_filter_and_oneway(small_osm: Path) -> None:
    G = graph_from_osm_file(small_osm, mode="drive", largest_component=False)
    # footway, driveway, private road, proposed road and the building are all left out
    assert _osmids(G) == {101, 102, 103, 104}
    oneway = [(u, v) for u, v, osmid in G.edges(data="osmid") if osmid == 104]
    assert oneway == [(3, 6)]
    assert G.graph["crs"] == "EPSG:27700"
    _assert_travel_times(G)


def test_small_file_travel_time_is_sum_of_segments(small_osm: Path) -> None:
    """Each OSM segment keeps its own speed; simplification sums the times."""
    G = graph_from_osm_file(small_osm, mode="drive")
    # nodes 5, 4, 1, 2 are interstitial: 6 -> 3 becomes one edge through them

    def metres(a: int, b: int) -> float:
        (lat1, lon1), (lat2, lon2) = _NODES[a], _NODES[b]
        return float(ox.distance.great_circle(lat1, lon1, lat2, lon2))

    residential = DEFAULT_SPEEDS_KPH["residential"] / 3.6
    expected = (
        (metres(6, 5) + metres(5, 4)) / residential  # way 102, untagged
        + metres(4, 1) / (30 * MPH / 3.6)  # way 103, 30 mph
        + (metres(1, 2) + metres(2, 3)) / (20 * MPH / 3.6)  # way 101, 20 mph
    )
    (data,) = G.get_edge_data(6, 3).values()
    assert sorted(data["osmid"]) == [101, 102, 103]
    assert data["travel_time"] == pytest.approx(expected, rel=1e-9)
    assert data["speed_kph"] == pytest.approx(3.6 * data["length"] / expected)


def test_small_file_drive_component_is_strong(small_osm: Path) -> None:
    G = graph_from_osm_file(small_osm, mode="drive")
    assert nx.is_strongly_connected(G)
    # the one-way 3 -> 6 keeps the block strongly connected through 6 -> 5 -> 4 -> 1 -> 2 -> 3
    assert {3, 6} <= set(G.nodes)


def test_small_file_walk_filter(small_osm: Path) -> None:
    G = graph_from_osm_file(small_osm, mode="walk", largest_component=False)
    assert _osmids(G) == {101, 102, 103, 104, 105, 106}
    assert all(G.has_edge(v, u) for u, v in G.edges())
    assert all(s == pytest.approx(WALK_SPEED_KPH) for *_, s in G.edges(data="speed_kph"))


@pytest.mark.parametrize(
    ("tags", "drive", "walk"),
    [
        ({"highway": "residential"}, True, True),
        ({"highway": "motorway"}, True, False),
        ({"highway": "motorway_link"}, True, False),
        ({"highway": "footway"}, False, True),
        ({"highway": "steps"}, False, True),
        ({"highway": "cycleway"}, False, False),
        ({"highway": "service"}, False, True),
        ({"highway": "service", "service": "driveway"}, False, True),
        ({"highway": "residential", "access": "private"}, False, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False, True),
        ({"highway": "residential", "area": "yes"}, False, False),
        ({"highway": "footway", "foot": "no"}, False, False),
        ({"highway": "primary", "sidewalk": "separate"}, True, False),
        ({"highway": "proposed"}, False, False),
        ({"building": "yes"}, False, False),
    ],
)
def test_way_matches_osmnx_filters(tags: dict[str, str], drive: bool, walk: bool) -> None:
    assert way_matches(tags, "drive") is drive
    assert way_matches(tags, "walk") is walk


def test_network_filter_reads_osmnx_definition() -> None:
    keys = {clause.key for clause in network_filter("drive")}
    assert {"highway", "area", "access", "motor_vehicle", "motorcar", "service"} <= keys
    assert "foot" in {clause.key for clause in network_filter("walk")}


# ------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"nowhere\.osm"):
        graph_from_osm_file(tmp_path / "nowhere.osm")
    with pytest.raises(MissingFileError, match=r"nowhere\.graphml"):
        graph_from_graphml(tmp_path / "nowhere.graphml")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.osm", "", "cannot read"),
        ("garbage.osm", "this is not xml", "cannot read"),
        ("garbage.osm.pbf", "not a pbf", "cannot read"),
        ("wrong.txt", "<osm/>", "not an OSM file name"),
        (
            "nodes.osm",
            '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="51.6" lon="-0.1"/></osm>',
            "no highway ways",
        ),
    ],
)
def test_unreadable_files_name_the_file(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NetworkError, match=message) as info:
        graph_from_osm_file(path)
    assert str(path) in str(info.value)


def test_no_ways_for_mode(tmp_path: Path) -> None:
    path = _write_osm(tmp_path / "paths.osm", _NODES, [w for w in _WAYS if w["id"] == 105])
    with pytest.raises(NetworkError, match="no highway ways for a 'drive' network"):
        graph_from_osm_file(path, mode="drive")
    assert len(graph_from_osm_file(path, mode="walk")) == 2


def test_way_with_missing_nodes_is_clipped(tmp_path: Path) -> None:
    """A way cut by an extract's edge keeps its stretch of nodes present in the file."""
    ways = [{"id": 1, "nodes": [99, 1, 2, 3, 98], "tags": {"highway": "residential"}}]
    G = graph_from_osm_file(_write_osm(tmp_path / "cut.osm", _NODES, ways), mode="drive")
    assert set(G.nodes) == {1, 3}
    assert G.number_of_edges() == 2
    _assert_travel_times(G)


def test_bbox_without_network(small_osm: Path) -> None:
    with pytest.raises(NetworkError, match="inside bbox"):
        graph_from_osm_file(small_osm, bbox=(1.0, 52.0, 1.1, 52.1))


def test_unknown_mode_lists_allowed(small_osm: Path) -> None:
    with pytest.raises(ValueError, match="'drive', 'walk'"):
        graph_from_osm_file(small_osm, mode="bike")
    with pytest.raises(ValueError, match="'drive', 'walk'"):
        edge_speed_kph({"highway": "residential"}, mode="fly")


def test_bad_bbox(small_osm: Path) -> None:
    with pytest.raises(ValueError, match="left < right"):
        graph_from_osm_file(small_osm, bbox=(-0.1, 51.7, -0.2, 51.6))


@pytest.mark.parametrize("content", ["", "not xml", '<?xml version="1.0"?><root/>'])
def test_unreadable_graphml(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.graphml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NetworkError, match=r"bad\.graphml"):
        graph_from_graphml(path)


def test_graphml_without_travel_times(small_osm: Path, tmp_path: Path) -> None:
    G = graph_from_osm_file(small_osm, mode="drive")
    for _, _, data in G.edges(data=True):
        del data["travel_time"]
    path = save_graph(G, tmp_path / "no-times.graphml")
    with pytest.raises(NetworkError, match=r"no-times.graphml: \d+ of \d+ edges have no valid"):
        graph_from_graphml(path)


# ------------------------------------------------------------------------- speeds


@pytest.mark.parametrize(
    ("value", "highway", "dual", "expected"),
    [
        ("30 mph", None, False, 30 * MPH),
        ("30mph", None, False, 30 * MPH),
        ("20 MPH", None, False, 20 * MPH),
        ("20", None, False, 20 * MPH),  # bare number: UK limits are in mph
        ("50 km/h", None, False, 50.0),
        ("50 kph", None, False, 50.0),
        ("50kmh", None, False, 50.0),
        ("10 knots", None, False, 18.52),
        ("national", "primary", False, 60 * MPH),
        ("national", "motorway", False, 70 * MPH),
        ("national", "motorway_link", False, 70 * MPH),
        ("national", "trunk", True, 70 * MPH),
        ("national", "trunk", False, 60 * MPH),
        ("national", "residential", True, 60 * MPH),
        ("GB:nsl_single", None, False, 60 * MPH),
        ("GB:nsl_dual", None, False, 70 * MPH),
        ("GB:motorway", None, False, 70 * MPH),
        ("GB:zone20", None, False, 20 * MPH),
        ("GB:zone30", None, False, 30 * MPH),
        ("UK:nsl_single", None, False, 60 * MPH),
        ("walk", None, False, WALK_SPEED_KPH),
        ("30 mph;20 mph", None, False, 25 * MPH),  # several values: mean
        ("40|30", None, False, 35 * MPH),  # per-lane values: mean
        ("30 mph;signals", None, False, 30 * MPH),  # unreadable parts ignored
        (["30 mph", "20 mph"], None, False, 25 * MPH),  # simplified edge: mean
        ("signals", None, False, None),
        ("none", None, False, None),
        ("variable", None, False, None),
        ("fast", None, False, None),
        ("0", None, False, None),
        ("", None, False, None),
        (None, None, False, None),
        (float("nan"), None, False, None),
    ],
)
def test_parse_maxspeed(value, highway, dual, expected) -> None:
    result = parse_maxspeed(value, highway=highway, dual_carriageway=dual)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_parse_maxspeed_bare_kph() -> None:
    assert parse_maxspeed("50", bare_unit="kph") == pytest.approx(50.0)
    with pytest.raises(ValueError, match="bare_unit"):
        parse_maxspeed("50", bare_unit="furlongs")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"highway": "residential"}, DEFAULT_SPEEDS_KPH["residential"]),
        ({"highway": "motorway"}, 70 * MPH),
        ({"highway": "residential", "maxspeed": "signals"}, DEFAULT_SPEEDS_KPH["residential"]),
        ({"highway": "trunk", "maxspeed": "national", "oneway": True}, 70 * MPH),
        (
            {"highway": "trunk", "maxspeed": "national", "oneway": True, "junction": "roundabout"},
            60 * MPH,
        ),
        ({"highway": "trunk", "maxspeed": "national", "oneway": "True"}, 70 * MPH),
        ({"highway": "trunk", "maxspeed": "national", "oneway": False}, 60 * MPH),
        (
            {"highway": ["residential", "tertiary"]},
            (DEFAULT_SPEEDS_KPH["residential"] + DEFAULT_SPEEDS_KPH["tertiary"]) / 2,
        ),
        ({"highway": ["motorway", "motorway_link"], "maxspeed": "national"}, 70 * MPH),
        ({"highway": "spaceport"}, FALLBACK_SPEED_KPH),
        ({}, FALLBACK_SPEED_KPH),
    ],
)
def test_edge_speed_drive(data: dict, expected: float) -> None:
    assert edge_speed_kph(data, mode="drive") == pytest.approx(expected)


def test_edge_speed_overrides_and_walk() -> None:
    assert edge_speed_kph({"highway": "residential"}, mode="drive", speeds={"residential": 25}) == 25
    # a tagged limit wins over the table
    tagged = {"highway": "residential", "maxspeed": "20 mph"}
    assert edge_speed_kph(tagged, mode="drive", speeds={"residential": 25}) == pytest.approx(20 * MPH)
    assert edge_speed_kph({"highway": "motorway", "maxspeed": "70 mph"}, mode="walk") == WALK_SPEED_KPH
    assert edge_speed_kph({"highway": "steps"}, mode="walk", speeds={"steps": 2.0}) == 2.0


def _two_edge_graph() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:27700")
    G.add_edge(1, 2, length=1000.0, highway="residential", maxspeed="30 mph")
    G.add_edge(2, 1, length=500.0, highway="motorway")
    return G


def test_add_travel_times_drive_and_congestion() -> None:
    G = add_travel_times(_two_edge_graph(), mode="drive")
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(1000 / (30 * MPH / 3.6))
    assert G.edges[2, 1, 0]["travel_time"] == pytest.approx(500 / (70 * MPH / 3.6))
    slow = add_travel_times(_two_edge_graph(), mode="drive", congestion_factor=0.5)
    assert slow.edges[1, 2, 0]["travel_time"] == pytest.approx(2 * G.edges[1, 2, 0]["travel_time"])
    assert slow.graph["congestion_factor"] == 0.5


def test_add_travel_times_walk() -> None:
    G = add_travel_times(_two_edge_graph(), mode="walk", congestion_factor=0.5)
    assert G.edges[1, 2, 0]["travel_time"] == pytest.approx(1000 / (4.8 / 3.6))
    assert G.graph["congestion_factor"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"congestion_factor": 0}, "congestion_factor"),
        ({"congestion_factor": 1.5}, "congestion_factor"),
        ({"speeds": {"residential": -5, "motorway": float("inf")}}, "'residential'.*'motorway'"),
        ({"mode": "boat"}, "'drive', 'walk'"),
    ],
)
def test_add_travel_times_rejects_bad_options(kwargs: dict, message: str) -> None:
    options = {"mode": "drive", **kwargs}
    with pytest.raises(ValueError, match=message):
        add_travel_times(_two_edge_graph(), **options)


def test_add_travel_times_needs_lengths() -> None:
    G = _two_edge_graph()
    G.add_edge(3, 4, highway="residential")
    G.add_edge(4, 3, highway="residential", length=float("nan"))
    with pytest.raises(NetworkError, match="2 edge"):
        add_travel_times(G, mode="drive")
