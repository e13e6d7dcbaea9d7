"""TopologyMonitor: records checked against independent computations on copies of the model."""

import copy
import os
import subprocess
import sys

import gudhi
import numpy as np
import pytest
import torch
from gudhi.representations import Landscape as GudhiLandscape
from scipy.spatial.distance import pdist, squareform
from torch import nn

import nntopo.nets.monitor as monitor_module
from nntopo.data import circles
from nntopo.nets import MLP, EveryKEpochs, TopologyMonitor, TrainConfig, load_monitor, train
from nntopo.polyhedral import polyhedral_complex

GRID = (0.0, 1.0, 0.001)
LEVELS = 5


# --------------------------------------------------------------------------- independent reference


def mlp_activations(net: MLP, X: np.ndarray) -> list[np.ndarray]:
    """input, relu1..relu{N-1}, output of an MLP, by hand (no hooks, no nntopo.capture)."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    h = torch.as_tensor(X, dtype=torch.float32)
    out = [h.numpy().copy()]
    with torch.no_grad():
        for i, lin in enumerate(linears):
            h = lin(h)
            if i < len(linears) - 1:
                h = torch.relu(h)
            out.append(h.numpy().copy())
    return out


def reference_norm(points: np.ndarray, hom_dim: int = 1) -> float:
    """L2 norm of the H_q landscape of the diameter-1 Rips filtration, with scipy + gudhi only."""
    D = pdist(points.astype(np.float64))
    if D.size == 0 or D.max() == 0:
        return 0.0
    D = squareform(D / D.max())
    st = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=hom_dim + 1)
    st.compute_persistence()
    dg = st.persistence_intervals_in_dimension(hom_dim)
    dg = dg[np.isfinite(dg[:, 1])] if len(dg) else dg
    if len(dg) == 0:
        return 0.0
    n = round((GRID[1] - GRID[0]) / GRID[2]) + 1
    t = np.linspace(GRID[0], GRID[1], n)
    vals = GudhiLandscape(num_landscapes=LEVELS, resolution=n, sample_range=[GRID[0], GRID[1]],
                          keep_endpoints=True).fit_transform([dg]).reshape(LEVELS, n)
    vals = vals / np.sqrt(2)  # gudhi's landscapes are sqrt(2) times min(t - b, d - t)_+
    return float(np.sqrt(sum(np.trapezoid(v**2, t) for v in vals)))


def reference_norms(net: MLP, X: np.ndarray, hom_dim: int = 1) -> np.ndarray:
    return np.array([reference_norm(a, hom_dim) for a in mlp_activations(net, X)])


# --------------------------------------------------------------------------- a plain training loop


@pytest.fixture(scope="module")
def plain_loop():
    """A tiny MLP trained on circles by hand; the monitor every 2 epochs and a copy of the model at every epoch."""
    data = circles(240, noise=0.05, seed=0)
    X = torch.from_numpy(data.X)
    y = torch.from_numpy(data.y)
    batch = data.X[::4]  # 60 fixed points
    net = MLP([2, 6, 6, 2], seed=1)
    monitor = TopologyMonitor(batch, every=2)
    copies = {0: copy.deepcopy(net)}
    returned = {0: monitor(net, 0)}
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(0)
    for epoch in range(1, 6):
        net.train()
        for idx in torch.randperm(len(X), generator=gen).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
        copies[epoch] = copy.deepcopy(net)
        returned[epoch] = monitor.on_epoch_end(net, epoch) if epoch % 2 else monitor(net, epoch)
    return monitor, copies, returned, batch


def test_every_is_respected(plain_loop):
    monitor, _, returned, _ = plain_loop
    assert monitor.epochs == [0, 2, 4]
    assert [e for e, r in returned.items() if r is not None] == [0, 2, 4]
    assert monitor.due(6) and not monitor.due(5)


def test_norms_match_an_independent_computation_at_each_epoch(plain_loop):
    monitor, copies, returned, batch = plain_loop
    ds = monitor.to_xarray()
    assert list(ds["layer"].values) == ["input", "relu1", "relu2", "output"]
    refs = {e: reference_norms(copies[e], batch) for e in monitor.epochs}
    for e in monitor.epochs:
        np.testing.assert_allclose(ds["landscape_norm"].sel(epoch=e).values, refs[e], rtol=1e-7, atol=1e-12)
        assert list(returned[e]["landscape_norm"].values()) == pytest.approx(list(refs[e]), rel=1e-7, abs=1e-12)
    # the weights moved between records, so a monitor reading the wrong state would fail above
    assert not np.allclose(refs[0][1:], refs[4][1:], rtol=1e-4)
    # the input layer does not depend on the weights
    assert refs[0][0] == pytest.approx(refs[4][0])


def test_f_vector_is_the_complex_of_the_model_at_that_epoch(plain_loop):
    monitor, copies, returned, batch = plain_loop
    ds = monitor.to_xarray()
    box = (batch.min(axis=0), batch.max(axis=0))
    vectors = []
    for e in monitor.epochs:
        cx = polyhedral_complex(copies[e], box=box)
        assert list(ds["f_vector"].sel(epoch=e).values) == list(cx.f_vector)
        assert returned[e]["f_vector"] == list(cx.f_vector)
        assert int(ds["n_regions"].sel(epoch=e)) == cx.n_regions
        f = ds["f_vector"].sel(epoch=e).values
        assert f[0] - f[1] + f[2] == 1  # Euler characteristic of a box
        vectors.append(tuple(f))
    assert len(set(vectors)) > 1  # training changed the complex


def test_dataframe_and_xarray_shapes_and_names(plain_loop):
    monitor = plain_loop[0]
    df = monitor.to_dataframe()
    assert list(df.columns) == ["epoch", "layer", "landscape_norm", "f0", "f1", "f2", "n_regions"]
    assert len(df) == 3 * 4
    assert str(df["epoch"].dtype) == "int64" and str(df["f0"].dtype) == "int64"
    assert df["landscape_norm"].dtype == np.float64
    ds = monitor.to_xarray()
    assert dict(ds.sizes) == {"epoch": 3, "layer": 4, "cell_dim": 3}
    assert ds["landscape_norm"].dims == ("epoch", "layer")
    assert ds["f_vector"].dims == ("epoch", "cell_dim") and ds["n_regions"].dims == ("epoch",)
    assert list(ds["cell_dim"].values) == [0, 1, 2]
    assert ds.attrs["every"] == 2 and ds.attrs["hom_dim"] == 1 and ds.attrs["n_points"] == 60
    # the two views hold the same numbers
    for row in df.itertuples():
        assert row.landscape_norm == ds["landscape_norm"].sel(epoch=row.epoch, layer=row.layer).item()
        assert [row.f0, row.f1, row.f2] == list(ds["f_vector"].sel(epoch=row.epoch).values)
        assert row.n_regions == row.f2


def test_save_round_trip_and_overwrite(plain_loop, tmp_path):
    monitor = plain_loop[0]
    path = tmp_path / "monitor.zarr"
    assert monitor.save(path) == path
    back = load_monitor(path)
    ds = monitor.to_xarray()
    np.testing.assert_array_equal(back["landscape_norm"].values, ds["landscape_norm"].values)
    np.testing.assert_array_equal(back["f_vector"].values, ds["f_vector"].values)
    assert list(back["layer"].values) == list(ds["layer"].values)
    assert back.attrs["format"] == monitor_module.FORMAT
    monitor.save(str(path))  # a store this monitor wrote may be replaced
    assert load_monitor(path)["epoch"].values.tolist() == [0, 2, 4]
    assert sorted(os.listdir(tmp_path)) == ["monitor.zarr"]  # no temporary left behind


def test_save_refuses_foreign_paths_and_leaves_them_alone(plain_loop, tmp_path):
    monitor = plain_loop[0]
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    d = tmp_path / "folder"
    d.mkdir()
    (d / "data.bin").write_bytes(b"\x00\x01")
    for target in (f, d):
        with pytest.raises(ValueError, match="path .* not a TopologyMonitor store"):
            monitor.save(target)
    assert f.read_text() == "mine" and (d / "data.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError, match="path: the folder .* does not exist"):
        monitor.save(tmp_path / "missing" / "m.zarr")
    with pytest.raises(TypeError, match="path must be"):
        monitor.save(3)
    with pytest.raises(ValueError, match="not a TopologyMonitor store"):
        load_monitor(d)


def test_a_failed_replace_keeps_the_old_store(plain_loop, tmp_path, monkeypatch):
    monitor = plain_loop[0]
    path = tmp_path / "m.zarr"
    monitor.save(path)
    before = load_monitor(path)
    real_rename = os.rename

    def failing_rename(src, dst):
        if ".tmp-" in os.fspath(src):
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(monitor_module.os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        monitor.save(path)
    monkeypatch.undo()
    after = load_monitor(path)
    assert after.identical(before)
    assert sorted(os.listdir(tmp_path)) == ["m.zarr"]


# --------------------------------------------------------------------------- as a callback of nets.train


def test_train_callback_records_the_snapshot_states():
    data = circles(160, seed=2)
    batch = data.X[::4]
    net = MLP([2, 5, 2], seed=3)
    monitor = TopologyMonitor(batch, every=2, complex=False)
    result = train(net, data, config=TrainConfig(epochs=4, lr=0.05, seed=0), snapshots=EveryKEpochs(2),
                   callbacks=[monitor])
    assert monitor.epochs == sorted(result.states) == [0, 2, 4]
    ds = monitor.to_xarray()
    assert "f_vector" not in ds and "cell_dim" not in ds.dims
    for e, state in result.states.items():
        twin = MLP([2, 5, 2])
        twin.load_state_dict(state)
        np.testing.assert_allclose(ds["landscape_norm"].sel(epoch=e).values, reference_norms(twin, batch),
                                   rtol=1e-7, atol=1e-12)
    assert list(monitor.to_dataframe().columns) == ["epoch", "layer", "landscape_norm"]


def test_hom_dim_zero_and_explicit_layers():
    data = circles(100, seed=4)
    net = MLP([2, 4, 4, 2], seed=0)
    monitor = TopologyMonitor(torch.from_numpy(data.X[::2]), layers=["relu2", "input"], hom_dim=0, complex=False)
    monitor(net, 0)
    # network order, whatever the order asked
    assert monitor.layer_names == ("input", "relu2")
    acts = mlp_activations(net, data.X[::2])
    want = [reference_norm(acts[0], 0), reference_norm(acts[2], 0)]
    np.testing.assert_allclose(monitor.to_xarray()["landscape_norm"].values[0], want, rtol=1e-7, atol=1e-12)


# --------------------------------------------------------------------------- mode, grad, device


class Frozen(nn.Module):
    """Dropout and batch norm, whose train and eval modes compute different things."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))

    def forward(self, x):
        return self.body(x)


