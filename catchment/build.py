"""From data to a :class:`~catchment.problem.Problem`.

Two entry points:

* :func:`problem_from_frames` — the general constructor from GeoDataFrames (units, sites,
  hub options) and travel times; also reachable as ``Problem.from_geodataframes``.
* :func:`build_from_scenario` — reads the real published files a scenario names (through
  :mod:`geodata`), selects the study area, gathers candidate hub sites, computes travel
  times (road network, user matrix or crow-fly estimate) and returns a :class:`BuiltProblem`.

Travel for practice units
-------------------------
A practice's travel time to a hub is the patient-weighted mean, over the small areas
(LSOAs) where its registered patients live, of the travel time from each area's
population-weighted centroid to the hub. A practice without registrations data falls back
to its own location. Areas too far from the road network (snap distance above the limit)
are left out of the mean and counted in the log.

Cache of built problems
-----------------------
:func:`build_from_scenario` keeps what it built from the files (units, sites, options,
travel times, adjacency, map layers) in the on-disk cache of :mod:`geodata.cache`. A
second build of the same scenario on unchanged files reads a few (Geo)Parquet tables and
one ``.npz`` (tens of milliseconds) instead of parsing some 25 MB of published files
(about a second for a borough, two for London). The whole build is cached rather than
each reader's table: reading is only part of the cost (selection, geocoding, the
patient-weighted travel times and the polygon adjacency add to it), and a hit is then a
single lookup. Entries are checked against the SHA-256 of every input file, so an edited
or replaced file is always read again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from geodata.errors import ProblemDefinitionError, ScenarioError
from catchment.objective import UNIT_DATA_COLUMNS
from catchment.problem import DroppedUnit, HubOption, Objective, Problem, Rules
from catchment.scenario import DEFAULT_OPTIONS, REGISTRATIONS_FILE, Scenario
from geodata import tables as v
from geodata.errors import DataProblem, InputDataError, ProblemCollector, UnknownCodeError
from geodata.tables import isin
from geodata.cache import hash_parts
from geodata.settings import BNG

__all__ = [
    "BUILD_CACHE_NAMESPACE",
    "BuiltProblem",
    "problem_from_frames",
    "build_from_scenario",
    "lsoa_adjacency",
    "practice_travel",
    "default_options",
    "file_sha256",
    "build_demo",
    "read_sites_file",
    "read_options_file",
    "read_units_file",
]

logger = logging.getLogger(__name__)

SITE_COLUMNS = ["site_id", "name", "site_type", "status", "geometry"]


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


# ---------------------------------------------------------------------------- helpers
def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_options(
    sites: pd.DataFrame,
    per_type: Mapping[str, tuple[tuple[str, float, float | None] | tuple[str, float], ...]] | None = None,
) -> pd.DataFrame:
    """Hub options for every site from per-type defaults (``site_id, option, capital_cost, capacity``).

    Site types that ``per_type`` does not cover get :data:`catchment.scenario.DEFAULT_OPTIONS`,
    marked ``placeholder`` (a column of the result) so that every output labels their costs.
    """
    rows = []
    for site_id, site_type in zip(sites["site_id"], sites["site_type"]):
        given = (per_type or {}).get(site_type)
        for entry in given or DEFAULT_OPTIONS[site_type]:
            option, cost = entry[0], entry[1]
            capacity = entry[2] if len(entry) > 2 else None
            rows.append({"site_id": site_id, "option": option, "capital_cost": float(cost), "capacity": capacity,
                         "placeholder": not given})
    return pd.DataFrame(rows, columns=["site_id", "option", "capital_cost", "capacity", "placeholder"])


def lsoa_adjacency(areas: gpd.GeoDataFrame, *, min_shared_m: float = 1.0) -> list[tuple[int, int]]:
    """Rook adjacency of polygons: pairs sharing a boundary at least ``min_shared_m`` long.

    Polygons touching at a point only (queen contiguity) are not neighbours: a
    polysystem joined through a single corner is not one area on the ground.
    """
    geoms = areas.geometry.to_numpy()
    left, right = areas.sindex.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return []
    shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
    lengths = shapely.length(shared)
    ok = lengths >= min_shared_m
    return list(zip(left[ok].tolist(), right[ok].tolist()))


def practice_travel(
    practice_ids: list[str],
    registrations: pd.DataFrame,
    area_ids: list[str],
    area_minutes: np.ndarray,
    *,
    fallback_minutes: np.ndarray | None = None,
    area_ok: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Patient-weighted mean travel time of each practice to each site.

    Parameters
    ----------
    practice_ids
        Practices, in row order of the result.
    registrations
        ``practice_code``, ``lsoa_code``, ``patients``.
    area_ids, area_minutes
        Areas (rows of ``area_minutes``) and their travel minutes to each site.
    fallback_minutes
        ``(n_practices, n_sites)`` minutes from each practice's own location, used where a
        practice has no usable registrations.
    area_ok
        Boolean mask of areas usable in the mean (e.g. close enough to the network).

    Returns
    -------
    minutes : ndarray (n_practices, n_sites)
    covered : ndarray (n_practices,)
        Share of each practice's registered patients represented in its mean (0 where
        the fallback was used).
    """
    area_pos = pd.Index(area_ids)
    prac_pos = pd.Index(practice_ids)
    reg = registrations.loc[isin(registrations["practice_code"], prac_pos)]
    rows = prac_pos.get_indexer(reg["practice_code"])
    cols = area_pos.get_indexer(reg["lsoa_code"])
    weights = reg["patients"].to_numpy(dtype=float)
    totals = np.bincount(rows, weights=weights, minlength=len(prac_pos))
    usable = cols >= 0
    if area_ok is not None:
        usable &= np.where(cols >= 0, area_ok[np.maximum(cols, 0)], False)
    W = sparse.csr_array((weights[usable], (rows[usable], cols[usable])), shape=(len(prac_pos), len(area_pos)))
    used = np.asarray(W.sum(axis=1)).ravel()
    finite = np.isfinite(area_minutes)
    numer = W @ np.where(finite, area_minutes, 0.0)
    denom = W @ finite.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        minutes = np.where(denom > 0, numer / np.where(denom > 0, denom, 1.0), np.inf)
    covered = np.divide(used, totals, out=np.zeros_like(used), where=totals > 0)
    no_data = used <= 0
    if no_data.any():
        if fallback_minutes is None:
            raise InputDataError(
                [DataProblem("<registrations>", f"no usable registrations for practice(s) {', '.join(np.asarray(practice_ids)[no_data][:10])}")]
            )
        minutes[no_data] = fallback_minutes[no_data]
        logger.info("%d practice(s) without registrations data: travel from the practice's own location", int(no_data.sum()))
    return minutes, covered


