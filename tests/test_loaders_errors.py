"""Bad input files: every problem is named by file, row and column, all at once."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata.errors import DataWarning, InputDataError, MissingFileError
from geodata.nhs import (
    read_epraccur,
    read_list_sizes,
    read_nhs_choices_gp,
    read_nhs_choices_hospitals,
    read_practice_lsoa,
)
from geodata.ons import (
    read_imd,
    read_lad_boundaries,
    read_lsoa_boundaries,
    read_lsoa_centroids,
    read_lsoa_population,
)
from geodata.postcodes import read_codepoint
from geodata.practices import PRACTICE_FILES, load_practices

LIST_HEADER = "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS"
CHOICES_HEADER = "¬".join(
    ["OrganisationID", "OrganisationCode", "OrganisationName", "Postcode", "Latitude", "Longitude", "ParentODSCode"]
)
HOSPITAL_HEADER = "¬".join(
    ["OrganisationCode", "OrganisationName", "Sector", "Postcode", "Latitude", "Longitude", "ParentODSCode"]
)


def epraccur_line(code: str, postcode: str, *, status: str = "A", setting: str = "4", opened: str = "19740401") -> str:
    """One line of the official headerless epraccur layout (27 columns)."""
    fields = [""] * 27
    fields[0], fields[1], fields[9], fields[10] = code, f"PRACTICE {code}", postcode, opened
    fields[12], fields[14], fields[25] = status, "08N", setting
    return ",".join(f'"{f}"' for f in fields)


def list_line(code: str, patients: str, *, postcode: str = "IG1 4DR") -> str:
    return f"GP_PRAC_PAT_LIST,01JAN2021,GP,08N,E38000138,{code},{postcode},ALL,ALL,{patients}"


def write(path: Path, lines: list[str], *, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


# --------------------------------------------------------------------------- missing file


@pytest.mark.parametrize(
    "reader",
    [
        read_epraccur,
        read_list_sizes,
        read_practice_lsoa,
        read_nhs_choices_gp,
        read_nhs_choices_hospitals,
        read_lsoa_centroids,
        read_lsoa_boundaries,
        read_lsoa_population,
        read_imd,
        read_lad_boundaries,
        read_codepoint,
    ],
)
def test_missing_file(reader, tmp_path):
    path = tmp_path / "nowhere" / "file.csv"
    with pytest.raises(MissingFileError) as info:
        reader(path)
    assert str(path) in str(info.value) and "not found" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_missing_file_in_data_folder(tmp_path):
    with pytest.raises(MissingFileError) as info:
        load_practices(tmp_path, ccg="08N")
    assert info.value.path == tmp_path / PRACTICE_FILES["epraccur"]


# --------------------------------------------------------------------------- missing columns


def test_missing_columns_all_named(tmp_path):
    path = write(
        tmp_path / "sizes.csv", ["PUBLICATION,EXTRACT_DATE,CODE,POSTCODE,SEX,AGE", "X,01JAN2021,F1,IG1 4DR,ALL,ALL"]
    )
    with pytest.raises(InputDataError) as info:
        read_list_sizes(path)
    columns = {p.column for p in info.value.problems}
    assert columns == {"CCG_CODE", "ONS_CCG_CODE", "NUMBER_OF_PATIENTS"}
    assert all(p.file == str(path) for p in info.value.problems)
    assert "sizes.csv, column 'NUMBER_OF_PATIENTS': required column is missing" in str(info.value)


def test_missing_columns_headerless_epraccur(tmp_path):
    path = write(tmp_path / "epraccur.csv", ['"F86001","A PRACTICE","Y56","Q60","","","","","","IG1 4DR","19740401"'])
    with pytest.raises(InputDataError) as info:
        read_epraccur(path)
    assert [p.column for p in info.value.problems] == [
        "12 (close_date)",
        "13 (status)",
        "15 (ccg_code)",
        "26 (prescribing_setting)",
    ]


def test_missing_columns_nhs_choices(tmp_path):
    path = write(
        tmp_path / "gp.csv", ["OrganisationCode¬OrganisationName¬Postcode", "F86001¬A¬IG1 4DR"], encoding="latin-1"
    )
    with pytest.raises(InputDataError) as info:
        read_nhs_choices_gp(path)
    assert {p.column for p in info.value.problems} == {"ParentODSCode", "Latitude", "Longitude"}


def test_missing_columns_ons(tmp_path):
    population = write(tmp_path / "pop.csv", ["LSOA11CD,LSOA11NM,Males_All-Ages", "E01000001,City 001A,939"])
    with pytest.raises(InputDataError, match="Persons_All-Ages"):
        read_lsoa_population(population)
    boundaries = tmp_path / "lsoa.gpkg"
    gpd.GeoDataFrame({"CODE": ["E01000001"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=27700).to_file(boundaries)
    with pytest.raises(InputDataError) as info:
        read_lsoa_boundaries(boundaries)
    (problem,) = info.value.problems
    assert problem.column == "LSOA11CD or LSOA21CD" and "CODE" in problem.message


def test_missing_columns_codepoint(tmp_path):
    path = write(tmp_path / "cp.csv", ['"E1  0AA",10,535267'])
    with pytest.raises(InputDataError) as info:
        read_codepoint(path)
    assert [p.column for p in info.value.problems] == ["northing"]


# --------------------------------------------------------------------------- encoding


def test_wrong_encoding_utf8_expected(tmp_path):
    path = write(
        tmp_path / "sizes.csv",
        [LIST_HEADER, list_line("F86001", "100"), list_line("F86002", "200", postcode="Ménage")],
        encoding="latin-1",
    )
    with pytest.raises(InputDataError) as info:
        read_list_sizes(path)
    (problem,) = info.value.problems
    assert problem.row == 3 and problem.file == str(path)
    assert "cannot be decoded as utf-8" in problem.message and "latin-1" in problem.message


def test_utf16_file_named(tmp_path):
    path = tmp_path / "centroids.csv"
    path.write_text("X,Y,lsoa11cd\n0.1,51.5,E01000001\n", encoding="utf-16")
    with pytest.raises(InputDataError, match="UTF-16"):
        read_lsoa_centroids(path)


def test_nhs_choices_resaved_as_comma_separated_utf8(tmp_path):
    path = write(tmp_path / "gp.csv", [CHOICES_HEADER.replace("¬", ","), "1,F86001,Café,IG1 4DR,51.5,0.07,08N"])
    with pytest.raises(InputDataError) as info:
        read_nhs_choices_gp(path)
    (problem,) = info.value.problems
    assert problem.file == str(path) and problem.row == 1
    assert "no '¬' separator" in problem.message and "','-separated" in problem.message


def test_nhs_choices_utf8_resave_detected_or_rejected(tmp_path):
    path = write(tmp_path / "gp.csv", [CHOICES_HEADER, "1¬F86001¬Café Surgery¬IG1 4DR¬51.5¬0.07¬08N"])
    assert read_nhs_choices_gp(path).loc[0, "name"] == "Café Surgery"
    with pytest.raises(InputDataError, match="UTF-8 text but was read as latin-1"):
        read_nhs_choices_gp(path, encoding="latin-1")


def test_nhs_choices_latin1_read_as_utf8(tmp_path):
    path = write(tmp_path / "gp.csv", [CHOICES_HEADER, "1¬F86001¬Café¬IG1 4DR¬51.5¬0.07¬08N"], encoding="latin-1")
    assert read_nhs_choices_gp(path).loc[0, "name"] == "Café"
    with pytest.raises(InputDataError, match="no '¬' separator"):
        read_nhs_choices_gp(path, encoding="utf-8")


# --------------------------------------------------------------------------- duplicates


def test_duplicate_codes_every_one_named_with_rows(tmp_path):
    path = write(
        tmp_path / "epraccur.csv",
        [
            epraccur_line("F86001", "IG1 4DR"),
            epraccur_line("F86002", "IG2 6AA"),
            epraccur_line("F86001", "IG1 4DR"),
            epraccur_line("F86002", "IG2 6AA"),
            epraccur_line("F86003", "IG3 8AA"),
            epraccur_line("F86002", "IG2 6AA"),
        ],
    )
    with pytest.raises(InputDataError) as info:
        read_epraccur(path)
    messages = [p.message for p in info.value.problems]
    assert messages == [
        "duplicate organisation code 'F86001' (rows 1, 3)",
        "duplicate organisation code 'F86002' (rows 2, 4, 6)",
    ]
    assert {p.column for p in info.value.problems} == {"1 (practice_code)"}


def test_duplicate_list_sizes(tmp_path):
    path = write(tmp_path / "sizes.csv", [LIST_HEADER, list_line("F86001", "1"), list_line("F86001", "2")])
    with pytest.raises(InputDataError, match=r"duplicate practice code 'F86001' \(rows 2, 3\)"):
        read_list_sizes(path)


def test_duplicate_lsoa_centroids(tmp_path):
    path = write(tmp_path / "c.csv", ["\ufeffX,Y,lsoa11cd,lsoa11nm", "0.1,51.5,E01000001,A", "0.2,51.6,E01000001,A"])
    with pytest.raises(InputDataError, match=r"duplicate LSOA code 'E01000001' \(rows 2, 3\)"):
        read_lsoa_centroids(path)


def test_lsoa_files_of_2021_name_their_own_columns(tmp_path):
    """Files by LSOA 2021 code (and the registrations' other published names) are named as they are."""
    registrations = write(
        tmp_path / "reg.csv", ["OrganisationCode,LSOA21CD,Patient", "F86001,E01035720,3", "F86001,E01035720,4"]
    )
    with pytest.raises(InputDataError) as info:
        read_practice_lsoa(registrations)
    (problem,) = info.value.problems
    assert problem.column == "OrganisationCode, LSOA21CD" and "duplicate pair" in problem.message
    counts = write(tmp_path / "counts.csv", ["PRACTICE_CODE,LSOA_CODE,NUMBER_OF_PATIENTS", "F86001,E01035720,-5"])
    with pytest.raises(InputDataError, match="column 'NUMBER_OF_PATIENTS': '-5' is below the minimum 0"):
        read_practice_lsoa(counts)
    centroids = write(tmp_path / "c.csv", ["LSOA21CD,x,y", "E01035720,545000,190000", "E01035720,545100,y"])
    with pytest.raises(InputDataError) as info:
        read_lsoa_centroids(centroids)
    assert {(p.column, p.row) for p in info.value.problems} == {("y", 3), ("LSOA21CD", 2)}
    boundaries = tmp_path / "lsoa21.gpkg"
    gpd.GeoDataFrame(
        {"LSOA21CD": ["E01035720", "E01035720"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=27700
    ).to_file(boundaries)
    with pytest.raises(InputDataError) as info:
        read_lsoa_boundaries(boundaries)
    assert [p.column for p in info.value.problems] == ["LSOA21CD"]
    population = write(tmp_path / "pop.csv", ["LSOA21CD,Persons_All-Ages", "E01035720,1", "E01035720,2"])
    with pytest.raises(InputDataError) as info:
        read_lsoa_population(population)
    assert [p.column for p in info.value.problems] == ["LSOA21CD"]


def test_hospital_code_repeated_at_different_places(tmp_path, caplog):
    same = write(
        tmp_path / "same.csv",
        [
            HOSPITAL_HEADER,
            "RT1FC¬Day Hospital¬Independent Sector¬CB6 1DN¬52.41¬0.27¬RT1",
            "RT1FC¬Princess of Wales¬NHS Sector¬CB6 1DN¬52.41¬0.27¬RT1",
        ],
        encoding="latin-1",
    )
    with caplog.at_level(logging.INFO, logger="geodata.nhs"):
        sites = read_nhs_choices_hospitals(same)
    assert sites[["site_id", "name", "sector"]].values.tolist() == [["RT1FC", "Princess of Wales", "NHS"]]
    assert "listed twice at the same place merged: RT1FC" in caplog.text
    apart = write(
        tmp_path / "apart.csv",
        [
            HOSPITAL_HEADER,
            "RT1FC¬Day Hospital¬NHS Sector¬CB6 1DN¬52.41¬0.27¬RT1",
            "RT1FC¬Other Hospital¬NHS Sector¬PE1 1AA¬52.57¬-0.24¬RT1",
        ],
        encoding="latin-1",
    )
    with pytest.raises(InputDataError, match=r"duplicate site code at different places 'RT1FC' \(rows 2, 3\)"):
        read_nhs_choices_hospitals(apart)


# --------------------------------------------------------------------------- numbers


def test_bad_numbers_each_named_by_row_and_column(tmp_path):
    path = write(
        tmp_path / "sizes.csv",
        [
            LIST_HEADER,
            list_line("F86001", "1200"),
            list_line("F86002", "12a"),
            list_line("F86003", "-5"),
            list_line("F86004", "3.5"),
            list_line("F86005", ""),
        ],
    )
    with pytest.raises(InputDataError) as info:
        read_list_sizes(path)
    found = [(p.row, p.column) for p in info.value.problems]
    assert found == [
        (3, "NUMBER_OF_PATIENTS"),
        (6, "NUMBER_OF_PATIENTS"),
        (5, "NUMBER_OF_PATIENTS"),
        (4, "NUMBER_OF_PATIENTS"),
    ]
    text = str(info.value)
    assert text.startswith("4 problems in the input data:")
    assert "sizes.csv, row 3, column 'NUMBER_OF_PATIENTS': '12a' is not a number" in text
    assert "row 4, column 'NUMBER_OF_PATIENTS': '-5' is below the minimum 0" in text
    assert "row 5, column 'NUMBER_OF_PATIENTS': '3.5' is not a whole number" in text
    assert "row 6, column 'NUMBER_OF_PATIENTS': missing value" in text


def test_bad_numbers_of_a_parquet_file_are_shown_as_plain_numbers(tmp_path):
    # a Parquet column is numeric already: its values are shown as numbers, not as np.int64(-5)
    path = tmp_path / "registrations.parquet"
    pd.DataFrame(
        {"OrganisationCode": ["F86001", "F86002"], "LSOA11CD": ["E01000001", "E01000002"], "Patient": [12, -5]}
    ).to_parquet(path)
    with pytest.raises(InputDataError) as info:
        read_practice_lsoa(path)
    text = str(info.value)
    assert "row 2, column 'Patient': -5 is below the minimum 0" in text, text
    assert "np." not in text
    path = tmp_path / "fractions.parquet"
    pd.DataFrame({"OrganisationCode": ["F86001"], "LSOA11CD": ["E01000001"], "Patient": [2.5]}).to_parquet(path)
    with pytest.raises(InputDataError) as info:
        read_practice_lsoa(path)
    assert "column 'Patient': 2.5 is not a whole number" in str(info.value), str(info.value)


def test_thousands_separators_accepted(tmp_path):
    path = write(tmp_path / "pop.csv", ["LSOA11CD,Persons_All-Ages,Persons_0-15", 'E01000001,"1,749",296'])
    assert read_lsoa_population(path).loc[0, "population"] == 1_749


def test_bad_coordinates(tmp_path):
    path = write(
        tmp_path / "gp.csv",
        [CHOICES_HEADER, "1¬F86001¬A¬IG1 4DR¬north¬0.07¬08N", "2¬F86002¬B¬IG2 6AA¬51.5¬0,07.1¬08N"],
        encoding="latin-1",
    )
    with pytest.raises(InputDataError) as info:
        read_nhs_choices_gp(path)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "Latitude"), (3, "Longitude")]


def test_duplicates_and_bad_coordinates_reported_together(tmp_path):
    path = write(
        tmp_path / "gp.csv",
        [
            CHOICES_HEADER,
            "1¬F86001¬A¬IG1 4DR¬51.56¬0.07¬08N",
            "2¬F86001¬A¬IG1 4DR¬51.56¬0.07¬08N",
            "3¬F86003¬C¬IG3 8AA¬51,56¬¬08N",
        ],
        encoding="latin-1",
    )
    for strict in (False, True):
        with pytest.raises(InputDataError) as info:
            read_nhs_choices_gp(path, strict=strict)
        assert [(p.row, p.column) for p in info.value.problems] == [(2, "OrganisationCode"), (4, "Latitude")]
        assert "'51,56' is not a number" in str(info.value)


def test_bad_codepoint_eastings(tmp_path):
    path = tmp_path / "cp.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write('"E1  0AA",10,535267,181084,"E92000001","","","","E09000030",""\n')
        handle.write('"E1  0AB",10,east,181084,"E92000001","","","","E09000030",""\n')
        handle.write('"E10AA",10,535267,181084,"E92000001","","","","E09000030",""\n')
    with pytest.raises(InputDataError) as info:
        read_codepoint(path)
    problems = [(p.row, p.column) for p in info.value.problems]
    assert problems == [(2, "3 (easting)"), (1, "1 (postcode)")]
    assert "duplicate postcode 'E1 0AA' (rows 1, 3)" in str(info.value)


def test_all_problems_of_a_file_at_once(tmp_path):
    path = write(
        tmp_path / "epraccur.csv",
        [
            epraccur_line("F86001", "IG1 4DR", opened="1974-04-01"),
            epraccur_line("F86002", "IG2 6AA", status="X"),
            epraccur_line("F86003", "IG3 8AA", setting="GP"),
            epraccur_line("F86003", "IG3 8AA"),
        ],
    )
    with pytest.raises(InputDataError) as info:
        read_epraccur(path)
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {
        (1, "11 (open_date)"),
        (2, "13 (status)"),
        (3, "26 (prescribing_setting)"),
        (3, "1 (practice_code)"),
    }


# --------------------------------------------------------------------------- practices without coordinates


def test_choices_row_without_coordinates(tmp_path, caplog):
    path = write(
        tmp_path / "gp.csv",
        [CHOICES_HEADER, "1¬F86001¬A¬IG1 4DR¬51.56¬0.07¬08N", "2¬F86002¬B¬¬¬¬08N", "3¬F86003¬C¬IG3 8AA¬0¬0¬08N"],
        encoding="latin-1",
    )
    with caplog.at_level(logging.INFO, logger="geodata.nhs"):
        gp = read_nhs_choices_gp(path)
    assert gp["practice_code"].tolist() == ["F86001"]
    # coordinates outside the UK are a warning; blank ones (a few in the published files) only noted
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    noted = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert warned == ["gp.csv: 1 practice(s) without usable coordinates left out: F86003 (row 4)"]
    assert "gp.csv: 1 practice(s) without usable coordinates left out: F86002 (row 3)" in noted
    with pytest.raises(InputDataError) as info:
        read_nhs_choices_gp(path, strict=True)
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "Latitude"), (4, "Latitude")]


