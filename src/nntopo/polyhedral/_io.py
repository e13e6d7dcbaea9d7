"""Reading and writing a :class:`~nntopo.polyhedral.PolyhedralComplex` as ``.npz``, validated.

A file is untrusted input: before any array reaches the complex (and scipy), every entry
is checked against the format: present, of the right dtype and shape, indices in range,
counts matching the arrays, weights chaining, finite numbers, a non-empty box that holds
the vertices, a tolerance the builder could have used. Every problem is a ``ValueError``
whose message starts with the file's path; a missing file is a ``FileNotFoundError``.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from .._validation import check_array, check_real
from ._weights import validate_box, validate_pairs

__all__ = ["read_complex_file", "write_complex_file"]

# polyhedral_complex takes tol < 1e-2 and may raise it twice, by 1e3 then 1e6.
_MAX_TOL = 1e4


class _BadFile(ValueError):
    """One problem with the file's contents (the caller prefixes the path)."""


def _as_path(path: Any) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None


def write_complex_file(path: Any, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to exactly ``path`` as a compressed npz, atomically.

    ``np.savez_compressed`` given a name would append ``.npz`` to it (so ``load`` of the
    same name would miss it); an open file keeps the name. Writing to a temporary file
    then renaming means a crash never leaves a truncated file under ``path``.
    """
    target = _as_path(path)
    tmp = f"{target}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_complex_file(path: Any, fmt: int) -> dict[str, Any]:
    """Read and validate a file written by ``PolyhedralComplex.save`` (format ``fmt``).

    Returns a dict with ``vertices (f0, d) float64``, ``vertex_signs (f0, N) int8``,
    ``edges (f1, 2) int64``, ``pairs {k: (cells, facets) int64}`` for ``k = 2..d``,
    ``counts`` (list of d+1 ints), ``weights`` (list of float64 ``(W, b)``), ``lo``,
    ``hi`` (``(d,)`` float64) and ``tol`` (float). Raises ``FileNotFoundError`` for a
    missing file and ``ValueError`` naming the file for anything else wrong with it.
    """
    name = _as_path(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"path {name!r}: no such file")
    if os.path.isdir(name):
        raise ValueError(f"{name}: is a directory, not a saved polyhedral complex (.npz)")
    arrays = _read_npz(name)
    try:
        return _validate(arrays, fmt)
    except (_BadFile, TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None


def _read_npz(name: str) -> dict[str, np.ndarray]:
    """All arrays of the npz, read eagerly so a corrupt member fails here, not later."""
    if not zipfile.is_zipfile(name):
        raise ValueError(f"{name}: not an .npz file (not a zip archive; truncated or another format)")
    try:
        z = np.load(name, allow_pickle=False)
    except Exception as exc:  # BadZipFile, pickle refusal, OSError, EOFError...
        raise ValueError(f"{name}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{name}: holds a single .npy array, not a saved polyhedral complex (.npz)")
    out: dict[str, np.ndarray] = {}
    with z:
        for key in z.files:
            try:
                out[key] = z[key]
            except Exception as exc:  # damaged member (zlib, zipfile, EOF) or a pickled object array
                raise ValueError(
                    f"{name}: cannot read the entry {key!r} ({type(exc).__name__}: {exc}); the file is "
                    "corrupt, truncated, or holds pickled objects, which are never loaded"
                ) from None
    return out


def _entry(arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in arrays:
        raise _BadFile(f"missing the entry {key!r}; not a complete saved polyhedral complex")
    return arrays[key]


def _ints(arrays: dict[str, np.ndarray], key: str, shape: tuple[int | None, ...]) -> np.ndarray:
    a = _entry(arrays, key)
    if a.dtype.kind not in "iu":
        raise _BadFile(f"{key} must hold integers, got dtype {a.dtype}")
    return check_array(a, key, shape=shape, dtype=np.int64, allow_empty=True)


def _floats(arrays: dict[str, np.ndarray], key: str, shape: tuple[int | None, ...]) -> np.ndarray:
    a = _entry(arrays, key)
    if a.dtype.kind != "f":
        raise _BadFile(f"{key} must hold floats, got dtype {a.dtype}")
    return check_array(a, key, shape=shape, allow_empty=True)


def _scalar(arrays: dict[str, np.ndarray], key: str, kinds: str) -> np.ndarray:
    # Not check_array: it returns a 0-d input as shape (1,) (np.ascontiguousarray does).
    a = _entry(arrays, key)
    if a.shape != () or a.dtype.kind not in kinds:
        kind = "an integer" if kinds == "iu" else "a float"
        raise _BadFile(f"{key} must be {kind} scalar, got dtype {a.dtype} shape {a.shape}")
    return a


def _in_range(a: np.ndarray, key: str, n: int, what: str) -> None:
    if a.size and (a.min() < 0 or a.max() >= n):
        raise _BadFile(f"{key} has indices from {int(a.min())} to {int(a.max())}, outside 0..{n - 1} ({n} {what})")


def _validate(arrays: dict[str, np.ndarray], fmt: int) -> dict[str, Any]:
    if "format" not in arrays:
        raise _BadFile("no 'format' entry: not a saved polyhedral complex")
    version = _scalar(arrays, "format", "iu")
    if int(version) != fmt:
        raise _BadFile(f"unsupported polyhedral complex format {int(version)} (this version reads format {fmt})")

    vertices = _floats(arrays, "vertices", (None, None))
    f0, d = vertices.shape
    if f0 == 0 or d == 0:
        raise _BadFile(f"vertices must have shape (f0, d) with f0, d >= 1, got {vertices.shape}")

    n_layers = int(_scalar(arrays, "n_layers", "iu"))
    if n_layers < 1:
        raise _BadFile(f"n_layers must be >= 1, got {n_layers}")
    pairs_w = []
    for i in range(n_layers):
        pairs_w.append((_floats(arrays, f"W{i}", (None, None)), _floats(arrays, f"b{i}", (None,))))
    weights = validate_pairs(pairs_w, "weights")
    if weights[0][0].shape[1] != d:
        raise _BadFile(f"the first layer W0 takes {weights[0][0].shape[1]} inputs but the vertices have d = {d}")
    n_hidden = sum(W.shape[0] for W, _ in weights[:-1])

    vertex_signs = _ints(arrays, "vertex_signs", (f0, None))
    if vertex_signs.shape[1] != n_hidden:
        raise _BadFile(
            f"vertex_signs has {vertex_signs.shape[1]} columns but the hidden layers have "
            f"{n_hidden} neurons in all"
        )
    if vertex_signs.size and not np.all(np.abs(vertex_signs) <= 1):
        raise _BadFile("vertex_signs must hold only -1, 0 and +1")
    vertex_signs = vertex_signs.astype(np.int8)

    counts = _ints(arrays, "counts", (d + 1,))
    if counts[0] != f0:
        raise _BadFile(f"counts[0] = {int(counts[0])} but there are {f0} vertices")
    if np.any(counts < 1):
        raise _BadFile(f"counts must all be >= 1 (a box has cells of every dimension), got {counts.tolist()}")

    edges = _ints(arrays, "edges", (None, 2))
    if edges.shape[0] != counts[1]:
        raise _BadFile(f"counts[1] = {int(counts[1])} but there are {edges.shape[0]} edges")
    _in_range(edges, "edges", f0, "vertices")
    _faces_covered(edges.ravel(), f0, 0, d)

    pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in range(2, d + 1):
        cells = _ints(arrays, f"pairs{k}_cells", (None,))
        facets = _ints(arrays, f"pairs{k}_facets", (cells.shape[0],))
        _in_range(cells, f"pairs{k}_cells", int(counts[k]), f"{k}-cells")
        _in_range(facets, f"pairs{k}_facets", int(counts[k - 1]), f"{k - 1}-cells")
        n_facets = np.bincount(cells, minlength=int(counts[k]))
        if n_facets.min() < k + 1:
            bad = int(np.argmin(n_facets))
            raise _BadFile(
                f"{k}-cell {bad} has {int(n_facets[bad])} facets in pairs{k}_cells; a {k}-polytope has "
                f"at least {k + 1} (counts[{k}] = {int(counts[k])} does not match the arrays)"
            )
        _faces_covered(facets, int(counts[k - 1]), k - 1, d)
        pairs[k] = (cells, facets)
    expected = {"format", "vertices", "vertex_signs", "edges", "counts", "lo", "hi", "tol", "n_layers"}
    expected |= {f"pairs{k}_{part}" for k in range(2, d + 1) for part in ("cells", "facets")}
    expected |= {f"{p}{i}" for i in range(n_layers) for p in ("W", "b")}
    extra = sorted(set(arrays) - expected)
    if extra:
        raise _BadFile(f"unexpected entries {extra} for a complex of dimension {d} with {n_layers} layers")

    lo = _floats(arrays, "lo", (d,))
    hi = _floats(arrays, "hi", (d,))
    lo, hi = validate_box((lo, hi), d, name="box (lo, hi)")
    # Vertices are convex combinations of points of the box: outside it only by rounding.
    slack = 1e-9 * np.maximum(np.maximum(np.abs(lo), np.abs(hi)), hi - lo)
    outside = np.any((vertices < lo - slack) | (vertices > hi + slack), axis=1)
    if outside.any():
        raise _BadFile(f"{int(outside.sum())} vertices lie outside the box [lo, hi] (first: vertex {int(np.argmax(outside))})")

    tol = check_real(
        float(_scalar(arrays, "tol", "f")), "tol", minimum=0.0, maximum=_MAX_TOL, min_inclusive=False, max_inclusive=False
    )

    return {
        "vertices": vertices,
        "vertex_signs": vertex_signs,
        "edges": edges,
        "pairs": pairs,
        "counts": [int(c) for c in counts],
        "weights": weights,
        "lo": lo,
        "hi": hi,
        "tol": tol,
    }


def _faces_covered(facets: np.ndarray, n: int, k: int, d: int) -> None:
    """Every k-cell (k < d) is a facet of some (k+1)-cell: a subdivision of a box is pure.

    When k+1 = d, a (d-1)-cell also lies between at most two regions.
    """
    uses = np.bincount(facets, minlength=n)
    if uses.min() < 1:
        raise _BadFile(f"{k}-cell {int(np.argmin(uses))} is a face of no {k + 1}-cell (counts[{k}] = {n} does not match the arrays)")
    if k + 1 == d and uses.max() > 2:
        raise _BadFile(f"{k}-cell {int(np.argmax(uses))} is a facet of {int(uses.max())} regions; at most 2 share a facet")
