"""Readers of a user's own files: planning units, hub sites and hub options.

Every reader lists every problem of a file at once, with its row and column
(:class:`geodata.errors.InputDataError`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from catchment.problem import MAX_GBP
from geodata import tables as v
from geodata.errors import InputDataError, ProblemCollector
from geodata.settings import BNG, MAX_POPULATION

__all__ = ["SITE_COLUMNS", "read_sites_file", "read_units_file", "read_options_file"]

logger = logging.getLogger(__name__)

SITE_COLUMNS = ["site_id", "name", "site_type", "status", "geometry"]


def _point_columns(table: pd.DataFrame, problems: ProblemCollector) -> tuple[tuple[str, ...], str | None]:
    """The coordinate columns of a sites or units file and their CRS (a problem when there are none)."""
    if {"easting", "northing"} <= set(table.columns):
        return ("easting", "northing"), BNG
    if {"longitude", "latitude"} <= set(table.columns):
        return ("longitude", "latitude"), "EPSG:4326"
    problems.add(
        f"needs easting and northing (EPSG:27700) or longitude and latitude columns (columns found: "
        f"{', '.join(map(str, table.columns))})",
        column="easting, northing",
    )
    return (), None


#: How far apart (metres) a row's easting/northing and its longitude/latitude may lie when a
#: file gives both (easting/northing are used; a converted pair agrees to a metre or two).
PAIRS_TOLERANCE_M = 100.0


def _check_pairs_agree(
    table: pd.DataFrame, xy: tuple[str, ...], points: gpd.GeoSeries, problems: ProblemCollector
) -> None:
    """A file with both easting/northing (used) and longitude/latitude: every row's two points must agree."""
    if xy != ("easting", "northing") or not {"longitude", "latitude"} <= set(table.columns):
        return
    lon = pd.to_numeric(table["longitude"].str.strip(), errors="coerce")
    lat = pd.to_numeric(table["latitude"].str.strip(), errors="coerce")
    given = (lon.notna() & lat.notna()).to_numpy()
    if not given.any():
        return
    other = gpd.GeoSeries(gpd.points_from_xy(lon[given], lat[given]), crs="EPSG:4326").to_crs(BNG)
    used = gpd.GeoSeries(np.asarray(points)[given], crs=BNG)
    distance = np.asarray(other.distance(used, align=False), dtype=float)
    for row, apart in zip(table.index[given], distance, strict=True):
        if apart > PAIRS_TOLERANCE_M:
            problems.add(
                f"easting/northing and longitude/latitude disagree by {apart / 1000:,.1f} km (at most "
                f"{PAIRS_TOLERANCE_M:g} m expected): easting/northing would be used; correct one pair or keep one",
                row=int(row),
                column="easting, northing, longitude, latitude",
            )


