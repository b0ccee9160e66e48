"""Random streams by construction: a unit's stream depends on what it is, never on where it runs.

The stream of one unit of work is ``SeedSequence(entropy=seed, spawn_key=(*h, replica))`` where
``h`` are four 32-bit words of a BLAKE2b hash of the model name and the point's canonical
parameter *values* (names sorted, integers as integers, floats rounded to 12 significant digits).
Values, not grid indices: adding a temperature to an axis, reordering an axis, changing the batch
size or the number of workers leaves every existing point's numbers bitwise unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np

#: significant digits kept for float coordinates (point identity and seeds depend on them)
FLOAT_DIGITS = 12


def canonical_float(x: float) -> float:
    """Round to :data:`FLOAT_DIGITS` significant digits (``-0.0`` becomes ``0.0``)."""
    y = float(f"{float(x):.{FLOAT_DIGITS}g}")
    return 0.0 if y == 0 else y


def canonical_point(point: Mapping[str, int | float]) -> dict[str, float]:
    """The point with sorted names and every value as a canonical float.

    Integers and floats are not told apart (``T: 1`` is ``T: 1.0``; integer parameters up to
    2**53 are exact as floats).
    """
    return {name: canonical_float(float(point[name])) for name in sorted(point)}


def point_key(model: str, point: Mapping[str, int | float]) -> str:
    """Canonical text identity of a point of a model (what the seed hashes)."""
    return json.dumps([model, canonical_point(point)], sort_keys=True, separators=(",", ":"))


def unit_seed(
    seed: int, model: str, point: Mapping[str, int | float], replica: int
) -> np.random.SeedSequence:
    """The seed sequence of one (point, replica) unit."""
    digest = hashlib.blake2b(point_key(model, point).encode(), digest_size=16).digest()
    words = tuple(int(w) for w in np.frombuffer(digest, dtype="<u4"))
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*words, int(replica)))


def kernel_key(ss: np.random.SeedSequence) -> np.uint64:
    """The 64-bit key of a kernel's counter-based generator (:mod:`statmech.rng`)."""
    return ss.generate_state(1, dtype=np.uint64)[0]
