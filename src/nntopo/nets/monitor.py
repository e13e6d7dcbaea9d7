"""TopologyMonitor: both views of a network, recorded every k epochs of your own training loop.

At every epoch that is a multiple of ``every`` the monitor pushes a fixed batch ``X``
through the model and records

* per captured layer, the L^2 norm of its activation landscape (Vietoris-Rips H_q of the
  layer's normalized point cloud, the same pipeline as the sweep's ``landscapes``
  analysis: :func:`nntopo.nets.capture`, :func:`nntopo.nets.activation_landscape`,
  :func:`nntopo.landscapes.norms_per_layer`);
* for inputs of dimension 1..3, the f-vector (cells of each dimension, the last entry
  is the number of regions) of the exact polyhedral complex on a box
  (:func:`nntopo.polyhedral.polyhedral_complex`).

Use it as ``monitor(model, epoch)``, ``monitor.on_epoch_end(model, epoch)``, directly as a
callback of :func:`nntopo.nets.train` (``callbacks=[monitor]``: it is then called as
``monitor(epoch, model, record)``), or in PyTorch Lightning through
``LightningTopologyMonitor`` (needs the optional extra ``nntopo[lightning]``; built on
first access, so importing nntopo never imports Lightning).

The records are a pandas table (:meth:`TopologyMonitor.to_dataframe`), an
``xarray.Dataset`` (:meth:`TopologyMonitor.to_xarray`) or a Zarr store
(:meth:`TopologyMonitor.save`, read back with :func:`load_monitor`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from .._validation import check_array, check_bool, check_choice, check_int
from .capture import _check_layers, activation_landscape, capture

# LightningTopologyMonitor is left out: a star import must not need Lightning.
__all__ = ["TopologyMonitor", "load_monitor", "FORMAT"]

#: Written into every store the monitor saves; :meth:`TopologyMonitor.save` overwrites
#: only a store carrying it, so it never deletes a folder it did not write.
FORMAT = "nntopo-monitor/1"

#: The norm recorded for each layer's landscape (L^p).
_P = 2

_EXTRA_HINT = "pip install 'nntopo[lightning]' (or pip install lightning)"


def _as_batch(X: object) -> np.ndarray:
    """``X`` (numpy or torch, shape (n, features...)) as an owned, read-only float64 array."""
    if isinstance(X, torch.Tensor):
        t = X.detach().cpu()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16
            t = t.float()
        X = t.numpy()
    arr = check_array(X, "X", dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"X must have shape (n, features...), one row per input; got shape {arr.shape}")
    arr = arr.copy()  # the batch must not change when the caller edits theirs
    arr.flags.writeable = False
    return arr


def _bounding_box(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    flat = np.flatnonzero(lo >= hi)
    if flat.size:
        j = int(flat[0])
        raise ValueError(
            f"box: X's bounding box is flat in coordinate {j} (every row has {lo[j]:g}), so it holds no "
            "region; pass box=(lo, hi) or complex=False"
        )
    return lo, hi


class TopologyMonitor:
    """Record landscape norms per layer (and the f-vector for low-dimensional inputs) every ``every`` epochs.

    Parameters
    ----------
    X : array or tensor (n, features...)
        The fixed batch, the same at every record. Finite real numbers; stored as a
        float64 copy and cast to the model's dtype and device at each record. Each
        landscape is a Rips computation on ``n`` points, so keep ``n`` to a few hundred.
    every : int >= 1
        Record at the epochs that are multiples of ``every``, epoch 0 (the initial
        weights, as :func:`nntopo.nets.train` numbers them) included.
    layers : list of str, optional
        Names :func:`nntopo.nets.capture` accepts; default what it records by default:
        "input", the output of every ``nn.ReLU`` module, "output". Activations of more
        than one feature axis (convolutions) are flattened per row.
    hom_dim : int in 0..2
        Homology degree q of the landscapes.
    homology : {"plain", "local"}
        Normalization before Rips, as :func:`nntopo.landscapes.layer_diagrams`.
    grid : (t_min, t_max, step)
        Landscape grid in normalized distance units (both ends included).
    levels : int >= 1
        Landscape levels kept.
    keep_infinite : bool
        Cut infinite bars at ``t_max`` instead of dropping them.
    backend : {"auto", "gudhi", "giotto"}
        Rips backend.
    complex : bool or None
        Record the polyhedral complex's f-vector. None (default): when ``X`` is 2-D with
        1..3 features; True: required (a ValueError if ``X`` is not such a batch);
        False: never. The model must then be a Linear/ReLU chain: anything else is the
        ``TypeError`` of :func:`~nntopo.polyhedral.polyhedral_complex`, naming what it
        refuses (pass ``complex=False`` to monitor such a model).
    box : (lo, hi), optional
        Box of the complex in input units (scalars or arrays of length d); default the
        bounding box of ``X``.

    The model is measured in eval mode (dropout off, batch norm on its running
    statistics) under ``torch.no_grad()``, so a record describes the function the
    network computes, not one random dropout mask; afterwards every submodule is back in
    the train/eval mode it was in. The model is never moved between devices and its
    parameters and gradients are not touched.
    """

    def __init__(
        self,
        X: np.ndarray | torch.Tensor,
        every: int = 1,
        layers: Iterable[str] | None = None,
        *,
        hom_dim: int = 1,
        homology: str = "plain",
        grid: tuple[float, float, float] = (0.0, 1.0, 0.001),
        levels: int = 5,
        keep_infinite: bool = False,
        backend: str = "auto",
        complex: bool | None = None,  # noqa: A002 - the name users expect: the polyhedral complex
        box: Any = None,
    ) -> None:
        from ..landscapes import BACKENDS, Grid
        from ..polyhedral._weights import validate_box

        self._X = _as_batch(X)
        self.every = check_int(every, "every", minimum=1)
        if layers is not None:
            if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
                raise TypeError(f"layers must be a list of layer names (or None), got {type(layers).__name__} {layers!r}")
            layers = tuple(layers)
        self._layers = layers
        self.hom_dim = check_int(hom_dim, "hom_dim", minimum=0, maximum=2)
        self.homology = check_choice(homology, "homology", ("plain", "local"))
        if isinstance(grid, (str, bytes)) or not hasattr(grid, "__len__") or len(grid) != 3:
            raise TypeError(f"grid must be (t_min, t_max, step), got {grid!r}")
        self.grid = Grid(*grid)  # its ValueErrors name t_min, t_max or step
        self.levels = check_int(levels, "levels", minimum=1)
        self.keep_infinite = check_bool(keep_infinite, "keep_infinite")
        self.backend = check_choice(backend, "backend", BACKENDS)

        low_dim = self._X.ndim == 2 and self._X.shape[1] <= 3
        if complex is None:
            complex = low_dim
        else:
            complex = check_bool(complex, "complex")
            if complex and not low_dim:
                raise ValueError(
                    f"complex=True needs inputs of dimension 1..3 (X of shape (n, d), d <= 3); X has shape "
                    f"{self._X.shape}"
                )
        self.complex = complex
        if box is not None and not complex:
            raise ValueError("box is given but no complex is recorded (complex=False, or X is not (n, d) with d <= 3)")
        self.box: tuple[np.ndarray, np.ndarray] | None = None
        if complex:
            d = self._X.shape[1]
            self.box = validate_box(box, d, "box") if box is not None else _bounding_box(self._X)

        self._layer_names: tuple[str, ...] | None = None
        self._records: list[tuple[int, np.ndarray, np.ndarray | None]] = []
        self._last_epoch: int | None = None

    # ------------------------------------------------------------------ properties

    @property
    def X(self) -> np.ndarray:
        """The fixed batch, float64 ``(n, features...)``, read-only."""
        return self._X

    @property
    def epochs(self) -> list[int]:
        """The epochs recorded so far, in order."""
        return [r[0] for r in self._records]

    @property
    def layer_names(self) -> tuple[str, ...] | None:
        """The layers recorded, in network order (None before the first record)."""
        return self._layer_names

    def due(self, epoch: int) -> bool:
        """Whether ``epoch`` (int >= 0) is one the monitor records at."""
        return check_int(epoch, "epoch", minimum=0) % self.every == 0

    # ------------------------------------------------------------------ recording

    def __call__(self, a: Any, b: Any, record: dict | None = None) -> dict | None:
        """``monitor(model, epoch)``, or ``monitor(epoch, model, record)`` as a :func:`~nntopo.nets.train` callback.

        Records when ``epoch`` is a multiple of ``every`` and returns what it recorded
        (``{"epoch", "landscape_norm": {layer: norm}, "f_vector": list or None}``), else
        returns None without touching the model. ``record`` (train's metrics) is ignored.
        """
        if isinstance(a, nn.Module):
            model, epoch = a, b
        elif isinstance(b, nn.Module):
            epoch, model = a, b
        else:
            raise TypeError(
                "model must be a torch.nn.Module: call monitor(model, epoch) or pass the monitor to "
                f"nntopo.nets.train's callbacks; got {type(a).__name__} and {type(b).__name__}"
            )
        return self.on_epoch_end(model, epoch)

    def on_epoch_end(self, model: nn.Module, epoch: int) -> dict | None:
        """Record ``model`` after ``epoch`` (int >= 0, increasing from call to call) if it is due; see :meth:`__call__`."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        epoch = check_int(epoch, "epoch", minimum=0)
        if self._last_epoch is not None and epoch <= self._last_epoch:
            raise ValueError(
                f"epoch must increase from call to call: got {epoch} after {self._last_epoch} "
                "(use a new TopologyMonitor for a new training run)"
            )
        if epoch % self.every:
            self._last_epoch = epoch
            return None
        names, norms, fvec = self._measure_restoring(model)
        if self._layer_names is None:
            self._layer_names = names
        elif names != self._layer_names:
            raise ValueError(
                f"model: the captured layers changed from {list(self._layer_names)} to {list(names)}; "
                "monitor one network per TopologyMonitor"
            )
        self._records.append((epoch, norms, fvec))
        self._last_epoch = epoch
        return {"epoch": epoch, "landscape_norm": dict(zip(names, norms.tolist())),
                "f_vector": None if fvec is None else fvec.tolist()}

    def _measure_restoring(self, model: nn.Module) -> tuple[tuple[str, ...], np.ndarray, np.ndarray | None]:
        # capture() restores model.train(was_training) on the root, which would also flip a
        # submodule the user froze in eval mode inside a training model: restore each
        # module's own flag instead.
        modes = [(m, m.training) for m in model.modules()]
        try:
            with torch.no_grad():
                model.eval()
                return self._measure(model)
        finally:
            for m, training in modes:
                m.training = training

    def _measure(self, model: nn.Module) -> tuple[tuple[str, ...], np.ndarray, np.ndarray | None]:
        """(layer names in network order, landscape norms (n_layers,), f-vector (d + 1,) or None)."""
        from ..landscapes import norms_per_layer
        from ..polyhedral import polyhedral_complex

        # Cheapest refusals first: capture checks the layer names and that X fits the model
        # (its errors name them), the complex refuses a non-Linear/ReLU model; only then Rips.
        acts = capture(model, self._X, layers=_check_layers(model, self._layers))
        fvec = None
        if self.complex:
            try:
                cx = polyhedral_complex(model, box=self.box)
            except TypeError as exc:  # not a Linear/ReLU chain: say how to keep the landscapes alone
                raise TypeError(f"{exc} (the monitor records the f-vector for inputs of dimension <= 3; "
                                f"TopologyMonitor(..., complex=False) records the landscape norms alone)") from None
            fvec = np.asarray(cx.f_vector, dtype=np.int64)
        al = activation_landscape(model, acts, hom_dim=self.hom_dim, homology=self.homology, grid=self.grid,
                                  levels=self.levels, keep_infinite=self.keep_infinite, backend=self.backend)
        order = list(acts)
        return tuple(order), np.asarray(norms_per_layer(al, p=_P), dtype=np.float64), fvec

    # ------------------------------------------------------------------ results

    def _settings(self) -> dict:
        out = {"format": FORMAT, "every": self.every, "n_points": int(self._X.shape[0]), "hom_dim": self.hom_dim,
               "homology": self.homology, "grid": [self.grid.t_min, self.grid.t_max, self.grid.step],
               "levels": self.levels, "keep_infinite": int(self.keep_infinite), "backend": self.backend,
               "p": _P, "complex": int(self.complex)}
        if self.box is not None:
            out["box_lo"] = self.box[0].tolist()
            out["box_hi"] = self.box[1].tolist()
        return out

    def _f_columns(self) -> list[str]:
        return [f"f{k}" for k in range(self._X.shape[1] + 1)] if self.complex else []

    def to_dataframe(self):
        """The records as a long ``pandas.DataFrame``: one row per (epoch, layer).

        Columns ``epoch`` (int64), ``layer`` (str), ``landscape_norm`` (float64, L^2 norm
        of the layer's H_q landscape, normalized distance units) and, when the complex is
        recorded, ``f0 .. fd`` and ``n_regions`` (int64; per epoch, repeated on each
        layer's row). Empty (with these columns) before the first record.
        """
        import pandas as pd

        fcols = self._f_columns()
        cols: dict[str, list] = {"epoch": [], "layer": [], "landscape_norm": []}
        cols.update({c: [] for c in fcols})
        if fcols:
            cols["n_regions"] = []
        for epoch, norms, fvec in self._records:
            for name, v in zip(self._layer_names or (), norms):
                cols["epoch"].append(epoch)
                cols["layer"].append(name)
                cols["landscape_norm"].append(float(v))
                if fvec is not None:
                    for c, count in zip(fcols, fvec):
                        cols[c].append(int(count))
                    cols["n_regions"].append(int(fvec[-1]))
        dtypes = {"epoch": "int64", "layer": "object", "landscape_norm": "float64",
                  **{c: "int64" for c in fcols}, **({"n_regions": "int64"} if fcols else {})}
        return pd.DataFrame({c: pd.Series(v, dtype=dtypes[c]) for c, v in cols.items()})

    def to_xarray(self):
        """The records as an ``xarray.Dataset``.

        ``landscape_norm`` (epoch, layer) float64; with the complex also ``f_vector``
        (epoch, cell_dim) int64 and ``n_regions`` (epoch,) int64. Coordinates ``epoch``,
        ``layer``, ``cell_dim`` (0..d); the settings (and the box) in ``attrs``. A
        ValueError before the first record.
        """
        import xarray as xr

        if not self._records:
            raise ValueError("nothing recorded yet: call the monitor at an epoch that is a multiple of every first")
        attrs = self._settings()
        epochs = np.array([r[0] for r in self._records], dtype=np.int64)
        data_vars = {
            "landscape_norm": (("epoch", "layer"), np.stack([r[1] for r in self._records]),
                               {"description": f"L^{_P} norm of the H_{self.hom_dim} activation landscape",
                                "units": "normalized distance (diameter 1 for plain homology)"}),
        }
        coords = {"epoch": epochs, "layer": np.array(self._layer_names, dtype=str)}
        if self.complex:
            fv = np.stack([r[2] for r in self._records]).astype(np.int64)
            data_vars["f_vector"] = (("epoch", "cell_dim"), fv, {"description": "cells of each dimension"})
            data_vars["n_regions"] = (("epoch",), fv[:, -1].copy(), {"description": "top-dimensional cells"})
            coords["cell_dim"] = np.arange(fv.shape[1], dtype=np.int64)
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the records to the Zarr store ``path`` (format 2, consolidated) and return its path.

        Written to a temporary folder beside ``path`` and renamed into place, so ``path``
        is never a half-written store. An existing store that this monitor format wrote is
        replaced (renamed aside, the new one renamed in, the old one removed: a reader
        finds the old store or the new one, never a mixture); any other existing file or
        folder is refused with a ValueError and left as it is.
        """
        try:
            target = Path(os.fspath(path))
        except TypeError:
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
        ds = self.to_xarray()
        parent = target.parent
        if not parent.is_dir():
            raise ValueError(f"path: the folder {parent} does not exist")
        replacing = os.path.lexists(target)
        if replacing and not _is_monitor_store(target):
            raise ValueError(f"path {target} exists and is not a TopologyMonitor store; refusing to overwrite it")
        token = secrets.token_hex(6)
        tmp = parent / f".{target.name}.tmp-{token}"
        try:
            ds.to_zarr(str(tmp), mode="w-", zarr_format=2, consolidated=True)
            if replacing:
                old = parent / f".{target.name}.old-{token}"
                os.rename(target, old)
                try:
                    os.rename(tmp, target)
                except BaseException:
                    os.rename(old, target)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, target)
        finally:
            if os.path.lexists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    def __repr__(self) -> str:
        return (f"TopologyMonitor(n_points={self._X.shape[0]}, every={self.every}, hom_dim={self.hom_dim}, "
                f"homology={self.homology!r}, complex={self.complex}, records={len(self._records)})")


def _is_monitor_store(path: Path) -> bool:
    try:
        attrs = json.loads((path / ".zattrs").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(attrs, dict) and attrs.get("format") == FORMAT


def load_monitor(path: str | os.PathLike):
    """Read a store written by :meth:`TopologyMonitor.save` into memory as an ``xarray.Dataset``.

    A path that is not such a store is a ValueError naming it.
    """
    import xarray as xr

    try:
        target = Path(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    if not target.is_dir():
        raise ValueError(f"path {target}: no such TopologyMonitor store")
    if not _is_monitor_store(target):
        raise ValueError(f"path {target} is not a TopologyMonitor store (no {FORMAT!r} format mark)")
    with xr.open_zarr(str(target), consolidated=True, chunks=None) as ds:
        return ds.load()


# ---------------------------------------------------------------------- Lightning adapter

#: Adapter classes already built, by the Callback base they derive from.
_ADAPTERS: dict[type, type] = {}


def _lightning_callback_base() -> type:
    """``lightning.pytorch.Callback``, else ``pytorch_lightning.Callback``; a clear ImportError without either."""
    try:
        from lightning.pytorch import Callback
    except ImportError:
        try:
            from pytorch_lightning import Callback
        except ImportError:
            raise ImportError(
                "LightningTopologyMonitor needs PyTorch Lightning, which is an optional extra of nntopo and "
                f"is not installed: {_EXTRA_HINT}. TopologyMonitor itself works without it in a plain loop."
            ) from None
    return Callback


def _build_adapter(base: type) -> type:
    class LightningTopologyMonitor(base):
        """A Lightning ``Callback`` running a :class:`TopologyMonitor` on the training module.

        ``submodule``: the dotted name of the network inside the LightningModule to
        monitor (e.g. ``"net"``; default the LightningModule itself, whose forward is then
        what is measured). Records epoch 0 (the initial weights) when training starts
        from scratch, and epoch ``trainer.current_epoch + 1`` at the end of every
        training epoch, i.e. after that many epochs, as :func:`nntopo.nets.train`
        numbers them; ``every`` of the monitor applies. Runs on the global-zero process
        only. The records stay on ``self.monitor``.
        """

        def __init__(self, monitor: TopologyMonitor, submodule: str | None = None) -> None:
            super().__init__()
            if not isinstance(monitor, TopologyMonitor):
                raise TypeError(f"monitor must be an nntopo TopologyMonitor, got {type(monitor).__name__}")
            if submodule is not None and not isinstance(submodule, str):
                raise TypeError(f"submodule must be a submodule name (str) or None, got {type(submodule).__name__}")
            self.monitor = monitor
            self.submodule = submodule

        def _network(self, pl_module: nn.Module) -> nn.Module:
            if self.submodule is None:
                return pl_module
            try:
                return pl_module.get_submodule(self.submodule)
            except AttributeError:
                names = [n for n, _ in pl_module.named_modules() if n]
                raise ValueError(f"submodule {self.submodule!r} is not a submodule of the "
                                 f"{type(pl_module).__name__}; its submodules are {names}") from None

        def on_train_start(self, trainer: Any, pl_module: nn.Module) -> None:
            if trainer.is_global_zero and trainer.current_epoch == 0:
                self.monitor(self._network(pl_module), 0)

        def on_train_epoch_end(self, trainer: Any, pl_module: nn.Module) -> None:
            if trainer.is_global_zero:
                self.monitor(self._network(pl_module), trainer.current_epoch + 1)

    LightningTopologyMonitor.__module__ = __name__
    return LightningTopologyMonitor


def __getattr__(name: str) -> Any:
    # Built on first access so that importing nntopo never imports Lightning.
    if name == "LightningTopologyMonitor":
        base = _lightning_callback_base()
        if base not in _ADAPTERS:
            _ADAPTERS[base] = _build_adapter(base)
        return _ADAPTERS[base]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
