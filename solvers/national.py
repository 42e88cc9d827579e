"""Solve every CCG of England (:mod:`catchment.national`) on Dask, and account for every practice.

:func:`solve_national` solves the CCG subproblems that reach the floor, largest first
(:func:`solve_order`: the long solves start early and the small ones fill the gaps), each checked by the cheap
infeasibility proofs and the independent validator. :class:`NationalResult` assembles the
national tables:

* :meth:`~NationalResult.assignments` and :meth:`~NationalResult.polysystems` — the output
  contract's columns plus ``ccg_code``; polysystem ids are prefixed by the CCG
  (``08N-PS01``) so that they are unique nationally; a hospital site that hosts hubs in
  two CCGs' plans (they are planned independently) is flagged in ``hub_shared_with``;
* :meth:`~NationalResult.ccg_summary` — one row per CCG: practices, population,
  polysystems, status, gap, shortfall and reason, and where its travel times come from
  (``travel_source``: ``estimate``, as ``run``'s CSV files say it);
* :meth:`~NationalResult.coverage` — one row per practice of the published files: assigned,
  or why not (CCG below the floor, infeasible, unsolved, left out without coordinates).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from catchment.compare import compare_plans, side_summary
from catchment.current import pcn_configuration_frame
from catchment.evaluate import plan_from_configuration
from catchment.metrics import ASSIGNMENT_COLUMNS, POLYSYSTEM_COLUMNS, assignments_frame, polysystems_frame
from catchment.national import CcgSubproblem, NationalInput
from catchment.plan import status_words
from catchment.problem import PLACEHOLDER_COSTS_NOTE, Problem
from geodata.pcn import PcnConfiguration
from solvers.batch import SolveOptions, SolveRecord, solve_and_check
from solvers.distributed import map_tasks

__all__ = [
    "CCG_SUMMARY_COLUMNS",
    "COVERAGE_COLUMNS",
    "PCN_COMPARISON_COLUMNS",
    "CcgOutcome",
    "NationalResult",
    "NATIONAL_TABLES",
    "solve_ccg",
    "solve_order",
    "solve_national",
    "compare_national",
    "comparison_summary",
]

logger = logging.getLogger(__name__)

#: Columns of :meth:`NationalResult.ccg_summary` (``ccg_summary.csv``).
CCG_SUMMARY_COLUMNS = (
    "ccg_code", "practices", "population", "polysystems", "status", "gap", "shortfall", "reason",
    "hospital_sites", "practice_sites", "mean_travel_min", "capital_cost", "validated", "runtime_s",
    "registrations_covered", "status_label", "capital_cost_source", "travel_source",
)  # fmt: skip
#: Columns of :func:`compare_national` (``pcn_comparison.csv``).
PCN_COMPARISON_COLUMNS = (
    "ccg_code", "practices", "population", "pcns", "pcn_rules_broken", "pcn_mean_travel_min",
    "optimised_status", "optimised_polysystems", "optimised_mean_travel_min", "improvement_pct",
    "adjusted_rand_index", "practices_moved", "patients_moved", "practices_without_pcn", "optimised_status_label",
    "travel_source",
)  # fmt: skip
#: Columns of :meth:`NationalResult.coverage` (``coverage.csv``).
COVERAGE_COLUMNS = ("practice_code", "ccg_code", "list_size", "status", "polysystem_id", "reason")
#: The tables :meth:`NationalResult.write_tables` writes.
NATIONAL_TABLES = ("assignments.csv", "polysystems.csv", "ccg_summary.csv", "coverage.csv")


@dataclass(frozen=True)
class CcgOutcome:
    """One CCG: its subproblem and what its solve achieved (``record`` is ``None`` if not solved)."""

    subproblem: CcgSubproblem
    record: SolveRecord | None

    @property
    def status(self) -> str:
        """The solve's status, or ``below_floor`` for a CCG too small to solve."""
        return "below_floor" if self.record is None else self.record.status

    @property
    def status_label(self) -> str:
        """Honest words for :attr:`status` (:attr:`catchment.plan.Plan.status_label` of a solve)."""
        return status_words(self.status) if self.record is None else self.record.plan.status_label

    @property
    def planned(self) -> bool:
        """The CCG has a plan that passed the validator."""
        return self.record is not None and self.record.usable


