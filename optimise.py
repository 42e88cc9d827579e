#!/usr/bin/env python
"""Plan polysystems (groups of GP practices or LSOAs) and their hub sites.

    python optimise.py demo [--out DIR]
    python optimise.py run SCENARIO.toml [--out DIR] [--data-dir DIR]
    python optimise.py evaluate SCENARIO.toml --plan FILE|pcn [--out DIR] [--data-dir DIR]
    python optimise.py compare SCENARIO.toml --plan pcn|FILE [--against FILE] [--out DIR]
    python optimise.py shortlist SCENARIO.toml|demo [--out DIR] [--scheduler ADDRESS] [--workers N]
    python optimise.py sweep SWEEP.toml [--out DIR] [--scheduler ADDRESS] [--workers N]
    python optimise.py phase SCENARIO.toml|demo --years 5 --annual-budget 5e6 [--carry-over] [--plan FILE]
    python optimise.py national [--out DIR] [--file ROLE=PATH ...] [--compare pcn] [--scheduler ADDRESS] [--workers N]
    python optimise.py app [SCENARIO.toml] [--host 127.0.0.1] [--port PORT] [--data-dir DIR]

Shortlists, sweeps and national runs solve on Dask: a local cluster of --workers processes
(default: one per core), or an existing one with --scheduler; --serial solves in this process.

Exit codes: 0 a valid plan was written; 2 bad input (file, row and column, scenario key or
option named) or an unusable output folder (named); 3 infeasible (the diagnosis says why);
4 no plan found within the time limit; 5 internal error: a plan failed the independent
validator (nothing written);
6 evaluate: the configuration was scored and written, but it breaks rules (status breaks_rules);
  compare: both were written, and the current configuration breaks rules;
130 interrupted by Ctrl-C (nothing written, earlier results intact).

--out replaces only a folder the engine wrote itself (it holds .catchment-output) or an
empty one; any other existing folder is an error (exit 2) and is left untouched. It may not
be the current folder, a folder holding it, or a mount point (use a folder inside it), nor
hold an input of the command (the scenario or sweep file, --plan, --against, --data-dir,
--file, a file the scenario names): replacing it would delete them.

--time-limit covers the whole of run and demo (build, solve, validate, write): they end
within the limit plus 5 % + 10 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from catchment.settings import (
    COMMAND_TIME_LIMIT_S,
    CONFIGURATION_CSV,
    SOLVER_NAMES,
    TIME_LIMIT_RANGE,
    is_time_limit,
)
from catchment.timing import deadline_after, time_limit_margin

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_INVALID = 0, 2, 3, 4, 5
EXIT_BREAKS_RULES = 6
EXIT_INTERRUPTED = 130


# ---------------------------------------------------------------------------- option values
def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def non_negative_float(text: str) -> float:
    """Argparse type: a finite number, zero or more."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value


def relative_gap(text: str) -> float:
    """Argparse type: a relative gap in [0, 1)."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a relative gap from 0 up to (not including) 1, got {text!r}")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """Argparse type: a whole number above zero."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """Argparse type: a whole number, zero or more."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value


def time_limit_s(text: str) -> float:
    """Argparse type: a time limit, :data:`catchment.settings.TIME_LIMIT_RANGE` (as ``[solver] time_limit``)."""
    value = _number(text)
    if not is_time_limit(value):
        raise argparse.ArgumentTypeError(f"must be {TIME_LIMIT_RANGE}, got {text!r}")
    return value


def worker_count(text: str) -> int:
    """Argparse type: worker processes, 1 to :data:`geodata.settings.MAX_PARALLEL` (as ``[solver] workers``)."""
    from geodata.settings import MAX_PARALLEL, is_count

    value = _whole_number(text)
    if not is_count(value, MAX_PARALLEL):
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_PARALLEL:,}, got {text!r}")
    return value


#: Highest TCP port number.
MAX_PORT = 65_535


def port_number(text: str) -> int:
    """Argparse type: a TCP port, 1 to :data:`MAX_PORT`."""
    value = _whole_number(text)
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to {MAX_PORT:,}, got {text!r}")
    return value


def horizon_years(text: str) -> int:
    """Argparse type: a phasing horizon, 1 to :data:`solvers.phasing.MAX_YEARS` years."""
    from solvers.phasing import MAX_YEARS  # local: the solvers import PuLP

    value = positive_int(text)
    if value > MAX_YEARS:
        raise argparse.ArgumentTypeError(f"must be a whole number of years from 1 to {MAX_YEARS}, got {text!r}")
    return value


def budget_gbp(text: str) -> float:
    """Argparse type: an amount of money, 0 to :data:`catchment.problem.MAX_GBP`."""
    from catchment.problem import MAX_GBP  # local: the domain imports pandas

    value = non_negative_float(text)
    if value > MAX_GBP:
        raise argparse.ArgumentTypeError(f"must be an amount (GBP) from 0 to {MAX_GBP:,.0f}, got {text!r}")
    return value


def population(text: str) -> float:
    """Argparse type: a number of people, 0 to :data:`geodata.settings.MAX_POPULATION`."""
    from geodata.settings import MAX_POPULATION

    value = non_negative_float(text)
    if value > MAX_POPULATION:
        raise argparse.ArgumentTypeError(f"must be a number of people from 0 to {MAX_POPULATION:,}, got {text!r}")
    return value


#: ``--plan`` value naming today's Primary Care Networks (the practice-to-PCN mapping).
PCN_PLAN = "pcn"


def _plan_argument(text: str) -> Path | str:
    """``--plan`` / ``--against``: a configuration file, or :data:`PCN_PLAN`."""
    return PCN_PLAN if text == PCN_PLAN else Path(text)


#: ``national``'s option giving the file of a data role (``ROLE=PATH``), as its messages name it.
NATIONAL_FILE_OPTION = "--file"


