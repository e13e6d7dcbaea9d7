"""The activation-landscapes paper's statistics and figures (Sections III-IV), read from a sweep's store.

The ``landscapes`` analysis of the engine (:mod:`nntopo.sweep.analyses`) stores
``landscape (network, snapshot, subsample, layer, level, t)`` and ``landscape_norm
(network, snapshot, subsample, layer)``. Everything here reads those arrays back; nothing
is recomputed except Figure 1, which reloads one stored checkpoint. Every public function
takes ``store``: a sweep folder (what ``nntopo run --out`` wrote) or the
``xarray.Dataset`` already opened from it (:func:`nntopo.sweep.open_results`).

Averaging rule (the paper's Section II.E and III.B). A network *counts* at a snapshot
when it reached that snapshot (``snapshot_reached``) and the analysis of that piece is in
the store (every value finite). Its landscape there is its mean over the input
subsamples (the same K subsamples for every network); the average landscape of a
snapshot is the mean of those over the networks that count. Networks that did not reach
a snapshot, or whose piece is not computed yet, are counted and listed, never silently
dropped. A store written before the ``subsample`` dim existed is read as one subsample.

Statistics: :func:`network_landscapes`, :func:`average_landscapes` (Figure 2),
:func:`topological_complexity` (Figure 4), :func:`landscape_curves` (Figure 3),
:func:`table1` with :func:`table1_csv` / :func:`table1_markdown` (Table I).
Figures: :func:`plot_activations` (Figure 1), :func:`plot_average_landscapes` (Figure 2),
:func:`plot_landscape_curves` (Figure 3), :func:`plot_complexity` (Figure 4), and
:func:`draw_figures`, which writes all that apply as PNG (``nntopo figures``).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr

from .._validation import as_generator, check_choice, check_int
from ..landscapes import ActivationLandscape, Landscape, permutation_test

__all__ = [
    "COMPLEXITY",
    "FIGURES",
    "landscape_results",
    "network_landscapes",
    "average_landscapes",
    "topological_complexity",
    "landscape_curves",
    "stored_activation_landscapes",
    "table1",
    "table1_csv",
    "table1_markdown",
    "plot_activations",
    "plot_average_landscapes",
    "plot_landscape_curves",
    "plot_complexity",
    "check_figures",
    "store_figures",
    "draw_figures",
    "TABLES",
    "stage_snapshots",
    "snapshots_by_label",
    "complexity_csv",
    "write_tables",
]

logger = logging.getLogger("nntopo")

#: The two readings of "topological complexity" per layer (see :func:`topological_complexity`).
COMPLEXITY = ("norm_of_mean", "mean_of_norms")

#: File names :func:`write_tables` writes.
TABLES = ("complexity.csv", "table1.csv", "table1.md")

#: File names :func:`draw_figures` writes, by figure of the paper.
FIGURES = {
    1: "figure1_activations.png",
    2: "figure2_average_landscapes.png",
    3: "figure3_landscape_curves.png",
    4: "figure4_topological_complexity.png",
}

_NEEDED = ("landscape", "landscape_norm", "snapshot_reached", "snapshot_threshold", "snapshot_policy",
           "snapshot_requested_epoch")

# --------------------------------------------------------------------------- reading the store


def landscape_results(store: str | os.PathLike | xr.Dataset) -> xr.Dataset:
    """The sweep's results with the landscapes analysis, checked.

    ``store``: a sweep folder or its opened ``xarray.Dataset``. A missing folder is a
    ``FileNotFoundError``; a folder or Dataset that is not a sweep's results with the
    ``landscapes`` analysis is a ``ValueError`` naming ``store``. ``landscape`` and
    ``landscape_norm`` always come back with a ``subsample`` dim (size 1 for a store
    written before that dim existed).
    """
    if isinstance(store, xr.Dataset):
        ds = store
    elif isinstance(store, (str, os.PathLike)):
        from ..sweep.store import STORE_NAME, open_results

        if os.fspath(store) == "":
            raise ValueError("store is empty; give a sweep folder")
        if not (Path(store) / STORE_NAME).is_dir():
            raise FileNotFoundError(f"store: no sweep results at {Path(store) / STORE_NAME} "
                                    "(give the folder nntopo run --out wrote)")
        try:
            ds = open_results(store)
        except Exception as exc:  # zarr and xarray raise many kinds for a damaged store
            raise ValueError(f"store: {store} holds no readable sweep results ({type(exc).__name__}: {exc})") from None
    else:
        raise TypeError(f"store must be a sweep folder (str or os.PathLike) or its xarray.Dataset, "
                        f"got {type(store).__name__}")
    missing = [n for n in _NEEDED if n not in ds.variables]
    if missing:
        where = store if not isinstance(store, xr.Dataset) else "the Dataset"
        raise ValueError(f"store: {where} has no {', '.join(missing)}; is it a sweep run with the landscapes "
                         "analysis?")
    if "subsample" not in ds["landscape"].dims:
        ds = ds.assign(landscape=ds["landscape"].expand_dims(subsample=[0], axis=2),
                       landscape_norm=ds["landscape_norm"].expand_dims(subsample=[0], axis=2))
    return ds


def _folder(store: object, ds: xr.Dataset) -> Path | None:
    """The sweep folder behind ``store``: the path itself, or where the Dataset was opened from."""
    if isinstance(store, (str, os.PathLike)):
        return Path(store)
    source = ds.encoding.get("source")
    if source:
        folder = Path(source).parent
        if (folder / "sweep.json").is_file():
            return folder
    return None


def _snapshots(ds: xr.Dataset, snapshots: Sequence[int] | None) -> list[int]:
    n = ds.sizes["snapshot"]
    if snapshots is None:
        return list(range(n))
    if isinstance(snapshots, (str, bytes)) or not hasattr(snapshots, "__iter__"):
        raise TypeError(f"snapshots must be a list of snapshot indices or None, got {type(snapshots).__name__}")
    out = [check_int(s, f"snapshots[{i}]", minimum=0, maximum=n - 1) for i, s in enumerate(snapshots)]
    if not out:
        raise ValueError("snapshots is empty: name at least one snapshot index (or None for all)")
    if len(set(out)) != len(out):
        raise ValueError(f"snapshots repeats an index: {out}")
    return out


def _labels(ds: xr.Dataset) -> list[str]:
    """One label per snapshot, :func:`nntopo.plotting.sweep.snapshot_labels` with a threshold
    as its bare value ("0.55": the study's tables head the column "training threshold")."""
    from ..plotting.sweep import snapshot_labels

    return [label.removeprefix("acc ≥ ") for label in snapshot_labels(ds)]


def _long_label(ds: xr.Dataset, s: int) -> str:
    label = _labels(ds)[s]
    return f"threshold {label}" if ds["snapshot_policy"].values[s] == "accuracy_threshold" else label


def _grid(attrs: dict) -> tuple[tuple[float, float, float], int | None, bool]:
    """(grid, hom_dim or None, keep_infinite) of stored landscapes, from the ``landscape`` attrs."""
    hom = attrs.get("hom_dim")
    return (tuple(float(x) for x in attrs["grid"]), None if hom is None else int(hom),
            bool(attrs.get("keep_infinite", False)))


def _per_network(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values (network, snapshot, layer, level, t): each network's mean over subsamples,
    NaN where it does not count; counts (network, snapshot) bool; reached (network, snapshot) bool)."""
    land = ds["landscape"].transpose("network", "snapshot", "subsample", "layer", "level", "t").values
    land = np.asarray(land, dtype=np.float64)
    reached = np.asarray(ds["snapshot_reached"].transpose("network", "snapshot").values, dtype=bool)
    computed = np.isfinite(land).all(axis=(2, 3, 4, 5))
    counts = reached & computed
    values = np.full(land.shape[:2] + land.shape[3:], np.nan)
    values[counts] = land[counts].mean(axis=1)
    return values, counts, reached


def _network_lists(counts: np.ndarray, reached: np.ndarray, snaps: list[int]) -> tuple[list[str], list[str]]:
    """Per snapshot: comma-separated networks that did not reach it, and those reached but not computed."""
    missing = [",".join(str(n) for n in np.flatnonzero(~reached[:, s])) for s in snaps]
    pending = [",".join(str(n) for n in np.flatnonzero(reached[:, s] & ~counts[:, s])) for s in snaps]
    return missing, pending


def _snapshot_coords(ds: xr.Dataset, snaps: list[int]) -> dict:
    return {"snapshot": np.asarray(snaps),
            "threshold": ("snapshot", np.asarray(ds["snapshot_threshold"].values, np.float64)[snaps]),
            "label": ("snapshot", np.array([_labels(ds)[s] for s in snaps]))}


def network_landscapes(store: str | os.PathLike | xr.Dataset) -> xr.DataArray:
    """Each network's landscape per snapshot and layer: its mean over the input subsamples.

    Returns dims ``(network, snapshot, layer, level, t)`` (float64, landscape values in
    normalized distance units), NaN where the network does not count (did not reach the
    snapshot, or its piece is not computed); coordinate ``counts (network, snapshot)``
    says which entries hold a landscape.
    """
    ds = landscape_results(store)
    values, counts, _ = _per_network(ds)
    return xr.DataArray(
        values, dims=("network", "snapshot", "layer", "level", "t"),
        coords={"network": ds["network"].values, "snapshot": ds["snapshot"].values, "layer": ds["layer"].values,
                "level": ds["level"].values, "t": ds["t"].values,
                "counts": (("network", "snapshot"), counts)},
        name="network_landscape", attrs=dict(ds["landscape"].attrs),
    )


def average_landscapes(store: str | os.PathLike | xr.Dataset, *,
                       snapshots: Sequence[int] | None = None) -> xr.DataArray:
    """The average activation landscape per (snapshot, layer): Figure 2's panels.

    The mean over the networks that count at the snapshot of each network's mean over
    the input subsamples (see the module docstring). ``snapshots``: indices on the
    snapshot axis (default all). Returns dims ``(snapshot, layer, level, t)`` (float64,
    normalized distance units), all NaN for a snapshot no network counts at; coordinates
    ``threshold`` and ``label`` per snapshot, ``n_networks`` (networks averaged),
    ``n_reached`` (networks that reached it), ``missing`` / ``not_computed``
    (comma-separated network indices that did not reach it / reached it but have no
    landscape stored yet), and the scalar ``n_subsamples``.
    """
    ds = landscape_results(store)
    snaps = _snapshots(ds, snapshots)
    values, counts, reached = _per_network(ds)
    mean = np.full((len(snaps),) + values.shape[2:], np.nan)
    for i, s in enumerate(snaps):
        if counts[:, s].any():
            mean[i] = values[counts[:, s], s].mean(axis=0)
    missing, pending = _network_lists(counts, reached, snaps)
    return xr.DataArray(
        mean, dims=("snapshot", "layer", "level", "t"),
        coords={**_snapshot_coords(ds, snaps), "layer": ds["layer"].values, "level": ds["level"].values,
                "t": ds["t"].values,
                "n_networks": ("snapshot", counts[:, snaps].sum(axis=0).astype(np.int64)),
                "n_reached": ("snapshot", reached[:, snaps].sum(axis=0).astype(np.int64)),
                "missing": ("snapshot", np.array(missing, dtype=object)),
                "not_computed": ("snapshot", np.array(pending, dtype=object)),
                "n_subsamples": ds.sizes["subsample"]},
        name="mean_landscape",
        attrs={**ds["landscape"].attrs, "averaged_over": "networks that reached the snapshot, and input subsamples"},
    )


def _mean_activation_landscapes(mean: xr.DataArray) -> dict[int, ActivationLandscape]:
    """The rows of :func:`average_landscapes` that hold a landscape, as ActivationLandscapes (by position)."""
    grid, hom, keep_inf = _grid(mean.attrs)
    names = [str(x) for x in mean["layer"].values]
    out = {}
    for i in range(mean.sizes["snapshot"]):
        if int(mean["n_networks"].values[i]) == 0:
            continue
        v = mean.values[i]
        out[i] = ActivationLandscape([Landscape(v[j], grid, hom_dim=hom, keep_infinite=keep_inf)
                                      for j in range(len(names))], names)
    return out


def topological_complexity(store: str | os.PathLike | xr.Dataset, *, statistic: str = "norm_of_mean",
                           snapshots: Sequence[int] | None = None) -> xr.DataArray:
    """Topological complexity per (snapshot, layer): Figure 4.

    The paper defines the topological complexity of a landscape as its L2 norm
    (Section II.C: ``||λ|| = sqrt(sum_k ∫ λ_k(t)^2 dt)``), and Figure 4 gives "the norms of
    the activation landscapes from Figure 2", whose panels are the *average* landscapes;
    so the default ``statistic="norm_of_mean"`` is the norm of the average landscape of
    :func:`average_landscapes` (trapezoid rule on the stored grid). The caption's words
    "average norms" admit the other reading, ``"mean_of_norms"``: the stored
    ``landscape_norm`` averaged like the landscapes (over subsamples, then over the
    networks that count). The norm is convex, so norm_of_mean <= mean_of_norms.

    Returns dims ``(snapshot, layer)`` (float64, landscape-norm units: normalized distance
    to the power 3/2), NaN for a snapshot no network counts at, with the coordinates of
    :func:`average_landscapes` (``threshold``, ``label``, ``n_networks``, ...).
    """
    statistic = check_choice(statistic, "statistic", COMPLEXITY)
    ds = landscape_results(store)
    mean = average_landscapes(ds, snapshots=snapshots)
    snaps = [int(s) for s in mean["snapshot"].values]
    out = np.full((len(snaps), ds.sizes["layer"]), np.nan)
    if statistic == "norm_of_mean":
        for i, al in _mean_activation_landscapes(mean).items():
            out[i] = al.norms_per_layer(2)
    else:
        _, counts, _ = _per_network(ds)
        norms = ds["landscape_norm"].transpose("network", "snapshot", "subsample", "layer").values
        per_net = np.asarray(norms, np.float64).mean(axis=2)  # (network, snapshot, layer)
        for i, s in enumerate(snaps):
            if counts[:, s].any():
                out[i] = per_net[counts[:, s], s].mean(axis=0)
    coords = {k: v for k, v in mean.coords.items() if k not in ("level", "t")}
    return xr.DataArray(out, dims=("snapshot", "layer"), coords=coords, name="topological_complexity",
                        attrs={"statistic": statistic, "p": 2, "hom_dim": mean.attrs.get("hom_dim"),
                               "units": "L2 norm of the landscape (sum over levels of the integral over t)"})


def landscape_curves(store: str | os.PathLike | xr.Dataset, *, snapshots: Sequence[int] | None = None,
                     seed: int | np.random.Generator | None = 0) -> xr.DataArray:
    """2-D PCA activation-landscape curves: Figure 3.

    One PCA (scikit-learn, through :func:`nntopo.landscapes.activation_landscape_curves`,
    on vectors weighted so that Euclidean distance is the landscape L2 distance) is fitted
    on the average landscapes of every chosen snapshot that some network counts at and
    every layer; each snapshot is then a curve through its layers in network order.
    Returns dims ``(snapshot, layer, component)`` (component 1, 2), NaN rows for
    snapshots no network counts at; attrs ``explained_variance_ratio`` (2 floats).
    ``seed`` goes to the PCA's ``random_state``.
    """
    from ..landscapes import activation_landscape_curves

    mean = average_landscapes(store, snapshots=snapshots)
    als = _mean_activation_landscapes(mean)
    if not als:
        raise ValueError("store: no network counts at any of the chosen snapshots; there are no landscapes to project")
    coords, pca = activation_landscape_curves(list(als.values()), 2, seed=seed)
    out = np.full((mean.sizes["snapshot"], mean.sizes["layer"], 2), np.nan)
    out[list(als)] = coords
    keep = {k: v for k, v in mean.coords.items() if k not in ("level", "t")}
    return xr.DataArray(out, dims=("snapshot", "layer", "component"), coords={**keep, "component": [1, 2]},
                        name="landscape_curve",
                        attrs={"explained_variance_ratio": [float(x) for x in pca.explained_variance_ratio_],
                               "units": "PCA coordinates of landscape vectors (L2 landscape metric)"})


def stored_activation_landscapes(
    store: str | os.PathLike | xr.Dataset,
) -> tuple[xr.Dataset, list[list[ActivationLandscape | None]]]:
    """The checked store and each network's landscapes as ``[network][snapshot]`` activation
    landscapes: its mean over the input subsamples, None where it does not count."""
    ds = landscape_results(store)
    values, counts, _ = _per_network(ds)
    grid, hom, keep_inf = _grid(ds["landscape"].attrs)
    names = [str(x) for x in ds["layer"].values]
    rows: list[list[ActivationLandscape | None]] = []
    for n in range(values.shape[0]):
        row: list[ActivationLandscape | None] = []
        for s in range(values.shape[1]):
            if not counts[n, s]:
                row.append(None)
                continue
            row.append(ActivationLandscape([Landscape(values[n, s, j], grid, hom_dim=hom, keep_infinite=keep_inf)
                                            for j in range(len(names))], names))
        rows.append(row)
    return ds, rows


# --------------------------------------------------------------------------- Table I


def table1(
    store: str | os.PathLike | xr.Dataset,
    *,
    snapshots: Sequence[int] | None = None,
    n_permutations: int = 100_000,
    seed: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """Table I: a permutation test between every pair of ``snapshots`` (indices on the
    snapshot axis; default all).

    The unit permuted is the network: group a holds each counting network's landscape at
    snapshot a (its mean over subsamples), group b the same at snapshot b. The statistic
    is the paper's, the distance between the two groups' average activation landscapes
    in the product inner product of its equation (1) (``sqrt(sum over layers and levels of
    ∫ (mean_a - mean_b)^2 dt)``, trapezoid rule); the p-value is ``(count + 1) / (N + 1)``
    over ``n_permutations`` = N relabellings (default 100,000 as in the paper), seeded by
    ``seed`` (one generator for the whole table).

    Returns dims ``("snapshot_a", "snapshot_b")`` (upper triangle filled; NaN on and
    below the diagonal and where a group is empty): ``statistic`` (normalized-distance
    units), ``pvalue``, ``n_a``, ``n_b``; per ``snapshot``: ``threshold``, ``label``,
    ``n_networks`` (networks in its group), ``missing`` (comma-separated networks that
    never reached it) and ``not_computed`` (reached, landscape not stored yet).
    """
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    gen = as_generator(seed)
    ds, als = stored_activation_landscapes(store)
    snaps = _snapshots(ds, snapshots)
    _, counts, reached = _per_network(ds)
    k = len(snaps)
    stat = np.full((k, k), np.nan)
    pval = np.full((k, k), np.nan)
    n_a = np.zeros((k, k), np.int64)
    n_b = np.zeros((k, k), np.int64)
    groups = [[row[s] for row in als if row[s] is not None] for s in snaps]
    for i in range(k):
        for j in range(i + 1, k):
            a, b = groups[i], groups[j]
            n_a[i, j], n_b[i, j] = len(a), len(b)
            if not a or not b:
                continue
            res = permutation_test(a, b, n_permutations=n_permutations, seed=gen)
            stat[i, j], pval[i, j] = res.statistic, res.pvalue
    missing, pending = _network_lists(counts, reached, snaps)
    labels = np.asarray(snaps)
    dims = ("snapshot_a", "snapshot_b")
    coords = _snapshot_coords(ds, snaps)
    return xr.Dataset(
        {"statistic": (dims, stat), "pvalue": (dims, pval), "n_a": (dims, n_a), "n_b": (dims, n_b),
         "n_networks": ("snapshot", np.array([len(g) for g in groups], np.int64)),
         "missing": ("snapshot", np.array(missing, dtype=object)),
         "not_computed": ("snapshot", np.array(pending, dtype=object))},
        coords={"snapshot_a": labels, "snapshot_b": labels, **coords},
        attrs={"n_permutations": n_permutations, "n_networks": len(als), "n_subsamples": ds.sizes["subsample"],
               "statistic": "distance between the groups' average activation landscapes, eq. (1)"},
    )


def _check_table(table: object) -> xr.Dataset:
    if not isinstance(table, xr.Dataset) or not {"statistic", "pvalue", "missing"} <= set(table.variables):
        raise TypeError(f"table must be the xarray.Dataset table1() returns, got {type(table).__name__}")
    return table


def table1_csv(table: xr.Dataset) -> str:
    """:func:`table1` as CSV: one row per pair (a before b), raw numbers, and for each side
    the networks in the group and those left out (never reached / not computed)."""
    table = _check_table(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["snapshot_a", "snapshot_b", "threshold_a", "threshold_b", "n_a", "n_b", "statistic", "pvalue",
                "n_permutations", "missing_a", "missing_b", "not_computed_a", "not_computed_b"])
    snaps = table["snapshot"].values
    thr = table["threshold"].values
    for i in range(len(snaps)):
        for j in range(i + 1, len(snaps)):
            w.writerow([int(snaps[i]), int(snaps[j]), repr(float(thr[i])), repr(float(thr[j])),
                        int(table["n_a"].values[i, j]), int(table["n_b"].values[i, j]),
                        repr(float(table["statistic"].values[i, j])), repr(float(table["pvalue"].values[i, j])),
                        int(table.attrs["n_permutations"]), table["missing"].values[i], table["missing"].values[j],
                        table["not_computed"].values[i], table["not_computed"].values[j]])
    return buf.getvalue()


def table1_markdown(table: xr.Dataset) -> str:
    """:func:`table1` as Markdown: the paper's lower-triangular table of p-values, then one
    row per pair with the statistic and the group sizes, then the networks left out of
    each threshold's group."""
    table = _check_table(table)
    labels = [str(x) for x in table["label"].values]
    p = table["pvalue"].values
    k = len(labels)
    lines = [f"p-values of the permutation test (N = {int(table.attrs['n_permutations'])}) between training "
             "thresholds; statistic: distance between the average activation landscapes in the inner product "
             "of eq. (1)", "",
             "| training threshold | " + " | ".join(labels) + " |", "|---" * (k + 1) + "|"]
    for i in range(k):
        cells = []
        for j in range(k):
            v = p[j, i] if j < i else np.nan  # the lower triangle, as in the paper
            cells.append("·" if j >= i else ("no network" if np.isnan(v) else f"{v:.5f}"))
        lines.append(f"| {labels[i]} | " + " | ".join(cells) + " |")
    lines += ["", "| threshold a | threshold b | networks a / b | statistic | p-value |", "|---|---|---|---|---|"]
    for i in range(k):
        for j in range(i + 1, k):
            s = float(table["statistic"].values[i, j])
            cell = "- | -" if np.isnan(s) else f"{s:.4g} | {float(p[i, j]):.5f}"
            lines.append(f"| {labels[i]} | {labels[j]} | {int(table['n_a'].values[i, j])} / "
                         f"{int(table['n_b'].values[i, j])} | {cell} |")
    notes = []
    n_total = int(table.attrs["n_networks"])
    for lab, m, c in zip(labels, table["missing"].values, table["not_computed"].values):
        if m:
            notes.append(f"- threshold {lab}: networks {m.replace(',', ', ')} did not reach it "
                         f"({len(m.split(','))} of {n_total})")
        if c:
            notes.append(f"- threshold {lab}: networks {c.replace(',', ', ')} reached it but have no landscape "
                         "stored yet")
    if notes:
        lines += ["", "Networks left out of a threshold's group:", *notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- figures


def _new_figure(fig: Any, size: tuple[float, float]) -> Any:
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, layout="constrained")
    return fig


def _new_axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _figure1_size(n_layers: int) -> tuple[float, float]:
    return (3.0 * n_layers + 0.6, 3.4)


def _figure2_size(n_rows: int, n_cols: int) -> tuple[float, float]:
    return (max(4.0, 1.35 * n_cols), max(2.5, 1.15 * n_rows + 0.9))


def _default_layers(names: list[str], k: int = 5) -> list[str]:
    """``k`` layers spread evenly from the first to the last (the paper shows 0, 2, 5, 8, 11)."""
    if len(names) <= k:
        return list(names)
    return [names[i] for i in np.unique(np.rint(np.linspace(0, len(names) - 1, k)).astype(int))]


def plot_activations(store: str | os.PathLike | xr.Dataset, network: int = 0, snapshot: int | None = None, *,
                     layers: Sequence[str] | None = None, max_points: int = 3000,
                     seed: int | np.random.Generator | None = 0, fig: Any = None) -> Any:
    """Figure 1: 2-D PCA projections of the activations of chosen layers of one network at one
    snapshot, coloured by class.

    The network is reloaded from the checkpoint the store names
    (:func:`nntopo.sweep.jobs.load_snapshot_network`) and pushed the sweep's whole data set
    (at most ``max_points`` points, drawn with ``seed``); each layer gets its own PCA.
    ``snapshot``: an index on the snapshot axis, default the last one ``network`` reached.
    ``layers``: names ``nntopo.nets.capture`` accepts (default five of the analysis's
    layers, evenly spread). Needs the sweep folder (a Dataset opened from one works).
    Returns the figure (``fig`` or a new one): one panel per layer, axes "PC 1"/"PC 2", a
    legend of the classes.
    """
    from sklearn.decomposition import PCA

    from ..nets import capture
    from ..sweep.data import sweep_data
    from ..sweep.jobs import load_snapshot_network
    from ..sweep.store import stored_config

    ds = landscape_results(store)
    folder = _folder(store, ds)
    if folder is None:
        raise ValueError("store: Figure 1 reloads a checkpoint, so it needs the sweep folder; this Dataset was not "
                         "opened from one")
    network = check_int(network, "network", minimum=0, maximum=ds.sizes["network"] - 1)
    reached = np.asarray(ds["snapshot_reached"].values[network], dtype=bool)
    if snapshot is None:
        if not reached.any():
            raise ValueError(f"network {network} reached no snapshot; there is no trained network to show")
        snapshot = int(np.flatnonzero(reached)[-1])
    snapshot = check_int(snapshot, "snapshot", minimum=0, maximum=ds.sizes["snapshot"] - 1)
    if not reached[snapshot]:
        raise ValueError(f"snapshot: network {network} did not reach snapshot {snapshot} "
                         f"({_long_label(ds, snapshot)}); it reached {np.flatnonzero(reached).tolist()}")
    max_points = check_int(max_points, "max_points", minimum=2)
    names = _default_layers([str(x) for x in ds["layer"].values]) if layers is None else list(layers)
    config = stored_config(folder)
    net = load_snapshot_network(str(folder), config, network, snapshot)
    data = sweep_data(config).dataset
    X, y = data.X, data.y
    if X.shape[0] > max_points:
        keep = np.sort(as_generator(seed).choice(X.shape[0], max_points, replace=False))
        X, y = X[keep], y[keep]
    acts = capture(net, X, layers=names)
    fig = _new_figure(fig, _figure1_size(len(names)))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    classes = np.unique(y)
    colors = [f"C{i % 10}" for i in range(len(classes))]
    for ax, name in zip(axes, names):
        a = np.asarray(acts[name], dtype=np.float64).reshape(len(X), -1)
        n_comp = min(2, a.shape[1])
        xy = PCA(n_components=n_comp).fit_transform(a) if np.ptp(a, axis=0).max() > 0 else np.zeros((len(a), n_comp))
        if n_comp == 1:
            xy = np.column_stack([xy, np.zeros(len(xy))])
        for c, col in zip(classes, colors):
            sel = y == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=2, color=col, label=f"class {c}", rasterized=True)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
    axes[-1].legend(fontsize=7, markerscale=4, loc="best")
    acc = ds["snapshot_train_acc"].values[network, snapshot] if "snapshot_train_acc" in ds.variables else np.nan
    fig.suptitle(f"activations of network {network} at {_long_label(ds, snapshot)}"
                 + ("" if np.isnan(acc) else f" (train acc {float(acc):.4f})") + f", {len(X)} points", fontsize=9)
    return fig


