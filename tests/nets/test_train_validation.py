"""Issue 8 for train: everything checked before the first step, manifests, paths, file modes."""

import json
import os
import stat

import numpy as np
import pytest
import torch

from nntopo.data import Dataset, circles, duffing, nine_disks, sublattice, train_test_split
from nntopo.nets import (
    MLP,
    AccuracyThresholds,
    AtEpochs,
    EveryKEpochs,
    TrainConfig,
    load_checkpoint,
    load_manifest,
    train,
)


@pytest.fixture(scope="module")
def small():
    return train_test_split(circles(60, seed=0), seed=0)


def _never_called():
    calls = []
    return calls, lambda epoch, model, rec: calls.append(epoch)


# --------------------------------------------------------------------------- TrainConfig and policies


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"lr": "x"}, TypeError, "^lr must be a real number"),
        ({"lr": float("nan")}, ValueError, "^lr must be a finite number"),
        ({"lr": -1.0}, ValueError, "^lr must be > 0"),
        ({"epochs": None}, TypeError, "^epochs must be an int"),
        ({"epochs": 2.0}, TypeError, "^epochs must be an int"),
        ({"epochs": -1}, ValueError, "^epochs must be >= 0"),
        ({"batch_size": 0}, ValueError, "^batch_size must be >= 1"),
        ({"batch_size": True}, TypeError, "^batch_size must be an int"),
        ({"seed": -1}, ValueError, "^seed must be"),
        ({"seed": "a"}, TypeError, "^seed must be"),
        ({"stop_at_accuracy": 0.0}, ValueError, "^stop_at_accuracy must be > 0"),
        ({"stop_at_accuracy": 1.5}, ValueError, "^stop_at_accuracy must be <= 1"),
        ({"num_threads": 0}, ValueError, "^num_threads must be >= 1"),
        ({"num_threads": 1.5}, TypeError, "^num_threads must be an int"),
    ],
)
def test_train_config_fields_are_checked_when_made(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        TrainConfig(**kwargs)


def test_train_config_keeps_the_int_seed_it_used():
    assert TrainConfig(seed=np.int64(3)).seed == 3 and type(TrainConfig(seed=np.int64(3)).seed) is int
    drawn = int(np.random.default_rng(9).integers(0, 2**63 - 1))
    assert TrainConfig(seed=np.random.default_rng(9)).seed == drawn
    assert isinstance(TrainConfig(seed=None).seed, int)
    assert TrainConfig(lr=1).lr == 1.0


@pytest.mark.parametrize(
    "make, exc, message",
    [
        (lambda: AccuracyThresholds(["0.5"]), TypeError, r"^thresholds\[0\] must be a real number"),
        (lambda: AccuracyThresholds(0.5), TypeError, "^thresholds must be a list"),
        (lambda: AccuracyThresholds([]), ValueError, "^thresholds is empty"),
        (lambda: AccuracyThresholds([0.5], metric="loss"), ValueError, "^metric must be one of"),
        (lambda: AtEpochs([1.5]), TypeError, r"^epochs\[0\] must be an int"),
        (lambda: AtEpochs("12"), TypeError, "^epochs must be a list"),
        (lambda: EveryKEpochs(2.0), TypeError, "^k must be an int"),
    ],
)
def test_policies_are_checked_when_made(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


# --------------------------------------------------------------------------- train arguments


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"snapshots": [42]}, TypeError, r"^snapshots\[0\] must be a snapshot policy .* got 42 \(int\)"),
        ({"snapshots": 42}, TypeError, "^snapshots must be a snapshot policy or a list"),
        ({"snapshots": None}, TypeError, "^snapshots must be a snapshot policy or a list"),
        ({"callbacks": [1]}, TypeError, r"^callbacks\[0\] must be callable"),
        ({"loss": "mse"}, TypeError, "^loss must be callable"),
        ({"network_id": -1}, ValueError, "^network_id must be >= 0"),
        ({"network_id": 1.0}, TypeError, "^network_id must be an int"),
        ({"progress": "yes"}, TypeError, "^progress must be True or False"),
        ({"config": None}, TypeError, "^config must be a TrainConfig"),
        ({"out_dir": 5}, TypeError, "^out_dir must be a str or os.PathLike"),
    ],
)
def test_train_arguments_are_checked_before_training(small, kwargs, exc, message):
    tr, te = small
    calls, cb = _never_called()
    kwargs.setdefault("callbacks", [cb])
    with pytest.raises(exc, match=message):
        train(MLP([2, 3, 2], seed=0), tr, te, **kwargs)
    assert calls == []


