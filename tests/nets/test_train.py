import json

import numpy as np
import pytest
import torch

from nntopo.data import circles, nine_disks, sublattice, train_test_split
from nntopo.nets import (
    MLP,
    AccuracyThresholds,
    AtEpochs,
    EveryKEpochs,
    FinalEpoch,
    TrainConfig,
    load_checkpoint,
    load_manifest,
    train,
)


@pytest.fixture(scope="module")
def nine_disk_run(tmp_path_factory):
    """The paper's 11-layer width-15 MLP trained on the nine-disk set to 100% training accuracy."""
    out = tmp_path_factory.mktemp("run")
    tr, te = train_test_split(nine_disks(), seed=0)
    net = MLP([2] + [15] * 10 + [2], seed=0)
    thresholds = [0.5, 0.8, 0.9, 0.95, 0.99, 1.0]
    result = train(net, tr, te, TrainConfig(epochs=120, seed=0, stop_at_accuracy=1.0),
                   snapshots=AccuracyThresholds(thresholds), out_dir=out)
    return out, net, result, thresholds, tr


def test_threshold_snapshots_on_nine_disks(nine_disk_run):
    out, net, result, thresholds, tr = nine_disk_run
    assert result.history[-1]["train_acc"] == 1.0
    rows = load_manifest(out)
    assert rows == json.loads(json.dumps(result.snapshots))
    assert [r["threshold"] for r in rows] == thresholds
    accs = {r["epoch"]: r["train_acc"] for r in result.history}
    for r in rows:
        assert r["reached"] and r["network_id"] == 0 and r["seed"] == 0
        # first epoch at which the threshold is met: met there, not met at any earlier epoch
        assert accs[r["epoch"]] >= r["threshold"]
        assert all(accs[e] < r["threshold"] for e in accs if e < r["epoch"])
        assert (out / r["checkpoint"]).is_file()
    # the last checkpoint is the final network, and it classifies the training set perfectly
    final = load_checkpoint(MLP([2] + [15] * 10 + [2]), rows[-1], out)
    pred = final(torch.from_numpy(tr.X)).argmax(1).numpy()
    assert (pred == tr.y).all()


def test_unreached_thresholds_are_recorded_not_invented(tmp_path):
    tr, te = train_test_split(circles(200, seed=0), seed=0)
    net = MLP([2, 4, 2], seed=0)
    train(net, tr, te, TrainConfig(epochs=2, lr=1e-4, seed=0),
          snapshots=[AccuracyThresholds([0.0, 0.999]), AtEpochs([1, 50])], out_dir=tmp_path)
    rows = load_manifest(tmp_path)
    reached = {(r["policy"], r["threshold"], r.get("requested_epoch")): r for r in rows}
    assert reached[("accuracy_threshold", 0.0, None)]["epoch"] == 0
    miss = reached[("accuracy_threshold", 0.999, None)]
    assert miss["reached"] is False and miss["epoch"] is None and miss["checkpoint"] is None
    assert reached[("at_epoch", None, 50)]["reached"] is False
    at1 = [r for r in rows if r["policy"] == "at_epoch" and r["reached"]]
    assert [r["epoch"] for r in at1] == [1]


def test_final_epoch_is_the_last_epoch_trained(tmp_path):
    tr, te = train_test_split(circles(200, seed=0), seed=0)
    # no stop rule: the final snapshot is epoch `epochs`, and its state is the returned network's
    net = MLP([2, 8, 2], seed=0)
    result = train(net, tr, te, TrainConfig(epochs=4, seed=0), snapshots=[FinalEpoch(), AtEpochs([2])])
    assert [(r["policy"], r["epoch"], r["reached"]) for r in result.snapshots] == [
        ("at_epoch", 2, True), ("final", 4, True)]
    for name, value in net.state_dict().items():
        assert torch.equal(result.states[4][name], value)
    # a stop rule: the first epoch that reached it, sharing that epoch's threshold checkpoint
    history = train(MLP([2, 8, 2], seed=0), tr, te, TrainConfig(epochs=300, seed=0, lr=1e-2)).history
    stop = next(r for r in history if r["epoch"] > 0 and r["train_acc"] > history[0]["train_acc"])["train_acc"]
    result = train(MLP([2, 8, 2], seed=0), tr, te, TrainConfig(epochs=300, seed=0, lr=1e-2, stop_at_accuracy=stop),
                   snapshots=[AccuracyThresholds([stop]), FinalEpoch()], out_dir=tmp_path)
    last = result.history[-1]["epoch"]
    assert 0 < last < 300 and result.history[-1]["train_acc"] >= stop
    rows = load_manifest(tmp_path)
    assert [(r["policy"], r["epoch"]) for r in rows] == [("accuracy_threshold", last), ("final", last)]
    assert rows[0]["checkpoint"] == rows[1]["checkpoint"]
    # no epoch trained: the final snapshot is the initial network
    assert [r["epoch"] for r in train(MLP([2, 8, 2], seed=0), tr, te, TrainConfig(epochs=0),
                                      snapshots=FinalEpoch()).snapshots] == [0]


