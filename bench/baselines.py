"""Baselines to compare the polysystem solver against, on the same :class:`Problem`.

``spopt-pmedian``
    PySAL spopt's :class:`spopt.locate.PMedian` built from the full unit x site cost matrix
    (population x minutes) and solved with CBC, ``p`` set to the number of polysystems of
    our plan. It has no population floor and no contiguity: an easier problem, whose
    plans are validated like ours and whose polysystems under the floor are counted.
``dense-cbc``
    A straightforward PuLP model of the same problem with CBC: a binary for every
    (unit, usable site) pair, ``x <= open`` for every pair, the floor (and ceiling, count
    bounds, required sites, host units), and, when the rules ask for contiguity, the
    textbook single-commodity flow per candidate hub (Shirabe 2005). No nearest-site
    pruning, no warm start, no separation of cuts.

Both return a :class:`BaselineResult` holding an ordinary :class:`~catchment.plan.Plan`
so that the independent validator judges them exactly as it judges ours. CBC is the
binary bundled with PuLP (or a ``cbc`` on the ``PATH``), run through
:class:`pulp.COIN_CMD`; its best bound is read from its log.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp

from catchment.plan import Plan
from catchment.problem import Problem

__all__ = ["BASELINES", "BaselineResult", "cbc_path", "pmedian_spopt", "dense_cbc", "run_baseline"]

logger = logging.getLogger(__name__)

#: Baseline names, in the order they are run.
BASELINES = ("spopt-pmedian", "dense-cbc")

_LE, _GE, _EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_CBC_OBJECTIVE = re.compile(r"^Objective value:\s+(\S+)", re.MULTILINE)
_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
_CBC_RESULT = re.compile(r"^Result - (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class BaselineResult:
    """What a baseline produced.

    Parameters
    ----------
    name
        One of :data:`BASELINES`.
    plan
        The plan (empty assignment when no solution was found).
    objective
        The baseline model's own objective value (its units), or ``None``.
    bound
        Best bound CBC proved on that objective, or ``None``.
    gap
        Relative gap ``(objective - bound) / |objective|`` or ``None``.
    model_s
        Seconds spent building the model (Python).
    solve_s
        Seconds from the start of model building to the plan (model + CBC + reading back).
    stats
        Model size and solver details.
    notes
        What a reader must know (time limit hit, what the model leaves out).
    """

    name: str
    plan: Plan
    objective: float | None
    bound: float | None
    gap: float | None
    model_s: float
    solve_s: float
    stats: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- CBC
def cbc_path() -> str:
    """Path of the CBC executable: ``cbc`` on the ``PATH``, else the one bundled with PuLP.

    Raises
    ------
    RuntimeError
        If neither is executable.
    """
    found = shutil.which("cbc")
    if found:
        return found
    bundled = pulp.PULP_CBC_CMD.pulp_cbc_path  # class attribute: no deprecated constructor call
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    raise RuntimeError("CBC is not available: install it (pip install pulp[cbc])")


def _cbc(time_limit: float | None, *, mip_gap: float, threads: int | None, log_path: str) -> pulp.COIN_CMD:
    return pulp.COIN_CMD(
        path=cbc_path(),
        msg=False,
        timeLimit=None if time_limit is None else max(1.0, float(time_limit)),
        gapRel=mip_gap,
        threads=threads,
        logPath=log_path,
    )


def _read_cbc_log(log_path: str) -> tuple[str, float | None, float | None]:
    """CBC's result line, objective and lower bound from its log (``None`` when absent)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return "no log", None, None
    result = _CBC_RESULT.search(text)
    objective = _CBC_OBJECTIVE.search(text)
    bound = _CBC_BOUND.search(text)

    def number(match: re.Match[str] | None) -> float | None:
        if match is None:
            return None
        try:
            value = float(match.group(1))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    return (result.group(1).strip() if result else "no result line"), number(objective), number(bound)


def _gap(objective: float | None, bound: float | None, optimal: bool, mip_gap: float) -> float | None:
    if objective is None:
        return None
    if bound is None:
        # CBC prints no "Lower bound" line when it proves optimality within the gap
        return 0.0 if optimal else None
    return max(0.0, (objective - bound) / max(abs(objective), 1e-9))


def _status(sol_status: int, has_plan: bool) -> str:
    if sol_status == pulp.LpSolutionOptimal and has_plan:
        return "optimal"
    if sol_status == pulp.LpSolutionIntegerFeasible and has_plan:
        return "feasible"
    if sol_status == pulp.LpSolutionInfeasible:
        return "infeasible"
    return "unsolved"


