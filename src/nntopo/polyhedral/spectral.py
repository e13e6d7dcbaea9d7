"""Dual graph of a polyhedral complex, its weighted Laplacian and the Fiedler partition.

Section 2 of the polyhedral-signatures paper: one vertex per region, an edge between
adjacent regions, the coboundary ``delta`` (edges x vertices, ``-1`` at the smaller
vertex of an edge and ``+1`` at the larger), and the weighted Laplacian

    L_w = W_V^{-1} delta^T W_E delta

with diagonal vertex weights ``W_V`` and edge weights ``W_E``. The Fiedler vector is the
eigenvector of the smallest non-zero eigenvalue ``mu`` of ``L_w``, computed from the
symmetric generalized problem ``(delta^T W_E delta) v = mu W_V v``; the sign of ``v``
splits the regions in two (the Fiedler partition).

Adjacency. ``"exact"`` joins regions that share a facet (a (d-1)-cell), read from the
complex's boundary matrices (:meth:`PolyhedralComplex.region_adjacency`). ``"hamming"``
is the paper's rule: sign vectors at Hamming distance 1. Across a facet on neuron j's
bent hyperplane only neuron j changes sign, so (away from degenerate coincidences) every
exact edge is a Hamming edge; the converse fails when the differing neuron is not in
the last hidden layer, because the layers after it then see different affine maps on the
two sides and the two regions need not touch. :attr:`DualGraph.facets` marks the Hamming
edges that are not exact with ``-1``.

Hamming pairs are found without comparing all pairs of regions: every sign vector ``s``
gets a 64-bit hash ``h(s) = sum_j s_j r_j`` (mod 2^64, fixed random ``r``), so the vector
with entry j changed from ``s_j`` to ``t`` hashes to ``h(s) + (t - s_j) r_j``; each such
neighbour hash is looked up in a hash table of the regions (expected ``O(R N)`` for R
regions and N neurons, a numba kernel) and every hit is confirmed on the sign vectors
themselves, so a hash collision can add work but never a wrong edge or a missed one.

Solver. A connected graph has a one-dimensional kernel (the constants). The Laplacian
with one vertex grounded (its row and column removed) is symmetric positive definite; it
is factorized once with SuperLU (minimum-degree ordering of ``A + A^T``, no pivoting,
which a positive definite matrix does not need), and ARPACK's Lanczos iteration runs on
``v -> K^+ W_V v`` restricted to the ``W_V``-orthogonal complement of the constants,
whose largest eigenvalue is ``1 / mu``. This is shift-invert at ``sigma = 0`` with the
kernel deflated exactly, so one eigenpair is asked for instead of two. Measured against
scipy's ``eigsh(..., k=2, sigma<0)`` (which factorizes with SuperLU's default column
ordering) and LOBPCG preconditioned by pyamg's smoothed aggregation in
``benchmarks/bench_fiedler.py`` (single-threaded, busy 2-core machine, min of 3: 0.70 s
vs 1.08 s and 1.01 s at 53,758 regions; 1.68 s vs 2.67 s and 2.25 s at 109,243; all
vectors agree to |cos| = 1.00000000), so pyamg is not a dependency. Graphs of at most
``DENSE_MAX_VERTICES`` vertices are solved densely (``scipy.linalg.eigh`` on the
generalized pair), where that is cheaper. A disconnected graph is refused (its Fiedler
vector is not defined); the error names the components.

Evaluation (step 5 of Section 2.2.1): :func:`region_mean_labels` averages the 0/1 class
labels of the training points in each region, :func:`partition_agreement` scores a
partition against them (share of misclassified regions, Euclidean error, best
orientation).

Nothing here imports torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as sla

from .._validation import as_generator, check_array, check_choice, check_int, check_labels, check_points

__all__ = [
    "DENSE_MAX_VERTICES",
    "DualGraph",
    "PartitionAgreement",
    "dual_graph",
    "fiedler_vector",
    "graph_fiedler_vector",
    "partition_agreement",
    "region_counts",
    "region_mean_labels",
    "weighted_laplacian",
]

logger = logging.getLogger("nntopo")

ADJACENCIES = ("exact", "hamming")
OUTSIDE = ("raise", "ignore")

#: Graphs with at most this many vertices are solved with a dense generalized
#: eigendecomposition (cheaper there than a factorization and Lanczos).
DENSE_MAX_VERTICES = 64

#: Sign convention: the first entry whose magnitude is at least this share of the
#: largest one is made positive (small entries are left out: solver noise could flip them).
_SIGN_REL = 1e-6

#: Relative residual ``|K v - mu W v| / (mu |W v|)`` above which the result is logged as
#: inaccurate (it is about 1e-10 on the benchmark graphs).
_RESIDUAL_WARN = 1e-6

#: Fixed hash coefficients for Hamming adjacency: every hit is verified on the sign
#: vectors, so the result does not depend on them; fixed keeps the cost reproducible.
_HASH_SEED = 0x5EED_D0A1


# --------------------------------------------------------------------------- the graph


@dataclass(frozen=True, eq=False)
class DualGraph:
    """An undirected simple graph on ``n_vertices`` vertices (regions, for a dual graph).

    Attributes
    ----------
    n_vertices : int
        Number of vertices; for a dual graph, the number of regions, in the complex's
        region order.
    edges : (m, 2) int64
        ``edges[:, 0] < edges[:, 1]``, rows sorted lexicographically, no repeats.
    facets : (m,) int64
        For a dual graph, the (d-1)-cell the two regions share, ``-1`` when they share
        none (a Hamming edge that is not exact); ``-1`` everywhere for a graph built
        with :meth:`from_edges`.
    adjacency : str
        ``"exact"``, ``"hamming"``, or ``"given"`` (built with :meth:`from_edges`).
    """

    n_vertices: int
    edges: np.ndarray
    facets: np.ndarray
    adjacency: str

    def __post_init__(self) -> None:
        E, F = self.edges, self.facets
        if not (isinstance(E, np.ndarray) and E.dtype == np.int64 and E.ndim == 2 and E.shape[1] == 2):
            raise TypeError("edges must be an (m, 2) int64 array; build a graph with DualGraph.from_edges")
        if not (isinstance(F, np.ndarray) and F.dtype == np.int64 and F.shape == (E.shape[0],)):
            raise TypeError("facets must be an (m,) int64 array, one entry per edge")

    @classmethod
    def from_edges(cls, n_vertices: int, edges: Any) -> "DualGraph":
        """A graph from an edge list ``(m, 2)`` of vertex indices in ``[0, n_vertices)``.

        Edges may be given in any order and orientation; self-loops and repeated edges
        are a ``ValueError`` naming ``edges``.
        """
        n = check_int(n_vertices, "n_vertices", minimum=1)
        E = check_array(edges, "edges", shape=(None, 2), dtype=np.int64, allow_empty=True)
        if E.size and (E.min() < 0 or E.max() >= n):
            raise ValueError(f"edges must hold vertex indices in [0, {n}); got values in [{E.min()}, {E.max()}]")
        if np.any(E[:, 0] == E[:, 1]):
            i = int(np.flatnonzero(E[:, 0] == E[:, 1])[0])
            raise ValueError(f"edges has a self-loop at row {i} (vertex {E[i, 0]})")
        E = np.sort(E, axis=1)
        keys = E[:, 0] * n + E[:, 1]
        uniq, first = np.unique(keys, return_index=True)
        if uniq.shape[0] != E.shape[0]:
            raise ValueError(f"edges has {E.shape[0] - uniq.shape[0]} repeated edge(s); give each edge once")
        E = np.ascontiguousarray(E[first])
        return cls(n, E, np.full(E.shape[0], -1, dtype=np.int64), "given")

    @property
    def n_edges(self) -> int:
        """Number of edges m."""
        return int(self.edges.shape[0])

    def coboundary(self) -> sp.csr_matrix:
        """The coboundary ``delta``, shape (m, n_vertices) float64 CSR: row e has ``-1`` at
        ``edges[e, 0]`` and ``+1`` at ``edges[e, 1]`` (``(delta f)(e) = f(b) - f(a)``)."""
        m = self.n_edges
        data = np.tile(np.array([-1.0, 1.0]), m)
        indptr = np.arange(0, 2 * m + 1, 2, dtype=np.int64)
        return sp.csr_matrix((data, self.edges.ravel(), indptr), shape=(m, self.n_vertices))

    def adjacency_matrix(self) -> sp.csr_matrix:
        """Symmetric 0/1 adjacency matrix, shape (n_vertices, n_vertices) float64 CSR."""
        E = self.edges
        rows = np.concatenate([E[:, 0], E[:, 1]])
        cols = np.concatenate([E[:, 1], E[:, 0]])
        n = self.n_vertices
        return sp.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(n, n))

    def components(self) -> tuple[int, np.ndarray]:
        """Connected components: ``(count, labels (n_vertices,) int64)``, labels numbered
        by the smallest vertex of each component (the component of vertex 0 is 0)."""
        count, labels = csgraph.connected_components(self.adjacency_matrix(), directed=False)
        # Renumber by first occurrence so the labels do not depend on scipy's traversal.
        _, first = np.unique(labels, return_index=True)
        rank = np.empty(count, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(count)
        return int(count), rank[labels]


def _is_complex(cx: Any) -> bool:
    return hasattr(cx, "region_adjacency") and hasattr(cx, "region_signs") and hasattr(cx, "n_regions")


def _check_complex(cx: Any, name: str = "cx") -> None:
    if not _is_complex(cx):
        raise TypeError(
            f"{name} must be a PolyhedralComplex (from nntopo.polyhedral.polyhedral_complex); "
            f"got {type(cx).__name__}"
        )


def _sorted_unique_pairs(pairs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``pairs`` (each with ``a < b``) sorted lexicographically without repeats,
    and the index of each kept row in ``pairs``."""
    keys = pairs[:, 0] * np.int64(n) + pairs[:, 1]
    _, first = np.unique(keys, return_index=True)
    return np.ascontiguousarray(pairs[first]), first


