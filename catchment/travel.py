"""Travel minutes of planning units to hub sites, from the sources a scenario names.

Travel for practice units
-------------------------
A practice's travel time to a hub is the patient-weighted mean, over the small areas
(LSOAs) where its registered patients live, of the travel time from each area's
population-weighted centroid to the hub. A practice without registrations data falls back
to its own location. Areas too far from the road network (snap distance above the limit)
are left out of the mean and counted in the log.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from catchment.plan import share_words
from catchment.scenario import Scenario
from geodata import tables as v
from geodata.errors import DataProblem, InputDataError, ScenarioError
from geodata.snap import FAR_POINTS_WALK
from geodata.tables import isin

__all__ = ["practice_travel", "scenario_travel", "check_matrix_covers_practices", "check_network_covers"]

logger = logging.getLogger(__name__)

#: Share of the origins, or of the candidate sites, farther than :func:`uncovered_m` from the
#: road network above which the network is taken not to cover the selection: an error, not
#: a warning (their times would be mostly the walk to a distant road). Origins are counted by
#: their weight where they have one: the LSOAs of practice units by the practices' patients
#: living there (a practice at the edge of an extract has a few patients in many LSOAs
#: beyond it; they are left out of its mean, not a reason to refuse the network).
UNCOVERED_SHARE = 0.5
#: The least distance (metres) from the network at which a point counts as not covered,
#: whatever ``[travel] max_snap_m`` (which only says which points are warned about): on the
#: north London extract, 50 of 64 LSOA centroids lie beyond 50 m of a node (median 101 m).
UNCOVERED_MIN_M = 2_000.0


#: How the far-point warning names the origins of practice units and what becomes of them
#: (``area_ok`` below: they are left out of the patient-weighted means).
PRACTICE_ORIGINS = "LSOAs where the practices' patients live"
PRACTICE_FAR_ORIGINS = (
    "they are left out of the practices' patient-weighted travel (a practice with no LSOA left uses its own site)"
)


def uncovered_m(max_snap_m: float) -> float:
    """Distance from the network beyond which a point is not covered by it (metres)."""
    return max(float(max_snap_m), UNCOVERED_MIN_M)


def check_network_covers(
    path: Path,
    origin_snap_m: np.ndarray | None,
    site_snap_m: np.ndarray | None,
    *,
    max_snap_m: float,
    origin_weights: np.ndarray | None = None,
) -> None:
    """Refuse a road network that misses most origins or most candidate sites (see :data:`UNCOVERED_SHARE`).

    Points beyond ``max_snap_m`` are warned about and walk to the nearest road; when most
    lie beyond :func:`uncovered_m`, the network is of another area (or cut too tight) and
    every time would be mostly that walk. ``origin_weights`` (the patients of practice units
    living in each origin LSOA) makes "most origins" most of that weight.

    Raises
    ------
    InputDataError
        Naming the network file, how many points lie that far, and how far.
    """
    limit = uncovered_m(max_snap_m)
    problems = []
    for what, snap, weights in (
        ("origins (units, or the areas their patients live in)", origin_snap_m, origin_weights),
        ("candidate sites", site_snap_m, None),
    ):
        if snap is None or not np.size(snap):
            continue
        snap = np.asarray(snap, dtype=float)
        far = snap > limit
        weight = np.ones(far.size) if weights is None else np.asarray(weights, dtype=float)
        share = float(weight[far].sum() / weight.sum()) if weight.sum() > 0 else float(far.mean())
        if share > UNCOVERED_SHARE:
            held = "" if weights is None else f", where {share_words(share, 0)} of the practices' patients live"
            problems.append(
                DataProblem(
                    str(path),
                    f"{int(far.sum()):,} of {far.size:,} {what} lie more than {limit:,.0f} m from this road "
                    f"network{held} (median {np.median(snap):,.0f} m, farthest {snap.max():,.0f} m): it does not "
                    "cover the selection; use a network of the selection's area",
                )
            )
    if problems:
        raise InputDataError(problems)


def practice_travel(
    practice_ids: list[str],
    registrations: pd.DataFrame,
    area_ids: list[str],
    area_minutes: np.ndarray,
    *,
    fallback_minutes: np.ndarray | None = None,
    area_ok: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Patient-weighted mean travel time of each practice to each site.

    Parameters
    ----------
    practice_ids
        Practices, in row order of the result.
    registrations
        ``practice_code``, ``lsoa_code``, ``patients``.
    area_ids, area_minutes
        Areas (rows of ``area_minutes``) and their travel minutes to each site.
    fallback_minutes
        ``(n_practices, n_sites)`` minutes from each practice's own location, used where a
        practice has no usable registrations.
    area_ok
        Boolean mask of areas usable in the mean (e.g. close enough to the network).

    Returns
    -------
    minutes : ndarray (n_practices, n_sites)
    covered : ndarray (n_practices,)
        Share of each practice's registered patients represented in its mean (0 where
        the fallback was used).
    """
    area_pos = pd.Index(area_ids)
    prac_pos = pd.Index(practice_ids)
    reg = registrations.loc[isin(registrations["practice_code"], prac_pos)]
    rows = prac_pos.get_indexer(pd.Index(reg["practice_code"]))
    cols = area_pos.get_indexer(pd.Index(reg["lsoa_code"]))
    weights = reg["patients"].to_numpy(dtype=float)
    totals = np.bincount(rows, weights=weights, minlength=len(prac_pos))
    usable = cols >= 0
    if area_ok is not None:
        usable &= np.where(cols >= 0, area_ok[np.maximum(cols, 0)], False)
    W = sparse.csr_array((weights[usable], (rows[usable], cols[usable])), shape=(len(prac_pos), len(area_pos)))
    used = np.asarray(W.sum(axis=1)).ravel()
    finite = np.isfinite(area_minutes)
    numer = W @ np.where(finite, area_minutes, 0.0)
    denom = W @ finite.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        minutes = np.where(denom > 0, numer / np.where(denom > 0, denom, 1.0), np.inf)
    covered = np.divide(used, totals, out=np.zeros_like(used), where=totals > 0)
    no_data = used <= 0
    if no_data.any():
        if fallback_minutes is None:
            raise InputDataError(
                [
                    DataProblem(
                        "<registrations>",
                        f"no usable registrations for practice(s) {', '.join(np.asarray(practice_ids)[no_data][:10])}",
                    )
                ]
            )
        minutes[no_data] = fallback_minutes[no_data]
        logger.info(
            "%d practice(s) without registrations data: travel from the practice's own location", int(no_data.sum())
        )
    return minutes, covered


