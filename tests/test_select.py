"""Selecting a study area by CCG, borough, box or polygon; the reference cases.

The north London OSM extract covers 51.598-51.632 N, 0.158-0.095 W. The natural rule that
gives the README's figures: practices *with a list size* whose NHS Choices point lies in
the box, and LSOAs whose *population-weighted centroid* lies in the box.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.errors import InputDataError
from geodata.ons import load_lsoas, read_lad_boundaries
from geodata.practices import load_practices
from geodata.select import anchor_points, select, selection_area
from geodata.settings import BNG, WGS84

NORTH_LONDON = (-0.158, 51.598, -0.095, 51.632)  # west, south, east, north
REDBRIDGE_LAD = "E09000026"
BOX_PRACTICES = {
    "E83034", "E83045", "E83621", "F85008", "F85020", "F85034", "F85055", "F85064",
    "F85065", "F85066", "F85072", "F85640", "F85642", "F85675", "F85700", "F85701",
}  # fmt: skip


@pytest.fixture(scope="module")
def box_practices(real_data):
    return load_practices(real_data, bbox=NORTH_LONDON)


@pytest.fixture(scope="module")
def london_lsoas(real_data):
    return load_lsoas(real_data)


@pytest.fixture(scope="module")
def boroughs(real_data):
    return read_lad_boundaries(real_data / "london" / "lad22-boundaries-gen20.gpkg")


def test_north_london_box_practices(box_practices):
    assert set(box_practices["practice_code"]) == BOX_PRACTICES
    assert len(box_practices) == 16
    assert box_practices["list_size"].sum() == 133_123
    # Myddleton Road Surgery (F85645) is in the box but dormant in epraccur, without a 2021 list.
    assert "F85645" not in set(box_practices["practice_code"])


def test_north_london_box_lsoas(real_data, london_lsoas):
    lsoas = load_lsoas(real_data, bbox=NORTH_LONDON)
    assert len(lsoas) == 64
    assert lsoas["population"].sum() == 119_218  # mid-2020; the README's ~111k is an older count
    assert lsoas["lad_name"].value_counts().to_dict() == {"Enfield": 29, "Haringey": 19, "Barnet": 16}
    # Same as selecting from all of London afterwards.
    assert set(select(london_lsoas, bbox=NORTH_LONDON)["lsoa_code"]) == set(lsoas["lsoa_code"])


def test_lsoas_are_selected_by_weighted_centroid_not_polygon(london_lsoas):
    by_centroid = select(london_lsoas, bbox=NORTH_LONDON)
    touching = london_lsoas[london_lsoas.to_crs(WGS84).intersects(shapely.box(*NORTH_LONDON))]
    assert len(touching) > len(by_centroid)
    assert set(by_centroid["lsoa_code"]) < set(touching["lsoa_code"])


def test_box_in_british_national_grid(london_lsoas):
    box = (530_000, 190_000, 533_000, 193_000)
    selected = select(london_lsoas, bbox=box, bbox_crs=BNG)
    x, y = london_lsoas["centroid_x"], london_lsoas["centroid_y"]
    expected = london_lsoas.loc[x.between(box[0], box[2]) & y.between(box[1], box[3]), "lsoa_code"]
    assert len(selected) > 0
    assert set(selected["lsoa_code"]) == set(expected)


def test_polygon_in_any_crs_matches_box(box_practices, london_lsoas):
    polygon = shapely.box(*NORTH_LONDON)
    expected = set(select(london_lsoas, bbox=NORTH_LONDON)["lsoa_code"])
    as_shapely = select(london_lsoas, polygon=polygon)  # lon/lat recognised
    as_frame = select(london_lsoas, polygon=gpd.GeoDataFrame(geometry=[polygon], crs=WGS84))
    in_bng = select(london_lsoas, polygon=selection_area(bbox=NORTH_LONDON), polygon_crs=BNG)
    assert set(as_shapely["lsoa_code"]) == set(as_frame["lsoa_code"]) == set(in_bng["lsoa_code"]) == expected


def test_select_by_ccg(real_data, box_practices):
    # In January 2021 Barnet (07M), Enfield (07X) and Haringey (08D) CCGs were North Central London (93C).
    assert len(select(box_practices, ccg="93C")) == 16
    assert len(select(box_practices, ccg=["07M", "99X"])) == 0
    # load_practices also matches the 2019 commissioner code of epraccur.
    barnet = load_practices(real_data, ccg="07M")
    assert {"E83034", "E83045", "E83621"} <= set(barnet["practice_code"])
    assert set(barnet["ccg_code"]) == {"93C"}


def test_select_by_lad_attribute(london_lsoas):
    redbridge = select(london_lsoas, lad=REDBRIDGE_LAD)
    assert len(redbridge) == 161 and redbridge["population"].sum() == 305_658


def test_select_practices_by_lad_spatially(real_data, boroughs):
    fine = real_data / "london" / "lad22-boundaries-gen20.gpkg"
    practices = load_practices(real_data, lad=REDBRIDGE_LAD, lad_boundaries_path=fine)
    by_ccg = load_practices(real_data, ccg="08N")
    # 42 practices of Redbridge CCG plus Chigwell Medical Centre (West Essex CCG), IG6 2TA.
    assert set(practices["practice_code"]) == set(by_ccg["practice_code"]) | {"F81062"}
    borough = boroughs.set_index("lad_code").geometry.loc[REDBRIDGE_LAD]
    assert practices.covered_by(borough).all()
    # the default national boundaries are super generalised (about 200 m): Chigwell Medical
    # Centre, close to the borough line, falls just outside them
    national = load_practices(real_data, lad=REDBRIDGE_LAD)
    assert set(national["practice_code"]) == set(by_ccg["practice_code"])


def test_lad_boundaries_given_as_frame(box_practices, boroughs, real_data):
    enfield = select(box_practices, lad="E09000010", lad_boundaries=boroughs)
    assert 0 < len(enfield) < len(box_practices)
    fine = real_data / "london" / "lad22-boundaries-gen20.gpkg"
    from_file = select(box_practices, lad="E09000010", lad_boundaries=fine)
    assert set(from_file["practice_code"]) == set(enfield["practice_code"])


def test_buffer_widens(london_lsoas):
    inside = select(london_lsoas, polygon=shapely.box(*NORTH_LONDON))
    near = select(london_lsoas, polygon=shapely.box(*NORTH_LONDON), buffer_m=500)
    assert set(inside["lsoa_code"]) < set(near["lsoa_code"])


def test_criteria_combine(london_lsoas):
    both = select(london_lsoas, bbox=NORTH_LONDON, lad="E09000010")
    assert len(both) == 29 and set(both["lad_name"]) == {"Enfield"}


def test_anchor_points():
    polygons = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=BNG)
    assert anchor_points(polygons).iloc[0].within(polygons.geometry.iloc[0])
    weighted = polygons.assign(centroid_x=[1.0], centroid_y=[2.0])
    assert anchor_points(weighted).iloc[0].equals(shapely.Point(1, 2))


@pytest.mark.parametrize(
    ("bbox", "fragments"),
    [
        ((-0.095, 51.598, -0.158, 51.632), ["west -0.095 must be less than east -0.158"]),
        ((-0.158, 51.632, -0.095, 51.598), ["south 51.632 must be less than north 51.598"]),
        ((-0.158, 95, -0.095, 96), ["latitudes 95, 96 are outside -90..90"]),
        ((-0.095, 51.632, -0.158, 51.598), ["west", "south"]),
        ((1, 2, 3), ["expected four numbers"]),
    ],
)
def test_bad_bbox(london_lsoas, bbox, fragments):
    with pytest.raises(InputDataError) as info:
        select(london_lsoas, bbox=bbox)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert len(info.value.problems) == len(fragments)


def test_selection_errors(london_lsoas, boroughs):
    with pytest.raises(InputDataError, match="ccg_code"):
        select(london_lsoas, ccg="08N")
    with pytest.raises(InputDataError, match="unknown LAD code"):
        select(
            gpd.GeoDataFrame(geometry=[shapely.Point(530_000, 180_000)], crs=BNG),
            lad="E99999999",
            lad_boundaries=boroughs,
        )
    with pytest.raises(InputDataError, match="empty"):
        select(london_lsoas, polygon=shapely.Polygon())
    with pytest.raises(InputDataError, match="no CRS"):
        select(
            london_lsoas.drop(columns=["centroid_x", "centroid_y"]), polygon=gpd.GeoSeries([shapely.box(0, 0, 1, 1)])
        )


_LON = st.floats(-0.5, 0.3, allow_nan=False)
_LAT = st.floats(51.3, 51.7, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(lons=st.lists(_LON, min_size=1, max_size=30), lats=st.data(), box=st.tuples(_LON, _LON, _LAT, _LAT))
def test_bbox_selection_is_exact_in_lon_lat(lons, lats, box):
    lat_values = lats.draw(st.lists(_LAT, min_size=len(lons), max_size=len(lons)))
    west, east = sorted(box[:2])
    south, north = sorted(box[2:])
    if west == east or south == north:
        return
    points = gpd.GeoDataFrame(
        {"i": np.arange(len(lons))}, geometry=gpd.points_from_xy(lons, lat_values), crs=WGS84
    ).to_crs(BNG)
    selected = select(points, bbox=(west, south, east, north))
    back = points.to_crs(WGS84)  # the round trip is what select compares
    expected = back.geometry.x.between(west, east) & back.geometry.y.between(south, north)
    assert sorted(selected["i"]) == sorted(points.loc[expected, "i"])
