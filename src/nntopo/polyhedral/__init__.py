"""Exact polyhedral complex of a ReLU network (edge subdivision generalised to all cells)."""

from ._weights import as_weights
from .complex import DegenerateCutError, PolyhedralComplex, polyhedral_complex

__all__ = ["polyhedral_complex", "PolyhedralComplex", "DegenerateCutError", "as_weights"]