def _support_end(mean: np.ndarray, t: np.ndarray) -> float:
    """A t beyond which every drawn landscape is zero (with a margin), for readable panels."""
    nonzero = np.flatnonzero(np.nan_to_num(mean).reshape(-1, len(t)).max(axis=0) > 0)
    if nonzero.size == 0:
        return float(t[-1])
    return float(min(t[-1], t[0] + 1.1 * (t[nonzero[-1]] - t[0]) + (t[1] - t[0] if len(t) > 1 else 0.0)))


def plot_average_landscapes(store: str | os.PathLike | xr.Dataset, *, snapshots: Sequence[int] | None = None,
                            layers: Sequence[str] | None = None, t_max: float | None = None, fig: Any = None) -> Any:
    """Figure 2: the grid of average landscapes (:func:`average_landscapes`), a row per
    snapshot (threshold) that some network counts at, a column per layer; each panel draws
    the levels λ_1..λ_k against t. Panels share both axes; ``t_max`` cuts the t axis
    (default: where the drawn landscapes end). ``layers``: names of the stored ``layer``
    coordinate (default all). Returns the figure, with a legend of the levels.
    """
    from ..plotting import plot_landscape

    mean = average_landscapes(store, snapshots=snapshots)
    all_names = [str(x) for x in mean["layer"].values]
    if layers is None:
        cols = list(range(len(all_names)))
    else:
        cols = []
        for i, name in enumerate(layers):
            if name not in all_names:
                raise ValueError(f"layers[{i}] must be one of {all_names}, got {name!r}")
            cols.append(all_names.index(name))
    als = _mean_activation_landscapes(mean)
    if not als:
        raise ValueError("store: no network counts at any of the chosen snapshots; there is no average landscape")
    rows = list(als)
    drawn = mean.values[rows][:, cols]
    end = _support_end(drawn, mean["t"].values) if t_max is None else float(t_max)
    fig = _new_figure(fig, _figure2_size(len(rows), len(cols)))
    axes = fig.subplots(len(rows), len(cols), squeeze=False, sharex=True, sharey=True)
    for r, i in enumerate(rows):
        for c, j in enumerate(cols):
            ax = axes[r, c]
            plot_landscape(als[i].layers[j], ax=ax)
            ax.set_xlabel("t" if r == len(rows) - 1 else "")
            ax.tick_params(labelsize=5)
            if r == 0:
                ax.set_title(all_names[j], fontsize=7)
        axes[r, 0].set_ylabel(f"{mean['label'].values[i]}\n(n={int(mean['n_networks'].values[i])})", fontsize=7)
    axes[0, 0].set_xlim(float(mean["t"].values[0]), end)
    # plot_landscape fixes each panel's y range from its own data; the shared axis must hold the highest tent
    shown = drawn[..., mean["t"].values <= end]
    top = float(np.nanmax(shown)) if np.isfinite(shown).any() else 0.0
    axes[0, 0].set_ylim(0.0, 1.05 * top if top > 0 else 1.0)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=max(1, len(labels)), fontsize=7)
    k = mean.attrs.get("hom_dim")
    fig.suptitle(f"average H{k if k is not None else ''} activation landscapes over networks and "
                 f"{int(mean['n_subsamples'])} subsample(s) (rows: training threshold, columns: layer)", fontsize=8)
    return fig


