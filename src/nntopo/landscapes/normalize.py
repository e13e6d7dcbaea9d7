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

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform

from .._validation import check_points

__all__ = ["max_pairwise_distance", "normalize_local", "normalize_plain", "pairwise_distances"]

logger = logging.getLogger("nntopo")

# Row block for the diameter: keeps the temporary at block * n doubles (~32 MB for
# n = 4,060) instead of the full n * n / 2 of pdist.
_BLOCK_ELEMS = 4_000_000


def pairwise_distances(X: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix of the rows of ``X`` (float64, shape ``(n, n)``).

    Uses ``scipy.spatial.distance.pdist`` (a difference per coordinate, no
    ``|x|^2 + |y|^2 - 2<x, y>`` cancellation), exactly what gudhi's
    ``RipsPersistence`` computes for a point cloud, so that diagrams taken from this
    matrix equal those of gudhi on the points bit for bit.
    """
    X = check_points(X, "X")
    if X.shape[0] == 1:
        return np.zeros((1, 1))
    return squareform(pdist(X))


def max_pairwise_distance(X: np.ndarray) -> float:
    """Largest Euclidean distance between two rows of ``X`` (0.0 for one point)."""
    X = check_points(X, "X")
    n = X.shape[0]
    if n == 1:
        return 0.0
    best = 0.0
    step = max(1, _BLOCK_ELEMS // n)
    for start in range(0, n, step):
        # cdist works by coordinate differences, so the maximum equals pdist's max
        # bit for bit, with memory bounded by the block.
        best = max(best, float(cdist(X[start : start + step], X).max()))
    return best


def normalize_plain(X: np.ndarray) -> np.ndarray:
    """Center ``X`` and scale it so that its largest pairwise distance is 1.

    Parameters
    ----------
    X : array of shape (n, d)
        Point cloud (one activation vector per row), n >= 1, finite.

    Returns
    -------
    float64 array of shape (n, d)
        ``(X - mean) / diameter``. A single point or a cloud of identical points has
        diameter 0: it is returned centered (all zeros), never divided by zero.
    """
    X = check_points(X, "X")
    Xc = X - X.mean(axis=0, keepdims=True)
    diam = max_pairwise_distance(Xc)
    if diam == 0.0:
        logger.debug("normalize_plain: diameter 0 (%d identical point(s)); returning zeros", len(X))
        return np.zeros_like(Xc)
    return Xc / diam


def normalize_local(X: np.ndarray, ends_in_relu: bool) -> np.ndarray:
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

    Degenerate input: if ``m == 0`` (at least half of the vectors sit at the origin,
    common in a ReLU layer with many dead inputs) every point has norm >= the
    median, so the rule sets every distance to 0 and the zero matrix is returned.
    """
    if not isinstance(ends_in_relu, (bool, np.bool_)):
        raise TypeError(f"ends_in_relu must be a bool, got {ends_in_relu!r}")
    X = check_points(X, "X")
    n = X.shape[0]
    if not ends_in_relu:
        X = X - X.mean(axis=0, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    med = float(np.median(norms))
    if med == 0.0:
        logger.debug("normalize_local: median norm 0; every pair is identified, distances all 0")
        return np.zeros((n, n))
    far = norms >= med
    Y = X / med
    outside = norms > med
    # Project by the original norm: Y_i / |Y_i| = X_i / |X_i|, without a second rounding.
    Y[outside] = X[outside] / norms[outside, None]
    D = pairwise_distances(Y)
    idx = np.flatnonzero(far)
    D[np.ix_(idx, idx)] = 0.0
    return D
