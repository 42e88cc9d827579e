"""Benchmark: travel-time matrix on a synthetic ~100k-node road network.

Builds a perturbed grid with a road hierarchy (fast arterial roads every tenth street,
slower residential streets, a share of them one-way, a few missing links), then times
:func:`geodata.travel.travel_time_matrix` for 5,000 origins x 500 destinations against a
plain networkx loop (``single_source_dijkstra_path_length`` on the reversed graph, one
call per destination, on a sample of destinations, extrapolated), in the same process.
Both answers are compared on the sample.

Run on demand, not in the test suite::

    python bench/travel_times.py            # full size (~100k nodes, 5,000 x 500)
    python bench/travel_times.py --quick    # smoke size, a few seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geodata.travel import road_arrays, travel_time_matrix  # noqa: E402

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


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print its figures.

    Parameters
    ----------
    argv
        Command-line arguments (``--quick``, ``--side``, ``--origins``, ...).

    Returns
    -------
    dict
        The measured figures (seconds, pairs per second, speed-up, max difference).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke size: 60x60 grid, 300 x 30")
    parser.add_argument("--side", type=int, default=316, help="grid side (nodes per row)")
    parser.add_argument("--origins", type=int, default=5000)
    parser.add_argument("--destinations", type=int, default=500)
    parser.add_argument("--nx-sample", type=int, default=20, help="destinations routed by networkx")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.side, args.origins, args.destinations, args.nx_sample = 60, 300, 30, 5

    t0 = time.perf_counter()
    G = synthetic_network(args.side, seed=args.seed)
    t_build = time.perf_counter() - t0
    print(f"graph: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges, built in {t_build:.2f} s")

    rng = np.random.default_rng(args.seed + 1)
    xs = np.array([d["x"] for _, d in G.nodes(data=True)])
    ys = np.array([d["y"] for _, d in G.nodes(data=True)])
    lo, hi = np.array([xs.min(), ys.min()]), np.array([xs.max(), ys.max()])
    origins = rng.uniform(lo, hi, (args.origins, 2))
    destinations = rng.uniform(lo, hi, (args.destinations, 2))

    previous_cache = os.environ.get("CATCHMENT_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache_folder:
        os.environ["CATCHMENT_CACHE_DIR"] = cache_folder
        t0 = time.perf_counter()
        net = road_arrays(G)
        t_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        tt = travel_time_matrix(net, origins, destinations, cache=True, progress=True)
        t_matrix = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = travel_time_matrix(net, origins, destinations, cache=True, progress=False)
        t_hit = time.perf_counter() - t0
        assert np.array_equal(again.minutes, tt.minutes)
        t0 = time.perf_counter()
        travel_time_matrix(G, origins, destinations, cache=False, progress=False)
        t_total = time.perf_counter() - t0
    if previous_cache is None:
        del os.environ["CATCHMENT_CACHE_DIR"]
    else:
        os.environ["CATCHMENT_CACHE_DIR"] = previous_cache

    pairs = tt.minutes.size
    print(f"matrix: {args.origins:,} x {args.destinations:,} = {pairs:,} pairs")
    print(f"  graph -> CSR arrays (fingerprint included): {t_compile:.2f} s")
    print(
        f"  snapping + scipy dijkstra + access legs + cache write: {t_matrix:.2f} s ({pairs / t_matrix:,.0f} pairs/s)"
    )
    print(f"  whole call from the networkx graph, no cache: {t_total:.2f} s ({pairs / t_total:,.0f} pairs/s)")
    print(f"  cache hit: {t_hit:.3f} s")
    print(f"  unreachable pairs: {int(np.isinf(tt.minutes).sum()):,}")

    # networkx reference on a sample of destinations, extrapolated to all of them.
    sample = rng.choice(args.destinations, size=min(args.nx_sample, args.destinations), replace=False)
    o_pos, _ = net.snap(origins)
    d_pos, _ = net.snap(destinations[sample])
    t0 = time.perf_counter()
    ref = networkx_minutes(G, [net.nodes[i] for i in o_pos], [net.nodes[i] for i in d_pos])
    t_nx_sample = time.perf_counter() - t0
    t_nx = t_nx_sample * args.destinations / sample.size
    access = (tt.origin_snap_m[:, None] + tt.destination_snap_m[None, sample]) / (4.8 * 1000 / 60)
    ours = tt.minutes[:, sample] - access
    finite = np.isfinite(ref)
    assert np.array_equal(finite, np.isfinite(ours)), "reachability differs from networkx"
    max_diff = float(np.abs(ours[finite] - ref[finite]).max()) if finite.any() else 0.0
    print(
        f"networkx: {sample.size} destinations in {t_nx_sample:.2f} s -> "
        f"{t_nx:.1f} s extrapolated to {args.destinations:,}"
    )
    print(f"speed-up vs networkx (whole call): x{t_nx / t_total:.1f}; max |difference| {max_diff:.2e} min")
    return {
        "build_s": t_build,
        "compile_s": t_compile,
        "matrix_s": t_matrix,
        "total_s": t_total,
        "cache_hit_s": t_hit,
        "pairs_per_s": pairs / t_total,
        "networkx_s": t_nx,
        "speedup": t_nx / t_total,
        "max_diff_min": max_diff,
    }


if __name__ == "__main__":
    main()
