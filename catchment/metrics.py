"""Plan metrics, recomputed from the Problem and the Plan (never taken from a solver).

* :func:`objective_terms` — every objective term and the weighted objective;
* :func:`assignments_frame` — one row per unit (an output contract: ``assignments.csv``);
* :func:`polysystems_frame` — one row per polysystem (``polysystems.csv``);
* :func:`waived_polysystems` — polysystems allowed below the floor by a waiver, with reasons;
* :func:`plan_summary` — plain data for ``solution.json`` and the report, with the solver's
  account of itself and the label of the travel times (an estimate is always labelled).

Travel figures are in minutes, populations in people, capital costs in GBP except the
``capital`` objective term, which is in GBP millions (see :data:`catchment.objective.TERMS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from catchment.objective import TERM, TERMS
from catchment.plan import Plan, share_words
from catchment.problem import ESTIMATE_LABEL, PLACEHOLDER_COSTS_NOTE, PLACEHOLDER_LABEL, Problem
from catchment.validate import unit_hub_index

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "POLYSYSTEM_COLUMNS",
    "CONFIGURED_ID_COLUMN",
    "objective_terms",
    "objective_terms_of",
    "option_amounts",
    "capital_cost",
    "assignments_frame",
    "polysystems_frame",
    "waived_polysystems",
    "plan_summary",
    "configured_polysystems",
    "coverage_text",
    "capital_costs_label",
    "objective_estimate_label",
    "plan_bounds_label",
    "travel_times_label",
    "estimate_label_of",
]

#: Leading columns of :func:`assignments_frame`, in order (an output contract).
ASSIGNMENT_COLUMNS = ("unit_id", "unit_type", "polysystem_id", "hub_site_id", "population", "travel_min")
#: Column of :func:`assignments_frame` and :func:`polysystems_frame` naming, for the plan of a
#: planner's configuration, the polysystem id the configuration gave (:meth:`Plan.configured_ids`).
CONFIGURED_ID_COLUMN = "configured_polysystem_id"
#: Leading columns of :func:`polysystems_frame`, in order (an output contract).
POLYSYSTEM_COLUMNS = (
    "polysystem_id",
    "hub_site_id",
    "hub_site_name",
    "hub_type",
    "hub_option",
    "population",
    "n_units",
    "mean_travel_min",
    "max_travel_min",
    "capital_cost",
)


def objective_terms(problem: Problem, plan: Plan) -> dict[str, float | None]:
    """Recompute every objective term of a plan.

    Units assigned to a site of the problem count (open or not); unassigned units do not.
    A unit that cannot reach its hub makes the travel terms infinite.

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan.

    Returns
    -------
    dict
        Every term of :data:`catchment.objective.TERMS`: ``mean_travel``
        (population-weighted mean minutes), ``max_travel`` (minutes), ``deprivation_travel``
        (mean minutes weighted by population x IMD score), ``capital`` (GBP millions), ...;
        a term whose data the problem lacks is ``None``. Then ``weighted`` (the sum of
        ``problem.objective.weights`` x terms) and ``objective`` (the value the objective
        minimises: ``weighted``, or the first term of a lexicographic objective). Means over
        zero weight are NaN.
    """
    return objective_terms_of(problem, unit_hub_index(problem, plan), plan.hub_options)


def option_amounts(problem: Problem) -> dict[str, dict[tuple[str, str], float]]:
    """Each hub-option term's amount of every hub option of the problem (before the term's scale).

    Parameters
    ----------
    problem
        The problem.

    Returns
    -------
    dict
        Term name -> ``(site id, option) -> amount`` (capital: GBP), for the hub-option
        terms of :data:`catchment.objective.TERMS`.
    """
    return {
        term.name: {(o.site_id, o.option): term.option_amount(o) for o in problem.options}
        for term in TERMS
        if term.kind == "options"
    }


def objective_terms_of(
    problem: Problem,
    site: np.ndarray,
    hub_options: Mapping[str, str],
    *,
    amounts: Mapping[str, Mapping[tuple[str, str], float]] | None = None,
) -> dict[str, float | None]:
    """:func:`objective_terms` of a plan given as arrays (for callers that keep them).

    Parameters
    ----------
    problem
        The problem.
    site
        Position of each unit's site in ``problem.site_ids``, ``-1`` for none
        (:func:`catchment.validate.unit_hub_index`).
    hub_options
        Open hub site id -> option.
    amounts
        :func:`option_amounts` of the problem, for a caller that scores many plans of one
        problem (default: computed here).

    Returns
    -------
    dict
        As :func:`objective_terms`.
    """
    if amounts is None:
        amounts = option_amounts(problem)
    rows = np.flatnonzero(site >= 0)
    times = problem.travel_min[rows, site[rows]]
    terms: dict[str, float | None] = {}
    for term in TERMS:
        if not term.available(problem):
            terms[term.name] = None
        elif term.kind == "travel":
            terms[term.name] = _weighted_mean(times, term.weights(problem)[rows])
        elif term.kind == "max":
            terms[term.name] = float(times.max()) if len(times) else math.nan
        else:
            amount = amounts[term.name]
            terms[term.name] = float(sum(amount.get(item, 0.0) for item in hub_options.items())) / term.scale
    weighted = 0.0
    for name, weight in problem.objective.weights.items():
        if weight > 0:
            value = terms[name]
            weighted += weight * (math.nan if value is None else value)
    terms["weighted"] = weighted
    lexicographic = problem.objective.lexicographic
    terms["objective"] = weighted if lexicographic is None else terms[lexicographic[0]]
    return terms


def capital_cost(problem: Problem, plan: Plan) -> float:
    """Total capital cost (GBP) of the plan's hub options that the problem knows.

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan.

    Returns
    -------
    float
        Sum of the capital costs of the chosen options; options the problem does not offer
        count as zero (the validator reports them).
    """
    cost = {(o.site_id, o.option): o.capital_cost for o in problem.options}
    return float(sum(cost.get(item, 0.0) for item in plan.hub_options.items()))


def assignments_frame(problem: Problem, plan: Plan) -> pd.DataFrame:
    """One row per unit of the problem, in the problem's order.

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan.

    Returns
    -------
    DataFrame
        Columns :data:`ASSIGNMENT_COLUMNS` (``unit_id``, ``unit_type``, ``polysystem_id``,
        ``hub_site_id``, ``population``, ``travel_min``), then ``unit_name``,
        ``hub_site_name``, ``waiver_reason``, ``travel_source`` (``network`` / ``matrix`` /
        ``estimate``), when the problem has them, ``group`` and ``imd_score`` and, for the
        plan of a configuration, :data:`CONFIGURED_ID_COLUMN` (the configuration's own
        polysystem id). An unassigned unit has no polysystem, hub or travel time (missing
        values); a unit assigned to a site that is not an open hub has no polysystem id.
    """
    site = unit_hub_index(problem, plan)
    ps_ids = plan.polysystem_ids()
    hub_ids = [plan.assignment.get(u) for u in problem.unit_ids]
    rows = np.flatnonzero(site >= 0)
    travel = np.full(problem.n_units, np.nan)
    travel[rows] = problem.travel_min[rows, site[rows]]
    names = np.asarray(problem.site_names, dtype=object)
    hub_names = np.full(problem.n_units, None, dtype=object)
    hub_names[rows] = names[site[rows]]
    frame = pd.DataFrame(
        {
            "unit_id": list(problem.unit_ids),
            "unit_type": problem.unit_type,
            "polysystem_id": [ps_ids.get(s) if s is not None else None for s in hub_ids],
            "hub_site_id": hub_ids,
            "population": problem.population,
            "travel_min": travel,
            "unit_name": list(problem.unit_names or problem.unit_ids),
            "hub_site_name": hub_names,
            "waiver_reason": [problem.rules.waivers.get(u) for u in problem.unit_ids],
            "travel_source": problem.travel_source,
        }
    )
    if problem.groups is not None:
        frame["group"] = list(problem.groups)
    if problem.deprivation is not None:
        frame["imd_score"] = problem.deprivation
    configured = plan.configured_ids()
    if configured:
        frame[CONFIGURED_ID_COLUMN] = [configured.get(s) if s is not None else None for s in hub_ids]
    return frame


def waived_polysystems(problem: Problem, plan: Plan) -> list[dict[str, Any]]:
    """Polysystems below the floor that the rules allow because they hold a waived unit.

    Parameters
    ----------
    problem
        The problem (``rules.waivers``: unit id -> reason).
    plan
        The plan.

    Returns
    -------
    list of dict
        One dict per such polysystem, in polysystem-id order: ``polysystem_id``,
        ``hub_site_id``, ``population``, ``floor``, ``waived_units`` (list of ids) and
        ``reason`` (``"unit: reason"`` for each waived unit, joined by ``"; "``).
    """
    waivers = problem.rules.waivers
    floor = problem.rules.floor
    out = []
    frame = polysystems_frame(problem, plan)
    row: Any  # a row of the frame: its fields are the frame's columns
    for row in frame.itertuples(index=False):
        if row.below_floor and row.n_units > 0 and pd.notna(row.waiver_reason):
            units = [u for u in plan.units_of(row.hub_site_id) if u in waivers]
            out.append(
                {
                    "polysystem_id": row.polysystem_id,
                    "hub_site_id": row.hub_site_id,
                    "population": float(row.population),
                    "floor": float(floor),
                    "waived_units": sorted(units),
                    "reason": row.waiver_reason,
                }
            )
    return out


def polysystems_frame(problem: Problem, plan: Plan) -> pd.DataFrame:
    """One row per polysystem (open hub), in polysystem-id order.

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan.

    Returns
    -------
    DataFrame
        Columns :data:`POLYSYSTEM_COLUMNS` (``polysystem_id``, ``hub_site_id``,
        ``hub_site_name``, ``hub_type``, ``hub_option``, ``population``, ``n_units``,
        ``mean_travel_min`` (population-weighted), ``max_travel_min``, ``capital_cost``
        (GBP)), then ``below_floor`` (bool), ``waiver_reason`` (the reasons of the waived
        units it holds, ``"unit: reason"`` joined by ``"; "``, or ``None``), ``capacity``
        (of the chosen option; NaN = unlimited), ``site_status``, ``capital_cost_source``
        (``"placeholder"`` for a built-in placeholder cost, ``"scenario"`` for a supplied
        one), ``travel_source`` (``network`` / ``matrix`` / ``estimate``: an estimate's travel
        figures are labelled as such), when the problem has boundary groups, ``groups``
        (distinct groups joined by ``"; "``) and, for the plan of a configuration,
        :data:`CONFIGURED_ID_COLUMN` (the configuration's own polysystem id).
    """
    hubs = list(plan.hubs)
    ps_ids = plan.polysystem_ids()
    site_pos = {s: j for j, s in enumerate(problem.site_ids)}
    options = {(o.site_id, o.option): o for o in problem.options}
    hub_k = {site_pos[s]: k for k, s in enumerate(hubs) if s in site_pos}
    site = unit_hub_index(problem, plan)
    label = np.array([hub_k.get(int(j), -1) for j in site], dtype=np.int64)
    rows = np.flatnonzero(label >= 0)
    k_of = label[rows]
    pop = problem.population[rows]
    times = problem.travel_min[rows, site[rows]]
    n_hubs = len(hubs)
    ps_pop = np.bincount(k_of, weights=pop, minlength=n_hubs)
    ps_n = np.bincount(k_of, minlength=n_hubs)
    weighted = np.bincount(k_of, weights=np.where(pop > 0, pop * times, 0.0), minlength=n_hubs)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ps_pop > 0, weighted / np.where(ps_pop > 0, ps_pop, 1.0), np.nan)
    longest = np.full(n_hubs, -np.inf)
    np.maximum.at(longest, k_of, times)
    longest[ps_n == 0] = np.nan

    waivers = problem.rules.waivers
    reasons: list[list[str]] = [[] for _ in hubs]
    for unit, reason in sorted(waivers.items()):
        i = problem.unit_index(unit)
        if label[i] >= 0:
            reasons[label[i]].append(f"{unit}: {reason}")
    group_names: list[str | None] = [None] * n_hubs
    if problem.groups is not None:
        groups = np.asarray(problem.groups, dtype=object)
        for k in range(n_hubs):
            members = rows[k_of == k]
            group_names[k] = "; ".join(sorted(set(groups[members]))) if len(members) else None

    records = []
    for k, hub in enumerate(hubs):
        j = site_pos.get(hub)
        option = options.get((hub, plan.hub_options[hub]))
        records.append(
            {
                "polysystem_id": ps_ids[hub],
                "hub_site_id": hub,
                "hub_site_name": problem.site_names[j] if j is not None else None,
                "hub_type": problem.site_types[j] if j is not None else None,
                "hub_option": plan.hub_options[hub],
                "population": float(ps_pop[k]),
                "n_units": int(ps_n[k]),
                "mean_travel_min": float(mean[k]),
                "max_travel_min": float(longest[k]),
                "capital_cost": option.capital_cost if option is not None else math.nan,
                "below_floor": bool(problem.rules.below_floor(ps_pop[k])),
                "waiver_reason": "; ".join(reasons[k]) if reasons[k] else None,
                "capacity": option.capacity if option is not None and option.capacity is not None else math.nan,
                "site_status": problem.site_status[j] if j is not None else None,
                "capital_cost_source": None
                if option is None
                else ("placeholder" if option.placeholder else "scenario"),
                "travel_source": problem.travel_source,
            }
        )
        if problem.groups is not None:
            records[-1]["groups"] = group_names[k]
    columns = [
        *POLYSYSTEM_COLUMNS,
        "below_floor",
        "waiver_reason",
        "capacity",
        "site_status",
        "capital_cost_source",
        "travel_source",
    ]
    if problem.groups is not None:
        columns.append("groups")
    frame = pd.DataFrame.from_records(records, columns=columns)
    configured = plan.configured_ids()
    if configured:
        frame[CONFIGURED_ID_COLUMN] = [configured.get(hub) for hub in hubs]
    return frame


def plan_summary(problem: Problem, plan: Plan) -> dict[str, Any]:
    """Plain-data summary of a plan (for ``solution.json`` and the report).

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan.

    Returns
    -------
    dict
        ``status``, ``status_label``, ``proven_optimal``, ``solver``, ``objective`` (as the
        solver reported it), ``bound``, ``gap``, ``mip_gap``, ``runtime_s``, ``n_units``,
        ``n_units_assigned``, ``total_population`` (of the units planned),
        ``population_assigned``, ``configured_polysystems`` (for the plan of a
        configuration: the engine's polysystem id -> the configuration's own, else empty),
        ``selection_population`` (the units planned and the units
        of the selection left out, ``Problem.dropped``), ``coverage`` (share of the
        selection's population assigned to an open hub), ``n_units_dropped``,
        ``population_dropped``, ``dropped_reasons`` (reason -> number of units),
        ``coverage_text`` (:func:`coverage_text`), ``n_polysystems``, ``capital_cost``
        (GBP), ``capital_costs_source`` (``"scenario"`` or ``"placeholder"``),
        ``capital_costs_note`` (:data:`~catchment.problem.PLACEHOLDER_COSTS_NOTE` or
        ``None``), ``objective_terms`` (:func:`objective_terms`), ``waived_polysystems``
        (:func:`waived_polysystems`), ``violations`` (the broken rules of a
        ``breaks_rules`` plan, as text), ``travel_source``, ``travel_label`` (always says
        "estimate" for estimated travel times) and ``notes``.
    """
    site = unit_hub_index(problem, plan)
    in_open_hub = np.array([j >= 0 and problem.site_ids[j] in plan.hub_options for j in site], dtype=bool)
    total = problem.selection_population
    assigned_pop = float(problem.population[in_open_hub].sum())
    reasons: dict[str, int] = {}
    for unit in problem.dropped:
        reasons[unit.reason] = reasons.get(unit.reason, 0) + 1
    label = problem.travel_label
    if problem.travel_source == "estimate" and "estimate" not in label.lower():
        label = f"estimate: {label}"
    return {
        "status": plan.status,
        "status_label": plan.status_label,
        "proven_optimal": plan.proven_optimal,
        "solver": plan.solver,
        "objective": plan.objective,
        "bound": plan.bound,
        "gap": plan.gap,
        "mip_gap": plan.mip_gap,
        "runtime_s": plan.runtime_s,
        "n_units": problem.n_units,
        "n_units_assigned": int(in_open_hub.sum()),
        "total_population": problem.total_population,
        "population_assigned": assigned_pop,
        "configured_polysystems": configured_polysystems(plan),
        "selection_population": total,
        "coverage": assigned_pop / total if total > 0 else math.nan,
        "n_units_dropped": len(problem.dropped),
        "population_dropped": total - problem.total_population,
        "dropped_reasons": reasons,
        "coverage_text": coverage_text(assigned_pop / total if total > 0 else math.nan, total, reasons),
        "n_polysystems": len(plan.hub_options),
        "capital_cost": capital_cost(problem, plan),
        "capital_costs_source": problem.capital_costs_source,
        "capital_costs_note": PLACEHOLDER_COSTS_NOTE if problem.capital_costs_source == "placeholder" else None,
        "objective_terms": objective_terms(problem, plan) if plan.has_plan else None,
        "waived_polysystems": waived_polysystems(problem, plan),
        "violations": [str(v) for v in plan.violations],
        "travel_source": problem.travel_source,
        "travel_label": label,
        "notes": list(plan.notes),
    }


def configured_polysystems(plan: Plan) -> dict[str, str]:
    """The engine's polysystem id -> the configuration's own, in the engine's order (empty for a solved plan)."""
    configured = plan.configured_ids()
    return {ps: configured[hub] for hub, ps in plan.polysystem_ids().items() if hub in configured}


def coverage_text(coverage: float, selection_population: float, dropped_reasons: dict[str, int]) -> str:
    """Coverage in words: "98.2% of the population of the selection (1 unit dropped: reason)".

    Parameters
    ----------
    coverage
        Share (0-1) of the selection's population assigned to an open hub.
    selection_population
        The population of every unit the selection held, dropped ones included.
    dropped_reasons
        Reason -> number of units of the selection left out of the problem.
    """
    text = f"{share_words(coverage)} of the population of the selection ({selection_population:,.0f} people"
    n = sum(dropped_reasons.values())
    if n:
        why = "; ".join(f"{k}: {c}" for k, c in dropped_reasons.items())
        text += f"; {n} unit{'' if n == 1 else 's'} dropped: {why}"
    return text + ")"


def travel_times_label(problem: Problem) -> str:
    """``" (estimate)"`` after a travel figure whose times are the crow-fly estimate, else ``""``."""
    return ESTIMATE_LABEL if problem.travel_source == "estimate" else ""


def estimate_label_of(rows: Any) -> str:
    """:func:`travel_times_label` read from rows: a row or table whose ``travel_source`` is the estimate.

    ``rows`` is a row (its ``travel_source`` attribute) or a table (its ``travel_source``
    column: any row of the estimate labels the table); ``""`` without a ``travel_source``.
    """
    source = getattr(rows, "travel_source", None)
    if isinstance(source, pd.Series):
        return ESTIMATE_LABEL if bool((source == "estimate").any()) else ""
    return ESTIMATE_LABEL if source == "estimate" else ""


def objective_estimate_label(problem: Problem) -> str:
    """:func:`travel_times_label` after an objective figure with a travel term, ``""`` for capital alone."""
    travel = any(TERM[name].kind != "options" for name in problem.objective.terms)
    return travel_times_label(problem) if travel else ""


def plan_bounds_label(problem: Problem, plan: Plan) -> str | None:
    """:meth:`Plan.bounds_words <catchment.plan.Plan.bounds_words>` with each bound labelled as the objective is."""
    return plan.bounds_words(label=objective_estimate_label(problem))


def capital_costs_label(problem: Problem) -> str:
    """``" (placeholder)"`` after a capital figure whose costs are placeholders, else ``""``."""
    return PLACEHOLDER_LABEL if problem.capital_costs_source == "placeholder" else ""


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean over positive weights (so that ``inf x 0`` cannot make a NaN)."""
    keep = weights > 0
    total = weights[keep].sum()
    if not total > 0:
        return math.nan
    return float((values[keep] * weights[keep]).sum() / total)
