"""Travel-time matrices: network (scipy, one or more processes), cache, user files, crow-fly estimates."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

import geodata.travel as travel
from geodata.cache import entry_paths
from geodata.errors import InputDataError, MissingFileError, NetworkError, SnapWarning, TravelTimeError
from geodata.settings import BNG, MAX_PARALLEL, MAX_TRAVEL_MIN, WGS84, cache_dir, usable_cores
from geodata.snap import snap_points
from geodata.travel import TravelTimes, crow_fly_matrix, read_travel_matrix, road_arrays, travel_time_matrix
from solvers.distributed import default_workers

WALK_M_PER_MIN = 4.8 * 1000 / 60
BENCH = Path(__file__).resolve().parents[1] / "bench" / "travel_times.py"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def london(real_data):
    """The real Palmers Green OSM graph with osmnx speeds, projected to EPSG:27700."""
    import osmnx as ox

    G = ox.graph_from_xml(real_data / "osm" / "north-london-palmers-green.osm")
    G = ox.routing.add_edge_speeds(G)
    G = ox.routing.add_edge_travel_times(G)
    return ox.project_graph(G, to_crs=BNG)


@pytest.fixture(scope="module")
def london_points(real_data):
    """Real LSOA population-weighted centroids (origins) and GP practices (destinations)."""
    cents = pd.read_csv(real_data / "england" / "lsoa11-population-weighted-centroids.csv", encoding="utf-8-sig")
    cents = cents[cents["Y"].between(51.605, 51.625) & cents["X"].between(-0.15, -0.105)]
    gps = pd.read_csv(real_data / "england" / "nhs-choices-gp_2019.csv", sep="¬", encoding="latin-1", engine="python")
    gps = gps[gps["Latitude"].between(51.605, 51.625) & gps["Longitude"].between(-0.15, -0.105)]
    gps = gps.drop_duplicates("OrganisationCode")
    origins = gpd.GeoSeries(gpd.points_from_xy(cents["X"], cents["Y"]), index=cents["lsoa11cd"].to_numpy(), crs=WGS84)
    dests = gpd.GeoDataFrame(
        {"name": gps["OrganisationName"].to_numpy()},
        geometry=gpd.points_from_xy(gps["Longitude"], gps["Latitude"]),
        index=gps["OrganisationCode"].to_numpy(),
        crs=WGS84,
    )
    assert len(origins) >= 20 and len(dests) >= 8
    return origins, dests


def line_graph() -> nx.MultiDiGraph:
    """A -- B -- C two-way (60 s, 120 s), B -> D one way (30 s), D a dead end; E isolated.

    Nodes are 1 km apart on a line at y = 190000 (D and E north of B and C).
    """
    G = nx.MultiDiGraph(crs=BNG, mode="drive", source="/data/toy.osm")
    coords = {"A": (530_000, 190_000), "B": (531_000, 190_000), "C": (532_000, 190_000),
              "D": (531_000, 191_000), "E": (532_000, 191_000)}  # fmt: skip
    for n, (x, y) in coords.items():
        G.add_node(n, x=float(x), y=float(y))
    for u, v, t in (("A", "B", 60.0), ("B", "C", 120.0)):
        G.add_edge(u, v, length=1000.0, travel_time=t)
        G.add_edge(v, u, length=1000.0, travel_time=t)
    G.add_edge("B", "C", length=1500.0, travel_time=200.0)  # slower parallel edge: min is used
    G.add_edge("B", "D", length=1000.0, travel_time=30.0)
    return G


class DijkstraSpy:
    """Counts calls to scipy's dijkstra made by geodata.travel."""

    def __init__(self, monkeypatch):
        self.calls = 0
        self.sources = 0
        self._real = travel.dijkstra
        monkeypatch.setattr(travel, "dijkstra", self)

    def __call__(self, graph, **kwargs):
        self.calls += 1
        self.sources += len(kwargs["indices"])
        return self._real(graph, **kwargs)


# --------------------------------------------------------------------------- network matrix


def test_real_network_matches_networkx(london, london_points):
    origins, dests = london_points
    tt = travel_time_matrix(london, origins, dests, progress=False)
    assert tt.source == "network" and not tt.is_estimate
    assert tt.origin_ids == tuple(origins.index) and tt.destination_ids == tuple(dests.index)
    assert tt.minutes.shape == (len(origins), len(dests))
    assert tt.minutes.dtype == np.float64 and not tt.minutes.flags.writeable
    assert "4,197 nodes" in tt.description
    o_snap = snap_points(london, origins)
    d_snap = snap_points(london, dests)
    np.testing.assert_allclose(tt.origin_snap_m, o_snap["snap_m"])
    np.testing.assert_allclose(tt.destination_snap_m, d_snap["snap_m"])
    rng = np.random.default_rng(7)
    pairs = np.column_stack([rng.integers(len(origins), size=40), rng.integers(len(dests), size=40)]).tolist()
    checked = 0
    for i, j in pairs:
        o_node, d_node = o_snap["node"].iloc[i], d_snap["node"].iloc[j]
        access = (o_snap["snap_m"].iloc[i] + d_snap["snap_m"].iloc[j]) / WALK_M_PER_MIN
        try:
            expected = nx.shortest_path_length(london, o_node, d_node, weight="travel_time") / 60
        except nx.NetworkXNoPath:
            assert np.isinf(tt.minutes[i, j])
            continue
        assert tt.minutes[i, j] - access == pytest.approx(expected, abs=1e-6)
        checked += 1
    assert checked >= 30
    assert np.isfinite(tt.minutes).mean() > 0.9
    assert (tt.minutes > 0).all()


