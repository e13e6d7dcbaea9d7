"""Edge subdivision generalised to cells of every dimension (the construction behind
:func:`nntopo.polyhedral.polyhedral_complex`).

State of the complex during the construction
--------------------------------------------
* 0-cells: coordinates ``X (nV, d)``, vertex sign matrix ``S (nV, N) int8``;
* 1-cells: endpoints ``E (nE, 2)``;
* k-cells, 2 <= k <= d: incidence pairs ``(cell, facet)`` in two int64 arrays.
All arrays are over-allocated and grown geometrically (:class:`_Grow`), never re-stacked.

One cut by a neuron (the hyperplane ``H = {z = 0}`` of that neuron)
------------------------------------------------------------------
``z`` is affine on every current cell, so its value at the vertices decides everything.
Each vertex gets a status bit set: 1 if ``z > thr``, 2 if ``z < -thr``, 0 if ``|z| <= thr``
(``thr = tol * max|z|``: it is on ``H``). A cell's status is the OR of its facets'
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

This is exactly the face lattice of the cut polytopes, so the result is a polyhedral
complex whose cells are the closures of the sign classes. Sign vectors of vertices are
tracked exactly: a vertex made on edge ``(a, b)`` takes ``sign(S[a] + S[b])`` for earlier
neurons (the open edge lies strictly on one side of every earlier hyperplane that does not
contain it) and 0 for the cutting neuron; a cell's sign is the common nonzero sign of its
vertices, 0 if all vanish.
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
def _or_status(inc_c, inc_f, m, st_f, n_c):  # pragma: no cover - compiled
    """Status of each k-cell: OR of its facets' status bits."""
    st = np.zeros(n_c, np.uint8)
    for p in range(m):
        st[inc_c[p]] |= st_f[inc_f[p]]
    return st


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
def _polygon_cut_ends(inc_c, inc_f, m, st_c, st_e, edges, st_v, cmin, f0, nsc, check_zero):  # pragma: no cover
    """For every split 2-cell, the two endpoints of its cut edge ``C0``.

    They are the new vertices of its split edges plus its vertices lying on ``H``; a
    convex polygon cut by a line has exactly two. Returns ``(ends (nsc, 2), ok)``.
    """
    ends = np.full((nsc, 2), -1, np.int64)
    cnt = np.zeros(nsc, np.int64)
    ok = True
    for p in range(m):
        c = inc_c[p]
        if st_c[c] != 3:
            continue
        i = cmin[c]
        f = inc_f[p]
        s = st_e[f]
        if s == 3:
            u = f0[f]
            if cnt[i] >= 2:
                ok = False
            else:
                ends[i, cnt[i]] = u
                cnt[i] += 1
        elif check_zero:
            for t in range(2):
                u = edges[f, t]
                if st_v[u] == 0:
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
    return ends, ok


@numba.njit(cache=True)
def _split_pairs(inc_c, inc_f, m, st_c, st_f, cmin, fmin, f0, c0, out_c, out_f, q, low_c, low_f, r, write_low):  # pragma: no cover
    """Deal the facets of split k-cells to ``C+``/``C-`` and record ``(C0, F0)`` pairs.

    ``cmin[c]`` is the index (in the split list) of split cell ``c``; the new ``C-`` is
    ``cmin_base + that``; here ``cmin`` already holds the absolute new index. ``out_*``
    (same arrays as ``inc_*``) receive new k-level pairs from position ``q``; ``low_*``
    receive the (k-1)-level pairs ``(C0, F0)`` from position ``r``.
    """
    for p in range(m):
        c = inc_c[p]
        if st_c[c] != 3:
            continue
        f = inc_f[p]
        s = st_f[f]
        if s == 3:
            out_c[q] = cmin[c]
            out_f[q] = fmin[f]
            q += 1
            if write_low:
                low_c[r] = c0[c]
                low_f[r] = f0[f]
                r += 1
        elif s == 2:
            inc_c[p] = cmin[c]
    return q, r


@numba.njit(cache=True)
def _new_vertex_signs(S, a, b, new, g):  # pragma: no cover - compiled
    """Sign rows of new vertices: sign(S[a] + S[b]) for neurons < g, 0 for neuron g."""
    for i in range(new.shape[0]):
        v = new[i]
        ra = a[i]
        rb = b[i]
        for j in range(g):
            s = S[ra, j] + S[rb, j]
            S[v, j] = 1 if s > 0 else (-1 if s < 0 else 0)
        S[v, g] = 0