def test_mode_grad_and_parameters_are_restored():
    X = circles(80, seed=5).X
    model = Frozen()
    model(torch.from_numpy(X)).sum().backward()  # gradients the user has not stepped yet
    model.train()
    model.body[1].eval()  # a batch norm the user froze inside a training model
    modes = {n: m.training for n, m in model.named_modules()}
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    params = {n: t.clone() for n, t in model.state_dict().items()}
    model.body[0].bias.requires_grad_(False)
    monitor = TopologyMonitor(X, complex=False)
    monitor(model, 0)
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert torch.is_grad_enabled()
    assert not model.body[0].bias.requires_grad and model.body[0].weight.requires_grad
    for n, p in model.named_parameters():
        assert torch.equal(p.grad, grads[n]) and p.device.type == "cpu"
    for n, t in model.state_dict().items():  # running statistics untouched: eval mode
        assert torch.equal(t, params[n])
    # measured in eval mode: dropout off, so a second record of the same weights is identical
    again = TopologyMonitor(X, complex=False)
    again(model, 0)
    np.testing.assert_array_equal(monitor.to_xarray()["landscape_norm"].values,
                                  again.to_xarray()["landscape_norm"].values)
    model.eval()
    with torch.no_grad():
        hidden = model.body[:3](torch.from_numpy(X)).numpy()
    relu_norm = monitor.to_xarray()["landscape_norm"].sel(layer="body.2").item()
    assert relu_norm == pytest.approx(reference_norm(hidden), rel=1e-7, abs=1e-12)
    # grad mode is restored also when the caller had turned it off
    with torch.no_grad():
        TopologyMonitor(X, complex=False)(model, 0)
        assert not torch.is_grad_enabled()