def read_sites_file(path: Path, *, land: Path | None = None) -> gpd.GeoDataFrame:
    """Read user-supplied hub sites (CSV with easting/northing or longitude/latitude, or any vector file).

    Columns: ``site_id``, ``name``, ``site_type`` (community/hospital), optional ``status``
    (candidate/required/excluded, default candidate). Every problem is reported at once
    with its row (the line of a CSV, the feature number of a vector file) and column,
    including points outside Great Britain or, with ``land``, more than
    :data:`geodata.select.LAND_TOLERANCE_M` off the land of those boundaries.
    """
    from geodata.select import LAND_TOLERANCE_M, land_distance

    problems = ProblemCollector(path)
    if path.suffix.lower() in (".csv", ".gz", ".txt"):
        table = v.read_table(path, what="sites file")
        xy, crs = _point_columns(table, problems)
        for column in ("site_id", "name", "site_type"):
            if column not in table.columns:
                problems.add("missing column", column=column)
        problems.raise_if_any()
        v.require_rows(table, file=path, what="sites")
        x = v.parse_numbers(table, xy[0], problems=problems)
        y = v.parse_numbers(table, xy[1], problems=problems)
        problems.raise_if_any()
        frame = table.apply(lambda column: column.str.strip())
        sites = gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(x.to_numpy(), y.to_numpy()), crs=crs, index=table.index
        )
        sites = v.to_bng(sites)
        _check_pairs_agree(table, xy, sites.geometry, problems)
        coordinates = f"{xy[0]}, {xy[1]}"
    else:
        sites = v.to_bng(v.read_vector(path, what="sites file"))
        for column in ("site_id", "name", "site_type"):
            if column not in sites.columns:
                problems.add("missing column", column=column)
        problems.raise_if_any()
        sites["site_id"] = sites["site_id"].astype(str).str.strip()
        coordinates = "geometry"
    if "status" not in sites.columns:
        sites["status"] = "candidate"
    sites["status"] = sites["status"].fillna("").replace("", "candidate")
    for row in sites.index[sites["site_id"].fillna("") == ""]:
        problems.add("missing site id", row=int(row), column="site_id")
    v.check_unique(sites.loc[sites["site_id"].fillna("") != ""], "site_id", problems=problems, what="site id")
    for column, allowed in (
        ("site_type", ("community", "hospital")),
        ("status", ("candidate", "required", "excluded")),
    ):
        for row in sites.index[~sites[column].isin(allowed)]:
            problems.add(
                f"must be one of {', '.join(allowed)}, got {sites.at[row, column]!r}", row=int(row), column=column
            )
    points = sites.geometry
    outside = v.outside_gb(points)
    for row in sites.index[outside]:
        problems.add(f"site {sites.at[row, 'site_id']!r} lies outside Great Britain", row=int(row), column=coordinates)
    if land is not None and not outside.all():
        distance = np.full(len(sites), np.inf)
        distance[~outside] = land_distance(points[~outside], land)
        for i in np.flatnonzero(~outside & (distance > LAND_TOLERANCE_M)):
            row = sites.index[i]
            problems.add(
                f"site {sites.at[row, 'site_id']!r} lies {distance[i] / 1000:,.0f} km off the land of the UK "
                f"({Path(land).name}; at most {LAND_TOLERANCE_M / 1000:g} km allowed)",
                row=int(row),
                column=coordinates,
            )
    problems.raise_if_any()
    return sites[SITE_COLUMNS].reset_index(drop=True)


#: Columns of a user's units file (``[units] file``), tidy name -> (pattern, name shown).
_UNIT_FILE_COLUMNS = {
    "unit_id": (r"(unit_?)?id", "id"),
    "name": (r"(unit_?)?name", "name"),
    "population": (r"population", "population"),
    "imd_score": (r"imd(_?score)?", "imd_score"),
}


