"""Plain and local-homology normalization (seed 000, II.D) and the shared input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist

from nntopo._validation import check_distance_matrix, check_finite_array, check_points
from nntopo.landscapes.normalize import max_pairwise_distance, normalize_local, normalize_plain, pairwise_distances


# ------------------------------------------------------------------------------ plain
def test_plain_centers_and_scales_to_diameter_one():
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(300, 7)).astype(np.float32)
    Y = normalize_plain(X)
    assert Y.dtype == np.float64 and Y.shape == X.shape
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=1e-12)
    assert abs(pdist(Y).max() - 1.0) < 1e-12


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 4)), elements=st.floats(-1e3, 1e3)),
    st.floats(1e-3, 1e3),
    st.floats(-100, 100),
)
def test_plain_is_invariant_under_translation_and_scaling(X, scale, shift):
    Y = normalize_plain(X)
    assert np.all(np.isfinite(Y))
    if pdist(X).max() < 1e-6:  # (numerically) one point: nothing to compare
        return
    np.testing.assert_allclose(normalize_plain(scale * X + shift), Y, atol=1e-8)
    assert abs(pdist(Y).max() - 1.0) < 1e-12


@pytest.mark.parametrize("X", [np.ones((1, 3)), np.full((50, 4), 2.5), np.zeros((3, 1))])
def test_plain_degenerate_clouds_give_zeros_not_nan(X):
    Y = normalize_plain(X)
    assert Y.shape == X.shape and Y.dtype == np.float64
    assert np.all(Y == 0.0)


def test_max_pairwise_distance_matches_pdist_blockwise():
    X = np.random.default_rng(3).normal(size=(2500, 3))  # several row blocks
    assert max_pairwise_distance(X) == pdist(X).max()
    assert max_pairwise_distance(X[:1]) == 0.0


# ------------------------------------------------------------------------------ local
def test_local_rule_on_a_hand_made_example_even_n():
    # ends_in_relu=True: no centering. Norms 0.5, 1, 3, 4 -> median (1 + 3) / 2 = 2.
    # Scaled by 1/2: (0.25, 0), (0, 0.5), (1.5, 0) -> (1, 0), (0, -2) -> (0, -1).
    # Norms >= 2 (points 2 and 3) are identified: D[2, 3] = 0.
    X = np.array([[0.5, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, -4.0]])
    expected = np.array(
        [
            [0.0, np.sqrt(0.3125), 0.75, np.sqrt(1.0625)],
            [np.sqrt(0.3125), 0.0, np.sqrt(1.25), 1.5],
            [0.75, np.sqrt(1.25), 0.0, 0.0],
            [np.sqrt(1.0625), 1.5, 0.0, 0.0],
        ]
    )
    D = normalize_local(X, ends_in_relu=True)
    assert D.dtype == np.float64 and D.shape == (4, 4)
    np.testing.assert_allclose(D, expected, rtol=0, atol=1e-15)


def test_local_rule_on_a_hand_made_example_odd_n_with_the_median_point():
    # 1-D values 1, -2, 3, 4, -5: median norm 3, scaled 1/3, -2/3, 1, 4/3 -> 1, -5/3 -> -1.
    # Far set (norm >= 3): points 2, 3, 4 (the median point itself included).
    X = np.array([[1.0], [-2.0], [3.0], [4.0], [-5.0]])
    y = np.array([1 / 3, -2 / 3, 1.0, 1.0, -1.0])
    expected = np.abs(y[:, None] - y[None, :])
    expected[np.ix_([2, 3, 4], [2, 3, 4])] = 0.0
    np.testing.assert_allclose(normalize_local(X, ends_in_relu=True), expected, rtol=0, atol=1e-15)


def test_local_centers_only_when_the_layer_does_not_end_in_relu():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    shift = np.array([10.0, -3.0, 2.0])
    np.testing.assert_allclose(
        normalize_local(X + shift, ends_in_relu=False), normalize_local(X, ends_in_relu=False), atol=1e-12
    )
    assert not np.allclose(normalize_local(X + shift, ends_in_relu=True), normalize_local(X, ends_in_relu=True))


def test_local_matrix_is_a_valid_distance_matrix_and_half_is_identified():
    X = np.abs(np.random.default_rng(2).normal(size=(101, 5)))
    D = normalize_local(X, ends_in_relu=True)
    assert np.array_equal(D, D.T) and np.all(np.diagonal(D) == 0) and np.all(D >= 0)
    norms = np.linalg.norm(X, axis=1)
    far = norms >= np.median(norms)
    assert far.sum() == 51
    assert np.all(D[np.ix_(far, far)] == 0)
    # Everything was moved into the closed unit ball: no distance exceeds 2.
    assert D.max() <= 2.0 + 1e-12
    check_distance_matrix(D, "D")


@pytest.mark.parametrize(
    "X",
    [np.zeros((1, 3)), np.zeros((10, 2)), np.vstack([np.zeros((6, 2)), np.ones((5, 2))]), np.ones((7, 3))],
)
def test_local_degenerate_inputs_are_valid(X):
    D = normalize_local(X, ends_in_relu=True)
    assert D.shape == (len(X), len(X)) and np.all(np.isfinite(D))
    check_distance_matrix(D, "D")


def test_local_median_zero_identifies_everything():
    # More than half of a ReLU layer's vectors at the origin: median norm 0, so every
    # point has norm >= the median and every distance is set to 0.
    X = np.vstack([np.zeros((6, 2)), np.ones((5, 2))])
    assert np.all(normalize_local(X, ends_in_relu=True) == 0.0)


def test_local_needs_a_bool():
    with pytest.raises(TypeError, match="ends_in_relu"):
        normalize_local(np.ones((3, 2)), ends_in_relu="yes")


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [normalize_plain, lambda X: normalize_local(X, True)])
@pytest.mark.parametrize(
    "X, exc",
    [
        (np.array([[0.0, np.nan], [1.0, 1.0]]), ValueError),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), ValueError),
        (np.ones(5), ValueError),
        (np.ones((2, 2, 2)), ValueError),
        (np.empty((0, 3)), ValueError),
        (np.empty((3, 0)), ValueError),
        (np.array([["a", "b"]]), TypeError),
        (None, TypeError),
    ],
)
def test_bad_points_name_the_argument(fn, X, exc):
    with pytest.raises(exc, match="X"):
        fn(X)


def test_check_helpers():
    assert check_points([[1, 2], [3, 4]], "pts").dtype == np.float64
    with pytest.raises(ValueError, match="pts"):
        check_points([[1, 2], [3, np.nan]], "pts")
    with pytest.raises(ValueError, match="arr"):
        check_finite_array(np.ones((2, 2)), "arr", ndim=1)
    D = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.array_equal(check_distance_matrix(D, "D"), D)
    for bad, msg in [
        (np.array([[0.0, 1.0], [2.0, 0.0]]), "symmetric"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), "negative"),
        (np.array([[1.0, 1.0], [1.0, 0.0]]), "diagonal"),
        (np.ones((2, 3)), "square"),
        (np.empty((0, 0)), "empty"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), "NaN"),
    ]:
        with pytest.raises(ValueError, match=msg):
            check_distance_matrix(bad, "my_matrix")
        with pytest.raises(ValueError, match="my_matrix"):
            check_distance_matrix(bad, "my_matrix")


# -------------------------------------------- extreme scales (issue 8, finding 2)

_CLOUD = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.3, 0.7], [-0.5, 1.1]])


@pytest.mark.parametrize("c", [1e-300, 1e-200, 2.0**-700, 1e200, 2.0**700, 1e300, 1e307])
def test_plain_at_any_scale_equals_plain_at_scale_one(c):
    # The probe's clouds: squared distances near 1e400 or 1e-400 left float64 and the
    # result was all zeros. normalize_plain is scale invariant.
    Y = normalize_plain(_CLOUD * c)
    np.testing.assert_allclose(Y, normalize_plain(_CLOUD), rtol=0, atol=1e-14)
    assert max_pairwise_distance(Y) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize(
    "X, diameter",
    [
        ([[0, 0], [1e200, 0], [0, 2e200]], math.sqrt(5) * 1e200),
        ([[0, 0], [1e-200, 0], [0, 2e-200]], math.sqrt(5) * 1e-200),
        ([[1e308, 0], [-1e308, 0], [0, 1e308]], math.inf),  # 2e308: beyond float64
        ([[1.5e308, 0], [0, 1.5e308]], math.sqrt(2) * 1.5e308),  # squares overflow, root fits
        ([[1.0, 0.0], [1.0, 1e-300]], 1e-300),  # tiny spread in a small coordinate
        ([[0.0, 0.0], [1e200, 1e-200], [3e-300, 0.0]], math.hypot(1e200, 1e-200)),  # mixed
    ],
)
def test_diameter_and_normalization_of_extreme_clouds(X, diameter):
    X = np.array(X, dtype=float)
    if math.isinf(diameter):
        assert max_pairwise_distance(X) == math.inf
    else:
        assert max_pairwise_distance(X) == pytest.approx(diameter, rel=1e-15)
    Y = normalize_plain(X)
    assert np.all(np.isfinite(Y))
    assert max_pairwise_distance(Y) == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=1e-15)


def _reference_distances(X):
    # math.dist scales internally (no overflow or underflow): an independent computation
    n = len(X)
    return np.array([[math.dist(X[i], X[j]) for j in range(n)] for i in range(n)])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 3)), elements=st.floats(-1, 1, width=32)),
    st.integers(-1070, 1020),
    st.sampled_from([0.0, 1.0, 1e10]),
)
def test_pairwise_distances_at_any_scale_match_math_dist(X, e, offset):
    # A cloud of size 2**e around an offset: pairs closer than 2**-500 times the
    # coordinates, whose squares underflow, are recomputed exactly.
    Z = offset + np.ldexp(X, e)
    D = pairwise_distances(Z)
    ref = _reference_distances(Z)
    np.testing.assert_allclose(D, ref, rtol=1e-14, atol=0)
    assert np.array_equal(D, D.T) and np.all(np.diagonal(D) == 0)


def test_tiny_gaps_among_ordinary_points_are_resolved():
    # pdist gives 0 for the first pair ((1e-200)^2 underflows): a wrong zero-length bar
    X = np.array([[0.0, 0.0], [1e-200, 0.0], [1.0, 0.0], [0.0, 3e-180], [2.0, 1.0]])
    D = pairwise_distances(X)
    assert D[0, 1] == 1e-200 and D[0, 3] == 3e-180
    np.testing.assert_allclose(D, _reference_distances(X), rtol=1e-15, atol=0)


@pytest.mark.parametrize("c", [1e-300, 1e-200, 1e200, 1e300])
def test_local_at_any_scale_equals_local_at_scale_one(c):
    rng = np.random.default_rng(4)
    X = np.abs(rng.normal(size=(40, 3)))
    for relu in (True, False):
        np.testing.assert_allclose(
            normalize_local(X * c, ends_in_relu=relu), normalize_local(X, ends_in_relu=relu), rtol=0, atol=1e-13
        )


def test_plain_is_bit_identical_to_the_direct_formula_at_ordinary_scales():
    # The rescaling only happens outside [2**-300, 2**300]: ordinary clouds get exactly
    # (X - mean) / pdist(X - mean).max(), as before.
    X = np.random.default_rng(5).normal(3.0, 2.0, size=(200, 6))
    Xc = X - X.mean(axis=0, keepdims=True)
    assert np.array_equal(normalize_plain(X), Xc / pdist(Xc).max())


# ----------------------------------------------- huge requests (issue 8, finding 3)


def test_distance_matrices_past_max_bytes_are_refused():
    X = np.random.default_rng(6).normal(size=(100, 3))
    with pytest.raises(ValueError, match="max_bytes"):
        pairwise_distances(X, max_bytes=1000)
    with pytest.raises(ValueError, match="max_bytes"):
        normalize_local(X, ends_in_relu=True, max_bytes=1000)
    assert pairwise_distances(X, max_bytes=10**6).shape == (100, 100)
