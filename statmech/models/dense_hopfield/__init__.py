"""Dense associative memory (modern Hopfield network): E = -sum_mu F(M^mu), F = x^n or e^x.

``model`` (the plug-in class), ``kernels`` (zero-T asynchronous dynamics, exact int64 drive for
the power energy, max-subtracted float64 for exp), ``presentation`` (figures and report rows).
"""

from statmech.models.dense_hopfield.model import DenseHopfield

__all__ = ["DenseHopfield"]
