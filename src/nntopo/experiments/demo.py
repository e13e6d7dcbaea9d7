"""The embedded end-to-end demo behind ``make demo`` / ``nntopo demo``.

Both views on the same trained networks: the paper's 11-layer width-15 MLP is trained on
the nine-disk set with snapshots at training-accuracy thresholds; at every snapshot the
demo computes the activation landscapes (H1, plain normalization) of a class-C2 lattice
batch in every layer, and the exact polyhedral complex of the network on the data's box.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data import nine_disks, sublattice, train_test_split
from ..nets import MLP, AccuracyThresholds, TrainConfig, capture, load_checkpoint, train

log = logging.getLogger("nntopo")


@dataclass(frozen=True)
class DemoConfig:
    """The demo's defaults: small enough for a few minutes on two cores."""

    widths: tuple[int, ...] = (2,) + (15,) * 10 + (2,)
    seed: int = 0
    epochs: int = 150
    lr: float = 1e-3
    batch_size: int = 128
    thresholds: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.99, 1.0)
    #: landscape batch: class C2 (label 1) points whose lattice indices are multiples of this
    batch_every: int = 4
    hom_dim: int = 1
    grid: tuple[float, float, float] = (0.0, 1.0, 0.001)
    #: ten levels, so all 9 holes of the input batch show as tents
    n_levels: int = 10


