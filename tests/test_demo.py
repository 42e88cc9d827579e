"""Tests of the built-in demo district generator (``geodata.demo``)."""

from __future__ import annotations

import dataclasses
import hashlib
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from geodata.demo import DEFAULT_SEED, DEMO_FILES, DemoDistrict, make_demo, write_demo


@pytest.fixture(scope="module")
def demo() -> DemoDistrict:
    return make_demo()


@pytest.fixture(scope="module")
def written(tmp_path_factory, demo):
    folder = tmp_path_factory.mktemp("demo") / "district"
    return folder, write_demo(folder, seed=demo.seed)


def _district(demo: DemoDistrict):
    return demo.boundary.loc[demo.boundary["level"] == "district", "geometry"].item()


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_data(demo):
    again = make_demo(seed=DEFAULT_SEED)
    assert again.seed == demo.seed == 2009
    assert again.fingerprint() == demo.fingerprint()
    pd.testing.assert_frame_equal(again.registrations, demo.registrations)
    assert list(again.graph.edges(keys=True, data=True)) == list(demo.graph.edges(keys=True, data=True))


def test_different_seed_gives_different_data(demo):
    other = make_demo(seed=7)
    assert other.seed == 7
    assert other.fingerprint() != demo.fingerprint()
    assert not other.areas.geometry.geom_equals(demo.areas.geometry).all()
    assert other.graph.graph["source"] == "demo (seed 7)"


def test_fingerprint_sees_a_single_changed_value(demo):
    changed = demo.registrations.copy()
    changed.loc[0, "patients"] += 1
    tampered = dataclasses.replace(demo, registrations=changed)
    assert tampered.fingerprint() != demo.fingerprint()


def test_bad_seed_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        make_demo(seed=-1)
    with pytest.raises(TypeError, match="integer"):
        make_demo(seed=1.5)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- small areas
def test_area_counts_and_totals(demo):
    areas = demo.areas
    assert isinstance(areas, gpd.GeoDataFrame) and areas.crs.to_epsg() == 27700
    assert 130 <= len(areas) <= 170
    assert areas["lsoa_code"].is_unique
    assert areas["lsoa_code"].str.fullmatch(r"DEMO\d{4}").all()
    assert areas["name"].is_unique
    assert areas["population"].between(1_200, 2_800).all()
    assert 250_000 <= areas["population"].sum() <= 350_000
    assert areas["imd_score"].between(0, 100).all()
    assert set(areas["locality"]) == {"North", "South"}
    assert 10 <= areas["ward"].nunique() <= 30


def test_areas_tile_the_district(demo):
    district = _district(demo)
    cells = demo.areas.geometry.values
    assert set(demo.areas.geom_type) == {"Polygon"}
    assert shapely.is_valid(cells).all()
    assert shapely.coverage_is_valid(cells)  # no overlaps, shared edges match
    union = shapely.coverage_union_all(cells)
    assert union.symmetric_difference(district).area < 1e-6 * district.area
    assert demo.areas.area.sum() == pytest.approx(district.area, rel=1e-6)  # no overlaps
    # 15 km x 10 km-ish, placed in east London's grid square but not claimed real
    minx, miny, maxx, maxy = district.bounds
    assert 12_000 < maxx - minx < 17_000 and 8_000 < maxy - miny < 11_000
    assert 535_000 < district.centroid.x < 555_000 and 180_000 < district.centroid.y < 196_000


def test_population_weighted_centroids_lie_in_their_areas(demo):
    points = shapely.points(demo.areas["centroid_x"], demo.areas["centroid_y"])
    assert shapely.contains(demo.areas.geometry.values, points).all()


def test_deprivation_is_higher_in_the_south(demo):
    areas = demo.areas
    assert np.corrcoef(areas["centroid_y"], areas["imd_score"])[0, 1] < -0.4
    by_locality = areas.groupby("locality").apply(
        lambda g: np.average(g["imd_score"], weights=g["population"]), include_groups=False
    )
    assert by_locality["South"] > by_locality["North"] + 5


def test_localities_and_wards_nest(demo):
    areas = demo.areas
    assert (areas.groupby("ward")["locality"].nunique() == 1).all()
    localities = demo.boundary[demo.boundary["level"] == "locality"]
    assert len(localities) == 2
    assert localities["code"].tolist() == ["DEMOL1", "DEMOL2"]
    for _, row in localities.iterrows():
        name = row["name"].removeprefix("Demo District ")
        members = areas[areas["locality"] == name]
        assert members["population"].sum() >= 50_000
        assert row.geometry.geom_type == "Polygon"  # contiguous
        assert members.union_all().symmetric_difference(row.geometry).area < 1.0
    assert localities.area.sum() == pytest.approx(_district(demo).area, rel=1e-6)


# ----------------------------------------------------------------------------- practices
def test_practice_counts_and_list_sizes(demo):
    practices, population = demo.practices, demo.areas["population"].sum()
    assert 30 <= len(practices) <= 45
    assert practices["practice_code"].str.fullmatch(r"DEMOP\d{2}").all()
    assert practices["practice_code"].is_unique and practices["name"].is_unique
    sizes = practices["list_size"]
    assert sizes.between(2_000, 20_000).all()
    assert abs(sizes.sum() - population) <= 0.1 * population
    assert sizes.max() > 1.6 * sizes.median()  # a realistic skew: a few large practices


