"""The polyhedral complex of a network with 2-D input."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from .._validation import check_array, check_real


def region_polygons(complex_) -> list[np.ndarray]:
    """Vertices of every region of a 2-D complex in counter-clockwise order, each (m, 2).

    Regions are convex, so sorting their vertices by angle about the vertex mean orders them.
    """
    from ..polyhedral import PolyhedralComplex

    if not isinstance(complex_, PolyhedralComplex):
        raise TypeError(f"complex_ must be a PolyhedralComplex, got {type(complex_).__name__}")
    if complex_.dim != 2:
        raise ValueError(f"complex_ must have input dimension 2; got {complex_.dim}")
    indptr, indices = complex_.cell_vertices(2)
    polys = []
    for r in range(complex_.n_regions):
        pts = complex_.vertices[indices[indptr[r] : indptr[r + 1]]]
        c = pts.mean(axis=0)
        polys.append(pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))])
    return polys


def plot_complex_2d(
    complex_, ax: Axes | None = None, values: np.ndarray | None = None, cmap: str = "tab20", edge_width: float = 0.3
) -> Axes:
    """Draw the regions of a 2-D :class:`~nntopo.polyhedral.PolyhedralComplex`.

    Regions are filled by ``values`` (one number per region, shape (n_regions,), e.g. the
    predicted class; NaN draws in the colormap's "bad" colour), or by region index when
    None; edges are drawn in black, ``edge_width`` points wide.
    """
    from matplotlib.collections import LineCollection, PolyCollection

    edge_width = check_real(edge_width, "edge_width", minimum=0.0)
    polys = region_polygons(complex_)
    if values is None:
        colors = np.arange(len(polys)) % 20
    else:
        colors = check_array(values, "values", finite=False, allow_empty=True)
        if colors.shape != (len(polys),):
            raise ValueError(f"values must have one entry per region ({len(polys)}); got shape {colors.shape}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 5))
    fill = PolyCollection(polys, array=colors, cmap=cmap, edgecolors="none")
    ax.add_collection(fill)
    edges = complex_.vertices[complex_.edges]
    ax.add_collection(LineCollection(edges, colors="k", linewidths=edge_width))
    ax.set_xlim(complex_.lo[0], complex_.hi[0])
    ax.set_ylim(complex_.lo[1], complex_.hi[1])
    ax.set_aspect("equal")
    return ax
