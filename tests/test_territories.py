"""Practice territories: the rule on small tables, and Redbridge's 42 practices."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from catchment.territories import MAJORITY, practice_territories, site_adjacency, territory_adjacency


def _reg(rows):
    return pd.DataFrame(rows, columns=["practice_code", "lsoa_code", "patients"])


def test_majority_and_owner_rule():
    reg = _reg(
        [
            ("A", "L1", 60),
            ("B", "L1", 30),
            ("X", "L1", 10),  # selected hold 90%: A owns
            ("A", "L2", 20),
            ("X", "L2", 80),  # selected hold 20%: not in the area
            ("A", "L3", 25),
            ("B", "L3", 25),
            ("X", "L3", 40),  # selected hold 50/90 > half: tie A-B, A wins
            ("B", "L4", 51),
            ("X", "L4", 49),  # 51% > MAJORITY
            ("B", "L5", 50),
            ("X", "L5", 50),  # exactly half: not more than half
        ]
    )
    t = practice_territories(reg, ["A", "B"])
    assert MAJORITY == 0.5
    assert t.owner == {"L1": "A", "L3": "A", "L4": "B"}
    assert t.lsoas_of("A") == ("L1", "L3") and t.planning_area == ("L1", "L3", "L4")
    assert t.shared == {} and t.placeless == () and t.left_out == ()
    # LSOAs outside the boundary file leave the planning area before the owners are chosen
    inside = practice_territories(reg, ["A", "B"], within={"L1", "L4"})
    assert inside.owner == {"L1": "A", "L4": "B"} and inside.left_out == ("L3",)


def test_practice_without_an_lsoa_gets_its_site_lsoa():
    reg = _reg([("A", "L1", 90), ("C", "L1", 5), ("A", "L2", 90), ("C", "L2", 5), ("A", "L3", 50)])
    # C is the largest nowhere; its site is in L2, which A can give up (A keeps L1, L3)
    t = practice_territories(reg, ["A", "C"], site_lsoa={"C": "L2"})
    assert t.owner == {"L1": "A", "L2": "C", "L3": "A"}
    # a site outside the planning area joins it
    t = practice_territories(reg, ["A", "C"], site_lsoa={"C": "L9"})
    assert t.owner["L9"] == "C"
    # a site in the only LSOA of its owner: shared; no site at all: placeless
    reg = _reg([("A", "L1", 90), ("C", "L1", 5), ("B", "L2", 10)])
    t = practice_territories(reg, ["A", "B", "C", "D"], site_lsoa={"C": "L1", "D": None})
    assert t.owner == {"L1": "A", "L2": "B"} and t.shared == {"C": "L1"} and t.placeless == ("D",)
    adjacency = territory_adjacency(t, ["A", "B", "C", "D"], [("L1", "L2")])
    assert adjacency == [(0, 1), (0, 2), (1, 2)]  # C touches A (its LSOA) and B (next to it)


def test_territory_adjacency_links_touching_territories_only():
    t = practice_territories(_reg([("A", "L1", 1), ("B", "L2", 1), ("C", "L3", 1)]), ["A", "B", "C"])
    assert territory_adjacency(t, ["A", "B", "C"], [("L1", "L2"), ("L2", "L3"), ("L3", "L9")]) == [(0, 1), (1, 2)]


def test_site_adjacency_fallback():
    square = np.array([[0, 0], [1000, 0], [0, 1000], [1000, 1000], [500, 400]])
    pairs = site_adjacency(square)
    graph = nx.Graph(pairs)
    assert nx.is_connected(graph) and set(graph.nodes) == set(range(5))
    assert all(graph.has_edge(4, k) for k in range(4))  # the centre touches every corner
    assert site_adjacency(np.array([[0, 0], [2, 0], [1, 0]])) == [(0, 2), (1, 2)]  # collinear: a chain
    assert site_adjacency(np.array([[0, 0], [0, 0], [5, 5]])) == [(0, 1), (0, 2)]  # same point: neighbours
    assert site_adjacency(np.zeros((1, 2))) == []


@pytest.fixture(scope="module")
def redbridge(real_data):
    from catchment.build import build_from_scenario, lsoa_adjacency
    from catchment.scenario import read_scenario
    from geodata.nhs import read_practice_lsoa
    from geodata.ons import read_lsoa_boundaries

    built = build_from_scenario(read_scenario("scenarios/redbridge.toml"), data_dir=real_data)
    lsoas = read_lsoa_boundaries(real_data / "london" / "lsoa11-boundaries-gen20.gpkg")
    reg = read_practice_lsoa(real_data / "england" / "gp-reg-pat-prac-lsoa_2022.parquet")
    practices = list(built.problem.unit_ids)
    points = gpd.GeoDataFrame({"practice_code": practices}, geometry=built.units.geometry.to_numpy(), crs=lsoas.crs)
    joined = gpd.sjoin(points, lsoas[["lsoa_code", "geometry"]], how="left", predicate="within")
    site = dict(zip(joined["practice_code"], joined["lsoa_code"].where(joined["lsoa_code"].notna(), None), strict=True))
    territories = practice_territories(reg, practices, site_lsoa=site)
    codes = lsoas["lsoa_code"].tolist()
    pairs = [(codes[i], codes[j]) for i, j in lsoa_adjacency(lsoas)]
    return practices, lsoas, territories, territory_adjacency(territories, practices, pairs)


def test_redbridge_territories_partition_a_connected_area(redbridge):
    practices, lsoas, territories, adjacency = redbridge
    assert territories.placeless == ()
    with_territory = {p for p in territories.owner.values()} | set(territories.shared)
    assert with_territory == set(practices)
    # the planning area is (almost all) Redbridge's 161 LSOAs: its practices hold most of their patients
    redbridge_lsoas = set(lsoas.loc[lsoas["lad_name"].str.contains("Redbridge"), "lsoa_code"])
    inside = len(set(territories.owner) & redbridge_lsoas)
    assert inside >= 0.9 * len(redbridge_lsoas)
    assert len(territories.owner) <= 1.1 * len(redbridge_lsoas)
    graph = nx.Graph(adjacency)
    graph.add_nodes_from(range(len(practices)))
    assert nx.is_connected(graph)


def test_connect_territories_hands_detached_pieces_to_neighbours():
    from catchment.territories import connect_territories

    # a row of LSOAs L1-L2-L3-L4; A holds L1 and (far) L4, B holds L2-L3; L9 touches nothing
    reg = _reg([("A", "L1", 90), ("A", "L4", 30), ("B", "L4", 20), ("B", "L2", 50), ("B", "L3", 50), ("A", "L9", 5)])
    t = practice_territories(reg, ["A", "B"])
    assert t.lsoas_of("A") == ("L1", "L4", "L9")
    pairs = [("L1", "L2"), ("L2", "L3"), ("L3", "L4")]
    connected = connect_territories(t, pairs, reg)
    assert connected.owner == {"L1": "A", "L2": "B", "L3": "B", "L4": "B"}  # L4 to B (its neighbour); L9 dropped