def _threshold_colors(thresholds: np.ndarray) -> tuple[list, Any, str]:
    """Colours yellow (low) to purple (high) by threshold, or by order when a snapshot has none."""
    import matplotlib
    from matplotlib.colors import Normalize

    cmap = matplotlib.colormaps["viridis_r"]
    if np.isfinite(thresholds).all() and len(thresholds):
        lo, hi = float(thresholds.min()), float(thresholds.max())
        norm = Normalize(lo, hi if hi > lo else lo + 1e-9)
        return [cmap(norm(x)) for x in thresholds], matplotlib.cm.ScalarMappable(norm, cmap), \
            "training-accuracy threshold"
    norm = Normalize(0, max(1, len(thresholds) - 1))
    return [cmap(norm(i)) for i in range(len(thresholds))], None, "snapshot"


def _accuracy_scale(ds: xr.Dataset, curves: xr.DataArray, ok: np.ndarray) -> np.ndarray:
    """Where each drawn snapshot sits on the training-accuracy scale: its threshold, or for
    the final epoch (no threshold) the mean training accuracy its networks reached, so the
    paper configs' last curve still takes its place on the colourbar. NaN for other policies."""
    values = np.asarray(curves["threshold"].values[ok], dtype=np.float64).copy()
    if "snapshot_train_acc" not in ds:
        return values
    policy = ds["snapshot_policy"].values
    acc = np.where(ds["snapshot_reached"].values, np.asarray(ds["snapshot_train_acc"].values, np.float64), np.nan)
    for k, s in enumerate(np.asarray(curves["snapshot"].values)[ok]):
        if policy[s] == "final" and np.isfinite(acc[:, s]).any():
            values[k] = float(np.nanmean(acc[:, s]))
    return values


