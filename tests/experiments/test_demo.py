import json

import numpy as np
import xarray as xr

from nntopo.experiments.demo import DemoConfig, run_demo


def test_demo_end_to_end_small(tmp_path):
    cfg = DemoConfig(widths=(2, 10, 10, 10, 2), thresholds=(0.5, 0.9), epochs=40, lr=3e-3, batch_every=10,
                     n_levels=3, grid=(0.0, 1.0, 0.01))
    summary = run_demo(tmp_path, cfg)
    for name in summary["files"]:
        assert (tmp_path / name.rstrip("/")).exists(), name
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["epochs_trained"] == summary["epochs_trained"]
    reached = [r for r in summary["snapshots"] if r["reached"]]
    assert reached, "threshold 0.5 is met at the latest once training starts"
    ds = xr.open_zarr(tmp_path / "landscapes.zarr")
    assert ds["landscape"].dims == ("threshold", "layer", "level", "t")
    assert list(ds["layer"].values) == ["input", "relu1", "relu2", "relu3", "output"]
    assert ds.sizes["threshold"] == len(reached) and ds.sizes["t"] == 101
    values = ds["landscape"].values
    assert np.all(values >= 0) and np.all(np.diff(values, axis=2) <= 1e-12)  # levels ordered
    # the input layer does not depend on the network: the same at every threshold
    np.testing.assert_array_equal(values[0, 0], values[-1, 0])
    assert ds["norm"].shape == (len(reached), 5)
    assert all(c["euler_characteristic"] == 1 for c in summary["complexes"])
    rows = list((tmp_path / "complexes.csv").read_text().splitlines())
    assert rows[0] == "threshold,epoch,f0,f1,f2,euler_characteristic" and len(rows) == len(reached) + 1
