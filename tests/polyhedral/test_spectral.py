"""Dual graph, weighted Laplacian, Fiedler vector and the paper's evaluation: closed forms
(paths, cycles, two-vertex and three-vertex weighted graphs), a dense generalized
eigensolver as reference for the sparse one, a linear-programming facet check of the
exact dual graph, brute-force Hamming pairs, the paper's 4-of-21 arithmetic, bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from threadpoolctl import threadpool_limits

from nntopo.polyhedral import polyhedral_complex
from nntopo.polyhedral.spectral import (
    DENSE_MAX_VERTICES,
    DualGraph,
    dual_graph,
    fiedler_vector,
    graph_fiedler_vector,
    partition_agreement,
    region_counts,
    region_mean_labels,
    weighted_laplacian,
)
from nntopo.polyhedral.spectral import _hamming_kernel, _hamming_pairs


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Dense references run single-threaded: threaded LAPACK on a busy 2-core machine was
    measured 10x slower on these sizes."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def random_net(widths, seed):
    rng = np.random.default_rng(seed)
    pairs = []
    for i, o in zip(list(widths[:-1]) + [widths[-1]], list(widths[1:]) + [1]):
        bound = 1.0 / np.sqrt(i)
        pairs.append((rng.uniform(-bound, bound, (o, i)), rng.uniform(-bound, bound, o)))
    return pairs


def path(n):
    return DualGraph.from_edges(n, np.stack([np.arange(n - 1), np.arange(1, n)], axis=1))


def cycle(n):
    return DualGraph.from_edges(n, np.stack([np.arange(n), (np.arange(n) + 1) % n], axis=1))


def random_connected_graph(n, extra, rng):
    """A random spanning tree (each vertex joined to an earlier one) plus random edges."""
    tree = np.stack([rng.integers(0, np.arange(1, n)), np.arange(1, n)], axis=1)
    more = rng.integers(0, n, size=(extra, 2))
    more = more[more[:, 0] != more[:, 1]]
    E = np.unique(np.sort(np.concatenate([tree, more]), axis=1), axis=0)
    return DualGraph.from_edges(n, E)


def dense_reference(graph, w, c):
    """All eigenpairs of (delta^T W_E delta) v = mu W_V v, densely (scipy.linalg.eigh)."""
    D = graph.coboundary()
    K = (D.T @ sp.diags(c) @ D).toarray()
    return scipy.linalg.eigh(K, np.diag(w))


def abs_cos(a, b):
    return abs(float(a @ b)) / (np.linalg.norm(a) * np.linalg.norm(b))


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n", [2, 7, 40, 250])
def test_path_laplacian_and_fiedler_closed_form(n):
    g = path(n)
    L = weighted_laplacian(g).toarray()
    expected = np.diag(np.r_[1.0, np.full(n - 2, 2.0), 1.0] if n > 2 else [1.0, 1.0])
    expected -= np.eye(n, k=1) + np.eye(n, k=-1)
    np.testing.assert_array_equal(L, expected)
    k = np.arange(n)
    np.testing.assert_allclose(np.linalg.eigvalsh(L), np.sort(2 - 2 * np.cos(np.pi * k / n)), atol=1e-12)
    mu, v = graph_fiedler_vector(g)
    assert mu == pytest.approx(2 - 2 * np.cos(np.pi / n), rel=1e-9)
    # The Fiedler vector of a path is cos(pi (i + 1/2) / n); its first entry is positive.
    ref = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    np.testing.assert_allclose(v, ref / np.linalg.norm(ref), atol=1e-7)


@pytest.mark.parametrize("n", [3, 12, 300])
def test_cycle_laplacian_and_fiedler_closed_form(n):
    g = cycle(n)
    L = weighted_laplacian(g).toarray()
    A = np.zeros((n, n))
    A[np.arange(n), (np.arange(n) + 1) % n] = 1
    np.testing.assert_array_equal(L, 2 * np.eye(n) - A - A.T)
    k = np.arange(n)
    np.testing.assert_allclose(np.linalg.eigvalsh(L), np.sort(2 - 2 * np.cos(2 * np.pi * k / n)), atol=1e-12)
    mu, v = graph_fiedler_vector(g)
    assert mu == pytest.approx(2 - 2 * np.cos(2 * np.pi / n), rel=1e-9)
    # mu is double: v lies in the span of cos and sin of 2 pi i / n.
    t = 2 * np.pi * np.arange(n) / n
    basis = np.linalg.qr(np.stack([np.cos(t), np.sin(t)], axis=1))[0]
    assert np.linalg.norm(v - basis @ (basis.T @ v)) < 1e-7


def test_two_vertices_weighted_closed_form():
    g = DualGraph.from_edges(2, [[0, 1]])
    a, b, c = 2.0, 5.0, 3.0
    mu, v = graph_fiedler_vector(g, vertex_weights=[a, b], edge_weights=[c])
    assert mu == pytest.approx(c * (1 / a + 1 / b), rel=1e-14)
    ref = np.array([1 / a, -1 / b])
    np.testing.assert_allclose(v, ref / np.linalg.norm(ref), rtol=1e-14)
    L = weighted_laplacian(g, vertex_weights=[a, b], edge_weights=[c]).toarray()
    np.testing.assert_allclose(L, [[c / a, -c / a], [-c / b, c / b]], rtol=1e-15)


@pytest.mark.parametrize("c1, c2", [(1.0, 1.0), (1.0, 4.0), (10.0, 0.5)])
def test_edge_weighted_path3_closed_form(c1, c2):
    """Eigenvalues of [[c1,-c1,0],[-c1,c1+c2,-c2],[0,-c2,c2]]: 0 and
    (c1 + c2) -+ sqrt(c1^2 - c1 c2 + c2^2)."""
    g = path(3)
    mu, v = graph_fiedler_vector(g, edge_weights=[c1, c2])
    assert mu == pytest.approx(c1 + c2 - np.sqrt(c1 * c1 - c1 * c2 + c2 * c2), rel=1e-12)
    L = weighted_laplacian(g, edge_weights=[c1, c2])
    np.testing.assert_allclose(L @ v, mu * v, atol=1e-12)


def test_vertex_weights_change_the_partition():
    """Path-3 with symmetric weights (a, b, a): the Fiedler vector is (1, 0, -1) with
    mu = 1/a, and the other eigenvalue is (1 + 2a/b)/a. A star with a heavy leaf: the
    heavy vertex pulls the cut away from itself."""
    for a, b in [(1.0, 1.0), (3.0, 0.5), (0.2, 7.0)]:
        mu, v = graph_fiedler_vector(path(3), vertex_weights=[a, b, a])
        assert mu == pytest.approx(1 / a, rel=1e-12)
        np.testing.assert_allclose(v, np.array([1, 0, -1]) / np.sqrt(2), atol=1e-12)
        full = dense_reference(path(3), np.array([a, b, a]), np.ones(2))[0]
        np.testing.assert_allclose(full, np.sort([0, 1 / a, (1 + 2 * a / b) / a]), atol=1e-12)
    # Path of 6: unweighted cut in the middle (3 | 3); a heavy end vertex moves it.
    g = path(6)
    _, v0 = graph_fiedler_vector(g)
    assert (v0 > 0).tolist() == [True] * 3 + [False] * 3
    w = np.array([1, 1, 1, 1, 1, 60.0])
    mu, v = graph_fiedler_vector(g, vertex_weights=w)
    assert (v > 0).tolist() == [True] * 5 + [False]
    vals, vecs = dense_reference(g, w, np.ones(5))
    assert mu == pytest.approx(vals[1], rel=1e-12)
    assert abs_cos(v, vecs[:, 1]) == pytest.approx(1.0, abs=1e-12)
    assert abs(w @ v) < 1e-12  # W_V-orthogonal to the constants


def test_scaling_the_weights():
    rng = np.random.default_rng(3)
    g = random_connected_graph(150, 300, rng)
    w = rng.uniform(1, 5, g.n_vertices)
    c = rng.uniform(0.5, 2, g.n_edges)
    mu, v = graph_fiedler_vector(g, vertex_weights=w, edge_weights=c)
    mu2, v2 = graph_fiedler_vector(g, vertex_weights=4 * w, edge_weights=c)
    mu3, v3 = graph_fiedler_vector(g, vertex_weights=w, edge_weights=3 * c)
    assert mu2 == pytest.approx(mu / 4, rel=1e-9) and mu3 == pytest.approx(3 * mu, rel=1e-9)
    np.testing.assert_allclose(v2, v, atol=1e-8)
    np.testing.assert_allclose(v3, v, atol=1e-8)
    L = weighted_laplacian(g, vertex_weights=w, edge_weights=c)
    np.testing.assert_allclose(L @ v, mu * v, atol=1e-9 * mu)


# --------------------------------------------------------------------------- partitions


@pytest.mark.parametrize("size", [30, 150])
def test_two_dense_clusters_joined_by_one_edge(size):
    rng = np.random.default_rng(size)
    blocks = []
    for off in (0, size):
        E = np.array([(i, j) for i, j in itertools.combinations(range(size), 2) if rng.random() < 0.3])
        blocks.append(E + off)
    bridge = np.array([[rng.integers(size), size + rng.integers(size)]])
    g = DualGraph.from_edges(2 * size, np.concatenate(blocks + [bridge]))
    assert g.components()[0] == 1
    for w in (None, 1 + rng.poisson(3, 2 * size)):
        _, v = graph_fiedler_vector(g, vertex_weights=w)
        side = v > 0
        assert len(set(side[:size])) == 1 and len(set(side[size:])) == 1 and side[0] != side[-1]


@settings(max_examples=15, deadline=None)
@given(n=st.integers(DENSE_MAX_VERTICES + 1, 400), density=st.floats(0.0, 3.0), seed=st.integers(0, 2**31))
def test_sparse_solver_matches_dense(n, density, seed):
    rng = np.random.default_rng(seed)
    g = random_connected_graph(n, int(density * n), rng)
    w = 1 + rng.poisson(rng.uniform(0, 5), n).astype(float)
    c = rng.uniform(0.1, 3.0, g.n_edges)
    vals, vecs = dense_reference(g, w, c)
    mu, v = graph_fiedler_vector(g, vertex_weights=w, edge_weights=c, seed=seed)
    assert mu == pytest.approx(vals[1], rel=1e-9)
    if vals[2] - vals[1] > 1e-6 * vals[2]:  # a simple eigenvalue: the vector is unique up to sign
        assert abs_cos(v, vecs[:, 1]) > 1 - 1e-9


def test_seed_and_sign_convention():
    rng = np.random.default_rng(11)
    g = random_connected_graph(500, 900, rng)
    mu_a, a = graph_fiedler_vector(g, seed=0)
    mu_b, b = graph_fiedler_vector(g, seed=0)
    np.testing.assert_array_equal(a, b)
    assert mu_a == mu_b
    _, c = graph_fiedler_vector(g, seed=np.random.default_rng(99))
    np.testing.assert_allclose(c, a, atol=1e-8)  # same sign: the convention, not luck
    assert np.linalg.norm(a) == pytest.approx(1.0)
    first = np.flatnonzero(np.abs(a) >= 1e-6 * np.abs(a).max())[0]
    assert a[first] > 0


def test_disconnected_graph_is_refused_with_its_components():
    E = [[0, 1], [1, 2], [3, 4], [5, 6], [6, 7], [7, 5]]
    g = DualGraph.from_edges(8, E)
    count, labels = g.components()
    assert count == 3 and labels.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match=r"3 connected components.*component 1: 2 vertices \[3, 4\]"):
        graph_fiedler_vector(g)
    with pytest.raises(ValueError, match="at least 2"):
        graph_fiedler_vector(DualGraph.from_edges(1, np.empty((0, 2))))


# --------------------------------------------------------------------------- dual graphs


def region_halfspaces(weights, s, lo, hi):
    """Closure of the region with sign vector s as {x : A x <= b}: each neuron's affine
    map under the pattern s, on the side s gives it, and the box."""
    d = lo.shape[0]
    P, q = np.eye(d), np.zeros(d)
    rows, rhs, col = [], [], 0
    for W, bias in weights[:-1]:
        Z, z0 = W @ P, W @ q + bias
        sj = s[col : col + W.shape[0]].astype(float)
        rows.append(-sj[:, None] * Z)
        rhs.append(sj * z0)
        on = (sj > 0).astype(float)
        P, q = on[:, None] * Z, on * z0
        col += W.shape[0]
    rows += [np.eye(d), -np.eye(d)]
    rhs += [hi, -lo]
    return np.concatenate(rows), np.concatenate(rhs)


def affine_dimension(A, b, d, eps=1e-9):
    """Dimension of the polytope {x : A x <= b} by linear programming (-1 if empty): from a
    feasible point, each direction orthogonal to the affine hull found so far is maximised
    and minimised; a point off that hull by more than eps extends it."""
    free = [(None, None)] * d
    res = linprog(np.zeros(d), A_ub=A, b_ub=b, bounds=free, method="highs")
    if res.status == 2:
        return -1
    x0, basis = res.x, np.zeros((0, d))
    while basis.shape[0] < d:
        complement = scipy.linalg.null_space(basis) if basis.size else np.eye(d)
        step = None
        for c in complement.T:
            for sgn in (1.0, -1.0):
                x = linprog(sgn * c, A_ub=A, b_ub=b, bounds=free, method="highs").x
                if abs(c @ (x - x0)) > eps:
                    step = x - x0
                    break
            if step is not None:
                break
        if step is None:
            break
        basis = scipy.linalg.orth(np.vstack([basis, step]).T).T
    return basis.shape[0]


def lp_facet_pairs(pc):
    """Pairs of regions whose closures meet in a (d-1)-dimensional set, by linear
    programming on the regions' inequalities (from the network, not the complex's cells)."""
    H = [region_halfspaces(pc.weights, s, pc.lo, pc.hi) for s in pc.region_signs]
    out = []
    for i, j in itertools.combinations(range(pc.n_regions), 2):
        A = np.concatenate([H[i][0], H[j][0]])
        b = np.concatenate([H[i][1], H[j][1]])
        if affine_dimension(A, b, pc.dim) == pc.dim - 1:
            out.append((i, j))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("widths, seed", [((2, 4, 3), 0), ((2, 8, 6), 3)])
def test_exact_dual_graph_against_a_linear_programming_facet_check(widths, seed):
    pc = polyhedral_complex(random_net(widths, seed))
    g = dual_graph(pc)
    lp = lp_facet_pairs(pc)
    np.testing.assert_array_equal(g.edges, lp)
    assert g.components()[0] == 1
    if seed == 3:
        # This network has Hamming-1 pairs that share no facet: the LP confirms they do not.
        gh = dual_graph(pc, adjacency="hamming")
        extra = gh.edges[gh.facets == -1]
        assert extra.shape[0] == 2
        assert not {tuple(e) for e in extra.tolist()} & {tuple(e) for e in lp.tolist()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "widths, seed", [((2, 5, 3), 1), ((2, 3, 3, 2), 2), ((2, 5, 5, 4), 4), ((3, 4, 3), 5), ((3, 5, 4), 7), ((2, 9, 7, 5), 6)]
)
def test_exact_dual_graph_against_a_linear_programming_facet_check_larger(widths, seed):
    pc = polyhedral_complex(random_net(widths, seed))
    np.testing.assert_array_equal(dual_graph(pc).edges, lp_facet_pairs(pc))


def brute_hamming(S):
    D = (S[:, None, :] != S[None, :, :]).sum(axis=2)
    return np.argwhere(np.triu(D == 1))


@settings(max_examples=40, deadline=None)
@given(
    R=st.integers(1, 120),
    N=st.integers(0, 12),
    zeros=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_hamming_pairs_against_brute_force(R, N, zeros, seed):
    rng = np.random.default_rng(seed)
    vals = np.array([-1, 0, 1] if zeros else [-1, 1], dtype=np.int8)
    S = np.unique(rng.choice(vals, size=(R, N)), axis=0) if N else np.zeros((1, 0), dtype=np.int8)
    got = _hamming_pairs(S)
    got = got[np.lexsort((got[:, 1], got[:, 0]))] if got.size else got.reshape(0, 2)
    np.testing.assert_array_equal(got, brute_hamming(S).reshape(-1, 2))


def test_hamming_pairs_survive_hash_collisions():
    """With every hash coefficient equal, most distinct sign vectors collide; the probes
    then meet many candidates, and the sign-vector check keeps exactly the Hamming pairs."""
    S = np.array(list(itertools.product([-1, 0, 1], repeat=4)), dtype=np.int8)
    got = _hamming_kernel(S, np.full(4, 12345, dtype=np.uint64))
    got = got[np.lexsort((got[:, 1], got[:, 0]))]
    np.testing.assert_array_equal(got, brute_hamming(S))
    assert got.shape[0] == 4 * 3**3 * 3  # per neuron: 27 contexts x 3 pairs of values


@pytest.mark.parametrize("widths, seed", [((2, 6, 5), 0), ((2, 8, 8, 8), 1), ((3, 5, 4), 2)])
def test_hamming_dual_graph(widths, seed):
    pc = polyhedral_complex(random_net(widths, seed))
    ge, gh = dual_graph(pc), dual_graph(pc, adjacency="hamming")
    np.testing.assert_array_equal(gh.edges, brute_hamming(pc.region_signs))
    # Every exact edge is a Hamming edge (general position), with the same facet.
    exact = {tuple(e): f for e, f in zip(ge.edges.tolist(), ge.facets.tolist())}
    ham = {tuple(e): f for e, f in zip(gh.edges.tolist(), gh.facets.tolist())}
    assert set(exact) <= set(ham)
    assert all(ham[e] == f for e, f in exact.items())
    assert all(f == -1 for e, f in ham.items() if e not in exact)


def test_one_hidden_layer_exact_equals_hamming():
    """A hyperplane arrangement: regions differing in one hyperplane are adjacent."""
    pc = polyhedral_complex(random_net((2, 12), 7))
    ge, gh = dual_graph(pc), dual_graph(pc, adjacency="hamming")
    np.testing.assert_array_equal(ge.edges, gh.edges)
    np.testing.assert_array_equal(ge.facets, gh.facets)


def test_dual_graph_coboundary():
    pc = polyhedral_complex(random_net((2, 6, 4), 3))
    g = dual_graph(pc)
    D = g.coboundary()
    assert D.shape == (g.n_edges, pc.n_regions)
    np.testing.assert_array_equal(D.sum(axis=1).A.ravel(), 0)
    np.testing.assert_array_equal(D.toarray()[np.arange(g.n_edges), g.edges[:, 0]], -1)
    np.testing.assert_array_equal(D.toarray()[np.arange(g.n_edges), g.edges[:, 1]], 1)
    # delta^T delta is the graph Laplacian: degrees on the diagonal.
    L = weighted_laplacian(g).toarray()
    np.testing.assert_array_equal(np.diag(L), np.bincount(g.edges.ravel(), minlength=pc.n_regions))


# --------------------------------------------------------------------------- training points


def test_region_counts_and_means_against_a_forward_pass():
    pairs = random_net((2, 6, 5), 4)
    pc = polyhedral_complex(pairs)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (500, 2))
    y = (X[:, 0] > 0).astype(int)
    # Region of each point by its activation pattern, computed here by a forward pass.
    h, bits = X, []
    for W, b in pairs[:-1]:
        z = h @ W.T + b
        bits.append(np.where(z > 0, 1, -1))
        h = np.maximum(z, 0)
    S = np.concatenate(bits, axis=1)
    lookup = {tuple(s): i for i, s in enumerate(pc.region_signs.tolist())}
    idx = np.array([lookup[tuple(s)] for s in S.tolist()])
    np.testing.assert_array_equal(region_counts(pc, X), np.bincount(idx, minlength=pc.n_regions))
    means = region_mean_labels(pc, X, y)
    for r in range(pc.n_regions):
        if np.any(idx == r):
            assert means[r] == pytest.approx(y[idx == r].mean())
        else:
            assert np.isnan(means[r])


def test_fiedler_vector_of_a_complex_with_points():
    pc = polyhedral_complex(random_net((2, 10, 8), 5))
    X = np.random.default_rng(1).uniform(-1, 1, (300, 2))
    mu, v = fiedler_vector(pc, points=X)
    mu2, v2 = graph_fiedler_vector(dual_graph(pc), vertex_weights=1 + region_counts(pc, X))
    assert mu == mu2
    np.testing.assert_array_equal(v, v2)
    assert v.shape == (pc.n_regions,)
    mu0, v0 = fiedler_vector(pc)
    vals, vecs = dense_reference(dual_graph(pc), np.ones(pc.n_regions), np.ones(dual_graph(pc).n_edges))
    assert mu0 == pytest.approx(vals[1], rel=1e-9) and abs_cos(v0, vecs[:, 1]) > 1 - 1e-9
    gh = dual_graph(pc, adjacency="hamming")
    muh, vh = fiedler_vector(pc, adjacency="hamming", edge_weights=np.ones(gh.n_edges))
    vals, vecs = dense_reference(gh, np.ones(pc.n_regions), np.ones(gh.n_edges))
    assert muh == pytest.approx(vals[1], rel=1e-9)
    with pytest.raises(ValueError, match="outside the box"):
        fiedler_vector(pc, points=np.array([[0.0, 0.0], [3.0, 0.0]]))
    assert region_counts(pc, np.array([[0.0, 0.0], [3.0, 0.0]]), outside="ignore").sum() == 1


def test_grid_complex_end_to_end_closed_form():
    """Lines x = -1.5, -1, ..., 1.5 and y = 0 cut [-2, 2] x [-1, 1] into an 8 x 2 grid;
    its dual graph is the grid graph P8 x P2, whose Fiedler value is that of P8,
    2 - 2 cos(pi / 8) (P2's is 2), with a vector constant in y and changing sign at
    x = 0. Points labelled by x > 0 are then split with no error, weighted or not."""
    cuts = np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    W = np.vstack([np.tile([1.0, 0.0], (cuts.size, 1)), [[0.0, 1.0]]])
    b = np.concatenate([-cuts, [0.0]])
    pc = polyhedral_complex([(W, b), (np.ones((1, W.shape[0])), np.zeros(1))], box=([-2.0, -1.0], [2.0, 1.0]))
    assert pc.n_regions == 16
    X = np.random.default_rng(0).uniform([-2, -1], [2, 1], (400, 2))
    y = (X[:, 0] > 0).astype(int)
    means = region_mean_labels(pc, X, y)
    for adjacency in ("exact", "hamming"):
        assert dual_graph(pc, adjacency=adjacency).n_edges == 7 * 2 + 8
        for points in (None, X):
            mu, v = fiedler_vector(pc, adjacency=adjacency, points=points)
            if points is None:
                assert mu == pytest.approx(2 - 2 * np.cos(np.pi / 8), rel=1e-12)
            res = partition_agreement(v, means)
            assert (res.n_regions, res.n_misclassified, res.error) == (16, 0, 0.0)
            side, right = v > 0, pc.interior_points[:, 0] > 0
            assert np.array_equal(side, right) or np.array_equal(side, ~right)


# --------------------------------------------------------------------------- evaluation


def test_paper_circles_arithmetic_4_of_21():
    """'19.05% with error 2': 21 regions with pure labels, 4 on the wrong side."""
    labels = np.array([0.0] * 10 + [1.0] * 11)
    v = np.where(labels > 0.5, 1.0, -1.0)
    v[[0, 3, 12, 20]] *= -1  # four regions on the wrong side
    res = partition_agreement(v, labels)
    assert (res.n_regions, res.n_misclassified) == (21, 4)
    assert round(100 * res.misclassification, 2) == 19.05
    assert res.error == pytest.approx(2.0)
    # The orientation is free: the negated vector scores the same.
    neg = partition_agreement(-v, labels)
    assert (neg.n_misclassified, neg.error, neg.flipped) == (4, res.error, not res.flipped)
    np.testing.assert_array_equal(neg.partition, res.partition)


def test_paper_moons_like_arithmetic():
    """10 labelled regions: one wrong and two mixed regions give 10% with error 1.20;
    regions without points are ignored."""
    v = np.array([-1, -1, -1, -1, -1, 1, 1, 1, 1, 1, 5, -5.0])
    # Region 9 (label 0 on side 1) is wrong: 1; mixed regions on their right side add
    # 0.45^2 + 0.0375 + 0.2^2 + 0.4^2 = 0.44, so the error is sqrt(1.44) = 1.2.
    labels = np.array([0.45, np.sqrt(0.0375), 0, 0, 0.2, 0.6, 1, 1, 1, 0.0, np.nan, np.nan])
    res = partition_agreement(v, labels)
    assert (res.n_regions, res.n_misclassified) == (10, 1)
    assert res.misclassification == pytest.approx(0.10)
    assert res.error == pytest.approx(1.20)
    assert res.partition.tolist()[:10] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1] and not res.flipped


def test_evaluation_orientation_and_ties():
    labels = np.array([1.0, 1.0, 1.0, 0.0])
    res = partition_agreement(np.array([-1.0, -2.0, -3.0, 4.0]), labels)
    assert res.flipped and res.n_misclassified == 0 and res.error == 0.0
    assert res.partition.tolist() == [1, 1, 1, 0]
    half = partition_agreement(np.array([1.0, -1.0]), np.array([0.5, 0.5]))
    assert half.n_misclassified == 0 and half.error == pytest.approx(np.sqrt(0.5)) and not half.flipped
    # v == 0 lies on side 0 (v > 0 is side 1).
    zero = partition_agreement(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    assert zero.partition.tolist() == [0, 1] and zero.n_misclassified == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1, 1), st.one_of(st.none(), st.floats(0, 1))), min_size=1, max_size=40))
def test_evaluation_against_a_direct_count(rows):
    v = np.array([r[0] for r in rows])
    m = np.array([np.nan if r[1] is None else r[1] for r in rows])
    if np.isnan(m).all():
        with pytest.raises(ValueError, match="no region"):
            partition_agreement(v, m)
        return
    res = partition_agreement(v, m)
    has = ~np.isnan(m)
    scores = []
    for p in ((v > 0).astype(int), (v <= 0).astype(int)):
        wrong = sum(abs(a - b) > 0.5 for a, b in zip(m[has], p[has]))
        scores.append((wrong, float(np.sqrt(np.sum((m[has] - p[has]) ** 2)))))
    best = min(scores)
    assert res.n_misclassified == best[0] and res.error == pytest.approx(best[1])
    assert res.n_regions == has.sum() and res.misclassification == best[0] / has.sum()


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_name_the_argument():
    g = path(5)
    pc = polyhedral_complex(random_net((2, 4), 0))
    cases = [
        (lambda: graph_fiedler_vector(g, vertex_weights=np.ones(4)), ValueError, "vertex_weights must have one weight per vertex"),
        (lambda: graph_fiedler_vector(g, edge_weights=np.ones(5)), ValueError, "edge_weights must have one weight per edge"),
        (lambda: graph_fiedler_vector(g, vertex_weights=[1, 1, -1, 1, 1]), ValueError, "vertex_weights must be positive; entry 2"),
        (lambda: graph_fiedler_vector(g, vertex_weights=[1, 1, 0, 1, 1]), ValueError, "vertex_weights must be positive"),
        (lambda: graph_fiedler_vector(g, edge_weights=[1, np.nan, 1, 1]), ValueError, "edge_weights contains 1 NaN"),
        (lambda: graph_fiedler_vector(g, edge_weights=[1, 0, 1, 1]), ValueError, "edge_weights must be positive; entry 1"),
        (lambda: graph_fiedler_vector(g, vertex_weights="heavy"), TypeError, "vertex_weights"),
        (lambda: graph_fiedler_vector(g, vertex_weights=np.ones((5, 1))), ValueError, "vertex_weights must be a 1-D"),
        (lambda: graph_fiedler_vector(g, seed=-1), ValueError, "seed"),
        (lambda: graph_fiedler_vector(g, blas_threads=0), ValueError, "blas_threads"),
        (lambda: graph_fiedler_vector(pc), TypeError, "graph must be a DualGraph"),
        (lambda: weighted_laplacian(g, edge_weights=[1, 1, 1, np.inf]), ValueError, "edge_weights"),
        (lambda: dual_graph(pc, adjacency="geometric"), ValueError, "adjacency"),
        (lambda: fiedler_vector(pc, adjacency="hamming1"), ValueError, "adjacency"),
        (lambda: fiedler_vector(g), TypeError, "cx must be a PolyhedralComplex"),
        (lambda: dual_graph(np.ones(3)), TypeError, "cx must be a PolyhedralComplex"),
        (lambda: fiedler_vector(pc, points=np.zeros((3, 2)), vertex_weights=np.ones(pc.n_regions)), ValueError, "vertex_weights and points"),
        (lambda: fiedler_vector(pc, vertex_weights=np.ones(pc.n_regions + 1)), ValueError, "vertex_weights"),
        (lambda: region_counts(pc, np.zeros((3, 3))), ValueError, r"points must have shape \(n, 2\)"),
        (lambda: region_counts(pc, np.zeros((3, 2)), outside="drop"), ValueError, "outside"),
        (lambda: region_mean_labels(pc, np.zeros((3, 2)), [0, 1, 2]), ValueError, "labels"),
        (lambda: region_mean_labels(pc, np.zeros((3, 2)), [0, 1]), ValueError, "labels"),
        (lambda: partition_agreement([1.0, -1.0], [0.0]), ValueError, "mean_labels must have one entry"),
        (lambda: partition_agreement([1.0, -1.0], [0.0, 2.0]), ValueError, r"mean_labels must lie in \[0, 1\]"),
        (lambda: partition_agreement([1.0, np.nan], [0.0, 1.0]), ValueError, "v contains"),
        (lambda: DualGraph.from_edges(3, [[0, 3]]), ValueError, "edges must hold vertex indices"),
        (lambda: DualGraph.from_edges(3, [[1, 1]]), ValueError, "self-loop"),
        (lambda: DualGraph.from_edges(3, [[0, 1], [1, 0]]), ValueError, "repeated"),
        (lambda: DualGraph.from_edges(0, []), ValueError, "n_vertices"),
        (lambda: DualGraph(3, [[0, 1]], np.array([-1]), "given"), TypeError, "edges"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()
