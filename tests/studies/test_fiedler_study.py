"""The Fiedler study (nntopo.studies.fiedler) run through the sweep engine."""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from nntopo.sweep import open_results, run_sweep  # noqa: E402
from nntopo.sweep.config import ConfigError, parse_config  # noqa: E402
from nntopo.sweep.store import SweepStore  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "nntopo" / "configs"


def _tiny(networks: int = 2, **fiedler: object) -> dict:
    """The circles demo config made smaller (60 points, 60 epochs)."""
    with open(CONFIGS / "circles_demo.toml", "rb") as fh:
        raw = tomllib.load(fh)
    raw = copy.deepcopy(raw)
    raw["data"]["params"]["n_samples"] = 60
    raw["training"]["networks"] = networks
    raw["training"]["epochs"] = 60
    raw["training"]["snapshots"] = {"at_epochs": [30, 60]}
    raw["analysis"]["fiedler"].update(fiedler)
    return raw


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("fiedler") / "run"
    run_sweep(parse_config(_tiny(networks=3)), out, workers=1)
    return out


def _dense_fiedler(edges: np.ndarray, n: int, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Second smallest generalized eigenpair of (graph Laplacian, diag(w)), dense numpy."""
    K = np.zeros((n, n))
    for a, b in edges:
        K[a, a] += 1
        K[b, b] += 1
        K[a, b] -= 1
        K[b, a] -= 1
    s = 1.0 / np.sqrt(w)
    vals, vecs = np.linalg.eigh(s[:, None] * K * s[None, :])
    return float(vals[1]), s * vecs[:, 1]


def _brute_score(v: np.ndarray, labels_per_region: list[list[int]]) -> tuple[int, float]:
    """Misclassified regions and error, the best of both orientations, by loops."""
    best = None
    for flip in (False, True):
        wrong, sq = 0, 0.0
        for r, labs in enumerate(labels_per_region):
            if not labs:
                continue
            side = int(v[r] > 0)
            side = 1 - side if flip else side
            mean = sum(labs) / len(labs)
            wrong += abs(mean - side) > 0.5
            sq += (mean - side) ** 2
        cand = (wrong, np.sqrt(sq))
        best = cand if best is None or cand < best else best
    return best


def test_sweep_writes_fiedler_variables_that_match_a_dense_recomputation(sweep):
    from nntopo.polyhedral import dual_graph, polyhedral_complex
    from nntopo.studies.fiedler import fiedler_box
    from nntopo.sweep.data import load_dataset, network_split
    from nntopo.sweep.jobs import load_snapshot_network
    from nntopo.sweep.store import stored_config

    ds = open_results(sweep)
    assert list(ds["adjacency"].values) == ["exact", "hamming"]
    assert list(ds["weighting"].values) == ["unweighted", "weighted"]
    for name in ("fiedler_mu", "fiedler_misclassification", "fiedler_error", "fiedler_n_misclassified"):
        assert ds[name].dims == ("network", "snapshot", "adjacency", "weighting")
    mis = ds["fiedler_misclassification"].values
    assert np.all(np.isfinite(mis)) and np.all((mis >= 0) & (mis <= 1))
    assert np.all(ds["fiedler_n_edges"].values[..., 1] >= ds["fiedler_n_edges"].values[..., 0]
                  - ds["fiedler_edges_only_exact"].values)

    config = stored_config(sweep)
    settings = config.analysis("fiedler")
    X_all = load_dataset(config.data).X
    for network in range(config.n_networks):
        train, _ = network_split(config, network)
        net = load_snapshot_network(str(sweep), config, network, 1)
        cx = polyhedral_complex(net, box=fiedler_box(settings, X_all))
        assert ds["fiedler_n_regions"].values[network, 1] == cx.n_regions
        regions = [cx.region_of(p[None, :])[0] for p in train.X]
        per_region: list[list[int]] = [[] for _ in range(cx.n_regions)]
        for r, y in zip(regions, train.y):
            per_region[r].append(int(y))
        counts = np.array([len(x) for x in per_region], dtype=np.float64)
        assert ds["fiedler_n_labelled"].values[network, 1] == np.count_nonzero(counts)
        for a_i, adjacency in enumerate(("exact", "hamming")):
            g = dual_graph(cx, adjacency=adjacency)
            assert ds["fiedler_n_edges"].values[network, 1, a_i] == g.n_edges
            for w_i, w in enumerate((np.ones(cx.n_regions), 1.0 + counts)):
                mu, v = _dense_fiedler(g.edges, cx.n_regions, w)
                assert ds["fiedler_mu"].values[network, 1, a_i, w_i] == pytest.approx(mu, rel=1e-8)
                wrong, err = _brute_score(v, per_region)
                assert ds["fiedler_n_misclassified"].values[network, 1, a_i, w_i] == wrong
                assert ds["fiedler_misclassification"].values[network, 1, a_i, w_i] == pytest.approx(
                    wrong / np.count_nonzero(counts))
                assert ds["fiedler_error"].values[network, 1, a_i, w_i] == pytest.approx(err, rel=1e-9)


def test_weighting_none_reproduces_unweighted_and_facet_lengths_change_mu(tmp_path):
    out_none = tmp_path / "none"
    run_sweep(parse_config(_tiny(networks=1, vertex_weights="none", adjacency=["exact"])), out_none, workers=1)
    ds = open_results(out_none)
    np.testing.assert_array_equal(ds["fiedler_mu"].values[..., 0], ds["fiedler_mu"].values[..., 1])
    np.testing.assert_array_equal(ds["fiedler_error"].values[..., 0], ds["fiedler_error"].values[..., 1])
    out_len = tmp_path / "len"
    run_sweep(parse_config(_tiny(networks=1, vertex_weights="none", edge_weights="facet_length",
                                 adjacency=["exact"])), out_len, workers=1)
    dl = open_results(out_len)
    np.testing.assert_array_equal(dl["fiedler_mu"].values[..., 0], ds["fiedler_mu"].values[..., 0])
    assert not np.allclose(dl["fiedler_mu"].values[..., 1], ds["fiedler_mu"].values[..., 1])


def test_summary_equals_hand_computation(sweep, tmp_path):
    import shutil

    from nntopo.studies.fiedler import fiedler_summary, summary_csv, summary_markdown

    out = tmp_path / "copy"
    shutil.copytree(sweep, out)
    store = SweepStore(out)
    # known values written over the computed ones: networks x (adjacency, weighting)
    mis = [np.array([[0.5, 0.0], [0.25, 0.0]]), np.array([[0.25, 0.0], [0.5, 0.1]]),
           np.array([[0.75, 0.2], [0.5, 0.0]])]
    err = [np.array([[2.0, 0.0], [1.0, 0.5]]), np.array([[1.0, 0.0], [2.0, 1.0]]),
           np.array([[3.0, 1.0], [3.0, 0.0]])]
    for network in range(3):
        store.write("fiedler_misclassification", (network, 1), mis[network])
        store.write("fiedler_error", (network, 1), err[network])
    s = fiedler_summary(out)
    assert s["n_networks"] == 3 and s["snapshot"] == 1
    ex_w = s["rows"]["exact"]["weighted"]["misclassification"]
    assert ex_w["mean"] == pytest.approx(0.2 / 3)
    assert ex_w["sd"] == pytest.approx(np.sqrt(((0 - 0.2 / 3) ** 2 * 2 + (0.2 - 0.2 / 3) ** 2) / 2))
    assert ex_w["share_zero"] == pytest.approx(2 / 3)
    assert s["rows"]["exact"]["unweighted"]["misclassification"]["mean"] == pytest.approx(0.5)
    assert s["rows"]["exact"]["unweighted"]["misclassification"]["sd"] == pytest.approx(0.25)
    assert s["rows"]["exact"]["unweighted"]["misclassification"]["share_zero"] == 0.0
    assert s["rows"]["hamming"]["weighted"]["error"]["mean"] == pytest.approx(0.5)
    assert s["rows"]["hamming"]["weighted"]["misclassification"]["share_zero"] == pytest.approx(2 / 3)
    ds = open_results(out)
    epoch = ds["snapshot_epoch"].values[:, 1]
    assert list(epoch) == [60, 60, 60]
    train = ds["train_loss"].values[:, 60]
    assert s["train_loss"]["mean"] == pytest.approx(float(np.mean(train)))
    assert s["test_loss"]["sd"] == pytest.approx(float(np.std(ds["test_loss"].values[:, 60], ddof=1)))
    md = summary_markdown([s])
    assert md.count("\n") == 4 and "| hamming |" in md and "6.7 ± 11.5" in md and "67%" in md
    csv_lines = summary_csv([s]).splitlines()
    assert len(csv_lines) == 5 and csv_lines[1].split(",")[2:4] == ["exact", "unweighted"]
    # a disconnected graph (no Fiedler vector) is left out of its row's statistics, and the table says so
    store.write("fiedler_misclassification", (2, 1), np.array([[0.75, 0.2], [np.nan, np.nan]]))
    holes = fiedler_summary(out)
    assert holes["rows"]["hamming"]["weighted"]["misclassification"]["n"] == 2
    assert "| hamming | 3 (1 without a Fiedler vector) |" in summary_markdown(holes)
    assert "| exact | 3 |" in summary_markdown(holes)
    store.write("fiedler_misclassification", (2, 1), mis[2])
    for network, acc in enumerate((1.0, 1.0, 0.9)):
        store.write("snapshot_train_acc", (network,), np.array([1.0, acc]))
    kept = fiedler_summary(out, min_train_acc=1.0)
    assert kept["n_networks"] == 2
    assert kept["rows"]["exact"]["unweighted"]["misclassification"]["mean"] == pytest.approx(0.375)
    assert kept["rows"]["exact"]["weighted"]["misclassification"]["share_zero"] == 1.0
    assert kept["train_loss"]["mean"] == pytest.approx(float(np.mean(train[:2])))
    assert "(train acc >= 1)" in summary_markdown([kept])
    first = fiedler_summary(out, snapshot=0)
    assert first["snapshot"] == 0 and first["n_networks"] == 3


def test_figures_have_their_panels_and_labels(sweep):
    import matplotlib.pyplot as plt

    from nntopo.studies.fiedler import plot_dual_graph, plot_fiedler_partitions

    fig = plot_fiedler_partitions(sweep, network=1, snapshot=-1)
    axes = fig.axes
    assert len(axes) == 2
    assert axes[0].get_title().startswith("unweighted (exact)") and axes[1].get_title().startswith("weighted (exact)")
    for ax in axes:
        assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
        assert len(ax.collections) >= 4  # regions, complex edges, two classes of training points (+ boundary contour)
    ds = open_results(sweep)
    mis = ds["fiedler_misclassification"].values[1, 1, 0]
    assert f"{100 * mis[0]:.1f}% miscl." in axes[0].get_title()
    assert f"{100 * mis[1]:.1f}% miscl." in axes[1].get_title()
    plt.close(fig)
    fig2, ax = plt.subplots()
    out_ax = plot_dual_graph(sweep, network=1, adjacency="hamming", ax=ax)
    assert out_ax is ax
    n_edges = int(ds["fiedler_n_edges"].values[1, 1, 1])
    n_regions = int(ds["fiedler_n_regions"].values[1, 1])
    assert ax.get_title() == f"dual graph (hamming): {n_regions} regions, {n_edges} edges"
    drawn = sum(len(c.get_segments()) for c in ax.collections if hasattr(c, "get_segments"))
    assert drawn == n_edges
    plt.close(fig2)
    with pytest.raises(ValueError, match="adjacency"):
        plot_dual_graph(sweep, adjacency="grid")


@pytest.mark.parametrize("key, value, match", [
    ("adjacency", ["exact", "grid"], r"analysis\.fiedler: adjacency\[1\]"),
    ("adjacency", ["exact", "exact"], r"analysis\.fiedler\.adjacency: entries repeat"),
    ("power", 0.0, r"analysis\.fiedler\.power"),
    ("vertex_weights", "mass", r"analysis\.fiedler\.vertex_weights"),
    ("edge_weights", "area", r"analysis\.fiedler\.edge_weights"),
    ("box", [1.0, -1.0], r"analysis\.fiedler\.box"),
    ("box", "everything", r"analysis\.fiedler\.box"),
    ("powr", 2, r"analysis\.fiedler\.powr: unknown key"),
])
def test_config_errors_name_the_key(key, value, match):
    raw = _tiny()
    raw["analysis"]["fiedler"][key] = value
    with pytest.raises(ConfigError, match=match):
        parse_config(raw)


def test_margin_only_with_data_box():
    raw = _tiny()
    raw["analysis"]["fiedler"]["box"] = [-2.0, 2.0]
    with pytest.raises(ConfigError, match=r"analysis\.fiedler\.margin"):
        parse_config(raw)
    del raw["analysis"]["fiedler"]["margin"]
    assert parse_config(raw).analysis("fiedler").box == (-2.0, 2.0)


def test_packaged_paper_configs_parse():
    from nntopo.sweep.config import load_config

    c = load_config(CONFIGS / "circles_paper.toml")
    assert c.network.widths == (2, 6, 6, 2) and c.training.epochs == 4000 and c.n_networks >= 20
    assert c.snapshots[-1].epoch == 4000
    m = load_config(CONFIGS / "moons_paper.toml")
    assert m.network.widths == (2, 5, 5, 5, 2) and m.training.epochs == 2000 and m.n_networks >= 20
    assert m.analysis("fiedler").adjacency == ("exact", "hamming")


def test_density_weights_use_region_areas_that_tile_the_box(sweep):
    from nntopo.polyhedral import polyhedral_complex
    from nntopo.studies.fiedler import _region_areas, fiedler_box, fiedler_weights
    from nntopo.sweep.data import load_dataset
    from nntopo.sweep.jobs import load_snapshot_network
    from nntopo.sweep.store import stored_config

    config = stored_config(sweep)
    s = dataclasses.replace(config.analysis("fiedler"), vertex_weights="density", power=2.0)
    cx = polyhedral_complex(load_snapshot_network(str(sweep), config, 0, 1),
                            box=fiedler_box(s, load_dataset(config.data).X))
    area = _region_areas(cx)
    assert np.all(area > 0)
    assert area.sum() == pytest.approx(float(np.prod(cx.hi - cx.lo)), rel=1e-9)
    counts = np.arange(cx.n_regions) % 3
    w, c = fiedler_weights(s, cx, _graph(cx), counts, "weighted")
    rho = counts / area / (counts.sum() / area.sum())
    np.testing.assert_allclose(w, 1.0 + rho ** 2)
    np.testing.assert_array_equal(c, 1.0)


def _graph(cx):
    from nntopo.polyhedral import dual_graph

    return dual_graph(cx)


def test_summary_writers_take_one_summary_or_a_list_and_refuse_anything_else():
    from nntopo.studies.fiedler import summary_csv, summary_markdown

    with pytest.raises(TypeError, match="summaries"):
        summary_markdown("runs/circles_paper")  # a path is not a summary
    with pytest.raises(TypeError, match="summaries"):
        summary_csv([{"name": "x"}])


def test_resolved_config_with_a_box_parses_again():
    # sweep.json holds the resolved config, and stored_config parses it again: margin is
    # stated only for box = "data", where it applies (the parser refuses it elsewhere)
    raw = _tiny()
    del raw["analysis"]["fiedler"]["margin"]
    raw["analysis"]["fiedler"]["box"] = [-2.0, 2.0]
    resolved = parse_config(raw).resolved()
    assert "margin" not in resolved["analysis"]["fiedler"]
    assert parse_config(resolved).resolved() == resolved
    data_box = parse_config(_tiny()).resolved()
    assert data_box["analysis"]["fiedler"]["margin"] == 0.05 and parse_config(data_box).resolved() == data_box