@pytest.fixture()
def small_data_dir(tmp_path) -> Path:
    """Three Redbridge practices: one in NHS Choices, one geocoded, one nowhere."""
    root = tmp_path / "data"
    write(
        root / PRACTICE_FILES["epraccur"],
        [epraccur_line("F86001", "IG1 4DR"), epraccur_line("F86002", "ig2  6aa"), epraccur_line("F86003", "ZZ9 9ZZ")],
    )
    write(
        root / PRACTICE_FILES["list_sizes"],
        [LIST_HEADER, list_line("F86001", "5000"), list_line("F86002", "7000"), list_line("F86003", "3000")],
    )
    write(
        root / PRACTICE_FILES["nhs_choices"], [CHOICES_HEADER, "1¬F86001¬A¬IG1 4DR¬51.56¬0.07¬08N"], encoding="latin-1"
    )
    codepoint = root / PRACTICE_FILES["codepoint"]
    codepoint.parent.mkdir(parents=True)
    with gzip.open(codepoint, "wt", encoding="utf-8") as handle:
        handle.write('"IG2 6AA",10,543500,188900,"E92000001","","","","E09000026",""\n')
    return root


def test_practice_without_coordinates_warns(small_data_dir):
    with pytest.warns(
        DataWarning, match=r"1 practice\(s\) left out, no coordinates .*F86003 \(PRACTICE F86003, ZZ9 9ZZ\)"
    ):
        practices = load_practices(small_data_dir)
    assert practices[["practice_code", "coord_source", "list_size"]].values.tolist() == [
        ["F86001", "nhs_choices", 5000],
        ["F86002", "codepoint", 7000],
    ]
    assert practices.loc[1, "geometry"].equals(shapely.Point(543500, 188900))


