"""Colour-blind-safe colours for maps and charts.

* :data:`POLYSYSTEM_COLOURS` — qualitative colours for polysystems: Okabe & Ito (2008)
  without black, then Paul Tol's "muted" scheme when a map needs more;
* :func:`colour_graph` — colours such that neighbouring polysystems always differ (DSatur
  graph colouring, balanced over the palette, optionally keeping preferred colours);
* :data:`TRAVEL_COLOURS`, :func:`travel_breaks`, :func:`travel_colour` — a sequential scale
  for travel times (Paul Tol's "YlOrBr");
* :data:`OPTION_COLOURS`, :data:`OPTION_LETTERS`, :data:`OPTION_LABELS` — hub options
  (reuse / refurbish / new build), always shown with a letter too, never by colour alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "OKABE_ITO",
    "TOL_MUTED",
    "POLYSYSTEM_COLOURS",
    "TRAVEL_COLOURS",
    "OPTION_COLOURS",
    "OPTION_LETTERS",
    "OPTION_LABELS",
    "SITE_TYPE_LABELS",
    "SIMILAR_DELTA_E",
    "colour_graph",
    "travel_breaks",
    "travel_colour",
    "travel_scale",
    "text_colour",
]

#: Okabe & Ito (2008) qualitative palette, black left out (it is kept for outlines and text),
#: ordered so that the similar pairs (sky blue / blue, orange / vermillion) come far apart.
OKABE_ITO = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#D55E00")
#: Paul Tol's "muted" qualitative palette (https://personal.sron.nl/~pault/).
TOL_MUTED = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499")
#: Polysystem fill colours, in order of use.
POLYSYSTEM_COLOURS = OKABE_ITO + TOL_MUTED
#: Paul Tol's sequential "YlOrBr" (light = short travel, dark = long travel).
TRAVEL_COLOURS = ("#FFFFE5", "#FFF7BC", "#FEE391", "#FEC44F", "#FB9A29", "#EC7014", "#CC4C02", "#993404", "#662506")
#: Hub option -> badge colour (Paul Tol "bright": green, yellow, red).
OPTION_COLOURS = {"reuse": "#228833", "refurbish": "#CCBB44", "new_build": "#EE6677"}
#: Hub option -> one-letter badge (so the option never depends on colour alone).
OPTION_LETTERS = {"reuse": "R", "refurbish": "F", "new_build": "N"}
#: Hub option -> words for legends and tables.
OPTION_LABELS = {"reuse": "reuse", "refurbish": "refurbish", "new_build": "new build"}
#: Site type -> words.
SITE_TYPE_LABELS = {"hospital": "hospital site", "community": "community site"}

#: Colours closer than this (CIELAB ΔE*76) count as alike for neighbouring polysystems.
SIMILAR_DELTA_E = 40.0

_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0)


def colour_graph(
    ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    *,
    palette: Sequence[str] = POLYSYSTEM_COLOURS,
    preferred: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Give every node a colour that differs from the colours of its neighbours.

    DSatur (Brélaz 1979): repeatedly colour the node with the most differently coloured
    neighbours (ties: most neighbours, then id). Among the colours its neighbours do not
    use, a node avoids those that look alike to a neighbour's (CIELAB distance below
    :data:`SIMILAR_DELTA_E`, e.g. sky blue and blue) where it can, then takes its preferred
    colour if it has one, else the least used so far (ties: palette order), which spreads
    the palette. Planar maps need few colours, so the
    palette is normally enough; if not, colours are reused cyclically from the start of the
    palette and a neighbouring pair may then share a colour (never for fewer than
    ``len(palette)`` neighbours of a node).

    Parameters
    ----------
    ids
        Node ids (e.g. polysystem ids), in a stable order.
    edges
        Pairs of ids that touch; pairs naming unknown ids are ignored.
    palette
        Colours to choose from, in order of preference.
    preferred
        Node id -> a colour to keep when no neighbour already has it (e.g. to keep the
        colours of a first plan on a second plan).

    Returns
    -------
    dict
        Node id -> colour (hex string).
    """
    nodes = list(dict.fromkeys(ids))
    known = set(nodes)
    neighbours: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        if a in known and b in known and a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    preferred = dict(preferred or {})
    colours: dict[str, str] = {}
    used = {c: 0 for c in palette}
    order = {n: k for k, n in enumerate(nodes)}
    while len(colours) < len(nodes):
        todo = [n for n in nodes if n not in colours]
        node = max(
            todo,
            key=lambda n: (len({colours[m] for m in neighbours[n] if m in colours}), len(neighbours[n]), -order[n]),
        )
        taken = {colours[m] for m in neighbours[node] if m in colours}
        free = [c for c in palette if c not in taken]
        distinct = [c for c in free if all(_delta_e(c, t) >= SIMILAR_DELTA_E for t in taken)]
        if not free:
            choice = palette[len(colours) % len(palette)]
        elif preferred.get(node) in (distinct or free):
            choice = preferred[node]
        else:
            choice = min(distinct or free, key=lambda c: (used[c], palette.index(c)))
        colours[node] = choice
        used[choice] = used.get(choice, 0) + 1
    return colours


