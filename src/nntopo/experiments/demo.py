"""The embedded end-to-end demo behind ``make demo`` / ``nntopo demo``.

Both views on the same trained networks: the paper's 11-layer width-15 MLP is trained on
the nine-disk set with snapshots at training-accuracy thresholds; at every snapshot the
demo computes the activation landscapes (H1, plain normalization) of a class-C2 lattice
batch in every layer, and the exact polyhedral complex of the network on the data's box.

The output folder holds exactly one run. The run is written into a fresh folder
``.<name>.partial-<pid>`` next to the target (same filesystem) and renamed into place
only when it is complete, so an interrupted run leaves the previous results as they
were. A non-empty target is replaced only if it is a demo folder made by the same config
(``config.json``) holding nothing but the demo's own files; anything else is refused.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Mapping

import numpy as np

from .._validation import check_bool, check_int, check_real
from ..data import nine_disks, sublattice, train_test_split
from ..nets import MLP, AccuracyThresholds, TrainConfig, capture, load_checkpoint, train

log = logging.getLogger("nntopo")

__all__ = ["CONFIG_NAME", "DemoConfig", "check_demo", "load_demo_config", "run_demo"]

#: The file recording the resolved config of the run a folder holds.
CONFIG_NAME = "config.json"

#: Every top-level entry the demo writes; a folder holding anything else is not replaced.
OUTPUT_NAMES = (
    CONFIG_NAME, "summary.json", "history.csv", "manifest.json", "checkpoints", "landscapes.zarr",
    "complexes.csv", "training_curve.png", "activation_landscapes.png", "landscape_norms.png",
    "landscape_curves.png", "complex_final.png",
)
# Names nntopo.nets.train gives checkpoint files.
_CHECKPOINT_FILE = re.compile(r"net\d+_epoch\d+\.pt")


def _sequence(value: object, name: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list, got {value!r} ({type(value).__name__})")
    return list(value)


@dataclass(frozen=True)
class DemoConfig:
    """The demo's settings, checked when the config is made (defaults: ``make demo``).

    ``widths``: layer widths of the MLP, input 2 and output 2 (the nine-disk set has two
    coordinates and two classes), at least one hidden layer. ``seed`` (int >= 0) seeds the
    initialisation, the train/test split and the shuffling. ``epochs`` (>= 0, training
    stops earlier at 100% training accuracy), ``lr`` (Adam, > 0), ``batch_size`` (>= 1).
    ``thresholds``: training accuracies in [0, 1], increasing, at which snapshots are
    kept. ``batch_every``: the landscape batch is the class-C2 points whose lattice
    indices are multiples of it. ``hom_dim``: homology degree of the landscapes (0..2).
    ``grid``: ``(t_min, t_max, step)`` in normalized distance units, both ends included.
    ``n_levels``: landscape levels kept.
    """

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

    def __post_init__(self) -> None:
        from ..landscapes import Grid

        widths = tuple(check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(_sequence(self.widths, "widths")))
        if len(widths) < 3 or widths[0] != 2 or widths[-1] != 2:
            raise ValueError(
                "widths must start with 2 (the nine-disk set's coordinates), end with 2 (its classes) and have at "
                f"least one hidden layer between them, got {list(widths)}"
            )
        thresholds = tuple(check_real(t, f"thresholds[{i}]", minimum=0.0, maximum=1.0)
                           for i, t in enumerate(_sequence(self.thresholds, "thresholds")))
        if not thresholds:
            raise ValueError("thresholds is empty; give at least one training accuracy in [0, 1]")
        if any(b <= a for a, b in zip(thresholds, thresholds[1:])):
            raise ValueError(f"thresholds must be strictly increasing, got {list(thresholds)}")
        grid = _sequence(self.grid, "grid")
        if len(grid) != 3:
            raise ValueError(f"grid must be [t_min, t_max, step], got {len(grid)} values")
        grid = tuple(check_real(g, f"grid[{i}]") for i, g in enumerate(grid))
        try:
            Grid(*grid)
        except ValueError as exc:
            raise ValueError(f"grid: {exc}") from None
        checked = {
            "widths": widths,
            "seed": check_int(self.seed, "seed", minimum=0),
            "epochs": check_int(self.epochs, "epochs", minimum=0),
            "lr": check_real(self.lr, "lr", minimum=0.0, min_inclusive=False),
            "batch_size": check_int(self.batch_size, "batch_size", minimum=1),
            "thresholds": thresholds,
            "batch_every": check_int(self.batch_every, "batch_every", minimum=1),
            # H3 and above of a few hundred points in 15 dimensions is out of a demo's reach.
            "hom_dim": check_int(self.hom_dim, "hom_dim", minimum=0, maximum=2),
            "grid": grid,
            "n_levels": check_int(self.n_levels, "n_levels", minimum=1),
        }
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    def to_dict(self) -> dict:
        """The config as JSON-ready data (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "config") -> DemoConfig:
        """A config from a mapping of field names (e.g. parsed TOML); errors name ``source`` and the key.

        Missing keys take the defaults; an unknown key is a ``ValueError``, a value of the
        wrong kind a ``TypeError``, a value out of range a ``ValueError``.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"{source}: expected a table of demo settings, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = [k for k in data if k not in known]
        if unknown:
            raise ValueError(f"{source}: unknown key {unknown[0]!r}; the demo's keys are {', '.join(known)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{source}: {exc}") from None


def load_demo_config(path: str | os.PathLike) -> DemoConfig:
    """Read a :class:`DemoConfig` from a TOML file of top-level ``key = value`` lines.

    Keys are the fields of :class:`DemoConfig` (``widths = [2, 8, 8, 2]``, ``epochs = 10``,
    ...); missing keys keep their defaults. Every error names the file and the key.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"config must be a path to a TOML file, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file not found: {path}")
    if not path.is_file():
        raise ValueError(f"config {path} is not a file")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the config ({exc})") from None
    return DemoConfig.from_dict(data, source=str(path))


