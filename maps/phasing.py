"""The implementation timetable of a plan: a timeline chart and a one-page report.

* :func:`phasing_figure` — top: one bar per hub from the year it opens to the end of the
  horizon (hubs that do not open within it are listed, greyed); bottom: capital spent
  each year against the budget, and the population served by an open hub;
* :func:`phasing_report_html` — the chart inline as SVG, the figures and both tables;
* :func:`write_phasing_outputs` — ``phasing.csv`` (hubs), ``phasing_years.csv``,
  ``phasing.png`` and ``phasing.html`` into a folder.

The tables these read are :meth:`solvers.phasing.Phasing.frame` and
:meth:`solvers.phasing.Phasing.years_frame`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from catchment.outputs import json_safe
from catchment.plan import money_words, share_words, status_words
from catchment.problem import PLACEHOLDER_COSTS_NOTE
from maps.charts import STYLE, figure_svg
from maps.html import chart_text, escape
from maps.palette import OKABE_ITO, POLYSYSTEM_COLOURS

__all__ = ["PHASING_FILES", "phasing_figure", "phasing_report_html", "write_phasing_outputs"]

logger = logging.getLogger(__name__)

#: Files written by :func:`write_phasing_outputs`.
PHASING_FILES = ("phasing.csv", "phasing_years.csv", "phasing.png", "phasing.html", "phasing.json")

_PAGE_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #111;
  margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th { background: #f4f1ea; } td.text, th.text { text-align: left; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { background: #f4f1ea; border-radius: 6px; padding: 8px 12px; } .card b { display: block; font-size: 20px; }
.chart { max-width: 100%; height: auto; } .note { color: #444; }
"""


