"""The polyhedral complex at any scale (issue 8, item 1): boxes from 1e-3 to 1e12, weights
from 1e-100 to 1e160, and a self-check that a consistent but wrong complex cannot pass.

Independent references: the forward pass of the network at sampled points, nested boxes
(each region of a box is a region of a larger box cut to the smaller one, so its sign
vector is among the larger box's), scale-invariant arrangements (hyperplanes through the
origin), and exact rescalings of the network by powers of two.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nntopo.polyhedral import polyhedral_complex
from nntopo.polyhedral import _subdivision
from nntopo.polyhedral import complex as complex_mod
from nntopo.polyhedral.complex import ComplexCheckError, PolyhedralComplex

U = 2.0**-53


def normal_net(d, widths, seed, out=1):
    """Standard normal weights and biases (features of size about 1 near the origin)."""
    rng = np.random.default_rng(seed)
    ws = [d] + list(widths) + [out]
    return [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(ws[:-1], ws[1:])]


def integer_net(d, widths, seed):
    rng = np.random.default_rng(seed)
    ws = [d] + list(widths) + [1]
    return [(rng.integers(-2, 3, size=(o, i)).astype(float), rng.integers(-2, 3, size=o) / 2) for i, o in zip(ws[:-1], ws[1:])]


def forward(pairs, P, layer_scale=1.0):
    """Pre-activations (n, N), term sizes |W||h| + |b| and a running rounding bound, in
    float64. With ``layer_scale = c`` the pre-activations of layer l are computed divided
    by ``c**l`` (weights divided by c, the bias of layer l by ``c**l``), for networks whose
    plain forward pass overflows; the signs are the network's."""
    h = np.asarray(P, dtype=float)
    err = np.zeros_like(h)
    zs, ts, es = [], [], []
    for layer, (W, b) in enumerate(pairs[:-1]):
        W, b = W / layer_scale, b / layer_scale / layer_scale**layer
        z = h @ W.T + b
        T = np.abs(h) @ np.abs(W).T + np.abs(b)
        err = err @ np.abs(W).T + (W.shape[1] + 2) * U * T
        zs.append(z)
        ts.append(T)
        es.append(err)
        err = np.where(z < -err, 0.0, err)
        h = np.maximum(z, 0.0)
    return np.concatenate(zs, axis=1), np.concatenate(ts, axis=1), np.concatenate(es, axis=1)


def assert_points_get_their_region(pc, P, pairs=None, layer_scale=1.0, margin=1e-9):
    """Points whose every pre-activation is clear of zero (``|z| > margin T``) must be put
    in a region with their forward-pass sign vector. Returns how many were checked."""
    Z, T, E = forward(pc.weights if pairs is None else pairs, P, layer_scale)
    clear = np.all(np.abs(Z) > margin * T + 8 * E, axis=1)
    r = pc.region_of(P[clear])
    assert np.all(r >= 0)
    np.testing.assert_array_equal(pc.region_signs[r], np.sign(Z[clear]).astype(np.int8))
    return int(clear.sum())


def sign_set(pc):
    return {row.tobytes() for row in pc.region_signs}


# --------------------------------------------------------------------------- the issue


def _issue_net():
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in ((2, 5), (5, 4), (4, 2))]


def test_issue_reproducer_region_counts_do_not_drop():
    """Was 47, 39, 22: the tolerance grew with the box and merged the regions near the
    origin. All boxes from 1e2 on contain every region of the arrangement."""
    counts = [polyhedral_complex(_issue_net(), box=(-B, B)).n_regions for B in (1e6, 1e9, 1e10)]
    assert counts == [47, 47, 47]


def test_issue_reproducer_points_near_the_origin_get_their_region():
    """Was: in the 1e10 box, points near the origin got regions whose sign vectors
    contradicted their activation pattern."""
    w = _issue_net()
    pc = polyhedral_complex(w, box=(-1e10, 1e10))
    P = np.random.default_rng(1).uniform(-3, 3, (3000, 2))
    assert assert_points_get_their_region(pc, P) > 2900


