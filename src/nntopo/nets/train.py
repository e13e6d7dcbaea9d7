"""Training with Adam, per-epoch metrics, snapshot policies and epoch-end callbacks."""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from .._progress import progress_bar
from .._validation import check_bool, check_choice, check_int, check_labels, check_real
from ..data import Dataset
from .capture import check_input_width
from .mlp import torch_seed

__all__ = [
    "TrainConfig",
    "TrainResult",
    "SnapshotPolicy",
    "AccuracyThresholds",
    "EveryKEpochs",
    "AtEpochs",
    "FinalEpoch",
    "train",
    "load_manifest",
    "load_checkpoint",
    "load_weights",
    "MANIFEST_NAME",
]

log = logging.getLogger("nntopo")

MANIFEST_NAME = "manifest.json"

LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, nn.Module, dict], None]


def _check_sequence(value: object, name: str) -> list:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list, got {type(value).__name__}")
    return list(value)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings, checked when the config is made.

    ``epochs`` (int >= 0), ``lr`` (Adam's learning rate, > 0), ``batch_size`` (rows per
    mini-batch, >= 1). ``seed`` is an int, a ``numpy.random.Generator`` (one draw) or None
    (fresh entropy); it seeds the shuffling, and the config keeps the int actually used,
    which the manifest records. Default 0.

    The default learning rate is 1e-3, not the activation-landscapes paper's 0.04: with
    0.04 (and 0.01) the paper's 11-layer width-15 network on the nine-disk lattice stayed
    at the majority class for every seed we tried, while 1e-3 with mini-batches of 128
    reaches 100% training accuracy. Configs may set the paper's value.
    """

    epochs: int = 100
    lr: float = 1e-3
    batch_size: int = 128
    seed: int | np.random.Generator | None = 0
    #: stop after the first epoch whose training accuracy reaches this value, in (0, 1] (None: never)
    stop_at_accuracy: float | None = None
    #: torch intra-op threads while training (None: leave torch's setting). One by default:
    #: nntopo's networks are small MLPs, whose matrix products are too small to gain from
    #: threads, and parallelism comes from training many networks at once. Measured on the
    #: nine-disk MLP on a busy 2-core machine: 18 s on one thread, 285 s on two.
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        checked = {
            "epochs": check_int(self.epochs, "epochs", minimum=0),
            "lr": check_real(self.lr, "lr", minimum=0.0, min_inclusive=False),
            "batch_size": check_int(self.batch_size, "batch_size", minimum=1),
            "seed": torch_seed(self.seed),
            "stop_at_accuracy": None if self.stop_at_accuracy is None else check_real(
                self.stop_at_accuracy, "stop_at_accuracy", minimum=0.0, maximum=1.0, min_inclusive=False),
            "num_threads": None if self.num_threads is None else check_int(self.num_threads, "num_threads", minimum=1),
        }
        for key, value in checked.items():
            object.__setattr__(self, key, value)


class SnapshotPolicy(Protocol):
    """Decides at which epochs a checkpoint is kept. Stateless: it reads the history.

    A policy may also define ``due_at_end(history) -> list[dict]``: the reasons to
    snapshot the last epoch of ``history`` when it is the last epoch trained (the
    ``epochs``-th, or the first that reached ``stop_at_accuracy``); see :class:`FinalEpoch`.
    """

    def due(self, history: Sequence[dict]) -> list[dict]:
        """Manifest fields for each reason to snapshot the last epoch of ``history`` (empty: none)."""

    def unreached(self, history: Sequence[dict]) -> list[dict]:
        """Manifest fields for each snapshot the finished run never reached."""


@dataclass(frozen=True)
class AccuracyThresholds:
    """Snapshot at the first epoch whose accuracy (``metric``: "train_acc" or "test_acc") reaches each threshold.

    ``thresholds`` are fractions in [0, 1].

    Epoch 0 (the initial weights) counts, so thresholds below the initial accuracy are
    met there. Several thresholds met at one epoch share its checkpoint.
    """

    thresholds: Sequence[float]
    metric: str = "train_acc"

    def __post_init__(self) -> None:
        thresholds = _check_sequence(self.thresholds, "thresholds")
        if not thresholds:
            raise ValueError("thresholds is empty")
        object.__setattr__(self, "thresholds", tuple(
            check_real(t, f"thresholds[{i}]", minimum=0.0, maximum=1.0) for i, t in enumerate(thresholds)))
        object.__setattr__(self, "metric", check_choice(self.metric, "metric", ("train_acc", "test_acc")))

    def _first_epoch(self, history: Sequence[dict], threshold: float) -> int | None:
        for rec in history:
            if rec[self.metric] >= threshold:
                return rec["epoch"]
        return None

    def due(self, history: Sequence[dict]) -> list[dict]:
        epoch = history[-1]["epoch"]
        return [
            {"policy": "accuracy_threshold", "threshold": float(t)}
            for t in self.thresholds
            if self._first_epoch(history, t) == epoch
        ]

    def unreached(self, history: Sequence[dict]) -> list[dict]:
        return [
            {"policy": "accuracy_threshold", "threshold": float(t)}
            for t in self.thresholds
            if self._first_epoch(history, t) is None
        ]


@dataclass(frozen=True)
class EveryKEpochs:
    """Snapshot every ``k`` epochs, starting with epoch 0 (the initial weights)."""

    k: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", check_int(self.k, "k", minimum=1))

    def due(self, history: Sequence[dict]) -> list[dict]:
        return [{"policy": "every_k", "threshold": None}] if history[-1]["epoch"] % self.k == 0 else []

    def unreached(self, history: Sequence[dict]) -> list[dict]:
        return []


@dataclass(frozen=True)
class AtEpochs:
    """Snapshot at the given epochs (0 is the initial weights)."""

    epochs: Sequence[int]

    def __post_init__(self) -> None:
        epochs = _check_sequence(self.epochs, "epochs")
        object.__setattr__(self, "epochs", tuple(check_int(e, f"epochs[{i}]", minimum=0) for i, e in enumerate(epochs)))

    def due(self, history: Sequence[dict]) -> list[dict]:
        return [{"policy": "at_epoch", "threshold": None}] if history[-1]["epoch"] in set(self.epochs) else []

    def unreached(self, history: Sequence[dict]) -> list[dict]:
        done = {rec["epoch"] for rec in history}
        return [{"policy": "at_epoch", "threshold": None, "requested_epoch": int(e)} for e in self.epochs if e not in done]


@dataclass(frozen=True)
class FinalEpoch:
    """Snapshot the last epoch trained, whatever accuracy it reached: epoch ``epochs``, or
    the first epoch that reached ``stop_at_accuracy``. Always reached (unless training fails);
    it shares the checkpoint of any other snapshot of that epoch."""

    def due(self, history: Sequence[dict]) -> list[dict]:
        return []

    def due_at_end(self, history: Sequence[dict]) -> list[dict]:
        return [{"policy": "final", "threshold": None}]

    def unreached(self, history: Sequence[dict]) -> list[dict]:
        return []


@dataclass
class TrainResult:
    """What :func:`train` returns.

    history: one dict per epoch (0 = before training) with epoch, train_loss, train_acc,
    test_loss, test_acc (NaN where not defined). snapshots: manifest rows (dicts).
    states: checkpoint epoch -> state_dict, kept in memory when no ``out_dir`` was given.
    """

    history: list[dict]
    snapshots: list[dict]
    states: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)


def _default_loss(model: nn.Module, X: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    out = model(X)
    if target.dtype == torch.int64:
        return nn.functional.cross_entropy(out, target)
    return nn.functional.mse_loss(out, target)


def _target(data: Dataset, name: str) -> torch.Tensor:
    if data.y is not None:
        return torch.from_numpy(data.y)
    if data.targets is not None:
        return torch.from_numpy(data.targets)
    raise ValueError(f"{name} has neither labels y nor targets; there is nothing to train on")


def _evaluate(model: nn.Module, X: torch.Tensor, target: torch.Tensor, loss_fn: LossFn) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        loss = float(loss_fn(model, X, target))
        acc = float("nan")
        if target.dtype == torch.int64:
            acc = float((model(X).argmax(dim=1) == target).double().mean())
    model.train()
    return loss, acc


# --------------------------------------------------------------------------- files


def _create_temp(folder: Path, stem: str) -> tuple[int, Path]:
    """A new empty file ``folder/stem.<random>.tmp``, opened for writing.

    Created with mode 0o666, which the kernel reduces by the process umask, so results
    get the same permissions as any file the user writes (tempfile.mkstemp forces 0o600).
    O_EXCL makes the name ours alone.
    """
    for _ in range(100):
        tmp = folder / f"{stem}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {folder}")  # pragma: no cover


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file and rename, so a killed run never leaves a half file."""
    fd, tmp = _create_temp(path.parent, path.name)
    os.close(fd)
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _inside_run_folder(checkpoint: str) -> bool:
    """True if ``checkpoint`` is a relative path that cannot climb out of the run folder."""
    posix, windows = PurePosixPath(checkpoint), PureWindowsPath(checkpoint)
    return bool(checkpoint) and not (
        posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts or ".." in windows.parts
    )


