import gzip
import struct

import numpy as np
import pytest

from nntopo.data import (
    Dataset,
    circles,
    digits,
    duffing,
    mnist,
    moons,
    nine_disks,
    read_idx,
    sublattice,
    train_test_split,
)


def test_nine_disks_default_size_and_balance():
    d = nine_disks()
    assert d.X.dtype == np.float32 and d.y.dtype == np.int64
    assert d.X.shape == (13853, 2)
    assert 10_000 <= len(d) <= 15_000
    assert np.bincount(d.y).tolist() == [4009, 9844]
    # every class-0 point lies in one of the 9 disks, every class-1 point clear of them by the margin
    angles = np.arange(8) * np.pi / 4
    centers = np.vstack([[0, 0], 42 * np.c_[np.cos(angles), np.sin(angles)]])
    dist = np.min(np.linalg.norm(d.X[:, None, :] - centers[None], axis=2), axis=1)
    assert np.all(dist[d.y == 0] <= 12 + 1e-9) and np.all(dist[d.y == 1] > 14)
    assert np.all(np.hypot(*d.X.T) <= 70)
    # the 9 disks hold the same number of lattice points each (symmetry of the lattice is not exact,
    # but the centre disk and the axis-aligned ring disks are lattice-symmetric)
    nearest = np.argmin(np.linalg.norm(d.X[d.y == 0][:, None, :] - centers[None], axis=2), axis=1)
    counts = np.bincount(nearest, minlength=9)
    assert counts[0] == counts[1] == counts[3] == counts[5] == counts[7]


def test_nine_disks_lattice_and_sublattice():
    d = nine_disks(step=0.5)
    lat = d.point_data["lattice"]
    np.testing.assert_array_equal(lat * 0.5, d.X)
    s = sublattice(d, every=2)
    assert np.all(s.point_data["lattice"] % 2 == 0)
    assert 0.2 < len(s) / len(d) < 0.3
    f = sublattice(d, fraction=0.2852, seed=3)
    assert len(f) == round(0.2852 * len(d))
    np.testing.assert_array_equal(f.X, sublattice(d, fraction=0.2852, seed=3).X)
    assert not np.array_equal(f.X, sublattice(d, fraction=0.2852, seed=4).X)


def test_train_test_split_is_stratified_and_seeded():
    d = nine_disks()
    tr, te = train_test_split(d, 0.1, seed=0)
    assert len(tr) + len(te) == len(d)
    assert abs(len(te) / len(d) - 0.1) < 0.002
    assert abs(te.y.mean() - d.y.mean()) < 0.01
    tr2, te2 = train_test_split(d, 0.1, seed=0)
    np.testing.assert_array_equal(te.X, te2.X)
    both = np.concatenate([tr.X, te.X])
    assert len(np.unique(both, axis=0)) == len(d)


@pytest.mark.parametrize("make", [circles, moons])
def test_circles_moons(make):
    d = make(n_samples=300, seed=1)
    assert d.X.shape == (300, 2) and d.X.dtype == np.float32 and d.y.dtype == np.int64
    assert np.bincount(d.y).tolist() == [150, 150]
    np.testing.assert_array_equal(d.X, make(n_samples=300, seed=1).X)


def test_digits():
    d = digits()
    assert d.X.shape == (1797, 64) and d.X.dtype == np.float32
    assert 0 <= d.X.min() and d.X.max() <= 1
    counts = np.bincount(d.y)
    assert len(counts) == 10 and counts.min() > 170


def test_duffing_regimes():
    p = duffing("periodic", t_max=10, n_points=201)
    c = duffing("chaotic", t_max=10, n_points=201)
    assert p.X.shape == (201, 1) and p.targets.shape == (201, 2) and p.y is None
    assert p.meta["gamma"] == 0.2 and c.meta["gamma"] == 0.5 and c.meta["delta"] == 0.3
    np.testing.assert_allclose(p.targets[0], [1.0, 0.0], atol=1e-6)
    # x' is the derivative of x: compare with a finite difference of the solution
    t, x, v = p.X[:, 0].astype(float), p.targets[:, 0].astype(float), p.targets[:, 1].astype(float)
    np.testing.assert_allclose(np.gradient(x, t)[5:-5], v[5:-5], atol=5e-3)
    # energy balance check on the unforced, undamped oscillator: H = v^2/2 + alpha x^2/2 + beta x^4/4
    u = duffing("periodic", t_max=10, n_points=101, gamma=0.0, delta=0.0)
    x, v = u.targets[:, 0].astype(float), u.targets[:, 1].astype(float)
    H = v**2 / 2 - x**2 / 2 + x**4 / 4
    assert np.ptp(H) < 1e-5


