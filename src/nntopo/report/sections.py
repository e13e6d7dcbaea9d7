"""The report's sections: one :class:`~nntopo.report.ReportSection` per view of a sweep.

Each builder draws with the figure and table functions of the modules that own the
analysis (``experiments.demo``, ``plotting``, ``studies.fiedler``,
``studies.training_topology``, ``studies.activation_landscapes``) and only arranges
their output; the one computation of its own is the "both views" correlation across
(network, snapshot) pairs. :data:`SECTIONS` lists them in page order; a study adds its
section by appending a builder (``applies`` says whether the store holds its data).

Landscape norms are read as ``landscape_norm`` averaged over every dim other than
``network``, ``snapshot`` and ``layer`` (e.g. repeated subsamples of the batch).
"""

from __future__ import annotations

import json
import os
import platform
import warnings
from pathlib import Path

import numpy as np

from .build import Item, Note, Preformatted, ReportSection, ReportStore, Table, fmt, markdown_table

__all__ = ["SECTIONS", "landscape_norms", "region_counts", "complexity_correlation"]

#: The dual graph is drawn only for complexes up to this many regions (beyond, a hairball).
DUAL_GRAPH_MAX_REGIONS = 3000


def _nanmean(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean over ``axis`` of the finite values; NaN (no warning) where there is none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.where(np.isfinite(a), a, np.nan), axis=axis)


def _count(ok: np.ndarray) -> np.ndarray:
    return ok.sum(axis=0).astype(int)


# --------------------------------------------------------------------------- shared readers


def landscape_norms(ds) -> np.ndarray:
    """Landscape norms (L2, normalized-distance units), float64 ``(network, snapshot, layer)``:
    ``landscape_norm`` averaged over its dims other than those three; NaN where not computed."""
    da = ds["landscape_norm"]
    extra = [d for d in da.dims if d not in ("network", "snapshot", "layer")]
    if extra:
        da = da.mean(extra, skipna=False)
    return np.asarray(da.transpose("network", "snapshot", "layer").values, dtype=np.float64)


#: Where a region count can be read, in order of preference: (variable, how).
_REGION_SOURCES = (("f_vector", "polyhedral f-vector, top-dimensional cells"),
                   ("betti_f_vector", "betti f-vector, top-dimensional cells"),
                   ("fiedler_n_regions", "fiedler regions"))


def region_counts(ds) -> tuple[np.ndarray, str] | None:
    """Regions of the complex per ``(network, snapshot)`` (float64, NaN where not computed)
    and the variable they were read from; None if the store has no complex analysis."""
    for name, how in _REGION_SOURCES:
        if name in ds:
            v = np.asarray(ds[name].values)
            v = v[..., -1] if v.ndim == 3 else v
            out = v.astype(np.float64)
            out[v < 0] = np.nan
            return out, how
    return None


def complexity_correlation(complexity: np.ndarray, regions: np.ndarray) -> dict:
    """Pearson and Spearman correlation of two equally shaped arrays over the entries where
    both are finite. Spearman's rho is the Pearson coefficient of the average ranks (ties
    share their mean rank), as :func:`scipy.stats.spearmanr` defines it. Returns
    ``{"n", "pearson": CorrelationResult | None, "spearman": ..., "reason": str}`` (None
    and a reason where undefined: fewer than 3 pairs or a constant series)."""
    from scipy.stats import rankdata

    from ..analysis import pearson

    ok = np.isfinite(complexity) & np.isfinite(regions)
    x, y = complexity[ok], regions[ok]
    out: dict = {"n": int(x.size), "pearson": None, "spearman": None, "reason": ""}
    if x.size < 3:
        out["reason"] = f"only {x.size} (network, snapshot) pairs have both values; a correlation needs 3"
        return out
    try:
        out["pearson"] = pearson(x, y)
        out["spearman"] = pearson(rankdata(x), rankdata(y))
    except ValueError as exc:  # a constant series: the correlation is undefined
        out["pearson"] = out["spearman"] = None
        which = {"x": "the topological complexity", "y": "the region count"}[str(exc).split()[0]]
        out["reason"] = f"{which} is constant over the {x.size} pairs"
    return out


def _reached(ds) -> np.ndarray:
    return np.asarray(ds["snapshot_reached"].values, dtype=bool)