def _read_manifest(path: Path) -> list[dict]:
    """The rows of the manifest at ``path``, checked; a ValueError naming the file otherwise."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: corrupt snapshot manifest, not valid JSON ({exc})") from exc
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the snapshot manifest ({exc})") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("snapshots"), list):
        raise ValueError(
            f"{path}: not an nntopo snapshot manifest (expected a JSON object with a 'snapshots' list); "
            "move it away or choose another out_dir"
        )
    rows = payload["snapshots"]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: row {i} is a {type(row).__name__}, not an object")
        nid = row.get("network_id")
        if isinstance(nid, bool) or not isinstance(nid, int) or nid < 0:
            raise ValueError(f"{path}: row {i} has network_id {nid!r}; expected an int >= 0")
        if not isinstance(row.get("reached"), bool):
            raise ValueError(f"{path}: row {i} has reached {row.get('reached')!r}; expected true or false")
        ckpt = row.get("checkpoint")
        if ckpt is not None and not (isinstance(ckpt, str) and _inside_run_folder(ckpt)):
            raise ValueError(
                f"{path}: row {i} has checkpoint {ckpt!r}; checkpoints must be relative paths inside the run folder"
            )
    return rows


def _check_folder(out_dir: object, name: str) -> Path:
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(out_dir).__name__}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name} {out} exists and is not a folder")
    return out


def load_manifest(out_dir: str | os.PathLike) -> list[dict]:
    """The snapshot manifest rows stored in ``out_dir`` (empty if it has no manifest).

    A manifest that is not valid JSON, not an nntopo manifest, or has a row whose
    checkpoint path is absolute or climbs out with ``..`` is a ValueError naming the file.
    """
    path = _check_folder(out_dir, "out_dir") / MANIFEST_NAME
    if not path.exists():
        return []
    return _read_manifest(path)


def load_checkpoint(model: nn.Module, row: dict, out_dir: str | os.PathLike) -> nn.Module:
    """Load the weights of manifest ``row`` (from :func:`load_manifest`) into ``model``.

    The row's checkpoint must be a relative path inside ``out_dir``; an absolute path or
    one with ``..`` is refused, so a manifest cannot make this read files elsewhere.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(row, dict):
        raise TypeError(f"row must be a manifest row (dict), got {type(row).__name__}")
    out = _check_folder(out_dir, "out_dir")
    if not row.get("reached") or not row.get("checkpoint"):
        raise ValueError(f"row: snapshot was never reached, it has no checkpoint: {row}")
    ckpt = row["checkpoint"]
    if not isinstance(ckpt, str) or not _inside_run_folder(ckpt):
        raise ValueError(
            f"row: checkpoint {ckpt!r} is not a relative path inside {out}; rows of {out / MANIFEST_NAME} "
            f"must name files under the run folder: {row}"
        )
    return load_weights(model, out / ckpt)


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load the state_dict saved at ``path`` (``torch.save(model.state_dict(), path)``) into ``model``.

    The file is read with ``torch.load(..., weights_only=True)``: a pickle that would
    build any object other than tensors and plain containers is refused, never run. It
    must hold a mapping of parameter names to tensors whose names and shapes are exactly
    ``model``'s (strict). A missing file is a FileNotFoundError; an unreadable, foreign or
    non-fitting one a ValueError naming the file. Returns ``model``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # unpickling and zip errors come in many types
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        # weights_only admits plain containers and numbers too: a training checkpoint
        # ({"epoch": 3, "state_dict": {...}}) loads, but is not a state_dict.
        hint = ""
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            hint = "; it holds a state_dict under 'state_dict': save that mapping itself"
        raise ValueError(f"{path}: not a state_dict (a mapping of parameter names to tensors), got "
                         f"{type(state).__name__}{hint}")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(f"model: the checkpoint {path} does not fit this {type(model).__name__}: {exc}") from exc
    return model


