"""Edge subdivision generalised to cells of every dimension (the construction behind
:func:`nntopo.polyhedral.polyhedral_complex`).

State of the complex during the construction
--------------------------------------------
* 0-cells: one row per vertex in ``X (nV, d + 5)``: coordinates, error bounds ``P, G, M``
  and a flag ``F`` (below), and the box facets it lies on as a bit mask (bit ``2i`` for
  ``x_i = lo_i``, ``2i + 1`` for ``x_i = hi_i``; a vertex made on an edge lies on the
  facets both ends lie on: its coordinate may round to a facet's without); per-neuron sign rows ``ST (N, capacity) int8``
  (row g is written when neuron g cuts) and, for vertices made by a cut, their parents
  and birth neuron, from which the vertex sign matrix ``(nV, N)`` is assembled at the end;
* 1-cells: endpoints ``E (nE, 2)``;
* k-cells, 2 <= k <= d: incidence pairs ``(cell, facet)`` in two int64 arrays;
* the current layer's pre-activations at all vertices ``Zt (n_l, capacity)``.
All arrays are over-allocated and grown geometrically, never re-stacked per neuron.

Units
-----
The construction runs on a sign-equivalent copy of the network (:func:`normalize_network`):
input coordinates divided by a power of two so that the box lies in ``[-1, 1]^d``, each
hidden neuron divided by the power of two that brings its largest coefficient into
``[0.5, 1)``. ReLU is positively homogeneous and a power of two commutes with rounding,
so the copy has the same signs, bit for bit the same floating-point decisions, and no
overflow; weights scaled by ``2**k`` give the same complex. Results are scaled back.

One cut by a neuron (the hyperplane ``H = {z = 0}`` of that neuron)
------------------------------------------------------------------
Neuron n of layer l is affine on every cell once all neurons of layers < l have cut, so
(i) its values at the vertices follow from theirs: at the start of a layer they come
from the previous layer's values at the vertices (ReLU, then the Linear map; the
pre-activation is continuous, so a vertex on an earlier hyperplane is no exception), and
a vertex made later in the same layer gets them by linear interpolation along its edge;
(ii) on each cell ``H`` is a hyperplane section of a convex polytope, and the signs of
``z`` at the vertices decide it.

Each vertex gets a status: 1 (+ side), 2 (- side) or 0 (on ``H``); a cell's status is the
OR of its facets' statuses (= the OR over its vertices): 3 means it is split. Working
upwards in dimension:

* a split edge ``(p, q)`` (p on the + side) becomes ``(p, v)`` (keeps its index, the +
  piece) and ``(v, q)`` (new, the - piece), with the new vertex ``v`` on ``H``, found by
  linear interpolation of ``z``; ``v`` is the edge's zero piece ``F0``;
* a split k-cell ``C`` (k >= 2) keeps its index for ``C+``, gets a new ``C-`` and a new
  (k-1)-cell ``C0 = C ∩ H``. Its facets are dealt out: a split facet ``F`` gives ``F+`` to
  ``C+`` and ``F-`` to ``C-``; an unsplit facet goes to the side of its nonzero vertices
  (a split cell has no facet inside ``H``, by convexity); ``C0`` goes to both. The
  boundary of ``C0`` is ``{F0 : F split}`` plus the (k-2)-faces of ``C`` lying inside ``H``
  (only in degenerate position, when ``H`` passes through existing vertices).

These rules are the face lattice of ``C ∩ {z >= 0}``, ``C ∩ {z <= 0}`` and ``C ∩ H`` for a
convex polytope ``C`` and a hyperplane through its interior, so by induction over the cuts
the result is the polyhedral complex whose cells are the closures of the sign classes in
the box, provided every vertex status is the sign of ``z`` at the exact vertex. A split
polygon must have exactly two cut points and a split cell no facet in ``H``; otherwise
:class:`DegenerateCutError` is raised before anything changes, and the caller rebuilds.

Sign vectors of vertices are combinatorial: a vertex made on edge ``(a, b)`` by neuron g
takes ``sign(S[a] + S[b])`` for earlier neurons (the open edge lies strictly on one side
of every earlier hyperplane that does not contain it) and 0 for g; a cell's sign is the
common nonzero sign of its vertices, 0 if all vanish.

How each vertex status is decided (why the complex is exact)
------------------------------------------------------------
Computed values ``z`` differ from the exact values at the exact vertices by rounding,
which is relative to the size of the numbers they were computed from, not to ``|z|``:
a vertex near the centre of a box of side 1e10, interpolated between points 1e10 away,
is off by about ``1e10 u`` (``u = 2**-53``). So a status is decided in three tiers:

1. Filter (every vertex, one comparison). ``z`` is trusted when ``|z|`` exceeds
   ``trust * min(scale_n, lip_n M + beta_n)`` plus ``KAPPA (lip_n P + beta_n G)``:
   ``scale_n = |W_n| max|h| + |b_n|`` bounds the terms the pre-activation sums over the
   box, ``lip_n M + beta_n`` those at any point of size ``M``, the largest size of the
   vertices this one was interpolated from (:func:`error_constants` gives ``lip`` and
   ``beta``); ``P`` (position, input units) and ``G`` (relative) carry the rounding of
   recomputed vertices and of each interpolation and layer through the construction.
   ``trust = 1e-10`` is about ``5e5 u``: the growth of rounding errors along chains of
   interpolations, which these bounds do not follow (their worst case grows
   geometrically, and is never approached), stays far below it.
2. Recomputed vertex. A vertex the filter does not trust is recomputed from its
   defining constraints (:meth:`_State._refine`: the zeros of its sign vector and the box
   facets it lies on, solved on the affine maps of the cells around it), which makes its
   error relative to its own size, and its values are recomputed by a forward pass with
   a running error bound (:meth:`_State._resolve`). The sign is kept where ``|z|``
   clears ``KAPPA`` times that bound plus the merge band ``tol * T`` (``T = |W_n| |h| +
   |b_n|`` at the vertex); a value certainly inside the band is 0.
3. Exact. Otherwise the vertex is solved in rational arithmetic and the network run in
   integers there (:func:`exact_value`); its exact value against the band decides.

So every status outside the merge band is the exact sign, and a status inside it puts
``H`` through the vertex (its value is then written as exactly 0, so later layers see the
vertex on ``H``). The band is relative to the local ``T`` and the default ``tol`` is a
few units of roundoff: it merges only what float64 vertices cannot tell apart. A larger
``tol`` moves a hyperplane by up to ``tol * T`` at a vertex, which far out in a large box
is far in absolute terms, and merges made at different vertices need not agree: a cut
that comes out inconsistent raises :class:`DegenerateCutError` and the caller rebuilds
with a finer ``tol`` (and a wider trust band, should the filter have trusted a value it
should not have).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from math import gcd

import numba
import numpy as np

logger = logging.getLogger("nntopo")

INT = np.int64


class DegenerateCutError(RuntimeError):
    """A cut's vertex signs are not those of an affine function on a convex cell."""


# --------------------------------------------------------------------------- storage


class _Grow:
    """A 1-D or 2-D array with a used length ``n`` that grows geometrically along axis 0."""

    __slots__ = ("a", "n")

    def __init__(self, arr: np.ndarray, n: int) -> None:
        self.a = arr
        self.n = n

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > self.a.shape[0]:
            cap = max(need, 2 * self.a.shape[0], 16)
            new = np.empty((cap,) + self.a.shape[1:], dtype=self.a.dtype)
            new[: self.n] = self.a[: self.n]
            self.a = new

    @property
    def view(self) -> np.ndarray:
        return self.a[: self.n]


# --------------------------------------------------------------------------- kernels


