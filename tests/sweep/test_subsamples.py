"""Input subsamples of a batch (``size`` / ``fraction`` with ``subsamples = K``): the draws and what the
landscapes analysis stores for each."""

import hashlib
import subprocess
import sys
import tomllib

import numpy as np
import pytest

from nntopo.data import nine_disks
from nntopo.landscapes import Grid, landscape, normalize_plain, rips_persistence
from nntopo.nets import MLP, capture, load_checkpoint
from nntopo.sweep import open_results, parse_config, run_sweep
from nntopo.sweep.config import BatchConfig
from nntopo.sweep.data import make_batch, sweep_data

SUBSAMPLED = """\
name = "subsampled"

[data]
dataset = "nine_disks"

[data.batches.c2]
label = 1
size = 60
subsamples = 3
seed = 5

[network]
widths = [2, 6, 6, 2]

[training]
seeds = [4]
epochs = 2
lr = 3e-3

[training.snapshots]
at_epochs = [0, 2]

[analysis.landscapes]
grid = [0.0, 1.0, 0.05]
levels = 3
"""


def _points(d) -> set:
    return {tuple(p) for p in d.point_data["lattice"].tolist()}


def _digest(batches) -> str:
    return hashlib.sha256(b"".join(b.X.tobytes() for b in batches)).hexdigest()


def test_subsamples_are_distinct_seeded_subsets_of_the_class():
    data = nine_disks()
    c2 = _points(data.subset(data.y == 1))
    batches = make_batch(data, BatchConfig("c2", label=1, size=500, seed=5, subsamples=4))
    assert len(batches) == 4
    sets = [_points(b) for b in batches]
    for b, s in zip(batches, sets):
        assert len(b) == 500 and len(s) == 500 and s <= c2 and (b.y == 1).all()
    assert len({frozenset(s) for s in sets}) == 4
    # the same draws on every call; asking for more subsamples keeps the first ones
    again = make_batch(data, BatchConfig("c2", label=1, size=500, seed=5, subsamples=4))
    assert _digest(again) == _digest(batches)
    more = make_batch(data, BatchConfig("c2", label=1, size=500, seed=5, subsamples=6))
    assert _digest(more[:4]) == _digest(batches)
    assert _points(make_batch(data, BatchConfig("c2", label=1, size=500, seed=6, subsamples=1))[0]) != sets[0]
    # fraction: round(f * n) points of the class per subsample
    by_fraction = make_batch(data, BatchConfig("c2", label=1, fraction=0.1, seed=0, subsamples=2))
    assert [len(b) for b in by_fraction] == [round(0.1 * len(c2))] * 2
    assert _points(by_fraction[0]) != _points(by_fraction[1])
    # every = K: one fixed subsample
    (fixed,) = make_batch(data, BatchConfig("c2", label=1, every=4))
    assert all(i % 4 == 0 and j % 4 == 0 for i, j in _points(fixed))


def test_subsamples_are_the_same_in_another_process():
    data = nine_disks()
    here = _digest(make_batch(data, BatchConfig("c2", label=1, size=300, seed=11, subsamples=3)))
    code = ("import hashlib; from nntopo.data import nine_disks; from nntopo.sweep.config import BatchConfig; "
            "from nntopo.sweep.data import make_batch; "
            "bs = make_batch(nine_disks(), BatchConfig('c2', label=1, size=300, seed=11, subsamples=3)); "
            "print(hashlib.sha256(b''.join(b.X.tobytes() for b in bs)).hexdigest())")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert there == here


@pytest.mark.parametrize("edit, key, expected", [
    (("size = 60", "size = 60\nevery = 4"), "data.batches.c2.size", "exactly one of every"),
    (("size = 60", "size = 60\nfraction = 0.1"), "data.batches.c2.size", "exactly one of every"),
    (("size = 60", "every = 4"), "data.batches.c2.subsamples", "needs a random draw"),
    (("size = 60", "size = 20000"), "data.batches.c2", "size = 20000 is more than the 9844 points of class 1"),
    (("size = 60", "size = 9844"), "data.batches.c2", "the subsamples would be identical"),
    (("size = 60", "size = 0"), "data.batches.c2.size", "must be >= 1"),
    (("subsamples = 3", "subsamples = 0"), "data.batches.c2.subsamples", "must be >= 1"),
    (("subsamples = 3", "subsamples = 2.0"), "data.batches.c2.subsamples", "must be an int"),
    (("size = 60", "size = 60\nlabel = 5"), "data.batches.c2", "not a class"),
])
def test_batch_errors_name_file_and_key(edit, key, expected):
    old, new = edit
    assert old in SUBSAMPLED
    text = SUBSAMPLED.replace(old, new, 1)
    if "label = 5" in new:
        text = text.replace("label = 1\n", "", 1)
    with pytest.raises(ValueError) as info:
        parse_config(tomllib.loads(text), "sub.toml")
    message = str(info.value)
    assert message.startswith(f"sub.toml: {key}:"), message
    assert expected in message, message


def test_stored_landscape_of_each_subsample_is_the_landscape_of_that_subset(tmp_path):
    toml = tmp_path / "sub.toml"
    toml.write_text(SUBSAMPLED)
    out = tmp_path / "run"
    run_sweep(toml, out, workers=1)
    ds = open_results(out).load()
    assert ds["landscape"].dims == ("network", "snapshot", "subsample", "layer", "level", "t")
    assert list(ds["subsample"].values) == [0, 1, 2]
    assert ds["snapshot_reached"].values.all()
    cfg = parse_config(tomllib.loads(SUBSAMPLED), "sub.toml")
    subsets = sweep_data(cfg).batches["c2"]
    grid = Grid(0.0, 1.0, 0.05)
    t = grid.points()
    for s in range(2):
        net = load_checkpoint(MLP([2, 6, 6, 2]), {"reached": True,
                                                  "checkpoint": str(ds["snapshot_checkpoint"].values[0, s])}, out)
        for k, subset in enumerate(subsets):
            for j, acts in enumerate(capture(net, subset.X).values()):
                diagram = rips_persistence(normalize_plain(acts), maxdim=1)[1]
                expected = landscape(diagram, grid, 3, hom_dim=1).padded(3)
                np.testing.assert_array_equal(ds["landscape"].values[0, s, k, j], expected)
                norm = np.sqrt(np.trapezoid((expected ** 2).sum(axis=0), t))
                np.testing.assert_allclose(ds["landscape_norm"].values[0, s, k, j], norm, rtol=1e-9)
    # the input layer sees three different point sets: three different landscapes
    inputs = ds["landscape"].values[0, 0, :, 0]
    assert not np.array_equal(inputs[0], inputs[1]) and not np.array_equal(inputs[1], inputs[2])
