"""Matplotlib figures: every function takes ``ax=`` and returns it."""

from .training import plot_training_curves

__all__ = ["plot_training_curves"]
