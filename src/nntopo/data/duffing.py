"""The forced Duffing oscillator x'' + delta x' + alpha x + beta x^3 = gamma cos(omega t)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .._validation import check_choice, check_int, check_real
from ._base import Dataset

__all__ = ["DUFFING_REGIMES", "duffing"]

DUFFING_REGIMES: Mapping[str, Mapping[str, float]] = {
    "chaotic": {"delta": 0.3, "alpha": -1.0, "beta": 1.0, "gamma": 0.5, "omega": 1.2},
    "periodic": {"delta": 0.3, "alpha": -1.0, "beta": 1.0, "gamma": 0.2, "omega": 1.2},
}


def duffing(
    regime: str = "periodic",
    t_max: float = 20.0,
    n_points: int = 1000,
    x0: float = 1.0,
    v0: float = 0.0,
    **overrides: float,
) -> Dataset:
    """Solve the Duffing oscillator on ``[0, t_max]`` (time units) with scipy.

    ``regime`` names a parameter set ("chaotic" or "periodic"); keyword ``overrides``
    replace single parameters (delta, alpha, beta, gamma, omega; finite reals). ``x0`` and
    ``v0`` are the initial position and velocity; ``n_points >= 2`` evenly spaced times
    from 0 to ``t_max > 0`` are returned. Returns a regression
    :class:`Dataset`: ``X`` is time (n_points, 1), ``targets`` is (x, x') (n_points, 2),
    ``y`` is None, and ``meta`` holds the parameters and initial state.
    """
    from scipy.integrate import solve_ivp

    regime = check_choice(regime, "regime", sorted(DUFFING_REGIMES))
    unknown = set(overrides) - set(DUFFING_REGIMES[regime])
    if unknown:
        raise TypeError(f"unknown Duffing parameter(s) {sorted(unknown)}; expected delta, alpha, beta, gamma, omega")
    params = {**DUFFING_REGIMES[regime], **{k: check_real(v, k) for k, v in overrides.items()}}
    x0 = check_real(x0, "x0")
    v0 = check_real(v0, "v0")
    t_max = check_real(t_max, "t_max", minimum=0.0, min_inclusive=False)
    n_points = check_int(n_points, "n_points", minimum=2)
    d, a, b, g, w = (params[k] for k in ("delta", "alpha", "beta", "gamma", "omega"))

    def rhs(t: float, state: np.ndarray) -> list[float]:
        x, v = state
        return [v, g * np.cos(w * t) - d * v - a * x - b * x**3]

    t = np.linspace(0.0, t_max, n_points)
    sol = solve_ivp(rhs, (0.0, t_max), [x0, v0], t_eval=t, method="DOP853", rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"Duffing integration failed: {sol.message}")
    return Dataset(
        X=t[:, None],
        y=None,
        targets=sol.y.T,
        meta={"name": "duffing", "regime": regime, **params, "x0": x0, "v0": v0, "t_max": t_max},
    )
