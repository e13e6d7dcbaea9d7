"""Normalization of layer activations before Vietoris-Rips persistence (seed 000, II.D).

* ``normalize_plain``: center, then scale so the largest pairwise distance is 1.
* ``normalize_local``: the local-homology variant. Center only if the layer does not
  end in ReLU; scale so the median norm is 1; replace vectors of norm > 1 by their
  unit vectors; set the distance between any two points whose norms are >= the
  median to 0. The result is a distance matrix, not a point cloud: the points on
  the unit sphere are identified with one another, which computes homology relative
  to the exterior of the unit ball (paper, II.B).

Units: the input is in the layer's activation units; the outputs are dimensionless
(diameter 1 for ``plain``, median norm 1 for ``local``).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform

from .._validation import DEFAULT_MAX_BYTES, check_allocation, check_bool, check_points
from ._vector import CHECKED

__all__ = ["max_pairwise_distance", "normalize_local", "normalize_plain", "pairwise_distances"]

logger = logging.getLogger("nntopo")

# Row block for the diameter: keeps the temporary at block * n doubles (~32 MB for
# n = 4,060) instead of the full n * n / 2 of pdist.
_BLOCK_ELEMS = 4_000_000

# Coordinates within [2**-300, 2**300] (largest |value|) are used as given: squares
# and sums of squares stay far inside float64. Outside, the cloud is first divided by a
# power of two, which is exact, so results are unchanged where nothing overflowed.
_SAFE_EXP = 300
# A distance below this (relative to coordinates of order 1) is a sum of squares below
# 2**-1000, where underflow may have eaten digits: such pairs are recomputed exactly.
_TINY_DIST = 2.0**-500


def pow2_rescale(X: np.ndarray, safe_exp: int = _SAFE_EXP) -> tuple[np.ndarray, int]:
    """``(X / 2**e, e)`` with the largest ``|X / 2**e|`` in ``[0.5, 1)``, or ``(X, 0)``.

    Only rescales when the largest ``|value|`` is outside ``[2**-safe_exp, 2**safe_exp]``
    (all zeros stay as they are): the division is exact, so distances computed from the
    result and multiplied back by ``2**e`` are the distances of ``X`` without overflow
    or underflow, and inputs inside the range are untouched (bit-identical results).
    """
    m = float(np.max(np.abs(X))) if X.size else 0.0
    if m == 0.0:
        return X, 0
    e = math.frexp(m)[1]
    if -safe_exp <= e <= safe_exp:
        return X, 0
    return np.ldexp(X, -e), e


def _has_tiny_gaps(X: np.ndarray) -> bool:
    """Whether two distinct points may be closer than ``_TINY_DIST``.

    Two distinct points differ in some coordinate by at least that coordinate's smallest
    positive gap between sorted values; if every such gap is >= ``_TINY_DIST``, no
    distance is small enough to underflow. O(d n log n), against O(d n^2) for pdist.
    """
    if X.shape[0] < 2:
        return False
    gaps = np.diff(np.sort(X, axis=0), axis=0)
    return bool(np.any((gaps > 0) & (gaps < _TINY_DIST)))


def _condensed_to_pairs(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column ``(i, j)``, ``i < j``, of condensed (pdist) indices ``k``."""
    k = k.astype(np.int64)
    # Row i starts at s(i) = i*n - i*(i+1)/2; invert the quadratic, then fix rounding.
    i = np.floor((2 * n - 1 - np.sqrt((2.0 * n - 1) ** 2 - 8.0 * k)) / 2).astype(np.int64)
    start = i * n - i * (i + 1) // 2
    low = k < start
    i[low] -= 1
    start = i * n - i * (i + 1) // 2
    nxt = (i + 1) * n - (i + 1) * (i + 2) // 2
    high = k >= nxt
    i[high] += 1
    start = i * n - i * (i + 1) // 2
    j = k - start + i + 1
    return i, j


