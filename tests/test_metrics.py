"""Plan metrics recomputed by hand on a six-unit problem."""

from __future__ import annotations

import math

import pytest

from catchment.metrics import (
    ASSIGNMENT_COLUMNS,
    POLYSYSTEM_COLUMNS,
    assignments_frame,
    objective_terms,
    plan_summary,
    polysystems_frame,
    waived_polysystems,
)
from catchment.plan import Plan
from catchment.problem import HubOption, Objective, Problem, Rules

# populations 10..60; travel to the hub of the plan below: 1, 2, 3 (S1) and 1, 2, 3 (S2)
TRAVEL = [[1, 10], [2, 9], [3, 8], [10, 1], [9, 2], [8, 3]]
POP = [10, 20, 30, 40, 50, 60]
IMD = [1, 1, 1, 2, 2, 2]
OPTIONS = (
    HubOption("S1", "reuse", 0.0, capacity=100),
    HubOption("S1", "new_build", 5e6),
    HubOption("S2", "reuse", 2e6, capacity=200),
)


def make_problem(*, weights=None, lexicographic=None, **extra) -> Problem:
    rules = extra.pop("rules", Rules(floor=50))
    return Problem.from_arrays(
        unit_ids=[f"U{k}" for k in range(1, 7)],
        population=POP,
        site_ids=["S1", "S2"],
        site_names=["Northgate", "Southgate"],
        site_types=["community", "hospital"],
        travel_min=TRAVEL,
        options=OPTIONS,
        rules=rules,
        objective=Objective(weights=weights or {"mean_travel": 1.0}, lexicographic=lexicographic),
        deprivation=IMD,
        groups=tuple("AAABBB"),
        **extra,
    )


def make_plan(**changes) -> Plan:
    assignment = {"U1": "S1", "U2": "S1", "U3": "S1", "U4": "S2", "U5": "S2", "U6": "S2"}
    kwargs = dict(
        assignment=assignment,
        hub_options={"S1": "reuse", "S2": "reuse"},
        status="optimal",
        objective=2.19,
        bound=2.18,
        gap=0.004,
        solver="highs",
        runtime_s=1.5,
        mip_gap=0.01,
    )
    kwargs.update(changes)
    return Plan(**kwargs)


def test_objective_terms_by_hand():
    problem = make_problem(weights={"mean_travel": 1.0, "deprivation_travel": 2.0, "capital": 0.5})
    terms = objective_terms(problem, make_plan())
    assert terms["mean_travel"] == pytest.approx(460 / 210)  # (10*1+20*2+30*3+40*1+50*2+60*3) / 210
    assert terms["max_travel"] == 3.0
    assert terms["deprivation_travel"] == pytest.approx(780 / 360)  # sum(pop*imd*t) / sum(pop*imd)
    assert terms["capital"] == pytest.approx(2.0)  # GBP 2m for the reuse of S2
    assert terms["weighted"] == pytest.approx(460 / 210 + 2 * 780 / 360 + 0.5 * 2.0)
    assert terms["objective"] == terms["weighted"]


def test_lexicographic_objective_is_its_first_term():
    problem = make_problem(lexicographic=("max_travel", "mean_travel"))
    assert objective_terms(problem, make_plan())["objective"] == 3.0


def test_unreachable_hub_makes_travel_infinite():
    travel = [row[:] for row in TRAVEL]
    travel[0][0] = math.inf
    problem = Problem.from_arrays(
        unit_ids=[f"U{k}" for k in range(1, 7)],
        population=POP,
        site_ids=["S1", "S2"],
        travel_min=travel,
        options=OPTIONS,
    )
    terms = objective_terms(problem, make_plan())
    assert terms["mean_travel"] == math.inf and terms["max_travel"] == math.inf
    assert terms["deprivation_travel"] is None  # no IMD scores in this problem


def test_assignments_frame_contract_and_values():
    frame = assignments_frame(make_problem(), make_plan())
    assert tuple(frame.columns[: len(ASSIGNMENT_COLUMNS)]) == (
        "unit_id",
        "unit_type",
        "polysystem_id",
        "hub_site_id",
        "population",
        "travel_min",
    )
    assert frame["unit_id"].tolist() == ["U1", "U2", "U3", "U4", "U5", "U6"]
    assert frame["polysystem_id"].tolist() == ["PS01"] * 3 + ["PS02"] * 3
    assert frame["travel_min"].tolist() == [1, 2, 3, 1, 2, 3]
    assert frame["unit_type"].eq("practice").all()
    assert frame["group"].tolist() == list("AAABBB")
    assert frame["imd_score"].tolist() == IMD


