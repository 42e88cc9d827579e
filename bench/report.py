"""Regenerate ``docs/benchmarks.md`` and its chart from the saved benchmark results.

``bench/run.py`` saves one JSON file per instance in ``bench/results/``; this script reads
the latest of each, writes the tables (our solver, the baselines, the goals) with the
date, machine and versions they were measured on, and draws total time against problem
size (log-log). With ``--run`` it first runs the instances, one after the other, each in
its own ``bench/run.py`` process.

Usage::

    python bench/report.py                      # tables and chart from bench/results/*.json
    python bench/report.py --run                # run every instance first (long: about 2 hours)
    python bench/report.py --run redbridge-practices synthetic-1k
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.baselines import BASELINES  # noqa: E402
from bench.instances import INSTANCES  # noqa: E402

__all__ = ["load_results", "render_markdown", "plot_time_vs_size", "run_instances", "goals", "speedup_of", "main"]

logger = logging.getLogger("bench.report")

RESULTS_DIR = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks-time-vs-size.png"
_FAILED = ("timeout", "memory limit", "crashed", "error", "unsolved", "skipped")
_LABELS = {"ours": "ours (HiGHS)", "spopt-pmedian": "spopt PMedian + CBC (no floor)", "dense-cbc": "dense PuLP + CBC"}


# ---------------------------------------------------------------------------- reading
def load_results(results_dir: str | Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Saved run results, one per instance, in the order of :data:`bench.instances.INSTANCES`.

    Parameters
    ----------
    results_dir
        Folder of ``<instance>.json`` files written by ``bench/run.py``.

    Returns
    -------
    list of dict
        Known instances first (registry order), then any others by name.

    Raises
    ------
    ValueError
        If a file is not a JSON object with an ``instance`` key (the file is named).
    """
    results = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or "instance" not in data:
            raise ValueError(f"{path}: not a bench/run.py result (no 'instance' key)")
        results.append(data)
    order = {name: k for k, name in enumerate(INSTANCES)}
    return sorted(results, key=lambda r: (order.get(r["instance"], len(order)), r["instance"]))


