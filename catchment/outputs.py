"""The output folder: a contract other tools rely on.

Files (names and leading columns are fixed; more columns may follow):

* ``assignments.csv`` — unit_id, unit_type, polysystem_id, hub_site_id, population, travel_min
* ``polysystems.csv`` — polysystem_id, hub_site_id, hub_site_name, hub_type, hub_option,
  population, n_units, mean_travel_min, max_travel_min, capital_cost
* ``solution.json`` — status, proven_optimal, objective, bound, bounds (the LP and
  Lagrangian bounds and which certified the gap, when recorded), gap, solver, runtime_s,
  configured_polysystems (for a configuration's plan: each polysystem id -> the id the
  configuration gave it; the CSVs' ``configured_polysystem_id`` column),
  load_s, travel_source, the scenario parameters, a SHA-256 of every input file, and the
  provenance (:func:`provenance`: engine version, git commit, scenario file's SHA-256)
* ``polysystems.gpkg`` — layers ``units``, ``polysystems`` (areas), ``hubs``, ``sites``
* ``dropped.csv`` — unit_id, name, population, reason: the units of the selection left out
  of the problem (no coordinates, ...), which count in the coverage denominator; header
  only when there are none
* ``.catchment-output`` — the marker (:data:`MARKER`): the engine wrote this folder

Nothing a user owns is ever replaced: :func:`check_output_dir` (run before any long work)
accepts a new folder, an empty one or one the engine wrote (it holds the marker).
Everything is written into a staging folder beside the target and swapped into place at
the end (:func:`atomic_output_dir`): a failed, interrupted or killed run leaves no partial
files and keeps the earlier results.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import functools
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
import tomllib
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from catchment.build import BuiltProblem
from catchment.metrics import assignments_frame, objective_terms, plan_bounds_label, plan_summary, polysystems_frame
from catchment.plan import Plan
from catchment.problem import Problem
from catchment.territories import TERRITORY_COLUMN
from geodata.cache import file_digest
from geodata.errors import CatchmentError, OutputLocationError
from geodata.settings import BNG

__all__ = [
    "atomic_output_dir",
    "check_output_dir",
    "inputs_inside",
    "written_by_this_process",
    "MARKER",
    "LEFTOVER_WARNING",
    "ASSIGNMENTS_FILE",
    "plan_file_in",
    "ENGINE_NAME",
    "engine_info",
    "provenance",
    "polysystem_areas",
    "majority_areas",
    "drawn_areas",
    "write_outputs",
    "solution_record",
    "OUTPUT_FILES",
    "DROPPED_COLUMNS",
    "dropped_frame",
    "MIN_PATIENTS",
    "json_safe",
]

logger = logging.getLogger(__name__)

#: Practice mode: LSOAs with fewer patients registered at the plan's practices are not drawn
#: as part of a polysystem's area (a handful of patients who moved away would otherwise
#: spread every polysystem across the region). About 3% of Redbridge's patients.
MIN_PATIENTS = 100.0

#: The plan's unit-by-unit table: also a configuration that evaluate, compare and phase read.
ASSIGNMENTS_FILE = "assignments.csv"
OUTPUT_FILES = (ASSIGNMENTS_FILE, "polysystems.csv", "solution.json", "polysystems.gpkg", "dropped.csv")
#: Columns of ``dropped.csv``.
DROPPED_COLUMNS = ("unit_id", "name", "population", "reason")


@contextlib.contextmanager
def atomic_output_dir(target: str | Path) -> Iterator[Path]:
    """Yield a staging folder that replaces ``target`` only if the block succeeds.

    :func:`check_output_dir` runs first (the rule on what may be replaced, and the tidying
    of folders a killed run left). The staging folder ``.NAME.<pid>.tmp`` sits beside
    ``target`` (same filesystem, so renames are atomic) and holds the :data:`MARKER`
    from the start. At the end the earlier results are renamed to ``.NAME.old-<pid>``, the
    staging folder to ``NAME``, and the old folder is deleted: at every instant either
    the old or the new results exist under one of those names, and an interrupted swap is
    undone at once or, after a kill, by the next run (:func:`check_output_dir`). On any
    error the staging folder (and any parent folder created for it) is removed and
    ``target`` is left exactly as it was.

    Raises
    ------
    OutputLocationError
        If ``target`` may not be replaced, or writing fails because of the location (disk
        full, permission denied, read-only filesystem); the earlier results are intact.
    """
    target = check_output_dir(target)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if staging.exists():  # left by an earlier attempt of this very process
            shutil.rmtree(staging)
        staging.mkdir()
        _write_marker(staging)
    except OSError as exc:
        _discard(staging, created)
        raise _location_error(target, exc) from exc
    try:
        yield staging
        _swap(staging, target)
    except BaseException as exc:
        full = _disk_full(staging)  # before the staging folder frees its space
        _discard(staging, created)
        if full is not None and isinstance(exc, Exception) and not isinstance(exc, CatchmentError):
            raise _location_error(target, exc, reason=full) from exc
        if _location_problem(exc):
            raise _location_error(target, exc) from exc
        raise
    finally:  # this run is over: the next one names the leftovers again
        _leftovers_named.difference_update([p for p in _leftovers_named if p.parent == target.parent])


def check_output_dir(target: str | Path, *, inputs: Mapping[str, str | Path] | None = None) -> Path:
    """Check that the engine may write its results to ``target`` (before any long work).

    The engine replaces only a folder it wrote itself (it holds :data:`MARKER`) or an
    empty one, and never one holding an input of the command (replacing the folder would
    delete it). Folders a killed run of the engine left beside ``target`` are tidied first:
    a staging folder ``.NAME.<pid>.tmp`` of a process that no longer runs is deleted, and
    earlier results ``.NAME.old-<pid>`` moved aside by a run killed during its final swap
    are put back when ``NAME`` is missing (deleted otherwise). Only folders holding the
    marker are ever touched.

    Parameters
    ----------
    target
        The output folder (it need not exist).
    inputs
        The files (or folders) the command reads, each under the words that name it to the
        user (e.g. ``"--plan"``, ``"the scenario file"``).

    Returns
    -------
    Path
        ``target`` as an absolute path.

    Raises
    ------
    OutputLocationError
        If ``target`` is a file, a folder holding anything the engine did not write, or an
        input (:func:`inputs_inside`), or lies where no folder can be created (a parent is
        a file, or is not writable).
    """
    target = Path(target).expanduser().resolve()
    if target.parent == target:
        raise OutputLocationError(target, "the root of the filesystem cannot be an output folder")
    inside = inputs_inside(target, inputs or {})
    if inside:
        named = "; ".join(f"{words} {path}" for words, path in inside.items())
        raise OutputLocationError(
            target,
            f"holds an input of this command ({named}): the engine replaces the output folder as a whole, "
            "which would delete it. Nothing was written; choose another --out, or move the input out of the folder",
        )
    try:
        _check(target)
    except OSError as exc:  # e.g. a parent folder that cannot be searched
        raise OutputLocationError(target, f"cannot be used ({exc.strerror or exc}); nothing was written") from exc
    return target


def inputs_inside(target: str | Path, inputs: Mapping[str, str | Path]) -> dict[str, Path]:
    """The ``inputs`` (words -> path) that are the folder ``target`` or lie inside it.

    A path counts as inside when it does so as written (with its folders' symbolic links
    followed: the link itself would be deleted) or once fully resolved (its target would).

    Returns
    -------
    dict
        The words of each such input -> its path as given, in the order of ``inputs``.
    """
    target = Path(target).expanduser().resolve()
    found = {}
    for words, given in inputs.items():
        path = Path(os.path.abspath(Path(given).expanduser()))
        places = {path.resolve(), path.parent.resolve() / path.name}
        if any(place == target or target in place.parents for place in places):
            found[words] = Path(given)
    return found


def _check(target: Path) -> None:
    _tidy_stale(target)
    if target.exists() and not target.is_dir():
        raise OutputLocationError(target, "is a file, not a folder; nothing was written")
    # The results replace the folder as a whole (written beside it, then renamed into place):
    # a mount point cannot be renamed, and a shell whose current folder it is would be left
    # in a deleted folder.
    if target.is_dir() and os.path.ismount(target):
        raise OutputLocationError(
            target,
            "is a mount point: the engine writes its results beside the output folder and renames them into "
            "place, which a mount point does not allow. Nothing was written; choose a folder inside it, "
            f"e.g. --out {target / 'results'}",
        )
    cwd = Path.cwd().resolve()
    if cwd == target or target in cwd.parents:
        raise OutputLocationError(
            target,
            "is the current folder or holds it: the engine replaces the output folder as a whole, which "
            "would leave this shell in a deleted folder. Nothing was written; choose a new folder, e.g. "
            f"--out {cwd / 'results'}",
        )
    if target.is_dir():
        if not _engine_written(target) and any(target.iterdir()):
            raise OutputLocationError(
                target,
                f"holds files the engine did not write (there is no {MARKER} marker): the engine only "
                "replaces a folder it wrote itself or an empty one. Nothing was written and the folder is "
                "untouched; choose another --out, or empty the folder yourself",
            )
    ancestor = target.parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputLocationError(target, f"{ancestor} is a file, not a folder; nothing was written")
    try:  # a real probe: os.access is blind to read-only filesystems and to root
        os.rmdir(tempfile.mkdtemp(prefix=".catchment-probe-", dir=ancestor))
    except OSError as exc:
        raise OutputLocationError(
            target, f"no folder can be created in {ancestor} ({exc.strerror or exc}); nothing was written"
        ) from exc


#: Name of the marker file in every output folder: the engine replaces or tidies only
#: folders that hold it.
MARKER = ".catchment-output"
#: errno values meaning that the location cannot take the results (not an engine fault).
_LOCATION_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EFBIG,
        errno.ENAMETOOLONG,
        errno.ENOTDIR,
        errno.EIO,
        errno.EBUSY,
        errno.EXDEV,
    }
)
#: The same in the words of libraries that do not raise OSError (GDAL/SQLite writing a GeoPackage).
_LOCATION_TEXT = re.compile(
    r"no space left on device|disk is full|disk quota exceeded|read-only file system"
    r"|permission denied",
    re.IGNORECASE,
)
_STALE = r"^\.{name}\.(?:(?P<staging>\d+)\.tmp|old-(?P<old>\d+)(?:-\d+)?)$"


def _write_marker(folder: Path) -> None:
    marker = {
        "written_by": ENGINE_NAME,
        "version": engine_info()["version"],
        "pid": os.getpid(),
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def _engine_written(folder: Path) -> bool:
    """``folder`` holds the engine's marker."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("written_by") == ENGINE_NAME