@numba.njit(cache=True, nogil=True)
def _hamming_kernel(S: np.ndarray, r: np.ndarray) -> np.ndarray:
    R, N = S.shape
    one = np.uint64(1)
    h = np.zeros(R, dtype=np.uint64)
    has_zero = np.zeros(N, dtype=np.bool_)
    for i in range(R):
        acc = np.uint64(0)
        for j in range(N):
            acc += np.uint64(np.int64(S[i, j])) * r[j]  # -1 wraps to 2^64 - 1: sums mod 2^64
            if S[i, j] == 0:
                has_zero[j] = True
        h[i] = acc
    # Open addressing with linear probing; h is already a random-looking key.
    size = 1
    while size < 2 * R:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, dtype=np.int64)
    for i in range(R):
        k = h[i] & mask
        while slots[k] != -1:
            k = (k + one) & mask
        slots[k] = i
    out = np.empty((max(4 * R, 16), 2), dtype=np.int64)
    count = 0
    for i in range(R):
        for j in range(N):
            s = np.int64(S[i, j])
            # Search each pair from its side with the larger value at the differing neuron
            # (+1 -> -1, +1 -> 0, 0 -> -1), so it is found once.
            for t in (-1, 0):
                if t >= s or (t == 0 and not has_zero[j]):
                    continue
                q = h[i] + np.uint64(t - s) * r[j]
                k = q & mask
                while slots[k] != -1:
                    b = slots[k]
                    if h[b] == q and S[b, j] == t:
                        same = True
                        for jj in range(N):
                            if jj != j and S[b, jj] != S[i, jj]:
                                same = False
                                break
                        if same:
                            if count == out.shape[0]:
                                grown = np.empty((2 * count, 2), dtype=np.int64)
                                grown[:count] = out
                                out = grown
                            out[count, 0] = min(i, b)
                            out[count, 1] = max(i, b)
                            count += 1
                    k = (k + one) & mask
    return out[:count]


