"""Why no plan can exist: cheap proofs of infeasibility, with names and numbers.

:func:`diagnose` runs checks that each *prove* infeasibility when they fire (no solver
involved): too few people for the floor, too many for the ceiling, units that cannot reach
any usable site, sites that cannot gather a floor's worth of people within the travel limit,
boundary groups and connected areas below the floor, budgets below the cheapest way to open
the hubs needed, capacities below the population. When a check fires it also searches, one
rule at a time, for the value at which every cheap check passes (a necessary condition for
a plan, not a guarantee).

:func:`diagnose_after_solve` is for a problem a solver has proved infeasible: it reports the
cheap proofs if any fires, else says that the rules are infeasible together and lists, for
every rule in force, how close it comes to impossible on its own, tightest first.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from catchment.problem import Problem, Rules
from catchment.validate import minutes, people, site_label, unit_label

__all__ = [
    "Finding",
    "Suggestion",
    "Diagnosis",
    "diagnose",
    "diagnose_after_solve",
    "SEVERITIES",
    "FINDING_KINDS",
    "ESTIMATE_WORDS",
]

logger = logging.getLogger(__name__)

#: ``infeasible``: the finding proves that no plan exists; ``info``: worth knowing, not a proof.
SEVERITIES = ("infeasible", "info")
#: Kinds of findings, in report order (all prove infeasibility except ``site_too_small``).
FINDING_KINDS = (
    "combination",
    "no_usable_site",
    "total_below_floor",
    "total_above_ceiling",
    "polysystem_count",
    "too_many_required",
    "too_few_sites",
    "budget_required",
    "budget_min_hubs",
    "capacity_total",
    "group_below_floor",
    "group_cannot_split",
    "component_below_floor",
    "component_cannot_split",
    "required_site_too_small",
    "unit_above_ceiling",
    "unit_above_capacity",
    "unit_unreachable",
    "unit_without_hub",
    "site_too_small",
)
_TOL = 1e-9
#: Findings of one kind shown in full by ``str(Diagnosis)``; the rest are counted.
_SHOWN_PER_KIND = 12


@dataclass(frozen=True)
class Finding:
    """One result of a cheap check.

    Parameters
    ----------
    kind
        What was checked, e.g. ``total_below_floor``, ``unit_unreachable``,
        ``group_below_floor``, ``site_too_small``.
    message
        The finding in words, with names and numbers.
    ids
        The unit, site or group ids concerned.
    numbers
        The figures behind the message (``population``, ``floor``, ...).
    severity
        ``"infeasible"`` (a proof that no plan exists) or ``"info"``.
    """

    kind: str
    message: str
    ids: tuple[str, ...] = ()
    numbers: Mapping[str, float] = field(default_factory=dict)
    severity: str = "infeasible"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "numbers", dict(self.numbers))

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Suggestion:
    """A rule to relax, and by how much when that is known.

    Parameters
    ----------
    rule
        A field of :class:`~catchment.problem.Rules` (``floor``, ``max_travel_min``, ...).
    current
        The rule's value now.
    value
        The value at which every cheap check passes with only this rule changed (``None``
        when the rule would be dropped, or for a hint without a computed value).
    message
        The suggestion in words.
    """

    rule: str
    current: Any
    value: Any
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Diagnosis:
    """Findings of the cheap checks and what to relax.

    Parameters
    ----------
    findings
        Every finding, proofs first.
    feasible_possible
        False when a finding proves infeasibility (or a solver proved it); True means only
        that no cheap check rules a plan out.
    suggestions
        Rules to relax, most useful first.
    solver_proved_infeasible
        True for a :func:`diagnose_after_solve` diagnosis.
    """

    findings: tuple[Finding, ...]
    feasible_possible: bool
    suggestions: tuple[Suggestion, ...] = ()
    solver_proved_infeasible: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "suggestions", tuple(self.suggestions))

    @property
    def proofs(self) -> tuple[Finding, ...]:
        """Findings that prove infeasibility."""
        return tuple(f for f in self.findings if f.severity == "infeasible")

    @property
    def notes(self) -> tuple[Finding, ...]:
        """Findings that are information only."""
        return tuple(f for f in self.findings if f.severity == "info")

    def kinds(self) -> tuple[str, ...]:
        """Distinct finding kinds, in report order."""
        return tuple(dict.fromkeys(f.kind for f in self.findings))

    def __str__(self) -> str:
        proofs, notes = self.proofs, self.notes
        if self.solver_proved_infeasible:
            head = "No plan satisfies the rules (the solver proved it)."
        elif proofs:
            head = "No plan can satisfy the rules: the cheap checks prove it."
        else:
            head = "No cheap check rules out a plan."
        lines = [head]
        for title, group in (("Why:", proofs), ("Also worth knowing:", notes)):
            if group:
                lines.append(title)
                lines.extend(_listing(group))
        if self.suggestions and any(f.kind == "combination" for f in proofs):
            lines.append("Rules in force, tightest first (hints on what to relax, not proofs):")
        elif self.suggestions:
            lines.append("What to relax (each change alone lets every cheap check pass; necessary, not sufficient):")
        lines.extend(f"  - {s.message}" for s in self.suggestions)
        return "\n".join(lines)


def _listing(findings: tuple[Finding, ...]) -> list[str]:
    lines: list[str] = []
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(f.kind, []).append(f)
    for kind, group in by_kind.items():
        lines.extend(f"  - {f.message}" for f in group[:_SHOWN_PER_KIND])
        if len(group) > _SHOWN_PER_KIND:
            lines.append(f"  - ... and {len(group) - _SHOWN_PER_KIND} more findings of kind {kind!r}")
    return lines


# ---------------------------------------------------------------------------- public API
def diagnose(problem: Problem, *, suggest: bool = True) -> Diagnosis:
    """Run the cheap checks that prove a problem infeasible.

    Parameters
    ----------
    problem
        The problem.
    suggest
        When a check proves infeasibility, search each numeric rule (floor, ceiling, travel
        limit, budget, polysystem counts) for the value at which every cheap check passes,
        and try dropping contiguity and boundary groups. Costs a few dozen more checks.

    Returns
    -------
    Diagnosis
        ``feasible_possible`` is False when some finding proves infeasibility.
    """
    context = _Context(problem)
    findings = _check(context, problem.rules)
    infeasible = any(f.severity == "infeasible" for f in findings)
    suggestions = _relaxations(context) if infeasible and suggest else []
    if infeasible:
        logger.info("cheap checks prove the problem infeasible (%d finding(s))", len(findings))
    return Diagnosis(tuple(_ordered(findings)), not infeasible, tuple(suggestions))


def diagnose_after_solve(problem: Problem) -> Diagnosis:
    """Explain a problem that a solver has proved infeasible (no solve here).

    Parameters
    ----------
    problem
        The problem.

    Returns
    -------
    Diagnosis
        With ``feasible_possible=False`` and ``solver_proved_infeasible=True``: the cheap
        proofs and relaxations of :func:`diagnose` when any fires; otherwise a
        ``combination`` finding (the rules are infeasible together, no single cheap check
        shows it) and, for every rule in force, a hint saying how tight it is, tightest first.
    """
    context = _Context(problem)
    findings = _check(context, problem.rules)
    if any(f.severity == "infeasible" for f in findings):
        return Diagnosis(tuple(_ordered(findings)), False, tuple(_relaxations(context)), True)
    in_force = [name for name, on in _rules_in_force(problem.rules).items() if on] or ["none"]
    combination = Finding(
        "combination",
        "the solver proved that no plan satisfies all the rules together, yet no rule is "
        f"impossible on its own by the cheap checks; rules in force: {', '.join(in_force)}",
        numbers={"n_rules": float(len(in_force))},
    )
    return Diagnosis(tuple(_ordered([combination, *findings])), False, tuple(_tightness(context)), True)


# ---------------------------------------------------------------------------- context
class _Context:
    """Figures of a problem that do not depend on the rules, computed once."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.pop = problem.population
        self.total = problem.total_population
        self.usable = problem.usable_sites()
        self.required = problem.required_sites()
        self.is_required = np.isin(self.usable, self.required)
        self.travel = problem.travel_min[:, self.usable]
        by_site: dict[str, list] = {}
        for opt in problem.options:
            by_site.setdefault(opt.site_id, []).append(opt)
        usable_ids = [problem.site_ids[j] for j in self.usable]
        self.cheapest = np.array([min(o.capital_cost for o in by_site[s]) for s in usable_ids], dtype=float)
        self.dearest = np.array([max(o.capital_cost for o in by_site[s]) for s in usable_ids], dtype=float)
        self.capacity = np.array(
            [
                math.inf if any(o.capacity is None for o in by_site[s]) else max(o.capacity for o in by_site[s])
                for s in usable_ids
            ],
            dtype=float,
        )
        if problem.groups is not None:
            names, codes = np.unique(np.asarray(problem.groups, dtype=str), return_inverse=True)
            self.group_names = [str(g) for g in names]
            self.group_code = codes.astype(np.int64)
        self.edges = np.asarray(problem.adjacency or (), dtype=np.int64).reshape(-1, 2)
        self._components: dict[bool, np.ndarray] = {}
        self.hosts = problem.site_unit

    def components(self, within_groups: bool) -> np.ndarray:
        """Connected component of each unit (of the adjacency; within groups if asked)."""
        if within_groups not in self._components:
            e = self.edges
            if within_groups and self.problem.groups is not None:
                e = e[self.group_code[e[:, 0]] == self.group_code[e[:, 1]]]
            n = self.problem.n_units
            graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
            self._components[within_groups] = connected_components(graph, directed=False)[1]
        return self._components[within_groups]

    def partition(self, rules: Rules) -> np.ndarray:
        """Label per unit: units with different labels can never share a polysystem."""
        if rules.contiguity and self.problem.adjacency is not None:
            return self.components(rules.respect_groups)
        if rules.respect_groups and self.problem.groups is not None:
            return self.group_code
        return np.zeros(self.problem.n_units, dtype=np.int64)

    def reach(self, limit: float | None) -> np.ndarray:
        """Boolean (n_units, n_usable): the unit can reach the site (within the limit)."""
        if limit is None:
            return np.isfinite(self.travel)
        return self.travel <= limit + _TOL

    def waived(self, rules: Rules) -> np.ndarray:
        return rules.waived_mask(self.problem.unit_ids)