def plot_landscape_curves(store: str | os.PathLike | xr.Dataset, *, snapshots: Sequence[int] | None = None,
                          seed: int | np.random.Generator | None = 0, ax: Any = None) -> Any:
    """Figure 3: the PCA activation-landscape curves (:func:`landscape_curves`), each
    snapshot a curve through its layers (consecutive layers joined, the input layer a
    square), coloured yellow (lowest threshold) to purple (highest) with a colourbar of
    the threshold; the final epoch sits at the mean training accuracy its networks reached
    (a legend instead when some other snapshot is not a threshold). Returns the axes.
    """
    ds = landscape_results(store)
    curves = landscape_curves(ds, snapshots=snapshots, seed=seed)
    ok = np.flatnonzero(np.isfinite(curves.values).all(axis=(1, 2)))
    colors, mappable, what = _threshold_colors(_accuracy_scale(ds, curves, ok))
    if mappable is not None and "final" in set(ds["snapshot_policy"].values[np.asarray(curves["snapshot"].values)[ok]]):
        what += "\n(final epoch: mean accuracy reached)"
    ax = _new_axes(ax, (5.5, 4.2))
    for col, i in zip(colors, ok):
        xy = curves.values[i]
        ax.plot(xy[:, 0], xy[:, 1], "o-", color=col, ms=3, lw=1.2, label=str(curves["label"].values[i]))
        ax.plot(xy[0, 0], xy[0, 1], "s", color=col, ms=6, mec="k", mew=0.5)
    evr = curves.attrs["explained_variance_ratio"]
    ax.set_xlabel(f"PC 1 ({100 * evr[0]:.0f}% of the variance)")
    ax.set_ylabel(f"PC 2 ({100 * evr[1]:.0f}%)")
    ax.set_title("activation landscape curves (square: input layer)", fontsize=9)
    if mappable is not None:
        ax.figure.colorbar(mappable, ax=ax, label=what)
    else:
        ax.legend(fontsize=7, title=what, title_fontsize=7)
    return ax


