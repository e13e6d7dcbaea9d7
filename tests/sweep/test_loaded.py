"""Sweeps that load the user's own networks (checkpoints, module:function) instead of training them."""

import importlib
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nntopo.landscapes import Grid, landscape, normalize_plain, rips_persistence
from nntopo.nets import MLP, capture
from nntopo.polyhedral import polyhedral_complex
from nntopo.sweep import ConfigError, load_config, open_results, run_sweep
from nntopo.sweep.data import network_split, sweep_data
from nntopo.sweep.jobs import load_snapshot_network
from nntopo.sweep.networks import file_sha256, state_sha256
from nntopo.sweep.store import stored_config

# The user's module: written to a file of the test's folder and imported from there, as a
# user's own code would be.
USER_MODULE = '''
import torch
from torch import nn


def _seeded(seed, build):
    with torch.random.fork_rng():  # the user seeds its own init, leaving the global RNG alone
        torch.manual_seed(seed)
        return build()


def chain(width=6, seed=0):
    return _seeded(seed, lambda: nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                               nn.Linear(width, 2)))


def tanh_net(width=6, seed=0):
    return _seeded(seed, lambda: nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, 2)))


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.inp, self.act, self.block, self.act2, self.out = (nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width),
                                                               nn.ReLU(), nn.Linear(width, 2))

    def forward(self, x):
        h = self.act(self.inp(x))
        return self.out(h + self.act2(self.block(h)))


def residual(width=6, seed=0):
    return _seeded(seed, lambda: Residual(width))


def unseeded():
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))


def three_inputs():
    return _seeded(0, lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)))


def not_a_module():
    return 3
'''

HEAD = '''name = "mine"

[data]
dataset = "nine_disks"

[data.batches.c2]
label = 1
every = 10

[network]
'''
LANDSCAPES = "[analysis.landscapes]\ngrid = [0.0, 1.0, 0.05]\nlevels = 2\n"
POLYHEDRAL = "[analysis.polyhedral]\nbox = [-70, 70]\n"


@pytest.fixture
def user(tmp_path, monkeypatch):
    """The name of the user's module (unique to the test), importable through sys.path."""
    name = f"usernets_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _write(tmp_path, network: str, analyses: str = LANDSCAPES + POLYHEDRAL, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + network + "\n" + analyses)
    return path


