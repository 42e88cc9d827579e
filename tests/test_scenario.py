"""Scenario (TOML) parsing: valid files become a Scenario; every problem is reported at once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from catchment.scenario import parse_scenario, read_scenario
from catchment.sweep import read_sweep
from geodata.errors import ScenarioError

VALID = """
[scenario]
name = "Redbridge practices"

[units]
type = "practice"
ccg = "08N"

[sites]
hospitals_within_m = 3000
largest_practices = 10
required = ["RQ"]

[sites.options.hospital]
reuse = 400000
new_build = { capital_cost = 9000000, capacity = 120000 }

[travel]
source = "estimate"
detour_factor = 1.4

[rules]
floor = 50000
polysystems = [4, 6]
max_travel_min = 30
budget = 20000000

[rules.waivers]
F86001 = "rural PCN rule"

[objective]
mean_travel = 1.0
capital = 0.1

[solver]
name = "cbc"
time_limit = 30
"""


def test_valid_scenario_is_parsed(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(VALID)
    sc = read_scenario(path)
    assert sc.name == "Redbridge practices"
    assert sc.units.type == "practice" and sc.units.ccg == "08N"
    assert sc.sites.largest_practices == 10 and sc.sites.required == ("RQ",)
    assert sc.sites.options["hospital"] == (("reuse", 400000.0, None), ("new_build", 9000000.0, 120000.0))
    assert sc.travel.source == "estimate" and sc.travel.detour_factor == 1.4
    assert (sc.rules.floor, sc.rules.min_polysystems, sc.rules.max_polysystems) == (50000.0, 4, 6)
    assert sc.rules.max_travel_min == 30.0 and sc.rules.budget == 20_000_000.0
    assert dict(sc.rules.waivers) == {"F86001": "rural PCN rule"}
    assert dict(sc.objective.weights) == {"mean_travel": 1.0, "capital": 0.1}
    assert sc.solver.name == "cbc" and sc.solver.time_limit == 30.0


def test_solver_method_and_workers():
    sc = parse_scenario({"units": {"lad": "E09000026"}, "solver": {"method": "lns", "workers": 3}})
    assert (sc.solver.method, sc.solver.workers) == ("lns", 3)
    default = parse_scenario({"units": {"lad": "E09000026"}})
    assert (default.solver.method, default.solver.workers) == ("auto", None)
    with pytest.raises(ScenarioError) as err:
        parse_scenario({"units": {"lad": "E09000026"}, "solver": {"method": "quick", "workers": 0}})
    assert "method" in str(err.value) and "workers" in str(err.value)


def test_exact_count_sets_min_and_max():
    sc = parse_scenario({"units": {"lad": "E09000026"}, "rules": {"polysystems": 5}})
    assert sc.rules.min_polysystems == sc.rules.max_polysystems == 5


def test_every_problem_is_reported_with_file_and_key():
    raw = {
        "units": {"type": "ward"},
        "travel": {"source": "network", "speed_kph": -3},
        "rules": {"floor": "fifty thousand", "polysystems": [0, 3], "contiguity": "yes"},
        "objective": {"travel": 1.0},
        "colour": {},
    }
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, source="bad.toml")
    text = str(err.value)
    for expected in (
        "bad.toml: unknown section(s) colour",
        "[units] type must be one of practice, lsoa",
        "[units] needs a selection",
        "[travel] speed_kph must be positive",
        'source = "network" needs network',
        "[rules] floor must be a number",
        "[rules] polysystems must be a positive whole number or [min, max]",
        "[rules] contiguity must be true or false",
        "[objective] has unknown key(s) travel",
    ):
        assert expected in text, expected
    assert len(err.value.problems) >= 9


def test_contiguity_needs_areas():
    # practices are contiguous through their territories (catchment.territories); a units file has points only
    assert parse_scenario({"units": {"ccg": "08N"}, "rules": {"contiguity": True}}).rules.contiguity
    with pytest.raises(ScenarioError, match="contiguity needs LSOA boundaries"):
        parse_scenario({"units": {"file": "u.csv"}, "rules": {"contiguity": True}})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        read_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules\nfloor = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        read_scenario(bad)


def test_network_to_download_by_place_or_bbox():
    base = {"units": {"ccg": "08N"}}
    sc = parse_scenario({**base, "travel": {"source": "network", "network": {"place": "London Borough of Redbridge"}}})
    assert sc.travel.network_place == "London Borough of Redbridge" and sc.travel.network is None
    sc = parse_scenario({**base, "travel": {"source": "network", "network": {"bbox": [0.0, 51.55, 0.15, 51.63]}}})
    assert sc.travel.network_bbox == (0.0, 51.55, 0.15, 51.63) and sc.travel.network_place is None
    bad = [
        {"place": "X", "bbox": [0, 51, 1, 52]},
        {"place": ""},
        {"bbox": [1, 51, 0, 52]},
        {"bbox": [0, 51, 1]},
        {"town": "X"},
    ]
    for value in bad:
        with pytest.raises(ScenarioError) as caught:
            parse_scenario({**base, "travel": {"source": "network", "network": value}}, source="s.toml")
        assert "s.toml: [travel] network" in str(caught.value)


def test_lsoas_are_not_selected_by_ccg():
    """No file maps LSOAs to CCGs: ccg with type = "lsoa" planned every London LSOA before."""
    with pytest.raises(ScenarioError, match=r'\[units\] ccg selects practices .*for type = "lsoa" select by lad'):
        parse_scenario({"units": {"type": "lsoa", "ccg": "08N"}}, source="s.toml")
    with pytest.raises(ScenarioError, match=r"\[units\] ccg and pcn select practices"):
        parse_scenario({"units": {"type": "lsoa", "ccg": "08N", "lad": "E09000026", "pcn": "U1"}}, source="s.toml")
    assert parse_scenario({"units": {"type": "practice", "ccg": "08N"}}).units.ccg == "08N"


def test_selection_by_stp_and_pcn():
    sc = parse_scenario({"units": {"stp": "QMF"}})
    assert sc.units.stp == "QMF" and sc.units.pcn is None
    sc = parse_scenario({"units": {"pcn": ["U08578", "U03653"]}})
    assert sc.units.pcn == ("U08578", "U03653")
    assert parse_scenario({"units": {"pcn": "U08578"}}).units.pcn == ("U08578",)
    with pytest.raises(ScenarioError, match=r"s.toml: \[units\] stp selects practices"):
        parse_scenario({"units": {"type": "lsoa", "stp": "QMF"}}, source="s.toml")
    with pytest.raises(ScenarioError, match=r"\[units\] pcn must be a list of texts"):
        parse_scenario({"units": {"pcn": ["U1", 2]}}, source="s.toml")
    with pytest.raises(ScenarioError, match=r"\[units\] file gives the units itself: remove stp"):
        parse_scenario({"units": {"file": "u.csv", "stp": "QMF"}}, source="s.toml")


def test_rule_presets():
    from catchment.problem import DEFAULT_FLOOR, RULE_PRESETS

    sc = parse_scenario({"units": {"lad": "E09000026", "type": "lsoa"}, "rules": {"preset": "pcn"}})
    assert (sc.rules.floor, sc.rules.ceiling, sc.rules.contiguity) == (30_000.0, 50_000.0, True)
    assert dict(RULE_PRESETS["pcn"]) == {"floor": 30_000.0, "ceiling": 50_000.0, "contiguity": True}
    sc = parse_scenario({"units": {"lad": "E09000026", "type": "lsoa"}, "rules": {"preset": "pcn", "floor": 25_000}})
    assert sc.rules.floor == 25_000.0 and sc.rules.ceiling == 50_000.0  # the scenario's own keys win
    sc = parse_scenario({"units": {"lad": "E09000026"}, "rules": {"preset": "polysystem"}})
    assert sc.rules.floor == DEFAULT_FLOOR and sc.rules.ceiling is None
    with pytest.raises(ScenarioError, match=r"\[rules\] preset must be one of polysystem, pcn"):
        parse_scenario({"units": {"lad": "E09000026"}, "rules": {"preset": "icb"}})


def test_scenario_and_sweep_files_with_a_byte_order_mark_are_read(tmp_path):
    # Windows Notepad saves UTF-8 with a byte-order mark
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert read_scenario(path).name == "Redbridge practices"
    sweep = tmp_path / "sweep.toml"
    sweep.write_bytes(b"\xef\xbb\xbf" + f'[sweep]\nbase = "{path}"\n[grid]\nfloor = [40000]\n'.encode())
    assert read_sweep(sweep).base == str(path)


# Absurd values of the right type: refused with the key and the accepted range, the limits
# read from where they are defined.
def _absurd_cases():
    from catchment.objective import MAX_WEIGHT
    from catchment.problem import MAX_GBP
    from catchment.settings import MAX_TIME_LIMIT_S
    from geodata.settings import (
        MAX_DETOUR_FACTOR,
        MAX_DISTANCE_M,
        MAX_PARALLEL,
        MAX_POPULATION,
        MAX_SITES,
        MAX_SPEED_KPH,
        MAX_TRAVEL_MIN,
        MIN_SPEED_KPH,
    )

    return [
        ("sites", "hospitals_within_m", 1e308, f"from 0 to {MAX_DISTANCE_M:,.0f}"),
        ("travel", "detour_factor", 1e308, f"from 1 to {MAX_DETOUR_FACTOR:,.0f}"),
        ("travel", "speed_kph", 1e308, f"from {MIN_SPEED_KPH:,.0f} to {MAX_SPEED_KPH:,.0f}"),
        ("travel", "speed_kph", 1e-300, f"from {MIN_SPEED_KPH:,.0f} to {MAX_SPEED_KPH:,.0f}"),
        ("travel", "cutoff_min", 1e300, f"above 0 and at most {MAX_TRAVEL_MIN:,.0f}"),
        ("travel", "max_snap_m", 1e308, f"above 0 and at most {MAX_DISTANCE_M:,.0f}"),
        ("rules", "floor", 1e300, f"from 0 to {MAX_POPULATION:,}"),
        ("rules", "ceiling", 1e308, f"above 0 and at most {MAX_POPULATION:,}"),
        ("rules", "max_travel_min", 1e300, f"above 0 and at most {MAX_TRAVEL_MIN:,.0f}"),
        ("rules", "budget", 1e300, f"from 0 to {MAX_GBP:,.0f}"),
        ("objective", "mean_travel", 1e300, f"from 0 to {MAX_WEIGHT:,.0f}"),
        ("solver", "time_limit", 1e300, f"above 0 and at most {MAX_TIME_LIMIT_S:,.0f}"),
        ("solver", "threads", 10**12, f"from 1 to {MAX_PARALLEL:,}"),
        ("solver", "workers", 10**12, f"from 1 to {MAX_PARALLEL:,}"),
        ("solver", "k_nearest", 10**12, f"from 1 to {MAX_SITES:,}"),
        ("sites", "largest_practices", 10**12, f"from 0 to {MAX_SITES:,}"),
    ]


@pytest.mark.parametrize(("section", "key", "value", "accepted"), _absurd_cases())
def test_absurd_numbers_are_refused_with_the_accepted_range(section, key, value, accepted):
    raw = {"units": {"ccg": "08N"}, section: {key: value}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, source="absurd.toml")
    line = next(p for p in err.value.problems if f"absurd.toml: [{section}] {key} must be" in p)
    assert accepted in line and line.endswith(f"got {value!r}"), line


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize(
    ("section", "key", "value_", "accepted"), [c for c in _absurd_cases() if isinstance(c[2], float)]
)
def test_non_finite_numbers_are_refused_with_the_accepted_range(section, key, value_, accepted, value):
    """TOML's inf and nan are floats: each key says it needs a finite number, and which."""
    raw = {"units": {"ccg": "08N"}, section: {key: value}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, source="absurd.toml")
    line = next(p for p in err.value.problems if f"absurd.toml: [{section}] {key} must be" in p)
    assert f"must be a finite number ({accepted})" in line and line.endswith(f"got {value!r}"), line


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("solver", "threads", 0, "must be at least 1 (from 1 to 1,024), got 0"),
        ("solver", "workers", -1, "must be at least 1 (from 1 to 1,024), got -1"),
        ("solver", "k_nearest", 0, "must be at least 1 (from 1 to 100,000), got 0"),
        ("sites", "largest_practices", -1, "must be at least 0 (from 0 to 100,000), got -1"),
        ("solver", "threads", float("inf"), "must be a whole number, got inf"),
        ("solver", "workers", float("nan"), "must be a whole number, got nan"),
        ("solver", "k_nearest", 2.5, "must be a whole number, got 2.5"),
    ],
)
def test_counts_below_their_range_or_not_whole_are_refused(section, key, value, expected):
    raw = {"units": {"ccg": "08N"}, section: {key: value}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, source="count.toml")
    assert f"count.toml: [{section}] {key} {expected}" in err.value.problems, err.value.problems


