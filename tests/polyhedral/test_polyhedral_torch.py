"""The torch adapter reads a module's traced forward, never its registration order.

Issue 8, item 2: a residual block, a registered ReLU with tanh applied, one Linear used
twice and a module registered l2-before-l1 all gave the complex of another network.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nntopo.nets import MLP
from nntopo.polyhedral import as_weights, polyhedral_complex


def linear_pairs(*layers: nn.Linear) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (W, b) pairs of the given layers, read by hand in the given order."""
    return [(l.weight.detach().double().numpy(), l.bias.detach().double().numpy()) for l in layers]


def assert_same_pairs(got, want):
    assert len(got) == len(want)
    for (Wg, bg), (Ww, bw) in zip(got, want):
        np.testing.assert_array_equal(Wg, Ww)
        np.testing.assert_array_equal(bg, bw)


def hidden_signs_by_hooks(module: nn.Module, hidden: list[nn.Linear], points: np.ndarray) -> np.ndarray:
    """Signs of the hidden pre-activations while the module itself runs (forward hooks),
    concatenated in the order of ``hidden``: what the complex's sign vectors must be."""
    seen: dict[int, np.ndarray] = {}
    handles = [
        lin.register_forward_hook(lambda mod, inp, out, i=i: seen.__setitem__(i, out.detach().clone().numpy()))
        for i, lin in enumerate(hidden)
    ]
    try:
        with torch.no_grad():
            module(torch.as_tensor(points, dtype=torch.float64))
    finally:
        for h in handles:
            h.remove()
    return np.sign(np.concatenate([seen[i] for i in range(len(hidden))], axis=1)).astype(np.int8)


# --------------------------------------------------------------------------- the four findings


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.r, self.b = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)

    def forward(self, x):
        return self.b(x + self.r(self.a(x)))


class TanhApplied(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.act, self.l2 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)

    def forward(self, x):
        return self.l2(torch.tanh(self.l1(x)))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.l, self.act, self.out = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)

    def forward(self, x):
        return self.out(self.act(self.l(self.act(self.l(x)))))


class Swapped(nn.Module):
    """l2 is registered before l1; forward calls l1, then l2, then l3. The input and the
    hidden widths are all 2, so the registration order (l2, r1, l1, r2, l3) is a valid
    chain too, and used to give the complex of that other network."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.l2 = nn.Linear(2, 2)
        self.r1 = nn.ReLU()
        self.l1 = nn.Linear(2, 2)
        self.r2 = nn.ReLU()
        self.l3 = nn.Linear(2, 1)

    def forward(self, x):
        return self.l3(self.r2(self.l2(self.r1(self.l1(x)))))


class SwappedFunctional(nn.Module):
    """The same with ReLU applied as functions and layers of different widths."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.l2 = nn.Linear(4, 3)
        self.l1 = nn.Linear(2, 4)
        self.l3 = nn.Linear(3, 1)

    def forward(self, x):
        return self.l3(torch.relu(self.l2(F.relu(self.l1(x)))))


def test_residual_block_refused():
    with pytest.raises(TypeError, match=r"net_or_weights.*Residual.*operator\.add"):
        polyhedral_complex(Residual())


def test_relu_registered_but_tanh_applied_refused():
    with pytest.raises(TypeError, match=r"net_or_weights.*TanhApplied.*torch\.tanh"):
        polyhedral_complex(TanhApplied())


def test_one_linear_applied_twice_refused():
    with pytest.raises(TypeError, match=r"Twice.*linear 'l' called twice"):
        polyhedral_complex(Twice())
    # The same instance under two names in a Sequential is one Linear called twice as well.
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Sequential.*called twice"):
        as_weights(nn.Sequential(lin, nn.ReLU(), lin))


