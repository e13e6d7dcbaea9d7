"""Validity of the exact polyhedral complex: Euler characteristic, ∂∂ = 0, sign vectors
against sampling, interior points, degenerate positions, closed forms, d = 1 roots."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nntopo.polyhedral import PolyhedralComplex, polyhedral_complex


def random_net(widths, seed, out=1):
    """torch-like default init: W, b ~ uniform(+-1/sqrt(fan_in)); one output neuron."""
    rng = np.random.default_rng(seed)
    ws = list(widths) + [out]
    pairs = []
    for i, o in zip(ws[:-1], ws[1:]):
        bound = 1.0 / np.sqrt(i)
        pairs.append((rng.uniform(-bound, bound, (o, i)), rng.uniform(-bound, bound, o)))
    return pairs


def pre_and_terms(pairs, P):
    """Hidden pre-activations at P (n, N), the sizes |W||h| + |b| of the terms they sum,
    and a running bound on their rounding error (each layer's dot products add
    (k + 1) u times their terms; nothing passes through a ReLU that is certainly off)."""
    u = 2.0**-53
    h = np.asarray(P, dtype=float)
    err = np.zeros_like(h)
    zs, ts, es = [], [], []
    for W, b in pairs[:-1]:
        z = h @ W.T + b
        T = np.abs(h) @ np.abs(W).T + np.abs(b)
        err = err @ np.abs(W).T + (W.shape[1] + 2) * u * T
        zs.append(z)
        ts.append(T)
        es.append(err)
        err = np.where(z < -err, 0.0, err)
        h = np.maximum(z, 0)
    if not zs:
        return np.zeros((h.shape[0], 0)), np.zeros((h.shape[0], 0)), np.zeros((h.shape[0], 0))
    return np.concatenate(zs, axis=1), np.concatenate(ts, axis=1), np.concatenate(es, axis=1)


def neuron_scales(pairs, vertices):
    """|W_n| @ max|h| + |b_n|: the largest size of the terms neuron n sums over the box
    (h is piecewise affine on the cells of earlier layers, so its extremes are at vertices
    of the complex; the forward pass is computed here, independently)."""
    h = np.asarray(vertices, dtype=float)
    out = []
    for W, b in pairs[:-1]:
        out.append(np.abs(W) @ np.abs(h).max(axis=0) + np.abs(b))
        h = np.maximum(h @ W.T + b, 0)
    return np.concatenate(out) if out else np.zeros(0)


def signs_with_certainty(pairs, P, scales, tol):
    """Forward-pass sign vectors of points, and which entries are beyond doubt.

    An entry is certain when |z| is well outside what the construction may merge
    (1000 tol * scale, with the largest term size over the box) and its rounding-error
    bound (8 times), or when z is exactly 0 (a neuron identically 0 there, such as a
    zero row or the difference of two equal neurons, which must read 0).
    """
    Z, T, E = pre_and_terms(pairs, P)
    exact0 = Z == 0
    s = np.sign(Z).astype(np.int8)
    certain = (np.abs(Z) > 1e3 * tol * scales[None, :] + 8 * E) | exact0
    return s, certain


def assert_valid(pc: PolyhedralComplex, n_samples: int = 2000, seed: int = 0, min_certain: float = 0.5) -> None:
    """Every check of the issue on one complex."""
    d = pc.dim
    f = pc.f_vector
    assert f.shape == (d + 1,)
    assert pc.euler_characteristic() == 1
    assert int(np.sum(f * (-1) ** np.arange(d + 1))) == 1
    # Boundaries: shapes, Z/2 entries, edges have 2 distinct ends, ∂∂ = 0 mod 2.
    for k in range(1, d + 1):
        B = pc.boundary(k)
        assert B.shape == (f[k - 1], f[k])
        assert B.data.size == 0 or B.data.max() == 1
        counts = np.diff(B.tocsc().indptr)
        assert counts.min() >= (2 if k == 1 else k + 1)
        if k == 1:
            assert np.all(counts == 2)
    for k in range(2, d + 1):
        BB = pc.boundary(k - 1).astype(np.int64) @ pc.boundary(k).astype(np.int64)
        assert not np.any(BB.data % 2)
    # Sign vectors: int8, regions distinct, faces compatible with their cofaces.
    N = pc.n_hidden
    for k in range(d + 1):
        S = pc.signs(k)
        assert S.dtype == np.int8 and S.shape == (f[k], N)
    R = pc.region_signs
    assert len({r.tobytes() for r in R}) == R.shape[0]
    for k in range(1, d + 1):
        # A facet's sign is its coface's sign or 0 (it may lie on more hyperplanes).
        rows, cols = pc.boundary(k).nonzero()
        Sf, Sc = pc.signs(k - 1)[rows], pc.signs(k)[cols]
        assert np.all((Sf == Sc) | (Sf == 0))
    # Vertices lie in the box; each vertex lies on its zero hyperplanes.
    assert np.all(pc.vertices >= pc.lo - 1e-12) and np.all(pc.vertices <= pc.hi + 1e-12)
    scales = neuron_scales(pc.weights, pc.vertices)
    Zv, _, _ = pre_and_terms(pc.weights, pc.vertices)
    on = pc.vertex_signs == 0
    assert np.all(np.abs(Zv[on]) <= max(1e-7, 2 * pc.tol) * np.broadcast_to(scales, Zv.shape)[on])
    # Sampling: every sampled point's sign vector is that of the region it is put in.
    rng = np.random.default_rng(seed)
    P = rng.uniform(pc.lo, pc.hi, (n_samples, d))
    r = pc.region_of(P)
    assert np.all(r >= 0)
    s, certain = signs_with_certainty(pc.weights, P, scales, pc.tol)
    assert np.all((R[r] == s) | ~certain)
    full = certain.all(axis=1)
    assert full.mean() >= min_certain
    np.testing.assert_array_equal(R[r[full]], s[full])
    # Interior points carry their region's sign vector and are found back.
    ip = pc.interior_points
    s, certain = signs_with_certainty(pc.weights, ip, scales, pc.tol)
    assert np.all((R == s) | ~certain)
    full = certain.all(axis=1)
    np.testing.assert_array_equal(pc.region_of(ip[full]), np.flatnonzero(full))
    np.testing.assert_array_equal(pc.activation_patterns, R > 0)


# --------------------------------------------------------------------------- random sweeps


def _sweep_cases(n, seed, max_width_3d):
    rng = np.random.default_rng(seed)
    for i in range(n):
        d = int(rng.integers(1, 4))
        depth = int(rng.integers(1, 5))
        hi = 51 if d < 3 else max_width_3d
        widths = [d] + [int(rng.integers(2, hi)) for _ in range(depth)]
        yield widths, int(rng.integers(2**31))


@pytest.mark.parametrize("chunk", range(4))
def test_random_networks_are_valid(chunk):
    """Hundreds of random networks (d = 1..3, widths 2..50, depths 1..4)."""
    for widths, seed in itertools.islice(_sweep_cases(240, 12345, 12), chunk * 60, (chunk + 1) * 60):
        pc = polyhedral_complex(random_net(widths, seed))
        assert_valid(pc, n_samples=300, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(10))
def test_random_networks_are_valid_big_sweep(chunk):
    for widths, seed in itertools.islice(_sweep_cases(1000, 999, 30), chunk * 100, (chunk + 1) * 100):
        pc = polyhedral_complex(random_net(widths, seed))
        assert_valid(pc, n_samples=1000, seed=seed)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_dense_grid_regions_are_complex_regions(d):
    pc = polyhedral_complex(random_net([d, 12, 12, 8], seed=7 + d))
    n = {1: 20001, 2: 301, 3: 41}[d]
    g = np.linspace(-1, 1, n)
    P = np.stack(np.meshgrid(*([g] * d), indexing="ij"), -1).reshape(-1, d)
    s, certain = signs_with_certainty(pc.weights, P, neuron_scales(pc.weights, pc.vertices), pc.tol)
    on_plane = ~certain.all(axis=1)
    s = s[~on_plane]
    keys = {r.tobytes() for r in pc.region_signs}
    found = {r.tobytes() for r in s}
    assert found <= keys
    r = pc.region_of(P[~on_plane])
    np.testing.assert_array_equal(pc.region_signs[r], s)


def test_d4_all_cells():
    """The construction is dimension-generic; d = 4 gives a valid complex too."""
    for seed in range(3):
        pc = polyhedral_complex(random_net([4, 6, 5], seed))
        assert_valid(pc, n_samples=500)


# --------------------------------------------------------------------------- degeneracies

ONE = (np.ones((1, 1)), np.zeros(1))


def _single_layer(W, b):
    W = np.asarray(W, dtype=float)
    return [(W, np.asarray(b, dtype=float)), (np.ones((1, W.shape[0])), np.zeros(1))]


DEGENERATE = {
    "diagonal through two box corners": _single_layer([[1, 1]], [0]),
    "both diagonals": _single_layer([[1, 1], [1, -1]], [0, 0]),
    "line through one box corner": _single_layer([[1, 2]], [3]),
    "line along a box edge": _single_layer([[1, 0]], [1]),
    "line outside the box": _single_layer([[1, 0]], [5]),
    "concurrent lines through an existing vertex": _single_layer(
        [[np.cos(t), np.sin(t)] for t in np.linspace(0, np.pi, 7)[:-1]], np.zeros(6)
    ),
    "duplicate and scaled duplicate neurons": _single_layer([[1, 2], [1, 2], [2, 4], [-1, -2]], [0.1, 0.1, 0.2, -0.1]),
    "parallel neurons": _single_layer([[1, 0], [1, 0], [1, 0], [0, 1]], [0, 0.5, -0.5, 0]),
    "dead neuron and zero rows": _single_layer([[1, 0], [0, 0], [0, 0], [1, 1]], [-5, 0, 1, 0.3]),
    "integer grid lines": _single_layer([[1, 0], [0, 1], [1, 1], [1, -1], [2, 1]], [0, 0, 0, 0, 0]),
    "deep: zero rows, duplicates, through origin": [
        (np.array([[1.0, 0], [0, 1], [1, 1], [1, -1]]), np.zeros(4)),
        (np.array([[1.0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, -1, 0, 0], [0, 0, 1, -1]]), np.zeros(5)),
        (np.array([[1.0, 1, 1, 1, 1], [1, -1, 0, 0, 0]]), np.array([0.0, 0])),
        (np.ones((1, 2)), np.zeros(1)),
    ],
    "3d: coordinate planes through the centre": _single_layer(np.eye(3), np.zeros(3)),
    "3d: planes containing an existing edge": _single_layer([[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, -1, 0]], np.zeros(4)),
    "3d: planes through box corners": _single_layer([[1, 1, 1], [1, -1, 0], [1, 1, 0], [0, 0, 1]], [0, 0, 0, 1]),
    "3d: planes on box faces": _single_layer(np.eye(3), np.ones(3)),
    "3d deep: zeros and coincidences": [
        (np.eye(3), np.zeros(3)),
        (np.array([[1.0, 1, 0], [1, -1, 0], [1, 1, 1], [1, 0, 0]]), np.zeros(4)),
        (np.ones((1, 4)), np.zeros(1)),
    ],
    "1d: shared roots": _single_layer([[1], [1], [-1], [2], [0]], [0, 0, 0.5, -2, 0]),
    "1d: root at the box end": _single_layer([[1], [1]], [1, -1]),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_positions(name):
    pc = polyhedral_complex(DEGENERATE[name])
    assert_valid(pc, n_samples=3000)


def test_degenerate_known_f_vectors():
    assert polyhedral_complex(DEGENERATE["diagonal through two box corners"]).f_vector.tolist() == [4, 5, 2]
    assert polyhedral_complex(DEGENERATE["both diagonals"]).f_vector.tolist() == [5, 8, 4]
    assert polyhedral_complex(DEGENERATE["line outside the box"]).f_vector.tolist() == [4, 4, 1]
    assert polyhedral_complex(DEGENERATE["line along a box edge"]).f_vector.tolist() == [4, 4, 1]
    # 6 lines through the centre: 12 rays, 12 sectors.
    assert polyhedral_complex(DEGENERATE["concurrent lines through an existing vertex"]).f_vector.tolist() == [17, 28, 12]
    assert polyhedral_complex(DEGENERATE["3d: coordinate planes through the centre"]).f_vector.tolist() == [27, 54, 36, 8]
    # Duplicate neurons give the same complex as one copy; their signs agree.
    dup = polyhedral_complex(DEGENERATE["duplicate and scaled duplicate neurons"])
    single = polyhedral_complex(_single_layer([[1, 2]], [0.1]))
    assert dup.f_vector.tolist() == single.f_vector.tolist()
    S = dup.signs(1)
    np.testing.assert_array_equal(S[:, 0], S[:, 1])
    np.testing.assert_array_equal(S[:, 0], -S[:, 3])
    # A zero row with zero bias is 0 everywhere; with bias 1 it is +1 everywhere.
    z = polyhedral_complex(DEGENERATE["dead neuron and zero rows"])
    assert np.all(z.region_signs[:, 1] == 0) and np.all(z.region_signs[:, 2] == 1)
    assert np.all(z.region_signs[:, 0] == -1)


_small_int = st.integers(-2, 2)


@st.composite
def integer_nets(draw):
    """Small integer weights: hyperplanes through box vertices, parallel, duplicate, zero."""
    d = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 3))
    widths = [d] + [draw(st.integers(1, 5 if d == 3 else 7)) for _ in range(depth)]
    pairs = []
    for i, o in zip(widths[:-1], widths[1:]):
        W = np.array(draw(st.lists(_small_int, min_size=o * i, max_size=o * i)), dtype=float).reshape(o, i)
        b = np.array(draw(st.lists(_small_int, min_size=o, max_size=o)), dtype=float) / 2
        pairs.append((W, b))
    pairs.append((np.ones((1, widths[-1])), np.zeros(1)))
    return pairs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(integer_nets(), st.sampled_from([1e-10, 1e-6]))
def test_integer_networks_degenerate_positions(pairs, tol):
    pc = polyhedral_complex(pairs, tol=tol)
    assert_valid(pc, n_samples=400)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.lists(st.integers(2, 30), min_size=1, max_size=4), st.integers(0, 2**32 - 1))
def test_hypothesis_random_networks(d, hidden, seed):
    if d == 3:
        hidden = [min(h, 10) for h in hidden]
    pc = polyhedral_complex(random_net([d] + hidden, seed))
    assert_valid(pc, n_samples=300, seed=seed)


def _scaled_rational_net(rng):
    """Few distinct rational weights (coincidences everywhere) and per-layer scales from
    1e-6 to 1e6 (a dynamic range that puts many values inside the tolerance band)."""
    d = int(rng.integers(1, 4))
    widths = [d] + [int(rng.integers(1, 8 if d < 3 else 5)) for _ in range(int(rng.integers(1, 4)))]
    pairs = []
    for i, o in zip(widths[:-1], widths[1:]):
        W = rng.choice([-2, -1, -0.5, 0, 0.5, 1, 2, 1 / 3], size=(o, i))
        b = rng.choice([-1, -0.5, 0, 0.5, 1, 1 / 3], size=o)
        scale = 10.0 ** rng.integers(-6, 7)
        pairs.append((W * scale, b * scale))
    pairs.append((np.ones((1, widths[-1])), np.zeros(1)))
    return pairs


def test_scaled_rational_networks():
    rng = np.random.default_rng(77)
    for i in range(100):
        pc = polyhedral_complex(_scaled_rational_net(rng))
        assert_valid(pc, n_samples=200, seed=i, min_certain=0.0)


@pytest.mark.slow
def test_scaled_rational_networks_many():
    rng = np.random.default_rng(78)
    for i in range(2000):
        pc = polyhedral_complex(_scaled_rational_net(rng))
        assert_valid(pc, n_samples=200, seed=i, min_certain=0.0)


# --------------------------------------------------------------------------- d = 1


def _brute_roots_1d(pairs, lo=-1.0, hi=1.0, n=400_001):
    """Roots of every hidden neuron's pre-activation on [lo, hi] by dense evaluation and
    bisection (independent of the construction)."""

    def pre(x):
        h = np.asarray(x, dtype=float).reshape(-1, 1)
        out = []
        for W, b in pairs[:-1]:
            z = h @ W.T + b
            out.append(z)
            h = np.maximum(z, 0)
        return np.concatenate(out, axis=1)

    x = np.linspace(lo, hi, n)
    Z = pre(x)
    roots = []
    for j in range(Z.shape[1]):
        s = np.sign(Z[:, j])
        idx = np.flatnonzero(s[:-1] * s[1:] < 0)
        for i in idx:
            a, b = x[i], x[i + 1]
            fa = pre(a)[0, j]
            for _ in range(80):
                m = 0.5 * (a + b)
                fm = pre(m)[0, j]
                if (fm > 0) == (fa > 0):
                    a, fa = m, fm
                else:
                    b = m
            roots.append(0.5 * (a + b))
        roots.extend(x[s == 0])  # exact zeros on the grid
    roots = np.sort(np.r_[roots, lo, hi])
    keep = np.r_[True, np.diff(roots) > 1e-9]
    return roots[keep]


@pytest.mark.parametrize("seed", range(12))
def test_d1_vertices_are_the_sorted_roots(seed):
    rng = np.random.default_rng(seed)
    widths = [1] + [int(rng.integers(2, 9)) for _ in range(int(rng.integers(1, 4)))]
    pairs = random_net(widths, seed)
    pc = polyhedral_complex(pairs)
    v = np.sort(pc.vertices[:, 0])
    expected = _brute_roots_1d(pairs)
    assert v.shape == expected.shape, (v, expected)
    np.testing.assert_allclose(v, expected, atol=1e-9)
    # In d = 1 the complex is a path: f = (n + 2, n + 1) for n interior roots.
    assert pc.f_vector.tolist() == [v.size, v.size - 1]


# --------------------------------------------------------------------------- closed forms


def _line_arrangement_f_vector(W, b):
    """f-vector of n lines in general position cut to [-1, 1]^2, counted independently.

    With m lines crossing the open square (each enters and leaves through two box-edge
    interiors) and I pairwise intersection points inside the open square:
    V = 4 + 2m + I (corners, crossings, intersections); E = (4 + 2m) box pieces +
    (m + 2I) line pieces (each interior intersection adds a piece to two lines);
    F = 1 + m + I (each line adds 1 + its interior intersections). χ = V - E + F = 1.
    """
    crosses = []
    for w, c in zip(W, b):
        corners = np.array(list(itertools.product([-1, 1], repeat=2))) @ w + c
        crosses.append(corners.min() < 0 < corners.max())
    crosses = np.array(crosses)
    W, b = W[crosses], b[crosses]
    m = W.shape[0]
    inter = 0
    for i in range(m):
        for j in range(i + 1, m):
            x = np.linalg.solve(np.stack([W[i], W[j]]), -np.array([b[i], b[j]]))
            inter += bool(np.all(np.abs(x) < 1))
    return [4 + 2 * m + inter, 4 + 3 * m + 2 * inter, 1 + m + inter]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 25, 60])
def test_one_layer_line_arrangement_closed_form(n):
    for seed in range(4):
        rng = np.random.default_rng(1000 * n + seed)
        W = rng.normal(size=(n, 2))
        b = rng.uniform(-1, 1, n) * np.linalg.norm(W, axis=1)
        pc = polyhedral_complex(_single_layer(W, b))
        assert pc.f_vector.tolist() == _line_arrangement_f_vector(W, b)


def test_one_neuron_f_vectors():
    # A line crossing the square: 6 vertices, 7 edges, 2 regions.
    assert polyhedral_complex(_single_layer([[1, 0.3]], [0.2])).f_vector.tolist() == [6, 7, 2]
    # A plane cutting one corner off the cube: 3 new vertices, 3+3 new edges, 1+1 faces.
    pc = polyhedral_complex(_single_layer([[1, 1, 1]], [-2.5]))
    assert pc.f_vector.tolist() == [8 + 3, 12 + 3 + 3, 6 + 3 + 1, 2]
    # A plane x = 0.3: cuts 4 edges, 4 faces, the cube.
    pc = polyhedral_complex(_single_layer([[1, 0, 0]], [-0.3]))
    assert pc.f_vector.tolist() == [12, 20, 11, 2]
    # d = 1, n distinct roots inside: f = (n + 2, n + 1).
    pc = polyhedral_complex(_single_layer([[1], [2], [-1], [3]], [0.1, 0.5, 0.7, -2.0]))
    assert pc.f_vector.tolist() == [6, 5]


def test_one_layer_planes_3d_regions_closed_form():
    """n planes in general position cutting the cube: f_3 = 1 + n + L + P, with L the
    pairs whose line meets the open cube and P the triples meeting inside it (each new
    plane adds 1 + the regions of its own 2-d arrangement)."""
    rng = np.random.default_rng(5)
    for n in (1, 3, 6, 9):
        W = rng.normal(size=(n, 3))
        b = rng.uniform(-0.8, 0.8, n) * np.linalg.norm(W, axis=1)
        pc = polyhedral_complex(_single_layer(W, b))
        cube = np.array(list(itertools.product([-1, 1], repeat=3)), dtype=float)
        assert all((cube @ w + c).min() < 0 < (cube @ w + c).max() for w, c in zip(W, b))
        # Pairs: the line x0 + t u meets the open cube iff the intervals of t where
        # |x0_i + t u_i| < 1 intersect (computed exactly per coordinate).
        L = 0
        for i, j in itertools.combinations(range(n), 2):
            A = np.stack([W[i], W[j]])
            x0 = np.linalg.lstsq(A, -np.array([b[i], b[j]]), rcond=None)[0]
            u = np.cross(W[i], W[j])
            t_lo, t_hi = -np.inf, np.inf
            for xi, ui in zip(x0, u):
                if ui == 0:
                    t_lo, t_hi = (t_lo, t_hi) if abs(xi) < 1 else (1.0, -1.0)
                else:
                    e1, e2 = sorted(((-1 - xi) / ui, (1 - xi) / ui))
                    t_lo, t_hi = max(t_lo, e1), min(t_hi, e2)
            L += bool(t_lo < t_hi)
        P = 0
        for i, j, k in itertools.combinations(range(n), 3):
            x = np.linalg.solve(W[[i, j, k]], -b[[i, j, k]])
            P += bool(np.all(np.abs(x) < 1))
        assert pc.f_vector[3] == 1 + n + L + P


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_coordinate_hyperplanes_give_the_cubical_grid(d):
    """The d coordinate hyperplanes through the centre (each one through cells made by the
    previous ones: maximal degeneracy) cut [-1, 1]^d into 2^d cubes; the k-faces of that
    grid number C(d, k) 2^k 3^(d-k) (choose the k free axes, a half-interval on each, and
    one of 3 levels on the others)."""
    from math import comb

    pc = polyhedral_complex(_single_layer(np.eye(d), np.zeros(d)))
    assert pc.f_vector.tolist() == [comb(d, k) * 2**k * 3 ** (d - k) for k in range(d + 1)]
    assert_valid(pc, n_samples=500)


@pytest.mark.parametrize("d, widths", [(1, [9, 9, 5]), (2, [15, 15, 10]), (2, [40, 40]), (3, [8, 8]), (3, [14])])
def test_regions_tile_the_box(d, widths):
    """The regions' measures add up to the box's (each region is the convex hull of its
    vertices; lengths/areas/volumes computed independently of the construction)."""
    pc = polyhedral_complex(random_net([d] + widths, seed=sum(widths)), box=(-1.0, 2.0))
    indptr, indices = pc.cell_vertices(d)
    measures = []
    for r in range(pc.n_regions):
        pts = pc.vertices[indices[indptr[r] : indptr[r + 1]]]
        if d == 1:
            measures.append(pts.max() - pts.min())
        elif d == 2:
            c = pts.mean(axis=0)
            p = pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))]
            measures.append(0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1))))
        else:
            from scipy.spatial import ConvexHull

            measures.append(ConvexHull(pts).volume)
    assert min(measures) > 0
    assert sum(measures) == pytest.approx(3.0**d, rel=1e-9)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_region_adjacency_is_exact(d):
    """Regions sharing a facet differ exactly in the neurons containing that facet (one,
    in general position); boundary facets have one region; the dual graph is connected."""
    pc = polyhedral_complex(random_net([d, 12, 10, 6], seed=40 + d))
    pairs, facets = pc.region_adjacency()
    R = pc.region_signs
    S = pc.signs(d - 1)[facets]
    diff = R[pairs[:, 0]] != R[pairs[:, 1]]
    np.testing.assert_array_equal(diff, S == 0)
    assert np.all(diff.sum(axis=1) == 1)
    deg = np.diff(pc.boundary(d).tocsr().indptr)
    on_box = np.isclose(pc.cell_points(d - 1), pc.lo).any(axis=1) | np.isclose(pc.cell_points(d - 1), pc.hi).any(axis=1)
    np.testing.assert_array_equal(deg == 1, on_box)
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = pc.n_regions
    A = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    assert connected_components(A, directed=False)[0] == 1
