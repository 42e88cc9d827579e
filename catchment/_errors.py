"""Errors of the problem definition, the validator and the diagnosis."""

from __future__ import annotations

from collections.abc import Iterable

from geodata._errors import CatchmentError, InputDataError

__all__ = ["ProblemDefinitionError", "ScenarioError", "InfeasibleError", "PlanInvalidError", "InputDataError",
           "OutputLocationError", "UnknownCcgError"]


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


class OutputLocationError(CatchmentError):
    """The output folder cannot be used or written; names the folder. Earlier results are intact."""

    def __init__(self, folder: object, message: str) -> None:
        self.folder = folder
        super().__init__(f"output folder {folder}: {message}")


class UnknownCcgError(CatchmentError, ValueError):
    """CCG codes asked for that the data does not have; names every one and the file."""

    def __init__(self, codes: Iterable[str], *, known: Iterable[str], file: object) -> None:
        self.codes = tuple(codes)
        known = sorted(known)
        sample = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        asked = ", ".join(self.codes) if self.codes else "(none)"
        super().__init__(f"unknown CCG code(s) {asked}: not in column 'ccg_code' of {file} "
                         f"({len(known)} codes there: {sample})")
