"""The catchment problem: units, candidate hub sites, hub options, rules and objectives.

A :class:`Problem` is built once, validated once, and never mutated: solvers, the validator
and the maps only read it. Identifiers are the real codes (practice codes, LSOA codes, site
ids); positions in the arrays are an internal detail that follows ``unit_ids`` and
``site_ids``.

Two constructors:

* :meth:`Problem.from_arrays` — plain sequences and a travel-time matrix (minutes);
* :meth:`Problem.from_geodataframes` — units and sites as GeoDataFrames (EPSG:27700) plus a
  :class:`geodata.travel.TravelTimes`-like matrix; for practice units, travel to a hub is the
  patient-weighted mean over the small areas where the practice's patients live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from catchment.objective import DEFAULT_WEIGHTS, OBJECTIVE_TERMS, TERM
from geodata.errors import ProblemDefinitionError

__all__ = [
    "UNIT_TYPES",
    "SITE_TYPES",
    "SITE_STATUSES",
    "OPTION_KINDS",
    "DEFAULT_FLOOR",
    "MAX_GBP",
    "FLOOR_TOLERANCE",
    "RULE_PRESETS",
    "HubOption",
    "DroppedUnit",
    "PLACEHOLDER_COSTS_NOTE",
    "ESTIMATE_LABEL",
    "Rules",
    "Objective",
    "Problem",
]

UNIT_TYPES = ("practice", "lsoa")
SITE_TYPES = ("community", "hospital")
SITE_STATUSES = ("candidate", "required", "excluded")
OPTION_KINDS = ("reuse", "refurbish", "new_build")
#: Default minimum population per polysystem (NHS London 2009: 50,000).
DEFAULT_FLOOR = 50_000.0
#: Largest amount of money (GBP) a capital cost or a budget may be: 1 trillion, more than five
#: years of the whole NHS budget in England (about GBP 180 billion a year in 2023/24), so no
#: hub or capital programme comes near. A larger figure is a typing or unit mistake (e.g.
#: 1e300), which would overflow the solver (it treats coefficients of 1e20 and above as infinite).
MAX_GBP = 1e12
#: Relative tolerance of "below the floor" (populations are sums of floats): a polysystem is
#: below the floor when its population is below ``floor * (1 - FLOOR_TOLERANCE)``. The one
#: convention of the validator, the metrics, the diagnosis and the heuristic
#: (:meth:`Rules.below_floor`).
FLOOR_TOLERANCE = 1e-9

#: Named sets of rules a scenario starts from (``[rules] preset``; its own keys override):
#: ``"polysystem"``: NHS London 2009 polysystems, at least :data:`DEFAULT_FLOOR` people;
#: ``"pcn"``: Primary Care Networks (NHS England DES 2019: 30,000-50,000 patients, a
#: contiguous area; rural networks below the floor need a waiver with a reason).
RULE_PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "polysystem": MappingProxyType({"floor": DEFAULT_FLOOR}),
        "pcn": MappingProxyType({"floor": 30_000.0, "ceiling": 50_000.0, "contiguity": True}),
    }
)

UnitType = Literal["practice", "lsoa"]


def _rebuild(cls: type, values: dict[str, Any]) -> Any:
    return cls(**values)


class Picklable:
    """Pickling for frozen dataclasses that hold read-only mappings.

    ``MappingProxyType`` cannot be pickled, so such an object is rebuilt through its
    constructor from plain dicts (and validated again) — e.g. to send a sub-problem to a
    worker process.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        values = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            values[f.name] = dict(value) if isinstance(value, MappingProxyType) else value
        return _rebuild, (type(self), values)


