"""Persistence landscapes on a grid and in exact piecewise-linear form.

Conventions (see DESIGN.md):

* a bar ``(b, d)`` contributes the tent ``f(t) = max(0, min(t - b, d - t))``; there is
  **no** sqrt(2) factor (gudhi's ``Landscape`` multiplies by sqrt(2), we do not);
* ``lambda_k(t)`` is the k-th largest tent value at ``t`` (k = 1, 2, ...);
* a grid is ``(t_min, t_max, step)`` with both ends included;
* an infinite bar is cut at ``t_max``; with ``keep_infinite=False`` (the default)
  infinite bars (in practice H0's single infinite bar) are dropped, and the choice is
  stored with the landscape.

Units: ``t`` and landscape values are in the units of the filtration (for a
Vietoris-Rips filtration of normalized activations, distances with diameter 1).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Sequence

import numba
import numpy as np

logger = logging.getLogger("nntopo")

__all__ = [
    "Grid",
    "Landscape",
    "ExactLandscape",
    "as_grid",
    "check_diagram",
    "landscape",
    "exact_landscape",
]

# Relative tolerance for deciding that (t_max - t_min) / step is an integer: a step
# written in decimal (0.001, 0.005) is never exactly representable, so the ratio is
# off by a few ulps even when the user means an integer.
_GRID_RATIO_RTOL = 1e-9


# ----------------------------------------------------------------------------- grid


@dataclass(frozen=True)
class Grid:
    """A regular grid ``t_min, t_min + step, ..., t_max`` with both ends included.

    ``(t_max - t_min) / step`` must be an integer (up to a relative ``1e-9``, which
    absorbs decimal steps such as 0.001 that binary floats cannot hold exactly);
    otherwise a ``ValueError`` names ``step`` and proposes the nearest valid ``t_max``.
    We refuse rather than silently move an end, because both ends being grid points is
    what makes stored grids comparable. The points are
    ``numpy.linspace(t_min, t_max, n_points)``, so the last point is exactly ``t_max``,
    and the trapezoid rule uses the realised spacing ``(t_max - t_min) / n_intervals``
    (equal to ``step`` up to rounding).
    """

    t_min: float
    t_max: float
    step: float
    n_intervals: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("t_min", "t_max", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
            if not math.isfinite(float(value)):
                raise ValueError(f"{name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step!r}")
        if not self.t_max > self.t_min:
            raise ValueError(
                f"t_max must be > t_min, got t_min={self.t_min!r}, t_max={self.t_max!r}"
            )
        ratio = (self.t_max - self.t_min) / self.step
        n = int(round(ratio))
        if n < 1 or abs(ratio - n) > _GRID_RATIO_RTOL * max(1.0, ratio):
            n_up = max(1, math.ceil(ratio))
            raise ValueError(
                "step must divide t_max - t_min into an integer number of intervals "
                f"(both ends are grid points); got (t_max - t_min) / step = {ratio!r}. "
                f"Use e.g. t_max={self.t_min + n_up * self.step!r}."
            )
        object.__setattr__(self, "n_intervals", n)

    @property
    def n_points(self) -> int:
        """Number of grid points, ``n_intervals + 1``."""
        return self.n_intervals + 1

    @property
    def spacing(self) -> float:
        """Realised spacing ``(t_max - t_min) / n_intervals`` (== ``step`` up to rounding)."""
        return (self.t_max - self.t_min) / self.n_intervals

    def points(self) -> np.ndarray:
        """Grid points, shape ``(n_points,)`` float64."""
        return np.linspace(self.t_min, self.t_max, self.n_points)

    def trapezoid_weights(self) -> np.ndarray:
        """Trapezoid-rule weights, shape ``(n_points,)``: ``spacing`` inside, half at the ends."""
        w = np.full(self.n_points, self.spacing)
        w[0] *= 0.5
        w[-1] *= 0.5
        return w

    def as_tuple(self) -> tuple[float, float, float]:
        """``(t_min, t_max, step)``."""
        return (self.t_min, self.t_max, self.step)


GridLike = Grid | tuple[float, float, float] | Sequence[float]


def as_grid(grid: GridLike) -> Grid:
    """Return ``grid`` as a :class:`Grid`; accepts a ``Grid`` or ``(t_min, t_max, step)``."""
    if isinstance(grid, Grid):
        return grid
    try:
        t_min, t_max, step = grid  # type: ignore[misc]
    except (TypeError, ValueError):
        raise TypeError(
            f"grid must be a Grid or a (t_min, t_max, step) triple, got {grid!r}"
        ) from None
    return Grid(t_min, t_max, step)


# -------------------------------------------------------------------------- diagrams


def check_diagram(diagram: object, name: str = "diagram") -> np.ndarray:
    """Validate a persistence diagram and return it as a float64 array of shape ``(m, 2)``.

    Births must be finite; deaths may be ``+inf`` but not NaN or ``-inf``; every bar must
    have ``death >= birth``. An empty diagram (``m = 0``, also shape ``(0,)``) is valid.
    """
    try:
        arr = np.asarray(diagram, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array of shape (m, 2)") from None
    if arr.size == 0:
        return np.empty((0, 2), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (m, 2), got shape {arr.shape}")
    births, deaths = arr[:, 0], arr[:, 1]
    if not np.all(np.isfinite(births)):
        raise ValueError(f"{name} has non-finite births (NaN or inf); births must be finite")
    if np.any(np.isnan(deaths)) or np.any(deaths == -np.inf):
        raise ValueError(f"{name} has NaN or -inf deaths; deaths must be finite or +inf")
    if np.any(deaths < births):
        raise ValueError(f"{name} has bars with death < birth")
    return arr


def _prepare_bars(diagram: np.ndarray, keep_infinite: bool, t_max: float | None) -> np.ndarray:
    """Drop or cut infinite bars, drop zero-length ones; returns float64 (m', 2)."""
    births, deaths = diagram[:, 0], diagram[:, 1]
    inf = np.isinf(deaths)
    if keep_infinite and inf.any():
        if t_max is None:
            raise ValueError("t_max is required to cut infinite bars when keep_infinite=True")
        deaths = np.where(inf, t_max, deaths)
        return np.ascontiguousarray(np.column_stack([births, deaths])[deaths > births])
    # one mask, one copy: infinite bars (dropped) and zero-length bars (no tent)
    return np.ascontiguousarray(diagram[(deaths > births) & ~inf])


# ---------------------------------------------------------------------- grid kernel


# Grid points per block of the pruning index (see _grid_kernel).
_BLOCK = 16


@numba.njit(cache=True, nogil=True, inline="always")
def _sift_down(heap, i, pos, v, k):  # pragma: no cover - compiled
    # Place v at heap[i, pos] and restore the min-heap property below pos.
    while True:
        ch = 2 * pos + 1
        if ch >= k:
            break
        if ch + 1 < k and heap[i, ch + 1] < heap[i, ch]:
            ch += 1
        if heap[i, ch] >= v:
            break
        heap[i, pos] = heap[i, ch]
        pos = ch
    heap[i, pos] = v


@numba.njit(cache=True, nogil=True)
def _grid_kernel(births, deaths, order, t, t_min, h, heap, kth, count):  # pragma: no cover - compiled
    # heap[i] is a min-heap of the k largest tent values seen at grid point i (zeros
    # to start), and kth[i] == heap[i, 0] is its root, i.e. the running k-th largest
    # value, kept in a separate contiguous array so that the common case (tent value
    # not in the top k) reads one contiguous row. A heap rather than a sorted list:
    # at k = 50 a sorted insertion shifts ~k/2 entries, a heap sift-down ~log2(k).
    #
    # Pruning: block_min[c] is a lower bound of kth over block c of _BLOCK points.
    # A tent's largest value on a block is bounded in closed form; when the bound is
    # <= block_min the block is skipped. Bars arrive longest first, so the k-th values
    # rise early and most short bars touch only a few blocks.
    n_t, k = heap.shape
    n_blocks = (n_t + _BLOCK - 1) // _BLOCK
    block_min = np.zeros(n_blocks)
    for jj in range(order.shape[0]):
        j = order[jj]
        b = births[j]
        d = deaths[j]
        mid = 0.5 * (b + d)
        # One extra point on each side absorbs rounding in the index arithmetic;
        # those points get a value <= 0 and are rejected by the comparison below.
        lo = int(math.floor((b - t_min) / h))
        hi = int(math.ceil((d - t_min) / h))
        if lo < 0:
            lo = 0
        if hi > n_t - 1:
            hi = n_t - 1
        if lo > hi:
            continue
        for c in range(lo // _BLOCK, hi // _BLOCK + 1):
            i0 = max(lo, c * _BLOCK)
            i1 = min(hi, c * _BLOCK + _BLOCK - 1)
            ta = t[i0]
            tb = t[i1]
            # Upper bounds that hold for the rounded values computed below too
            # (t - b and d - t are monotone in t under rounding).
            if mid <= ta:
                vmax = d - ta
            elif mid >= tb:
                vmax = tb - b
            else:
                vmax = max(d - mid, mid - b)
            if vmax <= block_min[c]:
                continue
            changed = False
            for i in range(i0, i1 + 1):
                ti = t[i]
                v = min(ti - b, d - ti)
                if v > kth[i]:
                    n_i = count[i]
                    if n_i < k:
                        # Filling phase: append unordered, heapify once when full;
                        # kth stays 0 meanwhile, which is the true k-th value.
                        heap[i, n_i] = v
                        count[i] = n_i + 1
                        if n_i + 1 == k:
                            for start in range(k // 2 - 1, -1, -1):
                                _sift_down(heap, i, start, heap[i, start], k)
                            kth[i] = heap[i, 0]
                    else:
                        _sift_down(heap, i, 0, v, k)
                        kth[i] = heap[i, 0]
                    changed = True
            if changed:
                m = kth[c * _BLOCK]
                for i in range(c * _BLOCK + 1, min(n_t, c * _BLOCK + _BLOCK)):
                    if kth[i] < m:
                        m = kth[i]
                block_min[c] = m


def _grid_values(bars: np.ndarray, grid: Grid, n_levels: int) -> np.ndarray:
    t = grid.points()
    if bars.shape[0] == 0:
        return np.zeros((n_levels, grid.n_points), dtype=np.float64)
    heap = np.zeros((grid.n_points, n_levels), dtype=np.float64)
    kth = np.zeros(grid.n_points, dtype=np.float64)
    count = np.zeros(grid.n_points, dtype=np.int64)
    births = np.ascontiguousarray(bars[:, 0])
    deaths = np.ascontiguousarray(bars[:, 1])
    # Longest bars first, so the k-th values rise early and the block pruning in the
    # kernel skips most short bars. Any order gives the same values, so the cheaper
    # unstable sort will do (~4x faster than a stable one here).
    order = np.argsort(births - deaths).astype(np.int64)
    _grid_kernel(births, deaths, order, t, grid.t_min, grid.spacing, heap, kth, count)
    heap.sort(axis=1)
    return np.ascontiguousarray(heap[:, ::-1].T)


# ------------------------------------------------------------------------ Landscape


def _check_levels(n_levels: object, name: str = "n_levels") -> int:
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {n_levels!r}")
    if n_levels < 1:
        raise ValueError(f"{name} must be >= 1, got {n_levels}")
    return int(n_levels)


class VectorOps:
    """Operations every landscape type derives from its ``__mul__``, ``__sub__`` and ``norm``."""

    __slots__ = ()
    __array_priority__ = 1000  # so that ``numpy_scalar * landscape`` reaches __rmul__

    def __rmul__(self, scalar: float):
        return self.__mul__(scalar)

    def __truediv__(self, scalar: float):
        if not np.isscalar(scalar):
            return NotImplemented
        return self * (1.0 / float(scalar))

    def __neg__(self):
        return self * -1.0

    def distance(self, other, p: float = 2) -> float:
        """``norm(self - other, p)`` (exact for exact landscapes)."""
        return (self - other).norm(p)


class Landscape(VectorOps):
    """A persistence landscape sampled on a :class:`Grid`.

    Attributes
    ----------
    values : ndarray, shape (n_levels, n_points), float64
        ``values[k - 1, i] = lambda_k(t_i)``.
    grid : Grid
    hom_dim : int or None
        Homological degree the landscape came from (metadata).
    keep_infinite : bool
        Whether infinite bars were kept (cut at ``grid.t_max``) or dropped.
    """

    __slots__ = ("values", "grid", "hom_dim", "keep_infinite")

    def __init__(
        self,
        values: np.ndarray,
        grid: GridLike,
        *,
        hom_dim: int | None = None,
        keep_infinite: bool = False,
    ) -> None:
        self.grid = as_grid(grid)
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim == 1:
            vals = vals[None, :]
        if vals.ndim != 2 or vals.shape[1] != self.grid.n_points:
            raise ValueError(
                f"values must have shape (n_levels, {self.grid.n_points}) for this grid, "
                f"got {np.shape(values)}"
            )
        if not np.all(np.isfinite(vals)):
            raise ValueError("values must be finite")
        self.values = vals
        self.hom_dim = hom_dim
        self.keep_infinite = bool(keep_infinite)

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_diagram(
        cls,
        diagram: object,
        grid: GridLike,
        n_levels: int = 5,
        *,
        hom_dim: int | None = None,
        keep_infinite: bool = False,
    ) -> "Landscape":
        """Sample the landscape of ``diagram`` (shape (m, 2)) on ``grid`` at ``n_levels`` levels.

        Each tent is evaluated only on the grid points inside its support, and the top
        ``n_levels`` values per point are kept in a compiled loop (O(total support
        points * small) rather than a dense (points x bars) sort).
        """
        grid = as_grid(grid)
        n_levels = _check_levels(n_levels)
        dgm = check_diagram(diagram)
        bars = _prepare_bars(dgm, keep_infinite, grid.t_max)
        return cls(
            _grid_values(bars, grid, n_levels),
            grid,
            hom_dim=hom_dim,
            keep_infinite=keep_infinite,
        )

    # -- shape -------------------------------------------------------------------
    @property
    def n_levels(self) -> int:
        """Number of stored levels (rows of ``values``)."""
        return self.values.shape[0]

    @property
    def t(self) -> np.ndarray:
        """Grid points, shape ``(n_points,)``."""
        return self.grid.points()

    def padded(self, n_levels: int) -> np.ndarray:
        """Values padded with zero levels (or truncated) to ``(n_levels, n_points)``."""
        k = self.n_levels
        if n_levels == k:
            return self.values
        if n_levels < k:
            return self.values[:n_levels]
        out = np.zeros((n_levels, self.grid.n_points))
        out[:k] = self.values
        return out

    def to_vector(self, n_levels: int | None = None) -> np.ndarray:
        """Flattened values, level-major, shape ``(n_levels * n_points,)``."""
        return self.padded(self.n_levels if n_levels is None else n_levels).ravel()

    def to_xarray(self):
        """``xarray.DataArray`` with dims ``(level, t)``; grid and metadata in ``attrs``."""
        import xarray as xr

        return xr.DataArray(
            self.values,
            dims=("level", "t"),
            coords={"level": np.arange(1, self.n_levels + 1), "t": self.t},
            attrs=_attrs(self.grid, self.hom_dim, self.keep_infinite),
        )

    def __repr__(self) -> str:
        return (
            f"Landscape(n_levels={self.n_levels}, grid={self.grid}, "
            f"hom_dim={self.hom_dim}, keep_infinite={self.keep_infinite})"
        )

    # -- algebra -----------------------------------------------------------------
    def _check_compatible(self, other: "Landscape") -> None:
        if not isinstance(other, Landscape):
            raise TypeError(f"expected a Landscape, got {type(other).__name__}")
        if other.grid != self.grid:
            raise ValueError(f"landscapes live on different grids: {self.grid} vs {other.grid}")

    def _binary(self, other: "Landscape", sign: float) -> "Landscape":
        self._check_compatible(other)
        k = max(self.n_levels, other.n_levels)
        vals = self.padded(k) + sign * other.padded(k)
        return Landscape(
            vals,
            self.grid,
            hom_dim=_merge_meta(self.hom_dim, other.hom_dim),
            keep_infinite=self.keep_infinite and other.keep_infinite,
        )

    def __add__(self, other: "Landscape") -> "Landscape":
        return self._binary(other, 1.0)

    def __sub__(self, other: "Landscape") -> "Landscape":
        return self._binary(other, -1.0)

    def __mul__(self, scalar: float) -> "Landscape":
        if not np.isscalar(scalar):
            return NotImplemented
        return Landscape(
            self.values * float(scalar), self.grid, hom_dim=self.hom_dim, keep_infinite=self.keep_infinite
        )

    def inner(self, other: "Landscape") -> float:
        """``sum_k integral lambda_k rho_k dt`` by the trapezoid rule on the grid."""
        self._check_compatible(other)
        k = min(self.n_levels, other.n_levels)  # missing levels are zero
        w = self.grid.trapezoid_weights()
        return float(np.einsum("kt,kt,t->", self.values[:k], other.values[:k], w))

    def norm(self, p: float = 2) -> float:
        """``(sum_k integral |lambda_k|^p dt)^(1/p)`` by the trapezoid rule; ``p=inf`` is the sup."""
        p = _check_p(p)
        a = np.abs(self.values)
        if p == math.inf:
            return float(a.max(initial=0.0))
        w = self.grid.trapezoid_weights()
        if p == 1:
            return float(a.sum(axis=0) @ w)
        if p == 2:
            return math.sqrt(float(np.einsum("kt,kt,t->", a, a, w)))
        return float((a**p).sum(axis=0) @ w) ** (1.0 / p)


def _attrs(grid: Grid, hom_dim: int | None, keep_infinite: bool) -> dict:
    return {
        "t_min": grid.t_min,
        "t_max": grid.t_max,
        "step": grid.step,
        "hom_dim": -1 if hom_dim is None else int(hom_dim),
        "keep_infinite": int(bool(keep_infinite)),
        "convention": "tent max(0, min(t-b, d-t)), no sqrt(2); infinite bars cut at t_max",
    }


def _merge_meta(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None or a == b:
        return a
    raise ValueError(f"cannot combine landscapes of different homological degrees {a} and {b}")


def _check_p(p: float) -> float:
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise TypeError(f"p must be a number >= 1 or inf, got {p!r}") from None
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (or inf), got {p!r}")
    return p


def landscape(
    diagram: object,
    grid: GridLike,
    n_levels: int = 5,
    *,
    hom_dim: int | None = None,
    keep_infinite: bool = False,
) -> Landscape:
    """Grid landscape of ``diagram`` (shape (m, 2)); see :meth:`Landscape.from_diagram`."""
    return Landscape.from_diagram(
        diagram, grid, n_levels, hom_dim=hom_dim, keep_infinite=keep_infinite
    )


# -------------------------------------------------------------------- exact landscape


@numba.njit(cache=True, nogil=True)
def _bd_kernel(bs, ds, max_levels):  # pragma: no cover - compiled
    # Bars (bs[i], ds[i]) sorted by (birth ascending, death descending); the live list
    # is bs[start:n]. Returns the concatenated breakpoints of all levels and the level
    # offsets. See _bubenik_dlotko for the idea.
    n = bs.shape[0]
    B = bs.copy()
    D = ds.copy()
    cap = 16 + 4 * n
    xs = np.empty(cap)
    ys = np.empty(cap)
    offsets = [0]
    cnt = 0
    n_lv = 0
    start = 0
    while n - start > 0 and (max_levels < 0 or n_lv < max_levels):
        b = B[start]
        d = D[start]
        start += 1
        p = start
        first = True
        while True:
            if cnt + 5 > cap:  # at most 5 points per step
                cap *= 2
                xs2 = np.empty(cap)
                ys2 = np.empty(cap)
                xs2[:cnt] = xs[:cnt]
                ys2[:cnt] = ys[:cnt]
                xs = xs2
                ys = ys2
            if first:
                xs[cnt] = b
                ys[cnt] = 0.0
                xs[cnt + 1] = 0.5 * (b + d)
                ys[cnt + 1] = 0.5 * (d - b)
                cnt += 2
                first = False
            # the first live bar after p that reaches further right
            j = p
            while j < n and D[j] <= d:
                j += 1
            if j == n:
                xs[cnt] = d
                ys[cnt] = 0.0
                cnt += 1
                break
            b2 = B[j]
            d2 = D[j]
            if b2 > d:
                xs[cnt] = d
                ys[cnt] = 0.0
                cnt += 1
            if b2 >= d:
                xs[cnt] = b2
                ys[cnt] = 0.0
                cnt += 1
                for q in range(j, n - 1):  # pop j
                    B[q] = B[q + 1]
                    D[q] = D[q + 1]
                n -= 1
            else:
                xs[cnt] = 0.5 * (b2 + d)
                ys[cnt] = 0.5 * (d - b2)
                cnt += 1
                # Replace bar j by (b2, d) and move it right to its sorted place: every
                # bar before j sorts at or before (b2, d2), hence before (b2, d).
                q = j
                while q + 1 < n and (B[q + 1] < b2 or (B[q + 1] == b2 and D[q + 1] > d)):
                    B[q] = B[q + 1]
                    D[q] = D[q + 1]
                    q += 1
                B[q] = b2
                D[q] = d
            xs[cnt] = 0.5 * (b2 + d2)
            ys[cnt] = 0.5 * (d2 - b2)
            cnt += 1
            b = b2
            d = d2
            p = j  # bars between p and j end before d2: skipped for the rest of the chain
        n_lv += 1
        offsets.append(cnt)
    return xs[:cnt].copy(), ys[:cnt].copy(), np.array(offsets)


def _bubenik_dlotko(bars: np.ndarray, n_levels: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Critical points of each level (Bubenik & Dlotko 2017, Algorithm 1).

    Bars are kept sorted by (birth ascending, death descending). Level k is traced as
    a chain of tents going right; where the next tent crosses the current one, the
    part of the pair below the crossing is exactly the tent of the bar
    ``(b_next, d_current)`` (for b <= b' < d <= d', min(f_bd, f_b'd') = f_b'd), which is
    pushed back for the next levels. Worst case O(m^2) per level, compiled (about
    0.3 s for all levels of 5,000 random bars); the grid form is the fast path.
    """
    if bars.shape[0] == 0:
        return []
    order = np.lexsort((-bars[:, 1], bars[:, 0]))
    xs, ys, off = _bd_kernel(
        np.ascontiguousarray(bars[order, 0]),
        np.ascontiguousarray(bars[order, 1]),
        -1 if n_levels is None else int(n_levels),
    )
    return [_dedupe(xs[off[i] : off[i + 1]], ys[off[i] : off[i + 1]]) for i in range(off.size - 1)]


def _dedupe(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated breakpoints (same x twice); a landscape is continuous, so y agrees."""
    if xs.size < 2:
        return xs, ys
    keep = np.ones(xs.size, dtype=bool)
    keep[1:] = xs[1:] != xs[:-1]
    return xs[keep], ys[keep]


def _seg_integral_pow(y0: np.ndarray, y1: np.ndarray, h: np.ndarray, p: float) -> float:
    """Exact ``sum integral |l|^p`` over segments where ``l`` is linear from y0 to y1."""
    a = np.abs(y0)
    b = np.abs(y1)
    same = (y0 * y1) >= 0
    if p == 1:
        inside = np.where(same, 0.5 * (a + b), (a * a + b * b) / (2.0 * np.maximum(a + b, 1e-300)))
        return float(np.sum(h * inside))
    if p == 2:
        inside_same = (a * a + a * b + b * b) / 3.0
    else:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        diff = hi - lo
        # (hi^(p+1) - lo^(p+1)) / ((p+1)(hi-lo)); near hi == lo the quotient tends
        # to hi^p, and the difference formula loses digits, so switch to a series.
        safe = diff > 1e-8 * np.maximum(hi, 1e-300)
        q = np.where(
            safe,
            (hi ** (p + 1) - lo ** (p + 1)) / ((p + 1) * np.where(safe, diff, 1.0)),
            hi**p * (1 - p * diff / np.maximum(hi, 1e-300) / 2),
        )
        inside_same = q
    inside_cross = (a ** (p + 1) + b ** (p + 1)) / ((p + 1) * np.maximum(a + b, 1e-300))
    return float(np.sum(h * np.where(same, inside_same, inside_cross)))


class ExactLandscape(VectorOps):
    """A persistence landscape as exact piecewise-linear functions.

    ``levels[k-1] = (x, y)``: ``lambda_k`` is the linear interpolation of the breakpoints
    ``(x, y)`` (``x`` non-decreasing) and zero outside ``[x[0], x[-1]]``. Levels beyond
    ``len(levels)`` are zero. Sums, scalings, norms and inner products are exact (up to
    float rounding): products of piecewise-linear functions are integrated in closed
    form on the merged breakpoints.
    """

    __slots__ = ("levels", "hom_dim", "keep_infinite", "t_max")

    def __init__(
        self,
        levels: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        hom_dim: int | None = None,
        keep_infinite: bool = False,
        t_max: float | None = None,
    ) -> None:
        lv = []
        for i, (x, y) in enumerate(levels):
            x = np.asarray(x, dtype=np.float64)
            y = np.asarray(y, dtype=np.float64)
            if x.ndim != 1 or x.shape != y.shape:
                raise ValueError(f"levels[{i}] must be two 1-d arrays of equal length")
            if x.size and (not np.all(np.isfinite(x)) or not np.all(np.isfinite(y))):
                raise ValueError(f"levels[{i}] must be finite")
            if np.any(np.diff(x) < 0):
                raise ValueError(f"levels[{i}] breakpoints must be non-decreasing")
            lv.append((x, y))
        self.levels = lv
        self.hom_dim = hom_dim
        self.keep_infinite = bool(keep_infinite)
        self.t_max = t_max

    @classmethod
    def from_diagram(
        cls,
        diagram: object,
        n_levels: int | None = None,
        *,
        t_max: float | None = None,
        hom_dim: int | None = None,
        keep_infinite: bool = False,
    ) -> "ExactLandscape":
        """Exact landscape of ``diagram`` (shape (m, 2)); all nonzero levels if ``n_levels`` is None.

        With ``keep_infinite=True`` infinite bars are cut at ``t_max`` (required then).
        """
        if n_levels is not None:
            n_levels = _check_levels(n_levels)
        if t_max is not None and not math.isfinite(t_max):
            raise ValueError(f"t_max must be finite, got {t_max!r}")
        dgm = check_diagram(diagram)
        bars = _prepare_bars(dgm, keep_infinite, t_max)
        return cls(
            _bubenik_dlotko(bars, n_levels),
            hom_dim=hom_dim,
            keep_infinite=keep_infinite,
            t_max=t_max,
        )

    @property
    def n_levels(self) -> int:
        """Number of stored levels."""
        return len(self.levels)

    def __call__(self, t: object, n_levels: int | None = None) -> np.ndarray:
        """Evaluate at ``t`` (any shape); returns ``(n_levels, *t.shape)`` float64."""
        t = np.asarray(t, dtype=np.float64)
        k = self.n_levels if n_levels is None else _check_levels(n_levels)
        out = np.zeros((k,) + t.shape)
        for i, (x, y) in enumerate(self.levels[:k]):
            if x.size:
                out[i] = np.interp(t, x, y, left=0.0, right=0.0)
        return out

    def to_grid(self, grid: GridLike, n_levels: int | None = None) -> Landscape:
        """Sample on ``grid``; returns a :class:`Landscape` with ``n_levels`` levels (default all, >= 1)."""
        grid = as_grid(grid)
        k = max(1, self.n_levels) if n_levels is None else _check_levels(n_levels)
        return Landscape(
            self(grid.points(), n_levels=k), grid, hom_dim=self.hom_dim, keep_infinite=self.keep_infinite
        )

    def __repr__(self) -> str:
        return f"ExactLandscape(n_levels={self.n_levels}, hom_dim={self.hom_dim}, keep_infinite={self.keep_infinite})"

    # -- algebra -----------------------------------------------------------------
    def _binary(self, other: "ExactLandscape", sign: float) -> "ExactLandscape":
        if not isinstance(other, ExactLandscape):
            raise TypeError(f"expected an ExactLandscape, got {type(other).__name__}")
        k = max(self.n_levels, other.n_levels)
        empty = (np.empty(0), np.empty(0))
        levels = []
        for i in range(k):
            x1, y1 = self.levels[i] if i < self.n_levels else empty
            x2, y2 = other.levels[i] if i < other.n_levels else empty
            x = np.union1d(x1, x2)
            y = _interp0(x, x1, y1) + sign * _interp0(x, x2, y2)
            levels.append((x, y))
        return ExactLandscape(
            levels,
            hom_dim=_merge_meta(self.hom_dim, other.hom_dim),
            keep_infinite=self.keep_infinite and other.keep_infinite,
            t_max=self.t_max if self.t_max == other.t_max else None,
        )

    def __add__(self, other: "ExactLandscape") -> "ExactLandscape":
        return self._binary(other, 1.0)

    def __sub__(self, other: "ExactLandscape") -> "ExactLandscape":
        return self._binary(other, -1.0)

    def __mul__(self, scalar: float) -> "ExactLandscape":
        if not np.isscalar(scalar):
            return NotImplemented
        s = float(scalar)
        return ExactLandscape(
            [(x, y * s) for x, y in self.levels],
            hom_dim=self.hom_dim,
            keep_infinite=self.keep_infinite,
            t_max=self.t_max,
        )

    def inner(self, other: "ExactLandscape") -> float:
        """Exact ``sum_k integral lambda_k rho_k dt``."""
        if not isinstance(other, ExactLandscape):
            raise TypeError(f"expected an ExactLandscape, got {type(other).__name__}")
        total = 0.0
        for (x1, y1), (x2, y2) in zip(self.levels, other.levels):
            if x1.size < 2 or x2.size < 2:
                continue
            lo, hi = max(x1[0], x2[0]), min(x1[-1], x2[-1])
            if not hi > lo:
                continue
            x = np.union1d(x1, x2)
            x = x[(x >= lo) & (x <= hi)]
            f = np.interp(x, x1, y1)
            g = np.interp(x, x2, y2)
            h = np.diff(x)
            # integral of the product of two linear functions over a segment of length h
            total += float(
                np.sum(h * (2 * f[:-1] * g[:-1] + f[:-1] * g[1:] + f[1:] * g[:-1] + 2 * f[1:] * g[1:]))
                / 6.0
            )
        return total

    def norm(self, p: float = 2) -> float:
        """Exact ``(sum_k integral |lambda_k|^p dt)^(1/p)``; ``p=inf`` is the sup."""
        p = _check_p(p)
        if p == math.inf:
            return max((float(np.abs(y).max()) for _, y in self.levels if y.size), default=0.0)
        total = 0.0
        for x, y in self.levels:
            if x.size < 2:
                continue
            total += _seg_integral_pow(y[:-1], y[1:], np.diff(x), p)
        return total ** (1.0 / p)


def _interp0(x: np.ndarray, xp: np.ndarray, yp: np.ndarray) -> np.ndarray:
    if xp.size == 0:
        return np.zeros_like(x)
    return np.interp(x, xp, yp, left=0.0, right=0.0)


def exact_landscape(
    diagram: object,
    n_levels: int | None = None,
    *,
    t_max: float | None = None,
    hom_dim: int | None = None,
    keep_infinite: bool = False,
) -> ExactLandscape:
    """Exact landscape of ``diagram`` (shape (m, 2)); see :meth:`ExactLandscape.from_diagram`."""
    return ExactLandscape.from_diagram(
        diagram, n_levels, t_max=t_max, hom_dim=hom_dim, keep_infinite=keep_infinite
    )
