"""Postcodes: OS Code-Point Open and geocoding of postcodes to British National Grid points.

Code-Point Open is published as headerless CSV files (one per postcode area, or bundled);
the column names are in a separate ``Code-Point_Open_Column_Headers.csv``. Coordinates are
eastings/northings in EPSG:27700 already, so no reprojection is needed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import overload

import geopandas as gpd
import pandas as pd

from . import tables as v
from .errors import DataProblem, InputDataError, ProblemCollector
from .settings import BNG

__all__ = [
    "CODEPOINT_COLUMNS",
    "normalise_postcode",
    "read_codepoint",
    "geocode_postcodes",
]

logger = logging.getLogger(__name__)

#: Tidy names of the ten Code-Point Open columns, in the published order (used when no
#: header file is given).
CODEPOINT_COLUMNS: tuple[str, ...] = (
    "postcode",
    "quality",
    "easting",
    "northing",
    "country_code",
    "nhs_region_code",
    "nhs_ha_code",
    "county_code",
    "lad_code",
    "ward_code",
)

# Published header names (long form and short codes) -> tidy names.
_HEADER_NAMES: dict[str, str] = {
    "postcode": "postcode",
    "pc": "postcode",
    "positional_quality_indicator": "quality",
    "pq": "quality",
    "eastings": "easting",
    "ea": "easting",
    "northings": "northing",
    "no": "northing",
    "country_code": "country_code",
    "cy": "country_code",
    "nhs_regional_ha_code": "nhs_region_code",
    "rh": "nhs_region_code",
    "nhs_ha_code": "nhs_ha_code",
    "lh": "nhs_ha_code",
    "admin_county_code": "county_code",
    "cc": "county_code",
    "admin_district_code": "lad_code",
    "dc": "lad_code",
    "admin_ward_code": "ward_code",
    "wc": "ward_code",
}

#: Positional quality 90: "no coordinates available" in Code-Point Open.
_NO_COORDINATES = 90


@overload
def normalise_postcode(postcode: str) -> str: ...
@overload
def normalise_postcode(postcode: pd.Series) -> pd.Series: ...
def normalise_postcode(postcode):
    """Canonical form of UK postcodes: upper case, one space before the inward code.

    ``"e1  0aa"``, ``"E10AA"`` and ``" E1 0AA "`` all become ``"E1 0AA"``. Strings too
    short to be a postcode (fewer than five characters once spaces are removed) are
    returned upper-cased without spaces; missing values stay missing.

    Parameters
    ----------
    postcode
        One postcode or a Series of them.

    Returns
    -------
    str or pandas.Series
        Same shape as the input.

    Examples
    --------
    >>> normalise_postcode("ig1  4dr")
    'IG1 4DR'
    """
    if isinstance(postcode, pd.Series):
        compact = postcode.astype("str").str.upper()
        for space in (" ", "\t", "\u00a0"):
            compact = compact.str.replace(space, "", regex=False)
        compact = compact.where(postcode.notna())
        spaced = compact.str[:-3] + " " + compact.str[-3:]
        return spaced.where(compact.str.len() >= 5, compact)
    if postcode is None or (isinstance(postcode, float) and pd.isna(postcode)):
        return postcode
    compact = "".join(str(postcode).upper().split())
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact


def _header_names(headers_path: str | Path, n_columns: int) -> list[str]:
    """Tidy column names from a Code-Point ``Column_Headers`` file."""
    table = v.read_table(headers_path, header=False, what="Code-Point Open column headers file")
    best: list[str] | None = None
    best_known = -1
    for _, row in table.iterrows():
        names = [str(x).strip() for x in row if str(x).strip()]
        known = sum(name.lower() in _HEADER_NAMES for name in names)
        if names and known >= best_known:
            best, best_known = names, known
    if best is None:
        raise InputDataError([DataProblem(str(headers_path), "the header file lists no column names")])
    if len(best) != n_columns:
        raise InputDataError(
            [
                DataProblem(
                    str(headers_path),
                    f"lists {len(best)} column names but the Code-Point data file has {n_columns} columns",
                )
            ]
        )
    return [_HEADER_NAMES.get(name.lower(), v.snake_case(name)) for name in best]


def read_codepoint(path: str | Path, *, headers_path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Read OS Code-Point Open postcodes (headerless CSV, ``.gz`` allowed).

    Postcodes without coordinates (positional quality 90) are dropped and counted in the
    log.

    Parameters
    ----------
    path
        Code-Point Open CSV (one area file or a concatenation), optionally gzipped.
    headers_path
        ``Code-Point_Open_Column_Headers.csv``; either its row of long names or of short
        codes is understood. When ``None`` the documented layout
        :data:`CODEPOINT_COLUMNS` is assumed.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700, one row per postcode, columns:

        ``postcode``
            Normalised postcode (upper case, single space), unique.
        ``quality``
            Positional quality indicator (10 = within the building ... 60).
        ``country_code``, ``nhs_region_code``, ``nhs_ha_code``, ``county_code``,
        ``lad_code``, ``ward_code``
            ONS codes as published (``lad_code`` = local authority district).
        ``geometry``
            Point at the published easting/northing.

    Raises
    ------
    MissingFileError
        If ``path`` or ``headers_path`` does not exist.
    InputDataError
        If the file cannot be decoded, a required column (postcode, easting, northing) is
        missing, an easting/northing/quality is not a number (row and column named) or a
        postcode appears twice (every duplicate and its rows named).
    """
    path = Path(path)
    table = v.read_table(path, header=False, what="Code-Point Open file")
    if headers_path is not None:
        names = _header_names(headers_path, table.shape[1])
    else:
        names = list(CODEPOINT_COLUMNS[: table.shape[1]])
    positions = {name: i + 1 for i, name in enumerate(names)}
    problems = ProblemCollector(path)
    for required in ("postcode", "easting", "northing"):
        if required not in positions:
            problems.add(
                f"required column is missing: the file has {table.shape[1]} columns "
                f"({', '.join(names)}), the Code-Point Open layout has {len(CODEPOINT_COLUMNS)}",
                column=required,
            )
    problems.raise_if_any()
    table.columns = names

    def label(name: str) -> str:
        return f"{positions[name]} ({name})"

    table["postcode"] = normalise_postcode(table["postcode"])
    easting = v.parse_numbers(table, "easting", problems=problems, label=label("easting"), minimum=0)
    northing = v.parse_numbers(table, "northing", problems=problems, label=label("northing"), minimum=0)
    if "quality" in positions:
        quality = v.parse_numbers(table, "quality", problems=problems, label=label("quality"), integer=True)
    else:
        quality = pd.Series(pd.NA, index=table.index, dtype="Int64")
    for row in table.index[table["postcode"] == ""]:
        problems.add("missing postcode", row=int(row), column=label("postcode"))
    v.check_unique(table, "postcode", problems=problems, label=label("postcode"), what="postcode")
    problems.raise_if_any()

    located = (quality != _NO_COORDINATES).fillna(True) & ~((easting == 0) & (northing == 0))
    n_dropped = int((~located).sum())
    if n_dropped:
        logger.info(
            "%s: dropped %s postcode(s) without coordinates (positional quality %d)",
            path.name,
            f"{n_dropped:,}",
            _NO_COORDINATES,
        )
    attributes = [c for c in names if c not in {"easting", "northing", "quality"}]
    out = table.loc[located, attributes].copy()
    out.insert(1, "quality", quality[located])
    geometry = gpd.points_from_xy(easting[located], northing[located], crs=BNG)
    result = gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geometry, crs=BNG)
    logger.info("%s: read %s postcodes", path.name, f"{len(result):,}")
    return result


