"""Issue 9: the apex filtration for local homology, the size budget, and the
dense-vs-truncated decisions, each checked against the full computation by gudhi."""

from __future__ import annotations

import contextlib
import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist, squareform

from nntopo.landscapes import rips as rips_module
from nntopo.landscapes._apex import apex_diagrams, use_apex, zero_clique
from nntopo.landscapes.normalize import normalize_local, normalize_plain
from nntopo.landscapes.rips import layer_diagrams, rips_persistence, rips_persistence_with_info


def _clean(d):
    d = np.asarray(d, dtype=np.float64).reshape(-1, 2)
    d = d[d[:, 1] > d[:, 0]]
    return d[np.lexsort((d[:, 1], d[:, 0]))]


def _identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = _clean(x), _clean(y)
        assert x.shape == y.shape, (x, y)
        assert np.array_equal(x, y), (x, y)


def _full(D, maxdim=1):
    """The reference: gudhi on the whole filtration of D, no apex, no truncation."""
    return rips_persistence(distance_matrix=D, maxdim=maxdim, backend="gudhi", fast_path=False, apex=False)


@contextlib.contextmanager
def _forced(**values):
    """The module's decision constants set to ``values`` inside the block."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in values.items():
            mp.setattr(rips_module, k, v)
        yield


def _local_cloud(seed, n, d, ties):
    """A layer-like cloud; with ``ties`` the norms take a few values, so many points
    tie at the median (and the far set is decided by >=, not >)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if ties:
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        X *= rng.choice([0.25, 0.5, 1.0, 1.0, 1.0, 2.0], size=(n, 1))
    return X


# ---------------------------------------------------------------- the apex method
@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(6, 60),
    st.integers(1, 3),
    st.booleans(),
    st.booleans(),
)
def test_apex_equals_the_full_computation(seed, n, d, ties, relu):
    X = _local_cloud(seed, n, d, ties)
    if relu:
        X = np.abs(X)
    D = normalize_local(X, ends_in_relu=relu)
    far = zero_clique(D)
    ref = _full(D)
    if far.size >= 3:
        # the apex filtration itself, whole (no truncation, no certificate)
        _identical(apex_diagrams(D, far, 1), ref)
    with _forced(_DIRECT_SIMPLICES=0.0, _LANDMARKS=5):
        res = rips_persistence_with_info(distance_matrix=D)
    _identical(res.diagrams, ref)
    if use_apex(D.shape[0], zero_clique(rips_module._dedup_matrix(D)).size):
        assert res.info["backend"] == "apex"


@pytest.mark.parametrize("seed", range(4))
def test_apex_many_ties_at_the_median(seed):
    # A third of the norms equal the median itself (so the far set is decided by >=,
    # and moving points to the sphere is a no-op for them); rounded directions give
    # tied distances as well.
    rng = np.random.default_rng(seed)
    U = np.abs(np.round(rng.normal(size=(121, 3)), 1)) + 0.1
    X = U / np.linalg.norm(U, axis=1, keepdims=True) * rng.choice([0.5, 1.0, 1.0, 2.0], size=(121, 1))
    norms = np.linalg.norm(X, axis=1)
    assert np.sum(np.isclose(norms, np.median(norms))) >= 20
    D = normalize_local(X, ends_in_relu=True)
    with _forced(_DIRECT_SIMPLICES=0.0):
        res = rips_persistence_with_info(distance_matrix=D)
    assert res.info["backend"] == "apex"
    _identical(res.diagrams, _full(D))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_apex_on_k_rays_gives_k_minus_1_circles(k):
    # tests/landscapes/test_rips.py derives H1 = k - 1 bars [0.05, 1]; here by the apex.
    t = 0.05 * np.arange(1, 41)
    X = np.vstack([np.zeros((1, k))] + [np.outer(t, np.eye(k)[j]) for j in range(k)])
    D = normalize_local(X, ends_in_relu=True)
    # (rips_persistence drops the repeated far points first: k are left, no apex)
    h1 = _clean(apex_diagrams(D, zero_clique(D), 1)[1])
    np.testing.assert_allclose(h1, np.tile([0.05, 1.0], (k - 1, 1)), atol=1e-12)


