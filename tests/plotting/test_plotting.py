import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from nntopo.nets import MLP
from nntopo.plotting import plot_complex_2d, plot_landscape, plot_norms_per_layer, plot_training_curves, region_polygons


def _shoelace(p):
    x, y = p[:, 0], p[:, 1]
    return 0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_region_polygons_tile_the_box():
    from nntopo.polyhedral import polyhedral_complex

    cx = polyhedral_complex(MLP([2, 8, 6, 2], seed=3).weights(), box=(-1.0, 2.0))
    polys = region_polygons(cx)
    areas = np.array([_shoelace(p) for p in polys])
    assert np.all(areas > 0)  # counter-clockwise, non-degenerate
    assert areas.sum() == pytest.approx(9.0, rel=1e-9)
    fig, ax = plt.subplots()
    assert plot_complex_2d(cx, ax=ax) is ax
    with pytest.raises(ValueError, match="one entry per region"):
        plot_complex_2d(cx, ax=ax, values=np.zeros(3))
    plt.close(fig)


def test_landscape_and_norm_plots_return_ax():
    from nntopo.landscapes import Landscape

    ls = Landscape.from_diagram(np.array([[0.1, 0.5], [0.2, 0.4]]), (0.0, 1.0, 0.01), n_levels=3)
    fig, axes = plt.subplots(1, 3)
    assert plot_landscape(ls, ax=axes[0]) is axes[0]
    assert len(axes[0].lines) == 3
    assert plot_norms_per_layer(np.ones((2, 4)), ax=axes[1], series_labels=["a", "b"]) is axes[1]
    history = [{"epoch": e, "train_loss": 1.0 / (e + 1), "train_acc": 0.5 + 0.1 * e, "test_acc": np.nan} for e in range(4)]
    assert plot_training_curves(history, ax=axes[2], snapshots=[{"reached": True, "epoch": 2, "threshold": 0.7}]) is axes[2]
    plt.close(fig)


def test_bad_arguments_name_themselves():
    from nntopo.landscapes import Landscape
    from nntopo.polyhedral import polyhedral_complex

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="layer_names must have one entry per layer"):
        plot_norms_per_layer(np.ones((2, 4)), ax=ax, layer_names=["a", "b"])
    with pytest.raises(ValueError, match="series_labels must have one entry per series"):
        plot_norms_per_layer(np.ones((3, 3)), ax=ax, series_labels=["a", "b"])
    with pytest.raises(ValueError, match="norms"):
        plot_norms_per_layer(np.ones((2, 2, 2)), ax=ax)
    with pytest.raises(ValueError, match="norms"):
        plot_norms_per_layer([1.0, np.nan], ax=ax)
    with pytest.raises(TypeError, match="norms"):
        plot_norms_per_layer(["a", "b"], ax=ax)
    assert len(plot_norms_per_layer([1.0, 2.0, 0.5], ax=ax).lines) == 1  # one series as a 1-D array
    ls = Landscape.from_diagram(np.array([[0.1, 0.5]]), (0.0, 1.0, 0.1), n_levels=1)
    with pytest.raises(ValueError, match="n_levels"):
        plot_landscape(ls, ax=ax, n_levels=0)
    with pytest.raises(TypeError, match="complex_ must be a PolyhedralComplex"):
        region_polygons("not a complex")
    cx3 = polyhedral_complex(MLP([3, 4, 2], seed=0).weights(), box=(-1.0, 1.0))
    with pytest.raises(ValueError, match="input dimension 2"):
        plot_complex_2d(cx3, ax=ax)
    cx = polyhedral_complex(MLP([2, 4, 2], seed=0).weights(), box=(-1.0, 1.0))
    with pytest.raises(TypeError, match="values"):
        plot_complex_2d(cx, ax=ax, values=np.array(["a"] * cx.n_regions))
    with pytest.raises(ValueError, match="edge_width"):
        plot_complex_2d(cx, ax=ax, edge_width=-1.0)
    with pytest.raises(ValueError, match="history is empty"):
        plot_training_curves([], ax=ax)
    with pytest.raises(TypeError, match="history"):
        plot_training_curves({"epoch": 0}, ax=ax)
    plt.close(fig)


def test_mean_over_networks_averages_reached_networks_and_subsamples():
    import xarray as xr

    from nntopo.plotting.sweep import mean_over_networks

    # (network 3, snapshot 2, subsample 2, layer 1, t 2); network 2 did not reach snapshot 1
    values = np.array([
        [[[[1.0, 2.0]], [[3.0, 4.0]]], [[[0.0, 0.0]], [[2.0, 2.0]]]],
        [[[[5.0, 6.0]], [[7.0, 8.0]]], [[[4.0, 0.0]], [[6.0, 2.0]]]],
        [[[[0.0, 0.0]], [[0.0, 6.0]]], [[[np.nan, np.nan]], [[np.nan, np.nan]]]],
    ])
    reached = np.array([[True, True], [True, True], [True, False]])
    ds = xr.Dataset({"landscape": (("network", "snapshot", "subsample", "layer", "t"), values),
                     "snapshot_reached": (("network", "snapshot"), reached)})
    mean = mean_over_networks(ds, "landscape")
    assert mean.shape == (2, 1, 2)
    # snapshot 0: six (network, subsample) rows; snapshot 1: four, network 2 left out
    np.testing.assert_array_equal(mean[0, 0], [(1 + 3 + 5 + 7 + 0 + 0) / 6, (2 + 4 + 6 + 8 + 0 + 6) / 6])
    np.testing.assert_array_equal(mean[1, 0], [(0 + 2 + 4 + 6) / 4, (0 + 2 + 0 + 2) / 4])
    none = ds.assign(snapshot_reached=(("network", "snapshot"), np.zeros((3, 2), bool)))
    assert np.isnan(mean_over_networks(none, "landscape")).all()
