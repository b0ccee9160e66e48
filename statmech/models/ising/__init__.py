"""The Ising model on a chain and on the square lattice (J = 1, k_B = 1, periodic).

``model`` (the plug-in classes), ``kernels`` (Metropolis / heat-bath checkerboard and chain),
``msc`` (multi-spin-coded Metropolis), ``wolff`` (cluster updates), ``cuda`` (numba.cuda).
"""

from statmech.models.ising.model import Ising1D, Ising2D

__all__ = ["Ising1D", "Ising2D"]