def travel_breaks(minutes: Iterable[float], *, max_bands: int = 7) -> list[float]:
    """Round class breaks for travel times: ``[0, step, 2 step, ..., >= max]``.

    Parameters
    ----------
    minutes
        Travel times (non-finite values are ignored).
    max_bands
        Most classes wanted (at most ``len(TRAVEL_COLOURS)``).

    Returns
    -------
    list of float
        Increasing breaks starting at 0; the last one is at least the largest time.
    """
    values = np.asarray([m for m in minutes if m is not None], dtype=float)
    values = values[np.isfinite(values)]
    top = float(values.max()) if len(values) else 1.0
    bands = max(1, min(max_bands, len(TRAVEL_COLOURS)))
    step = _nice_step(top, bands)
    n = max(1, math.ceil(top / step)) if top > 0 else 1
    if n * step <= top:
        n += 1
    return [k * step for k in range(n + 1)]


def _nice_step(top: float, bands: int) -> float:
    """The least round class width that fits ``top`` minutes into ``bands`` classes.

    One of :data:`_NICE_STEPS`; beyond them (times of days, e.g. a matrix's "no route"
    placeholder) 1, 2, 2.5 or 5 times a power of ten minutes, so the classes never
    outnumber the colours however large the time.
    """
    for step in _NICE_STEPS:
        if top / step <= bands:
            return step
    power = 10.0 ** math.floor(math.log10(top / bands))
    return next(
        step
        for step in (m * power * scale for scale in (1.0, 10.0) for m in (1.0, 2.0, 2.5, 5.0))
        if step >= _NICE_STEPS[-1] and top / step <= bands
    )


def travel_colour(value: float | None, breaks: Sequence[float]) -> str:
    """Colour of a travel time on the sequential scale (grey when missing or unreachable)."""
    if value is None or not math.isfinite(value):
        return "#BBBBBB"
    n = len(breaks) - 1
    k = int(np.searchsorted(np.asarray(breaks[1:-1], dtype=float), value, side="right"))
    return _spread(n)[min(k, n - 1)]


def _spread(n: int) -> list[str]:
    """``n`` colours spread over the travel scale (light to dark)."""
    if n >= len(TRAVEL_COLOURS):
        return list(TRAVEL_COLOURS)
    positions = np.linspace(1, len(TRAVEL_COLOURS) - 1, n).round().astype(int) if n > 1 else np.array([3])
    return [TRAVEL_COLOURS[p] for p in positions]


def travel_scale(breaks: Sequence[float]) -> list[tuple[str, str]]:
    """Legend entries ``(colour, "a-b min")`` for the classes of :func:`travel_breaks`."""
    colours = _spread(len(breaks) - 1)
    return [(colours[k], f"{_fmt(breaks[k])}–{_fmt(breaks[k + 1])} min") for k in range(len(breaks) - 1)]


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (WCAG relative luminance)."""
    r, g, b = (int(fill.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if luminance > 0.179 else "#FFFFFF"


@functools.cache
def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of a hex sRGB colour."""
    rgb = np.array([int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = _SRGB_TO_XYZ @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return (float(116 * f[1] - 16), float(500 * (f[0] - f[1])), float(200 * (f[1] - f[2])))


def _delta_e(a: str, b: str) -> float:
    """CIELAB ΔE*76 between two hex colours."""
    return float(np.linalg.norm(np.subtract(_lab(a), _lab(b))))


_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def _fmt(value: float) -> str:
    return f"{value:g}"