def test_absurd_hub_option_costs_and_capacities_are_refused():
    from catchment.problem import MAX_GBP
    from geodata.settings import MAX_POPULATION

    raw = {
        "units": {"ccg": "08N"},
        "sites": {"options": {"hospital": {"reuse": 1e300, "new_build": {"capital_cost": 1, "capacity": 1e300}}}},
    }
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, source="absurd.toml")
    text = str(err.value)
    assert f"[sites.options.hospital] reuse needs a capital cost (GBP) from 0 to {MAX_GBP:,.0f}, got 1e+300" in text
    assert f"new_build capacity (people) must be above 0 and at most {MAX_POPULATION:,}, got 1e+300" in text


def test_the_limits_accept_every_example_scenario():
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml")):
        if "sweep" not in path.name:
            read_scenario(path)


def test_sweep_and_scenario_files_mixed_up_are_named(tmp_path):
    """A sweep file given as a scenario (or as a sweep's base), or a scenario given to sweep: said so."""
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text('[sweep]\nbase = "sweep.toml"\n\n[grid]\nfloor = [40000]\n')
    with pytest.raises(ScenarioError) as caught:
        read_scenario(sweep_file)
    assert list(caught.value.problems) == [
        f"{sweep_file}: a sweep file ([sweep], [grid]), not a scenario: run it with "
        f"`python optimise.py sweep {sweep_file}`, or give a scenario file here"
    ]
    scenario_file = tmp_path / "scenario.toml"
    scenario_file.write_text('[units]\nccg = "08N"\n\n[rules]\nfloor = 50000\n')
    with pytest.raises(ScenarioError, match=r"scenario.toml: a scenario file, not a sweep .*optimise.py run "):
        read_sweep(scenario_file)


