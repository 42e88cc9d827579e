"""Scenario sweeps: a grid of rule variants around one base scenario (TOML schema).

A sweep file names a base scenario and, in ``[grid]``, the values to try for each axis; the
sweep is the Cartesian product of the axes, in the order of :data:`GRID_AXES`. Every problem
is reported together, each naming the file and the key.

.. code-block:: toml

    [sweep]
    name = "Redbridge: floor x polysystems x budget"
    base = "redbridge.toml"      # scenario file, relative to this file; or "demo"
    time_limit = 60              # seconds per plan (default: the base scenario's)
    maps = true                  # map.html / report.html / map.png in every plan folder

    [grid]
    floor = {start = 30000, stop = 60000, step = 10000}   # or a list [30000, 50000]
    polysystems = ["free", 5, [5, 7]]   # "free", an exact count or [min, max]
    max_travel_min = ["none", 12]       # "none" = no travel limit
    budget = ["none", 2000000]          # GBP; "none" = no capital budget
    mode = ["drive", "walk"]            # rebuilds travel times: network scenarios only

Axes left out keep the base scenario's value. The ``mode`` axis needs travel times on a
road network (``[travel] source = "network"``); for a scenario with an estimate or a user
matrix, or for the built-in demo, the axis is reported as not applicable and not expanded.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from catchment.build import BuiltProblem, build_demo, build_from_scenario
from catchment.problem import MAX_GBP, Problem, Rules
from catchment.scenario import Scenario, read_toml, unknown_keys
from catchment.settings import TIME_LIMIT_RANGE, is_time_limit
from geodata.errors import ScenarioError
from geodata.settings import MAX_POPULATION, MAX_TRAVEL_MIN

__all__ = [
    "GRID_AXES",
    "FREE",
    "NONE",
    "DEMO",
    "SweepSpec",
    "SweepPoint",
    "read_sweep",
    "parse_sweep",
    "apply_point",
    "format_value",
    "sweep_bases",
]

logger = logging.getLogger(__name__)

#: Axes of a sweep grid, in the order the points are enumerated.
GRID_AXES = ("floor", "polysystems", "max_travel_min", "budget", "mode")
#: Grid value meaning "no bound on the number of polysystems".
FREE = "free"
#: Grid value meaning "no travel limit" / "no capital budget".
NONE = "none"
#: ``base`` value naming the built-in demo district.
DEMO = "demo"
_MODES = ("drive", "walk")
_MAX_POINTS = 10_000


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: the rule values that differ from the base scenario.

    Attributes
    ----------
    plan_id : str
        ``P001``, ``P002``, ... in grid order (the folder ``plans/<plan_id>/``).
    params : Mapping[str, Any]
        Axis -> value for every axis of the grid: ``floor`` (float),
        ``polysystems`` (``(min, max)``, ``None`` for free), ``max_travel_min`` and ``budget``
        (float or ``None`` for none), ``mode`` (str).
    """

    plan_id: str
    params: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def label(self) -> str:
        """``floor=40,000, polysystems=5-7, budget=none``: the parameters in words."""
        return ", ".join(f"{axis}={format_value(axis, value)}" for axis, value in self.params.items())


