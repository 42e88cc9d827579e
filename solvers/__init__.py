"""Solvers: the polysystem MIP model (PuLP; HiGHS or CBC), a fast heuristic, contiguity.

>>> from solvers import solve                                  # doctest: +SKIP
>>> plan = solve(problem, solver="highs", time_limit=60)        # doctest: +SKIP
"""

from solvers.backends import SOLVERS, solver_available
from solvers.contiguity import CONTIGUITY_METHODS
from solvers.dispatch import solve
from solvers.heuristic import repair_plan, solve_heuristic
from solvers.mip import PolysystemModel, check_solver_options

__all__ = [
    "PolysystemModel",
    "solve",
    "solve_heuristic",
    "repair_plan",
    "check_solver_options",
    "solver_available",
    "SOLVERS",
    "CONTIGUITY_METHODS",
]
