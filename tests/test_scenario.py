"""Scenario (TOML) parsing: valid files become a Scenario; every problem is reported at once."""

from __future__ import annotations

import pytest

from catchment.scenario import parse_scenario, read_scenario
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


def test_contiguity_needs_lsoa_units():
    with pytest.raises(ScenarioError, match="contiguity applies to LSOA units"):
        parse_scenario({"units": {"ccg": "08N"}, "rules": {"contiguity": True}})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        read_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules\nfloor = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        read_scenario(bad)
