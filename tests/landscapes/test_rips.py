"""Vietoris-Rips persistence: backends, the certified-threshold fast path, local homology."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist, squareform

from nntopo.landscapes.normalize import normalize_local, normalize_plain
from nntopo.landscapes import rips as rips_module
from nntopo.landscapes.rips import certified_threshold, layer_diagrams, rips_persistence, rips_persistence_with_info


@pytest.fixture(autouse=True, scope="module")
def _always_fast_path():
    # The clouds here are small enough to run whole at once (_DIRECT_SIMPLICES); the
    # fast path is what these tests check, so it is forced on.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rips_module, "_DIRECT_SIMPLICES", 0.0)
        yield


def _same(a, b, atol=0.0):
    """Diagram lists equal: same shapes, infinities in the same places, values to atol."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape, (x, y)
        assert np.array_equal(np.isinf(x), np.isinf(y))
        f = np.isfinite(x)
        assert np.all(np.abs(x[f] - y[f]) <= atol), np.abs(x[f] - y[f]).max()
    return True


def _with_info(*args, **kwargs):
    res = rips_persistence_with_info(*args, **kwargs)
    return res.diagrams, res.info


def _circle(n, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    return np.column_stack([np.cos(t), np.sin(t)]) + noise * rng.normal(size=(n, 2))


# ------------------------------------------------------------------------- basics
def test_output_format():
    dgms = rips_persistence(_circle(50), maxdim=2)
    assert len(dgms) == 3
    for d in dgms:
        assert d.dtype == np.float64 and d.ndim == 2 and d.shape[1] == 2
        assert np.all(d[:, 1] > d[:, 0])  # no zero-length bars
        order = np.lexsort((d[:, 1], d[:, 0]))
        assert np.array_equal(order, np.arange(len(d)))
    assert np.isinf(dgms[0][:, 1]).sum() == 1
    assert len(dgms[0]) == 50 and np.all(dgms[0][:, 0] == 0)


def test_circle_has_one_dominant_h1_bar():
    X = normalize_plain(_circle(200, noise=0.02, seed=1))
    for backend in ("gudhi", "giotto"):
        h1 = rips_persistence(X, maxdim=1, backend=backend)[1]
        pers = np.sort(h1[:, 1] - h1[:, 0])[::-1]
        assert pers[0] > 0.5, backend  # death ~ sqrt(3) r = sqrt(3)/2 in diameter-1 units
        assert len(pers) == 1 or pers[0] > 10 * pers[1], backend


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_clouds(n):
    X = np.arange(n, dtype=float)[:, None]
    dgms = rips_persistence(X, maxdim=2)
    assert dgms[0].shape == (n, 2) and np.isinf(dgms[0][:, 1]).sum() == 1
    assert dgms[1].shape == (0, 2) and dgms[2].shape == (0, 2)


def test_identical_points_and_duplicates():
    X = np.ones((10, 3))
    dgms = rips_persistence(X)
    assert dgms[0].tolist() == [[0.0, np.inf]] and dgms[1].shape == (0, 2)
    # Duplicates only add zero-length H0 bars, which are never reported.
    Y = _circle(40)
    Z = np.vstack([Y, Y[:15]])
    _same(rips_persistence(Z), rips_persistence(Y))
    _same(rips_persistence(Z, deduplicate=False), rips_persistence(Y))
    D = squareform(pdist(Z))
    _same(rips_persistence(distance_matrix=D), rips_persistence(Y))


def test_explicit_threshold_truncates():
    X = normalize_plain(_circle(100, seed=2))
    full = rips_persistence(X)
    cut = rips_persistence(X, threshold=0.3)
    h1 = full[1]
    assert h1[0, 1] > 0.3
    # The bar alive at the threshold becomes infinite; bars that died before are kept.
    assert np.isinf(cut[1][:, 1]).sum() == 1
    assert np.isinf(cut[0][:, 1]).sum() == 1
    _same([full[0]], [cut[0]])


# ----------------------------------------------------- certified threshold fast path
def test_naive_threshold_rule_is_not_exact_and_the_certificate_catches_it():
    # An arc with a gap g: at tau < g it is a path (one component, no cycle), so the
    # rule "one infinite H0 bar and no infinite H1 bar => done" would stop there and
    # miss the H1 bar born at g. The RNG birth bound makes the fast path go further.
    t = np.linspace(0, 1.6 * np.pi, 60)
    X = np.column_stack([np.cos(t), np.sin(t)])
    full = rips_persistence(X, fast_path=False)
    g = np.linalg.norm(X[0] - X[-1])
    assert full[1].shape == (1, 2) and abs(full[1][0, 0] - g) < 1e-12
    cut = rips_persistence(X, threshold=0.5 * g)
    assert np.isinf(cut[0][:, 1]).sum() == 1 and cut[1].shape == (0, 2)  # naive rule: "done"
    t_birth, t_connect, r_cone = certified_threshold(squareform(pdist(X)))
    assert t_birth == g and t_connect < g < r_cone
    fast, info = _with_info(X)
    _same(fast, full)
    assert all(tau >= g for tau in info["taus"])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(4, 45), st.integers(1, 4)), elements=st.floats(-10, 10, width=16)),
)
def test_fast_path_equals_full_computation_on_random_clouds(X):
    full = rips_persistence(X, fast_path=False, backend="gudhi")
    fast = rips_persistence(X, backend="gudhi")
    _same(fast, full, atol=1e-12)
    # The lemma: every H1 bar is born at or before the certified bound.
    if len(full[1]):
        t_birth = certified_threshold(squareform(pdist(np.unique(X, axis=0))))[0]
        assert full[1][:, 0].max() <= t_birth


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 30), st.integers(0, 2**32 - 1), st.sampled_from([8, 64, 1 << 20]))
def test_backends_and_paths_agree_on_random_distance_matrices(n, seed, levels):
    # Entries k / levels are float32 numbers, so giotto-ph (float32 inside) is exact
    # too; few levels give many ties, which must not change the diagrams.
    rng = np.random.default_rng(seed)
    A = rng.integers(1, levels + 1, size=(n, n)) / levels
    D = np.triu(A, 1)
    D = D + D.T
    ref = rips_persistence(distance_matrix=D, backend="gudhi", fast_path=False)
    for backend in ("gudhi", "giotto"):
        for fast in (False, True):
            _same(rips_persistence(distance_matrix=D, backend=backend, fast_path=fast), ref, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_giotto_agrees_with_gudhi_on_point_clouds_to_float32(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 3))
    a = rips_persistence(X, backend="gudhi")
    b = rips_persistence(X, backend="giotto")
    assert all(x.shape == y.shape for x, y in zip(a, b))
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    # On float32-rounded distances the two are identical.
    D = squareform(pdist(X)).astype(np.float32).astype(np.float64)
    _same(rips_persistence(distance_matrix=D, backend="giotto"), rips_persistence(distance_matrix=D), atol=1e-12)


