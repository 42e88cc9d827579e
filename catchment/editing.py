"""Edit a plan by hand and see the validator's verdict after every edit.

An :class:`EditSession` holds one configuration (every unit in a polysystem, every
polysystem with its hub site and option) that a planner changes one step at a time: move a
unit to another polysystem, move a polysystem's hub to another site, change a hub's option,
open a hub, close one. After each edit the session gives a :class:`Verdict`: whether the
configuration keeps every rule, the rules it breaks in the words of the independent
validator (:func:`catchment.validate.validate_plan`), the objective and the headline
metrics, and what the edit changed. Edits can be undone and redone.

The verdict is kept up to date incrementally: a move touches two polysystems (and the one
whose hub stands in the unit's area, when the problem places hubs in areas), so only
their rules are checked again; changes of the set of hubs renumber the polysystems and
check them all. The verdict is exactly the validator's on the same configuration
(:meth:`EditSession.full_check` runs the validator itself, for tests).

Bad edits raise :class:`~geodata.errors.EditError` naming the id (cut by
:func:`~geodata.errors.shown_value`); an edit that would change nothing (a unit moved to the
polysystem it is in, Undo with nothing to undo) raises its subclass
:class:`~geodata.errors.NoChange` and is not recorded. The configuration is then unchanged.

Example::

    session = EditSession(problem, plan)
    verdict = session.move("F86001", "RF4QH")
    verdict.status, verdict.rules_broken
    session.undo()
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from catchment.metrics import objective_terms_of, option_amounts
from catchment.plan import PLAN_STATUSES, Plan
from catchment.problem import HubOption, Problem
from catchment.validate import (
    RULES,
    Violation,
    contiguity_violation,
    factorize,
    few,
    groups_violation,
    host_unit_violation,
    plan_wide_violations,
    polysystem_label,
    polysystem_population,
    population_violations,
    site_violations,
    travel_faults,
    travel_violation,
    validate_plan,
)
from geodata.errors import EditError, NoChange, shown_value

__all__ = ["FEASIBLE", "BREAKS_RULES", "UnitMove", "Verdict", "EditSession"]

logger = logging.getLogger(__name__)

#: Status of a configuration that keeps every rule (a :data:`~catchment.plan.PLAN_STATUSES` value).
FEASIBLE = PLAN_STATUSES[1]
#: Status of a configuration that breaks at least one rule.
BREAKS_RULES = PLAN_STATUSES[4]
#: The solver name of an edited configuration's plan.
EDITED = "edited"


@dataclass(frozen=True)
class UnitMove:
    """One unit that changed polysystem in an edit.

    Parameters
    ----------
    unit_id
        The unit.
    from_hub, to_hub
        Hub site ids of its polysystem before and after.
    travel_before, travel_after
        Its travel time (minutes) to the hub before and after (``inf``: unreachable).
    """

    unit_id: str
    from_hub: str
    to_hub: str
    travel_before: float
    travel_after: float


@dataclass(frozen=True)
class Verdict:
    """The validator's verdict and the metrics of an edited configuration (immutable).

    Parameters
    ----------
    status
        :data:`FEASIBLE` or :data:`BREAKS_RULES`.
    violations
        Every broken rule, as the validator words and orders them.
    terms
        Every objective term (:func:`catchment.metrics.objective_terms`), with ``weighted``
        and ``objective``.
    n_polysystems
        Number of open hubs.
    capital_cost
        Total capital cost (GBP) of the chosen hub options.
    populations
        Hub site id -> population of its polysystem.
    edit
        The edit that led here, in words (``"start"`` for the starting configuration).
    moves
        Units that changed polysystem in that edit.
    objective_change
        Objective after minus before the edit (``None`` for the start).
    n_moved_from_start
        Units whose polysystem hub differs from the starting configuration.
    """

    status: str
    violations: tuple[Violation, ...]
    terms: Mapping[str, float | None]
    n_polysystems: int
    capital_cost: float
    populations: Mapping[str, float]
    edit: str = "start"
    moves: tuple[UnitMove, ...] = ()
    objective_change: float | None = None
    n_moved_from_start: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", MappingProxyType(dict(self.terms)))
        object.__setattr__(self, "populations", MappingProxyType(dict(self.populations)))
        if self.status not in (FEASIBLE, BREAKS_RULES) or (self.status == BREAKS_RULES) != bool(self.violations):
            raise ValueError("a verdict breaks rules exactly when it lists violations")

    @property
    def feasible(self) -> bool:
        """True when the configuration keeps every rule."""
        return self.status == FEASIBLE

    @property
    def rules_broken(self) -> tuple[str, ...]:
        """Each broken rule in words (``"floor: polysystem PS02 ... below the floor ..."``)."""
        return tuple(str(v) for v in self.violations)

    @property
    def objective(self) -> float | None:
        """The objective value (what the problem's objective minimises)."""
        return self.terms.get("objective")

    @property
    def mean_travel(self) -> float | None:
        """Population-weighted mean travel to the hub (minutes)."""
        return self.terms.get("mean_travel")

    @property
    def max_travel(self) -> float | None:
        """Longest travel of any unit to its hub (minutes)."""
        return self.terms.get("max_travel")

    @property
    def travel_change(self) -> float:
        """Sum over the units moved by the edit of their travel after minus before (minutes)."""
        return float(sum(m.travel_after - m.travel_before for m in self.moves))

    @property
    def breach_hubs(self) -> tuple[str, ...]:
        """Hub site ids involved in a broken rule (for highlighting), sorted."""
        return tuple(sorted({s for v in self.violations for s in v.sites}))

    @property
    def breach_units(self) -> tuple[str, ...]:
        """Unit ids named by a broken rule (for highlighting), sorted."""
        return tuple(sorted({u for v in self.violations for u in v.units}))


# ---------------------------------------------------------------------------- edits
@dataclass(frozen=True)
class _Assign:
    """Unit at position ``unit`` goes from site position ``old`` to ``new``."""

    unit: int
    old: int
    new: int

    def inverse(self) -> _Assign:
        return _Assign(self.unit, self.new, self.old)


@dataclass(frozen=True)
class _Hub:
    """Hub at ``site`` goes from option ``before`` to ``after`` (``None``: no hub)."""

    site: str
    before: str | None
    after: str | None

    def inverse(self) -> _Hub:
        return _Hub(self.site, self.after, self.before)


_Op = _Assign | _Hub


@dataclass(frozen=True)
class _Edit:
    description: str
    ops: tuple[_Op, ...] = field(default_factory=tuple)

    def inverse(self) -> _Edit:
        return _Edit(f"undo {self.description}", tuple(op.inverse() for op in reversed(self.ops)))


# ---------------------------------------------------------------------------- the session
class EditSession:
    """An editable configuration with its verdict, undo and redo.

    Every edit returns the new :class:`Verdict`; a bad edit raises
    :class:`~geodata.errors.EditError` naming the id and changes nothing; an edit that would
    change nothing raises :class:`~geodata.errors.NoChange` (an ``EditError``) saying so, and
    records no undo step.

    Parameters
    ----------
    problem
        The problem (units, sites, options, rules).
    plan
        The starting configuration: every unit assigned to an open hub on a site of the
        problem (a solved plan, an evaluated configuration, today's PCNs).

    Raises
    ------
    EditError
        If the plan leaves a unit out, names a unit or site the problem does not have, or
        assigns a unit to a site that is not an open hub.
    """

    def __init__(self, problem: Problem, plan: Plan) -> None:
        self.problem = problem
        self._start_plan = plan
        self._site_of = _start_sites(problem, plan)
        self._start_site_of = self._site_of.copy()
        self._hub_options: dict[str, str] = dict(plan.hub_options)
        self._undo: list[_Edit] = []
        self._redo: list[_Edit] = []
        self._tracker = _Tracker(problem, self._site_of, self._hub_options)
        self._verdict = self._compute_verdict(_Edit("start"), previous=None)

    def with_problem(self, problem: Problem) -> EditSession:
        """The same configuration, history and redo stack over a changed problem (new rules, a site forced).

        The verdict is checked afresh against the new problem's rules.

        Raises
        ------
        EditError
            If ``problem`` has other units or sites (then open a new session).
        """
        if problem.unit_ids != self.problem.unit_ids or problem.site_ids != self.problem.site_ids:
            raise EditError("the new problem has other units or sites than the session's: open a new session")
        new = EditSession(problem, self._start_plan)
        new._site_of[:] = self._site_of
        new._hub_options.clear()
        new._hub_options.update(self._hub_options)
        new._undo, new._redo = list(self._undo), list(self._redo)
        new._tracker = _Tracker(problem, new._site_of, new._hub_options)
        new._verdict = new._compute_verdict(_Edit("rules or sites changed"), previous=self._verdict)
        return new

    # ------------------------------------------------------------ reading
    @property
    def verdict(self) -> Verdict:
        """The verdict of the current configuration."""
        return self._verdict

    @property
    def can_undo(self) -> bool:
        """There is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """There is an undone edit to redo."""
        return bool(self._redo)

    @property
    def history(self) -> tuple[str, ...]:
        """The edits made (and not undone), oldest first, in words."""
        return tuple(e.description for e in self._undo)

    @property
    def hubs(self) -> tuple[str, ...]:
        """Open hub site ids, sorted."""
        return tuple(sorted(self._hub_options))

    @property
    def hub_options(self) -> Mapping[str, str]:
        """Open hub site id -> option (read only)."""
        return MappingProxyType(self._hub_options)

    def hub_of(self, unit_id: str) -> str:
        """Hub site id of the polysystem of ``unit_id``."""
        return self.problem.site_ids[self._site_of[self._unit(unit_id)]]

    def units_of(self, hub_id: str) -> tuple[str, ...]:
        """Unit ids of the polysystem of hub ``hub_id``, in the problem's order."""
        j = self._open_hub(hub_id)
        return tuple(self.problem.unit_ids[i] for i in np.flatnonzero(self._site_of == j))

    def assignment(self) -> dict[str, str]:
        """Unit id -> hub site id of the current configuration."""
        sites = self.problem.site_ids
        return {u: sites[j] for u, j in zip(self.problem.unit_ids, self._site_of.tolist(), strict=True)}

    def plan(self) -> Plan:
        """The current configuration as a :class:`Plan` labelled as edited by hand.

        ``solver="edited"``, ``status`` and ``violations`` from the verdict, ``objective``
        recomputed; no bound or gap (nothing is proven about an edited configuration).
        """
        verdict = self._verdict
        n = len(self._undo)
        solver = self._start_plan.solver
        start = f"a plan made by {solver}" if solver else "the starting plan"
        return Plan(
            assignment=self.assignment(),
            hub_options=dict(self._hub_options),
            status=verdict.status,
            objective=verdict.objective,
            solver=EDITED,
            violations=verdict.violations,
            notes=(
                f"configuration edited by hand: {n} edit{'' if n == 1 else 's'} to {start}; "
                "the rules are checked by the validator; not optimised",
            ),
            stats={"edits": list(self.history), "units_moved_from_start": verdict.n_moved_from_start},
        )

    def full_check(self) -> list[Violation]:
        """The independent validator run on the current configuration (slow path, for tests)."""
        return validate_plan(self.problem, self._plan_for_check())

    # ------------------------------------------------------------ edits
    def move(self, unit_id: str, hub_id: str) -> Verdict:
        """Move a unit into the polysystem of hub ``hub_id`` (an open hub).

        Raises
        ------
        NoChange
            If the unit is already in that polysystem.
        EditError
            If the unit is unknown or ``hub_id`` is not an open hub.
        """
        i = self._unit(unit_id)
        j = self._open_hub(hub_id)
        old = int(self._site_of[i])
        if old == j:
            raise NoChange(
                f"unit {shown_value(unit_id)} is already in {self._polysystem(hub_id)}: "
                "nothing to move; choose another polysystem"
            )
        return self._do(_Edit(f"move {unit_id} from {self.problem.site_ids[old]} to {hub_id}", (_Assign(i, old, j),)))

    def move_units(self, unit_ids: Iterable[str], hub_id: str) -> Verdict:
        """Move several units into the polysystem of hub ``hub_id`` in one edit.

        Units already in it stay where they are.

        Raises
        ------
        NoChange
            If no unit is given, or every one is already in that polysystem.
        EditError
            If a unit is unknown or ``hub_id`` is not an open hub.
        """
        j = self._open_hub(hub_id)
        ops = []
        given = 0
        for unit_id in unit_ids:
            i = self._unit(unit_id)
            given += 1
            if int(self._site_of[i]) != j:
                ops.append(_Assign(i, int(self._site_of[i]), j))
        if not ops:
            where = self._polysystem(hub_id)
            raise NoChange(
                f"every unit given is already in {where}: nothing to move; choose other units"
                if given
                else f"no unit given to move to {where}: nothing to move; choose units"
            )
        return self._do(_Edit(f"move {len(ops)} unit(s) to {hub_id}", tuple(ops)))

    def set_hub(self, hub_id: str, new_site_id: str, *, option: str | None = None) -> Verdict:
        """Move the hub of a polysystem to another site (its units follow).

        ``option``: the new hub's option; by default the current one if the new site
        offers it, else the new site's cheapest. On the hub's own site, another ``option``
        is :meth:`set_option`.

        Raises
        ------
        NoChange
            If the hub is already on ``new_site_id`` (with ``option``, when given).
        EditError
            If ``hub_id`` is not an open hub, ``new_site_id`` is unknown or already a hub, or
            does not offer ``option``.
        """
        j = self._open_hub(hub_id)
        k = self._site(new_site_id)
        current = self._hub_options[hub_id]
        if new_site_id == hub_id:
            if option is not None and option != current:
                return self.set_option(hub_id, option)
            raise NoChange(
                f"{self._polysystem(hub_id)} already has its hub on site {shown_value(new_site_id)}: "
                "nothing to move; choose another site"
            )
        if new_site_id in self._hub_options:
            raise EditError(
                f"site {shown_value(new_site_id)} is already the hub of a polysystem; move units to it instead"
            )
        offered = [o.option for o in self.problem.options_of(new_site_id)]
        chosen = option if option is not None else (current if current in offered else None)
        chosen = self._offered(new_site_id, chosen)
        ops: list[_Op] = [_Hub(new_site_id, None, chosen)]
        ops += [_Assign(int(i), j, k) for i in np.flatnonzero(self._site_of == j)]
        ops.append(_Hub(hub_id, current, None))
        return self._do(_Edit(f"move the hub of {hub_id} to {new_site_id}", tuple(ops)))

    def set_option(self, hub_id: str, option: str) -> Verdict:
        """Change the option (reuse, refurbish, new build) of an open hub.

        Raises
        ------
        NoChange
            If the hub already has ``option``.
        EditError
            If ``hub_id`` is not an open hub or its site does not offer ``option``.
        """
        self._open_hub(hub_id)
        current = self._hub_options[hub_id]
        if option == current:
            raise NoChange(
                f"{self._polysystem(hub_id)} already has option {shown_value(option)}: "
                "nothing to change; choose another option"
            )
        chosen = self._offered(hub_id, option)
        return self._do(_Edit(f"option of {hub_id}: {current} -> {chosen}", (_Hub(hub_id, current, chosen),)))

    def open_hub(self, site_id: str, *, option: str | None = None) -> Verdict:
        """Open a hub (an empty polysystem) at a site; ``option`` defaults to its cheapest.

        Raises
        ------
        NoChange
            If the site is already an open hub (with ``option``, when given).
        EditError
            If the site is unknown, offers no option or not ``option``, or is already an open
            hub with another option (change its option instead).
        """
        self._site(site_id)
        current = self._hub_options.get(site_id)
        if current is not None:
            where = f"site {shown_value(site_id)} is already an open hub ({self._polysystem(site_id)}"
            if option is not None and option != current:
                raise EditError(f"{where}, option {shown_value(current)}); change its option instead")
            raise NoChange(f"{where}): nothing to open; choose another site")
        chosen = self._offered(site_id, option)
        return self._do(_Edit(f"open a hub at {site_id} ({chosen})", (_Hub(site_id, None, chosen),)))

    def close_hub(self, hub_id: str, *, to: str | None = None) -> Verdict:
        """Close a hub; its units move to the polysystem of hub ``to`` (needed unless it is empty)."""
        j = self._open_hub(hub_id)
        members = np.flatnonzero(self._site_of == j)
        ops: list[_Op] = []
        if len(members):
            if to is None:
                raise EditError(
                    f"hub {shown_value(hub_id)} serves {len(members)} unit(s): say which open hub takes them (to=)"
                )
            if to == hub_id:
                raise EditError(f"hub {shown_value(hub_id)} cannot take its own units when it closes")
            k = self._open_hub(to)
            ops += [_Assign(int(i), j, k) for i in members]
        ops.append(_Hub(hub_id, self._hub_options[hub_id], None))
        where = f", its units to {to}" if len(members) else ""
        return self._do(_Edit(f"close the hub at {hub_id}{where}", tuple(ops)))

    def undo(self) -> Verdict:
        """Undo the last edit.

        Raises
        ------
        NoChange
            If there is nothing to undo.
        """
        if not self._undo:
            raise NoChange("nothing to undo")
        edit = self._undo.pop()
        self._apply(edit.inverse())
        self._redo.append(edit)
        return self._refresh(edit.inverse())

    def redo(self) -> Verdict:
        """Redo the last undone edit.

        Raises
        ------
        NoChange
            If there is nothing to redo.
        """
        if not self._redo:
            raise NoChange("nothing to redo")
        edit = self._redo.pop()
        self._apply(edit)
        self._undo.append(edit)
        return self._refresh(edit)

    # ------------------------------------------------------------ internals
    def _do(self, edit: _Edit) -> Verdict:
        self._apply(edit)
        self._undo.append(edit)
        self._redo.clear()
        logger.debug("edit: %s", edit.description)
        return self._refresh(edit)

    def _apply(self, edit: _Edit) -> None:
        for op in edit.ops:
            if isinstance(op, _Assign):
                self._site_of[op.unit] = op.new
                self._tracker.reassign(op)
            elif op.after is None:
                del self._hub_options[op.site]
            else:
                self._hub_options[op.site] = op.after

    def _refresh(self, edit: _Edit) -> Verdict:
        self._verdict = self._compute_verdict(edit, previous=self._verdict)
        return self._verdict

    def _plan_for_check(self) -> Plan:
        return Plan(assignment=self.assignment(), hub_options=dict(self._hub_options), status=FEASIBLE)

    def _compute_verdict(self, edit: _Edit, *, previous: Verdict | None) -> Verdict:
        problem = self.problem
        violations = self._tracker.update(edit)
        terms = objective_terms_of(problem, self._site_of, self._hub_options, amounts=self._tracker.amounts)
        change = None
        if previous is not None:
            change = _difference(terms.get("objective"), previous.objective)
        capital = previous.capital_cost if previous is not None else math.nan
        if previous is None or not edit.ops or any(isinstance(op, _Hub) for op in edit.ops):
            costs = self._tracker.option_of
            capital = float(sum(o.capital_cost for item in self._hub_options.items() if (o := costs.get(item))))
        return Verdict(
            status=BREAKS_RULES if violations else FEASIBLE,
            violations=violations,
            terms=terms,
            n_polysystems=len(self._hub_options),
            capital_cost=capital,
            populations=self._tracker.populations(),
            edit=edit.description,
            moves=_moves(problem, edit),
            objective_change=change,
            n_moved_from_start=int(np.count_nonzero(self._site_of != self._start_site_of)),
        )

    def _unit(self, unit_id: str) -> int:
        try:
            return self.problem.unit_index(unit_id)
        except KeyError:
            raise EditError(f"unknown unit {shown_value(unit_id)}: not a unit of this problem") from None

    def _site(self, site_id: str) -> int:
        try:
            return self.problem.site_index(site_id)
        except KeyError:
            raise EditError(f"unknown site {shown_value(site_id)}: not a candidate hub site of this problem") from None

    def _open_hub(self, hub_id: str) -> int:
        j = self._site(hub_id)
        if hub_id not in self._hub_options:
            raise EditError(f"site {shown_value(hub_id)} is not an open hub; open a hub there first")
        return j

    def _polysystem(self, hub_id: str) -> str:
        """The polysystem of open hub ``hub_id`` as every message names it (:func:`polysystem_label`)."""
        return polysystem_label(self.problem, hub_id, self._tracker.ps_ids.get(hub_id))

    def _offered(self, site_id: str, option: str | None) -> str:
        offered = [o.option for o in self.problem.options_of(site_id)]
        if not offered:
            raise EditError(f"site {shown_value(site_id)} offers no hub option")
        if option is None:
            return offered[0]
        if option not in offered:
            raise EditError(
                f"site {shown_value(site_id)} does not offer option {shown_value(option)}; "
                f"it offers {', '.join(offered)}"
            )
        return option


def _start_sites(problem: Problem, plan: Plan) -> np.ndarray:
    """Site position of each unit's hub in ``plan``; :class:`EditError` if the plan cannot be edited."""
    known = set(problem.site_ids)
    unknown_hubs = sorted(s for s in plan.hub_options if s not in known)
    if unknown_hubs:
        raise EditError(f"the plan opens hubs on sites the problem does not have: {few(unknown_hubs)}")
    site_of = np.full(problem.n_units, -1, dtype=np.int64)
    missing, closed = [], []
    for i, unit in enumerate(problem.unit_ids):
        site = plan.assignment.get(unit)
        if site is None:
            missing.append(unit)
        elif site not in plan.hub_options:
            closed.append(unit)
        else:
            site_of[i] = problem.site_index(site)
    extra = sorted(set(plan.assignment) - set(problem.unit_ids))
    if missing:
        raise EditError(f"the plan leaves {len(missing)} unit(s) out: {few(missing)}")
    if closed:
        raise EditError(f"the plan assigns {len(closed)} unit(s) to sites that are not open hubs: {few(closed)}")
    if extra:
        raise EditError(f"the plan assigns units the problem does not have: {few(extra)}")
    return site_of


def _moves(problem: Problem, edit: _Edit) -> tuple[UnitMove, ...]:
    sites, travel = problem.site_ids, problem.travel_min
    return tuple(
        UnitMove(
            problem.unit_ids[op.unit],
            sites[op.old],
            sites[op.new],
            float(travel[op.unit, op.old]),
            float(travel[op.unit, op.new]),
        )
        for op in edit.ops
        if isinstance(op, _Assign)
    )


def _difference(after: float | None, before: float | None) -> float | None:
    if after is None or before is None or not (math.isfinite(after) and math.isfinite(before)):
        return None
    return after - before


# ---------------------------------------------------------------------------- incremental checks
#: Rules reported in the order of the hub's site position (the others: in polysystem order).
_BY_SITE_POSITION = frozenset({"unreachable", "max_travel"})
_RULE_ORDER = {rule: n for n, rule in enumerate(RULES)}


class _Tracker:
    """The validator's findings per polysystem, checked again only where an edit touched.

    Holds each open hub's members and the violations of its polysystem's rules (worded by
    the validator's own functions); a change of the set of hubs renumbers the polysystems,
    so every polysystem is checked again.
    """

    def __init__(self, problem: Problem, site_of: np.ndarray, hub_options: Mapping[str, str]) -> None:
        self.problem = problem
        self.site_of = site_of
        self.hub_options = hub_options
        self.members: dict[int, set[int]] = defaultdict(set)
        for i, j in enumerate(site_of.tolist()):
            self.members[j].add(i)
        offered: dict[str, list[str]] = defaultdict(list)
        for o in problem.options:
            offered[o.site_id].append(o.option)
        self.offered = dict(offered)
        self.option_of: dict[tuple[str, str], HubOption] = {(o.site_id, o.option): o for o in problem.options}
        self.amounts = option_amounts(problem)
        rules = problem.rules
        self.groups: tuple[np.ndarray, list[str]] | None = None
        if rules.respect_groups and problem.groups is not None:
            self.groups = factorize(np.asarray(problem.groups, dtype=object))
        self.neighbours: list[list[int]] | None = None
        if rules.contiguity and problem.adjacency is not None:
            self.neighbours = [[] for _ in range(problem.n_units)]
            for a, b in problem.adjacency:
                self.neighbours[a].append(b)
                self.neighbours[b].append(a)
        self.hosted: dict[int, list[int]] = defaultdict(list)
        for j, host in enumerate(problem.site_unit or ()):
            if host is not None:
                self.hosted[host].append(j)
        self.ps_ids: dict[str, str] = {}
        self.found: dict[int, list[tuple[tuple[int, int | str], Violation]]] = {}
        self.pops: dict[int, float] = {}
        self.hubs_seen: tuple[str, ...] | None = None

    def reassign(self, op: _Assign) -> None:
        self.members[op.old].discard(op.unit)
        self.members[op.new].add(op.unit)

    def populations(self) -> dict[str, float]:
        sites = self.problem.site_ids
        return {sites[j]: pop for j, pop in sorted(self.pops.items(), key=lambda item: sites[item[0]])}

    def update(self, edit: _Edit) -> tuple[Violation, ...]:
        """Check again what ``edit`` (already applied) touched; every violation, in the validator's order."""
        problem = self.problem
        touched: set[int] = set()
        for op in edit.ops:
            if isinstance(op, _Assign):
                touched.update((op.old, op.new, *self.hosted.get(op.unit, ())))
            else:
                touched.add(problem.site_index(op.site))
        hubs = tuple(sorted(self.hub_options))
        if self.hubs_seen is None:
            touched = {problem.site_index(s) for s in hubs}
        if hubs != self.hubs_seen:
            # the polysystems are renumbered: the ones breaking a rule are worded again; the
            # others' members, options and host units are as they were, so they still break none
            self.hubs_seen = hubs
            self.ps_ids = Plan(assignment={}, hub_options=dict(self.hub_options), status="unsolved").polysystem_ids()
            touched |= set(self.found)
        for j in touched:
            if problem.site_ids[j] in self.hub_options:
                self.check(j)
            else:
                self.found.pop(j, None)
                self.pops.pop(j, None)
        found = [item for items in self.found.values() for item in items]
        found += [((_RULE_ORDER[v.rule], n), v) for n, v in enumerate(plan_wide_violations(problem, self.hub_options))]
        found.sort(key=lambda item: item[0])
        return tuple(v for _, v in found)

    def check(self, j: int) -> None:
        """Check the rules of the polysystem of the hub at site position ``j``."""
        problem = self.problem
        site = problem.site_ids[j]
        ps_id = self.ps_ids.get(site)
        where = polysystem_label(problem, site, ps_id)
        members = np.fromiter(sorted(self.members.get(j, ())), dtype=np.int64)
        option = self.hub_options[site]
        found = site_violations(
            problem, site, ps_id, n_units=len(members), option=option, offered=self.offered.get(site, [])
        )
        self.pops[j] = 0.0
        if len(members):
            self.pops[j] = pop = polysystem_population(problem.population, members)
            found += population_violations(
                problem,
                site,
                ps_id,
                pop,
                waived=bool(problem.waived[members].any()),
                option=self.option_of.get((site, option)),
            )
            limit = problem.rules.max_travel_min
            for rule, bad in zip(
                ("unreachable", "max_travel"), travel_faults(problem.travel_min[members, j], limit), strict=True
            ):
                if bad.any():
                    found.append(travel_violation(problem, rule, where, j, members[bad].tolist(), limit))
            if self.groups is not None:
                crossing = groups_violation(problem, where, site, members, *self.groups)
                if crossing is not None:
                    found.append(crossing)
            if self.neighbours is not None:
                split = contiguity_violation(problem, where, site, self.parts(members))
                if split is not None:
                    found.append(split)
        host = problem.site_unit[j] if problem.site_unit is not None else None
        if host is not None and self.site_of[host] != j:
            other = problem.site_ids[self.site_of[host]]
            found.append(
                host_unit_violation(
                    problem, where, site, host, polysystem_label(problem, other, self.ps_ids.get(other))
                )
            )
        keyed = [((_RULE_ORDER[v.rule], j if v.rule in _BY_SITE_POSITION else site), v) for v in found]
        if keyed:
            self.found[j] = keyed
        else:
            self.found.pop(j, None)

    def parts(self, members: np.ndarray) -> list[np.ndarray]:
        """Connected parts of ``members`` over the adjacency, each ascending."""
        assert self.neighbours is not None
        left = set(members.tolist())
        parts = []
        while left:
            seed = left.pop()
            part, stack = [seed], [seed]
            while stack:
                for b in self.neighbours[stack.pop()]:
                    if b in left:
                        left.remove(b)
                        part.append(b)
                        stack.append(b)
            parts.append(np.array(sorted(part), dtype=np.int64))
        return parts