def _warnings(caplog, raw: dict) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="catchment.scenario"):
        parse_scenario(raw, source="s.toml")
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


_BASE = {"units": {"ccg": "08N"}, "sites": {"largest_practices": 3}}


def test_travel_keys_of_another_source_are_named_in_a_warning(caplog):
    """Before, they were accepted and ignored: cutoff_min = 5 with an estimate left trips of 9.9 min."""
    travel = {"source": "estimate", "matrix": "t.csv", "mode": "walk", "cutoff_min": 5, "speed_kph": 20}
    messages = _warnings(caplog, {**_BASE, "travel": travel})
    assert len(messages) == 3
    for key, source in (("matrix", "matrix"), ("mode", "network"), ("cutoff_min", "network")):
        assert any(
            m.startswith(f"s.toml: [travel] {key} is not used") and f'source = "{source}" only' in m for m in messages
        ), messages
    assert "[rules] max_travel_min" in next(m for m in messages if "cutoff_min" in m)
    travel = {"source": "matrix", "matrix": "t.csv", "detour_factor": 1.5, "max_snap_m": 100}
    messages = _warnings(caplog, {**_BASE, "travel": travel})
    assert [m.split(" is not used")[0] for m in messages] == [
        "s.toml: [travel] max_snap_m",
        "s.toml: [travel] detour_factor",
    ]
    net = {"source": "network", "network": "n.osm", "mode": "walk", "cutoff_min": 30, "max_snap_m": 100}
    assert _warnings(caplog, {**_BASE, "travel": net}) == []


