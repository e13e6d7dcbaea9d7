"""Turn the accepted network descriptions into validated float64 ``(W, b)`` pairs.

Accepted: a sequence of ``(W, b)`` pairs (``W`` of shape ``(out, in)``, ``b`` of shape
``(out,)``), any object with a ``weights()`` method returning such a sequence (nntopo's
``MLP``), or a torch module made only of ``nn.Linear`` and ``nn.ReLU``. torch is imported
lazily, only when a torch module is actually passed, so the maths never needs it.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

__all__ = ["as_weights", "validate_box"]

logger = logging.getLogger("nntopo")

Weights = list[tuple[np.ndarray, np.ndarray]]


def as_weights(net_or_weights: Any) -> Weights:
    """Return the network as a validated list of float64 ``(W (out, in), b (out,))`` pairs.

    The last pair is the output layer; every earlier pair is a hidden layer followed by ReLU.
    Raises ``TypeError`` for an unsupported object or module, ``ValueError`` for bad shapes
    or non-finite values.
    """
    if net_or_weights is None:
        raise TypeError("net_or_weights must be a list of (W, b) pairs, an object with weights(), or a torch module; got None")
    weights_method = getattr(net_or_weights, "weights", None)
    if callable(weights_method):
        pairs = weights_method()
        source = f"{type(net_or_weights).__name__}.weights()"
    elif _is_torch_module(net_or_weights):
        pairs = _torch_module_weights(net_or_weights)
        source = type(net_or_weights).__name__
    elif isinstance(net_or_weights, (list, tuple)):
        pairs = net_or_weights
        source = "net_or_weights"
    else:
        raise TypeError(
            "net_or_weights must be a list of (W, b) numpy pairs, an object with a weights() method "
            f"(such as nntopo.nets.MLP) or a torch nn.Sequential of Linear/ReLU; got {type(net_or_weights).__name__}"
        )
    return _validate_pairs(pairs, source)


def _validate_pairs(pairs: Sequence[Any], source: str) -> Weights:
    if not isinstance(pairs, (list, tuple)) or len(pairs) == 0:
        raise ValueError(f"{source} must be a non-empty sequence of (W, b) pairs; got {pairs!r:.80}")
    out: Weights = []
    prev_out: int | None = None
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"{source}[{i}] must be a pair (W, b); got {type(pair).__name__}")
        W = np.asarray(pair[0], dtype=np.float64)
        b = np.asarray(pair[1], dtype=np.float64)
        if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] == 0:
            raise ValueError(f"{source}[{i}]: W must be a non-empty 2-D array of shape (out, in); got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"{source}[{i}]: b must have shape ({W.shape[0]},) to match W {W.shape}; got {b.shape}")
        if prev_out is not None and W.shape[1] != prev_out:
            raise ValueError(
                f"{source}[{i}]: W has {W.shape[1]} input columns but layer {i - 1} has {prev_out} outputs"
            )
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError(f"{source}[{i}]: weights and biases must be finite (found NaN or inf)")
        prev_out = W.shape[0]
        out.append((np.ascontiguousarray(W), np.ascontiguousarray(b)))
    return out


def _is_torch_module(obj: Any) -> bool:
    # Avoid importing torch just to answer "no": a torch module's class comes from torch.
    for cls in type(obj).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ == "Module":
            return True
    return False


def _torch_module_weights(module: Any) -> Weights:
    """Read Linear/ReLU/Linear/.../Linear from a torch module, in registration order."""
    from torch import nn  # lazy: only a torch module brings torch in

    leaves: list[Any] = []

    def walk(m: Any) -> None:
        children = list(m.children())
        if not children:
            leaves.append(m)
            return
        if not isinstance(m, (nn.Sequential, nn.ModuleList)):
            # A custom container: its forward may not follow registration order.
            logger.debug("reading %s children in registration order", type(m).__name__)
        for c in children:
            walk(c)

    walk(module)
    pairs: Weights = []
    expect_linear = True
    for leaf in leaves:
        if isinstance(leaf, nn.Linear):
            if not expect_linear:
                raise TypeError(
                    "net_or_weights: two nn.Linear layers without an nn.ReLU between them; "
                    "the polyhedral complex needs ReLU between consecutive Linear layers"
                )
            W = leaf.weight.detach().cpu().double().numpy().copy()
            b = (
                leaf.bias.detach().cpu().double().numpy().copy()
                if leaf.bias is not None
                else np.zeros(W.shape[0], dtype=np.float64)
            )
            pairs.append((W, b))
            expect_linear = False
        elif type(leaf) is nn.ReLU:
            if expect_linear:
                raise TypeError("net_or_weights: nn.ReLU must follow an nn.Linear (found ReLU first or twice in a row)")
            expect_linear = True
        elif isinstance(leaf, (nn.Identity, nn.Flatten)):
            continue
        else:
            raise TypeError(
                f"net_or_weights: unsupported module {type(leaf).__name__}; only nn.Linear and nn.ReLU "
                "(and Identity/Flatten) are allowed, since the complex is exact only for ReLU networks"
            )
    if not pairs:
        raise TypeError("net_or_weights: the torch module contains no nn.Linear layer")
    # A trailing ReLU after the output layer does not change the complex (outputs never cut).
    return pairs


def validate_box(box: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lo, hi)`` float64 arrays of shape ``(d,)``; ``None`` means ``[-1, 1]^d``."""
    if box is None:
        return -np.ones(d), np.ones(d)
    if not isinstance(box, (list, tuple, np.ndarray)) or len(box) != 2:
        raise ValueError(f"box must be None or a pair (lo, hi) of scalars or arrays of length {d}; got {box!r:.80}")
    try:
        lo = np.broadcast_to(np.asarray(box[0], dtype=np.float64), (d,)).copy()
        hi = np.broadcast_to(np.asarray(box[1], dtype=np.float64), (d,)).copy()
    except ValueError as exc:
        raise ValueError(f"box: lo and hi must be scalars or arrays of shape ({d},): {exc}") from None
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("box: lo and hi must be finite")
    if np.any(lo >= hi):
        raise ValueError(f"box is empty: need lo < hi in every coordinate; got lo={lo}, hi={hi}")
    return lo, hi
