"""A physics-informed ReLU network for the forced Duffing oscillator
``x'' + delta x' + alpha x + beta x^3 = gamma cos(omega t)`` (Section 3 of the
polyhedral-signatures paper; its appendix with the exact set-up is missing from the text
we have, so every choice below is ours and is recorded in :meth:`DuffingPINN.resolved`).

Inputs: a ReLU MLP with widths ``[2, ..., 2]`` reads ``u = (u_t, u_x) in [-1, 1]^2``,
time and initial displacement scaled affinely:

    t  = (u_t + 1) / 2 * t_max                       (time units, t in [0, t_max])
    x0 = x0_lo + (u_x + 1) / 2 * (x0_hi - x0_lo)     (displacement units)

so its polyhedral complex lives in the square [-1, 1]^2. Outputs: ``(x, v)``, position
and velocity at time t of the trajectory starting at ``(x0, v0)``, in physical units.
``v0`` is one fixed initial velocity for every trajectory (default 0, as in
:func:`nntopo.data.duffing`): the input has room for one varying initial condition only,
and the paper's ``(t, x0)`` input names the displacement.

Residuals. A ReLU network is piecewise linear, so its second derivative is zero almost
everywhere and autograd cannot give ``x''``; the ODE is written as the first-order system

    r_x = x' - v
    r_v = v' + delta v + alpha x + beta x^3 - gamma cos(omega t)

with time derivatives in physical units by the chain rule through the scaling:
``d/dt = (du_t/dt) d/du_t = (2 / t_max) d/du_t`` (autograd w.r.t. the network input
``u_t``, then multiplied by ``2 / t_max``). Initial conditions: at ``u_t = -1`` (t = 0)
with the same ``u_x``, ``x - x0`` and ``v - v0``.

Loss (:func:`duffing_pinn_loss`): ``mean(r_x^2) + mean(r_v^2) + ic_weight * (mean((x(0) -
x0)^2) + mean((v(0) - v0)^2))`` over the rows of a batch of collocation points. A
:class:`DuffingPINN` is itself ``train()``'s ``loss(model, X, target)`` (the target, a
reference solution from scipy, is ignored by the loss and kept for monitoring), so
training, per-epoch loss history, snapshot policies and checkpoints are those of
:func:`nntopo.nets.train`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int, check_real
from ..data import Dataset
from ..data.duffing import DUFFING_REGIMES, duffing

__all__ = ["DuffingPINN", "duffing_pinn_loss", "duffing_residuals"]

_PARAMS = ("delta", "alpha", "beta", "gamma", "omega")


@dataclass(frozen=True)
class DuffingPINN:
    """The Duffing PINN problem: parameters, scaling, loss and collocation data.

    ``regime`` ("chaotic" or "periodic", the parameter sets of
    :data:`nntopo.data.duffing.DUFFING_REGIMES`); ``overrides`` replace single parameters
    (delta, alpha, beta, gamma, omega); ``t_max`` > 0 (time units) the end of the time
    window; ``x0_range`` ``(lo, hi)``, lo < hi, the initial displacements covered;
    ``v0`` the initial velocity of every trajectory; ``ic_weight`` >= 0 the weight of the
    initial-condition terms in the loss. Called as ``problem(model, X, target)`` it is
    :func:`duffing_pinn_loss` (``target`` ignored), the form ``train(loss=...)`` takes.
    """

    regime: str = "chaotic"
    t_max: float = 10.0
    x0_range: tuple[float, float] = (-1.0, 1.0)
    v0: float = 0.0
    ic_weight: float = 1.0
    overrides: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        regime = check_choice(self.regime, "regime", sorted(DUFFING_REGIMES))
        if not isinstance(self.overrides, Mapping):
            raise TypeError(f"overrides must be a dict of parameters, got {type(self.overrides).__name__}")
        unknown = set(self.overrides) - set(_PARAMS)
        if unknown:
            raise ValueError(f"overrides: unknown Duffing parameter(s) {sorted(unknown)}; expected {', '.join(_PARAMS)}")
        rng = self.x0_range
        if isinstance(rng, (str, bytes)) or not hasattr(rng, "__len__") or len(rng) != 2:
            raise TypeError(f"x0_range must be a pair (lo, hi), got {rng!r}")
        lo, hi = check_real(rng[0], "x0_range[0]"), check_real(rng[1], "x0_range[1]")
        if not lo < hi:
            raise ValueError(f"x0_range must have lo < hi, got ({lo:g}, {hi:g})")
        object.__setattr__(self, "regime", regime)
        object.__setattr__(self, "x0_range", (lo, hi))
        object.__setattr__(self, "t_max", check_real(self.t_max, "t_max", minimum=0.0, min_inclusive=False))
        object.__setattr__(self, "v0", check_real(self.v0, "v0"))
        object.__setattr__(self, "ic_weight", check_real(self.ic_weight, "ic_weight", minimum=0.0))
        object.__setattr__(self, "overrides", {k: check_real(v, f"overrides[{k!r}]") for k, v in self.overrides.items()})

    @property
    def params(self) -> dict[str, float]:
        """delta, alpha, beta, gamma, omega in use."""
        return {**DUFFING_REGIMES[self.regime], **self.overrides}

    def resolved(self) -> dict[str, Any]:
        """Every setting, JSON-ready (for configs and result files)."""
        return {"regime": self.regime, **self.params, "t_max": self.t_max, "x0_range": list(self.x0_range),
                "v0": self.v0, "ic_weight": self.ic_weight,
                "input_scaling": "t = (u_t + 1) / 2 * t_max, x0 = x0_lo + (u_x + 1) / 2 * (x0_hi - x0_lo)",
                "residuals": "x' - v, v' + delta v + alpha x + beta x^3 - gamma cos(omega t); d/dt = 2/t_max d/du_t"}

    def physical(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(t, x0)`` in physical units from scaled inputs ``X (n, 2)`` in [-1, 1]^2."""
        lo, hi = self.x0_range
        return (X[:, 0] + 1) * (0.5 * self.t_max), lo + (X[:, 1] + 1) * (0.5 * (hi - lo))

    def scaled(self, t: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Scaled inputs (n, 2) in [-1, 1]^2 from times ``t (n,)`` and displacements ``x0 (n,)``."""
        lo, hi = self.x0_range
        t = np.asarray(t, dtype=np.float64)
        x0 = np.asarray(x0, dtype=np.float64)
        return np.stack([2 * t / self.t_max - 1, 2 * (x0 - lo) / (hi - lo) - 1], axis=1)

    def data(self, n_t: int = 64, n_x0: int = 16) -> Dataset:
        """Collocation points on an ``n_t`` x ``n_x0`` grid of [0, t_max] x x0_range.

        Returns a :class:`Dataset` with ``X`` (n_t * n_x0, 2) the scaled inputs, rows ordered
        by x0 then t, and ``targets`` (n, 2) the reference ``(x, v)`` from scipy's DOP853
        (:func:`nntopo.data.duffing`, rtol 1e-10), for monitoring only: the PINN loss never
        reads them. ``meta`` holds :meth:`resolved` and the grid.
        """
        n_t = check_int(n_t, "n_t", minimum=2)
        n_x0 = check_int(n_x0, "n_x0", minimum=2)
        x0s = np.linspace(*self.x0_range, n_x0)
        t = np.linspace(0.0, self.t_max, n_t)
        X, T = [], []
        for x0 in x0s:
            ref = duffing(self.regime, t_max=self.t_max, n_points=n_t, x0=float(x0), v0=self.v0, **self.overrides)
            X.append(self.scaled(t, np.full(n_t, x0)))
            T.append(ref.targets)
        meta = {"name": "duffing_pinn", **self.resolved(), "n_t": n_t, "n_x0": n_x0}
        return Dataset(X=np.concatenate(X), y=None, targets=np.concatenate(T), meta=meta)

    def __call__(self, model: nn.Module, X: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return duffing_pinn_loss(model, X, self)


def duffing_residuals(model: nn.Module, X: torch.Tensor, problem: DuffingPINN) -> dict[str, torch.Tensor]:
    """The residuals at scaled inputs ``X (n, 2)``, each of shape (n,), physical units.

    ``r_x = x' - v`` and ``r_v = v' + delta v + alpha x + beta x^3 - gamma cos(omega t)``
    at the points, with ``d/dt = (2 / t_max) d/du_t`` by autograd; ``ic_x = x - x0`` and
    ``ic_v = v - v0`` at ``(u_t = -1, u_x)``. Also ``x`` and ``v`` at the points. Works
    under ``torch.no_grad()`` too (gradients are switched on inside), and keeps the graph
    so the residuals can be differentiated w.r.t. the parameters.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(problem, DuffingPINN):
        raise TypeError(f"problem must be a DuffingPINN; got {type(problem).__name__}")
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must be a tensor of shape (n, 2) (scaled t, x0); got {getattr(X, 'shape', type(X))}")
    p = problem.params
    with torch.enable_grad():
        u = X.detach().clone().requires_grad_(True)
        out = model(u)
        if out.ndim != 2 or out.shape[1] != 2:
            raise ValueError(f"model must output (n, 2) = (x, v); got shape {tuple(out.shape)}")
        x, v = out[:, 0], out[:, 1]
        dt = 2.0 / problem.t_max
        x_t = torch.autograd.grad(x.sum(), u, create_graph=True)[0][:, 0] * dt
        v_t = torch.autograd.grad(v.sum(), u, create_graph=True)[0][:, 0] * dt
    t, x0 = problem.physical(X)
    r_x = x_t - v
    r_v = v_t + p["delta"] * v + p["alpha"] * x + p["beta"] * x**3 - p["gamma"] * torch.cos(p["omega"] * t)
    start = torch.stack([torch.full_like(X[:, 0], -1.0), X[:, 1]], dim=1)
    out0 = model(start)
    return {"r_x": r_x, "r_v": r_v, "ic_x": out0[:, 0] - x0, "ic_v": out0[:, 1] - problem.v0, "x": x, "v": v}


def duffing_pinn_loss(model: nn.Module, X: torch.Tensor, problem: DuffingPINN) -> torch.Tensor:
    """Scalar PINN loss at the collocation points ``X (n, 2)`` (scaled inputs):
    ``mean(r_x^2) + mean(r_v^2) + ic_weight * (mean(ic_x^2) + mean(ic_v^2))``
    (see :func:`duffing_residuals`); differentiable w.r.t. the model's parameters."""
    r = duffing_residuals(model, X, problem)
    pde = (r["r_x"] ** 2).mean() + (r["r_v"] ** 2).mean()
    ic = (r["ic_x"] ** 2).mean() + (r["ic_v"] ** 2).mean()
    return pde + problem.ic_weight * ic
