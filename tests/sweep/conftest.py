"""Shared sweep configs for the tests: tiny enough for seconds."""

from pathlib import Path

import pytest

TINY_TOML = """\
name = "tiny"

[data]
dataset = "nine_disks"

[data.batches.c2]
label = 1
every = 10

[network]
widths = [2, 8, 8, 2]

[training]
seeds = [0, 1]
epochs = 3
lr = 3e-3

[training.snapshots]
thresholds = [0.5, 0.9]
every = 2

[analysis.landscapes]
grid = [0.0, 1.0, 0.05]
levels = 2

[analysis.polyhedral]
box = [-70, 70]
"""


@pytest.fixture
def tiny_toml(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


@pytest.fixture(scope="session")
def tiny_text() -> str:
    return TINY_TOML
