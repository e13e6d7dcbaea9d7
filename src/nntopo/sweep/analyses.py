"""The analyses a sweep can run on each snapshot, and the registry that names them.

An :class:`Analysis` is four things:

* ``parse(table, config)``: reads and checks its ``[analysis.NAME]`` table (a
  :class:`~nntopo.sweep.config.Table`; raise ``table.error(key, message)``) against the
  already-checked data/network/training settings, and returns a frozen settings object
  with a ``resolved() -> dict`` method (stored with the results);
* ``layout(settings, config)``: the output variables (:class:`Variable`: name, dims
  after ``(network, snapshot)``, dtype, fill value) and the coordinates of those dims,
  all computable from the config alone, so the store is laid out before any job runs;
* ``compute(settings, config, network, snapshot, net, data)``: a pure function of the
  settings, the network id, the snapshot index, the loaded torch network and the sweep's
  data (:class:`~nntopo.sweep.data.SweepData`) returning ``{variable name: numpy array}``
  of exactly the declared shapes;
* ``name`` and a one-line ``description``.

:func:`register_analysis` adds one; the engine (store, jobs, executors, run) knows
analyses only through this registry, so a new study adds an analysis by defining and
registering it in a module that is imported with nntopo (for nntopo's own analyses: this
module), never by touching the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from .._validation import check_real
from .config import SweepConfig, Table

if TYPE_CHECKING:
    from .data import SweepData

__all__ = [
    "Analysis",
    "Layout",
    "Variable",
    "available_analyses",
    "get_analysis",
    "register_analysis",
    "LandscapeSettings",
    "PolyhedralSettings",
    "polyhedral_box",
    "parse_complex_box",
    "check_linear_relu_chain",
    "LANDSCAPES",
    "POLYHEDRAL",
]


@dataclass(frozen=True)
class Variable:
    """One output array of an analysis, stored with dims ``("network", "snapshot", *dims)``.

    ``dtype`` is a numpy dtype name ("float64", "int64"); ``fill`` is what the store
    holds where the piece has not been computed (NaN for floats, e.g. -1 for counts).
    """

    name: str
    dims: tuple[str, ...]
    dtype: str
    fill: float | int
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """The variables of an analysis and the coordinates (1-d arrays) of every dim they use."""

    variables: tuple[Variable, ...]
    coords: Mapping[str, np.ndarray]

    def shape(self, variable: Variable) -> tuple[int, ...]:
        """Shape of one piece of ``variable`` (its dims after network and snapshot)."""
        return tuple(len(self.coords[d]) for d in variable.dims)


@dataclass(frozen=True)
class Analysis:
    """A registered analysis: see the module docstring for the contract of each part."""

    name: str
    description: str
    parse: Callable[[Table, SweepConfig], Any]
    layout: Callable[[Any, SweepConfig], Layout]
    compute: Callable[[Any, SweepConfig, int, int, Any, "SweepData"], dict[str, np.ndarray]]


_REGISTRY: dict[str, Analysis] = {}


def register_analysis(analysis: Analysis) -> Analysis:
    """Register ``analysis`` under its name and return it; a second, different analysis of that name is refused."""
    if not isinstance(analysis, Analysis):
        raise TypeError(f"analysis must be an nntopo.sweep.analyses.Analysis, got {type(analysis).__name__}")
    if not analysis.name.isidentifier():
        raise ValueError(f"analysis.name must be an identifier (it names a config table), got {analysis.name!r}")
    existing = _REGISTRY.get(analysis.name)
    if existing is not None and existing != analysis:
        raise ValueError(f"an analysis named {analysis.name!r} is already registered ({existing.description})")
    _REGISTRY[analysis.name] = analysis
    return analysis


def _import_studies() -> None:
    """Import every module of :mod:`nntopo.studies`: each registers its analyses.

    Done on lookup, not at import of this module, because the study modules import this
    one; a module already imported is not run again.
    """
    import importlib
    import pkgutil

    from .. import studies

    for info in pkgutil.iter_modules(studies.__path__):
        importlib.import_module(f"{studies.__name__}.{info.name}")


def get_analysis(name: str) -> Analysis:
    """The registered analysis ``name`` (``KeyError`` if there is none)."""
    if name not in _REGISTRY:
        _import_studies()
    return _REGISTRY[name]


def available_analyses() -> list[str]:
    """Names of the registered analyses, sorted."""
    _import_studies()
    return sorted(_REGISTRY)


# --------------------------------------------------------------------------- activation landscapes


@dataclass(frozen=True)
class LandscapeSettings:
    """``[analysis.landscapes]``: H_q landscapes of chosen layers on a named batch.

    ``batch`` (a name of ``[data.batches]``; each of its subsamples is analysed, along the
    ``subsample`` dim), ``hom_dim`` (the degree q, 0..2),
    ``homology`` ("plain" or "local" normalization), ``grid`` ``[t_min, t_max, step]``
    in normalized distance units (both ends included), ``levels`` (landscape levels
    kept, zero-padded), ``layers`` (names ``nets.capture`` accepts: "input", the module
    names of ``named_modules()``, "output"; default: input, every ``nn.ReLU`` module,
    output, for nntopo's MLP and a user's module alike), ``keep_infinite`` (cut infinite bars at t_max instead of dropping
    them), ``backend`` (Rips backend of ``rips_persistence``).
    """

    batch: str
    hom_dim: int
    homology: str
    grid: tuple[float, float, float]
    levels: int
    layers: tuple[str, ...]
    keep_infinite: bool
    backend: str

    def resolved(self) -> dict:
        return {"batch": self.batch, "hom_dim": self.hom_dim, "homology": self.homology, "grid": list(self.grid),
                "levels": self.levels, "layers": list(self.layers), "keep_infinite": self.keep_infinite,
                "backend": self.backend}


def _parse_landscapes(table: Table, config: SweepConfig) -> LandscapeSettings:
    from ..landscapes import BACKENDS, Grid

    batches = [b.name for b in config.data.batches]
    if not batches:
        raise table.error("batch", "needs a named batch, and [data.batches] defines none")
    batch = table.choice("batch", tuple(batches), batches[0] if len(batches) == 1 else None)
    hom_dim = table.int("hom_dim", 1, minimum=0, maximum=2)
    homology = table.choice("homology", ("plain", "local"), "plain")
    grid = table.list("grid", lambda n, v: check_real(v, n), (0.0, 1.0, 0.001))
    if len(grid) != 3:
        raise table.error("grid", f"expected [t_min, t_max, step], got {list(grid)}")
    try:
        Grid(*grid)
    except ValueError as exc:
        raise table.error("grid", str(exc)) from None
    levels = table.int("levels", 5, minimum=1)
    layers = _parse_layers(table, config)
    keep_infinite = table.bool("keep_infinite", False)
    backend = table.choice("backend", tuple(BACKENDS), "auto")
    return LandscapeSettings(batch, hom_dim, homology, tuple(grid), levels, tuple(layers), keep_infinite, backend)


def _parse_layers(table: Table, config: SweepConfig) -> tuple[str, ...]:
    """``layers``: names of the network's layers (any module: nntopo's MLP or the user's), checked by
    capturing them once on a few data points, so a layer that does not run, runs twice or returns no
    tensor is refused here and not in a job."""
    from ..nets import capturable_layers, capture, default_layers
    from .data import load_dataset
    from .networks import architecture

    net = architecture(config)
    allowed = capturable_layers(net)
    layers = table.list("layers", lambda n, v: v, tuple(default_layers(net)), min_len=1)
    for i, name in enumerate(layers):
        if name not in allowed:
            raise table.error(f"layers[{i}]", f"{name!r} is not a layer of this network; its layers are "
                                              f"{', '.join(allowed)}")
    if len(set(layers)) != len(layers):
        raise table.error("layers", f"names repeat: {list(layers)}")
    if config.network.module is not None:
        try:
            capture(net, load_dataset(config.data).X[:4], layers=list(layers))
        except (TypeError, ValueError) as exc:
            raise table.error("layers", f"{config.network.describe()}: {exc}") from None
    return tuple(layers)


def _subsamples(s: LandscapeSettings, config: SweepConfig) -> int:
    return next(b.subsamples for b in config.data.batches if b.name == s.batch)


def _layout_landscapes(s: LandscapeSettings, config: SweepConfig) -> Layout:
    from ..landscapes import Grid

    attrs = {"hom_dim": s.hom_dim, "homology": s.homology, "grid": list(s.grid), "batch": s.batch,
             "keep_infinite": int(s.keep_infinite), "units": "normalized distance (diameter 1 for plain)"}
    return Layout(
        variables=(
            Variable("landscape", ("subsample", "layer", "level", "t"), "float64", np.nan, attrs),
            Variable("landscape_norm", ("subsample", "layer"), "float64", np.nan, {**attrs, "p": 2}),
        ),
        coords={"subsample": np.arange(_subsamples(s, config)), "layer": np.array(s.layers),
                "level": np.arange(1, s.levels + 1), "t": Grid(*s.grid).points()},
    )


def _compute_landscapes(s: LandscapeSettings, config: SweepConfig, network: int, snapshot: int, net: Any,
                        data: "SweepData") -> dict[str, np.ndarray]:
    from ..landscapes import norms_per_layer
    from ..nets import activation_landscape, capture

    landscapes, norms = [], []
    for subsample in data.batches[s.batch]:
        acts = capture(net, subsample.X, layers=list(s.layers))
        al = activation_landscape(net, acts, hom_dim=s.hom_dim, homology=s.homology, grid=s.grid, levels=s.levels,
                                  keep_infinite=s.keep_infinite, backend=s.backend)
        landscapes.append(np.stack([ls.padded(s.levels) for ls in al.layers]))
        norms.append(np.asarray(norms_per_layer(al), dtype=np.float64))
    return {"landscape": np.stack(landscapes), "landscape_norm": np.stack(norms)}


LANDSCAPES = register_analysis(Analysis(
    name="landscapes",
    description="activation landscapes (Vietoris-Rips H_q, plain or local homology) of chosen layers on a batch",
    parse=_parse_landscapes, layout=_layout_landscapes, compute=_compute_landscapes,
))


# --------------------------------------------------------------------------- polyhedral complex


@dataclass(frozen=True)
class PolyhedralSettings:
    """``[analysis.polyhedral]``: the exact complex of the network on a box.

    ``box``: ``[lo, hi]`` (the same interval in every input coordinate) or ``"data"``
    (default: the data set's bounding box). Input dimension at most 3.
    """

    box: tuple[float, float] | str

    def resolved(self) -> dict:
        return {"box": self.box if isinstance(self.box, str) else list(self.box)}


def parse_complex_box(table: Table, config: SweepConfig, default: tuple[float, float] | str) -> tuple[float, float] | str:
    """The ``box`` key of an analysis that builds the polyhedral complex: ``"data"`` or
    ``[lo, hi]`` with ``lo < hi`` (every input coordinate), ``default`` when absent; and
    the network checked: its forward a Linear/ReLU chain (:func:`check_linear_relu_chain`),
    its input dimension at most 3 (the complex's size grows fast with it). Errors name the
    table and the key."""
    check_linear_relu_chain(table, config)
    d = config.network.n_inputs
    if d > 3:
        raise table.error(None, f"the complex is computed for inputs of dimension <= 3; this network takes {d}")
    if not table.has("box"):
        return default
    if isinstance(table.data["box"], str):
        return table.choice("box", ("data",))
    box = table.list("box", lambda n, v: check_real(v, n))
    if len(box) != 2 or not box[0] < box[1]:
        raise table.error("box", f'expected [lo, hi] with lo < hi, or "data"; got {list(box)}')
    return box


def check_linear_relu_chain(table: Table, config: SweepConfig) -> None:
    """Refuse, as an error of ``table``, a network whose forward is not a Linear/ReLU chain.

    The polyhedral views are exact only for ``x -> Linear -> ReLU -> ... -> Linear``; the
    network's forward is traced with torch.fx (``polyhedral.as_weights``) and the message
    names the first module or operation that breaks the chain (a Tanh, a residual sum).
    """
    from ..polyhedral import as_weights
    from .networks import architecture

    try:
        as_weights(architecture(config))
    except (TypeError, ValueError) as exc:  # not a chain; or weights that are not finite
        # as_weights' advice to pass (W, b) pairs does not apply to a config
        message = str(exc).removeprefix("net_or_weights: ").split("; pass such a module or a list of")[0]
        raise table.error(None, f"{config.network.describe()} cannot be analysed here: {message} (the landscapes "
                                "analysis takes any module)") from None


def _parse_polyhedral(table: Table, config: SweepConfig) -> PolyhedralSettings:
    box = parse_complex_box(table, config, "data")
    return PolyhedralSettings(box)


def polyhedral_box(s: PolyhedralSettings, data: "SweepData") -> tuple[np.ndarray, np.ndarray]:
    """The box ``(lo (d,), hi (d,))`` of the polyhedral analysis, in input units."""
    if s.box == "data":
        X = data.dataset.X.astype(np.float64)
        return X.min(axis=0), X.max(axis=0)
    d = data.dataset.X.shape[1]
    return np.full(d, s.box[0]), np.full(d, s.box[1])


def _layout_polyhedral(s: PolyhedralSettings, config: SweepConfig) -> Layout:
    d = config.network.n_inputs
    attrs = {"box": s.resolved()["box"]}
    return Layout(
        variables=(
            Variable("f_vector", ("cell_dim",), "int64", -1, {**attrs, "description": "cells of each dimension"}),
            Variable("euler_characteristic", (), "int64", -1, attrs),
        ),
        coords={"cell_dim": np.arange(d + 1)},
    )


def _compute_polyhedral(s: PolyhedralSettings, config: SweepConfig, network: int, snapshot: int, net: Any,
                        data: "SweepData") -> dict[str, np.ndarray]:
    from ..polyhedral import polyhedral_complex

    cx = polyhedral_complex(net, box=polyhedral_box(s, data))
    return {"f_vector": np.asarray(cx.f_vector, dtype=np.int64),
            "euler_characteristic": np.asarray(cx.euler_characteristic(), dtype=np.int64)}


POLYHEDRAL = register_analysis(Analysis(
    name="polyhedral",
    description="exact polyhedral complex on a box: f-vector and Euler characteristic (inputs of dimension <= 3)",
    parse=_parse_polyhedral, layout=_layout_polyhedral, compute=_compute_polyhedral,
))