def _snap_rows(st: ReportStore, ok: np.ndarray) -> list[int]:
    """Snapshots where at least one network has data (``ok`` is (network, snapshot))."""
    return [s for s in range(ok.shape[1]) if ok[:, s].any()]


def _draw(st: ReportStore, name: str):
    from ..experiments.demo import demo_figure

    return lambda: demo_figure(st.out, name, st.ds)


# --------------------------------------------------------------------------- overview


def _overview(st: ReportStore) -> list[Item]:
    from ..experiments.demo import available_figures
    from ..sweep.config import network_summary

    ds, cfg = st.ds, st.meta["config"]
    n_net = ds.sizes["network"]
    trained = np.asarray(ds["epochs_trained"].values)
    analyses = ", ".join(sorted(cfg.get("analysis", {}))) or "none"
    items: list[Item] = [Note(
        f"Sweep “{st.name}”: {n_net} networks (seeds {', '.join(str(int(x)) for x in ds['seed'].values)}) "
        f"on {cfg['data']['dataset']}, {network_summary(cfg['network'])}, {ds.sizes['snapshot']} snapshots; "
        f"analyses: {analyses}. {int((trained >= 0).sum())} of {n_net} networks are trained. Folder: {st.out}.")]
    rows = []
    for n in range(n_net):
        e = int(trained[n])
        if e < 0:
            rows.append((str(n), str(int(ds["seed"].values[n])), "not trained yet", "–", "–"))
            continue
        rows.append((str(n), str(int(ds["seed"].values[n])), str(e), fmt(ds["train_acc"].values[n, e]),
                     fmt(ds["test_acc"].values[n, e])))
    items.append(Table("Networks", ("network", "seed", "epochs trained", "final train acc", "final test acc"),
                       tuple(rows), "Accuracies are shares in [0, 1] at the last trained epoch."))
    reached = _reached(ds)
    epoch = np.where(reached, ds["snapshot_epoch"].values, np.nan).astype(np.float64)
    acc = np.where(reached, ds["snapshot_train_acc"].values, np.nan).astype(np.float64)
    rows = [(str(s), st.labels[s], f"{int(reached[:, s].sum())}/{n_net}", fmt(_nanmean(epoch)[s], 3),
             fmt(_nanmean(acc)[s])) for s in range(ds.sizes["snapshot"])]
    items.append(Table("Snapshots", ("snapshot", "policy", "networks reached", "mean epoch", "mean train acc"),
                       tuple(rows), "Means over the networks that reached the snapshot."))
    if "training_curves.png" in available_figures(ds):
        items.append(st.figure("Training curves", "Train (solid) and test (dashed) accuracy per epoch; each network "
                                                  "thin, the mean thick.", _draw(st, "training_curves.png")))
    return items


# --------------------------------------------------------------------------- activation landscapes


def _landscapes(st: ReportStore) -> list[Item]:
    from ..experiments.demo import available_figures
    from ..studies.activation_landscapes import (plot_activations, stage_snapshots, table1, table1_markdown,
                                                 topological_complexity)

    ds = st.ds
    items: list[Item] = []
    hom_dim = ds["landscape"].attrs.get("hom_dim", "?")
    captions = {
        "activation_landscapes.png": (f"Mean H{hom_dim} activation landscapes",
                                      "Pointwise mean over the networks that reached each snapshot; rows: "
                                      "snapshots, columns: layers; x: t (normalized distance)."),
        "landscape_norms.png": ("Topological complexity per layer",
                                "L2 norm of the mean landscape of each layer, one line per snapshot."),
        "landscape_curves.png": ("Activation landscape curves",
                                 "2-D PCA of the mean landscapes; one curve per snapshot through the layers."),
    }
    available = available_figures(ds)
    for name, (title, caption) in captions.items():
        if name in available:
            items.append(st.figure(title, caption, _draw(st, name)))
    if _reached(ds)[0].any():
        items.append(st.figure("Activations of network 0 (the paper's Figure 1)",
                               "2-D PCA of the activations of up to five layers of network 0 at its last reached "
                               "snapshot, on up to 3,000 points of the data set, coloured by class; one PCA per "
                               "layer.", lambda: plot_activations(st.out, 0)))
    # the study's own mean of the per-network norms (each network's mean over subsamples)
    comp = topological_complexity(ds, statistic="mean_of_norms")
    counted = comp["n_networks"].values
    layers = [str(x) for x in ds["layer"].values]
    rows = tuple((st.labels[s], str(int(counted[s])), *(fmt(v) for v in comp.values[s]))
                 for s in range(len(counted)) if counted[s] > 0)
    items.append(Table("Mean landscape norm per layer", ("snapshot", "networks", *layers), rows,
                       "L2 norm of each network's landscape (normalized-distance units), mean over networks."))
    # Table I compares training stages: the accuracy thresholds and the last epoch trained
    # (the paper's 99.999% column), not the every-k epochs of a time series
    thresholds = stage_snapshots(ds)
    if len(thresholds) < 2:
        items.append(Note(f"Table I compares the snapshots at accuracy thresholds ([training.snapshots] "
                          f"thresholds, final); this sweep has {len(thresholds)}, and it needs 2."))
    else:
        tb = table1(st.out, snapshots=thresholds, n_permutations=st.n_permutations, seed=st.seed)
        items += markdown_table(
            table1_markdown(tb), "Table I: permutation tests between snapshots",
            f"For every pair of snapshots, the distance between the groups' mean activation landscapes (the "
            f"landscapes paper's statistic, normalized-distance units) and its permutation p-value from "
            f"{st.n_permutations:,} random permutations (seed {st.seed}; the report's setting, not the paper's "
            f"100,000). Group a: the networks that reached threshold a; group b likewise.")
    return items


