"""Edit sessions on real data (Redbridge): edits, undo/redo, errors, and the verdict always
equal to a full run of the independent validator."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catchment.build import build_from_scenario
from catchment.editing import BREAKS_RULES, FEASIBLE, EditSession
from catchment.metrics import capital_cost, objective_terms, polysystems_frame
from catchment.plan import Plan
from catchment.problem import Problem
from catchment.scenario import read_scenario
from catchment.validate import polysystem_label, validate_plan
from geodata.errors import EditError, NoChange
from solvers.heuristic import solve_heuristic

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def practices(real_data: Path) -> tuple[Problem, Plan]:
    """Redbridge's practices and a heuristic plan that keeps every rule."""
    problem = build_from_scenario(read_scenario(SCENARIOS / "redbridge.toml"), data_dir=real_data, cache=False).problem
    plan = solve_heuristic(problem, work_limit=2_000)
    assert plan is not None and not validate_plan(problem, plan)
    return problem, plan


@pytest.fixture(scope="module")
def lsoas(real_data: Path) -> tuple[Problem, Plan]:
    """Redbridge's LSOAs (contiguity, hubs standing in areas) with more rules switched on,
    and a plan assigning each area to the nearest of every fourth usable site."""
    built = build_from_scenario(read_scenario(SCENARIOS / "redbridge-lsoa.toml"), data_dir=real_data, cache=False)
    problem = built.problem
    rules = dataclasses.replace(
        problem.rules, ceiling=120_000.0, max_travel_min=12.0, max_polysystems=6, budget=5e6, respect_groups=False
    )
    problem = dataclasses.replace(problem, rules=rules)
    hubs = problem.usable_sites()[::4]
    nearest = hubs[np.argmin(problem.travel_min[:, hubs], axis=1)]
    used = sorted({int(j) for j in nearest})
    plan = Plan(
        assignment={u: problem.site_ids[j] for u, j in zip(problem.unit_ids, nearest.tolist(), strict=True)},
        hub_options={problem.site_ids[j]: problem.options_of(problem.site_ids[j])[0].option for j in used},
        status="feasible",
    )
    return problem, plan


def _same(session: EditSession) -> None:
    """The session's verdict is the validator's, rule, words and ids, in the same order."""
    full = validate_plan(session.problem, session.plan())
    assert [(v.rule, v.message, v.ids) for v in session.verdict.violations] == [
        (v.rule, v.message, v.ids) for v in full
    ]
    assert session.verdict.status == (BREAKS_RULES if full else FEASIBLE)
    plan = session.plan()
    assert session.verdict.terms == pytest.approx(objective_terms(session.problem, plan), nan_ok=True)
    assert session.verdict.capital_cost == pytest.approx(capital_cost(session.problem, plan))
    frame = polysystems_frame(session.problem, plan)
    assert dict(session.verdict.populations) == pytest.approx(
        dict(zip(frame.hub_site_id, frame.population, strict=True))
    )


