"""The embedded end-to-end demo behind ``make demo`` / ``nntopo demo``."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data import nine_disks, train_test_split
from ..nets import MLP, AccuracyThresholds, TrainConfig, train

log = logging.getLogger("nntopo")


@dataclass(frozen=True)
class DemoConfig:
    """The demo's defaults: the paper's 11-layer width-15 MLP on the nine-disk set."""

    widths: tuple[int, ...] = (2,) + (15,) * 10 + (2,)
    seed: int = 0
    epochs: int = 150
    lr: float = 1e-3
    batch_size: int = 128
    thresholds: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.99, 1.0)
    train: dict = field(default_factory=dict)


def run_demo(out_dir: str | Path, config: DemoConfig = DemoConfig(), progress: bool = False) -> dict:
    """Train the demo network with threshold snapshots and write its results to ``out_dir``.

    Writes ``summary.json``, ``history.csv``, ``manifest.json`` with ``checkpoints/``, and
    ``training_curve.png``. Returns the summary dict.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import plot_training_curves

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = nine_disks()
    train_set, test_set = train_test_split(data, test_fraction=0.1, seed=config.seed)
    net = MLP(config.widths, seed=config.seed)
    result = train(
        net,
        train_set,
        test_set,
        TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size, seed=config.seed,
                    stop_at_accuracy=1.0, num_threads=1),
        snapshots=AccuracyThresholds(config.thresholds),
        out_dir=out,
        progress=progress,
    )
    with open(out / "history.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(result.history[0]))
        writer.writeheader()
        writer.writerows(result.history)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_training_curves(result.history, ax=ax, snapshots=result.snapshots)
    ax.set_title(f"nine disks, MLP {list(config.widths)}")
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=120)
    plt.close(fig)
    final = result.history[-1]
    summary = {
        "config": asdict(config),
        "dataset": {"name": "nine_disks", "n_points": len(data), "n_train": len(train_set), "n_test": len(test_set)},
        "epochs_trained": final["epoch"],
        "final": final,
        "snapshots": result.snapshots,
        "files": ["summary.json", "history.csv", "manifest.json", "checkpoints/", "training_curve.png"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
