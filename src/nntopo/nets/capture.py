"""Activation capture through forward hooks, for any ``nn.Module``."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from torch import nn

from .._validation import check_array, check_int
from .mlp import MLP

__all__ = ["activation_landscape", "capture", "capturable_layers", "default_layers", "INPUT", "OUTPUT"]

INPUT = "input"
OUTPUT = "output"

# Model dtypes numpy can hold: X is checked for overflow after the cast to exactly this type.
_NUMPY_DTYPES = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}

_INT_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)

# RuntimeErrors a forward pass raises for reasons that are not the input's fault.
_NOT_INPUT_ERRORS = (NotImplementedError, RecursionError, torch.OutOfMemoryError)


def capturable_layers(model: nn.Module) -> list[str]:
    """Names accepted by :func:`capture`: "input", every named submodule, and "output"."""
    return [INPUT, *(name for name, _ in model.named_modules() if name), OUTPUT]


def default_layers(model: nn.Module) -> list[str]:
    """What :func:`capture` records when ``layers`` is None: "input", every ``nn.ReLU`` module, "output"."""
    return [INPUT, *(name for name, m in model.named_modules() if isinstance(m, nn.ReLU)), OUTPUT]


def _check_layers(model: nn.Module, layers: Iterable[str] | None) -> list[str]:
    if layers is None:
        return default_layers(model)
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of layer names (or None), got {type(layers).__name__} {layers!r}")
    names = list(layers)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"layers must hold layer names (str), got {bad[0]!r} ({type(bad[0]).__name__})")
    if not names:
        raise ValueError("layers is empty: name at least one layer")
    if len(set(names)) != len(names):
        raise ValueError(f"layers names a layer twice: {names}")
    valid = capturable_layers(model)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"layers: unknown layer name(s) {unknown}; valid names are {valid}")
    return names


def expected_input_width(model: nn.Module) -> int | None:
    """The number of input features ``model`` takes, when its structure says so; else None.

    Known for an :class:`MLP`, a bare ``nn.Linear`` and an ``nn.Sequential`` that starts
    with one. For any other module the first Linear registered need not be the first one
    applied, so nothing is guessed.
    """
    if isinstance(model, MLP):
        return model.widths[0]
    if isinstance(model, nn.Linear):
        return model.in_features
    if isinstance(model, nn.Sequential) and len(model) and isinstance(model[0], nn.Linear):
        return model[0].in_features
    return None


def check_input_width(model: nn.Module, shape: tuple[int, ...], name: str) -> None:
    """Raise a ValueError naming ``name`` when rows of ``shape`` cannot enter ``model``."""
    width = expected_input_width(model)
    if width is not None and (len(shape) != 2 or shape[1] != width):
        raise ValueError(
            f"{name} must have shape (n, {width}): the first Linear layer of the {type(model).__name__} "
            f"takes {width} features; got shape {tuple(shape)}"
        )


def _model_dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    param = next(model.parameters(), None)
    if param is None:
        return torch.float32, torch.device("cpu")
    # Never cast inputs to an integer dtype: that would truncate them without a word.
    return (param.dtype if param.is_floating_point() else torch.float32), param.device


def _as_tensor(model: nn.Module, X: object) -> torch.Tensor:
    """``X`` on the model's device and dtype, refused if it is not finite in that dtype."""
    dtype, device = _model_dtype_device(model)
    if isinstance(X, torch.Tensor):
        t = X.detach()
        if not (t.is_floating_point() or t.dtype in _INT_DTYPES):
            raise TypeError(f"X must hold real numbers, got a tensor of dtype {t.dtype}")
        if t.ndim < 2:
            raise ValueError(f"X must have shape (n, features...); got shape {tuple(t.shape)}")
        if t.shape[0] == 0:
            raise ValueError(f"X is empty (shape {tuple(t.shape)}); it needs at least one row")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError("X contains NaN or infinite values; all entries must be finite")
    else:
        arr = check_array(X, "X", dtype=_NUMPY_DTYPES.get(dtype, np.float32))
        if arr.ndim < 2:
            raise ValueError(f"X must have shape (n, features...); got shape {arr.shape}")
        # torch warns on read-only arrays (it cannot promise not to write); capture never writes
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    t = t.to(device=device, dtype=dtype)
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"X has values too large for the model's dtype {dtype}")
    return t


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16
        t = t.float()
    return t.numpy()


def _first_nonfinite_module(model: nn.Module, xb: torch.Tensor) -> str | None:
    """The first submodule, in execution order, whose output holds inf or NaN for ``xb``."""
    found: list[str] = []

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: object) -> None:
            outs = output if isinstance(output, (tuple, list)) else (output,)
            if not found and any(
                isinstance(o, torch.Tensor) and o.is_floating_point() and not bool(torch.isfinite(o).all())
                for o in outs
            ):
                found.append(name)

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            model(xb)
    finally:
        for h in handles:
            h.remove()
    return found[0] if found else None