def plot_complexity(store: str | os.PathLike | xr.Dataset, *, statistic: str = "norm_of_mean",
                    snapshots: Sequence[int] | None = None, ax: Any = None) -> Any:
    """Figure 4: topological complexity per layer (:func:`topological_complexity`), one
    line per snapshot that some network counts at, coloured yellow (lowest threshold) to
    purple (highest), with a legend. Returns the axes."""
    from ..plotting import plot_norms_per_layer

    comp = topological_complexity(store, statistic=statistic, snapshots=snapshots)
    ok = np.flatnonzero(comp["n_networks"].values > 0)
    if ok.size == 0:
        raise ValueError("store: no network counts at any of the chosen snapshots; there is no complexity to plot")
    ax = _new_axes(ax, (6.5, 3.8))
    plot_norms_per_layer(comp.values[ok], ax=ax, layer_names=[str(x) for x in comp["layer"].values],
                         series_labels=[f"{comp['label'].values[i]} (n={int(comp['n_networks'].values[i])})"
                                        for i in ok], cmap="viridis_r")
    ax.set_ylabel("norm of the average landscape" if statistic == "norm_of_mean" else "average landscape norm")
    ax.set_title("topological complexity per layer", fontsize=9)
    ax.get_legend().set_title("threshold", prop={"size": 7})
    return ax


