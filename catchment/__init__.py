"""The domain of polysystem planning: problems, plans, rules, validation and metrics.

The engine's exceptions are defined once in :mod:`geodata.errors` and re-exported here,
where users catch them::

    from catchment import CatchmentError, ScenarioError
"""

from geodata.errors import (
    AssetError,
    CatchmentError,
    DataProblem,
    DataWarning,
    EditError,
    EstimateWarning,
    InfeasibleError,
    InputDataError,
    MissingFileError,
    NetworkError,
    NoChange,
    OutputLocationError,
    PdfUnavailableError,
    PlanInvalidError,
    ProblemDefinitionError,
    ScenarioError,
    SchedulerAddressError,
    SchedulerError,
    SnapWarning,
    TravelTimeError,
    UnknownCcgError,
    UnknownCodeError,
)

__all__ = [
    "AssetError",
    "CatchmentError",
    "DataProblem",
    "DataWarning",
    "EditError",
    "EstimateWarning",
    "InfeasibleError",
    "InputDataError",
    "MissingFileError",
    "NetworkError",
    "NoChange",
    "OutputLocationError",
    "PdfUnavailableError",
    "PlanInvalidError",
    "ProblemDefinitionError",
    "ScenarioError",
    "SchedulerAddressError",
    "SchedulerError",
    "SnapWarning",
    "TravelTimeError",
    "UnknownCcgError",
    "UnknownCodeError",
]
