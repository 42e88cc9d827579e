"""Benchmark: travel-time matrix on a synthetic ~100k-node road network.

Builds a perturbed grid with a road hierarchy (fast arterial roads every tenth street,
slower residential streets, a share of them one-way, a few missing links), then times
:func:`geodata.travel.travel_time_matrix` for 5,000 origins x 500 destinations, in the
same process, against

* a plain networkx loop (``single_source_dijkstra_path_length`` on the reversed graph,
  one call per destination, on a sample of destinations, extrapolated);
* :func:`scipy.sparse.csgraph.dijkstra` alone, in this one process, from the same 500
  destination nodes on the same CSR arrays (the searches of our call without the graph
  compilation, snapping, access legs or worker processes);
* networkit (``distance.SPSP``, OpenMP threads), python-igraph (``Graph.distances``) and
  edsger (``path.Dijkstra`` in threads), each converting the same CSR arrays into its own
  graph (timed and counted) and running the same searches, when installed;
* pyroutingkit (RoutingKit's customizable contraction hierarchies, many-to-many), whose
  integer weights make it inexact, when installed;
* pandana's contraction hierarchies (``Network`` + ``shortest_path_lengths`` on every
  pair), preprocessing timed on its own, when pandana is installed.

Every answer is compared with ours (node to node, minutes). Wall and CPU seconds are
printed side by side (CPU counts this process and the worker processes it forked).

Run on demand, not in the test suite::

    python bench/travel_times.py               # full size (~100k nodes, 5,000 x 500)
    python bench/travel_times.py --quick       # smoke size, a few seconds
    python bench/travel_times.py --write-doc   # and rewrite the "Travel times" block of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.docsections import write_section  # noqa: E402
from geodata.settings import usable_cores  # noqa: E402
from geodata.travel import RoadArrays, road_arrays, travel_time_matrix  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: Walking speed of the access legs (the default of travel_time_matrix), metres per minute.
ACCESS_M_PER_MIN = 4.8 * 1000 / 60
#: pyroutingkit takes 32-bit integer weights (sums below 2**31 - 1): seconds are handed over in
#: units of 10 microseconds (paths up to about six hours).
CCH_SCALE = 1e5
#: pandana rounds each edge weight to three decimals: weights are handed over in
#: hundredths of a second (so its rounding is 0.00001 s per edge) and converted back.
PANDANA_SCALE = 100.0

#: Speeds (km/h) of the road classes.
ARTERIAL_KPH = 48.0
RESIDENTIAL_KPH = (20.0, 32.0)


def synthetic_network(side: int, *, spacing_m: float = 100.0, seed: int = 0) -> nx.MultiDiGraph:
    """A ``side x side`` perturbed grid road graph in EPSG:27700 (osmnx attributes).

    Parameters
    ----------
    side
        Nodes per row and column (316 gives ~100k nodes).
    spacing_m
        Distance between neighbouring junctions.
    seed
        Random seed.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``/``y``; edges with ``length`` (m), ``speed_kph``, ``travel_time``
        (s) and ``highway``; every tenth row/column is a two-way arterial road, 15% of the
        other streets are one-way and 3% of them are missing.
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    jitter = rng.uniform(-0.25, 0.25, (side * side, 2)) * spacing_m
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    x = 510_000.0 + gx.ravel() * spacing_m + jitter[:, 0]
    y = 170_000.0 + gy.ravel() * spacing_m + jitter[:, 1]

    horizontal = (ids[:, :-1].ravel(), ids[:, 1:].ravel(), np.repeat(np.arange(side) % 10 == 0, side - 1))
    vertical = (ids[:-1, :].ravel(), ids[1:, :].ravel(), np.tile(np.arange(side) % 10 == 0, side - 1))
    a = np.concatenate([horizontal[0], vertical[0]])
    b = np.concatenate([horizontal[1], vertical[1]])
    arterial = np.concatenate([horizontal[2], vertical[2]])

    draw = rng.random(a.size)
    missing = ~arterial & (draw < 0.03)
    one_way = ~arterial & (draw >= 0.03) & (draw < 0.18)
    a, b, arterial, one_way = a[~missing], b[~missing], arterial[~missing], one_way[~missing]
    flip = one_way & (rng.random(a.size) < 0.5)
    a, b = np.where(flip, b, a), np.where(flip, a, b)

    length = np.hypot(x[a] - x[b], y[a] - y[b]) * rng.uniform(1.0, 1.15, a.size)
    speed = np.where(arterial, ARTERIAL_KPH, rng.uniform(*RESIDENTIAL_KPH, a.size))
    seconds = length / (speed / 3.6)
    highway = np.where(arterial, "primary", "residential")

    G = nx.MultiDiGraph(crs="EPSG:27700", mode="drive", source="synthetic grid")
    G.add_nodes_from((int(i), {"x": float(x[i]), "y": float(y[i])}) for i in range(side * side))
    forward = [
        (
            int(u),
            int(v),
            {"length": float(m), "speed_kph": float(k), "travel_time": float(t), "highway": str(h)},
        )
        for u, v, m, k, t, h in zip(a, b, length, speed, seconds, highway, strict=True)
    ]
    G.add_edges_from(forward)
    two_way = ~one_way
    G.add_edges_from((int(v), int(u), d) for (u, v, d), keep in zip(forward, two_way, strict=True) if keep)
    return G