# --------------------------------------------------------------------------- boxes

BOXES = [10.0**k for k in (-3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 10, 12)]


@pytest.mark.parametrize(
    "d, widths, seed",
    [(1, [6, 5], 0), (1, [10, 10, 10], 1), (2, [5, 4], 0), (2, [8, 8, 6], 1), (2, [12], 2),
     (3, [5, 4], 1), (3, [6, 6, 4], 2)],
)  # fmt: skip
def test_nested_boxes_give_nested_sign_vectors(d, widths, seed):
    """Each region of a box is a region of any larger box cut to it, so the sets of region
    sign vectors are nested and the counts never decrease, from 1e-3 to 1e12."""
    w = normal_net(d, widths, seed)
    prev, counts = None, []
    for B in BOXES:
        pc = polyhedral_complex(w, box=(-B, B))
        cur = sign_set(pc)
        if prev is not None:
            assert prev <= cur, f"box {B:g}: a region of the smaller box is missing"
        prev = cur
        counts.append(pc.n_regions)
    assert counts == sorted(counts) and counts[-1] > 10


@pytest.mark.parametrize("d, widths, seed", [(2, [7, 8], 0), (2, [4, 6, 5], 1), (3, [5, 2, 4], 2), (3, [4, 4, 2], 3)])
def test_nested_boxes_integer_networks(d, widths, seed):
    """Integer weights and half-integer biases: hyperplanes through box corners and
    parallel to each other, within 1e-12 of far corners in the largest boxes."""
    w = integer_net(d, widths, seed)
    prev = None
    for B in BOXES:
        cur = sign_set(polyhedral_complex(w, box=(-B, B)))
        assert prev is None or prev <= cur, f"box {B:g}"
        prev = cur


SCALE_FREE = {
    "six lines through the centre": [np.array([[np.cos(t), np.sin(t)] for t in np.linspace(0, np.pi, 7)[:-1]])],
    "integer lines through the centre": [np.array([[1.0, 0], [0, 1], [1, 1], [1, -1], [2, 1]])],
    "3d planes containing one axis": [np.array([[1.0, 0, 0], [0, 1, 0], [1, 1, 0], [1, -1, 0]])],
    "deep, all through the centre": [np.array([[1.0, 0], [0, 1], [1, 1], [1, -1]]), np.array([[1.0, -1, 0, 0], [0, 0, 1, -1], [1, 1, -1, 0]])],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCALE_FREE))
@pytest.mark.parametrize("B", [2.0**-200, 1e-8, 1e8, 1e12, 2.0**500])
def test_arrangements_through_the_origin_look_the_same_in_every_box(name, B):
    """Hyperplanes through the origin (zero biases) cut every box centred there alike:
    same f-vector and sign vectors as in [-1, 1]^d. The vertex at the centre is made by
    interpolation between far corners (off by about u B), so the other hyperplanes through
    it are decided exactly, not by floats."""
    Ws = SCALE_FREE[name]
    pairs = [(W, np.zeros(W.shape[0])) for W in Ws] + [(np.ones((1, Ws[-1].shape[0])), np.zeros(1))]
    ref = polyhedral_complex(pairs)
    pc = polyhedral_complex(pairs, box=(-B, B))
    assert pc.f_vector.tolist() == ref.f_vector.tolist()
    np.testing.assert_array_equal(pc.vertex_signs, ref.vertex_signs)
    np.testing.assert_allclose(pc.vertices / B, ref.vertices, atol=1e-12)
    if np.log2(B) == round(np.log2(B)):  # a power of two scales every float exactly
        np.testing.assert_array_equal(pc.vertices, ref.vertices * B)