@pytest.mark.parametrize("cls, widths", [(Swapped, [2, 2]), (SwappedFunctional, [4, 3])])
def test_registration_order_is_not_forward_order(cls, widths):
    m = cls().double()
    assert_same_pairs(as_weights(m), linear_pairs(m.l1, m.l2, m.l3))
    cx = polyhedral_complex(m)
    assert cx.hidden_widths == widths
    # Independent check: the sign vector of the region each point falls in is the sign
    # of the hidden pre-activations the module computes there.
    P = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
    np.testing.assert_array_equal(cx.region_signs[cx.region_of(P)], hidden_signs_by_hooks(m, [m.l1, m.l2], P))


# --------------------------------------------------------------------------- accepted modules


def test_sequential_nested_matches_forward():
    torch.manual_seed(0)
    seq = nn.Sequential(
        nn.Flatten(), nn.Linear(2, 7), nn.ReLU(), nn.Sequential(nn.Linear(7, 5), nn.ReLU(inplace=True)),
        nn.Identity(), nn.Linear(5, 1),
    ).double()
    pairs = as_weights(seq)
    assert_same_pairs(pairs, linear_pairs(seq[1], seq[3][0], seq[5]))
    assert all(W.dtype == np.float64 and W.flags.c_contiguous for W, _ in pairs)
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    with torch.no_grad():
        y = seq(torch.as_tensor(x)).numpy()
    h = x
    for W, b in pairs[:-1]:
        h = np.maximum(h @ W.T + b, 0)
    np.testing.assert_allclose(h @ pairs[-1][0].T + pairs[-1][1], y, rtol=1e-12, atol=1e-12)
    cx = polyhedral_complex(seq)
    P = np.random.default_rng(1).uniform(-1, 1, (1000, 2))
    np.testing.assert_array_equal(cx.region_signs[cx.region_of(P)], hidden_signs_by_hooks(seq, [seq[1], seq[3][0]], P))


def test_trailing_relu_and_missing_bias():
    seq = nn.Sequential(nn.Linear(2, 4, bias=False), nn.ReLU(), nn.Linear(4, 1), nn.ReLU())
    pairs = as_weights(seq)
    assert len(pairs) == 2 and np.all(pairs[0][1] == 0)


def test_mlp_read_from_its_forward():
    net = MLP([2, 9, 9, 1], seed=3)
    assert_same_pairs(as_weights(net), net.weights())
    cx = polyhedral_complex(net)
    cx_seq = polyhedral_complex(nn.Sequential(*net.children()))
    np.testing.assert_array_equal(cx.f_vector, cx_seq.f_vector)
    np.testing.assert_array_equal(cx.region_signs, cx_seq.region_signs)
    P = np.random.default_rng(2).uniform(-1, 1, (1000, 2))
    net64 = MLP([2, 9, 9, 1], seed=3).double()
    np.testing.assert_array_equal(
        cx.region_signs[cx.region_of(P)], hidden_signs_by_hooks(net64, net64.linears[:-1], P)
    )


def test_mlp_subclass_with_another_forward_refused():
    """weights() alone is not trusted: a subclass whose forward drops the ReLUs is refused."""

    class NoRelu(MLP):
        def forward(self, x):
            return self.linear2(self.linear1(x))

    with pytest.raises(TypeError, match="NoRelu.*two Linear layers in a row"):
        polyhedral_complex(NoRelu([2, 4, 1], seed=0))


@pytest.mark.parametrize(
    "relu",
    [
        F.relu,
        torch.relu,
        lambda x: torch.relu_(x),
        lambda x: F.relu(x, inplace=True),
        lambda x: x.relu(),
        lambda x: x.relu_(),
        lambda x: F.relu(F.relu(x)),  # ReLU twice is ReLU
    ],
)
def test_custom_chain_with_each_relu_spelling(relu):
    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(1)
            self.out = nn.Linear(4, 1)
            self.hidden = nn.Linear(2, 4)

        def forward(self, x):
            return self.out(relu(self.hidden(x)))

    m = Chain()
    assert_same_pairs(as_weights(m), linear_pairs(m.hidden, m.out))


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    order_seed=st.integers(0, 2**16),
)
def test_any_registration_order_gives_the_forward_order(widths, order_seed):
    """Layers registered in a random order, called in a fixed one: the pairs follow the calls."""
    rng = np.random.default_rng(order_seed)
    n = len(widths) - 1
    layers = [nn.Linear(widths[i], widths[i + 1]) for i in range(n)]

    class Shuffled(nn.Module):
        def __init__(self):
            super().__init__()
            for j in rng.permutation(n):
                self.add_module(f"layer{j}", layers[j])

        def forward(self, x):
            for j in range(n):
                x = getattr(self, f"layer{j}")(x)
                if j < n - 1:
                    x = torch.relu(x)
            return x

    assert_same_pairs(as_weights(Shuffled()), linear_pairs(*layers))