def plan_file_in(folder: str | Path) -> Path | None:
    """The plan (:data:`ASSIGNMENTS_FILE`) of ``folder`` when it is an output folder of the engine, else None."""
    plan = Path(folder) / ASSIGNMENTS_FILE
    return plan if _engine_written(Path(folder)) and plan.is_file() else None


def written_by_this_process(folder: str | Path, *, since: float) -> bool:
    """``folder`` holds results this process wrote at or after ``since`` (seconds since the epoch)."""
    try:
        marker = json.loads((Path(folder) / MARKER).read_text())
        created = datetime.datetime.fromisoformat(marker["created_utc"]).timestamp()
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return marker.get("pid") == os.getpid() and created >= math.floor(since)


def _running(pid: int) -> bool:
    """Process ``pid`` runs (this process counts as not running: it is not writing now)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tidy_stale(target: Path) -> None:
    """Delete the engine's staging folders of dead runs; put back results a killed swap moved aside."""
    pattern = re.compile(_STALE.format(name=re.escape(target.name)))
    try:
        entries = sorted(target.parent.iterdir()) if target.parent.is_dir() else []
    except OSError:
        return
    for entry in entries:
        found = pattern.match(entry.name)
        if found is None or entry.is_symlink() or not entry.is_dir() or not _engine_written(entry):
            continue
        if _running(int(found["staging"] or found["old"])):
            continue
        try:
            if found["old"] and not target.exists() and not _discarded(entry):
                os.replace(entry, target)
                logger.warning(
                    "restored the earlier results %s from %s (a run was killed while replacing them)",
                    target,
                    entry.name,
                )
            else:
                failed = _delete_results(entry)
                if failed is None:
                    logger.info("removed %s, left by an earlier run", entry)
                else:
                    _name_leftover(entry, failed)
        except OSError as exc:
            _name_leftover(entry, exc)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back (this thread) while the results are swapped: the swap is not half-done."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, OSError, ValueError):
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _swap(staging: Path, target: Path) -> None:
    """Old results aside, new ones in, old ones deleted; undone at once if the second rename fails."""
    with _sigint_deferred():
        backup = None
        if target.exists():
            backup = _backup_name(target)
            os.replace(target, backup)
        try:
            os.replace(staging, target)
        except BaseException:
            if backup is not None:
                os.replace(backup, target)
            raise
        if backup is not None:
            failed = _delete_results(backup)
            if failed is not None:  # e.g. a folder inside made read-only: the new results are in place regardless
                _name_leftover(backup, failed)


