"""The multilayer perceptron studied by both views: Linear layers with ReLU between."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["MLP"]

_ACTIVATIONS = {"relu": nn.ReLU}


class MLP(nn.Module):
    """Linear layers of the given widths with an activation between them and none after the last.

    ``widths = [d_in, h_1, ..., h_{N-1}, d_out]`` gives N Linear layers. Modules are named
    ``linear1..linearN`` and ``relu1..relu{N-1}``, so captured activations have readable
    names. ``seed`` initialises the weights from a private generator (PyTorch's default
    scheme: uniform in +-1/sqrt(fan_in)), so the global torch RNG is neither read nor changed.
    """

    def __init__(self, widths: Sequence[int], activation: str = "relu", seed: int | None = None) -> None:
        super().__init__()
        widths = list(widths)
        if len(widths) < 2:
            raise ValueError(f"widths needs at least an input and an output width; got {widths!r}")
        if any(int(w) != w or w < 1 for w in widths):
            raise ValueError(f"widths must be positive integers; got {widths!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}")
        self.widths = [int(w) for w in widths]
        self.activation = activation
        n_layers = len(widths) - 1
        # Registered on the module itself (not in a Sequential) so names read relu1, not layers.relu1.
        for i in range(n_layers):
            self.add_module(f"linear{i + 1}", nn.Linear(self.widths[i], self.widths[i + 1]))
            if i < n_layers - 1:
                self.add_module(f"{activation}{i + 1}", _ACTIVATIONS[activation]())
        if seed is not None:
            self.reset_parameters(seed)

    def reset_parameters(self, seed: int) -> None:
        """Re-initialise all weights from ``seed`` (uniform in +-1/sqrt(fan_in), as nn.Linear does)."""
        gen = torch.Generator().manual_seed(int(seed))
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
