"""Try nntopo as a careless or hostile user would, and tabulate what happens.

Every probe is one call of the public API or the CLI with a bad (or extreme but valid)
input, and states what a user is owed:

* ``error``: a TypeError/ValueError/FileNotFoundError/FileExistsError whose message names
  the argument (for the CLI: exit code 2 and a one-line ``Error:`` message);
* ``result``: a return value that a check computed independently accepts.

Outcomes: ``clear error`` and ``correct result`` are good; ``OBSCURE ERROR`` (another
exception type, or a message that does not name the argument), ``SILENT WRONG`` (a
result the check rejects, or a result where an error was owed) and ``CRASH`` are not.

Run: ``.venv/bin/python benchmarks/probe_bad_inputs.py`` (exit 1 if any probe is bad).
The default test suite runs the same probes (tests/test_probe_bad_inputs.py).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

CLEAR_TYPES = (TypeError, ValueError, FileNotFoundError, FileExistsError)


@dataclass
class Probe:
    area: str
    what: str
    call: Callable[[], Any]
    names: tuple[str, ...] = ()  # an error must name one of these; empty: a result is owed
    check: Callable[[Any], bool] | None = None  # for results


@dataclass
class Outcome:
    probe: Probe
    verdict: str
    detail: str

    @property
    def good(self) -> bool:
        return self.verdict in ("clear error", "correct result")


def err(area: str, what: str, call: Callable[[], Any], *names: str) -> Probe:
    return Probe(area, what, call, names=names)


def ok(area: str, what: str, call: Callable[[], Any], check: Callable[[Any], bool]) -> Probe:
    return Probe(area, what, call, check=check)


def run_probe(p: Probe) -> Outcome:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # an overflow warning is not an answer
            value = p.call()
    except CLEAR_TYPES as exc:
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if p.check is not None:
            return Outcome(p, "OBSCURE ERROR", f"a result was owed; got {msg}")
        if any(n in str(exc) for n in p.names):
            return Outcome(p, "clear error", msg)
        return Outcome(p, "OBSCURE ERROR", f"does not name {p.names}: {msg}")
    except Exception as exc:  # noqa: BLE001 - the probe's job is to see every kind
        return Outcome(p, "OBSCURE ERROR" if p.check is None else "CRASH", f"{type(exc).__name__}: {exc}".splitlines()[0])
    if p.check is None:
        return Outcome(p, "SILENT WRONG", f"an error was owed; got {type(value).__name__}")
    try:
        good = bool(p.check(value))
    except Exception as exc:  # noqa: BLE001
        return Outcome(p, "SILENT WRONG", f"check failed: {type(exc).__name__}: {exc}")
    return Outcome(p, "correct result" if good else "SILENT WRONG", "" if good else f"check rejected {value!r:.80}")


# --------------------------------------------------------------------------- helpers


def _idx_bytes(dims: tuple[int, ...], payload: bytes, type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims) + payload


def _write(path: Path, data: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def _cli(args: list[str]) -> Any:
    """Run the CLI; turn its outcome into what the probe expects of a clear error."""
    from typer.testing import CliRunner

    from nntopo.cli import app

    r = CliRunner().invoke(app, args)
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    if r.exit_code == 2 and len(lines) <= 3 and any("Error" in ln for ln in lines):
        raise ValueError(" | ".join(lines))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise RuntimeError(f"exit {r.exit_code}, {type(r.exception).__name__}: {r.exception}")
    return f"exit {r.exit_code}: {len(lines)} lines: {' | '.join(lines[-2:])}"


def _small_weights(scale: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.normal(size=(o, i)), scale * rng.normal(size=o)) for i, o in ((2, 5), (5, 4), (4, 2))]


def _saved_complex(tmp: Path, name: str, edit: Callable[[dict], None]) -> Path:
    from nntopo.polyhedral import polyhedral_complex

    good = tmp / "good_complex.npz"
    if not good.exists():
        polyhedral_complex(_small_weights()).save(good)
    with np.load(good) as z:
        arrays = {k: z[k].copy() for k in z.files}
    edit(arrays)
    path = tmp / name
    np.savez(path, **arrays)
    return path


def _torch_modules():
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.r, self.b = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)

        def forward(self, x):
            return self.b(x + self.r(self.a(x)))

    class Tanh(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.act, self.l2 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)

        def forward(self, x):
            return self.l2(torch.tanh(self.l1(x)))

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.l, self.act, self.out = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)

        def forward(self, x):
            return self.out(self.act(self.l(self.act(self.l(x)))))

    return Residual(), Tanh(), Twice()


def _swapped_order_ok():
    """A module whose registration order differs from its forward: the complex must be the forward's."""
    import torch
    from torch import nn

    from nntopo.polyhedral import polyhedral_complex

    class Swapped(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.l2 = nn.Linear(4, 3)
            self.l1 = nn.Linear(2, 4)
            self.l3 = nn.Linear(3, 2)

        def forward(self, x):
            return self.l3(torch.relu(self.l2(torch.relu(self.l1(x)))))

    m = Swapped()
    try:
        cx = polyhedral_complex(m)
    except TypeError as exc:  # refusing it clearly is also acceptable
        if "Swapped" in str(exc):
            return "refused"
        raise
    pts = np.random.default_rng(1).uniform(-1, 1, size=(500, 2))
    with torch.no_grad():
        z1 = m.l1(torch.tensor(pts, dtype=torch.float64).float()).double().numpy()
        z2 = m.l2(torch.relu(torch.tensor(z1).float())).double().numpy()
    true = np.concatenate([np.sign(z1), np.sign(z2)], axis=1)
    got = cx.region_signs[cx.region_of(pts)]
    return np.array_equal(true, got)


def _nested_boxes_monotone():
    from nntopo.polyhedral import polyhedral_complex

    w = _small_weights()
    counts = [polyhedral_complex(w, box=(-B, B)).f_vector[-1] for B in (1e6, 1e9, 1e10)]
    return counts == sorted(counts) and counts


def _same_network_scaled(c: float) -> list:
    """The same ReLU network with every pre-activation times c: the first layer's W and
    every bias times c (ReLU is positively homogeneous, so no sign changes)."""
    w = _small_weights()
    return [(W * c if i == 0 else W, b * c) for i, (W, b) in enumerate(w)]


def _scaled_same(c: float) -> bool:
    from nntopo.polyhedral import polyhedral_complex

    a = polyhedral_complex(_small_weights())
    b = polyhedral_complex(_same_network_scaled(c))
    return bool(np.array_equal(a.f_vector, b.f_vector) and np.array_equal(a.region_signs, b.region_signs))


def _activation_pair():
    from nntopo.landscapes import ActivationLandscape

    d = [np.array([[0.1, 0.5]])]
    a = ActivationLandscape.from_diagrams(d, grid=(0.0, 1.0, 0.01), n_levels=1, layer_names=["relu1"])
    b = ActivationLandscape.from_diagrams(d, grid=(0.0, 1.0, 0.01), n_levels=1, layer_names=["relu2"])
    return a, b


def _grid_landscape(n_levels: int = 1, grid=(0.0, 1.0, 0.001), diagram=((0.0, 1.0),), **kw):
    from nntopo.landscapes import Landscape

    return Landscape.from_diagram(np.asarray(diagram, dtype=float), grid, n_levels, **kw)


def _rips(X, **kw):
    from nntopo.landscapes import rips_persistence

    return rips_persistence(np.asarray(X, dtype=float), **kw)


def _train_call(tmp: Path, name: str, *, y=None, config=None, snapshots=None, out=None, manifest=None):
    from nntopo.data import Dataset
    from nntopo.nets import MLP, TrainConfig, train

    X = np.random.default_rng(0).normal(size=(20, 2))
    ds = Dataset(X=X, y=np.arange(20) % 2 if y is None else y)
    out_dir = tmp / name if out is None else out
    if manifest is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "manifest.json").write_text(manifest)
    cfg = TrainConfig(epochs=1) if config is None else config()
    kw = {} if snapshots is None else {"snapshots": snapshots}
    return train(MLP([2, 3, 2], seed=0), ds, ds, cfg, out_dir=out_dir, **kw)