def _write_idx(path, array, code=0x08, compress=False):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    body = header + array.astype(">u1" if code == 0x08 else ">i4").tobytes()
    path.write_bytes(gzip.compress(body) if compress else body)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reader_on_written_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 5, 9], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, compress=compress)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, compress=compress)
    d = mnist(tmp_path, "train")
    assert d.X.shape == (7, 784) and d.X.dtype == np.float32
    np.testing.assert_allclose(d.X[3], images[3].ravel() / 255.0, rtol=1e-6)
    assert d.y.tolist() == labels.tolist()
    assert len(mnist(tmp_path, "train", limit=3)) == 3


def test_read_idx_other_types(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    _write_idx(tmp_path / "a.idx", a, code=0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)


def test_mnist_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist(tmp_path)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04garbage")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*not an IDX file"):
        mnist(tmp_path)
    truncated = tmp_path / "t.idx"
    truncated.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x00" * 4)
    with pytest.raises(ValueError, match="t.idx.*needs 10 data bytes, found 4"):
        read_idx(truncated)
    images = np.zeros((3, 2, 2), np.uint8)
    _write_idx(bad, images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="expected 3 labels"):
        mnist(tmp_path)
    with pytest.raises(ValueError, match="split"):
        mnist(tmp_path, "validation")


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        Dataset(X=np.array([[np.nan, 0.0]]), y=np.array([0]))
    with pytest.raises(ValueError, match="X must be a 2-D"):
        Dataset(X=np.zeros(3), y=None)
    with pytest.raises(ValueError, match="X is empty"):
        Dataset(X=np.zeros((0, 2)), y=np.zeros(0))
    with pytest.raises(ValueError, match="y must have 3 labels"):
        Dataset(X=np.zeros((3, 2)), y=np.zeros(2))
    with pytest.raises(ValueError, match="step"):
        nine_disks(step=-1)
    with pytest.raises(ValueError, match="disks would touch"):
        nine_disks(disk_radius=20)
    with pytest.raises(ValueError, match="outer_radius"):
        nine_disks(outer_radius=50)
    with pytest.raises(ValueError, match="factor"):
        circles(factor=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        moons(n_samples=0)
    with pytest.raises(ValueError, match="noise"):
        moons(noise=float("nan"))
    with pytest.raises(ValueError, match="fraction"):
        sublattice(nine_disks(), fraction=1.5)
    with pytest.raises(ValueError, match="exactly one"):
        sublattice(nine_disks())
    with pytest.raises(ValueError, match="lattice"):
        sublattice(circles(), every=2)
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(circles(), test_fraction=0.0)
    with pytest.raises(ValueError, match="regime"):
        duffing("weird")
    with pytest.raises(TypeError, match="unknown Duffing parameter"):
        duffing(mass=2.0)
    with pytest.raises(ValueError, match="t_max"):
        duffing(t_max=-1)
    with pytest.raises(ValueError, match="x0"):
        duffing(x0=float("inf"))


def test_sublattice_size_draws_exactly_that_many_points():
    d = nine_disks(step=2.0)
    s = sublattice(d, size=100, seed=1)
    lat = {tuple(p) for p in d.point_data["lattice"].tolist()}
    picked = [tuple(p) for p in s.point_data["lattice"].tolist()]
    assert len(s) == 100 == len(set(picked)) and set(picked) <= lat
    order = {p: i for i, p in enumerate(map(tuple, d.point_data["lattice"].tolist()))}
    assert [order[p] for p in picked] == sorted(order[p] for p in picked)  # original order kept
    np.testing.assert_array_equal(s.X, sublattice(d, size=100, seed=1).X)
    assert len(sublattice(d, size=len(d), seed=0)) == len(d)
    with pytest.raises(ValueError, match=f"size=100000 is more than the {len(d)} points"):
        sublattice(d, size=100_000)
    with pytest.raises(ValueError, match="exactly one of every=, fraction= or size="):
        sublattice(d, size=10, fraction=0.1)
    with pytest.raises(ValueError, match="size must be >= 1"):
        sublattice(d, size=0)
