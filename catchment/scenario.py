"""Scenario files (TOML): what to plan, with which data, under which rules.

A scenario is parsed and validated once; every problem is reported together, each naming
the file and the key (``[rules] floor``). The schema is documented in the README
("Scenario files") and the examples live in ``scenarios/``.

Example
-------
.. code-block:: toml

    [scenario]
    name = "Redbridge practices"

    [units]
    type = "practice"          # or "lsoa"
    ccg = "08N"                # select by CCG code, or lad = "E09000026", or bbox = [w, s, e, n],
                               # or file = "my-units.csv" (id, name, population, coordinates)

    [sites]
    hospitals_within_m = 3000  # NHS hospital sites within 3 km of the selected area
    largest_practices = 12     # the 12 largest practices as community sites
    required = []              # site ids whose hub must open
    excluded = []              # site ids that may not host a hub

    [travel]
    source = "estimate"        # network | matrix | estimate

    [rules]
    floor = 50000
    polysystems = [4, 6]       # exact number, [min, max], or omitted for free

    [objective]
    mean_travel = 1.0

    [solver]
    name = "highs"
    time_limit = 60
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from catchment.objective import DEFAULT_WEIGHTS, MAX_WEIGHT, OBJECTIVE_TERMS
from catchment.problem import DEFAULT_FLOOR, MAX_GBP, OPTION_KINDS, RULE_PRESETS, Objective, Rules
from catchment.settings import (
    DEFAULTS,
    MAX_TIME_LIMIT_S,
    METHODS,
    SCENARIO_TIME_LIMIT_S,
    SOLVER_NAMES,
    SolverSettings,
)
from geodata.errors import ScenarioError, shown_limit
from geodata.settings import (
    MAX_DETOUR_FACTOR,
    MAX_DISTANCE_M,
    MAX_PARALLEL,
    MAX_POPULATION,
    MAX_SITES,
    MAX_SPEED_KPH,
    MAX_TRAVEL_MIN,
    MIN_SPEED_KPH,
)

__all__ = [
    "Scenario",
    "UnitsSpec",
    "SitesSpec",
    "TravelSpec",
    "SolverSpec",
    "DEFAULT_OPTIONS",
    "PATH_KEYS",
    "REGISTRATIONS_FILE",
    "LSOA_LOOKUP_ROLE",
    "TRAVEL_KEYS",
    "data_roles",
    "unknown_keys",
    "read_scenario",
    "read_toml",
    "parse_scenario",
]

logger = logging.getLogger(__name__)

#: Hub options assumed when a scenario gives none: indicative capital costs (GBP) per site
#: type. They are placeholders for a planner's own estates figures and are reported as such.
DEFAULT_OPTIONS: Mapping[str, tuple[tuple[str, float], ...]] = MappingProxyType(
    {
        "hospital": (("reuse", 500_000.0), ("refurbish", 3_000_000.0), ("new_build", 12_000_000.0)),
        "community": (("reuse", 250_000.0), ("refurbish", 2_000_000.0), ("new_build", 9_000_000.0)),
    }
)

#: Default practice-by-LSOA registrations file (``[data] registrations``), under the data folder.
REGISTRATIONS_FILE = "england/gp-reg-pat-prac-lsoa_2022.parquet"
#: ``[data]`` role of ONS's LSOA (2011) to LSOA (2021) lookup (:func:`geodata.lookup.read_lsoa_lookup`):
#: optional, no default file; with it, registrations of another LSOA vintage than the centroids
#: are carried to the centroids' vintage.
LSOA_LOOKUP_ROLE = "lsoa_lookup"


@functools.cache
def data_roles() -> Mapping[str, str]:
    """Every key ``[data]`` accepts (a data file role) -> its default path under the data folder.

    ``""`` for an optional role without a default file (:data:`LSOA_LOOKUP_ROLE`).
    """
    from geodata.ons import LSOA_FILES  # local: the readers import geopandas
    from geodata.pcn import PCN_MAPPING_FILE
    from geodata.practices import PRACTICE_FILES

    return MappingProxyType(
        {
            **LSOA_FILES,
            **PRACTICE_FILES,
            "registrations": REGISTRATIONS_FILE,
            "pcn_mapping": PCN_MAPPING_FILE,
            LSOA_LOOKUP_ROLE: "",
        }
    )


def unknown_keys(
    source: str, where: str, unknown: list[str], allowed: set[str] | Mapping[str, Any], *, what: str = "key(s)"
) -> str:
    """A problem naming unknown keys, each with the closest allowed key when one is close."""
    named = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
        named.append(f"{key} (did you mean {close[0]!r}?)" if close else str(key))
    return f"{source}: {where}unknown {what} {', '.join(named)}; allowed: {', '.join(sorted(allowed))}"


#: ``[travel] source`` -> the other ``[travel]`` keys that source reads. A key of another
#: source is not used: reading the scenario logs a warning naming it.
TRAVEL_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "network": ("network", "mode", "cutoff_min", "max_snap_m"),
        "matrix": ("matrix",),
        "estimate": ("detour_factor", "speed_kph"),
    }
)
_TRAVEL_SOURCES = tuple(TRAVEL_KEYS)
#: Suffix of a ``[travel] network`` file read as a saved network (GraphML), not as OSM data.
GRAPHML_SUFFIX = ".graphml"
_MODES = ("drive", "walk")

#: The keys whose values are paths of files a scenario reads (besides every ``[data]`` role).
PATH_KEYS: tuple[tuple[str, str], ...] = (
    ("units", "polygon"),
    ("units", "file"),
    ("sites", "file"),
    ("sites", "options_file"),
    ("travel", "network"),
    ("travel", "matrix"),
)


@dataclass(frozen=True)
class UnitsSpec:
    """Which units to plan.

    ``type`` practice or lsoa, selected by ccg / lad / bbox / polygon, practices also by
    ``stp`` (STP/ICB code) and ``pcn`` (PCN codes) of the practice-to-PCN mapping (data
    role ``pcn_mapping``), or a user's own units ``file`` (CSV, see
    :func:`catchment.build.read_units_file`).
    """

    type: str = "practice"
    ccg: str | None = None
    stp: str | None = None
    pcn: tuple[str, ...] | None = None
    lad: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    polygon: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class SitesSpec:
    """Candidate hub sites: hospitals near the area, the largest practices, a user file."""

    hospitals_within_m: float | None = 3000.0
    hospital_sector: str | None = "NHS"
    largest_practices: int = 0
    file: str | None = None
    options_file: str | None = None
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    options: Mapping[str, tuple[tuple[str, float, float | None], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TravelSpec:
    """Where travel times come from."""

    source: str = "estimate"
    network: str | None = None
    network_place: str | None = None
    network_bbox: tuple[float, float, float, float] | None = None
    mode: str = "drive"
    matrix: str | None = None
    detour_factor: float = 1.3
    speed_kph: float = 25.0
    cutoff_min: float | None = None
    max_snap_m: float = 500.0

    @property
    def graphml(self) -> bool:
        """The network is a GraphML file: its travel times are read as saved, for the mode it records."""
        return (
            self.source == "network"
            and self.network is not None
            and Path(self.network).suffix.lower() == GRAPHML_SUFFIX
        )


#: A scenario's ``[solver]`` table: :class:`catchment.settings.SolverSettings` (its ``name``
#: is the settings' ``solver``; ``time_limit`` defaults to ``SCENARIO_TIME_LIMIT_S`` there).
SolverSpec = SolverSettings


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Relative paths resolve against ``data_dir`` at load time."""

    name: str
    path: Path | None
    units: UnitsSpec
    sites: SitesSpec
    travel: TravelSpec
    rules: Rules
    objective: Objective
    solver: SolverSettings
    boundaries: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """How an error names the scenario: its file, or ``<scenario>`` for one built in memory."""
        return str(self.path) if self.path is not None else "<scenario>"

    def resolve(self, relative: str, data_dir: Path) -> Path:
        """Resolve a scenario path: absolute stays, relative is taken under ``data_dir``.

        ``~`` is the user's home folder; ``..`` is allowed (a path is not confined to
        ``data_dir``). Every path names a local file that is read as data (never run);
        :func:`parse_scenario` refuses URLs (:data:`PATH_KEYS`).
        """
        p = Path(relative).expanduser()
        return p if p.is_absolute() else Path(data_dir) / p


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        Listing every problem, each naming the file and the key.
    """
    path = Path(path)
    return parse_scenario(read_toml(path, what="scenario"), source=str(path), path=path)


def read_toml(path: str | Path, *, what: str = "scenario") -> dict[str, Any]:
    """Parse a TOML file; a missing, malformed or non-UTF-8 file raises :class:`ScenarioError`.

    A leading UTF-8 byte-order mark (as Windows Notepad saves) is accepted.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ScenarioError([f"{path}: a folder, not a {what} file"])
        if not path.is_file():
            raise ScenarioError([f"{path}: {what} file not found"])
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:  # e.g. a name too long, no permission to read
        raise ScenarioError([f"{path}: cannot read the {what} file: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: not valid TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not UTF-8 text"]) from None


