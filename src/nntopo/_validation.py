"""The one validation layer: every public function checks its arguments with these.

One rule decides the exception type, everywhere in nntopo:

* ``TypeError``: the argument is the wrong *kind* of thing (a string where a number is
  expected, a float where an int is expected, a bool where a number is expected, an
  object or complex array, a torch tensor where numpy is expected, None).
* ``ValueError``: the kind is right but the *value* is not (out of range, NaN or
  infinite, wrong shape, empty, too large to allocate, labels that are not class
  indices).

Every message starts with the argument's name, as the caller spells it, and says what
was expected and what was received. The checkers return the value converted to the
type the caller works with (``int``, ``float``, a contiguous numpy array), so a caller
writes ``n = check_int(n, "n", minimum=1)`` and uses ``n`` from then on.

Nothing here imports torch: the maths subpackages use these checks too.
"""

from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np

__all__ = [
    "DEFAULT_MAX_BYTES",
    "as_generator",
    "check_allocation",
    "check_array",
    "check_bool",
    "check_choice",
    "check_distance_matrix",
    "check_finite_array",
    "check_fraction",
    "check_int",
    "check_labels",
    "check_points",
    "check_real",
    "check_seed",
    "seed_to_int",
]

#: Largest single allocation (bytes) a function makes unless the caller raises it
#: (``max_bytes=``). 8 GiB: a third of a 24 GiB workstation.
DEFAULT_MAX_BYTES = 8 * 2**30


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


# --------------------------------------------------------------------------- scalars