def phasing_figure(
    hubs: pd.DataFrame,
    years: pd.DataFrame,
    *,
    carry_over: bool = False,
    title: str = "Implementation timetable",
    placeholder: bool = False,
) -> Figure:
    """Timeline of hub openings, and spend and population served by year.

    Parameters
    ----------
    hubs
        One row per hub: ``polysystem_id``, ``hub_site_id``, ``capital_cost``,
        ``population``, ``open_year`` (missing when the hub does not open).
    years
        One row per year: ``year``, ``budget``, ``spend``, ``population_served`` (and
        ``cumulative_budget``, ``cumulative_spend`` with ``carry_over``).
    placeholder
        The capital costs are built-in placeholders: the spend chart says so.
    carry_over
        Unspent budget rolls forward: the cumulative budget and spend are drawn too.
    title
        Title of the top panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    horizon = int(years["year"].max()) if len(years) else 1
    order = hubs.sort_values(["open_year", "polysystem_id"], na_position="last").reset_index(drop=True)
    with rc_context(STYLE):
        fig = Figure(figsize=(7.4, 2.6 + 0.32 * max(len(order), 1) + 2.4))
        top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [max(len(order), 1) * 0.32 + 0.8, 2.4]})
        y = np.arange(len(order))[::-1]
        row: Any  # a row of the order (named tuple)
        for k, (row, yy) in enumerate(zip(order.itertuples(index=False), y, strict=True)):
            label = f"{money_words(row.capital_cost)}, {row.population:,.0f} people"
            if pd.isna(row.open_year):
                top.text(0.55, yy, f"not within {horizon} year(s): {label}", va="center", fontsize=8, color="#777777")
                continue
            start = int(row.open_year)
            top.barh(
                yy,
                horizon - start + 1,
                left=start - 0.5,
                height=0.6,
                color=POLYSYSTEM_COLOURS[k % len(POLYSYSTEM_COLOURS)],
                edgecolor="#222222",
                linewidth=0.6,
            )
            top.text(start - 0.4, yy, f" opens year {start}: {label}", va="center", fontsize=8)
        top.set_yticks(y, [chart_text(f"{r.polysystem_id} {r.hub_site_id}") for r in order.itertuples(index=False)])
        top.set_xlim(0.5, horizon + 0.5)
        top.set_ylim(-0.7, max(len(order), 1) - 0.3)
        top.set_xticks(range(1, horizon + 1))
        top.set_xlabel("year")
        top.set_title(chart_text(title), loc="left")

        x = years["year"].to_numpy()
        bottom.bar(
            x,
            years["spend"] / 1e6,
            width=0.6,
            color=OKABE_ITO[1],
            edgecolor="#222222",
            linewidth=0.6,
            label="capital spent",
        )
        bottom.step(
            np.r_[x - 0.5, x[-1:] + 0.5] if len(x) else x,
            np.r_[years["budget"].to_numpy(), years["budget"].to_numpy()[-1:]] / 1e6 if len(x) else x,
            where="post",
            color="#111111",
            linewidth=1.2,
            linestyle="--",
            label="annual budget",
        )
        if carry_over and len(x):
            bottom.step(
                np.r_[x - 0.5, x[-1:] + 0.5],
                np.r_[years["cumulative_budget"].to_numpy(), years["cumulative_budget"].to_numpy()[-1:]] / 1e6,
                where="post",
                color="#555555",
                linewidth=1.0,
                linestyle=":",
                label="budget to date",
            )
            bottom.plot(
                x,
                years["cumulative_spend"] / 1e6,
                color="#555555",
                marker="s",
                markersize=3.5,
                linewidth=1.0,
                label="spent to date",
            )
        bottom.set_ylabel("GBP millions")
        bottom.set_xticks(range(1, horizon + 1))
        bottom.set_xlim(0.5, horizon + 0.5)
        bottom.set_xlabel("year")
        served = bottom.twinx()
        served.plot(
            x, years["population_served"], color=OKABE_ITO[5], marker="o", linewidth=1.6, label="population served"
        )
        served.set_ylabel("population served by an open hub")
        served.set_ylim(0, max(float(hubs["population"].sum()), 1.0) * 1.1)
        served.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        served.spines["right"].set_visible(True)
        handles = bottom.get_legend_handles_labels()[0] + served.get_legend_handles_labels()[0]
        columns = ["budget", "spend", *(["cumulative_budget"] if carry_over else [])]
        top_money = max([0.0, *(float(v) for c in columns for v in years[c])])
        bottom.set_ylim(0, max(top_money, 1.0) / 1e6 * 1.15)
        bottom.legend(
            handles,
            [h.get_label() for h in handles],
            fontsize=8,
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=3 if not carry_over else 5,
        )
        bottom.set_title(
            "Capital spent against the budget, and people served"
            + (" (placeholder capital costs)" if placeholder else ""),
            loc="left",
        )
        fig.tight_layout()
        return fig


def _table_html(frame: pd.DataFrame, formats: Mapping[str, str]) -> str:
    head = "".join(f'<th class="{"text" if formats.get(c) == "text" else ""}">{escape(c)}</th>' for c in frame.columns)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column, value in record.items():
            kind = formats.get(column, "text")  # type: ignore[call-overload]  # column names are text
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                text = "not within the horizon" if column == "open_year" else ""
            elif kind == "money":
                text = f"£{float(value):,.0f}"
            elif kind == "people":
                text = f"{float(value):,.0f}"
            elif kind == "share":
                text = share_words(float(value))
            else:
                text = escape(str(value))
            cells.append(f'<td class="{"text" if kind == "text" else ""}">{text}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def phasing_report_html(
    hubs: pd.DataFrame,
    years: pd.DataFrame,
    *,
    summary: Mapping[str, Any],
    chart_svg: str | None = None,
    title: str = "Implementation timetable",
) -> str:
    """The phasing report as one self-contained HTML page.

    Parameters
    ----------
    hubs, years
        The tables of :func:`phasing_figure`.
    summary
        ``status``, ``person_years``, ``carry_over``, ``notes`` (list), ``plan`` (words),
        ``capital_costs_source`` (``"placeholder"``: the costs are labelled as placeholders).
    chart_svg
        The chart as inline SVG (default: drawn from the tables).
    title
        Page title.

    Returns
    -------
    str
    """
    if chart_svg is None:
        chart_svg = figure_svg(
            phasing_figure(
                hubs,
                years,
                carry_over=bool(summary.get("carry_over")),
                placeholder=summary.get("capital_costs_source") == "placeholder",
            ),
            name="phasing timeline",
        )
    total = float(hubs["population"].sum())
    horizon = len(years)
    opened = int(hubs["open_year"].notna().sum())
    cards = [
        ("hubs open within the horizon", f"{opened} of {len(hubs)}"),
        ("people served in the last year", f"{float(years['population_served'].iloc[-1]):,.0f}" if horizon else "0"),
        ("person-years served", f"{float(summary.get('person_years', 0.0)):,.0f}"),
        (
            "of the most possible",
            share_words(float(summary.get("person_years", 0.0)) / (total * horizon))
            if total > 0 and horizon
            else "n/a",
        ),
    ]
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in summary.get("notes", []))
    budget_words = (
        "unspent budget rolls forward to later years"
        if summary.get("carry_over")
        else "each year's budget must be spent within the year (no carry-over)"
    )
    status = escape(status_words(str(summary.get("status", ""))))
    placeholder = summary.get("capital_costs_source") == "placeholder"
    costs_note = (
        f'<p class="note placeholder"><b>Note:</b> {escape(PLACEHOLDER_COSTS_NOTE)}.</p>' if placeholder else ""
    )
    hub_formats = {
        "hub_site_id": "text",
        "polysystem_id": "text",
        "capital_cost": "money",
        "population": "people",
        "open_year": "text",
        "years_served": "text",
    }
    year_formats = {
        "year": "text",
        "budget": "money",
        "spend": "money",
        "cumulative_budget": "money",
        "cumulative_spend": "money",
        "hubs_opened": "text",
        "population_served": "people",
        "share_served": "share",
    }
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{_PAGE_CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class="note">{escape(str(summary.get("plan", "")))} Hubs open in the year shown and serve their
polysystem from then on; the timetable maximises the population served by an open hub summed over
the years, within the capital budgets ({escape(budget_words)}). Status: {status}.</p>
<div class="cards">{"".join(f'<div class="card"><b>{v}</b>{escape(k)}</div>' for k, v in cards)}</div>
{f"<ul>{notes}</ul>" if notes else ""}
{costs_note}
{chart_svg}
<h2>Hubs</h2>
{_table_html(hubs, hub_formats)}
<h2>Years</h2>
{_table_html(years, year_formats)}
</body></html>
"""


