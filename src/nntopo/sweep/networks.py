"""The networks of a sweep: nntopo's MLP or the user's own module, trained or loaded.

``[network]`` names an architecture, ``widths`` (nntopo's :class:`~nntopo.nets.MLP`)
or ``module = "pkg.mod:function"`` (a callable returning a torch ``nn.Module``, called
with ``[network.kwargs]``), and optionally ``checkpoints`` (state_dict files loaded into
that architecture, one network per file). A sweep with checkpoints, or with a module and
no checkpoints (the callable returns the network already trained), loads its networks
instead of training them: its first job per network is a ``"load"`` job
(:func:`nntopo.sweep.jobs.load_network`) instead of ``"train"``.

What identifies a loaded network is recorded in the resolved config: the sha256 of each
checkpoint file, or of the weights the callable returns (:func:`state_sha256`), so a
folder is resumed only while they are unchanged. Every file is read with
``torch.load(..., weights_only=True)`` (:func:`nntopo.nets.load_weights`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from torch import nn

    from .config import NetworkConfig, SweepConfig

__all__ = ["CHECKPOINT_SUFFIXES", "architecture", "build_architecture", "checkpoint_files", "file_sha256",
           "import_callable", "loaded_network", "state_sha256"]

#: Files of a checkpoint folder that are networks (one each, in the order of their names).
CHECKPOINT_SUFFIXES = (".pt", ".pth")

_SPEC = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of the bytes of the file at ``path`` (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_sha256(state: Mapping[str, Any]) -> str:
    """The sha256 (hex) of a state_dict: each entry's name, dtype, shape and bytes, in key order.

    Two state_dicts have the same hash exactly when they hold the same tensors under the
    same names (on CPU; a tensor elsewhere is copied there first).
    """
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        t = state[name]
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"state[{name!r}] must be a tensor, got {type(t).__name__}")
        t = t.detach().cpu().contiguous()
        digest.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode())
        # Reinterpreted as bytes, so every dtype (bfloat16 included) hashes what it stores.
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def checkpoint_files(path: Path) -> list[Path]:
    """``[path]`` for a file; for a folder, its ``*.pt`` / ``*.pth`` files sorted by name (hidden ones left out).

    A missing path is a FileNotFoundError, a folder without such files a ValueError.
    """
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"checkpoint file or folder not found: {path}")
    if not path.is_dir():
        raise ValueError(f"{path} is neither a file nor a folder")
    files = sorted(p for p in path.iterdir()
                   if p.suffix in CHECKPOINT_SUFFIXES and not p.name.startswith(".") and p.is_file())
    if not files:
        raise ValueError(f"the folder {path} holds no checkpoint ({' or '.join('*' + s for s in CHECKPOINT_SUFFIXES)} "
                         "file)")
    return files


def import_callable(spec: str, module_path: str | None = None) -> Callable:
    """The callable named by ``spec`` (``"pkg.mod:function"``, or ``"pkg.mod:Class.method"``).

    The module is imported from ``sys.path``; if its top-level package is not found there,
    from ``module_path`` (a folder; kept on ``sys.path`` only during the import). Errors:
    ValueError for a malformed spec, ImportError for a module that cannot be imported,
    AttributeError for a missing name, TypeError for a name that is not callable.
    """
    if not isinstance(spec, str) or not _SPEC.fullmatch(spec):
        raise ValueError(f"module must read 'package.module:function', got {spec!r}")
    module_name, _, qualname = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if module_path is None or exc.name != module_name.split(".")[0]:
            raise
        sys.path.append(module_path)
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(module_name)
        finally:
            # only this call's entry: the import may have added others
            for i in range(len(sys.path) - 1, -1, -1):
                if sys.path[i] == module_path:
                    del sys.path[i]
                    break
    obj: Any = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise AttributeError(f"module {module_name} ({getattr(module, '__file__', '?')}) has no {qualname!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is a {type(obj).__name__}, not a callable")
    return obj


def build_architecture(network: NetworkConfig) -> nn.Module:
    """A fresh network of ``network``'s architecture: ``MLP(widths)`` (seed 0) or ``module(**kwargs)``.

    Whatever the user's callable raises is passed on; a result that is not an
    ``nn.Module`` is a TypeError naming the callable.
    """
    from torch import nn

    from ..nets import MLP

    if network.widths is not None:
        return MLP(list(network.widths), activation=network.activation)
    fn = import_callable(network.module, network.module_path)
    net = fn(**network.kwargs_dict())
    if not isinstance(net, nn.Module):
        raise TypeError(f"{network.module} returned a {type(net).__name__}, not a torch.nn.Module")
    return net


def architecture(config: SweepConfig) -> nn.Module:
    """The network of ``config``'s architecture (weights not loaded): the one built while the
    config was parsed when there is one, else a new one (:func:`build_architecture`)."""
    if config.parsed_network is not None:
        return config.parsed_network
    return build_architecture(config.network)


def loaded_network(network: NetworkConfig, index: int) -> nn.Module:
    """Loaded network ``index`` of a loaded sweep, checked against what the config recorded.

    With checkpoints: the architecture with the weights of checkpoint ``index``, whose
    sha256 must still be the one recorded (a ValueError naming the file otherwise). With a
    module alone: what the callable returns, whose weights must hash to the recorded
    ``weights_sha256`` (a callable that returns other weights on each call, e.g. an
    unseeded initialisation, is refused: the analyses could not see the same network).
    """
    from ..nets import load_weights

    if not network.loaded:
        raise ValueError("network: this sweep trains its networks; there is nothing to load")
    if network.checkpoints:
        path, recorded = network.checkpoints[index]
        if not Path(path).is_file():
            raise FileNotFoundError(f"checkpoint file not found: {path}")
        now = file_sha256(path)
        if now != recorded:
            raise ValueError(f"{path}: the checkpoint changed since the config was read (sha256 {recorded} then, "
                             f"{now} now); run again to read it anew, into a new folder")
        return load_weights(build_architecture(network), path)
    net = build_architecture(network)
    now = state_sha256(net.state_dict())
    if now != network.weights_sha256:
        raise ValueError(f"network.module: {network.module} returned other weights than when the config was read "
                         f"(sha256 {network.weights_sha256} then, {now} now); it must return the same trained "
                         "network on every call (seed it, or load fixed weights)")
    return net