def _write_manifest(out_dir: Path, network_id: int, rows: list[dict]) -> None:
    kept = [r for r in load_manifest(out_dir) if r["network_id"] != network_id]
    payload = {"snapshots": kept + rows}
    _atomic_write(out_dir / MANIFEST_NAME, lambda p: Path(p).write_text(json.dumps(payload, indent=1)))


def _prepare_out_dir(out_dir: object) -> Path:
    """Check ``out_dir`` and its manifest, create it and make sure it is writable: all before training."""
    out = _check_folder(out_dir, "out_dir")
    manifest = out / MANIFEST_NAME
    if manifest.exists():
        _read_manifest(manifest)
    checkpoints = out / "checkpoints"
    if checkpoints.exists() and not checkpoints.is_dir():
        raise ValueError(f"out_dir: {checkpoints} exists and is not a folder")
    try:
        checkpoints.mkdir(parents=True, exist_ok=True)
        for folder in (out, checkpoints):
            fd, tmp = _create_temp(folder, ".write-test")
            os.close(fd)
            tmp.unlink()
    except OSError as exc:
        raise ValueError(f"out_dir: cannot write in {out} ({exc})") from exc
    return out


# --------------------------------------------------------------------------- checks before training


def _check_policies(snapshots: object) -> list:
    if hasattr(snapshots, "due"):
        policies = [snapshots]
    elif isinstance(snapshots, (str, bytes, dict)) or not hasattr(snapshots, "__iter__"):
        raise TypeError(f"snapshots must be a snapshot policy or a list of them, got {type(snapshots).__name__}")
    else:
        policies = list(snapshots)
    for i, p in enumerate(policies):
        if not (callable(getattr(p, "due", None)) and callable(getattr(p, "unreached", None))):
            raise TypeError(
                f"snapshots[{i}] must be a snapshot policy (AccuracyThresholds, EveryKEpochs, AtEpochs, or an "
                f"object with due() and unreached() methods), got {p!r} ({type(p).__name__})"
            )
    return policies


