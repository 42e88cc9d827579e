"""Exact many-to-many shortest-path lengths on a CSR road graph, on every usable core.

One search per source, each a label-setting search over a *bucket queue* (Dial's
buckets, Δ-stepping order) instead of a comparison heap: a node whose tentative length
is ``d`` waits in bucket ``floor(d / delta)``; buckets are emptied in increasing order, and
an edge lighter than ``delta`` that lands in the bucket being emptied sends its head
through that bucket again, so the lengths are exact shortest-path lengths for any
non-negative weights (each one the float sum along a shortest path, as with
:func:`scipy.sparse.csgraph.dijkstra`). ``delta`` is the lightest positive edge weight
(or ``max_weight / 2**16`` where that is smaller), so on road graphs no node is
scanned twice and the queue costs O(1) per node, without the unpredictable comparisons
of a heap. A search stops once every target is final, or at ``limit``.

The searches run in compiled code (numba, compiled on first use and cached on disk) that
releases the GIL, so sources are shared among threads of this process: no process is
forked and no graph copied.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from scipy import sparse

from geodata.errors import TravelTimeError
from geodata.settings import usable_cores

__all__ = ["many_to_many_lengths", "bucket_width"]

logger = logging.getLogger(__name__)

#: Most buckets the circular queue may need (``max_weight / delta``); bounds ``delta`` below.
_MAX_SLOTS = 2**16
#: Searches per task handed to a thread (small enough to balance two threads and to
#: report progress, large enough that the per-task workspace is negligible).
_TASK_SOURCES = 16


def bucket_width(weights: np.ndarray) -> float:
    """Width ``delta`` of the buckets for a graph's edge weights.

    Parameters
    ----------
    weights
        Non-negative edge weights.

    Returns
    -------
    float
        The lightest positive weight, raised to ``max(weights) / 2**16`` where it is
        smaller (so the circular queue has at most 65,538 buckets); 1.0 when no weight is
        positive. Edges lighter than ``delta`` are handled exactly, at the cost of a
        second scan of their head node.
    """
    positive = weights[weights > 0]
    if positive.size == 0:
        return 1.0
    return float(max(positive.min(), positive.max() / _MAX_SLOTS))


def many_to_many_lengths(
    graph: sparse.csr_array,
    sources: np.ndarray,
    targets: np.ndarray,
    *,
    limit: float = math.inf,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Shortest-path lengths from each source to each target.

    Parameters
    ----------
    graph
        ``(n, n)`` CSR adjacency, ``graph[u, v]`` = weight of arc u->v (explicit zeros are
        arcs); non-negative, finite.
    sources, targets
        Node positions (0..n-1).
    limit
        Paths longer than this are not followed (their lengths are ``inf``).
    workers
        Threads; default :func:`geodata.settings.usable_cores`. The answers do not
        depend on it.
    on_progress
        Called in the calling thread with the number of sources just finished.

    Returns
    -------
    numpy.ndarray
        ``(len(sources), len(targets))`` float64, ``inf`` where no path (within ``limit``).

    Raises
    ------
    TravelTimeError
        A node position out of range, a negative or non-finite weight, or ``workers < 1``.
    """
    n = int(graph.shape[0])
    sources = np.ascontiguousarray(sources, dtype=np.int64)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    for what, nodes in (("source", sources), ("target", targets)):
        if nodes.size and (nodes.min() < 0 or nodes.max() >= n):
            raise TravelTimeError(f"{what} node position out of range 0..{n - 1}")
    workers = usable_cores() if workers is None else int(workers)
    if workers < 1:
        raise TravelTimeError(f"workers must be at least 1, got {workers}")
    out = np.empty((sources.size, targets.size))
    if sources.size == 0 or targets.size == 0:
        return out
    weights = np.ascontiguousarray(graph.data, dtype=np.float64)
    if weights.size and not (np.isfinite(weights).all() and weights.min() >= 0):
        raise TravelTimeError("edge weights must be finite and non-negative")
    index = np.int32 if graph.nnz < 2**31 - 1 else np.int64
    indptr = np.ascontiguousarray(graph.indptr, dtype=index)
    indices = np.ascontiguousarray(graph.indices, dtype=index)
    delta = bucket_width(weights)
    # A power of two at least max_weight / delta + 2, so that a bucket's slot is a bit mask.
    spread = int(weights.max() / delta) if weights.size else 0
    n_slots = 1 << (spread + 1).bit_length()
    limit_ = float(limit)

    def run(start: int) -> int:
        stop = min(start + _TASK_SOURCES, sources.size)
        _searches(indptr, indices, weights, sources[start:stop], targets, limit_, 1.0 / delta, n_slots, out[start:stop])
        return stop - start

    starts = range(0, sources.size, _TASK_SOURCES)
    threads = min(workers, len(starts))
    if threads == 1:
        for start in starts:
            done = run(start)
            if on_progress is not None:
                on_progress(done)
        return out
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="shortest-paths") as pool:
        for done in pool.map(run, starts):
            if on_progress is not None:
                on_progress(done)
    return out


