"""Every exception and warning class of the engine, in one public module.

Users catch :class:`CatchmentError` (the base of every error the engine raises on
purpose) or one of its subclasses; :mod:`catchment` re-exports them all.

Every error about user input names the file, the row (the line number a user sees when
opening the file in an editor, header included) and the column, and an error carries
*every* problem found in one pass, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "shown_limit",
    "SHOWN_CHARS",
    "shown_value",
    "close_codes",
    "did_you_mean",
    "CatchmentError",
    "DataProblem",
    "InputDataError",
    "MissingFileError",
    "UnknownCodeError",
    "NetworkError",
    "TravelTimeError",
    "ProblemCollector",
    "DataWarning",
    "SnapWarning",
    "EstimateWarning",
    "ProblemDefinitionError",
    "ScenarioError",
    "InfeasibleError",
    "PlanInvalidError",
    "OutputLocationError",
    "PdfUnavailableError",
    "UnknownCcgError",
    "SchedulerError",
    "SchedulerAddressError",
    "AssetError",
    "EditError",
    "NoChange",
]


def shown_limit(value: float) -> str:
    """A limit as a message shows it: ``100,000,000`` for a whole number, else ``0.5``."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


#: Characters of a value's ``repr`` a message shows before cutting it (:func:`shown_value`).
SHOWN_CHARS = 80


def shown_value(value: object, *, limit: int = SHOWN_CHARS) -> str:
    """A value as a message shows it: its ``repr``, cut after ``limit`` characters.

    Parameters
    ----------
    value
        An id, an option, a value a caller or a page sent.
    limit
        Characters of the ``repr`` shown.

    Returns
    -------
    str
        ``'F86007'``; a longer ``repr`` is its first ``limit`` characters, then its length:
        ``'XX...XX... (5,002 characters)``, so a 5,000-character id makes a short message.
    """
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class CatchmentError(Exception):
    """Base class of every error raised by the engine on purpose."""


@dataclass(frozen=True)
class DataProblem:
    """One problem found in an input file.

    Parameters
    ----------
    file
        Path of the file (or a label such as ``"<GeoDataFrame>"``).
    message
        What is wrong, in words a planner understands.
    row
        Line number in the file as shown by an editor (1-based, header line included),
        or ``None`` when the problem concerns the whole file or a column.
    column
        Column name (or 1-based position for headerless files), or ``None``.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class InputDataError(CatchmentError, ValueError):
    """Input data is unusable; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[DataProblem], *, limit: int = 50) -> None:
        self.problems: tuple[DataProblem, ...] = tuple(problems)
        lines = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            lines.append(f"... and {more} more problem(s)")
        n = len(self.problems)
        header = f"{n} problem{'s' if n != 1 else ''} in the input data:"
        super().__init__("\n  ".join([header, *lines]))


class MissingFileError(InputDataError, FileNotFoundError):
    """An input file does not exist."""

    def __init__(self, path: str | Path, *, what: str = "input file") -> None:
        super().__init__([DataProblem(str(path), f"{what} not found")])
        self.path = Path(path)


class UnknownCodeError(InputDataError):
    """Codes selecting a study area (CCG, LAD) match nothing in the data.

    ``kind`` is ``"ccg"`` or ``"lad"``, ``codes`` the unknown codes and ``suggestions``
    maps each to the closest known codes, so that a caller can name its own key.
    """

    def __init__(self, file: str | Path, *, kind: str, codes: Iterable[str], known: Iterable[str]) -> None:
        self.kind = kind
        self.codes = tuple(codes)
        self.suggestions = close_codes(self.codes, known)
        super().__init__([DataProblem(str(file), self.describe(), column=f"{kind}_code")])

    def describe(self) -> str:
        """``unknown CCG code 'X' (did you mean 'Y'?)``, for every code."""
        parts = [f"{code!r}{did_you_mean(self.suggestions.get(code, ()))}" for code in self.codes]
        return f"unknown {self.kind.upper()} code(s) {', '.join(parts)}: no row of the file has it"


