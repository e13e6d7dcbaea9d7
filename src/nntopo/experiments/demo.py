"""The embedded end-to-end demo behind ``make demo`` / ``nntopo demo``: a sweep, then its figures.

The demo is ``nntopo run`` on the packaged ``configs/demo.toml``: the activation-landscapes
paper's 11-layer width-15 MLP trained on the nine-disk set from four seeds, with
snapshots at training-accuracy thresholds; at every snapshot the H1 activation
landscapes of a class-C2 batch in every layer and the exact polyhedral complex, with its
Fiedler partition and the Betti curves of its random filtrations. The results go to one
resumable store (:mod:`nntopo.sweep`), and the figures in ``OUT/figures/`` and the HTML
report ``OUT/report.html`` (:mod:`nntopo.report`) are drawn from that store alone, so the
store is the single source of truth. Running the demo again into the same folder resumes
it (nothing finished is recomputed) and redraws the figures and the report.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from .._validation import check_bool, check_choice
from ..sweep import SweepConfig, check_sweep, load_config, open_results, packaged_config, run_sweep
from ..report import REPORT_NAME, build_report
from ..sweep.store import write_atomic

log = logging.getLogger("nntopo")

__all__ = ["FIGURES", "available_figures", "check_demo", "demo_config", "demo_figure", "draw_figures", "run_demo",
           "summarize"]

#: The figures the demo draws into ``OUT/figures/``.
FIGURES = ("training_curves.png", "activation_landscapes.png", "landscape_norms.png", "landscape_curves.png",
           "complex_final.png")
# Entries of a folder written by the demo before it ran on the sweep engine (replaced, never refused).
_OLD_DEMO_NAMES = {
    "config.json", "summary.json", "history.csv", "manifest.json", "checkpoints", "landscapes.zarr", "complexes.csv",
    "training_curve.png", "activation_landscapes.png", "landscape_norms.png", "landscape_curves.png",
    "complex_final.png",
}


def demo_config() -> SweepConfig:
    """The packaged demo sweep (``configs/demo.toml``)."""
    return load_config(packaged_config("demo"))


def _as_config(config: SweepConfig | str | os.PathLike | None) -> SweepConfig:
    if config is None:
        return demo_config()
    if isinstance(config, SweepConfig):
        return config
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise TypeError(f"config must be a SweepConfig, a path to a TOML file or None, got {type(config).__name__}")


def _old_demo_folder(target: Path) -> bool:
    """True if ``target`` is a folder the pre-sweep demo wrote, holding only its files."""
    try:
        entries = set(os.listdir(target))
        payload = json.loads((target / ("config.json" if "config.json" in entries else "summary.json")).read_text())
    except (OSError, ValueError):
        return False
    config = payload.get("config") if isinstance(payload, dict) else None
    return (bool(entries) and entries <= _OLD_DEMO_NAMES and isinstance(config, dict)
            and {"widths", "thresholds", "grid"} <= set(config))


def check_demo(out_dir: str | os.PathLike, config: SweepConfig | str | os.PathLike | None = None,
               workers: int | None = None) -> Path:
    """Check a demo run's arguments without creating anything; return the absolute output folder.

    Raises what :func:`run_demo` would raise before starting: ``ConfigError`` /
    ``TypeError`` / ``ValueError`` for a bad config or folder, ``FileExistsError`` for a
    folder holding anything but a sweep of the same config (or an old demo folder, which
    is replaced).
    """
    cfg = _as_config(config)
    try:
        _, target, _ = check_sweep(cfg, out_dir, workers=workers)
    except FileExistsError:
        target = Path(os.path.realpath(out_dir))
        if not _old_demo_folder(target):
            raise
    return target


def run_demo(out_dir: str | os.PathLike, config: SweepConfig | str | os.PathLike | None = None, *,
             workers: int | None = None, progress: bool = False) -> dict:
    """Run (or resume) the demo sweep into ``out_dir``, draw its figures from the store; return :func:`summarize`.

    ``config``: the packaged demo (default), another sweep config (path or
    :class:`~nntopo.sweep.SweepConfig`) with the ``landscapes`` and ``polyhedral``
    analyses on 2-d inputs. ``workers``: joblib worker processes (default one per core).
    Files: what :func:`nntopo.sweep.run_sweep` writes, plus ``figures/*.png``
    (:data:`FIGURES`), ``report.html`` (:func:`nntopo.report.build_report`) and ``summary.json``. A folder written by the demo before it ran on
    the sweep engine is replaced; any other non-empty folder that is not a sweep of this
    config is refused (``FileExistsError``) and left untouched.
    """
    cfg = _as_config(config)
    progress = check_bool(progress, "progress")
    target = check_demo(out_dir, cfg, workers)
    if os.path.isdir(target) and _old_demo_folder(target):
        log.warning("replacing %s, a folder of the demo before it ran on the sweep engine", target)
        shutil.rmtree(target)
    run_sweep(cfg, target, workers=workers, progress=progress)
    draw_figures(target)
    build_report(target)
    summary = summarize(target)
    write_atomic(target / "summary.json", json.dumps(summary, indent=1))
    return summary


def summarize(out_dir: str | os.PathLike) -> dict:
    """Per snapshot, from the store: networks that reached it, mean epoch, mean f-vector, Euler characteristics,
    mean landscape norm of every layer (over those networks and every input subsample); plus the final
    accuracies of every network, the figures drawn and the report (``"report"``, relative to ``out_dir``)
    when it has been written."""
    from ..plotting.sweep import mean_over_networks, snapshot_labels
    from ..studies.activation_landscapes import topological_complexity

    ds = open_results(out_dir).load()
    reached = ds["snapshot_reached"].values
    rows = []
    labels = snapshot_labels(ds)
    has_land, has_cx = "landscape_norm" in ds, "f_vector" in ds
    norms = topological_complexity(ds, statistic="mean_of_norms").values if has_land else None
    fvec = mean_over_networks(ds, "f_vector") if has_cx else None
    for s, label in enumerate(labels):
        r = reached[:, s]
        row = {"snapshot": label, "networks_reached": int(r.sum()),
               "mean_epoch": float(ds["snapshot_epoch"].values[r, s].mean()) if r.any() else None}
        if has_cx and r.any():
            row["mean_f_vector"] = [round(float(x), 1) for x in fvec[s]]
            row["euler_characteristics"] = sorted({int(x) for x in ds["euler_characteristic"].values[r, s]})
        if has_land and r.any():
            row["mean_landscape_norm"] = {str(k): float(v) for k, v in zip(ds["layer"].values, norms[s])}
        rows.append(row)
    trained = ds["epochs_trained"].values
    final = [{"network": int(n), "seed": int(ds["seed"].values[n]), "epochs": int(trained[n]),
              "train_acc": float(ds["train_acc"].values[n, trained[n]]),
              "test_acc": float(ds["test_acc"].values[n, trained[n]])} for n in range(ds.sizes["network"])
             if trained[n] >= 0]
    summary = {"name": json.loads(ds.attrs["config"])["name"], "networks": final, "snapshots": rows,
               "figures": [f"figures/{f}" for f in FIGURES if (Path(out_dir) / "figures" / f).exists()]}
    if (Path(out_dir) / REPORT_NAME).is_file():
        summary["report"] = REPORT_NAME
    return summary


def _save(fig, path: Path, dpi: int = 120) -> None:
    """Save through a temporary name and a rename (a reader never sees half a PNG)."""
    import matplotlib.pyplot as plt

    from ..plotting.sweep import save_figure

    try:
        save_figure(fig, path, dpi=dpi)
    finally:
        plt.close(fig)


def available_figures(ds) -> list[str]:
    """The names of :data:`FIGURES` that the store ``ds`` (:func:`nntopo.sweep.open_results`) can draw.

    Figures that need an analysis the sweep did not run, or a snapshot no network
    reached, are left out; the complex is drawn for 2-d inputs only.
    """
    from ..studies.activation_landscapes import store_figures

    names = ["training_curves.png"]
    if "landscape" in ds:
        # the study's Figures 2, 4 and 3 under the demo's file names
        study = store_figures(ds)
        names += [name for number, name in ((2, "activation_landscapes.png"), (4, "landscape_norms.png"),
                                            (3, "landscape_curves.png")) if number in study]
    if "f_vector" in ds and len(ds["cell_dim"]) == 3 and ds["snapshot_reached"].values[0].any():
        names.append("complex_final.png")
    return names


def demo_figure(out_dir: str | os.PathLike, name: str, ds=None):
    """Draw the demo figure ``name`` (one of :data:`FIGURES`) from the store of the sweep in
    ``out_dir`` and return the matplotlib Figure (the caller saves or closes it).

    Training curves (every network and the mean); the average activation landscapes per
    snapshot (rows) and layer (columns), the topological complexity per layer and the PCA
    landscape curves, drawn by the activation-landscapes study
    (:mod:`nntopo.studies.activation_landscapes`, its Figures 2, 4 and 3); the complex of
    network 0 at its last reached snapshot. ``ds``: the store already opened (and loaded),
    to save reading it again.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting.sweep import plot_sweep_training
    from ..studies.activation_landscapes import plot_average_landscapes, plot_complexity, plot_landscape_curves

    name = check_choice(name, "name", FIGURES)
    out = Path(out_dir)
    if ds is None:
        ds = open_results(out).load()
    if name not in available_figures(ds):
        raise ValueError(f"name: the sweep at {out} cannot draw {name} (it needs an analysis it did not run, "
                         "or a reached snapshot)")
    n_nets = ds.sizes["network"]
    if name == "training_curves.png":
        from ..sweep.config import network_summary

        cfg = json.loads(ds.attrs["config"])
        fig, ax = plt.subplots(figsize=(6, 3.5))
        plot_sweep_training(ds, ax=ax)
        ax.set_title(f"{cfg['data']['dataset']}, {network_summary(cfg['network'])}, {n_nets} networks",
                     fontsize=9)
    elif name == "activation_landscapes.png":
        return plot_average_landscapes(ds)
    elif name == "landscape_norms.png":
        return plot_complexity(ds).figure
    elif name == "landscape_curves.png":
        return plot_landscape_curves(ds).figure
    else:
        return _complex_figure(out, ds)
    fig.tight_layout()
    return fig


def draw_figures(out_dir: str | os.PathLike) -> list[Path]:
    """Draw the demo's figures (:func:`demo_figure`, those :func:`available_figures` allows)
    from the store of the sweep in ``out_dir`` into ``out_dir/figures``; return their paths."""
    out = Path(out_dir)
    ds = open_results(out).load()
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    drawn = []
    for name in available_figures(ds):
        _save(demo_figure(out, name, ds), folder / name, dpi=150 if name == "complex_final.png" else 120)
        drawn.append(folder / name)
    return drawn


def _complex_figure(out: Path, ds):
    """The complex of network 0 at its last reached snapshot, rebuilt from the checkpoint the store names.

    A complex is ragged (cells of varying size), so the store keeps its f-vector and
    Euler characteristic, and the figure rebuilds the complex from the stored snapshot's
    checkpoint; it must reproduce the stored f-vector exactly, or this raises.
    """
    import matplotlib.pyplot as plt
    import torch

    from ..plotting import plot_complex_2d
    from ..polyhedral import polyhedral_complex
    from ..sweep.analyses import polyhedral_box
    from ..sweep.data import sweep_data
    from ..sweep.jobs import load_snapshot_network
    from ..sweep.store import stored_config

    cfg = stored_config(out)
    s = int(np.nonzero(ds["snapshot_reached"].values[0])[0][-1])
    net = load_snapshot_network(str(out), cfg, 0, s)
    cx = polyhedral_complex(net, box=polyhedral_box(cfg.analysis("polyhedral"), sweep_data(cfg)))
    stored = ds["f_vector"].values[0, s]
    if list(cx.f_vector) != list(stored):
        raise RuntimeError(f"the complex rebuilt from {ds['snapshot_checkpoint'].values[0, s]} has f-vector "
                           f"{list(cx.f_vector)}, the store holds {list(stored)}")
    with torch.no_grad():
        pred = net(torch.from_numpy(cx.interior_points.astype(np.float32))).argmax(1).numpy()
    fig, ax = plt.subplots(figsize=(5, 5))
    plot_complex_2d(cx, ax=ax, values=pred, cmap="coolwarm", edge_width=0.05)
    ax.set_title(f"network 0 (seed {int(ds['seed'].values[0])}) at {_label(ds, s)}: {stored[2]} regions, "
                 f"f = {tuple(int(x) for x in stored)}, χ = {int(ds['euler_characteristic'].values[0, s])}",
                 fontsize=8)
    fig.tight_layout()
    return fig


def _label(ds, s: int) -> str:
    from ..plotting.sweep import snapshot_labels

    return snapshot_labels(ds)[s]