# --------------------------------------------------------------------------- the output folder


@dataclass(frozen=True)
class _Plan:
    target: Path
    data: object
    batch: object


def _resolve_target(out_dir: object) -> Path:
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a str or os.PathLike, got {type(out_dir).__name__}")
    if os.fspath(out_dir) == "":
        raise ValueError("out_dir is empty; give a folder name")
    target = Path(os.path.realpath(out_dir))
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        # The run replaces the folder as a whole: it must not pull the floor from under us.
        raise ValueError(f"out_dir {target} is the current folder or contains it; choose a folder below it")
    return target


def _stored_config(folder: Path) -> DemoConfig | None:
    """The config recorded in ``folder``, or None if it has no readable demo config.

    Folders written before ``config.json`` existed recorded the config only in
    ``summary.json``; that one is read when there is no ``config.json``.
    """
    source = CONFIG_NAME if os.path.lexists(folder / CONFIG_NAME) else "summary.json"
    try:
        payload = json.loads((folder / source).read_text(encoding="utf-8"))
        return DemoConfig.from_dict(payload["config"])
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        return None


def _foreign_entries(folder: Path) -> list[str]:
    """Entries of a demo folder that the demo did not write (the user's files)."""
    foreign = [e for e in sorted(os.listdir(folder)) if e not in OUTPUT_NAMES]
    ckpts = folder / "checkpoints"
    if ckpts.is_dir():
        foreign += [f"checkpoints/{e}" for e in sorted(os.listdir(ckpts)) if not _CHECKPOINT_FILE.fullmatch(e)]
    return foreign