def test_edge_collapse_gives_the_same_diagrams():
    X = normalize_plain(_circle(120, noise=0.05, seed=4))
    ref = rips_persistence(X, fast_path=False)
    for backend in ("gudhi", "giotto"):
        _same(rips_persistence(X, backend=backend, collapse=True), ref, atol=1e-6)


def test_fast_path_on_clustered_data():
    # Two far clusters: the longest MST edge is long, the certificate must still hold.
    X = np.vstack([_circle(60, 0.02, 1), _circle(60, 0.02, 2) + [10.0, 0.0]])
    fast, info = _with_info(normalize_plain(X))
    assert info["path"] in ("certified", "full")
    _same(fast, rips_persistence(normalize_plain(X), fast_path=False), atol=1e-12)
    pers = np.sort(fast[1][:, 1] - fast[1][:, 0])[::-1]
    assert len(pers) >= 2 and pers[1] > 10 * (pers[2] if len(pers) > 2 else 0)


def test_maxdim_two_uses_the_full_filtration():
    X = np.random.default_rng(6).normal(size=(40, 3))
    dgms, info = _with_info(X, maxdim=2)
    assert info["path"] == "direct"
    _same(dgms, rips_persistence(X, maxdim=2, backend="giotto"), atol=1e-6)


# ------------------------------------------------------------------ nine-disk data
def test_nine_disk_class_2_has_nine_long_h1_bars():
    from nntopo.data import nine_disks, sublattice

    ds = sublattice(nine_disks(), every=3)
    X = ds.X[ds.y == 1]  # class 1 here is the paper's C2: the disk minus the 9 disks
    h1 = rips_persistence(normalize_plain(X), maxdim=1)[1]
    pers = np.sort(h1[:, 1] - h1[:, 0])[::-1]
    assert len(pers) > 9
    assert pers[8] > 10 * pers[9], pers[:12]


