"""Counter-based random numbers for the numba kernels.

Every random number is a pure function of a 64-bit key and a 64-bit counter: the SplitMix64
output function applied to ``key + counter * GAMMA`` (a Weyl sequence; SplitMix64 passes
BigCrush). There is no hidden global state: a kernel receives its key (derived from the unit's
:class:`numpy.random.SeedSequence`) and advances its own counter, so the stream of a unit is fixed
by the unit alone. Being stateless per draw, the generator vectorises: a loop over sites computes
all their numbers independently.

Two streams with keys ``k1`` and ``k2`` are the same Weyl sequence shifted by
``(k2 - k1) / GAMMA`` (mod 2**64); with random 64-bit keys and at most ~1e12 draws per unit
the chance that two units of a sweep overlap is below 1e-6 even for 1e6 units.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

#: options shared by every kernel (one place for all JIT settings)
JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: 2**-53, to turn the top 53 bits into a double in [0, 1)
_INV53 = 1.0 / 9007199254740992.0


@njit(inline="always", **JIT)
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 output function (a bijection of 64-bit words)."""
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(inline="always", **JIT)
def draw64(key: np.uint64, counter: np.uint64) -> np.uint64:
    """The 64-bit random word number ``counter`` of stream ``key``."""
    return mix64(key + counter * GAMMA)


@njit(inline="always", **JIT)
def uniform(key: np.uint64, counter: np.uint64) -> float:
    """A double in [0, 1) with 53 random bits."""
    return float(draw64(key, counter) >> uint64(11)) * _INV53


def threshold31(p: float) -> np.int32:
    """Acceptance threshold for a 31-bit random integer ``r``: accept iff ``r <= t``.

    ``P(r <= t) = (t + 1) / 2**31 = ceil(p 2**31) / 2**31``, exact for ``p = 0`` and ``p = 1``
    and within 2**-31 of ``p`` otherwise.
    """
    p = min(max(float(p), 0.0), 1.0)
    return np.int32(int(np.ceil(p * 2**31)) - 1)