# --------------------------------------------------------------------------- all figures as files


def store_figures(store: str | os.PathLike | xr.Dataset) -> list[int]:
    """The figures among 2-4 the store's landscapes allow: 2 and 4 need a snapshot some
    network counts at, 3 (a PCA) also two average landscapes to project. (Figure 1 needs
    the sweep folder and a checkpoint, see :func:`draw_figures`.)"""
    ds = landscape_results(store)
    counted = int((average_landscapes(ds)["n_networks"].values > 0).sum())
    if not counted:
        return []
    return [2, 3, 4] if counted * ds.sizes["layer"] >= 2 else [2, 4]


def check_figures(store: str | os.PathLike | xr.Dataset, out_dir: str | os.PathLike | None = None) -> Path:
    """Check :func:`draw_figures`'s arguments without creating anything; return the folder
    the PNGs go to (``out_dir``, default ``STORE/figures``)."""
    ds = landscape_results(store)
    if out_dir is None:
        folder = _folder(store, ds)
        if folder is None:
            raise ValueError("out_dir is required when store is a Dataset not opened from a sweep folder")
        target = folder / "figures"
    elif isinstance(out_dir, (str, os.PathLike)) and os.fspath(out_dir) != "":
        target = Path(out_dir)
    else:
        raise TypeError(f"out_dir must be a folder path or None, got {out_dir!r}")
    existing = target
    while not os.path.lexists(existing):
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"out_dir: {existing} exists and is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"out_dir: {existing} is not writable")
    return target


