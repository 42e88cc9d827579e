"""Postcodes: OS Code-Point Open and geocoding of postcodes to British National Grid points.

Code-Point Open is published as a zip archive (``codepo_gb.zip``) of headerless CSV files,
one per postcode area (``Data/CSV/ig.csv``...), with the column names in
``Doc/Code-Point_Open_Column_Headers.csv``; the zip or the folder it unpacks to is read.
Coordinates are eastings/northings in EPSG:27700 already, so no reprojection is needed.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from pathlib import Path
from typing import overload

import geopandas as gpd
import pandas as pd

from . import tables as v
from .errors import DataProblem, InputDataError, ProblemCollector
from .settings import BNG

__all__ = [
    "CODEPOINT_COLUMNS",
    "codepoint_folder_files",
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

#: The name of the column headers file of Code-Point Open (case ignored).
_HEADERS_NAME = "code-point_open_column_headers.csv"
#: The area files and the column headers file in the Code-Point Open zip as published, or
#: in the folder it unpacks to (``Data/CSV/ab.csv``..., ``Doc/Code-Point_Open_Column_Headers.csv``;
#: relative paths with ``/``, case ignored, under any top folder).
_AREA_FILE = re.compile(r"(?:[^/]+/)*data/csv/[^/]+\.csv", re.IGNORECASE)
_HEADERS_FILE = re.compile(rf"(?:[^/]+/)*doc/{re.escape(_HEADERS_NAME)}", re.IGNORECASE)
#: The endings of the area files of a folder (case ignored): as published, or gzipped.
_FOLDER_AREA_ENDINGS = (".csv", ".csv.gz")
#: The area files of the unpacked folder: those of the zip, gzipped or not.
_FOLDER_AREA_FILE = re.compile(rf"{_AREA_FILE.pattern}(?:\.gz)?", re.IGNORECASE)
#: What the Code-Point Open role accepts, as messages say it.
_ACCEPTED = (
    "name the Code-Point Open zip as downloaded (codepo_gb.zip) or the folder it unpacks to, or one CSV file "
    "(an area file of its Data/CSV folder, or several concatenated; .gz allowed)"
)


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


def _header_names(headers_path: str | Path, n_columns: int, *, member: str | None = None) -> list[str]:
    """Tidy column names from a Code-Point ``Column_Headers`` file (``member`` of a zip archive, if given)."""
    table = v.read_table(headers_path, header=False, what="Code-Point Open column headers file", member=member)
    shown = f"{headers_path} ({member})" if member is not None else str(headers_path)
    best: list[str] | None = None
    best_known = -1
    for _, row in table.iterrows():
        names = [str(x).strip() for x in row if str(x).strip()]
        known = sum(name.lower() in _HEADER_NAMES for name in names)
        if names and known >= best_known:
            best, best_known = names, known
    if best is None:
        raise InputDataError([DataProblem(shown, "the header file lists no column names")])
    if len(best) != n_columns:
        raise InputDataError(
            [
                DataProblem(
                    shown,
                    f"lists {len(best)} column names but the Code-Point data file has {n_columns} columns",
                )
            ]
        )
    return [_HEADER_NAMES.get(name.lower(), v.snake_case(name)) for name in best]


def read_codepoint(path: str | Path, *, headers_path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Read OS Code-Point Open postcodes: the zip as published or unpacked, or headerless CSV (``.gz`` allowed).

    Postcodes without coordinates (positional quality 90) are dropped and counted in the
    log.

    Parameters
    ----------
    path
        The Code-Point Open zip archive as downloaded (``codepo_gb.zip``: every area file
        of its ``Data/CSV`` folder is read); the folder it unpacks to (the same files, each
        may be gzipped), or a folder holding area files directly (its ``*.csv`` and
        ``*.csv.gz`` files but the headers file); or one CSV file (an area file, or a
        concatenation), optionally gzipped. Of a folder, only the files of
        :func:`codepoint_folder_files` are read.
    headers_path
        ``Code-Point_Open_Column_Headers.csv``; either its row of long names or of short
        codes is understood. When ``None``, the zip's or the folder's own
        ``Doc/Code-Point_Open_Column_Headers.csv`` (in a folder of area files, the one beside
        them), else the documented layout :data:`CODEPOINT_COLUMNS`.

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
        If ``path`` is a zip archive without ``Data/CSV/*.csv`` files or a folder without
        area files, a folder of which a sub-folder cannot be listed (named), or one holding
        an area as both ``.csv`` and ``.csv.gz`` (both named); if a file cannot be decoded,
        a required column (postcode, easting, northing) is missing, an
        easting/northing/quality is not a number (row and column named; in a zip, the area
        file too) or a postcode appears twice (every duplicate and its rows named).
    """
    path = Path(path).expanduser()
    members: list[str | None] = [None]
    headers_member = None
    if path.is_dir():
        areas, headers = _codepoint_folder(path)
        if not areas:
            problem = (
                f"a folder without Code-Point Open area files (Data/CSV/*.csv, or *.csv or *.csv.gz in it): {_ACCEPTED}"
            )
            raise InputDataError([DataProblem(str(path), problem)])
        if headers_path is None:
            headers_path = path / headers if headers is not None else None
        parts = [
            _read_area_file(path / area, None, headers_path=headers_path, headers_member=None, area=area)
            for area in areas
        ]
        members = list(areas)
    else:
        v.require_file(path, what="Code-Point Open file")
        if zipfile.is_zipfile(path):
            names = _zip_names(path)
            areas = sorted((name for name in names if _AREA_FILE.fullmatch(name)), key=str.lower)
            if not areas:
                problem = f"a zip archive without Code-Point Open area files (Data/CSV/*.csv): {_ACCEPTED}"
                raise InputDataError([DataProblem(str(path), problem)])
            members = list(areas)
            if headers_path is None:
                headers_member = next((name for name in names if _HEADERS_FILE.fullmatch(name)), None)
                headers_path = path if headers_member is not None else None
        parts = [
            _read_area_file(path, m, headers_path=headers_path, headers_member=headers_member, area=m) for m in members
        ]
    table = pd.concat([part for part, _ in parts], ignore_index=True)
    _check_unique_across(path, table, members)
    n_dropped = sum(dropped for _, dropped in parts)
    if n_dropped:
        logger.info(
            "%s: dropped %s postcode(s) without coordinates (positional quality %d)",
            path.name,
            f"{n_dropped:,}",
            _NO_COORDINATES,
        )
    geometry = gpd.points_from_xy(table.pop("easting"), table.pop("northing"), crs=BNG)
    result = gpd.GeoDataFrame(table.drop(columns="area_file"), geometry=geometry, crs=BNG)
    source = f" from {len(members):,} area files" if members != [None] else ""
    logger.info("%s: read %s postcodes%s", path.name, f"{len(result):,}", source)
    return result


