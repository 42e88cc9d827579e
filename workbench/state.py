"""The workbench session, without any web framework.

A :class:`Session` holds what the planner has open: the scenario, its built problem,
today's PCNs (when the mapping file has them), the last optimum, the edited configuration
with its undo/redo history, and at most one background job (a solve or a shortlist) that
runs in its own process so that it can be cancelled at any moment. Everything is computed
by the engine's own functions: scenarios are parsed by :func:`catchment.scenario.parse_scenario`
(so the rules panel gets the command line's messages), problems built by
:func:`catchment.build.build_from_scenario`, solved and checked by
:func:`solvers.batch.solve_and_check`, edits scored by :class:`catchment.editing.EditSession`
(the independent validator's verdict, kept up to date incrementally), plans compared by
:func:`catchment.compare.compare_plans`
and sites ranked by :func:`solvers.shortlist.shortlist_sites`.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import logging
import math
import multiprocessing
import queue
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catchment.build import BuiltProblem, build_from_scenario
from catchment.compare import PlanComparison, compare_plans
from catchment.editing import EditSession
from catchment.metrics import polysystems_frame
from catchment.plan import Plan
from catchment.scenario import Scenario, parse_scenario, read_scenario, read_toml
from catchment.validate import Violation
from geodata.errors import CatchmentError, ProblemDefinitionError, ScenarioError
from solvers.batch import SolveOptions, SolveRecord, solve_and_check
from solvers.shortlist import Shortlist, forced_problem, shortlist_sites

__all__ = [
    "AREA_KINDS",
    "RULE_KEYS",
    "Session",
    "Verdict",
    "Job",
    "area_scenario",
    "area_choices",
    "rules_form",
    "scenario_with_rules",
    "error_lines",
    "export_error",
]

logger = logging.getLogger(__name__)

#: Areas a planner can open from lists: ``[units]`` key -> words.
AREA_KINDS = {"ccg": "CCG", "stp": "STP / ICB", "lad": "borough (local authority)"}
#: The rules panel's keys (``[rules]`` keys, then the sites and the objective weights).
RULE_KEYS = (
    "floor",
    "ceiling",
    "polysystems_min",
    "polysystems_max",
    "max_travel_min",
    "budget",
    "contiguity",
    "boundaries",
    "required",
    "excluded",
    "weights",
    "time_limit",
)


# ---------------------------------------------------------------------------- opening
def area_scenario(kind: str, code: str, unit_type: str) -> Scenario:
    """A scenario for an area picked from a list, with the engine's defaults.

    Parameters
    ----------
    kind
        ``ccg``, ``stp`` or ``lad`` (:data:`AREA_KINDS`).
    code
        The area's code (e.g. ``08N``, ``QMF``, ``E09000026``).
    unit_type
        ``practice`` or ``lsoa``.

    Raises
    ------
    ScenarioError
        As for a scenario file (e.g. STP selects practices only).
    """
    if kind not in AREA_KINDS:
        raise ScenarioError([f"area kind must be one of {', '.join(AREA_KINDS)}, got {kind!r}"])
    raw = {
        "scenario": {"name": f"{AREA_KINDS[kind]} {code} ({'practices' if unit_type == 'practice' else 'LSOAs'})"},
        "units": {"type": unit_type, kind: code},
        "sites": {"hospitals_within_m": 3000, "hospital_sector": "NHS", "largest_practices": 12},
        "travel": {"source": "estimate"},
        "rules": {"contiguity": unit_type == "lsoa"},
    }
    return parse_scenario(raw, source=f"<{AREA_KINDS[kind]} {code}>")


def area_choices(data_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Codes and names of the areas that can be opened, per kind of :data:`AREA_KINDS`.

    CCGs and STPs come from the practice-to-PCN mapping (missing file: empty lists), the
    boroughs from the London borough boundaries.
    """
    from catchment.scenario import data_roles

    found: dict[str, list[tuple[str, str]]] = {kind: [] for kind in AREA_KINDS}
    roles = data_roles()
    try:
        import pandas as pd

        from geodata.nhs import COMMISSIONER_COLUMNS

        sizes = pd.read_csv(data_dir / roles["list_sizes"], usecols=lambda c: c in COMMISSIONER_COLUMNS, dtype=str)
        found["ccg"] = [(c, c) for c in sorted(sizes.iloc[:, 0].dropna().unique())]
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("no CCG list: %s", exc)
    try:
        from geodata.pcn import read_pcn_mapping

        mapping = read_pcn_mapping(data_dir / roles["pcn_mapping"])
        stp = mapping[["stp_code", "stp_name"]].drop_duplicates().sort_values("stp_name")
        found["stp"] = [(c, f"{n} ({c})") for c, n in zip(stp["stp_code"], stp["stp_name"], strict=True)]
    except (OSError, ValueError, KeyError, CatchmentError) as exc:
        logger.warning("no STP list: %s", exc)
    try:
        import pyogrio

        lad = pyogrio.read_dataframe(data_dir / roles["lad_boundaries"], read_geometry=False)
        code = next(c for c in lad.columns if str(c).upper().endswith("CD"))
        name = next(c for c in lad.columns if str(c).upper().endswith("NM"))
        lad = lad.sort_values(name)
        found["lad"] = [(str(c), f"{n} ({c})") for c, n in zip(lad[code], lad[name], strict=True)]
    except (OSError, ValueError, KeyError, StopIteration, pyogrio.errors.DataSourceError) as exc:
        logger.warning("no borough list: %s", exc)
    return found