def test_modes_are_restored_when_the_measurement_fails():
    model = MLP([2, 4, 2])
    model.train()
    model.relu1.eval()
    with pytest.raises(ValueError, match="X must have shape"):
        TopologyMonitor(np.zeros((5, 3)) + np.arange(3), complex=False)(model, 0)
    assert model.training and not model.relu1.training and model.linear1.training


# --------------------------------------------------------------------------- refusals


class Tanh2(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 4)
        self.act = nn.Tanh()
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        return self.b(self.act(self.a(x)))


def test_a_non_relu_model_is_refused_for_the_complex_only():
    X = circles(60, seed=6).X
    monitor = TopologyMonitor(X)
    with pytest.raises(TypeError, match="Linear/ReLU"):
        monitor(Tanh2(), 0)
    assert monitor.epochs == []  # nothing half-recorded
    ok = TopologyMonitor(X, complex=False)
    ok(Tanh2(), 0)
    assert ok.layer_names == ("input", "output")  # no nn.ReLU: input and output by default


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"every": 0}, ValueError, "every must be >= 1"),
        ({"every": 1.5}, TypeError, "every must be an int"),
        ({"hom_dim": 3}, ValueError, "hom_dim must be <= 2"),
        ({"homology": "global"}, ValueError, "homology must be one of"),
        ({"levels": 0}, ValueError, "levels must be >= 1"),
        ({"grid": (0.0, 1.0)}, TypeError, "grid must be"),
        ({"grid": (1.0, 0.0, 0.1)}, ValueError, "t_max must be > t_min"),
        ({"backend": "ripser"}, ValueError, "backend must be one of"),
        ({"keep_infinite": 1}, TypeError, "keep_infinite must be True or False"),
        ({"layers": "relu1"}, TypeError, "layers must be a list"),
        ({"box": (1.0, 0.0)}, ValueError, "box is empty"),
        ({"box": (0.0, 1.0), "complex": False}, ValueError, "box is given but no complex"),
        ({"complex": "yes"}, TypeError, "complex must be True or False"),
    ],
)
def test_bad_arguments_are_refused_naming_them(kwargs, exc, match):
    X = circles(40, seed=0).X
    with pytest.raises(exc, match=match):
        TopologyMonitor(X, **kwargs)