def _rules_in_force(rules: Rules) -> dict[str, bool]:
    return {
        "floor": rules.floor > 0,
        "ceiling": rules.ceiling is not None,
        "min_polysystems": rules.min_polysystems is not None and rules.min_polysystems > 1,
        "max_polysystems": rules.max_polysystems is not None,
        "max_travel_min": rules.max_travel_min is not None,
        "budget": rules.budget is not None,
        "contiguity": rules.contiguity,
        "respect_groups": rules.respect_groups,
    }


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Proofs first; whole-problem findings before groups, areas, sites and units."""
    rank = {kind: k for k, kind in enumerate(FINDING_KINDS)}
    return sorted(findings, key=lambda f: (f.severity != "infeasible", rank[f.kind]))  # stable


# ---------------------------------------------------------------------------- the checks
def _check(ctx: _Context, rules: Rules) -> list[Finding]:
    """Every cheap check of ``ctx.problem`` under ``rules``."""
    problem = ctx.problem
    out: list[Finding] = []
    waived = ctx.waived(rules)
    reach = ctx.reach(rules.max_travel_min)
    out += _unreachable_units(ctx, rules, reach)
    # when everybody together is below the floor, the total says it all (see _counts); the
    # group, area, site and unit findings below would only repeat it
    hopeless = not waived.any() and rules.below_floor(ctx.total)
    explained = np.zeros(problem.n_units, dtype=bool)  # units of groups/areas already reported
    if not hopeless and rules.respect_groups and problem.groups is not None:
        out += _groups(ctx, rules, waived, explained)
    if not hopeless and rules.contiguity and problem.adjacency is not None:
        out += _components(ctx, rules, waived, explained)
    key = ctx.partition(rules)
    viable_k, best = _site_viability(ctx, rules, reach, key, waived)
    viable_site = cast(np.ndarray, viable_k.any(axis=0))  # viable_k is 2-D: an array, not a scalar
    if not hopeless:
        out += _small_sites(ctx, rules, viable_site, best)
        out += _units_without_hub(ctx, rules, reach, key, viable_k, best, explained)
    out += _unit_sizes(ctx, rules, reach)
    count_findings, k_lo, k_max = _counts(ctx, rules, waived, int(viable_site.sum()))
    out += count_findings
    if rules.budget is not None:
        out += _budget(ctx, rules.budget, viable_site, k_lo)
    out += _capacity(ctx, viable_site, k_max)
    return out


#: How a finding qualifies reach when the travel times are a crow-fly estimate (not road times).
ESTIMATE_WORDS = "on the estimated (crow-fly) travel times"


def _limit_words(rules: Rules, problem: Problem) -> str:
    """``within 20 min`` or ``by road``; with estimated times, says they are estimates."""
    estimate = problem.travel_source == "estimate"
    if rules.max_travel_min is not None:
        limit = f"within {rules.max_travel_min:g} min"
        return f"{limit} {ESTIMATE_WORDS}" if estimate else limit
    return f"within reach {ESTIMATE_WORDS}" if estimate else "by road"


def _unreachable_units(ctx: _Context, rules: Rules, reach: np.ndarray) -> list[Finding]:
    problem = ctx.problem
    if len(ctx.usable) == 0:
        return [Finding("no_usable_site", "every site is excluded: there is nowhere to open a hub")]
    out = []
    nearest = np.argmin(ctx.travel, axis=1)
    for i in np.flatnonzero(~reach.any(axis=1)):
        j = int(nearest[i])
        t = float(ctx.travel[i, j])
        site = problem.site_ids[ctx.usable[j]]
        if math.isfinite(t):
            detail = f"the nearest is {site_label(problem, ctx.usable[j])} at {minutes(t)}"
        else:
            detail = (
                f"no usable site can be reached at all {ESTIMATE_WORDS}"
                if problem.travel_source == "estimate"
                else "no usable site can be reached by road at all"
            )
        out.append(
            Finding(
                "unit_unreachable",
                f"unit {unit_label(problem, i)} ({people(ctx.pop[i])} people) has no usable site "
                f"{_limit_words(rules, problem)}; {detail}",
                (problem.unit_ids[i], site),
                {"population": float(ctx.pop[i]), "nearest_min": t},
            )
        )
    return out


def _site_viability(
    ctx: _Context, rules: Rules, reach: np.ndarray, key: np.ndarray, waived: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which (partition, site) pairs could hold a polysystem of at least the floor.

    Returns ``viable`` (n_partitions, n_usable) and ``best`` (n_usable,): the largest
    population a site can gather from one partition (within the travel limit).
    """
    n = ctx.problem.n_units
    n_parts = int(key.max()) + 1 if n else 0
    rows = np.arange(n)
    as_float = reach.astype(float)
    gathered = csr_matrix((ctx.pop, (rows, key)), shape=(n, n_parts)).T @ as_float
    has_waiver = csr_matrix((waived.astype(float), (rows, key)), shape=(n, n_parts)).T @ as_float
    allowed = np.ones_like(gathered, dtype=bool)
    if ctx.hosts is not None:  # an open hub's own area belongs to its polysystem
        for col, j in enumerate(ctx.usable):
            host = ctx.hosts[j]
            if host is not None:
                allowed[:, col] = False
                allowed[key[host], col] = bool(reach[host, col])
    enough = ~rules.below_floor(gathered) | (has_waiver > 0)
    viable = allowed & enough
    best = np.where(allowed, gathered, 0.0).max(axis=0) if n_parts else np.zeros(len(ctx.usable))
    return viable, best


