"""Benchmark: the national run (135 CCGs), wall and CPU time by phase.

Runs what ``optimise.py national`` runs — load the published files and build one
subproblem per CCG, solve them on a local Dask cluster, write the tables — and prints,
for each phase, the wall-clock seconds and the CPU seconds (this process, plus the Dask
workers' during the solves), with the CCGs proven optimal. The machine may be shared:
the CPU seconds are the figures to compare, the wall-clock ones depend on the load.

``--baseline DIR`` compares with the output folder of an earlier run (e.g. of an older
commit, ``optimise.py national --out DIR``): the CCGs proven optimal in each, and whether
the CCGs proven optimal in both have the same plan (``assignments.csv`` compared practice
by practice). ``--doc`` writes the "National run" block of ``docs/benchmarks.md``.

Run on demand, not in the test suite::

    python bench/national.py --out /tmp/national --baseline /tmp/national-base --doc
    python bench/national.py --ccg 08N 07W     # a few CCGs, a smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.docsections import write_section  # noqa: E402
from catchment import outputs  # noqa: E402
from catchment.national import national_subproblems  # noqa: E402
from catchment.settings import COMMAND_TIME_LIMIT_S  # noqa: E402
from solvers.batch import SolveOptions  # noqa: E402
from solvers.distributed import dask_client  # noqa: E402
from solvers.national import solve_national  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: The figures of the last run, kept in its output folder (``--report-only`` reads them).
FIGURES = "bench-national.json"
#: The national command's gap per CCG (``optimise.py national --mip-gap``).
MIP_GAP = 1e-3


def _cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


@contextmanager
def phase(figures: dict[str, Any], name: str, extra_cpu: Callable[[], float] | None = None) -> Iterator[None]:
    """Record ``<name>_wall_s`` and ``<name>_cpu_s`` of the block into ``figures``."""
    wall, cpu = time.perf_counter(), _cpu()
    extra = extra_cpu() if extra_cpu else 0.0
    yield
    figures[f"{name}_wall_s"] = round(time.perf_counter() - wall, 2)
    more = (extra_cpu() - extra) if extra_cpu else 0.0
    figures[f"{name}_cpu_s"] = round(_cpu() - cpu + more, 2)


def workers_cpu(client: Any) -> float:
    """CPU seconds used so far by every worker process of ``client``."""
    return float(sum(client.run(time.process_time).values()))


def compare_with(baseline: Path, out: Path) -> dict[str, Any]:
    """CCGs proven optimal in each run, and whether those optimal in both have the same plan."""
    old_ccg = pd.read_csv(baseline / "ccg_summary.csv", dtype={"ccg_code": str}).set_index("ccg_code")
    new_ccg = pd.read_csv(out / "ccg_summary.csv", dtype={"ccg_code": str}).set_index("ccg_code")
    both = sorted(
        set(old_ccg.index[old_ccg["status"] == "optimal"]) & set(new_ccg.index[new_ccg["status"] == "optimal"])
    )
    old_a = pd.read_csv(baseline / "assignments.csv", dtype=str)
    new_a = pd.read_csv(out / "assignments.csv", dtype=str)
    differ = []
    for ccg in both:
        a = old_a.loc[old_a["ccg_code"] == ccg].set_index("unit_id")["polysystem_id"].sort_index()
        b = new_a.loc[new_a["ccg_code"] == ccg].set_index("unit_id")["polysystem_id"].sort_index()
        if not a.equals(b):
            differ.append(ccg)
    common = old_ccg.index.intersection(new_ccg.index)
    travel = pd.DataFrame(
        {"old": old_ccg.loc[common, "mean_travel_min"], "new": new_ccg.loc[common, "mean_travel_min"]}
    ).dropna()
    unproven = travel.loc[(old_ccg.loc[travel.index, "status"] != "optimal")]
    worse = 100.0 * (unproven["new"] - unproven["old"]) / unproven["old"]
    lost = travel.loc[
        (old_ccg.loc[travel.index, "status"] == "optimal") & (new_ccg.loc[travel.index, "status"] != "optimal")
    ]
    population = old_ccg.loc[travel.index, "population"]
    old_json = baseline / "national.json"
    old = json.loads(old_json.read_text()) if old_json.is_file() else {}
    timed = baseline / FIGURES  # the figures of a baseline run by this script: its whole wall time
    total = json.loads(timed.read_text()).get("total_wall_s") if timed.is_file() else old.get("total_s")
    return {
        "baseline": str(baseline),
        "baseline_commit": old.get("git_commit") or old.get("engine", {}).get("git_commit"),
        "baseline_total_s": total,
        "baseline_load_s": old.get("load_s"),
        "baseline_solve_s": old.get("solve_s"),
        "baseline_optimal": int((old_ccg["status"] == "optimal").sum()),
        "optimal_in_both": len(both),
        "same_plan_where_optimal_in_both": len(both) - len(differ),
        "different_plan_where_optimal_in_both": differ,
        "proven_in_baseline_only": sorted(lost.index),
        "proven_in_baseline_only_plan_worse": sorted(lost.index[lost["new"] > lost["old"] + 1e-9]),
        "national_mean_travel_min": {
            "baseline": round(float((travel["old"] * population).sum() / population.sum()), 4),
            "this_run": round(float((travel["new"] * population).sum() / population.sum()), 4),
        },
        "ccgs_unproven_in_baseline": len(unproven),
        "unproven_mean_travel_change_pct": {
            "mean": round(float(worse.mean()), 3) if len(worse) else None,
            "max": round(float(worse.max()), 3) if len(worse) else None,
            "min": round(float(worse.min()), 3) if len(worse) else None,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, solve and write once; the figures."""
    figures: dict[str, Any] = {"workers": args.workers, "time_limit_per_ccg_s": args.time_limit, "mip_gap": MIP_GAP}
    started_wall = time.perf_counter()
    with phase(figures, "load"):
        national = national_subproblems(args.data_dir, ccgs=args.ccg)
    options = SolveOptions(time_limit=args.time_limit, mip_gap=MIP_GAP)
    wall, cpu = time.perf_counter(), _cpu()
    with dask_client(workers=args.workers) as client:
        figures["start_wall_s"] = round(time.perf_counter() - wall, 2)  # the cluster (this process's CPU)
        figures["start_cpu_s"] = round(_cpu() - cpu, 2)
        with phase(figures, "solve", extra_cpu=lambda: workers_cpu(client)):
            result = solve_national(national, options=options, client=client)
        solve_cpu = figures["solve_cpu_s"]
    args.out.mkdir(parents=True, exist_ok=True)
    with phase(figures, "write"):
        result.write_tables(args.out)
        summary = result.summary()
        summary.update(outputs.provenance())
        (args.out / "national.json").write_text(json.dumps(outputs.json_safe(summary), indent=2) + "\n")
    statuses = result.ccg_summary()["status"].value_counts().to_dict()
    figures.update(
        ccgs=len(result.outcomes),
        ccg_status={str(k): int(v) for k, v in statuses.items()},
        optimal=int(statuses.get("optimal", 0)),
        total_wall_s=round(time.perf_counter() - started_wall, 2),
        solve_cpu_s=solve_cpu,
    )
    figures["total_cpu_s"] = round(sum(figures[f"{name}_cpu_s"] for name in ("load", "start", "solve", "write")), 2)
    (args.out / FIGURES).write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def add_comparison(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Compare with ``--baseline`` (when given) into ``figures["comparison"]``."""
    if args.baseline is not None:
        figures["comparison"] = compare_with(args.baseline, args.out)
        figures["comparison"]["baseline_commit"] = args.baseline_label or figures["comparison"]["baseline_commit"]


#: CCGs named in the block's line on where the solve time went.
SLOWEST = 8


def slowest_ccgs(out: Path) -> str:
    """Where the solve time went: the :data:`SLOWEST` longest CCG solves of the run in ``out``."""
    path = out / "ccg_summary.csv"
    if not path.is_file():
        return ""
    table = pd.read_csv(path, dtype={"ccg_code": str}).dropna(subset=["runtime_s"])
    total = float(table["runtime_s"].sum())
    top = table.sort_values(["runtime_s", "ccg_code"], ascending=[False, True]).head(SLOWEST)
    each = ", ".join(
        f"{r.ccg_code} {r.runtime_s:.1f}" + ("" if r.status == "optimal" else f" ({r.status}, gap {r.gap:.2%})")
        for r in top.itertuples()
    )
    return (
        f"Solve seconds of each CCG (wall, in its worker) add up to {total:.0f} s; the {len(top)} longest take "
        f"{float(top['runtime_s'].sum()):.0f} s of them: {each}."
    )


def markdown(args: argparse.Namespace, figures: dict[str, Any]) -> str:
    """The "National run" block of docs/benchmarks.md."""
    lines = [
        f"`python bench/national.py --out {args.out}"
        + (f" --baseline {args.baseline}" if args.baseline else "")
        + f" --workers {args.workers} --time-limit {figures['time_limit_per_ccg_s']:g} --doc` "
        f"({figures['ccgs']} CCGs, HiGHS, gap {MIP_GAP:g}, "
        f"{figures['time_limit_per_ccg_s']:g} s per CCG, a local Dask cluster of {args.workers} workers on a "
        "shared 2-core machine: CPU seconds are the figures to compare, wall-clock ones depend on the load).",
        "",
        "| phase | wall s | CPU s |",
        "|---|---:|---:|",
    ]
    for name in ("load", "start", "solve", "write"):
        lines.append(f"| {name} | {figures[f'{name}_wall_s']:.1f} | {figures[f'{name}_cpu_s']:.1f} |")
    lines.append(f"| **total** | **{figures['total_wall_s']:.1f}** | **{figures['total_cpu_s']:.1f}** |")
    lines += ["", f"CCG statuses: {', '.join(f'{k} {v}' for k, v in figures['ccg_status'].items())}."]
    slowest = slowest_ccgs(args.out)
    if slowest:
        lines += ["", slowest]
    comparison = figures.get("comparison")
    if comparison:
        change = comparison["unproven_mean_travel_change_pct"]
        lines += [
            "",
            f"Against the baseline run in `{comparison['baseline']}` (commit {comparison['baseline_commit']}, "
            + (
                f"{comparison['baseline_total_s']:.0f} s wall: "
                if comparison["baseline_total_s"] is not None
                else "total wall time not recorded: "
            )
            + f"data {comparison['baseline_load_s']:.0f} s, "
            f"solves {comparison['baseline_solve_s']:.0f} s): {comparison['baseline_optimal']} CCGs proven optimal "
            f"there, {figures['optimal']} here; {comparison['optimal_in_both']} in both, of which "
            f"{comparison['same_plan_where_optimal_in_both']} have the same plan"
            + (
                f" (different: {', '.join(comparison['different_plan_where_optimal_in_both'])})"
                if comparison["different_plan_where_optimal_in_both"]
                else ""
            )
            + f". Proven in the baseline only: {', '.join(comparison['proven_in_baseline_only']) or 'none'}"
            + f" (a worse plan here: {', '.join(comparison['proven_in_baseline_only_plan_worse']) or 'none'}). "
            + (
                f"On the {comparison['ccgs_unproven_in_baseline']} CCGs the baseline did not prove, mean travel "
                f"changes by {change['mean']}% on average (from {change['min']}% to {change['max']}%; positive = "
                "longer here); "
                if comparison["ccgs_unproven_in_baseline"]
                else "The baseline proved every CCG; "
            )
            + f"patient-weighted national mean travel {comparison['national_mean_travel_min']['baseline']} "
            f"min in the baseline, {comparison['national_mean_travel_min']['this_run']} min here.",
        ]
    if args.note:
        lines += ["", args.note]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-national"), help="output folder")
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (default: CATCHMENT_DATA_DIR)")
    parser.add_argument("--ccg", nargs="+", default=None, help="only these CCGs")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument(
        "--time-limit", type=float, default=COMMAND_TIME_LIMIT_S, help="seconds per CCG (the command's default)"
    )
    parser.add_argument("--baseline", type=Path, default=None, help="output folder of an earlier national run")
    parser.add_argument("--baseline-label", default=None, help="what the baseline is (e.g. its commit)")
    parser.add_argument(
        "--report-only", action="store_true", help="do not run: report the figures kept in --out by an earlier run"
    )
    parser.add_argument("--note", default="", help="a paragraph appended to the block (e.g. how the baseline ran)")
    parser.add_argument("--doc", action="store_true", help="write the block of docs/benchmarks.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    for name in ("catchment.build", "catchment.travel"):
        logging.getLogger(name).setLevel(logging.WARNING)
    figures = json.loads((args.out / FIGURES).read_text()) if args.report_only else run(args)
    add_comparison(args, figures)
    if args.doc:
        write_section(DOC, "national-run", "National run", markdown(args, figures), script="bench/national.py")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