@numba.njit(cache=True)
def _edge_status(st_v, E, nE):  # pragma: no cover - compiled
    """Status of the edges (OR of their ends' bits) and the list of split edges."""
    st_e = np.empty(nE, np.uint8)
    for e in range(nE):
        st_e[e] = st_v[E[e, 0]] | st_v[E[e, 1]]
    return st_e, _split_cells(st_e)


@numba.njit(cache=True)
def _vertex_status(z, nV, thr_hi, lip, beta, scale, kappa, trust, X, d, srow, E, nE):  # pragma: no cover - compiled
    """Status bits of the vertices for one neuron, the vertices whose sign is uncertain,
    and, when there are none, the status of the edges and the split edges.

    ``z`` holds the neuron's computed values, ``thr_hi`` a bound on every vertex's
    threshold (one comparison settles almost every vertex); otherwise the vertex's own
    threshold ``kappa (lip P + beta G) + trust min(scale, lip M + beta)`` is used, with
    ``P, G, M`` the bounds in columns ``d, d + 1, d + 2`` of the vertex rows ``X``.
    Settled vertices get 1 (+ side) or 2 (- side) and their sign in ``srow``; uncertain
    ones get 4 and 0 in ``srow`` until the caller resolves them.
    Returns ``(st_v, n_pos, n_neg, uncertain, st_e, split_edges)``; the last two are empty
    when some vertex is uncertain or no edge can be split (all on one side).
    """
    st_v = np.empty(nV, np.uint8)
    npos = 0
    nneg = 0
    for v in range(nV):  # branch-free, so that it vectorises
        x = z[v]
        p = x > thr_hi
        q = x < -thr_hi
        st_v[v] = np.uint8(p) + np.uint8(2) * np.uint8(q)
        srow[v] = np.int8(p) - np.int8(q)
        npos += p
        nneg += q
    nunc = 0
    if npos + nneg < nV:  # the vertices within thr_hi: their own thresholds
        for v in range(nV):
            if st_v[v] != 0:
                continue
            x = z[v]
            thr = kappa * (lip * X[v, d] + beta * X[v, d + 1]) + trust * min(scale, lip * X[v, d + 2] + beta)
            if x > thr:
                st_v[v] = 1
                srow[v] = 1
                npos += 1
            elif x < -thr:
                st_v[v] = 2
                srow[v] = -1
                nneg += 1
            else:
                st_v[v] = 4
                nunc += 1
    unc = np.empty(nunc, np.int64)
    i = 0
    if nunc:
        for v in range(nV):
            if st_v[v] == 4:
                unc[i] = v
                i += 1
    if nunc or npos == 0 or nneg == 0:
        return st_v, npos, nneg, unc, np.empty(0, np.uint8), np.empty(0, np.int64)
    st_e, se = _edge_status(st_v, E, nE)
    return st_v, npos, nneg, unc, st_e, se


@numba.njit(cache=True)
def _split_cells(st):  # pragma: no cover - compiled
    """Indices of the cells whose status has both sides (bits 1 and 2: value 3)."""
    ns = 0
    for c in range(st.shape[0]):
        if st[c] == 3:
            ns += 1
    out = np.empty(ns, np.int64)
    i = 0
    for c in range(st.shape[0]):
        if st[c] == 3:
            out[i] = c
            i += 1
    return out


@numba.njit(cache=True)
def _or_status(inc_c, inc_f, m, st_f, n_c):  # pragma: no cover - compiled
    """Status of each k-cell (OR of its facets' status bits) and the list of split cells."""
    st = np.zeros(n_c, np.uint8)
    for p in range(m):
        st[inc_c[p]] |= st_f[inc_f[p]]
    return st, _split_cells(st)


@numba.njit(cache=True)
def _count_split_pairs(inc_c, inc_f, m, st_c, st_f):  # pragma: no cover - compiled
    """Number of (split cell, split facet) pairs, and of (split cell, all-zero facet) pairs."""
    n = 0
    bad = 0
    for p in range(m):
        if st_c[inc_c[p]] == 3:
            s = st_f[inc_f[p]]
            if s == 3:
                n += 1
            elif s == 0:
                bad += 1
    return n, bad


@numba.njit(cache=True)
def _split_polygons(inc_c, inc_f, m, st_c, st_e, E, st_v, cmin, fmin, f0, check_zero, ends, q):  # pragma: no cover
    """k = 2 in one pass over the (polygon, edge) pairs.

    Deals the edges of each split polygon ``C`` to ``C+`` (keeps the index) and ``C-``
    (``cmin[c]``), appending the pairs ``(C-, F-)`` from position ``q`` (the caller
    reserved two per split polygon), and finds the two endpoints of the cut edge ``C0``:
    the new vertices ``f0`` of its split edges and, in degenerate position, its vertices
    lying on ``H`` (a convex polygon cut by a line has exactly two such points).
    Row ``cmin[c] - n_old`` of ``ends`` receives them. Returns ``(q, ok)``; after
    ``ok == False`` the state is void and the caller starts again.
    """
    nsc = ends.shape[0]
    n_old = st_c.shape[0]
    cnt = np.zeros(nsc, np.int64)
    ok = True
    for p in range(m):
        c = inc_c[p]
        if st_c[c] != 3:
            continue
        cm = cmin[c]
        i = cm - n_old
        f = inc_f[p]
        s = st_e[f]
        if s == 3:
            if cnt[i] >= 2:
                ok = False
                continue
            ends[i, cnt[i]] = f0[f]
            cnt[i] += 1
            inc_c[q] = cm
            inc_f[q] = fmin[f]
            q += 1
            continue
        if s == 0:
            ok = False  # an edge of a split polygon inside H: impossible for a convex cell
            continue
        if s == 2:
            inc_c[p] = cm
        if check_zero:
            for t in range(2):
                u = E[f, t]
                if st_v[u] != 0:
                    continue
                if cnt[i] >= 1 and ends[i, 0] == u:
                    continue
                if cnt[i] >= 2:
                    if ends[i, 1] != u:
                        ok = False
                    continue
                ends[i, cnt[i]] = u
                cnt[i] += 1
    for i in range(nsc):
        if cnt[i] != 2:
            ok = False
    return q, ok


@numba.njit(cache=True)
def _split_pairs(inc_c, inc_f, m, st_c, st_f, cmin, fmin, f0, c0, q, low_c, low_f, r):  # pragma: no cover
    """k >= 3: deal the facets of split k-cells to ``C+``/``C-`` and record ``(C0, F0)``.

    New k-level pairs ``(C-, F-)`` are appended from ``q``, (k-1)-level pairs ``(C0, F0)``
    to ``low_*`` from ``r``; the caller reserved the room.
    """
    for p in range(m):
        c = inc_c[p]
        if st_c[c] != 3:
            continue
        f = inc_f[p]
        s = st_f[f]
        if s == 3:
            inc_c[q] = cmin[c]
            inc_f[q] = fmin[f]
            q += 1
            low_c[r] = c0[c]
            low_f[r] = f0[f]
            r += 1
        elif s == 2:
            inc_c[p] = cmin[c]
    return q, r


