"""Training curves."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes


def plot_training_curves(history: Sequence[dict], ax: Axes | None = None, snapshots: Sequence[dict] = ()) -> Axes:
    """Plot train/test accuracy per epoch (left axis) and train loss (right axis, log scale).

    ``history`` is :attr:`nntopo.nets.TrainResult.history`; reached ``snapshots`` rows are
    marked with dotted vertical lines labelled by their threshold.
    """
    if isinstance(history, (str, bytes, dict)) or not hasattr(history, "__len__"):
        raise TypeError(f"history must be a list of epoch records (dicts), got {type(history).__name__}")
    if len(history) == 0:
        raise ValueError("history is empty; it needs at least the epoch-0 record")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.array([r["epoch"] for r in history])
    for key, style in (("train_acc", "-"), ("test_acc", "--")):
        values = np.array([r[key] for r in history], dtype=float)
        if np.isfinite(values).any():
            ax.plot(epochs, values, style, label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    loss_ax = ax.twinx()
    loss_ax.semilogy(epochs, [r["train_loss"] for r in history], color="grey", alpha=0.6, label="train loss")
    loss_ax.set_ylabel("train loss")
    for row in snapshots:
        if row.get("reached") and row.get("threshold") is not None:
            ax.axvline(row["epoch"], color="k", ls=":", lw=0.8)
            ax.annotate(f"{row['threshold']:g}", (row["epoch"], 0.02), xycoords=("data", "axes fraction"),
                        fontsize=7, rotation=90)
    ax.legend(loc="center right", fontsize=8)
    return ax
