"""The national comparison of today's PCNs with the optimised plans: one offline page.

:func:`pcn_comparison_html` draws the distribution of the improvement in mean travel over
the CCGs (a histogram, inline SVG) above the figures and the table of every CCG. Every text
from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from catchment.metrics import estimate_label_of
from catchment.national import CCG_WORDS, AreaWords
from catchment.plan import NOT_PROVEN_OPTIMAL
from maps.charts import STYLE, figure_svg
from maps.html import escape

__all__ = ["improvement_chart", "pcn_comparison_html"]


def improvement_chart(frame: pd.DataFrame, *, area: AreaWords = CCG_WORDS) -> str:
    """Histogram of the improvement in mean travel (%) of the optimised plans over today's PCNs.

    Parameters
    ----------
    frame
        :func:`solvers.national.compare_national`.
    area
        How to name the areas compared (the vertical axis counts them).

    Returns
    -------
    str
        Inline SVG.
    """
    values = frame["improvement_pct"].dropna().to_numpy(dtype=float)
    with rc_context(STYLE):
        fig = Figure(figsize=(6.4, 2.8))
        ax = fig.add_subplot()
        if len(values):
            ax.hist(values, bins=min(30, max(5, len(values) // 4)), color="#3a6ea5", edgecolor="white")
            ax.axvline(float(np.median(values)), color="#c0392b", linestyle="--", label="median")
            ax.legend(frameon=False)
        ax.set_xlabel("improvement in mean travel over today's PCNs (%)" + estimate_label_of(frame))
        ax.set_ylabel(area.many)
        ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig, name="improvement in mean travel")


def _not_proven(frame: pd.DataFrame) -> list[str]:
    """Codes of the areas whose optimised plan (compared) was not proven optimal."""
    compared = frame["optimised_polysystems"].notna() & frame["optimised_status"].ne("optimal")
    return [str(c) for c in frame.loc[compared, "ccg_code"]]


def _engine_words(frame: pd.DataFrame, area: AreaWords) -> str:
    """What the plans compared are: the engine's optimum only when every one was proven optimal."""
    codes = _not_proven(frame)
    if not codes:
        return "the engine's optimum under the same rules"
    which = area.one if len(codes) == 1 else area.many
    return f"the engine's plan under the same rules ({NOT_PROVEN_OPTIMAL} for the {which} {', '.join(codes)})"


#: The table's columns of travel figures: their headings say when the times are the estimate.
_TRAVEL_COLUMNS = ("pcn_mean_travel_min", "optimised_mean_travel_min", "improvement_pct")


def _shown_columns(frame: pd.DataFrame) -> list[str]:
    """The table's columns, the status in words beside the status (the CSV appends it)."""
    columns = [c for c in frame.columns if c != "optimised_status_label"]
    if "optimised_status_label" in frame.columns:
        columns.insert(columns.index("optimised_status") + 1, "optimised_status_label")
    return columns


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if not np.isfinite(value) else f"{value:,.2f}"
    return escape(value)


def pcn_comparison_html(
    frame: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    travel_label: str,
    data_files: Mapping[str, str] | None = None,
    area: AreaWords = CCG_WORDS,
) -> str:
    """The board page of the national comparison.

    The headings of the travel figures add :data:`catchment.problem.ESTIMATE_LABEL` when the
    table's ``travel_source`` is the estimate.

    The plans are called the engine's optimum only when every plan compared was proven
    optimal; otherwise the page names the areas whose plan is "feasible, not proven optimal"
    (:data:`catchment.plan.NOT_PROVEN_OPTIMAL`), as their rows do (``optimised_status_label``).

    Parameters
    ----------
    frame
        :func:`solvers.national.compare_national`.
    summary
        :func:`solvers.national.comparison_summary`.
    travel_label
        How travel times were measured (e.g. a crow-fly estimate), shown as such.
    data_files
        Role -> path of each data file read (``data_files`` of ``national.json``), listed
        under the table.
    area
        How to name the areas compared: CCGs, or CCGs (sub-ICB locations)
        (:attr:`catchment.national.NationalInput.area`).

    Returns
    -------
    str
        A complete HTML page (no external resources).
    """
    q = summary.get("improvement_pct_quantiles") or {}
    estimate = estimate_label_of(frame)  # " (estimate)" when the travel times are the crow-fly estimate
    facts = [
        (area.many, f"{summary.get('ccgs', 0):,}"),
        (f"{area.many} compared with an optimised plan", f"{summary.get('ccgs_compared', 0):,}"),
        (f"{area.many} whose PCNs break a rule", f"{summary.get('ccgs_where_pcns_break_rules', 0):,}"),
        ("Median improvement in mean travel" + estimate, f"{q['p50']:.1f}%" if "p50" in q else "n/a"),
        (f"Middle half of the {area.many}" + estimate, f"{q['p25']:.1f}% to {q['p75']:.1f}%" if "p25" in q else "n/a"),
        ("Practices that would move", f"{summary.get('practices_moved', 0):,}"),
    ]
    table = frame[_shown_columns(frame)]
    head = "".join(f"<th>{escape(c + estimate if c in _TRAVEL_COLUMNS else c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in table.itertuples(False))
    files = "".join(f"<li>{escape(role)}: {escape(path)}</li>" for role, path in (data_files or {}).items())
    files_read = f"<h2>Data files read</h2><ul>{files}</ul>" if files else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Today's PCNs against the optimised plans</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}th{{background:#eee}}</style></head><body>
<h1>Today's Primary Care Networks against the optimised plans, by {escape(area.one)}</h1>
<p>The practices of each {escape(area.one)}, grouped as today (the practice-to-PCN mapping) and as
{escape(_engine_words(frame, area))}; travel times: {escape(travel_label)}.</p>
<table>{"".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)}</table>
{improvement_chart(frame, area=area)}
<table><tr>{head}</tr>{body}</table>
{files_read}
</body></html>
"""
