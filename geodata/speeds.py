"""Travel speeds for road-network edges: OSM ``maxspeed`` parsing and UK defaults.

Drive speeds come from the way's ``maxspeed`` tag when it can be read, otherwise from
:data:`DEFAULT_SPEEDS_KPH` by ``highway`` class. Walk speeds are a constant
:data:`WALK_SPEED_KPH`. Every edge then gets ``speed_kph`` and ``travel_time``
(seconds), the attribute names osmnx routing uses.

Choices made here (and why)
---------------------------
* **Defaults are free-flow speeds for roads with no usable maxspeed tag**, set to the
  limit an untagged road of that class most often carries in England: 70 mph on
  motorways, 30 mph (the English default for "restricted", street-lit roads) on
  minor roads, and a blend of the urban and rural limits on A/B roads. They are not
  congested averages: pass ``congestion_factor`` (e.g. 0.6-0.8 for inner London peak
  traffic) to :func:`add_travel_times` to scale every drive speed down. Checked against
  the tagged ways of the two sample extracts: mean tagged limits run 19-41 mph on
  minor roads, 26-36 mph on primary and 36-53 mph on trunk roads (north London /
  Rutland), bracketing the defaults below.
* **A bare number** (``"20"``) is read as **mph**. The OSM wiki says a unit-less value
  is km/h, but every UK speed limit is signed in mph and UK mappers who omit the unit
  mean mph (a bare ``"30"`` read as 30 km/h would make a 30 mph road 38% slower).
  :func:`parse_maxspeed` takes ``bare_unit="kph"`` for non-UK data.
* **Several values** (``"30 mph;20 mph"``, per-lane ``"50|30"``, or the lists left on an
  edge by graph simplification) are **averaged**. Such lists mix parts of a way or
  times of day whose share is unknown; the mean is the unbiased guess, whereas the
  minimum would bias every such edge slow. This matches osmnx's own ``agg=np.mean``.
  A list of ``highway`` classes is averaged over their defaults the same way.
* ``"national"`` / ``"GB:nsl_single"`` is 60 mph; ``"GB:nsl_dual"`` and
  ``"GB:motorway"`` 70 mph. A plain ``"national"`` on a motorway, or on a trunk or
  primary road mapped one-way (dual carriageways are drawn as two one-way ways) and
  not a roundabout, is 70 mph. ``"walk"`` is walking pace, :data:`WALK_SPEED_KPH`.
  ``"none"``, ``"signals"``, ``"variable"`` and anything unreadable fall back to the
  highway-class default.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import networkx as nx

from geodata.errors import NetworkError

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "FALLBACK_SPEED_KPH",
    "MODES",
    "MPH_TO_KPH",
    "NATIONAL_DUAL_KPH",
    "NATIONAL_SINGLE_KPH",
    "WALK_SPEED_KPH",
    "add_travel_times",
    "check_mode",
    "edge_speed_kph",
    "parse_maxspeed",
]

log = logging.getLogger(__name__)

#: Network modes understood by the engine (osmnx ``network_type`` values).
MODES: tuple[str, ...] = ("drive", "walk")

#: Kilometres per statute mile.
MPH_TO_KPH = 1.609344
_KNOT_TO_KPH = 1.852

#: Walking speed on every edge of a walk network, km/h (3 mph, the figure used by
#: TfL's journey planner and most NHS access studies).
WALK_SPEED_KPH = 4.8

#: National speed limit on single carriageways (60 mph), km/h.
NATIONAL_SINGLE_KPH = 60 * MPH_TO_KPH
#: National speed limit on dual carriageways and motorways (70 mph), km/h.
NATIONAL_DUAL_KPH = 70 * MPH_TO_KPH

#: Drive speed (km/h) by OSM ``highway`` class when no ``maxspeed`` can be read:
#: free-flow speeds, the limit an untagged road of that class most often has in England.
DEFAULT_SPEEDS_KPH: dict[str, float] = {
    "motorway": 70 * MPH_TO_KPH,  # national limit, dual
    "motorway_link": 40 * MPH_TO_KPH,  # slip roads: merging, junction approach
    "trunk": 50 * MPH_TO_KPH,  # A-road primary routes: urban 30-40, rural 60-70
    "trunk_link": 30 * MPH_TO_KPH,
    "primary": 40 * MPH_TO_KPH,  # other A roads: mostly through towns in England
    "primary_link": 30 * MPH_TO_KPH,
    "secondary": 30 * MPH_TO_KPH,  # B roads: built-up default
    "secondary_link": 30 * MPH_TO_KPH,
    "tertiary": 30 * MPH_TO_KPH,
    "tertiary_link": 30 * MPH_TO_KPH,
    "unclassified": 30 * MPH_TO_KPH,  # rural lanes are NSL but rarely driven faster
    "residential": 30 * MPH_TO_KPH,  # "restricted road" default in England
    "living_street": 10 * MPH_TO_KPH,  # home zones: designed for walking pace traffic
    "road": 30 * MPH_TO_KPH,  # class not yet surveyed
    "busway": 30 * MPH_TO_KPH,
    "service": 10 * MPH_TO_KPH,  # only in custom filters: car parks, accesses
}

#: Drive speed (km/h) for a ``highway`` class missing from the speed table (30 mph).
FALLBACK_SPEED_KPH = 30 * MPH_TO_KPH

# "30", "30 mph", "30mph", "50 km/h", "50kmh", "50 kph", "20 knots", "7,5"
_NUMERIC = re.compile(
    r"^\s*(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>mph|km/h|kmh|kph|knots)?\s*$",
    re.IGNORECASE,
)
# "GB:zone20", "UK:zone30"  (20 mph zones)
_GB_ZONE = re.compile(r"^(?:GB|UK):zone\s*(?P<value>\d+)$", re.IGNORECASE)
# implicit values: the limit is the law's, not a number on the sign
_IMPLICIT_KPH: dict[str, float] = {
    "gb:nsl_single": NATIONAL_SINGLE_KPH,
    "uk:nsl_single": NATIONAL_SINGLE_KPH,
    "gb:nsl_dual": NATIONAL_DUAL_KPH,
    "uk:nsl_dual": NATIONAL_DUAL_KPH,
    "gb:motorway": NATIONAL_DUAL_KPH,
    "uk:motorway": NATIONAL_DUAL_KPH,
    "gb:nsl_restricted": 30 * MPH_TO_KPH,  # street-lit "restricted road"
    "uk:nsl_restricted": 30 * MPH_TO_KPH,
    "gb:urban": 30 * MPH_TO_KPH,
    "uk:urban": 30 * MPH_TO_KPH,
    "walk": WALK_SPEED_KPH,
}
_NATIONAL = {"national", "gb:national", "uk:national", "gb:nsl", "uk:nsl"}
_DUAL_WHEN_ONEWAY = {"trunk", "primary"}


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a known network mode.

    Parameters
    ----------
    mode
        ``"drive"`` or ``"walk"``.

    Returns
    -------
    str
        The same mode.

    Raises
    ------
    ValueError
        If the mode is unknown; the message lists the allowed modes.
    """
    if mode not in MODES:
        allowed = ", ".join(repr(m) for m in MODES)
        msg = f"unknown network mode {mode!r}: allowed modes are {allowed}"
        raise ValueError(msg)
    return mode


