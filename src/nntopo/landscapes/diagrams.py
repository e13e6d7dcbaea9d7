"""Persistence diagrams as landscape input: the check, and the bars that make tents."""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_bool

__all__ = ["check_diagram", "prepare_bars"]


def check_diagram(diagram: object, name: str = "diagram") -> np.ndarray:
    """Validate a persistence diagram and return it as a float64 array of shape ``(m, 2)``.

    Births must be finite; deaths may be ``+inf`` but not NaN or ``-inf``; every bar must
    have ``death >= birth``. An empty diagram (``m = 0``, also shape ``(0,)``) is valid.
    Any finite float64 is accepted (bars at 1e300 or of length 1e-300 included).
    """
    arr = check_array(diagram, name, finite=False, allow_empty=True)
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


def prepare_bars(diagram: np.ndarray, keep_infinite: bool, t_max: float | None) -> np.ndarray:
    """The bars that contribute a tent, float64 ``(m', 2)``, from a checked diagram.

    Infinite bars are dropped, or with ``keep_infinite=True`` cut at ``t_max`` (then
    required); zero-length bars are dropped (their tent is zero).
    """
    keep_infinite = check_bool(keep_infinite, "keep_infinite")
    births, deaths = diagram[:, 0], diagram[:, 1]
    inf = np.isinf(deaths)
    if keep_infinite and inf.any():
        if t_max is None:
            raise ValueError("t_max is required to cut infinite bars when keep_infinite=True")
        deaths = np.where(inf, t_max, deaths)
        return np.ascontiguousarray(np.column_stack([births, deaths])[deaths > births])
    # one mask, one copy: infinite bars (dropped) and zero-length bars (no tent)
    return np.ascontiguousarray(diagram[(deaths > births) & ~inf])