def format_value(axis: str, value: Any) -> str:
    """A grid value in words (``free``, ``none``, ``5-7``, ``40,000``)."""
    if axis == "polysystems":
        lo, hi = value
        if lo is None and hi is None:
            return FREE
        if lo == hi:
            return str(lo)
        return f"{lo if lo is not None else ''}-{hi if hi is not None else ''}"
    if value is None:
        return NONE
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,g}"
    return str(value)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file.

    Attributes
    ----------
    name : str
    path : Path or None
        The sweep file.
    base : str
        The base scenario file (resolved against the sweep file's folder) or ``"demo"``.
    axes : Mapping[str, tuple]
        Axis -> values, in :data:`GRID_AXES` order, only the axes the file gives.
    time_limit : float or None
        Seconds per plan (``None``: the base scenario's).
    maps : bool
        Draw the maps of every plan.
    """

    name: str
    path: Path | None
    base: str
    axes: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    time_limit: float | None = None
    maps: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "axes", MappingProxyType({a: tuple(v) for a, v in self.axes.items()}))

    @property
    def base_is_demo(self) -> bool:
        """Whether the base is the built-in demo district rather than a scenario file."""
        return self.base == DEMO

    def points(self, *, skip_axes: tuple[str, ...] = ()) -> list[SweepPoint]:
        """The grid points (Cartesian product), axes in ``skip_axes`` left out."""
        axes = [a for a in self.axes if a not in skip_axes]
        combos = itertools.product(*(self.axes[a] for a in axes))
        width = max(3, len(str(self.size())))
        return [
            SweepPoint(f"P{k:0{width}d}", dict(zip(axes, combo, strict=True)))
            for k, combo in enumerate(combos, start=1)
        ]

    def size(self) -> int:
        """Number of grid points with every axis expanded."""
        return math.prod(len(v) for v in self.axes.values()) if self.axes else 1


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep TOML file.

    Parameters
    ----------
    path
        The sweep file.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ScenarioError
        Listing every problem, each naming the file and the key.
    """
    path = Path(path)
    return parse_sweep(read_toml(path, what="sweep"), source=str(path), path=path)


def parse_sweep(raw: Mapping[str, Any], *, source: str = "<sweep>", path: Path | None = None) -> SweepSpec:
    """Validate a sweep given as a mapping (parsed TOML); see :func:`read_sweep`."""
    problems: list[str] = []
    if not {"sweep", "grid"} & set(raw) and {"units", "rules"} & set(raw):  # a scenario given as a sweep
        raise ScenarioError(
            [
                f"{source}: a scenario file, not a sweep ([sweep] base and [grid]): run it with "
                f"`python optimise.py run {source}`, or name it as the base of a sweep file"
            ]
        )
    unknown = sorted(set(raw) - {"sweep", "grid"})
    if unknown:
        problems.append(unknown_keys(source, "", unknown, {"grid", "sweep"}, what="section(s)"))
    meta = _table(raw, "sweep", {"name", "base", "time_limit", "maps"}, source, problems)
    grid = _table(raw, "grid", set(GRID_AXES), source, problems)

    name = meta.get("name", path.stem if path else "sweep")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{source}: [sweep] name must be a non-empty text, got {name!r}")
    base = meta.get("base")
    if not isinstance(base, str) or not base.strip():
        problems.append(f'{source}: [sweep] base must name the base scenario file (or "demo"), got {base!r}')
        base = ""
    elif base != DEMO:
        base_path = Path(base).expanduser()
        if not base_path.is_absolute() and path is not None:
            base_path = path.parent / base_path
        if not base_path.is_file():
            problems.append(f"{source}: [sweep] base scenario file not found: {base_path}")
        base = str(base_path)
    time_limit = meta.get("time_limit")
    if time_limit is not None and not is_time_limit(time_limit):
        problems.append(f"{source}: [sweep] time_limit must be {TIME_LIMIT_RANGE}, got {time_limit!r}")
        time_limit = None
    maps = meta.get("maps", True)
    if not isinstance(maps, bool):
        problems.append(f"{source}: [sweep] maps must be true or false, got {maps!r}")
        maps = True

    axes: dict[str, tuple[Any, ...]] = {}
    for axis in GRID_AXES:
        if axis not in grid:
            continue
        values = _axis_values(axis, grid[axis], f"{source}: [grid] {axis}", problems)
        if values is None:
            continue
        if not values:
            problems.append(f"{source}: [grid] {axis} needs at least one value")
            continue
        duplicated = sorted({format_value(axis, v) for v in values if values.count(v) > 1})
        if duplicated:
            problems.append(f"{source}: [grid] {axis} repeats value(s) {', '.join(duplicated)}")
        axes[axis] = tuple(values)
    if not axes and not problems:
        problems.append(f"{source}: [grid] gives no axis to sweep; use {', '.join(GRID_AXES)}")
    size = math.prod(len(v) for v in axes.values()) if axes else 0
    if size > _MAX_POINTS:
        problems.append(f"{source}: [grid] has {size:,} points, more than {_MAX_POINTS:,}; split the sweep")
    if problems:
        raise ScenarioError(problems)
    return SweepSpec(
        name=str(name),
        path=path,
        base=str(base),
        axes=axes,
        time_limit=None if time_limit is None else float(time_limit),
        maps=maps,
    )


def _table(raw: Mapping[str, Any], key: str, allowed: set[str], source: str, problems: list[str]) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"{source}: [{key}] must be a table")
        return {}
    extra = sorted(set(value) - allowed)
    if extra:
        problems.append(unknown_keys(source, f"[{key}] has ", extra, allowed))
    return value


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _axis_values(axis: str, raw: Any, where: str, problems: list[str]) -> list[Any] | None:
    """Parse one axis; ``None`` (with problems recorded) when it is malformed."""
    if axis == "floor" and isinstance(raw, dict):
        return _range(raw, where, problems)
    if not isinstance(raw, list):
        problems.append(f"{where} must be a list of values" + (" or {start, stop, step}" if axis == "floor" else ""))
        return None
    values: list[Any] = []
    bad = False
    for k, item in enumerate(raw):
        at = f"{where}[{k}]"
        if axis == "floor":
            if not _number(item) or not 0 <= item <= MAX_POPULATION:
                problems.append(f"{at} must be a number of people from 0 to {MAX_POPULATION:,}, got {item!r}")
                bad = True
            else:
                values.append(float(item))
        elif axis == "polysystems":
            if item == FREE:
                values.append((None, None))
            elif isinstance(item, int) and not isinstance(item, bool) and item >= 1:
                values.append((item, item))
            elif (
                isinstance(item, list)
                and len(item) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in item)
                and item[0] <= item[1]
            ):
                values.append((item[0], item[1]))
            else:
                problems.append(f'{at} must be "{FREE}", a positive whole number or [min, max], got {item!r}')
                bad = True
        elif axis in ("max_travel_min", "budget"):
            if item == NONE:
                values.append(None)
            elif _number(item) and (0 < item <= MAX_TRAVEL_MIN if axis == "max_travel_min" else 0 <= item <= MAX_GBP):
                values.append(float(item))
            else:
                what = (
                    f"a number of minutes above 0 and at most {MAX_TRAVEL_MIN:,.0f}"
                    if axis == "max_travel_min"
                    else f"an amount (GBP) from 0 to {MAX_GBP:,.0f}"
                )
                problems.append(f'{at} must be "{NONE}" or {what}, got {item!r}')
                bad = True
        elif axis == "mode":
            if item not in _MODES:
                problems.append(f"{at} must be one of {', '.join(_MODES)}, got {item!r}")
                bad = True
            else:
                values.append(item)
    return None if bad else values


