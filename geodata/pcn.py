"""Today's Primary Care Networks: the NHS Digital practice-to-PCN mapping.

NHS Digital publishes, with each monthly "Patients Registered at a GP Practice" release, a
mapping of every practice to its Primary Care Network (PCN), CCG, STP/ICB and NHS region
(``gp-reg-pat-prac-map.csv``; a real copy of January 2022 is
:data:`PCN_MAPPING_FILE` under the data folder). :func:`read_pcn_mapping` reads and checks
it; :func:`pcn_configuration` gives the PCN of each practice of a selection and lists the
practices the mapping does not have (never silently dropped).

Practices that belong to no PCN are published with the PCN code ``U`` and the name
"Unallocated"; they are kept, with ``allocated`` false, so that a caller decides what an
unallocated practice means for its study.

CCG codes differ between releases (CCGs merged in April 2021 and were replaced by ICBs in
July 2022): match practices by practice code, never by CCG.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import tables as v
from .errors import ProblemCollector, UnknownCodeError

__all__ = [
    "PCN_MAPPING_FILE",
    "PCN_MAPPING_COLUMNS",
    "UNALLOCATED_PCN",
    "PcnConfiguration",
    "read_pcn_mapping",
    "pcn_configuration",
    "practices_of",
]

logger = logging.getLogger(__name__)

#: The practice-to-PCN mapping file, relative to the data folder.
PCN_MAPPING_FILE = "england/gp-reg-pat-prac-map_2022-01.csv"

#: Published column -> tidy name. Every one is required. From July 2022 NHS Digital publishes
#: the sub-ICB locations and ICBs (the successors of the CCGs and STPs) in their place: either
#: layout is read, their codes as ``ccg_code`` and ``stp_code``.
PCN_MAPPING_COLUMNS: dict[str | tuple[str, ...], str] = {
    "PRACTICE_CODE": "practice_code",
    "PRACTICE_NAME": "practice_name",
    "PCN_CODE": "pcn_code",
    "PCN_NAME": "pcn_name",
    ("CCG_CODE", "SUB_ICB_LOCATION_CODE"): "ccg_code",
    ("CCG_NAME", "SUB_ICB_LOCATION_NAME"): "ccg_name",
    ("STP_CODE", "ICB_CODE"): "stp_code",
    ("STP_NAME", "ICB_NAME"): "stp_name",
    "COMM_REGION_CODE": "region_code",
    "COMM_REGION_NAME": "region_name",
}

#: PCN code of the practices that belong to no PCN, as published.
UNALLOCATED_PCN = "U"


def read_pcn_mapping(path: str | Path) -> pd.DataFrame:
    """Read the NHS Digital practice-to-PCN mapping.

    Parameters
    ----------
    path
        ``gp-reg-pat-prac-map.csv`` with the columns of :data:`PCN_MAPPING_COLUMNS`
        (other columns, e.g. PUBLICATION, EXTRACT_DATE, ONS codes, are ignored).

    Returns
    -------
    pandas.DataFrame
        One row per practice: ``practice_code`` (str, unique), ``practice_name``,
        ``pcn_code``, ``pcn_name``, ``ccg_code``, ``ccg_name``, ``stp_code``,
        ``stp_name``, ``region_code``, ``region_name`` (str, stripped; the practice code
        upper case too: :func:`geodata.tables.normalise_codes`) and ``allocated``
        (bool: false for the PCN code :data:`UNALLOCATED_PCN`).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        If columns are missing (all named), the file has no rows, a practice code or a
        PCN code is blank, a practice appears twice, or one PCN code carries two names:
        every problem with its row and column.
    """
    path = Path(path)
    table = v.read_table(path, what="practice-to-PCN mapping file")
    columns = v.published_columns(table, PCN_MAPPING_COLUMNS, file=path)
    v.require_rows(table, file=path, what="practices (PCN mapping)")
    out = table[list(columns)].rename(columns=columns)
    out = out.apply(lambda column: column.astype(str).str.strip())
    out["practice_code"] = v.normalise_codes(out["practice_code"])
    problems = ProblemCollector(path)
    for tidy in ("practice_code", "pcn_code", "stp_code"):
        published = next(k for k, t in columns.items() if t == tidy)
        for row in out.index[out[tidy] == ""]:
            problems.add(f"missing {published.lower().replace('_', ' ')}", row=int(row), column=published)
    v.check_unique(
        out.loc[out["practice_code"] != ""],
        "practice_code",
        problems=problems,
        label="PRACTICE_CODE",
        what="practice code",
    )
    names = out.loc[out["pcn_code"] != ""].groupby("pcn_code", sort=True)["pcn_name"]
    for code, n in names.nunique().items():
        if n > 1:
            group = out.loc[out["pcn_code"] == code]
            shown = ", ".join(repr(name) for name in sorted(group["pcn_name"].unique()))
            problems.add(f"PCN code {code!r} has {n} names: {shown}", row=int(group.index[0]), column="PCN_NAME")
    problems.raise_if_any()
    out["allocated"] = out["pcn_code"] != UNALLOCATED_PCN
    out = out.reset_index(drop=True)
    logger.info(
        "%s: %s practices in %s PCNs (%s practices unallocated)",
        path.name,
        f"{len(out):,}",
        f"{out.loc[out['allocated'], 'pcn_code'].nunique():,}",
        f"{int((~out['allocated']).sum()):,}",
    )
    return out


@dataclass(frozen=True)
class PcnConfiguration:
    """The current PCN of each practice of a selection.

    Attributes
    ----------
    pcn_of : dict
        Practice code -> PCN code, for the practices of the selection the mapping has and
        that belong to a PCN.
    pcn_names : dict
        PCN code -> PCN name, for the PCNs in ``pcn_of``.
    unallocated : tuple of str
        Practices of the selection that the mapping lists as belonging to no PCN.
    missing : tuple of str
        Practices of the selection the mapping does not list at all (e.g. opened after
        it was published).
    """

    pcn_of: dict[str, str]
    pcn_names: dict[str, str]
    unallocated: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when every practice of the selection has a PCN."""
        return not self.unallocated and not self.missing