def test_assignments_frame_shows_unassigned_units_as_missing():
    plan = make_plan(assignment={"U1": "S1", "U2": "S1", "U3": "S1", "U4": "S2", "U5": "S2"}, status="feasible")
    frame = assignments_frame(make_problem(), plan).set_index("unit_id")
    assert frame.loc["U6", ["polysystem_id", "hub_site_id", "travel_min"]].isna().all()
    assert frame.loc["U5", "polysystem_id"] == "PS02"


def test_polysystems_frame_contract_and_values():
    frame = polysystems_frame(make_problem(), make_plan(hub_options={"S1": "new_build", "S2": "reuse"}))
    assert tuple(frame.columns[: len(POLYSYSTEM_COLUMNS)]) == POLYSYSTEM_COLUMNS
    first, second = frame.to_dict("records")
    assert first["polysystem_id"] == "PS01" and first["hub_site_name"] == "Northgate"
    assert first["hub_option"] == "new_build" and first["capital_cost"] == 5e6
    assert first["population"] == 60 and first["n_units"] == 3
    assert first["mean_travel_min"] == pytest.approx(140 / 60)  # (10*1 + 20*2 + 30*3) / 60
    assert first["max_travel_min"] == 3
    assert math.isnan(first["capacity"])  # the new-build option has no capacity limit
    assert second["hub_type"] == "hospital" and second["capacity"] == 200
    assert second["mean_travel_min"] == pytest.approx(320 / 150)
    assert first["groups"] == "A" and not second["below_floor"]


def test_waived_polysystem_is_reported_with_its_reason():
    problem = make_problem(rules=Rules(floor=70, waivers={"U2": "island practice"}))
    frame = polysystems_frame(problem, make_plan())
    assert frame["below_floor"].tolist() == [True, False]
    assert frame.loc[0, "waiver_reason"] == "U2: island practice"
    assert waived_polysystems(problem, make_plan()) == [
        {
            "polysystem_id": "PS01",
            "hub_site_id": "S1",
            "population": 60.0,
            "floor": 70.0,
            "waived_units": ["U2"],
            "reason": "U2: island practice",
        }
    ]
    # below the floor without a waiver is not "waived"
    assert waived_polysystems(make_problem(rules=Rules(floor=70)), make_plan()) == []


def test_plan_summary():
    summary = plan_summary(make_problem(), make_plan())
    assert summary["status"] == "optimal" and summary["proven_optimal"]
    assert summary["status_label"] == "optimal (proven within a relative gap of 1.00%)"
    assert (summary["gap"], summary["bound"], summary["solver"], summary["runtime_s"]) == (0.004, 2.18, "highs", 1.5)
    assert summary["coverage"] == 1.0 and summary["n_polysystems"] == 2
    assert summary["capital_cost"] == 2e6
    assert summary["objective_terms"]["mean_travel"] == pytest.approx(460 / 210)
    assert summary["travel_source"] == "matrix" and summary["travel_label"] == "user-supplied travel times"


def test_plan_summary_coverage_counts_only_units_in_open_hubs():
    plan = make_plan(assignment={"U1": "S1", "U2": "S1", "U3": "S1", "U4": "S2", "U5": "S2"}, status="feasible")
    summary = plan_summary(make_problem(), plan)
    assert summary["coverage"] == pytest.approx(150 / 210)
    assert summary["n_units_assigned"] == 5


def test_plan_summary_labels_an_estimate():
    problem = make_problem(travel_source="estimate", travel_label="crow-fly distance at 20 km/h x 1.3")
    summary = plan_summary(problem, make_plan())
    assert summary["travel_source"] == "estimate"
    assert summary["travel_label"] == "estimate: crow-fly distance at 20 km/h x 1.3"


def test_plan_summary_without_a_plan():
    summary = plan_summary(make_problem(), Plan(assignment={}, hub_options={}, status="infeasible"))
    assert summary["coverage"] == 0.0 and summary["n_polysystems"] == 0
    assert summary["objective_terms"] is None
    assert summary["status_label"] == "infeasible (no plan satisfies the rules)"
