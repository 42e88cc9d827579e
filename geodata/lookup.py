"""ONS's LSOA (2011) to LSOA (2021) lookup, and registrations carried from one LSOA vintage to the other.

The lookup ("LSOA (2011) to LSOA (2021) to Local Authority District (2022) Lookup for
England and Wales") pairs every 2011 LSOA with the 2021 LSOAs it became, with a change
indicator (``CHGIND``, :data:`CHANGE_INDICATORS`). Patients registered by LSOA of one
vintage are carried to the other (:func:`registrations_to_vintage`): a code with a single
partner maps exactly (unchanged; a split, its pieces summed back; a merger, its parts
summed); a code with several partners (2021 -> 2011: merged or irregular; 2011 -> 2021:
split or irregular) has its patients apportioned among them by their populations, an
estimate. Patients are never created or lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from . import tables as v
from .boundaries import LSOA_CODE_FORM, PUBLISHED_CODE, Vintage
from .errors import ProblemCollector

__all__ = ["CHANGE_INDICATORS", "Conversion", "read_lsoa_lookup", "registrations_to_vintage"]

logger = logging.getLogger(__name__)

#: ONS's change indicators (``CHGIND``) from 2011 to 2021 LSOAs -> what each means.
CHANGE_INDICATORS = MappingProxyType(
    {
        "U": "unchanged",
        "S": "a 2011 LSOA split into several 2021 LSOAs",
        "M": "several 2011 LSOAs merged into one 2021 LSOA",
        "X": "irregular (redrawn)",
    }
)

#: Columns of the lookup: tidy name -> (pattern of the published name, published name).
_COLUMNS: dict[str, tuple[str, str]] = {
    "lsoa11_code": (r"lsoa11cd", "LSOA11CD"),
    "lsoa21_code": (r"lsoa21cd", "LSOA21CD"),
    "change": (r"chgind", "CHGIND"),
}
#: The lookup's code column of each vintage.
_CODE_OF_YEAR = {2011: "lsoa11_code", 2021: "lsoa21_code"}


def read_lsoa_lookup(path: str | Path) -> pd.DataFrame:
    """Read ONS's LSOA (2011) to LSOA (2021) lookup (CSV as published, or Parquet).

    Parameters
    ----------
    path
        File with columns ``LSOA11CD``, ``LSOA21CD`` and ``CHGIND`` (any case; the names,
        districts and ``ObjectId`` of the published file are not read).

    Returns
    -------
    pandas.DataFrame
        ``lsoa11_code``, ``lsoa21_code``, ``change`` (one of :data:`CHANGE_INDICATORS`),
        one row per pair.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        A missing column, a code that is not an LSOA code, a change indicator other than
        those of :data:`CHANGE_INDICATORS`, or a pair given twice (file, row and column).
    """
    path = Path(path)
    what = "LSOA lookup file"
    if path.suffix.lower() == ".parquet":
        table = v.read_parquet_table(path, what=what)
    else:
        table = v.read_table(path, what=what)
    published = v.matched_columns(table, _COLUMNS)
    table = v.rename_columns(table, _COLUMNS, file=path, required=_COLUMNS)
    v.require_rows(table, file=path, what="LSOA pairs")
    out = pd.DataFrame({tidy: table[tidy].astype(str).str.strip() for tidy in _COLUMNS}, index=table.index)
    problems = ProblemCollector(path)
    for tidy in _CODE_OF_YEAR.values():
        bad = ~out[tidy].str.fullmatch(LSOA_CODE_FORM)
        for row in out.index[bad.to_numpy()][:10]:
            problems.add(
                f"{out.at[row, tidy]!r} is not an LSOA code (E01 or W01 and six digits)",
                row=int(row),
                column=published[tidy],
            )
    out["change"] = out["change"].str.upper()
    unknown = ~out["change"].isin(list(CHANGE_INDICATORS))
    for row in out.index[unknown.to_numpy()][:10]:
        problems.add(
            f"unknown change indicator {table.at[row, 'change']!r}: expected "
            + ", ".join(f"{code} ({meaning})" for code, meaning in CHANGE_INDICATORS.items()),
            row=int(row),
            column=published["change"],
        )
    v.check_unique(
        out,
        list(_CODE_OF_YEAR.values()),
        problems=problems,
        label=f"{published['lsoa11_code']}, {published['lsoa21_code']}",
        what="pair",
    )
    problems.raise_if_any()
    out = out.reset_index(drop=True)
    logger.info(
        "%s: %s pairs of %s LSOAs 2011 and %s LSOAs 2021 (%s)",
        path.name,
        f"{len(out):,}",
        f"{out['lsoa11_code'].nunique():,}",
        f"{out['lsoa21_code'].nunique():,}",
        ", ".join(f"{code} {n:,}" for code, n in out["change"].value_counts().sort_index().items()),
    )
    return out


@dataclass(frozen=True)
class Conversion:
    """Registrations carried to another LSOA vintage (:func:`registrations_to_vintage`).

    Attributes
    ----------
    registrations : pandas.DataFrame
        ``practice_code``, ``lsoa_code`` (of the new vintage), ``patients`` (float: the
        apportioned parts are fractions), one row per pair; ``attrs[PUBLISHED_CODE]`` is the
        new vintage's code column (``LSOA11CD``).
    apportioned : pandas.Series
        Of each row of ``registrations``, the patients apportioned by population (an
        estimate); the rest of the row's patients are mapped exactly.
    """

    registrations: pd.DataFrame
    apportioned: pd.Series


def registrations_to_vintage(
    registrations: pd.DataFrame, lookup: pd.DataFrame, *, year: int, population: pd.Series
) -> Conversion:
    """Carry registrations by LSOA to the LSOAs of ``year`` (2011 or 2021).

    Parameters
    ----------
    registrations
        ``practice_code``, ``lsoa_code`` (of the other vintage), ``patients``.
    lookup
        :func:`read_lsoa_lookup`.
    year
        The vintage to carry the registrations to.
    population
        Population of the LSOAs of ``year``, by code: a code of the registrations with
        several partners in the lookup has its patients apportioned among them in
        proportion to their populations (in equal parts when none of them has one).

    Returns
    -------
    Conversion
        Codes the lookup does not know (``NO2011``, LSOAs beyond its area) are kept as
        they are; the total of the patients is unchanged.
    """
    target = _CODE_OF_YEAR[year]
    (source,) = set(_CODE_OF_YEAR.values()) - {target}
    pairs = lookup[[source, target]].drop_duplicates()
    weight = pairs[target].map(population).astype(float).fillna(0.0).clip(lower=0.0)
    pairs = pairs.assign(weight=weight.to_numpy())
    sums = pairs.groupby(source)["weight"].transform("sum")
    partners = pairs.groupby(source)[target].transform("size")
    share = np.where(sums > 0, pairs["weight"] / sums.where(sums > 0, 1.0), 1.0 / partners)
    pairs = pairs.assign(share=share, several=(partners > 1).to_numpy())
    reg = registrations[["practice_code", "lsoa_code", "patients"]]
    merged = reg.merge(pairs, how="left", left_on="lsoa_code", right_on=source, sort=False)
    known = merged[target].notna()
    patients = merged["patients"].astype(float) * merged["share"].where(known, 1.0)
    carried = pd.DataFrame(
        {
            "practice_code": merged["practice_code"].to_numpy(),
            "lsoa_code": merged[target].where(known, merged["lsoa_code"]).astype(str).to_numpy(),
            "patients": patients.to_numpy(),
            "apportioned": np.where(merged["several"].fillna(False).astype(bool), patients, 0.0),
        }
    )
    out = carried.groupby(["practice_code", "lsoa_code"], sort=False, as_index=False)[["patients", "apportioned"]].sum()
    apportioned = out.pop("apportioned")
    out.attrs[PUBLISHED_CODE] = Vintage(year, "").code_column
    return Conversion(out, apportioned)
