"""The engine on a tiny sweep: store contents, resume, recompute, refuse (fast: in this process)."""

import os
import shutil
import tomllib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import nntopo.sweep.run as engine
from nntopo.landscapes import Grid, landscape, normalize_plain, rips_persistence
from nntopo.nets import MLP, capture, load_checkpoint, load_manifest
from nntopo.polyhedral import polyhedral_complex
from nntopo.sweep import (Analysis, Layout, Variable, load_config, open_results, parse_config, register_analysis,
                          run_sweep)
from nntopo.sweep.data import sweep_data
from nntopo.sweep.store import SweepStore, prepare_output


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _store_equal(a, b) -> bool:
    return open_results(a).load().identical(open_results(b).load())


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_text):
    root = tmp_path_factory.mktemp("sweep")
    toml = root / "tiny.toml"
    toml.write_text(tiny_text)
    out = root / "run"
    summary = run_sweep(toml, out, workers=1)
    return toml, out, summary


@pytest.fixture
def copy(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished[1], out)
    return finished[0], out


@pytest.fixture
def calls(monkeypatch):
    """Counts the tasks the engine runs: Counter of (kind, network, snapshot)."""
    counter: Counter = Counter()
    real = engine.run_task

    def counted(out, config, task):
        counter[(task.kind, task.network, task.snapshot)] += 1
        return real(out, config, task)

    monkeypatch.setattr(engine, "run_task", counted)
    return counter


def test_store_holds_what_the_cores_compute(finished):
    toml, out, summary = finished
    cfg = load_config(toml)
    ds = open_results(out).load()
    assert summary.ran == {"train": 2, "landscapes": 6, "polyhedral": 6}
    assert ds["landscape"].dims == ("network", "snapshot", "subsample", "layer", "level", "t")
    assert ds["landscape_norm"].dims == ("network", "snapshot", "subsample", "layer")
    assert list(ds["subsample"].values) == [0]
    assert ds["landscape"].dtype == np.float64 and ds["f_vector"].dtype == np.int64
    assert list(ds["layer"].values) == ["input", "relu1", "relu2", "output"]
    assert list(ds["seed"].values) == [0, 1]
    assert ds.attrs["format"] == "nntopo-sweep/1" and '"giotto-ph"' in ds.attrs["versions"]
    data = sweep_data(cfg)
    (batch,) = (b.X for b in data.batches["c2"])
    for n in range(2):
        rows = load_manifest(out / f"networks/net{n:05d}")
        history = ds["train_acc"].values[n]
        assert ds["epochs_trained"].values[n] == 3 and np.isfinite(history).all()
        for s in range(4):
            reached = bool(ds["snapshot_reached"].values[n, s])
            if not reached:
                assert np.isnan(ds["landscape"].values[n, s]).all() and (ds["f_vector"].values[n, s] == -1).all()
                continue
            epoch = int(ds["snapshot_epoch"].values[n, s])
            assert ds["snapshot_train_acc"].values[n, s] == history[epoch]
            assert any(r["epoch"] == epoch and r["reached"] for r in rows)
            net = load_checkpoint(MLP([2, 8, 8, 2]), {"reached": True,
                                                      "checkpoint": str(ds["snapshot_checkpoint"].values[n, s])}, out)
            # the landscape core called directly, layer by layer: bit for bit the stored values
            for j, acts in enumerate(capture(net, batch).values()):
                diagram = rips_persistence(normalize_plain(acts), maxdim=1)[1]
                expected = landscape(diagram, Grid(0.0, 1.0, 0.05), 2, hom_dim=1).padded(2)
                np.testing.assert_array_equal(ds["landscape"].values[n, s, 0, j], expected)
            cx = polyhedral_complex(net, box=(-70, 70))
            assert list(ds["f_vector"].values[n, s]) == list(cx.f_vector)
            assert ds["euler_characteristic"].values[n, s] == 1 == np.dot(cx.f_vector, [1, -1, 1])
    # the input layer does not depend on the network
    a = ds["landscape"].values[:, :, 0, 0]
    assert np.array_equal(a[0, 0], a[1, 2])


def test_rerun_runs_nothing_and_changes_nothing(copy, calls):
    toml, out = copy
    before = _files(out)
    summary = run_sweep(toml, out, workers=1)
    assert summary.resumed and summary.ran == {} and calls == Counter()
    assert summary.skipped == {"train": 2, "landscapes": 6, "polyhedral": 6}
    assert _files(out) == before


def test_data_without_mark_is_recomputed(copy, finished, calls):
    toml, out = copy
    store = SweepStore(out)
    # a piece whose data was (over)written but whose mark never came: as if killed between the two
    store.write("landscape", (1, 3), np.full((1, 4, 2, 21), 7.0))
    store.mark_path("landscapes", 1, 3).unlink()
    store.write("f_vector", (0, 0), np.array([1, 2, 3]))
    store.mark_path("polyhedral", 0, 0).unlink()
    assert not _store_equal(out, finished[1])
    run_sweep(toml, out, workers=1)
    assert calls == Counter({("landscapes", 1, 3): 1, ("polyhedral", 0, 0): 1})
    assert _store_equal(out, finished[1])


def test_unmarked_training_reruns_the_network_and_its_analyses(copy, finished, calls):
    toml, out = copy
    SweepStore(out).mark_path("train", 1).unlink()
    run_sweep(toml, out, workers=1)
    reached = [s for s in range(4) if open_results(out)["snapshot_reached"].values[1, s]]
    assert calls == Counter({("train", 1, None): 1, **{(k, 1, s): 1 for k in ("landscapes", "polyhedral")
                                                        for s in reached}})
    assert _store_equal(out, finished[1])