def _check_target(target: Path, config: DemoConfig) -> None:
    """Refuse a target the demo may not write or replace; create and delete nothing."""
    existing = target
    while not os.path.lexists(existing):
        existing = existing.parent
    if existing != target:
        if not existing.is_dir():
            raise ValueError(f"out_dir {target}: cannot create it, {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"out_dir {target}: cannot create it, {existing} is not writable")
        return
    if not target.is_dir():
        raise ValueError(f"out_dir {target} exists and is not a folder")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise ValueError(f"out_dir {target}: its parent {target.parent} is not writable (the run is built next to it)")
    if not os.listdir(target):
        return
    stored = _stored_config(target)
    if stored is None:
        raise FileExistsError(
            f"out_dir {target} is not empty and holds no demo run (no readable {CONFIG_NAME}); "
            "the demo only replaces its own output folders: choose a new or empty folder"
        )
    if stored != config:
        old, new = asdict(stored), asdict(config)
        diff = "; ".join(f"{k} = {old[k]!r} there, {new[k]!r} here" for k in old if old[k] != new[k])
        raise FileExistsError(
            f"out_dir {target} holds a demo run made by a different config ({diff}); a folder is replaced only "
            "by a run of the same config: choose another folder or remove this one"
        )
    foreign = _foreign_entries(target)
    if foreign:
        raise FileExistsError(
            f"out_dir {target} holds files the demo did not write ({', '.join(foreign[:5])}); "
            "move them away or choose another folder"
        )


def _plan(out_dir: object, config: object) -> _Plan:
    if not isinstance(config, DemoConfig):
        raise TypeError(f"config must be a DemoConfig, got {type(config).__name__}")
    target = _resolve_target(out_dir)
    _check_target(target, config)
    data = nine_disks()
    try:
        batch = sublattice(data.subset(data.y == 1), every=config.batch_every)
    except ValueError as exc:
        raise ValueError(f"batch_every: {exc}") from None
    return _Plan(target, data, batch)


def check_demo(out_dir: str | os.PathLike, config: DemoConfig = DemoConfig()) -> Path:
    """Check a demo run's arguments without creating anything; return the absolute output folder.

    Raises what :func:`run_demo` would raise before starting: ``TypeError`` /
    ``ValueError`` for a bad config or a folder that cannot be written, and
    ``FileExistsError`` for a non-empty folder the run may not replace.
    """
    return _plan(out_dir, config).target


def _side_name(target: Path, kind: str, pid: int) -> Path:
    return target.parent / f".{target.name}.{kind}-{pid}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _clean_leftovers(target: Path) -> None:
    """Remove what killed runs into ``target`` left next to it.

    A ``.partial-<pid>`` folder of a dead process is an unfinished run: deleted. An
    ``.old-<pid>`` folder is the previous run, moved aside during the final swap: put
    back if the swap did not finish (no target), deleted otherwise.
    """
    parent = target.parent
    if not parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(partial|old)-(\d+)")
    for entry in sorted(os.listdir(parent)):
        m = pattern.fullmatch(entry)
        if m is None or (int(m.group(2)) != os.getpid() and _pid_alive(int(m.group(2)))):
            continue
        path = parent / entry
        if m.group(1) == "old" and not os.path.lexists(target):
            os.rename(path, target)
            log.warning("restored %s from %s, left by an interrupted run", target, entry)
        else:
            shutil.rmtree(path)
            log.info("removed %s, left by an interrupted run", path)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, outermost first."""
    missing = []
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        os.mkdir(path)
    return missing[::-1]


def _install(partial: Path, target: Path, config: DemoConfig) -> None:
    """Move the finished run at ``partial`` to ``target``, replacing a run of the same config."""
    if os.path.lexists(target) and os.listdir(target):
        _check_target(target, config)  # the folder may have changed while we ran
        old = _side_name(target, "old", os.getpid())
        os.rename(target, old)
        try:
            os.rename(partial, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        # rename(2) replaces an empty folder, and fails if one appeared and was filled meanwhile.
        os.rename(partial, target)


def run_demo(out_dir: str | os.PathLike, config: DemoConfig = DemoConfig(), progress: bool = False) -> dict:
    """Run the demo and write its results and figures to ``out_dir``; return the summary dict.

    Files: ``config.json`` (the resolved config), ``summary.json``, ``history.csv``,
    ``manifest.json`` + ``checkpoints/``, ``landscapes.zarr`` (dims threshold, layer,
    level, t), ``complexes.csv`` (f-vector and Euler characteristic per snapshot), and
    the figures ``training_curve.png``, ``activation_landscapes.png``,
    ``landscape_norms.png``, ``landscape_curves.png``, ``complex_final.png`` (the
    landscape and complex files only if some threshold was reached).

    The run is built in ``.<name>.partial-<pid>`` next to ``out_dir`` and renamed into
    place at the end, so ``out_dir`` never holds a mix of two runs and an interrupted run
    leaves it as it was. A non-empty ``out_dir`` is replaced only if it holds a demo run of
    the same config and nothing else (``FileExistsError`` otherwise). Every argument is
    checked before anything is created. Files get the permissions of the user's umask.
    """
    plan = _plan(out_dir, config)
    progress = check_bool(progress, "progress")
    target = plan.target
    _clean_leftovers(target)
    _check_target(target, config)  # leftovers may have restored a folder
    created = _make_parents(target.parent)
    partial = _side_name(target, "partial", os.getpid())
    try:
        # os.mkdir honours the umask (tempfile.mkdtemp would force 0o700 on the results).
        os.mkdir(partial)
        summary = _run(partial, config, plan, progress)
        _install(partial, target, config)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        for path in reversed(created):
            try:
                path.rmdir()
            except OSError:
                break
        raise
    return summary


# --------------------------------------------------------------------------- the run


def _run(out: Path, config: DemoConfig, plan: _Plan, progress: bool = False) -> dict:
    import matplotlib

    matplotlib.use("Agg")

    data, batch = plan.data, plan.batch
    (out / CONFIG_NAME).write_text(json.dumps({"config": config.to_dict()}, indent=1))
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

    norms: dict[str, list[float]] = {}
    complexes: list = []
    if reached:
        log.info("activation landscapes of %d C2 points at %d snapshots", len(batch), len(reached))
        landscapes = _activation_landscapes(snapshot_nets, batch.X, config)
        ds = _landscape_dataset(landscapes, thresholds, config, len(batch))
        # Zarr format 2: format 3 has no specified string dtype yet for the layer names.
        ds.to_zarr(out / "landscapes.zarr", mode="w", zarr_format=2, consolidated=True)
        norms = {f"{t:g}": ds["norm"].sel(threshold=t).values.round(6).tolist() for t in thresholds}
        complexes = _complexes(snapshot_nets, data)
    else:
        log.warning("no accuracy threshold was reached: no landscapes or complexes to compute")
    with open(out / "complexes.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["threshold", "epoch", "f0", "f1", "f2", "euler_characteristic"])
        for row, cx in zip(reached, complexes):
            writer.writerow([row["threshold"], row["epoch"], *cx.f_vector.tolist(), cx.euler_characteristic()])

    _training_figure(out, config, result)
    if reached:
        _snapshot_figures(out, config, landscapes, ds, thresholds, complexes[-1], snapshot_nets[-1])
    final = result.history[-1]
    summary = {
        "config": config.to_dict(),
        "dataset": {"name": "nine_disks", "n_points": len(data), "n_train": len(train_set),
                    "n_test": len(test_set), "landscape_batch": len(batch)},
        "epochs_trained": final["epoch"],
        "final": final,
        "snapshots": result.snapshots,
        "landscape_norms": norms,
        "complexes": [{"threshold": r["threshold"], "epoch": r["epoch"], "f_vector": cx.f_vector.tolist(),
                       "euler_characteristic": cx.euler_characteristic()} for r, cx in zip(reached, complexes)],
    }
    summary["files"] = [n + "/" if (out / n).is_dir() else n for n in OUTPUT_NAMES
                        if n == "summary.json" or (out / n).exists()]
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


def _training_figure(out: Path, config: DemoConfig, result) -> None:
    import matplotlib.pyplot as plt

    from ..plotting import plot_training_curves

    fig, ax = plt.subplots(figsize=(6, 3.5))
    plot_training_curves(result.history, ax=ax, snapshots=result.snapshots)
    ax.set_title(f"nine disks, MLP {list(config.widths)}")
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=120)
    plt.close(fig)


def _snapshot_figures(out: Path, config: DemoConfig, landscapes, ds, thresholds, final_complex, final_net) -> None:
    import matplotlib.pyplot as plt
    import torch

    from ..landscapes import activation_landscape_curves
    from ..plotting import plot_complex_2d, plot_landscape, plot_norms_per_layer

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
