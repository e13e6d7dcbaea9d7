"""Vietoris-Rips persistence of point clouds and distance matrices (seed 000, II.A).

One entry point, :func:`rips_persistence`, with two backends (gudhi's
``RipsPersistence``, giotto-ph's ``ripser_parallel``) and an exact fast path, the
*certified threshold*, described below.

Conventions
-----------
* Coefficients in Z/2 (the paper's binary coefficients) for every backend.
* A diagram is a float64 array of shape (m, 2) of (birth, death) in the units of the
  distances (the Rips parameter r is an edge length: r = max pairwise distance in a
  simplex, not a ball radius). Infinite deaths are ``np.inf``. Rows are sorted by
  (birth, death).
* **Zero-length bars are dropped** (birth == death). Ripser never reports them and
  they depend on how ties are broken, not on the filtration. This makes dropping
  duplicate points exact: a duplicate only adds zero-length H0 bars.
* The input point cloud is turned into a distance matrix once, with
  ``scipy.spatial.distance.pdist`` (what gudhi does itself), and every backend reads
  those same float64 numbers. gudhi computes in float64 and returns entries of that
  matrix exactly; giotto-ph works in float32 internally, so its diagrams agree with
  gudhi's to float32 rounding (~1e-7 relative), and exactly when the distances are
  float32 numbers to begin with.

The certified threshold (exact)
-------------------------------
Let VR_r be the Rips complex at scale r, and K the filtration truncated at tau (all
simplices of diameter <= tau; ripser and gudhi include diameter == tau). The
persistence module of K is that of the full filtration restricted to [0, tau] and
constant afterwards, so by the interval decomposition the diagram of K is the full
diagram restricted to [0, tau]: a bar [b, d) with d <= tau is unchanged, a bar with
b <= tau < d becomes [b, inf), and **a bar born after tau is missing**.

The rule "accept if there is exactly one infinite H0 bar and no infinite bar in
degree >= 1, else double tau" is therefore *not* exact by itself: an arc of points
with a gap g > tau is a path at tau (one component, no cycle), yet the full diagram
has an H1 bar born at g (tests/landscapes/test_rips.py builds this counterexample).
What is missing is a bound on the births. For H1 we certify one:

  Lemma. Call an edge uv of length L *witnessed* if some w has d(u, w) < L and
  d(v, w) < L (strictly). If every edge of length L is witnessed, or is unwitnessed
  but joins two different components of the graph of edges shorter than L (and the
  unwitnessed edges of length L form a forest on those components), then
  H1(VR_{<L}) -> H1(VR_L) is onto, so no H1 bar is born at L.
  Proof. Take a 1-cycle z of VR_L. Replace each witnessed length-L edge uv by the
  path u-w-v: they differ by the boundary of the triangle uvw, which has diameter L,
  so z is homologous in VR_L to a cycle whose length-L edges are all unwitnessed.
  Contract the components of the graph of shorter edges: the unwitnessed edges of z
  form a Z/2 1-cycle in a forest, hence cancel. What is left lies in VR_{<L}.

The unwitnessed edges form the relative neighbourhood graph (RNG), which contains
the minimum spanning tree and, by the same replacement argument, has the same
connected components at every scale as the full graph. Running Kruskal over the RNG
edges in length order, an edge that closes a cycle is the only place an H1 bar can be
born. Edges of length >= the cone radius r_c = min_i max_j d(i, j) are ignored: from
r_c on, VR_r is a cone and has no homology, so no bar is born or alive there. Hence,
with ``t_birth`` = the longest cycle-closing RNG edge shorter than r_c, every H0 and
H1 bar is born at or before ``t_birth``, and for tau >= t_birth:

  truncated diagram has exactly one infinite H0 bar and no infinite H1 bar
  ==> every bar has death <= tau, so the truncated diagram is the full diagram.

Which threshold, or none (the decision)
---------------------------------------
Correctness never depends on the choice below (every truncation is checked as
above, and the fallback is the whole filtration); only the time does. The time of a
Rips H0+H1 computation grows with the number of edges under its threshold, so every
decision compares *edge counts*, counted exactly in one compiled O(n^2) pass, never
seconds: a truncation at tau costs about ``E(tau) / E(r_c)`` of the whole
filtration (which the backends cut at the cone radius r_c themselves).

* Deaths. The birth bound says nothing about when the bars alive at tau die, and on
  layers that keep the data's holes the deaths decide the threshold. They are
  predicted from a subsample: S = the first m points of a farthest-point ordering
  (m = ``_LANDMARKS``), with covering radius eps = max over x of d(x, S). For a
  metric, the nearest-landmark map is a simplicial map VR_r(X) -> VR_{r + 2 eps}(S)
  whose composites with the inclusion VR_r(S) -> VR_r(X) are contiguous to the
  identity maps (d(x, pi(y)) <= d(x, y) + eps), so the two persistence modules are
  2 eps-interleaved and the bottleneck distance of their diagrams is <= 2 eps. Hence
  a bar (b, d) of X either is matched, d <= d_S + 2 eps for the largest finite H1
  death d_S of S, or has d - b <= 4 eps, so ``d <= t_birth + 4 eps``. So
  ``tau_safe = max(t_birth, t_connect, d_S + 2 eps, t_birth + 4 eps)`` is above every
  finite death of X; in practice the largest death is close to d_S, which is where
  the first attempt goes: ``tau_1 = (1 + _FIRST_STEP) max(t_birth, t_connect, d_S)``.
* Cost. Attempts are made only while their edges, added up, stay within ``_WORTH``
  (one half) of the whole filtration's: then even failed attempts followed by the
  whole filtration stay within 1.5x of running the whole filtration at once, while
  a success saves at least half. After a failure the next attempt has at least
  twice the edges (thresholds that add less are skipped). The second attempt is at tau_safe (it cannot fail on
  a metric input), under the same rule; otherwise the whole filtration runs. When
  even d_S is past half the edges, neither the certificate nor an attempt is run.
* Small inputs: a whole filtration of fewer than ``_DIRECT_SIMPLICES`` edges and
  triangles runs at once (the certificate would cost about what it saves).
* maxdim 0: H0 is read off a minimum spanning tree (Prim, O(n^2)): its bars are
  [0, l) for the tree's edge lengths l, exactly what a Rips backend reports.

Truncations run on gudhi's dense ripser with the threshold as its edge-length cap
(no sparse copy of the matrix: as fast at 1% of the edges, faster above).

Size budget
-----------
Before each run the edges under its threshold and an upper bound on its triangles
(each triangle holds a path of two edges at each of its 3 vertices, so
T <= sum_v C(deg_v, 2) / 3) are counted. Past ``_WARN_SIMPLICES`` (far beyond a
minute of this 2-core machine; the benchmark prints the measured rate) a warning
with that size is logged before the run starts; past the caller's ``max_simplices``
a ``ValueError`` is raised instead of running.

Local homology: a distance matrix with a large clique of zeros (the far points of
:func:`normalize_local`) is computed on the apex filtration of
:mod:`nntopo.landscapes._apex` (exact, proof there), with the same certificate and
decisions; its cost proxy is the edge count of the apex filtration.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .._validation import (
    DEFAULT_MAX_BYTES,
    check_allocation,
    check_bool,
    check_choice,
    check_distance_matrix,
    check_int,
    check_points,
    check_real,
)
from ._vector import CHECKED
from ._apex import ApexFiltration, use_apex, zero_clique
from .normalize import normalize_local, normalize_plain, pairwise_distances, pow2_rescale

__all__ = [
    "BACKENDS",
    "RipsResult",
    "certified_threshold",
    "layer_diagrams",
    "rips_persistence",
    "rips_persistence_with_info",
]

logger = logging.getLogger("nntopo")

BACKENDS = ("auto", "gudhi", "giotto")
_COEFF = 2
_KNN = 16
# First threshold of the fast path: (1 + _FIRST_STEP) * max(birth bound, MST, predicted death).
_FIRST_STEP = 0.05
# An attempt is made only with at most this fraction of the whole filtration's edges
# (module docstring: a failure then costs at most 1.5x, a success saves half).
_WORTH = 0.5
# Landmarks of the death prediction (farthest-point order). Their full H1 costs
# ~(m / n)^2 of the layer's; inputs with fewer than 2 m points skip the prediction.
_LANDMARKS = 400
# A run whose predicted edges + triangles exceed this logs a warning first: ~10x the
# rate of gudhi's whole filtrations printed by benchmarks/bench_rips.py (2.8e10 per
# minute on this 2-core machine), i.e. ten minutes or more.
_WARN_SIMPLICES = 3e11
# A whole filtration this small (~0.1 s at that rate) runs directly: the fast path's
# certificate and subsample cost about as much as they could save.
_DIRECT_SIMPLICES = 2e7
# Inputs whose largest |value| lies outside [2**-100, 2**100] are divided by a power of
# two first (exact): giotto-ph works in float32 (range ~1e-38..3e38), and squared
# coordinates leave float64 near 1e154. Persistence is scale-equivariant, so the bars
# are multiplied back by the same power of two, exactly. Inside the range nothing is
# touched, and the diagrams are bit-identical to those of gudhi on the raw input.
_SAFE_EXP = 100



# --------------------------------------------------------------------------- kernels
@numba.njit(cache=True, nogil=True)
def _knn_rows(D: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - compiled
    """Indices of the k nearest other points of each row, nearest first."""
    # Serial on purpose: parallel=True measured 14.8 ms vs 19.5 ms at n = 4,060 on an
    # idle 2-core machine but 23.6 ms vs 19.4 ms on a busy one, a few ms against the
    # certificate's 0.15-0.2 s either way.
    n = D.shape[0]
    k = min(k, n - 1)
    out = np.empty((n, k), dtype=np.int64)
    for u in range(n):
        best_d = np.full(k, np.inf)
        best_i = np.full(k, -1, dtype=np.int64)
        for w in range(n):
            if w == u:
                continue
            d = D[u, w]
            if d < best_d[k - 1]:
                j = k - 1
                while j > 0 and best_d[j - 1] > d:
                    best_d[j] = best_d[j - 1]
                    best_i[j] = best_i[j - 1]
                    j -= 1
                best_d[j] = d
                best_i[j] = w
        out[u] = best_i
    return out


@numba.njit(cache=True, nogil=True)
def _unwitnessed_row(D, knn, u, r_cone, flags):  # pragma: no cover - compiled
    n = D.shape[0]
    k = knn.shape[1]
    for v in range(u + 1, n):
        L = D[u, v]
        if L >= r_cone:
            continue
        if L == 0.0:
            # Nothing is strictly closer than 0: unwitnessed, no scan needed. (The far
            # half of a local-homology matrix is all zeros: n^2 / 8 such pairs.)
            flags[v] = 1
            continue
        found = False
        # A near neighbour of u on v's side is nearly always a witness; rows of u's
        # neighbours are read in v order, so this stays in cache.
        for a in range(k):
            w = knn[u, a]
            if D[u, w] >= L:
                break
            if D[w, v] < L:
                found = True
                break
        if not found:
            for a in range(k):
                w = knn[v, a]
                if D[v, w] >= L:
                    break
                if D[u, w] < L:
                    found = True
                    break
        if not found:
            for w in range(n):
                if D[u, w] < L and D[v, w] < L:
                    found = True
                    break
        if not found:
            flags[v] = 1


@numba.njit(cache=True, parallel=True)
def _rng_flags(D: np.ndarray, knn: np.ndarray, r_cone: float) -> np.ndarray:  # pragma: no cover
    """flags[u, v] = 1 for u < v with d(u, v) < r_cone and no strict witness."""
    n = D.shape[0]
    flags = np.zeros((n, n), dtype=np.uint8)
    half = (n + 1) // 2
    # Row u has n - u - 1 pairs: pairing u with n - 1 - u balances the threads.
    for i in numba.prange(half):
        _unwitnessed_row(D, knn, i, r_cone, flags[i])
        j = n - 1 - i
        if j != i:
            _unwitnessed_row(D, knn, j, r_cone, flags[j])
    return flags


@numba.njit(cache=True)
def _kruskal_births(us, vs, ls, n):  # pragma: no cover - compiled
    """Kruskal over edges sorted by length: (longest tree edge, longest cycle-closing edge)."""
    parent = np.arange(n)
    longest_tree = 0.0
    longest_cycle = -1.0
    for e in range(us.shape[0]):
        a = us[e]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = vs[e]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a == b:
            longest_cycle = ls[e]
        else:
            parent[a] = b
            longest_tree = ls[e]
    return longest_tree, longest_cycle


@numba.njit(cache=True, parallel=True)
def _edges_upto(D: np.ndarray, tau: float):  # pragma: no cover - compiled
    """Upper-triangle edges with D[i, j] <= tau as (rows, cols, lengths)."""
    n = D.shape[0]
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in numba.prange(n):
        c = 0
        for j in range(i + 1, n):
            if D[i, j] <= tau:
                c += 1
        counts[i + 1] = c
    offs = np.cumsum(counts)
    rows = np.empty(offs[n], dtype=np.int32)
    cols = np.empty(offs[n], dtype=np.int32)
    vals = np.empty(offs[n], dtype=np.float64)
    for i in numba.prange(n):
        k = offs[i]
        for j in range(i + 1, n):
            if D[i, j] <= tau:
                rows[k] = i
                cols[k] = j
                vals[k] = D[i, j]
                k += 1
    return rows, cols, vals


@numba.njit(cache=True)
def _prim_lengths(D: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Edge lengths of a minimum spanning tree of the complete graph D (Prim, O(n^2))."""
    n = D.shape[0]
    best = D[0].copy()
    done = np.zeros(n, dtype=np.bool_)
    done[0] = True
    out = np.empty(n - 1)
    for k in range(n - 1):
        j = -1
        bj = np.inf
        for i in range(n):
            if not done[i] and (j < 0 or best[i] < bj):
                j = i
                bj = best[i]
        out[k] = bj
        done[j] = True
        for i in range(n):
            if not done[i] and D[j, i] < best[i]:
                best[i] = D[j, i]
    return out