def _hamming_pairs(S: np.ndarray) -> np.ndarray:
    """Pairs ``(i, k)``, ``i < k``, of rows of the sign matrix ``S (R, N)`` int8 that differ
    in exactly one entry, shape (m, 2) int64, unsorted (see the module docstring)."""
    R, N = S.shape
    if R < 2 or N == 0:
        return np.empty((0, 2), dtype=np.int64)
    r = np.random.default_rng(_HASH_SEED).integers(0, 2**64 - 1, size=N, dtype=np.uint64, endpoint=True)
    return _hamming_kernel(np.ascontiguousarray(S, dtype=np.int8), r)


def dual_graph(cx: Any, *, adjacency: Literal["exact", "hamming"] = "exact") -> DualGraph:
    """The dual graph of a polyhedral complex: one vertex per region (in region order).

    ``adjacency="exact"`` (default): an edge for every facet shared by two regions.
    ``adjacency="hamming"``: an edge for every two regions whose sign vectors differ in
    exactly one neuron (the paper's rule); ``facets`` then gives the shared facet of the
    Hamming edges that are also exact and ``-1`` for the others. See the module
    docstring for how the two differ and how Hamming pairs are found.
    """
    _check_complex(cx)
    adjacency = check_choice(adjacency, "adjacency", ADJACENCIES)
    n = int(cx.n_regions)
    pairs, facets = cx.region_adjacency()
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    facets = np.asarray(facets, dtype=np.int64)
    exact, keep = _sorted_unique_pairs(pairs, n)
    exact_facets = facets[keep]
    if exact.shape[0] != pairs.shape[0]:
        logger.warning("dual_graph: %d pair(s) of regions share more than one facet", pairs.shape[0] - exact.shape[0])
    if adjacency == "exact":
        return DualGraph(n, exact, np.ascontiguousarray(exact_facets), "exact")
    ham, _ = _sorted_unique_pairs(_hamming_pairs(np.ascontiguousarray(cx.region_signs, dtype=np.int8)), n)
    # Look each Hamming pair up among the exact ones (both sorted by the same key).
    ekeys = exact[:, 0] * np.int64(n) + exact[:, 1]
    hkeys = ham[:, 0] * np.int64(n) + ham[:, 1]
    pos = np.minimum(np.searchsorted(ekeys, hkeys), max(ekeys.shape[0] - 1, 0))
    hit = ekeys[pos] == hkeys if ekeys.size else np.zeros(hkeys.shape[0], dtype=bool)
    ham_facets = np.where(hit, exact_facets[pos] if ekeys.size else -1, -1).astype(np.int64)
    return DualGraph(n, ham, ham_facets, "hamming")


