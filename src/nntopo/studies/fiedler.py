"""The Fiedler study of the polyhedral-signatures paper (Section 2, Table 1) as a sweep analysis.

``[analysis.fiedler]`` computes, for each snapshot, the exact polyhedral complex of the
network on a box, its dual graph under each requested adjacency (``"exact"``: shared
facets; ``"hamming"``: sign vectors at Hamming distance 1, the paper's rule), and the
Fiedler vector of two Laplacians: ``"unweighted"`` (all weights 1) and ``"weighted"``
(vertex weights ``1 + count**power``, count = training points of the network's own split
in the region; edge weights 1 or the facet's length). Each partition is scored against
the regions' mean training labels (:func:`~nntopo.polyhedral.partition_agreement`).

Train and test loss at a snapshot are not recomputed: the store holds the per-epoch
history and ``snapshot_epoch``, and :func:`fiedler_summary` reads them from there.

Also here: :func:`fiedler_summary` (the Table-1 summary over seeds, plain dicts),
:func:`summary_markdown` / :func:`summary_csv`, and the figures
:func:`plot_fiedler_partitions` and :func:`plot_dual_graph`, which rebuild the complex
from the stored checkpoint.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice, check_int, check_real
from ..sweep.analyses import Analysis, Layout, Variable, parse_complex_box, register_analysis
from ..sweep.config import SweepConfig, Table

if TYPE_CHECKING:
    from ..sweep.data import SweepData

__all__ = [
    "FiedlerSettings",
    "FIEDLER",
    "WEIGHTINGS",
    "fiedler_box",
    "fiedler_weights",
    "fiedler_summary",
    "summary_markdown",
    "summary_csv",
    "plot_fiedler_partitions",
    "plot_dual_graph",
]

logger = logging.getLogger("nntopo")

#: The two Laplacians of the paper, in the order of the ``weighting`` dim.
WEIGHTINGS = ("unweighted", "weighted")
ADJACENCIES = ("exact", "hamming")


@dataclass(frozen=True)
class FiedlerSettings:
    """``[analysis.fiedler]``.

    ``box``: ``[lo, hi]`` (every input coordinate) or ``"data"`` (default: the whole data
    set's bounding box widened by ``margin`` times its extent on each side, default 0.05);
    ``adjacency``: list of ``"exact"``/``"hamming"`` (default both); ``vertex_weights``:
    ``"count"`` (``1 + count**power``, default), ``"density"`` (``1 + rho**power`` with
    ``rho`` the region's training points per area relative to the box's mean density;
    2-D inputs) or ``"none"``; ``power`` > 0 (default 1);
    ``edge_weights``: ``"none"`` (default) or ``"facet_length"`` (2-D inputs only). The
    ``"unweighted"`` Laplacian ignores the weight keys.
    """

    box: tuple[float, float] | str
    margin: float
    adjacency: tuple[str, ...]
    vertex_weights: str
    power: float
    edge_weights: str

    def resolved(self) -> dict:
        # margin applies only to box = "data", and the parser refuses it with a list box:
        # the resolved form, re-parsed from sweep.json, states it only where it applies.
        box = {"box": self.box} if isinstance(self.box, str) else {"box": list(self.box)}
        if isinstance(self.box, str):
            box["margin"] = self.margin
        return {**box, "adjacency": list(self.adjacency), "vertex_weights": self.vertex_weights,
                "power": self.power, "edge_weights": self.edge_weights}


def _parse(table: Table, config: SweepConfig) -> FiedlerSettings:
    box = parse_complex_box(table, config, "data")
    d = config.network.n_inputs
    if config.network.n_outputs != 2:
        raise table.error(None, f"the Fiedler evaluation needs 2 classes; this network has {config.network.n_outputs}")
    margin = table.real("margin", 0.05, minimum=0.0)
    if box != "data" and table.has("margin"):
        raise table.error("margin", 'applies only to box = "data"')
    adjacency = table.list("adjacency", lambda n, v: check_choice(v, n, ADJACENCIES), ADJACENCIES, min_len=1)
    if len(set(adjacency)) != len(adjacency):
        raise table.error("adjacency", f"entries repeat: {list(adjacency)}")
    vertex_weights = table.choice("vertex_weights", ("count", "density", "none"), "count")
    if vertex_weights == "density" and d != 2:
        raise table.error("vertex_weights", f'"density" is implemented for 2-D inputs; this network takes {d}')
    power = table.real("power", 1.0, minimum=0.0, min_inclusive=False)
    edge_weights = table.choice("edge_weights", ("none", "facet_length"), "none")
    if edge_weights == "facet_length" and d != 2:
        raise table.error("edge_weights", f'"facet_length" is implemented for 2-D inputs; this network takes {d}')
    return FiedlerSettings(box, margin, tuple(adjacency), vertex_weights, power, edge_weights)


def _layout(s: FiedlerSettings, config: SweepConfig) -> Layout:
    attrs = {"settings": str(s.resolved())}
    share = {**attrs, "units": "share of regions holding training points, in [0, 1]"}
    return Layout(
        variables=(
            Variable("fiedler_mu", ("adjacency", "weighting"), "float64", np.nan,
                     {**attrs, "description": "smallest non-zero eigenvalue of L_w"}),
            Variable("fiedler_misclassification", ("adjacency", "weighting"), "float64", np.nan, share),
            Variable("fiedler_error", ("adjacency", "weighting"), "float64", np.nan,
                     {**attrs, "description": "Euclidean norm of (mean labels - partition)"}),
            Variable("fiedler_n_misclassified", ("adjacency", "weighting"), "int64", -1, attrs),
            Variable("fiedler_n_edges", ("adjacency",), "int64", -1, attrs),
            Variable("fiedler_n_regions", (), "int64", -1, attrs),
            Variable("fiedler_n_labelled", (), "int64", -1,
                     {**attrs, "description": "regions holding at least one training point"}),
            Variable("fiedler_edges_only_hamming", (), "int64", -1,
                     {**attrs, "description": "Hamming-1 pairs that share no facet"}),
            Variable("fiedler_edges_only_exact", (), "int64", -1,
                     {**attrs, "description": "facet-sharing pairs not at Hamming distance 1"}),
        ),
        coords={"adjacency": np.array(s.adjacency), "weighting": np.array(WEIGHTINGS)},
    )


def fiedler_box(s: FiedlerSettings, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box ``(lo (d,), hi (d,))`` in input units, from the settings and the whole data set ``X (n, d)``."""
    if s.box == "data":
        lo, hi = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
        pad = s.margin * (hi - lo)
        return lo - pad, hi + pad
    d = X.shape[1]
    return np.full(d, float(s.box[0])), np.full(d, float(s.box[1]))


def _facet_lengths(cx: Any, facets: np.ndarray) -> np.ndarray:
    """Length of each 1-cell in ``facets`` (2-D complex); -1 entries (no shared facet) give NaN."""
    indptr, indices = cx.cell_vertices(1)
    ends = indices.reshape(-1, 2) if np.all(np.diff(indptr) == 2) else None
    if ends is None:
        raise ValueError("a 1-cell of the complex does not have two vertices")
    length = np.linalg.norm(cx.vertices[ends[:, 0]] - cx.vertices[ends[:, 1]], axis=1)
    out = np.full(facets.shape[0], np.nan)
    has = facets >= 0
    out[has] = length[facets[has]]
    return out


def _region_areas(cx: Any) -> np.ndarray:
    """Area of each region of a 2-D complex (input units squared), shoelace on its vertices sorted by angle."""
    indptr, indices = cx.cell_vertices(2)
    out = np.empty(cx.n_regions)
    for r in range(cx.n_regions):
        pts = cx.vertices[indices[indptr[r]:indptr[r + 1]]]
        c = pts.mean(axis=0)
        pts = pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))]
        x, y = pts[:, 0], pts[:, 1]
        out[r] = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    return out


