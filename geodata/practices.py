"""GP practices and hospital sites of a study area, assembled from the published files.

:func:`load_practices` joins the open GP practices of ``epraccur`` with their list sizes
and places each one: at its NHS Choices coordinates, or failing that at the Code-Point
Open point of its postcode. :func:`load_hospitals` returns the NHS Choices hospital sites
of an area (optionally widened, e.g. "within 3 km of the borough").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from . import tables as v
from .errors import DataProblem, DataWarning, InputDataError, UnknownCodeError
from .nhs import read_epraccur, read_list_sizes, read_nhs_choices_gp, read_nhs_choices_hospitals
from .postcodes import geocode_postcodes, read_codepoint
from .select import LAD_BOUNDARIES_FILE, LAND_FILE, LAND_TOLERANCE_M, MAX_ISOLATION_M, isolation, land_distance, select
from .settings import BNG, WGS84
from .settings import data_dir as default_data_dir

__all__ = ["PRACTICE_FILES", "DROPPED_COLUMNS", "NO_COORDINATES", "load_practices", "load_hospitals"]

logger = logging.getLogger(__name__)

#: Default files, relative to the data folder (see the data README).
PRACTICE_FILES: dict[str, str] = {
    "epraccur": "england/epraccur_2019-12.csv",
    "list_sizes": "england/gp-reg-pat-prac-all_2021-01.csv",
    "nhs_choices": "england/nhs-choices-gp_2019.csv",
    "hospitals": "england/nhs-choices-hospital_2018-01.csv",
    "codepoint": "postcodes/codepoint-open-2014-london-areas.csv.gz",
    "codepoint_headers": "postcodes/Code-Point_Open_Column_Headers.csv",
    "lad_boundaries": LAD_BOUNDARIES_FILE,
    "land": LAND_FILE,
}

#: Columns of :func:`load_practices`.
PRACTICE_COLUMNS = ["practice_code", "name", "postcode", "ccg_code", "list_size", "coord_source", "geometry"]
#: Columns of the practices of the selection left out (``load_practices(..., return_dropped=True)``).
DROPPED_COLUMNS = ["practice_code", "name", "postcode", "ccg_code", "list_size", "reason"]
#: Why a practice without coordinates is left out.
NO_COORDINATES = "no coordinates (none usable in NHS Choices, postcode not in Code-Point Open)"


def _path(root: Path, key: str, override: str | Path | None) -> Path:
    return Path(override) if override is not None else root / PRACTICE_FILES[key]


def _codes(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(c) for c in value]


def _join_list_sizes(practices: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Inner join on practice code; both sides' leftovers are counted in the log."""
    sizes = read_list_sizes(path)
    joined = practices.merge(
        sizes[["practice_code", "ccg_code", "list_size"]], on="practice_code", how="inner", suffixes=("_epraccur", "")
    )
    no_size = practices.loc[~v.isin(practices["practice_code"], sizes["practice_code"]), "practice_code"]
    if len(no_size):
        logger.info(
            "%s open GP practice(s) have no list size in %s (closed or merged since) and are left out: %s",
            f"{len(no_size):,}",
            path.name,
            v.few(no_size),
        )
    extra = sizes.loc[~v.isin(sizes["practice_code"], practices["practice_code"]), "practice_code"]
    if len(extra):
        logger.info(
            "%s practice(s) of %s are not open GP practices in epraccur and are left out: %s",
            f"{len(extra):,}",
            path.name,
            v.few(extra),
        )
    return joined