def _frozen_array(values: Any, *, dtype: Any) -> np.ndarray:
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class HubOption:
    """One way of providing a hub at a site: reuse, refurbishment or new build.

    Parameters
    ----------
    site_id
        The site this option belongs to.
    option
        One of ``"reuse"``, ``"refurbish"``, ``"new_build"``.
    capital_cost
        Capital cost in GBP (>= 0).
    capacity
        Maximum population the hub can serve under this option, or ``None`` (unlimited).
    placeholder
        The capital cost is a built-in placeholder (indicative figures, or the demo's
        synthetic ones), not a cost the scenario supplied; every output that shows it says so.
    """

    site_id: str
    option: str
    capital_cost: float = 0.0
    capacity: float | None = None
    placeholder: bool = False


#: What follows a capital figure whose costs include placeholders (see ``HubOption.placeholder``).
PLACEHOLDER_LABEL = " (placeholder)"
#: What follows a travel figure (or its heading) when the travel times are the crow-fly estimate.
ESTIMATE_LABEL = " (estimate)"
#: What every output says where capital costs include placeholders.
PLACEHOLDER_COSTS_NOTE = (
    "capital costs are placeholders (built-in indicative figures, not real estates costs): "
    "supply them with [sites.options] or [sites] options_file"
)


@dataclass(frozen=True)
class DroppedUnit:
    """A unit of the selection that could not be planned (and why).

    Parameters
    ----------
    unit_id, name
        The unit's code and name.
    population
        Its population (registered list or residents); counts in the coverage denominator.
    reason
        Why it was left out, in words (e.g. "no coordinates").
    """

    unit_id: str
    name: str
    population: float
    reason: str


