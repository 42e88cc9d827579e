"""Contiguity: separator cuts, the flow formulation and the graph helpers."""

from __future__ import annotations

import pulp
import pytest

from catchment.problem import Problem, Rules
from solvers.backends import run_solver
from solvers.common import candidate_pairs
from solvers.contiguity import (
    SeparatorCut,
    add_flow_contiguity,
    components,
    is_connected,
    separator_cuts,
    spanning_flows,
)

#   0 - 1 - 2 - 3 - 4     a path of five areas
PATH = [[1], [0, 2], [1, 3], [2, 4], [3]]
#   0 1 2
#   3 4 5                 a 2x3 grid, rook adjacency
GRID = [[1, 3], [0, 2, 4], [1, 5], [0, 4], [1, 3, 5], [2, 4]]


def test_components_and_connectivity():
    assert sorted(map(sorted, components({0, 1, 3, 4}, PATH))) == [[0, 1], [3, 4]]
    assert is_connected({1, 2, 3}, PATH)
    assert not is_connected({0, 2}, PATH)
    assert is_connected(set(), PATH) and is_connected({4}, PATH)


def test_spanning_flows_carry_subtree_sizes():
    flows = spanning_flows({0, 1, 2, 3}, 0, PATH)
    assert flows == {(0, 1): 3.0, (1, 2): 2.0, (2, 3): 1.0}
    star = spanning_flows({0, 1, 2, 4}, 1, GRID)
    assert star == {(1, 0): 1.0, (1, 2): 1.0, (1, 4): 1.0}
    assert spanning_flows({0, 2}, 0, PATH) is None
    assert spanning_flows({1, 2}, 0, PATH) is None  # the root must belong


def test_separator_cut_for_a_detached_piece():
    # site 0 hosted in area 0 holds {0, 3}; site 1 hosted in area 4 holds {1, 2, 4}
    cuts = separator_cuts([0, 1, 1, 0, 1], site_units={0: range(5), 1: range(5)}, hosts=[0, 4], neighbours=PATH)
    # site 0: piece {3} is cut off from host 0; its boundary {2, 4} reduces to {2} (4 leads nowhere)
    # site 1: piece {1, 2} is cut off from host 4; boundary {0, 3}: only 3 touches the host's side
    assert cuts == [
        SeparatorCut(site=0, unit=3, other=None, separator=(2,)),
        SeparatorCut(site=1, unit=1, other=None, separator=(3,)),
        SeparatorCut(site=1, unit=2, other=None, separator=(3,)),
    ]
    assert separator_cuts([0, 0, 0, 1, 1], site_units={0: range(5), 1: range(5)}, hosts=[0, 4], neighbours=PATH) == []


def test_separator_cut_without_a_host():
    # site 0 has no host: the larger piece {3, 4} is the root side, the cut pairs 0 with its root 3
    cuts = separator_cuts([0, 1, 1, 0, 0], site_units={0: range(5), 1: range(5)}, hosts=[None, None], neighbours=PATH)
    assert cuts == [SeparatorCut(site=0, unit=0, other=3, separator=(1,))]


def test_separator_respects_candidate_units():
    # on the grid, site 0 (host 0) holds {0, 5}: piece {5} has boundary {2, 4}
    assignment = [0, 1, 1, 1, 1, 0]
    cuts = separator_cuts(assignment, site_units={0: range(6), 1: range(6)}, hosts=[0, 1], neighbours=GRID)
    assert cuts == [SeparatorCut(site=0, unit=5, other=None, separator=(2, 4))]
    # area 2 cannot join site 0: only 4 separates
    cuts = separator_cuts(assignment, site_units={0: [0, 1, 3, 4, 5], 1: range(6)}, hosts=[0, 1], neighbours=GRID)
    assert cuts == [SeparatorCut(site=0, unit=5, other=None, separator=(4,))]
    # a piece that cannot reach the host through candidates at all gets an empty separator (x = 0)
    cuts = separator_cuts([0, 1, 1, 1, 0], site_units={0: [0, 1, 3, 4], 1: range(5)}, hosts=[0, 2], neighbours=PATH)
    assert cuts == [SeparatorCut(site=0, unit=4, other=None, separator=())]


def _flow_model(fixed: dict[int, int], *, host: int | None) -> str:
    """Flow constraints on the 2x3 grid for one site, with the assignment fixed; solver status."""
    prob = pulp.LpProblem("flow", pulp.LpMinimize)
    x = {(i, 0): prob.add_variable(f"x_{i}", lowBound=fixed[i], upBound=fixed[i], cat=pulp.LpInteger) for i in range(6)}
    y = {0: prob.add_variable("y", lowBound=1, upBound=1, cat=pulp.LpInteger)}
    flow = add_flow_contiguity(
        prob,
        x=x,
        open_vars=y,
        site_units={0: list(range(6))},
        hosts=[host],
        neighbours=GRID,
        unit_labels=[f"u{i}" for i in range(6)],
        site_labels=["s"],
    )
    prob.setObjective(pulp.lpSum(flow.flows.values()))
    names = {c.name for c in prob.constraints()}
    assert "balance(u1,s)" in names and "inflow(u1,s)" in names and "nbr(u1,s)" in names
    if host is None:
        assert "root_s" in names and len(flow.roots) == 6
    return run_solver(prob, solver="highs", time_limit=10, mip_gap=0, threads=None, msg=False, warm_start=False).status


@pytest.mark.parametrize("host", [0, None])
def test_flow_formulation_accepts_connected_and_rejects_disconnected(host):
    assert _flow_model({0: 1, 1: 1, 2: 1, 3: 0, 4: 0, 5: 1}, host=host) == "optimal"  # 0-1-2-5
    assert _flow_model({0: 1, 1: 0, 2: 1, 3: 1, 4: 0, 5: 1}, host=host) == "infeasible"  # {0,3} and {2,5}
    assert _flow_model({0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}, host=host) == "optimal"  # the root alone
    assert _flow_model(dict.fromkeys(range(6), 1), host=host) == "optimal"  # every area


def test_candidate_pairs_drop_units_cut_off_from_the_host():
    # five areas in a row, the hub in area 0; area 2 is too far from the hub (max travel 10),
    # so areas 3 and 4 can never be connected to it even though they are close enough
    problem = Problem.from_arrays(
        unit_ids=list("ABCDE"),
        population=[1] * 5,
        site_ids=["S"],
        travel_min=[[0], [5], [20], [5], [5]],
        unit_type="lsoa",
        adjacency=[(0, 1), (1, 2), (2, 3), (3, 4)],
        site_unit=[0],
        rules=Rules(floor=0, max_travel_min=10, contiguity=True),
    )
    cand = candidate_pairs(problem)
    assert cand.units.tolist() == [0, 1]
    assert cand.n_allowed == 4  # A, B, D, E allowed by travel; D and E then dropped
