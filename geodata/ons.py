"""ONS and MHCLG small-area files: LSOA centroids, boundaries, populations, deprivation.

Readers return tidy (Geo)DataFrames in EPSG:27700 with snake_case columns;
:func:`load_lsoas` joins them into the LSOA table used as planning units.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import tables as v
from .boundaries import (
    CODE_COLUMNS,
    PUBLISHED_CODE,
    VINTAGE_NOTE,
    Vintage,
    lsoa_vintage,
    read_lad_boundaries,
    read_lsoa_boundaries,
    vintage_clash,
)
from .errors import DataProblem, DataWarning, InputDataError, ProblemCollector, UnknownCodeError
from .settings import BNG, MAX_POPULATION, WGS84
from .settings import data_dir as default_data_dir

__all__ = [
    "LSOA_FILES",
    "read_lsoa_centroids",
    "read_lsoa_boundaries",
    "read_lsoa_population",
    "read_imd",
    "read_lad_boundaries",
    "load_lsoas",
]

logger = logging.getLogger(__name__)

#: Default files of :func:`load_lsoas`, relative to the data folder.
LSOA_FILES: dict[str, str] = {
    "boundaries": "london/lsoa11-boundaries-gen20.gpkg",
    "population": "london/lsoa11-mid2020-population.csv",
    "imd": "england/lsoa11-imd2019.parquet",
    "centroids": "england/lsoa11-population-weighted-centroids.csv",
}

# Published IMD 2019 column -> tidy name (other columns get a generic snake_case name).
_IMD_NAMES: dict[str, str] = {
    "IMD": "imd_score",
    "Income": "income_score",
    "Employment": "employment_score",
    "Education": "education_score",
    "Health": "health_score",
    "Crime": "crime_score",
    "Barriers (H&S)": "barriers_score",
    "Environment": "living_environment_score",
    "IDACI": "idaci_score",
    "IDAOPI": "idaopi_score",
    "YouthSubDomain": "children_young_people_score",
    "AdultSkills": "adult_skills_score",
    "Barriers (Geo)": "geographical_barriers_score",
    "Barriers (Wider)": "wider_barriers_score",
    "IndoorsSubDomain": "indoors_score",
    "OutdoorSubDomain": "outdoors_score",
    "Population (Total)": "population_total",
    "Population (0-15)": "population_0_15",
    "Population (16-59)": "population_16_59",
    "Population (60+)": "population_60_plus",
    "Population (Working)": "population_working",
}

#: The IMD score's column as the Ministry publishes it.
_IMD_SCORE = "Index of Multiple Deprivation (IMD) Score"
#: The columns of the Indices of Deprivation as the Ministry publishes them ("File 7: all
#: ranks, deciles and scores for the indices of deprivation, and population denominators",
#: 2019 and later editions; LSOA code (2011) or (2021)) that the engine reads: a regular
#: expression of the published name (case-insensitive) -> the tidy name of :data:`_IMD_NAMES`.
#: The names, ranks, deciles and local authority columns of that file are not read.
_IMD_PUBLISHED: dict[str, str] = {
    re.escape(_IMD_SCORE): "imd_score",
    r"income score \(rate\)": "income_score",
    r"employment score \(rate\)": "employment_score",
    r"education, skills and training score": "education_score",
    r"health deprivation and disability score": "health_score",
    r"crime score": "crime_score",
    r"barriers to housing and services score": "barriers_score",
    r"living environment score": "living_environment_score",
    r"income deprivation affecting children index \(idaci\) score \(rate\)": "idaci_score",
    r"income deprivation affecting older people \(idaopi\) score \(rate\)": "idaopi_score",
    r"children and young people sub-domain score": "children_young_people_score",
    r"adult skills sub-domain score": "adult_skills_score",
    r"geographical barriers sub-domain score": "geographical_barriers_score",
    r"wider barriers sub-domain score": "wider_barriers_score",
    r"indoors sub-domain score": "indoors_score",
    r"outdoors sub-domain score": "outdoors_score",
    r"total population: mid \d{4} \(excluding prisoners\)": "population_total",
    r"dependent children aged 0-15: mid \d{4} \(excluding prisoners\)": "population_0_15",
    r"population aged 16-59: mid \d{4} \(excluding prisoners\)": "population_16_59",
    r"older population aged 60 and over: mid \d{4} \(excluding prisoners\)": "population_60_plus",
    r"working age population 18-59/64: for use with employment deprivation domain \(excluding prisoners\)": (
        "population_working"
    ),
}

#: The IMD file's age bands of ``population_total``, none of which may exceed it. Not
#: ``population_working``, the employment domain's denominator from another source: IMD 2019
#: publishes more working-age people than people in 10 LSOAs (E01005128 ...).
_IMD_AGE_BANDS = ("population_0_15", "population_16_59", "population_60_plus")

# Code / name columns of the ONS geography files: :data:`geodata.boundaries.CODE_COLUMNS`.
#: How far an LSOA's population-weighted centroid may lie from its own boundary (metres).
#: All 4,835 London centroids lie within 16 m of their 20-m-generalised boundaries; a
#: centroid farther than this is misplaced (a wrong row in the centroid file).
CENTROID_TOLERANCE_M = 1_000.0

_LSOA_CODE = CODE_COLUMNS["lsoa_code"]
_LSOA_NAME = CODE_COLUMNS["name"]
_LAD_CODE = CODE_COLUMNS["lad_code"]
_LAD_NAME = CODE_COLUMNS["lad_name"]
#: ONS names each LSOA after its local authority district, "<LAD name> <MSOA number><letter>"
#: (``Redbridge 017A``): the LAD name is the part before the number.
_LSOA_NAME_LAD = re.compile(r"(?P<lad>.+\S) \d{3}[A-Z]")


def read_lsoa_centroids(
    path: str | Path, *, crs: str | None = None, land: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Read ONS LSOA population-weighted centroids (CSV with X, Y).

    Parameters
    ----------
    path
        CSV with columns X, Y and the LSOA code (``lsoa11cd``/``LSOA21CD``...) and name.
        A UTF-8 byte-order mark is accepted.
    crs
        CRS of X/Y. ``None`` decides from the values: longitude/latitude (EPSG:4326,
        as in the ONS "centroids" CSV) when every X is within +-180 and Y within +-90,
        British National Grid eastings/northings otherwise.
    land
        Boundary file of the land every centroid must lie on (within
        :data:`geodata.select.LAND_TOLERANCE_M`), e.g. :data:`geodata.select.LAND_FILE`;
        ``None`` checks only that each centroid lies in Great Britain's grid extent.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700: ``lsoa_code`` (str, unique), ``name`` (str), ``geometry`` (point);
        ``attrs[PUBLISHED_CODE]`` names the code column as published (LSOA11CD, LSOA21CD...).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        Missing columns (all named), non-numeric X/Y (row and column), duplicate codes,
        centroids outside Great Britain or off the land (row, columns X, Y; X and Y
        exchanged is named as the likely cause when exchanging them puts the rows right).
    """
    path = Path(path)
    table = v.read_table(path, what="LSOA centroid file")
    spec = {"lsoa_code": _LSOA_CODE, "name": _LSOA_NAME, "x": (r"x", "X"), "y": (r"y", "Y")}
    published = v.matched_columns(table, spec)
    table = v.rename_columns(table, spec, file=path, required=["lsoa_code", "x", "y"])
    problems = ProblemCollector(path)
    x = v.parse_numbers(table, "x", problems=problems, label=published["x"])
    y = v.parse_numbers(table, "y", problems=problems, label=published["y"])
    v.check_unique(table, "lsoa_code", problems=problems, label=published["lsoa_code"], what="LSOA code")
    problems.raise_if_any()
    if crs is None:
        crs = WGS84 if bool(x.abs().le(180).all() and y.abs().le(90).all()) else BNG
    out = pd.DataFrame({"lsoa_code": table["lsoa_code"].str.strip()})
    out["name"] = table["name"].str.strip() if "name" in table else ""
    frame = gpd.GeoDataFrame(out.reset_index(drop=True), geometry=gpd.points_from_xy(x, y, crs=crs), crs=crs)
    frame = v.to_bng(frame)
    _check_centroid_places(path, table, frame, x, y, crs=crs, land=land)
    frame.attrs[PUBLISHED_CODE] = published["lsoa_code"]
    logger.info("%s: %s LSOA centroids (X/Y read as %s), %s", path.name, f"{len(frame):,}", crs, lsoa_vintage(frame))
    return frame