# ---------------------------------------------------------------------------- rules
def rules_form(scenario: Scenario) -> dict[str, Any]:
    """The rules panel's values for a scenario (keys :data:`RULE_KEYS`)."""
    rules = scenario.rules
    return {
        "floor": rules.floor,
        "ceiling": rules.ceiling,
        "polysystems_min": rules.min_polysystems,
        "polysystems_max": rules.max_polysystems,
        "max_travel_min": rules.max_travel_min,
        "budget": rules.budget,
        "contiguity": rules.contiguity,
        "boundaries": scenario.boundaries,
        "required": ", ".join(scenario.sites.required),
        "excluded": ", ".join(scenario.sites.excluded),
        "weights": dict(scenario.objective.weights),
        "time_limit": scenario.solver.time_limit,
    }


def _codes(text: Any) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text if str(t).strip()]
    return [t.strip() for t in str(text or "").replace(";", ",").split(",") if t.strip()]


def scenario_with_rules(scenario: Scenario, form: Mapping[str, Any]) -> Scenario:
    """The scenario with the rules panel's values, validated as a scenario file is.

    Empty values (``None`` or ``""``) leave a rule out. The TOML is rebuilt from the
    scenario's own and parsed again by :func:`catchment.scenario.parse_scenario`, so every
    problem is reported with the command line's words, naming the key.

    Raises
    ------
    ScenarioError
        Listing every problem.
    """
    raw = copy.deepcopy(dict(scenario.raw))
    rules = dict(raw.get("rules", {}))
    for key in ("floor", "ceiling", "max_travel_min", "budget"):
        if key in form:
            value = form[key]
            if value is None or value == "":
                rules.pop(key, None)
            else:
                rules[key] = value
    if "polysystems_min" in form or "polysystems_max" in form:
        low, high = form.get("polysystems_min"), form.get("polysystems_max")
        low = None if low in (None, "") else low
        high = None if high in (None, "") else high
        if low is None and high is None:
            rules.pop("polysystems", None)
        else:
            rules["polysystems"] = low if low == high else [low, high]
    if "contiguity" in form:
        rules["contiguity"] = bool(form["contiguity"])
    if "boundaries" in form:
        if form["boundaries"]:
            rules["boundaries"] = form["boundaries"]
        else:
            rules.pop("boundaries", None)
    raw["rules"] = rules
    sites = dict(raw.get("sites", {}))
    for key in ("required", "excluded"):
        if key in form:
            sites[key] = _codes(form[key])
    raw["sites"] = sites
    if "weights" in form and form["weights"] is not None:
        objective = {k: v for k, v in dict(raw.get("objective", {})).items() if k == "lexicographic"}
        objective.update({k: v for k, v in dict(form["weights"]).items() if v not in (None, "")})
        raw["objective"] = objective
    if "time_limit" in form and form["time_limit"] not in (None, ""):
        raw["solver"] = {**dict(raw.get("solver", {})), "time_limit": form["time_limit"]}
    source = f"{scenario.path or scenario.name} (rules panel)"
    return parse_scenario(raw, source=source, path=scenario.path, warn_unused=False)  # said when it was opened


