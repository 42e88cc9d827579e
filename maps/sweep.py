"""The report of a scenario sweep: Pareto chart, results table, one folder per plan.

* :func:`pareto_figure` — mean travel against capital cost, one colour per number of
  polysystems, the Pareto front ringed, joined and labelled with plan ids;
* :func:`sweep_report_html` — one self-contained page (``sweep.html``): key figures, axes
  not applicable, the chart inline as SVG, every row of the results, the diagnosis of each
  infeasible point, links to the plans' folders;
* :func:`render_plan_files` — the standard outputs (:func:`catchment.outputs.write_outputs`)
  and maps (:func:`maps.write_plan_outputs`) of one grid point, as file contents, so that
  the drawing can run on Dask workers that share no disk with this process;
* :func:`write_sweep_outputs` — ``sweep.csv``, ``pareto.png``, ``sweep.html`` and
  ``plans/<id>/`` into a folder.

The table these read is :meth:`solvers.sweep.SweepResult.frame` (``sweep.csv``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from catchment.build import BuiltProblem
from catchment.exports import write_exports
from catchment.metrics import objective_estimate_label, travel_times_label
from catchment.outputs import write_outputs
from catchment.plan import Plan, gap_words, money_words
from catchment.problem import PLACEHOLDER_LABEL
from catchment.sweep import SweepPoint, apply_point
from maps.charts import STYLE, figure_svg
from maps.html import chart_text, escape
from maps.palette import POLYSYSTEM_COLOURS

__all__ = ["SWEEP_FILES", "pareto_figure", "sweep_report_html", "render_plan_files", "write_sweep_outputs"]

logger = logging.getLogger(__name__)

#: Files written by :func:`write_sweep_outputs` (besides ``plans/<id>/``).
SWEEP_FILES = ("sweep.csv", "pareto.png", "sweep.html")

_PAGE_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #111;
  margin: 24px auto; max-width: 1200px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
td { white-space: nowrap; }
th { background: #f4f1ea; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
tr.pareto td { font-weight: 600; background: #eef6fb; }
tr.noplan td { color: #777; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { background: #f4f1ea; border-radius: 6px; padding: 8px 12px; }
.card b { display: block; font-size: 20px; }
.chart { max-width: 100%; height: auto; }
.note { color: #444; }
"""


def _front(table: pd.DataFrame) -> pd.DataFrame:
    return table.loc[table["pareto"].astype(bool)].sort_values(["mean_travel_min", "capital_cost"])


def _placeholder(table: pd.DataFrame) -> str:
    """:data:`~catchment.problem.PLACEHOLDER_LABEL` when the sweep's capital costs are built-in placeholders."""
    column = table.get("capital_costs_source")
    return PLACEHOLDER_LABEL if column is not None and (column == "placeholder").any() else ""