def _accepted(minimum: float | None, positive: bool, maximum: float) -> str:
    """The accepted range of a key with a maximum, in words: ``from 1 to 10``, ``above 0 and at most 10``."""
    if minimum is not None:
        return f"from {shown_limit(minimum)} to {shown_limit(maximum)}"
    return f"above 0 and at most {shown_limit(maximum)}" if positive else f"at most {shown_limit(maximum)}"


class _Reader:
    """Typed access to a TOML table that records every problem instead of stopping."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        #: Keys given but not used in this combination (logged when the scenario is valid).
        self.unused: list[str] = []

    def table(self, raw: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.problems.append(f"{self.source}: [{key}] must be a table")
            return {}
        unknown = sorted(set(value) - allowed)
        if unknown:
            self.problems.append(unknown_keys(self.source, f"[{key}] has ", unknown, allowed))
        return value

    def get(
        self,
        table: Mapping[str, Any],
        section: str,
        key: str,
        kind: Any,
        default: Any = None,
        *,
        choices: tuple[str, ...] | None = None,
        positive: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> Any:
        """``table[key]`` checked: its type, its choices and its range.

        The range is ``positive``, ``minimum`` and ``maximum``; a message names the whole
        accepted range when there is a maximum.
        """
        if key not in table:
            return default
        value = table[key]
        where = f"{self.source}: [{section}] {key}"
        accepted = f" ({_accepted(minimum, positive, maximum)})" if maximum is not None else ""
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problems.append(f"{where} must be a number, got {value!r}")
                return default
            if not math.isfinite(value):  # TOML's inf and nan
                self.problems.append(f"{where} must be a finite number{accepted}, got {value!r}")
                return default
            value = float(value)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.problems.append(f"{where} must be a whole number, got {value!r}")
                return default
        elif kind is str:
            if not isinstance(value, str) or not value.strip():
                self.problems.append(f"{where} must be a non-empty text, got {value!r}")
                return default
        elif kind is bool:
            if not isinstance(value, bool):
                self.problems.append(f"{where} must be true or false, got {value!r}")
                return default
        if choices is not None and value not in choices:
            self.problems.append(f"{where} must be one of {', '.join(choices)}, got {value!r}")
            return default
        if positive and not value > 0:
            self.problems.append(f"{where} must be positive{accepted}, got {value!r}")
            return default
        if minimum is not None and value < minimum:
            self.problems.append(f"{where} must be at least {minimum}{accepted}, got {value!r}")
            return default
        if maximum is not None and value > maximum:
            self.problems.append(f"{where} must be {_accepted(minimum, positive, maximum)}, got {value!r}")
            return default
        return value

    def str_list(self, table: Mapping[str, Any], section: str, key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{self.source}: [{section}] {key} must be a list of texts, got {value!r}")
            return ()
        return tuple(value)


def parse_scenario(
    raw: Mapping[str, Any], *, source: str = "<scenario>", path: Path | None = None, warn_unused: bool = True
) -> Scenario:
    """Validate a scenario given as a mapping (parsed TOML); see :func:`read_scenario`.

    Keys given but not used in their combination are logged as warnings unless
    ``warn_unused`` is false (a scenario read again with other rules: said once already).
    """
    r = _Reader(source)
    if {"sweep", "grid"} & set(raw):  # the user's likeliest mix-up: say so, not "unknown sections"
        raise ScenarioError(
            [
                f"{source}: a sweep file ([sweep], [grid]), not a scenario: run it with "
                f"`python optimise.py sweep {source}`, or give a scenario file here"
            ]
        )
    top_allowed = {"scenario", "units", "sites", "travel", "rules", "objective", "solver", "data"}
    unknown = sorted(set(raw) - top_allowed)
    if unknown:
        r.problems.append(unknown_keys(source, "", unknown, top_allowed, what="section(s)"))

    meta = r.table(raw, "scenario", {"name", "description"})
    name = r.get(meta, "scenario", "name", str, default=(path.stem if path else "scenario"))
    units = _parse_units(r, raw)
    sites = _parse_sites(r, raw)
    travel = _parse_travel(r, raw)
    rules_kwargs, boundaries = _parse_rules(r, raw, units)
    weights, lex = _parse_objective(r, raw)
    solver = _parse_solver(r, raw)
    d = _parse_data(r, raw)
    _refuse_urls(r, {"units": units, "sites": sites, "travel": travel}, d)

    rules = objective = None
    try:
        rules = Rules(**rules_kwargs)
    except ValueError as exc:
        r.problems.extend(f"{source}: [rules] {p}" for p in getattr(exc, "problems", [str(exc)]))
    try:
        objective = Objective(weights=weights, lexicographic=lex)
    except ValueError as exc:
        r.problems.extend(f"{source}: [objective] {p}" for p in getattr(exc, "problems", [str(exc)]))

    if r.problems:
        raise ScenarioError(r.problems)
    for message in r.unused if warn_unused else ():
        logger.warning("%s", message)
    assert rules is not None and objective is not None and solver is not None
    return Scenario(
        name=name,
        path=path,
        units=units,
        sites=sites,
        travel=travel,
        rules=rules,
        objective=objective,
        solver=solver,
        boundaries=boundaries,
        data=MappingProxyType(dict(d)),
        raw=MappingProxyType(dict(raw)),
    )


#: ``[units]`` keys that select practices by their NHS organisation (CCG, STP, PCN codes).
_PRACTICE_SELECTIONS = ("ccg", "stp", "pcn")


def _parse_units(r: _Reader, raw: Mapping[str, Any]) -> UnitsSpec:
    """``[units]``: the unit type and one selection (or a user's units file)."""
    source = r.source
    u = r.table(raw, "units", {"type", "ccg", "stp", "pcn", "lad", "bbox", "polygon", "file"})
    bbox = u.get("bbox")
    if bbox is not None:
        if (
            not isinstance(bbox, list)
            or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
        ):
            r.problems.append(f"{source}: [units] bbox must be [west, south, east, north] in degrees, got {bbox!r}")
            bbox = None
        elif not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            r.problems.append(f"{source}: [units] bbox must have west < east and south < north, got {bbox!r}")
            bbox = None
        else:
            bbox = tuple(float(v) for v in bbox)
    units = UnitsSpec(
        type=r.get(u, "units", "type", str, "practice", choices=("practice", "lsoa")),
        ccg=r.get(u, "units", "ccg", str),
        stp=r.get(u, "units", "stp", str),
        pcn=_codes(r, u, "pcn"),
        lad=r.get(u, "units", "lad", str),
        bbox=bbox,
        polygon=r.get(u, "units", "polygon", str),
        file=r.get(u, "units", "file", str),
    )
    if not any((units.ccg, units.stp, units.pcn, units.lad, units.bbox, units.polygon, units.file)):
        r.problems.append(f"{source}: [units] needs a selection: ccg, stp, pcn, lad, bbox, polygon or file")
    by_practice = [k for k in _PRACTICE_SELECTIONS if getattr(units, k)]
    if units.type == "lsoa" and by_practice:
        # No published file maps LSOAs to CCGs, STPs or PCNs: such a key would be ignored and
        # every LSOA of the boundary file (all of London) planned instead.
        r.problems.append(
            f"{source}: [units] {' and '.join(by_practice)} {'selects' if len(by_practice) == 1 else 'select'} "
            "practices (CCG, STP and PCN codes "
            'belong to practices, and no LSOA lookup of them is read); for type = "lsoa" select by '
            "lad, bbox or polygon"
        )
    if units.file:
        mixed = [k for k in ("ccg", "stp", "pcn", "lad", "bbox", "polygon") if getattr(units, k) is not None]
        if mixed:
            r.problems.append(
                f"{source}: [units] file gives the units itself: remove {', '.join(mixed)} "
                "(or select from the published data without file)"
            )
    return units


def _codes(r: _Reader, table: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """``[units] key``: one code or a list of codes, as a tuple (``None`` when absent or empty)."""
    if isinstance(table.get(key), list):
        return r.str_list(table, "units", key) or None
    value = r.get(table, "units", key, str)
    return (value,) if value else None


def _parse_sites(r: _Reader, raw: Mapping[str, Any]) -> SitesSpec:
    """``[sites]``: where candidate hub sites come from, and ``[sites.options]``."""
    source = r.source
    s = r.table(
        raw,
        "sites",
        {
            "hospitals_within_m",
            "hospital_sector",
            "largest_practices",
            "file",
            "options_file",
            "required",
            "excluded",
            "options",
        },
    )
    options = _parse_site_options(r, s)
    hw = s.get("hospitals_within_m", 3000.0)
    sites = SitesSpec(
        hospitals_within_m=None
        if hw is False
        else r.get(s, "sites", "hospitals_within_m", float, 3000.0, minimum=0, maximum=MAX_DISTANCE_M),
        hospital_sector=r.get(s, "sites", "hospital_sector", str, "NHS", choices=("NHS", "Independent")),
        largest_practices=r.get(s, "sites", "largest_practices", int, 0, minimum=0, maximum=MAX_SITES),
        file=r.get(s, "sites", "file", str),
        options_file=r.get(s, "sites", "options_file", str),
        required=r.str_list(s, "sites", "required"),
        excluded=r.str_list(s, "sites", "excluded"),
        options=MappingProxyType(options),
    )
    if sites.options_file and sites.options:
        r.problems.append(
            f"{source}: [sites] options_file and [sites.options] both give hub options: the file gives them per "
            "site, the table per site type; keep one"
        )
    both = set(sites.required) & set(sites.excluded)
    if both:
        r.problems.append(f"{source}: [sites] site(s) both required and excluded: {', '.join(sorted(both))}")
    if sites.hospitals_within_m is None and "hospital_sector" in s:
        r.unused.append(
            f"{source}: [sites] hospital_sector is not used: hospitals_within_m = false takes no hospital sites "
            "(give hospitals_within_m in metres to take the hospitals of that sector)"
        )
    if sites.hospitals_within_m is None and not sites.largest_practices and not sites.file:
        r.problems.append(
            f"{source}: [sites] gives no candidate hub sites (hospitals_within_m, largest_practices or file)"
        )
    return sites


#: Keys of an option given as a table (``new_build = { capital_cost = 12000000, capacity = 120000 }``).
_OPTION_KEYS = ("capital_cost", "capacity")


def _parse_site_options(r: _Reader, s: Mapping[str, Any]) -> dict[str, tuple[tuple[str, float, float | None], ...]]:
    """``[sites.options]``: site type -> (option, capital cost, capacity) triples."""
    source = r.source
    options: dict[str, tuple[tuple[str, float, float | None], ...]] = {}
    raw_options = s.get("options", {})
    if not isinstance(raw_options, dict):
        r.problems.append(f"{source}: [sites.options] must be a table of site types")
        raw_options = {}
    for site_type, entries in raw_options.items():
        if site_type not in ("hospital", "community"):
            r.problems.append(f"{source}: [sites.options] unknown site type {site_type!r}; use hospital or community")
            continue
        if not isinstance(entries, dict) or not entries:
            r.problems.append(f"{source}: [sites.options.{site_type}] must map option -> capital cost (GBP)")
            continue
        parsed = []
        for option, cost in entries.items():
            capacity = None
            if isinstance(cost, dict):
                unknown = [key for key in cost if key not in _OPTION_KEYS]
                if unknown:
                    where = f"[sites.options.{site_type}] {option} has "
                    r.problems.append(unknown_keys(source, where, unknown, set(_OPTION_KEYS)))
                    continue
                capacity = cost.get("capacity")
                cost = cost.get("capital_cost")
            if option not in OPTION_KINDS:
                r.problems.append(
                    f"{source}: [sites.options.{site_type}] unknown option {option!r}; use {', '.join(OPTION_KINDS)}"
                )
            elif isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 <= cost <= MAX_GBP:
                r.problems.append(
                    f"{source}: [sites.options.{site_type}] {option} needs a capital cost (GBP) "
                    f"{_accepted(0, False, MAX_GBP)}, got {cost!r}"
                )
            elif capacity is not None and (
                isinstance(capacity, bool)
                or not isinstance(capacity, (int, float))
                or not 0 < capacity <= MAX_POPULATION
            ):
                r.problems.append(
                    f"{source}: [sites.options.{site_type}] {option} capacity (people) must be "
                    f"{_accepted(None, True, MAX_POPULATION)}, got {capacity!r}"
                )
            else:
                parsed.append((option, float(cost), None if capacity is None else float(capacity)))
        options[site_type] = tuple(parsed)
    return options


def _parse_travel(r: _Reader, raw: Mapping[str, Any]) -> TravelSpec:
    """``[travel]``: where travel times come from."""
    source = r.source
    t = r.table(raw, "travel", {"source", *(key for keys in TRAVEL_KEYS.values() for key in keys)})
    place, bbox = _parse_network_query(r, t.get("network"))
    travel = TravelSpec(
        source=r.get(t, "travel", "source", str, "estimate", choices=_TRAVEL_SOURCES),
        network=r.get(t, "travel", "network", str) if not isinstance(t.get("network"), dict) else None,
        network_place=place,
        network_bbox=bbox,
        mode=r.get(t, "travel", "mode", str, "drive", choices=_MODES),
        matrix=r.get(t, "travel", "matrix", str),
        detour_factor=r.get(t, "travel", "detour_factor", float, 1.3, minimum=1.0, maximum=MAX_DETOUR_FACTOR),
        speed_kph=r.get(
            t, "travel", "speed_kph", float, 25.0, positive=True, minimum=MIN_SPEED_KPH, maximum=MAX_SPEED_KPH
        ),
        cutoff_min=r.get(t, "travel", "cutoff_min", float, None, positive=True, maximum=MAX_TRAVEL_MIN),
        max_snap_m=r.get(t, "travel", "max_snap_m", float, 500.0, positive=True, maximum=MAX_DISTANCE_M),
    )
    if travel.source == "network" and not (travel.network or travel.network_place or travel.network_bbox):
        r.problems.append(
            f'{source}: [travel] source = "network" needs network = <OSM XML/PBF or GraphML file>, '
            'network = { place = "<place name>" } or network = { bbox = [left, bottom, right, top] }'
        )
    if travel.source == "matrix" and not travel.matrix:
        r.problems.append(f'{source}: [travel] source = "matrix" needs matrix = <CSV or Parquet file>')
    for other, keys in TRAVEL_KEYS.items():
        for key in keys:
            if key in t and other != travel.source:
                hint = " (a limit for any source: [rules] max_travel_min)" if key == "cutoff_min" else ""
                r.unused.append(
                    f'{source}: [travel] {key} is not used: it is read with source = "{other}" only, and this '
                    f'scenario\'s source is "{travel.source}"{hint}'
                )
    return travel


def _parse_network_query(r: _Reader, value: Any) -> tuple[str | None, tuple[float, float, float, float] | None]:
    """``[travel] network = { place = "..." }`` or ``{ bbox = [...] }``: a network to download.

    Returns ``(place, bbox)``, both ``None`` when ``network`` is a file name (or absent).
    """
    if not isinstance(value, dict):
        return None, None
    where = f"{r.source}: [travel] network"
    unknown = sorted(set(value) - {"place", "bbox"})
    if unknown:
        r.problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (known: place, bbox)")
    if ("place" in value) == ("bbox" in value):
        r.problems.append(f"{where} must give a place or a bbox (one of them)")
        return None, None
    if "place" in value:
        place = value["place"]
        if not isinstance(place, str) or not place.strip():
            r.problems.append(f"{where}.place must be a non-empty text, got {place!r}")
            return None, None
        return place.strip(), None
    box = value["bbox"]
    numbers = (
        isinstance(box, list)
        and len(box) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box)
    )
    if not numbers:
        r.problems.append(f"{where}.bbox must be [left, bottom, right, top] in degrees, got {box!r}")
        return None, None
    left, bottom, right, top = (float(v) for v in box)
    if not (-180 <= left < right <= 180 and -90 <= bottom < top <= 90):
        r.problems.append(
            f"{where}.bbox {box!r} is not a box in degrees (longitude -180..180, latitude -90..90, "
            "left < right, bottom < top)"
        )
        return None, None
    return None, (left, bottom, right, top)


def _parse_rules(r: _Reader, raw: Mapping[str, Any], units: UnitsSpec) -> tuple[dict[str, Any], str | None]:
    """``[rules]``: the keywords of :class:`~catchment.problem.Rules`, and the boundaries kept."""
    source = r.source
    ru = r.table(
        raw,
        "rules",
        {
            "preset",
            "floor",
            "ceiling",
            "polysystems",
            "max_travel_min",
            "budget",
            "contiguity",
            "boundaries",
            "waivers",
        },
    )
    preset_name = r.get(ru, "rules", "preset", str, None, choices=tuple(RULE_PRESETS))
    preset = RULE_PRESETS.get(preset_name or "polysystem", RULE_PRESETS["polysystem"])
    count = ru.get("polysystems")
    min_n = max_n = None
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        min_n = max_n = count
    elif (
        isinstance(count, list)
        and len(count) == 2
        and all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in count)
    ):
        min_n, max_n = count
    elif count is not None:
        r.problems.append(f"{source}: [rules] polysystems must be a positive whole number or [min, max], got {count!r}")
    waivers = ru.get("waivers", {})
    if not isinstance(waivers, dict) or not all(isinstance(v, str) and v.strip() for v in waivers.values()):
        r.problems.append(f"{source}: [rules.waivers] must map unit id -> reason (text)")
        waivers = {}
    boundaries = r.get(ru, "rules", "boundaries", str, None, choices=("lad", "ccg"))
    rules_kwargs = dict(
        floor=r.get(ru, "rules", "floor", float, preset.get("floor", DEFAULT_FLOOR), minimum=0, maximum=MAX_POPULATION),
        ceiling=r.get(ru, "rules", "ceiling", float, preset.get("ceiling"), positive=True, maximum=MAX_POPULATION),
        min_polysystems=min_n,
        max_polysystems=max_n,
        max_travel_min=r.get(ru, "rules", "max_travel_min", float, None, positive=True, maximum=MAX_TRAVEL_MIN),
        budget=r.get(ru, "rules", "budget", float, None, minimum=0, maximum=MAX_GBP),
        contiguity=r.get(ru, "rules", "contiguity", bool, preset.get("contiguity", False)),
        respect_groups=boundaries is not None,
        waivers=waivers,
    )
    if rules_kwargs["contiguity"] and units.file:
        r.problems.append(
            f"{source}: [rules] contiguity needs LSOA boundaries; [units] file gives points only "
            "(practices are joined through the LSOAs where their patients live)"
        )
    if boundaries == "ccg" and (units.file or units.type != "practice"):
        r.problems.append(
            f'{source}: [rules] boundaries = "ccg" needs practices of the published data (their CCG codes); '
            f'{"[units] file gives no CCG codes" if units.file else "LSOAs have no CCG"}: use boundaries = "lad"'
        )
    return rules_kwargs, boundaries


