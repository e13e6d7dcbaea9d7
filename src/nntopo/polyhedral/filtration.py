"""Random filtrations of a cell complex and their averaged Z/2 Betti curves.

A random filtration adds every 0-cell in a random order, then every 1-cell in a random
order, then the 2-cells, and so on (Section 3.1 of the polyhedral-signatures paper). After
each added cell the Betti numbers b_0..b_d over Z/2 of the cells added so far are
recorded; :func:`betti_curves` averages them over seeded trials.

Two exact methods compute the same numbers:

* ``"fast"`` (d <= 3, union-find and the Euler characteristic): a union-find over the
  1-cells in their random order gives b_0 at every step and b_1 while 1-cells are added.
  The top boundary map is injective on a complex of a box (a nonempty set of regions has
  a nonempty boundary), so b_d = 0 on every subcomplex and each top cell kills one class
  of the degree below. In d = 2 the Euler characteristic ``chi = b_0 - b_1`` then gives
  b_1 while the 2-cells go in. In d = 3, while the 2-cells go in, Alexander duality gives
  b_2 as the number of components, less one, of the dual graph (3-cells and the outside,
  joined across every 2-cell not yet added): a union-find walking the 2-cell order
  backwards; b_1 follows from ``chi = b_0 - b_1 + b_2``. For complexes that are not a
  :class:`~nntopo.polyhedral.PolyhedralComplex`, d = 2 is accepted after checking the
  top boundary map is injective; d = 3 needs the embedding in a box and is refused.
* ``"reduction"`` (any d): the boundary matrix in filtration order is column-reduced over
  Z/2 with the twist (clearing) optimisation; a cell whose column reduces to zero adds a
  class in its degree, any other kills one in the degree below.

Both draw the order of the k-cells of trial t from the same key (a Fisher-Yates shuffle
driven by a splitmix64 stream seeded by ``seed``), so both give bit-identical curves for
the same ``seed``: the averages are integer sums divided by ``n_trials``.
"""

from __future__ import annotations

import logging
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
import xarray as xr

from .._validation import as_generator, check_allocation, check_array, check_choice, check_int

__all__ = [
    "betti_curves",
    "betti_heatmap",
    "betti_summary",
    "curves_to_xarray",
    "filtration_orders",
    "sample_curves",
    "sample_curves_share",
]

logger = logging.getLogger("nntopo")

METHODS = ("auto", "fast", "reduction")


# --------------------------------------------------------------------------- random orders


@numba.njit(cache=True, nogil=True, inline="always")
def _splitmix(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True, inline="always")
def _below(state: np.uint64, bound: np.uint64) -> tuple[np.uint64, np.uint64]:
    """A uniform integer in [0, bound) (1 <= bound < 2**32), by Lemire's multiply-shift
    with rejection, so no residue is favoured; the modulo runs only in the rare case
    that the low half falls below ``bound``."""
    low_mask = np.uint64(0xFFFFFFFF)
    state, z = _splitmix(state)
    m = (z >> np.uint64(32)) * bound
    if (m & low_mask) < bound:
        threshold = ((low_mask + np.uint64(1)) - bound) % bound
        while (m & low_mask) < threshold:
            state, z = _splitmix(state)
            m = (z >> np.uint64(32)) * bound
    return state, m >> np.uint64(32)


@numba.njit(cache=True, nogil=True)
def _shuffle_into(out: np.ndarray, key: np.uint64) -> None:
    """``out`` := a uniformly random permutation of 0..n-1 drawn from ``key`` (front-to-back
    Fisher-Yates: position j is final once drawn, which the fast kernel relies on)."""
    n = out.shape[0]
    for j in range(n):
        out[j] = j
    state = key
    for j in range(n - 1):
        state, r = _below(state, np.uint64(n - j))
        k = j + np.int64(r)
        tmp = out[j]
        out[j] = out[k]
        out[k] = tmp


def _trial_keys(n_trials: int, n_dims: int, seed: Any) -> np.ndarray:
    """Keys (n_trials, n_dims) uint64: the order of the k-cells in trial t comes from keys[t, k]."""
    rng = as_generator(seed)
    return rng.integers(0, 2**63, size=(n_trials, n_dims), dtype=np.int64).astype(np.uint64)