# The two compiled functions below: numba compiles them on first use and caches the machine
# code on disk (``__pycache__``); their bodies run as compiled code, so their parameters
# are documented here rather than typed. indptr/indices/weights: the CSR arrays;
# inv_delta: 1 / bucket width; n_slots: buckets in the circular queue (a power of two); dist, mark, head,
# nxt, node, key: the workspace of one thread (lengths, target marks, bucket heads and
# the entry pool: next entry, node and length of each entry).


@numba.njit(cache=True, nogil=True)
def _search(indptr, indices, weights, source, targets, limit, inv_delta, n_slots, dist, mark, head, nxt, node, key):
    """One search from ``source``: fills ``dist``; False when the entry pool is too small."""
    dist[:] = np.inf
    head[:] = -1
    wanted = 0
    for t in targets:
        if mark[t] == 0:
            mark[t] = 1
            wanted += 1
    found = 0
    capacity = node.size
    dist[source] = 0.0
    node[0] = source
    key[0] = 0.0
    nxt[0] = -1
    head[0] = 0
    used = 1
    pending = 1
    bucket = 0
    while pending > 0:
        slot = bucket & (n_slots - 1)
        entry = head[slot]
        if entry < 0:
            if found == wanted:
                break  # every bucket up to this one is final, and so is every target
            bucket += 1
            continue
        head[slot] = nxt[entry]
        pending -= 1
        u = node[entry]
        du = key[entry]
        if du != dist[u]:
            continue  # stale: u has since been queued with a shorter length
        if mark[u] == 1:
            mark[u] = 0
            found += 1
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            dv = du + weights[e]
            if dv < dist[v] and dv <= limit:
                if used == capacity:
                    for t in targets:
                        mark[t] = 0
                    return False
                dist[v] = dv
                b = np.int64(dv * inv_delta) & (n_slots - 1)
                node[used] = v
                key[used] = dv
                nxt[used] = head[b]
                head[b] = used
                used += 1
                pending += 1
    for t in targets:
        mark[t] = 0
    return True


@numba.njit(cache=True, nogil=True)
def _searches(indptr, indices, weights, sources, targets, limit, inv_delta, n_slots, out):
    """One search per source, with one workspace; row ``i`` of ``out`` gets source ``i``'s lengths to the targets."""
    n = indptr.size - 1
    dist = np.empty(n)
    mark = np.zeros(n, np.uint8)
    head = np.empty(n_slots, indptr.dtype)
    capacity = weights.size + n + 1
    nxt = np.empty(capacity, indptr.dtype)
    node = np.empty(capacity, indptr.dtype)
    key = np.empty(capacity)
    for i in range(sources.size):
        while not _search(
            indptr, indices, weights, sources[i], targets, limit, inv_delta, n_slots, dist, mark, head, nxt, node, key
        ):
            capacity *= 2
            nxt = np.empty(capacity, indptr.dtype)
            node = np.empty(capacity, indptr.dtype)
            key = np.empty(capacity)
        for j in range(targets.size):
            out[i, j] = dist[targets[j]]