def _parse_objective(r: _Reader, raw: Mapping[str, Any]) -> tuple[dict[str, float], tuple[str, ...] | None]:
    """``[objective]``: term weights (default: mean travel) and an optional lexicographic order."""
    o = r.table(raw, "objective", set(OBJECTIVE_TERMS) | {"lexicographic"})
    weights = {
        term: r.get(o, "objective", term, float, None, minimum=0, maximum=MAX_WEIGHT)
        for term in OBJECTIVE_TERMS
        if term in o
    }
    weights = {k: v for k, v in weights.items() if v is not None} or dict(DEFAULT_WEIGHTS)
    lex = None
    if "lexicographic" in o:
        lex = r.str_list(o, "objective", "lexicographic") or None
    return weights, lex


def _parse_solver(r: _Reader, raw: Mapping[str, Any]) -> SolverSettings | None:
    """``[solver]``: the solver settings (``None`` when they are invalid; the problems are recorded)."""
    so = r.table(raw, "solver", {"name", "time_limit", "mip_gap", "k_nearest", "threads", "method", "workers"})
    try:
        settings = SolverSettings(
            solver=r.get(so, "solver", "name", str, DEFAULTS.solver, choices=SOLVER_NAMES),
            time_limit=r.get(
                so, "solver", "time_limit", float, SCENARIO_TIME_LIMIT_S, positive=True, maximum=MAX_TIME_LIMIT_S
            ),
            mip_gap=r.get(so, "solver", "mip_gap", float, DEFAULTS.mip_gap, minimum=0),
            k_nearest=r.get(so, "solver", "k_nearest", int, DEFAULTS.k_nearest, minimum=1, maximum=MAX_SITES),
            threads=r.get(so, "solver", "threads", int, DEFAULTS.threads, minimum=1, maximum=MAX_PARALLEL),
            method=r.get(so, "solver", "method", str, DEFAULTS.method, choices=METHODS),
            # a scenario run is one solve: its neighbourhood search may use every core
            workers=r.get(so, "solver", "workers", int, None, minimum=1, maximum=MAX_PARALLEL),
        )
    except ValueError as exc:  # e.g. mip_gap >= 1
        r.problems.extend(f"{r.source}: [solver] {p.strip()}" for p in str(exc).splitlines()[1:])
        return None
    if settings.method == "mip" and "workers" in so:
        r.unused.append(
            f'{r.source}: [solver] workers is not used: method = "mip" solves one model in one process '
            '(workers are the processes of the neighbourhood search, method = "lns" or "auto")'
        )
    return settings


