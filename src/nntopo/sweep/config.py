"""A sweep's TOML config, read into frozen, checked objects before anything runs.

Tables: ``[data]`` (dataset, its parameters, the split, named input batches),
``[network]`` (the architecture: ``widths`` of nntopo's MLP or an importable ``module``
with its ``[network.kwargs]``; optionally ``checkpoints`` to load, see
:mod:`nntopo.sweep.networks`), ``[training]`` (seeds, optimiser, stop rule, snapshot
policy; absent when the networks are loaded) and one ``[analysis.NAME]`` table per analysis (see
:mod:`nntopo.sweep.analyses`). An unknown key, a value of the wrong type or an impossible
value is a :class:`ConfigError` naming the file, the key and what was expected.
:meth:`SweepConfig.resolved` is the config with every default filled in: it is stored
with the results and decides whether an output folder may be resumed.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from .._validation import check_bool, check_choice, check_int, check_real

__all__ = [
    "ConfigError",
    "Table",
    "BatchConfig",
    "DataConfig",
    "NetworkConfig",
    "SnapshotConfig",
    "TrainingConfig",
    "SweepConfig",
    "Snapshot",
    "load_config",
    "parse_config",
    "packaged_config",
    "PACKAGED_CONFIGS",
    "FILE_DATASETS",
]

#: The datasets a sweep can name, with the parameters each loader accepts.
DATASETS: dict[str, tuple[str, ...]] = {
    "nine_disks": ("step", "outer_radius", "ring_radius", "disk_radius", "margin"),
    "circles": ("n_samples", "noise", "factor", "seed"),
    "moons": ("n_samples", "noise", "seed"),
    "digits": (),
    # MNIST's IDX files in `directory` (never downloaded); split "train", "test" or "all" (both, train first).
    "mnist": ("directory", "split", "limit"),
    # The Duffing PINN's collocation points (nntopo.nets.DuffingPINN); trained with its PINN loss.
    "duffing": ("regime", "t_max", "x0_lo", "x0_hi", "v0", "ic_weight", "n_t", "n_x0"),
}

#: Datasets read from files in the folder ``[data.params] directory`` (or ``--data-dir``).
FILE_DATASETS = ("mnist",)

#: What a run without the MNIST files is pointed to: the same study on data bundled with scikit-learn.
_OFFLINE_HINT = ("Without MNIST, configs/digits_paper.toml runs the same study offline on scikit-learn's 8x8 "
                 "digits.")

#: Snapshot policies, in the order their snapshots are laid out along ``snapshot`` ("loaded":
#: the one snapshot of a loaded network).
SNAPSHOT_POLICIES = ("accuracy_threshold", "every_k", "at_epoch", "final", "loaded")

_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(ValueError):
    """A sweep config that cannot be used; the message names the file and the key."""


# --------------------------------------------------------------------------- reading tables


class Table:
    """One TOML table being read: typed getters that raise :class:`ConfigError`.

    Every getter removes its key from the pending set; :meth:`finish` refuses the keys
    nobody asked for, so a typo is never silently ignored. ``section`` is the dotted path
    of the table (``"training.snapshots"``), used in messages as ``section.key``.
    """

    def __init__(self, data: object, source: str, section: str) -> None:
        self.source = source
        self.section = section
        if not isinstance(data, Mapping):
            raise self.error(None, f"expected a table, got {type(data).__name__}")
        self.data = dict(data)
        self._pending = set(self.data)

    def error(self, key: str | None, message: str) -> ConfigError:
        """A :class:`ConfigError` ``"FILE: section.key: message"``."""
        where = ".".join(p for p in (self.section, key) if p) or "(top level)"
        return ConfigError(f"{self.source}: {where}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _take(self, key: str) -> Any:
        self._pending.discard(key)
        return self.data[key]

    def _check(self, key: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except (TypeError, ValueError) as exc:
            raise self.error(key, _strip_name(str(exc))) from None

    def int(self, key: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
        """An int (not a bool, not a float) in ``[minimum, maximum]``; ``default`` if absent (None: required)."""
        if not self.has(key):
            return self._default(key, default)
        value = self._take(key)
        return self._check(key, lambda: check_int(value, "value", minimum=minimum, maximum=maximum))

    def real(self, key: str, default: float | None = None, **bounds: Any) -> float:
        """A finite number (an int is taken as a float) within ``bounds`` (check_real's keywords)."""
        if not self.has(key):
            return self._default(key, default)
        value = self._take(key)
        return self._check(key, lambda: check_real(value, "value", **bounds))

    def bool(self, key: str, default: bool | None = None) -> bool:
        if not self.has(key):
            return self._default(key, default)
        value = self._take(key)
        return self._check(key, lambda: check_bool(value, "value"))

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        if not self.has(key):
            return self._default(key, default)
        value = self._take(key)
        return self._check(key, lambda: check_choice(value, "value", choices))

    def string(self, key: str, default: str | None = None) -> str:
        if not self.has(key):
            return self._default(key, default)
        value = self._take(key)
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        return value

    def list(self, key: str, item: Callable[[str, object], Any], default: tuple | None = None, *,
             min_len: int = 0) -> tuple:
        """A list whose entries are checked by ``item(name, value)`` (e.g. a _validation checker)."""
        if not self.has(key):
            return self._default(key, default)
        value = self._take(key)
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {value!r} ({type(value).__name__})")
        if len(value) < min_len:
            raise self.error(key, f"expected at least {min_len} entr{'y' if min_len == 1 else 'ies'}, got {value!r}")
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(f"{key}[{i}]", v))
            except (TypeError, ValueError) as exc:
                raise self.error(None, str(exc)) from None
        return tuple(out)

    def table(self, key: str, *, required: bool = False) -> Table:
        """The sub-table ``key`` (an empty one when absent and not required)."""
        if not self.has(key):
            if required:
                raise self.error(key, "missing table")
            return Table({}, self.source, f"{self.section}.{key}" if self.section else key)
        return Table(self._take(key), self.source, f"{self.section}.{key}" if self.section else key)

    def raw(self, key: str) -> Any:
        """The value of ``key`` unchecked (the caller checks it)."""
        return self._take(key)

    def _default(self, key: str, default: Any) -> Any:
        if default is None:
            raise self.error(key, "missing (this key has no default)")
        return default

    def finish(self, known: tuple[str, ...] | None = None) -> None:
        """Refuse every key not read so far, naming the keys that are allowed."""
        if self._pending:
            key = sorted(self._pending)[0]
            allowed = f"; the keys here are {', '.join(known)}" if known else ""
            raise self.error(key, f"unknown key{allowed}")


