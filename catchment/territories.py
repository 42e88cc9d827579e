"""Practice territories: where a practice's patients live, as a partition of the map.

A practice is a point, but a Primary Care Network must cover a *contiguous area*. To ask
whether practices form one connected network we give each practice a territory drawn from
where its registered patients live (the practice-by-LSOA registrations), then call two
practices neighbours when their territories touch.

The rule (every step deterministic):

1. **Planning area.** The LSOAs where the selected practices together hold *most* of
   the registered patients: more than half of the patients registered anywhere who live
   in that LSOA (:data:`MAJORITY`).
2. **Owner.** Each LSOA of the planning area goes to the selected practice holding most
   of its patients; ties go to the smaller practice code.
3. **Practices holding no LSOA.** A practice that is the largest in no LSOA (a small
   practice among large ones) is given the LSOA containing its site: that LSOA joins the
   planning area if it was not in it, and is taken from its owner when the owner keeps at
   least one other LSOA. When the owner holds only that LSOA the two practices *share*
   it: the LSOA stays with the owner, and the practice without an LSOA is a neighbour of
   the owner and of every practice whose territory touches that LSOA (listed in
   ``Territories.shared``). A practice with neither an LSOA nor a known site LSOA has no
   territory and is listed in ``Territories.placeless``.

4. **Connected territories.** A territory in several pieces (a practice holding most of
   the patients of a far LSOA) keeps the piece holding most of its patients (on a tie, the
   piece with its site); each LSOA of the other pieces goes to the practice of a
   neighbouring LSOA holding most of its patients (ties to the smaller practice code), and
   an LSOA with no such neighbour leaves the planning area. This repeats until every
   territory is one piece (:func:`connect_territories`).

Territories therefore partition the planning area, so a polysystem drawn as the union of
its practices' territories has no stray far-away pieces, and "contiguous" has the usual
meaning: the territories of its practices form one connected area.

Where LSOA boundaries are missing (outside London in the data shipped with the engine),
territories cannot be drawn; :func:`site_adjacency` then gives neighbours from the
Delaunay triangulation of the practice sites (the documented fallback: two practices are
neighbours when no other practice lies inside the circle through them and a third).

Nothing here reads a file: callers pass the tables.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MAJORITY",
    "TERRITORY_COLUMN",
    "Territories",
    "PracticeLinks",
    "practice_territories",
    "territory_adjacency",
    "connect_territories",
    "site_adjacency",
    "practice_links",
]

#: Column of a practice problem's areas (``BuiltProblem.areas``) naming the practice whose
#: territory each LSOA is; maps draw a contiguous practice polysystem as their union.
TERRITORY_COLUMN = "territory_of"

#: Share of an LSOA's registered patients the selected practices must hold for the LSOA to
#: belong to the planning area (strictly more than this).
MAJORITY = 0.5


@dataclass(frozen=True)
class Territories:
    """The territory of each practice of a selection.

    Attributes
    ----------
    owner : dict
        LSOA code -> practice code owning it (the planning area is its keys).
    shared : dict
        Practice code -> LSOA code, for practices without an LSOA of their own whose site
        lies in an LSOA that its owner cannot give up (rule 3).
    placeless : tuple of str
        Practices with no territory: no LSOA and no known site LSOA.
    left_out : tuple of str
        LSOAs the selection holds most patients of that lie outside ``within`` (see
        :func:`practice_territories`), sorted.
    """

    owner: dict[str, str]
    shared: dict[str, str] = field(default_factory=dict)
    placeless: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()

    def lsoas_of(self, practice: str) -> tuple[str, ...]:
        """LSOAs of a practice's territory, sorted."""
        return tuple(sorted(lsoa for lsoa, p in self.owner.items() if p == practice))

    @property
    def planning_area(self) -> tuple[str, ...]:
        """LSOAs of the planning area, sorted."""
        return tuple(sorted(self.owner))