def scenario_travel(
    scenario: Scenario,
    root: Path,
    files: dict[str, Path],
    origin_ids: list[str],
    origin_points: gpd.GeoSeries,
    sites: gpd.GeoDataFrame,
    practice_units: gpd.GeoDataFrame | None,
    *,
    origin_weights: np.ndarray | None = None,
) -> tuple[str, str, np.ndarray, np.ndarray | None, np.ndarray | None, bool]:
    """Travel minutes from origins to sites.

    Returns the label, the source, the minutes (one row per origin, or per practice when
    the last value is true), the minutes from each practice's own location (fallback),
    and the mask of origins usable in a practice's patient-weighted mean.

    With ``practice_units`` the origins are the LSOAs where the practices' patients live.
    A user matrix may then be keyed by practice code (used as it is: every practice must
    be an origin) or by LSOA code (weighted like any other source; LSOAs missing from the
    matrix are left out of the means). ``origin_weights`` (the practices' patients living in
    each origin) weigh the origins in :func:`check_network_covers`.
    """
    from geodata import travel as gt

    spec = scenario.travel
    site_ids = list(sites["site_id"])
    fallback = None
    area_ok = None
    if spec.source == "estimate":
        tt = gt.crow_fly_matrix(
            origin_points,
            sites.geometry,
            origin_ids=origin_ids,
            destination_ids=site_ids,
            detour_factor=spec.detour_factor,
            speed_kph=spec.speed_kph,
        )
        if practice_units is not None:
            fallback = gt.crow_fly_matrix(
                practice_units.geometry,
                sites.geometry,
                origin_ids=list(practice_units["unit_id"]),
                destination_ids=site_ids,
                detour_factor=spec.detour_factor,
                speed_kph=spec.speed_kph,
            ).minutes
        return tt.label, "estimate", np.asarray(tt.minutes), fallback, None, False
    if spec.source == "matrix":
        path = scenario.resolve(spec.matrix or "", root)
        files["travel_matrix"] = path
        if practice_units is None:
            tt = gt.read_travel_matrix(path, origin_ids=origin_ids, destination_ids=site_ids)
            return tt.label, "matrix", np.asarray(tt.minutes), None, None, False
        return _practice_matrix(path, list(practice_units["unit_id"]), origin_ids, site_ids)
    from geodata import network as gn

    if spec.network_place is not None or spec.network_bbox is not None:
        # downloaded once (online), then read from the cache (offline too)
        graph, path = gn.downloaded_network(place=spec.network_place, bbox=spec.network_bbox, mode=spec.mode)
        files["network"] = path
    else:
        path = scenario.resolve(spec.network or "", root)
        files["network"] = path
        if spec.graphml:
            graph = gn.graph_from_graphml(path)
            _check_graphml_mode(scenario, path, graph.graph.get("mode"))
        else:
            graph = gn.graph_from_osm_file(path, mode=spec.mode)
    net = gt.road_arrays(graph)  # compiled once for the areas' matrix and the practices' own
    with warnings.catch_warnings(record=True) as raised:  # the far points, listed only if the network is kept
        warnings.simplefilter("always")
        tt = gt.travel_time_matrix(
            net,
            origin_points,
            sites.geometry,
            origin_ids=origin_ids,
            destination_ids=site_ids,
            cutoff_min=spec.cutoff_min,
            max_snap_m=spec.max_snap_m,
            origin_label="origins" if practice_units is None else PRACTICE_ORIGINS,
            far_origins=FAR_POINTS_WALK if practice_units is None else PRACTICE_FAR_ORIGINS,
        )
    check_network_covers(
        path, tt.origin_snap_m, tt.destination_snap_m, max_snap_m=spec.max_snap_m, origin_weights=origin_weights
    )
    for w in raised:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    area_ok = np.asarray(tt.origin_snap_m) <= spec.max_snap_m if tt.origin_snap_m is not None else None
    if practice_units is not None:
        with warnings.catch_warnings(record=True) as again:  # the sites' warning was given above
            warnings.simplefilter("always")
            fallback = np.asarray(
                gt.travel_time_matrix(
                    net,
                    practice_units.geometry,
                    sites.geometry,
                    origin_ids=list(practice_units["unit_id"]),
                    destination_ids=site_ids,
                    cutoff_min=spec.cutoff_min,
                    max_snap_m=spec.max_snap_m,
                    origin_label="practices",
                    far_origins="their access legs are long where their own site stands in for their patients",
                ).minutes
            )
        given = {str(w.message) for w in raised}
        for w in again:
            if str(w.message) not in given:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return f"{tt.label}: {tt.description}", "network", np.asarray(tt.minutes), fallback, area_ok, False