# ---------------------------------------------------------------------------- frames
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
    adjacency, site_unit = _area_links(units, sites, unit_type, adjacency=adjacency, site_unit=site_unit)
    capacity = options["capacity"] if "capacity" in options.columns else pd.Series(np.nan, index=options.index)
    placeholder = options["placeholder"] if "placeholder" in options.columns else pd.Series(False, index=options.index)
    hub_options = tuple(
        HubOption(str(s), str(o), float(c), None if pd.isna(k) else float(k), bool(p))
        for s, o, c, k, p in zip(options["site_id"], options["option"], options["capital_cost"], capacity, placeholder)
    )
    deprivation = None
    if deprivation_column and deprivation_column in units.columns and units[deprivation_column].notna().all():
        deprivation = units[deprivation_column].to_numpy(dtype=float)
    unit_data = {column: units[column].to_numpy(dtype=float) for column in UNIT_DATA_COLUMNS
                 if column in units.columns and units[column].notna().all()}
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


def _host_units(units: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> list[int | None]:
    """Area containing each site; a site outside every area is hosted by the nearest area.

    A hub just outside the study area (a hospital across the borough line) serves the
    polysystem of the area it stands next to; that area roots contiguity.
    """
    joined = gpd.sjoin_nearest(
        sites[["geometry"]].set_crs(units.crs, allow_override=True) if sites.crs is None else sites[["geometry"]],
        units[["geometry"]],
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return [int(v) for v in joined["index_right"].to_numpy()]


def _area_links(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    unit_type: str,
    *,
    adjacency: list[tuple[int, int]] | None = None,
    site_unit: Sequence[int | None] | None = None,
) -> tuple[list[tuple[int, int]] | None, Sequence[int | None] | None]:
    """Adjacency of area units and the unit hosting each site, computed where not given.

    Point units (practices) get neither; ``units`` and ``sites`` must have a RangeIndex.
    """
    if unit_type == "lsoa" and units.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        if adjacency is None:
            adjacency = lsoa_adjacency(units)
        if site_unit is None:
            site_unit = _host_units(units, sites)
    return adjacency, site_unit


# ---------------------------------------------------------------------------- scenario
#: Cache namespace (sub-folder of :func:`geodata.settings.cache_dir`) of built problems.
BUILD_CACHE_NAMESPACE = "built"
#: Bumped whenever what a cache entry of a built problem holds changes.
_BUILD_CACHE_VERSION = 2
#: Columns of the frame of units left out of the selection (``_BuiltData.dropped``).
_DROPPED_COLUMNS = ("unit_id", "name", "population", "reason")


@dataclass(frozen=True, eq=False)
class _BuiltData:
    """Everything :func:`build_from_scenario` reads or computes from the data files.

    The rules and the objective are not part of it: scenarios that differ only in those
    share one cache entry, and the problem is assembled with the scenario's own rules.
    """

    units: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    options: pd.DataFrame
    minutes: np.ndarray
    travel_source: str
    description: str
    group_column: str | None
    areas: gpd.GeoDataFrame | None
    registrations: pd.DataFrame | None
    boundaries: gpd.GeoDataFrame
    adjacency: list[tuple[int, int]] | None
    site_unit: list[int | None] | None
    #: Units of the selection left out: ``unit_id``, ``name``, ``population``, ``reason``.
    dropped: pd.DataFrame
    #: Every input path (sorted) -> SHA-256 of its bytes, or ``None`` when it does not exist.
    inputs: dict[str, str | None]


def build_from_scenario(
    scenario: Scenario, *, data_dir: str | Path | None = None, cache: bool = True
) -> BuiltProblem:
    """Read the data a scenario names and build its problem.

    What is built from the data files (units, sites, hub options, travel times, adjacency,
    map layers) is cached on disk (:mod:`geodata.cache`, namespace ``built``). The entry
    is found from the scenario's data-related content (``[units]``, ``[sites]``,
    ``[travel]``, ``[data]``, ``[rules] boundaries``), the data folder and a fingerprint
    of the building code (the ``geodata`` and ``catchment`` sources and the versions of
    the libraries they use); it is used only when every file it was built from still has
    the same content (SHA-256; see :func:`geodata.cache.file_digest`). The rules and the
    objective are not part of the entry: the problem is assembled with the scenario's own.
    Warnings raised while the data were read are stored with the entry and raised again
    when it is used; a damaged entry is rebuilt.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`catchment.scenario.read_scenario`).
    data_dir
        Folder of the real data; :func:`geodata.settings.data_dir` by default.
    cache
        Use and fill the cache (``$CATCHMENT_CACHE_DIR`` or ``~/.cache/catchment``).
        ``False`` reads every file and writes nothing to the cache folder.

    Returns
    -------
    BuiltProblem

    Raises
    ------
    MissingFileError, InputDataError
        Unreadable or inconsistent input files (file, row and column named).
    ProblemDefinitionError
        Rules that contradict the data (e.g. a required site that is not a candidate).
    """
    from geodata.settings import data_dir as default_data_dir

    started = time.perf_counter()
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if cache:
        key = _build_cache_key(scenario, root)
        data = _load_built_data(key, scenario)
        if data is None:
            data = _build_and_store(scenario, root, key)
    else:
        data = _build_data(scenario, root, cache=False)
    problem = problem_from_frames(
        data.units, data.sites, data.options, data.minutes,
        unit_type=scenario.units.type, rules=scenario.rules, objective=scenario.objective,
        travel_source=data.travel_source, travel_label=data.description, group_column=data.group_column,
        adjacency=data.adjacency, site_unit=data.site_unit,
        dropped=[DroppedUnit(str(r.unit_id), str(r.name), float(r.population), str(r.reason))
                 for r in data.dropped.itertuples(index=False)],
    )
    return BuiltProblem(
        problem=problem, units=data.units, sites=data.sites, areas=data.areas, registrations=data.registrations,
        boundaries=data.boundaries, travel_description=data.description,
        input_files={path: digest for path, digest in data.inputs.items() if digest is not None},
        load_s=time.perf_counter() - started,
    )


def _build_data(scenario: Scenario, root: Path, *, cache: bool) -> _BuiltData:
    """Read the files a scenario names and compute what its problem is made of."""
    from geodata import ons, practices as gp_practices  # local: heavy modules
    from geodata.cache import file_digest
    from geodata.nhs import read_practice_lsoa

    files: dict[str, Path] = {}

    def role(name: str, default: str) -> Path:
        path = scenario.resolve(scenario.data.get(name, default), root)
        files[name] = path
        return path

    spec = scenario.units
    lsoa_paths = {k: role(k, v) for k, v in ons.LSOA_FILES.items()}
    prac_paths = {k: role(k, v) for k, v in gp_practices.PRACTICE_FILES.items()}
    land = prac_paths["land"]
    polygon = _read_polygon(scenario.resolve(spec.polygon, root)) if spec.polygon else None
    if spec.polygon:
        files["units_polygon"] = scenario.resolve(spec.polygon, root)

    practices_frame = None
    registrations = None
    dropped = pd.DataFrame(columns=list(_DROPPED_COLUMNS))
    try:
        if spec.file:
            path = scenario.resolve(spec.file, root)
            files["units"] = path
            units = read_units_file(path, land=land)
            area_geom = shapely.convex_hull(units.geometry.union_all()).buffer(500.0)
            origin_points = units.geometry
            origin_ids = list(units["unit_id"])
            areas = None
        elif spec.type == "lsoa":
            lsoas = ons.load_lsoas(
                root, lad=spec.lad, bbox=spec.bbox, polygon=polygon,
                boundaries_path=lsoa_paths["boundaries"], population_path=lsoa_paths["population"],
                imd_path=lsoa_paths["imd"], centroids_path=lsoa_paths["centroids"], land_path=land,
            )
            if len(lsoas) == 0:
                raise InputDataError([DataProblem(str(lsoa_paths["boundaries"]), "the selection contains no LSOAs")])
            units = lsoas.rename(columns={"lsoa_code": "unit_id"}).reset_index(drop=True)
            units.insert(0, "unit_id", units.pop("unit_id"))
            share = _share_60_plus(ons.read_imd(lsoa_paths["imd"]))
            units["population_60_plus"] = units["population"] * units["unit_id"].map(share)
            area_geom = units.geometry.union_all()
            origin_points = gpd.GeoSeries(gpd.points_from_xy(units["centroid_x"], units["centroid_y"]), crs=BNG)
            origin_ids = list(units["unit_id"])
            areas = units
        else:
            practices_frame, unplaced = gp_practices.load_practices(
                root, ccg=spec.ccg, lad=spec.lad, bbox=spec.bbox, polygon=polygon, return_dropped=True,
                epraccur_path=prac_paths["epraccur"], list_sizes_path=prac_paths["list_sizes"],
                nhs_choices_path=prac_paths["nhs_choices"], lad_boundaries_path=prac_paths["lad_boundaries"],
                codepoint_path=prac_paths["codepoint"], codepoint_headers_path=prac_paths["codepoint_headers"],
                land_path=land,
            )
            dropped = pd.DataFrame({
                "unit_id": unplaced["practice_code"].astype(str), "name": unplaced["name"].astype(str),
                "population": unplaced["list_size"].astype(float), "reason": unplaced["reason"].astype(str),
            }, columns=list(_DROPPED_COLUMNS))
            if len(practices_frame) == 0:
                raise InputDataError([DataProblem(str(prac_paths["epraccur"]),
                                                  "the selection contains no open GP practices")])
            units = practices_frame.rename(columns={"practice_code": "unit_id", "list_size": "population"})
            units = units.reset_index(drop=True)
            reg_path = role("registrations", REGISTRATIONS_FILE)
            registrations = read_practice_lsoa(reg_path)
            registrations = registrations.loc[isin(registrations["practice_code"], units["unit_id"])]
            registrations = registrations.reset_index(drop=True)
            centroids = ons.read_lsoa_centroids(lsoa_paths["centroids"], land=land)
            centroids = centroids.loc[isin(centroids["lsoa_code"], registrations["lsoa_code"])].reset_index(drop=True)
            origin_points = centroids.geometry
            origin_ids = list(centroids["lsoa_code"])
            imd = ons.read_imd(lsoa_paths["imd"])
            units["imd_score"] = _practice_imd(units["unit_id"], registrations, imd)
            reg = registrations.assign(s=registrations["lsoa_code"].map(_share_60_plus(imd)) * registrations["patients"])
            sums = reg.dropna(subset="s").groupby("practice_code")[["s", "patients"]].sum()
            share = (sums["s"] / sums["patients"]).reindex(units["unit_id"].to_numpy())
            units["population_60_plus"] = units["population"].to_numpy() * share.fillna(share.mean()).to_numpy()
            area_geom = shapely.convex_hull(units.geometry.union_all()).buffer(500.0)
            # areas for maps: the London LSOAs where these practices' patients live
            boundaries = ons.read_lsoa_boundaries(lsoa_paths["boundaries"])
            areas = boundaries.loc[isin(boundaries["lsoa_code"], registrations["lsoa_code"])].reset_index(drop=True)
    except UnknownCodeError as exc:  # name the scenario key, not only the data file
        where = scenario.path if scenario.path is not None else "<scenario>"
        raise ScenarioError([f"{where}: [units] {exc.kind}: {exc.describe()} ({exc.problems[0].file})"]) from None

    sites = _gather_sites(scenario, root, units, practices_frame, area_geom, files, spec.type)
    options = _gather_options(scenario, root, sites, files)

    # -- travel times
    by_registrations = registrations is not None
    description, source, matrix, fallback, area_ok, per_unit = _travel(
        scenario, root, files, origin_ids, origin_points, sites, units if by_registrations else None
    )
    if by_registrations and per_unit:
        minutes = matrix  # a matrix keyed by practice code: used as it is
        units["registrations_covered"] = 0.0
    elif by_registrations:
        if area_ok is not None and fallback is None:
            _check_matrix_covers_practices(files["travel_matrix"], units, registrations, origin_ids, area_ok)
        minutes, covered = practice_travel(
            list(units["unit_id"]), registrations, origin_ids, matrix, fallback_minutes=fallback, area_ok=area_ok
        )
        units["registrations_covered"] = covered
        logger.info(
            "practice travel: patient-weighted over %d LSOAs; %.1f%% of registered patients represented",
            len(origin_ids), 100 * float((covered * units["population"]).sum() / units["population"].sum()),
        )
    else:
        minutes = matrix

    lad = ons.read_lad_boundaries(prac_paths["lad_boundaries"])  # outlines, and each unit's borough
    group_column = None
    if scenario.boundaries == "lad":
        if "lad_code" not in units.columns:
            units["lad_code"] = _lad_of_points(units, lad, file=prac_paths["lad_boundaries"])
        group_column = "lad_code"
    elif scenario.boundaries == "ccg":
        if "ccg_code" not in units.columns:
            raise ProblemDefinitionError(["[rules] boundaries = \"ccg\" needs practice units (CCG codes)"])
        group_column = "ccg_code"

    adjacency, site_unit = _area_links(units.reset_index(drop=True), sites.reset_index(drop=True), spec.type)
    near = lad.loc[lad.intersects(shapely.buffer(area_geom, 1000.0))].reset_index(drop=True)
    inputs = {
        str(p): file_digest(p, cache=cache) if p.is_file() else None for p in sorted(set(files.values()), key=str)
    }
    return _BuiltData(
        units=units, sites=sites, options=options, minutes=np.asarray(minutes, dtype=float), travel_source=source,
        description=description, group_column=group_column, areas=areas, registrations=registrations,
        boundaries=near, adjacency=adjacency, site_unit=site_unit, dropped=dropped, inputs=inputs,
    )


# ---------------------------------------------------------------------------- build cache
@functools.cache
def _code_fingerprint() -> str:
    """SHA-256 of the sources of :mod:`geodata` and :mod:`catchment` and of library versions.

    Part of every cache key, so that an entry written by other loaders (an edited or
    upgraded checkout) is never used.
    """
    import pyarrow
    import pyproj

    import catchment
    import geodata

    parts: list[str | bytes] = [
        f"{module.__name__} {module.__version__}" for module in (np, pd, gpd, shapely, pyproj, pyarrow)
    ]
    for package in (geodata, catchment):
        for source in sorted(Path(package.__file__).parent.glob("*.py")):
            parts += [f"{package.__name__}/{source.name}", source.read_bytes()]
    return hash_parts(*parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} in a cache key")


def _build_cache_key(scenario: Scenario, root: Path) -> str:
    """Cache key: what the built data depend on, except the input files' contents.

    Input contents are checked against the digests stored in the entry instead, since
    which files are read is only known once the scenario has been built.
    """
    content = {
        "version": _BUILD_CACHE_VERSION,
        "units": {f.name: getattr(scenario.units, f.name) for f in fields(scenario.units)},
        "sites": {f.name: getattr(scenario.sites, f.name) for f in fields(scenario.sites)},
        "travel": {f.name: getattr(scenario.travel, f.name) for f in fields(scenario.travel)},
        "boundaries": scenario.boundaries,
        "data": dict(scenario.data),
        "root": str(root.expanduser().resolve()),
    }
    text = json.dumps(content, sort_keys=True, default=_jsonable)
    return hash_parts("built-problem", text, _code_fingerprint())


def _build_and_store(scenario: Scenario, root: Path, key: str) -> _BuiltData:
    """Build (a cache miss), store the result with the warnings raised meanwhile, raise them."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = _build_data(scenario, root, cache=True)
    except BaseException:
        _reissue([_warning_record(w) for w in caught])
        raise
    records = [_warning_record(w) for w in caught]
    _store_built_data(key, scenario, data, records)
    _reissue(records)
    return data


def _store_built_data(key: str, scenario: Scenario, data: _BuiltData, records: list[dict[str, Any]]) -> None:
    from geodata.cache import save_entry

    frames: dict[str, pd.DataFrame] = {
        "units": data.units, "sites": data.sites, "options": data.options, "boundaries": data.boundaries,
        "dropped": data.dropped,
    }
    areas = None
    if data.areas is data.units:
        areas = "units"
    elif data.areas is not None:
        frames["areas"], areas = data.areas, "areas"
    if data.registrations is not None:
        frames["registrations"] = data.registrations
    arrays = {"minutes": data.minutes}
    if data.adjacency is not None:
        arrays["adjacency"] = np.asarray(data.adjacency, dtype=np.int64).reshape(-1, 2)
    if data.site_unit is not None:
        arrays["site_unit"] = np.array([-1 if s is None else s for s in data.site_unit], dtype=np.int64)
    meta = {
        "scenario": scenario.name,
        "travel_source": data.travel_source,
        "description": data.description,
        "group_column": data.group_column,
        "areas": areas,
        "inputs": data.inputs,
        "warnings": records,
    }
    if save_entry(key, arrays=arrays, frames=frames, meta=meta, namespace=BUILD_CACHE_NAMESPACE):
        logger.info("built problem cached (%s): %d units x %d sites", key[:12], len(data.units), len(data.sites))


def _load_built_data(key: str, scenario: Scenario) -> _BuiltData | None:
    """The cached build under ``key`` if its input files are unchanged, else ``None``."""
    from geodata.cache import file_digest, load_entry

    entry = load_entry(key, namespace=BUILD_CACHE_NAMESPACE)
    if entry is None:
        logger.info("built-problem cache miss for %r (%s): reading the data files", scenario.name, key[:12])
        return None
    try:
        meta, frames, arrays = entry.meta, entry.frames, entry.arrays
        for path, digest in meta["inputs"].items():
            source = Path(path)
            try:
                now = file_digest(source) if source.is_file() else None
            except OSError:
                now = None
            if now != digest:
                logger.info("%s changed since the cached build of %r: reading the data files", path, scenario.name)
                return None
        units = frames["units"]
        minutes = arrays["minutes"]
        if minutes.shape != (len(units), len(frames["sites"])):
            raise ValueError("travel times do not match the units and sites")
        site_unit = None
        if "site_unit" in arrays:
            site_unit = [None if s < 0 else int(s) for s in arrays["site_unit"].tolist()]
        adjacency = None
        if "adjacency" in arrays:
            adjacency = [(int(i), int(j)) for i, j in arrays["adjacency"].tolist()]
        data = _BuiltData(
            units=units, sites=frames["sites"], options=frames["options"], minutes=minutes,
            travel_source=str(meta["travel_source"]), description=str(meta["description"]),
            group_column=meta["group_column"],
            areas={"units": units, "areas": frames.get("areas")}.get(meta["areas"]),
            registrations=frames.get("registrations"), boundaries=frames["boundaries"], adjacency=adjacency,
            site_unit=site_unit, dropped=frames["dropped"], inputs=dict(meta["inputs"]),
        )
        records = [
            {"category": str(r["category"]), "message": str(r["message"]), "filename": str(r["filename"]),
             "lineno": int(r["lineno"])}
            for r in meta["warnings"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("built-problem cache entry %s is damaged (%s); rebuilding", key[:12], exc)
        return None
    logger.info("built problem for %r read from cache (%s): %d units x %d sites",
                scenario.name, key[:12], len(data.units), len(data.sites))
    _reissue(records)
    return data


def _warning_record(message: warnings.WarningMessage) -> dict[str, Any]:
    category = message.category
    return {
        "category": f"{category.__module__}:{category.__qualname__}",
        "message": str(message.message),
        "filename": message.filename,
        "lineno": message.lineno,
    }


def _reissue(records: list[dict[str, Any]]) -> None:
    """Raise recorded warnings again, through the warning filters in force now."""
    for record in records:
        module_name, _, qualname = record["category"].partition(":")
        try:
            category: Any = sys.modules.get(module_name) or importlib.import_module(module_name)
        except (ImportError, ValueError):
            category = None
        for part in qualname.split("."):
            category = getattr(category, part, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = UserWarning
        filename = record["filename"]
        module = next(
            (m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == filename), None
        )
        registry = module.__dict__.setdefault("__warningregistry__", {}) if module is not None else None
        warnings.warn_explicit(
            record["message"], category, filename, record["lineno"],
            module=module.__name__ if module is not None else None, registry=registry,
        )


def _read_polygon(path: Path) -> gpd.GeoDataFrame:
    """The ``[units] polygon`` file (missing, damaged or CRS-less files are errors naming it)."""
    return v.read_vector(path, what="selection polygon file")


def _practice_imd(practice_ids: pd.Series, registrations: pd.DataFrame, imd: pd.DataFrame) -> np.ndarray:
    """Patient-weighted mean IMD score of the areas where each practice's patients live."""
    reg = registrations.merge(imd[["lsoa_code", "imd_score"]], on="lsoa_code", how="inner")
    reg = reg.assign(w=reg["patients"] * reg["imd_score"])
    sums = reg.groupby("practice_code")[["w", "patients"]].sum()
    score = (sums["w"] / sums["patients"]).reindex(practice_ids.to_numpy())
    return score.fillna(score.mean()).to_numpy(dtype=float)


def _share_60_plus(imd: pd.DataFrame) -> pd.Series:
    """Share of residents aged 60 and over by LSOA code (IMD 2019 populations; empty without them).

    A unit's population aged 60+ is its population x this share: of its own LSOA, or for a
    practice the patient-weighted mean share of the LSOAs where its patients live (practices
    with none of those LSOAs get the mean share of the others).
    """
    if not {"population_60_plus", "population_total"} <= set(imd.columns):
        return pd.Series(dtype=float)
    total = imd["population_total"].where(imd["population_total"] > 0)
    return pd.Series((imd["population_60_plus"] / total).to_numpy(), index=imd["lsoa_code"].to_numpy())


def _point_columns(table: pd.DataFrame, problems: ProblemCollector) -> tuple[tuple[str, ...], str | None]:
    """The coordinate columns of a sites or units file and their CRS (a problem when there are none)."""
    if {"easting", "northing"} <= set(table.columns):
        return ("easting", "northing"), BNG
    if {"longitude", "latitude"} <= set(table.columns):
        return ("longitude", "latitude"), "EPSG:4326"
    problems.add(f"needs easting and northing (EPSG:27700) or longitude and latitude columns (columns found: "
                 f"{', '.join(map(str, table.columns))})", column="easting, northing")
    return (), None


def _lad_of_points(units: gpd.GeoDataFrame, lad: gpd.GeoDataFrame, *, file: Path) -> np.ndarray:
    """The LAD (borough) of each unit's point, for ``boundaries = "lad"``.

    The boundary that covers the point; a point in no boundary (generalised coastlines and
    estuaries leave some real practices just outside) takes the nearest boundary within
    :data:`geodata.select.LAND_TOLERANCE_M`, the tolerance of the land check. Farther than
    that is an error naming the units and the file (never a distant borough: the file may
    not cover the study area at all). A point on the line between two boroughs takes the
    first in the file's order.
    """
    from geodata.select import LAND_TOLERANCE_M

    points = units[["unit_id", "geometry"]]
    joined = gpd.sjoin(points, lad[["lad_code", "geometry"]], how="left", predicate="covered_by")
    joined = joined[~joined.index.duplicated(keep="first")].reindex(units.index)
    codes = joined["lad_code"].to_numpy(dtype=object)
    outside = pd.isna(codes)
    if outside.any():
        near = gpd.sjoin_nearest(points.loc[outside], lad[["lad_code", "geometry"]], how="left",
                                 max_distance=LAND_TOLERANCE_M)
        near = near[~near.index.duplicated(keep="first")].reindex(points.index[outside])
        codes[outside] = near["lad_code"].to_numpy(dtype=object)
        outside = pd.isna(codes)
    if outside.any():
        names = units["name"] if "name" in units.columns else units["unit_id"]
        raise InputDataError([
            DataProblem(
                str(file),
                f"[rules] boundaries = \"lad\": unit {u} ({n}) lies in no boundary of this file, nor within "
                f"{LAND_TOLERANCE_M / 1000:g} km of one; give a LAD boundary file that covers the study area in "
                "[data] lad_boundaries",
                column="lad_code",
            )
            for u, n in zip(units["unit_id"].to_numpy()[outside], names.to_numpy()[outside])
        ])
    return codes.astype(str)


def _gather_sites(
    scenario: Scenario,
    root: Path,
    units: gpd.GeoDataFrame,
    practices_frame: gpd.GeoDataFrame | None,
    area_geom: Any,
    files: dict[str, Path],
    unit_type: str,
) -> gpd.GeoDataFrame:
    from geodata import practices as gp_practices

    spec = scenario.sites
    parts: list[gpd.GeoDataFrame] = []
    if spec.hospitals_within_m is not None:
        hospitals = gp_practices.load_hospitals(
            root, polygon=gpd.GeoSeries([area_geom], crs=BNG), within_m=spec.hospitals_within_m,
            sector=spec.hospital_sector, hospitals_path=files["hospitals"],
        )
        parts.append(gpd.GeoDataFrame(
            {"site_id": hospitals["site_id"].astype(str), "name": hospitals["name"], "site_type": "hospital",
             "status": "candidate"}, geometry=hospitals.geometry.to_numpy(), crs=BNG))
    if spec.largest_practices:
        if practices_frame is None:
            practices_frame = gp_practices.load_practices(
                root, polygon=gpd.GeoSeries([area_geom], crs=BNG),
                epraccur_path=files["epraccur"], list_sizes_path=files["list_sizes"],
                nhs_choices_path=files["nhs_choices"], lad_boundaries_path=files["lad_boundaries"],
                codepoint_path=files["codepoint"], codepoint_headers_path=files["codepoint_headers"],
                land_path=files["land"],
            )
        top = practices_frame.sort_values(["list_size", "practice_code"], ascending=[False, True]).head(spec.largest_practices)
        parts.append(gpd.GeoDataFrame(
            {"site_id": top["practice_code"].astype(str), "name": top["name"], "site_type": "community",
             "status": "candidate"}, geometry=top.geometry.to_numpy(), crs=BNG))
    if spec.file:
        path = scenario.resolve(spec.file, root)
        files["sites"] = path
        parts.append(read_sites_file(path, land=files["land"]))
    sites = pd.concat(parts, ignore_index=True) if parts else gpd.GeoDataFrame(columns=SITE_COLUMNS, geometry="geometry", crs=BNG)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG).drop_duplicates("site_id", keep="last").reset_index(drop=True)
    known = set(sites["site_id"])
    unknown = [s for s in (*spec.required, *spec.excluded) if s not in known]
    if unknown:
        raise ProblemDefinitionError(
            [f"[sites] required/excluded name site(s) that are not candidates: {', '.join(unknown)}"]
        )
    sites.loc[sites["site_id"].isin(spec.required), "status"] = "required"
    sites.loc[sites["site_id"].isin(spec.excluded), "status"] = "excluded"
    if len(sites) == 0:
        raise ProblemDefinitionError(["no candidate hub sites were found for this scenario"])
    logger.info("%d candidate hub sites (%s)", len(sites), ", ".join(f"{k}: {v}" for k, v in sites["site_type"].value_counts().items()))
    return sites


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
        sites = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x.to_numpy(), y.to_numpy()), crs=crs,
                                 index=table.index)
        sites = v.to_bng(sites)
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
    for column, allowed in (("site_type", ("community", "hospital")),
                            ("status", ("candidate", "required", "excluded"))):
        for row in sites.index[~sites[column].isin(allowed)]:
            problems.add(f"must be one of {', '.join(allowed)}, got {sites.at[row, column]!r}", row=int(row),
                         column=column)
    points = sites.geometry
    outside = v.outside_gb(points)
    for row in sites.index[outside]:
        problems.add(f"site {sites.at[row, 'site_id']!r} lies outside Great Britain", row=int(row), column=coordinates)
    if land is not None and not outside.all():
        distance = np.full(len(sites), np.inf)
        distance[~outside] = land_distance(points[~outside], land)
        for i in np.flatnonzero(~outside & (distance > LAND_TOLERANCE_M)):
            row = sites.index[i]
            problems.add(f"site {sites.at[row, 'site_id']!r} lies {distance[i] / 1000:,.0f} km off the land of the UK "
                         f"({Path(land).name}; at most {LAND_TOLERANCE_M / 1000:g} km allowed)",
                         row=int(row), column=coordinates)
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
        :data:`geodata.select.MAX_ISOLATION_M` from every other unit is an error.

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
    population = v.parse_numbers(table, "population", problems=problems, minimum=0)
    imd = v.parse_numbers(table, "imd_score", problems=problems) if "imd_score" in table else None
    x = v.parse_numbers(table, xy[0], problems=problems)
    y = v.parse_numbers(table, xy[1], problems=problems)
    problems.raise_if_any()
    names = table["name"].str.strip() if "name" in table else ids
    units = gpd.GeoDataFrame(
        {"unit_id": ids.to_numpy(), "name": names.where(names != "", ids).to_numpy(),
         "population": population.to_numpy(dtype=float)},
        geometry=gpd.points_from_xy(x.to_numpy(), y.to_numpy()), crs=crs,
    )
    if imd is not None:
        units.insert(3, "imd_score", imd.to_numpy(dtype=float))
    units = v.to_bng(units)
    rows = table.index.to_numpy()
    columns = f"{xy[0]}, {xy[1]}"
    outside = v.outside_gb(units.geometry)
    for i in np.flatnonzero(outside):
        problems.add(f"unit {ids.iloc[i]!r} at {x.iloc[i]:g}, {y.iloc[i]:g} lies outside Great Britain "
                     f"(are {' and '.join(xy)} exchanged?)", row=int(rows[i]), column=columns)
    if land is not None and not outside.all():
        distance = np.full(len(units), np.inf)
        distance[~outside] = land_distance(units.geometry[~outside], land)
        for i in np.flatnonzero(~outside & (distance > LAND_TOLERANCE_M)):
            problems.add(f"unit {ids.iloc[i]!r} lies {distance[i] / 1000:,.0f} km off the land of the UK "
                         f"({Path(land).name}; at most {LAND_TOLERANCE_M / 1000:g} km allowed)",
                         row=int(rows[i]), column=columns)
    if not problems:
        distance = isolation(units.geometry)
        for i in np.flatnonzero(distance > MAX_ISOLATION_M):
            problems.add(f"unit {ids.iloc[i]!r} lies {distance[i] / 1000:,.0f} km from the nearest other unit "
                         f"(at most {MAX_ISOLATION_M / 1000:g} km expected): a wrong coordinate?",
                         row=int(rows[i]), column=columns)
    problems.raise_if_any()
    logger.info("%s: %d units, %s people", path.name, len(units), f"{units['population'].sum():,.0f}")
    return units


