"""The independent validator, on hand-made plans: one broken rule per test."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catchment.plan import Plan
from catchment.problem import HubOption, Problem, Rules
from catchment.validate import RULES, Violation, check_plan, validate_plan
from geodata.errors import PlanInvalidError

INF = math.inf
# Six small areas in a chain U1-U2-...-U6; S1 stands in U1, S2 in U4, S3 is far from all
# but U6. Groups: A = U1..U3, B = U4..U6. The valid plan: {U1,U2,U3} -> S1 (60 people),
# {U4,U5,U6} -> S2 (150 people).
TRAVEL = [
    [1, 10, 20],
    [2, 9, 20],
    [3, 8, 20],
    [10, 1, 20],
    [9, 2, 20],
    [8, 3, 12],
]
OPTIONS = (
    HubOption("S1", "reuse", 0.0, capacity=100),
    HubOption("S1", "new_build", 5e6, capacity=300),
    HubOption("S2", "reuse", 2e6, capacity=200),
    HubOption("S3", "reuse", 0.0),
)
BASE_RULES = dict(
    floor=50,
    ceiling=200,
    min_polysystems=1,
    max_polysystems=3,
    max_travel_min=15,
    budget=10e6,
    contiguity=True,
    respect_groups=True,
)


def make_problem(
    *,
    travel=TRAVEL,
    options=OPTIONS,
    site_status=None,
    groups="AAABBB",
    site_unit=(0, 3, None),
    adjacency=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5)),
    **rules,
) -> Problem:
    return Problem.from_arrays(
        unit_ids=[f"U{k}" for k in range(1, 7)],
        population=[10, 20, 30, 40, 50, 60],
        site_ids=["S1", "S2", "S3"],
        site_names=["Northgate", "Southgate", "Farside"],
        site_status=site_status,
        travel_min=travel,
        unit_type="lsoa",
        options=options,
        rules=Rules(**{**BASE_RULES, **rules}),
        groups=tuple(groups),
        adjacency=adjacency,
        site_unit=site_unit,
        unit_names=[f"Area {k}" for k in range(1, 7)],
    )


def make_plan(assignment=None, hub_options=None) -> Plan:
    if assignment is None:
        assignment = {"U1": "S1", "U2": "S1", "U3": "S1", "U4": "S2", "U5": "S2", "U6": "S2"}
    if hub_options is None:
        hub_options = {"S1": "reuse", "S2": "reuse"}
    return Plan(assignment=assignment, hub_options=hub_options, status="feasible", solver="test")


def moved(**changes: str) -> dict[str, str]:
    base = dict(make_plan().assignment)
    base.update(changes)
    return base


def only(violations: list[Violation], rule: str) -> Violation:
    assert [v.rule for v in violations] == [rule], [str(v) for v in violations]
    return violations[0]


def test_valid_plan_passes():
    problem = make_problem()
    assert validate_plan(problem, make_plan()) == []
    check_plan(problem, make_plan())  # does not raise


def test_unknown_unit():
    v = only(validate_plan(make_problem(), make_plan(moved(X9="S1"))), "unknown_unit")
    assert v.ids == ("X9",)
    assert "'X9'" in v.message


def test_unassigned_unit():
    assignment = moved()
    del assignment["U6"]
    v = only(validate_plan(make_problem(), make_plan(assignment)), "unassigned")
    assert v.ids == ("U6",)
    assert v.message.startswith("1 of 6 unit(s) are in no polysystem")


def test_plan_without_assignment_leaves_every_unit_unassigned():
    plan = Plan(assignment={}, hub_options={}, status="infeasible")
    v = only(validate_plan(make_problem(min_polysystems=None), plan), "unassigned")
    assert v.ids == ("U1", "U2", "U3", "U4", "U5", "U6")


def test_unknown_site():
    plan = make_plan(moved(U6="S9"), {"S1": "reuse", "S2": "reuse", "S9": "reuse"})
    v = only(validate_plan(make_problem(), plan), "unknown_site")
    assert v.ids == ("S9",)
    assert "opened as a hub; 1 unit(s) assigned to it" in v.message


def test_long_ids_and_options_from_a_plan_are_cut_in_the_messages():
    """A 5,000-character site id or option a plan names makes a short message, not a 5,000-character one."""
    long = "X" * 5000
    cut = "... (5,002 characters)"
    plan = make_plan(moved(U6=long), {"S1": "reuse", "S2": "reuse", long: "reuse"})
    v = only(validate_plan(make_problem(), plan), "unknown_site")
    assert cut in v.message and len(v.message) < 250, v.message
    v = only(validate_plan(make_problem(), make_plan(hub_options={"S1": "reuse", "S2": long})), "hub_option")
    assert cut in v.message and len(v.message) < 250, v.message


def test_unit_assigned_to_a_site_that_is_not_open():
    v = only(validate_plan(make_problem(), make_plan(moved(U6="S3"))), "hub_not_open")
    assert v.ids == ("S3", "U6")
    assert "'S3' (Farside), which is not an open hub" in v.message


def test_empty_hub():
    plan = make_plan(hub_options={"S1": "reuse", "S2": "reuse", "S3": "reuse"})
    v = only(validate_plan(make_problem(), plan), "empty_hub")
    assert v.ids == ("S3",)
    assert v.message == "polysystem PS03 (hub 'S3' (Farside)) serves no unit"


def test_hub_on_excluded_site():
    problem = make_problem(site_status=["candidate", "candidate", "excluded"])
    plan = make_plan(moved(U6="S3"), {"S1": "reuse", "S2": "reuse", "S3": "reuse"})
    v = only(validate_plan(problem, plan), "excluded_site")
    assert v.ids == ("S3",)


def test_required_site_not_opened():
    problem = make_problem(site_status=["candidate", "candidate", "required"])
    v = only(validate_plan(problem, make_plan()), "required_site")
    assert v.ids == ("S3",)
    assert v.message == "required site 'S3' (Farside) has no hub"


def test_option_the_site_does_not_offer():
    v = only(validate_plan(make_problem(), make_plan(hub_options={"S1": "reuse", "S2": "new_build"})), "hub_option")
    assert v.ids == ("S2",)
    assert "option 'new_build', but the site offers reuse" in v.message


def test_floor():
    v = only(validate_plan(make_problem(floor=70), make_plan()), "floor")
    assert v.ids == ("S1",)
    assert v.message == "polysystem PS01 (hub 'S1' (Northgate)) has 60 people, below the floor of 70"


def test_waived_unit_lets_its_polysystem_fall_below_the_floor():
    problem = make_problem(floor=70, waivers={"U2": "island practice"})
    assert validate_plan(problem, make_plan()) == []
    # a waiver elsewhere does not help
    problem = make_problem(floor=70, ceiling=None, waivers={"U5": "island practice"})
    assert only(validate_plan(problem, make_plan()), "floor").ids == ("S1",)


def test_ceiling():
    v = only(validate_plan(make_problem(ceiling=100), make_plan()), "ceiling")
    assert v.ids == ("S2",)
    assert "has 150 people, above the ceiling of 100" in v.message


def test_capacity_of_the_chosen_option():
    options = (*OPTIONS[:2], HubOption("S2", "reuse", 2e6, capacity=120), OPTIONS[3])
    v = only(validate_plan(make_problem(options=options), make_plan()), "capacity")
    assert v.ids == ("S2",)
    assert "150 people, above the capacity of its reuse option (120)" in v.message
    # the new-build option of S1 is larger: S1 with 60 people fits either
    assert validate_plan(make_problem(), make_plan(hub_options={"S1": "new_build", "S2": "reuse"})) == []


@pytest.mark.parametrize(
    ("bounds", "words"),
    [
        ({"max_polysystems": 1}, "2 polysystem(s), more than the maximum of 1"),
        ({"min_polysystems": 3}, "2 polysystem(s), fewer than the minimum of 3"),
    ],
)
def test_number_of_polysystems(bounds, words):
    v = only(validate_plan(make_problem(**bounds), make_plan()), "polysystem_count")
    assert v.message == words


def test_budget():
    plan = make_plan(hub_options={"S1": "new_build", "S2": "reuse"})
    v = only(validate_plan(make_problem(budget=6e6), plan), "budget")
    assert v.message == "the chosen hub options cost GBP 7,000,000 in total, above the budget of GBP 6,000,000"
    assert v.ids == ("S1", "S2")


def test_unreachable_hub_is_always_a_violation():
    travel = [row[:] for row in TRAVEL]
    travel[5][1] = INF
    problem = make_problem(travel=travel, max_travel_min=None)
    v = only(validate_plan(problem, make_plan()), "unreachable")
    assert v.ids == ("S2", "U6")
    assert "'U6' (unreachable)" in v.message


def test_max_travel():
    violations = validate_plan(make_problem(max_travel_min=2.5), make_plan())
    assert [v.rule for v in violations] == ["max_travel", "max_travel"]
    assert [v.ids for v in violations] == [("S1", "U3"), ("S2", "U6")]
    assert violations[0].message == (
        "1 unit(s) of polysystem PS01 (hub 'S1' (Northgate)) travel beyond the 2.5-minute limit: 'U3' (3.0 min)"
    )


def test_boundary_groups():
    v = only(validate_plan(make_problem(groups="AABBBB"), make_plan()), "groups")
    assert v.ids == ("S1", "A", "B")
    assert "crosses 2 boundary groups: A (2 unit(s), 30 people), B (1 unit(s), 30 people)" in v.message
    # the same plan is fine when groups are not respected
    assert validate_plan(make_problem(groups="AABBBB", respect_groups=False), make_plan()) == []


def test_contiguity():
    adjacency = ((1, 2), (2, 3), (3, 4), (4, 5))  # U1 touches nobody
    v = only(validate_plan(make_problem(adjacency=adjacency), make_plan()), "contiguity")
    assert v.ids == ("S1", "U1")
    assert "falls into 2 disconnected parts: ['U2', 'U3'] (50 people); ['U1'] (10 people)" in v.message


def test_contiguity_uses_only_links_inside_the_polysystem():
    # U2 moves to S2: S1 = {U1, U3} is linked only through U2, which is elsewhere now
    plan = make_plan(moved(U2="S2"))
    violations = validate_plan(make_problem(floor=10, respect_groups=False), plan)
    assert [(v.rule, v.ids) for v in violations] == [("contiguity", ("S1", "U1")), ("contiguity", ("S2", "U2"))]


@pytest.mark.parametrize("contiguity", [True, False])
def test_host_unit_belongs_to_its_hub(contiguity):
    problem = make_problem(site_unit=(3, 3, None), contiguity=contiguity)
    v = only(validate_plan(problem, make_plan()), "host_unit")
    assert v.ids == ("S1", "U4")
    assert "stands in unit 'U4' (Area 4), which is in polysystem PS02" in v.message


def test_check_plan_lists_every_violation():
    plan = make_plan(moved(X9="S1"), {"S1": "reuse", "S2": "new_build"})
    with pytest.raises(PlanInvalidError) as caught:
        check_plan(make_problem(floor=70), plan)
    rules = [v.rule for v in caught.value.violations]
    assert rules == ["unknown_unit", "hub_option", "floor"]
    assert str(caught.value).startswith("the plan breaks 3 rules:")
    assert "floor: polysystem PS01" in str(caught.value)


def test_violations_come_in_rule_order():
    plan = make_plan(moved(U6="S3"), {"S1": "reuse", "S2": "reuse"})
    violations = validate_plan(make_problem(floor=70, max_travel_min=2.5), plan)
    rules = [v.rule for v in violations]
    assert rules == sorted(rules, key=RULES.index)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 2), min_size=6, max_size=6),
    edges=st.sets(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=10),
)
def test_contiguity_and_groups_agree_with_networkx(labels, edges):
    adjacency = tuple((i, j) for i, j in edges if i != j)
    groups = "AABBBC"
    options = tuple(HubOption(s, "reuse") for s in ("S1", "S2", "S3"))
    problem = make_problem(
        adjacency=adjacency,
        groups=groups,
        site_unit=None,
        options=options,
        floor=0,
        ceiling=None,
        max_travel_min=None,
        budget=None,
    )
    sites = ["S1", "S2", "S3"]
    assignment = {f"U{i + 1}": sites[k] for i, k in enumerate(labels)}
    used = sorted(set(assignment.values()))
    violations = validate_plan(problem, make_plan(assignment, {s: "reuse" for s in used}))
    graph = nx.Graph(adjacency)
    graph.add_nodes_from(range(6))
    expected_split = {
        sites[k] for k in set(labels) if not nx.is_connected(graph.subgraph([i for i in range(6) if labels[i] == k]))
    }
    expected_cross = {sites[k] for k in set(labels) if len({groups[i] for i in range(6) if labels[i] == k}) > 1}
    assert {v.ids[0] for v in violations if v.rule == "contiguity"} == expected_split
    assert {v.ids[0] for v in violations if v.rule == "groups"} == expected_cross
    assert {v.rule for v in violations} <= {"contiguity", "groups"}


def test_large_plan_is_checked_as_arrays():
    # 2,000 units in a ring, 40 hubs each serving an arc of 50 consecutive units
    rng = np.random.default_rng(7)
    n, m = 2_000, 40
    problem = Problem.from_arrays(
        unit_ids=[f"L{i:04d}" for i in range(n)],
        population=rng.integers(1_000, 2_000, n),
        site_ids=[f"H{j:02d}" for j in range(m)],
        travel_min=rng.uniform(1, 30, (n, m)),
        unit_type="lsoa",
        rules=Rules(floor=40_000, max_travel_min=30, contiguity=True),
        adjacency=[(i, (i + 1) % n) for i in range(n)],
        site_unit=[j * 50 for j in range(m)],
    )
    assignment = {f"L{i:04d}": f"H{i // 50:02d}" for i in range(n)}
    plan = make_plan(assignment, {f"H{j:02d}": "reuse" for j in range(m)})
    assert validate_plan(problem, plan) == []
    assignment["L0049"] = "H05"  # cut one arc's end off and drop it far away
    violations = validate_plan(problem, make_plan(assignment, {f"H{j:02d}": "reuse" for j in range(m)}))
    assert [(v.rule, v.ids) for v in violations] == [("contiguity", ("H05", "L0049"))]