def _bad(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: "), info.value
    return str(info.value)


def _landscapes(net, X, layers) -> np.ndarray:
    """The landscape core called directly on the module's activations, layer by layer."""
    acts = capture(net, X, layers=list(layers))
    return np.stack([landscape(rips_persistence(normalize_plain(acts[n]), maxdim=1)[1], Grid(0.0, 1.0, 0.05), 2,
                               hom_dim=1).padded(2) for n in layers])


def _check_store(out, cfg, nets: list, layers: list[str], polyhedral: bool = True) -> None:
    """The store of a loaded sweep holds what the cores compute from ``nets`` directly."""
    ds = open_results(out).load()
    assert ds.sizes["network"] == len(nets) and ds.sizes["snapshot"] == 1 and ds.sizes["epoch"] == 1
    assert list(ds["snapshot_policy"].values) == ["loaded"] and list(ds["seed"].values) == [-1] * len(nets)
    assert list(ds["layer"].values) == layers
    (batch,) = sweep_data(cfg).batches["c2"]  # one subsample
    assert ds.sizes["subsample"] == 1
    for n, net in enumerate(nets):
        assert bool(ds["snapshot_reached"].values[n, 0]) and ds["snapshot_epoch"].values[n, 0] == 0
        np.testing.assert_array_equal(ds["landscape"].values[n, 0, 0], _landscapes(net, batch.X, layers))
        if polyhedral:
            cx = polyhedral_complex(net, box=(-70, 70))
            assert list(ds["f_vector"].values[n, 0]) == list(cx.f_vector)
            assert ds["euler_characteristic"].values[n, 0] == 1
        # epoch 0 of the history: the loaded weights evaluated on the network's split (seed 0)
        train, test = network_split(cfg, n)
        with torch.no_grad():
            for data, key in ((train, "train_acc"), (test, "test_acc")):
                acc = (net(torch.from_numpy(data.X)).argmax(1).numpy() == data.y).mean()
                assert ds[key].values[n, 0] == pytest.approx(acc, abs=1e-12)
                assert ds[f"snapshot_{key}"].values[n, 0] == ds[key].values[n, 0]
        # the analyses' network, rebuilt from the store, is the user's network
        stored = load_snapshot_network(str(out), cfg, n, 0)
        assert state_sha256(stored.state_dict()) == state_sha256(net.state_dict())


def test_a_folder_of_mlp_checkpoints_is_one_network_per_file(tmp_path):
    folder = tmp_path / "ckpts"
    folder.mkdir()
    nets = [MLP([2, 8, 8, 2], seed=s) for s in (5, 6)]
    # sorted by name: b.pt is network 0
    torch.save(nets[0].state_dict(), folder / "b.pt")
    torch.save(nets[1].state_dict(), folder / "c.pth")
    (folder / "notes.txt").write_text("not a checkpoint")
    toml = _write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "ckpts"')
    cfg = load_config(toml)
    assert cfg.training is None and cfg.n_networks == 2 and cfg.network_job == "load"
    assert cfg.resolved()["network"]["checkpoints"] == [
        {"path": str(folder / f), "sha256": file_sha256(folder / f)} for f in ("b.pt", "c.pth")]
    assert "training" not in cfg.resolved()
    summary = run_sweep(toml, tmp_path / "run", workers=1)
    assert summary.ran == {"load": 2, "landscapes": 2, "polyhedral": 2}
    _check_store(tmp_path / "run", cfg, nets, ["input", "relu1", "relu2", "output"])
    # the stored config reads back as the same config (absolute paths, recorded hashes)
    assert stored_config(tmp_path / "run") == cfg


def test_a_checkpoint_of_the_users_sequential(tmp_path, user):
    net = importlib.import_module(user).chain(width=5, seed=1)
    with torch.no_grad():  # other weights than the callable's, so loading must replace them
        for p in net.parameters():
            p.mul_(-1.5)
    torch.save(net.state_dict(), tmp_path / "mine.pt")
    toml = _write(tmp_path, f'module = "{user}:chain"\ncheckpoints = "mine.pt"\n\n[network.kwargs]\nwidth = 5\nseed = 1')
    cfg = load_config(toml)
    assert cfg.network.n_inputs == 2 and cfg.network.n_outputs == 2 and cfg.n_networks == 1
    assert cfg.network.resolved()["kwargs"] == {"seed": 1, "width": 5}
    summary = run_sweep(toml, tmp_path / "run", workers=1)
    assert summary.ran == {"load": 1, "landscapes": 1, "polyhedral": 1}
    # the Sequential's ReLU modules are named "1" and "3"
    _check_store(tmp_path / "run", cfg, [net], ["input", "1", "3", "output"])
    assert stored_config(tmp_path / "run") == cfg


def test_a_module_alone_returns_the_trained_network(tmp_path, user):
    toml = _write(tmp_path, f'module = "{user}:residual"\n\n[network.kwargs]\nwidth = 4\nseed = 2', LANDSCAPES)
    cfg = load_config(toml)
    net = importlib.import_module(user).residual(width=4, seed=2)
    assert cfg.network.weights_sha256 == state_sha256(net.state_dict())
    run_sweep(toml, tmp_path / "run", workers=1)
    _check_store(tmp_path / "run", cfg, [net], ["input", "act", "act2", "output"], polyhedral=False)
    # the report and the figures describe a module's network without MLP widths (strict: any section error raises)
    from nntopo.report import build_report
    from nntopo.studies.activation_landscapes import draw_figures

    html = build_report(tmp_path / "run", strict=True).read_text(encoding="utf-8")
    assert f"module &#39;{user}:residual&#39;" in html or f"module '{user}:residual'" in html
    assert "loaded" in html
    assert [p.name for p in draw_figures(tmp_path / "run")][:1] == ["figure1_activations.png"]


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_the_module_is_imported_from_the_config_folder(tmp_path, workers):
    """Not on sys.path: found in the config's folder, in this process and (slow: a process pool) in workers."""
    name = f"usernets_w_{tmp_path.name.replace('-', '_')}"
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / f"{name}.py").write_text(USER_MODULE)
    toml = _write(tmp_path / "proj", f'module = "{name}:chain"', LANDSCAPES)
    try:
        cfg = load_config(toml)
        assert cfg.network.module_path == str(tmp_path / "proj") and str(tmp_path / "proj") not in sys.path
        summary = run_sweep(toml, tmp_path / "run", workers=workers)
        assert summary.ran == {"load": 1, "landscapes": 1}
        _check_store(tmp_path / "run", cfg, [sys.modules[name].chain()], ["input", "1", "3", "output"],
                     polyhedral=False)
    finally:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("function, analysis, culprit", [
    ("tanh_net", POLYHEDRAL, "module '1' (Tanh)"),
    ("residual", POLYHEDRAL, "the value 'act' goes to 2 operations"),
    ("tanh_net", "[analysis.fiedler]\n", "module '1' (Tanh)"),
    ("residual", "[analysis.betti]\nn_trials = 2\n", "operator.add"),
])
def test_polyhedral_views_refuse_a_network_that_is_no_relu_chain(tmp_path, user, function, analysis, culprit):
    name = analysis.split("]")[0].split(".")[1]
    message = _bad(_write(tmp_path, f'module = "{user}:{function}"', analysis))
    assert f"analysis.{name}: network.module '{user}:{function}' cannot be analysed here" in message, message
    assert "is not a Linear/ReLU chain" in message and culprit in message, message
    assert not (tmp_path / "run").exists()


