"""Landscape algebra and multi-layer activation landscapes.

Landscapes (grid or exact) form a vector space; landscapes with different numbers of
levels are padded with zero levels. Several layers form one element of the product
space, whose inner product is the paper's equation (1):

    <lambda, rho> = sum_layers sum_k integral lambda_k^(i)(t) rho_k^(i)(t) dt.

Grid integrals use the trapezoid rule with the grid's spacing; exact landscapes
integrate exactly.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence, Union

import numpy as np

from .landscape import (
    ExactLandscape,
    Grid,
    GridLike,
    Landscape,
    _attrs,
    _check_levels,
    _check_p,
    _merge_meta,
    VectorOps,
    as_grid,
)

__all__ = [
    "ActivationLandscape",
    "inner_product",
    "norm",
    "distance",
    "landscape_sum",
    "mean_landscape",
    "gram_matrix",
    "landscape_vectors",
    "stack_to_xarray",
]

AnyLandscape = Union[Landscape, ExactLandscape, "ActivationLandscape"]


class ActivationLandscape(VectorOps):
    """One landscape per layer of a network: an element of the product Hilbert space.

    All layers are grid :class:`Landscape` objects on the same grid, or all are
    :class:`ExactLandscape` objects. Levels may differ between layers (missing levels
    are zero).

    Parameters
    ----------
    layers : sequence of Landscape or ExactLandscape, length n_layers
    layer_names : optional sequence of n_layers labels (default ``0..n_layers-1``),
        used as the ``layer`` coordinate by :meth:`to_xarray`.
    """

    __slots__ = ("layers", "layer_names")

    def __init__(self, layers: Sequence[Landscape | ExactLandscape], layer_names: Sequence | None = None) -> None:
        layers = tuple(layers)
        if not layers:
            raise ValueError("layers must contain at least one landscape")
        if all(isinstance(x, Landscape) for x in layers):
            g = layers[0].grid
            for i, x in enumerate(layers):
                if x.grid != g:
                    raise ValueError(f"layers[{i}] is on grid {x.grid}, layers[0] on {g}; all layers need one grid")
        elif not all(isinstance(x, ExactLandscape) for x in layers):
            raise TypeError("layers must be all Landscape or all ExactLandscape objects")
        if layer_names is None:
            layer_names = list(range(len(layers)))
        layer_names = list(layer_names)
        if len(layer_names) != len(layers):
            raise ValueError(f"layer_names has {len(layer_names)} entries for {len(layers)} layers")
        self.layers = layers
        self.layer_names = layer_names

    @classmethod
    def from_diagrams(
        cls,
        diagrams: Sequence[object],
        grid: GridLike,
        n_levels: int = 5,
        *,
        hom_dim: int | None = None,
        keep_infinite: bool = False,
        layer_names: Sequence | None = None,
    ) -> "ActivationLandscape":
        """Grid landscapes of one diagram per layer (each (m_i, 2)) on a common ``grid``."""
        grid = as_grid(grid)
        return cls(
            [
                Landscape.from_diagram(d, grid, n_levels, hom_dim=hom_dim, keep_infinite=keep_infinite)
                for d in diagrams
            ],
            layer_names,
        )

    @classmethod
    def from_layer_diagrams(
        cls,
        layer_diagrams: Mapping[object, Sequence[object]],
        hom_dim: int,
        grid: GridLike,
        n_levels: int = 5,
        *,
        keep_infinite: bool = False,
    ) -> "ActivationLandscape":
        """From ``{layer name: [diagram of degree 0, 1, ...]}`` (the output of
        :func:`~nntopo.landscapes.layer_diagrams`), taking degree ``hom_dim`` of each
        layer; the names become ``layer_names``."""
        if isinstance(hom_dim, bool) or not isinstance(hom_dim, (int, np.integer)) or hom_dim < 0:
            raise ValueError(f"hom_dim must be an int >= 0, got {hom_dim!r}")
        names = list(layer_diagrams)
        dgms = []
        for name in names:
            per_degree = layer_diagrams[name]
            if len(per_degree) <= hom_dim:
                raise ValueError(
                    f"layer_diagrams[{name!r}] has degrees 0..{len(per_degree) - 1}, no degree {hom_dim}"
                )
            dgms.append(per_degree[hom_dim])
        return cls.from_diagrams(
            dgms, grid, n_levels, hom_dim=int(hom_dim), keep_infinite=keep_infinite, layer_names=names
        )

    # -- shape -------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.layers)

    @property
    def n_levels(self) -> int:
        """Largest number of levels over the layers."""
        return max(x.n_levels for x in self.layers)

    @property
    def is_exact(self) -> bool:
        """True when the layers are :class:`ExactLandscape` objects."""
        return isinstance(self.layers[0], ExactLandscape)

    @property
    def grid(self) -> Grid:
        """The common grid (grid landscapes only)."""
        self._require_grid("grid")
        return self.layers[0].grid

    def __len__(self) -> int:
        return self.n_layers

    def __getitem__(self, i: int) -> Landscape | ExactLandscape:
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        kind = "exact" if self.is_exact else f"grid={self.layers[0].grid}"
        return f"ActivationLandscape(n_layers={self.n_layers}, n_levels={self.n_levels}, {kind})"

    def _require_grid(self, what: str) -> None:
        if self.is_exact:
            raise TypeError(f"{what} needs grid landscapes; sample exact ones with .to_grid(grid)")

    def to_grid(self, grid: GridLike, n_levels: int | None = None) -> "ActivationLandscape":
        """Sample exact layers on ``grid`` (grid layers must already be on it)."""
        grid = as_grid(grid)
        out = []
        for x in self.layers:
            if isinstance(x, ExactLandscape):
                out.append(x.to_grid(grid, n_levels))
            else:
                if x.grid != grid:
                    raise ValueError(f"layer is on grid {x.grid}, not {grid}")
                if n_levels is not None:
                    x = Landscape(x.padded(n_levels), grid, hom_dim=x.hom_dim, keep_infinite=x.keep_infinite)
                out.append(x)
        return ActivationLandscape(out, self.layer_names)

    def to_array(self, n_levels: int | None = None) -> np.ndarray:
        """Values as ``(n_layers, n_levels, n_points)`` float64, levels zero-padded."""
        self._require_grid("to_array")
        k = self.n_levels if n_levels is None else _check_levels(n_levels)
        return np.stack([x.padded(k) for x in self.layers])

    def to_vector(self, n_levels: int | None = None) -> np.ndarray:
        """Flattened :meth:`to_array`, shape ``(n_layers * n_levels * n_points,)``."""
        return self.to_array(n_levels).ravel()

    def to_xarray(self, n_levels: int | None = None):
        """``xarray.DataArray`` with dims ``(layer, level, t)``; grid and metadata in ``attrs``."""
        import xarray as xr

        arr = self.to_array(n_levels)
        first = self.layers[0]
        return xr.DataArray(
            arr,
            dims=("layer", "level", "t"),
            coords={
                "layer": self.layer_names,
                "level": np.arange(1, arr.shape[1] + 1),
                "t": self.grid.points(),
            },
            attrs=_attrs(self.grid, first.hom_dim, first.keep_infinite),
        )

    # -- algebra -----------------------------------------------------------------
    def _check_other(self, other: "ActivationLandscape") -> None:
        if not isinstance(other, ActivationLandscape):
            raise TypeError(f"expected an ActivationLandscape, got {type(other).__name__}")
        if other.n_layers != self.n_layers:
            raise ValueError(f"different numbers of layers: {self.n_layers} vs {other.n_layers}")

    def __add__(self, other: "ActivationLandscape") -> "ActivationLandscape":
        self._check_other(other)
        return ActivationLandscape([a + b for a, b in zip(self.layers, other.layers)], self.layer_names)

    def __sub__(self, other: "ActivationLandscape") -> "ActivationLandscape":
        self._check_other(other)
        return ActivationLandscape([a - b for a, b in zip(self.layers, other.layers)], self.layer_names)

    def __mul__(self, scalar: float) -> "ActivationLandscape":
        if not np.isscalar(scalar):
            return NotImplemented
        return ActivationLandscape([a * scalar for a in self.layers], self.layer_names)

    def inner(self, other: "ActivationLandscape") -> float:
        """Equation (1): ``sum_layers sum_k integral lambda_k rho_k dt``."""
        self._check_other(other)
        return float(sum(a.inner(b) for a, b in zip(self.layers, other.layers)))

    def norm(self, p: float = 2) -> float:
        """``(sum_layers sum_k integral |lambda_k|^p dt)^(1/p)``; ``p=inf`` is the sup over layers."""
        p = _check_p(p)
        norms = [x.norm(p) for x in self.layers]
        if p == math.inf:
            return max(norms)
        return float(sum(n**p for n in norms) ** (1.0 / p))

    def norms_per_layer(self, p: float = 2) -> np.ndarray:
        """L^p norm of each layer, shape ``(n_layers,)``."""
        return np.array([x.norm(p) for x in self.layers])


# ------------------------------------------------------------------ function forms


def inner_product(a: AnyLandscape, b: AnyLandscape) -> float:
    """Inner product ``sum_(layers) sum_k integral a_k b_k dt`` (trapezoid on grids, exact otherwise)."""
    return a.inner(b)


def norm(a: AnyLandscape, p: float = 2) -> float:
    """L^p norm ``(sum_k integral |a_k|^p dt)^(1/p)``; ``p=inf`` is the sup."""
    return a.norm(p)


def distance(a: AnyLandscape, b: AnyLandscape, p: float = 2) -> float:
    """``norm(a - b, p)``."""
    return a.distance(b, p)


def _as_list(items: Iterable[AnyLandscape], name: str) -> list:
    items = list(items)
    if not items:
        raise ValueError(f"{name} must contain at least one landscape")
    kinds = {type(x) for x in items}
    if len(kinds) != 1:
        raise TypeError(f"{name} mixes types {sorted(k.__name__ for k in kinds)}")
    return items


def landscape_sum(items: Iterable[AnyLandscape]) -> AnyLandscape:
    """Sum of landscapes of one type (levels zero-padded)."""
    items = _as_list(items, "items")
    first = items[0]
    if isinstance(first, Landscape):
        k = max(x.n_levels for x in items)
        for x in items[1:]:
            first._check_compatible(x)
        total = np.zeros((k, first.grid.n_points))
        for x in items:
            total[: x.n_levels] += x.values
        hom = first.hom_dim
        for x in items[1:]:
            hom = _merge_meta(hom, x.hom_dim)
        return Landscape(total, first.grid, hom_dim=hom, keep_infinite=all(x.keep_infinite for x in items))
    if isinstance(first, ActivationLandscape):
        n = first.n_layers
        for x in items[1:]:
            first._check_other(x)
        return ActivationLandscape(
            [landscape_sum([x.layers[i] for x in items]) for i in range(n)], first.layer_names
        )
    total = first
    for x in items[1:]:
        total = total + x
    return total


def mean_landscape(items: Iterable[AnyLandscape]) -> AnyLandscape:
    """Pointwise mean of landscapes of one type (the average landscape of the paper)."""
    items = _as_list(items, "items")
    return landscape_sum(items) * (1.0 / len(items))


def _grid_block(items: list) -> tuple[np.ndarray, np.ndarray]:
    """Stack grid items as ``(n, n_layers, K, n_t)`` plus trapezoid weights ``(n_t,)``."""
    if isinstance(items[0], Landscape):
        acts = [ActivationLandscape([x]) for x in items]
    else:
        acts = items
    n_layers = acts[0].n_layers
    grid = acts[0].grid
    for i, a in enumerate(acts):
        if a.n_layers != n_layers:
            raise ValueError(f"item {i} has {a.n_layers} layers, item 0 has {n_layers}")
        if a.grid != grid:
            raise ValueError(f"item {i} is on grid {a.grid}, item 0 on {grid}")
    k = max(a.n_levels for a in acts)
    return np.stack([a.to_array(k) for a in acts]), grid.trapezoid_weights()


def gram_matrix(items: Sequence[AnyLandscape], *, blas_threads: int | None = 1) -> np.ndarray:
    """Gram matrix ``G[i, j] = <items[i], items[j]>`` (equation (1) for multi-layer items), (n, n).

    Grid items are handled with one matrix product; exact items pairwise.
    ``blas_threads`` caps the BLAS threads for that product (``None``: leave BLAS as
    configured). The default 1 is deliberate: on a busy machine a multi-threaded
    OpenBLAS product of this shape (few rows, ~10^5 columns) was measured 20x slower
    than single-threaded (2.9 s vs 0.13 s for 100 x 60,060), while on an idle one the
    gain of more threads is small. The cap uses threadpoolctl, which changes BLAS
    settings process-wide for the duration of the call.
    """
    items = _as_list(items, "items")
    first = items[0]
    exact = isinstance(first, ExactLandscape) or (isinstance(first, ActivationLandscape) and first.is_exact)
    if not exact:
        block, w = _grid_block(items)
        v = block.reshape(len(items), -1)
        vw = (block * w).reshape(len(items), -1)
        if blas_threads is None:
            g = vw @ v.T
        else:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=int(blas_threads), user_api="blas"):
                g = vw @ v.T
        return 0.5 * (g + g.T)
    n = len(items)
    g = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            g[i, j] = g[j, i] = items[i].inner(items[j])
    return g


def landscape_vectors(items: Sequence[AnyLandscape], *, n_levels: int | None = None, weighted: bool = False) -> np.ndarray:
    """Grid items as row vectors, shape ``(n, n_layers * n_levels * n_points)``.

    With ``weighted=True`` each value is multiplied by the square root of its
    trapezoid weight, so that Euclidean inner products of the rows equal the landscape
    inner products (useful for PCA in the landscape metric).
    """
    items = _as_list(items, "items")
    block, w = _grid_block(items)
    if n_levels is not None:
        k = _check_levels(n_levels)
        if k <= block.shape[2]:
            block = block[:, :, :k]
        else:
            pad = np.zeros(block.shape[:2] + (k - block.shape[2], block.shape[3]))
            block = np.concatenate([block, pad], axis=2)
    if weighted:
        block = block * np.sqrt(w)
    return block.reshape(len(items), -1)


def stack_to_xarray(items: Sequence["ActivationLandscape"], dim: str = "sample", coords: Sequence | None = None):
    """Stack grid activation landscapes into one ``xarray.DataArray``.

    Returns dims ``(dim, layer, level, t)`` (levels zero-padded to the largest count),
    with ``coords`` (default ``0..n-1``) along ``dim`` and the grid and metadata of the
    first item in ``attrs``.
    """
    import xarray as xr

    items = _as_list(items, "items")
    if not isinstance(items[0], ActivationLandscape):
        raise TypeError("items must be ActivationLandscape objects")
    block, _ = _grid_block(items)
    if coords is None:
        coords = list(range(len(items)))
    coords = list(coords)
    if len(coords) != len(items):
        raise ValueError(f"coords has {len(coords)} entries for {len(items)} items")
    names = items[0].layer_names
    if any(list(x.layer_names) != list(names) for x in items):
        raise ValueError("items must share layer_names")
    first = items[0].layers[0]
    return xr.DataArray(
        block,
        dims=(dim, "layer", "level", "t"),
        coords={dim: coords, "layer": names, "level": np.arange(1, block.shape[2] + 1), "t": items[0].grid.points()},
        attrs=_attrs(items[0].grid, first.hom_dim, first.keep_infinite),
    )
