"""Today's configuration of a selection: its practices grouped by their current PCN.

:func:`pcn_configuration_frame` turns the practice-to-PCN mapping
(:func:`geodata.pcn.pcn_configuration`) into a *configuration* as
:func:`catchment.evaluate.plan_from_configuration` reads it: one row per unit, the PCN as
the polysystem, hubs chosen as ``evaluate`` chooses them. Nothing is dropped: a practice
the mapping lists as belonging to no PCN, or does not list at all, forms a polysystem of
its own labelled :data:`NO_PCN_LABEL` (so it is scored, and breaks the floor where it is
small, in plain view), and :func:`pcn_notes` says which practices those are.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from catchment.evaluate import plan_from_configuration
from catchment.plan import Plan
from catchment.problem import Problem
from geodata.errors import CatchmentError, ProblemDefinitionError
from geodata.pcn import PCN_MAPPING_FILE, PcnConfiguration, pcn_configuration, read_pcn_mapping

if TYPE_CHECKING:
    from catchment.scenario import Scenario

__all__ = [
    "NO_PCN_LABEL",
    "PCN_TABLE_COLUMNS",
    "pcn_configuration_frame",
    "pcn_labels",
    "pcn_notes",
    "pcn_table",
    "read_current_pcns",
    "current_pcn_plan",
    "known_pcn_plan",
    "PCN_SOLVER",
]

logger = logging.getLogger(__name__)

#: ``Plan.solver`` of today's PCNs scored as a configuration.
PCN_SOLVER = "today's PCNs"

#: Columns of :func:`pcn_table` (``pcns.csv``).
PCN_TABLE_COLUMNS = ("polysystem_id", "pcn_code", "pcn_name", "practices", "population", "rules_broken")

#: Polysystem label of a practice with no PCN (``{code}`` is the practice code).
NO_PCN_LABEL = "no PCN ({code})"


def pcn_labels(unit_ids: Sequence[str], config: PcnConfiguration) -> dict[str, str]:
    """Unit id -> label of its polysystem: the PCN name, or :data:`NO_PCN_LABEL`."""
    return {
        unit: config.pcn_names[config.pcn_of[unit]] if unit in config.pcn_of else NO_PCN_LABEL.format(code=unit)
        for unit in unit_ids
    }


def pcn_configuration_frame(unit_ids: Sequence[str], config: PcnConfiguration) -> pd.DataFrame:
    """The current PCN configuration of practice units, as a configuration table.

    Parameters
    ----------
    unit_ids
        The problem's practice codes (``Problem.unit_ids``).
    config
        From :func:`geodata.pcn.pcn_configuration` for the same practices.

    Returns
    -------
    pandas.DataFrame
        ``unit_id`` and ``polysystem_id`` (the PCN code, or the practice's own
        :data:`NO_PCN_LABEL`), one row per unit in problem order; no hubs (chosen as
        ``evaluate`` does).
    """
    polysystem = [config.pcn_of.get(unit, NO_PCN_LABEL.format(code=unit)) for unit in unit_ids]
    return pd.DataFrame({"unit_id": list(unit_ids), "polysystem_id": polysystem})


def pcn_notes(config: PcnConfiguration) -> tuple[str, ...]:
    """Sentences for the report about practices without a PCN (none when all have one)."""
    notes = []
    if config.unallocated:
        notes.append(
            f"{len(config.unallocated)} practice(s) belong to no PCN in the mapping, each scored as a "
            f"polysystem of its own: {', '.join(config.unallocated)}"
        )
    if config.missing:
        notes.append(
            f"{len(config.missing)} practice(s) are not in the PCN mapping, each scored as a polysystem "
            f"of its own: {', '.join(config.missing)}"
        )
    return tuple(notes)


def pcn_table(problem: Problem, plan: Plan, config: PcnConfiguration) -> pd.DataFrame:
    """Each polysystem of a PCN plan with its PCN and every rule it breaks.

    Parameters
    ----------
    problem
        The problem.
    plan
        The plan of :func:`pcn_configuration_frame` (``evaluate --plan pcn``).
    config
        The same configuration.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PCN_TABLE_COLUMNS`, one row per polysystem; ``rules_broken`` lists
        the validator's findings about that polysystem (``"; "``-separated, empty when none).
    """
    labels = pcn_labels(problem.unit_ids, config)
    ids = plan.polysystem_ids()
    population = dict(zip(problem.unit_ids, problem.population.tolist(), strict=True))
    rows = []
    for hub in plan.hubs:
        units = plan.units_of(hub)
        names = sorted({labels[u] for u in units})
        codes = sorted({config.pcn_of.get(u, "") for u in units} - {""})
        broken = [str(v) for v in plan.violations if v.ids and v.ids[0] == hub]
        rows.append(
            (
                ids[hub],
                ", ".join(codes),
                ", ".join(names),
                len(units),
                sum(population[u] for u in units),
                "; ".join(broken),
            )
        )
    return pd.DataFrame(rows, columns=list(PCN_TABLE_COLUMNS))


def read_current_pcns(
    scenario: Scenario, problem: Problem, *, data_dir: Path | None = None
) -> tuple[pd.DataFrame, PcnConfiguration, Path]:
    """Today's PCN configuration of a scenario's practices (the application reads the mapping).

    Parameters
    ----------
    scenario
        The scenario (its ``[data] pcn_mapping`` names the mapping file; default
        :data:`geodata.pcn.PCN_MAPPING_FILE`).
    problem
        Its problem (practice units).
    data_dir
        The data folder (default :func:`geodata.settings.data_dir`).

    Returns
    -------
    (pandas.DataFrame, PcnConfiguration, pathlib.Path)
        The configuration table, the configuration and the mapping file read.

    Raises
    ------
    ProblemDefinitionError
        If the units are not practices.
    MissingFileError, InputDataError
        If the mapping file is missing or malformed.
    """
    if problem.unit_type != "practice":
        raise ProblemDefinitionError(
            [
                f"today's PCNs group practices; this scenario plans {problem.unit_type} units "
                "(--plan pcn needs practices)"
            ]
        )
    from geodata.settings import data_dir as default_data_dir

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    path = scenario.resolve(scenario.data.get("pcn_mapping", PCN_MAPPING_FILE), root)
    config = pcn_configuration(problem.unit_ids, read_pcn_mapping(path))
    return pcn_configuration_frame(problem.unit_ids, config), config, path


def current_pcn_plan(
    scenario: Scenario, problem: Problem, *, data_dir: Path | None = None
) -> tuple[Plan, pd.DataFrame]:
    """Today's PCNs of a scenario's practices scored as a configuration (``evaluate --plan pcn``).

    Returns
    -------
    (Plan, pandas.DataFrame)
        The plan (``solver`` :data:`PCN_SOLVER`, :func:`pcn_notes` among its notes) and its
        :func:`pcn_table`.

    Raises
    ------
    ProblemDefinitionError, MissingFileError, InputDataError
        As :func:`read_current_pcns`.
    """
    configuration, config, path = read_current_pcns(scenario, problem, data_dir=data_dir)
    plan = plan_from_configuration(problem, configuration, file=str(path))
    plan = dataclasses.replace(plan, solver=PCN_SOLVER, notes=(*plan.notes, *pcn_notes(config)))
    return plan, pcn_table(problem, plan, config)


def known_pcn_plan(scenario: Scenario | None, problem: Problem, *, data_dir: Path | None = None) -> Plan | None:
    """Today's PCNs (:func:`current_pcn_plan`) when they are known, else ``None``.

    They are unknown for the built-in demo (``scenario`` None), for units other than
    practices, and when the mapping file is missing or cannot be read (logged): a plan's
    exports then list no moves, and nothing fails.
    """
    if scenario is None or problem.unit_type != "practice":
        return None
    try:
        return current_pcn_plan(scenario, problem, data_dir=data_dir)[0]
    except CatchmentError as exc:
        logger.warning("today's PCNs are not known, so no moves are listed against them: %s", exc)
        return None
