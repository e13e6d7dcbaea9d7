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

from .._validation import DEFAULT_MAX_BYTES, check_allocation, check_bool, check_int
from ._vector import CHECKED, TINY, VectorOps, check_p, merge_hom_dim, pow2_exponent
from .exact import ExactLandscape
from .grid import Grid, GridLike, as_grid
from .grid_landscape import Landscape, xarray_attrs

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
        used as the ``layer`` coordinate by :meth:`to_xarray`. Two activation landscapes
        are combined (sum, inner product, distance, mean, Gram matrix, permutation test)
        only when their layer names agree: layer ``i`` of one network is compared with
        the layer of the same name of the other, never with whatever sits at index ``i``.
    """

    __slots__ = ("layers", "layer_names")

    def __init__(self, layers: Sequence[Landscape | ExactLandscape], layer_names: Sequence | None = None) -> None:
        if isinstance(layers, (Landscape, ExactLandscape)):
            raise TypeError("layers must be a sequence of landscapes (one per layer), got a single landscape")
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
        if isinstance(layer_names, (str, bytes)):
            raise TypeError(f"layer_names must be a sequence of labels, got the string {layer_names!r}")
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
        max_bytes: float = DEFAULT_MAX_BYTES,
    ) -> "ActivationLandscape":
        """Grid landscapes of one diagram per layer (each (m_i, 2)) on a common ``grid``.

        ``max_bytes`` bounds the memory of each layer's landscape
        (see :meth:`Landscape.from_diagram`).
        """
        grid = as_grid(grid)
        return cls(
            [
                Landscape.from_diagram(
                    d, grid, n_levels, hom_dim=hom_dim, keep_infinite=keep_infinite, max_bytes=max_bytes
                )
                for d in diagrams
            ],
            layer_names,
        )

    @classmethod
    def from_layer_diagrams(
        cls,
        layer_diagrams: Mapping[object, Sequence[object]],
        grid: GridLike,
        n_levels: int = 5,
        *,
        hom_dim: int,
        keep_infinite: bool = False,
        max_bytes: float = DEFAULT_MAX_BYTES,
    ) -> "ActivationLandscape":
        """From ``{layer name: [diagram of degree 0, 1, ...]}`` (the output of
        :func:`~nntopo.landscapes.layer_diagrams`), taking degree ``hom_dim`` of each
        layer; the names become ``layer_names``."""
        hom_dim = check_int(hom_dim, "hom_dim", minimum=0)
        if not isinstance(layer_diagrams, Mapping):
            raise TypeError(f"layer_diagrams must be a mapping name -> diagrams, got {type(layer_diagrams).__name__}")
        names = list(layer_diagrams)
        dgms = []
        for name in names:
            per_degree = layer_diagrams[name]
            if len(per_degree) <= hom_dim:
                raise ValueError(
                    f"layer_diagrams[{name!r}] has degrees 0..{len(per_degree) - 1}, no degree {hom_dim} (hom_dim)"
                )
            dgms.append(per_degree[hom_dim])
        return cls.from_diagrams(
            dgms, grid, n_levels, hom_dim=hom_dim, keep_infinite=keep_infinite, layer_names=names, max_bytes=max_bytes
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

    def to_grid(
        self, grid: GridLike, n_levels: int | None = None, *, max_bytes: float = DEFAULT_MAX_BYTES
    ) -> "ActivationLandscape":
        """Sample exact layers on ``grid`` (grid layers must already be on it).

        ``max_bytes`` bounds each layer's sampled values.
        """
        grid = as_grid(grid)
        out = []
        for x in self.layers:
            if isinstance(x, ExactLandscape):
                out.append(x.to_grid(grid, n_levels, max_bytes=max_bytes))
            else:
                if x.grid != grid:
                    raise ValueError(f"grid: layer is on grid {x.grid}, not {grid}")
                if n_levels is not None:
                    x = Landscape(
                        x.padded(n_levels, max_bytes=max_bytes), grid, hom_dim=x.hom_dim, keep_infinite=x.keep_infinite
                    )
                out.append(x)
        return ActivationLandscape(out, self.layer_names)

    def to_array(self, n_levels: int | None = None, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
        """Values as ``(n_layers, n_levels, n_points)`` float64, levels zero-padded."""
        self._require_grid("to_array")
        k = self.n_levels if n_levels is None else check_int(n_levels, "n_levels", minimum=1)
        self.grid.check_size(self.n_layers * k, f"n_levels={k} x {self.n_layers} layers on {self.grid.n_points} grid points", max_bytes=max_bytes)
        return np.stack([x.padded(k, max_bytes=CHECKED) for x in self.layers])

    def to_vector(self, n_levels: int | None = None, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
        """Flattened :meth:`to_array`, shape ``(n_layers * n_levels * n_points,)``."""
        return self.to_array(n_levels, max_bytes=max_bytes).ravel()

    def to_xarray(self, n_levels: int | None = None, *, max_bytes: float = DEFAULT_MAX_BYTES):
        """``xarray.DataArray`` with dims ``(layer, level, t)``; grid and metadata in ``attrs``."""
        import xarray as xr

        arr = self.to_array(n_levels, max_bytes=max_bytes)
        first = self.layers[0]
        return xr.DataArray(
            arr,
            dims=("layer", "level", "t"),
            coords={
                "layer": self.layer_names,
                "level": np.arange(1, arr.shape[1] + 1),
                "t": self.grid.points(max_bytes=CHECKED),
            },
            attrs=xarray_attrs(self.grid, first.hom_dim, first.keep_infinite),
        )

    # -- algebra -----------------------------------------------------------------
    def check_compatible(self, other: object, name: str = "other") -> None:
        """Raise unless ``other`` is an :class:`ActivationLandscape` with the same layer names."""
        if not isinstance(other, ActivationLandscape):
            raise TypeError(f"{name} must be an ActivationLandscape, got {type(other).__name__}")
        if other.n_layers != self.n_layers:
            raise ValueError(f"{name}: different numbers of layers: {self.n_layers} vs {other.n_layers}")
        if other.is_exact != self.is_exact:
            raise TypeError(f"{name}: cannot combine exact and grid activation landscapes")
        if not self.is_exact and other.grid != self.grid:
            raise ValueError(f"{name}: landscapes live on different grids: {self.grid} vs {other.grid}")
        if list(other.layer_names) != list(self.layer_names):
            raise ValueError(
                f"{name}: different layer names {list(self.layer_names)} vs {list(other.layer_names)}; "
                "only landscapes of the same layers can be combined"
            )

    def __add__(self, other: "ActivationLandscape") -> "ActivationLandscape":
        self.check_compatible(other)
        return ActivationLandscape([a + b for a, b in zip(self.layers, other.layers)], self.layer_names)

    def __sub__(self, other: "ActivationLandscape") -> "ActivationLandscape":
        self.check_compatible(other)
        return ActivationLandscape([a - b for a, b in zip(self.layers, other.layers)], self.layer_names)

    def _map_values(self, fn, what: str) -> "ActivationLandscape":
        return ActivationLandscape([a._map_values(fn, what) for a in self.layers], self.layer_names)

    def inner(self, other: "ActivationLandscape") -> float:
        """Equation (1): ``sum_layers sum_k integral lambda_k rho_k dt``."""
        self.check_compatible(other)
        return float(sum(a.inner(b) for a, b in zip(self.layers, other.layers)))

    def norm(self, p: float = 2) -> float:
        """``(sum_layers sum_k integral |lambda_k|^p dt)^(1/p)``; ``p=inf`` is the sup over layers."""
        p = check_p(p)
        norms = np.array([x.norm(p) for x in self.layers])
        m = float(norms.max())
        if p == math.inf or m == 0.0 or not math.isfinite(m):
            return m
        with np.errstate(over="ignore", under="ignore"):
            total = float(np.sum(norms**p))
        if math.isfinite(total) and total >= TINY:
            return total ** (1.0 / p)
        # Each layer's norm is representable, their p-th powers need not be: divide by
        # the largest first.
        return m * float(np.sum((norms / m) ** p)) ** (1.0 / p)

    def norms_per_layer(self, p: float = 2) -> np.ndarray:
        """L^p norm of each layer, shape ``(n_layers,)``."""
        p = check_p(p)
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


def as_landscape_list(items: Iterable[AnyLandscape], name: str) -> list:
    """``items`` as a non-empty list of landscapes of one type, compatible with each other.

    Grid landscapes must share a grid, activation landscapes their layer names (and
    number); a ``TypeError`` or ``ValueError`` names ``name[i]`` otherwise.
    """
    if isinstance(items, (Landscape, ExactLandscape, ActivationLandscape)):
        raise TypeError(f"{name} must be a sequence of landscapes, got a single {type(items).__name__}")
    items = list(items)
    if not items:
        raise ValueError(f"{name} must contain at least one landscape")
    for i, x in enumerate(items):
        if not isinstance(x, (Landscape, ExactLandscape, ActivationLandscape)):
            raise TypeError(f"{name}[{i}] must be a landscape, got {type(x).__name__}")
    kinds = {type(x) for x in items}
    if len(kinds) != 1:
        raise TypeError(f"{name} mixes types {sorted(k.__name__ for k in kinds)}")
    first = items[0]
    if isinstance(first, (Landscape, ActivationLandscape)):
        for i, x in enumerate(items[1:], start=1):
            first.check_compatible(x, f"{name}[{i}]")
    return items


def landscape_sum(items: Iterable[AnyLandscape], *, max_bytes: float = DEFAULT_MAX_BYTES) -> AnyLandscape:
    """Sum of landscapes of one type (levels zero-padded)."""
    items = as_landscape_list(items, "items")
    first = items[0]
    if isinstance(first, Landscape):
        k = max(x.n_levels for x in items)
        first.grid.check_size(k, f"items: a sum of {k} levels on {first.grid.n_points} grid points", max_bytes=max_bytes)
        total = np.zeros((k, first.grid.n_points))
        for x in items:
            total[: x.n_levels] += x.values
        hom = first.hom_dim
        for x in items[1:]:
            hom = merge_hom_dim(hom, x.hom_dim)
        return Landscape(total, first.grid, hom_dim=hom, keep_infinite=all(x.keep_infinite for x in items))
    if isinstance(first, ActivationLandscape):
        return ActivationLandscape(
            [landscape_sum([x.layers[i] for x in items], max_bytes=max_bytes) for i in range(first.n_layers)],
            first.layer_names,
        )
    total = first
    for x in items[1:]:
        total = total + x
    return total


def mean_landscape(items: Iterable[AnyLandscape], *, max_bytes: float = DEFAULT_MAX_BYTES) -> AnyLandscape:
    """Pointwise mean of landscapes of one type (the average landscape of the paper)."""
    items = as_landscape_list(items, "items")
    return landscape_sum(items, max_bytes=max_bytes) / len(items)


def grid_block(items: list, *, max_bytes: float = DEFAULT_MAX_BYTES, copies: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Stack checked grid items as ``(n, n_layers, K, n_t)`` plus trapezoid weights ``(n_t,)``.

    ``copies`` is how many arrays of the block's size the caller will hold at once, for
    the memory estimate checked against ``max_bytes``.
    """
    if isinstance(items[0], Landscape):
        acts = [ActivationLandscape([x]) for x in items]
    else:
        acts = items
    if acts[0].is_exact:
        raise TypeError("items must be grid landscapes; sample exact ones with .to_grid(grid)")
    grid = acts[0].grid
    k = max(a.n_levels for a in acts)
    n_layers = acts[0].n_layers
    check_allocation(
        8.0 * copies * len(acts) * n_layers * k * grid.n_points,
        f"items: {copies} array(s) of {len(acts)} items x {n_layers} layers x {k} levels x {grid.n_points} points",
        max_bytes=max_bytes,
    )
    return np.stack([a.to_array(k, max_bytes=CHECKED) for a in acts]), grid.trapezoid_weights(max_bytes=CHECKED)