def read_units_file(path: Path, *, land: Path | None = None) -> gpd.GeoDataFrame:
    """Read a user's own planning units (CSV), every problem listed with its row and column.

    Columns: ``id`` (unique text), ``name`` (optional; blank = the id), ``population``
    (a number >= 0) and a point, either ``easting``/``northing`` (EPSG:27700, metres) or
    ``longitude``/``latitude`` (WGS84 degrees); optionally ``imd_score`` (deprivation,
    for the ``deprivation_travel`` objective). Travel is measured from each unit's point.

    Parameters
    ----------
    path
        The CSV file.
    land
        Boundaries of the land every point must lie on (within
        :data:`geodata.select.LAND_TOLERANCE_M`); ``None`` checks only Great Britain's
        grid extent. Points are also checked against each other: one farther than
        :data:`geodata.select.MAX_ISOLATION_M` from every other unit is an error (a
        file of one unit has no other unit, and is not checked so).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700: ``unit_id``, ``name``, ``population`` (float), ``imd_score`` (when
        given), ``geometry`` (point), in file order.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputDataError
        Missing columns, blank or duplicate ids, populations or coordinates that are not
        numbers, negative populations, points outside Great Britain, off the land or far
        from every other unit: every problem with its row and column.
    """
    from geodata.select import LAND_TOLERANCE_M, MAX_ISOLATION_M, isolation, land_distance

    table = v.read_table(path, what="units file")
    problems = ProblemCollector(path)
    xy, crs = _point_columns(table, problems)
    try:
        table = v.rename_columns(table, _UNIT_FILE_COLUMNS, file=path, required=["unit_id", "population"])
    except InputDataError as exc:
        problems.extend(exc.problems)
    problems.raise_if_any()
    v.require_rows(table, file=path, what="units")
    ids = table["unit_id"].str.strip()
    for row in table.index[ids == ""]:
        problems.add("missing id", row=int(row), column="id")
    v.check_unique(table.assign(unit_id=ids).loc[ids != ""], "unit_id", problems=problems, label="id", what="id")
    population = v.parse_numbers(table, "population", problems=problems, minimum=0, maximum=MAX_POPULATION)
    imd = v.parse_numbers(table, "imd_score", problems=problems) if "imd_score" in table else None
    x = v.parse_numbers(table, xy[0], problems=problems)
    y = v.parse_numbers(table, xy[1], problems=problems)
    problems.raise_if_any()
    names = table["name"].str.strip() if "name" in table else ids
    units = gpd.GeoDataFrame(
        {
            "unit_id": ids.to_numpy(),
            "name": names.where(names != "", ids).to_numpy(),
            "population": population.to_numpy(dtype=float),
        },
        geometry=gpd.points_from_xy(x.to_numpy(), y.to_numpy()),
        crs=crs,
    )
    if imd is not None:
        units.insert(3, "imd_score", imd.to_numpy(dtype=float))
    units = v.to_bng(units)
    _check_pairs_agree(table, xy, units.geometry, problems)
    rows = table.index.to_numpy()
    columns = f"{xy[0]}, {xy[1]}"
    outside = v.outside_gb(units.geometry)
    for i in np.flatnonzero(outside):
        problems.add(
            f"unit {ids.iloc[i]!r} at {x.iloc[i]:g}, {y.iloc[i]:g} lies outside Great Britain "
            f"(are {' and '.join(xy)} exchanged?)",
            row=int(rows[i]),
            column=columns,
        )
    if land is not None and not outside.all():
        distance = np.full(len(units), np.inf)
        distance[~outside] = land_distance(units.geometry[~outside], land)
        for i in np.flatnonzero(~outside & (distance > LAND_TOLERANCE_M)):
            problems.add(
                f"unit {ids.iloc[i]!r} lies {distance[i] / 1000:,.0f} km off the land of the UK "
                f"({Path(land).name}; at most {LAND_TOLERANCE_M / 1000:g} km allowed)",
                row=int(rows[i]),
                column=columns,
            )
    if len(units) > 1 and not problems:  # a single unit has no other unit to be near
        distance = isolation(units.geometry)
        for i in np.flatnonzero(distance > MAX_ISOLATION_M):
            problems.add(
                f"unit {ids.iloc[i]!r} lies {distance[i] / 1000:,.0f} km from the nearest other unit "
                f"(at most {MAX_ISOLATION_M / 1000:g} km expected): a wrong coordinate?",
                row=int(rows[i]),
                column=columns,
            )
    problems.raise_if_any()
    logger.info("%s: %d units, %s people", path.name, len(units), f"{units['population'].sum():,.0f}")
    return units


def read_options_file(path: Path, *, known_sites: set[str] | None = None) -> pd.DataFrame:
    """Read hub options (CSV: ``site_id, option, capital_cost[, capacity]``), every problem listed.

    A capacity is a population above 0; a blank capacity means no limit.
    """
    table = v.read_table(path, what="hub options file")
    v.check_columns(table, ["site_id", "option", "capital_cost"], file=path)
    v.require_rows(table, file=path, what="hub options")
    problems = ProblemCollector(path)
    frame = table.apply(lambda column: column.str.strip())
    cost = v.parse_numbers(frame, "capital_cost", problems=problems, minimum=0, maximum=MAX_GBP)
    capacity = (
        v.parse_numbers(frame, "capacity", problems=problems, minimum=0, maximum=MAX_POPULATION, allow_blank=True)
        if "capacity" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    for row in frame.index[capacity == 0]:
        problems.add(
            f"{frame.at[row, 'capacity']!r}: a capacity must be above 0 (leave it blank for no limit)",
            row=int(row),
            column="capacity",
        )
    for row in frame.index[~frame["option"].isin(("reuse", "refurbish", "new_build"))]:
        problems.add(
            f"option must be reuse, refurbish or new_build, got {frame.at[row, 'option']!r}",
            row=int(row),
            column="option",
        )
    if known_sites is not None:
        for row in frame.index[~frame["site_id"].isin(known_sites)]:
            problems.add(f"unknown site {frame.at[row, 'site_id']!r}", row=int(row), column="site_id")
    for row in frame.index[frame.duplicated(["site_id", "option"], keep="first")]:
        problems.add(f"option given twice for site {frame.at[row, 'site_id']!r}", row=int(row), column="option")
    problems.raise_if_any()
    return pd.DataFrame(
        {"site_id": frame["site_id"], "option": frame["option"], "capital_cost": cost, "capacity": capacity}
    ).reset_index(drop=True)
