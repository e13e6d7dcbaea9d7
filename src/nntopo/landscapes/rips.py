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

Otherwise tau grows (the excess over the bound doubles, see ``_AUTO_NOTES`` for
why not plain doubling from the start; after a failure, a next tau above r_c / 2 is
replaced by the full filtration, whose cost it would approach); once tau >= r_c the truncated filtration is the whole
filtration up to a cone, which is exact unconditionally (gudhi uses the same cone
cut internally). For maxdim >= 2 no such birth bound is proven here, so the fast
path is only taken for maxdim <= 1; higher degrees use the full filtration.

Cost: the RNG test is O(n^2) pairs, each settled by a handful of lookups among the
k nearest neighbours of an endpoint (a full O(n) scan only for RNG edges), compiled
with numba. Measurements that chose the defaults are in ``_AUTO_NOTES`` below.
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
# First threshold of the fast path is (1 + _FIRST_STEP) * max(birth bound, MST).
_FIRST_STEP = 0.05
# After a failed attempt, a next threshold above this fraction of the cone radius is
# replaced by the full filtration.
_GIVE_UP = 0.5
# Inputs whose largest |value| lies outside [2**-100, 2**100] are divided by a power of
# two first (exact): giotto-ph works in float32 (range ~1e-38..3e38), and squared
# coordinates leave float64 near 1e154. Persistence is scale-equivariant, so the bars
# are multiplied back by the same power of two, exactly. Inside the range nothing is
# touched, and the diagrams are bit-identical to those of gudhi on the raw input.
_SAFE_EXP = 100

# Measurements behind the defaults (2-core VM shared with other jobs, so timings
# moved by up to 2x between runs; min of 2 repeats; benchmarks/bench_rips.py and ad-hoc
# runs of 2026-11-23 on a [2]+[15]*10+[2] nine-disk net, 41 epochs, 99.97% train acc.)
_AUTO_NOTES = """
backend="auto" -> gudhi:
  full filtration, H0+H1, points normalized to diameter 1 (bench_rips.py):
    2,000 N(0,1) pts in R^64: gudhi 3.14 s, giotto-ph 2.37 s (1 thread), 4.90 s (2)
    4,060 N(0,1) pts in R^15: gudhi 14.1 s, giotto-ph 16.7 s (1 thread), 15.0 s (2)
  truncated (certified) filtrations, 12 trained layers, 4,060 pts each, per layer:
    gudhi faster on 10 of 12 layers, e.g. relu8 7.3 s vs 10.8 s, relu9 14.7 vs 15.4,
    output 2.4 vs 5.6; giotto-ph ahead only on input/relu1 (0.69 vs 0.97, 0.70 vs 0.78).
  The fast path dominates nntopo's time and gudhi wins there; gudhi also computes in
  float64 and returns exact matrix entries, giotto-ph in float32.
fast path on:
  nntopo (gudhi + certified threshold) vs the fastest backend called directly:
    R^64: 1.37 s vs 2.37 s (0.58x); R^15: 6.2 s vs 14.1 s (0.44x);
    12 layers: 32.3 s vs gudhi full 262 s (0.12x), diagrams identical.
  The certificate costs 0.15-0.20 s at n = 4,060 (numba, 2 threads).
threshold schedule (excess over the bound doubling: 1.05, 1.1, 1.2, 1.4, ... x base):
  12 layers total 41.7 s, against 100.9 s for plain doubling from 2 x base: most layers
  finish within 1.05-1.4 x base, and a truncation twice too wide costs 2-6x (relu6
  2.1 s at tau 0.16 vs 13.1 s at 0.31). Failed narrow attempts cost ~0.1-0.5 s each.
gudhi's own dense->sparse conversion (_lower_to_coo) took 0.25-0.45 s per call at
  n = 4,060, whatever the threshold; _edges_upto takes ~0.03 s.
collapse=False: edge collapse saved little and lost a lot. gudhi num_collapses=1 on the full 4,060 x
  R^15 matrix did not finish in 800 s (46 s without); giotto-ph collapse_edges on
  2,000 x R^64 > 60 s (2.7 s without); on the certified truncations of the 12 layers
  gudhi+collapse took 0.64x-1.03x the time on the first 3 layers, 1.5x-30x after
  (relu8: 223 s vs 7.3 s).
deduplicate=True: exact (zero-length bars are dropped anyway) and np.unique costs
  ~6 ms at 4,060 x 15; none of the 12 layers above had duplicates, but dead-ReLU
  regions map many inputs to one activation vector in other networks.
"""


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


