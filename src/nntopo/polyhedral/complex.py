"""The exact polyhedral complex of a ReLU network on a box, and the function that builds it.

Scale: the construction and every query here run on a sign-equivalent copy of the network
rescaled by powers of two (input coordinates and each hidden neuron, see
:func:`._subdivision.normalize_network`), so weights and boxes of any size give the same
signs as the network itself, without overflow. Results are reported in the caller's
units: vertices and interior points in input units, ``weights`` as given.

Tolerance: at a vertex, a neuron's value counts as 0 when it lies within ``tol * T`` of 0,
with ``T = |W_n| |h| + |b_n|`` the size of the terms the pre-activation sums *there* (``h``
the previous layer's output at that point), not over the whole box; every other vertex
sign is the exact one (see the module docstring of ``_subdivision``). For points given to
:meth:`PolyhedralComplex.point_signs` and :meth:`PolyhedralComplex.region_of`, a value
counts as 0 when ``|z| <= tol * T`` plus its rounding-error bound.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._validation import check_choice, check_real
from ._subdivision import (
    _KAPPA,
    _TRUST,
    DegenerateCutError,
    RawComplex,
    _count_zeros,
    _first_mixed_cell,
    _first_sign_mismatch,
    _signs_from_vertices,
    build,
    error_constants,
    normalize_network,
)
from ._io import read_complex_file, write_complex_file
from ._weights import as_weights, validate_box

__all__ = ["PolyhedralComplex", "polyhedral_complex", "DegenerateCutError", "ComplexCheckError"]

logger = logging.getLogger("nntopo")

_FORMAT = 1


#: Levels of :meth:`PolyhedralComplex.check`; ``"none"`` skips it where a check is optional.
CheckLevel = Literal["combinatorial", "network"]
CHECK_LEVELS = ("none", "combinatorial", "network")


class ComplexCheckError(RuntimeError):
    """:meth:`PolyhedralComplex.check` found the complex invalid (the message says where)."""


class PolyhedralComplex:
    """Cells of the partition of a box by the hidden ReLUs of a network, with their boundaries.

    Cells of dimension k = 0..d (all of them, for every d) are numbered
    ``0..f_vector[k]-1``. For every k-cell the sign vector over all ``N`` hidden neurons
    (in layer order) is ``+1``/``-1`` for the side it lies on and ``0`` when it lies inside
    that neuron's hyperplane. Regions (d-cells) have no zeros except for a neuron whose
    pre-activation vanishes identically on them (e.g. a zero row with zero bias). Distinct
    regions have distinct sign vectors (each sign class is convex).

    Main accessors: :attr:`f_vector`, :meth:`euler_characteristic`, :meth:`boundary`
    (Z/2 CSR ``(f_{k-1}, f_k)``), :meth:`signs`, :attr:`edges`, :meth:`cell_vertices`,
    :attr:`interior_points`, :attr:`activation_patterns`, :meth:`region_of`,
    :meth:`region_adjacency`,
    :meth:`save`/:meth:`load`, :meth:`check`, :meth:`point_signs`.

    Attributes
    ----------
    vertices : (f0, d) float64 — vertex coordinates, input units; a vertex interpolated
        between far vertices is off by about 2**-53 times their size (a vertex near the
        centre of a box of side 1e10 by about 1e-6); its sign vector is exact all the same
        (decided at the recomputed vertex wherever the float value was in doubt).
    lo, hi : (d,) float64 — the box.
    weights : list of (W (out, in), b (out,)) float64 — the network, output layer last.
    tol : float — relative tolerance under which a pre-activation counted as 0 (relative to
        the size of the terms it sums at that point, see :func:`polyhedral_complex`).
    """

    def __init__(self, raw: RawComplex, weights, lo: np.ndarray, hi: np.ndarray, tol: float) -> None:
        self._raw = raw
        self.vertices: np.ndarray = raw.vertices
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)
        self.weights = [(np.asarray(W), np.asarray(b)) for W, b in weights]
        self.tol = float(tol)
        self._signs: dict[int, np.ndarray] = {0: raw.vertex_signs}
        self._boundary: dict[int, sp.csr_matrix] = {}
        self._points: dict[int, np.ndarray] = {}
        self._vertex_csr: dict[int, sp.csr_matrix] = {}
        self._normalized: tuple[list, int, list] | None = None
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def dim(self) -> int:
        """Input dimension d."""
        return int(self.vertices.shape[1])

    @property
    def n_hidden(self) -> int:
        """Number N of hidden neurons (length of every sign vector)."""
        return int(self._raw.vertex_signs.shape[1])

    @property
    def hidden_widths(self) -> list[int]:
        """Widths of the hidden layers, in order."""
        return [int(W.shape[0]) for W, _ in self.weights[:-1]]

    @property
    def f_vector(self) -> np.ndarray:
        """Number of k-cells for k = 0..d, shape (d+1,) int64."""
        return np.asarray(self._raw.counts, dtype=np.int64)

    @property
    def n_regions(self) -> int:
        """Number of d-cells (linear regions cut to the box)."""
        return int(self._raw.counts[-1])

    def euler_characteristic(self) -> int:
        """Sum over k of (-1)^k f_k; 1 for any cell complex of a box."""
        f = self.f_vector
        return int(np.sum(f * (-1) ** np.arange(f.shape[0])))

    # ------------------------------------------------------------------ cells
    @property
    def edges(self) -> np.ndarray:
        """Endpoints of the 1-cells, shape (f1, 2) int64."""
        return self._raw.edges

    def boundary(self, k: int) -> sp.csr_matrix:
        """Z/2 boundary matrix from k-cells to (k-1)-cells, shape (f_{k-1}, f_k), uint8 CSR.

        Column c lists the facets of k-cell c. ``k`` ranges over 0..d; ``boundary(0)`` is
        the empty map of shape (0, f_0).
        """
        k = self._check_k(k, lo=0)
        if k not in self._boundary:
            if k == 0:
                self._boundary[0] = sp.csr_matrix((0, self._raw.counts[0]), dtype=np.uint8)
                return self._boundary[0]
            if k == 1:
                E = self._raw.edges
                rows = E.ravel()
                cols = np.repeat(np.arange(E.shape[0], dtype=np.int64), 2)
            else:
                cols, rows = self._raw.pairs[k]
            shape = (self._raw.counts[k - 1], self._raw.counts[k])
            data = np.ones(rows.shape[0], dtype=np.uint8)
            B = sp.csr_matrix((data, (rows, cols)), shape=shape)
            B.sum_duplicates()
            self._boundary[k] = B
        return self._boundary[k]

    def facets(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Facets of the k-cells as CSR arrays ``(indptr (f_k+1,), indices)``: cell c has
        facets ``indices[indptr[c]:indptr[c+1]]`` (k-1 cells)."""
        B = self.boundary(k).T.tocsr()
        return B.indptr, B.indices

    def cell_vertices(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertices of the k-cells as CSR arrays ``(indptr (f_k+1,), indices)``, sorted."""
        k = self._check_k(k, lo=0)
        if k not in self._vertex_csr:
            n0 = self._raw.counts[0]
            if k == 0:
                M = sp.identity(n0, dtype=np.int64, format="csr")
            else:
                self.cell_vertices(k - 1)
                # Vertices of a cell = union of its facets' vertices (counts, then 1s).
                M = (self.boundary(k).T.astype(np.int64) @ self._vertex_csr[k - 1]).tocsr()
                M.data[:] = 1
                M.sort_indices()
            self._vertex_csr[k] = M
        M = self._vertex_csr[k]
        return M.indptr, M.indices

    def signs(self, k: int) -> np.ndarray:
        """Sign vectors of the k-cells, shape (f_k, N) int8 (+1, 0, -1 per hidden neuron).

        Computed on first request from the vertices' sign vectors (then cached): a cell's
        sign for a neuron is the common nonzero sign of its vertices, 0 if all vanish.
        """
        k = self._check_k(k, lo=0)
        if k not in self._signs:
            indptr, indices = self.cell_vertices(k)
            self._signs[k] = _signs_from_vertices(
                indptr.astype(np.int64), indices.astype(np.int64), self._raw.vertex_signs
            )
        return self._signs[k]

    @property
    def vertex_signs(self) -> np.ndarray:
        """Sign vectors of the vertices, shape (f0, N) int8."""
        return self._signs[0]

    @property
    def region_signs(self) -> np.ndarray:
        """Sign vectors of the regions, shape (f_d, N) int8."""
        return self.signs(self.dim)

    @property
    def activation_patterns(self) -> np.ndarray:
        """On/off pattern of the hidden ReLUs on each region, shape (f_d, N) bool."""
        return self.region_signs > 0

    def cell_points(self, k: int) -> np.ndarray:
        """A point in the relative interior of every k-cell, shape (f_k, d) float64.

        A positive-weight average of the cell's vertices (mean of its facets' points),
        which lies in the relative interior of a convex polytope.
        """
        k = self._check_k(k, lo=0)
        if k not in self._points:
            if k == 0:
                self._points[0] = self.vertices
            elif k == 1:
                E = self._raw.edges
                self._points[1] = 0.5 * (self.vertices[E[:, 0]] + self.vertices[E[:, 1]])
            else:
                below = self.cell_points(k - 1)
                cells, facets = self._raw.pairs[k]
                n = self._raw.counts[k]
                cnt = np.bincount(cells, minlength=n).astype(np.float64)
                pts = np.empty((n, self.dim))
                for i in range(self.dim):
                    pts[:, i] = np.bincount(cells, weights=below[facets, i], minlength=n) / cnt
                self._points[k] = pts
        return self._points[k]

    @property
    def interior_points(self) -> np.ndarray:
        """One interior point per region, shape (f_d, d) float64."""
        return self.cell_points(self.dim)

    def region_adjacency(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of regions sharing a facet (exact adjacency), and that facet.

        Returns ``(pairs (m, 2) int64 with pairs[:, 0] < pairs[:, 1], facets (m,) int64)``:
        every interior (d-1)-cell has exactly two regions on its sides.
        """
        B = self.boundary(self.dim).tocsr()  # rows: (d-1)-cells, columns: regions
        deg = np.diff(B.indptr)
        if np.any(deg > 2):
            raise RuntimeError("a (d-1)-cell has more than two regions: the complex is invalid")
        inner = np.flatnonzero(deg == 2)
        cols = B.indices[B.indptr[inner][:, None] + np.arange(2)]
        return np.sort(cols, axis=1).astype(np.int64), inner.astype(np.int64)

    # ------------------------------------------------------------------ queries
    def pre_activations(self, points: np.ndarray) -> np.ndarray:
        """Hidden pre-activations at ``points (n, d)``, shape (n, N) float64."""
        h = np.asarray(points, dtype=np.float64)
        out = []
        for W, b in self.weights[:-1]:
            z = h @ W.T + b
            out.append(z)
            h = np.maximum(z, 0.0)
        if not out:
            return np.zeros((h.shape[0], 0))
        return np.concatenate(out, axis=1)

    def _network(self) -> tuple[list, int, list]:
        """The sign-equivalent normalised hidden layers, the input exponent and the
        rounding-error constants (see :func:`._subdivision.normalize_network`)."""
        if self._normalized is None:
            hidden, e_in = normalize_network(self.weights, self.lo, self.hi)
            self._normalized = (hidden, e_in, error_constants(hidden, self.dim))
        return self._normalized

    def point_signs(self, points: Any) -> np.ndarray:
        """Sign vectors of ``points (n, d)`` (input units), shape (n, N) int8, by the
        construction's rule: a pre-activation ``z`` counts as 0 when ``|z| <= tol * T`` plus
        its rounding-error bound, with ``T = |W_n| |h| + |b_n|`` at that point (the bound is
        carried through the layers, and not through a ReLU that is certainly off). Computed
        on the normalised network, so it neither overflows nor depends on the weights'
        scale."""
        hidden, e_in, consts = self._network()
        h = np.ldexp(np.asarray(points, dtype=np.float64), -e_in)
        if h.ndim != 2 or h.shape[1] != self.dim:
            raise ValueError(f"points must have shape (n, {self.dim}); got {np.shape(points)}")
        out = np.empty((h.shape[0], self.n_hidden), dtype=np.int8)
        err = np.zeros_like(h)
        col = 0
        for (W, b), (_, _, gamma, _) in zip(hidden, consts):
            A = np.abs(W).T
            z = h @ W.T + b
            T = np.abs(h) @ A + np.abs(b)
            err = err @ A + gamma * T
            s = np.sign(z).astype(np.int8)
            s[np.abs(z) <= self.tol * T + _KAPPA * err] = 0
            out[:, col : col + W.shape[0]] = s
            col += W.shape[0]
            err = np.where(z < -err, 0.0, err)
            h = np.maximum(z, 0.0)
        return out

    def region_of(self, points: Any) -> np.ndarray:
        """Index of the region containing each point, shape (n,) int64; -1 outside the box.

        ``points`` has shape (n, d) (or (d,) for one point). The sign vector of each point
        (:meth:`point_signs`) is looked up among the regions' sign vectors. A point on
        hyperplanes (zero entries that no region has) is given the region on the + side of
        them if there is one, else the - side, else the first region whose sign vector
        agrees with all its nonzero entries (one whose closure contains the point).
        """
        P = np.asarray(points, dtype=np.float64)
        if P.ndim == 1:
            P = P[None, :]
        if P.ndim != 2 or P.shape[1] != self.dim:
            raise ValueError(f"points must have shape (n, {self.dim}); got {np.shape(points)}")
        out = np.full(P.shape[0], -1, dtype=np.int64)
        inside = np.all((P >= self.lo) & (P <= self.hi), axis=1) & np.all(np.isfinite(P), axis=1)
        if not inside.any():
            return out
        if self.n_hidden == 0:
            out[inside] = 0
            return out
        s = self.point_signs(P[inside])
        found = self._lookup_signs(s)
        rest = np.flatnonzero(found < 0)
        for fill in (1, -1):
            if rest.size == 0:
                break
            t = s[rest].copy()
            t[t == 0] = fill
            f2 = self._lookup_signs(t)
            found[rest] = f2
            rest = rest[f2 < 0]
        R = self.region_signs
        for i in rest:  # rare: mixed sides, or a region where a neuron vanishes identically
            q = s[i]
            cand = np.flatnonzero(np.all((R == q) | (q == 0), axis=1))
            if cand.size:
                found[i] = cand[0]
        out[inside] = found
        return out

    def _lookup_signs(self, s: np.ndarray) -> np.ndarray:
        N = self.n_hidden
        if self._lookup is None:
            R = np.ascontiguousarray(self.region_signs)
            keys = R.view(np.dtype((np.void, N))).ravel()
            order = np.argsort(keys, kind="stable")
            self._lookup = (keys[order], order)
        keys, order = self._lookup
        q = np.ascontiguousarray(s, dtype=np.int8).view(np.dtype((np.void, N))).ravel()
        pos = np.searchsorted(keys, q)
        pos_c = np.minimum(pos, keys.shape[0] - 1)
        hit = keys[pos_c] == q
        return np.where(hit, order[pos_c], -1).astype(np.int64)

    # ------------------------------------------------------------------ checks
    def check(self, level: CheckLevel = "network") -> None:
        """Raise :class:`ComplexCheckError` (a ``RuntimeError``) unless the complex is valid.

        ``level="combinatorial"``: Euler characteristic 1, every boundary of a boundary
        vanishes mod 2, no incidence is repeated, edges have distinct ends, no region has
        vertices on both sides of a hyperplane (a cut left out). These cost a few percent
        of the build in d = 2, up to a third in d = 3.

        ``level="network"`` (default) adds what a consistent but wrong complex cannot
        pass: evaluated through the network, every region's interior point has the
        region's sign vector (:meth:`_check_region_signs`), and the vertices have theirs:
        every vertex lying on more hyperplanes than general position allows, and a sample
        of at most :attr:`CHECK_VERTICES` of the others (:meth:`_check_vertices`). Only
        entries the float evaluation is certain about count (see :meth:`_first_mismatch`).
        This is a forward pass of every region and of the sampled vertices: about as much
        as the build itself (``benchmarks/bench_polyhedral.py`` prints both).
        """
        level = check_choice(level, "level", ("combinatorial", "network"))
        self._check_combinatorial()
        self._check_no_mixed_signs()
        if level == "network":
            self._check_region_signs()
            self._check_vertices()

    def _check_combinatorial(self) -> None:
        """Euler characteristic 1, ∂∂ = 0 mod 2, no repeated incidence, edges with two ends."""
        chi = self.euler_characteristic()
        if chi != 1:
            raise ComplexCheckError(
                f"Euler characteristic is {chi}, not 1: the complex is invalid (f = {self.f_vector})"
            )
        E = self._raw.edges
        if E.shape[0] and np.any(E[:, 0] == E[:, 1]):
            raise ComplexCheckError("an edge has equal endpoints")
        for k in range(1, self.dim + 1):
            if self.boundary(k).data.size and self.boundary(k).data.max() > 1:
                raise ComplexCheckError(f"a {k}-cell lists a facet twice")
        for k in range(2, self.dim + 1):
            BB = self.boundary(k - 1).astype(np.int64) @ self.boundary(k).astype(np.int64)
            if BB.nnz and np.any(BB.data % 2):
                raise ComplexCheckError(f"boundary of boundary is not 0 mod 2 in dimension {k}")

    CHECK_VERTICES = 8192

    def _check_no_mixed_signs(self) -> None:
        """No region has one vertex on the + side and one on the - side of a hyperplane
        (the hyperplane would cross it, and a cut is missing)."""
        if self.n_hidden == 0:
            return
        indptr, indices = self.cell_vertices(self.dim)
        r, n = _first_mixed_cell(indptr.astype(np.int64), indices.astype(np.int64), self.vertex_signs)
        if r >= 0:
            raise ComplexCheckError(
                f"region {r} has vertices on both sides of hidden neuron {n}'s hyperplane: a cut is missing"
            )

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per vertex, in normalised units: how far it may lie from the exact vertex, and
        the size of the coordinates its values were computed from. A complex read from a
        file carries neither: then 0 and the box's size (the largest the tolerance band
        can be)."""
        _, e_in, _ = self._network()
        raw = self._raw
        if raw.vertex_error is not None and raw.vertex_scale is not None:
            return np.ldexp(raw.vertex_error, -e_in), np.ldexp(raw.vertex_scale, -e_in)
        n0 = raw.counts[0]
        size = np.ldexp(max(np.abs(self.lo).max(), np.abs(self.hi).max()), -e_in)
        return np.zeros(n0), np.full(n0, size)

    def _first_mismatch(self, Y: np.ndarray, S: np.ndarray, pos: np.ndarray, mag: np.ndarray, chunk: int = 8192):
        """First ``(point, neuron, layer, unit, z, band)`` where the forward pass at the
        normalised points ``Y (m, d)`` certainly contradicts the sign vectors ``S (m, N)``,
        else None. ``pos`` bounds how far each point may lie from where it should be and
        ``mag`` the size of the coordinates behind it; the band is twice what the
        construction could miss: ``KAPPA (lip (pos + gcum |y|) + gcum beta) + tol (lip mag
        + beta)``."""
        hidden, _, consts = self._network()
        for r0 in range(0, Y.shape[0], chunk):
            r1 = min(r0 + chunk, Y.shape[0])
            h = Y[r0:r1]
            ny = np.abs(h).max(axis=1)
            col = 0
            for layer, ((W, b), (lip, beta, _, gcum)) in enumerate(zip(hidden, consts)):
                z = h @ W.T + b
                a = 2.0 * (_KAPPA * (pos[r0:r1] + gcum * ny) + self.tol * mag[r0:r1])
                c = 2.0 * (_KAPPA * gcum + self.tol) * beta
                i, n = _first_sign_mismatch(z, S[r0:r1, col : col + W.shape[0]], a, lip, c)
                if i >= 0:
                    return r0 + i, col + n, layer, n, float(z[i, n]), float(a[i] * lip[n] + c[n])
                h = np.maximum(z, 0.0, out=z)
                col += W.shape[0]
        return None

    def _check_region_signs(self) -> None:
        """Every region's interior point must have the region's sign vector.

        The interior point is an average of the region's vertices, so it may lie as far
        from where it should as the farthest of them; an entry counts only beyond that
        (see :meth:`_first_mismatch`). A neuron that vanishes identically on a region
        (sign 0) passes, and so do slivers the tolerance merged; an opposite sign, or a
        nonzero value where the region says 0, beyond the band is an error.
        """
        if self.n_hidden == 0:
            return
        _, e_in, _ = self._network()
        Pv, Mv = self._bounds()
        indptr, indices = self.cell_vertices(self.dim)
        P_reg = np.maximum.reduceat(Pv[indices], indptr[:-1])
        M_reg = np.maximum.reduceat(Mv[indices], indptr[:-1])
        bad = self._first_mismatch(np.ldexp(self.interior_points, -e_in), self.region_signs, P_reg, M_reg)
        if bad is not None:
            r, g, layer, n, z, band = bad
            raise ComplexCheckError(
                f"region {r}: hidden neuron {g} (layer {layer + 1}, unit {n}) has sign {int(np.sign(z)):+d} "
                f"at the region's interior point {self.interior_points[r].tolist()} ({abs(z) / band:.3g} times "
                f"its error bound), but the region's sign vector says {int(self.region_signs[r, g]):+d}: "
                "the complex is wrong"
            )

    def _check_vertices(self) -> None:
        """Vertices evaluated through the network must have their sign vectors.

        Every vertex on more hyperplanes than general position allows (``d`` zeros and
        box facets together) is checked: that is where a hyperplane was put through a
        vertex or a neuron vanishes, so where merging could have moved a hyperplane; each
        zero must be 0 and each sign right within the band of :meth:`_first_mismatch`. So
        is an evenly spaced sample of the others, up to :attr:`CHECK_VERTICES` in all: a
        hyperplane in the wrong place moves every vertex on it.
        """
        if self.n_hidden == 0:
            return
        _, e_in, _ = self._network()
        S = self.vertex_signs
        V = self.vertices
        on_box = ((V == self.lo) | (V == self.hi)).sum(axis=1)
        degenerate = _count_zeros(S) + on_box > self.dim
        cand = np.flatnonzero(degenerate)
        others = np.flatnonzero(~degenerate)
        room = self.CHECK_VERTICES - cand.size
        if room >= others.size:
            cand = np.arange(S.shape[0])
        elif room > 0:
            cand = np.union1d(cand, others[np.linspace(0, others.size - 1, room).astype(np.int64)])
        Pv, Mv = self._bounds()
        bad = self._first_mismatch(np.ldexp(V[cand], -e_in), S[cand], Pv[cand], Mv[cand])
        if bad is not None:
            i, g, layer, n, z, band = bad
            v = int(cand[i])
            raise ComplexCheckError(
                f"vertex {v} at {V[v].tolist()}: hidden neuron {g} (layer {layer + 1}, unit {n}) has sign "
                f"{int(np.sign(z)):+d} there ({abs(z) / band:.3g} times its error bound), but the vertex's sign "
                f"vector says {int(S[v, g]):+d}: the complex is wrong"
            )

    # ------------------------------------------------------------------ io
    def save(self, path: str | os.PathLike) -> None:
        """Write the complex (and the network and box) to a compressed npz file at exactly ``path``.

        The file is written under a temporary name and then renamed, so ``path`` never
        holds a half-written complex; no ``.npz`` suffix is added.
        """
        arrays: dict[str, np.ndarray] = {
            "format": np.array(_FORMAT),
            "vertices": self.vertices,
            "vertex_signs": self._raw.vertex_signs,
            "edges": self._raw.edges,
            "counts": np.asarray(self._raw.counts, dtype=np.int64),
            "lo": self.lo,
            "hi": self.hi,
            "tol": np.array(self.tol),
            "n_layers": np.array(len(self.weights)),
        }
        for k, (c, f) in self._raw.pairs.items():
            arrays[f"pairs{k}_cells"] = c
            arrays[f"pairs{k}_facets"] = f
        for i, (W, b) in enumerate(self.weights):
            arrays[f"W{i}"] = W
            arrays[f"b{i}"] = b
        write_complex_file(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, *, check: CheckLevel | Literal["none"] = "network") -> "PolyhedralComplex":
        """Read a complex written by :meth:`save`, validating everything in the file.

        Every entry is checked (present, dtype, shape, indices in range, counts matching
        the arrays, weights chaining, finite numbers, ``lo < hi``, tolerance in range);
        then :meth:`check` verifies the complex itself at the level ``check`` (default
        ``"network"``: a file is not trusted; ``"none"`` skips it).
        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file
        for anything wrong with it.
        """
        check = check_choice(check, "check", CHECK_LEVELS)
        z = read_complex_file(path, _FORMAT)
        raw = RawComplex(
            vertices=z["vertices"],
            vertex_signs=z["vertex_signs"],
            edges=z["edges"],
            pairs=z["pairs"],
            counts=z["counts"],
        )
        pc = cls(raw, z["weights"], z["lo"], z["hi"], z["tol"])
        if check != "none":
            try:
                pc.check(check)
            except (RuntimeError, ValueError) as exc:
                raise ValueError(f"{os.fspath(path)}: the stored complex fails its self-check: {exc}") from None
        return pc

    def __repr__(self) -> str:
        return f"PolyhedralComplex(d={self.dim}, hidden={self.hidden_widths}, f_vector={self.f_vector.tolist()})"

    def _check_k(self, k: int, lo: int) -> int:
        if not (isinstance(k, (int, np.integer)) and lo <= k <= self.dim):
            raise ValueError(f"k must be an integer in {lo}..{self.dim}; got {k!r}")
        return int(k)


def polyhedral_complex(
    net_or_weights: Any,
    box: Any = None,
    *,
    tol: float = 1e-15,
    check: CheckLevel | Literal["none"] = "combinatorial",
) -> PolyhedralComplex:
    """Exact polyhedral complex of a ReLU network on an axis-aligned box.

    Parameters
    ----------
    net_or_weights
        A list of ``(W (out, in), b (out,))`` numpy pairs (last = output layer), an object
        with ``weights()`` returning such a list (``nntopo.nets.MLP``), or a torch module
        made only of ``nn.Linear`` and ``nn.ReLU``. Only hidden neurons cut.
    box
        ``(lo, hi)`` scalars or arrays of length d (input units); default ``[-1, 1]^d``.
    tol
        Relative tolerance for merging: a neuron's value at a vertex counts as exactly 0
        (its hyperplane is taken to pass through the vertex) when ``|z| <= tol * T``,
        with ``T = |W_n| |h| + |b_n|`` the size of the terms the pre-activation sums *at
        that vertex* (``h`` the previous layer's output there). Every other sign is
        decided exactly: in floating point where the value clears its rounding-error
        bound, else in rational arithmetic at the exact vertex. ``T`` is local, so the
        tolerance does not grow with the box; the default (about 9 units of roundoff)
        merges only what float64 vertices could not represent apart. A larger ``tol``
        moves hyperplanes onto vertices up to ``tol * T`` away, which at a vertex far out
        in a large box is far in absolute terms: keep it small.
    check
        How to verify the complex before returning (:meth:`PolyhedralComplex.check`):
        ``"combinatorial"`` (default): Euler characteristic 1, ``∂∂ = 0``, no region
        straddling a hyperplane; ``"network"``: also, evaluated through the network,
        every region's interior point, every degenerate vertex and a sample of the
        others has its sign vector, the check a consistent but wrong complex cannot
        pass. It is a forward pass of every region, about as much as the build itself,
        so it is opt-in (the test suite runs every complex with it); ``"none"``: no check.

    Returns
    -------
    PolyhedralComplex
        All cells of every dimension 0..d with sign vectors and Z/2 boundaries. The
        construction is dimension-generic (any d); its size grows fast with d.

    Raises
    ------
    TypeError, ValueError
        For unsupported or malformed networks and empty boxes.
    DegenerateCutError
        If no attempt gave consistent cuts (see below).
    ComplexCheckError
        If no attempt passed :meth:`PolyhedralComplex.check` at the level ``check``.

    Notes
    -----
    A cut whose vertex signs no hyperplane through a convex cell could have, or a complex
    failing its check, can only come from merging (each vertex's hyperplane moved by its
    own amount) or from an interpolated vertex value off by more than the construction
    trusts (``1e-10`` of the terms behind it). Either makes the build start again with a
    1000 times wider trust band and a 1000 times finer ``tol``, then once more with no
    merging at all (``tol`` the smallest positive float: every vertex sign exact, which
    is always consistent, at the price of slivers thinner than float64 can show); the
    tolerance used is ``PolyhedralComplex.tol``.
    """
    weights = as_weights(net_or_weights)
    d = weights[0][0].shape[1]
    lo, hi = validate_box(box, d)
    tol = check_real(tol, "tol", minimum=0.0, maximum=1e-2, min_inclusive=False, max_inclusive=False)
    check = check_choice(check, "check", CHECK_LEVELS)
    last: Exception | None = None
    # The last attempt merges nothing (the smallest positive tolerance): exact decisions
    # alone are always consistent.
    for attempt, t in enumerate((float(tol), float(tol) * 1e-3, float(np.nextafter(0.0, 1.0)))):
        try:
            raw = build(weights, lo, hi, t, _TRUST * 1e3**attempt)
            pc = PolyhedralComplex(raw, weights, lo, hi, t)
            if check != "none":
                pc.check(check)
            break
        except (DegenerateCutError, ComplexCheckError) as exc:
            if attempt < 2:
                logger.warning("polyhedral_complex: %s (tol=%g); retrying with a finer tolerance", exc, t)
            last = exc
    else:
        if isinstance(last, ComplexCheckError):
            raise ComplexCheckError(f"no attempt gave a valid complex: {last}")
        raise DegenerateCutError(f"could not build a consistent complex: {last}")
    logger.debug("polyhedral complex: %r", pc)
    return pc