# ------------------------------------------------------------------ local homology
@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_local_homology_of_k_rays_is_k_minus_1_circles(k):
    # The origin plus k orthogonal rays, points t * e_j for t = 0.05, 0.10, ..., 2.00.
    # n = 40k + 1 norms: the median (index 20k of the sorted norms) is t = 1, so no
    # scaling; the points with t >= 1 are moved to e_j and all identified (distance 0).
    # At r = 0.05 the origin, the k segments [0.05, 0.95] e_j and the identified far
    # cluster form k paths between two vertices: a wedge of k - 1 circles, born at 0.05.
    # At r = 1 the origin is within 1 of every point (|t e_j| < 1, |e_j| = 1), a cone
    # apex, so every class dies at 1. Hence H1 = k - 1 bars [0.05, 1].
    t = 0.05 * np.arange(1, 41)
    X = np.vstack([np.zeros((1, k))] + [np.outer(t, np.eye(k)[j]) for j in range(k)])
    D = normalize_local(X, ends_in_relu=True)
    for backend in ("gudhi", "giotto"):
        h1 = rips_persistence(distance_matrix=D, maxdim=1, backend=backend)[1]
        assert h1.shape == (k - 1, 2), h1
        np.testing.assert_allclose(h1, np.tile([0.05, 1.0], (k - 1, 1)), atol=1e-6 if backend == "giotto" else 1e-12)
    # Plain homology of the same rays: a contractible star, no H1 at all.
    assert rips_persistence(normalize_plain(X), maxdim=1)[1].shape == (0, 2)


@pytest.mark.parametrize("seed", range(3))
def test_fast_path_on_local_homology_matrices(seed):
    # Half the points are identified (distance 0): many zero-length edges, ties.
    rng = np.random.default_rng(seed)
    X = np.abs(rng.normal(size=(150, 3))) * rng.uniform(0.2, 2.0, size=(150, 1))
    for relu in (True, False):
        D = normalize_local(X, ends_in_relu=relu)
        _same(rips_persistence(distance_matrix=D), rips_persistence(distance_matrix=D, fast_path=False))


