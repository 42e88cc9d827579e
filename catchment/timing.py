"""Time limits that hold, and work limits that make reruns give the same plan.

A time limit covers the whole command (build, solve, validate, write). The command ends
within the limit plus :func:`time_limit_margin` (5 % + 10 s): the margin absorbs what no
stage can stop at an exact instant (a solver checks its clock between steps, the output
files are written after the solve). Every stage gets what remains of one deadline.

Work that decides a plan is limited by counts (heuristic moves, sub-model nodes, search
rounds), never by seconds, so a run that finishes before its time limit gives the same
plan on every rerun. A run that the time limit cut short carries
:data:`STOPPED_BY_TIME_LIMIT` in its notes: a rerun may stop at another point.
"""

from __future__ import annotations

import time

__all__ = [
    "STOPPED_BY_TIME_LIMIT",
    "TIME_LIMIT_MARGIN_S",
    "TIME_LIMIT_MARGIN_SHARE",
    "deadline_after",
    "seconds_left",
    "time_limit_margin",
]

#: The whole command ends within ``time_limit * (1 + TIME_LIMIT_MARGIN_SHARE) + TIME_LIMIT_MARGIN_S``.
TIME_LIMIT_MARGIN_SHARE = 0.05
TIME_LIMIT_MARGIN_S = 10.0
#: The note (exact words) of a plan that the time limit cut short.
STOPPED_BY_TIME_LIMIT = "stopped by the time limit: a rerun may differ"


def time_limit_margin(time_limit: float) -> float:
    """Seconds the whole command may run beyond ``time_limit`` (5 % of it plus 10 s)."""
    return TIME_LIMIT_MARGIN_SHARE * float(time_limit) + TIME_LIMIT_MARGIN_S


def deadline_after(time_limit: float | None, *, start: float | None = None) -> float | None:
    """The :func:`time.perf_counter` instant ``time_limit`` seconds after ``start`` (default: now)."""
    if time_limit is None:
        return None
    return (time.perf_counter() if start is None else start) + float(time_limit)


def seconds_left(deadline: float | None, *, at_least: float = 0.0) -> float | None:
    """Seconds until ``deadline`` (``None``: no deadline), never below ``at_least``."""
    if deadline is None:
        return None
    return max(at_least, deadline - time.perf_counter())
