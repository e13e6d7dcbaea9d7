"""The ``nntopo`` command: a thin layer over the library's public functions.

Argument errors the library reports clearly (TypeError, ValueError, FileNotFoundError,
FileExistsError raised while the arguments are checked, before any work) end in one
``Error: ...`` line and exit status 2, typer's convention for usage errors. Errors raised
later, during the work itself, keep their traceback: they are bugs or system failures,
and a one-line message would hide where they come from.
"""

from __future__ import annotations

import logging
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from . import __version__

app = typer.Typer(help="nntopo: measure the topology of ReLU neural networks.", no_args_is_help=True,
                  add_completion=False)

_ARGUMENT_ERRORS = (TypeError, ValueError, FileNotFoundError, FileExistsError)


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr)


def _usage_error(exc: Exception) -> typer.Exit:
    typer.echo("Error: " + " ".join(str(exc).split()), err=True)
    return typer.Exit(2)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # SystemExit unwinds through run_demo's clean-up, so `timeout` or `kill` leaves no
    # half-written folder behind (SIGKILL cannot be caught: the next run cleans up).
    raise SystemExit(128 + signum)


@app.command()
def demo(
    out: Path = typer.Option(
        Path("nntopo-demo"), "--out", "-o",
        help="Folder for results and figures. It must be new, empty, or the folder of an earlier demo run of the "
             "same config (it is then resumed: nothing finished is recomputed, figures are redrawn); anything "
             "else is refused.",
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", "-c",
        help="Sweep config (TOML) to run instead of the packaged configs/demo.toml; it needs the landscapes and "
             "polyhedral analyses for all figures.",
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", help="Worker processes (default: one per core; 1 runs in this process)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or log lines."),
) -> None:
    """Run the demo sweep (nntopo run configs/demo.toml) and draw its figures from the store.

    Trains the activation-landscapes paper's 11-layer width-15 MLP on the nine-disk set
    from four seeds with snapshots at training-accuracy thresholds; at each snapshot
    computes the H1 activation landscapes of every layer and the exact polyhedral complex
    with its Fiedler partition and Betti curves. Figures (averaged over the networks) go to
    OUT/figures, and the HTML report (nntopo report) to OUT/report.html.
    """
    from .experiments.demo import check_demo, run_demo

    try:
        target = check_demo(out, config, workers)
    except _ARGUMENT_ERRORS as exc:
        raise _usage_error(exc) from None

    _setup_logging(quiet)
    with _sigterm_exits():
        summary = run_demo(target, config, workers=workers, progress=not quiet)
    _print_summary(summary, target)


def _print_summary(summary: dict, target: Path) -> None:
    nets = summary["networks"]
    typer.echo(f"trained {len(nets)} networks: " + "; ".join(
        f"seed {n['seed']} {n['epochs']} epochs, train acc {n['train_acc']:.4f}, test acc {n['test_acc']:.4f}"
        for n in nets))
    for row in summary["snapshots"]:
        if not row["networks_reached"]:
            typer.echo(f"  {row['snapshot']}: not reached")
            continue
        line = (f"  {row['snapshot']}: {row['networks_reached']}/{len(nets)} networks, "
                f"mean epoch {row['mean_epoch']:.1f}")
        if "mean_f_vector" in row:
            f = row["mean_f_vector"]
            line += f", mean regions {f[-1]:.1f} (Euler {', '.join(map(str, row['euler_characteristics']))})"
        if "mean_landscape_norm" in row:
            norms = list(row["mean_landscape_norm"].values())
            last_hidden = norms[-2] if len(norms) > 1 else norms[0]
            line += f", mean landscape norm input {norms[0]:.4f} -> last hidden {last_hidden:.4f}"
        typer.echo(line)
    typer.echo(f"results in {target / 'results.zarr'}, figures in {target / 'figures'}")
    if "report" in summary:
        typer.echo(f"report: {target / summary['report']} (open it in a browser)")


@contextmanager
def _sigterm_exits():
    try:
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _print_plan(plan, config_path: str) -> None:
    cfg = plan.config
    typer.echo(f"sweep {cfg.name} ({config_path}): {cfg.n_networks} networks x {len(cfg.snapshots)} snapshots, "
               f"analyses {', '.join(name for name, _ in cfg.analyses)}")
    typer.echo("jobs:")
    for kind, n in plan.jobs.items():
        note = "" if kind == cfg.network_job else " (at most: one per reached snapshot)"
        typer.echo(f"  {kind:<12} {n:>7}{note}")
    typer.echo(f"calibration on this machine ({plan.calibration_seconds:.1f} s): "
               + (f"{plan.epoch_seconds:.3f} s per training epoch, " if cfg.training is not None
                  else f"{plan.epoch_seconds:.3f} s per network loaded, ")
               + ", ".join(f"{k} {v:.2f} s per job" for k, v in plan.analysis_seconds.items()))
    typer.echo(f"one network (all epochs, every snapshot): about {_duration(plan.network_seconds)}")
    typer.echo(f"estimated wall time on {plan.workers} worker process{'es' if plan.workers > 1 else ''}: about "
               f"{_duration(plan.estimate_seconds)} (an upper bound for training, which stops at "
               "stop_at_accuracy; complexes grow during training, so late snapshots may cost more)")
    typer.echo(f"peak memory per worker: about {plan.peak_memory_bytes / 2**20:.0f} MiB")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@app.command()
def run(
    config: Path = typer.Argument(..., help="Sweep config (TOML). configs/demo.toml and "
                                            "configs/nine_disks_paper.toml are shipped with nntopo and found "
                                            "from any folder."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o",
        help="Output folder: new, empty, or a folder of an earlier run of the same config (it is resumed: only "
             "unfinished pieces run). Anything else is refused and left untouched. Required unless --plan.",
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", help="Worker processes on this machine (joblib; default: one per core; 1 runs in "
                                      "this process). With --scheduler local: the LocalCluster's size."),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="Dask scheduler address (tcp://HOST:8786), or 'local' for a LocalCluster on "
                                  "127.0.0.1. Needs nntopo[dask]. The output folder must be on a filesystem "
                                  "every worker sees."),
    plan: bool = typer.Option(False, "--plan", help="Print the jobs per kind, a time estimate from a short "
                                                    "calibration run and the peak memory per worker; run nothing."),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", help="Folder of the data files of a dataset read from files (mnist: the IDX files); "
                                 "replaces [data.params] directory of CONFIG. Nothing is downloaded."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or log lines."),
) -> None:
    """Run a sweep: train (or load) every network of CONFIG, analyse every snapshot, write OUT/results.zarr.

    Each finished piece is marked in OUT, so running the same command again resumes a
    killed or interrupted run where it stopped.
    """
    from .sweep import check_sweep, load_config, plan_sweep, run_sweep

    try:
        cfg = load_config(config, data_dir=data_dir)
        if plan:
            if scheduler is not None:
                raise ValueError("--plan estimates for this machine; use --workers N to size it")
            from ._validation import check_int

            if workers is not None:
                check_int(workers, "workers", minimum=1)
        else:
            if out is None:
                raise ValueError("--out is required: the folder for the results")
            cfg, target, resuming = check_sweep(cfg, out, workers=workers, scheduler=scheduler)
    except _ARGUMENT_ERRORS as exc:
        raise _usage_error(exc) from None
    _setup_logging(quiet)
    if plan:
        _print_plan(plan_sweep(cfg, workers=workers), str(config))
        return
    with _sigterm_exits():
        summary = run_sweep(cfg, target, workers=workers, scheduler=scheduler, progress=not quiet)
    _print_run(summary)


def _print_run(summary) -> None:
    ran = ", ".join(f"{k} {v}" for k, v in summary.ran.items()) or "nothing (all pieces were done)"
    typer.echo(f"ran {ran} on {summary.executor} in {_duration(summary.wall_seconds)}"
               + (f"; resumed, {sum(summary.skipped.values())} pieces were already done" if summary.resumed else ""))
    typer.echo(f"results in {summary.out / 'results.zarr'} (xarray: nntopo.sweep.open_results({str(summary.out)!r}))")


@app.command()
def figures(
    store: Path = typer.Argument(..., help="A sweep folder (what nntopo run --out wrote) with the landscapes "
                                           "analysis."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the PNG and table files (default "
                                                                 "STORE/figures; created)."),
    permutations: int = typer.Option(100_000, "--permutations", help="Random permutations of each Table I test "
                                                                     "(the paper's N = 100,000)."),
    snapshots: Optional[str] = typer.Option(None, "--snapshots", help="Table I's snapshots, comma-separated labels "
                                                                      "such as 0.55,0.7,0.85,final (default: every "
                                                                      "threshold and the final epoch)."),
) -> None:
    """Draw the activation-landscapes paper's Figures 1-4 and write its tables from a sweep's store.

    Figure 1: PCA of the activations of network 0 at its last reached snapshot; Figure 2:
    average landscapes (thresholds by layers); Figure 3: PCA landscape curves; Figure 4:
    topological complexity per layer. Figures the store does not allow are left out.
    Tables: complexity.csv (norms per layer and snapshot), Table I between the accuracy
    thresholds and the final epoch as table1.csv and table1.md.
    """
    from ._validation import check_int
    from .studies.activation_landscapes import check_figures, draw_figures, snapshots_by_label, write_tables

    try:
        check_figures(store, out)
        check_int(permutations, "--permutations", minimum=1)
        chosen = None if snapshots is None else snapshots_by_label(store, snapshots.split(","))
    except _ARGUMENT_ERRORS as exc:
        raise _usage_error(exc) from None
    paths = draw_figures(store, out)
    if not paths:
        typer.echo("no figure drawn: no network reached any snapshot yet", err=True)
    paths += write_tables(store, out, snapshots=chosen, n_permutations=permutations)
    for path in paths:
        typer.echo(str(path))


@app.command()
def report(
    store: Path = typer.Argument(..., help="A sweep folder: the --out of nntopo run or nntopo demo (finished or "
                                           "still running)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file to write (default STORE/report.html); "
                                                                 "its folder must exist."),
    permutations: int = typer.Option(10_000, "--permutations", help="Random permutations of each Table I test "
                                                                    "(activation landscapes; stated on the page)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No log lines."),
) -> None:
    """Write one self-contained HTML page about a sweep folder and print its path.

    Figures (embedded PNGs) and tables of every analysis the store holds, both views side
    by side with the correlation of landscape norms and region counts, the resolved config,
    the versions, the run time and the machine.
    """
    from ._validation import check_int
    from .report import build_report, check_report

    try:
        _, target = check_report(store, out)
        check_int(permutations, "permutations", minimum=1)
    except _ARGUMENT_ERRORS as exc:
        # build_report's arguments are named out (the folder) and path (the file): say STORE and --out here
        message = str(exc)
        for name, shown in (("out", "STORE"), ("path", "--out")):
            if message.startswith(f"{name}:") or message.startswith(f"{name} "):
                message = shown + message[len(name):]
        raise _usage_error(ValueError(message)) from None
    _setup_logging(quiet)
    path = build_report(store, target, n_permutations=permutations)
    typer.echo(f"report: {path}")


@app.command()
def version() -> None:
    """Print the nntopo version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