def check_int(
    value: object, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as a Python int in ``[minimum, maximum]``.

    Accepts Python and numpy integers; a bool, a float (even ``3.0``) or anything else is
    a ``TypeError``; a value out of range is a ``ValueError``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_real(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
    finite: bool = True,
) -> float:
    """Return ``value`` as a Python float, finite (unless ``finite=False``) and in range.

    Accepts Python/numpy ints and floats (and ``fractions.Fraction``); a bool, a string,
    a complex number or None is a ``TypeError``; NaN, inf (when ``finite``) or a value
    outside the range is a ``ValueError``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    try:
        v = float(value)
    except OverflowError:  # a huge int or Fraction
        raise ValueError(f"{name} is too large for a float64: {_describe(value)}") from None
    if np.isnan(v) or (finite and np.isinf(v)):
        raise ValueError(f"{name} must be a finite number, got {v}")
    if minimum is not None and (v < minimum or (not min_inclusive and v == minimum)):
        raise ValueError(f"{name} must be {'>=' if min_inclusive else '>'} {minimum}, got {v:g}")
    if maximum is not None and (v > maximum or (not max_inclusive and v == maximum)):
        raise ValueError(f"{name} must be {'<=' if max_inclusive else '<'} {maximum}, got {v:g}")
    return v


def check_fraction(value: object, name: str, *, closed: bool = False) -> float:
    """Return a probability-like number: in ``(0, 1)``, or ``[0, 1]`` with ``closed=True``."""
    return check_real(value, name, minimum=0.0, maximum=1.0, min_inclusive=closed, max_inclusive=closed)


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` as a bool; anything but a Python or numpy bool is a ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}; got {_describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


# --------------------------------------------------------------------------- seeds

_SEED_TYPES = "an int >= 0, a numpy.random.Generator or None"


def check_seed(seed: object, name: str = "seed") -> int | np.random.Generator | None:
    """Return ``seed`` unchanged if it is an int >= 0, a ``numpy.random.Generator`` or None.

    nntopo takes ``seed: int | numpy.random.Generator | None`` everywhere a random choice
    is made: the same int gives the same result, a Generator is consumed, None draws
    fresh entropy.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be {_SEED_TYPES}; got {_describe(seed)}")
    if seed < 0:
        raise ValueError(f"{name} must be {_SEED_TYPES}; got the negative int {int(seed)}")
    return int(seed)


def as_generator(seed: object, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a checked seed (a Generator is returned as is)."""
    seed = check_seed(seed, name)
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def seed_to_int(seed: object, name: str = "seed") -> int:
    """An int seed (for torch or a subprocess) from a checked seed.

    An int is returned as is; a Generator gives its next draw; None draws fresh entropy.
    """
    seed = check_seed(seed, name)
    if isinstance(seed, int):
        return seed
    return int(as_generator(seed, name).integers(0, 2**63 - 1))


# --------------------------------------------------------------------------- arrays


def _is_torch_tensor(a: object) -> bool:
    # No torch import here: a tensor is recognised by its class's module.
    return type(a).__module__.split(".")[0] == "torch"


def _as_numeric(a: object, name: str) -> np.ndarray:
    """``a`` as a numpy array of a real numeric dtype (no copy when already one)."""
    if a is None:
        raise TypeError(f"{name} must be an array of numbers, got None")
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}")
    if _is_torch_tensor(a):
        raise TypeError(f"{name} must be a numpy array, got a torch tensor; pass tensor.detach().cpu().numpy()")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    if kind not in "biuf":  # bool, signed, unsigned, float
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def check_array(
    a: object,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    dtype: type | np.dtype = np.float64,
    finite: bool = True,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return ``a`` as a C-contiguous array of ``dtype``, checked.

    ``shape`` entries of None match any length. Finiteness is checked *after* the
    conversion, so a value that overflows the target dtype (``1e39`` to float32) is
    refused, never turned into inf. Bools count as the numbers 0 and 1. Converting
    floats to an integer dtype refuses fractional values instead of truncating them.
    """
    arr = _as_numeric(a, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, arr.shape)):
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    target = np.dtype(dtype)
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all entries must be finite")
    if arr.dtype == target and arr.flags.c_contiguous:
        return arr  # already what is asked for, and checked above
    with np.errstate(over="ignore", invalid="ignore"):
        # np.asarray(order="C") keeps a 0-d array 0-d (ascontiguousarray makes it 1-D).
        out = np.asarray(arr, dtype=target, order="C")
    if finite and target.kind == "f" and not np.isfinite(out).all():
        big = float(np.max(np.abs(arr.astype(np.float64))))
        raise ValueError(
            f"{name} has values too large for {target} (largest |value| {big:.3g}, "
            f"limit {float(np.finfo(target).max):.3g})"
        )
    if target.kind in "iu" and arr.dtype.kind == "f":
        if not np.array_equal(out, arr):
            raise ValueError(f"{name} must hold whole numbers to convert to {target}")
    return out


def check_finite_array(a: object, name: str, *, ndim: int | None = None) -> np.ndarray:
    """``a`` as a finite float64 array (any size, optionally of a given ``ndim``)."""
    return check_array(a, name, ndim=ndim, allow_empty=True)


def check_points(X: object, name: str = "X") -> np.ndarray:
    """A point cloud as a C-contiguous finite float64 array ``(n, d)``, ``n, d >= 1``."""
    arr = _as_numeric(X, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n_points, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty point cloud (shape {arr.shape}); need at least one point")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has points with no coordinates (shape {arr.shape})")
    return check_array(arr, name)


def check_distance_matrix(D: object, name: str = "distance_matrix", *, atol: float = 1e-12) -> np.ndarray:
    """A distance matrix as a C-contiguous float64 array ``(n, n)``.

    Checks: square, ``n >= 1``, finite, symmetric (to ``atol`` plus a relative ``1e-12``
    of the largest entry), no negative entry, zero diagonal. The returned matrix is
    exactly symmetric (the upper triangle is mirrored), so every backend reads the same
    numbers whichever triangle it uses.
    """
    arr = _as_numeric(D, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square 2-D array (n, n), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least one point")
    arr = check_array(arr, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} has negative entries (min {arr.min():g}); distances must be >= 0")
    tol = atol + 1e-12 * float(arr.max())
    diag = float(np.max(np.abs(np.diagonal(arr))))
    if diag > tol:
        raise ValueError(f"{name} must have a zero diagonal; max |D[i, i]| = {diag:g}")
    if np.array_equal(arr, arr.T) and diag == 0.0:
        # The common case (matrices from pdist or normalize_local): no n x n temporaries.
        return arr
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > tol:
        raise ValueError(f"{name} must be symmetric; max |D - D.T| = {asym:g}")
    out = np.triu(arr, 1)
    out = out + out.T
    return np.ascontiguousarray(out)


def check_labels(y: object, name: str = "y", *, n: int | None = None, n_classes: int | None = None) -> np.ndarray:
    """Class labels as an int64 array ``(n,)`` of class indices in ``[0, n_classes)``.

    Integer arrays are taken as they are; float arrays only if every entry is a whole
    number (``[0., 1.]``), never rounded or truncated. NaN, fractions, negative labels and
    labels ``>= n_classes`` are a ``ValueError`` naming ``name``; bools and non-numeric
    arrays a ``TypeError``.
    """
    arr = _as_numeric(y, name)
    if arr.dtype == np.bool_:
        raise TypeError(f"{name} must hold integer class labels, got dtype bool")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} labels (one per row), got {arr.shape[0]}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite labels; labels must be class indices 0, 1, ...")
        if np.any(arr != np.round(arr)):
            bad = float(arr[arr != np.round(arr)][0])
            raise ValueError(f"{name} must hold whole-number class labels, found {bad!r}")
        if arr.size and np.max(np.abs(arr)) > 2**53:
            raise ValueError(f"{name} has labels too large to be class indices")
    out = np.ascontiguousarray(arr, dtype=np.int64)
    if out.size and out.min() < 0:
        raise ValueError(f"{name} must hold class labels >= 0, found {int(out.min())}")
    if n_classes is not None and out.size and out.max() >= n_classes:
        raise ValueError(f"{name} has label {int(out.max())} but there are only {n_classes} classes (0..{n_classes - 1})")
    return out


# --------------------------------------------------------------------------- memory


def _human(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"  # pragma: no cover


def check_allocation(n_bytes: float, what: str, *, max_bytes: object = DEFAULT_MAX_BYTES, name: str = "max_bytes") -> None:
    """Raise a ``ValueError`` before allocating ``n_bytes`` for ``what`` past ``max_bytes``.

    The message gives the estimate and names the keyword (``name``) that raises the
    limit, so a caller who really wants a 50 GiB array can ask for it.
    """
    limit = check_real(max_bytes, name, minimum=0.0)
    if n_bytes > limit:
        raise ValueError(
            f"{what} would need about {_human(float(n_bytes))}, more than {name}={_human(limit)}; "
            f"pass a larger {name} if you really mean it"
        )