def national_file(text: str) -> tuple[str, Path]:
    """Argparse type of ``national --file``: ``ROLE=PATH``, a role of :data:`catchment.national.NATIONAL_FILES`.

    The path is taken from the current folder (``~`` is the home folder).
    """
    from catchment.national import NATIONAL_FILES, unknown_roles  # local: the readers import geopandas

    role, equals, path = text.partition("=")
    role, path = role.strip(), path.strip()
    if not equals or not role or not path:
        raise argparse.ArgumentTypeError(f"{text!r} is not ROLE=PATH; the roles: {', '.join(NATIONAL_FILES)}")
    if words := unknown_roles([role]):
        raise argparse.ArgumentTypeError(f"{text!r}: {words}")
    return role, Path(path).expanduser().absolute()


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks across options, before any data is read (argparse error: exit 2)."""
    for option in ("plan", "against"):
        plan = getattr(args, option, None)
        if plan == PCN_PLAN and args.command not in ("evaluate", "compare"):
            parser.error(f"argument --{option}: {PCN_PLAN!r} is for evaluate and compare; give a configuration file")
        if isinstance(plan, Path) and not plan.is_file():
            parser.error(f"argument --{option}: configuration file {str(plan)!r} not found")
    solves_nothing = args.command == "evaluate" or (args.command == "compare" and args.against is not None)
    if solves_nothing:
        for option, value in (("--solver", args.solver), ("--time-limit", args.time_limit)):
            if value is not None:
                why = "evaluate scores the --plan configuration" if args.command == "evaluate" else "--against is given"
                parser.error(f"argument {option}: nothing is solved ({why}); leave {option} out")
    if getattr(args, "serial", False):
        for option, value in (("--workers", args.workers), ("--scheduler", args.scheduler)):
            if value is not None:
                parser.error(f"argument {option}: --serial solves in this process, without Dask; give one of the two")
    elif getattr(args, "scheduler", None) is not None and args.workers is not None:
        parser.error(
            "argument --workers: sets the workers of the local cluster; an existing scheduler (--scheduler) "
            "has its own workers"
        )
    if args.command == "national":
        from catchment.national import (  # local: the readers import geopandas
            LOOKUP_POPULATION_ROLE,
            LSOA_LOOKUP_ROLE,
            PCN_MAPPING_ROLE,
            lookup_population_only,
        )

        given: dict[str, list[str]] = {}
        for role, path in args.files:
            given.setdefault(role, []).append(str(path))
        for role, paths in given.items():
            if len(paths) > 1:
                times = f"{len(paths)} times ({', '.join(paths)})"
                parser.error(f"argument {NATIONAL_FILE_OPTION}: role {role!r} given {times}; give it once")
        if PCN_MAPPING_ROLE in given and not args.compare:
            parser.error(
                f"argument {NATIONAL_FILE_OPTION}: role {PCN_MAPPING_ROLE!r} is read only with --compare {PCN_PLAN}"
            )
        if LOOKUP_POPULATION_ROLE in given and LSOA_LOOKUP_ROLE not in given:
            parser.error(
                f"argument {NATIONAL_FILE_OPTION}: role {LOOKUP_POPULATION_ROLE!r} "
                + lookup_population_only(f"{NATIONAL_FILE_OPTION} {LSOA_LOOKUP_ROLE}")
            )
    if args.command == "phase" and len(args.annual_budget) not in (1, args.years):
        parser.error(
            f"argument --annual-budget: {len(args.annual_budget)} amounts given for --years "
            f"{args.years}: give one amount, or one per year"
        )


#: Seconds kept from a time limit for validating and writing a plan: a fixed part and a
#: part per unit (see _solve_limit), at most a share of the limit.
_OUTPUT_RESERVE_S, _OUTPUT_RESERVE_PER_UNIT_S, _OUTPUT_RESERVE_SHARE = 2.0, 0.06, 0.4
#: The solve gets at least this share of the time limit, however long the build took.
_MIN_SOLVE_SHARE = 0.5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, *, data: bool = True) -> None:
        p.add_argument(
            "--out", type=Path, help="output folder: new, empty, or written by the engine (replaced atomically)"
        )
        if data:
            p.add_argument(
                "--data-dir",
                type=Path,
                help="folder of the published data files (default: $CATCHMENT_DATA_DIR or ../shared/data)",
            )
        p.add_argument("--solver", choices=SOLVER_NAMES, help="override the scenario's solver")
        p.add_argument(
            "--time-limit",
            type=time_limit_s,
            help="time limit in seconds (run and demo: the whole command, which ends within it plus 5%% + 10 s)",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="only warnings and the result")

    def plan_files(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--no-exports",
            action="store_true",
            help="skip plan.xlsx, polysystems.geojson and units.geojson in each plan's folder",
        )
        p.add_argument("--pdf", action="store_true", help="also write the board report as report.pdf (WeasyPrint)")

    demo = sub.add_parser("demo", help="the built-in synthetic district, end to end")
    demo.add_argument("--seed", type=non_negative_int, default=2009, help="demo generator seed (default 2009)")
    demo.add_argument(
        "--units",
        choices=("practice", "lsoa"),
        default="practice",
        help="plan practices (default) or the small areas with contiguity",
    )
    common(demo, data=False)
    plan_files(demo)
    run = sub.add_parser("run", help="solve a scenario file")
    run.add_argument("scenario", type=Path)
    common(run)
    plan_files(run)
    ev = sub.add_parser("evaluate", help="score an existing configuration with the same metrics and validator")
    ev.add_argument("scenario", type=Path)
    ev.add_argument(
        "--plan",
        type=_plan_argument,
        required=True,
        help=f"{CONFIGURATION_CSV} (e.g. the assignments.csv of a run); or {PCN_PLAN!r}: today's PCNs",
    )
    common(ev)
    plan_files(ev)
    cmp = sub.add_parser("compare", help="a configuration (e.g. today's PCNs) against the optimum or another one")
    cmp.add_argument("scenario", type=Path)
    cmp.add_argument(
        "--plan",
        type=_plan_argument,
        required=True,
        help=f"the current configuration: CSV as for evaluate, or {PCN_PLAN!r}",
    )
    cmp.add_argument(
        "--against", type=_plan_argument, help="compare with this configuration instead of solving (CSV, or 'pcn')"
    )
    common(cmp)
    plan_files(cmp)

    def dask(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="address of an existing Dask scheduler "
            "(tcp://host:8786, or tls://host:8786 with Dask's TLS settings); default: a local cluster",
        )
        p.add_argument(
            "--workers", type=worker_count, help="worker processes of the local cluster (default: one per core)"
        )
        p.add_argument("--serial", action="store_true", help="solve in this process, without Dask")

    sl = sub.add_parser("shortlist", help="rank candidate hub sites: regret, value of keeping, near-optimal share")
    sl.add_argument("scenario", help="scenario file, or 'demo' for the built-in district")
    sl.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=0.02,
        help="near-optimal: within this relative distance of the optimum (default 0.02)",
    )
    sl.add_argument(
        "--exhaustive", action="store_true", help="solve both forcings of every site even when the optimum answers one"
    )
    sl.add_argument(
        "--screen",
        action="store_true",
        help="skip forcing open a site whose proven regret bound is already above the tolerance",
    )
    common(sl)
    plan_files(sl)
    dask(sl)
    sw = sub.add_parser("sweep", help="solve a grid of rule variants; results table, Pareto front, every plan")
    sw.add_argument("sweep", type=Path, help="sweep file (TOML: [sweep] base, [grid] axes)")
    common(sw)
    plan_files(sw)
    dask(sw)
    ph = sub.add_parser("phase", help="which hub opens in which year under annual capital budgets")
    ph.add_argument("scenario", help="scenario file, or 'demo' for the built-in district")
    ph.add_argument("--years", type=horizon_years, default=5, help="length of the horizon (default 5)")
    ph.add_argument(
        "--annual-budget",
        type=budget_gbp,
        nargs="+",
        required=True,
        metavar="GBP",
        help="capital budget per year: one amount, or one per year",
    )
    ph.add_argument("--carry-over", action="store_true", help="unspent budget rolls forward")
    ph.add_argument("--complete", action="store_true", help="every hub must open within the horizon")
    ph.add_argument("--plan", type=Path, help="phase this configuration (CSV as for evaluate) instead of solving")
    common(ph)
    plan_files(ph)
    na = sub.add_parser("national", help="every English practice, one problem per CCG, solved on Dask")
    na.add_argument(
        "--floor",
        type=population,  # default: the rules' (catchment.problem.DEFAULT_FLOOR)
        help="minimum population per polysystem (default 50,000)",
    )
    na.add_argument("--ccg", nargs="+", metavar="CODE", help="only these CCG codes")
    na.add_argument(
        NATIONAL_FILE_OPTION,
        dest="files",
        type=national_file,
        action="append",
        default=[],
        metavar="ROLE=PATH",
        help="read PATH (from the current folder) for one data file role (list_sizes, registrations, ...) instead "
        "of its default in the data folder, or ONS's LSOA (2011) to LSOA (2021) lookup (lsoa_lookup, no default) "
        "to carry the registrations to the centroids' LSOA vintage; repeatable (an unknown role is refused with the "
        "list of roles)",
    )
    na.add_argument(
        "--compare",
        choices=(PCN_PLAN,),
        help="also score today's PCNs of each CCG and compare them with its optimised plan",
    )
    na.add_argument("--mip-gap", type=relative_gap, default=1e-3, help="relative gap per CCG (default 0.001)")
    common(na)
    dask(na)
    ap = sub.add_parser("app", help="the planner's workbench: a local web app (open, solve, edit, compare, export)")
    ap.add_argument("scenario", nargs="?", type=Path, help="scenario file to open first (optional)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=port_number, default=8050, help="port (default 8050)")
    ap.add_argument("--data-dir", type=Path, help="folder of the published data files")
    ap.add_argument("-q", "--quiet", action="store_true", help="only warnings")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see the module docstring)."""
    started = time.time()
    clock = time.perf_counter()  # the whole command's time limit counts from here
    parser = _parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    args.started = clock
    levels = {name: logging.getLogger(name).level for name in (*_NOISY_LOGGERS, *_PER_CCG_LOGGERS)}
    show, words = warnings.showwarning, warnings.formatwarning
    try:
        return _main(args)
    except KeyboardInterrupt:
        return _interrupted(args, started)
    finally:  # what a command changes in logging and warnings is as it was: a process may run several commands
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        if warnings.showwarning is not show:  # warnings were routed to logging by this command
            logging.captureWarnings(False)
        warnings.formatwarning = words


