"""Benchmark: time from an edit to the updated verdict (:class:`catchment.editing.EditSession`).

For each instance (see ``bench/instances.py``: Redbridge practices, all London practices,
all London LSOAs), builds the problem, finds a start plan with the heuristic, opens an edit
session and makes ``--moves`` random moves (a random unit to a random other open hub),
then ``--hub-edits`` random hub relocations (``set_hub``, which renumbers the
polysystems and checks every one again). Each edit is timed (wall clock and CPU time of
the process) and, on the same state, the full path it replaces: the independent validator
(:func:`catchment.validate.validate_plan`) and :func:`catchment.metrics.objective_terms`
on the edited plan (the plan's construction not counted). Both verdicts are compared at
every step: the run stops with an error if they differ.

Run on demand, not in the test suite::

    python bench/edit_latency.py                      # the three instances, 200 moves each
    python bench/edit_latency.py --quick              # Redbridge practices, 50 moves
    python bench/edit_latency.py --write-doc          # also write the block in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.docsections import write_section  # noqa: E402
from bench.instances import build_instance  # noqa: E402
from catchment.editing import EditSession, Verdict  # noqa: E402
from catchment.metrics import objective_terms  # noqa: E402
from catchment.validate import validate_plan  # noqa: E402
from solvers.heuristic import solve_heuristic  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
INSTANCES = ("redbridge-practices", "london-practices", "london-lsoa")
#: Steps of the heuristic that finds the start plan (a plan to edit, not a good one).
START_WORK = 3_000


def _timed(edit: Any) -> tuple[Verdict, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    verdict = edit()
    return verdict, time.perf_counter() - wall, time.process_time() - cpu


def _full(session: EditSession) -> tuple[float, float]:
    """Wall and CPU seconds of the full validator and metrics on the session's plan; checks the verdict."""
    plan = session.plan()
    wall, cpu = time.perf_counter(), time.process_time()
    violations = validate_plan(session.problem, plan)
    objective_terms(session.problem, plan)
    times = time.perf_counter() - wall, time.process_time() - cpu
    if [(v.rule, v.message, v.ids) for v in violations] != [
        (v.rule, v.message, v.ids) for v in session.verdict.violations
    ]:
        raise AssertionError(f"the session's verdict differs from the validator's after: {session.verdict.edit}")
    return times


def measure(name: str, *, moves: int, hub_edits: int, seed: int) -> dict[str, Any]:
    """Time ``moves`` random moves and ``hub_edits`` hub relocations on instance ``name``."""
    built = build_instance(name)
    problem = built.problem
    start = time.perf_counter()
    plan = solve_heuristic(problem, work_limit=START_WORK)
    if plan is None:
        raise RuntimeError(f"{name}: the heuristic found no start plan")
    solve_s = time.perf_counter() - start
    start = time.perf_counter()
    session = EditSession(problem, plan)
    open_s = time.perf_counter() - start
    rng = random.Random(seed)
    rows: dict[str, list[tuple[float, float]]] = {"move": [], "move_full": [], "hub": [], "hub_full": []}
    breaking = 0
    for _ in range(moves):
        unit = rng.choice(problem.unit_ids)
        hub = rng.choice([h for h in session.hubs if h != session.hub_of(unit)])
        verdict, wall, cpu = _timed(lambda unit=unit, hub=hub: session.move(unit, hub))
        rows["move"].append((wall, cpu))
        rows["move_full"].append(_full(session))
        breaking += not verdict.feasible
    for _ in range(hub_edits):
        hub = rng.choice(session.hubs)
        site = rng.choice([s for s in problem.site_ids if s not in session.hub_options and problem.options_of(s)])
        _, wall, cpu = _timed(lambda hub=hub, site=site: session.set_hub(hub, site))
        rows["hub"].append((wall, cpu))
        rows["hub_full"].append(_full(session))
    result: dict[str, Any] = {
        "instance": name,
        "units": problem.n_units,
        "sites": problem.n_sites,
        "polysystems": len(plan.hub_options),
        "contiguity": problem.rules.contiguity,
        "build_s": built.build_s,
        "start_plan_s": solve_s,
        "open_session_s": open_s,
        "moves": moves,
        "hub_edits": hub_edits,
        "moves_breaking_rules": breaking,
        "final_violations": len(session.verdict.violations),
    }
    for key, values in rows.items():
        if values:
            wall_ms, cpu_ms = (np.array(values) * 1000).T
            result[key] = {
                "wall_median_ms": float(np.median(wall_ms)),
                "wall_p95_ms": float(np.percentile(wall_ms, 95)),
                "wall_max_ms": float(wall_ms.max()),
                "cpu_median_ms": float(np.median(cpu_ms)),
                "cpu_p95_ms": float(np.percentile(cpu_ms, 95)),
            }
    for kind in ("move", "hub"):
        if kind in result:
            result[f"{kind}_ratio"] = result[f"{kind}_full"]["cpu_median_ms"] / result[kind]["cpu_median_ms"]
    return result


