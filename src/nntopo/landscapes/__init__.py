"""Activation landscapes: normalization, Vietoris-Rips persistence, persistence
landscapes (grid and exact), their algebra, and statistics on them. Free of torch."""

from .algebra import (
    ActivationLandscape,
    distance,
    gram_matrix,
    inner_product,
    landscape_sum,
    landscape_vectors,
    mean_landscape,
    norm,
    stack_to_xarray,
)
from .diagrams import check_diagram
from .exact import ExactLandscape, exact_landscape
from .grid import Grid, as_grid
from .grid_landscape import Landscape, landscape
from .normalize import (
    max_pairwise_distance,
    normalize_local,
    normalize_plain,
    pairwise_distances,
)
from .rips import (
    BACKENDS,
    RipsResult,
    certified_threshold,
    layer_diagrams,
    rips_persistence,
    rips_persistence_with_info,
)
from .stats import (
    PermutationTestResult,
    activation_landscape_curves,
    norms_per_layer,
    permutation_test,
    permutation_test_gram,
)
from .transformer import LandscapeVectorizer

__all__ = [
    "BACKENDS",
    "ActivationLandscape",
    "ExactLandscape",
    "Grid",
    "Landscape",
    "LandscapeVectorizer",
    "PermutationTestResult",
    "RipsResult",
    "activation_landscape_curves",
    "as_grid",
    "certified_threshold",
    "check_diagram",
    "distance",
    "exact_landscape",
    "gram_matrix",
    "inner_product",
    "landscape",
    "landscape_sum",
    "landscape_vectors",
    "layer_diagrams",
    "max_pairwise_distance",
    "mean_landscape",
    "norm",
    "normalize_local",
    "normalize_plain",
    "norms_per_layer",
    "pairwise_distances",
    "permutation_test",
    "permutation_test_gram",
    "rips_persistence",
    "rips_persistence_with_info",
    "stack_to_xarray",
]
