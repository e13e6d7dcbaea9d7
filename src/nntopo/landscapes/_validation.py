"""Input checks shared by the landscapes modules.

Every check names the offending argument in its message, in the manner of
scikit-learn's ``check_array``: the caller passes ``name`` and the user reads which
argument was wrong and what was expected.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_distance_matrix", "check_finite_array", "check_points"]


def _as_float64(a: object, name: str) -> np.ndarray:
    if a is None:
        raise TypeError(f"{name} must be an array-like of numbers, got None")
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array-like of numbers, got {type(a).__name__}")
    if type(a).__module__.split(".")[0] == "torch":
        # No torch import here (landscapes/ is torch-free); a tensor still gets a clear
        # message instead of numpy's object-array error.
        raise TypeError(f"{name} must be a numpy array, got a torch tensor; call .detach().cpu().numpy()")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array-like of numbers: {exc}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def check_finite_array(a: object, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``a`` as a float64 array; raise if it has NaN/inf or the wrong ``ndim``.

    Raises ``TypeError`` for non-numeric input and ``ValueError`` for NaN, inf or a
    wrong number of dimensions, naming ``name`` in the message.
    """
    arr = _as_float64(a, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all entries must be finite")
    return arr


def check_points(X: object, name: str = "X") -> np.ndarray:
    """Return a point cloud as a C-contiguous float64 array of shape ``(n, d)``.

    ``n >= 1`` points, ``d >= 1`` coordinates, all finite.
    """
    arr = _as_float64(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_points, n_features), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty point cloud (shape {arr.shape}); need at least one point")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has points with no coordinates (shape {arr.shape})")
    arr = check_finite_array(arr, name)
    return np.ascontiguousarray(arr)


def check_distance_matrix(D: object, name: str = "distance_matrix", *, atol: float = 1e-12) -> np.ndarray:
    """Return a distance matrix as a C-contiguous float64 array of shape ``(n, n)``.

    Checks: square, ``n >= 1``, finite, symmetric (to ``atol`` plus a relative
    ``1e-12`` of the largest entry), no negative entry, zero diagonal. The returned
    matrix is exactly symmetric (the upper triangle is mirrored), so that every
    backend reads the same numbers whichever triangle it uses.
    """
    arr = _as_float64(D, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square 2-D array (n, n), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least one point")
    arr = check_finite_array(arr, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} has negative entries (min {arr.min():g}); distances must be >= 0")
    tol = atol + 1e-12 * float(arr.max())
    diag = float(np.max(np.abs(np.diagonal(arr))))
    if diag > tol:
        raise ValueError(f"{name} must have a zero diagonal; max |D[i, i]| = {diag:g}")
    if np.array_equal(arr, arr.T) and diag == 0.0:
        # The common case (matrices from pdist or normalize_local): no n x n temporaries.
        return np.ascontiguousarray(arr)
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > tol:
        raise ValueError(f"{name} must be symmetric; max |D - D.T| = {asym:g}")
    out = np.triu(arr, 1)
    out = out + out.T
    return np.ascontiguousarray(out)


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, rejecting bools, floats and values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value
