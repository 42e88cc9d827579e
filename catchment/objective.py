"""The objective terms, as one table: what each term is, measures and is labelled.

Every place that builds, searches, scores or reports an objective reads the terms from
:data:`TERMS` (the MIP model, the heuristic, the neighbourhood search, the metrics, the maps
and the report), and the vocabulary of term names (:data:`OBJECTIVE_TERMS`, the keys of a
scenario's ``[objective]`` table) is read from here. No file is read or written here.

A term is one of three kinds:

``"travel"``
    a weighted mean of each unit's travel minutes to its hub. The term gives each unit a
    weight (:attr:`ObjectiveTerm.unit_weights`, e.g. its population); its coefficient on the
    assignment of unit ``i`` to site ``j`` is ``share_i x t_ij``, with ``share`` the weights
    divided by their sum (:meth:`ObjectiveTerm.pair_coefficients`).
``"options"``
    a sum over the chosen hub options (:attr:`ObjectiveTerm.option_value`, e.g. the capital
    cost in GBP), divided by :attr:`ObjectiveTerm.scale` (:meth:`ObjectiveTerm.option_coefficient`).
``"max"``
    the longest travel of any unit to its hub: not linear; each solver models it its own way.

A new linear term is one row of :data:`TERMS`. A term that weighs travel by a property of
the units other than population and deprivation reads it from ``Problem.unit_data`` under
its :attr:`ObjectiveTerm.unit_column`; problems built from files carry that column of the
units table whenever every unit has a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol

import numpy as np

__all__ = [
    "CAPITAL_UNIT",
    "DEFAULT_WEIGHTS",
    "MAX_WEIGHT",
    "OBJECTIVE_TERMS",
    "TERM",
    "TERMS",
    "UNIT_DATA_COLUMNS",
    "ObjectiveTerm",
    "TermData",
    "extra_reported_terms",
    "option_terms",
    "travel_terms",
]

#: Capital enters objectives in GBP millions (so that weights are of comparable size).
CAPITAL_UNIT = 1e6
#: Largest weight of an objective term. Terms are of comparable size (minutes, GBP millions),
#: so a weight a million times another's already ranks one term strictly before the other
#: (the ``lexicographic`` order says so directly); larger weights only overflow the solver,
#: which treats coefficients of 1e20 and above as infinite.
MAX_WEIGHT = 1e6


class TermData(Protocol):
    """What a term reads of a problem (a :class:`catchment.problem.Problem` has it)."""

    @property
    def population(self) -> np.ndarray:
        """Population of each unit."""
        ...

    @property
    def deprivation(self) -> np.ndarray | None:
        """Deprivation score of each unit, or ``None`` when the problem has none."""
        ...

    @property
    def unit_data(self) -> Mapping[str, np.ndarray]:
        """Further per-unit columns by name."""
        ...


@dataclass(frozen=True)
class ObjectiveTerm:
    """One objective term: its name, what it measures, how it is computed and labelled.

    Parameters
    ----------
    name
        The term's name: a key of ``Objective.weights`` and of a scenario's ``[objective]``.
    label
        Its label in reports and maps.
    unit
        Its unit of measure (``"min"``, ``"GBP millions"``).
    description
        What it measures, in words.
    kind
        ``"travel"``, ``"options"`` or ``"max"`` (see the module docstring).
    unit_weights
        Travel terms: each unit's weight of its travel minutes (not normalised), or ``None``
        when the problem lacks the data the term needs.
    option_value
        Option terms: the amount of one hub option (before :attr:`scale`).
    scale
        Option terms: amounts are divided by it (capital: :data:`CAPITAL_UNIT`).
    needs
        The data a travel term needs, in words, for the error when a problem lacks it.
    requires
        Whether a problem has the data the term needs (default: a problem always has it).
    unit_column
        The units-table column (and ``Problem.unit_data`` key) the term reads, if any: a
        problem without it lacks the term's data.
    headline
        Reported on every plan, whether or not the objective uses it.
    """

    name: str
    label: str
    unit: str
    description: str
    kind: Literal["travel", "options", "max"]
    unit_weights: Callable[[TermData], np.ndarray | None] | None = None
    option_value: Callable[[Any], float] | None = None
    scale: float = 1.0
    needs: str | None = None
    requires: Callable[[TermData], bool] | None = None
    unit_column: str | None = None
    headline: bool = False

    @property
    def linear(self) -> bool:
        """The term is linear in the assignment and option variables."""
        return self.kind != "max"

    def available(self, problem: TermData) -> bool:
        """The problem has the data the term needs."""
        if self.unit_column is not None and self.unit_column not in problem.unit_data:
            return False
        return self.requires is None or self.requires(problem)

    def weights(self, problem: TermData) -> np.ndarray:
        """Each unit's weight of its travel minutes (a travel term the problem has data for)."""
        if self.unit_weights is None:
            raise ValueError(f"{self.name} is not a travel term")
        raw = self.unit_weights(problem)
        if raw is None:
            raise ValueError(f"[objective] {self.name} needs {self.needs}")
        return raw

    def travel_shares(self, problem: TermData) -> np.ndarray:
        """Per-unit shares of travel minutes (they sum to 1, or are all 0).

        The term's value is ``shares @ minutes`` (minutes of each unit to its hub).
        """
        raw = self.weights(problem)
        total = float(raw.sum())
        return raw / total if total > 0 else np.zeros_like(raw)

    def pair_coefficients(self, problem: TermData, units: np.ndarray, travel: np.ndarray) -> np.ndarray:
        """Coefficient of each (unit, site) assignment: ``share[units] x travel``."""
        return self.travel_shares(problem)[units] * travel

    def text(self, value: float | None) -> str:
        """A value of the term for people: ``"12.3 min"``, ``"4.50 GBP millions"``, ``"n/a"``."""
        if value is None or not math.isfinite(value):
            return "n/a"
        if self.unit == "min":
            return f"{float(value):.1f} min"
        return f"{float(value):,.2f} {self.unit}"

    def option_amount(self, option: Any) -> float:
        """The amount of one hub option (an option term's :attr:`option_value`)."""
        if self.option_value is None:
            raise ValueError(f"{self.name} is not a hub-option term")
        return self.option_value(option)

    def option_coefficient(self, amount: float) -> float:
        """Coefficient of a hub option of ``amount`` (its :attr:`option_value`)."""
        return amount / self.scale