def test_labels_are_checked_against_the_output_width_before_training(small, tmp_path):
    tr, te = small
    calls, cb = _never_called()
    six = Dataset(X=tr.X, y=np.arange(len(tr)) % 6)
    with pytest.raises(ValueError, match=r"^train_data.y has label 5 but there are only 2 classes \(0..1\)"):
        train(MLP([2, 3, 2], seed=0), six, te, callbacks=[cb], out_dir=tmp_path / "run")
    with pytest.raises(ValueError, match=r"^test_data.y has label 5 but there are only 2 classes"):
        train(MLP([2, 3, 2], seed=0), tr, Dataset(X=te.X, y=np.arange(len(te)) % 6), callbacks=[cb])
    assert calls == [] and not (tmp_path / "run").exists()
    # the same labels with six outputs train
    train(MLP([2, 3, 6], seed=0), six, None, TrainConfig(epochs=1))


def test_data_that_does_not_fit_the_model_is_refused(small):
    tr, te = small
    with pytest.raises(ValueError, match=r"^train_data.X must have shape \(n, 3\).*got shape \(\d+, 2\)"):
        train(MLP([3, 3, 2], seed=0), tr, te)
    reg = duffing(t_max=1, n_points=16)  # targets (x, x'): two columns
    with pytest.raises(ValueError, match="^train_data.targets has 2 column.* the model outputs 1"):
        train(MLP([1, 4, 1], seed=0), reg)
    with pytest.raises(ValueError, match="^snapshots.0.: accuracy thresholds need class labels"):
        train(MLP([1, 4, 2], seed=0), reg, snapshots=AccuracyThresholds([0.5]))
    with pytest.raises(ValueError, match="^snapshots.0.: metric 'test_acc' needs test_data"):
        train(MLP([2, 3, 2], seed=0), tr, None, snapshots=AccuracyThresholds([0.5], metric="test_acc"))
    with pytest.raises(ValueError, match="^test_data must have class labels y exactly when train_data does"):
        train(MLP([1, 4, 2], seed=0), reg, Dataset(X=reg.X, y=np.zeros(len(reg), int)))
    with pytest.raises(ValueError, match="^train_data has neither labels y nor targets"):
        train(MLP([2, 3, 2], seed=0), Dataset(X=tr.X, y=None))


class Wrapped(torch.nn.Module):
    """A module whose input width capture and train cannot read off its structure."""

    def __init__(self, d_in, d_out=2, flat=False):
        super().__init__()
        self.inner = torch.nn.Linear(d_in, d_out)
        self.flat = flat

    def forward(self, x):
        out = self.inner(x)
        return out.sum(dim=1) if self.flat else out


def test_arbitrary_modules_get_a_trial_forward_pass(small):
    tr, te = small
    with pytest.raises(ValueError, match=r"^train_data.X \(shape \(\d+, 2\)\) cannot be pushed through the model: "
                                         r"mat1 and mat2") as info:
        train(Wrapped(3), tr, te)
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(ValueError, match=r"^model must output \(n, k\) for the default loss; got \(1,\)"):
        train(Wrapped(2, flat=True), tr, te)
    # a custom loss on regression targets may feed the model differently: no trial pass
    reg = duffing(t_max=1, n_points=16)
    seen = []

    def loss(model, X, target):
        seen.append(X.shape[1])
        return torch.nn.functional.mse_loss(model(torch.cat([X] * 4, dim=1)), target)

    result = train(Wrapped(4), reg, None, TrainConfig(epochs=1), loss=loss)
    assert seen and set(seen) == {1} and len(result.history) == 2
    # with labels, accuracies call model(X) itself, so the trial pass runs for any loss
    with pytest.raises(ValueError, match=r"^train_data.X .* cannot be pushed through the model"):
        train(Wrapped(4), tr, None, TrainConfig(epochs=1), loss=lambda m, X, t: m(torch.cat([X, X], 1)).sum())


def test_a_float64_model_trains_on_float32_data(small):
    tr, te = small
    result = train(MLP([2, 4, 2], seed=0).double(), tr, te, TrainConfig(epochs=2))
    assert np.isfinite(result.history[-1]["train_loss"])


# --------------------------------------------------------------------------- the output folder


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1, 2", r"manifest.json: corrupt snapshot manifest, not valid JSON"),
        (json.dumps({"a": 1}), r"manifest.json: not an nntopo snapshot manifest"),
        (json.dumps([1, 2]), r"manifest.json: not an nntopo snapshot manifest"),
        (json.dumps({"snapshots": [{"network_id": "0", "reached": True}]}), r"manifest.json: row 0 has network_id '0'"),
        (json.dumps({"snapshots": [{"network_id": 0, "reached": True, "checkpoint": "/etc/passwd"}]}),
         r"manifest.json: row 0 has checkpoint '/etc/passwd'; checkpoints must be relative paths inside"),
        (json.dumps({"snapshots": [{"network_id": 0, "reached": True, "checkpoint": "../x.pt"}]}),
         r"manifest.json: row 0 has checkpoint '../x.pt'"),
    ],
)
def test_bad_manifest_is_refused_before_training_and_left_alone(small, tmp_path, text, message):
    tr, te = small
    (tmp_path / "manifest.json").write_text(text)
    calls, cb = _never_called()
    with pytest.raises(ValueError, match=message):
        train(MLP([2, 3, 2], seed=0), tr, te, TrainConfig(epochs=1), snapshots=AtEpochs([1]),
              out_dir=tmp_path, callbacks=[cb])
    assert calls == []
    assert (tmp_path / "manifest.json").read_text() == text
    assert not (tmp_path / "checkpoints").exists()
    with pytest.raises(ValueError, match=message):
        load_manifest(tmp_path)