def test_practice_with_exchanged_coordinates_warns_and_is_placed_by_postcode(small_data_dir, caplog):
    choices = small_data_dir / PRACTICE_FILES["nhs_choices"]
    with choices.open("a", encoding="latin-1") as handle:
        handle.write("2¬F86002¬B¬IG2 6AA¬0.08¬51.57¬08N\n")  # latitude and longitude exchanged
    with caplog.at_level(logging.WARNING), pytest.warns(DataWarning, match="F86003"):
        practices = load_practices(small_data_dir)
    assert practices.set_index("practice_code").at["F86002", "coord_source"] == "codepoint"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "nhs-choices-gp_2019.csv: 1 practice(s) without usable coordinates left out: "
        "F86002 (row 3; latitude and longitude look exchanged)"
    ) in warned
    assert (
        "nhs-choices-gp_2019.csv: 1 practice(s) without usable coordinates there placed at the Code-Point Open "
        "point of their postcode instead: F86002 (row 3, IG2 6AA)"
    ) in warned


def test_practice_without_coordinates_strict(small_data_dir):
    with pytest.raises(InputDataError) as info:
        load_practices(small_data_dir, strict=True)
    (problem,) = info.value.problems
    assert "F86003" in problem.message and problem.file.endswith("epraccur_2019-12.csv")


