"""The independent validator: checks that a plan satisfies every rule of its problem.

Every check is re-derived from the :class:`~catchment.problem.Problem` and the
:class:`~catchment.plan.Plan` alone. Nothing here is shared with the model builders in
``solvers/``: a modelling error cannot hide itself by being checked with the code that made
it.

Rules checked (the ``rule`` of each :class:`Violation`, in report order):

``unknown_unit``
    the plan assigns a unit the problem does not have;
``unassigned``
    a unit of the problem is in no polysystem;
``unknown_site``
    a hub or an assigned site is not a site of the problem;
``hub_not_open``
    a unit is assigned to a site that is not an open hub;
``empty_hub``
    an open hub serves no unit;
``excluded_site``
    a hub opens on an excluded site;
``required_site``
    a required site has no hub;
``hub_option``
    a hub's option is not one its site offers;
``floor`` / ``ceiling``
    a polysystem's population is below the floor (unless it contains a waived unit) or
    above the ceiling;
``capacity``
    a polysystem's population exceeds the capacity of its hub's option;
``polysystem_count``
    the number of polysystems is outside ``[min_polysystems, max_polysystems]``;
``budget``
    the total capital cost of the chosen options exceeds the budget;
``unreachable``
    a unit cannot reach its hub at all (infinite travel time; always a violation);
``max_travel``
    a unit's travel time to its hub exceeds ``max_travel_min``;
``groups``
    a polysystem crosses boundary groups (``respect_groups``);
``contiguity``
    a polysystem's units do not form one connected area (``contiguity``);
``host_unit``
    the unit whose area holds an open hub (``Problem.site_unit``) is not in the hub's own
    polysystem (checked whenever ``site_unit`` is given, as the models enforce it).

A polysystem below the floor that contains a waived unit is *not* a violation; it is
reported with the waiver's reason by :func:`catchment.metrics.waived_polysystems`.

The checks of one polysystem and of the whole plan, with their words, are public functions
(:func:`site_violations`, :func:`population_violations`, :func:`travel_violation`,
:func:`groups_violation`, :func:`contiguity_violation`, :func:`host_unit_violation`,
:func:`plan_wide_violations`): an edit session (:mod:`catchment.editing`) re-checks with
them only the polysystems an edit touched, and says exactly what this validator says.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from catchment.plan import Plan
from catchment.problem import HubOption, Problem
from geodata.errors import PlanInvalidError, shown_value

__all__ = [
    "RULES",
    "Violation",
    "validate_plan",
    "check_plan",
    "unit_hub_index",
    "few",
    "unit_label",
    "site_label",
    "people",
    "minutes",
    "polysystem_label",
    "site_violations",
    "population_violations",
    "polysystem_population",
    "travel_faults",
    "travel_violation",
    "groups_violation",
    "contiguity_violation",
    "host_unit_violation",
    "plan_wide_violations",
    "factorize",
]

logger = logging.getLogger(__name__)

#: Rule names in the order violations are reported.
RULES = (
    "unknown_unit",
    "unassigned",
    "unknown_site",
    "hub_not_open",
    "empty_hub",
    "excluded_site",
    "required_site",
    "hub_option",
    "floor",
    "ceiling",
    "capacity",
    "polysystem_count",
    "budget",
    "unreachable",
    "max_travel",
    "groups",
    "contiguity",
    "host_unit",
)

#: Relative tolerance on populations and costs (sums of floats), absolute on minutes.
_REL_TOL = 1e-9
_MIN_TOL = 1e-9


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Parameters
    ----------
    rule
        One of :data:`RULES`.
    message
        What is wrong, with names and numbers.
    ids
        The unit and site ids involved (the hub site first for polysystem rules).
    """

    rule: str
    message: str
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"

    @property
    def sites(self) -> tuple[str, ...]:
        """The site ids of :attr:`ids` (the hub first for polysystem rules)."""
        if self.rule in _UNIT_RULES:
            return ()
        return self.ids[:1] if self.rule in _SITE_THEN_OTHERS else self.ids

    @property
    def units(self) -> tuple[str, ...]:
        """The unit ids of :attr:`ids` (a ``groups`` violation names groups, not units)."""
        if self.rule in _UNIT_RULES:
            return self.ids
        return self.ids[1:] if self.rule in _SITE_THEN_UNITS else ()