def practice_territories(
    registrations: pd.DataFrame,
    practices: Sequence[str],
    *,
    site_lsoa: Mapping[str, str | None] | None = None,
    within: Collection[str] | None = None,
) -> Territories:
    """Give each selected practice a territory of LSOAs (see the module's rule).

    Parameters
    ----------
    registrations
        Patients by practice and LSOA of residence: ``practice_code``, ``lsoa_code``,
        ``patients`` — every practice's, not only the selection's (the majority test of
        rule 1 needs the patients registered elsewhere).
    practices
        Practice codes of the selection.
    site_lsoa
        Practice code -> LSOA containing its site (``None`` when unknown); used by rule 3.
    within
        LSOAs the planning area may hold (e.g. those of the boundary file); the others of
        rule 1 are left out before rules 2 and 3 (``Territories.left_out``).

    Returns
    -------
    Territories
    """
    selected = list(dict.fromkeys(str(p) for p in practices))
    chosen = set(selected)
    reg = registrations[["practice_code", "lsoa_code", "patients"]]
    reg = reg.loc[reg["patients"] > 0]
    total = reg.groupby("lsoa_code", sort=False)["patients"].sum()
    mine = reg.loc[reg["practice_code"].isin(chosen)]
    held = mine.groupby("lsoa_code", sort=False)["patients"].sum()
    area = held.index[held.to_numpy() > MAJORITY * total.reindex(held.index).to_numpy()]
    left_out: tuple[str, ...] = ()
    if within is not None:
        inside = area.isin(list(within))
        left_out = tuple(sorted(area[~inside]))
        area = area[inside]
    candidates = mine.loc[mine["lsoa_code"].isin(area)]
    # largest holder first; ties to the smaller practice code
    ranked = candidates.sort_values(["lsoa_code", "patients", "practice_code"], ascending=[True, False, True])
    first = ranked.drop_duplicates("lsoa_code", keep="first")
    owner = dict(zip(first["lsoa_code"], first["practice_code"], strict=True))
    held_by: dict[str, int] = {}
    for practice in owner.values():
        held_by[practice] = held_by.get(practice, 0) + 1
    shared: dict[str, str] = {}
    placeless: list[str] = []
    sites = dict(site_lsoa or {})
    for practice in selected:
        if held_by.get(practice):
            continue
        lsoa = sites.get(practice)
        if not lsoa:
            placeless.append(practice)
            continue
        current = owner.get(lsoa)
        if current is None:
            owner[lsoa] = practice
            held_by[practice] = 1
        elif held_by[current] > 1:
            owner[lsoa] = practice
            held_by[current] -= 1
            held_by[practice] = 1
        else:
            shared[practice] = lsoa
    return Territories(owner=dict(sorted(owner.items())), shared=shared, placeless=tuple(placeless), left_out=left_out)


def territory_adjacency(
    territories: Territories,
    practices: Sequence[str],
    lsoa_pairs: Iterable[tuple[str, str]],
) -> list[tuple[int, int]]:
    """Pairs of practices whose territories touch, as indices into ``practices``.

    Parameters
    ----------
    territories
        From :func:`practice_territories`.
    practices
        Practice codes in unit order (the problem's ``unit_ids``).
    lsoa_pairs
        Pairs of LSOA codes sharing a boundary (rook adjacency of the LSOA polygons).

    Returns
    -------
    list of (int, int)
        Sorted pairs ``(i, j)`` with ``i < j``.
    """
    index = {p: k for k, p in enumerate(practices)}
    owner = territories.owner
    pairs: set[tuple[int, int]] = set()

    def link(a: str, b: str) -> None:
        if a != b and a in index and b in index:
            i, j = index[a], index[b]
            pairs.add((min(i, j), max(i, j)))

    touching: dict[str, set[str]] = {}
    for a, b in lsoa_pairs:
        pa, pb = owner.get(a), owner.get(b)
        if pa is not None and pb is not None:
            link(pa, pb)
        touching.setdefault(a, set()).add(b)
        touching.setdefault(b, set()).add(a)
    for practice, lsoa in territories.shared.items():
        link(practice, owner[lsoa])
        for other in touching.get(lsoa, ()):
            if other in owner:
                link(practice, owner[other])
    # practices sharing one LSOA are neighbours of each other too
    by_lsoa: dict[str, list[str]] = {}
    for practice, lsoa in territories.shared.items():
        by_lsoa.setdefault(lsoa, []).append(practice)
    for group in by_lsoa.values():
        for a in group:
            for b in group:
                link(a, b)
    return sorted(pairs)


