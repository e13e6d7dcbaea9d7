"""Statistics on (activation) landscapes: permutation test, norms per layer, PCA curves.

The permutation test of the paper compares two groups of multi-layer landscapes with
the statistic ``T = || mean(A) - mean(B) ||`` in the product-space inner product
(equation (1)). ``T`` depends on the data only through the Gram matrix ``G`` of inner
products: with ``a = 1_A/|A| - 1_B/|B|``, ``T^2 = a^T G a``. We double-centre ``G``
(the statistic is translation invariant), after which ``T^2 = c^2 s^T G_c s`` with
``s`` the indicator of the smaller group and ``c = 1/|A| + 1/|B|``; all permutations
are then evaluated by a compiled loop over pairs of the drawn subset and never touch
the landscapes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numba
import numpy as np

from .algebra import ActivationLandscape, AnyLandscape, gram_matrix, landscape_vectors
from .landscape import ExactLandscape, _check_levels

if TYPE_CHECKING:
    from sklearn.decomposition import PCA

logger = logging.getLogger("nntopo")

__all__ = [
    "PermutationTestResult",
    "permutation_test",
    "permutation_test_gram",
    "norms_per_layer",
    "activation_landscape_curves",
]

# Relative tolerance on T^2 when counting permutations "at least as extreme": the
# observed split summed in another order may differ in the last bits.
_TIE_RTOL = 1e-9


@numba.njit(cache=True, nogil=True)
def _null_sums(gen, gc, n_perm, m, out):  # pragma: no cover - compiled
    # out[r] = s^T G_c s for a uniformly random m-subset s per permutation. A partial
    # Fisher-Yates shuffle of a persistent arrangement draws the subset (uniform from
    # any starting arrangement); the quadratic form is a sum over pairs of the subset,
    # O(m^2) per permutation and no BLAS call, so it does not suffer from BLAS
    # threads competing for a busy machine.
    n = gc.shape[0]
    perm = np.arange(n)
    for r in range(n_perm):
        for a in range(m):
            # a 53-bit uniform scaled to [0, n - a): bias ~n * 2^-53, far below anything
            # a p-value can resolve, and much cheaper than Generator.integers here
            j = a + int(gen.random() * (n - a))
            tmp = perm[a]
            perm[a] = perm[j]
            perm[j] = tmp
        total = 0.0
        for a in range(m):
            ia = perm[a]
            total += 0.5 * gc[ia, ia]
            for b in range(a + 1, m):
                total += gc[ia, perm[b]]
        out[r] = 2.0 * total


@dataclass(frozen=True)
class PermutationTestResult:
    """Result of :func:`permutation_test`.

    Attributes
    ----------
    statistic : float
        Observed distance between the group means (landscape units).
    pvalue : float
        ``(count + 1) / (n_permutations + 1)``, where ``count`` is the number of
        permutations whose statistic is >= the observed one.
    n_permutations : int
    null_distribution : ndarray, shape (n_permutations,)
        The statistic of each random relabelling.
    """

    statistic: float
    pvalue: float
    n_permutations: int
    null_distribution: np.ndarray


def _as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {rng!r}")


def permutation_test_gram(
    gram: np.ndarray,
    n_a: int,
    *,
    n_permutations: int = 100_000,
    rng: int | np.random.Generator | None = None,
) -> PermutationTestResult:
    """Permutation test from a Gram matrix.

    Parameters
    ----------
    gram : (n, n) float64
        Inner products of the ``n`` samples; the first ``n_a`` form group A, the rest B.
    n_a : int
        Size of group A (1 <= n_a < n).
    n_permutations : int
        Number of random relabellings (default 100,000, as in the paper).
    rng : int seed or numpy Generator
        Source of the permutations; the same seed gives the same result. A Generator
        is advanced by the draws.
    """
    g = np.asarray(gram, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"gram must be a square (n, n) matrix, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("gram must be finite")
    n = g.shape[0]
    if isinstance(n_a, bool) or not isinstance(n_a, (int, np.integer)) or not 1 <= n_a < n:
        raise ValueError(f"n_a must be an int with 1 <= n_a < n = {n}, got {n_a!r}")
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)) or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive int, got {n_permutations!r}")
    gen = _as_generator(rng)
    n_b = n - n_a
    g = 0.5 * (g + g.T)
    # Double centring: inner products of the samples minus their overall mean.
    row = g.mean(axis=1)
    gc = g - row[:, None] - row[None, :] + row.mean()
    c2 = (1.0 / n_a + 1.0 / n_b) ** 2
    m = min(n_a, n_b)  # with G_c 1 = 0 either group's indicator gives the same value

    # the observed split: the smaller group is the first n_a or the last n_b samples
    obs = slice(0, n_a) if m == n_a else slice(n_a, n)
    t2_obs = max(c2 * float(gc[obs, obs].sum()), 0.0)
    null2 = np.empty(n_permutations)
    _null_sums(gen, np.ascontiguousarray(gc), int(n_permutations), m, null2)
    null2 *= c2
    np.maximum(null2, 0.0, out=null2)
    count = int(np.count_nonzero(null2 >= t2_obs * (1.0 - _TIE_RTOL)))
    pvalue = (count + 1) / (n_permutations + 1)
    logger.debug("permutation test: n=%d (%d + %d), N=%d, count=%d", n, n_a, n_b, n_permutations, count)
    return PermutationTestResult(math.sqrt(t2_obs), pvalue, int(n_permutations), np.sqrt(null2))


def permutation_test(
    group_a: Sequence[AnyLandscape],
    group_b: Sequence[AnyLandscape],
    *,
    n_permutations: int = 100_000,
    rng: int | np.random.Generator | None = None,
    blas_threads: int | None = 1,
) -> PermutationTestResult:
    """The paper's permutation test: are the mean landscapes of two groups different?

    ``group_a`` and ``group_b`` hold landscapes of one type (``ActivationLandscape``
    for multi-layer data, or single ``Landscape``/``ExactLandscape``). The statistic is
    the distance between the group means in the inner product of equation (1); the
    p-value is ``(count + 1) / (n_permutations + 1)``. ``blas_threads`` is passed to
    :func:`~nntopo.landscapes.gram_matrix`. See :func:`permutation_test_gram`.
    """
    a = list(group_a)
    b = list(group_b)
    if not a:
        raise ValueError("group_a must contain at least one landscape")
    if not b:
        raise ValueError("group_b must contain at least one landscape")
    g = gram_matrix(a + b, blas_threads=blas_threads)
    return permutation_test_gram(g, len(a), n_permutations=n_permutations, rng=rng)


def norms_per_layer(items: ActivationLandscape | Sequence[ActivationLandscape], p: float = 2) -> np.ndarray:
    """L^p norm ("topological complexity") of every layer.

    Returns shape ``(n_layers,)`` for one :class:`ActivationLandscape`, and
    ``(n_items, n_layers)`` for a sequence of them.
    """
    if isinstance(items, ActivationLandscape):
        return items.norms_per_layer(p)
    items = list(items)
    if not items:
        return np.empty((0, 0))
    for i, x in enumerate(items):
        if not isinstance(x, ActivationLandscape):
            raise TypeError(f"items[{i}] must be an ActivationLandscape, got {type(x).__name__}")
    n_layers = items[0].n_layers
    if any(x.n_layers != n_layers for x in items):
        raise ValueError("all items must have the same number of layers")
    return np.stack([x.norms_per_layer(p) for x in items])


def activation_landscape_curves(
    curves: Sequence[ActivationLandscape],
    n_components: int = 2,
    *,
    weighted: bool = True,
    n_levels: int | None = None,
    random_state: int | None = None,
) -> tuple[np.ndarray, "PCA"]:
    """PCA of landscape vectors to low-dimensional "activation landscape curves" (Fig. 3).

    Each element of ``curves`` (e.g. one network, or the mean over networks at one
    training threshold) is a curve through its layers. Every (curve, layer) landscape
    is turned into a vector; one PCA is fitted on all of them.

    Parameters
    ----------
    curves : sequence of n_curves grid ActivationLandscape with the same layers and grid
    n_components : int
        Output dimension (2 for the paper's figure).
    weighted : bool
        Scale values by sqrt of the trapezoid weights so that Euclidean distances of
        the vectors are the landscape L^2 distances (PCA in the landscape metric).
        ``False`` uses the raw sampled values.
    n_levels : int, optional
        Levels used per layer (zero-padded); default the largest present.
    random_state : int, optional
        Passed to :class:`sklearn.decomposition.PCA` (only matters for randomized solvers).

    Returns
    -------
    coords : ndarray, shape (n_curves, n_layers, n_components)
    pca : fitted sklearn.decomposition.PCA
    """
    from sklearn.decomposition import PCA

    curves = list(curves)
    if not curves:
        raise ValueError("curves must contain at least one ActivationLandscape")
    for i, c in enumerate(curves):
        if not isinstance(c, ActivationLandscape):
            raise TypeError(f"curves[{i}] must be an ActivationLandscape, got {type(c).__name__}")
    n_curves = len(curves)
    n_layers = curves[0].n_layers
    if any(c.n_layers != n_layers for c in curves):
        raise ValueError("all curves must have the same number of layers")
    k = max(c.n_levels for c in curves) if n_levels is None else _check_levels(n_levels)
    layers = [lay for c in curves for lay in c.layers]
    if any(isinstance(x, ExactLandscape) for x in layers):
        raise TypeError("curves must hold grid landscapes; sample exact ones with .to_grid(grid)")
    vectors = landscape_vectors(layers, n_levels=k, weighted=weighted)
    n_samples = vectors.shape[0]
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise ValueError(f"n_components must be a positive int, got {n_components!r}")
    if n_components > min(n_samples, vectors.shape[1]):
        raise ValueError(
            f"n_components={n_components} exceeds min(n_samples, n_features)="
            f"{min(n_samples, vectors.shape[1])}"
        )
    pca = PCA(n_components=n_components, random_state=random_state)
    coords = pca.fit_transform(vectors)
    return coords.reshape(n_curves, n_layers, n_components), pca