def _constraint_words(rules: Rules, problem: Problem) -> str:
    words = [_limit_words(rules, problem)]
    if rules.respect_groups and problem.groups is not None:
        words.append("inside one boundary group")
    if rules.contiguity and problem.adjacency is not None:
        words.append("in one connected area")
    if problem.site_unit is not None:
        words.append("together with the area holding the site")
    return ", ".join(words)


def _small_sites(ctx: _Context, rules: Rules, viable_site: np.ndarray, best: np.ndarray) -> list[Finding]:
    problem = ctx.problem
    out = []
    for col in np.flatnonzero(~viable_site):
        j = ctx.usable[col]
        required = bool(ctx.is_required[col])
        out.append(
            Finding(
                "required_site_too_small" if required else "site_too_small",
                f"{'required ' if required else ''}site {site_label(problem, j)} can gather at most "
                f"{people(best[col])} people {_constraint_words(rules, problem)}, below the floor of "
                f"{people(rules.floor)}: it cannot be a hub",
                (problem.site_ids[j],),
                {"population": float(best[col]), "floor": float(rules.floor)},
                "infeasible" if required else "info",
            )
        )
    return out


def _units_without_hub(
    ctx: _Context,
    rules: Rules,
    reach: np.ndarray,
    key: np.ndarray,
    viable_k: np.ndarray,
    best: np.ndarray,
    explained: np.ndarray,
) -> list[Finding]:
    problem = ctx.problem
    can_reach = reach.any(axis=1)
    usable_hub = (reach & viable_k[key, :]).any(axis=1)
    out = []
    for i in np.flatnonzero(can_reach & ~usable_hub & ~explained):
        cols = np.flatnonzero(reach[i])
        cols = cols[np.argsort(ctx.travel[i, cols], kind="stable")]
        listed = ", ".join(
            f"{site_label(problem, ctx.usable[c])} ({minutes(ctx.travel[i, c])}, at most {people(best[c])} people)"
            for c in cols[:3]
        ) + (f" and {len(cols) - 3} more" if len(cols) > 3 else "")
        out.append(
            Finding(
                "unit_without_hub",
                f"unit {unit_label(problem, i)} can reach only sites that cannot gather the floor of "
                f"{people(rules.floor)} people {_constraint_words(rules, problem)}: {listed}",
                (problem.unit_ids[i], *(problem.site_ids[ctx.usable[c]] for c in cols)),
                {"population": float(ctx.pop[i]), "floor": float(rules.floor), "n_sites": float(len(cols))},
            )
        )
    return out