@dataclass(frozen=True, eq=False)
class NationalResult:
    """Every CCG's outcome, with the national tables.

    Attributes
    ----------
    national : NationalInput
    outcomes : tuple of CcgOutcome
        By CCG code.
    solve_s : float
        Wall-clock seconds of the solves (all CCGs).
    """

    national: NationalInput
    outcomes: tuple[CcgOutcome, ...]
    solve_s: float

    def _planned(self) -> list[tuple[str, Problem, Any]]:
        return [
            (o.subproblem.ccg_code, o.subproblem.problem, o.record.plan)
            for o in self.outcomes
            if o.planned and o.subproblem.problem is not None and o.record is not None
        ]

    def assignments(self) -> pd.DataFrame:
        """One row per planned practice: the contract columns of ``assignments.csv`` and ``ccg_code``."""
        frames = []
        for ccg, problem, plan in self._planned():
            frame = assignments_frame(problem, plan)
            frame["polysystem_id"] = ccg + "-" + frame["polysystem_id"].astype(str)
            frame["ccg_code"] = ccg
            frames.append(frame)
        if not frames:  # no CCG planned: the header still says what the file holds
            return pd.DataFrame(columns=[*ASSIGNMENT_COLUMNS, "ccg_code"])
        return pd.concat(frames, ignore_index=True)

    def polysystems(self) -> pd.DataFrame:
        """One row per polysystem.

        The contract columns of ``polysystems.csv``, ``ccg_code`` and ``hub_shared_with``.

        CCGs are planned independently, so a hospital site near two CCGs can host a hub in
        each; ``hub_shared_with`` names the other CCGs whose plans use the same site (empty
        otherwise), for the estates teams to reconcile.
        """
        frames = []
        for ccg, problem, plan in self._planned():
            frame = polysystems_frame(problem, plan)
            frame["polysystem_id"] = ccg + "-" + frame["polysystem_id"].astype(str)
            frame["ccg_code"] = ccg
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=[*POLYSYSTEM_COLUMNS, "ccg_code", "hub_shared_with"])
        table = pd.concat(frames, ignore_index=True)
        users = table.groupby("hub_site_id")["ccg_code"].agg(lambda c: sorted(set(c)))
        table["hub_shared_with"] = [
            "; ".join(c for c in users[site] if c != ccg)
            for site, ccg in zip(table["hub_site_id"], table["ccg_code"], strict=True)
        ]
        return table

    def ccg_summary(self) -> pd.DataFrame:
        """One row per CCG, columns :data:`CCG_SUMMARY_COLUMNS`."""
        rows = []
        for o in self.outcomes:
            s, r = o.subproblem, o.record
            if r is None:
                reason = s.reason
            elif not r.has_plan:
                reason = r.diagnosis
            elif not r.validated:
                reason = "the plan broke rule(s): " + "; ".join(r.violations[:3])
            else:
                reason = ""
            rows.append(
                {
                    "ccg_code": s.ccg_code,
                    "practices": len(s.practices),
                    "population": s.population,
                    "polysystems": r.n_polysystems if r is not None and r.has_plan else 0,
                    "status": o.status,
                    "gap": None if r is None else r.gap,
                    "shortfall": s.shortfall,
                    "reason": reason,
                    "hospital_sites": s.n_hospitals,
                    "practice_sites": s.n_practice_sites,
                    "mean_travel_min": None if r is None else r.mean_travel_min,
                    "capital_cost": None if r is None else r.capital_cost,
                    "validated": None if r is None else r.validated,
                    "runtime_s": None if r is None else r.runtime_s,
                    "registrations_covered": s.registrations_covered,
                    "status_label": o.status_label,
                    "capital_cost_source": None if s.problem is None else s.problem.capital_costs_source,
                    "travel_source": None if s.problem is None else s.problem.travel_source,
                }
            )
        frame = pd.DataFrame.from_records(rows, columns=list(CCG_SUMMARY_COLUMNS))
        for column in ("gap", "mean_travel_min", "capital_cost", "runtime_s"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        frame["validated"] = frame["validated"].astype("boolean")
        return frame

    def coverage(self) -> pd.DataFrame:
        """Every practice of the published files, columns :data:`COVERAGE_COLUMNS`.

        ``status``: ``assigned``, ``below_floor`` (its CCG cannot reach the floor),
        ``infeasible``, ``unsolved``, ``invalid`` (a plan broke a rule) or ``left_out``
        (no coordinates), each not assigned with its ``reason``.
        """
        sizes = self.national.practices.set_index("practice_code")["list_size"]
        rows = []
        assigned = self.assignments()
        ps_of = dict(zip(assigned["unit_id"], assigned["polysystem_id"], strict=True)) if len(assigned) else {}
        summary = self.ccg_summary().set_index("ccg_code")
        for o in self.outcomes:
            s = o.subproblem
            if o.planned:
                status, reason = "assigned", ""
            elif o.record is None:
                status, reason = "below_floor", s.reason
            elif o.record.has_plan:
                status, reason = "invalid", str(summary.loc[s.ccg_code, "reason"])
            else:
                status, reason = o.record.status, o.record.diagnosis
            for code in s.practices:
                rows.append(
                    {
                        "practice_code": code,
                        "ccg_code": s.ccg_code,
                        "list_size": sizes.get(code),
                        "status": status,
                        "polysystem_id": ps_of.get(code) if status == "assigned" else None,
                        "reason": reason,
                    }
                )
        for r in self.national.left_out.itertuples(index=False):
            rows.append(
                {
                    "practice_code": r.practice_code,
                    "ccg_code": r.ccg_code,
                    "list_size": r.list_size,
                    "status": "left_out",
                    "polysystem_id": None,
                    "reason": r.reason,
                }
            )
        frame = pd.DataFrame.from_records(rows, columns=list(COVERAGE_COLUMNS))
        frame["list_size"] = pd.to_numeric(frame["list_size"], errors="coerce").astype("Int64")
        return frame.sort_values(["ccg_code", "practice_code"]).reset_index(drop=True)

    def write_tables(self, folder: str | Path) -> list[Path]:
        """Write :data:`NATIONAL_TABLES` into ``folder`` (which must exist); return their paths."""
        folder = Path(folder)
        tables = {
            "assignments.csv": self.assignments(),
            "polysystems.csv": self.polysystems(),
            "ccg_summary.csv": self.ccg_summary(),
            "coverage.csv": self.coverage(),
        }
        for name, frame in tables.items():
            frame.to_csv(folder / name, index=False)
        return [folder / name for name in NATIONAL_TABLES]

    def summary(self) -> dict[str, Any]:
        """Plain figures for ``national.json`` and the terminal (JSON-safe: no NaN)."""
        coverage = self.coverage()
        polysystems = self.polysystems()
        shared = polysystems.loc[polysystems["hub_shared_with"] != ""] if len(polysystems) else polysystems
        by_status = coverage["status"].value_counts().to_dict()
        statuses: dict[str, int] = {}
        for o in self.outcomes:
            statuses[o.status] = statuses.get(o.status, 0) + 1
        # any CCG's placeholder costs make the national figures placeholders
        sources = {o.subproblem.problem.capital_costs_source for o in self.outcomes if o.subproblem.problem is not None}
        costs = "placeholder" if "placeholder" in sources else ("scenario" if sources else None)
        n = len(coverage)
        accounted = (coverage["status"] == "assigned") | (coverage["reason"].fillna("").str.len() > 0)
        population = float(pd.to_numeric(coverage["list_size"], errors="coerce").fillna(0).sum())
        assigned_pop = float(
            pd.to_numeric(coverage.loc[coverage["status"] == "assigned", "list_size"], errors="coerce").fillna(0).sum()
        )
        figures = {
            "ccgs": len(self.outcomes),
            "ccg_status": statuses,
            "ccgs_not_proven_optimal": [o.subproblem.ccg_code for o in self.outcomes if o.status == "feasible"],
            "practices": n,
            "practice_status": {str(k): int(v) for k, v in by_status.items()},
            "practices_assigned_share": by_status.get("assigned", 0) / n if n else math.nan,
            "practices_accounted_share": float(accounted.mean()) if n else math.nan,
            "practices_listed_once": bool(coverage["practice_code"].is_unique),
            "population": population,
            "population_assigned_share": assigned_pop / population if population > 0 else math.nan,
            "polysystems": int(sum(o.record.n_polysystems for o in self.outcomes if o.planned and o.record)),
            "hub_sites_shared_by_ccgs": sorted(set(shared["hub_site_id"])) if len(shared) else [],
            "area_label": self.national.area.one,
            "floor": self.national.floor,
            "travel_label": self.national.travel_label,
            "load_s": self.national.load_s,
            "solve_s": self.solve_s,
            "input_files": dict(self.national.input_files),
            "data_files": dict(self.national.data_files),
            "capital_costs_source": costs,
            "capital_costs_note": PLACEHOLDER_COSTS_NOTE if costs == "placeholder" else None,
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}


def solve_ccg(problem: Problem, *, options: SolveOptions) -> SolveRecord:
    """Solve one CCG's problem (a Dask task).

    Parameters
    ----------
    problem
        The CCG's problem.
    options
        Solver settings.

    Returns
    -------
    SolveRecord
    """
    return solve_and_check(problem, options)


def solve_order(subproblems: Iterable[CcgSubproblem]) -> list[CcgSubproblem]:
    """The CCGs to solve, longest expected solve first.

    Longest-processing-time-first: the CCGs with the most unit-site pairs (the ones that run
    to the time limit) start at once on every worker and the small ones fill the gaps, so
    that no long solve starts last and leaves the other workers idle at the end. Ties by CCG
    code. CCGs below the floor (no problem) are left out.

    Parameters
    ----------
    subproblems
        The CCG subproblems.

    Returns
    -------
    list of CcgSubproblem
    """
    todo = [s for s in subproblems if s.problem is not None]
    return sorted(todo, key=lambda s: (-_pairs(s), s.ccg_code))


def _pairs(sub: CcgSubproblem) -> int:
    return 0 if sub.problem is None else sub.problem.n_units * sub.problem.n_sites


def solve_national(
    national: NationalInput,
    *,
    options: SolveOptions | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> NationalResult:
    """Solve every CCG that reaches the floor, in :func:`solve_order`.

    Parameters
    ----------
    national
        The subproblems (:func:`catchment.national.national_subproblems`).
    options
        Solver settings per CCG.
    client
        A :class:`distributed.Client`, or ``None`` to solve serially.
    progress
        ``progress(done, total)`` after each CCG.

    Returns
    -------
    NationalResult
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    todo = solve_order(national.subproblems)
    logger.info(
        "solving %d %s; %d below the floor", len(todo), national.area.many, len(national.subproblems) - len(todo)
    )
    records = map_tasks(
        solve_ccg, [s.problem for s in todo], client=client, shared={"options": options}, progress=progress, name="ccg"
    )
    by_ccg = {s.ccg_code: r for s, r in zip(todo, records, strict=True)}
    outcomes = tuple(CcgOutcome(s, by_ccg.get(s.ccg_code)) for s in national.subproblems)
    return NationalResult(national, outcomes, time.perf_counter() - started)


def compare_national(result: NationalResult, configurations: Mapping[str, PcnConfiguration]) -> pd.DataFrame:
    """Each CCG's PCNs against its optimised plan.

    Parameters
    ----------
    result
        The national run (:func:`solve_national`).
    configurations
        CCG code -> the PCNs of its practices (:func:`geodata.pcn.pcn_configuration`);
        CCGs without one are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per CCG with a problem, columns :data:`PCN_COMPARISON_COLUMNS`: the current
        configuration scored with the same metrics and validator (its rules broken, mean
        travel), the optimised plan's status (``optimised_status_label`` in words: "feasible,
        not proven optimal" when its solve stopped before proof) and mean travel, the improvement in percent,
        the adjusted Rand index and the practices and patients that move, and where the travel
        times come from (``travel_source``: ``estimate``). CCGs without a
        valid optimised plan (below the floor, infeasible) keep the current side only.
    """
    rows = []
    for outcome in result.outcomes:
        sub = outcome.subproblem
        config = configurations.get(sub.ccg_code)
        if sub.problem is None or config is None:
            continue
        problem = sub.problem
        configuration = pcn_configuration_frame(problem.unit_ids, config)
        current = plan_from_configuration(problem, configuration, file=f"PCNs of CCG {sub.ccg_code}")
        without = len(config.unallocated) + len(config.missing)
        row: dict[str, Any] = {
            "ccg_code": sub.ccg_code,
            "practices": problem.n_units,
            "population": problem.total_population,
            "pcns": len(current.hub_options),
            "pcn_rules_broken": len(current.violations),
            "pcn_mean_travel_min": side_summary(problem, current)["mean_travel_min"],
            "optimised_status": outcome.status,
            "optimised_status_label": outcome.status_label,
            "practices_without_pcn": without,
            "travel_source": problem.travel_source,
        }
        if outcome.planned and outcome.record is not None:
            comparison = compare_plans(problem, current, outcome.record.plan)
            now, best = comparison.current["mean_travel_min"], comparison.proposed["mean_travel_min"]
            row.update(
                optimised_polysystems=comparison.proposed["polysystems"],
                optimised_mean_travel_min=best,
                improvement_pct=100.0 * (now - best) / now if now and best is not None else math.nan,
                adjusted_rand_index=comparison.adjusted_rand_index,
                practices_moved=comparison.units_moved,
                patients_moved=comparison.population_moved,
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(PCN_COMPARISON_COLUMNS))


def comparison_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """National figures of :func:`compare_national`: counts and the distribution of the improvement."""
    compared = frame.dropna(subset=["improvement_pct"])
    improvement = compared["improvement_pct"].astype(float)
    figures = {
        "ccgs": len(frame),
        "ccgs_compared": len(compared),
        "ccgs_where_pcns_break_rules": int((frame["pcn_rules_broken"] > 0).sum()),
        "pcn_rules_broken": int(frame["pcn_rules_broken"].sum()),
        "improvement_pct_quantiles": {
            f"p{p}": float(improvement.quantile(p / 100)) for p in (10, 25, 50, 75, 90) if len(improvement)
        },
        "improvement_pct_mean": float(improvement.mean()) if len(improvement) else None,
        "adjusted_rand_index_median": float(compared["adjusted_rand_index"].median()) if len(compared) else None,
        "practices_moved": int(compared["practices_moved"].sum()),
        "patients_moved": float(compared["patients_moved"].sum()),
    }
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}