def test_changed_config_is_refused_and_the_folder_untouched(copy, tmp_path):
    toml, out = copy
    before = _files(out)
    changed = tmp_path / "changed.toml"
    changed.write_text(toml.read_text().replace("seeds = [0, 1]", "seeds = [0, 2]").replace("levels = 2", "levels = 3"))
    with pytest.raises(FileExistsError, match=r"different config \(analysis.landscapes.levels = 2 there, 3 here; "
                                              r"training.seeds = \[0, 1\] there, \[0, 2\] here\)"):
        run_sweep(changed, out, workers=1)
    assert _files(out) == before
    assert sorted(os.listdir(out.parent)) == ["changed.toml", "run"]


def test_foreign_or_bad_folders_are_refused_and_nothing_is_created(tmp_path, tiny_toml):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no sweep"):
        run_sweep(tiny_toml, foreign, workers=1)
    assert _files(foreign) == {"thesis.tex": b"mine"}
    with pytest.raises(ValueError, match="exists and is not a folder"):
        run_sweep(tiny_toml, foreign / "thesis.tex", workers=1)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_sweep(tiny_toml, tmp_path / "new" / "run", workers=0)
    with pytest.raises(TypeError, match="config must be"):
        run_sweep(3, tmp_path / "new" / "run")
    assert sorted(os.listdir(tmp_path)) == ["thesis", "tiny.toml"]


def test_layout_left_by_a_killed_process_is_removed(tmp_path, tiny_toml):
    stale = tmp_path / ".run.partial-999999999"
    stale.mkdir()
    (stale / "sweep.json").write_text("{}")
    cfg = load_config(tiny_toml)
    target, resumed = prepare_output(tmp_path / "run", cfg)
    assert not resumed and sorted(os.listdir(tmp_path)) == ["run", "tiny.toml"]
    mode = os.stat(target / "sweep.json").st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# --------------------------------------------------------------------------- a new analysis, registered


@dataclass(frozen=True)
class _WeightNormSettings:
    p: int

    def resolved(self) -> dict:
        return {"p": self.p}


def _parse(table, config):
    return _WeightNormSettings(table.int("p", 2, minimum=1))


def _layout(settings, config):
    n = len(config.network.widths) - 1
    return Layout((Variable("weight_norm", ("linear",), "float64", np.nan),),
                  {"linear": np.array([f"linear{i}" for i in range(1, n + 1)])})


def _compute(settings, config, network, snapshot, net, data):
    return {"weight_norm": np.array([torch.linalg.vector_norm(m.weight.detach().double(), settings.p).item()
                                     for m in net.modules() if isinstance(m, torch.nn.Linear)])}


WEIGHT_NORM = register_analysis(Analysis("test_weight_norm", "p-norm of each weight matrix (a test analysis)",
                                         _parse, _layout, _compute))


def test_a_registered_analysis_runs_without_touching_the_engine(tmp_path, tiny_text):
    text = tiny_text.split("[analysis.landscapes]")[0] + "[analysis.test_weight_norm]\np = 1\n"
    toml = tmp_path / "wn.toml"
    toml.write_text(text)
    summary = run_sweep(toml, tmp_path / "run", workers=1)
    assert summary.ran == {"train": 2, "test_weight_norm": 6}
    ds = open_results(tmp_path / "run").load()
    assert ds["weight_norm"].dims == ("network", "snapshot", "linear")
    for n, s in zip(*np.nonzero(ds["snapshot_reached"].values)):
        state = torch.load(tmp_path / "run" / str(ds["snapshot_checkpoint"].values[n, s]), weights_only=True)
        expected = [np.abs(state[f"linear{i}.weight"].double().numpy()).sum() for i in (1, 2, 3)]
        np.testing.assert_allclose(ds["weight_norm"].values[n, s], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="already registered"):
        register_analysis(Analysis("test_weight_norm", "another", _parse, _layout, _compute))
    with pytest.raises(ValueError, match="analysis.test_weight_norm.p: must be >= 1"):
        parse_config(tomllib.loads(text.replace("p = 1", "p = 0")), "x.toml")


def test_final_snapshot_is_each_networks_last_epoch(tmp_path, tiny_text):
    from nntopo.plotting.sweep import snapshot_labels

    text = tiny_text.replace("every = 2", "every = 2\nfinal = true").replace("epochs = 3", "epochs = 3\n"
                                                                                          "stop_at_accuracy = 0.9")
    text = text.split("[analysis.landscapes]")[0] + "[analysis.test_weight_norm]\np = 1\n"
    cfg = parse_config(tomllib.loads(text), "final.toml")
    assert cfg.snapshots[-1].policy == "final" and cfg.resolved()["training"]["snapshots"]["final"] is True
    run_sweep(cfg, tmp_path / "run", workers=1)
    ds = open_results(tmp_path / "run").load()
    assert list(ds["snapshot_policy"].values) == ["accuracy_threshold"] * 2 + ["every_k"] * 2 + ["final"]
    assert snapshot_labels(ds)[-1] == "final"
    assert ds["snapshot_reached"].values[:, -1].all()
    trained = ds["epochs_trained"].values
    np.testing.assert_array_equal(ds["snapshot_epoch"].values[:, -1], trained)
    for n in range(2):
        last = trained[n]
        assert ds["snapshot_train_acc"].values[n, -1] == ds["train_acc"].values[n, last]
        if last < 3:  # stopped early: the stop rule's 0.9 threshold was first reached there
            assert ds["snapshot_epoch"].values[n, 1] == last
        state = torch.load(tmp_path / "run" / str(ds["snapshot_checkpoint"].values[n, -1]), weights_only=True)
        expected = [np.abs(state[f"linear{i}.weight"].double().numpy()).sum() for i in (1, 2, 3)]
        np.testing.assert_allclose(ds["weight_norm"].values[n, -1], expected, rtol=1e-12)
