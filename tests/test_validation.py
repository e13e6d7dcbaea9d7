"""The shared validation layer: one TypeError/ValueError rule, messages naming the argument."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nntopo._validation import (
    as_generator,
    check_allocation,
    check_array,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_labels,
    check_points,
    check_real,
    check_seed,
    seed_to_int,
)


@pytest.mark.parametrize("bad", [3.0, True, np.bool_(True), "3", None, 2.5, [3]])
def test_check_int_refuses_other_kinds(bad):
    with pytest.raises(TypeError, match="widths"):
        check_int(bad, "widths")


def test_check_int_range_and_numpy_ints():
    assert check_int(np.int32(4), "n", minimum=1) == 4
    assert type(check_int(np.int64(4), "n")) is int
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match="n must be <= 5"):
        check_int(6, "n", maximum=5)


@pytest.mark.parametrize("bad", ["x", None, True, 1j, [0.1]])
def test_check_real_refuses_other_kinds(bad):
    with pytest.raises(TypeError, match="lr"):
        check_real(bad, "lr")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 10**400])
def test_check_real_refuses_non_finite(bad):
    with pytest.raises(ValueError, match="lr"):
        check_real(bad, "lr")


def test_check_real_range_and_kinds():
    assert check_real(Fraction(1, 4), "x") == 0.25
    assert check_real(np.float32(0.5), "x") == 0.5
    assert check_real(float("inf"), "x", finite=False) == float("inf")
    with pytest.raises(ValueError, match="> 0"):
        check_real(0.0, "x", minimum=0.0, min_inclusive=False)
    with pytest.raises(ValueError, match="<= 1"):
        check_real(1.5, "x", maximum=1.0)


def test_check_fraction():
    assert check_fraction(0.1, "p") == 0.1
    for bad in (0.0, 1.0, -0.1, 1.1):
        with pytest.raises(ValueError, match="p"):
            check_fraction(bad, "p")
    assert check_fraction(0.0, "p", closed=True) == 0.0


def test_check_bool_and_choice():
    assert check_bool(np.bool_(False), "quiet") is False
    with pytest.raises(TypeError, match="quiet"):
        check_bool(1, "quiet")
    assert check_choice("plain", "homology", ("plain", "local")) == "plain"
    with pytest.raises(ValueError, match="homology must be one of 'plain', 'local'"):
        check_choice("Plain", "homology", ("plain", "local"))
    with pytest.raises(TypeError, match="homology"):
        check_choice(None, "homology", ("plain", "local"))


def test_seeds():
    assert check_seed(None) is None
    g = np.random.default_rng(1)
    assert check_seed(g) is g
    assert as_generator(g) is g
    assert check_seed(np.int64(3)) == 3
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert seed_to_int(7) == 7
    assert seed_to_int(np.random.default_rng(0)) == seed_to_int(np.random.default_rng(0))
    with pytest.raises(ValueError, match="seed"):
        check_seed(-1)
    for bad in (1.5, "0", True, np.random.RandomState(0)):
        with pytest.raises(TypeError, match="random_seed"):
            check_seed(bad, "random_seed")


def test_check_array_cast_overflow_is_refused():
    with pytest.raises(ValueError, match="X has values too large for float32"):
        check_array([[1e39, 0.0]], "X", dtype=np.float32)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_array([np.nan], "X")


@pytest.mark.parametrize(
    "bad", [["a", "b"], np.array([1 + 2j]), np.array([object()]), None, "abc", [[1, 2], [3]]]
)
def test_check_array_kinds(bad):
    with pytest.raises(TypeError, match="X"):
        check_array(bad, "X")


def test_check_array_shape_and_empty():
    out = check_array([[1, 2]], "X", shape=(None, 2))
    assert out.dtype == np.float64 and out.flags.c_contiguous
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\)"):
        check_array([[1, 2]], "X", shape=(None, 3))
    with pytest.raises(ValueError, match="X is empty"):
        check_array(np.zeros((0, 2)), "X")
    with pytest.raises(ValueError, match="whole numbers"):
        check_array([0.5], "idx", dtype=np.int64)


def test_check_points_extreme_but_finite():
    X = check_points([[1e308, 0.0], [0.0, -1e308]])
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize(
    "y, match",
    [
        ([0.5, 1.7], "whole-number"),
        ([np.nan, 1], "NaN"),
        ([-100, 1], ">= 0"),
        ([0, 5], "only 2 classes"),
        ([[0, 1]], "1-D"),
    ],
)
def test_check_labels_refuses(y, match):
    with pytest.raises(ValueError, match=match):
        check_labels(y, "y", n_classes=2)


def test_check_labels_accepts_whole_floats_and_ints():
    assert check_labels([0.0, 1.0], "y").tolist() == [0, 1]
    assert check_labels(np.array([2, 0], dtype=np.uint8), "y", n=2).dtype == np.int64
    with pytest.raises(TypeError):
        check_labels([True, False], "y")
    with pytest.raises(ValueError, match="3 labels"):
        check_labels([0, 1], "y", n=3)


def test_check_allocation():
    check_allocation(1e6, "a grid", max_bytes=1e7)
    with pytest.raises(ValueError, match=r"a grid would need about .* max_bytes"):
        check_allocation(1e12, "a grid")


def test_check_array_keeps_scalars_scalar_and_names_1d_shapes():
    assert check_array(3.5, "tol").shape == ()
    with pytest.raises(ValueError, match=r"\(6,\)"):
        check_array([1.0, 2.0], "b", shape=(6,))


def test_check_labels_message_shows_the_plain_number():
    with pytest.raises(ValueError, match=r"found 0\.5$"):
        check_labels([0.5, 1.0], "y")