#: Rules whose ids are unit ids only.
_UNIT_RULES = frozenset({"unknown_unit", "unassigned"})
#: Rules whose ids are a site, then unit ids.
_SITE_THEN_UNITS = frozenset({"hub_not_open", "unreachable", "max_travel", "contiguity", "host_unit"})
#: Rules whose ids are a site, then other ids (units, or boundary group names).
_SITE_THEN_OTHERS = _SITE_THEN_UNITS | {"groups"}


# ---------------------------------------------------------------------------- public API
def unit_hub_index(problem: Problem, plan: Plan) -> np.ndarray:
    """Array position of each unit's assigned site.

    Parameters
    ----------
    problem
        The problem the plan answers.
    plan
        The plan.

    Returns
    -------
    ndarray of int, shape (n_units,)
        Index into ``problem.site_ids`` of the site each unit is assigned to, ``-1`` when the
        unit is unassigned or assigned to a site the problem does not have. Whether the site
        is an open hub is not checked here.
    """
    site_pos = {s: j for j, s in enumerate(problem.site_ids)}
    idx = np.full(problem.n_units, -1, dtype=np.int64)
    for i, unit in enumerate(problem.unit_ids):
        site = plan.assignment.get(unit)
        if site is not None:
            idx[i] = site_pos.get(site, -1)
    return idx


def validate_plan(problem: Problem, plan: Plan) -> list[Violation]:
    """Check a plan against every rule of its problem.

    Parameters
    ----------
    problem
        The problem (units, sites, options, rules).
    plan
        The plan to check. A plan without an assignment (infeasible or unsolved) breaks
        ``unassigned`` for every unit.

    Returns
    -------
    list of Violation
        Every broken rule, in the order of :data:`RULES`; empty when the plan is valid.
        A polysystem below the floor that contains a waived unit is not a violation.
    """
    return _Checker(problem, plan).run()


def check_plan(problem: Problem, plan: Plan) -> None:
    """Raise if a plan breaks any rule.

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan to check.

    Raises
    ------
    PlanInvalidError
        Listing every violation found by :func:`validate_plan`.
    """
    violations = validate_plan(problem, plan)
    if violations:
        raise PlanInvalidError(violations)