def _cannot_split(pop: float, floor: float, ceiling: float | None, n_waived: int) -> bool:
    """True when no number k of polysystems has (k - waived) x floor <= pop <= k x ceiling."""
    if ceiling is None or pop <= ceiling * (1 + _TOL):
        return False
    k = math.ceil(pop / ceiling * (1 - _TOL))
    return (k - n_waived) * floor > pop * (1 + _TOL)


def _groups(ctx: _Context, rules: Rules, waived: np.ndarray, explained: np.ndarray) -> list[Finding]:
    codes, names = ctx.group_code, ctx.group_names
    pops = np.bincount(codes, weights=ctx.pop, minlength=len(names))
    sizes = np.bincount(codes, minlength=len(names))
    n_waived = np.bincount(codes, weights=waived.astype(float), minlength=len(names)).astype(int)
    out = []
    for g, name in enumerate(names):
        pop = float(pops[g])
        numbers = {"population": pop, "floor": float(rules.floor), "n_units": float(sizes[g])}
        if rules.below_floor(pop) and n_waived[g] == 0:
            explained[codes == g] = True
            out.append(
                Finding(
                    "group_below_floor",
                    f"boundary group {name!r} has {people(pop)} people in {sizes[g]} unit(s), below the "
                    f"floor of {people(rules.floor)}: its units cannot form a polysystem without crossing "
                    "the boundary",
                    (name,),
                    numbers,
                )
            )
        elif rules.ceiling is not None and _cannot_split(pop, rules.floor, rules.ceiling, int(n_waived[g])):
            explained[codes == g] = True
            out.append(
                Finding(
                    "group_cannot_split",
                    f"boundary group {name!r} has {people(pop)} people: no number of polysystems of "
                    f"{people(rules.floor)} to {people(rules.ceiling)} people adds up to it",
                    (name,),
                    {**numbers, "ceiling": float(rules.ceiling)},
                )
            )
    return out


