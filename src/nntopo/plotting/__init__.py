"""Matplotlib figures: every function takes ``ax=`` and returns it."""

from .landscapes import plot_landscape, plot_norms_per_layer
from .polyhedral import plot_complex_2d, region_polygons
from .training import plot_training_curves

__all__ = ["plot_training_curves", "plot_landscape", "plot_norms_per_layer", "plot_complex_2d", "region_polygons"]
