"""Local-homology Rips persistence without the far clique: the apex filtration.

A local-homology distance matrix (:func:`normalize_local`) sets every distance between
two *far* points (norm >= median) to 0, so the far set F is a clique of zero-length
edges. Its ~|F|^3 / 6 triangles, all at scale 0, are what made the full computation
hang (|F| = 1,976 is 1.3e9 triangles). This module computes the same diagrams from a
filtration with a single vertex in place of F.

The apex filtration (exact)
---------------------------
Let V = N + F, with D[p, q] = 0 for p, q in F, and VR_r the Rips complex of D. Put
``a(s) = min over p in F of max over x in s of D[x, p]`` for a simplex s of N
(a(empty) = 0). The apex filtration K on N + {*} has

* every simplex s of N at ``diam(s)`` (the Rips simplices of N), and
* ``s + {*}`` at ``max(diam(s), a(s))``.

K_r is a simplicial complex (a is monotone under taking faces) and grows with r.

  Claim. For every r the map f: V -> N + {*}, identity on N and F -> *, is a
  simplicial map VR_r -> K_r and a homotopy equivalence; the f_r commute with the
  inclusions, so VR and K have the same persistence diagrams in every degree.

  Proof. A simplex s + T of VR_r (s in N, T in F nonempty) has diam <= r, so
  diam(s) <= r and, for any p in T, max over x in s of D[x, p] <= r, hence a(s) <= r
  and f(s + T) = s + {*} is in K_r. By Quillen's fiber lemma it is enough that the
  preimage of every closed simplex of K_r is contractible. The preimage of s (no
  apex) is the full simplex s. The preimage of s + {*} is the full subcomplex of VR_r
  on s + F (VR_r is a flag complex); a far point p0 attaining a(s) is within r of
  every x in s (D[x, p0] = max <= a(s) <= r) and at 0 from every other far point, so
  p0 is joined to every vertex: the subcomplex is a cone on p0, contractible. The
  same f serves every r, so the maps commute with the inclusions.

Only simplices of dimension <= 2 matter for H0 and H1; they are the vertices, the
edges ``xy`` at ``D[x, y]`` and ``x*`` at ``a(x)``, the triangles ``xyz`` at their
diameter and ``xy*`` at ``max(D[x, y], a2(x, y))`` with
``a2(x, y) = min over p of max(D[x, p], D[y, p])``. K is not a flag complex (``xy*``
can come after its three edges), so it is reduced here by a Z/2 persistent
*cohomology* reduction of its own (the standard algorithm, run like Ripser: columns
are the edges in decreasing filtration order, the coboundary of an edge is
enumerated on the fly, edges that kill an H0 class are cleared, and a column whose
first coface has the edge's own value and is not yet a pivot is paired at once).
a2 is computed lazily, only for the pairs whose apex triangle is looked at.

Computing a2 (exact): with F sorted by distance from x and from y, walk both lists in
turn, keeping ``ub = min max(D[x, p], D[y, p])`` over the far points seen; stop when
either list reaches a far point at distance >= ub. A minimiser p* has
``D[x, p*] <= a2 <= ub`` and ``D[y, p*] <= a2``, so it lies before the stopping point
of either list and has been seen: ub = a2. (The walk also stops once ``ub <=
D[x, y]``, where the triangle's value is ``D[x, y]`` whatever a2 is, and past the
truncation threshold, where the triangle is absent.)

Persistence of K truncated at tau is that of K restricted to [0, tau] (the truncation
argument of :mod:`nntopo.landscapes.rips`), and VR is a cone from the cone radius of D
on, so the certified threshold of D applies to K unchanged.
"""

from __future__ import annotations

import heapq
import math

import numba
import numpy as np
from numba import types
from numba.typed import Dict

__all__ = ["ApexFiltration", "apex_diagrams", "use_apex", "zero_clique"]


# --------------------------------------------------------------- the far clique
def zero_clique(D: np.ndarray) -> np.ndarray:
    """Indices of the largest set of >= 3 points pairwise at distance 0 that is a
    connected component of the zero-distance graph (empty if there is none)."""
    Z = D == 0.0
    deg = Z.sum(axis=1) - 1  # the diagonal is 0
    cand = np.flatnonzero(deg > 0)
    if cand.size < 3:
        return np.empty(0, dtype=np.int64)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    sub = Z[np.ix_(cand, cand)]
    _, labels = connected_components(csr_matrix(sub), directed=False)
    best = np.empty(0, dtype=np.int64)
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        if members.size <= max(best.size, 2):
            continue
        if sub[np.ix_(members, members)].all():
            best = cand[members]
    return best


def use_apex(n: int, n_far: int) -> bool:
    """Whether collapsing a zero clique of ``n_far`` of the ``n`` points pays.

    The clique alone holds ``C(n_far, 2)`` zero-length edges whose cofaces every Rips
    backend enumerates (and ``C(n_far, 3)`` zero triangles); the apex filtration has
    ``n - n_far + 1`` vertices instead. It pays once the clique's edges outnumber the
    points, when the clique dominates the work; below that the backends' compiled C++
    beats this module's reduction on the rest of the matrix.
    """
    return n_far >= 3 and n_far * (n_far - 1) // 2 >= n