@numba.njit(cache=True)
def _new_vertices(X, d, Zt, nV, se, E, nE, j, st_v):  # pragma: no cover - compiled
    """Split the edges ``se`` by neuron ``j`` of the current layer: a new vertex ``v``
    (numbered from ``nV``) on each split edge ``(p, q)`` (p on the + side), which becomes
    ``(p, v)`` (same index) and ``(v, q)`` (new, numbered from ``nE``).

    Writes the new vertices' rows of ``X`` (coordinates, then error bounds ``P, G, M, F``
    in columns ``d..d+3``, box facet mask in ``d+4``), their layer values in ``Zt`` (by
    linear interpolation of the cutting neuron's values ``Zt[j]``), and the edges. One
    kernel does it all because small networks make thousands of cuts, each of which
    would otherwise pay for a dozen numpy calls.

    A new vertex ``v = u + t (w - u)`` inherits the bounds of its ends in the same
    proportions, plus the rounding of the interpolation; its magnitude ``M`` is the larger
    of theirs (the size its values were computed from), ``F = 0`` (interpolated). Returns
    the old ends (parents) of the new vertices and the largest ``P`` and ``G`` among them.
    """
    ns = se.shape[0]
    nl = Zt.shape[0]
    u = 2.0**-53
    z = Zt[j]
    t = np.empty(ns)
    a = np.empty(ns, np.int64)
    b = np.empty(ns, np.int64)
    pmax = 0.0
    gmax = 0.0
    for i in range(ns):
        e = se[i]
        p = E[e, 0]
        w = E[e, 1]
        a[i] = p
        b[i] = w
        tt = z[p] / (z[p] - z[w])
        t[i] = tt
        v = nV + i
        for c in range(d):
            X[v, c] = X[p, c] + tt * (X[w, c] - X[p, c])
        m = max(X[p, d + 2], X[w, d + 2])
        pv = (1.0 - tt) * X[p, d] + tt * X[w, d] + 4.0 * u * m
        gv = (1.0 - tt) * X[p, d + 1] + tt * X[w, d + 1] + 4.0 * u
        X[v, d] = pv
        X[v, d + 1] = gv
        X[v, d + 2] = m
        X[v, d + 3] = 0.0
        X[v, d + 4] = np.int64(X[p, d + 4]) & np.int64(X[w, d + 4])
        pmax = max(pmax, pv)
        gmax = max(gmax, gv)
        if st_v[p] != 1:
            p, w = w, p
        E[e, 0] = p
        E[e, 1] = v
        E[nE + i, 0] = v
        E[nE + i, 1] = w
    for r in range(nl):  # row by row: contiguous writes
        row = Zt[r]
        for i in range(ns):
            zu = row[a[i]]
            row[nV + i] = zu + t[i] * (row[b[i]] - zu)
    for i in range(ns):
        Zt[j, nV + i] = 0.0
    return a, b, pmax, gmax


@numba.njit(cache=True)
def _sign_rows(ST, targets, n_box, parent_a, parent_b, born, g):  # pragma: no cover - compiled
    """Sign vectors of the vertices ``targets`` over neurons ``0..g-1``, shape (n, g).

    As in :func:`_assemble_vertex_signs`, but during the construction and only for a few
    vertices: their ancestors (parents, parents' parents...) are collected, then rows are
    built in index order (a parent is older than its child).
    """
    top = 0
    for v in targets:
        top = max(top, v + 1)
    mark = np.zeros(top, np.uint8)
    stack = [v for v in targets]
    anc = []
    while len(stack):
        v = stack.pop()
        if mark[v]:
            continue
        mark[v] = 1
        anc.append(v)
        if v >= n_box:
            stack.append(parent_a[v - n_box])
            stack.append(parent_b[v - n_box])
    order = np.sort(np.array(anc, dtype=np.int64))
    row_of = np.full(top, -1, np.int64)
    rows = np.zeros((order.shape[0], g), np.int8)
    for i in range(order.shape[0]):
        v = order[i]
        row_of[v] = i
        first = 0
        if v >= n_box:
            ra = row_of[parent_a[v - n_box]]
            rb = row_of[parent_b[v - n_box]]
            first = born[v - n_box]
            for jj in range(first):
                s = rows[ra, jj] + rows[rb, jj]
                rows[i, jj] = 1 if s > 0 else (-1 if s < 0 else 0)
            rows[i, first] = 0
            first += 1
        for jj in range(first, g):
            rows[i, jj] = ST[jj, v]
    out = np.empty((targets.shape[0], g), np.int8)
    for i in range(targets.shape[0]):
        out[i] = rows[row_of[targets[i]]]
    return out


@numba.njit(cache=True)
def _assemble_vertex_signs(ST, nV, n_box, parent_a, parent_b, born):  # pragma: no cover
    """Vertex sign matrix (nV, N) from the per-neuron rows ``ST`` (N, cap).

    ``ST[j, v]`` holds vertex v's sign for neuron j if v existed when j was cut. A vertex
    born on edge (a, b) at neuron g has sign(S[a] + S[b]) for j < g (the open edge lies
    strictly on one side of every earlier hyperplane not containing it) and 0 for g.
    """
    N = ST.shape[0]
    S = np.empty((nV, N), np.int8)
    B = 64
    for v0 in range(0, nV, B):  # blocked transpose
        v1 = min(v0 + B, nV)
        for j in range(N):
            for v in range(v0, v1):
                S[v, j] = ST[j, v]
    for v in range(n_box, nV):
        a = parent_a[v - n_box]
        b = parent_b[v - n_box]
        g = born[v - n_box]
        for j in range(g):
            s = S[a, j] + S[b, j]
            S[v, j] = 1 if s > 0 else (-1 if s < 0 else 0)
        S[v, g] = 0
    return S


@numba.njit(cache=True)
def _signs_from_vertices(indptr, indices, S):  # pragma: no cover - compiled
    """Sign rows of cells from their vertices' rows (CSR cell -> vertices).

    A cell's sign for a neuron is the common nonzero sign of its vertices, else 0. Within
    a cell the signs never mix, and in two's complement +1 | 0 = +1, -1 | 0 = -1, so a
    bitwise OR over the vertices computes it without branches.
    """
    n = indptr.shape[0] - 1
    N = S.shape[1]
    out = np.zeros((n, N), np.int8)
    for c in range(n):
        row = out[c]
        for p in range(indptr[c], indptr[c + 1]):
            sv = S[indices[p]]
            for j in range(N):
                row[j] |= sv[j]
    return out


@numba.njit(cache=True)
def _first_sign_mismatch(z, R, a, lip, c):  # pragma: no cover - compiled
    """First entry ``(i, n)`` where ``z`` is certainly nonzero (``|z| > a[i] lip[n] + c[n]``)
    with a sign other than ``R[i, n]``; ``(-1, -1)`` if none."""
    m, n = z.shape
    for i in range(m):
        ai = a[i]
        for k in range(n):
            x = z[i, k]
            band = ai * lip[k] + c[k]
            if x > band:
                if R[i, k] != 1:
                    return i, k
            elif x < -band:
                if R[i, k] != -1:
                    return i, k
    return -1, -1


@numba.njit(cache=True)
def _first_mixed_cell(indptr, indices, S):  # pragma: no cover - compiled
    """First ``(cell, neuron)`` whose vertices (CSR cell -> vertices) include both a +1 and
    a -1 for that neuron, else ``(-1, -1)``. In two's complement, OR-ing the signs gives -1
    iff some vertex has -1, and OR-ing their negatives iff some vertex has +1."""
    n = indptr.shape[0] - 1
    N = S.shape[1]
    a = np.empty(N, np.int8)
    b = np.empty(N, np.int8)
    for c in range(n):
        a[:] = 0
        b[:] = 0
        for p in range(indptr[c], indptr[c + 1]):
            sv = S[indices[p]]
            for j in range(N):
                a[j] |= sv[j]
                b[j] |= -sv[j]
        for j in range(N):
            if (a[j] & b[j]) == -1:
                return c, j
    return -1, -1


@numba.njit(cache=True)
def _count_zeros(S):  # pragma: no cover - compiled
    """Number of zeros in each row of an int8 matrix."""
    out = np.zeros(S.shape[0], np.int64)
    for i in range(S.shape[0]):
        c = 0
        for k in range(S.shape[1]):
            c += S[i, k] == 0
        out[i] = c
    return out


# --------------------------------------------------------------------------- the box


