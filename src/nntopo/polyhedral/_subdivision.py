"""Edge subdivision generalised to cells of every dimension (the construction behind
:func:`nntopo.polyhedral.polyhedral_complex`).

State of the complex during the construction
--------------------------------------------
* 0-cells: coordinates ``X (nV, d)``; per-neuron sign rows ``ST (N, capacity) int8``
  (row g is written when neuron g cuts) and, for vertices made by a cut, their parents
  and birth neuron, from which the vertex sign matrix ``(nV, N)`` is assembled at the end;
* 1-cells: endpoints ``E (nE, 2)``;
* k-cells, 2 <= k <= d: incidence pairs ``(cell, facet)`` in two int64 arrays;
* the current layer's pre-activations at all vertices ``Zt (n_l, capacity)``.
All arrays are over-allocated and grown geometrically, never re-stacked per neuron.

One cut by a neuron (the hyperplane ``H = {z = 0}`` of that neuron)
------------------------------------------------------------------
Neuron n of layer l is affine on every cell once all neurons of layers < l have cut, so
(i) its values at the vertices are exact: at the start of a layer they come from the
previous layer's values at the vertices (ReLU, then the Linear map; the pre-activation
is continuous, so a vertex on an earlier hyperplane is no exception), and a vertex made
later in the same layer gets them by linear interpolation along its edge; (ii) on each
cell ``H`` is a hyperplane section of a convex polytope, and the vertices decide it.

Each vertex gets a status bit set: 1 if ``z > thr``, 2 if ``z < -thr``, 0 if ``|z| <= thr``
(it is on ``H``), with ``thr = tol * scale`` and ``scale = |W_n| max|h| + |b_n|`` (the
largest possible size over the box of the terms the pre-activation sums, which is what
rounding errors are relative to). A cell's status is the OR of its facets'
statuses (= the OR over its vertices): 3 means it is split. Working upwards in dimension:

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
the box. A split polygon must have exactly two cut points and a split cell no facet in
``H``; otherwise (rounding near a degenerate position) :class:`DegenerateCutError` is
raised before anything changes, and the caller rebuilds with a coarser tolerance.

Sign vectors of vertices are exact: a vertex made on edge ``(a, b)`` by neuron g takes
``sign(S[a] + S[b])`` for earlier neurons (the open edge lies strictly on one side of
every earlier hyperplane that does not contain it) and 0 for g; a cell's sign is the
common nonzero sign of its vertices, 0 if all vanish.

The tolerance moves a hyperplane onto vertices closer than ``tol * scale`` (in value);
two hyperplanes closer than that are merged, and a later neuron's sign on the merged
sliver is then known only up to that approximation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import product

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
def _status_vertices_edges(z, nV, thr, srow, E, nE):  # pragma: no cover - compiled
    """Status bits of the vertices (also written as signs into ``srow``) and of the edges.

    Returns ``(st_v, st_e, n_pos, n_neg, n_zero, split_edges)``; ``st_e`` and the split
    list are empty when the hyperplane misses the box's interior (nothing splits).
    """
    st_v = np.empty(nV, np.uint8)
    npos = 0
    nneg = 0
    for v in range(nV):
        x = z[v]
        if x > thr:
            st_v[v] = 1
            srow[v] = 1
            npos += 1
        elif x < -thr:
            st_v[v] = 2
            srow[v] = -1
            nneg += 1
        else:
            st_v[v] = 0
            srow[v] = 0
    nzero = nV - npos - nneg
    if npos == 0 or nneg == 0:
        return st_v, np.empty(0, np.uint8), npos, nneg, nzero, np.empty(0, np.int64)
    st_e = np.empty(nE, np.uint8)
    for e in range(nE):
        st_e[e] = st_v[E[e, 0]] | st_v[E[e, 1]]
    return st_v, st_e, npos, nneg, nzero, _split_cells(st_e)


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
def _new_vertices(X, Zt, nV, a, b, z, j, st_v):  # pragma: no cover - compiled
    """Coordinates and layer values of the vertices on split edges ``(a[i], b[i])``, by
    linear interpolation of the cutting neuron's values ``z``. Returns the + and - ends."""
    ns = a.shape[0]
    d = X.shape[1]
    nl = Zt.shape[0]
    t = np.empty(ns)
    p_end = np.empty(ns, np.int64)
    q_end = np.empty(ns, np.int64)
    for i in range(ns):
        u = a[i]
        w = b[i]
        t[i] = z[u] / (z[u] - z[w])
        v = nV + i
        for c in range(d):
            X[v, c] = X[u, c] + t[i] * (X[w, c] - X[u, c])
        if st_v[u] == 1:
            p_end[i] = u
            q_end[i] = w
        else:
            p_end[i] = w
            q_end[i] = u
    for r in range(nl):  # row by row: contiguous writes
        row = Zt[r]
        for i in range(ns):
            zu = row[a[i]]
            row[nV + i] = zu + t[i] * (row[b[i]] - zu)
    for i in range(ns):
        Zt[j, nV + i] = 0.0
    return p_end, q_end


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


