"""The hub-site shortlist: regrets and values re-solved independently, infeasible forcings, the command."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimise
from catchment.build import build_demo
from catchment.metrics import objective_terms
from catchment.problem import HubOption, Problem, Rules
from catchment.validate import validate_plan
from solvers import solve
from solvers.batch import SolveOptions
from solvers.common import candidate_pairs
from solvers.lagrangian import lagrangian_bound
from solvers.relaxation import solve_relaxation
from solvers.shortlist import SHORTLIST_COLUMNS, forced_problem, shortlist_sites, site_open_bounds
from tests.test_lagrangian import capacitated_instances
from tests.test_solver_properties import best_valid_plan, practice_instances

OPTIONS = SolveOptions(time_limit=60)


@pytest.fixture(scope="module")
def demo():
    return build_demo()


@pytest.fixture(scope="module")
def cli_shortlist(demo, tmp_path_factory):
    """The command on the demo, in this process (the Dask path is in test_distributed)."""
    out = tmp_path_factory.mktemp("shortlist") / "out"
    code = optimise.main(["shortlist", "demo", "--out", str(out), "--serial", "--quiet"])
    assert code == optimise.EXIT_OK
    table = pd.read_csv(out / "shortlist.csv", dtype={"site_id": str})
    return out, table


def _objective(problem: Problem) -> float:
    plan = solve(problem, time_limit=60)
    assert plan.status == "optimal"
    assert validate_plan(problem, plan) == []
    return float(objective_terms(problem, plan)["objective"])


def test_shortlist_files_and_columns(cli_shortlist, demo):
    out, table = cli_shortlist
    assert list(table.columns) == list(SHORTLIST_COLUMNS)
    usable = [s for s, st in zip(demo.problem.site_ids, demo.problem.site_status, strict=True) if st != "excluded"]
    assert sorted(table["site_id"]) == sorted(usable)  # every usable site once, excluded ones not
    assert list(table["rank"]) == list(range(1, len(usable) + 1))
    page = (out / "shortlist.html").read_text(encoding="utf-8")
    assert "L.map(" in page or "L.map" in page
    for site in usable:
        assert site in page
    assert 'src="https://cdn' not in page and 'href="https://cdn' not in page
    summary = json.loads((out / "shortlist.json").read_text())
    assert summary["tolerance"] == 0.02 and summary["sites"] == len(usable)
    # the demo's capital costs are synthetic: labelled as placeholders in the figures and on the map
    assert summary["capital_costs_source"] == "placeholder"
    assert summary["capital_costs_note"].startswith("capital costs are placeholders")
    assert "capital costs are placeholders" in page
    assert (out / "optimum" / "assignments.csv").is_file() and (out / "optimum" / "map.html").is_file()


def test_regret_and_value_match_independent_solves(cli_shortlist, demo):
    _, table = cli_shortlist
    problem = demo.problem
    optimum = _objective(problem)
    summary_optimum = table.loc[table["in_optimum"], "forced_open_objective"].iloc[0]
    assert summary_optimum == pytest.approx(optimum, rel=1e-4)
    in_opt = table.loc[table["in_optimum"] & (table["base_status"] == "candidate")].iloc[0]
    outside = table.loc[~table["in_optimum"]].iloc[-1]  # the worst-ranked site
    # forced open: a site outside the optimum costs its regret
    opened = _objective(forced_problem(problem, outside["site_id"], "open"))
    assert outside["regret"] == pytest.approx(opened - optimum, abs=1e-4 * optimum)
    assert outside["regret"] > 0
    # forced closed: a site of the optimum is worth its value of keeping
    closed = _objective(forced_problem(problem, in_opt["site_id"], "closed"))
    assert in_opt["value_of_keeping"] == pytest.approx(closed - optimum, abs=1e-4 * optimum)
    # the answers the proven optimum gives for free
    assert (table.loc[table["in_optimum"], "regret"] == 0).all()
    assert (table.loc[~table["in_optimum"], "value_of_keeping"] == 0).all()
    assert set(table.loc[table["in_optimum"], "forced_open_status"]) == {"base"}


def test_ranking_and_near_optimal_share(cli_shortlist):
    _, table = cli_shortlist
    regret = table["regret"].fillna(np.inf).to_numpy()
    assert np.all(np.diff(regret) >= -1e-12), "ranked by regret first"
    ties = table.groupby("regret")["value_of_keeping"].apply(lambda v: bool(np.all(np.diff(v.to_numpy()) <= 1e-12)))
    assert ties.all(), "equal regrets are ranked by value of keeping"
    assert table.loc[table["in_optimum"], "near_optimal_share"].gt(0).all()
    # a site whose regret exceeds the tolerance can only appear in near-optimal plans of other forcings
    plans = table["near_optimal_plans"].to_numpy()
    shares = table["near_optimal_share"].to_numpy()
    n_sets = plans[shares > 0] / shares[shares > 0]
    assert np.allclose(n_sets, n_sets[0])  # one common denominator: the distinct near-optimal hub sets
    within = table.loc[~table["in_optimum"] & (table["regret_pct"] <= 2.0)]
    assert (within["near_optimal_plans"] >= 1).all()


def _line_problem(**rules) -> Problem:
    """Four practices on a line, three sites; site C is the only one unit U4 can reach."""
    inf = math.inf
    travel = [[1, 5, 9], [2, 4, 8], [6, 2, 5], [inf, inf, 1]]
    return Problem.from_arrays(
        unit_ids=["U1", "U2", "U3", "U4"],
        population=[30_000, 30_000, 30_000, 30_000],
        site_ids=["A", "B", "C"],
        travel_min=travel,
        options=[HubOption(s, "reuse", 100_000.0) for s in "ABC"],
        rules=Rules(**rules),
    )


def test_infeasible_forcings_are_reported():
    problem = _line_problem(floor=50_000, max_polysystems=2)
    short = shortlist_sites(problem, options=OPTIONS)
    rows = {s.site_id: s for s in short.sites}
    # C is the only site U4 can reach: closing it leaves no plan, the site is essential
    assert rows["C"].in_optimum and rows["C"].essential and math.isinf(rows["C"].value)
    assert rows["C"].closed_status == "infeasible" and "forced closed: infeasible" in rows["C"].note
    # with C open and at most two polysystems, A and B cannot both open: one of them is infeasible
    # to force open only if it is not in the optimum; the other is in it
    assert sum(r.in_optimum for r in rows.values()) == 2
    frame = short.frame()
    assert frame.loc[frame["site_id"] == "C", "essential"].item()
    assert math.isnan(frame.loc[frame["site_id"] == "C", "value_of_keeping"].item())  # inf left empty


def test_forcing_open_beyond_the_count_is_infeasible():
    problem = _line_problem(floor=50_000, max_polysystems=1, max_travel_min=None)
    # one polysystem of 120,000: it must hold U4, so its hub is C; forcing A or B open is infeasible
    short = shortlist_sites(problem, options=OPTIONS)
    rows = {s.site_id: s for s in short.sites}
    assert rows["C"].in_optimum
    for site in ("A", "B"):
        assert rows[site].open_status == "infeasible" and math.isinf(rows[site].regret)
        assert "forced open: infeasible" in rows[site].note
    assert [s.site_id for s in short.sites][-2:] == ["A", "B"]  # infeasible forcings rank last


def test_exhaustive_agrees_with_the_shortcut():
    problem = _line_problem(floor=50_000)
    quick = shortlist_sites(problem, options=OPTIONS)
    full = shortlist_sites(problem, options=OPTIONS, exhaustive=True)
    assert full.n_solves == 2 * len(full.sites) > quick.n_solves
    for a, b in zip(quick.sites, full.sites, strict=False):
        assert a.site_id == b.site_id and a.rank == b.rank
        assert a.regret == pytest.approx(b.regret, abs=1e-6)
        assert a.value == pytest.approx(b.value, abs=1e-6)


def test_bad_arguments():
    problem = _line_problem(floor=50_000)
    with pytest.raises(ValueError, match="tolerance"):
        shortlist_sites(problem, options=OPTIONS, tolerance=-0.1)
    with pytest.raises(ValueError, match="force"):
        forced_problem(problem, "A", "maybe")
    impossible = _line_problem(floor=200_000)
    with pytest.raises(ValueError, match="needs a valid plan"):
        shortlist_sites(impossible, options=OPTIONS)


# ---------------------------------------------------------------------------- regret bounds
BOUND_SETTINGS = settings(
    max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@BOUND_SETTINGS
@given(practice_instances())
def test_site_open_bounds_never_exceed_the_brute_force_forced_optimum(problem):
    """Each site's bound is at most the best plan with that site forced open (oracle shares no code)."""
    bounds = site_open_bounds(problem)
    assert len(bounds.bounds) == len(bounds.sources) == problem.n_sites
    for j, site in enumerate(problem.site_ids):
        if problem.site_status[j] == "excluded" or bounds.bounds[j] == -math.inf:
            continue
        assert bounds.sources[j] in {"lp", "lagrangian"}
        best = best_valid_plan(forced_problem(problem, site, "open"))
        if best is None:
            continue  # no plan opens the site: any bound is vacuously valid
        optimum = best[0][0]
        assert bounds.bounds[j] <= optimum + 1e-7 * max(1.0, abs(optimum)), (site, bounds.bounds[j], optimum)