def _zip_names(path: Path) -> list[str]:
    """The names of the files in the zip archive ``path``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputDataError([DataProblem(str(path), f"not a readable zip archive ({exc})")]) from None


def codepoint_folder_files(path: str | Path) -> list[str]:
    """The files of a Code-Point Open folder that :func:`read_codepoint` reads, and no other.

    Its area files and its own column headers file (the one read when no headers file is
    named), as sorted relative paths with ``/``: what the build cache and the run's record
    of input files hash for the folder (:func:`geodata.cache.folder_digest`), so that a
    ``.DS_Store``, a README or a PDF beside them changes nothing.

    Parameters
    ----------
    path
        An existing folder.

    Returns
    -------
    list of str
        Empty when the folder holds no area files.

    Raises
    ------
    InputDataError
        If the folder or one of its sub-folders cannot be listed (the folder named), or it
        holds one area both as ``.csv`` and ``.csv.gz`` (both named).
    """
    areas, headers = _codepoint_folder(Path(path))
    return sorted([*areas, *([headers] if headers is not None else [])])


def _codepoint_folder(path: Path) -> tuple[list[str], str | None]:
    """The area files of the folder ``path`` and its column headers file, as relative paths with ``/``."""
    names = _folder_names(path)
    areas = _folder_areas(names)
    _check_one_file_per_area(path, areas)
    return areas, _folder_headers(names)


def _folder_names(path: Path) -> list[str]:
    """Every file of the folder ``path``, at any depth, as sorted relative paths with ``/``.

    Symbolic links to folders are not followed; a folder that cannot be listed is an error
    naming it, never skipped (its area files would go unread without a word).
    """

    def refuse(exc: OSError) -> None:
        where = exc.filename if exc.filename is not None else path
        problem = f"a folder of Code-Point Open that cannot be listed ({exc.strerror or exc})"
        raise InputDataError([DataProblem(str(where), problem)]) from None

    return sorted(
        Path(top, name).relative_to(path).as_posix()
        for top, _, names in os.walk(path, onerror=refuse)
        for name in names
    )


def _is_folder_area_file(name: str) -> bool:
    """Whether ``name``, a file at the top of a folder, is an area file: ``*.csv`` or ``*.csv.gz``, not the headers."""
    lower = name.lower()
    return lower.endswith(_FOLDER_AREA_ENDINGS) and lower.removesuffix(".gz") != _HEADERS_NAME


def _folder_areas(names: list[str]) -> list[str]:
    """The area files among a folder's ``names``: ``Data/CSV/*.csv``, else the CSV files at its top (or ``.csv.gz``)."""
    areas = [name for name in names if _FOLDER_AREA_FILE.fullmatch(name)]
    if not areas:
        areas = [name for name in names if "/" not in name and _is_folder_area_file(name)]
    return sorted(areas, key=str.lower)