def _cheapest_options(problem: Problem, hubs: list[str]) -> dict[str, str]:
    return {s: problem.options_of(s)[0].option for s in hubs}


def _supported(problem: Problem, name: str) -> None:
    """The baselines minimise mean travel only; refuse anything they would get wrong."""
    problems = []
    terms = problem.objective.terms
    if problem.objective.lexicographic is not None or tuple(terms) != ("mean_travel",):
        problems.append(f"objective {terms!r} (only mean_travel is modelled)")
    if problem.rules.budget is not None:
        problems.append("a budget")
    if any(o.capacity is not None for o in problem.options):
        problems.append("hub capacities")
    if problem.rules.respect_groups:
        problems.append("boundary groups")
    if problem.rules.waivers:
        problems.append("floor waivers")
    if problems:
        raise ValueError(f"baseline {name} does not model {', '.join(problems)}")


# ---------------------------------------------------------------------------- spopt p-median
def pmedian_spopt(
    problem: Problem,
    *,
    p: int,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
) -> BaselineResult:
    """Spopt's p-median (no floor, no contiguity) solved with CBC.

    Parameters
    ----------
    problem
        The problem; its usable sites are the candidate facilities, required sites are
        predefined facilities, unreachable pairs cost ten times the largest finite time.
    p
        Number of facilities to open (our plan's polysystem count).
    time_limit
        Seconds for model building and CBC together (CBC gets what remains).
    mip_gap
        Relative gap asked of CBC.
    threads
        CBC threads (``None``: CBC's default, one).

    Returns
    -------
    BaselineResult
        ``objective`` and ``bound`` in spopt's units (population x minutes).

    Raises
    ------
    ValueError
        If ``p`` is not between 1 and the number of usable sites, or the problem has
        rules the baseline does not model.
    """
    from spopt.locate import PMedian  # benchmark-only dependency

    _supported(problem, "spopt-pmedian")
    usable = problem.usable_sites()
    if not 1 <= p <= len(usable):
        raise ValueError(f"p must be between 1 and {len(usable)} usable sites, got {p}")
    started = time.perf_counter()
    cost = np.array(problem.travel_min[:, usable], dtype=float)
    finite = np.isfinite(cost)
    if not finite.all():
        cost[~finite] = 10.0 * float(cost[finite].max(initial=1.0))
    required = np.isin(usable, problem.required_sites())
    with warnings.catch_warnings():
        # spopt builds variables with PuLP's deprecated LpVariable(...) constructor
        warnings.simplefilter("ignore", DeprecationWarning)
        model = PMedian.from_cost_matrix(
            cost,
            problem.population.astype(float),
            p_facilities=int(p),
            predefined_facilities_arr=required if required.any() else None,
            name="spopt_pmedian",
        )
    model_s = time.perf_counter() - started
    remaining = None if time_limit is None else time_limit - model_s
    with tempfile.TemporaryDirectory(prefix="bench-pmedian-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        solver = _cbc(remaining, mip_gap=mip_gap, threads=threads, log_path=log_path)
        notes = ["spopt PMedian: no population floor, no contiguity, p fixed to our polysystem count"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                model.solve(solver)
        except RuntimeError as exc:  # spopt's check_status: CBC stopped without a solution
            notes.append(str(exc))
        result, objective, bound = _read_cbc_log(log_path)
    notes.append(f"CBC: {result}")
    n = problem.n_units
    assignment: dict[str, str] = {}
    cli2fac = getattr(model, "cli2fac", None)
    if cli2fac is not None:
        for i, facs in enumerate(cli2fac[:n]):
            if len(facs):
                assignment[problem.unit_ids[i]] = problem.site_ids[usable[int(facs[0])]]
    hubs = sorted(set(assignment.values()))
    status = _status(model.problem.sol_status, bool(assignment) and len(assignment) == n)
    solve_s = time.perf_counter() - started
    plan = Plan(
        assignment=assignment if status in ("optimal", "feasible") else {},
        hub_options=_cheapest_options(problem, hubs) if status in ("optimal", "feasible") else {},
        status=status,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound, status == "optimal", mip_gap),
        solver="spopt-pmedian+cbc",
        runtime_s=solve_s,
        mip_gap=mip_gap,
        notes=tuple(notes),
    )
    stats = {
        "n_variables": len(model.problem.variables()),
        "n_constraints": len(model.problem.constraints),
        "p": int(p),
        "cbc_result": result,
    }
    return BaselineResult("spopt-pmedian", plan, objective, bound, plan.gap, model_s, solve_s, stats, tuple(notes))


# ---------------------------------------------------------------------------- dense model
def _label(value: str) -> str:
    return _UNSAFE.sub("_", value)


def dense_cbc(
    problem: Problem,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
) -> BaselineResult:
    """The same problem as a dense PuLP model (every unit-site pair), solved with CBC.

    Parameters
    ----------
    problem
        The problem (objective ``mean_travel``; floor, ceiling, polysystem count bounds,
        required and excluded sites, ``max_travel_min``, host units and contiguity are
        modelled).
    time_limit
        Seconds for model building and CBC together (CBC gets what remains).
    mip_gap
        Relative gap asked of CBC.
    threads
        CBC threads (``None``: CBC's default, one).

    Returns
    -------
    BaselineResult
        ``objective`` and ``bound`` in minutes (population-weighted mean travel).

    Raises
    ------
    ValueError
        If the problem has rules the baseline does not model, or asks for contiguity
        without the host unit of every usable site.
    """
    _supported(problem, "dense-cbc")
    rules = problem.rules
    started = time.perf_counter()
    n = problem.n_units
    usable = problem.usable_sites().tolist()
    required = set(problem.required_sites().tolist())
    hosts = problem.site_unit
    if rules.contiguity and (hosts is None or any(hosts[j] is None for j in usable)):
        raise ValueError("baseline dense-cbc: contiguity needs the host unit of every usable site")
    ul = [_label(u) for u in problem.unit_ids]
    sl = [_label(s) for s in problem.site_ids]
    travel = problem.travel_min
    weight = problem.population / problem.total_population

    prob = pulp.LpProblem("dense_polysystems", pulp.LpMinimize)
    y = {
        j: prob.add_variable(f"open_{sl[j]}", lowBound=1 if j in required else 0, upBound=1, cat=pulp.LpInteger)
        for j in usable
    }
    x: dict[tuple[int, int], pulp.LpVariable] = {}
    limit = rules.max_travel_min
    for i in range(n):
        for j in usable:
            t = travel[i, j]
            if math.isfinite(t) and (limit is None or t <= limit):
                x[i, j] = prob.add_variable(f"x_{ul[i]}_{sl[j]}", lowBound=0, upBound=1, cat=pulp.LpInteger)
    prob.setObjective(pulp.LpAffineExpression([(v, float(weight[i] * travel[i, j])) for (i, j), v in x.items()]))

    def add(terms: list[tuple[pulp.LpVariable, float]], sense: int, name: str, rhs: float = 0.0) -> None:
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs))

    by_unit: dict[int, list[int]] = {i: [] for i in range(n)}
    by_site: dict[int, list[int]] = {j: [] for j in usable}
    for i, j in x:
        by_unit[i].append(j)
        by_site[j].append(i)
    for i in range(n):
        add([(x[i, j], 1.0) for j in by_unit[i]], _EQ, f"assign_{ul[i]}", 1.0)
    for (i, j), v in x.items():
        add([(v, 1.0), (y[j], -1.0)], _LE, f"link_{ul[i]}_{sl[j]}")
    pop = problem.population
    for j in usable:
        served = [(x[i, j], float(pop[i])) for i in by_site[j]]
        add(served + [(y[j], -float(rules.floor))], _GE, f"floor_{sl[j]}")
        if rules.ceiling is not None:
            add(served + [(y[j], -float(rules.ceiling))], _LE, f"ceiling_{sl[j]}")
    if rules.min_polysystems is not None:
        add([(y[j], 1.0) for j in usable], _GE, "min_polysystems", float(rules.min_polysystems))
    if rules.max_polysystems is not None:
        add([(y[j], 1.0) for j in usable], _LE, "max_polysystems", float(rules.max_polysystems))
    if hosts is not None:
        for j in usable:
            h = hosts[j]
            if h is not None:
                if (h, j) in x:
                    add([(x[h, j], 1.0), (y[j], -1.0)], _GE, f"host_{sl[j]}")
                else:
                    add([(y[j], 1.0)], _EQ, f"host_unreachable_{sl[j]}", 0.0)
    n_flow = 0
    if rules.contiguity:
        n_flow = _add_flow_contiguity(prob, problem, x, usable, ul, sl, add)
    model_s = time.perf_counter() - started
    n_variables, n_constraints = len(prob.variables()), len(prob.constraints)
    logger.info("dense-cbc: %d variables, %d constraints built in %.1f s", n_variables, n_constraints, model_s)

    remaining = None if time_limit is None else time_limit - model_s
    with tempfile.TemporaryDirectory(prefix="bench-dense-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        prob.solve(_cbc(remaining, mip_gap=mip_gap, threads=threads, log_path=log_path))
        result, objective, bound = _read_cbc_log(log_path)
    assignment: dict[str, str] = {}
    for (i, j), v in x.items():
        if (v.value() or 0.0) > 0.5:
            assignment[problem.unit_ids[i]] = problem.site_ids[j]
    hubs = sorted({problem.site_ids[j] for j in usable if (y[j].value() or 0.0) > 0.5})
    status = _status(prob.sol_status, len(assignment) == n)
    solve_s = time.perf_counter() - started
    notes = ["dense PuLP model: every unit-site pair, no pruning, no warm start", f"CBC: {result}"]
    if rules.contiguity:
        notes.append("contiguity: single-commodity flow per candidate hub")
    has_plan = status in ("optimal", "feasible")
    plan = Plan(
        assignment=assignment if has_plan else {},
        hub_options=_cheapest_options(problem, hubs) if has_plan else {},
        status=status,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound, status == "optimal", mip_gap),
        solver="dense+cbc",
        runtime_s=solve_s,
        mip_gap=mip_gap,
        notes=tuple(notes),
    )
    stats = {
        "n_variables": n_variables,
        "n_constraints": n_constraints,
        "n_pairs": len(x),
        "n_flow_variables": n_flow,
        "cbc_result": result,
    }
    return BaselineResult("dense-cbc", plan, objective, bound, plan.gap, model_s, solve_s, stats, tuple(notes))


