"""Cache of built problems: what :func:`catchment.build.build_from_scenario` read and computed.

:func:`catchment.build.build_from_scenario` keeps what it built from the files (units,
sites, options, travel times, adjacency, map layers) in the on-disk cache of
:mod:`geodata.cache`. A second build of the same scenario on unchanged files reads a few
(Geo)Parquet tables and one ``.npz`` (tens of milliseconds) instead of parsing some 25 MB
of published files (about a second for a borough, two for London). The whole build is
cached rather than each reader's table: reading is only part of the cost (selection,
geocoding, the patient-weighted travel times and the polygon adjacency add to it), and a
hit is then a single lookup. Entries are checked against the SHA-256 of every input file,
so an edited or replaced file is always read again.

What the build reported about the data (Python warnings, and what the loggers of
:mod:`geodata` and :mod:`catchment` logged at WARNING or above) is stored with the entry and
reported again, the same way, when the entry is used: a rerun shows the same data problems.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from catchment.scenario import Scenario
from geodata.cache import hash_parts

__all__ = ["BUILD_CACHE_NAMESPACE", "BuiltData", "build_cache_key", "build_and_store", "load_built_data"]

logger = logging.getLogger(__name__)

#: Cache namespace (sub-folder of :func:`geodata.settings.cache_dir`) of built problems.
BUILD_CACHE_NAMESPACE = "built"
#: Bumped whenever what a cache entry of a built problem holds changes.
_BUILD_CACHE_VERSION = 3
#: The packages whose sources make up the cache key and whose loggers' warnings are stored.
_PACKAGES = ("geodata", "catchment")
#: Loggers of :data:`_PACKAGES` that report on the cache itself, not on the data: not stored.
_CACHE_LOGGERS = ("geodata.cache", __name__)
#: One build at a time in a process: :func:`warnings.catch_warnings` changes the process's
#: warning filters and ``showwarning``, so two builds in threads at once (the workbench serves
#: requests in threads) would record each other's warnings, or lose them when the first
#: build's exit restores the state the second one is recording with.
_BUILD_LOCK = threading.RLock()


@dataclass(frozen=True, eq=False)
class BuiltData:
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
    site_unit: Sequence[int | None] | None
    #: Units of the selection left out: ``unit_id``, ``name``, ``population``, ``reason``.
    dropped: pd.DataFrame
    #: Every input path (sorted) -> SHA-256 of its bytes, or ``None`` when it does not exist.
    inputs: dict[str, str | None]


@functools.cache
def _code_fingerprint() -> str:
    """SHA-256 of the sources of :mod:`geodata` and :mod:`catchment` and of library versions.

    Part of every cache key, so that an entry written by other loaders (an edited or
    upgraded checkout) is never used.
    """
    import pyarrow
    import pyproj

    parts: list[str | bytes] = [
        f"{module.__name__} {module.__version__}" for module in (np, pd, gpd, shapely, pyproj, pyarrow)
    ]
    for package in map(importlib.import_module, _PACKAGES):
        # both are regular packages (an __init__.py), so __file__ is never None
        for source in sorted(Path(cast(str, package.__file__)).parent.glob("*.py")):
            parts += [f"{package.__name__}/{source.name}", source.read_bytes()]
    return hash_parts(*parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} in a cache key")


def build_cache_key(scenario: Scenario, root: Path) -> str:
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
        # practices' territories and their adjacency are built only for contiguity
        "practice_contiguity": scenario.units.type == "practice" and scenario.rules.contiguity,
        "data": dict(scenario.data),
        "root": str(root.expanduser().resolve()),
    }
    text = json.dumps(content, sort_keys=True, default=_jsonable)
    return hash_parts("built-problem", text, _code_fingerprint())


def build_and_store(scenario: Scenario, key: str, build: Callable[[], BuiltData]) -> BuiltData:
    """Build (a cache miss), store the result with the warnings raised meanwhile, raise them.

    What the build logs at WARNING or above is logged as usual and stored with the entry too.
    Builds in other threads of the process wait for this one (:data:`_BUILD_LOCK`).
    """
    with _BUILD_LOCK:
        return _build_and_store(scenario, key, build)


def _build_and_store(scenario: Scenario, key: str, build: Callable[[], BuiltData]) -> BuiltData:
    recorder = _LogRecorder()
    for name in _PACKAGES:
        logging.getLogger(name).addHandler(recorder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = build()
    except BaseException:
        _reissue([_warning_record(w) for w in caught])
        raise
    finally:
        for name in _PACKAGES:
            logging.getLogger(name).removeHandler(recorder)
    records = [_warning_record(w) for w in caught]
    _store_built_data(key, scenario, data, records, recorder.records)
    _reissue(records)
    return data


def _store_built_data(
    key: str, scenario: Scenario, data: BuiltData, records: list[dict[str, Any]], logged: list[dict[str, Any]]
) -> None:
    from geodata.cache import save_entry

    frames: dict[str, pd.DataFrame] = {
        "units": data.units,
        "sites": data.sites,
        "options": data.options,
        "boundaries": data.boundaries,
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
        "logged": logged,
    }
    if save_entry(key, arrays=arrays, frames=frames, meta=meta, namespace=BUILD_CACHE_NAMESPACE):
        logger.info("built problem cached (%s): %d units x %d sites", key[:12], len(data.units), len(data.sites))


def load_built_data(key: str, scenario: Scenario) -> BuiltData | None:
    """The cached build under ``key`` if its input files are unchanged, else ``None``."""
    from geodata.cache import input_digest, load_entry

    entry = load_entry(key, namespace=BUILD_CACHE_NAMESPACE)
    if entry is None:
        logger.info("built-problem cache miss for %r (%s): reading the data files", scenario.name, key[:12])
        return None
    try:
        meta, frames, arrays = entry.meta, entry.frames, entry.arrays
        for path, digest in meta["inputs"].items():
            source = Path(path)
            try:
                now = input_digest(source)
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
        data = BuiltData(
            units=units,
            sites=frames["sites"],
            options=frames["options"],
            minutes=minutes,
            travel_source=str(meta["travel_source"]),
            description=str(meta["description"]),
            group_column=meta["group_column"],
            areas={"units": units, "areas": frames.get("areas")}.get(meta["areas"]),
            registrations=frames.get("registrations"),
            boundaries=frames["boundaries"],
            adjacency=adjacency,
            site_unit=site_unit,
            dropped=frames["dropped"],
            inputs=dict(meta["inputs"]),
        )
        records = [
            {
                "category": str(r["category"]),
                "message": str(r["message"]),
                "filename": str(r["filename"]),
                "lineno": int(r["lineno"]),
            }
            for r in meta["warnings"]
        ]
        logged = [
            {
                "logger": str(r["logger"]),
                "level": int(r["level"]),
                "message": str(r["message"]),
                "filename": str(r["filename"]),
                "lineno": int(r["lineno"]),
                "function": str(r["function"]),
            }
            for r in meta["logged"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("built-problem cache entry %s is damaged (%s); rebuilding", key[:12], exc)
        return None
    logger.info(
        "built problem for %r read from cache (%s): %d units x %d sites",
        scenario.name,
        key[:12],
        len(data.units),
        len(data.sites),
    )
    _relog(logged)
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


class _LogRecorder(logging.Handler):
    """Keeps what the loggers of :data:`_PACKAGES` log at WARNING or above in its own thread (not the cache's).

    Loggers are shared by the whole process: a build running in another thread at the same
    time (the workbench serves each request in a thread) logs to this recorder too, and its
    warnings are not about this build's data. A build does all its logging in its own thread
    (its only helpers are forked processes for the road searches, which log nothing), so the
    records of other threads are left out.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[dict[str, Any]] = []
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        # record.thread is None when logging.logThreads is off: emit runs in the logging thread
        thread = record.thread if record.thread is not None else threading.get_ident()
        if record.name in _CACHE_LOGGERS or thread != self.thread:
            return
        self.records.append(
            {
                "logger": record.name,
                "level": record.levelno,
                "message": record.getMessage(),
                "filename": record.pathname,
                "lineno": record.lineno,
                "function": record.funcName,
            }
        )


def _relog(records: list[dict[str, Any]]) -> None:
    """Log recorded messages again, by the logger, at the level and from the line that logged them."""
    for record in records:
        target = logging.getLogger(record["logger"])
        if target.isEnabledFor(record["level"]):
            target.handle(
                target.makeRecord(
                    target.name,
                    record["level"],
                    record["filename"],
                    record["lineno"],
                    record["message"],
                    (),
                    None,
                    func=record["function"],
                )
            )


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
        module = next((m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == filename), None)
        registry = module.__dict__.setdefault("__warningregistry__", {}) if module is not None else None
        warnings.warn_explicit(
            record["message"],
            category,
            filename,
            record["lineno"],
            module=module.__name__ if module is not None else None,
            registry=registry,
        )
