"""The activation-landscapes study's statistics from a store: averages over networks and subsamples
against hand-computed means, Table I's statistic against a direct computation of eq. (1), p-values
on identical and on very different groups, networks left out listed, PCA curves, and the nine holes
of the nine-disk input batch."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import xarray as xr

from nntopo.studies.activation_landscapes import (average_landscapes, landscape_curves, landscape_results,
                                                  network_landscapes, stored_activation_landscapes, table1,
                                                  table1_csv, table1_markdown, topological_complexity)
from nntopo.sweep import open_results

STEP = 0.25


@pytest.fixture
def store(kit):
    """3 networks, 3 thresholds, 2 subsamples, 2 layers, 2 levels, 5 grid points.

    Threshold 0: every network. Threshold 1: network 0 only (network 1 reached it but its
    piece is not computed: NaN; network 2 never reached it, and its entry holds finite junk
    that must be ignored). Threshold 2: no network.
    """
    rng = np.random.default_rng(7)
    land = rng.uniform(0.0, 1.0, size=(3, 3, 2, 2, 2, 5))
    reached = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0]], bool)
    land[1, 1] = np.nan
    land[2, 1] = 1e6
    land[:, 2] = np.nan
    return kit.hand_store(land, reached, [0.55, 0.7, 0.85], grid=(0.0, 1.0, STEP))


def test_average_equals_the_hand_computed_mean_over_networks_and_subsamples(store):
    land = store.landscape.values
    mean = average_landscapes(store)
    assert mean.dims == ("snapshot", "layer", "level", "t")
    # threshold 0: all 3 networks x 2 subsamples, summed by hand
    total = np.zeros(land.shape[3:])
    for n in range(3):
        for k in range(2):
            total += land[n, 0, k]
    np.testing.assert_allclose(mean.values[0], total / 6, rtol=1e-14)
    # threshold 1: network 0 alone (1 not computed, 2 not reached)
    np.testing.assert_allclose(mean.values[1], (land[0, 1, 0] + land[0, 1, 1]) / 2, rtol=1e-14)
    assert np.isnan(mean.values[2]).all()
    assert mean.n_networks.values.tolist() == [3, 1, 0]
    assert mean.n_reached.values.tolist() == [3, 2, 0]
    assert mean.missing.values.tolist() == ["", "2", "0,1,2"]
    assert mean.not_computed.values.tolist() == ["", "1", ""]
    assert int(mean.n_subsamples) == 2 and mean.threshold.values.tolist() == [0.55, 0.7, 0.85]
    # the same from the per-network means
    per = network_landscapes(store)
    assert per.counts.values.tolist() == [[True, True, False], [True, False, False], [True, False, False]]
    np.testing.assert_allclose(per.values[2, 0], land[2, 0].mean(axis=0), rtol=1e-14)
    assert np.isnan(per.values[2, 1]).all()


def test_averages_use_dim_names_not_positions(store):
    shuffled = store.assign(landscape=store.landscape.transpose("t", "layer", "subsample", "network", "level",
                                                                "snapshot"))
    xr.testing.assert_allclose(average_landscapes(shuffled), average_landscapes(store))


def test_a_store_without_subsample_dim_is_one_subsample(store):
    one = store.isel(subsample=0)  # drops the dim, as a store written before it existed
    assert "subsample" not in one.landscape.dims
    np.testing.assert_allclose(average_landscapes(one).values[0], store.landscape.values[:, 0, 0].mean(axis=0),
                               rtol=1e-14)
    assert landscape_results(one).landscape.dims == ("network", "snapshot", "subsample", "layer", "level", "t")


def test_complexity_norm_of_mean_and_mean_of_norms(store, kit):
    mean = average_landscapes(store).values
    direct = np.sqrt(kit.trapezoid_sq(mean, STEP).sum(axis=-1))  # (snapshot, layer): levels summed
    comp = topological_complexity(store)
    assert comp.dims == ("snapshot", "layer") and comp.attrs["statistic"] == "norm_of_mean"
    np.testing.assert_allclose(comp.values[:2], direct[:2], rtol=1e-12)
    assert np.isnan(comp.values[2]).all()
    norms = store.landscape_norm.values
    mon = topological_complexity(store, statistic="mean_of_norms")
    np.testing.assert_allclose(mon.values[0], norms[:, 0].mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(mon.values[1], norms[0, 1].mean(axis=0), rtol=1e-12)
    assert (comp.values[:2] <= mon.values[:2] + 1e-12).all()  # the norm is convex
    with pytest.raises(ValueError, match="statistic must be one of"):
        topological_complexity(store, statistic="max")


def _table_store(kit, shift: float, n: int = 6, seed: int = 0) -> xr.Dataset:
    """Two thresholds, n networks, 2 subsamples: threshold 1 is threshold 0 plus ``shift``."""
    rng = np.random.default_rng(seed)
    land = rng.uniform(0.0, 1.0, size=(n, 2, 2, 3, 2, 5))
    land[:, 1] = land[:, 0] + shift
    return kit.hand_store(land, np.ones((n, 2), bool), [0.6, 0.9], grid=(0.0, 1.0, STEP))


def test_table1_statistic_equals_eq1_distance_between_the_average_landscapes(store, kit):
    t = table1(store, n_permutations=199, seed=0)
    land = store.landscape.values
    a = land[:, 0].mean(axis=1)  # each network's mean over subsamples, threshold 0: all three
    b = land[[0], 1].mean(axis=1)  # threshold 1: network 0 only
    direct = np.sqrt(kit.trapezoid_sq(a.mean(axis=0) - b.mean(axis=0), STEP).sum())  # levels and layers summed
    assert t.statistic.values[0, 1] == pytest.approx(direct, rel=1e-9)
    assert (t.n_a.values[0, 1], t.n_b.values[0, 1]) == (3, 1)
    assert 1 / 200 <= t.pvalue.values[0, 1] <= 1.0
    assert np.isnan(t.statistic.values[1, 0]) and np.isnan(t.statistic.values[0, 0])
    assert np.isnan(t.statistic.values[0, 2]) and t.n_b.values[0, 2] == 0  # no network reached 0.85


def test_pvalues_identical_groups_one_very_different_groups_small(kit):
    same = table1(_table_store(kit, 0.0), n_permutations=999, seed=1)
    assert same.statistic.values[0, 1] == pytest.approx(0.0, abs=1e-12)
    assert same.pvalue.values[0, 1] == 1.0
    far = table1(_table_store(kit, 5.0), n_permutations=999, seed=1)
    assert far.statistic.values[0, 1] == pytest.approx(5.0 * np.sqrt(3 * 2 * 1.0), rel=1e-9)  # 3 layers, 2 levels
    # only the observed split (and its mirror) of C(12, 6) = 924 is as extreme
    assert far.pvalue.values[0, 1] < 0.02


def test_networks_that_never_reached_are_listed_in_table_csv_and_markdown(store):
    t = table1(store, n_permutations=99, seed=0)
    assert t.n_networks.values.tolist() == [3, 1, 0]
    assert t.missing.values.tolist() == ["", "2", "0,1,2"]
    assert t.not_computed.values.tolist() == ["", "1", ""]
    rows = list(csv.DictReader(io.StringIO(table1_csv(t))))
    assert [(r["snapshot_a"], r["snapshot_b"]) for r in rows] == [("0", "1"), ("0", "2"), ("1", "2")]
    assert rows[1]["missing_b"] == "0,1,2" and rows[0]["not_computed_b"] == "1" and rows[0]["missing_b"] == "2"
    assert float(rows[0]["statistic"]) == t.statistic.values[0, 1] and rows[1]["statistic"] == "nan"
    md = table1_markdown(t)
    assert "| training threshold | 0.55 | 0.7 | 0.85 |" in md
    assert f"| 0.7 | {t.pvalue.values[0, 1]:.5f} | · | · |" in md  # the paper's lower triangle
    assert "threshold 0.85: networks 0, 1, 2 did not reach it (3 of 3)" in md
    assert "threshold 0.7: networks 2 did not reach it (1 of 3)" in md
    assert "threshold 0.7: networks 1 reached it but have no landscape stored yet" in md
    with pytest.raises(TypeError, match="table must be"):
        table1_markdown({"pvalue": 1})


def test_table1_is_seeded_and_checks_its_arguments(store):
    a = table1(store, n_permutations=99, seed=3)
    b = table1(store, n_permutations=99, seed=3)
    np.testing.assert_array_equal(a.pvalue.values, b.pvalue.values)
    with pytest.raises(ValueError, match="n_permutations"):
        table1(store, n_permutations=0)
    with pytest.raises(ValueError, match=r"snapshots\[0\]"):
        table1(store, snapshots=[7])
    with pytest.raises(ValueError, match="repeats"):
        table1(store, snapshots=[0, 0])
    sub = table1(store, snapshots=[1, 0], n_permutations=99, seed=0)
    assert sub.threshold.values.tolist() == [0.7, 0.55] and sub.n_a.values[0, 1] == 1
    _, als = stored_activation_landscapes(store)
    assert len(als) == 3 and [r is None for r in als[1]] == [False, True, True]


def test_store_argument_errors(tmp_path, store):
    with pytest.raises(TypeError, match="store must be a sweep folder"):
        average_landscapes(3)
    with pytest.raises(FileNotFoundError, match="store: no sweep results"):
        average_landscapes(tmp_path / "nothing")
    (tmp_path / "junk" / "results.zarr").mkdir(parents=True)
    (tmp_path / "junk" / "results.zarr" / ".zmetadata").write_text("not json")
    with pytest.raises(ValueError, match="store: .* holds no readable sweep results"):
        average_landscapes(tmp_path / "junk")
    with pytest.raises(ValueError, match="has no landscape, landscape_norm"):
        average_landscapes(store.drop_vars(["landscape", "landscape_norm"]))


def test_landscape_curves_preserve_distances_of_rank_two_landscapes(kit):
    """Mean landscapes in a 2-D affine plane: the 2-D PCA is an isometry of the L2 landscape metric."""
    rng = np.random.default_rng(3)
    f, g = rng.uniform(0, 1, size=(2, 2, 5))  # two fixed (level, t) functions
    coef = rng.uniform(0, 1, size=(4, 3, 2, 3, 2))  # (network, snapshot, subsample, layer, 2)
    land = coef[..., 0, None, None] * f + coef[..., 1, None, None] * g
    reached = np.ones((4, 3), bool)
    reached[:, 2] = False
    ds = kit.hand_store(land, reached, [0.5, 0.75, 1.0], grid=(0.0, 1.0, STEP))
    curves = landscape_curves(ds)
    assert curves.dims == ("snapshot", "layer", "component") and curves.component.values.tolist() == [1, 2]
    assert np.isnan(curves.values[2]).all()
    assert sum(curves.attrs["explained_variance_ratio"]) == pytest.approx(1.0, abs=1e-9)
    mean = average_landscapes(ds).values[:2].reshape(6, 2, 5)  # (snapshot x layer, level, t)
    pts = curves.values[:2].reshape(6, 2)
    for i in range(6):
        for j in range(6):
            d = np.sqrt(kit.trapezoid_sq(mean[i] - mean[j], STEP).sum())
            assert np.linalg.norm(pts[i] - pts[j]) == pytest.approx(d, rel=1e-7, abs=1e-12)


def test_statistics_read_a_real_sweep_folder(al_sweep):
    ds = open_results(al_sweep)
    reached = ds.snapshot_reached.values
    mean = average_landscapes(al_sweep)
    land = ds.landscape.values
    for s in range(ds.sizes["snapshot"]):
        if reached[:, s].any():
            ref = land[reached[:, s], s]
            ref = ref.reshape((-1,) + ref.shape[-3:])  # networks (x subsamples) pooled
            np.testing.assert_allclose(mean.values[s], ref.mean(axis=0), rtol=1e-12)
    t = table1(al_sweep, n_permutations=99, seed=0)
    assert t.n_networks.values.tolist() == reached.sum(axis=0).tolist()


@pytest.mark.parametrize("every, ratio", [(None, 8.0), (6, 4.0)])
def test_nine_disk_input_layer_h1_landscape_shows_nine_holes(every, ratio):
    """The input layer does not depend on training: its H1 landscape, on the demo config's batch
    (and on a sparser sublattice), has nine dominant levels, one per hole of the nine disks."""
    import dataclasses

    from nntopo.data import sublattice
    from nntopo.landscapes import ActivationLandscape, layer_diagrams
    from nntopo.sweep import load_config
    from nntopo.sweep.data import load_dataset

    cfg = load_config("demo")
    s = cfg.analysis("landscapes")
    batch = cfg.data.batches[0]
    if every is not None:
        batch = dataclasses.replace(batch, every=every)
    dataset = load_dataset(cfg.data)
    X = sublattice(dataset.subset(dataset.y == batch.label), every=batch.every).X
    dgm = layer_diagrams({"input": X}, homology=s.homology, maxdim=s.hom_dim)["input"][s.hom_dim]
    al = ActivationLandscape.from_diagrams([dgm], s.grid, 10, hom_dim=s.hom_dim, layer_names=["input"])
    heights = al.layers[0].values.max(axis=1)  # the top of each level lambda_1..lambda_10
    assert heights[8] > ratio * heights[9], heights
    bars = np.sort(dgm[:, 1] - dgm[:, 0])[::-1]
    assert bars[8] > ratio * bars[9], bars[:11]


def test_final_and_epoch_snapshots_are_labelled_by_what_they_are(kit):
    # the paper's last Table I column is the last epoch trained (policy "final", no threshold)
    rng = np.random.default_rng(3)
    land = rng.random((2, 3, 1, 1, 1, 5))
    ds = kit.hand_store(land, np.ones((2, 3), bool), [0.5, np.nan, np.nan], grid=(0.0, 1.0, 0.25),
                        policies=["accuracy_threshold", "every_k", "final"])
    assert list(average_landscapes(ds)["label"].values) == ["0.5", "epoch 10", "final"]
    md = table1_markdown(table1(ds, n_permutations=10, seed=0))
    assert "| training threshold | 0.5 | epoch 10 | final |" in md