def _misplaced(points: gpd.GeoSeries, land: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Mask of points outside Great Britain or off the land, and their distance off the land."""
    from .select import LAND_TOLERANCE_M, land_distance  # select imports this module

    bad = v.outside_gb(points)
    distance = np.zeros(len(points))
    if land is not None:
        distance[~bad] = land_distance(points[~bad], land)
        bad |= distance > LAND_TOLERANCE_M
    return bad, distance


def _check_centroid_places(
    path: Path,
    table: pd.DataFrame,
    frame: gpd.GeoDataFrame,
    x: pd.Series,
    y: pd.Series,
    *,
    crs: str,
    land: str | Path | None,
) -> None:
    """Raise naming every centroid outside Great Britain or off the land (row, columns X, Y)."""
    bad, distance = _misplaced(frame.geometry, land)
    if not bad.any():
        return
    problems = ProblemCollector(path)
    rows = table.index.to_numpy()[bad]
    swapped = gpd.GeoSeries(gpd.points_from_xy(y[bad].to_numpy(), x[bad].to_numpy()), crs=crs)
    still_bad, _ = _misplaced(swapped, land)
    if (~still_bad).sum() >= 0.5 * len(swapped):
        problems.add(
            f"X and Y look exchanged: {int((~still_bad).sum()):,} of the {len(rows):,} misplaced "
            "centroids lie in Great Britain with X and Y swapped (X is the longitude or "
            "easting, Y the latitude or northing)",
            column="X, Y",
        )
    for row, code, xx, yy, off in zip(rows, frame.loc[bad, "lsoa_code"], x[bad], y[bad], distance[bad], strict=True):
        where = f"{off / 1000:,.0f} km off the land of the UK" if 0 < off < np.inf else "outside Great Britain"
        problems.add(f"LSOA {code!r} at X {xx:g}, Y {yy:g} ({crs}) lies {where}", row=int(row), column="X, Y")
    problems.raise_if_any()


def _check_centroids_in_areas(
    centroids: Path, boundaries: Path, lsoas: gpd.GeoDataFrame, points: gpd.GeoSeries
) -> None:
    """Raise naming every LSOA whose centroid lies farther than :data:`CENTROID_TOLERANCE_M` from its own area."""
    areas = gpd.GeoSeries(lsoas.geometry.to_numpy(), crs=lsoas.crs).to_crs(BNG)
    distance = np.asarray(points.reset_index(drop=True).distance(areas.reset_index(drop=True)), dtype=float)
    far = np.flatnonzero(distance > CENTROID_TOLERANCE_M)
    if far.size:
        raise InputDataError(
            DataProblem(
                str(centroids),
                f"the centroid of LSOA {code!r} (easting {points.iloc[i].x:,.0f}, northing {points.iloc[i].y:,.0f}) "
                f"lies {distance[i] / 1000:,.1f} km from that LSOA's boundary in {boundaries.name} (at most "
                f"{CENTROID_TOLERANCE_M / 1000:g} km expected): a wrong coordinate?",
                column="X, Y",
            )
            for i, code in zip(far.tolist(), lsoas["lsoa_code"].to_numpy()[far], strict=True)
        )


def read_lsoa_population(path: str | Path) -> pd.DataFrame:
    """Read ONS mid-year population estimates by LSOA (wide CSV, one row per LSOA).

    Parameters
    ----------
    path
        CSV with LSOA11CD, LSOA11NM, LAD11CD, LAD11NM, ``Persons_All-Ages`` and
        ``Persons_<band>`` age bands (``Males_*``/``Females_*`` are not kept), or a sheet of
        ONS's estimates by LSOA 2021 saved as CSV (``LAD 2021 Code``, ``LAD 2021 Name``,
        ``LSOA 2021 Code``, ``LSOA 2021 Name``, ``Total``; its ages by sex, ``F0``...,
        are not kept). Thousands separators in counts are accepted.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code`` (str, unique), ``name``, ``lad_code``, ``lad_name``,
        ``population`` (int64, all ages, both sexes), then one int64 column per age band
        named ``population_<band>`` (``population_0_15`` ... ``population_65_plus``).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        Missing columns (all named), counts that are not whole non-negative numbers (row
        and column), duplicated LSOA codes.
    """
    path = Path(path)
    table = v.read_table(path, what="LSOA population file")
    spec = {
        "lsoa_code": _LSOA_CODE,
        "name": _LSOA_NAME,
        "lad_code": _LAD_CODE,
        "lad_name": _LAD_NAME,
        "population": (r"persons_all[-_ ]ages|all[-_ ]ages|population|total", "Persons_All-Ages"),
    }
    published = v.matched_columns(table, spec)
    table = v.rename_columns(table, spec, file=path, required=["lsoa_code", "population"])
    bands = [c for c in table.columns if isinstance(c, str) and c.lower().startswith("persons_")]
    problems = ProblemCollector(path)
    out = pd.DataFrame(index=table.index)
    for column in ("lsoa_code", "name", "lad_code", "lad_name"):
        out[column] = table[column].str.strip() if column in table else ""
    counted = {"population": published["population"]} | {b: b for b in bands}
    for column, label in counted.items():
        source = column if column in table else label
        tidy = "population" if column == "population" else "population_" + v.snake_case(label[len("persons_") :])
        out[tidy] = v.parse_numbers(
            table,
            source,
            problems=problems,
            label=label,
            integer=True,
            minimum=0,
            maximum=MAX_POPULATION,
            thousands=True,
        )
    v.check_unique(out, "lsoa_code", problems=problems, label=published["lsoa_code"], what="LSOA code")
    problems.raise_if_any()
    counts = [c for c in out.columns if c.startswith("population")]
    out[counts] = out[counts].astype("int64")
    out = out.reset_index(drop=True)
    out.attrs[PUBLISHED_CODE] = published["lsoa_code"]
    people = int(out["population"].sum())
    logger.info("%s: %s LSOAs, %s people, %s", path.name, f"{len(out):,}", f"{people:,}", lsoa_vintage(out))
    return out


def read_imd(path: str | Path) -> pd.DataFrame:
    """Read the English Indices of Deprivation 2019 by LSOA (Parquet or CSV).

    Parameters
    ----------
    path
        Either the table as the Ministry publishes it (File 7 of the English Indices of
        Deprivation 2019, or a later edition: ``LSOA code (2011)`` or ``(2021)``,
        ``Index of Multiple Deprivation (IMD) Score``, the domain scores and the population
        denominators; names, ranks, deciles and local authorities are not read), or a
        table indexed by (or with a column) LSOA11CD, with ``IMD``, the domain scores and
        the populations used (``Population (Total)`` ...).

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code`` (str, unique), ``imd_score`` (float; higher = more deprived), the
        domain and sub-domain scores (``income_score``, ``employment_score``,
        ``education_score``, ``health_score``, ``crime_score``, ``barriers_score``,
        ``living_environment_score``, ``idaci_score``, ``idaopi_score``,
        ``children_young_people_score``, ``adult_skills_score``,
        ``geographical_barriers_score``, ``wider_barriers_score``, ``indoors_score``,
        ``outdoors_score``; other columns get a snake_case name), and the mid-2015
        populations ``population_total``, ``population_0_15``, ``population_16_59``,
        ``population_60_plus``, ``population_working`` (int64).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        Missing LSOA code or IMD column, non-numeric values or negative counts (row and
        column), an age band (0-15, 16-59, 60 and over) above the row's total population,
        duplicate LSOA codes. Rows of a Parquet file are record numbers.
    """
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        table = v.read_parquet_table(path, what="IMD file")
    else:
        table = v.read_table(path, what="IMD file")
    code = v.find_column(table, _LSOA_CODE[0])
    published = {c: tidy for pattern, tidy in _IMD_PUBLISHED.items() if (c := v.find_column(table, pattern + r"\s*"))}
    if published and ("imd_score" in published.values() or "IMD" not in table.columns):  # as published
        v.check_columns(
            table, [code or _LSOA_CODE[1], *([] if "imd_score" in published.values() else [_IMD_SCORE])], file=path
        )
        table = table[[code, *published]]
    else:
        v.check_columns(table, [code or _LSOA_CODE[1], "IMD"], file=path)
        published = {}
    problems = ProblemCollector(path)
    out = pd.DataFrame({"lsoa_code": table[code].astype(str).str.strip()}, index=table.index)
    labels: dict[str, str] = {}
    for column in table.columns:
        if column == code:
            continue
        tidy = published.get(column) or _IMD_NAMES.get(column, v.snake_case(column))
        labels[tidy] = str(column)
        is_count = tidy.startswith("population")
        out[tidy] = v.parse_numbers(
            table,
            column,
            problems=problems,
            integer=is_count,
            minimum=0 if is_count else None,
            maximum=MAX_POPULATION if is_count else None,
        )
    if "population_total" in out:
        bands = [c for c in _IMD_AGE_BANDS if c in out]
        v.check_parts(out, bands, "population_total", problems=problems, labels=labels)
    v.check_unique(out, "lsoa_code", problems=problems, label=code, what="LSOA code")
    problems.raise_if_any()
    counts = [c for c in out.columns if c.startswith("population")]
    out[counts] = out[counts].astype("int64")
    out = out.reset_index(drop=True)
    out.attrs[PUBLISHED_CODE] = code
    logger.info("%s: IMD for %s LSOAs, %s", path.name, f"{len(out):,}", lsoa_vintage(out))
    return out


def _lads_of_lsoas(lsoas: gpd.GeoDataFrame, *, boundaries: Path, lad_boundaries: Path) -> gpd.GeoDataFrame:
    """Each LSOA's LAD code and name from a LAD boundary file, for LSOA boundaries without them.

    ONS's own LSOA boundary files (``LSOA21CD``, ``LSOA21NM``...) name no district. An LSOA
    takes the LAD of ``lad_boundaries`` whose name begins its own (:data:`_LSOA_NAME_LAD`;
    exact wherever the LAD file is of the LSOAs' districts), else the LAD covering more than
    half of its area. An LSOA neither gives keeps ``""`` (with a warning: it cannot be
    selected by LAD). The counts are logged.
    """
    lads = read_lad_boundaries(lad_boundaries)
    unique = lads.drop_duplicates("lad_name", keep=False)
    by_name = pd.Series(unique["lad_code"].to_numpy(), index=unique["lad_name"].to_numpy())
    codes = lsoas["name"].str.extract(_LSOA_NAME_LAD, expand=False).map(by_name)
    named = int(codes.notna().sum())
    rest = np.flatnonzero(codes.isna().to_numpy())
    if rest.size:
        shapes = np.asarray(lsoas.geometry.array)[rest]
        districts = np.asarray(lads.geometry.array)
        row, lad = shapely.STRtree(districts).query(shapes, predicate="intersects")
        share = shapely.area(shapely.intersection(shapes[row], districts[lad])) / shapely.area(shapes[row])
        most = share > 0.5
        codes.iloc[rest[row[most]]] = lads["lad_code"].to_numpy()[lad[most]]
    none = codes.isna().to_numpy()
    lsoas["lad_code"] = codes.fillna("").astype(str).to_numpy()
    lsoas["lad_name"] = lsoas["lad_code"].map(dict(zip(lads["lad_code"], lads["lad_name"], strict=True))).fillna("")
    logger.info(
        "%s names no local authority district: each LSOA's is taken from %s (%s by the LAD name that begins the "
        "LSOA's name, %s by the LAD covering most of its area)",
        boundaries.name,
        lad_boundaries.name,
        f"{named:,}",
        f"{len(lsoas) - named - int(none.sum()):,}",
    )
    if none.any():
        warnings.warn(
            f"{boundaries}: {int(none.sum()):,} LSOA(s) have no LAD: {boundaries.name} names none, and neither the "
            f"name nor most of the area of these lies in a LAD of {lad_boundaries} (they cannot be selected by "
            f"[units] lad): {v.few(lsoas.loc[none, 'lsoa_code'])}",
            DataWarning,
            stacklevel=3,
        )
    return lsoas


def _other_vintage(vintage: Vintage, other: pd.DataFrame, paths: Mapping[str, Path], *, role: str, what: str) -> str:
    """``"; <the vintages>: give ..."`` when the boundary file and another LSOA file differ in vintage, else ``""``."""
    clash = vintage_clash(
        vintage,
        lsoa_vintage(other),
        what=f"the boundary file {paths['boundaries'].name}",
        theirs_what=f"the {what} file {paths[role].name}",
    )
    if not clash:
        return ""
    return (
        f"; {clash}; {VINTAGE_NOTE}: give the {what} file (data role {role}) of LSOA {vintage.year}, like the "
        f"boundaries, or boundaries of LSOA {lsoa_vintage(other).year}"
    )


def load_lsoas(
    data_dir: str | Path | None = None,
    *,
    lad: str | Iterable[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: object | None = None,
    bbox_crs: str = WGS84,
    polygon_crs: str | None = None,
    boundaries_path: str | Path | None = None,
    population_path: str | Path | None = None,
    imd_path: str | Path | None = None,
    centroids_path: str | Path | None = None,
    land_path: str | Path | None = None,
    lad_boundaries_path: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """LSOAs as planning units: boundary, population, deprivation and weighted centroid.

    Joins the LSOA boundaries, the populations, the IMD scores and the population-weighted
    centroids (by default the 2011 LSOAs of London, the ONS mid-2020 populations and the
    IMD 2019; the files should be of one LSOA vintage: see Raises and Warns), then keeps the LSOAs
    of the selection: ``lad`` by the LSOA's own LAD code, ``bbox``/``polygon`` by its
    population-weighted centroid (see :func:`geodata.select.select`).

    Parameters
    ----------
    data_dir
        Folder holding the files of :data:`LSOA_FILES`; defaults to
        :func:`geodata.settings.data_dir`.
    lad
        Local authority (borough) code(s), e.g. ``"E09000026"`` (Redbridge).
    bbox
        ``(west, south, east, north)`` in ``bbox_crs`` (longitude/latitude by default).
    polygon
        Shapely geometry, GeoSeries or GeoDataFrame (see :func:`geodata.select.select`).
    bbox_crs, polygon_crs
        CRS of ``bbox`` and of a bare shapely ``polygon``.
    boundaries_path, population_path, imd_path, centroids_path
        Override one file (absolute, or relative to the working directory).
    land_path
        Boundaries of the land every centroid must lie on (see :func:`read_lsoa_centroids`);
        ``None``: centroids are only checked against Great Britain's grid extent.
    lad_boundaries_path
        Local authority district boundaries giving each LSOA its LAD when the boundary file
        names none (ONS's own LSOA boundary files: see :func:`_lads_of_lsoas`); default
        :data:`geodata.select.LAD_BOUNDARIES_FILE` in ``data_dir``. Not read otherwise.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700, one row per LSOA: ``lsoa_code``, ``name``, ``msoa_code``,
        ``lad_code``, ``lad_name`` (the boundary file's, else ``lad_boundaries_path``'s;
        ``""`` for an LSOA in none of its LADs), ``population`` (mid-2020, int64), the
        ``population_<band>`` age bands, ``imd_score`` and the IMD domain scores (NaN,
        with a :class:`DataWarning`, for LSOAs missing from the IMD file),
        ``centroid_x``/``centroid_y`` (population-weighted centroid, EPSG:27700 metres;
        kept as two float columns rather than a second geometry so the frame can be
        written to any format), and ``geometry`` (boundary polygon).

    Raises
    ------
    MissingFileError
        If a file does not exist.
    InputDataError
        If a file is malformed, or LSOAs of the selection have no population or no
        centroid (all their codes named, and the two files' LSOA vintages when they
        differ: :func:`geodata.boundaries.lsoa_vintage`), or a centroid lies farther than
        :data:`CENTROID_TOLERANCE_M` from its own LSOA.

    Warns
    -----
    DataWarning
        LSOAs of the selection missing from the IMD file (with the vintages when they differ).
    """
    from .select import LAD_BOUNDARIES_FILE, select

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    paths = {
        key: Path(override) if override is not None else root / LSOA_FILES[key]
        for key, override in (
            ("boundaries", boundaries_path),
            ("population", population_path),
            ("imd", imd_path),
            ("centroids", centroids_path),
        )
    }
    lsoas = read_lsoa_boundaries(paths["boundaries"])
    vintage = lsoa_vintage(lsoas)
    lad_source = paths["boundaries"]
    if not lsoas["lad_code"].astype(bool).any():
        lad_source = Path(lad_boundaries_path) if lad_boundaries_path is not None else root / LAD_BOUNDARIES_FILE
        lsoas = _lads_of_lsoas(lsoas, boundaries=paths["boundaries"], lad_boundaries=lad_source)
    if lad is not None:
        try:
            lsoas = select(lsoas, lad=lad)
        except UnknownCodeError as exc:
            raise UnknownCodeError(lad_source, kind="lad", codes=exc.codes, known=lsoas["lad_code"]) from None
    centroids = read_lsoa_centroids(paths["centroids"], land=land_path)
    lookup = centroids.set_index("lsoa_code").geometry
    known = v.isin(lsoas["lsoa_code"], lookup.index)
    if not known.all():
        missing = lsoas.loc[~known, "lsoa_code"]
        raise InputDataError(
            [
                DataProblem(
                    str(paths["centroids"]),
                    f"no centroid for {len(missing):,} LSOA(s): {v.few(missing)}"
                    + _other_vintage(vintage, centroids, paths, role="centroids", what="centroid"),
                )
            ]
        )
    points = gpd.GeoSeries(lookup.loc[lsoas["lsoa_code"]].array, crs=BNG)
    _check_centroids_in_areas(paths["centroids"], paths["boundaries"], lsoas, points)
    lsoas["centroid_x"] = points.x.to_numpy()
    lsoas["centroid_y"] = points.y.to_numpy()
    if bbox is not None or polygon is not None:
        lsoas = select(lsoas, bbox=bbox, polygon=polygon, bbox_crs=bbox_crs, polygon_crs=polygon_crs)

    population = read_lsoa_population(paths["population"])
    known = v.isin(lsoas["lsoa_code"], population["lsoa_code"])
    if not known.all():
        missing = lsoas.loc[~known, "lsoa_code"]
        raise InputDataError(
            [
                DataProblem(
                    str(paths["population"]),
                    f"no population for {len(missing):,} LSOA(s): {v.few(missing)}"
                    + _other_vintage(vintage, population, paths, role="population", what="population"),
                )
            ]
        )
    population = population.drop(columns=["name", "lad_code", "lad_name"])
    imd = read_imd(paths["imd"])
    imd_vintage = _other_vintage(vintage, imd, paths, role="imd", what="IMD")
    imd = imd.drop(columns=[c for c in imd.columns if c.startswith("population")])
    lsoas = lsoas.merge(population, on="lsoa_code", how="left").merge(imd, on="lsoa_code", how="left")
    no_imd = lsoas.loc[lsoas["imd_score"].isna(), "lsoa_code"]
    if len(no_imd):
        warnings.warn(
            f"{paths['imd']}: no IMD score for {len(no_imd):,} LSOA(s): {v.few(no_imd)}{imd_vintage}",
            DataWarning,
            stacklevel=2,
        )
    columns = [c for c in lsoas.columns if c not in {"centroid_x", "centroid_y", "geometry"}]
    lsoas = lsoas[[*columns, "centroid_x", "centroid_y", "geometry"]]
    logger.info("%s LSOAs selected, %s people", f"{len(lsoas):,}", f"{int(lsoas['population'].sum()):,}")
    return lsoas
