import json
import os
import re

import pytest
import typer
from typer.testing import CliRunner

from nntopo.cli import app
from nntopo.experiments import demo as demo_mod

runner = CliRunner()

TINY_TOML = """\
name = "tiny-demo"
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
[analysis.landscapes]
grid = [0.0, 1.0, 0.05]
levels = 2
[analysis.polyhedral]
box = [-70, 70]
"""


@pytest.fixture
def tiny_toml(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


def _one_error_line(result, *fragments: str) -> str:
    """The CLI's answer to a bad argument: exit 2, a single 'Error: ...' line, no traceback."""
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_help_on_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = list(typer.main.get_command(app).commands)
    assert {"demo", "run", "report", "version"} <= set(commands)
    for name in commands:
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output
    assert "same config" in " ".join(runner.invoke(app, ["demo", "--help"]).output.split())
    assert "resumed" in " ".join(runner.invoke(app, ["run", "--help"]).output.split())


def test_version():
    r = runner.invoke(app, ["version"])
    assert r.exit_code == 0 and r.output.strip()


def test_demo_prints_the_summary(tmp_path, tiny_toml):
    out = tmp_path / "run"
    r = runner.invoke(app, ["demo", "--out", str(out), "--config", str(tiny_toml), "--workers", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    nets = summary["networks"]
    assert lines[0] == "trained 2 networks: " + "; ".join(
        f"seed {n['seed']} {n['epochs']} epochs, train acc {n['train_acc']:.4f}, test acc {n['test_acc']:.4f}"
        for n in nets)
    rows = summary["snapshots"]
    assert len(lines) == len(rows) + 3
    for line, row in zip(lines[1:], rows):
        if not row["networks_reached"]:
            assert line == f"  {row['snapshot']}: not reached"
            continue
        m = re.fullmatch(r"  (acc ≥ \S+): (\d)/2 networks, mean epoch (\S+), mean regions (\S+) \(Euler 1\), "
                         r"mean landscape norm input (\S+) -> last hidden (\S+)", line)
        assert m, line
        assert m[1] == row["snapshot"] and int(m[2]) == row["networks_reached"]
        assert float(m[3]) == pytest.approx(row["mean_epoch"], abs=0.05)
        assert float(m[4]) == pytest.approx(row["mean_f_vector"][-1], abs=0.05)
        norms = list(row["mean_landscape_norm"].values())
        assert float(m[5]) == pytest.approx(norms[0], abs=5e-5) and float(m[6]) == pytest.approx(norms[-2], abs=5e-5)
    assert lines[-2] == f"results in {out.resolve() / 'results.zarr'}, figures in {out.resolve() / 'figures'}"
    assert lines[-1] == f"report: {out.resolve() / 'report.html'} (open it in a browser)"
    assert summary["report"] == "report.html" and (out / "report.html").stat().st_size > 10_000


def test_demo_argument_errors_are_one_line(tmp_path, tiny_toml):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("hello")
    _one_error_line(runner.invoke(app, ["demo", "--out", str(a_file)]), "a_file.txt", "not a folder")
    _one_error_line(runner.invoke(app, ["demo", "--out", str(a_file / "sub")]), "a_file.txt")
    new = tmp_path / "zero_workers"
    _one_error_line(runner.invoke(app, ["demo", "--out", str(new), "--workers", "0"]), "workers")
    assert not new.exists()  # checked before anything was created
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("my thesis")
    _one_error_line(runner.invoke(app, ["demo", "--out", str(foreign)]), "foreign")
    assert os.listdir(foreign) == ["thesis.tex"]
    _one_error_line(runner.invoke(app, ["demo", "--config", str(tmp_path / "none.toml")]), "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY_TOML + "epoch = 4\n")
    _one_error_line(runner.invoke(app, ["demo", "--config", str(bad)]), "bad.toml", "epoch", "unknown key")
    bad.write_text(TINY_TOML.replace("epochs = 3", 'epochs = "3"'))
    _one_error_line(runner.invoke(app, ["demo", "--config", str(bad)]), "bad.toml", "training.epochs: must be an int")
    assert sorted(os.listdir(tmp_path)) == ["a_file.txt", "bad.toml", "foreign", "tiny.toml"]


def test_demo_unwritable_out_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):  # root: permissions do not stop writes, a file in the path does
            blocker = tmp_path / "file.txt"
            blocker.write_text("x")
            target, named = blocker / "sub", "file.txt"
        else:
            target, named = locked / "sub", "not writable"
        _one_error_line(runner.invoke(app, ["demo", "--out", str(target)]), named)
        assert not os.path.lexists(target)
    finally:
        locked.chmod(0o755)


def test_demo_internal_errors_keep_their_traceback(tmp_path, tiny_toml, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("an internal bug, not a bad argument")

    monkeypatch.setattr(demo_mod, "draw_figures", broken)
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "run"), "--config", str(tiny_toml), "-w", "1", "-q"])
    assert r.exit_code == 1 and isinstance(r.exception, ValueError)  # raised, not turned into "Error: ..."


def test_demo_refuses_a_folder_of_another_config(tmp_path, tiny_toml):
    out = tmp_path / "run"
    assert runner.invoke(app, ["demo", "--out", str(out), "--config", str(tiny_toml), "-w", "1", "-q"]).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    other = tmp_path / "other.toml"
    other.write_text(TINY_TOML.replace("seeds = [0, 1]", "seeds = [0, 2]"))
    r = runner.invoke(app, ["demo", "--out", str(out), "--config", str(other), "-q"])
    _one_error_line(r, "different config", "training.seeds = [0, 1] there, [0, 2] here")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# --------------------------------------------------------------------------- nntopo run

# The demo's tiny config as a plain sweep, two epochs.
SWEEP_TOML = TINY_TOML.replace('name = "tiny-demo"', 'name = "tiny"').replace("epochs = 3", "epochs = 2")


@pytest.fixture
def sweep_toml(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP_TOML)
    return path


def test_run_then_resume_prints_what_ran(tmp_path, sweep_toml):
    from nntopo.sweep import open_results

    out = tmp_path / "run"
    r = runner.invoke(app, ["run", str(sweep_toml), "--out", str(out), "--workers", "1", "-q"])
    assert r.exit_code == 0, r.output
    ds = open_results(out)
    reached = int(ds["snapshot_reached"].values.sum())
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"ran train 2, landscapes {reached}, polyhedral {reached} on this process in ")
    assert lines[1] == (f"results in {out.resolve() / 'results.zarr'} "
                        f"(xarray: nntopo.sweep.open_results('{out.resolve()}'))")
    r = runner.invoke(app, ["run", str(sweep_toml), "--out", str(out), "-q"])
    assert r.exit_code == 0 and "ran nothing" in r.stdout and f"{2 + 2 * reached} pieces were already done" in r.stdout


