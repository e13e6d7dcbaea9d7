"""A sweep's output folder: one Zarr store written piece by piece, marks, checkpoints.

Layout of ``OUT/``::

    sweep.json                 resolved config + versions: decides whether OUT may be resumed
    results.zarr/              the results (Zarr format 2, dims network, snapshot, epoch, layer, ...)
    networks/net00003/         checkpoints/ + manifest.json of network 3 (nets.train)
    marks/train/net00003.json  network 3 is trained and its rows of the store are written
                               (marks/load/ for a sweep that loads its networks)
    marks/NAME/net00003_snap0002.json   analysis NAME of snapshot 2 of network 3 is written

Rules:

* The folder is laid out (every array created, filled with its fill value, metadata
  consolidated) in ``.OUT.partial-<pid>`` next to OUT and renamed into place, so OUT
  either does not exist or holds a complete layout and ``sweep.json``. After that the
  metadata never changes; jobs only write chunks.
* Every array is chunked so that one piece (a network's history and snapshot rows; one
  analysis of one snapshot) is exactly one chunk of each array it writes: two processes
  never write the same chunk.
* A job writes its chunks, and only when every write has returned does it write its mark
  (a small JSON file written to a temporary name and renamed, so a mark is all or
  nothing). A piece with data but no mark is not done and is computed again; a rerun does
  only the pieces without marks.
* An existing OUT is resumed only if its ``sweep.json`` holds the same resolved config;
  anything else is refused with ``FileExistsError`` and left untouched.
* Files and folders are created with the user's umask (no ``mkstemp``/``mkdtemp``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .analyses import Layout, get_analysis
from .config import SweepConfig

log = logging.getLogger("nntopo")

__all__ = ["SweepStore", "check_output", "open_results", "stored_config", "prepare_output", "versions", "STORE_NAME",
           "META_NAME"]

STORE_NAME = "results.zarr"
META_NAME = "sweep.json"
FORMAT = "nntopo-sweep/1"
#: Fixed width of the checkpoint path strings (relative to OUT).
_PATH_WIDTH = 128
_HISTORY = ("train_loss", "train_acc", "test_loss", "test_acc")


def versions() -> dict[str, str]:
    """Versions of the packages whose numbers the results depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("nntopo", "numpy", "torch", "gudhi", "giotto-ph", "scipy", "zarr", "xarray"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def network_dir(network: int) -> str:
    """Folder of network ``network``'s checkpoints and manifest, relative to OUT."""
    return f"networks/net{network:05d}"


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Array:
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    fill: Any
    attrs: dict
    data: np.ndarray | None = None


def analysis_layouts(config: SweepConfig) -> dict[str, Layout]:
    """Layout of every analysis of ``config`` (name -> Layout)."""
    return {name: get_analysis(name).layout(settings, config) for name, settings in config.analyses}


def _arrays(config: SweepConfig) -> tuple[list[_Array], dict[str, np.ndarray]]:
    """Every array of the store and the coordinate values, from the config alone."""
    snaps = config.snapshots
    n, s, e = config.n_networks, len(snaps), config.n_epochs
    coords: dict[str, np.ndarray] = {
        "network": np.arange(n),
        "snapshot": np.arange(s),
        "epoch": np.arange(e),
    }
    aux = {  # non-dimension coordinates
        "seed": (("network",), np.array(config.seeds, dtype=np.int64)),
        "snapshot_policy": (("snapshot",), np.array([x.policy for x in snaps])),
        "snapshot_threshold": (("snapshot",), np.array([np.nan if x.threshold is None else x.threshold
                                                       for x in snaps], dtype=np.float64)),
        "snapshot_requested_epoch": (("snapshot",), np.array([-1 if x.epoch is None else x.epoch for x in snaps],
                                                             dtype=np.int64)),
    }
    arrays = [_Array(k, ("network", "epoch"), (n, e), (1, e), "float64", np.nan, {}) for k in _HISTORY]
    arrays += [
        _Array("epochs_trained", ("network",), (n,), (1,), "int64", -1, {}),
        _Array("snapshot_epoch", ("network", "snapshot"), (n, s), (1, s), "int64", -1, {}),
        _Array("snapshot_train_acc", ("network", "snapshot"), (n, s), (1, s), "float64", np.nan, {}),
        _Array("snapshot_test_acc", ("network", "snapshot"), (n, s), (1, s), "float64", np.nan, {}),
        _Array("snapshot_reached", ("network", "snapshot"), (n, s), (1, s), "bool", False, {}),
        _Array("snapshot_checkpoint", ("network", "snapshot"), (n, s), (1, s), f"<U{_PATH_WIDTH}", "", {}),
    ]
    for name, layout in analysis_layouts(config).items():
        for dim, values in layout.coords.items():
            values = np.asarray(values)
            if dim in coords and not np.array_equal(coords[dim], values):
                raise ValueError(f"analysis {name}: dim {dim!r} has coordinates that differ from another "
                                 "analysis's or the engine's; give the dim another name")
            coords[dim] = values
        for v in layout.variables:
            if any(a.name == v.name for a in arrays) or v.name in coords or v.name in aux:
                raise ValueError(f"analysis {name}: variable {v.name!r} is already in the store; rename it")
            shape = layout.shape(v)
            arrays.append(_Array(v.name, ("network", "snapshot", *v.dims), (n, s, *shape), (1, 1, *shape), v.dtype,
                                 v.fill, {**v.attrs, "analysis": name}))
    for name, (dims, values) in aux.items():
        arrays.append(_Array(name, dims, values.shape, values.shape, values.dtype.str, None, {}, values))
    return arrays, coords


def _create_store(path: Path, config: SweepConfig, meta: dict) -> None:
    import zarr

    arrays, coords = _arrays(config)
    group = zarr.open_group(str(path), mode="w-", zarr_format=2)
    for dim, values in coords.items():
        values = np.asarray(values)
        group.create_array(dim, data=values, chunks=values.shape or (1,), fill_value=None,
                           attributes={"_ARRAY_DIMENSIONS": [dim]})
    for a in arrays:
        attrs = {"_ARRAY_DIMENSIONS": list(a.dims), **a.attrs}
        if a.data is not None:
            group.create_array(a.name, data=a.data, chunks=a.shape, fill_value=None, attributes=attrs)
        else:
            group.create_array(a.name, shape=a.shape, chunks=a.chunks, dtype=a.dtype, fill_value=a.fill,
                               attributes=attrs)
    group.attrs.update({"config": json.dumps(meta["config"]), "versions": json.dumps(meta["versions"]),
                        "format": FORMAT, "coordinates": "seed snapshot_policy snapshot_threshold "
                                                          "snapshot_requested_epoch"})
    zarr.consolidate_metadata(str(path), zarr_format=2)


# --------------------------------------------------------------------------- the output folder


def _resolve(out: object) -> Path:
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a str or os.PathLike, got {type(out).__name__}")
    if os.fspath(out) == "":
        raise ValueError("out is empty; give a folder name")
    target = Path(os.path.realpath(out))
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise ValueError(f"out {target} is the current folder or contains it; choose a folder below it")
    return target


def _read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("config"), dict):
        return None
    return meta


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _differences(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        return out
    return [] if old == new else [f"{prefix} = {json.dumps(old)} there, {json.dumps(new)} here"]


def check_output(out: str | os.PathLike, config: SweepConfig) -> tuple[Path, bool]:
    """Check that ``out`` can hold this sweep; create nothing. Returns (absolute folder, resuming).

    ``out`` may be new, empty, or a sweep folder made by the same resolved config (then
    the run resumes it). A non-empty folder that is not a sweep of this config is a
    ``FileExistsError`` naming it and, for a sweep of another config, the keys that
    differ; a path that cannot be a folder is a ``ValueError``.
    """
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a SweepConfig, got {type(config).__name__}")
    target = _resolve(out)
    existing = target
    while not os.path.lexists(existing):
        existing = existing.parent
    if existing != target:
        if not existing.is_dir():
            raise ValueError(f"out {target}: cannot create it, {existing} is a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"out {target}: cannot create it, {existing} is not writable")
        return target, False
    if not target.is_dir():
        raise ValueError(f"out {target} exists and is not a folder")
    if not os.listdir(target):
        if not os.access(target.parent, os.W_OK | os.X_OK):
            raise ValueError(f"out {target}: its parent {target.parent} is not writable (the layout is built next "
                             "to it)")
        return target, False
    meta = _read_meta(target)
    if meta is None:
        raise FileExistsError(f"out {target} is not empty and holds no sweep (no readable {META_NAME}); choose a new "
                              "or empty folder")
    diff = _differences(meta["config"], config.resolved())
    if diff:
        raise FileExistsError(f"out {target} holds a sweep made by a different config ({'; '.join(diff[:5])}); "
                              "a folder is resumed only by the same config: choose another folder")
    if not os.access(target, os.W_OK | os.X_OK):
        raise ValueError(f"out {target} is not writable")
    return target, True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _clean_partials(target: Path) -> None:
    """Remove layouts that killed runs left half-built next to ``target``."""
    parent = target.parent
    if not parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.partial-(\d+)")
    for entry in sorted(os.listdir(parent)):
        m = pattern.fullmatch(entry)
        if m is not None and not _pid_alive(int(m.group(1))):
            shutil.rmtree(parent / entry)
            log.info("removed %s, left by an interrupted run", parent / entry)


def prepare_output(out: str | os.PathLike, config: SweepConfig) -> tuple[Path, bool]:
    """Check ``out`` (:func:`check_output`) and lay it out if it is new; return (folder, resumed)."""
    target, resuming = check_output(out, config)
    if resuming:
        meta = _read_meta(target)
        now = versions()
        if meta.get("versions") != now:
            log.warning("resuming %s with other package versions than it was started with (%s)", target,
                        "; ".join(_differences(meta.get("versions"), now)))
        return target, True
    _clean_partials(target)
    missing = []
    folder = target.parent
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        os.mkdir(path)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    meta = {"format": FORMAT, "config": config.resolved(), "versions": versions()}
    try:
        os.mkdir(partial)  # the user's umask (mkdtemp would force 0o700)
        for sub in ("networks", "marks", *(f"marks/{k}" for k in (config.network_job, *dict(config.analyses)))):
            os.mkdir(partial / sub)
        _create_store(partial / STORE_NAME, config, meta)
        write_atomic(partial / META_NAME, json.dumps(meta, indent=1))
        # rename(2) replaces an empty folder and fails if one appeared and was filled meanwhile.
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        for path in missing:
            try:
                path.rmdir()
            except OSError:
                break
        raise
    return target, False


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file in the same folder and a rename.

    The file is created with mode 0o666 reduced by the umask; a reader sees either no
    file or the whole text, never a part of it.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- reading and writing pieces


class SweepStore:
    """An opened sweep folder: region writes, reads and marks.

    Opening is cheap (no array is read); jobs open their own store from the folder path.
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = Path(out)
        meta = _read_meta(self.out)
        if meta is None:
            raise ValueError(f"{self.out} is not a sweep folder (no readable {META_NAME})")
        self.meta = meta

    @property
    def zarr_path(self) -> Path:
        return self.out / STORE_NAME

    def _array(self, name: str):
        import zarr

        return zarr.open_array(str(self.zarr_path), path=name, mode="r+", zarr_format=2)

    def write(self, name: str, index: tuple, value: np.ndarray) -> None:
        """Write ``value`` into ``name[index]`` (a whole chunk: the piece's region)."""
        arr = self._array(name)
        value = np.asarray(value)
        expected = tuple(arr.shape[len(index):])
        if value.shape != expected:
            raise ValueError(f"{name}: a piece has shape {expected}, the job returned {value.shape}")
        arr[index] = value

    def read(self, name: str, index: tuple = ()) -> np.ndarray:
        import zarr

        return np.asarray(zarr.open_array(str(self.zarr_path), path=name, mode="r", zarr_format=2)[index])

    # marks ---------------------------------------------------------------

    def mark_path(self, kind: str, network: int, snapshot: int | None = None) -> Path:
        """``marks/train/netNNNNN.json`` or ``marks/KIND/netNNNNN_snapSSSS.json``."""
        name = f"net{network:05d}" if snapshot is None else f"net{network:05d}_snap{snapshot:04d}"
        return self.out / "marks" / kind / f"{name}.json"

    def mark(self, kind: str, network: int, snapshot: int | None = None, info: dict | None = None) -> None:
        """Mark a piece done; call only after all its writes have returned."""
        write_atomic(self.mark_path(kind, network, snapshot), json.dumps(info or {}))

    def is_done(self, kind: str, network: int, snapshot: int | None = None) -> bool:
        return self.mark_path(kind, network, snapshot).is_file()

    def unmark_analyses(self, network: int) -> None:
        """Remove every analysis mark of ``network`` (its snapshots are being recomputed)."""
        for kind in self.analysis_names:
            for p in (self.out / "marks" / kind).glob(f"net{network:05d}_snap*.json"):
                p.unlink(missing_ok=True)

    @property
    def analysis_names(self) -> list[str]:
        return sorted(self.meta["config"]["analysis"])


def stored_config(out: str | os.PathLike) -> SweepConfig:
    """The config a sweep folder was made with, read back from its ``sweep.json``."""
    from .config import parse_config

    meta = _read_meta(Path(out))
    if meta is None:
        raise ValueError(f"{out} is not a sweep folder (no readable {META_NAME})")
    return parse_config(meta["config"], source=str(Path(out) / META_NAME))


def open_results(out: str | os.PathLike):
    """Open a sweep's results as an ``xarray.Dataset``.

    Dims ``network``, ``snapshot``, ``epoch`` (history), and those of the analyses (e.g.
    ``layer``, ``level``, ``t``, ``cell_dim``). Entries not computed (yet) hold the fill
    values: NaN for floats, -1 for counts and epochs, False for ``snapshot_reached``;
    they are not masked, so integer variables stay integers. ``attrs`` hold the resolved
    config and the versions (JSON strings).
    """
    import xarray as xr

    path = Path(out) / STORE_NAME
    if not path.is_dir():
        raise FileNotFoundError(f"no sweep results at {path}")
    return xr.open_zarr(str(path), consolidated=True, mask_and_scale=False, chunks=None)