# --------------------------------------------------------------------------- refused modules


class _Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(2, 1)

    def forward(self, x):
        if x.sum() > 0:  # control flow on the data: fx cannot trace it
            return self.l(x)
        return -self.l(x)


class _TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2, 3), nn.Linear(3, 1)

    def forward(self, x):
        h = self.l1(x)
        return self.l2(torch.relu(h)), h


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2, 3), nn.Linear(3, 1)

    def forward(self, x):
        return F.linear(torch.relu(self.l1(x)), self.l2.weight, self.l2.bias)


class _MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)), r"module '1' \(Tanh\)"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(), nn.Linear(3, 1)), "LeakyReLU"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 1)), "BatchNorm1d"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.ReLU(), nn.Linear(3, 1)), "Dropout"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), "two Linear layers in a row"),
        (lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), "applied to the input"),
        (lambda: nn.Sequential(nn.ReLU()), "applied to the input"),
        (lambda: nn.Sequential(nn.Identity()), "no nn.Linear"),
        (lambda: nn.Sequential(nn.Flatten(0), nn.Linear(2, 1)), "Flatten"),
        (lambda: nn.Sequential(_MyLinear(2, 3), nn.ReLU(), nn.Linear(3, 1)), r"functional\.linear reads"),
        (_Untraceable, "cannot be traced by torch.fx"),
        (_TwoOutputs, "_TwoOutputs"),
        (_Functional, r"torch\.nn\.functional\.linear reads the tensor 'l2\.weight'"),
    ],
)
def test_modules_that_are_not_a_chain_refused(make, match):
    module = make()
    with pytest.raises(TypeError, match="net_or_weights") as info:
        polyhedral_complex(module)
    assert type(module).__name__ in str(info.value)
    assert re.search(match, str(info.value)), str(info.value)


def test_subclass_keeping_linear_forward_accepted():
    class Named(nn.Linear):
        pass

    seq = nn.Sequential(Named(2, 3), nn.ReLU(), Named(3, 1))
    assert_same_pairs(as_weights(seq), linear_pairs(seq[0], seq[2]))


def test_forward_hook_refused():
    """fx does not run hooks, and a hook may change the output: a hooked module is refused."""
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    handle = seq[0].register_forward_hook(lambda mod, inp, out: 2 * out)
    with pytest.raises(TypeError, match="hook"):
        as_weights(seq)
    handle.remove()
    assert len(as_weights(seq)) == 2

    class Block(nn.Module):  # traced into (not a leaf): its hook would otherwise go unseen
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 3)

        def forward(self, x):
            return torch.relu(self.lin(x))

    outer = nn.Sequential(Block(), nn.Linear(3, 1))
    assert len(as_weights(outer)) == 2
    outer[0].register_forward_hook(lambda mod, inp, out: -out)
    with pytest.raises(TypeError, match=r"submodule '0' \(Block\) has forward hooks"):
        as_weights(outer)


def test_two_inputs_refused():
    class TwoIn(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(2, 1)

        def forward(self, x, y):
            return self.l(x)

    with pytest.raises(TypeError, match="TwoIn.*one input"):
        as_weights(TwoIn())


def test_numpy_path_does_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "from nntopo.polyhedral import polyhedral_complex\n"
        "rng = np.random.default_rng(0)\n"
        "polyhedral_complex([(rng.normal(size=(4, 2)), rng.normal(size=4)), (rng.normal(size=(1, 4)), np.zeros(1))])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