@settings(BOUND_SETTINGS, max_examples=150)
@given(st.one_of(practice_instances(), capacitated_instances()))
def test_lagrangian_site_open_figure_is_never_above_the_cheapest_pair(problem):
    """Why site_open_bounds reads the Lagrangian's pairs only: per site, L + min d is at least L + site_open.

    If the reduced costs ever stopped including the forced-open outer cost, the bound would
    have to take the larger of the two.
    """
    relax = solve_relaxation(problem, candidate_pairs(problem, k=None), deadline=None, threads=None)
    lag = lagrangian_bound(problem, relaxation=relax if relax.status == "optimal" else None, max_iterations=40)
    if lag.reduced is None:
        return  # no bound (an infeasible relaxed model): nothing to compare
    assert lag.site_open is not None
    cheapest = lag.reduced.min(axis=0)
    assert np.all(lag.site_open <= cheapest), (lag.site_open, cheapest)
    hosts = problem.site_unit or (None,) * problem.n_sites
    hosted = [j for j, host in enumerate(hosts) if host is not None and np.isfinite(cheapest[j])]
    assert np.array_equal(lag.site_open[hosted], cheapest[hosted]), "the host's pair costs exactly site_open"


def test_regret_bounds_are_below_the_regrets(cli_shortlist):
    _, table = cli_shortlist
    known = table.dropna(subset=["regret", "regret_bound"])
    assert len(known) == len(table), "every site of the demo has a regret and a bound"
    assert (known["regret_bound"] <= known["regret"] + 1e-6 * abs(known["regret"]).max()).all()
    assert (table.loc[table["in_optimum"], "regret_bound_source"] == "base").all()
    outside = table.loc[~table["in_optimum"]]
    assert set(outside["regret_bound_source"]) <= {"lp", "lagrangian", "solver"}
    assert (outside["regret_bound"] > 0).any(), "the relaxations prove some regret on the demo"


