"""From the files a scenario names to a :class:`~catchment.problem.Problem`.

:func:`build_from_scenario` reads the real published files a scenario names (through
:mod:`geodata`), selects the study area, gathers candidate hub sites, computes travel
times (road network, user matrix or crow-fly estimate) and returns a :class:`BuiltProblem`.
This is the application side of :mod:`catchment`: the domain (problem, plan, rules,
validation, metrics) never reads a file. The pieces have modules of their own:

* :mod:`catchment.frames` — :func:`problem_from_frames`, the general constructor from
  GeoDataFrames, and :class:`BuiltProblem`;
* :mod:`catchment.readers` — a user's own units, sites and hub options files;
* :mod:`catchment.adjacency` — contiguity of LSOA polygons and the area hosting each site;
* :mod:`catchment.travel` — travel minutes of units to sites (practices: patient-weighted);
* :mod:`catchment.build_cache` — the on-disk cache of built problems;
* :mod:`catchment.demo` — the built-in demo district (:func:`build_demo`).

Their public names are importable from here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from catchment.adjacency import area_links, lsoa_adjacency
from catchment.build_cache import BUILD_CACHE_NAMESPACE, BuiltData, build_and_store, build_cache_key, load_built_data
from catchment.demo import build_demo
from catchment.frames import BuiltProblem, default_options, problem_from_frames
from catchment.plan import share_words
from catchment.problem import DroppedUnit
from catchment.readers import SITE_COLUMNS, read_options_file, read_sites_file, read_units_file
from catchment.scenario import LSOA_LOOKUP_ROLE, REGISTRATIONS_FILE, Scenario, UnitsSpec
from catchment.territories import TERRITORY_COLUMN, PracticeLinks, practice_links
from catchment.travel import check_matrix_covers_practices, practice_travel, scenario_travel
from geodata import tables as v
from geodata.boundaries import LSOA_CODE_FORM, VINTAGE_NOTE, Vintage, lsoa21_codes, lsoa_vintage
from geodata.errors import DataProblem, InputDataError, ProblemDefinitionError, ScenarioError, UnknownCodeError
from geodata.nhs import PUBLISHED_PRACTICE
from geodata.settings import BNG
from geodata.tables import isin

__all__ = [
    "BUILD_CACHE_NAMESPACE",
    "BuiltProblem",
    "problem_from_frames",
    "build_from_scenario",
    "check_registration_lsoas",
    "carry_registrations",
    "unread_data_roles",
    "lsoa_adjacency",
    "practice_travel",
    "default_options",
    "build_demo",
    "read_sites_file",
    "read_options_file",
    "read_units_file",
]

logger = logging.getLogger(__name__)

#: Share of the practices' registered patients below which the build warns that their travel
#: times represent too few of them (the rest live where no travel time is measured).
REPRESENTED_SHARE = 0.9


# ---------------------------------------------------------------------------- scenario
#: Columns of the frame of units left out of the selection (``BuiltData.dropped``).
_DROPPED_COLUMNS = ("unit_id", "name", "population", "reason")


def build_from_scenario(scenario: Scenario, *, data_dir: str | Path | None = None, cache: bool = True) -> BuiltProblem:
    """Read the data a scenario names and build its problem.

    What is built from the data files (units, sites, hub options, travel times, adjacency,
    map layers) is cached on disk (:mod:`geodata.cache`, namespace ``built``). The entry
    is found from the scenario's data-related content (``[units]``, ``[sites]``,
    ``[travel]``, ``[data]``, ``[rules] boundaries`` and, for practices,
    ``[rules] contiguity``), the data folder and a fingerprint of the building code (the
    ``geodata`` and ``catchment`` sources and the versions of the libraries they use); it
    is used only when every file (or folder, such as Code-Point Open unpacked) it was built
    from still has the same content (SHA-256; see :func:`geodata.cache.input_digest`). The rules and the
    objective are not part of the entry: the problem is assembled with the scenario's own.
    Warnings raised and messages logged at WARNING or above while the data were read are
    stored with the entry and raised or logged again when it is used; a damaged entry is
    rebuilt.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`catchment.scenario.read_scenario`).
    data_dir
        Folder of the real data; :func:`geodata.settings.data_dir` by default.
    cache
        Use and fill the cache (``$CATCHMENT_CACHE_DIR`` or ``~/.cache/catchment``).
        ``False`` reads every file and writes nothing to the cache folder.

    Returns
    -------
    BuiltProblem

    Raises
    ------
    MissingFileError, InputDataError
        Unreadable or inconsistent input files (file, row and column named).
    ProblemDefinitionError
        Rules that contradict the data (e.g. a required site that is not a candidate).
    """
    from geodata.settings import data_dir as default_data_dir

    started = time.perf_counter()
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if cache:
        key = build_cache_key(scenario, root)
        data = load_built_data(key, scenario)
        if data is None:
            data = build_and_store(scenario, key, lambda: _build_data(scenario, root, cache=True))
    else:
        data = _build_data(scenario, root, cache=False)
    _check_waivers(scenario, data.units)
    try:
        problem = problem_from_frames(
            data.units,
            data.sites,
            data.options,
            data.minutes,
            unit_type=scenario.units.type,
            rules=scenario.rules,
            objective=scenario.objective,
            travel_source=data.travel_source,
            travel_label=data.description,
            group_column=data.group_column,
            adjacency=data.adjacency,
            site_unit=data.site_unit,
            dropped=[
                DroppedUnit(str(unit), str(name), float(population), str(reason))
                for unit, name, population, reason in zip(
                    data.dropped["unit_id"],
                    data.dropped["name"],
                    data.dropped["population"].astype(float),
                    data.dropped["reason"],
                    strict=True,
                )
            ],
        )
    except ProblemDefinitionError as exc:  # the rules or objective against the data: name the scenario
        raise ProblemDefinitionError([f"{scenario.where}: {p}" for p in exc.problems]) from None
    return BuiltProblem(
        problem=problem,
        units=data.units,
        sites=data.sites,
        areas=data.areas,
        registrations=data.registrations,
        boundaries=data.boundaries,
        travel_description=data.description,
        input_files={path: digest for path, digest in data.inputs.items() if digest is not None},
        load_s=time.perf_counter() - started,
    )


def _check_waivers(scenario: Scenario, units: pd.DataFrame) -> None:
    """``[rules.waivers]`` must name units of the selection (a scenario error naming the file and key)."""
    known = set(units["unit_id"].astype(str))
    unknown = [unit for unit in scenario.rules.waivers if unit not in known]
    if unknown:
        where = scenario.where
        raise ScenarioError(
            [f"{where}: [rules.waivers] names unknown units: {v.few(map(repr, unknown))} (not units of the selection)"]
        )


def unread_data_roles(scenario: Scenario) -> list[str]:
    """The ``[data]`` roles a scenario gives whose files its build never reads.

    Always read: ``land`` and ``lad_boundaries``; ``hospitals`` with ``[sites]
    hospitals_within_m``; the practice files for practice units selected from the published
    data or for ``[sites] largest_practices``; the LSOA files for LSOA units (practice units
    read the centroids, IMD scores and boundaries of the LSOAs where their patients live,
    the ``registrations`` and the ``lsoa_lookup`` that carries them to the centroids' LSOA
    vintage); ``pcn_mapping`` for practice units (today's PCNs).
    """
    from geodata import ons  # local: heavy modules
    from geodata import practices as gp_practices

    units, sites = scenario.units, scenario.sites
    published = not units.file
    read = {"land", "lad_boundaries"}
    if sites.hospitals_within_m is not None:
        read.add("hospitals")
    if (published and units.type == "practice") or sites.largest_practices:
        read |= set(gp_practices.PRACTICE_FILES) - {"hospitals"}
    if published and units.type == "lsoa":
        read |= set(ons.LSOA_FILES)
    if published and units.type == "practice":
        read |= (set(ons.LSOA_FILES) - {"population"}) | {"registrations", LSOA_LOOKUP_ROLE}
    if units.type == "practice":
        read.add("pcn_mapping")
    return [role for role in scenario.data if role not in read]


def _warn_unread_roles(scenario: Scenario) -> None:
    unread = unread_data_roles(scenario)
    if unread:
        units = scenario.units
        what = "units from [units] file" if units.file else f'type = "{units.type}" units'
        logger.warning(
            "%s: [data] %s not read by this scenario (%s, [sites] hospitals_within_m%s, largest_practices = %d): "
            "the file(s) given there are not used",
            scenario.where,
            f"{', '.join(unread)} {'is' if len(unread) == 1 else 'are'}",
            what,
            " = false" if scenario.sites.hospitals_within_m is None else f" = {scenario.sites.hospitals_within_m:g}",
            scenario.sites.largest_practices,
        )


def _build_data(scenario: Scenario, root: Path, *, cache: bool) -> BuiltData:
    """Read the files a scenario names and compute what its problem is made of."""
    from geodata import ons  # local: heavy modules
    from geodata import practices as gp_practices
    from geodata.cache import input_digest
    from geodata.nhs import read_practice_lsoa

    _warn_unread_roles(scenario)

    files: dict[str, Path] = {}

    def role(name: str, default: str) -> Path:
        path = scenario.resolve(scenario.data.get(name, default), root)
        files[name] = path
        return path

    spec = scenario.units
    lsoa_paths = {k: role(k, v) for k, v in ons.LSOA_FILES.items()}
    prac_paths = {k: role(k, v) for k, v in gp_practices.PRACTICE_FILES.items()}
    land = prac_paths["land"]
    polygon = _read_polygon(scenario.resolve(spec.polygon, root)) if spec.polygon else None
    if spec.polygon:
        files["units_polygon"] = scenario.resolve(spec.polygon, root)

    practices_frame = None
    registrations = None
    links: PracticeLinks | None = None
    dropped = pd.DataFrame(columns=list(_DROPPED_COLUMNS))
    try:
        if spec.file:
            path = scenario.resolve(spec.file, root)
            files["units"] = path
            units = read_units_file(path, land=land)
            area_geom = shapely.convex_hull(units.geometry.union_all()).buffer(500.0)
            origin_points = units.geometry
            origin_ids = list(units["unit_id"])
            areas = None
        elif spec.type == "lsoa":
            lsoas = ons.load_lsoas(
                root,
                lad=spec.lad,
                bbox=spec.bbox,
                polygon=polygon,
                boundaries_path=lsoa_paths["boundaries"],
                population_path=lsoa_paths["population"],
                imd_path=lsoa_paths["imd"],
                centroids_path=lsoa_paths["centroids"],
                land_path=land,
                lad_boundaries_path=prac_paths["lad_boundaries"],
            )
            if len(lsoas) == 0:
                raise InputDataError([DataProblem(str(lsoa_paths["boundaries"]), "the selection contains no LSOAs")])
            units = lsoas.rename(columns={"lsoa_code": "unit_id"}).reset_index(drop=True)
            units.insert(0, "unit_id", units.pop("unit_id"))
            share = _share_60_plus(ons.read_imd(lsoa_paths["imd"]))
            units["population_60_plus"] = units["population"] * units["unit_id"].map(share)
            area_geom = units.geometry.union_all()
            origin_points = gpd.GeoSeries(gpd.points_from_xy(units["centroid_x"], units["centroid_y"]), crs=BNG)
            origin_ids = list(units["unit_id"])
            areas = units
        else:
            codes, codes_label = _mapped_practices(spec, role)
            practices_frame, unplaced = gp_practices.load_practices(
                root,
                ccg=spec.ccg,
                lad=spec.lad,
                bbox=spec.bbox,
                polygon=polygon,
                practice_codes=codes,
                codes_label=codes_label,
                return_dropped=True,
                epraccur_path=prac_paths["epraccur"],
                list_sizes_path=prac_paths["list_sizes"],
                nhs_choices_path=prac_paths["nhs_choices"],
                lad_boundaries_path=prac_paths["lad_boundaries"],
                codepoint_path=prac_paths["codepoint"],
                codepoint_headers_path=_codepoint_headers(scenario, prac_paths),
                land_path=land,
            )
            dropped = pd.DataFrame(
                {
                    "unit_id": unplaced["practice_code"].astype(str),
                    "name": unplaced["name"].astype(str),
                    "population": unplaced["list_size"].astype(float),
                    "reason": unplaced["reason"].astype(str),
                },
                columns=list(_DROPPED_COLUMNS),
            )
            if len(practices_frame) == 0:
                raise InputDataError(
                    [DataProblem(str(prac_paths["epraccur"]), "the selection contains no open GP practices")]
                )
            units = practices_frame.rename(columns={"practice_code": "unit_id", "list_size": "population"})
            units = units.reset_index(drop=True)
            reg_path = role("registrations", REGISTRATIONS_FILE)
            every_registration = read_practice_lsoa(reg_path)
            require_registrations(every_registration, units["unit_id"], file=reg_path)
            every_centroid = ons.read_lsoa_centroids(lsoa_paths["centroids"], land=land)
            imd = ons.read_imd(lsoa_paths["imd"])
            if LSOA_LOOKUP_ROLE in scenario.data:
                every_registration = carry_registrations(
                    every_registration,
                    units["unit_id"],
                    file=reg_path,
                    lookup_file=role(LSOA_LOOKUP_ROLE, ""),
                    centroids=every_centroid,
                    imd=(lsoa_paths["imd"], imd),
                )
            registrations = every_registration.loc[isin(every_registration["practice_code"], units["unit_id"])]
            registrations = registrations.reset_index(drop=True)
            centroids = every_centroid.loc[isin(every_centroid["lsoa_code"], registrations["lsoa_code"])]
            centroids = centroids.reset_index(drop=True)
            origin_points = centroids.geometry
            origin_ids = list(centroids["lsoa_code"])
            units["imd_score"] = _practice_imd(units["unit_id"], registrations, imd)
            reg = registrations.assign(
                s=registrations["lsoa_code"].map(_share_60_plus(imd)) * registrations["patients"]
            )
            sums = reg.dropna(subset="s").groupby("practice_code")[["s", "patients"]].sum()
            share = (sums["s"] / sums["patients"]).reindex(units["unit_id"].to_numpy())
            units["population_60_plus"] = units["population"].to_numpy() * share.fillna(share.mean()).to_numpy()
            area_geom = shapely.convex_hull(units.geometry.union_all()).buffer(500.0)
            # areas for maps: the London LSOAs where these practices' patients live
            boundaries = ons.read_lsoa_boundaries(lsoa_paths["boundaries"])
            check_registration_lsoas(
                every_registration,
                registrations,
                file=reg_path,
                lsoa_files={
                    "centroids": (lsoa_paths["centroids"], every_centroid),
                    "boundaries": (lsoa_paths["boundaries"], boundaries),
                    "imd": (lsoa_paths["imd"], imd),
                },
                give="[data]",
                lookup=LSOA_LOOKUP_ROLE,
            )
            areas = boundaries.loc[isin(boundaries["lsoa_code"], registrations["lsoa_code"])].reset_index(drop=True)
            if scenario.rules.contiguity:
                links = practice_links(units, every_registration, boundaries)
                logger.info("contiguity of practices: %s", links.note)
                if links.territories is not None:
                    areas = areas.assign(**{TERRITORY_COLUMN: areas["lsoa_code"].map(links.territories.owner)})
                    extra = boundaries.loc[
                        ~isin(boundaries["lsoa_code"], areas["lsoa_code"])
                        & isin(boundaries["lsoa_code"], list(links.territories.owner))
                    ]
                    if len(extra):  # a site's LSOA where no selected practice has patients (rule 3)
                        extra = extra.assign(**{TERRITORY_COLUMN: extra["lsoa_code"].map(links.territories.owner)})
                        areas = pd.concat([areas, extra], ignore_index=True)
    except UnknownCodeError as exc:  # name the scenario key, not only the data file
        where = scenario.where
        raise ScenarioError([f"{where}: [units] {exc.kind}: {exc.describe()} ({exc.problems[0].file})"]) from None

    sites = _gather_sites(scenario, root, units, practices_frame, area_geom, files, spec.type)
    options = _gather_options(scenario, root, sites, files)

    # -- travel times
    by_registrations = registrations is not None
    patients_in = None
    if registrations is not None:  # the practices' patients living in each origin LSOA
        patients_in = registrations.groupby("lsoa_code")["patients"].sum().reindex(origin_ids).fillna(0.0).to_numpy()
    description, source, matrix, fallback, area_ok, per_unit = scenario_travel(
        scenario,
        root,
        files,
        origin_ids,
        origin_points,
        sites,
        units if by_registrations else None,
        origin_weights=patients_in,
    )
    if by_registrations and per_unit:
        minutes = matrix  # a matrix keyed by practice code: used as it is
        units["registrations_covered"] = 0.0
    elif registrations is not None:
        if area_ok is not None and fallback is None:
            check_matrix_covers_practices(files["travel_matrix"], units, registrations, origin_ids, area_ok)
        minutes, covered = practice_travel(
            list(units["unit_id"]), registrations, origin_ids, matrix, fallback_minutes=fallback, area_ok=area_ok
        )
        units["registrations_covered"] = covered
        represented = float((covered * units["population"]).sum() / units["population"].sum())
        logger.log(
            logging.INFO if represented >= REPRESENTED_SHARE else logging.WARNING,
            "practice travel: patient-weighted over %d LSOAs; %s of registered patients represented%s",
            len(origin_ids),
            share_words(represented),
            ""
            if represented >= REPRESENTED_SHARE
            else " (the others live in LSOAs without a centroid, beyond [travel] max_snap_m of the road network or "
            "missing from the matrix: each practice's travel is the mean over the rest, or from its own site when "
            "none is left)",
        )
    else:
        minutes = matrix

    lad = ons.read_lad_boundaries(prac_paths["lad_boundaries"])  # outlines, and each unit's borough
    group_column = None
    if scenario.boundaries == "lad":
        if "lad_code" not in units.columns:
            units["lad_code"] = _lad_of_points(units, lad, file=prac_paths["lad_boundaries"])
        if spec.type == "lsoa" and not spec.file:
            _check_lsoa_lads(units, boundaries=lsoa_paths["boundaries"], lad_boundaries=prac_paths["lad_boundaries"])
        group_column = "lad_code"
    elif scenario.boundaries == "ccg":
        if "ccg_code" not in units.columns:
            raise ProblemDefinitionError(['[rules] boundaries = "ccg" needs practice units (CCG codes)'])
        group_column = "ccg_code"

    adjacency, site_unit = area_links(units.reset_index(drop=True), sites.reset_index(drop=True), spec.type)
    if links is not None:
        adjacency = links.adjacency
    near = lad.loc[lad.intersects(shapely.buffer(area_geom, 1000.0))].reset_index(drop=True)
    inputs = {str(p): input_digest(p, cache=cache) for p in sorted(set(files.values()), key=str)}
    return BuiltData(
        units=units,
        sites=sites,
        options=options,
        minutes=np.asarray(minutes, dtype=float),
        travel_source=source,
        description=description,
        group_column=group_column,
        areas=areas,
        registrations=registrations,
        boundaries=near,
        adjacency=adjacency,
        site_unit=site_unit,
        dropped=dropped,
        inputs=inputs,
    )


def carry_registrations(
    every: pd.DataFrame,
    practice_codes: pd.Series,
    *,
    file: Path,
    lookup_file: Path,
    centroids: pd.DataFrame,
    imd: tuple[Path, pd.DataFrame],
) -> pd.DataFrame:
    """Registrations carried to the centroids' LSOA vintage with ONS's LSOA lookup, when theirs differs.

    Codes with one partner of the centroids' vintage in the lookup map exactly; the patients
    of a code with several (for 2021 registrations, a 2021 LSOA merged from or redrawn
    across several 2011 LSOAs) are apportioned among them by their populations
    (``population_total`` of the IMD file, when it is of the centroids' vintage; else in
    equal parts), an estimate the log gives the size of for the selected practices.

    Parameters
    ----------
    every
        Every practice's registrations as read (:func:`geodata.nhs.read_practice_lsoa`).
    practice_codes
        The selected practices: the log's counts are of their patients.
    file
        The registrations file.
    lookup_file
        ONS's LSOA (2011) to LSOA (2021) lookup (:func:`geodata.lookup.read_lsoa_lookup`).
    centroids
        The LSOA centroids as read: the vintage to carry the registrations to.
    imd
        The IMD file and its table as read (:func:`geodata.ons.read_imd`): the populations.

    Returns
    -------
    pandas.DataFrame
        ``every`` as it is when its vintage is the centroids' (or either is unknown), else
        carried (:func:`geodata.lookup.registrations_to_vintage`).
    """
    from geodata.lookup import read_lsoa_lookup, registrations_to_vintage

    v.require_file(lookup_file, what="LSOA lookup")  # named by the user: there, even when not needed
    ours, theirs = lsoa_vintage(every), lsoa_vintage(centroids)
    if not ours.differs(theirs) or theirs.year is None:  # (differs: both years known; the second, for typing)
        logger.info(
            "%s: of %s, the centroids of %s: the %s file %s is not read",
            file.name,
            ours,
            theirs,
            LSOA_LOOKUP_ROLE,
            lookup_file.name,
        )
        return every
    lookup = read_lsoa_lookup(lookup_file)
    imd_file, imd_table = imd
    by_population = "population_total" in imd_table and not lsoa_vintage(imd_table).differs(theirs)
    population = (
        pd.Series(imd_table["population_total"].to_numpy(dtype=float), index=imd_table["lsoa_code"].to_numpy())
        if by_population
        else pd.Series(dtype=float)
    )
    carried = registrations_to_vintage(every, lookup, year=theirs.year, population=population)
    out = carried.registrations
    mine = isin(out["practice_code"], practice_codes).to_numpy()
    total = float(out.loc[mine, "patients"].sum())
    estimated = carried.apportioned.loc[mine]
    logger.info(
        "%s: registrations of %s carried to LSOA %d with %s: of the selected practices' %s patients, %s (%s) "
        "live in %d LSOAs that the lookup maps to several %d LSOAs (merged, split or redrawn) and are apportioned "
        "among %s of them %s (an estimate); the others map exactly",
        file.name,
        ours,
        theirs.year,
        lookup_file.name,
        f"{total:,.0f}",
        f"{float(estimated.sum()):,.0f}",
        share_words(float(estimated.sum()) / max(total, 1.0)),
        ours.year,
        theirs.year,
        f"{out.loc[mine].loc[(estimated > 0).to_numpy(), 'lsoa_code'].nunique():,}",
        f"by their populations in {imd_file.name}"
        if by_population
        else f"in equal parts (no populations of LSOA {theirs.year} in {imd_file.name})",
    )
    return out


#: Each LSOA file a practice problem reads: what it gives an LSOA, and what the patients of
#: an LSOA missing from it are left out of.
_LSOA_FILE_USE: dict[str, tuple[str, str]] = {
    "centroids": ("centroid", "the practices' travel means"),
    "boundaries": ("boundary", "the map's areas and contiguity territories"),
    "imd": ("IMD score", "the practices' IMD scores and shares aged 60 and over"),
}


def require_registrations(every: pd.DataFrame, practice_codes: pd.Series, *, file: Path) -> None:
    """Raise when no selected practice has a row in the registrations.

    A practice without registration rows has its travel from its own location (see the
    README); when none has any, the file is not of these practices (another area's, say) and
    every travel time, IMD score and share aged 60 and over would rest on nothing.

    Parameters
    ----------
    every
        The registrations as read (:func:`geodata.nhs.read_practice_lsoa`).
    practice_codes
        The selected practices.
    file
        The registrations file.

    Raises
    ------
    InputDataError
        Naming the file, its practice code column, and a few codes of each side.
    """
    if isin(practice_codes, every["practice_code"]).any():
        return
    selected = sorted(set(practice_codes.astype(str)))
    theirs = sorted(set(every["practice_code"]))
    raise InputDataError(
        [
            DataProblem(
                str(file),
                f"none of the {len(selected):,} selected practices appear in it; selected: {v.few(selected, 5)}; "
                f"in the file ({len(theirs):,} practice code(s)): {v.few(theirs, 5)}; give the registrations of "
                "the selected practices",
                column=every.attrs.get(PUBLISHED_PRACTICE, "practice code"),
            )
        ]
    )


def check_registration_lsoas(
    every: pd.DataFrame,
    selected: pd.DataFrame,
    *,
    file: Path,
    lsoa_files: dict[str, tuple[Path, pd.DataFrame]],
    give: str | None = None,
    lookup: str | None = None,
) -> None:
    """Warn when the selected practices' patients live in LSOAs the LSOA files in use lack.

    Every LSOA code (:data:`geodata.boundaries.LSOA_CODE_FORM`; not placeholders such as
    ``NO2011``) missing from the centroid file is named: those patients are left out of the
    travel means. Codes missing from the boundary or IMD file are named only when that file
    is of another LSOA vintage than the registrations (:func:`geodata.boundaries.lsoa_vintage`):
    a London boundary file lacks, by design, the LSOAs beyond London where some patients live
    (the contiguity note names those). When the vintages differ, the warning says so and
    which files to give, by their data roles.

    Parameters
    ----------
    every
        Every practice's registrations as read (their vintage: column name or codes).
    selected
        The selected practices' registrations.
    file
        The registrations file.
    lsoa_files
        Role (a key of :data:`_LSOA_FILE_USE`) -> (file, table with ``lsoa_code``) as read.
    give
        How the user gives a file for a role, put before the roles in the advice:
        ``"[data]"`` for a scenario's table, a command-line option. By default the advice
        names the roles' files ("give the centroids file of LSOA 2021").
    lookup
        The role of ONS's LSOA (2011) to LSOA (2021) lookup (:data:`catchment.scenario.LSOA_LOOKUP_ROLE`),
        named as ``give`` names the roles, as the other way out when the centroids are of
        another vintage (:func:`carry_registrations`); ``None`` when the caller reads no lookup.
    """
    patients = selected.groupby("lsoa_code")["patients"].sum()
    codes = pd.Series(patients.index.astype(str), index=patients.index)
    is_lsoa = codes.str.fullmatch(LSOA_CODE_FORM).to_numpy(dtype=bool)
    total = float(patients.sum())
    vintage = lsoa_vintage(every)
    gaps: dict[tuple[str, ...], list[str]] = {}  # missing codes -> the roles lacking them
    clashing: dict[str, Vintage] = {}
    for role, (_, table) in lsoa_files.items():
        theirs = lsoa_vintage(table)
        if not vintage.differs(theirs) and role != "centroids":
            continue
        missing = is_lsoa & ~isin(codes, table["lsoa_code"]).to_numpy()
        if vintage.differs(theirs):
            clashing[role] = theirs
            if role != "centroids" and vintage.year == 2021:
                missing &= lsoa21_codes(codes)  # those the vintage explains, not LSOAs beyond the file's area
            elif (
                role == "boundaries"
                and "centroids" in lsoa_files
                and not vintage.differs(lsoa_vintage(lsoa_files["centroids"][1]))
            ):  # 2011 codes located by their own centroids: those within the file's area
                missing &= _centroid_within(codes, lsoa_files["centroids"][1], table)
        if missing.any():
            gaps.setdefault(tuple(codes[missing]), []).append(role)
    if not gaps:
        return
    parts = []
    for missing_codes, roles in gaps.items():
        gap = patients.loc[list(missing_codes)].sort_values(ascending=False, kind="stable")
        lacking = _and([f"no {_LSOA_FILE_USE[r][0]} in {lsoa_files[r][0].name}" for r in roles])
        parts.append(
            f"{len(gap):,} LSOA code(s) where {int(gap.sum()):,} of the selected practices' {int(total):,} patients "
            f"({share_words(float(gap.sum()) / max(total, 1.0))}) live have {lacking}, so those patients are left out "
            f"{_and([f'of {_LSOA_FILE_USE[r][1]}' for r in roles])}: {v.few(gap.index, 5)}"
        )
    advice = ""
    if clashing := {r: theirs for r, theirs in clashing.items() if any(r in roles for roles in gaps.values())}:
        others = _and([f"{lsoa_files[r][0].name} ({theirs.reason})" for r, theirs in clashing.items()])
        other_year = next(iter(clashing.values())).year
        files = _how_to_give(list(clashing), give)
        advice = (
            f". The registrations are of {vintage} while {others} {'is' if len(clashing) == 1 else 'are'} of LSOA "
            f"{other_year}; {VINTAGE_NOTE}: give {files} of LSOA {vintage.year} (code column "
            f"{vintage.code_column}), like the registrations"
        )
        if lookup is not None and "centroids" in clashing:
            advice += (
                f", or give {_how_to_give([lookup], give)}, ONS's LSOA (2011) to LSOA (2021) lookup, to carry the "
                f"registrations to LSOA {other_year}"
            )
    logger.warning("%s: %s%s", file, "; ".join(parts), advice)


def _centroid_within(codes: pd.Series, centroids: pd.DataFrame, areas: pd.DataFrame) -> np.ndarray:
    """Mask of ``codes`` whose centroid (``centroids``, by ``lsoa_code``) lies in one of ``areas``' polygons.

    A code without a centroid, or a table without geometry, is not within.
    """
    inside = np.zeros(len(codes), dtype=bool)
    if "geometry" not in centroids or "geometry" not in areas or not len(areas):
        return inside
    points = pd.Series(np.asarray(centroids.geometry.array, dtype=object), index=centroids["lsoa_code"].to_numpy())
    found = codes.map(points.to_dict())
    known = np.flatnonzero(found.notna().to_numpy())
    if known.size:
        hit, _ = shapely.STRtree(np.asarray(areas.geometry.array)).query(found.to_numpy()[known], predicate="within")
        inside[known[hit]] = True
    return inside


def _how_to_give(roles: list[str], give: str | None) -> str:
    """How the advice names the files of ``roles``: ``"[data] centroids"`` (``give``), else ``"the centroids file"``."""
    named = _and(roles)
    return f"{give} {named}" if give is not None else f"the {named} file{'s' if len(roles) > 1 else ''}"


def _and(items: list[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _mapped_practices(spec: UnitsSpec, role: Callable[[str, str], Path]) -> tuple[list[str] | None, str]:
    """Practice codes of ``[units] stp`` / ``pcn`` from the practice-to-PCN mapping (``None``: not asked)."""
    if not (spec.stp or spec.pcn):
        return None, ""
    from geodata.pcn import PCN_MAPPING_FILE, practices_of, read_pcn_mapping

    path = role("pcn_mapping", PCN_MAPPING_FILE)
    codes = practices_of(read_pcn_mapping(path), stp=spec.stp, pcn=spec.pcn, file=path)
    label = ", ".join(
        [*([f"STP {spec.stp}"] if spec.stp else []), *([f"PCN {', '.join(spec.pcn)}"] if spec.pcn else [])]
    )
    return codes, label


def _read_polygon(path: Path) -> gpd.GeoDataFrame:
    """The ``[units] polygon`` file (missing, damaged or CRS-less files are errors naming it)."""
    return v.read_vector(path, what="selection polygon file")


def _practice_imd(practice_ids: pd.Series, registrations: pd.DataFrame, imd: pd.DataFrame) -> np.ndarray:
    """Patient-weighted mean IMD score of the areas where each practice's patients live."""
    reg = registrations.merge(imd[["lsoa_code", "imd_score"]], on="lsoa_code", how="inner")
    reg = reg.assign(w=reg["patients"] * reg["imd_score"])
    sums = reg.groupby("practice_code")[["w", "patients"]].sum()
    score = (sums["w"] / sums["patients"]).reindex(practice_ids.to_numpy())
    return score.fillna(score.mean()).to_numpy(dtype=float)


def _share_60_plus(imd: pd.DataFrame) -> pd.Series:
    """Share of residents aged 60 and over by LSOA code (IMD 2019 populations; empty without them).

    A unit's population aged 60+ is its population x this share: of its own LSOA, or for a
    practice the patient-weighted mean share of the LSOAs where its patients live (practices
    with none of those LSOAs get the mean share of the others).
    """
    if not {"population_60_plus", "population_total"} <= set(imd.columns):
        return pd.Series(dtype=float)
    total = imd["population_total"].where(imd["population_total"] > 0)
    return pd.Series((imd["population_60_plus"] / total).to_numpy(), index=imd["lsoa_code"].to_numpy())


def _lad_of_points(units: gpd.GeoDataFrame, lad: gpd.GeoDataFrame, *, file: Path) -> np.ndarray:
    """The LAD (borough) of each unit's point, for ``boundaries = "lad"``.

    The boundary that covers the point; a point in no boundary (generalised coastlines and
    estuaries leave some real practices just outside) takes the nearest boundary within
    :data:`geodata.select.LAND_TOLERANCE_M`, the tolerance of the land check. Farther than
    that is an error naming the units and the file (never a distant borough: the file may
    not cover the study area at all). A point on the line between two boroughs takes the
    first in the file's order.
    """
    from geodata.select import LAND_TOLERANCE_M

    points = units[["unit_id", "geometry"]]
    joined = gpd.sjoin(points, lad[["lad_code", "geometry"]], how="left", predicate="covered_by")
    joined = joined[~joined.index.duplicated(keep="first")].reindex(units.index)
    codes = joined["lad_code"].to_numpy(dtype=object)
    outside = pd.isna(codes)
    if outside.any():
        near = gpd.sjoin_nearest(
            points.loc[outside], lad[["lad_code", "geometry"]], how="left", max_distance=LAND_TOLERANCE_M
        )
        near = near[~near.index.duplicated(keep="first")].reindex(points.index[outside])
        codes[outside] = near["lad_code"].to_numpy(dtype=object)
        outside = pd.isna(codes)
    if outside.any():
        names = units["name"] if "name" in units.columns else units["unit_id"]
        raise InputDataError(
            [
                DataProblem(
                    str(file),
                    f'[rules] boundaries = "lad": unit {u} ({n}) lies in no boundary of this file, nor within '
                    f"{LAND_TOLERANCE_M / 1000:g} km of one; give a LAD boundary file that covers the study area in "
                    "[data] lad_boundaries",
                    column="lad_code",
                )
                for u, n in zip(units["unit_id"].to_numpy()[outside], names.to_numpy()[outside], strict=True)
            ]
        )
    return codes.astype(str)


def _codepoint_headers(scenario: Scenario, files: dict[str, Path]) -> Path | None:
    """The Code-Point Open headers file the scenario names in [data], else ``None``.

    ``None`` lets :func:`geodata.practices.load_practices` take the default file when it is
    there, else the Code-Point zip's own headers file (or the documented layout), so that a
    data folder holding the zip as published needs no headers file beside it.
    """
    return files["codepoint_headers"] if "codepoint_headers" in scenario.data else None


def _check_lsoa_lads(units: pd.DataFrame, *, boundaries: Path, lad_boundaries: Path) -> None:
    """Raise naming every LSOA unit without a LAD for ``boundaries = "lad"`` (never one borough of them all).

    An LSOA boundary file without LAD columns takes each LSOA's LAD from the LAD boundary file
    (:func:`geodata.ons.load_lsoas`); an LSOA that overlaps none of its districts has none.
    """
    blank = units["lad_code"].astype(str).eq("").to_numpy()
    if blank.any():
        named = [
            f"{u} ({n})"
            for u, n in zip(units["unit_id"].to_numpy()[blank], units["name"].to_numpy()[blank], strict=True)
        ]
        raise InputDataError(
            [
                DataProblem(
                    str(lad_boundaries),
                    f'[rules] boundaries = "lad": {len(named):,} LSOA(s) have no LAD: {boundaries.name} names none, '
                    "and neither their names nor most of their areas lie in a LAD of this file; give a LAD boundary "
                    f"file that covers the study area in [data] lad_boundaries: {v.few(named)}",
                )
            ]
        )


def _gather_sites(
    scenario: Scenario,
    root: Path,
    units: gpd.GeoDataFrame,
    practices_frame: gpd.GeoDataFrame | None,
    area_geom: Any,
    files: dict[str, Path],
    unit_type: str,
) -> gpd.GeoDataFrame:
    from geodata import practices as gp_practices

    spec = scenario.sites
    parts: list[gpd.GeoDataFrame] = []
    if spec.hospitals_within_m is not None:
        hospitals = gp_practices.load_hospitals(
            root,
            polygon=gpd.GeoSeries([area_geom], crs=BNG),
            within_m=spec.hospitals_within_m,
            sector=spec.hospital_sector,
            hospitals_path=files["hospitals"],
        )
        parts.append(
            gpd.GeoDataFrame(
                {
                    "site_id": hospitals["site_id"].astype(str),
                    "name": hospitals["name"],
                    "site_type": "hospital",
                    "status": "candidate",
                },
                geometry=hospitals.geometry.to_numpy(),
                crs=BNG,
            )
        )
    if spec.largest_practices:
        if practices_frame is None:
            practices_frame = gp_practices.load_practices(
                root,
                polygon=gpd.GeoSeries([area_geom], crs=BNG),
                epraccur_path=files["epraccur"],
                list_sizes_path=files["list_sizes"],
                nhs_choices_path=files["nhs_choices"],
                lad_boundaries_path=files["lad_boundaries"],
                codepoint_path=files["codepoint"],
                codepoint_headers_path=_codepoint_headers(scenario, files),
                land_path=files["land"],
            )
        top = practices_frame.sort_values(["list_size", "practice_code"], ascending=[False, True]).head(
            spec.largest_practices
        )
        parts.append(
            gpd.GeoDataFrame(
                {
                    "site_id": top["practice_code"].astype(str),
                    "name": top["name"],
                    "site_type": "community",
                    "status": "candidate",
                },
                geometry=top.geometry.to_numpy(),
                crs=BNG,
            )
        )
    if spec.file:
        path = scenario.resolve(spec.file, root)
        files["sites"] = path
        parts.append(read_sites_file(path, land=files["land"]))
    sites = (
        pd.concat(parts, ignore_index=True)
        if parts
        else gpd.GeoDataFrame(columns=SITE_COLUMNS, geometry="geometry", crs=BNG)
    )
    sites = (
        gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG)
        .drop_duplicates("site_id", keep="last")
        .reset_index(drop=True)
    )
    known = set(sites["site_id"])
    where = scenario.where
    unknown = [
        f"{where}: [sites] {key} names site(s) that are not candidates: {', '.join(missing)}"
        for key, ids in (("required", spec.required), ("excluded", spec.excluded))
        if (missing := [s for s in ids if s not in known])
    ]
    if unknown:
        raise ScenarioError(unknown)
    conflicts = [
        f"{where}: [sites] {key} names {site!r}, which the sites file {files['sites']} marks {status}: "
        "remove one of the two"
        for key, ids, other in (("required", spec.required, "excluded"), ("excluded", spec.excluded, "required"))
        for site, status in zip(sites["site_id"], sites["status"], strict=True)
        if site in ids and status == other
    ]
    if conflicts:
        raise ScenarioError(conflicts)
    sites.loc[sites["site_id"].isin(spec.required), "status"] = "required"
    sites.loc[sites["site_id"].isin(spec.excluded), "status"] = "excluded"
    if len(sites) == 0:
        raise ProblemDefinitionError(["no candidate hub sites were found for this scenario"])
    logger.info(
        "%d candidate hub sites (%s)",
        len(sites),
        ", ".join(f"{k}: {v}" for k, v in sites["site_type"].value_counts().items()),
    )
    return sites


def _gather_options(scenario: Scenario, root: Path, sites: gpd.GeoDataFrame, files: dict[str, Path]) -> pd.DataFrame:
    from geodata.errors import MissingFileError

    if not scenario.sites.options_file:
        return default_options(sites, scenario.sites.options)
    path = scenario.resolve(scenario.sites.options_file, root)
    files["options"] = path
    if not path.is_file():
        raise MissingFileError(path, what="hub options file")
    options = read_options_file(path, known_sites=set(sites["site_id"]))
    offered = set(options["site_id"])
    usable = sites.loc[sites["status"] != "excluded", "site_id"]
    missing = [s for s in usable if s not in offered]
    if missing:
        where = scenario.where
        raise ScenarioError(
            [
                f"{where}: [sites] options_file {path} gives no hub option for {v.few(map(repr, missing))}: "
                "every usable site needs at least one (add rows for them, or list them in [sites] excluded)"
            ]
        )
    return options