# ------------------------------------------------------------------- kernels
@numba.njit(cache=True)
def _a2(x, y, floor, tau, DNF, order, memo):  # pragma: no cover - compiled
    """max(floor, a2(x, y)) if <= tau, else some value > tau (memoised per pair)."""
    if x > y:
        x, y = y, x
    v = memo[x, y]
    if v >= 0.0:
        return v
    f = DNF.shape[1]
    p = order[x, 0]
    ub = max(DNF[x, p], DNF[y, p])
    p = order[y, 0]
    c = max(DNF[x, p], DNF[y, p])
    if c < ub:
        ub = c
    i = 1
    j = 1
    while ub > floor:
        if i >= f:
            break
        p = order[x, i]
        d = DNF[x, p]
        if d >= ub or d > tau:
            break
        c = max(d, DNF[y, p])
        if c < ub:
            ub = c
        i += 1
        if ub <= floor or j >= f:
            break
        p = order[y, j]
        d = DNF[y, p]
        if d >= ub or d > tau:
            break
        c = max(DNF[x, p], d)
        if c < ub:
            ub = c
        j += 1
    v = max(ub, floor)
    memo[x, y] = v
    return v


@numba.njit(cache=True)
def _tri_value(a, b, c, E, apex, tau, DNF, order, memo):  # pragma: no cover - compiled
    """Filtration value of the triangle a < b < c (c == apex for an apex triangle)."""
    if c == apex:
        return _a2(a, b, E[a, b], tau, DNF, order, memo)
    v = E[a, b]
    if E[a, c] > v:
        v = E[a, c]
    if E[b, c] > v:
        v = E[b, c]
    return v


@numba.njit(cache=True)
def _tri_key(a, b, c):  # pragma: no cover - compiled
    # colex rank of a < b < c: increasing in c, then b, then a
    return c * (c - 1) * (c - 2) // 6 + b * (b - 1) // 2 + a


@numba.njit(cache=True)
def _add_vertex(x, y, z):  # pragma: no cover - compiled
    # the triangle {x, y, z} as a < b < c, for an edge x < y and a third vertex z
    if z < x:
        return z, x, y
    if z < y:
        return x, z, y
    return x, y, z


@numba.njit(cache=True)
def _push_coboundary(heap, x, y, E, apex, tau, DNF, order, memo):  # pragma: no cover - compiled
    nv = E.shape[0]
    for z in range(nv):
        if z == x or z == y:
            continue
        # an apex triangle's value is >= its edges' too (a2 >= a(x), a(y))
        if E[x, z] > tau or E[y, z] > tau:
            continue
        a, b, c = _add_vertex(x, y, z)
        v = _tri_value(a, b, c, E, apex, tau, DNF, order, memo)
        if v <= tau:
            heapq.heappush(heap, (v, _tri_key(a, b, c)))


@numba.njit(cache=True)
def _pop_pivot(heap):  # pragma: no cover - compiled
    """The smallest entry of odd multiplicity (left in the heap), or (-1, -1)."""
    while len(heap) > 0:
        top = heapq.heappop(heap)
        if len(heap) > 0 and heap[0][1] == top[1]:
            heapq.heappop(heap)
            continue
        heapq.heappush(heap, top)
        return top
    return (-1.0, np.int64(-1))