def pareto_figure(
    table: pd.DataFrame, *, title: str = "Mean travel against capital cost", estimate: str = ""
) -> Figure:
    """Scatter of the valid plans: mean travel (x) against capital cost (y, GBP millions).

    Parameters
    ----------
    table
        The sweep table (``mean_travel_min``, ``capital_cost``, ``n_polysystems``,
        ``validated``, ``pareto``, ``plan_id``, ``mode``).
    title
        Chart title.
    estimate
        What follows the travel axis's words (:func:`catchment.metrics.travel_times_label`
        of the sweep's problem: ``" (estimate)"`` for crow-fly travel times, else ``""``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per travel mode (minutes on foot and by car are not compared; each
        panel has its own front): points coloured by number of polysystems, the Pareto
        front ringed in black, joined in order of travel and labelled with plan ids.
        Placeholder capital costs are labelled on the axis.
    """
    ok = table.loc[table["validated"].fillna(False).astype(bool)]
    modes = list(dict.fromkeys(table["mode"].astype(str))) if "mode" in table.columns else [""]
    placeholder = _placeholder(table)
    counts = sorted(int(c) for c in ok["n_polysystems"].dropna().unique())
    colour_of = {count: POLYSYSTEM_COLOURS[k % len(POLYSYSTEM_COLOURS)] for k, count in enumerate(counts)}
    with rc_context(STYLE):
        fig = Figure(figsize=(7.2 if len(modes) == 1 else 5.2 * len(modes), 4.6))
        axes = fig.subplots(1, len(modes), squeeze=False)[0]
        for ax, mode in zip(axes, modes, strict=True):
            mine = ok.loc[ok["mode"].astype(str) == mode] if "mode" in ok.columns else ok
            for count in counts:
                part = mine.loc[mine["n_polysystems"] == count]
                if len(part):
                    ax.scatter(
                        part["mean_travel_min"],
                        part["capital_cost"] / 1e6,
                        s=42,
                        color=colour_of[count],
                        edgecolor="#555555",
                        linewidth=0.5,
                        label=f"{count} polysystems",
                        zorder=2,
                    )
            front = _front(mine)
            if len(front):
                ax.scatter(
                    front["mean_travel_min"],
                    front["capital_cost"] / 1e6,
                    s=120,
                    facecolor="none",
                    edgecolor="#111111",
                    linewidth=1.6,
                    zorder=3,
                    label="Pareto front",
                )
                ax.plot(
                    front["mean_travel_min"],
                    front["capital_cost"] / 1e6,
                    color="#111111",
                    linewidth=0.8,
                    linestyle="--",
                    zorder=1,
                )
                same = front.groupby([front["mean_travel_min"].round(6), front["capital_cost"].round(0)], sort=False)
                for (x, y), group in same:  # plans with the same figures share one label
                    ids = list(group["plan_id"])
                    label = ", ".join(ids[:3]) + (f" +{len(ids) - 3}" if len(ids) > 3 else "")
                    ax.annotate(
                        chart_text(label),
                        (x, y / 1e6),  # type: ignore[operator]  # y: capital cost xytext=(6, 4), textcoords="offset points", fontsize=7.5
                    )
            n_missing = (
                int((table["mode"].astype(str) == mode).sum()) - len(mine)
                if "mode" in table.columns
                else len(table) - len(ok)
            )
            words = "" if mode in ("", "base", "n/a") else f" ({mode})"
            ax.set_xlabel(
                f"population-weighted mean travel to the hub{words} (minutes){estimate}"
                + (f"\n({n_missing} grid point(s) without a valid plan not shown)" if n_missing else "")
            )
            ax.set_ylabel(f"capital cost (GBP millions){placeholder}")
            heading = title if len(modes) == 1 else f"{title}: {mode}"
            ax.set_title(chart_text(heading + (f"{placeholder}" if len(modes) == 1 else "")), loc="left")
            if len(mine):
                ax.legend(fontsize=8, frameon=False, loc="best")
            ax.grid(True, color="#e5e5e5", linewidth=0.6, zorder=0)
        if len(modes) > 1:
            fig.subplots_adjust(wspace=0.3)
        return fig


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if kind == "money":
        return escape(money_words(float(value)))
    if kind == "people":
        return f"{float(value):,.0f}"
    if kind == "min":
        return f"{float(value):.2f}"
    if kind == "gap":
        return escape(gap_words(float(value)))
    if kind == "bool":
        return "yes" if bool(value) else "no"
    return escape(str(value))


