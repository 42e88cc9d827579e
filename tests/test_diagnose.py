"""Cheap proofs of infeasibility, with names and numbers, on hand-made instances."""

from __future__ import annotations

import math

import pytest

from catchment.diagnose import Diagnosis, Finding, diagnose, diagnose_after_solve
from catchment.problem import HubOption, Problem, Rules

# Six practices, 62,000 patients, three candidate sites 2-25 minutes away.
POP = [12_000, 8_000, 15_000, 9_000, 11_000, 7_000]
TRAVEL = [
    [2, 12, 25],
    [4, 10, 22],
    [6, 5, 18],
    [15, 3, 12],
    [20, 6, 7],
    [24, 14, 2.5],
]
NAMES = ["Abbey Surgery", "Bridge Practice", "Castle Health", "Dene Medical", "Elm Tree", "Ford Lane"]


def practices(*, options=None, site_status=None, **rules) -> Problem:
    """Six practices, 62,000 patients, three sites; floor 20,000 unless given."""
    return Problem.from_arrays(
        unit_ids=["P1", "P2", "P3", "P4", "P5", "P6"],
        unit_names=NAMES,
        population=POP,
        site_ids=["S1", "S2", "S3"],
        site_names=["North Clinic", "Central Hospital", "South Centre"],
        site_status=site_status,
        travel_min=TRAVEL,
        options=options,
        rules=Rules(**{"floor": 20_000, **rules}),
    )


def areas(*, adjacency, groups=None, population=(10_000, 10_000, 10_000, 20_000, 20_000, 20_000), **rules):
    """Six small areas (LSOA mode), every site 5 minutes from every area."""
    return Problem.from_arrays(
        unit_ids=[f"E0{k}" for k in range(1, 7)],
        unit_names=[f"Borough {k}" for k in range(1, 7)],
        population=population,
        site_ids=["H1", "H2"],
        travel_min=[[5, 5]] * 6,
        unit_type="lsoa",
        adjacency=adjacency,
        groups=groups,
        rules=Rules(**{"floor": 50_000, **rules}),
    )


def kinds(diagnosis: Diagnosis) -> list[str]:
    return [f.kind for f in diagnosis.proofs]


def one(diagnosis: Diagnosis, kind: str) -> Finding:
    found = [f for f in diagnosis.findings if f.kind == kind]
    assert len(found) == 1, [str(f) for f in diagnosis.findings]
    return found[0]


def test_feasible_instance_has_no_proof():
    diagnosis = diagnose(practices())
    assert diagnosis.feasible_possible
    assert diagnosis.proofs == () and diagnosis.suggestions == ()
    assert str(diagnosis) == "No cheap check rules out a plan."


def test_floor_above_the_total_population():
    diagnosis = diagnose(practices(floor=400_000))
    assert not diagnosis.feasible_possible
    finding = one(diagnosis, "total_below_floor")
    assert finding.numbers["population"] == 62_000 and finding.numbers["floor"] == 400_000
    assert "the total population, 62,000, is below floor x polysystems = 400,000 x 1 = 400,000" in finding.message
    # one polysystem of everyone is the most the population allows
    floor = [s for s in diagnosis.suggestions if s.rule == "floor"]
    assert [(s.current, s.value) for s in floor] == [(400_000, 62_000)]
    assert "lower the floor from 400,000 to at most 62,000 people" in str(diagnosis)


def test_floor_times_min_polysystems():
    finding = one(diagnose(practices(floor=25_000, min_polysystems=3)), "total_below_floor")
    assert "62,000, is below floor x polysystems = 25,000 x 3 = 75,000 (min_polysystems = 3)" in finding.message
    assert finding.numbers["needed"] == 75_000


def test_one_minute_travel_limit_names_every_unit_with_its_nearest_site():
    diagnosis = diagnose(practices(max_travel_min=1))
    unreachable = [f for f in diagnosis.proofs if f.kind == "unit_unreachable"]
    assert [f.ids for f in unreachable] == [
        ("P1", "S1"),
        ("P2", "S1"),
        ("P3", "S2"),
        ("P4", "S2"),
        ("P5", "S2"),
        ("P6", "S3"),
    ]
    assert unreachable[0].message == (
        "unit 'P1' (Abbey Surgery) (12,000 people) has no usable site within 1 min; "
        "the nearest is 'S1' (North Clinic) at 2.0 min"
    )
    assert unreachable[5].numbers == {"population": 7_000, "nearest_min": 2.5}
    # P6 (7,000) needs S3 to gather 20,000: P5 comes within 7 minutes (18,000), P4 within 12
    (limit,) = [s for s in diagnosis.suggestions if s.rule == "max_travel_min"]
    assert limit.value == 12.0