def networkx_minutes(G: nx.MultiDiGraph, origin_nodes: list[int], dest_nodes: list[int]) -> np.ndarray:
    """Node-to-node minutes with one networkx Dijkstra per destination on the reversed graph."""
    reverse = G.reverse(copy=False)
    out = np.full((len(origin_nodes), len(dest_nodes)), np.inf)
    for j, d in enumerate(dest_nodes):
        lengths = nx.single_source_dijkstra_path_length(reverse, d, weight="travel_time")
        out[:, j] = [lengths.get(o, np.inf) / 60.0 for o in origin_nodes]
    return out


@contextlib.contextmanager
def isolated_cache() -> Iterator[None]:
    """Point the travel-time cache at a temporary folder for the duration."""
    previous = os.environ.get("CATCHMENT_CACHE_DIR")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CATCHMENT_CACHE_DIR"] = folder
        try:
            yield
        finally:
            if previous is None:
                del os.environ["CATCHMENT_CACHE_DIR"]
            else:
                os.environ["CATCHMENT_CACHE_DIR"] = previous


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its finished child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``fn()``, its wall seconds and the CPU seconds it took here and in the processes it forked."""
    c0, w0 = cpu_seconds(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - w0, cpu_seconds() - c0


def scipy_seconds(net: RoadArrays, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Seconds from ``sources`` to ``targets`` on the reversed graph: scipy's dijkstra, one process, blocks of rows."""
    from scipy.sparse.csgraph import dijkstra

    block = max(1, (32 * 2**20) // (8 * net.xy.shape[0]))
    out = np.empty((sources.size, targets.size))
    for start in range(0, sources.size, block):
        chunk = sources[start : start + block]
        out[start : start + chunk.size] = dijkstra(net.reverse, directed=True, indices=chunk)[:, targets]
    return out


def pandana_seconds(net: RoadArrays, origins: np.ndarray, destinations: np.ndarray) -> dict[str, Any] | None:
    """Contraction hierarchies (pandana) on the same arcs: every origin-destination pair.

    Returns ``None`` when pandana is not installed; otherwise the preprocessing and query
    wall/CPU seconds and the ``(len(origins), len(destinations))`` seconds (``inf`` where
    pandana reports no path).
    """
    try:
        import pandana
        import pandas as pd
    except ImportError:
        return None
    forward = net.forward.tocoo()
    nodes = np.arange(net.xy.shape[0])

    def build() -> Any:
        with contextlib.redirect_stdout(io.StringIO()):  # progress dots of the contraction
            return pandana.Network(
                pd.Series(net.xy[:, 0], index=nodes),
                pd.Series(net.xy[:, 1], index=nodes),
                pd.Series(forward.row),
                pd.Series(forward.col),
                pd.DataFrame({"seconds": forward.data * PANDANA_SCALE}),
                twoway=False,
            )

    network, build_wall, build_cpu = timed(build)
    a = np.repeat(origins, destinations.size)
    b = np.tile(destinations, origins.size)

    def query() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "unconnected nodes": those pairs come back as 4294967.295
            return np.asarray(network.shortest_path_lengths(a, b), dtype=np.float64)

    lengths, query_wall, query_cpu = timed(query)
    lengths = np.where(lengths >= 4294967.0, np.inf, lengths / PANDANA_SCALE)
    return {
        "version": pandana.__version__,
        "build_wall": build_wall,
        "build_cpu": build_cpu,
        "query_wall": query_wall,
        "query_cpu": query_cpu,
        "seconds": lengths.reshape(origins.size, destinations.size),
    }


# --------------------------------------------------------------------------- other shortest-path libraries
#
# Each runs the same searches as :func:`scipy_seconds` (from every unique destination node
# on the reversed graph, read at the origin nodes), on the same arcs, after converting the
# CSR arrays into the library's own graph (the conversion is timed apart and counted).
# Each returns ``None`` when the library is not installed, otherwise a dict with
# ``version``, ``build_wall``, ``build_cpu``, ``query_wall``, ``query_cpu``, ``threads``
# and ``seconds`` (``(len(sources), len(targets))``, ``inf`` where unreachable).


def _library_run(version: str, threads: int, build: Callable[[], Any], query: Callable[[Any], Any]) -> dict[str, Any]:
    """Time ``build()`` then ``query(built)``; the query's answer as float64 seconds."""
    built, build_wall, build_cpu = timed(build)
    seconds, query_wall, query_cpu = timed(lambda: np.asarray(query(built), dtype=np.float64))
    return {
        "version": version,
        "threads": threads,
        "build_wall": build_wall,
        "build_cpu": build_cpu,
        "query_wall": query_wall,
        "query_cpu": query_cpu,
        "seconds": seconds,
    }


def networkit_seconds(
    net: RoadArrays, sources: np.ndarray, targets: np.ndarray, *, threads: int
) -> dict[str, Any] | None:
    """Searches by networkit's some-pairs shortest paths (``networkit.distance.SPSP``, C++, OpenMP over the sources)."""
    try:
        import networkit as nk
    except ImportError:
        return None
    arcs = net.reverse.tocoo()
    n = net.xy.shape[0]

    def build() -> Any:
        rows, cols = arcs.row.astype(np.uint64), arcs.col.astype(np.uint64)
        return nk.GraphFromCoo((arcs.data, (rows, cols)), n=n, directed=True, weighted=True)

    def query(graph: Any) -> np.ndarray:
        previous = nk.getMaxNumberOfThreads()
        nk.setNumberOfThreads(threads)
        try:
            spsp = nk.distance.SPSP(graph, sources.tolist(), targets.tolist())
            spsp.run()
            out = np.asarray(spsp.getDistances(), dtype=np.float64)
        finally:
            nk.setNumberOfThreads(previous)
        return np.where(out >= np.finfo(np.float64).max, np.inf, out)  # no path: the largest double

    return _library_run(nk.__version__, threads, build, query)


def igraph_seconds(net: RoadArrays, sources: np.ndarray, targets: np.ndarray) -> dict[str, Any] | None:
    """Searches by python-igraph's ``Graph.distances`` (C, Dijkstra with a binary heap, one thread)."""
    try:
        import igraph
    except ImportError:
        return None
    arcs = net.reverse.tocoo()
    n = net.xy.shape[0]

    def build() -> Any:
        graph = igraph.Graph(n=n, edges=np.column_stack([arcs.row, arcs.col]).tolist(), directed=True)
        graph.es["seconds"] = arcs.data.tolist()
        return graph

    def query(graph: Any) -> np.ndarray:
        unique, back = np.unique(targets, return_inverse=True)  # igraph refuses repeated targets
        out = graph.distances(source=sources.tolist(), target=unique.tolist(), weights="seconds", mode="out")
        return np.asarray(out, dtype=np.float64)[:, back]

    return _library_run(igraph.__version__, 1, build, query)


def edsger_seconds(net: RoadArrays, sources: np.ndarray, targets: np.ndarray, *, threads: int) -> dict[str, Any] | None:
    """Searches by edsger's ``path.Dijkstra`` (Cython, 4-ary heap, no GIL: ``threads`` threads share them)."""
    try:
        import edsger
        import pandas as pd
        from edsger.path import Dijkstra
    except ImportError:
        return None
    arcs = net.reverse.tocoo()
    n = net.xy.shape[0]

    def build() -> list[Any]:
        edges = pd.DataFrame(
            {"tail": arcs.row.astype(np.uint32), "head": arcs.col.astype(np.uint32), "weight": arcs.data}
        )
        return [Dijkstra(edges, orientation="out") for _ in range(threads)]

    def query(searches: list[Any]) -> np.ndarray:
        out = np.empty((sources.size, targets.size))

        def work(k: int) -> None:
            for i in range(k, sources.size, threads):
                lengths = searches[k].run(int(sources[i]))
                padded = np.full(n, np.inf)  # edsger's vertices end at the largest one with an arc
                padded[: lengths.size] = lengths
                out[i] = padded[targets]

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
        return out

    return _library_run(edsger.__version__, threads, build, query)


def pyroutingkit_seconds(net: RoadArrays, sources: np.ndarray, targets: np.ndarray) -> dict[str, Any] | None:
    """RoutingKit's customizable contraction hierarchies (pyroutingkit): many-to-many on the same arcs.

    The topology (nested dissection order on WGS84 coordinates) and the customisation with
    the weights are the "conversion"; RoutingKit's weights are 32-bit integers, handed over
    in units of :data:`CCH_SCALE`, so its times are not exact.
    """
    try:
        import pyroutingkit
        from pyproj import Transformer
    except ImportError:
        return None
    arcs = net.forward.tocoo()
    n = net.xy.shape[0]

    def build() -> Any:
        lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(net.xy[:, 0], net.xy[:, 1])
        topology = pyroutingkit.CCHTopology()
        topology.build(
            arcs.row.astype(np.uint32),
            arcs.col.astype(np.uint32),
            np.asarray(lat, dtype=np.float32),
            np.asarray(lon, dtype=np.float32),
            n,
        )
        metric = pyroutingkit.CCHMetric(topology)
        metric.customize(np.rint(arcs.data * CCH_SCALE).astype(np.uint32))
        return topology, metric

    def query(built: Any) -> np.ndarray:
        # forward graph, from the origins (targets here) to the destinations (sources here)
        lengths = built[1].distances_many_to_many(targets.astype(np.uint32), sources.astype(np.uint32)).T
        return np.where(lengths >= pyroutingkit.INF_WEIGHT, np.inf, lengths / CCH_SCALE)

    return _library_run(version("pyroutingkit"), 1, build, query)


#: The libraries compared, in the order of the table (names used as keys of the figures).
LIBRARIES = ("networkit", "igraph", "edsger", "edsger_1", "pyroutingkit")


def library_runs(
    net: RoadArrays, sources: np.ndarray, targets: np.ndarray, *, threads: int, skip: bool = False
) -> dict[str, dict[str, Any] | None]:
    """Every library of :data:`LIBRARIES` on the same searches (``None``: not installed, or ``skip``)."""
    if skip:
        return dict.fromkeys(LIBRARIES)
    return {
        "networkit": networkit_seconds(net, sources, targets, threads=threads),
        "igraph": igraph_seconds(net, sources, targets),
        "edsger": edsger_seconds(net, sources, targets, threads=threads),
        "edsger_1": edsger_seconds(net, sources, targets, threads=1) if threads > 1 else None,
        "pyroutingkit": pyroutingkit_seconds(net, sources, targets),
    }


def max_difference(a: np.ndarray, b: np.ndarray, what: str) -> float:
    """Largest |a - b| over the pairs both find a route for; raises when reachability differs."""
    finite = np.isfinite(a)
    if not np.array_equal(finite, np.isfinite(b)):
        raise AssertionError(f"reachability differs between ours and {what}")
    return float(np.abs(a[finite] - b[finite]).max()) if finite.any() else 0.0


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print its figures.

    Parameters
    ----------
    argv
        Command-line arguments (``--quick``, ``--side``, ``--origins``, ``--write-doc``...).

    Returns
    -------
    dict
        The measured figures (seconds, pairs per second, speed-ups, max differences).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke size: 60x60 grid, 300 x 30")
    parser.add_argument("--side", type=int, default=316, help="grid side (nodes per row)")
    parser.add_argument("--origins", type=int, default=5000)
    parser.add_argument("--destinations", type=int, default=500)
    parser.add_argument("--nx-sample", type=int, default=20, help="destinations routed by networkx")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="search processes (default: usable cores)")
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana even when installed")
    parser.add_argument(
        "--no-libraries", action="store_true", help="skip networkit, igraph and edsger even when installed"
    )
    parser.add_argument("--write-doc", action="store_true", help=f"rewrite the Travel times block of {DOC.name}")
    args = parser.parse_args(argv)
    if args.quick:
        args.side, args.origins, args.destinations, args.nx_sample = 60, 300, 30, 5
    workers = usable_cores() if args.workers is None else args.workers

    load_before = os.getloadavg()[0]
    G, t_build, _ = timed(lambda: synthetic_network(args.side, seed=args.seed))
    print(f"graph: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges, built in {t_build:.2f} s")
    rng = np.random.default_rng(args.seed + 1)
    xs = np.array([d["x"] for _, d in G.nodes(data=True)])
    ys = np.array([d["y"] for _, d in G.nodes(data=True)])
    lo, hi = np.array([xs.min(), ys.min()]), np.array([xs.max(), ys.max()])
    origins = rng.uniform(lo, hi, (args.origins, 2))
    destinations = rng.uniform(lo, hi, (args.destinations, 2))
    pairs = args.origins * args.destinations

    with isolated_cache():
        net, t_compile, c_compile = timed(lambda: road_arrays(G))
        tt, t_matrix, c_matrix = timed(lambda: travel_time_matrix(net, origins, destinations, workers=workers))
        again, t_hit, _ = timed(lambda: travel_time_matrix(net, origins, destinations, progress=False))
        assert np.array_equal(again.minutes, tt.minutes)
        whole, t_total, c_total = timed(
            lambda: travel_time_matrix(G, origins, destinations, cache=False, progress=False, workers=workers)
        )
        one, t_one, c_one = timed(
            lambda: travel_time_matrix(G, origins, destinations, cache=False, progress=False, workers=1)
        )
    assert np.array_equal(whole.minutes, tt.minutes) and np.array_equal(one.minutes, tt.minutes)
    print(f"matrix: {args.origins:,} x {args.destinations:,} = {pairs:,} pairs; {workers} search process(es)")
    print(f"  graph -> CSR arrays (fingerprint included): {t_compile:.2f} s wall, {c_compile:.2f} s CPU")
    print(f"  snapping + searches + access legs + cache write: {t_matrix:.2f} s wall ({pairs / t_matrix:,.0f} pairs/s)")
    print(
        f"  whole call from the networkx graph, no cache: {t_total:.2f} s wall, {c_total:.2f} s CPU "
        f"({pairs / t_total:,.0f} pairs/s)"
    )
    print(f"  the same with workers=1: {t_one:.2f} s wall, {c_one:.2f} s CPU")
    print(f"  cache hit: {t_hit:.3f} s")
    print(f"  unreachable pairs: {int(np.isinf(tt.minutes).sum()):,}")

    # Node-to-node seconds of ours, for the comparisons below.
    o_pos, _ = net.snap(origins)
    d_pos, _ = net.snap(destinations)
    access = (tt.origin_snap_m[:, None] + tt.destination_snap_m[None, :]) / ACCESS_M_PER_MIN
    ours_min = tt.minutes - access
    ud = np.unique(d_pos)

    scipy_s, t_scipy, c_scipy = timed(lambda: scipy_seconds(net, ud, o_pos))
    scipy_min = scipy_s.T[:, np.searchsorted(ud, d_pos)] / 60.0
    diff_scipy = max_difference(ours_min, scipy_min, "scipy")
    print(
        f"scipy dijkstra alone (one process), {ud.size} searches: {t_scipy:.2f} s wall, {c_scipy:.2f} s CPU; "
        f"max |difference| {diff_scipy:.2e} min"
    )

    sample = rng.choice(args.destinations, size=min(args.nx_sample, args.destinations), replace=False)
    ref, t_nx_sample, c_nx_sample = timed(
        lambda: networkx_minutes(G, [net.nodes[i] for i in o_pos], [net.nodes[i] for i in d_pos[sample]])
    )
    t_nx = t_nx_sample * args.destinations / sample.size
    c_nx = c_nx_sample * args.destinations / sample.size
    diff_nx = max_difference(ours_min[:, sample], ref, "networkx")
    print(
        f"networkx: {sample.size} destinations in {t_nx_sample:.2f} s wall, {c_nx_sample:.2f} s CPU -> "
        f"{t_nx:.1f} s wall, {c_nx:.1f} s CPU extrapolated to {args.destinations:,}; "
        f"max |difference| {diff_nx:.2e} min"
    )

    figures: dict[str, float] = {
        "nodes": float(G.number_of_nodes()),
        "workers": float(workers),
        "compile_s": t_compile,
        "matrix_s": t_matrix,
        "total_s": t_total,
        "total_cpu_s": c_total,
        "total_one_worker_s": t_one,
        "total_one_worker_cpu_s": c_one,
        "compile_cpu_s": c_compile,
        "cache_hit_s": t_hit,
        "pairs_per_s": pairs / t_total,
        "scipy_s": t_scipy,
        "scipy_cpu_s": c_scipy,
        "networkx_s": t_nx,
        "networkx_cpu_s": c_nx,
        "speedup": t_nx / t_total,
        "speedup_cpu": c_nx / c_total,
        "speedup_one_worker": t_nx / t_one,
        "max_diff_min": diff_nx,
        "max_diff_scipy_min": diff_scipy,
    }
    versions: dict[str, str] = {}
    for name, run in library_runs(net, ud, o_pos, threads=workers, skip=args.no_libraries).items():
        if run is None:
            print(f"{name}: not run (not installed, or --no-libraries)")
            continue
        library_min = run["seconds"].T[:, np.searchsorted(ud, d_pos)] / 60.0
        diff = max_difference(ours_min, library_min, name)
        wall, cpu = run["build_wall"] + run["query_wall"], run["build_cpu"] + run["query_cpu"]
        print(
            f"{name} {run['version']} ({run['threads']} thread(s)): graph conversion {run['build_wall']:.2f} s wall "
            f"({run['build_cpu']:.2f} s CPU), {ud.size} searches {run['query_wall']:.2f} s wall "
            f"({run['query_cpu']:.2f} s CPU); against scipy's searches alone x{t_scipy / wall:.2f} wall, "
            f"x{c_scipy / cpu:.2f} CPU; max |difference| {diff:.2e} min"
        )
        figures.update(
            {
                f"{name}_threads": float(run["threads"]),
                f"{name}_build_s": run["build_wall"],
                f"{name}_build_cpu_s": run["build_cpu"],
                f"{name}_s": wall,
                f"{name}_cpu_s": cpu,
                f"max_diff_{name}_min": diff,
            }
        )
        versions[name] = run["version"]
    pandana = None if args.no_pandana else pandana_seconds(net, o_pos, ud)
    if pandana is None:
        print("pandana: not run (not installed, or --no-pandana)")
    else:
        pandana_min = pandana["seconds"][:, np.searchsorted(ud, d_pos)] / 60.0
        diff_pandana = max_difference(ours_min, pandana_min, "pandana")
        t_pandana = pandana["build_wall"] + pandana["query_wall"]
        print(
            f"pandana {pandana['version']}: contraction {pandana['build_wall']:.2f} s wall "
            f"({pandana['build_cpu']:.2f} s CPU), {pairs:,} pair queries {pandana['query_wall']:.2f} s wall "
            f"({pandana['query_cpu']:.2f} s CPU); max |difference| {diff_pandana:.2e} min"
        )
        figures.update(
            pandana_build_s=pandana["build_wall"],
            pandana_query_s=pandana["query_wall"],
            pandana_cpu_s=pandana["build_cpu"] + pandana["query_cpu"],
            max_diff_pandana_min=diff_pandana,
            speedup_vs_pandana=t_pandana / t_total,
            speedup_vs_pandana_query=pandana["query_wall"] / t_total,
        )
    print(
        f"speed-up of the whole call vs networkx: x{figures['speedup']:.1f} wall, x{figures['speedup_cpu']:.1f} CPU "
        f"(workers=1: x{figures['speedup_one_worker']:.1f} wall); vs scipy searches alone: x{t_scipy / t_total:.1f} "
        f"wall, x{c_scipy / c_total:.2f} CPU"
        + (
            f"; vs pandana (contraction + queries): x{figures['speedup_vs_pandana']:.1f}"
            if "speedup_vs_pandana" in figures
            else ""
        )
    )
    figures["load_before"], figures["load_after"] = load_before, os.getloadavg()[0]
    print(f"machine load (1-minute average): {load_before:.1f} at the start, {figures['load_after']:.1f} at the end")
    if args.write_doc:
        command = " ".join(["python bench/travel_times.py", *(sys.argv[1:] if argv is None else argv)])
        block = doc_block(args, figures, command=command, versions=versions)
        write_section(DOC, "travel-times", "Travel times", block, script="bench/travel_times.py")
        print(f"wrote the Travel times block of {DOC}")
    return figures