def _add_flow_contiguity(
    prob: pulp.LpProblem,
    problem: Problem,
    x: Mapping[tuple[int, int], pulp.LpVariable],
    usable: list[int],
    ul: list[str],
    sl: list[str],
    add: Any,
) -> int:
    """Shirabe's flow: the hub's host unit sends one unit of flow to every unit it serves.

    For each usable site ``j`` with host unit ``h``, a flow ``f[j, u, v] >= 0`` on every
    directed adjacency arc; each unit ``i != h`` of the polysystem absorbs one unit
    (``inflow - outflow = x[i, j]``) and flow only moves between units of the polysystem
    (``f[j, u, v] <= (n - 1) x[u, j]`` and ``<= (n - 1) x[v, j]``). Returns the number of
    flow variables added.
    """
    n = problem.n_units
    hosts = problem.site_unit
    assert hosts is not None and problem.adjacency is not None
    arcs = [(a, b) for a, b in problem.adjacency] + [(b, a) for a, b in problem.adjacency]
    big = float(n - 1)
    count = 0
    for j in usable:
        h = hosts[j]
        inflow: dict[int, list[tuple[pulp.LpVariable, float]]] = {}
        outflow: dict[int, list[tuple[pulp.LpVariable, float]]] = {}
        for u, v in arcs:
            if v == h or (u, j) not in x or (v, j) not in x:
                continue
            f = prob.add_variable(f"f_{sl[j]}_{ul[u]}_{ul[v]}", lowBound=0)
            count += 1
            inflow.setdefault(v, []).append((f, 1.0))
            outflow.setdefault(u, []).append((f, -1.0))
            add([(f, 1.0), (x[u, j], -big)], _LE, f"flow_out_{sl[j]}_{ul[u]}_{ul[v]}")
            add([(f, 1.0), (x[v, j], -big)], _LE, f"flow_in_{sl[j]}_{ul[u]}_{ul[v]}")
        for i in range(n):
            if i == h or (i, j) not in x:
                continue
            terms = inflow.get(i, []) + outflow.get(i, []) + [(x[i, j], -1.0)]
            add(terms, _EQ, f"balance_{sl[j]}_{ul[i]}")
    return count


# ---------------------------------------------------------------------------- dispatch
def run_baseline(
    name: str,
    problem: Problem,
    *,
    p: int | None = None,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
) -> BaselineResult:
    """Run the baseline ``name`` (one of :data:`BASELINES`).

    Parameters
    ----------
    name
        ``"spopt-pmedian"`` or ``"dense-cbc"``.
    problem
        The problem.
    p
        Facilities for the p-median (required there).
    time_limit, mip_gap, threads
        See :func:`pmedian_spopt` and :func:`dense_cbc`.

    Returns
    -------
    BaselineResult

    Raises
    ------
    ValueError
        Unknown name, or ``p`` missing for the p-median.
    """
    if name == "spopt-pmedian":
        if p is None:
            raise ValueError("spopt-pmedian needs p (the number of polysystems)")
        return pmedian_spopt(problem, p=p, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    if name == "dense-cbc":
        return dense_cbc(problem, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
