"""Snapping points to road-graph nodes (geodata.snap)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from geodata.errors import InputDataError, NetworkError, SnapWarning
from geodata.settings import BNG, WGS84
from geodata.snap import snap_points


def grid_graph(crs: str | None = BNG) -> nx.MultiDiGraph:
    """3 x 3 junctions 100 m apart at (530000 + 100 i, 190000 + 100 j), two-way streets."""
    G = nx.MultiDiGraph(crs=crs) if crs else nx.MultiDiGraph()
    for i in range(3):
        for j in range(3):
            G.add_node(f"n{i}{j}", x=530_000.0 + 100 * i, y=190_000.0 + 100 * j)
    for i in range(3):
        for j in range(3):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < 3 and j + dj < 3:
                    a, b = f"n{i}{j}", f"n{i + di}{j + dj}"
                    G.add_edge(a, b, length=100.0, travel_time=12.0)
                    G.add_edge(b, a, length=100.0, travel_time=12.0)
    return G


def test_snap_array_hand_checked():
    G = grid_graph()
    pts = np.array([[530_010.0, 190_000.0], [530_190.0, 190_130.0], [530_100.0, 190_100.0]])
    out = snap_points(G, pts, ids=["a", "b", "c"])
    assert list(out.columns) == ["id", "node", "snap_m"]
    assert out["id"].tolist() == ["a", "b", "c"]
    assert out["node"].tolist() == ["n00", "n21", "n11"]
    np.testing.assert_allclose(out["snap_m"], [10.0, np.hypot(10, 30), 0.0])


def test_snap_geoseries_any_crs_is_reprojected():
    G = grid_graph()
    bng = gpd.GeoSeries([Point(530_203.0, 190_196.0), Point(529_990.0, 190_000.0)], index=["x1", "x2"], crs=BNG)
    out = snap_points(G, bng.to_crs(WGS84))
    assert out["id"].tolist() == ["x1", "x2"]
    assert out["node"].tolist() == ["n22", "n00"]
    np.testing.assert_allclose(out["snap_m"], [5.0, 10.0], atol=1e-3)


def test_snap_geodataframe_uses_index_and_integer_nodes_stay_integers():
    G = nx.relabel_nodes(grid_graph(), {f"n{i}{j}": 10 * i + j for i in range(3) for j in range(3)})
    gdf = gpd.GeoDataFrame({"name": ["p"]}, geometry=[Point(530_100.0, 190_200.0)], index=["P1"], crs=BNG)
    out = snap_points(G, gdf)
    assert out.loc[0, "id"] == "P1"
    assert out["node"].dtype == np.int64
    assert out.loc[0, "node"] == 12


def test_far_points_one_warning_listing_all():
    G = grid_graph()
    pts = np.array([[530_000.0, 190_000.0], [531_000.0, 190_000.0], [530_000.0, 189_300.0]])
    with pytest.warns(SnapWarning) as record:
        out = snap_points(G, pts, ids=["near", "east", "south"], max_snap_m=500)
    assert len(record) == 1
    message = str(record[0].message)
    assert "2 of 3 points" in message
    assert "'east' (800 m)" in message and "'south' (700 m)" in message
    assert "'near'" not in message
    assert record[0].filename == __file__  # points at the caller
    np.testing.assert_allclose(out["snap_m"], [0.0, 800.0, 700.0])


def test_far_points_strict_raises_listing_all():
    G = grid_graph()
    pts = np.array([[531_000.0, 190_000.0], [530_000.0, 189_300.0]])
    with pytest.raises(InputDataError) as err:
        snap_points(G, pts, ids=["east", "south"], strict=True)
    assert len(err.value.problems) == 2
    assert "'east' is 800 m" in str(err.value) and "'south' is 700 m" in str(err.value)


def test_bad_points_all_listed():
    G = grid_graph()
    gs = gpd.GeoSeries(
        [Point(530_000, 190_000), LineString([(0, 0), (1, 1)]), None, Point()],
        index=["ok", "line", "none", "empty"],
        crs=BNG,
    )
    with pytest.raises(InputDataError) as err:
        snap_points(G, gs)
    text = str(err.value)
    assert len(err.value.problems) == 3
    assert "'line': geometry is LineString" in text and "'none'" in text and "'empty'" in text


def test_points_without_crs_and_bad_arrays():
    G = grid_graph()
    with pytest.raises(InputDataError, match="no CRS"):
        snap_points(G, gpd.GeoSeries([Point(530_000, 190_000)]))
    with pytest.raises(InputDataError, match=r"\(n, 2\)"):
        snap_points(G, np.zeros((3, 3)))
    with pytest.raises(InputDataError) as err:
        snap_points(G, np.array([[np.nan, 1.0], [530_000.0, 190_000.0]]), ids=["a", "b", "c"])
    assert len(err.value.problems) == 2  # the NaN point and the id count


def test_graph_crs_is_checked():
    with pytest.raises(NetworkError, match="no G.graph"):
        snap_points(grid_graph(crs=None), np.array([[530_000.0, 190_000.0]]))
    with pytest.raises(NetworkError, match="not EPSG:27700"):
        snap_points(grid_graph(crs=WGS84), np.array([[530_000.0, 190_000.0]]))
    G = grid_graph()
    del G.nodes["n11"]["x"]
    with pytest.raises(NetworkError, match="lack numeric x/y"):
        snap_points(G, np.array([[530_000.0, 190_000.0]]))


def test_snap_to_strong_component_avoids_islands():
    G = grid_graph()
    G.add_node("island", x=530_400.0, y=190_000.0)  # no edges at all
    G.add_node("stub", x=530_200.0, y=189_900.0)
    G.add_edge("n20", "stub", length=100.0, travel_time=12.0)  # one way in, no way out
    pts = np.array([[530_390.0, 190_000.0], [530_200.0, 189_910.0]])
    with pytest.warns(SnapWarning):  # the island point is 190 m from the grid
        strong = snap_points(G, pts, snap_to="strong", max_snap_m=150)
    assert snap_points(G, pts)["node"].tolist() == ["island", "stub"]
    assert strong["node"].tolist() == ["n20", "n20"]
    np.testing.assert_allclose(strong["snap_m"], [190.0, 90.0])


def test_snap_real_lsoa_centroids(real_data):
    import osmnx as ox
    import pandas as pd

    G = ox.project_graph(ox.graph_from_xml(real_data / "osm" / "north-london-palmers-green.osm"), to_crs=BNG)
    cents = pd.read_csv(real_data / "england" / "lsoa11-population-weighted-centroids.csv", encoding="utf-8-sig")
    inside = cents["Y"].between(51.60, 51.63) & cents["X"].between(-0.155, -0.10)
    pts = gpd.GeoSeries(gpd.points_from_xy(cents.loc[inside, "X"], cents.loc[inside, "Y"]), crs=WGS84)
    pts.index = cents.loc[inside, "lsoa11cd"]
    # one centroid, by the north-east edge of the extract, is 631 m from any road node
    with pytest.warns(SnapWarning, match=r"1 of 50 points .*'E01001564' \(631 m\)"):
        out = snap_points(G, pts)
    assert len(out) == inside.sum() == 50
    assert out["id"].str.startswith("E01").all()
    assert set(out["node"]) <= set(G.nodes)
    # population-weighted centroids in a dense suburb sit near a junction
    assert out["snap_m"].median() < 100
    bng = pts.to_crs(BNG)
    node = out["node"].iloc[0]
    expected = np.hypot(bng.iloc[0].x - G.nodes[node]["x"], bng.iloc[0].y - G.nodes[node]["y"])
    assert out["snap_m"].iloc[0] == pytest.approx(expected)


def test_far_points_are_named_farthest_first_and_counted():
    """Hundreds of far LSOAs (patients of border practices) give one readable warning, not all of them."""
    from geodata.snap import report_far_points
    from geodata.tables import few

    ids = [f"E{i:03d}" for i in range(300)]
    snap_m = np.arange(300, dtype=float) * 10.0  # E299 farthest
    with pytest.warns(SnapWarning) as record:
        report_far_points(ids, snap_m, max_snap_m=500.0, what="origins")
    message = str(record[0].message)
    assert message.startswith("249 of 300 origins lie more than 500 m from the road network; their access legs are")
    assert message.endswith(few(f"'E{i:03d}' ({i * 10:,} m)" for i in range(299, 50, -1)))
    assert "'E299' (2,990 m), 'E298' (2,980 m)" in message and "(249 in all)" in message and "'E100'" not in message
