"""A fast constructive heuristic with local search for polysystem plans.

Used as the MIP's warm start, to repair disconnected solutions between contiguity cut
rounds, and as the fallback answer when the solver finds no plan in its time limit. The
plan it returns satisfies every rule (it checks them itself before returning) but is never
claimed optimal: status ``feasible``, solver ``heuristic``.

1. **Open**, for each hub count worth trying (largest first): the required sites, then
   sites added greedily by the drop in the guide cost (the linear part of the objective:
   population- or deprivation-weighted travel) — p-median greedy, within the budget and
   never two sites with the same host unit. A set that cannot be made valid has its last
   pick banned and is rebuilt.
2. **Assign** every unit to its cheapest open site with room; with contiguity, grow
   regions from each hub's host unit instead (a unit joins a region it touches, cheapest
   first).
3. **Repair**: push units out of hubs above their ceiling or capacity; pull units into
   hubs below the floor (cheapest per person moved, never breaking the donor's floor or
   connectivity); close a hub that cannot be filled and re-place its units.
4. **Improve**: single-unit moves, then pairwise swaps between polysystems (floors that
   bind block single moves), only with border units whose departure keeps their
   polysystem connected under contiguity; then a hub-set search (move one hub to a
   nearby closed site, drop one, add one; rebuild; keep the first improvement) until no
   hub set improves or the work limit is spent.

The work limit is a count of steps (:class:`WorkBudget`), never seconds: the same problem
always gives the same plan. A deadline may stop the search earlier (a safety for time
limits); the plan then says so.

Under contiguity the search also starts from the best plan that ignores contiguity,
repaired (:func:`repair_plan`): on road travel times such plans are nearly contiguous.
Measured against proven optima: Redbridge practices 0.0 %, Redbridge LSOAs (contiguous)
0.6 %, synthetic instances of 42 to 200 units 0.03-0.7 % above, in under 2 s.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from catchment.objective import TERMS, option_terms, travel_terms
from catchment.plan import Plan
from catchment.problem import Problem
from catchment.timing import STOPPED_BY_TIME_LIMIT, deadline_after
from solvers.common import (
    adjacency_lists,
    candidate_pairs,
    objective_key,
    objective_value,
    site_size_limits,
)
from solvers.contiguity import components, is_connected

__all__ = ["solve_heuristic", "repair_plan", "WorkBudget", "HEURISTIC_WORK", "REPAIR_WORK"]

_EPS = 1e-9
#: Steps of :func:`solve_heuristic` by default (Redbridge LSOAs: 34,048 steps to its best
#: plan, 3.9104, 0.6 % above the optimum, in about 2 s; Redbridge practices converge in 7,603).
HEURISTIC_WORK = 60_000
#: Steps of :func:`repair_plan` by default.
REPAIR_WORK = 10_000
#: Share of the steps spent under contiguity on the best plan that ignores contiguity.
_LOOSE_SHARE = 0.4


def solve_heuristic(problem: Problem, *, work_limit: int | None = None, time_limit: float | None = None) -> Plan | None:
    """Find a good plan quickly, or ``None`` if the heuristic finds none.

    The search is limited by a count of steps (``work_limit``), so the same problem
    always gives the same plan. ``time_limit`` is only a safety: when it stops the search
    first, the plan says so (:data:`catchment.timing.STOPPED_BY_TIME_LIMIT`) and
    ``stats["stopped_by_time_limit"]`` is True.

    Parameters
    ----------
    problem
        The problem.
    work_limit
        Steps of improvement (a unit examined by a move or swap pass counts 1, a hub set
        built counts one per unit); ``None``: :data:`HEURISTIC_WORK`. The first complete
        construction always finishes.
    time_limit
        Seconds after which the search stops even if steps are left (``None``: none).

    Returns
    -------
    Plan or None
        ``status="feasible"``, ``solver="heuristic"``; every rule holds.

    Raises
    ------
    ValueError
        If ``work_limit`` or ``time_limit`` is not a non-negative number.
    """
    budget = WorkBudget.create(work_limit=work_limit, time_limit=time_limit)
    start = time.perf_counter()
    search = _Search(problem)
    tried: list[int] = []
    starts: list[_State] = []
    if search.contiguity:
        # Plans that ignore contiguity are often nearly contiguous: repair the best one.
        loose = _Search(problem, contiguity=False)
        share = budget.share(_LOOSE_SHARE)
        found = _best_state(loose, share, tried, relocate=True)
        budget.absorb(share)
        if found is not None:
            state = search.state_from(found.site_of)
            if state is not None and search.settle(state):
                search.improve(state, budget)
                starts.append(state)
    found = _best_state(search, budget, tried)
    if found is not None:
        starts.append(found)
    keyed = [(key, k) for k, state in enumerate(starts) if (key := search.key(state)) is not None]
    if not keyed:
        return None
    best = search.relocate(starts[min(keyed)[1]], budget)
    if not search.is_valid(best):  # pragma: no cover - defensive: never hand out a broken plan
        return None
    terms = search.terms(best)
    options = cast("dict[int, str]", search.options(best))  # a valid state (checked above) has its options
    notes = ["heuristic plan: satisfies every rule, not proven optimal"]
    if budget.timed_out:
        notes.append(STOPPED_BY_TIME_LIMIT)
    return Plan(
        assignment={problem.unit_ids[i]: problem.site_ids[j] for i, j in enumerate(best.site_of.tolist())},
        hub_options={problem.site_ids[j]: o for j, o in options.items()},
        status="feasible",
        objective=objective_value(problem.objective, terms),
        solver="heuristic",
        runtime_s=time.perf_counter() - start,
        notes=tuple(notes),
        stats={
            "term_values": terms,
            "hub_counts_tried": tried,
            "work": budget.used,
            "work_limit": budget.steps,
            "stopped_by_time_limit": budget.timed_out,
        },
    )


def _best_state(search: _Search, budget: WorkBudget, tried: list[int], *, relocate: bool = False) -> _State | None:
    """Greedy construction and improvement for each hub count worth trying; the best."""
    best: _State | None = None
    best_key: tuple[float, ...] | None = None
    for count in search.counts_to_try():
        if best is not None and budget.exhausted():
            break
        tried.append(count)
        state = search.construct_greedy(count, budget)
        if state is None:
            continue
        search.improve(state, budget)
        key = search.key(state)
        if key is not None and (best_key is None or key < best_key):
            best, best_key = state, key
    if best is not None and relocate:
        best = search.relocate(best, budget)
    return best


def repair_plan(
    problem: Problem,
    site_of_unit: np.ndarray,
    *,
    work_limit: int | None = None,
    budget: WorkBudget | None = None,
) -> tuple[np.ndarray, dict[int, str]] | None:
    """Turn an assignment that breaks some rules into a valid plan, then improve it.

    Pieces of a polysystem cut off from its hub's host unit (contiguity) are handed to
    the polysystems they touch; floors, ceilings and capacities are then repaired and
    single-unit moves applied, as in :func:`solve_heuristic`.

    Parameters
    ----------
    problem
        The problem.
    site_of_unit
        Site index of each unit (e.g. the solution of a relaxation); ``-1`` for a unit
        still to be placed.
    work_limit
        Steps for the improvement moves (``None``: :data:`REPAIR_WORK`).
    budget
        A :class:`WorkBudget` to spend instead (it may carry a deadline; afterwards its
        ``timed_out`` says whether the deadline stopped the moves).

    Returns
    -------
    tuple or None
        ``(site_of_unit, {site index: option})`` of a valid plan, or ``None``.
    """
    if budget is None:
        budget = WorkBudget.create(work_limit=REPAIR_WORK if work_limit is None else work_limit)
    search = _Search(problem)
    state = search.state_from(site_of_unit)
    if state is None or not search.settle(state):
        return None
    search.improve(state, budget)
    if not search.is_valid(state):
        return None
    return state.site_of.copy(), search.options(state) or {}


class WorkBudget:
    """How much the heuristic may do: a count of steps, and optionally a deadline.

    The count decides the plan (the same problem and count give the same plan); the
    deadline is a safety for time limits. :attr:`timed_out` records that the deadline,
    not the count, stopped the work: the plan then depends on the machine's speed.

    Parameters
    ----------
    steps
        Steps allowed.
    deadline
        :func:`time.perf_counter` instant after which no step is taken, or ``None``.
    """

    def __init__(self, steps: int, deadline: float | None = None) -> None:
        self.steps = int(steps)
        self.deadline = deadline
        self.used = 0
        self.timed_out = False

    @classmethod
    def create(cls, *, work_limit: int | None = None, time_limit: float | None = None) -> WorkBudget:
        """Budget of ``work_limit`` steps (``None``: :data:`HEURISTIC_WORK`), ``time_limit`` seconds from now.

        Raises
        ------
        ValueError
            If either limit is not a non-negative number.
        """
        if work_limit is not None and (
            isinstance(work_limit, bool) or not isinstance(work_limit, int) or work_limit < 0
        ):
            raise ValueError(f"work_limit must be a non-negative integer, got {work_limit!r}")
        if time_limit is not None and (
            isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit >= 0
        ):
            raise ValueError(f"time_limit must be a non-negative number of seconds, got {time_limit!r}")
        return cls(HEURISTIC_WORK if work_limit is None else work_limit, deadline_after(time_limit))

    def exhausted(self) -> bool:
        """True once the steps are spent or the deadline has passed (spends nothing)."""
        if self.used >= self.steps:
            return True
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.timed_out = True
            return True
        return False

    def spend(self, steps: int = 1) -> bool:
        """Spend ``steps``; False (take no step) once spent out or out of time."""
        if self.exhausted():
            return False
        self.used += steps
        return True

    def share(self, fraction: float) -> WorkBudget:
        """A budget of ``fraction`` of the steps left, with the same deadline."""
        return WorkBudget(int(fraction * max(0, self.steps - self.used)), self.deadline)

    def absorb(self, part: WorkBudget) -> None:
        """Account for the work of a :meth:`share` after it was spent."""
        self.used += part.used
        self.timed_out |= part.timed_out


@dataclass
class _State:
    """A (partial) plan: site of each unit (-1: none), open sites, their populations."""

    site_of: np.ndarray
    members: dict[int, set[int]]
    pop: np.ndarray
    waived: np.ndarray
    roots: dict[int, int] = field(default_factory=dict)


class _Search:
    """Problem data in array form and the heuristic's moves."""

    def __init__(self, problem: Problem, *, contiguity: bool | None = None) -> None:
        self.problem = problem
        rules = problem.rules
        self.n, self.m = problem.n_units, problem.n_sites
        self.p = problem.population.astype(float)
        self.t = problem.travel_min
        cand = candidate_pairs(problem)
        self.allowed = cand.mask(self.n, self.m)
        self.closed = set(cand.closed_sites)
        self.hosts: list[int | None] = list(problem.site_unit or (None,) * self.m)
        self.floor = float(rules.floor)
        self.below_floor = rules.below_floor
        self.wv = problem.waived
        self.size_lim = site_size_limits(problem)
        self.budget = math.inf if rules.budget is None else float(rules.budget)
        self.required = [int(j) for j in problem.required_sites()]
        self.contiguity = bool(rules.contiguity) if contiguity is None else contiguity
        self.nbrs = adjacency_lists(problem)
        self.opts = {
            j: [
                (o.capital_cost, math.inf if o.capacity is None else float(o.capacity), o.option)
                for o in problem.options_of(problem.site_ids[j])
            ]
            for j in problem.usable_sites().tolist()
        }
        self.min_cost = np.array([self.opts[j][0][0] if j in self.opts else math.inf for j in range(self.m)])
        if rules.respect_groups and problem.groups is not None:
            self._pin_groups_of_hostless_sites()
        self.openable = np.array(
            [j in self.opts and j not in self.closed and self.allowed[:, j].any() for j in range(self.m)]
        )
        self.c = self._guide_cost()
        obj = problem.objective
        self.exact_delta = obj.lexicographic is None and set(obj.terms) <= {t.name for t in travel_terms()}
        self.cost_matters = any(t.name in obj.terms for t in option_terms()) or rules.budget is not None

    # ------------------------------------------------------------------ set-up
    def _pin_groups_of_hostless_sites(self) -> None:
        """A hostless site serves one group here: that of its nearest unit (a restriction)."""
        groups = np.asarray(self.problem.groups, dtype=object)
        for j in range(self.m):
            if self.hosts[j] is None and self.allowed[:, j].any():
                near = int(np.argmin(np.where(self.allowed[:, j], self.t[:, j], np.inf)))
                self.allowed[:, j] &= groups == groups[near]

    def _guide_cost(self) -> np.ndarray:
        obj = self.problem.objective
        weights = dict(obj.weights) if obj.lexicographic is None else {t: 1.0 for t in obj.lexicographic[:1]}
        total = self.p.sum()
        cost = np.zeros((self.n, self.m))
        travel = np.where(np.isfinite(self.t), self.t, 0.0)
        for term in travel_terms():  # each unit's share of each weighted travel term
            if weights.get(term.name, 0) > 0 and term.available(self.problem):
                w = term.weights(self.problem)
                if w.sum() > 0:
                    cost += weights[term.name] * w[:, None] * travel / w.sum()
        if not cost.any():
            cost = self.p[:, None] * travel / max(total, 1.0)
        return np.where(self.allowed, cost, np.inf)

    def counts_to_try(self) -> list[int]:
        rules = self.problem.rules
        n_open = int(self.openable.sum())
        lo = max(rules.min_polysystems or 1, len(self.required))
        hi = min(rules.max_polysystems or n_open, n_open)
        by_floor = self.problem.max_polysystems_by_floor
        if by_floor is not None:
            hi = min(hi, by_floor)
        hi = max(hi, lo)
        counts = list(range(hi, lo - 1, -1))
        if len(counts) > 8:
            extra = np.unique(np.linspace(lo, hi - 4, 4).round().astype(int)).tolist()
            counts = counts[:4] + sorted(extra, reverse=True)
        return counts

    # ------------------------------------------------------------------ construction
    def greedy_open(self, count: int, banned: frozenset[int] = frozenset()) -> list[int]:
        """Required sites, then the sites that cut the guide cost most (p-median greedy)."""
        opened = list(self.required)
        used_hosts = {self.hosts[j] for j in opened if self.hosts[j] is not None}
        spend = float(sum(self.min_cost[j] for j in opened))
        big = float(np.nanmax(np.where(np.isfinite(self.c), self.c, 0.0))) * 10 + 1.0
        best = np.full(self.n, big)
        for j in opened:
            best = np.minimum(best, np.where(np.isfinite(self.c[:, j]), self.c[:, j], big))
        candidates = [j for j in range(self.m) if self.openable[j] and j not in opened and j not in banned]
        while len(opened) < count and candidates:
            cols = self.c[:, candidates]
            gains = np.maximum(0.0, best[:, None] - np.where(np.isfinite(cols), cols, big)).sum(axis=0)
            pick = None
            for idx in np.argsort(-gains, kind="stable"):
                j = candidates[int(idx)]
                if (self.hosts[j] is None or self.hosts[j] not in used_hosts) and spend + self.min_cost[
                    j
                ] <= self.budget + _EPS:
                    pick = j
                    break
            if pick is None:
                break
            opened.append(pick)
            candidates.remove(pick)
            spend += self.min_cost[pick]
            if self.hosts[pick] is not None:
                used_hosts.add(self.hosts[pick])
            best = np.minimum(best, np.where(np.isfinite(self.c[:, pick]), self.c[:, pick], big))
        return opened

    def construct_greedy(self, count: int, budget: WorkBudget) -> _State | None:
        """Greedy hub set of ``count`` sites; when it cannot be made valid, ban its last pick and retry."""
        banned: set[int] = set()
        for _ in range(self.m):
            opened = self.greedy_open(count, frozenset(banned))
            state = self.construct(opened)
            extra = [j for j in opened if j not in self.required]
            if state is not None or not extra or not budget.spend(self.n):
                return state
            banned.add(extra[-1])
        return None

    def construct(self, opened: list[int]) -> _State | None:
        """Assign, repair and check counts and options for a set of open sites."""
        state = _State(np.full(self.n, -1, dtype=np.int64), {}, np.zeros(self.m), np.zeros(self.m, dtype=np.int64))
        for j in opened:
            state.members[j] = set()
            root = self.hosts[j]
            if root is None and self.contiguity:
                free = self.allowed[:, j] & (state.site_of < 0)
                if not free.any():
                    return None
                root = int(np.argmin(np.where(free, self.t[:, j], np.inf)))
            if root is not None:
                if state.site_of[root] >= 0 or not self.allowed[root, j]:
                    return None
                state.roots[j] = root
                self._place(state, root, j)
        return state if self.settle(state) else None

    def _place(self, state: _State, i: int, j: int) -> None:
        state.site_of[i] = j
        state.members[j].add(i)
        state.pop[j] += self.p[i]
        state.waived[j] += int(self.wv[i])

    def _remove(self, state: _State, i: int) -> None:
        j = int(state.site_of[i])
        state.site_of[i] = -1
        state.members[j].discard(i)
        state.pop[j] -= self.p[i]
        state.waived[j] -= int(self.wv[i])

    def _place_all(self, state: _State, units: list[int]) -> list[int]:
        """Place units (cheapest open site with room, or by region growing); return the unplaced."""
        if self.contiguity:
            return self._grow(state, set(units))
        unplaced = []
        open_sites = np.array(sorted(state.members), dtype=np.int64)
        for i in sorted(units, key=lambda u: -self.p[u]):
            costs = self.c[i, open_sites]
            for idx in np.argsort(costs, kind="stable"):
                j = int(open_sites[idx])
                if not np.isfinite(costs[idx]):
                    break
                if state.pop[j] + self.p[i] <= self.size_lim[j] + _EPS:
                    self._place(state, i, j)
                    break
            if state.site_of[i] < 0:
                unplaced.append(i)
        return unplaced

    def _grow(self, state: _State, units: set[int]) -> list[int]:
        heap: list[tuple[float, float, int, int]] = []

        def push(u: int) -> None:
            for v in self.nbrs[u]:
                if v in units and state.site_of[v] < 0:
                    j = int(state.site_of[u])
                    if self.allowed[v, j]:
                        heapq.heappush(heap, (self.c[v, j], self.t[v, j], v, j))

        for mem in state.members.values():
            for u in mem:
                push(u)
        while heap:
            _, _, v, j = heapq.heappop(heap)
            if state.site_of[v] >= 0 or state.pop[j] + self.p[v] > self.size_lim[j] + _EPS:
                continue
            self._place(state, v, j)
            push(v)
        return [u for u in units if state.site_of[u] < 0]

    def state_from(self, site_of_unit: np.ndarray) -> _State | None:
        """State of a given assignment; units at ``-1`` and disconnected pieces (contiguity) left unplaced."""
        state = _State(np.full(self.n, -1, dtype=np.int64), {}, np.zeros(self.m), np.zeros(self.m, dtype=np.int64))
        for j in sorted(set(int(v) for v in site_of_unit) - {-1}):
            if j < 0 or not self.openable[j]:
                return None
            state.members[j] = set()
        for i, j in enumerate(site_of_unit.tolist()):
            if j < 0:
                continue
            if not self.allowed[i, j]:
                return None
            self._place(state, i, int(j))
        for j in list(state.members):
            host = self.hosts[j]
            if host is not None:
                if state.site_of[host] != j:
                    return None
                state.roots[j] = host
            if self.contiguity:
                pieces = components(state.members[j], self.nbrs)
                keep = next((c for c in pieces if host in c), None) if host is not None else max(pieces, key=len)
                if keep is None:
                    return None
                if host is None:
                    state.roots[j] = min(keep, key=lambda u: self.t[u, j])
                for piece in pieces:
                    if piece is not keep:
                        for i in piece:
                            self._remove(state, i)
        return state

    def settle(self, state: _State) -> bool:
        """Place unplaced units, then repair sizes, floors, counts and options."""
        left = [i for i in range(self.n) if state.site_of[i] < 0]
        if left and self._place_all(state, left):
            return False
        return self._repair(state)

    # ------------------------------------------------------------------ repair
    def _repair(self, state: _State) -> bool:
        for j in list(state.members):
            while state.pop[j] > self.size_lim[j] + _EPS:
                if not self._push_out(state, j):
                    return False
        for _ in range(4 * self.n + 4 * self.m):
            short = [j for j in state.members if self._short(state, j)]
            if not short:
                break
            j = min(short, key=lambda s: state.pop[s])
            if self._pull_in(state, j):
                continue
            if j in self.required or not self._close(state, j):
                return False
        else:
            return False
        if self.floor == 0 and any(not mem for mem in state.members.values()):
            for j in [j for j, mem in state.members.items() if not mem]:
                if j in self.required:
                    return False
                del state.members[j]
        rules = self.problem.rules
        if rules.min_polysystems is not None and len(state.members) < rules.min_polysystems:
            return False
        if rules.max_polysystems is not None and len(state.members) > rules.max_polysystems:
            return False
        return self.options(state) is not None

    def _short(self, state: _State, j: int) -> bool:
        return self.below_floor(state.pop[j]) and state.waived[j] == 0

    def _donor_ok(self, state: _State, i: int, k: int) -> bool:
        """Whether unit ``i`` can leave polysystem ``k`` without breaking it."""
        if state.roots.get(k) == i or len(state.members[k]) <= 1:
            return False
        if state.waived[k] - int(self.wv[i]) <= 0 and self.below_floor(state.pop[k] - self.p[i]):
            return False
        return not self.contiguity or self._connected_without(state, k, i)

    def _connected_without(self, state: _State, k: int, i: int) -> bool:
        """Whether polysystem ``k`` stays connected once unit ``i`` leaves (``i=-1``: as it is)."""
        mem = state.members[k]
        root = state.roots.get(k)
        if root is None:
            root = next((u for u in mem if u != i), None)
        if root is None:
            return True
        seen = {root}
        queue = deque([root])
        while queue:
            a = queue.popleft()
            for b in self.nbrs[a]:
                if b != i and b in mem and b not in seen:
                    seen.add(b)
                    queue.append(b)
        return len(seen) == len(mem) - (i in mem)

    def _touches(self, state: _State, i: int, j: int) -> bool:
        return any(state.site_of[v] == j for v in self.nbrs[i])

    def _frontier(self, state: _State, j: int) -> np.ndarray:
        """Units that could join ``j``: any allowed unit, or its neighbours under contiguity."""
        if not self.contiguity:
            return np.flatnonzero(self.allowed[:, j] & (state.site_of != j))
        out = {v for u in state.members[j] for v in self.nbrs[u] if state.site_of[v] != j and self.allowed[v, j]}
        return np.array(sorted(out), dtype=np.int64)

    def _pull_in(self, state: _State, j: int) -> bool:
        """Move into short polysystem ``j`` the unit costing least per person gained that may leave."""
        units = self._frontier(state, j)
        k = state.site_of[units]
        p = self.p[units]
        ok = (k >= 0) & ((p > 0) | self.wv[units]) & (state.pop[j] + p <= self.size_lim[j] + _EPS)
        units, k, p = units[ok], k[ok], p[ok]
        gain = np.where(self.wv[units], self.floor, p)
        score = (self.c[units, j] - self.c[units, k]) / gain
        for q in np.lexsort((units, score)).tolist():  # by score, ties by unit
            i, source = int(units[q]), int(k[q])
            if self._donor_ok(state, i, source):
                self._remove(state, i)
                self._place(state, i, j)
                return True
        return False

    def _push_out(self, state: _State, j: int) -> bool:
        scored = []
        for i in state.members[j]:
            for k in state.members:
                if k == j or not self.allowed[i, k] or state.pop[k] + self.p[i] > self.size_lim[k] + _EPS:
                    continue
                if self.contiguity and not self._touches(state, i, k):
                    continue
                scored.append((self.c[i, k] - self.c[i, j], i, k))
        scored.sort()
        for _, i, k in scored:
            if state.roots.get(j) != i and (not self.contiguity or self._connected_without(state, j, i)):
                self._remove(state, i)
                self._place(state, i, k)
                return True
        return False

    def _close(self, state: _State, j: int) -> bool:
        units = sorted(state.members[j])
        for i in units:
            self._remove(state, i)
        del state.members[j]
        state.roots.pop(j, None)
        if not state.members:
            return False
        return not self._place_all(state, units)

    # ------------------------------------------------------------------ evaluation
    def options(self, state: _State) -> dict[int, str] | None:
        chosen: dict[int, str] = {}
        spend = 0.0
        for j in state.members:
            fit = next(((cost, name) for cost, cap, name in self.opts[j] if state.pop[j] <= cap + _EPS), None)
            if fit is None:
                return None
            spend += fit[0]
            chosen[j] = fit[1]
        if spend > self.budget + _EPS:
            return None
        return chosen

    def terms(self, state: _State) -> dict[str, float]:
        tt = self.t[np.arange(self.n), state.site_of]
        options = self.options(state) or {}
        out: dict[str, float] = {}
        for term in TERMS:
            if not term.available(self.problem):
                continue
            if term.kind == "travel":
                w = term.weights(self.problem)
                out[term.name] = float(w @ tt) / w.sum() if w.sum() > 0 else 0.0
            elif term.kind == "max":
                out[term.name] = float(tt.max())
            else:
                out[term.name] = (
                    sum(
                        term.option_amount(self.problem.option(self.problem.site_ids[j], name))
                        for j, name in options.items()
                    )
                    / term.scale
                )
        return out

    def key(self, state: _State) -> tuple[float, ...] | None:
        if self.options(state) is None:
            return None
        return objective_key(self.problem.objective, self.terms(state))

    # ------------------------------------------------------------------ improvement
    def improve(self, state: _State, budget: WorkBudget) -> None:
        """Unit moves, then swaps, while they improve the objective."""
        for _ in range(20):
            self._moves(state, budget)
            if budget.exhausted() or not self._swaps(state, budget):
                return

    def _moves(self, state: _State, budget: WorkBudget) -> None:
        """Single-unit moves while they improve the objective."""
        for _ in range(50):
            moved = False
            current = self.key(state) if not self.exact_delta else None
            sites = np.array(sorted(state.members), dtype=np.int64)
            now = self.c[np.arange(self.n), state.site_of]
            at_sites = self.c[:, sites]
            order = np.argsort(-(now - at_sites.min(axis=1)), kind="stable")
            if self.exact_delta:  # only a strictly cheaper open site can take a unit: skip the others at once
                cheaper = at_sites < now[:, None] - 1e-12
                order = order[cheaper[order].any(axis=1)]
            for i in order.tolist():
                if not budget.spend():
                    return
                k = int(state.site_of[i])
                costs = at_sites[i]
                ranked = np.argsort(costs, kind="stable")
                if self.exact_delta:  # a unit's own site and costs stay put until it moves
                    targets = sites[ranked[cheaper[i, ranked]]].tolist()
                else:
                    targets = [int(sites[x]) for x in ranked if np.isfinite(costs[x]) and sites[x] != k][:3]
                for j in targets:
                    if state.pop[j] + self.p[i] > self.size_lim[j] + _EPS:
                        continue
                    if self.contiguity and not self._touches(state, i, j):
                        continue
                    if not self._donor_ok(state, i, k):
                        break
                    self._remove(state, i)
                    self._place(state, i, j)
                    if self.cost_matters and self.options(state) is None:
                        ok = False
                    elif self.exact_delta:
                        ok = True
                    else:
                        new = self.key(state)
                        ok = new is not None and current is not None and new < current
                        if ok:
                            current = new
                    if ok:
                        moved = True
                        break
                    self._remove(state, i)
                    self._place(state, i, k)
            if not moved:
                return

    def _swaps(self, state: _State, budget: WorkBudget) -> bool:
        """One pass of pairwise exchanges between polysystems; True if any improved."""
        improved = False
        current = None if self.exact_delta else self.key(state)
        sites = np.array(sorted(state.members), dtype=np.int64)
        now = self.c[np.arange(self.n), state.site_of]
        order = np.argsort(-(now - self.c[:, sites].min(axis=1)), kind="stable")
        for i in order.tolist():
            if not budget.spend():
                break
            a = int(state.site_of[i])
            if state.roots.get(a) == i:
                continue
            costs = self.c[i, sites]
            for x in np.argsort(costs, kind="stable")[:4]:
                b = int(sites[x])
                if b == a or not np.isfinite(costs[x]):
                    continue
                others = np.array([k for k in state.members[b] if state.roots.get(b) != k], dtype=np.int64)
                if others.size == 0:
                    continue
                gain = self.c[i, b] - self.c[i, a] + self.c[others, a] - self.c[others, b]
                done = False
                for y in np.argsort(gain, kind="stable")[:5]:
                    if not np.isfinite(gain[y]) or (self.exact_delta and gain[y] >= -1e-12):
                        break
                    k = int(others[y])
                    if not self._swap_fits(state, i, a, k, b):
                        continue
                    self._remove(state, i)
                    self._remove(state, k)
                    self._place(state, i, b)
                    self._place(state, k, a)
                    ok = not self.contiguity or (
                        self._connected_without(state, a, -1) and self._connected_without(state, b, -1)
                    )
                    if ok and self.cost_matters and self.options(state) is None:
                        ok = False
                    if ok and not self.exact_delta:
                        new = self.key(state)
                        ok = new is not None and current is not None and new < current
                        if ok:
                            current = new
                    if ok:
                        improved = done = True
                        break
                    self._remove(state, i)
                    self._remove(state, k)
                    self._place(state, i, a)
                    self._place(state, k, b)
                if done:
                    break
        return improved

    def _swap_fits(self, state: _State, i: int, a: int, k: int, b: int) -> bool:
        """Floors and sizes of both polysystems after unit ``i`` (in ``a``) and ``k`` (in ``b``) swap."""
        for site, out, into in ((a, i, k), (b, k, i)):
            pop = state.pop[site] - self.p[out] + self.p[into]
            if pop > self.size_lim[site] + _EPS:
                return False
            waived = state.waived[site] - int(self.wv[out]) + int(self.wv[into])
            if self.below_floor(pop) and waived <= 0:
                return False
        return True

    def relocate(self, state: _State, budget: WorkBudget) -> _State:
        """Hub-set local search: move one hub to a closed site, drop one, or add one.

        Each trial set is rebuilt (assign, repair, unit moves); promising trials also get
        swaps. The first improvement is kept and the search restarts from it.
        """
        best, best_key = state, self.key(state)
        if best_key is None:
            return best
        while not budget.exhausted():
            trial = self._better_hub_set(best, best_key, budget)
            if trial is None:
                break
            best, best_key = trial
        return best

    def _better_hub_set(
        self, best: _State, best_key: tuple[float, ...], budget: WorkBudget
    ) -> tuple[_State, tuple[float, ...]] | None:
        open_sites = sorted(best.members)
        closed = [s for s in range(self.m) if self.openable[s] and s not in best.members]
        trials: list[list[int]] = []
        for j in open_sites:
            if j in self.required:
                continue
            trials.append([s for s in open_sites if s != j])  # drop j
            mem = sorted(best.members[j])
            if closed:
                score = self.c[np.ix_(mem, closed)].sum(axis=0)
                for idx in np.argsort(score, kind="stable")[:6]:
                    if np.isfinite(score[idx]):
                        trials.append([s for s in open_sites if s != j] + [closed[int(idx)]])
        if closed:
            now = self.c[np.arange(self.n), best.site_of]
            gain = np.maximum(
                0.0, now[:, None] - np.where(np.isfinite(self.c[:, closed]), self.c[:, closed], np.inf)
            ).sum(axis=0)
            for idx in np.argsort(-gain, kind="stable")[:4]:
                trials.append(open_sites + [closed[int(idx)]])  # add a hub
        for sites in trials:
            if not budget.spend(self.n):
                return None
            trial = self.construct(sites)
            if trial is None:
                continue
            self._moves(trial, budget)
            key = self.key(trial)
            if key is None:
                continue
            if key[0] < best_key[0] + 0.02 * abs(best_key[0]):
                self.improve(trial, budget)
                key = self.key(trial)
            if key is not None and key < best_key:
                return trial, key
        return None

    # ------------------------------------------------------------------ final check
    def is_valid(self, state: _State) -> bool:
        """Every rule, checked on the finished state."""
        problem, rules = self.problem, self.problem.rules
        if (state.site_of < 0).any() or not self.allowed[np.arange(self.n), state.site_of].all():
            return False
        open_sites = set(state.members)
        if set(state.site_of.tolist()) != open_sites or not set(self.required) <= open_sites:
            return False
        if rules.min_polysystems is not None and len(open_sites) < rules.min_polysystems:
            return False
        if rules.max_polysystems is not None and len(open_sites) > rules.max_polysystems:
            return False
        for j in open_sites:
            mem = np.flatnonzero(state.site_of == j)
            pop = float(self.p[mem].sum())
            if self.below_floor(pop) and not self.wv[mem].any():
                return False
            if pop > self.size_lim[j] + _EPS:
                return False
            host = self.hosts[j]
            if host is not None and state.site_of[host] != j:
                return False
            if rules.respect_groups and problem.groups is not None and len({problem.groups[i] for i in mem}) > 1:
                return False
            if self.contiguity and not is_connected(mem.tolist(), self.nbrs):
                return False
        return self.options(state) is not None
