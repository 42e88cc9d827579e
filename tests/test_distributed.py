"""Dask execution: a 2-worker LocalCluster gives the same results as a serial run."""

from __future__ import annotations

import logging
import math

import pandas as pd
import pytest

import optimise
from catchment.build import build_demo
from catchment.sweep import parse_sweep
from geodata.settings import MAX_PARALLEL
from solvers.batch import SolveOptions
from solvers.distributed import SchedulerError, _quieten_cluster, cluster_description, dask_client, map_tasks
from solvers.shortlist import shortlist_sites
from solvers.sweep import run_sweep

OPTIONS = SolveOptions(time_limit=60)


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def demo():
    return build_demo()


def test_shortlist_command_on_a_local_cluster_equals_serial(demo, tmp_path):
    # first in the module: its own cluster starts before the module's shared one
    out = tmp_path / "sl"
    assert optimise.main(["shortlist", "demo", "--workers", "2", "--out", str(out), "--quiet"]) == optimise.EXIT_OK
    parallel = pd.read_csv(out / "shortlist.csv", dtype={"site_id": str}, keep_default_na=False, na_values=[""])
    serial = shortlist_sites(demo.problem, options=SolveOptions()).frame()
    assert list(parallel["site_id"]) == list(serial["site_id"]) and len(serial) == 15
    exact = ["rank", "in_optimum", "essential", "forced_open_status", "forced_closed_status", "near_optimal_plans"]
    pd.testing.assert_frame_equal(parallel[exact], serial[exact], check_dtype=False)
    for column in (
        "forced_open_objective",
        "forced_closed_objective",
        "regret",
        "value_of_keeping",
        "near_optimal_share",
    ):
        assert parallel[column].to_numpy() == pytest.approx(serial[column].to_numpy(), rel=1e-9, nan_ok=True)


def test_local_cluster_has_two_single_threaded_workers(client):
    info = client.scheduler_info()
    assert len(info["workers"]) == 2
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    assert "2 worker(s), 2 thread(s)" in cluster_description(client)


def test_map_tasks_keeps_order_and_reports_progress(client):
    seen = []
    items = list(range(12))
    results = map_tasks(math.factorial, items, client=client, progress=lambda d, t: seen.append((d, t)))
    assert results == [math.factorial(i) for i in items]
    assert seen[-1] == (12, 12) and len(seen) == 12
    assert map_tasks(int, ["11", "101"], client=client, shared={"base": 2}) == [3, 5]
    assert map_tasks(int, ["11", "101"], client=None, shared={"base": 2}) == [3, 5]
    assert map_tasks(math.factorial, [], client=client) == []


def test_map_tasks_raises_the_first_error(client):
    with pytest.raises(ValueError, match="factorial"):
        map_tasks(math.factorial, [3, -1, 4], client=client)
    with pytest.raises(ValueError, match="clash"):
        map_tasks(int, ["1"], client=client, shared={"key": 1})


def test_bad_scheduler_and_workers():
    with pytest.raises(SchedulerError, match="cannot reach"):
        with dask_client(scheduler="tcp://127.0.0.1:9", timeout=2):
            pass
    with pytest.raises(ValueError, match="workers"):
        with dask_client(workers=0):
            pass


@pytest.mark.parametrize("workers", [0, MAX_PARALLEL + 1, 10**12])
def test_workers_outside_their_range_start_no_cluster(monkeypatch, workers):
    """Before, 10**12 workers went to LocalCluster (here a stand-in that says it was asked)."""

    def started(**kwargs):
        raise AssertionError(f"a cluster of {kwargs['n_workers']} worker(s) was started")

    monkeypatch.setattr("distributed.LocalCluster", started)
    with pytest.raises(ValueError, match=f"workers must be a whole number from 1 to {MAX_PARALLEL:,}, got {workers}"):
        with dask_client(workers=workers):
            pass


def test_sweep_on_dask_equals_serial(client, demo):
    spec = parse_sweep(
        {"sweep": {"base": "demo"}, "grid": {"floor": [40_000, 60_000, 300_000], "budget": ["none", 4e6]}}
    )
    serial = run_sweep(spec, {None: demo}, options=OPTIONS)
    parallel = run_sweep(spec, {None: demo}, options=OPTIONS, client=client)
    a, b = serial.frame().drop(columns="runtime_s"), parallel.frame().drop(columns="runtime_s")
    pd.testing.assert_frame_equal(a, b)
    for x, y in zip(serial.outcomes, parallel.outcomes, strict=False):
        assert (x.record.plan.assignment == y.record.plan.assignment) if x.record.has_plan else not y.record.has_plan


def test_ctrl_c_silences_every_logger_of_the_cluster_libraries():
    """distributed gives tornado.application (which logs failed callbacks' tracebacks) a level of its own."""
    import distributed  # noqa: F401 - its logging configuration is what is tested

    tops = ("distributed", "asyncio", "tornado")

    def cluster_loggers() -> dict[str, logging.Logger]:
        names = [n for n in logging.Logger.manager.loggerDict if n.split(".")[0] in tops]
        return {n: logging.getLogger(n) for n in {*names, *tops, "tornado.application"}}

    before = {name: log.level for name, log in cluster_loggers().items()}
    try:
        _quieten_cluster()
        loud = sorted(name for name, log in cluster_loggers().items() if log.isEnabledFor(logging.CRITICAL))
        assert loud == []
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)