def box_complex(lo: np.ndarray, hi: np.ndarray):
    """Face lattice of the box ``[lo, hi]`` (d-cube): vertices, edges and incidence pairs.

    Faces are words in {0, 1, *}^d; a k-face has k stars; its facets replace one star by 0
    or 1. Returns ``(X (2^d, d), E (nE, 2), pairs {k: (cells, facets)}, counts [n_0..n_d])``.
    """
    d = lo.shape[0]
    index: list[dict[tuple, int]] = [dict() for _ in range(d + 1)]
    for word in product((0, 1, 2), repeat=d):  # 2 stands for '*'
        k = sum(1 for w in word if w == 2)
        index[k][word] = len(index[k])
    X = np.empty((len(index[0]), d))
    for word, i in index[0].items():
        X[i] = np.where(np.array(word) == 1, hi, lo)
    pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    E = np.empty((len(index[1]) if d >= 1 else 0, 2), dtype=INT)
    for k in range(1, d + 1):
        cs, fs = [], []
        for word, i in index[k].items():
            for pos, w in enumerate(word):
                if w != 2:
                    continue
                for v in (0, 1):
                    f = word[:pos] + (v,) + word[pos + 1 :]
                    cs.append(i)
                    fs.append(index[k - 1][f])
        cs_a, fs_a = np.array(cs, dtype=INT), np.array(fs, dtype=INT)
        if k == 1:
            order = np.argsort(cs_a, kind="stable")
            E[:] = fs_a[order].reshape(-1, 2)
        else:
            pairs[k] = (cs_a, fs_a)
    counts = [len(ix) for ix in index]
    return X, E, pairs, counts


# --------------------------------------------------------------------------- scaling

_U = 2.0**-53  # unit roundoff of float64
_KAPPA = 4.0  # safety factor on the rounding-error bounds
# Relative size, against the terms behind it, below which an interpolated vertex value is
# not trusted and the vertex is recomputed (module docstring).
_TRUST = 1e-10


def normalize_network(weights, lo: np.ndarray, hi: np.ndarray) -> tuple[list, int]:
    """Sign-equivalent hidden layers in normalised units: ``(hidden, e_in)``.

    The input is measured in units of ``2**e_in`` (``y = x / 2**e_in``, so the box lies in
    ``[-1, 1]^d``), and each hidden neuron ``n`` is divided by a power of two ``2**e_n``
    that brings its largest coefficient into ``[0.5, 1)`` (the next layer's column ``n`` is
    multiplied by it). ReLU is positively homogeneous, so no sign changes; with powers of
    two every product and sum of the forward pass is the original's times a power of two,
    so floating point gives the same signs too, without overflow (only coefficients below
    ``2**-1074`` of their row's largest are lost). Exponents are added as integers and
    applied once, so huge weights (1e160) never meet. The output layer is not needed.
    """
    d = lo.shape[0]
    e_in = int(np.frexp(max(float(np.abs(lo).max()), float(np.abs(hi).max())))[1])
    shift = np.full(d + 1, e_in, dtype=np.int64)
    shift[d] = 0  # the bias column
    none = np.iinfo(np.int64).min
    out = []
    for W, b in weights[:-1]:
        M, E = np.frexp(np.concatenate([W, b[:, None]], axis=1))
        E = E + shift
        top = np.where(M != 0, E, none).max(axis=1)
        top[top == none] = 0  # a zero row with zero bias stays as it is
        A = np.ldexp(M, np.maximum(E - top[:, None], -1100))
        out.append((np.ascontiguousarray(A[:, :-1]), A[:, -1].copy()))
        shift = np.append(top, 0)
    return out, e_in


def error_constants(hidden, d: int) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """Per hidden layer ``(lip, beta, gamma, gamma_cum)`` for the rounding-error bounds.

    ``lip[n]`` bounds the slope of neuron n's pre-activation (input coordinates, infinity
    norm), ``beta[n]`` its terms at the origin: ``|W| ... |W| 1`` and the same chain with
    the biases, so ``|W_n| |h(x)| + |b_n| <= lip[n] |x| + beta[n]`` anywhere. ``gamma`` is
    the relative rounding bound of one layer's dot products (``k u / (1 - k u)`` for ``k``
    terms), ``gamma_cum`` its sum over the layers up to this one.
    """
    lip = np.ones(d)
    beta = np.zeros(d)
    cum = 0.0
    out = []
    for W, b in hidden:
        A = np.abs(W)
        lip = A @ lip
        beta = A @ beta + np.abs(b)
        k = W.shape[1] + 1
        gamma = k * _U / (1.0 - k * _U)
        cum += gamma
        out.append((lip, beta, gamma, cum))
    return out


# --------------------------------------------------------------------------- exact fallback


