#!/usr/bin/env python
"""Plan polysystems (groups of GP practices or LSOAs) and their hub sites.

    python optimise.py demo [--out DIR]
    python optimise.py run SCENARIO.toml [--out DIR] [--data-dir DIR]
    python optimise.py evaluate SCENARIO.toml --plan FILE [--out DIR] [--data-dir DIR]

Exit codes: 0 a valid plan was written; 2 bad input (file, row and column named);
3 infeasible (the diagnosis says why); 4 no plan found within the time limit;
5 internal error: a plan failed the independent validator (nothing written).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_INVALID = 0, 2, 3, 4, 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, *, data: bool = True) -> None:
        p.add_argument("--out", type=Path, help="output folder (replaced atomically)")
        if data:
            p.add_argument("--data-dir", type=Path, help="folder of the published data files "
                           "(default: $CATCHMENT_DATA_DIR or ../shared/data)")
        p.add_argument("--solver", choices=("highs", "cbc"), help="override the scenario's solver")
        p.add_argument("--time-limit", type=float, help="solver time limit in seconds")
        p.add_argument("-q", "--quiet", action="store_true", help="only warnings and the result")

    demo = sub.add_parser("demo", help="the built-in synthetic district, end to end")
    demo.add_argument("--seed", type=int, default=2009, help="demo generator seed (default 2009)")
    demo.add_argument("--units", choices=("practice", "lsoa"), default="practice",
                      help="plan practices (default) or the small areas with contiguity")
    common(demo, data=False)
    run = sub.add_parser("run", help="solve a scenario file")
    run.add_argument("scenario", type=Path)
    common(run)
    ev = sub.add_parser("evaluate", help="score an existing configuration with the same metrics and validator")
    ev.add_argument("scenario", type=Path)
    ev.add_argument("--plan", type=Path, required=True,
                    help="CSV: unit_id, polysystem_id[, hub_site_id[, hub_option]]")
    common(ev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.captureWarnings(True)
    for noisy in ("pyogrio", "fiona", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from catchment._errors import InfeasibleError, PlanInvalidError
    from geodata._errors import CatchmentError

    try:
        return _run(args)
    except InfeasibleError as exc:
        print(f"\nINFEASIBLE: no plan can satisfy the rules. Nothing was written.\n\n{exc}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except PlanInvalidError as exc:
        print(f"\nINTERNAL ERROR: the plan failed the independent validator; nothing was written.\n{exc}",
              file=sys.stderr)
        return EXIT_INVALID
    except (CatchmentError, FileNotFoundError) as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _run(args: argparse.Namespace) -> int:
    from catchment import build, outputs
    from catchment._errors import InfeasibleError
    from catchment.diagnose import diagnose, diagnose_after_solve
    from catchment.evaluate import plan_from_configuration
    from catchment.validate import check_plan, validate_plan

    log = logging.getLogger("optimise")
    scenario = None
    if args.command == "demo":
        log.info("building the demo district (seed %d, %s units)", args.seed, args.units)
        built = build.build_demo(seed=args.seed, unit_type=args.units)
        solver_name, time_limit, mip_gap, k_nearest, threads = "highs", 120.0, 1e-4, None, None
        out = args.out or Path("out") / "demo"
        record = {"name": f"built-in demo (seed {args.seed})", "units": args.units}
    else:
        from catchment.scenario import read_scenario

        scenario = read_scenario(args.scenario)
        log.info("scenario %s: %s", args.scenario, scenario.name)
        built = build.build_from_scenario(scenario, data_dir=args.data_dir)
        s = scenario.solver
        solver_name, time_limit, mip_gap, k_nearest, threads = s.name, s.time_limit, s.mip_gap, s.k_nearest, s.threads
        out = args.out or Path("out") / args.scenario.stem
        record = {"name": scenario.name, "file": str(args.scenario), **dict(scenario.raw)}
    solver_name = args.solver or solver_name
    time_limit = args.time_limit if args.time_limit is not None else time_limit
    problem = built.problem
    log.info("%d %s units (%s people), %d candidate hub sites; data and travel times in %.2f s (%s)",
             problem.n_units, problem.unit_type, f"{problem.total_population:,.0f}", problem.n_sites,
             built.load_s, problem.travel_label)

    if args.command == "evaluate":
        import pandas as pd

        from geodata._errors import MissingFileError

        if not args.plan.is_file():
            raise MissingFileError(args.plan, what="configuration file")
        configuration = pd.read_csv(args.plan, dtype=str)
        plan = plan_from_configuration(problem, configuration, file=str(args.plan))
        violations = validate_plan(problem, plan)
        out = args.out or Path("out") / f"{args.scenario.stem}-evaluated"
        with outputs.atomic_output_dir(out) as staging:
            outputs.write_outputs(staging, built, plan, scenario=record)
            (staging / "violations.txt").write_text("".join(f"{v}\n" for v in violations) or "none\n")
        _report(built, plan, out)
        if violations:
            print(f"\nThe configuration breaks {len(violations)} rule(s):", *(f"  - {v}" for v in violations), sep="\n")
        else:
            print("\nThe configuration satisfies every rule.")
        return EXIT_OK

    diagnosis = diagnose(problem)
    if not diagnosis.feasible_possible:
        raise InfeasibleError(diagnosis)

    from solvers import solve

    log.info("solving with %s (time limit %s s, relative gap %g)", solver_name, time_limit, mip_gap)
    started = time.perf_counter()
    plan = solve(problem, solver=solver_name, time_limit=time_limit, mip_gap=mip_gap, k_nearest=k_nearest,
                 threads=threads)
    log.info("solver finished in %.2f s: %s", time.perf_counter() - started, plan.status_label)
    if plan.status == "infeasible":
        raise InfeasibleError(diagnose_after_solve(problem))
    if not plan.has_plan:
        print(f"\nNo plan was found within the time limit ({time_limit} s) and infeasibility was not proven. "
              "Nothing was written; raise --time-limit.", file=sys.stderr)
        return EXIT_NO_PLAN
    check_plan(problem, plan)
    log.info("the plan passed the independent validator")
    with outputs.atomic_output_dir(out) as staging:
        outputs.write_outputs(staging, built, plan, scenario=record)
        _write_maps(staging, built, plan)
    _report(built, plan, out)
    return EXIT_OK


def _write_maps(folder: Path, built, plan) -> None:  # noqa: ANN001 - thin CLI glue
    try:
        from maps import write_plan_outputs
    except ImportError:  # maps are optional until the maps package provides them
        return
    write_plan_outputs(folder, built, plan)


def _report(built, plan, out: Path) -> None:  # noqa: ANN001 - thin CLI glue
    from catchment.metrics import plan_summary, polysystems_frame

    summary = plan_summary(built.problem, plan)
    table = polysystems_frame(built.problem, plan)
    print(f"\n{plan.status_label.upper()}  solver {plan.solver}, {plan.runtime_s:.2f} s")
    if plan.objective is not None:
        bound = "n/a" if plan.bound is None else f"{plan.bound:.4f}"
        gap = "n/a" if plan.gap is None else f"{plan.gap:.4%}"
        print(f"objective {plan.objective:.4f}  bound {bound}  gap {gap}")
    print(f"travel times: {built.problem.travel_label}")
    for note in plan.notes:
        print(f"note: {note}")
    cols = ["polysystem_id", "hub_site_id", "hub_site_name", "hub_option", "population", "n_units",
            "mean_travel_min", "max_travel_min"]
    print()
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    print(f"\n{summary.get('n_polysystems', len(table))} polysystems covering "
          f"{summary.get('coverage', 1.0):.1%} of the population; outputs in {out}/")


if __name__ == "__main__":
    sys.exit(main())