#: The warning naming earlier results moved aside that could not all be deleted (the folder, why).
LEFTOVER_WARNING = (
    "the earlier results were moved aside to %s but could not all be deleted (%s); the new results are in "
    "place: delete that folder yourself"
)
#: Leftovers named in this run (:func:`check_output_dir` runs before the work and again before
#: writing): each is named once per run.
_leftovers_named: set[Path] = set()


def _name_leftover(folder: Path, exc: OSError) -> None:
    """Warn (once per run) that ``folder``, earlier results moved aside, could not be deleted."""
    if folder in _leftovers_named:
        return
    _leftovers_named.add(folder)
    logger.warning(LEFTOVER_WARNING, folder, exc.strerror or exc)


def _backup_name(target: Path) -> Path:
    """Where the earlier results go aside: ``.NAME.old-<pid>``, or ``-<n>`` added when that is taken.

    A leftover of this very process that could not be deleted may hold the name.
    """
    backup = target.with_name(f".{target.name}.old-{os.getpid()}")
    number = 0
    while backup.exists() or backup.is_symlink():
        number += 1
        backup = target.with_name(f".{target.name}.old-{os.getpid()}-{number}")
    return backup


#: Key of :data:`MARKER` set on earlier results being deleted: never to be put back.
_DISCARDED = "discarded"


