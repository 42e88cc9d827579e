"""LSOA vintages: registrations by LSOA 2021 codes against the 2011 files, and a plan on 2021 files.

NHS Digital has published the registrations by practice and LSOA by 2021 codes since late
2023, while the engine's default centroids, boundaries and IMD are of 2011. The 2021 files
a planner would give are built here from the real data (nothing is fetched): 2021 centroids
from the representative points of the London 2021 boundaries (beyond London, where the
Redbridge practices' patients also live, the 2011 centroids of the codes the 2021 revision
kept), and the 2022 registrations and the IMD carried onto 2021 codes by overlay (each 2011
LSOA to the 2021 LSOA containing its representative point, and back for the IMD).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import optimise
from catchment.build import build_from_scenario
from catchment.scenario import read_scenario
from geodata.boundaries import LAST_LSOA11_CODES, lsoa21_codes, lsoa_vintage
from geodata.errors import DataWarning, InputDataError
from geodata.nhs import read_epraccur
from geodata.ons import load_lsoas, read_lsoa_centroids

ROOT = Path(__file__).resolve().parents[1]
REDBRIDGE = ROOT / "scenarios" / "redbridge.toml"
REDBRIDGE_LSOA = ROOT / "scenarios" / "redbridge-lsoa.toml"
BOUNDARIES_21 = "london/lsoa21-boundaries-gen20.gpkg"


@pytest.fixture(scope="module")
def files21(real_data, tmp_path_factory) -> dict[str, Path]:
    """2021 centroids, registrations (column LSOA21CD and, a copy, LSOA_CODE) and IMD, in a temporary folder."""
    folder = tmp_path_factory.mktemp("lsoa21")
    b21 = gpd.read_file(real_data / BOUNDARIES_21)
    b11 = gpd.read_file(real_data / "london/lsoa11-boundaries-gen20.gpkg")
    # 2011 -> 2021: the 2021 LSOA holding each 2011 LSOA's representative point (London)
    points11 = gpd.GeoDataFrame({"LSOA11CD": b11["LSOA11CD"]}, geometry=b11.representative_point(), crs=b11.crs)
    to21 = gpd.sjoin(points11, b21[["LSOA21CD", "geometry"]], predicate="within")
    to21 = dict(zip(to21["LSOA11CD"], to21["LSOA21CD"], strict=True))
    reg = pd.read_parquet(
        real_data / "england/gp-reg-pat-prac-lsoa_2022.parquet", columns=["OrganisationCode", "LSOA11CD", "Patient"]
    )
    practices = read_epraccur(real_data / "england/epraccur_2019-12.csv")
    redbridge = reg["OrganisationCode"].isin(set(practices.loc[practices["ccg_code"] == "08N", "practice_code"]))
    reg = reg.loc[reg["LSOA11CD"].isin(set(reg.loc[redbridge, "LSOA11CD"]))]  # every practice's patients there
    reg = reg.assign(LSOA21CD=reg["LSOA11CD"].map(to21).fillna(reg["LSOA11CD"]))
    reg21 = reg.groupby(["OrganisationCode", "LSOA21CD"], as_index=False)["Patient"].sum()
    reg21.to_parquet(folder / "registrations21.parquet", index=False)
    reg21.rename(columns={"LSOA21CD": "LSOA_CODE"}).to_csv(folder / "registrations21-lsoa-code.csv", index=False)

    inner = b21.representative_point()
    c11 = read_lsoa_centroids(real_data / "england/lsoa11-population-weighted-centroids.csv")
    beyond = c11.loc[~c11["lsoa_code"].isin(set(b11["LSOA11CD"])) & c11["lsoa_code"].isin(set(reg21["LSOA21CD"]))]
    centroids = pd.concat(
        [
            pd.DataFrame({"LSOA21CD": b21["LSOA21CD"], "LSOA21NM": b21["LSOA21NM"], "X": inner.x, "Y": inner.y}),
            pd.DataFrame(
                {
                    "LSOA21CD": beyond["lsoa_code"],
                    "LSOA21NM": beyond["name"],
                    "X": beyond.geometry.x,
                    "Y": beyond.geometry.y,
                }
            ),
        ]
    )
    centroids.round(1).to_csv(folder / "lsoa21-centroids.csv", index=False)

    # IMD of each 2021 LSOA: that of the 2011 LSOA holding its representative point (London), others kept
    points21 = gpd.GeoDataFrame({"LSOA21CD": b21["LSOA21CD"]}, geometry=inner, crs=b21.crs)
    to11 = gpd.sjoin(points21, b11[["LSOA11CD", "geometry"]], predicate="within")
    imd = pd.read_parquet(real_data / "england/lsoa11-imd2019.parquet")
    imd = imd.reset_index().rename(columns={"LSOA11CD": "LSOA21CD"})
    london = imd.set_index("LSOA21CD").loc[to11["LSOA11CD"]].reset_index(drop=True)
    london.insert(0, "LSOA21CD", to11["LSOA21CD"].to_numpy())
    imd21 = pd.concat([london, imd.loc[~imd["LSOA21CD"].isin(set(b11["LSOA11CD"]))]], ignore_index=True)
    imd21.to_parquet(folder / "imd21.parquet", index=False)
    population = pd.read_csv(real_data / "london/lsoa11-mid2020-population.csv").set_index("LSOA11CD")
    population = population.loc[to11["LSOA11CD"], ["Persons_All-Ages"]].reset_index(drop=True)
    population.insert(0, "LSOA21CD", to11["LSOA21CD"].to_numpy())
    population.to_csv(folder / "population21.csv", index=False)
    return {
        "population": folder / "population21.csv",
        "registrations": folder / "registrations21.parquet",
        "registrations_lsoa_code": folder / "registrations21-lsoa-code.csv",
        "centroids": folder / "lsoa21-centroids.csv",
        "imd": folder / "imd21.parquet",
        "boundaries": real_data / BOUNDARIES_21,
    }


def _scenario(tmp_path: Path, data: dict[str, Path], *, base: Path = REDBRIDGE, contiguity: bool = False) -> Path:
    text = base.read_text().replace("time_limit = 120", "time_limit = 60")
    if contiguity:
        text = text.replace("[rules]\n", "[rules]\ncontiguity = true\n")
    text += "\n[data]\n" + "".join(f'{role} = "{path}"\n' for role, path in data.items())
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _vintage_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "catchment.build" and r.levelno >= logging.WARNING and "LSOA code(s) where" in r.getMessage()
    ]


def test_the_code_range_matches_the_published_files(real_data):
    centroids11 = read_lsoa_centroids(real_data / "england/lsoa11-population-weighted-centroids.csv")
    codes11 = centroids11["lsoa_code"]
    for country, last in LAST_LSOA11_CODES.items():
        assert codes11.loc[codes11.str.startswith(country)].max() == last
    assert not lsoa21_codes(codes11).any()
    b11 = gpd.read_file(real_data / "london/lsoa11-boundaries-gen20.gpkg")["LSOA11CD"]
    b21 = gpd.read_file(real_data / BOUNDARIES_21)["LSOA21CD"]
    new = ~b21.isin(set(b11))
    assert int(new.sum()) == 335
    assert (lsoa21_codes(b21) == new.to_numpy()).all()  # exactly the 2021 codes that are not 2011 codes
    assert not lsoa21_codes(["NO2011", "S01006506", "E02000001", "W01001958"]).any()
    assert lsoa21_codes(["W01001959", "E01033769"]).all()
    assert lsoa_vintage(centroids11).reason == "column lsoa11cd"


@pytest.mark.parametrize(
    ("registrations", "said"),
    [
        ("registrations", "LSOA 2021 (column LSOA21CD)"),
        ("registrations_lsoa_code", "LSOA 2021 (codes above E01033768 in England or W01001958 in Wales)"),
    ],
)
def test_registrations_of_2021_with_the_2011_files_name_the_mismatch(
    tmp_path, real_data, files21, caplog, registrations, said
):
    scenario = read_scenario(_scenario(tmp_path, {"registrations": files21[registrations]}))
    with caplog.at_level(logging.INFO):
        built = build_from_scenario(scenario, data_dir=real_data, cache=False)
    (message,) = _vintage_warnings(caplog)
    selected = built.registrations.groupby("lsoa_code")["patients"].sum()
    new = selected.loc[selected.index.str.fullmatch(r"E01\d{6}") & (selected.index > "E01033768")]  # not NO2011
    assert 0 < len(new) < len(selected)
    share = new.sum() / selected.sum()
    assert message.startswith(f"{files21[registrations]}: {len(new):,} LSOA code(s) where {new.sum():,} of the ")
    assert f"patients ({share:.1%}) live have no centroid in lsoa11-population-weighted-centroids.csv, " in message
    assert "no boundary in lsoa11-boundaries-gen20.gpkg and no IMD score in lsoa11-imd2019.parquet" in message
    assert new.idxmax() in message  # the code of most patients first
    assert f"The registrations are of {said} while lsoa11-population-weighted-centroids.csv (column " in message
    assert "give [data] centroids, boundaries and imd of LSOA 2021 (code column LSOA21CD)" in message


def test_registrations_of_2011_with_2021_centroids_and_boundaries_name_the_mismatch(
    tmp_path, real_data, files21, caplog
):
    data = {"centroids": files21["centroids"], "boundaries": files21["boundaries"]}
    with caplog.at_level(logging.INFO):
        build_from_scenario(read_scenario(_scenario(tmp_path, data)), data_dir=real_data, cache=False)
    (message,) = _vintage_warnings(caplog)
    assert "no centroid in lsoa21-centroids.csv" in message
    assert (
        "The registrations are of LSOA 2011 (column LSOA11CD) while lsoa21-centroids.csv (column LSOA21CD)" in message
    )
    assert "give [data] centroids and boundaries of LSOA 2011 (code column LSOA11CD)" in message


def test_the_default_files_agree(real_data, caplog):
    """The 2011 registrations on the 2011 files: no warning (``NO2011`` rows are no LSOA code)."""
    with caplog.at_level(logging.INFO):
        build_from_scenario(read_scenario(REDBRIDGE), data_dir=real_data, cache=False)
    assert _vintage_warnings(caplog) == []


def test_a_practice_scenario_on_2021_files_runs_end_to_end(tmp_path, real_data, files21, caplog, monkeypatch):
    monkeypatch.setenv("CATCHMENT_DATA_DIR", str(real_data))
    data = {role: files21[role] for role in ("registrations", "centroids", "boundaries", "imd")}
    path = _scenario(tmp_path, data, contiguity=True)
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO):
        assert optimise.main(["run", str(path), "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    assert _vintage_warnings(caplog) == []
    said = [r.getMessage() for r in caplog.records if r.name.startswith("geodata.")]
    for name in ("registrations21.parquet", "lsoa21-centroids.csv", "lsoa21-boundaries-gen20.gpkg", "imd21.parquet"):
        (line,) = [m for m in said if m.startswith(f"{name}: ")]
        assert line.endswith("LSOA 2021 (column LSOA21CD)"), line
    assert (out / "assignments.csv").is_file()

    built = build_from_scenario(read_scenario(path), data_dir=real_data)  # from the run's cache
    new = set(built.registrations["lsoa_code"][lsoa21_codes(built.registrations["lsoa_code"])])
    assert new and new <= set(built.areas["lsoa_code"])  # drawn, and owned by practices' territories
    assert built.areas.loc[built.areas["lsoa_code"].isin(new), "territory_of"].notna().any()
    units = built.units
    represented = (units["registrations_covered"] * units["population"]).sum() / units["population"].sum()
    assert represented > 0.999  # every LSOA where patients live has a centroid (only NO2011 rows have none)
    assert built.problem.deprivation is not None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"boundaries": "boundaries"},
            [
                "lsoa11-population-weighted-centroids.csv: no centroid for 5 LSOA(s): E01034480",
                "the boundary file lsoa21-boundaries-gen20.gpkg is of LSOA 2021 (column LSOA21CD) and the centroid "
                "file lsoa11-population-weighted-centroids.csv of LSOA 2011 (column lsoa11cd)",
                "give the centroid file (data role centroids) of LSOA 2021, like the boundaries, or boundaries of "
                "LSOA 2011",
            ],
        ),
        (
            {"boundaries": "boundaries", "centroids": "centroids"},
            [
                "lsoa11-mid2020-population.csv: no population for 5 LSOA(s): E01034480",
                "the population file lsoa11-mid2020-population.csv of LSOA 2011 (column LSOA11CD)",
                "give the population file (data role population) of LSOA 2021, like the boundaries",
            ],
        ),
    ],
)
def test_lsoa_units_on_files_of_two_vintages_are_refused_naming_them(
    tmp_path, real_data, files21, capsys, monkeypatch, data, expected
):
    monkeypatch.setenv("CATCHMENT_DATA_DIR", str(real_data))
    path = _scenario(tmp_path, {role: files21[key] for role, key in data.items()}, base=REDBRIDGE_LSOA)
    out = tmp_path / "out"
    assert optimise.main(["run", str(path), "--out", str(out), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"
    assert not out.exists()


def test_lsoa_units_with_an_imd_file_of_2011_say_so(real_data, files21):
    with pytest.warns(DataWarning) as caught:
        lsoas = load_lsoas(
            real_data,
            lad="E09000026",
            boundaries_path=files21["boundaries"],
            centroids_path=files21["centroids"],
            population_path=files21["population"],
        )
    (warning,) = caught
    imd = real_data / "england/lsoa11-imd2019.parquet"
    assert str(warning.message).startswith(f"{imd}: no IMD score for 5 LSOA(s): ")
    assert (
        "the boundary file lsoa21-boundaries-gen20.gpkg is of LSOA 2021 (column LSOA21CD) and the IMD file "
        "lsoa11-imd2019.parquet of LSOA 2011 (column LSOA11CD)" in str(warning.message)
    )
    assert "give the IMD file (data role imd) of LSOA 2021, like the boundaries, or boundaries of LSOA 2011" in str(
        warning.message
    )
    assert int(lsoas["imd_score"].isna().sum()) == 5


@pytest.fixture(scope="module")
def ons_boundaries21(real_data, tmp_path_factory) -> dict[str, Path]:
    """London's 2021 LSOAs in the layout of ONS's own boundary files, which name no MSOA or district.

    ``FID, LSOA21CD, LSOA21NM, LSOA21NMW, BNG_E, BNG_N, LAT, LONG, GlobalID``; a copy without
    LSOA21NM, and the 2022 London boroughs without Barking and Dagenham.
    """
    folder = tmp_path_factory.mktemp("ons-lsoa21")
    b21 = gpd.read_file(real_data / BOUNDARIES_21)
    inner = b21.representative_point()
    degrees = inner.to_crs(4326)
    ons = gpd.GeoDataFrame(
        {
            "FID": range(1, len(b21) + 1),
            "LSOA21CD": b21["LSOA21CD"],
            "LSOA21NM": b21["LSOA21NM"],
            "LSOA21NMW": "",
            "BNG_E": inner.x.round().astype(int),
            "BNG_N": inner.y.round().astype(int),
            "LAT": degrees.y.round(5),
            "LONG": degrees.x.round(5),
            "GlobalID": [f"{{{i:08X}-0000-4000-8000-000000000000}}" for i in range(len(b21))],
        },
        geometry=b21.geometry,
        crs=b21.crs,
    )
    ons.to_file(folder / "LSOA_2021_EW_BFC.gpkg", driver="GPKG")
    ons.drop(columns="LSOA21NM").to_file(folder / "LSOA_2021_EW_BFC_unnamed.gpkg", driver="GPKG")
    lads = gpd.read_file(real_data / "london/lad22-boundaries-gen20.gpkg")
    lads.loc[lads["LAD22CD"] != "E09000002"].to_file(folder / "lad22-without-barking.gpkg", driver="GPKG")
    return {
        "boundaries": folder / "LSOA_2021_EW_BFC.gpkg",
        "unnamed": folder / "LSOA_2021_EW_BFC_unnamed.gpkg",
        "lads_without_barking": folder / "lad22-without-barking.gpkg",
    }


def test_lsoa_units_on_ons_boundaries_are_selected_by_borough(real_data, files21, ons_boundaries21):
    """ONS's LSOA boundaries name no district: the borough came out blank and [units] lad found no LSOA."""
    files = {f"{role}_path": files21[role] for role in ("centroids", "population", "imd")}
    ons = load_lsoas(real_data, lad="E09000026", boundaries_path=ons_boundaries21["boundaries"], **files)
    shared = load_lsoas(real_data, lad="E09000026", boundaries_path=files21["boundaries"], **files)
    assert len(ons) == len(shared) == 164
    assert ons["lsoa_code"].tolist() == shared["lsoa_code"].tolist()
    assert set(ons["lad_name"]) == {"Redbridge"}