def _range(raw: Mapping[str, Any], where: str, problems: list[str]) -> list[float] | None:
    extra = sorted(set(raw) - {"start", "stop", "step"})
    if extra:
        problems.append(f"{where} has unknown key(s) {', '.join(extra)}; use start, stop, step")
        return None
    start, stop, step = raw.get("start"), raw.get("stop"), raw.get("step")
    if not (_number(start) and _number(stop) and _number(step)) or start < 0 or step <= 0 or stop < start:
        problems.append(f"{where} needs numbers start >= 0, stop >= start and step > 0, got {dict(raw)!r}")
        return None
    if stop > MAX_POPULATION:
        problems.append(f"{where} stop must be a number of people at most {MAX_POPULATION:,}, got {stop!r}")
        return None
    steps = (stop - start) / step  # infinite for a step too small to count
    if not steps < _MAX_POINTS:
        shown = f"{int(math.floor(steps + 1e-9)) + 1:,} values" if steps < 1e15 else "too many values to count"
        problems.append(f"{where} gives {shown}, more than the {_MAX_POINTS:,} a sweep may have; use a larger step")
        return None
    count = int(math.floor(steps + 1e-9)) + 1
    return [float(start + k * step) for k in range(count)]


def apply_point(problem: Problem, point: SweepPoint) -> Problem:
    """The base problem under a grid point's rules (the ``mode`` axis is not a rule).

    Parameters
    ----------
    problem
        The base problem (for the point's travel mode).
    point
        The grid point.

    Returns
    -------
    Problem

    Raises
    ------
    ProblemDefinitionError
        If the point's rules contradict each other or the problem (e.g. a floor above the
        base scenario's ceiling).
    """
    changes: dict[str, Any] = {}
    params = point.params
    if "floor" in params:
        changes["floor"] = params["floor"]
    if "polysystems" in params:
        changes["min_polysystems"], changes["max_polysystems"] = params["polysystems"]
    if "max_travel_min" in params:
        changes["max_travel_min"] = params["max_travel_min"]
    if "budget" in params:
        changes["budget"] = params["budget"]
    rules: Rules = dataclasses.replace(problem.rules, **changes)
    return dataclasses.replace(problem, rules=rules)


