"""Permutation test, norms per layer and PCA curves."""

import itertools

import numpy as np
import pytest
from scipy import stats as sstats

from nntopo.landscapes import (
    ActivationLandscape,
    Grid,
    exact_landscape,
    activation_landscape_curves,
    gram_matrix,
    landscape,
    landscape_vectors,
    mean_landscape,
    norms_per_layer,
    permutation_test,
    permutation_test_gram,
)

GRID = Grid(0.0, 1.5, 0.01)


def rand_act(rng, shift=0.0, n_layers=3, m=10, k=3):
    dgms = []
    for _ in range(n_layers):
        d = np.sort(rng.uniform(0, 1, (m, 2)), axis=1)
        d[:, 1] += shift
        dgms.append(d)
    return ActivationLandscape.from_diagrams(dgms, GRID, k, hom_dim=1)


def test_statistic_is_distance_between_group_means():
    rng = np.random.default_rng(0)
    a = [rand_act(rng) for _ in range(4)]
    b = [rand_act(rng, 0.1) for _ in range(5)]
    res = permutation_test(a, b, n_permutations=50, seed=0)
    assert res.statistic == pytest.approx(mean_landscape(a).distance(mean_landscape(b)), rel=1e-9)
    assert res.null_distribution.shape == (50,)
    assert res.n_permutations == 50
    # p = (count + 1) / (N + 1)
    count = np.count_nonzero(res.null_distribution >= res.statistic * (1 - 1e-9))
    assert res.pvalue == pytest.approx((count + 1) / 51)
    # every relabelling's statistic is a distance between two group means of the pool
    assert np.all(res.null_distribution >= 0)


def test_clearly_different_groups_give_small_p():
    rng = np.random.default_rng(1)
    a = [rand_act(rng) for _ in range(10)]
    b = [rand_act(rng, 0.3) for _ in range(10)]
    res = permutation_test(a, b, n_permutations=2000, seed=1)
    assert res.pvalue < 0.01
    assert res.pvalue == pytest.approx(1 / 2001)


def test_same_seed_same_result_and_generator_accepted():
    rng = np.random.default_rng(2)
    a = [rand_act(rng) for _ in range(5)]
    b = [rand_act(rng, 0.02) for _ in range(6)]
    r1 = permutation_test(a, b, n_permutations=300, seed=42)
    r2 = permutation_test(a, b, n_permutations=300, seed=np.random.default_rng(42))
    np.testing.assert_array_equal(r1.null_distribution, r2.null_distribution)
    assert r1.pvalue == r2.pvalue
    r3 = permutation_test(a, b, n_permutations=300, seed=43)
    assert not np.array_equal(r1.null_distribution, r3.null_distribution)
    # the order of the groups does not matter for the statistic
    r4 = permutation_test(b, a, n_permutations=300, seed=42)
    assert r4.statistic == pytest.approx(r1.statistic, rel=1e-12)


def test_exchangeable_groups_give_roughly_uniform_p():
    """Under exchangeability the p-value is (super-)uniform: check 300 seeded runs."""
    rng = np.random.default_rng(3)
    pool = [rand_act(rng, n_layers=2, m=6) for _ in range(120)]
    g_pool = gram_matrix(pool)
    pvals = []
    for run in range(300):
        idx = rng.choice(len(pool), size=10, replace=False)
        g = g_pool[np.ix_(idx, idx)]
        pvals.append(permutation_test_gram(g, 5, n_permutations=199, seed=run).pvalue)
    pvals = np.array(pvals)
    assert sstats.kstest(pvals, "uniform").pvalue > 1e-3
    counts, _ = np.histogram(pvals, bins=5, range=(0, 1))
    assert counts.min() > 30 and counts.max() < 95  # expected 60 per bin
    assert 0.02 < np.mean(pvals < 0.05) < 0.10


