"""Figures of a sweep, drawn from its store (``nntopo.sweep.open_results``), averaged over networks.

Every function takes the results ``ds`` (an ``xarray.Dataset``) and ``ax=`` and returns
the axes. Averages over networks use only the networks that reached the snapshot, and
all input subsamples; the mean of landscapes is the pointwise mean of each level (the
paper's average landscape).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from .._validation import check_int

__all__ = ["mean_over_networks", "snapshot_labels", "plot_sweep_training", "plot_sweep_landscape",
           "plot_sweep_norms", "plot_sweep_curves"]


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
    """One short label per snapshot: "acc ≥ 0.9", "epoch 10", "final" (the last epoch trained)."""
    _check_ds(ds, "snapshot_policy")
    labels = []
    for policy, threshold, epoch in zip(ds["snapshot_policy"].values, ds["snapshot_threshold"].values,
                                        ds["snapshot_requested_epoch"].values):
        labels.append(f"acc ≥ {threshold:g}" if policy == "accuracy_threshold"
                      else "final" if policy == "final" else f"epoch {int(epoch)}")
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


def plot_sweep_landscape(ds, snapshot: int, layer: int, ax: Axes | None = None) -> Axes:
    """Mean landscape levels λ_1..λ_k over networks at one snapshot and layer (indices), against t."""
    _check_ds(ds, "landscape")
    snapshot = check_int(snapshot, "snapshot", minimum=0, maximum=ds.sizes["snapshot"] - 1)
    layer = check_int(layer, "layer", minimum=0, maximum=ds.sizes["layer"] - 1)
    ax = _axes(ax, (4, 3))
    mean = mean_over_networks(ds, "landscape")[snapshot, layer]
    t = np.asarray(ds["t"].values)
    for k, row in enumerate(mean, start=1):
        ax.plot(t, row, lw=1, label=f"λ{k}" if k <= 3 else None)
    ax.set_xlabel("t")
    ax.set_ylim(bottom=0)
    return ax


def plot_sweep_norms(ds, ax: Axes | None = None) -> Axes:
    """Mean landscape norm per layer ("topological complexity"), one line per reached snapshot."""
    from .landscapes import plot_norms_per_layer

    _check_ds(ds, "landscape_norm")
    mean = mean_over_networks(ds, "landscape_norm")
    keep = np.isfinite(mean).all(axis=1)
    labels = [lab for lab, k in zip(snapshot_labels(ds), keep) if k]
    return plot_norms_per_layer(mean[keep], ax=_axes(ax, (6, 3.5)), layer_names=[str(x) for x in ds["layer"].values],
                                series_labels=labels)


def plot_sweep_curves(ds, ax: Axes | None = None) -> Axes:
    """Activation landscape curves (PCA, one curve per snapshot through the layers) of the mean landscapes."""
    import matplotlib

    from ..landscapes import ActivationLandscape, Landscape, activation_landscape_curves

    _check_ds(ds, "landscape")
    mean = mean_over_networks(ds, "landscape")
    keep = [s for s in range(mean.shape[0]) if np.isfinite(mean[s]).all()]
    if not keep:
        raise ValueError("ds: no snapshot was reached by any network; there is no landscape to plot")
    attrs = ds["landscape"].attrs
    grid = tuple(attrs["grid"])
    names = [str(x) for x in ds["layer"].values]
    curves = [ActivationLandscape([Landscape(mean[s, j], grid, hom_dim=int(attrs["hom_dim"]),
                                             keep_infinite=bool(attrs["keep_infinite"])) for j in range(len(names))],
                                  layer_names=names) for s in keep]
    coords, _ = activation_landscape_curves(curves)
    ax = _axes(ax, (5, 4))
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(keep)))
    labels = snapshot_labels(ds)
    for c, s, xy in zip(colors, keep, coords):
        ax.plot(xy[:, 0], xy[:, 1], "o-", color=c, ms=3, label=labels[s])
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7)
    return ax
