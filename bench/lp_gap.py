"""How far proven optima lie above the LP relaxation: what an LP-bounded gap can show.

The neighbourhood search (:func:`solvers.lns.solve_lns`) measures its plans against the LP
relaxation of the whole model (:func:`solvers.lns.relaxation_bound`). When the optimum
itself is more than ``mip_gap`` above that bound, no plan, not even the optimum, can be
shown within ``mip_gap`` by it. This script solves instances small enough to prove with
the single MIP (every unit-site pair) and prints, per instance, one JSON object::

    {"instance": ..., "units": ..., "sites": ..., "contiguity": ..., "lp_bound": ...,
     "status": ..., "objective": ..., "mip_bound": ..., "optimum_above_lp": [low, high],
     "lp_s": ..., "mip_s": ...}

``optimum_above_lp`` brackets the optimum's relative distance above the LP bound:
``(mip_bound - lp) / mip_bound`` and ``(objective - lp) / objective``. The two agree
when the MIP is proven optimal.

Usage::

    python bench/lp_gap.py redbridge-practices redbridge-lsoa
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.instances import INSTANCES, build_instance  # noqa: E402
from solvers.lns import relaxation_bound  # noqa: E402
from solvers.mip import PolysystemModel  # noqa: E402

__all__ = ["lp_gap", "main"]


def lp_gap(name: str, *, time_limit: float = 300.0, mip_gap: float = 1e-4) -> dict[str, Any]:
    """The LP bound and the single MIP's answer on one instance (see the module docstring)."""
    problem = build_instance(name).problem
    started = time.perf_counter()
    lp, priced = relaxation_bound(problem, k_nearest=None, time_limit=time_limit)
    lp_s = time.perf_counter() - started
    plan = PolysystemModel(problem, k_nearest=None).solve(time_limit=time_limit, mip_gap=mip_gap)
    out: dict[str, Any] = {
        "instance": name,
        "units": problem.n_units,
        "sites": problem.n_sites,
        "contiguity": bool(problem.rules.contiguity),
        "lp_bound": lp,
        "lp_covers_every_pair": priced,
        "status": plan.status,
        "objective": plan.objective,
        "mip_bound": plan.bound,
        "optimum_above_lp": None,
        "lp_s": round(lp_s, 3),
        "mip_s": round(plan.runtime_s, 3),
    }
    if lp is not None and plan.objective is not None and plan.bound is not None:
        out["optimum_above_lp"] = [(plan.bound - lp) / plan.bound, (plan.objective - lp) / plan.objective]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "instances",
        nargs="+",
        choices=sorted(INSTANCES),
        metavar="instance",
        help=f"instance names ({', '.join(INSTANCES)})",
    )
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds for the LP and for the MIP")
    parser.add_argument("--mip-gap", type=float, default=1e-4, help="gap asked of the MIP")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in args.instances:
        print(json.dumps(lp_gap(name, time_limit=args.time_limit, mip_gap=args.mip_gap)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