# --------------------------------------------------------------------------- weights


def _check_graph(graph: Any, name: str = "graph") -> DualGraph:
    if not isinstance(graph, DualGraph):
        raise TypeError(f"{name} must be a DualGraph (from dual_graph or DualGraph.from_edges); got {type(graph).__name__}")
    return graph


def _check_weights(w: Any, name: str, n: int, what: str) -> np.ndarray:
    """Positive finite float64 weights of shape (n,)."""
    if w is None:
        return np.ones(n)
    arr = check_array(w, name, ndim=1, allow_empty=True)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one weight per {what} ({n}); got {arr.shape[0]}")
    if n and not np.all(arr > 0):
        i = int(np.flatnonzero(~(arr > 0))[0])
        raise ValueError(f"{name} must be positive; entry {i} is {arr[i]!r}")
    return arr


def _stiffness(graph: DualGraph, edge_weights: np.ndarray) -> sp.csr_matrix:
    """``delta^T W_E delta`` (the edge-weighted graph Laplacian), (n, n) float64 CSR."""
    delta = graph.coboundary()
    return (delta.T @ sp.diags(edge_weights) @ delta).tocsr()


def weighted_laplacian(graph: DualGraph, *, vertex_weights: Any = None, edge_weights: Any = None) -> sp.csr_matrix:
    """The weighted Laplacian ``L_w = W_V^{-1} delta^T W_E delta``, (n, n) float64 CSR.

    ``vertex_weights`` (n,) and ``edge_weights`` (m,) (in ``graph.edges`` order) must be
    positive and finite; None means all ones. ``L_w`` is not symmetric unless the vertex
    weights are equal; it is self-adjoint for the inner product ``<x, y> = x^T W_V y``.
    Units: a vertex weight is a mass (for the paper, 1 + a count of training points), an
    edge weight a conductance; ``L_w`` has units of conductance per mass.
    """
    graph = _check_graph(graph)
    w = _check_weights(vertex_weights, "vertex_weights", graph.n_vertices, "vertex")
    c = _check_weights(edge_weights, "edge_weights", graph.n_edges, "edge")
    return (sp.diags(1.0 / w) @ _stiffness(graph, c)).tocsr()


