"""Random-filtration Betti curves: hand counts, a brute-force Z/2 rank reference, the fast
path against the reduction, lophat as a second library, invariants and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from nntopo.polyhedral import polyhedral_complex
from nntopo.polyhedral.filtration import (
    betti_curves,
    betti_summary,
    curves_to_xarray,
    filtration_orders,
    sample_curves,
    sample_curves_share,
)

METHODS = ("fast", "reduction")


class CellComplex:
    """A complex given by its cells' facets: ``cells[k][c]`` lists the (k-1)-cells of k-cell c."""

    def __init__(self, n_vertices: int, *higher: list[list[int]]) -> None:
        self.f_vector = np.array([n_vertices] + [len(c) for c in higher], dtype=np.int64)
        self._cells = [None, *higher]

    def boundary(self, k: int) -> sp.csr_matrix:
        rows = [r for c in self._cells[k] for r in c]
        cols = [j for j, c in enumerate(self._cells[k]) for _ in c]
        return sp.csr_matrix(
            (np.ones(len(rows), dtype=np.uint8), (rows, cols)), shape=(self.f_vector[k - 1], self.f_vector[k])
        )


def cycle_graph(n: int) -> CellComplex:
    return CellComplex(n, [[i, (i + 1) % n] for i in range(n)])


def filled_square() -> CellComplex:
    return CellComplex(4, [[0, 1], [1, 2], [2, 3], [3, 0]], [[0, 1, 2, 3]])


def hollow_tetrahedron() -> CellComplex:
    edges = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    eid = {tuple(e): i for i, e in enumerate(edges)}
    tris = [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]
    faces = [[eid[(a, b)], eid[(a, c)], eid[(b, c)]] for a, b, c in tris]
    return CellComplex(4, edges, faces)


def projective_plane() -> CellComplex:
    """The 6-vertex triangulation of RP^2 (over Z/2: b = (1, 1, 1))."""
    tris = [(0, 1, 2), (0, 2, 3), (0, 3, 4), (0, 4, 5), (0, 5, 1), (1, 2, 4), (2, 3, 5), (3, 4, 1), (4, 5, 2), (5, 1, 3)]
    edges = sorted({tuple(sorted(p)) for t in tris for p in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2]))})
    eid = {e: i for i, e in enumerate(edges)}
    faces = [[eid[tuple(sorted(p))] for p in ((a, b), (a, c), (b, c))] for a, b, c in tris]
    return CellComplex(6, [list(e) for e in edges], faces)


def net(widths, seed):
    rng = np.random.default_rng(seed)
    pairs = []
    for i, o in zip(widths[:-1], list(widths[1:]) + [1]):
        pairs.append((rng.normal(size=(o, i)), rng.normal(size=o) * 0.5))
    return pairs


# --------------------------------------------------------------------------- independent reference


def gf2_rank(columns: list[int]) -> int:
    """Rank over Z/2 of the columns given as bit masks (plain elimination on Python ints)."""
    basis: dict[int, int] = {}
    for c in columns:
        while c:
            top = c.bit_length() - 1
            if top not in basis:
                basis[top] = c
                break
            c ^= basis[top]
    return len(basis)


def brute_force_curves(cx, orders: list[np.ndarray]) -> np.ndarray:
    """Betti numbers after every prefix of the filtration given by ``orders[k]``, from ranks
    of the boundary matrices restricted to the cells present (no reduction bookkeeping)."""
    f = np.asarray(cx.f_vector)
    d = f.shape[0] - 1
    facets = [None] + [[cx.boundary(k).tocsc()[:, [c]].indices.tolist() for c in range(f[k])] for k in range(1, d + 1)]
    seq = [(k, int(c)) for k in range(d + 1) for c in orders[k]]
    present = [set() for _ in range(d + 1)]
    out = np.zeros((len(seq) + 1, d + 1), dtype=np.int64)
    for i, (k, c) in enumerate(seq, start=1):
        present[k].add(c)
        ranks = [0] * (d + 2)
        for j in range(1, d + 1):
            ranks[j] = gf2_rank([sum(1 << r for r in facets[j][c2]) for c2 in present[j]])
        for j in range(d + 1):
            out[i, j] = len(present[j]) - ranks[j] - ranks[j + 1]
    return out