def _check_data(model: nn.Module, data: Dataset, name: str, X: torch.Tensor, T: torch.Tensor, default_loss: bool) -> None:
    """Refuse data the model cannot take, and labels its output cannot score, before training.

    A trial forward pass of one row runs whenever training will call ``model(X)`` itself:
    with the default loss, and for accuracies when there are labels. A custom loss on
    regression targets may feed the model something other than the rows of X, so then
    only a known input width is checked.
    """
    check_input_width(model, tuple(X.shape), f"{name}.X")
    if not default_loss and data.y is None:
        return
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            out = model(X[:1])
    except (NotImplementedError, RecursionError, torch.OutOfMemoryError):
        raise
    except RuntimeError as exc:
        raise ValueError(f"{name}.X (shape {tuple(X.shape)}) cannot be pushed through the model: {exc}") from exc
    finally:
        model.train(was_training)
    if not default_loss:
        return
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must output (n, k) for the default loss; got {shape} (pass loss= for other outputs)")
    if data.y is not None:
        n_classes = int(out.shape[1])
        # The default loss is cross-entropy over the k outputs: a label outside 0..k-1 would
        # either fail inside torch or, for -100, be silently ignored.
        check_labels(data.y, f"{name}.y", n_classes=n_classes)
    elif T.shape[1:] != out.shape[1:]:
        raise ValueError(
            f"{name}.targets has {T.shape[1]} column(s) but the model outputs {out.shape[1]}; "
            "the default MSE loss would broadcast them"
        )


def _check_accuracy_policies(policies: list, train_data: Dataset, test_data: Dataset | None) -> None:
    for i, p in enumerate(policies):
        if not isinstance(p, AccuracyThresholds):
            continue
        if train_data.y is None:
            raise ValueError(f"snapshots[{i}]: accuracy thresholds need class labels; train_data has regression targets")
        if p.metric == "test_acc" and test_data is None:
            raise ValueError(f"snapshots[{i}]: metric 'test_acc' needs test_data, which is None")