def sweep_report_html(
    table: pd.DataFrame,
    *,
    title: str,
    base: str,
    not_applicable: Mapping[str, str] | None = None,
    chart_svg: str | None = None,
    runtime_s: float | None = None,
    travel_label: str = "",
    plan_links: Mapping[str, str] | None = None,
    estimate: str = "",
    objective_estimate: str = "",
) -> str:
    """The sweep report as one self-contained HTML page.

    Parameters
    ----------
    table
        The sweep table.
    title
        Name of the sweep.
    base
        The base scenario, in words.
    not_applicable
        Axis -> why it was not expanded.
    chart_svg
        The Pareto chart as inline SVG (default: drawn from ``table``).
    runtime_s
        Seconds the sweep took.
    travel_label
        Where the travel times come from.
    plan_links
        Plan id -> relative link (e.g. ``plans/P001/report.html``).
    estimate, objective_estimate
        What follows the travel headings and the objective's
        (:func:`catchment.metrics.travel_times_label` and
        :func:`~catchment.metrics.objective_estimate_label` of the sweep's problem).

    Returns
    -------
    str
    """
    if chart_svg is None:
        chart_svg = figure_svg(pareto_figure(table, estimate=estimate), name="pareto front")
    counts = table["status"].value_counts().to_dict()
    n_valid = int(table["validated"].fillna(False).astype(bool).sum())
    modes = list(dict.fromkeys(table["mode"].astype(str)))
    per_mode = len(modes) > 1
    front_words = "on a Pareto front (one per mode)" if per_mode else "on the Pareto front"
    cards: list[tuple[str, int | str]] = [
        ("grid points", len(table)),
        ("valid plans", n_valid),
        (front_words, int(table["pareto"].sum())),
        ("infeasible", counts.get("infeasible", 0)),
        ("invalid rules", counts.get("invalid", 0)),
        ("no plan in time", counts.get("unsolved", 0)),
    ]
    if runtime_s is not None:
        cards.append(("seconds", f"{runtime_s:,.1f}"))
    columns = [
        ("plan_id", "plan", "text"),
        ("floor", "floor", "people"),
        ("polysystems", "polysystems", "text"),
        ("travel_limit_min", "travel limit (min)", "min"),
        ("budget", "budget", "money"),
        ("mode", "mode", "text"),
        ("status", "status", "text"),
        ("objective", f"objective{objective_estimate}", "min"),
        ("gap", "gap", "gap"),
        ("mean_travel_min", f"mean travel (min){estimate}", "min"),
        ("longest_travel_min", f"longest (min){estimate}", "min"),
        ("capital_cost", f"capital{_placeholder(table)}", "money"),
        ("n_polysystems", "count", "people"),
        ("validated", "validated", "bool"),
        ("pareto", "Pareto", "bool"),
    ]
    head = "".join(f'<th class="{"text" if k == "text" else ""}">{escape(label)}</th>' for _, label, k in columns)
    body = []
    for row in table.to_dict("records"):
        no_plan = row["status"] in ("infeasible", "invalid", "unsolved")
        cls = "pareto" if row["pareto"] else ("noplan" if no_plan else "")
        cells = []
        for key, _, kind in columns:
            text = _cell(row[key], kind)
            if key == "status" and row.get("status_label"):  # the honest words, as the plan's report says
                text = _cell(row["status_label"], kind)
            if key == "plan_id" and plan_links and row[key] in plan_links:
                text = f'<a href="{escape(plan_links[row[key]])}">{text}</a>'
            if key in ("travel_limit_min", "budget") and text == "":
                text = "none"
            cells.append(f'<td class="{"text" if kind == "text" else ""}">{text}</td>')
        body.append(f'<tr class="{cls}">{"".join(cells)}</tr>')
    problems = table.loc[table["note"].fillna("").astype(str).str.len() > 0, ["plan_id", "status", "note"]]
    diagnosis = "".join(
        f"<li><b>{escape(r.plan_id)}</b> ({escape(r.status)}): {escape(r.note)}</li>"
        for r in problems.itertuples(index=False)
    )
    travel = f" Travel times: {escape(travel_label)}." if travel_label else ""
    per_mode_words = (
        (", compared only with plans of the same travel mode: one front per mode (" + escape(", ".join(modes)) + ")")
        if per_mode
        else ""
    )
    fronts = (
        "".join(
            f"<li><b>{escape(mode)}</b>: "
            + escape(
                ", ".join(
                    table.loc[(table["mode"].astype(str) == mode) & table["pareto"].astype(bool), "plan_id"].astype(str)
                )
                or "none"
            )
            + "</li>"
            for mode in modes
        )
        if per_mode
        else ""
    )
    placeholder_words = (
        " <b>Capital costs are placeholders</b> (built-in indicative figures, not real estates costs)."
        if _placeholder(table)
        else ""
    )
    na = "".join(
        f"<li><b>{escape(axis)}</b>: not applicable, {escape(why)}</li>" for axis, why in (not_applicable or {}).items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{_PAGE_CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class="note">Base scenario: {escape(base)}.{travel}
Every plan is re-checked by the independent validator; figures are recomputed from the plan.
The Pareto front holds the valid plans that no other plan beats on mean travel, capital cost and
number of polysystems at once (fewer is better on each){per_mode_words}.{placeholder_words}</p>
<div class="cards">{"".join(f'<div class="card"><b>{v}</b>{escape(k)}</div>' for k, v in cards)}</div>
{f"<h2>Axes not applicable</h2><ul>{na}</ul>" if na else ""}
<h2>Mean travel against capital cost</h2>
{chart_svg}
{f'<h2>Pareto front of each travel mode</h2><ul class="fronts">{fronts}</ul>' if fronts else ""}
<h2>Every grid point</h2>
<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
{f"<h2>Points without a plan: why</h2><ul>{diagnosis}</ul>" if diagnosis else ""}
</body></html>
"""


def render_plan_files(
    item: tuple[SweepPoint, Plan | None, str, str, Mapping[str, Any]],
    *,
    bases: Mapping[str | None, BuiltProblem],
    maps: bool = True,
    exports: bool = True,
    pdf: bool = False,
) -> dict[str, bytes]:
    """The files of one grid point's folder, as contents (a Dask task).

    Parameters
    ----------
    item
        ``(point, plan or None, status, note, scenario record)``.
    bases
        Mode -> built base problem (as for :func:`solvers.sweep.run_sweep`).
    maps
        Draw ``map.html``, ``report.html`` and ``map.png``.
    exports
        Write ``plan.xlsx`` and the GeoJSON files (:func:`catchment.exports.write_exports`).
    pdf
        Also write ``report.pdf`` (with the maps).

    Returns
    -------
    dict
        File name -> bytes: the contract files (maps, exports) for a plan, else
        ``diagnosis.txt`` saying why there is none.
    """
    point, plan, status, note, record = item
    if plan is None or not plan.has_plan:
        text = f"{point.plan_id}: {point.label()}\nstatus: {status}\n{note}\n"
        return {"diagnosis.txt": text.encode("utf-8")}
    built = bases[point.params.get("mode")]
    built = dataclasses.replace(built, problem=apply_point(built.problem, point))
    with tempfile.TemporaryDirectory(prefix="catchment-sweep-") as tmp:
        folder = Path(tmp)
        write_outputs(
            folder,
            built,
            plan,
            scenario={**dict(record), "sweep_point": point.plan_id, "sweep_parameters": point.label()},
        )
        if maps:
            from maps import write_plan_outputs

            write_plan_outputs(folder, built, plan, pdf=pdf)
        if exports:
            write_exports(folder, built, plan)
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def write_sweep_outputs(
    folder: str | Path,
    table: pd.DataFrame,
    items: Sequence[tuple[SweepPoint, Plan | None, str, str, Mapping[str, Any]]],
    *,
    bases: Mapping[str | None, BuiltProblem],
    title: str,
    base: str,
    not_applicable: Mapping[str, str] | None = None,
    runtime_s: float | None = None,
    maps: bool = True,
    exports: bool = True,
    pdf: bool = False,
    mapper: Callable[..., list[dict[str, bytes]]] | None = None,
) -> dict[str, Path]:
    """Write a sweep's folder: ``sweep.csv``, ``pareto.png``, ``sweep.html``, ``plans/<id>/``.

    Parameters
    ----------
    folder
        An existing folder (normally a :func:`catchment.outputs.atomic_output_dir`).
    table
        The sweep table.
    items
        One ``(point, plan or None, status, note, scenario record)`` per row, in order.
    bases
        Mode -> built base problem.
    title, base, not_applicable, runtime_s
        For the report (see :func:`sweep_report_html`).
    maps
        Draw the maps of every plan.
    exports, pdf
        Write every plan's exports, and its report as PDF (see :func:`render_plan_files`).
    mapper
        ``mapper(func, items, shared=...) -> list`` to render the plan folders, e.g.
        :func:`solvers.distributed.map_tasks` bound to a Dask client; default: in order, here.

    Returns
    -------
    dict
        File name -> path (the plans' folders under ``plans``).
    """
    folder = Path(folder)
    paths = {name: folder / name for name in SWEEP_FILES}
    table.to_csv(paths["sweep.csv"], index=False)
    problem = next(iter(bases.values())).problem if bases else None  # every base: the same travel source
    estimate = "" if problem is None else travel_times_label(problem)
    fig = pareto_figure(table, estimate=estimate)
    with rc_context(STYLE):
        fig.savefig(paths["pareto.png"], dpi=150, bbox_inches="tight")
    shared: dict[str, Any] = {"bases": bases, "maps": maps, "exports": exports, "pdf": pdf and maps}
    if mapper is None:
        rendered = [render_plan_files(item, **shared) for item in items]
    else:
        rendered = mapper(render_plan_files, list(items), shared=shared)
    plans = folder / "plans"
    plans.mkdir(exist_ok=True)
    links = {}
    for (point, *_), files in zip(items, rendered, strict=True):
        sub = plans / point.plan_id
        sub.mkdir()
        for name, content in files.items():
            (sub / name).write_bytes(content)
        main = "report.html" if "report.html" in files else next(iter(files))
        links[point.plan_id] = f"plans/{point.plan_id}/{main}"
    travel = "" if problem is None else problem.travel_label
    report = sweep_report_html(
        table,
        title=title,
        base=base,
        not_applicable=not_applicable,
        chart_svg=figure_svg(fig, name="pareto front"),
        runtime_s=runtime_s,
        travel_label=travel,
        plan_links=links,
        estimate=estimate,
        objective_estimate="" if problem is None else objective_estimate_label(problem),
    )
    paths["sweep.html"].write_text(report, encoding="utf-8")
    paths["plans"] = plans
    logger.info("sweep report and %d plan folder(s) written to %s", len(items), folder)
    return paths
