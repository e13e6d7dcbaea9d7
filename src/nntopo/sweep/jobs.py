"""The kinds of job of a sweep, as functions of (output folder, config, ids): a network's
first job (train it, or load it), and the analysis of one of its snapshots.

A job rebuilds what it needs (data, network, checkpoint) from the folder and the config,
writes only its own region of the store, then writes its mark. Tasks therefore carry a
path, the (small, frozen) config and a few ints, never tensors or big arrays, and any
process that sees the folder can run them.
"""

from __future__ import annotations

import logging
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .config import SweepConfig
from .store import SweepStore, analysis_layouts, network_dir

log = logging.getLogger("nntopo")

__all__ = ["JobResult", "Task", "train_network", "load_network", "analyse_snapshot", "load_snapshot_network",
           "run_task"]


@dataclass(frozen=True)
class Task:
    """One piece of work: ``kind`` is "train", "load" or an analysis name; ``snapshot`` is None for the first two."""

    kind: str
    network: int
    snapshot: int | None = None

    def __str__(self) -> str:
        return f"{self.kind} net {self.network}" + ("" if self.snapshot is None else f" snapshot {self.snapshot}")


@dataclass(frozen=True)
class JobResult:
    """What a job reports back: its task, its seconds (the whole job, and inside the training or the
    analysis's compute alone: the rest is the engine's cost), and (train, load) the reached snapshots."""

    task: Task
    seconds: float
    compute_seconds: float
    reached: tuple[int, ...] = ()


@contextmanager
def _one_thread() -> Iterator[None]:
    """One BLAS/OpenMP and one torch thread: parallelism comes from running jobs side by side."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(previous)


def _snapshot_rows(config: SweepConfig, rows: list[dict]) -> list[dict | None]:
    """The manifest row of each entry of the snapshot axis (None where it was not reached)."""
    out: list[dict | None] = []
    for snap in config.snapshots:
        match = None
        for r in rows:
            if not r["reached"] or r["policy"] != snap.policy:
                continue
            if (snap.policy == "final" or (snap.policy == "accuracy_threshold" and r["threshold"] == snap.threshold)
                    or (snap.policy in ("every_k", "at_epoch") and r["epoch"] == snap.epoch)):
                match = r
                break
        out.append(match)
    return out


def _fresh_network(out: str, network: int) -> tuple[SweepStore, Path]:
    """The store and the emptied folder ``OUT/networks/netNNNNN`` of ``network``, its analysis
    marks removed first: a network's first job (train or load) never mixes with an earlier run's."""
    store = SweepStore(out)
    store.unmark_analyses(network)
    folder = store.out / network_dir(network)
    shutil.rmtree(folder, ignore_errors=True)
    return store, folder


def train_network(out: str, config: SweepConfig, network: int) -> JobResult:
    """Train network ``network`` (seed ``config.training.seeds[network]``), write its history and snapshot rows.

    Checkpoints and manifest go to ``OUT/networks/netNNNNN`` (``nets.train``; the folder
    is emptied first, so a rerun never mixes two trainings). The store gets the history
    ``(epoch,)`` and the snapshot rows ``(snapshot,)`` of this network; then the mark.
    """
    from ..nets import MLP, AccuracyThresholds, AtEpochs, EveryKEpochs, FinalEpoch, TrainConfig, train
    from .data import network_split, training_loss

    start = time.perf_counter()
    store, folder = _fresh_network(out, network)
    t = config.training
    policies: list = []
    if t.snapshots.thresholds:
        policies.append(AccuracyThresholds(t.snapshots.thresholds, metric=t.snapshots.metric))
    if t.snapshots.every is not None:
        policies.append(EveryKEpochs(t.snapshots.every))
    if t.snapshots.at_epochs:
        policies.append(AtEpochs(t.snapshots.at_epochs))
    if t.snapshots.final:
        policies.append(FinalEpoch())
    train_set, test_set = network_split(config, network)
    seed = t.seeds[network]
    with _one_thread():
        t0 = time.perf_counter()
        result = train(MLP(list(config.network.widths), seed=seed), train_set, test_set,
                       TrainConfig(epochs=t.epochs, lr=t.lr, batch_size=t.batch_size, seed=seed,
                                   stop_at_accuracy=t.stop_at_accuracy, num_threads=1),
                       snapshots=policies, out_dir=folder, network_id=network, loss=training_loss(config))
        compute = time.perf_counter() - t0
    rows = _snapshot_rows(config, result.snapshots)
    _write_network(store, config, network, result.history, rows)
    seconds = time.perf_counter() - start
    store.mark("train", network, info={"seconds": seconds, "compute_seconds": compute,
                                       "epochs": result.history[-1]["epoch"]})
    return JobResult(Task("train", network), seconds, compute, tuple(i for i, r in enumerate(rows) if r is not None))


def _write_network(store: SweepStore, config: SweepConfig, network: int, history: list[dict],
                   rows: list[dict | None]) -> None:
    """The history ``(epoch,)`` and the snapshot rows ``(snapshot,)`` of ``network`` (rows: manifest rows, None
    where not reached)."""
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        values = np.full(config.n_epochs, np.nan)
        for rec in history:
            values[rec["epoch"]] = rec[key]
        store.write(key, (network,), values)
    store.write("epochs_trained", (network,), np.int64(history[-1]["epoch"]))
    store.write("snapshot_epoch", (network,), np.array([-1 if r is None else r["epoch"] for r in rows], np.int64))
    for key in ("train_acc", "test_acc"):
        store.write(f"snapshot_{key}", (network,), np.array([np.nan if r is None else r[key] for r in rows]))
    store.write("snapshot_reached", (network,), np.array([r is not None for r in rows]))
    store.write("snapshot_checkpoint", (network,), np.array(
        ["" if r is None else f"{network_dir(network)}/{r['checkpoint']}" for r in rows]))


def load_network(out: str, config: SweepConfig, network: int) -> JobResult:
    """Load network ``network`` of a sweep that loads its networks; write its history and snapshot row.

    The network (:func:`nntopo.sweep.networks.loaded_network`: checkpoint ``network`` in
    the architecture, or what the module returns, checked against the hashes the config
    recorded) goes through ``nets.train`` for zero epochs: that evaluates it on its split
    (epoch 0 of the history: loss and accuracy of the loaded weights) and saves its
    weights as the checkpoint of its one snapshot, in ``OUT/networks/netNNNNN`` with a
    manifest, exactly as a training does; nothing is optimised. So the analyses, figures
    and summaries read a loaded network from the store as they read a trained one.
    """
    from ..nets import AtEpochs, TrainConfig, train
    from .data import network_split, training_loss
    from .networks import loaded_network

    start = time.perf_counter()
    store, folder = _fresh_network(out, network)
    train_set, test_set = network_split(config, network)
    with _one_thread():
        t0 = time.perf_counter()
        net = loaded_network(config.network, network)
        result = train(net, train_set, test_set, TrainConfig(epochs=0, num_threads=1), snapshots=[AtEpochs([0])],
                       out_dir=folder, network_id=network, loss=training_loss(config))
        compute = time.perf_counter() - t0
    _write_network(store, config, network, result.history, result.snapshots)
    seconds = time.perf_counter() - start
    store.mark("load", network, info={"seconds": seconds, "compute_seconds": compute})
    return JobResult(Task("load", network), seconds, compute, (0,))


def load_snapshot_network(out: str, config: SweepConfig, network: int, snapshot: int):
    """The torch network of ``snapshot`` of ``network``, loaded from its checkpoint in OUT (ValueError if not
    reached): the config's architecture (nntopo's MLP, or the user's module) with the stored weights."""
    from ..nets import load_checkpoint
    from .networks import build_architecture

    store = SweepStore(out)
    path = str(store.read("snapshot_checkpoint", (network, snapshot)))
    if not path:
        raise ValueError(f"snapshot {snapshot} of network {network} was not reached (or not trained yet)")
    return load_checkpoint(build_architecture(config.network), {"reached": True, "checkpoint": path}, store.out)


