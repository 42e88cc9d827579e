"""Planners' configurations turned into plans: hubs given, hubs chosen, errors listed at once."""

from __future__ import annotations

import pandas as pd
import pytest

from catchment.evaluate import plan_from_configuration
from catchment.metrics import (
    CONFIGURED_ID_COLUMN,
    assignments_frame,
    configured_polysystems,
    objective_terms,
    plan_summary,
    polysystems_frame,
)
from catchment.plan import Plan
from catchment.problem import HubOption, Objective, Problem, Rules
from catchment.validate import validate_plan
from geodata.errors import InputDataError

# Five practices; S1 is by P1-P2, S2 by P3-P5, S3 halfway. Populations 10k-30k.
TRAVEL = [
    [1, 12, 6],
    [2, 11, 5],
    [12, 2, 6],
    [11, 1, 5],
    [13, 3, 7],
]


def make_problem(*, site_status=None, rules=None) -> Problem:
    return Problem.from_arrays(
        unit_ids=["P1", "P2", "P3", "P4", "P5"],
        population=[10_000, 20_000, 30_000, 15_000, 25_000],
        site_ids=["S1", "S2", "S3"],
        site_names=["North", "South", "Middle"],
        site_status=site_status,
        travel_min=TRAVEL,
        options=[
            HubOption("S1", "reuse", 1e6),
            HubOption("S1", "refurbish", 0.5e6),
            HubOption("S2", "new_build", 8e6),
            HubOption("S3", "reuse", 0.0),
        ],
        rules=rules or Rules(floor=25_000),
        objective=Objective(weights={"mean_travel": 1.0, "capital": 0.1}),
    )


def config(rows: list[tuple]) -> pd.DataFrame:
    columns = ["unit_id", "polysystem_id", "hub_site_id", "hub_option"][: len(rows[0])]
    return pd.DataFrame(rows, columns=columns)


def test_configuration_with_hubs_and_options():
    frame = config(
        [
            ("P1", "north", "S1", "reuse"),
            ("P2", "north", None, None),
            ("P3", "south", "S2", None),
            ("P4", "south", None, None),
            ("P5", "south", "S2", None),
        ]
    )
    problem = make_problem()
    plan = plan_from_configuration(problem, frame, file="config.csv")
    assert dict(plan.assignment) == {"P1": "S1", "P2": "S1", "P3": "S2", "P4": "S2", "P5": "S2"}
    assert dict(plan.hub_options) == {"S1": "reuse", "S2": "new_build"}  # S2's only option
    assert plan.status == "feasible" and plan.solver == "evaluate"
    assert plan.objective == pytest.approx(objective_terms(problem, plan)["weighted"])
    # mean travel (10k*1 + 20k*2 + 30k*2 + 15k*1 + 25k*3) / 100k = 2.0; capital GBP 9m x 0.1
    assert plan.objective == pytest.approx(2.0 + 0.9)
    assert dict(plan.stats["configuration_polysystems"]) == {"S1": "north", "S2": "south"}
    assert validate_plan(problem, plan) == []


def test_missing_hubs_minimise_weighted_travel_and_options_default_to_the_cheapest():
    frame = config([("P1", 1), ("P2", 1), ("P3", 2), ("P4", 2), ("P5", 2)])
    plan = plan_from_configuration(make_problem(), frame)
    # polysystem 2 (70,000) chooses first: S2 (2*30k + 1*15k + 3*25k = 150k) beats S3 (425k);
    # polysystem 1: S1 (50k) beats S3 (160k)
    assert dict(plan.assignment) == {"P1": "S1", "P2": "S1", "P3": "S2", "P4": "S2", "P5": "S2"}
    assert dict(plan.hub_options) == {"S1": "refurbish", "S2": "new_build"}
    assert dict(plan.stats["configuration_polysystems"]) == {"S1": "1", "S2": "2"}
    assert "hub of polysystem '2' chosen automatically: 'S2' (South); the outputs call it PS02" in plan.notes


def test_broken_rules_and_tables_name_the_configurations_own_polysystem_ids():
    """The engine numbers polysystems by hub site id; the planner's ids are named beside them."""
    frame = config([("P1", "B", "S1"), ("P2", "B", None), ("P3", "A", None), ("P4", "A", None), ("P5", "A", None)])
    problem = make_problem(rules=Rules(floor=60_000))
    plan = plan_from_configuration(problem, frame)
    assert plan.polysystem_ids() == {"S1": "PS01", "S2": "PS02"}  # 'B' is PS01, 'A' (S2 chosen) PS02
    assert plan.configured_ids() == {"S1": "B", "S2": "A"}
    assert [v.message for v in plan.violations] == [
        "polysystem PS01 (your 'B', hub 'S1' (North)) has 30,000 people, below the floor of 60,000"
    ]
    assert "hub of polysystem 'A' chosen automatically: 'S2' (South); the outputs call it PS02" in plan.notes
    assert configured_polysystems(plan) == {"PS01": "B", "PS02": "A"}
    assert plan_summary(problem, plan)["configured_polysystems"] == {"PS01": "B", "PS02": "A"}
    table = polysystems_frame(problem, plan)
    assert table[["polysystem_id", CONFIGURED_ID_COLUMN]].values.tolist() == [["PS01", "B"], ["PS02", "A"]]
    units = assignments_frame(problem, plan)
    assert units[CONFIGURED_ID_COLUMN].tolist() == frame["polysystem_id"].tolist()
    # a solved plan has no configuration: no such column, no mapping, the usual words
    solved = Plan(assignment=dict(plan.assignment), hub_options=dict(plan.hub_options), status="feasible")
    assert CONFIGURED_ID_COLUMN not in polysystems_frame(problem, solved)
    assert CONFIGURED_ID_COLUMN not in assignments_frame(problem, solved)
    assert configured_polysystems(solved) == {}
    assert [v.message for v in validate_plan(problem, solved)] == [
        "polysystem PS01 (hub 'S1' (North)) has 30,000 people, below the floor of 60,000"
    ]