def connect_territories(
    territories: Territories,
    lsoa_pairs: Iterable[tuple[str, str]],
    registrations: pd.DataFrame,
    *,
    site_lsoa: Mapping[str, str | None] | None = None,
) -> Territories:
    """Make every territory one connected piece (rule 4 of the module).

    Parameters
    ----------
    territories
        From :func:`practice_territories`.
    lsoa_pairs
        Pairs of LSOA codes sharing a boundary.
    registrations
        Patients by practice and LSOA (``practice_code``, ``lsoa_code``, ``patients``).
    site_lsoa
        Practice code -> LSOA of its site (breaks ties between pieces).

    Returns
    -------
    Territories
        With connected territories (``shared`` and ``placeless`` unchanged).
    """
    import networkx as nx

    owner = dict(territories.owner)
    graph = nx.Graph()
    graph.add_nodes_from(owner)
    graph.add_edges_from((a, b) for a, b in lsoa_pairs if a in owner and b in owner)
    held = registrations.groupby(["practice_code", "lsoa_code"])["patients"].sum().to_dict()
    sites = dict(site_lsoa or {})
    for _ in range(len(owner) + 1):
        moved = False
        by_practice: dict[str, list[str]] = {}
        for lsoa, practice in owner.items():
            by_practice.setdefault(practice, []).append(lsoa)
        for practice in sorted(by_practice):
            pieces = [sorted(c) for c in nx.connected_components(graph.subgraph(by_practice[practice]))]
            if len(pieces) < 2:
                continue
            pieces.sort(
                key=lambda c: (-sum(held.get((practice, lsoa), 0) for lsoa in c), sites.get(practice) not in c, c)
            )
            for lsoa in (lsoa for piece in pieces[1:] for lsoa in piece):
                others = {owner[n] for n in graph.neighbors(lsoa) if owner.get(n) not in (None, practice)}
                if others:
                    owner[lsoa] = min(others, key=lambda o: (-held.get((o, lsoa), 0), o))
                else:
                    del owner[lsoa]
                    graph.remove_node(lsoa)
                moved = True
        if not moved:
            break
    return Territories(
        owner=dict(sorted(owner.items())),
        shared=territories.shared,
        placeless=territories.placeless,
        left_out=territories.left_out,
    )


