r"""England in one run: every GP practice, one polysystem problem per CCG.

:func:`national_subproblems` reads the published files once and cuts them by commissioner
(``ccg_code`` of the list-size file). Each CCG is a subproblem of its own:

* **units**: the CCG's practices, population = registered list size;
* **candidate hub sites**: the NHS hospital sites within ``hospitals_within_m`` (3 km) of
  any of the CCG's practices, plus its largest practices (by default twice the most
  polysystems the CCG could hold, :math:`2\lfloor P / F \rfloor`, at least 4);
* **travel**: a crow-fly *estimate* (straight line x ``detour_factor`` at ``speed_kph``,
  labelled as such): a practice's time to a site is the patient-weighted mean over the
  LSOAs where its patients live (population-weighted centroids), or from the practice's
  own location when it has no registrations by LSOA;
* **rules**: the floor (50,000) and nothing else; mean travel minimised.

Each file is read from the data folder under its default name (:data:`NATIONAL_FILES`) unless
another is given for its role (``files``: list sizes of a later month, say). The
Code-Point Open column headers and the land boundaries are read when there
(:data:`OPTIONAL_ROLES`); the practice-to-PCN mapping only to compare the plans with today's
PCNs (``compare_pcn``). Registrations by LSOA of another vintage than the centroids are
carried to the centroids' vintage with ONS's LSOA (2011) to LSOA (2021) lookup when one is
given (:data:`LSOA_LOOKUP_ROLE`), as a scenario build does
(:func:`catchment.build.carry_registrations`, with the populations of the IMD file,
:data:`LOOKUP_POPULATION_ROLE`).

A CCG whose whole registered population is below the floor cannot form a polysystem on its
own: it is returned with its shortfall and not solved, never merged silently with a
neighbour. Practices in the published files that the loader could not place (no
coordinates) are listed in :attr:`NationalInput.left_out` with the reason, so that every
practice is accounted for.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from catchment.build import (
    carry_registrations,
    check_registration_lsoas,
    default_options,
    practice_travel,
    problem_from_frames,
)
from catchment.plan import share_words
from catchment.problem import DEFAULT_FLOOR, Objective, Problem, Rules
from catchment.scenario import LSOA_LOOKUP_ROLE, REGISTRATIONS_FILE
from geodata.cache import input_digest
from geodata.errors import DataWarning, ProblemDefinitionError, UnknownCcgError, close_codes, did_you_mean
from geodata.nhs import PUBLISHED_COMMISSIONER
from geodata.ons import LSOA_FILES
from geodata.pcn import PCN_MAPPING_FILE
from geodata.practices import PRACTICE_FILES
from geodata.settings import BNG
from geodata.tables import few, isin, require_file

__all__ = [
    "NATIONAL_FILES",
    "OPTIONAL_ROLES",
    "PCN_MAPPING_ROLE",
    "LSOA_LOOKUP_ROLE",
    "LOOKUP_POPULATION_ROLE",
    "AreaWords",
    "CCG_WORDS",
    "SUB_ICB_WORDS",
    "CcgSubproblem",
    "NationalInput",
    "national_paths",
    "lookup_population_only",
    "national_subproblems",
    "ccg_subproblem",
    "unknown_roles",
    "default_largest",
    "registrations_by_ccg",
    "national_travel_label",
]

logger = logging.getLogger(__name__)

#: Role of the practice-to-PCN mapping, read only to compare the plans with today's PCNs.
PCN_MAPPING_ROLE = "pcn_mapping"
#: Role of the IMD file, read only with the LSOA lookup (:data:`LSOA_LOOKUP_ROLE`): its
#: ``population_total`` apportions the patients of an LSOA with several partners, as in a
#: scenario build (:func:`catchment.build.carry_registrations`).
LOOKUP_POPULATION_ROLE = "imd"
#: Role -> the file read by default (relative to the data folder); another file can be
#: given for any role (:func:`national_paths`), e.g. list sizes of a later month. The roles
#: of :func:`geodata.practices.load_practices` are those of :data:`PRACTICE_FILES` it reads
#: for every practice of England (not ``lad_boundaries``: no area is selected).
#: :data:`LSOA_LOOKUP_ROLE` has no default file (``""``): it is read only when given.
NATIONAL_FILES: Mapping[str, str] = MappingProxyType(
    {
        **{
            role: PRACTICE_FILES[role]
            for role in ("epraccur", "list_sizes", "nhs_choices", "codepoint", "codepoint_headers", "land", "hospitals")
        },
        "registrations": REGISTRATIONS_FILE,
        "centroids": LSOA_FILES["centroids"],
        LSOA_LOOKUP_ROLE: "",
        LOOKUP_POPULATION_ROLE: LSOA_FILES[LOOKUP_POPULATION_ROLE],
        PCN_MAPPING_ROLE: PCN_MAPPING_FILE,
    }
)
#: Roles whose default file is read only when the data folder has it, as
#: :func:`geodata.practices.load_practices` does: without the Code-Point Open column headers
#: the documented layout is assumed, without the land boundaries the practices' points are
#: not checked against the land. A file given for one of them must exist.
OPTIONAL_ROLES = frozenset({"codepoint_headers", "land"})
#: Roles that may name a folder: Code-Point Open as its zip unpacks (see
#: :func:`geodata.postcodes.read_codepoint`).
FOLDER_ROLES = frozenset({"codepoint"})


@dataclass(frozen=True)
class AreaWords:
    """How outputs name the areas planned one by one (each its own problem).

    Attributes
    ----------
    one, many : str
        The singular and the plural, e.g. ``"CCG"``, ``"CCGs"``.
    """

    one: str
    many: str


#: The CCGs: list sizes of the CCG layout (to June 2022).
CCG_WORDS = AreaWords("CCG", "CCGs")
#: List sizes of the sub-ICB layout (July 2022 on, :func:`geodata.nhs.sub_icb_layout`): the
#: areas are the CCGs' successors, under mostly the same codes, and are not called CCGs alone.
SUB_ICB_WORDS = AreaWords("CCG (sub-ICB location)", "CCGs (sub-ICB locations)")


@dataclass(frozen=True)
class CcgSubproblem:
    """One CCG's problem, or why it has none.

    Attributes
    ----------
    ccg_code : str
    practices : tuple of str
        Practice codes (sorted).
    population : float
        Registered patients of the CCG's practices.
    problem : Problem or None
        ``None`` when the CCG is below the floor.
    shortfall : float
        People missing to reach the floor (0 when the CCG reaches it).
    reason : str
        Why the CCG is not solved, or empty.
    n_hospitals, n_practice_sites : int
        Candidate hub sites of each kind.
    registrations_covered : float
        Share of the CCG's patients whose LSOA of residence enters the travel estimate.
    """

    ccg_code: str
    practices: tuple[str, ...]
    population: float
    problem: Problem | None
    shortfall: float = 0.0
    reason: str = ""
    n_hospitals: int = 0
    n_practice_sites: int = 0
    registrations_covered: float = math.nan

    @property
    def solvable(self) -> bool:
        """Whether the CCG has a problem to solve (its population reaches the floor)."""
        return self.problem is not None


@dataclass(frozen=True, eq=False)
class NationalInput:
    """Every CCG subproblem and the practices that could not be planned.

    Attributes
    ----------
    subproblems : tuple of CcgSubproblem
        One per CCG, by CCG code.
    practices : GeoDataFrame
        Every placed practice (``practice_code``, ``name``, ``ccg_code``, ``list_size``,
        point geometry in EPSG:27700).
    left_out : DataFrame
        Practices of the published files left out before planning: ``practice_code``,
        ``name``, ``ccg_code``, ``list_size``, ``reason``.
    floor : float
    travel_label : str
        Where the travel times come from (an estimate, in words).
    input_files : Mapping[str, str]
        Path -> SHA-256 of every file read.
    data_files : Mapping[str, str]
        Role of :data:`NATIONAL_FILES` -> the path of the file read for it (every role but an
        absent optional one, :data:`OPTIONAL_ROLES`; :data:`PCN_MAPPING_ROLE` only with
        ``compare_pcn``, for the comparison to read; :data:`LSOA_LOOKUP_ROLE` and
        :data:`LOOKUP_POPULATION_ROLE` only when the lookup is given).
    load_s : float
        Seconds spent reading and building.
    area : AreaWords
        How to name the areas: :data:`SUB_ICB_WORDS` when the list sizes are of the sub-ICB
        layout, else :data:`CCG_WORDS`.
    """

    subproblems: tuple[CcgSubproblem, ...]
    practices: gpd.GeoDataFrame
    left_out: pd.DataFrame
    floor: float
    travel_label: str
    input_files: Mapping[str, str] = field(default_factory=dict)
    load_s: float = 0.0
    data_files: Mapping[str, str] = field(default_factory=dict)
    area: AreaWords = CCG_WORDS

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_files", MappingProxyType(dict(self.input_files)))
        object.__setattr__(self, "data_files", MappingProxyType(dict(self.data_files)))

    @property
    def n_practices(self) -> int:
        """Practices accounted for: placed plus left out."""
        return len(self.practices) + len(self.left_out)


def unknown_roles(roles: Iterable[str]) -> str:
    """Words naming every role that is not one of :data:`NATIONAL_FILES`; ``""`` when all are.

    Each unknown role comes with the closest known one, when one is close
    (:func:`geodata.errors.close_codes`), and the words end with the known roles.
    """
    unknown = [str(r) for r in roles if r not in NATIONAL_FILES]
    if not unknown:
        return ""
    close = close_codes(unknown, NATIONAL_FILES)
    named = ", ".join(f"{role!r}{did_you_mean(close[role])}" for role in unknown)
    return f"unknown data file role(s) {named}; the roles: {', '.join(NATIONAL_FILES)}"


def national_paths(
    data_dir: str | Path | None = None,
    *,
    files: Mapping[str, str | Path] | None = None,
    compare_pcn: bool = False,
) -> dict[str, Path]:
    """The file read for each role of :data:`NATIONAL_FILES`.

    Parameters
    ----------
    data_dir
        Folder of the default files; default :func:`geodata.settings.data_dir`.
    files
        Role -> a file to read instead of the default (``~`` is the home folder; a relative
        path is taken from the current folder, not from ``data_dir``).
    compare_pcn
        Include :data:`PCN_MAPPING_ROLE`, read to compare the plans with today's PCNs.

    Returns
    -------
    dict
        Role -> path, in the order of :data:`NATIONAL_FILES`: every role but
        :data:`PCN_MAPPING_ROLE` without ``compare_pcn``, :data:`LSOA_LOOKUP_ROLE` and
        :data:`LOOKUP_POPULATION_ROLE` without a lookup in ``files``, and a role of
        :data:`OPTIONAL_ROLES` whose default file is absent (not read).

    Raises
    ------
    ProblemDefinitionError
        If ``files`` names a role that is not one of :data:`NATIONAL_FILES` (with the
        closest known role), :data:`PCN_MAPPING_ROLE` without ``compare_pcn`` or
        :data:`LOOKUP_POPULATION_ROLE` without :data:`LSOA_LOOKUP_ROLE` (it would not be read).
    """
    from geodata.settings import data_dir as default_data_dir

    given = dict(files or {})
    if words := unknown_roles(given):
        raise ProblemDefinitionError([f"files: {words}"])
    if PCN_MAPPING_ROLE in given and not compare_pcn:
        raise ProblemDefinitionError(
            [f"files: {PCN_MAPPING_ROLE} is read only to compare the plans with today's PCNs (compare_pcn)"]
        )
    if LOOKUP_POPULATION_ROLE in given and LSOA_LOOKUP_ROLE not in given:
        raise ProblemDefinitionError([f"files: {LOOKUP_POPULATION_ROLE} {lookup_population_only(LSOA_LOOKUP_ROLE)}"])
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    paths = {
        role: Path(given[role]).expanduser() if role in given else root / rel for role, rel in NATIONAL_FILES.items()
    }
    lookup = LSOA_LOOKUP_ROLE in given
    return {
        role: path
        for role, path in paths.items()
        if (role != PCN_MAPPING_ROLE or compare_pcn)
        and (role not in (LSOA_LOOKUP_ROLE, LOOKUP_POPULATION_ROLE) or lookup)
        and (role not in OPTIONAL_ROLES or role in given or path.is_file())
    }


def lookup_population_only(lookup: str) -> str:
    """Why a file given for :data:`LOOKUP_POPULATION_ROLE` without the lookup (named ``lookup``) is refused.

    The words follow the role's name: ``"imd " + lookup_population_only("lsoa_lookup")``.
    """
    return (
        f"is read only with {lookup}: its populations apportion the patients of an LSOA the lookup maps to several "
        "LSOAs"
    )


def _check_ccgs(ccgs: Iterable[str], list_sizes: pd.DataFrame, *, file: Path, area: AreaWords) -> None:
    """Raise :class:`UnknownCcgError` naming every requested CCG code the data does not have.

    The error names the file's own commissioner column (``CCG_CODE`` or
    ``SUB_ICB_LOCATION_CODE``, read as ``ccg_code``) and its areas as ``area`` does.
    """
    known = set(list_sizes["ccg_code"].dropna().astype(str))
    wanted = [str(c) for c in ccgs]
    unknown = sorted({c for c in wanted if c not in known})
    if not wanted or unknown:
        column = str(list_sizes.attrs[PUBLISHED_COMMISSIONER])
        raise UnknownCcgError(unknown, known=known, file=file, column=column, area=area.one)


def default_largest(population: float, floor: float, n_practices: int) -> int:
    r"""Largest practices offered as hub sites: :math:`2\lfloor P/F\rfloor`, at least 4, at most all."""
    most = int(population // floor) if floor > 0 else n_practices
    return int(min(n_practices, max(4, 2 * most)))


def _bng_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    """``(n, 2)`` easting, northing of a frame of points in EPSG:27700 (reprojected if needed)."""
    geometry = frame.geometry
    if len(geometry) and geometry.crs is not None and geometry.crs != BNG:
        geometry = geometry.to_crs(BNG)
    if not len(geometry):
        return np.zeros((0, 2))
    return np.column_stack([geometry.x.to_numpy(dtype=float), geometry.y.to_numpy(dtype=float)])


def registrations_by_ccg(registrations: pd.DataFrame, practices: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The registration rows of each CCG's practices, split once (rows in file order).

    Parameters
    ----------
    registrations
        ``practice_code``, ``lsoa_code``, ``patients`` (any practices).
    practices
        ``practice_code``, ``ccg_code`` of the placed practices.

    Returns
    -------
    dict
        CCG code -> its practices' registration rows, in the order of ``registrations``
        (rows of practices not in ``practices`` are dropped). Passing a CCG's frame to
        :func:`ccg_subproblem` in place of every registration gives the same subproblem:
        it keeps only its practices' rows, in file order, either way.
    """
    ccg_of = practices.drop_duplicates("practice_code").set_index("practice_code")["ccg_code"].astype(str)
    position = pd.Index(ccg_of.index).get_indexer(pd.Index(registrations["practice_code"]))
    placed = np.flatnonzero(position >= 0)
    ccg_codes, ccg_number = np.unique(ccg_of.to_numpy()[position[placed]], return_inverse=True)
    order = placed[np.argsort(ccg_number, kind="stable")]
    bounds = np.searchsorted(np.sort(ccg_number, kind="stable"), np.arange(len(ccg_codes) + 1))
    return {str(code): registrations.iloc[order[bounds[k] : bounds[k + 1]]] for k, code in enumerate(ccg_codes)}


