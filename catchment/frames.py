"""From GeoDataFrames to a :class:`~catchment.problem.Problem`, and the built problem.

:func:`problem_from_frames` is the general constructor from GeoDataFrames (units, sites,
hub options) and travel times; :class:`BuiltProblem` carries a problem with the frames and
provenance it was built from (what outputs and maps draw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from catchment.adjacency import area_links
from catchment.objective import UNIT_DATA_COLUMNS
from catchment.problem import DroppedUnit, HubOption, Objective, Problem, Rules
from catchment.scenario import DEFAULT_OPTIONS
from geodata.errors import ProblemCollector

__all__ = ["BuiltProblem", "default_options", "problem_from_frames"]


@dataclass(frozen=True, eq=False)
class BuiltProblem:
    """A problem with the frames and provenance it was built from (read only).

    Attributes
    ----------
    problem : Problem
    units : GeoDataFrame
        One row per unit, column ``unit_id`` first (practice points or LSOA polygons).
    sites : GeoDataFrame
        ``site_id``, ``name``, ``site_type``, ``status``, point geometry (EPSG:27700).
    areas : GeoDataFrame or None
        Small-area polygons for maps (LSOA mode: the units; practice mode: the LSOAs
        where the practices' patients live, when boundaries are available).
    registrations : DataFrame or None
        ``practice_code``, ``lsoa_code``, ``patients`` (practice mode).
    boundaries : GeoDataFrame or None
        Borough (LAD) outlines around the study area, for maps.
    travel_description : str
        Where the travel times come from, in words (an estimate says so).
    input_files : dict
        Path -> SHA-256 of every input file read.
    load_s : float
        Seconds spent reading data and computing travel times (or reading them back from
        the cache, see :func:`build_from_scenario`).
    """

    problem: Problem
    units: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame | None = None
    registrations: pd.DataFrame | None = None
    boundaries: gpd.GeoDataFrame | None = None
    travel_description: str = ""
    input_files: Mapping[str, str] = field(default_factory=dict)
    load_s: float = 0.0


def default_options(
    sites: pd.DataFrame,
    per_type: Mapping[str, tuple[tuple[str, float, float | None] | tuple[str, float], ...]] | None = None,
) -> pd.DataFrame:
    """Hub options for every site from per-type defaults (``site_id, option, capital_cost, capacity``).

    Site types that ``per_type`` does not cover get :data:`catchment.scenario.DEFAULT_OPTIONS`,
    marked ``placeholder`` (a column of the result) so that every output labels their costs.
    """
    rows = []
    for site_id, site_type in zip(sites["site_id"], sites["site_type"], strict=True):
        given = (per_type or {}).get(site_type)
        for entry in given or DEFAULT_OPTIONS[site_type]:
            option, cost = entry[0], entry[1]
            capacity = entry[2] if len(entry) > 2 else None
            rows.append(
                {
                    "site_id": site_id,
                    "option": option,
                    "capital_cost": float(cost),
                    "capacity": capacity,
                    "placeholder": not given,
                }
            )
    return pd.DataFrame(rows, columns=["site_id", "option", "capital_cost", "capacity", "placeholder"])


def problem_from_frames(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    options: pd.DataFrame,
    travel_min: np.ndarray,
    *,
    unit_type: str,
    rules: Rules | None = None,
    objective: Objective | None = None,
    travel_source: str = "matrix",
    travel_label: str = "user-supplied travel times",
    unit_id_column: str = "unit_id",
    population_column: str = "population",
    name_column: str | None = "name",
    deprivation_column: str | None = "imd_score",
    group_column: str | None = None,
    adjacency: list[tuple[int, int]] | None = None,
    site_unit: Sequence[int | None] | None = None,
    dropped: Sequence[DroppedUnit] = (),
) -> Problem:
    """Build a :class:`Problem` from GeoDataFrames (EPSG:27700).

    Parameters
    ----------
    units
        One row per unit with id, population and (optionally) name, IMD score, group.
    sites
        ``site_id``, ``name``, ``site_type`` (community/hospital), ``status``
        (candidate/required/excluded), point geometry.
    options
        ``site_id``, ``option``, ``capital_cost`` and optional ``capacity`` (NaN = none)
        and ``placeholder`` (True where the cost is a built-in placeholder; default False).
    travel_min
        ``(n_units, n_sites)`` minutes, rows in ``units`` order, columns in ``sites`` order.
    unit_type
        ``"practice"`` or ``"lsoa"``.
    adjacency
        Unit position pairs (LSOA mode); computed from the polygons when ``None`` and the
        units are polygons.
    site_unit
        Position of the unit hosting each site (LSOA mode); computed from the polygons
        when ``None`` and the units are polygons.
    dropped
        Units of the selection left out (they count in the coverage denominator).

    Returns
    -------
    Problem
    """
    problems = ProblemCollector("<units>")
    for column in (unit_id_column, population_column):
        if column not in units.columns:
            problems.add("missing column", column=column)
    for column in ("site_id", "name", "site_type", "status"):
        if column not in sites.columns:
            problems.add("missing column in sites", column=column)
    for column in ("site_id", "option", "capital_cost"):
        if column not in options.columns:
            problems.add("missing column in options", column=column)
    problems.raise_if_any()

    units = units.reset_index(drop=True)
    sites = sites.reset_index(drop=True)
    adjacency, site_unit = area_links(units, sites, unit_type, adjacency=adjacency, site_unit=site_unit)
    capacity = options["capacity"] if "capacity" in options.columns else pd.Series(np.nan, index=options.index)
    placeholder = options["placeholder"] if "placeholder" in options.columns else pd.Series(False, index=options.index)
    hub_options = tuple(
        HubOption(str(s), str(o), float(c), None if pd.isna(k) else float(k), bool(p))
        for s, o, c, k, p in zip(
            options["site_id"], options["option"], options["capital_cost"], capacity, placeholder, strict=True
        )
    )
    deprivation = None
    if deprivation_column and deprivation_column in units.columns and units[deprivation_column].notna().all():
        deprivation = units[deprivation_column].to_numpy(dtype=float)
    unit_data = {
        column: units[column].to_numpy(dtype=float)
        for column in UNIT_DATA_COLUMNS
        if column in units.columns and units[column].notna().all()
    }
    return Problem(
        unit_ids=tuple(units[unit_id_column].astype(str)),
        unit_type=unit_type,  # type: ignore[arg-type]
        population=units[population_column].to_numpy(dtype=float),
        site_ids=tuple(sites["site_id"].astype(str)),
        site_names=tuple(sites["name"].astype(str)),
        site_types=tuple(sites["site_type"].astype(str)),
        site_status=tuple(sites["status"].astype(str)),
        options=hub_options,
        travel_min=np.asarray(travel_min, dtype=float),
        rules=rules or Rules(),
        objective=objective or Objective(),
        travel_source=travel_source,
        travel_label=travel_label,
        deprivation=deprivation,
        groups=tuple(units[group_column].astype(str)) if group_column else None,
        adjacency=tuple(adjacency) if adjacency is not None else None,
        site_unit=tuple(site_unit) if site_unit is not None else None,
        unit_names=tuple(units[name_column].astype(str)) if name_column and name_column in units.columns else None,
        units=units,
        sites=sites,
        dropped=tuple(dropped),
        unit_data=unit_data,
    )
