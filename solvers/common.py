"""Internals shared by the MIP model and the heuristic.

* :func:`candidate_pairs` — which (unit, site) assignments are worth a variable: the travel
  limit, sizes, boundary groups of hosted sites and contiguity reachability prune pairs
  that can never be part of a valid plan, and the optional ``k`` nearest-site rule prunes
  pairs that could (recorded, so nobody over-claims optimality).
* :func:`term_values` / :func:`objective_value` — the objective terms of an assignment,
  computed the way the model computes them (the validator re-derives its own).
* :func:`choose_options` — the cheapest hub option that can serve a polysystem's
  population.
* :func:`lp_labels` — real ids made safe and unique for LP/MPS names.

Positions (unit index ``i``, site index ``j``) are internal; plans carry real ids.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from catchment.objective import CAPITAL_UNIT, TERM, TERMS
from catchment.problem import Objective, Problem

__all__ = [
    "AUTO_K",
    "AUTO_K_PAIRS",
    "CAPITAL_UNIT",
    "Candidates",
    "candidate_pairs",
    "extend_candidates",
    "restrict_candidates",
    "adjacency_lists",
    "site_size_limits",
    "term_values",
    "travel_weights",
    "objective_value",
    "objective_key",
    "choose_options",
    "lp_labels",
]

#: Above this many usable (unit, site) pairs, each unit keeps only its ``AUTO_K`` nearest sites.
AUTO_K_PAIRS = 50_000
AUTO_K = 20


@dataclass(frozen=True)
class Candidates:
    """The (unit, site) pairs that get an assignment variable.

    Attributes
    ----------
    units, sites : ndarray of int
        Unit and site index of each kept pair, sorted by unit then site.
    travel : ndarray of float
        Travel minutes of each kept pair.
    k : int or None
        Nearest-site rule in force (``None``: every usable pair kept).
    pruned : bool
        True when the ``k`` rule removed at least one pair that the rules allow, so an
        optimum of the model is an optimum over each unit's ``k`` nearest sites only.
    n_allowed : int
        Pairs the rules allow before the ``k`` rule.
    closed_sites : tuple of int
        Usable sites that can never open (their host unit cannot be served by them).
    """

    units: np.ndarray
    sites: np.ndarray
    travel: np.ndarray
    k: int | None
    pruned: bool
    n_allowed: int
    closed_sites: tuple[int, ...]

    @property
    def n_pairs(self) -> int:
        """Number of (unit, site) pairs kept."""
        return int(self.units.size)

    def mask(self, n_units: int, n_sites: int) -> np.ndarray:
        """Dense boolean ``(n_units, n_sites)`` matrix of the kept pairs."""
        out = np.zeros((n_units, n_sites), dtype=bool)
        out[self.units, self.sites] = True
        return out


def site_size_limits(problem: Problem) -> np.ndarray:
    """Largest population each site could ever serve (ceiling and best affordable capacity).

    Options dearer than the whole budget are ignored. Excluded sites get 0; ``inf`` means
    unlimited.
    """
    limits = np.zeros(problem.n_sites)
    ceiling = math.inf if problem.rules.ceiling is None else float(problem.rules.ceiling)
    budget = math.inf if problem.rules.budget is None else float(problem.rules.budget)
    best: dict[str, float] = {}
    for opt in problem.options:
        if opt.capital_cost > budget:
            continue
        cap = math.inf if opt.capacity is None else float(opt.capacity)
        best[opt.site_id] = max(best.get(opt.site_id, 0.0), cap)
    for j, (site, status) in enumerate(zip(problem.site_ids, problem.site_status, strict=True)):
        if status != "excluded":
            limits[j] = min(ceiling, best.get(site, 0.0))
    return limits


def adjacency_lists(problem: Problem) -> list[list[int]]:
    """Neighbours of every unit (empty lists when the problem has no adjacency)."""
    nbrs: list[list[int]] = [[] for _ in range(problem.n_units)]
    for a, b in problem.adjacency or ():
        nbrs[a].append(b)
        nbrs[b].append(a)
    return nbrs


def candidate_pairs(problem: Problem, *, k: int | None = None, keep: np.ndarray | None = None) -> Candidates:
    """Pairs that get an assignment variable, after every valid reduction.

    A pair (unit ``i``, site ``j``) is dropped when the site is excluded, the travel time
    is infinite or above ``rules.max_travel_min``, the unit alone exceeds the site's size
    limit, the site's host unit is in another boundary group (``respect_groups``), or the
    unit cannot reach the site's host unit through units the site may serve
    (``contiguity``). These reductions never remove a valid plan. With ``k``, each unit
    also keeps only its ``k`` nearest remaining sites, plus its host pairs and, for every
    required site, the nearest units that together reach the floor: this one can remove
    plans, and :attr:`Candidates.pruned` says whether it did.

    Parameters
    ----------
    problem
        The problem.
    k
        Nearest-site rule, or ``None`` for every allowed pair.
    keep
        Site index of each unit in a known plan (e.g. the heuristic's): those pairs are
        kept by the ``k`` rule too, so the plan stays a feasible start.

    Returns
    -------
    Candidates
    """
    n, m = problem.n_units, problem.n_sites
    rules = problem.rules
    travel = problem.travel_min
    usable = np.array([st != "excluded" for st in problem.site_status], dtype=bool)
    allowed = np.isfinite(travel) & usable[None, :]
    if rules.max_travel_min is not None:
        allowed &= travel <= rules.max_travel_min
    allowed &= problem.population[:, None] <= site_size_limits(problem)[None, :]

    hosts = problem.site_unit or (None,) * m
    if rules.respect_groups and problem.groups is not None:
        groups = np.asarray(problem.groups, dtype=object)
        for j, h in enumerate(hosts):
            if h is not None:
                allowed[:, j] &= groups == groups[h]

    closed = [j for j, h in enumerate(hosts) if usable[j] and h is not None and not allowed[h, j]]
    allowed[:, closed] = False
    n_allowed = int(allowed.sum())

    kept = allowed
    pruned = False
    if k is not None and k < int(usable.sum()):
        masked = np.where(allowed, travel, np.inf)
        order = np.argsort(masked, axis=1, kind="stable")[:, :k]
        kept = np.zeros_like(allowed)
        rows = np.repeat(np.arange(n), order.shape[1])
        kept[rows, order.ravel()] = True
        kept &= allowed
        for j, h in enumerate(hosts):
            if h is not None and allowed[h, j]:
                kept[h, j] = True
        if keep is not None:
            kept[np.arange(n), keep] |= allowed[np.arange(n), keep]
        for j in problem.required_sites():
            column = np.where(allowed[:, j], travel[:, j], np.inf)
            reach = 0.0
            for i in np.argsort(column, kind="stable"):
                if not np.isfinite(column[i]):
                    break
                kept[i, j] = True
                reach += float(problem.population[i])
                if reach >= rules.floor:
                    break
        pruned = int(kept.sum()) < n_allowed
    else:
        k = None

    if rules.contiguity:
        kept = _reachable_from_hosts(problem, kept, hosts)

    units, sites = np.nonzero(kept)
    return Candidates(
        units=units.astype(np.int64),
        sites=sites.astype(np.int64),
        travel=travel[units, sites].astype(float),
        k=k,
        pruned=pruned,
        n_allowed=n_allowed,
        closed_sites=tuple(closed),
    )


def extend_candidates(problem: Problem, cand: Candidates, extra: np.ndarray) -> Candidates:
    """``cand`` with the pairs of the boolean ``(n_units, n_sites)`` matrix ``extra`` added.

    ``extra`` must hold allowed pairs only (e.g. left-out pairs a pricing step brings back);
    under contiguity, pairs not connected to the site's host within the new pairs are
    dropped again, as :func:`candidate_pairs` does.
    """
    return _with_pairs(problem, cand, cand.mask(problem.n_units, problem.n_sites) | extra)


def restrict_candidates(problem: Problem, cand: Candidates, keep: np.ndarray) -> Candidates:
    """``cand`` without the pairs that the boolean ``(n_units, n_sites)`` matrix ``keep`` leaves out.

    Under contiguity, pairs no longer connected to the site's host within the pairs kept
    are dropped too, as :func:`candidate_pairs` does. The result is marked ``pruned`` when
    it holds fewer pairs than the rules allow (the caller proves its answer for the whole
    model, e.g. by reduced-cost fixing).
    """
    return _with_pairs(problem, cand, cand.mask(problem.n_units, problem.n_sites) & keep)


def _with_pairs(problem: Problem, cand: Candidates, kept: np.ndarray) -> Candidates:
    """The pairs of the boolean matrix ``kept`` as ``cand``'s successor (contiguity's reach enforced)."""
    if problem.rules.contiguity:
        kept = _reachable_from_hosts(problem, kept, problem.site_unit or (None,) * problem.n_sites)
    units, sites = np.nonzero(kept)
    return Candidates(
        units=units.astype(np.int64),
        sites=sites.astype(np.int64),
        travel=problem.travel_min[units, sites].astype(float),
        k=cand.k,
        pruned=int(units.size) < cand.n_allowed,
        n_allowed=cand.n_allowed,
        closed_sites=cand.closed_sites,
    )


def _reachable_from_hosts(problem: Problem, kept: np.ndarray, hosts: Sequence[int | None]) -> np.ndarray:
    """Keep, for each hosted site, only units connected to the host within the site's pairs."""
    nbrs = adjacency_lists(problem)
    out = kept.copy()
    for j, h in enumerate(hosts):
        if h is None or not kept[h, j]:
            continue
        col = kept[:, j]
        seen = np.zeros(problem.n_units, dtype=bool)
        seen[h] = True
        queue = deque([h])
        while queue:
            a = queue.popleft()
            for b in nbrs[a]:
                if col[b] and not seen[b]:
                    seen[b] = True
                    queue.append(b)
        out[:, j] = col & seen
    return out