# --------------------------------------------------------------------------- polyhedral complex


def _polyhedral(st: ReportStore) -> list[Item]:
    from ..experiments.demo import available_figures

    ds = st.ds
    f = np.asarray(ds["f_vector"].values)
    ok = (f >= 0).all(axis=2)
    chi = np.asarray(ds["euler_characteristic"].values)
    d = f.shape[2] - 1
    rows = []
    for s in _snap_rows(st, ok):
        fs = f[ok[:, s], s]
        rows.append((st.labels[s], str(int(ok[:, s].sum())), *(fmt(v, 6) for v in fs.mean(axis=0)),
                     f"{int(fs[:, -1].min())}–{int(fs[:, -1].max())}",
                     ", ".join(str(int(x)) for x in sorted(set(chi[ok[:, s], s])))))
    items: list[Item] = [Table(
        "Exact polyhedral complex per snapshot",
        ("snapshot", "networks", *(f"mean f{k}" for k in range(d + 1)), "regions (min–max)", "Euler characteristics"),
        tuple(rows), f"f_k: number of k-cells of the complex on the box {ds['f_vector'].attrs.get('box')}; f{d} is "
                     "the number of regions (linear pieces). The Euler characteristic of a box is 1.")]
    if "complex_final.png" in available_figures(ds):
        items.append(st.figure("The complex of network 0", "Regions coloured by the predicted class, rebuilt from "
                                                           "the stored checkpoint of its last reached snapshot "
                                                           "(the f-vector must equal the stored one).",
                               _draw(st, "complex_final.png")))
    return items


# --------------------------------------------------------------------------- Fiedler partition