def _region_indices(cx: Any, points: Any, outside: str, name: str = "points") -> tuple[np.ndarray, np.ndarray]:
    """Region of each point and the mask of points inside the box."""
    P = check_points(points, name)
    if P.shape[1] != cx.dim:
        raise ValueError(f"{name} must have shape (n, {cx.dim}) for this complex; got {P.shape}")
    outside = check_choice(outside, "outside", OUTSIDE)
    idx = np.asarray(cx.region_of(P), dtype=np.int64)
    inside = idx >= 0
    if not inside.all():
        n_out = int(np.count_nonzero(~inside))
        if outside == "raise":
            i = int(np.flatnonzero(~inside)[0])
            raise ValueError(
                f"{name}: {n_out} of {P.shape[0]} point(s) lie outside the box [{cx.lo.tolist()}, "
                f"{cx.hi.tolist()}] (first: row {i}, {P[i].tolist()}); build the complex on a box "
                "that holds the data, or pass outside='ignore' to leave them out"
            )
        logger.info("%d of %d point(s) outside the box are left out", n_out, P.shape[0])
    return idx, inside


def region_counts(cx: Any, points: Any, *, outside: Literal["raise", "ignore"] = "raise") -> np.ndarray:
    """Number of ``points (n, d)`` in each region, shape (n_regions,) int64.

    Points are placed with :meth:`PolyhedralComplex.region_of` (a point on a hyperplane
    goes to the region on its + side). A point outside the box is a ``ValueError``
    naming ``points``, or, with ``outside="ignore"``, not counted.
    """
    _check_complex(cx)
    idx, inside = _region_indices(cx, points, outside)
    return np.bincount(idx[inside], minlength=int(cx.n_regions)).astype(np.int64)


def region_mean_labels(
    cx: Any, points: Any, labels: Any, *, outside: Literal["raise", "ignore"] = "raise"
) -> np.ndarray:
    """Average binary class label (0/1) of the ``points (n, d)`` in each region, shape
    (n_regions,) float64, NaN for a region without points (step 5a of the paper).

    ``labels`` (n,) holds the classes 0 and 1; points outside the box as in
    :func:`region_counts`.
    """
    _check_complex(cx)
    idx, inside = _region_indices(cx, points, outside)
    y = check_labels(labels, "labels", n=idx.shape[0], n_classes=2)
    n = int(cx.n_regions)
    cnt = np.bincount(idx[inside], minlength=n).astype(np.float64)
    tot = np.bincount(idx[inside], weights=y[inside].astype(np.float64), minlength=n)
    out = np.full(n, np.nan)
    has = cnt > 0
    out[has] = tot[has] / cnt[has]
    return out


# --------------------------------------------------------------------------- the solver


def _orient(v: np.ndarray) -> np.ndarray:
    """Unit Euclidean norm, and the first entry of magnitude >= _SIGN_REL * max positive."""
    v = v / np.linalg.norm(v)
    big = np.abs(v) >= _SIGN_REL * np.max(np.abs(v))
    if v[np.argmax(big)] < 0:
        v = -v
    return v


def _refuse_disconnected(graph: DualGraph) -> None:
    count, labels = graph.components()
    if count == 1:
        return
    sizes = np.bincount(labels)
    shown = []
    for c in range(min(count, 5)):
        members = np.flatnonzero(labels == c)
        head = ", ".join(str(int(i)) for i in members[:5]) + (", ..." if members.size > 5 else "")
        shown.append(f"component {c}: {sizes[c]} vertices [{head}]")
    more = f"; and {count - 5} more" if count > 5 else ""
    raise ValueError(
        f"graph is disconnected ({count} connected components; {'; '.join(shown)}{more}): the "
        "eigenvalue 0 is repeated and there is no Fiedler vector. Solve each component on its "
        "own (DualGraph.components() labels them; DualGraph.from_edges builds a subgraph)."
    )


def _dense_fiedler(K: sp.csr_matrix, w: np.ndarray) -> tuple[float, np.ndarray]:
    vals, vecs = scipy.linalg.eigh(K.toarray(), np.diag(w), subset_by_index=[1, 1])
    return float(vals[0]), vecs[:, 0]