def _gram_product(vw: np.ndarray, v: np.ndarray, blas_threads: int | None) -> np.ndarray:
    if blas_threads is None:
        return vw @ v.T
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return vw @ v.T


def gram_matrix(
    items: Sequence[AnyLandscape], *, blas_threads: int | None = 1, max_bytes: float = DEFAULT_MAX_BYTES
) -> np.ndarray:
    """Gram matrix ``G[i, j] = <items[i], items[j]>`` (equation (1) for multi-layer items), (n, n).

    Grid items are handled with one matrix product; exact items pairwise.
    ``blas_threads`` caps the BLAS threads for that product (``None``: leave BLAS as
    configured). The default 1 is deliberate: on a busy machine a multi-threaded
    OpenBLAS product of this shape (few rows, ~10^5 columns) was measured 20x slower
    than single-threaded (2.9 s vs 0.13 s for 100 x 60,060), while on an idle one the
    gain of more threads is small. The cap uses threadpoolctl, which changes BLAS
    settings process-wide for the duration of the call. The grid form holds two
    copies of all the items' values: past ``max_bytes`` a ``ValueError`` comes first.
    """
    if blas_threads is not None:
        blas_threads = check_int(blas_threads, "blas_threads", minimum=1)
    items = as_landscape_list(items, "items")
    first = items[0]
    exact = isinstance(first, ExactLandscape) or (isinstance(first, ActivationLandscape) and first.is_exact)
    n = len(items)
    check_allocation(16.0 * n * n, f"items: a {n} x {n} Gram matrix", max_bytes=max_bytes)
    if not exact:
        block, w = grid_block(items, max_bytes=max_bytes, copies=2)
        v = block.reshape(n, -1)
        g = _gram_product((block * w).reshape(n, -1), v, blas_threads)
        big = float(np.abs(g).max())
        if not math.isfinite(big) or big < TINY:
            # Values near 1e200 (overflow) or 1e-200 (underflow): again on values
            # rescaled by a power of two, exact, and the spacing taken out of the weights.
            m = float(np.abs(block).max())
            if m == 0.0:
                return np.zeros((n, n))
            e = pow2_exponent(m)
            h = first.grid.spacing
            hm, eh = math.frexp(h)
            v = np.ldexp(block, -e).reshape(n, -1)
            u = w / h
            g = _gram_product((np.ldexp(block, -e) * u).reshape(n, -1), v, blas_threads)
            with np.errstate(over="ignore"):
                g = np.ldexp(g * hm, 2 * e + eh)
        return 0.5 * (g + g.T)
    g = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            g[i, j] = g[j, i] = items[i].inner(items[j])
    return g