def test_screening_skips_only_sites_whose_bound_is_above_the_tolerance(demo):
    problem = demo.problem
    # tolerance 0: every site whose regret is proven positive is screened out
    full = {s.site_id: s for s in shortlist_sites(problem, options=OPTIONS, tolerance=0.0).sites}
    short = shortlist_sites(problem, options=OPTIONS, tolerance=0.0, screen=True)
    screened = [s for s in short.sites if s.open_status == "screened"]
    assert screened, "the demo has sites the bounds rule out"
    solved = sum(1 for s in full.values() for st in (s.open_status, s.closed_status) if st != "base")
    assert short.n_solves == solved - len(screened)
    for s in screened:
        assert s.regret is None and s.regret_bound is not None and s.regret_bound > 0
        assert s.regret_bound <= full[s.site_id].regret + 1e-6, "the bound is below the solved regret"
        assert "not solved" in s.note
    for s in short.sites:
        if s.open_status != "screened":
            assert s.regret == pytest.approx(full[s.site_id].regret, abs=1e-6)
    ranks = [s.regret if s.open_status != "screened" else s.regret_bound for s in short.sites]
    assert all(a <= b + 1e-12 for a, b in zip(ranks, ranks[1:], strict=False)), "ranked by regret or its bound"


def test_a_base_plan_not_proven_optimal_is_not_called_the_optimum(tmp_path, monkeypatch, capsys):
    """A time-limited base plan is "the best plan found ... not proven optimal" in every shortlist output.

    The base solve is made to return its plan as not proven (what a time limit does), so that
    the outcome does not depend on how fast the machine is.
    """
    import dataclasses

    import solvers.batch
    from catchment.plan import NOT_PROVEN_OPTIMAL

    solve_and_check = solvers.batch.solve_and_check
    calls = []

    def first_not_proven(problem, options):
        record = solve_and_check(problem, options)
        calls.append(record.status)
        if len(calls) > 1 or record.status != "optimal":
            return record
        return dataclasses.replace(record, status="feasible", plan=dataclasses.replace(record.plan, status="feasible"))

    monkeypatch.setattr(solvers.batch, "solve_and_check", first_not_proven)
    out = tmp_path / "out"
    assert optimise.main(["shortlist", "demo", "--out", str(out), "--serial", "--quiet", "--no-exports"]) == 0
    printed = capsys.readouterr().out
    headline = next(line for line in printed.splitlines() if line.startswith("SHORTLIST"))
    assert f"({NOT_PROVEN_OPTIMAL})" in headline and "best plan found" in headline and "optimum" not in headline
    summary = json.loads((out / "shortlist.json").read_text())
    assert summary["base_status"] == "feasible" and summary["base_status_label"] == NOT_PROVEN_OPTIMAL
    page = (out / "shortlist.html").read_text(encoding="utf-8")
    assert "Best plan found" in page and "Optimum:" not in page
    assert "the optimal plan" not in page and "In the optimal plan" not in page
    assert page.count(NOT_PROVEN_OPTIMAL) > len(pd.read_csv(out / "shortlist.csv"))  # key, legend, every popup


