"""Bounds: the LP relaxation against the Lagrangian bound, on the benchmark instances.

For each instance: the LP bound of the whole model (:func:`solvers.relaxation.solve_relaxation`,
priced over every allowed pair), the Lagrangian bound (:func:`solvers.lagrangian.lagrangian_bound`,
started from the LP's duals, steered by the best known plan's objective, within
``--time-limit`` seconds), the best known plan (``bench/results/<name>.json``, or the
published optimum of an OR-Library instance), the proven optimum where one is known, the
share of the LP's gap the Lagrangian bound closes, and the share of allowed pairs that
reduced-cost fixing removes against the best plan, with the LP's and with the Lagrangian's
reduced costs (a pair whose bound plus reduced cost exceeds the plan's objective cannot be
in a better plan), the sites the Lagrangian's per-site figures fix open or closed, and
whether its column generation converged (the bound is then the Dantzig-Wolfe bound) and
in how many rounds; then the site-branching bound (:func:`solvers.branching.site_branching_bound`,
from that Lagrangian bound, within ``--branching-time`` seconds): its value, the share of the
LP's gap it closes, its nodes and whether it proved the best plan optimal. Every bound is
checked against the known optima: a bound above one is reported as INVALID and the script
exits 1.

Usage::

    python bench/bounds.py                          # every instance but london-lsoa
    python bench/bounds.py redbridge-lsoa pmedcap1
    python bench/bounds.py --london-lsoa --write-doc
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.docsections import write_section  # noqa: E402
from bench.instances import build_instance  # noqa: E402
from bench.orlib import instance_names, read_instance  # noqa: E402
from catchment.problem import Problem  # noqa: E402
from solvers.branching import site_branching_bound  # noqa: E402
from solvers.common import candidate_pairs  # noqa: E402
from solvers.lagrangian import lagrangian_bound  # noqa: E402
from solvers.mip import PolysystemModel  # noqa: E402
from solvers.relaxation import solve_relaxation  # noqa: E402

__all__ = ["bound_row", "main", "render"]

DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "results"
#: Instances run by default (london-lsoa only with --london-lsoa). synthetic-20k's dense
#: 20,000 x 2,000 pair matrices peak at 4.3 GB (``/usr/bin/time -v python bench/bounds.py
#: synthetic-20k``, 74 s wall on a 2-core machine).
DEFAULT = [
    "redbridge-practices",
    "redbridge-lsoa",
    "london-practices",
    "synthetic-1k",
    "synthetic-5k",
    "synthetic-20k",
    "pmedcap1",
]
#: A benchmark result counts as a proven optimum when its gap is within this.
PROVEN_GAP = 1e-4


def _known(name: str) -> tuple[float | None, float | None]:
    """(best plan's objective, proven optimum or None) from the saved benchmark result."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None, None
    row = json.loads(path.read_text())
    best = row.get("objective")
    proven = best if row.get("status") == "optimal" and (row.get("gap") or 0.0) <= PROVEN_GAP else None
    return best, proven


def bound_row(
    name: str,
    problem: Problem,
    *,
    best: float | None,
    optimum: float | None,
    time_limit: float,
    branching_time: float,
    scale: float = 1.0,
) -> dict[str, Any]:
    """One instance's row (see the module docstring); ``scale`` converts objectives to published units."""
    t0 = time.perf_counter()
    k = PolysystemModel(problem).effective_k()
    relax = solve_relaxation(
        problem, candidate_pairs(problem, k=k), deadline=None, threads=None, max_rounds=100, reduced_costs=True
    )
    lp_s = time.perf_counter() - t0
    lp = relax.bound if relax.status == "optimal" and relax.priced else None
    t1, c1 = time.perf_counter(), time.process_time()
    lag = lagrangian_bound(problem, relaxation=relax, upper=best, deadline=time.perf_counter() + time_limit)
    lag_s, lag_cpu = time.perf_counter() - t1, time.process_time() - c1
    t2, c2 = time.perf_counter(), time.process_time()
    tree = site_branching_bound(
        problem, upper=best, deadline=time.perf_counter() + branching_time, relaxation=relax, root=lag
    )
    tree_s, tree_cpu = time.perf_counter() - t2, time.process_time() - c2
    ref = optimum if optimum is not None else best

    def share_closed(bound: float | None) -> float | None:
        """The share of the LP's gap to the optimum (or best plan) that ``bound`` closes."""
        if lp is None or bound is None or ref is None or ref <= lp:
            return None
        return (max(bound, lp) - lp) / (ref - lp)

    closed, closed_tree = share_closed(lag.bound), share_closed(tree.bound)
    fixed_lp = fixed_lag = None
    sites_fixed = None
    allowed = candidate_pairs(problem, k=None).n_pairs
    if best is not None and lp is not None and relax.reduced is not None:
        d = relax.reduced[np.isfinite(relax.reduced)]
        fixed_lp = float(np.sum(lp + d > best * (1 + 1e-9))) / allowed
    if best is not None and lag.bound is not None and lag.reduced is not None:
        d = lag.reduced[np.isfinite(lag.reduced)]
        fixed_lag = float(np.sum(lag.bound + d > best * (1 + 1e-9))) / allowed
    if best is not None and lag.bound is not None and lag.site_open is not None and lag.site_closed is not None:
        usable = np.isfinite(lag.site_open)
        sites_fixed = int(np.sum(usable & (lag.bound + lag.site_open > best * (1 + 1e-9))))
        sites_fixed += int(np.sum(usable & (lag.bound + lag.site_closed > best * (1 + 1e-9))))
    strong = None if lag.bound is None else max(lag.bound, lp if lp is not None else -math.inf)
    limit = None if optimum is None else optimum + 1e-9 * max(1.0, abs(optimum))
    valid = all(b is None or limit is None or b <= limit for b in (lp, lag.bound, tree.bound))
    return {
        "instance": name,
        "units": problem.n_units,
        "sites": problem.n_sites,
        "lp": None if lp is None else lp * scale,
        "lagrangian": None if lag.bound is None else lag.bound * scale,
        "best": None if best is None else best * scale,
        "optimum": None if optimum is None else optimum * scale,
        "gap_lp": None if lp is None or best is None else (best - lp) / best,
        "gap_lagrangian": None if strong is None or best is None else (best - strong) / best,
        "closed": closed,
        "lp_s": round(lp_s, 2),
        "lagrangian_s": round(lag_s, 2),
        "lagrangian_cpu_s": round(lag_cpu, 2),
        "iterations": lag.iterations,
        "converged": lag.converged,
        "sites_fixed": sites_fixed,
        "mode": lag.mode,
        "population_unit": lag.unit,
        "fixed_lp": fixed_lp,
        "fixed_lagrangian": fixed_lag,
        "branching": None if tree.bound is None else tree.bound * scale,
        "closed_branching": closed_tree,
        "branching_nodes": tree.nodes,
        "branching_leaf_mips": tree.leaf_mips,
        "branching_proven": tree.proven,
        "branching_stop": tree.stop,
        "branching_s": round(tree_s, 2),
        "branching_cpu_s": round(tree_cpu, 2),
        "valid": valid,
        "notes": lag.notes + list(tree.notes),
    }


def _rows(names: list[str], *, time_limit: float, branching_time: float) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        if name == "pmedcap1":
            for cap in (n for n in instance_names() if n.startswith("pmedcap1")):
                inst = read_instance(cap)
                value = inst.optimum / inst.scale
                row = bound_row(
                    cap,
                    inst.problem,
                    best=value,
                    optimum=value,
                    time_limit=time_limit,
                    branching_time=branching_time,
                    scale=inst.scale,
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
            continue
        built = build_instance(name)
        best, optimum = _known(name)
        row = bound_row(
            name, built.problem, best=best, optimum=optimum, time_limit=time_limit, branching_time=branching_time
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _num(value: float | None, fmt: str = ".6g") -> str:
    return "n/a" if value is None else format(value, fmt)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _met(row: dict[str, Any]) -> bool:
    """The search stopped unconverged because the bound met the best plan (nothing left to prove)."""
    bound, best = row["lagrangian"], row["best"]
    return not row["converged"] and bound is not None and best is not None and bound >= best - 1e-9 * abs(best)


def _mips(row: dict[str, Any]) -> str:
    return f" + {row['branching_leaf_mips']} MIP" if row["branching_leaf_mips"] else ""


def _stop(row: dict[str, Any]) -> str:
    return f", {row['branching_stop']}" if row["branching_stop"] in ("proven", "decided") else ""


def render(
    rows: list[dict[str, Any]], *, command: str, time_limit: float, branching_time: float, skipped: list[str]
) -> str:
    """The Markdown block: one table, the pmedcap1 summary and what was not run."""
    head = (
        "| instance | units | sites | LP bound | Lagrangian bound | best plan | proven optimum | gap LP | "
        "gap Lagrangian | LP gap closed | Lagrangian s (CPU s) | rounds | converged | pairs fixed LP / Lagrangian | "
        "sites fixed | site-branching bound | LP gap closed (branching) | nodes | branching s (CPU s) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['units']:,} | {r['sites']:,} | {_num(r['lp'])} | {_num(r['lagrangian'])} | "
            f"{_num(r['best'])} | {_num(r['optimum'])} | {_pct(r['gap_lp'])} | {_pct(r['gap_lagrangian'])} | "
            f"{_pct(r['closed'])} | {r['lagrangian_s']} ({r['lagrangian_cpu_s']}) | {r['iterations']} | "
            f"{'yes' if r['converged'] else 'no'} | {_pct(r['fixed_lp'])} / {_pct(r['fixed_lagrangian'])} | "
            f"{'n/a' if r['sites_fixed'] is None else r['sites_fixed']} | {_num(r['branching'])} | "
            f"{_pct(r['closed_branching'])} | {r['branching_nodes']}{_mips(r)}{_stop(r)} | "
            f"{r['branching_s']} ({r['branching_cpu_s']}) |" + ("" if r["valid"] else " **INVALID** |")
        )
    caps = [r for r in rows if r["instance"].startswith("pmedcap1")]
    closed = sorted(r["closed"] for r in caps if r["closed"] is not None)
    summary = ""
    if closed:
        summary = (
            f"\npmedcap1 ({len(caps)} instances): every bound at or below the published optimum: "
            f"{all(r['valid'] for r in caps)}; share of the LP gap closed (the {len(closed)} with a gap): "
            f"median {np.median(closed):.1%}, min {closed[0]:.1%}, max {closed[-1]:.1%}; converged (the bound is "
            f"the Dantzig-Wolfe bound): {sum(bool(r['converged']) for r in caps)} of {len(caps)}, the search stopped "
            f"early by the bound meeting the published optimum: {sum(_met(r) for r in caps)}; pairs fixed by the "
            f"Lagrangian reduced costs: median {np.median([r['fixed_lagrangian'] or 0.0 for r in caps]):.1%}.\n"
        )
        tree = sorted(r["closed_branching"] for r in caps if r["closed_branching"] is not None)
        if tree:
            summary += (
                f"Site branching ({branching_time:g} s each): the published optimum proven by the tree on "
                f"{sum(bool(r['branching_proven']) for r in caps)} of {len(caps)}; share of the LP gap closed: "
                f"median {np.median(tree):.1%}, min {tree[0]:.1%}, max {tree[-1]:.1%}.\n"
            )
    notes = (
        f"\nMeasured with `{command}` (the Lagrangian search starts no round that, judged by the last round's "
        f"time, would end after {time_limit:g} s per instance with the reduced costs still to compute; the "
        "seconds column shows what it took; on a shared 2-core machine: CPU seconds beside wall seconds). "
        "The LP bound is priced over every allowed pair; the "
        "Lagrangian bound relaxes each unit's assignment row and solves every site's floor (and size) "
        "exactly by dynamic programming, so it holds for every plan of the whole model (contiguity left "
        "out). *Best plan*: the saved benchmark result (bench/results) or the published optimum; *pairs "
        "fixed*: share of allowed pairs whose bound plus reduced cost exceeds the best plan (such a pair "
        "is in no better plan); *sites fixed*: usable sites whose cost of being open (or closed) beyond the bound "
        "exceeds the best plan, so every better plan has them closed (open); *rounds*: evaluations of the site "
        "programmes; *converged*: no site configuration prices out against the restricted master, so the bound "
        "is the Lagrangian dual's optimum (the Dantzig-Wolfe bound; on pmedcap1-08 it equals an independent "
        "set-partitioning column generation, tests/test_lagrangian.py). *Site-branching bound* "
        "(solvers/branching.py): best-first branching on sites, each site forced open or closed, with the "
        "Lagrangian bound of every node, started from the Lagrangian bound above and stopped after "
        f"{branching_time:g} s (no node starts later; the seconds column shows what it took) or when every leaf "
        "reaches the best plan (*proven*: the tree alone proves it optimal) or a leaf with every site decided is the "
        "least and its MIP is solved (*decided*: its bound is final); a leaf with every site decided is bounded by "
        "its MIP (sites fixed, contiguity included; *+ n MIP*); the "
        "least bound over the leaves holds for every plan (the Lagrangian bounds leave contiguity out); *nodes*: "
        "Lagrangian bounds computed.\n"
    )
    if skipped:
        notes += f"\nNot run here: {', '.join(skipped)}.\n"
    return head + "\n".join(lines) + "\n" + summary + notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instances", nargs="*", help=f"instances (default: {' '.join(DEFAULT)})")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds for each Lagrangian bound")
    parser.add_argument(
        "--branching-time", type=float, default=30.0, help="seconds for each site-branching bound (after Lagrangian)"
    )
    parser.add_argument("--london-lsoa", action="store_true", help="also run london-lsoa (slow)")
    parser.add_argument("--write-doc", action="store_true", help="write the block into docs/benchmarks.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = list(args.instances) or list(DEFAULT)
    if args.london_lsoa and "london-lsoa" not in names:
        names.append("london-lsoa")
    skipped = [n for n in ("london-lsoa", "synthetic-20k") if n not in names]
    rows = _rows(names, time_limit=args.time_limit, branching_time=args.branching_time)
    command = "python bench/bounds.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table = render(
        rows, command=command.strip(), time_limit=args.time_limit, branching_time=args.branching_time, skipped=skipped
    )
    print(table)
    if args.write_doc:
        write_section(DOC, "bounds", "Bounds: LP, Lagrangian and site branching", table, script="bench/bounds.py")
    return 0 if all(r["valid"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
