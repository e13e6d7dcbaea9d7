"""nets.load_weights (a user's state_dict file, read with weights_only) and nets.default_layers."""

import ast
import os
from pathlib import Path

import pytest
import torch
from torch import nn

import nntopo
from nntopo.nets import MLP, capture, default_layers, load_weights


def test_load_weights_round_trip(tmp_path):
    src, dst = MLP([2, 5, 3], seed=1), MLP([2, 5, 3], seed=2)
    torch.save(src.state_dict(), tmp_path / "w.pt")
    assert load_weights(dst, tmp_path / "w.pt") is dst
    for (ka, a), (kb, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert ka == kb and torch.equal(a, b)


def test_load_weights_refusals_name_the_file(tmp_path):
    net = MLP([2, 5, 3])
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_weights(net, tmp_path / "nope.pt")
    torch.save(MLP([2, 4, 3]).state_dict(), tmp_path / "shape.pt")
    with pytest.raises(ValueError, match=r"(?s)shape\.pt does not fit this MLP: .*size mismatch"):
        load_weights(net, tmp_path / "shape.pt")
    torch.save(nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 3)).state_dict(), tmp_path / "keys.pt")
    with pytest.raises(ValueError, match=r"(?s)keys\.pt does not fit this MLP: .*Missing key"):
        load_weights(net, tmp_path / "keys.pt")
    torch.save([torch.zeros(3)], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list\.pt: not a state_dict .*got list"):
        load_weights(net, tmp_path / "list.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip nor a pickle")
    with pytest.raises(ValueError, match=r"junk\.pt: not a readable checkpoint"):
        load_weights(net, tmp_path / "junk.pt")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        load_weights("net", tmp_path / "keys.pt")
    with pytest.raises(TypeError, match="path must be a str"):
        load_weights(net, 3)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what an attacker's pickle would run on load
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_that_builds_objects_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"linear1.weight": _Evil(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil\.pt: not a readable checkpoint \(UnpicklingError"):
        load_weights(MLP([2, 5, 3]), tmp_path / "evil.pt")
    assert not marker.exists()


def test_every_torch_load_in_nntopo_is_weights_only():
    """A grep that understands Python: each call of torch.load in the package passes weights_only=True."""
    calls = 0
    for path in Path(nntopo.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                calls += 1
                kw = {k.arg: k.value for k in node.keywords}
                assert isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True, \
                    f"{path}:{node.lineno}: torch.load without weights_only=True"
    assert calls >= 1


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin, self.act, self.gate, self.out = nn.Linear(2, 3), nn.ReLU(), nn.Sigmoid(), nn.Linear(3, 2)

    def forward(self, x):
        return self.out(self.act(self.lin(x)) * self.gate(self.lin(x)))


def test_default_layers_of_any_module():
    assert default_layers(MLP([2, 4, 4, 2])) == ["input", "relu1", "relu2", "output"]
    assert default_layers(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))) == ["input", "output"]
    assert default_layers(_Block()) == ["input", "act", "output"]
    # capture's default is the same list
    assert list(capture(_Block(), torch.zeros(4, 2))) == default_layers(_Block())