def _parse_data(r: _Reader, raw: Mapping[str, Any]) -> dict[str, str]:
    """``[data]``: data file role -> path (every role must be one of :func:`data_roles`)."""
    source = r.source
    d = raw.get("data", {})
    if not isinstance(d, dict):
        r.problems.append(f"{source}: [data] must be a table mapping a data file role to a path")
        d = {}
    unknown = sorted(set(d) - set(data_roles()))
    if unknown:
        r.problems.append(unknown_keys(source, "[data] has ", unknown, data_roles()))
    for role, value in d.items():
        if role in data_roles() and (not isinstance(value, str) or not value.strip()):
            r.problems.append(f"{source}: [data] {role} must be a file path (text), got {value!r}")
    return {k: v for k, v in d.items() if k in data_roles() and isinstance(v, str) and v.strip()}


def _refuse_urls(r: _Reader, specs: Mapping[str, Any], data: Mapping[str, str]) -> None:
    """Every path (:data:`PATH_KEYS` and ``[data]``) must name a local file, never a URL."""
    named = [(section, key, getattr(specs[section], key)) for section, key in PATH_KEYS]
    named += [("data", role, value) for role, value in data.items()]
    for section, key, value in named:
        if isinstance(value, str) and "://" in value:
            r.problems.append(
                f"{r.source}: [{section}] {key} must name a local file (a scenario never downloads "
                f"anything), got {value!r}"
            )
