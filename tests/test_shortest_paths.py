"""Many-to-many shortest paths (bucket queue, threads) against networkx, and travel matrices built on them."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from geodata.errors import TravelTimeError
from geodata.settings import BNG, usable_cores
from geodata.shortest_paths import bucket_width, many_to_many_lengths
from geodata.travel import road_arrays, travel_time_matrix
from solvers.distributed import default_workers

WALK_M_PER_MIN = 4.8 * 1000 / 60


def csr_of(n: int, arcs: list[tuple[int, int, float]]) -> sparse.csr_array:
    """CSR adjacency keeping the lightest of parallel arcs and explicit zero weights."""
    best: dict[tuple[int, int], float] = {}
    for u, v, w in arcs:
        if u != v:
            best[u, v] = min(w, best.get((u, v), np.inf))
    if not best:
        return sparse.csr_array((n, n))
    (rows, cols), data = zip(*best.keys(), strict=True), list(best.values())
    coo = sparse.coo_array((data, (rows, cols)), shape=(n, n))
    coo.sum_duplicates()
    return coo.tocsr()


def networkx_lengths(n: int, arcs: list[tuple[int, int, float]], sources, targets, limit=np.inf) -> np.ndarray:
    """All requested lengths by networkx's Dijkstra (inf where no path or beyond ``limit``)."""
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(arcs)
    out = np.full((len(sources), len(targets)), np.inf)
    for i, s in enumerate(sources):
        lengths = nx.single_source_dijkstra_path_length(G, int(s))
        out[i] = [lengths.get(int(t), np.inf) for t in targets]
    out[out > limit] = np.inf
    return out


def random_arcs(rng: np.random.Generator, n: int, m: int, *, zero_share: float = 0.1) -> list[tuple[int, int, float]]:
    """Random one-way arcs: some weightless, some very light, a few heavy, parallel ones included."""
    u = rng.integers(n, size=m)
    v = rng.integers(n, size=m)
    w = rng.choice([0.0, 1e-7, 0.5, 3.0, 17.25, 400.0], size=m, p=[zero_share, 0.1, 0.2, 0.3, 0.3 - zero_share, 0.1])
    w = w * rng.uniform(1.0, 1.5, size=m)
    return [(int(a), int(b), float(c)) for a, b, c in zip(u, v, w, strict=True)]


arc_lists = st.integers(min_value=2, max_value=25).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.sampled_from([0.0, 1e-9, 0.1, 1.0, 2.5, 60.0, 1e5]),
            ),
            max_size=4 * n,
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(arc_lists, st.sampled_from([np.inf, 2.0, 61.0]))
def test_lengths_match_networkx_on_any_small_graph(graph, limit):
    n, arcs = graph
    nodes = np.arange(n)
    got = many_to_many_lengths(csr_of(n, arcs), nodes, nodes, limit=limit, workers=1)
    np.testing.assert_allclose(got, networkx_lengths(n, arcs, nodes, nodes, limit), rtol=1e-12, atol=1e-9)


def test_one_way_arcs_unreachable_nodes_and_repeated_targets():
    # 0 <-> 1 -> 2 (one way), 3 isolated, 4 -> 0 (one way in)
    arcs = [(0, 1, 10.0), (1, 0, 10.0), (1, 2, 5.0), (4, 0, 1.0)]
    sources = np.array([0, 2, 3, 4, 0])
    targets = np.array([2, 0, 4, 3, 2])
    got = many_to_many_lengths(csr_of(5, arcs), sources, targets, workers=1)
    expected = networkx_lengths(5, arcs, sources, targets)
    np.testing.assert_array_equal(got, expected)
    assert got[0].tolist() == [15.0, 0.0, np.inf, np.inf, 15.0]
    assert got[1].tolist() == [0.0, np.inf, np.inf, np.inf, 0.0]
    assert got[3].tolist() == [16.0, 1.0, 0.0, np.inf, 16.0]


def test_threads_give_identical_lengths_and_report_progress():
    rng = np.random.default_rng(3)
    n = 400
    arcs = random_arcs(rng, n, 1600)
    graph = csr_of(n, arcs)
    sources = rng.integers(n, size=70)  # several tasks per thread
    targets = rng.choice(n, size=50, replace=False)
    seen: list[int] = []
    one = many_to_many_lengths(graph, sources, targets, workers=1)
    two = many_to_many_lengths(graph, sources, targets, workers=2, on_progress=seen.append)
    three = many_to_many_lengths(graph, sources, targets, workers=3)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, three)
    assert sum(seen) == sources.size
    np.testing.assert_allclose(one, networkx_lengths(n, arcs, sources, targets), rtol=1e-12, atol=1e-9)


def test_search_stops_at_its_targets_and_at_the_limit():
    rng = np.random.default_rng(5)
    n = 300
    arcs = random_arcs(rng, n, 1200, zero_share=0.0)
    graph = csr_of(n, arcs)
    sources = np.arange(0, n, 7)
    everything = many_to_many_lengths(graph, sources, np.arange(n), workers=1)
    few = np.array([5, 250, 17])
    np.testing.assert_array_equal(many_to_many_lengths(graph, sources, few, workers=1), everything[:, few])
    limit = float(np.median(everything[np.isfinite(everything)]))
    capped = many_to_many_lengths(graph, sources, np.arange(n), limit=limit, workers=1)
    np.testing.assert_array_equal(capped, np.where(everything <= limit, everything, np.inf))