# ---------------------------------------------------------------------------- wording
def few(items: Iterable[object], limit: int = 10) -> str:
    """``'a', 'b', 'c' and 12 more``: a short, quoted listing (each cut by :func:`~geodata.errors.shown_value`)."""
    items = list(items)
    shown = ", ".join(shown_value(str(i)) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def unit_label(problem: Problem, i: int | np.integer) -> str:
    """``'E01000001' (Camden 001A)``, or the quoted id when the name is the id."""
    uid, name = problem.unit_ids[i], (problem.unit_names or problem.unit_ids)[i]
    return shown_value(uid) if name == uid else f"{shown_value(uid)} ({name})"


def site_label(problem: Problem, j: int) -> str:
    """``'RF4QH' (King George Hospital)``, or the quoted id when the name is the id."""
    sid, name = problem.site_ids[j], problem.site_names[j]
    return shown_value(sid) if name == sid else f"{shown_value(sid)} ({name})"


def people(x: float) -> str:
    """A population with thousands separators."""
    return f"{x:,.0f}" if math.isfinite(x) else str(x)


def minutes(x: float) -> str:
    """A travel time in minutes, ``inf`` spelled out."""
    return f"{x:.1f} min" if math.isfinite(x) else "unreachable"


def polysystem_label(problem: Problem, site: str, ps_id: str | None, *, configured: str | None = None) -> str:
    """``polysystem PS03 (hub 'S1' (name))``: how every message names a polysystem.

    ``configured``: the id the planner's configuration gave it (:meth:`Plan.configured_ids`),
    named too: ``polysystem PS03 (your 'north', hub 'S1' (name))``.
    """
    try:
        hub = site_label(problem, problem.site_index(site))
    except KeyError:
        hub = shown_value(site)
    yours = "" if configured is None else f"your {shown_value(configured)}, "
    return f"polysystem {ps_id or '?'} ({yours}hub {hub})"


# ---------------------------------------------------------------------------- one polysystem's rules
# The checks of one polysystem, given its members: the validator runs them on every
# polysystem, an edit session (catchment.editing) on the polysystems an edit touched.
def site_violations(
    problem: Problem,
    site: str,
    ps_id: str | None,
    *,
    n_units: int,
    option: str,
    offered: Sequence[str],
    configured: str | None = None,
) -> list[Violation]:
    """``empty_hub``, ``excluded_site`` and ``hub_option`` of the polysystem ``ps_id`` of hub ``site``.

    ``offered``: the options the site offers, in the problem's order; ``configured``: the
    planner's id of the polysystem (:func:`polysystem_label`).
    """
    found = []
    where = polysystem_label(problem, site, ps_id, configured=configured)
    if n_units == 0:
        found.append(Violation("empty_hub", f"{where} serves no unit", (site,)))
    if problem.site_status[problem.site_index(site)] == "excluded":
        found.append(Violation("excluded_site", f"{where} opens on an excluded site", (site,)))
    if option not in offered:
        choices = ", ".join(offered) or "no option at all"
        words = f"{where} has option {shown_value(option)}, but the site offers {choices}"
        found.append(Violation("hub_option", words, (site,)))
    return found


def population_violations(
    problem: Problem,
    site: str,
    ps_id: str | None,
    population: float,
    *,
    waived: bool,
    option: HubOption | None,
    configured: str | None = None,
) -> list[Violation]:
    """``floor``, ``ceiling`` and ``capacity`` of a polysystem that serves at least one unit.

    ``waived``: the polysystem holds a waived unit; ``option``: its hub's option if the site
    offers it; ``configured``: the planner's id of the polysystem (:func:`polysystem_label`).
    """
    rules = problem.rules
    pop = float(population)
    broken = []
    if rules.below_floor(pop) and not waived:
        broken.append(("floor", f"below the floor of {people(rules.floor)}"))
    if rules.ceiling is not None and pop > rules.ceiling * (1 + _REL_TOL):
        broken.append(("ceiling", f"above the ceiling of {people(rules.ceiling)}"))
    if option is not None and option.capacity is not None and pop > option.capacity * (1 + _REL_TOL):
        broken.append(("capacity", f"above the capacity of its {option.option} option ({people(option.capacity)})"))
    if not broken:
        return []
    where = polysystem_label(problem, site, ps_id, configured=configured)
    return [Violation(rule, f"{where} has {people(pop)} people, {limit}", (site,)) for rule, limit in broken]


def polysystem_population(population: np.ndarray, members: np.ndarray) -> float:
    """Population of a polysystem: its members' populations added in the order given.

    Added one by one (as :func:`numpy.bincount` does), so that the sum is the same to the
    last bit wherever it is computed from the same members in the same (ascending) order.
    """
    return float(np.bincount(np.zeros(len(members), dtype=np.int64), weights=population[members], minlength=1)[0])


def travel_faults(times: np.ndarray, limit: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Masks of ``times`` (minutes): unreachable (infinite), and beyond ``limit`` (finite)."""
    unreachable = np.isinf(times)
    if limit is None:
        return unreachable, np.zeros_like(unreachable)
    return unreachable, np.isfinite(times) & (times > limit + _MIN_TOL)


def travel_violation(
    problem: Problem, rule: str, where: str, j: int, units: Sequence[int], limit: float | None
) -> Violation:
    """``unreachable`` or ``max_travel``: ``units`` (positions, ascending) of site position ``j``."""
    shown = (f"{shown_value(problem.unit_ids[i])} ({minutes(problem.travel_min[i, j])})" for i in units[:10])
    listed = ", ".join(shown) + (f" and {len(units) - 10} more" if len(units) > 10 else "")
    if rule == "unreachable":
        message = f"{len(units)} unit(s) cannot reach the hub of {where} at all: {listed}"
    else:
        message = f"{len(units)} unit(s) of {where} travel beyond the {limit:g}-minute limit: {listed}"
    return Violation(rule, message, (problem.site_ids[j], *(problem.unit_ids[i] for i in units)))


def groups_violation(
    problem: Problem, where: str, site: str, members: np.ndarray, codes: np.ndarray, names: Sequence[str]
) -> Violation | None:
    """``groups``: the polysystem's members (ascending) span more than one boundary group.

    ``codes``, ``names``: each unit's group code and the group names (:func:`factorize`).
    """
    present = np.unique(codes[members])
    if len(present) <= 1:
        return None
    parts = []
    for g in present:
        in_g = members[codes[members] == g]
        parts.append(f"{names[g]} ({len(in_g)} unit(s), {people(problem.population[in_g].sum())} people)")
    return Violation(
        "groups",
        f"{where} crosses {len(present)} boundary groups: {', '.join(parts)}",
        (site, *(names[g] for g in present)),
    )


def contiguity_violation(problem: Problem, where: str, site: str, parts: Sequence[np.ndarray]) -> Violation | None:
    """``contiguity``: the polysystem falls into ``parts`` (each ascending unit positions)."""
    if len(parts) <= 1:
        return None
    ordered = sorted(parts, key=lambda p: (-problem.population[p].sum(), problem.unit_ids[p[0]]))
    described = "; ".join(
        f"[{few((problem.unit_ids[i] for i in p), 5)}] ({people(problem.population[p].sum())} people)" for p in ordered
    )
    detached = [problem.unit_ids[i] for p in ordered[1:] for i in p]
    return Violation(
        "contiguity", f"{where} falls into {len(ordered)} disconnected parts: {described}", (site, *detached)
    )


def host_unit_violation(problem: Problem, where: str, site: str, host: int, elsewhere: str | None) -> Violation:
    """``host_unit``: the unit ``host`` holding the hub is in polysystem ``elsewhere`` (or in none)."""
    place = f"is in {elsewhere}" if elsewhere is not None else "is in no open polysystem"
    return Violation(
        "host_unit",
        f"the hub of {where} stands in unit {unit_label(problem, host)}, which {place}",
        (site, problem.unit_ids[host]),
    )


def plan_wide_violations(problem: Problem, hub_options: Mapping[str, str]) -> list[Violation]:
    """``required_site``, ``polysystem_count`` and ``budget``: the rules of the whole plan.

    ``hub_options``: open hub -> option, in the plan's order (the budget adds costs in it).
    """
    rules = problem.rules
    found = []
    for j in problem.required_sites():
        site = problem.site_ids[j]
        if site not in hub_options:
            found.append(Violation("required_site", f"required site {site_label(problem, j)} has no hub", (site,)))
    n = len(hub_options)
    if rules.min_polysystems is not None and n < rules.min_polysystems:
        found.append(
            Violation("polysystem_count", f"{n} polysystem(s), fewer than the minimum of {rules.min_polysystems}")
        )
    if rules.max_polysystems is not None and n > rules.max_polysystems:
        found.append(
            Violation("polysystem_count", f"{n} polysystem(s), more than the maximum of {rules.max_polysystems}")
        )
    if rules.budget is not None:
        options = {(o.site_id, o.option): o for o in problem.options}
        chosen = (options.get(item) for item in hub_options.items())
        total = sum(o.capital_cost for o in chosen if o is not None)
        if total > rules.budget * (1 + _REL_TOL) + _REL_TOL:
            found.append(
                Violation(
                    "budget",
                    f"the chosen hub options cost GBP {total:,.0f} in total, above the budget of "
                    f"GBP {rules.budget:,.0f}",
                    tuple(sorted(hub_options)),
                )
            )
    return found


# ---------------------------------------------------------------------------- the checks
class _Checker:
    """One validation pass; attributes hold the plan as arrays over the problem's units."""

    def __init__(self, problem: Problem, plan: Plan) -> None:
        self.problem = problem
        self.plan = plan
        self.rules = problem.rules
        self.violations: list[Violation] = []
        self.site_pos = {s: j for j, s in enumerate(problem.site_ids)}
        # keyed by (site, option); looked up with the option a plan gives a hub, if any
        self.options: dict[tuple[str, str | None], HubOption] = {(o.site_id, o.option): o for o in problem.options}
        unit_set = set(problem.unit_ids)
        self.unknown_units = sorted(u for u in plan.assignment if u not in unit_set)
        self.assigned = np.array([u in plan.assignment for u in problem.unit_ids], dtype=bool)
        self.site_of = unit_hub_index(problem, plan)
        self.ps_ids = plan.polysystem_ids()
        self.configured = plan.configured_ids()
        # open hubs on known sites, in polysystem-id order; label of each unit = its position
        self.hubs = [s for s in plan.hubs if s in self.site_pos]
        hub_k = {self.site_pos[s]: k for k, s in enumerate(self.hubs)}
        self.label = np.array([hub_k.get(int(j), -1) for j in self.site_of], dtype=np.int64)
        inside = self.label >= 0
        k = len(self.hubs)
        self.ps_pop = np.bincount(self.label[inside], weights=problem.population[inside], minlength=k)
        self.ps_n = np.bincount(self.label[inside], minlength=k)
        self.waived_k = {int(self.label[i]) for i in np.flatnonzero(problem.waived) if self.label[i] >= 0}

    def add(self, rule: str, message: str, ids: Sequence[object] = ()) -> None:
        self.violations.append(Violation(rule, message, tuple(map(str, ids))))

    def run(self) -> list[Violation]:
        self.check_membership()
        self.check_sites()
        self.check_populations()
        self.check_count_and_budget()
        self.check_travel()
        if self.rules.respect_groups and self.problem.groups is not None:
            self.check_groups()
        if self.rules.contiguity and self.problem.adjacency is not None:
            self.check_contiguity()
        if self.problem.site_unit is not None:
            self.check_host_units()
        order = {r: n for n, r in enumerate(RULES)}
        self.violations.sort(key=lambda v: order[v.rule])  # stable: keeps the order within a rule
        if self.violations:
            logger.debug("plan breaks %d rule(s)", len(self.violations))
        return self.violations

    def ps(self, site: str) -> str:
        """``polysystem PS03 (hub 'S1' (name))``, with the planner's id of a configuration's polysystem."""
        return polysystem_label(self.problem, site, self.ps_ids.get(site), configured=self.configured.get(site))

    # -------------------------------------------------------------- units and sites
    def check_membership(self) -> None:
        problem = self.problem
        if self.unknown_units:
            self.add(
                "unknown_unit",
                f"{len(self.unknown_units)} unit(s) in the plan are not units of the problem: "
                f"{few(self.unknown_units)}",
                self.unknown_units,
            )
        missing = [problem.unit_ids[i] for i in np.flatnonzero(~self.assigned)]
        if missing:
            self.add(
                "unassigned",
                f"{len(missing)} of {problem.n_units} unit(s) are in no polysystem: {few(missing)}",
                missing,
            )

    def check_sites(self) -> None:
        problem, plan = self.problem, self.plan
        units_at: dict[str, list[str]] = defaultdict(list)
        for unit, site in plan.assignment.items():
            units_at[site].append(unit)
        for site in sorted((set(plan.hub_options) | set(units_at)) - set(self.site_pos)):
            roles = []
            if site in plan.hub_options:
                roles.append("opened as a hub")
            if units_at.get(site):
                roles.append(f"{len(units_at[site])} unit(s) assigned to it")
            words = f"site {shown_value(site)} is not a site of the problem ({'; '.join(roles)})"
            self.add("unknown_site", words, [site])
        for site in sorted(set(units_at) - set(plan.hub_options)):
            units = sorted(units_at[site])
            j = self.site_pos.get(site)
            where = site_label(problem, j) if j is not None else shown_value(site)
            self.add(
                "hub_not_open",
                f"{len(units)} unit(s) are assigned to site {where}, which is not an open hub: {few(units)}",
                [site, *units],
            )
        offered: dict[str, list[str]] = defaultdict(list)
        for opt in problem.options:
            offered[opt.site_id].append(opt.option)
        for k, site in enumerate(self.hubs):
            self.violations += site_violations(
                problem,
                site,
                self.ps_ids.get(site),
                n_units=int(self.ps_n[k]),
                option=plan.hub_options[site],
                offered=offered[site],
                configured=self.configured.get(site),
            )

    # -------------------------------------------------------------- polysystem sizes
    def check_populations(self) -> None:
        for k, site in enumerate(self.hubs):
            if self.ps_n[k] == 0:
                continue  # reported as empty_hub
            self.violations += population_violations(
                self.problem,
                site,
                self.ps_ids.get(site),
                float(self.ps_pop[k]),
                waived=k in self.waived_k,
                option=self._option(site),
                configured=self.configured.get(site),
            )

    def _option(self, site: str) -> HubOption | None:
        return self.options.get((site, self.plan.hub_options.get(site)))

    def check_count_and_budget(self) -> None:
        self.violations += plan_wide_violations(self.problem, self.plan.hub_options)

    # -------------------------------------------------------------- travel
    def check_travel(self) -> None:
        problem, limit = self.problem, self.rules.max_travel_min
        rows = np.flatnonzero(self.site_of >= 0)
        times = problem.travel_min[rows, self.site_of[rows]]
        unreachable, far = travel_faults(times, limit)
        for rule, bad in (("unreachable", rows[unreachable]), ("max_travel", rows[far])):
            by_site: dict[int, list[int]] = defaultdict(list)
            for i in bad:
                by_site[int(self.site_of[i])].append(int(i))
            for j, units in sorted(by_site.items()):
                site = problem.site_ids[j]
                where = self.ps(site) if site in self.plan.hub_options else f"site {site_label(problem, j)}"
                self.violations.append(travel_violation(problem, rule, where, j, units, limit))

    # -------------------------------------------------------------- boundaries
    def check_groups(self) -> None:
        problem = self.problem
        groups = np.asarray(problem.groups, dtype=object)
        inside = np.flatnonzero(self.label >= 0)
        codes, names = factorize(groups)
        pairs = np.unique(np.stack([self.label[inside], codes[inside]], axis=1), axis=0)
        n_groups = np.bincount(pairs[:, 0], minlength=len(self.hubs))
        for k in np.flatnonzero(n_groups > 1):
            site = self.hubs[k]
            members = inside[self.label[inside] == k]
            found = groups_violation(problem, self.ps(site), site, members, codes, names)
            if found is not None:
                self.violations.append(found)

    def check_contiguity(self) -> None:
        problem = self.problem
        n = problem.n_units
        edges = np.asarray(problem.adjacency, dtype=np.int64).reshape(-1, 2)
        same = (self.label[edges[:, 0]] == self.label[edges[:, 1]]) & (self.label[edges[:, 0]] >= 0)
        e = edges[same]
        graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
        _, comp = connected_components(graph, directed=False)
        inside = np.flatnonzero(self.label >= 0)
        pairs = np.unique(np.stack([self.label[inside], comp[inside]], axis=1), axis=0)
        n_parts = np.bincount(pairs[:, 0], minlength=len(self.hubs))
        for k in np.flatnonzero(n_parts > 1):
            site = self.hubs[k]
            members = inside[self.label[inside] == k]
            parts = [members[comp[members] == c] for c in np.unique(comp[members])]
            found = contiguity_violation(problem, self.ps(site), site, parts)
            if found is not None:
                self.violations.append(found)

    def check_host_units(self) -> None:
        problem = self.problem
        if problem.site_unit is None:  # run() checks host units only for problems that have them
            return
        for k, site in enumerate(self.hubs):
            host = problem.site_unit[self.site_pos[site]]
            if host is None or self.label[host] == k:
                continue
            elsewhere = self.ps(self.hubs[self.label[host]]) if self.label[host] >= 0 else None
            self.violations.append(host_unit_violation(problem, self.ps(site), site, host, elsewhere))


def factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes and the sorted distinct names of a string array."""
    names, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.astype(np.int64), [str(x) for x in names]