@pytest.mark.parametrize(
    ("boundaries", "lads"),
    [
        ("boundaries", "england/lad17-boundaries-super-generalised.geojson"),  # by the LAD name of each LSOA's name
        ("unnamed", "london/lad22-boundaries-gen20.gpkg"),  # no names: by the LAD covering most of each LSOA
    ],
)
def test_every_lsoa_of_ons_boundaries_gets_its_borough(real_data, files21, ons_boundaries21, caplog, boundaries, lads):
    files = {f"{role}_path": files21[role] for role in ("centroids", "population", "imd")}
    with caplog.at_level(logging.INFO):
        lsoas = load_lsoas(
            real_data, boundaries_path=ons_boundaries21[boundaries], lad_boundaries_path=real_data / lads, **files
        )
    truth = gpd.read_file(real_data / BOUNDARIES_21).set_index("LSOA21CD")["LAD22CD"]
    assert len(lsoas) == 4_994
    assert (lsoas["lad_code"].to_numpy() == truth.loc[lsoas["lsoa_code"]].to_numpy()).all()
    by_name = 0 if boundaries == "unnamed" else 4_994
    assert (
        f"{ons_boundaries21[boundaries].name} names no local authority district: each LSOA's is taken from "
        f"{Path(lads).name} ({by_name:,} by the LAD name that begins the LSOA's name, {4_994 - by_name:,} by the "
        "LAD covering most of its area)"
    ) in caplog.messages


