import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from nntopo.experiments import demo as demo_mod
from nntopo.experiments.demo import CONFIG_NAME, DemoConfig, check_demo, load_demo_config, run_demo

# A demo small enough for a few seconds: the folder rules do not depend on its size.
TINY = DemoConfig(widths=(2, 8, 8, 2), thresholds=(0.5, 0.9), epochs=3, lr=3e-3, batch_every=10, n_levels=2,
                  grid=(0.0, 1.0, 0.05))


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(target: Path) -> list[str]:
    return sorted(e for e in os.listdir(target.parent) if e.startswith(f".{target.name}."))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "run"
    summary = run_demo(out, TINY)
    return out, summary


@pytest.fixture
def old_run(tiny_run, tmp_path):
    """A fresh copy of a finished tiny run, and its bytes."""
    out = tmp_path / "run"
    shutil.copytree(tiny_run[0], out)
    return out, _snapshot(out)


def test_demo_end_to_end_small(tmp_path):
    cfg = DemoConfig(widths=(2, 10, 10, 10, 2), thresholds=(0.5, 0.9), epochs=40, lr=3e-3, batch_every=10,
                     n_levels=3, grid=(0.0, 1.0, 0.01))
    summary = run_demo(tmp_path / "run", cfg)
    out = tmp_path / "run"
    for name in summary["files"]:
        assert (out / name.rstrip("/")).exists(), name
    assert sorted(n.rstrip("/") for n in summary["files"]) == sorted(os.listdir(out))
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["epochs_trained"] == summary["epochs_trained"]
    assert DemoConfig.from_dict(json.loads((out / CONFIG_NAME).read_text())["config"]) == cfg
    reached = [r for r in summary["snapshots"] if r["reached"]]
    assert reached, "threshold 0.5 is met at the latest once training starts"
    ds = xr.open_zarr(out / "landscapes.zarr")
    assert ds["landscape"].dims == ("threshold", "layer", "level", "t")
    assert list(ds["layer"].values) == ["input", "relu1", "relu2", "relu3", "output"]
    assert ds.sizes["threshold"] == len(reached) and ds.sizes["t"] == 101
    values = ds["landscape"].values
    assert np.all(values >= 0) and np.all(np.diff(values, axis=2) <= 1e-12)  # levels ordered
    # the input layer does not depend on the network: the same at every threshold
    np.testing.assert_array_equal(values[0, 0], values[-1, 0])
    assert ds["norm"].shape == (len(reached), 5)
    assert all(c["euler_characteristic"] == 1 for c in summary["complexes"])
    rows = list((out / "complexes.csv").read_text().splitlines())
    assert rows[0] == "threshold,epoch,f0,f1,f2,euler_characteristic" and len(rows) == len(reached) + 1
    assert _leftovers(out) == []


def test_different_config_is_refused_and_old_files_stay(old_run):
    out, before = old_run
    with pytest.raises(FileExistsError, match=r"different config \(seed = 0 there, 1 here\)"):
        run_demo(out, replace(TINY, seed=1))
    assert _snapshot(out) == before
    assert _leftovers(out) == []


def test_same_config_replaces_the_whole_folder_with_the_umask(old_run):
    out, before = old_run
    # A checkpoint of another run mixed into the folder must not survive the replacement.
    stray = out / "checkpoints" / "net0_epoch00099.pt"
    stray.write_bytes(b"from another run")
    previous = os.umask(0o027)
    try:
        summary = run_demo(out, TINY)
    finally:
        os.umask(previous)
    assert not stray.exists()
    assert sorted(n.rstrip("/") for n in summary["files"]) == sorted(os.listdir(out))
    # same config and seed: the same results
    assert json.loads((out / "summary.json").read_text()) == json.loads(before["summary.json"])
    assert _leftovers(out) == []
    for p in [out, *out.rglob("*")]:
        mode = p.stat().st_mode & 0o777
        assert mode == (0o750 if p.is_dir() else 0o640), (p, oct(mode))


def test_run_failing_midway_leaves_old_folder_untouched(old_run, monkeypatch):
    out, before = old_run

    def broken(*args, **kwargs):
        raise RuntimeError("polyhedral step failed")

    monkeypatch.setattr(demo_mod, "_complexes", broken)
    with pytest.raises(RuntimeError, match="polyhedral step failed"):
        run_demo(out, TINY)
    assert _snapshot(out) == before
    assert _leftovers(out) == []


def test_failure_in_a_new_folder_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_mod, "_complexes", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_demo(tmp_path / "a" / "b" / "run", TINY)
    assert os.listdir(tmp_path) == []  # neither the run, its temporary folder, nor the parents made for it


def test_folder_with_other_files_is_refused(tmp_path, old_run):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("my thesis")
    with pytest.raises(FileExistsError, match="holds no demo run"):
        run_demo(foreign, TINY)
    assert _snapshot(foreign) == {"thesis.tex": b"my thesis"}
    # a demo folder of the same config with a user's file in it is not replaced either
    out, before = old_run
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="notes.txt"):
        run_demo(out, TINY)
    assert _snapshot(out) == {**before, "notes.txt": b"keep me"}


def test_bad_arguments_create_nothing(tmp_path):
    target = tmp_path / "new" / "run"
    with pytest.raises(ValueError, match="seed"):
        run_demo(target, DemoConfig(seed=-1))
    assert not (tmp_path / "new").exists()
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="a_file.txt exists and is not a folder"):
        run_demo(a_file, TINY)
    with pytest.raises(ValueError, match="a_file.txt is a file, not a folder"):
        run_demo(a_file / "sub", TINY)
    with pytest.raises(TypeError, match="out_dir"):
        run_demo(3, TINY)
    with pytest.raises(TypeError, match="config must be a DemoConfig"):
        run_demo(target, {"seed": 1})
    with pytest.raises(ValueError, match="batch_every"):
        check_demo(target, replace(TINY, batch_every=1000))
    assert sorted(os.listdir(tmp_path)) == ["a_file.txt"]


