"""The polysystem mixed-integer model (PuLP), solved with HiGHS or CBC.

:class:`PolysystemModel` states the formulation; :func:`solvers.dispatch.solve` is the
one-call entry point. Both return an immutable :class:`catchment.plan.Plan` whose status is honest:
``optimal`` only when proven (within ``mip_gap``) for the whole model, a bound only when it
holds for every plan, even when the model was restricted to each unit's ``k`` nearest
sites (the left-out pairs are priced; see :func:`_prove_whole_model`) or reduced by
reduced-cost fixing (:func:`_fixing_bounds`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pulp

from catchment.plan import NOT_PROVEN_OPTIMAL, Plan, gap_words, relative_gap
from catchment.problem import Objective, Problem, Rules
from catchment.settings import DEFAULTS, METHODS, check_solver_options
from catchment.timing import STOPPED_BY_TIME_LIMIT
from solvers.backends import solver_available, time_left
from solvers.common import (
    AUTO_K,
    AUTO_K_PAIRS,
    Candidates,
    candidate_pairs,
    extend_candidates,
    lp_labels,
    objective_key,
    objective_value,
    restrict_candidates,
    site_size_limits,
    term_values,
)
from solvers.formulation import (
    Attempt,
    Formulation,
    build_formulation,
    plan_indices,
    solve_formulation,
    stage_key,
)
from solvers.heuristic import solve_heuristic
from solvers.lagrangian import LagrangianBound, bound_record, bound_source, lagrangian_bound, lagrangian_deadline
from solvers.relaxation import PROOF_PER_UNIT, PROOF_PRICING_ROUNDS, proven_relaxation, solve_relaxation

__all__ = ["PolysystemModel", "check_solver_options", "METHODS"]

logger = logging.getLogger(__name__)

#: Share of the time limit the heuristic warm start may take at most (its work is counted in
#: steps; this only stops it on a slow machine or a short limit, and the plan then says so).
_HEURISTIC_SHARE = 0.2


class PolysystemModel:
    r"""Polysystem planning as a mixed-integer program.

    **Sets.** Units :math:`I` (practices or LSOAs, population :math:`p_i`, IMD score
    :math:`d_i`); usable sites :math:`J` (not excluded); options :math:`O_j` of site
    :math:`j` (capital :math:`c_{jo}`, capacity :math:`\kappa_{jo}`); candidate pairs
    :math:`A \subseteq I \times J` with finite travel :math:`t_{ij} \le` ``max_travel_min``,
    :math:`p_i` within the site's size limit, in the group of the site's host unit
    (``respect_groups``), and connected to the host within the site's pairs
    (``contiguity``); with ``k_nearest`` only each unit's :math:`k` nearest such sites,
    plus host pairs and enough of the nearest units of each required site to reach the
    floor. :math:`A_i`, :math:`A^j` are the sites of unit :math:`i` and the units of site
    :math:`j`; :math:`h_j` is the unit hosting site :math:`j` (``Problem.site_unit``);
    :math:`W` the waived units; :math:`F` the floor, :math:`C` the ceiling,
    :math:`P=\sum_i p_i`, :math:`D=\sum_i p_i d_i`.

    **Variables.** :math:`x_{ij}\in\{0,1\}` unit :math:`i` joins the polysystem of site
    :math:`j`, only for :math:`(i,j)\in A` (sparse); :math:`y_j\in\{0,1\}` the hub at
    :math:`j` opens (fixed to 1 for required sites); :math:`w_{jo}\in\{0,1\}` it opens with
    option :math:`o` (identified with :math:`y_j` when :math:`|O_j|=1`);
    :math:`z_{jg}\in\{0,1\}` the polysystem of a site without host unit serves group
    :math:`g` (``respect_groups``); :math:`T\ge 0` the longest travel (``max_travel``
    objective); flow variables for contiguity (:mod:`solvers.contiguity`).

    **Constraints** (named after real ids, e.g. ``assign_E01000001``, ``floor_S12``):

    * ``assign_i``: :math:`\sum_{j\in A_i} x_{ij} = 1`.
    * ``link(i,j)``: :math:`x_{ij}\le y_j` (disaggregated: the strong linking), or
      :math:`x_{ij}\le z_{j,g(i)}` with ``onegroup_j``: :math:`\sum_g z_{jg}\le y_j`.
    * ``host_j``: :math:`x_{h_j j} = y_j` (a hub's host unit is in its polysystem); when
      the host cannot be served by its own site, :math:`y_j\le 0`.
    * ``option_j``: :math:`\sum_{o} w_{jo} = y_j`.
    * ``floor_j``: :math:`\sum_{i\in A^j} a_i x_{ij}\ge F y_j` with :math:`a_i=F` for
      waived units and :math:`a_i=\min(p_i, F)` otherwise — a waived unit lifts its
      polysystem's floor, and the capped coefficients are a valid tightening.
    * ``size_j``: :math:`\sum_{i} p_i x_{ij}\le \sum_o \min(\kappa_{jo}, C)\, w_{jo}`
      (ceiling and capacity of the chosen option; omitted when it cannot bind).
    * ``min_polysystems`` / ``max_polysystems``: bounds on :math:`\sum_j y_j`; without
      waivers also the valid ``count_floor_bound``
      :math:`\sum_j y_j\le\lfloor\sum_i\min(p_i,F)/F\rfloor`.
    * ``budget``: :math:`\sum_{j,o} c_{jo} w_{jo}\le B`.
    * ``serve_j`` (floor 0 only): :math:`y_j\le\sum_i x_{ij}` — no empty polysystem.
    * ``maxtravel_i``: :math:`T\ge\sum_j t_{ij}x_{ij}` (only for units whose farthest
      candidate exceeds :math:`\max_i\min_j t_{ij}`, the lower bound of :math:`T`).
    * Contiguity (``contiguity="cuts"``, default): rounds of ``a,b``-separator cuts
      ``sep<n>(a,j)``: :math:`x_{aj}\le\sum_{s\in S}x_{sj}` for every piece cut off from
      the host, plus, from the first disconnected round on, the neighbour inequalities
      ``nbr(i,j)``: :math:`x_{ij}\le\sum_{a\in N(i)\cap A^j}x_{aj}`;
      after 3 rounds still disconnected, the flow constraints are added;
      ``contiguity="flow"``: single-commodity flow from :math:`h_j` in one solve. Both in
      :mod:`solvers.contiguity`, which also explains and measures the choice.

    **Objective.** Terms :math:`\text{mean} = \sum p_i t_{ij} x_{ij}/P`,
    :math:`\text{max} = T`, :math:`\text{deprivation} = \sum p_i d_i t_{ij} x_{ij}/D`,
    :math:`\text{capital} = \sum c_{jo} w_{jo}/10^6` (GBP millions). Minimise the weighted
    sum, or lexicographically: minimise each term in turn, adding
    ``lex_<term>``: term :math:`\le v^*(1+\varepsilon)` for the earlier ones (each stage
    warm-started from the previous solution). A lexicographic plan reports its first term
    as ``objective`` with that stage's bound; every term is in ``stats["term_values"]``.

    **Honesty.** ``Plan.status`` is ``optimal`` only when it is proven within ``mip_gap``
    for the whole model (``prob.sol_status``, not PuLP's ``LpStatus``), and ``bound``
    always holds for every plan of the whole model. Without pruning both come from the
    solver (HiGHS's dual bound, CBC's log). When the ``k`` rule removed pairs, the
    solver's status and bound are only the pruned model's: the left-out pairs are then
    priced against the duals of the LP relaxation over every allowed pair, the pairs that
    could still be in a better plan are added and the MIP re-solved, and the plan is
    ``optimal`` only when no pair left out can improve it by more than ``mip_gap``
    (reduced-cost fixing; the argument is in :func:`_prove_whole_model`). Otherwise it is
    ``feasible`` with the priced bound (or none), and the pruned model's optimum is a
    note (``stats["restricted_status"]``, ``stats["proof"]``). A pruned model that is
    infeasible is retried with ``2k`` and then every pair before infeasibility is
    claimed. A plan not proven optimal that has a bound names it in ``stats["bounds"]``
    (source ``"mip"``, the solver's own, when no LP or Lagrangian bound is stronger).
    ``stats`` records pairs kept, ``k``, model size, build/solve/heuristic seconds, the
    warm start's fate and the contiguity rounds.

    A model with every pair under a floor or a size limit (where the solver's LP bound is
    weak) and a time limit is first reduced by reduced-cost fixing against the LP and
    Lagrangian bounds (``fixing``; :func:`_fixing_bounds` gives the argument): the MIP is
    solved over the pairs that may be in a plan near the optimum, pairs that may be in a
    better plan than its answer are brought back, and the answer is ``optimal`` only when
    every pair left out is ruled out; its bound is the largest of the LP bound, the
    Lagrangian bound and the reduced MIP's bound capped by the pairs left out, and
    ``stats["bounds"]`` says which one certified the gap.

    Parameters
    ----------
    problem
        The problem (immutable; only read).
    k_nearest
        Keep only each unit's ``k`` nearest usable sites. ``None`` (default) keeps every
        pair unless there are more than 50,000 usable pairs, in which case ``k=20``. Pass a
        ``k`` at least the number of sites for the full model.
    contiguity
        How contiguity (when the rules ask for it) is imposed: ``"cuts"`` or ``"flow"``.
    name
        Model name (LP files).

    Examples
    --------
    >>> model = PolysystemModel.from_problem(problem, k_nearest=20)   # doctest: +SKIP
    >>> plan = model.solve(solver="highs", time_limit=60)              # doctest: +SKIP
    """

    def __init__(
        self,
        problem: Problem,
        *,
        k_nearest: int | None = None,
        contiguity: str = DEFAULTS.contiguity,
        name: str = "polysystems",
    ) -> None:
        check_solver_options(k_nearest=k_nearest, contiguity=contiguity)
        self.problem = problem
        self.k_nearest = k_nearest
        self.contiguity = contiguity
        self.name = lp_labels([name])[0]
        self._last: Formulation | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_problem(
        cls,
        problem: Problem,
        *,
        k_nearest: int | None = None,
        contiguity: str = DEFAULTS.contiguity,
        name: str = "polysystems",
    ) -> PolysystemModel:
        """Model for an existing :class:`~catchment.problem.Problem`."""
        return cls(problem, k_nearest=k_nearest, contiguity=contiguity, name=name)

    @classmethod
    def from_cost_matrix(
        cls,
        travel_min: Any,
        population: Sequence[float],
        *,
        unit_ids: Sequence[str] | None = None,
        site_ids: Sequence[str] | None = None,
        rules: Rules | None = None,
        objective: Objective | None = None,
        k_nearest: int | None = None,
        contiguity: str = DEFAULTS.contiguity,
        name: str = "polysystems",
        **problem_fields: Any,
    ) -> PolysystemModel:
        """Model from plain arrays (spopt style).

        Parameters
        ----------
        travel_min
            ``(n_units, n_sites)`` travel minutes (``inf`` where unreachable).
        population
            Population of each unit.
        unit_ids, site_ids
            Ids (default ``U0, U1, ...`` and ``S0, S1, ...``).
        rules, objective
            Default :class:`~catchment.problem.Rules` (floor 50,000) and mean travel.
        k_nearest, contiguity, name
            As for the constructor.
        **problem_fields
            Any other :meth:`Problem.from_arrays` argument (``options``, ``site_status``,
            ``deprivation``, ``groups``, ``adjacency``, ``site_unit``, ...).

        Raises
        ------
        catchment.ProblemDefinitionError
            If the arrays or rules are inconsistent.
        """
        travel = np.asarray(travel_min, dtype=float)
        n, m = travel.shape if travel.ndim == 2 else (len(population), 0)
        problem = Problem.from_arrays(
            unit_ids=unit_ids if unit_ids is not None else [f"U{i}" for i in range(n)],
            population=population,
            site_ids=site_ids if site_ids is not None else [f"S{j}" for j in range(m)],
            travel_min=travel,
            rules=rules,
            objective=objective,
            **problem_fields,
        )
        return cls(problem, k_nearest=k_nearest, contiguity=contiguity, name=name)

    # ------------------------------------------------------------------ inspection
    @property
    def lp(self) -> pulp.LpProblem | None:
        """The PuLP model of the last solve (``None`` before :meth:`solve`)."""
        return None if self._last is None else self._last.prob

    def effective_k(self) -> int | None:
        """The nearest-site rule the first attempt uses (``None``: every pair)."""
        n_usable = int(self.problem.usable_sites().size)
        k = self.k_nearest
        if k is None and self.problem.n_units * n_usable > AUTO_K_PAIRS:
            k = AUTO_K
        return None if k is None or k >= n_usable else k

    def build(self, *, k: int | None = None, keep: np.ndarray | None = None) -> pulp.LpProblem:
        """Build (without solving) the model for the nearest-site rule ``k``."""
        self._last = build_formulation(
            self.problem, candidate_pairs(self.problem, k=k, keep=keep), self.name, self.contiguity
        )
        return self._last.prob

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        *,
        solver: str = DEFAULTS.solver,
        time_limit: float | None = DEFAULTS.time_limit,
        mip_gap: float = DEFAULTS.mip_gap,
        warm_start: bool = True,
        threads: int | None = DEFAULTS.threads,
        msg: bool = False,
        start: Plan | None = None,
        node_limit: int | None = None,
        prove: bool = True,
        fixing: bool | None = None,
    ) -> Plan:
        """Solve the model and return the plan.

        Parameters
        ----------
        solver
            ``"highs"`` (default) or ``"cbc"``.
        time_limit
            Wall-clock seconds for the whole call (heuristic, every retry and every
            lexicographic stage), or ``None``.
        mip_gap
            Relative gap at which a solution counts as optimal.
        warm_start
            Start the solver from the heuristic's plan (also the fallback answer when the
            solver finds no plan in time).
        threads
            Solver threads (``None``: the solver's default).
        msg
            Forward the solver's log to the ``solvers.backends`` logger.
        start
            A valid plan of this problem to start from instead of the heuristic's (a
            previous plan, or the incumbent of :func:`solvers.lns.solve_lns`): the warm
            start, and the answer when the solver finds nothing better in time.
        node_limit
            Branch-and-bound nodes per solver call at most (``None``: no limit). A count,
            so the plan does not depend on the machine's speed.
        prove
            When the ``k`` rule left pairs out, prove the answer for the whole model by
            pricing them (see "Honesty" above). ``False`` (the neighbourhood search's
            sub-models, which only need a better plan) skips it: such a plan is then
            ``feasible``, and ``stats["restricted_status"]`` says what the solver proved
            over the pairs kept.
        fixing
            Reduced-cost fixing with the LP and Lagrangian bounds before the MIP of a model
            with every pair (no ``k`` rule) under a time limit: the MIP is solved over the
            pairs that may be in a better plan, and the answer certified for the whole
            model with the stronger bound (see :func:`_fixing_bounds`). ``None``
            (default): when it pays, under a floor or a size limit, from
            :data:`_FIXING_MIN_PAIRS` pairs (:func:`_fixing_pays`) and with at least
            :data:`_FIXING_MIN_SECONDS` left after the warm start; ``True``: for every
            such model (not a lexicographic objective); ``False``: never.

        Returns
        -------
        Plan
            ``optimal`` (proven within ``mip_gap``), ``feasible`` (not proven),
            ``infeasible`` (no plan satisfies the rules; run the diagnosis) or
            ``unsolved`` (no plan and no proof within the time limit).

        Raises
        ------
        ValueError
            If an option is invalid.
        RuntimeError
            If the solver is not installed.
        """
        check_solver_options(solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
        if not solver_available(solver):
            raise RuntimeError(f"solver {solver!r} is not available in this environment")
        t0 = time.perf_counter()
        deadline = None if time_limit is None else t0 + float(time_limit)
        problem = self.problem

        heuristic = start
        heuristic_s = 0.0
        if start is not None and set(start.assignment) != set(problem.unit_ids):
            raise ValueError("start must assign every unit of the problem")
        heuristic_timed_out = False
        if start is None and warm_start:
            share = None if time_limit is None else _HEURISTIC_SHARE * float(time_limit)
            heuristic = solve_heuristic(problem, time_limit=share)
            heuristic_s = time.perf_counter() - t0
            heuristic_timed_out = heuristic is not None and bool(heuristic.stats.get("stopped_by_time_limit"))
        h_sites = None if heuristic is None else plan_indices(problem, heuristic)

        attempts: list[Attempt] = []
        builds: list[float] = []
        k = self.effective_k()
        fixed: _Fixing | None = None
        if fixing is not False and prove and k is None and h_sites is not None and deadline is not None:
            whole = candidate_pairs(problem, k=None)
            pays = (time_left(deadline) or 0.0) >= _FIXING_MIN_SECONDS and _fixing_pays(problem, whole)
            if problem.objective.lexicographic is None and (fixing or pays):
                fixed = _fixing_bounds(problem, whole, h_sites, deadline=deadline, threads=threads, mip_gap=mip_gap)
        if fixed is not None:
            assert h_sites is not None
            form = self._solve_fixed(
                fixed,
                h_sites,
                attempts,
                builds,
                solver=solver,
                deadline=deadline,
                mip_gap=mip_gap,
                threads=threads,
                msg=msg,
                node_limit=node_limit,
            )
        while fixed is None:
            cand = candidate_pairs(problem, k=k, keep=None if h_sites is None else h_sites[0])
            form = self._build(cand, builds)
            attempt = solve_formulation(
                problem,
                form,
                solver=solver,
                deadline=deadline,
                mip_gap=mip_gap,
                threads=threads,
                msg=msg,
                start=h_sites if warm_start or start is not None else None,
                node_limit=node_limit,
            )
            attempts.append(attempt)
            if attempt.status != "infeasible" or not cand.pruned:
                break
            n_usable = int(problem.usable_sites().size)
            k = None if k is None or 2 * k >= n_usable else 2 * k
            logger.info("the pruned model is infeasible; retrying with %s", f"k={k}" if k else "every pair")
            if deadline is not None and time.perf_counter() >= deadline:
                attempt.timed_out = True
                break
        attempts[0].timed_out |= heuristic_timed_out
        proof = None
        if fixed is not None:
            proof = _certify(problem, form, attempts, fixed, heuristic=heuristic, mip_gap=mip_gap)
        elif prove and form.cand.pruned and attempts[-1].site_of_unit is not None:
            form, proof = _prove_whole_model(
                problem,
                form,
                attempts,
                builds,
                name=self.name,
                contiguity=self.contiguity,
                solver=solver,
                deadline=deadline,
                mip_gap=mip_gap,
                threads=threads,
                msg=msg,
            )
            self._last = form
        return _make_plan(
            problem,
            form,
            attempts,
            heuristic,
            solver=solver,
            mip_gap=mip_gap,
            builds=builds,
            heuristic_s=heuristic_s,
            runtime_s=time.perf_counter() - t0,
            start_label="the heuristic's" if start is None else "the starting",
            proof=proof,
        )

    def _build(self, cand: Candidates, builds: list[float]) -> Formulation:
        """The formulation over ``cand``, kept as the last model built (:attr:`lp`); its build time to ``builds``."""
        form = build_formulation(self.problem, cand, self.name, self.contiguity)
        self._last = form
        builds.append(form.build_s)
        return form

    def _solve_fixed(
        self,
        fixed: _Fixing,
        start: tuple[np.ndarray, dict[int, str]],
        attempts: list[Attempt],
        builds: list[float],
        *,
        solver: str,
        deadline: float | None,
        mip_gap: float,
        threads: int | None,
        msg: bool,
        node_limit: int | None,
    ) -> Formulation:
        r"""Solve the model reduced by :func:`_fixing_bounds`; bring pairs back until its answer is the whole model's.

        The first model keeps the pairs whose bound :math:`\ell_q` is below a target
        (:meth:`_Fixing.first_keep`). After each solve, the pairs dropped with
        :math:`\ell_q` below the incumbent less half the gap (the only ones a better plan
        may use) are brought back and the model re-solved, at most :data:`_PROOF_RESOLVES`
        times.

        When the last model was solved to optimality and the pairs brought back are at
        most :data:`_FIXING_ROW_SHARE` of those it kept, every better plan over the new
        pairs uses one of the pairs brought back, so the re-solve gets the row
        ``fixing_brought_back`` (at least one of them is used), and the bound of the plans
        over the pairs kept is the smaller of the two models' bounds
        (:attr:`_Fixing.restricted`). Such a re-solve has no incumbent (the row rules out
        the last one), so the bound so far is its cutoff: it looks only for plans below
        it, and the solver prunes every node whose bound reaches it instead of searching
        for plans that could not lower the bound. An infeasible re-solve then says that
        every plan using a pair brought back costs at least the cutoff, and the bound
        stands; the bound of a re-solve that found a plan counts only up to the cutoff
        (the nodes pruned there are not in it). On the national CCGs 06H, 70F, 36J, 71E,
        16C, 14L and 92A (gap 1e-3; without and with the cutoff one after the other, on an
        idle machine) the cutoff took the CPU seconds of the whole solves from 208 to 121
        (14L: 21.4 to 8.4), with the same plans and bounds.

        Otherwise the re-solve is of the whole reduced model, from the incumbent (a model
        with the row cannot start from it, and when most pairs come back it is nearly the
        whole model: on pmedcap1-08, 1,736 pairs brought back to 415 kept, the re-solve
        with the row took 79.6-84.1 CPU s in all, from the incumbent 60.4-61.1 s, three
        runs each). :attr:`_Fixing.keep` holds the pairs of the last model. (Giving the
        first model only a share of the time, as a search for an incumbent, was measured
        and lost, one run each on a loaded machine: national CCG 52R took 24 CPU s instead
        of 14, 15E ended at a 0.46% gap instead of 0.19%.)
        """
        problem = self.problem
        incumbent = start
        fixed.keep = fixed.first_keep(problem, start, mip_gap=mip_gap)
        added: np.ndarray | None = None  # pairs a plan of the current model must use (see below)
        while True:
            form = self._build(restrict_candidates(problem, fixed.whole, fixed.keep), builds)
            if added is not None:
                # the last model was solved to optimality: a better plan over these pairs uses one of
                # the pairs just brought back, so the re-solve looks at those plans only
                units, sites = np.nonzero(added)
                pairs = zip(units.tolist(), sites.tolist(), strict=True)
                new = [form.x_of[q] for q in pairs if q in form.x_of]  # contiguity may leave some out
                if not new:
                    return form  # no plan over these pairs uses one: the bound stands
                form.prob += pulp.lpSum(new) >= 1, "fixing_brought_back"
            attempt = solve_formulation(
                problem,
                form,
                solver=solver,
                deadline=deadline,
                mip_gap=mip_gap,
                threads=threads,
                msg=msg,
                start=None if added is not None else incumbent,
                node_limit=node_limit,
                cutoff=None if added is None else fixed.restricted,
            )
            found = None if attempt.site_of_unit is None else (attempt.site_of_unit, attempt.hub_options)
            if added is None:
                fixed.restricted = -math.inf if attempt.bound is None else attempt.bound
                if attempt.status == "optimal" and attempt.bound is None and found is not None:
                    # no bound reported: the proven answer itself, less the gap, bounds the plans over these pairs
                    value = objective_value(problem.objective, term_values(problem, *found))
                    fixed.restricted = value - mip_gap * abs(value)
                fixed.proven = attempt.status == "optimal"
            else:  # the plans over the earlier pairs are bounded already; the re-solve looked below that bound
                if attempt.status != "infeasible":  # infeasible: no plan below the cutoff, the bound stands
                    fixed.restricted = min(fixed.restricted, -math.inf if attempt.bound is None else attempt.bound)
                fixed.proven = fixed.proven and attempt.status in ("optimal", "infeasible")
            if found is not None and stage_key(problem, 0, found) <= stage_key(problem, 0, incumbent):
                incumbent = found
            attempt.site_of_unit, attempt.hub_options = incumbent
            attempt.status = "optimal" if fixed.proven else "feasible"  # the incumbent is a plan
            attempts.append(attempt)
            need = fixed.needed(problem, incumbent, mip_gap=mip_gap)
            if (
                not need.any()
                or len(attempts) > _PROOF_RESOLVES
                or (deadline is not None and time.perf_counter() >= deadline)
            ):
                return form
            logger.info("reduced-cost fixing: %d pair(s) brought back; re-solving", int(need.sum()))
            added = need if fixed.proven and need.sum() <= _FIXING_ROW_SHARE * fixed.keep.sum() else None
            fixed.keep = fixed.keep | need


# ---------------------------------------------------------------------------- the proof
#: Re-solves with pairs brought back by pricing before the answer is left unproven.
_PROOF_RESOLVES = 3


@dataclass
class _Proof:
    """What pricing the left-out pairs proved about a pruned model's answer (see :func:`_prove_whole_model`)."""

    status: str
    bound: float | None
    note: str
    lp_bound: float | None = None
    lp_status: str = "unsolved"
    pricing_rounds: int = 0
    pairs_priced_in: int = 0
    pairs_added: int = 0
    resolves: int = 0
    seconds: float = 0.0
    lagrangian: float | None = None
    #: Pairs dropped by reduced-cost fixing before the MIP (``None``: no fixing, see :func:`_fixing_bounds`).
    pairs_fixed: int | None = None

    def stats(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "pairs_fixed": self.pairs_fixed,
            "bound": self.bound,
            "lp_bound": self.lp_bound,
            "lagrangian_bound": self.lagrangian,
            "lp_status": self.lp_status,
            "pricing_rounds": self.pricing_rounds,
            "lp_pairs_priced_in": self.pairs_priced_in,
            "mip_pairs_added": self.pairs_added,
            "resolves": self.resolves,
            "seconds": round(self.seconds, 4),
        }


#: Share of the time left after the warm start that the bounds behind reduced-cost fixing may take.
_FIXING_SHARE = 0.25
#: Allowed unit-site pairs from which a model with every pair is first reduced by reduced-cost
#: fixing (see :func:`_fixing_pays`).
_FIXING_MIN_PAIRS = 2_000
#: Seconds left after the warm start below which fixing is not tried by default: the bounds take
#: seconds, and under a shorter limit the time goes to the solver (``fixing=True`` tries it anyway).
_FIXING_MIN_SECONDS = 10.0
#: The first reduced model keeps the pairs whose bound is below the strongest bound plus this share
#: (see :meth:`_Fixing.first_keep`).
_FIXING_TARGET = 0.01
#: After an optimal reduced model, the re-solve looks only at the plans that use a pair brought
#: back when those pairs are at most this share of the pairs it kept; else the whole reduced model
#: is re-solved from the incumbent (see :meth:`PolysystemModel._solve_fixed`).
_FIXING_ROW_SHARE = 1.0


@dataclass
class _Fixing:
    """The bounds computed before the MIP, and the pairs they leave (see :func:`_fixing_bounds`)."""

    start_objective: float  # the warm start's
    whole: Candidates
    allowed: np.ndarray  # (n, m) bool: every pair the rules allow
    keep: np.ndarray  # (n, m) bool: the pairs kept for the MIP
    least: np.ndarray  # (n, m): a lower bound on every plan that uses the pair (-inf: none known)
    lp: float | None
    lp_status: str
    lagrangian: LagrangianBound | None
    seconds: float
    #: A bound on every plan that uses only pairs of ``keep`` (the reduced MIPs'), and whether it is proven
    #: within the gap of the incumbent (:meth:`PolysystemModel._solve_fixed`).
    restricted: float = -math.inf
    proven: bool = False

    @property
    def dropped(self) -> int:
        return int((self.allowed & ~self.keep).sum())

    @property
    def dropped_share(self) -> float:
        return self.dropped / max(1, int(self.allowed.sum()))

    def bounds(self) -> list[float]:
        """The whole model's bounds that do not depend on the MIP (LP, Lagrangian)."""
        out = [] if self.lp is None else [self.lp]
        if self.lagrangian is not None and self.lagrangian.bound is not None:
            out.append(self.lagrangian.bound)
        return out

    def needed(self, problem: Problem, plan: tuple[np.ndarray, dict[int, str]], *, mip_gap: float) -> np.ndarray:
        """The pairs dropped that a plan better than ``plan`` by more than half ``mip_gap`` may use."""
        z = objective_value(problem.objective, term_values(problem, *plan))
        return self.allowed & ~self.keep & (self.least < z - 0.5 * mip_gap * abs(z))

    def first_keep(self, problem: Problem, plan: tuple[np.ndarray, dict[int, str]], *, mip_gap: float) -> np.ndarray:
        r"""The pairs of the first reduced model: :math:`\ell_q` below the plan's objective or a target, and its own.

        The target is :data:`_FIXING_TARGET` above the strongest bound: a guess of the
        optimum (the warm start may lie far above it, and then drops nearly nothing). A
        guess too low only costs a re-solve: the pairs are brought back
        (:meth:`PolysystemModel._solve_fixed`).
        """
        z = objective_value(problem.objective, term_values(problem, *plan))
        best = max(self.bounds(), default=-math.inf)
        target = min(z - 0.5 * mip_gap * abs(z), best + _FIXING_TARGET * abs(best))
        keep = self.allowed & (self.least < target)
        rows = np.arange(problem.n_units)
        keep[rows, plan[0]] |= self.allowed[rows, plan[0]]
        return keep


def _fixing_pays(problem: Problem, whole: Candidates) -> bool:
    """Whether reduced-cost fixing is tried: the solver's LP bound may be weak, and the model is not tiny.

    Under a population floor or a size limit (ceiling or capacity) the LP relaxation lies
    well below the optimum and the solver's own bound closes slowly; below
    :data:`_FIXING_MIN_PAIRS` pairs the solver proves such models in seconds (the national
    CCGs below it, e.g. 00L with 840 pairs in 3.4 s of a 120-s run) and the plan stays
    the solver's own. A lexicographic objective is left
    to the solver (its later stages are bounded stage by stage).
    """
    if problem.objective.lexicographic is not None or whole.n_pairs < _FIXING_MIN_PAIRS:
        return False
    limits = site_size_limits(problem)[problem.usable_sites()]
    binding = bool(np.any(limits < float(problem.population.sum())))
    return problem.rules.floor > 0 or binding


def _fixing_bounds(
    problem: Problem,
    whole: Candidates,
    start: tuple[np.ndarray, dict[int, str]],
    *,
    deadline: float | None,
    threads: int | None,
    mip_gap: float,
) -> _Fixing:
    r"""The LP and Lagrangian bounds of a model with every pair, and the pairs of its first reduced model.

    **Argument** (reduced-cost fixing). The LP relaxation over every allowed pair (value
    :math:`L`, reduced costs :math:`d`) and the Lagrangian bound
    (:func:`solvers.lagrangian.lagrangian_bound`, value :math:`L'`, reduced costs
    :math:`d'`) each say that a plan using pair :math:`q` costs at least
    :math:`\ell_q = \max(L + \max(0, d_q),\ L' + d'_q)` (the argument of
    :func:`_prove_whole_model`). Let :math:`K` be *any* set of pairs and :math:`B_K` a
    proven bound of the MIP over :math:`K`. A plan either uses only pairs of :math:`K`,
    and costs at least :math:`B_K`, or uses a pair outside, and costs at least
    :math:`\ell_{\min} = \min_{q \notin K} \ell_q`. So

    .. math:: B = \max\bigl(L,\ L',\ \min(B_K,\ \ell_{\min})\bigr)

    holds for every plan of the whole model (:func:`_certify`), and the reduced MIP's
    answer :math:`z^*`, proven within ``mip_gap`` over :math:`K`, is optimal for the
    whole model when :math:`\ell_{\min} \ge z^* - \text{mip\_gap}\,|z^*|`. The
    pairs :math:`q \notin K` with :math:`\ell_q < z^* - \tfrac12\,\text{mip\_gap}\,|z^*|`
    (the only ones a plan better by more than half the gap may use) are brought back and
    the MIP re-solved until there are none (:meth:`PolysystemModel._solve_fixed`); then
    the answer is proven whenever the last MIP is.

    **The first** :math:`K` (:meth:`_Fixing.first_keep`): the pairs with :math:`\ell_q`
    below the warm start's objective (less half the gap), and below a guess of the
    optimum, :data:`_FIXING_TARGET` above the strongest bound (the heuristic's plan may
    lie 10% above the optimum, and against it nearly no pair is dropped), plus the warm
    start's own pairs. A guess too low costs a re-solve, never validity. Measured on two
    national CCGs (15E, 52R; floor 1e-3 gap): against their best plans 75-80% of the pairs
    are dropped, against the heuristic's plan 1-4%.

    The LP takes what it needs; the Lagrangian bound at most :data:`_FIXING_SHARE` of the
    time left (:func:`solvers.lagrangian.lagrangian_deadline`).
    """
    began = time.perf_counter()
    sites = start[0]
    n, m = problem.n_units, problem.n_sites
    allowed = whole.mask(n, m)
    least = np.full((n, m), -math.inf)
    relax = solve_relaxation(problem, whole, deadline=deadline, threads=threads, reduced_costs=True)
    priced = proven_relaxation(relax)
    if priced.bound is not None and priced.reduced is not None:
        least = np.maximum(least, priced.bound + np.maximum(priced.reduced, 0.0))
    z = objective_value(problem.objective, term_values(problem, sites, start[1]))
    lagrangian = lagrangian_bound(
        problem,
        relaxation=relax if relax.status == "optimal" else None,
        upper=z,
        plan=sites,
        deadline=lagrangian_deadline(deadline, share=_FIXING_SHARE),
    )
    if lagrangian.bound is not None and lagrangian.reduced is not None:
        least = np.maximum(least, lagrangian.bound + lagrangian.reduced)
    fixing = _Fixing(
        start_objective=z,
        whole=whole,
        allowed=allowed,
        keep=allowed.copy(),
        least=least,
        lp=priced.bound,
        lp_status=relax.status,
        lagrangian=lagrangian,
        seconds=0.0,
    )
    fixing.keep = fixing.first_keep(problem, start, mip_gap=mip_gap)
    fixing.seconds = time.perf_counter() - began
    logger.info(
        "reduced-cost fixing: %d of %d pairs dropped against the warm start %.6g (lp %s, lagrangian %s), %.1f s",
        fixing.dropped,
        whole.n_pairs,
        z,
        priced.bound,
        lagrangian.bound,
        fixing.seconds,
    )
    return fixing


def _certify(
    problem: Problem,
    form: Formulation,
    attempts: list[Attempt],
    fixing: _Fixing,
    *,
    heuristic: Plan | None,
    mip_gap: float,
) -> _Proof:
    """The whole model's status and bound for the MIP's answer after :func:`_fixing_bounds`."""
    last = attempts[-1]
    lagrangian = None if fixing.lagrangian is None else fixing.lagrangian.bound
    proof = _Proof(
        status="feasible",
        bound=None,
        note="",
        lp_bound=fixing.lp,
        lp_status=fixing.lp_status,
        seconds=fixing.seconds,
        lagrangian=lagrangian,
        pairs_fixed=fixing.dropped if form.cand.pruned else 0,
        resolves=len(attempts) - 1,
    )
    if last.site_of_unit is not None:
        z = objective_value(problem.objective, term_values(problem, last.site_of_unit, last.hub_options))
    elif heuristic is not None:
        z = fixing.start_objective  # the solver found nothing: the answer is the warm start
    else:
        return proof
    restricted = fixing.restricted
    if form.cand.pruned:
        outside = fixing.allowed & ~fixing.keep
        least = float(fixing.least[outside].min()) if outside.any() else math.inf
    else:
        least = math.inf  # the MIP had every pair (e.g. nothing was dropped)
    known = fixing.bounds()
    combined = min(restricted, least)
    bound = max([*known, combined]) if known or math.isfinite(combined) else None
    proof.bound = bound
    close = bound is not None and max(0.0, z - bound) <= mip_gap * max(abs(z), 1e-9)
    solved = fixing.proven and least >= z - mip_gap * abs(z)
    proof.status = "optimal" if close or solved else "feasible"
    source = bound_source(fixing.lp, lagrangian)
    by = f"LP bound {fixing.lp:.6g}" if fixing.lp is not None else "no LP bound"
    if lagrangian is not None:
        by += f", Lagrangian bound {lagrangian:.6g}"
    fixed = (
        f"reduced-cost fixing ({by}) left out {fixing.dropped:,} of {fixing.allowed.sum():,} allowed pairs, "
        f"each in no plan of objective below {least:.6g}"
        if form.cand.pruned
        else f"reduced-cost fixing left out no pair ({by})"
    )
    if proof.status == "optimal":
        proof.note = f"optimal for the whole model: {fixed}"
    else:
        stronger = {"lp": "the LP bound", "lagrangian": "the Lagrangian bound"}.get(source or "", "no bound")
        proof.note = f"not proven for the whole model: {fixed}; the strongest bound before the MIP was {stronger}"
    return proof


def _whole_bound(lp: float, reduced: np.ndarray, kept: np.ndarray, restricted_bound: float) -> float:
    r"""A bound for every plan: :math:`\max(L, \min(B_R, L + \min_{q \notin R} \max(0, d_q)))`."""
    outside = np.isfinite(reduced) & ~kept
    least = float(np.maximum(reduced[outside], 0.0).min()) if outside.any() else math.inf
    return max(lp, min(restricted_bound, lp + least))


def _nearest_first(problem: Problem, need: np.ndarray, *, budget: int) -> np.ndarray:
    """At most ``budget`` of the pairs ``need``: those whose site is nearest in its unit's order."""
    count = int(need.sum())
    if count <= budget:
        return need
    order = np.argsort(problem.travel_min, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(problem.n_sites)[None, :].repeat(problem.n_units, axis=0), axis=1)
    units, sites = np.nonzero(need)
    take = np.lexsort((problem.travel_min[units, sites], rank[units, sites]))[:budget]
    out = np.zeros_like(need)
    out[units[take], sites[take]] = True
    return out


def _prove_whole_model(
    problem: Problem,
    form: Formulation,
    attempts: list[Attempt],
    builds: list[float],
    *,
    name: str,
    contiguity: str,
    solver: str,
    deadline: float | None,
    mip_gap: float,
    threads: int | None,
    msg: bool,
) -> tuple[Formulation, _Proof]:
    r"""Carry a pruned model's answer over to the whole model, or say it cannot be.

    **Argument** (reduced-cost fixing). Let :math:`R` be the pairs of the pruned MIP, with
    incumbent :math:`z` and proven bound :math:`B_R` over plans that use only pairs of
    :math:`R`. Solve the LP relaxation of the *whole* model by column generation: start
    from the LP over :math:`R`, add every allowed pair whose reduced cost is negative, and
    repeat until none is (:func:`solvers.relaxation.priced_relaxation`). Its value :math:`L` is a
    bound for every plan, and with its row duals :math:`y` every column :math:`q` has a
    reduced cost :math:`d_q = c_q - y^\top A_q` (a pair's own linking row, absent from the
    LP, has dual 0). For any plan :math:`x` of the whole model (integral, so also a point
    of the relaxation), the sign conditions on :math:`y` give :math:`y^\top A x \ge y^\top
    b`, hence

    .. math:: c^\top x = y^\top A x + d^\top x \ge L + \sum_q e_q(x_q),

    where :math:`e_q(x_q) = d_q x_q - \max(0,d_q)\,l_q - \min(0,d_q)\,u_q \ge 0` on the
    bounds :math:`[l_q, u_q]`. A plan using a pair :math:`q \notin R` therefore costs at
    least :math:`L + \max(0, d_q)`, and every plan at least

    .. math:: B = \max\bigl(L,\ \min(B_R,\ L + \min_{q \notin R} \max(0, d_q))\bigr),

    which is the bound reported: valid for the whole model whatever :math:`R` is. When
    :math:`(z - B)/|z| \le` ``mip_gap`` and the pruned MIP was solved to optimality, the
    plan is optimal for the whole model. Otherwise the pairs with
    :math:`L + \max(0, d_q) < z - \tfrac12\,\text{mip\_gap}\,|z|` (the only ones that can
    appear in a better plan) are added to :math:`R` and the MIP re-solved from the
    incumbent; then every pair left out satisfies :math:`L + d_q \ge z - \tfrac12
    \text{mip\_gap}|z|`, so :math:`B` is :math:`B_R` or within half the gap of the old
    incumbent. At most as many pairs as :math:`R` holds are added at a time (each unit's
    nearest first: the model at most doubles), up to :data:`_PROOF_RESOLVES` re-solves.

    The argument closes when the LP is tight next to single pairs: :math:`z - L` must be
    smaller than the reduced costs of the pairs left out. With a weak LP (a few hubs over
    many points, or population floors, where :math:`L` lies up to a percent or more below
    the optimum and one unit's share of the objective is far smaller than that gap)
    nearly every pair may be needed; the plan is then ``feasible`` with the bound
    :math:`B`, and the re-solves only serve to improve it.

    When the LP's reduced costs leave the gap open, the Lagrangian bound
    (:mod:`solvers.lagrangian`, within :func:`solvers.lagrangian.lagrangian_deadline`) gives
    a second pair :math:`(L', d')` for which the same inequality holds (a plan using pair
    :math:`q` costs at least :math:`L' + d'_q`): the bound is the larger of the two, and a
    pair is brought back only when neither rules it out.

    The LP relaxation ignores contiguity and is still a relaxation (a bound). When
    pricing cannot be done (a
    lexicographic objective, hostless sites serving several boundary groups) or does not
    finish in time, nothing is proven: the status is ``feasible``, the bound ``None``, and
    the pruned model's optimum is a note.
    """
    began = time.perf_counter()
    last = attempts[-1]
    relax_full = solve_relaxation(
        problem,
        form.cand,
        deadline=deadline,
        threads=threads,
        max_rounds=PROOF_PRICING_ROUNDS,
        reduced_costs=True,
        per_unit=PROOF_PER_UNIT,
    )
    relax = proven_relaxation(relax_full)
    proof = _Proof(
        status="feasible",
        bound=None,
        note="",
        lp_bound=relax.bound,
        lp_status=relax.status,
        pricing_rounds=relax.rounds,
        pairs_priced_in=relax.pairs_added,
    )
    if relax.bound is None or relax.reduced is None:
        why = (
            "the pricing of the left-out pairs cannot model this problem's rows (a lexicographic objective or "
            "hostless sites serving several boundary groups)"
            if relax.status == "optimal"
            else f"the relaxation over every allowed pair was {relax.status} in the time left"
        )
        proof.note = f"not proven for the whole model: {why}; a plan using farther sites is not ruled out"
        proof.seconds = time.perf_counter() - began
        return form, proof
    lp, reduced = relax.bound, relax.reduced
    lagrangian: LagrangianBound | None = None
    while True:
        # the caller proves only an attempt with a plan, and a re-solve without one keeps the incumbent
        site_of_unit = cast(np.ndarray, last.site_of_unit)
        z = objective_value(problem.objective, term_values(problem, site_of_unit, last.hub_options))
        restricted = (
            last.bound if last.bound is not None else (z - mip_gap * abs(z) if last.status == "optimal" else -math.inf)
        )
        kept = form.cand.mask(problem.n_units, problem.n_sites)
        bound = _whole_bound(lp, reduced, kept, restricted)
        gap = relative_gap(z, bound)
        if gap > mip_gap and lagrangian is None:
            # the LP's reduced costs leave pairs that could be in a better plan: the Lagrangian
            # bound and its reduced costs (the same argument, a stronger L) may rule them out
            lagrangian = lagrangian_bound(
                problem,
                relaxation=relax_full,
                upper=z,
                plan=site_of_unit,
                deadline=lagrangian_deadline(deadline),
            )
            proof.lagrangian = lagrangian.bound
        strong = lagrangian is not None and lagrangian.bound is not None and lagrangian.reduced is not None
        if strong:
            assert lagrangian is not None and lagrangian.bound is not None and lagrangian.reduced is not None
            bound = max(bound, _whole_bound(lagrangian.bound, lagrangian.reduced, kept, restricted))
            gap = relative_gap(z, bound)
        proof.bound = bound
        if last.status == "optimal" and gap <= mip_gap:
            proof.status = "optimal"
            break
        slack = 0.5 * mip_gap * abs(z)
        need = np.isfinite(reduced) & ~kept & (lp + np.maximum(reduced, 0.0) < z - slack)
        if strong:
            assert lagrangian is not None and lagrangian.bound is not None and lagrangian.reduced is not None
            need &= lagrangian.bound + lagrangian.reduced < z - slack
        if (
            not need.any()
            or proof.resolves >= _PROOF_RESOLVES
            or (deadline is not None and time.perf_counter() >= deadline)
        ):
            break
        reachable = (2 ** (_PROOF_RESOLVES - proof.resolves) - 1) * form.cand.n_pairs
        if deadline is None and int(need.sum()) > reachable:
            # no time limit and the doubling re-solves cannot take in every pair needed: they
            # could run for hours and still prove nothing
            break
        need = _nearest_first(problem, need, budget=form.cand.n_pairs)
        cand = extend_candidates(problem, form.cand, need)
        logger.info(
            "pricing: %d left-out pair(s) could be in a better plan; re-solving with %d pairs",
            int(need.sum()),
            cand.n_pairs,
        )
        form = build_formulation(problem, cand, name, contiguity)
        builds.append(form.build_s)
        incumbent = (site_of_unit, last.hub_options)
        attempt = solve_formulation(
            problem, form, solver=solver, deadline=deadline, mip_gap=mip_gap, threads=threads, msg=msg, start=incumbent
        )
        proof.resolves += 1
        proof.pairs_added += int(need.sum())
        if attempt.site_of_unit is None or stage_key(
            problem, 0, (attempt.site_of_unit, attempt.hub_options)
        ) > stage_key(problem, 0, incumbent):
            attempt.site_of_unit, attempt.hub_options = incumbent
            attempt.status = "feasible"
        attempts.append(attempt)
        last = attempt
    pairs = f"{proof.pairs_added:,} left-out pair(s) brought back by pricing, " if proof.pairs_added else ""
    by = (
        f"the LP relaxation over every pair (bound {lp:.6g})"
        if proof.lagrangian is None or proof.lagrangian <= lp
        else f"the LP relaxation over every pair (bound {lp:.6g}) or the Lagrangian bound ({proof.lagrangian:.6g})"
    )
    if proof.status == "optimal":
        proof.note = (
            f"optimal for the whole model: {pairs}every other allowed pair has a reduced cost against "
            f"{by} that rules it out of a better plan"
        )
    else:
        proof.note = (
            f"not proven for the whole model ({pairs}a plan using other pairs is not ruled out); "
            f"bound {proof.bound:.6g} holds for every plan ({by}, priced)"
        )
    proof.seconds = time.perf_counter() - began
    return form, proof


# ---------------------------------------------------------------------------- the plan
def _make_plan(
    problem: Problem,
    form: Formulation,
    attempts: list[Attempt],
    heuristic: Plan | None,
    *,
    solver: str,
    mip_gap: float,
    builds: list[float],
    heuristic_s: float,
    runtime_s: float,
    start_label: str = "the heuristic's",
    proof: _Proof | None = None,
) -> Plan:
    last = attempts[-1]
    cand = form.cand
    notes, stats = _attempt_stats(
        problem, form, attempts, heuristic, builds=builds, heuristic_s=heuristic_s, start_label=start_label, proof=proof
    )
    if last.status in ("infeasible", "unsolved") or last.site_of_unit is None:
        return _without_plan(
            form,
            last,
            heuristic,
            notes,
            stats,
            solver=solver,
            mip_gap=mip_gap,
            runtime_s=runtime_s,
            start_label=start_label,
        )

    site_of_unit, hub_options = last.site_of_unit, last.hub_options
    terms = term_values(problem, site_of_unit, hub_options)
    objective = objective_value(problem.objective, terms)
    status = last.status
    bound = last.bound
    restricted = None
    if proof is not None and proof.pairs_fixed is not None:
        # reduced-cost fixing: the status and bound are the whole model's (see _certify)
        if cand.pruned:
            stats["restricted_status"] = last.status
            stats["restricted_objective"] = objective
        status = proof.status
        bound = proof.bound
        notes.append(proof.note)
    elif cand.pruned:
        # The solver's status and bound are the pruned model's: only a proof for the whole
        # model may keep them (the rule of PolysystemModel's "Honesty" paragraph).
        restricted = (
            f"{last.status} over each unit's {cand.k} nearest sites ({cand.n_pairs:,} of "
            f"{cand.n_allowed:,} allowed unit-site pairs): objective {objective:.6g}"
        )
        stats["restricted_status"] = last.status
        stats["restricted_objective"] = objective
        stats["restricted_bound"] = last.bound
        if proof is None:
            status = "feasible" if status == "optimal" else status
            bound = None
            notes.append(
                f"{restricted}; a plan using farther sites is not ruled out and no bound is proven for the whole model"
            )
        else:
            status = proof.status
            bound = proof.bound
            notes.append(f"{restricted}; {proof.note}")
    elif proof is not None:  # pricing brought back every pair: the solver's answer is the whole model's
        bound = proof.bound if bound is None or proof.bound is None else max(bound, proof.bound)
        notes.append(proof.note)
    lagrangian = None if proof is None else proof.lagrangian
    if lagrangian is not None or (bound is not None and status != "optimal"):
        # an open gap names its bound: without a Lagrangian step it is the LP's or the MIP's own
        stats["bounds"] = bound_record(
            lp=proof.lp_bound if proof is not None and proof.lp_status == "optimal" else None,
            lagrangian=lagrangian,
            final=bound,
        )
    if heuristic is not None and status == "feasible":
        h_sites, h_opts = plan_indices(problem, heuristic)
        h_terms = term_values(problem, h_sites, h_opts)
        if objective_key(problem.objective, h_terms) < objective_key(problem.objective, terms):
            site_of_unit, hub_options, terms = h_sites, h_opts, h_terms
            objective = objective_value(problem.objective, terms)
            notes.append(f"{start_label} plan was better than the solver's incumbent and is returned")
    if status == "optimal" and bound is None:
        gap = None
    elif bound is not None:
        gap = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    else:
        gap = None
    if status == "feasible" and last.time_limited:
        notes.append(
            f"time limit reached: {NOT_PROVEN_OPTIMAL}" + (f" (gap {gap_words(gap)})" if gap is not None else "")
        )
    stats["term_values"] = terms
    return Plan(
        assignment={problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(site_of_unit.tolist())},
        hub_options={problem.site_ids[j]: o for j, o in hub_options.items()},
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        solver=solver,
        runtime_s=runtime_s,
        mip_gap=mip_gap,
        notes=tuple(notes),
        stats=stats,
    )


def _attempt_stats(
    problem: Problem,
    form: Formulation,
    attempts: list[Attempt],
    heuristic: Plan | None,
    *,
    builds: list[float],
    heuristic_s: float,
    start_label: str,
    proof: _Proof | None,
) -> tuple[list[str], dict[str, Any]]:
    """The notes and ``stats`` every plan of :meth:`PolysystemModel.solve` carries: retries, sizes, times."""
    last = attempts[-1]
    cand = form.cand
    notes: list[str] = []
    retries = attempts[: len(attempts) - (proof.resolves if proof is not None else 0)]
    for a, b in zip(retries, retries[1:], strict=False):
        notes.append(
            f"the model over each unit's {a.k} nearest sites was infeasible; retried with "
            + (f"the {b.k} nearest" if b.k else "every usable site")
        )
    notes.extend(last.notes)
    stats: dict[str, Any] = {
        "pairs_allowed": cand.n_allowed,
        "pairs_kept": cand.n_pairs,
        "k_nearest": cand.k,
        "pruned": cand.pruned,
        "n_variables": len(form.prob.variables()),
        "n_constraints": len(form.prob._constraints),
        "build_s": round(sum(builds), 4),
        "solve_s": round(sum(a.solve_s for a in attempts), 4),
        "heuristic_s": round(heuristic_s, 4),
        "warm_start": last.warm_start,
        "contiguity": form.contiguity,
        "rounds": sum(a.rounds for a in attempts),
        "contiguity_cuts": sum(a.cuts for a in attempts),
        "nodes": sum(a.nodes for a in attempts),
        "attempts": [{"k": a.k, "status": a.status} for a in attempts],
        "stopped_by_time_limit": any(a.timed_out for a in attempts),
    }
    if stats["stopped_by_time_limit"]:
        notes.append(STOPPED_BY_TIME_LIMIT)
    if proof is not None:
        stats["proof"] = proof.stats()
    if problem.objective.lexicographic is not None:
        stats["stages"] = last.stages
    if heuristic is not None:
        stats["heuristic_objective" if start_label == "the heuristic's" else "start_objective"] = heuristic.objective
    return notes, stats


def _without_plan(
    form: Formulation,
    last: Attempt,
    heuristic: Plan | None,
    notes: list[str],
    stats: dict[str, Any],
    *,
    solver: str,
    mip_gap: float,
    runtime_s: float,
    start_label: str,
) -> Plan:
    """The plan when the solver found none: the heuristic's (or the given start), else an empty one saying why."""
    cand = form.cand
    if heuristic is not None:
        if last.status == "infeasible":
            logger.warning("the solver reported the model infeasible although %s plan is valid", start_label)
        why = (
            f"the solver reported the model infeasible, yet {start_label} plan is valid"
            if last.status == "infeasible"
            else "the solver found no plan within the time limit"
        )
        return _replace_plan(
            heuristic,
            notes=[*notes, f"{why}; this is {start_label} plan"],
            runtime_s=runtime_s,
            stats={**dict(heuristic.stats), **stats},
        )
    status = last.status
    if status == "infeasible" and cand.pruned:
        status = "unsolved"
        notes.append(
            f"the model over each unit's {cand.k} nearest sites is infeasible and the time limit stopped "
            "the retry with more sites: infeasibility of the full problem is not proven"
        )
    elif status == "infeasible":
        notes.append("the solver proved that no plan satisfies the rules")
    else:
        notes.append("the solver found no plan within the time limit and the heuristic found none either")
    return Plan(
        {},
        {},
        status=status,
        bound=last.bound if status == "unsolved" else None,
        solver=solver,
        runtime_s=runtime_s,
        mip_gap=mip_gap,
        notes=tuple(notes),
        stats=stats,
    )


def _replace_plan(plan: Plan, *, notes: list[str], runtime_s: float, stats: Mapping[str, Any]) -> Plan:
    return Plan(
        assignment=plan.assignment,
        hub_options=plan.hub_options,
        status="feasible",
        objective=plan.objective,
        bound=None,
        gap=None,
        solver=plan.solver,
        runtime_s=runtime_s,
        mip_gap=None,
        notes=tuple(dict.fromkeys((*plan.notes, *notes))),
        stats=stats,
    )