def filtration_orders(f_vector: Any, n_trials: int = 100, seed: Any = 0) -> list[list[np.ndarray]]:
    """The random orders :func:`betti_curves` uses: ``orders[t][k]`` is a permutation of
    the k-cells (int64, length ``f_vector[k]``) listing them in the order trial t adds them.

    ``f_vector`` is the number of k-cells for k = 0..d; ``seed`` as in :func:`betti_curves`.
    """
    f = check_array(f_vector, "f_vector", ndim=1, dtype=np.int64)
    if np.any(f < 0):
        raise ValueError(f"f_vector must hold counts >= 0, got {f.tolist()}")
    n_trials = check_int(n_trials, "n_trials", minimum=1)
    keys = _trial_keys(n_trials, f.shape[0], seed)
    out = []
    for t in range(n_trials):
        row = []
        for k, n in enumerate(f):
            perm = np.empty(int(n), dtype=np.int64)
            _shuffle_into(perm, keys[t, k])
            row.append(perm)
        out.append(row)
    return out


# --------------------------------------------------------------------------- fast path (d <= 3)


@numba.njit(cache=True, nogil=True, inline="always")
def _find(parent: np.ndarray, a: np.int32) -> np.int32:
    """Root of ``a``; ``parent[r] < 0`` marks a root (minus its component's size), so a
    single array serves links and sizes (one cache line per visit, not two)."""
    while parent[a] >= 0:
        p = parent[a]
        gp = parent[p]
        if gp < 0:
            return p
        parent[a] = gp  # path halving
        a = gp
    return a


@numba.njit(cache=True, nogil=True)
def _merge_counts_serial(
    packed: np.ndarray, n_nodes: int, keys: np.ndarray, merges: np.ndarray, reverse: bool, shift: int, relative: bool
) -> None:
    """Union-find over ``n_nodes`` nodes for each trial (one key each): shuffle the edges
    as :func:`_shuffle_into` shuffles their indices and add them front to back (or back
    to front with ``reverse``); ``merges[j] += 1`` when the edge at position j joins two
    components.

    ``packed[e] = u << shift | w`` holds edge e's ends (``v = w``, or ``v = u + w`` when
    ``relative``), so the shuffle moves the edge itself and one random access serves both
    the shuffle and the lookup of its ends; ``packed`` is uint32 when the ends fit (half
    the memory the shuffle walks), else int64.
    """
    n = packed.shape[0]
    parent = np.empty(n_nodes, dtype=np.int32)
    work = np.empty(n, dtype=packed.dtype)
    mask = (np.int64(1) << np.int64(shift)) - np.int64(1)
    for t in range(keys.shape[0]):
        for i in range(n_nodes):
            parent[i] = -1
        for j in range(n):
            work[j] = packed[j]
        state = keys[t]
        for step in range(n):
            if reverse:
                j = n - 1 - step
                if step == 0:  # shuffle everything first, then walk back
                    for i in range(n - 1):
                        state, r = _below(state, np.uint64(n - i))
                        k = i + np.int64(r)
                        e = work[k]
                        work[k] = work[i]
                        work[i] = e
            else:
                j = step
                if j < n - 1:
                    state, r = _below(state, np.uint64(n - j))
                    k = j + np.int64(r)
                    e = work[k]
                    work[k] = work[j]
                    work[j] = e
            e = np.int64(work[j])
            u = e >> shift
            v = (e & mask) + (u if relative else np.int64(0))
            a = _find(parent, np.int32(u))
            b = _find(parent, np.int32(v))
            if a != b:
                if parent[a] > parent[b]:  # union by size: a is the larger (sizes are negated)
                    a, b = b, a
                parent[a] += parent[b]
                parent[b] = a
                merges[j] += 1


@numba.njit(cache=True, parallel=True)
def _merge_counts_parallel(
    packed: np.ndarray, n_nodes: int, keys: np.ndarray, n_chunks: int, reverse: bool, shift: int, relative: bool
) -> np.ndarray:
    acc = np.zeros((n_chunks, packed.shape[0]), dtype=np.int64)
    n_trials = keys.shape[0]
    for c in numba.prange(n_chunks):
        lo = c * n_trials // n_chunks
        hi = (c + 1) * n_trials // n_chunks
        _merge_counts_serial(packed, n_nodes, keys[lo:hi], acc[c], reverse, shift, relative)
    return acc.sum(axis=0)


