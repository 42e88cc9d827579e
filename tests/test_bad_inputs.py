"""Bad inputs through the command line: a clear error and exit 2, never a traceback.

Each case drives ``optimise.main`` in this process on a small scenario written into the
test's folder (pointing at the real data, or at a modified copy of a small real file), and
checks the exit code, the message (option, scenario key, or file, row and column), that
nothing was written and that an earlier result in the output folder is intact. The two
features the same work added (practice units with a user travel matrix, a user's own
``[units] file``) are checked end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimise
from catchment.outputs import MARKER as OUTPUT_MARKER
from catchment.problem import MAX_GBP
from catchment.settings import MAX_TIME_LIMIT_S, TIME_LIMIT_RANGE
from geodata.settings import MAX_DETOUR_FACTOR, MAX_PARALLEL, MAX_POPULATION, MAX_SITES, MAX_TRAVEL_MIN
from solvers.phasing import MAX_YEARS

ROOT = Path(__file__).resolve().parents[1]
REDBRIDGE = ROOT / "scenarios" / "redbridge.toml"
REDBRIDGE_LSOA = ROOT / "scenarios" / "redbridge-lsoa.toml"
MARKER = "earlier result\n"
#: Line of Ilford Medical Centre (F86022, Redbridge) in the published NHS Choices GP file.
F86022_ROW = 3675


# --------------------------------------------------------------------------- helpers
def _previous(tmp_path: Path) -> Path:
    """An output folder holding an earlier result (written by the engine: it holds the marker)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / OUTPUT_MARKER).write_text('{"written_by": "catchment-planner"}\n')
    (out / "assignments.csv").write_text(MARKER)
    return out


def _assert_untouched(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == sorted([OUTPUT_MARKER, "assignments.csv"]), "partial output written"
    assert (out / "assignments.csv").read_text() == MARKER, "earlier result changed"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")], "staging folder left"


def _fails(tmp_path: Path, capsys, argv: list[str], *expected: str) -> str:
    """Run the CLI on ``argv`` (plus an output folder with an earlier result); exit 2."""
    out = _previous(tmp_path)
    code = optimise.main([*argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == optimise.EXIT_INPUT, err
    assert "Traceback" not in err and "INTERNAL ERROR" not in err
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"
    _assert_untouched(out)
    return err


def _option_fails(tmp_path: Path, capsys, argv: list[str], *expected: str) -> str:
    """An option rejected by the command line parser: exit 2, before any data is read."""
    out = _previous(tmp_path)
    with pytest.raises(SystemExit) as info:
        optimise.main([*argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert info.value.code == optimise.EXIT_INPUT
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"
    _assert_untouched(out)
    return err


def _scenario(
    tmp_path: Path,
    base: Path = REDBRIDGE,
    *,
    replace: dict[str, str] | None = None,
    append: str = "",
    name: str = "s.toml",
) -> Path:
    text = base.read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text + "\n" + append)
    return path


def _data(real_data: Path, *parts: str) -> Path:
    return real_data.joinpath(*parts)


# --------------------------------------------------------------------------- command-line options
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", str(REDBRIDGE), "--time-limit", "-5"], ["--time-limit", TIME_LIMIT_RANGE, "'-5'"]),
        (["run", str(REDBRIDGE), "--time-limit", "nan"], ["--time-limit", "not a finite number"]),
        (["run", str(REDBRIDGE), "--time-limit", "0"], ["--time-limit", TIME_LIMIT_RANGE, "'0'"]),
        (["run", str(REDBRIDGE), "--time-limit", "1e300"], ["--time-limit", TIME_LIMIT_RANGE, "'1e300'"]),
        (["national", "--time-limit", "604801"], ["--time-limit", TIME_LIMIT_RANGE, "'604801'"]),
        (["run", str(REDBRIDGE), "--time-limit", "ten"], ["--time-limit", "'ten' is not a number"]),
        (["shortlist", "demo", "--workers", "0"], ["--workers", f"from 1 to {MAX_PARALLEL:,}", "'0'"]),
        (
            ["sweep", str(ROOT / "scenarios" / "redbridge-sweep.toml"), "--workers", "1000000000000"],
            ["--workers", f"from 1 to {MAX_PARALLEL:,}", "'1000000000000'"],
        ),
        (["shortlist", "demo", "--tolerance", "-0.1"], ["--tolerance", "must not be negative"]),
        (
            ["sweep", str(ROOT / "scenarios" / "redbridge-sweep.toml"), "--workers", "2.5"],
            ["--workers", "not a whole number"],
        ),
        (["phase", "demo", "--years", "0", "--annual-budget", "5e6"], ["--years", "at least 1"]),
        (["phase", "demo", "--years", "-3", "--annual-budget", "5e6"], ["--years", "at least 1"]),
        (["phase", "demo", "--annual-budget", "-5"], ["--annual-budget", "must not be negative"]),
        (["phase", "demo", "--annual-budget", "inf"], ["--annual-budget", "not a finite number"]),
        (
            ["phase", "demo", "--years", "3", "--annual-budget", "1e6", "2e6"],
            ["--annual-budget", "2 amounts given for --years 3"],
        ),
        (["national", "--mip-gap", "1.5"], ["--mip-gap", "relative gap"]),
        (["national", "--floor", "-1"], ["--floor", "must not be negative"]),
        (["demo", "--seed", "-1"], ["--seed", "must not be negative"]),
        (["app", "--port", "70000"], ["--port", "from 1 to 65,535", "'70000'"]),
        (["app", "--port", "0"], ["--port", "from 1 to 65,535", "'0'"]),
        (
            ["phase", "demo", "--years", "1000000", "--annual-budget", "5e6"],
            ["--years", f"from 1 to {MAX_YEARS}", "'1000000'"],
        ),
        (["phase", "demo", "--annual-budget", "1e300"], ["--annual-budget", f"from 0 to {MAX_GBP:,.0f}"]),
        (["national", "--floor", "1e300"], ["--floor", f"from 0 to {MAX_POPULATION:,}"]),
    ],
    ids=[
        "time-limit-negative",
        "time-limit-nan",
        "time-limit-zero",
        "time-limit-absurd",
        "time-limit-over-a-week",
        "time-limit-text",
        "workers-zero",
        "workers-absurd",
        "tolerance-negative",
        "workers-fraction",
        "years-zero",
        "years-negative",
        "budget-negative",
        "budget-infinite",
        "budget-count",
        "mip-gap-above-1",
        "floor-negative",
        "seed-negative",
        "port-absurd",
        "port-zero",
        "years-absurd",
        "budget-absurd",
        "floor-absurd",
    ],
)
def test_bad_option_values_exit_2_naming_the_option(tmp_path, capsys, argv, expected):
    _option_fails(tmp_path, capsys, argv, *expected)


@pytest.mark.parametrize("command", ["evaluate", "phase"])
def test_missing_plan_file_is_named_before_any_data_is_read(tmp_path, capsys, command):
    argv = [command, str(REDBRIDGE), "--plan", str(tmp_path / "nowhere.csv")]
    if command == "phase":
        argv += ["--annual-budget", "5e6"]
    _option_fails(tmp_path, capsys, argv, "--plan", "nowhere.csv", "not found")


def test_app_on_a_port_in_use_exits_2_naming_it_before_loading(capsys, monkeypatch):
    import socket

    import workbench.app

    def no_loading(*args, **kwargs):
        raise AssertionError("the scenario was loaded before the port was checked")

    monkeypatch.setattr(workbench.app, "Session", no_loading)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))  # a free port, now in use
        taken.listen()
        port = taken.getsockname()[1]
        code = optimise.main(["app", str(REDBRIDGE), "--port", str(port), "--quiet"])
    err = capsys.readouterr().err
    assert code == optimise.EXIT_INPUT
    assert f"ERROR: --port {port}: the port is in use by another program on 127.0.0.1" in err, err
    assert "give another --port" in err and "Traceback" not in err