def site_adjacency(xy: np.ndarray) -> list[tuple[int, int]]:
    """Neighbours from the Delaunay triangulation of practice sites (no boundaries).

    Parameters
    ----------
    xy
        ``(n, 2)`` site coordinates in metres (EPSG:27700).

    Returns
    -------
    list of (int, int)
        Sorted pairs ``(i, j)`` with ``i < j``. Fewer than three sites, or sites all on one
        line: consecutive sites along that line. Sites at the same point are neighbours.
    """
    from scipy.spatial import Delaunay, QhullError

    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        return []
    unique, inverse = np.unique(xy, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    pairs: set[tuple[int, int]] = set()
    # sites at the same point: chain them
    for k in range(len(unique)):
        members = np.flatnonzero(inverse == k)
        pairs.update((int(a), int(b)) for a, b in zip(members[:-1], members[1:], strict=True))
    first = np.array([np.flatnonzero(inverse == k)[0] for k in range(len(unique))])
    edges: set[tuple[int, int]] = set()
    try:
        if len(unique) < 3:
            raise QhullError("fewer than three distinct sites")
        tri = Delaunay(unique)
        for simplex in tri.simplices:
            for a in range(3):
                for b in range(a + 1, 3):
                    i, j = int(simplex[a]), int(simplex[b])
                    edges.add((min(i, j), max(i, j)))
    except QhullError:  # collinear (or too few) sites: chain them along the line
        direction = unique[-1] - unique[0] if len(unique) > 1 else np.zeros(2)
        order = np.argsort(unique @ direction, kind="stable")
        edges.update((min(int(a), int(b)), max(int(a), int(b))) for a, b in zip(order[:-1], order[1:], strict=True))
    for i, j in edges:
        a, b = int(first[i]), int(first[j])
        pairs.add((min(a, b), max(a, b)))
    return sorted(pairs)


@dataclass(frozen=True)
class PracticeLinks:
    """Neighbours of practice units for contiguity, and how they were found.

    Attributes
    ----------
    adjacency : list of (int, int)
        Pairs of unit indices.
    territories : Territories or None
        The territories (``None`` with the Delaunay fallback).
    method : str
        ``"territories"`` or ``"sites"`` (the fallback), in words for reports in ``note``.
    note : str
        One sentence for the report.
    """

    adjacency: list[tuple[int, int]]
    territories: Territories | None
    method: str
    note: str


def practice_links(
    units: pd.DataFrame,
    registrations: pd.DataFrame,
    boundaries: Any,
    *,
    unit_column: str = "unit_id",
) -> PracticeLinks:
    """Neighbours of the practices of a selection: territories where boundaries allow.

    Parameters
    ----------
    units
        Practice units (a GeoDataFrame of points in EPSG:27700) with ``unit_column``.
    registrations
        Every practice's patients by LSOA (not only the selection's: see rule 1).
    boundaries
        LSOA polygons (``lsoa_code``, geometry, EPSG:27700).
    unit_column
        Column of practice codes in ``units``.

    Returns
    -------
    PracticeLinks
        From territories over the LSOAs of ``boundaries`` (planning-area LSOAs outside the
        file are left out and named in the note); when a practice then has no territory
        (no patients' LSOA and no site in the file, e.g. outside London with the London
        boundary file), from the Delaunay triangulation of the practice sites
        (:func:`site_adjacency`) for the whole selection, with a note saying so.
    """
    import geopandas as gpd

    from catchment.adjacency import lsoa_adjacency

    practices = [str(p) for p in units[unit_column]]
    points = gpd.GeoDataFrame({"practice": practices}, geometry=list(units.geometry), crs=boundaries.crs)
    joined = gpd.sjoin(points, boundaries[["lsoa_code", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    site = {
        p: (None if pd.isna(code) else str(code))
        for p, code in zip(joined["practice"], joined["lsoa_code"], strict=True)
    }
    # LSOAs outside the boundary file (e.g. across the London border in a London file) cannot be
    # drawn or joined: they are left out of the planning area, which they can only edge
    territories = practice_territories(registrations, practices, site_lsoa=site, within=set(boundaries["lsoa_code"]))
    left_out = territories.left_out
    if territories.placeless:
        xy = np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])
        return PracticeLinks(
            site_adjacency(xy),
            None,
            "sites",
            f"Practice neighbours from the Delaunay triangulation of their sites: {len(territories.placeless)} "
            "practice(s) have neither patients' LSOAs nor a site inside the LSOA boundary file "
            f"({', '.join(territories.placeless[:5])}{', ...' if len(territories.placeless) > 5 else ''}).",
        )
    area = boundaries.loc[boundaries["lsoa_code"].isin(set(territories.owner))].reset_index(drop=True)
    codes = area["lsoa_code"].tolist()
    pairs = [(codes[i], codes[j]) for i, j in lsoa_adjacency(area)]
    selected = registrations.loc[registrations["practice_code"].isin(practices)]
    territories = connect_territories(territories, pairs, selected, site_lsoa=site)
    adjacency = territory_adjacency(territories, practices, pairs)
    return PracticeLinks(
        adjacency,
        territories,
        "territories",
        f"Practice territories: each of {len(territories.owner):,} LSOAs where the selected practices hold most "
        "registered patients goes to the practice holding most of them; practices are neighbours when their "
        "territories touch"
        + (
            f" ({len(left_out)} such LSOA(s) outside the LSOA boundary file left out: {', '.join(left_out[:5])}"
            f"{', ...' if len(left_out) > 5 else ''})."
            if left_out
            else "."
        ),
    )
