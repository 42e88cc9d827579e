"""Benchmark runner: solve one instance with our solver and the baselines, print JSON.

Each side (ours, then each baseline) runs in its own freshly spawned process, one after
the other, so that every side is timed on an idle machine and its peak memory is its own:
the process builds the instance from the data, solves, validates the plan with
:func:`catchment.validate.validate_plan` and reports its figures. Peak memory
(``peak_mb``) is the larger of the process's own peak resident set size (``getrusage``,
exact) and the largest resident size of its whole process group sampled every 0.1 s
from ``/proc`` (CBC runs as a separate program in that group; HiGHS runs inside the
process). ``peak_solver_process_mb`` is the sampled peak of the solver program alone.

A side that overruns its time limit by too much is killed (with the CBC program it
started) and reported as ``timeout``; a baseline may be given a memory ceiling
(``--memory-limit-gb``, address space) and is then reported as ``memory limit`` when it
runs out.

Usage::

    python bench/run.py --list
    python bench/run.py redbridge-practices
    python bench/run.py london-practices --time-limit 120
    python bench/run.py london-lsoa --time-limit 600 --baseline dense-cbc

The last line printed is one JSON object (see :func:`run_instance`); the same object is
saved to ``bench/results/<instance>.json`` unless ``--no-save``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.baselines import BASELINES, cbc_path  # noqa: E402
from bench.instances import INSTANCES, build_instance  # noqa: E402

__all__ = ["run_instance", "run_side", "machine_info", "main", "RESULTS_DIR"]

logger = logging.getLogger("bench.run")

#: Where run results are saved, one JSON file per instance.
RESULTS_DIR = ROOT / "bench" / "results"
#: Seconds allowed beyond a side's time limit (building the instance, solver overrun)
#: before it is killed: ``limit * (1 + KILL_SLACK) + KILL_GRACE_S``.
KILL_SLACK = 0.25
KILL_GRACE_S = 120.0
#: Seconds between two samples of a side's memory (its process group, read from /proc).
SAMPLE_S = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------- one side
def _peak_mb() -> float:
    """Peak resident set size (MB) of this process (the kernel's own account)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    """CPU seconds (user + system) used by this process and the solver programs it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _side_worker(conn: Any, side: str, name: str, options: dict[str, Any]) -> None:
    """Body of a side's process: build, solve, validate, send the figures back."""
    os.setsid()  # own process group: the parent can kill us together with CBC
    logging.basicConfig(
        level=options.get("log_level", logging.WARNING), format="%(asctime)s %(processName)s %(name)s: %(message)s"
    )
    limit_gb = options.get("memory_limit_gb")
    if side != "ours" and limit_gb:
        cap = int(limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    figures: dict[str, Any] = {"side": side}
    try:
        figures.update(_run_side_here(side, name, options))
    except MemoryError:
        figures.update(status="memory limit", error=f"ran out of memory (address space capped at {limit_gb} GB)")
    except Exception as exc:  # reported, not raised: the parent writes it into the JSON
        figures.update(status="error", error=f"{type(exc).__name__}: {exc}")
    figures["peak_python_mb"] = round(_peak_mb(), 1)
    figures["cpu_s"] = round(_cpu_s(), 3)
    conn.send(figures)
    conn.close()


def _run_side_here(side: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
    import warnings

    from catchment.metrics import objective_terms
    from catchment.validate import validate_plan

    with warnings.catch_warnings():
        # the loaders warn about the odd practice without coordinates; the run says how many units it has
        warnings.simplefilter("ignore")
        built = build_instance(name, data_dir=options.get("data_dir"))
    problem = built.problem
    figures: dict[str, Any] = {"build_s": round(built.build_s, 3)}
    if side == "build":  # the warm-up: fills the build cache so that every timed side reads it
        return figures
    if side == "ours":
        from solvers import solve

        started = time.perf_counter()
        plan = solve(
            problem,
            solver=options["solver"],
            time_limit=options["time_limit"],
            mip_gap=options["mip_gap"],
            threads=options.get("threads"),
            method=options.get("method", "auto"),
            workers=options.get("workers"),
        )
        solve_s = time.perf_counter() - started
        figures["describe"] = built.describe()
        stats = dict(plan.stats)
        figures["stats"] = {k: v for k, v in stats.items() if k != "term_values"}
        objective, bound = plan.objective, plan.bound
    else:
        from bench.baselines import run_baseline

        result = run_baseline(
            side,
            problem,
            p=options.get("p"),
            time_limit=options["baseline_time_limit"],
            mip_gap=options["mip_gap"],
            threads=options.get("threads"),
        )
        plan, solve_s = result.plan, result.solve_s
        figures["model_s"] = round(result.model_s, 3)
        figures["stats"] = dict(result.stats)
        objective, bound = result.objective, result.bound
    started = time.perf_counter()
    violations = validate_plan(problem, plan) if plan.has_plan else []
    validate_s = time.perf_counter() - started
    by_rule = Counter(v.rule for v in violations)
    terms = objective_terms(problem, plan) if plan.has_plan else {}
    polysystems = len(plan.hub_options)
    under_floor = 0
    if plan.has_plan:
        pop = Counter()
        for i, unit in enumerate(problem.unit_ids):
            hub = plan.assignment.get(unit)
            if hub is not None:
                pop[hub] += problem.population[i]
        under_floor = sum(1 for hub in plan.hub_options if pop[hub] < problem.rules.floor)
    figures.update(
        status=plan.status,
        gap=plan.gap,
        objective=objective,
        bound=bound,
        mean_travel_min=_num(terms.get("mean_travel")),
        max_travel_min=_num(terms.get("max_travel")),
        polysystems=polysystems,
        polysystems_under_floor=under_floor,
        solve_s=round(solve_s, 3),
        total_s=round(built.build_s + solve_s, 3),
        validate_s=round(validate_s, 3),
        valid=plan.has_plan and not violations,
        violations=dict(sorted(by_rule.items())),
        notes=list(plan.notes),
    )
    return figures


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def run_side(side: str, name: str, options: dict[str, Any], *, hard_timeout_s: float) -> dict[str, Any]:
    """Run one side in a spawned process and collect its figures.

    Parameters
    ----------
    side
        ``"ours"`` or a baseline name (:data:`bench.baselines.BASELINES`).
    name
        Instance name.
    options
        Solver options (``solver``, ``time_limit``, ``baseline_time_limit``, ``mip_gap``,
        ``threads``, ``p``, ``memory_limit_gb``, ``data_dir``, ``log_level``).
    hard_timeout_s
        Wall-clock seconds after which the process (and the solver program it started) is
        killed and the side reported as ``timeout``.

    Returns
    -------
    dict
        The side's figures (``status`` is ``timeout``, ``memory limit``, ``crashed`` or
        ``error`` when it produced none).
    """
    load_before = round(os.getloadavg()[0], 2)
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_side_worker, args=(sender, side, name, options), name=f"bench-{side}")
    started = time.perf_counter()
    process.start()
    sender.close()
    figures: dict[str, Any] | None = None
    group_peak, others_peak = 0.0, 0.0
    group_cpu: dict[int, float] = {}  # CPU seconds of every process seen in the group (workers too)
    try:
        while time.perf_counter() - started < hard_timeout_s:
            if receiver.poll(SAMPLE_S):
                try:
                    figures = receiver.recv()
                except EOFError:
                    figures = None
                break
            total, others = _group_rss_mb(process.pid, cpu=group_cpu)
            group_peak, others_peak = max(group_peak, total), max(others_peak, others)
        if figures is not None or not process.is_alive():
            process.join(timeout=30)
    finally:
        if process.is_alive():
            _kill_group(process.pid)
            process.join()
    elapsed = time.perf_counter() - started
    if figures is not None:
        own = figures.get("peak_python_mb") or 0.0
        figures.update(
            peak_mb=round(max(own, group_peak), 1),
            peak_solver_process_mb=round(others_peak, 1),
            wall_s=round(elapsed, 3),
            load_before=load_before,
        )
        # the side's own count misses processes it did not wait for (the search's worker pool)
        figures["cpu_s"] = round(max(figures.get("cpu_s") or 0.0, sum(group_cpu.values())), 3)
        return figures
    common = {
        "side": side,
        "wall_s": round(elapsed, 3),
        "load_before": load_before,
        "peak_mb": round(group_peak, 1) or None,
        "peak_solver_process_mb": round(others_peak, 1) or None,
    }
    if elapsed >= hard_timeout_s:
        return {
            **common,
            "status": "timeout",
            "total_s": round(elapsed, 3),
            "error": f"killed after {elapsed:.0f} s (time limit {_limit(side, options):g} s)",
        }
    status = "memory limit" if side != "ours" and options.get("memory_limit_gb") else "crashed"
    return {
        **common,
        "status": status,
        "error": f"process ended with exit code {process.exitcode} after {elapsed:.0f} s without a result",
    }


def _group_rss_mb(pgid: int | None, *, cpu: dict[int, float] | None = None) -> tuple[float, float]:
    """Resident memory (MB) of a process group now: all members, and all but the leader.

    Read from ``/proc`` (Linux); ``(0, 0)`` where it cannot be read. ``cpu``, when given,
    is updated with each member's CPU seconds so far (user + system).
    """
    if pgid is None:
        return 0.0, 0.0
    total = others = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0.0, 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 21 and int(fields[2]) == pgid:
            if cpu is not None:
                cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
            rss = int(fields[21]) * _PAGE
            total += rss
            if int(entry) != pgid:
                others += rss
    return total / 1024**2, others / 1024**2


def _limit(side: str, options: dict[str, Any]) -> float:
    return float(options["time_limit"] if side == "ours" else options["baseline_time_limit"])


def _kill_group(pid: int | None) -> None:
    """Kill the process group led by ``pid`` (a side's process and the CBC it started)."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ---------------------------------------------------------------------------- one instance
def machine_info() -> dict[str, Any]:
    """CPU count, platform and the versions of the packages that matter."""
    versions = {}
    for package in ("pulp", "highspy", "spopt", "numpy", "scipy", "geopandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        out = subprocess.run([cbc_path(), "-quit"], capture_output=True, text=True, timeout=20).stdout
        found = re.search(r"Version:\s*(\S+)", out)
        versions["cbc"] = found.group(1) if found else None
    except (RuntimeError, OSError, subprocess.SubprocessError):
        versions["cbc"] = None
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "versions": versions,
    }


def _ratios(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Speed, memory and quality ratios of a baseline over ours (``None`` when not measurable).

    The speed-up is a lower bound (``speedup_is_lower_bound``) when the baseline was killed
    or gave up without a plan; it is not measurable when we found no plan or the baseline
    ran out of memory, crashed or was skipped.
    """

    def ratio(a: Any, b: Any) -> float | None:
        return round(a / b, 2) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0 else None

    planned = ("optimal", "feasible")
    stopped = base.get("status") in ("timeout", "unsolved")
    measurable = ours.get("status") in planned and (base.get("status") in planned or stopped)
    return {
        "speedup": ratio(base.get("total_s"), ours.get("total_s")) if measurable else None,
        "solve_speedup": ratio(base.get("solve_s"), ours.get("solve_s")) if measurable and not stopped else None,
        "memory_ratio": ratio(base.get("peak_mb"), ours.get("peak_mb")),
        "mean_travel_ratio": ratio(base.get("mean_travel_min"), ours.get("mean_travel_min")),
        "speedup_is_lower_bound": measurable and stopped,
    }


def run_instance(
    name: str,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    baselines: tuple[str, ...] = BASELINES,
    baseline_time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    memory_limit_gb: float | None = 12.0,
    data_dir: str | None = None,
    log_level: int = logging.WARNING,
    method: str = "auto",
    workers: int | None = None,
) -> dict[str, Any]:
    """Benchmark one instance: our solver, then each baseline, each in its own process.

    Parameters
    ----------
    name
        Instance name (:data:`bench.instances.INSTANCES`).
    solver
        Our MIP solver, ``"highs"`` or ``"cbc"``.
    time_limit
        Seconds for our solve (default: the instance's own).
    baselines
        Baselines to run (empty: none).
    baseline_time_limit
        Seconds for each baseline's model building and CBC (default: ``time_limit``).
    mip_gap
        Relative gap asked of every solver (default: the instance's own).
    threads
        Solver threads (``None``: each solver's default).
    method, workers
        Our solve's method (``auto``, ``mip``, ``lns``) and neighbourhood-search worker
        processes (``None``: one per core), as in :func:`solvers.mip.solve`.
    memory_limit_gb
        Address-space ceiling of each baseline process (``None``: none).
    data_dir
        Real data folder (default :func:`geodata.settings.data_dir`).
    log_level
        Logging level inside the side processes.

    Returns
    -------
    dict
        ``instance``, sizes (``units``, ``sites``, ``pairs``, ``population``, ...), our
        figures at the top level (``status``, ``gap``, ``polysystems``, ``build_s``,
        ``solve_s``, ``total_s``, ``peak_mb``, ``valid``, ...), ``baseline`` (baseline name
        -> the same figures), ``ratios`` (baseline name -> ``speedup`` = baseline total_s /
        ours, ``solve_speedup``, ``memory_ratio``, ``mean_travel_ratio``), ``speedup``
        (over spopt's p-median), ``date`` and ``machine``.

    Raises
    ------
    KeyError
        Unknown instance or baseline.
    """
    if name not in INSTANCES:
        raise KeyError(f"unknown instance {name!r}; choose from {', '.join(INSTANCES)}")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise KeyError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    limit = float(time_limit if time_limit is not None else INSTANCES[name].time_limit)
    mip_gap = float(mip_gap if mip_gap is not None else INSTANCES[name].mip_gap)
    options: dict[str, Any] = {
        "solver": solver,
        "time_limit": limit,
        "baseline_time_limit": float(baseline_time_limit if baseline_time_limit is not None else limit),
        "mip_gap": mip_gap,
        "threads": threads,
        "memory_limit_gb": memory_limit_gb,
        "data_dir": data_dir,
        "log_level": log_level,
        "method": method,
        "workers": workers,
    }
    date = datetime.now(UTC).isoformat(timespec="seconds")
    # Every side builds the instance from the files; the first build of a scenario fills the
    # build cache (catchment.build), later ones read it. A warm-up build first, so that ours
    # and the baselines all time the same (cached) build, and the first build is reported.
    warm = run_side("build", name, options, hard_timeout_s=KILL_GRACE_S + 600)
    logger.info("%s: our solver (%s, %g s)", name, solver, limit)
    ours = run_side("ours", name, options, hard_timeout_s=limit * (1 + KILL_SLACK) + KILL_GRACE_S)
    describe = ours.pop("describe", {"instance": name, "description": INSTANCES[name].description})
    result: dict[str, Any] = {
        **describe,
        "solver": solver,
        "method": method,
        "workers": workers,
        "time_limit": limit,
        "mip_gap": mip_gap,
        "threads": threads,
        "first_build_s": warm.get("build_s"),
        **{k: v for k, v in ours.items() if k != "side"},
    }
    result["baseline"] = {}
    result["ratios"] = {}
    blimit = options["baseline_time_limit"]
    for base in baselines:
        if base == "spopt-pmedian":
            if not ours.get("polysystems"):
                result["baseline"][base] = {"status": "skipped", "error": "our solver found no plan, so p is unknown"}
                continue
            options["p"] = int(ours["polysystems"])
        logger.info("%s: baseline %s (%g s)", name, base, blimit)
        figures = run_side(base, name, options, hard_timeout_s=blimit * (1 + KILL_SLACK) + KILL_GRACE_S)
        figures.pop("side", None)
        if base == "spopt-pmedian":
            figures["p"] = options["p"]
        result["baseline"][base] = figures
        result["ratios"][base] = _ratios(ours, figures)
    result["speedup"] = result["ratios"].get("spopt-pmedian", {}).get("speedup")
    result["date"] = date
    result["machine"] = machine_info()
    return result


def reuse_baselines(result: dict[str, Any], previous: dict[str, Any]) -> None:
    """Copy the baseline figures of an earlier result into ``result`` and recompute the ratios.

    The baselines do not depend on our solver (spopt's p excepted, recorded as ``p``), and
    the slow ones take far longer than ours; each reused entry keeps the date it was
    measured (``measured``) and is marked ``reused``.
    """
    for base, figures in previous.get("baseline", {}).items():
        if base in result["baseline"]:  # run again this time
            continue
        entry = dict(figures)
        entry.setdefault("measured", figures.get("measured", previous.get("date")))
        if base == "spopt-pmedian":
            entry.setdefault("p", previous.get("polysystems"))
        entry["reused"] = True
        result["baseline"][base] = entry
        result["ratios"][base] = _ratios(result, entry)
    result["speedup"] = result["ratios"].get("spopt-pmedian", {}).get("speedup")


# ---------------------------------------------------------------------------- command line
def _summary(result: dict[str, Any]) -> list[str]:
    def fmt(f: dict[str, Any]) -> str:
        gap = f.get("gap")
        parts = [f"status {f.get('status')}"]
        if gap is not None:
            parts.append(f"gap {gap:.2%}")
        for key, label in (("build_s", "build"), ("solve_s", "solve"), ("total_s", "total")):
            if f.get(key) is not None:
                parts.append(f"{label} {f[key]:.2f} s")
        if f.get("peak_mb") is not None:
            parts.append(f"peak {f['peak_mb']:.0f} MB")
        if f.get("polysystems") is not None:
            parts.append(f"{f['polysystems']} polysystems ({f.get('polysystems_under_floor', 0)} under the floor)")
        if f.get("mean_travel_min") is not None:
            parts.append(f"mean travel {f['mean_travel_min']:.2f} min")
        if f.get("error"):
            parts.append(f"[{f['error']}]")
        return ", ".join(parts)

    lines = [
        f"{result['instance']}: {result.get('units')} units x {result.get('sites')} sites",
        f"  ours ({result['solver']}): {fmt(result)}",
    ]
    for base, figures in result["baseline"].items():
        ratios = result["ratios"].get(base, {})
        extra = ""
        if ratios.get("speedup") is not None:
            extra = f"; speed-up {'>= ' if ratios.get('speedup_is_lower_bound') else ''}x{ratios['speedup']}"
        lines.append(f"  {base}: {fmt(figures)}{extra}")
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark one instance against the baselines.")
    parser.add_argument("instance", nargs="?", help="instance name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the instances and exit")
    parser.add_argument("--solver", choices=("highs", "cbc"), default="highs", help="our MIP solver")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds for our solve (default: per instance)")
    parser.add_argument(
        "--mip-gap", type=float, default=None, help="relative gap asked of every solver (default: per instance)"
    )
    parser.add_argument("--threads", type=int, default=None, help="solver threads (default: the solver's)")
    parser.add_argument(
        "--method",
        choices=("auto", "mip", "lns"),
        default="auto",
        help="our solve's method (default: auto, as solvers.solve)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="neighbourhood-search worker processes (default: one per core)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="run our solver only")
    parser.add_argument(
        "--reuse-baselines",
        action="store_true",
        help="keep the baseline figures of bench/results/<instance>.json (dated) instead of "
        "running the baselines again, except those named by --baseline; ratios are "
        "recomputed",
    )
    parser.add_argument(
        "--baseline",
        action="append",
        choices=BASELINES,
        default=None,
        help="run only this baseline (repeatable; default: all)",
    )
    parser.add_argument(
        "--baseline-time-limit", type=float, default=None, help="seconds for each baseline (default: the same as ours)"
    )
    parser.add_argument(
        "--memory-limit-gb", type=float, default=12.0, help="address-space ceiling of each baseline process (0: none)"
    )
    parser.add_argument("--data-dir", default=None, help="real data folder (default: $CATCHMENT_DATA_DIR)")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/<instance>.json")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code (1 when our plan is invalid)."""
    args = _parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(name)s: %(message)s")
    if args.list:
        width = max(map(len, INSTANCES))
        for inst in INSTANCES.values():
            print(
                f"{inst.name:<{width}}  {inst.kind:<9}  {inst.time_limit:>5g} s  gap {inst.mip_gap:<6.2%}  "
                f"{inst.description}"
            )
        return 0
    if not args.instance:
        _parser().error("name an instance (see --list)")
    if args.instance not in INSTANCES:
        _parser().error(f"unknown instance {args.instance!r}; choose from {', '.join(INSTANCES)}")
    if args.reuse_baselines:  # run only the baselines named, keep the others' earlier figures
        baselines = () if args.no_baseline else tuple(args.baseline or ())
    else:
        baselines = () if args.no_baseline else tuple(args.baseline or BASELINES)
    previous = RESULTS_DIR / f"{args.instance}.json"
    if args.reuse_baselines and not previous.exists():
        _parser().error(f"--reuse-baselines: there is no {previous} to reuse")
    result = run_instance(
        args.instance,
        solver=args.solver,
        time_limit=args.time_limit,
        baselines=baselines,
        baseline_time_limit=args.baseline_time_limit,
        mip_gap=args.mip_gap,
        threads=args.threads,
        memory_limit_gb=args.memory_limit_gb or None,
        data_dir=args.data_dir,
        log_level=level,
        method=args.method,
        workers=args.workers,
    )
    if args.reuse_baselines:
        reuse_baselines(result, json.loads(previous.read_text()))
    for line in _summary(result):
        print(line)
    text = json.dumps(result, default=str)
    if not args.no_save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / f"{args.instance}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(text)
    return 0 if result.get("valid") else 1


if __name__ == "__main__":
    sys.exit(main())