def draw_figures(store: str | os.PathLike | xr.Dataset, out_dir: str | os.PathLike | None = None, *,
                 network: int = 0, dpi: int = 120) -> list[Path]:
    """Draw every figure of the paper that the store allows into ``out_dir`` (default
    ``STORE/figures``, created) as PNG (:data:`FIGURES`); return their paths in figure order.

    Figures 2-4 need a snapshot that some network counts at (Figure 3 also two landscapes
    to project); Figure 1 needs the sweep folder, a snapshot ``network`` reached and the
    sweep's data files (left out with a warning when they are missing). A figure the
    store does not allow is left out. Files are written through a temporary
    name and a rename, so a reader never sees half a PNG.
    """
    from matplotlib.figure import Figure

    from ..plotting.sweep import save_figure

    ds = landscape_results(store)
    target = check_figures(store, out_dir)
    network = check_int(network, "network", minimum=0, maximum=ds.sizes["network"] - 1)
    dpi = check_int(dpi, "dpi", minimum=10)
    ds = ds.load()
    folder = _folder(store, ds)
    target.mkdir(parents=True, exist_ok=True)
    mean = average_landscapes(ds)
    drawn: list[Path] = []

    def save(fig: Any, number: int) -> None:
        path = target / FIGURES[number]
        save_figure(fig, path, dpi=dpi)
        drawn.append(path)

    names = [str(x) for x in ds["layer"].values]
    if folder is not None and bool(ds["snapshot_reached"].values[network].any()) \
            and (folder / "sweep.json").is_file():
        fig = Figure(figsize=_figure1_size(len(_default_layers(names))), layout="constrained")
        try:
            save(plot_activations(folder, network, fig=fig), 1)
        except (FileNotFoundError, ValueError) as exc:
            # data files (MNIST's IDX files) not on this machine, or a config that no longer reads back
            # here (ConfigError is a ValueError): the other figures need only the store
            logger.warning("Figure 1 left out: its network or data could not be loaded (%s)", exc)
    counted = int((mean["n_networks"].values > 0).sum())
    drawable = store_figures(ds)
    if 2 in drawable:
        fig = Figure(figsize=_figure2_size(counted, len(names)), layout="constrained")
        save(plot_average_landscapes(ds, fig=fig), 2)
        if 3 in drawable:
            fig = Figure(figsize=(5.5, 4.2), layout="constrained")
            plot_landscape_curves(ds, ax=fig.add_subplot())
            save(fig, 3)
        fig = Figure(figsize=(6.5, 3.8), layout="constrained")
        plot_complexity(ds, ax=fig.add_subplot())
        save(fig, 4)
    return drawn


