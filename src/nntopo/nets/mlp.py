"""The multilayer perceptron studied by both views: Linear layers with ReLU between."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int, seed_to_int

__all__ = ["MLP"]

_ACTIVATIONS = {"relu": nn.ReLU}


class MLP(nn.Module):
    """Linear layers of the given widths with an activation between them and none after the last.

    ``widths = [d_in, h_1, ..., h_{N-1}, d_out]`` gives N Linear layers. Modules are named
    ``linear1..linearN`` and ``relu1..relu{N-1}``, so captured activations have readable
    names. ``widths`` are ints >= 1 (a float such as ``3.0`` or a bool is a TypeError).

    ``seed`` (an int, a ``numpy.random.Generator`` or None for fresh entropy; default 0)
    initialises the weights from a private torch generator with PyTorch's default scheme,
    uniform in +-1/sqrt(fan_in); the weights never depend on the global torch RNG. The
    int seed actually used is kept as ``self.seed``.
    """

    def __init__(
        self, widths: Sequence[int], activation: str = "relu", seed: int | np.random.Generator | None = 0
    ) -> None:
        super().__init__()
        if isinstance(widths, (str, bytes, dict)) or not hasattr(widths, "__iter__"):
            raise TypeError(f"widths must be a list of ints, got {type(widths).__name__}")
        widths = [check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(widths)]
        if len(widths) < 2:
            raise ValueError(f"widths needs at least an input and an output width; got {widths!r}")
        self.activation = check_choice(activation, "activation", sorted(_ACTIVATIONS))
        seed = torch_seed(seed)  # checked before any layer is built
        self.widths = widths
        n_layers = len(widths) - 1
        # Registered on the module itself (not in a Sequential) so names read relu1, not layers.relu1.
        for i in range(n_layers):
            self.add_module(f"linear{i + 1}", nn.Linear(self.widths[i], self.widths[i + 1]))
            if i < n_layers - 1:
                self.add_module(f"{activation}{i + 1}", _ACTIVATIONS[activation]())
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int | np.random.Generator | None = 0) -> None:
        """Re-initialise all weights from ``seed`` (uniform in +-1/sqrt(fan_in), as nn.Linear does).

        ``seed`` is an int, a ``numpy.random.Generator`` or None (fresh entropy); the int
        used is stored as ``self.seed``.
        """
        self.seed = torch_seed(seed)
        gen = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():
            for layer in self.linears:
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.weight, -bound, bound, generator=gen)
                nn.init.uniform_(layer.bias, -bound, bound, generator=gen)

    @property
    def linears(self) -> list[nn.Linear]:
        """The Linear layers in order."""
        return [m for m in self.children() if isinstance(m, nn.Linear)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():
            x = module(x)
        return x

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The Linear layers' parameters as float64 numpy pairs ``(W (out, in), b (out,))``."""
        return [
            (
                layer.weight.detach().cpu().numpy().astype(np.float64),
                layer.bias.detach().cpu().numpy().astype(np.float64),
            )
            for layer in self.linears
        ]

    def extra_repr(self) -> str:
        return f"widths={self.widths}"


def torch_seed(seed: object, name: str = "seed") -> int:
    """An int seed for ``torch.Generator.manual_seed`` (which takes 0 <= seed < 2**64).

    An int is returned as is, so ``seed=0`` seeds torch with 0 as before; a Generator gives
    one draw and None fresh entropy (both via :func:`nntopo._validation.seed_to_int`).
    """
    s = seed_to_int(seed, name)
    if s >= 2**64:
        raise ValueError(f"{name} must be < 2**64 for torch's generator, got {s}")
    return s
