"""MNIST from the standard IDX files in a directory the user gives (never downloaded),
and scikit-learn's bundled 8x8 digits as the embedded stand-in."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ._base import Dataset

__all__ = ["read_idx", "mnist", "digits", "MNIST_FILES"]

# IDX type codes -> numpy big-endian dtypes (LeCun's format description).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into an array of its stored shape and type.

    Raises FileNotFoundError for a missing file and ValueError naming the file when its
    header or length does not match the IDX format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip stream ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (expected magic bytes 00 00 <type> <ndim>)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02x}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header declares {ndim} dimensions but the file is too short")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(f"{path}: header shape {shape} needs {expected} data bytes, found {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"MNIST file {stem} (or {stem}.gz) not found in {directory}")


def mnist(directory: str | Path, split: str = "train", limit: int | None = None) -> Dataset:
    """MNIST images as float32 (n, 784) in [0, 1] with int64 labels, read from ``directory``.

    ``split`` is "train" (60,000 images), "test" (10,000) or "all" (both, train first).
    ``limit`` keeps the first ``limit`` images of the split. Nothing is downloaded.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory: MNIST directory not found: {directory}")
    if split == "all":
        parts = [mnist(directory, s) for s in ("train", "test")]
        X = np.concatenate([p.X for p in parts])
        y = np.concatenate([p.y for p in parts])
    elif split in MNIST_FILES:
        img_path, lab_path = (_find(directory, stem) for stem in MNIST_FILES[split])
        images, labels = read_idx(img_path), read_idx(lab_path)
        if images.ndim != 3:
            raise ValueError(f"{img_path}: expected 3-D images (n, rows, cols); got shape {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{lab_path}: expected {images.shape[0]} labels to match {img_path}; got shape {labels.shape}"
            )
        X = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
        y = labels.astype(np.int64)
    else:
        raise ValueError(f"split must be 'train', 'test' or 'all'; got {split!r}")
    if limit is not None:
        if int(limit) != limit or limit < 1:
            raise ValueError(f"limit must be a positive integer; got {limit!r}")
        X, y = X[:limit], y[:limit]
    return Dataset(X=X, y=y, meta={"name": "mnist", "split": split, "directory": str(directory)})


def digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images) as float32 (n, 64) in [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(X=bunch.data / 16.0, y=bunch.target, meta={"name": "digits"})
