"""Errors of the problem definition, the validator and the diagnosis."""

from __future__ import annotations

from collections.abc import Iterable

from geodata._errors import CatchmentError, InputDataError

__all__ = ["ProblemDefinitionError", "ScenarioError", "InfeasibleError", "PlanInvalidError", "InputDataError"]


class ProblemDefinitionError(CatchmentError, ValueError):
    """The problem's parameters contradict each other or the data; lists every problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        n = len(self.problems)
        super().__init__("\n  ".join([f"{n} problem{'s' if n != 1 else ''} in the problem definition:", *self.problems]))


class ScenarioError(ProblemDefinitionError):
    """A scenario (TOML) file is invalid; each problem names the file and the key."""


class InfeasibleError(CatchmentError):
    """No plan can satisfy the rules; ``diagnosis`` explains why (names and numbers)."""

    def __init__(self, diagnosis: object) -> None:
        self.diagnosis = diagnosis
        super().__init__(str(diagnosis))


class PlanInvalidError(CatchmentError):
    """A plan broke the rules; ``violations`` lists every broken rule."""

    def __init__(self, violations: Iterable[object]) -> None:
        self.violations = tuple(violations)
        n = len(self.violations)
        super().__init__(
            "\n  ".join([f"the plan breaks {n} rule{'s' if n != 1 else ''}:", *map(str, self.violations)])
        )