def _pack(ends: np.ndarray, n_nodes: int) -> tuple[np.ndarray, int, bool]:
    """Edges as single words for the union-find kernel: ``(packed, shift, relative)``.

    The nodes are renumbered by reverse Cuthill-McKee (which changes no merge: that
    depends on the edge order alone), which puts the ends of each edge close together;
    when every ``v - u`` then fits in 15 bits and ``u`` in 17, an edge is one uint32
    ``u << 15 | (v - u)``, else one int64 ``u << 32 | v``.
    """
    if ends.shape[0] and n_nodes < 2**17:
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        A = sp.csr_matrix((np.ones(ends.shape[0], dtype=np.int8), (ends[:, 0], ends[:, 1])), shape=(n_nodes, n_nodes))
        order = reverse_cuthill_mckee((A + A.T).tocsr(), symmetric_mode=True)
        label = np.empty(n_nodes, dtype=np.int64)
        label[order] = np.arange(n_nodes)
        lo = np.minimum(label[ends[:, 0]], label[ends[:, 1]])
        hi = np.maximum(label[ends[:, 0]], label[ends[:, 1]])
        if int((hi - lo).max()) < 2**15:
            return ((lo << 15) | (hi - lo)).astype(np.uint32), 15, True
    return (ends[:, 0].astype(np.int64) << 32) | ends[:, 1].astype(np.int64), 32, False


def _merge_counts(ends: np.ndarray, n_nodes: int, keys: np.ndarray, reverse: bool = False) -> np.ndarray:
    """Sum over trials of the merge indicators of the edges ``ends (m, 2)`` in each trial's
    order (``keys (T,)``), shape (m,) int64."""
    packed, shift, relative = _pack(ends, n_nodes)
    T = keys.shape[0]
    n_chunks = min(T, numba.get_num_threads())
    if n_chunks > 1 and packed.shape[0] * T > 1_000_000:
        return _merge_counts_parallel(packed, n_nodes, keys, n_chunks, reverse, shift, relative)
    merges = np.zeros(packed.shape[0], dtype=np.int64)
    _merge_counts_serial(packed, n_nodes, keys, merges, reverse, shift, relative)
    return merges


def _dual_edges(B_top: sp.csc_matrix, n_top: int) -> np.ndarray:
    """The dual graph of a complex of a 3-box: nodes are the 3-cells and the outside
    (node ``n_top``), one edge per 2-cell between the two sides it separates."""
    R = B_top.tocsr()  # rows: 2-cells
    deg = np.diff(R.indptr)
    if np.any((deg < 1) | (deg > 2)):
        raise ValueError("cx: a 2-cell is not on the side of one or two 3-cells; it is not a complex of a 3-box")
    first = R.indices[R.indptr[:-1]]
    second = np.where(deg == 2, R.indices[np.minimum(R.indptr[:-1] + 1, R.indices.shape[0] - 1)], n_top)
    return np.stack([first, second], axis=1).astype(np.int64)


