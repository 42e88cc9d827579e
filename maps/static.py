"""A static picture of a plan for papers and slides (PNG, matplotlib; no tiles, no internet).

:func:`plan_figure` draws the small areas coloured by polysystem (shaded by share for
practice units), polysystem and borough outlines, practices, candidate sites and hubs
(square: hospital site, circle: community site; letter: option), with a legend, a scale
bar, a title and a caption saying how the plan was solved and where travel times come from.
:func:`save_static_map` writes it. Coordinates stay in EPSG:27700 (metres).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from catchment.build import BuiltProblem
from catchment.metrics import assignments_frame, plan_summary, polysystems_frame
from catchment.plan import Plan, share_words
from geodata.settings import BNG
from maps.areas import PlanGeometry, plan_geometry
from maps.html import chart_text
from maps.palette import OPTION_COLOURS, OPTION_LABELS, OPTION_LETTERS, text_colour
from maps.plan_map import format_gap, plan_summary_label, polysystem_colours

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["plan_figure", "save_static_map"]

_STYLE: dict[RcKeyType, Any] = {"font.family": "sans-serif", "font.size": 9}


def plan_figure(
    built: BuiltProblem,
    plan: Plan,
    *,
    title: str | None = None,
    size: tuple[float, float] = (10.0, 7.5),
    min_patients: float = 100.0,
    geometry: PlanGeometry | None = None,
    colours: Mapping[str, str] | None = None,
) -> Figure:
    """A matplotlib figure of a plan.

    Parameters
    ----------
    built, plan
        The plan to draw.
    title
        Title (default: number of polysystems and status).
    size
        Figure size in inches.
    min_patients
        Practice units: smallest number of registered patients for an LSOA to be drawn.
    geometry, colours
        Shapes and polysystem colours when already computed (as on the web map).

    Returns
    -------
    matplotlib.figure.Figure
    """
    geometry = geometry or plan_geometry(built, plan, min_patients=min_patients)
    colours = colours or polysystem_colours(plan, geometry)
    table = polysystems_frame(built.problem, plan)
    summary = plan_summary(built.problem, plan)
    with rc_context(_STYLE):
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        ax.set_facecolor("#F4F1EA")
        _draw_areas(ax, geometry, colours)
        if built.boundaries is not None and len(built.boundaries):
            built.boundaries.to_crs(BNG).boundary.plot(ax=ax, color="#444444", linewidth=0.9, linestyle=(0, (5, 3)))
        if len(geometry.polysystems):
            geometry.polysystems.boundary.plot(
                ax=ax, color="#111111", linewidth=1.6, linestyle="--" if geometry.approximate else "-"
            )
        _draw_units(ax, built, plan, colours)
        _draw_sites(ax, built, plan, table, colours)
        _frame(ax, geometry, built)
        _scale_bar(ax)
        handles = _legend_handles(built, table, colours)
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize=8,
            title="Polysystems (hub, population)",
            title_fontsize=9,
            alignment="left",
        )
        status = plan.status_label
        covered = f"{share_words(summary['coverage'])} of the population of the selection covered"
        heading = title or f"{summary['n_polysystems']} polysystems, {covered}"
        ax.set_title(chart_text(heading), loc="left", fontsize=12, fontweight="bold")
        gap = "" if plan.gap is None else f", gap {format_gap(plan.gap)}"
        caption = (
            f"Status: {status}{gap} ({plan.solver}). Travel times: {plan_summary_label(built)}. "
            f"Areas: {geometry.method}. Coverage: {summary['coverage_text']}."
            + (f" Note: {summary['capital_costs_note']}." if summary["capital_costs_note"] else "")
        )
        ax.text(
            0.0,
            -0.015,
            chart_text(textwrap.fill(caption, 130)),
            transform=ax.transAxes,
            fontsize=7,
            color="#333333",
            va="top",
            ha="left",
        )
    return fig


def save_static_map(
    built: BuiltProblem,
    plan: Plan,
    path: str | Path,
    *,
    dpi: int = 150,
    title: str | None = None,
    min_patients: float = 100.0,
    geometry: PlanGeometry | None = None,
    colours: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`plan_figure` as a PNG.

    Parameters
    ----------
    built, plan
        The plan.
    path
        Target file (``.png``).
    dpi
        Resolution.
    title
        Title of the picture.
    min_patients, geometry, colours
        See :func:`plan_figure`.

    Returns
    -------
    Path
    """
    path = Path(path)
    fig = plan_figure(built, plan, title=title, min_patients=min_patients, geometry=geometry, colours=colours)
    fig.savefig(path, dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.15)
    return path


# ---------------------------------------------------------------------------- pieces
def _draw_areas(ax: Axes, geometry: PlanGeometry, colours: Mapping[str, str]) -> None:
    areas = geometry.areas
    if len(areas) == 0:
        return
    shaded = not geometry.approximate and bool((areas["share"] < 1).any())
    faces = []
    for ps, share in zip(areas["polysystem_id"], areas["share"], strict=True):
        colour = colours.get(ps, "#BBBBBB") if isinstance(ps, str) else "#BBBBBB"
        alpha = 0.2 + 0.65 * float(share) if shaded else 0.7
        faces.append(to_rgba(colour, alpha))
    areas.plot(ax=ax, color=faces, edgecolor="white", linewidth=0.3)


def _draw_units(ax: Axes, built: BuiltProblem, plan: Plan, colours: Mapping[str, str]) -> None:
    if built.problem.unit_type != "practice" or not built.units.geom_type.eq("Point").all():
        return
    frame = assignments_frame(built.problem, plan)
    units = built.units[["unit_id", "geometry"]].merge(frame, on="unit_id", how="left")
    largest = max(float(np.nanmax(units["population"])), 1.0)
    sizes = 6 + 60 * units["population"].to_numpy(dtype=float) / largest
    faces = [colours.get(p, "#BBBBBB") if isinstance(p, str) else "#BBBBBB" for p in units["polysystem_id"]]
    ax.scatter(units.geometry.x, units.geometry.y, s=sizes, c=faces, edgecolors="#111111", linewidths=0.6, zorder=4)