def sweep_bases(
    spec: SweepSpec, scenario: Scenario | None, *, data_dir: str | Path | None = None
) -> tuple[dict[str | None, BuiltProblem], dict[str, str], dict[str, Any]]:
    """Build the base problem of a sweep, once per travel mode when the mode axis applies.

    Parameters
    ----------
    spec
        The sweep.
    scenario
        Its base scenario, read by the caller (:func:`catchment.scenario.read_scenario` of
        ``spec.base``); ``None`` when the base is the built-in demo.
    data_dir
        Folder of the published data files (default: :func:`geodata.settings.data_dir`).

    Returns
    -------
    bases : dict
        Mode -> built problem; the single key ``None`` when the mode axis is absent or not
        applicable.
    not_applicable : dict
        Axis -> reason it is not expanded.
    record : dict
        The base scenario for ``solution.json`` files.

    Raises
    ------
    InputDataError, MissingFileError
        If the base scenario's data cannot be read.
    ValueError
        If the base is a scenario file and no scenario is given.
    """
    not_applicable: dict[str, str] = {}
    wants_mode = "mode" in spec.axes
    if spec.base_is_demo:
        if wants_mode:
            not_applicable["mode"] = "the built-in demo's travel times are fixed (drive on its own network)"
        return {None: build_demo()}, not_applicable, {"name": "built-in demo (seed 2009)", "sweep": spec.name}
    if scenario is None:
        raise ValueError(f"the sweep's base {spec.base!r} is a scenario file: pass the scenario read from it")
    record = {"name": scenario.name, "file": spec.base, "sweep": spec.name, **dict(scenario.raw)}
    if wants_mode and scenario.travel.source != "network":
        source = scenario.travel.source
        kind = {"estimate": "an estimate", "matrix": "a user matrix"}.get(source, source)
        not_applicable["mode"] = (
            f"the base scenario's travel times are {kind}, not a road network: they do not depend on the mode"
        )
    elif wants_mode and scenario.travel.graphml:
        not_applicable["mode"] = (
            "the base scenario's road network is a GraphML file: its travel times were saved for one mode"
        )
    if not wants_mode or "mode" in not_applicable:
        return {None: build_from_scenario(scenario, data_dir=data_dir)}, not_applicable, record
    bases: dict[str | None, BuiltProblem] = {}
    for mode in spec.axes["mode"]:
        variant = dataclasses.replace(scenario, travel=dataclasses.replace(scenario.travel, mode=mode))
        logger.info("building the base problem for travel mode %s", mode)
        bases[mode] = build_from_scenario(variant, data_dir=data_dir)
    return bases, not_applicable, record