@numba.njit(cache=True)
def _farthest_points(D: np.ndarray, m: int):  # pragma: no cover - compiled
    """First m points of the farthest-point order from point 0, and the covering radius."""
    n = D.shape[0]
    idx = np.empty(m, dtype=np.int64)
    idx[0] = 0
    near = D[0].copy()
    for k in range(1, m):
        j = np.argmax(near)
        idx[k] = j
        for i in range(n):
            if D[j, i] < near[i]:
                near[i] = D[j, i]
    return idx, near.max()


@numba.njit(cache=True)
def _degrees_upto(D: np.ndarray, taus: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """deg[i, t] = number of j != i with D[i, j] <= taus[t]."""
    # One branch-free pass over the row per threshold (the row stays in cache), which
    # the compiler vectorises; serial, as threads stall on a busy shared machine.
    n = D.shape[0]
    k = taus.shape[0]
    deg = np.zeros((n, k), dtype=np.int64)
    for i in range(n):
        row = D[i]
        for t in range(k):
            tau = taus[t]
            c = 0
            for j in range(n):
                c += row[j] <= tau
            deg[i, t] = c - 1  # the diagonal zero
    return deg


def _sizes(D: np.ndarray, taus: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edges, triangle bound, tetrahedron bound) of the Rips complex of D at each tau.

    A k-simplex has k + 1 vertices, at each of which it spans k of the vertex's edges,
    so there are at most sum_v C(deg_v, k) / (k + 1) of them.
    """
    deg = _degrees_upto(D, np.asarray(taus, dtype=np.float64)).astype(np.float64)
    pairs = deg * (deg - 1.0) / 2.0
    return deg.sum(axis=0) / 2.0, pairs.sum(axis=0) / 3.0, (pairs * (deg - 2.0) / 3.0).sum(axis=0) / 4.0


def cone_radius(D: np.ndarray) -> float:
    """min_i max_j D[i, j]: from this scale on, the Rips complex is a cone (contractible)."""
    return float(D.max(axis=1).min())


def certified_threshold(distance_matrix: np.ndarray) -> tuple[float, float, float]:
    """Birth bound for H0 and H1 of the Rips filtration of ``distance_matrix``.

    Returns ``(t_birth, t_connect, r_cone)``: every H0/H1 bar of positive length is
    born at a scale <= ``t_birth`` (lemma in the module docstring), the complex is
    connected from ``t_connect`` on (longest minimum-spanning-tree edge, the last H0
    death) and a cone from ``r_cone`` on. Units: those of the matrix. Input (n, n).
    """
    D = check_distance_matrix(distance_matrix, "distance_matrix")
    return _certified_threshold(D)


def _certified_threshold(D: np.ndarray) -> tuple[float, float, float]:
    n = D.shape[0]
    r_cone = cone_radius(D)
    if n <= 2:
        return 0.0, r_cone, r_cone
    knn = _knn_rows(D, _KNN)
    flags = _rng_flags(D, knn, r_cone)
    us, vs = np.nonzero(flags)
    del flags
    ls = D[us, vs]
    order = np.argsort(ls, kind="stable")
    longest_tree, longest_cycle = _kruskal_births(us[order], vs[order], ls[order], n)
    # H1 births happen only at cycle-closing RNG edges; H0 bars are all born at 0.
    return max(float(longest_cycle), 0.0), float(longest_tree), r_cone


# -------------------------------------------------------------------------- backends
def _finish(dgms: Sequence[np.ndarray], maxdim: int) -> list[np.ndarray]:
    out = []
    for q in range(maxdim + 1):
        a = np.asarray(dgms[q], dtype=np.float64).reshape(-1, 2) if q < len(dgms) else np.empty((0, 2))
        a = a[a[:, 1] > a[:, 0]]
        order = np.lexsort((a[:, 1], a[:, 0]))
        out.append(np.ascontiguousarray(a[order]))
    return out


def _sparse_upto(D: np.ndarray, tau: float):
    from scipy.sparse import coo_matrix

    rows, cols, vals = _edges_upto(D, float(tau))
    return coo_matrix((vals, (rows, cols)), shape=D.shape)


def _dense_ripser():
    """gudhi's dense ripser entry point, or None where this gudhi has no such module."""
    try:
        from gudhi._ripser_ext import _full
    except ImportError:  # pragma: no cover - depends on the installed gudhi
        return None
    return _full


def _run_gudhi(D: np.ndarray, maxdim: int, threshold: float, collapse: bool) -> list[np.ndarray]:
    from gudhi.sklearn.rips_persistence import RipsPersistence

    full = _dense_ripser()
    if full is not None and not collapse:
        # The call gudhi's RipsPersistence makes for a full distance matrix, with the
        # threshold as the edge-length cap of the dense ripser: RipsPersistence itself
        # would first copy every edge under a finite threshold into a sparse matrix
        # (0.25-0.45 s at n = 4,060), and the dense path is as fast at 1% of the edges.
        n = D.shape[0]
        cap = min(threshold, cone_radius(D))
        return _finish(
            full(D, max_dimension=min(maxdim, max(0, n - 3)), max_edge_length=cap, homology_coeff_field=_COEFF),
            maxdim,
        )
    if math.isinf(threshold):
        inp, input_type = D, "full distance matrix"
    else:
        inp, input_type = _sparse_upto(D, threshold), "distance coo_matrix"
    rp = RipsPersistence(
        homology_dimensions=list(range(maxdim + 1)),
        threshold=threshold,
        input_type=input_type,
        num_collapses=1 if collapse else 0,
        homology_coeff_field=_COEFF,
    )
    return _finish(rp.fit_transform([inp])[0], maxdim)


def _run_giotto(D: np.ndarray, maxdim: int, threshold: float, collapse: bool, n_threads: int) -> list[np.ndarray]:
    from gph import ripser_parallel

    inp = D if math.isinf(threshold) else _sparse_upto(D, threshold)
    res = ripser_parallel(
        inp,
        maxdim=maxdim,
        thresh=threshold,
        coeff=_COEFF,
        metric="precomputed",
        collapse_edges=collapse,
        n_threads=n_threads,
    )
    return _finish(res["dgms"], maxdim)


def _run(D, maxdim, threshold, backend, collapse, n_threads):
    if not math.isinf(threshold) and threshold >= cone_radius(D):
        # From the cone radius on nothing is born or alive, so this truncation is the
        # full filtration, and the dense path is the faster one.
        threshold = math.inf
    if backend == "gudhi":
        return _run_gudhi(D, maxdim, threshold, collapse)
    return _run_giotto(D, maxdim, threshold, collapse, n_threads)


def _resolve_backend(backend: object) -> str:
    backend = check_choice(backend, "backend", BACKENDS)
    if backend == "auto":
        # gudhi: faster than giotto-ph on the dense and truncated filtrations of
        # trained layers (benchmarks/bench_rips.py prints both), float64 throughout.
        return "gudhi"
    return backend


def _dedup_points(X: np.ndarray) -> np.ndarray:
    U = np.unique(X, axis=0)
    if len(U) < len(X):
        logger.debug("rips: %d duplicate point(s) dropped (only zero-length H0 bars)", len(X) - len(U))
    return U


def _dedup_matrix(D: np.ndarray) -> np.ndarray:
    # Two points with identical rows (hence D[i, j] == 0) span the same Rips
    # neighbourhoods at every scale; one of them only adds a zero-length H0 bar.
    iu, ju = np.nonzero(np.triu(D == 0.0, 1))
    if iu.size == 0:
        return D
    cand = np.unique(np.concatenate([iu, ju]))
    drop = set()
    rows = {}
    for i in cand:
        key = D[i].tobytes()
        if key in rows:
            drop.add(int(i))
        else:
            rows[key] = i
    if not drop:
        return D
    keep = np.setdiff1d(np.arange(D.shape[0]), np.fromiter(drop, dtype=np.int64))
    logger.debug("rips: %d duplicate row(s) dropped from the distance matrix", len(drop))
    return np.ascontiguousarray(D[np.ix_(keep, keep)])


# ------------------------------------------------------------------------ public API
@dataclass(frozen=True)
class RipsResult:
    """What :func:`rips_persistence_with_info` returns.

    Attributes
    ----------
    diagrams : list of float64 arrays of shape (m_q, 2), q = 0..maxdim
        Exactly what :func:`rips_persistence` returns.
    info : dict
        How they were computed: ``path`` ("direct", "mst" (maxdim 0), "certified" or
        "full": the certified truncation succeeded, or the fast path ran the whole
        filtration), ``backend`` ("apex" for the apex filtration, with ``n_far`` the
        size of the collapsed clique), ``n_points`` and ``n_unique`` (after dropping
        duplicates), ``taus`` (thresholds run), ``t_birth``, ``t_connect``, ``r_cone``
        (see :func:`certified_threshold`), ``d_subsample``, ``eps_subsample`` and
        ``tau_safe`` (the death prediction; all in the units of the input),
        ``scale_exponent`` (the input was divided by ``2**scale_exponent``, 0 when
        untouched), and timings in seconds (``t_certificate``, ``t_total``).
    """

    diagrams: list[np.ndarray]
    info: dict[str, Any]


def _rips_bytes(n: int, from_points: bool) -> float:
    # The n x n float64 matrix, pdist's condensed copy (points only), the fast path's
    # n x n uint8 flags and the sorted edge lists of a truncation.
    return float(n) * n * (8.0 + (4.0 if from_points else 0.0) + 1.0 + 8.0)


def rips_persistence_with_info(
    X: np.ndarray | None = None,
    *,
    distance_matrix: np.ndarray | None = None,
    maxdim: int = 1,
    backend: str = "auto",
    threshold: float | None = None,
    fast_path: bool = True,
    deduplicate: bool = True,
    collapse: bool = False,
    n_threads: int = 1,
    tau0: float | None = None,
    max_bytes: float = DEFAULT_MAX_BYTES,
    max_simplices: float | None = None,
    apex: bool = True,
) -> RipsResult:
    """:func:`rips_persistence`, plus how the diagrams were computed (a :class:`RipsResult`).

    Same arguments and the same diagrams as :func:`rips_persistence`; ``info`` holds the
    path taken, the thresholds tried, the certified bounds and timings.
    """
    t_start = time.perf_counter()
    maxdim = check_int(maxdim, "maxdim", minimum=0)
    n_threads = check_int(n_threads, "n_threads", minimum=1)
    backend = _resolve_backend(backend)
    fast_path = check_bool(fast_path, "fast_path")
    deduplicate = check_bool(deduplicate, "deduplicate")
    collapse = check_bool(collapse, "collapse")
    apex = check_bool(apex, "apex")
    if threshold is not None:
        threshold = check_real(threshold, "threshold", minimum=0.0, finite=False)
    if tau0 is not None:
        tau0 = check_real(tau0, "tau0", minimum=0.0, min_inclusive=False)
    if max_simplices is not None:
        max_simplices = check_real(max_simplices, "max_simplices", minimum=0.0, finite=False)
    if (X is None) == (distance_matrix is None):
        raise ValueError("give exactly one of X (a point cloud) and distance_matrix")

    if X is not None:
        P = check_points(X, "X")
        n_in = P.shape[0]
        if deduplicate:
            P = _dedup_points(P)
        check_allocation(_rips_bytes(P.shape[0], True), f"X: Rips persistence of {P.shape[0]} points", max_bytes=max_bytes)
        P, e = pow2_rescale(P, _SAFE_EXP)
        D = pairwise_distances(P, max_bytes=CHECKED)
    else:
        D = check_distance_matrix(distance_matrix, "distance_matrix")
        n_in = D.shape[0]
        check_allocation(_rips_bytes(n_in, False), f"distance_matrix: Rips persistence of {n_in} points", max_bytes=max_bytes)
        if deduplicate:
            D = _dedup_matrix(D)
        D, e = pow2_rescale(D, _SAFE_EXP)
    info: dict[str, Any] = {
        "backend": backend, "n_points": n_in, "n_unique": D.shape[0], "taus": [], "scale_exponent": e,
    }
    if e:
        logger.debug("rips: input divided by 2**%d (outside [2**-%d, 2**%d])", e, _SAFE_EXP, _SAFE_EXP)
        with np.errstate(under="ignore"):
            if threshold is not None:
                threshold = float(np.ldexp(threshold, -e))
            if tau0 is not None:
                tau0 = float(np.ldexp(tau0, -e))

    engine = _Engine(D, maxdim, backend, collapse, n_threads, max_simplices, info)
    if apex and X is None and maxdim <= 1:
        far = zero_clique(D)
        if use_apex(D.shape[0], far.size):
            engine.use_apex(far)
    full = math.inf if threshold is None else threshold
    if not fast_path or threshold is not None or maxdim > 1 or D.shape[0] <= 3:
        dgms = engine.run(full)
        info["path"] = "direct"
    elif maxdim == 0 and engine.apex is None:
        # H0 is the minimum spanning tree: bars [0, l) for its edge lengths l.
        lengths = _prim_lengths(D)
        dgms = _finish([np.column_stack([np.zeros(len(lengths) + 1), np.append(lengths, np.inf)])], 0)
        info["path"] = "mst"
    else:
        dgms = _fast(engine, D, maxdim, tau0, info)
    if e:
        dgms = [_unscale(d, e, "X" if X is not None else "distance_matrix") for d in dgms]
        for key in ("t_birth", "t_connect", "r_cone", "d_subsample", "eps_subsample", "tau_safe"):
            if key in info:
                info[key] = _unscale_value(info[key], e)
        info["taus"] = [_unscale_value(t, e) for t in info["taus"]]
    info["t_total"] = time.perf_counter() - t_start
    logger.debug("rips_persistence: %s", info)
    return RipsResult(dgms, info)


class _Engine:
    """Runs one truncation of the filtration of D (Rips, or the apex filtration of a
    zero clique), with the size check of the module docstring first."""

    def __init__(self, D, maxdim, backend, collapse, n_threads, max_simplices, info):
        self.D = D
        self.maxdim = maxdim
        self.backend = backend
        self.collapse = collapse
        self.n_threads = n_threads
        self.max_simplices = max_simplices
        self.info = info
        self.apex: ApexFiltration | None = None
        self.r_cone = cone_radius(D)

    def use_apex(self, far: np.ndarray) -> None:
        self.apex = ApexFiltration(self.D, far)
        self.info["backend"] = "apex"
        self.info["n_far"] = int(far.size)

    def sizes(self, taus: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_sizes` at each tau (inf and taus >= r_cone: the whole filtration)."""
        caps = [min(t, self.r_cone) for t in taus]
        M = self.apex.E if self.apex is not None else self.D
        return _sizes(M, caps)

    def run(self, tau: float) -> list[np.ndarray]:
        if not math.isinf(tau) and tau >= self.r_cone:
            # From the cone radius on nothing is born or alive: this truncation is the
            # whole filtration, and the backends' dense path cuts it there itself.
            tau = math.inf
        edges, tris, tets = (float(c[0]) for c in self.sizes([tau]))
        # The reduction of degree q works on the (q + 1)-simplices.
        size = edges + (tris if self.maxdim >= 1 else 0.0) + (tets if self.maxdim >= 2 else 0.0)
        where = "the whole filtration" if math.isinf(tau) else f"threshold {tau:.6g}"
        what = f"{edges:.3g} edges, up to {tris:.3g} triangles" + (f" and {tets:.3g} tetrahedra" if self.maxdim >= 2 else "")
        if self.max_simplices is not None and size > self.max_simplices:
            raise ValueError(
                f"max_simplices: the Rips computation at {where} has {what}, {size:.3g} in all, more than "
                f"max_simplices = {self.max_simplices:.3g}; raise max_simplices, pass a threshold, or subsample "
                "the points"
            )
        if size > _WARN_SIMPLICES:
            logger.warning(
                "rips: the computation at %s has %s, far beyond what this machine does in a minute; pass "
                "max_simplices= to refuse such runs", where, what,
            )
        if self.apex is not None:
            # The apex filtration has no dense path that cuts at r_cone by itself.
            return _finish(self.apex.diagrams(self.maxdim, min(tau, self.r_cone)), self.maxdim)
        return _run(self.D, self.maxdim, tau, self.backend, self.collapse, self.n_threads)


def _accepts(dgms: list[np.ndarray]) -> bool:
    """The check of the certified threshold: one infinite H0 bar, no infinite H1 bar."""
    n_inf0 = int(np.count_nonzero(np.isinf(dgms[0][:, 1])))
    n_inf_hi = sum(int(np.count_nonzero(np.isinf(d[:, 1]))) for d in dgms[1:])
    return n_inf0 == 1 and n_inf_hi == 0


def _predict_deaths(D: np.ndarray, apex: ApexFiltration | None) -> tuple[float, float] | None:
    """(largest finite H1 death of a farthest-point subsample, its covering radius), or
    None for inputs too small to gain from it (module docstring).

    For the apex filtration the landmarks are taken among the near points and the
    subsample keeps every far point: the near-to-far distances of a local-homology
    matrix are Euclidean, so the same 2 eps interleaving holds (a(pi(s)) <= a(s) + eps).
    """
    pool = np.arange(D.shape[0]) if apex is None else apex.near
    if pool.size < 2 * _LANDMARKS:
        return None
    sub, eps = _farthest_points(np.ascontiguousarray(D[np.ix_(pool, pool)]), _LANDMARKS)
    idx = pool[sub]
    if apex is None:
        h1 = _run(np.ascontiguousarray(D[np.ix_(idx, idx)]), 1, math.inf, "gudhi", False, 1)[1]
    else:
        keep = np.concatenate([idx, apex.far])
        S = np.ascontiguousarray(D[np.ix_(keep, keep)])
        far = np.arange(idx.size, keep.size)
        h1 = _finish(ApexFiltration(S, far).diagrams(1, cone_radius(S)), 1)[1]
    d_s = float(h1[:, 1].max()) if len(h1) else 0.0
    return d_s, float(eps)


def _fast(engine: _Engine, D: np.ndarray, maxdim: int, tau0: float | None, info: dict) -> list[np.ndarray]:
    """The certified-threshold fast path with the decisions of the module docstring."""
    r_cone = engine.r_cone
    info["r_cone"] = r_cone
    whole = engine.sizes([math.inf])
    if tau0 is None and float(whole[0][0] + whole[1][0]) < _DIRECT_SIMPLICES:
        info["taus"].append(math.inf)
        info["path"] = "full"
        return engine.run(math.inf)
    pred = _predict_deaths(D, engine.apex) if maxdim >= 1 and tau0 is None else None
    if pred is not None:
        info["d_subsample"], info["eps_subsample"] = pred
        edges = engine.sizes([pred[0], math.inf])[0]
        if edges[0] > _WORTH * edges[1]:
            # The holes die too late for a truncation to pay: skip even the certificate.
            info["taus"].append(math.inf)
            info["path"] = "full"
            return engine.run(math.inf)
    t0 = time.perf_counter()
    t_birth, t_connect, _ = _certified_threshold(D)
    info.update(t_birth=t_birth, t_connect=t_connect, t_certificate=time.perf_counter() - t0)
    # Below t_connect H0 has several infinite bars and below t_birth the check proves
    # nothing, so never go lower; base is 0 only for a single point.
    base = max(t_birth, t_connect)
    if base <= 0.0:
        base = r_cone
    if tau0 is not None:
        # The caller's schedule: tau0, doubled on failure.
        tau = max(float(tau0), base)
        while tau < r_cone:
            info["taus"].append(tau)
            dgms = engine.run(tau)
            if _accepts(dgms):
                info["path"] = "certified"
                return dgms
            tau *= 2.0
        info["taus"].append(math.inf)
        info["path"] = "full"
        return engine.run(math.inf)
    if pred is not None:
        d_s, eps = pred
        candidates = [(1.0 + _FIRST_STEP) * max(base, d_s)]
        tau_safe = max(base, d_s + 2.0 * eps, t_birth + 4.0 * eps)
        info["tau_safe"] = tau_safe
        if tau_safe > candidates[0]:
            candidates.append(tau_safe)
    else:
        # No prediction (a small input): the excess over the
        # bound doubles, 1.05, 1.1, 1.2, 1.4, 1.8, ... times base, up to the cone
        # radius; the edge-count rule below ends the walk where it stops paying.
        candidates = []
        step = _FIRST_STEP
        while base * (1.0 + step) < r_cone:
            candidates.append(base * (1.0 + step))
            step *= 2.0
    edges = engine.sizes(candidates + [math.inf])[0]
    spent = 0.0
    previous = 0.0
    for tau, n_edges in zip(candidates, edges[:-1]):
        if tau >= r_cone or spent + n_edges > _WORTH * edges[-1]:
            break
        if n_edges < 2.0 * previous:
            # Not twice the edges of the failed attempt: skip to a wider one, so the
            # attempts' costs grow geometrically and their sum stays below the budget.
            continue
        info["taus"].append(tau)
        dgms = engine.run(tau)
        if _accepts(dgms):
            info["path"] = "certified"
            return dgms
        logger.debug("rips: tau=%g left infinite bars; next threshold", tau)
        spent += n_edges
        previous = n_edges
    info["taus"].append(math.inf)
    info["path"] = "full"
    return engine.run(math.inf)


def _unscale_value(v: float, e: int) -> float:
    try:
        return math.ldexp(v, e)
    except OverflowError:
        return math.inf


def _unscale(dgm: np.ndarray, e: int, name: str) -> np.ndarray:
    """Bars of the rescaled input multiplied back by ``2**e`` (exact; inf stays inf)."""
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(dgm, e)
    if np.any(np.isinf(out) & np.isfinite(dgm)):
        raise ValueError(
            f"{name}: a bar of the diagram ends beyond the float64 range (1.8e308) in the units of the input; "
            "divide the input by a constant first (persistence is scale-equivariant)"
        )
    return out


def rips_persistence(
    X: np.ndarray | None = None,
    *,
    distance_matrix: np.ndarray | None = None,
    maxdim: int = 1,
    backend: str = "auto",
    threshold: float | None = None,
    fast_path: bool = True,
    deduplicate: bool = True,
    collapse: bool = False,
    n_threads: int = 1,
    tau0: float | None = None,
    max_bytes: float = DEFAULT_MAX_BYTES,
    max_simplices: float | None = None,
    apex: bool = True,
) -> list[np.ndarray]:
    """Vietoris-Rips persistence diagrams in degrees 0..maxdim (Z/2 coefficients).

    Parameters
    ----------
    X : array (n, d), optional
        Point cloud, Euclidean distances. Give exactly one of ``X`` and
        ``distance_matrix``. Any finite coordinates (1e-300 to 1e308): an input outside
        ``[2**-100, 2**100]`` is divided by a power of two first and the bars are
        multiplied back, exactly (persistence is scale-equivariant).
    distance_matrix : array (n, n), optional
        Symmetric, zero diagonal, entries >= 0 (e.g. from :func:`normalize_local`).
    maxdim : int
        Highest homology degree.
    backend : {"auto", "gudhi", "giotto"}
        "auto" is gudhi (see ``_resolve_backend`` for the measurements).
    threshold : float, optional
        Truncate the filtration at this edge length (bars alive there are infinite).
        This changes the answer; it disables the fast path.
    fast_path : bool
        Use the certified threshold (exact, module docstring) when maxdim <= 1.
    deduplicate : bool
        Drop repeated points first (exact: only zero-length bars, never reported).
    collapse : bool
        Edge collapse before persistence (gudhi ``num_collapses=1``, giotto-ph
        ``collapse_edges``). Exact; off by default because it did not pay here.
    n_threads : int
        Threads for giotto-ph (gudhi's ripser is single-threaded).
    tau0 : float, optional
        First threshold tried by the fast path, doubled on failure. Default: chosen
        from the certified birth bound, a subsample's deaths and edge counts (module
        docstring), with at most two truncations before the whole filtration.
    max_bytes : float
        Memory limit: the distance matrix and the fast path's work arrays take about
        ``21 n^2`` bytes (``17 n^2`` from a matrix); past it a ``ValueError`` comes first.
    max_simplices : float, optional
        Size budget: before each run, the edges under its threshold plus an upper bound
        on its triangles (maxdim >= 1) are counted, and a run above this number raises
        a ``ValueError`` instead of starting. Default: no limit, but a run far beyond a
        minute's work (``_WARN_SIMPLICES``) logs a warning with its size first.
    apex : bool
        For a distance matrix with a large clique of zeros (the far points of
        :func:`normalize_local`) and maxdim <= 1, compute on the apex filtration, one
        vertex in place of the clique (exact; :mod:`nntopo.landscapes._apex`).

    Returns
    -------
    list of float64 arrays of shape (m_q, 2), q = 0..maxdim
        (birth, death) in distance units, ``np.inf`` for infinite bars, no
        zero-length bars, rows sorted by (birth, death). For how they were computed
        (path, thresholds, timings) call :func:`rips_persistence_with_info`.
    """
    return rips_persistence_with_info(
        X,
        distance_matrix=distance_matrix,
        maxdim=maxdim,
        backend=backend,
        threshold=threshold,
        fast_path=fast_path,
        deduplicate=deduplicate,
        collapse=collapse,
        n_threads=n_threads,
        tau0=tau0,
        max_bytes=max_bytes,
        max_simplices=max_simplices,
        apex=apex,
    ).diagrams


def layer_diagrams(
    activations: Mapping[str, np.ndarray],
    *,
    homology: str = "plain",
    maxdim: int = 1,
    relu_layers: Sequence[str] | None = None,
    backend: str = "auto",
    max_bytes: float = DEFAULT_MAX_BYTES,
    **kwargs: Any,
) -> dict[str, list[np.ndarray]]:
    """Normalize each layer's activations and compute its Rips diagrams.

    Parameters
    ----------
    activations : mapping name -> array (n, d_layer)
        One point cloud per layer (e.g. ``nntopo.nets.capture``), in network order.
    homology : {"plain", "local"}
        "plain": :func:`normalize_plain` then Rips of the points. "local":
        :func:`normalize_local` then Rips of the modified distance matrix.
    relu_layers : names of the layers that end in ReLU (local homology only). Default:
        every layer except the first (the input) and the last (the logits), the
        layout of an MLP whose hidden layers end in ReLU.
    max_bytes : memory limit of each layer's distance matrix and persistence.
    kwargs : passed to :func:`rips_persistence`.

    Returns
    -------
    dict name -> list of (m_q, 2) float64 diagrams, q = 0..maxdim, in input order.
    """
    if not isinstance(activations, Mapping):
        raise TypeError(f"activations must be a mapping name -> array, got {type(activations).__name__}")
    homology = check_choice(homology, "homology", ("plain", "local"))
    names = list(activations)
    if relu_layers is None:
        relu = set(names[1:-1])
    else:
        if isinstance(relu_layers, (str, bytes)):
            raise TypeError(f"relu_layers must be a sequence of layer names, got the string {relu_layers!r}")
        relu = set(relu_layers)
        unknown = relu.difference(names)
        if unknown:
            raise ValueError(f"relu_layers names unknown layers: {sorted(unknown)}")
    out: dict[str, list[np.ndarray]] = {}
    for name in names:
        A = check_points(activations[name], f"activations[{name!r}]")
        if homology == "plain":
            out[name] = rips_persistence(
                normalize_plain(A), maxdim=maxdim, backend=backend, max_bytes=max_bytes, **kwargs
            )
        else:
            D = normalize_local(A, ends_in_relu=name in relu, max_bytes=max_bytes)
            out[name] = rips_persistence(
                distance_matrix=D, maxdim=maxdim, backend=backend, max_bytes=max_bytes, **kwargs
            )
    return out
