"""Today's published layouts of the ONS and Ordnance Survey files, built from the real data.

Each file is written in tmp_path in the layout its publisher uses today (nothing is
fetched): ONS's LSOA (Dec 2021) population-weighted centroids, local authority district
boundaries of 2023 and 2024, and OS Code-Point Open as the zip it is downloaded as and the
folder it unpacks to.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from catchment import build as build_module
from catchment.build import build_from_scenario
from catchment.scenario import REGISTRATIONS_FILE, Scenario, read_scenario
from geodata.boundaries import lsoa_vintage
from geodata.cache import folder_digest
from geodata.errors import InputDataError
from geodata.ons import LSOA_FILES, read_lad_boundaries, read_lsoa_centroids
from geodata.postcodes import codepoint_folder_files, read_codepoint
from geodata.practices import PRACTICE_FILES, load_practices
from geodata.settings import BNG

ROOT = Path(__file__).resolve().parents[1]
CODEPOINT = "postcodes/codepoint-open-2014-london-areas.csv.gz"
HEADERS = "postcodes/Code-Point_Open_Column_Headers.csv"


def test_lsoa_2021_centroids_as_ons_publishes_them(real_data, tmp_path):
    """``LSOA_PopCentroids_EW_2021_V3.csv``: FID, LSOA21CD, GlobalID, lower-case x, y; no name column."""
    b21 = gpd.read_file(real_data / "london/lsoa21-boundaries-gen20.gpkg")
    inner = b21.representative_point()
    published = pd.DataFrame(
        {
            "FID": range(1, len(b21) + 1),
            "LSOA21CD": b21["LSOA21CD"],
            "GlobalID": [f"{{{i:08X}-0000-4000-8000-000000000000}}" for i in range(len(b21))],
            "x": inner.x.round(3),
            "y": inner.y.round(3),
        }
    )
    path = tmp_path / "LSOA_PopCentroids_EW_2021_V3.csv"
    published.to_csv(path, index=False)
    centroids = read_lsoa_centroids(path, land=real_data / PRACTICE_FILES["land"])
    assert str(lsoa_vintage(centroids)) == "LSOA 2021 (column LSOA21CD)"
    assert centroids["lsoa_code"].tolist() == b21["LSOA21CD"].tolist()
    assert (centroids["name"] == "").all()
    assert centroids.geometry.distance(gpd.GeoSeries(inner.to_numpy(), crs=BNG)).max() < 0.01


@pytest.mark.parametrize("year", [23, 24])
@pytest.mark.parametrize("kind", ["geojson", "gpkg"])
def test_lad_boundaries_of_later_years(real_data, tmp_path, year, kind):
    """ONS's LAD files of December 2023 and 2024: GeoJSON in WGS84 or GeoPackage in EPSG:27700."""
    if kind == "geojson":
        source = gpd.read_file(real_data / "england/lad17-boundaries-super-generalised.geojson")
        code, name = "lad17cd", "lad17nm"
    else:
        source = gpd.read_file(real_data / "london/lad22-boundaries-gen20.gpkg")
        code, name = "LAD22CD", "LAD22NM"
    published = gpd.GeoDataFrame(
        {
            "FID": range(1, len(source) + 1),
            f"LAD{year}CD": source[code],
            f"LAD{year}NM": source[name],
            f"LAD{year}NMW": "",
            "BNG_E": 0,
            "BNG_N": 0,
            "LONG": 0.0,
            "LAT": 0.0,
            "GlobalID": "",
        },
        geometry=source.geometry,
        crs=source.crs,
    )
    path = tmp_path / f"LAD_DEC_20{year}_UK_BGC.{kind}"
    published.to_crs(4326 if kind == "geojson" else 27700).to_file(path)
    lads = read_lad_boundaries(path)
    assert lads.crs.equals(BNG)
    assert lads["lad_code"].tolist() == source[code].tolist()
    assert lads.set_index("lad_code").at["E09000026", "lad_name"] == "Redbridge"


@pytest.fixture(scope="module")
def codepoint_zip(real_data, tmp_path_factory) -> Path:
    """Code-Point Open as downloaded: ``Data/CSV/<area>.csv`` (headerless) and ``Doc/`` headers."""
    areas: dict[str, list[str]] = {}
    with gzip.open(real_data / CODEPOINT, "rt", encoding="utf-8") as handle:
        for line in handle:
            area = re.match(r'"([A-Z]+)', line)
            assert area is not None
            areas.setdefault(area.group(1).lower(), []).append(line)
    path = tmp_path_factory.mktemp("codepoint") / "codepo_gb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for area, lines in sorted(areas.items()):
            archive.writestr(f"Data/CSV/{area}.csv", "".join(lines))
        archive.write(real_data / HEADERS, "Doc/Code-Point_Open_Column_Headers.csv")
        archive.writestr("Doc/licence.txt", "Contains OS data (c) Crown copyright and database right\n")
    return path


