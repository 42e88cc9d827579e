"""The built-in demo district as a problem (the synthetic data of :mod:`geodata.demo`)."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np

from catchment.frames import BuiltProblem, problem_from_frames
from catchment.problem import Objective, Rules
from catchment.readers import SITE_COLUMNS
from catchment.travel import practice_travel
from geodata.settings import BNG

__all__ = ["build_demo"]


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
    tt = gt.travel_time_matrix(
        demo.graph, area_points, sites.geometry, origin_ids=area_ids, destination_ids=site_ids, progress=False
    )
    label = f"{tt.label}: synthetic {tt.description}"
    areas = demo.areas.copy()
    if unit_type == "practice":
        units = demo.practices.rename(columns={"practice_code": "unit_id", "list_size": "population"})
        own = gt.travel_time_matrix(
            demo.graph,
            units.geometry,
            sites.geometry,
            origin_ids=list(units["unit_id"]),
            destination_ids=site_ids,
            progress=False,
        )
        minutes, covered = practice_travel(
            list(units["unit_id"]),
            demo.registrations,
            area_ids,
            np.asarray(tt.minutes),
            fallback_minutes=np.asarray(own.minutes),
        )
        units = units.assign(registrations_covered=covered)
        reg = demo.registrations.merge(areas[["lsoa_code", "imd_score"]], on="lsoa_code")
        imd = (reg["patients"] * reg["imd_score"]).groupby(reg["practice_code"]).sum() / reg.groupby("practice_code")[
            "patients"
        ].sum()
        units["imd_score"] = imd.reindex(units["unit_id"]).to_numpy()
        rules = rules or Rules()
    else:
        units = areas.rename(columns={"lsoa_code": "unit_id"})
        minutes = np.asarray(tt.minutes)
        rules = rules or Rules(contiguity=True)
    # the demo's costs are synthetic: placeholders like the built-in defaults
    problem = problem_from_frames(
        units,
        sites,
        demo.options.assign(placeholder=True),
        minutes,
        unit_type=unit_type,
        rules=rules,
        objective=objective,
        travel_source="network",
        travel_label=label,
    )
    boundary = demo.boundary.rename(columns={"code": "lad_code", "name": "lad_name"})
    return BuiltProblem(
        problem=problem,
        units=units,
        sites=sites,
        areas=areas,
        registrations=demo.registrations if unit_type == "practice" else None,
        boundaries=boundary,
        travel_description=label,
        input_files={f"built-in demo (seed {seed})": demo.fingerprint()},
        load_s=time.perf_counter() - started,
    )
