"""Correlations between a training-loss series and a topological series (Table 2 of the
polyhedral-signatures paper): raw Pearson, Pearson after removing a linear trend, Pearson
of first differences, and cross-correlation over lags; then a count over trials.

Series are 1-D float arrays sampled at the same times (e.g. one value per snapshot,
every k epochs); lags are counted in samples (multiply by k for epochs). Nothing here
imports torch.

Sign convention of the lag (:func:`cross_correlation`): at lag ``L`` the topological
value at sample ``t`` is paired with the loss at sample ``t + L``. A positive best lag
means the topology *leads*: its changes come ``L`` samples before the matching changes
of the loss. Equivalently, the loss series is shifted ``L`` samples earlier (``loss[L:]``
against ``topo[:-L]``).

p-values are the usual two-sided ones for a Pearson coefficient of ``m`` independent
pairs (t distribution with ``m - 2`` degrees of freedom), whatever the preprocessing:
they do not account for the autocorrelation of training curves, for the two degrees of
freedom a fitted trend removes, nor for the choice of the best of several lags. They are
what the paper's table counts, not a calibrated test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr
from scipy import stats

from .._validation import check_array, check_int, check_real

__all__ = [
    "CorrelationResult",
    "CrossCorrelation",
    "MEASURES",
    "correlation_table",
    "correlation_trials",
    "cross_correlation",
    "detrended_pearson",
    "difference_pearson",
    "pearson",
]

#: ``lag`` of a trial whose cross-correlation is undefined (a constant series).
_NO_LAG = -(2**62)

#: Methods of :func:`correlation_trials`, in table order.
MEASURES = ("pearson", "detrended", "differences", "cross_correlation")


@dataclass(frozen=True)
class CorrelationResult:
    """A Pearson coefficient ``r`` in [-1, 1], its two-sided p-value and the number of pairs ``n``."""

    r: float
    p: float
    n: int


@dataclass(frozen=True)
class CrossCorrelation:
    """Pearson coefficients at each lag (see the module docstring for the sign).

    ``lags`` (int64, samples), ``r`` and ``p`` (float64, NaN where an overlap is
    constant), ``n`` (pairs per lag); ``best_lag`` is the lag of the largest ``r`` (the
    smallest ``|lag|`` among ties, then the negative one), with ``best_r`` and ``best_p``.
    """

    lags: np.ndarray
    r: np.ndarray
    p: np.ndarray
    n: np.ndarray
    best_lag: int
    best_r: float
    best_p: float


def _series(x: Any, name: str, minimum: int) -> np.ndarray:
    a = check_array(x, name, ndim=1)
    if a.shape[0] < minimum:
        raise ValueError(f"{name} needs at least {minimum} values, got {a.shape[0]}")
    return a


def _pair(x: Any, y: Any, minimum: int, xname: str = "x", yname: str = "y") -> tuple[np.ndarray, np.ndarray]:
    a = _series(x, xname, minimum)
    b = _series(y, yname, minimum)
    if a.shape != b.shape:
        raise ValueError(f"{xname} and {yname} must have the same length, got {a.shape[0]} and {b.shape[0]}")
    return a, b


def _unit_deviation(a: np.ndarray) -> np.ndarray | None:
    """``a`` minus its mean, scaled to unit length; None when the deviations are zero up
    to the rounding of values of ``a``'s size (a constant series). Scaled by ``max |a|``
    first, so neither huge nor tiny values overflow or underflow."""
    scale = float(np.abs(a).max())
    if scale == 0.0:
        return None
    d = a / scale
    d = d - d.mean()
    if float(np.abs(d).max()) <= 16 * np.finfo(np.float64).eps:
        return None
    d /= np.abs(d).max()
    return d / np.linalg.norm(d)


def _r_and_p(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Pearson r and two-sided p of two equally long series (>= 3 values); NaN, NaN if
    either is constant."""
    n = a.shape[0]
    da, db = _unit_deviation(a), _unit_deviation(b)
    if da is None or db is None:
        return float("nan"), float("nan")
    r = float(np.clip(np.dot(da, db), -1.0, 1.0))
    if abs(r) == 1.0:
        return r, 0.0
    t = r * np.sqrt((n - 2) / ((1.0 - r) * (1.0 + r)))
    return r, float(2.0 * stats.t.sf(abs(t), n - 2))


def _checked_r_and_p(a: np.ndarray, b: np.ndarray, what: str, xname: str, yname: str) -> CorrelationResult:
    r, p = _r_and_p(a, b)
    if np.isnan(r):
        flat = xname if _unit_deviation(a) is None else yname
        raise ValueError(f"{flat} is constant{what}: its correlation is undefined")
    return CorrelationResult(r=r, p=p, n=int(a.shape[0]))


