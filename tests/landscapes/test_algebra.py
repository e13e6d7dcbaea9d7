"""Landscape algebra: vector-space operations, norms, inner products, multi-layer (eq. 1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nntopo.landscapes import (
    ActivationLandscape,
    Grid,
    distance,
    exact_landscape,
    gram_matrix,
    inner_product,
    landscape,
    landscape_sum,
    landscape_vectors,
    mean_landscape,
    norm,
    stack_to_xarray,
)

GRID = Grid(0.0, 1.5, 0.01)


@st.composite
def diagrams(draw, max_bars=15):
    m = draw(st.integers(0, max_bars))
    b = draw(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=m, max_size=m))
    p = draw(st.lists(st.floats(0.0, 0.8, allow_nan=False), min_size=m, max_size=m))
    return np.array([[x, x + y] for x, y in zip(b, p)], dtype=float).reshape(m, 2)


def rand_dgm(rng, m):
    return np.sort(rng.uniform(0, 1, (m, 2)), axis=1)


# ------------------------------------------------------------------ grid algebra


def test_sum_scale_and_padding():
    a = landscape([[0.0, 1.0]], GRID, 1)
    b = landscape([[0.0, 1.0], [0.2, 0.8]], GRID, 3)
    s = a + b
    assert s.n_levels == 3
    np.testing.assert_allclose(s.values[0], 2 * a.values[0])
    np.testing.assert_allclose(s.values[1], b.values[1])
    np.testing.assert_allclose((2.0 * a).values, a.values * 2)
    np.testing.assert_allclose((a * 3).values, a.values * 3)
    np.testing.assert_allclose((a / 2).values, a.values / 2)
    np.testing.assert_allclose((-a).values, -a.values)
    np.testing.assert_allclose((b - b).values, 0)
    assert landscape_sum([a, b, a]).n_levels == 3
    np.testing.assert_allclose(landscape_sum([a, b, a]).values, (a + b + a).values)


def test_incompatible_grids_and_degrees():
    a = landscape([[0.0, 1.0]], GRID, 1, hom_dim=1)
    with pytest.raises(ValueError, match="grid"):
        a + landscape([[0.0, 1.0]], Grid(0, 1, 0.01), 1)
    with pytest.raises(ValueError, match="degree"):
        a + landscape([[0.0, 1.0]], GRID, 1, hom_dim=0)
    with pytest.raises(TypeError):
        a + exact_landscape([[0.0, 1.0]])


def test_norm_and_inner_by_hand():
    g = Grid(0, 2, 0.5)
    lam = landscape([[0.0, 2.0]], g, 2)  # values 0, .5, 1, .5, 0
    # trapezoid: 0.5 * (0/2 + .25 + 1 + .25 + 0/2) = 0.75
    assert lam.inner(lam) == pytest.approx(0.75)
    assert lam.norm() == pytest.approx(np.sqrt(0.75))
    assert lam.norm(1) == pytest.approx(1.0)
    assert lam.norm(np.inf) == pytest.approx(1.0)
    assert norm(lam, 3) == pytest.approx((0.5 * (0.125 + 1 + 0.125)) ** (1 / 3))
    assert inner_product(lam, lam) == pytest.approx(0.75)
    assert distance(lam, 0.0 * lam) == pytest.approx(lam.norm())
    with pytest.raises(ValueError, match="p must"):
        lam.norm(0.5)


@settings(max_examples=50, deadline=None)
@given(d1=diagrams(), d2=diagrams(), p=st.sampled_from([1.0, 2.0, 3.0, np.inf]), k=st.integers(1, 6))
def test_triangle_inequality_and_cauchy_schwarz(d1, d2, p, k):
    a = landscape(d1, GRID, k)
    b = landscape(d2, GRID, k + 1)
    assert (a + b).norm(p) <= a.norm(p) + b.norm(p) + 1e-12
    assert distance(a, b, p) == pytest.approx(distance(b, a, p))
    assert abs(a.inner(b)) <= a.norm() * b.norm() + 1e-12
    assert a.inner(a) == pytest.approx(a.norm() ** 2, rel=1e-12, abs=1e-15)
    ea, eb = exact_landscape(d1), exact_landscape(d2)
    assert (ea + eb).norm(p) <= ea.norm(p) + eb.norm(p) + 1e-12


@settings(max_examples=40, deadline=None)
@given(d=diagrams(), n=st.integers(1, 7))
def test_mean_of_identical_landscapes_is_that_landscape(d, n):
    a = landscape(d, GRID, 4)
    np.testing.assert_allclose(mean_landscape([a] * n).values, a.values, rtol=1e-14, atol=1e-15)
    e = exact_landscape(d)
    np.testing.assert_allclose(
        mean_landscape([e] * n)(GRID.points(), n_levels=4), e(GRID.points(), n_levels=4), atol=1e-14
    )
    act = ActivationLandscape([a, 2 * a])
    np.testing.assert_allclose(mean_landscape([act] * n).to_array(), act.to_array(), atol=1e-14)


# ---------------------------------------------------------------- exact algebra


@settings(max_examples=40, deadline=None)
@given(d1=diagrams(), d2=diagrams(), s=st.floats(-3, 3, allow_nan=False))
def test_exact_algebra_agrees_with_grid_at_grid_points(d1, d2, s):
    e1, e2 = exact_landscape(d1), exact_landscape(d2)
    k = max(1, e1.n_levels, e2.n_levels)
    g1, g2 = landscape(d1, GRID, k), landscape(d2, GRID, k)
    combo_e = e1 * s + e2
    combo_g = g1 * s + g2
    np.testing.assert_allclose(combo_e(GRID.points(), n_levels=k), combo_g.values, atol=1e-12)
    np.testing.assert_allclose(combo_e.to_grid(GRID, k).values, combo_g.values, atol=1e-12)


def test_exact_inner_and_distance_vs_fine_grid():
    rng = np.random.default_rng(5)
    d1, d2 = rand_dgm(rng, 30), rand_dgm(rng, 20)
    e1, e2 = exact_landscape(d1), exact_landscape(d2)
    fine = Grid(0, 1, 1e-4)
    k = max(e1.n_levels, e2.n_levels)
    g1, g2 = landscape(d1, fine, k), landscape(d2, fine, k)
    assert e1.inner(e2) == pytest.approx(g1.inner(g2), rel=1e-6)
    assert e1.distance(e2) == pytest.approx(g1.distance(g2), rel=1e-6)
    assert e1.distance(e2, 1) == pytest.approx(g1.distance(g2, 1), rel=1e-6)
    # the difference changes sign: closed-form |.|^p integration across zero crossings
    assert e1.distance(e2, 3) == pytest.approx(g1.distance(g2, 3), rel=1e-6)
    assert e1.distance(e2, np.inf) == pytest.approx(g1.distance(g2, np.inf), abs=1e-4)


# ------------------------------------------------------------ multi-layer (eq. 1)


def make_act(rng, n_layers=3, k=4, grid=GRID):
    return ActivationLandscape.from_diagrams(
        [rand_dgm(rng, rng.integers(0, 12)) for _ in range(n_layers)], grid, k, hom_dim=1
    )


def test_activation_inner_is_equation_1():
    rng = np.random.default_rng(0)
    a, b = make_act(rng), make_act(rng)
    w = GRID.trapezoid_weights()
    by_hand = sum(
        float(np.sum(la.padded(4) * lb.padded(4) * w)) for la, lb in zip(a.layers, b.layers)
    )
    assert a.inner(b) == pytest.approx(by_hand, rel=1e-12)
    assert a.norm() == pytest.approx(np.sqrt(a.inner(a)), rel=1e-12)
    assert a.distance(b) == pytest.approx(np.sqrt(a.inner(a) - 2 * a.inner(b) + b.inner(b)), rel=1e-9)
    np.testing.assert_allclose(a.norms_per_layer(), [x.norm() for x in a.layers])
    assert a.norm(1) == pytest.approx(sum(x.norm(1) for x in a.layers))
    assert a.norm(np.inf) == pytest.approx(max(x.norm(np.inf) for x in a.layers))


def test_activation_algebra_and_shapes():
    rng = np.random.default_rng(1)
    a, b = make_act(rng), make_act(rng)
    s = a + b
    for i in range(3):
        np.testing.assert_allclose(s.layers[i].values, (a.layers[i] + b.layers[i]).values)
    np.testing.assert_allclose((a - a).to_array(), 0)
    np.testing.assert_allclose((2 * a).to_array(), 2 * a.to_array())
    assert a.to_array().shape == (3, 4, GRID.n_points)
    assert a.to_vector().shape == (3 * 4 * GRID.n_points,)
    assert len(a) == 3 and a.grid == GRID and not a.is_exact
    with pytest.raises(ValueError, match="layers"):
        a + make_act(rng, n_layers=2)
    with pytest.raises(ValueError, match="grid"):
        ActivationLandscape([a.layers[0], landscape([[0, 1]], Grid(0, 1, 0.1), 2)])
    with pytest.raises(TypeError):
        ActivationLandscape([a.layers[0], exact_landscape([[0, 1]])])
    with pytest.raises(ValueError, match="layers"):
        ActivationLandscape([])


def test_activation_to_xarray():
    rng = np.random.default_rng(2)
    a = ActivationLandscape(make_act(rng).layers, layer_names=["in", "h1", "out"])
    da = a.to_xarray()
    assert da.dims == ("layer", "level", "t")
    assert list(da.layer.values) == ["in", "h1", "out"]
    assert da.shape == (3, 4, GRID.n_points)
    assert da.attrs["step"] == GRID.step and da.attrs["hom_dim"] == 1
    np.testing.assert_allclose(da.t.values, GRID.points())


def test_exact_activation_landscape():
    rng = np.random.default_rng(3)
    dgms = [rand_dgm(rng, 8) for _ in range(3)]
    ea = ActivationLandscape([exact_landscape(d) for d in dgms])
    assert ea.is_exact
    fine = Grid(0, 1, 1e-4)
    ga = ea.to_grid(fine)
    assert ea.norm() == pytest.approx(ga.norm(), rel=1e-6)
    with pytest.raises(TypeError):
        ea.to_array()


# ------------------------------------------------------------------- gram/vectors


def test_gram_matrix_matches_pairwise_inner_products():
    rng = np.random.default_rng(4)
    acts = [make_act(rng) for _ in range(6)]
    g = gram_matrix(acts)
    for i in range(6):
        for j in range(6):
            assert g[i, j] == pytest.approx(acts[i].inner(acts[j]), rel=1e-12, abs=1e-15)
    single = [a.layers[0] for a in acts]
    np.testing.assert_allclose(gram_matrix(single), [[x.inner(y) for y in single] for x in single], atol=1e-15)
    exact = [exact_landscape(rand_dgm(rng, 5)) for _ in range(4)]
    np.testing.assert_allclose(gram_matrix(exact), [[x.inner(y) for y in exact] for x in exact])
    v = landscape_vectors(acts, weighted=True)
    np.testing.assert_allclose(v @ v.T, g, rtol=1e-10, atol=1e-15)
    assert landscape_vectors(acts).shape == (6, 3 * 4 * GRID.n_points)
    assert landscape_vectors(acts, n_levels=6).shape == (6, 3 * 6 * GRID.n_points)
    with pytest.raises(TypeError):
        gram_matrix([acts[0], single[0]])
    with pytest.raises(ValueError):
        gram_matrix([])


def test_stack_to_xarray():
    rng = np.random.default_rng(6)
    acts = [make_act(rng) for _ in range(4)]
    da = stack_to_xarray(acts, dim="network", coords=["a", "b", "c", "d"])
    assert da.dims == ("network", "layer", "level", "t")
    assert da.shape == (4, 3, 4, GRID.n_points)
    np.testing.assert_array_equal(da.sel(network="c").values, acts[2].to_array())
    assert da.attrs["t_max"] == GRID.t_max
    with pytest.raises(ValueError, match="coords"):
        stack_to_xarray(acts, coords=[1])


def test_from_layer_diagrams():
    rng = np.random.default_rng(7)
    layers = {f"layer{i}": [rand_dgm(rng, 5), rand_dgm(rng, 4)] for i in range(3)}
    act = ActivationLandscape.from_layer_diagrams(layers, GRID, 3, hom_dim=1)
    assert act.layer_names == ["layer0", "layer1", "layer2"]
    assert all(x.hom_dim == 1 for x in act.layers)
    np.testing.assert_array_equal(act.layers[2].values, landscape(layers["layer2"][1], GRID, 3).values)
    with pytest.raises(ValueError, match="degree 2"):
        ActivationLandscape.from_layer_diagrams(layers, GRID, hom_dim=2)


# ------------------------------------------- scalars (issue 8, finding 4): one rule


def _three_kinds():
    g = landscape([[0.0, 1.0], [0.2, 0.5]], GRID, 2)
    e = exact_landscape([[0.0, 1.0], [0.2, 0.5]])
    a = ActivationLandscape([g, g], layer_names=["in", "out"])
    return g, e, a


@pytest.mark.parametrize("divisor", [0, 0.0, -0.0, np.float64(0.0), np.nan, np.inf, -np.inf, np.float32("nan")])
def test_every_landscape_type_refuses_the_same_divisors(divisor):
    for lam in _three_kinds():
        with pytest.raises(ValueError, match="divisor") as err:
            lam / divisor
        assert "scalar" in str(err.value)


@pytest.mark.parametrize("factor", [np.nan, np.inf, -np.inf, np.float64("nan")])
def test_every_landscape_type_refuses_nan_and_inf_factors(factor):
    for lam in _three_kinds():
        with pytest.raises(ValueError, match="scalar"):
            lam * factor
        with pytest.raises(ValueError, match="scalar"):
            factor * lam


def test_scalar_arithmetic_is_exact_and_overflow_is_refused():
    g, e, a = _three_kinds()
    # true division, not multiplication by 1 / s: 1 / 1e-310 overflows
    tiny = g * 1e-300
    np.testing.assert_array_equal((tiny / 1e-310).values, tiny.values / 1e-310)
    np.testing.assert_array_equal((g / 3).values, g.values / 3)
    for (x, y), (x3, y3) in zip(e.levels, (e / 3).levels):
        np.testing.assert_array_equal(x3, x)
        np.testing.assert_array_equal(y3, y / 3)
    np.testing.assert_array_equal((a / 3).to_array(), a.to_array() / 3)
    for lam in (g, e, a):
        with pytest.raises(ValueError, match="scalar"):
            lam * 1e308 * 1e308  # values beyond float64
        with pytest.raises(TypeError):
            lam * True  # a bool is not a scalar here
        with pytest.raises(TypeError):
            lam * "2"
        with pytest.raises(TypeError):
            lam / None


# -------------------------------------- layer names (issue 8, finding 5): must agree


def test_activation_landscapes_with_different_layer_names_are_not_combined():
    from nntopo.landscapes import norms_per_layer, permutation_test, activation_landscape_curves

    rng = np.random.default_rng(12)
    d = [rand_dgm(rng, 6) for _ in range(2)]
    a = ActivationLandscape.from_diagrams(d, GRID, 2, layer_names=["relu1", "relu2"])
    b = ActivationLandscape.from_diagrams(d, GRID, 2, layer_names=["relu2", "relu1"])
    same = ActivationLandscape.from_diagrams(d, GRID, 2, layer_names=["relu1", "relu2"])
    calls = [
        lambda: a + b,
        lambda: a - b,
        lambda: a.inner(b),
        lambda: inner_product(a, b),
        lambda: a.distance(b),
        lambda: distance(a, b),
        lambda: landscape_sum([a, b]),
        lambda: mean_landscape([a, b]),
        lambda: gram_matrix([a, b]),
        lambda: landscape_vectors([a, b]),
        lambda: stack_to_xarray([a, b]),
        lambda: permutation_test([a, same], [b, same], n_permutations=10, seed=0),
        lambda: norms_per_layer([a, b]),
        lambda: activation_landscape_curves([a, b]),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="layer names"):
            call()
    assert (a + same).layer_names == ["relu1", "relu2"]
    ea = ActivationLandscape([exact_landscape(x) for x in d], layer_names=["x", "y"])
    eb = ActivationLandscape([exact_landscape(x) for x in d], layer_names=["x", "z"])
    for call in (lambda: ea + eb, lambda: ea.inner(eb), lambda: gram_matrix([ea, eb])):
        with pytest.raises(ValueError, match="layer names"):
            call()


def test_hom_dim_is_keyword_only():
    layers = {"a": [np.zeros((0, 2)), [[0.0, 1.0]]]}
    with pytest.raises(TypeError):
        ActivationLandscape.from_layer_diagrams(layers, 1, GRID)
    act = ActivationLandscape.from_layer_diagrams(layers, GRID, 2, hom_dim=1)
    assert act.layers[0].hom_dim == 1
    with pytest.raises(ValueError, match="hom_dim"):
        ActivationLandscape.from_layer_diagrams(layers, GRID, hom_dim=-1)


# ------------------------------- extreme scales and huge requests (findings 2 and 3)


@pytest.mark.parametrize("e", [-500, -250, 0, 250, 500])
def test_gram_matrix_and_norms_are_scale_equivariant(e):
    # Values scaled by 2**e (grid unchanged) scale the Gram matrix by 2**(2e) exactly
    # (up to rounding): at e = -500 the squares of the values are below 2**-1000.
    rng = np.random.default_rng(13)
    acts = [make_act(rng) for _ in range(4)]
    scaled = [a * 2.0**e for a in acts]
    g, gs = gram_matrix(acts), gram_matrix(scaled)
    np.testing.assert_allclose(gs, g * 2.0 ** (2 * e), rtol=1e-12)
    for i in range(4):
        assert scaled[i].norm() == pytest.approx(acts[i].norm() * 2.0**e, rel=1e-12)
        assert scaled[i].norm(3) == pytest.approx(acts[i].norm(3) * 2.0**e, rel=1e-12)


def test_huge_algebra_requests_are_refused():
    rng = np.random.default_rng(14)
    acts = [make_act(rng) for _ in range(3)]
    with pytest.raises(ValueError, match="max_bytes"):
        acts[0].to_array(10**9)
    with pytest.raises(ValueError, match="max_bytes"):
        landscape_vectors(acts, n_levels=10**9)
    with pytest.raises(ValueError, match="max_bytes"):
        gram_matrix(acts, max_bytes=1000)
    assert gram_matrix(acts, max_bytes=10**7).shape == (3, 3)