#: Loggers of other libraries that say too much at INFO: every command sets them to WARNING.
_NOISY_LOGGERS = ("pyogrio", "fiona", "urllib3", "distributed", "tornado")
#: Loggers that would write a line per CCG in a national run: set to WARNING there (not
#: catchment.build: its lines come once a run, e.g. the patients the LSOA lookup apportions).
_PER_CCG_LOGGERS = ("catchment.travel",)


def _interrupted(args: argparse.Namespace, started: float) -> int:
    """One line on Ctrl-C: what was (not) written."""
    out = getattr(args, "out_dir", None)
    if out is None:
        line = "interrupted (Ctrl-C): nothing was written"
    else:
        from catchment.outputs import written_by_this_process

        if written_by_this_process(out, since=started):
            line = f"interrupted (Ctrl-C) after the results were written to {out}"
        elif out.exists():
            line = f"interrupted (Ctrl-C): nothing was written; the earlier results in {out} are intact"
        else:
            line = f"interrupted (Ctrl-C): nothing was written ({out} was not created)"
    print(line, file=sys.stderr)
    return EXIT_INTERRUPTED


def _output(args: argparse.Namespace, name: str, *, inputs: Mapping[str, Path] | None = None) -> Path:
    """The output folder (``--out``, else ``out/NAME``), checked before any long work.

    It may not hold a file or folder the command reads (:func:`_inputs`, and ``inputs``:
    those named inside an input file): replacing the folder would delete it.
    """
    from catchment.outputs import check_output_dir

    out = args.out or Path("out") / name
    args.out_dir = check_output_dir(out, inputs={**_inputs(args), **(inputs or {})})
    return out


def _inputs(args: argparse.Namespace) -> dict[str, Path]:
    """The files and folders the command line gives a command to read, each under the words that name it."""
    inputs: dict[str, Path] = {}
    if getattr(args, "scenario", None) is not None and not _is_demo(args):
        inputs["the scenario file"] = Path(args.scenario)
    if getattr(args, "sweep", None) is not None:
        inputs["the sweep file"] = Path(args.sweep)
    for option in ("plan", "against"):
        if isinstance(value := getattr(args, option, None), Path):
            inputs[f"--{option}"] = value
    if getattr(args, "data_dir", None) is not None:
        inputs["--data-dir"] = Path(args.data_dir)
    for role, path in getattr(args, "files", ()):
        inputs[f"{NATIONAL_FILE_OPTION} {role}"] = path
    return inputs


def _format_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    """The engine's own warnings about the data as the planner reads them: no source file or line."""
    from geodata.errors import DataWarning, EstimateWarning

    if issubclass(category, (DataWarning, EstimateWarning)):
        return f"{category.__name__}: {message}"
    return _FORMAT_WARNING(message, category, filename, lineno, line)


_FORMAT_WARNING = warnings.formatwarning


