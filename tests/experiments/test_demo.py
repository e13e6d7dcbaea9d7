import json
import os
import shutil

import numpy as np
import pytest

from nntopo.experiments import demo as demo_mod
from nntopo.experiments.demo import FIGURES, check_demo, demo_config, draw_figures, run_demo, summarize
from nntopo.plotting.sweep import mean_over_networks
from nntopo.sweep import open_results
from nntopo.sweep.store import SweepStore

# The demo's shape on a sweep small enough for seconds: the folder rules do not depend on its size.
TINY = """\
name = "tiny-demo"
[data]
dataset = "nine_disks"
[data.batches.c2]
label = 1
every = 10
[network]
widths = [2, 8, 8, 2]
[training]
seeds = [0, 1, 2]
epochs = 4
lr = 3e-3
[training.snapshots]
thresholds = [0.5, 0.8, 0.999]
[analysis.landscapes]
grid = [0.0, 1.0, 0.05]
levels = 2
[analysis.polyhedral]
box = [-70, 70]
"""


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    toml = root / "tiny.toml"
    toml.write_text(TINY)
    out = root / "run"
    return toml, out, run_demo(out, toml, workers=1)


@pytest.fixture
def copy(tiny, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(tiny[1], out)
    return tiny[0], out


def test_packaged_demo_is_four_networks_and_both_views():
    cfg = demo_config()
    assert cfg.n_networks == 4
    assert sorted(name for name, _ in cfg.analyses) == ["betti", "fiedler", "landscapes", "polyhedral"]
    assert cfg.network.widths == (2,) + (15,) * 10 + (2,) and cfg.analysis("landscapes").hom_dim == 1
    # the three complex analyses look at the same complex
    assert cfg.analysis("polyhedral").box == cfg.analysis("fiedler").box == cfg.analysis("betti").box == (-70, 70)


def test_demo_writes_figures_and_summary_from_the_store(tiny):
    toml, out, summary = tiny
    assert summary["figures"] == [f"figures/{f}" for f in FIGURES]
    assert summary["report"] == "report.html"
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in ("overview", "both-views", "landscapes", "polyhedral", "configuration", "environment"):
        assert f'<section id="{section}">' in html
    assert 'class="note error"' not in html and "<img" in html
    for f in FIGURES:
        assert (out / "figures" / f).stat().st_size > 1000
    assert json.loads((out / "summary.json").read_text()) == summary
    ds = open_results(out).load()
    reached = ds["snapshot_reached"].values
    assert [r["networks_reached"] for r in summary["snapshots"]] == list(reached.sum(axis=0))
    assert reached[:, 0].all() and not reached[:, 2].any()  # 0.5 at once, 99.9% not in 4 epochs
    row = summary["snapshots"][0]
    assert row["euler_characteristics"] == [1]
    np.testing.assert_allclose(row["mean_f_vector"], ds["f_vector"].values[:, 0].mean(axis=0).round(1))
    for s, row in enumerate(summary["snapshots"]):
        if reached[:, s].any():
            norms = ds["landscape_norm"].values[reached[:, s], s].mean(axis=(0, 1))  # networks, subsamples
            np.testing.assert_allclose(list(row["mean_landscape_norm"].values()), norms, rtol=1e-12)
        else:
            assert "mean_landscape_norm" not in row and row["mean_epoch"] is None
    assert [n["seed"] for n in summary["networks"]] == [0, 1, 2]


def test_mean_over_networks_counts_only_networks_that_reached(tiny):
    ds = open_results(tiny[1]).load()
    reached = ds["snapshot_reached"].values
    mean = mean_over_networks(ds, "landscape")
    for s in range(ds.sizes["snapshot"]):
        if reached[:, s].any():
            np.testing.assert_allclose(mean[s], np.mean([ds["landscape"].values[n, s, 0] for n in range(3)
                                                         if reached[n, s]], axis=0), rtol=1e-14, atol=0)
        else:
            assert np.isnan(mean[s]).all()


def test_rerun_resumes_and_redraws(copy, monkeypatch):
    toml, out = copy
    # the figures and the report are redrawn (the report states when it was made)
    before = {k: v for k, v in _files(out).items() if not k.startswith("figures/") and k != "report.html"}
    (out / "figures" / "training_curves.png").unlink()
    (out / "report.html").unlink()
    calls = []
    monkeypatch.setattr("nntopo.sweep.run.run_task", lambda *a: calls.append(a))
    run_demo(out, toml, workers=1)
    assert calls == []
    assert (out / "figures" / "training_curves.png").exists() and (out / "report.html").exists()
    after = {k: v for k, v in _files(out).items() if not k.startswith("figures/") and k != "report.html"}
    assert after == before


def test_complex_figure_must_reproduce_the_stored_f_vector(copy):
    _, out = copy
    ds = open_results(out)
    s = int(np.nonzero(ds["snapshot_reached"].values[0])[0][-1])
    SweepStore(out).write("f_vector", (0, s), ds["f_vector"].values[0, s] + 1)
    with pytest.raises(RuntimeError, match="the store holds"):
        draw_figures(out)


def test_demo_folder_from_before_the_engine_is_replaced(tmp_path):
    old = tmp_path / "run"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"config": {"widths": [2, 8, 2], "thresholds": [0.5],
                                                            "grid": [0, 1, 0.1]}}))
    (old / "history.csv").write_text("epoch\n0\n")
    assert check_demo(old, TINY_PATH(tmp_path)) == old.resolve()
    (old / "thesis.tex").write_text("mine")  # not the old demo's file: refused
    with pytest.raises(FileExistsError, match="holds no sweep"):
        check_demo(old, TINY_PATH(tmp_path))
    assert sorted(os.listdir(old)) == ["config.json", "history.csv", "thesis.tex"]


