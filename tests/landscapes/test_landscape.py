"""Grid and exact persistence landscapes: conventions, gudhi agreement, properties, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nntopo.landscapes import ExactLandscape, Grid, Landscape, exact_landscape, landscape

SQRT2 = math.sqrt(2.0)


def random_diagram(rng, m, lo=0.0, hi=1.0):
    x = np.sort(rng.uniform(lo, hi, size=(m, 2)), axis=1)
    return x


@st.composite
def diagrams(draw, max_bars=25, with_inf=True):
    m = draw(st.integers(0, max_bars))
    births = draw(st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=m, max_size=m))
    pers = draw(st.lists(st.floats(0.0, 1.5, allow_nan=False), min_size=m, max_size=m))
    dgm = np.array([[b, b + p] for b, p in zip(births, pers)], dtype=float).reshape(m, 2)
    if with_inf and m and draw(st.booleans()):
        dgm[draw(st.integers(0, m - 1)), 1] = np.inf
    return dgm


GRID = Grid(-0.5, 2.0, 0.01)


# ------------------------------------------------------------------------- the grid


def test_grid_points_and_weights():
    g = Grid(0, 1, 0.001)
    assert g.n_points == 1001
    t = g.points()
    assert t[0] == 0.0 and t[-1] == 1.0
    np.testing.assert_allclose(np.diff(t), 0.001, rtol=1e-9)
    w = g.trapezoid_weights()
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    assert w[0] == pytest.approx(0.0005)


def test_grid_decimal_steps_are_accepted():
    for t_max, step, n in [(1.0, 0.005, 200), (0.3, 0.1, 3), (2.0, 0.001, 2000)]:
        g = Grid(0.0, t_max, step)
        assert g.n_intervals == n and g.n_points == n + 1
        t = g.points()
        assert t[0] == 0.0 and t[-1] == t_max  # both ends are grid points, exactly
        assert g.spacing == pytest.approx(step, rel=1e-12)


@pytest.mark.parametrize(
    "args, name",
    [
        ((0, 1, -0.01), "step"),
        ((0, 1, 0.0), "step"),
        ((1, 1, 0.1), "t_max"),
        ((1, 0, 0.1), "t_max"),
        ((0, np.nan, 0.1), "t_max"),
        ((np.inf, 1, 0.1), "t_min"),
        ((0, 1, np.nan), "step"),
        ((0, 1, 0.3), "step"),  # not an integer number of steps
        ((0, 1, 2.0), "step"),
    ],
)
def test_grid_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        Grid(*args)


def test_grid_whose_range_or_count_overflows_is_refused():
    with pytest.raises(ValueError, match="t_max - t_min"):
        Grid(-1e308, 1e308, 1e306)
    with pytest.raises(ValueError, match="step"):
        Grid(0.0, 1e300, 1e-300)
    g = Grid(0.0, 1.0, 1e-12)  # a description only: nothing is allocated yet
    assert g.n_points == 10**12 + 1
    with pytest.raises(ValueError, match="max_bytes"):
        g.points()
    with pytest.raises(ValueError, match="max_bytes"):
        g.trapezoid_weights()


def test_grid_type_errors():
    with pytest.raises(TypeError):
        Grid("0", 1, 0.1)
    with pytest.raises(TypeError, match="grid"):
        landscape(np.zeros((0, 2)), grid=(0, 1))


# ------------------------------------------------------------------- conventions


def test_single_bar_tent_no_sqrt2():
    g = Grid(0, 4, 0.5)
    lam = landscape([[1.0, 3.0]], g, n_levels=2)
    np.testing.assert_allclose(lam.values[0], [0, 0, 0, 0.5, 1.0, 0.5, 0, 0, 0])
    np.testing.assert_array_equal(lam.values[1], 0)
    assert lam.values.shape == (2, 9)
    assert lam.values.dtype == np.float64


def test_empty_diagram_is_zero_landscape():
    for dgm in (np.zeros((0, 2)), [], np.empty(0)):
        lam = landscape(dgm, GRID, n_levels=3)
        assert lam.values.shape == (3, GRID.n_points)
        assert not lam.values.any()
        assert lam.norm() == 0.0
    ex = exact_landscape(np.zeros((0, 2)))
    assert ex.n_levels == 0 and ex.norm() == 0.0
    assert not ex(GRID.points()).any()


def test_infinite_bar_dropped_by_default_and_cut_at_t_max():
    g = Grid(0, 1, 0.01)
    dgm = np.array([[0.0, np.inf], [0.2, 0.5]])
    dropped = landscape(dgm, g, 2)
    assert dropped.keep_infinite is False
    np.testing.assert_array_equal(dropped.values, landscape([[0.2, 0.5]], g, 2).values)
    kept = landscape(dgm, g, 2, keep_infinite=True)
    assert kept.keep_infinite is True
    np.testing.assert_array_equal(kept.values, landscape([[0.0, 1.0], [0.2, 0.5]], g, 2).values)
    ex = exact_landscape(dgm, t_max=1.0, keep_infinite=True)
    np.testing.assert_allclose(ex(g.points(), n_levels=2), kept.values, atol=1e-12)
    with pytest.raises(ValueError, match="t_max"):
        exact_landscape(dgm, keep_infinite=True)


def test_more_levels_than_bars_are_zero():
    lam = landscape([[0.0, 1.0], [0.1, 0.6]], Grid(0, 1, 0.05), n_levels=6)
    assert lam.values[:2].any() and not lam.values[2:].any()


# ---------------------------------------------------------------- gudhi agreement


@pytest.mark.parametrize("n_levels", [1, 3, 5, 12])
@pytest.mark.parametrize("n_intervals", [10, 100, 1000])
def test_equals_gudhi_divided_by_sqrt2(n_levels, n_intervals):
    from gudhi.representations import Landscape as GudhiLandscape

    rng = np.random.default_rng(1000 * n_levels + n_intervals)
    for m in (1, 4, 40, 300):
        dgm = random_diagram(rng, m, 0.0, 2.0)
        t_min, t_max = 0.0, 2.0
        g = Grid(t_min, t_max, (t_max - t_min) / n_intervals)
        ours = landscape(dgm, g, n_levels).values
        gl = GudhiLandscape(num_landscapes=n_levels, resolution=g.n_points, sample_range=[t_min, t_max])
        theirs = gl.fit_transform([dgm])[0].reshape(n_levels, g.n_points) / SQRT2
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


def test_equals_gudhi_with_gudhis_automatic_sample_range():
    """gudhi's default range is [min birth, max death] sampled with resolution+2 points
    and the two ends trimmed; our grid on the same range, ends included, matches."""
    from gudhi.representations import Landscape as GudhiLandscape

    rng = np.random.default_rng(7)
    for _ in range(5):
        dgm = random_diagram(rng, 50, 0.1, 0.9)
        res = 200
        gl = GudhiLandscape(num_landscapes=5, resolution=res).fit([dgm])
        theirs = gl.transform([dgm])[0].reshape(5, res) / SQRT2
        lo, hi = dgm[:, 0].min(), dgm[:, 1].max()
        g = Grid(lo, hi, (hi - lo) / (res + 1))
        np.testing.assert_allclose(g.points()[1:-1], gl.grid_, atol=1e-12)
        ours = landscape(dgm, g, 5).values[:, 1:-1]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(dgm=diagrams(), k=st.integers(1, 8), keep=st.booleans())
def test_levels_decreasing_nonnegative_and_lipschitz(dgm, k, keep):
    lam = landscape(dgm, GRID, k, keep_infinite=keep)
    v = lam.values
    assert np.all(v >= 0)
    assert np.all(np.diff(v, axis=0) <= 0)
    # 1-Lipschitz in t: neighbouring grid values differ by at most the spacing
    assert np.all(np.abs(np.diff(v, axis=1)) <= GRID.spacing * (1 + 1e-9) + 1e-12)


@settings(max_examples=60, deadline=None)
@given(dgm=diagrams(), k=st.integers(1, 8), keep=st.booleans())
def test_exact_and_grid_agree_at_grid_points(dgm, k, keep):
    lam = landscape(dgm, GRID, k, keep_infinite=keep)
    ex = exact_landscape(dgm, t_max=GRID.t_max, keep_infinite=keep)
    np.testing.assert_allclose(ex(GRID.points(), n_levels=k), lam.values, rtol=0, atol=1e-12)
    ex_k = exact_landscape(dgm, k, t_max=GRID.t_max, keep_infinite=keep)
    assert ex_k.n_levels <= k
    np.testing.assert_allclose(ex_k.to_grid(GRID, k).values, lam.values, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(dgm=diagrams(with_inf=False), p=st.sampled_from([1.0, 2.0, 3.0, 1.5]))
def test_exact_norm_matches_fine_grid_integration(dgm, p):
    ex = exact_landscape(dgm)
    fine = Grid(-0.5, 3.5, 1e-4)
    k = max(1, len(dgm))
    brute = landscape(dgm, fine, k).norm(p)
    assert ex.norm(p) == pytest.approx(brute, rel=1e-6, abs=1e-9)
    # sup norm: half the largest persistence
    pers = (dgm[:, 1] - dgm[:, 0]).max() / 2 if len(dgm) else 0.0
    assert ex.norm(np.inf) == pytest.approx(pers, abs=1e-12)


def test_exact_critical_points_by_hand():
    ex = exact_landscape([[0.0, 2.0], [1.0, 3.0]])
    (x1, y1), (x2, y2) = ex.levels
    np.testing.assert_allclose(x1, [0, 1, 1.5, 2, 3])
    np.testing.assert_allclose(y1, [0, 1, 0.5, 1, 0])
    np.testing.assert_allclose(x2, [1, 1.5, 2])
    np.testing.assert_allclose(y2, [0, 0.5, 0])
    # a single tent of height 1 on [0, 2]: integral of f^2 is 2/3
    assert exact_landscape([[0.0, 2.0]]).norm(2) ** 2 == pytest.approx(2 / 3, rel=1e-14)
    assert exact_landscape([[0.0, 2.0]]).norm(1) == pytest.approx(1.0, rel=1e-14)
    # nested bars go to the next level; equal bars repeat
    ex = exact_landscape([[0.0, 4.0], [1.0, 2.0], [1.0, 2.0]])
    assert ex.n_levels == 3
    np.testing.assert_allclose(ex([1.5]).ravel(), [1.5, 0.5, 0.5])
    # disjoint bars stay on level 1
    ex = exact_landscape([[0.0, 1.0], [2.0, 3.0], [1.0, 2.0]])
    assert ex.n_levels == 1


def test_exact_and_grid_norms_agree_on_fine_grid():
    rng = np.random.default_rng(3)
    dgm = random_diagram(rng, 60)
    fine = Grid(0, 1, 1e-4)
    ex = exact_landscape(dgm)
    lam = landscape(dgm, fine, ex.n_levels)
    assert ex.norm() == pytest.approx(lam.norm(), rel=1e-7)


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "dgm",
    [
        [[np.nan, 1.0]],
        [[np.inf, 1.0]],
        [[-np.inf, 1.0]],
        [[0.0, np.nan]],
        [[0.0, -np.inf]],
        [[1.0, 0.5]],  # death < birth
        np.zeros((3, 3)),
        np.zeros(3),
        np.zeros((2, 2, 2)),
    ],
)
def test_bad_diagrams(dgm):
    with pytest.raises(ValueError, match="diagram"):
        landscape(dgm, GRID, 3)
    with pytest.raises(ValueError, match="diagram"):
        exact_landscape(dgm)


@pytest.mark.parametrize("dgm", [[["a", "b"]], None, np.array([[1 + 1j, 2]]), np.array([[0, 1]], dtype=object)])
def test_diagrams_of_the_wrong_kind_are_type_errors(dgm):
    with pytest.raises(TypeError, match="diagram"):
        landscape(dgm, GRID, 3)
    with pytest.raises(TypeError, match="diagram"):
        exact_landscape(dgm)


# ----------------------------------------------- extreme bars (issue 8, finding 1)


def test_a_very_long_bar_is_not_dropped():
    # (d - t_min) / h = 1e19 does not fit an int64: the kernel used to wrap around and
    # drop the bar. ExactLandscape gives the true value 0.5 at t = 0.5.
    lam = landscape([[0.0, 1e16]], (0, 1, 0.001), 1)
    assert lam.values[0, 500] == 0.5
    np.testing.assert_array_equal(lam.values[0], Grid(0, 1, 0.001).points())
    assert exact_landscape([[0.0, 1e16]])(0.5)[0] == 0.5


_EXTREME = st.one_of(
    st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False),
    st.sampled_from([-1.7e308, -1e300, -1e16, -1e-300, 0.0, 1e-300, 0.5, 1e16, 1e19, 1e300, 1.7e308]),
    st.floats(-2.0, 3.0, allow_nan=False),
)


@st.composite
def extreme_diagrams(draw, max_bars=12):
    """Bars far outside the grid, longer than 2**63 grid steps, at +-1e300, and tiny."""
    m = draw(st.integers(1, max_bars))
    rows = []
    for _ in range(m):
        kind = draw(st.integers(0, 2))
        b = draw(_EXTREME)
        if kind == 0:  # any other endpoint
            d = draw(_EXTREME)
            b, d = min(b, d), max(b, d)
        elif kind == 1:  # tiny bar
            d = b + draw(st.sampled_from([1e-300, 5e-324, 1e-12, 0.0]))
        else:  # one end inside the grid
            d = draw(st.floats(-1.0, 2.0, allow_nan=False))
            b, d = min(b, d), max(b, d)
        rows.append([b, d])
    return np.array(rows, dtype=float)


@settings(max_examples=150, deadline=None)
@given(dgm=extreme_diagrams(), k=st.integers(1, 6), n_intervals=st.sampled_from([1, 7, 300, 1000]))
def test_extreme_bars_match_the_exact_landscape_at_the_grid(dgm, k, n_intervals):
    g = Grid(-1.0, 2.0, 3.0 / n_intervals)
    grid_vals = landscape(dgm, g, k).values
    assert np.all(np.isfinite(grid_vals))
    # Brute force, min(t - b, d - t) for every bar and point: as tight as rounding allows.
    np.testing.assert_allclose(grid_vals, _dense_reference(dgm, g, k), rtol=1e-12, atol=1e-12)
    # The exact form interpolates between breakpoints up to 1e308 high, so its value at
    # t is exact to a few ulps of the breakpoints, not of the value (np.interp on a
    # segment from (-8.5e307, 8.5e307) to (0, 0) gives 0 at t = -1, not 1).
    ex = exact_landscape(dgm, k)
    ulps = 4 * np.finfo(float).eps * max((float(np.abs(y).max()) for _, y in ex.levels if y.size), default=0.0)
    np.testing.assert_allclose(grid_vals, ex(g.points(), n_levels=k), rtol=1e-12, atol=1e-12 + ulps)


@settings(max_examples=60, deadline=None)
@given(dgm=diagrams(with_inf=False), k=st.integers(1, 5), e=st.integers(-990, 990))
def test_landscapes_and_norms_are_scale_equivariant_at_any_scale(dgm, k, e):
    # Scaling bars and grid by 2**e scales the values by 2**e exactly, and the L^p norm
    # by 2**(e (1 + 1/p)): at e = +-990 the squares of the values leave float64.
    c = 2.0**e
    g = Grid(-0.5, 2.0, 0.01)
    gs = Grid(-0.5 * c, 2.0 * c, 0.01 * c)
    base = landscape(dgm, g, k)
    big = landscape(dgm * c, gs, k)
    np.testing.assert_allclose(big.values, base.values * c, rtol=1e-12, atol=1e-12 * c)
    ex, exs = exact_landscape(dgm, k), exact_landscape(dgm * c, k)

    def same_up_to(a, b, log2_factor):
        # a == b * 2**log2_factor, compared in log2 (b * 2**log2_factor may not be a float)
        if b == 0.0:
            assert a == 0.0
        elif -1000 < math.log2(b) + log2_factor < 1023:  # a normal float64
            assert math.log2(a) == pytest.approx(math.log2(b) + log2_factor, abs=1e-9)

    for p in (1.0, 2.0, 3.0):
        same_up_to(big.norm(p), base.norm(p), e * (1 + 1 / p))
        same_up_to(exs.norm(p), ex.norm(p), e * (1 + 1 / p))
    assert big.norm(np.inf) == base.norm(np.inf) * c
    same_up_to(big.inner(big), base.inner(base), 3 * e)
    same_up_to(exs.inner(exs), ex.inner(ex), 3 * e)


def test_norm_of_a_huge_and_a_tiny_landscape():
    # A tent of height s/2 on [0, s], s = 2**600: integral of f^2 = s^3 / 12 = 2**1800 / 12,
    # whose root (s / 2) sqrt(s / 3) is a float although every square overflows; and the
    # same at s = 2**-600, where every square underflows.
    c = 2.0**600
    for scale in (c, 1 / c):
        g = Grid(0.0, scale, scale / 1000)
        lam = landscape([[0.0, scale]], g, 1)
        ex = exact_landscape([[0.0, scale]])
        truth = (scale / 2) * math.sqrt(scale / 3)
        assert ex.norm() == pytest.approx(truth, rel=1e-12)
        assert lam.norm() == pytest.approx(truth, rel=1e-5)  # trapezoid rule
        # integral of f^3 = (s/2)^4 / 2
        assert ex.norm(3) == pytest.approx((scale / 2) ** (4 / 3) / 2 ** (1 / 3), rel=1e-12)
        assert lam.norm(3) == pytest.approx(ex.norm(3), rel=1e-5)


# ------------------------------------------------ huge requests (issue 8, finding 3)


def test_huge_requests_are_refused_before_allocating():
    with pytest.raises(ValueError, match="max_bytes"):
        landscape([[0.0, 1.0]], (0, 1, 0.001), 10**9)
    with pytest.raises(ValueError, match="max_bytes"):
        landscape([[0.0, 1.0]], (0, 1, 1e-9), 1)  # 1e9 points
    # the limit is the caller's: lowered it refuses a small request, raised it allows one
    with pytest.raises(ValueError, match="max_bytes"):
        landscape([[0.0, 1.0]], (0, 1, 0.001), 5, max_bytes=1000)
    lam = landscape([[0.0, 1.0]], (0, 1, 0.001), 5, max_bytes=8 * 1001 * 13)
    assert lam.values.shape == (5, 1001)
    ex = exact_landscape([[0.0, 1.0]])
    with pytest.raises(ValueError, match="max_bytes"):
        ex.to_grid((0, 1, 0.001), 10**9)
    with pytest.raises(ValueError, match="max_bytes"):
        ex(np.zeros(1000), n_levels=10**9)
    with pytest.raises(ValueError, match="max_bytes"):
        lam.padded(10**9)
    with pytest.raises(ValueError, match="max_bytes"):
        lam.to_vector(10**9)


def test_keyword_only_hom_dim_and_checked_metadata():
    with pytest.raises(TypeError):
        landscape([[0.0, 1.0]], GRID, 3, 1)  # hom_dim is keyword-only
    with pytest.raises(ValueError, match="hom_dim"):
        landscape([[0.0, 1.0]], GRID, 3, hom_dim=-1)
    with pytest.raises(TypeError, match="hom_dim"):
        exact_landscape([[0.0, 1.0]], hom_dim=1.0)
    with pytest.raises(TypeError, match="keep_infinite"):
        landscape([[0.0, 1.0]], GRID, 3, keep_infinite="no")
    with pytest.raises(TypeError, match="t_max"):
        exact_landscape([[0.0, np.inf]], t_max="1", keep_infinite=True)


def test_bad_levels():
    with pytest.raises(ValueError, match="n_levels"):
        landscape([[0, 1]], GRID, 0)
    with pytest.raises(TypeError, match="n_levels"):
        landscape([[0, 1]], GRID, 2.5)


def test_bad_values_shape():
    with pytest.raises(ValueError, match="values"):
        Landscape(np.zeros((2, 7)), Grid(0, 1, 0.1))
    with pytest.raises(ValueError, match="values"):
        Landscape(np.full((1, 11), np.nan), Grid(0, 1, 0.1))


def test_bad_exact_levels():
    with pytest.raises(ValueError, match="levels"):
        ExactLandscape([(np.array([1.0, 0.0]), np.array([0.0, 0.0]))])


# ---------------------------------------------------------------------- exports


def test_to_xarray():
    lam = landscape([[0.0, 1.0], [0.2, 0.4]], Grid(0, 1, 0.1), 3, hom_dim=1)
    da = lam.to_xarray()
    assert da.dims == ("level", "t")
    assert list(da.level.values) == [1, 2, 3]
    assert da.attrs["t_min"] == 0.0 and da.attrs["t_max"] == 1.0 and da.attrs["step"] == 0.1
    assert da.attrs["hom_dim"] == 1 and da.attrs["keep_infinite"] == 0
    np.testing.assert_array_equal(da.values, lam.values)


def test_large_random_diagram_matches_dense_reference():
    """The pruned compiled kernel against a dense numpy top-k on a big diagram."""
    rng = np.random.default_rng(11)
    dgm = random_diagram(rng, 3000)
    g = Grid(0, 1, 0.002)
    t = g.points()
    tents = np.maximum(0.0, np.minimum(t[None, :] - dgm[:, :1], dgm[:, 1:] - t[None, :]))
    for k in (1, 5, 50):
        ref = -np.sort(-tents, axis=0)[:k]
        np.testing.assert_allclose(landscape(dgm, g, k).values, ref, rtol=0, atol=1e-15)


def _dense_reference(dgm, grid, k, keep_infinite=False):
    dgm = np.asarray(dgm, dtype=float).reshape(-1, 2).copy()
    inf = np.isinf(dgm[:, 1])
    if keep_infinite:
        dgm[inf, 1] = grid.t_max
    else:
        dgm = dgm[~inf]
    t = grid.points()
    tents = np.maximum(0.0, np.minimum(t[None, :] - dgm[:, :1], dgm[:, 1:] - t[None, :]))
    tents = np.vstack([tents, np.zeros((k, t.size))])
    return -np.sort(-tents, axis=0)[:k]


@settings(max_examples=60, deadline=None)
@given(
    dgm=diagrams(max_bars=40),
    t_min=st.floats(-1.0, 1.0, allow_nan=False),
    n_intervals=st.integers(1, 300),
    span=st.floats(0.05, 3.0, allow_nan=False),
    k=st.integers(1, 10),
    keep=st.booleans(),
)
def test_kernel_matches_dense_reference_on_any_grid(dgm, t_min, n_intervals, span, k, keep):
    """Bars partly or wholly outside the grid, offsets, coarse and fine grids."""
    g = Grid(t_min, t_min + span, span / n_intervals)
    ref = _dense_reference(dgm, g, k, keep)
    np.testing.assert_allclose(landscape(dgm, g, k, keep_infinite=keep).values, ref, rtol=0, atol=1e-12)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(
    dgm=diagrams(max_bars=200),
    n_intervals=st.integers(1, 2000),
    k=st.integers(1, 60),
    keep=st.booleans(),
)
def test_kernel_matches_dense_reference_many(dgm, n_intervals, k, keep):
    g = Grid(-0.5, 2.0, 2.5 / n_intervals)
    ref = _dense_reference(dgm, g, k, keep)
    np.testing.assert_allclose(landscape(dgm, g, k, keep_infinite=keep).values, ref, rtol=0, atol=1e-12)
    ex = exact_landscape(dgm, t_max=g.t_max, keep_infinite=keep)
    np.testing.assert_allclose(ex(g.points(), n_levels=k), ref, rtol=0, atol=1e-12)