def error_lines(exc: BaseException) -> list[str]:
    """The messages of an engine error, one per line, as the command line prints them."""
    problems = getattr(exc, "problems", None)
    if problems:
        return [str(p) for p in problems]
    return [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]


def export_error(what: str, exc: OSError) -> CatchmentError:
    """The error of an export whose files could not be written: what failed, where, and what to do.

    The exports are written in the temporary folder (:func:`tempfile.gettempdir`) before
    they are sent; ``what`` names the export (e.g. ``Workbook (.xlsx)``).
    """
    reason = exc.strerror or str(exc)
    failed = f"export '{what}' failed"
    try:
        temp = Path(tempfile.gettempdir())
    except OSError as none:  # no usable temporary folder at all
        return CatchmentError(
            f"{failed}: no temporary folder can be written ({none}). Nothing was exported; start the "
            "workbench with TMPDIR set to a writable folder, then export again"
        )
    where = Path(str(exc.filename)) if exc.filename is not None else None
    if where is None or where == temp or temp in where.parents:
        at = f": {where}" if where is not None else ""
        return CatchmentError(
            f"{failed}: its files could not be written in the temporary folder {temp} ({reason}{at}). Nothing "
            f"was exported; make {temp} a writable folder with free space, or start the workbench with TMPDIR "
            "set to another, then export again"
        )
    return CatchmentError(
        f"{failed}: {where} could not be written ({reason}). Nothing was exported; make its folder writable "
        "(or free space there), then export again"
    )


# ---------------------------------------------------------------------------- background jobs
#: A row of HiGHS's branch-and-bound log: ... BestBound BestSol Gap | Cuts InLp Confl. | LpIters Time.
_BNB_ROW = re.compile(r"^\s*\S*\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s")


def solver_progress(line: str) -> dict[str, str] | None:
    """Best bound, best plan and gap of a row of HiGHS's branch-and-bound log (``None``: not such a row).

    The values are the solver's own, as it prints them (its model's objective; ``inf`` and
    ``Large`` where it has none yet).
    """
    if not _BNB_ROW.match(line) or not line.rstrip().endswith("s"):
        return None
    parts = line.split()
    if len(parts) < 12:
        return None
    return {"bound": parts[-8], "best": parts[-7], "gap": parts[-6], "time": parts[-1]}


class _Progress(logging.Handler):
    """Sends the solver's progress rows to the page (at most two a second)."""

    def __init__(self, results: Any) -> None:
        super().__init__(logging.DEBUG)
        self.results = results
        self.sent = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        found = solver_progress(record.getMessage())
        if found is not None and time.perf_counter() - self.sent > 0.5:
            self.sent = time.perf_counter()
            self.results.put(("progress", found))


def _run_job(task: Callable[..., Any], args: tuple[Any, ...], results: Any) -> None:
    """In the job's own process: run ``task(*args)`` and send back the result or the error."""
    from solvers.backends import live_logger

    logging.basicConfig(level=logging.WARNING)
    live_logger.setLevel(logging.DEBUG)
    live_logger.propagate = False
    live_logger.addHandler(_Progress(results))
    try:
        results.put(("done", task(*args)))
    except Exception as exc:  # noqa: BLE001 - sent back to the page with its message
        results.put(("error", error_lines(exc)))


def solve_task(problem: Any, options: SolveOptions, workers: int | None) -> SolveRecord:
    """A solve as a job: :func:`solvers.batch.solve_and_check`."""
    return solve_and_check(problem, options, workers=workers)