def test_codepoint_zip_as_published(real_data, codepoint_zip, caplog):
    """The zip was refused as "an Excel workbook (.xlsx) or another zip archive"."""
    with caplog.at_level(logging.INFO, logger="geodata.postcodes"):
        postcodes = read_codepoint(codepoint_zip)  # the zip's own Doc/ headers
    assert "codepo_gb.zip: read 217,488 postcodes from 20 area files" in caplog.messages
    single = read_codepoint(real_data / CODEPOINT, headers_path=real_data / HEADERS)
    pd.testing.assert_frame_equal(
        pd.DataFrame(postcodes).sort_values("postcode", ignore_index=True),
        pd.DataFrame(single).sort_values("postcode", ignore_index=True),
    )


def _unpack(archive_path: Path, folder: Path) -> Path:
    """The folder the Code-Point Open zip unpacks to."""
    with zipfile.ZipFile(archive_path) as archive:
        archive.extractall(folder)
    return folder


def test_codepoint_folder_as_unpacked(codepoint_zip, tmp_path, caplog):
    """The unpacked folder was refused ("a folder, not a Code-Point Open file")."""
    from_zip = pd.DataFrame(read_codepoint(codepoint_zip)).sort_values("postcode", ignore_index=True)
    unpacked = _unpack(codepoint_zip, tmp_path / "codepo_gb")
    with caplog.at_level(logging.INFO, logger="geodata.postcodes"):
        from_folder = read_codepoint(unpacked)  # the folder's own Doc/ headers
    assert "codepo_gb: read 217,488 postcodes from 20 area files" in caplog.messages
    pd.testing.assert_frame_equal(pd.DataFrame(from_folder).sort_values("postcode", ignore_index=True), from_zip)

    flat = tmp_path / "areas"  # the area CSVs directly, the headers file beside them
    flat.mkdir()
    for area in (unpacked / "Data/CSV").iterdir():
        shutil.copy(area, flat / area.name)
    shutil.copy(unpacked / "Doc/Code-Point_Open_Column_Headers.csv", flat)
    from_flat = pd.DataFrame(read_codepoint(flat)).sort_values("postcode", ignore_index=True)
    pd.testing.assert_frame_equal(from_flat, from_zip)


def test_codepoint_folder_of_gzipped_area_files(codepoint_zip, tmp_path):
    """A folder of area files kept as .csv.gz was refused ("a folder without Code-Point Open area files")."""
    from_zip = pd.DataFrame(read_codepoint(codepoint_zip)).sort_values("postcode", ignore_index=True)
    unpacked = _unpack(codepoint_zip, tmp_path / "codepo_gb")
    flat = tmp_path / "areas"  # half the areas gzipped, half not, the headers file beside them
    flat.mkdir()
    for i, area in enumerate(sorted((unpacked / "Data/CSV").iterdir())):
        if i % 2:
            shutil.copy(area, flat / area.name)
        else:
            (flat / f"{area.name}.gz").write_bytes(gzip.compress(area.read_bytes()))
    shutil.copy(unpacked / "Doc/Code-Point_Open_Column_Headers.csv", flat)
    assert "br.csv.gz" in codepoint_folder_files(flat)
    from_flat = pd.DataFrame(read_codepoint(flat)).sort_values("postcode", ignore_index=True)
    pd.testing.assert_frame_equal(from_flat, from_zip)

    shutil.copy(unpacked / "Data/CSV/br.csv", flat)  # the same area twice
    with pytest.raises(InputDataError) as info:
        read_codepoint(flat)
    [problem] = info.value.problems
    assert problem.file == str(flat)
    assert problem.message == "br.csv and br.csv.gz hold the same area: keep one of them"

    gzipped = unpacked / "Data/CSV/br.csv.gz"  # in the unpacked layout too
    gzipped.write_bytes(gzip.compress((unpacked / "Data/CSV/br.csv").read_bytes()))
    (unpacked / "Data/CSV/br.csv").unlink()
    assert "Data/CSV/br.csv.gz" in codepoint_folder_files(unpacked)


def test_a_codepoint_folder_that_cannot_be_listed_is_an_error(codepoint_zip, tmp_path, monkeypatch):
    """A sub-folder that could not be listed was skipped: its area files went unread without a
    word (here, only the stray area file at the top of the folder was read).

    Tests run as root, whom file permissions do not stop, so the listing is made to fail
    with the PermissionError that ``os.scandir`` raises for a folder without read access.
    """
    unpacked = _unpack(codepoint_zip, tmp_path / "codepo_gb")
    data = unpacked / "Data/CSV"
    shutil.copy(data / "br.csv", unpacked)
    real_scandir = os.scandir

    def scandir(path=".", *args):
        if Path(path) == data:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)
    for read in (read_codepoint, codepoint_folder_files, folder_digest):
        with pytest.raises(InputDataError) as info:
            read(unpacked)
        [problem] = info.value.problems
        assert str(problem) == f"{data}: a folder of Code-Point Open that cannot be listed (Permission denied)"


