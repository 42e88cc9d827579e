"""Benchmark instances: real study areas built from the published data, and a synthetic ladder.

Every instance is a :class:`catchment.problem.Problem` built the way a user's scenario is
built (through :func:`catchment.build.build_from_scenario` or
:func:`catchment.build.problem_from_frames`), so that the benchmark times the code people
run. Building is quick (a few seconds for all of London), so nothing is cached: every
process that needs an instance builds it and reports how long that took.

Real instances (files under :func:`geodata.settings.data_dir`):

``redbridge-practices``
    ``scenarios/redbridge.toml``: the 42 practices of NHS Redbridge CCG, floor 50,000.
``redbridge-lsoa``
    ``scenarios/redbridge-lsoa.toml``: the 161 LSOAs of Redbridge, contiguous, floor 50,000.
``london-practices``
    Every open GP practice inside the 33 London boroughs (union of the 2022 borough
    boundaries), floor 50,000; candidate hubs: NHS hospital sites within 2 km of the
    practices' area and the 200 largest practices. A practice's travel to a hub is the
    patient-weighted mean, over the LSOAs where its patients live, of a crow-fly estimate
    (no road network of London is available offline).
``london-lsoa``
    All 4,835 London LSOAs (2011), contiguous, floor 50,000; hubs from NHS hospital sites
    within 2 km of London and the 200 largest London practices; crow-fly estimate.

Synthetic instances (``synthetic-1k``, ``synthetic-5k``, ``synthetic-20k``) are seeded:
practice-like units clustered in towns on a plane, with list sizes drawn from a log-normal
distribution, one candidate hub site per ten units and crow-fly travel estimates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np

from catchment.build import build_from_scenario, default_options, problem_from_frames
from catchment.problem import Objective, Problem, Rules
from catchment.scenario import Scenario, parse_scenario, read_scenario
from geodata.settings import BNG
from geodata.travel import crow_fly_matrix

__all__ = [
    "Instance",
    "BuiltInstance",
    "INSTANCES",
    "instance_names",
    "build_instance",
    "london_scenario",
    "synthetic_problem",
]

logger = logging.getLogger(__name__)

_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
#: The 33 London boroughs (2022 boundaries), relative to the data folder.
LONDON_BOROUGHS = "london/lad22-boundaries-gen20.gpkg"
#: Candidate hubs at London scale: the largest practices, and NHS hospitals this close.
LONDON_LARGEST_PRACTICES = 200
LONDON_HOSPITALS_WITHIN_M = 2000.0
FLOOR = 50_000.0


@dataclass(frozen=True)
class Instance:
    """A named benchmark instance.

    Parameters
    ----------
    name
        Name used on the command line.
    description
        One line saying what it is and where its data come from.
    kind
        ``"real"`` (published data) or ``"synthetic"`` (seeded generator).
    time_limit
        Default solver time limit (seconds) for the benchmark run.
    builder
        Builds the problem; takes the data folder (``None`` = default).
    mip_gap
        Default relative gap: 0.01% for the small instances (proven optimal), 1% for the
        London and synthetic ones (the goal is a 1% gap within the time limit, so the
        solvers stop once they prove it).
    """

    name: str
    description: str
    kind: str
    time_limit: float
    builder: Callable[[Path | None], Problem]
    mip_gap: float = 1e-4


@dataclass(frozen=True)
class BuiltInstance:
    """An instance's problem and how long it took to build.

    Parameters
    ----------
    instance
        The instance.
    problem
        The problem, ready to solve.
    build_s
        Wall-clock seconds spent reading the data and building the problem.
    """

    instance: Instance
    problem: Problem
    build_s: float

    def describe(self) -> dict[str, Any]:
        """Plain-data summary: sizes, rules and the source of the travel times."""
        p = self.problem
        return {
            "instance": self.instance.name,
            "description": self.instance.description,
            "kind": self.instance.kind,
            "unit_type": p.unit_type,
            "units": p.n_units,
            "sites": p.n_sites,
            "pairs": p.n_units * p.n_sites,
            "population": p.total_population,
            "floor": p.rules.floor,
            "contiguity": p.rules.contiguity,
            "adjacent_pairs": len(p.adjacency or ()),
            "travel": p.travel_label,
        }


# ---------------------------------------------------------------------------- real data
def london_scenario(unit_type: str) -> Scenario:
    """The London-wide scenario for ``"practice"`` or ``"lsoa"`` units.

    Parameters
    ----------
    unit_type
        ``"practice"`` (all London practices) or ``"lsoa"`` (all London LSOAs, contiguous).

    Returns
    -------
    Scenario
        Units inside the 33 London boroughs, floor 50,000, hubs at NHS hospital sites within
        2 km and at the 200 largest practices, crow-fly travel estimate.
    """
    if unit_type not in ("practice", "lsoa"):
        raise ValueError(f"unit_type must be 'practice' or 'lsoa', got {unit_type!r}")
    raw = {
        "scenario": {"name": f"London {'practices' if unit_type == 'practice' else 'LSOAs'} (33 boroughs)"},
        "units": {"type": unit_type, "polygon": LONDON_BOROUGHS},
        "sites": {
            "hospitals_within_m": LONDON_HOSPITALS_WITHIN_M,
            "hospital_sector": "NHS",
            "largest_practices": LONDON_LARGEST_PRACTICES,
        },
        "travel": {"source": "estimate"},
        "rules": {"floor": FLOOR, "contiguity": unit_type == "lsoa"},
        "objective": {"mean_travel": 1.0},
    }
    return parse_scenario(raw, source=f"<bench london-{unit_type}>")


def _from_scenario(scenario: Callable[[], Scenario]) -> Callable[[Path | None], Problem]:
    def build(data_dir: Path | None) -> Problem:
        return build_from_scenario(scenario(), data_dir=data_dir).problem

    return build


def _scenario_file(name: str) -> Callable[[], Scenario]:
    return lambda: read_scenario(_SCENARIOS / name)


# ---------------------------------------------------------------------------- synthetic
def synthetic_problem(
    n_units: int,
    *,
    seed: int = 0,
    units_per_site: int = 10,
    floor: float = FLOOR,
    median_list: float = 6_000.0,
    km2_per_unit: float = 1.3,
) -> Problem:
    """A seeded practice-like problem on a plane.

    Units (practices) sit in towns: about one town per 40 units, each a Gaussian cluster
    of 1.5-4 km spread, plus a fifth of the units scattered uniformly; the square's area
    gives ``km2_per_unit`` square kilometres per unit (London: about 1.3). List sizes are
    log-normal around ``median_list``. Candidate hub sites are ``n_units // units_per_site``
    units drawn with probability proportional to list size (large practices); one in
    five is a hospital site. Travel times are the crow-fly estimate (x1.3 at 25 km/h).

    Parameters
    ----------
    n_units
        Number of units (at least ``units_per_site``).
    seed
        Random seed: the same seed gives the same problem.
    units_per_site
        Units per candidate hub site.
    floor
        Minimum population of a polysystem.
    median_list
        Median list size of a unit.
    km2_per_unit
        Area of the plane per unit (square kilometres).

    Returns
    -------
    Problem
        Unit type ``"practice"``, objective ``mean_travel``.

    Raises
    ------
    ValueError
        If ``n_units`` is smaller than ``units_per_site``.
    """
    if n_units < units_per_site or units_per_site < 1:
        raise ValueError(f"need n_units >= units_per_site >= 1, got {n_units} and {units_per_site}")
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n_units * km2_per_unit)) * 1000.0
    n_towns = max(3, n_units // 40)
    centres = rng.uniform(0.1 * side, 0.9 * side, size=(n_towns, 2))
    spread = rng.uniform(1500.0, 4000.0, size=n_towns)
    share = rng.pareto(1.5, size=n_towns) + 1.0
    town = rng.choice(n_towns, size=n_units, p=share / share.sum())
    xy = centres[town] + rng.normal(size=(n_units, 2)) * spread[town, None]
    scattered = rng.random(n_units) < 0.2
    xy[scattered] = rng.uniform(0.0, side, size=(int(scattered.sum()), 2))
    xy = np.clip(xy, 0.0, side) + np.array([500_000.0, 150_000.0])
    population = np.maximum(500, np.round(rng.lognormal(np.log(median_list), 0.55, size=n_units)))

    width = len(str(n_units))
    units = gpd.GeoDataFrame(
        {"unit_id": [f"U{i:0{width}d}" for i in range(n_units)], "population": population},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=BNG,
    )
    n_sites = n_units // units_per_site
    hosts = np.sort(rng.choice(n_units, size=n_sites, replace=False, p=population / population.sum()))
    site_types = np.where(rng.random(n_sites) < 0.2, "hospital", "community")
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{units['unit_id'].iat[h][1:]}" for h in hosts],
            "name": [
                f"synthetic {t} site at {units['unit_id'].iat[h]}" for h, t in zip(hosts, site_types, strict=True)
            ],
            "site_type": site_types,
            "status": "candidate",
        },
        geometry=units.geometry.iloc[hosts].to_numpy(),
        crs=BNG,
    )
    travel = crow_fly_matrix(
        units.geometry, sites.geometry, origin_ids=list(units["unit_id"]), destination_ids=list(sites["site_id"])
    )
    return problem_from_frames(
        units,
        sites,
        default_options(sites),
        np.asarray(travel.minutes),
        unit_type="practice",
        rules=Rules(floor=floor),
        objective=Objective({"mean_travel": 1.0}),
        travel_source="estimate",
        travel_label=f"{travel.label}: synthetic plane (seed {seed})",
        name_column=None,
        deprivation_column=None,
    )


def _synthetic(n_units: int, seed: int) -> Callable[[Path | None], Problem]:
    return lambda _data_dir: synthetic_problem(n_units, seed=seed)


# ---------------------------------------------------------------------------- registry
_ALL = (
    Instance(
        "redbridge-practices",
        "NHS Redbridge CCG (08N): 42 practices, floor 50,000, crow-fly estimate (scenarios/redbridge.toml)",
        "real",
        60.0,
        _from_scenario(_scenario_file("redbridge.toml")),
    ),
    Instance(
        "redbridge-lsoa",
        "Redbridge (E09000026): 161 LSOAs, contiguous, floor 50,000, crow-fly estimate (scenarios/redbridge-lsoa.toml)",
        "real",
        120.0,
        _from_scenario(_scenario_file("redbridge-lsoa.toml")),
    ),
    Instance(
        "london-practices",
        "All GP practices in the 33 London boroughs, floor 50,000; hubs: NHS hospitals "
        "within 2 km + 200 largest practices; patient-weighted crow-fly estimate (no London road network "
        "offline)",
        "real",
        120.0,
        _from_scenario(lambda: london_scenario("practice")),
        0.01,
    ),
    Instance(
        "london-lsoa",
        "All 4,835 London LSOAs (2011), contiguous, floor 50,000; hubs: NHS hospitals within "
        "2 km + 200 largest practices; crow-fly estimate (no London road network offline)",
        "real",
        600.0,
        _from_scenario(lambda: london_scenario("lsoa")),
        0.01,
    ),
    Instance(
        "synthetic-1k",
        "Synthetic: 1,000 practice-like units in towns on a plane, 100 sites, floor 50,000 (seed 1)",
        "synthetic",
        120.0,
        _synthetic(1_000, 1),
        0.01,
    ),
    Instance(
        "synthetic-5k",
        "Synthetic: 5,000 practice-like units in towns on a plane, 500 sites, floor 50,000 (seed 5)",
        "synthetic",
        300.0,
        _synthetic(5_000, 5),
        0.01,
    ),
    Instance(
        "synthetic-20k",
        "Synthetic: 20,000 practice-like units in towns on a plane, 2,000 sites, floor 50,000 (seed 20)",
        "synthetic",
        600.0,
        _synthetic(20_000, 20),
        0.01,
    ),
)

#: Every instance by name, smallest first.
INSTANCES: Mapping[str, Instance] = MappingProxyType({i.name: i for i in _ALL})


def instance_names() -> list[str]:
    """Names of all instances, smallest first."""
    return list(INSTANCES)


def build_instance(name: str, *, data_dir: str | Path | None = None) -> BuiltInstance:
    """Build one instance and time it.

    Parameters
    ----------
    name
        One of :func:`instance_names`.
    data_dir
        Folder of the real data (default :func:`geodata.settings.data_dir`).

    Returns
    -------
    BuiltInstance

    Raises
    ------
    KeyError
        If the name is unknown (the message lists the known names).
    MissingFileError, InputDataError
        If the data of a real instance cannot be read.
    """
    if name not in INSTANCES:
        raise KeyError(f"unknown instance {name!r}; choose from {', '.join(INSTANCES)}")
    instance = INSTANCES[name]
    started = time.perf_counter()
    problem = instance.builder(Path(data_dir) if data_dir is not None else None)
    build_s = time.perf_counter() - started
    logger.info("%s: %d units x %d sites built in %.1f s", name, problem.n_units, problem.n_sites, build_s)
    return BuiltInstance(instance=instance, problem=problem, build_s=build_s)
