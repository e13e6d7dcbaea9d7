"""Datasets: each loader returns a :class:`Dataset` of float32 inputs, int64 labels and metadata."""

from ._base import Dataset, train_test_split
from .duffing import DUFFING_REGIMES, duffing
from .mnist import MNIST_FILES, digits, mnist, read_idx
from .synthetic import circles, moons, nine_disks, sublattice

__all__ = [
    "Dataset",
    "train_test_split",
    "nine_disks",
    "sublattice",
    "circles",
    "moons",
    "mnist",
    "read_idx",
    "MNIST_FILES",
    "digits",
    "duffing",
    "DUFFING_REGIMES",
]
