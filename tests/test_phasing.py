"""Phasing: budgets per year, single openings and population served, all recomputed here."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import optimise
from catchment.build import build_demo
from catchment.plan import Plan
from solvers import solve
from solvers.phasing import HUB_COLUMNS, YEAR_COLUMNS, phase_plan


@pytest.fixture(scope="module")
def demo():
    built = build_demo()
    plan = solve(built.problem, time_limit=60)
    assert plan.status == "optimal"
    return built, plan


def _costs(problem, plan: Plan) -> dict[str, float]:
    return {o.site_id: o.capital_cost for o in problem.options if plan.hub_options.get(o.site_id) == o.option}


def _populations(problem, plan: Plan) -> dict[str, float]:
    out: dict[str, float] = {h: 0.0 for h in plan.hub_options}
    for unit, pop in zip(problem.unit_ids, problem.population, strict=True):
        out[plan.assignment[unit]] += float(pop)
    return out


def _served(open_year: dict[str, int | None], population: dict[str, float], years: int) -> np.ndarray:
    return np.array(
        [sum(population[h] for h, y in open_year.items() if y is not None and y <= t) for t in range(1, years + 1)]
    )


def _best_person_years(costs, population, years, budgets, *, carry_over):
    """Brute force over every opening year (or never) of every hub."""
    hubs = sorted(costs)
    best = 0.0
    for choice in itertools.product([None, *range(1, years + 1)], repeat=len(hubs)):
        spend = np.zeros(years)
        for h, y in zip(hubs, choice, strict=True):
            if y is not None:
                spend[y - 1] += costs[h]
        limit = np.cumsum(budgets) if carry_over else np.asarray(budgets)
        used = np.cumsum(spend) if carry_over else spend
        if np.all(used <= limit + 1e-6):
            best = max(best, float(_served(dict(zip(hubs, choice, strict=True)), population, years).sum()))
    return best


@pytest.mark.parametrize("carry_over", [False, True])
def test_budgets_openings_and_served_population(demo, carry_over):
    built, plan = demo
    problem = built.problem
    years, budget = 4, 1_500_000.0
    result = phase_plan(problem, plan, years=years, annual_budget=budget, carry_over=carry_over)
    assert result.status == "optimal"
    costs, population = _costs(problem, plan), _populations(problem, plan)
    hubs = result.frame()
    assert list(hubs.columns) == list(HUB_COLUMNS)
    assert sorted(hubs["hub_site_id"]) == sorted(plan.hub_options)  # each hub once
    open_year = {
        h: (None if pd.isna(y) else int(y)) for h, y in zip(hubs["hub_site_id"], hubs["open_year"], strict=True)
    }
    assert all(y is None or 1 <= y <= years for y in open_year.values())
    spend = np.zeros(years)
    for h, y in open_year.items():
        if y is not None:
            spend[y - 1] += costs[h]
    if carry_over:
        assert np.all(np.cumsum(spend) <= np.cumsum([budget] * years) + 1e-6)
    else:
        assert np.all(spend <= budget + 1e-6)
    served = _served(open_year, population, years)
    table = result.years_frame()
    assert list(table.columns) == list(YEAR_COLUMNS)
    assert np.allclose(table["spend"], spend) and np.allclose(table["population_served"], served)
    assert result.objective == pytest.approx(served.sum())
    assert served.sum() == pytest.approx(
        _best_person_years(costs, population, years, [budget] * years, carry_over=carry_over)
    )
    assert result.violations() == []


def test_carry_over_opens_the_dear_hub_later(demo):
    built, plan = demo
    strict = phase_plan(built.problem, plan, years=5, annual_budget=1_500_000, carry_over=False)
    rolled = phase_plan(built.problem, plan, years=5, annual_budget=1_500_000, carry_over=True)
    dear = max(_costs(built.problem, plan).items(), key=lambda kv: kv[1])
    assert dear[1] > 1_500_000
    assert strict.open_year[dear[0]] is None and dear[0] in strict.unopened
    assert any(dear[0] in note for note in strict.notes)
    assert rolled.open_year[dear[0]] is not None
    assert rolled.person_years() >= strict.person_years()


def test_budgets_per_year_and_complete(demo):
    built, plan = demo
    budgets = [0.0, 3_000_000.0, 0.0, 2_000_000.0]
    result = phase_plan(built.problem, plan, years=4, annual_budget=budgets)
    assert result.budgets == tuple(budgets)
    assert result.spend_by_year()[0] == 0 and result.spend_by_year()[2] == 0
    assert result.violations() == []
    short = phase_plan(built.problem, plan, years=2, annual_budget=500_000, complete=True)
    assert short.status == "infeasible" and not short.has_schedule
    assert any("cannot open every hub" in note for note in short.notes)
    total = sum(_costs(built.problem, plan).values())
    enough = phase_plan(built.problem, plan, years=1, annual_budget=total, complete=True)
    assert enough.status == "optimal" and not enough.unopened


def test_bad_options_are_listed_together(demo):
    built, plan = demo
    with pytest.raises(ValueError) as info:
        phase_plan(built.problem, plan, years=3, annual_budget=[1.0, 2.0], solver="gurobi")
    assert "2 annual budget(s) given for 3 year(s)" in str(info.value) and "solver" in str(info.value)
    with pytest.raises(ValueError, match="no hub"):
        phase_plan(built.problem, Plan({}, {}, "infeasible"), years=3, annual_budget=1.0)
    with pytest.raises(ValueError) as info:
        phase_plan(built.problem, plan, years=3, annual_budget=1.0, time_limit=1e300, threads=0)
    assert "time_limit must be a number of seconds above 0 and at most" in str(info.value)
    assert "threads must be" in str(info.value)


def test_phase_command(demo, tmp_path):
    built, plan = demo
    out = tmp_path / "phase"
    assert (
        optimise.main(
            ["phase", "demo", "--years", "4", "--annual-budget", "1.5e6", "--carry-over", "--out", str(out), "--quiet"]
        )
        == optimise.EXIT_OK
    )
    hubs = pd.read_csv(out / "phasing.csv")
    years = pd.read_csv(out / "phasing_years.csv")
    assert len(hubs) == len(plan.hub_options) and len(years) == 4
    assert (years["cumulative_spend"] <= years["cumulative_budget"] + 1e-6).all()
    page = (out / "phasing.html").read_text(encoding="utf-8")
    assert "<svg" in page and "Implementation timetable" in page
    summary = json.loads((out / "phasing.json").read_text())
    assert summary["carry_over"] is True and summary["person_years"] == pytest.approx(years["population_served"].sum())
    assert (out / "assignments.csv").is_file() and (out / "map.html").is_file()
    # the demo's capital costs are synthetic: every output of the timetable says they are placeholders
    assert summary["capital_costs_source"] == "placeholder"
    assert (hubs["capital_costs_source"] == "placeholder").all()
    assert "capital costs are placeholders" in page and "(placeholder capital costs)" in page

    # a configuration given as a file, every hub required within a horizon too short: exit 3
    config = tmp_path / "config.csv"
    pd.read_csv(out / "assignments.csv")[["unit_id", "polysystem_id", "hub_site_id"]].to_csv(config, index=False)
    code = optimise.main(
        [
            "phase",
            "demo",
            "--plan",
            str(config),
            "--years",
            "1",
            "--annual-budget",
            "1e5",
            "--complete",
            "--out",
            str(tmp_path / "none"),
            "--quiet",
        ]
    )
    assert code == optimise.EXIT_INFEASIBLE and not (tmp_path / "none").exists()


def test_phase_command_says_what_was_not_proven_and_that_costs_are_placeholders(tmp_path, monkeypatch, capsys):
    """A plan and a timetable not proven optimal say "feasible, not proven optimal" in the terminal,
    phasing.json and phasing.html; the terminal says the demo's costs are placeholders.

    The solves are made to return their results as not proven (what a time limit does), so that
    the outcome does not depend on how fast the machine is.
    """
    import dataclasses

    import solvers.batch
    import solvers.phasing
    from catchment.plan import NOT_PROVEN_OPTIMAL
    from catchment.problem import PLACEHOLDER_COSTS_NOTE

    solve_and_check, phase = solvers.batch.solve_and_check, solvers.phasing.phase_plan

    def plan_not_proven(problem, options):
        record = solve_and_check(problem, options)
        return dataclasses.replace(record, status="feasible", plan=dataclasses.replace(record.plan, status="feasible"))

    def timetable_not_proven(*args, **kwargs):
        return dataclasses.replace(phase(*args, **kwargs), status="feasible")

    monkeypatch.setattr(solvers.batch, "solve_and_check", plan_not_proven)
    monkeypatch.setattr(solvers.phasing, "phase_plan", timetable_not_proven)
    out = tmp_path / "phase"
    argv = ["phase", "demo", "--years", "4", "--annual-budget", "1.5e6", "--out", str(out), "--quiet", "--no-exports"]
    assert optimise.main(argv) == optimise.EXIT_OK
    printed = capsys.readouterr().out
    assert f"PHASING over 4 year(s), {NOT_PROVEN_OPTIMAL}:" in printed
    assert f"Plan: {NOT_PROVEN_OPTIMAL}, " in printed and f"note: {PLACEHOLDER_COSTS_NOTE}" in printed
    summary = json.loads((out / "phasing.json").read_text())
    assert summary["status"] == "feasible" and summary["status_label"] == NOT_PROVEN_OPTIMAL
    page = (out / "phasing.html").read_text(encoding="utf-8")
    assert f"Status: {NOT_PROVEN_OPTIMAL}." in page
