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