def _sparse_fiedler(K: sp.csr_matrix, w: np.ndarray, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    n = K.shape[0]
    # Ground the vertex of largest degree: its removal leaves an SPD matrix.
    g = int(np.argmax(np.diff(K.indptr)))
    keep = np.ones(n, dtype=bool)
    keep[g] = False
    Kg = K[keep][:, keep].tocsc()
    lu = sla.splu(Kg, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    w_sum = float(w.sum())

    def solve(b: np.ndarray) -> np.ndarray:
        # ARPACK (shift-invert mode) hands over W_V x; the kernel's component is removed
        # on both sides: b onto range(K) = 1^perp, the result W_V-orthogonal to 1.
        b = b - b.mean()
        y = np.zeros(n)
        y[keep] = lu.solve(b[keep])
        return y - (w @ y) / w_sum

    op = sla.LinearOperator((n, n), matvec=solve, dtype=np.float64)
    v0 = rng.standard_normal(n)
    v0 -= (w @ v0) / w_sum
    ncv = min(n - 1, 12)
    vals, vecs = sla.eigsh(
        K, k=1, M=sp.diags(w).tocsr(), sigma=0.0, OPinv=op, which="LM", v0=v0, ncv=ncv, tol=1e-12
    )
    return float(vals[0]), vecs[:, 0]


def graph_fiedler_vector(
    graph: DualGraph,
    *,
    vertex_weights: Any = None,
    edge_weights: Any = None,
    seed: int | np.random.Generator | None = 0,
    blas_threads: int | None = 1,
) -> tuple[float, np.ndarray]:
    """Smallest non-zero eigenvalue ``mu`` of ``L_w`` and its eigenvector, for any graph.

    Solves ``(delta^T W_E delta) v = mu W_V v`` (weights as in :func:`weighted_laplacian`).
    Returns ``(mu, v)`` with ``v`` of shape (n_vertices,) float64: unit Euclidean norm,
    ``W_V``-orthogonal to the constants (``sum_i w_i v_i = 0``), and signed so that its
    first entry of magnitude at least 1e-6 times the largest is positive. ``v > 0`` is
    one side of the Fiedler partition. When ``mu`` is a repeated eigenvalue (symmetric
    graphs such as a cycle) ``v`` is one vector of its eigenspace, which one depending
    on the solver and ``seed``.

    A disconnected graph, or one with fewer than 2 vertices, is a ``ValueError`` (the
    message names the components). ``seed`` draws the Lanczos start vector (graphs of
    more than ``DENSE_MAX_VERTICES`` vertices); ``blas_threads`` caps BLAS threads for
    the iteration (``None``: leave BLAS as configured; 1 is the default because threaded
    BLAS on vectors of this size was measured several times slower on a busy 2-core
    machine). Cost: one sparse LU of the grounded Laplacian plus a few tens of solves.
    """
    graph = _check_graph(graph)
    n = graph.n_vertices
    w = _check_weights(vertex_weights, "vertex_weights", n, "vertex")
    c = _check_weights(edge_weights, "edge_weights", graph.n_edges, "edge")
    rng = as_generator(seed)
    if blas_threads is not None:
        blas_threads = check_int(blas_threads, "blas_threads", minimum=1)
    if n < 2:
        raise ValueError(f"graph has {n} vertex; a Fiedler vector needs at least 2 (a connected graph)")
    _refuse_disconnected(graph)
    K = _stiffness(graph, c)
    if n <= DENSE_MAX_VERTICES:
        mu, v = _dense_fiedler(K, w)
    elif blas_threads is None:
        mu, v = _sparse_fiedler(K, w, rng)
    else:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=blas_threads, user_api="blas"):
            mu, v = _sparse_fiedler(K, w, rng)
    v = _orient(v)
    res = float(np.linalg.norm(K @ v - mu * w * v) / (abs(mu) * np.linalg.norm(w * v)))
    if res > _RESIDUAL_WARN:
        logger.warning("graph_fiedler_vector: relative residual %.2e (mu = %.6g, n = %d)", res, mu, n)
    return mu, v


def fiedler_vector(
    cx: Any,
    *,
    vertex_weights: Any = None,
    edge_weights: Any = None,
    adjacency: Literal["exact", "hamming"] = "exact",
    points: Any = None,
    seed: int | np.random.Generator | None = 0,
    blas_threads: int | None = 1,
) -> tuple[float, np.ndarray]:
    """Fiedler eigenvalue and vector of the dual graph of a polyhedral complex.

    Returns ``(mu, v)``: ``mu`` the smallest non-zero eigenvalue of ``L_w`` (float) and
    ``v`` (n_regions,) float64, one value per region in the complex's region order (norm
    and sign convention as in :func:`graph_fiedler_vector`); ``v > 0`` is one side of
    the Fiedler partition.

    Vertex weights: ``vertex_weights`` (n_regions,) if given; otherwise ``1 +`` the number
    of training ``points (n, d)`` in each region (:func:`region_counts`; a point outside
    the box is a ``ValueError``), which is all ones (the unweighted Laplacian) when
    ``points`` is None. Giving both is a ``ValueError``. Edge weights: ``edge_weights``
    (m,) in the order of ``dual_graph(cx, adjacency=adjacency).edges``, default all ones.
    The exact dual graph of a complex of a box is always connected; a disconnected
    Hamming graph is refused with the components named.
    """
    _check_complex(cx)
    if vertex_weights is not None and points is not None:
        raise ValueError("vertex_weights and points: give one or the other (points sets vertex weights 1 + counts)")
    graph = dual_graph(cx, adjacency=adjacency)
    if points is not None:
        vertex_weights = 1.0 + region_counts(cx, points)
    return graph_fiedler_vector(
        graph, vertex_weights=vertex_weights, edge_weights=edge_weights, seed=seed, blas_threads=blas_threads
    )


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, eq=False)
class PartitionAgreement:
    """How well a two-sided partition of the regions matches their average class labels.

    Attributes
    ----------
    n_regions : int
        Regions with at least one training point (those evaluated).
    n_misclassified : int
        Of those, the regions whose rounded average label differs from their side.
    misclassification : float
        ``n_misclassified / n_regions`` (a share in [0, 1]; the paper prints percent).
    error : float
        Euclidean norm of (average labels - side values) over the evaluated regions.
    partition : (n,) int8
        The side of every region in {0, 1}, in the chosen orientation.
    flipped : bool
        True when the orientation is ``v > 0 -> 0`` (else ``v > 0 -> 1``).
    """

    n_regions: int
    n_misclassified: int
    misclassification: float
    error: float
    partition: np.ndarray
    flipped: bool


