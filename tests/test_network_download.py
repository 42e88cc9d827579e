"""Downloading networks by place and by bbox, against a local fake Nominatim/Overpass.

The server runs on 127.0.0.1 in a thread and answers with responses written by hand
below (a 3 x 3 block of streets); osmnx is pointed at it through ``osmnx.settings``,
which the fixture restores afterwards. No request leaves the machine.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import networkx as nx
import osmnx as ox
import pytest

from geodata.errors import NetworkError
from geodata.network import graph_from_bbox, graph_from_place
from geodata.speeds import MPH_TO_KPH, WALK_SPEED_KPH

# 3 x 3 street grid, ~110 m apart, ids row by row:
#   11 - 12 - 13
#   |    :    |        ":" is a footway (walk only); 13 -> 16 -> 19 is one-way
#   14 - 15 - 16
#   |    :    |
#   17 - 18 - 19 ------ 20 (1 km north-east, outside the place and the bbox)
_LATS = (51.6200, 51.6190, 51.6180)
_LONS = (-0.1100, -0.1084, -0.1068)
_GRID = {11 + 3 * r + c: (lat, lon) for r, lat in enumerate(_LATS) for c, lon in enumerate(_LONS)}
_OUTSIDE = {20: (51.6290, -0.0950)}

_DRIVE_WAYS: list[dict[str, Any]] = [
    {"id": 201, "nodes": [11, 12, 13], "tags": {"highway": "residential", "maxspeed": "20 mph"}},
    {"id": 202, "nodes": [14, 15, 16], "tags": {"highway": "tertiary", "maxspeed": "30 mph"}},
    {"id": 203, "nodes": [17, 18, 19], "tags": {"highway": "residential"}},
    {"id": 204, "nodes": [11, 14, 17], "tags": {"highway": "residential"}},
    {"id": 205, "nodes": [13, 16, 19], "tags": {"highway": "unclassified", "oneway": "yes"}},
    {"id": 207, "nodes": [19, 20], "tags": {"highway": "secondary"}},
]
_FOOTWAY = {"id": 206, "nodes": [12, 15, 18], "tags": {"highway": "footway"}}

# place polygon around the grid, leaving node 20 outside
_PLACE_RING = [
    [-0.1110, 51.6170],
    [-0.1055, 51.6170],
    [-0.1055, 51.6210],
    [-0.1110, 51.6210],
    [-0.1110, 51.6170],
]
_PLACE_RESULT = {
    "place_id": 1,
    "licence": "hand-written test data",
    "osm_type": "relation",
    "osm_id": 990001,
    "lat": "51.6190",
    "lon": "-0.1084",
    "class": "boundary",
    "type": "administrative",
    "place_rank": 20,
    "importance": 0.5,
    "addresstype": "suburb",
    "name": "Testgreen",
    "display_name": "Testgreen, London, England",
    "boundingbox": ["51.6170", "51.6210", "-0.1110", "-0.1055"],
    "geojson": {"type": "Polygon", "coordinates": [_PLACE_RING]},
}
_BBOX = (-0.1110, 51.6170, -0.1055, 51.6210)


def _overpass_elements(ways: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overpass JSON elements: the nodes used by ``ways``, then the ways."""
    coords = {**_GRID, **_OUTSIDE}
    used = sorted({n for way in ways for n in way["nodes"]})
    nodes = [{"type": "node", "id": n, "lat": coords[n][0], "lon": coords[n][1]} for n in used]
    return nodes + [{"type": "way", **way} for way in ways]


@dataclass
class FakeOsmServer:
    """State of the fake server: canned answers and the requests received."""

    url: str = ""
    nominatim_results: list[dict[str, Any]] = field(default_factory=list)
    overpass_elements: list[dict[str, Any]] = field(default_factory=list)
    overpass_status: int = 200
    searches: list[dict[str, list[str]]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)