def run_demo(out_dir: str | Path, config: DemoConfig = DemoConfig(), progress: bool = False) -> dict:
    """Run the demo and write its results and figures to ``out_dir``; return the summary dict.

    Files: ``summary.json``, ``history.csv``, ``manifest.json`` + ``checkpoints/``,
    ``landscapes.zarr`` (dims threshold, layer, level, t), ``complexes.csv`` (f-vector and
    Euler characteristic per snapshot), and the figures ``training_curve.png``,
    ``activation_landscapes.png``, ``landscape_norms.png``, ``landscape_curves.png``,
    ``complex_final.png``.
    """
    import matplotlib

    matplotlib.use("Agg")

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
                    stop_at_accuracy=1.0),
        snapshots=AccuracyThresholds(config.thresholds),
        out_dir=out,
        progress=progress,
    )
    with open(out / "history.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(result.history[0]))
        writer.writeheader()
        writer.writerows(result.history)

    reached = [r for r in result.snapshots if r["reached"]]
    nets = {}
    for row in reached:
        if row["checkpoint"] not in nets:
            nets[row["checkpoint"]] = load_checkpoint(MLP(config.widths), row, out)
    snapshot_nets = [nets[r["checkpoint"]] for r in reached]
    thresholds = [r["threshold"] for r in reached]

    batch = sublattice(data.subset(data.y == 1), every=config.batch_every)
    log.info("activation landscapes of %d C2 points at %d snapshots", len(batch), len(reached))
    landscapes = _activation_landscapes(snapshot_nets, batch.X, config)
    ds = _landscape_dataset(landscapes, thresholds, config, len(batch))
    # Zarr format 2: format 3 has no specified string dtype yet for the layer names.
    ds.to_zarr(out / "landscapes.zarr", mode="w", zarr_format=2, consolidated=True)

    complexes = _complexes(snapshot_nets, data)
    with open(out / "complexes.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["threshold", "epoch", "f0", "f1", "f2", "euler_characteristic"])
        for row, cx in zip(reached, complexes):
            writer.writerow([row["threshold"], row["epoch"], *cx.f_vector.tolist(), cx.euler_characteristic()])

    _figures(out, config, result, landscapes, ds, thresholds, complexes[-1], snapshot_nets[-1])
    final = result.history[-1]
    summary = {
        "config": asdict(config),
        "dataset": {"name": "nine_disks", "n_points": len(data), "n_train": len(train_set),
                    "n_test": len(test_set), "landscape_batch": len(batch)},
        "epochs_trained": final["epoch"],
        "final": final,
        "snapshots": result.snapshots,
        "landscape_norms": {f"{t:g}": ds["norm"].sel(threshold=t).values.round(6).tolist() for t in thresholds},
        "complexes": [{"threshold": r["threshold"], "epoch": r["epoch"], "f_vector": cx.f_vector.tolist(),
                       "euler_characteristic": cx.euler_characteristic()} for r, cx in zip(reached, complexes)],
        "files": ["summary.json", "history.csv", "manifest.json", "checkpoints/", "landscapes.zarr",
                  "complexes.csv", "training_curve.png", "activation_landscapes.png", "landscape_norms.png",
                  "landscape_curves.png", "complex_final.png"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _activation_landscapes(nets: list, X: np.ndarray, config: DemoConfig) -> list:
    from ..landscapes import ActivationLandscape, normalize_plain, rips_persistence

    out = []
    for net in nets:
        acts = capture(net, X)
        diagrams = [rips_persistence(normalize_plain(a), maxdim=config.hom_dim)[config.hom_dim] for a in acts.values()]
        out.append(ActivationLandscape.from_diagrams(diagrams, config.grid, config.n_levels, hom_dim=config.hom_dim,
                                                     layer_names=list(acts)))
    return out


def _landscape_dataset(landscapes: list, thresholds: list[float], config: DemoConfig, batch_size: int):
    import xarray as xr

    from ..landscapes import norms_per_layer, stack_to_xarray

    values = stack_to_xarray(landscapes, dim="threshold", coords=thresholds)
    norms = xr.DataArray(norms_per_layer(landscapes), dims=("threshold", "layer"),
                         coords={"threshold": thresholds, "layer": values["layer"].values})
    return xr.Dataset(
        {"landscape": values, "norm": norms},
        attrs={"hom_dim": config.hom_dim, "normalization": "plain", "keep_infinite": 0,
               "grid": list(config.grid), "batch": f"nine_disks C2, sublattice every {config.batch_every}",
               "batch_size": batch_size, "config": json.dumps(asdict(config))},
    )


def _complexes(nets: list, data) -> list:
    from ..polyhedral import polyhedral_complex

    r = float(data.meta["outer_radius"])
    return [polyhedral_complex(net, box=(-r, r)) for net in nets]


def _figures(out: Path, config: DemoConfig, result, landscapes, ds, thresholds, final_complex, final_net) -> None:
    import matplotlib.pyplot as plt
    import torch

    from ..landscapes import activation_landscape_curves
    from ..plotting import plot_complex_2d, plot_landscape, plot_norms_per_layer, plot_training_curves

    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_training_curves(result.history, ax=ax, snapshots=result.snapshots)
    ax.set_title(f"nine disks, MLP {list(config.widths)}")
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=120)
    plt.close(fig)

    names = list(ds["layer"].values)
    fig, axes = plt.subplots(len(thresholds), len(names), figsize=(1.3 * len(names), 1.1 * len(thresholds)),
                             sharex=True, sharey=True, squeeze=False)
    for i, (t, al) in enumerate(zip(thresholds, landscapes)):
        for j, ls in enumerate(al.layers):
            plot_landscape(ls, ax=axes[i, j])
            axes[i, j].set_xlabel("")
            axes[i, j].tick_params(labelsize=5)
            if i == 0:
                axes[0, j].set_title(str(names[j]), fontsize=7)
        axes[i, 0].set_ylabel(f"acc ≥ {t:g}", fontsize=7)
    axes[0, 0].set_xlim(0, 0.5)
    fig.suptitle(f"H{config.hom_dim} activation landscapes per layer (rows: training threshold)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "activation_landscapes.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_norms_per_layer(ds["norm"].values, ax=ax, layer_names=names, series_labels=[f"acc ≥ {t:g}" for t in thresholds])
    ax.set_title("topological complexity: L2 norm of the landscape per layer", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "landscape_norms.png", dpi=120)
    plt.close(fig)

    coords, _ = activation_landscape_curves(landscapes)
    fig, ax = plt.subplots(figsize=(5, 4))
    colors = plt.colormaps["viridis"](np.linspace(0, 0.9, len(thresholds)))
    for c, t, xy in zip(colors, thresholds, coords):
        ax.plot(xy[:, 0], xy[:, 1], "o-", color=c, ms=3, label=f"acc ≥ {t:g}")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7)
    ax.set_title("activation landscape curves (PCA, one curve per threshold)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "landscape_curves.png", dpi=120)
    plt.close(fig)

    with torch.no_grad():
        pred = final_net(torch.from_numpy(final_complex.interior_points.astype(np.float32))).argmax(1).numpy()
    fig, ax = plt.subplots(figsize=(5, 5))
    plot_complex_2d(final_complex, ax=ax, values=pred, cmap="coolwarm", edge_width=0.05)
    f = final_complex.f_vector
    ax.set_title(f"final network: {f[2]} regions, f = {tuple(int(x) for x in f)}, χ = "
                 f"{final_complex.euler_characteristic()}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "complex_final.png", dpi=150)
    plt.close(fig)