def test_run_argument_errors_are_one_line(tmp_path, sweep_toml):
    _one_error_line(runner.invoke(app, ["run", str(sweep_toml)]), "--out is required")
    _one_error_line(runner.invoke(app, ["run", str(tmp_path / "none.toml"), "--out", str(tmp_path / "x")]), "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(SWEEP_TOML.replace("epochs = 2", "epochs = 2\nepoch = 3"))
    _one_error_line(runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "x")]), "bad.toml", "training.epoch",
                    "unknown key")
    _one_error_line(runner.invoke(app, ["run", str(sweep_toml), "--out", str(tmp_path / "x"), "--workers", "0"]),
                    "workers must be >= 1")
    _one_error_line(runner.invoke(app, ["run", str(sweep_toml), "--out", str(tmp_path / "x"), "--workers", "2",
                                        "--scheduler", "tcp://127.0.0.1:1"]), "give one of them")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    _one_error_line(runner.invoke(app, ["run", str(sweep_toml), "--out", str(foreign)]), "foreign", "holds no sweep")
    assert sorted(os.listdir(tmp_path)) == ["bad.toml", "foreign", "sweep.toml"]


def test_run_refuses_a_folder_of_another_config(tmp_path, sweep_toml):
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(sweep_toml), "--out", str(out), "-w", "1", "-q"]).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    other = tmp_path / "other.toml"
    other.write_text(SWEEP_TOML.replace("epochs = 2", "epochs = 4"))
    _one_error_line(runner.invoke(app, ["run", str(other), "--out", str(out), "-q"]), "different config",
                    "training.epochs = 2 there, 4 here")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_run_plan_counts_jobs_and_writes_nothing(tmp_path, sweep_toml):
    r = runner.invoke(app, ["run", str(sweep_toml), "--plan", "--workers", "2"])
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert "2 networks x 2 snapshots" in text
    assert re.search(r"^  train +2$", text, re.M) and re.search(r"^  landscapes +4 \(at most", text, re.M)
    assert re.search(r"estimated wall time on 2 worker processes: about \d+", text)
    m = re.search(r"peak memory per worker: about (\d+) MiB", text)
    assert m and 50 < int(m[1]) < 24_000
    assert sorted(os.listdir(tmp_path)) == ["sweep.toml"]