def _exact_small(X: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Euclidean distances of pairs ``(i, j)``, each pair scaled by its largest difference."""
    out = np.empty(i.size)
    step = max(1, _BLOCK_ELEMS // max(1, X.shape[1]))
    for s in range(0, i.size, step):
        diff = X[i[s : s + step]] - X[j[s : s + step]]
        m = np.max(np.abs(diff), axis=1)
        safe = np.where(m > 0, m, 1.0)
        out[s : s + step] = m * np.sqrt(np.einsum("ij,ij->i", diff / safe[:, None], diff / safe[:, None]))
    return out


def _condensed_distances(X: np.ndarray) -> np.ndarray:
    """pdist of a rescaled cloud, with distances that underflowed recomputed exactly."""
    c = pdist(X)
    if _has_tiny_gaps(X):
        k = np.flatnonzero(c < _TINY_DIST)
        if k.size:
            i, j = _condensed_to_pairs(k, X.shape[0])
            c[k] = _exact_small(X, i, j)
    return c


def pairwise_distances(X: np.ndarray, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Euclidean distance matrix of the rows of ``X`` (float64, shape ``(n, n)``), units of ``X``.

    Uses ``scipy.spatial.distance.pdist`` (a difference per coordinate, no
    ``|x|^2 + |y|^2 - 2<x, y>`` cancellation), exactly what gudhi's
    ``RipsPersistence`` computes for a point cloud, so that diagrams taken from this
    matrix equal those of gudhi on the points bit for bit. Any finite coordinates work:
    a cloud near 1e200 or 1e-200 is divided by a power of two first (exact), and the
    rare pairs closer than ``2**-500`` times the coordinates are recomputed without
    underflow. A distance beyond 1.8e308 is ``inf``. The matrix takes ``12 n^2`` bytes
    at its peak; past ``max_bytes`` a ``ValueError`` is raised first.
    """
    X = check_points(X, "X")
    n = X.shape[0]
    check_allocation(12.0 * n * n, f"X: the {n} x {n} distance matrix", max_bytes=max_bytes)
    if n == 1:
        return np.zeros((1, 1))
    Y, e = pow2_rescale(X)
    D = squareform(_condensed_distances(Y))
    if e:
        with np.errstate(over="ignore"):
            D = np.ldexp(D, e)
    return D


def _max_distance(X: np.ndarray) -> float:
    best = 0.0
    n = X.shape[0]
    step = max(1, _BLOCK_ELEMS // n)
    for start in range(0, n, step):
        # cdist works by coordinate differences, so the maximum equals pdist's max
        # bit for bit, with memory bounded by the block.
        best = max(best, float(cdist(X[start : start + step], X).max()))
    return best


def max_pairwise_distance(X: np.ndarray) -> float:
    """Largest Euclidean distance between two rows of ``X`` (0.0 for one point), units of ``X``.

    Equal to ``pdist(X).max()`` bit for bit where that does not overflow or underflow;
    otherwise computed on a rescaled (and, for a cloud much smaller than its offset,
    centred) copy. A diameter beyond 1.8e308 is ``inf``.
    """
    X = check_points(X, "X")
    if X.shape[0] == 1:
        return 0.0
    Y, e = pow2_rescale(X)
    best = _max_distance(Y)
    if 0.0 < best < _TINY_DIST or (best == 0.0 and _has_tiny_gaps(Y)):
        # Points that differ only in coordinates far smaller than the largest one
        # ((1, 0) and (1, 1e-300)): the differences underflowed when squared. Centred,
        # the spread is what the largest coordinate measures, and rescaling is exact.
        Yc = Y - Y.mean(axis=0, keepdims=True)
        m = float(np.max(np.abs(Yc)))
        if m > 0.0:
            ec = math.frexp(m)[1]
            best = math.ldexp(_max_distance(np.ldexp(Yc, -ec)), ec)
    if e:
        try:
            return math.ldexp(best, e)
        except OverflowError:
            return math.inf
    return best


def normalize_plain(X: np.ndarray) -> np.ndarray:
    """Center ``X`` and scale it so that its largest pairwise distance is 1.

    Parameters
    ----------
    X : array of shape (n, d)
        Point cloud (one activation vector per row), n >= 1, finite. Any finite scale
        works (coordinates near 1e308, spacings near 1e-300): the cloud is divided by
        powers of two (exact) before anything is squared.

    Returns
    -------
    float64 array of shape (n, d)
        ``(X - mean) / diameter``. A single point or a cloud of identical points has
        diameter 0: it is returned centered (all zeros), never divided by zero.
    """
    X = check_points(X, "X")
    Y, _ = pow2_rescale(X)  # the mean of values near 1e308 would overflow
    Xc = Y - Y.mean(axis=0, keepdims=True)
    Xc, _ = pow2_rescale(Xc)  # a spread of 1e-200 would underflow when squared
    diam = max_pairwise_distance(Xc)
    if diam == 0.0:
        logger.debug("normalize_plain: diameter 0 (%d identical point(s)); returning zeros", len(X))
        return np.zeros_like(Xc)
    return Xc / diam


def _row_norms(X: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows; rows small enough to underflow are rescaled first."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    small = np.flatnonzero(norms < _TINY_DIST)
    if small.size:
        m = np.max(np.abs(X[small]), axis=1)
        nz = m > 0
        rows = small[nz]
        e = np.frexp(m[nz])[1]
        Z = np.ldexp(X[rows], -e[:, None])
        norms[rows] = np.ldexp(np.sqrt(np.einsum("ij,ij->i", Z, Z)), e)
    return norms


def normalize_local(X: np.ndarray, ends_in_relu: bool, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Distance matrix of the local-homology normalization (paper, II.D, modified steps).

    Parameters
    ----------
    X : array of shape (n, d)
        Activations of one layer, n >= 1, finite.
    ends_in_relu : bool
        True if the layer ends in a ReLU; such a layer is not centered (its origin is
        meaningful: the all-off pattern).

    Returns
    -------
    float64 array of shape (n, n)
        Symmetric, zero diagonal, entries >= 0. With ``r_i = |x_i|`` (after centering
        when ``ends_in_relu`` is False) and ``m = median(r)`` (numpy's median, the
        mean of the two middle values for even n): points are scaled by ``1/m``,
        those with ``r_i > m`` are moved to the unit sphere, Euclidean distances are
        taken, and the entries between two points with ``r_i >= m`` are set to 0.
        The "far" set is decided on the unscaled norms so that rounding in the
        division cannot move a point across the median.

    Any finite scale works (the cloud is divided by a power of two first, exact). The
    matrix takes ``12 n^2`` bytes at its peak; past ``max_bytes`` a ``ValueError`` comes
    first.

    Degenerate input: if ``m == 0`` (at least half of the vectors sit at the origin,
    common in a ReLU layer with many dead inputs) every point has norm >= the
    median, so the rule sets every distance to 0 and the zero matrix is returned.
    """
    ends_in_relu = check_bool(ends_in_relu, "ends_in_relu")
    X = check_points(X, "X")
    n = X.shape[0]
    check_allocation(12.0 * n * n, f"X: the {n} x {n} distance matrix", max_bytes=max_bytes)
    X, _ = pow2_rescale(X)  # exact; the output is dimensionless, so nothing to undo
    if not ends_in_relu:
        X = X - X.mean(axis=0, keepdims=True)
    norms = _row_norms(X)
    med = float(np.median(norms))
    if med == 0.0:
        logger.debug("normalize_local: median norm 0; every pair is identified, distances all 0")
        return np.zeros((n, n))
    far = norms >= med
    outside = norms > med
    Y = np.empty_like(X)
    inside = ~outside
    Y[inside] = X[inside] / med
    # Project by the original norm: Y_i / |Y_i| = X_i / |X_i|, without a second rounding.
    Y[outside] = X[outside] / norms[outside, None]
    D = pairwise_distances(Y, max_bytes=CHECKED)
    idx = np.flatnonzero(far)
    D[np.ix_(idx, idx)] = 0.0
    return D
