"""The objective terms are one table, read by the model, the search, the metrics and the reports."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

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
from solvers import solve, solve_heuristic
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
        unit_ids=["a", "b", "c"],
        population=[100.0, 200.0, 300.0],
        site_ids=["s", "t"],
        travel_min=[[1.0, 5.0], [2.0, 4.0], [9.0, 3.0]],
        deprivation=[10.0, 20.0, 30.0],
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
def demo(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATCHMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return build_demo()


@pytest.fixture(scope="module", params=["deprivation_travel", "age60_travel"])
def optimised_plan(demo, request):
    """The demo optimised on mean travel and one more term (its 60+ people made up for the test)."""
    pop = demo.problem.population
    older = {"population_60_plus": pop * np.linspace(0.1, 0.4, len(pop))}
    problem = dataclasses.replace(
        demo.problem, unit_data=older, objective=Objective(weights={"mean_travel": 1.0, request.param: 0.5})
    )
    built = dataclasses.replace(demo, problem=problem)
    return request.param, built, solve(problem)


def test_a_plan_is_reported_on_every_term_it_was_optimised_on(optimised_plan):
    name, built, plan = optimised_plan
    term = TERM[name]
    value = term.text(objective_terms(built.problem, plan)[name])
    assert value.endswith(" min") and value != "n/a"
    page = report_html(built, plan)  # a report card: value, then label
    assert f"<div class='v'>{html.escape(value)}</div><div class='k'>{html.escape(term.label)}</div>" in page
    key = key_figures_html(built, plan, plan_geometry(built, plan))
    assert f"<tr><td><b>{html.escape(term.label)}</b></td><td>{html.escape(value)}</td></tr>" in key


def test_a_plan_not_optimised_on_a_term_does_not_show_it(optimised_plan):
    name, built, plan = optimised_plan
    plain = dataclasses.replace(built, problem=dataclasses.replace(built.problem, objective=Objective()))
    assert html.escape(TERM[name].label) not in key_figures_html(plain, plan, plan_geometry(plain, plan))


# ---------------------------------------------------------------------------- travel of people aged 60+
def _two_sites(**objective: float) -> Problem:
    """Young "b" lives next to site T, older "a" next to site S; one hub only."""
    return Problem.from_arrays(
        unit_ids=["a", "b"],
        population=[100.0, 300.0],
        site_ids=["S", "T"],
        travel_min=[[1.0, 10.0], [10.0, 1.0]],
        unit_data={"population_60_plus": [90.0, 10.0]},
        rules=Rules(floor=0, min_polysystems=1, max_polysystems=1),
        objective=Objective(weights=objective),
    )


@pytest.mark.parametrize("method", ["mip", "lns", "heuristic"])
def test_travel_of_people_aged_60_plus_changes_the_optimum(method):
    def hub(problem):
        plan = solve_heuristic(problem) if method == "heuristic" else solve(problem, method=method)
        assert plan.status in ("optimal", "feasible")
        return set(plan.hub_options), plan

    assert hub(_two_sites(mean_travel=1.0))[0] == {"T"}  # (100 x 10 + 300 x 1) / 400 = 3.25 min
    sites, plan = hub(_two_sites(age60_travel=1.0))
    assert sites == {"S"}  # (90 x 1 + 10 x 10) / 100 = 1.9 min
    terms = objective_terms(_two_sites(age60_travel=1.0), plan)
    assert terms["age60_travel"] == pytest.approx(1.9) and terms["objective"] == pytest.approx(1.9)
    assert plan.objective == pytest.approx(1.9)


def test_travel_of_people_aged_60_plus_needs_their_number():
    with pytest.raises(ProblemDefinitionError, match=r"\[objective\] age60_travel needs .*population_60_plus"):
        Problem.from_arrays(
            unit_ids=["a"],
            population=[1.0],
            site_ids=["S"],
            travel_min=[[1.0]],
            objective=Objective(weights={"age60_travel": 1.0}),
        )
    assert objective_terms(_two_sites(mean_travel=1.0), Plan({"a": "S", "b": "S"}, {"S": "reuse"}, "feasible"))[
        "age60_travel"
    ] == pytest.approx(1.9)
    scenario = parse_scenario({"units": {"lad": "E09000026"}, "objective": {"age60_travel": 0.5}})
    assert dict(scenario.objective.weights) == {"age60_travel": 0.5}


def test_practices_and_lsoas_get_their_people_aged_60_plus():
    from catchment.build import build_from_scenario
    from catchment.scenario import read_scenario

    root = Path(__file__).resolve().parents[1] / "scenarios"
    for name in ("redbridge.toml", "redbridge-lsoa.toml"):
        problem = build_from_scenario(read_scenario(root / name)).problem
        older = problem.unit_data["population_60_plus"]
        assert older.shape == (problem.n_units,) and (older > 0).all() and (older < problem.population).all()
        assert 0.1 < older.sum() / problem.population.sum() < 0.3  # London: about one in six is 60+