def markdown(results: list[dict[str, Any]], command: str) -> str:
    """The block of ``docs/benchmarks.md``: one row per instance and kind of edit."""
    lines = [
        "Time from an edit to the updated verdict of an edit session (`catchment/editing.py`), "
        "against the full path on the same state: the independent validator and the objective "
        "terms re-run on the whole plan. Random moves of one unit to another open hub, then "
        "random hub relocations (which renumber the polysystems: those touched and those breaking "
        "a rule are checked again). The "
        "two verdicts were compared after every edit and were identical. Start plan: the "
        f"heuristic ({START_WORK:,} steps). Milliseconds per edit; CPU time of the process "
        "beside wall time (the machine is shared).",
        "",
        f"Command: `{command}`",
        "",
        "| instance | units | polysystems | edit | edits | median ms (CPU) | p95 ms (CPU) | max ms "
        "| full check median ms (CPU) | ratio of CPU medians |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for kind, label, count in (("move", "move a unit", r["moves"]), ("hub", "move a hub", r["hub_edits"])):
            if kind not in r:
                continue
            t, full = r[kind], r[f"{kind}_full"]
            lines.append(
                f"| {r['instance']} | {r['units']:,} | {r['polysystems']} | {label} | {count} | "
                f"{t['wall_median_ms']:.2f} ({t['cpu_median_ms']:.2f}) | "
                f"{t['wall_p95_ms']:.2f} ({t['cpu_p95_ms']:.2f}) | "
                f"{t['wall_max_ms']:.2f} | {full['wall_median_ms']:.2f} ({full['cpu_median_ms']:.2f}) | "
                f"x{r[f'{kind}_ratio']:.1f} |"
            )
    lines.append("")
    lines.append(
        "Opening a session (checking every polysystem once): "
        + "; ".join(f"{r['instance']} {r['open_session_s'] * 1000:.0f} ms" for r in results)
        + "."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark, print the table and optionally write it to ``docs/benchmarks.md``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", nargs="+", default=list(INSTANCES), help="instances of bench/instances.py")
    parser.add_argument("--moves", type=int, default=200, help="random moves per instance")
    parser.add_argument("--hub-edits", type=int, default=20, help="random hub relocations per instance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="Redbridge practices only, 50 moves, 5 hub edits")
    parser.add_argument("--write-doc", action="store_true", help=f"write the block 'Edit latency' of {DOC.name}")
    args = parser.parse_args(argv)
    if args.quick:
        args.instances, args.moves, args.hub_edits = ["redbridge-practices"], 50, 5
    results = []
    for name in args.instances:
        result = measure(name, moves=args.moves, hub_edits=args.hub_edits, seed=args.seed)
        results.append(result)
        m, h = result["move"], result.get("hub")
        print(
            f"{name}: {result['units']:,} units, {result['polysystems']} polysystems; move median "
            f"{m['wall_median_ms']:.2f} ms (CPU {m['cpu_median_ms']:.2f}), p95 {m['wall_p95_ms']:.2f}, "
            f"max {m['wall_max_ms']:.2f}; full check {result['move_full']['wall_median_ms']:.2f} ms "
            f"(x{result['move_ratio']:.1f} in CPU time)"
            + (
                f"; hub move median {h['wall_median_ms']:.2f} ms, full {result['hub_full']['wall_median_ms']:.2f} ms"
                if h
                else ""
            ),
            flush=True,
        )
    command = "python " + " ".join(["bench/edit_latency.py", *(argv if argv is not None else sys.argv[1:])])
    text = markdown(results, command.replace(" --write-doc", ""))
    print(text)
    if args.write_doc:
        write_section(DOC, "edit-latency", "Edit latency", text, script="bench/edit_latency.py")
    return results


if __name__ == "__main__":
    main()
