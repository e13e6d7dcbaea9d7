"""Figures 1-4 of the activation-landscapes paper drawn from a store: panels, axis labels,
legends and colourbars inspected on the matplotlib objects; draw_figures and `nntopo figures`."""

from __future__ import annotations

import csv
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from nntopo.cli import app  # noqa: E402
from nntopo.studies.activation_landscapes import (FIGURES, TABLES, average_landscapes, check_figures,  # noqa: E402
                                                  draw_figures, landscape_curves, plot_activations,
                                                  plot_average_landscapes, plot_complexity, plot_landscape_curves,
                                                  snapshots_by_label, stage_snapshots, table1, table1_csv,
                                                  table1_markdown, topological_complexity, write_tables)
from nntopo.sweep import open_results  # noqa: E402

LAYERS = ["input", "relu1", "relu2", "output"]


@pytest.fixture
def store(kit):
    """4 networks, 4 thresholds (the third reached by none), 2 subsamples, 4 layers, 3 levels."""
    rng = np.random.default_rng(11)
    land = np.zeros((4, 4, 2, 4, 3, 9))
    land[..., 1:-1] = rng.uniform(0.0, 0.3, size=(4, 4, 2, 4, 3, 7))
    reached = np.ones((4, 4), bool)
    reached[:, 2] = False
    reached[3, 3] = False
    land[:, 2] = np.nan
    land[3, 3] = np.nan
    return kit.hand_store(land, reached, [0.5, 0.7, 0.85, 1.0], grid=(0.0, 0.8, 0.1), layers=LAYERS)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def test_figure2_grid_thresholds_by_layers(store):
    fig = plot_average_landscapes(store, fig=Figure())
    axes = np.array(fig.axes).reshape(3, 4)  # 3 thresholds some network reached x 4 layers
    assert [ax.get_title() for ax in axes[0]] == LAYERS
    assert [ax.get_ylabel().split("\n")[0] for ax in axes[:, 0]] == ["0.5", "0.7", "1"]
    assert axes[2, 1].get_ylabel() == "" and "(n=3)" in axes[2, 0].get_ylabel()
    assert all(ax.get_xlabel() == "t" for ax in axes[2]) and all(ax.get_xlabel() == "" for ax in axes[0])
    mean = average_landscapes(store)
    for r, s in enumerate((0, 1, 3)):
        for c in range(4):
            lines = axes[r, c].get_lines()
            assert len(lines) == 3  # one per level
            np.testing.assert_array_equal(lines[1].get_ydata(), mean.values[s, c, 1])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["λ1", "λ2", "λ3"]
    assert axes[0, 0].get_xlim()[1] == pytest.approx(0.8)  # support ends at t_max here
    # the shared y axis holds the highest tent of every panel (not only the first panel's)
    highest = float(np.nanmax(mean.values[[0, 1, 3]]))
    assert all(ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= highest for ax in axes.flat)
    fig = plot_average_landscapes(store, layers=["relu2"], snapshots=[3], t_max=0.4, fig=Figure())
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "relu2" and fig.axes[0].get_xlim()[1] == 0.4
    with pytest.raises(ValueError, match=r"layers\[0\] must be one of"):
        plot_average_landscapes(store, layers=["relu9"], fig=Figure())
    with pytest.raises(ValueError, match="no network counts"):
        plot_average_landscapes(store, snapshots=[2], fig=Figure())


def test_figure3_curves_coloured_yellow_to_purple_with_colourbar(store):
    fig = Figure()
    ax = plot_landscape_curves(store, ax=fig.add_subplot())
    curves = _labelled(ax)
    assert [ln.get_label() for ln in curves] == ["0.5", "0.7", "1"]
    xy = landscape_curves(store)
    for ln, s in zip(curves, (0, 1, 3)):
        np.testing.assert_allclose(ln.get_xydata(), xy.values[s], rtol=1e-12)  # through its layers in order
    cmap = matplotlib.colormaps["viridis_r"]
    assert to_rgba(curves[0].get_color()) == pytest.approx(cmap(0.0))  # lowest threshold yellow
    assert to_rgba(curves[-1].get_color()) == pytest.approx(cmap(1.0))  # highest purple
    assert ax.get_xlabel().startswith("PC 1") and ax.get_ylabel().startswith("PC 2")
    colorbars = [a for a in fig.axes if a is not ax]
    assert len(colorbars) == 1 and colorbars[0].get_ylabel() == "training-accuracy threshold"