def landscape_vectors(
    items: Sequence[AnyLandscape],
    *,
    n_levels: int | None = None,
    weighted: bool = False,
    max_bytes: float = DEFAULT_MAX_BYTES,
) -> np.ndarray:
    """Grid items as row vectors, shape ``(n, n_layers * n_levels * n_points)``.

    With ``weighted=True`` each value is multiplied by the square root of its
    trapezoid weight, so that Euclidean inner products of the rows equal the landscape
    inner products (useful for PCA in the landscape metric).
    """
    weighted = check_bool(weighted, "weighted")
    items = as_landscape_list(items, "items")
    k = None if n_levels is None else check_int(n_levels, "n_levels", minimum=1)
    first = items[0]
    if k is not None and not (isinstance(first, ExactLandscape) or (isinstance(first, ActivationLandscape) and first.is_exact)):
        n_layers = first.n_layers if isinstance(first, ActivationLandscape) else 1
        check_allocation(
            16.0 * len(items) * n_layers * k * first.grid.n_points,
            f"n_levels={k}: vectors of {len(items)} items x {n_layers} layers x {k} levels x {first.grid.n_points} points",
            max_bytes=max_bytes,
        )
    block, w = grid_block(items, max_bytes=max_bytes, copies=2)
    if k is not None:
        if k <= block.shape[2]:
            block = block[:, :, :k]
        else:
            pad = np.zeros(block.shape[:2] + (k - block.shape[2], block.shape[3]))
            block = np.concatenate([block, pad], axis=2)
    if weighted:
        block = block * np.sqrt(w)
    return block.reshape(len(items), -1)


