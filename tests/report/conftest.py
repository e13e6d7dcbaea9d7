"""Two tiny sweeps for the report tests: one with all four analyses on the same snapshots,
one with the landscapes alone."""

import pytest

from nntopo.sweep import parse_config, run_sweep

# nine disks, a [2, 8, 8, 2] MLP, three seeds; snapshots at two accuracy thresholds (the
# second out of reach in 6 epochs) and every 2 epochs (4 snapshots: the training-topology
# series and Table 2 need them); the three complex analyses on the same box, so they
# describe the same complex.
FULL = {
    "name": "tiny-report",
    "data": {"dataset": "nine_disks", "batches": {"c2": {"label": 1, "every": 10}}},
    "network": {"widths": [2, 8, 8, 2]},
    "training": {"seeds": [0, 1, 2], "epochs": 6, "lr": 3e-3,
                 "snapshots": {"thresholds": [0.5, 0.999], "every": 2}},
    "analysis": {
        "landscapes": {"grid": [0.0, 1.0, 0.05], "levels": 2},
        "polyhedral": {"box": [-70.0, 70.0]},
        "fiedler": {"box": [-70.0, 70.0]},
        "betti": {"box": [-70.0, 70.0], "n_trials": 4, "grid": 21},
    },
}


def _config(**changes):
    import copy

    raw = copy.deepcopy(FULL)
    raw.update(changes)
    return parse_config(raw, source="tests/report")


@pytest.fixture(scope="session")
def full_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "full"
    run_sweep(_config(), out, workers=1)
    return out


@pytest.fixture(scope="session")
def landscapes_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "landscapes"
    training = {**FULL["training"], "seeds": [0, 1], "epochs": 2, "snapshots": {"thresholds": [0.5, 0.8]}}
    run_sweep(_config(name="tiny-landscapes", training=training,
                      analysis={"landscapes": FULL["analysis"]["landscapes"]}), out, workers=1)
    return out
