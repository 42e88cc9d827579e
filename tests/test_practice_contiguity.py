"""Contiguous practice-based polysystems: Redbridge's 42 practices on their territories."""

from __future__ import annotations

import dataclasses

import networkx as nx
import pytest

from catchment.build import build_from_scenario
from catchment.scenario import read_scenario
from catchment.validate import validate_plan
from solvers import solve, solve_heuristic


@pytest.fixture(scope="module")
def redbridge(real_data):
    scenario = read_scenario("scenarios/redbridge.toml")
    scenario = dataclasses.replace(scenario, rules=dataclasses.replace(scenario.rules, contiguity=True))
    return build_from_scenario(scenario, data_dir=real_data)


def _pieces(problem, plan) -> list[int]:
    graph = nx.Graph()
    graph.add_nodes_from(range(problem.n_units))
    graph.add_edges_from(problem.adjacency)
    index = {u: i for i, u in enumerate(problem.unit_ids)}
    return [
        nx.number_connected_components(graph.subgraph(index[u] for u in plan.units_of(hub))) for hub in plan.hub_options
    ]


def test_territories_give_practices_neighbours(redbridge):
    problem = redbridge.problem
    assert problem.unit_type == "practice" and problem.rules.contiguity
    graph = nx.Graph(problem.adjacency)
    assert set(graph.nodes) == set(range(problem.n_units)) and nx.is_connected(graph)
    areas = redbridge.areas
    assert "territory_of" in areas.columns
    assert set(areas["territory_of"].dropna()) == set(problem.unit_ids)  # every practice has a territory


def test_the_unconstrained_optimum_is_not_contiguous_and_the_constrained_one_is(redbridge):
    problem = redbridge.problem
    loose_problem = dataclasses.replace(problem, rules=dataclasses.replace(problem.rules, contiguity=False))
    loose = solve(loose_problem)
    assert loose.status == "optimal" and max(_pieces(problem, loose)) > 1
    broken = [v for v in validate_plan(problem, loose) if v.rule == "contiguity"]
    assert broken, "the validator must reject a practice plan in pieces"
    tight = solve(problem)
    assert tight.status == "optimal"
    assert _pieces(problem, tight) == [1] * len(tight.hub_options)
    assert validate_plan(problem, tight) == []
    assert tight.objective >= loose.objective - 1e-9  # contiguity can only cost travel


def test_the_heuristic_keeps_practice_polysystems_connected(redbridge):
    problem = redbridge.problem
    plan = solve_heuristic(problem)
    assert plan is not None and plan.has_plan
    assert _pieces(problem, plan) == [1] * len(plan.hub_options)
    assert [v for v in validate_plan(problem, plan) if v.rule == "contiguity"] == []