def test_registrations_sum_to_list_sizes(demo):
    reg = demo.registrations
    assert list(reg.columns) == ["practice_code", "lsoa_code", "patients"]
    assert (reg["patients"] > 0).all() and reg["patients"].dtype.kind == "i"
    assert not reg.duplicated(["practice_code", "lsoa_code"]).any()
    assert set(reg["lsoa_code"]) <= set(demo.areas["lsoa_code"])
    totals = reg.groupby("practice_code")["patients"].sum()
    lists = demo.practices.set_index("practice_code")["list_size"]
    pd.testing.assert_series_equal(totals.sort_index(), lists.sort_index(), check_names=False)


def test_patients_live_near_their_practice(demo):
    reg = demo.registrations.merge(demo.practices[["practice_code", "easting", "northing"]])
    reg = reg.merge(demo.areas[["lsoa_code", "centroid_x", "centroid_y"]])
    dist = np.hypot(reg["easting"] - reg["centroid_x"], reg["northing"] - reg["centroid_y"])
    patient_km = np.average(dist, weights=reg["patients"]) / 1_000
    px, py = demo.practices["easting"].to_numpy(), demo.practices["northing"].to_numpy()
    ax, ay = demo.areas["centroid_x"].to_numpy(), demo.areas["centroid_y"].to_numpy()
    resident_km = np.hypot(px[:, None] - ax, py[:, None] - ay).mean() / 1_000
    assert patient_km < 0.5 * resident_km
    # every practice draws most of its patients from within 3 km
    reg["near"] = (dist < 3_000) * reg["patients"]
    near = reg.groupby("practice_code")[["near", "patients"]].sum()
    assert (near["near"] / near["patients"] > 0.5).all()


# ----------------------------------------------------------------------------- sites and options
def test_sites(demo):
    sites = demo.sites
    assert sites["site_id"].is_unique and sites["name"].is_unique
    counts = sites["site_type"].value_counts()
    assert 3 <= counts["hospital"] <= 4
    assert 10 <= counts["community"] <= 15
    assert set(sites["status"]) == {"candidate", "required", "excluded"}
    assert (sites["status"] == "required").sum() == 1
    assert (sites["status"] == "excluded").sum() == 1
    assert sites.loc[sites["status"] == "required", "site_type"].item() == "community"
    hosted = sites["practice_code"].dropna()
    assert len(hosted) >= 3 and set(hosted) <= set(demo.practices["practice_code"])
    at = demo.practices.set_index("practice_code").loc[hosted, ["easting", "northing"]].to_numpy()
    np.testing.assert_allclose(sites.loc[hosted.index, ["easting", "northing"]].to_numpy(), at)


def test_options(demo):
    options = demo.options
    assert list(options.columns) == ["site_id", "option", "capital_cost", "capacity"]
    assert set(options["site_id"]) == set(demo.sites["site_id"])
    assert not options.duplicated(["site_id", "option"]).any()
    bounds = {"reuse": (0.2e6, 1e6), "refurbish": (2e6, 6e6), "new_build": (8e6, 20e6)}
    assert set(options["option"]) == set(bounds)
    for kind, (lo, hi) in bounds.items():
        assert options.loc[options["option"] == kind, "capital_cost"].between(lo, hi).all()
    capacity = options["capacity"]
    assert capacity.isna().any() and capacity.notna().any()
    assert (capacity.dropna() >= 50_000).all()


def test_points_lie_in_the_district_and_their_areas(demo):
    district = _district(demo)
    for frame in (demo.practices, demo.sites):
        assert district.contains(frame.geometry).all()
        np.testing.assert_array_equal(frame.geometry.x, frame["easting"])
        joined = gpd.sjoin(frame[["geometry"]], demo.areas[["lsoa_code", "geometry"]], predicate="within")
        assert (joined["lsoa_code"] == frame.loc[joined.index, "lsoa_code"]).all()
        assert len(joined) == len(frame)


# ----------------------------------------------------------------------------- road network
def test_graph_layout(demo):
    graph = demo.graph
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.graph["crs"] == "EPSG:27700"
    assert graph.graph["source"] == "demo (seed 2009)"
    assert 1_000 <= graph.number_of_nodes() <= 6_000
    assert nx.is_strongly_connected(graph)
    district = _district(demo)
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    assert shapely.contains_xy(district, xy[:, 0], xy[:, 1]).all()
    for _, _, data in graph.edges(data=True):
        assert data["highway"] in {"trunk", "primary", "secondary", "residential"}
        assert isinstance(data["oneway"], bool)
        assert 50 < data["length"] < 600
        assert data["travel_time"] == pytest.approx(data["length"] / (data["speed_kph"] / 3.6), abs=1e-3)