def _strip_name(message: str) -> str:
    """'value must be an int, got ...' -> 'must be an int, got ...' (the key is named by the caller)."""
    return message[len("value "):] if message.startswith("value ") else message


# --------------------------------------------------------------------------- the config objects


@dataclass(frozen=True)
class BatchConfig:
    """A named input batch: points of ``label`` (None: all classes) of the whole data set,
    thinned to every k-th lattice point (``every``), a random ``fraction`` or a random
    ``size`` (exactly that many points), drawn ``subsamples`` times.

    Subsample k of a random draw is seeded by child k of ``SeedSequence(seed)`` (so
    adding subsamples keeps the earlier ones), and every network of the sweep sees the
    same subsamples. ``every`` selects one fixed set: it allows one subsample only.
    """

    name: str
    label: int | None = None
    every: int | None = None
    fraction: float | None = None
    seed: int = 0
    size: int | None = None
    subsamples: int = 1

    def resolved(self) -> dict:
        return {"label": self.label, "every": self.every, "fraction": self.fraction, "size": self.size,
                "seed": self.seed, "subsamples": self.subsamples}


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: the dataset (a name of :data:`DATASETS`) and its parameters, the
    test fraction of each network's stratified split (seeded by the network's seed), and
    the named batches the analyses use."""

    dataset: str
    params: tuple[tuple[str, Any], ...] = ()
    test_fraction: float = 0.1
    batches: tuple[BatchConfig, ...] = ()

    def resolved(self) -> dict:
        return {"dataset": self.dataset, "params": dict(self.params), "test_fraction": self.test_fraction,
                "batches": {b.name: b.resolved() for b in self.batches}}


@dataclass(frozen=True)
class NetworkConfig:
    """``[network]``: the architecture, and where the weights come from.

    The architecture is ``widths`` (nntopo's MLP: layer widths, input first, output last,
    with the hidden ``activation``) or ``module`` (``"pkg.mod:function"``, a callable
    returning a torch ``nn.Module``, called with the JSON object ``kwargs``; imported from
    ``sys.path``, else from the folder ``module_path``). ``checkpoints`` are ``(absolute
    path, sha256)`` of state_dict files, one network each. ``weights_sha256``: the hash of
    the weights ``module`` returns, for a module without checkpoints. ``n_inputs`` and
    ``n_outputs`` are the input and output widths (from ``widths``, or measured on the
    data for a module).
    """

    widths: tuple[int, ...] | None = None
    activation: str = "relu"
    module: str | None = None
    kwargs: str = "{}"
    module_path: str | None = None
    checkpoints: tuple[tuple[str, str], ...] = ()
    weights_sha256: str | None = None
    n_inputs: int | None = None
    n_outputs: int | None = None

    def __post_init__(self) -> None:
        if self.widths is not None:
            object.__setattr__(self, "n_inputs", self.widths[0])
            object.__setattr__(self, "n_outputs", self.widths[-1])

    @property
    def loaded(self) -> bool:
        """True when the networks are loaded (checkpoints, or a module that returns them trained), not trained."""
        return self.module is not None or bool(self.checkpoints)

    @property
    def n_loaded(self) -> int:
        """Networks a loaded sweep has: one per checkpoint, or the one the module returns."""
        return max(1, len(self.checkpoints))

    def kwargs_dict(self) -> dict:
        return json.loads(self.kwargs)

    def describe(self) -> str:
        """A few words naming the network for messages: ``network.module 'pkg:fn'`` or ``nntopo's MLP [...]``."""
        if self.module is not None:
            return f"network.module {self.module!r}"
        return f"nntopo's MLP {list(self.widths)}"

    def resolved(self) -> dict:
        out: dict = {}
        if self.widths is not None:
            out.update(widths=list(self.widths), activation=self.activation)
        if self.module is not None:
            out.update(module=self.module, kwargs=self.kwargs_dict(), module_path=self.module_path)
        if self.checkpoints:
            out["checkpoints"] = [{"path": p, "sha256": h} for p, h in self.checkpoints]
        if self.weights_sha256 is not None:
            out["weights_sha256"] = self.weights_sha256
        return out


