"""NHS loaders on the real published files (counts as in the data README)."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pytest

from geodata.errors import DataWarning, InputDataError
from geodata.nhs import (
    read_epraccur,
    read_list_sizes,
    read_nhs_choices_gp,
    read_nhs_choices_hospitals,
    read_practice_lsoa,
)
from geodata.practices import PRACTICE_COLUMNS, load_hospitals, load_practices
from geodata.settings import BNG

REDBRIDGE_CCG = "08N"
REDBRIDGE_LAD = "E09000026"

# British National Grid extent of Great Britain (metres): a point outside is a projection
# bug. (Not England only: NHS Choices places the St Agnes, Isles of Scilly branch surgery
# L82017001 in the Outer Hebrides, as published.)
GREAT_BRITAIN = (0, 0, 700_000, 1_300_000)


def _in_great_britain(frame: gpd.GeoDataFrame) -> bool:
    x, y = frame.geometry.x, frame.geometry.y
    west, south, east, north = GREAT_BRITAIN
    return bool(x.between(west, east).all() and y.between(south, north).all())


@pytest.fixture(scope="module")
def england(real_data):
    return real_data / "england"


def test_epraccur_all_rows(england):
    every = read_epraccur(england / "epraccur_2019-12.csv", gp_only=False, active_only=False)
    assert len(every) == 14_357
    assert every["status"].value_counts().to_dict() == {"A": 11_474, "C": 2_427, "D": 451, "P": 5}
    assert (every["prescribing_setting"] == 4).sum() == 8_204
    assert every["practice_code"].is_unique
    assert every["close_date"].notna().sum() == 2_427
    first = every.iloc[0]
    assert first["practice_code"] == "A81001"
    assert first["name"] == "THE DENSHAM SURGERY"
    assert first["postcode"] == "TS18 1HU"
    assert first["open_date"] == pd.Timestamp("1974-04-01")
    assert first["ccg_code"] == "00K"


def test_epraccur_open_gp_practices_logged(england, caplog):
    with caplog.at_level(logging.INFO, logger="geodata.nhs"):
        gp = read_epraccur(england / "epraccur_2019-12.csv")
    assert len(gp) == 6_830
    assert set(gp["status"]) == {"A"} and set(gp["prescribing_setting"]) == {4}
    assert list(gp.columns) == [
        "practice_code", "name", "postcode", "open_date", "close_date", "status", "ccg_code", "prescribing_setting",
    ]  # fmt: skip
    assert pd.api.types.is_datetime64_any_dtype(gp["open_date"])
    assert "excluded 2,427 closed, 451 dormant, 5 proposed, 4,644 open organisations not GP practices" in caplog.text
    assert (gp["ccg_code"] == REDBRIDGE_CCG).sum() == 42


def test_list_sizes(england):
    sizes = read_list_sizes(england / "gp-reg-pat-prac-all_2021-01.csv")
    assert len(sizes) == 6_658
    assert list(sizes.columns) == ["practice_code", "ccg_code", "ons_ccg_code", "postcode", "list_size", "extract_date"]
    assert sizes["list_size"].dtype == "int64"
    assert sizes["list_size"].sum() == 60_606_345
    assert (sizes["extract_date"] == pd.Timestamp("2021-01-01")).all()
    redbridge = sizes[sizes["ccg_code"] == REDBRIDGE_CCG]
    assert len(redbridge) == 42
    assert redbridge["list_size"].sum() == 337_420


def test_practice_lsoa_parquet(england):
    pairs = read_practice_lsoa(england / "gp-reg-pat-prac-lsoa_2022.parquet")
    assert list(pairs.columns) == ["practice_code", "lsoa_code", "patients"]
    assert len(pairs) == 865_965
    assert pairs["practice_code"].nunique() == 6_484
    assert pairs["lsoa_code"].nunique() == 32_940
    assert pairs["patients"].sum() == 61_768_942


def test_practice_lsoa_csv_same_as_parquet(tmp_path):
    csv = tmp_path / "by_lsoa.csv"
    csv.write_text("OrganisationCode,OranisationName,LSOA11CD,Patient\nF86001,A,E01003638,12\nF86001,A,E01003639,7\n")
    pairs = read_practice_lsoa(csv)
    assert pairs.to_dict("list") == {
        "practice_code": ["F86001", "F86001"],
        "lsoa_code": ["E01003638", "E01003639"],
        "patients": [12, 7],
    }


def test_nhs_choices_gp(england, caplog):
    with caplog.at_level(logging.INFO, logger="geodata.nhs"):
        gp = read_nhs_choices_gp(england / "nhs-choices-gp_2019.csv")
    # 8,883 rows; the homeless healthcare team J82217 has no coordinates.
    assert len(gp) == 8_882
    assert "J82217" not in set(gp["practice_code"])
    assert "1 practice(s) without usable coordinates" in caplog.text and "J82217 (row 8708)" in caplog.text
    assert gp.crs.equals(BNG) and _in_great_britain(gp)
    assert list(gp.columns) == ["practice_code", "name", "postcode", "ccg_code", "ccg_name", "geometry"]
    densham = gp.set_index("practice_code").loc["A81001"]
    assert densham["postcode"] == "TS18 1HU"
    assert densham.geometry.distance(gpd.points_from_xy([444137], [518701])[0]) < 5  # Stockton-on-Tees


def test_nhs_choices_gp_latin1_names(england):
    gp = read_nhs_choices_gp(england / "nhs-choices-gp_2019.csv")
    names = set(gp["name"])
    # Windows-1252 punctuation (0x92, 0x96) decoded as such, trailing no-break space stripped.
    assert "St Martin\u2019s Practice" in names
    assert "The De Parys Group \u2013 Goldington Branch" in names
    assert "Mckenzie Group Practice" in names
    assert not gp["name"].str.contains("[\u0080-\u009f\u00c2]").any()


def test_nhs_choices_gp_strict_names_the_row(england):
    with pytest.raises(InputDataError) as info:
        read_nhs_choices_gp(england / "nhs-choices-gp_2019.csv", strict=True)
    (problem,) = info.value.problems
    assert problem.row == 8_708 and problem.column == "Latitude"
    assert "J82217" in problem.message and problem.file.endswith("nhs-choices-gp_2019.csv")


def test_nhs_choices_hospitals(england, caplog):
    with caplog.at_level(logging.INFO, logger="geodata.nhs"):
        sites = read_nhs_choices_hospitals(england / "nhs-choices-hospital_2018-01.csv")
    # 1,234 rows: 8 sites listed twice at the same place, Noble's Hospital (Isle of Man) without coordinates.
    assert len(sites) == 1_234 - 8 - 1
    assert sites["site_id"].is_unique
    assert "8 site code(s) listed twice" in caplog.text and "REM95" in caplog.text
    assert set(sites["sector"]) == {"NHS", "Independent"}
    assert sites.set_index("site_id").loc["RT1FC", "sector"] == "NHS"  # the NHS record of a repeat is kept
    assert list(sites.columns) == [
        "site_id", "name", "postcode", "sector", "subtype", "trust_code", "trust_name", "geometry",
    ]  # fmt: skip
    assert sites.crs.equals(BNG) and _in_great_britain(sites)


def test_hospital_row_with_exchanged_coordinates_warns(england, tmp_path, caplog):
    # Goodmayes Hospital (RATGM, row 719) with its latitude and longitude exchanged
    lines = (england / "nhs-choices-hospital_2018-01.csv").read_bytes().split(b"\n")
    header = lines[0].split("¬".encode("cp1252"))
    lat, lon = header.index(b"Latitude"), header.index(b"Longitude")
    fields = lines[718].split("¬".encode("cp1252"))
    assert fields[1] == b"RATGM"
    fields[lat], fields[lon] = fields[lon], fields[lat]
    lines[718] = "¬".encode("cp1252").join(fields)
    path = tmp_path / "hospitals.csv"
    path.write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.WARNING, logger="geodata.nhs"):
        sites = read_nhs_choices_hospitals(path)
    assert "RATGM" not in set(sites["site_id"])
    assert (
        "WARNING  geodata.nhs:nhs.py"  # the exchanged row is a warning; REM95 (blank coordinates) is not
    ) in caplog.text and (
        "hospitals.csv: 1 site(s) without usable coordinates left out: "
        "RATGM (row 719; latitude and longitude look exchanged)\n"
    ) in caplog.text
    assert "REM95" not in caplog.text
    with pytest.raises(InputDataError, match="RATGM.*latitude and longitude look exchanged"):
        read_nhs_choices_hospitals(path, strict=True)


@pytest.fixture(scope="module")
def redbridge(real_data):
    return load_practices(real_data, ccg=REDBRIDGE_CCG)


def test_load_practices_redbridge(redbridge):
    assert list(redbridge.columns) == PRACTICE_COLUMNS
    assert len(redbridge) == 42
    assert redbridge["list_size"].sum() == 337_420
    assert set(redbridge["coord_source"]) == {"nhs_choices"}
    assert redbridge.geometry.notna().all() and not redbridge.geometry.is_empty.any()
    assert redbridge.crs.equals(BNG)
    assert redbridge["practice_code"].is_unique


def test_redbridge_practices_lie_in_or_near_the_borough(real_data, redbridge):
    from geodata.ons import read_lad_boundaries

    boroughs = read_lad_boundaries(real_data / "london" / "lad22-boundaries-gen20.gpkg")
    borough = boroughs.set_index("lad_code").geometry.loc[REDBRIDGE_LAD]
    assert redbridge.geometry.distance(borough).max() < 1_000
    assert redbridge.within(borough).sum() >= 40


def test_load_practices_codepoint_fallback(real_data):
    # Y03296 (Clover Health Centre, SE18 6AB, Greenwich CCG 08A) is not in the 2019 NHS Choices file.
    greenwich = load_practices(real_data, ccg="08A")
    clover = greenwich.set_index("practice_code").loc["Y03296"]
    assert clover["coord_source"] == "codepoint"
    assert clover["postcode"] == "SE18 6AB"
    assert (greenwich["coord_source"] == "nhs_choices").sum() == len(greenwich) - 1


def test_load_practices_without_list_sizes(real_data):
    practices = load_practices(real_data, ccg=REDBRIDGE_CCG, list_sizes=False)
    assert len(practices) == 42
    assert practices["list_size"].isna().all()


def test_load_practices_england_warns_about_unplaced(real_data):
    with pytest.warns(DataWarning, match=r"7 practice\(s\) left out, no coordinates") as record:
        practices = load_practices(real_data)
    message = str(record[0].message)
    for code in ("J82217", "Y02645", "Y06378", "Y06443", "Y06487", "Y06499", "Y06507"):
        assert code in message
    # 6,830 open GP practices - 194 without a 2021 list size - 7 without coordinates.
    assert len(practices) == 6_629
    assert practices["coord_source"].value_counts().to_dict() == {"nhs_choices": 6_627, "codepoint": 2}


def test_load_practices_strict_raises(real_data):
    with pytest.raises(InputDataError) as info:
        load_practices(real_data, strict=True)
    assert len(info.value.problems) == 7
    assert all(p.file.endswith("epraccur_2019-12.csv") for p in info.value.problems)


def test_load_hospitals_near_redbridge(real_data):
    inside = load_hospitals(real_data, lad=REDBRIDGE_LAD)
    near = load_hospitals(real_data, lad=REDBRIDGE_LAD, within_m=2_000)
    assert "RF4DG" in set(inside["site_id"])  # King George Hospital, Goodmayes
    assert set(inside["site_id"]) < set(near["site_id"])
    assert "R1HKH" in set(near["site_id"])  # Whipps Cross, just over the boundary in Waltham Forest
    nhs = load_hospitals(real_data, lad=REDBRIDGE_LAD, within_m=2_000, sector="NHS")
    assert set(nhs["sector"]) == {"NHS"} and len(nhs) < len(near)


def test_files_of_the_sub_icb_layout_read_as_the_ccg_layout(england, tmp_path):
    """From July 2022 NHS Digital names the CCGs' successors: SUB_ICB_LOCATION_* and ICB_* columns."""
    from geodata.pcn import read_pcn_mapping

    published = england / "gp-reg-pat-prac-all_2021-01.csv"
    sizes = published.read_text()
    renamed = tmp_path / "gp-reg-pat-prac-all.csv"
    header, rest = sizes.split("\n", 1)
    assert header == "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS"
    renamed.write_text(header.replace("CCG_CODE", "SUB_ICB_LOCATION_CODE") + "\n" + rest)
    pd.testing.assert_frame_equal(read_list_sizes(renamed), read_list_sizes(published))

    mapping = england / "gp-reg-pat-prac-map_2022-01.csv"
    header, rest = mapping.read_text().split("\n", 1)
    new_header = header.replace("CCG_", "SUB_ICB_LOCATION_").replace(",STP_", ",ICB_").replace(",ONS_STP_", ",ONS_ICB_")
    assert "SUB_ICB_LOCATION_CODE" in new_header and ",ICB_CODE," in new_header and "CCG" not in new_header
    (tmp_path / "map.csv").write_text(new_header + "\n" + rest)
    pd.testing.assert_frame_equal(read_pcn_mapping(tmp_path / "map.csv"), read_pcn_mapping(mapping))

    (tmp_path / "neither.csv").write_text(header.replace("CCG_CODE", "AREA_CODE") + "\n" + rest)
    with pytest.raises(InputDataError, match=r"'CCG_CODE': required column is missing \(or SUB_ICB_LOCATION_CODE"):
        read_pcn_mapping(tmp_path / "neither.csv")