def test_figure3_final_epoch_sits_at_its_mean_accuracy_on_the_colourbar(kit):
    rng = np.random.default_rng(4)
    ds = kit.hand_store(rng.uniform(0, 1, size=(2, 3, 1, 2, 1, 5)), np.ones((2, 3), bool), [0.5, 0.8, np.nan],
                        policies=["accuracy_threshold", "accuracy_threshold", "final"])
    ds["snapshot_train_acc"].values[:, 2] = [0.95, 1.0]  # the final epoch: mean 0.975
    fig = Figure()
    ax = plot_landscape_curves(ds, ax=fig.add_subplot())
    curves = _labelled(ax)
    assert [ln.get_label() for ln in curves] == ["0.5", "0.8", "final"]
    cmap = matplotlib.colormaps["viridis_r"]
    assert to_rgba(curves[1].get_color()) == pytest.approx(cmap((0.8 - 0.5) / (0.975 - 0.5)))
    assert to_rgba(curves[2].get_color()) == pytest.approx(cmap(1.0))
    assert len(fig.axes) == 2 and ax.get_legend() is None  # a colourbar, no legend
    assert fig.axes[1].get_ylabel() == "training-accuracy threshold\n(final epoch: mean accuracy reached)"


def test_figure3_legend_when_snapshots_are_epochs(kit):
    rng = np.random.default_rng(2)
    ds = kit.hand_store(rng.uniform(0, 1, size=(2, 3, 1, 2, 1, 5)), np.ones((2, 3), bool), [np.nan] * 3,
                        policies=["every_k"] * 3)
    fig = Figure()
    ax = plot_landscape_curves(ds, ax=fig.add_subplot())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["epoch 0", "epoch 10", "epoch 20"]
    assert len(fig.axes) == 1


def test_figure4_complexity_lines_per_threshold_with_legend(store):
    fig = Figure()
    ax = plot_complexity(store, ax=fig.add_subplot())
    lines = _labelled(ax)
    comp = topological_complexity(store)
    assert len(lines) == 3
    for ln, s in zip(lines, (0, 1, 3)):
        np.testing.assert_allclose(ln.get_ydata(), comp.values[s], rtol=1e-12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0.5 (n=4)", "0.7 (n=4)", "1 (n=3)"]
    assert ax.get_legend().get_title().get_text() == "threshold"
    assert [t.get_text() for t in ax.get_xticklabels()] == LAYERS
    assert ax.get_xlabel() == "layer" and ax.get_ylabel() == "norm of the average landscape"
    assert to_rgba(lines[0].get_color()) == pytest.approx(matplotlib.colormaps["viridis_r"](0.0))
    ax = plot_complexity(store, statistic="mean_of_norms", ax=Figure().add_subplot())
    np.testing.assert_allclose(_labelled(ax)[0].get_ydata(),
                               topological_complexity(store, statistic="mean_of_norms").values[0])
    assert ax.get_ylabel() == "average landscape norm"


def test_figure1_activations_of_a_stored_network(al_sweep):
    ds = open_results(al_sweep)
    last = int(np.flatnonzero(ds.snapshot_reached.values[0])[-1])
    fig = plot_activations(al_sweep, 0, max_points=500, fig=Figure())
    assert [ax.get_title() for ax in fig.axes] == ["input", "relu1", "relu2", "output"]
    for ax in fig.axes:
        assert ax.get_xlabel() == "PC 1" and ax.get_ylabel() == "PC 2"
        assert sum(len(c.get_offsets()) for c in ax.collections) == 500
    assert [t.get_text() for t in fig.axes[-1].get_legend().get_texts()] == ["class 0", "class 1"]
    assert f"threshold {ds.snapshot_threshold.values[last]:g}" in fig.get_suptitle()
    fig = plot_activations(open_results(al_sweep), 1, snapshot=0, layers=["input"], max_points=400, fig=Figure())
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="did not reach snapshot 2"):
        plot_activations(al_sweep, 0, snapshot=2, fig=Figure())
    with pytest.raises(ValueError, match="needs the sweep folder"):
        plot_activations(_detached(open_results(al_sweep)), fig=Figure())


