"""nntopo: the topology of ReLU neural networks."""

__version__ = "0.1.0"