def test_searches_from_the_smaller_side_agree(london, london_points, monkeypatch):
    origins, dests = london_points
    full = travel_time_matrix(london, origins, dests, cache=False, progress=False)
    spy = DijkstraSpy(monkeypatch)
    # 2 origins, ~10 destinations: trees grow forward from the origins instead
    few = travel_time_matrix(london, origins.iloc[:2], dests, cache=False, progress=False)
    assert spy.sources == 2
    np.testing.assert_allclose(few.minutes, full.minutes[:2], rtol=0, atol=1e-9)
    # destinations sharing a node are searched once
    twice = pd.concat([dests, dests.set_axis([f"{i}-bis" for i in dests.index])])
    both = travel_time_matrix(london, origins, twice, cache=False, progress=False)
    assert spy.sources == 2 + len(set(snap_points(london, dests)["node"]))
    np.testing.assert_array_equal(both.minutes[:, len(dests) :], full.minutes)


def test_unreachable_pairs_are_inf_and_listed(caplog):
    G = line_graph()
    origins = np.array([[530_000.0, 190_000.0], [531_000.0, 191_010.0], [532_000.0, 190_000.0]])
    dests = np.array([[531_000.0, 191_000.0], [530_000.0, 190_020.0], [532_000.0, 191_000.0]])
    with caplog.at_level(logging.WARNING, logger="geodata.travel"):
        tt = travel_time_matrix(G, origins, dests, origin_ids=["a", "d", "c"], destination_ids=["D", "A", "E"])
    assert tt.description == "drive network toy.osm, 5 nodes, 5 arcs"
    m = tt.minutes
    # a -> D: A-B 60 s + B-D 30 s; access 0 + 0
    assert m[0, 0] == pytest.approx(1.5)
    # a -> A: same node, only the 20 m access leg at the destination
    assert m[0, 1] == pytest.approx(20 / WALK_M_PER_MIN)
    # c -> D: C-B 120 s (the 200 s parallel edge is ignored) + 30 s
    assert m[2, 0] == pytest.approx(2.5)
    # d (at the dead end D) -> D: same node, 10 m access leg
    assert m[1, 0] == pytest.approx(10 / WALK_M_PER_MIN)
    assert np.isinf(m[1, 1])  # no way out of D
    assert np.isinf(m[:, 2]).all()  # E is isolated
    assert not (m == 0).any()
    listed = tt.unreachable()
    assert list(listed.columns) == ["origin_id", "destination_id"]
    assert set(map(tuple, listed.to_numpy())) == {("d", "A"), ("a", "E"), ("d", "E"), ("c", "E")}
    assert "4 of 9 origin-destination pairs are unreachable" in caplog.text
    # snapping only to the largest strongly connected component strands nobody
    strong = travel_time_matrix(G, origins, dests, snap_to="strong", max_snap_m=2000)
    assert np.isfinite(strong.minutes).all()


def test_cutoff_turns_long_trips_to_inf(london, london_points):
    origins, dests = london_points
    full = travel_time_matrix(london, origins, dests, progress=False)
    cut = travel_time_matrix(london, origins, dests, cutoff_min=6.0, progress=False)
    assert cut.params["cutoff_min"] == 6.0 and "cutoff 6 min" in cut.label
    within = full.minutes <= 6.0
    assert 0 < within.sum() < within.size
    np.testing.assert_allclose(cut.minutes[within], full.minutes[within], rtol=0, atol=1e-9)
    assert np.isinf(cut.minutes[~within]).all()
    assert len(cut.unreachable()) == (~within).sum()


def test_graph_problems_are_reported():
    G = line_graph()
    G.add_edge("C", "E", length=10.0)  # no travel_time
    with pytest.raises(NetworkError, match="1 of 7 edges have no 'travel_time'"):
        travel_time_matrix(G, np.array([[530_000.0, 190_000.0]]), np.array([[532_000.0, 190_000.0]]))
    G = line_graph()
    G.add_edge("C", "E", length=10.0, travel_time=-1.0)
    with pytest.raises(NetworkError, match="negative"):
        road_arrays(G)
    with pytest.raises(InputDataError, match="duplicate id 'x'"):
        travel_time_matrix(line_graph(), np.zeros((2, 2)) + 530_000, np.zeros((1, 2)) + 530_000, origin_ids=["x", "x"])


