"""ONS / MHCLG / OS loaders on the real published files (counts as in the data README)."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata.boundaries import lsoa_vintage
from geodata.errors import InputDataError
from geodata.ons import (
    load_lsoas,
    read_imd,
    read_lad_boundaries,
    read_lsoa_boundaries,
    read_lsoa_centroids,
    read_lsoa_population,
)
from geodata.postcodes import CODEPOINT_COLUMNS, normalise_postcode, read_codepoint
from geodata.settings import BNG

REDBRIDGE = "E09000026"


@pytest.fixture(scope="module")
def england(real_data):
    return real_data / "england"


@pytest.fixture(scope="module")
def london(real_data):
    return real_data / "london"


def test_lsoa_centroids(england):
    centroids = read_lsoa_centroids(england / "lsoa11-population-weighted-centroids.csv")
    assert len(centroids) == 34_753
    assert list(centroids.columns) == ["lsoa_code", "name", "geometry"]
    # The BOM is not glued to the first column name and X/Y were read as longitude/latitude.
    assert centroids.crs.equals(BNG)
    first = centroids.iloc[0]
    assert first["lsoa_code"] == "E01008657" and first["name"] == "South Tyneside 009F"
    assert 430_000 < first.geometry.x < 440_000 and 560_000 < first.geometry.y < 570_000
    assert centroids["lsoa_code"].str.match(r"^[EW]01\d{6}$").all()


def test_lsoa_centroids_in_bng_detected(tmp_path):
    csv = tmp_path / "centroids_bng.csv"
    csv.write_text("X,Y,lsoa11cd,lsoa11nm\n544214.1,189183.0,E01003638,Redbridge 017A\n")
    (point,) = read_lsoa_centroids(csv).geometry
    assert point.equals_exact(shapely.Point(544214.1, 189183.0), 1e-6)


def test_lsoa_boundaries_2011(london):
    lsoas = read_lsoa_boundaries(london / "lsoa11-boundaries-gen20.gpkg")
    assert len(lsoas) == 4_835
    assert list(lsoas.columns) == ["lsoa_code", "name", "msoa_code", "lad_code", "lad_name", "geometry"]
    assert lsoas.crs.equals(BNG)
    assert lsoas["lsoa_code"].is_unique
    assert (lsoas["lad_code"] == REDBRIDGE).sum() == 161
    assert set(lsoas.loc[lsoas["lad_code"] == REDBRIDGE, "lad_name"]) == {"Redbridge"}
    assert lsoas["lad_code"].nunique() == 33


def test_lsoa_boundaries_2021(london):
    lsoas = read_lsoa_boundaries(london / "lsoa21-boundaries-gen20.gpkg")
    assert len(lsoas) == 4_994
    assert lsoas["lad_code"].nunique() == 33  # from LAD22CD
    assert lsoas["msoa_code"].str.startswith("E02").all()
    assert lsoas.crs.equals(BNG)


def test_lsoa_population(london):
    population = read_lsoa_population(london / "lsoa11-mid2020-population.csv")
    assert len(population) == 4_835
    assert list(population.columns) == [
        "lsoa_code", "name", "lad_code", "lad_name", "population", "population_0_15", "population_16_29",
        "population_30_44", "population_45_64", "population_65_plus",
    ]  # fmt: skip
    assert population["population"].sum() == 9_002_488
    bands = population.filter(like="population_").sum(axis=1)
    assert (bands == population["population"]).all()
    city = population.set_index("lsoa_code").loc["E01000001"]
    assert city["population"] == 1_749 and city["population_65_plus"] == 455


def test_imd(england):
    imd = read_imd(england / "lsoa11-imd2019.parquet")
    assert len(imd) == 32_844
    assert imd.columns[:2].tolist() == ["lsoa_code", "imd_score"]
    assert {"income_score", "barriers_score", "population_total", "population_60_plus"} <= set(imd.columns)
    assert imd["population_total"].dtype == "int64"
    assert imd["lsoa_code"].str.startswith("E01").all() and imd["lsoa_code"].is_unique
    city = imd.set_index("lsoa_code").loc["E01000001"]
    assert city["imd_score"] == pytest.approx(6.208)


def test_lad_boundaries_2017_geojson(england):
    lads = read_lad_boundaries(england / "lad17-boundaries-super-generalised.geojson")
    assert len(lads) == 391
    assert list(lads.columns) == ["lad_code", "lad_name", "geometry"]
    assert lads.crs.equals(BNG)  # reprojected from WGS84
    redbridge = lads.set_index("lad_code").loc[REDBRIDGE]
    assert redbridge["lad_name"] == "Redbridge"
    assert 50e6 < redbridge.geometry.area < 65e6  # 56 km2, in square metres


def test_lad_boundaries_2022_gpkg(london):
    lads = read_lad_boundaries(london / "lad22-boundaries-gen20.gpkg")
    assert len(lads) == 33
    assert lads.set_index("lad_code").loc[REDBRIDGE, "lad_name"] == "Redbridge"
    assert lads.crs.equals(BNG)


@pytest.fixture(scope="module")
def redbridge_lsoas(real_data):
    return load_lsoas(real_data, lad=REDBRIDGE)


def test_a_centroid_far_from_its_own_lsoa_is_named(tmp_path, real_data):
    """A centroid row moved 230 km (to the Peak District) was accepted, and its LSOA got 581-min journeys."""
    source = real_data / "england" / "lsoa11-population-weighted-centroids.csv"
    text = source.read_text(encoding="utf-8-sig")
    row = "0.027668377936083,51.580287400974299,19427,E01003777"
    assert text.count(row) == 1
    moved = tmp_path / "centroids.csv"
    moved.write_text(text.replace(row, "-1.5,53.0,19427,E01003777"), encoding="utf-8")
    with pytest.raises(InputDataError) as info:
        load_lsoas(real_data, lad=REDBRIDGE, centroids_path=moved)
    [problem] = info.value.problems
    assert problem.file == str(moved) and problem.column == "X, Y"
    assert "'E01003777'" in problem.message and "km from that LSOA's boundary" in problem.message


def test_load_lsoas_redbridge(redbridge_lsoas):
    lsoas = redbridge_lsoas
    assert len(lsoas) == 161
    assert lsoas.crs.equals(BNG)
    assert set(lsoas["lad_code"]) == {REDBRIDGE}
    assert lsoas["population"].sum() == 305_658  # mid-2020 (the README's 278,970 is the 2011 census)
    assert lsoas["imd_score"].notna().all()
    assert not any(c.startswith("population_total") for c in lsoas.columns)  # IMD's mid-2015 counts not mixed in
    assert lsoas.columns[-3:].tolist() == ["centroid_x", "centroid_y", "geometry"]
    assert lsoas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()


def test_population_weighted_centroids_lie_in_their_lsoa(redbridge_lsoas):
    centroids = gpd.points_from_xy(redbridge_lsoas["centroid_x"], redbridge_lsoas["centroid_y"])
    inside = redbridge_lsoas.geometry.buffer(25).covers(gpd.GeoSeries(centroids, crs=BNG))
    assert inside.all()


def test_codepoint(real_data, caplog):
    folder = real_data / "postcodes"
    with caplog.at_level(logging.INFO, logger="geodata.postcodes"):
        postcodes = read_codepoint(
            folder / "codepoint-open-2014-london-areas.csv.gz",
            headers_path=folder / "Code-Point_Open_Column_Headers.csv",
        )
    # 217,555 lines in the file (the README says 217,554); 67 have no coordinates (quality 90).
    assert len(postcodes) == 217_555 - 67
    assert "dropped 67 postcode(s) without coordinates" in caplog.text
    expected = [c for c in CODEPOINT_COLUMNS if c not in {"easting", "northing"}] + ["geometry"]
    assert list(postcodes.columns) == expected
    assert postcodes.crs.equals(BNG)
    first = postcodes.iloc[0]
    assert first["postcode"] == "E1 0AA"  # published as "E1  0AA"
    assert (first.geometry.x, first.geometry.y) == (535267, 181084)
    assert first["lad_code"] == "E09000030"
    assert postcodes["postcode"].str.match(r"^[A-Z0-9]{2,4} [0-9][A-Z]{2}$").all()
    assert set(postcodes["quality"]) <= {10, 30, 40, 50, 60}


def test_codepoint_default_layout_matches_header_file(real_data, tmp_path):
    folder = real_data / "postcodes"
    sample = tmp_path / "sample.csv"
    sample.write_text('"IG1 4DR",10,544000,186900,"E92000001","E19000003","E18000007","","E09000026","E05000496"\n')
    with_headers = read_codepoint(sample, headers_path=folder / "Code-Point_Open_Column_Headers.csv")
    default = read_codepoint(sample)
    pd.testing.assert_frame_equal(pd.DataFrame(with_headers), pd.DataFrame(default))
    assert default.loc[0, "lad_code"] == REDBRIDGE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("e1  0aa", "E1 0AA"), ("IG14DR", "IG1 4DR"), (" sw1a 1aa ", "SW1A 1AA"), ("ec1a\t1bb", "EC1A 1BB"), ("n1", "N1")],
)
def test_normalise_postcode(raw, expected):
    assert normalise_postcode(raw) == expected
    assert normalise_postcode(pd.Series([raw])).tolist() == [expected]


def test_normalise_postcode_keeps_missing():
    result = normalise_postcode(pd.Series(["ig1 4dr", None]))
    assert result.iloc[0] == "IG1 4DR" and pd.isna(result.iloc[1])
    assert normalise_postcode(None) is None


#: The prepared IMD file's columns under their names in the Ministry's published File 7
#: (English Indices of Deprivation 2019: scores, ranks, deciles and population denominators).
_FILE_7 = {
    "IMD": "Index of Multiple Deprivation (IMD) Score",
    "Income": "Income Score (rate)",
    "Employment": "Employment Score (rate)",
    "Education": "Education, Skills and Training Score",
    "Health": "Health Deprivation and Disability Score",
    "Crime": "Crime Score",
    "Barriers (H&S)": "Barriers to Housing and Services Score",
    "Environment": "Living Environment Score",
    "IDACI": "Income Deprivation Affecting Children Index (IDACI) Score (rate)",
    "IDAOPI": "Income Deprivation Affecting Older People (IDAOPI) Score (rate)",
    "YouthSubDomain": "Children and Young People Sub-domain Score",
    "AdultSkills": "Adult Skills Sub-domain Score",
    "Barriers (Geo)": "Geographical Barriers Sub-domain Score",
    "Barriers (Wider)": "Wider Barriers Sub-domain Score",
    "IndoorsSubDomain": "Indoors Sub-domain Score",
    "OutdoorSubDomain": "Outdoors Sub-domain Score",
    "Population (Total)": "Total population: mid 2015 (excluding prisoners)",
    "Population (0-15)": "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "Population (16-59)": "Population aged 16-59: mid 2015 (excluding prisoners)",
    "Population (60+)": "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "Population (Working)": (
        "Working age population 18-59/64: for use with Employment Deprivation Domain (excluding prisoners) "
    ),
}


@pytest.mark.parametrize("year", [2011, 2021])
def test_imd_as_published(england, tmp_path, year):
    """The Ministry's File 7 reads as the prepared file does: same LSOAs, scores and populations."""
    prepared = pd.read_parquet(england / "lsoa11-imd2019.parquet")
    published = prepared.rename(columns=_FILE_7).reset_index(names=f"LSOA code ({year})")
    published.insert(1, f"LSOA name ({year})", "Somewhere 001A")
    published.insert(2, "Local Authority District code (2019)", "E09000001")
    published.insert(3, "Local Authority District name (2019)", "City of London")
    published.insert(5, "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)", 1)
    published.insert(6, "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)", 1)
    path = tmp_path / "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv"
    published.to_csv(path, index=False)
    expected = read_imd(england / "lsoa11-imd2019.parquet")
    got = read_imd(path)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    assert lsoa_vintage(got).year == year  # from the code column's name, "LSOA code (2021)"

    older = "Older population aged 60 and over: mid 2015 (excluding prisoners)"
    published[older] = published[older].astype(object)
    published.loc[3, older] = "many"
    published.to_csv(path, index=False)
    with pytest.raises(InputDataError) as err:
        read_imd(path)
    assert f"row 5, column '{older}': 'many' is not a number" in str(err.value)  # the file's own name

    own = prepared.reset_index().rename(columns={"Crime": _FILE_7["Crime"]})  # a prepared table, one long name
    own.to_csv(tmp_path / "own.csv", index=False)
    assert read_imd(tmp_path / "own.csv")["imd_score"].equals(expected["imd_score"])  # still the prepared layout

    published.drop(columns=_FILE_7["IMD"]).to_csv(path, index=False)
    with pytest.raises(InputDataError, match=r"Index of Multiple Deprivation \(IMD\) Score"):  # not 'IMD'
        read_imd(path)