def _discarded(folder: Path) -> bool:
    """``folder`` is earlier results the engine set out to delete (not a swap a kill interrupted)."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and bool(marker.get(_DISCARDED))


def _delete_results(folder: Path) -> OSError | None:
    """Delete a folder of the engine's results, its :data:`MARKER` last; the first error, or None.

    The marker is first flagged :data:`_DISCARDED`. What cannot be deleted (a folder inside
    made read-only) keeps the marker, so that a later run still recognises the leftover as
    the engine's, names it and deletes it once it can, and never puts it back as results.
    """
    failed: OSError | None = None
    marker = folder / MARKER
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(marker.read_text())
        if isinstance(record, dict) and not record.get(_DISCARDED):
            marker.write_text(json.dumps({**record, _DISCARDED: True}, indent=2) + "\n")
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        return exc
    for entry in entries:  # everything deletable goes, whatever fails first
        if entry.name == MARKER:
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            failed = failed or exc
    if failed is not None:
        return failed
    try:
        (folder / MARKER).unlink(missing_ok=True)
        folder.rmdir()
    except OSError as exc:
        return exc
    return None


def _discard(staging: Path, created: list[Path]) -> None:
    """Remove a staging folder and the (then empty) parent folders made for it."""
    shutil.rmtree(staging, ignore_errors=True)
    for folder in created:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            break


def _location_problem(exc: BaseException) -> bool:
    if isinstance(exc, CatchmentError) or not isinstance(exc, Exception):
        return False
    if isinstance(exc, OSError) and exc.errno in _LOCATION_ERRNOS:
        return True
    return bool(_LOCATION_TEXT.search(str(exc)))


#: Less free space than this where the results are written: a failed write is put down to
#: a full disk (GDAL and SQLite report a full disk as unrelated errors).
_FULL_BYTES = 1 << 20


def _disk_full(folder: Path) -> str | None:
    """Why the disk holding ``folder`` counts as full, or None."""
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
    except OSError:
        return None
    return f"the disk is full: {free / 1024:,.0f} kB free" if free < _FULL_BYTES else None


def _location_error(target: Path, exc: BaseException, *, reason: str | None = None) -> OutputLocationError:
    if reason is None and isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    reason = reason or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    where = "the earlier results there are intact" if target.exists() else "no folder was created"
    return OutputLocationError(target, f"the results could not be written ({reason}). Nothing was written; {where}")


# ---------------------------------------------------------------------------- provenance
#: The distribution's name (``pyproject.toml``); also written in :data:`MARKER`.
ENGINE_NAME = "catchment-planner"


@functools.lru_cache(maxsize=1)
def engine_info() -> dict[str, Any]:
    """The engine that wrote a result: version, git commit (when run from a checkout), Python.

    Returns
    -------
    dict
        ``name``, ``version`` (the checkout's ``pyproject.toml``, else the installed
        distribution's metadata), ``git_commit`` and ``git_dirty`` (``None`` when the
        package is not run from a git work tree; ``git_dirty`` is True when tracked files
        differ from the commit), ``python``.
    """
    root = Path(__file__).resolve().parent.parent
    commit, dirty = _git_state(root)
    return {
        "name": ENGINE_NAME,
        "version": _engine_version(root),
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
    }


def _engine_version(root: Path) -> str | None:
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
        if project.get("name") == ENGINE_NAME:
            return str(project["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return importlib.metadata.version(ENGINE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_state(root: Path) -> tuple[str | None, bool | None]:
    if not (root / ".git").exists():
        return None, None

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root:
            return None, None
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None, None


def provenance(*, scenario_file: str | Path | None = None, sweep_file: str | Path | None = None) -> dict[str, Any]:
    """What produced a result: the engine (:func:`engine_info`) and the SHA-256 of the files run.

    Parameters
    ----------
    scenario_file
        The scenario file (``None`` for the built-in demo: ``scenario_sha256`` is then ``None``).
    sweep_file
        The sweep file, for sweeps.

    Returns
    -------
    dict
        ``engine``, ``scenario_file``, ``scenario_sha256`` and, for sweeps, ``sweep_file``
        and ``sweep_sha256``.
    """
    record: dict[str, Any] = {"engine": dict(engine_info())}
    files = {"scenario": scenario_file} if sweep_file is None else {"scenario": scenario_file, "sweep": sweep_file}
    for key, path in files.items():
        is_file = path is not None and Path(path).is_file()
        record[f"{key}_file"] = None if path is None else str(path)
        # is_file implies path is not None
        record[f"{key}_sha256"] = file_digest(cast("str | Path", path), cache=False) if is_file else None
    return record


_provenance = provenance  # for functions whose keyword shadows the name


#: The last few dissolves of :func:`polysystem_areas`: (the problem, weakly held; the plan's
#: assignment, hubs and ``min_patients``; the areas). One output folder draws the same areas
#: for its GeoPackage, its maps and its GeoJSON; the workbench for its colours and outlines.
_AREAS_MEMO: list[tuple[weakref.ref[BuiltProblem], tuple[Any, ...], gpd.GeoDataFrame]] = []
_AREAS_MEMO_SIZE = 4


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
    key = (tuple(sorted(plan.assignment.items())), tuple(sorted(plan.hub_options)), min_patients)
    for ref, memo_key, areas in _AREAS_MEMO:
        if ref() is built and memo_key == key:
            return areas.copy()  # a copy: callers may add columns
    areas = _dissolved_areas(built, plan, min_patients=min_patients)
    _AREAS_MEMO.insert(0, (weakref.ref(built), key, areas.copy()))
    del _AREAS_MEMO[_AREAS_MEMO_SIZE:]
    return areas


def _dissolved_areas(built: BuiltProblem, plan: Plan, *, min_patients: float) -> gpd.GeoDataFrame:
    """:func:`polysystem_areas`, computed."""
    ids = plan.polysystem_ids()
    problem = built.problem
    if problem.unit_type == "lsoa":
        units = built.units[["unit_id", "geometry"]].copy()
        units["hub_site_id"] = units["unit_id"].map(plan.assignment)
        method = "dissolved LSOA boundaries"
    else:
        if built.areas is None or built.registrations is None or len(built.areas) == 0:
            return gpd.GeoDataFrame(
                columns=["polysystem_id", "hub_site_id", "population", "method", "geometry"],
                geometry="geometry",
                crs=BNG,
            )
        majority = majority_areas(built, plan)
        units = majority.loc[drawn_areas(majority, min_patients=min_patients), ["lsoa_code", "hub_site_id", "geometry"]]
        method = (
            "the union of the practices' territories (catchment.territories)"
            if TERRITORY_COLUMN in majority.columns
            else f"LSOAs by majority of registered patients (LSOAs with at least {min_patients:,.0f} patients)"
        )
    dissolved = units.dissolve(by="hub_site_id", as_index=False)
    pop = pd.Series(problem.population, index=problem.unit_ids)
    totals = pop.groupby(pd.Series(plan.assignment)).sum()
    dissolved["polysystem_id"] = dissolved["hub_site_id"].map(ids)
    dissolved["population"] = dissolved["hub_site_id"].map(totals).astype(float)
    dissolved["method"] = method
    return (
        dissolved[["polysystem_id", "hub_site_id", "population", "method", "geometry"]]
        .sort_values("polysystem_id")
        .reset_index(drop=True)
    )


def majority_areas(built: BuiltProblem, plan: Plan) -> gpd.GeoDataFrame:
    """Practice mode: each LSOA coloured by the polysystem most of its patients belong to.

    Returns the LSOA frame with ``hub_site_id``, ``polysystem_id``, ``share`` (0-1),
    ``patients`` (of the majority polysystem) and ``registered`` (all patients of the area
    registered at the plan's practices).
    """
    # practice mode with areas: every caller checks that the registrations and areas are present
    reg = cast(pd.DataFrame, built.registrations)
    areas_frame = cast(gpd.GeoDataFrame, built.areas)
    reg = reg.assign(hub_site_id=reg["practice_code"].map(plan.assignment)).dropna(subset=["hub_site_id"])
    # as_index=False makes the sum a frame; the pandas stubs type a selected column's sum as a Series
    by = cast(pd.DataFrame, reg.groupby(["lsoa_code", "hub_site_id"], as_index=False)["patients"].sum())
    totals = by.groupby("lsoa_code")["patients"].transform("sum")
    by["share"] = by["patients"] / totals
    by["registered"] = totals
    best = by.sort_values(["lsoa_code", "share", "hub_site_id"], ascending=[True, False, True]).drop_duplicates(
        "lsoa_code"
    )
    columns = ["lsoa_code", "hub_site_id", "share", "patients", "registered"]
    if TERRITORY_COLUMN in areas_frame.columns:
        # contiguous practices: each LSOA of the planning area is its territory practice's
        # (catchment.territories), so a polysystem is drawn as the union of its territories
        territory = areas_frame.loc[areas_frame[TERRITORY_COLUMN].notna()]
        territory = territory.assign(hub_site_id=territory[TERRITORY_COLUMN].map(plan.assignment))
        areas = territory.dropna(subset=["hub_site_id"]).merge(by[columns], on=["lsoa_code", "hub_site_id"], how="left")
        areas["registered"] = areas["lsoa_code"].map(by.groupby("lsoa_code")["patients"].sum()).fillna(0.0)
        areas[["share", "patients"]] = areas[["share", "patients"]].fillna(0.0)
    else:
        areas = areas_frame.merge(best[columns], on="lsoa_code", how="inner")
    areas["polysystem_id"] = areas["hub_site_id"].map(plan.polysystem_ids())
    return areas


def drawn_areas(areas: pd.DataFrame, *, min_patients: float) -> pd.Series:
    """Which LSOAs of :func:`majority_areas` are drawn: territories all, others from ``min_patients``."""
    keep = areas["registered"].to_numpy() >= min_patients
    if TERRITORY_COLUMN in areas.columns:
        keep |= areas[TERRITORY_COLUMN].notna().to_numpy()
    return pd.Series(keep, index=areas.index)


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
    built: BuiltProblem,
    plan: Plan,
    *,
    scenario: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of ``solution.json``.

    ``provenance`` (:func:`provenance`) defaults to the one of the scenario record's
    ``file`` (and ``sweep_file``) keys, read now.

    ``timing``: the command's ``time_limit_s`` (the whole command), ``solve_time_limit_s``
    and ``time_limit_margin_s`` (see :mod:`catchment.timing`), written next to
    ``stopped_by_time_limit`` (True when the limit cut the search: a rerun may differ).
    """
    summary = plan_summary(built.problem, plan)
    if provenance is None:
        scenario_ = scenario or {}
        provenance = _provenance(scenario_file=scenario_.get("file"), sweep_file=scenario_.get("sweep_file"))
    return json_safe(
        {
            "status": plan.status,
            "status_label": plan.status_label,
            "proven_optimal": plan.proven_optimal,
            "objective": plan.objective,
            "bound": plan.bound,
            "bounds": plan.stats.get("bounds"),
            "bounds_label": plan_bounds_label(built.problem, plan),
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
            "violations": [{"rule": v.rule, "message": v.message, "ids": list(v.ids)} for v in plan.violations],
            "configured_polysystems": summary["configured_polysystems"],
            "coverage": summary["coverage"],
            "coverage_text": summary["coverage_text"],
            "capital_costs_source": summary["capital_costs_source"],
            "capital_costs_note": summary["capital_costs_note"],
            "summary": summary,
            "notes": list(plan.notes),
            "solver_stats": dict(plan.stats),
            "problem": built.problem.describe(),
            "scenario": dict(scenario or {}),
            "input_files": dict(built.input_files),
            **dict(provenance),
        }
    )


def dropped_frame(problem: Problem) -> pd.DataFrame:
    """The units of the selection left out of the problem (``dropped.csv``)."""
    return pd.DataFrame(
        [(d.unit_id, d.name, d.population, d.reason) for d in problem.dropped], columns=list(DROPPED_COLUMNS)
    )


def write_outputs(
    folder: str | Path,
    built: BuiltProblem,
    plan: Plan,
    *,
    scenario: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the contract files into ``folder`` (normally an :func:`atomic_output_dir`).

    ``scenario``, ``provenance`` and ``timing`` go to ``solution.json`` (:func:`solution_record`).
    """
    folder = Path(folder)
    problem = built.problem
    paths = {name: folder / name for name in OUTPUT_FILES}
    assignments = assignments_frame(problem, plan)
    polysystems = polysystems_frame(problem, plan)
    assignments.to_csv(paths["assignments.csv"], index=False)
    polysystems.to_csv(paths["polysystems.csv"], index=False)
    paths["solution.json"].write_text(
        json.dumps(solution_record(built, plan, scenario=scenario, provenance=provenance, timing=timing), indent=2)
        + "\n"
    )
    dropped_frame(problem).to_csv(paths["dropped.csv"], index=False)

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