def _detached(ds):
    ds = ds.load()
    ds.encoding = {}
    return ds


def test_draw_figures_from_a_sweep_folder(al_sweep, tmp_path):
    paths = draw_figures(al_sweep, tmp_path / "figs")
    assert [p.name for p in paths] == [FIGURES[k] for k in (1, 2, 3, 4)]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    assert sorted(x.name for x in (tmp_path / "figs").iterdir()) == sorted(p.name for p in paths)  # no temp files


def test_draw_figures_from_a_dataset_leaves_out_figure1(store, tmp_path):
    paths = draw_figures(store, tmp_path)
    assert [p.name for p in paths] == [FIGURES[k] for k in (2, 3, 4)]
    with pytest.raises(ValueError, match="out_dir is required"):
        draw_figures(store)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        draw_figures(store, tmp_path / "file" / "figs")


runner = CliRunner()


def _one_error_line(result, *fragments):
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_cli_figures_draws_the_pngs_and_prints_their_paths(al_sweep, tmp_path):
    out = tmp_path / "elsewhere"
    result = runner.invoke(app, ["figures", str(al_sweep), "--out", str(out), "--permutations", "500"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / FIGURES[k]) for k in (1, 2, 3, 4)] + [str(out / t) for t in TABLES]
    assert sorted(p.name for p in out.iterdir()) == sorted([*FIGURES.values(), *TABLES])
    # the files are the library's tables: Table I over the stage snapshots with the given N and seed 0
    tb = table1(al_sweep, snapshots=stage_snapshots(al_sweep), n_permutations=500, seed=0)
    assert (out / "table1.csv").read_text() == table1_csv(tb)
    assert (out / "table1.md").read_text() == table1_markdown(tb)
    rows = list(csv.DictReader(io.StringIO((out / "complexity.csv").read_text())))
    c = topological_complexity(al_sweep)
    assert len(rows) == c.size
    assert float(rows[1]["norm_of_mean"]) == float(c.values[0, 1])
    assert float(rows[1]["mean_of_norms"]) == float(topological_complexity(al_sweep, statistic="mean_of_norms").values[0, 1])
    assert check_figures(al_sweep) == al_sweep / "figures"  # the default --out, created by nothing yet
    assert not (al_sweep / "figures").exists()


def test_cli_figures_bad_store_is_one_error_line(tmp_path):
    _one_error_line(runner.invoke(app, ["figures", str(tmp_path / "missing")]), "no sweep results")
    garbage = tmp_path / "garbage"
    (garbage / "results.zarr").mkdir(parents=True)
    (garbage / "results.zarr" / ".zmetadata").write_bytes(b"\x00\xff garbage")
    _one_error_line(runner.invoke(app, ["figures", str(garbage)]), "holds no readable sweep results")
    (tmp_path / "plain").mkdir()
    _one_error_line(runner.invoke(app, ["figures", str(tmp_path / "plain")]), "no sweep results")


def test_cli_figures_table1_over_chosen_snapshots(al_sweep, tmp_path):
    labels = list(average_landscapes(al_sweep)["label"].values)
    chosen = [labels[0], labels[-1]]
    out = tmp_path / "chosen"
    result = runner.invoke(app, ["figures", str(al_sweep), "--out", str(out), "--permutations", "200",
                                 "--snapshots", ",".join(chosen)])
    assert result.exit_code == 0, result.output
    idx = snapshots_by_label(al_sweep, chosen)
    assert idx == [0, len(labels) - 1]
    assert (out / "table1.md").read_text() == table1_markdown(table1(al_sweep, snapshots=idx, n_permutations=200,
                                                                      seed=0))
    _one_error_line(runner.invoke(app, ["figures", str(al_sweep), "--out", str(out), "--snapshots", "0.42"]),
                    "'0.42' names no snapshot", labels[0])


def test_no_table_is_written_before_any_landscape(kit, tmp_path):
    land = np.full((2, 2, 1, 1, 1, 5), np.nan)
    ds = kit.hand_store(land, np.zeros((2, 2), bool), [0.5, 0.9], grid=(0.0, 1.0, 0.25))
    assert write_tables(ds, tmp_path / "t") == []
    assert not (tmp_path / "t").exists()