def test_layer_diagrams_plain_and_local():
    rng = np.random.default_rng(7)
    acts = {
        "input": _circle(60, 0.01, 3),
        "relu1": np.abs(rng.normal(size=(60, 4))),
        "output": rng.normal(size=(60, 2)),
    }
    plain = layer_diagrams(acts, homology="plain", maxdim=1)
    assert list(plain) == ["input", "relu1", "output"]
    _same(plain["input"], rips_persistence(normalize_plain(acts["input"])))
    local = layer_diagrams(acts, homology="local", maxdim=1)
    _same(local["relu1"], rips_persistence(distance_matrix=normalize_local(acts["relu1"], True)))
    _same(local["output"], rips_persistence(distance_matrix=normalize_local(acts["output"], False)))
    with pytest.raises(ValueError, match="homology"):
        layer_diagrams(acts, homology="global")
    with pytest.raises(ValueError, match="relu_layers"):
        layer_diagrams(acts, homology="local", relu_layers=["nope"])


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"X": np.array([[0.0, np.nan], [1.0, 2.0]])}, ValueError, "X"),
        ({"X": np.array([[0.0, np.inf], [1.0, 2.0]])}, ValueError, "X"),
        ({"X": np.ones(4)}, ValueError, "X"),
        ({"X": np.empty((0, 2))}, ValueError, "X"),
        ({"distance_matrix": np.array([[0.0, 1.0], [2.0, 0.0]])}, ValueError, "distance_matrix"),
        ({"distance_matrix": np.array([[0.0, -1.0], [-1.0, 0.0]])}, ValueError, "distance_matrix"),
        ({"distance_matrix": np.ones((2, 3))}, ValueError, "distance_matrix"),
        ({"distance_matrix": np.empty((0, 0))}, ValueError, "distance_matrix"),
        ({"distance_matrix": np.array([[0.0, np.nan], [np.nan, 0.0]])}, ValueError, "distance_matrix"),
        ({}, ValueError, "exactly one"),
        ({"X": np.ones((3, 2)), "distance_matrix": np.zeros((3, 3))}, ValueError, "exactly one"),
        ({"X": np.ones((3, 2)), "backend": "ripser"}, ValueError, "backend"),
        ({"X": np.ones((3, 2)), "maxdim": -1}, ValueError, "maxdim"),
        ({"X": np.ones((3, 2)), "maxdim": 1.5}, TypeError, "maxdim"),
        ({"X": np.ones((3, 2)), "threshold": -0.1}, ValueError, "threshold"),
        ({"X": np.ones((3, 2)), "threshold": "big"}, TypeError, "threshold"),
        ({"X": np.ones((3, 2)), "tau0": 0.0}, ValueError, "tau0"),
        ({"X": np.ones((3, 2)), "n_threads": 0}, ValueError, "n_threads"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rips_persistence(**kwargs)


@pytest.mark.slow
def test_fast_path_on_a_larger_lattice_and_gaussian_cloud():
    from nntopo.data import nine_disks, sublattice

    ds = sublattice(nine_disks(), every=2)
    for X, expect in ((ds.X, "certified"), (np.random.default_rng(8).normal(size=(700, 6)), None)):
        X = normalize_plain(X)
        fast, info = _with_info(X)
        # In R^6 the birth bound already holds more than half the edges: the whole
        # filtration is the cheaper exact choice there.
        assert info["path"] == (expect or "full")
        _same(fast, rips_persistence(X, fast_path=False), atol=1e-12)


# ---------------------------------------------- the fast path is taken (finding 8a)
def test_fast_path_is_taken_and_exact_on_a_moderate_cloud():
    # Fails if the certified truncation is never used (or never succeeds): the fast path
    # must stop at a truncation below the cone radius with the full diagram.
    X = normalize_plain(np.random.default_rng(9).normal(size=(500, 3)))
    res = rips_persistence_with_info(X)
    assert res.info["path"] == "certified"
    assert len(res.info["taus"]) >= 1 and all(np.isfinite(res.info["taus"]))
    assert res.info["taus"][-1] < res.info["r_cone"]
    _same(res.diagrams, rips_persistence(X, fast_path=False), atol=1e-12)
    assert rips_persistence_with_info(X, fast_path=False).info["path"] == "direct"


# ------------------------------------------ one return type (issue 8, finding 6)
def test_rips_persistence_returns_diagrams_only_and_the_info_variant_a_result():
    from nntopo.landscapes import RipsResult

    X = _circle(30)
    dgms = rips_persistence(X)
    assert isinstance(dgms, list) and all(isinstance(d, np.ndarray) for d in dgms)
    res = rips_persistence_with_info(X)
    assert isinstance(res, RipsResult)
    _same(res.diagrams, dgms)
    assert {"path", "backend", "n_points", "n_unique", "taus", "t_total", "scale_exponent"} <= set(res.info)
    with pytest.raises(TypeError):
        rips_persistence(X, return_info=True)


# ---------------------------------------------- extreme scales (issue 8, finding 2)
_LINE5 = 1 + np.arange(5.0)[:, None] * np.array([[1.0, 0.5]])  # the probe's 5 points near 1


@pytest.mark.parametrize("e", [-1000, -664, -400, 0, 400, 664, 1000])
@pytest.mark.parametrize("backend", ["gudhi", "giotto"])
def test_rips_is_scale_equivariant_at_any_scale(e, backend):
    # Persistence scales with the input: bars of X * 2**e are 2**e times those of X,
    # exactly (the scaling is by a power of two). 2**664 ~ 1e200: pdist's squares
    # used to overflow and every H0 bar came out infinite.
    X = np.vstack([_LINE5, _circle(40, 0.01, 3) + 3.0])
    ref = rips_persistence(X, backend=backend)
    got = rips_persistence(np.ldexp(X, e), backend=backend)
    assert [len(d) for d in got] == [len(d) for d in ref]
    assert np.isinf(got[0][:, 1]).sum() == 1
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, np.ldexp(b, e))


