"""What every landscape type shares: scalar arithmetic, distance, and the checks behind them.

Each landscape type implements ``_map_values(fn, what)`` (apply ``fn`` to every value
array and check that the result is finite), ``__add__``, ``__sub__``, ``inner`` and
``norm``; :class:`VectorOps` derives the rest, so that ``*``, ``/`` and ``-`` accept
and refuse exactly the same scalars for grid, exact and multi-layer landscapes.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

from .._validation import check_int, check_real

__all__ = [
    "CHECKED",
    "TINY",
    "VectorOps",
    "check_finite_result",
    "check_hom_dim",
    "check_p",
    "merge_hom_dim",
    "pow2_exponent",
    "scaled_product",
    "scaled_root",
]

#: ``max_bytes`` for an allocation the caller has already checked as part of a larger
#: one (``check_allocation`` wants a finite limit; this is the largest float).
CHECKED = float(np.finfo(np.float64).max)

#: A sum of products below this may have lost digits to underflow (or be all underflow):
#: it is recomputed on values rescaled by a power of two. 2**-900, far above the
#: subnormal range, so a sum this large has every digit.
TINY = 2.0**-900


def _scalar_operand(value: object) -> float | None:
    """``value`` as a float if it is a real scalar (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # a huge int or Fraction: not representable, refuse below
        return math.inf


class VectorOps:
    """Scalar multiplication, division, negation and distance for every landscape type."""

    __slots__ = ()
    __array_priority__ = 1000  # so that ``numpy_scalar * landscape`` reaches __rmul__

    def _map_values(self, fn: Callable[[np.ndarray], np.ndarray], what: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def __mul__(self, scalar: float):
        s = _scalar_operand(scalar)
        if s is None:
            return NotImplemented
        if not math.isfinite(s):
            raise ValueError(f"scalar: a landscape can only be multiplied by a finite number, got {scalar!r}")
        with np.errstate(over="ignore"):  # an overflow is refused with a clear message
            return self._map_values(lambda v: v * s, f"scalar: multiplying by {s!r}")

    def __rmul__(self, scalar: float):
        return self.__mul__(scalar)

    def __truediv__(self, scalar: float):
        s = _scalar_operand(scalar)
        if s is None:
            return NotImplemented
        if not math.isfinite(s) or s == 0.0:
            raise ValueError(f"divisor: a landscape can only be divided by a finite nonzero scalar, got {scalar!r}")
        # v / s, not v * (1 / s): one rounding, and no overflow of 1 / s for a tiny s
        with np.errstate(over="ignore"):
            return self._map_values(lambda v: v / s, f"divisor (scalar): dividing by {s!r}")

    def __neg__(self):
        return self._map_values(np.negative, "negating")

    def distance(self, other, p: float = 2) -> float:
        """``norm(self - other, p)`` (exact for exact landscapes)."""
        return (self - other).norm(p)


def check_finite_result(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` if finite; else a ``ValueError`` saying that ``what`` overflowed float64.

    ``what`` starts with the name of the offending argument (``"scalar: multiplying by
    1e300"``).
    """
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} overflows float64 (a landscape value would exceed 1.8e308)")
    return values


def check_p(p: object) -> float:
    """The exponent of an L^p norm: a real number >= 1, or ``inf`` (the sup norm)."""
    return check_real(p, "p", minimum=1.0, finite=False)


def check_hom_dim(hom_dim: object) -> int | None:
    """Homological degree metadata: an int >= 0, or None (unknown)."""
    return None if hom_dim is None else check_int(hom_dim, "hom_dim", minimum=0)


def merge_hom_dim(a: int | None, b: int | None) -> int | None:
    """The degree of a combination of two landscapes; different known degrees are refused."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    raise ValueError(f"cannot combine landscapes of different homological degrees (hom_dim) {a} and {b}")


def pow2_exponent(m: float) -> int:
    """``e`` with ``m / 2**e`` in ``[0.5, 1)`` for finite ``m > 0``: an exact rescaling."""
    return int(math.frexp(m)[1])


def _ldexp(x: float, e: int) -> float:
    """``x * 2**e``; ``inf`` (with the sign of ``x``) past the float64 range."""
    try:
        return math.ldexp(x, e)
    except OverflowError:
        return math.copysign(math.inf, x)


def scaled_product(s: float, h: float, e: int) -> float:
    """``s * h * 2**e`` without intermediate overflow or underflow (``h > 0``)."""
    hm, eh = math.frexp(h)
    return _ldexp(s * hm, e + eh)


def scaled_root(total: float, h: float, m: float, p: float) -> float:
    """``m * (total * h) ** (1 / p)`` without intermediate overflow or underflow.

    For a norm computed on values divided by their maximum ``m`` (so ``total`` is of
    order 1) and on abscissae divided by ``h``; all of ``m, h, total > 0``.
    """
    hm, eh = math.frexp(h)
    mm, em = math.frexp(m)
    q = math.floor(eh / p)
    r = eh / p - q  # in [0, 1): 2**(eh / p) = 2**q * 2**r
    return _ldexp(mm * (total * hm) ** (1.0 / p) * 2.0**r, em + q)
