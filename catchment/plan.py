"""The result of a solve: an immutable :class:`Plan`.

A plan names, for every unit, the hub site of its polysystem, and for every open hub the
option chosen (reuse, refurbish, new build). It carries the solver's own account of itself:
status, objective, best bound, gap, runtime. A polysystem is identified by its hub site;
``polysystem_ids`` gives stable, human-friendly names (PS01, PS02, ... ordered by hub site id).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from catchment.problem import Picklable

__all__ = [
    "Plan",
    "PLAN_STATUSES",
    "NOT_PROVEN_OPTIMAL",
    "CONFIGURED_POLYSYSTEMS",
    "gap_words",
    "relative_gap",
    "money_words",
    "share_words",
    "status_words",
]

#: ``optimal``: proven optimal within the requested relative gap; ``feasible``: valid but not
#: proven optimal (time limit, heuristic); ``infeasible``: proven that no plan exists;
#: ``unsolved``: the solver stopped without a plan and without a proof; ``breaks_rules``: a
#: planner's configuration scored as given (``evaluate``) that breaks at least one rule (the
#: validator's findings are in ``Plan.violations``).
PLAN_STATUSES = ("optimal", "feasible", "infeasible", "unsolved", "breaks_rules")

#: The words for a plan that satisfies the rules but whose optimality was not proven.
NOT_PROVEN_OPTIMAL = "feasible, not proven optimal"

#: Key of ``Plan.stats`` in the plan of a planner's configuration (``evaluate``): hub site id
#: -> the polysystem id the configuration gave (:meth:`Plan.configured_ids`).
CONFIGURED_POLYSYSTEMS = "configuration_polysystems"


def share_words(share: float | None, places: int = 1) -> str:
    """A share (0-1) for people, never rounded to ``0.0%`` or ``100.0%`` when it is neither.

    A share above zero but below the last place shown is ``< 0.1%``; one below 1 but within
    the last place of it is ``> 99.9%`` (``places`` decimals of a percent); ``n/a`` when it is
    missing or not finite. Exactly 0 and 1 are ``0.0%`` and ``100.0%``.
    """
    if share is None or not math.isfinite(share := float(share)):
        return "n/a"
    last = 10.0 ** -(places + 2)  # the last place shown, as a share
    if 0.0 < share < last:
        return f"< {last:.{places}%}"
    if 1.0 - last < share < 1.0:
        return f"> {1.0 - last:.{places}%}"
    return f"{share:.{places}%}"


def relative_gap(objective: float, bound: float) -> float:
    """The relative gap of a plan of value ``objective`` above a lower ``bound``: :attr:`Plan.gap`.

    ``(objective - bound) / max(|objective|, 1e-9)``, never below 0.
    """
    return max(0.0, objective - bound) / max(abs(objective), 1e-9)


def gap_words(gap: float | None, places: int = 2) -> str:
    """A relative gap for people, never rounded to zero: ``< 0.01%`` when below the last place shown.

    ``n/a (no bound)`` without a (finite) gap; ``places`` decimals of a percent. A gap of zero
    is ``< 0.01%`` too (the solver proves a plan only within its tolerance); otherwise as
    :func:`share_words`.
    """
    if gap is None or not math.isfinite(gap):
        return "n/a (no bound)"
    return share_words(max(float(gap), math.ulp(0.0)), places)


#: Amounts (GBP) from this size up are shown in millions (:func:`money_words`).
MILLIONS_FROM_GBP = 100_000.0


def money_words(amount: float | None) -> str:
    """An amount of money (GBP) for people, never rounded to ``£0.00m`` when it is not zero.

    From :data:`MILLIONS_FROM_GBP` up in millions to two places (``£1.75m``), below it in
    whole pounds (``£99,999``, ``£100``), below one pound in pence (``£0.30``); ``n/a``
    when missing or not finite.
    """
    if amount is None or not math.isfinite(float(amount)):
        return "n/a"
    value = float(amount) + 0.0  # -0.0 is 0
    if abs(value) >= MILLIONS_FROM_GBP:
        return f"£{value / 1e6:,.2f}m"
    return f"£{value:,.2f}" if 0 < abs(value) < 1 else f"£{value:,.0f}"


def status_words(status: str, *, mip_gap: float | None = None, n_violations: int = 0) -> str:
    """Honest words for a status of :data:`PLAN_STATUSES` (any other is returned as it is).

    ``optimal`` says within which relative gap it was proven (``mip_gap``); ``feasible`` is
    :data:`NOT_PROVEN_OPTIMAL`; ``breaks_rules`` counts the ``n_violations``.
    """
    if status == "optimal":
        if mip_gap:
            return f"optimal (proven within a relative gap of {mip_gap:.2%})"
        return "optimal (proven)"
    if status == "feasible":
        return NOT_PROVEN_OPTIMAL
    if status == "infeasible":
        return "infeasible (no plan satisfies the rules)"
    if status == "breaks_rules":
        return f"breaks {n_violations} rule{'' if n_violations == 1 else 's'}"
    if status == "unsolved":
        return "no plan found"
    return status


@dataclass(frozen=True)
class Plan(Picklable):
    """An assignment of units to polysystems with their hubs (immutable).

    Attributes
    ----------
    assignment : Mapping[str, str]
        Unit id -> hub site id of the unit's polysystem (empty when there is no plan).
    hub_options : Mapping[str, str]
        Open hub site id -> option (``reuse`` / ``refurbish`` / ``new_build``).
    status : str
        One of :data:`PLAN_STATUSES`.
    objective : float or None
        Objective value as the solver reports it (the model's weighted objective).
    bound : float or None
        Best proven lower bound on the objective.
    gap : float or None
        Relative gap ``(objective - bound) / max(|objective|, 1e-9)`` (:func:`relative_gap`).
    solver : str
        Solver that produced the plan (``highs``, ``cbc``, ``heuristic``, ``evaluate``).
    runtime_s : float
        Wall-clock seconds spent building and solving.
    mip_gap : float or None
        Relative gap tolerance that was requested (``optimal`` means proven within it).
    notes : tuple of str
        Anything a reader must know (time limit hit, warm start used, fallback taken).
    stats : Mapping
        Solver statistics (plain data).
    violations : tuple
        The rules the plan breaks, as :func:`catchment.validate.validate_plan` found them
        (:class:`~catchment.validate.Violation`); given exactly when ``status`` is
        ``breaks_rules``.
    """

    assignment: Mapping[str, str]
    hub_options: Mapping[str, str]
    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solver: str = ""
    runtime_s: float = 0.0
    mip_gap: float | None = None
    notes: tuple[str, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    violations: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in PLAN_STATUSES:
            raise ValueError(f"status must be one of {PLAN_STATUSES}, got {self.status!r}")
        object.__setattr__(self, "violations", tuple(self.violations))
        if (self.status == "breaks_rules") != bool(self.violations):
            raise ValueError("a plan lists violations exactly when its status is 'breaks_rules'")
        object.__setattr__(self, "assignment", MappingProxyType(dict(self.assignment)))
        object.__setattr__(self, "hub_options", MappingProxyType(dict(self.hub_options)))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))

    @property
    def proven_optimal(self) -> bool:
        """True only when the solver proved optimality (within ``mip_gap``)."""
        return self.status == "optimal"

    @property
    def has_plan(self) -> bool:
        """True when the plan assigns at least one unit."""
        return bool(self.assignment)

    @property
    def status_label(self) -> str:
        """Honest words for the status, for terminals and reports (:func:`status_words`)."""
        return status_words(self.status, mip_gap=self.mip_gap, n_violations=len(self.violations))

    @property
    def bounds_label(self) -> str | None:
        """Both lower bounds and the one that certified the gap, in words (``None``: not recorded).

        :meth:`bounds_words` with no label after the numbers.
        """
        return self.bounds_words()

    def bounds_words(self, *, label: str = "") -> str | None:
        """Both lower bounds and the one that certified the gap, in words (``None``: not recorded).

        Reads ``stats["bounds"]`` (``{"lp", "lagrangian", "source"}``), which solvers record
        when they compute a Lagrangian bound or return a plan not proven optimal, e.g.
        ``"LP relaxation 5.6690; Lagrangian 5.6932; the gap is certified by the Lagrangian
        bound"`` or ``"LP relaxation n/a; Lagrangian not computed; the gap is certified by
        the MIP's own bound"``.

        Parameters
        ----------
        label
            Written after each number, e.g. ``" (estimate)"`` when the objective is one
            (:func:`catchment.metrics.objective_estimate_label`).
        """
        bounds = self.stats.get("bounds")
        if not isinstance(bounds, Mapping):
            return None
        lp, lagrangian, source = bounds.get("lp"), bounds.get("lagrangian"), bounds.get("source")
        parts = [
            f"LP relaxation {'n/a' if lp is None else f'{lp:.6g}{label}'}",
            f"Lagrangian {'not computed' if lagrangian is None else f'{lagrangian:.6g}{label}'}",
        ]
        names = {"lp": "the LP bound", "lagrangian": "the Lagrangian bound", "mip": "the MIP's own bound"}
        certified = f"the gap is certified by {names[source]}" if source in names else "no bound certifies the gap"
        return "; ".join(parts) + "; " + certified

    @property
    def hubs(self) -> tuple[str, ...]:
        """Open hub site ids, sorted."""
        return tuple(sorted(self.hub_options))

    def polysystem_ids(self) -> dict[str, str]:
        """Hub site id -> polysystem id (``PS01``, ``PS02``, ... by hub site id)."""
        width = max(2, len(str(len(self.hub_options))))
        return {site: f"PS{k:0{width}d}" for k, site in enumerate(self.hubs, start=1)}

    def configured_ids(self) -> dict[str, str]:
        """Hub site id -> the planner's own polysystem id, for the plan of a configuration.

        Read from ``stats`` (:data:`CONFIGURED_POLYSYSTEMS`); empty for a plan that was
        solved. The engine's ids (:meth:`polysystem_ids`) number the polysystems afresh, so
        every output of a configuration names the planner's id beside them.
        """
        given = self.stats.get(CONFIGURED_POLYSYSTEMS)
        if not isinstance(given, Mapping):
            return {}
        return {str(site): str(ps) for site, ps in given.items() if site in self.hub_options}

    def units_of(self, site_id: str) -> tuple[str, ...]:
        """Units assigned to the hub at ``site_id``."""
        return tuple(u for u, s in self.assignment.items() if s == site_id)