# --------------------------------------------------------------------------- probes


def build_probes(tmp: Path) -> list[Probe]:  # noqa: PLR0915 - a flat list reads best
    from nntopo import data, landscapes, nets, polyhedral

    D = data.Dataset
    P: list[Probe] = []
    nine = data.nine_disks(step=4.0)

    # ---- data
    P += [
        err("data", "Dataset X=1e39 overflows float32", lambda: D(X=[[1e39, 0.0]], y=[0]), "X"),
        err("data", "Dataset X with NaN", lambda: D(X=[[np.nan, 0.0]], y=[0]), "X"),
        err("data", "Dataset X 1-D", lambda: D(X=[1.0, 2.0], y=[0, 1]), "X"),
        err("data", "Dataset X empty", lambda: D(X=np.zeros((0, 2)), y=np.zeros(0, int)), "X"),
        err("data", "Dataset X of strings", lambda: D(X=[["a", "b"]], y=[0]), "X"),
        err("data", "Dataset X complex", lambda: D(X=np.array([[1 + 1j, 0]]), y=[0]), "X"),
        err("data", "Dataset y fractional", lambda: D(X=[[0.0, 0.0], [1.0, 1.0]], y=[0.5, 1.7]), "y"),
        err("data", "Dataset y NaN", lambda: D(X=[[0.0, 0.0], [1.0, 1.0]], y=[np.nan, 1]), "y"),
        err("data", "Dataset y negative", lambda: D(X=[[0.0, 0.0]], y=[-100]), "y"),
        err("data", "Dataset y wrong length", lambda: D(X=[[0.0, 0.0]], y=[0, 1]), "y"),
        err("data", "nine_disks step=-1", lambda: data.nine_disks(step=-1.0), "step"),
        err("data", "nine_disks step='1'", lambda: data.nine_disks(step="1"), "step"),
        err("data", "sublattice fraction=1.5", lambda: data.sublattice(nine, fraction=1.5), "fraction"),
        err("data", "sublattice every=0", lambda: data.sublattice(nine, every=0), "every"),
        err("data", "train_test_split test_fraction=0", lambda: data.train_test_split(nine, 0.0), "test_fraction"),
        err("data", "train_test_split seed=-1", lambda: data.train_test_split(nine, 0.1, seed=-1), "seed"),
        err("data", "train_test_split seed='a'", lambda: data.train_test_split(nine, 0.1, seed="a"), "seed"),
        err("data", "circles n_samples=0", lambda: data.circles(n_samples=0), "n_samples"),
        err("data", "circles n_samples=10.5", lambda: data.circles(n_samples=10.5), "n_samples"),
        err("data", "moons noise=-1", lambda: data.moons(noise=-1.0), "noise"),
        err("data", "mnist in a missing folder", lambda: data.mnist(tmp / "no-such-dir"), "no-such-dir"),
        err("data", "IDX gzip corrupted mid-stream",
            lambda: data.read_idx(_write(tmp / "corrupt.idx.gz",
                                         gzip.compress(_idx_bytes((100,), bytes(100)))[:30] + b"\xff" * 40)),
            "corrupt.idx.gz"),
        err("data", "IDX with 0 items", lambda: data.read_idx(_write(tmp / "zero.idx", _idx_bytes((0, 28), b""))),
            "zero.idx"),
        err("data", "IDX dims overflow", lambda: data.read_idx(
            _write(tmp / "huge.idx", _idx_bytes((2**31 - 1, 2**31 - 1, 2**31 - 1), b"\x00" * 8))), "huge.idx"),
        err("data", "IDX gzip bomb (more data than the header says)", lambda: data.read_idx(
            _write(tmp / "bomb.idx.gz", _idx_bytes((10,), bytes(10) + bytes(50_000_000)), compress=True)), "bomb.idx.gz"),
        err("data", "IDX truncated", lambda: data.read_idx(_write(tmp / "short.idx", _idx_bytes((100,), bytes(10)))),
            "short.idx"),
        err("data", "IDX garbage magic", lambda: data.read_idx(_write(tmp / "garbage.idx", b"hello world")),
            "garbage.idx"),
        err("data", "mnist float labels", lambda: _mnist_float_labels(tmp), "label"),
        err("data", "duffing regime='x'", lambda: data.duffing(regime="x"), "regime"),
    ]

    # ---- nets
    P += [
        err("nets", "MLP([2, 3.0, True])", lambda: nets.MLP([2, 3.0, True]), "widths"),
        err("nets", "MLP([2])", lambda: nets.MLP([2]), "widths"),
        err("nets", "MLP activation='foo'", lambda: nets.MLP([2, 3, 2], activation="foo"), "activation"),
        err("nets", "MLP seed=-1", lambda: nets.MLP([2, 3, 2], seed=-1), "seed"),
        err("nets", "capture of 1e300 inputs", lambda: nets.capture(nets.MLP([2, 3, 2], seed=0), np.full((2, 2), 1e300)), "X"),
        err("nets", "capture of a wrong input width", lambda: nets.capture(nets.MLP([2, 3, 2], seed=0), np.zeros((4, 3))), "X"),
        err("nets", "capture of an empty batch", lambda: nets.capture(nets.MLP([2, 3, 2], seed=0), np.zeros((0, 2))), "X"),
        err("nets", "capture of NaN", lambda: nets.capture(nets.MLP([2, 3, 2], seed=0), np.full((2, 2), np.nan)), "X"),
        err("nets", "capture of an unknown layer", lambda: nets.capture(nets.MLP([2, 3, 2], seed=0), np.zeros((2, 2)),
                                                                        layers=["nope"]), "nope"),
        err("nets", "capture of an LSTM (tuple outputs)", lambda: _capture_lstm(), "LSTM"),
        err("nets", "TrainConfig(lr='x')", lambda: nets.TrainConfig(lr="x"), "lr"),
        err("nets", "TrainConfig(epochs=None)", lambda: nets.TrainConfig(epochs=None), "epochs"),
        err("nets", "TrainConfig(lr=-1)", lambda: nets.TrainConfig(lr=-1.0), "lr"),
        err("nets", "TrainConfig(batch_size=0)", lambda: nets.TrainConfig(batch_size=0), "batch_size"),
        err("nets", "train(snapshots=[42])", lambda: _train_call(tmp, "snap42", snapshots=[42]), "snapshots"),
        err("nets", "train with label 5 for 2 outputs", lambda: _train_call(tmp, "label5", y=np.arange(20) % 6), "y"),
        err("nets", "train into a folder with a corrupt manifest",
            lambda: _train_call(tmp, "corrupt_manifest", manifest="[1, 2"), "manifest.json"),
        err("nets", "train into a folder with a foreign manifest",
            lambda: _train_call(tmp, "foreign_manifest", manifest=json.dumps({"a": 1})), "manifest.json"),
        err("nets", "load_checkpoint of a path outside the run folder", lambda: _outside_checkpoint(tmp), "checkpoint"),
        err("nets", "AccuracyThresholds([1.5])", lambda: nets.AccuracyThresholds([1.5]), "threshold"),
        err("nets", "EveryKEpochs(0)", lambda: nets.EveryKEpochs(0), "k"),
    ]

    # ---- landscapes
    P += [
        ok("landscapes", "grid landscape of the bar [0, 1e16] at t=0.5",
           lambda: _grid_landscape(diagram=((0.0, 1e16),)).values[0, 500], lambda v: v == 0.5),
        ok("landscapes", "grid landscape of a bar at 1e300 (outside the grid)",
           lambda: _grid_landscape(diagram=((1e300, 2e300),)).values, lambda v: np.all(v == 0)),
        err("landscapes", "grid step that does not divide the range", lambda: landscapes.Grid(0.0, 1.0, 0.3), "step"),
        err("landscapes", "a grid of 1e10 points", lambda: _grid_landscape(grid=(0.0, 1.0, 1e-10)), "max_bytes"),
        err("landscapes", "n_levels=10**9", lambda: _grid_landscape(n_levels=10**9), "max_bytes"),
        err("landscapes", "n_levels=0", lambda: _grid_landscape(n_levels=0), "n_levels"),
        err("landscapes", "n_levels=2.5", lambda: _grid_landscape(n_levels=2.5), "n_levels"),
        err("landscapes", "diagram with death < birth", lambda: _grid_landscape(diagram=((0.5, 0.2),)), "diagram"),
        err("landscapes", "diagram with NaN", lambda: _grid_landscape(diagram=((np.nan, 0.2),)), "diagram"),
        err("landscapes", "diagram with 3 columns", lambda: _grid_landscape(diagram=((0.0, 0.2, 0.3),)), "diagram"),
        err("landscapes", "landscape / 0", lambda: _grid_landscape() / 0, "scalar"),
        err("landscapes", "landscape * NaN", lambda: _grid_landscape() * float("nan"), "scalar"),
        err("landscapes", "landscape + landscape on another grid",
            lambda: _grid_landscape() + _grid_landscape(grid=(0.0, 2.0, 0.001)), "grid"),
        err("landscapes", "ActivationLandscapes with different layer names added",
            lambda: (lambda a, b: a + b)(*_activation_pair()), "layer"),
        ok("landscapes", "normalize_plain of points at 1e200",
           lambda: landscapes.normalize_plain([[0, 0], [1e200, 0], [0, 2e200]]),
           lambda Y: abs(landscapes.max_pairwise_distance(Y) - 1) < 1e-12),
        ok("landscapes", "normalize_plain of spacing 1e-200",
           lambda: landscapes.normalize_plain([[0, 0], [1e-200, 0], [0, 2e-200]]),
           lambda Y: abs(landscapes.max_pairwise_distance(Y) - 1) < 1e-12),
        ok("landscapes", "normalize_plain of 1e308 points",
           lambda: landscapes.normalize_plain([[1e308, 0], [-1e308, 0], [0, 1e308]]),
           lambda Y: abs(landscapes.max_pairwise_distance(Y) - 1) < 1e-12),
        ok("landscapes", "rips of 5 points near 1e200 (one infinite H0 bar)",
           lambda: _rips(1e200 * (1 + np.arange(5.0)[:, None] * np.array([[1.0, 0.5]]))),
           lambda dg: int(np.isinf(dg[0][:, 1]).sum()) == 1 and len(dg[0]) == 5),
        err("landscapes", "rips maxdim=-1", lambda: _rips(np.zeros((3, 2)), maxdim=-1), "maxdim"),
        err("landscapes", "rips with X and distance_matrix",
            lambda: landscapes.rips_persistence(np.zeros((3, 2)), distance_matrix=np.zeros((3, 3))), "distance_matrix"),
        err("landscapes", "rips of an asymmetric matrix",
            lambda: landscapes.rips_persistence(distance_matrix=np.array([[0, 1.0], [2.0, 0]])), "distance_matrix"),
        err("landscapes", "rips backend='foo'", lambda: _rips(np.zeros((3, 2)), backend="foo"), "backend"),
        err("landscapes", "rips of a torch tensor", lambda: landscapes.rips_persistence(_tensor()), "X"),
        err("landscapes", "normalize_local ends_in_relu='yes'",
            lambda: landscapes.normalize_local(np.ones((3, 2)), ends_in_relu="yes"), "ends_in_relu"),
        err("landscapes", "permutation_test with 1e10 permutations", lambda: _perm(n_permutations=10**10), "max_bytes"),
        err("landscapes", "permutation_test seed='x'", lambda: _perm(seed="x"), "seed"),
        err("landscapes", "permutation_test with an empty group", lambda: _perm(empty=True), "group"),
        err("landscapes", "layer_diagrams homology='Plain'",
            lambda: landscapes.layer_diagrams({"a": np.ones((3, 2))}, homology="Plain"), "homology"),
        err("landscapes", "LandscapeVectorizer homology='foo'",
            lambda: landscapes.LandscapeVectorizer(homology="foo").fit([np.ones((3, 2))]), "homology"),
    ]

    # ---- polyhedral
    Residual, Tanh, Twice = _torch_modules()
    P += [
        ok("polyhedral", "regions monotone in nested boxes 1e6, 1e9, 1e10", _nested_boxes_monotone, bool),
        ok("polyhedral", "pre-activations scaled by 2^531: the same complex", lambda: _scaled_same(2.0**531), bool),
        ok("polyhedral", "pre-activations scaled by 2^-1000: the same complex", lambda: _scaled_same(2.0**-1000), bool),
        ok("polyhedral", "every layer's weights times 1e160 (no overflow, every layer cuts)",
           lambda: polyhedral.polyhedral_complex(_small_weights(1e160)),
           lambda cx: cx.n_hidden == 9 and bool(np.all(np.any(cx.region_signs[:, 5:] != cx.region_signs[0, 5:], axis=0)))),
        ok("polyhedral", "module registered l2 before l1 (forward order counts)", _swapped_order_ok,
           lambda v: v is True or v == "refused"),
        err("polyhedral", "box with lo > hi", lambda: polyhedral.polyhedral_complex(_small_weights(), box=(1, -1)), "box"),
        err("polyhedral", "NaN weights", lambda: polyhedral.polyhedral_complex([(np.full((3, 2), np.nan), np.zeros(3)),
                                                                                (np.ones((1, 3)), np.zeros(1))]),
            "net_or_weights"),
        err("polyhedral", "a residual torch block", lambda: polyhedral.polyhedral_complex(Residual), "Residual"),
        err("polyhedral", "a ReLU registered, tanh applied", lambda: polyhedral.polyhedral_complex(Tanh), "tanh"),
        err("polyhedral", "one Linear applied twice", lambda: polyhedral.polyhedral_complex(Twice), "Twice"),
        err("polyhedral", "tol='x'", lambda: polyhedral.polyhedral_complex(_small_weights(), tol="x"), "tol"),
        err("polyhedral", "load: counts changed to [5, 5, 5]",
            lambda: polyhedral.PolyhedralComplex.load(
                _saved_complex(tmp, "counts.npz", lambda a: a.__setitem__("counts", np.array([5, 5, 5])))), "counts.npz"),
        err("polyhedral", "load: NaN weights", lambda: polyhedral.PolyhedralComplex.load(
            _saved_complex(tmp, "nanw.npz", lambda a: a["W0"].__setitem__((0, 0), np.nan))), "nanw.npz"),
        err("polyhedral", "load: lo and hi swapped", lambda: polyhedral.PolyhedralComplex.load(
            _saved_complex(tmp, "swap.npz", lambda a: a.update(lo=a["hi"].copy(), hi=a["lo"].copy()))), "swap.npz"),
        err("polyhedral", "load: edge index out of range", lambda: polyhedral.PolyhedralComplex.load(
            _saved_complex(tmp, "edges.npz", lambda a: a["edges"].__setitem__((0, 0), 10**6))), "edges.npz"),
        err("polyhedral", "load: a missing file",
            lambda: polyhedral.PolyhedralComplex.load(tmp / "missing.npz"), "missing.npz"),
        err("polyhedral", "load: not an npz", lambda: polyhedral.PolyhedralComplex.load(
            _write(tmp / "text.npz", b"not a zip")), "text.npz"),
        err("polyhedral", "region_of with 3 coordinates in 2-D", lambda: polyhedral.polyhedral_complex(
            _small_weights()).region_of(np.zeros((4, 3))), "points"),
        err("polyhedral", "boundary(5) of a 2-D complex",
            lambda: polyhedral.polyhedral_complex(_small_weights()).boundary(5), "k"),
    ]

    # ---- CLI
    a_file = _write(tmp / "a_file.txt", b"hello")
    foreign = tmp / "foreign"
    foreign.mkdir(exist_ok=True)
    (foreign / "thesis.tex").write_text("my thesis")
    P += [
        err("cli", "demo --out pointing at a file", lambda: _cli(["demo", "--out", str(a_file)]), "a_file.txt"),
        err("cli", "demo --out under a file (unwritable)",
            lambda: _cli(["demo", "--out", str(a_file / "sub")]), "a_file.txt"),
        err("cli", "demo --workers 0", lambda: _cli(["demo", "--out", str(tmp / "no_workers"), "--workers", "0"]),
            "workers"),
        err("cli", "run with an unknown config key", lambda: _cli(["run", str(_write(
            tmp / "typo.toml", b"name = 'x'\nnmae = 1\n")), "--out", str(tmp / "typo_run")]), "typo.toml"),
        err("cli", "demo into a folder holding other files",
            lambda: _cli(["demo", "--out", str(foreign)]), "foreign"),
    ]
    return P


