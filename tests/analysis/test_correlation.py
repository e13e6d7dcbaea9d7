"""Correlation helpers against scipy, lag recovery, detrending, the Table-2 count, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal, stats

from nntopo.analysis import (
    MEASURES,
    correlation_table,
    correlation_trials,
    cross_correlation,
    detrended_pearson,
    difference_pearson,
    pearson,
)


def series(n, seed):
    return np.random.default_rng(seed).normal(size=n)


@pytest.mark.parametrize("n", [3, 4, 10, 200])
@pytest.mark.parametrize("seed", range(4))
def test_pearson_matches_scipy(n, seed):
    x = series(n, seed)
    y = 0.5 * x + series(n, seed + 100)
    got = pearson(x, y)
    want = stats.pearsonr(x, y)
    assert got.n == n
    assert got.r == pytest.approx(want.statistic, rel=1e-12, abs=1e-14)
    assert got.p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


def test_pearson_known_values():
    x = np.arange(10.0)
    assert pearson(x, 3 * x + 2).r == pytest.approx(1.0) and pearson(x, 3 * x + 2).p < 1e-50
    assert pearson(x, -x).r == pytest.approx(-1.0)
    # a symmetric parabola is uncorrelated with its axis
    t = np.arange(-5.0, 6.0)
    assert abs(pearson(t, t**2).r) < 1e-15 and pearson(t, t**2).p == pytest.approx(1.0)
    # scale and shift do not matter, at any magnitude
    x, y = series(30, 1), series(30, 2)
    base = pearson(x, y).r
    for s in (1e-200, 1e200):
        assert pearson(s * x + 5 * s, y).r == pytest.approx(base, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(5, 80), seed=st.integers(0, 10**6), a=st.floats(-1e3, 1e3), b=st.floats(-1e3, 1e3))
def test_detrending_removes_any_added_line(n, seed, a, b):
    x, y = series(n, seed), series(n, seed + 1)
    t = np.arange(n)
    base = detrended_pearson(x, y)
    moved = detrended_pearson(x + a * t + 1.0, y + b * t - 2.0)
    assert moved.r == pytest.approx(base.r, abs=1e-7)


def test_detrended_matches_polyfit_residuals_and_shared_trend():
    n = 120
    t = np.arange(n, dtype=float)
    noise_x, noise_y = series(n, 5), series(n, 6)
    x, y = 0.2 * t + noise_x, -0.5 * t + 3 + noise_y  # shared trend, independent noise
    assert abs(pearson(x, y).r) > 0.9
    res = lambda v: v - np.polyval(np.polyfit(t, v, 1), t)  # noqa: E731
    want = stats.pearsonr(res(x), res(y))
    got = detrended_pearson(x, y)
    assert got.r == pytest.approx(want.statistic, abs=1e-12) and got.p == pytest.approx(want.pvalue, rel=1e-8)
    assert abs(got.r) < 0.3
    # explicit, uneven times
    tt = np.cumsum(series(n, 7) ** 2 + 0.1)
    got_t = detrended_pearson(x, y, t=tt)
    res_t = lambda v: v - np.polyval(np.polyfit(tt, v, 1), tt)  # noqa: E731
    assert got_t.r == pytest.approx(stats.pearsonr(res_t(x), res_t(y)).statistic, abs=1e-10)


def test_differences_match_scipy():
    x, y = np.cumsum(series(50, 1)), np.cumsum(series(50, 2))
    want = stats.pearsonr(np.diff(x), np.diff(y))
    got = difference_pearson(x, y)
    assert got.n == 49 and got.r == pytest.approx(want.statistic, abs=1e-12)
    assert got.p == pytest.approx(want.pvalue, rel=1e-9)


@pytest.mark.parametrize("shift", [-7, -3, 0, 1, 4, 12])
def test_lag_of_a_shifted_series_is_recovered_exactly(shift):
    n = 100
    topo = series(n + 30, 3)
    # loss[t] = topo[t - shift]: the topology leads by `shift` samples
    loss = topo[15 - shift : 15 - shift + n]
    topo = topo[15 : 15 + n]
    cc = cross_correlation(loss, topo, max_lag=15)
    assert cc.best_lag == shift
    assert cc.lags.tolist() == list(range(-15, 16))
    assert cc.n.tolist() == [n - abs(L) for L in range(-15, 16)]
    # the perfect overlap at the true lag
    assert cc.best_r == pytest.approx(1.0)
    # each lag is the Pearson correlation of the overlap
    for L in (-5, 0, 6):
        i = L + 15
        a, b = (topo[: n - L], loss[L:]) if L >= 0 else (topo[-L:], loss[: n + L])
        assert cc.r[i] == pytest.approx(stats.pearsonr(a, b).statistic, abs=1e-12)


def test_cross_correlation_peak_agrees_with_scipy_correlate():
    # scipy.signal.correlate(a, v, "full")[k] = sum_l a[l] v[l - m] with m = k - (n - 1):
    # with a = loss and v = topo, m is our lag (topo at t against loss at t + m).
    n = 80
    base = series(n + 10, 9)
    loss, topo = base[2 : 2 + n], base[5 : 5 + n]  # loss[t] = topo[t - 3]
    full = signal.correlate(loss - loss.mean(), topo - topo.mean(), mode="full")
    scipy_lag = int(np.argmax(full)) - (n - 1)
    assert scipy_lag == 3
    assert cross_correlation(loss, topo, 10).best_lag == 3


def test_cross_correlation_detrend_and_ties():
    n = 60
    t = np.arange(n, dtype=float)
    topo = series(n, 1)
    loss = np.roll(topo, 2) + 0.05 * t
    assert cross_correlation(loss, topo, 5, detrend=True).best_lag == 2
    # alternating series: lags 0, +-2, ... tie at r = 1; the smallest |lag| wins
    alt = np.tile([1.0, -1.0], 10)
    assert cross_correlation(alt, alt, 4).best_lag == 0


def test_trials_and_table():
    rng = np.random.default_rng(0)
    losses, topos = [], []
    for i in range(6):
        n = 40 + i
        topo = np.cumsum(rng.normal(size=n + 4))
        losses.append(topo[:n] + 0.1 * rng.normal(size=n))
        topos.append(topo[4 : n + 4] if i % 2 else topo[:n])
    ds = correlation_trials(losses, topos, max_lag=8)
    assert ds.r.dims == ("trial", "measure") and list(ds.measure.values) == list(MEASURES)
    # odd trials: topo[t] = x[t + 4], loss[t] = x[t]: the topology leads by 4
    np.testing.assert_array_equal(ds.lag.sel(measure="cross_correlation").values, [0, 4, 0, 4, 0, 4])
    for i in range(6):
        ref = pearson(losses[i], topos[i])
        assert ds.r.values[i, 0] == ref.r and ds.p.values[i, 0] == ref.p
        assert ds.r.values[i, 2] == difference_pearson(losses[i], topos[i]).r
    table = correlation_table(ds)
    sig = ((ds.p < 0.05) & (ds.r > 0)).sum("trial").values
    np.testing.assert_array_equal(table.n_significant_positive.values, sig)
    assert table.n_trials.values.tolist() == [6] * 4
    assert table.sel(measure="cross_correlation").n_significant_positive == 6
    assert float(table.median_lag.sel(measure="cross_correlation")) == 2.0
    assert float(table.mode_lag.sel(measure="cross_correlation")) == 0.0  # 3 and 3: smallest wins
    assert np.isnan(table.median_lag.sel(measure="pearson"))
    assert isinstance(table, xr.Dataset)


def test_a_constant_trial_is_undefined_not_fatal():
    x = series(20, 0)
    ds = correlation_trials([x, x], [x + 1, np.ones(20)], max_lag=3)
    assert np.isnan(ds.r.values[1]).all() and not np.isnan(ds.r.values[0]).any()
    table = correlation_table(ds)
    assert table.n_undefined.values.tolist() == [1, 1, 1, 1]
    assert table.n_significant_positive.values.tolist() == [1, 1, 1, 1]
    assert float(table.median_lag.sel(measure="cross_correlation")) == 0.0


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("fn", [pearson, detrended_pearson, difference_pearson])
def test_bad_series_refused(fn):
    x = series(10, 0)
    bad = x.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fn(bad, x)
    with pytest.raises(ValueError, match="NaN"):
        fn(x, np.where(x > 0, np.inf, x))
    with pytest.raises(ValueError, match="at least"):
        fn(x[:2], x[:2])
    with pytest.raises(ValueError, match="same length"):
        fn(x, x[:-1])
    with pytest.raises(ValueError, match="constant"):
        fn(np.full(10, 3.0), x)
    with pytest.raises(ValueError, match="y is constant"):
        fn(x, np.full(10, -1e300))
    with pytest.raises(TypeError):
        fn(["a"] * 10, x)
    with pytest.raises(ValueError, match="1-D"):
        fn(x[:, None], x)


def test_more_refusals():
    x = series(10, 0)
    with pytest.raises(ValueError, match="at least 4"):
        detrended_pearson(x[:3], x[:3])
    with pytest.raises(ValueError, match="exactly linear"):
        detrended_pearson(np.arange(10.0) * 3 + 1, x)
    with pytest.raises(ValueError, match="constant in its differences"):
        difference_pearson(np.arange(10.0), x)
    with pytest.raises(ValueError, match="strictly increasing"):
        detrended_pearson(x, x, t=np.zeros(10))
    with pytest.raises(ValueError, match="max_lag"):
        cross_correlation(x, x, 8)
    with pytest.raises(ValueError, match="max_lag"):
        cross_correlation(x, x, -1)
    with pytest.raises(TypeError, match="max_lag"):
        cross_correlation(x, x, 2.0)
    with pytest.raises(ValueError, match="constant over every overlap"):
        cross_correlation(x, np.ones(10), 2)
    with pytest.raises(ValueError, match="same length"):
        correlation_trials([x], [x[:-1]], 2)
    with pytest.raises(ValueError, match="as many trials"):
        correlation_trials([x, x], [x], 2)
    with pytest.raises(ValueError, match="empty"):
        correlation_trials([], [], 2)
    with pytest.raises(ValueError, match="trial 0 has 10 values"):
        correlation_trials([x], [x], 9)
    with pytest.raises(TypeError, match="trials"):
        correlation_table({"r": 1})
    with pytest.raises(ValueError, match="alpha"):
        correlation_table(correlation_trials([x], [x + 1], 2), alpha=0.0)
