"""Benchmark: the single MIP with and without reduced-cost fixing, in the same process.

Solves each problem twice with :class:`solvers.mip.PolysystemModel` — ``fixing=False``
(the solver's own bound) and ``fixing=None`` (the default: reduced-cost fixing with the LP
and Lagrangian bounds when it pays, see ``solvers/mip.py``) — and prints one row per
solve: status, objective, bound, gap, wall and CPU seconds, pairs left out by fixing and
the bound that certified the gap. Problems: OR-Library instances (``pmedcap1-NN``, costs
in published units) and national CCGs (by code, each CCG's problem as the national
command builds it, gap 1e-3 as there). The machine may be shared: compare CPU seconds.

Run on demand, not in the test suite::

    python bench/fixing.py --orlib pmedcap1-08 pmedcap1-20 --time-limit 120
    python bench/fixing.py --ccg 52R 15E --time-limit 120 --doc   # also the block in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.docsections import write_section  # noqa: E402
from bench.national import MIP_GAP  # noqa: E402
from bench.orlib import read_instance  # noqa: E402
from catchment.national import national_subproblems  # noqa: E402
from catchment.problem import Problem  # noqa: E402
from catchment.validate import validate_plan  # noqa: E402
from solvers.mip import PolysystemModel  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: The two settings compared, in the order run.
MODES: dict[str, bool | None] = {"plain": False, "fixing": None}


def solve_both(
    name: str, problem: Problem, *, time_limit: float, mip_gap: float, scale: float = 1.0
) -> list[dict[str, Any]]:
    """One row per mode; objective and bound multiplied by ``scale`` (published units)."""
    rows = []
    for mode, fixing in MODES.items():
        cpu, wall = time.process_time(), time.perf_counter()
        plan = PolysystemModel.from_problem(problem).solve(
            time_limit=time_limit, mip_gap=mip_gap, fixing=fixing, threads=1
        )
        proof = plan.stats.get("proof") or {}
        rows.append(
            {
                "problem": name,
                "mode": mode,
                "status": plan.status,
                "objective": None if plan.objective is None else plan.objective * scale,
                "bound": None if plan.bound is None else plan.bound * scale,
                "gap": plan.gap,
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "pairs": plan.stats.get("pairs_allowed"),
                "pairs_fixed": proof.get("pairs_fixed"),
                "resolves": proof.get("resolves"),
                "source": (plan.stats.get("bounds") or {}).get("source", "mip" if plan.bound is not None else None),
                "valid": plan.has_plan and not validate_plan(problem, plan),
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """A Markdown table, each fixing row with its wall and CPU ratio to the plain row before it."""

    def num(v: float | None, fmt: str = ".6g") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [
        "| problem | mode | status | objective | bound | gap | wall s | CPU s | CPU ratio | pairs fixed | re-solves "
        "| bound from | valid |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    plain: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["mode"] == "plain":
            plain[r["problem"]] = r
        base = plain.get(r["problem"])
        ratio = "" if r["mode"] == "plain" or base is None else f"{r['cpu_s'] / max(base['cpu_s'], 1e-9):.2f}"
        fixed = "-" if r["pairs_fixed"] is None else f"{r['pairs_fixed']:,} of {r['pairs']:,}"
        lines.append(
            f"| {r['problem']} | {r['mode']} | {r['status']} | {num(r['objective'])} | {num(r['bound'])} | "
            f"{num(r['gap'], '.3%') if r['gap'] is not None else '-'} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{ratio} | {fixed} | {'-' if r['resolves'] is None else r['resolves']} | {r['source'] or '-'} | "
            f"{'yes' if r['valid'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orlib", nargs="*", default=[], help="OR-Library instances (e.g. pmedcap1-08)")
    parser.add_argument("--ccg", nargs="*", default=[], help="national CCG codes (e.g. 52R)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve (default 120)")
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (default: CATCHMENT_DATA_DIR)")
    parser.add_argument("--doc", action="store_true", help="write the block of docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not args.orlib and not args.ccg:
        parser.error("name at least one --orlib instance or --ccg code")
    rows: list[dict[str, Any]] = []
    for name in args.orlib:
        instance = read_instance(name)
        rows += solve_both(
            name,
            instance.problem,
            time_limit=args.time_limit,
            mip_gap=1e-6,
            scale=instance.cost(1.0),
        )
        print(render(rows[-2:]).splitlines()[-1], rows[-1]["objective"], flush=True)
    if args.ccg:
        national = national_subproblems(args.data_dir, ccgs=args.ccg)
        for sub in national.subproblems:
            if sub.problem is not None:
                rows += solve_both(sub.ccg_code, sub.problem, time_limit=args.time_limit, mip_gap=MIP_GAP)
                print(render(rows[-2:]).splitlines()[-1], flush=True)
    command = f"python bench/fixing.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    body = "\n".join(
        [
            f"`{command}` (HiGHS, one thread, {args.time_limit:.0f} s per solve; OR-Library gap 1e-6, costs in "
            f"published units; national CCGs gap {MIP_GAP:g}, objective in minutes). `plain`: the solver's own "
            "bound (`fixing=False`); `fixing`: the default, reduced-cost fixing against the LP and Lagrangian "
            "bounds (solvers/mip.py, `_fixing_bounds`), *re-solves* after pairs were brought back "
            "(`PolysystemModel._solve_fixed`). The machine is shared: CPU seconds are the figures to "
            "compare; *CPU ratio* is fixing over plain on the same problem.",
            "",
            render(rows),
        ]
    )
    print()
    print(body)
    if args.doc:
        write_section(DOC, "mip-fixing", "Reduced-cost fixing in the single MIP", body, script="bench/fixing.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