# ---------------------------------------------------------------------------- objective
def travel_weights(problem: Problem, term: str) -> np.ndarray:
    """Per-unit weights of travel minutes in a travel term (they sum to 1, or are all 0).

    ``mean_travel``: population shares; ``deprivation_travel``: shares of population x IMD
    score (see :data:`catchment.objective.TERMS`). A term's value is ``weights @ minutes``
    (minutes of each unit to its hub).
    """
    return TERM[term].travel_shares(problem)


def term_values(problem: Problem, site_of_unit: np.ndarray, hub_options: Mapping[int, str]) -> dict[str, float]:
    """Every objective term of an assignment, in the units the model uses.

    Parameters
    ----------
    problem
        The problem.
    site_of_unit
        Site index of each unit.
    hub_options
        Open site index -> option name.

    Returns
    -------
    dict
        Every term of :data:`catchment.objective.TERMS` the problem has the data for
        (``mean_travel``, ``max_travel``, ``capital`` in GBP millions, ...).
    """
    t = problem.travel_min[np.arange(problem.n_units), site_of_unit]
    out: dict[str, float] = {}
    for term in TERMS:
        if not term.available(problem):
            continue
        if term.kind == "travel":
            out[term.name] = float(term.travel_shares(problem) @ t)
        elif term.kind == "max":
            out[term.name] = float(t.max()) if t.size else 0.0
        else:
            amount = 0.0
            for j, opt in hub_options.items():
                amount += term.option_amount(problem.option(problem.site_ids[j], opt))
            out[term.name] = amount / term.scale
    return out


