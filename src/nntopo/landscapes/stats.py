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

from .._validation import (
    DEFAULT_MAX_BYTES,
    as_generator,
    check_allocation,
    check_array,
    check_int,
    check_seed,
    seed_to_int,
)
from ._vector import check_p
from .algebra import ActivationLandscape, AnyLandscape, as_landscape_list, gram_matrix, landscape_vectors

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


def permutation_test_gram(
    gram: np.ndarray,
    n_a: int,
    *,
    n_permutations: int = 100_000,
    seed: int | np.random.Generator | None = None,
    max_bytes: float = DEFAULT_MAX_BYTES,
) -> PermutationTestResult:
    """Permutation test from a Gram matrix.

    Parameters
    ----------
    gram : (n, n) float64
        Inner products of the ``n`` samples; the first ``n_a`` form group A, the rest B.
    n_a : int
        Size of group A (1 <= n_a < n).
    n_permutations : int
        Number of random relabellings (default 100,000, as in the paper). The null
        distribution takes 16 bytes per permutation; past ``max_bytes`` a
        ``ValueError`` is raised before anything is drawn.
    seed : int, numpy Generator or None
        Source of the permutations; the same int gives the same result, a Generator is
        advanced by the draws, None draws fresh entropy.
    max_bytes : float
        Memory limit for the null distribution and the centred Gram matrix.
    """
    g = check_array(gram, "gram", ndim=2)
    if g.shape[0] != g.shape[1]:
        raise ValueError(f"gram must be a square (n, n) matrix, got shape {g.shape}")
    n = g.shape[0]
    if n < 2:
        raise ValueError(f"gram must have at least 2 rows (one sample per group), got {n}")
    n_a = check_int(n_a, "n_a", minimum=1, maximum=n - 1)
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    check_allocation(
        16.0 * n_permutations + 24.0 * n * n,
        f"n_permutations={n_permutations} of {n} samples",
        max_bytes=max_bytes,
    )
    gen = as_generator(seed)
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
    seed: int | np.random.Generator | None = None,
    blas_threads: int | None = 1,
    max_bytes: float = DEFAULT_MAX_BYTES,
) -> PermutationTestResult:
    """The paper's permutation test: are the mean landscapes of two groups different?

    ``group_a`` and ``group_b`` hold landscapes of one type (``ActivationLandscape``
    for multi-layer data, or single ``Landscape``/``ExactLandscape``). The statistic is
    the distance between the group means in the inner product of equation (1); the
    p-value is ``(count + 1) / (n_permutations + 1)``. ``blas_threads`` is passed to
    :func:`~nntopo.landscapes.gram_matrix`. The two groups must hold landscapes of the
    same kind, grid and (for activation landscapes) layer names. ``max_bytes`` bounds
    the Gram matrix's work arrays and the null distribution. See
    :func:`permutation_test_gram` for ``seed``.
    """
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    seed = check_seed(seed)
    a = as_landscape_list(group_a, "group_a")
    b = as_landscape_list(group_b, "group_b")
    n = len(a) + len(b)
    check_allocation(16.0 * n_permutations + 24.0 * n * n, f"n_permutations={n_permutations} of {n} samples",
                     max_bytes=max_bytes)
    g = gram_matrix(a + b, blas_threads=blas_threads, max_bytes=max_bytes)
    return permutation_test_gram(g, len(a), n_permutations=n_permutations, seed=seed, max_bytes=max_bytes)


def norms_per_layer(items: ActivationLandscape | Sequence[ActivationLandscape], p: float = 2) -> np.ndarray:
    """L^p norm ("topological complexity") of every layer.

    Returns shape ``(n_layers,)`` for one :class:`ActivationLandscape`, and
    ``(n_items, n_layers)`` for a sequence of them.
    """
    p = check_p(p)
    if isinstance(items, ActivationLandscape):
        return items.norms_per_layer(p)
    items = list(items)
    if not items:
        return np.empty((0, 0))
    for i, x in enumerate(items):
        if not isinstance(x, ActivationLandscape):
            raise TypeError(f"items[{i}] must be an ActivationLandscape, got {type(x).__name__}")
    # Columns are layers: every item must have the same ones (grids may differ).
    for i, x in enumerate(items[1:], start=1):
        if x.n_layers != items[0].n_layers:
            raise ValueError(f"items[{i}]: different numbers of layers: {items[0].n_layers} vs {x.n_layers}")
        if list(x.layer_names) != list(items[0].layer_names):
            raise ValueError(
                f"items[{i}]: different layer names {list(items[0].layer_names)} vs {list(x.layer_names)}"
            )
    return np.stack([x.norms_per_layer(p) for x in items])


