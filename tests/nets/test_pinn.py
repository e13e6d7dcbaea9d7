"""The Duffing PINN: residuals on an analytic solution, against finite differences on a
ReLU network, the loss inside nets.train (seeded, per-epoch history), bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nntopo.nets import MLP, EveryKEpochs, TrainConfig, load_checkpoint, load_manifest, train
from nntopo.nets.pinn import DuffingPINN, duffing_pinn_loss, duffing_residuals


class LinearSolution(nn.Module):
    """The exact solution of x'' + delta x' + alpha x = gamma cos(omega t) (beta = 0),
    x(0) = x0, x'(0) = v0, as a module on the PINN's scaled inputs (float64)."""

    def __init__(self, problem: DuffingPINN) -> None:
        super().__init__()
        self.problem = problem
        p = problem.params
        d, a, g, w = p["delta"], p["alpha"], p["gamma"], p["omega"]
        # particular solution A cos(wt) + B sin(wt)
        det = (a - w * w) ** 2 + (d * w) ** 2
        self.A, self.B = g * (a - w * w) / det, g * d * w / det
        disc = d * d - 4 * a
        assert disc > 0  # distinct real roots for the parameter sets used here
        self.r1, self.r2 = (-d + math.sqrt(disc)) / 2, (-d - math.sqrt(disc)) / 2

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        t, x0 = self.problem.physical(X)
        w, r1, r2 = self.problem.params["omega"], self.r1, self.r2
        # homogeneous part: c1 e^{r1 t} + c2 e^{r2 t} with x(0) = x0, x'(0) = v0
        rhs1 = x0 - self.A
        rhs2 = self.problem.v0 - self.B * w
        c1 = (rhs2 - r2 * rhs1) / (r1 - r2)
        c2 = rhs1 - c1
        e1, e2 = torch.exp(r1 * t), torch.exp(r2 * t)
        x = c1 * e1 + c2 * e2 + self.A * torch.cos(w * t) + self.B * torch.sin(w * t)
        v = c1 * r1 * e1 + c2 * r2 * e2 - self.A * w * torch.sin(w * t) + self.B * w * torch.cos(w * t)
        return torch.stack([x, v], dim=1)


def grid(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.uniform(-1, 1, size=(n, 2)))


@pytest.mark.parametrize("regime", ["chaotic", "periodic"])
def test_exact_linear_solution_has_zero_residual(regime):
    problem = DuffingPINN(regime, t_max=3.0, x0_range=(-0.5, 1.5), v0=0.3, overrides={"beta": 0.0})
    r = duffing_residuals(LinearSolution(problem), grid(), problem)
    for key in ("r_x", "r_v", "ic_x", "ic_v"):
        assert torch.max(torch.abs(r[key])) < 1e-10, key
    assert duffing_pinn_loss(LinearSolution(problem), grid(), problem).item() < 1e-20


def test_cubic_term_and_time_scaling():
    # The same linear solution under beta != 0 leaves exactly beta x^3 in r_v; and the
    # residual sees physical time: a wrong t_max in the problem breaks it.
    lin = DuffingPINN("chaotic", t_max=3.0, overrides={"beta": 0.0})
    cubic = DuffingPINN("chaotic", t_max=3.0, overrides={"beta": 0.7})
    X = grid()
    r = duffing_residuals(LinearSolution(lin), X, cubic)
    np.testing.assert_allclose(r["r_v"].detach().numpy(), 0.7 * r["x"].detach().numpy() ** 3, rtol=1e-9, atol=1e-10)
    assert torch.max(torch.abs(r["r_x"])) < 1e-10
    other = DuffingPINN("chaotic", t_max=2.0, overrides={"beta": 0.0})
    assert torch.max(torch.abs(duffing_residuals(LinearSolution(lin), X, other)["r_x"])) > 1e-2


def _hidden_signs(weights, U):
    h, out = U, []
    for W, b in weights[:-1]:
        z = h @ W.T + b
        out.append(z > 0)
        h = np.maximum(z, 0)
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("regime", ["chaotic", "periodic"])
def test_residual_of_a_relu_network_against_finite_differences(regime):
    problem = DuffingPINN(regime, t_max=7.0, x0_range=(-2.0, 1.0), v0=0.25)
    model = MLP([2, 16, 16, 2], seed=3).double()
    X = grid(300, 1)
    r = duffing_residuals(model, X, problem)
    h_phys = 1e-6  # time units
    du = h_phys * 2.0 / problem.t_max
    Xp, Xm = X.clone(), X.clone()
    Xp[:, 0] += du
    Xm[:, 0] -= du
    with torch.no_grad():
        out, op, om = model(X), model(Xp), model(Xm)
    deriv = (op - om) / (2 * h_phys)  # central difference in physical time
    t = (X[:, 0] + 1) * problem.t_max / 2
    p = problem.params
    x, v = out[:, 0], out[:, 1]
    fd_rx = deriv[:, 0] - v
    fd_rv = deriv[:, 1] + p["delta"] * v + p["alpha"] * x + p["beta"] * x**3 - p["gamma"] * torch.cos(p["omega"] * t)
    # Piecewise linear: the difference is exact where no kink lies between the two points.
    W = model.weights()
    same = np.all(_hidden_signs(W, Xp.numpy()) == _hidden_signs(W, Xm.numpy()), axis=1)
    assert same.sum() > 250
    np.testing.assert_allclose(r["r_x"].detach().numpy()[same], fd_rx.numpy()[same], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r["r_v"].detach().numpy()[same], fd_rv.numpy()[same], rtol=1e-6, atol=1e-6)
    # initial conditions from a plain forward pass at t = 0
    x0 = problem.x0_range[0] + (X[:, 1] + 1) * (problem.x0_range[1] - problem.x0_range[0]) / 2
    with torch.no_grad():
        at0 = model(torch.stack([-torch.ones(X.shape[0], dtype=X.dtype), X[:, 1]], dim=1))
    np.testing.assert_allclose(r["ic_x"].detach().numpy(), (at0[:, 0] - x0).numpy(), atol=1e-12)
    np.testing.assert_allclose(r["ic_v"].detach().numpy(), (at0[:, 1] - 0.25).numpy(), atol=1e-12)
    # the loss is what the docstring says
    loss = duffing_pinn_loss(model, X, problem)
    want = (r["r_x"] ** 2).mean() + (r["r_v"] ** 2).mean() + (r["ic_x"] ** 2).mean() + (r["ic_v"] ** 2).mean()
    assert loss.item() == pytest.approx(want.item(), rel=1e-12)


def test_loss_under_no_grad_and_gradients_reach_the_weights():
    problem = DuffingPINN("chaotic")
    model = MLP([2, 8, 8, 2], seed=0)
    X = torch.from_numpy(problem.data(8, 4).X)
    with torch.no_grad():
        value = float(problem(model, X, None))
    loss = problem(model, X, None)
    assert loss.item() == pytest.approx(value, rel=1e-6)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert float(model.linear1.weight.grad.abs().sum()) > 0


def test_collocation_data():
    problem = DuffingPINN("periodic", t_max=5.0, x0_range=(0.0, 2.0), v0=0.1)
    data = problem.data(n_t=11, n_x0=3)
    assert data.X.shape == (33, 2) and data.targets.shape == (33, 2) and data.y is None
    assert data.X.min() == -1 and data.X.max() == 1
    # first row: t = 0, x0 = 0: the reference starts at the initial state
    np.testing.assert_allclose(data.targets[0], (0.0, 0.1), atol=1e-6)
    np.testing.assert_allclose(data.targets[22], (2.0, 0.1), atol=1e-6)
    assert data.meta["regime"] == "periodic" and data.meta["gamma"] == 0.2 and data.meta["v0"] == 0.1
    t, x0 = problem.physical(torch.from_numpy(data.X[[12]]).double())
    assert float(t) == pytest.approx(0.5) and float(x0) == pytest.approx(1.0)


def test_short_training_decreases_the_loss_and_is_reproducible(tmp_path):
    problem = DuffingPINN("chaotic", t_max=5.0)
    data = problem.data(n_t=24, n_x0=6)
    config = TrainConfig(epochs=12, lr=3e-3, batch_size=32, seed=1)
    runs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        model = MLP([2, 16, 16, 2], seed=2)
        runs.append((train(model, data, config=config, loss=problem, snapshots=EveryKEpochs(4), out_dir=out), model))
    (res, model), (res2, _) = runs
    losses = [rec["train_loss"] for rec in res.history]
    assert [rec["epoch"] for rec in res.history] == list(range(13))
    assert losses[-1] < 0.5 * losses[0]
    assert losses == [rec["train_loss"] for rec in res2.history]
    rows = load_manifest(tmp_path / "a")
    assert [r["epoch"] for r in rows] == [0, 4, 8, 12]
    again = load_checkpoint(MLP([2, 16, 16, 2], seed=9), rows[-1], tmp_path / "a")
    X = torch.from_numpy(data.X)
    assert problem(again, X).item() == pytest.approx(losses[-1], rel=1e-5)


def test_bad_problems_and_inputs():
    with pytest.raises(ValueError, match="regime"):
        DuffingPINN("calm")
    with pytest.raises(ValueError, match="t_max"):
        DuffingPINN(t_max=0.0)
    with pytest.raises(ValueError, match="x0_range"):
        DuffingPINN(x0_range=(1.0, 1.0))
    with pytest.raises(TypeError, match="x0_range"):
        DuffingPINN(x0_range=1.0)
    with pytest.raises(ValueError, match="ic_weight"):
        DuffingPINN(ic_weight=-1.0)
    with pytest.raises(ValueError, match="unknown Duffing parameter"):
        DuffingPINN(overrides={"mass": 1.0})
    with pytest.raises(ValueError, match="v0"):
        DuffingPINN(v0=float("nan"))
    problem = DuffingPINN()
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        duffing_residuals(MLP([3, 4, 2]), torch.zeros(5, 3), problem)
    with pytest.raises(ValueError, match="model must output"):
        duffing_residuals(MLP([2, 4, 1]), torch.zeros(5, 2), problem)
    with pytest.raises(TypeError, match="problem"):
        duffing_residuals(MLP([2, 4, 2]), torch.zeros(5, 2), {"regime": "chaotic"})
    with pytest.raises(TypeError, match="model"):
        duffing_pinn_loss(lambda X: X, torch.zeros(5, 2), problem)
    with pytest.raises(ValueError, match="n_t"):
        problem.data(n_t=1)
    assert problem.resolved()["alpha"] == -1.0 and problem.resolved()["t_max"] == 10.0
