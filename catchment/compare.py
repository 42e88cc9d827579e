"""Two configurations of one problem side by side: today's networks against the optimum.

Polysystems of two plans have no common names (``PS01`` of one plan need not be ``PS01``
of the other), so :func:`polysystem_changes` first matches them by the population they
share (an optimal assignment, :func:`scipy.optimize.linear_sum_assignment`); a unit
*moves* when its polysystem in the second plan is not the match of its polysystem in the
first. :func:`compare_plans` adds the figures a board asks for: the adjusted Rand index of
the two partitions (:func:`sklearn.metrics.adjusted_rand_score`: 1 for the same grouping,
about 0 for groupings no closer than chance), units and people moved, and for each side
its polysystems, mean and longest travel, the rules it breaks and its status.

Nothing here reads or writes a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from catchment.metrics import assignments_frame, objective_terms
from catchment.plan import Plan
from catchment.problem import Problem

__all__ = [
    "MOVES_COLUMNS",
    "PlanComparison",
    "polysystem_changes",
    "adjusted_rand_index",
    "compare_plans",
    "side_summary",
]

#: Columns of :attr:`PlanComparison.moves` (and of ``moves.csv``).
MOVES_COLUMNS = (
    "unit_id",
    "unit_name",
    "from",
    "to",
    "from_continues_as",
    "population",
    "travel_before_min",
    "travel_after_min",
)


def polysystem_changes(problem: Problem, plan_a: Plan, plan_b: Plan) -> pd.DataFrame:
    """Which units change polysystem between two plans.

    Parameters
    ----------
    problem
        The problem both plans are for.
    plan_a, plan_b
        First (e.g. existing) and second (e.g. optimised) plan.

    Returns
    -------
    DataFrame
        One row per unit in problem order: ``unit_id``, ``unit_name``, ``population``,
        ``polysystem_a``, ``polysystem_b``, ``travel_a``, ``travel_b`` (minutes to the
        unit's hub in each plan), ``match_of_a`` (the polysystem of plan B matched to the
        unit's polysystem of plan A, or missing), ``changed`` (bool).
    """
    a = assignments_frame(problem, plan_a)
    b = assignments_frame(problem, plan_b)
    frame = pd.DataFrame(
        {
            "unit_id": a["unit_id"],
            "unit_name": a["unit_name"],
            "population": a["population"],
            "polysystem_a": a["polysystem_id"],
            "polysystem_b": b["polysystem_id"].to_numpy(),
            "travel_a": a["travel_min"].to_numpy(),
            "travel_b": b["travel_min"].to_numpy(),
        }
    )
    both = frame.dropna(subset=["polysystem_a", "polysystem_b"])
    overlap = both.pivot_table(
        index="polysystem_a", columns="polysystem_b", values="population", aggfunc="sum", fill_value=0.0
    )
    match: dict[str, str] = {}
    if overlap.size:
        shared = overlap.to_numpy(dtype=float)
        rows, cols = linear_sum_assignment(shared, maximize=True)
        match = {overlap.index[r]: overlap.columns[c] for r, c in zip(rows, cols, strict=True) if shared[r, c] > 0}
    frame["match_of_a"] = frame["polysystem_a"].map(match)
    same = frame["match_of_a"].notna() & (frame["match_of_a"] == frame["polysystem_b"])
    neither = frame["polysystem_a"].isna() & frame["polysystem_b"].isna()
    frame["changed"] = ~(same | neither)
    return frame


def adjusted_rand_index(changes: pd.DataFrame) -> float | None:
    """Agreement of two groupings (:func:`sklearn.metrics.adjusted_rand_score`).

    Parameters
    ----------
    changes
        :func:`polysystem_changes` of the two plans.

    Returns
    -------
    float or None
        Over the units assigned in both plans; ``None`` when fewer than two are.
    """
    both = changes["polysystem_a"].notna() & changes["polysystem_b"].notna()
    if int(both.sum()) < 2:
        return None
    return float(adjusted_rand_score(changes.loc[both, "polysystem_a"], changes.loc[both, "polysystem_b"]))


def side_summary(problem: Problem, plan: Plan) -> dict[str, Any]:
    """The figures of one side of a comparison.

    Returns
    -------
    dict
        ``status``, ``status_label``, ``polysystems`` (open hubs), ``mean_travel_min``
        (population-weighted), ``max_travel_min``, ``rules_broken`` (count) and
        ``violations`` (the validator's words), ``objective``.
    """
    terms = objective_terms(problem, plan) if plan.has_plan else {}

    def number(value: Any) -> float | None:
        return None if value is None or not math.isfinite(value) else float(value)

    return {
        "status": plan.status,
        "status_label": plan.status_label,
        "polysystems": len(plan.hub_options),
        "mean_travel_min": number(terms.get("mean_travel")),
        "max_travel_min": number(terms.get("max_travel")),
        "rules_broken": len(plan.violations),
        "violations": [str(v) for v in plan.violations],
        "objective": number(plan.objective),
    }


@dataclass(frozen=True)
class PlanComparison:
    """Two plans of one problem compared (see the module docstring).

    Attributes
    ----------
    adjusted_rand_index : float or None
        Agreement of the two groupings over the units assigned in both (``None`` when
        fewer than two such units).
    units_moved : int
        Units whose polysystem changes (``practices_moved`` for practice units).
    population_moved : float
        Their population (``patients_moved`` for practice units).
    moves : pandas.DataFrame
        One row per moved unit, columns :data:`MOVES_COLUMNS`: ``from`` is the unit's
        polysystem in the current plan and ``to`` in the proposed one (each plan numbers
        its own, ``PS01``...); ``from_continues_as`` is the proposed polysystem matched to
        ``from`` by shared population (missing when none is), which ``to`` is not.
    current, proposed : dict
        :func:`side_summary` of each plan.
    """

    adjusted_rand_index: float | None
    units_moved: int
    population_moved: float
    moves: pd.DataFrame
    current: dict[str, Any]
    proposed: dict[str, Any]

    def as_dict(self, unit_type: str) -> dict[str, Any]:
        """Plain data for ``comparison.json`` (``practices_moved``/``patients_moved`` or ``units_moved``)."""
        moved = (
            ("practices_moved", "patients_moved") if unit_type == "practice" else ("units_moved", "population_moved")
        )
        return {
            "adjusted_rand_index": self.adjusted_rand_index,
            moved[0]: self.units_moved,
            moved[1]: self.population_moved,
            "current": self.current,
            "proposed": self.proposed,
        }


def compare_plans(problem: Problem, current: Plan, proposed: Plan) -> PlanComparison:
    """Compare two plans of the same problem.

    Parameters
    ----------
    problem
        The problem.
    current
        E.g. today's PCNs (:mod:`catchment.current`).
    proposed
        E.g. the engine's optimum.

    Returns
    -------
    PlanComparison
    """
    changes = polysystem_changes(problem, current, proposed)
    before = changes["travel_a"].to_numpy()
    after = changes["travel_b"].to_numpy()
    moved = changes["changed"].to_numpy(dtype=bool)
    moves = pd.DataFrame(
        {
            "unit_id": changes["unit_id"].to_numpy()[moved],
            "unit_name": changes["unit_name"].to_numpy()[moved],
            "from": changes["polysystem_a"].to_numpy()[moved],
            "to": changes["polysystem_b"].to_numpy()[moved],
            "from_continues_as": changes["match_of_a"].to_numpy()[moved],
            "population": changes["population"].to_numpy()[moved],
            "travel_before_min": before[moved],
            "travel_after_min": after[moved],
        },
        columns=list(MOVES_COLUMNS),
    )
    return PlanComparison(
        adjusted_rand_index=adjusted_rand_index(changes),
        units_moved=int(moved.sum()),
        population_moved=float(np.asarray(changes["population"], dtype=float)[moved].sum()),
        moves=moves.reset_index(drop=True),
        current=side_summary(problem, current),
        proposed=side_summary(problem, proposed),
    )
