"""Planners' scenario sweeps: solve every point of a rule grid, find the Pareto front.

:func:`catchment.sweep.sweep_bases` builds the base problem once per travel mode (the only
axis that needs new travel times; building from files is the application's part);
:func:`run_sweep` solves every grid point (:mod:`catchment.sweep`) on Dask
or serially, each checked by the cheap infeasibility proofs and, when solved, by the
independent validator. Grid points whose rules contradict each other (a floor above the
base scenario's ceiling) are rows with status ``invalid`` and the reason.

**Pareto front.** One front per travel mode: minutes on foot and minutes by car measure
different things, so plans are compared only with plans of the same mode (the ``mode``
column; one front when the mode axis is absent). Among the valid plans of a mode, a plan
is on the front when no other plan is at least as good on all three of
population-weighted mean travel (minutes), capital cost (GBP) and number of polysystems
(fewer hubs to staff and run), and strictly better on one. Plans with identical figures
are all on the front.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from catchment.build import BuiltProblem
from catchment.problem import Problem
from catchment.sweep import SweepPoint, SweepSpec, apply_point, format_value
from geodata.errors import ProblemDefinitionError
from solvers.batch import SolveOptions, SolveRecord, solve_and_check
from solvers.distributed import map_tasks

__all__ = [
    "SWEEP_COLUMNS",
    "SweepOutcome",
    "SweepResult",
    "solve_point",
    "run_sweep",
    "pareto_mask",
    "pareto_by_group",
]

logger = logging.getLogger(__name__)

#: Columns of :meth:`SweepResult.frame` (``sweep.csv``).
SWEEP_COLUMNS = (
    "plan_id", "floor", "polysystems", "travel_limit_min", "budget", "mode", "status", "objective", "gap",
    "mean_travel_min", "longest_travel_min", "capital_cost", "n_polysystems", "validated", "pareto",
    "runtime_s", "note", "capital_costs_source", "status_label",
)  # fmt: skip


@dataclass(frozen=True)
class SweepOutcome:
    """One grid point and what its solve achieved.

    Attributes
    ----------
    point : SweepPoint
    effective : Mapping[str, Any]
        Every rule value of the point (the base scenario's where the grid leaves an axis
        out): ``floor``, ``polysystems`` (``(min, max)``), ``max_travel_min``, ``budget``,
        ``mode`` (``base``: the base scenario's; ``n/a``: the axis does not apply).
    status : str
        The solve's status, or ``invalid`` when the point's rules contradict each other.
    record : SolveRecord or None
        ``None`` for an invalid point.
    note : str
        Diagnosis of an infeasible point, reason of an invalid one, or empty.
    pareto : bool
        On the Pareto front of its travel mode (see the module docstring).
    """

    point: SweepPoint
    effective: Mapping[str, Any]
    status: str
    record: SolveRecord | None
    note: str = ""
    pareto: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective", MappingProxyType(dict(self.effective)))

    @property
    def plan_id(self) -> str:
        """The grid point's identifier (``P001``, ``P002``, ... in grid order)."""
        return self.point.plan_id


@dataclass(frozen=True)
class SweepResult:
    """Every grid point of a sweep, solved.

    Attributes
    ----------
    spec : SweepSpec
    outcomes : tuple of SweepOutcome
        In grid order.
    not_applicable : Mapping[str, str]
        Axis -> why it was not expanded (e.g. ``mode`` without a road network).
    runtime_s : float
    capital_costs_source : str
        ``"placeholder"`` when the base problems' capital costs include built-in
        placeholders (``Problem.capital_costs_source``), else ``"scenario"``.
    """

    spec: SweepSpec
    outcomes: tuple[SweepOutcome, ...]
    not_applicable: Mapping[str, str]
    runtime_s: float
    capital_costs_source: str = "scenario"

    def __post_init__(self) -> None:
        object.__setattr__(self, "not_applicable", MappingProxyType(dict(self.not_applicable)))

    def frame(self) -> pd.DataFrame:
        """One row per plan, columns :data:`SWEEP_COLUMNS`."""
        records = []
        for o in self.outcomes:
            r = o.record
            e = o.effective
            records.append(
                {
                    "plan_id": o.plan_id,
                    "floor": e["floor"],
                    "polysystems": format_value("polysystems", e["polysystems"]),
                    "travel_limit_min": e["max_travel_min"],
                    "budget": e["budget"],
                    "mode": e["mode"],
                    "status": o.status,
                    "objective": None if r is None else r.objective,
                    "gap": None if r is None else r.gap,
                    "mean_travel_min": None if r is None else r.mean_travel_min,
                    "longest_travel_min": None if r is None else r.max_travel_min,
                    "capital_cost": None if r is None else r.capital_cost,
                    "n_polysystems": None if r is None or not r.has_plan else r.n_polysystems,
                    "validated": None if r is None else r.validated,
                    "pareto": o.pareto,
                    "runtime_s": None if r is None else r.runtime_s,
                    "note": o.note,
                    "capital_costs_source": self.capital_costs_source,
                    "status_label": o.status if r is None else r.plan.status_label,
                }
            )
        frame = pd.DataFrame.from_records(records, columns=list(SWEEP_COLUMNS))
        for column in (
            "floor",
            "travel_limit_min",
            "budget",
            "objective",
            "gap",
            "mean_travel_min",
            "longest_travel_min",
            "capital_cost",
            "runtime_s",
        ):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        frame["n_polysystems"] = frame["n_polysystems"].astype("Int64")
        frame["validated"] = frame["validated"].astype("boolean")
        return frame

    def counts(self) -> dict[str, int]:
        """Rows by status, plus ``pareto``."""
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        out["pareto"] = sum(o.pareto for o in self.outcomes)
        return out


def solve_point(
    point: SweepPoint, *, bases: Mapping[str | None, Problem], options: SolveOptions
) -> tuple[str, SolveRecord | None, str]:
    """Solve one grid point (a Dask task).

    Parameters
    ----------
    point
        The grid point.
    bases
        Mode -> base problem (key ``None`` for a single base).
    options
        Solver settings.

    Returns
    -------
    status : str
        The solve's status, or ``invalid``.
    record : SolveRecord or None
    note : str
        The diagnosis or the reason the point is invalid.
    """
    problem = bases[point.params.get("mode")]
    try:
        variant = apply_point(problem, point)
    except ProblemDefinitionError as exc:
        return "invalid", None, "; ".join(exc.problems)
    record = solve_and_check(variant, options)
    return record.status, record, record.diagnosis


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows not dominated by any other row (every column minimised).

    Parameters
    ----------
    values
        ``(n, k)`` figures; rows with a NaN are never on the front.

    Returns
    -------
    ndarray of bool
    """
    values = np.asarray(values, dtype=float)
    ok = ~np.isnan(values).any(axis=1)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        others = values[ok]
        dominated = np.all(others <= values[i], axis=1) & np.any(others < values[i], axis=1)
        front[i] = not dominated.any()
    return front


def pareto_by_group(values: np.ndarray, groups: list[Any]) -> np.ndarray:
    """:func:`pareto_mask` within each group (e.g. travel mode): rows compete only with their group.

    Parameters
    ----------
    values
        ``(n, k)`` figures; rows with a NaN are never on a front.
    groups
        ``n`` group labels.

    Returns
    -------
    ndarray of bool
    """
    values = np.asarray(values, dtype=float).reshape(len(groups), -1)
    front = np.zeros(len(groups), dtype=bool)
    labels = np.asarray([str(g) for g in groups], dtype=object)
    for group in dict.fromkeys(labels):
        rows = np.flatnonzero(labels == group)
        front[rows] = pareto_mask(values[rows])
    return front


def run_sweep(
    spec: SweepSpec,
    bases: Mapping[str | None, BuiltProblem | Problem],
    *,
    options: SolveOptions | None = None,
    not_applicable: Mapping[str, str] | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Solve every point of a sweep.

    Parameters
    ----------
    spec
        The sweep.
    bases
        Mode -> base problem (from :func:`catchment.sweep.sweep_bases`); key ``None`` for a single base.
    options
        Solver settings (``spec.time_limit``, when given, overrides the time limit).
    not_applicable
        Axes not to expand, with the reason (reported in the result).
    client
        A :class:`distributed.Client`, or ``None`` to solve serially.
    progress
        ``progress(done, total)`` after each point.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        If ``bases`` lacks a mode the grid asks for.
    """
    started = time.perf_counter()
    not_applicable = dict(not_applicable or {})
    options = options or SolveOptions()
    if spec.time_limit is not None:
        options = dataclasses.replace(options, time_limit=spec.time_limit)
    problems = {mode: (b.problem if isinstance(b, BuiltProblem) else b) for mode, b in bases.items()}
    points = spec.points(skip_axes=tuple(not_applicable))
    missing = sorted({str(p.params.get("mode")) for p in points if p.params.get("mode") not in problems})
    if missing:
        raise ValueError(f"no base problem for travel mode(s) {', '.join(missing)}")
    logger.info(
        "sweep %s: %d point(s)%s",
        spec.name,
        len(points),
        "".join(f"; {axis} not applicable ({why})" for axis, why in not_applicable.items()),
    )
    answers = map_tasks(
        solve_point,
        points,
        client=client,
        shared={"bases": problems, "options": options},
        progress=progress,
        name="sweep",
    )
    base_mode = "n/a" if "mode" in not_applicable else "base"
    outcomes = []
    for point, (status, record, note) in zip(points, answers, strict=True):
        base = problems[point.params.get("mode")]
        outcomes.append(SweepOutcome(point, _effective(base, point, base_mode), status, record, note))
    figures = np.array(
        [
            [o.record.mean_travel_min, o.record.capital_cost, o.record.n_polysystems]
            if o.record is not None and o.record.usable
            else [math.nan] * 3
            for o in outcomes
        ],
        dtype=float,
    ).reshape(len(outcomes), 3)
    front = pareto_by_group(figures, [o.effective["mode"] for o in outcomes])
    outcomes = [dataclasses.replace(o, pareto=bool(f)) for o, f in zip(outcomes, front, strict=True)]
    costs = "placeholder" if any(p.capital_costs_source == "placeholder" for p in problems.values()) else "scenario"
    return SweepResult(spec, tuple(outcomes), not_applicable, time.perf_counter() - started, costs)


def _effective(problem: Problem, point: SweepPoint, base_mode: str) -> dict[str, Any]:
    rules = problem.rules
    return {
        "floor": point.params.get("floor", rules.floor),
        "polysystems": point.params.get("polysystems", (rules.min_polysystems, rules.max_polysystems)),
        "max_travel_min": point.params.get("max_travel_min", rules.max_travel_min),
        "budget": point.params.get("budget", rules.budget),
        "mode": point.params.get("mode", base_mode),
    }