@numba.njit(cache=True)
def _cell_signs(inc_c, inc_f, m, Sf, n_c):  # pragma: no cover - compiled
    """Sign rows of k-cells from their facets' rows: the common nonzero sign, else 0."""
    N = Sf.shape[1]
    out = np.zeros((n_c, N), np.int8)
    for p in range(m):
        c = inc_c[p]
        f = inc_f[p]
        for j in range(N):
            s = Sf[f, j]
            if s != 0:
                out[c, j] = s
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


def _forward_hidden(X: np.ndarray, weights, upto: int) -> np.ndarray:
    """Pre-activations of hidden layer ``upto`` at the points ``X (n, d)``."""
    h = X
    for W, b in weights[:upto]:
        h = np.maximum(h @ W.T + b, 0.0)
    W, b = weights[upto]
    return h @ W.T + b


def build(weights, lo: np.ndarray, hi: np.ndarray, tol: float) -> RawComplex:
    """Run the cuts of all hidden neurons, layer by layer, neuron by neuron."""
    d = lo.shape[0]
    hidden = weights[:-1]
    N = sum(W.shape[0] for W, _ in hidden)
    X0, E0, P0, counts = box_complex(lo, hi)

    Xg = _Grow(X0.copy(), X0.shape[0])
    Sg = _Grow(np.zeros((X0.shape[0], N), np.int8), X0.shape[0])
    Eg = _Grow(E0.copy(), E0.shape[0])
    Pc = {k: _Grow(P0[k][0].copy(), P0[k][0].shape[0]) for k in range(2, d + 1)}
    Pf = {k: _Grow(P0[k][1].copy(), P0[k][1].shape[0]) for k in range(2, d + 1)}
    counts = list(counts)

    g = 0  # global index of the neuron being cut
    for layer in range(len(hidden)):
        n_l = hidden[layer][0].shape[0]
        nV = Xg.n
        # Values of all of this layer's neurons at all vertices: a forward pass is exact
        # because the pre-activation is continuous and affine on each current cell.
        Zg = _Grow(np.empty((max(Xg.a.shape[0], 16), n_l)), nV)
        Zg.a[:nV] = _forward_hidden(Xg.view, weights, layer)
        for j in range(n_l):
            _cut(j, g, d, Xg, Sg, Eg, Pc, Pf, counts, Zg, tol)
            g += 1
    return RawComplex(
        vertices=Xg.view.copy(),
        vertex_signs=Sg.view.copy(),
        edges=Eg.view.copy(),
        pairs={k: (Pc[k].view.copy(), Pf[k].view.copy()) for k in range(2, d + 1)},
        counts=counts,
    )


