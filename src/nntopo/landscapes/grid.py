"""The regular grid ``t_min, t_min + step, ..., t_max`` on which landscapes are sampled."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .._validation import DEFAULT_MAX_BYTES, check_allocation, check_real

__all__ = ["Grid", "GridLike", "as_grid"]

# Relative tolerance for deciding that (t_max - t_min) / step is an integer: a step
# written in decimal (0.001, 0.005) is never exactly representable, so the ratio is
# off by a few ulps even when the user means an integer.
_GRID_RATIO_RTOL = 1e-9


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
    (equal to ``step`` up to rounding). A Grid is only a description: nothing of size
    ``n_points`` is allocated until :meth:`points` or a landscape asks for it, and those
    check the size first (``max_bytes``).
    """

    t_min: float
    t_max: float
    step: float
    n_intervals: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("t_min", "t_max", "step"):
            object.__setattr__(self, name, check_real(getattr(self, name), name))
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step!r}")
        if not self.t_max > self.t_min:
            raise ValueError(f"t_max must be > t_min, got t_min={self.t_min!r}, t_max={self.t_max!r}")
        span = self.t_max - self.t_min
        if not math.isfinite(span):
            raise ValueError(
                f"t_max - t_min overflows float64 (t_min={self.t_min!r}, t_max={self.t_max!r}); "
                "use a narrower range"
            )
        ratio = span / self.step
        if not math.isfinite(ratio):
            raise ValueError(f"step={self.step!r} is too small for the range {span!r}: the number of points overflows")
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

    def check_size(self, n_rows: int, what: str, *, max_bytes: float = DEFAULT_MAX_BYTES) -> None:
        """Raise a ``ValueError`` if ``n_rows`` float64 rows of ``n_points`` exceed ``max_bytes``."""
        check_allocation(8.0 * float(n_rows) * float(self.n_points), what, max_bytes=max_bytes)

    def points(self, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
        """Grid points, shape ``(n_points,)`` float64, in the units of ``t``."""
        self.check_size(1, f"grid: the {self.n_points} points of {self.as_tuple()}", max_bytes=max_bytes)
        return np.linspace(self.t_min, self.t_max, self.n_points)

    def trapezoid_weights(self, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
        """Trapezoid-rule weights, shape ``(n_points,)``: ``spacing`` inside, half at the ends."""
        self.check_size(1, f"grid: the {self.n_points} trapezoid weights of {self.as_tuple()}", max_bytes=max_bytes)
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
    if isinstance(grid, (str, bytes)):
        raise TypeError(f"grid must be a Grid or a (t_min, t_max, step) triple, got {grid!r}")
    try:
        t_min, t_max, step = grid  # type: ignore[misc]
    except (TypeError, ValueError):
        raise TypeError(f"grid must be a Grid or a (t_min, t_max, step) triple, got {grid!r}") from None
    return Grid(t_min, t_max, step)