def _components(ctx: _Context, rules: Rules, waived: np.ndarray, explained: np.ndarray) -> list[Finding]:
    problem = ctx.problem
    within = rules.respect_groups and problem.groups is not None
    comp = ctx.components(within)
    n_comp = int(comp.max()) + 1
    pops = np.bincount(comp, weights=ctx.pop, minlength=n_comp)
    n_waived = np.bincount(comp, weights=waived.astype(float), minlength=n_comp).astype(int)
    order = np.argsort(comp, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(comp, minlength=n_comp))[:-1])
    where = " within one boundary group" if within else ""
    out = []
    for c in range(n_comp):
        units = members[c]
        if explained[units].all():
            continue  # its boundary group is already reported
        pop = float(pops[c])
        names = ", ".join(unit_label(problem, i) for i in units[:5]) + (
            f" and {len(units) - 5} more" if len(units) > 5 else ""
        )
        ids = tuple(problem.unit_ids[i] for i in units)
        numbers = {"population": pop, "floor": float(rules.floor), "n_units": float(len(units))}
        if rules.below_floor(pop) and n_waived[c] == 0:
            explained[units] = True
            out.append(
                Finding(
                    "component_below_floor",
                    f"{len(units)} unit(s) connected only to each other{where} ({names}) have {people(pop)} "
                    f"people, below the floor of {people(rules.floor)}: with contiguity they cannot form "
                    "or join a polysystem",
                    ids,
                    numbers,
                )
            )
        elif rules.ceiling is not None and _cannot_split(pop, rules.floor, rules.ceiling, int(n_waived[c])):
            explained[units] = True
            out.append(
                Finding(
                    "component_cannot_split",
                    f"{len(units)} unit(s) connected only to each other{where} ({names}) have {people(pop)} "
                    f"people: no number of polysystems of {people(rules.floor)} to {people(rules.ceiling)} "
                    "people adds up to it",
                    ids,
                    {**numbers, "ceiling": float(rules.ceiling)},
                )
            )
    return out


def _unit_sizes(ctx: _Context, rules: Rules, reach: np.ndarray) -> list[Finding]:
    problem = ctx.problem
    out = []
    if rules.ceiling is not None:
        for i in np.flatnonzero(ctx.pop > rules.ceiling * (1 + _TOL)):
            out.append(
                Finding(
                    "unit_above_ceiling",
                    f"unit {unit_label(problem, i)} alone has {people(ctx.pop[i])} people, above the ceiling "
                    f"of {people(rules.ceiling)}",
                    (problem.unit_ids[i],),
                    {"population": float(ctx.pop[i]), "ceiling": float(rules.ceiling)},
                )
            )
    largest = np.where(reach, ctx.capacity[None, :], -np.inf).max(axis=1, initial=-np.inf)
    for i in np.flatnonzero(reach.any(axis=1) & (largest < ctx.pop * (1 - _TOL))):
        out.append(
            Finding(
                "unit_above_capacity",
                f"unit {unit_label(problem, i)} has {people(ctx.pop[i])} people, more than the capacity of "
                f"any hub option it can reach {_limit_words(rules, problem)} (largest {people(largest[i])})",
                (problem.unit_ids[i],),
                {"population": float(ctx.pop[i]), "capacity": float(largest[i])},
            )
        )
    return out