def test_out_dir_that_cannot_hold_a_run_is_refused_before_training(small, tmp_path):
    tr, te = small
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    calls, cb = _never_called()
    with pytest.raises(ValueError, match="^out_dir .*a_file exists and is not a folder"):
        train(MLP([2, 3, 2], seed=0), tr, te, out_dir=a_file, callbacks=[cb])
    with pytest.raises(ValueError, match="^out_dir: cannot write in .*a_file/sub"):
        train(MLP([2, 3, 2], seed=0), tr, te, out_dir=a_file / "sub", callbacks=[cb])
    (tmp_path / "run" ).mkdir()
    (tmp_path / "run" / "checkpoints").write_text("x")
    with pytest.raises(ValueError, match="^out_dir: .*checkpoints exists and is not a folder"):
        train(MLP([2, 3, 2], seed=0), tr, te, out_dir=tmp_path / "run", callbacks=[cb])
    assert calls == []
    assert not list(tmp_path.rglob("*.tmp"))


def test_load_checkpoint_refuses_paths_outside_the_run_folder(small, tmp_path):
    tr, te = small
    outside = tmp_path / "outside.pt"
    torch.save(MLP([2, 3, 2], seed=1).state_dict(), outside)
    run = tmp_path / "run"
    run.mkdir()
    for ckpt in (str(outside), "../outside.pt", "checkpoints/../../outside.pt"):
        with pytest.raises(ValueError, match=r"^row: checkpoint .* is not a relative path inside .*run/manifest.json"):
            load_checkpoint(MLP([2, 3, 2]), {"reached": True, "checkpoint": ckpt}, run)
    with pytest.raises(TypeError, match="^row must be a manifest row"):
        load_checkpoint(MLP([2, 3, 2]), [1], run)


def test_load_checkpoint_errors_name_the_file_or_model(small, tmp_path):
    tr, te = small
    train(MLP([2, 3, 2], seed=0), tr, te, TrainConfig(epochs=1), snapshots=AtEpochs([1]), out_dir=tmp_path)
    row = load_manifest(tmp_path)[0]
    with pytest.raises(ValueError, match=r"^model: the checkpoint .*net0_epoch00001.pt does not fit this MLP"):
        load_checkpoint(MLP([2, 5, 2]), row, tmp_path)
    (tmp_path / row["checkpoint"]).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"net0_epoch00001.pt: not a readable checkpoint"):
        load_checkpoint(MLP([2, 3, 2]), row, tmp_path)


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_manifest_and_checkpoints_follow_the_umask(small, tmp_path, umask):
    tr, te = small
    old = os.umask(umask)
    try:
        train(MLP([2, 3, 2], seed=0), tr, te, TrainConfig(epochs=1), snapshots=AtEpochs([0, 1]), out_dir=tmp_path)
    finally:
        os.umask(old)
    files = [tmp_path / "manifest.json", *(tmp_path / "checkpoints").iterdir()]
    assert len(files) == 3
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f


# --------------------------------------------------------------------------- reproducibility


def test_training_with_int_seeds_matches_the_numbers_before_issue_8():
    # (train_loss, train_acc) per epoch of this run at commit 14bc53b, before seeds were
    # routed through nntopo._validation: the same int seeds must give the same training.
    before = [
        (1.0438390970230103, 0.618699780861943),
        (0.7711377143859863, 0.6303871439006574),
        (0.6466667056083679, 0.704163623082542),
        (0.5962991118431091, 0.7231555880204529),
    ]
    tr, te = train_test_split(sublattice(nine_disks(), every=3), seed=1)
    result = train(MLP([2, 8, 8, 2], seed=7), tr, te, TrainConfig(epochs=3, seed=7))
    got = [(r["train_loss"], r["train_acc"]) for r in result.history]
    np.testing.assert_allclose(got, before, rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_model_trains_on_numpy_data(small):
    tr, te = small
    result = train(MLP([2, 4, 2], seed=0).cuda(), tr, te, TrainConfig(epochs=2))
    assert np.isfinite(result.history[-1]["train_loss"])