# --------------------------------------------------------------------------- scenario keys
@pytest.mark.parametrize(
    ("append", "expected"),
    [
        (
            '[data]\nlist_size = "england/gp-reg-pat-prac-all_2021-01.csv"\n',
            ["[data] has unknown key(s) list_size (did you mean 'list_sizes'?)"],
        ),
        (
            '[data]\nepracur = "england/epraccur_2019-12.csv"\nzzz = "x.csv"\n',
            ["epracur (did you mean 'epraccur'?)", ", zzz;"],
        ),
        ("[data]\nlist_sizes = 5\n", ["[data] list_sizes must be a file path (text), got 5"]),
        ("[rule]\nfloor = 3\n", ["unknown section(s) rule (did you mean 'rules'?)"]),
    ],
    ids=["data-typo", "data-typos-and-unknown", "data-not-text", "section-typo"],
)
def test_unknown_scenario_keys_are_named_with_suggestions(tmp_path, capsys, append, expected):
    err = _fails(tmp_path, capsys, ["run", str(_scenario(tmp_path, append=append))], *expected)
    assert "s.toml" in err


def test_typo_in_a_table_key_is_named_with_a_suggestion(tmp_path, capsys):
    path = _scenario(tmp_path, replace={'hospital_sector = "NHS"': 'hospital_sectr = "NHS"'})
    _fails(
        tmp_path,
        capsys,
        ["run", str(path)],
        "[sites] has unknown key(s) hospital_sectr (did you mean 'hospital_sector'?)",
    )


def test_typos_in_a_sweep_file_are_named_with_suggestions(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'[sweep]\nbase = "{REDBRIDGE}"\nmap = true\n[grid]\nfloors = [40000]\n')
    _fails(
        tmp_path,
        capsys,
        ["sweep", str(sweep), "--serial"],
        "[sweep] has unknown key(s) map (did you mean 'maps'?)",
        "[grid] has unknown key(s) floors (did you mean 'floor'?)",
    )


def test_scenario_that_is_not_toml_is_named(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text("[units]\nccg = 08N\n")
    _fails(tmp_path, capsys, ["run", str(path)], f"{path}: not valid TOML")


def test_data_folder_without_the_files_names_the_first_missing_file(tmp_path, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    _fails(
        tmp_path,
        capsys,
        ["run", str(REDBRIDGE), "--data-dir", str(empty)],
        str(empty / "england" / "epraccur_2019-12.csv"),
        "not found",
    )


def test_unknown_waiver_names_the_file_and_key(tmp_path, capsys, real_data):
    path = _scenario(tmp_path, append='[rules.waivers]\nZZZ = "no such practice"\nF86022 = "real"\n')
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{path}: [rules.waivers] names unknown units: 'ZZZ'",
    )
    assert "F86022" not in err


def test_units_file_cannot_be_mixed_with_a_selection(tmp_path, capsys):
    path = _scenario(tmp_path, replace={'ccg = "08N"': 'ccg = "08N"\nfile = "units.csv"'})
    _fails(tmp_path, capsys, ["run", str(path)], "[units] file gives the units itself: remove ccg")


def test_units_file_with_contiguity_is_refused(tmp_path, capsys):
    path = _scenario(tmp_path, REDBRIDGE_LSOA, replace={'lad = "E09000026"': 'file = "units.csv"'})
    _fails(tmp_path, capsys, ["run", str(path)], "[rules] contiguity needs LSOA boundaries; [units] file")


def test_unknown_ccg_code_names_the_key_and_suggests(tmp_path, capsys, real_data):
    path = _scenario(tmp_path, replace={'ccg = "08N"': 'ccg = "O8N"'})
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        "[units] ccg: unknown CCG code(s) 'O8N' (did you mean '08N'?)",
        "gp-reg-pat-prac-all_2021-01.csv",
    )


def test_unknown_lad_code_names_the_key_and_suggests(tmp_path, capsys, real_data):
    path = _scenario(tmp_path, REDBRIDGE_LSOA, replace={'lad = "E09000026"': 'lad = "E09000926"'})
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        "[units] lad: unknown LAD code(s) 'E09000926' (did you mean",
        "'E09000026'",
        "lsoa11-boundaries-gen20.gpkg",
    )


# --------------------------------------------------------------------------- data files
def test_header_only_list_size_file_is_named_not_epraccur(tmp_path, capsys, real_data):
    sizes = tmp_path / "sizes.csv"
    sizes.write_text(_data(real_data, "england", "gp-reg-pat-prac-all_2021-01.csv").read_text().splitlines()[0] + "\n")
    path = _scenario(tmp_path, append=f'[data]\nlist_sizes = "{sizes}"\n')
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{sizes}: the file has a header line but no practices",
    )
    assert "epraccur" not in err


