"""Turn the accepted network descriptions into validated float64 ``(W, b)`` pairs.

Accepted: a sequence of ``(W, b)`` pairs (``W`` of shape ``(out, in)``, ``b`` of shape
``(out,)``), any non-torch object with a ``weights()`` method returning such a sequence,
or a torch module whose computation is verified to be a chain
``Linear -> ReLU -> Linear -> ... -> Linear``.

A torch module is never read in registration order: its ``forward`` is traced with
``torch.fx`` and the graph must be exactly that chain (each ``nn.Linear`` called once,
the data flowing from one operation to the next and nowhere else); the weights are read
in the traced order. Residual connections, other activations, a Linear applied twice,
forward hooks, or a forward fx cannot trace are refused with a ``TypeError`` naming the
module and the offending operation. nntopo's ``MLP`` is a torch module and goes through
the same check (its ``forward`` is the chain). torch is imported lazily, only when a
torch module is actually passed, so the maths never needs it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .._validation import check_array

__all__ = ["as_weights", "validate_box", "validate_pairs"]

logger = logging.getLogger("nntopo")

Weights = list[tuple[np.ndarray, np.ndarray]]

_KINDS = (
    "a list of (W, b) numpy pairs, an object with a weights() method, or a torch module "
    "whose forward is a Linear/ReLU chain (nn.Sequential, nntopo.nets.MLP)"
)


def as_weights(net_or_weights: Any) -> Weights:
    """Return the network as a validated list of float64 ``(W (out, in), b (out,))`` pairs.

    The last pair is the output layer; every earlier pair is a hidden layer followed by ReLU.
    Raises ``TypeError`` for an unsupported object, a torch module whose forward is not a
    Linear/ReLU chain, or arrays of the wrong kind; ``ValueError`` for bad shapes, empty
    arrays or non-finite values. Messages start with ``net_or_weights``.
    """
    if net_or_weights is None:
        raise TypeError(f"net_or_weights must be {_KINDS}; got None")
    # A torch module is checked first, even when it has weights() (nntopo's MLP does):
    # only its traced forward says which computation the weights take part in.
    if _is_torch_module(net_or_weights):
        return validate_pairs(_torch_module_weights(net_or_weights), "net_or_weights")
    weights_method = getattr(net_or_weights, "weights", None)
    if callable(weights_method):
        return validate_pairs(weights_method(), "net_or_weights.weights()")
    if isinstance(net_or_weights, (list, tuple)):
        return validate_pairs(net_or_weights, "net_or_weights")
    raise TypeError(f"net_or_weights must be {_KINDS}; got {type(net_or_weights).__name__}")


def validate_pairs(pairs: Any, name: str) -> Weights:
    """Check a sequence of ``(W (out, in), b (out,))`` pairs whose shapes chain.

    Returns C-contiguous float64 copies. ``name`` starts every message (``name[i]: W ...``).
    A non-sequence, a non-pair or a non-numeric array is a ``TypeError``; an empty
    sequence, a wrong length, shape or a NaN/inf a ``ValueError``.
    """
    if not isinstance(pairs, (list, tuple)):
        raise TypeError(f"{name} must be a list of (W, b) pairs; got {type(pairs).__name__}")
    if len(pairs) == 0:
        raise ValueError(f"{name} must be a non-empty list of (W, b) pairs; got an empty {type(pairs).__name__}")
    out: Weights = []
    prev_out: int | None = None
    for i, pair in enumerate(pairs):
        where = f"{name}[{i}]"
        if not isinstance(pair, (list, tuple)):
            raise TypeError(f"{where} must be a pair (W, b); got {type(pair).__name__}")
        if len(pair) != 2:
            raise ValueError(f"{where} must be a pair (W, b); got {len(pair)} items")
        W = check_array(pair[0], f"{where}: W", ndim=2)
        b = check_array(pair[1], f"{where}: b", ndim=1)
        if b.shape != (W.shape[0],):
            raise ValueError(f"{where}: b must have shape ({W.shape[0]},) to match W of shape {W.shape}; got {b.shape}")
        if prev_out is not None and W.shape[1] != prev_out:
            raise ValueError(f"{where}: W has {W.shape[1]} input columns but layer {i - 1} has {prev_out} outputs")
        prev_out = W.shape[0]
        # check_array may return its argument itself: copy so the complex owns its weights.
        out.append((W.copy(), b.copy()))
    return out


def validate_box(box: Any, d: int, name: str = "box") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lo, hi)`` float64 arrays of shape ``(d,)``, input units; ``None`` means ``[-1, 1]^d``.

    ``box`` is a pair ``(lo, hi)`` of scalars or arrays of shape ``(d,)`` with ``lo < hi``
    in every coordinate. Not a pair / non-numeric entries: ``TypeError``; wrong length or
    shape, NaN/inf, or ``lo >= hi``: ``ValueError``.
    """
    if box is None:
        return -np.ones(d), np.ones(d)
    if not isinstance(box, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be None or a pair (lo, hi) of scalars or arrays of length {d}; got {type(box).__name__}")
    if len(box) != 2:
        raise ValueError(f"{name} must be a pair (lo, hi); got {len(box)} items")
    ends = []
    for j, label in enumerate(("lo", "hi")):
        a = check_array(box[j], f"{name}: {label}")
        if a.shape not in ((), (1,), (d,)):
            raise ValueError(f"{name}: {label} must be a scalar or an array of shape ({d},); got shape {a.shape}")
        ends.append(np.broadcast_to(a, (d,)).astype(np.float64, copy=True))
    lo, hi = ends
    if np.any(lo >= hi):
        raise ValueError(f"{name} is empty: need lo < hi in every coordinate; got lo={lo}, hi={hi}")
    return lo, hi


# --------------------------------------------------------------------------- torch


def _is_torch_module(obj: Any) -> bool:
    # Avoid importing torch just to answer "no": a torch module's class comes from torch.
    for cls in type(obj).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ == "Module":
            return True
    return False


class _NotAChain(TypeError):
    """The traced forward is not a Linear/ReLU chain (the message says where)."""


def _torch_module_weights(module: Any) -> Weights:
    """The ``(W, b)`` pairs of a torch module, in the order its traced ``forward`` uses them."""
    import torch.nn as nn
    from torch import fx

    class ChainTracer(fx.Tracer):
        # A subclass of Linear/ReLU that keeps their forward is still one opaque call;
        # one that overrides forward is traced into, so what it computes is checked.
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            if isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward:
                return True
            if isinstance(m, nn.ReLU) and type(m).forward is nn.ReLU.forward:
                return True
            return super().is_leaf_module(m, qualname)

    cls = type(module).__name__
    try:
        graph_module = fx.GraphModule(module, ChainTracer().trace(module))
    except Exception as exc:  # fx raises many kinds (TraceError, TypeError, NotImplementedError...)
        raise TypeError(
            f"net_or_weights: the torch module {cls} cannot be traced by torch.fx "
            f"({type(exc).__name__}: {exc}); only a forward that is a fixed Linear/ReLU chain can be "
            "read. Pass an nn.Sequential of Linear/ReLU or a list of (W, b) pairs"
        ) from None
    try:
        linears = _read_chain(module, graph_module)
    except _NotAChain as exc:
        raise TypeError(
            f"net_or_weights: the torch module {cls} is not a Linear/ReLU chain: {exc}. The polyhedral "
            "complex is exact only for x -> Linear -> ReLU -> ... -> Linear; pass such a module or a list "
            "of (W, b) pairs"
        ) from None
    pairs: Weights = []
    for lin in linears:
        W = lin.weight.detach().cpu().double().numpy().copy()
        b = (
            lin.bias.detach().cpu().double().numpy().copy()
            if lin.bias is not None
            else np.zeros(W.shape[0], dtype=np.float64)
        )
        pairs.append((W, b))
    return pairs


def _describe(node: Any, modules: dict[str, Any]) -> str:
    """How an fx node reads in an error message: ``torch.tanh``, ``operator.add``, ``module 'act' (Tanh)``."""
    import torch
    import torch.nn.functional as F

    if node.op == "call_module":
        return f"module '{node.target}' ({type(modules[node.target]).__name__})"
    if node.op == "call_method":
        return f"the tensor method .{node.target}()"
    if node.op == "call_function":
        fn = node.target
        fname = getattr(fn, "__name__", repr(fn))
        if getattr(torch, fname, None) is fn:
            return f"torch.{fname}"
        if getattr(F, fname, None) is fn:
            return f"torch.nn.functional.{fname}"
        mod = getattr(fn, "__module__", None)
        mod = "operator" if mod == "_operator" else mod
        return f"{mod}.{fname}" if mod else fname
    return f"{node.op} '{node.name}'"


def _has_hooks(m: Any) -> bool:
    return any(
        len(getattr(m, attr, ()) or ()) > 0
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs")
    )


def _read_chain(module: Any, graph_module: Any) -> list[Any]:
    """The ``nn.Linear`` modules of a traced chain, in forward order; ``_NotAChain`` otherwise."""
    import torch
    import torch.nn.functional as F
    import torch.nn.modules.module as module_mod
    from torch import nn

    relu_functions = {torch.relu, torch.relu_, F.relu, F.relu_}
    modules = dict(module.named_modules())
    # fx runs no hooks, so a hook (on any submodule, traced into or not) could change the
    # output unseen.
    if any(len(getattr(module_mod, attr, ()) or ()) > 0 for attr in ("_global_forward_hooks", "_global_forward_pre_hooks")):
        raise _NotAChain("global forward hooks are registered, which the trace cannot see; remove them first")
    for qualname, m in module.named_modules():
        if _has_hooks(m):
            where = f"its submodule '{qualname}' ({type(m).__name__})" if qualname else "it"
            raise _NotAChain(f"{where} has forward hooks, which the trace cannot see; remove them first")

    nodes = list(graph_module.graph.nodes)
    inputs = [n for n in nodes if n.op == "placeholder"]
    if len(inputs) != 1 or nodes[0] is not inputs[0]:
        raise _NotAChain(f"forward must take one input tensor; it takes {len(inputs)}")
    out_node = nodes[-1]
    if out_node.op != "output" or len(out_node.args) != 1 or out_node.args[0] is not nodes[-2]:
        raise _NotAChain("forward must return the result of its last operation, a single tensor")

    for node in nodes:
        if node.op == "get_attr":
            users = ", ".join(_describe(u, modules) for u in node.users) or "nothing"
            raise _NotAChain(
                f"{users} reads the tensor '{node.target}' directly; only nn.Linear modules may hold weights"
            )

    linears: list[Any] = []
    used: dict[int, str] = {}
    last_kind = "input"  # what the previous operation was: input, linear or relu
    prev = inputs[0]
    for node in nodes[1:]:
        users = list(prev.users)
        if len(users) != 1:
            others = ", ".join(_describe(u, modules) for u in users if u is not node) or "nothing"
            raise _NotAChain(
                f"the value '{prev.name}' goes to {len(users)} operations (also to {others}); in a chain each "
                "value goes on to exactly one operation"
            )
        if node.all_input_nodes != [prev]:
            got = [n.name for n in node.all_input_nodes]
            raise _NotAChain(f"{_describe(node, modules)} takes the values {got}, not just the previous one '{prev.name}'")
        if node is out_node:
            break
        what = _describe(node, modules)
        kind = None
        if node.op == "call_module":
            m = modules[node.target]
            if isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward:
                if id(m) in used:
                    alias = "" if used[id(m)] == node.target else f" (first called as '{used[id(m)]}')"
                    raise _NotAChain(f"linear '{node.target}' called twice{alias}")
                used[id(m)] = str(node.target)
                kind = "linear"
            elif isinstance(m, nn.ReLU) and type(m).forward is nn.ReLU.forward:
                kind = "relu"
            elif type(m) is nn.Identity or (type(m) is nn.Flatten and m.start_dim == 1 and m.end_dim == -1):
                kind = "identity"  # on the (n, d) input these leave the data as it is
        elif node.op == "call_function" and node.target in relu_functions:
            if all(isinstance(a, bool) for a in node.args[1:]) and set(node.kwargs) <= {"inplace"}:
                kind = "relu"
        elif node.op == "call_method" and node.target in ("relu", "relu_"):
            if len(node.args) == 1 and not node.kwargs:
                kind = "relu"
        if kind is None:
            raise _NotAChain(
                f"{what} is neither an nn.Linear nor a ReLU (nor an Identity or Flatten() that leaves the (n, d) input as it is)"
            )
        if kind == "linear":
            if last_kind == "linear":
                raise _NotAChain(f"two Linear layers in a row ({what} right after another Linear, no ReLU between)")
            linears.append(modules[node.target])
            last_kind = "linear"
        elif kind == "relu":
            if last_kind == "input":
                raise _NotAChain(f"{what} is applied to the input, before any Linear layer")
            # ReLU after ReLU is ReLU; a ReLU after the output layer does not move any cut.
            last_kind = "relu"
        prev = node
    if not linears:
        raise _NotAChain("its forward calls no nn.Linear")
    logger.debug("torch module %s read as a chain of %d Linear layers", type(module).__name__, len(linears))
    return linears