@pytest.mark.parametrize("B", [1.0, 1e6, 1e12])
@pytest.mark.parametrize("d, widths, seed", [(1, [8, 8], 3), (2, [10, 10, 6], 4), (3, [8, 6], 5)])
def test_sampled_points_get_the_region_of_their_activation_pattern(d, widths, seed, B):
    """Points over the whole box and near its centre: the region ``region_of`` gives has
    the point's forward-pass sign vector, for every point not within 1e-9 of a hyperplane
    (relative to the terms of the pre-activation there)."""
    w = normal_net(d, widths, seed)
    pc = polyhedral_complex(w, box=(-B, B))
    rng = np.random.default_rng(seed)
    P = np.concatenate([rng.uniform(-B, B, (1000, d)), rng.uniform(-min(B, 4.0), min(B, 4.0), (1000, d))])
    assert assert_points_get_their_region(pc, P) > 1900


def test_vertices_near_the_centre_of_a_huge_box_are_where_they_are_in_a_small_one():
    """Every vertex of the complex on [-4, 4]^2 not on its boundary is a vertex of the
    complex on [-1e10, 1e10]^2, at the same place up to the rounding of coordinates that
    were interpolated between points 1e10 away."""
    w = _issue_net()
    small = polyhedral_complex(w, box=(-4.0, 4.0))
    big = polyhedral_complex(w, box=(-1e10, 1e10))
    inner = np.all(np.abs(small.vertices) < 4.0, axis=1)
    assert inner.sum() > 20
    for v, s in zip(small.vertices[inner], small.vertex_signs[inner]):
        match = np.flatnonzero(np.all(big.vertex_signs == s, axis=1))
        assert match.size == 1
        assert np.abs(big.vertices[match[0]] - v).max() <= 1e10 * 1e-12


# --------------------------------------------------------------------------- weights


def _prescale(pairs, c):
    """The same network with every hidden pre-activation multiplied by ``c`` (first layer
    times c, later biases times c); the output layer's bias too."""
    out = [(pairs[0][0] * c, pairs[0][1] * c)]
    return out + [(W, b * c) for W, b in pairs[1:]]


def _rescale_neurons(pairs, exponents_per_layer):
    """Divide hidden neuron n of layer l by 2**e (its row and bias) and multiply the next
    layer's column n by 2**e: ReLU is positively homogeneous, so no sign changes."""
    out = [(W.copy(), b.copy()) for W, b in pairs]
    for layer, e in enumerate(exponents_per_layer):
        W, b = out[layer]
        out[layer] = (np.ldexp(W, -e[:, None]), np.ldexp(b, -e))
        Wn, bn = out[layer + 1]
        out[layer + 1] = (np.ldexp(Wn, e[None, :]), bn)
    return out


@pytest.mark.parametrize("d, widths, seed", [(2, [6, 6, 4], 0), (3, [5, 4], 1), (1, [7, 7], 2)])
def test_power_of_two_rescalings_give_the_same_complex_bit_for_bit(d, widths, seed):
    """Neurons rescaled by independent powers of two from 2**-330 to 2**330 (1e-100 to
    1e100), and the input by 2**40 (box and first layer together): the rescaled network
    computes the same signs, and the construction, run on a normalised copy, gives the
    same complex exactly (vertices times 2**40)."""
    w = normal_net(d, widths, seed)
    rng = np.random.default_rng(seed)
    ref = polyhedral_complex(w)
    scaled = _rescale_neurons(w, [rng.integers(-330, 331, size=n) for n in widths])
    scaled[0] = (np.ldexp(scaled[0][0], -40), scaled[0][1])
    pc = polyhedral_complex(scaled, box=(-(2.0**40), 2.0**40))
    assert pc.f_vector.tolist() == ref.f_vector.tolist()
    np.testing.assert_array_equal(pc.vertex_signs, ref.vertex_signs)
    np.testing.assert_array_equal(pc.vertices, np.ldexp(ref.vertices, 40))
    np.testing.assert_array_equal(pc.edges, ref.edges)
    for k in range(2, d + 1):
        assert (pc.boundary(k) != ref.boundary(k)).nnz == 0


def _margin(pc):
    """Smallest |z| / (|W||h| + |b|) over the nonzero vertex signs: how far every decision
    of the construction is from flipping."""
    Z, T, _ = forward(pc.weights, pc.vertices)
    nz = pc.vertex_signs != 0
    return float((np.abs(Z[nz]) / T[nz]).min())


