"""The data a sweep's jobs use, rebuilt from the config in each process (never shipped in tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..data import Dataset, circles, digits, mnist, moons, nine_disks, sublattice, train_test_split
from .config import BatchConfig, DataConfig, SweepConfig

__all__ = ["SweepData", "load_dataset", "make_batch", "network_split", "sweep_data", "training_loss"]

_LOADERS = {"nine_disks": nine_disks, "circles": circles, "moons": moons, "digits": digits, "mnist": mnist}

#: Collocation grid parameters of a PINN data set (the rest configure the problem).
_GRID_PARAMS = ("n_t", "n_x0")


def _duffing_problem(params: dict[str, Any]) -> Any:
    from ..nets import DuffingPINN

    p = {k: v for k, v in params.items() if k not in _GRID_PARAMS}
    if "x0_lo" in p or "x0_hi" in p:
        p["x0_range"] = (p.pop("x0_lo", -1.0), p.pop("x0_hi", 1.0))
    return DuffingPINN(**p)


#: Physics-informed data sets: name -> problem factory (the problem is the training loss
#: ``loss(model, X, target)`` and builds the collocation points with ``.data(n_t, n_x0)``).
_PINN_PROBLEMS: dict[str, Callable[[dict[str, Any]], Any]] = {"duffing": _duffing_problem}


def load_dataset(config: DataConfig) -> Dataset:
    """The whole data set named by ``[data]``, built with its parameters (deterministic).

    For a physics-informed data set (``duffing``) these are the collocation points
    (``n_t`` x ``n_x0`` grid, default 64 x 16) with the reference solution as targets.
    """
    params = dict(config.params)
    if config.dataset in _PINN_PROBLEMS:
        grid = {k: params[k] for k in _GRID_PARAMS if k in params}
        return _PINN_PROBLEMS[config.dataset](params).data(**grid)
    return _LOADERS[config.dataset](**params)


def training_loss(config: SweepConfig) -> Callable | None:
    """The loss ``train()`` uses: the PINN problem for a physics-informed data set, None
    (train()'s default: cross-entropy or MSE) otherwise."""
    if config.data.dataset in _PINN_PROBLEMS:
        return _PINN_PROBLEMS[config.data.dataset](dict(config.data.params))
    return None


def make_batch(dataset: Dataset, batch: BatchConfig) -> tuple[Dataset, ...]:
    """The ``batch.subsamples`` subsamples of the named batch: points of ``batch.label``
    (all if None), thinned as the batch says.

    A random draw (``fraction`` or ``size``) takes subsample k with the generator of
    child k of ``SeedSequence(batch.seed)``: the same subsamples in every call and
    process, and the first k unchanged when more are asked for. ``every`` gives one
    fixed subsample.
    """
    data = dataset
    what = "the data set"
    if batch.label is not None:
        if batch.label >= dataset.n_classes:
            raise ValueError(f"label {batch.label} is not a class of the data set ({dataset.n_classes} classes)")
        data = dataset.subset(dataset.y == batch.label)
        what = f"class {batch.label} (label = {batch.label})"
    if batch.every is not None:
        if batch.subsamples != 1:
            raise ValueError(f"subsamples = {batch.subsamples}: every = {batch.every} selects one fixed set")
        return (sublattice(data, every=batch.every),)
    if batch.size is not None and batch.size > len(data):
        raise ValueError(f"size = {batch.size} is more than the {len(data)} points of {what}")
    drawn = batch.size if batch.size is not None else max(1, int(round(batch.fraction * len(data))))
    if batch.subsamples > 1 and drawn == len(data):
        raise ValueError(f"subsamples = {batch.subsamples}: each draw takes all {len(data)} points of {what}, "
                         "so the subsamples would be identical")
    children = np.random.SeedSequence(batch.seed).spawn(batch.subsamples)
    return tuple(sublattice(data, fraction=batch.fraction, size=batch.size, seed=np.random.default_rng(child))
                 for child in children)


@dataclass(frozen=True)
class SweepData:
    """What an analysis sees of the data: the whole set and the named batches, each a
    tuple of its subsamples (name -> (Dataset, ...), one entry per ``subsample``)."""

    dataset: Dataset
    batches: dict[str, tuple[Dataset, ...]]


def sweep_data(config: SweepConfig) -> SweepData:
    """Build the data set and every named batch of ``config``."""
    dataset = load_dataset(config.data)
    return SweepData(dataset, {b.name: make_batch(dataset, b) for b in config.data.batches})


def network_split(config: SweepConfig, network: int) -> tuple[Dataset, Dataset | None]:
    """The train/test split of network ``network``, seeded by its seed (as the paper varies the training data).

    A physics-informed network trains on every collocation point and has no test set (None).
    A loaded network's split is seeded 0 (:meth:`SweepConfig.split_seed`).
    """
    if config.data.dataset in _PINN_PROBLEMS:
        return load_dataset(config.data), None
    return train_test_split(load_dataset(config.data), test_fraction=config.data.test_fraction,
                            seed=config.split_seed(network))