def _population(problem: TermData) -> np.ndarray:
    return problem.population


def _deprivation(problem: TermData) -> np.ndarray | None:
    return None if problem.deprivation is None else problem.population * problem.deprivation


def _has_deprivation(problem: TermData) -> bool:
    return problem.deprivation is not None


def _capital(option: Any) -> float:
    return option.capital_cost


#: The objective terms, in the order the vocabulary lists them.
TERMS: tuple[ObjectiveTerm, ...] = (
    ObjectiveTerm(
        "mean_travel",
        "Mean travel",
        "min",
        "population-weighted mean travel to the hub (minutes)",
        "travel",
        unit_weights=_population,
        headline=True,
    ),
    ObjectiveTerm(
        "max_travel", "Longest travel", "min", "longest travel of any unit to its hub (minutes)", "max", headline=True
    ),
    ObjectiveTerm(
        "deprivation_travel",
        "Deprivation-weighted travel",
        "min",
        "mean travel weighted by population x IMD score (minutes)",
        "travel",
        unit_weights=_deprivation,
        requires=_has_deprivation,
        needs="a deprivation (IMD) score per unit (LSOA and practice selections take it from the IMD 2019 "
        "file; a units file needs an imd_score column)",
    ),
    ObjectiveTerm(
        "capital",
        "Capital",
        "GBP millions",
        "capital cost of the chosen hub options (GBP millions)",
        "options",
        option_value=_capital,
        scale=CAPITAL_UNIT,
        headline=True,
    ),
    ObjectiveTerm(
        "age60_travel",
        "Travel of people aged 60+",
        "min",
        "mean travel weighted by the population aged 60 and over (minutes)",
        "travel",
        unit_weights=lambda problem: problem.unit_data.get("population_60_plus"),
        unit_column="population_60_plus",
        needs="the population aged 60 and over of every unit (population_60_plus: LSOA and practice "
        "selections take it from the IMD 2019 file; a units file or the demo has none)",
    ),
)

#: Term name -> term.
TERM: Mapping[str, ObjectiveTerm] = {t.name: t for t in TERMS}
#: The vocabulary of term names (weights, lexicographic priorities, scenario keys).
OBJECTIVE_TERMS: tuple[str, ...] = tuple(TERM)
#: The weights of an objective nobody chose: population-weighted mean travel alone.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({"mean_travel": 1.0})
#: Units-table columns that terms read from ``Problem.unit_data``.
UNIT_DATA_COLUMNS: tuple[str, ...] = tuple(t.unit_column for t in TERMS if t.unit_column)


def travel_terms() -> tuple[ObjectiveTerm, ...]:
    """The travel terms (weighted means of travel minutes), in table order."""
    return tuple(t for t in TERMS if t.kind == "travel")


def option_terms() -> tuple[ObjectiveTerm, ...]:
    """The hub-option terms (sums over the chosen options), in table order."""
    return tuple(t for t in TERMS if t.kind == "options")


def extra_reported_terms(used: Iterable[str]) -> tuple[ObjectiveTerm, ...]:
    """The terms of ``used`` (an objective's terms) beyond the headline ones, in table order.

    Reports and maps show the headline terms of every plan and these as well, so that a
    plan is reported on every term it was optimised on.
    """
    names = set(used)
    return tuple(t for t in TERMS if not t.headline and t.name in names)