def _across_boroughs(tmp_path: Path, data: dict[str, Path]) -> Path:
    """LSOAs of Redbridge, Newham, Waltham Forest and Barking (floor 30,000) that may not cross a borough line."""
    text = REDBRIDGE_LSOA.read_text().replace('lad = "E09000026"', "bbox = [0.0, 51.54, 0.12, 51.60]")
    text = text.replace("floor = 50000\ncontiguity = true", 'floor = 30000\nboundaries = "lad"')
    path = tmp_path / "across.toml"
    path.write_text(text + "\n[data]\n" + "".join(f'{role} = "{file}"\n' for role, file in data.items()))
    return path


def test_the_borough_rule_holds_on_ons_boundaries(tmp_path, real_data, files21, ons_boundaries21):
    """With no district in the LSOA file every LSOA was in borough '': the rule held no LSOA back (9 of 13 crossed)."""
    data = {role: files21[role] for role in ("centroids", "population", "imd")}
    ons = build_from_scenario(
        read_scenario(_across_boroughs(tmp_path, data | {"boundaries": ons_boundaries21["boundaries"]})),
        data_dir=real_data,
        cache=False,
    )
    counts = ons.units["lad_code"].value_counts().to_dict()
    assert counts == {"E09000026": 127, "E09000025": 56, "E09000031": 28, "E09000002": 16}
    shared = build_from_scenario(
        read_scenario(_across_boroughs(tmp_path, data | {"boundaries": files21["boundaries"]})),
        data_dir=real_data,
        cache=False,
    )
    assert ons.units["lad_code"].tolist() == shared.units["lad_code"].tolist()


