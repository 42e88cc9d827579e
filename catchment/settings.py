"""Solver settings: one type, one set of defaults, the vocabularies defined once.

:class:`SolverSettings` is what a scenario's ``[solver]`` table parses into, what the batch
commands pass to every solve and what :func:`solvers.dispatch.solve` takes as keywords (its
defaults are :data:`DEFAULTS`). The vocabularies (:data:`SOLVER_NAMES`, :data:`METHODS`,
:data:`CONTIGUITY_METHODS`) are read by the solvers, the scenario parser and the command
line's choices.

>>> settings = SolverSettings(time_limit=60)
>>> plan = solve(problem, **settings.solve_keywords())     # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from geodata.settings import MAX_PARALLEL, MAX_SITES, is_count

__all__ = [
    "SOLVER_NAMES",
    "METHODS",
    "CONTIGUITY_METHODS",
    "SCENARIO_TIME_LIMIT_S",
    "COMMAND_TIME_LIMIT_S",
    "MAX_TIME_LIMIT_S",
    "TIME_LIMIT_RANGE",
    "is_time_limit",
    "SolverSettings",
    "DEFAULTS",
    "check_solver_options",
]

#: MIP solvers: HiGHS (in process) and CBC (see :mod:`solvers.backends`).
SOLVER_NAMES = ("highs", "cbc")
#: How a problem is solved: ``auto`` picks ``lns`` for problems of at least
#: :data:`solvers.lns.LNS_MIN_UNITS` units whose objective decomposes, else ``mip``.
METHODS = ("auto", "mip", "lns")
#: How contiguity is imposed: ``"cuts"``, separator cuts added round by round (default);
#: ``"flow"``, the flow model (see :mod:`solvers.contiguity`).
CONTIGUITY_METHODS = ("cuts", "flow")

# The library's solve() has no time limit (DEFAULTS.time_limit is None); the commands do,
# and keep the limits they have always had:
#: A scenario run (``[solver] time_limit`` when the file gives none): one plan, worth proving.
SCENARIO_TIME_LIMIT_S = 300.0
#: The demo and each solve of the batch commands (sweep, shortlist, national): a small
#: problem, or one of many solves.
COMMAND_TIME_LIMIT_S = 120.0
#: Longest time limit (seconds) a solve may be given: a week. A scenario's plan is proven in
#: seconds to minutes and a national run solves one CCG at a time; a larger figure is a typing
#: or unit mistake (1e300, or milliseconds for seconds), not a wish to wait longer. The one
#: limit of ``[solver] time_limit``, ``[sweep] time_limit``, ``--time-limit`` and
#: :class:`SolverSettings`.
MAX_TIME_LIMIT_S = 7 * 24 * 3600.0
#: The accepted time limits in words, as the command line's message says them (the scenario's
#: key reader words its range as it does for every number key).
TIME_LIMIT_RANGE = f"a number of seconds above 0 and at most {MAX_TIME_LIMIT_S:,.0f} (a week)"


def is_time_limit(value: object) -> bool:
    """Whether ``value`` is a time limit: a number of seconds above 0 and at most :data:`MAX_TIME_LIMIT_S`."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < value <= MAX_TIME_LIMIT_S


def _problems(s: SolverSettings) -> list[str]:
    problems = []
    if s.solver not in SOLVER_NAMES:
        problems.append(f"solver must be one of {', '.join(map(repr, SOLVER_NAMES))}, got {s.solver!r}")
    if s.time_limit is not None and not is_time_limit(s.time_limit):
        problems.append(f"time_limit must be {TIME_LIMIT_RANGE}, or None, got {s.time_limit!r}")
    if isinstance(s.mip_gap, bool) or not (isinstance(s.mip_gap, (int, float)) and 0 <= s.mip_gap < 1):
        problems.append(f"mip_gap must be a relative gap in [0, 1), got {s.mip_gap!r}")
    for name, most in (("k_nearest", MAX_SITES), ("threads", MAX_PARALLEL), ("workers", MAX_PARALLEL)):
        value = getattr(s, name)
        if value is not None and not is_count(value, most):
            problems.append(f"{name} must be a whole number from 1 to {most:,}, or None, got {value!r}")
    if s.contiguity not in CONTIGUITY_METHODS:
        problems.append(f"contiguity must be one of {', '.join(map(repr, CONTIGUITY_METHODS))}, got {s.contiguity!r}")
    if s.method not in METHODS:
        problems.append(f"method must be one of {', '.join(map(repr, METHODS))}, got {s.method!r}")
    return problems


@dataclass(frozen=True)
class SolverSettings:
    """How to solve a problem (validated on creation).

    Parameters
    ----------
    solver
        One of :data:`SOLVER_NAMES` (a scenario's ``[solver] name``).
    time_limit
        Wall-clock seconds for the whole solve (at most :data:`MAX_TIME_LIMIT_S`), or ``None``
        (no limit).
    mip_gap
        Relative optimality gap at which a plan counts as optimal.
    k_nearest
        Nearest-site rule, at most :data:`geodata.settings.MAX_SITES` (``None``: automatic,
        see :class:`solvers.mip.PolysystemModel`).
    threads
        Solver threads, at most :data:`geodata.settings.MAX_PARALLEL` (``None``: the
        solver's default).
    contiguity
        One of :data:`CONTIGUITY_METHODS`: how contiguity is imposed when the rules ask.
    method
        One of :data:`METHODS` (see :func:`solvers.dispatch.solve`).
    workers
        Processes solving neighbourhoods at once, at most :data:`geodata.settings.MAX_PARALLEL`
        (``lns`` only; ``None``: one per core).

    Raises
    ------
    ValueError
        If a setting is invalid (every problem listed).
    """

    solver: str = "highs"
    time_limit: float | None = None
    mip_gap: float = 1e-4
    k_nearest: int | None = None
    threads: int | None = None
    contiguity: str = "cuts"
    method: str = "auto"
    workers: int | None = 1

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("invalid solver options:\n  " + "\n  ".join(problems))

    @property
    def name(self) -> str:
        """The solver's name, as a scenario's ``[solver]`` table spells it (``name``)."""
        return self.solver

    def solve_keywords(self) -> dict[str, Any]:
        """The settings as keywords of :func:`solvers.dispatch.solve`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


#: The default settings: the defaults of :func:`solvers.dispatch.solve` and the model's ``solve``.
DEFAULTS = SolverSettings()


def check_solver_options(**options: Any) -> None:
    """Validate solver options (keywords of :class:`SolverSettings`), listing every problem.

    Raises
    ------
    ValueError
        One error naming every invalid option.
    """
    SolverSettings(**options)


#: Columns of a configuration (a plan given as a CSV: evaluate, compare, phase): two required,
#: then two optional.
CONFIGURATION_COLUMNS = ("unit_id", "polysystem_id", "hub_site_id", "hub_option")
#: The same in words: what a configuration file holds.
CONFIGURATION_CSV = (
    f"a CSV with columns {', '.join(CONFIGURATION_COLUMNS[:2])}[, {CONFIGURATION_COLUMNS[2]}"
    f"[, {CONFIGURATION_COLUMNS[3]}]]"
)
