"""Fingerprints of the engine's plans: proof that a refactoring changed no answer.

Solves a fixed set of problems with fixed, work-limited settings (no time limit decides
anything) and prints one line per problem: its name, a SHA-256 of the plan (every unit's
hub, every hub's option, the status and the objective to 1e-6) and the objective. Run it
before and after a change; identical hashes mean identical plans.

Problems: the built-in demo (practices and LSOAs), ``scenarios/redbridge.toml``,
``scenarios/redbridge-lsoa.toml``, ``scenarios/north-london.toml`` (each built as ``run``
builds it) and the benchmark instance ``london-practices`` (within 1%).

Usage::

    python bench/plan_hashes.py                 # all problems
    python bench/plan_hashes.py demo redbridge  # some of them
    python bench/plan_hashes.py --json hashes.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from catchment.build import build_demo, build_from_scenario  # noqa: E402
from catchment.plan import Plan  # noqa: E402
from catchment.problem import Problem  # noqa: E402
from catchment.scenario import read_scenario  # noqa: E402
from solvers import solve  # noqa: E402


def plan_hash(plan: Plan) -> str:
    """SHA-256 of what a plan decides: assignment, hub options, status and objective."""
    payload = {
        "assignment": sorted(plan.assignment.items()),
        "hub_options": sorted(plan.hub_options.items()),
        "status": plan.status,
        "objective": None if plan.objective is None else round(plan.objective, 6),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _scenario(name: str) -> Callable[[], tuple[Problem, dict]]:
    def build() -> tuple[Problem, dict]:
        scenario = read_scenario(ROOT / "scenarios" / name)
        spec = scenario.solver  # the scenario's own settings, without its time limit
        options = {
            "solver": spec.name,
            "mip_gap": spec.mip_gap,
            "k_nearest": spec.k_nearest,
            "method": spec.method,
            "workers": 1,
        }
        return build_from_scenario(scenario).problem, options

    return build


def _demo(unit_type: str) -> Callable[[], tuple[Problem, dict]]:
    def build() -> tuple[Problem, dict]:
        return build_demo(unit_type=unit_type).problem, {}

    return build


def _instance(name: str) -> Callable[[], tuple[Problem, dict]]:
    def build() -> tuple[Problem, dict]:
        from bench.instances import build_instance

        return build_instance(name).problem, {}

    return build


# name -> (builder, solve keywords); every setting fixed so that reruns are identical.
PROBLEMS: dict[str, tuple[Callable[[], tuple[Problem, dict]], dict]] = {
    "demo": (_demo("practice"), {}),
    "demo-lsoa": (_demo("lsoa"), {}),
    "redbridge": (_scenario("redbridge.toml"), {}),
    "redbridge-lsoa": (_scenario("redbridge-lsoa.toml"), {}),
    "north-london": (_scenario("north-london.toml"), {}),
    "london-practices": (_instance("london-practices"), {"mip_gap": 1e-2, "workers": 1}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"problems (default all): {', '.join(PROBLEMS)}")
    parser.add_argument("--json", type=Path, help="also write {name: hash} to this file")
    args = parser.parse_args(argv)
    names = args.names or list(PROBLEMS)
    unknown = sorted(set(names) - set(PROBLEMS))
    if unknown:
        parser.error(f"unknown problems: {', '.join(unknown)}")
    hashes = {}
    for name in names:
        build, options = PROBLEMS[name]
        started = time.perf_counter()
        problem, defaults = build()
        plan = solve(problem, **{**defaults, **options})
        hashes[name] = plan_hash(plan)
        print(
            f"{name:18s} {hashes[name]}  {plan.status:9s} objective {plan.objective!r}  "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(hashes, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