def test_agrees_with_scipy_permutation_test_on_small_case():
    rng = np.random.default_rng(4)
    a = [rand_act(rng) for _ in range(4)]
    b = [rand_act(rng, 0.05) for _ in range(4)]
    v = landscape_vectors(a + b, weighted=True)  # Euclidean geometry = landscape geometry
    xa, xb = v[:4], v[4:]

    def stat(x, y, axis=0):
        return np.linalg.norm(x.mean(axis=axis) - y.mean(axis=axis), axis=-1)

    ref = sstats.permutation_test(
        (xa, xb), stat, permutation_type="independent", alternative="greater",
        n_resamples=np.inf, vectorized=True, axis=0,
    )  # exact: all 70 splits
    ours = permutation_test(a, b, n_permutations=20000, seed=4)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert abs(ours.pvalue - ref.pvalue) < 0.02
    # exact enumeration with the Gram form gives scipy's exact null distribution
    g = gram_matrix(a + b)
    null = []
    for sel in itertools.combinations(range(8), 4):
        w = -np.full(8, 0.25)
        w[list(sel)] = 0.25
        null.append(np.sqrt(max(w @ g @ w, 0)))
    np.testing.assert_allclose(np.sort(null), np.sort(ref.null_distribution), rtol=1e-9, atol=1e-12)


def test_unequal_group_sizes_and_gram_input_checks():
    rng = np.random.default_rng(5)
    a = [rand_act(rng) for _ in range(3)]
    b = [rand_act(rng) for _ in range(7)]
    res = permutation_test(a, b, n_permutations=100, seed=0)
    assert 0 < res.pvalue <= 1
    g = gram_matrix(a + b)
    with pytest.raises(ValueError, match="n_a"):
        permutation_test_gram(g, 0)
    with pytest.raises(ValueError, match="n_a"):
        permutation_test_gram(g, 10)
    with pytest.raises(ValueError, match="gram"):
        permutation_test_gram(g[:, :5], 3)
    with pytest.raises(ValueError, match="gram"):
        permutation_test_gram(np.full((4, 4), np.nan), 2)
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_test_gram(g, 3, n_permutations=0)
    with pytest.raises(ValueError, match="group_a"):
        permutation_test([], b)
    with pytest.raises(TypeError, match="seed"):
        permutation_test_gram(g, 3, seed="seed")
    with pytest.raises(ValueError, match="seed"):
        permutation_test(a, b, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        permutation_test(a, b, seed=1.5)


def test_null_statistics_come_from_actual_splits():
    rng = np.random.default_rng(6)
    acts = [rand_act(rng) for _ in range(8)]
    g = gram_matrix(acts)
    r = permutation_test_gram(g, 4, n_permutations=1000, seed=0)
    assert r.null_distribution.shape == (1000,)
    # only 70 distinct splits (35 up to swapping groups): all statistics come from them
    null = set()
    for sel in itertools.combinations(range(8), 4):
        w = -np.full(8, 0.25)
        w[list(sel)] = 0.25
        null.add(round(float(np.sqrt(max(w @ g @ w, 0))), 9))
    seen = set(np.round(r.null_distribution, 9))
    assert seen <= null
    assert len(seen) == len(null)  # 1000 draws hit all 35 distinct values


# ---------------------------------------------------------------- norms and PCA


def test_norms_per_layer():
    rng = np.random.default_rng(7)
    acts = [rand_act(rng) for _ in range(4)]
    one = norms_per_layer(acts[0])
    assert one.shape == (3,)
    np.testing.assert_allclose(one, [x.norm() for x in acts[0].layers])
    many = norms_per_layer(acts, p=1)
    assert many.shape == (4, 3)
    np.testing.assert_allclose(many[2], [x.norm(1) for x in acts[2].layers])
    with pytest.raises(TypeError):
        norms_per_layer([acts[0].layers[0]])


def test_pca_curves():
    rng = np.random.default_rng(8)
    curves = [rand_act(rng, shift=0.05 * i, n_layers=5) for i in range(6)]
    coords, pca = activation_landscape_curves(curves, seed=0)
    assert coords.shape == (6, 5, 2)
    assert pca.n_components_ == 2
    # with all components, distances in PCA space are landscape L2 distances
    full, _ = activation_landscape_curves(curves, n_components=30, seed=0)
    d_pca = np.linalg.norm(full[0, 1] - full[3, 4])
    assert d_pca == pytest.approx(curves[0].layers[1].distance(curves[3].layers[4]), rel=1e-8)
    raw, _ = activation_landscape_curves(curves, weighted=False)
    assert raw.shape == (6, 5, 2)
    with pytest.raises(ValueError, match="n_components"):
        activation_landscape_curves(curves, n_components=31)
    with pytest.raises(ValueError, match="curves"):
        activation_landscape_curves([])


def test_pca_curves_need_equal_layer_counts():
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="layers"):
        activation_landscape_curves([rand_act(rng, n_layers=2), rand_act(rng, n_layers=3)])
    lam = landscape([[0, 1]], GRID, 2)
    with pytest.raises(TypeError):
        activation_landscape_curves([lam])