@pytest.mark.parametrize("k", [-100, -30, -5, 5, 30, 100])
def test_power_of_ten_rescalings_give_the_same_complex(k):
    """Every pre-activation times 10**k. The rescaled weights are rounded, so the network
    differs from an exact rescaling by a relative 2**-53 per coefficient; every decision
    of the unscaled complex clears that by far (its margin is checked), so the complex has
    the same cells, sign vectors and vertices (to rounding)."""
    w = normal_net(2, [8, 8, 5], 7)
    ref = polyhedral_complex(w)
    assert _margin(ref) > 1e-9
    pc = polyhedral_complex(_prescale(w, 10.0**k))
    assert pc.f_vector.tolist() == ref.f_vector.tolist()
    np.testing.assert_array_equal(pc.vertex_signs, ref.vertex_signs)
    np.testing.assert_allclose(pc.vertices, ref.vertices, rtol=0, atol=1e-12)


def test_weights_times_1e160_keep_every_layer():
    """All weights and biases times 1e160: the plain forward pass overflows from the second
    layer on (this silently dropped the second layer); the construction must not warn and
    must cut by every layer. The signs are checked against a forward pass that divides
    every layer by 1e160."""
    w = normal_net(2, [6, 5], 3)
    big = [(W * 1e160, b * 1e160) for W, b in w]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pc = polyhedral_complex(big)
        layer1_only = polyhedral_complex([big[0], (np.ones((1, 6)), np.zeros(1))])
    assert pc.n_hidden == 11
    assert pc.n_regions > layer1_only.n_regions
    layer2 = pc.region_signs[:, 6:]
    assert np.any(layer2 > 0) and np.any(layer2 < 0)
    P = np.random.default_rng(0).uniform(-1, 1, (3000, 2))
    assert assert_points_get_their_region(pc, P, pairs=big, layer_scale=1e160) > 2800


# --------------------------------------------------------------------------- self-check


def _built():
    return polyhedral_complex(normal_net(2, [10, 8], 11))


def test_check_rejects_a_flipped_region_sign():
    pc = _built()
    Z, T, _ = forward(pc.weights, pc.interior_points)
    r, n = np.unravel_index(np.argmax(np.abs(Z) / T), Z.shape)
    pc.region_signs[r, n] *= -1  # corrupt the cached sign vectors
    with pytest.raises(ComplexCheckError, match=rf"region {r}: hidden neuron {n} "):
        pc.check()


def test_check_rejects_a_region_sign_set_to_zero():
    pc = _built()
    pc.region_signs[3, 2] = 0
    with pytest.raises(ComplexCheckError, match="region 3: hidden neuron 2 "):
        pc.check()


def test_check_rejects_a_vertex_put_on_a_hyperplane_it_is_not_on():
    """What merging too coarsely does: a vertex said to lie on a hyperplane."""
    pc = _built()
    v = int(np.argmax(np.abs(pc.vertices).sum(axis=1) * (np.abs(pc.vertex_signs).sum(axis=1) == pc.n_hidden)))
    raw = pc._raw
    signs = raw.vertex_signs.copy()
    signs[v, 4] = 0
    bad = PolyhedralComplex(
        _subdivision.RawComplex(raw.vertices, signs, raw.edges, raw.pairs, raw.counts, raw.vertex_error, raw.vertex_scale),
        pc.weights, pc.lo, pc.hi, pc.tol,
    )  # fmt: skip
    with pytest.raises(ComplexCheckError, match=rf"vertex {v} .*hidden neuron 4 "):
        bad.check()


def test_check_rejects_the_consistent_complex_of_a_nearby_network():
    """A complex that is a valid complex (Euler characteristic 1, ∂∂ = 0), but of the
    network with the bias of one second-layer neuron that cuts the box moved by 1e-6,
    labelled with the original network."""
    w = normal_net(2, [10, 8], 11)
    lo, hi = -np.ones(2), np.ones(2)
    cuts = np.flatnonzero((polyhedral_complex(w).vertex_signs[:, 10:] == 0).any(axis=0))
    n = 10 + int(cuts[0])
    near = [(W.copy(), b.copy()) for W, b in w]
    near[1][1][n - 10] += 1e-6
    raw = _subdivision.build(near, lo, hi, 1e-15)
    PolyhedralComplex(raw, near, lo, hi, 1e-15).check()
    with pytest.raises(ComplexCheckError, match=f"hidden neuron {n} "):
        PolyhedralComplex(raw, w, lo, hi, 1e-15).check()