@dataclass(frozen=True)
class Snapshot:
    """One entry of the ``snapshot`` dimension: the policy that asks for it and its value."""

    policy: str
    threshold: float | None = None
    epoch: int | None = None


@dataclass(frozen=True)
class SnapshotConfig:
    """``[training.snapshots]``: accuracy ``thresholds`` (on ``metric``), ``every`` k epochs
    (from epoch 0), ``at_epochs`` and ``final`` (the last epoch trained, whatever its
    accuracy: the paper's "last threshold reached"); any combination, at least one snapshot."""

    thresholds: tuple[float, ...] = ()
    metric: str = "train_acc"
    every: int | None = None
    at_epochs: tuple[int, ...] = ()
    final: bool = False

    def resolved(self) -> dict:
        return {"thresholds": list(self.thresholds), "metric": self.metric, "every": self.every,
                "at_epochs": list(self.at_epochs), "final": self.final}


@dataclass(frozen=True)
class TrainingConfig:
    """``[training]``: one network per seed; Adam settings; stop rule; snapshots."""

    seeds: tuple[int, ...]
    epochs: int = 100
    lr: float = 1e-3
    batch_size: int = 128
    stop_at_accuracy: float | None = None
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)

    def resolved(self) -> dict:
        return {"seeds": list(self.seeds), "epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size,
                "stop_at_accuracy": self.stop_at_accuracy, "snapshots": self.snapshots.resolved()}