def test_the_borough_rule_refuses_lsoas_in_no_borough_of_the_lad_file(tmp_path, real_data, files21, ons_boundaries21):
    data = {role: files21[role] for role in ("centroids", "population", "imd")}
    data |= {"boundaries": ons_boundaries21["boundaries"], "lad_boundaries": ons_boundaries21["lads_without_barking"]}
    scenario = read_scenario(_across_boroughs(tmp_path, data))
    with pytest.warns(DataWarning, match=r"115 LSOA\(s\) have no LAD"), pytest.raises(InputDataError) as info:
        build_from_scenario(scenario, data_dir=real_data, cache=False)
    (problem,) = info.value.problems  # one problem naming the count and the first LSOAs
    assert problem.file == str(ons_boundaries21["lads_without_barking"])
    assert problem.message.startswith('[rules] boundaries = "lad": 16 LSOA(s) have no LAD: ')  # Barking's, in the box
    assert "lad_boundaries: E01000007 (Barking and Dagenham 015A), " in problem.message


def test_2011_registrations_on_2021_boundaries_count_only_the_lsoas_the_vintage_explains(real_data, caplog):
    """LSOAs beyond the boundary file's area (Redbridge patients in Essex) are not blamed on the vintage.

    Of the 1,683 LSOAs where Redbridge practices' patients live, 393 are not in London's 2021
    boundaries: 71 are London's 2011 LSOAs that the 2021 revision recoded, the rest lie outside
    London. Only the 71 are named (before: all 393, as if the vintage explained them).
    """
    from catchment.build import check_registration_lsoas
    from geodata.nhs import read_practice_lsoa
    from geodata.ons import read_lsoa_boundaries

    every = read_practice_lsoa(real_data / "england" / "gp-reg-pat-prac-lsoa_2022.parquet")
    selected = every.loc[every["practice_code"].str.startswith("F86")]
    centroids = read_lsoa_centroids(real_data / "england" / "lsoa11-population-weighted-centroids.csv")
    boundaries21 = read_lsoa_boundaries(real_data / "london" / "lsoa21-boundaries-gen20.gpkg")
    boundaries11 = read_lsoa_boundaries(real_data / "london" / "lsoa11-boundaries-gen20.gpkg")
    recoded = set(selected["lsoa_code"]) & set(boundaries11["lsoa_code"]) - set(boundaries21["lsoa_code"])
    with caplog.at_level(logging.WARNING, logger="catchment.build"):
        check_registration_lsoas(
            every,
            selected,
            file=Path("registrations.parquet"),
            lsoa_files={"centroids": (Path("c.csv"), centroids), "boundaries": (Path("b21.gpkg"), boundaries21)},
        )
    (message,) = _vintage_warnings(caplog)
    assert message.startswith(f"registrations.parquet: {len(recoded)} LSOA code(s) where ")
    assert len(recoded) == 71


