"""Kills: the whole run (SIGKILL) and single worker processes; joblib and Dask give one store.

Slow (tens of seconds each): run with ``pytest -m slow tests/sweep``.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nntopo.sweep import open_results, run_sweep
from nntopo.sweep.executors import dask_available

pytestmark = pytest.mark.slow
DRIVER = Path(__file__).with_name("_driver.py")
needs_dask = pytest.mark.skipif(not dask_available(), reason="dask.distributed is not installed (pip install "
                                                               "'nntopo[dask]'; `make test` installs it)")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_text):
    """An uninterrupted run in this process: what every other way of running must reproduce."""
    root = tmp_path_factory.mktemp("reference")
    toml = root / "tiny.toml"
    toml.write_text(tiny_text)
    run_sweep(toml, root / "run", workers=1)
    return toml, root / "run"


def _same_store(a, b) -> bool:
    return open_results(a).load().identical(open_results(b).load())


def _marks(out: Path) -> set[tuple[str, int, int | None]]:
    found = set()
    for p in (out / "marks").glob("*/*.json"):
        parts = p.stem.replace("net", "").split("_snap")
        found.add((p.parent.name, int(parts[0]), int(parts[1]) if len(parts) > 1 else None))
    return found


def _started(calls: Path) -> list[tuple[str, int, int | None]]:
    out = []
    for line in calls.read_text().splitlines() if calls.exists() else []:
        word, kind, net, snap, _pid = line.split()
        if word == "START":
            out.append((kind, int(net), None if snap == "None" else int(snap)))
    return out


def _pids(calls: Path) -> set[int]:
    return {int(line.split()[-1]) for line in calls.read_text().splitlines()} if calls.exists() else set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _driver(toml, out, calls, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(DRIVER), str(toml), str(out), str(calls), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(reference, tmp_path):
    toml, ref = reference
    out, calls1, calls2 = tmp_path / "run", tmp_path / "calls1", tmp_path / "calls2"
    proc = _driver(toml, out, calls1, "--workers", "2", "--slow", "0.4")
    deadline = time.monotonic() + 120
    while len(_marks(out)) < 5:  # both networks trained and a few analyses done
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    # the workers notice that their parent is gone and exit; what they finished stays marked
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in _pids(calls1) - {proc.pid}):
        assert time.monotonic() < deadline, "worker processes outlived the killed run"
        time.sleep(0.1)
    done_before = _marks(out)
    every_piece = _marks(ref)
    assert 5 <= len(done_before) < len(every_piece)

    proc = _driver(toml, out, calls2, "--workers", "2")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    rerun = _started(calls2)
    assert not set(rerun) & done_before, "a finished piece ran again"
    assert sorted(rerun) == sorted(every_piece - done_before), "each unfinished piece ran exactly once"
    assert _marks(out) == every_piece
    assert _same_store(out, ref)


@pytest.mark.parametrize("how", ["joblib", pytest.param("dask", marks=needs_dask)])
def test_worker_killed_mid_task_is_rerun_and_the_store_is_complete(reference, tmp_path, how):
    toml, ref = reference
    out, calls, flag = tmp_path / "run", tmp_path / "calls", tmp_path / "killed"
    executor = ["--workers", "2"] if how == "joblib" else ["--scheduler", "local", "--workers", "2"]
    proc = _driver(toml, out, calls, *executor, "--kill-once", str(flag))
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert flag.exists()  # a worker did kill itself mid-job
    started = _started(calls)
    first = started[0]
    assert started.count(first) >= 2, "the killed job was not run again"
    assert _marks(out) == _marks(ref)
    assert _same_store(out, ref)


@needs_dask
def test_joblib_and_dask_local_cluster_give_identical_stores(reference, tmp_path):
    toml, ref = reference
    run_sweep(toml, tmp_path / "joblib", workers=2)
    run_sweep(toml, tmp_path / "dask", scheduler="local", workers=2)
    assert _same_store(tmp_path / "joblib", tmp_path / "dask")
    assert _same_store(tmp_path / "joblib", ref)