def _gather_options(scenario: Scenario, root: Path, sites: gpd.GeoDataFrame, files: dict[str, Path]) -> pd.DataFrame:
    from geodata.errors import MissingFileError

    if not scenario.sites.options_file:
        return default_options(sites, scenario.sites.options)
    path = scenario.resolve(scenario.sites.options_file, root)
    files["options"] = path
    if not path.is_file():
        raise MissingFileError(path, what="hub options file")
    return read_options_file(path, known_sites=set(sites["site_id"]))


def read_options_file(path: Path, *, known_sites: set[str] | None = None) -> pd.DataFrame:
    """Read hub options (CSV: ``site_id, option, capital_cost[, capacity]``), every problem listed."""
    table = v.read_table(path, what="hub options file")
    v.check_columns(table, ["site_id", "option", "capital_cost"], file=path)
    v.require_rows(table, file=path, what="hub options")
    problems = ProblemCollector(path)
    frame = table.apply(lambda column: column.str.strip())
    cost = v.parse_numbers(frame, "capital_cost", problems=problems, minimum=0)
    capacity = (v.parse_numbers(frame, "capacity", problems=problems, minimum=0, allow_blank=True)
                if "capacity" in frame.columns else pd.Series(np.nan, index=frame.index))
    for row in frame.index[~frame["option"].isin(("reuse", "refurbish", "new_build"))]:
        problems.add(f"option must be reuse, refurbish or new_build, got {frame.at[row, 'option']!r}", row=int(row),
                     column="option")
    if known_sites is not None:
        for row in frame.index[~frame["site_id"].isin(known_sites)]:
            problems.add(f"unknown site {frame.at[row, 'site_id']!r}", row=int(row), column="site_id")
    for row in frame.index[frame.duplicated(["site_id", "option"], keep="first")]:
        problems.add(f"option given twice for site {frame.at[row, 'site_id']!r}", row=int(row), column="option")
    problems.raise_if_any()
    return pd.DataFrame({"site_id": frame["site_id"], "option": frame["option"], "capital_cost": cost,
                         "capacity": capacity}).reset_index(drop=True)