@dataclass(frozen=True)
class SweepConfig:
    """A whole sweep: data, network, training and the analyses (name -> their settings).

    ``training`` is None when the networks are loaded (``network.loaded``): then each
    network's first job is ``"load"`` instead of ``"train"`` and the snapshot axis has the
    one entry ``"loaded"``. ``source`` is where the config was read from (for messages);
    it is not part of the resolved config, so the same settings read from two files are
    the same sweep. ``parsed_network`` is the architecture built while parsing (for the
    analyses' parse functions); it is not compared and a config built by
    :func:`parse_config` does not keep it.
    """

    name: str
    data: DataConfig
    network: NetworkConfig
    training: TrainingConfig | None
    analyses: tuple[tuple[str, Any], ...] = ()
    source: str = field(default="<config>", compare=False)
    parsed_network: Any = field(default=None, compare=False, repr=False)

    @property
    def network_job(self) -> str:
        """The kind of each network's first job: "train" or "load"."""
        return "load" if self.network.loaded else "train"

    @property
    def n_networks(self) -> int:
        return self.network.n_loaded if self.training is None else len(self.training.seeds)

    @property
    def n_epochs(self) -> int:
        """Length of the ``epoch`` axis of the history: epochs + 1, or 1 for loaded networks
        (epoch 0: the loaded weights, evaluated)."""
        return 1 if self.training is None else self.training.epochs + 1

    @property
    def seeds(self) -> tuple[int, ...]:
        """Each network's seed (init, split, shuffling); -1 for a loaded network (nntopo did not seed it)."""
        return (-1,) * self.n_networks if self.training is None else self.training.seeds

    def split_seed(self, network: int) -> int:
        """The seed of network ``network``'s train/test split: its seed, or 0 for a loaded network
        (trained elsewhere, so every loaded network gets the same split)."""
        return 0 if self.training is None else self.training.seeds[network]

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        """The snapshot axis: thresholds, then every-k epochs, then requested epochs, then the final epoch;
        ("loaded",) when the networks are loaded."""
        if self.training is None:
            return (Snapshot("loaded", epoch=0),)
        s = self.training.snapshots
        out = [Snapshot("accuracy_threshold", threshold=t) for t in s.thresholds]
        if s.every is not None:
            out += [Snapshot("every_k", epoch=e) for e in range(0, self.training.epochs + 1, s.every)]
        out += [Snapshot("at_epoch", epoch=e) for e in s.at_epochs]
        if s.final:
            out.append(Snapshot("final"))
        return tuple(out)

    def analysis(self, name: str) -> Any:
        """The settings object of analysis ``name``."""
        return dict(self.analyses)[name]

    def resolved(self) -> dict:
        """The config with every default filled in, as JSON-ready data (no "training" when loaded)."""
        out = {"name": self.name, "data": self.data.resolved(), "network": self.network.resolved()}
        if self.training is not None:
            out["training"] = self.training.resolved()
        out["analysis"] = {name: settings.resolved() for name, settings in self.analyses}
        return json.loads(json.dumps(out))


# --------------------------------------------------------------------------- parsing


def network_summary(network: Mapping) -> str:
    """A few words naming the network of a resolved config's ``network`` table (as stored in
    ``sweep.json``): ``MLP widths [2, 15, 2]`` or ``module 'pkg.mod:fn'``, with the number of
    loaded checkpoints when there are any."""
    what = (f"module {network['module']!r}" if network.get("module") is not None
            else f"MLP widths {network.get('widths')}")
    n = len(network.get("checkpoints") or ())
    return what + (f", {n} loaded checkpoint{'s' if n != 1 else ''}" if n else "")


