"""Turn a planner's configuration ("test this configuration") into a :class:`Plan`.

A configuration is a table with one row per unit: ``unit_id`` and ``polysystem_id`` (any
label the planner likes), optionally ``hub_site_id`` and ``hub_option``. It is read as data:
broken references (unknown or missing units, unknown sites, contradictory hubs) raise one
:class:`~geodata.errors.InputDataError` listing every problem with its row. The plan is
then checked against the rules by :func:`catchment.validate.validate_plan`: a configuration
that breaks any gets the status ``breaks_rules`` with the validator's findings in
``Plan.violations`` (the only source of that list), one that breaks none ``feasible``.

How a missing hub is chosen
---------------------------
A polysystem without a ``hub_site_id`` gets the usable (not excluded) site, not already the
hub of another polysystem, that serves its units best: fewest units that cannot reach the
site at all, then a site standing in one of its own areas (or in none, ``Problem.site_unit``)
over one standing in another polysystem's area, then the least population-weighted travel
time of its units, then a required site over a candidate, then the first site in the
problem's order. Polysystems given a hub
keep theirs; the others choose in order of decreasing population, so the largest choose
first. The travel limit, floor and other rules play no part in the choice.

A hub without a ``hub_option`` gets the site's cheapest option.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from catchment.metrics import objective_terms
from catchment.plan import CONFIGURED_POLYSYSTEMS, Plan
from catchment.problem import OPTION_KINDS, Problem
from catchment.settings import CONFIGURATION_COLUMNS
from catchment.validate import few, validate_plan
from geodata.errors import ProblemCollector

__all__ = ["CONFIGURATION_COLUMNS", "plan_from_configuration"]

logger = logging.getLogger(__name__)


def plan_from_configuration(
    problem: Problem, configuration: pd.DataFrame, *, file: str = "<configuration>", hint: str | None = None
) -> Plan:
    """Build the plan a configuration describes.

    Parameters
    ----------
    problem
        The problem the configuration is for.
    configuration
        One row per unit, with columns ``unit_id`` and ``polysystem_id`` and optionally
        ``hub_site_id`` and ``hub_option`` (given on one or more rows of a polysystem; blank
        elsewhere). Row ``k`` (0-based position) is reported as line ``k + 2`` of ``file``,
        the header being line 1.
    file
        Name of the file the table came from, for error messages.
    hint
        Said after a missing column (e.g. which file of the folder is a configuration).

    Returns
    -------
    Plan
        ``solver="evaluate"``, ``objective`` recomputed by
        :func:`catchment.metrics.objective_terms`; ``status="breaks_rules"`` with
        ``violations`` (:func:`catchment.validate.validate_plan`) when the configuration
        breaks a rule, else ``status="feasible"``; ``notes`` say which hubs were chosen
        automatically (and the engine's id of each such polysystem) and
        ``stats[CONFIGURED_POLYSYSTEMS]`` maps each hub site to the configuration's polysystem
        label (:meth:`Plan.configured_ids`).

    Raises
    ------
    InputDataError
        Listing every problem: missing columns, blank ids, unknown unit ids, duplicate unit
        ids, units missing from the configuration, unknown site ids, unknown option kinds,
        two hubs or two options given for one polysystem, one hub given for two
        polysystems, no free site left for a polysystem without a hub.
    """
    start = time.perf_counter()
    problems = ProblemCollector(file)
    found = ", ".join(map(str, configuration.columns))
    for column in [c for c in CONFIGURATION_COLUMNS[:2] if c not in configuration.columns]:
        problems.add(f"required column is missing (columns found: {found}){f'; {hint}' if hint else ''}", column=column)
    problems.raise_if_any()

    members, hubs_given, options_given = _read_rows(problem, configuration.reset_index(drop=True), problems)
    _check_hubs(hubs_given, options_given, problems)
    problems.raise_if_any()

    hub_of = {ps: next(iter(given)) for ps, given in hubs_given.items() if given}
    chosen = _choose_missing_hubs(problem, members, hub_of, problems)
    hub_of.update(chosen)
    problems.raise_if_any()

    notes = []
    hub_options = {}
    for ps, site in hub_of.items():
        if options_given.get(ps):
            hub_options[site] = next(iter(options_given[ps]))
            continue
        offered = problem.options_of(site)
        if offered:
            hub_options[site] = offered[0].option
        else:
            hub_options[site] = OPTION_KINDS[0]
            notes.append(f"site {site!r} offers no hub option; {OPTION_KINDS[0]!r} assumed")
    assignment = {unit: hub_of[ps] for ps, units in members.items() for unit in units}
    plan = Plan(
        assignment=assignment,
        hub_options=hub_options,
        status="feasible",
        solver="evaluate",
        stats={CONFIGURED_POLYSYSTEMS: {site: ps for ps, site in hub_of.items()}},
    )
    ids = plan.polysystem_ids()
    automatic = [
        f"hub of polysystem {ps!r} chosen automatically: {_site_label(problem, site)}; the outputs call it {ids[site]}"
        for ps, site in chosen.items()
    ]
    plan = dataclasses.replace(
        plan, notes=("configuration evaluated as given; the rules are checked by the validator", *automatic, *notes)
    )
    objective = objective_terms(problem, plan)["objective"]
    violations = tuple(validate_plan(problem, plan))
    if violations:
        plan = dataclasses.replace(plan, status="breaks_rules", violations=violations)
    logger.info(
        "configuration %s: %d polysystem(s), objective %s, %s", file, len(hub_options), objective, plan.status_label
    )
    return dataclasses.replace(plan, objective=objective, runtime_s=time.perf_counter() - start)


def _text(value: Any) -> str | None:
    """A cell as a stripped string; ``None`` for blank or missing. ``3.0`` reads as ``"3"``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _read_rows(
    problem: Problem, frame: pd.DataFrame, problems: ProblemCollector
) -> tuple[dict[str, list[str]], dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Polysystem -> units, polysystem -> {hub: first line}, polysystem -> {option: first line}."""
    known_units = set(problem.unit_ids)
    known_sites = set(problem.site_ids)
    members: dict[str, list[str]] = defaultdict(list)
    hubs: dict[str, dict[str, int]] = defaultdict(dict)
    options: dict[str, dict[str, int]] = defaultdict(dict)
    first_line: dict[str, int] = {}
    columns = {c: frame[c].tolist() if c in frame.columns else [None] * len(frame) for c in CONFIGURATION_COLUMNS}
    for k in range(len(frame)):
        line = k + 2
        unit, ps = _text(columns["unit_id"][k]), _text(columns["polysystem_id"][k])
        hub, option = _text(columns["hub_site_id"][k]), _text(columns["hub_option"][k])
        if unit is None:
            problems.add("unit id is blank", row=line, column="unit_id")
        elif unit not in known_units:
            problems.add(f"unknown unit {unit!r}", row=line, column="unit_id")
        elif unit in first_line:
            problems.add(f"unit {unit!r} appears again (first on line {first_line[unit]})", row=line, column="unit_id")
        else:
            first_line[unit] = line
        if ps is None:
            problems.add("polysystem id is blank", row=line, column="polysystem_id")
            continue
        if unit in known_units and first_line.get(unit) == line:
            members[ps].append(unit)
        else:
            members.setdefault(ps, [])
        if hub is not None:
            if hub not in known_sites:
                problems.add(f"unknown site {hub!r}", row=line, column="hub_site_id")
            else:
                hubs[ps].setdefault(hub, line)
        if option is not None:
            if option not in OPTION_KINDS:
                problems.add(
                    f"unknown hub option {option!r}; choose from {', '.join(OPTION_KINDS)}",
                    row=line,
                    column="hub_option",
                )
            else:
                options[ps].setdefault(option, line)
    missing = [u for u in problem.unit_ids if u not in first_line]
    if missing:
        problems.add(
            f"{len(missing)} unit(s) of the problem are missing from the configuration: {few(missing, 20)}",
            column="unit_id",
        )
    return dict(members), dict(hubs), dict(options)


def _check_hubs(
    hubs: dict[str, dict[str, int]], options: dict[str, dict[str, int]], problems: ProblemCollector
) -> None:
    for ps, given in hubs.items():
        if len(given) > 1:
            (first, line1), *others = sorted(given.items(), key=lambda item: item[1])
            for site, line in others:
                problems.add(
                    f"polysystem {ps!r} is given two hubs: {first!r} (line {line1}) and {site!r}",
                    row=line,
                    column="hub_site_id",
                )
    for ps, given in options.items():
        if len(given) > 1:
            (first, line1), *others = sorted(given.items(), key=lambda item: item[1])
            for option, line in others:
                problems.add(
                    f"polysystem {ps!r} is given two hub options: {first!r} (line {line1}) and {option!r}",
                    row=line,
                    column="hub_option",
                )
    owners: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for ps, given in hubs.items():
        for site, line in given.items():
            owners[site].append((line, ps))
    for site, claims in owners.items():
        if len({ps for _, ps in claims}) > 1:
            (line1, first), *other_claims = sorted(claims)
            for line, ps in other_claims:
                problems.add(
                    f"site {site!r} is the hub of two polysystems: {first!r} (line {line1}) and {ps!r}",
                    row=line,
                    column="hub_site_id",
                )


def _choose_missing_hubs(
    problem: Problem, members: dict[str, list[str]], hub_of: dict[str, str], problems: ProblemCollector
) -> dict[str, str]:
    """Hub for each polysystem without one (see the module docstring for the rule)."""
    taken = set(hub_of.values())
    usable = problem.usable_sites()
    required = np.array([problem.site_status[j] == "required" for j in usable], dtype=bool)
    hosts = problem.site_unit or (None,) * problem.n_sites
    waiting = [ps for ps in members if ps not in hub_of]
    units_of = {ps: np.array([problem.unit_index(u) for u in members[ps]], dtype=np.int64) for ps in waiting}
    waiting.sort(key=lambda ps: (-float(problem.population[units_of[ps]].sum()), ps))
    chosen: dict[str, str] = {}
    for ps in waiting:
        free = np.array([problem.site_ids[j] not in taken for j in usable], dtype=bool)
        if not free.any():
            problems.add(f"polysystem {ps!r} has no hub and no usable site is left to be one", column="hub_site_id")
            continue
        rows = units_of[ps]
        times = problem.travel_min[np.ix_(rows, usable)]
        unreachable = np.isinf(times).sum(axis=0)
        weighted = (problem.population[rows, None] * np.where(np.isinf(times), 0.0, times)).sum(axis=0)
        inside = set(rows.tolist())
        foreign_host = np.array([hosts[j] is not None and hosts[j] not in inside for j in usable], dtype=bool)
        order = np.lexsort((np.arange(len(usable)), ~required, weighted, foreign_host, unreachable))
        best = next(c for c in order if free[c])
        site = problem.site_ids[usable[best]]
        chosen[ps] = site
        taken.add(site)
        logger.debug("polysystem %s: hub %s, weighted travel %.1f", ps, site, weighted[best])
    return chosen


def _site_label(problem: Problem, site: str) -> str:
    name = problem.site_names[problem.site_index(site)]
    return repr(site) if name == site else f"{site!r} ({name})"
