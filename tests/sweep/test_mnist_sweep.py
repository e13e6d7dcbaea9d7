"""The ``mnist`` dataset of a sweep: IDX files from ``[data.params] directory`` or ``--data-dir``,
train+test as one set, and a clear stop (naming the path, pointing to the digits config) without them."""

import gzip
import os
import struct
import tomllib

import numpy as np
import pytest
from typer.testing import CliRunner

from nntopo.cli import app
from nntopo.sweep import ConfigError, load_config, open_results, run_sweep
from nntopo.sweep.data import load_dataset, network_split, sweep_data

MNIST_TOML = """\
name = "mnist-tiny"

[data]
dataset = "mnist"

[data.params]
directory = "{directory}"
split = "all"

[data.batches.all]
size = 25
subsamples = 2
seed = 1

[network]
widths = [784, 8, 10]

[training]
seeds = [0]
epochs = 1
lr = 1e-3

[training.snapshots]
at_epochs = [1]

[analysis.landscapes]
homology = "local"
grid = [0.0, 1.0, 0.1]
levels = 2
"""


def _write_idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    body = header + array.astype(">u1").tobytes()
    path.write_bytes(gzip.compress(body) if compress else body)


@pytest.fixture
def idx_dir(tmp_path):
    """MNIST-format files: 40 train and 12 test images (28 x 28 bytes), every digit in both."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = {"train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
              "test": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)}
    labels = {"train": np.arange(40) % 10, "test": (np.arange(12) + 3) % 10}
    _write_idx(folder / "train-images-idx3-ubyte", images["train"])
    _write_idx(folder / "train-labels-idx1-ubyte.gz", labels["train"], compress=True)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", images["test"], compress=True)
    _write_idx(folder / "t10k-labels-idx1-ubyte", labels["test"])
    return folder, images, labels


def _config(tmp_path, directory) -> os.PathLike:
    path = tmp_path / "mnist.toml"
    path.write_text(MNIST_TOML.format(directory=directory))
    return path


def test_mnist_all_is_train_then_test_and_runs_end_to_end(tmp_path, idx_dir):
    folder, images, labels = idx_dir
    cfg = load_config(_config(tmp_path, folder))
    data = load_dataset(cfg.data)
    expected = np.concatenate([images["train"], images["test"]]).reshape(52, 784).astype(np.float32) / 255
    np.testing.assert_array_equal(data.X, expected)
    np.testing.assert_array_equal(data.y, np.concatenate([labels["train"], labels["test"]]))
    # each network trains on a seeded, stratified 90/10 split of the 52 images
    train, test = network_split(cfg, 0)
    assert len(train) + len(test) == 52
    assert len(test) == sum(round(0.1 * c) for c in np.bincount(data.y))
    subsets = sweep_data(cfg).batches["all"]
    assert [len(s) for s in subsets] == [25, 25]
    out = tmp_path / "run"
    summary = run_sweep(cfg, out, workers=1)
    assert summary.ran == {"train": 1, "landscapes": 1}
    ds = open_results(out).load()
    assert ds["landscape"].shape == (1, 1, 2, 3, 2, 11) and np.isfinite(ds["landscape"].values).all()


def test_data_dir_replaces_the_directory_and_relative_folders_are_absolute(tmp_path, idx_dir, monkeypatch):
    folder, _, _ = idx_dir
    path = _config(tmp_path, tmp_path / "nowhere")
    cfg = load_config(path, data_dir=folder)
    assert dict(cfg.data.params)["directory"] == str(folder)
    monkeypatch.chdir(folder.parent)
    assert dict(load_config(path, data_dir="mnist").data.params)["directory"] == str(folder)
    assert dict(load_config(_config(tmp_path, "mnist")).data.params)["directory"] == str(folder)
    with pytest.raises(ConfigError, match="data.dataset: a data folder was given .* nine_disks reads no files"):
        load_config("configs/demo.toml", data_dir=folder)
    with pytest.raises(TypeError, match="data_dir must be a folder"):
        load_config(path, data_dir=3)


def test_missing_files_stop_before_anything_is_created(tmp_path, idx_dir):
    folder, _, _ = idx_dir
    path = _config(tmp_path, tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=rf"^{path}: data.params.directory: MNIST directory not found: "
                                          rf"{tmp_path / 'nowhere'}; .*configs/digits_paper.toml"):
        load_config(path)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(ConfigError, match=r"data.params.directory: MNIST file t10k-images-idx3-ubyte \(or "
                                          rf"t10k-images-idx3-ubyte.gz\) not found in {folder}"):
        load_config(path, data_dir=folder)
    no_dir = tomllib.loads(MNIST_TOML.format(directory="x"))
    del no_dir["data"]["params"]["directory"]
    from nntopo.sweep import parse_config

    with pytest.raises(ConfigError, match="m.toml: data.params.directory: missing.*--data-dir DIR"):
        parse_config(no_dir, "m.toml")
    # the command line: one line, exit status 2, no output folder
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--data-dir", str(folder)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(folder) in lines[0]
    assert "configs/digits_paper.toml" in lines[0]
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["mnist", "mnist.toml"]