def _parse_data(table: Table) -> DataConfig:
    dataset = table.choice("dataset", tuple(DATASETS))
    params_table = table.table("params")
    allowed = DATASETS[dataset]
    params = []
    for key in sorted(params_table.data):
        if key not in allowed:
            raise params_table.error(key, f"not a parameter of {dataset} (its parameters: "
                                          f"{', '.join(allowed) or 'none'})")
        value = params_table.raw(key)
        if isinstance(value, (dict, list)):
            raise params_table.error(key, f"expected a number, got {value!r}")
        if key == "directory":
            if not isinstance(value, str) or not value:
                raise params_table.error(key, f"expected a folder (a non-empty string), got {value!r}")
            # Absolute, so every worker process (whatever its folder) reads the same files.
            value = os.path.abspath(os.path.expanduser(value))
        params.append((key, value))
    if dataset in FILE_DATASETS and "directory" not in params_table.data:
        raise params_table.error("directory", f"missing: the folder holding the {dataset} files (or give "
                                              f"--data-dir DIR). {_OFFLINE_HINT}")
    test_fraction = table.real("test_fraction", 0.1, minimum=0.0, maximum=1.0, min_inclusive=False,
                               max_inclusive=False)
    batches_table = table.table("batches")
    batches = []
    for name in sorted(batches_table.data):
        b = batches_table.table(name)
        given = [key for key in ("every", "fraction", "size") if b.has(key)]
        if len(given) != 1:
            raise b.error(given[1] if len(given) > 1 else None,
                          "give exactly one of every = K (every K-th lattice point), fraction = F or size = N "
                          f"(N points at random); got {' and '.join(given) or 'none'}")
        every = b.int("every", minimum=1) if b.has("every") else None
        fraction = b.real("fraction", minimum=0.0, maximum=1.0, min_inclusive=False) if b.has("fraction") else None
        size = b.int("size", minimum=1) if b.has("size") else None
        subsamples = b.int("subsamples", 1, minimum=1)
        if subsamples > 1 and every is not None:
            raise b.error("subsamples", f"subsamples = {subsamples} needs a random draw (fraction or size); "
                                        "every = K selects one fixed set of points")
        label = b.int("label", minimum=0) if b.has("label") else None
        batches.append(BatchConfig(name, label=label, every=every, fraction=fraction, seed=b.int("seed", 0, minimum=0),
                                   size=size, subsamples=subsamples))
        b.finish(("label", "every", "fraction", "size", "seed", "subsamples"))
    table.finish(("dataset", "params", "test_fraction", "batches"))
    return DataConfig(dataset, tuple(params), test_fraction, tuple(batches))


_NETWORK_KEYS = ("widths", "activation", "module", "kwargs", "module_path", "checkpoints", "weights_sha256")