def test_no_threshold_reached_still_writes_a_consistent_folder(tmp_path):
    cfg = replace(TINY, thresholds=(1.0,), epochs=0)
    summary = run_demo(tmp_path / "run", cfg)
    assert summary["complexes"] == [] and summary["landscape_norms"] == {}
    assert [r["reached"] for r in summary["snapshots"]] == [False]
    assert sorted(n.rstrip("/") for n in summary["files"]) == sorted(os.listdir(tmp_path / "run"))
    assert "landscapes.zarr/" not in summary["files"]


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the demo did not start writing in time")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [pytest.param(signal.SIGKILL, id="SIGKILL"),
                                 pytest.param(signal.SIGTERM, id="SIGTERM", marks=pytest.mark.slow)])
def test_killed_run_leaves_old_results(old_run, tmp_path, sig):
    out, before = old_run
    cfg_file = tmp_path / "long.toml"
    # Same config as the folder's, but many epochs: it is killed while training.
    cfg = replace(TINY, epochs=10_000, thresholds=(0.5, 1.0))
    cfg_file.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in cfg.to_dict().items()))
    (out / CONFIG_NAME).write_text(json.dumps({"config": cfg.to_dict()}))
    before[CONFIG_NAME] = (out / CONFIG_NAME).read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "nntopo.cli", "demo", "--out", str(out), "--config",
                             str(cfg_file), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial = out.parent / f".{out.name}.partial-{proc.pid}"
    _wait_for(lambda: any((partial / "checkpoints").glob("*.pt")), 60, proc)
    proc.send_signal(sig)
    proc.wait(30)
    assert _snapshot(out) == before
    if sig == signal.SIGKILL:
        # nothing can run on SIGKILL: the temporary folder stays, clearly named, until the next run
        assert _leftovers(out) == [partial.name]
        demo_mod._clean_leftovers(out)
    else:
        assert proc.returncode == 128 + signal.SIGTERM
    assert _leftovers(out) == []
    assert _snapshot(out) == before


def test_interrupted_swap_is_restored(old_run):
    out, before = old_run
    # killed between the two renames of the final swap: the old run sits aside, no target
    aside = out.parent / f".{out.name}.old-999999999"
    os.rename(out, aside)
    demo_mod._clean_leftovers(out)
    assert _snapshot(out) == before and _leftovers(out) == []


# --------------------------------------------------------------------------- config


def test_config_checks_name_the_key():
    with pytest.raises(ValueError, match="seed must be >= 0"):
        DemoConfig(seed=-1)
    with pytest.raises(TypeError, match="epochs must be an int"):
        DemoConfig(epochs=2.0)
    with pytest.raises(ValueError, match="widths must start with 2"):
        DemoConfig(widths=(3, 8, 2))
    with pytest.raises(ValueError, match="at least one hidden layer"):
        DemoConfig(widths=(2, 2))
    with pytest.raises(TypeError, match=r"widths\[1\] must be an int"):
        DemoConfig(widths=(2, "8", 2))
    with pytest.raises(ValueError, match="strictly increasing"):
        DemoConfig(thresholds=(0.9, 0.5))
    with pytest.raises(ValueError, match=r"thresholds\[0\] must be <= 1"):
        DemoConfig(thresholds=(1.5,))
    with pytest.raises(ValueError, match="grid: step must divide"):
        DemoConfig(grid=(0.0, 1.0, 0.3))
    with pytest.raises(ValueError, match="grid must be"):
        DemoConfig(grid=(0.0, 1.0))
    with pytest.raises(ValueError, match="hom_dim must be <= 2"):
        DemoConfig(hom_dim=3)
    assert DemoConfig(widths=[2, 4, 2], grid=[0, 1, 0.5]) == DemoConfig(widths=(2, 4, 2), grid=(0.0, 1.0, 0.5))


def test_toml_config(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('widths = [2, 8, 8, 2]\nepochs = 5\ngrid = [0, 1, 0.05]\n')
    assert load_demo_config(good) == DemoConfig(widths=(2, 8, 8, 2), epochs=5, grid=(0.0, 1.0, 0.05))
    cases = {
        "epochs = 5\nepoch = 6\n": (ValueError, "unknown key 'epoch'"),
        'epochs = "5"\n': (TypeError, "epochs must be an int"),
        "lr = -1.0\n": (ValueError, "lr must be > 0"),
        "widths = 2\n": (TypeError, "widths must be a list"),
        "[demo]\nseed = 1\n": (ValueError, "unknown key 'demo'"),
        "seed = \n": (ValueError, "not valid TOML"),
    }
    for i, (text, (kind, message)) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.toml"
        path.write_text(text)
        with pytest.raises(kind, match=message) as info:
            load_demo_config(path)
        assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_demo_config(tmp_path / "missing.toml")


def test_folder_from_before_config_json_is_judged_by_its_summary(old_run):
    out, before = old_run
    (out / CONFIG_NAME).unlink()
    with pytest.raises(FileExistsError, match="different config"):
        run_demo(out, replace(TINY, seed=1))
    run_demo(out, TINY)
    assert (out / CONFIG_NAME).exists() and _leftovers(out) == []