# ---------------------------------------------------------------------------- solves not proven optimal
def _unproven(record):
    """A record as a time limit leaves it: the same plan, not proven optimal."""
    import dataclasses

    return dataclasses.replace(record, status="feasible", plan=dataclasses.replace(record.plan, status="feasible"))


@pytest.fixture(scope="module")
def unproven_line():
    """The line problem's shortlist from a worse base plan ({B, C}) and forced solves not proven optimal.

    Forcing A open finds the best plan ({A, C}); forcing C open (which the best plan satisfies)
    returns only the base plan, and forcing B closed only the plan with C alone: what solves
    stopped by a time limit may return, made so, so that the outcome does not depend on speed.
    """
    import solvers.shortlist
    from solvers.batch import solve_and_check

    problem = _line_problem(floor=50_000)
    optimum = solve_and_check(problem, OPTIONS)
    worse = _unproven(solve_and_check(forced_problem(problem, "B", "open"), OPTIONS))
    only_c = _unproven(solve_and_check(forced_problem(forced_problem(problem, "A", "closed"), "B", "closed"), OPTIONS))
    assert optimum.status == "optimal" and optimum.hubs == {"A", "C"}
    assert worse.hubs == {"B", "C"} and only_c.hubs == {"C"} and worse.objective > optimum.objective

    def forced(forced_problem, options):
        status = dict(zip(forced_problem.site_ids, forced_problem.site_status, strict=True))
        if status["C"] == "required":
            return worse
        if status["B"] == "excluded":
            return only_c
        return _unproven(solve_and_check(forced_problem, options))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solvers.shortlist, "solve_and_check", forced)
        short = shortlist_sites(problem, options=OPTIONS, base=worse)
    return short, optimum, worse


def test_a_forced_solve_that_beats_the_base_plan_gives_the_best_plan(unproven_line):
    """Each forced solve's plan is a plan of the whole model: the best of them all is the shortlist's best plan."""
    short, optimum, worse = unproven_line
    assert short.optimum == pytest.approx(optimum.objective) and short.optimum < worse.objective
    assert short.best_forcing == ("A", "open") and short.best_source == "the solve with A forced open"
    assert short.best.hubs == {"A", "C"} and short.best.status == short.best.plan.status == "feasible"
    assert short.best.plan.bound == worse.plan.bound  # the forced problem's bound is no bound of the whole model
    rows = {s.site_id: s for s in short.sites}
    assert {s for s, row in rows.items() if row.in_optimum} == {"A", "C"}
    assert "forced open: found the best plan of all solves" in rows["A"].note
    # regrets and values are measured against the best plan
    assert rows["B"].regret == pytest.approx(worse.objective - optimum.objective)
    frame = short.frame()
    assert frame.loc[frame["site_id"] == "B", "regret_pct"].item() == pytest.approx(
        100 * (worse.objective - optimum.objective) / optimum.objective
    )