def close_codes(codes: Iterable[str], known: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The known codes closest to each unknown one.

    The same code in other letter case (``08n``: ``08N``) when there is one, else up to
    three similar ones (:func:`difflib.get_close_matches`).
    """
    import difflib

    ordered = sorted(set(known))
    by_case: dict[str, list[str]] = {}
    for k in ordered:
        by_case.setdefault(k.casefold(), []).append(k)
    out = {}
    for code in codes:
        same = by_case.get(code.casefold())
        out[code] = tuple(same) if same else tuple(difflib.get_close_matches(code, ordered, n=3, cutoff=0.6))
    return out


def did_you_mean(close: Iterable[str]) -> str:
    """`` (did you mean 'A' or 'B'?)``, or nothing when there is no close code."""
    close = tuple(close)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


class NetworkError(CatchmentError):
    """A road network cannot be built, read or downloaded."""


class TravelTimeError(CatchmentError):
    """A travel-time matrix cannot be computed or read."""


class ProblemCollector:
    """Gather :class:`DataProblem` objects and raise them together.

    Examples
    --------
    >>> problems = ProblemCollector("practices.csv")
    >>> problems.add("duplicate practice code 'F86001'", row=12, column="code")
    >>> problems.raise_if_any()  # doctest: +SKIP
    """

    def __init__(self, file: str | Path) -> None:
        self.file = str(file)
        self.problems: list[DataProblem] = []

    def add(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        """Record one problem of the file, with its row and column when known."""
        self.problems.append(DataProblem(self.file, message, row, column))

    def extend(self, problems: Iterable[DataProblem]) -> None:
        """Record problems found elsewhere (e.g. by a column check)."""
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Raise :class:`InputDataError` listing every recorded problem, if there is one."""
        if self.problems:
            raise InputDataError(self.problems)


class DataWarning(UserWarning):
    """Input data is usable but something was dropped or repaired (and counted)."""


class SnapWarning(DataWarning):
    """A point lies far from the road network; its access leg is long."""


class EstimateWarning(UserWarning):
    """Figures come from a crow-fly estimate, not a road network."""


# Problem definition, scenario, diagnosis, validation and outputs


class ProblemDefinitionError(CatchmentError, ValueError):
    """The problem's parameters contradict each other or the data; lists every problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        n = len(self.problems)
        super().__init__(
            "\n  ".join([f"{n} problem{'s' if n != 1 else ''} in the problem definition:", *self.problems])
        )


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
        super().__init__("\n  ".join([f"the plan breaks {n} rule{'s' if n != 1 else ''}:", *map(str, self.violations)]))


class EditError(CatchmentError, ValueError):
    """An edit of a plan cannot be made (unknown unit or site, option not offered, hub not open).

    The message names the id (cut by :func:`shown_value`); the plan being edited is unchanged.
    """


class NoChange(EditError):
    """An edit that would change nothing, refused: an edit that changes nothing is not an edit.

    Raised by every edit of :class:`catchment.editing.EditSession` that would leave the
    configuration as it is: a unit moved to the polysystem it is in, a hub given the option it
    has or moved to the site it is on, a hub opened where one is open, Undo or Redo with nothing
    to undo or redo. Nothing is changed or recorded (no undo step, the redo stack kept). The
    message says what is already so and what to choose instead; a caller that only wants the
    configuration changed can catch this class and go on.
    """


class OutputLocationError(CatchmentError):
    """The output folder cannot be used or written; names the folder. Earlier results are intact."""

    def __init__(self, folder: object, message: str) -> None:
        self.folder = folder
        super().__init__(f"output folder {folder}: {message}")


class UnknownCcgError(CatchmentError, ValueError):
    """CCG codes asked for that the data does not have; names every one, the file and its column.

    ``column`` is the file's own commissioner column (``CCG_CODE``, ``SUB_ICB_LOCATION_CODE``)
    and ``area`` the word for its areas (``"CCG"``, ``"CCG (sub-ICB location)"``).
    """

    def __init__(self, codes: Iterable[str], *, known: Iterable[str], file: object, column: str, area: str) -> None:
        self.codes = tuple(codes)
        known = sorted(known)
        sample = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        close = close_codes(self.codes, known)
        asked = ", ".join(f"{c}{did_you_mean(close[c])}" for c in self.codes) if self.codes else "(none)"
        super().__init__(
            f"unknown {area} code(s) {asked}: not in column {column!r} of {file} ({len(known)} codes there: {sample})"
        )


# Distributed runs and assets


class SchedulerError(CatchmentError):
    """A Dask scheduler could not be reached or a cluster could not start."""


class SchedulerAddressError(SchedulerError, ValueError):
    """A scheduler address cannot be used: unknown scheme, no host or port, or TLS unset."""


class AssetError(CatchmentError):
    """Leaflet's files could not be found (the ``XStatic-Leaflet`` package is missing)."""


class PdfUnavailableError(CatchmentError):
    """The board report cannot be written as PDF: WeasyPrint or a system library it needs is missing."""