def geocode_postcodes(
    frame: pd.DataFrame,
    codepoint: gpd.GeoDataFrame,
    *,
    postcode_column: str = "postcode",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Give each row of ``frame`` the Code-Point point of its postcode.

    Postcodes are compared in normalised form (:func:`normalise_postcode`), so spacing
    and case do not matter. Rows whose postcode is unknown to Code-Point are returned
    separately and counted in the log.

    Parameters
    ----------
    frame
        Table with a postcode column; an existing ``geometry`` is replaced.
    codepoint
        Postcodes as returned by :func:`read_codepoint`.
    postcode_column
        Name of the postcode column of ``frame``.

    Returns
    -------
    matched : geopandas.GeoDataFrame
        Rows of ``frame`` found in Code-Point, with their point (EPSG:27700).
    unmatched : pandas.DataFrame
        The other rows of ``frame`` (without geometry).

    Raises
    ------
    InputDataError
        If ``frame`` has no ``postcode_column``.
    """
    if postcode_column not in frame.columns:
        raise InputDataError(
            [DataProblem("<table to geocode>", "no postcode column to geocode", column=postcode_column)]
        )
    table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    points = v.to_bng(codepoint)
    keys = normalise_postcode(table[postcode_column])
    position = pd.Index(points["postcode"]).get_indexer(keys)
    found = position >= 0
    matched = gpd.GeoDataFrame(
        table.loc[found].reset_index(drop=True),
        geometry=gpd.GeoSeries(points.geometry.array[position[found]], crs=BNG),
        crs=BNG,
    )
    unmatched = table.loc[~found].reset_index(drop=True)
    if len(unmatched):
        logger.info(
            "%s of %s postcode(s) not found in Code-Point Open: %s",
            f"{len(unmatched):,}",
            f"{len(table):,}",
            v.few(unmatched[postcode_column]),
        )
    else:
        logger.info("geocoded all %s postcode(s) with Code-Point Open", f"{len(table):,}")
    return matched, unmatched