def _counts(ctx: _Context, rules: Rules, waived: np.ndarray, n_viable: int) -> tuple[list[Finding], int, float]:
    """Checks on the number of polysystems; also returns the least and most possible."""
    problem = ctx.problem
    total, floor, ceiling = ctx.total, rules.floor, rules.ceiling
    n_required, n_usable, n_waived = len(ctx.required), len(ctx.usable), int(waived.sum())
    out = []
    k_min = max(rules.min_polysystems or 1, n_required)
    if rules.min_polysystems is not None and rules.min_polysystems >= n_required:
        why = f"min_polysystems = {rules.min_polysystems}"
    elif n_required:
        why = f"{n_required} required site(s), each opening a hub"
    else:
        why = "at least one polysystem"
    k_max = float(min(rules.max_polysystems or math.inf, n_viable))
    sites_words = f"{n_viable} usable site(s)" if n_viable == n_usable else f"{n_viable} of {n_usable} usable sites"
    if rules.max_polysystems is not None and n_required > rules.max_polysystems:
        out.append(
            Finding(
                "too_many_required",
                f"{n_required} sites are required, more than max_polysystems = {rules.max_polysystems}",
                tuple(problem.site_ids[j] for j in ctx.required),
                {"n_required": float(n_required), "max_polysystems": float(rules.max_polysystems)},
            )
        )
    if rules.min_polysystems is not None and n_viable < rules.min_polysystems:
        out.append(
            Finding(
                "too_few_sites",
                f"only {sites_words} can be hubs, fewer than min_polysystems = {rules.min_polysystems}",
                (),
                {"n_sites": float(n_viable), "min_polysystems": float(rules.min_polysystems)},
            )
        )
    needed = (k_min - n_waived) * floor
    if needed > total * (1 + _TOL):
        waiver_words = f" (less {n_waived} waived polysystem(s))" if n_waived else ""
        out.append(
            Finding(
                "total_below_floor",
                f"the total population, {people(total)}, is below floor x polysystems{waiver_words} = "
                f"{people(floor)} x {k_min - n_waived} = {people(needed)} ({why})",
                (),
                {"population": total, "floor": float(floor), "min_polysystems": float(k_min), "needed": needed},
            )
        )
    if ceiling is not None and 0 < k_max < math.inf and k_max * ceiling < total * (1 - _TOL):
        cap_words = (
            f"max_polysystems = {rules.max_polysystems}"
            if rules.max_polysystems is not None and rules.max_polysystems <= n_viable
            else f"only {sites_words} can be hubs"
        )
        out.append(
            Finding(
                "total_above_ceiling",
                f"polysystems x ceiling = {int(k_max)} x {people(ceiling)} = {people(k_max * ceiling)} is "
                f"below the total population, {people(total)} ({cap_words})",
                (),
                {"population": total, "ceiling": float(ceiling), "max_polysystems": k_max},
            )
        )
    by_ceiling = math.ceil(total / ceiling * (1 - _TOL)) if ceiling else 1
    by_floor = math.floor(total / floor * (1 + _TOL)) + n_waived if floor > 0 else math.inf
    k_lo = max(k_min, by_ceiling)
    k_hi = min(k_max, by_floor)
    if not out and n_viable and k_lo > k_hi:
        if ceiling is not None and by_ceiling >= k_min:
            need = f"under the ceiling of {people(ceiling)} they need at least {k_lo} polysystems"
        else:
            need = f"{why} means at least {k_lo} polysystems"
        if by_floor <= k_max:
            allow = f"the floor of {people(floor)} allows at most {int(k_hi)}"
        elif rules.max_polysystems is not None and rules.max_polysystems <= n_viable:
            allow = f"max_polysystems = {rules.max_polysystems}"
        else:
            allow = f"only {sites_words} can be hubs"
        out.append(
            Finding(
                "polysystem_count",
                f"no number of polysystems fits {people(total)} people: {need}, but {allow}",
                (),
                {"at_least": float(k_lo), "at_most": float(k_hi), "population": total},
            )
        )
    return out, k_lo, k_max


def _budget(ctx: _Context, budget: float, viable_site: np.ndarray, k_lo: int) -> list[Finding]:
    problem = ctx.problem
    budget = float(budget)
    required_cost = float(ctx.cheapest[ctx.is_required].sum())
    if required_cost > budget * (1 + _TOL) + _TOL:
        listed = ", ".join(
            f"{site_label(problem, ctx.usable[c])} GBP {ctx.cheapest[c]:,.0f}" for c in np.flatnonzero(ctx.is_required)
        )
        return [
            Finding(
                "budget_required",
                f"the budget, GBP {budget:,.0f}, is below the cheapest options of the required sites, "
                f"GBP {required_cost:,.0f} in total ({listed})",
                tuple(problem.site_ids[j] for j in ctx.required),
                {"budget": budget, "needed": required_cost},
            )
        ]
    extra = k_lo - len(ctx.required)
    others = np.sort(ctx.cheapest[viable_site & ~ctx.is_required])
    if extra <= 0 or len(others) < extra:
        return []
    cost = required_cost + float(others[:extra].sum())
    if cost <= budget * (1 + _TOL) + _TOL:
        return []
    return [
        Finding(
            "budget_min_hubs",
            f"the budget, GBP {budget:,.0f}, is below GBP {cost:,.0f}, the cheapest way to open the {k_lo} "
            "hubs the rules need at least",
            (),
            {"budget": budget, "needed": cost, "hubs": float(k_lo)},
        )
    ]


