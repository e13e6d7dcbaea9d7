"""scikit-learn transformer: point clouds -> persistence-landscape feature vectors."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import DEFAULT_MAX_BYTES, check_allocation, check_bool, check_choice, check_int, check_points
from .grid import Grid
from .grid_landscape import Landscape, landscape_bytes
from .rips import BACKENDS

logger = logging.getLogger("nntopo")

__all__ = ["LandscapeVectorizer"]


class LandscapeVectorizer(TransformerMixin, BaseEstimator):
    """Map point clouds to concatenated persistence-landscape vectors.

    For every cloud: a normalization (plain homology: centre, diameter 1,
    ``normalize_plain``; local homology: the modified distance matrix of
    ``normalize_local``),
    Vietoris-Rips persistence in degrees ``0..max(dims)`` (``rips_persistence``), then
    the grid landscape of each requested degree; the landscapes are flattened
    (degree-major, then level, then t) and concatenated.

    Parameters
    ----------
    homology_dimensions : sequence of int, default (1,)
        Homological degrees to keep.
    t_min, t_max, step : float, default 0, 1, 0.01
        The landscape grid, both ends included (``(t_max - t_min) / step`` must be an
        integer). With plain normalization all finite deaths are <= 1; with local
        normalization distances are <= 2 (points lie in the unit ball), so take
        ``t_max=2`` to see every bar.
    n_levels : int, default 5
        Landscape levels per degree.
    homology : {"plain", "local"}, default "plain"
        ``"plain"``: the paper's normalization then Rips of the points; ``"local"``: its
        local-homology variant (a modified distance matrix). The same name and values
        as in :func:`~nntopo.landscapes.layer_diagrams`.
    normalize : bool, default True
        Plain homology only: ``False`` uses the clouds as given (no centring or
        scaling). Local homology is defined through its normalization, so
        ``homology="local"`` requires ``normalize=True``.
    ends_in_relu : bool, default False
        For ``homology="local"`` only: the clouds come from a layer ending in ReLU
        (then they are not centred).
    keep_infinite : bool, default False
        Keep infinite bars (cut at ``t_max``) instead of dropping them (H0's infinite bar).
    backend : str, default "auto"
        Passed to ``rips_persistence``.
    weighted : bool, default False
        Multiply features by sqrt of the trapezoid weights, so that dot products of
        the output vectors are the landscape inner products (summed over degrees).
    max_bytes : float, default 8 GiB
        Memory limit for the output ``(n_clouds, n_features_out_)`` and each landscape.

    Attributes
    ----------
    grid_ : Grid
    homology_dimensions_ : tuple of int, sorted
    n_features_out_ : int
        ``len(homology_dimensions_) * n_levels * grid_.n_points``.
    """

    def __init__(
        self,
        homology_dimensions: Sequence[int] = (1,),
        t_min: float = 0.0,
        t_max: float = 1.0,
        step: float = 0.01,
        n_levels: int = 5,
        homology: str = "plain",
        normalize: bool = True,
        ends_in_relu: bool = False,
        keep_infinite: bool = False,
        backend: str = "auto",
        weighted: bool = False,
        max_bytes: float = DEFAULT_MAX_BYTES,
    ) -> None:
        self.homology_dimensions = homology_dimensions
        self.t_min = t_min
        self.t_max = t_max
        self.step = step
        self.n_levels = n_levels
        self.homology = homology
        self.normalize = normalize
        self.ends_in_relu = ends_in_relu
        self.keep_infinite = keep_infinite
        self.backend = backend
        self.weighted = weighted
        self.max_bytes = max_bytes

    def _validate_params_(self) -> None:
        if isinstance(self.homology_dimensions, (str, bytes)):
            raise TypeError(f"homology_dimensions must be a sequence of ints, got {self.homology_dimensions!r}")
        try:
            dims = tuple(self.homology_dimensions)
        except TypeError:
            raise TypeError(f"homology_dimensions must be a sequence of ints, got {self.homology_dimensions!r}") from None
        if not dims:
            raise ValueError("homology_dimensions must not be empty")
        dims = tuple(check_int(q, f"homology_dimensions[{i}]", minimum=0) for i, q in enumerate(dims))
        if len(set(dims)) != len(dims):
            raise ValueError(f"homology_dimensions has repeated entries: {dims}")
        n_levels = check_int(self.n_levels, "n_levels", minimum=1)
        homology = check_choice(self.homology, "homology", ("plain", "local"))
        normalize = check_bool(self.normalize, "normalize")
        if homology == "local" and not normalize:
            raise ValueError("normalize=False is only for homology='plain': local homology is its normalization")
        check_bool(self.ends_in_relu, "ends_in_relu")
        check_bool(self.keep_infinite, "keep_infinite")
        check_bool(self.weighted, "weighted")
        check_choice(self.backend, "backend", BACKENDS)
        grid = Grid(self.t_min, self.t_max, self.step)
        check_allocation(landscape_bytes(grid, n_levels),
                         f"n_levels={n_levels} on grid {grid.as_tuple()} ({grid.n_points} points)",
                         max_bytes=self.max_bytes)
        self.grid_ = grid
        self.homology_dimensions_ = tuple(sorted(dims))

    def fit(self, X: Sequence[np.ndarray], y: object = None) -> "LandscapeVectorizer":
        """Validate the parameters and set ``grid_``, ``homology_dimensions_``, ``n_features_out_``.

        ``X`` (a list of (n_i, d) point clouds) is only checked, nothing is learned from it.
        """
        self._validate_params_()
        _check_clouds(X)
        self.n_features_out_ = len(self.homology_dimensions_) * int(self.n_levels) * self.grid_.n_points
        return self

    def transform(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Landscape vectors, shape ``(n_clouds, n_features_out_)`` float64."""
        check_is_fitted(self, "grid_")
        from .normalize import normalize_local, normalize_plain
        from .rips import rips_persistence

        clouds = _check_clouds(X)
        grid = self.grid_
        k = int(self.n_levels)
        check_allocation(8.0 * len(clouds) * self.n_features_out_,
                         f"X: features of {len(clouds)} clouds x {self.n_features_out_}", max_bytes=self.max_bytes)
        w = np.sqrt(grid.trapezoid_weights()) if self.weighted else None
        out = np.empty((len(clouds), self.n_features_out_))
        maxdim = max(self.homology_dimensions_)
        for i, cloud in enumerate(clouds):
            if self.homology == "local":
                dist = normalize_local(cloud, bool(self.ends_in_relu), max_bytes=self.max_bytes)
                diagrams = rips_persistence(
                    distance_matrix=dist, maxdim=maxdim, backend=self.backend, max_bytes=self.max_bytes
                )
            else:
                pts = normalize_plain(cloud) if self.normalize else cloud
                diagrams = rips_persistence(pts, maxdim=maxdim, backend=self.backend, max_bytes=self.max_bytes)
            parts = []
            for q in self.homology_dimensions_:
                lam = Landscape.from_diagram(
                    diagrams[q], grid, k, hom_dim=q, keep_infinite=self.keep_infinite, max_bytes=self.max_bytes
                )
                vals = lam.values if w is None else lam.values * w
                parts.append(vals.ravel())
            out[i] = np.concatenate(parts)
        logger.debug("LandscapeVectorizer: %d clouds -> %d features", len(clouds), self.n_features_out_)
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Feature names ``H{q}_L{k}_t{i}`` (degree, level from 1, grid index)."""
        check_is_fitted(self, "grid_")
        n_t = self.grid_.n_points
        return np.array(
            [
                f"H{q}_L{k}_t{i}"
                for q in self.homology_dimensions_
                for k in range(1, int(self.n_levels) + 1)
                for i in range(n_t)
            ],
            dtype=object,
        )


def _check_clouds(X: object) -> list[np.ndarray]:
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X = list(X)
    if isinstance(X, np.ndarray) or not isinstance(X, (list, tuple)):
        raise ValueError("X must be a list of point clouds, each of shape (n_points, n_dims)")
    if len(X) == 0:
        raise ValueError("X must contain at least one point cloud")
    return [check_points(c, f"X[{i}]") for i, c in enumerate(X)]