def pcn_configuration(practice_codes: Iterable[str], mapping: pd.DataFrame) -> PcnConfiguration:
    """The current PCN of each practice of a selection, matched by practice code.

    Parameters
    ----------
    practice_codes
        Practice codes of the selection (e.g. a CCG's practices from the 2021 list sizes).
    mapping
        As returned by :func:`read_pcn_mapping`.

    Returns
    -------
    PcnConfiguration
        Practices with a PCN, and those unallocated or missing (each listed, in the order
        given).
    """
    codes = [str(code).strip() for code in practice_codes]
    known = mapping.set_index("practice_code")
    listed = [code for code in codes if code in known.index]
    missing = tuple(code for code in codes if code not in known.index)
    rows = known.loc[listed]
    allocated = rows["allocated"].to_numpy(dtype=bool)
    pcn_of = dict(zip(rows.index[allocated], rows["pcn_code"].to_numpy()[allocated], strict=True))
    names = dict(zip(rows["pcn_code"].to_numpy()[allocated], rows["pcn_name"].to_numpy()[allocated], strict=True))
    unallocated = tuple(rows.index[~allocated])
    if missing or unallocated:
        logger.warning(
            "%d practice(s) of the selection have no PCN in the mapping: %s",
            len(missing) + len(unallocated),
            ", ".join([*(f"{c} (not listed)" for c in missing), *(f"{c} (unallocated)" for c in unallocated)]),
        )
    return PcnConfiguration(pcn_of=pcn_of, pcn_names=names, unallocated=unallocated, missing=missing)


def practices_of(
    mapping: pd.DataFrame,
    *,
    stp: str | Iterable[str] | None = None,
    pcn: str | Iterable[str] | None = None,
    file: str | Path = "<PCN mapping>",
) -> list[str]:
    """Practice codes of STPs/ICBs and/or PCNs, in the mapping's order.

    Parameters
    ----------
    mapping
        As returned by :func:`read_pcn_mapping`.
    stp
        STP/ICB code(s) of the mapping (``STP_CODE``, e.g. ``"QMF"``).
    pcn
        PCN code(s) (``PCN_CODE``, e.g. ``"U08578"``). With both, practices of either.
    file
        The mapping file, named in errors.

    Returns
    -------
    list of str

    Raises
    ------
    UnknownCodeError
        If a code matches no row of the mapping (each named, with close known codes).
    """
    keep = pd.Series(False, index=mapping.index)
    for kind, column, value in (("stp", "stp_code", stp), ("pcn", "pcn_code", pcn)):
        if value is None:
            continue
        codes = [value] if isinstance(value, str) else [str(c) for c in value]
        known = set(mapping[column])
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise UnknownCodeError(file, kind=kind, codes=unknown, known=known - {UNALLOCATED_PCN})
        keep |= mapping[column].isin(codes)
    return mapping.loc[keep, "practice_code"].tolist()
