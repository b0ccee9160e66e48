"""The Hopfield network with Hebbian couplings: retrieval, capacity and basins of attraction.

``model`` (the plug-in class), ``kernels`` (zero- and finite-temperature dynamics).
"""

from statmech.models.hopfield.model import Hopfield

__all__ = ["Hopfield"]