def test_apex_truncated_is_the_full_diagram_cut_at_tau():
    X = _local_cloud(3, 80, 2, True)
    D = normalize_local(X, ends_in_relu=False)
    far = zero_clique(D)
    full = [_clean(d) for d in _full(D)]
    for tau in (0.05, 0.2, 0.5):
        cut = [_clean(d) for d in apex_diagrams(D, far, 1, tau)]
        for a, b in zip(cut, full):
            # bars that died by tau are kept, bars alive at tau become infinite,
            # bars born after tau are missing
            keep = b[b[:, 0] <= tau]
            expect = keep.copy()
            expect[expect[:, 1] > tau, 1] = np.inf
            expect = _clean(expect)
            assert np.array_equal(a, expect), (tau, a, expect)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(150, 300), st.integers(2, 3), st.booleans())
def test_apex_equals_the_full_computation_up_to_300_points(seed, n, d, ties):
    X = _local_cloud(seed, n, d, ties)
    D = normalize_local(X, ends_in_relu=False)
    res = rips_persistence_with_info(distance_matrix=D)
    assert res.info["backend"] == "apex"
    _identical(res.diagrams, _full(D))


def test_zero_clique_picks_the_largest_clique_component():
    rng = np.random.default_rng(0)
    D = squareform(pdist(rng.normal(size=(12, 2)))) + 1.0
    np.fill_diagonal(D, 0.0)
    big, small = [0, 1, 2, 3, 4], [5, 6, 7]
    for group in (big, small):
        D[np.ix_(group, group)] = 0.0
    assert zero_clique(D).tolist() == big
    # a zero component that is not a clique (a path 8 - 9 - 10) is not collapsed
    D[np.ix_(big, big)] = 1.0
    np.fill_diagonal(D, 0.0)
    D[8, 9] = D[9, 8] = D[9, 10] = D[10, 9] = 0.0
    assert zero_clique(D).tolist() == small
    assert not use_apex(12, 3) and use_apex(12, 6)


def test_apex_refuses_maxdim_two_and_rips_falls_back():
    D = normalize_local(_local_cloud(1, 30, 2, False), ends_in_relu=False)
    with pytest.raises(ValueError, match="maxdim"):
        apex_diagrams(D, zero_clique(D), 2)
    res = rips_persistence_with_info(distance_matrix=D, maxdim=2)
    assert res.info["backend"] != "apex"


def test_layer_diagrams_local_goes_through_the_apex():
    rng = np.random.default_rng(5)
    acts = {"input": rng.normal(size=(90, 3)), "relu1": np.abs(rng.normal(size=(90, 4))), "output": rng.normal(size=(90, 2))}
    got = layer_diagrams(acts, homology="local", maxdim=1)
    for name, relu in (("input", False), ("relu1", True), ("output", False)):
        _identical(got[name], _full(normalize_local(acts[name], ends_in_relu=relu)))


# ------------------------------------------------------------------ size budget
def test_size_budget_raises_before_running():
    X = normalize_plain(np.random.default_rng(2).normal(size=(200, 3)))
    with pytest.raises(ValueError, match=r"max_simplices: .* edges, up to .* triangles"):
        rips_persistence(X, max_simplices=1000)
    with pytest.raises(ValueError, match="max_simplices"):
        rips_persistence(X, maxdim=2, max_simplices=1e5, fast_path=False)
    D = normalize_local(np.random.default_rng(2).normal(size=(200, 3)), ends_in_relu=False)
    with pytest.raises(ValueError, match="max_simplices"):
        rips_persistence(distance_matrix=D, max_simplices=100)
    # a budget above the size runs and gives the same diagrams
    _identical(rips_persistence(X, max_simplices=1e12), rips_persistence(X, fast_path=False))
    with pytest.raises(ValueError, match="max_simplices"):
        rips_persistence(X, max_simplices=-1)
    with pytest.raises(TypeError, match="max_simplices"):
        rips_persistence(X, max_simplices="many")


