"""Topology during training (Section 3 of the polyhedral-signatures paper) as a sweep analysis.

``[analysis.betti]`` builds, for each snapshot, the exact polyhedral complex of the
network on a box and runs ``n_trials`` seeded random filtrations
(:func:`nntopo.polyhedral.betti_curves`: 0-cells in random order, then 1-cells, ...).
Stored per snapshot: the f-vector (``betti_f_vector``, dim ``cell_dim``), the number of
cells, the averaged Betti curves read on a fixed grid of ``G`` shares of cells added
(``betti_curve``, dims ``share``, ``degree``) and their summaries (``betti_peak_cells``,
``betti_peak_share``, ``betti_peak_value`` per degree; ``betti_critical_share``, where
b_1 peaks: the paper's critical filtration value).

The loss is not recomputed: the store holds the per-epoch ``train_loss`` and each
snapshot's epoch. Library functions reading a sweep folder:

* :func:`topology_series`: per network and snapshot, epoch, loss, 0-cells, cells, critical share;
* :func:`heatmap` / :func:`plot_heatmaps`: Figure 5 (x epoch, y cells added / the largest
  cell count over the epochs, colour the mean Betti number; one panel per degree);
* :func:`plot_cells_and_loss`: Figure 6 (cells per epoch with the loss, per trial and averaged);
* :func:`plot_betti_curves`: Figure 4 (Betti curves at chosen epochs);
* :func:`table2` with :func:`table2_markdown` / :func:`table2_csv`: Table 2 (per regime,
  :func:`nntopo.analysis.correlation_table` over the networks, loss against the 0-cell
  count and against the critical share).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import xarray as xr

from .._validation import check_int, check_real
from ..sweep.analyses import Analysis, Layout, Variable, parse_complex_box, register_analysis
from ..sweep.config import SweepConfig, Table

if TYPE_CHECKING:
    from ..sweep.data import SweepData

__all__ = [
    "BettiSettings",
    "BETTI",
    "TOPO_SERIES",
    "topology_series",
    "heatmap",
    "table2",
    "table2_markdown",
    "table2_csv",
    "plot_heatmaps",
    "plot_cells_and_loss",
    "plot_betti_curves",
]

logger = logging.getLogger("nntopo")

#: Topological series correlated with the loss in Table 2.
TOPO_SERIES = ("n_vertices", "critical_share")


@dataclass(frozen=True)
class BettiSettings:
    """``[analysis.betti]``: ``box`` ``[lo, hi]`` (the same interval in every input
    coordinate, input units; default ``[-1, 1]``, the PINN's scaled square) or ``"data"``
    (the data's bounding box); ``n_trials`` random filtrations averaged (default 100);
    ``seed`` of their orders (default 0; the same for every snapshot, so differences
    between snapshots are not sampling noise of different orders); ``grid`` G >= 2 shares
    0..1 at which the curves are stored (default 201)."""

    box: tuple[float, float] | str = (-1.0, 1.0)
    n_trials: int = 100
    seed: int = 0
    grid: int = 201

    def resolved(self) -> dict:
        return {"box": self.box if isinstance(self.box, str) else list(self.box), "n_trials": self.n_trials,
                "seed": self.seed, "grid": self.grid}


def _parse(table: Table, config: SweepConfig) -> BettiSettings:
    box = parse_complex_box(table, config, (-1.0, 1.0))
    n_trials = table.int("n_trials", 100, minimum=1)
    seed = table.int("seed", 0, minimum=0)
    grid = table.int("grid", 201, minimum=2)
    table.finish(("box", "n_trials", "seed", "grid"))
    return BettiSettings(box, n_trials, seed, grid)


def _layout(s: BettiSettings, config: SweepConfig) -> Layout:
    d = config.network.n_inputs
    attrs = {**s.resolved(), "box": str(s.resolved()["box"])}
    return Layout(
        variables=(
            Variable("betti_f_vector", ("cell_dim",), "int64", -1, {**attrs, "description": "cells of each dimension"}),
            Variable("betti_n_cells", (), "int64", -1, attrs),
            Variable("betti_curve", ("share", "degree"), "float64", np.nan,
                     {**attrs, "description": "mean Z/2 Betti number after that share of the cells was added"}),
            Variable("betti_peak_cells", ("degree",), "int64", -1, attrs),
            Variable("betti_peak_share", ("degree",), "float64", np.nan, attrs),
            Variable("betti_peak_value", ("degree",), "float64", np.nan, attrs),
            Variable("betti_critical_share", (), "float64", np.nan,
                     {**attrs, "description": "share of cells added where b_1 peaks"}),
        ),
        coords={"cell_dim": np.arange(d + 1), "share": np.linspace(0.0, 1.0, s.grid), "degree": np.arange(d + 1)},
    )


def _box(s: BettiSettings, data: "SweepData") -> tuple[np.ndarray, np.ndarray]:
    d = data.dataset.X.shape[1]
    if s.box == "data":
        X = data.dataset.X.astype(np.float64)
        return X.min(axis=0), X.max(axis=0)
    return np.full(d, s.box[0]), np.full(d, s.box[1])


def _compute(s: BettiSettings, config: SweepConfig, network: int, snapshot: int, net: Any,
             data: "SweepData") -> dict[str, np.ndarray]:
    from ..polyhedral import betti_curves, betti_summary, polyhedral_complex, sample_curves_share

    cx = polyhedral_complex(net, box=_box(s, data))
    curves = betti_curves(cx, n_trials=s.n_trials, seed=s.seed)
    summary = betti_summary(curves)
    return {
        "betti_f_vector": np.asarray(cx.f_vector, dtype=np.int64),
        "betti_n_cells": np.int64(np.sum(cx.f_vector)),
        "betti_curve": sample_curves_share(curves, np.linspace(0.0, 1.0, s.grid)),
        "betti_peak_cells": summary.peak_cells.values,
        "betti_peak_share": summary.peak_share.values,
        "betti_peak_value": summary.peak_value.values,
        "betti_critical_share": np.float64(summary.attrs["critical_share"]),
    }


BETTI = register_analysis(Analysis(
    name="betti",
    description="exact polyhedral complex, f-vector and Betti curves averaged over random filtrations, "
                "with their peaks (polyhedral-signatures Section 3)",
    parse=_parse, layout=_layout, compute=_compute,
))


# --------------------------------------------------------------------------- reading a sweep


def _time_series(out: str | os.PathLike) -> xr.Dataset:
    """The store of ``out`` restricted to the ``every``-policy snapshots: epochs 0, k, 2k, ...
    in increasing order, the evenly spaced series that lags and differences assume.
    Snapshots of other policies (thresholds, listed epochs) in the same sweep would put
    the series out of time order or repeat epochs, so they are left out here."""
    from ..sweep.store import open_results

    ds = open_results(out)
    if "betti_n_cells" not in ds:
        raise ValueError(f"out: {out} holds no betti analysis")
    every = ds.snapshot_policy.values == "every_k"
    if not every.any():
        raise ValueError(f"out: {out} has no snapshots of an 'every' policy; the training-topology series need "
                         "[training.snapshots] every = k")
    return ds.isel(snapshot=np.flatnonzero(every))


def topology_series(out: str | os.PathLike) -> xr.Dataset:
    """Per network and snapshot (dims ``network``, ``snapshot``): ``epoch`` (int64, -1
    where not reached), ``loss`` (the training loss at that epoch; NaN where not
    reached), ``n_vertices`` (0-cells), ``n_cells`` (all cells, int64, -1 where not
    computed) and ``critical_share`` (share of cells where b_1 peaks). Only the snapshots
    of the ``every`` policy, in epoch order (:func:`_time_series`)."""
    return _series(_time_series(out))


def _series(ds: xr.Dataset) -> xr.Dataset:
    """:func:`topology_series` of a store already restricted by :func:`_time_series`."""
    epoch = ds.snapshot_epoch.values.astype(np.int64)
    loss = np.full(epoch.shape, np.nan)
    hist = ds.train_loss.values
    ok = epoch >= 0
    rows, cols = np.nonzero(ok)
    loss[rows, cols] = hist[rows, epoch[rows, cols]]
    dims = ("network", "snapshot")
    return xr.Dataset(
        {"epoch": (dims, epoch), "loss": (dims, loss),
         "n_vertices": (dims, ds.betti_f_vector.sel(cell_dim=0).values.astype(np.int64)),
         "n_cells": (dims, ds.betti_n_cells.values.astype(np.int64)),
         "critical_share": (dims, ds.betti_critical_share.values.astype(np.float64))},
        coords={"network": ds.network.values, "snapshot": ds.snapshot.values},
        attrs={"name": ds.attrs.get("name", "")},
    )


def _complete(series: xr.Dataset) -> np.ndarray:
    """Boolean (network, snapshot): reached and analysed."""
    return (series.epoch.values >= 0) & (series.n_cells.values > 0)


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of the defined values; NaN (no warning) where none is."""
    count = np.sum(~np.isnan(a), axis=0)
    total = np.nansum(a, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def heatmap(out: str | os.PathLike, network: int | None = 0, *, n_rows: int = 200) -> xr.DataArray:
    """Figure 5's data: mean Betti number against epoch and cells added / M, where M is
    the largest cell count over the network's snapshots.

    ``network``: one network's index, or None for the mean over networks (each network
    scaled by its own M, then averaged where defined). Returns dims ``("y", "epoch",
    "degree")`` (n_rows values of y in [0, 1]; NaN above a snapshot's own cell count or
    where a snapshot is missing), from :func:`nntopo.polyhedral.betti_heatmap`.
    """
    from ..polyhedral import betti_heatmap

    n_rows = check_int(n_rows, "n_rows", minimum=2)
    ds = _time_series(out)
    series = _series(ds)
    ok = _complete(series)
    nets = list(range(ds.sizes["network"])) if network is None else [
        check_int(network, "network", minimum=0, maximum=ds.sizes["network"] - 1)]
    snaps = np.flatnonzero(ok[nets].all(axis=0))
    if snaps.size == 0:
        raise ValueError(f"out: no snapshot is complete for network(s) {nets}")
    curves = ds.betti_curve.values  # (network, snapshot, G, d + 1)
    maps = [betti_heatmap(curves[n, snaps], series.n_cells.values[n, snaps], n_rows) for n in nets]
    values = _nanmean(np.stack(maps)) if len(maps) > 1 else maps[0]
    return xr.DataArray(
        values, dims=("y", "epoch", "degree"),
        coords={"y": np.linspace(0.0, 1.0, n_rows), "epoch": series.epoch.values[nets[0], snaps],
                "degree": ds.degree.values},
        name="mean_betti",
        attrs={"network": -1 if network is None else nets[0],
               "max_cells": int(series.n_cells.values[nets][:, snaps].max()),
               "y_units": "cells added / max cells over the epochs"},
    )


def table2(runs: Mapping[str, str | os.PathLike], *, max_lag: int = 5, alpha: float = 0.05) -> xr.Dataset:
    """Table 2: for each regime (``runs``: regime name -> sweep folder) and each topological
    series of :data:`TOPO_SERIES`, :func:`nntopo.analysis.correlation_table` over the
    networks (trials) of the loss series against the topological series, both sampled at
    the snapshots. ``max_lag`` in snapshots (positive lag: topology leads the loss).

    Networks with a missing snapshot are left out. Returns dims ``("regime", "series",
    "measure")``.
    """
    from ..analysis import correlation_table, correlation_trials

    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a non-empty mapping regime -> sweep folder")
    max_lag = check_int(max_lag, "max_lag", minimum=0)
    alpha = check_real(alpha, "alpha", minimum=0.0, maximum=1.0, min_inclusive=False)
    tables = []
    for regime, out in runs.items():
        series = topology_series(out)
        keep = _complete(series).all(axis=1)
        if not keep.any():
            raise ValueError(f"runs[{regime!r}]: no network has every snapshot analysed")
        losses = series.loss.values[keep]
        per_series = []
        for name in TOPO_SERIES:
            topo = series[name].values[keep].astype(np.float64)
            trials = correlation_trials(list(losses), list(topo), max_lag)
            per_series.append(correlation_table(trials, alpha).expand_dims(series=[name]))
        tables.append(xr.concat(per_series, "series").expand_dims(regime=[regime]))
    out = xr.concat(tables, "regime")
    out.attrs.update({"max_lag": max_lag, "alpha": alpha, "lag_units": "snapshots",
                      "lag_sign": "positive: topology leads the loss"})
    return out


def _table2_rows(table: xr.Dataset) -> list[list[str]]:
    rows = []
    for regime in table.regime.values:
        for series in table.series.values:
            t = table.sel(regime=regime, series=series)
            for m in t.measure.values:
                c = t.sel(measure=m)
                lag = "" if np.isnan(c.median_lag) else f"{float(c.median_lag):g} (mode {float(c.mode_lag):g})"
                rows.append([str(regime), str(series), str(m),
                             f"{int(c.n_significant_positive)}/{int(c.n_trials)}",
                             f"{float(c.median_r):.3f}", lag])
    return rows


_HEADER = ["regime", "topology", "method", "p<alpha, r>0", "median r", "best lag (snapshots)"]


def table2_markdown(table: xr.Dataset) -> str:
    """:func:`table2` as a Markdown table."""
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in _table2_rows(table)]
    return "\n".join(lines) + "\n"


def table2_csv(table: xr.Dataset) -> str:
    """:func:`table2` as CSV text."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["regime", "topology", "method", "n_significant_positive", "n_trials", "median_r", "median_lag",
                "mode_lag"])
    for regime in table.regime.values:
        for series in table.series.values:
            t = table.sel(regime=regime, series=series)
            for m in t.measure.values:
                c = t.sel(measure=m)
                w.writerow([regime, series, m, int(c.n_significant_positive), int(c.n_trials),
                            f"{float(c.median_r):.6g}", f"{float(c.median_lag):g}", f"{float(c.mode_lag):g}"])
    return buf.getvalue()


# --------------------------------------------------------------------------- figures


def _figure(fig: Any, ncols: int, nrows: int = 1) -> Any:
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(4.6 * ncols, 3.6 * nrows), layout="constrained")
    return fig


def plot_heatmaps(out: str | os.PathLike, network: int | None = 0, *, degrees: tuple[int, ...] | None = None,
                  fig: Any = None, n_rows: int = 200) -> Any:
    """Figure 5: one heat map per degree (x epoch, y cells added / max cells, colour mean
    b_k; :func:`heatmap`). Returns the figure (``fig`` or a new one)."""
    hm = heatmap(out, network, n_rows=n_rows)
    degrees = tuple(int(k) for k in hm.degree.values) if degrees is None else degrees
    fig = _figure(fig, len(degrees))
    axes = fig.subplots(1, len(degrees), squeeze=False)[0]
    ep = hm.epoch.values
    known = [int(x) for x in hm.degree.values]
    for i, k in enumerate(degrees):
        if k not in known:
            raise ValueError(f"degrees[{i}] must be one of {known}, got {k!r}")
    for ax, k in zip(axes, degrees):
        mesh = ax.pcolormesh(ep, hm.y.values, hm.sel(degree=k).values, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=f"mean $b_{k}$")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"cells added / {hm.attrs['max_cells']}")
        ax.set_title(f"$b_{k}$" + ("" if network is None else f", network {network}"))
    return fig


def plot_cells_and_loss(out: str | os.PathLike, *, cell_dim: int | None = None, ax: Any = None) -> Any:
    """Figure 6: cells per epoch (all cells, or the ``cell_dim``-cells) for each network
    (thin) and their mean (thick), with the training loss on a second, logarithmic axis
    (per network thin, mean thick). Returns the axes of the cells."""
    import matplotlib.pyplot as plt

    ds = _time_series(out)
    series = _series(ds)
    ok = _complete(series)
    if cell_dim is None:
        cells = series.n_cells.values.astype(np.float64)
        label = "cells"
    else:
        cell_dim = check_int(cell_dim, "cell_dim", minimum=0, maximum=ds.sizes["cell_dim"] - 1)
        cells = ds.betti_f_vector.sel(cell_dim=cell_dim).values.astype(np.float64)
        label = f"{cell_dim}-cells"
    cells[~ok] = np.nan
    loss = np.where(ok, series.loss.values, np.nan)
    epochs = np.where(ok, series.epoch.values, -1).max(axis=0).astype(np.float64)
    epochs[epochs < 0] = np.nan
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    for row in cells:
        ax.plot(epochs, row, color="tab:blue", lw=0.6, alpha=0.35)
    ax.plot(epochs, _nanmean(cells), color="tab:blue", lw=2, label=f"{label} (mean)")
    ax2 = ax.twinx()
    for row in loss:
        ax2.plot(epochs, row, color="tab:red", lw=0.6, alpha=0.35)
    ax2.plot(epochs, _nanmean(loss), color="tab:red", lw=2, label="loss (mean)")
    ax2.set_yscale("log")
    ax2.set_ylabel("training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.set_title(f"{label} and loss, {cells.shape[0]} networks")
    return ax


def plot_betti_curves(out: str | os.PathLike, network: int = 0, *, epochs: tuple[int, ...] | None = None,
                      fig: Any = None) -> Any:
    """Figure 4: the mean Betti curves (one panel per degree, x the number of cells added)
    of ``network`` at ``epochs`` (snapshot epochs; default first, middle and last).
    Returns the figure."""
    ds = _time_series(out)
    series = _series(ds)
    network = check_int(network, "network", minimum=0, maximum=ds.sizes["network"] - 1)
    ok = _complete(series)[network]
    available = series.epoch.values[network][ok]
    if available.size == 0:
        raise ValueError(f"out: network {network} has no analysed snapshot")
    if epochs is None:
        epochs = tuple(int(available[i]) for i in sorted({0, available.size // 2, available.size - 1}))
    degrees = ds.degree.values
    fig = _figure(fig, len(degrees))
    axes = fig.subplots(1, len(degrees), squeeze=False)[0]
    shares = ds.share.values
    for e in epochs:
        hit = np.flatnonzero(ok & (series.epoch.values[network] == e))
        if hit.size == 0:
            raise ValueError(f"epochs: {e} is not an analysed snapshot epoch of network {network} "
                             f"(available: {available.tolist()})")
        s = int(hit[0])
        n = int(series.n_cells.values[network, s])
        for ax, k in zip(axes, degrees):
            ax.plot(shares * n, ds.betti_curve.values[network, s, :, k], label=f"epoch {e} ({n} cells)")
    for ax, k in zip(axes, degrees):
        ax.set_xlabel("cells added")
        ax.set_ylabel(f"mean $b_{k}$")
        ax.set_title(f"$b_{k}$, network {network}")
        ax.legend(fontsize="small")
    return fig