def _fiedler(st: ReportStore) -> list[Item]:
    from ..studies.fiedler import WEIGHTINGS, fiedler_summary, plot_dual_graph, plot_fiedler_partitions
    from ..studies.fiedler import summary_markdown

    ds = st.ds
    mis = np.asarray(ds["fiedler_misclassification"].values, dtype=np.float64)  # (net, snap, adjacency, weighting)
    regions = np.asarray(ds["fiedler_n_regions"].values)
    done = regions >= 0
    snaps = _snap_rows(st, done)
    if not snaps:
        return [Note("No snapshot has a Fiedler result yet.")]
    last = snaps[-1]
    adjacency = [str(a) for a in ds["adjacency"].values]
    items = markdown_table(
        summary_markdown(fiedler_summary(st.out, snapshot=last)),
        f"Table 1: Fiedler partition at snapshot {last} ({st.labels[last]})",
        "Mean ± sd over the networks (seeds) with a result at that snapshot: the share (%) of regions holding "
        "training points whose mean label disagrees with the Fiedler partition, the share of seeds at 0%, and the "
        "Euclidean error against the mean labels; train and test loss at the snapshot's epoch.")
    cols = [(i, j) for i in range(len(adjacency)) for j in range(len(WEIGHTINGS))]
    mean = _nanmean(np.where(done[..., None, None], mis, np.nan))
    rows = tuple((st.labels[s], str(int(done[:, s].sum())), fmt(_nanmean(np.where(done, regions, np.nan))[s], 6),
                  *(fmt(100 * mean[s, i, j], 3) for i, j in cols)) for s in snaps)
    items.append(Table("Fiedler misclassification per snapshot (%)",
                       ("snapshot", "networks", "mean regions",
                        *(f"{adjacency[i]} {WEIGHTINGS[j]}" for i, j in cols)), rows,
                       "Mean over networks of the share of labelled regions on the wrong side of the partition."))
    if len(ds["cell_dim"]) == 3:
        net = int(np.flatnonzero(done[:, last])[0])
        items.append(st.figure(
            f"Fiedler partitions of network {net} at {st.labels[last]}",
            f"Regions coloured by the unweighted and the weighted Fiedler partition ({adjacency[0]} adjacency), "
            "training points and the decision boundary (black).",
            lambda: plot_fiedler_partitions(st.out, net, last, adjacency=adjacency[0])))
        n_reg = int(regions[net, last])
        if n_reg <= DUAL_GRAPH_MAX_REGIONS:
            adj = "hamming" if "hamming" in adjacency else adjacency[0]
            items.append(st.figure(f"Dual graph of network {net} at {st.labels[last]}",
                                   f"{adj} adjacency; vertices at region centres coloured by the weighted partition.",
                                   lambda: plot_dual_graph(st.out, net, last, adjacency=adj)))
        else:
            items.append(Note(f"The dual graph ({n_reg} regions) is not drawn: above {DUAL_GRAPH_MAX_REGIONS} "
                              "regions it is a solid blot."))
    return items


# --------------------------------------------------------------------------- Betti curves


def _betti(st: ReportStore) -> list[Item]:
    from ..studies.training_topology import plot_betti_curves, plot_cells_and_loss, plot_heatmaps, table2
    from ..studies.training_topology import table2_markdown

    ds = st.ds
    n_cells = np.asarray(ds["betti_n_cells"].values)
    done = n_cells >= 0
    snaps = _snap_rows(st, done)
    if not snaps:
        return [Note("No snapshot has Betti curves yet.")]
    degrees = [int(k) for k in ds["degree"].values]
    peak = np.where(done[..., None], ds["betti_peak_value"].values, np.nan)
    crit = np.where(done, ds["betti_critical_share"].values, np.nan)
    rows = tuple((st.labels[s], str(int(done[:, s].sum())), fmt(_nanmean(np.where(done, n_cells, np.nan))[s], 6),
                  fmt(_nanmean(crit)[s]), *(fmt(_nanmean(peak)[s, k], 5) for k in range(len(degrees))))
                 for s in snaps)
    items: list[Item] = [Table(
        "Betti curves of random filtrations per snapshot",
        ("snapshot", "networks", "mean cells", "mean critical share", *(f"mean peak b{k}" for k in degrees)), rows,
        f"Each network's curves are averaged over {ds['betti_curve'].attrs.get('n_trials', '?')} random "
        "filtrations (0-cells first, then 1-cells, ...); critical share: the share of cells added where b1 peaks.")]
    every = np.asarray(ds["snapshot_policy"].values) == "every_k"
    n_every = int(every.sum())
    if n_every:
        items.append(st.figure("Heat maps of the mean Betti numbers (Figure 5)",
                               "x: epoch, y: cells added / the largest cell count over the epochs, colour: mean b_k "
                               "over the networks; the every-k snapshots.",
                               lambda: plot_heatmaps(st.out, None)))
        items.append(st.figure("Cells and loss during training (Figure 6)",
                               "Cells of the complex per snapshot epoch (blue) with the training loss (red, log "
                               "scale); each network thin, the mean thick.", lambda: plot_cells_and_loss(st.out)))
        net = int(np.flatnonzero(done[:, every].all(axis=1))[0]) if done[:, every].all(axis=1).any() else 0
        items.append(st.figure(f"Betti curves of network {net} (Figure 4)",
                               "Mean Betti curves at the first, middle and last analysed epochs.",
                               lambda: plot_betti_curves(st.out, net)))
        if n_every >= 4:
            max_lag = min(5, n_every - 3)
            items += markdown_table(
                table2_markdown(table2({st.name: st.out}, max_lag=max_lag)), "Table 2: loss against topology",
                f"Over the networks with every every-k snapshot analysed: Pearson, detrended, differenced and "
                f"cross-correlation (lags up to {max_lag} snapshots) of the training loss against the 0-cell count "
                "and the critical share; p < 0.05 counts.")
        else:
            items.append(Note(f"Table 2 needs at least 4 every-k snapshots; this sweep has {n_every}."))
    else:
        items.append(st.figure("Mean Betti curves per snapshot",
                               "One panel per degree; x: share of the cells added, y: b_k averaged over the "
                               "filtrations and the networks.", lambda: _betti_by_snapshot(st, done, snaps)))
        items.append(Note("The training-topology figures (heat maps, cells and loss) and Table 2 follow the "
                          "snapshots of an every = k policy ([training.snapshots] every = k); this sweep has none."))
    return items