def _parse_network(table: Table, base_dir: Path) -> tuple[NetworkConfig, Any]:
    """``[network]`` and the architecture it builds (an nn.Module; every checkpoint is loaded
    into it once, so a file that does not fit is refused here, naming it)."""
    from .networks import build_architecture, checkpoint_files, file_sha256, state_sha256

    if table.has("widths") == table.has("module"):
        raise table.error(None, 'give exactly one of widths = [d_in, ..., d_out] (nntopo\'s MLP) or module = '
                                '"pkg.mod:function" (a callable returning a torch nn.Module)')
    widths, module, kwargs, module_path = None, None, "{}", None
    if table.has("widths"):
        widths = table.list("widths", lambda n, v: check_int(v, n, minimum=1), min_len=3)
        activation = table.choice("activation", ("relu",), "relu")
        for key in ("kwargs", "module_path", "weights_sha256"):
            if table.has(key):
                raise table.error(key, "applies only to module = \"pkg.mod:function\", not to widths")
    else:
        if table.has("activation"):
            raise table.error("activation", "applies only to widths (nntopo's MLP); a module brings its own")
        activation = "relu"
        module = table.string("module")
        kw = table.table("kwargs")
        for key in sorted(kw.data):
            value = kw.raw(key)
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                raise kw.error(key, f"expected a number, string, boolean, list or table, got {value!r}") from None
        kwargs = json.dumps(kw.data, sort_keys=True)
        module_path = str((base_dir / table.string("module_path")).resolve() if table.has("module_path")
                          else base_dir.resolve())
    checkpoints: list[tuple[Path, str | None]] = []
    if table.has("checkpoints"):
        value = table.raw("checkpoints")
        entries = value if isinstance(value, list) else [value]
        if not entries:
            raise table.error("checkpoints", "is empty: give a file, a folder, or a list of files")
        for i, entry in enumerate(entries):
            where = f"checkpoints[{i}]" if isinstance(value, list) else "checkpoints"
            # a table {path, sha256} is how a resolved config records a file: its hash is trusted
            # here (the load job checks it), so a stored config reads back without the files
            pinned = isinstance(entry, Mapping)
            path = entry.get("path") if pinned else entry
            sha = entry.get("sha256") if pinned else None
            if pinned and (set(entry) != {"path", "sha256"} or not isinstance(sha, str)):
                raise table.error(where, f"expected {{path = \"FILE\", sha256 = \"HEX\"}}, got {entry!r}")
            if not isinstance(path, str) or not path:
                raise table.error(where, f"expected a path (a non-empty string), got {path!r}")
            full = (base_dir / os.path.expanduser(path)).resolve()
            if pinned:
                checkpoints.append((full, sha))
                continue
            if isinstance(value, list) and not full.is_file():  # a list names files, one network each
                raise table.error(where, f"checkpoint file not found: {full}")
            try:
                checkpoints += [(f, None) for f in checkpoint_files(full)]
            except (OSError, ValueError) as exc:
                raise table.error(where, str(exc)) from None
    pinned_weights = table.string("weights_sha256") if table.has("weights_sha256") else None
    if pinned_weights is not None and checkpoints:
        raise table.error("weights_sha256", "applies to a module without checkpoints (the checkpoints have their own "
                                            "hashes)")
    table.finish(_NETWORK_KEYS)
    network = NetworkConfig(widths, activation, module, kwargs, module_path)

    def build() -> Any:
        try:
            return build_architecture(network)
        except Exception as exc:  # the user's callable may raise anything; say which and where
            raise table.error("module", f"cannot build {module!r}: {type(exc).__name__}: {exc}") from None

    net = build()
    hashed = []
    for path, sha in checkpoints:
        if sha is None:
            from ..nets import load_weights

            try:
                sha = file_sha256(path)
                load_weights(net, path)
            except (OSError, ValueError) as exc:
                raise table.error("checkpoints", str(exc)) from None
        hashed.append((str(path), sha))
    weights = None
    if module is not None and not checkpoints:
        weights = pinned_weights or state_sha256(net.state_dict())
        if pinned_weights is None:
            # every job rebuilds the network: a callable that draws new weights each call
            # (unseeded init) would analyse another network in each job
            if state_sha256(build().state_dict()) != weights:
                raise table.error("module", f"{module!r} returned different weights on a second call; a network "
                                            "given by a module alone must be deterministic (seed its "
                                            "initialization or load trained weights in it)")
    return replace(network, checkpoints=tuple(hashed), weights_sha256=weights), net


def _parse_training(table: Table) -> TrainingConfig:
    if table.has("seeds") == table.has("networks"):
        raise table.error("seeds", "give exactly one of seeds = [s0, s1, ...] or networks = N (seeds 0..N-1)")
    if table.has("seeds"):
        seeds = table.list("seeds", lambda n, v: check_int(v, n, minimum=0, maximum=2**63 - 1), min_len=1)
        if len(set(seeds)) != len(seeds):
            raise table.error("seeds", f"seeds repeat ({list(seeds)}): two networks would be the same network")
    else:
        seeds = tuple(range(table.int("networks", minimum=1)))
    epochs = table.int("epochs", 100, minimum=0)
    lr = table.real("lr", 1e-3, minimum=0.0, min_inclusive=False)
    batch_size = table.int("batch_size", 128, minimum=1)
    stop = (table.real("stop_at_accuracy", minimum=0.0, maximum=1.0, min_inclusive=False)
            if table.has("stop_at_accuracy") else None)
    s = table.table("snapshots", required=True)
    thresholds = s.list("thresholds", lambda n, v: check_real(v, n, minimum=0.0, maximum=1.0), ())
    if any(b <= a for a, b in zip(thresholds, thresholds[1:])):
        raise s.error("thresholds", f"must be strictly increasing, got {list(thresholds)}")
    metric = s.choice("metric", ("train_acc", "test_acc"), "train_acc")
    every = s.int("every", minimum=1) if s.has("every") else None
    at_epochs = s.list("at_epochs", lambda n, v: check_int(v, n, minimum=0, maximum=epochs), ())
    if any(b <= a for a, b in zip(at_epochs, at_epochs[1:])):
        raise s.error("at_epochs", f"must be strictly increasing, got {list(at_epochs)}")
    final = s.bool("final", False)
    if not thresholds and every is None and not at_epochs and not final:
        raise s.error(None, "no snapshot: give thresholds, every, at_epochs or final = true")
    s.finish(("thresholds", "metric", "every", "at_epochs", "final"))
    table.finish(("seeds", "networks", "epochs", "lr", "batch_size", "stop_at_accuracy", "snapshots"))
    return TrainingConfig(seeds, epochs, lr, batch_size, stop,
                          SnapshotConfig(thresholds, metric, every, at_epochs, final))


