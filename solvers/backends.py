"""Solver selection and honest reading of what a PuLP solve achieved.

Two solvers, both through PuLP 3.3:

* ``"highs"`` — :class:`pulp.HiGHS` (the highspy API, in process). PuLP's class has no
  warm start, so :class:`WarmHiGHS` adds one (``Highs.setSolution`` with every variable's
  current value, called just before ``run``), loads the model into HiGHS in bulk rather
  than column by column, and reads the best bound and gap from the highspy model PuLP
  keeps on ``prob.solverModel``.
* ``"cbc"`` — :class:`pulp.COIN_CMD` (``PULP_CBC_CMD`` is deprecated in PuLP 3.3). A
  ``cbc`` on the ``PATH`` is preferred; otherwise the CBC binary bundled with PuLP is
  called through ``COIN_CMD(path=...)``. Warm start is CBC's ``-mips`` file; the bound
  and gap are parsed from CBC's log. The bundled CBC 2.10.3 may overrun its time limit.

The status comes from ``prob.sol_status`` (1 optimal, 2 a solution without a proof —
PuLP's ``LpStatus`` says "Optimal" after a time limit) and ``prob.status`` (-1 infeasible).

**Deadlines.** :func:`run_solver` takes the instant the solve must be over; HiGHS gets
what is left of it when it starts (after the model is loaded into it), less a reserve for
reading the solution back. HiGHS's presolve checks the clock rarely: on a model of 162,006
unit-site pairs it ran 121 to 406 s past time limits of 30 to 60 s (and removed 0.7 % of
the columns), so above :data:`PRESOLVE_MAX_COLUMNS` columns presolve is off.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pulp
from pulp import constants as lpconst

from catchment.settings import SOLVER_NAMES
from catchment.timing import seconds_left

__all__ = ["SOLVERS", "SolveOutcome", "solver_available", "run_solver", "WarmHiGHS", "run_highs", "time_left"]

logger = logging.getLogger(__name__)
#: HiGHS's log line by line while it runs, at DEBUG (a caller that shows progress listens to it).
live_logger = logging.getLogger(f"{__name__}.live")

#: The solvers this module runs (:data:`catchment.settings.SOLVER_NAMES`).
SOLVERS = SOLVER_NAMES
#: Above this many columns HiGHS runs without presolve (it overruns time limits there).
PRESOLVE_MAX_COLUMNS = 50_000
#: Seconds per variable kept from the solver's time for reading the solution back into PuLP
#: (162,006-pair model: 0.5 to 1.3 s for 163,618 variables).
_READ_S_PER_VARIABLE = 1e-5
#: The smallest time limit a solver is given (it must be able to return its start).
_MIN_LIMIT_S = 0.05


def time_left(deadline: float | None) -> float | None:
    """Seconds a solver call may still be given before ``deadline`` (at least :data:`_MIN_LIMIT_S`).

    Parameters
    ----------
    deadline
        A :func:`time.perf_counter` instant, or ``None`` (no deadline).

    Returns
    -------
    float or None
        ``None`` when there is no deadline.
    """
    return seconds_left(deadline, at_least=_MIN_LIMIT_S)


@dataclass(frozen=True)
class SolveOutcome:
    """What one solver call achieved.

    Attributes
    ----------
    status : {"optimal", "feasible", "infeasible", "unsolved"}
        ``optimal`` only when the solver proved it (within the relative gap asked).
    objective, bound : float or None
        Objective of the solution found and best proven lower bound (``None`` if unknown).
    seconds : float
        Wall-clock seconds in the solver (including loading the model into it).
    warm_start : str
        ``"used"`` (the solver's log shows it accepted the start), ``"rejected"``,
        ``"given"`` (handed over, acceptance unknown) or ``"none"``.
    notes : tuple of str
    time_limited : bool
        The solver stopped at its time limit (its answer depends on the machine's speed).
    nodes : int or None
        Branch-and-bound nodes explored (HiGHS; ``None`` when unknown).
    """

    status: str
    objective: float | None
    bound: float | None
    seconds: float
    warm_start: str = "none"
    notes: tuple[str, ...] = field(default_factory=tuple)
    time_limited: bool = False
    nodes: int | None = None


def solver_available(name: str) -> bool:
    """True if the named solver (``"highs"`` or ``"cbc"``) can run here."""
    if name == "highs":
        return bool(pulp.HiGHS(msg=False).available())
    if name == "cbc":
        return _cbc_path() is not None
    return False


def _cbc_path() -> str | None:
    system = pulp.COIN_CMD(msg=False)
    if system.available():
        return str(system.path)
    bundled = pulp.PULP_CBC_CMD.pulp_cbc_path  # class attribute: no deprecated constructor
    if bundled and os.path.isfile(bundled) and os.access(bundled, os.X_OK):
        return str(bundled)
    return None


def run_solver(
    prob: pulp.LpProblem,
    *,
    solver: str,
    time_limit: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
    warm_start: bool,
    objective_target: float | None = None,
    deadline: float | None = None,
    node_limit: int | None = None,
    cutoff: float | None = None,
) -> SolveOutcome:
    """Solve ``prob`` with ``solver`` and say honestly what was achieved.

    Parameters
    ----------
    prob
        The model; variables with a value (``setInitialValue``) form the warm start.
    solver
        ``"highs"`` or ``"cbc"``.
    time_limit
        Seconds, or ``None``.
    mip_gap
        Relative gap at which the solver may stop and call the solution optimal.
    threads
        Solver threads, or ``None`` for the solver's default.
    msg
        Forward the solver's log to this module's logger (INFO) after the solve.
    warm_start
        Pass the current variable values as a starting solution.
    objective_target
        HiGHS only: stop as soon as a plan with this objective or lower is found (status
        ``feasible``). CBC has no such option and ignores it.
    deadline
        :func:`time.perf_counter` instant by which the call must return (with
        ``time_limit``, the earlier of the two counts). The solver's own limit is what is
        left of it when the solver starts, less a reserve for reading the solution.
    node_limit
        Branch-and-bound nodes at most (a count: the answer does not depend on speed).
    cutoff
        HiGHS only: look only for plans with an objective below this value (HiGHS's
        ``objective_bound``: every node whose bound reaches it is pruned). Status
        ``infeasible`` then means that no plan of the model lies below ``cutoff``, as it
        means without one; CBC ignores it, and its ``infeasible`` still says as much.
        HiGHS may still return a plan at or above the cutoff (e.g. found by its heuristics;
        seen on national CCGs 15N and 26A, status ``optimal``); the
        bound it then reports leaves out the nodes pruned at the cutoff, so it holds for
        every plan only up to the cutoff: the smaller of the two is the model's bound.

    Returns
    -------
    SolveOutcome

    Raises
    ------
    RuntimeError
        If the solver is not available.
    """
    start = time.perf_counter()
    if time_limit is not None:
        deadline = start + float(time_limit) if deadline is None else min(deadline, start + float(time_limit))
    reserve = _READ_S_PER_VARIABLE * len(prob.variables())
    with tempfile.TemporaryDirectory(prefix="catchment-solve-") as tmp:
        log_path = os.path.join(tmp, "solver.log")
        time_limited = False
        nodes = None
        if solver == "highs":
            target = {} if objective_target is None else {"objective_target": float(objective_target)}
            if node_limit is not None:
                target["mip_max_nodes"] = int(node_limit)
            if cutoff is not None:
                target["objective_bound"] = float(cutoff)
            engine = WarmHiGHS(
                msg=False,
                gapRel=mip_gap,
                threads=threads,
                warm_start=warm_start,
                deadline=deadline,
                reserve=reserve,
                **target,
            )
            prob.solve(engine)
            seconds = time.perf_counter() - start
            bound = _highs_bound(prob)
            warm = engine.warm_start_result
            time_limited, nodes = _highs_stop(prob)
            notes: tuple[str, ...] = ()
            if msg:
                for line in "".join(engine.log_lines).splitlines():
                    logger.info("highs: %s", line)
        elif solver == "cbc":
            path = _cbc_path()
            if path is None:
                raise RuntimeError("CBC is not available: install it (pip install pulp[cbc]) or use solver='highs'")
            left = None if deadline is None else max(_MIN_LIMIT_S, deadline - time.perf_counter() - reserve)
            engine = pulp.COIN_CMD(
                path=path,
                msg=False,
                timeLimit=left,
                gapRel=mip_gap,
                threads=threads,
                warmStart=warm_start,
                logPath=log_path,
                maxNodes=node_limit,
            )
            prob.solve(engine)
            seconds = time.perf_counter() - start
            bound, notes = _cbc_bound(log_path)
            warm = _cbc_start(log_path) if warm_start else "none"
            time_limited = _cbc_time_limited(log_path)
        else:  # validated by the callers; kept for direct use
            raise ValueError(f"unknown solver {solver!r}; choose from {', '.join(SOLVERS)}")
        if msg and solver == "cbc" and os.path.exists(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    logger.info("%s: %s", solver, line.rstrip())

    status = _status(prob)
    objective = None
    if status in ("optimal", "feasible") and prob.objective is not None:
        value = prob.objective.value()
        objective = None if value is None else float(value)
    if status not in ("optimal", "feasible"):
        bound = bound if status == "unsolved" else None
    return SolveOutcome(status, objective, bound, seconds, warm, notes, time_limited=time_limited, nodes=nodes)


def _status(prob: pulp.LpProblem) -> str:
    if prob.sol_status == lpconst.LpSolutionOptimal:
        return "optimal"
    if prob.sol_status == lpconst.LpSolutionIntegerFeasible:
        return "feasible"
    if prob.status == lpconst.LpStatusInfeasible:
        return "infeasible"
    return "unsolved"


def _highs_stop(prob: pulp.LpProblem) -> tuple[bool, int | None]:
    """Whether HiGHS stopped at its time limit, and how many nodes it explored."""
    import highspy

    model = getattr(prob, "solverModel", None)
    if model is None:
        return False, None
    stopped = model.getModelStatus() in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt)
    return stopped, int(model.getInfo().mip_node_count)


def _highs_bound(prob: pulp.LpProblem) -> float | None:
    model = getattr(prob, "solverModel", None)
    if model is None:
        return None
    value = float(model.getInfo().mip_dual_bound)
    return value if math.isfinite(value) else None


_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
_CBC_RESULT = re.compile(r"^Result - (.+)$", re.MULTILINE)


def _cbc_bound(log_path: str) -> tuple[float | None, tuple[str, ...]]:
    """Best bound from CBC's log (printed when it stops before proving optimality)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None, ("CBC wrote no log; best bound unknown",)
    result = _CBC_RESULT.search(text)
    found = _CBC_BOUND.search(text)
    if found:
        try:
            return float(found.group(1)), ()
        except ValueError:
            pass
    if result and result.group(1).startswith("Optimal"):
        return None, ("CBC proved optimality within the requested gap but prints no bound",)
    return None, ("CBC reported no best bound",)


def _cbc_time_limited(log_path: str) -> bool:
    """Whether CBC stopped on its time limit (its log says so)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    result = _CBC_RESULT.search(text)
    return result is not None and "time" in result.group(1).lower()


def _cbc_start(log_path: str) -> str:
    """Whether CBC built a solution from the ``-mips`` start file, from its log: ``used``, ``rejected`` or ``given``."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return "given"
    if "MIPStart provided solution" in text:
        return "used"
    return "rejected" if "mipstart" in text.lower() else "given"


def run_highs(model) -> None:  # noqa: ANN001 - a highspy.Highs
    """``model.run()``, with Ctrl-C stopping HiGHS and then raised as :class:`KeyboardInterrupt`.

    HiGHS calls back into Python while it runs (the captured log); a Ctrl-C raised there
    is swallowed by HiGHS, which then stops with no plan, so an interrupted solve looked
    like "no plan within the time limit". Here Ctrl-C asks HiGHS to stop and, once it has,
    is raised again. Outside the main thread, or when Python does not turn SIGINT into
    :class:`KeyboardInterrupt` (ignored in worker processes), this is plain ``run()``.
    """
    with _interrupt_stops(model) as interrupted:
        model.run()
    if interrupted:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupt_stops(model) -> Iterator[list[int]]:  # noqa: ANN001 - a highspy.Highs
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield []
        return
    interrupted: list[int] = []

    def stop(signum: int, frame: object) -> None:
        interrupted.append(signum)
        model.cancelSolve()

    model.HandleUserInterrupt = True
    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
        model.HandleUserInterrupt = False


class WarmHiGHS(pulp.HiGHS):
    """:class:`pulp.HiGHS` with a warm start, a bulk model load and a captured log.

    The log never reaches the console: it is kept in :attr:`log_lines` (callers may
    forward it to logging), and it tells whether HiGHS found the warm start feasible.

    Parameters
    ----------
    warm_start
        Before solving, hand HiGHS every variable's current value (``varValue``) as a
        starting solution; :attr:`warm_start_result` then says ``"used"`` (HiGHS checked
        it and found it feasible), ``"rejected"`` or ``"none"`` (no complete start).
    deadline
        :func:`time.perf_counter` instant by which the solve must be over: HiGHS's time
        limit is set from it just before it starts (``None``: ``timeLimit`` as given).
    reserve
        Seconds of the deadline kept for reading the solution back.
    **kwargs
        Passed to :class:`pulp.HiGHS` (``msg``, ``timeLimit``, ``gapRel``, ``threads``...).
    """

    def __init__(
        self, *, warm_start: bool = False, deadline: float | None = None, reserve: float = 0.0, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.warm_start = warm_start
        self.warm_start_result = "none"
        self.log_lines: list[str] = []
        self.deadline = deadline
        self.reserve = reserve
        #: The time limit HiGHS was given when it started (seconds; ``None``: none).
        self.time_limit_given: float | None = None

    def createAndConfigureSolver(self, lp: pulp.LpProblem) -> None:
        """Create the HiGHS model as :class:`pulp.HiGHS` does, with its log captured, not printed."""
        super().createAndConfigureSolver(lp)
        # Capture the log (never to the console): it shows whether the start was accepted.
        lp.solverModel.setOptionValue("output_flag", True)
        lp.solverModel.setOptionValue("log_to_console", False)
        lp.solverModel.cbLogging.subscribe(self._log)

    def _log(self, event) -> None:  # noqa: ANN001 - a highspy logging event
        self.log_lines.append(event.message)
        if live_logger.isEnabledFor(logging.DEBUG):
            live_logger.debug("%s", event.message.rstrip())

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:
        """Load columns and rows in two bulk calls (PuLP adds them one by one)."""
        import highspy

        inf = highspy.kHighsInf
        sense = -1.0 if lp.sense == lpconst.LpMaximize else 1.0
        variables = lp.variables()
        n = len(variables)
        cost = np.zeros(n)
        lower = np.empty(n)
        upper = np.empty(n)
        integer: list[int] = []
        objective = lp.objective or {}
        for k, var in enumerate(variables):
            var.index = k
            cost[k] = sense * objective.get(var, 0.0)
            lower[k] = -inf if var.lowBound is None else var.lowBound
            upper[k] = inf if var.upBound is None else var.upBound
            if var.cat == lpconst.LpInteger and self.mip:
                integer.append(k)
        model = lp.solverModel
        model.addCols(n, cost, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        if integer:
            idx = np.asarray(integer, dtype=np.int32)
            model.changeColsIntegrality(idx.size, idx, np.full(idx.size, highspy.HighsVarType.kInteger, dtype=np.uint8))
        constraints = list(lp._constraints.values())
        m = len(constraints)
        row_lo = np.empty(m)
        row_hi = np.empty(m)
        starts = np.zeros(m, dtype=np.int32)
        index: list[int] = []
        value: list[float] = []
        for r, con in enumerate(constraints):
            con.index = r
            starts[r] = len(index)
            for var, coef in con.items():
                if coef != 0:
                    index.append(var.index)
                    value.append(coef)
            lb, ub = con.getLb(), con.getUb()
            row_lo[r] = -inf if lb is None else lb
            row_hi[r] = inf if ub is None else ub
        model.addRows(
            m,
            row_lo,
            row_hi,
            len(index),
            starts,
            np.asarray(index, dtype=np.int32),
            np.asarray(value, dtype=float),
        )

    def callSolver(self, lp: pulp.LpProblem) -> None:
        """Run HiGHS after setting the warm start, presolve and the time limit from the deadline."""
        if self.warm_start:
            self._set_start(lp)
        model = lp.solverModel
        if lp.numVariables() > PRESOLVE_MAX_COLUMNS:
            model.setOptionValue("presolve", "off")
        if self.deadline is not None:
            self.time_limit_given = max(_MIN_LIMIT_S, self.deadline - time.perf_counter() - self.reserve)
            model.setOptionValue("time_limit", self.time_limit_given)
            # HiGHS also asks at every simplex iteration, interior-point step and node
            # whether to stop: answer from this process's clock too, as a second guard
            stop_at = time.perf_counter() + self.time_limit_given

            def interrupt(event) -> None:  # noqa: ANN001 - a highspy callback event
                if time.perf_counter() >= stop_at:
                    event.interrupt()

            for callback in (model.cbSimplexInterrupt, model.cbIpmInterrupt, model.cbMipInterrupt):
                callback.subscribe(interrupt)
        else:
            self.time_limit_given = self.timeLimit
        logged = len(self.log_lines)
        run_highs(model)
        if _SCHEDULER_CLASH in "".join(self.log_lines[logged:]):
            # HiGHS makes one thread scheduler per process, at its first solve; a later solve
            # asking for another number of threads stops at once with an error, which PuLP
            # reads as "no solution" (measured: a solve with the default threads, then one
            # with threads=1, in one process). Remake the scheduler and solve again. One solve
            # runs at a time in a process here (batches use worker processes).
            import highspy

            highspy.Highs.resetThreadScheduler(True)  # blocking: the old workers are gone first
            del self.log_lines[logged:]
            run_highs(model)
        if self.warm_start_result == "given":
            self.warm_start_result = "used" if _start_feasible("".join(self.log_lines)) else "rejected"

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:
        """As :class:`pulp.HiGHS`, also after a node limit or an interrupt.

        PuLP 3.3 knows no ``kSolutionLimit`` and reads ``kInterrupt`` as a solution even
        when there is none: they are read like an iteration and a time limit (the
        incumbent if there is one).
        """
        import highspy

        model = lp.solverModel
        status = model.getModelStatus()
        as_read = {
            highspy.HighsModelStatus.kSolutionLimit: highspy.HighsModelStatus.kIterationLimit,
            highspy.HighsModelStatus.kInterrupt: highspy.HighsModelStatus.kTimeLimit,
        }.get(status)
        if as_read is None:
            return super().findSolutionValues(lp)
        model.getModelStatus = lambda: as_read  # read as PuLP reads these limits: the incumbent, if any
        try:
            return super().findSolutionValues(lp)
        finally:
            del model.getModelStatus

    def _set_start(self, lp: pulp.LpProblem) -> None:
        import highspy

        variables = lp.variables()
        if not variables or any(v.varValue is None for v in variables):
            return
        start = np.asarray([v.varValue for v in variables], dtype=float)
        index = np.asarray([v.index for v in variables], dtype=np.int32)
        status = lp.solverModel.setSolution(index.size, index, start)
        self.warm_start_result = "given" if status == highspy.HighsStatus.kOk else "rejected"


#: HiGHS's error when a solve asks for other threads than its process's scheduler has.
_SCHEDULER_CLASH = "the scheduler has already been initialized"
_START_FEASIBLE = re.compile(r"MIP start solution is feasible")
_START_CHECK = re.compile(r"^(Col|Integer|Row)\s+infeasibilities\s+(\d+)", re.MULTILINE)


def _start_feasible(log: str) -> bool:
    """Whether HiGHS judged the starting solution feasible (its log says so)."""
    if _START_FEASIBLE.search(log):
        return True
    counts = _START_CHECK.findall(log)
    return bool(counts) and all(int(n) == 0 for _, n in counts)
