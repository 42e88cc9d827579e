"""Solvers: the polysystem MIP model (PuLP; HiGHS or CBC), a fast heuristic, contiguity.

>>> from solvers import solve                                  # doctest: +SKIP
>>> plan = solve(problem, solver="highs", time_limit=60)        # doctest: +SKIP
"""

from solvers._pulp import SOLVERS, solver_available
from solvers.heuristic import solve_heuristic
from solvers.mip import PolysystemModel, check_solver_options, solve

__all__ = ["PolysystemModel", "solve", "solve_heuristic", "check_solver_options", "solver_available", "SOLVERS"]