def _travel(
    scenario: Scenario,
    root: Path,
    files: dict[str, Path],
    origin_ids: list[str],
    origin_points: gpd.GeoSeries,
    sites: gpd.GeoDataFrame,
    practice_units: gpd.GeoDataFrame | None,
) -> tuple[str, str, np.ndarray, np.ndarray | None, np.ndarray | None, bool]:
    """Travel minutes from origins to sites.

    Returns the label, the source, the minutes (one row per origin, or per practice when
    the last value is true), the minutes from each practice's own location (fallback),
    and the mask of origins usable in a practice's patient-weighted mean.

    With ``practice_units`` the origins are the LSOAs where the practices' patients live.
    A user matrix may then be keyed by practice code (used as it is: every practice must
    be an origin) or by LSOA code (weighted like any other source; LSOAs missing from the
    matrix are left out of the means).
    """
    from geodata import travel as gt

    spec = scenario.travel
    site_ids = list(sites["site_id"])
    fallback = None
    area_ok = None
    if spec.source == "estimate":
        tt = gt.crow_fly_matrix(origin_points, sites.geometry, origin_ids=origin_ids, destination_ids=site_ids,
                                detour_factor=spec.detour_factor, speed_kph=spec.speed_kph)
        if practice_units is not None:
            fallback = gt.crow_fly_matrix(practice_units.geometry, sites.geometry,
                                          origin_ids=list(practice_units["unit_id"]), destination_ids=site_ids,
                                          detour_factor=spec.detour_factor, speed_kph=spec.speed_kph).minutes
        return tt.label, "estimate", np.asarray(tt.minutes), fallback, None, False
    if spec.source == "matrix":
        path = scenario.resolve(spec.matrix or "", root)
        files["travel_matrix"] = path
        if practice_units is None:
            tt = gt.read_travel_matrix(path, origin_ids=origin_ids, destination_ids=site_ids)
            return tt.label, "matrix", np.asarray(tt.minutes), None, None, False
        return _practice_matrix(path, list(practice_units["unit_id"]), origin_ids, site_ids)
    from geodata import network as gn

    path = scenario.resolve(spec.network or "", root)
    files["network"] = path
    if path.suffix.lower() == ".graphml":
        graph = gn.graph_from_graphml(path)
    else:
        graph = gn.graph_from_osm_file(path, mode=spec.mode)
    tt = gt.travel_time_matrix(graph, origin_points, sites.geometry, origin_ids=origin_ids, destination_ids=site_ids,
                               cutoff_min=spec.cutoff_min, max_snap_m=spec.max_snap_m)
    area_ok = np.asarray(tt.origin_snap_m) <= spec.max_snap_m if tt.origin_snap_m is not None else None
    if practice_units is not None:
        fallback = np.asarray(gt.travel_time_matrix(
            graph, practice_units.geometry, sites.geometry, origin_ids=list(practice_units["unit_id"]),
            destination_ids=site_ids, cutoff_min=spec.cutoff_min, max_snap_m=spec.max_snap_m).minutes)
    return f"{tt.label}: {tt.description}", "network", np.asarray(tt.minutes), fallback, area_ok, False