def _betti_by_snapshot(st: ReportStore, done: np.ndarray, snaps: list[int]):
    import matplotlib
    import matplotlib.pyplot as plt

    ds = st.ds
    curves = np.where(done[..., None, None], ds["betti_curve"].values, np.nan)  # (net, snap, share, degree)
    mean = _nanmean(curves)
    degrees = [int(k) for k in ds["degree"].values]
    share = ds["share"].values
    fig, axes = plt.subplots(1, len(degrees), figsize=(3.6 * len(degrees), 3.2), squeeze=False, layout="constrained")
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(snaps)))
    for ax, k in zip(axes[0], degrees):
        for c, s in zip(colors, snaps):
            ax.plot(share, mean[s, :, k], color=c, lw=1.2, label=st.labels[s])
        ax.set_xlabel("share of cells added")
        ax.set_ylabel(f"mean $b_{k}$")
        ax.set_title(f"$b_{k}$")
    axes[0, -1].legend(fontsize=7)
    return fig


# --------------------------------------------------------------------------- both views


def _both_applies(st: ReportStore) -> bool:
    return st.has("landscape_norm") and region_counts(st.ds) is not None


def _both(st: ReportStore) -> list[Item]:
    import matplotlib.pyplot as plt

    from ..plotting import plot_norms_per_layer

    ds = st.ds
    norms = landscape_norms(ds)
    regions, source = region_counts(ds)
    layers = [str(x) for x in ds["layer"].values]
    complexity = norms.sum(axis=2)  # NaN where any layer is missing
    both = np.isfinite(complexity) & np.isfinite(regions)
    snaps = _snap_rows(st, np.isfinite(complexity) | np.isfinite(regions))
    if not snaps:
        return [Note("No snapshot has landscape norms or a region count yet: the sweep has no finished "
                     "analysis piece.")]
    fiedler = None
    if st.has("fiedler_misclassification"):
        mis = np.asarray(ds["fiedler_misclassification"].values, dtype=np.float64)
        adjacency, weighting = str(ds["adjacency"].values[0]), str(ds["weighting"].values[-1])
        fiedler = (100 * mis[:, :, 0, -1], f"Fiedler miscl. % ({adjacency}, {weighting})")
    crit = None
    if st.has("betti_critical_share"):
        crit = np.where(np.asarray(ds["betti_n_cells"].values) >= 0, ds["betti_critical_share"].values, np.nan)
    mean_norms = _nanmean(norms)
    header = ["snapshot", "Σ norms", "regions"]
    extra = []
    if fiedler is not None:
        header.append(fiedler[1])
        extra.append(_nanmean(fiedler[0]))
    if crit is not None:
        header.append("b1 critical share")
        extra.append(_nanmean(crit))
    header += [f"norm {name}" for name in layers]
    rows = tuple((st.labels[s], fmt(_nanmean(complexity)[s]), fmt(_nanmean(regions)[s], 6),
                  *(fmt(e[s], 3) for e in extra), *(fmt(v, 3) for v in mean_norms[s])) for s in snaps)
    items: list[Item] = [Table(
        "Both views per snapshot", tuple(header), rows,
        f"Means over networks: the sum over the {len(layers)} layers of the landscape norms (the topological "
        f"complexity used below), the number of regions ({source})"
        + (", the Fiedler partition's misclassification" if fiedler is not None else "")
        + (", the share of cells where b1 peaks" if crit is not None else "")
        + ", then the landscape norm of each layer.")]

    def side_by_side():
        panels = 2 + (fiedler is not None)
        fig, axes = plt.subplots(1, panels, figsize=(4.8 * panels, 3.8), layout="constrained")
        keep = [s for s in snaps if np.isfinite(mean_norms[s]).all()]
        # snapshots yellow (early) to purple (late), as in the landscapes study's Figures 3 and 4
        plot_norms_per_layer(mean_norms[keep], ax=axes[0], layer_names=layers,
                             series_labels=[st.labels[s] for s in keep], cmap="viridis_r")
        axes[0].set_title("landscape norm per layer (mean over networks)", fontsize=9)
        x = np.arange(len(snaps))
        for ax, (values, label) in zip(axes[1:], [(regions, "regions")] + ([fiedler] if fiedler else [])):
            for row in values[:, snaps]:
                ax.plot(x, row, "o-", color="0.6", lw=0.6, ms=2)
            ax.plot(x, _nanmean(values[:, snaps]), "o-", color="C3", lw=2, label="mean")
            ax.set_xticks(x)
            ax.set_xticklabels([st.labels[s] for s in snaps], rotation=45, fontsize=7)
            ax.set_ylabel(label)
            ax.set_title(f"{label.split(' (')[0]}: mean (red), networks (grey)", fontsize=9)
        return fig

    items.append(st.figure("Landscape norms, regions and Fiedler score side by side",
                           "The same snapshots of the same networks seen from both sides.", side_by_side))
    corr = complexity_correlation(complexity, regions)
    what = (f"topological complexity = sum over the {len(layers)} layers of the landscape norms; region count = "
            f"{source}; pairs: every (network, snapshot) with both computed (n = {corr['n']}).")
    if corr["pearson"] is None:
        items.append(Note(f"The correlation is undefined: {corr['reason']} ({what})"))
        return items
    p, s = corr["pearson"], corr["spearman"]

    def scatter():
        fig, ax = plt.subplots(figsize=(5.2, 4), layout="constrained")
        for i, snap in enumerate(snaps):
            m = both[:, snap]
            ax.scatter(complexity[m, snap], regions[m, snap], s=18, color=f"C{i % 10}", label=st.labels[snap])
        ax.set_xlabel("topological complexity (Σ landscape norms)")
        ax.set_ylabel("regions")
        ax.set_title(f"Pearson r = {p.r:.3f}, Spearman ρ = {s.r:.3f} (n = {p.n})", fontsize=9)
        ax.legend(fontsize=7)
        return fig

    items.append(st.figure("Topological complexity against region count", what, scatter))
    rows = [("Pearson", fmt(p.r), fmt(p.p, 3), str(p.n)),
            ("Spearman (Pearson of average ranks)", fmt(s.r), fmt(s.p, 3), str(s.n))]
    # the same across snapshots alone: each snapshot's means over the networks with both values
    per_snapshot = complexity_correlation(*(_nanmean(np.where(both, v, np.nan)) for v in (complexity, regions)))
    if per_snapshot["pearson"] is not None:
        mp, ms = per_snapshot["pearson"], per_snapshot["spearman"]
        rows += [("Pearson across snapshots (means over networks)", fmt(mp.r), fmt(mp.p, 3), str(mp.n)),
                 ("Spearman across snapshots (means over networks)", fmt(ms.r), fmt(ms.p, 3), str(ms.n))]
    items.append(Table("Correlation across (network, snapshot) pairs", ("measure", "r", "p (two-sided)", "n"),
                       tuple(rows),
                       what + " The p-values treat the pairs as independent; snapshots of one network are not, so "
                              "read them as descriptive. The last rows correlate the per-snapshot means (n = "
                              "snapshots), when there are at least 3."))
    return items


