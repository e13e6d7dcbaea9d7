"""The dataset container shared by every loader, and input checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Dataset", "train_test_split", "check_positive", "check_fraction"]


@dataclass(frozen=True)
class Dataset:
    """A set of inputs with integer labels or float targets.

    Attributes
    ----------
    X : float32 array (n, d), the inputs.
    y : int64 array (n,) of class labels, or None for regression sets.
    meta : dict of parameters and provenance (JSON-serialisable values).
    targets : float32 array (n, m) of regression targets, or None.
    point_data : per-point arrays with n rows (e.g. ``"lattice"`` indices), sliced with the rows.
    """

    X: np.ndarray
    y: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)
    targets: np.ndarray | None = None
    point_data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        X = np.asarray(self.X)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (n, d); got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X is empty: a dataset needs at least one point")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        object.__setattr__(self, "X", np.ascontiguousarray(X, dtype=np.float32))
        if self.y is not None:
            y = np.asarray(self.y)
            if y.shape != (X.shape[0],):
                raise ValueError(f"y must have shape ({X.shape[0]},); got {y.shape}")
            object.__setattr__(self, "y", y.astype(np.int64, copy=False))
        if self.targets is not None:
            t = np.asarray(self.targets, dtype=np.float32)
            if t.ndim == 1:
                t = t[:, None]
            if t.shape[0] != X.shape[0]:
                raise ValueError(f"targets must have {X.shape[0]} rows; got shape {t.shape}")
            object.__setattr__(self, "targets", t)
        for key, arr in self.point_data.items():
            if np.shape(arr)[:1] != (X.shape[0],):
                raise ValueError(f"point_data[{key!r}] must have {X.shape[0]} rows; got shape {np.shape(arr)}")

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes (largest label + 1); 0 for regression sets."""
        return 0 if self.y is None else int(self.y.max()) + 1

    def subset(self, index: np.ndarray, **meta: Any) -> "Dataset":
        """The rows selected by an integer index or boolean mask, with extra meta entries."""
        index = np.asarray(index)
        if index.dtype == bool and index.shape != (len(self),):
            raise ValueError(f"index: boolean mask must have shape ({len(self)},); got {index.shape}")
        return Dataset(
            X=self.X[index],
            y=None if self.y is None else self.y[index],
            meta={**self.meta, **meta},
            targets=None if self.targets is None else self.targets[index],
            point_data={k: np.asarray(v)[index] for k, v in self.point_data.items()},
        )


def check_positive(value: float, name: str, *, strict: bool = True) -> float:
    """Return ``value`` as float, or raise ValueError naming ``name``."""
    v = float(value)
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        raise ValueError(f"{name} must be {'>' if strict else '>='} 0 and finite; got {value!r}")
    return v


def check_fraction(value: float, name: str) -> float:
    """Return ``value`` as a float in (0, 1), or raise ValueError naming ``name``."""
    v = float(value)
    if not (0.0 < v < 1.0):
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    return v


def train_test_split(
    data: Dataset, test_fraction: float = 0.1, seed: int | np.random.Generator = 0
) -> tuple[Dataset, Dataset]:
    """Split ``data`` at random into train and test parts (default 90/10), stratified by class.

    Stratifying keeps the class balance of both parts equal to the whole; the same seed
    gives the same split.
    """
    check_fraction(test_fraction, "test_fraction")
    rng = np.random.default_rng(seed)
    n = len(data)
    test_mask = np.zeros(n, dtype=bool)
    groups = [np.arange(n)] if data.y is None else [np.flatnonzero(data.y == c) for c in np.unique(data.y)]
    for members in groups:
        k = int(round(test_fraction * members.size))
        test_mask[rng.permutation(members)[:k]] = True
    if test_mask.all() or not test_mask.any():
        raise ValueError(f"test_fraction={test_fraction} leaves one part empty for {n} points")
    return data.subset(~test_mask, split="train"), data.subset(test_mask, split="test")