def train(
    model: nn.Module,
    train_data: Dataset,
    test_data: Dataset | None = None,
    config: TrainConfig = TrainConfig(),
    snapshots: SnapshotPolicy | Iterable[SnapshotPolicy] = (),
    out_dir: str | os.PathLike | None = None,
    callbacks: Iterable[Callback] = (),
    loss: LossFn | None = None,
    network_id: int = 0,
    progress: bool = False,
) -> TrainResult:
    """Train ``model`` with Adam on mini-batches and keep snapshots as the policies ask.

    Metrics are evaluated on the whole train and test sets at epoch 0 (initial weights)
    and after every epoch; ``callbacks(epoch, model, record)`` run right after. ``loss``
    is ``loss(model, X, target) -> scalar`` (default: cross-entropy for labels, MSE for
    targets). With ``out_dir``, each snapshot is a checkpoint file
    ``checkpoints/net{id}_epoch{epoch}.pt`` plus rows in ``manifest.json`` (network id,
    seed, epoch, accuracies, policy, threshold, reached); thresholds never reached are
    rows with ``reached: false``. Without ``out_dir`` the states are kept in memory.
    Shuffling uses a private generator seeded by ``config.seed``.

    Everything is checked before the first step: the arguments' types, the data's width
    against the model, labels against the model's output width (default loss), the
    output folder (writable, and any manifest already there readable and nntopo's), so a
    bad call fails at once and writes nothing.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(train_data, Dataset):
        raise TypeError(f"train_data must be an nntopo Dataset; got {type(train_data).__name__}")
    if test_data is not None and not isinstance(test_data, Dataset):
        raise TypeError(f"test_data must be an nntopo Dataset or None; got {type(test_data).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    policies = _check_policies(snapshots)
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks must be a list of callables, got {type(callbacks).__name__}")
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not callable(cb):
            raise TypeError(f"callbacks[{i}] must be callable, got {type(cb).__name__}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable or None, got {type(loss).__name__}")
    network_id = check_int(network_id, "network_id", minimum=0)
    progress = check_bool(progress, "progress")
    _check_accuracy_policies(policies, train_data, test_data)

    loss_fn = loss or _default_loss
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else torch.device("cpu")

    def tensors(data: Dataset, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        Xd = torch.from_numpy(data.X).to(device=device, dtype=dtype)
        Td = _target(data, name)
        Td = Td.to(device=device) if Td.dtype == torch.int64 else Td.to(device=device, dtype=dtype)
        _check_data(model, data, name, Xd, Td, loss is None)
        return Xd, Td

    X, T = tensors(train_data, "train_data")
    if test_data is not None:
        if (test_data.y is None) != (train_data.y is None):
            raise ValueError("test_data must have class labels y exactly when train_data does")
        Xt, Tt = tensors(test_data, "test_data")
    if out_dir is not None:
        out_dir = _prepare_out_dir(out_dir)

    gen = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[dict] = []
    rows: list[dict] = []
    states: dict[int, dict[str, torch.Tensor]] = {}

    def end_of_epoch(epoch: int) -> dict:
        train_loss, train_acc = _evaluate(model, X, T, loss_fn)
        rec = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
               "test_loss": float("nan"), "test_acc": float("nan")}
        if test_data is not None:
            rec["test_loss"], rec["test_acc"] = _evaluate(model, Xt, Tt, loss_fn)
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"training diverged: loss is {train_loss} at epoch {epoch}")
        history.append(rec)
        reasons = [r for p in policies for r in p.due(history)]
        # the loop below stops after this epoch exactly when this holds
        last = epoch == config.epochs or (config.stop_at_accuracy is not None
                                          and train_acc >= config.stop_at_accuracy)
        if last:
            reasons += [r for p in policies if callable(getattr(p, "due_at_end", None)) for r in p.due_at_end(history)]
        if reasons:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            ckpt = None
            if out_dir is not None:
                ckpt = f"checkpoints/net{network_id}_epoch{epoch:05d}.pt"
                _atomic_write(out_dir / ckpt, lambda p: torch.save(state, p))
            else:
                states[epoch] = state
            for r in reasons:
                rows.append({"network_id": network_id, "seed": config.seed, "epoch": epoch,
                             "train_acc": train_acc, "test_acc": rec["test_acc"], **r,
                             "reached": True, "checkpoint": ckpt})
        for cb in callbacks:
            cb(epoch, model, rec)
        return rec

    previous_threads = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    try:
        model.train()
        rec = end_of_epoch(0)
        n = X.shape[0]
        with progress_bar(config.epochs, f"training net {network_id}", enabled=progress) as advance:
            for epoch in range(1, config.epochs + 1):
                if config.stop_at_accuracy is not None and rec["train_acc"] >= config.stop_at_accuracy:
                    break
                perm = torch.randperm(n, generator=gen)
                for start in range(0, n, config.batch_size):
                    idx = perm[start : start + config.batch_size]
                    optimizer.zero_grad(set_to_none=True)
                    loss_fn(model, X[idx], T[idx]).backward()
                    optimizer.step()
                rec = end_of_epoch(epoch)
                advance(description=f"net {network_id} epoch {epoch} acc {rec['train_acc']:.3f}")
    finally:
        torch.set_num_threads(previous_threads)
    for p in policies:
        for r in p.unreached(history):
            rows.append({"network_id": network_id, "seed": config.seed, "epoch": None,
                         "train_acc": None, "test_acc": None, **r, "reached": False, "checkpoint": None})
    if out_dir is not None:
        _write_manifest(out_dir, network_id, rows)
    log.info("net %d: %d epochs, final train acc %.4f, %d snapshot rows",
             network_id, history[-1]["epoch"], history[-1]["train_acc"], len(rows))
    return TrainResult(history=history, snapshots=rows, states=states)
