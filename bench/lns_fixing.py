"""Reduced-cost fixing in the neighbourhood search: the same search with and without it.

The neighbourhood search (:func:`solvers.lns.solve_lns`) leaves out of its sub-models every
unit-site pair whose Lagrangian reduced cost rules it out of any plan better than the
current one. This script runs the search on the same instance with fixing off (the
baseline) and on, alternately and in the same invocation (so both see the same load), and
prints each run's plan, gap, sub-models and CPU seconds, with the ratio of the objectives'
distance to the bound.

Usage::

    python bench/lns_fixing.py                              # london-practices, gap 0.5%, 30 s, 2 rounds
    python bench/lns_fixing.py synthetic-5k --time-limit 60 --rounds 1
    python bench/lns_fixing.py --write-doc                  # also the block in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.docsections import write_section  # noqa: E402
from bench.instances import build_instance  # noqa: E402
from catchment.problem import Problem  # noqa: E402
from solvers.lns import solve_lns  # noqa: E402

__all__ = ["main", "render", "run_once"]

DOC = ROOT / "docs" / "benchmarks.md"


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the search's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_once(problem: Problem, *, fixing: bool, time_limit: float, mip_gap: float, seed: int) -> dict[str, Any]:
    """One search; its figures."""
    load = os.getloadavg()[0]
    cpu0, t0 = _cpu_s(), time.perf_counter()
    plan = solve_lns(problem, time_limit=time_limit, mip_gap=mip_gap, seed=seed, reduced_cost_fixing=fixing)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    lns = plan.stats.get("lns", {})
    objective = plan.objective
    bound = plan.bound
    gap = None if objective is None or bound is None else (objective - bound) / abs(objective)
    return {
        "fixing": fixing,
        "status": plan.status,
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "source": (plan.stats.get("bounds") or {}).get("source"),
        "submodels": lns.get("submodels"),
        "improved": lns.get("improved"),
        "fixed": lns.get("pairs_fixed_by_reduced_cost"),
        "kept": plan.stats.get("pairs_kept"),
        "wall_s": wall,
        "cpu_s": cpu,
        "load": load,
    }


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def render(name: str, rows: list[dict[str, Any]], *, command: str, time_limit: float, mip_gap: float) -> str:
    """The markdown block."""
    lines = [
        f"`{command}` ({name}, HiGHS, gap {mip_gap:g}, {time_limit:g} s per run; runs alternate off/on in one "
        "invocation, so both see the same load; CPU includes the worker processes).",
        "",
        "| run | fixing | status | objective | bound (source) | gap | sub-models (improved) | pairs left out | "
        "wall s | CPU s | load |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k, r in enumerate(rows, start=1):
        gap_pct = None if r["gap"] is None else 100 * r["gap"]
        lines.append(
            f"| {k} | {'on' if r['fixing'] else 'off'} | {r['status']} | {_num(r['objective'], '.6g')} | "
            f"{_num(r['bound'], '.6g')} ({r['source'] or '-'}) | {_num(gap_pct, '.3f')}% | "
            f"{r['submodels']} ({r['improved']}) | {r['fixed'] if r['fixing'] else '-'} | {r['wall_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['load']:.1f} |"
        )
    on = [r["gap"] for r in rows if r["fixing"] and r["gap"] is not None]
    off = [r["gap"] for r in rows if not r["fixing"] and r["gap"] is not None]
    if on and off:
        mean_on, mean_off = sum(on) / len(on), sum(off) / len(off)
        ratio = f"x{mean_off / mean_on:.2f}" if mean_on > 0 else "n/a (zero gap with fixing)"
        lines += [
            "",
            f"Mean gap without fixing {100 * mean_off:.3f}%, with fixing {100 * mean_on:.3f}% "
            f"(gap without / gap with: {ratio}).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", default="london-practices")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--mip-gap", type=float, default=0.005)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs (default 2)")
    parser.add_argument("--seed", type=int, default=2009)
    parser.add_argument("--write-doc", action="store_true", help="write the block in docs/benchmarks.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    problem = build_instance(args.instance).problem
    rows = []
    for _ in range(args.rounds):
        for fixing in (False, True):
            row = run_once(problem, fixing=fixing, time_limit=args.time_limit, mip_gap=args.mip_gap, seed=args.seed)
            rows.append(row)
            print({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    command = "python bench/lns_fixing.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(args.instance, rows, command=command.strip(), time_limit=args.time_limit, mip_gap=args.mip_gap)
    print(text)
    if args.write_doc:
        write_section(
            DOC, "lns-fixing", "Reduced-cost fixing in the neighbourhood search", text, script="bench/lns_fixing.py"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