def analyse_snapshot(out: str, config: SweepConfig, analysis: str, network: int, snapshot: int) -> JobResult:
    """Run analysis ``analysis`` on ``snapshot`` of ``network``; write its region of the store, then the mark.

    The returned arrays are checked against the analysis's declared layout (names,
    shapes) and cast to the declared dtypes; a float64 result is stored bit for bit.
    """
    from .analyses import get_analysis
    from .data import sweep_data

    start = time.perf_counter()
    store = SweepStore(out)
    spec = get_analysis(analysis)
    settings = config.analysis(analysis)
    layout = analysis_layouts(config)[analysis]
    net = load_snapshot_network(out, config, network, snapshot)
    data = sweep_data(config)
    with _one_thread():
        t0 = time.perf_counter()
        arrays = spec.compute(settings, config, network, snapshot, net, data)
        compute = time.perf_counter() - t0
    declared = {v.name: v for v in layout.variables}
    if set(arrays) != set(declared):
        raise ValueError(f"analysis {analysis} returned {sorted(arrays)}, it declares {sorted(declared)}")
    for name, v in declared.items():
        value = np.asarray(arrays[name])
        if value.shape != layout.shape(v):
            raise ValueError(f"analysis {analysis}: {name} has shape {value.shape}, declared {layout.shape(v)}")
        if not np.can_cast(value.dtype, v.dtype, casting="same_kind"):
            raise ValueError(f"analysis {analysis}: {name} is {value.dtype}, declared {v.dtype}")
        store.write(name, (network, snapshot), value.astype(v.dtype, copy=False))
    seconds = time.perf_counter() - start
    store.mark(analysis, network, snapshot, info={"seconds": seconds, "compute_seconds": compute})
    return JobResult(Task(analysis, network, snapshot), seconds, compute)


def run_task(out: str, config: SweepConfig, task: Task) -> JobResult:
    """Run ``task`` (what executors call)."""
    if task.kind == "train":
        return train_network(out, config, task.network)
    if task.kind == "load":
        return load_network(out, config, task.network)
    return analyse_snapshot(out, config, task.kind, task.network, task.snapshot)
