import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nntopo.sweep import ConfigError, load_config, packaged_config, parse_config
from nntopo.sweep.config import PACKAGED_CONFIGS


def _bad(tmp_path, text: str, name: str = "bad.toml"):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: "), info.value
    return str(info.value)


def _fake_mnist(folder):
    """Tiny files in MNIST's IDX format (28 x 28 images, every digit): what the mnist configs read."""
    import struct

    import numpy as np

    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 1500), ("t10k", 600)):
        for kind, array in (("images-idx3", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                            ("labels-idx1", (np.arange(n) % 10).astype(np.uint8))):
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
            (folder / f"{prefix}-{kind}-ubyte").write_bytes(header + array.tobytes())
    return folder


def test_packaged_configs_are_valid(tmp_path):
    """Every TOML file shipped in nntopo/configs is a valid config (the list is the folder);
    those reading MNIST with files in MNIST's format given by data_dir."""
    from nntopo.sweep.analyses import available_analyses
    from nntopo.sweep.config import FILE_DATASETS

    assert {"demo", "nine_disks_paper", "digits_paper", "digits_demo", "mnist_paper", "mnist_demo"} <= set(
        PACKAGED_CONFIGS)
    mnist_dir = _fake_mnist(tmp_path / "mnist")
    for name in PACKAGED_CONFIGS:
        with open(packaged_config(name), "rb") as fh:
            reads_files = tomllib.load(fh)["data"]["dataset"] in FILE_DATASETS
        cfg = load_config(packaged_config(name), data_dir=mnist_dir if reads_files else None)
        assert cfg.analyses and cfg.n_networks >= 1
        assert set(cfg.resolved()["analysis"]) <= set(available_analyses())
    demo = load_config(packaged_config("demo"))
    assert demo.resolved()["analysis"].keys() == {"landscapes", "polyhedral", "fiedler", "betti"}
    assert demo.n_networks == 4 and demo.network.widths == (2,) + (15,) * 10 + (2,)
    # the paper configs: what the activation-landscapes paper specifies
    nine = load_config(packaged_config("nine_disks_paper"))
    assert nine.n_networks == 100 and nine.network.widths == (2,) + (15,) * 10 + (2,)
    assert {0.55, 0.7, 0.85} <= set(nine.training.snapshots.thresholds) and nine.snapshots[-1].policy == "final"
    assert nine.analysis("landscapes").grid[2] == 0.001 and nine.analysis("landscapes").homology == "plain"
    mnist = load_config(packaged_config("mnist_paper"), data_dir=mnist_dir)
    assert mnist.network.widths == (784, 128, 64, 64, 64, 64, 64, 10) and mnist.n_networks == 10
    assert mnist.training.snapshots.thresholds[0] == 0.2 and mnist.snapshots[-1].policy == "final"
    assert (mnist.data.batches[0].size, mnist.data.batches[0].subsamples) == (2000, 5)
    assert dict(mnist.data.params)["split"] == "all"
    land = mnist.analysis("landscapes")
    assert (land.homology, land.hom_dim, land.grid[2]) == ("local", 1, 0.005)


def test_packaged_names_resolve_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config("configs/demo.toml") == load_config(packaged_config("demo"))
    assert load_config("demo") == load_config(packaged_config("demo"))
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_config("configs/nope.toml")


def test_resolved_fills_defaults_and_ignores_the_file_name(tmp_path, tiny_text):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(tiny_text)
    b.write_text(tiny_text.replace("lr = 3e-3", "lr = 0.003"))
    ca, cb = load_config(a), load_config(b)
    assert ca == cb and ca.resolved() == cb.resolved()
    r = ca.resolved()
    assert r["training"]["batch_size"] == 128 and r["training"]["stop_at_accuracy"] is None
    assert r["data"]["test_fraction"] == 0.1
    assert r["analysis"]["landscapes"] == {"batch": "c2", "hom_dim": 1, "homology": "plain", "grid": [0.0, 1.0, 0.05],
                                           "levels": 2, "layers": ["input", "relu1", "relu2", "output"],
                                           "keep_infinite": False, "backend": "auto"}
    assert json.loads(json.dumps(r)) == r
    # snapshot axis: thresholds, then every 2 epochs from 0 to 3
    assert [(s.policy, s.threshold, s.epoch) for s in ca.snapshots] == [
        ("accuracy_threshold", 0.5, None), ("accuracy_threshold", 0.9, None),
        ("every_k", None, 0), ("every_k", None, 2)]


@pytest.mark.parametrize("edit, key, expected", [
    (("name = \"tiny\"", "name = \"tiny\"\nnmae = 1"), "nmae", "unknown key"),
    (("epochs = 3", "epochs = 3\nepoch = 4"), "training.epoch", "unknown key"),
    (("epochs = 3", 'epochs = "3"'), "training.epochs", "must be an int"),
    (("epochs = 3", "epochs = 3.0"), "training.epochs", "must be an int"),
    (("lr = 3e-3", "lr = -1.0"), "training.lr", "must be > 0"),
    (("thresholds = [0.5, 0.9]", "thresholds = [0.5, 1.5]"), "training.snapshots", "thresholds[1] must be <= 1"),
    (("thresholds = [0.5, 0.9]", "thresholds = [0.9, 0.5]"), "training.snapshots.thresholds", "strictly increasing"),
    (("seeds = [0, 1]", "seeds = [0, 0]"), "training.seeds", "repeat"),
    (("seeds = [0, 1]", "seeds = [0, -1]"), "training", "seeds[1] must be >= 0"),
    (("seeds = [0, 1]", "seeds = [0]\nnetworks = 2"), "training.seeds", "exactly one of"),
    (("widths = [2, 8, 8, 2]", "widths = [3, 8, 8, 2]"), "network.widths", "2 input coordinates"),
    (("widths = [2, 8, 8, 2]", "widths = [2, 8, 8, 3]"), "network.widths", "2 classes"),
    (("widths = [2, 8, 8, 2]", "widths = 8"), "network.widths", "expected a list"),
    (("dataset = \"nine_disks\"", "dataset = \"mnist_full\""), "data.dataset", "must be one of"),
    (("every = 10", "every = 10000"), "data.batches.c2", "selects no point"),
    (("every = 10", "every = 10\nfraction = 0.2"), "data.batches.c2", "exactly one of"),
    (("label = 1", "label = 7"), "data.batches.c2", "not a class"),
    (("levels = 2", "levels = 0"), "analysis.landscapes.levels", "must be >= 1"),
    (("grid = [0.0, 1.0, 0.05]", "grid = [0.0, 1.0, 0.3]"), "analysis.landscapes.grid", "step"),
    (("levels = 2", "levels = 2\nlayers = [\"relu1\", \"relu9\"]"), "analysis.landscapes.layers[1]", "'relu9'"),
    (("levels = 2", "levels = 2\nhomology = \"global\""), "analysis.landscapes.homology", "must be one of"),
    (("levels = 2", "levels = 2\nbatch = \"c1\""), "analysis.landscapes.batch", "must be one of 'c2'"),
    (("box = [-70, 70]", "box = [70, -70]"), "analysis.polyhedral.box", "lo < hi"),
    (("box = [-70, 70]", "box = \"everywhere\""), "analysis.polyhedral.box", "must be one of 'data'"),
    (("[analysis.polyhedral]", "[analysis.no_such_study]"), "analysis.no_such_study", "unknown analysis"),
    (("epochs = 3", "epochs = \n"), "", "not valid TOML"),
])
def test_config_errors_name_file_and_key(tmp_path, tiny_text, edit, key, expected):
    old, new = edit
    assert old in tiny_text
    message = _bad(tmp_path, tiny_text.replace(old, new, 1))
    assert f": {key}" in message or key == "", message
    assert expected in message, message


def test_missing_tables_and_files(tmp_path, tiny_text):
    message = _bad(tmp_path, tiny_text.split("[analysis.landscapes]")[0])
    assert "analysis: missing table" in message
    no_snapshot = tiny_text.replace("thresholds = [0.5, 0.9]\nevery = 2", "")
    assert "training.snapshots: no snapshot" in _bad(tmp_path, no_snapshot)
    assert "analysis.polyhedral: the complex is computed for inputs of dimension <= 3" in _bad(
        tmp_path, tiny_text.replace('dataset = "nine_disks"', 'dataset = "digits"').replace(
            "widths = [2, 8, 8, 2]", "widths = [64, 8, 10]").replace("every = 10", "fraction = 0.1"))
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(TypeError, match="config must be a path"):
        load_config(3)


@settings(max_examples=25, deadline=None)
@given(epochs=st.integers(0, 50), every=st.integers(1, 60), at=st.lists(st.integers(0, 50), unique=True, max_size=4),
       thresholds=st.lists(st.floats(0, 1), unique=True, max_size=4), final=st.booleans())
def test_snapshot_axis_follows_the_policies(epochs, every, at, thresholds, final):
    at = sorted(e for e in at if e <= epochs)
    snaps = {"every": every, "final": final}
    if at:
        snaps["at_epochs"] = at
    if thresholds:
        snaps["thresholds"] = sorted(thresholds)
    data = {"data": {"dataset": "nine_disks", "params": {"step": 7.0}}, "network": {"widths": [2, 3, 2]},
            "training": {"networks": 1, "epochs": epochs, "snapshots": snaps},
            "analysis": {"polyhedral": {}}}
    cfg = parse_config(data, "hyp.toml")
    axis = cfg.snapshots
    expected = ([("accuracy_threshold", t, None) for t in sorted(thresholds)]
                + [("every_k", None, e) for e in range(0, epochs + 1, every)] + [("at_epoch", None, e) for e in at]
                + [("final", None, None)] * final)
    assert [(s.policy, s.threshold, s.epoch) for s in axis] == expected
    assert cfg.resolved()["analysis"]["polyhedral"] == {"box": "data"}


def test_resolved_config_reads_back_as_the_same_config(tmp_path):
    from nntopo.sweep.config import FILE_DATASETS

    mnist_dir = _fake_mnist(tmp_path / "mnist")
    for name in PACKAGED_CONFIGS:
        with open(packaged_config(name), "rb") as fh:
            reads_files = tomllib.load(fh)["data"]["dataset"] in FILE_DATASETS
        cfg = load_config(packaged_config(name), data_dir=mnist_dir if reads_files else None)
        again = parse_config(cfg.resolved(), "resolved")
        assert again == cfg and again.resolved() == cfg.resolved()