# --------------------------------------------------------------------------- hand counts


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [3, 5, 8])
def test_cycle_graph_hand_counts(n, method):
    c = betti_curves(cycle_graph(n), n_trials=7, seed=3, method=method)
    want = np.zeros((2 * n + 1, 2))
    want[: n + 1, 0] = np.arange(n + 1)
    # Any n - 1 edges of an n-cycle form a forest: each merges; the last one closes the cycle.
    want[n + 1 : 2 * n, 0] = n - np.arange(1, n)
    want[2 * n] = (1, 1)
    np.testing.assert_array_equal(c, want)


@pytest.mark.parametrize("method", METHODS)
def test_points_only(method):
    np.testing.assert_array_equal(betti_curves(CellComplex(3), 4, 0, method=method), [[0], [1], [2], [3]])


@pytest.mark.parametrize("method", METHODS)
def test_filled_square_hand_counts(method):
    c = betti_curves(filled_square(), n_trials=5, seed=0, method=method)
    want = [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 0, 0), (3, 0, 0), (2, 0, 0), (1, 0, 0), (1, 1, 0), (1, 0, 0)]
    np.testing.assert_array_equal(c, np.array(want, dtype=float))


def test_hollow_tetrahedron_hand_counts():
    c = betti_curves(hollow_tetrahedron(), n_trials=20, seed=1, method="reduction")
    assert c.shape == (15, 3)
    np.testing.assert_array_equal(c[:5, 0], np.arange(5))
    # After the 6 edges of K4: one component and 6 - 4 + 1 = 3 independent cycles, whatever the order.
    np.testing.assert_array_equal(c[10], (1, 3, 0))
    # Three triangles fill three cycles; the fourth closes the sphere: a void.
    np.testing.assert_array_equal(c[11:], [(1, 2, 0), (1, 1, 0), (1, 0, 0), (1, 0, 1)])
    # Cycles appear only with the third edge at the earliest.
    np.testing.assert_array_equal(c[5:7, 1], (0, 0))
    with pytest.raises(ValueError, match="b_2 = 1"):
        betti_curves(hollow_tetrahedron(), n_trials=2, method="fast")


def test_projective_plane_is_z2_homology():
    c = betti_curves(projective_plane(), n_trials=10, seed=2, method="reduction")
    np.testing.assert_array_equal(c[-1], (1, 1, 1))  # over Z it would be (1, 0, 0)
    np.testing.assert_array_equal(c[21], (1, 10, 0))  # 6 vertices, 15 edges: 15 - 6 + 1 cycles


@pytest.mark.parametrize("make", [filled_square, hollow_tetrahedron, projective_plane, lambda: cycle_graph(6)])
def test_reduction_against_brute_force_ranks_hand_made(make):
    cx = make()
    for seed in range(4):
        c = betti_curves(cx, n_trials=1, seed=seed, method="reduction")
        (orders,) = filtration_orders(cx.f_vector, n_trials=1, seed=seed)
        np.testing.assert_array_equal(c, brute_force_curves(cx, orders))


# --------------------------------------------------------------------------- complexes of networks