def test_list_size_file_without_all_persons_rows(tmp_path, capsys, real_data):
    lines = _data(real_data, "england", "gp-reg-pat-prac-all_2021-01.csv").read_text().splitlines()
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("\n".join([lines[0], *(line.replace(",ALL,ALL,", ",MALE,ALL,") for line in lines[1:50])]) + "\n")
    path = _scenario(tmp_path, append=f'[data]\nlist_sizes = "{sizes}"\n')
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{sizes}, column 'SEX, AGE': no row has SEX = ALL and AGE = ALL",
    )


def _damaged_copy(source: Path, target: Path, *, at: float, garbage: bytes) -> Path:
    data = bytearray(source.read_bytes())
    start = int(len(data) * at)
    data[start : start + len(garbage)] = garbage
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize("at", [0.5, 0.9], ids=["middle", "near-end"])
def test_geopackage_with_garbage_mid_file_is_named(tmp_path, capsys, real_data, at):
    bad = _damaged_copy(
        _data(real_data, "london", "lsoa11-boundaries-gen20.gpkg"),
        tmp_path / "lsoa.gpkg",
        at=at,
        garbage=b"\x00garbage" * 4096,
    )
    path = _scenario(tmp_path, REDBRIDGE_LSOA, append=f'[data]\nboundaries = "{bad}"\n')
    _fails(tmp_path, capsys, ["run", str(path), "--data-dir", str(real_data)], f"{bad}: the GeoPackage is damaged")


def test_truncated_geopackage_is_named(tmp_path, capsys, real_data):
    bad = tmp_path / "lsoa.gpkg"
    bad.write_bytes(_data(real_data, "london", "lsoa11-boundaries-gen20.gpkg").read_bytes()[:200_000])
    path = _scenario(tmp_path, REDBRIDGE_LSOA, append=f'[data]\nboundaries = "{bad}"\n')
    _fails(tmp_path, capsys, ["run", str(path), "--data-dir", str(real_data)], f"{bad}: the GeoPackage is damaged")


def _swap_columns(source: Path, target: Path, a: str, b: str) -> Path:
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    i, j = header.index(a), header.index(b)
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        fields[i], fields[j] = fields[j], fields[i]
        out.append(",".join(fields))
    target.write_text("\n".join(out) + "\n")
    return target


@pytest.mark.parametrize("base", [REDBRIDGE, REDBRIDGE_LSOA], ids=["practices", "lsoas"])
def test_lsoa_centroids_with_x_and_y_swapped(tmp_path, capsys, real_data, base):
    bad = _swap_columns(
        _data(real_data, "england", "lsoa11-population-weighted-centroids.csv"), tmp_path / "centroids.csv", "X", "Y"
    )
    path = _scenario(tmp_path, base, append=f'[data]\ncentroids = "{bad}"\n')
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{bad}, column 'X, Y': X and Y look exchanged",
        f"{bad}, row 2, column 'X, Y': LSOA 'E01008657' at X 54.972, Y -1.49451",
    )
    assert "proven optimal" not in err.lower()


def _move_practice(real_data: Path, target: Path, code: str, latitude: float, longitude: float) -> Path:
    text = _data(real_data, "england", "nhs-choices-gp_2019.csv").read_bytes().decode("latin-1")
    lines = text.split("\n")
    header = lines[0].split("¬")
    lat, lon, col = header.index("Latitude"), header.index("Longitude"), header.index("OrganisationCode")
    for k, line in enumerate(lines):
        fields = line.split("¬")
        if len(fields) > col and fields[col] == code:
            assert k + 1 == F86022_ROW
            fields[lat], fields[lon] = str(latitude), str(longitude)
            lines[k] = "¬".join(fields)
    target.write_bytes("\n".join(lines).encode("latin-1"))
    return target


@pytest.mark.parametrize(
    ("where", "latitude", "longitude", "expected"),
    [
        ("north-sea", 53.0, 2.0, "lies 35 km off the land of the UK"),
        ("calais", 50.95, 1.86, "lies 40 km off the land of the UK"),
        ("manchester", 53.48, -2.24, "lies 259 km from the nearest other practice of the selection (CCG 08N"),
    ],
    ids=["north-sea", "calais", "manchester"],
)
def test_misplaced_practice_is_named_by_file_row_and_column(
    tmp_path, capsys, real_data, where, latitude, longitude, expected
):
    moved = _move_practice(real_data, tmp_path / "gp.csv", "F86022", latitude, longitude)
    path = _scenario(tmp_path, append=f'[data]\nnhs_choices = "{moved}"\n')
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{moved}, row {F86022_ROW}, column 'Latitude, Longitude': practice F86022 (ILFORD MEDICAL CENTRE) "
        f"at latitude {latitude}, longitude {longitude} {expected}",
    )


# --------------------------------------------------------------------------- configurations (phase, evaluate)
@pytest.fixture(scope="module")
def redbridge_built(real_data):
    from catchment.build import build_from_scenario
    from catchment.scenario import read_scenario

    return build_from_scenario(read_scenario(REDBRIDGE), data_dir=real_data, cache=False)


def test_phase_with_a_rule_breaking_plan_is_bad_input_not_internal_error(tmp_path, capsys, real_data, redbridge_built):
    units = list(redbridge_built.problem.unit_ids)
    config = tmp_path / "plan.csv"
    pd.DataFrame({"unit_id": units, "polysystem_id": ["TINY"] + ["BIG"] * (len(units) - 1)}).to_csv(config, index=False)
    err = _fails(
        tmp_path,
        capsys,
        ["phase", str(REDBRIDGE), "--plan", str(config), "--annual-budget", "5e6", "--data-dir", str(real_data)],
        f"{config}: the configuration breaks",
        "floor",
    )
    assert "INTERNAL ERROR" not in err


def test_evaluate_plan_that_is_not_text_is_named(tmp_path, capsys, real_data):
    config = tmp_path / "plan.csv"
    config.write_bytes(b"unit_id,polysystem_id\nF86007,\xff\xfe\n")
    _fails(
        tmp_path,
        capsys,
        ["evaluate", str(REDBRIDGE), "--plan", str(config), "--data-dir", str(real_data)],
        f"{config}, row 2: cannot be decoded as utf-8",
    )


