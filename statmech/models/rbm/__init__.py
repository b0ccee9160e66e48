"""Restricted and fully visible Boltzmann machines trained on exactly known data laws (``rbm``).

``model`` (the plug-in class, training loops), ``kernels`` (numba: enumeration of ln Z and
moments, block Gibbs sampling), ``datasets`` (bars and stripes, product Bernoulli, random
patterns, random Ising), ``presentation`` (figures and report estimates).
"""

from statmech.models.rbm.model import RBM

__all__ = ["RBM"]