@pytest.mark.parametrize("widths", [(1, 4, 3), (2, 4, 3), (3, 3, 2), (4, 3)], ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_every_trial_against_brute_force_ranks(widths, method):
    cx = polyhedral_complex(net(widths, 5))
    if cx.dim > 3 and method == "fast":
        with pytest.raises(ValueError, match="dimension <= 3"):
            betti_curves(cx, 1, 0, method="fast")
        return
    for seed in range(3):
        c = betti_curves(cx, n_trials=1, seed=seed, method=method)
        (orders,) = filtration_orders(cx.f_vector, n_trials=1, seed=seed)
        np.testing.assert_array_equal(c, brute_force_curves(cx, orders))


@settings(max_examples=15, deadline=None)
@given(
    d=st.integers(1, 3),
    w1=st.integers(1, 7),
    w2=st.integers(1, 6),
    net_seed=st.integers(0, 10**6),
    seed=st.integers(0, 10**6),
    n_trials=st.integers(1, 6),
)
def test_fast_equals_reduction(d, w1, w2, net_seed, seed, n_trials):
    cx = polyhedral_complex(net((d, w1, w2), net_seed))
    fast = betti_curves(cx, n_trials=n_trials, seed=seed, method="fast")
    red = betti_curves(cx, n_trials=n_trials, seed=seed, method="reduction")
    np.testing.assert_array_equal(fast, red)
    # every trial, one at a time
    keys = np.random.default_rng(seed).integers(0, 2**31, size=n_trials)
    for k in keys:
        np.testing.assert_array_equal(
            betti_curves(cx, 1, int(k), method="fast"), betti_curves(cx, 1, int(k), method="reduction")
        )


@pytest.mark.parametrize("widths", [(2, 12, 10), (3, 10, 8)], ids=str)
def test_fast_equals_reduction_larger(widths):
    cx = polyhedral_complex(net(widths, 11))
    fast = betti_curves(cx, n_trials=10, seed=4, method="fast")
    np.testing.assert_array_equal(fast, betti_curves(cx, n_trials=10, seed=4, method="reduction"))
    d = cx.dim
    f = cx.f_vector
    # b_{d-1} really moves while the (d-1)-cells go in (voids in d = 3, cycles in d = 2)
    start = int(f[: d - 1].sum())
    assert fast[start : start + f[d - 1] + 1, d - 1].max() > 0


@pytest.mark.parametrize("widths", [(1, 5), (2, 6, 4), (3, 4, 3), (4, 3, 2)], ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_curves_on_a_box_end_at_a_point_and_respect_euler(widths, method):
    cx = polyhedral_complex(net(widths, 2))
    if cx.dim > 3 and method == "fast":
        method = "auto"  # the reduction
    c = betti_curves(cx, n_trials=4, seed=0, method=method)
    d = cx.dim
    f = cx.f_vector
    assert c.shape == (f.sum() + 1, d + 1)
    want = np.zeros(d + 1)
    want[0] = 1
    np.testing.assert_array_equal(c[-1], want)
    np.testing.assert_array_equal(c[0], np.zeros(d + 1))
    assert c.min() >= 0
    # Euler characteristic of each prefix: the alternating count of the cells added.
    dims = np.repeat(np.arange(d + 1), f)
    chi = np.concatenate([[0], np.cumsum((-1.0) ** dims)])
    np.testing.assert_allclose(c @ ((-1.0) ** np.arange(d + 1)), chi, atol=1e-9)
    # b_0 peaks when every vertex is in, at f_0
    s = betti_summary(c)
    assert int(s.peak_cells.sel(degree=0)) == f[0] and float(s.peak_value.sel(degree=0)) == f[0]


def test_auto_picks_the_fast_path_and_agrees():
    cx = polyhedral_complex(net((2, 5, 5), 1))
    np.testing.assert_array_equal(betti_curves(cx, 3, 9), betti_curves(cx, 3, 9, method="reduction"))


# --------------------------------------------------------------------------- a second library


def test_reduction_against_lophat():
    lophat = pytest.importorskip("lophat")
    for cx in (polyhedral_complex(net((2, 5, 4), 3)), polyhedral_complex(net((3, 4, 3), 3)), projective_plane()):
        f = np.asarray(cx.f_vector)
        d = f.shape[0] - 1
        offsets = np.concatenate([[0], np.cumsum(f)])
        for seed in range(2):
            (orders,) = filtration_orders(f, n_trials=1, seed=seed)
            pos = [np.empty(n, dtype=np.int64) for n in f]
            for k in range(d + 1):
                pos[k][orders[k]] = offsets[k] + np.arange(f[k])
            cols = []
            for k in range(d + 1):
                B = cx.boundary(k).tocsc() if k else None
                for c in orders[k]:
                    rows = [] if k == 0 else sorted(pos[k - 1][B[:, [int(c)]].indices].tolist())
                    cols.append((k, rows))
            diagram = lophat.compute_pairings(cols)
            delta = np.zeros((offsets[-1] + 1, d + 1), dtype=np.int64)
            dim_of = np.repeat(np.arange(d + 1), f)
            for birth, death in diagram.paired:
                delta[birth + 1, dim_of[birth]] += 1
                delta[death + 1, dim_of[birth]] -= 1
            for birth in diagram.unpaired:
                delta[birth + 1, dim_of[birth]] += 1
            np.testing.assert_array_equal(
                betti_curves(cx, 1, seed, method="reduction"), np.cumsum(delta, axis=0).astype(float)
            )


# --------------------------------------------------------------------------- seeds, summaries, sampling


def test_seeded_reproducible():
    cx = polyhedral_complex(net((2, 6, 6), 0))
    a = betti_curves(cx, 5, seed=12)
    np.testing.assert_array_equal(a, betti_curves(cx, 5, seed=12))
    assert not np.array_equal(a, betti_curves(cx, 5, seed=13))
    g1, g2 = np.random.default_rng(4), np.random.default_rng(4)
    np.testing.assert_array_equal(betti_curves(cx, 5, seed=g1), betti_curves(cx, 5, seed=g2))
    assert betti_curves(cx, 2, seed=None).shape == a.shape
    # the orders are permutations
    for row in filtration_orders(cx.f_vector, 3, seed=1):
        for k, perm in enumerate(row):
            np.testing.assert_array_equal(np.sort(perm), np.arange(cx.f_vector[k]))


def test_orders_are_uniform():
    # every one of the 3! orders of 3 cells appears about equally often
    counts: dict[tuple, int] = {}
    for row in filtration_orders([3], n_trials=6000, seed=0):
        key = tuple(row[0].tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6
    assert all(abs(v - 1000) < 150 for v in counts.values())


def test_summary_of_the_filled_square():
    c = betti_curves(filled_square(), 3, 0)
    s = betti_summary(c)
    np.testing.assert_array_equal(s.peak_cells.values, [4, 8, 0])
    np.testing.assert_allclose(s.peak_share.values, [4 / 9, 8 / 9, 0])
    np.testing.assert_array_equal(s.peak_value.values, [4, 1, 0])
    assert s.attrs["critical_cells"] == 8 and s.attrs["critical_share"] == pytest.approx(8 / 9)
    assert s.attrs["n_cells"] == 9


def test_summary_of_a_two_dimensional_complex():
    cx = polyhedral_complex(net((2, 8, 8), 6))
    f = cx.f_vector
    s = betti_summary(betti_curves(cx, 20, 0))
    # b_1 never falls while edges go in and falls at every 2-cell; averaged, it rises at
    # every edge unless every trial's edge there merges, so it peaks with the last edge,
    # at f0 + f1 cells, with the value f_2 the 2-cells then fill: in d = 2 the critical
    # filtration value is the f-vector's (f0 + f1) / (f0 + f1 + f2).
    assert s.attrs["critical_cells"] == f[0] + f[1]
    assert s.attrs["critical_share"] == (f[0] + f[1]) / f.sum()
    assert float(s.peak_value.sel(degree=1)) == f[2]


def test_sampling_and_xarray():
    c = betti_curves(filled_square(), 2, 0)
    np.testing.assert_array_equal(sample_curves(c, [0, 4, 9]), c[[0, 4, 9]])
    assert np.isnan(sample_curves(c, [10, 50])).all()
    np.testing.assert_array_equal(sample_curves_share(c, np.arange(10) / 9), c)
    np.testing.assert_array_equal(sample_curves_share(c, [0.5]), c[[4]])
    da = curves_to_xarray(c)
    assert da.dims == ("cells_added", "degree")
    np.testing.assert_allclose(da.share.values, np.arange(10) / 9)
    assert float(da.sel(cells_added=8, degree=1)) == 1.0
    with pytest.raises(ValueError, match="shares"):
        sample_curves_share(c, [1.5])
    with pytest.raises(ValueError, match="cells"):
        sample_curves(c, [-1])


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs():
    cx = filled_square()
    with pytest.raises(ValueError, match="n_trials"):
        betti_curves(cx, n_trials=0)
    with pytest.raises(TypeError, match="n_trials"):
        betti_curves(cx, n_trials=2.0)
    with pytest.raises(ValueError, match="seed"):
        betti_curves(cx, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        betti_curves(cx, seed="0")
    with pytest.raises(TypeError, match="cx must be a cell complex"):
        betti_curves([[0, 1]])
    with pytest.raises(ValueError, match="method"):
        betti_curves(cx, method="phat")
    bad = filled_square()
    square_boundary = bad.boundary
    bad.boundary = lambda k: square_boundary(k)[:, :3] if k == 1 else square_boundary(k)
    with pytest.raises(ValueError, match=r"boundary\(1\) must have shape"):
        betti_curves(bad)
    not_a_chain = CellComplex(4, [[0, 1], [1, 2], [2, 3], [3, 0]], [[0, 1, 2]])
    with pytest.raises(ValueError, match="not a chain complex"):
        betti_curves(not_a_chain)
    loop = CellComplex(2, [[0, 1], [0, 0]])  # a 1-cell whose two ends coincide: boundary 0 mod 2
    with pytest.raises(ValueError, match="1-cell 1 has 0 boundary vertices"):
        betti_curves(loop, method="fast")
    np.testing.assert_array_equal(betti_curves(loop, 1, 0, method="reduction")[-1], (1, 1))
    with pytest.raises(ValueError, match="no 0-cells"):
        betti_curves(CellComplex(0))
    three = polyhedral_complex(net((3, 2), 0))
    fake3 = CellComplex(int(three.f_vector[0]), *[[list(three.boundary(k).tocsc()[:, [c]].indices)
                                                    for c in range(three.f_vector[k])] for k in (1, 2, 3)])
    with pytest.raises(ValueError, match="dimension 3 needs a PolyhedralComplex"):
        betti_curves(fake3, method="fast")
    np.testing.assert_array_equal(betti_curves(fake3, 2, 0), betti_curves(three, 2, 0))
    with pytest.raises(ValueError, match="curves"):
        betti_summary(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="curves"):
        betti_summary(np.full((4, 2), np.nan))


def test_threaded_paths_equal_the_serial_ones():
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    cx = polyhedral_complex(net((2, 20, 20), 8))  # enough cells x trials to take the threaded kernels
    T = 1_000_000 // int(cx.f_vector[1]) + 2
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        fast2 = betti_curves(cx, T, 5, method="fast")
        red2 = betti_curves(cx, 40, 5, method="reduction")
        numba.set_num_threads(1)
        fast1 = betti_curves(cx, T, 5, method="fast")
        red1 = betti_curves(cx, 40, 5, method="reduction")
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(fast1, fast2)
    np.testing.assert_array_equal(red1, red2)
    np.testing.assert_array_equal(red1, betti_curves(cx, 40, 5, method="fast"))


def test_heatmap_against_the_cell_counts():
    from nntopo.polyhedral.filtration import betti_heatmap

    small, large = filled_square(), CellComplex(4, [[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]], [[0, 1, 4], [2, 3, 4]])
    curves = [betti_curves(cx, 6, 0) for cx in (small, large)]  # 9 and 11 cells
    grid = np.linspace(0, 1, 9 * 11 * 10 + 1)  # G - 1 a multiple of both counts: exact
    stack = np.stack([sample_curves_share(c, grid) for c in curves])
    H = betti_heatmap(stack, [9, 11], n_rows=12)
    assert H.shape == (12, 2, 3)
    # row j is j cells of 11: the large complex reads its own row j, the small one row j
    # up to its 9 cells, then nothing
    np.testing.assert_array_equal(H[:, 1], curves[1])
    np.testing.assert_array_equal(H[:10, 0], curves[0])
    assert np.isnan(H[10:, 0]).all()
    with pytest.raises(ValueError, match="n_cells"):
        betti_heatmap(stack, [9, 0])
    with pytest.raises(ValueError, match="share_curves"):
        betti_heatmap(stack[:, :1], [9, 11])


@pytest.mark.parametrize("widths", [(2, 9, 9), (3, 6, 5)], ids=str)
def test_both_edge_packings_agree(widths, monkeypatch):
    # Small complexes take the 32-bit packing (renumbered nodes); the 64-bit one, for
    # graphs whose ends do not fit, must give the same curves.
    import nntopo.polyhedral.filtration as filtration

    cx = polyhedral_complex(net(widths, 4))
    packed, shift, relative = filtration._pack(np.asarray(cx.edges, dtype=np.int64), int(cx.f_vector[0]))
    assert packed.dtype == np.uint32 and shift == 15 and relative
    want = betti_curves(cx, 6, 3)
    monkeypatch.setattr(
        filtration, "_pack", lambda ends, n: ((ends[:, 0].astype(np.int64) << 32) | ends[:, 1].astype(np.int64), 32, False)
    )
    np.testing.assert_array_equal(betti_curves(cx, 6, 3), want)
    np.testing.assert_array_equal(betti_curves(cx, 6, 3, method="reduction"), want)
