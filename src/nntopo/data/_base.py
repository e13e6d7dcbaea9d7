"""The dataset container shared by every loader, and the train/test split."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_generator, check_array, check_fraction, check_labels

__all__ = ["Dataset", "train_test_split"]


@dataclass(frozen=True)
class Dataset:
    """A set of inputs with integer labels or float targets.

    Attributes
    ----------
    X : float32 array (n, d), the inputs; finite after the cast to float32 (a value that
        overflows float32, such as ``1e39``, is refused, not turned into inf).
    y : int64 array (n,) of class labels in ``[0, n_classes)``, or None for regression
        sets. Whole-number floats (``[0., 1.]``) are accepted; fractions, NaN and negative
        labels are a ``ValueError`` naming ``y``, never rounded or truncated.
    meta : dict of parameters and provenance (JSON-serialisable values).
    targets : float32 array (n, m) of regression targets (a 1-D array becomes (n, 1)), or None.
    point_data : per-point arrays with n rows (e.g. ``"lattice"`` indices), sliced with the rows.
    """

    X: np.ndarray
    y: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)
    targets: np.ndarray | None = None
    point_data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        X = check_array(self.X, "X", ndim=2, dtype=np.float32)
        n = X.shape[0]
        object.__setattr__(self, "X", X)
        if self.y is not None:
            object.__setattr__(self, "y", check_labels(self.y, "y", n=n))
        if self.targets is not None:
            t = check_array(self.targets, "targets", dtype=np.float32)
            if t.ndim == 1:
                t = t[:, None]
            if t.ndim != 2 or t.shape[0] != n:
                raise ValueError(f"targets must have shape ({n},) or ({n}, m), one row per point; got {t.shape}")
            object.__setattr__(self, "targets", t)
        if not isinstance(self.meta, Mapping):
            raise TypeError(f"meta must be a dict, got {type(self.meta).__name__}")
        if not isinstance(self.point_data, Mapping):
            raise TypeError(f"point_data must be a dict of arrays, got {type(self.point_data).__name__}")
        point_data = {}
        for key, arr in self.point_data.items():
            if not isinstance(key, str):
                raise TypeError(f"point_data keys must be strings, got {key!r}")
            arr = np.asarray(arr)
            if arr.shape[:1] != (n,):
                raise ValueError(f"point_data[{key!r}] must have {n} rows; got shape {arr.shape}")
            point_data[key] = arr
        object.__setattr__(self, "meta", dict(self.meta))
        object.__setattr__(self, "point_data", point_data)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes (largest label + 1); 0 for regression sets."""
        return 0 if self.y is None else int(self.y.max()) + 1

    def subset(self, index: np.ndarray, **meta: Any) -> "Dataset":
        """The rows selected by an integer index ``(k,)`` or a boolean mask ``(n,)``, with extra meta entries."""
        raw = np.asarray(index)
        if raw.dtype == np.bool_:
            if raw.shape != (len(self),):
                raise ValueError(f"index: boolean mask must have shape ({len(self)},); got {raw.shape}")
            rows = np.flatnonzero(raw)
        else:
            rows = check_array(raw, "index", ndim=1, dtype=np.int64, allow_empty=True)
            if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
                raise ValueError(f"index has entries outside [-{len(self)}, {len(self)}) for a set of {len(self)} rows")
        if rows.size == 0:
            raise ValueError("index selects no row; a Dataset needs at least one")
        return Dataset(
            X=self.X[rows],
            y=None if self.y is None else self.y[rows],
            meta={**self.meta, **meta},
            targets=None if self.targets is None else self.targets[rows],
            point_data={k: v[rows] for k, v in self.point_data.items()},
        )


def train_test_split(
    data: Dataset, test_fraction: float = 0.1, seed: int | np.random.Generator | None = 0
) -> tuple[Dataset, Dataset]:
    """Split ``data`` at random into train and test parts (default 90/10), stratified by class.

    ``test_fraction`` lies in (0, 1). Stratifying keeps the class balance of both parts
    equal to the whole. ``seed`` is an int (the same int gives the same split), a
    ``numpy.random.Generator`` (consumed) or None (fresh entropy); default 0.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an nntopo Dataset, got {type(data).__name__}")
    test_fraction = check_fraction(test_fraction, "test_fraction")
    rng = as_generator(seed)
    n = len(data)
    test_mask = np.zeros(n, dtype=bool)
    groups = [np.arange(n)] if data.y is None else [np.flatnonzero(data.y == c) for c in np.unique(data.y)]
    for members in groups:
        k = int(round(test_fraction * members.size))
        test_mask[rng.permutation(members)[:k]] = True
    if test_mask.all() or not test_mask.any():
        raise ValueError(f"test_fraction={test_fraction} leaves one part empty for {n} points")
    return data.subset(~test_mask, split="train"), data.subset(test_mask, split="test")
