"""Random streams by construction: a unit's stream depends on what it is, never on where it runs.

The stream of one unit of work is ``SeedSequence(entropy=seed, spawn_key=(*h, replica))`` where
``h`` are four 32-bit words of a BLAKE2b hash of the model name and the point's canonical
parameter *values* (names sorted, integers as integers, floats rounded to 12 significant digits).
Values, not grid indices: adding a temperature to an axis, reordering an axis, changing the batch
size or the number of workers leaves every existing point's numbers bitwise unchanged.

A parameter a model declares with ``seed_omits_default`` (one added after stores existed, e.g.
``J0`` of ``sk``) is left out of the key while it is at its default, so adding it to a model
changes no existing number. :func:`sibling_seed` gives the seed another point of the same sweep
and replica has (e.g. annealing at several ``tau`` on the couplings of one disorder sample).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

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


def omitted_defaults(parameters: Iterable[Any]) -> dict[str, float]:
    """``{name: canonical default}`` of the parameters marked ``seed_omits_default``.

    At these values a parameter is left out of the seed key (and of the physics hash,
    :meth:`statmech.config.Sweep.physics`).
    """
    return {p.name: canonical_float(float(p.default)) for p in parameters
            if p.seed_omits_default and p.default is not None}


def _omitted_defaults(model: str) -> dict[str, float]:
    """:func:`omitted_defaults` of the model called ``model`` (none for an unknown model)."""
    from statmech.models import get_model  # lazy: the models import this module

    try:
        params = get_model(model).parameters
    except KeyError:
        return {}
    return omitted_defaults(params)


def point_key(model: str, point: Mapping[str, int | float]) -> str:
    """Canonical text identity of a point of a model (what the seed hashes).

    Parameters marked ``seed_omits_default`` are left out while at their default value.
    """
    canon = canonical_point(point)
    for name, default in _omitted_defaults(model).items():
        if canon.get(name) == default:
            del canon[name]
    return json.dumps([model, canon], sort_keys=True, separators=(",", ":"))


def unit_seed(
    seed: int, model: str, point: Mapping[str, int | float], replica: int
) -> np.random.SeedSequence:
    """The seed sequence of one (point, replica) unit."""
    digest = hashlib.blake2b(point_key(model, point).encode(), digest_size=16).digest()
    words = tuple(int(w) for w in np.frombuffer(digest, dtype="<u4"))
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*words, int(replica)))


def sibling_seed(
    ss: np.random.SeedSequence, model: str, point: Mapping[str, int | float]
) -> np.random.SeedSequence:
    """The (fresh) seed of the unit at ``point`` with the same sweep seed and replica as ``ss``.

    ``ss`` must come from :func:`unit_seed` (spawn key: four hash words and the replica). For
    any other seed sequence (e.g. ``SeedSequence(0)`` in a direct call) a fresh copy of ``ss``
    is returned, so that a model deriving a shared stream this way stays a pure function of
    its seed.
    """
    key = tuple(ss.spawn_key)
    if len(key) != 5:
        return np.random.SeedSequence(entropy=ss.entropy, spawn_key=key,
                                      pool_size=ss.pool_size)
    entropy = ss.entropy
    assert isinstance(entropy, int), "unit seeds have one integer of entropy"
    return unit_seed(entropy, model, point, int(key[-1]))


def kernel_key(ss: np.random.SeedSequence) -> np.uint64:
    """The 64-bit key of a kernel's counter-based generator (:mod:`statmech.rng`)."""
    return ss.generate_state(1, dtype=np.uint64)[0]