@pytest.mark.parametrize(("sep", "name"), [(";", "';'"), ("\t", "a tab")])
def test_table_with_another_separator_is_named(tmp_path, sep, name):
    """A ';'-separated units file once gave pandas' 'Expected 1 fields in line 3, saw 2'."""
    from geodata.tables import read_table

    path = tmp_path / "units.csv"
    path.write_text(sep.join(["id", "name", "population"]) + f"\nF1{sep}A{sep}10\nF2{sep}B, C{sep}20\n")
    with pytest.raises(InputDataError) as err:
        read_table(path, what="units file")
    assert [(p.row, p.column) for p in err.value.problems] == [(1, None)]
    assert f"{path}, row 1: the file seems to use {name} as separator: a ','-separated file is expected" in str(
        err.value
    )


def test_absurd_populations_are_refused_by_file_row_and_column(tmp_path):
    from catchment.problem import MAX_GBP
    from catchment.readers import read_options_file, read_units_file
    from geodata.settings import MAX_POPULATION

    path = write(tmp_path / "pop.csv", ["LSOA11CD,Persons_All-Ages", "E01000001,1749", "E01000002,1e300"])
    with pytest.raises(InputDataError) as info:
        read_lsoa_population(path)
    assert f"row 3, column 'Persons_All-Ages': '1e300' is above the maximum {MAX_POPULATION:,}" in str(info.value)
    path = write(tmp_path / "patients.csv", ["OrganisationCode,LSOA11CD,Patient", "F86001,E01000001,1e300"])
    with pytest.raises(InputDataError) as info:
        read_practice_lsoa(path)
    assert f"row 2, column 'Patient': '1e300' is above the maximum {MAX_POPULATION:,}" in str(info.value)
    path = write(
        tmp_path / "units.csv",
        ["id,population,easting,northing", "A,1e300,540000,187000", f"B,{MAX_POPULATION},541000,187000"],
    )
    with pytest.raises(InputDataError) as info:
        read_units_file(path)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "population")]
    path = write(
        tmp_path / "options.csv",
        ["site_id,option,capital_cost,capacity", "S1,reuse,1e300,1000", "S2,reuse,100,1e300", f"S3,reuse,{MAX_GBP},"],
    )
    with pytest.raises(InputDataError) as info:
        read_options_file(path)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "capital_cost"), (3, "capacity")]
    assert f"(accepted: 0 to {MAX_GBP:,.0f})" in str(info.value)