# ---------------------------------------------------------------------------- formatting
def _s(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _mb(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, (int, float)) and value > 0 else "–"


def _gap(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "–"


def _ratio(value: Any, lower_bound: bool = False) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    return f"{'≥ ' if lower_bound else ''}{value:,.2f}×" if value < 1 else f"{'≥ ' if lower_bound else ''}{value:,.1f}×"


def speedup_of(result: dict[str, Any], base: str, *, key: str = "total_s") -> tuple[float | None, bool]:
    """Baseline time / our time, and whether that is only a lower bound.

    Parameters
    ----------
    result
        One run result.
    base
        Baseline name.
    key
        ``"total_s"`` (build + solve) or ``"solve_s"``.

    Returns
    -------
    (ratio, lower_bound)
        ``ratio`` is ``None`` when it cannot be measured (no plan of ours, the baseline ran
        out of memory, crashed or was skipped); ``lower_bound`` is true when the baseline
        was stopped (timeout) or gave up without a plan: it would have needed longer.
    """
    figures = result.get("baseline", {}).get(base)
    ours = result.get(key)
    if not figures or result.get("status") not in ("optimal", "feasible") or not isinstance(ours, (int, float)):
        return None, False
    status = figures.get("status")
    if status in ("optimal", "feasible"):
        theirs, lower = figures.get(key), False
    elif status in ("timeout", "unsolved") and key == "total_s":
        theirs, lower = figures.get("total_s", figures.get("wall_s")), True
    else:
        return None, False
    if not isinstance(theirs, (int, float)) or ours <= 0:
        return None, False
    return theirs / ours, lower


def _cpu(figures: dict[str, Any]) -> str:
    cpu, wall = figures.get("cpu_s"), figures.get("wall_s")
    if not isinstance(cpu, (int, float)) or not isinstance(wall, (int, float)) or wall <= 0:
        return "–"
    return f"{cpu / wall:.0%}"


def _status(figures: dict[str, Any]) -> str:
    status = str(figures.get("status", "–"))
    if status in ("timeout", "memory limit", "crashed", "error"):
        return f"**{status}**"
    return status


def _polysystems(figures: dict[str, Any]) -> str:
    n = figures.get("polysystems")
    if not n:
        return "–"
    under = figures.get("polysystems_under_floor") or 0
    return f"{n} ({under} under floor)" if under else str(n)


def goals(results: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The project's speed goals, each with what was measured and whether it is reached.

    Parameters
    ----------
    results
        Run results (:func:`load_results`).

    Returns
    -------
    list of (goal, measured, verdict)
        ``verdict`` is ``"reached"``, ``"not reached"``, ``"not measured"`` or, for the
        speed-up judged per instance, ``"**partly**: reached on ... only"``.
    """
    by = {r["instance"]: r for r in results}
    out = []

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else "reached" if ok else "not reached"

    r = by.get("redbridge-practices")
    out.append(
        (
            "redbridge-practices proven optimal in under 1 s total",
            "–"
            if r is None
            else f"{r.get('status')}, total {_s(r.get('total_s'))} s "
            f"(build {_s(r.get('build_s'))} s from the build cache + solve {_s(r.get('solve_s'))} s; "
            f"the first build, from the files, {_s(r.get('first_build_s'))} s)",
            verdict(None if r is None else r.get("status") == "optimal" and (r.get("total_s") or 1e9) < 1.0),
        )
    )
    for name, limit, memory in (("london-practices", 120.0, None), ("london-lsoa", 600.0, 8192.0)):
        r = by.get(name)
        text = f"{name}{' contiguous' if name == 'london-lsoa' else ''} gap ≤ 1% in under {limit / 60:g} min"
        if memory:
            text += f", peak memory < {memory / 1024:g} GB"
        if r is None:
            out.append((text, "–", verdict(None)))
            continue
        ok = (
            r.get("gap") is not None
            and r["gap"] <= 0.01
            and r.get("status") in ("optimal", "feasible")
            and (r.get("total_s") or 1e9) < limit
        )
        measured = (
            f"{r.get('status')}, gap {_gap(r.get('gap'))}, total {_s(r.get('total_s'))} s, "
            f"peak {_mb(r.get('peak_mb'))} MB"
        )
        if memory:
            ok = ok and (r.get("peak_mb") or 1e12) < memory
        out.append((text, measured, verdict(ok)))
    speedups = []
    for r in results:
        value, lower = speedup_of(r, "spopt-pmedian")
        if value is not None:
            speedups.append((r["instance"], value, lower))
    measured = ", ".join(f"{n} {_ratio(v, lb)}" for n, v, lb in speedups) or "–"
    out.append(
        (
            "≥ 10× faster than spopt PMedian + CBC on the same instance (total time)",
            measured,
            _partly([n for n, v, _ in speedups if v >= 10], [n for n, _, _ in speedups]),
        )
    )
    return out


def _partly(reached: Sequence[str], measured: Sequence[str]) -> str:
    """Verdict of a goal judged per instance: reached on all, on some (named), or on none."""
    if not measured:
        return "not measured"
    if len(reached) == len(measured):
        return "reached"
    if reached:
        return f"**partly**: reached on {', '.join(reached)} only"
    return "not reached"


def render_markdown(results: Sequence[dict[str, Any]], *, chart_name: str | None = CHART.name) -> str:
    """The text of ``docs/benchmarks.md`` for these results.

    Parameters
    ----------
    results
        Run results (:func:`load_results`).
    chart_name
        File name of the chart next to the document (``None``: no chart).

    Returns
    -------
    str
        Markdown.
    """
    lines = ["# Benchmarks", ""]
    if not results:
        return "\n".join(lines + ["No results yet: run `python bench/report.py --run`.", ""])
    dates = sorted(r.get("date", "") for r in results)
    machine = results[-1].get("machine", {})
    versions = machine.get("versions", {})
    lines += [
        "Generated by `python bench/report.py` from `bench/results/*.json` (written by `bench/run.py`). "
        "Do not edit by hand: rerun the script.",
        "",
        f"- Measured: {dates[0][:16].replace('T', ' ')} to {dates[-1][:16].replace('T', ' ')} UTC.",
        f"- Machine: {machine.get('cpu_count', '?')} CPUs, {machine.get('memory_gb', '?')} GB RAM, "
        f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".",
        "- Every side (ours, each baseline) runs in its own fresh process, one after the other: it builds "
        "the instance from the data files, solves, then validates the plan with "
        "`catchment.validate.validate_plan`. `build` = reading the data and building the problem; "
        "`solve` = everything after (model, heuristic, solver, reading the plan back); `total` = build + solve. "
        "Peak memory = the largest resident set size of the process and the solver program it runs "
        "(CBC is a separate program; HiGHS runs in-process).",
        "- Baselines get the same time limit as ours (model building included) and are killed at "
        "1.25 × limit + 120 s (`timeout`); their address space is capped at 12 GB (`memory limit`). "
        "CBC runs on one thread (its default); HiGHS uses its default threads.",
        "- Travel times are crow-fly estimates (straight line × 1.3 at 25 km/h): no road network of Redbridge "
        "or London is available offline. Practice units travel as the patient-weighted mean over the LSOAs "
        "where their patients live.",
        "",
        "Reproduce: `python bench/report.py --run` (all instances, about 2 hours on 2 CPUs), or "
        "`python bench/run.py NAME` then `python bench/report.py`.",
        "",
        "## Instances",
        "",
        "| instance | units | sites | unit-site pairs | population | rules | time limit | gap asked |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        rules = f"floor {r.get('floor', 0):,.0f}" + (", contiguous" if r.get("contiguity") else "")
        lines.append(
            f"| `{r['instance']}` | {r.get('units', 0):,} | {r.get('sites', 0):,} | {r.get('pairs', 0):,} | "
            f"{r.get('population', 0):,.0f} | {rules} | {r.get('time_limit', 0):g} s | {_gap(r.get('mip_gap'))} |"
        )
    lines += ["", *(f"- `{r['instance']}`: {r.get('description', '')}" for r in results)]

    lines += [
        "",
        "## Our solver",
        "",
        "`load` is the machine's 1-minute load average when the side's process started (2 CPUs; it includes "
        "the previous side, just ended). `cpu/wall` is the CPU time the process and its solver program used "
        "over its wall-clock time: about 100% means it had a core to itself (HiGHS ran on one thread here); "
        "well below means other work was competing and the times are inflated.",
        "",
        "`method`: `mip` = one MIP over each unit's nearest sites; `lns` = large-neighbourhood search with "
        "exact sub-models on worker processes (`solvers.lns`), started (when far from the bound, without "
        "contiguity) by a MIP over the relaxation's support, its gap measured against the LP relaxation of "
        "the whole model, priced over every unit-site pair. `build s` reads the build cache (filled by a "
        "warm-up build just before, so that every side reads it too); `first build s` is that warm-up "
        "(from the files when the cache was empty).",
        "",
        "| instance | method | status | gap | polysystems | first build s | build s | solve s | total s | peak MB "
        "| valid | load | cpu/wall |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        load = r.get("load_before")
        method = r.get("stats", {}).get("method", "mip")
        lines.append(
            f"| `{r['instance']}` | {method} | {_status(r)} | {_gap(r.get('gap'))} | {_polysystems(r)} | "
            f"{_s(r.get('first_build_s'))} | {_s(r.get('build_s'))} | "
            f"{_s(r.get('solve_s'))} | {_s(r.get('total_s'))} | {_mb(r.get('peak_mb'))} | "
            f"{'yes' if r.get('valid') else '**no**'} | {'–' if load is None else f'{load:.1f}'} | {_cpu(r)} |"
        )

    lines += [
        "",
        "## Baselines",
        "",
        "Speed-up = baseline total time / ours (≥ when the baseline was killed or gave up without a plan; "
        "– when it ran out of memory); solve speed-up compares the solve phases only. "
        "Mean travel is the population-weighted mean minutes of each plan, recomputed by "
        "`catchment.metrics`; the p-median has no floor, so its plans are shorter but break the rules "
        "(polysystems under the floor are counted by the validator).",
        "",
        "`measured`: when the baseline ran (a date before ours: its figures were kept from an earlier run "
        "with `--reuse-baselines`, the baselines being independent of our solver; spopt's p is the count "
        "of polysystems of our plan then).",
        "",
        "| instance | baseline | status | gap | polysystems | total s | peak MB | speed-up | solve speed-up "
        "| mean travel (ours) | measured |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        for base in BASELINES:
            f = r.get("baseline", {}).get(base)
            if f is None:
                continue
            speedup, lb = speedup_of(r, base)
            solve_speedup, _ = speedup_of(r, base, key="solve_s")
            travel = "–"
            if f.get("mean_travel_min") is not None and r.get("mean_travel_min") is not None:
                travel = f"{f['mean_travel_min']:.2f} ({r['mean_travel_min']:.2f}) min"
            total = (
                f.get("total_s", f.get("wall_s"))
                if f.get("status") not in ("memory limit", "crashed", "error")
                else None
            )
            lines.append(
                f"| `{r['instance']}` | {base} | {_status(f)} | {_gap(f.get('gap'))} | {_polysystems(f)} | "
                f"{'≥ ' if lb else ''}{_s(total)} | {_mb(f.get('peak_mb'))} | {_ratio(speedup, lb)} | "
                f"{_ratio(solve_speedup)} | {travel} | {str(f.get('measured', r.get('date', '')))[:10]} |"
            )

    lines += ["", "## Goals", "", "| goal | measured | verdict |", "|---|---|---|"]
    for goal, measured, verdict in goals(results):
        lines.append(f"| {goal} | {measured} | {verdict if verdict != 'not reached' else '**not reached**'} |")

    if chart_name:
        lines += [
            "",
            "## Time against size",
            "",
            f"![Total time against unit-site pairs]({chart_name})",
            "",
            "Log-log. Hollow markers: the baseline was stopped (time or memory limit) or found no plan; "
            "they sit at the time it had used. Dashed lines join the synthetic ladder.",
        ]

    lines += ["", "## Notes from the runs", ""]
    for r in results:
        notes = [str(n) for n in r.get("notes", [])]
        stats = r.get("stats", {})
        if stats.get("heuristic_objective") is not None and r.get("objective"):
            notes.append(f"heuristic start {stats['heuristic_objective']:.3f} vs final {r['objective']:.3f}")
        lns = stats.get("lns")
        if lns and r.get("objective"):
            notes.append(
                f"neighbourhood search: relaxation {lns['relaxation_s']:.1f} s ({lns['pricing_rounds']} pricing "
                f"round(s), {lns['pairs_priced_in']:,} pair(s) priced in), start ({lns['start']}) "
                f"{stats.get('start_objective', float('nan')):.3f} vs final {r['objective']:.3f}, "
                f"{lns['submodels']} sub-model(s) of which {lns['improved']} improved the plan"
            )
            support = lns.get("support")
            if support and support.get("objective") is not None:
                notes.append(
                    f"MIP over the relaxation's support ({support['pairs']:,} pairs, {support['sites']} sites): "
                    f"{support['objective']:.3f} in {support['seconds']:.1f} s ("
                    + (
                        "optimal over the support"
                        if support["status"] == "optimal"
                        else "stopped at the gap target or its time limit"
                    )
                    + ")"
                )
        if stats.get("contiguity"):
            notes.append(
                f"contiguity: {stats.get('contiguity')}, {stats.get('rounds')} round(s), "
                f"{stats.get('contiguity_cuts')} cut(s)"
            )
        for base, f in r.get("baseline", {}).items():
            if f.get("error"):
                after = f" after {f['wall_s']:.0f} s" if isinstance(f.get("wall_s"), (int, float)) else ""
                notes.append(f"{base}: {f.get('status')}{after}: {f['error']}")
            elif f.get("stats", {}).get("cbc_result"):
                notes.append(f"{base}: CBC {f['stats']['cbc_result']}; {f['stats'].get('n_variables', 0):,} variables")
        if notes:
            lines.append(f"- `{r['instance']}`: " + "; ".join(notes) + ".")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- chart
def plot_time_vs_size(results: Sequence[dict[str, Any]], path: str | Path = CHART) -> Path:
    """Draw total time against unit-site pairs (log-log) for ours and the baselines.

    Parameters
    ----------
    results
        Run results (:func:`load_results`).
    path
        Where to write the PNG.

    Returns
    -------
    Path
        The file written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"ours": ("o", "#1b6ca8"), "spopt-pmedian": ("s", "#d1495b"), "dense-cbc": ("^", "#66a182")}
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    for side, (marker, colour) in styles.items():
        xs, ys, hollow_x, hollow_y = [], [], [], []
        for r in results:
            figures = r if side == "ours" else r.get("baseline", {}).get(side)
            if not figures or not r.get("pairs"):
                continue
            total = figures.get("total_s", figures.get("wall_s"))
            if not isinstance(total, (int, float)):
                continue
            if figures.get("status") in _FAILED:
                hollow_x.append(r["pairs"])
                hollow_y.append(total)
            else:
                xs.append(r["pairs"])
                ys.append(total)
        ax.scatter(xs, ys, marker=marker, color=colour, s=48, label=_LABELS[side], zorder=3)
        if hollow_x:
            ax.scatter(
                hollow_x,
                hollow_y,
                marker=marker,
                facecolors="none",
                edgecolors=colour,
                s=64,
                zorder=3,
                label=f"{_LABELS[side]}: stopped / no plan",
            )
    for side, (_marker, colour) in styles.items():
        ladder = []
        for r in results:
            figures = r if side == "ours" else r.get("baseline", {}).get(side)
            if r.get("kind") == "synthetic" and figures and figures.get("status") not in _FAILED:
                ladder.append((r["pairs"], figures.get("total_s")))
        if len(ladder) > 1:
            ladder.sort()
            ax.plot(*zip(*ladder, strict=True), linestyle="--", linewidth=1, color=colour, alpha=0.6, zorder=2)
    for r in results:
        if r.get("pairs") and isinstance(r.get("total_s"), (int, float)):
            ax.annotate(
                r["instance"],
                (r["pairs"], r["total_s"]),
                textcoords="offset points",
                xytext=(6, -10),
                fontsize=7,
                color="#333333",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("unit-site pairs (units × candidate hub sites)")
    ax.set_ylabel("total time, s (build + solve)")
    ax.set_title("Polysystem planning: time against problem size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------- running
def run_instances(names: Sequence[str], *, extra_args: Sequence[str] = ()) -> list[str]:
    """Run ``bench/run.py`` for each instance, one after the other.

    Parameters
    ----------
    names
        Instance names.
    extra_args
        Arguments passed to every run (e.g. ``["--no-baseline"]``).

    Returns
    -------
    list of str
        The instances whose run failed (non-zero exit).

    Raises
    ------
    KeyError
        If a name is unknown.
    """
    unknown = [n for n in names if n not in INSTANCES]
    if unknown:
        raise KeyError(f"unknown instance(s) {', '.join(unknown)}; choose from {', '.join(INSTANCES)}")
    failed = []
    for name in names:
        logger.info("running %s", name)
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), name, *extra_args], check=False)
        if done.returncode != 0:
            failed.append(name)
    return failed


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Regenerate docs/benchmarks.md and its chart.")
    parser.add_argument(
        "--run", nargs="*", metavar="INSTANCE", default=None, help="run these instances first (all when none is named)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="with --run: our solver only")
    parser.add_argument("--results", default=str(RESULTS_DIR), help="folder of the saved results")
    parser.add_argument("--out", default=str(DOC), help="Markdown file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    status = 0
    if args.run is not None:
        extra = ["--no-baseline"] if args.no_baseline else []
        failed = run_instances(args.run or list(INSTANCES), extra_args=extra)
        if failed:
            logger.warning("runs that failed or produced an invalid plan: %s", ", ".join(failed))
            status = 1
    results = load_results(args.results)
    out = Path(args.out)
    chart = plot_time_vs_size(results, out.parent / CHART.name) if results else None
    from bench.docsections import keep_sections  # blocks written by the other benchmark scripts

    out.parent.mkdir(parents=True, exist_ok=True)
    previous = out.read_text(encoding="utf-8") if out.exists() else ""
    text = render_markdown(results, chart_name=chart.name if chart else None)
    # the blocks other benchmark scripts wrote (travel times, bounds, ...) are carried over unchanged
    out.write_text(keep_sections(previous, text), encoding="utf-8")
    from bench.orlib import saved_table, write_table  # the known-optima table of bench/orlib.py

    orlib = saved_table()
    if orlib is not None:
        write_table(out, orlib)
    print(f"wrote {out}" + (f" and {chart}" if chart else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