def shortlist_task(problem: Any, options: SolveOptions, base: SolveRecord) -> Shortlist:
    """A shortlist as a job: :func:`solvers.shortlist.shortlist_sites`, serial."""
    return shortlist_sites(problem, options=options, base=base, client=None)


class Job:
    """A task run in its own process (spawned), polled by the page and cancellable.

    Parameters
    ----------
    kind
        ``solve`` or ``shortlist`` (what the page shows).
    task
        A module-level function (it is pickled to the new process).
    args
        Its arguments (picklable).
    """

    def __init__(self, kind: str, task: Callable[..., Any], args: tuple[Any, ...]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.kind = kind
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.state = "running"
        self.result: Any = None
        self.errors: list[str] = []
        #: The solver's last progress row (``bound``, ``best``, ``gap``, ``time``), as it printed it.
        self.progress: dict[str, str] = {}
        #: A finished solve whose plan replaced the edited configuration (Undo brings it back).
        self.replaced = False
        self._results = ctx.Queue()
        self._process = ctx.Process(target=_run_job, args=(task, args, self._results), daemon=True)
        self._process.start()

    @property
    def elapsed_s(self) -> float:
        """Seconds since the job started (until it ended)."""
        return (self.finished or time.perf_counter()) - self.started

    def poll(self) -> str:
        """``running``, ``done``, ``error``, ``cancelled`` or ``died`` (the process ended without a word)."""
        if self.state != "running":
            return self.state
        while True:
            try:
                state, payload = self._results.get(timeout=0.01)
            except queue.Empty:
                if self._process.is_alive():
                    return self.state
                try:  # the process has ended: its last words may still be in the pipe
                    state, payload = self._results.get(timeout=2)
                except queue.Empty:
                    code = self._process.exitcode
                    state, payload = "died", [f"the {self.kind} process ended unexpectedly (exit code {code})"]
            if state != "progress":
                break
            self.progress = dict(payload)
        self.finished = time.perf_counter()
        self.state = state
        if state == "done":
            self.result = payload
        else:
            self.errors = list(payload)
        self._process.join(timeout=5)
        return self.state

    def cancel(self) -> None:
        """Stop the process at once (nothing it computed is kept)."""
        if self.state == "running":
            self._process.terminate()
            self._process.join(timeout=5)
            self.finished = time.perf_counter()
            self.state = "cancelled"


# ---------------------------------------------------------------------------- verdict of a configuration
@dataclass(frozen=True)
class Verdict:
    """What the validator and the metrics say of the edited configuration.

    Attributes
    ----------
    plan : Plan
        The configuration (status ``breaks_rules`` with its violations, else ``feasible``).
    violations : tuple of Violation
    highlight : frozenset of str
        Unit and site ids named by a broken rule (drawn highlighted).
    figures : dict
        ``polysystems``, ``mean_travel_min``, ``max_travel_min``, ``objective``, ``capital_cost``.
    """

    plan: Plan
    violations: tuple[Violation, ...]
    highlight: frozenset[str]
    figures: dict[str, Any]


def verdict_of(editor: EditSession, *, label: str | None = None) -> Verdict:
    """The page's verdict from an :class:`~catchment.editing.EditSession` (kept up to date incrementally)."""
    v = editor.verdict
    plan = editor.plan()
    if label is not None:  # the starting configuration keeps its own name (today's PCNs, the solver)
        plan = dataclasses.replace(plan, solver=label)
    figures = {
        "polysystems": v.n_polysystems,
        "mean_travel_min": v.mean_travel,
        "max_travel_min": v.max_travel,
        "objective": v.objective,
        "capital_cost": v.capital_cost,
    }
    return Verdict(plan, tuple(v.violations), frozenset(v.breach_hubs) | frozenset(v.breach_units), figures)


# ---------------------------------------------------------------------------- the session
class Session:
    """What the planner has open (one per app; the page's callbacks share it under a lock).

    Parameters
    ----------
    data_dir
        The data folder (``None``: :func:`geodata.settings.data_dir`).
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        from geodata.settings import data_dir as default_data_dir

        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.lock = threading.RLock()
        self.scenario: Scenario | None = None
        self.source = ""
        self.built: BuiltProblem | None = None
        self.today: Plan | None = None
        self.today_note = ""
        self.optimum: SolveRecord | None = None
        self.shortlist: Shortlist | None = None
        self.forced: dict[str, str] = {}
        self.editor: EditSession | None = None
        self.start_label = ""
        #: Configurations a finished solve replaced (with their start labels and histories),
        #: the latest last: Undo at the start of the solve's plan brings the latest back.
        self.replaced: list[tuple[EditSession, str]] = []
        #: Configurations Undo left that way (Redo takes them up again).
        self.restored: list[tuple[EditSession, str]] = []
        self.verdict: Verdict | None = None
        self.job: Job | None = None
        self.version = 0  # bumped whenever what is open changes (the map's data are rebuilt)
        self.edits = 0  # bumped by every edit, undo and redo

    # ------------------------------------------------------------------ open
    @property
    def problem(self) -> Any:
        """The problem being planned (the forced sites applied)."""
        assert self.built is not None
        problem = self.built.problem
        for site, force in self.forced.items():
            problem = forced_problem(problem, site, force)
        return problem

    def open_file(self, path: str | Path) -> None:
        """Open a scenario file (errors: :class:`~geodata.errors.CatchmentError`, nothing changed)."""
        self.open_scenario(read_scenario(Path(path)), str(path))

    def open_area(self, kind: str, code: str, unit_type: str) -> None:
        """Open an area picked from a list (:func:`area_scenario`)."""
        self.open_scenario(area_scenario(kind, code, unit_type), f"{AREA_KINDS.get(kind, kind)} {code}")

    def open_scenario(self, scenario: Scenario, source: str) -> None:
        """Open a parsed scenario (``source`` says where it came from, for the page)."""
        built = build_from_scenario(scenario, data_dir=self.data_dir)
        with self.lock:
            self.cancel()
            self.scenario, self.source, self.built = scenario, source, built
            self.forced, self.optimum, self.shortlist = {}, None, None
            self.today, self.today_note = self._today_pcns()
            start = self.today or Plan({}, {}, "unsolved")
            self.replaced, self.restored = [], []
            self._start_history(start)
            self.version += 1

    def _today_pcns(self) -> tuple[Plan | None, str]:
        """Today's PCNs as a plan (practice units with the mapping file), else why not."""
        from catchment.current import current_pcn_plan

        assert self.scenario is not None and self.built is not None
        if self.built.problem.unit_type != "practice":
            return None, "today's PCNs group practices; these units are LSOAs"
        try:
            plan, _ = current_pcn_plan(self.scenario, self.built.problem, data_dir=self.data_dir)
        except (CatchmentError, FileNotFoundError) as exc:
            return None, f"today's PCNs are not available: {' '.join(error_lines(exc))}"
        return plan, ""

    def _start_history(self, plan: Plan) -> None:
        self.editor = EditSession(self.problem, plan) if plan.has_plan else None
        self.start_label = plan.solver or "the starting plan"
        self._score()

    def _score(self) -> Verdict | None:
        if self.editor is None:
            self.verdict = None
        else:
            label = None if self.editor.can_undo else self.start_label
            self.verdict = verdict_of(self.editor, label=label)
        self.edits += 1
        return self.verdict

    # ------------------------------------------------------------------ rules
    def set_rules(self, form: Mapping[str, Any]) -> None:
        """Apply the rules panel: re-read the scenario's rules, rebuild (cached) and re-score.

        Raises
        ------
        ScenarioError, CatchmentError
            Nothing is changed (the page keeps what the planner typed).
        """
        assert self.scenario is not None
        scenario = scenario_with_rules(self.scenario, form)
        built = build_from_scenario(scenario, data_dir=self.data_dir)
        with self.lock:
            self.scenario, self.built = scenario, built
            status = dict(zip(built.problem.site_ids, built.problem.site_status, strict=True))
            # a site the rules now exclude (require) is no longer forced open (closed): the rules say
            self.forced = {
                s: f
                for s, f in self.forced.items()
                if s in status and (f, status[s]) not in (("open", "excluded"), ("closed", "required"))
            }
            self._rescore()

    def _rescore(self) -> None:
        """The same configuration and history over the changed problem (rules, forced sites)."""
        if self.editor is not None:
            if (
                self.editor.problem.unit_ids == self.problem.unit_ids
                and self.editor.problem.site_ids == self.problem.site_ids
            ):
                self.editor = self.editor.with_problem(self.problem)
            else:  # other units or sites (e.g. required sites added): the configuration starts afresh
                self._start_history(self.editor.plan())
                return
            self._score()

    # ------------------------------------------------------------------ background solve and shortlist
    def options(self) -> SolveOptions:
        """The scenario's solver settings."""
        assert self.scenario is not None
        return SolveOptions(**self.scenario.solver.solve_keywords())

    def start_solve(self) -> None:
        """Solve the problem in the background (a running job is cancelled first)."""
        assert self.scenario is not None
        with self.lock:
            self.cancel()
            self.job = Job("solve", solve_task, (self.problem, self.options(), self.scenario.solver.workers))

    def start_shortlist(self) -> None:
        """Rank the candidate sites in the background (needs a valid optimum)."""
        with self.lock:
            if self.optimum is None or not self.optimum.usable:
                raise ProblemDefinitionError(["the shortlist needs a valid optimum: solve first"])
            self.cancel()
            self.job = Job("shortlist", shortlist_task, (self.problem, self.options(), self.optimum))

    def cancel(self) -> None:
        """Cancel the running job, if any."""
        if self.job is not None:
            self.job.cancel()

    def poll(self) -> str | None:
        """The job's state; a finished solve becomes the optimum and the edited configuration."""
        with self.lock:
            if self.job is None:
                return None
            before = self.job.state
            state = self.job.poll()
            if before == "running" and state == "done":
                if self.job.kind == "solve":
                    record: SolveRecord = self.job.result
                    if record.usable:
                        self.optimum = record
                        if self.editor is not None:  # kept: Undo brings it back
                            self.replaced.append((self.editor, self.start_label))
                            self.restored = []
                            self.job.replaced = True
                        self._start_history(record.plan)
                        self.version += 1
                else:
                    self.shortlist = self.job.result
            return state

    def job_summary(self) -> dict[str, Any]:
        """What the page shows of the job: kind, state, elapsed seconds, and the outcome."""
        job = self.job
        if job is None:
            return {}
        out: dict[str, Any] = {
            "kind": job.kind,
            "state": job.state,
            "elapsed_s": job.elapsed_s,
            "errors": job.errors,
            "progress": dict(job.progress),
        }
        if job.state == "done" and job.kind == "solve":
            record: SolveRecord = job.result
            out.update(
                status=record.status,
                label=record.plan.status_label,
                objective=record.objective,
                bound=record.plan.bound,
                gap=record.gap,
                validated=record.validated,
                violations=list(record.violations),
                diagnosis=record.diagnosis,
                runtime_s=record.runtime_s,
                replaced=job.replaced,
            )
        return out

    # ------------------------------------------------------------------ estates
    def force_site(self, site_id: str, force: str | None) -> None:
        """Force a site open or closed (``None``: back to the scenario's status); re-scored."""
        with self.lock:
            if force is None:
                self.forced.pop(site_id, None)
            else:
                forced_problem(self.problem, site_id, force)  # checks the site and the word
                status = self.built.problem.site_status[self.built.problem.site_index(site_id)] if self.built else ""
                if (force, status) in (("open", "excluded"), ("closed", "required")):
                    key = "excluded" if status == "excluded" else "required"
                    raise ProblemDefinitionError(
                        [
                            f"site {site_id!r} is {key} by the rules ([sites] {key}): take it out of the {key} "
                            f"sites (rules panel) to force it {force}"
                        ]
                    )
                self.forced[site_id] = force
            self._rescore()

    # ------------------------------------------------------------------ edits
    def _edit(self, change: Callable[[EditSession], Any], *, new: bool = True) -> Verdict | None:
        """Apply an edit (:class:`~geodata.errors.EditError` names the id; nothing changes).

        An edit that would change nothing raises :class:`~geodata.errors.NoChange` (the
        library's rule and words) and is not counted. ``new``: an edit of the planner's (not an
        undo or redo), after which Redo cannot take up again a solve's plan that Undo left.
        """
        with self.lock:
            if self.editor is None:
                raise ProblemDefinitionError(["no configuration to edit yet: solve, or open today's PCNs"])
            change(self.editor)
            if new:
                self.restored = []
            return self._score()

    def _switch(self, take: list[tuple[EditSession, str]], keep: list[tuple[EditSession, str]]) -> Verdict | None:
        """Make the last configuration of ``take`` the edited one (over the problem as it is now)."""
        assert self.editor is not None
        editor, label = take[-1]
        if editor.problem is not self.problem:
            same = editor.problem.unit_ids == self.problem.unit_ids and editor.problem.site_ids == self.problem.site_ids
            editor = editor.with_problem(self.problem) if same else EditSession(self.problem, editor.plan())
        take.pop()
        keep.append((self.editor, self.start_label))
        self.editor, self.start_label = editor, label
        return self._score()

    def move(self, unit_id: str, hub_site_id: str) -> Verdict | None:
        """Move a unit to the polysystem whose hub is ``hub_site_id``.

        Raises
        ------
        EditError
            As :meth:`catchment.editing.EditSession.move`: :class:`~geodata.errors.NoChange` if
            the unit is already in that polysystem (nothing is changed or counted), an unknown
            unit, a site that is not an open hub.
        """
        return self._edit(lambda e: e.move(unit_id, hub_site_id))

    def set_option(self, hub_site_id: str, option: str) -> Verdict | None:
        """Change the option (reuse, refurbish, new build) of a polysystem's hub.

        Raises
        ------
        EditError
            As :meth:`catchment.editing.EditSession.set_option`: :class:`~geodata.errors.NoChange`
            if the hub already has that option (nothing is changed or counted), a site that is not
            an open hub, an option the site does not offer.
        """
        return self._edit(lambda e: e.set_option(hub_site_id, option))

    def set_hub(self, hub_site_id: str, site_id: str) -> Verdict | None:
        """Move a polysystem's hub to another site (its units follow).

        Raises
        ------
        EditError
            As :meth:`catchment.editing.EditSession.set_hub`: :class:`~geodata.errors.NoChange` if
            the hub is already on that site (nothing is changed or counted), a hub that is not
            open, an unknown site, a site that is already a hub.
        """
        return self._edit(lambda e: e.set_hub(hub_site_id, site_id))

    def open_hub(self, site_id: str, option: str | None = None) -> Verdict | None:
        """Open a new polysystem with its hub at ``site_id`` (no units yet: move some to it)."""
        return self._edit(lambda e: e.open_hub(site_id, option=option))

    def close_hub(self, hub_site_id: str, to: str) -> Verdict | None:
        """Close a polysystem; its units go to the polysystem of hub ``to``."""
        return self._edit(lambda e: e.close_hub(hub_site_id, to=to))

    def undo(self) -> Verdict | None:
        """Undo the last edit.

        At the start of a solve's plan, Undo brings back the configuration the solve replaced.

        Raises
        ------
        NoChange
            If there is nothing to undo (nothing is changed or counted).
        """
        with self.lock:
            if self.editor is not None and not self.editor.can_undo and self.replaced:
                return self._switch(self.replaced, self.restored)
            return self._edit(lambda e: e.undo(), new=False)

    def redo(self) -> Verdict | None:
        """Redo the last undone edit (or take up again the solve's plan that Undo left).

        Raises
        ------
        NoChange
            If there is nothing to redo (nothing is changed or counted).
        """
        with self.lock:
            if self.editor is not None and not self.editor.can_redo and self.restored:
                return self._switch(self.restored, self.replaced)
            return self._edit(lambda e: e.redo(), new=False)

    # ------------------------------------------------------------------ figures and comparison
    def polysystems(self) -> Any:
        """The edited configuration's table (:func:`catchment.metrics.polysystems_frame`)."""
        assert self.verdict is not None
        return polysystems_frame(self.problem, self.verdict.plan)

    def plans(self) -> dict[str, Plan]:
        """The plans that can be compared: ``today``, ``optimum``, ``edited`` (those that exist)."""
        found: dict[str, Plan] = {}
        if self.today is not None:
            found["today"] = self.today
        if self.optimum is not None:
            found["optimum"] = self.optimum.plan
        if self.verdict is not None:
            found["edited"] = self.verdict.plan
        return found

    def compare(self, a: str, b: str) -> PlanComparison:
        """Compare two of :meth:`plans` (figures and moves)."""
        plans = self.plans()
        missing = [x for x in (a, b) if x not in plans]
        if missing:
            raise ProblemDefinitionError([f"no {', '.join(missing)} plan to compare yet"])
        return compare_plans(self.problem, plans[a], plans[b])

    # ------------------------------------------------------------------ export
    def _edited(self) -> tuple[BuiltProblem, Plan]:
        assert self.built is not None and self.verdict is not None
        return dataclasses.replace(self.built, problem=self.problem), self.verdict.plan

    def workbook(self) -> bytes:
        """The edited configuration's Excel workbook (:func:`catchment.exports.workbook_bytes`).

        Its moves sheet lists the moves against today's PCNs when they are known.
        """
        from catchment.exports import workbook_bytes

        built, plan = self._edited()
        reference = self.today
        return workbook_bytes(built, plan, reference=reference, reference_label="today's PCNs" if reference else None)

    def geojson(self) -> dict[str, Any]:
        """The layers ``polysystems`` and ``units`` of the edited plan (:func:`catchment.exports.geojson_layers`)."""
        from catchment.exports import geojson_layers

        built, plan = self._edited()
        return geojson_layers(built, plan)

    def report_pdf(self) -> bytes:
        """The board report of the edited configuration as a PDF (:func:`maps.pdf.report_pdf`).

        Raises
        ------
        PdfUnavailableError
            If WeasyPrint or a system library it needs is missing (the message says what to install).
        """
        from maps.pdf import report_pdf

        built, plan = self._edited()
        return report_pdf(built, plan)

    def output_folder_zip(self) -> bytes:
        """The edited configuration's output folder (as ``evaluate`` writes it), zipped."""
        from catchment import outputs
        from catchment.exports import write_exports
        from maps import write_plan_outputs

        assert self.built is not None and self.verdict is not None and self.scenario is not None
        built = dataclasses.replace(self.built, problem=self.problem)
        plan = self.verdict.plan
        record = {"name": self.scenario.name, "file": self.source, **dict(self.scenario.raw)}
        path = self.scenario.path
        prov = outputs.provenance(scenario_file=path if path is not None and Path(path).is_file() else None)
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="catchment-workbench-") as tmp:
            folder = Path(tmp) / "plan"
            folder.mkdir()
            outputs.write_outputs(folder, built, plan, scenario=record, provenance=prov)
            write_plan_outputs(folder, built, plan)
            write_exports(
                folder, built, plan, reference=self.today, reference_label="today's PCNs" if self.today else None
            )
            violations = "".join(f"{v}\n" for v in plan.violations) or "none\n"
            (folder / "violations.txt").write_text(violations, encoding="utf-8")
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(folder.rglob("*")):
                    if file.is_file():
                        archive.write(file, file.relative_to(folder).as_posix())
        return buffer.getvalue()


def finite(value: Any) -> float | None:
    """A number for the page, or ``None`` (missing, NaN or infinite)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_scenario_text(path: str | Path) -> dict[str, Any]:
    """A scenario file's TOML (errors as :class:`~geodata.errors.ScenarioError`)."""
    return read_toml(Path(path), what="scenario")