#: Largest difference from ours (minutes) for a library's answers to count as identical.
EXACT_MIN = 1e-6
#: Least ratio of scipy's CPU seconds to a library's (conversion included) that counts as a clear win:
#: a third less CPU, well beyond the run-to-run spread of the ratios on this shared machine.
CLEAR_WIN = 1.5


def library_notes(f: dict[str, float]) -> list[str]:
    """Doc-block bullets on the libraries that ran: their CPU against scipy's searches, and the verdict.

    Only a library whose answers are exact (within :data:`EXACT_MIN` of ours on every pair)
    may replace scipy's searches.
    """
    ran = [name for name in LIBRARIES if f"{name}_s" in f]
    if not ran:
        return ["- networkit, python-igraph, edsger and pyroutingkit: not run (not installed, or --no-libraries)."]
    ratios = {name: f["scipy_cpu_s"] / f[f"{name}_cpu_s"] for name in ran}
    exact = [name for name in ran if f[f"max_diff_{name}_min"] <= EXACT_MIN]
    text = "; ".join(f"{name.replace('_1', ' (1 thread)')} x{ratios[name]:.2f}" for name in ran)
    best = max(exact, key=ratios.__getitem__) if exact else None
    if best is None:
        verdict = f"none is exact to {EXACT_MIN:g} min, so the matrix keeps scipy's searches"
    elif ratios[best] < CLEAR_WIN:
        verdict = (
            f"no exact one needs clearly less CPU than scipy (at least x{CLEAR_WIN:g}; the best, "
            f"{best.replace('_1', ' in 1 thread')}, x{ratios[best]:.2f}), so the matrix keeps scipy's searches"
        )
    else:
        verdict = f"{best} is exact and needs x{ratios[best]:.2f} less CPU than scipy"
    notes = [
        "- Other shortest-path libraries on the same searches (from each unique destination node, read at the origin "
        "nodes; converting the CSR arrays into the library's graph is counted): scipy's CPU seconds over theirs: "
        f"{text}; {verdict}. Their wall seconds use up to {int(f['workers'])} threads, scipy's row one process."
    ]
    if "pyroutingkit_s" in f:
        notes.append(
            f"- pyroutingkit (RoutingKit's customizable contraction hierarchies): nested dissection and customisation "
            f"{f['pyroutingkit_build_s']:.2f} s wall (cacheable with the network), many-to-many "
            f"{f['pyroutingkit_s'] - f['pyroutingkit_build_s']:.2f} s wall; its weights are 32-bit integers (handed "
            f"over in units of {1 / CCH_SCALE:g} s), so its times are not exact to {EXACT_MIN:g} min."
        )
    return notes


