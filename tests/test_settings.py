"""One solver-settings type: its defaults are those of solve(), the scenario and the batches."""

from __future__ import annotations

import inspect
import re

import pytest

from catchment import ScenarioError
from catchment.scenario import parse_scenario
from catchment.settings import (
    COMMAND_TIME_LIMIT_S,
    CONTIGUITY_METHODS,
    DEFAULTS,
    MAX_TIME_LIMIT_S,
    METHODS,
    SCENARIO_TIME_LIMIT_S,
    SOLVER_NAMES,
    TIME_LIMIT_RANGE,
    SolverSettings,
)
from geodata.settings import MAX_PARALLEL, MAX_SITES
from solvers import CONTIGUITY_METHODS as SOLVERS_CONTIGUITY
from solvers import SOLVERS
from solvers.batch import SolveOptions
from solvers.dispatch import solve
from solvers.lns import solve_lns
from solvers.mip import METHODS as MIP_METHODS
from solvers.mip import PolysystemModel

MINIMAL = {"units": {"ccg": "08N"}}


def test_solve_defaults_come_from_the_settings() -> None:
    for func in (solve, PolysystemModel.solve, solve_lns):
        params = inspect.signature(func).parameters
        for name, value in DEFAULTS.solve_keywords().items():
            if name in params and not (func is solve_lns and name == "workers"):
                assert params[name].default == value, (func.__qualname__, name)


def test_vocabularies_are_defined_once() -> None:
    assert SOLVERS is SOLVER_NAMES and SOLVERS_CONTIGUITY is CONTIGUITY_METHODS and MIP_METHODS is METHODS


def test_command_defaults() -> None:
    assert SolveOptions().time_limit == COMMAND_TIME_LIMIT_S == 120.0
    assert isinstance(SolveOptions(), SolverSettings)
    solver = parse_scenario(MINIMAL).solver
    assert solver.time_limit == SCENARIO_TIME_LIMIT_S == 300.0
    assert (solver.name, solver.mip_gap, solver.method, solver.workers) == ("highs", 1e-4, "auto", None)


def test_invalid_settings_are_listed() -> None:
    with pytest.raises(ValueError, match="solver must be one of.*\n.*mip_gap"):
        SolverSettings(solver="gurobi", mip_gap=1.0)
    with pytest.raises(ScenarioError, match=r"\[solver\] mip_gap must be a relative gap"):
        parse_scenario({**MINIMAL, "solver": {"mip_gap": 1.5}})


@pytest.mark.parametrize("value", [1e300, float("inf"), float("nan"), 0, -1])
def test_time_limit_outside_its_range_is_refused(value) -> None:
    with pytest.raises(ValueError, match=re.escape(f"time_limit must be {TIME_LIMIT_RANGE}, or None, got")):
        SolverSettings(time_limit=value)
    assert SolverSettings(time_limit=MAX_TIME_LIMIT_S).time_limit == MAX_TIME_LIMIT_S


@pytest.mark.parametrize(
    ("name", "most"), [("threads", MAX_PARALLEL), ("workers", MAX_PARALLEL), ("k_nearest", MAX_SITES)]
)
@pytest.mark.parametrize("value", [10**12, "most + 1", 0, -1, 2.0, True])
def test_counts_outside_their_range_are_refused(name, most, value) -> None:
    """Before, threads=10**12 (and as many workers or nearest sites) was a valid setting."""
    value = most + 1 if value == "most + 1" else value
    with pytest.raises(ValueError, match=re.escape(f"{name} must be a whole number from 1 to {most:,}, or None, got")):
        SolverSettings(**{name: value})
    assert getattr(SolverSettings(**{name: most}), name) == most