def write_phasing_outputs(
    folder: str | Path, hubs: pd.DataFrame, years: pd.DataFrame, *, summary: Mapping[str, Any]
) -> dict[str, Path]:
    """Write ``phasing.csv``, ``phasing_years.csv``, ``phasing.png``, ``phasing.html``, ``phasing.json``.

    Parameters
    ----------
    folder
        An existing folder.
    hubs, years
        The tables of :func:`phasing_figure`.
    summary
        See :func:`phasing_report_html`; written to ``phasing.json``.

    Returns
    -------
    dict
        File name -> path.
    """
    folder = Path(folder)
    paths = {name: folder / name for name in PHASING_FILES}
    placeholder = summary.get("capital_costs_source") == "placeholder"
    hubs.assign(capital_costs_source="placeholder" if placeholder else "scenario").to_csv(
        paths["phasing.csv"], index=False
    )
    years.to_csv(paths["phasing_years.csv"], index=False)
    fig = phasing_figure(hubs, years, carry_over=bool(summary.get("carry_over")), placeholder=placeholder)
    with rc_context(STYLE):
        fig.savefig(paths["phasing.png"], dpi=150, bbox_inches="tight")
    paths["phasing.html"].write_text(
        phasing_report_html(hubs, years, summary=summary, chart_svg=figure_svg(fig, name="phasing timeline")),
        encoding="utf-8",
    )
    paths["phasing.json"].write_text(json.dumps(json_safe(dict(summary)), indent=2) + "\n")
    logger.info("phasing timetable written to %s", folder)
    return paths