def _check_graphml_mode(scenario: Scenario, path: Path, recorded: object) -> None:
    """A GraphML network's travel times are for the mode it was saved with: ``[travel] mode`` must agree.

    Raises
    ------
    ScenarioError
        When the file records another mode (naming the scenario, the key and the file).
    """
    mode = scenario.travel.mode
    given = "mode" in scenario.raw.get("travel", {})
    if recorded is None:
        if given:
            logger.warning(
                "%s: [travel] mode = %r is not applied: the GraphML network %s records no travel mode, and its "
                "travel times are used as saved",
                scenario.where,
                mode,
                path,
            )
        return
    if recorded != mode:
        said = f"mode = {mode!r}" if given else f"mode is {mode!r} (the default)"
        raise ScenarioError(
            [
                f"{scenario.where}: [travel] {said}, but the GraphML network {path} holds the travel times of a "
                f"{recorded!r} network (a saved network is not filtered again); set mode = {recorded!r}, or give "
                f"a {mode!r} network or the OSM file"
            ]
        )


def _practice_matrix(
    path: Path, practice_ids: list[str], lsoa_ids: list[str], site_ids: list[str]
) -> tuple[str, str, np.ndarray, None, np.ndarray | None, bool]:
    """A user matrix for practice units: keyed by practice code, or by LSOA code (see :func:`scenario_travel`)."""
    from geodata import travel as gt

    # the file's origins that are practices or LSOAs of the selection; other rows are ignored
    tt = gt.read_travel_matrix(path, destination_ids=site_ids, origins_among=[*practice_ids, *lsoa_ids])
    in_file = pd.Index([str(o) for o in tt.origin_ids])
    minutes = np.asarray(tt.minutes, dtype=float)
    rows = in_file.get_indexer(pd.Index(practice_ids))
    if (rows >= 0).any():
        missing = [p for p, r in zip(practice_ids, rows, strict=True) if r < 0]
        if missing:
            raise InputDataError(
                [
                    DataProblem(
                        str(path),
                        f"the matrix is keyed by practice code but has no row for {len(missing)} practice(s) "
                        f"of the selection: {v.few(missing)}",
                        column="origin",
                    )
                ]
            )
        logger.info("%s: travel times keyed by practice code, used as they are", path.name)
        return tt.label, "matrix", minutes[rows], None, None, True
    rows = in_file.get_indexer(pd.Index(lsoa_ids))
    usable = rows >= 0
    if not usable.any():
        raise InputDataError(
            [
                DataProblem(
                    str(path),
                    f"no origin id is a practice code of the selection ({v.few(practice_ids[:5])}...) or an LSOA "
                    f"where their patients live ({v.few(lsoa_ids[:5])}...); "
                    f"the file's origins: {v.few(tt.params['ignored_origins'][:5])}",
                    column="origin",
                )
            ]
        )
    logger.info(
        "%s: travel times keyed by LSOA: %d of the %d LSOAs where the practices' patients live",
        path.name,
        int(usable.sum()),
        len(lsoa_ids),
    )
    by_lsoa = np.where(usable[:, None], minutes[np.maximum(rows, 0)], np.inf)
    return tt.label, "matrix", by_lsoa, None, usable, False


def check_matrix_covers_practices(
    path: Path, units: pd.DataFrame, registrations: pd.DataFrame, lsoa_ids: list[str], usable: np.ndarray
) -> None:
    """Raise naming the practices none of whose patients' LSOAs is an origin of the matrix."""
    covered = set(np.asarray(lsoa_ids, dtype=object)[usable])
    served = set(registrations.loc[isin(registrations["lsoa_code"], covered), "practice_code"])
    lacking = [u for u in units["unit_id"] if u not in served]
    if lacking:
        raise InputDataError(
            [
                DataProblem(
                    str(path),
                    f"no origin of the matrix is an LSOA where the patients of {len(lacking)} practice(s) live: "
                    f"{v.few(lacking)} (add those LSOAs, or key the matrix by practice code)",
                    column="origin",
                )
            ]
        )