def test_road_hierarchy(demo):
    edges = pd.DataFrame([d for _, _, d in demo.graph.edges(data=True)])
    speed = edges.groupby("highway")["speed_kph"].mean()
    assert speed["trunk"] > speed["primary"] > speed["secondary"] > speed["residential"]
    assert set(edges.loc[edges["highway"] == "residential", "maxspeed"]) == {"20 mph", "30 mph"}
    share = edges["highway"].value_counts(normalize=True)
    assert share["residential"] > 0.6 and share["primary"] > 0.02
    # bridges over the river and the railway carry main roads and B-roads only
    bridges = edges[edges.get("bridge", pd.Series(dtype=str)) == "yes"]
    assert 4 <= len(bridges) <= 80
    assert "residential" not in set(bridges["highway"])


def test_one_way_streets(demo):
    graph = demo.graph
    one_way = [
        (u, v) for u, v, d in graph.edges(data=True)
        if d["highway"] == "residential" and d["oneway"]
    ]  # fmt: skip
    assert 3 <= len(one_way) <= 30
    assert not any(graph.has_edge(v, u) for u, v in one_way)
    two_way = [(u, v) for u, v, d in graph.edges(data=True) if not d["oneway"]]
    assert all(graph.has_edge(v, u) for u, v in two_way)


# ----------------------------------------------------------------------------- writing
def test_write_demo_files(written, demo):
    folder, paths = written
    assert set(paths) == set(DEMO_FILES)
    assert {p.name for p in folder.iterdir()} == set(DEMO_FILES.values())
    assert all(p.parent == folder and p.stat().st_size > 0 for p in paths.values())
    assert not [p for p in folder.parent.iterdir() if p != folder]  # no staging folder left


def test_written_tables_read_back(written, demo):
    _, paths = written
    areas = gpd.read_file(paths["areas"], layer="areas")
    assert areas.crs.to_epsg() == 27700
    pd.testing.assert_frame_equal(
        pd.DataFrame(areas.drop(columns="geometry")),
        pd.DataFrame(demo.areas.drop(columns="geometry")),
        check_dtype=False,
    )
    assert areas.geometry.geom_equals_exact(demo.areas.geometry, tolerance=1e-6).all()
    boundary = gpd.read_file(paths["boundaries"])
    assert boundary["level"].tolist() == ["district", "locality", "locality"]
    practices = pd.read_csv(paths["practices"])
    expected = pd.DataFrame(demo.practices.drop(columns="geometry"))
    pd.testing.assert_frame_equal(practices, expected, check_dtype=False)
    sites = pd.read_csv(paths["sites"])
    assert sites["site_id"].tolist() == demo.sites["site_id"].tolist()
    np.testing.assert_allclose(sites[["easting", "northing"]], demo.sites[["easting", "northing"]])
    pd.testing.assert_frame_equal(pd.read_csv(paths["registrations"]), demo.registrations, check_dtype=False)
    options = pd.read_csv(paths["options"])
    pd.testing.assert_frame_equal(options, demo.options, check_dtype=False)
    assert options["capacity"].isna().sum() == demo.options["capacity"].isna().sum()


def test_written_graph_reads_back_with_osmnx(written, demo):
    _, paths = written
    graph = ox.load_graphml(paths["roads"])
    assert graph.graph["crs"] == "EPSG:27700"
    assert graph.number_of_nodes() == demo.graph.number_of_nodes()
    assert graph.number_of_edges() == demo.graph.number_of_edges()
    for u, v, k, data in graph.edges(keys=True, data=True):
        assert isinstance(data["travel_time"], float) and isinstance(data["oneway"], bool)
        assert data["travel_time"] == demo.graph.edges[u, v, k]["travel_time"]
    some = next(iter(graph.nodes))
    assert graph.nodes[some]["x"] == demo.graph.nodes[some]["x"]
    assert nx.is_strongly_connected(graph)
    # osmnx can use it: nearest node of the first practice is within 150 m
    p = demo.practices.iloc[0]
    node = ox.distance.nearest_nodes(graph, p["easting"], p["northing"])
    assert math.hypot(graph.nodes[node]["x"] - p["easting"], graph.nodes[node]["y"] - p["northing"]) < 150


def test_written_files_are_reproducible(written, tmp_path):
    _, first = written
    second = write_demo(tmp_path / "again")
    for key in ("practices", "registrations", "sites", "options", "roads"):
        assert _sha256(first[key]) == _sha256(second[key]), key


def test_write_demo_refuses_to_overwrite_unless_asked(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    (folder / "areas.gpkg").write_text("old")
    with pytest.raises(FileExistsError, match="areas.gpkg"):
        write_demo(folder, seed=3)
    assert (folder / "areas.gpkg").read_text() == "old"
    paths = write_demo(folder, seed=3, overwrite=True)
    assert (folder / "notes.txt").read_text() == "keep me"
    assert gpd.read_file(paths["areas"])["lsoa_code"].iloc[0] == "DEMO0001"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # staging folder removed


def test_write_demo_into_empty_existing_folder(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    paths = write_demo(folder, seed=4)
    assert ox.load_graphml(paths["roads"]).graph["source"] == "demo (seed 4)"
    with pytest.raises(FileExistsError):
        write_demo(paths["areas"])  # a file, not a folder
