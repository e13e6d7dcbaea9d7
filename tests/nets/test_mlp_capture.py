import numpy as np
import pytest
import torch
from torch import nn

from nntopo.nets import MLP, capturable_layers, capture


def test_mlp_structure_and_weights():
    net = MLP([2, 5, 4, 3], seed=0)
    names = [n for n, _ in net.named_children()]
    assert names == ["linear1", "relu1", "linear2", "relu2", "linear3"]
    w = net.weights()
    assert [W.shape for W, _ in w] == [(5, 2), (4, 5), (3, 4)]
    assert all(W.dtype == np.float64 and b.dtype == np.float64 for W, b in w)
    # the numpy weights reproduce the forward pass
    x = np.random.default_rng(0).normal(size=(10, 2))
    h = x
    for i, (W, b) in enumerate(w):
        h = h @ W.T + b
        if i < len(w) - 1:
            h = np.maximum(h, 0)
    out = net(torch.from_numpy(x).float()).detach().numpy()
    np.testing.assert_allclose(out, h, rtol=1e-5, atol=1e-6)


def test_mlp_seed_is_private_and_deterministic():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = MLP([3, 7, 2], seed=5), MLP([3, 7, 2], seed=5)
    assert torch.rand(1) != before  # nn.Linear's own init used the global RNG...
    for (Wa, ba), (Wb, bb) in zip(a.weights(), b.weights()):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    c = MLP([3, 7, 2], seed=6)
    assert not np.array_equal(a.weights()[0][0], c.weights()[0][0])


def test_mlp_bad_input():
    with pytest.raises(ValueError, match="widths"):
        MLP([3])
    with pytest.raises(ValueError, match="widths"):
        MLP([3, 0, 2])
    with pytest.raises(ValueError, match="activation"):
        MLP([3, 2], activation="tanh")


def test_default_capture_on_mlp_is_a0_to_aN():
    net = MLP([2, 6, 6, 3], seed=1)
    X = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    acts = capture(net, X, batch_size=7)
    assert list(acts) == ["input", "relu1", "relu2", "output"]
    np.testing.assert_array_equal(acts["input"], X)
    assert acts["relu1"].shape == (50, 6) and (acts["relu1"] >= 0).all()
    full = net(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(acts["output"], full, rtol=1e-6, atol=1e-6)
    W, b = net.weights()[0]
    np.testing.assert_allclose(acts["relu1"], np.maximum(X @ W.T + b, 0), rtol=1e-5, atol=1e-6)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.act = nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 2))

    def forward(self, x):
        return self.head(self.act(self.conv(x)))


def test_capture_on_a_cnn_in_execution_order():
    torch.manual_seed(0)
    net = SmallCNN()
    X = np.random.default_rng(0).normal(size=(9, 1, 6, 6)).astype(np.float32)
    acts = capture(net, X, batch_size=4)
    assert list(acts) == ["input", "act", "head.2", "output"]
    assert acts["act"].shape == (9, 3, 4, 4) and acts["head.2"].shape == (9, 5)
    named = capture(net, X, layers=["head.1", "conv"])
    assert list(named) == ["conv", "head.1"]  # network order, not the order asked
    np.testing.assert_allclose(np.maximum(named["conv"], 0), acts["act"], rtol=1e-5, atol=1e-6)


class Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.relu = nn.ReLU()

    def forward(self, x):
        self.relu(self.lin(x))
        raise RuntimeError("boom")


def test_hooks_removed_when_forward_raises():
    net = Exploding()
    # A RuntimeError of the forward pass is reported against X, with the original chained.
    with pytest.raises(ValueError, match=r"^X \(shape \(3, 2\).*Exploding: boom") as info:
        capture(net, np.zeros((3, 2), np.float32))
    assert isinstance(info.value.__cause__, RuntimeError)
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    assert net.training  # mode restored too


def test_hooks_removed_after_success_and_mode_restored():
    net = MLP([2, 3, 2], seed=0).eval()
    capture(net, np.zeros((2, 2), np.float32))
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    assert not net.training


def test_module_called_twice_is_an_error():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.relu(x))

    net = Twice()
    with pytest.raises(ValueError, match="^layers: module 'relu' ran more than once"):
        capture(net, np.zeros((2, 2), np.float32))
    assert len(net.relu._forward_hooks) == 0


def test_capture_errors():
    net = MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match=r"unknown layer name\(s\) \['relu7'\]; valid names are \['input', 'linear1'"):
        capture(net, np.zeros((2, 2)), layers=["relu7"])
    assert "relu1" in capturable_layers(net)
    with pytest.raises(ValueError, match="X is empty"):
        capture(net, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="NaN"):
        capture(net, np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        capture(net, np.zeros(2))
    with pytest.raises(TypeError, match="nn.Module"):
        capture(lambda x: x, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="batch_size"):
        capture(net, np.zeros((2, 2)), batch_size=0)