def partition_agreement(v: Any, mean_labels: Any) -> PartitionAgreement:
    """The paper's evaluation of a Fiedler partition (step 5 of Section 2.2.1).

    ``v`` (n,): the Fiedler vector (or any score): side 1 is ``v > 0``, side 0 is
    ``v <= 0``. ``mean_labels`` (n,): each region's average class label in [0, 1], NaN
    for a region without training points (as :func:`region_mean_labels` gives); only
    regions with a label are evaluated. The partition is mapped to {0, 1} with the
    orientation that misclassifies fewer regions, ties going to the smaller error, then
    to ``v > 0 -> 1``. A region is misclassified when its average label is more than 1/2
    away from its side's value (its rounded label differs; a half-and-half region counts
    as correct on either side).
    """
    vv = check_array(v, "v", ndim=1)
    m = check_array(mean_labels, "mean_labels", ndim=1, finite=False)
    if m.shape != vv.shape:
        raise ValueError(f"mean_labels must have one entry per entry of v ({vv.shape[0]}); got {m.shape[0]}")
    if np.any(np.isinf(m)) or np.any((m < 0) | (m > 1)):
        raise ValueError("mean_labels must lie in [0, 1] (average 0/1 labels) or be NaN for regions without points")
    has = ~np.isnan(m)
    if not has.any():
        raise ValueError("mean_labels is NaN everywhere: no region holds a training point")
    side = (vv > 0).astype(np.int8)
    best = None
    for flipped in (False, True):
        p = (1 - side) if flipped else side
        diff = m[has] - p[has]
        wrong = int(np.count_nonzero(np.abs(diff) > 0.5))
        err = float(np.linalg.norm(diff))
        if best is None or (wrong, err) < (best[0], best[1]):
            best = (wrong, err, p.astype(np.int8), flipped)
    wrong, err, p, flipped = best
    k = int(np.count_nonzero(has))
    return PartitionAgreement(k, wrong, wrong / k, err, p, flipped)