def _capacity(ctx: _Context, viable_site: np.ndarray, k_max: float) -> list[Finding]:
    caps = np.sort(ctx.capacity[viable_site])[::-1]
    if not len(caps) or not np.all(np.isfinite(caps)):
        return []
    k = int(min(k_max, len(caps)))
    total_cap = float(caps[:k].sum())
    if total_cap >= ctx.total * (1 - _TOL):
        return []
    return [
        Finding(
            "capacity_total",
            f"the {k} largest hub capacities add up to {people(total_cap)}, below the total population, "
            f"{people(ctx.total)}",
            (),
            {"capacity": total_cap, "population": ctx.total, "hubs": float(k)},
        )
    ]


# ---------------------------------------------------------------------------- suggestions
def _passes(ctx: _Context, rules: Rules) -> bool:
    return not any(f.severity == "infeasible" for f in _check(ctx, rules))


def _bisect(ok: Callable[[int], bool], good: int, bad: int) -> int:
    """The value next to ``bad`` on the side of ``good`` where ``ok`` holds (monotone ``ok``)."""
    while abs(good - bad) > 1:
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good


def _relaxations(ctx: _Context) -> list[Suggestion]:
    """For each rule in force, the value at which every cheap check passes (others unchanged)."""
    rules = ctx.problem.rules
    problem = ctx.problem
    out: list[Suggestion] = []

    def with_(**changes: Any) -> Rules:
        return dataclasses.replace(rules, **changes)

    def passes(**changes: Any) -> bool:
        return _passes(ctx, with_(**changes))

    if rules.floor > 0 and passes(floor=0.0):
        value: float = _bisect(lambda v: passes(floor=float(v)), 0, math.ceil(rules.floor))
        out.append(
            Suggestion(
                "floor",
                rules.floor,
                float(value),
                f"lower the floor from {people(rules.floor)} to at most {people(value)} people",
            )
        )
    if rules.ceiling is not None and passes(ceiling=None):
        top = math.ceil(max(ctx.total, float(ctx.pop.max(initial=0.0)), rules.floor))
        if passes(ceiling=float(top)):
            value = _bisect(lambda v: passes(ceiling=float(v)), top, math.floor(rules.ceiling))
            out.append(
                Suggestion(
                    "ceiling",
                    rules.ceiling,
                    float(value),
                    f"raise the ceiling from {people(rules.ceiling)} to at least {people(value)} people",
                )
            )
    if rules.max_travel_min is not None and passes(max_travel_min=None):
        times = np.unique(ctx.travel[np.isfinite(ctx.travel) & (ctx.travel > rules.max_travel_min)])
        # without a limit, reach is "finite travel time", the same as a limit at the longest time
        k = _bisect(lambda v: passes(max_travel_min=float(times[v])), len(times) - 1, -1)
        value = math.ceil(float(times[k]) * 10) / 10
        out.append(
            Suggestion(
                "max_travel_min",
                rules.max_travel_min,
                value,
                f"raise the travel limit from {rules.max_travel_min:g} to at least {value:g} minutes",
            )
        )
    if rules.budget is not None and passes(budget=None):
        top = math.ceil(float(ctx.dearest.sum()))
        if passes(budget=float(top)):
            value = _bisect(lambda v: passes(budget=float(v)), top, math.floor(rules.budget))
            out.append(
                Suggestion(
                    "budget",
                    rules.budget,
                    float(value),
                    f"raise the budget from GBP {rules.budget:,.0f} to at least GBP {value:,.0f}",
                )
            )
    if rules.min_polysystems is not None and rules.min_polysystems > 1 and passes(min_polysystems=None):
        value = _bisect(lambda v: passes(min_polysystems=v), 1, rules.min_polysystems)
        out.append(
            Suggestion(
                "min_polysystems",
                rules.min_polysystems,
                value,
                f"lower min_polysystems from {rules.min_polysystems} to at most {value}",
            )
        )
    if rules.max_polysystems is not None and passes(max_polysystems=None):
        top = max(len(ctx.usable), rules.max_polysystems)
        value = _bisect(lambda v: passes(max_polysystems=v), top, rules.max_polysystems)
        out.append(
            Suggestion(
                "max_polysystems",
                rules.max_polysystems,
                value,
                f"raise max_polysystems from {rules.max_polysystems} to at least {value}",
            )
        )
    if rules.contiguity and passes(contiguity=False):
        out.append(Suggestion("contiguity", True, False, "drop the contiguity rule"))
    if rules.respect_groups and passes(respect_groups=False):
        out.append(Suggestion("respect_groups", True, False, "let polysystems cross the boundary groups"))
    if not out:
        out.append(
            Suggestion(
                "several",
                None,
                None,
                "no change to a single rule makes every cheap check pass: fix the data or site "
                "statuses named above, or relax several rules together",
            )
        )
    logger.debug("relaxations for %d unit(s): %s", problem.n_units, [s.rule for s in out])
    return out


