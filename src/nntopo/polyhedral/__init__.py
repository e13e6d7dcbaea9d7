"""Exact polyhedral complex of a ReLU network on a box (edge subdivision, all cells).

``polyhedral_complex(net_or_weights, box=None)`` cuts the box ``[lo, hi]^d`` (default
``[-1, 1]^d``) by every hidden neuron, layer by layer and neuron by neuron, and returns a
:class:`PolyhedralComplex`: vertices, the cells of every dimension 0..d with their sign
vectors (int8 +1/0/-1 over all hidden neurons) and Z/2 boundary matrices (scipy CSR),
an interior point and activation pattern per region, the f-vector and Euler
characteristic (checked to be 1), ``region_of(points)`` and ``save``/``load`` (npz; a
loaded file is validated entry by entry and checked, a bad one is a ``ValueError``
naming it).

Networks: a list of ``(W (out, in), b (out,))`` numpy pairs (output layer last, it never
cuts), any non-torch object with ``weights()`` returning that, or a torch module whose
``forward``, traced with ``torch.fx``, is exactly a chain Linear -> ReLU -> ... -> Linear
(``nn.Sequential`` of Linear/ReLU, ``nntopo.nets.MLP``, or a custom module computing such a
chain, read in the order forward calls the layers). Anything else (residual connections,
other activations, a Linear applied twice) is a ``TypeError``. torch is imported only when
a torch module is passed.

The construction is dimension-generic: all cells and boundaries are computed for any
input dimension d (tested for d = 1..4); the number of cells grows quickly with d.

On a complex: ``spectral`` gives the dual graph (exact facet adjacency, or the paper's
Hamming-1 rule), the weighted graph Laplacian and its Fiedler vector, and the paper's
comparison of the Fiedler partition with class labels; ``filtration`` gives the Betti
curves of random filtrations (all 0-cells, then all 1-cells, ...) and their summaries.
"""

from ._weights import as_weights
from .complex import ComplexCheckError, DegenerateCutError, PolyhedralComplex, polyhedral_complex
from .filtration import (
    betti_curves,
    betti_heatmap,
    betti_summary,
    curves_to_xarray,
    filtration_orders,
    sample_curves,
    sample_curves_share,
)
from .spectral import (
    DualGraph,
    PartitionAgreement,
    dual_graph,
    fiedler_vector,
    graph_fiedler_vector,
    partition_agreement,
    region_counts,
    region_mean_labels,
    weighted_laplacian,
)

__all__ = [
    "polyhedral_complex",
    "PolyhedralComplex",
    "DegenerateCutError",
    "ComplexCheckError",
    "as_weights",
    "DualGraph",
    "PartitionAgreement",
    "dual_graph",
    "fiedler_vector",
    "graph_fiedler_vector",
    "partition_agreement",
    "region_counts",
    "region_mean_labels",
    "weighted_laplacian",
    "betti_curves",
    "betti_heatmap",
    "betti_summary",
    "curves_to_xarray",
    "filtration_orders",
    "sample_curves",
    "sample_curves_share",
]
