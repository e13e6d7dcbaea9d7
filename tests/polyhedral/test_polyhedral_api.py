"""Inputs accepted by polyhedral_complex, bad input, region_of (torch modules: test_polyhedral_torch,
save/load: test_polyhedral_io)."""

from __future__ import annotations

import numpy as np
import pytest

from nntopo.polyhedral import polyhedral_complex


def random_net(widths, seed):
    rng = np.random.default_rng(seed)
    pairs = []
    for i, o in zip(widths[:-1], widths[1:]):
        bound = 1.0 / np.sqrt(i)
        pairs.append((rng.uniform(-bound, bound, (o, i)), rng.uniform(-bound, bound, o)))
    return pairs


# --------------------------------------------------------------------------- inputs


def test_output_layer_never_cuts():
    pairs = random_net([2, 8, 3], 0)
    pc = polyhedral_complex(pairs)
    assert pc.n_hidden == 8 and pc.hidden_widths == [8]
    # A single Linear layer has no hidden neuron: the complex is the square.
    sq = polyhedral_complex(pairs[:1])
    assert sq.f_vector.tolist() == [4, 4, 1] and sq.n_hidden == 0
    assert sq.region_of(np.array([[0.0, 0.0], [2.0, 0.0]])).tolist() == [0, -1]


def test_object_with_weights_method():
    pairs = random_net([2, 6, 5, 1], 1)

    class Net:
        def weights(self):
            return pairs

    a = polyhedral_complex(Net())
    b = polyhedral_complex(pairs)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.region_signs, b.region_signs)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (None, TypeError, "net_or_weights"),
        ("weights", TypeError, "net_or_weights"),
        ([], ValueError, "non-empty"),
        ([(np.ones((3, 2)), np.ones(2))], ValueError, r"b must have shape \(3,\)"),
        ([(np.ones((3, 2)), np.ones(3)), (np.ones((1, 4)), np.ones(1))], ValueError, "input columns"),
        ([(np.ones(3), np.ones(3))], ValueError, "W must be"),
        ([(np.full((3, 2), np.nan), np.ones(3))], ValueError, "finite"),
        ([(np.ones((3, 2)), np.array([1, np.inf, 0]))], ValueError, "finite"),
        ([(np.ones((3, 2)),)], ValueError, "pair"),
        ([np.ones((3, 2))], TypeError, r"net_or_weights\[0\] must be a pair"),
        (np.ones((3, 2)), TypeError, "net_or_weights"),
        ([(np.array([["a", "b"]]), np.ones(1))], TypeError, r"net_or_weights\[0\]: W"),
        ([(np.ones((1, 2)) * 1j, np.ones(1))], TypeError, r"net_or_weights\[0\]: W.*complex"),
        ([(np.ones((1, 2)), np.array([None], dtype=object))], TypeError, r"net_or_weights\[0\]: b"),
        ([(np.ones((3, 2)), np.ones(3)), (np.ones((1, 3)), "b")], TypeError, r"net_or_weights\[1\]: b"),
        ([(np.ones((0, 2)), np.ones(0))], ValueError, r"net_or_weights\[0\]: W is empty"),
    ],
)
def test_bad_weights(bad, exc, match):
    with pytest.raises(exc, match=match):
        polyhedral_complex(bad)


def test_weights_method_result_is_validated():
    class Gen:
        def weights(self):
            return ((np.ones((2, 2)), np.ones(2)) for _ in range(2))

    with pytest.raises(TypeError, match=r"net_or_weights\.weights\(\) must be a list"):
        polyhedral_complex(Gen())


@pytest.mark.parametrize(
    "box, exc, match",
    [
        ((1.0, 1.0), ValueError, "box is empty"),
        ((np.array([0.0, 1.0]), np.array([1.0, 0.5])), ValueError, "box is empty"),
        ((0.0, np.nan), ValueError, "box: hi contains"),
        ((np.zeros(3), np.ones(3)), ValueError, r"box: lo must be a scalar or an array of shape \(2,\)"),
        ("square", TypeError, "box must be None or a pair"),
        ((0, "a"), TypeError, "box: hi"),
        ((0, 1, 2), ValueError, "box must be a pair"),
    ],
)
def test_bad_box(box, exc, match):
    with pytest.raises(exc, match=match):
        polyhedral_complex(random_net([2, 3, 1], 0), box=box)


@pytest.mark.parametrize(
    "tol, exc", [(-1.0, ValueError), (0.0, ValueError), (0.5, ValueError), (float("nan"), ValueError),
                 ("small", TypeError), (True, TypeError)]
)
def test_bad_tol(tol, exc):
    with pytest.raises(exc, match="tol"):
        polyhedral_complex(random_net([2, 3, 1], 0), tol=tol)