def _vertex_weights(s: FiedlerSettings, cx: Any, counts: np.ndarray) -> np.ndarray:
    n = counts.shape[0]
    if s.vertex_weights == "none":
        return np.ones(n)
    if s.vertex_weights == "count":
        return 1.0 + counts.astype(np.float64) ** s.power
    area = _region_areas(cx)
    mean_density = counts.sum() / float(np.prod(cx.hi - cx.lo))
    return 1.0 + (counts / (area * mean_density)) ** s.power


def fiedler_weights(s: FiedlerSettings, cx: Any, graph: Any, counts: np.ndarray,
                    weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertex weights (n_regions,) and edge weights (n_edges,) of one Laplacian.

    ``"unweighted"``: all ones. ``"weighted"``: ``1 + counts**power``, ``1 + rho**power``
    (relative density) or ones, and ones or
    facet lengths (input units); a Hamming edge without a shared facet gets the smallest
    facet length of the graph, the least coupling any real contact has, since weights must
    be positive.
    """
    n, m = graph.n_vertices, graph.n_edges
    if weighting == "unweighted":
        return np.ones(n), np.ones(m)
    w = _vertex_weights(s, cx, counts)
    if s.edge_weights == "none":
        return w, np.ones(m)
    c = _facet_lengths(cx, graph.facets)
    c[np.isnan(c)] = np.nanmin(c)
    return w, c


def _graphs(cx: Any) -> dict[str, Any]:
    from ..polyhedral import dual_graph

    return {a: dual_graph(cx, adjacency=a) for a in ADJACENCIES}


def _edge_keys(graph: Any) -> np.ndarray:
    return graph.edges[:, 0] * np.int64(graph.n_vertices) + graph.edges[:, 1]


def _compute(s: FiedlerSettings, config: SweepConfig, network: int, snapshot: int, net: Any,
             data: "SweepData") -> dict[str, np.ndarray]:
    from ..polyhedral import graph_fiedler_vector, partition_agreement, polyhedral_complex, region_counts
    from ..polyhedral import region_mean_labels
    from ..sweep.data import network_split

    train, _ = network_split(config, network)
    cx = polyhedral_complex(net, box=fiedler_box(s, data.dataset.X))
    counts = region_counts(cx, train.X, outside="ignore")
    labels = region_mean_labels(cx, train.X, train.y, outside="ignore")
    graphs = _graphs(cx)
    ex, ham = _edge_keys(graphs["exact"]), _edge_keys(graphs["hamming"])
    shape = (len(s.adjacency), len(WEIGHTINGS))
    mu, mis, err = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    nmis = np.full(shape, -1, dtype=np.int64)
    for i, a in enumerate(s.adjacency):
        for j, weighting in enumerate(WEIGHTINGS):
            w, c = fiedler_weights(s, cx, graphs[a], counts, weighting)
            try:
                mu[i, j], v = graph_fiedler_vector(graphs[a], vertex_weights=w, edge_weights=c, seed=0)
            except ValueError as exc:  # a disconnected Hamming graph has no Fiedler vector
                logger.warning("fiedler: network %d snapshot %d, %s %s: %s", network, snapshot, a, weighting, exc)
                continue
            agreement = partition_agreement(v, labels)
            mis[i, j], err[i, j], nmis[i, j] = agreement.misclassification, agreement.error, agreement.n_misclassified
    return {
        "fiedler_mu": mu, "fiedler_misclassification": mis, "fiedler_error": err, "fiedler_n_misclassified": nmis,
        "fiedler_n_edges": np.array([graphs[a].n_edges for a in s.adjacency], dtype=np.int64),
        "fiedler_n_regions": np.int64(cx.n_regions),
        "fiedler_n_labelled": np.int64(np.count_nonzero(~np.isnan(labels))),
        "fiedler_edges_only_hamming": np.int64(np.setdiff1d(ham, ex).shape[0]),
        "fiedler_edges_only_exact": np.int64(np.setdiff1d(ex, ham).shape[0]),
    }


FIEDLER = register_analysis(Analysis(
    name="fiedler",
    description="dual graph (exact / Hamming adjacency), unweighted and weighted Fiedler partition scored "
                "against the mean training labels (polyhedral-signatures Section 2)",
    parse=_parse, layout=_layout, compute=_compute,
))


# --------------------------------------------------------------------------- the Table-1 summary


def _stats(x: np.ndarray) -> dict[str, float]:
    """mean, sd (ddof=1; NaN for one value), share of values equal to 0, and n of the finite values of ``x``."""
    x = x[np.isfinite(x)]
    n = int(x.shape[0])
    if n == 0:
        return {"mean": float("nan"), "sd": float("nan"), "share_zero": float("nan"), "n": 0}
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if n > 1 else float("nan"),
            "share_zero": float(np.mean(x == 0)), "n": n}


def fiedler_summary(out: str | os.PathLike, *, snapshot: int = -1, min_train_acc: float | None = None) -> dict:
    """The Table-1 summary of a sweep folder over its networks (seeds), as plain dicts.

    ``snapshot``: index on the snapshot axis (default the last). Networks that did not
    reach it are left out, and, when ``min_train_acc`` (in [0, 1]) is given, those whose
    training accuracy at the snapshot is below it (the paper reports networks at 100%).
    Returns ``{"name", "snapshot", "min_train_acc", "n_networks", "train_loss",
    "test_loss", "rows"}`` where the losses (cross-entropy at the snapshot's epoch) are
    ``{mean, sd, share_zero, n}`` and ``rows[adjacency][weighting]`` holds
    ``{"misclassification": stats (share in [0, 1]), "error": stats, "mu": stats}``.
    """
    from ..sweep.store import open_results, stored_config

    config = stored_config(out)
    if "fiedler" not in dict(config.analyses):
        raise ValueError(f"out: the sweep at {out} has no [analysis.fiedler]")
    ds = open_results(out)
    n_snap = ds.sizes["snapshot"]
    snapshot = check_int(snapshot, "snapshot", minimum=-n_snap, maximum=n_snap - 1) % n_snap
    epoch = ds["snapshot_epoch"].values[:, snapshot]
    done = (epoch >= 0) & np.isfinite(ds["fiedler_error"].values[:, snapshot]).any(axis=(1, 2))
    if min_train_acc is not None:
        min_train_acc = check_real(min_train_acc, "min_train_acc", minimum=0.0, maximum=1.0)
        done &= ds["snapshot_train_acc"].values[:, snapshot] >= min_train_acc
    rows_idx = np.flatnonzero(done)
    losses = {}
    for key in ("train_loss", "test_loss"):
        hist = ds[key].values
        losses[key] = _stats(np.array([hist[i, epoch[i]] for i in rows_idx]))
    rows: dict[str, dict[str, dict]] = {}
    for a_i, a in enumerate(ds["adjacency"].values.tolist()):
        rows[a] = {}
        for w_i, w in enumerate(ds["weighting"].values.tolist()):
            rows[a][w] = {k: _stats(ds[f"fiedler_{k}"].values[rows_idx, snapshot, a_i, w_i])
                          for k in ("misclassification", "error", "mu")}
    return {"name": config.name, "snapshot": int(snapshot), "min_train_acc": min_train_acc, "n_networks": int(rows_idx.shape[0]), **losses,
            "rows": rows}


def _table_rows(summary: dict) -> list[list[str]]:
    out = []
    for a, by_w in summary["rows"].items():
        name = summary["name"]
        if summary.get("min_train_acc") is not None:
            name += f" (train acc >= {summary['min_train_acc']:g})"
        # A network whose graph is disconnected has no Fiedler vector (NaN): say how many
        # of the seeds a row's statistics are over when it is fewer than all of them.
        n = summary["n_networks"]
        scored = min(by_w[w]["misclassification"]["n"] for w in WEIGHTINGS)
        seeds = str(n) if scored == n else f"{n} ({n - scored} without a Fiedler vector)"
        row = [name, a, seeds,
               f"{summary['train_loss']['mean']:.2e} ± {summary['train_loss']['sd']:.1e}",
               f"{summary['test_loss']['mean']:.2e} ± {summary['test_loss']['sd']:.1e}"]
        for w in WEIGHTINGS:
            m, e = by_w[w]["misclassification"], by_w[w]["error"]
            row += [f"{100 * m['mean']:.1f} ± {100 * m['sd']:.1f}", f"{100 * m['share_zero']:.0f}%",
                    f"{e['mean']:.2f} ± {e['sd']:.2f}"]
        out.append(row)
    return out


_HEADER = ["sweep", "adjacency", "seeds", "train loss", "test loss", "unweighted miscl. %", "unweighted at 0%",
           "unweighted error", "weighted miscl. %", "weighted at 0%", "weighted error"]


def _summaries(summaries: object) -> list[dict]:
    """One :func:`fiedler_summary` result or a list of them, as a list."""
    if isinstance(summaries, dict):
        return [summaries]
    if not isinstance(summaries, (list, tuple)) or not all(isinstance(x, dict) and "rows" in x for x in summaries):
        raise TypeError(f"summaries must be a fiedler_summary result or a list of them, got {type(summaries).__name__}")
    return list(summaries)


def summary_markdown(summaries: dict | list[dict]) -> str:
    """A Markdown table of one or more :func:`fiedler_summary` results (mean ± sd over seeds;
    "at 0%" is the share of seeds whose partition misclassifies no region)."""
    summaries = _summaries(summaries)
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    for s in summaries:
        lines += ["| " + " | ".join(r) + " |" for r in _table_rows(s)]
    return "\n".join(lines) + "\n"


def summary_csv(summaries: dict | list[dict]) -> str:
    """The summaries as CSV, one row per sweep, adjacency and weighting, raw numbers (shares in [0, 1])."""
    summaries = _summaries(summaries)
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["sweep", "snapshot", "adjacency", "weighting", "n_networks", "train_loss_mean", "train_loss_sd",
                     "test_loss_mean", "test_loss_sd", "misclassification_mean", "misclassification_sd",
                     "share_zero", "error_mean", "error_sd", "mu_mean"])
    for s in summaries:
        for a, by_w in s["rows"].items():
            for w, st in by_w.items():
                m, e = st["misclassification"], st["error"]
                writer.writerow([s["name"], s["snapshot"], a, w, s["n_networks"], repr(s["train_loss"]["mean"]),
                                 repr(s["train_loss"]["sd"]), repr(s["test_loss"]["mean"]), repr(s["test_loss"]["sd"]),
                                 repr(m["mean"]), repr(m["sd"]), repr(m["share_zero"]), repr(e["mean"]),
                                 repr(e["sd"]), repr(st["mu"]["mean"])])
    return buf.getvalue()


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class _Rebuilt:
    cx: Any
    net: Any
    train: Any
    graph: Any
    partitions: dict
    agreements: dict


def _rebuild(out: str | os.PathLike, network: int, snapshot: int, adjacency: str) -> _Rebuilt:
    """The complex, dual graph and both partitions of one stored snapshot (from its checkpoint)."""
    from ..polyhedral import graph_fiedler_vector, partition_agreement, polyhedral_complex, region_counts
    from ..polyhedral import region_mean_labels
    from ..sweep.data import load_dataset, network_split
    from ..sweep.jobs import load_snapshot_network
    from ..sweep.store import stored_config

    config = stored_config(out)
    s = config.analysis("fiedler")
    network = check_int(network, "network", minimum=0, maximum=config.n_networks - 1)
    n_snap = len(config.snapshots)
    snapshot = check_int(snapshot, "snapshot", minimum=-n_snap, maximum=n_snap - 1) % n_snap
    adjacency = check_choice(adjacency, "adjacency", ADJACENCIES)
    net = load_snapshot_network(str(out), config, network, snapshot)
    train, _ = network_split(config, network)
    cx = polyhedral_complex(net, box=fiedler_box(s, load_dataset(config.data).X))
    counts = region_counts(cx, train.X, outside="ignore")
    labels = region_mean_labels(cx, train.X, train.y, outside="ignore")
    graph = _graphs(cx)[adjacency]
    parts, agree = {}, {}
    for weighting in WEIGHTINGS:
        w, c = fiedler_weights(s, cx, graph, counts, weighting)
        _, v = graph_fiedler_vector(graph, vertex_weights=w, edge_weights=c, seed=0)
        agree[weighting] = partition_agreement(v, labels)
        parts[weighting] = agree[weighting].partition
    return _Rebuilt(cx, net, train, graph, parts, agree)


def _draw_boundary(ax: Any, net: Any, lo: np.ndarray, hi: np.ndarray, resolution: int = 300) -> None:
    """The zero level set of the logit difference (class 1 minus class 0) on a grid over the box."""
    import torch

    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    param = next(net.parameters())
    with torch.no_grad():
        logits = net(torch.as_tensor(grid, dtype=param.dtype)).numpy()
    diff = (logits[:, 1] - logits[:, 0]).reshape(gx.shape)
    ax.contour(gx, gy, diff, levels=[0.0], colors="k", linewidths=1.5)


def plot_fiedler_partitions(out: str | os.PathLike, network: int = 0, snapshot: int = -1, *,
                            adjacency: str = "exact", fig: Any = None) -> Any:
    """Two panels: the regions of the box coloured by the unweighted and by the weighted
    Fiedler partition (sides 0/1 in the orientation that fits the labels best), with the
    network's training points (class 0 white circles, class 1 gold triangles) and its decision boundary (the zero
    level of the logit difference, black) drawn over them. Rebuilds the complex from the
    stored checkpoint of ``network`` at ``snapshot``. Returns the figure (``fig``: a
    matplotlib Figure to draw into, else a new one).
    """
    from ..plotting.polyhedral import plot_complex_2d

    r = _rebuild(out, network, snapshot, adjacency)
    if r.cx.dim != 2:
        raise ValueError(f"out: the network takes {r.cx.dim}-D inputs; the figure draws 2-D complexes")
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 5))
    axes = fig.subplots(1, 2)
    for ax, weighting in zip(axes, WEIGHTINGS):
        plot_complex_2d(r.cx, ax=ax, values=r.partitions[weighting].astype(np.float64), cmap="coolwarm",
                        edge_width=0.2)
        for label, color, marker in ((0, "white", "o"), (1, "gold", "^")):
            pts = r.train.X[r.train.y == label]
            ax.scatter(pts[:, 0], pts[:, 1], c=color, marker=marker, s=14, edgecolors="k", linewidths=0.4,
                       label=f"class {label}")
        _draw_boundary(ax, r.net, r.cx.lo, r.cx.hi)
        a = r.agreements[weighting]
        ax.set_title(f"{weighting} ({adjacency}): {100 * a.misclassification:.1f}% miscl., error {a.error:.2f}")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    return fig


def plot_dual_graph(out: str | os.PathLike, network: int = 0, snapshot: int = -1, *, adjacency: str = "exact",
                    weighting: str = "weighted", ax: Any = None) -> Any:
    """The dual graph drawn at region interior points (vertex mean of each region) over the
    box, vertices coloured by the ``weighting`` partition; Hamming edges that share no
    facet dashed. Rebuilds from the stored checkpoint; returns the Axes."""
    from matplotlib.collections import LineCollection

    weighting = check_choice(weighting, "weighting", WEIGHTINGS)
    r = _rebuild(out, network, snapshot, adjacency)
    if r.cx.dim != 2:
        raise ValueError(f"out: the network takes {r.cx.dim}-D inputs; the figure draws 2-D complexes")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 5))
    P = r.cx.interior_points
    E = r.graph.edges
    real = r.graph.facets >= 0
    ax.add_collection(LineCollection(P[E[real]], colors="0.4", linewidths=0.5))
    if not real.all():
        ax.add_collection(LineCollection(P[E[~real]], colors="tab:orange", linewidths=0.8, linestyles="dashed"))
    ax.scatter(P[:, 0], P[:, 1], c=r.partitions[weighting], cmap="coolwarm", s=8, zorder=3)
    ax.set_xlim(r.cx.lo[0], r.cx.hi[0])
    ax.set_ylim(r.cx.lo[1], r.cx.hi[1])
    ax.set_aspect("equal")
    ax.set_title(f"dual graph ({adjacency}): {r.cx.n_regions} regions, {r.graph.n_edges} edges")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return ax