def _as_list(value: Any) -> list[Any]:
    """Values of an edge attribute as a list (simplified edges hold lists)."""
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _parse_one(
    text: str,
    *,
    highway: str | None,
    dual_carriageway: bool,
    bare_unit: Literal["mph", "kph"],
) -> float | None:
    """Speed (km/h) of a single maxspeed token, or ``None`` if unreadable."""
    token = text.strip()
    match = _NUMERIC.match(token)
    if match:
        value = float(match["value"].replace(",", "."))
        unit = (match["unit"] or bare_unit).lower()
        factor = {"mph": MPH_TO_KPH, "knots": _KNOT_TO_KPH}.get(unit, 1.0)
        speed = value * factor
        return speed if speed > 0 else None
    lowered = token.lower()
    zone = _GB_ZONE.match(token)
    if zone:
        speed = float(zone["value"]) * MPH_TO_KPH
        return speed if speed > 0 else None
    if lowered in _IMPLICIT_KPH:
        return _IMPLICIT_KPH[lowered]
    if lowered in _NATIONAL:
        motorway = highway is not None and highway.startswith("motorway")
        dual = dual_carriageway and highway in _DUAL_WHEN_ONEWAY
        return NATIONAL_DUAL_KPH if motorway or dual else NATIONAL_SINGLE_KPH
    return None


def parse_maxspeed(
    value: Any,
    *,
    highway: str | None = None,
    dual_carriageway: bool = False,
    bare_unit: Literal["mph", "kph"] = "mph",
) -> float | None:
    """Read an OSM ``maxspeed`` value as km/h.

    Parameters
    ----------
    value
        The tag value (``"30 mph"``, ``"GB:zone20"``, ``"national"``, ...), a list of
        them (simplified edges), or a missing value (``None`` / NaN).
    highway
        The way's ``highway`` class; decides what ``"national"`` means.
    dual_carriageway
        True when the way is one carriageway of a dual carriageway (a one-way trunk or
        primary road that is not a roundabout): ``"national"`` is then 70 mph.
    bare_unit
        Unit of a number written without one; ``"mph"`` for UK data (see module notes).

    Returns
    -------
    float or None
        Speed in km/h (the mean when several values are given), or ``None`` when
        nothing readable was found (``"none"``, ``"signals"``, garbage, missing).
    """
    if bare_unit not in ("mph", "kph"):
        msg = f"bare_unit must be 'mph' or 'kph', not {bare_unit!r}"
        raise ValueError(msg)
    speeds: list[float] = []
    for item in _as_list(value):
        if not isinstance(item, str):
            continue
        for token in re.split(r"[;|]", item):
            speed = _parse_one(token, highway=highway, dual_carriageway=dual_carriageway, bare_unit=bare_unit)
            if speed is not None:
                speeds.append(speed)
    if not speeds:
        return None
    return sum(speeds) / len(speeds)