def test_a_forcing_the_best_plan_satisfies_costs_nothing(unproven_line):
    """Forcing open a site of the best plan, or closed one it leaves unused, is answered by the best plan: 0."""
    short, _, _ = unproven_line
    rows = {s.site_id: s for s in short.sites}
    assert rows["C"].regret == 0.0 and rows["C"].open_objective is not None and rows["C"].open_objective > short.optimum
    assert (
        rows["B"].value == 0.0 and rows["B"].closed_objective is not None and rows["B"].closed_objective > short.optimum
    )
    assert "forced open: 0 against the best plan found, which opens it" in rows["C"].note
    assert "forced closed: 0 against the best plan found, which leaves it closed" in rows["B"].note
    # the best plan is not proven optimal: the forced optimum may lie below it, so 0 is a lower bound
    assert rows["C"].regret_kind == rows["B"].value_kind == "at_least"


def test_figures_from_two_unproven_solves_are_labelled_estimates(unproven_line):
    from solvers.shortlist import FIGURE_LABELS

    short, _, _ = unproven_line
    rows = {s.site_id: s for s in short.sites}
    assert rows["B"].regret_kind == "estimate" and rows["A"].value_kind == "estimate"
    frame = short.frame().set_index("site_id")
    assert frame.loc["B", "regret_label"] == FIGURE_LABELS["estimate"]
    assert frame.loc["C", "regret_label"] == FIGURE_LABELS["at_least"]
    assert frame.loc["C", "value_label"] == ""  # essential: no figure, nothing to label
    assert "estimate" in FIGURE_LABELS["estimate"] and "not proven optimal" in FIGURE_LABELS["estimate"]


def test_figure_kinds_say_what_was_proven():
    from solvers.shortlist import _figure_kind

    assert _figure_kind(forced_proven=True, best_proven=True) == "proven"
    assert _figure_kind(forced_proven=True, best_proven=False) == "at_least"  # the optimum may lie below the best plan
    assert _figure_kind(forced_proven=False, best_proven=True) == "at_most"  # the forced optimum may lie below
    assert _figure_kind(forced_proven=False, best_proven=False) == "estimate"


def test_the_page_says_where_the_best_plan_came_from_and_what_each_figure_is(demo, tmp_path):
    from maps.shortlist import write_shortlist_outputs
    from solvers.shortlist import FIGURE_LABELS

    problem = demo.problem
    usable = [s for s, st in zip(problem.site_ids, problem.site_status, strict=True) if st != "excluded"]
    rows = []
    for k, site in enumerate(usable):
        row = dict.fromkeys(SHORTLIST_COLUMNS, math.nan) | {
            "rank": k + 1,
            "site_id": site,
            "site_name": site,
            "site_type": problem.site_types[problem.site_index(site)],
            "base_status": "candidate",
            "in_optimum": k == 0,
            "regret": 0.1 * k,
            "regret_pct": 1.0 * k,
            "regret_label": FIGURE_LABELS["estimate"] if k else FIGURE_LABELS["at_least"],
            "value_of_keeping": 0.0,
            "value_pct": 0.0,
            "value_label": FIGURE_LABELS["at_most"],
            "essential": False,
            "forced_open_status": "feasible",
            "forced_closed_status": "feasible",
            "near_optimal_plans": 1,
            "near_optimal_share": 1.0,
            "note": "",
        }
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(SHORTLIST_COLUMNS))
    summary = {
        "optimum": 5.0,
        "tolerance": 0.02,
        "base_status": "feasible",
        "base_objective": 5.5,
        "best_status": "feasible",
        "best_plan_source": f"the solve with {usable[1]} forced closed",
    }
    paths = write_shortlist_outputs(tmp_path, demo, table, summary=summary, tiles=False)
    page = paths["shortlist.html"].read_text(encoding="utf-8")
    assert f"Found by the solve with {usable[1]} forced closed (the base solve" in page  # the key, a JSON text
    assert "plan: 5.5000)" in page
    assert "Best plan found: 5.0000" in page and "Optimum:" not in page
    # every popup says what its regret and value are (popups are JSON text: compare up to an apostrophe)
    assert page.count(FIGURE_LABELS["estimate"]) == len(usable) - 1
    assert page.count(FIGURE_LABELS["at_most"].split("'")[0]) == len(usable)
    assert json.loads(paths["shortlist.json"].read_text())["best_status_label"] == "feasible, not proven optimal"