def test_sites_too_small_and_units_that_can_only_reach_them():
    # within 8 minutes S1 gathers P1-P3 (35,000), S2 P2-P5 (43,000), S3 P5-P6 (18,000)
    diagnosis = diagnose(practices(max_travel_min=8, floor=20_000))
    small = one(diagnosis, "site_too_small")
    assert small.severity == "info" and small.ids == ("S3",)
    assert small.numbers == {"population": 18_000, "floor": 20_000}
    stuck = one(diagnosis, "unit_without_hub")
    assert stuck.ids == ("P6", "S3")
    assert "unit 'P6' (Ford Lane) can reach only sites that cannot gather the floor of 20,000" in stuck.message
    assert kinds(diagnosis) == ["unit_without_hub"]


def test_required_site_that_cannot_be_a_hub():
    diagnosis = diagnose(practices(max_travel_min=8, site_status=["candidate", "candidate", "required"]))
    finding = one(diagnosis, "required_site_too_small")
    assert finding.severity == "infeasible"
    assert finding.message.startswith("required site 'S3' (South Centre) can gather at most 18,000 people")


def test_connected_area_below_the_floor():
    # E01-E03 touch each other only: 30,000 people
    diagnosis = diagnose(areas(adjacency=[(0, 1), (1, 2), (3, 4), (4, 5)], contiguity=True))
    finding = one(diagnosis, "component_below_floor")
    assert finding.ids == ("E01", "E02", "E03")
    assert finding.numbers["population"] == 30_000
    assert (
        "3 unit(s) connected only to each other ('E01' (Borough 1), 'E02' (Borough 2), 'E03' (Borough 3)) "
        "have 30,000 people, below the floor of 50,000"
    ) in finding.message
    assert [s.rule for s in diagnosis.suggestions] == ["floor", "contiguity"]
    assert diagnosis.suggestions[0].value == 30_000


def test_waiver_lifts_the_floor_of_its_area():
    problem = areas(adjacency=[(0, 1), (1, 2), (3, 4), (4, 5)], contiguity=True, waivers={"E02": "island"})
    assert diagnose(problem).feasible_possible


def test_boundary_group_below_the_floor():
    groups = ["Barnet", "Barnet", "Camden", "Camden", "Camden", "Camden"]
    diagnosis = diagnose(areas(adjacency=None, groups=groups, respect_groups=True))
    finding = one(diagnosis, "group_below_floor")
    assert finding.ids == ("Barnet",)
    assert finding.numbers == {"population": 20_000, "floor": 50_000, "n_units": 2}
    assert "boundary group 'Barnet' has 20,000 people in 2 unit(s), below the floor of 50,000" in finding.message
    assert [s.rule for s in diagnosis.suggestions] == ["floor", "respect_groups"]


def test_group_that_no_number_of_polysystems_fits():
    # Camden has 70,000: one polysystem is above the 60,000 ceiling, two are below 2 x 50,000
    groups = ["Barnet", "Barnet", "Barnet", "Camden", "Camden", "Camden"]
    problem = areas(
        adjacency=None,
        groups=groups,
        respect_groups=True,
        ceiling=60_000,
        population=(20_000, 20_000, 20_000, 20_000, 25_000, 25_000),
    )
    finding = one(diagnose(problem), "group_cannot_split")
    assert finding.ids == ("Camden",) and finding.numbers["population"] == 70_000


def test_ceiling_times_max_polysystems():
    finding = one(diagnose(practices(ceiling=30_000, max_polysystems=2)), "total_above_ceiling")
    assert "2 x 30,000 = 60,000 is below the total population, 62,000 (max_polysystems = 2)" in finding.message


def test_no_number_of_polysystems_fits():
    # 62,000 people: one polysystem exceeds the 40,000 ceiling, two fall below 2 x 35,000
    diagnosis = diagnose(practices(floor=35_000, ceiling=40_000))
    finding = one(diagnosis, "polysystem_count")
    assert finding.numbers == {"at_least": 2, "at_most": 1, "population": 62_000}
    assert {s.rule for s in diagnosis.suggestions} == {"floor", "ceiling"}
    by_rule = {s.rule: s.value for s in diagnosis.suggestions}
    assert by_rule == {"floor": 31_000, "ceiling": 62_000}


def test_more_required_sites_than_polysystems():
    problem = practices(floor=10_000, max_polysystems=1, site_status=["required", "candidate", "required"])
    finding = one(diagnose(problem), "too_many_required")
    assert finding.ids == ("S1", "S3")


def test_budget_below_the_required_sites():
    options = [HubOption("S1", "reuse", 3e6), HubOption("S2", "reuse", 1e6), HubOption("S3", "new_build", 4e6)]
    problem = practices(options=options, budget=5e6, site_status=["required", "candidate", "required"], floor=10_000)
    diagnosis = diagnose(problem)
    finding = one(diagnosis, "budget_required")
    assert finding.numbers == {"budget": 5e6, "needed": 7e6}
    assert [(s.rule, s.value) for s in diagnosis.suggestions] == [("budget", 7e6)]