@numba.njit(cache=True)
def _find(parent, a):  # pragma: no cover - compiled
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@numba.njit(cache=True)
def _reduce(E, ex, ey, ev, apex, tau, DNF, order, maxdim):  # pragma: no cover - compiled
    """H0 and H1 bars of the apex filtration truncated at tau.

    Edges (ex, ey, ev) are sorted by (value, key). Returns (h0 deaths, h1 births, h1
    deaths), deaths np.inf for classes alive at tau (H0: the extra components).
    """
    nv = E.shape[0]
    ne = ex.shape[0]
    parent = np.arange(nv)
    killer = np.zeros(ne, dtype=np.uint8)
    h0 = []
    for e in range(ne):
        a = _find(parent, ex[e])
        b = _find(parent, ey[e])
        if a != b:
            parent[a] = b
            killer[e] = 1
            h0.append(ev[e])
    roots = 0
    for v in range(nv):
        if parent[v] == v:
            roots += 1
    for _ in range(roots):
        h0.append(np.inf)
    b1 = []
    d1 = []
    if maxdim < 1:
        return np.array(h0), np.array(b1, dtype=np.float64), np.array(d1, dtype=np.float64)

    m = apex
    memo = np.full((m, m), -1.0)
    pivots = Dict.empty(key_type=types.int64, value_type=types.int64)
    vstore = Dict.empty(key_type=types.int64, value_type=types.int64[:])
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for e in range(ne - 1, -1, -1):
        if killer[e]:
            continue
        x = ex[e]
        y = ey[e]
        v = ev[e]
        # Emergent pair: cofaces are enumerated in increasing key order, so the first
        # one at the edge's own value is the column's pivot.
        t_key = np.int64(-1)
        for z in range(nv):
            if z == x or z == y:
                continue
            if E[x, z] > v or E[y, z] > v:
                continue
            a, b, c = _add_vertex(x, y, z)
            if _tri_value(a, b, c, E, apex, tau, DNF, order, memo) == v:
                t_key = _tri_key(a, b, c)
                break
        if t_key >= 0 and t_key not in pivots:
            pivots[t_key] = e
            continue
        # General column: the coboundary of the working sum of edges, in a heap.
        work = [e]
        _push_coboundary(heap, x, y, E, apex, tau, DNF, order, memo)
        while True:
            top = _pop_pivot(heap)
            if top[1] < 0:
                b1.append(v)
                d1.append(np.inf)
                break
            j = np.int64(-1)
            if top[1] in pivots:
                j = pivots[top[1]]
            if j < 0:
                pivots[top[1]] = e
                cols = np.array(work, dtype=np.int64)
                if cols.size > 1:
                    cols = np.sort(cols)
                    keep = np.ones(cols.size, dtype=np.bool_)
                    k = 0
                    while k < cols.size:
                        r = k
                        while r < cols.size and cols[r] == cols[k]:
                            r += 1
                        if (r - k) % 2 == 0:
                            keep[k:r] = False
                        else:
                            keep[k + 1 : r] = False
                        k = r
                    vstore[e] = cols[keep]
                if top[0] > v:
                    b1.append(v)
                    d1.append(top[0])
                break
            if j in vstore:
                add = vstore[j]
                for k in range(add.size):
                    work.append(add[k])
                    _push_coboundary(heap, ex[add[k]], ey[add[k]], E, apex, tau, DNF, order, memo)
            else:
                work.append(j)
                _push_coboundary(heap, ex[j], ey[j], E, apex, tau, DNF, order, memo)
        heap.clear()
    return np.array(h0), np.array(b1, dtype=np.float64), np.array(d1, dtype=np.float64)


@numba.njit(cache=True)
def _edges(E, tau):  # pragma: no cover - compiled
    n = E.shape[0]
    cnt = 0
    for i in range(n):
        for j in range(i + 1, n):
            if E[i, j] <= tau:
                cnt += 1
    ex = np.empty(cnt, dtype=np.int64)
    ey = np.empty(cnt, dtype=np.int64)
    ev = np.empty(cnt, dtype=np.float64)
    key = np.empty(cnt, dtype=np.int64)
    k = 0
    for j in range(n):
        for i in range(j):
            if E[i, j] <= tau:
                ex[k] = i
                ey[k] = j
                ev[k] = E[i, j]
                key[k] = j * (j - 1) // 2 + i
                k += 1
    return ex, ey, ev, key


# ------------------------------------------------------------------ interface
class ApexFiltration:
    """The apex filtration of a distance matrix and a zero clique ``far`` (indices).

    Builds the (m + 1) x (m + 1) matrix of the near points plus the apex (last row:
    ``a(x)``) and the far points sorted by distance from each near point; memory
    ``(m + 1)^2 * 8 + m * |F| * 12`` bytes.
    """

    def __init__(self, D: np.ndarray, far: np.ndarray) -> None:
        n = D.shape[0]
        mask = np.zeros(n, dtype=bool)
        mask[far] = True
        near = np.flatnonzero(~mask)
        m = near.size
        self.near = near
        self.far = np.asarray(far, dtype=np.int64)
        self.DNF = np.ascontiguousarray(D[np.ix_(near, far)])
        self.order = np.argsort(self.DNF, axis=1, kind="stable").astype(np.int32)
        E = np.empty((m + 1, m + 1))
        E[:m, :m] = D[np.ix_(near, near)]
        a = self.DNF[np.arange(m), self.order[:, 0]] if m else np.empty(0)
        E[:m, m] = a
        E[m, :m] = a
        E[m, m] = 0.0
        self.E = E
        self.m = m

    def diagrams(self, maxdim: int, tau: float) -> list[np.ndarray]:
        """H0..H_maxdim (maxdim <= 1) of the filtration truncated at ``tau`` (inf: whole)."""
        t = float(tau) if math.isfinite(tau) else float(np.inf)
        ex, ey, ev, key = _edges(self.E, t)
        order = np.lexsort((key, ev))
        ex, ey, ev = ex[order], ey[order], ev[order]
        h0, b1, d1 = _reduce(self.E, ex, ey, ev, self.m, t, self.DNF, self.order, maxdim)
        out = [np.column_stack([np.zeros(h0.size), h0])]
        if maxdim >= 1:
            out.append(np.column_stack([b1, d1]))
        return out


def apex_diagrams(D: np.ndarray, far: np.ndarray, maxdim: int, tau: float = math.inf) -> list[np.ndarray]:
    """Rips diagrams (H0, H1) of ``D`` truncated at ``tau``, ``far`` a zero clique of D.

    Equal to the diagrams of the Rips filtration of D itself (module docstring). Raw
    rows (birth, death), not sorted, zero-length bars included.
    """
    if maxdim > 1:
        raise ValueError(f"maxdim: the apex filtration is implemented for maxdim <= 1, got {maxdim}")
    return ApexFiltration(D, far).diagrams(maxdim, tau)

