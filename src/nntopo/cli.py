"""The ``nntopo`` command: a thin layer over the library's public functions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from . import __version__

app = typer.Typer(help="nntopo: measure the topology of ReLU neural networks.", no_args_is_help=True,
                  add_completion=False)


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr)


@app.command()
def demo(
    out: Path = typer.Option(Path("nntopo-demo"), "--out", "-o", help="Folder for results and figures."),
    seed: int = typer.Option(0, help="Seed of the network initialisation, split and shuffling."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or log lines."),
) -> None:
    """Run the small end-to-end job on the embedded nine-disk set and write results to OUT.

    Trains the paper's 11-layer width-15 MLP with snapshots at training-accuracy
    thresholds; at each snapshot computes the H1 activation landscapes of every layer and
    the exact polyhedral complex of the network.
    """
    from .experiments.demo import DemoConfig, run_demo

    _setup_logging(quiet)
    summary = run_demo(out, DemoConfig(seed=seed), progress=not quiet)
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
                   f"H1 landscape norm input {norms[0]:.4f} -> last hidden {norms[-2]:.4f}")
    typer.echo(f"results and figures in {out.resolve()}")


@app.command()
def version() -> None:
    """Print the nntopo version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