def test_far_points_warn_once_per_side():
    G = line_graph()
    with pytest.warns(SnapWarning, match=r"1 of 1 destinations .*'far' \(2,236 m\)"):
        tt = travel_time_matrix(G, np.array([[530_000.0, 190_000.0]]), np.array([[530_000.0, 193_000.0]]),
                                destination_ids=["far"])  # fmt: skip
    assert tt.destination_snap_m[0] == pytest.approx(np.hypot(1000, 2000))
    with pytest.raises(InputDataError, match="'far' is 2,236 m"):
        travel_time_matrix(G, np.array([[530_000.0, 190_000.0]]), np.array([[530_000.0, 193_000.0]]),
                           destination_ids=["far"], strict=True)  # fmt: skip


def street_grid(side: int, seed: int) -> nx.MultiDiGraph:
    """A small jittered street grid in EPSG:27700: two-way and one-way streets, a cut-off corner.

    The last row is joined to the rest by one-way streets leaving it only, and one node is
    isolated, so some pairs have no route.
    """
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs=BNG, mode="drive", source="grid")
    pos = {}
    for r in range(side):
        for c in range(side):
            pos[r, c] = r * side + c
            G.add_node(r * side + c, x=530_000.0 + 100 * c + rng.uniform(-20, 20), y=190_000.0 + 100 * r)
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr >= side or c + dc >= side or rng.random() < 0.05:
                    continue
                a, b = pos[r, c], pos[r + dr, c + dc]
                seconds = float(rng.uniform(6, 20))
                one_way = rng.random() < 0.25 or r + dr == side - 1
                G.add_edge(b, a, length=100.0, travel_time=seconds)  # towards the lower row
                if not one_way:
                    G.add_edge(a, b, length=100.0, travel_time=seconds)
    isolated = pos[side // 2, side // 2]
    G.remove_edges_from(list(G.in_edges(isolated, keys=True)) + list(G.out_edges(isolated, keys=True)))
    return G


@pytest.mark.parametrize("seed", [1, 2])
def test_matrix_matches_networkx_with_one_way_streets_and_unreachable_pairs(seed, monkeypatch):
    G = street_grid(12, seed)
    rng = np.random.default_rng(seed)
    origins = rng.uniform([529_950.0, 189_950.0], [531_150.0, 191_150.0], (40, 2))
    dests = np.vstack([rng.uniform([529_950.0, 189_950.0], [531_150.0, 191_150.0], (6, 2)), [[530_600.0, 190_600.0]]])
    one = travel_time_matrix(G, origins, dests, cache=False, progress=False, workers=1)
    monkeypatch.setattr(travel, "_PARALLEL_WORK", 0)  # fork even for this small graph
    two = travel_time_matrix(G, origins, dests, cache=False, progress=False, workers=2)
    np.testing.assert_array_equal(one.minutes, two.minutes)
    net = road_arrays(G)
    o_pos, o_snap = net.snap(origins)
    d_pos, d_snap = net.snap(dests)
    unreachable = 0
    for i, o in enumerate(o_pos):
        lengths = nx.single_source_dijkstra_path_length(G, net.nodes[o], weight="travel_time")
        for j, d in enumerate(d_pos):
            seconds = lengths.get(net.nodes[d], np.inf)
            expected = seconds / 60 + (o_snap[i] + d_snap[j]) / WALK_M_PER_MIN
            if np.isinf(seconds):
                unreachable += 1
                assert np.isinf(one.minutes[i, j])
            else:
                assert one.minutes[i, j] == pytest.approx(expected, abs=1e-9)
    assert 0 < unreachable < one.minutes.size
    # more destinations than origins: the searches grow forward from the origins instead
    swapped = travel_time_matrix(G, origins[:3], dests, cache=False, progress=False, workers=2)
    np.testing.assert_allclose(swapped.minutes, one.minutes[:3], rtol=0, atol=1e-9)


def test_worker_processes_identical_rows_and_progress(london, london_points, monkeypatch):
    origins, dests = london_points
    one = travel_time_matrix(london, origins, dests, cache=False, progress=False, workers=1)
    monkeypatch.setattr(travel, "_PARALLEL_WORK", 0)
    assert travel._worker_processes(1, 2) == 2
    for workers in (2, 3):
        many = travel_time_matrix(london, origins, dests, cache=False, progress=False, workers=workers)
        np.testing.assert_array_equal(many.minutes, one.minutes)
    with pytest.raises(TravelTimeError, match="workers"):
        travel_time_matrix(london, origins, dests, cache=False, workers=0)


@pytest.mark.parametrize("workers", [0, MAX_PARALLEL + 1, 10**12])
def test_workers_outside_their_range_are_refused(london, london_points, workers):
    origins, dests = london_points
    with pytest.raises(TravelTimeError, match=f"workers must be a whole number from 1 to {MAX_PARALLEL:,}, got"):
        travel_time_matrix(london, origins, dests, cache=False, progress=False, workers=workers)


def test_small_work_stays_in_one_process():
    assert travel._worker_processes(travel._PARALLEL_WORK - 1, 2) == 1
    assert travel._worker_processes(travel._PARALLEL_WORK, 1) == 1
    assert travel._worker_processes(travel._PARALLEL_WORK, 2) == 2


def test_one_core_count_for_searches_and_worker_processes():
    assert default_workers() == usable_cores() >= 1


# --------------------------------------------------------------------------- cache


def _toy_points():
    origins = np.array([[530_010.0, 190_000.0], [532_000.0, 190_030.0]])
    dests = np.array([[531_000.0, 191_000.0], [530_000.0, 190_000.0]])
    return origins, dests


def test_cache_hit_identical_without_recomputing(monkeypatch):
    G = line_graph()
    origins, dests = _toy_points()
    spy = DijkstraSpy(monkeypatch)
    first = travel_time_matrix(G, origins, dests, origin_ids=["o1", "o2"], destination_ids=["D", "A"])
    assert spy.calls == 1
    files = sorted(p.name for p in (cache_dir() / "travel").iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npz")  # no temp files left

    def boom(*args, **kwargs):
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(travel, "dijkstra", boom)
    second = travel_time_matrix(G, origins, dests, origin_ids=["o1", "o2"], destination_ids=["D", "A"])
    np.testing.assert_array_equal(second.minutes, first.minutes)
    np.testing.assert_array_equal(second.origin_snap_m, first.origin_snap_m)
    np.testing.assert_array_equal(second.destination_snap_m, first.destination_snap_m)
    assert second.origin_ids == first.origin_ids and second.destination_ids == first.destination_ids
    assert second.params == first.params and second.description == first.description
    assert not second.minutes.flags.writeable
    # a rebuilt but identical graph (other insertion order) hits the same entry
    H = nx.MultiDiGraph(crs=BNG, mode="drive", source="/data/toy.osm")
    H.add_nodes_from(reversed(list(G.nodes(data=True))))
    H.add_edges_from(reversed(list(G.edges(data=True))))
    third = travel_time_matrix(H, origins, dests, origin_ids=["o1", "o2"], destination_ids=["D", "A"])
    np.testing.assert_array_equal(third.minutes, first.minutes)


def test_cache_key_follows_weights_points_ids_and_params(monkeypatch):
    origins, dests = _toy_points()
    spy = DijkstraSpy(monkeypatch)
    travel_time_matrix(line_graph(), origins, dests)
    travel_time_matrix(line_graph(), origins, dests)
    assert spy.calls == 1
    G = line_graph()
    G.edges["A", "B", 0]["travel_time"] = 61.0
    changed = travel_time_matrix(G, origins, dests)
    assert spy.calls == 2
    assert changed.minutes[0, 0] == pytest.approx((10 + 0) / WALK_M_PER_MIN + 91 / 60)
    G = line_graph()
    G.nodes["E"]["x"] += 1.0  # moving a node changes the fingerprint too
    travel_time_matrix(G, origins, dests)
    assert spy.calls == 3
    travel_time_matrix(line_graph(), origins + [[0.0, 1.0]], dests)
    assert spy.calls == 4
    travel_time_matrix(line_graph(), origins, dests, destination_ids=["x", "y"])
    assert spy.calls == 5
    travel_time_matrix(line_graph(), origins, dests, access_speed_kph=5.0)
    assert spy.calls == 6
    travel_time_matrix(line_graph(), origins, dests, cutoff_min=30)
    assert spy.calls == 7
    travel_time_matrix(line_graph(), origins, dests, snap_to="strong", max_snap_m=2000)
    assert spy.calls == 8
    travel_time_matrix(line_graph(), origins, dests, cache=False)
    assert spy.calls == 9
    assert len(list((cache_dir() / "travel").glob("*.npz"))) == 8


@pytest.mark.parametrize("damage", ["npz", "json", "truncate", "missing_npz"])
def test_corrupted_cache_is_recomputed(monkeypatch, caplog, damage):
    G = line_graph()
    origins, dests = _toy_points()
    first = travel_time_matrix(G, origins, dests)
    npz, meta = next((cache_dir() / "travel").glob("*.npz")), next((cache_dir() / "travel").glob("*.json"))
    assert (npz, meta) == entry_paths(npz.stem)
    if damage == "npz":
        npz.write_bytes(b"not a zip file at all")
    elif damage == "json":
        meta.write_text("{ broken", encoding="utf-8")
    elif damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:-40])
    else:
        npz.unlink()
    spy = DijkstraSpy(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="geodata.cache"):
        again = travel_time_matrix(G, origins, dests)
    assert spy.calls == 1
    assert "damaged" in caplog.text and "recomputing" in caplog.text
    np.testing.assert_array_equal(again.minutes, first.minutes)
    travel_time_matrix(G, origins, dests)  # repaired entry now hits
    assert spy.calls == 1


