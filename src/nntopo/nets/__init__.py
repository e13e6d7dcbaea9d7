"""Networks, activation capture and training with snapshots (the only torch-facing subpackage)."""

from .capture import capturable_layers, capture
from .mlp import MLP
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
    train,
)

__all__ = [
    "MLP",
    "capture",
    "capturable_layers",
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
    "DuffingPINN",
    "duffing_pinn_loss",
    "duffing_residuals",
]