def test_hospital_sector_without_hospitals_and_workers_with_mip_are_named_in_a_warning(caplog):
    sites = {"hospitals_within_m": False, "hospital_sector": "Independent", "largest_practices": 3}
    messages = _warnings(caplog, {**_BASE, "sites": sites, "solver": {"method": "mip", "workers": 3}})
    assert len(messages) == 2
    assert messages[0].startswith("s.toml: [sites] hospital_sector is not used: hospitals_within_m = false")
    assert messages[1].startswith('s.toml: [solver] workers is not used: method = "mip"')
    assert _warnings(caplog, {**_BASE, "solver": {"method": "lns", "workers": 3}}) == []
    assert _warnings(caplog, {**_BASE, "sites": {"hospitals_within_m": 0, "hospital_sector": "NHS"}}) == []


def test_example_scenarios_give_no_unused_key(caplog):
    for path in sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml")):
        if path.name.endswith("-sweep.toml"):
            continue
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="catchment.scenario"):
            read_scenario(path)
        assert not caplog.records, (path, [r.getMessage() for r in caplog.records])


def test_ccg_boundaries_need_practices_of_the_published_data():
    for units, why in (
        ({"type": "lsoa", "lad": "E09000026"}, "LSOAs have no CCG"),
        ({"file": "my-units.csv"}, "[units] file gives no CCG codes"),
    ):
        with pytest.raises(ScenarioError) as caught:
            parse_scenario({"units": units, "rules": {"boundaries": "ccg"}}, source="s.toml")
        assert list(caught.value.problems) == [
            f's.toml: [rules] boundaries = "ccg" needs practices of the published data (their CCG codes); {why}: '
            'use boundaries = "lad"'
        ]
    assert parse_scenario({"units": {"ccg": "08N"}, "rules": {"boundaries": "ccg"}}).boundaries == "ccg"