def ccg_subproblem(
    ccg_code: str,
    practices: gpd.GeoDataFrame,
    hospitals: gpd.GeoDataFrame,
    registrations: pd.DataFrame,
    centroids: gpd.GeoDataFrame,
    *,
    floor: float = DEFAULT_FLOOR,
    hospitals_within_m: float = 3000.0,
    largest_practices: int | None = None,
    detour_factor: float = 1.3,
    speed_kph: float = 25.0,
    area: AreaWords = CCG_WORDS,
) -> CcgSubproblem:
    """Build one CCG's subproblem.

    Parameters
    ----------
    ccg_code
        The CCG.
    practices
        The CCG's practices: ``practice_code``, ``name``, ``list_size``, point geometry
        (EPSG:27700).
    hospitals
        Candidate hospital sites (``site_id``, ``name``, point geometry), any area.
    registrations
        ``practice_code``, ``lsoa_code``, ``patients`` (any practices).
    centroids
        LSOA population-weighted centroids: ``lsoa_code``, point geometry (EPSG:27700).
    floor, hospitals_within_m, largest_practices, detour_factor, speed_kph
        See the module docstring.
    area
        How the reason of a CCG below the floor names it.

    Returns
    -------
    CcgSubproblem
    """
    from geodata.travel import crow_fly_matrix

    practices = practices.sort_values("practice_code").reset_index(drop=True)
    codes = tuple(practices["practice_code"].astype(str))
    population = float(practices["list_size"].sum())
    if population < floor:
        shortfall = floor - population
        return CcgSubproblem(
            ccg_code,
            codes,
            population,
            None,
            shortfall=shortfall,
            reason=f"{population:,.0f} registered patients, {shortfall:,.0f} short of the {floor:,.0f} floor: "
            f"the {area.one} cannot form a polysystem on its own (not merged with a neighbour)",
        )
    xy = _bng_xy(practices)
    h_xy = _bng_xy(hospitals)
    near = np.zeros(len(hospitals), dtype=bool)
    if len(hospitals):
        distance, _ = cKDTree(xy).query(h_xy, k=1, distance_upper_bound=hospitals_within_m)
        near = np.isfinite(distance)
    chosen_h = hospitals.loc[near]
    n_largest = (
        default_largest(population, floor, len(practices))
        if largest_practices is None
        else min(int(largest_practices), len(practices))
    )
    top = practices.sort_values(["list_size", "practice_code"], ascending=[False, True]).head(n_largest)
    sites = pd.concat(
        [
            pd.DataFrame(
                {
                    "site_id": chosen_h["site_id"].astype(str),
                    "name": chosen_h["name"].astype(str),
                    "site_type": "hospital",
                    "status": "candidate",
                    "geometry": chosen_h.geometry.to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "site_id": top["practice_code"].astype(str),
                    "name": top["name"].astype(str),
                    "site_type": "community",
                    "status": "candidate",
                    "geometry": top.geometry.to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG).drop_duplicates("site_id").reset_index(drop=True)

    reg = registrations.loc[isin(registrations["practice_code"], codes)]
    areas = centroids.loc[isin(centroids["lsoa_code"], reg["lsoa_code"])].reset_index(drop=True)
    site_ids = list(sites["site_id"])
    s_xy = _bng_xy(sites)
    area_minutes = crow_fly_matrix(
        _bng_xy(areas),
        s_xy,
        origin_ids=list(areas["lsoa_code"]),
        destination_ids=site_ids,
        detour_factor=detour_factor,
        speed_kph=speed_kph,
    )
    own = crow_fly_matrix(
        xy,
        s_xy,
        origin_ids=list(codes),
        destination_ids=site_ids,
        detour_factor=detour_factor,
        speed_kph=speed_kph,
    )
    minutes, covered = practice_travel(
        list(codes),
        reg,
        list(areas["lsoa_code"]),
        np.asarray(area_minutes.minutes),
        fallback_minutes=np.asarray(own.minutes),
    )
    units = gpd.GeoDataFrame(
        {
            "unit_id": list(codes),
            "name": practices["name"].astype(str).to_numpy(),
            "population": practices["list_size"].to_numpy(dtype=float),
            "ccg_code": ccg_code,
            "registrations_covered": covered,
        },
        geometry=practices.geometry.to_numpy(),
        crs=BNG,
    )
    problem = problem_from_frames(
        units,
        sites,
        default_options(sites),
        minutes,
        unit_type="practice",
        rules=Rules(floor=floor),
        objective=Objective({"mean_travel": 1.0}),
        travel_source="estimate",
        travel_label=f"estimate: {area_minutes.label}",
    )
    share = float((covered * units["population"]).sum() / population) if population > 0 else math.nan
    return CcgSubproblem(
        ccg_code,
        codes,
        population,
        problem,
        n_hospitals=int(near.sum()),
        n_practice_sites=len(top),
        registrations_covered=share,
    )


def national_travel_label(
    subproblems: Iterable[CcgSubproblem],
    unregistered: Iterable[str],
    *,
    detour_factor: float,
    speed_kph: float,
    area: AreaWords = CCG_WORDS,
) -> str:
    """Where a national run's travel times come from, in words (:attr:`NationalInput.travel_label`).

    Patient-weighted over LSOAs when every area's practices have registration rows; when
    some have none, the label says so, names them and gives the share of the registered
    patients of the planned areas whose LSOA entered the means.

    Parameters
    ----------
    subproblems
        Every area's subproblem (their ``registrations_covered``).
    unregistered
        Codes of the areas none of whose practices has a registration row.
    detour_factor, speed_kph
        The crow-fly estimate.
    area
        How to name the areas.

    Returns
    -------
    str
    """
    label = f"estimate: crow-fly x{detour_factor:g} at {speed_kph:g} km/h"
    codes = list(unregistered)
    if not codes:
        return f"{label}, patient-weighted over LSOAs"
    planned = [s for s in subproblems if not math.isnan(s.registrations_covered)]
    population = sum(s.population for s in planned)
    covered = sum(s.registrations_covered * s.population for s in planned) / population if population > 0 else 0.0
    return (
        f"{label}, patient-weighted over LSOAs for {share_words(covered)} of the registered patients; "
        f"from each practice's own location for the practices of {len(codes)} "
        f"{area.one if len(codes) == 1 else area.many} without registration rows: {few(codes)}"
    )


def national_subproblems(
    data_dir: str | Path | None = None,
    *,
    floor: float = DEFAULT_FLOOR,
    hospitals_within_m: float = 3000.0,
    largest_practices: int | None = None,
    detour_factor: float = 1.3,
    speed_kph: float = 25.0,
    ccgs: Iterable[str] | None = None,
    files: Mapping[str, str | Path] | None = None,
    compare_pcn: bool = False,
    give: str | None = None,
) -> NationalInput:
    """Every English practice in the data, one subproblem per CCG.

    Parameters
    ----------
    data_dir
        Folder of the published files (:data:`NATIONAL_FILES`); default
        :func:`geodata.settings.data_dir`.
    floor
        Minimum population of a polysystem.
    hospitals_within_m
        NHS hospital sites within this distance of a CCG's practices are candidates.
    largest_practices
        Largest practices offered as hub sites per CCG (default :func:`default_largest`).
    detour_factor, speed_kph
        Crow-fly travel estimate (see :func:`geodata.travel.crow_fly_matrix`).
    ccgs
        Keep only these CCG codes (default: all).
    files
        Role of :data:`NATIONAL_FILES` -> the file to read instead of the default (see
        :func:`national_paths`), e.g. ``{"list_sizes": "gp-reg-pat-prac-all-jul-2025.csv"}``.
    compare_pcn
        Also check and record (``data_files``, ``input_files``) the practice-to-PCN mapping
        (:data:`PCN_MAPPING_ROLE`), which the comparison with today's PCNs then reads.
    give
        How the user gives a file for a role (a command-line option, say), named before the
        role in the advice when the registrations and the centroids are of two LSOA vintages
        (:func:`catchment.build.check_registration_lsoas`); by default the advice names the
        role's file.

    Returns
    -------
    NationalInput

    Raises
    ------
    ProblemDefinitionError
        If ``files`` names an unknown role, or the PCN mapping without ``compare_pcn``.
    MissingFileError, InputDataError
        If a file is missing (checked before any is read) or malformed.
    UnknownCcgError
        If ``ccgs`` names a code that no practice of the list-size file has (checked
        before the other files are read).
    """
    from geodata.nhs import read_epraccur, read_list_sizes, read_practice_lsoa, sub_icb_layout
    from geodata.ons import read_imd, read_lsoa_centroids
    from geodata.practices import load_hospitals, load_practices
    from geodata.settings import data_dir as default_data_dir

    started = time.perf_counter()
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    paths = national_paths(root, files=files, compare_pcn=compare_pcn)
    for role, path in paths.items():
        if not (role in FOLDER_ROLES and path.is_dir()):  # the reader checks a folder's files
            require_file(path, what=f"{role} file")
    list_sizes = read_list_sizes(paths["list_sizes"])
    area = SUB_ICB_WORDS if sub_icb_layout(list_sizes) else CCG_WORDS
    if ccgs is not None:
        _check_ccgs(ccgs, list_sizes, file=paths["list_sizes"], area=area)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        practices = load_practices(
            root,
            epraccur_path=paths["epraccur"],
            list_sizes_path=paths["list_sizes"],
            nhs_choices_path=paths["nhs_choices"],
            codepoint_path=paths["codepoint"],
            codepoint_headers_path=paths.get("codepoint_headers"),
            land_path=paths.get("land"),
        )
    for w in caught:  # the practices left out are listed in ``left_out`` instead
        if not issubclass(w.category, DataWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            logger.info("%s", w.message)
    universe = read_epraccur(paths["epraccur"])[["practice_code", "name"]].merge(
        list_sizes[["practice_code", "ccg_code", "list_size"]], on="practice_code"
    )
    left_out = universe.loc[~universe["practice_code"].isin(practices["practice_code"])].copy()
    left_out["reason"] = (
        f"no coordinates: none usable in {paths['nhs_choices'].name} and postcode not in "
        f"{paths['codepoint'].name}; cannot be placed, so left out of planning"
    )
    hospitals = load_hospitals(root, sector="NHS", hospitals_path=paths["hospitals"])
    registrations = read_practice_lsoa(paths["registrations"])
    centroids = read_lsoa_centroids(paths["centroids"])
    if ccgs is not None:
        wanted = {str(c) for c in ccgs}
        practices = practices.loc[practices["ccg_code"].isin(wanted)].reset_index(drop=True)
        left_out = left_out.loc[left_out["ccg_code"].isin(wanted)]
    if LSOA_LOOKUP_ROLE in paths:  # to the centroids' LSOA vintage, as a scenario build does
        registrations = carry_registrations(
            registrations,
            practices["practice_code"],
            file=paths["registrations"],
            lookup_file=paths[LSOA_LOOKUP_ROLE],
            centroids=centroids,
            imd=(paths[LOOKUP_POPULATION_ROLE], read_imd(paths[LOOKUP_POPULATION_ROLE])),
        )
    check_registration_lsoas(
        registrations,
        registrations.loc[isin(registrations["practice_code"], practices["practice_code"])],
        file=paths["registrations"],
        lsoa_files={"centroids": (paths["centroids"], centroids)},
        give=give,
        lookup=LSOA_LOOKUP_ROLE,
    )
    by_ccg = registrations_by_ccg(registrations, practices)
    no_rows = registrations.iloc[:0]
    subproblems = []
    for code, group in practices.groupby("ccg_code", sort=True):
        subproblems.append(
            ccg_subproblem(
                str(code),
                group,
                hospitals,
                by_ccg.get(str(code), no_rows),
                centroids,
                floor=floor,
                hospitals_within_m=hospitals_within_m,
                largest_practices=largest_practices,
                detour_factor=detour_factor,
                speed_kph=speed_kph,
                area=area,
            )
        )
    unregistered = [s.ccg_code for s in subproblems if len(by_ccg.get(s.ccg_code, no_rows)) == 0]
    if unregistered:  # each of their practices from its own location: said, not a failure of the run
        logger.warning(
            "%s: no row for any practice of %d %s: %s; their practices' travel times are from each practice's own "
            "location, not patient-weighted over LSOAs",
            paths["registrations"],
            len(unregistered),
            area.one if len(unregistered) == 1 else area.many,
            few(unregistered),
        )
    small = sum(1 for s in subproblems if not s.solvable)
    logger.info(
        "%d %s, %d practice(s); %d below the floor; %d practice(s) left out (no coordinates)",
        len(subproblems),
        area.many,
        len(practices),
        small,
        len(left_out),
    )
    return NationalInput(
        subproblems=tuple(subproblems),
        practices=gpd.GeoDataFrame(
            practices[["practice_code", "name", "ccg_code", "list_size", "geometry"]], geometry="geometry", crs=BNG
        ),
        left_out=left_out[["practice_code", "name", "ccg_code", "list_size", "reason"]].reset_index(drop=True),
        floor=float(floor),
        travel_label=national_travel_label(
            subproblems, unregistered, detour_factor=detour_factor, speed_kph=speed_kph, area=area
        ),
        input_files={str(p): d for p in paths.values() if (d := input_digest(p, cache=False)) is not None},
        load_s=time.perf_counter() - started,
        data_files={role: str(p) for role, p in paths.items()},
        area=area,
    )
