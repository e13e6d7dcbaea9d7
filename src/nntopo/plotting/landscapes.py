"""Persistence landscapes and their norms per layer."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes

from .._validation import check_array, check_int


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size)
    return ax


def plot_landscape(landscape, ax: Axes | None = None, n_levels: int | None = None, **line_kw) -> Axes:
    """Plot levels lambda_1..lambda_k of a grid :class:`~nntopo.landscapes.Landscape` against t.

    ``n_levels`` (int >= 1) pads or cuts to that many levels; None plots the stored ones.
    """
    if n_levels is not None:
        n_levels = check_int(n_levels, "n_levels", minimum=1)
    ax = _axes(ax, (4, 3))
    values = landscape.values if n_levels is None else landscape.padded(n_levels)
    t = landscape.t
    for k, row in enumerate(values, start=1):
        ax.plot(t, row, lw=1, label=f"λ{k}" if k <= 3 else None, **line_kw)
    ax.set_xlabel("t")
    ax.set_ylim(bottom=0)
    return ax


def plot_norms_per_layer(
    norms: np.ndarray,
    ax: Axes | None = None,
    layer_names: Sequence[str] | None = None,
    series_labels: Sequence[str] | None = None,
    cmap: str = "viridis",
) -> Axes:
    """Plot landscape norms ("topological complexity") per layer, one line per series.

    ``norms`` has shape (n_series, n_layers), e.g. one row per training threshold, or
    (n_layers,) for one series; ``layer_names`` has n_layers entries and
    ``series_labels`` n_series. Series are coloured in order along the matplotlib
    colormap ``cmap`` (the paper's yellow-to-purple is ``"viridis_r"``).
    """
    import matplotlib

    norms = check_array(norms, "norms")
    if norms.ndim not in (1, 2):
        raise ValueError(f"norms must have shape (n_series, n_layers) or (n_layers,), got {norms.shape}")
    norms = np.atleast_2d(norms)
    n_series, n_layers = norms.shape
    if layer_names is not None and len(layer_names) != n_layers:
        raise ValueError(f"layer_names must have one entry per layer ({n_layers}), got {len(layer_names)}")
    if series_labels is not None and len(series_labels) != n_series:
        raise ValueError(f"series_labels must have one entry per series ({n_series}), got {len(series_labels)}")
    ax = _axes(ax, (6, 3.5))
    x = np.arange(norms.shape[1])
    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap must be the name of a matplotlib colormap, got {cmap!r}")
    colors = matplotlib.colormaps[cmap](np.linspace(0, 0.9, norms.shape[0]))
    for i, row in enumerate(norms):
        label = None if series_labels is None else series_labels[i]
        ax.plot(x, row, "o-", color=colors[i], ms=3, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(layer_names if layer_names is not None else [str(i) for i in x], rotation=45, fontsize=7)
    ax.set_xlabel("layer")
    ax.set_ylabel("landscape norm")
    if series_labels is not None:
        ax.legend(fontsize=7)
    return ax