# --------------------------------------------------------------------------- builder


@dataclass
class RawComplex:
    """What the construction returns (see :class:`PolyhedralComplex` for the meaning)."""

    vertices: np.ndarray  # (n0, d) float64
    vertex_signs: np.ndarray  # (n0, N) int8
    edges: np.ndarray  # (n1, 2) int64
    pairs: dict  # k -> (cells int64, facets int64), 2 <= k <= d
    counts: list  # [n0, ..., nd]


def build(weights, lo: np.ndarray, hi: np.ndarray, tol: float) -> RawComplex:
    """Run the cuts of all hidden neurons, layer by layer, neuron by neuron."""
    st = _State(weights, lo, hi)
    g = 0  # global index of the neuron being cut
    for layer in range(len(st.hidden)):
        st.start_layer(layer)
        for j in range(st.hidden[layer][0].shape[0]):
            st.cut(j, g, tol)
            g += 1
        logger.debug("polyhedral: after hidden layer %d, f-vector %s", layer + 1, st.counts)
    return st.result()


class _State:
    """The complex under construction (see the module docstring)."""

    def __init__(self, weights, lo: np.ndarray, hi: np.ndarray) -> None:
        self.d = d = lo.shape[0]
        self.hidden = weights[:-1]
        self.N = sum(W.shape[0] for W, _ in self.hidden)
        X0, E0, P0, counts = box_complex(lo, hi)
        self.n_box = X0.shape[0]
        self.X = _Grow(X0.copy(), X0.shape[0])
        self.E = _Grow(E0.copy(), E0.shape[0])
        self.Pc = {k: _Grow(P0[k][0].copy(), P0[k][0].shape[0]) for k in range(2, d + 1)}
        self.Pf = {k: _Grow(P0[k][1].copy(), P0[k][1].shape[0]) for k in range(2, d + 1)}
        self.counts = list(counts)
        # Per-neuron sign rows (N, vertex capacity); rows are contiguous for the cut.
        self.ST = np.zeros((self.N, max(64, 4 * X0.shape[0])), np.int8)
        # Parents and birth neuron of every non-box vertex.
        self.pa = _Grow(np.empty(64, INT), 0)
        self.pb = _Grow(np.empty(64, INT), 0)
        self.born = _Grow(np.empty(64, INT), 0)
        # Scratch maps old cell -> new C- index / C0 index (read only at split cells, so
        # never cleared).
        self.mmap = {k: _Grow(np.empty(64, INT), 0) for k in range(1, d + 1)}
        self.zmap = {k: _Grow(np.empty(64, INT), 0) for k in range(1, d + 1)}
        width = max((W.shape[0] for W, _ in self.hidden), default=0)
        self.Zbuf = np.empty((width, self.ST.shape[1]))
        self.Zt = self.Zbuf[:0]

    def start_layer(self, layer: int) -> None:
        """Values of all of this layer's neurons at all current vertices, (n_l, capacity).

        Layer 0 is a matrix product with the coordinates. A later layer uses the previous
        layer's values at the vertices: they are exact there (each vertex lies in the
        closure of cells where that layer is affine, and the pre-activation is continuous),
        so ReLU of them followed by the next Linear is the forward pass. One buffer serves
        all layers, overwritten column block by column block (fresh memory is slow to
        touch, and this is the largest array).
        """
        W, b = self.hidden[layer]
        n_l = W.shape[0]
        nV = self.X.n
        if self.Zbuf.shape[1] < nV:
            self.Zbuf = np.empty((self.Zbuf.shape[0], max(nV, self.ST.shape[1])))
        buf = self.Zbuf
        if layer == 0:
            hmax = np.abs(self.X.view).max(axis=0)
            buf[:n_l, :nV] = W @ self.X.view.T + b[:, None]
        else:
            n_prev = self.hidden[layer - 1][0].shape[0]
            hmax = np.maximum(buf[:n_prev, :nV].max(axis=1), 0.0)
            step = 8192
            for c0 in range(0, nV, step):
                c1 = min(c0 + step, nV)
                blk = np.maximum(buf[:n_prev, c0:c1], 0.0)
                buf[:n_l, c0:c1] = W @ blk + b[:, None]
        self.Zt = buf[:n_l]
        # Scale of each neuron: a bound on the size of the terms |W h| + |b| it sums over
        # the box (h is affine on the cells of earlier layers, so its extremes are at the
        # current vertices). Rounding errors are relative to this, not to |z|, which may be
        # nothing but rounding (a neuron vanishing identically on part of the box).
        self.scale = np.abs(W) @ hmax + np.abs(b)

    def _reserve_vertices(self, extra: int) -> None:
        n = self.X.n
        need = n + extra
        self.X.reserve(extra)
        if need > self.ST.shape[1]:
            cap = max(need, 2 * self.ST.shape[1])
            ST = np.zeros((self.N, cap), np.int8)
            ST[:, :n] = self.ST[:, :n]
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

    def cut(self, j: int, g: int, tol: float) -> None:
        """Cut the complex by neuron ``j`` of the current layer (global index ``g``).

        Steps: the status of every cell (which side of the hyperplane it lies on); the
        split polygons (k = 2, before the edges change: it reads their old endpoints);
        the split edges (k = 1: new vertices and edges); the cut edges ``C0`` of the split
        polygons; the split k-cells for k >= 3, upwards.
        """
        cells = self._status(j, g, tol)
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
            self._split_cells(k, st, split[k], nsplit_pairs[k], has_zero)

    def _status(self, j: int, g: int, tol: float):
        """Side of the hyperplane of every cell: ``(st, split, nsplit_pairs, has_zero)``, or
        None when no cell is split.

        ``st[k]`` holds the status bits of the k-cells (1: a vertex on the + side, 2: one on
        the - side, 3: split), ``split[k]`` the split k-cells (``split[0]`` unused),
        ``nsplit_pairs[k]`` (k >= 3) the number of (split cell, split facet) pairs. Vertex
        signs for neuron ``g`` are written to ``ST[g]``. A split k-cell with a facet inside
        the hyperplane is impossible for a convex cell: :class:`DegenerateCutError`, raised
        before anything changes.
        """
        counts = self.counts
        nV = self.X.n
        st_v, st_e, npos, nneg, nzero, se = _status_vertices_edges(
            self.Zt[j, :nV], nV, tol * float(self.scale[j]), self.ST[g], self.E.a, counts[1]
        )
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
        return st, split, nsplit_pairs, nzero > 0

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
        """k = 1: a new vertex ``v`` on each split edge ``(p, q)`` (p on the + side), which
        becomes ``(p, v)`` (same index) and ``(v, q)`` (new)."""
        counts = self.counts
        nV, nE, ns = self.X.n, counts[1], se.shape[0]
        E = self.E.a
        a = E[se, 0]
        b = E[se, 1]
        self._reserve_vertices(ns)
        p_end, q_end = _new_vertices(self.X.a, self.Zt, nV, a, b, self.Zt[j, :nV], j, st_v)
        self.X.n = nV + ns
        for arr, val in ((self.pa, a), (self.pb, b), (self.born, np.full(ns, g, INT))):
            arr.reserve(ns)
            arr.a[arr.n : arr.n + ns] = val
            arr.n += ns
        new = np.arange(nV, nV + ns, dtype=INT)
        self.E.reserve(ns)
        E = self.E.a
        E[se, 1] = new
        E[se, 0] = p_end
        E[nE : nE + ns, 0] = new
        E[nE : nE + ns, 1] = q_end
        self.E.n = nE + ns
        counts[0] = nV + ns
        counts[1] = nE + ns

    def _add_edges(self, ends: np.ndarray) -> None:
        """Append edges with the given endpoints, shape (n, 2)."""
        n = ends.shape[0]
        self.E.reserve(n)
        self.E.a[self.counts[1] : self.counts[1] + n] = ends
        self.E.n = self.counts[1] + n
        self.counts[1] += n

    def _split_cells(self, k: int, st, sc: np.ndarray, nsplit_pairs: int, has_zero: bool) -> None:
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

    def result(self) -> RawComplex:
        nV = self.X.n
        S = _assemble_vertex_signs(self.ST, nV, self.n_box, self.pa.a, self.pb.a, self.born.a)
        d = self.d
        return RawComplex(
            vertices=self.X.view.copy(),
            vertex_signs=S,
            edges=self.E.view.copy(),
            pairs={k: (self.Pc[k].view.copy(), self.Pf[k].view.copy()) for k in range(2, d + 1)},
            counts=list(self.counts),
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