def _mnist_float_labels(tmp: Path):
    from nntopo.data import mnist

    d = tmp / "mnist_float"
    d.mkdir(exist_ok=True)
    n = 3
    _write(d / "train-images-idx3-ubyte", _idx_bytes((n, 28, 28), bytes(n * 784)))
    _write(d / "train-labels-idx1-ubyte", _idx_bytes((n,), struct.pack(">3d", 0.5, 1.0, 2.0), type_code=0x0E))
    return mnist(d, split="train")


def _capture_lstm():
    from torch import nn

    from nntopo.nets import capture

    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(2, 3, batch_first=True)

        def forward(self, x):
            return self.lstm(x[:, None, :])[0][:, 0]

    return capture(Seq(), np.zeros((4, 2), dtype=np.float32), layers=["lstm"])


def _outside_checkpoint(tmp: Path):
    import torch

    from nntopo.nets import MLP, load_checkpoint

    outside = tmp / "outside.pt"
    torch.save(MLP([2, 3, 2], seed=1).state_dict(), outside)
    (tmp / "run").mkdir(exist_ok=True)
    return load_checkpoint(MLP([2, 3, 2]), {"reached": True, "checkpoint": str(outside)}, tmp / "run")


def _tensor():
    import torch

    return torch.zeros(3, 2)


def _perm(n_permutations: int = 100, seed: Any = 0, empty: bool = False):
    from nntopo.landscapes import permutation_test

    a = [_grid_landscape(diagram=((0.1, 0.2 + 0.01 * i),)) for i in range(4)]
    b = [] if empty else [_grid_landscape(diagram=((0.1, 0.5 + 0.01 * i),)) for i in range(4)]
    return permutation_test(a, b, n_permutations=n_permutations, seed=seed)


def run_probes() -> list[Outcome]:
    """Build and run every probe in a fresh temporary folder."""
    old_cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="nntopo-probe-") as tmp:
        os.chdir(tmp)  # nothing a probe writes by mistake lands in the caller's folder
        try:
            return [run_probe(p) for p in build_probes(Path(tmp))]
        finally:
            os.chdir(old_cwd)


def main() -> int:
    outcomes = run_probes()
    width = max(len(o.probe.what) for o in outcomes)
    print(f"{'area':<11} {'probe':<{width}}  outcome          detail")
    for o in outcomes:
        print(f"{o.probe.area:<11} {o.probe.what:<{width}}  {o.verdict:<16} {o.detail[:110]}")
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    print()
    print(f"{len(outcomes)} probes: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
    return 0 if all(o.good for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
