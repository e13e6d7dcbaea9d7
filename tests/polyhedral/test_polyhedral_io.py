"""save/load of a polyhedral complex: exact round trips, and every corrupt file refused.

Issue 8, item 7: a file with counts [5, 5, 5], NaN weights or swapped lo/hi loaded; an
index out of range failed deep inside scipy. A file is now validated on load, and every
problem is a ValueError that names the file.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nntopo.polyhedral import PolyhedralComplex, polyhedral_complex


def random_net(widths, seed):
    rng = np.random.default_rng(seed)
    pairs = []
    for i, o in zip(widths[:-1], widths[1:]):
        bound = 1.0 / np.sqrt(i)
        pairs.append((rng.uniform(-bound, bound, (o, i)), rng.uniform(-bound, bound, o)))
    return pairs


def assert_same_complex(a: PolyhedralComplex, b: PolyhedralComplex) -> None:
    np.testing.assert_array_equal(a.f_vector, b.f_vector)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.edges, b.edges)
    np.testing.assert_array_equal(a.lo, b.lo)
    np.testing.assert_array_equal(a.hi, b.hi)
    assert a.tol == b.tol
    assert len(a.weights) == len(b.weights)
    for (Wa, ba), (Wb, bb) in zip(a.weights, b.weights):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    for k in range(a.dim + 1):
        np.testing.assert_array_equal(a.signs(k), b.signs(k))
        assert a.signs(k).dtype == b.signs(k).dtype == np.int8
        assert a.boundary(k).shape == b.boundary(k).shape
        assert (a.boundary(k) != b.boundary(k)).nnz == 0


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[PolyhedralComplex, dict[str, np.ndarray]]:
    """A small 2-D complex and the arrays of its saved file."""
    pc = polyhedral_complex(random_net([2, 6, 5, 1], 0), box=(-2.0, 1.5))
    path = tmp_path_factory.mktemp("io") / "good.npz"
    pc.save(path)
    with np.load(path) as z:
        arrays = {k: z[k].copy() for k in z.files}
    return pc, arrays


def write_variant(arrays: dict[str, np.ndarray], path: Path, edit: Callable[[dict], None]) -> Path:
    a = {k: v.copy() for k, v in arrays.items()}
    edit(a)
    np.savez(path, **a)
    return path


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("widths, box", [([1, 5, 4, 1], (-3, 2)), ([2, 8, 6, 1], None), ([3, 6, 4, 1], (-2, 1))])
def test_round_trip_is_exact(tmp_path, widths, box):
    pc = polyhedral_complex(random_net(widths, 6), box=box)
    path = tmp_path / "pc.npz"
    pc.save(path)
    back = PolyhedralComplex.load(path)
    assert_same_complex(pc, back)
    P = np.random.default_rng(1).uniform(-2, 1, (300, widths[0]))
    np.testing.assert_array_equal(back.region_of(P), pc.region_of(P))
    np.testing.assert_array_equal(back.interior_points, pc.interior_points)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), h1=st.integers(1, 8), h2=st.integers(1, 8))
def test_round_trip_property(tmp_path_factory, seed, h1, h2):
    pc = polyhedral_complex(random_net([2, h1, h2, 1], seed))
    path = tmp_path_factory.mktemp("prop") / "pc.npz"
    pc.save(path)
    assert_same_complex(pc, PolyhedralComplex.load(path))


def test_save_writes_exactly_the_given_path(tmp_path):
    """np.savez_compressed appends .npz to a bare name; save must not, or load(name) fails."""
    pc = polyhedral_complex(random_net([2, 4, 1], 1))
    path = tmp_path / "complex.bin"
    pc.save(path)
    assert path.exists() and not (tmp_path / "complex.bin.npz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["complex.bin"]  # no temporary left
    assert_same_complex(pc, PolyhedralComplex.load(str(path)))


def test_load_check_is_keyword_only_bool(tmp_path):
    pc = polyhedral_complex(random_net([2, 4, 1], 1))
    pc.save(tmp_path / "a.npz")
    with pytest.raises(TypeError):
        PolyhedralComplex.load(tmp_path / "a.npz", False)  # type: ignore[misc]
    with pytest.raises(TypeError, match="check"):
        PolyhedralComplex.load(tmp_path / "a.npz", check=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        PolyhedralComplex.load(3.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- corrupt files


def _set(key, value):
    return lambda a: a.__setitem__(key, value)


def _poke(key, index, value):
    return lambda a: a[key].__setitem__(index, value)


def _drop(key):
    return lambda a: a.pop(key)


CORRUPTIONS = {
    # the findings of the issue
    "counts_555": (_set("counts", np.array([5, 5, 5])), "counts"),
    "nan_weight": (_poke("W0", (0, 0), np.nan), "W0.*NaN"),
    "lo_hi_swapped": (lambda a: a.update(lo=a["hi"].copy(), hi=a["lo"].copy()), "lo < hi"),
    "edge_out_of_range": (_poke("edges", (0, 0), 10**6), "edges has indices"),
    # counts against the arrays
    "one_region_too_many": (lambda a: a["counts"].__setitem__(2, a["counts"][2] + 1), "facets"),
    "one_vertex_too_few": (lambda a: a["counts"].__setitem__(0, a["counts"][0] - 1), "counts"),
    "counts_too_short": (_set("counts", np.array([4, 4])), "counts must have shape"),
    "counts_float": (lambda a: a.__setitem__("counts", a["counts"].astype(float)), "counts must hold integers"),
    # indices
    "negative_edge": (_poke("edges", (3, 1), -1), "edges has indices"),
    "facet_out_of_range": (_poke("pairs2_facets", 0, 10**6), "pairs2_facets has indices"),
    "cell_out_of_range": (_poke("pairs2_cells", 0, 10**6), "pairs2_cells has indices"),
    "pairs_lengths_differ": (lambda a: a.__setitem__("pairs2_facets", a["pairs2_facets"][:-1]), "pairs2_facets must have shape"),
    "edges_wrong_shape": (lambda a: a.__setitem__("edges", a["edges"].ravel()), "edges must have shape"),
    # signs
    "sign_two": (_poke("vertex_signs", (0, 0), 2), "vertex_signs must hold only"),
    "signs_wrong_width": (lambda a: a.__setitem__("vertex_signs", a["vertex_signs"][:, :-1]), "vertex_signs has"),
    "signs_float": (lambda a: a.__setitem__("vertex_signs", a["vertex_signs"].astype(float)), "vertex_signs must hold integers"),
    # numbers
    "inf_vertex": (_poke("vertices", (0, 0), np.inf), "vertices contains"),
    "vertex_outside_box": (_poke("vertices", (0, 0), 50.0), "outside the box"),
    "vertices_1d": (lambda a: a.__setitem__("vertices", a["vertices"].ravel()), "vertices must have shape"),
    "vertices_strings": (lambda a: a.__setitem__("vertices", a["vertices"].astype(str)), "vertices must hold floats"),
    "nan_lo": (_poke("lo", 0, np.nan), "lo contains"),
    "lo_wrong_length": (lambda a: a.__setitem__("lo", np.zeros(5)), "lo must have shape"),
    "tol_negative": (_set("tol", np.array(-1e-10)), "tol must be >"),
    "tol_nan": (_set("tol", np.array(np.nan)), "tol must be a finite"),
    "tol_huge": (_set("tol", np.array(1e30)), "tol must be <"),
    "tol_text": (_set("tol", np.array("small")), "tol must be a float scalar"),
    # weights
    "weights_do_not_chain": (lambda a: a.__setitem__("W1", a["W1"][:, :-1]), "input columns"),
    "bias_wrong_shape": (lambda a: a.__setitem__("b0", a["b0"][:-1]), r"b must have shape"),
    "weights_wrong_input_dim": (lambda a: a.__setitem__("W0", np.ones((6, 3))), "takes 3 inputs"),
    "hidden_widths_do_not_match_signs": (
        lambda a: a.update(W1=a["W1"][:-1], b1=a["b1"][:-1], W2=a["W2"][:, :-1]), "vertex_signs has"),
    "n_layers_zero": (_set("n_layers", np.array(0)), "n_layers must be >= 1"),
    "n_layers_too_many": (_set("n_layers", np.array(7)), "missing the entry 'W3'"),
    # keys and format
    "missing_edges": (_drop("edges"), "missing the entry 'edges'"),
    "missing_W1": (_drop("W1"), "missing the entry 'W1'"),
    "missing_format": (_drop("format"), "no 'format' entry"),
    "format_2": (_set("format", np.array(2)), "unsupported polyhedral complex format 2"),
    "format_text": (_set("format", np.array("1")), "format must be an integer scalar"),
    "unexpected_entry": (_set("pairs3_cells", np.zeros(3, dtype=np.int64)), "unexpected entries"),
    "object_array": (lambda a: a.__setitem__("lo", np.array([1, "x"], dtype=object)), "cannot read the entry 'lo'.*pickled"),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupt_file_is_a_value_error_naming_the_file(tmp_path, saved, name):
    edit, what = CORRUPTIONS[name]
    path = write_variant(saved[1], tmp_path / f"{name}.npz", edit)
    with pytest.raises(ValueError, match=re.escape(str(path))) as info:
        PolyhedralComplex.load(path)
    assert re.search(what, str(info.value)), str(info.value)


def test_consistent_but_invalid_complex_fails_check(tmp_path, saved):
    """An edge moved to other (in-range) vertices passes every array check; the complex's
    own check (boundary of boundary) catches it, and check="none" skips that check."""
    pc, arrays = saved
    E = arrays["edges"]
    # Pick an edge and a vertex not on it, and re-attach the edge's second end there.
    v = next(v for v in range(pc.f_vector[0]) if v not in E[0])

    def move(a):
        a["edges"][0, 1] = v

    path = write_variant(arrays, tmp_path / "moved.npz", move)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*self-check"):
        PolyhedralComplex.load(path)
    loaded = PolyhedralComplex.load(path, check="none")
    assert loaded.f_vector.tolist() == pc.f_vector.tolist()


def test_truncated_file(tmp_path, saved):
    good = tmp_path / "good.npz"
    saved[0].save(good)
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=re.escape(str(path))):
            PolyhedralComplex.load(path)


def test_corrupt_member(tmp_path, saved):
    """A zip whose directory is intact but whose compressed data is damaged."""
    good = tmp_path / "good.npz"
    saved[0].save(good)
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("vertices.npy")
    data = bytearray(good.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    for i in range(start, start + 40):
        data[i] ^= 0xFF
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        PolyhedralComplex.load(path)


def test_files_that_are_not_a_saved_complex(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(3))
    for path in (text, empty, npy, other):
        with pytest.raises(ValueError, match=re.escape(str(path))):
            PolyhedralComplex.load(path)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        PolyhedralComplex.load(tmp_path)  # a directory


def test_missing_file(tmp_path):
    path = tmp_path / "missing.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        PolyhedralComplex.load(path)