def objective_value(objective: Objective, terms: Mapping[str, float]) -> float:
    """The objective a plan reports: the weighted sum, or the first lexicographic term.

    (As :func:`catchment.metrics.objective_terms` defines it; a lexicographic plan's
    later terms are in ``plan.stats["term_values"]``.)
    """
    if objective.lexicographic is not None:
        return float(terms[objective.lexicographic[0]])
    return float(sum(w * terms[t] for t, w in objective.weights.items() if w > 0))


def objective_key(objective: Objective, terms: Mapping[str, float]) -> tuple[float, ...]:
    """Sort key: smaller is better (term by term for a lexicographic objective)."""
    if objective.lexicographic is not None:
        return tuple(float(terms[t]) for t in objective.lexicographic)
    return (objective_value(objective, terms),)


def choose_options(problem: Problem, site_populations: Mapping[int, float]) -> dict[int, str] | None:
    """Cheapest option of each open site that can serve its population.

    Returns ``None`` when some site has no option large enough.
    """
    chosen: dict[int, str] = {}
    for j, pop in site_populations.items():
        fits = [
            o for o in problem.options_of(problem.site_ids[j]) if o.capacity is None or pop <= o.capacity * (1 + 1e-9)
        ]
        if not fits:
            return None
        chosen[j] = fits[0].option
    return chosen


# ---------------------------------------------------------------------------- names
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def lp_labels(ids: Sequence[str]) -> list[str]:
    """Real ids made safe for LP and MPS names (letters, digits, ``_``) and unique.

    Ids that collide once sanitised (``"A-1"`` and ``"A_1"``) get a numeric suffix.
    """
    labels: list[str] = []
    seen: set[str] = set()
    for raw in ids:
        base = _UNSAFE.sub("_", str(raw)) or "id"
        label, n = base, 1
        while label in seen:
            n += 1
            label = f"{base}_{n}"
        seen.add(label)
        labels.append(label)
    return labels