# --------------------------------------------------------------------------- TravelTimes


def _small() -> TravelTimes:
    return TravelTimes(
        origin_ids=("o1", "o2"),
        destination_ids=("h1", "h2", "h3"),
        minutes=np.array([[5.0, 3.0, np.inf], [2.0, 2.0, 1.0]]),
        source="matrix",
        description="test",
        params={"path": "/tmp/m.csv"},
    )


def test_travel_times_container():
    tt = _small()
    with pytest.raises(ValueError):
        tt.minutes[0, 0] = 1.0
    with pytest.raises(AttributeError):
        tt.source = "network"  # type: ignore[misc]
    frame = tt.to_frame()
    assert frame.columns.tolist() == ["origin_id", "destination_id", "minutes", "source"]
    assert frame.iloc[2].tolist() == ["o1", "h3", np.inf, "matrix"]
    assert frame.attrs["label"] == "matrix m.csv"
    sub = tt.subset(origin_ids=["o2"], destination_ids=["h3", "h1"])
    assert sub.minutes.tolist() == [[1.0, 2.0]] and sub.destination_ids == ("h3", "h1")
    with pytest.raises(TravelTimeError, match="'zz', 'yy'"):
        tt.subset(destination_ids=["zz", "h1", "yy"])
    assert tt.nearest(2).tolist() == [[1, 0], [2, 0]]
    assert tt.nearest(10).shape == (2, 3)
    assert tt.unreachable().to_numpy().tolist() == [["o1", "h3"]]
    with pytest.raises(TravelTimeError, match="duplicate origin ids"):
        TravelTimes(("a", "a"), ("b",), np.ones((2, 1)), "matrix", "x")
    with pytest.raises(TravelTimeError, match="NaN"):
        TravelTimes(("a",), ("b",), np.array([[np.nan]]), "matrix", "x")
    with pytest.raises(TravelTimeError, match="shape"):
        TravelTimes(("a",), ("b",), np.ones((2, 1)), "matrix", "x")


