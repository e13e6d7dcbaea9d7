"""MNIST from the standard IDX files in a directory the user gives (never downloaded),
and scikit-learn's bundled 8x8 digits as the embedded stand-in."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._validation import DEFAULT_MAX_BYTES, check_allocation, check_choice, check_int, check_labels
from ._base import Dataset

__all__ = ["read_idx", "mnist", "digits", "MNIST_FILES"]

# IDX type codes -> numpy big-endian dtypes (LeCun's format description).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_exactly(stream: BinaryIO, n: int, path: Path, what: str) -> bytes:
    data = stream.read(n)
    if len(data) < n:
        raise ValueError(f"{path}: file ends inside the {what} ({len(data)} of {n} bytes)")
    return data


def _parse_idx(stream: BinaryIO, path: Path, max_bytes: float, file_size: int | None) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise ValueError(f"{path}: not an IDX file (expected magic bytes 00 00 <type> <ndim>)")
    type_code, ndim = magic[2], magic[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02x}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    dims = _read_exactly(stream, 4 * ndim, path, f"header ({ndim} dimension sizes)")
    shape = tuple(int(s) for s in np.frombuffer(dims, dtype=">u4"))
    if 0 in shape:
        raise ValueError(f"{path}: IDX header declares shape {shape}, which holds no items")
    dtype = np.dtype(_IDX_DTYPES[type_code])
    # Python ints: the product of up to 255 sizes below 2**32 cannot overflow here.
    expected = dtype.itemsize
    for s in shape:
        expected *= s
    check_allocation(expected, f"{path}: IDX data of shape {shape}", max_bytes=max_bytes)
    header = 4 + 4 * ndim
    if file_size is not None and file_size != header + expected:
        # Plain files: the size is known without reading a byte of data.
        raise ValueError(f"{path}: header shape {shape} needs {expected} data bytes, found {file_size - header}")
    # One byte past the declared size: enough to see trailing data, never a whole gzip bomb.
    body = stream.read(expected + 1)
    if len(body) != expected:
        found = f"more than {expected}" if len(body) > expected else str(len(body))
        raise ValueError(f"{path}: header shape {shape} needs {expected} data bytes, found {found}")
    return np.frombuffer(body, dtype=dtype).astype(dtype.newbyteorder("="), copy=False).reshape(shape)


def read_idx(path: str | os.PathLike, *, max_bytes: float = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into an array of its stored shape and type.

    Returns a native-byte-order array of the header's shape and type (uint8 for MNIST).
    Raises FileNotFoundError for a missing file and ValueError naming the file when its
    header, length or compression does not match the IDX format. At most the number of
    bytes the header declares (plus one, to detect trailing data) is decompressed, and a
    header declaring more than ``max_bytes`` (default 8 GiB) is refused before reading.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"IDX file not found: {path}")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _parse_idx(raw, path, max_bytes, os.fstat(raw.fileno()).st_size)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse_idx(stream, path, max_bytes, None)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt gzip stream ({type(exc).__name__}: {exc})") from exc


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"MNIST file {stem} (or {stem}.gz) not found in {directory}")


def mnist(directory: str | os.PathLike, split: str = "train", limit: int | None = None) -> Dataset:
    """MNIST images as float32 (n, 784) in [0, 1] with int64 labels, read from ``directory``.

    ``split`` is "train" (60,000 images), "test" (10,000) or "all" (both, train first).
    ``limit`` (an int >= 1 or None) keeps the first ``limit`` images of the split. Nothing
    is downloaded. Images must be unsigned bytes (IDX type 0x08); labels must be whole
    numbers >= 0, else a ValueError names the file.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a str or os.PathLike, got {type(directory).__name__}")
    split = check_choice(split, "split", ("train", "test", "all"))
    if limit is not None:
        limit = check_int(limit, "limit", minimum=1)
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory: MNIST directory not found: {directory}")
    if split == "all":
        parts = [mnist(directory, s) for s in ("train", "test")]
        X = np.concatenate([p.X for p in parts])
        y = np.concatenate([p.y for p in parts])
    else:
        img_path, lab_path = (_find(directory, stem) for stem in MNIST_FILES[split])
        images, labels = read_idx(img_path), read_idx(lab_path)
        if images.ndim != 3:
            raise ValueError(f"{img_path}: expected 3-D images (n, rows, cols); got shape {images.shape}")
        if images.dtype != np.uint8:
            raise ValueError(f"{img_path}: expected unsigned-byte images (IDX type 0x08); got {images.dtype}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{lab_path}: expected {images.shape[0]} labels to match {img_path}; got shape {labels.shape}"
            )
        X = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
        y = check_labels(labels, f"labels in {lab_path}")
    if limit is not None:
        X, y = X[:limit], y[:limit]
    return Dataset(X=X, y=y, meta={"name": "mnist", "split": split, "directory": str(directory)})


def digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images) as float32 (n, 64) in [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(X=bunch.data / 16.0, y=bunch.target, meta={"name": "digits"})