def _handler(state: FakeOsmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/nominatim/search":
                state.searches.append(parse_qs(url.query))
                self._send(200, json.dumps(state.nominatim_results), "application/json")
            elif url.path == "/api/status":
                self._send(200, "Connected as: 1\n\n\n\n2 slots available now.\n", "text/plain")
            else:
                self._send(404, "not found", "text/plain")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode("utf-8"))
            if urlparse(self.path).path != "/api/interpreter":
                self._send(404, "not found", "text/plain")
                return
            state.queries.append(form["data"][0])
            if state.overpass_status != 200:
                self._send(state.overpass_status, "runtime error: out of memory", "text/plain")
                return
            body = {"version": 0.6, "generator": "test", "elements": state.overpass_elements}
            self._send(200, json.dumps(body), "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep pytest output clean

    return Handler


@pytest.fixture
def fake_osm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOsmServer]:
    """A local Nominatim + Overpass; osmnx settings point at it for one test."""
    state = FakeOsmServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    host, port = server.server_address[:2]
    state.url = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    monkeypatch.setattr(ox.settings, "nominatim_url", f"{state.url}/nominatim/")
    monkeypatch.setattr(ox.settings, "overpass_url", f"{state.url}/api")
    monkeypatch.setattr(ox.settings, "use_cache", False)  # never read or write responses
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)  # no /status pause
    monkeypatch.setattr(ox.settings, "requests_timeout", 10)
    # osmnx pins the Overpass host's address by replacing socket.getaddrinfo: undo it
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _osmids(G: nx.MultiDiGraph) -> set[int]:
    ids: set[int] = set()
    for _, _, osmid in G.edges(data="osmid"):
        ids.update(osmid if isinstance(osmid, list) else [osmid])
    return ids


def test_graph_from_place_drive(fake_osm: FakeOsmServer) -> None:
    fake_osm.nominatim_results = [_PLACE_RESULT]
    fake_osm.overpass_elements = _overpass_elements(_DRIVE_WAYS)

    G = graph_from_place("Testgreen, London", mode="drive")

    assert fake_osm.searches[0]["q"] == ["Testgreen, London"]
    assert len(fake_osm.queries) == 1
    assert '["motorcar"!~"no"]' in fake_osm.queries[0]  # osmnx's drive filter was sent
    assert G.graph["crs"] == "EPSG:27700"
    assert G.graph["mode"] == "drive"
    assert G.graph["source"] == "place: Testgreen, London"
    # node 20 lies outside the place; corners and mid-block nodes are simplified away
    assert set(G.nodes) == {13, 14, 16, 19}
    assert G.number_of_edges() == 8
    assert nx.is_strongly_connected(G)
    assert _osmids(G) == {201, 202, 203, 204, 205}
    assert G.has_edge(13, 16) and not G.has_edge(16, 13)  # one-way kept
    for _, _, data in G.edges(data=True):
        assert data["travel_time"] > 0
        assert data["travel_time"] == pytest.approx(data["length"] / (data["speed_kph"] / 3.6))
    (tertiary,) = G.get_edge_data(14, 16).values()
    assert tertiary["speed_kph"] == pytest.approx(30 * MPH_TO_KPH)
    # simple easting/northing sanity: north London in British National Grid metres
    assert all(530_500 < x < 531_500 for _, x in G.nodes(data="x"))
    assert all(192_500 < y < 193_200 for _, y in G.nodes(data="y"))


def test_graph_from_bbox_walk(fake_osm: FakeOsmServer) -> None:
    fake_osm.overpass_elements = _overpass_elements([*_DRIVE_WAYS, _FOOTWAY])

    G = graph_from_bbox(_BBOX, mode="walk")

    assert fake_osm.searches == []  # a bbox needs no geocoding
    assert '["foot"!~"no"]' in fake_osm.queries[0]  # osmnx's walk filter was sent
    assert G.graph["mode"] == "walk"
    assert G.graph["source"] == f"bbox: {_BBOX}"
    assert G.graph["crs"] == "EPSG:27700"
    assert 20 not in G
    assert 206 in _osmids(G)
    assert all(G.has_edge(v, u) for u, v in G.edges())  # one-way street walkable both ways
    assert all(s == pytest.approx(WALK_SPEED_KPH) for *_, s in G.edges(data="speed_kph"))
    assert nx.is_weakly_connected(G)


