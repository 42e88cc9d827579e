r"""The estates shortlist: what each candidate hub site is worth to the plan.

For every usable site :math:`s` (not excluded) of a problem whose best plan found has
objective :math:`z^*` (the optimum when proven, see "Best plan" below):

* **forced open** :math:`z^{open}_s`: the best objective with :math:`s` required;
* **forced closed** :math:`z^{closed}_s`: the best objective with :math:`s` excluded;
* **regret** :math:`z^{open}_s - z^*` (>= 0): the price of insisting on the site; 0 for the
  sites of the best plan; infinite when no plan can open it (the forcing is infeasible);
* **value of keeping** :math:`z^{closed}_s - z^*`: what losing the site costs; infinite when
  no plan exists without it (the site is *essential*). For a site the rules require,
  forcing it closed lifts the requirement, so its value may be negative: what the
  requirement costs.
* **near-optimal share**: a plan is *near-optimal* when its objective is at most
  :math:`z^* + \tau |z^*|` (``tolerance`` :math:`\tau`, default 2%). The plans looked at
  are the best plan and every plan of the whole model that a solve found (the base plan and
  the forced solves' plans that pass the independent validator, except those of a required
  site forced closed: lifting a requirement gives plans the rules do not allow), counted
  once per distinct set of hubs; a site's share is the fraction of those hub sets that open
  it. It says how robust the site is: a site in most near-optimal plans is a safe estates
  decision whichever plan is finally chosen.

**Best plan**: forcing a site open, or a candidate site closed, only adds a rule, so each
such forced solve's plan is a plan of the whole model too. The best plan is the one of
least objective among the base plan and those plans (the base plan on a tie). When the base
plan is proven optimal it is kept: a forced plan can beat a proven optimum only within the
solver's gap (noise). A best plan found by a forced solve is not proven optimal (its solve
proved at most the forced problem's optimum); its lower bound is the base solve's, and
``best_source`` says which solve found it. In-plan flags, regrets, values and the
near-optimal tolerance are all measured against the best plan.

**Answered by the best plan**: when the best plan already satisfies a forcing (it opens a
site forced open; it leaves a candidate site forced closed unused) it is a plan of the forced
problem, so the best objective with that forcing is at most :math:`z^*`, and, the forcing
being a restriction, at least the true optimum. The regret (or value) is then 0 against the
best plan, whatever the forced solve found (a forced solve stopped by its time limit may
have found only a worse plan).

**What a figure is** (``regret_label``, ``value_label``, :data:`FIGURE_LABELS`): a figure is
*proven* when both plans compared are proven optimal. The forced plan's objective is at
least the forced optimum and :math:`z^*` at least the true optimum, so a figure is a lower
bound (*at least*) when only the forced solve is proven, an upper bound (*at most*) when only
the best plan is, and an *estimate* when neither is (a figure the best plan answers is
proven when it is proven optimal, else at least). ``regret_bound`` is proven in every case.

Objectives are recomputed from the problem and the plan
(:func:`catchment.metrics.objective_terms`); a solve proven optimal is proven within the
relative gap asked for, so proven regrets and values are accurate to that gap, and regrets
a solver reports just below zero (inside the gap) are shown as 0.

Shortcut: when the base plan is proven optimal it is also optimal for the forcing it already
satisfies (its hubs forced open, the other sites forced closed), so only the other forcing is
solved: one solve per site instead of two (``exhaustive=True`` solves both).

**Regret bound**: a proven lower bound on each site's regret, from one relaxation of the
base problem (:func:`site_open_bounds`) and from the forced solve's own bound. A plan that
assigns unit :math:`i` to site :math:`j` costs at least :math:`B + d_{ij}`, with
:math:`(B, d)` the LP bound and reduced costs over every allowed pair, or the Lagrangian
bound and its reduced costs (:mod:`solvers.lagrangian`), whichever is larger; a plan with
:math:`s` open serves at least one unit there (its host, or enough people for the floor),
so :math:`z^{open}_s \ge B + \min_i d_{is}`. The Lagrangian's own per-site figure
(:attr:`~solvers.lagrangian.LagrangianBound.site_open`, the outer step's cost with
:math:`s` forced open) is never stronger: each of its :math:`d_{is}` is at least that
figure (it adds the site's extra cost with unit :math:`i` in, 0 for the host), so it is
not read. The regret bound is :math:`B + \min_i d_{is}` less the best plan's objective
(which is at least the true optimum, so the bound stays valid when the best plan is not
proven), at least 0. ``regret_bound_source`` names the bound that gave it.

**Screening** (``screen=True``): a site whose regret bound already exceeds the near-optimal
tolerance (measured from the base plan, before the forced solves) cannot be in a
near-optimal plan; its forced-open solve is skipped (status
``screened``), its regret is left unknown and its regret bound is reported instead.

**Rank**: by regret (smallest first; a screened site by its regret bound; infeasible
forcings last), then value of keeping (largest first), then site id: the best plan's
sites lead, the most essential first, followed by the cheapest alternatives.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from catchment.plan import NOT_PROVEN_OPTIMAL, relative_gap
from catchment.problem import Problem
from solvers.batch import SolveOptions, SolveRecord, solve_and_check
from solvers.common import candidate_pairs
from solvers.distributed import map_tasks
from solvers.formulation import plan_indices
from solvers.lagrangian import bound_source, lagrangian_bound, lagrangian_deadline
from solvers.mip import PolysystemModel
from solvers.relaxation import proof_relaxation, proven_relaxation

__all__ = [
    "NEAR_OPTIMAL",
    "FORCINGS",
    "FIGURE_LABELS",
    "SHORTLIST_COLUMNS",
    "SiteAssessment",
    "Shortlist",
    "SiteOpenBounds",
    "best_source_words",
    "forced_problem",
    "solve_forced",
    "site_open_bounds",
    "shortlist_sites",
]

logger = logging.getLogger(__name__)

#: Default relative tolerance of a near-optimal plan (2% above the optimum).
NEAR_OPTIMAL = 0.02
#: How a site can be forced: ``open`` (status required) or ``closed`` (status excluded).
FORCINGS = {"open": "required", "closed": "excluded"}
#: What a regret or value is, by what was proven ("What a figure is" in the module docstring):
#: key -> words (``regret_label`` and ``value_label`` of ``shortlist.csv``).
FIGURE_LABELS: Mapping[str, str] = {
    "proven": "proven: both plans compared are proven optimal",
    "at_least": f"at least this: the best plan found is {NOT_PROVEN_OPTIMAL}",
    "at_most": f"at most this: the forced solve's plan is {NOT_PROVEN_OPTIMAL}",
    "estimate": f"estimate: neither plan compared is proven optimal ({NOT_PROVEN_OPTIMAL})",
}
#: Columns of :meth:`Shortlist.frame` (``shortlist.csv``).
SHORTLIST_COLUMNS = (
    "rank", "site_id", "site_name", "site_type", "base_status", "in_optimum", "regret", "regret_pct",
    "regret_label", "regret_bound", "regret_bound_pct", "regret_bound_source",
    "value_of_keeping", "value_pct", "value_label", "essential", "forced_open_status", "forced_open_objective",
    "forced_closed_status", "forced_closed_objective", "near_optimal_plans", "near_optimal_share", "note",
)  # fmt: skip


@dataclass(frozen=True)
class SiteAssessment:
    """One site of the shortlist.

    Attributes
    ----------
    site_id, site_name, site_type, base_status : str
        The site, and its status in the base problem (``candidate`` or ``required``).
    in_optimum : bool
        The best plan (:attr:`Shortlist.best`) opens a hub there.
    open_status, closed_status : str
        Status of the forced solve (``optimal``, ``feasible``, ``infeasible``,
        ``unsolved``), ``base`` when the base plan answers it (see the shortcut), or
        ``screened`` when the regret bound ruled the forced-open solve out.
    open_objective, closed_objective : float or None
        Objective of the forced solve's plan (``None`` without a plan).
    regret, value : float or None
        See the module docstring; ``inf`` for an infeasible forcing, ``None`` when a forced
        solve found no plan within its time limit. Measured against the best plan, 0 when the
        best plan satisfies the forcing.
    near_optimal_plans : int
        Distinct near-optimal hub sets that open the site.
    near_optimal_share : float
        ``near_optimal_plans`` / all distinct near-optimal hub sets.
    rank : int
        1 = best (see the module docstring).
    note : str
        Why a forcing has no plan (diagnosis), in one line.
    regret_bound : float or None
        A proven lower bound on the regret (``inf`` when no plan can open the site,
        ``None`` when no bound is known).
    regret_bound_source : str
        What gave it: ``lp`` or ``lagrangian`` (the relaxation of the base problem),
        ``solver`` (the forced solve's own bound), ``base`` (the best plan's sites), or empty.
    regret_kind, value_kind : str
        What the regret and the value are: a key of :data:`FIGURE_LABELS`, or empty without
        a finite figure.
    """

    site_id: str
    site_name: str
    site_type: str
    base_status: str
    in_optimum: bool
    open_status: str
    open_objective: float | None
    closed_status: str
    closed_objective: float | None
    regret: float | None
    value: float | None
    near_optimal_plans: int
    near_optimal_share: float
    rank: int
    note: str = ""
    regret_bound: float | None = None
    regret_bound_source: str = ""
    regret_kind: str = ""
    value_kind: str = ""

    @property
    def essential(self) -> bool:
        """No plan exists without this site."""
        return self.value is not None and math.isinf(self.value)


@dataclass(frozen=True)
class Shortlist:
    """The ranked shortlist of a problem's candidate hub sites.

    Attributes
    ----------
    optimum : float
        Objective of the best plan (the optimum only when ``best.status`` is ``optimal``).
    base : SolveRecord
        The base solve.
    best : SolveRecord
        The best plan of all solves (module docstring, "Best plan"): the base solve, or a
        forced solve's plan as a plan of the whole model (status ``feasible``, the base
        solve's lower bound).
    best_forcing : tuple of str or None
        ``(site_id, "open" | "closed")``: the forced solve that found the best plan
        (``None``: the base solve).
    sites : tuple of SiteAssessment
        In rank order.
    tolerance : float
        Relative tolerance of a near-optimal plan.
    n_near_optimal : int
        Distinct near-optimal hub sets found.
    excluded_sites : tuple of str
        Sites the rules exclude (not assessed).
    n_solves : int
        Forced solves run (the base solve not counted).
    runtime_s : float
        Wall-clock seconds, base solve included.
    """

    optimum: float
    base: SolveRecord
    best: SolveRecord
    best_forcing: tuple[str, str] | None
    sites: tuple[SiteAssessment, ...]
    tolerance: float
    n_near_optimal: int
    excluded_sites: tuple[str, ...]
    n_solves: int
    runtime_s: float

    @property
    def best_source(self) -> str:
        """Which solve found the best plan, in words."""
        return best_source_words(self.best_forcing)

    def frame(self) -> pd.DataFrame:
        """One row per site in rank order, columns :data:`SHORTLIST_COLUMNS`.

        Infinite regrets and values are left empty; the ``*_status`` columns say
        ``infeasible`` and ``essential`` is True for a site no plan can do without.
        """
        records = []
        scale = abs(self.optimum) if self.optimum else math.nan
        for s in self.sites:
            records.append(
                {
                    "rank": s.rank,
                    "site_id": s.site_id,
                    "site_name": s.site_name,
                    "site_type": s.site_type,
                    "base_status": s.base_status,
                    "in_optimum": s.in_optimum,
                    "regret": _cell(s.regret),
                    "regret_pct": _cell(None if s.regret is None else 100 * s.regret / scale),
                    "regret_label": FIGURE_LABELS.get(s.regret_kind, ""),
                    "regret_bound": _cell(s.regret_bound),
                    "regret_bound_pct": _cell(None if s.regret_bound is None else 100 * s.regret_bound / scale),
                    "regret_bound_source": s.regret_bound_source,
                    "value_of_keeping": _cell(s.value),
                    "value_pct": _cell(None if s.value is None else 100 * s.value / scale),
                    "value_label": FIGURE_LABELS.get(s.value_kind, ""),
                    "essential": s.essential,
                    "forced_open_status": s.open_status,
                    "forced_open_objective": _cell(s.open_objective),
                    "forced_closed_status": s.closed_status,
                    "forced_closed_objective": _cell(s.closed_objective),
                    "near_optimal_plans": s.near_optimal_plans,
                    "near_optimal_share": s.near_optimal_share,
                    "note": s.note,
                }
            )
        return pd.DataFrame.from_records(records, columns=list(SHORTLIST_COLUMNS))


def _cell(value: float | None) -> float:
    return math.nan if value is None or math.isinf(value) else float(value)


def best_source_words(forcing: tuple[str, str] | None) -> str:
    """Which solve found the best plan: ``the base solve`` or ``the solve with SITE forced open``."""
    return "the base solve" if forcing is None else f"the solve with {forcing[0]} forced {forcing[1]}"


def forced_problem(problem: Problem, site_id: str, force: str) -> Problem:
    """The problem with one site forced open (required) or closed (excluded).

    Parameters
    ----------
    problem
        The base problem (not changed).
    site_id
        The site.
    force
        ``"open"`` or ``"closed"``.

    Returns
    -------
    Problem

    Raises
    ------
    KeyError
        If the site is not a site of the problem.
    ValueError
        If ``force`` is not ``open`` or ``closed``.
    """
    if force not in FORCINGS:
        raise ValueError(f"force must be 'open' or 'closed', got {force!r}")
    j = problem.site_index(site_id)
    status = list(problem.site_status)
    status[j] = FORCINGS[force]
    return dataclasses.replace(problem, site_status=tuple(status))


def solve_forced(task: tuple[str, str], *, problem: Problem, options: SolveOptions) -> SolveRecord:
    """Solve the base problem with one site forced open or closed (a Dask task).

    Parameters
    ----------
    task
        ``(site_id, "open" | "closed")``.
    problem
        The base problem.
    options
        Solver settings.

    Returns
    -------
    SolveRecord
    """
    site_id, force = task
    return solve_and_check(forced_problem(problem, site_id, force), options)


@dataclass(frozen=True)
class SiteOpenBounds:
    """Lower bounds on the best objective with each site forced open (:func:`site_open_bounds`).

    Attributes
    ----------
    bounds : ndarray
        Per site, a lower bound for every plan that opens it (``-inf``: none known, ``inf``:
        no allowed pair, so no plan can open it).
    sources : tuple of str
        Per site, ``"lp"`` or ``"lagrangian"``: the relaxation that gave the bound.
    lp, lagrangian : float or None
        The two bounds of the base problem (``None``: not computed in time).
    seconds : float
    """

    bounds: np.ndarray
    sources: tuple[str, ...]
    lp: float | None
    lagrangian: float | None
    seconds: float


def site_open_bounds(
    problem: Problem,
    *,
    start: np.ndarray | None = None,
    upper: float | None = None,
    deadline: float | None = None,
    threads: int | None = None,
) -> SiteOpenBounds:
    r"""Lower bounds on the objective with each site forced open, from one relaxation.

    See "Regret bound" in the module docstring: the LP relaxation over every allowed pair
    and the Lagrangian bound each give :math:`B + \min_i d_{is}`; the larger is kept.

    Parameters
    ----------
    problem
        The base problem.
    start
        Site index of each unit in a known plan (seeds the Lagrangian master).
    upper
        Objective of a known plan (steers the Lagrangian step sizes).
    deadline
        ``time.perf_counter()`` value to stop at (``None``: none); the Lagrangian gets what
        the LP leaves.
    threads
        Solver threads for the LP.

    Returns
    -------
    SiteOpenBounds
    """
    began = time.perf_counter()
    bounds = np.full(problem.n_sites, -math.inf)
    sources = [""] * problem.n_sites
    first = candidate_pairs(problem, k=PolysystemModel.from_problem(problem).effective_k())
    relax_full = proof_relaxation(problem, first, deadline=deadline, threads=threads)
    relax = proven_relaxation(relax_full)
    lp = relax.bound if relax.reduced is not None else None
    if relax.bound is not None and relax.reduced is not None:
        _raise(bounds, sources, relax.bound + _cheapest_pair(np.maximum(relax.reduced, 0.0)), "lp")
    lagrangian = None
    if relax_full.status == "optimal" and (deadline is None or time.perf_counter() < deadline):
        lag = lagrangian_bound(problem, relaxation=relax_full, upper=upper, plan=start, deadline=deadline)
        lagrangian = lag.bound
        if lag.bound is not None and lag.reduced is not None:
            _raise(bounds, sources, lag.bound + _cheapest_pair(lag.reduced), "lagrangian")
    logger.info(
        "regret bounds: LP %s, Lagrangian %s, %.1f s (%s)",
        lp,
        lagrangian,
        time.perf_counter() - began,
        bound_source(lp, lagrangian) or "none",
    )
    return SiteOpenBounds(bounds, tuple(sources), lp, lagrangian, time.perf_counter() - began)


def _cheapest_pair(reduced: np.ndarray) -> np.ndarray:
    """Per site, the least reduced cost over its allowed pairs (``inf`` where none is allowed)."""
    return np.asarray(reduced, dtype=float).min(axis=0)


def _raise(bounds: np.ndarray, sources: list[str], new: np.ndarray, source: str) -> None:
    better = new > bounds
    bounds[better] = new[better]
    for j in np.flatnonzero(better).tolist():
        sources[j] = source


def shortlist_sites(
    problem: Problem,
    *,
    options: SolveOptions | None = None,
    base: SolveRecord | None = None,
    tolerance: float = NEAR_OPTIMAL,
    exhaustive: bool = False,
    screen: bool = False,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Shortlist:
    """Rank every usable candidate site by regret, value of keeping and robustness.

    Parameters
    ----------
    problem
        The base problem.
    options
        Solver settings for every solve.
    base
        The base problem's solve, if already done (else it is solved here first).
    tolerance
        Relative tolerance of a near-optimal plan (0.02: within 2% of the optimum).
    exhaustive
        Solve both forcings of every site even when the base plan is proven optimal.
    screen
        Skip the forced-open solve of a site whose regret bound already exceeds the
        tolerance (see "Screening" in the module docstring).
    client
        A :class:`distributed.Client` to run the forced solves on, or ``None`` (serial).
    progress
        ``progress(done, total)`` after each forced solve.

    Returns
    -------
    Shortlist

    Raises
    ------
    ValueError
        If ``tolerance`` is negative or the base problem has no valid plan (infeasible or
        unsolved: the shortlist needs an optimum to compare with).
    """
    if not (tolerance >= 0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a non-negative number, got {tolerance!r}")
    started = time.perf_counter()
    options = options or SolveOptions()
    base = base or solve_and_check(problem, options)
    if not base.usable or base.objective is None:
        raise ValueError(
            f"the shortlist needs a valid plan of the base problem; its solve is {base.status}"
            + (f": {base.diagnosis}" if base.diagnosis else "")
        )
    base_objective = float(base.objective)
    usable = [j for j in range(problem.n_sites) if problem.site_status[j] != "excluded"]
    shortcut = base.status == "optimal" and not exhaustive
    base_limit = base_objective + tolerance * abs(base_objective)
    seconds = options.time_limit  # the bounds get the Lagrangian's share of one solve's time
    open_bounds = site_open_bounds(
        problem,
        start=plan_indices(problem, base.plan)[0],
        upper=base_objective,
        deadline=lagrangian_deadline(None if seconds is None else time.perf_counter() + seconds),
        threads=options.threads,
    )
    screened = {
        problem.site_ids[j]
        for j in usable
        if screen and math.isfinite(open_bounds.bounds[j]) and open_bounds.bounds[j] > base_limit
    } - set(base.hubs)
    tasks: list[tuple[str, str]] = []
    for j in usable:
        site, status = problem.site_ids[j], problem.site_status[j]
        if status != "required" and not (shortcut and site in base.hubs) and site not in screened:
            tasks.append((site, "open"))
        if status == "required" or not (shortcut and site not in base.hubs):
            tasks.append((site, "closed"))
    logger.info(
        "shortlist: %d usable site(s), %d forced solve(s)%s%s",
        len(usable),
        len(tasks),
        " (the proven optimum answers the other forcings)" if shortcut else "",
        f", {len(screened)} screened out by their regret bound" if screened else "",
    )
    records = map_tasks(
        solve_forced,
        tasks,
        client=client,
        shared={"problem": problem, "options": options},
        progress=progress,
        name="shortlist",
    )
    solved: dict[tuple[str, str], SolveRecord] = dict(zip(tasks, records, strict=True))

    whole = _whole_model_plans(problem, solved)
    best_forcing, optimum = (None, base_objective) if base.status == "optimal" else _best(base_objective, whole)
    best = base if best_forcing is None else _as_whole_model_plan(whole[best_forcing], base, best_forcing)
    hubs = best.hubs
    proven = best.status == "optimal"
    limit = optimum + tolerance * abs(optimum)
    if best_forcing is not None:
        logger.info(
            "the best plan of all solves (%.6g) was found by %s; the base solve's: %.6g",
            optimum,
            best_source_words(best_forcing),
            base_objective,
        )

    near_sets = {hubs}
    for near in (base, *whole.values()):
        if near.objective is not None and near.objective <= limit:
            near_sets.add(near.hubs)

    rows: list[dict[str, Any]] = []
    for j in usable:
        site, status = problem.site_ids[j], problem.site_status[j]
        forced: dict[str, tuple[str, float | None, float | None, str]] = {}
        notes = []
        for force in FORCINGS:
            record = solved.get((site, force))
            if (site, force) == best_forcing:
                notes.append(
                    f"forced {force}: found the best plan of all solves "
                    f"({optimum:.6g}; the base solve's: {base_objective:.6g})"
                )
            # the best plan satisfies the forcing (module docstring, "Answered by the best plan")
            answered = (site in hubs) == (force == "open")
            if force == "open" and site in screened and not answered:
                forced[force] = ("screened", None, None, "")
                notes.append(
                    f"forced open: not solved: its regret is at least {open_bounds.bounds[j] - optimum:.6g} "
                    f"({open_bounds.sources[j]} bound), above the near-optimal tolerance"
                )
                continue
            if record is None:  # answered by the best plan (the shortcut, or a required site)
                forced[force] = ("base", optimum, 0.0, "proven" if proven else "at_least")
                continue
            found = record.objective if record.usable else None
            if answered:
                if found is None or (found > optimum and record.status != "optimal"):
                    which = "opens it" if force == "open" else "leaves it closed"
                    this = record.status + ("" if found is None else f", {found:.6g}")
                    notes.append(f"forced {force}: 0 against the best plan found, which {which} (this solve: {this})")
                forced[force] = (record.status, found, 0.0, "proven" if proven else "at_least")
                continue
            delta: float | None
            kind = ""
            if found is not None:
                delta = found - optimum
                if force == "open" or status != "required":
                    delta = max(0.0, delta)  # a restriction cannot beat the optimum (gap noise)
                kind = _figure_kind(forced_proven=record.status == "optimal", best_proven=proven)
            elif record.status == "infeasible":
                delta = math.inf
                notes.append(f"forced {force}: infeasible: {record.diagnosis}")
            else:
                delta = None
                notes.append(f"forced {force}: {record.status}: {record.diagnosis or 'no valid plan'}")
            forced[force] = (record.status, found, delta, kind)
        count = sum(1 for s in near_sets if site in s)
        regret_bound, bound_from = _regret_bound(
            site in hubs or status == "required", solved.get((site, "open")), open_bounds, j, optimum
        )
        rows.append(
            {
                "site_id": site,
                "site_name": problem.site_names[j],
                "site_type": problem.site_types[j],
                "base_status": status,
                "in_optimum": site in hubs,
                "open_status": forced["open"][0],
                "open_objective": forced["open"][1],
                "regret": forced["open"][2],
                "regret_kind": forced["open"][3],
                "closed_status": forced["closed"][0],
                "closed_objective": forced["closed"][1],
                "value": forced["closed"][2],
                "value_kind": forced["closed"][3],
                "near_optimal_plans": count,
                "near_optimal_share": count / len(near_sets),
                "note": " | ".join(notes),
                "regret_bound": regret_bound,
                "regret_bound_source": bound_from,
            }
        )
    rows.sort(key=_rank_key)
    sites = tuple(SiteAssessment(rank=k, **row) for k, row in enumerate(rows, start=1))
    excluded = tuple(problem.site_ids[j] for j in range(problem.n_sites) if problem.site_status[j] == "excluded")
    return Shortlist(
        optimum=optimum,
        base=base,
        best=best,
        best_forcing=best_forcing,
        sites=sites,
        tolerance=float(tolerance),
        n_near_optimal=len(near_sets),
        excluded_sites=excluded,
        n_solves=len(tasks),
        runtime_s=time.perf_counter() - started,
    )


def _whole_model_plans(
    problem: Problem, solved: Mapping[tuple[str, str], SolveRecord]
) -> dict[tuple[str, str], SolveRecord]:
    """The forced solves whose valid plan is a plan of the whole model too (module docstring, "Best plan").

    Every forcing but a required site forced closed adds a rule: a plan valid with it is valid
    without it. Forcing a required site closed lifts a rule instead.
    """
    required = {problem.site_ids[j] for j in range(problem.n_sites) if problem.site_status[j] == "required"}
    return {
        (site, force): record
        for (site, force), record in solved.items()
        if record.usable and record.objective is not None and not (force == "closed" and site in required)
    }


def _best(base_objective: float, whole: Mapping[tuple[str, str], SolveRecord]) -> tuple[tuple[str, str] | None, float]:
    """The forcing whose plan has the least objective, and that objective (``None``: no plan beats the base's).

    The first one on a tie, the base plan before any.
    """
    best: tuple[str, str] | None = None
    best_objective = base_objective
    for forcing, record in whole.items():
        if record.objective is not None and record.objective < best_objective:
            best, best_objective = forcing, record.objective
    return best, best_objective


def _as_whole_model_plan(record: SolveRecord, base: SolveRecord, forcing: tuple[str, str]) -> SolveRecord:
    """A forced solve's plan as a plan of the whole model: not proven optimal, the base solve's lower bound.

    The forced solve's own bound and gap are the forced problem's; only the base solve's
    bound holds for every plan of the whole model.
    """
    bound = base.plan.bound
    objective = record.plan.objective
    gap = None if bound is None or objective is None else relative_gap(objective, bound)
    stats = {key: value for key, value in record.plan.stats.items() if key != "bounds"}
    if "bounds" in base.plan.stats:
        stats["bounds"] = base.plan.stats["bounds"]
    source = best_source_words(forcing)
    note = (
        f"the best plan of the shortlist's solves, found by {source}: a plan of the whole model, "
        f"{NOT_PROVEN_OPTIMAL}; its lower bound is the base solve's"
    )
    notes = (note, *(f"{source}: {line}" for line in record.plan.notes))  # its notes are the forced solve's
    plan = dataclasses.replace(record.plan, status="feasible", bound=bound, gap=gap, stats=stats, notes=notes)
    return dataclasses.replace(record, status="feasible", plan=plan, gap=gap)


def _figure_kind(*, forced_proven: bool, best_proven: bool) -> str:
    """The key of :data:`FIGURE_LABELS` for a regret or value (module docstring, "What a figure is")."""
    if forced_proven:
        return "proven" if best_proven else "at_least"
    return "at_most" if best_proven else "estimate"


def _regret_bound(
    opened: bool, record: SolveRecord | None, open_bounds: SiteOpenBounds, j: int, optimum: float
) -> tuple[float | None, str]:
    """A proven lower bound on site ``j``'s regret and what gave it (module docstring)."""
    if opened:  # the best plan opens it (or the rules require it): no regret can be proven
        return 0.0, "base"
    bound, source = float(open_bounds.bounds[j]), open_bounds.sources[j]
    if record is not None and record.status == "infeasible":
        bound, source = math.inf, "solver"
    elif record is not None and record.plan.bound is not None and record.plan.bound > bound:
        bound, source = float(record.plan.bound), "solver"
    if bound == -math.inf:
        return None, ""
    return max(0.0, bound - optimum), source


def _rank_key(row: Mapping[str, Any]) -> tuple[float, float, str]:
    regret = row["regret"] if row["open_status"] != "screened" else row["regret_bound"]
    value = row["value"]
    return (
        math.inf if regret is None else regret,
        -(-math.inf if value is None else value),
        row["site_id"],
    )