# ---------------------------------------------------------------------------- files that are not CSV
NOT_CSV = {
    "solution.json": (b'{\n  "status": "optimal",\n  "objective": 5.16,\n  "gap": 0.0\n}\n', "JSON"),
    "polysystems.geojson": (b'{"type": "FeatureCollection", "features": []}', "GeoJSON"),
    "polysystems.gpkg": (b"SQLite format 3\x00" + bytes(range(256)) * 4, "GeoPackage or another SQLite"),
    "plan.xlsx": (b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(256)), "Excel workbook (.xlsx)"),
    "plan.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old Excel workbook (.xls)"),
    "noise.bin": (bytes((7 * i + 3) % 256 for i in range(600)), "binary data"),
}


@pytest.mark.parametrize("name", sorted(NOT_CSV))
def test_a_file_that_is_not_csv_is_named_as_such(tmp_path, name):
    from geodata.tables import read_table

    content, looks_like = NOT_CSV[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputDataError) as caught:
        read_table(path, what="configuration file", expects="--plan expects a CSV")
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.row is None
    assert problem.message.startswith("not a CSV configuration file: it looks like ")
    assert looks_like in problem.message and problem.message.endswith("; --plan expects a CSV")


def test_a_latin1_csv_is_still_a_decoding_problem(tmp_path):
    """Text in another encoding is not mistaken for binary data: the line and byte are named."""
    from geodata.tables import read_table

    path = tmp_path / "plan.csv"
    path.write_bytes("unit_id,polysystem_id\nF86007,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputDataError, match=r"row 2: cannot be decoded as utf-8.*latin-1"):
        read_table(path)


def test_plan_option_points_to_the_plan_of_an_output_folder(tmp_path):
    """--plan given another file of a run's output folder (solution.json, an empty file, its
    polysystems.csv): the error names the folder's assignments.csv."""
    import optimise
    from catchment import outputs
    from catchment.problem import Problem

    problem = Problem.from_arrays(
        unit_ids=["F86007", "F86008"], population=[30_000, 30_000], site_ids=["S1"], travel_min=[[1.0], [2.0]]
    )
    folder = tmp_path / "run"
    with outputs.atomic_output_dir(folder) as staging:
        (staging / "solution.json").write_text('{"status": "optimal"}\n')
        (staging / "empty.csv").write_text("")
        (staging / "polysystems.csv").write_text("polysystem_id,hub_site_id,population\nPS01,S1,60000\n")
        (staging / outputs.ASSIGNMENTS_FILE).write_text("unit_id,polysystem_id\nF86007,PS01\nF86008,PS01\n")
    for name in ("solution.json", "empty.csv", "polysystems.csv"):
        with pytest.raises(InputDataError) as caught:
            optimise._plan_from_file(problem, folder / name, "--against")
        message = caught.value.problems[0].message
        if name != "polysystems.csv":
            assert "--against expects a CSV with columns unit_id, polysystem_id" in message
        assert message.endswith(f"its plan is {folder / outputs.ASSIGNMENTS_FILE}")
    plan = optimise._plan_from_file(problem, folder / outputs.ASSIGNMENTS_FILE)
    assert dict(plan.assignment) == {"F86007": "S1", "F86008": "S1"}
