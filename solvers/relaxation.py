"""The LP relaxation of the whole model, priced over every allowed unit-site pair.

The relaxation is built by :func:`solvers.formulation.build_formulation` over some pairs
(e.g. each unit's ``k`` nearest sites) and solved with HiGHS; the pairs left out are then
priced from the LP's row duals and those with a negative reduced cost added, until none is
left. Its value is a bound for every plan of the whole model. The single MIP
(:mod:`solvers.mip`) uses it to prove a pruned model's answer for the whole model, the
neighbourhood search (:mod:`solvers.lns`) to measure its plans and to start from its
rounding.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulp

from catchment.objective import travel_terms
from catchment.problem import Problem
from solvers.backends import WarmHiGHS, run_highs, time_left
from solvers.common import Candidates, candidate_pairs
from solvers.formulation import build_formulation

__all__ = [
    "Relaxation",
    "RowDuals",
    "solve_relaxation",
    "PricedRelaxation",
    "priced_relaxation",
    "proof_relaxation",
    "proven_relaxation",
    "minute_weights",
    "PROOF_PRICING_ROUNDS",
    "PROOF_PER_UNIT",
]

#: Rounds of pricing before the bound is reported for the pruned model only (London LSOAs: 4).
_PRICING_ROUNDS = 10
#: Rounds of pricing when the bound must prove a plan optimal for the whole model (each
#: round adds every pair with a negative reduced cost, so few are ever needed).
PROOF_PRICING_ROUNDS = 100
#: Pairs priced in per unit and round for that proof: each unit's most negative only
#: (pmed16, 400 points, 5 medians: 37 s to price out 160,000 pairs, 87 s adding all).
PROOF_PER_UNIT = 20


@dataclass(frozen=True)
class RowDuals:
    """The LP's row duals that a Lagrangian relaxation starts from (HiGHS's signs).

    Attributes
    ----------
    assign : ndarray
        Each unit's ``assign`` row (free).
    maxtravel : ndarray
        Each unit's ``maxtravel`` row (``>= 0``; 0 for a unit without one).
    size : ndarray
        Each site's ``size`` row (``<= 0``; 0 for a site without one).
    """

    assign: np.ndarray
    maxtravel: np.ndarray
    size: np.ndarray


@dataclass
class Relaxation:
    """The LP relaxation of the whole model."""

    status: str
    bound: float | None = None
    site_of_unit: np.ndarray | None = None
    seconds: float = 0.0
    timed_out: bool = False
    rounds: int = 0
    pairs_added: int = 0
    priced: bool = False
    cand: Candidates | None = None
    #: LP value of each pair of ``cand`` (same order) and of each site's ``open`` variable.
    pair_share: np.ndarray | None = None
    open_share: np.ndarray | None = None
    #: With ``reduced_costs=True`` and pricing finished: the reduced cost of every allowed
    #: pair, ``(n_units, n_sites)``, ``inf`` where the rules allow no pair.
    reduced: np.ndarray | None = None
    #: The row duals of the last LP solved (see :class:`RowDuals`).
    duals: RowDuals | None = None


@dataclass(frozen=True)
class PricedRelaxation:
    """The LP relaxation of the whole model, priced over every allowed pair.

    Attributes
    ----------
    bound : float or None
        The LP value: a lower bound for every plan of the whole model. ``None`` when it is
        not proven so (the LP was not solved, or pricing could not finish in time, or the
        model has rows pricing does not model: see :class:`_Pricer`).
    reduced : ndarray or None
        ``(n_units, n_sites)``: every allowed pair's reduced cost at the LP's duals
        (``inf`` where the rules allow no pair); set whenever ``bound`` is.
    status : str
        The LP's: ``optimal``, ``infeasible`` or ``unsolved``.
    rounds, pairs_added : int
        LP solves, and pairs brought in by pricing.
    seconds : float
    """

    bound: float | None
    reduced: np.ndarray | None
    status: str
    rounds: int
    pairs_added: int
    seconds: float


def priced_relaxation(
    problem: Problem, cand: Candidates, *, deadline: float | None = None, threads: int | None = None
) -> PricedRelaxation:
    """Solve the relaxation over ``cand`` and price every other allowed pair until none is left.

    Parameters
    ----------
    problem
        The problem.
    cand
        The pairs of the first LP (e.g. a pruned MIP's; every allowed pair is priced).
    deadline
        ``time.perf_counter()`` value to stop at, or ``None``.
    threads
        HiGHS threads, or ``None``.

    Returns
    -------
    PricedRelaxation
    """
    return proven_relaxation(proof_relaxation(problem, cand, deadline=deadline, threads=threads))


def proof_relaxation(
    problem: Problem, cand: Candidates, *, deadline: float | None = None, threads: int | None = None
) -> Relaxation:
    """The relaxation over ``cand`` priced as a proof needs (reduced costs of every allowed pair).

    :func:`proven_relaxation` says what it proves; its duals also start
    :func:`solvers.lagrangian.lagrangian_bound`.
    """
    return solve_relaxation(
        problem,
        cand,
        deadline=deadline,
        threads=threads,
        max_rounds=PROOF_PRICING_ROUNDS,
        reduced_costs=True,
        per_unit=PROOF_PER_UNIT,
    )


def proven_relaxation(relax: Relaxation) -> PricedRelaxation:
    """What a relaxation solved with ``reduced_costs=True`` proves for the whole model."""
    proven = relax.status == "optimal" and relax.priced and relax.reduced is not None
    return PricedRelaxation(
        relax.bound if proven else None,
        relax.reduced if proven else None,
        relax.status,
        relax.rounds,
        relax.pairs_added,
        relax.seconds,
    )


# ---------------------------------------------------------------------------- bound
def solve_relaxation(
    problem: Problem,
    cand: Candidates,
    *,
    deadline: float | None,
    threads: int | None,
    max_rounds: int = _PRICING_ROUNDS,
    reduced_costs: bool = False,
    per_unit: int | None = None,
) -> Relaxation:
    """LP relaxation over ``cand``, extended by pricing until no left-out pair could lower it.

    The first LP is built by :func:`solvers.formulation.build_formulation` (the MIP's own rows, relaxed; with
    pruned pairs, the size rows and the ``max_travel`` lower bound are the whole model's).
    Priced pairs are added to the HiGHS model in place (a column on the unit's assignment
    row, the site's floor, size and serve rows and the unit's max-travel row, and its
    linking row), so each re-solve starts from the previous basis. ``reduced_costs``: when
    pricing finishes, record every allowed pair's reduced cost (:attr:`Relaxation.reduced`).
    ``per_unit``: price in at most this many pairs per unit and round (the most negative).
    """
    import highspy

    out = Relaxation(status="unsolved", cand=cand)
    t0 = time.perf_counter()
    whole = candidate_pairs(problem, k=None) if cand.pruned else None
    form = build_formulation(problem, cand, "relaxation", "cuts", whole=whole)
    for var in form.prob.variables():
        var.cat = pulp.LpContinuous
    form.prob.solve(WarmHiGHS(msg=False, mip=False, threads=threads, deadline=deadline))
    out.rounds = 1
    highs = form.prob.solverModel
    pricer = _Pricer.create(problem, form, cand, whole)
    units, sites = cand.units.copy(), cand.sites.copy()
    while True:
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            out.status = "infeasible"
            break
        if status != highspy.HighsModelStatus.kOptimal:
            out.status = "unsolved"
            out.timed_out = status == highspy.HighsModelStatus.kTimeLimit
            break
        out.status = "optimal"
        out.bound = float(highs.getInfo().objective_function_value)
        solution = highs.getSolution()
        col_value = np.asarray(solution.col_value)
        values = col_value[pricer.x_cols(units.size)]
        out.pair_share = values
        out.duals = pricer.duals(np.asarray(solution.row_dual))
        out.open_share = np.where(pricer.open_col >= 0, col_value[np.maximum(pricer.open_col, 0)], 0.0)
        out.site_of_unit = _largest_share(problem.n_units, units, sites, values)
        out.cand = dataclasses.replace(cand, units=units, sites=sites, travel=problem.travel_min[units, sites])
        if not cand.pruned:  # every allowed pair is in the model
            out.priced = True
            if reduced_costs:
                out.reduced = pricer.reduced_matrix(units, sites, col_value.size, solution)
            break
        if pricer.allowed is None:  # rows pricing cannot account for: the bound is the pruned model's
            break
        extra = pricer.negative(np.asarray(solution.row_dual), per_unit=per_unit)
        if extra.shape[0] == 0:
            out.priced = True
            if reduced_costs:
                out.reduced = pricer.reduced_matrix(units, sites, col_value.size, solution)
            break
        if out.rounds >= max_rounds:
            break
        if deadline is not None and time.perf_counter() >= deadline:
            out.timed_out = True
            break
        pricer.add(highs, extra)
        units = np.concatenate([units, extra[:, 0]])
        sites = np.concatenate([sites, extra[:, 1]])
        out.pairs_added += int(extra.shape[0])
        left = time_left(deadline)  # HiGHS's time limit counts from the model's first run
        highs.setOptionValue("time_limit", math.inf if left is None else highs.getRunTime() + left)
        run_highs(highs)
        out.rounds += 1
    if out.cand is not None and out.priced:
        order = np.lexsort((out.cand.sites, out.cand.units))
        out.cand = dataclasses.replace(
            out.cand,
            units=out.cand.units[order],
            sites=out.cand.sites[order],
            travel=out.cand.travel[order],
            pruned=False,
        )
        assert out.pair_share is not None
        out.pair_share = out.pair_share[order]
    out.seconds = time.perf_counter() - t0
    return out


def _largest_share(n: int, units: np.ndarray, sites: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Site of each unit with the largest assignment share in the relaxation."""
    order = np.lexsort((values, units))  # by unit, then by value: the last of each unit is its largest
    last = np.flatnonzero(np.r_[units[order][1:] != units[order][:-1], True])
    site_of = np.full(n, -1, dtype=np.int64)
    site_of[units[order][last]] = sites[order][last]
    return site_of


@dataclass
class _Pricer:
    r"""Reduced costs of left-out pairs from the relaxation's row duals, and adding them.

    A pair's column has coefficient 1 on its unit's ``assign`` row, :math:`a_i` on its
    site's ``floor`` row, :math:`p_i` on its ``size`` row, -1 on its ``serve`` row (floor
    0), :math:`-t_{ij}` on its unit's ``maxtravel`` row, and 1 on a new linking row
    :math:`x_{ij} - y_j \le 0`, whose dual is 0 while it is absent; so its reduced cost is
    :math:`c_{ij} - u_i - a_i f_j - p_i s_j + v_j + t_{ij} m_i` (HiGHS's row duals: the
    reduced cost of a column is its cost less the duals times its coefficients). A row
    the model lacks (no ``size`` row where the size cannot bind, no ``maxtravel`` row for
    a unit whose pairs are all within the bound of ``max_travel``) is a row of the whole
    model with dual 0, so the reduced costs are those of the whole model's relaxation.
    Sites without a host serving several boundary groups (their pairs link to group
    variables) and lexicographic objectives (the LP minimises one term) are not priced:
    :attr:`allowed` is then ``None``.
    """

    problem: Problem
    cost: np.ndarray
    floor_coef: np.ndarray
    assign_row: np.ndarray
    floor_row: np.ndarray
    size_row: np.ndarray
    serve_row: np.ndarray
    maxtravel_row: np.ndarray
    travel: np.ndarray
    open_col: np.ndarray
    x_index: np.ndarray
    first_added: int
    allowed: np.ndarray | None
    whole: np.ndarray | None

    @classmethod
    def create(cls, problem: Problem, form: Any, cand: Candidates, whole: Candidates | None = None) -> _Pricer:
        n, m = problem.n_units, problem.n_sites
        ul, sl = form.unit_labels, form.site_labels

        def row(name: str) -> int:
            con = form.prob.get_constraint_by_name(name)
            return -1 if con is None else int(con.index)

        assign_row = np.array([row(f"assign_{ul[i]}") for i in range(n)], dtype=np.int64)
        maxtravel_row = np.array([row(f"maxtravel_{ul[i]}") for i in range(n)], dtype=np.int64)
        floor_row = np.full(m, -1, dtype=np.int64)
        size_row = np.full(m, -1, dtype=np.int64)
        serve_row = np.full(m, -1, dtype=np.int64)
        open_col = np.full(m, -1, dtype=np.int64)
        for j, var in form.open_vars.items():
            floor_row[j] = row(f"floor_{sl[j]}")
            size_row[j] = row(f"size_{sl[j]}")
            serve_row[j] = row(f"serve_{sl[j]}")
            open_col[j] = var.index
        travel = np.where(np.isfinite(problem.travel_min), problem.travel_min, 0.0)
        cost = minute_weights(problem)[:, None] * travel
        # Rows a new column would need that this pricing does not model: give up pricing.
        plain = not form.group_vars and problem.objective.lexicographic is None
        allowed = mask = None
        if plain and cand.pruned:
            mask = (whole or candidate_pairs(problem, k=None)).mask(n, m)
            allowed = mask.copy()
            allowed[cand.units, cand.sites] = False
        return cls(
            problem,
            cost,
            problem.floor_coefficients,
            assign_row,
            floor_row,
            size_row,
            serve_row,
            maxtravel_row,
            travel,
            open_col,
            np.array([v.index for v in form.x], dtype=np.int64),
            int(form.prob.solverModel.getNumCol()),
            allowed,
            mask,
        )

    def x_cols(self, n_pairs: int) -> np.ndarray:
        """Column of every pair's variable: the model's, then the priced ones (appended in order)."""
        added = n_pairs - self.x_index.size
        return np.concatenate([self.x_index, self.first_added + np.arange(added)])

    def reduced(self, row_dual: np.ndarray) -> np.ndarray:
        """Reduced cost of every pair as a new column, ``(n_units, n_sites)``."""
        pop = self.problem.population

        def dual(rows: np.ndarray) -> np.ndarray:
            return np.where(rows >= 0, row_dual[np.maximum(rows, 0)], 0.0)

        u = row_dual[self.assign_row]
        f, s, v, mt = dual(self.floor_row), dual(self.size_row), dual(self.serve_row), dual(self.maxtravel_row)
        return (
            self.cost
            - u[:, None]
            - self.floor_coef[:, None] * f[None, :]
            - pop[:, None] * s[None, :]
            + v[None, :]
            + self.travel * mt[:, None]
        )

    def duals(self, row_dual: np.ndarray) -> RowDuals:
        """The unit and size-row duals (0 for a row the model lacks)."""

        def dual(rows: np.ndarray) -> np.ndarray:
            return np.where(rows >= 0, row_dual[np.maximum(rows, 0)], 0.0)

        return RowDuals(dual(self.assign_row), dual(self.maxtravel_row), dual(self.size_row))

    def negative(self, row_dual: np.ndarray, *, per_unit: int | None = None) -> np.ndarray:
        """Left-out pairs with a negative reduced cost, as ``(unit, site)`` rows (at most ``per_unit`` a unit)."""
        assert self.allowed is not None
        reduced = self.reduced(row_dual)
        tol = 1e-7 * max(1e-9, float(np.abs(self.cost).max()))
        negative = self.allowed & (reduced < -tol)
        if per_unit is not None and negative.sum(axis=1).max(initial=0) > per_unit:
            # only each unit's most negative pairs: smaller LPs, and the rest are often priced out
            masked = np.where(negative, reduced, np.inf)
            top = np.argpartition(masked, per_unit - 1, axis=1)[:, :per_unit]
            keep = np.zeros_like(negative)
            np.put_along_axis(keep, top, True, axis=1)
            negative &= keep
        return np.argwhere(negative)

    def reduced_matrix(self, units: np.ndarray, sites: np.ndarray, n_cols: int, solution: Any) -> np.ndarray:
        """Every allowed pair's reduced cost: the LP's own for its columns, priced for the others."""
        n, m = self.problem.n_units, self.problem.n_sites
        if self.whole is None:  # nothing was left out: every allowed pair is a column
            out = np.full((n, m), np.inf)
        else:
            out = np.where(self.whole, self.reduced(np.asarray(solution.row_dual)), np.inf)
        col_dual = np.asarray(solution.col_dual)
        out[units, sites] = col_dual[self.x_cols(units.size)]
        return out

    def add(self, highs: Any, pairs: np.ndarray) -> None:
        """Add the pairs' columns and linking rows to the HiGHS model."""
        i, j = pairs[:, 0], pairs[:, 1]
        pop = self.problem.population
        k = i.size
        first = highs.getNumCol()

        def entry(rows: np.ndarray, coef: np.ndarray) -> np.ndarray:
            has = rows >= 0
            return np.c_[np.where(has, rows, -1), np.where(has, coef, 0.0)]

        entries = np.stack(
            [
                np.c_[self.assign_row[i], np.ones(k)],
                entry(self.floor_row[j], self.floor_coef[i]),
                entry(self.size_row[j], pop[i]),
                entry(self.serve_row[j], -np.ones(k)),
                entry(self.maxtravel_row[i], -self.travel[i, j]),
            ],
            axis=1,
        )  # (pair, row kind, [row, coefficient])
        keep = entries[:, :, 0] >= 0
        counts = keep.sum(axis=1)
        starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int32)
        index = entries[:, :, 0][keep].astype(np.int32)
        value = entries[:, :, 1][keep].astype(float)
        highs.addCols(k, self.cost[i, j].astype(float), np.zeros(k), np.ones(k), int(index.size), starts, index, value)
        cols = first + np.arange(k)
        link_index = np.c_[cols, self.open_col[j]].ravel().astype(np.int32)
        link_value = np.tile([1.0, -1.0], k)
        highs.addRows(
            k, np.full(k, -math.inf), np.zeros(k), 2 * k, (2 * np.arange(k)).astype(np.int32), link_index, link_value
        )
        assert self.allowed is not None
        self.allowed[i, j] = False


def minute_weights(problem: Problem) -> np.ndarray:
    """Each unit's objective per minute of its travel (the weighted travel terms summed)."""
    weight = np.zeros(problem.n_units)
    for term in travel_terms():
        if problem.objective.weights.get(term.name, 0.0) > 0:
            weight += problem.objective.weights[term.name] * term.travel_shares(problem)
    return weight