def _fast_totals(f: np.ndarray, edges: np.ndarray, dual: np.ndarray | None, keys: np.ndarray) -> np.ndarray:
    """Sum over trials of b_0..b_d after each step, (n_cells + 1, d + 1) int64, for d <= 3
    (the top boundary map injective; for d = 3, ``dual`` the dual graph of a 3-box).

    Stages: 0-cells add components; 1-cells merge components (union-find) or close
    cycles; in d = 3 the 2-cells present after m are bounded voids by Alexander duality:
    b_2 is the number of components, less one, of the dual graph on the 3-cells and the
    outside whose edges are the 2-cells *not yet added* (a union-find walking the 2-cell
    order backwards); b_1 then follows from the Euler characteristic. Each top cell kills
    one class of the degree below, since the top boundary map is injective.
    """
    d = f.shape[0] - 1
    T = keys.shape[0]
    n = int(f.sum())
    tot = np.zeros((n + 1, d + 1), dtype=np.int64)
    n0 = int(f[0])
    tot[: n0 + 1, 0] = T * np.arange(n0 + 1, dtype=np.int64)
    if d == 0:
        return tot
    n1 = int(f[1])
    cm = np.cumsum(_merge_counts(edges, n0, keys[:, 1].copy()))
    a, b = n0 + 1, n0 + n1 + 1
    tot[a:b, 0] = T * n0 - cm
    tot[a:b, 1] = T * np.arange(1, n1 + 1, dtype=np.int64) - cm
    b0_end = T * n0 - (int(cm[-1]) if n1 else 0)
    b1_end = T * n1 - (int(cm[-1]) if n1 else 0)
    if d == 1:
        return tot
    n2 = int(f[2])
    a, b = b, b + n2
    tot[a:, 0] = b0_end
    steps = np.arange(1, n2 + 1, dtype=np.int64)
    if d == 2:
        tot[a:b, 1] = b1_end - T * steps
        return tot
    n3 = int(f[3])
    # rank[m] = rank of the dual graph on the 2-cells at positions m..n2-1 (not yet added
    # after m of them), summed over trials.
    rank = np.concatenate([np.cumsum(_merge_counts(dual, n3 + 1, keys[:, 2].copy(), reverse=True)[::-1])[::-1], [0]])
    b2 = T * n3 - rank[1:]
    tot[a:b, 2] = b2
    # Euler characteristic after m 2-cells: n0 - n1 + m = b0 - b1 + b2.
    tot[a:b, 1] = b0_end + b2 - T * (n0 - n1 + steps)
    tot[b:, 1] = tot[b - 1, 1]
    tot[b:, 2] = tot[b - 1, 2] - T * np.arange(1, n3 + 1, dtype=np.int64)
    return tot


# --------------------------------------------------------------------------- general reduction


@numba.njit(cache=True, nogil=True)
def _reduce_trial(
    f: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    offsets: np.ndarray,
    keys: np.ndarray,
    delta: np.ndarray,
) -> None:
    """One random filtration reduced over Z/2 with twist; adds its Betti-number changes
    to ``delta`` ((n_cells + 1, d + 1) int64; ``delta[p + 1, k]`` is the change in b_k
    when the cell at position p is added).

    Cells are numbered globally: k-cell c is ``offsets[k] + c``; ``indptr``/``indices``
    list the global facets of every global cell (CSR over columns).
    """
    d = f.shape[0] - 1
    n = offsets[d + 1]
    pos = np.empty(n, dtype=np.int64)  # filtration position of each global cell
    cell_at = np.empty(n, dtype=np.int64)  # global cell at each position
    dim_at = np.empty(n, dtype=np.int64)
    for k in range(d + 1):
        perm = np.empty(f[k], dtype=np.int64)
        _shuffle_into(perm, keys[k])
        for i in range(f[k]):
            p = offsets[k] + i
            c = offsets[k] + perm[i]
            pos[c] = p
            cell_at[p] = c
            dim_at[p] = k
    # Reduced columns are appended to a pool; owner[row] = position of the column whose
    # pivot (largest position) is row.
    owner = np.full(n, -1, dtype=np.int64)
    cleared = np.zeros(n, dtype=np.bool_)
    col_start = np.full(n, -1, dtype=np.int64)
    col_len = np.zeros(n, dtype=np.int64)
    pool = np.empty(max(16, indices.shape[0]), dtype=np.int64)
    pool_used = 0
    buf_a = np.empty(16, dtype=np.int64)
    buf_b = np.empty(16, dtype=np.int64)
    for k in range(d, 0, -1):
        for p in range(offsets[k], offsets[k + 1]):
            if cleared[p]:
                continue
            c = cell_at[p]
            m = indptr[c + 1] - indptr[c]
            if buf_a.shape[0] < m:
                buf_a = np.empty(2 * m, dtype=np.int64)
            for i in range(m):
                buf_a[i] = pos[indices[indptr[c] + i]]
            buf_a[:m].sort()
            la = m
            while la > 0:
                low = buf_a[la - 1]
                q = owner[low]
                if q < 0:
                    break
                s = col_start[q]
                lb = col_len[q]
                need = la + lb
                if buf_b.shape[0] < need:
                    buf_b = np.empty(2 * need, dtype=np.int64)
                # symmetric difference of two sorted lists
                i = 0
                j = 0
                o = 0
                while i < la and j < lb:
                    x = buf_a[i]
                    y = pool[s + j]
                    if x < y:
                        buf_b[o] = x
                        i += 1
                        o += 1
                    elif y < x:
                        buf_b[o] = y
                        j += 1
                        o += 1
                    else:
                        i += 1
                        j += 1
                while i < la:
                    buf_b[o] = buf_a[i]
                    i += 1
                    o += 1
                while j < lb:
                    buf_b[o] = pool[s + j]
                    j += 1
                    o += 1
                buf_a, buf_b = buf_b, buf_a
                la = o
            if la == 0:
                delta[p + 1, k] += 1  # a new k-cycle
                continue
            low = buf_a[la - 1]
            owner[low] = p
            cleared[low] = True  # twist: the column of the killed cycle's cell reduces to zero
            delta[p + 1, k - 1] -= 1
            if pool_used + la > pool.shape[0]:
                grown = np.empty(2 * (pool_used + la), dtype=np.int64)
                grown[:pool_used] = pool[:pool_used]
                pool = grown
            pool[pool_used : pool_used + la] = buf_a[:la]
            col_start[p] = pool_used
            col_len[p] = la
            pool_used += la
    # Columns cleared by the twist, and every 0-cell, reduce to zero: each is a new class.
    for p in range(n):
        k = dim_at[p]
        if k == 0 or cleared[p]:
            delta[p + 1, k] += 1


