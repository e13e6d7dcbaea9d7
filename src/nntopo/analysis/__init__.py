"""Statistics over training runs, torch-free: correlations between the loss and
topological series (Table 2 of the polyhedral-signatures paper)."""

from .correlation import (
    MEASURES,
    CorrelationResult,
    CrossCorrelation,
    correlation_table,
    correlation_trials,
    cross_correlation,
    detrended_pearson,
    difference_pearson,
    pearson,
)

__all__ = [
    "MEASURES",
    "CorrelationResult",
    "CrossCorrelation",
    "correlation_table",
    "correlation_trials",
    "cross_correlation",
    "detrended_pearson",
    "difference_pearson",
    "pearson",
]