def integer_layers(hidden) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Each hidden layer as Python integers: ``(WI, bI, s)`` with ``W = WI / 2**s`` and
    ``b = bI / 2**s`` exactly (object arrays; floats are dyadic rationals)."""
    out = []
    for W, b in hidden:
        A = np.concatenate([W, b[:, None]], axis=1)
        M, E = np.frexp(A)
        nz = M != 0
        s = int((53 - E[nz]).max()) if nz.any() else 0
        K = np.ldexp(M, 53).astype(np.int64)
        shift = np.where(nz, E.astype(np.int64) - 53 + s, 0)
        I = np.array([int(k) << int(t) for k, t in zip(K.ravel(), shift.ravel())], dtype=object).reshape(A.shape)
        out.append((I[:, :-1], I[:, -1], s))
    return out


def _solve_exact(rows: list[list[int]], d: int) -> list[Fraction] | None:
    """The unique solution of the integer equations ``a . x = c`` (rows ``[a_1..a_d, c]``),
    by Gaussian elimination over the rationals; None if the rows are inconsistent or do
    not fix every coordinate."""
    R = [[Fraction(v) for v in r] for r in rows]
    piv_rows = []
    r0 = 0
    for col in range(d):
        p = next((i for i in range(r0, len(R)) if R[i][col] != 0), None)
        if p is None:
            return None
        R[r0], R[p] = R[p], R[r0]
        inv = 1 / R[r0][col]
        R[r0] = [v * inv for v in R[r0]]
        for i in range(len(R)):
            if i != r0 and R[i][col] != 0:
                f = R[i][col]
                R[i] = [a - f * b for a, b in zip(R[i], R[r0])]
        piv_rows.append(r0)
        r0 += 1
    if any(R[i][d] != 0 for i in range(r0, len(R))):
        return None
    return [R[i][d] for i in piv_rows]


def exact_value(
    ilayers, first, layer: int, j: int, row: np.ndarray, facets: np.ndarray, lo, hi
) -> tuple[float, float] | None:
    """Value of neuron ``j`` of hidden layer ``layer`` and the size ``|W_j| |h| + |b_j|`` of
    the terms it sums, computed exactly and then rounded, at the exact vertex whose sign
    vector over the neurons cut so far is ``row`` and which lies on the box facets
    ``facets`` (per coordinate -1: ``lo``, +1: ``hi``, 0: neither; normalised units);
    None when the construction's vertex is not a vertex of the exact
    arrangement (an earlier decision merged a hyperplane within the tolerance onto a
    vertex it does not pass through).

    The vertex solves: every zero of ``row`` vanishes (affine maps of the cells around it,
    the earlier ReLUs fixed by ``row`` with its zeros taken on and off) and the box
    coordinates it lies on hold. It is solved in rational arithmetic, then the forward pass
    is run in integers there: it must reproduce ``row`` exactly, and gives the value
    (its sign is exact; it is 0.0 only when the value is exactly 0).
    """
    d = facets.shape[0]
    rows: list[list[int]] = []
    zero = np.flatnonzero(row == 0)
    for zero_on in (True, False):
        Mx = None
        for layer_i in range(layer + 1):
            WI, bI, s = ilayers[layer_i]
            if Mx is None:
                Mx = np.concatenate([WI, bI[:, None]], axis=1)
                D = 1 << s
            else:
                sgn = row[first[layer_i - 1] : first[layer_i]]
                on = (sgn >= 0) if zero_on else (sgn > 0)
                H = Mx * on[:, None]
                Mx = WI @ H
                Mx[:, d] = Mx[:, d] + bI * D
                D <<= s
            lo_g, hi_g = first[layer_i], first[layer_i + 1]
            for m in zero[(zero >= lo_g) & (zero < hi_g)]:
                a = Mx[m - lo_g]
                rows.append([int(v) for v in a[:d]] + [-int(a[d])])
    for i in range(d):
        if facets[i]:
            f = Fraction(float(lo[i] if facets[i] < 0 else hi[i]))
            rows.append([f.denominator if k == i else 0 for k in range(d)] + [f.numerator])
    V = _solve_exact(rows, d)
    if V is None:
        return None
    q = 1
    for v in V:
        q = q * v.denominator // gcd(q, v.denominator)
    H = np.array([int(v * q) for v in V], dtype=object)
    D = q
    n_cut = row.shape[0]
    for layer_i in range(layer + 1):
        WI, bI, s = ilayers[layer_i]
        Z = WI @ H + bI * D
        if layer_i == layer:
            T = np.abs(WI[j]) @ np.abs(H) + abs(bI[j]) * D
        D <<= s
        lo_g = first[layer_i]
        for m in range(Z.shape[0]):
            gm = lo_g + m
            if gm < n_cut:
                sm = (Z[m] > 0) - (Z[m] < 0)
                if sm != row[gm]:
                    return None
        H = np.maximum(Z, 0)
    return float(Fraction(int(Z[j]), D)), float(Fraction(int(T), D))


# --------------------------------------------------------------------------- builder


@dataclass
class RawComplex:
    """What the construction returns (see :class:`PolyhedralComplex` for the meaning).

    ``vertex_error`` bounds how far each computed vertex may lie from the exact one
    (infinity norm, input units, rounding only) and ``vertex_scale`` the size of the
    coordinates its values were computed from; None when unknown (a complex read from a
    file).
    """

    vertices: np.ndarray  # (n0, d) float64
    vertex_signs: np.ndarray  # (n0, N) int8
    edges: np.ndarray  # (n1, 2) int64
    pairs: dict  # k -> (cells int64, facets int64), 2 <= k <= d
    counts: list  # [n0, ..., nd]
    vertex_error: np.ndarray | None = None  # (n0,) float64
    vertex_scale: np.ndarray | None = None  # (n0,) float64


def build(weights, lo: np.ndarray, hi: np.ndarray, tol: float, trust: float = _TRUST) -> RawComplex:
    """Run the cuts of all hidden neurons, layer by layer, neuron by neuron.

    ``weights`` and the box are the caller's; the construction runs on the normalised
    network (:func:`normalize_network`) and the result is in input units.
    """
    hidden, e_in = normalize_network(weights, lo, hi)
    st = _State(hidden, np.ldexp(lo, -e_in), np.ldexp(hi, -e_in), tol, max(tol, trust))
    g = 0  # global index of the neuron being cut
    for layer in range(len(hidden)):
        st.start_layer(layer)
        for j in range(hidden[layer][0].shape[0]):
            st.cut(j, g)
            g += 1
        logger.debug("polyhedral: after hidden layer %d, f-vector %s", layer + 1, st.counts)
    if st.n_resolved:
        logger.debug(
            "polyhedral: %d vertex signs decided at recomputed vertices, %d of them in exact arithmetic",
            st.n_resolved, st.n_exact,
        )  # fmt: skip
    return st.result(e_in)


class _State:
    """The complex under construction (see the module docstring)."""

    def __init__(self, hidden, lo: np.ndarray, hi: np.ndarray, tol: float, trust: float) -> None:
        self.d = d = lo.shape[0]
        self.hidden = hidden
        self.lo, self.hi, self.tol, self.trust = lo, hi, tol, trust
        self.consts = error_constants(hidden, d)
        self.N = sum(W.shape[0] for W, _ in hidden)
        self.first = np.cumsum([0] + [W.shape[0] for W, _ in hidden])  # global index of each layer's neuron 0
        X0, E0, P0, counts = box_complex(lo, hi)
        n0 = self.n_box = X0.shape[0]
        # One row per vertex: its coordinates, then its error bounds (module docstring):
        # position P, relative rounding G, magnitude M of the coordinates behind its
        # values, and F = 1 if computed from its defining constraints rather than
        # interpolated. One row is one gather when a cut interpolates. Box corners are exact.
        self.cP, self.cG, self.cM, self.cF, self.cB = d, d + 1, d + 2, d + 3, d + 4
        X = np.zeros((n0, d + 5))
        X[:, :d] = X0
        X[:, self.cM] = np.abs(X0).max(axis=1)
        X[:, self.cF] = 1.0
        X[:, self.cB] = ((X0 == hi).astype(np.int64) << (2 * np.arange(d) + 1)).sum(axis=1) + (
            (X0 == lo).astype(np.int64) << (2 * np.arange(d))
        ).sum(axis=1)
        self.X = _Grow(X, n0)
        self.pmax = 0.0
        self.gmax = 0.0
        self.n_resolved = 0
        self.n_exact = 0
        self.ilayers: list | None = None  # integer copies of the layers, made when first needed
        self.E = _Grow(E0.copy(), E0.shape[0])
        self.Pc = {k: _Grow(P0[k][0].copy(), P0[k][0].shape[0]) for k in range(2, d + 1)}
        self.Pf = {k: _Grow(P0[k][1].copy(), P0[k][1].shape[0]) for k in range(2, d + 1)}
        self.counts = list(counts)
        # Per-neuron sign rows (N, vertex capacity); rows are contiguous for the cut.
        self.ST = np.empty((self.N, max(64, 4 * n0)), np.int8)
        # Parents and birth neuron of every non-box vertex.
        self.pa = _Grow(np.empty(64, INT), 0)
        self.pb = _Grow(np.empty(64, INT), 0)
        self.born = _Grow(np.empty(64, INT), 0)
        # Scratch maps old cell -> new C- index / C0 index (read only at split cells, so
        # never cleared).
        self.mmap = {k: _Grow(np.empty(64, INT), 0) for k in range(1, d + 1)}
        self.zmap = {k: _Grow(np.empty(64, INT), 0) for k in range(1, d + 1)}
        width = max((W.shape[0] for W, _ in hidden), default=0)
        self.Zbuf = np.empty((width, self.ST.shape[1]))
        self.Zt = self.Zbuf[:0]
        self.layer = -1

    def start_layer(self, layer: int) -> None:
        """Values of all of this layer's neurons at all current vertices, (n_l, capacity).

        Layer 0 is a matrix product with the coordinates. A later layer uses the previous
        layer's values at the vertices: they are exact there up to rounding (each vertex
        lies in the closure of cells where that layer is affine, and the pre-activation is
        continuous), so ReLU of them followed by the next Linear is the forward pass. One
        buffer serves all layers, overwritten column block by column block (fresh memory
        is slow to touch, and this is the largest array). The products round once more:
        every vertex's relative bound ``G`` grows by this layer's ``gamma``.
        """
        W, b = self.hidden[layer]
        n_l = W.shape[0]
        nV = self.X.n
        if self.Zbuf.shape[1] < nV:
            self.Zbuf = np.empty((self.Zbuf.shape[0], max(nV, self.ST.shape[1])))
        buf = self.Zbuf
        if layer == 0:
            Xv = self.X.view[:, : self.d]
            hmax = np.abs(Xv).max(axis=0)
            buf[:n_l, :nV] = W @ Xv.T + b[:, None]
        else:
            n_prev = self.hidden[layer - 1][0].shape[0]
            hmax = np.maximum(buf[:n_prev, :nV].max(axis=1), 0.0)
            step = 8192
            for c0 in range(0, nV, step):
                c1 = min(c0 + step, nV)
                blk = np.maximum(buf[:n_prev, c0:c1], 0.0)
                buf[:n_l, c0:c1] = W @ blk + b[:, None]
        self.Zt = buf[:n_l]
        self.layer = layer
        # Size of the terms |W_n| |h| + |b_n| each neuron sums, at most, over the box (h is
        # affine on the cells of earlier layers, so its extremes are at the current
        # vertices): a cap on the tolerance band of vertices whose own size is unknown.
        self.scale = np.abs(W) @ hmax + np.abs(b)
        self.lip, self.beta, gamma, _ = self.consts[layer]
        self.lip_l, self.beta_l, self.scale_l = self.lip.tolist(), self.beta.tolist(), self.scale.tolist()
        X = self.X.view
        X[:, self.cG] += gamma
        X[:, self.cP] += gamma * X[:, self.cM]
        # Running bounds for the filter's first comparison (M <= 1 in normalised units).
        self.pmax += gamma
        self.gmax += gamma

    def _reserve_vertices(self, extra: int, g: int) -> None:
        """Room for ``extra`` more vertices, during the cut by neuron ``g``."""
        n = self.X.n
        need = n + extra
        self.X.reserve(extra)
        if need > self.ST.shape[1]:
            # Only the rows of the neurons cut so far hold signs (row j is written for
            # every vertex that exists when j cuts, and read only there); the others are
            # written before they are read, so nothing is zeroed and they are not copied.
            cap = max(need, 2 * self.ST.shape[1])
            ST = np.empty((self.N, cap), np.int8)
            ST[: g + 1, :n] = self.ST[: g + 1, :n]
            self.ST = ST
        if need > self.Zbuf.shape[1]:
            cap = max(need, 2 * self.Zbuf.shape[1])
            n_l = self.Zt.shape[0]
            buf = np.empty((self.Zbuf.shape[0], cap))
            buf[:n_l, :n] = self.Zt[:, :n]
            self.Zbuf = buf
            self.Zt = buf[:n_l]

    def _maps(self, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        m, z = self.mmap[k], self.zmap[k]
        m.reserve(n - m.n)
        z.reserve(n - z.n)
        m.n = max(m.n, n)
        z.n = max(z.n, n)
        return m.a, z.a

    def cut(self, j: int, g: int) -> None:
        """Cut the complex by neuron ``j`` of the current layer (global index ``g``).

        Steps: the status of every cell (which side of the hyperplane it lies on); the
        split polygons (k = 2, before the edges change: it reads their old endpoints);
        the split edges (k = 1: new vertices and edges); the cut edges ``C0`` of the split
        polygons; the split k-cells for k >= 3, upwards.
        """
        cells = self._status(j, g)
        if cells is None:
            return  # the hyperplane misses the interior of the box: nothing splits
        st, split, nsplit_pairs, has_zero = cells
        nV, nE = self.X.n, self.counts[1]
        se = split[1]
        ns = se.shape[0]
        fmin, f0 = self._maps(1, nE)
        fmin[se] = np.arange(nE, nE + ns, dtype=INT)
        f0[se] = np.arange(nV, nV + ns, dtype=INT)
        ends = self._split_polygons(g, st, split[2], has_zero, nE + ns) if self.d >= 2 else None
        if ns:
            self._split_edges(j, g, se, st[0])
        if ends is not None:
            self._add_edges(ends)
            self.counts[2] += ends.shape[0]
        for k in range(3, self.d + 1):
            self._split_k_cells(k, st, split[k], nsplit_pairs[k], has_zero)

    def _status(self, j: int, g: int):
        """Side of the hyperplane of every cell: ``(st, split, nsplit_pairs, has_zero)``, or
        None when no cell is split.

        ``st[k]`` holds the status bits of the k-cells (1: a vertex on the + side, 2: one on
        the - side, 3: split), ``split[k]`` the split k-cells (``split[0]`` unused),
        ``nsplit_pairs[k]`` (k >= 3) the number of (split cell, split facet) pairs. Vertex
        signs for neuron ``g`` are written to ``ST[g]``; those the filter leaves uncertain
        are decided by :meth:`_resolve`. A split k-cell with a facet inside the hyperplane
        is impossible for a convex cell: :class:`DegenerateCutError`, raised before
        anything changes.
        """
        counts = self.counts
        nV = self.X.n
        lip, beta, scale = self.lip_l[j], self.beta_l[j], self.scale_l[j]
        thr_hi = _KAPPA * (lip * self.pmax + beta * self.gmax) + self.trust * scale
        st_v, npos, nneg, unc, st_e, se = _vertex_status(
            self.Zt[j, :nV], nV, thr_hi, lip, beta, scale, _KAPPA, self.trust,
            self.X.a, self.d, self.ST[g], self.E.a, counts[1],
        )  # fmt: skip
        if unc.size:
            dpos, dneg = self._resolve(j, g, unc, st_v)
            npos += dpos
            nneg += dneg
            if npos and nneg:
                st_e, se = _edge_status(st_v, self.E.a, counts[1])
        if npos == 0 or nneg == 0:
            return None
        st = [st_v, st_e]
        split = [None, se]
        for k in range(2, self.d + 1):
            s_k, sc_k = _or_status(self.Pc[k].a, self.Pf[k].a, self.Pc[k].n, st[k - 1], counts[k])
            st.append(s_k)
            split.append(sc_k)
        nsplit_pairs = {}
        for k in range(3, self.d + 1):
            n, bad = _count_split_pairs(self.Pc[k].a, self.Pf[k].a, self.Pc[k].n, st[k], st[k - 1])
            if bad:
                raise DegenerateCutError(f"neuron {g}: a split {k}-cell has a facet inside the hyperplane")
            nsplit_pairs[k] = n
        return st, split, nsplit_pairs, nV - npos - nneg > 0

    # ------------------------------------------------------------ uncertain signs

    def _resolve(self, j: int, g: int, unc: np.ndarray, st_v: np.ndarray) -> tuple[int, int]:
        """Decide the sign of neuron ``j`` at the vertices ``unc``, which the filter left
        uncertain.

        Each interpolated one is first recomputed from its defining constraints
        (:meth:`_refine`). Then the forward pass at the vertices gives this layer's values
        (written to ``Zt``) with a running bound on their error: the position bound ``P``
        carried through the layers, each layer's rounding added, nothing carried through a
        ReLU that is certainly off (it outputs exactly 0 near the vertex), and the neurons
        the vertex lies on (zeros of its sign vector) taken as exactly 0, as the complex
        says they are. With ``band = tol (|W_j| |h| + |b_j|)`` at the vertex: a value
        certainly within the band is 0, one certainly outside keeps its sign, and the rest
        are decided in exact arithmetic (:func:`exact_value`; 0 if the exact value is
        within the band). A 0 is written into ``Zt`` as exactly 0, so later layers see the
        vertex on the hyperplane. Writes ``st_v`` and ``ST[g]``; returns the numbers of +
        and - vertices.
        """
        rows = _sign_rows(self.ST, unc, self.n_box, self.pa.a, self.pb.a, self.born.a, g)
        for i in np.flatnonzero(self.X.a[unc, self.cF] == 0).tolist():
            self._refine(int(unc[i]), rows[i])
        h = self.X.a[unc, : self.d]
        err = np.repeat(self.X.a[unc, self.cP][:, None], self.d, axis=1)
        for layer in range(self.layer + 1):
            W, b = self.hidden[layer]
            A = np.abs(W).T
            z = h @ W.T + b
            T = np.abs(h) @ A + np.abs(b)
            err = err @ A + self.consts[layer][2] * T
            on = rows[:, self.first[layer] : min(self.first[layer + 1], g)] == 0
            z[:, : on.shape[1]][on] = 0.0
            err[:, : on.shape[1]][on] = 0.0
            if layer < self.layer:
                err = np.where(z < -err, 0.0, err)
                h = np.maximum(z, 0.0)
        # ej bounds the error of z and of T alike (| |h| - |h*| | <= |h - h*|).
        zj, ej, Tj = z[:, j], _KAPPA * err[:, j], T[:, j]
        band_hi = self.tol * (Tj + ej)
        pos = zj > band_hi + ej
        neg = zj < -band_hi - ej
        inside = np.abs(zj) + ej <= self.tol * np.maximum(Tj - ej, 0.0)
        for i in np.flatnonzero(~pos & ~neg & ~inside).tolist():
            exact = self._exact_value(int(unc[i]), j, rows[i])
            if exact is None:  # not a vertex of the exact arrangement (see exact_value)
                logger.debug("polyhedral: neuron %d at vertex %d has no exact vertex; float decides", g, unc[i])
                exact = zj[i], Tj[i]
            ze, Te = exact
            pos[i], neg[i] = ze > self.tol * Te, ze < -self.tol * Te
            if pos[i] or neg[i]:  # the interpolation of a cut needs the decided sign
                z[i, j] = ze if ze != 0 else (5e-324 if pos[i] else -5e-324)
        z[~pos & ~neg, j] = 0.0
        self.Zt[:, unc] = z.T
        st_v[unc] = np.where(pos, 1, np.where(neg, 2, 0))
        self.ST[g, unc] = pos.astype(np.int8) - neg.astype(np.int8)
        self.n_resolved += unc.size
        return int(pos.sum()), int(neg.sum())

    def _exact_value(self, v: int, j: int, row: np.ndarray) -> tuple[float, float] | None:
        """Exact value and term size of neuron ``j`` at vertex ``v``, rounded (:func:`exact_value`)."""
        if self.ilayers is None:
            self.ilayers = integer_layers(self.hidden)
        self.n_exact += 1
        return exact_value(self.ilayers, self.first, self.layer, j, row, self._facets(v), self.lo, self.hi)

    def _facets(self, v: int) -> np.ndarray:
        """Box facets vertex ``v`` lies on, per coordinate: -1 (``lo``), +1 (``hi``) or 0."""
        m = int(self.X.a[v, self.cB])
        return np.array([-1 if m >> (2 * i) & 1 else (1 if m >> (2 * i + 1) & 1 else 0) for i in range(self.d)])

    def _pattern_forward(self, x: np.ndarray, row: np.ndarray, zero_on: bool):
        """Pre-activations at ``x`` up to the current layer, their gradients (N_so_far, d)
        and rounding bounds, with the earlier layers' ReLUs fixed by the sign vector
        ``row`` (zeros taken as on if ``zero_on``, else off): the affine maps of one cell
        around the vertex."""
        h = x
        J = np.eye(self.d)
        err = np.zeros(self.d)
        zs, Js, errs = [], [], []
        for layer in range(self.layer + 1):
            W, b = self.hidden[layer]
            A = np.abs(W)
            z = W @ h + b
            Jz = W @ J
            err = A @ err + self.consts[layer][2] * (A @ np.abs(h) + np.abs(b))
            zs.append(z)
            Js.append(Jz)
            errs.append(err)
            if layer < self.layer:
                s = row[self.first[layer] : self.first[layer + 1]]
                on = s >= 0 if zero_on else s > 0
                h = np.where(on, z, 0.0)
                J = Jz * on[:, None]
                err = np.where(on, err, 0.0)
        return np.concatenate(zs), np.concatenate(Js), np.concatenate(errs)

    def _refine(self, v: int, row: np.ndarray) -> None:
        """Recompute vertex ``v`` from its defining constraints, so that its error bound is
        relative to its own size instead of the size of the vertices it was interpolated
        from (a vertex near the centre of a box of side 1e10 inherits errors of 1e-6).

        The vertex is the point where the neurons that vanish on it (zeros of its sign
        vector ``row``) vanish and the box coordinates it lies on hold. On a cell around
        it every neuron is affine, with the earlier ReLUs fixed by ``row``; a zero of
        ``row`` may be taken as on or off (its value at the vertex is 0 either way), and
        both systems are stacked, since one alone may be rank-deficient. Newton steps on
        this affine system (least squares on the free coordinates) converge in one step up
        to rounding; the distance to the exact vertex is then bounded by ``|A^+|`` times
        the residual plus its rounding bound. If the system does not fix the vertex (rank
        below the number of free coordinates) the vertex keeps its interpolated position
        and bounds. Updates ``X``, ``P``, ``G``, ``M`` and marks the vertex fresh; its
        layer values are recomputed by the caller.
        """
        X = self.X.a
        x = X[v, : self.d].copy()
        facets = self._facets(v)
        free = facets == 0
        x[facets < 0] = self.lo[facets < 0]
        x[facets > 0] = self.hi[facets > 0]
        delta = 0.0
        X[v, self.cF] = 1.0
        if free.any():
            zero = np.flatnonzero(row == 0)
            if zero.size == 0:
                return
            for it in range(4):
                zA, JA, eA = self._pattern_forward(x, row, True)
                zB, JB, eB = self._pattern_forward(x, row, False)
                F = np.concatenate([zA[zero], zB[zero]])
                A = np.concatenate([JA[zero][:, free], JB[zero][:, free]])
                e = _KAPPA * np.concatenate([eA[zero], eB[zero]])
                if it == 3 or (it > 0 and np.all(np.abs(F) <= e)):
                    break
                x[free] -= np.linalg.lstsq(A, F, rcond=None)[0]
            Uu, s, Vt = np.linalg.svd(A, full_matrices=False)
            if s.size < free.sum() or s[-1] <= s[0] * A.shape[0] * _U:
                logger.debug("polyhedral: vertex %d is not fixed by its constraints; kept as interpolated", v)
                return
            pinv = (Vt.T / s) @ Uu.T
            delta = float((np.abs(pinv) @ (np.abs(F) + e)).max())
        mag = float(np.abs(x).max())
        gcum = self.consts[self.layer][3]
        X[v, : self.d] = x
        X[v, self.cP] = delta + 2 * _U * mag
        X[v, self.cG] = gcum
        X[v, self.cM] = mag
        self.pmax = max(self.pmax, float(X[v, self.cP]))
        self.gmax = max(self.gmax, gcum)

    # ------------------------------------------------------------ splitting

    def _split_polygons(self, g: int, st, sc: np.ndarray, has_zero: bool, first_cut_edge: int) -> np.ndarray:
        """k = 2: deal the edges of each split polygon ``C`` to ``C+``/``C-``, give ``C0`` (a
        new edge, numbered from ``first_cut_edge``) to both, and return the endpoints of the
        ``C0`` edges, shape (number of split polygons, 2). Reads the edges' old endpoints,
        so it runs before the edges are split."""
        nsc = sc.shape[0]
        n2 = self.counts[2]
        cmin, c0 = self._maps(2, n2)
        cmin[sc] = np.arange(n2, n2 + nsc, dtype=INT)
        c0[sc] = np.arange(first_cut_edge, first_cut_edge + nsc, dtype=INT)
        P2c, P2f = self.Pc[2], self.Pf[2]
        P2c.reserve(4 * nsc)
        P2f.reserve(4 * nsc)
        ends = np.full((nsc, 2), -1, INT)
        fmin, f0 = self.mmap[1].a, self.zmap[1].a
        q, ok = _split_polygons(
            P2c.a, P2f.a, P2c.n, st[2], st[1], self.E.a, st[0], cmin, fmin, f0, has_zero, ends, P2c.n
        )
        if not ok:
            raise DegenerateCutError(f"neuron {g}: a split polygon does not have exactly two cut points")
        P2c.a[q : q + nsc] = sc
        P2f.a[q : q + nsc] = c0[sc]
        P2c.a[q + nsc : q + 2 * nsc] = cmin[sc]
        P2f.a[q + nsc : q + 2 * nsc] = c0[sc]
        P2c.n = P2f.n = q + 2 * nsc
        return ends

    def _split_edges(self, j: int, g: int, se: np.ndarray, st_v: np.ndarray) -> None:
        """k = 1: a new vertex on each split edge (:func:`_new_vertices`)."""
        counts = self.counts
        nV, nE, ns = self.X.n, counts[1], se.shape[0]
        self._reserve_vertices(ns, g)
        self.E.reserve(ns)
        a, b, pmax, gmax = _new_vertices(self.X.a, self.d, self.Zt, nV, se, self.E.a, nE, j, st_v)
        self.pmax = max(self.pmax, pmax)
        self.gmax = max(self.gmax, gmax)
        for arr, val in ((self.pa, a), (self.pb, b)):
            arr.reserve(ns)
            arr.a[arr.n : arr.n + ns] = val
            arr.n += ns
        self.born.reserve(ns)
        self.born.a[self.born.n : self.born.n + ns] = g
        self.born.n += ns
        self.X.n = counts[0] = nV + ns
        self.E.n = counts[1] = nE + ns

    def _add_edges(self, ends: np.ndarray) -> None:
        """Append edges with the given endpoints, shape (n, 2)."""
        n = ends.shape[0]
        self.E.reserve(n)
        self.E.a[self.counts[1] : self.counts[1] + n] = ends
        self.E.n = self.counts[1] + n
        self.counts[1] += n

    def _split_k_cells(self, k: int, st, sc: np.ndarray, nsplit_pairs: int, has_zero: bool) -> None:
        """k >= 3: deal the facets of each split k-cell ``C`` to ``C+``/``C-``, give both the
        new (k-1)-cell ``C0`` whose facets are the ``F0`` of the split facets (plus, in
        degenerate position, the (k-2)-faces of ``C`` inside the hyperplane)."""
        counts = self.counts
        nsc = sc.shape[0]
        n_k_old = counts[k]
        n_low = counts[k - 1]  # includes this cut's C- of dimension k-1
        fmin, f0 = self.mmap[k - 1].a, self.zmap[k - 1].a
        cmin, c0 = self._maps(k, n_k_old)
        cmin[sc] = np.arange(n_k_old, n_k_old + nsc, dtype=INT)
        c0[sc] = np.arange(n_low, n_low + nsc, dtype=INT)
        Pk_c, Pk_f, Pl_c, Pl_f = self.Pc[k], self.Pf[k], self.Pc[k - 1], self.Pf[k - 1]
        extra = nsplit_pairs + 2 * nsc
        Pk_c.reserve(extra)
        Pk_f.reserve(extra)
        Pl_c.reserve(nsplit_pairs)
        Pl_f.reserve(nsplit_pairs)
        q, r = _split_pairs(
            Pk_c.a, Pk_f.a, Pk_c.n, st[k], st[k - 1], cmin, fmin, f0, c0, Pk_c.n, Pl_c.a, Pl_f.a, Pl_c.n
        )
        Pk_c.a[q : q + nsc] = sc
        Pk_f.a[q : q + nsc] = c0[sc]
        Pk_c.a[q + nsc : q + 2 * nsc] = cmin[sc]
        Pk_f.a[q + nsc : q + 2 * nsc] = c0[sc]
        Pk_c.n = Pk_f.n = q + 2 * nsc
        Pl_c.n = Pl_f.n = r
        if has_zero:
            _add_zero_faces(k, self.Pc, self.Pf, st, sc, c0)
        counts[k - 1] = n_low + nsc
        counts[k] = n_k_old + nsc

    def result(self, e_in: int) -> RawComplex:
        """The complex in input units (coordinates and bounds times ``2**e_in``)."""
        nV = self.X.n
        S = _assemble_vertex_signs(self.ST, nV, self.n_box, self.pa.a, self.pb.a, self.born.a)
        d = self.d
        return RawComplex(
            vertices=np.ldexp(self.X.view[:, :d], e_in),
            vertex_signs=S,
            edges=self.E.view.copy(),
            pairs={k: (self.Pc[k].view.copy(), self.Pf[k].view.copy()) for k in range(2, d + 1)},
            counts=list(self.counts),
            vertex_error=np.ldexp(self.X.view[:, self.cP], e_in),
            vertex_scale=np.ldexp(self.X.view[:, self.cM], e_in),
        )


def _add_zero_faces(k, Pc, Pf, st, sc, c0) -> int:
    """Degenerate position, k >= 3: add to ``∂C0`` the (k-2)-faces of ``C`` inside ``H``.

    Such a face ``G`` lies in an unsplit facet ``F`` of ``C`` (a split facet has no face in
    ``H``), and unsplit facets keep their incidences during the cut, so a join of the old
    pairs ``(C, F)`` and ``(F, G)`` finds them.
    """
    st_k, st_f, st_g = st[k], st[k - 1], st[k - 2]
    n_f_old = st_f.shape[0]
    if not np.any(st_g == 0):
        return Pc[k - 1].n
    # (F, G) pairs with F old and unsplit and G old and all-zero.
    if k - 1 == 1:
        raise AssertionError("k >= 3 here")
    fc = Pc[k - 1].a[: Pc[k - 1].n]
    ff = Pf[k - 1].a[: Pf[k - 1].n]
    sel = (fc < n_f_old) & (ff < st_g.shape[0])
    sel[sel] &= (st_f[fc[sel]] != 3) & (st_g[ff[sel]] == 0)
    FG_f, FG_g = fc[sel], ff[sel]
    if FG_f.size == 0:
        return Pc[k - 1].n
    # (C, F) pairs with C split and F unsplit; C's pairs keep C or point at C- — both sides
    # of C share C0, so map C- back to C via the split list.
    cc = Pc[k].a[: Pc[k].n]
    cf = Pf[k].a[: Pf[k].n]
    n_k_old = st_k.shape[0]
    owner = np.full(n_k_old + sc.shape[0], -1, dtype=INT)
    owner[sc] = sc
    owner[n_k_old : n_k_old + sc.shape[0]] = sc
    sel = cc < owner.shape[0]
    sel[sel] &= owner[cc[sel]] >= 0
    sel[sel] &= cf[sel] < n_f_old
    CF_c, CF_f = owner[cc[sel]], cf[sel]
    keep = st_f[CF_f] != 3
    CF_c, CF_f = CF_c[keep], CF_f[keep]
    order = np.argsort(FG_f, kind="stable")
    FG_f, FG_g = FG_f[order], FG_g[order]
    lo_i = np.searchsorted(FG_f, CF_f, "left")
    hi_i = np.searchsorted(FG_f, CF_f, "right")
    reps = hi_i - lo_i
    if reps.sum() == 0:
        return Pc[k - 1].n
    C_rep = np.repeat(CF_c, reps)
    idx = np.repeat(lo_i - np.cumsum(np.r_[0, reps[:-1]]), reps) + np.arange(reps.sum())
    G_rep = FG_g[idx]
    CG = np.unique(np.stack([C_rep, G_rep], axis=1), axis=0)
    n_add = CG.shape[0]
    Pc[k - 1].reserve(n_add)
    Pf[k - 1].reserve(n_add)
    r = Pc[k - 1].n
    Pc[k - 1].a[r : r + n_add] = c0[CG[:, 0]]
    Pf[k - 1].a[r : r + n_add] = CG[:, 1]
    Pc[k - 1].n = Pf[k - 1].n = r + n_add
    return r + n_add