def _tightness(ctx: _Context) -> list[Suggestion]:
    """Hints for a problem infeasible as a whole: each rule's slack on its own, tightest first."""
    problem, rules = ctx.problem, ctx.problem.rules
    waived = ctx.waived(rules)
    reach = ctx.reach(rules.max_travel_min)
    hints: list[tuple[float, Suggestion]] = []
    if rules.floor > 0:
        candidates = [(ctx.total / rules.floor, f"the whole population, {people(ctx.total)}")]
        if rules.respect_groups and problem.groups is not None:
            pops = np.bincount(ctx.group_code, weights=ctx.pop)
            has_w = np.bincount(ctx.group_code, weights=waived.astype(float), minlength=len(pops)) > 0
            candidates += [
                (pops[g] / rules.floor, f"boundary group {ctx.group_names[g]!r} with {people(pops[g])} people")
                for g in np.flatnonzero(~has_w)
            ]
        if rules.contiguity and problem.adjacency is not None:
            comp = ctx.components(rules.respect_groups and problem.groups is not None)
            pops = np.bincount(comp, weights=ctx.pop)
            has_w = np.bincount(comp, weights=waived.astype(float), minlength=len(pops)) > 0
            for c in np.flatnonzero(~has_w):
                first = int(np.flatnonzero(comp == c)[0])
                candidates.append(
                    (
                        pops[c] / rules.floor,
                        f"the connected area of unit {unit_label(problem, first)} with {people(pops[c])} people",
                    )
                )
        ratio, what = min(candidates, key=lambda c: c[0])
        hints.append(
            (
                ratio - 1,
                Suggestion(
                    "floor",
                    rules.floor,
                    None,
                    f"floor {people(rules.floor)}: tightest is {what}, {ratio - 1:.1%} above the floor",
                ),
            )
        )
    if rules.ceiling is not None:
        k_max = min(rules.max_polysystems or math.inf, len(ctx.usable))
        slack = k_max * rules.ceiling / ctx.total - 1 if ctx.total > 0 else math.inf
        hints.append(
            (
                slack,
                Suggestion(
                    "ceiling",
                    rules.ceiling,
                    None,
                    f"ceiling {people(rules.ceiling)}: at most {k_max:g} polysystems hold {slack:.1%} more "
                    "than the population",
                ),
            )
        )
    if rules.max_travel_min is not None:
        limit = rules.max_travel_min
        nearest = np.where(reach, ctx.travel, np.inf).min(axis=1)
        i = int(np.argmax(nearest))
        n_single = int((reach.sum(axis=1) == 1).sum())
        hints.append(
            (
                (limit - nearest[i]) / limit,
                Suggestion(
                    "max_travel_min",
                    limit,
                    None,
                    f"travel limit {limit:g} min: unit {unit_label(problem, i)} is {minutes(nearest[i])} from its "
                    f"nearest site; {n_single} unit(s) can reach only one site",
                ),
            )
        )
    if rules.budget is not None:
        k = max(rules.min_polysystems or 1, len(ctx.required))
        others = np.sort(ctx.cheapest[~ctx.is_required])
        cost = float(ctx.cheapest[ctx.is_required].sum() + others[: max(0, k - len(ctx.required))].sum())
        slack = rules.budget / cost - 1 if cost > 0 else math.inf
        hints.append(
            (
                slack,
                Suggestion(
                    "budget",
                    rules.budget,
                    None,
                    f"budget GBP {rules.budget:,.0f}: the cheapest {k} hub(s) cost GBP {cost:,.0f}",
                ),
            )
        )
    if rules.min_polysystems is not None or rules.max_polysystems is not None:
        lo, hi = rules.min_polysystems or 1, rules.max_polysystems or len(ctx.usable)
        hints.append(
            (
                (hi - lo) / max(lo, 1),
                Suggestion(
                    "polysystem_count",
                    (rules.min_polysystems, rules.max_polysystems),
                    None,
                    f"number of polysystems between {lo} and {hi}",
                ),
            )
        )
    hints.sort(key=lambda h: h[0])
    out = [h[1] for h in hints]
    if rules.contiguity:
        out.append(Suggestion("contiguity", True, None, "contiguity: try the plan without it to see if it binds"))
    if rules.respect_groups:
        out.append(Suggestion("respect_groups", True, None, "boundary groups: try letting polysystems cross them"))
    return out