# --------------------------------------------------------------------------- crow-fly


def test_crow_fly_hand_checked_and_labelled():
    origins = gpd.GeoSeries(gpd.points_from_xy([530_000.0], [190_000.0]), index=["o"], crs=BNG)
    dests = np.array([[533_000.0, 194_000.0], [530_000.0, 190_000.0]])
    tt = crow_fly_matrix(origins.to_crs(WGS84), dests, destination_ids=["far", "same"])
    # 5,000 m x 1.3 = 6,500 m at 25 km/h (416.67 m/min) = 15.6 min
    # (the origin went through WGS84 and back: millimetres of round-trip error)
    assert tt.minutes[0, 0] == pytest.approx(15.6, abs=1e-4)
    assert tt.minutes[0, 1] == pytest.approx(0.0, abs=1e-4)
    assert tt.is_estimate and tt.source == "estimate"
    assert tt.label == "estimate (crow-fly x1.3 at 25 km/h)"
    assert "estimate" in repr(tt)
    assert (tt.to_frame()["source"] == "estimate").all()
    slow = crow_fly_matrix(origins, dests, detour_factor=1.5, speed_kph=30)
    assert slow.minutes[0, 0] == pytest.approx(5000 * 1.5 / 500)
    assert slow.label == "estimate (crow-fly x1.5 at 30 km/h)"
    with pytest.raises(TravelTimeError):
        crow_fly_matrix(origins, dests, detour_factor=0.8)


# --------------------------------------------------------------------------- user matrices


def test_read_long_csv_with_alternative_names_and_requested_order(tmp_path):
    path = tmp_path / "r5.csv"
    path.write_text(
        "from_id,to_id,travel_time\nE01,F81001,12.5\nE01,F81002,inf\n\nE02,F81001,7\nE02,F81002,3.25\n",
        encoding="utf-8",
    )
    tt = read_travel_matrix(path)
    assert tt.source == "matrix" and tt.label == "matrix r5.csv"
    assert tt.origin_ids == ("E01", "E02") and tt.destination_ids == ("F81001", "F81002")
    assert tt.minutes.tolist() == [[12.5, np.inf], [7.0, 3.25]]
    sub = read_travel_matrix(path, origin_ids=["E02"], destination_ids=["F81002", "F81001"])
    assert sub.minutes.tolist() == [[3.25, 7.0]]


