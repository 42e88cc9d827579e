"""Issue acceptance, end to end on real files: the north London OSM slice.

The 16 practices and 64 LSOAs in the extract's box load through the project's loaders,
snap to the project's drive network, and get a travel-time matrix whose entries equal a
plain networkx shortest path on the same graph (access legs aside).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from geodata.network import graph_from_osm_file
from geodata.ons import load_lsoas
from geodata.practices import load_practices
from geodata.settings import BNG
from geodata.snap import snap_points
from geodata.travel import travel_time_matrix

BOX = (-0.158, 51.598, -0.095, 51.632)


@pytest.fixture(scope="module")
def slice_data(real_data):
    lsoas = load_lsoas(real_data, bbox=BOX)
    practices = load_practices(real_data, bbox=BOX)
    graph = graph_from_osm_file(real_data / "osm" / "north-london-palmers-green.osm", mode="drive")
    return lsoas, practices, graph


def test_box_holds_16_practices_and_64_lsoas(slice_data):
    lsoas, practices, _ = slice_data
    assert len(lsoas) == 64 and len(practices) == 16
    assert practices["list_size"].sum() == 133_123
    assert lsoas["population"].sum() == 119_218
    assert practices.crs == BNG and lsoas.crs == BNG


def test_matrix_equals_networkx_on_the_same_graph(slice_data):
    lsoas, practices, graph = slice_data
    origins = gpd.GeoSeries(gpd.points_from_xy(lsoas["centroid_x"], lsoas["centroid_y"]), crs=BNG)
    tt = travel_time_matrix(
        graph,
        origins,
        practices.geometry,
        origin_ids=list(lsoas["lsoa_code"]),
        destination_ids=list(practices["practice_code"]),
        max_snap_m=2000,
        progress=False,
    )
    assert tt.minutes.shape == (64, 16)
    assert np.isfinite(tt.minutes).all(), "largest strongly connected component: every pair reachable"
    o = snap_points(graph, origins, max_snap_m=2000)
    d = snap_points(graph, practices.geometry, max_snap_m=2000)
    walk_m_per_min = 4.8 * 1000 / 60
    rng = np.random.default_rng(2009)
    for i, j in zip(rng.integers(64, size=60), rng.integers(16, size=60), strict=True):
        expected = nx.shortest_path_length(graph, o["node"].iloc[i], d["node"].iloc[j], weight="travel_time") / 60
        access = (o["snap_m"].iloc[i] + d["snap_m"].iloc[j]) / walk_m_per_min
        assert tt.minutes[i, j] - access == pytest.approx(expected, abs=1e-6)