# --------------------------------------------------------------------------- config and environment


def _configuration(st: ReportStore) -> list[Item]:
    from ..sweep.analyses import get_analysis

    analyses = st.meta["config"].get("analysis", {})
    rows = []
    for name, settings in analyses.items():
        try:
            description = get_analysis(name).description
        except KeyError:
            description = "(not registered in this nntopo)"
        rows.append((name, description, json.dumps(settings)))
    items: list[Item] = []
    if rows:
        items.append(Table("Analyses", ("analysis", "what", "settings"), tuple(rows), text=True))
    items.append(Preformatted("Resolved config (sweep.json: every default filled in)", _json(st.meta["config"])))
    return items


def _json(value, indent: str = "") -> str:
    """JSON with one key per line but short lists and tables on one line (a list of 12 widths
    is one line, not 14)."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict) or len(flat) + len(indent) <= 100:
        return flat
    inner = indent + "  "
    body = ",\n".join(f"{inner}{json.dumps(k, ensure_ascii=False)}: {_json(v, inner)}" for k, v in value.items())
    return "{\n" + body + "\n" + indent + "}"


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _marks(out: Path) -> list[tuple[str, float, float]]:
    """Every mark: (kind, job seconds, file time in seconds since the epoch)."""
    rows = []
    for p in sorted((out / "marks").glob("*/*.json")):
        try:
            info = json.loads(p.read_text(encoding="utf-8"))
            rows.append((p.parent.name, float(info.get("seconds", np.nan)), p.stat().st_mtime))
        except (OSError, ValueError, AttributeError):
            continue
    return rows


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "–"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _environment(st: ReportStore) -> list[Item]:
    from importlib.metadata import PackageNotFoundError, version

    from ..sweep.store import META_NAME, versions

    at_run = st.meta.get("versions", {})
    now = versions()
    for extra in ("matplotlib", "jinja2"):
        try:
            now[extra] = version(extra)
        except PackageNotFoundError:
            now[extra] = "not installed"
    names = list(dict.fromkeys([*at_run, *now]))
    items: list[Item] = [Table(
        "Versions", ("package", "when the sweep was laid out (sweep.json)", "building this report"),
        tuple((n, str(at_run.get(n, "–")), str(now.get(n, "–"))) for n in names))]
    marks = _marks(st.out)
    kinds = list(dict.fromkeys(k for k, _, _ in marks))
    rows = []
    for k in kinds:
        sec = np.array([s for kk, s, _ in marks if kk == k])
        rows.append((k, str(sec.size), _duration(float(np.nansum(sec))), _duration(float(np.nanmax(sec)))))
    total = float(np.nansum([s for _, s, _ in marks])) if marks else float("nan")
    rows.append(("all jobs", str(len(marks)), _duration(total), "–"))
    items.append(Table("Run time", ("job kind", "pieces done", "job time (sum)", "longest job"), tuple(rows),
                       "From the marks of the finished pieces: each job's own seconds, summed (work, not wall "
                       "time: jobs on several workers overlap)."))
    if marks:
        start = (st.out / META_NAME).stat().st_mtime
        span = max(t for _, _, t in marks) - start
        items.append(Note(f"Wall time from the folder's layout (sweep.json) to the last finished piece: "
                          f"{_duration(span)} (it includes any pause between an interrupted run and its resumption)."))
    mem = _memory_bytes()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    machine = [("platform", platform.platform()), ("machine", platform.machine() or "–"),
               ("processor", platform.processor() or "–"), ("python", platform.python_version()),
               ("CPU cores", f"{os.cpu_count()}" + (f" ({affinity} usable by this process)" if affinity else "")),
               ("memory", "unknown" if mem is None else f"{mem / 2**30:.1f} GiB")]
    items.append(Table("Machine", ("", "this machine"), tuple(machine),
                       "The machine that built this report; sweep.json does not record where the jobs ran (on a "
                       "Dask cluster, elsewhere)."))
    return items


def _always(st: ReportStore) -> bool:
    return True


#: The report's sections, in page order. Append a :class:`~nntopo.report.ReportSection`
#: to add one (e.g. a study's figures); ``applies`` keeps it off stores without its data.
SECTIONS: list[ReportSection] = [
    ReportSection("overview", "Overview", _always, _overview),
    ReportSection("both-views", "Both views side by side", _both_applies, _both),
    ReportSection("landscapes", "Activation landscapes", lambda st: st.has("landscape", "landscape_norm"),
                  _landscapes),
    ReportSection("polyhedral", "Polyhedral complex", lambda st: st.has("f_vector", "euler_characteristic"),
                  _polyhedral),
    ReportSection("fiedler", "Fiedler partition of the dual graph",
                  lambda st: st.has("fiedler_misclassification", "fiedler_n_regions"), _fiedler),
    ReportSection("betti", "Betti curves of random filtrations",
                  lambda st: st.has("betti_curve", "betti_n_cells"), _betti),
    ReportSection("configuration", "Configuration", _always, _configuration),
    ReportSection("environment", "Versions, run time and machine", _always, _environment),
]
