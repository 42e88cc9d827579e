"""The output folder: a contract other tools rely on.

Files (names and leading columns are fixed; more columns may follow):

* ``assignments.csv`` — unit_id, unit_type, polysystem_id, hub_site_id, population, travel_min
* ``polysystems.csv`` — polysystem_id, hub_site_id, hub_site_name, hub_type, hub_option,
  population, n_units, mean_travel_min, max_travel_min, capital_cost
* ``solution.json`` — status, proven_optimal, objective, bound, gap, solver, runtime_s,
  load_s, travel_source, the scenario parameters and a SHA-256 of every input file
* ``polysystems.gpkg`` — layers ``units``, ``polysystems`` (areas), ``hubs``, ``sites``

Everything is written into a temporary folder beside the target and renamed into place
at the end (:func:`atomic_output_dir`): a failed run leaves no partial files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from catchment.build import BuiltProblem
from catchment.metrics import assignments_frame, objective_terms, plan_summary, polysystems_frame
from catchment.plan import Plan
from geodata.settings import BNG

__all__ = [
    "atomic_output_dir",
    "polysystem_areas",
    "majority_areas",
    "write_outputs",
    "solution_record",
    "OUTPUT_FILES",
    "MIN_PATIENTS",
    "json_safe",
]

#: Practice mode: LSOAs with fewer patients registered at the plan's practices are not drawn
#: as part of a polysystem's area (a handful of patients who moved away would otherwise
#: spread every polysystem across the region). About 3% of Redbridge's patients.
MIN_PATIENTS = 100.0

OUTPUT_FILES = ("assignments.csv", "polysystems.csv", "solution.json", "polysystems.gpkg")


@contextlib.contextmanager
def atomic_output_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``target`` only if the block succeeds.

    The temporary folder sits beside ``target`` (same filesystem, so the final rename is
    atomic). An existing ``target`` is replaced only at the very end; on any error the
    temporary folder is removed and ``target`` is left exactly as it was.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield staging
        backup = None
        if target.exists():
            backup = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, backup)
        os.replace(staging, target)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def polysystem_areas(built: BuiltProblem, plan: Plan, *, min_patients: float = MIN_PATIENTS) -> gpd.GeoDataFrame:
    """Areas of each polysystem (EPSG:27700).

    LSOA units: the dissolved LSOA polygons. Practice units: each LSOA where at least
    ``min_patients`` of the practices' patients live takes the polysystem to which most of
    its registered patients belong (``share`` = that majority's fraction); LSOAs are then
    dissolved by polysystem.

    Returns
    -------
    GeoDataFrame
        ``polysystem_id``, ``hub_site_id``, ``population``, ``geometry`` (one row per
        polysystem), with ``method`` naming how the area was drawn.
    """
    ids = plan.polysystem_ids()
    problem = built.problem
    if problem.unit_type == "lsoa":
        units = built.units[["unit_id", "geometry"]].copy()
        units["hub_site_id"] = units["unit_id"].map(plan.assignment)
        method = "dissolved LSOA boundaries"
    else:
        if built.areas is None or built.registrations is None or len(built.areas) == 0:
            return gpd.GeoDataFrame(columns=["polysystem_id", "hub_site_id", "population", "method", "geometry"],
                                    geometry="geometry", crs=BNG)
        majority = majority_areas(built, plan)
        units = majority.loc[majority["registered"] >= min_patients, ["lsoa_code", "hub_site_id", "geometry"]]
        method = f"LSOAs by majority of registered patients (LSOAs with at least {min_patients:,.0f} patients)"
    dissolved = units.dissolve(by="hub_site_id", as_index=False)
    pop = pd.Series(problem.population, index=problem.unit_ids)
    totals = pop.groupby(pd.Series(plan.assignment)).sum()
    dissolved["polysystem_id"] = dissolved["hub_site_id"].map(ids)
    dissolved["population"] = dissolved["hub_site_id"].map(totals).astype(float)
    dissolved["method"] = method
    return dissolved[["polysystem_id", "hub_site_id", "population", "method", "geometry"]].sort_values(
        "polysystem_id").reset_index(drop=True)


def majority_areas(built: BuiltProblem, plan: Plan) -> gpd.GeoDataFrame:
    """Practice mode: each LSOA coloured by the polysystem most of its patients belong to.

    Returns the LSOA frame with ``hub_site_id``, ``polysystem_id``, ``share`` (0-1),
    ``patients`` (of the majority polysystem) and ``registered`` (all patients of the area
    registered at the plan's practices).
    """
    reg = built.registrations
    reg = reg.assign(hub_site_id=reg["practice_code"].map(plan.assignment)).dropna(subset=["hub_site_id"])
    by = reg.groupby(["lsoa_code", "hub_site_id"], as_index=False)["patients"].sum()
    totals = by.groupby("lsoa_code")["patients"].transform("sum")
    by["share"] = by["patients"] / totals
    by["registered"] = totals
    best = by.sort_values(["lsoa_code", "share", "hub_site_id"], ascending=[True, False, True]).drop_duplicates("lsoa_code")
    areas = built.areas.merge(best[["lsoa_code", "hub_site_id", "share", "patients", "registered"]], on="lsoa_code", how="inner")
    areas["polysystem_id"] = areas["hub_site_id"].map(plan.polysystem_ids())
    return areas


def json_safe(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, mappings keyed by text."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def solution_record(
    built: BuiltProblem, plan: Plan, *, scenario: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of ``solution.json``.

    ``timing``: the command's ``time_limit_s`` (the whole command), ``solve_time_limit_s``
    and ``time_limit_margin_s`` (see :mod:`catchment.timing`), written next to
    ``stopped_by_time_limit`` (True when the limit cut the search: a rerun may differ).
    """
    summary = plan_summary(built.problem, plan)
    return json_safe({
        "status": plan.status,
        "status_label": plan.status_label,
        "proven_optimal": plan.proven_optimal,
        "objective": plan.objective,
        "bound": plan.bound,
        "gap": plan.gap,
        "mip_gap_requested": plan.mip_gap,
        "solver": plan.solver,
        "runtime_s": plan.runtime_s,
        **{key: (timing or {}).get(key) for key in ("time_limit_s", "solve_time_limit_s", "time_limit_margin_s")},
        "stopped_by_time_limit": bool(plan.stats.get("stopped_by_time_limit", False)),
        "load_s": built.load_s,
        "travel_source": built.problem.travel_source,
        "travel_label": built.problem.travel_label,
        "objective_terms": objective_terms(built.problem, plan),
        "summary": summary,
        "notes": list(plan.notes),
        "solver_stats": dict(plan.stats),
        "problem": built.problem.describe(),
        "scenario": dict(scenario or {}),
        "input_files": dict(built.input_files),
    })


def write_outputs(
    folder: str | Path, built: BuiltProblem, plan: Plan, *, scenario: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the four contract files into ``folder`` (normally an :func:`atomic_output_dir`); ``timing``: see :func:`solution_record`."""
    folder = Path(folder)
    problem = built.problem
    paths = {name: folder / name for name in OUTPUT_FILES}
    assignments = assignments_frame(problem, plan)
    polysystems = polysystems_frame(problem, plan)
    assignments.to_csv(paths["assignments.csv"], index=False)
    polysystems.to_csv(paths["polysystems.csv"], index=False)
    paths["solution.json"].write_text(json.dumps(solution_record(built, plan, scenario=scenario, timing=timing), indent=2) + "\n")

    gpkg = paths["polysystems.gpkg"]
    units = built.units[["unit_id", "geometry"]].merge(assignments, on="unit_id", how="left")
    gpd.GeoDataFrame(units, geometry="geometry", crs=BNG).to_file(gpkg, layer="units", driver="GPKG")
    areas = polysystem_areas(built, plan)
    if len(areas):
        areas.to_file(gpkg, layer="polysystems", driver="GPKG")
    sites = built.sites.copy()
    sites["hub"] = sites["site_id"].isin(plan.hub_options)
    sites["hub_option"] = sites["site_id"].map(plan.hub_options)
    sites["polysystem_id"] = sites["site_id"].map(plan.polysystem_ids())
    sites.loc[sites["hub"]].to_file(gpkg, layer="hubs", driver="GPKG")
    sites.to_file(gpkg, layer="sites", driver="GPKG")
    return paths