@numba.njit(cache=True, parallel=True)
def _reduce_trials_parallel(f, indptr, indices, offsets, keys, n_chunks):
    d = f.shape[0] - 1
    n = offsets[d + 1]
    acc = np.zeros((n_chunks, n + 1, d + 1), dtype=np.int64)
    T = keys.shape[0]
    for c in numba.prange(n_chunks):
        for t in range(c * T // n_chunks, (c + 1) * T // n_chunks):
            _reduce_trial(f, indptr, indices, offsets, keys[t], acc[c])
    return acc.sum(axis=0)


def _global_facets(f: np.ndarray, boundaries: list[sp.csc_matrix]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (over global cells) of global facet numbers, and the offsets of each dimension."""
    offsets = np.concatenate([[0], np.cumsum(f)]).astype(np.int64)
    counts = [np.zeros(int(f[0]), dtype=np.int64)]
    idx = []
    for k in range(1, f.shape[0]):
        B = boundaries[k]
        counts.append(np.diff(B.indptr).astype(np.int64))
        idx.append(B.indices.astype(np.int64) + offsets[k - 1])
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    indices = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
    return indptr, indices, offsets


def _reduction_totals(f: np.ndarray, boundaries: list[sp.csc_matrix], keys: np.ndarray) -> np.ndarray:
    indptr, indices, offsets = _global_facets(f, boundaries)
    d = f.shape[0] - 1
    n = int(offsets[-1])
    T = keys.shape[0]
    n_chunks = min(T, numba.get_num_threads())
    if n_chunks > 1 and n * T > 200_000:
        delta = _reduce_trials_parallel(f, indptr, indices, offsets, keys, n_chunks)
    else:
        delta = np.zeros((n + 1, d + 1), dtype=np.int64)
        for t in range(T):
            _reduce_trial(f, indptr, indices, offsets, keys[t], delta)
    return np.cumsum(delta, axis=0)


# --------------------------------------------------------------------------- entry point


def _read_complex(cx: Any) -> tuple[np.ndarray, bool]:
    """The checked f-vector of ``cx``, and whether it is a PolyhedralComplex (known
    valid and embedded in a box)."""
    from .complex import PolyhedralComplex

    if not (hasattr(cx, "f_vector") and callable(getattr(cx, "boundary", None))):
        raise TypeError(
            "cx must be a cell complex (a PolyhedralComplex, or an object with f_vector and boundary(k)); "
            f"got {type(cx).__name__}"
        )
    f = check_array(cx.f_vector, "cx.f_vector", ndim=1, dtype=np.int64)
    if np.any(f < 0):
        raise ValueError(f"cx.f_vector must hold counts >= 0, got {f.tolist()}")
    if f[0] == 0:
        raise ValueError("cx has no 0-cells: there is nothing to filter")
    if np.any(f.astype(np.float64) >= 2**31):
        raise ValueError(f"cx.f_vector: at most 2**31 - 1 cells per dimension, got {f.tolist()}")
    return f, isinstance(cx, PolyhedralComplex)


def _boundary(cx: Any, f: np.ndarray, k: int) -> sp.csc_matrix:
    """``cx.boundary(k)`` checked and reduced mod 2, as int64 CSC with sorted rows."""
    B = cx.boundary(k)
    if not sp.issparse(B):
        B = sp.csc_matrix(check_array(B, f"cx.boundary({k})", ndim=2, dtype=np.int64, allow_empty=True))
    if B.shape != (f[k - 1], f[k]):
        raise ValueError(f"cx.boundary({k}) must have shape (f_{k - 1}, f_{k}) = ({f[k - 1]}, {f[k]}), got {B.shape}")
    B = sp.csc_matrix(B, dtype=np.int64)
    B.sum_duplicates()
    B.data %= 2
    B.eliminate_zeros()
    B.sort_indices()
    return B


def _boundaries(cx: Any, f: np.ndarray, is_box: bool) -> list[sp.csc_matrix]:
    """All boundary matrices (index k: k-cells to (k-1)-cells; index 0 empty); for a
    complex other than a PolyhedralComplex, checked to square to zero mod 2."""
    out = [sp.csc_matrix((0, int(f[0])), dtype=np.int64)] + [_boundary(cx, f, k) for k in range(1, f.shape[0])]
    if not is_box:
        for k in range(2, f.shape[0]):
            BB = out[k - 1] @ out[k]
            if BB.nnz and np.any(BB.data % 2):
                raise ValueError(f"cx is not a chain complex: boundary({k - 1}) @ boundary({k}) is not 0 mod 2")
    return out


def _edges_of(B1: sp.csc_matrix) -> np.ndarray:
    """Endpoints (f1, 2) of the 1-cells of a checked boundary(1)."""
    deg = np.diff(B1.indptr)
    if np.any(deg != 2):
        bad = int(np.flatnonzero(deg != 2)[0])
        raise ValueError(
            f"cx: 1-cell {bad} has {int(deg[bad])} boundary vertices mod 2; the fast method needs exactly 2 "
            "(use method='reduction')"
        )
    return B1.indices.reshape(-1, 2).astype(np.int64)


def betti_curves(cx: Any, n_trials: int = 100, seed: Any = 0, *, method: str = "auto") -> np.ndarray:
    """Z/2 Betti numbers along random filtrations of ``cx``, averaged over ``n_trials``.

    Each trial adds all 0-cells in a random order, then all 1-cells in a random order,
    and so on up to the d-cells (:func:`filtration_orders` gives the orders).

    Parameters
    ----------
    cx
        A :class:`~nntopo.polyhedral.PolyhedralComplex`, or any object with ``f_vector``
        ((d+1,) counts) and ``boundary(k)`` (Z/2 matrix of shape (f_{k-1}, f_k), sparse or
        dense, entries taken mod 2) for k = 1..d.
    n_trials
        Number of random filtrations averaged (>= 1).
    seed
        int >= 0, ``numpy.random.Generator`` or None: the orders. Same seed, same curves,
        whichever ``method``.
    method
        ``"fast"`` (union-find and Euler characteristic; d <= 3, see the module
        docstring), ``"reduction"`` (Z/2 boundary-matrix reduction with twist; any d) or
        ``"auto"``: ``"fast"`` for a PolyhedralComplex of d <= 3 and any complex of
        d <= 1, ``"reduction"`` otherwise. ``"fast"`` on a 2-complex that is not a
        PolyhedralComplex first checks that its top boundary map is injective (one
        reduction); on such a 3-complex it is refused.

    Returns
    -------
    numpy.ndarray
        float64, shape (n_cells + 1, d + 1): row i holds the mean of b_0..b_d after i cells
        have been added (row 0 is all zeros; on a complex of a box the last row is
        (1, 0, ..., 0)). The share of cells added at row i is ``i / n_cells``.
    """
    n_trials = check_int(n_trials, "n_trials", minimum=1)
    method = check_choice(method, "method", METHODS)
    f, is_box = _read_complex(cx)
    d = f.shape[0] - 1
    n = int(f.sum())
    check_allocation(8.0 * (n + 1) * (d + 1) * 3, "the Betti curves")
    keys = _trial_keys(n_trials, d + 1, seed)
    if method == "auto":
        method = "fast" if d <= 1 or (d <= 3 and is_box) else "reduction"
    if method == "fast" and d > 3:
        raise ValueError(f"method='fast' needs a complex of dimension <= 3; cx has dimension {d}")
    if method == "fast" and d == 3 and not is_box:
        raise ValueError("method='fast' in dimension 3 needs a PolyhedralComplex (a complex of a box)")
    # A PolyhedralComplex on the fast path needs no boundary matrix below the top one.
    boundaries = None if (method == "fast" and is_box) else _boundaries(cx, f, is_box)
    if method == "fast":
        if d == 2 and not is_box:
            probe = _reduction_totals(f, boundaries, keys[:1])
            if probe[-1, 2] != 0:
                raise ValueError(
                    f"method='fast' needs b_2 = 0 (an injective top boundary map); cx has b_2 = {probe[-1, 2]}: "
                    "use method='reduction'"
                )
        if d == 0:
            edges = np.zeros((0, 2), dtype=np.int64)
        else:
            edges = np.asarray(cx.edges, dtype=np.int64) if is_box else _edges_of(boundaries[1])
        dual = _dual_edges(_boundary(cx, f, 3), int(f[3])) if d == 3 else None
        totals = _fast_totals(f, edges, dual, keys)
    else:
        totals = _reduction_totals(f, boundaries, keys)
    logger.debug("betti_curves: f=%s, %d trials, method=%s", f.tolist(), n_trials, method)
    return totals / float(n_trials)


# --------------------------------------------------------------------------- summaries and sampling


def _check_curves(curves: Any) -> np.ndarray:
    c = check_array(curves, "curves", ndim=2)
    if c.shape[0] < 2 or c.shape[1] < 1:
        raise ValueError(f"curves must have shape (n_cells + 1, d + 1) with n_cells >= 1, got {c.shape}")
    return c


def curves_to_xarray(curves: Any) -> xr.DataArray:
    """Betti curves as a DataArray with dims ``("cells_added", "degree")``.

    Coordinates: ``cells_added`` = 0..n_cells, ``degree`` = 0..d, and ``share`` (on
    ``cells_added``) = cells_added / n_cells, the share of cells added in [0, 1].
    """
    c = _check_curves(curves)
    n = c.shape[0] - 1
    cells = np.arange(n + 1, dtype=np.int64)
    return xr.DataArray(
        c,
        dims=("cells_added", "degree"),
        coords={"cells_added": cells, "degree": np.arange(c.shape[1]), "share": ("cells_added", cells / n)},
        name="betti",
        attrs={"n_cells": n},
    )


def betti_summary(curves: Any) -> xr.Dataset:
    """Where each averaged Betti curve peaks, and how high.

    For each degree k (dim ``degree``): ``peak_cells`` (int64, the first number of cells
    added at which b_k reaches its maximum), ``peak_share`` (that number over n_cells, in
    [0, 1]) and ``peak_value`` (the maximum of the mean b_k). The attrs hold ``n_cells``
    and the paper's critical filtration value, where b_1 peaks: ``critical_share`` and
    ``critical_cells`` (NaN and -1 when d = 0).
    """
    c = _check_curves(curves)
    n = c.shape[0] - 1
    arg = np.argmax(c, axis=0).astype(np.int64)
    peak = c[arg, np.arange(c.shape[1])]
    ds = xr.Dataset(
        {
            "peak_cells": ("degree", arg),
            "peak_share": ("degree", arg / n),
            "peak_value": ("degree", peak),
        },
        coords={"degree": np.arange(c.shape[1])},
        attrs={"n_cells": n},
    )
    ds.attrs["critical_cells"] = int(arg[1]) if c.shape[1] > 1 else -1
    ds.attrs["critical_share"] = float(arg[1] / n) if c.shape[1] > 1 else float("nan")
    return ds


def sample_curves(curves: Any, cells: Any) -> np.ndarray:
    """The curves after ``cells`` cells were added: shape (len(cells), d + 1).

    ``cells`` is a 1-D array of integers >= 0; a count beyond n_cells gives NaN (the
    complex has no such stage), which is what a heat map over several complexes against
    a common cell count shows as empty.
    """
    c = _check_curves(curves)
    at = check_array(cells, "cells", ndim=1, dtype=np.int64, allow_empty=True)
    if at.size and at.min() < 0:
        raise ValueError(f"cells must be >= 0, got {int(at.min())}")
    out = np.full((at.shape[0], c.shape[1]), np.nan)
    ok = at < c.shape[0]
    out[ok] = c[at[ok]]
    return out


def sample_curves_share(curves: Any, shares: Any) -> np.ndarray:
    """The curves at shares of cells added (1-D, each in [0, 1]): shape (len(shares), d + 1).

    The curves are step functions of the number of cells added; a share s reads the row
    ``floor(s * n_cells)`` (the stage reached once that share of the cells is in).
    """
    c = _check_curves(curves)
    s = check_array(shares, "shares", ndim=1, allow_empty=True)
    if s.size and (s.min() < 0 or s.max() > 1):
        raise ValueError(f"shares must lie in [0, 1], got values in [{s.min():g}, {s.max():g}]")
    n = c.shape[0] - 1
    x = s * n
    row = np.floor(x)
    # s = i / n may come back from the division a rounding below i: take the next row then.
    row[row + 1 - x <= 4 * np.finfo(np.float64).eps * np.maximum(x, 1.0)] += 1
    return c[row.astype(np.int64).clip(0, n)]


def betti_heatmap(share_curves: Any, n_cells: Any, n_rows: int = 256) -> np.ndarray:
    """Betti curves of several complexes (e.g. one per training epoch) against the cells
    added divided by the largest complex's cell count (the paper's Figure 5).

    ``share_curves`` (S, G, d + 1): each complex's curves read at G >= 2 evenly spaced
    shares 0..1 (:func:`sample_curves_share` with ``np.linspace(0, 1, G)``); ``n_cells``
    (S,) the complexes' cell counts (ints >= 1). Row j of the result is
    ``y = j / (n_rows - 1)`` of ``M = max(n_cells)`` cells: complex s reads its grid at
    share ``y M / n_cells[s]`` (the nearest grid point), and NaN once ``y M``
    exceeds its own count. Returns (n_rows, S, d + 1) float64.

    The share is read at the nearest grid point, so a complex of n cells is read to
    within ``n / (2 (G - 1))`` cells; exactly when ``G - 1`` is a multiple of every
    ``n_cells`` (a grid finer than the complexes makes the error below one cell).
    """
    c = check_array(share_curves, "share_curves", ndim=3, finite=False)
    if c.shape[1] < 2 or c.shape[0] < 1 or c.shape[2] < 1:
        raise ValueError(f"share_curves must have shape (S >= 1, G >= 2, d + 1), got {c.shape}")
    n = check_array(n_cells, "n_cells", shape=(c.shape[0],), dtype=np.int64)
    if n.min() < 1:
        raise ValueError(f"n_cells must be >= 1, got {int(n.min())}")
    n_rows = check_int(n_rows, "n_rows", minimum=2)
    G = c.shape[1]
    cells = np.arange(n_rows) / (n_rows - 1) * float(n.max())  # (n_rows,)
    share = cells[:, None] / n[None, :]  # (n_rows, S)
    inside = share <= 1.0 + 1e-12
    idx = np.rint(np.minimum(share, 1.0) * (G - 1)).astype(np.int64)
    out = c[np.arange(c.shape[0])[None, :], idx]  # (n_rows, S, d + 1)
    out[~inside] = np.nan
    return out