def test_landscapes_work_on_a_tanh_network(tmp_path, user):
    toml = _write(tmp_path, f'module = "{user}:tanh_net"',
                  LANDSCAPES + 'layers = ["input", "1", "output"]\n')
    cfg = load_config(toml)
    run_sweep(toml, tmp_path / "run", workers=1)
    _check_store(tmp_path / "run", cfg, [importlib.import_module(user).tanh_net()], ["input", "1", "output"],
                 polyhedral=False)
    # with no ReLU, the default layers are the input and the output
    assert load_config(_write(tmp_path, f'module = "{user}:tanh_net"', LANDSCAPES, "d.toml")
                       ).analysis("landscapes").layers == ("input", "output")


def test_checkpoints_that_do_not_fit_are_refused_naming_the_file(tmp_path, user):
    torch.save(MLP([2, 8, 8, 2]).state_dict(), tmp_path / "mlp.pt")
    message = _bad(_write(tmp_path, 'widths = [2, 6, 6, 2]\ncheckpoints = "mlp.pt"'))
    assert "network.checkpoints" in message and str(tmp_path / "mlp.pt") in message and "size mismatch" in message
    message = _bad(_write(tmp_path, f'module = "{user}:chain"\ncheckpoints = "mlp.pt"'))
    assert str(tmp_path / "mlp.pt") in message and "Missing key(s)" in message, message
    torch.save({"epoch": 3, "state_dict": MLP([2, 8, 8, 2]).state_dict()}, tmp_path / "lightning.pt")
    message = _bad(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "lightning.pt"'))
    assert "not a state_dict" in message and "under 'state_dict'" in message, message


class _Evil:
    """Unpickling this would create a file: weights_only must refuse it before."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_malicious_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"linear1.weight": _Evil(marker)}, tmp_path / "evil.pt")
    message = _bad(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "evil.pt"'))
    assert str(tmp_path / "evil.pt") in message and "not a readable checkpoint" in message, message
    assert not marker.exists()


def test_missing_or_empty_checkpoint_paths(tmp_path):
    message = _bad(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "nope.pt"'))
    assert "network.checkpoints: checkpoint file or folder not found" in message and "nope.pt" in message
    (tmp_path / "empty").mkdir()
    message = _bad(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "empty"'))
    assert "holds no checkpoint" in message
    message = _bad(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = ["nope.pt"]'))
    assert "network.checkpoints[0]: checkpoint file not found" in message


def test_resume_is_refused_once_a_checkpoint_changed(tmp_path):
    torch.save(MLP([2, 8, 8, 2], seed=1).state_dict(), tmp_path / "net.pt")
    toml = _write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "net.pt"', LANDSCAPES)
    out = tmp_path / "run"
    run_sweep(toml, out, workers=1)
    again = run_sweep(toml, out, workers=1)
    assert again.resumed and again.ran == {}
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    torch.save(MLP([2, 8, 8, 2], seed=2).state_dict(), tmp_path / "net.pt")
    with pytest.raises(FileExistsError, match=r"different config \(network\.checkpoints = "):
        run_sweep(toml, out, workers=1)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_checkpoint_changed_after_the_config_was_read_is_refused_by_the_load_job(tmp_path):
    torch.save(MLP([2, 8, 8, 2], seed=1).state_dict(), tmp_path / "net.pt")
    cfg = load_config(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "net.pt"', LANDSCAPES))
    torch.save(MLP([2, 8, 8, 2], seed=2).state_dict(), tmp_path / "net.pt")
    with pytest.raises(ValueError, match="net.pt: the checkpoint changed since the config was read"):
        run_sweep(cfg, tmp_path / "run", workers=1)
    assert not (tmp_path / "run" / "marks" / "load" / "net00000.json").exists()


def test_a_module_that_returns_other_weights_each_call_is_refused_before_anything_is_created(tmp_path, user):
    toml = _write(tmp_path, f'module = "{user}:unseeded"', LANDSCAPES)
    assert "network.module: " in _bad(toml) and "different weights on a second call" in _bad(toml)
    with pytest.raises(ConfigError):
        run_sweep(toml, tmp_path / "run", workers=1)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("network, key, expected", [
    ('widths = [2, 8, 8, 2]\nmodule = "{user}:chain"', "network", "exactly one of widths"),
    ("activation = \"relu\"", "network", "exactly one of widths"),
    ('module = "{user}:chain"\nactivation = "relu"', "network.activation", "applies only to widths"),
    ('widths = [2, 8, 8, 2]\n\n[network.kwargs]\nwidth = 3', "network.kwargs", "applies only to module"),
    ('module = "{user}"', "network.module", "'package.module:function'"),
    ('module = "no_such_module_xyz:f"', "network.module", "No module named 'no_such_module_xyz'"),
    ('module = "{user}:nothing"', "network.module", "has no 'nothing'"),
    ('module = "{user}:not_a_module"', "network.module", "returned a int, not a torch.nn.Module"),
    ('module = "{user}:chain"\n\n[network.kwargs]\ndepth = 3', "network.module", "unexpected keyword argument 'depth'"),
    ('module = "{user}:three_inputs"', "network.module", "cannot take the nine_disks inputs"),
    ('module = "{user}:chain"\n\n[network.kwargs]\nwhen = 1979-05-27', "network.kwargs.when", "expected a number"),
    ('module = "{user}:chain"\ncheckpoints = []', "network.checkpoints", "is empty"),
    ('module = "{user}:chain"\ncheckpoints = 3', "network.checkpoints", "expected a path"),
])
def test_network_table_errors(tmp_path, user, network, key, expected):
    message = _bad(_write(tmp_path, network.replace("{user}", user), LANDSCAPES))
    assert f": {key}: " in message and expected in message, message


def test_training_is_refused_for_loaded_networks(tmp_path, user):
    message = _bad(_write(tmp_path, f'module = "{user}:chain"\n\n[training]\nseeds = [0]\nepochs = 3', LANDSCAPES))
    assert ": training: the networks are loaded (network.module), not trained" in message
    assert "(epochs, seeds) would be ignored" in message


def test_a_layer_that_runs_twice_is_refused_at_parse(tmp_path, user):
    module = tmp_path / f"{user}_twice.py"
    module.write_text("import torch\nfrom torch import nn\n\nclass Twice(nn.Module):\n    def __init__(self):\n"
                      "        super().__init__()\n        torch.manual_seed(0)\n        self.a, self.b, self.act = nn.Linear(2, 3), nn.Linear(3, 2), "
                      "nn.ReLU()\n\n    def forward(self, x):\n        return self.act(self.b(self.act(self.a(x))))\n")
    try:
        message = _bad(_write(tmp_path, f'module = "{user}_twice:Twice"', LANDSCAPES))
        assert "analysis.landscapes.layers: network.module" in message and "'act' ran more than once" in message
    finally:
        sys.modules.pop(f"{user}_twice", None)


def test_a_copied_run_needs_no_checkpoint_files(tmp_path):
    """Analyses and figures read the weights the load job stored in OUT, not the user's files."""
    torch.save(MLP([2, 8, 8, 2], seed=1).state_dict(), tmp_path / "net.pt")
    run_sweep(_write(tmp_path, 'widths = [2, 8, 8, 2]\ncheckpoints = "net.pt"', LANDSCAPES), tmp_path / "run",
              workers=1)
    (tmp_path / "net.pt").unlink()
    shutil.move(tmp_path / "run", tmp_path / "moved")
    cfg = stored_config(tmp_path / "moved")
    net = load_snapshot_network(str(tmp_path / "moved"), cfg, 0, 0)
    assert state_sha256(net.state_dict()) == state_sha256(MLP([2, 8, 8, 2], seed=1).state_dict())


def _readme_blocks() -> dict[str, str]:
    """The code blocks of the README's "Analyse your own network" section, by language."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Analyse your own network", 1)[1].split("\n## ", 1)[0]
    return {lang: body for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)}


def test_the_readme_example_runs_through_the_cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nntopo.cli import app
    from nntopo.sweep.analyses import polyhedral_box

    blocks = _readme_blocks()
    assert {"python", "toml", "bash"} <= set(blocks)
    config_lines = [ln for ln in blocks["toml"].splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(config_lines) <= 10, config_lines
    (tmp_path / "my_net.py").write_text(blocks["python"])
    (tmp_path / "mine.toml").write_text(blocks["toml"])
    (tmp_path / "checkpoints").mkdir()
    namespace: dict = {}
    exec(blocks["python"], namespace)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = namespace["build"]()
    torch.save(net.state_dict(), tmp_path / "checkpoints" / "seed0.pt")
    monkeypatch.chdir(tmp_path)
    try:  # my_net is not on sys.path: nntopo imports it from the config's folder
        r = CliRunner().invoke(app, ["run", "mine.toml", "--out", "run", "--workers", "1", "-q"])
        assert r.exit_code == 0, r.output
        assert r.stdout.startswith("ran load 1, landscapes 1, polyhedral 1 on this process"), r.stdout
        cfg = load_config(tmp_path / "mine.toml")
        ds = open_results(tmp_path / "run")
        assert list(ds["layer"].values) == ["input", "1", "3", "output"]
        box = polyhedral_box(cfg.analysis("polyhedral"), sweep_data(cfg))
        assert list(ds["f_vector"].values[0, 0]) == list(polyhedral_complex(net, box=box).f_vector)
    finally:
        sys.modules.pop("my_net", None)