def test_rescans_past_the_entry_pool_stay_exact():
    # Light arcs share one bucket (the heavy arc sets the width to 1.0), where nodes are
    # taken last in, first out: k first, then k-1, whose chain 1e-6 arc improves k, then
    # k-2, which improves k-1 and k again... ~k**2/2 queue entries, more than arcs + nodes.
    k = 80
    arcs = [(0, i, 0.1 + i * 0.001) for i in range(1, k + 1)]
    arcs += [(i, i + 1, 1e-6) for i in range(1, k)]
    arcs += [(k, k + 1, 2.0**16)]
    graph = csr_of(k + 2, arcs)
    assert bucket_width(graph.data) == 1.0
    nodes = np.arange(k + 2)
    got = many_to_many_lengths(graph, np.array([0]), nodes, workers=1)
    np.testing.assert_allclose(got, networkx_lengths(k + 2, arcs, [0], nodes), rtol=1e-12, atol=1e-12)


def test_bucket_width():
    assert bucket_width(np.array([0.0, 0.0])) == 1.0
    assert bucket_width(np.array([0.0, 3.0, 5.0])) == 3.0
    assert bucket_width(np.array([1e-6, 2.0**17])) == 2.0


def test_bad_input_is_refused():
    graph = csr_of(3, [(0, 1, 1.0)])
    with pytest.raises(TravelTimeError, match="out of range"):
        many_to_many_lengths(graph, np.array([3]), np.array([0]))
    with pytest.raises(TravelTimeError, match="workers"):
        many_to_many_lengths(graph, np.array([0]), np.array([1]), workers=0)
    with pytest.raises(TravelTimeError, match="non-negative"):
        many_to_many_lengths(csr_of(3, [(0, 1, -1.0)]), np.array([0]), np.array([1]))
    assert many_to_many_lengths(graph, np.array([], dtype=int), np.array([1])).shape == (0, 1)


def test_one_core_count_for_threads_and_worker_processes():
    assert default_workers() == usable_cores() >= 1


# --------------------------------------------------------------------------- travel_time_matrix


def street_grid(side: int, seed: int) -> nx.MultiDiGraph:
    """A small jittered street grid in EPSG:27700: two-way and one-way streets, a cut-off corner.

    The last row is joined to the rest by one-way streets leaving it only, and one node is
    isolated, so some pairs have no route.
    """
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs=BNG, mode="drive", source="grid")
    pos = {}
    for r in range(side):
        for c in range(side):
            pos[r, c] = r * side + c
            G.add_node(r * side + c, x=530_000.0 + 100 * c + rng.uniform(-20, 20), y=190_000.0 + 100 * r)
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr >= side or c + dc >= side or rng.random() < 0.05:
                    continue
                a, b = pos[r, c], pos[r + dr, c + dc]
                seconds = float(rng.uniform(6, 20))
                one_way = rng.random() < 0.25 or r + dr == side - 1
                G.add_edge(b, a, length=100.0, travel_time=seconds)  # towards the lower row
                if not one_way:
                    G.add_edge(a, b, length=100.0, travel_time=seconds)
    isolated = pos[side // 2, side // 2]
    G.remove_edges_from(list(G.in_edges(isolated, keys=True)) + list(G.out_edges(isolated, keys=True)))
    return G


@pytest.mark.parametrize("seed", [1, 2])
def test_matrix_matches_networkx_with_one_way_streets_and_unreachable_pairs(seed):
    G = street_grid(12, seed)
    rng = np.random.default_rng(seed)
    origins = rng.uniform([529_950.0, 189_950.0], [531_150.0, 191_150.0], (40, 2))
    dests = np.vstack([rng.uniform([529_950.0, 189_950.0], [531_150.0, 191_150.0], (6, 2)), [[530_600.0, 190_600.0]]])
    one = travel_time_matrix(G, origins, dests, cache=False, progress=False, workers=1)
    two = travel_time_matrix(G, origins, dests, cache=False, progress=False, workers=2)
    np.testing.assert_array_equal(one.minutes, two.minutes)
    net = road_arrays(G)
    o_pos, o_snap = net.snap(origins)
    d_pos, d_snap = net.snap(dests)
    unreachable = 0
    for i, o in enumerate(o_pos):
        lengths = nx.single_source_dijkstra_path_length(G, net.nodes[o], weight="travel_time")
        for j, d in enumerate(d_pos):
            seconds = lengths.get(net.nodes[d], np.inf)
            expected = seconds / 60 + (o_snap[i] + d_snap[j]) / WALK_M_PER_MIN
            if np.isinf(seconds):
                unreachable += 1
                assert np.isinf(one.minutes[i, j])
            else:
                assert one.minutes[i, j] == pytest.approx(expected, abs=1e-9)
    assert 0 < unreachable < one.minutes.size
    # more destinations than origins: the searches grow forward from the origins instead
    swapped = travel_time_matrix(G, origins[:3], dests, cache=False, progress=False, workers=2)
    np.testing.assert_allclose(swapped.minutes, one.minutes[:3], rtol=0, atol=1e-9)