# --------------------------------------------------------------------------- tables as files


def stage_snapshots(store: str | os.PathLike | xr.Dataset) -> list[int]:
    """The snapshot indices that name training stages: the accuracy thresholds and the final
    epoch (the paper's Table I columns, its last one the end of training), in axis order."""
    ds = landscape_results(store)
    return [s for s, p in enumerate(ds["snapshot_policy"].values) if p in ("accuracy_threshold", "final")]


def snapshots_by_label(store: str | os.PathLike | xr.Dataset, labels: Sequence[str]) -> list[int]:
    """The snapshot indices named by ``labels``: a threshold ("0.55"), "final", "loaded" or
    "epoch 10", as the study's tables label them. An unknown label is a ValueError listing
    the store's labels."""
    ds = landscape_results(store)
    known = _labels(ds)
    out = []
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            raise TypeError(f"labels[{i}] must be a str such as '0.55' or 'final', got {type(label).__name__}")
        text = label.strip()
        match = [s for s, k in enumerate(known) if k == text]
        if not match:  # "0.550" or ".55" name the threshold 0.55 too
            try:
                value = float(text)
            except ValueError:
                value = None
            thr = ds["snapshot_threshold"].values
            match = [s for s, p in enumerate(ds["snapshot_policy"].values)
                     if value is not None and p == "accuracy_threshold" and float(thr[s]) == value]
        if not match:
            raise ValueError(f"labels[{i}]: {label!r} names no snapshot of this store; its snapshots are "
                             f"{', '.join(known)}")
        out.append(match[0])
    return out


def complexity_csv(store: str | os.PathLike | xr.Dataset) -> str:
    """The topological complexity per (snapshot, layer) as CSV: both readings of
    :data:`COMPLEXITY` (landscape-norm units) and the networks counted, one row each."""
    ds = landscape_results(store)
    tables = {stat: topological_complexity(ds, statistic=stat) for stat in COMPLEXITY}
    first = tables[COMPLEXITY[0]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["snapshot", "label", "threshold", "layer", "n_networks", *COMPLEXITY])
    for i, s in enumerate(first["snapshot"].values):
        for j, layer in enumerate(first["layer"].values):
            w.writerow([int(s), str(first["label"].values[i]), repr(float(first["threshold"].values[i])), str(layer),
                        int(first["n_networks"].values[i]), *(repr(float(tables[c].values[i, j])) for c in COMPLEXITY)])
    return buf.getvalue()


def write_tables(store: str | os.PathLike | xr.Dataset, out_dir: str | os.PathLike | None = None, *,
                 snapshots: Sequence[int] | None = None, n_permutations: int = 100_000,
                 seed: int | np.random.Generator | None = 0) -> list[Path]:
    """Write :data:`TABLES` into ``out_dir`` (default ``STORE/figures``, created): the
    complexity per layer and snapshot (:func:`complexity_csv`), and Table I
    (:func:`table1` over ``snapshots``, default :func:`stage_snapshots`, with
    ``n_permutations`` and ``seed``) as CSV and Markdown. Table I is left out, with a
    warning, when fewer than two snapshots are chosen, and nothing is written while no
    network has a landscape at any snapshot. Each file is written whole or not at all (a
    temporary name, then a rename). Returns the paths written."""
    from ..sweep.store import write_atomic

    target = check_figures(store, out_dir)
    ds = landscape_results(store)
    if not (average_landscapes(ds)["n_networks"].values > 0).any():
        logger.warning("no table written: no network has a landscape at any snapshot yet")
        return []
    chosen = stage_snapshots(ds) if snapshots is None else list(snapshots)
    tb = None
    if len(chosen) >= 2:
        tb = table1(ds, snapshots=chosen, n_permutations=n_permutations, seed=seed)
    target.mkdir(parents=True, exist_ok=True)
    written = [target / TABLES[0]]
    write_atomic(written[0], complexity_csv(ds))
    if tb is None:
        logger.warning("Table I left out: it compares two or more snapshots, %d chosen", len(chosen))
        return written
    for name, text in ((TABLES[1], table1_csv(tb)), (TABLES[2], table1_markdown(tb))):
        write_atomic(target / name, text)
        written.append(target / name)
    return written
