"""The polysystem model's formulation: build it over some unit-site pairs, solve it.

A :class:`Formulation` is one built PuLP model with the handles needed to start it from a
plan and to read its answer. :func:`build_formulation` states the rows (the model itself
is documented on :class:`solvers.mip.PolysystemModel`); :func:`solve_formulation` solves
every lexicographic stage, adding contiguity cuts round by round, and returns an
:class:`Attempt`. The single MIP, the priced relaxation and the neighbourhood search all
build and solve through these.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pulp

from catchment.objective import TERMS, option_terms
from catchment.plan import Plan
from catchment.problem import Objective, Problem
from solvers.backends import run_solver
from solvers.common import (
    Candidates,
    adjacency_lists,
    choose_options,
    lp_labels,
    objective_value,
    term_values,
)
from solvers.contiguity import (
    FlowContiguity,
    SeparatorCut,
    add_flow_contiguity,
    separator_cuts,
    spanning_flows,
)
from solvers.heuristic import REPAIR_WORK, WorkBudget, repair_plan

__all__ = ["Formulation", "Attempt", "build_formulation", "solve_formulation", "plan_indices", "stage_key"]

_LE, _GE, _EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
#: Separator-cut rounds before contiguity switches to the flow constraints (see solvers.contiguity).
_CUT_ROUNDS = 3


@dataclass
class Formulation:
    """One built model and the handles needed to start and read it."""

    prob: pulp.LpProblem
    cand: Candidates
    x: list[Any]
    x_of: dict[tuple[int, int], Any]
    open_vars: dict[int, Any]
    option_vars: dict[tuple[int, str], Any]
    group_vars: dict[tuple[int, str], Any]
    max_var: Any
    terms: dict[str, pulp.LpAffineExpression]
    flow: FlowContiguity | None
    build_s: float
    contiguity: str | None
    unit_labels: list[str]
    site_labels: list[str]
    hosts: tuple[int | None, ...]
    neighbours: list[list[int]]
    site_units: dict[int, list[int]]
    site_unit_sets: dict[int, set[int]]
    lex_limits: dict[str, float] = field(default_factory=dict)
    neighbour_rows: bool = False
    n_cuts: int = 0


@dataclass
class Attempt:
    """What one model (one pruning level) achieved."""

    k: int | None
    status: str
    site_of_unit: np.ndarray | None = None
    hub_options: dict[int, str] = field(default_factory=dict)
    objective: float | None = None
    bound: float | None = None
    solve_s: float = 0.0
    warm_start: str = "none"
    notes: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    time_limited: bool = False
    timed_out: bool = False
    rounds: int = 0
    cuts: int = 0
    nodes: int = 0


# ---------------------------------------------------------------------------- building
def _binary(prob: pulp.LpProblem, name: str, *, low: int = 0, up: int = 1) -> Any:
    return prob.add_variable(name, lowBound=low, upBound=up, cat=pulp.LpInteger)


def _add(prob: pulp.LpProblem, terms: Any, sense: int, name: str, rhs: float = 0.0) -> None:
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs))


def build_formulation(
    problem: Problem, cand: Candidates, name: str, contiguity: str = "cuts", *, whole: Candidates | None = None
) -> Formulation:
    """Build the model over the pairs ``cand``.

    Two coefficients depend on which pairs exist: a site's size row uses the population it
    can reach (a valid tightening for plans over ``cand``), and the lower bound of the
    ``max_travel`` variable is the largest nearest-site travel. With ``whole`` (every
    allowed pair) both are taken from it instead, so that the rows are those of the whole
    model: the relaxation whose duals price left-out pairs needs that.
    """
    t0 = time.perf_counter()
    rules = problem.rules
    n = problem.n_units
    pop = problem.population
    ul = lp_labels(problem.unit_ids)
    sl = lp_labels(problem.site_ids)
    prob = pulp.LpProblem(name, pulp.LpMinimize)
    units = cand.units.tolist()
    sites = cand.sites.tolist()

    x = [_binary(prob, f"x({ul[i]},{sl[j]})") for i, j in zip(units, sites, strict=True)]
    x_of = dict(zip(zip(units, sites, strict=True), x, strict=True))
    usable = problem.usable_sites().tolist()
    required = set(problem.required_sites().tolist())
    hosts = problem.site_unit or (None,) * problem.n_sites
    open_vars = {j: _binary(prob, f"open_{sl[j]}", low=1 if j in required else 0) for j in usable}

    # pairs of each site
    by_site = np.argsort(cand.sites, kind="stable")
    bounds = np.searchsorted(cand.sites[by_site], np.arange(problem.n_sites + 1))
    site_pairs = {j: by_site[bounds[j] : bounds[j + 1]].tolist() for j in usable}

    # options
    option_vars: dict[tuple[int, str], Any] = {}
    for j in usable:
        opts = problem.options_of(problem.site_ids[j])
        if len(opts) == 1:
            option_vars[(j, opts[0].option)] = open_vars[j]
            continue
        for o in opts:
            option_vars[(j, o.option)] = _binary(prob, f"opt({sl[j]},{o.option})")
        _add(prob, [*((option_vars[(j, o.option)], 1.0) for o in opts), (open_vars[j], -1.0)], _EQ, f"option_{sl[j]}")

    # assignment
    starts = np.searchsorted(cand.units, np.arange(n + 1)).tolist()
    for i in range(n):
        _add(prob, [(x[q], 1.0) for q in range(starts[i], starts[i + 1])], _EQ, f"assign_{ul[i]}", 1.0)

    # groups of sites without a host unit
    group_vars: dict[tuple[int, str], Any] = {}
    group_of_pair: dict[int, Any] = {}
    if rules.respect_groups and problem.groups is not None:
        glabels = dict(zip(sorted(set(problem.groups)), lp_labels(sorted(set(problem.groups))), strict=True))
        for j in usable:
            if hosts[j] is not None:
                continue
            gs = sorted({problem.groups[units[q]] for q in site_pairs[j]})
            if len(gs) <= 1:
                continue
            for g in gs:
                group_vars[(j, g)] = _binary(prob, f"grp({sl[j]},{glabels[g]})")
            _add(prob, [*((group_vars[(j, g)], 1.0) for g in gs), (open_vars[j], -1.0)], _LE, f"onegroup_{sl[j]}")
            for q in site_pairs[j]:
                group_of_pair[q] = group_vars[(j, problem.groups[units[q]])]

    # linking and host units
    host_pair = {j: x_of.get((hosts[j], j)) for j in usable if hosts[j] is not None}
    for q, (i, j) in enumerate(zip(units, sites, strict=True)):
        if hosts[j] == i:
            continue
        _add(prob, [(x[q], 1.0), (group_of_pair.get(q, open_vars[j]), -1.0)], _LE, f"link({ul[i]},{sl[j]})")
    for j, xv in host_pair.items():
        if xv is None:
            _add(prob, [(open_vars[j], 1.0)], _LE, f"host_{sl[j]}")
        else:
            _add(prob, [(xv, 1.0), (open_vars[j], -1.0)], _EQ, f"host_{sl[j]}")

    # floor, size, serve
    floor = float(rules.floor)
    coef_floor = problem.floor_coefficients
    ceiling = math.inf if rules.ceiling is None else float(rules.ceiling)
    reach_of = np.bincount((whole or cand).sites, weights=pop[(whole or cand).units], minlength=problem.n_sites)
    for j in usable:
        qs = site_pairs[j]
        s = sl[j]
        if floor > 0:
            _add(prob, [*((x[q], float(coef_floor[units[q]])) for q in qs), (open_vars[j], -floor)], _GE, f"floor_{s}")
        elif host_pair.get(j) is None:
            _add(prob, [(open_vars[j], 1.0), *((x[q], -1.0) for q in qs)], _LE, f"serve_{s}")
        reach = float(reach_of[j])
        limits = {
            o.option: min(ceiling, math.inf if o.capacity is None else float(o.capacity), reach)
            for o in problem.options_of(problem.site_ids[j])
        }
        if min(limits.values()) < reach:
            size_terms: dict[Any, float] = {}
            for opt, lim in limits.items():
                var = option_vars[(j, opt)]
                size_terms[var] = size_terms.get(var, 0.0) - lim
            _add(prob, [*((x[q], float(pop[units[q]])) for q in qs), *size_terms.items()], _LE, f"size_{s}")

    # count, budget
    count = [(open_vars[j], 1.0) for j in usable]
    if rules.min_polysystems is not None:
        _add(prob, count, _GE, "min_polysystems", float(rules.min_polysystems))
    if rules.max_polysystems is not None:
        _add(prob, count, _LE, "max_polysystems", float(rules.max_polysystems))
    most = problem.max_polysystems_by_floor
    if most is not None:
        if most < min(len(usable), rules.max_polysystems or len(usable)):
            _add(prob, count, _LE, "count_floor_bound", float(most))
    costs = {(j, o.option): o.capital_cost for j in usable for o in problem.options_of(problem.site_ids[j])}
    if rules.budget is not None and any(c > 0 for c in costs.values()):
        _add(
            prob,
            [(option_vars[key], float(c)) for key, c in costs.items() if c > 0],
            _LE,
            "budget",
            float(rules.budget),
        )

    # contiguity
    flow = None
    method = contiguity if rules.contiguity else None
    site_units = {j: [units[q] for q in site_pairs[j]] for j in usable}
    neighbours = adjacency_lists(problem)
    if method == "flow":
        flow = add_flow_contiguity(
            prob,
            x=x_of,
            open_vars=open_vars,
            site_units=site_units,
            hosts=hosts,
            neighbours=neighbours,
            unit_labels=ul,
            site_labels=sl,
        )

    # objective terms
    terms = _objective_terms(problem, prob, cand, x, option_vars, costs, starts, ul, whole=whole)
    max_var = terms.pop("_max_var", None)
    _set_objective(prob, problem.objective, terms, stage=0)
    return Formulation(
        prob,
        cand,
        x,
        x_of,
        open_vars,
        option_vars,
        group_vars,
        max_var,
        terms,
        flow,
        time.perf_counter() - t0,
        contiguity=method,
        unit_labels=ul,
        site_labels=sl,
        hosts=tuple(hosts),
        neighbours=neighbours,
        site_units=site_units,
        site_unit_sets={j: set(v) for j, v in site_units.items()},
    )


def _objective_terms(problem, prob, cand, x, option_vars, costs, starts, ul, *, whole=None) -> dict[str, Any]:
    used = set(problem.objective.terms)
    terms: dict[str, Any] = {}
    for spec in TERMS:  # the linear terms, from the table
        if spec.name not in used:
            continue
        if spec.kind == "travel":
            coef = spec.pair_coefficients(problem, cand.units, cand.travel)
            terms[spec.name] = pulp.LpAffineExpression(zip(x, coef.tolist(), strict=True))
        elif spec.kind == "options":
            amounts = {key: spec.option_amount(problem.option(problem.site_ids[key[0]], key[1])) for key in costs}
            terms[spec.name] = pulp.LpAffineExpression(
                [(option_vars[key], spec.option_coefficient(a)) for key, a in amounts.items() if a > 0]
            )
    for spec in TERMS:  # the longest travel: a variable above every assigned unit's travel
        if spec.kind != "max" or spec.name not in used:
            continue
        travel = cand.travel
        ref = whole or cand
        nearest = np.full(problem.n_units, np.inf)
        np.minimum.at(nearest, ref.units, ref.travel)
        nearest = nearest[np.isfinite(nearest)]
        low = float(nearest.max()) if nearest.size else 0.0
        t_var = prob.add_variable("max_travel", lowBound=low)
        for i in range(problem.n_units):
            a, b = starts[i], starts[i + 1]
            if b > a and travel[a:b].max() > low:
                _add(prob, [(t_var, 1.0), *((x[q], -float(travel[q])) for q in range(a, b))], _GE, f"maxtravel_{ul[i]}")
        terms[spec.name] = pulp.LpAffineExpression([(t_var, 1.0)])
        terms["_max_var"] = t_var
    return terms


def _set_objective(prob: pulp.LpProblem, objective: Objective, terms: Mapping[str, Any], *, stage: int) -> None:
    if objective.lexicographic is not None:
        expr = pulp.LpAffineExpression(terms[objective.lexicographic[stage]])
    else:
        expr = pulp.lpSum(w * terms[t] for t, w in objective.weights.items() if w > 0)
    if not len(expr):
        # a term without variables (no capital costs at all): keep one zero coefficient, else
        # PuLP adds a "__dummy" column that stays in the model and breaks CBC's MPS input later
        expr = pulp.LpAffineExpression([(v, 0.0) for v in prob.variables()[:1]])
    prob.setObjective(expr)


# ---------------------------------------------------------------------------- solving
@dataclass
class _StageResult:
    """One objective stage: one solve, or several rounds of separator cuts."""

    status: str = "unsolved"
    site_of_unit: np.ndarray | None = None
    hub_options: dict[int, str] = field(default_factory=dict)
    bound: float | None = None
    seconds: float = 0.0
    warm_start: str = "none"
    rounds: int = 0
    time_limited: bool = False
    timed_out: bool = False
    nodes: int = 0
    notes: list[str] = field(default_factory=list)


def solve_formulation(
    problem: Problem,
    form: Formulation,
    *,
    solver: str,
    deadline: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    start: tuple[np.ndarray, dict[int, str]] | None,
    target: float | None = None,
    node_limit: int | None = None,
    cutoff: float | None = None,
) -> Attempt:
    """Solve a built model (every lexicographic stage).

    ``target``, ``node_limit`` and ``cutoff`` (the first stage only): see :func:`_solve_stage`.
    """
    attempt = Attempt(k=form.cand.k, status="unsolved")
    incumbent = start
    if start is not None and not _set_start(problem, form, *start):
        attempt.warm_start = "skipped"
        attempt.notes.append("the heuristic plan is not a point of this model; no warm start")
        incumbent = None
    lex = problem.objective.lexicographic
    stages = lex if lex is not None else (None,)
    for s, term in enumerate(stages):
        if s > 0:
            _set_objective(form.prob, problem.objective, form.terms, stage=s)
        res = _solve_stage(
            problem,
            form,
            solver=solver,
            deadline=deadline,
            mip_gap=mip_gap,
            threads=threads,
            msg=msg,
            incumbent=incumbent,
            stage=s,
            target=target,
            node_limit=node_limit,
            cutoff=cutoff if s == 0 else None,
        )
        attempt.solve_s += res.seconds
        attempt.rounds += res.rounds
        attempt.nodes += res.nodes
        attempt.timed_out |= res.timed_out
        if s == 0 and incumbent is not None:
            attempt.warm_start = res.warm_start
        attempt.notes.extend(n for n in res.notes if n not in attempt.notes)
        attempt.stages.append(
            {
                "term": term,
                "status": res.status,
                "bound": res.bound,
                "rounds": res.rounds,
                "seconds": round(res.seconds, 4),
            }
        )
        if res.status in ("infeasible", "unsolved"):
            if s == 0:
                attempt.status, attempt.bound = res.status, res.bound
            else:
                attempt.notes.append(
                    f"lexicographic stage {s + 1} ({term}) found no plan within the time limit; "
                    "the plan optimises the earlier terms only"
                )
                attempt.status = "feasible"
                attempt.time_limited = True
            break
        attempt.site_of_unit, attempt.hub_options = res.site_of_unit, res.hub_options
        if s == 0:  # a lexicographic plan reports its first (primary) term and that stage's bound
            attempt.bound = res.bound
        attempt.status = res.status if s == 0 or attempt.status == "optimal" else "feasible"
        attempt.time_limited |= res.time_limited
        # a stage that did not end infeasible or unsolved always holds its plan
        incumbent = (cast(np.ndarray, res.site_of_unit), res.hub_options)
        if term is not None and s + 1 < len(stages):
            value = term_values(problem, *incumbent)[term]
            tol = problem.objective.lexicographic_tolerance
            rhs = value + max(abs(value) * tol, 1e-9 * max(1.0, abs(value)))
            form.lex_limits[term] = rhs
            if len(form.terms[term]):  # an empty term (e.g. no capital costs) constrains nothing
                form.prob.addConstraint(pulp.LpConstraint(form.terms[term], _LE, f"lex_{term}", rhs))
            if deadline is not None and time.perf_counter() >= deadline:
                attempt.status = "feasible"
                attempt.time_limited = attempt.timed_out = True
                attempt.notes.append(
                    f"time limit reached before lexicographic stage {s + 2}; the plan optimises the earlier terms only"
                )
                break
    attempt.cuts = form.n_cuts
    return attempt


def _solve_stage(
    problem: Problem,
    form: Formulation,
    *,
    solver: str,
    deadline: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    incumbent: tuple[np.ndarray, dict[int, str]] | None,
    stage: int,
    target: float | None = None,
    node_limit: int | None = None,
    cutoff: float | None = None,
) -> _StageResult:
    """Solve for one objective; with contiguity by cuts, add separator cuts until connected.

    Every round solves a relaxation of the contiguous problem, so its bound is a valid
    lower bound; a disconnected round solution is repaired by the heuristic into a
    connected incumbent, which warm-starts the next round (it satisfies every cut).
    ``target``: HiGHS stops a round as soon as it finds a plan with that objective or
    lower (the caller's bound already proves such a plan good enough). ``node_limit``:
    nodes per solver call at most. ``cutoff``: only plans below it are looked for, and
    status ``infeasible`` means that no plan (connected or not) lies below it
    (:func:`solvers.backends.run_solver`). Every solver call ends by ``deadline``; ``timed_out``
    records that it (not a count) stopped something.
    """
    res = _StageResult()
    cutting = form.contiguity == "cuts"
    best_bound: float | None = None
    while True:
        warm = incumbent is not None and _set_start(problem, form, *incumbent)
        outcome = run_solver(
            form.prob,
            solver=solver,
            time_limit=None,
            deadline=deadline,
            mip_gap=mip_gap,
            threads=threads,
            msg=msg,
            warm_start=warm,
            objective_target=target,
            node_limit=node_limit,
            cutoff=cutoff,
        )
        res.rounds += 1
        res.seconds += outcome.seconds
        res.nodes += outcome.nodes or 0
        res.timed_out |= outcome.time_limited
        if res.rounds == 1:
            res.warm_start = outcome.warm_start if warm else "none"
        res.notes.extend(n for n in outcome.notes if n not in res.notes)
        if outcome.bound is not None:
            best_bound = outcome.bound if best_bound is None else max(best_bound, outcome.bound)
        if outcome.status == "infeasible":
            res.status = "infeasible"
            return res
        if outcome.status == "unsolved":
            res.bound = best_bound
            if incumbent is not None and res.rounds > 1:
                res.status, res.time_limited = "feasible", True
                res.site_of_unit, res.hub_options = incumbent
                res.notes.append(f"contiguity: stopped in cut round {res.rounds}; the best connected plan is returned")
            return res
        site_of_unit, hub_options = _extract(problem, form)
        # site_of_unit is an int array of site indices: separator_cuts only iterates it
        cuts = (
            separator_cuts(
                cast("Sequence[int]", site_of_unit),
                site_units=form.site_units,
                hosts=form.hosts,
                neighbours=form.neighbours,
            )
            if cutting
            else []
        )
        if not cuts:
            res.status = outcome.status
            res.site_of_unit, res.hub_options = site_of_unit, hub_options
            res.bound = best_bound
            res.time_limited = outcome.status != "optimal"
            return res
        _add_cuts(problem, form, cuts)
        if res.rounds >= _CUT_ROUNDS:
            # contiguity keeps binding: finish exactly in one solve with the flow model (the cuts stay)
            form.flow = add_flow_contiguity(
                form.prob,
                x=form.x_of,
                open_vars=form.open_vars,
                site_units=form.site_units,
                hosts=form.hosts,
                neighbours=form.neighbours,
                unit_labels=form.unit_labels,
                site_labels=form.site_labels,
                neighbour_rows=not form.neighbour_rows,
            )
            form.contiguity = "cuts+flow"
            cutting = False
            res.notes.append(f"contiguity: still binding after {res.rounds} cut rounds; switched to flow constraints")
        budget = WorkBudget(REPAIR_WORK, deadline)
        repaired = repair_plan(problem, site_of_unit, budget=budget)
        res.timed_out |= budget.timed_out
        if repaired is not None and _within_lex(problem, form, repaired):
            if incumbent is None or stage_key(problem, stage, repaired) < stage_key(problem, stage, incumbent):
                incumbent = repaired
        out_of_time = deadline is not None and time.perf_counter() >= deadline
        if outcome.status != "optimal" or out_of_time:
            res.bound = best_bound
            res.time_limited = True
            res.timed_out |= out_of_time
            if incumbent is None:
                return res
            res.status = "feasible"
            res.site_of_unit, res.hub_options = incumbent
            res.notes.append(
                f"contiguity: time limit reached in cut round {res.rounds}; the best connected plan is returned"
            )
            return res


def stage_key(problem: Problem, stage: int, plan: tuple[np.ndarray, Mapping[int, str]]) -> float:
    """What lexicographic stage ``stage`` minimises for ``plan`` (the weighted sum without one).

    Parameters
    ----------
    problem
        The problem.
    stage
        Index into ``problem.objective.lexicographic`` (ignored for a weighted objective).
    plan
        ``(site of each unit, option of each open site)``, as indices.

    Returns
    -------
    float
    """
    terms = term_values(problem, *plan)
    lex = problem.objective.lexicographic
    return terms[lex[stage]] if lex is not None else objective_value(problem.objective, terms)


def _within_lex(problem: Problem, form: Formulation, plan: tuple[np.ndarray, Mapping[int, str]]) -> bool:
    if not form.lex_limits:
        return True
    terms = term_values(problem, *plan)
    return all(terms[t] <= rhs for t, rhs in form.lex_limits.items())


def _add_cuts(problem: Problem, form: Formulation, cuts: Sequence[SeparatorCut]) -> None:
    """Add separator cuts, and on the first call the neighbour inequalities."""
    ul, sl = form.unit_labels, form.site_labels
    if not form.neighbour_rows:
        form.neighbour_rows = True
        for (i, j), xv in form.x_of.items():
            if form.hosts[j] is None or form.hosts[j] == i:
                continue
            members = form.site_unit_sets[j]
            _add(
                form.prob,
                [(xv, 1.0), *((form.x_of[(a, j)], -1.0) for a in form.neighbours[i] if a in members)],
                _LE,
                f"nbr({ul[i]},{sl[j]})",
            )
    for cut in cuts:
        form.n_cuts += 1
        j = cut.site
        terms = [(form.x_of[(cut.unit, j)], 1.0), *((form.x_of[(s, j)], -1.0) for s in cut.separator)]
        rhs = 0.0
        if cut.other is not None:
            terms.append((form.x_of[(cut.other, j)], 1.0))
            rhs = 1.0
        _add(form.prob, terms, _LE, f"sep{form.n_cuts}({ul[cut.unit]},{sl[j]})", rhs)


def _extract(problem: Problem, form: Formulation) -> tuple[np.ndarray, dict[int, str]]:
    values = np.array([v.varValue or 0.0 for v in form.x])
    units, sites = form.cand.units, form.cand.sites
    site_of_unit = np.full(problem.n_units, -1, dtype=np.int64)
    best = np.full(problem.n_units, -1.0)
    for q in np.argsort(values, kind="stable"):
        i = units[q]
        if values[q] > best[i]:
            best[i] = values[q]
            site_of_unit[i] = sites[q]
    hub_options: dict[int, str] = {}
    for j in sorted(set(site_of_unit.tolist())):
        chosen = [o for (jj, o), var in form.option_vars.items() if jj == j and (var.varValue or 0.0) > 0.5]
        if chosen:
            hub_options[j] = chosen[0]
        else:  # the solver left the option undecided (cannot happen with integral values)
            pops = {j: float(problem.population[site_of_unit == j].sum())}
            hub_options[j] = (choose_options(problem, pops) or {j: problem.options_of(problem.site_ids[j])[0].option})[
                j
            ]
    if not any(spec.name in problem.objective.terms for spec in option_terms()):
        # Capital is not in the objective, so the solver picks among the options that fit at
        # random; a planner expects the cheapest that fits. Objective unchanged, budget only eased.
        pops = {j: float(problem.population[site_of_unit == j].sum()) for j in hub_options}
        cheapest = choose_options(problem, pops)
        if cheapest is not None:
            hub_options = cheapest
    return site_of_unit, hub_options


def _set_start(problem: Problem, form: Formulation, site_of_unit: np.ndarray, hub_options: Mapping[int, str]) -> bool:
    """Give every variable its value in a known plan; False if the plan is not a model point."""
    chosen = {(i, int(j)) for i, j in enumerate(site_of_unit)}
    if any(pair not in form.x_of for pair in chosen):
        return False
    for pair, var in form.x_of.items():
        var.setInitialValue(1.0 if pair in chosen else 0.0)
    for j, var in form.open_vars.items():
        var.setInitialValue(1.0 if j in hub_options else 0.0, check=False)
    for (j, opt), var in form.option_vars.items():
        if var is not form.open_vars[j]:
            var.setInitialValue(1.0 if hub_options.get(j) == opt else 0.0)
    groups = cast("tuple[str, ...]", problem.groups)  # read only when there are group variables: then it is set
    for (j, g), var in form.group_vars.items():
        members = np.flatnonzero(site_of_unit == j)
        var.setInitialValue(1.0 if members.size and groups[members[0]] == g else 0.0)
    if form.max_var is not None:
        worst = float(problem.travel_min[np.arange(problem.n_units), site_of_unit].max())
        form.max_var.setInitialValue(max(worst, form.max_var.lowBound or 0.0))
    if form.flow is not None:
        nbrs = adjacency_lists(problem)
        hosts = problem.site_unit or (None,) * problem.n_sites
        arc_flow: dict[tuple[int, int, int], float] = {}
        root_of: dict[int, int] = {}
        for j in hub_options:
            served = np.flatnonzero(site_of_unit == j).tolist()
            host = hosts[j]
            root = host if host is not None else served[0]
            tree = spanning_flows(served, root, nbrs)
            if tree is None:
                return False
            root_of[j] = root
            arc_flow.update({(j, a, b): f for (a, b), f in tree.items()})
        for key, var in form.flow.flows.items():
            var.setInitialValue(arc_flow.get(key, 0.0), check=False)
        for (i, j), var in form.flow.roots.items():
            var.setInitialValue(1.0 if root_of.get(j) == i else 0.0)
    return all(v.varValue is not None for v in form.prob.variables())


def plan_indices(problem: Problem, plan: Plan) -> tuple[np.ndarray, dict[int, str]]:
    """A plan as indices: the site of each unit, and the option of each open site.

    Parameters
    ----------
    problem
        The problem whose units and sites ``plan`` names (it must assign every unit).
    plan
        The plan.

    Returns
    -------
    tuple
        ``(site_of_unit, hub_options)``: an ``int64`` array over the units, and
        ``{site index: option}``.
    """
    site_of_unit = np.array([problem.site_index(plan.assignment[u]) for u in problem.unit_ids], dtype=np.int64)
    return site_of_unit, {problem.site_index(s): o for s, o in plan.hub_options.items()}