def _check_data_fits(config_table: Table, data: DataConfig, network: NetworkConfig, net: Any) -> NetworkConfig:
    """Build the data set once: its parameters, batches and shape against the network.

    Returns ``network`` with its input and output widths (measured on the data for a module)."""
    from .data import load_dataset, make_batch

    try:
        dataset = load_dataset(data)
    except (TypeError, ValueError) as exc:
        raise config_table.error("data.params", str(exc)) from None
    except FileNotFoundError as exc:
        missing = str(exc).removeprefix("directory: ")
        raise config_table.error("data.params.directory", f"{missing}; put the files there or give --data-dir DIR "
                                                          f"(nothing is downloaded). {_OFFLINE_HINT}") from None
    # Classification: one output per class; regression (the PINN): one per target column.
    n_out = dataset.n_classes if dataset.y is not None else dataset.targets.shape[1]
    what = "classes" if dataset.y is not None else "outputs"
    if network.widths is not None:
        if dataset.X.shape[1] != network.widths[0]:
            raise config_table.error("network.widths", f"widths[0] is {network.widths[0]} but {data.dataset} has "
                                                       f"{dataset.X.shape[1]} input coordinates")
        if network.widths[-1] != n_out:
            raise config_table.error("network.widths", f"widths[-1] is {network.widths[-1]} but {data.dataset} has "
                                                       f"{n_out} {what}")
    else:
        from ..nets import capture

        try:
            out = capture(net, dataset.X[:8], layers=["output"])["output"]
        except (TypeError, ValueError) as exc:
            raise config_table.error("network.module", f"{network.module} cannot take the {data.dataset} inputs "
                                                       f"({dataset.X.shape[1]} coordinates): {exc}") from None
        if out.ndim != 2 or out.shape[1] != n_out:
            raise config_table.error("network.module", f"{network.module} outputs shape {out.shape[1:]} per point but "
                                                       f"{data.dataset} has {n_out} {what}")
        network = replace(network, n_inputs=int(dataset.X.shape[1]), n_outputs=n_out)
    for b in data.batches:
        try:
            make_batch(dataset, b)
        except (TypeError, ValueError) as exc:
            raise config_table.error(f"data.batches.{b.name}", str(exc)) from None
    return network


def parse_config(data: Mapping, source: str = "<config>", base_dir: str | os.PathLike | None = None) -> SweepConfig:
    """A :class:`SweepConfig` from parsed TOML; every error is a :class:`ConfigError` naming ``source`` and the key.

    A resolved config (:meth:`SweepConfig.resolved`, where None means "not set") reads
    back as the same config. Each ``[analysis.NAME]`` table is checked by the registered analysis ``NAME``
    (:func:`nntopo.sweep.analyses.get_analysis`), which sees the data, network and
    training settings already checked. Relative paths (``network.checkpoints``,
    ``network.module_path``) are relative to ``base_dir`` (default: the current folder;
    :func:`load_config`: the config file's folder) and recorded absolute.
    """
    from .analyses import available_analyses, get_analysis

    if isinstance(data, Mapping):
        data = _drop_none(data)
    top = Table(data, source, "")
    name = top.string("name", "sweep")
    data_cfg = _parse_data(top.table("data", required=True))
    base = Path.cwd() if base_dir is None else Path(base_dir)
    network, net = _parse_network(top.table("network", required=True), base)
    if network.loaded:
        if top.has("training"):
            keys = ", ".join(sorted(top.data["training"])) if isinstance(top.data["training"], Mapping) else ""
            raise top.error("training", f"the networks are loaded ({'network.checkpoints' if network.checkpoints else 'network.module'}"
                                        f"), not trained: [training] and its keys ({keys or 'none'}) would be "
                                        "ignored; remove the table")
        training = None
    else:
        training = _parse_training(top.table("training", required=True))
    network = _check_data_fits(top, data_cfg, network, net)
    partial = SweepConfig(name, data_cfg, network, training, (), source, parsed_network=net)
    analyses_table = top.table("analysis", required=True)
    if not analyses_table.data:
        raise analyses_table.error(None, f"no analysis: add at least one [analysis.NAME] table "
                                         f"(NAME one of {', '.join(available_analyses())})")
    analyses = []
    for key in sorted(analyses_table.data):
        try:
            analysis = get_analysis(key)
        except KeyError:
            raise analyses_table.error(key, f"unknown analysis; the registered analyses are "
                                            f"{', '.join(available_analyses())}") from None
        table = analyses_table.table(key)
        settings = analysis.parse(table, partial)
        table.finish()
        analyses.append((key, settings))
    top.finish(("name", "data", "network", "training", "analysis"))
    return SweepConfig(name, data_cfg, network, training, tuple(analyses), source)