def test_size_is_the_exact_edge_count_and_a_triangle_bound():
    X = np.random.default_rng(4).normal(size=(60, 2))
    D = squareform(pdist(X))
    tau = float(np.median(D))
    edges, tris, tets = (float(c[0]) for c in rips_module._sizes(D, [tau]))
    A = (D <= tau) & ~np.eye(60, dtype=bool)
    assert edges == A.sum() / 2
    n_tri = sum(
        1 for i in range(60) for j in range(i + 1, 60) if A[i, j] for k in range(j + 1, 60) if A[i, k] and A[j, k]
    )
    assert n_tri <= tris <= 3 * n_tri + A.sum() ** 2
    assert tets >= 0


def test_huge_runs_log_their_size_first(caplog):
    X = np.random.default_rng(3).normal(size=(50, 2))
    with _forced(_WARN_SIMPLICES=10.0), caplog.at_level(logging.WARNING, logger="nntopo"):
        rips_persistence(X)
    assert any("edges" in r.getMessage() and "triangles" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nntopo"):
        rips_persistence(X)
    assert not caplog.records


# ------------------------------------------------------- the decision is exact
@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(12, 80),
    st.integers(1, 5),
    st.sampled_from([0.0, 0.1, 0.5, 1.0, 10.0]),
    st.sampled_from([3, 6, 1000]),
    st.sampled_from([None, 0.01, 0.3]),
)
def test_decisions_never_change_a_diagram(seed, n, d, worth, landmarks, tau0):
    # Whatever the edge budget, the landmark count (prediction on or off) or the
    # caller's first threshold, the diagrams are the whole filtration's.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0, size=(1, d))
    if seed % 3 == 0:
        X = np.round(X, 1)  # ties
    ref = rips_persistence(X, fast_path=False)
    with _forced(_WORTH=worth, _LANDMARKS=landmarks, _DIRECT_SIMPLICES=0.0):
        res = rips_persistence_with_info(X, tau0=tau0)
    _identical(res.diagrams, ref)
    assert res.info["path"] in ("certified", "full", "direct")


def test_prediction_is_used_and_tau_safe_bounds_the_deaths():
    # A noisy circle: the H1 bar dies late (deaths decide); the subsample predicts it.
    rng = np.random.default_rng(6)
    t = rng.uniform(0, 2 * np.pi, 400)
    X = normalize_plain(np.column_stack([np.cos(t), np.sin(t)]) + 0.05 * rng.normal(size=(400, 2)))
    ref = rips_persistence(X, fast_path=False)
    with _forced(_LANDMARKS=60, _DIRECT_SIMPLICES=0.0):
        res = rips_persistence_with_info(X)
    # the hole dies where more than half the edges are in: straight to the whole
    # filtration, without the certificate
    assert res.info["path"] == "full" and "t_certificate" not in res.info and "d_subsample" in res.info
    _identical(res.diagrams, ref)
    with _forced(_LANDMARKS=60, _DIRECT_SIMPLICES=0.0, _WORTH=1.0):
        res = rips_persistence_with_info(X)
    _identical(res.diagrams, ref)
    info = res.info
    assert "d_subsample" in info and "tau_safe" in info
    # the proven bound: every finite death is below tau_safe
    assert ref[1][:, 1].max() <= info["tau_safe"]
    assert abs(info["d_subsample"] - ref[1][:, 1].max()) <= 2 * info["eps_subsample"] + 1e-12


def test_maxdim_zero_is_the_minimum_spanning_tree():
    X = np.random.default_rng(8).normal(size=(70, 3))
    res = rips_persistence_with_info(X, maxdim=0)
    assert res.info["path"] == "mst"
    _identical(res.diagrams, rips_persistence(X, maxdim=0, fast_path=False))


def test_small_inputs_run_whole_at_once():
    X = np.random.default_rng(9).normal(size=(40, 2))
    res = rips_persistence_with_info(X)
    assert res.info["path"] == "full" and res.info["taus"] == [math.inf] and "t_certificate" not in res.info
    _identical(res.diagrams, rips_persistence(X, fast_path=False))