def test_changed_area_file_of_the_folder_is_read_again(tmp_path, real_data, codepoint_zip, monkeypatch):
    """A folder had no digest: a build cached from it would be reused after an area file changed."""
    unpacked = _unpack(codepoint_zip, tmp_path / "codepo_gb")
    scenario = _greenwich(tmp_path, real_data, unpacked)
    reads: list[int] = []
    real = build_module._build_data
    monkeypatch.setattr(build_module, "_build_data", lambda *a, **k: reads.append(1) or real(*a, **k))
    before = build_from_scenario(scenario, data_dir=real_data)
    assert len(reads) == 1 and str(unpacked) in before.input_files
    build_from_scenario(scenario, data_dir=real_data)
    assert len(reads) == 1, "the unchanged folder was read again"

    area = unpacked / "Data/CSV/se.csv"
    text = area.read_text()
    [row] = [line for line in text.splitlines(keepends=True) if line.startswith('"SE186AB"')]
    fields = row.split(",")
    fields[2] = str(int(fields[2]) + 50)  # the easting, 50 m east
    area.write_text(text.replace(row, ",".join(fields)))
    after = build_from_scenario(scenario, data_dir=real_data)
    assert len(reads) == 2, "the changed area file was not read again"
    assert after.input_files[str(unpacked)] != before.input_files[str(unpacked)]
    moved = [b.units.set_index("unit_id").geometry["Y03296"] for b in (before, after)]
    assert moved[1].x - moved[0].x == pytest.approx(50)


def test_codepoint_zip_problems_name_the_area_file(tmp_path):
    path = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Data/CSV/ig.csv", '"IG1 4DR",10,544000,186900,"E92000001","","","","E09000026",""\n')
        archive.writestr("Data/CSV/rm.csv", '"RM6 4XX",10,547000,188x00,"E92000001","","","","E09000026",""\n')
        archive.writestr("Doc/Code-Point_Open_Column_Headers.csv", "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\n")
    with pytest.raises(InputDataError) as info:
        read_codepoint(path)
    [problem] = info.value.problems
    assert (problem.file, problem.row, problem.column) == (f"{path} (Data/CSV/rm.csv)", 1, "4 (northing)")
    unpacked = _unpack(path, tmp_path / "codepo_gb")
    with pytest.raises(InputDataError) as info:
        read_codepoint(unpacked)
    [problem] = info.value.problems
    assert (problem.file, problem.row, problem.column) == (str(unpacked / "Data/CSV/rm.csv"), 1, "4 (northing)")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "licence.txt").write_text("Contains OS data\n")
    with pytest.raises(InputDataError, match=r"a folder without Code-Point Open area files \(Data/CSV/\*\.csv, or"):
        read_codepoint(docs)
    empty = tmp_path / "other.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "no postcodes here\n")
    with pytest.raises(InputDataError, match=r"a zip archive without Code-Point Open area files \(Data/CSV/\*\.csv\)"):
        read_codepoint(empty)


def test_greenwich_practices_geocoded_from_the_zip(real_data, codepoint_zip):
    """Y03296 (Clover Health Centre, SE18 6AB) is not in the 2019 NHS Choices file: placed by postcode."""
    greenwich = load_practices(real_data, ccg="08A", codepoint_path=codepoint_zip).set_index("practice_code")
    assert greenwich.at["Y03296", "coord_source"] == "codepoint"
    point = greenwich.at["Y03296", "geometry"]
    default = load_practices(real_data, ccg="08A").set_index("practice_code").at["Y03296", "geometry"]
    assert point.equals(default)


def _greenwich(tmp_path: Path, real_data: Path, codepoint: Path) -> Scenario:
    """Greenwich's practices (08A) with every [data] file named, Code-Point Open being ``codepoint``."""
    roles = {
        role: real_data / default
        for role, default in (PRACTICE_FILES | LSOA_FILES | {"registrations": REGISTRATIONS_FILE}).items()
        if role not in {"codepoint", "codepoint_headers", "population"}
    }
    roles["codepoint"] = codepoint
    text = (ROOT / "scenarios/redbridge.toml").read_text().replace('ccg = "08N"', 'ccg = "08A"')
    text += "\n[data]\n" + "".join(f'{role} = "{path}"\n' for role, path in roles.items())
    scenario = tmp_path / "greenwich.toml"
    scenario.write_text(text)
    return read_scenario(scenario)


def test_a_data_folder_holding_only_the_zip_needs_no_headers_file(tmp_path, real_data, codepoint_zip):
    """Without a headers file beside it, the scenario stopped: "Code-Point Open column headers file not found"."""
    folder = tmp_path / "data"  # no postcodes/Code-Point_Open_Column_Headers.csv
    folder.mkdir()
    built = build_from_scenario(_greenwich(tmp_path, real_data, codepoint_zip), data_dir=folder, cache=False)
    assert "Y03296" in set(built.units["unit_id"])