def _is_true(value: Any) -> bool:
    """Truth of an osmnx boolean edge attribute (bool, or "True" after a GraphML trip)."""
    return any(v is True or str(v).lower() in {"true", "yes", "1"} for v in _as_list(value))


def edge_speed_kph(
    data: Mapping[str, Any],
    *,
    mode: str,
    speeds: Mapping[str, float] | None = None,
) -> float:
    """Speed (km/h) of one edge from its attributes.

    Parameters
    ----------
    data
        The edge attribute dict (``highway``, ``maxspeed``, ``oneway``, ``junction``).
    mode
        ``"drive"`` (tagged maxspeed, else class default) or ``"walk"`` (constant).
    speeds
        Speeds (km/h) by ``highway`` class replacing the defaults: for drive they
        update :data:`DEFAULT_SPEEDS_KPH`; for walk they override
        :data:`WALK_SPEED_KPH` for the classes given.

    Returns
    -------
    float
        Speed in km/h, always positive and finite.

    Raises
    ------
    ValueError
        If the mode is unknown.
    """
    check_mode(mode)
    classes = [h for h in _as_list(data.get("highway")) if isinstance(h, str)]
    if mode == "walk":
        table = dict(speeds or {})
        values = [table.get(h, WALK_SPEED_KPH) for h in classes] or [WALK_SPEED_KPH]
        return sum(values) / len(values)

    dual = _is_true(data.get("oneway")) and "roundabout" not in _as_list(data.get("junction"))
    tagged = [parse_maxspeed(data.get("maxspeed"), highway=h, dual_carriageway=dual) for h in classes] or [
        parse_maxspeed(data.get("maxspeed"), dual_carriageway=dual)
    ]
    readable = [s for s in tagged if s is not None]
    if readable:
        return sum(readable) / len(readable)
    table = {**DEFAULT_SPEEDS_KPH, **(speeds or {})}
    values = [table.get(h, FALLBACK_SPEED_KPH) for h in classes] or [FALLBACK_SPEED_KPH]
    return sum(values) / len(values)


def _check_speed_table(speeds: Mapping[str, float] | None) -> None:
    """Raise ValueError listing every non-positive or non-finite speed given."""
    if not speeds:
        return
    bad = [f"{k!r}: {v!r}" for k, v in speeds.items() if not _positive_finite(v)]
    if bad:
        msg = f"speeds must be positive finite km/h values; got {', '.join(bad)}"
        raise ValueError(msg)


def _positive_finite(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0


def add_travel_times(
    G: nx.MultiDiGraph,
    *,
    mode: str,
    speeds: Mapping[str, float] | None = None,
    congestion_factor: float = 1.0,
) -> nx.MultiDiGraph:
    """Set ``speed_kph`` and ``travel_time`` (seconds) on every edge of ``G``.

    Parameters
    ----------
    G
        Road network whose edges carry ``length`` in metres (as osmnx builds them).
        Modified in place and returned.
    mode
        ``"drive"``: tagged ``maxspeed`` where readable, else the class default;
        ``"walk"``: :data:`WALK_SPEED_KPH` everywhere.
    speeds
        Speeds (km/h) by ``highway`` class replacing the defaults (see
        :func:`edge_speed_kph`).
    congestion_factor
        Drive speeds are multiplied by this, in (0, 1]; 1 means free flow. Ignored
        for walking.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph, with ``speed_kph`` and ``travel_time`` on every edge and
        ``G.graph["congestion_factor"]`` recorded.

    Raises
    ------
    ValueError
        If the mode is unknown, a speed is not positive, or the factor is outside (0, 1].
    NetworkError
        If edges lack a usable ``length`` (all such edges are counted in the message).
    """
    check_mode(mode)
    _check_speed_table(speeds)
    if not (_positive_finite(congestion_factor) and congestion_factor <= 1):
        msg = f"congestion_factor must be in (0, 1], not {congestion_factor!r}"
        raise ValueError(msg)
    factor = congestion_factor if mode == "drive" else 1.0

    bad_length: list[tuple[Any, Any]] = []
    for u, v, data in G.edges(data=True):
        length = data.get("length")
        if length is None or not math.isfinite(float(length)) or float(length) < 0:
            bad_length.append((u, v))
            continue
        speed = edge_speed_kph(data, mode=mode, speeds=speeds) * factor
        data["speed_kph"] = speed
        data["travel_time"] = float(length) / (speed / 3.6)
    if bad_length:
        examples = ", ".join(f"{u}->{v}" for u, v in bad_length[:5])
        msg = (
            f"{len(bad_length)} edge(s) have no usable 'length' in metres "
            f"(e.g. {examples}); cannot compute travel times"
        )
        raise NetworkError(msg)
    G.graph["congestion_factor"] = factor
    log.debug("travel times set on %d %s edges", G.number_of_edges(), mode)
    return G
