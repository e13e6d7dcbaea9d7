"""Table I from a sweep's store: the statistic against a direct computation, unreached
thresholds listed, seeded p-values."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest

from nntopo.studies.activation_landscapes import stored_activation_landscapes, table1, table1_markdown
from nntopo.sweep import open_results, run_sweep
from nntopo.sweep.config import parse_config

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "nntopo" / "configs"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    with open(CONFIGS / "demo.toml", "rb") as fh:
        raw = copy.deepcopy(tomllib.load(fh))
    raw["network"]["widths"] = [2, 6, 6, 2]
    raw["training"].update(seeds=[0, 1, 2], epochs=3)
    raw["training"]["snapshots"] = {"thresholds": [0.3, 0.5, 1.0]}
    # two input subsamples of 60 class-C2 points: the test's unit is a network's mean over them
    raw["data"]["batches"]["c2"] = {"label": 1, "size": 60, "subsamples": 2}
    raw["analysis"]["landscapes"].update(levels=2, grid=[0.0, 1.0, 0.01])
    del raw["analysis"]["polyhedral"]
    out = tmp_path_factory.mktemp("al") / "run"
    run_sweep(parse_config(raw), out, workers=1)
    return out


def _trapezoid_sq(d: np.ndarray, step: float) -> float:
    """Squared L2 norm over t (trapezoid rule), summed over levels and layers."""
    w = np.full(d.shape[-1], step)
    w[0] = w[-1] = step / 2
    return float(np.sum(d * d * w))


def test_table1_statistic_equals_the_distance_between_mean_landscapes(sweep):
    ds = open_results(sweep)
    reached = ds.snapshot_epoch.values >= 0
    assert reached[:, 0].all() and reached[:, 1].sum() >= 1  # the test needs two populated thresholds
    t = table1(sweep, n_permutations=199, seed=0)
    assert ds.sizes["subsample"] == 2
    L = ds.landscape.values.mean(axis=2)  # each network's mean over its subsamples
    for i, j in ((0, 1),):
        a, b = L[reached[:, i], i], L[reached[:, j], j]
        direct = np.sqrt(_trapezoid_sq(a.mean(axis=0) - b.mean(axis=0), 0.01))
        assert t.statistic.values[i, j] == pytest.approx(direct, rel=1e-9)
        assert t.n_a.values[i, j] == a.shape[0] and t.n_b.values[i, j] == b.shape[0]
        assert 1 / 200 <= t.pvalue.values[i, j] <= 1.0
    assert np.isnan(t.statistic.values[1, 0])  # lower triangle left empty


def test_unreached_thresholds_are_listed_not_dropped(sweep):
    ds = open_results(sweep)
    t = table1(sweep, n_permutations=99, seed=0)
    reached = ds.snapshot_epoch.values >= 0
    for s in range(ds.sizes["snapshot"]):
        assert t.n_reached.values[s] == reached[:, s].sum()
        assert t.missing.values[s] == ",".join(str(n) for n in np.flatnonzero(~reached[:, s]))
    md = table1_markdown(t)
    assert md.count("\n| ") == 3  # three pairs of three thresholds
    if not reached[:, 2].all():
        assert "did not reach it" in md


def test_table1_is_seeded_and_checks_its_arguments(sweep):
    a = table1(sweep, n_permutations=99, seed=3)
    b = table1(sweep, n_permutations=99, seed=3)
    np.testing.assert_array_equal(a.pvalue.values, b.pvalue.values)
    with pytest.raises(ValueError, match="n_permutations"):
        table1(sweep, n_permutations=0)
    with pytest.raises(ValueError, match=r"snapshots\[0\]"):
        table1(sweep, snapshots=[7])
    _, als = stored_activation_landscapes(sweep)
    assert len(als) == 3 and all(len(row) == 3 for row in als)
