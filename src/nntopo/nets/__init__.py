"""Networks, activation capture and training with snapshots (the only torch-facing subpackage)."""

from .capture import activation_landscape, capturable_layers, capture, default_layers
from .mlp import MLP
from .monitor import TopologyMonitor, load_monitor
from .pinn import DuffingPINN, duffing_pinn_loss, duffing_residuals
from .train import (
    AccuracyThresholds,
    AtEpochs,
    EveryKEpochs,
    FinalEpoch,
    SnapshotPolicy,
    TrainConfig,
    TrainResult,
    load_checkpoint,
    load_manifest,
    load_weights,
    train,
)

__all__ = [
    "MLP",
    "activation_landscape",
    "capture",
    "capturable_layers",
    "default_layers",
    "train",
    "TrainConfig",
    "TrainResult",
    "SnapshotPolicy",
    "AccuracyThresholds",
    "EveryKEpochs",
    "AtEpochs",
    "FinalEpoch",
    "load_manifest",
    "load_checkpoint",
    "load_weights",
    "DuffingPINN",
    "duffing_pinn_loss",
    "duffing_residuals",
    "TopologyMonitor",
    "load_monitor",
]


def __getattr__(name: str):
    # nntopo.nets.LightningTopologyMonitor: built on first access (Lightning is an optional extra).
    if name == "LightningTopologyMonitor":
        from . import monitor

        return monitor.LightningTopologyMonitor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