def test_box_forms():
    pairs = random_net([2, 10, 10, 1], 4)
    a = polyhedral_complex(pairs)
    b = polyhedral_complex(pairs, box=(-1, 1))
    c = polyhedral_complex(pairs, box=(np.array([-1.0, -1.0]), [1.0, 1.0]))
    for o in (b, c):
        np.testing.assert_array_equal(a.vertices, o.vertices)
    r = polyhedral_complex(pairs, box=([0.0, -3.0], [2.0, 0.5]))
    assert np.all(r.vertices.min(0) >= [0.0, -3.0]) and np.all(r.vertices.max(0) <= [2.0, 0.5])
    assert r.euler_characteristic() == 1
    P = np.random.default_rng(0).uniform([0.0, -3.0], [2.0, 0.5], (500, 2))
    np.testing.assert_array_equal(
        r.region_signs[r.region_of(P)], np.sign(r.pre_activations(P)).astype(np.int8)
    )


# --------------------------------------------------------------------------- queries, io


def test_region_of_outside_and_shapes():
    pc = polyhedral_complex(random_net([2, 10, 1], 2))
    out = pc.region_of(np.array([[0.0, 1.5], [-1.0001, 0], [np.nan, 0], [1.0, 1.0]]))
    assert out[:3].tolist() == [-1, -1, -1] and out[3] >= 0
    assert pc.region_of(np.zeros(2)).shape == (1,)
    with pytest.raises(ValueError, match="points"):
        pc.region_of(np.zeros((3, 3)))


def test_region_of_points_on_hyperplanes():
    pc = polyhedral_complex([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    r = pc.region_of(pc.vertices)
    assert np.all(r >= 0)
    # The centre lies on both lines: it is given the (+, +) region.
    c = pc.region_of(np.zeros((1, 2)))[0]
    assert pc.region_signs[c].tolist() == [1, 1]


def test_boundary_and_facets_api():
    pc = polyhedral_complex(random_net([3, 6, 4, 1], 5))
    for k in (1, 2, 3):
        B = pc.boundary(k)
        assert B.format == "csr" and B.dtype == np.uint8
        indptr, indices = pc.facets(k)
        assert indptr.shape == (pc.f_vector[k] + 1,)
        assert indices.max() < pc.f_vector[k - 1]
    assert pc.boundary(0).shape == (0, pc.f_vector[0])
    with pytest.raises(ValueError, match="k must"):
        pc.boundary(-1)
    with pytest.raises(ValueError, match="k must"):
        pc.signs(4)
    assert "PolyhedralComplex" in repr(pc)


def test_same_input_same_output():
    pairs = random_net([2, 20, 20, 1], 9)
    a, b = polyhedral_complex(pairs), polyhedral_complex(pairs)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    assert (a.boundary(2) != b.boundary(2)).nnz == 0


def test_inconsistent_cut_is_retried_with_finer_tolerance(monkeypatch, caplog):
    """The fallback: a cut whose vertex signs no affine function could have makes the
    build start again with a 1000x finer tol and a 1000x wider trust band."""
    from nntopo.polyhedral import _subdivision, complex as complex_mod

    real_build = _subdivision.build
    seen = []

    def flaky_build(weights, lo, hi, tol, trust):
        seen.append((tol, trust))
        if len(seen) == 1:
            raise _subdivision.DegenerateCutError("neuron 3: forced for the test")
        return real_build(weights, lo, hi, tol, trust)

    monkeypatch.setattr(complex_mod, "build", flaky_build)
    with caplog.at_level("WARNING", logger="nntopo"):
        pc = polyhedral_complex(random_net([2, 10, 10, 1], 3))
    assert seen == [(1e-15, 1e-10), (pytest.approx(1e-18), pytest.approx(1e-7))]
    assert pc.tol == pytest.approx(1e-18)
    assert "retrying" in caplog.text
    pc.check()

    def always_bad(weights, lo, hi, tol, trust):
        raise _subdivision.DegenerateCutError("forced")

    monkeypatch.setattr(complex_mod, "build", always_bad)
    with pytest.raises(complex_mod.DegenerateCutError, match="could not build"):
        polyhedral_complex(random_net([2, 3, 1], 0))


def test_check_levels_run_what_they_name(monkeypatch):
    """The network self-check runs with check="network" (which the suite's conftest makes
    the default for every test), not with "combinatorial" or "none"; any other value is
    refused naming ``check``."""
    from nntopo.polyhedral import ComplexCheckError, PolyhedralComplex

    net = [(np.array([[1.0, 0.5], [-0.3, 1.0]]), np.array([0.1, -0.2])), (np.ones((1, 2)), np.zeros(1))]

    def fail(self):
        raise ComplexCheckError("network check ran")

    monkeypatch.setattr(PolyhedralComplex, "_check_region_signs", fail)
    with pytest.raises(ComplexCheckError, match="network check ran"):
        polyhedral_complex(net)  # the suite's default
    with pytest.raises(ComplexCheckError, match="network check ran"):
        polyhedral_complex(net, check="network")
    assert polyhedral_complex(net, check="combinatorial").f_vector[-1] == 4
    assert polyhedral_complex(net, check="none").f_vector[-1] == 4
    with pytest.raises(TypeError, match="check"):
        polyhedral_complex(net, check=True)
    with pytest.raises(ValueError, match="check"):
        polyhedral_complex(net, check="full")
