"""The Sherrington–Kirkpatrick spin glass: exact ground-state enumeration and finite-T overlaps.

``model`` (the plug-in classes), ``kernels`` (Gray-code enumeration), ``mc`` (parallel
tempering), ``cuda`` (numba.cuda enumeration).
"""

from statmech.models.sk.model import SK, SKOverlap

__all__ = ["SK", "SKOverlap"]