def test_read_seconds_semicolon_and_numeric_ids(tmp_path):
    path = tmp_path / "osrm.csv"
    path.write_text("Origin;Destination;Seconds\n1;10;90\n1;20;30\n2;10;60\n2;20;120\n", encoding="utf-8")
    tt = read_travel_matrix(path, origin_ids=[2, 1], destination_ids=[10, 20])
    assert tt.origin_ids == (2, 1)  # the caller's ids, matched by text
    assert tt.minutes.tolist() == [[1.0, 2.0], [1.5, 0.5]]
    assert tt.params["unit"] == "seconds"


def test_read_wide_csv(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("\ufefflsoa,HUB1,HUB2,HUB3\nE01,1,2,3\nE02,4.5,inf,6\n", encoding="utf-8")
    tt = read_travel_matrix(path)
    assert tt.params["layout"] == "wide"
    assert tt.origin_ids == ("E01", "E02") and tt.destination_ids == ("HUB1", "HUB2", "HUB3")
    assert tt.minutes.tolist() == [[1, 2, 3], [4.5, np.inf, 6]]
    sub = read_travel_matrix(path, destination_ids=["HUB3"])
    assert sub.minutes.tolist() == [[3.0], [6.0]]


def test_read_parquet_long_and_wide(tmp_path):
    long = pd.DataFrame({"origin_id": ["a", "a", "b", "b"], "destination_id": [1, 2, 1, 2],
                         "minutes": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    long.to_parquet(tmp_path / "long.parquet")
    tt = read_travel_matrix(tmp_path / "long.parquet")
    assert tt.destination_ids == ("1", "2") and tt.minutes.tolist() == [[1, 2], [3, 4]]
    wide = pd.DataFrame({"origin": ["a", "b"], "S1": [1.0, 3.0], "S2": [2.0, 4.0]})
    wide.to_parquet(tmp_path / "wide.parquet")
    tt = read_travel_matrix(tmp_path / "wide.parquet", layout="wide")
    assert tt.destination_ids == ("S1", "S2") and tt.minutes.tolist() == [[1, 2], [3, 4]]
    bad = long.assign(minutes=[1.0, -2.0, None, 4.0])
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(tmp_path / "bad.parquet")
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "minutes"), (3, "minutes")]


def test_long_errors_all_listed_with_rows_and_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "origin_id,destination_id,minutes\n"  # line 1
        "A,X,1\n"  # 2
        "A,Y,-3\n"  # 3 negative
        "B,X,abc\n"  # 4 not a number
        "A,X,2\n"  # 5 duplicate of line 2
        ",Y,4\n"  # 6 empty origin id
        "C,X,\n",  # 7 empty minutes; (B,Y), (C,Y) missing
        encoding="utf-8",
    )
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(path, origin_ids=["A", "B", "C", "Z"])
    found = {(p.row, p.column, p.message) for p in err.value.problems}
    assert (3, "minutes", "travel time '-3' is negative") in found
    assert (4, "minutes", "travel time 'abc' is not a number") in found
    assert (5, "origin_id, destination_id", "duplicate pair 'A' -> 'X' (first on row 2)") in found
    assert (6, "origin_id", "id is empty") in found
    assert (7, "minutes", "travel time is empty (write inf for an unreachable pair)") in found
    assert (None, "origin_id", "origin id 'Z' is not in the file") in found
    assert (None, None, "no travel time for origin 'B' -> destination 'Y'") in found
    assert (None, None, "no travel time for origin 'C' -> destination 'Y'") in found
    assert len(err.value.problems) == 8
    assert all(p.file == str(path) for p in err.value.problems)
    assert f"{path}, row 3, column 'minutes': travel time '-3' is negative" in str(err.value)


def test_absurd_times_are_named_with_the_maximum(tmp_path):
    """Before, 1e300 and 1e999 (read as inf) were travel times; inf itself still marks an unreachable pair."""
    most = f"{MAX_TRAVEL_MIN:,.0f}"
    long = tmp_path / "long.csv"
    long.write_text(
        "origin_id,destination_id,minutes\n"
        f"A,X,{MAX_TRAVEL_MIN:g}\nA,Y,1e300\nB,X,1e999\nB,Y,Infinity\nC,X,{MAX_TRAVEL_MIN + 1:g}\nC,Y,inf\n",
        encoding="utf-8",
    )
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(long)
    found = {(p.row, p.column, p.message) for p in err.value.problems}
    tail = "not a plausible value (write inf for an unreachable pair)"
    assert found == {
        (3, "minutes", f"travel time '1e300' is above the maximum {most} minutes, {tail}"),
        (4, "minutes", f"travel time '1e999' is above the maximum {most} minutes, {tail}"),
        (6, "minutes", f"travel time '{MAX_TRAVEL_MIN + 1:g}' is above the maximum {most} minutes, {tail}"),
    }
    seconds = tmp_path / "seconds.csv"
    seconds.write_text(f"origin,destination,seconds\nA,X,{MAX_TRAVEL_MIN * 60:g}\nA,Y,inf\n", encoding="utf-8")
    assert read_travel_matrix(seconds).minutes.tolist() == [[MAX_TRAVEL_MIN, np.inf]]
    seconds.write_text(f"origin,destination,seconds\nA,X,{MAX_TRAVEL_MIN * 60 + 1:g}\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=f"above the maximum {MAX_TRAVEL_MIN * 60:,.0f} seconds"):
        read_travel_matrix(seconds)
    wide = tmp_path / "wide.csv"
    wide.write_text("origin,H1,H2\nA,1e300,inf\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(wide)
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "H1")]
    parquet = tmp_path / "m.parquet"
    pd.DataFrame({"origin_id": ["A", "A"], "destination_id": ["X", "Y"], "minutes": [1e300, np.inf]}).to_parquet(
        parquet
    )
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(parquet)
    assert [(p.row, p.column) for p in err.value.problems] == [(1, "minutes")]


