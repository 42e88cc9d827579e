"""One floor rule: the report's "below floor" and the validator agree at the boundary."""

from __future__ import annotations

import numpy as np
import pytest

from catchment.metrics import polysystems_frame
from catchment.plan import Plan
from catchment.problem import DEFAULT_FLOOR, FLOOR_TOLERANCE, Problem, Rules
from catchment.validate import validate_plan

FLOOR = DEFAULT_FLOOR


def one_polysystem(population: float, *, waived: bool = False) -> tuple[Problem, Plan]:
    waivers = {"U2": "rural practice"} if waived else {}
    problem = Problem.from_arrays(
        unit_ids=["U1", "U2"],
        population=[population - 1000.0, 1000.0],
        site_ids=["S1"],
        travel_min=[[1.0], [2.0]],
        rules=Rules(floor=FLOOR, waivers=waivers),
    )
    return problem, Plan({"U1": "S1", "U2": "S1"}, {"S1": "reuse"}, "feasible")


@pytest.mark.parametrize(
    ("population", "below"),
    [
        (FLOOR, False),  # exactly at the floor
        (FLOOR * (1 - 1e-12), False),  # a rounding error below it: within the tolerance
        (FLOOR * (1 + 1e-12), False),
        (FLOOR * (1 - 1e-6), True),  # truly below
        (FLOOR - 1.0, True),
    ],
)
def test_metrics_and_validator_agree_at_the_floor(population: float, below: bool) -> None:
    problem, plan = one_polysystem(population)
    reported = bool(polysystems_frame(problem, plan)["below_floor"].iloc[0])
    broken = any(v.rule == "floor" for v in validate_plan(problem, plan))
    assert reported == broken == below
    assert bool(problem.rules.below_floor(float(problem.population.sum()))) == below


def test_waived_polysystem_is_below_floor_but_valid() -> None:
    problem, plan = one_polysystem(FLOOR - 1.0, waived=True)
    assert bool(polysystems_frame(problem, plan)["below_floor"].iloc[0])
    assert not any(v.rule == "floor" for v in validate_plan(problem, plan))


def test_rule_facts_on_the_problem() -> None:
    problem = Problem.from_arrays(
        unit_ids=["U1", "U2", "U3"],
        population=[70.0, 30.0, 20.0],
        site_ids=["S1", "S2"],
        travel_min=[[1, 2], [2, 1], [1, 1]],
        rules=Rules(floor=50.0, waivers={"U3": "island"}),
    )
    assert problem.waived.tolist() == [False, False, True]
    assert problem.floor_coefficients.tolist() == [50.0, 30.0, 50.0]  # min(p, F); F when waived
    assert not problem.waived.flags.writeable and not problem.floor_coefficients.flags.writeable
    assert problem.max_polysystems_by_floor is None  # a waiver lifts the count bound
    plain = Problem.from_arrays(
        unit_ids=["U1", "U2"], population=[70.0, 30.0], site_ids=["S1"], travel_min=[[1], [2]], rules=Rules(floor=50.0)
    )
    assert plain.max_polysystems_by_floor == 1  # (50 + 30) // 50
    assert problem.rules.floor_threshold == pytest.approx(50.0 * (1 - FLOOR_TOLERANCE), rel=0, abs=0)
    assert np.array_equal(problem.rules.below_floor(np.array([49.0, 50.0])), [True, False])
