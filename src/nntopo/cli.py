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
from dataclasses import replace
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
        help="Folder for results and figures. It must be new, empty, or a folder of an earlier demo run of the "
             "same config holding only the demo's files (it is then replaced); anything else is refused.",
    ),
    seed: Optional[int] = typer.Option(
        None, help="Seed (int >= 0) of the network initialisation, split and shuffling; overrides the config's "
                   "seed. Default: 0, or the config file's seed.",
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", "-c",
        help="TOML file of demo settings (keys of nntopo.experiments.demo.DemoConfig: widths, seed, epochs, lr, "
             "batch_size, thresholds, batch_every, hom_dim, grid, n_levels); missing keys keep the defaults.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or log lines."),
) -> None:
    """Run the small end-to-end job on the embedded nine-disk set and write results to OUT.

    Trains the paper's 11-layer width-15 MLP with snapshots at training-accuracy
    thresholds; at each snapshot computes the H1 activation landscapes of every layer and
    the exact polyhedral complex of the network.

    The run is written to a temporary folder .OUT.partial-PID next to OUT and moved into
    place when complete: an interrupted run leaves OUT as it was.
    """
    from .experiments.demo import DemoConfig, check_demo, load_demo_config, run_demo

    try:
        cfg = DemoConfig() if config is None else load_demo_config(config)
        if seed is not None:
            cfg = replace(cfg, seed=seed)
        target = check_demo(out, cfg)
    except _ARGUMENT_ERRORS as exc:
        raise _usage_error(exc) from None

    _setup_logging(quiet)
    try:
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        summary = run_demo(target, cfg, progress=not quiet)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _print_summary(summary, target)


def _print_summary(summary: dict, target: Path) -> None:
    final = summary["final"]
    typer.echo(f"trained {summary['epochs_trained']} epochs: train acc {final['train_acc']:.4f}, "
               f"test acc {final['test_acc']:.4f}")
    complexes = {c["threshold"]: c for c in summary["complexes"]}
    for row in summary["snapshots"]:
        if not row["reached"]:
            typer.echo(f"  train acc >= {row['threshold']:g}: not reached")
            continue
        cx = complexes[row["threshold"]]
        norms = summary["landscape_norms"][f"{row['threshold']:g}"]
        typer.echo(f"  train acc >= {row['threshold']:g}: epoch {row['epoch']:3d}, "
                   f"{cx['f_vector'][-1]} regions (f = {cx['f_vector']}, Euler {cx['euler_characteristic']}), "
                   f"H{summary['config']['hom_dim']} landscape norm input {norms[0]:.4f} -> last hidden {norms[-2]:.4f}")
    typer.echo(f"results and figures in {target}")


@app.command()
def version() -> None:
    """Print the nntopo version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