def test_permutation_test_on_exact_landscapes_matches_fine_grid():
    rng = np.random.default_rng(10)
    da = [np.sort(rng.uniform(0, 1, (8, 2)), axis=1) for _ in range(5)]
    db = [np.sort(rng.uniform(0, 1, (8, 2)), axis=1) + [0, 0.2] for _ in range(5)]
    ea = [ActivationLandscape([exact_landscape(d)]) for d in da]
    eb = [ActivationLandscape([exact_landscape(d)]) for d in db]
    fine = Grid(0, 1.5, 1e-4)
    ga = [x.to_grid(fine) for x in ea]
    gb = [x.to_grid(fine) for x in eb]
    r_exact = permutation_test(ea, eb, n_permutations=500, seed=0)
    r_grid = permutation_test(ga, gb, n_permutations=500, seed=0)
    assert r_exact.statistic == pytest.approx(r_grid.statistic, rel=1e-6)
    assert r_exact.pvalue == r_grid.pvalue


@pytest.mark.slow
def test_exchangeable_groups_uniform_p_many_runs():
    rng = np.random.default_rng(11)
    pool = [rand_act(rng, n_layers=2, m=6) for _ in range(200)]
    g_pool = gram_matrix(pool)
    pvals = []
    for run in range(2000):
        n_a, n_b = rng.integers(3, 9, size=2)
        idx = rng.choice(len(pool), size=n_a + n_b, replace=False)
        pvals.append(permutation_test_gram(g_pool[np.ix_(idx, idx)], int(n_a), n_permutations=499, seed=run).pvalue)
    pvals = np.array(pvals)
    assert sstats.kstest(pvals, "uniform").pvalue > 1e-3
    for alpha in (0.01, 0.05, 0.1):
        assert abs(np.mean(pvals <= alpha) - alpha) < 3 * np.sqrt(alpha * (1 - alpha) / 2000) + 0.005


# ------------------------------------------- one seed argument (issue 8, finding 6)
def test_seed_is_the_only_name_for_randomness():
    rng = np.random.default_rng(12)
    a = [rand_act(rng) for _ in range(4)]
    b = [rand_act(rng, 0.05) for _ in range(4)]
    with pytest.raises(TypeError):
        permutation_test(a, b, n_permutations=10, rng=0)
    with pytest.raises(TypeError):
        activation_landscape_curves(a, random_state=0)
    # an int seed draws what numpy's default_rng(seed) draws, as rng= always did
    g = gram_matrix(a + b)
    r1 = permutation_test_gram(g, 4, n_permutations=200, seed=7)
    r2 = permutation_test_gram(g, 4, n_permutations=200, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(r1.null_distribution, r2.null_distribution)
    c1, _ = activation_landscape_curves(a + b, seed=0)
    c2, _ = activation_landscape_curves(a + b, seed=np.random.default_rng(0))
    assert c1.shape == c2.shape == (8, 3, 2)
    with pytest.raises(ValueError, match="seed"):
        activation_landscape_curves(a, seed=-3)


# ------------------------------------------------ huge requests (issue 8, finding 3)
def test_huge_permutation_counts_are_refused_before_allocating():
    rng = np.random.default_rng(13)
    a = [rand_act(rng) for _ in range(3)]
    b = [rand_act(rng) for _ in range(3)]
    with pytest.raises(ValueError, match="max_bytes"):
        permutation_test(a, b, n_permutations=10**10, seed=0)
    g = gram_matrix(a + b)
    with pytest.raises(ValueError, match="max_bytes"):
        permutation_test_gram(g, 3, n_permutations=10**10, seed=0)
    with pytest.raises(ValueError, match="max_bytes"):
        permutation_test_gram(g, 3, n_permutations=1000, seed=0, max_bytes=1000)
    assert permutation_test_gram(g, 3, n_permutations=1000, seed=0, max_bytes=10**6).n_permutations == 1000
    with pytest.raises(TypeError, match="n_permutations"):
        permutation_test_gram(g, 3, n_permutations=1e3)
    with pytest.raises(ValueError, match="group_b"):
        permutation_test(a, [], seed=0)