# --------------------------------------------------------------------------- practice units with a user matrix
def _run_ok(argv: list[str], out: Path) -> dict:
    assert optimise.main([*argv, "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    return json.loads((out / "solution.json").read_text())


def _matrix_scenario(tmp_path: Path, matrix: Path) -> Path:
    return _scenario(
        tmp_path, replace={'source = "estimate"': f'source = "matrix"\nmatrix = "{matrix}"'}, name=f"{matrix.stem}.toml"
    )


@pytest.fixture(scope="module")
def estimate_solution(tmp_path_factory, real_data):
    """The Redbridge practices optimum with crow-fly estimates (the matrices below hold the same minutes)."""
    return _run_ok(["run", str(REDBRIDGE), "--data-dir", str(real_data)], tmp_path_factory.mktemp("estimate") / "out")


def test_practice_units_with_a_matrix_keyed_by_practice(tmp_path, real_data, redbridge_built, estimate_solution):
    problem = redbridge_built.problem
    matrix = tmp_path / "practices.csv"
    pd.DataFrame(
        [
            (unit, site, problem.travel_min[i, j])
            for i, unit in enumerate(problem.unit_ids)
            for j, site in enumerate(problem.site_ids)
        ],
        columns=["origin_id", "destination_id", "minutes"],
    ).to_csv(matrix, index=False)
    solution = _run_ok(["run", str(_matrix_scenario(tmp_path, matrix)), "--data-dir", str(real_data)], tmp_path / "out")
    assert solution["travel_source"] == "matrix" and solution["proven_optimal"] is True
    assert solution["objective"] == pytest.approx(estimate_solution["objective"], rel=1e-9)


@pytest.mark.parametrize("value", ["1e300", "1e999"])
def test_practice_matrix_absurd_time_is_named_by_file_row_and_column(tmp_path, capsys, redbridge_built, value):
    """Before, 1e300 was read as a time (for every site of one practice: a plan of 1e+299-minute means, exit 0)."""
    problem = redbridge_built.problem
    matrix = tmp_path / "practices.csv"
    rows = [
        (u, s, f"{problem.travel_min[i, j]:.6f}")
        for i, u in enumerate(problem.unit_ids)
        for j, s in enumerate(problem.site_ids)
    ]
    rows[3] = (*rows[3][:2], value)
    pd.DataFrame(rows, columns=["origin_id", "destination_id", "minutes"]).to_csv(matrix, index=False)
    _fails(
        tmp_path,
        capsys,
        ["run", str(_matrix_scenario(tmp_path, matrix))],
        f"{matrix}, row 5, column 'minutes': travel time {value!r} is above the maximum {MAX_TRAVEL_MIN:,.0f} minutes",
    )


def test_practice_matrix_rows_of_other_origins_are_ignored(
    tmp_path, caplog, real_data, redbridge_built, estimate_solution
):
    """A row for an origin outside the selection was once '16 problems: no travel time for origin 'ZZZ' -> ...'."""
    problem = redbridge_built.problem
    matrix = tmp_path / "practices.csv"
    pd.DataFrame(
        [
            *[
                (unit, site, problem.travel_min[i, j])
                for i, unit in enumerate(problem.unit_ids)
                for j, site in enumerate(problem.site_ids)
            ],
            ("ZZZ", problem.site_ids[0], 5.0),
        ],
        columns=["origin_id", "destination_id", "minutes"],
    ).to_csv(matrix, index=False)
    with caplog.at_level("INFO", logger="geodata.travel"):
        solution = _run_ok(
            ["run", str(_matrix_scenario(tmp_path, matrix)), "--data-dir", str(real_data)], tmp_path / "out"
        )
    assert solution["objective"] == pytest.approx(estimate_solution["objective"], rel=1e-9)
    assert "practices.csv: 1 origin(s) not in the selection ignored: ['ZZZ']" in caplog.text


def test_a_road_network_of_another_area_is_refused(tmp_path, capsys, real_data):
    """Redbridge on the Palmers Green extract: every site 13-16 km off it (once an 'optimal' plan of 230-min walks)."""
    path = _scenario(
        tmp_path,
        replace={'source = "estimate"': 'source = "network"\nnetwork = "osm/north-london-palmers-green.osm"'},
    )
    err = _fails(tmp_path, capsys, ["run", str(path), "--data-dir", str(real_data)], "north-london-palmers-green.osm")
    assert "17 of 17 candidate sites lie more than 2,000 m from this road network" in err
    assert "does not cover the selection" in err


def _lsoa_matrix(tmp_path: Path, real_data: Path, built, *, drop: list[str] = ()) -> Path:
    from geodata import travel as gt
    from geodata.ons import read_lsoa_centroids

    centroids = read_lsoa_centroids(_data(real_data, "england", "lsoa11-population-weighted-centroids.csv"))
    centroids = centroids[centroids["lsoa_code"].isin(built.registrations["lsoa_code"])]
    sites = built.sites
    tt = gt.crow_fly_matrix(
        centroids.geometry,
        sites.geometry,
        origin_ids=list(centroids["lsoa_code"]),
        destination_ids=list(sites["site_id"]),
    )
    wide = pd.DataFrame(np.asarray(tt.minutes), columns=list(sites["site_id"]))
    wide.insert(0, "lsoa", list(centroids["lsoa_code"]))
    wide = wide[~wide["lsoa"].isin(drop)]
    path = tmp_path / "lsoas.csv"
    wide.to_csv(path, index=False)
    return path


def test_practice_units_with_a_matrix_keyed_by_lsoa(tmp_path, real_data, redbridge_built, estimate_solution):
    matrix = _lsoa_matrix(tmp_path, real_data, redbridge_built)
    solution = _run_ok(["run", str(_matrix_scenario(tmp_path, matrix)), "--data-dir", str(real_data)], tmp_path / "out")
    assert solution["travel_source"] == "matrix" and solution["proven_optimal"] is True
    # the estimate's crow-fly minutes per LSOA, weighted by registrations: the same optimum
    assert solution["objective"] == pytest.approx(estimate_solution["objective"], rel=1e-6)


def test_lsoa_matrix_missing_every_lsoa_of_a_practice_is_named(tmp_path, capsys, real_data, redbridge_built):
    registrations = redbridge_built.registrations
    practice = "F86022"
    matrix = _lsoa_matrix(
        tmp_path,
        real_data,
        redbridge_built,
        drop=list(registrations.loc[registrations["practice_code"] == practice, "lsoa_code"]),
    )
    _fails(
        tmp_path,
        capsys,
        ["run", str(_matrix_scenario(tmp_path, matrix)), "--data-dir", str(real_data)],
        f"{matrix}, column 'origin': no origin of the matrix is an LSOA where the patients of 1 practice(s) "
        f"live: {practice}",
    )


def test_practice_matrix_missing_a_practice_is_named(tmp_path, capsys, real_data, redbridge_built):
    problem = redbridge_built.problem
    matrix = tmp_path / "practices.csv"
    pd.DataFrame(
        [(u, s, 5.0) for u in problem.unit_ids[1:] for s in problem.site_ids],
        columns=["origin_id", "destination_id", "minutes"],
    ).to_csv(matrix, index=False)
    _fails(
        tmp_path,
        capsys,
        ["run", str(_matrix_scenario(tmp_path, matrix)), "--data-dir", str(real_data)],
        f"{matrix}, column 'origin': the matrix is keyed by practice code but has no row for 1 practice(s) "
        f"of the selection: {problem.unit_ids[0]}",
    )


def test_matrix_matching_neither_practices_nor_lsoas_is_named(tmp_path, capsys, real_data, redbridge_built):
    matrix = tmp_path / "other.csv"
    pd.DataFrame(
        [("X1", s, 5.0) for s in redbridge_built.problem.site_ids], columns=["origin_id", "destination_id", "minutes"]
    ).to_csv(matrix, index=False)
    _fails(
        tmp_path,
        capsys,
        ["run", str(_matrix_scenario(tmp_path, matrix)), "--data-dir", str(real_data)],
        f"{matrix}, column 'origin': no origin id is a practice code of the selection",
    )


# --------------------------------------------------------------------------- a user's own units file
def _units_frame(built) -> pd.DataFrame:
    units = built.units.to_crs("EPSG:4326")
    return pd.DataFrame(
        {
            "id": built.units["unit_id"],
            "name": built.units["name"],
            "population": built.units["population"].astype(float),
            "longitude": units.geometry.x.round(6),
            "latitude": units.geometry.y.round(6),
        }
    )


def _units_scenario(tmp_path: Path, units: Path) -> Path:
    path = tmp_path / "units.toml"
    path.write_text(
        f'[scenario]\nname = "own units"\n[units]\ntype = "practice"\nfile = "{units}"\n'
        "[sites]\nhospitals_within_m = 3000\nlargest_practices = 12\n[rules]\nfloor = 50000\n"
        "[solver]\ntime_limit = 60\n"
    )
    return path


@pytest.mark.parametrize("coordinates", ["longitude/latitude", "easting/northing"])
def test_units_file_is_planned(tmp_path, real_data, redbridge_built, coordinates):
    frame = _units_frame(redbridge_built)
    if coordinates == "easting/northing":
        points = redbridge_built.units.geometry
        frame = frame.drop(columns=["longitude", "latitude"]).assign(
            easting=points.x.round(1).to_numpy(), northing=points.y.round(1).to_numpy()
        )
    units = tmp_path / "units.csv"
    frame.to_csv(units, index=False)
    out = tmp_path / "out"
    solution = _run_ok(["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data)], out)
    assignments = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    assert sorted(assignments["unit_id"]) == sorted(frame["id"])
    assert assignments["population"].sum() == pytest.approx(frame["population"].sum())
    assert solution["proven_optimal"] is True and solution["travel_source"] == "estimate"
    assert str(units) in solution["input_files"]


def test_units_file_problems_are_all_named_at_once(tmp_path, capsys, real_data, redbridge_built):
    frame = _units_frame(redbridge_built).head(6).astype(str)
    frame.loc[1, "id"] = ""
    frame.loc[2, "id"] = frame.loc[3, "id"]
    frame.loc[4, "population"] = "many"
    frame.loc[5, "population"] = "-10"
    frame.loc[0, "longitude"] = "east"
    units = tmp_path / "units.csv"
    frame.to_csv(units, index=False)
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data)],
        f"{units}, row 3, column 'id': missing id",
        f"{units}, row 4, column 'id': duplicate id {frame.loc[3, 'id']!r} (rows 4, 5)",
        f"{units}, row 6, column 'population': 'many' is not a number",
        f"{units}, row 7, column 'population': '-10' is below the minimum 0",
        f"{units}, row 2, column 'longitude': 'east' is not a number",
    )
    assert "5 problems" in err


#: A small units file: three Redbridge practices (longitude/latitude).
_THREE_UNITS = (
    "id,name,population,longitude,latitude\n"
    "F86007,THE FOREST EDGE PRACTICE,12954,0.10443,51.607761\n"
    "F86008,GANTS HILL MEDICAL CENTRE,10008,0.064466,51.577156\n"
    "F86009,THE PALMS MEDICAL CENTRE,7477,0.088546,51.576984\n"
)


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e999"])
def test_units_file_infinite_population_is_named(tmp_path, capsys, real_data, value):
    units = tmp_path / "units.csv"
    units.write_text(_THREE_UNITS.replace(",7477,", f",{value},"))
    _fails(
        tmp_path,
        capsys,
        ["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data)],
        f"{units}, row 4, column 'population': {value!r} is not a finite number",
    )


def test_units_file_absurd_population_is_named(tmp_path, capsys, real_data):
    units = tmp_path / "units.csv"
    units.write_text(_THREE_UNITS.replace(",7477,", ",1e300,"))
    _fails(
        tmp_path,
        capsys,
        ["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data)],
        f"{units}, row 4, column 'population': '1e300' is above the maximum {MAX_POPULATION:,}",
        f"(accepted: 0 to {MAX_POPULATION:,})",
    )


@pytest.mark.parametrize(
    ("line", "absurd", "expected"),
    [
        ("detour_factor = 1.3", "1e308", f"[travel] detour_factor must be from 1 to {MAX_DETOUR_FACTOR:g}, got 1e+308"),
        (
            "largest_practices = 12",
            "1000000000000",
            f"[sites] largest_practices must be from 0 to {MAX_SITES:,}, got 1000000000000",
        ),
    ],
    ids=["detour-factor", "largest-practices"],
)
def test_absurd_scenario_numbers_are_named_with_their_range(tmp_path, capsys, line, absurd, expected):
    """Before, detour_factor = 1e308 gave a diagnosis of unreachable areas, largest_practices = 1e12 a normal plan."""
    key = line.split(" = ")[0]
    path = _scenario(tmp_path, replace={line: f"{key} = {absurd}"})
    _fails(tmp_path, capsys, ["run", str(path)], f"{path}: {expected}")


@pytest.mark.parametrize("value", ["1e300", "inf"])
def test_absurd_time_limit_in_a_scenario_is_named_with_its_range(tmp_path, capsys, value):
    """Before, time_limit = 1e300 gave a normal plan (and inf was 'must be a number', without the range)."""
    path = _scenario(tmp_path, replace={"time_limit = 120": f"time_limit = {value}"})
    _fails(
        tmp_path,
        capsys,
        ["run", str(path)],
        f"{path}: [solver] time_limit must be",
        f"above 0 and at most {MAX_TIME_LIMIT_S:,.0f}",
        f"got {float(value)!r}",
    )


@pytest.mark.parametrize(
    ("key", "most"), [("threads", MAX_PARALLEL), ("workers", MAX_PARALLEL), ("k_nearest", MAX_SITES)]
)
def test_absurd_solver_counts_in_a_scenario_are_named_with_their_range(tmp_path, capsys, key, most):
    """Before, threads = 1000000000000 (or as many workers or nearest sites) gave a normal plan."""
    path = _scenario(tmp_path, replace={"time_limit = 120": f"time_limit = 120\n{key} = 1000000000000"})
    _fails(
        tmp_path, capsys, ["run", str(path)], f"{path}: [solver] {key} must be from 1 to {most:,}, got 1000000000000"
    )


def test_units_file_of_one_unit_is_judged_by_the_rules_not_by_distance(tmp_path, capsys, real_data):
    # one unit has no other unit to be near: the floor, not a coordinate check, refuses it
    units = tmp_path / "units.csv"
    units.write_text("\n".join(_THREE_UNITS.splitlines()[:2]) + "\n")
    out = tmp_path / "out"
    argv = ["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data), "--out", str(out), "--quiet"]
    code = optimise.main(argv)
    err = capsys.readouterr().err
    assert code == optimise.EXIT_INFEASIBLE, err
    assert "nearest other unit" not in err and "Traceback" not in err
    assert "12,954" in err and "below floor" in err, err


def test_units_file_without_coordinates_names_the_columns(tmp_path, capsys, real_data, redbridge_built):
    units = tmp_path / "units.csv"
    _units_frame(redbridge_built).drop(columns=["latitude"]).to_csv(units, index=False)
    _fails(
        tmp_path,
        capsys,
        ["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data)],
        f"{units}, column 'easting, northing': needs easting and northing (EPSG:27700) or longitude and latitude",
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"longitude": 2.0, "latitude": 53.0}, "lies 35 km off the land of the UK"),
        ({"longitude": 51.56, "latitude": 0.07}, "lies outside Great Britain (are longitude and latitude exchanged?)"),
        ({"longitude": -2.24, "latitude": 53.48}, "lies 259 km from the nearest other unit"),
    ],
    ids=["north-sea", "exchanged", "manchester"],
)
def test_units_file_misplaced_point_is_named(tmp_path, capsys, real_data, redbridge_built, change, expected):
    frame = _units_frame(redbridge_built)
    row = int(np.flatnonzero(frame["id"].to_numpy() == "F86022")[0])
    for column, value in change.items():
        frame.loc[frame.index[row], column] = value
    units = tmp_path / "units.csv"
    frame.to_csv(units, index=False)
    _fails(
        tmp_path,
        capsys,
        ["run", str(_units_scenario(tmp_path, units)), "--data-dir", str(real_data)],
        f"{units}, row {row + 2}, column 'longitude, latitude': unit 'F86022'",
        expected,
    )


def test_units_file_missing_is_named(tmp_path, capsys, real_data):
    _fails(
        tmp_path,
        capsys,
        ["run", str(_units_scenario(tmp_path, tmp_path / "nowhere.csv")), "--data-dir", str(real_data)],
        "nowhere.csv: units file not found",
    )


# --------------------------------------------------------------------------- a user's sites and options files
def _sites_scenario(tmp_path: Path, sites: Path, options: Path | None = None) -> Path:
    extra = f'file = "{sites}"' + (f'\noptions_file = "{options}"' if options is not None else "")
    return _scenario(tmp_path, replace={"largest_practices = 12": f"largest_practices = 12\n{extra}"})


def test_sites_file_problems_are_all_named_at_once(tmp_path, capsys, real_data):
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,name,site_type,status,longitude,latitude\n"
        "S1,Ilford hub,community,candidate,0.07,51.56\n"
        "S2,Calais hub,community,,1.86,50.95\n"
        "S1,Again,clinic,open,0.07,51.56\n"
        "S4,Nowhere,hospital,candidate,west,51.5\n"
    )
    _fails(
        tmp_path,
        capsys,
        ["run", str(_sites_scenario(tmp_path, sites)), "--data-dir", str(real_data)],
        f"{sites}, row 5, column 'longitude': 'west' is not a number",
    )
    sites.write_text(sites.read_text().replace("west", "0.08"))
    out = tmp_path / "out"
    code = optimise.main(
        ["run", str(_sites_scenario(tmp_path, sites)), "--data-dir", str(real_data), "--out", str(out), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == optimise.EXIT_INPUT
    for text in (
        f"{sites}, row 2, column 'site_id': duplicate site id 'S1' (rows 2, 4)",
        f"{sites}, row 4, column 'site_type': must be one of community, hospital, got 'clinic'",
        f"{sites}, row 4, column 'status': must be one of candidate, required, excluded, got 'open'",
        f"{sites}, row 3, column 'longitude, latitude': site 'S2' lies 40 km off the land of the UK",
    ):
        assert text in err, f"{text!r} not in:\n{err}"
    _assert_untouched(out)


def test_ragged_sites_file_is_named(tmp_path, capsys, real_data):
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,name,site_type,longitude,latitude\nS1,Hub,community,0.07,51.56,extra,more\n")
    _fails(
        tmp_path,
        capsys,
        ["run", str(_sites_scenario(tmp_path, sites)), "--data-dir", str(real_data)],
        f"{sites}, row 2: 7 fields, but the header line has 5",
    )


def test_options_file_problems_are_all_named_at_once(tmp_path, capsys, real_data):
    options = tmp_path / "options.csv"
    options.write_text(
        "site_id,option,capital_cost,capacity\n"
        "F86022,reuse,500000,\n"
        "F86022,reuse,600000,\n"
        "F86022,rebuild,-5,lots\n"
        "NOPE,refurbish,1e6,100000\n"
    )
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,name,site_type,easting,northing\nS1,Hub,community,543500,188900\n")
    _fails(
        tmp_path,
        capsys,
        ["run", str(_sites_scenario(tmp_path, sites, options)), "--data-dir", str(real_data)],
        f"{options}, row 3, column 'option': option given twice for site 'F86022'",
        f"{options}, row 4, column 'option': option must be reuse, refurbish or new_build, got 'rebuild'",
        f"{options}, row 4, column 'capital_cost': '-5' is below the minimum 0",
        f"{options}, row 4, column 'capacity': 'lots' is not a number",
        f"{options}, row 5, column 'site_id': unknown site 'NOPE'",
    )


def test_options_file_zero_capacity_is_named(tmp_path, capsys, real_data):
    options = tmp_path / "options.csv"
    options.write_text(
        "site_id,option,capital_cost,capacity\n"
        "S1,reuse,500000,0\n"
        "S1,new_build,9000000,\n"
        "S2,reuse,500000,-3\n"
        "S2,refurbish,2000000,0.0\n"
    )
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,name,site_type,easting,northing\nS1,Hub,community,543500,188900\nS2,Other,hospital,544500,187900\n"
    )
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(_sites_scenario(tmp_path, sites, options)), "--data-dir", str(real_data)],
        f"{options}, row 2, column 'capacity': '0': a capacity must be above 0 (leave it blank for no limit)",
        f"{options}, row 4, column 'capacity': '-3' is below the minimum 0",
        f"{options}, row 5, column 'capacity': '0.0': a capacity must be above 0",
    )
    assert "3 problems in the input data" in err and "problem definition" not in err