def _place(
    practices: pd.DataFrame,
    *,
    choices_path: Path,
    codepoint_path: Path,
    headers_path: Path | None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Coordinates from NHS Choices, else from the Code-Point point of the postcode.

    A practice in NHS Choices without usable coordinates there keeps its row
    (``source_row``) when it is placed by postcode (see :func:`_report_postcode_places`).
    """
    choices = read_nhs_choices_gp(choices_path, with_rows=True).set_index("practice_code")
    lookup = choices.geometry[~choices.geometry.isna()]
    found = v.isin(practices["practice_code"], lookup.index)
    codes = practices.loc[found, "practice_code"]
    placed = gpd.GeoDataFrame(
        practices.loc[found]
        .assign(
            coord_source="nhs_choices",
            source_row=choices["row"].loc[codes].to_numpy(),
            source_lat=choices["latitude_text"].loc[codes].to_numpy(),
            source_lon=choices["longitude_text"].loc[codes].to_numpy(),
        )
        .reset_index(drop=True),
        geometry=gpd.GeoSeries(lookup.loc[codes].array, crs=BNG),
        crs=BNG,
    )
    missing = practices.loc[~found].assign(coord_source="codepoint")
    missing["source_row"] = missing["practice_code"].map(choices["row"])
    if missing.empty:
        return placed, missing.drop(columns="coord_source")
    logger.info(
        "%s practice(s) without usable coordinates in %s, geocoding by postcode: %s",
        f"{len(missing):,}",
        choices_path.name,
        v.few(missing["practice_code"]),
    )
    codepoint = read_codepoint(codepoint_path, headers_path=headers_path)
    geocoded, unmatched = geocode_postcodes(missing, codepoint)
    placed = pd.concat([placed, geocoded], ignore_index=True)
    return gpd.GeoDataFrame(placed, geometry="geometry", crs=BNG), unmatched.drop(columns="coord_source")


def _selection_label(
    *, ccg: str | Iterable[str] | None, lad: str | Iterable[str] | None, bbox: object, polygon: object
) -> str:
    parts = [
        f"CCG {', '.join(_codes(ccg))}" if ccg is not None else "",
        f"LAD {', '.join(_codes(lad))}" if lad is not None else "",
        "box" if bbox is not None else "",
        "polygon" if polygon is not None else "",
    ]
    return ", ".join(p for p in parts if p)


def _check_places(
    placed: gpd.GeoDataFrame,
    *,
    land: Path | None,
    selection: str | None,
    choices_path: Path,
    codepoint_path: Path,
) -> None:
    """Raise naming every practice off the land, or far from every other of the selection.

    A practice's point comes from NHS Choices (row and latitude/longitude named) or from
    Code-Point Open (its postcode named).
    """
    problems: list[DataProblem] = []

    def report(i: int, message: str) -> None:
        row = placed.iloc[i]
        if row["coord_source"] == "nhs_choices":
            problems.append(
                DataProblem(
                    str(choices_path),
                    f"practice {row['practice_code']} ({row['name']}) at latitude {row['source_lat']}, "
                    f"longitude {row['source_lon']} {message}: a wrong coordinate?",
                    row=int(row["source_row"]),
                    column="Latitude, Longitude",
                )
            )
        else:
            problems.append(
                DataProblem(
                    str(codepoint_path),
                    f"practice {row['practice_code']} ({row['name']}), placed at the point of "
                    f"postcode {row['postcode']} (easting {row.geometry.x:.0f}, northing {row.geometry.y:.0f}), "
                    f"{message}: a wrong coordinate?",
                    column="easting, northing",
                )
            )

    if land is not None and len(placed):
        distance = land_distance(placed.geometry, land)
        for i in np.flatnonzero(distance > LAND_TOLERANCE_M):
            where = f"{distance[i] / 1000:,.0f} km" if np.isfinite(distance[i]) else "far"
            report(
                int(i),
                f"lies {where} off the land of the UK ({land.name}; at most {LAND_TOLERANCE_M / 1000:g} km allowed)",
            )
    if selection is not None and len(placed) > 1 and not problems:
        distance = isolation(placed.geometry)
        for i in np.flatnonzero(distance > MAX_ISOLATION_M):
            report(
                int(i),
                f"lies {distance[i] / 1000:,.0f} km from the nearest other practice of the selection "
                f"({selection}; at most {MAX_ISOLATION_M / 1000:g} km expected)",
            )
    if problems:
        raise InputDataError(problems)


@overload
def load_practices(
    data_dir: str | Path | None = ...,
    *,
    ccg: str | Iterable[str] | None = ...,
    lad: str | Iterable[str] | None = ...,
    bbox: tuple[float, float, float, float] | None = ...,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = ...,
    practice_codes: Iterable[str] | None = ...,
    codes_label: str = ...,
    bbox_crs: str = ...,
    polygon_crs: str | None = ...,
    list_sizes: bool = ...,
    strict: bool = ...,
    return_dropped: Literal[False] = ...,
    epraccur_path: str | Path | None = ...,
    list_sizes_path: str | Path | None = ...,
    nhs_choices_path: str | Path | None = ...,
    codepoint_path: str | Path | None = ...,
    codepoint_headers_path: str | Path | None = ...,
    lad_boundaries_path: str | Path | None = ...,
    land_path: str | Path | None = ...,
) -> gpd.GeoDataFrame: ...


@overload
def load_practices(
    data_dir: str | Path | None = ...,
    *,
    ccg: str | Iterable[str] | None = ...,
    lad: str | Iterable[str] | None = ...,
    bbox: tuple[float, float, float, float] | None = ...,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = ...,
    practice_codes: Iterable[str] | None = ...,
    codes_label: str = ...,
    bbox_crs: str = ...,
    polygon_crs: str | None = ...,
    list_sizes: bool = ...,
    strict: bool = ...,
    return_dropped: Literal[True],
    epraccur_path: str | Path | None = ...,
    list_sizes_path: str | Path | None = ...,
    nhs_choices_path: str | Path | None = ...,
    codepoint_path: str | Path | None = ...,
    codepoint_headers_path: str | Path | None = ...,
    lad_boundaries_path: str | Path | None = ...,
    land_path: str | Path | None = ...,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]: ...


def load_practices(
    data_dir: str | Path | None = None,
    *,
    ccg: str | Iterable[str] | None = None,
    lad: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    practice_codes: Iterable[str] | None = None,
    codes_label: str = "the given practices",
    bbox_crs: str = WGS84,
    polygon_crs: str | None = None,
    list_sizes: bool = True,
    strict: bool = False,
    return_dropped: bool = False,
    epraccur_path: str | Path | None = None,
    list_sizes_path: str | Path | None = None,
    nhs_choices_path: str | Path | None = None,
    codepoint_path: str | Path | None = None,
    codepoint_headers_path: str | Path | None = None,
    lad_boundaries_path: str | Path | None = None,
    land_path: str | Path | None = None,
) -> gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Open GP practices of a study area with list sizes and coordinates.

    1. Open GP practices from ``epraccur`` (status A, prescribing setting 4).
    2. With ``list_sizes``, joined to "Patients Registered at a GP Practice": practices
       without a list size (closed or merged since) are left out and counted in the log.
    3. ``ccg`` keeps practices whose commissioner code in epraccur *or* in the list-size
       file is one of the codes (CCGs merged between the two publications);
       ``practice_codes`` keeps those practices (e.g. an STP's or PCN's, from
       :mod:`geodata.pcn`); codes that are not open practices with a list size are
       logged, by code.
    4. Each practice is placed at its NHS Choices point (``coord_source="nhs_choices"``),
       else at the Code-Point Open point of its postcode (``"codepoint"``).
    5. ``lad``, ``bbox`` and ``polygon`` keep practices whose point lies in the area
       (:func:`geodata.select.select`; LADs spatially, within the borough boundary).
    6. Practices that could not be placed are left out with a :class:`DataWarning`
       listing their codes (or an :class:`InputDataError` when ``strict``). When the
       selection is spatial, only those of the CCGs of the selected practices are
       reported (others cannot be known to lie in the area) and the rest are logged.
    7. Every practice kept must lie on the land of the UK (within
       :data:`geodata.select.LAND_TOLERANCE_M` of the ``land`` boundaries: not in the
       North Sea, not at Calais) and, in a selection, within
       :data:`geodata.select.MAX_ISOLATION_M` of another practice of the selection.

    Parameters
    ----------
    data_dir
        Folder of the files of :data:`PRACTICE_FILES`; :func:`geodata.settings.data_dir`
        by default.
    ccg
        CCG code(s), e.g. ``"08N"`` (Redbridge).
    lad
        Local authority (borough) code(s), e.g. ``"E09000026"``.
    bbox
        ``(west, south, east, north)`` in ``bbox_crs`` (longitude/latitude by default).
    polygon
        Shapely geometry (in ``polygon_crs``), GeoSeries or GeoDataFrame.
    practice_codes
        Practice codes to keep.
    codes_label
        Words naming ``practice_codes`` in messages, e.g. ``"STP QMF"``.
    bbox_crs, polygon_crs
        See :func:`geodata.select.select`.
    list_sizes
        Join list sizes (and keep only practices that have one). When ``False``,
        ``list_size`` is missing (``<NA>``) and ``ccg_code`` comes from epraccur.
    strict
        Raise instead of warning about practices without coordinates.
    return_dropped
        Also return the practices of the selection that were left out for want of
        coordinates (columns :data:`DROPPED_COLUMNS`). Only a selection by CCG alone knows
        them for certain: with a spatial selection the practices without coordinates
        cannot be placed in or out of the area, and none are returned (they are still
        warned about).
    epraccur_path, list_sizes_path, nhs_choices_path, codepoint_path, codepoint_headers_path, lad_boundaries_path
        Override one file.
    land_path
        Boundaries of the land practices must lie on; by default :data:`PRACTICE_FILES`
        ``land`` in the data folder, and when that file is absent (a partial data folder)
        the check is skipped with a log line. A path given must exist.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700, one row per practice: ``practice_code`` (str), ``name``,
        ``postcode``, ``ccg_code`` (commissioner at the list-size date when
        ``list_sizes``), ``list_size`` (Int64), ``coord_source`` (``"nhs_choices"`` or
        ``"codepoint"``), ``geometry`` (point). With ``return_dropped``, a tuple of that
        frame and the frame of practices left out.

    Raises
    ------
    MissingFileError
        If a file needed does not exist (Code-Point is read only when a practice is
        missing from NHS Choices).
    InputDataError
        If a file is malformed, a CCG code matches no practice, a practice lies off the
        land or far from the rest of the selection (file, row and columns named), or
        ``strict`` and a practice has no coordinates.

    Warns
    -----
    DataWarning
        Practices of the selection without coordinates (left out).
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    epraccur = _path(root, "epraccur", epraccur_path)
    sizes = _path(root, "list_sizes", list_sizes_path) if list_sizes else None
    practices = _read_practices(epraccur, sizes)
    if ccg is not None:
        practices = _keep_ccgs(practices, _codes(ccg), source=sizes if sizes is not None else epraccur)
    if practice_codes is not None:
        practices = _keep_codes(practices, _codes(practice_codes), label=codes_label)

    headers = _path(root, "codepoint_headers", codepoint_headers_path)
    placed, unplaced = _place(
        practices,
        choices_path=_path(root, "nhs_choices", nhs_choices_path),
        codepoint_path=_path(root, "codepoint", codepoint_path),
        headers_path=headers if headers.is_file() or codepoint_headers_path is not None else None,
    )
    spatial = lad is not None or bbox is not None or polygon is not None
    if spatial:
        placed, unplaced = _keep_area(
            placed,
            unplaced,
            lad=lad,
            bbox=bbox,
            polygon=polygon,
            bbox_crs=bbox_crs,
            polygon_crs=polygon_crs,
            lad_boundaries=_path(root, "lad_boundaries", lad_boundaries_path),
        )
    _report_postcode_places(placed, choices_path=_path(root, "nhs_choices", nhs_choices_path))
    if len(unplaced):
        _report_unplaced(unplaced, file=epraccur, strict=strict)
    _check_places(
        placed.reset_index(drop=True),
        land=_land_file(root, land_path),
        choices_path=_path(root, "nhs_choices", nhs_choices_path),
        codepoint_path=_path(root, "codepoint", codepoint_path),
        selection=(
            None
            if ccg is None and practice_codes is None and not spatial
            else ", ".join(
                part
                for part in (
                    _selection_label(ccg=ccg, lad=lad, bbox=bbox, polygon=polygon),
                    codes_label if practice_codes is not None else "",
                )
                if part
            )
        ),
    )
    result, dropped = _result_frames(placed, unplaced, spatial=spatial)
    _log_summary(result, list_sizes=list_sizes)
    return (result, dropped) if return_dropped else result


def _read_practices(epraccur: Path, list_sizes: Path | None) -> pd.DataFrame:
    """Practices of epraccur, joined to their list sizes (a column of NA without a list-size file)."""
    practices = read_epraccur(epraccur)[["practice_code", "name", "postcode", "ccg_code"]]
    if list_sizes is not None:
        practices = _join_list_sizes(practices, list_sizes)
    else:
        # a column of NA (the stub does not list NA as a scalar)
        practices = practices.assign(ccg_code_epraccur=practices["ccg_code"], list_size=pd.NA)  # type: ignore[arg-type]
    practices["list_size"] = practices["list_size"].astype("Int64")
    return practices


def _keep_ccgs(practices: pd.DataFrame, codes: list[str], *, source: Path) -> pd.DataFrame:
    """The practices of CCGs ``codes`` (now or in epraccur); an unknown code raises, naming ``source``."""
    known = set(practices["ccg_code"]) | set(practices["ccg_code_epraccur"])
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UnknownCodeError(source, kind="ccg", codes=unknown, known=known)
    keep = practices["ccg_code"].isin(codes) | practices["ccg_code_epraccur"].isin(codes)
    practices = practices.loc[keep].reset_index(drop=True)
    logger.info("%s practice(s) of CCG %s", f"{len(practices):,}", ", ".join(codes))
    return practices


def _keep_codes(practices: pd.DataFrame, codes: list[str], *, label: str) -> pd.DataFrame:
    """The practices whose code is in ``codes``; the codes not found are logged."""
    keep = practices["practice_code"].isin(codes)
    absent = sorted(set(codes) - set(practices["practice_code"]))
    if absent:
        logger.warning(
            "%d practice(s) of %s are not open practices with a list size in the data (closed, merged or "
            "opened since): %s",
            len(absent),
            label,
            ", ".join(absent),
        )
    practices = practices.loc[keep].reset_index(drop=True)
    logger.info("%s practice(s) of %s", f"{len(practices):,}", label)
    return practices


def _keep_area(
    placed: gpd.GeoDataFrame,
    unplaced: pd.DataFrame,
    *,
    lad: str | Iterable[str] | None,
    bbox: tuple[float, float, float, float] | None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None,
    bbox_crs: str,
    polygon_crs: str | None,
    lad_boundaries: Path,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Placed practices inside the area; unplaced ones only if they share a CCG with those."""
    placed = select(
        placed,
        lad=lad,
        bbox=bbox,
        polygon=polygon,
        bbox_crs=bbox_crs,
        polygon_crs=polygon_crs,
        lad_boundaries=lad_boundaries,
    )
    nearby = v.isin(unplaced["ccg_code"], placed["ccg_code"]) | v.isin(
        unplaced["ccg_code_epraccur"], placed["ccg_code"]
    )
    if (~nearby).any():
        logger.info(
            "%s practice(s) without coordinates outside the CCGs of the selection ignored: %s",
            f"{int((~nearby).sum()):,}",
            v.few(unplaced.loc[~nearby, "practice_code"]),
        )
    return placed, unplaced.loc[nearby]


def _report_postcode_places(placed: gpd.GeoDataFrame, *, choices_path: Path) -> None:
    """Warn about the practices of NHS Choices without usable coordinates there, placed by postcode."""
    instead = placed.loc[placed["coord_source"].eq("codepoint") & placed["source_row"].notna()]
    if len(instead):
        logger.warning(
            "%s: %s practice(s) without usable coordinates there placed at the Code-Point Open point of "
            "their postcode instead: %s",
            choices_path.name,
            f"{len(instead):,}",
            v.few(f"{r.practice_code} (row {int(r.source_row)}, {r.postcode})" for r in instead.itertuples()),
        )


def _report_unplaced(unplaced: pd.DataFrame, *, file: Path, strict: bool) -> None:
    """Warn about the practices left out for want of coordinates (raise if ``strict``)."""
    described = [f"{r.practice_code} ({r.name}, {r.postcode})" for r in unplaced.itertuples()]
    if strict:
        raise InputDataError(
            [
                DataProblem(
                    str(file),
                    f"practice {d}: {NO_COORDINATES}",
                    column="practice_code",
                )
                for d in described
            ]
        )
    warnings.warn(
        f"{len(unplaced):,} practice(s) left out, {NO_COORDINATES}: {v.few(described)}",
        DataWarning,
        stacklevel=3,  # the caller of load_practices
    )


def _result_frames(
    placed: gpd.GeoDataFrame, unplaced: pd.DataFrame, *, spatial: bool
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The practices (EPSG:27700, by code) and those dropped (none known with a spatial selection)."""
    placed = placed.sort_values("practice_code", kind="stable").reset_index(drop=True)
    result = gpd.GeoDataFrame(placed[PRACTICE_COLUMNS], geometry="geometry", crs=BNG)
    dropped = pd.DataFrame(
        unplaced.sort_values("practice_code", kind="stable").assign(reason=NO_COORDINATES),
        columns=DROPPED_COLUMNS,
    ).reset_index(drop=True)
    if spatial:
        dropped = dropped.iloc[:0]
    return result, dropped


def _log_summary(result: gpd.GeoDataFrame, *, list_sizes: bool) -> None:
    by_source = result["coord_source"].value_counts()
    logger.info(
        "%s practice(s), %s registered patients; coordinates: %s",
        f"{len(result):,}",
        f"{int(result['list_size'].sum()):,}" if list_sizes else "n/a",
        ", ".join(f"{n:,} {source}" for source, n in by_source.items()),
    )


def _land_file(root: Path, land_path: str | Path | None) -> Path | None:
    """The land boundaries to check against; ``None`` (logged) when the default file is absent."""
    land = _path(root, "land", land_path)
    if land_path is None and not land.is_file():
        logger.info("%s not found: practice coordinates are not checked against the land", land)
        return None
    return land


def load_hospitals(
    data_dir: str | Path | None = None,
    *,
    lad: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    within_m: float = 0.0,
    sector: str | None = None,
    bbox_crs: str = WGS84,
    polygon_crs: str | None = None,
    strict: bool = False,
    hospitals_path: str | Path | None = None,
    lad_boundaries_path: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """NHS Choices hospital sites in (or near) a study area.

    Parameters
    ----------
    data_dir
        Folder of the files of :data:`PRACTICE_FILES`.
    lad
        Borough code(s): sites within the LAD boundary (widened by ``within_m``).
    bbox
        ``(west, south, east, north)`` in ``bbox_crs``.
    polygon
        Shapely geometry, GeoSeries or GeoDataFrame (e.g. the LSOAs of the study area).
    within_m
        Also keep sites up to this distance (metres) outside the area: hubs on a
        hospital site just across a boundary are real options.
    sector
        ``"NHS"`` or ``"Independent"`` to keep one sector; ``None`` keeps both.
    bbox_crs, polygon_crs
        See :func:`geodata.select.select`.
    strict
        Raise on sites without coordinates instead of logging them.
    hospitals_path, lad_boundaries_path
        Override one file.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :func:`geodata.nhs.read_nhs_choices_hospitals`: ``site_id``,
        ``name``, ``postcode``, ``sector``, ``subtype``, ``trust_code``, ``trust_name``,
        ``geometry`` (EPSG:27700).

    Raises
    ------
    MissingFileError
        If a file does not exist.
    InputDataError
        If the file is malformed or ``sector`` is not ``"NHS"``/``"Independent"``.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    hospitals = read_nhs_choices_hospitals(_path(root, "hospitals", hospitals_path), strict=strict)
    if sector is not None:
        if sector not in {"NHS", "Independent"}:
            raise InputDataError(
                [DataProblem("<sector>", f"unknown sector {sector!r} (expected 'NHS' or 'Independent')")]
            )
        hospitals = hospitals.loc[hospitals["sector"] == sector].reset_index(drop=True)
    if lad is not None or bbox is not None or polygon is not None:
        hospitals = select(
            hospitals,
            lad=lad,
            bbox=bbox,
            polygon=polygon,
            bbox_crs=bbox_crs,
            polygon_crs=polygon_crs,
            buffer_m=within_m,
            lad_boundaries=_path(root, "lad_boundaries", lad_boundaries_path),
        )
    return hospitals