def _nhs_digital_layout(
    england, *, sexes: dict[str, float], count_column: str = "NUMBER_OF_PATIENTS"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Redbridge practices' registrations as NHS Digital publishes them since 2021: one row per
    practice, LSOA and SEX, each sex given ``share`` of the patients (rounded down; the last the rest)."""
    prepared = read_practice_lsoa(england / "gp-reg-pat-prac-lsoa_2022.parquet")
    prepared = prepared.loc[prepared["practice_code"].str.startswith("F86")].reset_index(drop=True)
    parts, left = [], prepared["patients"].copy()
    for i, (sex, share) in enumerate(sexes.items()):
        count = left if i == len(sexes) - 1 else (prepared["patients"] * share).astype("int64")
        left = left - count
        parts.append(prepared.assign(SEX=sex, patients=count))
    rows = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(
        {
            "PUBLICATION": "GP_PRAC_PAT_LIST",
            "EXTRACT_DATE": "01JAN2022",
            "PRACTICE_CODE": rows["practice_code"],
            "PRACTICE_NAME": "A SURGERY",
            "LSOA_CODE": rows["lsoa_code"],
            "SEX": rows["SEX"],
            count_column: rows["patients"],
        }
    ), prepared


@pytest.mark.parametrize(
    ("sexes", "count_column"),
    [
        ({"ALL": 1.0}, "NUMBER_OF_PATIENTS"),
        ({"ALL": 1.0}, "Number of Patients"),
        ({"MALE": 0.49, "FEMALE": 0.51}, "NUMBER_OF_PATIENTS"),
        ({"ALL": 1.0, "MALE": 0.0}, "NUMBER_OF_PATIENTS"),  # ALL rows beside rows by sex: ALL only
    ],
)
def test_practice_lsoa_by_sex_as_nhs_digital_publishes(england, tmp_path, sexes, count_column):
    published, prepared = _nhs_digital_layout(england, sexes=sexes, count_column=count_column)
    if "MALE" in sexes and "ALL" in sexes:  # rows by sex that would double the count if summed
        published.loc[published["SEX"] == "MALE", count_column] = 7
    path = tmp_path / "gp-reg-pat-prac-lsoa-all.csv"
    published.to_csv(path, index=False)
    got = read_practice_lsoa(path)
    pd.testing.assert_frame_equal(
        got.sort_values(["practice_code", "lsoa_code"]).reset_index(drop=True),
        prepared.sort_values(["practice_code", "lsoa_code"]).reset_index(drop=True),
    )


def test_practice_lsoa_mixing_all_and_by_sex_rows_is_named(england, tmp_path):
    """Rows by sex that no ALL row counts would be lost by keeping the ALL rows: a mix is refused."""
    published, _ = _nhs_digital_layout(england, sexes={"ALL": 1.0})
    extra = published.iloc[[0]].assign(LSOA_CODE="E01000002", SEX="MALE", NUMBER_OF_PATIENTS=5)
    published = pd.concat([published, extra], ignore_index=True)
    path = tmp_path / "gp-reg-pat-prac-lsoa-mixed.csv"
    published.to_csv(path, index=False)
    line = len(published) + 1  # the header is line 1
    with pytest.raises(InputDataError, match=f"row {line}, column 'SEX': 'MALE' for a practice and LSOA without"):
        read_practice_lsoa(path)


def test_practice_lsoa_by_sex_names_a_repeated_row(england, tmp_path):
    published, _ = _nhs_digital_layout(england, sexes={"MALE": 0.5, "FEMALE": 0.5})
    published = pd.concat([published, published.iloc[[3]]], ignore_index=True)
    path = tmp_path / "gp-reg-pat-prac-lsoa-male-female.csv"
    published.to_csv(path, index=False)
    with pytest.raises(InputDataError, match="PRACTICE_CODE, LSOA_CODE, SEX"):
        read_practice_lsoa(path)


def test_practice_lsoa_blank_codes_are_missing_values_all_named(england, tmp_path):
    """A blank practice or LSOA code is no practice or LSOA called 'nan': every one is named at once."""
    published, _ = _nhs_digital_layout(england, sexes={"ALL": 1.0})
    published["NUMBER_OF_PATIENTS"] = published["NUMBER_OF_PATIENTS"].astype(str)
    published.loc[0, "PRACTICE_CODE"] = ""
    published.loc[1, "LSOA_CODE"] = "  "
    published.loc[2, "NUMBER_OF_PATIENTS"] = ""
    path = tmp_path / "blank.csv"
    published.to_csv(path, index=False)
    with pytest.raises(InputDataError) as info:
        read_practice_lsoa(path)
    assert sorted((p.row, p.column) for p in info.value.problems) == [
        (2, "PRACTICE_CODE"),
        (3, "LSOA_CODE"),
        (4, "NUMBER_OF_PATIENTS"),
    ]
    text = str(info.value)
    assert "row 2, column 'PRACTICE_CODE': missing value (a code is required)" in text
    assert "row 3, column 'LSOA_CODE': missing value (a code is required)" in text
    assert "row 4, column 'NUMBER_OF_PATIENTS': missing value (a number is required)" in text


def test_practice_lsoa_cut_short_is_missing_values_not_a_mix_of_sexes(england, tmp_path):
    """A file cut mid-row: its last row's SEX and count are missing, not rows by sex without ALL."""
    published, _ = _nhs_digital_layout(england, sexes={"ALL": 1.0})
    path = tmp_path / "cut.csv"
    published.head(50).to_csv(path, index=False)
    last = f"{published.at[50, 'PUBLICATION']},{published.at[50, 'EXTRACT_DATE']},{published.at[50, 'PRACTICE_CODE']}"
    path.write_text(path.read_text() + f"{last},A SURGERY,E0102176")
    with pytest.raises(InputDataError) as info:
        read_practice_lsoa(path)
    text = str(info.value)
    assert [(p.row, p.column) for p in info.value.problems] == [(52, "SEX"), (52, "NUMBER_OF_PATIENTS")], text
    assert "row 52, column 'SEX': missing value" in text
    assert "mixes rows" not in text


def _upset(codes: pd.Series) -> pd.Series:
    """Codes as a careless re-save could leave them: lower case, spaces around."""
    return " " + codes.str.lower() + " "


def test_codes_are_read_upper_case_without_spaces(england, tmp_path):
    """ODS practice codes and ONS LSOA codes are upper case by definition: a lower-case copy reads the same."""
    from geodata.pcn import read_pcn_mapping

    published, _ = _nhs_digital_layout(england, sexes={"ALL": 1.0})
    original, upset = tmp_path / "reg.csv", tmp_path / "reg_lower.csv"
    published.to_csv(original, index=False)
    published.assign(PRACTICE_CODE=_upset(published["PRACTICE_CODE"]), LSOA_CODE=_upset(published["LSOA_CODE"])).to_csv(
        upset, index=False
    )
    pd.testing.assert_frame_equal(read_practice_lsoa(upset), read_practice_lsoa(original))

    sizes = pd.read_csv(england / "gp-reg-pat-prac-all_2021-01.csv", dtype=str, keep_default_na=False)
    sizes.assign(CODE=_upset(sizes["CODE"])).to_csv(tmp_path / "sizes.csv", index=False)
    pd.testing.assert_frame_equal(
        read_list_sizes(tmp_path / "sizes.csv"), read_list_sizes(england / "gp-reg-pat-prac-all_2021-01.csv")
    )

    mapping = pd.read_csv(england / "gp-reg-pat-prac-map_2022-01.csv", dtype=str, keep_default_na=False)
    mapping.assign(PRACTICE_CODE=_upset(mapping["PRACTICE_CODE"])).to_csv(tmp_path / "map.csv", index=False)
    pd.testing.assert_frame_equal(
        read_pcn_mapping(tmp_path / "map.csv"), read_pcn_mapping(england / "gp-reg-pat-prac-map_2022-01.csv")
    )

    epraccur = pd.read_csv(england / "epraccur_2019-12.csv", dtype=str, header=None, keep_default_na=False)
    epraccur[0] = _upset(epraccur[0])
    epraccur.to_csv(tmp_path / "epraccur.csv", index=False, header=False)
    pd.testing.assert_frame_equal(
        read_epraccur(tmp_path / "epraccur.csv"), read_epraccur(england / "epraccur_2019-12.csv")
    )


def test_nhs_choices_practice_codes_are_read_upper_case(england, tmp_path):
    source = england / "nhs-choices-gp_2019.csv"
    lines = source.read_bytes().split(b"\n")
    rows = [line.split(b"\xac") for line in lines[1:] if line]
    lowered = [lines[0]] + [b"\xac".join([first, b" " + code.lower() + b" ", *rest]) for first, code, *rest in rows]
    (tmp_path / "GP.csv").write_bytes(b"\n".join(lowered) + b"\n")
    pd.testing.assert_frame_equal(read_nhs_choices_gp(tmp_path / "GP.csv"), read_nhs_choices_gp(source))
