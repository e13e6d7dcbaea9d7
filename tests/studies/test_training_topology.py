"""Topology during training (nntopo.studies.training_topology) run through the sweep engine
on the Duffing PINN, checked against independent recomputations."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from scipy import stats

matplotlib.use("Agg")

from nntopo.sweep import open_results, run_sweep  # noqa: E402
from nntopo.sweep.config import ConfigError, parse_config  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "nntopo" / "configs"


def _tiny(networks: int = 3, **betti: object) -> dict:
    """The Duffing demo config made smaller: [2, 6, 6, 2], 16 x 4 collocation points, 20 epochs."""
    with open(CONFIGS / "duffing_demo.toml", "rb") as fh:
        raw = copy.deepcopy(tomllib.load(fh))
    raw["data"]["params"].update(n_t=16, n_x0=4)
    raw["network"]["widths"] = [2, 6, 6, 2]
    raw["training"].update(networks=networks, epochs=24, batch_size=64)
    raw["training"]["snapshots"] = {"every": 4}
    raw["analysis"]["betti"].update({"n_trials": 7, "grid": 11, **betti})
    return raw


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("betti") / "run"
    run_sweep(parse_config(_tiny()), out, workers=1)
    return out


def test_sweep_stores_f_vectors_curves_and_peaks_per_snapshot(sweep):
    from nntopo.nets import duffing_pinn_loss
    from nntopo.polyhedral import polyhedral_complex
    from nntopo.sweep.data import load_dataset, training_loss
    from nntopo.sweep.jobs import load_snapshot_network
    from nntopo.sweep.store import stored_config

    import torch

    ds = open_results(sweep)
    config = stored_config(sweep)
    assert ds.betti_curve.dims == ("network", "snapshot", "share", "degree")
    assert ds.betti_curve.shape == (3, 7, 11, 3)
    assert ds.snapshot_epoch.values[0].tolist() == [0, 4, 8, 12, 16, 20, 24]
    X = torch.from_numpy(load_dataset(config.data).X).float()
    problem = training_loss(config)
    for n in range(3):
        for s in range(7):
            net = load_snapshot_network(sweep, config, n, s)
            cx = polyhedral_complex(net, box=(np.full(2, -1.0), np.full(2, 1.0)))
            f = ds.betti_f_vector.values[n, s]
            assert f.tolist() == list(cx.f_vector)
            assert f[0] - f[1] + f[2] == 1  # a subdivided square
            assert ds.betti_n_cells.values[n, s] == f.sum()
            curve = ds.betti_curve.values[n, s]
            assert curve[0].tolist() == [0, 0, 0] and curve[-1].tolist() == [1, 0, 0]
            # In d = 2, b_1 grows with every edge that closes a cycle and falls with every
            # 2-cell: it peaks once all 0- and 1-cells are in, whatever the order.
            assert ds.betti_peak_cells.values[n, s, 1] == f[0] + f[1]
            assert ds.betti_critical_share.values[n, s] == pytest.approx((f[0] + f[1]) / f.sum())
            assert ds.betti_peak_value.values[n, s, 1] == pytest.approx(f[1] - f[0] + 1)
            # The stored loss is the PINN loss of the snapshot's weights.
            epoch = int(ds.snapshot_epoch.values[n, s])
            direct = float(duffing_pinn_loss(net, X, problem).detach())
            assert ds.train_loss.values[n, epoch] == pytest.approx(direct, rel=1e-4)


def test_topology_series_reads_loss_and_cells_at_snapshot_epochs(sweep):
    from nntopo.studies.training_topology import topology_series

    ds = open_results(sweep)
    series = topology_series(sweep)
    for n in range(3):
        for s, e in enumerate(ds.snapshot_epoch.values[n]):
            assert series.loss.values[n, s] == ds.train_loss.values[n, e]
            assert series.n_vertices.values[n, s] == ds.betti_f_vector.values[n, s, 0]
    # Training moves the loss: the series is not constant.
    assert np.ptp(series.loss.values, axis=1).min() > 0


def _heatmap_by_loops(curves: np.ndarray, n_cells: np.ndarray, n_rows: int) -> np.ndarray:
    S, G, D = curves.shape
    M = n_cells.max()
    out = np.full((n_rows, S, D), np.nan)
    for j in range(n_rows):
        cells = j / (n_rows - 1) * M
        for s in range(S):
            if cells <= n_cells[s]:
                out[j, s] = curves[s, int(np.rint(cells / n_cells[s] * (G - 1)))]
    return out


def test_heatmap_equals_a_direct_computation(sweep):
    from nntopo.studies.training_topology import heatmap

    ds = open_results(sweep)
    direct = [_heatmap_by_loops(ds.betti_curve.values[n], ds.betti_n_cells.values[n], 17) for n in range(3)]
    for n in range(3):
        hm = heatmap(sweep, n, n_rows=17)
        assert hm.dims == ("y", "epoch", "degree")
        assert hm.epoch.values.tolist() == ds.snapshot_epoch.values[n].tolist()
        np.testing.assert_array_equal(hm.values, direct[n])
        assert hm.attrs["max_cells"] == ds.betti_n_cells.values[n].max()
    stacked = np.stack(direct)
    defined = ~np.isnan(stacked)
    mean = np.full(stacked.shape[1:], np.nan)
    some = defined.any(axis=0)
    mean[some] = np.nansum(stacked, axis=0)[some] / defined.sum(axis=0)[some]
    np.testing.assert_allclose(heatmap(sweep, None, n_rows=17).values, mean, equal_nan=True)


def _direct_table(loss: np.ndarray, topo: np.ndarray, max_lag: int) -> dict[str, tuple[int, float]]:
    """Per method: (trials with p < 0.05 and r > 0, median r), with scipy and loops."""
    out = {}
    rs = {"pearson": [], "detrended": [], "differences": [], "cross_correlation": []}
    ps = {k: [] for k in rs}
    for a, b in zip(loss, topo):
        t = np.arange(a.size)
        for name, (x, y) in {
            "pearson": (a, b),
            "detrended": (a - np.polyval(np.polyfit(t, a, 1), t), b - np.polyval(np.polyfit(t, b, 1), t)),
            "differences": (np.diff(a), np.diff(b)),
        }.items():
            r, p = stats.pearsonr(x, y)
            rs[name].append(r)
            ps[name].append(p)
        best = None
        for L in range(-max_lag, max_lag + 1):
            x, y = (a[L:], b[: a.size - L]) if L >= 0 else (a[: a.size + L], b[-L:])
            r, p = stats.pearsonr(x, y)
            if best is None or r > best[0] + 1e-12 or (abs(r - best[0]) <= 1e-12 and abs(L) < abs(best[2])):
                best = (r, p, L)
        rs["cross_correlation"].append(best[0])
        ps["cross_correlation"].append(best[1])
    for k in rs:
        r, p = np.array(rs[k]), np.array(ps[k])
        out[k] = (int(np.sum((p < 0.05) & (r > 0))), float(np.median(r)))
    return out


def test_table2_equals_a_direct_computation(sweep):
    from nntopo.studies.training_topology import table2, table2_csv, table2_markdown, topology_series

    series = topology_series(sweep)
    table = table2({"chaotic": sweep, "again": sweep}, max_lag=2)
    assert table.n_significant_positive.dims == ("regime", "series", "measure")
    for name in ("n_vertices", "critical_share"):
        direct = _direct_table(series.loss.values, series[name].values.astype(float), 2)
        for m, (count, median_r) in direct.items():
            for regime in ("chaotic", "again"):
                row = table.sel(regime=regime, series=name, measure=m)
                assert int(row.n_significant_positive) == count
                assert float(row.median_r) == pytest.approx(median_r, abs=1e-9)
                assert int(row.n_trials) == 3
    md = table2_markdown(table)
    assert md.count("\n") == 2 + 2 * 2 * 4 and "| chaotic | n_vertices | pearson |" in md
    csv_text = table2_csv(table)
    assert csv_text.splitlines()[0].startswith("regime,topology,method,n_significant_positive")
    assert len(csv_text.splitlines()) == 1 + 16


def test_figures_have_their_panels_and_labels(sweep):
    import matplotlib.pyplot as plt

    from nntopo.studies.training_topology import plot_betti_curves, plot_cells_and_loss, plot_heatmaps

    fig = plot_heatmaps(sweep, 1)
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "epoch"]
    assert [ax.get_title() for ax in panels] == ["$b_0$, network 1", "$b_1$, network 1", "$b_2$, network 1"]
    assert panels[0].get_ylabel().startswith("cells added / ")
    plt.close(fig)

    ax = plot_cells_and_loss(sweep, cell_dim=0)
    assert ax.get_ylabel() == "0-cells" and ax.get_xlabel() == "epoch"
    assert len(ax.lines) == 3 + 1
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert twin.get_yscale() == "log" and len(twin.lines) == 3 + 1
    plt.close(ax.figure)

    fig = plot_betti_curves(sweep, 2, epochs=(0, 24))
    assert len(fig.axes) == 3
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels[0].startswith("epoch 0 (") and labels[1].startswith("epoch 24 (")
    with pytest.raises(ValueError, match="epochs"):
        plot_betti_curves(sweep, 2, epochs=(5,))
    plt.close(fig)


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["analysis"]["betti"].update(n_trials=0), "analysis.betti.n_trials"),
    (lambda r: r["analysis"]["betti"].update(trials=3), "analysis.betti.trials"),
    (lambda r: r["analysis"]["betti"].update(box=[1.0, 0.0]), "analysis.betti.box"),
    (lambda r: r["analysis"]["betti"].update(grid=1), "analysis.betti.grid"),
    (lambda r: r["analysis"]["betti"].update(seed=-1), "analysis.betti.seed"),
    (lambda r: r["data"]["params"].update(gamma=0.1), "data.params.gamma"),
    (lambda r: r["data"]["params"].update(regime="quasi"), "data.params"),
    (lambda r: r["network"].update(widths=[2, 6, 3]), "network.widths"),
])
def test_config_errors_name_the_key(edit, key):
    raw = _tiny()
    edit(raw)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(raw, source="tiny.toml")


def test_packaged_duffing_configs_parse():
    from nntopo.sweep.config import load_config

    demo = load_config(CONFIGS / "duffing_demo.toml")
    assert demo.analysis("betti").n_trials == 20
    for name, regime in (("duffing_paper", "chaotic"), ("duffing_paper_periodic", "periodic")):
        c = load_config(CONFIGS / f"{name}.toml")
        assert c.n_networks == 25 and dict(c.data.params)["regime"] == regime
        # Full batch: one step per epoch over every collocation point.
        assert c.training.batch_size == dict(c.data.params)["n_t"] * dict(c.data.params)["n_x0"]


def test_series_keep_only_the_evenly_spaced_snapshots_in_epoch_order(tmp_path):
    """Listed epochs in the same sweep come after the every-k ones on the snapshot axis;
    the series (and so Table 2's lags and differences) must not include them."""
    raw = _tiny(networks=1)
    raw["training"]["snapshots"] = {"every": 8, "at_epochs": [3, 13]}
    out = tmp_path / "run"
    run_sweep(parse_config(raw), out, workers=1)
    assert list(open_results(out).snapshot_epoch.values[0]) == [0, 8, 16, 24, 3, 13]
    from nntopo.studies import training_topology as tt

    assert list(tt.topology_series(out).epoch.values[0]) == [0, 8, 16, 24]
    assert list(tt.heatmap(out, 0).epoch.values) == [0, 8, 16, 24]
