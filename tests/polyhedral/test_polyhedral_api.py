"""Inputs accepted by polyhedral_complex, bad input, region_of, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from nntopo.polyhedral import PolyhedralComplex, as_weights, polyhedral_complex


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


def test_torch_sequential_and_mlp():
    torch = pytest.importorskip("torch")
    from torch import nn

    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(2, 7), nn.ReLU(), nn.Sequential(nn.Linear(7, 5), nn.ReLU()), nn.Linear(5, 1))
    pc = polyhedral_complex(seq)
    pairs = as_weights(seq)
    assert [W.shape for W, _ in pairs] == [(7, 2), (5, 7), (1, 5)]
    assert all(W.dtype == np.float64 for W, _ in pairs)
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    with torch.no_grad():
        y = seq(torch.as_tensor(x, dtype=torch.float64).to(torch.float32)).numpy()[:, 0]
    h = x
    for W, b in pairs[:-1]:
        h = np.maximum(h @ W.T + b, 0)
    np.testing.assert_allclose(h @ pairs[-1][0].T[:, 0] + pairs[-1][1][0], y, atol=1e-5)
    assert pc.euler_characteristic() == 1
    # A trailing ReLU after the output changes nothing; bias=False gives zero biases.
    seq2 = nn.Sequential(nn.Linear(2, 4, bias=False), nn.ReLU(), nn.Linear(4, 1), nn.ReLU())
    p2 = as_weights(seq2)
    assert np.all(p2[0][1] == 0) and len(p2) == 2

    mlp_mod = pytest.importorskip("nntopo.nets")
    net = mlp_mod.MLP([2, 9, 9, 1], seed=3)
    pc_mlp = polyhedral_complex(net)
    pc_seq = polyhedral_complex(nn.Sequential(*net.children()))
    np.testing.assert_array_equal(pc_mlp.f_vector, pc_seq.f_vector)


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)),
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(), nn.Linear(3, 1)),
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 1)),
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)),
        lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)),
        lambda nn: nn.Sequential(nn.ReLU()),
    ],
)
def test_torch_bad_modules_raise_type_error(make):
    pytest.importorskip("torch")
    from torch import nn

    with pytest.raises(TypeError, match="net_or_weights"):
        polyhedral_complex(make(nn))


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
    ],
)
def test_bad_weights(bad, exc, match):
    with pytest.raises(exc, match=match):
        polyhedral_complex(bad)


@pytest.mark.parametrize(
    "box, match",
    [
        ((1.0, 1.0), "empty"),
        ((np.array([0.0, 1.0]), np.array([1.0, 0.5])), "empty"),
        ((0.0, np.nan), "finite"),
        ((np.zeros(3), np.ones(3)), "box"),
        ("square", "box"),
        ((0, 1, 2), "box"),
    ],
)
def test_bad_box(box, match):
    with pytest.raises(ValueError, match=match):
        polyhedral_complex(random_net([2, 3, 1], 0), box=box)


@pytest.mark.parametrize("tol", [-1.0, 0.0, 0.5, "small"])
def test_bad_tol(tol):
    with pytest.raises(ValueError, match="tol"):
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


def test_save_load_roundtrip(tmp_path):
    pc = polyhedral_complex(random_net([3, 8, 6, 1], 6), box=(-2, 1))
    path = tmp_path / "pc.npz"
    pc.save(path)
    back = PolyhedralComplex.load(path)
    np.testing.assert_array_equal(back.f_vector, pc.f_vector)
    np.testing.assert_array_equal(back.vertices, pc.vertices)
    np.testing.assert_array_equal(back.lo, pc.lo)
    assert back.tol == pc.tol
    for k in range(4):
        np.testing.assert_array_equal(back.signs(k), pc.signs(k))
    for k in range(1, 4):
        assert (back.boundary(k) != pc.boundary(k)).nnz == 0
    P = np.random.default_rng(1).uniform(-2, 1, (200, 3))
    np.testing.assert_array_equal(back.region_of(P), pc.region_of(P))
    back.check()


def test_same_input_same_output():
    pairs = random_net([2, 20, 20, 1], 9)
    a, b = polyhedral_complex(pairs), polyhedral_complex(pairs)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    assert (a.boundary(2) != b.boundary(2)).nnz == 0


def test_inconsistent_cut_is_retried_with_coarser_tolerance(monkeypatch, caplog):
    """The perturbation fallback: a cut whose vertex signs no affine function could have
    (rounding near a degenerate position) makes the build start again with tol * 1e3."""
    from nntopo.polyhedral import _subdivision, complex as complex_mod

    real_build = _subdivision.build
    seen = []

    def flaky_build(weights, lo, hi, tol):
        seen.append(tol)
        if len(seen) == 1:
            raise _subdivision.DegenerateCutError("neuron 3: forced for the test")
        return real_build(weights, lo, hi, tol)

    monkeypatch.setattr(complex_mod, "build", flaky_build)
    with caplog.at_level("WARNING", logger="nntopo"):
        pc = polyhedral_complex(random_net([2, 10, 10, 1], 3))
    assert seen == [1e-10, pytest.approx(1e-7)]
    assert pc.tol == pytest.approx(1e-7)
    assert "retrying" in caplog.text
    pc.check()

    def always_bad(weights, lo, hi, tol):
        raise _subdivision.DegenerateCutError("forced")

    monkeypatch.setattr(complex_mod, "build", always_bad)
    with pytest.raises(complex_mod.DegenerateCutError, match="could not build"):
        polyhedral_complex(random_net([2, 3, 1], 0))