def test_wide_errors_all_listed(tmp_path):
    path = tmp_path / "bad_wide.csv"
    path.write_text("origin,H1,H2,H1\nA,1,x,3\nB,,2,1\nA,1,1,1\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(path, destination_ids=["H1", "H2", "H9"])
    found = {(p.row, p.column, p.message) for p in err.value.problems}
    assert (1, "H1", "destination id 'H1' appears in more than one column") in found
    assert (4, "origin", "duplicate origin 'A' (first on row 2)") in found
    assert (2, "H2", "travel time 'x' is not a number") in found
    assert (3, "H1", "travel time is empty (write inf for an unreachable pair)") in found
    assert (None, "header", "destination id 'H9' is not in the file") in found
    assert len(found) == 5


def test_read_matrix_file_problems(tmp_path):
    with pytest.raises(MissingFileError):
        read_travel_matrix(tmp_path / "nope.csv")
    path = tmp_path / "cols.csv"
    path.write_text("origin_id,foo,minutes\nA,2,1\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="the destination column is missing"):
        read_travel_matrix(path, layout="long")
    # auto: not long, so read as wide with 'foo' and 'minutes' as destinations
    assert read_travel_matrix(path).destination_ids == ("foo", "minutes")


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_origins_among_ignores_the_other_origins(tmp_path, caplog, layout):
    path = tmp_path / "m.csv"
    if layout == "long":
        path.write_text("origin_id,destination_id,minutes\nA,X,1\nA,Y,2\nZZZ,X,5\nB,X,3\nB,Y,4\n")
    else:
        path.write_text("origin,X,Y\nA,1,2\nZZZ,5,\nB,3,4\n")
    with caplog.at_level(logging.INFO, logger="geodata.travel"):
        tt = read_travel_matrix(path, destination_ids=["X", "Y"], origins_among=["B", "A", "C"])
    assert tt.origin_ids == ("A", "B") and tt.minutes.tolist() == [[1, 2], [3, 4]]
    assert tt.params["ignored_origins"] == ["ZZZ"]
    assert "m.csv: 1 origin(s) not in the selection ignored: ['ZZZ']" in caplog.text


def test_file_that_is_no_matrix_is_one_problem(tmp_path):
    """Once one 'destination id ... is not in the file' problem per requested destination."""
    path = tmp_path / "points.csv"
    path.write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(path, destination_ids=["RF4DG", "RKEQ4", "F86007", "F86008"])
    assert [(p.row, p.column) for p in err.value.problems] == [(1, None)]
    assert (
        f"{path}, row 1: not a travel-time matrix: neither the long layout (origin_id, destination_id and minutes "
        "columns) nor a wide layout (origin ids in the first column, one column per destination id such as "
        "'RF4DG', 'RKEQ4', 'F86007'); columns found: x, y"
    ) in str(err.value)


def test_long_matrix_without_a_time_column_says_so(tmp_path):
    """Once read as a wide matrix, giving a 'duplicate origin' for every row after the first."""
    path = tmp_path / "no_minutes.csv"
    path.write_text("origin_id,destination_id\nF86007,RF4DG\nF86007,RKEQ4\nF86008,RF4DG\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_travel_matrix(path, destination_ids=["RF4DG", "RKEQ4"])
    assert [(p.row, p.column) for p in err.value.problems] == [(1, None)]
    assert (
        f"{path}, row 1: the long layout needs origin, destination and minutes columns: the minutes (or seconds) "
        "column is missing (columns found: origin_id, destination_id)" in str(err.value)
    )


# --------------------------------------------------------------------------- benchmark


def test_benchmark_quick_runs(capsys):
    spec = importlib.util.spec_from_file_location("bench_travel_times", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--quick", "--no-pandana"])
    assert figures["max_diff_min"] < 1e-9
    # the exact shortest-path libraries that are installed give the same minutes (pyroutingkit rounds its weights)
    exact = [f"max_diff_{name}_min" for name in module.LIBRARIES if name != "pyroutingkit"]
    assert all(figures[key] < 1e-9 for key in exact if key in figures)
    assert figures["pairs_per_s"] > 0
    assert "pairs/s" in capsys.readouterr().out
    assert Path(str(cache_dir())).name == "cache"  # the isolated cache folder is restored


def _tiny_graphml(path, mode):
    """A two-node GraphML network in British National Grid, saved with (or without) its mode."""
    from geodata.network import save_graph

    G = nx.MultiDiGraph(crs="EPSG:27700", **({"mode": mode} if mode else {}))
    G.add_node(1, x=540000.0, y=188000.0)
    G.add_node(2, x=541000.0, y=188000.0)
    for u, w in ((1, 2), (2, 1)):
        G.add_edge(u, w, length=1000.0, speed_kph=30.0, travel_time=120.0)
    return save_graph(G, path)


@pytest.mark.parametrize(
    ("saved", "line", "expected"),
    [
        ("drive", 'mode = "walk"', "[travel] mode = 'walk', but the GraphML network"),
        ("walk", "", "[travel] mode is 'drive' (the default), but the GraphML network"),
    ],
)
def test_a_graphml_network_of_another_mode_is_refused(tmp_path, saved, line, expected):
    """Before, [travel] mode was not applied to a GraphML file: a walk scenario planned on drive times."""
    import shapely

    from catchment.scenario import read_scenario
    from catchment.travel import scenario_travel
    from geodata.errors import ScenarioError

    network = _tiny_graphml(tmp_path / "net.graphml", saved)
    path = tmp_path / "s.toml"
    path.write_text(
        f'[units]\nlad = "E09000026"\n[sites]\nlargest_practices = 1\n'
        f'[travel]\nsource = "network"\nnetwork = "{network}"\n{line}\n'
    )
    scenario = read_scenario(path)
    points = gpd.GeoSeries([shapely.Point(540100, 188000)], crs="EPSG:27700")
    sites = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[shapely.Point(540900, 188000)], crs="EPSG:27700")
    with pytest.raises(ScenarioError) as caught:
        scenario_travel(scenario, tmp_path, {}, ["U1"], points, sites, None)
    assert str(path) in str(caught.value) and expected in str(caught.value) and str(network) in str(caught.value)
    same = path.read_text().replace(line, f'mode = "{saved}"') if line else path.read_text() + f'mode = "{saved}"\n'
    path.write_text(same)
    _, source, minutes, *_ = scenario_travel(read_scenario(path), tmp_path, {}, ["U1"], points, sites, None)
    assert source == "network" and np.isfinite(minutes).all()


def test_network_coverage_of_practice_origins_is_weighed_by_their_patients():
    """Border practices have a few patients in many LSOAs beyond an extract: most patients count, not most LSOAs."""
    from catchment.travel import UNCOVERED_MIN_M, UNCOVERED_SHARE, check_network_covers

    snap = np.array([50.0, 80.0] + [20_000.0] * 8)  # 8 of 10 LSOAs far off the network
    patients = np.array([5_000.0, 4_000.0] + [30.0] * 8)  # ... holding 240 of 9,240 patients
    assert snap[2:].size / snap.size > UNCOVERED_SHARE and snap.min() < UNCOVERED_MIN_M
    check_network_covers(Path("roads.osm"), snap, np.array([10.0, 20.0]), max_snap_m=500.0, origin_weights=patients)
    with pytest.raises(InputDataError, match=r"8 of 10 origins .*lie more than 2,000 m from this road network"):
        check_network_covers(Path("roads.osm"), snap, np.array([10.0, 20.0]), max_snap_m=500.0)
    with pytest.raises(InputDataError, match=r"8 of 10 origins .*network, where > 99% of the practices' patients live"):
        check_network_covers(Path("roads.osm"), snap, None, max_snap_m=500.0, origin_weights=patients[::-1])


def test_far_origins_of_practice_units_are_said_to_be_left_out():
    """The LSOAs of practice units beyond max_snap_m leave the means: the warning says so, not 'long access legs'."""
    from catchment.travel import PRACTICE_FAR_ORIGINS, PRACTICE_ORIGINS

    with pytest.warns(SnapWarning) as record:
        travel_time_matrix(line_graph(), np.array([[530_000.0, 193_000.0]]), np.array([[530_000.0, 190_000.0]]),
                           origin_ids=["E01000001"], origin_label=PRACTICE_ORIGINS, far_origins=PRACTICE_FAR_ORIGINS,
                           cache=False)  # fmt: skip
    assert str(record[0].message) == (
        f"1 of 1 {PRACTICE_ORIGINS} lie more than 500 m from the road network; {PRACTICE_FAR_ORIGINS}: "
        "'E01000001' (2,236 m)"
    )
