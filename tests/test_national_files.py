"""``national --file ROLE=PATH``: the national run on files of other names and layouts.

A planner with today's files (list sizes of a later month, NHS Digital's registrations by
LSOA) gives them by role instead of renaming them to the default names. The files are
built here from the real data in a temporary folder: copies under other names, and the
registrations of the Redbridge practices (CCG 08N) in NHS Digital's layout.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import optimise
from catchment.national import LOOKUP_POPULATION_ROLE, LSOA_LOOKUP_ROLE, NATIONAL_FILES, national_subproblems
from geodata.boundaries import LSOA_CODE_FORM
from geodata.cache import folder_digest
from geodata.errors import InputDataError, MissingFileError, ProblemDefinitionError
from geodata.nhs import read_list_sizes, read_practice_lsoa
from geodata.ons import read_lsoa_centroids

REDBRIDGE = "08N"  # 42 practices, 337,420 registered patients (Jan 2021)
RENAMED = ("list_sizes", "registrations", "hospitals")
#: The files load_practices reads besides the NHS ones, and the PCN mapping of --compare pcn.
PLACING = {
    "codepoint": "codepoint-open-2025.csv.gz",
    "codepoint_headers": "codepoint-headers-2025.csv",
    "land": "uk-land.geojson",
    "pcn_mapping": "gp-reg-pat-prac-map-jul-2025.csv",
}


def _data_dir_without(real_data: Path, folder: Path, roles: tuple[str, ...]) -> Path:
    """A data folder linking every real file but those of ``roles`` (not there: only --file can give them)."""
    absent = {NATIONAL_FILES[role] for role in roles}
    for sub in ("england", "postcodes"):
        (folder / sub).mkdir(parents=True)
        for path in (real_data / sub).iterdir():
            if f"{sub}/{path.name}" not in absent:
                (folder / sub / path.name).symlink_to(path)
    return folder


@pytest.fixture(scope="module")
def today(real_data, tmp_path_factory) -> dict[str, Path]:
    """Files under the names a planner downloads them with, and a data folder without the defaults."""
    folder = tmp_path_factory.mktemp("national-files")
    files = folder / "today"
    files.mkdir()
    shutil.copyfile(real_data / NATIONAL_FILES["list_sizes"], files / "gp-reg-pat-prac-all-jul-2025.csv")
    shutil.copyfile(real_data / NATIONAL_FILES["hospitals"], files / "hospital-sites.csv")
    sizes = read_list_sizes(real_data / NATIONAL_FILES["list_sizes"])
    redbridge = set(sizes.loc[sizes["ccg_code"] == REDBRIDGE, "practice_code"])
    reg = read_practice_lsoa(real_data / NATIONAL_FILES["registrations"])
    reg = reg.loc[reg["practice_code"].isin(redbridge)]
    pd.DataFrame(
        {
            "PUBLICATION": "GP_PRAC_PAT_LIST",
            "EXTRACT_DATE": "01JUL2025",
            "PRACTICE_CODE": reg["practice_code"],
            "PRACTICE_NAME": "A SURGERY",
            "LSOA_CODE": reg["lsoa_code"],
            "SEX": "ALL",
            "NUMBER_OF_PATIENTS": reg["patients"],
        }
    ).to_csv(files / "gp-reg-pat-prac-lsoa-all.csv", index=False)
    return {
        "root": folder,
        "data": _data_dir_without(real_data, folder / "data", RENAMED),
        "list_sizes": files / "gp-reg-pat-prac-all-jul-2025.csv",
        "registrations": files / "gp-reg-pat-prac-lsoa-all.csv",
        "hospitals": files / "hospital-sites.csv",
    }


def test_national_reads_the_files_given_by_role_and_records_them(today, tmp_path, monkeypatch, capsys, caplog):
    """Before, national read only the default names: --file was no option, and a data folder
    holding today's files under their own names could not be planned."""
    monkeypatch.chdir(today["root"])  # PATH relative to the current folder
    out = tmp_path / "national"
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--out", str(out), "--data-dir", str(today["data"]), "-q"]
    argv += ["--file", "list_sizes=today/gp-reg-pat-prac-all-jul-2025.csv"]
    argv += ["--file", f"registrations={today['registrations']}", "--file", "hospitals=today/hospital-sites.csv"]
    argv += ["--compare", "pcn"]
    assert optimise.main(argv) == optimise.EXIT_OK, capsys.readouterr().err
    assignments = pd.read_csv(out / "assignments.csv")
    assert len(assignments) == 42 and assignments["population"].sum() == 337_420
    ccgs = pd.read_csv(out / "ccg_summary.csv")
    assert ccgs["registrations_covered"].iloc[0] > 0.99  # the patients' LSOAs come from the file given
    assert ccgs["hospital_sites"].iloc[0] >= 1
    summary = json.loads((out / "national.json").read_text())
    given = {role: str(today[role]) for role in RENAMED}
    read_with_a_lookup = {LSOA_LOOKUP_ROLE, LOOKUP_POPULATION_ROLE}
    defaults = {
        role: str(today["data"] / rel)
        for role, rel in NATIONAL_FILES.items()
        if role not in given and role not in read_with_a_lookup
    }
    assert summary["data_files"] == {**defaults, **given, "pcn_mapping": summary["data_files"]["pcn_mapping"]}
    assert set(summary["input_files"]) == set(summary["data_files"].values())
    page = (out / "pcn_comparison.html").read_text(encoding="utf-8")
    assert f"<li>list_sizes: {today['list_sizes']}</li>" in page
    assert _vintage_warnings(caplog) == []  # registrations and centroids both of LSOA 2011


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("list_size=x.csv", "'list_size=x.csv': unknown data file role(s) 'list_size' (did you mean 'list_sizes'?)"),
        ("Centroids=x.csv", "unknown data file role(s) 'Centroids' (did you mean 'centroids'?)"),
        ("stp=x.csv", "unknown data file role(s) 'stp'; the roles: epraccur, list_sizes,"),
        ("list_sizes", "'list_sizes' is not ROLE=PATH; the roles: epraccur, list_sizes"),
        ("list_sizes=", "'list_sizes=' is not ROLE=PATH"),
        ("=x.csv", "'=x.csv' is not ROLE=PATH"),
    ],
)
def test_an_unknown_role_or_a_malformed_value_exits_2_naming_both(value, said, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        optimise.main(["national", "--serial", "--out", str(tmp_path / "out"), "--file", value])
    assert stopped.value.code == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert "argument --file: " in err and said in err and "Traceback" not in err


def test_a_role_given_twice_exits_2(tmp_path, capsys):
    argv = ["national", "--serial", "--out", str(tmp_path / "out"), "--file", "centroids=a.csv"]
    with pytest.raises(SystemExit) as stopped:
        optimise.main([*argv, "--file", "centroids=b.csv"])
    assert stopped.value.code == optimise.EXIT_INPUT
    assert "argument --file: role 'centroids' given 2 times" in capsys.readouterr().err


def test_a_missing_file_given_by_role_exits_2_naming_it(real_data, tmp_path, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "lsoa21-centroids.csv"
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--out", str(out), "--data-dir", str(real_data), "-q"]
    assert optimise.main([*argv, "--file", f"centroids={missing}"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert f"{missing}: centroids file not found" in err and "Traceback" not in err
    assert not out.exists()


def test_the_library_refuses_an_unknown_role(real_data):
    with pytest.raises(ProblemDefinitionError, match=r"'centroid' \(did you mean 'centroids'\?\)"):
        national_subproblems(real_data, ccgs=[REDBRIDGE], files={"centroid": "x.csv"})


def test_practices_left_out_name_the_coordinates_files_read(real_data, placing, tmp_path):
    """J82217 (CCG 10X) has no usable coordinates: its reason names the NHS Choices and Code-Point
    files given, not the defaults (before, codepoint was no role and the default was named)."""
    choices = tmp_path / "gp-practices-2025.csv"
    shutil.copyfile(real_data / NATIONAL_FILES["nhs_choices"], choices)
    files = {"nhs_choices": choices, "codepoint": placing["codepoint"]}
    national = national_subproblems(real_data, ccgs=["10X"], files=files)
    reason = national.left_out.set_index("practice_code").loc["J82217", "reason"]
    assert "none usable in gp-practices-2025.csv and postcode not in codepoint-open-2025.csv.gz" in reason
    assert national.data_files["nhs_choices"] == str(choices)


@pytest.fixture(scope="module")
def placing(real_data, tmp_path_factory) -> dict[str, Path]:
    """The files of :data:`PLACING` under other names, and a data folder without their defaults."""
    folder = tmp_path_factory.mktemp("national-placing")
    (folder / "today").mkdir()
    given = {role: folder / "today" / name for role, name in PLACING.items()}
    for role, path in given.items():
        shutil.copyfile(real_data / NATIONAL_FILES[role], path)
    return {"data": _data_dir_without(real_data, folder / "data", tuple(PLACING)), **given}


def test_national_reads_the_placing_files_and_the_pcn_mapping_given_by_role(placing, tmp_path, capsys):
    """Before, codepoint, codepoint_headers, land and pcn_mapping were no roles: only the data
    folder's defaults were read (the land check skipped without a word when it had none)."""
    out = tmp_path / "national"
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--out", str(out), "--data-dir", str(placing["data"]), "-q"]
    for role in PLACING:
        argv += ["--file", f"{role}={placing[role]}"]
    assert optimise.main([*argv, "--compare", "pcn"]) == optimise.EXIT_OK, capsys.readouterr().err
    summary = json.loads((out / "national.json").read_text())
    for role in PLACING:
        assert summary["data_files"][role] == str(placing[role])
        assert summary["input_files"][str(placing[role])] == hashlib.sha256(placing[role].read_bytes()).hexdigest()
    assert set(summary["input_files"]) == set(summary["data_files"].values())
    assert summary["pcn_comparison"]["ccgs_compared"] == 1  # the mapping given was read
    page = (out / "pcn_comparison.html").read_text(encoding="utf-8")
    assert f"<li>pcn_mapping: {placing['pcn_mapping']}</li>" in page and f"<li>land: {placing['land']}</li>" in page


def test_optional_files_absent_are_not_recorded_and_the_pcn_mapping_is_checked_first(placing):
    """The column headers and the land are read when there (not recorded when not); the PCN
    mapping only to compare, and then checked before any file is read."""
    national = national_subproblems(placing["data"], ccgs=[REDBRIDGE], files={"codepoint": placing["codepoint"]})
    assert {"codepoint_headers", "land", "pcn_mapping"}.isdisjoint(national.data_files)
    assert set(national.input_files) == set(national.data_files.values())
    missing = placing["data"] / NATIONAL_FILES["pcn_mapping"]
    with pytest.raises(MissingFileError, match=f"{missing}: pcn_mapping file not found"):
        national_subproblems(placing["data"], files={"codepoint": placing["codepoint"]}, compare_pcn=True)
    with pytest.raises(ProblemDefinitionError, match="pcn_mapping is read only to compare the plans"):
        national_subproblems(placing["data"], files={"pcn_mapping": placing["pcn_mapping"]})


def test_a_codepoint_folder_is_read_and_recorded_by_its_digest(real_data, tmp_path):
    """The folder Code-Point Open unpacks to was refused as "codepoint file not found"."""
    folder = tmp_path / "codepo_gb"  # one area file and the headers file, side by side
    folder.mkdir()
    (folder / "london.csv").write_bytes(gzip.decompress((real_data / NATIONAL_FILES["codepoint"]).read_bytes()))
    shutil.copyfile(real_data / NATIONAL_FILES["codepoint_headers"], folder / "Code-Point_Open_Column_Headers.csv")
    national = national_subproblems(real_data, ccgs=[REDBRIDGE], files={"codepoint": folder})
    assert national.data_files["codepoint"] == str(folder)
    assert national.input_files[str(folder)] == folder_digest(folder)


def test_a_codepoint_folder_that_cannot_be_listed_exits_2_naming_it(real_data, tmp_path, monkeypatch, capsys):
    """A sub-folder that could not be listed was skipped (the folder refused for having no area files).

    Tests run as root, whom file permissions do not stop, so the listing is made to fail
    with the PermissionError that ``os.scandir`` raises for a folder without read access.
    """
    folder = tmp_path / "codepo_gb"
    (folder / "Data/CSV").mkdir(parents=True)
    (folder / "Data/CSV/london.csv").write_bytes(
        gzip.decompress((real_data / NATIONAL_FILES["codepoint"]).read_bytes())
    )
    real_scandir = os.scandir

    def scandir(path=".", *args):
        if Path(path) == folder / "Data/CSV":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)
    out = tmp_path / "out"
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--out", str(out), "--data-dir", str(real_data), "-q"]
    assert optimise.main([*argv, "--file", f"codepoint={folder}"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert f"{folder / 'Data/CSV'}: a folder of Code-Point Open that cannot be listed (Permission denied)" in err
    assert "Traceback" not in err and not out.exists()


def test_a_pcn_mapping_without_compare_exits_2(tmp_path, capsys):
    argv = ["national", "--serial", "--out", str(tmp_path / "out"), "--file", "pcn_mapping=map.csv"]
    with pytest.raises(SystemExit) as stopped:
        optimise.main(argv)
    assert stopped.value.code == optimise.EXIT_INPUT
    assert "argument --file: role 'pcn_mapping' is read only with --compare pcn" in capsys.readouterr().err


def test_the_land_given_is_the_land_the_practices_are_checked_against(real_data, tmp_path):
    """A land file of Rutland alone: the Redbridge practices (and every other) lie off it."""
    lads = gpd.read_file(real_data / NATIONAL_FILES["land"])
    rutland = tmp_path / "rutland.geojson"
    lads.loc[lads["lad17nm"] == "Rutland"].to_file(rutland, driver="GeoJSON")
    with pytest.raises(InputDataError, match=r"off the land of the UK \(rutland\.geojson"):
        national_subproblems(real_data, ccgs=[REDBRIDGE], files={"land": rutland})


def test_the_comparison_page_lists_the_files_read_escaped():
    from maps.national import pcn_comparison_html
    from solvers.national import PCN_COMPARISON_COLUMNS

    frame = pd.DataFrame(columns=list(PCN_COMPARISON_COLUMNS))
    page = pcn_comparison_html(frame, {}, travel_label="estimate", data_files={"list_sizes": "/data/<b>jul.csv"})
    assert "<li>list_sizes: /data/&lt;b&gt;jul.csv</li>" in page and "<b>jul" not in page


@pytest.fixture(scope="module")
def lsoa21(real_data, tmp_path_factory) -> dict[str, Path]:
    """The Redbridge practices' registrations on LSOA 2021 codes (column LSOA21CD), and 2021 centroids.

    Each London 2011 LSOA goes to the 2021 LSOA holding its representative point; the 2021
    centroids are the representative points of the London 2021 LSOAs.
    """
    folder = tmp_path_factory.mktemp("national-lsoa21")
    b21 = gpd.read_file(real_data / "london/lsoa21-boundaries-gen20.gpkg")
    b11 = gpd.read_file(real_data / "london/lsoa11-boundaries-gen20.gpkg")
    points11 = gpd.GeoDataFrame({"LSOA11CD": b11["LSOA11CD"]}, geometry=b11.representative_point(), crs=b11.crs)
    to21 = gpd.sjoin(points11, b21[["LSOA21CD", "geometry"]], predicate="within")
    to21 = dict(zip(to21["LSOA11CD"], to21["LSOA21CD"], strict=True))
    sizes = read_list_sizes(real_data / NATIONAL_FILES["list_sizes"])
    reg = read_practice_lsoa(real_data / NATIONAL_FILES["registrations"])
    reg = reg.loc[reg["practice_code"].isin(set(sizes.loc[sizes["ccg_code"] == REDBRIDGE, "practice_code"]))]
    reg = reg.assign(LSOA21CD=reg["lsoa_code"].map(to21).fillna(reg["lsoa_code"]))
    reg21 = reg.groupby(["practice_code", "LSOA21CD"], as_index=False)["patients"].sum()
    reg21.rename(columns={"practice_code": "OrganisationCode", "patients": "Patient"}).to_parquet(
        folder / "registrations21.parquet", index=False
    )
    inner = b21.representative_point().to_crs("EPSG:4326")
    pd.DataFrame({"LSOA21CD": b21["LSOA21CD"], "X": inner.x, "Y": inner.y}).to_csv(
        folder / "lsoa21-centroids.csv", index=False
    )
    return {"registrations": folder / "registrations21.parquet", "centroids": folder / "lsoa21-centroids.csv"}


def _vintage_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "LSOA code(s) where" in r.getMessage()
    ]


def test_registrations_of_lsoa_2021_with_2011_centroids_warn_as_a_scenario_does(real_data, lsoa21, caplog):
    """Before, national left the patients of the new 2021 codes out of the travel means without a word."""
    with caplog.at_level(logging.INFO):
        national = national_subproblems(real_data, ccgs=[REDBRIDGE], files={"registrations": lsoa21["registrations"]})
    (message,) = _vintage_warnings(caplog)
    centroids = read_lsoa_centroids(real_data / NATIONAL_FILES["centroids"])
    reg = read_practice_lsoa(lsoa21["registrations"])
    lacking = reg.loc[
        ~reg["lsoa_code"].isin(set(centroids["lsoa_code"])) & reg["lsoa_code"].str.fullmatch(LSOA_CODE_FORM)
    ]
    lacking = lacking.groupby("lsoa_code")["patients"].sum()
    assert 0 < len(lacking) < reg["lsoa_code"].nunique()
    assert message.startswith(f"{lsoa21['registrations']}: {len(lacking):,} LSOA code(s) where {lacking.sum():,} of")
    assert "no centroid in lsoa11-population-weighted-centroids.csv" in message and lacking.idxmax() in message
    assert (
        "The registrations are of LSOA 2021 (column LSOA21CD) while lsoa11-population-weighted-centroids.csv" in message
    )
    assert message.endswith(
        "give the centroids file of LSOA 2021 (code column LSOA21CD), like the registrations, or give the "
        "lsoa_lookup file, ONS's LSOA (2011) to LSOA (2021) lookup, to carry the registrations to LSOA 2011"
    )
    assert "--file" not in message  # called from Python: no command-line option to give
    (sub,) = national.subproblems
    assert sub.registrations_covered < 1.0  # those patients are indeed left out


def test_registrations_of_lsoa_2011_with_2021_centroids_warn(real_data, lsoa21, caplog):
    with caplog.at_level(logging.INFO):
        national_subproblems(real_data, ccgs=[REDBRIDGE], files={"centroids": lsoa21["centroids"]})
    (message,) = _vintage_warnings(caplog)
    assert "no centroid in lsoa21-centroids.csv" in message
    assert (
        "The registrations are of LSOA 2011 (column LSOA11CD) while lsoa21-centroids.csv (column LSOA21CD)" in message
    )
    assert "give the centroids file of LSOA 2011 (code column LSOA11CD)" in message


def test_the_command_line_advises_its_option_for_the_file_of_the_other_vintage(real_data, lsoa21, tmp_path, caplog):
    """The library names the role's file (above); only the command line names its option, --file."""
    out = tmp_path / "national"
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--out", str(out), "--data-dir", str(real_data), "-q"]
    with caplog.at_level(logging.INFO):
        assert optimise.main([*argv, "--file", f"centroids={lsoa21['centroids']}"]) == optimise.EXIT_OK
    (message,) = _vintage_warnings(caplog)
    assert "give --file centroids of LSOA 2011 (code column LSOA11CD)" in message
    assert message.endswith(
        ", or give --file lsoa_lookup, ONS's LSOA (2011) to LSOA (2021) lookup, to carry the registrations to LSOA 2021"
    )


def _carried_note(caplog) -> list[str]:
    return [m for m in caplog.messages if "carried to LSOA 2011 with LSOA11_LSOA21_LAD22_EW_LU.csv" in m]


def test_registrations_of_lsoa_2021_with_the_lookup_are_carried_as_a_scenario_build_does(
    real_data, lsoa21, lsoa_lookup, caplog
):
    """Before, national read no lookup: the 2021 registrations' recoded LSOAs were left out of travel."""
    given = {"registrations": lsoa21["registrations"], LSOA_LOOKUP_ROLE: lsoa_lookup}
    with caplog.at_level(logging.INFO):
        national = national_subproblems(real_data, ccgs=[REDBRIDGE], files=given)
    assert _vintage_warnings(caplog) == []
    (note,) = _carried_note(caplog)  # catchment.build.carry_registrations, as in a scenario build
    assert "of the selected practices' 350,428 patients" in note
    assert "by their populations in lsoa11-imd2019.parquet (an estimate)" in note
    imd = real_data / NATIONAL_FILES[LOOKUP_POPULATION_ROLE]
    assert national.data_files[LSOA_LOOKUP_ROLE] == str(lsoa_lookup) and national.data_files["imd"] == str(imd)
    assert national.input_files[str(lsoa_lookup)] == hashlib.sha256(lsoa_lookup.read_bytes()).hexdigest()
    assert str(imd) in national.input_files
    reference = national_subproblems(real_data, ccgs=[REDBRIDGE])
    assert LSOA_LOOKUP_ROLE not in reference.data_files and "imd" not in reference.data_files
    (sub,), (ref,) = national.subproblems, reference.subproblems
    assert sub.registrations_covered == pytest.approx(ref.registrations_covered, abs=1e-12)  # as the 2011 run
    assert sub.problem is not None and ref.problem is not None
    assert abs(sub.problem.travel_min - ref.problem.travel_min).mean() < 0.01  # minutes


def test_the_command_with_the_lookup_plans_as_the_2011_run_and_says_what_was_apportioned(
    real_data, lsoa21, lsoa_lookup, tmp_path, caplog
):
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--data-dir", str(real_data)]
    assert optimise.main([*argv, "--out", str(tmp_path / "2011"), "-q"]) == optimise.EXIT_OK
    lookup = ["--file", f"registrations={lsoa21['registrations']}", "--file", f"lsoa_lookup={lsoa_lookup}"]
    with caplog.at_level(logging.INFO):
        assert optimise.main([*argv, "--out", str(tmp_path / "2021"), *lookup]) == optimise.EXIT_OK
    assert _vintage_warnings(caplog) == []
    (note,) = _carried_note(caplog)  # not quietened with the per-CCG lines: it is one line per run
    assert "(0.7%) live in 2021 LSOAs that the lookup maps to several 2011 LSOAs" in note
    plans = [pd.read_csv(tmp_path / run / "assignments.csv").set_index("unit_id") for run in ("2011", "2021")]
    assert plans[1][["polysystem_id", "hub_site_id"]].equals(
        plans[0][["polysystem_id", "hub_site_id"]]
    )  # the same plan
    assert (plans[1]["travel_min"] - plans[0]["travel_min"]).abs().max() < 0.1  # minutes
    summary = json.loads((tmp_path / "2021" / "national.json").read_text())
    assert summary["data_files"][LSOA_LOOKUP_ROLE] == str(lsoa_lookup)
    assert set(summary["input_files"]) == set(summary["data_files"].values())


def test_a_lookup_given_when_the_vintages_agree_is_checked_but_not_read(real_data, lsoa_lookup, tmp_path, caplog):
    """As a scenario build does: the file named must be there, and the log says it is not read."""
    with caplog.at_level(logging.INFO):
        national = national_subproblems(real_data, ccgs=[REDBRIDGE], files={LSOA_LOOKUP_ROLE: lsoa_lookup})
    assert any(f"the lsoa_lookup file {lsoa_lookup.name} is not read" in m for m in caplog.messages)
    assert national.data_files[LSOA_LOOKUP_ROLE] == str(lsoa_lookup)
    missing = tmp_path / "LSOA11_LSOA21_LAD22_EW_LU.csv"
    with pytest.raises(MissingFileError, match=f"{missing}: lsoa_lookup file not found"):
        national_subproblems(real_data, ccgs=[REDBRIDGE], files={LSOA_LOOKUP_ROLE: missing})


def test_an_imd_file_without_the_lookup_is_refused(real_data, tmp_path, capsys):
    """The IMD file's populations are read only to apportion the lookup's patients."""
    with pytest.raises(ProblemDefinitionError, match="files: imd is read only with lsoa_lookup: its populations"):
        national_subproblems(real_data, files={"imd": "imd.parquet"})
    argv = ["national", "--serial", "--out", str(tmp_path / "out"), "--file", "imd=imd.parquet"]
    with pytest.raises(SystemExit) as stopped:
        optimise.main(argv)
    assert stopped.value.code == optimise.EXIT_INPUT
    assert (
        "argument --file: role 'imd' is read only with --file lsoa_lookup: its populations" in capsys.readouterr().err
    )


def _sub_icb_list_sizes(real_data: Path, folder: Path) -> Path:
    """The real list sizes in the sub-ICB layout of July 2022 on (column SUB_ICB_LOCATION_CODE)."""
    text = (real_data / NATIONAL_FILES["list_sizes"]).read_text()
    header, rest = text.split("\n", 1)
    relayouted = folder / "gp-reg-pat-prac-all-jul-2025.csv"
    relayouted.write_text(header.replace("CCG_CODE", "SUB_ICB_LOCATION_CODE") + "\n" + rest)
    return relayouted


def test_list_sizes_of_the_sub_icb_layout_are_not_called_ccgs(real_data, tmp_path, capsys):
    """From July 2022 the list sizes name sub-ICB locations: before, the run called them CCGs."""
    from geodata.nhs import sub_icb_layout

    relayouted = _sub_icb_list_sizes(real_data, tmp_path)
    assert sub_icb_layout(read_list_sizes(relayouted)) and not sub_icb_layout(
        read_list_sizes(real_data / NATIONAL_FILES["list_sizes"])
    )
    out = tmp_path / "national"
    argv = ["national", "--ccg", REDBRIDGE, "--serial", "--out", str(out), "--data-dir", str(real_data), "-q"]
    assert optimise.main([*argv, "--file", f"list_sizes={relayouted}", "--compare", "pcn"]) == optimise.EXIT_OK
    printed = capsys.readouterr().out
    assert "NATIONAL: 1 CCGs (sub-ICB locations), 42 practices" in printed
    assert "\nCCGs (sub-ICB locations): optimal" in printed and "of 1 CCGs (sub-ICB locations) break a rule" in printed
    assert json.loads((out / "national.json").read_text())["area_label"] == "CCG (sub-ICB location)"
    page = (out / "pcn_comparison.html").read_text(encoding="utf-8")
    assert "against the optimised plans, by CCG (sub-ICB location)</h1>" in page
    assert "<th>CCGs (sub-ICB locations) whose PCNs break a rule</th>" in page


def test_an_area_below_the_floor_is_named_as_the_list_sizes_name_it():
    from shapely.geometry import Point

    from catchment.national import SUB_ICB_WORDS, ccg_subproblem
    from geodata.settings import BNG

    practice = gpd.GeoDataFrame(
        {"practice_code": ["Q1"], "name": ["Q"], "list_size": pd.array([20_000], dtype="Int64")},
        geometry=[Point(530_000, 180_000)],
        crs=BNG,
    )
    sites = gpd.GeoDataFrame({"site_id": [], "name": []}, geometry=[], crs=BNG)
    sub = ccg_subproblem(
        "BBB",
        practice,
        sites,
        pd.DataFrame(columns=["practice_code", "lsoa_code", "patients"]),
        sites,
        area=SUB_ICB_WORDS,
    )
    assert "30,000 short of the 50,000 floor: the CCG (sub-ICB location) cannot form a polysystem" in sub.reason


@pytest.mark.parametrize(
    ("sub_icb", "said"),
    [
        (False, "unknown CCG code(s) ZZZ: not in column 'CCG_CODE' of "),
        (True, "unknown CCG (sub-ICB location) code(s) ZZZ: not in column 'SUB_ICB_LOCATION_CODE' of "),
    ],
)
def test_an_unknown_ccg_names_the_column_and_the_areas_of_the_list_sizes_read(
    sub_icb, said, real_data, tmp_path, capsys
):
    """Before, the error named the internal column 'ccg_code' and called sub-ICB locations CCGs."""
    list_sizes = _sub_icb_list_sizes(real_data, tmp_path) if sub_icb else real_data / NATIONAL_FILES["list_sizes"]
    out = tmp_path / "national"
    argv = ["national", "--ccg", "ZZZ", "--serial", "--out", str(out), "--data-dir", str(real_data), "-q"]
    assert optimise.main([*argv, "--file", f"list_sizes={list_sizes}"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert f"ERROR: --ccg: {said}{list_sizes} (" in err and "ccg_code" not in err and "Traceback" not in err
    assert not out.exists()


def test_a_ccg_whose_practices_have_no_registration_rows_is_named_and_not_called_patient_weighted(
    real_data, tmp_path, caplog
):
    """Registrations of another area: the run goes on, but says which CCG's travel is from the practices' sites."""
    other = "16C"  # A81001's CCG (Jan 2021)
    table = pd.read_parquet(real_data / NATIONAL_FILES["registrations"])
    path = tmp_path / "reg_other.csv"
    table.loc[table["OrganisationCode"] == "A81001"].to_csv(path, index=False)
    with caplog.at_level(logging.INFO):
        national = national_subproblems(real_data, ccgs=[REDBRIDGE, other], files={"registrations": path})
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert f"{path}: no row for any practice of 1 CCG: {REDBRIDGE}; their practices' travel times are from" in (
        " ".join(warned)
    )
    covered = {s.ccg_code: s.registrations_covered for s in national.subproblems}
    assert covered[REDBRIDGE] == 0.0 and 0.0 < covered[other] < 1.0
    assert not national.travel_label.endswith("patient-weighted over LSOAs")
    assert f"from each practice's own location for the practices of 1 CCG without registration rows: {REDBRIDGE}" in (
        national.travel_label
    )
    assert "patient-weighted over LSOAs for 0." in national.travel_label  # A81001's share of the two CCGs


def test_the_travel_label_is_patient_weighted_when_every_ccg_has_registrations(real_data, caplog):
    with caplog.at_level(logging.INFO):
        national = national_subproblems(real_data, ccgs=[REDBRIDGE])
    assert national.travel_label == "estimate: crow-fly x1.3 at 25 km/h, patient-weighted over LSOAs"
    assert not [r for r in caplog.records if "no row for any practice" in r.getMessage()]
