"""Charts of a plan as inline SVG (matplotlib, no pyplot state, no external fonts).

* :func:`population_chart` — population of each polysystem against the floor;
* :func:`travel_chart` — how many people live at each travel time from their hub;
* :func:`capital_chart` — capital cost by hub option (reuse / refurbish / new build).

Text stays text in the SVG (``svg.fonttype = none``): small, selectable, and the page's
own fonts draw it.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

from catchment.metrics import assignments_frame, capital_costs_label, polysystems_frame, travel_times_label
from catchment.plan import Plan, money_words
from catchment.problem import Problem
from maps.html import chart_text, escape
from maps.palette import (
    OPTION_COLOURS,
    OPTION_LABELS,
    OPTION_LETTERS,
    POLYSYSTEM_COLOURS,
    TRAVEL_COLOURS,
    travel_breaks,
)

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["STYLE", "figure_svg", "population_chart", "travel_chart", "capital_chart"]

#: Matplotlib settings of every chart (rc parameters).
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def figure_svg(fig: Figure, *, name: str) -> str:
    """A figure as an ``<svg>`` element for inlining in HTML.

    Parameters
    ----------
    fig
        The figure.
    name
        Distinguishes this chart's element ids from other charts' on the same page.

    Returns
    -------
    str
        The SVG markup without XML declaration or DOCTYPE.
    """
    buffer = io.StringIO()
    with rc_context({**STYLE, "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    return text.replace("<svg ", f'<svg role="img" aria-label="{escape(name)}" class="chart" ', 1)


def population_chart(problem: Problem, plan: Plan, *, colours: Mapping[str, str] | None = None) -> str:
    """Horizontal bars: population of each polysystem, with the floor as a line.

    Parameters
    ----------
    problem, plan
        The plan to chart.
    colours
        Polysystem id -> colour (as on the map); default: the palette in order.

    Returns
    -------
    str
        Inline SVG.
    """
    table = polysystems_frame(problem, plan)
    floor = problem.rules.floor
    with rc_context(STYLE):
        height = 1.2 + 0.28 * max(len(table), 1)
        fig = Figure(figsize=(6.4, height))
        ax = fig.add_subplot()
        ids = list(table["polysystem_id"])
        pops = table["population"].to_numpy(dtype=float)
        fill = [(colours or {}).get(p, POLYSYSTEM_COLOURS[k % len(POLYSYSTEM_COLOURS)]) for k, p in enumerate(ids)]
        y = np.arange(len(ids))[::-1]
        ax.barh(y, pops, color=fill, edgecolor="#222222", linewidth=0.6)
        for yy, value, below in zip(y, pops, table["below_floor"], strict=True):
            ax.text(value, yy, f" {value:,.0f}" + (" below floor" if below else ""), va="center", fontsize=8)
        if floor > 0:
            ax.axvline(floor, color="#222222", linestyle="--", linewidth=1.2)
            ax.text(floor, len(ids) - 0.4, f" floor {floor:,.0f}", fontsize=8, va="bottom")
        ax.set_yticks(y, [chart_text(i) for i in ids])
        ax.set_xlabel("population")
        ax.set_xlim(0, max(float(pops.max()) if len(pops) else 0.0, floor) * 1.25 or 1.0)
        ax.set_ylim(-0.7, len(ids) - 0.1)
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_title("Population of each polysystem against the floor", loc="left")
        return figure_svg(fig, name="population per polysystem")


def travel_chart(problem: Problem, plan: Plan) -> str:
    """Histogram of travel time to the assigned hub, weighted by population.

    Returns
    -------
    str
        Inline SVG (mean and longest time marked).
    """
    frame = assignments_frame(problem, plan)
    minutes = frame["travel_min"].to_numpy(dtype=float)
    people = frame["population"].to_numpy(dtype=float)
    ok = np.isfinite(minutes)
    minutes, people = minutes[ok], people[ok]
    with rc_context(STYLE):
        fig = Figure(figsize=(6.4, 2.8))
        ax = fig.add_subplot()
        if len(minutes):
            breaks = travel_breaks(minutes)
            step = (breaks[1] - breaks[0]) / 2
            edges = np.arange(0.0, breaks[-1] + step, step)
            counts, _ = np.histogram(minutes, bins=edges, weights=people)
            shades = [
                TRAVEL_COLOURS[min(len(TRAVEL_COLOURS) - 1, 1 + int(k * (len(TRAVEL_COLOURS) - 1) / len(counts)))]
                for k in range(len(counts))
            ]
            ax.bar(edges[:-1], counts, width=step, align="edge", color=shades, edgecolor="#444444", linewidth=0.5)
            mean = float(np.average(minutes, weights=people)) if people.sum() > 0 else float(minutes.mean())
            ax.axvline(mean, color="#222222", linestyle="--", linewidth=1.2)
            ax.axvline(float(minutes.max()), color="#222222", linestyle=":", linewidth=1.2)
            top = counts.max() if len(counts) else 1.0
            ax.text(mean, top * 1.02, f" mean {mean:.1f} min", fontsize=8, va="bottom")
            ax.text(float(minutes.max()), top * 0.85, f" longest {minutes.max():.1f} min", fontsize=8, va="bottom")
            ax.set_ylim(0, top * 1.18 if top > 0 else 1)
        ax.set_xlabel("travel time to the hub (minutes)" + travel_times_label(problem))
        unit = "registered patients" if problem.unit_type == "practice" else "residents"
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_title("Distribution of travel times" + travel_times_label(problem), loc="left")
        return figure_svg(fig, name="distribution of travel times")


def capital_chart(problem: Problem, plan: Plan) -> str:
    """Bars: capital cost of the chosen hub options, by option, with the number of hubs.

    Placeholder costs (``Problem.capital_costs_source``) are labelled in the title and axis.

    Returns
    -------
    str
        Inline SVG.
    """
    table = polysystems_frame(problem, plan)
    options = list(OPTION_LETTERS)
    totals = [float(table.loc[table["hub_option"] == o, "capital_cost"].fillna(0).sum()) for o in options]
    counts = [int((table["hub_option"] == o).sum()) for o in options]
    with rc_context(STYLE):
        fig = Figure(figsize=(6.4, 2.4))
        ax = fig.add_subplot()
        y = np.arange(len(options))[::-1]
        ax.barh(
            y, [t / 1e6 for t in totals], color=[OPTION_COLOURS[o] for o in options], edgecolor="#222222", linewidth=0.6
        )
        for yy, total, n in zip(y, totals, counts, strict=True):
            ax.text(total / 1e6, yy, f" {money_words(total)} ({n} hub{'s' if n != 1 else ''})", va="center", fontsize=8)
        ax.set_yticks(y, [f"{OPTION_LABELS[o]} ({OPTION_LETTERS[o]})" for o in options])
        top = max(totals) / 1e6 if totals else 0.0
        ax.set_xlim(0, top * 1.45 if top > 0 else 1.0)
        placeholder = capital_costs_label(problem)
        ax.set_xlabel(f"capital cost (£ million){placeholder}")
        total = sum(totals)
        ax.set_title(
            f"Capital by hub option (total {money_words(total)}){placeholder}"
            if math.isfinite(total)
            else f"Capital by hub option{placeholder}",
            loc="left",
        )
        return figure_svg(fig, name="capital by option")