def test_a_taken_site_is_not_chosen_twice():
    # everybody in one polysystem but P2, whose hub S3 is given; the big one cannot have S3
    frame = config(
        [
            ("P1", "big", None),
            ("P2", "small", "S1"),
            ("P3", "big", None),
            ("P4", "big", None),
            ("P5", "big", None),
        ]
    )
    plan = plan_from_configuration(make_problem(), frame)
    assert plan.assignment["P2"] == "S1" and plan.assignment["P1"] == "S2"


def test_excluded_sites_are_not_chosen_and_required_sites_win_ties():
    travel_tie = Problem.from_arrays(
        unit_ids=["A", "B"],
        population=[1, 1],
        site_ids=["X", "Y", "Z"],
        travel_min=[[1, 1, 0], [1, 1, 0]],
        site_status=["candidate", "required", "excluded"],
    )
    plan = plan_from_configuration(travel_tie, config([("A", "p"), ("B", "p")]))
    assert dict(plan.hub_options) == {"Y": "reuse"}


def test_every_problem_is_listed_at_once():
    frame = config(
        [
            ("P1", "north", "S1"),
            ("P9", "north", None),  # line 3: unknown unit
            ("P1", "north", None),  # line 4: duplicate
            ("P3", "south", "S7"),  # line 5: unknown site
            ("P4", "south", "S2"),
            ("P5", "south", "S3"),  # line 7: second hub for south
            ("P2", "east", "S2"),  # line 8: S2 is south's hub already
        ]
    )
    frame.loc[7] = [None, "east", None]  # line 9: blank unit id
    with pytest.raises(InputDataError) as caught:
        plan_from_configuration(make_problem(), frame, file="config.csv")
    found = [(p.row, p.column, p.message) for p in caught.value.problems]
    assert found == [
        (3, "unit_id", "unknown unit 'P9'"),
        (4, "unit_id", "unit 'P1' appears again (first on line 2)"),
        (5, "hub_site_id", "unknown site 'S7'"),
        (9, "unit_id", "unit id is blank"),
        (7, "hub_site_id", "polysystem 'south' is given two hubs: 'S2' (line 6) and 'S3'"),
        (8, "hub_site_id", "site 'S2' is the hub of two polysystems: 'south' (line 6) and 'east'"),
    ]
    assert all(p.file == "config.csv" for p in caught.value.problems)
    assert str(caught.value).startswith("6 problems in the input data:")


def test_units_missing_from_the_configuration():
    with pytest.raises(InputDataError) as caught:
        plan_from_configuration(make_problem(), config([("P1", "a"), ("P2", "a")]))
    (problem,) = caught.value.problems
    assert problem.message == "3 unit(s) of the problem are missing from the configuration: 'P3', 'P4', 'P5'"
    assert (problem.row, problem.column) == (None, "unit_id")


def test_missing_columns_and_bad_options():
    with pytest.raises(InputDataError) as caught:
        plan_from_configuration(make_problem(), pd.DataFrame({"unit_id;polysystem_id": ["P1;a"]}))
    assert [(p.column, p.message) for p in caught.value.problems] == [
        (column, "required column is missing (columns found: unit_id;polysystem_id)")
        for column in ("unit_id", "polysystem_id")
    ]
    frame = config([(u, "a", None, "rebuild") for u in ["P1", "P2", "P3", "P4", "P5"]])
    with pytest.raises(InputDataError) as caught:
        plan_from_configuration(make_problem(), frame)
    assert len(caught.value.problems) == 5
    assert caught.value.problems[0].message.startswith("unknown hub option 'rebuild'")


def test_rules_are_left_to_the_validator():
    # P1 alone (10,000 people) is below the 25,000 floor; three polysystems exceed the maximum of 2
    frame = config([("P1", "a"), ("P2", "b"), ("P3", "c"), ("P4", "c"), ("P5", "c")])
    problem = make_problem(rules=Rules(floor=25_000, max_polysystems=2))
    plan = plan_from_configuration(problem, frame)
    assert len(plan.hub_options) == 3
    assert [v.rule for v in validate_plan(problem, plan)] == ["floor", "floor", "polysystem_count"]


def test_more_polysystems_than_sites():
    frame = config([(u, u) for u in ["P1", "P2", "P3", "P4", "P5"]])
    with pytest.raises(InputDataError) as caught:
        plan_from_configuration(make_problem(), frame)
    # P3 (30,000) chooses first, then P5, P2; P4 and P1 find no site left
    assert [p.message for p in caught.value.problems] == [
        "polysystem 'P4' has no hub and no usable site is left to be one",
        "polysystem 'P1' has no hub and no usable site is left to be one",
    ]


def test_a_site_in_another_polysystems_area_is_avoided():
    # S1 is nearest to everybody but stands in area B, which is in polysystem "two"
    problem = Problem.from_arrays(
        unit_ids=["A", "B"],
        population=[1, 1],
        site_ids=["S1", "S2"],
        unit_type="lsoa",
        travel_min=[[1, 5], [1, 5]],
        site_unit=[1, None],
        rules=Rules(floor=1),
    )
    plan = plan_from_configuration(problem, config([("A", "one"), ("B", "two")]))
    assert dict(plan.assignment) == {"A": "S2", "B": "S1"}
    assert validate_plan(problem, plan) == []
