"""Regenerate the README picture ``docs/demo-map.png`` from the built-in demo.

    python docs/make_demo_map.py [TARGET.png]

Builds the demo district, solves it (HiGHS) and draws the plan with
:func:`maps.save_static_map` (no tiles, no internet).
"""

from __future__ import annotations

import sys
from pathlib import Path

from catchment.build import build_demo
from maps import save_static_map
from solvers import solve


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(__file__).with_name("demo-map.png")
    built = build_demo()
    plan = solve(built.problem)
    title = (
        f"Built-in demo: {len(plan.hub_options)} polysystems of at least "
        f"{built.problem.rules.floor:,.0f} patients from {built.problem.n_units} GP practices"
    )
    save_static_map(built, plan, target, title=title, dpi=120)
    print(f"wrote {target} ({plan.status_label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