def test_bad_batches_are_refused_naming_X():
    X = circles(40, seed=0).X
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        TopologyMonitor(bad)
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        TopologyMonitor(torch.from_numpy(bad))
    with pytest.raises(ValueError, match=r"X must have shape \(n, features"):
        TopologyMonitor(X[:, 0])
    with pytest.raises(TypeError, match="X must hold real numbers"):
        TopologyMonitor(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="box: X's bounding box is flat in coordinate 1"):
        TopologyMonitor(np.c_[X[:, 0], np.ones(len(X))])
    with pytest.raises(ValueError, match="complex=True needs inputs of dimension 1..3"):
        TopologyMonitor(np.random.default_rng(0).normal(size=(10, 4)), complex=True)
    # the batch is a copy: editing the caller's array changes nothing
    mine = X.copy()
    monitor = TopologyMonitor(mine)
    mine[:] = 0
    assert np.array_equal(monitor.X, X) and not monitor.X.flags.writeable


def test_bad_calls_are_refused_naming_the_argument():
    X = circles(40, seed=0).X
    net = MLP([2, 3, 2])
    wrong_width = TopologyMonitor(np.c_[X, X[:, :1]])
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        wrong_width(net, 0)
    monitor = TopologyMonitor(X, every=2, layers=["relu9"])
    with pytest.raises(ValueError, match="layers: unknown layer name"):
        monitor(net, 0)
    monitor = TopologyMonitor(X, every=2)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        monitor("net", 0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        monitor.on_epoch_end(np.eye(2), 0)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        monitor(net, -1)
    with pytest.raises(TypeError, match="epoch must be an int"):
        monitor(net, 2.0)
    monitor(net, 4)
    with pytest.raises(ValueError, match="epoch must increase from call to call: got 4 after 4"):
        monitor(net, 4)
    with pytest.raises(ValueError, match="model: the captured layers changed"):
        monitor(MLP([2, 3, 3, 2]), 6)
    assert monitor.epochs == [4]


def test_epochs_not_due_do_not_touch_the_model():
    class Exploding(nn.Module):
        def forward(self, x):
            raise AssertionError("the monitor ran the model at an epoch that is not due")

    monitor = TopologyMonitor(circles(20, seed=0).X, every=3, complex=False)
    assert monitor(Exploding(), 1) is None and monitor(1 + 1, Exploding()) is None
    assert monitor.epochs == []


def test_no_records_yet():
    monitor = TopologyMonitor(circles(20, seed=0).X)
    df = monitor.to_dataframe()
    assert df.empty and list(df.columns) == ["epoch", "layer", "landscape_norm", "f0", "f1", "f2", "n_regions"]
    with pytest.raises(ValueError, match="nothing recorded yet"):
        monitor.to_xarray()


# --------------------------------------------------------------------------- Lightning (optional extra)


def test_importing_nntopo_does_not_import_lightning():
    code = ("import sys, nntopo, nntopo.nets, nntopo.nets.monitor; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "[]"


def test_adapter_without_lightning_is_a_clear_import_error(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, name, None)  # import of these now raises ImportError
    with pytest.raises(ImportError, match=r"nntopo\[lightning\]"):
        monitor_module.LightningTopologyMonitor
    import nntopo.nets

    with pytest.raises(ImportError, match=r"nntopo\[lightning\]"):
        nntopo.nets.LightningTopologyMonitor
    with pytest.raises(AttributeError):
        monitor_module.NoSuchThing


def test_lightning_adapter_records_every_epoch_of_a_trainer():
    L = pytest.importorskip("lightning.pytorch")
    data = circles(120, seed=7)
    batch = data.X[::3]

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = MLP([2, 5, 5, 2], seed=8)

        def forward(self, x):
            return self.net(x)

        def training_step(self, b, _):
            x, y = b
            return nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=0.05)

    copies = {}

    class Copier(L.Callback):
        def on_train_start(self, trainer, pl_module):
            copies[0] = copy.deepcopy(pl_module.net)

        def on_train_epoch_end(self, trainer, pl_module):
            copies[trainer.current_epoch + 1] = copy.deepcopy(pl_module.net)

    inner = TopologyMonitor(batch, every=1)
    outer = TopologyMonitor(batch, every=2, complex=False)
    adapters = [monitor_module.LightningTopologyMonitor(inner, submodule="net"),
                monitor_module.LightningTopologyMonitor(outer)]
    assert isinstance(adapters[0], L.Callback)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(data.X), torch.from_numpy(data.y)), batch_size=40)
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[Copier(), *adapters])
    trainer.fit(Module(), loader)
    assert inner.epochs == [0, 1, 2, 3] and outer.epochs == [0, 2]
    ds = inner.to_xarray()
    box = (batch.min(axis=0), batch.max(axis=0))
    for e in inner.epochs:
        np.testing.assert_allclose(ds["landscape_norm"].sel(epoch=e).values, reference_norms(copies[e], batch),
                                   rtol=1e-7, atol=1e-12)
        assert list(ds["f_vector"].sel(epoch=e).values) == list(polyhedral_complex(copies[e], box=box).f_vector)
    # the whole LightningModule, by its own layer names, measures the same network
    assert outer.layer_names == ("input", "net.relu1", "net.relu2", "output")
    np.testing.assert_array_equal(outer.to_xarray()["landscape_norm"].values,
                                  ds["landscape_norm"].sel(epoch=[0, 2]).values)
    with pytest.raises(ValueError, match="submodule 'nett' is not a submodule"):
        monitor_module.LightningTopologyMonitor(inner, submodule="nett")._network(Module())
    with pytest.raises(TypeError, match="monitor must be an nntopo TopologyMonitor"):
        monitor_module.LightningTopologyMonitor("monitor")