def test_start_is_the_plan_and_feasible(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    assert session.verdict.status == FEASIBLE and session.verdict.edit == "start"
    assert session.verdict.objective == pytest.approx(plan.objective)
    assert session.assignment() == dict(plan.assignment)
    assert not session.can_undo and not session.can_redo
    assert sum(session.verdict.populations.values()) == pytest.approx(problem.total_population)


def test_floor_breach_appears_on_a_move_and_disappears_on_undo(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    pops = session.verdict.populations
    small, big = min(pops, key=pops.__getitem__), max(pops, key=pops.__getitem__)
    verdict = session.verdict
    for unit in session.units_of(small):
        verdict = session.move(unit, big)
        if verdict.status == BREAKS_RULES:
            break
    assert [v.rule for v in verdict.violations] == ["floor"]
    assert verdict.breach_hubs == (small,)
    assert "below the floor of 50,000" in verdict.rules_broken[0]
    moved = verdict.moves[0]
    assert (moved.from_hub, moved.to_hub) == (small, big)
    assert moved.travel_before == problem.travel_min[problem.unit_index(moved.unit_id), problem.site_index(small)]
    assert verdict.objective_change == pytest.approx(verdict.objective - session.undo().objective)
    assert session.verdict.status == FEASIBLE and session.can_redo
    assert session.redo().status == BREAKS_RULES
    _same(session)
    edited = session.plan()
    assert edited.status == "breaks_rules" and edited.solver == "edited" and edited.bound is None
    assert "edited by hand" in edited.notes[0]


def test_undo_redo_round_trip_of_every_kind_of_edit(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    start = session.assignment(), dict(session.hub_options), session.verdict.violations
    hubs = session.hubs
    free = next(s for s in problem.site_ids if s not in hubs and problem.options_of(s))
    session.move(problem.unit_ids[0], next(h for h in hubs if h != session.hub_of(problem.unit_ids[0])))
    session.set_hub(hubs[0], free)
    session.set_option(hubs[1], problem.options_of(hubs[1])[-1].option)
    session.open_hub(hubs[0])
    session.close_hub(hubs[2], to=hubs[0])
    assert len(session.history) == 5
    _same(session)
    after = session.assignment(), dict(session.hub_options)
    while session.can_undo:
        session.undo()
        _same(session)
    assert (session.assignment(), dict(session.hub_options), session.verdict.violations) == start
    while session.can_redo:
        session.redo()
    assert (session.assignment(), dict(session.hub_options)) == after
    assert session.verdict.n_moved_from_start > 0
    # a new edit after an undo drops the redo history
    session.undo()
    session.move(problem.unit_ids[1], session.hubs[0])
    assert not session.can_redo


def test_bad_edits_name_the_id_and_change_nothing(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    hub = session.hubs[0]
    closed = next(s for s in problem.site_ids if s not in session.hub_options)
    unit = problem.unit_ids[0]
    before = session.assignment(), dict(session.hub_options)
    cases = [
        (lambda: session.move("NOSUCH", hub), "'NOSUCH'"),
        (lambda: session.move(unit, "NOSITE"), "'NOSITE'"),
        (lambda: session.move(unit, closed), f"{closed!r} is not an open hub"),
        (lambda: session.set_option(hub, "palace"), "does not offer option 'palace'"),
        (lambda: session.open_hub(hub), "already an open hub"),
        (lambda: session.set_hub(hub, session.hubs[1]), "already the hub"),
        (lambda: session.close_hub(hub), "say which open hub takes them"),
        (lambda: session.close_hub(hub, to=hub), "its own units"),
        (session.undo, "nothing to undo"),
        (session.redo, "nothing to redo"),
    ]
    for edit, words in cases:
        with pytest.raises(EditError, match=words.replace("(", r"\(")):
            edit()
    assert (session.assignment(), dict(session.hub_options)) == before
    assert not session.can_undo


def _no_change_cases(session: EditSession) -> dict[str, tuple[Callable[[], object], str]]:
    """Each kind of edit that changes nothing, with the words it is refused in."""
    problem = session.problem
    hub = session.hubs[0]
    unit = session.units_of(hub)[0]
    option = session.hub_options[hub]
    where = polysystem_label(problem, hub, session.plan().polysystem_ids()[hub])
    assert where.startswith("polysystem PS") and f"(hub {hub!r}" in where
    return {
        "move": (
            lambda: session.move(unit, hub),
            f"unit {unit!r} is already in {where}: nothing to move; choose another polysystem",
        ),
        "move_units": (
            lambda: session.move_units(session.units_of(hub), hub),
            f"every unit given is already in {where}: nothing to move; choose other units",
        ),
        "move_no_units": (
            lambda: session.move_units([], hub),
            f"no unit given to move to {where}: nothing to move; choose units",
        ),
        "set_option": (
            lambda: session.set_option(hub, option),
            f"{where} already has option {option!r}: nothing to change; choose another option",
        ),
        "set_hub": (
            lambda: session.set_hub(hub, hub),
            f"{where} already has its hub on site {hub!r}: nothing to move; choose another site",
        ),
        "set_hub_same_option": (
            lambda: session.set_hub(hub, hub, option=option),
            f"{where} already has its hub on site {hub!r}: nothing to move; choose another site",
        ),
        "open_hub": (
            lambda: session.open_hub(hub),
            f"site {hub!r} is already an open hub ({where}): nothing to open; choose another site",
        ),
        "open_hub_same_option": (
            lambda: session.open_hub(hub, option=option),
            f"site {hub!r} is already an open hub ({where}): nothing to open; choose another site",
        ),
    }


_NO_CHANGE_KINDS = (
    "move",
    "move_units",
    "move_no_units",
    "set_option",
    "set_hub",
    "set_hub_same_option",
    "open_hub",
    "open_hub_same_option",
    "undo",
    "redo",
)


@pytest.mark.parametrize("kind", _NO_CHANGE_KINDS)
def test_an_edit_that_changes_nothing_raises_no_change_and_records_nothing(practices, kind):
    problem, plan = practices
    session = EditSession(problem, plan)
    hub = session.hubs[0]
    unit = session.units_of(session.hubs[1])[0]
    session.move(unit, hub)
    if kind != "redo":
        session.undo()  # something to redo, which the refused edit must not lose
    verdict, history, can_redo, state = (
        session.verdict,
        session.history,
        session.can_redo,
        (session.assignment(), dict(session.hub_options)),
    )
    edit: Callable[[], object]
    if kind == "undo":
        edit, words = session.undo, "nothing to undo"
    elif kind == "redo":
        edit, words = session.redo, "nothing to redo"
    else:
        edit, words = _no_change_cases(session)[kind]
    with pytest.raises(NoChange) as refused:
        edit()
    assert str(refused.value) == words
    assert isinstance(refused.value, EditError)
    assert session.verdict is verdict and session.history == history and session.can_redo == can_redo
    assert (session.assignment(), dict(session.hub_options)) == state


def test_the_hub_s_own_site_or_an_open_hub_with_another_option_is_not_a_no_change(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    hub = next(h for h in session.hubs if len(problem.options_of(h)) > 1)
    option = session.hub_options[hub]
    other = next(o.option for o in problem.options_of(hub) if o.option != option)
    with pytest.raises(EditError, match="change its option instead") as refused:
        session.open_hub(hub, option=other)
    assert not isinstance(refused.value, NoChange)
    session.set_hub(hub, hub, option=other)  # on its own site: a change of option
    assert session.hub_options[hub] == other and session.history == (f"option of {hub}: {option} -> {other}",)


def test_a_long_id_is_cut_in_an_edit_error(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    hub, unit = session.hubs[0], problem.unit_ids[0]
    long = "X" * 5000
    for edit, words in [
        (lambda: session.move(long, hub), "unknown unit 'XXX"),
        (lambda: session.move(unit, long), "unknown site 'XXX"),
        (lambda: session.set_option(hub, long), "does not offer option 'XXX"),
        (lambda: session.close_hub(long), "unknown site 'XXX"),
        (
            lambda: EditSession(problem, dataclasses.replace(plan, assignment={**plan.assignment, long: hub})),
            "units the problem does not have: 'XXX",
        ),
    ]:
        with pytest.raises(EditError, match=words) as refused:
            edit()
        message = str(refused.value)
        assert "... (5,002 characters)" in message and len(message) < 250, message
    assert not session.can_undo
    assert polysystem_label(problem, long, "PS01") == f"polysystem PS01 (hub '{long[:79]}... (5,002 characters))"


def test_with_problem_keeps_the_edits_and_checks_the_new_rules(practices):
    problem, plan = practices
    session = EditSession(problem, plan)
    hub = session.hubs[0]
    session.move(session.units_of(session.hubs[1])[0], hub)
    lower = dataclasses.replace(problem, rules=dataclasses.replace(problem.rules, floor=1.0))
    relaxed = session.with_problem(lower)
    assert relaxed.assignment() == session.assignment() and relaxed.history == session.history
    assert relaxed.verdict.status == FEASIBLE
    _same(relaxed)
    relaxed.undo()
    assert relaxed.assignment() == dict(plan.assignment)
    with pytest.raises(EditError, match="other units or sites"):
        session.with_problem(dataclasses.replace(problem, site_ids=problem.site_ids[::-1]))


def test_a_plan_that_leaves_a_unit_out_cannot_be_edited(practices):
    problem, plan = practices
    assignment = dict(plan.assignment)
    dropped = assignment.pop(problem.unit_ids[3])
    assert dropped
    broken = Plan(assignment=assignment, hub_options=plan.hub_options, status="feasible")
    with pytest.raises(EditError, match=repr(problem.unit_ids[3])):
        EditSession(problem, broken)


def test_moving_the_area_of_a_third_hub_updates_that_hub_s_breach(lsoas):
    problem, plan = lsoas
    session = EditSession(problem, plan)
    first, second, third = session.hubs[:3]
    host = problem.unit_ids[problem.site_unit[problem.site_index(first)]]
    session.move(host, second)
    session.move(host, third)  # touches the second and third polysystems, and the first one's hub
    (breach,) = [v for v in session.verdict.violations if v.rule == "host_unit" and v.sites == (first,)]
    assert breach.units == (host,) and f"(hub {third!r}" in breach.message
    _same(session)


_EDIT = st.tuples(
    st.sampled_from(["move", "move", "move_host", "hub", "option", "open", "close", "undo", "redo"]),
    *(st.integers(0, 10**6),) * 3,
)


def _random_edit(session: EditSession, kind: str, a: int, b: int, c: int) -> None:
    problem, hubs = session.problem, session.hubs
    try:
        if kind == "move":
            session.move(problem.unit_ids[a % problem.n_units], hubs[b % len(hubs)])
        elif kind == "move_host":  # the area a hub stands in: touches a third polysystem
            host = (problem.site_unit or [None] * problem.n_sites)[problem.site_index(hubs[a % min(3, len(hubs))])]
            if host is not None:
                session.move(problem.unit_ids[host], hubs[b % min(3, len(hubs))])
        elif kind == "hub":
            session.set_hub(hubs[a % len(hubs)], problem.site_ids[b % problem.n_sites])
        elif kind == "option":
            hub = hubs[a % len(hubs)]
            offered = problem.options_of(hub)
            session.set_option(hub, offered[b % len(offered)].option)
        elif kind == "open":
            session.open_hub(problem.site_ids[a % problem.n_sites])
        elif kind == "close":
            others = [h for h in hubs if h != hubs[a % len(hubs)]]
            session.close_hub(hubs[a % len(hubs)], to=others[b % len(others)] if others else None)
        elif kind == "undo":
            session.undo()
        else:
            session.redo()
    except EditError:
        pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDIT, max_size=20))
def test_verdict_equals_the_validator_after_random_edits_practices(practices, edits):
    session = EditSession(*practices)
    for edit in edits:
        _random_edit(session, *edit)
        _same(session)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDIT, max_size=20))
def test_verdict_equals_the_validator_after_random_edits_lsoas(lsoas, edits):
    session = EditSession(*lsoas)
    for edit in edits:
        _random_edit(session, *edit)
        _same(session)