def test_unknown_required_and_excluded_sites_name_the_file_and_key(tmp_path, capsys, real_data):
    keys = 'required = ["NOPE1"]\nexcluded = ["NOPE2", "NOPE3"]'
    path = _scenario(tmp_path, replace={"largest_practices = 12": f"largest_practices = 12\n{keys}"})
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{path}: [sites] required names site(s) that are not candidates: NOPE1",
        f"{path}: [sites] excluded names site(s) that are not candidates: NOPE2, NOPE3",
    )
    assert "2 problems" in err


def test_options_file_missing_usable_sites_names_the_file_and_key(tmp_path, capsys, real_data):
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,name,site_type,status,easting,northing\n"
        "S1,Hub,community,candidate,543500,188900\n"
        "S2,Other,hospital,candidate,544500,187900\n"
        "S3,Closed,community,excluded,545500,186900\n"
    )
    options = tmp_path / "options.csv"
    options.write_text("site_id,option,capital_cost\nS1,reuse,500000\n")
    path = tmp_path / "s.toml"
    path.write_text(
        '[units]\nccg = "08N"\n'
        f'[sites]\nhospitals_within_m = false\nfile = "{sites}"\noptions_file = "{options}"\n'
        "[rules]\nfloor = 50000\n"
    )
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{path}: [sites] options_file {options} gives no hub option for 'S2': every usable site needs at least one",
    )
    assert "S3" not in err