def _draw_sites(ax: Axes, built: BuiltProblem, plan: Plan, table: pd.DataFrame, colours: Mapping[str, str]) -> None:
    sites = built.sites.to_crs(BNG)
    others = sites.loc[~sites["site_id"].isin(plan.hub_options)]
    for site_type, marker in (("hospital", "s"), ("community", "o")):
        part = others.loc[others["site_type"] == site_type]
        if len(part):
            ax.scatter(
                part.geometry.x,
                part.geometry.y,
                s=30,
                marker=marker,
                facecolors="white",
                edgecolors="#444444",
                linewidths=1.1,
                zorder=5,
            )
    hubs = sites.set_index("site_id")
    row: Any  # a row of the table (named tuple)
    for row in table.itertuples(index=False):
        if row.hub_site_id not in hubs.index:
            continue
        point = hubs.loc[row.hub_site_id, "geometry"]
        marker = "s" if row.hub_type == "hospital" else "o"
        colour = colours.get(row.polysystem_id, "#BBBBBB")
        ax.scatter(
            [point.x], [point.y], s=190, marker=marker, c=[colour], edgecolors="#111111", linewidths=1.8, zorder=6
        )
        ax.annotate(
            OPTION_LETTERS.get(row.hub_option, "?"),
            (point.x, point.y),
            xytext=(7, 7),
            textcoords="offset points",
            fontsize=7,
            fontweight="bold",
            ha="center",
            va="center",
            color=text_colour(OPTION_COLOURS.get(row.hub_option, "#BBBBBB")),
            zorder=7,
            bbox={
                "boxstyle": "circle,pad=0.2",
                "fc": OPTION_COLOURS.get(row.hub_option, "#BBBBBB"),
                "ec": "#222222",
                "lw": 0.8,
            },
        )
        ax.annotate(
            chart_text(row.polysystem_id),
            (point.x, point.y),
            xytext=(0, -13),
            textcoords="offset points",
            fontsize=7,
            fontweight="bold",
            ha="center",
            va="top",
            zorder=7,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )


def _frame(ax: Axes, geometry: PlanGeometry, built: BuiltProblem) -> None:
    parts = [
        geometry.polysystems.total_bounds if len(geometry.polysystems) else None,
        built.units.to_crs(BNG).total_bounds,
        built.sites.to_crs(BNG).total_bounds,
    ]
    boxes = np.array([b for b in parts if b is not None and np.isfinite(b).all()])
    west, south = boxes[:, 0].min(), boxes[:, 1].min()
    east, north = boxes[:, 2].max(), boxes[:, 3].max()
    pad = 0.04 * max(east - west, north - south, 1.0)
    ax.set_xlim(west - pad, east + pad)
    ax.set_ylim(south - pad, north + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_color("#999999")


def _scale_bar(ax: Axes) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / 5
    length = max((s for s in (250, 500, 1000, 2000, 5000, 10000, 20000, 50000) if s <= target), default=250)
    x = x0 + 0.03 * (x1 - x0)
    y = y0 + 0.04 * (y1 - y0)
    ax.plot([x, x + length], [y, y], color="#111111", linewidth=3, solid_capstyle="butt", zorder=8)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.text(x + length / 2, y + 0.012 * (y1 - y0), label, ha="center", va="bottom", fontsize=8, zorder=8)


def _legend_handles(built: BuiltProblem, table: pd.DataFrame, colours: Mapping[str, str]) -> list[Artist]:
    handles: list[Artist] = []
    row: Any  # a row of the table (named tuple)
    for row in table.itertuples(index=False):
        name = str(row.hub_site_name)
        name = name if len(name) <= 26 else name[:25] + "…"
        flag = " (below floor)" if row.below_floor else ""
        handles.append(
            Patch(
                facecolor=colours.get(row.polysystem_id, "#BBBBBB"),
                edgecolor="#111111",
                label=chart_text(f"{row.polysystem_id} {name}, {row.population:,.0f}{flag}"),
            )
        )
    handles.append(Line2D([], [], linestyle="none", label=""))
    handles.append(
        Line2D(
            [],
            [],
            marker="s",
            linestyle="none",
            markersize=9,
            markerfacecolor="#DDDDDD",
            markeredgecolor="#111111",
            markeredgewidth=1.5,
            label="hub on a hospital site",
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=9,
            markerfacecolor="#DDDDDD",
            markeredgecolor="#111111",
            markeredgewidth=1.5,
            label="hub on a community site",
        )
    )
    for option, letter in OPTION_LETTERS.items():
        handles.append(
            Line2D(
                [],
                [],
                marker=f"${letter}$",
                linestyle="none",
                markersize=7,
                color=OPTION_COLOURS[option],
                label=f"{letter}: {OPTION_LABELS[option]}",
            )
        )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=6,
            markerfacecolor="white",
            markeredgecolor="#555555",
            label="candidate site not chosen",
        )
    )
    if built.problem.unit_type == "practice":
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markersize=5,
                markerfacecolor="#999999",
                markeredgecolor="#111111",
                label="practice (area ∝ list size)",
            )
        )
    handles.append(Line2D([], [], color="#111111", linewidth=1.6, label="polysystem boundary"))
    if built.boundaries is not None and len(built.boundaries):
        handles.append(Line2D([], [], color="#444444", linewidth=0.9, linestyle=(0, (5, 3)), label="borough boundary"))
    return handles