def pearson(x: Any, y: Any) -> CorrelationResult:
    """Pearson correlation of two series of equal length (>= 3 values, finite, neither constant)."""
    a, b = _pair(x, y, 3)
    return _checked_r_and_p(a, b, "", "x", "y")


def _detrend(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Residuals of the least-squares line through ``(t, a)``."""
    tc = t - t.mean()
    slope = np.dot(tc, a - a.mean()) / np.dot(tc, tc)
    return (a - a.mean()) - slope * tc


def detrended_pearson(x: Any, y: Any, t: Any = None) -> CorrelationResult:
    """Pearson correlation of the residuals of ``x`` and ``y`` after each has had its own
    least-squares line against ``t`` removed.

    ``t`` are the sample times (default 0, 1, ..., n-1; any strictly increasing finite
    values, e.g. epochs). Needs >= 4 values; a series that is exactly a line has nothing
    left and is refused.
    """
    a, b = _pair(x, y, 4)
    if t is None:
        tt = np.arange(a.shape[0], dtype=np.float64)
    else:
        tt = check_array(t, "t", ndim=1)
        if tt.shape != a.shape:
            raise ValueError(f"t must have one time per value ({a.shape[0]}), got {tt.shape[0]}")
        if np.any(np.diff(tt) <= 0):
            raise ValueError("t must be strictly increasing")
    for v, name in ((a, "x"), (b, "y")):
        if _unit_deviation(v) is None:
            raise ValueError(f"{name} is constant: its correlation is undefined")
    ra, rb = _detrend(a, tt), _detrend(b, tt)
    # What is left is compared with the size of the series, not of the residuals.
    for res, orig, name in ((ra, a, "x"), (rb, b, "y")):
        if float(np.abs(res).max()) <= 16 * np.sqrt(res.size) * np.finfo(np.float64).eps * float(np.abs(orig).max()):
            raise ValueError(f"{name} is exactly linear in t: nothing is left after detrending")
    return _checked_r_and_p(ra, rb, " after detrending", "x", "y")


def difference_pearson(x: Any, y: Any) -> CorrelationResult:
    """Pearson correlation of the first differences ``x[1:] - x[:-1]`` and ``y[1:] - y[:-1]``
    (needs >= 4 values, so >= 3 differences)."""
    a, b = _pair(x, y, 4)
    return _checked_r_and_p(np.diff(a), np.diff(b), " in its differences", "x", "y")


def cross_correlation(loss: Any, topo: Any, max_lag: int, *, detrend: bool = False) -> CrossCorrelation:
    """Pearson correlation of ``topo[t]`` with ``loss[t + L]`` for every lag ``L`` in
    ``-max_lag..max_lag`` (samples), over the ``n - |L|`` overlapping pairs.

    Positive ``L``: the topological series leads the loss by ``L`` samples (see the module
    docstring). ``max_lag`` is an int in ``0..n-3`` (every overlap keeps >= 3 pairs). With
    ``detrend=True`` each whole series first has its least-squares line removed. A lag
    whose overlap is constant gets NaN; if every lag does, a ``ValueError``.
    """
    a, b = _pair(loss, topo, 3, "loss", "topo")
    n = a.shape[0]
    max_lag = check_int(max_lag, "max_lag", minimum=0, maximum=n - 3)
    if not isinstance(detrend, (bool, np.bool_)):
        raise TypeError(f"detrend must be True or False, got {detrend!r}")
    if detrend:
        if n < 4:
            raise ValueError(f"loss needs at least 4 values to detrend, got {n}")
        tt = np.arange(n, dtype=np.float64)
        a, b = _detrend(a, tt), _detrend(b, tt)
    lags = np.arange(-max_lag, max_lag + 1, dtype=np.int64)
    r = np.full(lags.shape, np.nan)
    p = np.full(lags.shape, np.nan)
    m = n - np.abs(lags)
    for i, L in enumerate(lags):
        if L >= 0:
            r[i], p[i] = _r_and_p(b[: n - L], a[L:])
        else:
            r[i], p[i] = _r_and_p(b[-L:], a[: n + L])
    if np.all(np.isnan(r)):
        raise ValueError("loss or topo is constant over every overlap: no cross-correlation is defined")
    best = np.nanmax(r)
    ties = np.flatnonzero(r == best)
    i = ties[np.lexsort((lags[ties], np.abs(lags[ties])))[0]]
    return CrossCorrelation(lags=lags, r=r, p=p, n=m.astype(np.int64), best_lag=int(lags[i]),
                            best_r=float(r[i]), best_p=float(p[i]))


def correlation_trials(losses: Sequence[Any], topos: Sequence[Any], max_lag: int, *,
                       detrend_cross: bool = False) -> xr.Dataset:
    """Every measure of :data:`MEASURES` on each trial's (loss, topo) pair.

    ``losses`` and ``topos``: sequences (or 2-D arrays, one row per trial) of 1-D series;
    a trial's two series have equal length (>= 4 values, finite), trials may differ;
    ``max_lag`` as in :func:`cross_correlation`. Returns a Dataset with dims
    ``("trial", "measure")``: ``r``, ``p`` (float64; NaN where a series is constant, or
    exactly linear for ``detrended``, so the correlation is undefined) and ``lag``
    (int64; the best lag in samples for ``cross_correlation``, -2**62 where undefined, 0
    for the other measures); ``max_lag`` in the attrs.
    """
    if isinstance(losses, (str, bytes)) or not hasattr(losses, "__len__"):
        raise TypeError(f"losses must be a sequence of series, got {type(losses).__name__}")
    if isinstance(topos, (str, bytes)) or not hasattr(topos, "__len__"):
        raise TypeError(f"topos must be a sequence of series, got {type(topos).__name__}")
    if len(losses) != len(topos):
        raise ValueError(f"losses and topos must hold as many trials, got {len(losses)} and {len(topos)}")
    if len(losses) == 0:
        raise ValueError("losses is empty: no trial to correlate")
    T = len(losses)
    r = np.full((T, len(MEASURES)), np.nan)
    p = np.full((T, len(MEASURES)), np.nan)
    lag = np.zeros((T, len(MEASURES)), dtype=np.int64)
    for i in range(T):
        loss = _series(losses[i], f"losses[{i}]", 4)
        topo = _series(topos[i], f"topos[{i}]", 4)
        if loss.shape != topo.shape:
            raise ValueError(f"losses[{i}] and topos[{i}] must have the same length, got {loss.size} and {topo.size}")
        try:
            check_int(max_lag, "max_lag", minimum=0, maximum=loss.size - 3)
        except ValueError as exc:
            raise ValueError(f"{exc} (trial {i} has {loss.size} values)") from None
        # A constant (or, detrended, exactly linear) series has no correlation: the trial
        # gets NaN there and counts as not significant, instead of stopping the table.
        for j, fn in enumerate((pearson, detrended_pearson, difference_pearson)):
            try:
                res = fn(loss, topo)
                r[i, j], p[i, j] = res.r, res.p
            except ValueError:
                pass
        try:
            cc = cross_correlation(loss, topo, max_lag, detrend=detrend_cross)
            r[i, 3], p[i, 3], lag[i, 3] = cc.best_r, cc.best_p, cc.best_lag
        except ValueError:
            lag[i, 3] = _NO_LAG
    return xr.Dataset(
        {"r": (("trial", "measure"), r), "p": (("trial", "measure"), p), "lag": (("trial", "measure"), lag)},
        coords={"trial": np.arange(T), "measure": list(MEASURES)},
        attrs={"max_lag": int(max_lag), "detrend_cross": int(bool(detrend_cross)), "lag_units": "samples"},
    )


def correlation_table(trials: xr.Dataset, alpha: float = 0.05) -> xr.Dataset:
    """Table 2: per measure, how many trials have ``p < alpha`` and ``r > 0``.

    ``trials`` is :func:`correlation_trials`'s output. Returns a Dataset over ``measure``:
    ``n_significant_positive``, ``n_trials`` and ``n_undefined`` (trials where a series
    was constant; int64), ``median_r`` (over the defined trials), and for
    ``cross_correlation`` the typical best lag, ``median_lag`` and ``mode_lag`` (the most
    frequent; the smallest among ties), NaN for the other measures.
    """
    if not isinstance(trials, xr.Dataset) or not {"r", "p", "lag"} <= set(trials.data_vars):
        raise TypeError("trials must be the Dataset correlation_trials returns")
    alpha = check_real(alpha, "alpha", minimum=0.0, maximum=1.0, min_inclusive=False)
    sig = (trials.p < alpha) & (trials.r > 0)
    defined = trials.r.notnull()
    median_lag = np.full(trials.sizes["measure"], np.nan)
    mode_lag = np.full(trials.sizes["measure"], np.nan)
    measures = list(trials.measure.values)
    if "cross_correlation" in measures:
        j = measures.index("cross_correlation")
        lags = trials.lag.values[:, j]
        lags = lags[lags != _NO_LAG]
        if lags.size:
            median_lag[j] = float(np.median(lags))
            values, counts = np.unique(lags, return_counts=True)
            mode_lag[j] = float(values[np.argmax(counts)])
    return xr.Dataset(
        {
            "n_significant_positive": ("measure", sig.sum("trial").values.astype(np.int64)),
            "n_trials": ("measure", np.full(len(measures), trials.sizes["trial"], dtype=np.int64)),
            "n_undefined": ("measure", (~defined).sum("trial").values.astype(np.int64)),
            "median_r": ("measure", trials.r.median("trial", skipna=True).values),
            "median_lag": ("measure", median_lag),
            "mode_lag": ("measure", mode_lag),
        },
        coords={"measure": measures},
        attrs={"alpha": alpha, **trials.attrs},
    )
