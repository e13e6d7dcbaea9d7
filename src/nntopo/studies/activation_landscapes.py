"""The activation-landscapes paper's statistics, read from a sweep's store (issue 11, first slice).

The ``landscapes`` analysis of the engine (:mod:`nntopo.sweep.analyses`) stores
``landscape (network, snapshot, subsample, layer, level, t)``; this module turns each
network's mean over its input subsamples (networks are the independent units of the
test) back into :class:`~nntopo.landscapes.ActivationLandscape` objects and computes Table I: the
permutation test between every pair of snapshots (training-accuracy thresholds), with
the paper's statistic, the distance between the groups' mean activation landscapes in
the product inner product of its equation (1). Networks that did not reach a snapshot
are counted and listed, never silently dropped. It registers no analysis.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from .._validation import as_generator, check_int
from ..landscapes import ActivationLandscape, Landscape, permutation_test

__all__ = ["stored_activation_landscapes", "table1", "table1_markdown"]


def stored_activation_landscapes(out: str | os.PathLike) -> tuple[xr.Dataset, list[list[ActivationLandscape | None]]]:
    """The store of ``out`` and its landscapes as ``[network][snapshot]`` activation
    landscapes, each the pointwise mean over the input subsamples (None where the piece
    was not reached or not computed)."""
    from ..sweep.store import open_results

    ds = open_results(out)
    if "landscape" not in ds:
        raise ValueError(f"out: {out} holds no landscapes analysis")
    attrs = ds.landscape.attrs
    grid = tuple(float(x) for x in attrs["grid"])
    hom_dim = int(attrs["hom_dim"])
    values = ds.landscape.mean("subsample", skipna=False).values  # (network, snapshot, layer, level, t)
    names = [str(x) for x in ds.layer.values]
    reached = ds.snapshot_epoch.values >= 0
    out_list: list[list[ActivationLandscape | None]] = []
    for n in range(values.shape[0]):
        row: list[ActivationLandscape | None] = []
        for s in range(values.shape[1]):
            v = values[n, s]
            if not reached[n, s] or np.isnan(v).any():
                row.append(None)
                continue
            row.append(ActivationLandscape([Landscape(v[i], grid, hom_dim=hom_dim) for i in range(v.shape[0])], names))
        out_list.append(row)
    return ds, out_list


def table1(
    out: str | os.PathLike,
    *,
    snapshots: list[int] | None = None,
    n_permutations: int = 100_000,
    seed: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """Table I: permutation tests between every pair of ``snapshots`` (indices on the
    snapshot axis; default all), over the networks that reached both members' snapshots
    independently (group A: networks with snapshot a, group B: networks with snapshot b).

    Returns dims ``("snapshot_a", "snapshot_b")`` (upper triangle filled, NaN elsewhere
    and where a group has no network): ``statistic`` (distance between the mean
    activation landscapes, normalized-distance units), ``pvalue``, ``n_a``, ``n_b``; and
    per snapshot ``n_reached`` and ``missing`` (comma-separated network indices that did
    not reach it). ``seed`` seeds the permutations (one generator for the whole table).
    """
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    gen = as_generator(seed)
    ds, als = stored_activation_landscapes(out)
    n_snap = ds.sizes["snapshot"]
    if snapshots is None:
        snapshots = list(range(n_snap))
    snapshots = [check_int(s, f"snapshots[{i}]", minimum=0, maximum=n_snap - 1) for i, s in enumerate(snapshots)]
    k = len(snapshots)
    stat = np.full((k, k), np.nan)
    pval = np.full((k, k), np.nan)
    n_a = np.zeros((k, k), np.int64)
    n_b = np.zeros((k, k), np.int64)
    groups = [[row[s] for row in als if row[s] is not None] for s in snapshots]
    missing = [",".join(str(n) for n, row in enumerate(als) if row[s] is None) for s in snapshots]
    for i in range(k):
        for j in range(i + 1, k):
            a, b = groups[i], groups[j]
            n_a[i, j], n_b[i, j] = len(a), len(b)
            if not a or not b:
                continue
            res = permutation_test(a, b, n_permutations=n_permutations, seed=gen)
            stat[i, j], pval[i, j] = res.statistic, res.pvalue
    labels = np.asarray(snapshots)
    dims = ("snapshot_a", "snapshot_b")
    return xr.Dataset(
        {"statistic": (dims, stat), "pvalue": (dims, pval), "n_a": (dims, n_a), "n_b": (dims, n_b),
         "n_reached": ("snapshot", np.array([len(g) for g in groups], np.int64)),
         "missing": ("snapshot", np.array(missing, dtype=object))},
        coords={"snapshot_a": labels, "snapshot_b": labels, "snapshot": labels,
                "threshold": ("snapshot", ds.snapshot_threshold.values[labels])},
        attrs={"n_permutations": n_permutations, "n_networks": len(als)},
    )


def table1_markdown(table: xr.Dataset) -> str:
    """Table I as Markdown: one row per pair, with the networks behind each group."""
    thr = table.threshold.values
    lines = ["| threshold a | threshold b | networks a / b | statistic | p-value |", "|---|---|---|---|---|"]
    snaps = table.snapshot_a.values
    for i in range(len(snaps)):
        for j in range(i + 1, len(snaps)):
            s, p = float(table.statistic.values[i, j]), float(table.pvalue.values[i, j])
            cell = "no network" if np.isnan(s) else f"{s:.4g} | {p:.3g}"
            if np.isnan(s):
                cell += " | -"
            lines.append(f"| {thr[i]:g} | {thr[j]:g} | {int(table.n_a.values[i, j])} / {int(table.n_b.values[i, j])} "
                         f"| {cell} |")
    for s, t, m in zip(snaps, thr, table.missing.values):
        if m:
            lines.append(f"\nthreshold {t:g}: networks {m} did not reach it")
    return "\n".join(lines) + "\n"