def test_check_rejects_a_missing_cut():
    """The complex of the network without one neuron's hyperplane (its row zeroed)
    labelled with the full network: regions straddle that hyperplane."""
    w = normal_net(2, [10, 8], 11)
    cut_out = [(W.copy(), b.copy()) for W, b in w]
    cut_out[0][0][5] = 0.0
    cut_out[0][1][5] = -1.0  # the neuron is now off everywhere: its signs read -1
    lo, hi = -np.ones(2), np.ones(2)
    raw = _subdivision.build(cut_out, lo, hi, 1e-15)
    with pytest.raises(ComplexCheckError, match="hidden neuron 5"):
        PolyhedralComplex(raw, w, lo, hi, 1e-15).check()


def test_failed_cut_or_check_retries_with_a_finer_tolerance(monkeypatch, caplog):
    """A cut no hyperplane could make, or a complex failing its check, can only come from
    merging or from trusting an interpolated value too far: the build starts again with a
    1000 times finer tolerance and a 1000 times wider trust band, then with no merging."""
    real_build = _subdivision.build
    seen = []

    def flaky_build(weights, lo, hi, tol, trust):
        seen.append((tol, trust))
        if len(seen) <= fails:
            raise _subdivision.DegenerateCutError("neuron 3: forced for the test")
        return real_build(weights, lo, hi, tol, trust)

    monkeypatch.setattr(complex_mod, "build", flaky_build)
    fails = 1
    with caplog.at_level("WARNING", logger="nntopo"):
        pc = polyhedral_complex(normal_net(2, [10, 10], 3))
    assert seen == [(1e-15, 1e-10), (pytest.approx(1e-18), pytest.approx(1e-7))]
    assert pc.tol == pytest.approx(1e-18)
    assert "finer tolerance" in caplog.text
    seen.clear()
    fails = 2
    pc = polyhedral_complex(normal_net(2, [10, 10], 3))
    assert [t for t, _ in seen] == [1e-15, pytest.approx(1e-18), 5e-324]
    assert pc.tol == 5e-324 and seen[2][1] == pytest.approx(1e-4)

    seen.clear()
    real_check = PolyhedralComplex.check
    calls = []

    def check_fails_once(self, level="network"):
        calls.append(level)
        if len(calls) == 1:
            raise ComplexCheckError("forced for the test")
        real_check(self, level)

    monkeypatch.setattr(complex_mod, "build", real_build)
    monkeypatch.setattr(PolyhedralComplex, "check", check_fails_once)
    assert polyhedral_complex(normal_net(2, [10, 10], 3)).tol == pytest.approx(1e-18)
    assert calls == ["network", "network"]  # the level asked for is the level run
    calls.clear()
    assert polyhedral_complex(normal_net(2, [10, 10], 3), check="combinatorial").tol == pytest.approx(1e-18)
    assert calls == ["combinatorial", "combinatorial"]
    calls.clear()
    assert polyhedral_complex(normal_net(2, [10, 10], 3), check="none").tol == 1e-15
    assert calls == []

    def always_bad(weights, lo, hi, tol, trust):
        raise _subdivision.DegenerateCutError("forced")

    monkeypatch.setattr(complex_mod, "build", always_bad)
    with pytest.raises(_subdivision.DegenerateCutError, match="could not build"):
        polyhedral_complex(normal_net(2, [3], 0))


# --------------------------------------------------------------------------- internals


