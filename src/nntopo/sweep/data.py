"""The data a sweep's jobs use, rebuilt from the config in each process (never shipped in tasks)."""

from __future__ import annotations

from dataclasses import dataclass

from ..data import Dataset, circles, digits, moons, nine_disks, sublattice, train_test_split
from .config import BatchConfig, DataConfig, SweepConfig

__all__ = ["SweepData", "load_dataset", "make_batch", "network_split", "sweep_data"]

_LOADERS = {"nine_disks": nine_disks, "circles": circles, "moons": moons, "digits": digits}


def load_dataset(config: DataConfig) -> Dataset:
    """The whole data set named by ``[data]``, built with its parameters (deterministic)."""
    return _LOADERS[config.dataset](**dict(config.params))


def make_batch(dataset: Dataset, batch: BatchConfig) -> Dataset:
    """The named batch: points of ``batch.label`` (all if None), thinned as the batch says."""
    data = dataset
    if batch.label is not None:
        if batch.label >= dataset.n_classes:
            raise ValueError(f"label {batch.label} is not a class of the data set ({dataset.n_classes} classes)")
        data = dataset.subset(dataset.y == batch.label)
    if batch.every is not None:
        return sublattice(data, every=batch.every)
    return sublattice(data, fraction=batch.fraction, seed=batch.seed)


@dataclass(frozen=True)
class SweepData:
    """What an analysis sees of the data: the whole set and the named batches (name -> Dataset)."""

    dataset: Dataset
    batches: dict[str, Dataset]


def sweep_data(config: SweepConfig) -> SweepData:
    """Build the data set and every named batch of ``config``."""
    dataset = load_dataset(config.data)
    return SweepData(dataset, {b.name: make_batch(dataset, b) for b in config.data.batches})


def network_split(config: SweepConfig, network: int) -> tuple[Dataset, Dataset]:
    """The train/test split of network ``network``, seeded by its seed (as the paper varies the training data)."""
    return train_test_split(load_dataset(config.data), test_fraction=config.data.test_fraction,
                            seed=config.training.seeds[network])
