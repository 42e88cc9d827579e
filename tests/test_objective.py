"""The objective terms are one table, read by the model, the search, the metrics and the reports."""

from __future__ import annotations

import dataclasses
import html

import numpy as np
import pytest

from catchment.build import build_demo
from catchment.metrics import objective_terms
from catchment.objective import CAPITAL_UNIT, OBJECTIVE_TERMS, TERM, TERMS
from catchment.plan import Plan
from catchment.problem import Objective, Problem, Rules
from catchment.scenario import parse_scenario
from geodata.errors import ProblemDefinitionError
from maps import plan_geometry, report_html
from maps.plan_map import key_figures_html
from solvers import solve
from solvers.common import term_values


def test_the_vocabulary_is_the_table():
    assert OBJECTIVE_TERMS == tuple(t.name for t in TERMS)
    assert OBJECTIVE_TERMS[:4] == ("mean_travel", "max_travel", "deprivation_travel", "capital")
    assert all(t.label and t.unit and t.description for t in TERMS)
    with pytest.raises(ProblemDefinitionError, match="choose from " + ", ".join(OBJECTIVE_TERMS)):
        Objective(weights={"nonsense": 1.0})
    # every term of the table is a key of a scenario's [objective] table
    scenario = parse_scenario({"units": {"lad": "E09000026"}, "objective": {t: 1.0 for t in OBJECTIVE_TERMS}})
    assert tuple(scenario.objective.weights) == OBJECTIVE_TERMS


def test_solver_and_metrics_values_agree_term_by_term():
    problem = Problem.from_arrays(
        unit_ids=["a", "b", "c"], population=[100.0, 200.0, 300.0], site_ids=["s", "t"],
        travel_min=[[1.0, 5.0], [2.0, 4.0], [9.0, 3.0]], deprivation=[10.0, 20.0, 30.0],
        rules=Rules(floor=0),
    )
    site_of = np.array([0, 0, 1])
    plan = Plan({"a": "s", "b": "s", "c": "t"}, {"s": "reuse", "t": "reuse"}, "feasible")
    fast, exact = term_values(problem, site_of, {0: "reuse", 1: "reuse"}), objective_terms(problem, plan)
    for term in TERMS:
        if term.available(problem):
            assert fast[term.name] == pytest.approx(exact[term.name], rel=1e-12), term.name
    assert fast["deprivation_travel"] == pytest.approx((1000 * 1 + 4000 * 2 + 9000 * 3) / 14000)
    assert TERM["capital"].option_coefficient(2.5e6) == 2.5e6 / CAPITAL_UNIT


@pytest.fixture(scope="module")
def deprivation_plan(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        built = build_demo()
    problem = dataclasses.replace(built.problem, objective=Objective(weights={"mean_travel": 1.0,
                                                                              "deprivation_travel": 0.5}))
    built = dataclasses.replace(built, problem=problem)
    return built, solve(problem)


def test_a_plan_optimised_on_deprivation_is_reported_on_it(deprivation_plan):
    built, plan = deprivation_plan
    term = TERM["deprivation_travel"]
    value = term.text(objective_terms(built.problem, plan)["deprivation_travel"])
    assert value.endswith(" min") and value != "n/a"
    page = report_html(built, plan)  # a report card: value, then label
    assert f"<div class='v'>{html.escape(value)}</div><div class='k'>{term.label}</div>" in page
    key = key_figures_html(built, plan, plan_geometry(built, plan))
    assert f"<tr><td><b>{term.label}</b></td><td>{html.escape(value)}</td></tr>" in key


def test_a_plan_not_optimised_on_deprivation_does_not_show_it(deprivation_plan):
    built, plan = deprivation_plan
    plain = dataclasses.replace(built, problem=dataclasses.replace(built.problem, objective=Objective()))
    assert TERM["deprivation_travel"].label not in key_figures_html(plain, plan, plan_geometry(plain, plan))
