"""Project-wide settings: where the real data lives, the projected CRS, the cache folder, the cores."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BNG",
    "WGS84",
    "DATA_DIR_ENV",
    "EXTERNAL_DIR_ENV",
    "CACHE_DIR_ENV",
    "data_dir",
    "external_dir",
    "cache_dir",
    "usable_cores",
    "MAX_POPULATION",
    "MAX_DETOUR_FACTOR",
    "MIN_SPEED_KPH",
    "MAX_SPEED_KPH",
    "MAX_DISTANCE_M",
    "MAX_TRAVEL_MIN",
    "MAX_PARALLEL",
    "MAX_SITES",
    "is_count",
]

#: British National Grid: the projected CRS used for every distance (metres).
BNG = "EPSG:27700"
#: Longitude/latitude, as published by NHS Choices, ONS centroids and OpenStreetMap.
WGS84 = "EPSG:4326"

#: Environment variable naming the folder of real published data.
DATA_DIR_ENV = "CATCHMENT_DATA_DIR"
#: Environment variable naming the folder of published reference instances (known optima).
EXTERNAL_DIR_ENV = "CATCHMENT_EXTERNAL_DIR"
#: Environment variable naming the travel-time cache folder.
CACHE_DIR_ENV = "CATCHMENT_CACHE_DIR"

# Plausibility limits. A value of the right type can still be absurd (a population of 1e300,
# a speed of 1e-300 km/h): the solver then either overflows (HiGHS treats coefficients of
# 1e20 and above as infinite) or returns an "optimal" plan of nonsense. Each limit below is
# far beyond any real use, so that it refuses only typing and unit mistakes.

#: Most people a population figure may hold: a unit's population (any population column
#: read), a floor, a ceiling or a hub's capacity. The UK had 67.6 million people at mid-2022
#: (ONS), so no planning unit, polysystem or hub comes near 100 million.
MAX_POPULATION = 100_000_000
#: Largest detour factor (road distance / straight-line distance) of a crow-fly estimate.
#: Roads in Britain run about 1.2-1.6 times the straight line, and round an estuary or a
#: mountain rarely more than 3-4 times; 10 is beyond any road.
MAX_DETOUR_FACTOR = 10.0
#: Slowest and fastest average speed (km/h) of a crow-fly estimate: 1 km/h is slower than
#: any walk (about 5 km/h), 160 km/h (100 mph) faster than the UK motorway limit (70 mph,
#: 113 km/h). Outside them the times overflow or collapse to zero.
MIN_SPEED_KPH, MAX_SPEED_KPH = 1.0, 160.0
#: Longest distance (metres) a scenario may give (hospitals within, snap distance): 1,500 km,
#: more than the diagonal of the British National Grid (700 km x 1,300 km, about 1,476 km),
#: so a larger distance reaches nothing more.
MAX_DISTANCE_M = 1_500_000.0
#: Longest travel time (minutes) a scenario may give as a limit or a cut-off, or a travel-time
#: matrix file may hold (``inf`` marks an unreachable pair): a day. Land's End to John o'
#: Groats, the longest drive in Great Britain, takes about 14 hours.
MAX_TRAVEL_MIN = 24 * 60.0
#: Most threads or processes a setting may ask for: solver threads (``[solver] threads``),
#: worker processes (``[solver] workers``, ``--workers``, a local Dask cluster, the travel-time
#: searches). The largest servers have two 192-core processors, 768 hardware threads; a
#: larger count is a typing mistake, and would start that many processes or threads.
MAX_PARALLEL = 1024
#: Most candidate hub sites a count may name (``[solver] k_nearest``, ``[sites]
#: largest_practices``): England had 6,527 GP practices in January 2022 and NHS Choices lists
#: 1,234 hospital sites, so 100,000 is beyond the sites of any selection, the whole country too.
MAX_SITES = 100_000


def is_count(value: object, most: int) -> bool:
    """Whether ``value`` is a whole number from 1 to ``most`` (a bool is not a number here)."""
    return not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= most


_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Folder holding the real published data files.

    ``$CATCHMENT_DATA_DIR`` when set; otherwise ``../shared/data`` relative to the
    working directory, then relative to the project checkout.
    """
    return _shared_folder(DATA_DIR_ENV, "data")


def external_dir() -> Path:
    """Folder holding published reference instances with known optima (OR-Library).

    ``$CATCHMENT_EXTERNAL_DIR`` when set; otherwise ``../shared/external`` relative to the
    working directory, then relative to the project checkout.
    """
    return _shared_folder(EXTERNAL_DIR_ENV, "external")


def _shared_folder(env_name: str, name: str) -> Path:
    env = os.environ.get(env_name)
    if env:
        return Path(env).expanduser().resolve()
    for base in (Path.cwd(), _PROJECT_ROOT):
        candidate = (base / ".." / "shared" / name).resolve()
        if candidate.is_dir():
            return candidate
    return (_PROJECT_ROOT / ".." / "shared" / name).resolve()


def cache_dir() -> Path:
    """Folder for cached travel-time matrices (``$CATCHMENT_CACHE_DIR`` or ``~/.cache/catchment``)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "catchment"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; the CPU count where that is unknown).

    The one source of the default number of parallel workers, for worker processes
    (:mod:`solvers.distributed`) and travel-time search processes (:mod:`geodata.travel`) alike.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