def _main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.captureWarnings(True)
    warnings.formatwarning = _format_warning
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from geodata.errors import CatchmentError, InfeasibleError, PlanInvalidError

    commands = {
        "shortlist": _shortlist,
        "sweep": _sweep,
        "phase": _phase,
        "national": _national,
        "compare": _compare,
        "app": _app,
    }
    try:
        if getattr(args, "pdf", False):
            from maps.pdf import check_pdf_available

            check_pdf_available()  # WeasyPrint and its system libraries: exit 2 before any work
        if getattr(args, "scheduler", None) is not None and not args.serial:
            from solvers.distributed import scheduler_security

            scheduler_security(args.scheduler)  # a bad address or TLS setting: exit 2 before any work
        return commands.get(args.command, _run)(args)
    except InfeasibleError as exc:
        print(f"\nINFEASIBLE: no plan can satisfy the rules. Nothing was written.\n\n{exc}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except PlanInvalidError as exc:
        print(
            f"\nINTERNAL ERROR: the plan failed the independent validator; nothing was written.\n{exc}", file=sys.stderr
        )
        return EXIT_INVALID
    except (CatchmentError, FileNotFoundError) as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _run(args: argparse.Namespace) -> int:
    from catchment import outputs
    from geodata.errors import InfeasibleError, PlanInvalidError
    from solvers.batch import solve_and_check

    log = logging.getLogger("optimise")
    stem = _scenario_stem(args)
    out = _output(args, f"{stem}-evaluated" if args.command == "evaluate" else stem)
    prov = _provenance(args)
    built, record, scenario = _load(args)
    problem = built.problem
    log.info(
        "%d %s units (%s people), %d candidate hub sites; data and travel times in %.2f s (%s)",
        problem.n_units,
        problem.unit_type,
        f"{problem.total_population:,.0f}",
        problem.n_sites,
        built.load_s,
        problem.travel_label,
    )

    if args.command == "evaluate":
        plan, pcns = _configured_plan(args, args.plan, built, scenario)
        violations = plan.violations  # the validator's findings (status breaks_rules when any)
        reference = None if pcns is not None else _todays_pcns(args, built, scenario)
        with outputs.atomic_output_dir(out) as staging:
            outputs.write_outputs(staging, built, plan, scenario=record, provenance=prov)
            _write_plan(args, staging, built, plan, reference=reference)
            (staging / "violations.txt").write_text("".join(f"{v}\n" for v in violations) or "none\n")
            if pcns is not None:
                pcns.to_csv(staging / "pcns.csv", index=False)
        _report(built, plan, out)
        if pcns is not None:
            print("\nToday's PCNs and the rules each breaks:")
            print(pcns.drop(columns="pcn_code").to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
        if violations:
            print(f"\nThe configuration {plan.status_label}:", *(f"  - {v}" for v in violations), sep="\n")
            return EXIT_BREAKS_RULES
        print("\nThe configuration satisfies every rule.")
        return EXIT_OK

    options = _options(args, scenario)
    time_limit = options.time_limit
    deadline = deadline_after(time_limit, start=args.started)
    solve_limit = _solve_limit(time_limit, deadline, problem.n_units)
    log.info(
        "solving with %s (time limit %s s, of which the solve may take %s s; relative gap %g)",
        options.solver,
        time_limit,
        "no limit" if solve_limit is None else f"{solve_limit:.1f}",
        options.mip_gap,
    )
    started = time.perf_counter()
    result = solve_and_check(
        problem,
        dataclasses.replace(options, time_limit=solve_limit),
        workers=scenario.solver.workers if scenario is not None else None,
    )
    plan = result.plan
    if result.proven_by != "checks":
        log.info("solver finished in %.2f s: %s", time.perf_counter() - started, plan.status_label)
    if result.infeasibility is not None:
        raise InfeasibleError(result.infeasibility)
    if not plan.has_plan:
        print(
            f"\nNo plan was found within the time limit ({time_limit} s) and infeasibility was not proven. "
            "Nothing was written; raise --time-limit.",
            file=sys.stderr,
        )
        return EXIT_NO_PLAN
    if result.violations:
        raise PlanInvalidError(result.violations)
    log.info("the plan passed the independent validator")
    timing = {
        "time_limit_s": time_limit,
        "solve_time_limit_s": solve_limit,
        "time_limit_margin_s": None if time_limit is None else time_limit_margin(time_limit),
    }
    written = time.perf_counter()
    reference = _todays_pcns(args, built, scenario)
    with outputs.atomic_output_dir(out) as staging:
        outputs.write_outputs(staging, built, plan, scenario=record, provenance=prov, timing=timing)
        _write_plan(args, staging, built, plan, reference=reference)
    total = time.perf_counter() - args.started
    log.info(
        "outputs written in %.1f s; the command took %.1f s%s",
        time.perf_counter() - written,
        total,
        "" if time_limit is None else f" (time limit {time_limit:g} s + margin {time_limit_margin(time_limit):.1f} s)",
    )
    _report(built, plan, out)
    return EXIT_OK


def _configured_plan(  # noqa: ANN202
    args: argparse.Namespace,
    plan_arg: Path | str,
    built,  # noqa: ANN001
    scenario,  # noqa: ANN001
    option: str = "--plan",
):
    """The plan of ``--plan``/``--against``: a configuration file, or today's PCNs (with their table)."""
    if plan_arg != PCN_PLAN:
        return _plan_from_file(built.problem, Path(plan_arg), option), None
    from catchment.current import current_pcn_plan
    from geodata.errors import ProblemDefinitionError

    if scenario is None:
        raise ProblemDefinitionError([f"--plan {PCN_PLAN}: the built-in demo is synthetic and has no PCNs"])
    return current_pcn_plan(scenario, built.problem, data_dir=args.data_dir)


def _compare(args: argparse.Namespace) -> int:
    import json

    from catchment import outputs
    from catchment.compare import compare_plans
    from maps.compare import comparison_map
    from maps.plan_map import save_map
    from solvers.batch import solve_and_check

    log = logging.getLogger("optimise")
    out = _output(args, f"{_scenario_stem(args)}-compare")
    prov = _provenance(args)
    built, record, scenario = _load(args)
    problem = built.problem
    current, pcns = _configured_plan(args, args.plan, built, scenario)
    if args.against is not None:
        proposed, _ = _configured_plan(args, args.against, built, scenario, "--against")
    else:
        result = solve_and_check(problem, _options(args, scenario), workers=scenario.solver.workers)
        code = _base_exit(result)
        if code is not None:
            return code
        proposed = result.plan
    log.info("current: %s; proposed: %s", current.status_label, proposed.status_label)
    comparison = compare_plans(problem, current, proposed)
    figures = {
        "scenario": record,
        **comparison.as_dict(problem.unit_type),
        "travel_source": problem.travel_source,
        "travel_label": problem.travel_label,
        **prov,
    }
    labels = ("current", "proposed")
    references = ((proposed, "the proposed plan"), (current, None if pcns is not None else "the current configuration"))
    with outputs.atomic_output_dir(out) as staging:
        for label, plan, (other, words) in zip(labels, (current, proposed), references, strict=True):
            (staging / label).mkdir()
            outputs.write_outputs(staging / label, built, plan, scenario=record, provenance=prov)
            _write_plan(args, staging / label, built, plan, reference=other, reference_label=words)
        if pcns is not None:
            pcns.to_csv(staging / "current" / "pcns.csv", index=False)
        (staging / "comparison.json").write_text(json.dumps(outputs.json_safe(figures), indent=2) + "\n")
        comparison.moves.to_csv(staging / "moves.csv", index=False)
        save_map(comparison_map(built, current, proposed, labels=labels), staging / "comparison.html")
    moved = "practices" if problem.unit_type == "practice" else "units"
    ari = comparison.adjusted_rand_index
    print(f"\nCOMPARISON  current: {current.status_label}; proposed: {proposed.status_label}")
    for label, side in (("current", comparison.current), ("proposed", comparison.proposed)):
        print(
            f"  {label:9s} {side['polysystems']} polysystems, mean travel {side['mean_travel_min']:.2f} min, "
            f"longest {side['max_travel_min']:.2f} min, {side['rules_broken']} rule(s) broken"
        )
    print(
        f"  adjusted Rand index {'n/a' if ari is None else f'{ari:.3f}'}; {comparison.units_moved} {moved} "
        f"({comparison.population_moved:,.0f} people) move"
    )
    print(f"travel times: {problem.travel_label}")
    print(f"\noutputs in {out}/ (comparison.json, moves.csv, comparison.html, current/, proposed/)")
    return EXIT_BREAKS_RULES if current.violations else EXIT_OK


def _plan_from_file(problem, path: Path, option: str = "--plan"):  # noqa: ANN001, ANN202 - thin CLI glue
    """The plan of a configuration CSV; bad files are exit 2 with the file named.

    Missing, undecodable, ragged, not CSV at all or without the configuration's columns; for
    another file of an engine's output folder the error names the folder's plan.
    """
    from catchment.evaluate import plan_from_configuration
    from catchment.outputs import plan_file_in
    from geodata.tables import read_table

    expects = f"{option} expects {CONFIGURATION_CSV}"
    plan_file = plan_file_in(path.parent)
    hint = None
    if plan_file is not None and plan_file.name != path.name:
        hint = f"that folder holds results of the engine: its plan is {plan_file}"
        expects += f"; {hint}"
    configuration = read_table(path, what="configuration file", expects=expects).reset_index(drop=True)
    return plan_from_configuration(problem, configuration, file=str(path), hint=hint)


def _write_plan(  # noqa: ANN001 - thin CLI glue
    args: argparse.Namespace, folder: Path, built, plan, *, reference=None, reference_label: str | None = None
) -> None:
    """The maps and report of a plan (and report.pdf with --pdf), and its exports unless --no-exports."""
    from maps import write_plan_outputs

    write_plan_outputs(folder, built, plan, pdf=args.pdf)
    if not args.no_exports:
        from catchment.exports import write_exports

        write_exports(folder, built, plan, reference=reference, reference_label=reference_label)


def _todays_pcns(args: argparse.Namespace, built, scenario):  # noqa: ANN001, ANN202 - thin CLI glue
    """Today's PCNs to list a plan's moves against (None when unknown, or with --no-exports)."""
    if args.no_exports:
        return None
    from catchment.current import known_pcn_plan

    return known_pcn_plan(scenario, built.problem, data_dir=getattr(args, "data_dir", None))


def _solve_limit(time_limit: float | None, deadline: float | None, n_units: int) -> float | None:
    """Seconds the solve may take: what remains of the deadline less the time to validate and write.

    Writing the files, maps and report took 2-3 s for the 161 Redbridge LSOAs and 30-34 s
    for 402 London practices (their areas come from the LSOAs their patients live in) on a
    busy 2-core machine: 2 s plus 0.06 s per unit is kept, at most 40 % of the limit; the
    solve gets at least half the limit, however long the build took.
    """
    if time_limit is None or deadline is None:
        return None
    reserve = min(_OUTPUT_RESERVE_S + _OUTPUT_RESERVE_PER_UNIT_S * n_units, _OUTPUT_RESERVE_SHARE * time_limit)
    return max(_MIN_SOLVE_SHARE * time_limit, deadline - time.perf_counter() - reserve)


def _report(built, plan, out: Path) -> None:  # noqa: ANN001 - thin CLI glue
    from catchment.metrics import (
        CONFIGURED_ID_COLUMN,
        capital_costs_label,
        objective_estimate_label,
        plan_bounds_label,
        plan_summary,
        polysystems_frame,
        travel_times_label,
    )
    from catchment.plan import gap_words

    summary = plan_summary(built.problem, plan)
    table = polysystems_frame(built.problem, plan)
    print(f"\n{plan.status_label.upper()}  solver {plan.solver}, {plan.runtime_s:.2f} s")
    if plan.objective is not None:
        estimate = objective_estimate_label(built.problem)  # the objective and its bound, of estimated travel
        bound = "n/a" if plan.bound is None else f"{plan.bound:.4f}{estimate}"
        gap = "n/a" if plan.gap is None else gap_words(plan.gap, 4)
        print(f"objective {plan.objective:.4f}{estimate}  bound {bound}  gap {gap}")
        bounds = plan_bounds_label(built.problem, plan)
        if bounds:
            print(f"bounds: {bounds}")
    print(f"travel times: {built.problem.travel_label}")
    for note in plan.notes:
        print(f"note: {note}")
    cols = [
        "polysystem_id",
        *([CONFIGURED_ID_COLUMN] if CONFIGURED_ID_COLUMN in table else []),
        "hub_site_id",
        "hub_site_name",
        "hub_option",
        "population",
        "n_units",
        "mean_travel_min",
        "max_travel_min",
        "capital_cost",
    ]
    headings = {c: c + travel_times_label(built.problem) for c in ("mean_travel_min", "max_travel_min")}
    headings["capital_cost"] = "capital_cost" + capital_costs_label(built.problem)
    print()
    print(table[cols].rename(columns=headings).to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    print(f"\ncapital cost GBP {summary['capital_cost']:,.0f}{capital_costs_label(built.problem)}")
    if summary["capital_costs_note"]:
        print(f"note: {summary['capital_costs_note']}")
    print(f"{summary['n_polysystems']} polysystems covering {summary['coverage_text']}; outputs in {out}/")


# ---------------------------------------------------------------------------- shortlist, sweep, phase, national
def _options(args: argparse.Namespace, scenario=None, **defaults):  # noqa: ANN001, ANN202 - thin CLI glue
    from solvers.batch import SolveOptions

    s = scenario.solver if scenario is not None else None
    settings = s.solve_keywords() if s is not None else {}  # SolveOptions: the batch's defaults otherwise
    if args.command in _BATCH_COMMANDS and scenario is not None and "workers" in scenario.raw.get("solver", {}):
        logging.getLogger("optimise").warning(
            "%s: [solver] workers is not used by %s: each solve runs in one process (the batch spreads the "
            "solves over the cores%s)",
            scenario.where,
            args.command,
            "" if args.command == "phase" else "; --workers sets the processes of the local cluster",
        )
    settings.update(defaults)
    if args.solver:
        settings["solver"] = args.solver
    if args.time_limit is not None:
        settings["time_limit"] = args.time_limit
    return SolveOptions(**settings)


#: Commands whose solves run through :class:`solvers.batch.SolveOptions`, one process each.
_BATCH_COMMANDS = ("shortlist", "sweep", "phase")


def _is_demo(args: argparse.Namespace) -> bool:
    """The command works on the built-in demo (``demo``, or ``demo`` in place of a scenario file)."""
    return args.command == "demo" or getattr(args, "scenario", None) == "demo"


def _scenario_stem(args: argparse.Namespace) -> str:
    return "demo" if _is_demo(args) else Path(args.scenario).stem


def _provenance(args: argparse.Namespace) -> dict:
    from catchment.outputs import provenance

    return provenance(scenario_file=None if _is_demo(args) else Path(args.scenario))


def _load(args: argparse.Namespace):  # noqa: ANN202 - thin CLI glue
    """Built problem and scenario record of a scenario file or the demo, and the scenario (``None``: the demo)."""
    from catchment import build

    log = logging.getLogger("optimise")
    if _is_demo(args):
        seed, units = getattr(args, "seed", 2009), getattr(args, "units", "practice")
        log.info("building the demo district (seed %d, %s units)", seed, units)
        record = {"name": f"built-in demo (seed {seed})", **({"units": units} if args.command == "demo" else {})}
        return build.build_demo(seed=seed, unit_type=units), record, None
    from catchment.scenario import read_scenario

    scenario = read_scenario(Path(args.scenario))
    log.info("scenario %s: %s", args.scenario, scenario.name)
    built = build.build_from_scenario(scenario, data_dir=args.data_dir)
    _check_files_read(args, built.input_files)
    record = {"name": scenario.name, "file": str(args.scenario), **dict(scenario.raw)}
    return built, record, scenario


def _check_files_read(args: argparse.Namespace, files: Iterable[str]) -> None:
    """The files a scenario names may not lie in --out either: checked once the build knows them."""
    from catchment.outputs import check_output_dir, inputs_inside

    if getattr(args, "out_dir", None) is None:
        return
    inside = list(inputs_inside(args.out_dir, {path: Path(path) for path in files}).values())
    if not inside:
        return
    words = (
        [f"file {k} the scenario reads" for k in range(1, len(inside) + 1)]
        if len(inside) > 1
        else ["a file the scenario reads"]
    )
    check_output_dir(args.out_dir, inputs=dict(zip(words, inside, strict=True)))


def _progress(args: argparse.Namespace, what: str):  # noqa: ANN202 - thin CLI glue
    from tqdm import tqdm

    bar = tqdm(desc=what, unit=" solve", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _cluster(args: argparse.Namespace):  # noqa: ANN202 - thin CLI glue
    import contextlib

    if args.serial:
        return contextlib.nullcontext(None)
    import distributed  # noqa: F401 - its import sets its loggers to INFO: quieten them after it

    from solvers.distributed import dask_client

    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return dask_client(scheduler=args.scheduler, workers=args.workers)


def _base_exit(record) -> int | None:  # noqa: ANN001 - thin CLI glue
    """Exit code when the base problem has no valid plan (with the reason printed), else None."""
    if record.usable:
        return None
    if record.status == "infeasible":
        print(
            f"\nINFEASIBLE: no plan can satisfy the rules. Nothing was written.\n\n{record.diagnosis}", file=sys.stderr
        )
        return EXIT_INFEASIBLE
    if not record.has_plan:
        print(f"\nNo plan was found: {record.diagnosis}. Nothing was written.", file=sys.stderr)
        return EXIT_NO_PLAN
    print(
        "\nINTERNAL ERROR: the plan failed the independent validator; nothing was written.\n  "
        + "\n  ".join(record.violations),
        file=sys.stderr,
    )
    return EXIT_INVALID


def _shortlist(args: argparse.Namespace) -> int:
    from catchment import outputs
    from catchment.metrics import objective_estimate_label
    from maps.shortlist import write_shortlist_outputs
    from solvers.batch import solve_and_check
    from solvers.shortlist import FIGURE_LABELS, shortlist_sites

    log = logging.getLogger("optimise")
    started = time.perf_counter()
    out = _output(args, f"{_scenario_stem(args)}-shortlist")
    prov = _provenance(args)
    built, record, scenario = _load(args)
    options = _options(args, scenario)
    base = solve_and_check(built.problem, options)
    code = _base_exit(base)
    if code is not None:
        return code
    log.info("base plan %.4f (%s); forcing each site open and closed", base.objective, base.plan.status_label)
    with _cluster(args) as client:
        shortlist = shortlist_sites(
            built.problem,
            options=options,
            base=base,
            client=client,
            tolerance=args.tolerance,
            exhaustive=args.exhaustive,
            screen=args.screen,
            progress=_progress(args, "shortlist"),
        )
    table = shortlist.frame()
    best = shortlist.best
    summary = {
        "scenario": record,
        "optimum": shortlist.optimum,
        "base_status": base.status,
        "base_objective": base.objective,
        "best_status": best.status,
        "best_plan_source": shortlist.best_source,
        "tolerance": shortlist.tolerance,
        "sites": len(table),
        "forced_solves": shortlist.n_solves,
        "near_optimal_plans": shortlist.n_near_optimal,
        "excluded_sites": list(shortlist.excluded_sites),
        "runtime_s": time.perf_counter() - started,
        "travel_label": built.problem.travel_label,
        "dask": "serial" if args.serial else (args.scheduler or f"local cluster, {args.workers or 'all'} worker(s)"),
        **prov,
    }
    with outputs.atomic_output_dir(out) as staging:
        write_shortlist_outputs(staging, built, table, summary=summary)
        (staging / "optimum").mkdir()
        outputs.write_outputs(staging / "optimum", built, best.plan, scenario=record, provenance=prov)
        _write_plan(args, staging / "optimum", built, best.plan, reference=_todays_pcns(args, built, scenario))
    cols = [
        "rank", "site_id", "site_name", "in_optimum", "regret_pct", "regret_bound_pct", "value_pct", "essential",
        "near_optimal_share",
    ]  # fmt: skip
    estimate = objective_estimate_label(built.problem)  # the optimum, and so each regret, of estimated travel
    found_by = (
        f"; found by {shortlist.best_source}, the base solve's plan: {base.objective:.4f}{estimate}"
        if shortlist.best_forcing is not None
        else ""
    )
    print(
        f"\nSHORTLIST of {len(table)} sites: "
        + (
            f"optimum {shortlist.optimum:.4f}{estimate}"
            if best.status == "optimal"
            else f"best plan found {shortlist.optimum:.4f}{estimate} ({best.plan.status_label}{found_by})"
        )
        + f", {shortlist.n_solves} forced solves, "
        f"{shortlist.n_near_optimal} near-optimal hub set(s) (within {shortlist.tolerance:.0%}), "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    labels = set(table["regret_label"]) | set(table["value_label"])
    if labels - {"", FIGURE_LABELS["proven"]}:
        print(
            "regret_pct and value_pct are not all proven: regret_label and value_label in shortlist.csv say "
            "which are at least, at most or an estimate; regret_bound_pct is a proven lower bound"
        )
    print(f"\noutputs in {out}/ (shortlist.csv, shortlist.html, optimum/)")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    import functools

    from catchment import outputs
    from catchment.metrics import capital_costs_label, travel_times_label
    from catchment.plan import status_words
    from catchment.problem import PLACEHOLDER_COSTS_NOTE
    from catchment.scenario import read_scenario
    from catchment.sweep import read_sweep, sweep_bases
    from maps.sweep import write_sweep_outputs
    from solvers.distributed import map_tasks
    from solvers.sweep import run_sweep

    started = time.perf_counter()
    out = _output(args, args.sweep.stem)
    spec = read_sweep(args.sweep)
    if not spec.base_is_demo:  # the base the sweep file names is an input too
        _output(args, args.sweep.stem, inputs={"the sweep's base scenario": Path(spec.base)})
    if args.time_limit is not None:  # the command line wins over the sweep file
        spec = dataclasses.replace(spec, time_limit=args.time_limit)
    scenario = None if spec.base_is_demo else read_scenario(spec.base)
    bases, not_applicable, record = sweep_bases(spec, scenario, data_dir=args.data_dir)
    _check_files_read(args, {path for base in bases.values() for path in base.input_files})
    record = {**record, "sweep_file": str(args.sweep)}  # solution.json of each plan: the sweep file's hash
    options = _options(args, scenario)
    with _cluster(args) as client:
        result = run_sweep(
            spec,
            bases,
            options=options,
            not_applicable=not_applicable,
            client=client,
            progress=_progress(args, "sweep"),
        )
        table = result.frame()
        items = [
            (o.point, o.record.plan if o.record is not None else None, o.status, o.note, record)
            for o in result.outcomes
        ]
        mapper = functools.partial(map_tasks, client=client, progress=_progress(args, "plan folders"), name="draw")
        with outputs.atomic_output_dir(out) as staging:
            write_sweep_outputs(
                staging,
                table,
                items,
                bases=bases,
                title=spec.name,
                base=spec.base,
                not_applicable=result.not_applicable,
                runtime_s=result.runtime_s,
                maps=spec.maps,
                exports=not args.no_exports,
                pdf=args.pdf,
                mapper=mapper,
            )
    counts = result.counts()
    print(
        f"\nSWEEP {spec.name}: {len(table)} point(s) in {time.perf_counter() - started:.1f} s "
        f"(solves {result.runtime_s:.1f} s): " + ", ".join(f"{status_words(k)} {v}" for k, v in counts.items())
    )
    for axis, why in result.not_applicable.items():
        print(f"axis {axis}: not applicable ({why})")
    cols = [
        "plan_id",
        "floor",
        "polysystems",
        "travel_limit_min",
        "budget",
        "mode",
        "status_label",
        "mean_travel_min",
        "capital_cost",
        "n_polysystems",
        "pareto",
    ]
    base = next(iter(bases.values())).problem  # every base: the same travel source and costs
    headings = {
        "mean_travel_min": "mean_travel_min" + travel_times_label(base),
        "capital_cost": "capital_cost" + capital_costs_label(base),
    }
    print(table[cols].rename(columns=headings).to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    for mode, rows in table.groupby(table["mode"].astype(str), sort=False):  # one front per travel mode
        front = ", ".join(rows.loc[rows["pareto"].astype(bool), "plan_id"]) or "none"
        print(f"Pareto front{'' if mode in ('base', 'n/a') else f' ({mode})'}: {front}")
    if result.capital_costs_source == "placeholder":
        print(f"note: {PLACEHOLDER_COSTS_NOTE}")
    print(f"\noutputs in {out}/ (sweep.csv, sweep.html, pareto.png, plans/)")
    return EXIT_OK


def _phase(args: argparse.Namespace) -> int:
    from catchment import outputs
    from catchment.metrics import objective_estimate_label
    from catchment.plan import status_words
    from catchment.problem import PLACEHOLDER_COSTS_NOTE
    from maps.phasing import write_phasing_outputs
    from solvers.batch import solve_and_check
    from solvers.phasing import phase_plan

    out = _output(args, f"{_scenario_stem(args)}-phasing")
    prov = _provenance(args)
    built, record, scenario = _load(args)
    options = _options(args, scenario)
    problem = built.problem
    if args.plan is not None:
        from geodata.errors import DataProblem, InputDataError

        plan = _plan_from_file(problem, args.plan)
        violations = plan.violations  # the validator's findings, as for evaluate
        if violations:  # the user's configuration, not the engine's plan: bad input
            raise InputDataError(
                [
                    DataProblem(
                        str(args.plan),
                        "\n    - ".join(
                            [
                                f"the configuration breaks {len(violations)} rule(s) (evaluate scores it):",
                                *map(str, violations),
                            ]
                        ),
                    )
                ]
            )
        described = f"Plan: the configuration {args.plan.name} ({len(plan.hub_options)} hubs)."
    else:
        base = solve_and_check(problem, options)
        code = _base_exit(base)
        if code is not None:
            return code
        plan = base.plan
        described = (
            f"Plan: {plan.status_label}, {len(plan.hub_options)} hubs, "
            f"objective {base.objective:.4f}{objective_estimate_label(problem)}."
        )
    budget = args.annual_budget[0] if len(args.annual_budget) == 1 else args.annual_budget
    phasing = phase_plan(
        problem,
        plan,
        years=args.years,
        annual_budget=budget,
        carry_over=args.carry_over,
        complete=args.complete,
        solver=options.solver,
        time_limit=options.time_limit,
    )
    if not phasing.has_schedule:
        print(
            f"\nNo timetable: {phasing.status}. " + " ".join(phasing.notes) + " Nothing was written.", file=sys.stderr
        )
        return EXIT_INFEASIBLE if phasing.status == "infeasible" else EXIT_NO_PLAN
    summary = {
        "plan": described,
        "status": phasing.status,
        "status_label": status_words(phasing.status),
        "years": phasing.years,
        "budgets": list(phasing.budgets),
        "carry_over": phasing.carry_over,
        "complete": phasing.complete,
        "person_years": phasing.person_years(),
        "unopened": list(phasing.unopened),
        "notes": list(phasing.notes),
        "scenario": record,
        "capital_costs_source": problem.capital_costs_source,
        **prov,
    }
    reference = _todays_pcns(args, built, scenario)
    with outputs.atomic_output_dir(out) as staging:
        write_phasing_outputs(staging, phasing.frame(), phasing.years_frame(), summary=summary)
        outputs.write_outputs(staging, built, plan, scenario=record, provenance=prov)
        _write_plan(args, staging, built, plan, reference=reference)
    print(
        f"\nPHASING over {phasing.years} year(s), {status_words(phasing.status)}: "
        f"{phasing.person_years():,.0f} person-years served"
    )
    print(described)
    print(phasing.frame().to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    for note in phasing.notes:
        print(f"note: {note}")
    if problem.capital_costs_source == "placeholder":
        print(f"note: {PLACEHOLDER_COSTS_NOTE}")
    print(f"\noutputs in {out}/ (phasing.html, phasing.csv, phasing_years.csv, and the plan's files)")
    return EXIT_OK


def _national(args: argparse.Namespace) -> int:
    import json

    from catchment import outputs
    from catchment.national import national_subproblems
    from catchment.plan import gap_words, share_words, status_words
    from geodata.errors import UnknownCcgError
    from solvers.national import comparison_summary, solve_national

    started = time.perf_counter()
    out = _output(args, "national")
    for name in _PER_CCG_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        national = national_subproblems(
            args.data_dir,
            ccgs=args.ccg,
            files=dict(args.files),
            compare_pcn=bool(args.compare),
            give=NATIONAL_FILE_OPTION,
            **({} if args.floor is None else {"floor": args.floor}),
        )
    except UnknownCcgError as exc:
        print(f"\nERROR: --ccg: {exc}. Nothing was written.", file=sys.stderr)
        return EXIT_INPUT
    options = _options(args, mip_gap=args.mip_gap, time_limit=COMMAND_TIME_LIMIT_S)
    with _cluster(args) as client:
        result = solve_national(national, options=options, client=client, progress=_progress(args, national.area.many))
    summary = result.summary()
    comparison = _national_comparison(national, result) if args.compare else None
    if comparison is not None:
        summary["pcn_comparison"] = comparison_summary(comparison)
    summary["total_s"] = time.perf_counter() - started
    summary.update(outputs.provenance())
    with outputs.atomic_output_dir(out) as staging:
        result.write_tables(staging)
        (staging / "national.json").write_text(json.dumps(outputs.json_safe(summary), indent=2) + "\n")
        if comparison is not None:
            from maps.national import pcn_comparison_html

            comparison.to_csv(staging / "pcn_comparison.csv", index=False)
            page = pcn_comparison_html(
                comparison,
                summary["pcn_comparison"],
                travel_label=national.travel_label,
                data_files=summary["data_files"],
                area=national.area,
            )
            (staging / "pcn_comparison.html").write_text(page, encoding="utf-8")
    ccgs = result.ccg_summary()
    unplanned = ccgs.loc[
        ccgs["status"].isin(["below_floor", "infeasible", "unsolved"]) | ~ccgs["validated"].fillna(True)
    ]
    print(
        f"\nNATIONAL: {summary['ccgs']} {national.area.many}, {summary['practices']:,} practices, "
        f"{summary['polysystems']:,} polysystems in {summary['total_s']:.1f} s (data {summary['load_s']:.1f} s, "
        f"solves {summary['solve_s']:.1f} s)"
    )
    print(f"{national.area.many}: " + ", ".join(f"{status_words(k)} {v}" for k, v in summary["ccg_status"].items()))
    print(
        "practices: "
        + ", ".join(f"{k} {v:,}" for k, v in summary["practice_status"].items())
        + f"; {share_words(summary['practices_assigned_share'], 2)} assigned, "
        f"{share_words(summary['practices_accounted_share'], 2)} assigned or listed with a reason"
    )
    for row in unplanned.itertuples(index=False):
        print(f"  {row.ccg_code}: {row.status}: {row.reason}")
    for row in ccgs.loc[ccgs["status"] == "feasible"].itertuples(index=False):
        print(f"  {row.ccg_code}: {row.status_label} (gap {gap_words(row.gap)})")
    if summary["hub_sites_shared_by_ccgs"]:
        print(
            f"hub sites used by the plans of more than one {national.area.one} (planned independently; "
            f"see hub_shared_with): "
            f"{', '.join(summary['hub_sites_shared_by_ccgs'])}"
        )
    print(f"travel times: {national.travel_label}")
    if summary["capital_costs_note"]:
        print(f"note: {summary['capital_costs_note']}")
    if comparison is not None:
        from catchment.metrics import estimate_label_of

        pcn = summary["pcn_comparison"]
        q = {k: pcn["improvement_pct_quantiles"].get(k, math.nan) for k in ("p25", "p50", "p75")}
        print(
            f"today's PCNs: {pcn['ccgs_where_pcns_break_rules']} of {pcn['ccgs']} {national.area.many} break a rule; "
            f"the optimised plans improve mean travel{estimate_label_of(comparison)} by {q['p50']:.1f}% "
            "(median; middle half "
            f"{q['p25']:.1f}% to {q['p75']:.1f}%) over {pcn['ccgs_compared']} {national.area.many}; "
            f"{pcn['practices_moved']:,} practices move"
        )
    files = "assignments.csv, polysystems.csv, ccg_summary.csv, coverage.csv, national.json"
    print(
        f"\noutputs in {out}/ ({files}{', pcn_comparison.csv, pcn_comparison.html' if comparison is not None else ''})"
    )
    return EXIT_OK


def _app(args: argparse.Namespace) -> int:
    from workbench.app import run

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"note: the workbench listens on {args.host}, not only on this machine: anyone who can reach "
            f"{args.host}:{args.port} can use it",
            file=sys.stderr,
        )
    run(args.scenario, host=args.host, port=args.port, data_dir=args.data_dir)
    return EXIT_OK


def _national_comparison(national, result):  # noqa: ANN001, ANN202 - thin CLI glue
    """Each CCG's PCNs (read from the mapping file the national input records) against its optimised plan."""
    from catchment.national import PCN_MAPPING_ROLE
    from geodata.pcn import pcn_configuration, read_pcn_mapping
    from solvers.national import compare_national

    mapping = read_pcn_mapping(national.data_files[PCN_MAPPING_ROLE])
    configurations = {
        sub.ccg_code: pcn_configuration(sub.problem.unit_ids, mapping)
        for sub in national.subproblems
        if sub.problem is not None
    }
    return compare_national(result, configurations)


if __name__ == "__main__":
    sys.exit(main())
