"""Stores for the activation-landscapes study's tests: built by hand (exact values) or by a tiny sweep."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "nntopo" / "configs"

DIMS = ("network", "snapshot", "subsample", "layer", "level", "t")


def trapezoid_sq(d: np.ndarray, step: float) -> np.ndarray:
    """Squared L2 norm over the last axis (t) by the trapezoid rule on a regular grid of spacing ``step``."""
    w = np.full(d.shape[-1], step)
    w[0] = w[-1] = step / 2
    return np.sum(d * d * w, axis=-1)


def hand_store(landscape: np.ndarray, reached: np.ndarray, thresholds=None, *, grid=(0.0, 1.0, 0.25),
               layers=None, policies=None) -> xr.Dataset:
    """An ``xarray.Dataset`` with the variables, dims and attrs ``open_results`` gives for a sweep
    with the landscapes analysis: ``landscape (network, snapshot, subsample, layer, level, t)``."""
    n, s, k, n_layers, n_levels, n_t = landscape.shape
    t = np.linspace(grid[0], grid[1], n_t)
    assert np.isclose(t[1] - t[0], grid[2])
    layers = [f"layer{i}" for i in range(n_layers)] if layers is None else layers
    thresholds = np.linspace(0.5, 1.0, s) if thresholds is None else np.asarray(thresholds, float)
    policies = ["accuracy_threshold"] * s if policies is None else policies
    attrs = {"hom_dim": 1, "homology": "plain", "grid": list(grid), "batch": "c2", "keep_infinite": 0,
             "units": "normalized distance (diameter 1 for plain)", "analysis": "landscapes"}
    norms = np.sqrt(trapezoid_sq(landscape, grid[2]).sum(axis=-1))  # (n, s, k, layer)
    reached = np.asarray(reached, bool)
    dims2 = ("network", "snapshot")
    return xr.Dataset(
        {"landscape": (DIMS, landscape, attrs),
         "landscape_norm": (DIMS[:4], norms, {**attrs, "p": 2}),
         "snapshot_reached": (dims2, reached),
         "snapshot_epoch": (dims2, np.where(reached, 3, -1).astype(np.int64)),
         "snapshot_train_acc": (dims2, np.where(reached, 0.9, np.nan)),
         "snapshot_checkpoint": (dims2, np.where(reached, "networks/none", ""))},
        coords={"network": np.arange(n), "snapshot": np.arange(s), "subsample": np.arange(k),
                "layer": np.array(layers), "level": np.arange(1, n_levels + 1), "t": t,
                "seed": ("network", np.arange(n)), "snapshot_policy": ("snapshot", np.array(policies)),
                "snapshot_threshold": ("snapshot", thresholds),
                "snapshot_requested_epoch": ("snapshot", np.where(np.array(policies) == "accuracy_threshold", -1,
                                                                  10 * np.arange(s)))},
        attrs={"config": json.dumps({"name": "hand"}), "format": "nntopo-sweep/1"},
    )


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above for the test modules (tests are imported in importlib mode, not as a package)."""
    return SimpleNamespace(hand_store=hand_store, trapezoid_sq=trapezoid_sq)


@pytest.fixture(scope="session")
def al_sweep(tmp_path_factory) -> Path:
    """A real sweep folder (checkpoints, sweep.json, store) of the demo's shape, tiny: 3 networks,
    thresholds 0.3, 0.5, 1.0 (the last reached by none in 3 epochs)."""
    from nntopo.sweep import run_sweep
    from nntopo.sweep.config import parse_config

    with open(CONFIGS / "demo.toml", "rb") as fh:
        raw = copy.deepcopy(tomllib.load(fh))
    raw["network"]["widths"] = [2, 6, 6, 2]
    raw["training"].update(seeds=[0, 1, 2], epochs=3)
    raw["training"]["snapshots"] = {"thresholds": [0.3, 0.5, 1.0]}
    raw["data"]["batches"]["c2"]["every"] = 10
    raw["analysis"]["landscapes"].update(levels=2, grid=[0.0, 1.0, 0.01])
    del raw["analysis"]["polyhedral"]
    out = tmp_path_factory.mktemp("al") / "run"
    run_sweep(parse_config(raw), out, workers=1)
    return out
