r"""Phasing a plan: which hub opens in which year under annual capital budgets.

A plan says where the hubs go; money comes a year at a time. :func:`phase_plan` answers
the implementation timetable as a small multi-period MIP (PuLP, HiGHS or CBC).

**Sets.** Hubs :math:`H` of the plan; years :math:`t = 1, \dots, T`.

**Data.** :math:`c_h` the capital cost (GBP) of hub :math:`h`'s chosen option;
:math:`P_h` the population of its polysystem; :math:`B_t` the capital budget of year
:math:`t`.

**Variables.** :math:`o_{ht} \in \{0, 1\}`: hub :math:`h` opens in year :math:`t`
(``open_<hub>_<t>``). A hub open in year :math:`t` serves its polysystem from that year to
the end of the horizon.

**Constraints** (named after the real ids):

* ``once_<hub>``: :math:`\sum_t o_{ht} \le 1` (a hub opens once; with ``complete=True``,
  :math:`= 1`: every hub opens within the horizon, which may be infeasible);
* ``budget_y<t>``: :math:`\sum_h c_h o_{ht} \le B_t` (spend of each year within its budget);
  with ``carry_over=True`` unspent budget rolls forward instead:
  ``budget_to_y<t>``: :math:`\sum_{\tau \le t} \sum_h c_h o_{h\tau} \le \sum_{\tau \le t} B_\tau`.

**Objective.** Maximise the population served by an open hub, summed over the years
(person-years): :math:`\sum_t \sum_h P_h \sum_{\tau \le t} o_{h\tau} = \sum_h \sum_t
(T - t + 1) P_h o_{ht}`.

A hub whose cost exceeds what the horizon's budgets allow stays unopened and is reported.
The result (:class:`Phasing`) recomputes spend and population served from the opening
years and the plan, not from the model, and :meth:`Phasing.violations` re-checks budgets
and single openings.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import cast

import numpy as np
import pandas as pd
import pulp

from catchment.plan import Plan
from catchment.problem import MAX_GBP, Problem
from catchment.settings import check_solver_options
from solvers.backends import run_solver, solver_available
from solvers.common import lp_labels

__all__ = ["Phasing", "phase_plan", "annual_budgets", "HUB_COLUMNS", "YEAR_COLUMNS", "MAX_YEARS"]

logger = logging.getLogger(__name__)

#: Columns of :meth:`Phasing.frame`.
HUB_COLUMNS = ("hub_site_id", "polysystem_id", "capital_cost", "population", "open_year", "years_served")
#: Columns of :meth:`Phasing.years_frame`.
YEAR_COLUMNS = (
    "year",
    "budget",
    "spend",
    "cumulative_budget",
    "cumulative_spend",
    "hubs_opened",
    "population_served",
    "share_served",
)
_TOL = 1e-6
#: Longest horizon (years) a phasing may cover. Estates strategies plan 5-10 years ahead and
#: capital programmes rarely beyond 30; a building lasts about 60. The model has one variable
#: per hub and year, so an absurd horizon (a million years) builds for minutes; 100 years is
#: beyond any real plan.
MAX_YEARS = 100


@dataclass(frozen=True)
class Phasing:
    """An implementation timetable of a plan (immutable).

    Attributes
    ----------
    years : int
        Length of the horizon.
    budgets : tuple of float
        Capital budget of each year (GBP).
    carry_over : bool
        Unspent budget rolls forward.
    complete : bool
        Every hub had to open within the horizon.
    hubs : tuple of str
        The plan's hubs (sorted).
    polysystem_ids, cost, population : Mapping[str, ...]
        Per hub: polysystem id, capital cost of its option (GBP), population served.
    open_year : Mapping[str, int or None]
        Year each hub opens (1-based), ``None`` when it does not open within the horizon.
    status : str
        ``optimal``, ``feasible``, ``infeasible`` or ``unsolved``.
    objective, bound : float or None
        Person-years served (the model's objective) and the solver's best bound.
    solver : str
    runtime_s : float
    notes : tuple of str
    """

    years: int
    budgets: tuple[float, ...]
    carry_over: bool
    complete: bool
    hubs: tuple[str, ...]
    polysystem_ids: Mapping[str, str]
    cost: Mapping[str, float]
    population: Mapping[str, float]
    open_year: Mapping[str, int | None]
    status: str
    objective: float | None = None
    bound: float | None = None
    solver: str = "highs"
    runtime_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("polysystem_ids", "cost", "population", "open_year"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "budgets", tuple(float(b) for b in self.budgets))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def has_schedule(self) -> bool:
        """True when the solver found a schedule (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    @property
    def unopened(self) -> tuple[str, ...]:
        """Hubs that do not open within the horizon."""
        return tuple(h for h in self.hubs if self.open_year.get(h) is None)

    @property
    def total_population(self) -> float:
        """Population of every polysystem of the plan."""
        return float(sum(self.population.values()))

    def spend_by_year(self) -> np.ndarray:
        """Capital spent in each year (GBP), from the opening years."""
        spend = np.zeros(self.years)
        for h, year in self.open_year.items():
            if year is not None:
                spend[year - 1] += self.cost[h]
        return spend

    def served_by_year(self) -> np.ndarray:
        """Population served by an open hub in each year, from the opening years."""
        served = np.zeros(self.years)
        for h, year in self.open_year.items():
            if year is not None:
                served[year - 1 :] += self.population[h]
        return served

    def person_years(self) -> float:
        """Population served by an open hub, summed over the years."""
        return float(self.served_by_year().sum())

    def violations(self) -> list[str]:
        """Rules the timetable breaks (budgets, openings), recomputed; empty when valid."""
        out: list[str] = []
        for h in self.hubs:
            year = self.open_year.get(h)
            if year is not None and not 1 <= year <= self.years:
                out.append(f"hub {h!r} opens in year {year}, outside the horizon 1-{self.years}")
            if year is None and self.complete:
                out.append(f"hub {h!r} never opens, but every hub must open within {self.years} year(s)")
        spend = self.spend_by_year()
        budgets = np.asarray(self.budgets)
        if self.carry_over:
            over = np.cumsum(spend) > np.cumsum(budgets) * (1 + _TOL) + _TOL
            for t in np.flatnonzero(over):
                out.append(
                    f"spend to year {t + 1} (GBP {np.cumsum(spend)[t]:,.0f}) exceeds the budgets to then "
                    f"(GBP {np.cumsum(budgets)[t]:,.0f})"
                )
        else:
            over = spend > budgets * (1 + _TOL) + _TOL
            for t in np.flatnonzero(over):
                out.append(f"spend in year {t + 1} (GBP {spend[t]:,.0f}) exceeds its budget (GBP {budgets[t]:,.0f})")
        return out

    def frame(self) -> pd.DataFrame:
        """One row per hub (columns :data:`HUB_COLUMNS`), by opening year then polysystem."""
        rows = [
            {
                "hub_site_id": h,
                "polysystem_id": self.polysystem_ids[h],
                "capital_cost": self.cost[h],
                "population": self.population[h],
                "open_year": self.open_year[h],
                "years_served": 0 if (year := self.open_year[h]) is None else self.years - year + 1,
            }
            for h in self.hubs
        ]
        frame = pd.DataFrame.from_records(rows, columns=list(HUB_COLUMNS))
        frame["open_year"] = frame["open_year"].astype("Int64")
        return frame.sort_values(["open_year", "polysystem_id"], na_position="last").reset_index(drop=True)

    def years_frame(self) -> pd.DataFrame:
        """One row per year (columns :data:`YEAR_COLUMNS`)."""
        spend = self.spend_by_year()
        served = self.served_by_year()
        total = self.total_population
        opened = [sum(1 for y in self.open_year.values() if y == t) for t in range(1, self.years + 1)]
        return pd.DataFrame(
            {
                "year": np.arange(1, self.years + 1),
                "budget": np.asarray(self.budgets),
                "spend": spend,
                "cumulative_budget": np.cumsum(self.budgets),
                "cumulative_spend": np.cumsum(spend),
                "hubs_opened": opened,
                "population_served": served,
                "share_served": served / total if total > 0 else np.full(self.years, math.nan),
            },
            columns=list(YEAR_COLUMNS),
        )


def annual_budgets(annual_budget: float | Sequence[float], years: int) -> tuple[float, ...]:
    """One budget per year: a single amount repeated, or one amount per year.

    Raises
    ------
    ValueError
        If the amounts are not non-negative numbers or their count is not ``years``.
    """
    if isinstance(annual_budget, (int, float)) and not isinstance(annual_budget, bool):
        values = [float(annual_budget)] * years
    else:
        values = [float(v) for v in cast("Sequence[float]", annual_budget)]  # not a number: a sequence
        if len(values) != years:
            raise ValueError(f"{len(values)} annual budget(s) given for {years} year(s)")
    bad = [v for v in values if not 0 <= v <= MAX_GBP]
    if bad:
        raise ValueError(f"annual budgets must be amounts (GBP) from 0 to {MAX_GBP:,.0f}, got {bad}")
    return tuple(values)


def phase_plan(
    problem: Problem,
    plan: Plan,
    *,
    years: int,
    annual_budget: float | Sequence[float],
    carry_over: bool = False,
    complete: bool = False,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    mip_gap: float = 1e-6,
    threads: int | None = None,
) -> Phasing:
    """Schedule the opening of a plan's hubs under annual capital budgets.

    Parameters
    ----------
    problem
        The problem the plan answers (capital costs of the options, populations).
    plan
        The plan: its hubs, options and assignment.
    years
        Length of the horizon (years).
    annual_budget
        Capital budget of each year (GBP): one amount for every year or one per year.
    carry_over
        Let unspent budget roll forward to later years.
    complete
        Require every hub to open within the horizon (the model may then be infeasible).
    solver, time_limit, mip_gap, threads
        As for :func:`solvers.solve` (checked by :func:`catchment.settings.check_solver_options`).

    Returns
    -------
    Phasing

    Raises
    ------
    ValueError
        If an option is invalid or the plan has no hub (every problem listed).
    RuntimeError
        If the solver is not available.
    """
    problems: list[str] = []
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= MAX_YEARS:
        problems.append(f"years must be a whole number from 1 to {MAX_YEARS}, got {years!r}")
    budgets: tuple[float, ...] = ()
    if not problems:
        try:
            budgets = annual_budgets(annual_budget, years)
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))
    try:
        check_solver_options(solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    except ValueError as exc:
        problems.extend(line.strip() for line in str(exc).splitlines()[1:])
    if not plan.hub_options:
        problems.append("the plan has no hub to phase")
    unknown = [h for h in plan.hub_options if h not in set(problem.site_ids)]
    if unknown:
        problems.append(f"the plan's hubs are not sites of the problem: {', '.join(unknown)}")
    if problems:
        raise ValueError("cannot phase the plan:\n  " + "\n  ".join(problems))
    if not solver_available(solver):
        raise RuntimeError(f"solver {solver!r} is not available in this environment")

    started = time.perf_counter()
    hubs = plan.hubs
    ps_ids = plan.polysystem_ids()
    cost = {h: problem.option(h, plan.hub_options[h]).capital_cost for h in hubs}
    pop = pd.Series(problem.population, index=problem.unit_ids)
    served = pop.groupby(pd.Series(dict(plan.assignment))).sum()
    population = {h: float(served.get(h, 0.0)) for h in hubs}

    labels = dict(zip(hubs, lp_labels(hubs), strict=True))
    periods = list(range(1, years + 1))
    prob = pulp.LpProblem("phasing", pulp.LpMaximize)
    opens = prob.add_variable_dict("open", ([labels[h] for h in hubs], periods), cat=pulp.LpBinary)
    prob.setObjective(pulp.lpSum((years - t + 1) * population[h] * opens[labels[h], t] for h in hubs for t in periods))
    for h in hubs:
        total = pulp.lpSum(opens[labels[h], t] for t in periods)
        prob.addConstraint(total == 1 if complete else total <= 1, name=f"once_{labels[h]}")
    for t in periods:
        if carry_over:
            spend = pulp.lpSum(cost[h] * opens[labels[h], tau] for h in hubs for tau in periods if tau <= t)
            prob.addConstraint(spend <= sum(budgets[:t]), name=f"budget_to_y{t}")
        else:
            spend = pulp.lpSum(cost[h] * opens[labels[h], t] for h in hubs)
            prob.addConstraint(spend <= budgets[t - 1], name=f"budget_y{t}")
    outcome = run_solver(
        prob, solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads, msg=False, warm_start=False
    )
    open_year: dict[str, int | None] = {h: None for h in hubs}
    notes: list[str] = list(outcome.notes)
    if outcome.status in ("optimal", "feasible"):
        for h in hubs:
            for t in periods:
                value = opens[labels[h], t].value()
                if value is not None and value > 0.5:
                    open_year[h] = t
    elif outcome.status == "infeasible" and complete:
        notes.append(
            f"the budgets cannot open every hub within {years} year(s): the hubs cost GBP {sum(cost.values()):,.0f}, "
            f"the budgets total GBP {sum(budgets):,.0f}" + ("" if carry_over else " (without carry-over)")
        )
    never = [h for h in hubs if cost[h] > (sum(budgets) if carry_over else max(budgets, default=0.0)) * (1 + _TOL)]
    if never:
        notes.append(f"{len(never)} hub(s) cost more than any year's budget allows: {', '.join(never)}")
    result = Phasing(
        years=years,
        budgets=budgets,
        carry_over=carry_over,
        complete=complete,
        hubs=hubs,
        polysystem_ids={h: ps_ids[h] for h in hubs},
        cost=cost,
        population=population,
        open_year=open_year,
        status=outcome.status,
        objective=outcome.objective,
        bound=outcome.bound,
        solver=solver,
        runtime_s=time.perf_counter() - started,
        notes=tuple(notes),
    )
    if result.has_schedule:
        broken = result.violations()
        if broken:  # pragma: no cover - defensive: the model and the check disagree
            raise RuntimeError("the phasing model produced a timetable that breaks its rules: " + "; ".join(broken))
        if outcome.objective is not None and not math.isclose(outcome.objective, result.person_years(), rel_tol=1e-6):
            notes.append(
                f"the solver's objective ({outcome.objective:,.0f}) differs from the recomputed "
                f"person-years ({result.person_years():,.0f})"
            )
            result = dataclasses.replace(result, notes=tuple(notes))
    logger.info(
        "phasing: %s in %.2f s; %d of %d hub(s) open within %d year(s)",
        result.status,
        result.runtime_s,
        len(hubs) - len(result.unopened),
        len(hubs),
        years,
    )
    return result