def capture(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    layers: Iterable[str] | None = None,
    batch_size: int = 4096,
) -> dict[str, np.ndarray]:
    """Push ``X`` through ``model`` and return the named layers' outputs as numpy arrays.

    ``X`` is an array or tensor ``(n, features...)`` of real numbers, cast to the model's
    dtype and device; it must be finite *after* that cast (``1e300`` is refused for a
    float32 model). When the model's input width is known (an :class:`MLP`, or a
    Linear/Sequential starting with one) a wrong width is a ValueError naming ``X``; for
    other modules a RuntimeError of the forward pass is re-raised as a ValueError naming
    ``X``, with the original chained.

    By default the layers are the input, the output of every ``nn.ReLU`` module and the
    final output (a_0..a_N of the activation-landscapes paper). Names are those of
    ``model.named_modules()`` plus "input" and "output"; every captured module must return
    a tensor (a module returning a tuple, such as ``nn.LSTM``, is a TypeError). Runs under
    ``no_grad`` in batches of ``batch_size`` rows; each array has shape (n, features...)
    and keeps the module's dtype (bfloat16 comes back as float32). The dict is in network
    order (the order the modules ran). An activation that overflows to inf or NaN for a
    finite input is a ValueError naming the first module that produced it. Hooks are
    removed and the train/eval mode restored even when the forward pass raises.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    names = _check_layers(model, layers)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    x_all = _as_tensor(model, X)
    check_input_width(model, tuple(x_all.shape), "X")

    modules = dict(model.named_modules())
    hooked = [n for n in names if n not in (INPUT, OUTPUT)]
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    order: list[str] = []
    fired: set[str] = set()

    def make_hook(name: str):
        def hook(module: nn.Module, _inputs: tuple, output: object) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"layers: module {name!r} ({type(module).__name__}) returns a {type(output).__name__}, "
                    "not a tensor; capture records tensor outputs only, so name a layer that returns one"
                )
            if name in fired:
                raise ValueError(
                    f"layers: module {name!r} ran more than once in one forward pass; its activations are ambiguous"
                )
            fired.add(name)
            if name not in order:
                order.append(name)
            chunks[name].append(_to_numpy(output))

        return hook

    handles = [modules[n].register_forward_hook(make_hook(n)) for n in hooked]
    was_training = model.training
    overflow: tuple[torch.Tensor, int] | None = None
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, x_all.shape[0], batch_size):
                xb = x_all[start : start + batch_size]
                fired.clear()
                try:
                    out = model(xb)
                except _NOT_INPUT_ERRORS:
                    raise
                except RuntimeError as exc:
                    raise ValueError(
                        f"X (shape {tuple(x_all.shape)}, cast to {x_all.dtype}) could not be pushed through "
                        f"the {type(model).__name__}: {exc}"
                    ) from exc
                if INPUT in chunks:
                    chunks[INPUT].append(_to_numpy(xb))
                if OUTPUT in chunks:
                    if not isinstance(out, torch.Tensor):
                        raise TypeError(
                            f"model ({type(model).__name__}) returns a {type(out).__name__}, not a tensor; "
                            "capture records tensor outputs only, so leave 'output' out of layers"
                        )
                    chunks[OUTPUT].append(_to_numpy(out))
                missing = [n for n in hooked if n not in fired]
                if missing:
                    raise ValueError(f"layers: {missing} did not run in the forward pass")
                if not all(_finite(c[-1]) for c in chunks.values()):
                    overflow = (xb, start)
                    break
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if overflow is not None:
        _raise_overflow(model, *overflow)

    ordered = ([INPUT] if INPUT in chunks else []) + order + ([OUTPUT] if OUTPUT in chunks else [])
    return {n: np.concatenate(chunks[n], axis=0) for n in ordered}


def _finite(a: np.ndarray) -> bool:
    return not np.issubdtype(a.dtype, np.floating) or bool(np.isfinite(a).all())


def _raise_overflow(model: nn.Module, xb: torch.Tensor, start: int) -> None:
    """Refuse inf/NaN activations of a finite batch, naming the module that produced them first."""
    was_training = model.training
    try:
        model.eval()
        culprit = _first_nonfinite_module(model, xb)
    finally:
        model.train(was_training)
    # None: the overflow happened in the forward function itself, outside any submodule.
    where = f"layer {culprit!r}" if culprit is not None else f"the forward pass of the {type(model).__name__}"
    params_bad = any(p.is_floating_point() and not bool(torch.isfinite(p).all()) for p in model.parameters())
    cause = (
        "the model has non-finite parameters"
        if params_bad
        else "the input is finite, so its scale or the weights are too large for the dtype"
    )
    raise ValueError(
        f"X: activations overflowed to inf or NaN in {where} ({xb.dtype}) for rows {start}.."
        f"{start + xb.shape[0] - 1}; {cause}"
    )


def activation_landscape(model: nn.Module, acts: dict[str, np.ndarray], *, hom_dim: int, homology: str,
                         grid: tuple[float, float, float], levels: int, keep_infinite: bool = False,
                         backend: str = "auto"):
    """The activation landscape of captured activations ``acts`` (layer name -> ``(n, ...)``
    array, as :func:`capture` returns them, in network order) of ``model``.

    Each layer's activations are flattened per point, normalized (``homology``: "plain" or
    "local"; layers that are ``nn.ReLU`` modules of ``model`` are treated as such by local
    homology), and their Vietoris-Rips H_``hom_dim`` diagram becomes a landscape on
    ``grid`` ``(t_min, t_max, step)`` (normalized distance units) with ``levels`` levels.
    The one pipeline behind the sweep's ``landscapes`` analysis and :class:`TopologyMonitor`.
    Returns an :class:`~nntopo.landscapes.ActivationLandscape` with one layer per entry of ``acts``.
    """
    from ..landscapes import ActivationLandscape, layer_diagrams

    order = list(acts)
    flat = {n: a.reshape(a.shape[0], -1) for n, a in acts.items()}
    modules = dict(model.named_modules())
    relu = [n for n in order if isinstance(modules.get(n), nn.ReLU)]
    diagrams = layer_diagrams(flat, homology=homology, maxdim=hom_dim, relu_layers=relu, backend=backend)
    return ActivationLandscape.from_diagrams([diagrams[n][hom_dim] for n in order], grid, levels, hom_dim=hom_dim,
                                             keep_infinite=keep_infinite, layer_names=order)