def test_place_not_found(fake_osm: FakeOsmServer) -> None:
    fake_osm.nominatim_results = []
    with pytest.raises(NetworkError, match="place 'Nowhere at all'"):
        graph_from_place("Nowhere at all", mode="drive")
    assert fake_osm.queries == []


def test_overpass_failure(fake_osm: FakeOsmServer) -> None:
    fake_osm.overpass_status = 500
    with pytest.raises(NetworkError, match="cannot download a 'drive' network for bbox"):
        graph_from_bbox(_BBOX, mode="drive")


def test_download_argument_checks() -> None:
    with pytest.raises(ValueError, match="'drive', 'walk'"):
        graph_from_place("Anywhere", mode="tram")
    with pytest.raises(ValueError, match="left < right"):
        graph_from_bbox((0.1, 51.6, 0.0, 51.7), mode="drive")


def test_downloaded_network_is_cached_and_reused_offline(fake_osm: FakeOsmServer, tmp_path, monkeypatch) -> None:
    from geodata.network import downloaded_network

    monkeypatch.setenv("CATCHMENT_CACHE_DIR", str(tmp_path / "cache"))
    fake_osm.nominatim_results = [_PLACE_RESULT]
    fake_osm.overpass_elements = _overpass_elements(_DRIVE_WAYS)
    G, path = downloaded_network(place="Testgreen, London", mode="drive")
    assert path.is_file() and path.suffix == ".graphml" and path.parent.name == "networks"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    assert len(fake_osm.queries) == 1
    # offline: the server refuses everything, the cached network is read
    fake_osm.overpass_status = 500
    fake_osm.nominatim_results = []
    again, same = downloaded_network(place="Testgreen, London", mode="drive")
    assert same == path and len(fake_osm.queries) == 1
    assert set(again.nodes) == set(G.nodes) and again.number_of_edges() == G.number_of_edges()
    # another query (mode, or a box) is another entry, and needs the server
    with pytest.raises(NetworkError, match="cannot download a 'walk' network"):
        downloaded_network(place="Testgreen, London", mode="walk")
    with pytest.raises(NetworkError, match="bbox"):
        downloaded_network(bbox=_BBOX, mode="drive")
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    with pytest.raises(ValueError, match="a place or a bbox"):
        downloaded_network(place="Testgreen", bbox=_BBOX)


def test_scenario_network_by_place_is_downloaded_then_read_offline(
    fake_osm: FakeOsmServer, tmp_path, monkeypatch, real_data
) -> None:
    from catchment.build import build_from_scenario
    from catchment.scenario import parse_scenario

    monkeypatch.setenv("CATCHMENT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "units.csv").write_text(
        "id,population,longitude,latitude\nU1,60000,-0.1099,51.6199\nU2,60000,-0.1069,51.6181\n"
    )
    (tmp_path / "sites.csv").write_text(
        "site_id,name,site_type,longitude,latitude\nS1,Hub one,community,-0.1084,51.6190\n"
        "S2,Hub two,community,-0.1099,51.6181\n"
    )
    raw = {
        "units": {"file": str(tmp_path / "units.csv")},
        "sites": {"file": str(tmp_path / "sites.csv"), "hospitals_within_m": 0},
        "travel": {"source": "network", "network": {"place": "Testgreen, London"}, "mode": "drive"},
        "rules": {"floor": 50_000},
    }
    fake_osm.nominatim_results = [_PLACE_RESULT]
    fake_osm.overpass_elements = _overpass_elements(_DRIVE_WAYS)
    built = build_from_scenario(parse_scenario(raw), data_dir=real_data, cache=False)
    assert built.problem.travel_source == "network" and len(fake_osm.queries) == 1
    cached = list((tmp_path / "cache" / "networks").glob("*.graphml"))
    assert len(cached) == 1 and str(cached[0]) in built.input_files
    fake_osm.overpass_status = 500  # offline now: the cached network is read
    fake_osm.nominatim_results = []
    again = build_from_scenario(parse_scenario(raw), data_dir=real_data, cache=False)
    assert len(fake_osm.queries) == 1
    assert (again.problem.travel_min == built.problem.travel_min).all()