def test_damaged_selection_polygon_is_named(tmp_path, capsys, real_data):
    bad = _damaged_copy(
        _data(real_data, "london", "lad22-boundaries-gen20.gpkg"),
        tmp_path / "area.gpkg",
        at=0.5,
        garbage=b"\xffnot sqlite" * 2048,
    )
    path = _scenario(tmp_path, replace={'ccg = "08N"': f'polygon = "{bad}"'})
    _fails(tmp_path, capsys, ["run", str(path), "--data-dir", str(real_data)], f"{bad}: the GeoPackage is damaged")


def _two_sites_scenario(tmp_path: Path, sites_extra: str, *, status: str = "candidate") -> tuple[Path, Path]:
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,name,site_type,status,easting,northing\n"
        f"S1,Hub,community,{status},543500,188900\n"
        "S2,Other,hospital,candidate,544500,187900\n"
    )
    path = tmp_path / "s.toml"
    path.write_text(
        f'[units]\nccg = "08N"\n[sites]\nhospitals_within_m = false\nfile = "{sites}"\n{sites_extra}\n'
        "[rules]\nfloor = 50000\n"
    )
    return path, sites


def test_a_misspelt_key_of_an_option_table_is_named(tmp_path, capsys, real_data):
    """``capcity`` was ignored: the hub got no capacity and the run said nothing."""
    path, _ = _two_sites_scenario(
        tmp_path, "[sites.options.hospital]\nnew_build = { capital_cost = 12000000, capcity = 10 }"
    )
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{path}: [sites.options.hospital] new_build has unknown key(s) capcity (did you mean 'capacity'?)",
    )