def test_budget_below_the_cheapest_hubs_needed():
    options = [HubOption("S1", "reuse", 3e6), HubOption("S2", "reuse", 1e6), HubOption("S3", "new_build", 4e6)]
    finding = one(diagnose(practices(options=options, budget=3e6, min_polysystems=2)), "budget_min_hubs")
    assert finding.numbers == {"budget": 3e6, "needed": 4e6, "hubs": 2}


def test_capacity_below_the_population():
    options = [HubOption(s, "reuse", 0.0, capacity=20_000) for s in ("S1", "S2", "S3")]
    finding = one(diagnose(practices(options=options)), "capacity_total")
    assert finding.numbers == {"capacity": 60_000, "population": 62_000, "hubs": 3}


def test_unit_above_the_ceiling():
    finding = one(diagnose(practices(floor=5_000, ceiling=14_000)), "unit_above_ceiling")
    assert finding.ids == ("P3",)


def test_report_lists_proofs_notes_and_relaxations():
    text = str(diagnose(practices(max_travel_min=8)))
    assert text.splitlines()[0] == "No plan can satisfy the rules: the cheap checks prove it."
    assert "Why:" in text and "Also worth knowing:" in text and "What to relax (each change alone" in text
    assert "raise the travel limit from 8 to at least 12 minutes" in text


def test_after_solve_without_a_cheap_proof():
    # A chain of three areas, 40,000 - 20,000 - 40,000 people, floor 50,000; H1 stands by the
    # first, H2 by the last, each out of reach of the far end. One polysystem cannot reach
    # everybody and any two leave one end below the floor, yet each rule alone is satisfiable.
    problem = Problem.from_arrays(
        unit_ids=["A", "B", "C"],
        population=[40_000, 20_000, 40_000],
        site_ids=["H1", "H2"],
        travel_min=[[2, 30], [10, 10], [30, 2]],
        unit_type="lsoa",
        adjacency=[(0, 1), (1, 2)],
        rules=Rules(floor=50_000, max_travel_min=15, contiguity=True),
    )
    assert diagnose(problem).feasible_possible
    diagnosis = diagnose_after_solve(problem)
    assert not diagnosis.feasible_possible and diagnosis.solver_proved_infeasible
    assert diagnosis.kinds() == ("combination",)
    assert "floor, max_travel_min, contiguity" in diagnosis.findings[0].message
    rules = [s.rule for s in diagnosis.suggestions]
    # tightest first: B is 10 of 15 minutes from its nearest site (33% slack); the whole
    # population is twice the floor (100% slack); contiguity has no figure and comes last
    assert rules == ["max_travel_min", "floor", "contiguity"]
    assert str(diagnosis).startswith("No plan satisfies the rules (the solver proved it).")
    assert "Rules in force, tightest first (hints on what to relax, not proofs):" in str(diagnosis)


def test_after_solve_keeps_cheap_proofs():
    diagnosis = diagnose_after_solve(practices(floor=400_000))
    assert diagnosis.solver_proved_infeasible and kinds(diagnosis) == ["total_below_floor"]
    assert diagnosis.suggestions[0].rule == "floor"


def test_unreachable_by_road_at_all():
    travel = [row[:] for row in TRAVEL]
    travel[5] = [math.inf, math.inf, math.inf]
    finding = one(
        diagnose(
            Problem.from_arrays(
                unit_ids=[f"P{k}" for k in range(1, 7)],
                population=POP,
                site_ids=["S1", "S2", "S3"],
                travel_min=travel,
                rules=Rules(floor=1_000),
            )
        ),
        "unit_unreachable",
    )
    assert finding.ids[0] == "P6" and "no usable site can be reached by road at all" in finding.message


def test_finding_rejects_unknown_severity():
    with pytest.raises(ValueError, match="severity"):
        Finding("x", "y", severity="fatal")


def test_estimated_travel_times_are_not_called_road_times():
    from catchment.diagnose import ESTIMATE_WORDS

    travel = [row[:] for row in TRAVEL]
    travel[5] = [math.inf, math.inf, math.inf]
    diagnosis = diagnose(
        Problem.from_arrays(
            unit_ids=[f"P{k}" for k in range(1, 7)],
            population=POP,
            site_ids=["S1", "S2", "S3"],
            travel_min=travel,
            travel_source="estimate",
            rules=Rules(floor=56_000),  # every site gathers at most 55,000 (P6 reaches none)
        )
    )
    text = str(diagnosis)
    assert "by road" not in text, text
    assert f"no usable site can be reached at all {ESTIMATE_WORDS}" in one(diagnosis, "unit_unreachable").message
    assert f"people within reach {ESTIMATE_WORDS}, below the floor" in text, text