def _exact_pre_activations(pairs, x):
    """Hidden pre-activations at one point in rational arithmetic (floats are exact
    rationals): the signs of the network as written, whatever its scale."""
    from fractions import Fraction

    h = [Fraction(float(v)) for v in x]
    out = []
    for W, b in pairs[:-1]:
        z = [sum((Fraction(float(w)) * hv for w, hv in zip(row, h)), Fraction(float(bb))) for row, bb in zip(W, b)]
        out.extend(z)
        h = [max(v, Fraction(0)) for v in z]
    return out


def test_point_signs_are_the_exact_signs_of_a_badly_scaled_network():
    """Layers scaled by 1e-150 .. 1e150 (the plain float forward pass under- and
    overflows): ``point_signs`` runs on the normalised network and must give the signs of
    exact rational arithmetic, except 0 where the value is within its tolerance band."""
    rng = np.random.default_rng(5)
    pairs = normal_net(2, [5, 4, 3], 8)
    pairs = [(W * s, b * s) for (W, b), s in zip(pairs, (1e150, 1e-150, 1e120, 1.0))]
    pc = polyhedral_complex(pairs, box=(-3.0, 3.0))
    P = rng.uniform(-3, 3, (60, 2))
    got = pc.point_signs(P)
    for p, s in zip(P, got):
        exact = np.array([(z > 0) - (z < 0) for z in _exact_pre_activations(pairs, p)], dtype=np.int8)
        assert np.all((s == exact) | (s == 0))
        assert (s == exact).mean() > 0.9


def test_sign_rows_during_the_construction_match_the_final_signs():
    """The sign vectors the construction rebuilds from parents for uncertain vertices
    (``_sign_rows``) are those it assembles at the end."""
    w = normal_net(2, [6, 5, 4], 9)
    lo, hi = -np.ones(2), np.ones(2)
    hidden, e_in = _subdivision.normalize_network(w, lo, hi)
    st = _subdivision._State(hidden, np.ldexp(lo, -e_in), np.ldexp(hi, -e_in), 1e-15, 1e-10)
    g = 0
    for layer in range(len(hidden)):
        st.start_layer(layer)
        for j in range(hidden[layer][0].shape[0]):
            st.cut(j, g)
            g += 1
    raw = st.result(e_in)
    vs = np.arange(raw.counts[0])
    rows = _subdivision._sign_rows(st.ST, vs, st.n_box, st.pa.a, st.pb.a, st.born.a, g)
    np.testing.assert_array_equal(rows, raw.vertex_signs)


def test_a_vertex_rounding_onto_a_box_edge_is_not_taken_to_lie_on_it():
    """Layer scales 1e86 and 1e-58 make the second layer's biases 1e-95 of its terms, so
    a second-layer hyperplane passes 1e-95 (relative) from a vertex on a box edge: the new
    vertices it makes there have that vertex's coordinates in float64, on the box edge,
    though they lie inside a box face. Box facets come from the vertices' parents, not
    from the rounded coordinates, so the exact vertex is found and the cuts are
    consistent (they were not: "a split 3-cell has a facet inside the hyperplane")."""
    third = 3.3333333333333334e85
    pairs = [
        (np.array([[2e86, -1e86, -5e85], [2e86, -5e85, -1e86], [-5e85, 0.0, -5e85], [third, -1e86, -5e85]]),
         np.array([third, third, 5e85, -1e86])),
        (np.array([[0.0, -5e-59, 2e-58, 1e-58], [0.0, third * 1e-144, -1e-58, 0.0], [-1e-58, 2e-58, -1e-58, -1e-58],
                   [-1e-58, 1e-58, 1e-58, 2e-58]]), np.array([-1e-58, 0.0, -1e-58, 0.0])),
        (np.array([[-5e-96, 0.0, third * 1e-181, 0.0]]), np.array([-1e-95])),
    ]  # fmt: skip
    pc = polyhedral_complex(pairs, box=(-1e8, 1e8))
    assert pc.tol == 1e-15  # the first attempt: no retry needed
    assert pc.n_regions == 70
    P = np.random.default_rng(0).uniform(-1e8, 1e8, (2000, 3))
    assert assert_points_get_their_region(pc, P) > 1500