def _drop_none(data: Mapping) -> dict:
    """``data`` without None values: TOML has no null, a resolved config writes None for "not set"."""
    return {k: _drop_none(v) if isinstance(v, Mapping) else v for k, v in data.items() if v is not None}


#: Configs shipped inside the package (``nntopo run demo`` or ``configs/demo.toml``): every
#: TOML file of ``nntopo/configs``, so a config added there is found by name with no list
#: to keep in step.
PACKAGED_CONFIGS = tuple(sorted(p.stem for p in _CONFIG_DIR.glob("*.toml")))


def packaged_config(name: str) -> Path:
    """The path of a config shipped with nntopo, by name (``"demo"``, ``"nine_disks_paper"``, ...)."""
    name = check_choice(name, "name", PACKAGED_CONFIGS)
    return _CONFIG_DIR / f"{name}.toml"


def _locate(path: str | os.PathLike) -> Path:
    """``path`` itself if it exists; else a packaged config named like it (``configs/demo.toml``, ``demo``)."""
    p = Path(path)
    if p.exists():
        return p
    stem = p.name[:-5] if p.name.endswith(".toml") else p.name
    if stem in PACKAGED_CONFIGS and (p.parent == Path(".") or p.parent.name == "configs"):
        return packaged_config(stem)
    raise FileNotFoundError(f"config file not found: {path} (packaged configs: "
                            f"{', '.join(f'configs/{c}.toml' for c in PACKAGED_CONFIGS)})")


def load_config(path: str | os.PathLike, *, data_dir: str | os.PathLike | None = None) -> SweepConfig:
    """Read and check a sweep config from a TOML file.

    ``path`` may also name a packaged config (``configs/demo.toml`` or ``demo``) when no
    such file exists here, so the shipped configs work from any folder. ``data_dir``
    (``nntopo run --data-dir``) replaces ``[data.params] directory`` of a dataset read
    from files (:data:`FILE_DATASETS`); a relative folder, here or in the file, is taken
    from the current folder and stored absolute. A missing config file is a
    ``FileNotFoundError``; anything wrong inside it (missing data files included) a
    :class:`ConfigError` naming the file and the key.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"config must be a path to a TOML file, got {type(path).__name__}")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a folder (str or os.PathLike) or None, got {type(data_dir).__name__}")
    p = _locate(path)
    if not p.is_file():
        raise ConfigError(f"{p}: not a file")
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the config ({exc})") from None
    if data_dir is not None:
        section = data.get("data")
        if isinstance(section, dict) and section.get("dataset") in FILE_DATASETS:
            params = section.setdefault("params", {})
            if isinstance(params, dict):
                params["directory"] = os.fspath(data_dir)
        elif isinstance(section, dict) and isinstance(section.get("dataset"), str):
            raise ConfigError(f"{p}: data.dataset: a data folder was given (--data-dir), but "
                              f"{section['dataset']} reads no files (only {', '.join(FILE_DATASETS)} do)")
    return parse_config(data, source=str(p), base_dir=p.parent)

