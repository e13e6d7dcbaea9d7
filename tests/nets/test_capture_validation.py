"""Issue 8 for MLP and capture: widths, seeds, input checks after the cast, overflow, tuple outputs."""

import hashlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nntopo.nets import MLP, capture

# --------------------------------------------------------------------------- MLP


@pytest.mark.parametrize(
    "widths, exc, message",
    [
        ([2, 3.0, True], TypeError, r"^widths\[1\] must be an int, got 3.0"),
        ([2, True], TypeError, r"^widths\[1\] must be an int, got True"),
        ([2, "3"], TypeError, r"^widths\[1\] must be an int"),
        ("23", TypeError, "^widths must be a list of ints"),
        (5, TypeError, "^widths must be a list of ints"),
        ([2, -1], ValueError, r"^widths\[1\] must be >= 1"),
        ([2], ValueError, "^widths needs at least an input and an output width"),
    ],
)
def test_mlp_widths_are_ints(widths, exc, message):
    with pytest.raises(exc, match=message):
        MLP(widths)


def test_mlp_accepts_numpy_widths_and_checks_activation_and_seed():
    assert MLP(np.array([2, 3, 2])).widths == [2, 3, 2]
    with pytest.raises(TypeError, match="^activation must be one of"):
        MLP([2, 2], activation=None)
    with pytest.raises(ValueError, match="^seed must be"):
        MLP([2, 2], seed=-1)
    with pytest.raises(TypeError, match="^seed must be"):
        MLP([2, 2], seed=1.0)
    with pytest.raises(ValueError, match=r"^seed must be < 2\*\*64"):
        MLP([2, 2], seed=2**64)


def _state_digest(net) -> str:
    h = hashlib.sha256()
    for v in net.state_dict().values():
        h.update(v.numpy().tobytes())
    return h.hexdigest()[:16]


def test_mlp_seed_0_draws_what_it_drew_before():
    # sha256 prefix of MLP([2] + [15] * 10 + [2], seed=0)'s state before issue 8 (14bc53b):
    # the demo's network, whose numbers the README quotes.
    net = MLP([2] + [15] * 10 + [2], seed=0)
    assert _state_digest(net) == "478fb4e5379e6963"
    assert net.seed == 0
    assert _state_digest(MLP([2] + [15] * 10 + [2])) == "478fb4e5379e6963"  # default seed is 0


def test_mlp_generator_and_none_seeds_record_the_int_used():
    rng_seed = int(np.random.default_rng(4).integers(0, 2**63 - 1))
    a = MLP([3, 5, 2], seed=np.random.default_rng(4))
    assert a.seed == rng_seed
    assert _state_digest(a) == _state_digest(MLP([3, 5, 2], seed=rng_seed))
    fresh = MLP([3, 5, 2], seed=None)
    assert _state_digest(fresh) == _state_digest(MLP([3, 5, 2], seed=fresh.seed))


# --------------------------------------------------------------------------- capture: inputs


def test_capture_refuses_inputs_that_overflow_the_model_dtype():
    net = MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="^X has values too large for float32"):
        capture(net, np.full((2, 2), 1e300))
    with pytest.raises(ValueError, match="^X has values too large for the model's dtype torch.float32"):
        capture(net, torch.full((2, 2), 1e300, dtype=torch.float64))
    # a float64 network takes them, and its activations are the float64 forward pass
    net64 = MLP([2, 3, 2], seed=0).double()
    X = np.full((2, 2), 1e300)
    acts = capture(net64, X)
    W, b = net64.weights()[0]
    np.testing.assert_allclose(acts["relu1"], np.maximum(X @ W.T + b, 0), rtol=1e-12)


@pytest.mark.parametrize(
    "X, exc, message",
    [
        (np.array([["a", "b"]]), TypeError, "^X must hold real numbers"),
        (np.array([[1 + 1j, 0]]), TypeError, "^X must hold real numbers, got complex"),
        (np.array([[None, 1]], dtype=object), TypeError, "^X must hold real numbers"),
        (torch.zeros((2, 2), dtype=torch.complex64), TypeError, "^X must hold real numbers"),
        (torch.tensor([[float("nan"), 0.0]]), ValueError, "^X contains NaN"),
        (torch.zeros((0, 2)), ValueError, "^X is empty"),
        (torch.zeros(2), ValueError, r"^X must have shape \(n, features...\)"),
    ],
)
def test_capture_input_kinds(X, exc, message):
    with pytest.raises(exc, match=message):
        capture(MLP([2, 3, 2], seed=0), X)


def test_wrong_input_width_names_X_with_expected_and_got():
    with pytest.raises(ValueError, match=r"^X must have shape \(n, 2\): the first Linear layer of the MLP takes 2 "
                                         r"features; got shape \(4, 3\)"):
        capture(MLP([2, 3, 2], seed=0), np.zeros((4, 3)))
    seq = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"^X must have shape \(n, 5\).*Sequential.*got shape \(4, 3\)"):
        capture(seq, np.zeros((4, 3)))

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(5, 3)

        def forward(self, x):
            return self.inner(x)

    with pytest.raises(ValueError, match=r"^X \(shape \(4, 3\), cast to torch.float32\) could not be pushed through "
                                         r"the Wrapped: mat1 and mat2 shapes") as info:
        capture(Wrapped(), np.zeros((4, 3)))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_model_errors_that_are_not_about_X_pass_through():
    class Bug(nn.Module):
        def forward(self, x):
            raise KeyError("a bug in the model")

    with pytest.raises(KeyError):
        capture(Bug(), np.zeros((2, 2)))

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError):
        capture(NoForward(), np.zeros((2, 2)))