def _sklearn_seed(seed: object) -> int | np.random.RandomState | None:
    """scikit-learn's ``random_state`` for ``seed`` (the project's rule, docs/architecture.md).

    An int below 2**32 is passed unchanged (``seed=0`` draws what ``random_state=0``
    always drew); a larger int or a Generator gives a ``RandomState`` seeded through a
    ``SeedSequence``; None stays None (fresh entropy).
    """
    seed = check_seed(seed)
    if seed is None:
        return None
    if isinstance(seed, int) and seed < 2**32:
        return seed
    return np.random.RandomState(np.random.MT19937(np.random.SeedSequence(seed_to_int(seed))))


def activation_landscape_curves(
    curves: Sequence[ActivationLandscape],
    n_components: int = 2,
    *,
    weighted: bool = True,
    n_levels: int | None = None,
    seed: int | np.random.Generator | None = None,
    max_bytes: float = DEFAULT_MAX_BYTES,
) -> tuple[np.ndarray, "PCA"]:
    """PCA of landscape vectors to low-dimensional "activation landscape curves" (Fig. 3).

    Each element of ``curves`` (e.g. one network, or the mean over networks at one
    training threshold) is a curve through its layers. Every (curve, layer) landscape
    is turned into a vector; one PCA is fitted on all of them.

    Parameters
    ----------
    curves : sequence of n_curves grid ActivationLandscape with the same layer names and grid
    n_components : int
        Output dimension (2 for the paper's figure).
    weighted : bool
        Scale values by sqrt of the trapezoid weights so that Euclidean distances of
        the vectors are the landscape L^2 distances (PCA in the landscape metric).
        ``False`` uses the raw sampled values.
    n_levels : int, optional
        Levels used per layer (zero-padded); default the largest present.
    seed : int, numpy Generator or None
        Passed to :class:`sklearn.decomposition.PCA` as its ``random_state`` (only
        matters for its randomized solvers); the same int gives the same result.
    max_bytes : float
        Memory limit for the stacked vectors ``(n_curves * n_layers, n_levels * n_points)``.

    Returns
    -------
    coords : ndarray, shape (n_curves, n_layers, n_components)
    pca : fitted sklearn.decomposition.PCA
    """
    from sklearn.decomposition import PCA

    n_components = check_int(n_components, "n_components", minimum=1)
    random_state = _sklearn_seed(seed)
    curves = as_landscape_list(curves, "curves")
    for i, c in enumerate(curves):
        if not isinstance(c, ActivationLandscape):
            raise TypeError(f"curves[{i}] must be an ActivationLandscape, got {type(c).__name__}")
    if curves[0].is_exact:
        raise TypeError("curves must hold grid landscapes; sample exact ones with .to_grid(grid)")
    n_curves = len(curves)
    n_layers = curves[0].n_layers
    k = max(c.n_levels for c in curves) if n_levels is None else check_int(n_levels, "n_levels", minimum=1)
    layers = [lay for c in curves for lay in c.layers]
    vectors = landscape_vectors(layers, n_levels=k, weighted=weighted, max_bytes=max_bytes)
    n_samples = vectors.shape[0]
    if n_components > min(n_samples, vectors.shape[1]):
        raise ValueError(
            f"n_components={n_components} exceeds min(n_samples, n_features)="
            f"{min(n_samples, vectors.shape[1])}"
        )
    pca = PCA(n_components=n_components, random_state=random_state)
    coords = pca.fit_transform(vectors)
    return coords.reshape(n_curves, n_layers, n_components), pca