def _cut(j, g, d, Xg, Sg, Eg, Pc, Pf, counts, Zg, tol) -> None:
    """Cut the complex by neuron ``j`` of the current layer (global index ``g``)."""
    nV = Xg.n
    z = Zg.a[:nV, j]
    scale = float(np.max(np.abs(z))) if nV else 0.0
    thr = tol * scale
    pos = z > thr
    neg = z < -thr
    col = Sg.a[:nV, g]
    col[:] = 0
    col[pos] = 1
    col[neg] = -1
    if not (pos.any() and neg.any()):
        return  # the hyperplane does not cross the box's interior: nothing splits
    st_v = pos.view(np.uint8) | (neg.view(np.uint8) << 1)
    has_zero = not bool(np.all(st_v))

    # Statuses of all cells, upwards, before anything changes.
    E = Eg.view
    st = [st_v, st_v[E[:, 0]] | st_v[E[:, 1]]]
    for k in range(2, d + 1):
        st.append(_or_status(Pc[k].a, Pf[k].a, Pc[k].n, st[k - 1], counts[k]))

    # Consistency checks first (nothing is mutated before they pass).
    split = [None] + [np.flatnonzero(s == 3) for s in st[1:]]
    nsplit_pairs = {}
    for k in range(2, d + 1):
        n, bad = _count_split_pairs(Pc[k].a, Pf[k].a, Pc[k].n, st[k], st[k - 1])
        if bad:
            raise DegenerateCutError(f"neuron {g}: a split {k}-cell has a facet inside the hyperplane")
        nsplit_pairs[k] = n

    # ---- k = 1: split edges, new vertices.
    se = split[1]
    ns = se.shape[0]
    newv = np.arange(nV, nV + ns, dtype=INT)
    f0_1 = np.full(counts[1], -1, dtype=INT)
    fmin_1 = np.full(counts[1], -1, dtype=INT)
    if d >= 2:
        # Endpoints of the cut edges of split polygons (computed before edges change).
        nsc2 = split[2].shape[0]
        cmin2 = np.full(counts[2], -1, dtype=INT)
        cmin2[split[2]] = np.arange(nsc2, dtype=INT)
        f0_1[se] = newv
        ends, ok = _polygon_cut_ends(
            Pc[2].a, Pf[2].a, Pc[2].n, st[2], st[1], Eg.a, st_v, cmin2, f0_1, nsc2, has_zero
        )
        if not ok:
            raise DegenerateCutError(f"neuron {g}: a split polygon does not have exactly two cut points")
    if ns:
        a = E[se, 0]
        b = E[se, 1]
        za = z[a]
        zb = z[b]
        t = za / (za - zb)
        Xg.reserve(ns)
        Sg.reserve(ns)
        Zg.reserve(ns)
        Xg.a[nV : nV + ns] = Xg.a[a] + t[:, None] * (Xg.a[b] - Xg.a[a])
        Zg.a[nV : nV + ns] = Zg.a[a] + t[:, None] * (Zg.a[b] - Zg.a[a])
        Zg.a[nV : nV + ns, j] = 0.0
        _new_vertex_signs(Sg.a, a, b, newv, g)
        Xg.n = Sg.n = Zg.n = nV + ns
        # + end first: (p, v) keeps the index, (v, q) is new.
        a_pos = st_v[a] == 1
        p_end = np.where(a_pos, a, b)
        q_end = np.where(a_pos, b, a)
        nE = counts[1]
        Eg.reserve(ns)
        Eg.a[se, 0] = p_end
        Eg.a[se, 1] = newv
        Eg.a[nE : nE + ns, 0] = newv
        Eg.a[nE : nE + ns, 1] = q_end
        Eg.n = nE + ns
        fmin_1[se] = np.arange(nE, nE + ns, dtype=INT)
        f0_1[se] = newv
        counts[1] = nE + ns
        counts[0] = nV + ns

    # ---- k >= 2.
    fmin, f0 = fmin_1, f0_1
    for k in range(2, d + 1):
        sc = split[k]
        nsc = sc.shape[0]
        n_k_old = counts[k]
        n_low = counts[k - 1]  # after the (k-1) pass, C0s of this pass are appended after it
        cmin = np.full(n_k_old, -1, dtype=INT)
        cmin[sc] = np.arange(n_k_old, n_k_old + nsc, dtype=INT)
        c0 = np.full(n_k_old, -1, dtype=INT)
        c0[sc] = np.arange(n_low, n_low + nsc, dtype=INT)
        extra = nsplit_pairs[k] + 2 * nsc
        Pc[k].reserve(extra)
        Pf[k].reserve(extra)
        m = Pc[k].n
        if k == 2:
            low_c = np.empty(0, INT)
            low_f = np.empty(0, INT)
        else:
            Pc[k - 1].reserve(nsplit_pairs[k])
            Pf[k - 1].reserve(nsplit_pairs[k])
            low_c, low_f = Pc[k - 1].a, Pf[k - 1].a
        r0 = Pc[k - 1].n if k > 2 else 0
        q, r = _split_pairs(
            Pc[k].a, Pf[k].a, m, st[k], st[k - 1], cmin, fmin, f0, c0,
            Pc[k].a, Pf[k].a, m, low_c, low_f, r0, k > 2,
        )
        # Both halves are bounded by C0.
        Pc[k].a[q : q + nsc] = sc
        Pf[k].a[q : q + nsc] = c0[sc]
        Pc[k].a[q + nsc : q + 2 * nsc] = cmin[sc]
        Pf[k].a[q + nsc : q + 2 * nsc] = c0[sc]
        Pc[k].n = Pf[k].n = q + 2 * nsc
        if k == 2:
            Eg.reserve(nsc)
            Eg.a[n_low : n_low + nsc] = ends
            Eg.n = n_low + nsc
        else:
            Pc[k - 1].n = Pf[k - 1].n = r
            if has_zero:
                _add_zero_faces(k, Pc, Pf, st, sc, c0)
        counts[k - 1] = n_low + nsc
        counts[k] = n_k_old + nsc
        fmin = np.full(n_k_old, -1, dtype=INT)
        fmin[sc] = cmin[sc]
        f0 = c0


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


def cell_signs(raw: RawComplex, k: int, below: np.ndarray) -> np.ndarray:
    """Sign rows of the k-cells (k >= 2) from those of the (k-1)-cells."""
    cells, facets = raw.pairs[k]
    return _cell_signs(cells, facets, cells.shape[0], below, raw.counts[k])