#: How each library's row is named in the doc block (``{threads}`` is its thread count).
LIBRARY_ROWS = {
    "networkit": "networkit {version} `distance.SPSP` ({threads} OpenMP threads)",
    "igraph": "python-igraph {version} `Graph.distances` (1 thread)",
    "edsger": "edsger {version} `path.Dijkstra` ({threads} threads)",
    "edsger_1": "edsger {version} `path.Dijkstra` (1 thread)",
    "pyroutingkit": "pyroutingkit {version} CCH many-to-many (1 thread)",
}


def doc_block(
    args: argparse.Namespace, f: dict[str, float], *, command: str, versions: dict[str, str] | None = None
) -> str:
    """The Markdown of the Travel times block of docs/benchmarks.md.

    ``command``: how it was run; ``versions``: the version of each library that ran.
    """
    versions = versions or {}
    rows: list[tuple[str, float, float | None, str]] = [
        (
            f"ours, whole call ({int(f['workers'])} worker processes)",
            f["total_s"],
            f["total_cpu_s"],
            f"{f['max_diff_min']:.1e}",
        ),
        ("ours, whole call (1 process)", f["total_one_worker_s"], f["total_one_worker_cpu_s"], "identical"),
        (
            "scipy dijkstra alone, searches only (1 process)",
            f["scipy_s"],
            f["scipy_cpu_s"],
            f"{f['max_diff_scipy_min']:.1e}",
        ),
    ]
    for name in LIBRARIES:
        if f"{name}_s" in f:
            label = LIBRARY_ROWS[name].format(version=versions.get(name, "?"), threads=int(f[f"{name}_threads"]))
            rows.append(
                (
                    f"{label}: graph conversion ({f[f'{name}_build_s']:.2f} s) + searches",
                    f[f"{name}_s"],
                    f[f"{name}_cpu_s"],
                    f"{f[f'max_diff_{name}_min']:.1e}",
                )
            )
    rows.append(("networkx loop (extrapolated)", f["networkx_s"], f["networkx_cpu_s"], "-"))
    if "pandana_build_s" in f:
        rows.append(
            (
                "pandana: contraction + pair queries",
                f["pandana_build_s"] + f["pandana_query_s"],
                f["pandana_cpu_s"],
                f"{f['max_diff_pandana_min']:.1e}",
            )
        )
    lines = [
        f"{args.origins:,} origins x {args.destinations:,} destinations on a synthetic {int(f['nodes']):,}-node road "
        f"grid (arterials every tenth street, 15% one-way), measured in one invocation of `{command}` on "
        f"{platform.machine()} with {usable_cores()} usable core(s) under a 1-minute load average of "
        f"{f['load_before']:.1f} at the start and {f['load_after']:.1f} at the end; wall seconds (CPU seconds of this "
        "process and of the worker processes it forked beside them; the machine is shared, so wall time includes "
        "waiting for a core). Max difference: largest |minutes| difference from ours over the pairs compared "
        "(networkx: a sample of destinations; the others: every pair).",
        "",
        "| method | wall s | CPU s | networkx wall / wall | networkx CPU / CPU | max difference (min) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, wall, cpu, diff in rows:
        cpu_text, cpu_ratio = ("", "") if cpu is None else (f"{cpu:.2f}", f"x{f['networkx_cpu_s'] / cpu:.1f}")
        lines.append(f"| {name} | {wall:.2f} | {cpu_text} | x{f['networkx_s'] / wall:.1f} | {cpu_ratio} | {diff} |")
    lines += [
        "",
        f"- Speed-up of the whole call (graph compiled from networkx, snapping, searches, access legs) against the "
        f"networkx loop: **x{f['speedup']:.1f}** wall, x{f['speedup_cpu']:.1f} CPU (the issue's goal is x150); in "
        f"one process x{f['speedup_one_worker']:.1f} wall. Searches: scipy's "
        "`scipy.sparse.csgraph.dijkstra`, one per destination on the reversed graph, shared among worker processes "
        "forked with the graph when the work (searches x nodes) passes a threshold. "
        f"Graph to CSR arrays: {f['compile_s']:.2f} s wall, {f['compile_cpu_s']:.2f} s CPU of the whole call. "
        f"Cache hit: {f['cache_hit_s']:.3f} s.",
        "- A home-made bucket-queue search compiled with numba was prototyped and measured x125 wall / x122 CPU "
        "against the networkx loop (x2.3 against scipy's searches alone); it was not adopted, because the project "
        "uses scipy's maintained shortest-path implementation rather than its own.",
        "- The networkx sample and our call run at different moments of a shared machine, so the wall ratio moves "
        "with the load of the moment; the CPU ratio is the steadier figure.",
    ]
    lines += library_notes(f)
    if "pandana_build_s" in f:
        lines.append(
            f"- pandana (contraction hierarchies): contraction {f['pandana_build_s']:.2f} s, "
            f"{args.origins * args.destinations:,} pair queries {f['pandana_query_s']:.2f} s; ours is "
            f"x{f['speedup_vs_pandana']:.1f} faster than both together, x{f['speedup_vs_pandana_query']:.1f} than "
            "the queries alone. pandana keeps edge weights to three decimals (integers; they are handed over in "
            "hundredths of a second to lose the least), so its times are not exact to 1e-6 min."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