@pytest.mark.parametrize("c", [1e-300, 1e-200, 1e200, 1e300])
def test_rips_of_distance_matrices_at_any_scale(c):
    D = squareform(pdist(_circle(30, 0.02, 4)))
    ref = rips_persistence(distance_matrix=D)
    got = rips_persistence(distance_matrix=D * c)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b * c, rtol=1e-14)
    # and giotto-ph (float32 inside, range 1e-38..3e38) too
    got = rips_persistence(distance_matrix=D * c, backend="giotto")
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b * c, rtol=1e-6)


def test_rips_of_the_probe_clouds():
    pts = 1e200 * _LINE5
    dgms = rips_persistence(pts)
    assert np.isinf(dgms[0][:, 1]).sum() == 1 and len(dgms[0]) == 5
    np.testing.assert_allclose(dgms[0][:4, 1], math.hypot(1.0, 0.5) * 1e200, rtol=1e-15)
    # finite 1e308 coordinates with distances that fit float64: the right answer
    dgms = rips_persistence([[1e308, 0.0], [0.0, 1e308], [-1e308, 0.0]])
    np.testing.assert_allclose(dgms[0][:2, 1], math.sqrt(2) * 1e308, rtol=1e-15)
    # a bar that ends beyond 1.8e308 cannot be reported: a clear error, not inf
    with pytest.raises(ValueError, match="X.*float64"):
        rips_persistence([[1e308, 0.0], [-1e308, 0.0]])


# ------------------------------------------------ huge requests (issue 8, finding 3)
def test_rips_past_max_bytes_is_refused_before_the_matrix():
    X = np.random.default_rng(10).normal(size=(200, 2))
    with pytest.raises(ValueError, match="max_bytes"):
        rips_persistence(X, max_bytes=10_000)
    with pytest.raises(ValueError, match="max_bytes"):
        rips_persistence(distance_matrix=squareform(pdist(X)), max_bytes=10_000)
    with pytest.raises(ValueError, match="max_bytes"):
        layer_diagrams({"a": X}, max_bytes=10_000)
    assert len(rips_persistence(X, max_bytes=10**7)) == 2


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"fast_path": "yes"}, TypeError, "fast_path"),
        ({"deduplicate": 1}, TypeError, "deduplicate"),
        ({"collapse": None}, TypeError, "collapse"),
        ({"threshold": np.nan}, ValueError, "threshold"),
        ({"tau0": np.inf}, ValueError, "tau0"),
        ({"tau0": "0.1"}, TypeError, "tau0"),
        ({"backend": 3}, TypeError, "backend"),
    ],
)
def test_bad_flags(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rips_persistence(np.ones((3, 2)), **kwargs)
