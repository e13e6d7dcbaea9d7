"""Activation capture through forward hooks, for any ``nn.Module``."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from torch import nn

__all__ = ["capture", "capturable_layers", "INPUT", "OUTPUT"]

INPUT = "input"
OUTPUT = "output"


def capturable_layers(model: nn.Module) -> list[str]:
    """Names accepted by :func:`capture`: "input", every named submodule, and "output"."""
    return [INPUT, *(name for name, _ in model.named_modules() if name), OUTPUT]


def _default_layers(model: nn.Module) -> list[str]:
    return [INPUT, *(name for name, m in model.named_modules() if isinstance(m, nn.ReLU)), OUTPUT]


def capture(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    layers: Iterable[str] | None = None,
    batch_size: int = 4096,
) -> dict[str, np.ndarray]:
    """Push ``X`` through ``model`` and return the named layers' outputs as numpy arrays.

    By default the layers are the input, the output of every ``nn.ReLU`` module and the
    final output (a_0..a_N of the activation-landscapes paper). Names are those of
    ``model.named_modules()`` plus "input" and "output". Runs under ``no_grad`` in
    batches of ``batch_size`` rows; each array has shape (n, features...) and keeps the
    module's dtype. The dict is in network order (the order the modules ran). Hooks are
    removed even when the forward pass raises.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    valid = capturable_layers(model)
    names = _default_layers(model) if layers is None else list(layers)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown layer name(s) {unknown}; valid names are {valid}")
    if not names:
        raise ValueError("layers is empty: name at least one layer")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    x_all = _as_tensor(model, X)

    modules = dict(model.named_modules())
    hooked = [n for n in names if n not in (INPUT, OUTPUT)]
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    order: list[str] = []
    fired: set[str] = set()

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            if name in fired:
                raise RuntimeError(
                    f"module {name!r} ran more than once in one forward pass; its activations are ambiguous"
                )
            fired.add(name)
            if name not in order:
                order.append(name)
            chunks[name].append(output.detach().cpu().numpy())

        return hook

    handles = [modules[n].register_forward_hook(make_hook(n)) for n in hooked]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, x_all.shape[0], int(batch_size)):
                xb = x_all[start : start + int(batch_size)]
                fired.clear()
                out = model(xb)
                if INPUT in chunks:
                    chunks[INPUT].append(xb.cpu().numpy())
                if OUTPUT in chunks:
                    chunks[OUTPUT].append(out.detach().cpu().numpy())
                missing = [n for n in hooked if n not in fired]
                if missing:
                    raise RuntimeError(f"layer(s) {missing} did not run in the forward pass")
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    ordered = ([INPUT] if INPUT in chunks else []) + order + ([OUTPUT] if OUTPUT in chunks else [])
    return {n: np.concatenate(chunks[n], axis=0) for n in ordered}


def _as_tensor(model: nn.Module, X: np.ndarray | torch.Tensor) -> torch.Tensor:
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    if isinstance(X, torch.Tensor):
        t = X.detach()
    else:
        arr = np.asarray(X)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"X must be a numeric array; got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim < 2:
        raise ValueError(f"X must have shape (n, features...); got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError("X is an empty batch: it needs at least one row")
    if not torch.isfinite(t).all():
        raise ValueError("X contains NaN or inf")
    return t.to(device=device, dtype=dtype)