def test_layers_and_batch_size_are_checked():
    net = MLP([2, 3, 2], seed=0)
    X = np.zeros((2, 2))
    with pytest.raises(TypeError, match="^layers must be a list of layer names"):
        capture(net, X, layers="relu1")
    with pytest.raises(TypeError, match="^layers must hold layer names"):
        capture(net, X, layers=[1])
    with pytest.raises(ValueError, match="^layers names a layer twice"):
        capture(net, X, layers=["relu1", "relu1"])
    with pytest.raises(ValueError, match="^layers is empty"):
        capture(net, X, layers=[])
    with pytest.raises(TypeError, match="^batch_size must be an int"):
        capture(net, X, batch_size=2.0)


# --------------------------------------------------------------------------- capture: outputs


class Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 3, batch_first=True)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.lstm(x[:, None, :])[0][:, 0])


def test_capture_of_a_tuple_output_is_a_clear_type_error():
    net = Seq()
    with pytest.raises(TypeError, match=r"^layers: module 'lstm' \(LSTM\) returns a tuple, not a tensor"):
        capture(net, np.zeros((4, 2), dtype=np.float32), layers=["lstm"])
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    # the tensor-valued layers of the same model are captured
    acts = capture(net, np.zeros((4, 2), dtype=np.float32), layers=["head"])
    assert acts["head"].shape == (4, 2)

    class TupleOut(nn.Module):
        def forward(self, x):
            return x, x

    with pytest.raises(TypeError, match=r"^model \(TupleOut\) returns a tuple, not a tensor"):
        capture(TupleOut(), np.zeros((2, 2)), layers=["output"])


def test_activation_overflow_names_the_layer():
    net = MLP([2, 4, 4, 2], seed=0)
    with torch.no_grad():
        net.linear2.weight.fill_(1e30)
    X = np.full((3, 2), 1e10, dtype=np.float32)
    # Independent float64 check of where float32 overflows: linear1 is finite, linear2 is not.
    (W1, b1), (W2, b2), _ = net.weights()
    h1 = X.astype(np.float64) @ W1.T + b1
    assert np.all(np.abs(h1) < np.finfo(np.float32).max)
    assert np.any(np.abs(np.maximum(h1, 0) @ W2.T + b2) > np.finfo(np.float32).max)
    with pytest.raises(ValueError, match=r"^X: activations overflowed to inf or NaN in layer 'linear2' "
                                         r"\(torch.float32\) for rows 0..2; the input is finite"):
        capture(net, X)
    assert all(len(m._forward_hooks) == 0 for m in net.modules()) and net.training
    # the same weights in float64 do not overflow: nothing to refuse
    capture(net.double(), X)


def test_activation_overflow_in_a_later_batch_and_nan_weights():
    net = MLP([2, 3, 2], seed=0)
    with torch.no_grad():
        net.linear1.weight.fill_(1.0)
    X = np.zeros((10, 2), dtype=np.float32)
    X[7] = 3e38  # finite in float32, but 3e38 + 3e38 is not
    with pytest.raises(ValueError, match=r"in layer 'linear1' .* for rows 6..8"):
        capture(net, X, batch_size=3)
    with torch.no_grad():
        net.linear2.bias[0] = float("nan")
    with pytest.raises(ValueError, match="in layer 'linear2' .* the model has non-finite parameters"):
        capture(net, np.zeros((2, 2)))

    class Inline(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x) * 1e38 * 1e38

    with pytest.raises(ValueError, match="overflowed to inf or NaN in the forward pass of the Inline"):
        capture(Inline(), np.ones((2, 2)), layers=["output"])


def _numpy_forward(weights, X):
    out, h = [X], X
    for i, (W, b) in enumerate(weights):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0)
        out.append(h)
    return out


_mlp_cases = (
    st.lists(st.integers(1, 6), min_size=2, max_size=5),
    st.integers(1, 20),
    st.integers(1, 8),
    st.integers(0, 2**32),
)


@settings(max_examples=25, deadline=None)
@given(*_mlp_cases)
def test_capture_matches_a_numpy_forward_pass(widths, n, batch_size, seed):
    _check_capture(widths, n, batch_size, seed)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(*_mlp_cases)
def test_capture_matches_a_numpy_forward_pass_many(widths, n, batch_size, seed):
    _check_capture(widths, n, batch_size, seed)


def _check_capture(widths, n, batch_size, seed):
    net = MLP(widths, seed=seed).double()
    X = np.random.default_rng(seed).normal(size=(n, widths[0]))
    acts = capture(net, X, batch_size=batch_size)
    expected = _numpy_forward(net.weights(), X)
    assert list(acts) == ["input", *[f"relu{i}" for i in range(1, len(widths) - 1)], "output"]
    for got, want in zip(acts.values(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_capture_on_a_cuda_model_checks_and_returns_numpy():
    net = MLP([2, 3, 2], seed=0).cuda()
    X = np.random.default_rng(0).normal(size=(5, 2))
    acts = capture(net, X)
    W, b = net.weights()[0]
    np.testing.assert_allclose(acts["relu1"], np.maximum(X @ W.T + b, 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="^X has values too large for float32"):
        capture(net, np.full((2, 2), 1e300))