def TINY_PATH(folder):
    path = folder / "tiny.toml"
    path.write_text(TINY)
    return path


def test_changed_config_is_refused_and_untouched(copy, tmp_path):
    toml, out = copy
    before = _files(out)
    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("seeds = [0, 1, 2]", "seeds = [0, 1, 5]"))
    with pytest.raises(FileExistsError, match=r"training.seeds = \[0, 1, 2\] there, \[0, 1, 5\] here"):
        run_demo(out, other, workers=1)
    assert _files(out) == before


def test_bad_arguments_create_nothing(tmp_path):
    target = tmp_path / "new" / "run"
    with pytest.raises(TypeError, match="config must be"):
        run_demo(target, {"seed": 1})
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_demo(target, TINY_PATH(tmp_path), workers=0)
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        run_demo(target, tmp_path / "missing.toml")
    assert sorted(os.listdir(tmp_path)) == ["tiny.toml"]


def test_summary_reads_the_store_not_memory(copy):
    _, out = copy
    store = SweepStore(out)
    store.write("euler_characteristic", (0, 0), np.int64(7))
    assert summarize(out)["snapshots"][0]["euler_characteristics"] == [1, 7]
    assert demo_mod.summarize is summarize


def test_sweep_plots_check_their_arguments(tiny):
    """The store figures left in plotting.sweep (the landscape ones are the study's, tested in
    tests/studies/test_activation_landscapes_figures.py)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nntopo.plotting.sweep import plot_sweep_training

    ds = open_results(tiny[1]).load()
    fig, ax = plt.subplots()
    try:
        assert plot_sweep_training(ds, ax=ax) is ax
        assert len(ax.lines) == 2 * (3 + 1)  # train and test: each network and the mean
        with pytest.raises(TypeError, match="ds must be the xarray.Dataset of a sweep"):
            plot_sweep_training({"train_acc": 1}, ax=ax)
        with pytest.raises(ValueError, match="ds has no train_acc"):
            plot_sweep_training(ds.drop_vars("train_acc"), ax=ax)
    finally:
        plt.close(fig)