def stack_to_xarray(
    items: Sequence["ActivationLandscape"],
    dim: str = "sample",
    coords: Sequence | None = None,
    *,
    max_bytes: float = DEFAULT_MAX_BYTES,
):
    """Stack grid activation landscapes into one ``xarray.DataArray``.

    Returns dims ``(dim, layer, level, t)`` (levels zero-padded to the largest count),
    with ``coords`` (default ``0..n-1``) along ``dim`` and the grid and metadata of the
    first item in ``attrs``. The items must share their layer names.
    """
    import xarray as xr

    items = as_landscape_list(items, "items")
    if not isinstance(items[0], ActivationLandscape):
        raise TypeError("items must be ActivationLandscape objects")
    if not isinstance(dim, str):
        raise TypeError(f"dim must be a str, got {type(dim).__name__}")
    if coords is None:
        coords = list(range(len(items)))
    coords = list(coords)
    if len(coords) != len(items):
        raise ValueError(f"coords has {len(coords)} entries for {len(items)} items")
    block, _ = grid_block(items, max_bytes=max_bytes)
    names = items[0].layer_names
    first = items[0].layers[0]
    return xr.DataArray(
        block,
        dims=(dim, "layer", "level", "t"),
        coords={
            dim: coords,
            "layer": names,
            "level": np.arange(1, block.shape[2] + 1),
            "t": items[0].grid.points(max_bytes=CHECKED),
        },
        attrs=xarray_attrs(items[0].grid, first.hom_dim, first.keep_infinite),
    )