def _practice_matrix(
    path: Path, practice_ids: list[str], lsoa_ids: list[str], site_ids: list[str]
) -> tuple[str, str, np.ndarray, None, np.ndarray | None, bool]:
    """A user matrix for practice units: keyed by practice code, or by LSOA code (see :func:`_travel`)."""
    from geodata import travel as gt

    tt = gt.read_travel_matrix(path, destination_ids=site_ids)  # every origin of the file
    in_file = pd.Index([str(o) for o in tt.origin_ids])
    minutes = np.asarray(tt.minutes, dtype=float)
    rows = in_file.get_indexer(practice_ids)
    if (rows >= 0).any():
        missing = [p for p, r in zip(practice_ids, rows) if r < 0]
        if missing:
            raise InputDataError([DataProblem(
                str(path), f"the matrix is keyed by practice code but has no row for {len(missing)} practice(s) "
                f"of the selection: {v.few(missing)}", column="origin")])
        logger.info("%s: travel times keyed by practice code, used as they are", path.name)
        return tt.label, "matrix", minutes[rows], None, None, True
    rows = in_file.get_indexer(lsoa_ids)
    usable = rows >= 0
    if not usable.any():
        raise InputDataError([DataProblem(
            str(path), f"no origin id is a practice code of the selection ({v.few(practice_ids[:5])}...) or an LSOA "
            f"where their patients live ({v.few(lsoa_ids[:5])}...); the file's origins: {v.few(list(in_file[:5]))}",
            column="origin")])
    logger.info("%s: travel times keyed by LSOA: %d of the %d LSOAs where the practices' patients live",
                path.name, int(usable.sum()), len(lsoa_ids))
    by_lsoa = np.where(usable[:, None], minutes[np.maximum(rows, 0)], np.inf)
    return tt.label, "matrix", by_lsoa, None, usable, False