def test_every_k_and_in_memory_states_and_callbacks():
    tr, te = train_test_split(circles(200, seed=0), seed=0)
    seen = []
    result = train(MLP([2, 4, 2], seed=0), tr, te, TrainConfig(epochs=5, seed=0),
                   snapshots=EveryKEpochs(2), callbacks=[lambda e, m, rec: seen.append((e, rec["train_acc"]))])
    assert [r["epoch"] for r in result.snapshots] == [0, 2, 4]
    assert sorted(result.states) == [0, 2, 4]
    assert [e for e, _ in seen] == [0, 1, 2, 3, 4, 5]
    assert [a for _, a in seen] == [r["train_acc"] for r in result.history]


def test_same_seed_same_weights(tmp_path):
    tr, te = train_test_split(sublattice(nine_disks(), every=3), seed=1)

    def run(d):
        net = MLP([2, 8, 8, 2], seed=7)
        train(net, tr, te, TrainConfig(epochs=3, seed=7), snapshots=EveryKEpochs(1), out_dir=d)
        return d

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    for ra, rb in zip(load_manifest(a), load_manifest(b)):
        sa = torch.load(a / ra["checkpoint"], weights_only=True)
        sb = torch.load(b / rb["checkpoint"], weights_only=True)
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    c = MLP([2, 8, 8, 2], seed=7)
    train(c, tr, te, TrainConfig(epochs=3, seed=8))
    last = torch.load(a / load_manifest(a)[-1]["checkpoint"], weights_only=True)
    assert not torch.equal(c.state_dict()["linear1.weight"], last["linear1.weight"])


def test_manifest_keeps_other_networks(tmp_path):
    tr, te = train_test_split(circles(100, seed=0), seed=0)
    for nid in (0, 1, 0):
        train(MLP([2, 3, 2], seed=nid), tr, te, TrainConfig(epochs=1, seed=nid), snapshots=AtEpochs([1]),
              out_dir=tmp_path, network_id=nid)
    rows = load_manifest(tmp_path)
    assert sorted(r["network_id"] for r in rows) == [0, 1]


def test_pluggable_loss_and_regression_targets():
    from nntopo.data import duffing

    d = duffing(t_max=2, n_points=64)
    calls = []

    def loss(model, X, target):
        calls.append(X.shape[0])
        return torch.nn.functional.mse_loss(model(X), target)

    result = train(MLP([1, 8, 2], seed=0), d, None, TrainConfig(epochs=2, batch_size=32, seed=0), loss=loss)
    assert np.isnan(result.history[-1]["train_acc"]) and np.isnan(result.history[-1]["test_acc"])
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert 32 in calls


def test_train_bad_input(tmp_path):
    tr = circles(50, seed=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=-1)
    with pytest.raises(ValueError, match="thresholds"):
        AccuracyThresholds([1.5])
    with pytest.raises(ValueError, match="k must"):
        EveryKEpochs(0)
    with pytest.raises(TypeError, match="train_data"):
        train(MLP([2, 2], seed=0), (tr.X, tr.y))
    with pytest.raises(ValueError, match="never reached"):
        load_checkpoint(MLP([2, 2]), {"reached": False, "checkpoint": None}, tmp_path)
    with pytest.raises(FileNotFoundError, match="checkpoint file"):
        load_checkpoint(MLP([2, 2]), {"reached": True, "checkpoint": "nope.pt"}, tmp_path)


def test_killed_run_leaves_manifest_intact(tmp_path):
    tr, te = train_test_split(circles(100, seed=0), seed=0)
    train(MLP([2, 3, 2], seed=0), tr, te, TrainConfig(epochs=1, seed=0), snapshots=AtEpochs([1]), out_dir=tmp_path)
    before = (tmp_path / "manifest.json").read_text()

    def boom(epoch, model, rec):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(MLP([2, 3, 2], seed=1), tr, te, TrainConfig(epochs=2, seed=1), snapshots=AtEpochs([1]),
              out_dir=tmp_path, network_id=1, callbacks=[boom])
    assert (tmp_path / "manifest.json").read_text() == before
    assert not list(tmp_path.glob("*.tmp")) and not list((tmp_path / "checkpoints").glob("*.tmp"))