def _folder_headers(names: list[str]) -> str | None:
    """The column headers file among a folder's ``names``: ``Doc/...``, else the one at its top."""
    in_doc = sorted(name for name in names if _HEADERS_FILE.fullmatch(name))
    return next(iter(in_doc), None) or next((name for name in names if name.lower() == _HEADERS_NAME), None)


def _check_one_file_per_area(path: Path, areas: list[str]) -> None:
    """Raise naming both files when the folder ``path`` holds one area as ``ab.csv`` and ``ab.csv.gz``."""
    by_area: dict[str, list[str]] = {}
    for area in areas:
        by_area.setdefault(area.lower().removesuffix(".gz"), []).append(area)
    problems = ProblemCollector(path)
    for files in by_area.values():
        if len(files) > 1:
            problems.add(f"{' and '.join(files)} hold the same area: keep one of them")
    problems.raise_if_any()


def _read_area_file(
    path: Path, member: str | None, *, headers_path: str | Path | None, headers_member: str | None, area: str | None
) -> tuple[pd.DataFrame, int]:
    """One Code-Point Open CSV (``member`` of the zip ``path``, or ``path`` itself), checked.

    Returns its located postcodes (``postcode``, ``quality``, the codes, ``easting``,
    ``northing`` and ``area_file``: ``area``, as messages name the area file) and how many
    had no coordinates.
    """
    table = v.read_table(path, header=False, what="Code-Point Open file", member=member)
    if headers_path is not None:
        names = _header_names(headers_path, table.shape[1], member=headers_member)
    else:
        names = list(CODEPOINT_COLUMNS[: table.shape[1]])
    positions = {name: i + 1 for i, name in enumerate(names)}
    problems = ProblemCollector(f"{path} ({member})" if member is not None else path)
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
    attributes = [c for c in names if c not in {"easting", "northing", "quality"}]
    out = table.loc[located, attributes].copy()
    out.insert(1, "quality", quality[located])
    out["easting"] = easting[located]
    out["northing"] = northing[located]
    out["area_file"] = area
    return out.reset_index(drop=True), int((~located).sum())


def _check_unique_across(path: Path, table: pd.DataFrame, members: list[str | None]) -> None:
    """Raise naming every postcode that two area files of the zip or folder ``path`` both list."""
    if len(members) < 2:
        return
    repeated = table.loc[table["postcode"].duplicated(keep=False)]
    if repeated.empty:
        return
    problems = ProblemCollector(path)
    for postcode, files in repeated.groupby("postcode", sort=True)["area_file"]:
        problems.add(f"postcode {postcode!r} is listed in {' and '.join(map(str, files))}", column="1 (postcode)")
    problems.raise_if_any()


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