def _solution(out: Path) -> dict:
    return json.loads((out / "solution.json").read_text())


def test_2021_registrations_with_the_lookup_travel_like_the_2011_run(
    tmp_path, real_data, files21, lsoa_lookup, caplog, monkeypatch
):
    """Before: 2021 registrations on the default 2011 files left the recoded LSOAs' patients out of travel."""
    monkeypatch.setenv("CATCHMENT_DATA_DIR", str(real_data))
    both = {"registrations": files21["registrations"], "lsoa_lookup": lsoa_lookup}
    with caplog.at_level(logging.INFO):
        carried = build_from_scenario(read_scenario(_scenario(tmp_path, both)), data_dir=real_data, cache=False)
    assert _vintage_warnings(caplog) == []
    (note,) = [m for m in caplog.messages if "carried to LSOA 2011 with LSOA11_LSOA21_LAD22_EW_LU.csv" in m]
    assert "are apportioned among" in note and "by their populations in lsoa11-imd2019.parquet (an estimate)" in note
    reference = build_from_scenario(read_scenario(REDBRIDGE), data_dir=real_data, cache=False)
    # not a patient created or lost: the selected practices' patients as in the 2021 file
    reg21 = pd.read_parquet(files21["registrations"])
    chosen = reg21["OrganisationCode"].isin(set(carried.units["unit_id"]))
    assert carried.registrations["patients"].sum() == pytest.approx(reg21.loc[chosen, "Patient"].sum(), rel=1e-12)
    assert carried.registrations["patients"].sum() == pytest.approx(reference.registrations["patients"].sum())
    units = carried.units
    represented = (units["registrations_covered"] * units["population"]).sum() / units["population"].sum()
    assert represented > 0.999
    mean = np.abs(carried.problem.travel_min - reference.problem.travel_min).mean()
    assert mean < 0.05  # minutes: the apportioned patients live in the LSOAs they came from, or beside them

    out = tmp_path / "out"
    assert optimise.main(["run", str(_scenario(tmp_path, both)), "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    assert _solution(out)["proven_optimal"] is True


def test_2021_registrations_without_the_lookup_name_it_in_the_warning(tmp_path, real_data, files21, caplog):
    scenario = read_scenario(_scenario(tmp_path, {"registrations": files21["registrations"]}))
    with caplog.at_level(logging.INFO):
        built = build_from_scenario(scenario, data_dir=real_data, cache=False)
    (message,) = _vintage_warnings(caplog)
    assert message.endswith(
        ", or give [data] lsoa_lookup, ONS's LSOA (2011) to LSOA (2021) lookup, to carry the registrations to LSOA 2011"
    )
    units = built.units
    assert (units["registrations_covered"] * units["population"]).sum() / units["population"].sum() < 0.999


def test_a_lookup_with_an_unknown_change_indicator_is_named(
    tmp_path, real_data, files21, lsoa_lookup, capsys, monkeypatch
):
    monkeypatch.setenv("CATCHMENT_DATA_DIR", str(real_data))
    lines = lsoa_lookup.read_text().splitlines()
    lines[3] = lines[3].replace(",U,", ",u?,")
    bad = tmp_path / "lookup.csv"
    bad.write_text("\n".join(lines) + "\n")
    path = _scenario(tmp_path, {"registrations": files21["registrations"], "lsoa_lookup": bad})
    out = tmp_path / "out"
    assert optimise.main(["run", str(path), "--out", str(out), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{bad}, row 4, column 'CHGIND': unknown change indicator 'u?': expected U (unchanged)" in err


def test_a_lookup_that_is_not_there_is_named_even_when_the_vintages_agree(tmp_path, real_data, capsys, monkeypatch):
    """The 2011 registrations on the 2011 files need no lookup, but one the scenario names must exist."""
    monkeypatch.setenv("CATCHMENT_DATA_DIR", str(real_data))
    missing = tmp_path / "LSOA_(2011)_to_LSOA_(2021)_Lookup.csv"
    path = _scenario(tmp_path, {"lsoa_lookup": missing})
    assert optimise.main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == optimise.EXIT_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{missing}: LSOA lookup not found" in err