def _run_gudhi(D: np.ndarray, maxdim: int, threshold: float, collapse: bool) -> list[np.ndarray]:
    from gudhi.sklearn.rips_persistence import RipsPersistence

    if math.isinf(threshold):
        # gudhi cuts at the cone radius itself and runs its dense ripser.
        inp, input_type = D, "full distance matrix"
    else:
        # gudhi's own dense -> sparse conversion took 0.25-0.45 s for n = 4,060 at any
        # threshold; the compiled scan above takes ~0.03 s and gives the same edges
        # (D[i, j] <= threshold, the inclusive rule of ripser).
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
        # gudhi: faster than giotto-ph on the truncated filtrations that the fast
        # path runs (10 of 12 trained layers), float64 throughout; see _AUTO_NOTES.
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
        How they were computed: ``path`` ("direct", "certified" or "full": the
        certified truncation succeeded, or the fast path fell back to the whole
        filtration), ``backend``, ``n_points`` and ``n_unique`` (after dropping
        duplicates), ``taus`` (thresholds tried), ``t_birth``, ``t_connect``, ``r_cone``
        (see :func:`certified_threshold`; all in the units of the input), ``scale_exponent``
        (the input was divided by ``2**scale_exponent``, 0 when untouched), and timings
        in seconds (``t_certificate``, ``t_total``).
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
    if threshold is not None:
        threshold = check_real(threshold, "threshold", minimum=0.0, finite=False)
    if tau0 is not None:
        tau0 = check_real(tau0, "tau0", minimum=0.0, min_inclusive=False)
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

    full = math.inf if threshold is None else threshold
    if not fast_path or threshold is not None or maxdim > 1 or D.shape[0] <= 3:
        dgms = _run(D, maxdim, full, backend, collapse, n_threads)
        info["path"] = "direct"
    else:
        t0 = time.perf_counter()
        t_birth, t_connect, r_cone = _certified_threshold(D)
        info.update(t_birth=t_birth, t_connect=t_connect, r_cone=r_cone, t_certificate=time.perf_counter() - t0)
        # Below t_connect H0 has several infinite bars and below t_birth the check
        # proves nothing, so never go lower; base is 0 only for a single point.
        base = max(t_birth, t_connect)
        if base <= 0.0:
            base = r_cone
        step = _FIRST_STEP
        tau = max(float(tau0), base) if tau0 is not None else base * (1.0 + step)
        while True:
            if tau >= r_cone:
                # Exact without any check: the rest of the filtration is a cone.
                info["taus"].append(math.inf)
                dgms = _run(D, maxdim, math.inf, backend, collapse, n_threads)
                info["path"] = "full"
                break
            info["taus"].append(tau)
            dgms = _run(D, maxdim, tau, backend, collapse, n_threads)
            n_inf0 = int(np.count_nonzero(np.isinf(dgms[0][:, 1])))
            n_inf_hi = sum(int(np.count_nonzero(np.isinf(d[:, 1]))) for d in dgms[1:])
            if n_inf0 == 1 and n_inf_hi == 0:
                info["path"] = "certified"
                break
            logger.debug("rips: tau=%g left %d+%d infinite bars; widening", tau, n_inf0, n_inf_hi)
            # The excess over the birth bound doubles: 1.05, 1.1, 1.2, 1.4, 1.8, 2.6, ...
            # times base, then plain doubling. See _AUTO_NOTES for why not 2x at once.
            step *= 2.0
            tau = base * (1.0 + step) if tau0 is None else 2.0 * tau
            if tau > _GIVE_UP * r_cone:
                # A truncation this wide costs about as much as the whole filtration
                # (which gudhi cuts at r_cone anyway); one more failure would double it.
                tau = math.inf
    if e:
        dgms = [_unscale(d, e, "X" if X is not None else "distance_matrix") for d in dgms]
        for key in ("t_birth", "t_connect", "r_cone"):
            if key in info:
                info[key] = _unscale_value(info[key], e)
        info["taus"] = [_unscale_value(t, e) for t in info["taus"]]
    info["t_total"] = time.perf_counter() - t_start
    logger.debug("rips_persistence: %s", info)
    return RipsResult(dgms, info)


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
        First threshold tried by the fast path, doubled on failure. Default: 1.05 times
        the certified birth bound, the excess over the bound doubling on failure.
    max_bytes : float
        Memory limit: the distance matrix and the fast path's work arrays take about
        ``21 n^2`` bytes (``17 n^2`` from a matrix); past it a ``ValueError`` comes first.

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