def test_options_file_and_option_table_together_are_refused(tmp_path, capsys, real_data):
    """The table was silently ignored when a file was given."""
    options = tmp_path / "options.csv"
    options.write_text("site_id,option,capital_cost\nS1,reuse,500000\nS2,reuse,600000\n")
    path, _ = _two_sites_scenario(
        tmp_path, f'options_file = "{options}"\n[sites.options.hospital]\nnew_build = 12000000'
    )
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{path}: [sites] options_file and [sites.options] both give hub options",
    )


@pytest.mark.parametrize(("status", "key"), [("required", "excluded"), ("excluded", "required")])
def test_a_site_the_file_and_the_scenario_disagree_on_is_named(tmp_path, capsys, real_data, status, key):
    """A site the sites file marks required and the scenario excludes (or the reverse) was resolved silently."""
    path, sites = _two_sites_scenario(tmp_path, f'{key} = ["S1"]', status=status)
    _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{path}: [sites] {key} names 'S1', which the sites file {sites} marks {status}",
    )


def test_units_file_whose_two_coordinate_pairs_disagree_is_named(tmp_path):
    """Easting/northing were used silently when longitude/latitude said otherwise."""
    from catchment.readers import read_units_file
    from geodata.errors import InputDataError

    units = tmp_path / "units.csv"
    units.write_text(
        "id,name,population,easting,northing,longitude,latitude\n"
        "F86007,A,12954,545800,191950,0.10443,51.607761\n"  # the two pairs agree (within 100 m)
        "F86008,B,10008,541800,191978,0.10443,51.607761\n"  # 4 km apart
    )
    with pytest.raises(InputDataError) as info:
        read_units_file(units)
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "easting, northing, longitude, latitude")]
    assert "disagree by 4." in info.value.problems[0].message


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", str(REDBRIDGE), "--time-limit", "5"], ["--time-limit", "nothing is solved", "evaluate"]),
        (["evaluate", str(REDBRIDGE), "--solver", "cbc"], ["--solver", "nothing is solved"]),
        (["compare", str(REDBRIDGE), "--plan", "pcn", "--time-limit", "5"], ["--time-limit", "--against is given"]),
        (["shortlist", "demo", "--serial", "--workers", "2"], ["--workers", "--serial"]),
        (["sweep", str(ROOT / "scenarios" / "redbridge-sweep.toml"), "--serial", "--scheduler", "tcp://h:8786"], []),
        (["shortlist", "demo", "--scheduler", "tcp://h:8786", "--workers", "2"], ["--workers", "own workers"]),
    ],
    ids=["evaluate-time-limit", "evaluate-solver", "compare-against", "serial-workers", "serial-scheduler", "both"],
)
def test_options_that_would_do_nothing_exit_2_naming_them(tmp_path, capsys, argv, expected):
    """Before, each was accepted and ignored (exit 0): evaluate and compare --against solve nothing,
    --serial uses no cluster, and an existing scheduler has its own workers."""
    plan = tmp_path / "plan.csv"
    plan.write_text("unit_id,polysystem_id\nF86007,PS01\n")
    if argv[0] == "evaluate":
        argv = [*argv, "--plan", str(plan)]
    if argv[0] == "compare":
        argv = [*argv, "--against", str(plan)]
    _option_fails(tmp_path, capsys, argv, *expected)