def _check_matrix_covers_practices(
    path: Path, units: pd.DataFrame, registrations: pd.DataFrame, lsoa_ids: list[str], usable: np.ndarray
) -> None:
    """Raise naming the practices none of whose patients' LSOAs is an origin of the matrix."""
    covered = set(np.asarray(lsoa_ids, dtype=object)[usable])
    served = set(registrations.loc[isin(registrations["lsoa_code"], covered), "practice_code"])
    lacking = [u for u in units["unit_id"] if u not in served]
    if lacking:
        raise InputDataError([DataProblem(
            str(path), f"no origin of the matrix is an LSOA where the patients of {len(lacking)} practice(s) live: "
            f"{v.few(lacking)} (add those LSOAs, or key the matrix by practice code)", column="origin")])


def build_demo(
    *,
    seed: int = 2009,
    unit_type: str = "practice",
    rules: Rules | None = None,
    objective: Objective | None = None,
) -> BuiltProblem:
    """The built-in demo district as a problem (see :func:`geodata.demo.make_demo`).

    Travel times are computed on the demo's own road network (drive). Practice units by
    default (the patient-weighted mean over the areas where each practice's patients
    live); ``unit_type="lsoa"`` plans the 150 small areas instead, with contiguity.
    """
    from geodata import travel as gt
    from geodata.demo import make_demo

    started = time.perf_counter()
    demo = make_demo(seed=seed)
    sites = demo.sites[SITE_COLUMNS].copy()
    area_points = gpd.GeoSeries(gpd.points_from_xy(demo.areas["centroid_x"], demo.areas["centroid_y"]), crs=BNG)
    area_ids = list(demo.areas["lsoa_code"])
    site_ids = list(sites["site_id"])
    tt = gt.travel_time_matrix(demo.graph, area_points, sites.geometry, origin_ids=area_ids,
                               destination_ids=site_ids, progress=False)
    label = f"{tt.label}: synthetic {tt.description}"
    areas = demo.areas.copy()
    if unit_type == "practice":
        units = demo.practices.rename(columns={"practice_code": "unit_id", "list_size": "population"})
        own = gt.travel_time_matrix(demo.graph, units.geometry, sites.geometry, origin_ids=list(units["unit_id"]),
                                    destination_ids=site_ids, progress=False)
        minutes, covered = practice_travel(list(units["unit_id"]), demo.registrations, area_ids,
                                           np.asarray(tt.minutes), fallback_minutes=np.asarray(own.minutes))
        units = units.assign(registrations_covered=covered)
        reg = demo.registrations.merge(areas[["lsoa_code", "imd_score"]], on="lsoa_code")
        imd = (reg["patients"] * reg["imd_score"]).groupby(reg["practice_code"]).sum() / reg.groupby("practice_code")["patients"].sum()
        units["imd_score"] = imd.reindex(units["unit_id"]).to_numpy()
        rules = rules or Rules()
    else:
        units = areas.rename(columns={"lsoa_code": "unit_id"})
        minutes = np.asarray(tt.minutes)
        rules = rules or Rules(contiguity=True)
    # the demo's costs are synthetic: placeholders like the built-in defaults
    problem = problem_from_frames(
        units, sites, demo.options.assign(placeholder=True), minutes, unit_type=unit_type, rules=rules,
        objective=objective, travel_source="network", travel_label=label,
    )
    boundary = demo.boundary.rename(columns={"code": "lad_code", "name": "lad_name"})
    return BuiltProblem(
        problem=problem, units=units, sites=sites, areas=areas,
        registrations=demo.registrations if unit_type == "practice" else None,
        boundaries=boundary, travel_description=label,
        input_files={f"built-in demo (seed {seed})": demo.fingerprint()}, load_s=time.perf_counter() - started,
    )