@dataclass(frozen=True)
class Rules(Picklable):
    """The rules every plan must satisfy.

    Parameters
    ----------
    floor
        Minimum population per polysystem (NHS London 2009: 50,000; PCN-style: 30,000).
    ceiling
        Maximum population per polysystem, or ``None``.
    min_polysystems, max_polysystems
        Bounds on the number of polysystems (equal for an exact count; ``None`` = free).
    max_travel_min
        Maximum travel time (minutes) from any unit to its hub, or ``None``.
    budget
        Maximum total capital cost (GBP) of the chosen hub options, or ``None``.
    contiguity
        Polysystems must be contiguous (LSOA units, adjacency from boundaries).
    respect_groups
        No polysystem may cross the boundaries given by ``Problem.groups`` (borough, PCT).
    waivers
        Unit id -> reason: a polysystem containing a waived unit may fall below the floor
        (the rural PCN rule). The reason is carried into every report.
    """

    floor: float = DEFAULT_FLOOR
    ceiling: float | None = None
    min_polysystems: int | None = None
    max_polysystems: int | None = None
    max_travel_min: float | None = None
    budget: float | None = None
    contiguity: bool = False
    respect_groups: bool = False
    waivers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "waivers", MappingProxyType(dict(self.waivers)))
        problems = []
        if not (self.floor >= 0 and math.isfinite(self.floor)):
            problems.append(f"floor must be a non-negative number, got {self.floor!r}")
        if self.ceiling is not None and not self.ceiling >= max(self.floor, 0):
            problems.append(f"ceiling ({self.ceiling!r}) must be at least the floor ({self.floor!r})")
        for name in ("min_polysystems", "max_polysystems"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if (
            self.min_polysystems is not None
            and self.max_polysystems is not None
            and self.min_polysystems > self.max_polysystems
        ):
            problems.append(
                f"min_polysystems ({self.min_polysystems}) exceeds max_polysystems ({self.max_polysystems})"
            )
        if self.max_travel_min is not None and not self.max_travel_min > 0:
            problems.append(f"max_travel_min must be positive, got {self.max_travel_min!r}")
        if self.budget is not None and not self.budget >= 0:
            problems.append(f"budget must be non-negative, got {self.budget!r}")
        for unit, reason in self.waivers.items():
            if not str(reason).strip():
                problems.append(f"waiver for {unit!r} needs a reason")
        if problems:
            raise ProblemDefinitionError(problems)

    @property
    def floor_threshold(self) -> float:
        """The population below which a polysystem is below the floor (see :data:`FLOOR_TOLERANCE`)."""
        return self.floor * (1 - FLOOR_TOLERANCE)

    def below_floor(self, population: Any) -> Any:
        """True where ``population`` (a number or an array) is below the floor.

        The one predicate of "below the floor", within :data:`FLOOR_TOLERANCE`; it ignores
        waivers (a polysystem holding a waived unit may be below the floor and still valid).
        """
        return population < self.floor_threshold

    def waived_mask(self, unit_ids: Sequence[str]) -> np.ndarray:
        """Boolean per unit of ``unit_ids``: the unit holds a waiver (``waivers``)."""
        return np.isin(np.asarray(unit_ids, dtype=object), list(self.waivers))


@dataclass(frozen=True)
class Objective(Picklable):
    """What a plan minimises.

    Parameters
    ----------
    weights
        Term -> weight for a weighted sum. Terms: those of :data:`catchment.objective.TERMS`
        (``mean_travel``, ``max_travel``, ``deprivation_travel``, ``capital``, ...).
    lexicographic
        Terms in priority order; when given, each term is minimised in turn, the earlier
        ones held at their optimum (within ``lexicographic_tolerance``); ``weights`` is
        then ignored.
    lexicographic_tolerance
        Relative slack allowed on earlier terms in a lexicographic solve.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    lexicographic: tuple[str, ...] | None = None
    lexicographic_tolerance: float = 1e-6

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        if self.lexicographic is not None:
            object.__setattr__(self, "lexicographic", tuple(self.lexicographic))
        problems = []
        for term, weight in self.weights.items():
            if term not in OBJECTIVE_TERMS:
                problems.append(f"unknown objective term {term!r}; choose from {', '.join(OBJECTIVE_TERMS)}")
            elif not (weight >= 0 and math.isfinite(weight)):
                problems.append(f"weight of {term!r} must be a non-negative number, got {weight!r}")
        for term in self.lexicographic or ():
            if term not in OBJECTIVE_TERMS:
                problems.append(f"unknown objective term {term!r}; choose from {', '.join(OBJECTIVE_TERMS)}")
        if self.lexicographic is None and not any(w > 0 for w in self.weights.values()):
            problems.append("the objective needs at least one term with a positive weight")
        if problems:
            raise ProblemDefinitionError(problems)

    @property
    def terms(self) -> tuple[str, ...]:
        """Terms in use, in priority order for a lexicographic objective."""
        if self.lexicographic is not None:
            return self.lexicographic
        return tuple(t for t, w in self.weights.items() if w > 0)


@dataclass(frozen=True, eq=False)
class Problem:
    """A polysystem planning problem (immutable).

    Attributes
    ----------
    unit_ids : tuple of str
        Real codes of the units (practice codes or LSOA codes), in array order.
    unit_type : {"practice", "lsoa"}
    population : ndarray of float, shape (n_units,)
        Registered list (practices) or mid-year population (LSOAs).
    site_ids, site_names, site_types, site_status : tuple of str, length n_sites
    options : tuple of HubOption
        At least one option per site that is not excluded.
    travel_min : ndarray of float, shape (n_units, n_sites)
        Travel time in minutes from each unit to each site; ``inf`` where unreachable.
    travel_source : {"network", "matrix", "estimate"}
        Where the travel times come from; ``travel_label`` describes it in words.
    deprivation : ndarray of float or None
        IMD score per unit (higher = more deprived), needed for ``deprivation_travel``.
    groups : tuple of str or None
        Boundary group (borough, PCT) of each unit, for ``Rules.respect_groups``.
    adjacency : tuple of (int, int) or None
        Undirected adjacent unit pairs ``(i, j)`` with ``i < j``, for contiguity.
    site_unit : tuple of (int or None) or None
        Index of the unit whose area contains each site (LSOA mode). Whenever it is given,
        an open hub's host unit belongs to the hub's own polysystem (a hub sits inside the
        area it serves); under contiguity that unit is the root of the polysystem.
    unit_names : tuple of str
    rules : Rules
    objective : Objective
    units, sites : GeoDataFrame or None
        The frames the problem was built from (read only; used by maps and outputs).
    dropped : tuple of DroppedUnit
        Units of the selection left out of the problem (no coordinates, ...): they count in
        the population a plan's coverage is measured against.
    unit_data : mapping of str to ndarray
        Further per-unit values that objective terms read (column name -> values, shape
        ``(n_units,)``, non-negative), e.g. those of :data:`catchment.objective.UNIT_DATA_COLUMNS`.
    """

    unit_ids: tuple[str, ...]
    unit_type: UnitType
    population: np.ndarray
    site_ids: tuple[str, ...]
    site_names: tuple[str, ...]
    site_types: tuple[str, ...]
    site_status: tuple[str, ...]
    options: tuple[HubOption, ...]
    travel_min: np.ndarray
    rules: Rules = field(default_factory=Rules)
    objective: Objective = field(default_factory=Objective)
    travel_source: str = "matrix"
    travel_label: str = "user-supplied travel times"
    deprivation: np.ndarray | None = None
    groups: tuple[str, ...] | None = None
    adjacency: tuple[tuple[int, int], ...] | None = None
    site_unit: tuple[int | None, ...] | None = None
    unit_names: tuple[str, ...] | None = None
    units: Any = None
    sites: Any = None
    dropped: tuple[DroppedUnit, ...] = ()
    unit_data: Mapping[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    def __post_init__(self) -> None:
        problems: list[str] = []
        n, m = len(self.unit_ids), len(self.site_ids)
        object.__setattr__(self, "unit_ids", tuple(str(u) for u in self.unit_ids))
        object.__setattr__(self, "site_ids", tuple(str(s) for s in self.site_ids))
        object.__setattr__(self, "population", _frozen_array(self.population, dtype=float))
        object.__setattr__(self, "travel_min", _frozen_array(self.travel_min, dtype=float))
        if self.deprivation is not None:
            object.__setattr__(self, "deprivation", _frozen_array(self.deprivation, dtype=float))
        object.__setattr__(
            self, "unit_data", {str(k): _frozen_array(a, dtype=float) for k, a in self.unit_data.items()}
        )
        if self.unit_names is None:
            object.__setattr__(self, "unit_names", self.unit_ids)
        for name in ("site_names", "site_types", "site_status", "options", "dropped"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.groups is not None:
            object.__setattr__(self, "groups", tuple(str(g) for g in self.groups))
        if self.adjacency is not None:
            try:
                pairs = {(min(int(i), int(j)), max(int(i), int(j))) for i, j in self.adjacency if int(i) != int(j)}
            except (TypeError, ValueError):
                raise ProblemDefinitionError(["adjacency must be pairs of unit positions (whole numbers)"]) from None
            object.__setattr__(self, "adjacency", tuple(sorted(pairs)))
        if self.site_unit is not None:
            object.__setattr__(
                self, "site_unit", tuple(None if s is None or pd.isna(s) else int(s) for s in self.site_unit)
            )

        if self.unit_type not in UNIT_TYPES:
            problems.append(f"unit_type must be one of {UNIT_TYPES}, got {self.unit_type!r}")
        if n == 0:
            problems.append("there are no units")
        if m == 0:
            problems.append("there are no candidate hub sites")
        _check_unique("unit", self.unit_ids, problems)
        _check_unique("site", self.site_ids, problems)
        if self.population.shape != (n,):
            problems.append(f"population has shape {self.population.shape}, expected ({n},)")
        else:
            bad = [self.unit_ids[i] for i in np.flatnonzero(~(self.population >= 0) | ~np.isfinite(self.population))]
            if bad:
                problems.append(f"population must be a non-negative number for every unit; not for {_few(bad)}")
        for name in ("site_names", "site_types", "site_status"):
            if len(getattr(self, name)) != m:
                problems.append(f"{name} has {len(getattr(self, name))} entries, expected {m}")
        if len(self.site_types) == m:
            bad = [s for s, t in zip(self.site_ids, self.site_types, strict=True) if t not in SITE_TYPES]
            if bad:
                problems.append(f"site type must be one of {SITE_TYPES}; not for {_few(bad)}")
        if len(self.site_status) == m:
            bad = [s for s, t in zip(self.site_ids, self.site_status, strict=True) if t not in SITE_STATUSES]
            if bad:
                problems.append(f"site status must be one of {SITE_STATUSES}; not for {_few(bad)}")
        if self.travel_min.shape != (n, m):
            problems.append(f"travel_min has shape {self.travel_min.shape}, expected ({n}, {m})")
        elif np.any(self.travel_min < 0) or np.any(np.isnan(self.travel_min)):
            problems.append("travel_min must be non-negative minutes (inf for unreachable), no NaN")
        if self.travel_source not in ("network", "matrix", "estimate"):
            problems.append(f"travel_source must be network, matrix or estimate, got {self.travel_source!r}")

        site_set = set(self.site_ids)
        seen_options: set[tuple[str, str]] = set()
        for opt in self.options:
            if opt.site_id not in site_set:
                problems.append(f"option {opt.option!r} names unknown site {opt.site_id!r}")
            if opt.option not in OPTION_KINDS:
                problems.append(f"option of site {opt.site_id!r} must be one of {OPTION_KINDS}, got {opt.option!r}")
            if (opt.site_id, opt.option) in seen_options:
                problems.append(f"site {opt.site_id!r} has option {opt.option!r} twice")
            seen_options.add((opt.site_id, opt.option))
            if not (opt.capital_cost >= 0 and math.isfinite(opt.capital_cost)):
                problems.append(f"capital cost of {opt.site_id!r}/{opt.option} must be >= 0, got {opt.capital_cost!r}")
            if opt.capacity is not None and not opt.capacity > 0:
                problems.append(f"capacity of {opt.site_id!r}/{opt.option} must be positive, got {opt.capacity!r}")
        with_options = {o.site_id for o in self.options}
        if len(self.site_status) == m:
            missing = [
                s
                for s, st in zip(self.site_ids, self.site_status, strict=True)
                if st != "excluded" and s not in with_options
            ]
            if missing:
                problems.append(f"every usable site needs at least one hub option; none for {_few(missing)}")

        if self.deprivation is not None:
            if self.deprivation.shape != (n,):
                problems.append(f"deprivation has shape {self.deprivation.shape}, expected ({n},)")
            else:
                bad = [
                    self.unit_ids[i] for i in np.flatnonzero(~(self.deprivation >= 0) | ~np.isfinite(self.deprivation))
                ]
                if bad:
                    problems.append(f"deprivation (IMD score) must be a non-negative number; not for {_few(bad)}")
        for name, values in self.unit_data.items():
            if values.shape != (n,):
                problems.append(f"unit_data[{name!r}] has shape {values.shape}, expected ({n},)")
            else:
                bad = [self.unit_ids[i] for i in np.flatnonzero(~(values >= 0) | ~np.isfinite(values))]
                if bad:
                    problems.append(f"{name} must be a non-negative number; not for {_few(bad)}")
        for term in self.objective.terms:
            if not TERM[term].available(self):
                problems.append(f"[objective] {term} needs {TERM[term].needs}")
        if self.groups is not None and len(self.groups) != n:
            problems.append(f"groups has {len(self.groups)} entries, expected {n}")
        if self.rules.respect_groups and self.groups is None:
            problems.append("respect_groups needs a boundary group per unit")
        if self.adjacency is not None:
            bad_pairs = [p for p in self.adjacency if not (0 <= p[0] < n and 0 <= p[1] < n)]
            if bad_pairs:
                problems.append(f"adjacency refers to units out of range: {_few(bad_pairs)}")
        if self.rules.contiguity:
            if self.adjacency is None:
                problems.append(
                    "contiguity needs unit adjacency (LSOA boundaries; for practices, their territories: "
                    "catchment.territories)"
                )
        if self.site_unit is not None:
            if len(self.site_unit) != m:
                problems.append(f"site_unit has {len(self.site_unit)} entries, expected {m}")
            elif any(s is not None and not 0 <= s < n for s in self.site_unit):
                problems.append("site_unit refers to units out of range")
        unknown_waivers = [u for u in self.rules.waivers if u not in set(self.unit_ids)]
        if unknown_waivers:
            problems.append(f"waivers name unknown units: {_few(unknown_waivers)}")
        if len(self.unit_names or ()) != n:
            problems.append(f"unit_names has {len(self.unit_names or ())} entries, expected {n}")
        if problems:
            raise ProblemDefinitionError(problems)

    @classmethod
    def from_arrays(
        cls,
        *,
        unit_ids: Sequence[str],
        population: Sequence[float],
        site_ids: Sequence[str],
        travel_min: Any,
        unit_type: UnitType = "practice",
        site_names: Sequence[str] | None = None,
        site_types: Sequence[str] | None = None,
        site_status: Sequence[str] | None = None,
        options: Sequence[HubOption] | None = None,
        rules: Rules | None = None,
        objective: Objective | None = None,
        **extra: Any,
    ) -> Problem:
        """Build a problem from plain sequences.

        Sites default to community candidates, each with a single zero-cost ``reuse``
        option; ``extra`` passes the remaining :class:`Problem` fields (``deprivation``,
        ``groups``, ``adjacency``, ``site_unit``, ``travel_source``, ...).
        """
        site_ids = [str(s) for s in site_ids]
        m = len(site_ids)
        if options is None:
            options = [HubOption(s, "reuse", 0.0) for s in site_ids]
        return cls(
            unit_ids=tuple(str(u) for u in unit_ids),
            unit_type=unit_type,
            population=np.asarray(population, dtype=float),
            site_ids=tuple(site_ids),
            site_names=tuple(site_names) if site_names is not None else tuple(site_ids),
            site_types=tuple(site_types) if site_types is not None else ("community",) * m,
            site_status=tuple(site_status) if site_status is not None else ("candidate",) * m,
            options=tuple(options),
            travel_min=np.asarray(travel_min, dtype=float),
            rules=rules or Rules(),
            objective=objective or Objective(),
            **extra,
        )

    # ------------------------------------------------------------------ derived views
    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.unit_ids)

    @property
    def n_sites(self) -> int:
        """Number of candidate sites."""
        return len(self.site_ids)

    @property
    def total_population(self) -> float:
        """Population of the units planned."""
        return float(self.population.sum())

    @property
    def selection_population(self) -> float:
        """Population of the whole selection: the units planned and the units dropped."""
        return self.total_population + float(sum(d.population for d in self.dropped))

    @property
    def capital_costs_source(self) -> str:
        """``"scenario"`` when every hub option's cost was supplied, else ``"placeholder"``.

        A problem whose options include a built-in placeholder cost (``HubOption.placeholder``)
        is ``"placeholder"``: its capital figures must be labelled (:data:`PLACEHOLDER_COSTS_NOTE`).
        """
        return "placeholder" if any(o.placeholder for o in self.options) else "scenario"

    @property
    def waived(self) -> np.ndarray:
        """Boolean per unit (read only): the unit holds a waiver (``rules.waivers``)."""
        cached = self.__dict__.get("_waived_cache")
        if cached is None:
            cached = _frozen_array(self.rules.waived_mask(self.unit_ids), dtype=bool)
            object.__setattr__(self, "_waived_cache", cached)
        return cached

    @property
    def floor_coefficients(self) -> np.ndarray:
        """Each unit's contribution towards its polysystem's floor (read only).

        ``min(population, floor)`` — capping at the floor is a valid tightening, as no unit
        needs to count for more than the whole floor — and the whole floor for a waived unit,
        which lifts its polysystem's floor.
        """
        cached = self.__dict__.get("_floor_coef_cache")
        if cached is None:
            floor = float(self.rules.floor)
            cached = _frozen_array(np.where(self.waived, floor, np.minimum(self.population, floor)), dtype=float)
            object.__setattr__(self, "_floor_coef_cache", cached)
        return cached

    @property
    def max_polysystems_by_floor(self) -> int | None:
        """Most polysystems the floor allows, ``floor(sum min(p, F) / F)``.

        ``None`` when there is no floor or a waiver (a waived polysystem needs no floor's worth).
        """
        floor = float(self.rules.floor)
        if not floor > 0 or self.rules.waivers:
            return None
        return math.floor(float(np.minimum(self.population, floor).sum()) / floor + 1e-9)

    def unit_index(self, unit_id: str) -> int:
        """Array position of a unit id."""
        return self._unit_pos[unit_id]

    def site_index(self, site_id: str) -> int:
        """Array position of a site id."""
        return self._site_pos[site_id]

    @property
    def _unit_pos(self) -> dict[str, int]:
        cached = self.__dict__.get("_unit_pos_cache")
        if cached is None:
            cached = {u: i for i, u in enumerate(self.unit_ids)}
            object.__setattr__(self, "_unit_pos_cache", cached)
        return cached

    @property
    def _site_pos(self) -> dict[str, int]:
        cached = self.__dict__.get("_site_pos_cache")
        if cached is None:
            cached = {s: j for j, s in enumerate(self.site_ids)}
            object.__setattr__(self, "_site_pos_cache", cached)
        return cached

    @property
    def _options_by_site(self) -> dict[str, tuple[HubOption, ...]]:
        cached = self.__dict__.get("_options_cache")
        if cached is None:
            grouped: dict[str, list[HubOption]] = {}
            for o in self.options:
                grouped.setdefault(o.site_id, []).append(o)
            cached = {s: tuple(sorted(v, key=lambda o: o.capital_cost)) for s, v in grouped.items()}
            object.__setattr__(self, "_options_cache", cached)
        return cached

    def options_of(self, site_id: str) -> tuple[HubOption, ...]:
        """Hub options of one site, cheapest first."""
        return self._options_by_site.get(site_id, ())

    def option(self, site_id: str, option: str) -> HubOption:
        """The option ``option`` of site ``site_id`` (KeyError if absent)."""
        for o in self.options_of(site_id):
            if o.option == option:
                return o
        raise KeyError(f"site {site_id!r} has no option {option!r}")

    def usable_sites(self) -> np.ndarray:
        """Indices of sites that are not excluded."""
        return np.array([j for j, st in enumerate(self.site_status) if st != "excluded"], dtype=int)

    def required_sites(self) -> np.ndarray:
        """Indices of sites whose hub must open."""
        return np.array([j for j, st in enumerate(self.site_status) if st == "required"], dtype=int)

    def describe(self) -> dict[str, Any]:
        """Plain-data summary of the problem and its rules (for solution.json)."""
        r = self.rules
        return {
            "unit_type": self.unit_type,
            "n_units": self.n_units,
            "n_sites": self.n_sites,
            "total_population": self.total_population,
            "floor": r.floor,
            "ceiling": r.ceiling,
            "min_polysystems": r.min_polysystems,
            "max_polysystems": r.max_polysystems,
            "max_travel_min": r.max_travel_min,
            "budget": r.budget,
            "contiguity": r.contiguity,
            "respect_groups": r.respect_groups,
            "waivers": dict(r.waivers),
            "objective": dict(self.objective.weights)
            if self.objective.lexicographic is None
            else {"lexicographic": list(self.objective.lexicographic)},
            "travel_source": self.travel_source,
            "travel_label": self.travel_label,
            "capital_costs_source": self.capital_costs_source,
            "n_units_dropped": len(self.dropped),
        }


def _check_unique(kind: str, ids: Sequence[str], problems: list[str]) -> None:
    seen: set[str] = set()
    dups = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dups:
        problems.append(f"{kind} ids must be unique; duplicated: {_few(dups)}")


def _few(items: Sequence[Any], limit: int = 10) -> str:
    items = list(items)
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
