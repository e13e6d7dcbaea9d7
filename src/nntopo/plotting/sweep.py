"""Figures of a sweep, drawn from its store (``nntopo.sweep.open_results``), averaged over networks.

Every plotting function takes the results ``ds`` (an ``xarray.Dataset``) and ``ax=`` and
returns the axes. Averages over networks use only the networks that reached the
snapshot. The activation-landscape figures (average landscapes, complexity per layer,
PCA curves) are the study's: :mod:`nntopo.studies.activation_landscapes`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

__all__ = ["mean_over_networks", "snapshot_labels", "plot_sweep_training", "save_figure"]


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save ``fig`` as ``path`` through a temporary name in the same folder and a rename,
    so a reader never sees half a file; return the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size)
    return ax


def _check_ds(ds: object, *names: str) -> None:
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be the xarray.Dataset of a sweep (nntopo.sweep.open_results), "
                        f"got {type(ds).__name__}")
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(f"ds has no {', '.join(missing)}; is it a sweep's results with the needed analysis?")


def mean_over_networks(ds, name: str) -> np.ndarray:
    """Mean of variable ``name`` (dims network, snapshot, ...) over the networks that reached
    each snapshot and, where ``name`` has a ``subsample`` dim, over all its subsamples.

    Every network has the same subsamples, so this is also the mean over networks of each
    network's mean over subsamples. Returns float64 of shape (snapshot, ...) without the
    ``subsample`` dim; NaN where no network reached the snapshot.
    """
    _check_ds(ds, name, "snapshot_reached")
    da = ds[name]
    if "subsample" in da.dims:
        da = da.mean("subsample", skipna=False)
    values = np.asarray(da.values, dtype=np.float64)
    reached = np.asarray(ds["snapshot_reached"].values, dtype=bool)
    mask = reached.reshape(reached.shape + (1,) * (values.ndim - 2))
    counts = reached.sum(axis=0)
    total = np.where(mask, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / counts.reshape(counts.shape + (1,) * (values.ndim - 2))
    mean[counts == 0] = np.nan
    return mean


def snapshot_labels(ds) -> list[str]:
    """One short label per snapshot: "acc ≥ 0.9", "epoch 10", "final" (the last epoch
    trained), "loaded" (a network loaded, not trained)."""
    _check_ds(ds, "snapshot_policy")
    labels = []
    for policy, threshold, epoch in zip(ds["snapshot_policy"].values, ds["snapshot_threshold"].values,
                                        ds["snapshot_requested_epoch"].values):
        labels.append(f"acc ≥ {threshold:g}" if policy == "accuracy_threshold"
                      else str(policy) if policy in ("final", "loaded") else f"epoch {int(epoch)}")
    return labels


def plot_sweep_training(ds, ax: Axes | None = None) -> Axes:
    """Train (solid) and test (dashed) accuracy per epoch: each network thin, the mean over networks thick.

    Networks that stopped early count in the mean only for the epochs they trained.
    """
    _check_ds(ds, "train_acc", "test_acc")
    ax = _axes(ax, (6, 3.5))
    epochs = np.asarray(ds["epoch"].values)
    for key, style, color in (("train_acc", "-", "C0"), ("test_acc", "--", "C1")):
        values = np.asarray(ds[key].values, dtype=np.float64)
        trained = np.isfinite(values)
        for row in values:
            ax.plot(epochs, row, style, color=color, lw=0.5, alpha=0.4)
        keep = trained.any(axis=0)
        mean = np.where(trained, values, 0.0).sum(axis=0)[keep] / trained.sum(axis=0)[keep]
        ax.plot(epochs[keep], mean, style, color=color, lw=2,
                label=f"{key.replace('_', ' ')} (mean of {values.shape[0]})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="lower right")
    return ax