def test_an_objective_term_the_units_cannot_score_names_the_scenario_and_key(tmp_path, capsys, real_data):
    """deprivation_travel with a units file without imd_score: the scenario, the key and the fix are named."""
    units = tmp_path / "units.csv"
    units.write_text(_THREE_UNITS)
    scenario = _units_scenario(tmp_path, units)
    scenario.write_text(scenario.read_text() + "[objective]\nmean_travel = 1.0\ndeprivation_travel = 0.5\n")
    _fails(
        tmp_path,
        capsys,
        ["run", str(scenario), "--data-dir", str(real_data)],
        f"{scenario}: [objective] deprivation_travel needs a deprivation (IMD) score per unit",
        "a units file needs an imd_score column",
    )


def test_practices_at_the_edge_of_a_road_network_are_planned_and_the_share_represented_said(
    tmp_path, real_data, caplog
):
    """Rutland's practices on the Rutland extract: most of their LSOAs lie beyond it, but not most patients.

    The coverage check weighs the LSOAs by patients (it refused this network when it counted LSOAs:
    207 of 251 beyond 2 km), and the build warns that only 59% of the patients are represented.
    """
    scenario = tmp_path / "rutland.toml"
    scenario.write_text(
        '[units]\ntype = "practice"\nbbox = [-0.85, 52.52, -0.42, 52.76]\n'
        "[sites]\nhospitals_within_m = 3000\nlargest_practices = 8\n"
        '[travel]\nsource = "network"\nnetwork = "osm/rutland-latest.osm.pbf"\n'
        "[rules]\nfloor = 10000\n[solver]\ntime_limit = 60\n"
    )
    import warnings

    from geodata.errors import SnapWarning

    with caplog.at_level("WARNING"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnapWarning)
        solution = _run_ok(["run", str(scenario), "--data-dir", str(real_data)], tmp_path / "out")
    assert solution["proven_optimal"] is True and solution["travel_source"] == "network"
    # logged (py.warnings) where the command line captures warnings, else recorded here
    said = caplog.text + "\n".join(str(w.message) for w in caught)
    assert "222 of 251 LSOAs where the practices' patients live lie more than 500 m" in said
    (record,) = [r for r in caplog.records if "registered patients represented" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert "59.2% of registered patients represented (the others" in record.getMessage()


# --------------------------------------------------------------------------- registrations
def _registrations(real_data: Path, path: Path, *, prefix: str, lower: bool = False) -> Path:
    """The published registrations of the practices whose codes start with ``prefix``, as CSV."""
    table = pd.read_parquet(_data(real_data, "england", "gp-reg-pat-prac-lsoa_2022.parquet"))
    table = table.loc[table["OrganisationCode"].str.startswith(prefix)]
    out = pd.DataFrame(
        {
            "PRACTICE_CODE": table["OrganisationCode"],
            "LSOA_CODE": table["LSOA11CD"],
            "SEX": "ALL",
            "NUMBER_OF_PATIENTS": table["Patient"],
        }
    )
    if lower:  # as a careless re-save could leave them: lower case, spaces around
        out = out.assign(**{c: " " + out[c].str.lower() + " " for c in ("PRACTICE_CODE", "LSOA_CODE")})
    out.to_csv(path, index=False)
    return path


def test_registrations_of_none_of_the_selected_practices_are_named(tmp_path, capsys, real_data):
    """Another area's registrations: an error naming the file and its column, not a traceback."""
    reg = _registrations(real_data, tmp_path / "reg_other.csv", prefix="A81001")
    path = _scenario(tmp_path, append=f'[data]\nregistrations = "{reg}"\n')
    err = _fails(
        tmp_path,
        capsys,
        ["run", str(path), "--data-dir", str(real_data)],
        f"{reg}, column 'PRACTICE_CODE': none of the 42 selected practices appear in it; selected: F86",
        "in the file (1 practice code(s)): A81001",
    )
    assert "TypeError" not in err


def test_lower_case_codes_give_the_same_plan(tmp_path, real_data):
    """Registrations and list sizes with lower-case, space-padded codes plan as the published ones."""
    sizes = pd.read_csv(_data(real_data, "england", "gp-reg-pat-prac-all_2021-01.csv"), dtype=str)
    lower_sizes = tmp_path / "sizes_lower.csv"
    sizes.assign(CODE=" " + sizes["CODE"].str.lower()).to_csv(lower_sizes, index=False)
    plans = {}
    for name, reg, list_sizes in [
        ("published", _registrations(real_data, tmp_path / "reg.csv", prefix="F86"), None),
        ("lower", _registrations(real_data, tmp_path / "reg_lower.csv", prefix="F86", lower=True), lower_sizes),
    ]:
        given = f'registrations = "{reg}"\n' + (f'list_sizes = "{list_sizes}"\n' if list_sizes else "")
        out = tmp_path / f"out_{name}"
        scenario = _scenario(tmp_path, append=f"[data]\n{given}", name=f"{name}.toml")
        solution = _run_ok(["run", str(scenario), "--data-dir", str(real_data), "--no-exports"], out)
        plans[name] = (solution["objective"], (out / "assignments.csv").read_text())
    assert plans["lower"] == plans["published"]