def test_imd_refuses_an_age_band_above_the_total_or_negative(england, tmp_path):
    """r8: a File 7 whose 60-and-over population was five times the total was read as it was.

    Each row's bands (0-15, 16-59, 60 and over) are parts of its total; all problems are named
    at once. The working-age denominator is not a band of the total (IMD 2019 publishes more
    working-age people than people in 10 LSOAs), so the real file still reads.
    """
    prepared = pd.read_parquet(england / "lsoa11-imd2019.parquet").iloc[:6]
    published = prepared.rename(columns=_FILE_7).reset_index(names="LSOA code (2011)")
    total, older, children = (_FILE_7[c] for c in ("Population (Total)", "Population (60+)", "Population (0-15)"))
    published.loc[1, older] = published.loc[1, total] * 5
    published.loc[2, children] = published.loc[2, total] + 1
    published.loc[3, older] = -7
    path = tmp_path / "imd.csv"
    published.to_csv(path, index=False)
    with pytest.raises(InputDataError) as err:
        read_imd(path)
    text = str(err.value)
    assert len(err.value.problems) == 3
    big = published.loc[1, older]
    assert f"row 3, column '{older}': {big} is above {published.loc[1, total]}, the row's '{total}'" in text
    assert f"row 4, column '{children}': {published.loc[2, total] + 1} is above" in text
    assert f"row 5, column '{older}': '-7' is below the minimum 0" in text

    own = prepared.copy()  # the prepared layout: rows are record numbers
    own.iloc[4, own.columns.get_loc("Population (60+)")] = own["Population (Total)"].iloc[4] + 1
    own.to_parquet(tmp_path / "imd.parquet")
    with pytest.raises(InputDataError, match=r"row 5, column 'Population \(60\+\)': \d+ is above \d+, the row's"):
        read_imd(tmp_path / "imd.parquet")


def test_lsoa_population_as_ons_publishes_lsoa_2021(london, tmp_path):
    """A sheet of ONS's mid-year estimates by LSOA 2021, saved as CSV, reads as the prepared file."""
    prepared = read_lsoa_population(london / "lsoa11-mid2020-population.csv")
    sheet = pd.DataFrame(
        {
            "LAD 2021 Code": prepared["lad_code"],
            "LAD 2021 Name": prepared["lad_name"],
            "LSOA 2021 Code": prepared["lsoa_code"],
            "LSOA 2021 Name": prepared["name"],
            "Total": prepared["population"].map("{:,}".format),
            "F0 to 15": prepared["population_0_15"] // 2,
            "M0 to 15": prepared["population_0_15"] - prepared["population_0_15"] // 2,
        }
    )
    path = tmp_path / "sapelsoabroadagetablefinal.csv"
    sheet.to_csv(path, index=False)
    got = read_lsoa_population(path)
    pd.testing.assert_frame_equal(got, prepared[["lsoa_code", "name", "lad_code", "lad_name", "population"]])
    assert lsoa_vintage(got).year == 2021  # from the column's name
