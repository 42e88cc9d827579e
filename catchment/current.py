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

from collections.abc import Sequence

import pandas as pd

from geodata.pcn import PcnConfiguration

__all__ = ["NO_PCN_LABEL", "pcn_configuration_frame", "pcn_labels", "pcn_notes"]

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
