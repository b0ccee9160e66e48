"""Size limits of a sweep and its estimated memory and compute, checked before anything runs.

A sweep file can ask for more than any machine has (``num: 1000000000``, ``L: [1000000]``,
``replicas: 1e9``, ``sweeps: 1e20``). The defaults below refuse such sweeps with the estimate
that exceeds them; a sweep meant for a real cluster raises them in its ``limits:`` section::

    limits: {max_units: 100000000, max_core_hours: 1000000}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from statmech.errors import InputError
from statmech.models.base import Model, Point, Scalar

#: seconds a unit costs at least, whatever the model's estimate: the engine's own work per unit
#: (0.1-0.3 ms measured, docs/scale.md). A cost of 0 (or 1e-9) would otherwise put every unit
#: at one place on the cumulative-cost axis the groups are cut from: one group for the whole
#: sweep, computed by one thread
MIN_UNIT_SECONDS = 1e-4

#: points evaluated for the estimate; larger grids are sampled (plus the axes' extreme corners)
SAMPLE_POINTS = 2000
GIB = 1 << 30


class Limits(BaseModel):
    """Upper bounds of a sweep (the ``limits:`` section of a sweep file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_units: int = Field(10**7, ge=1, description="grid points x replicas")
    max_unit_memory_gib: float = Field(16.0, gt=0, description="estimated memory of one unit")
    max_unit_hours: float = Field(24.0 * 7, gt=0, description="estimated time of one unit")
    max_core_hours: float = Field(1e5, gt=0, description="estimated compute of the whole sweep")


@dataclass(frozen=True)
class Estimate:
    """Estimated compute and memory of a sweep (from the model's cost and memory hooks)."""

    units: int
    core_seconds: float
    max_unit_seconds: float
    max_unit_bytes: float | None  # None: the model gives no memory estimate
    sampled: bool  # True when the grid was too large to evaluate every point


def n_points_of(axes: Mapping[str, np.ndarray]) -> int:
    """Number of grid points (exact integer, never allocates)."""
    return math.prod(len(v) for v in axes.values())


def _sample(axes: Mapping[str, np.ndarray], n_points: int) -> list[tuple[int, ...]]:
    """Index tuples: every point of a small grid, else the corners and an even subsample."""
    shape = tuple(len(v) for v in axes.values())
    if n_points <= SAMPLE_POINTS:
        return [tuple(int(i) for i in idx) for idx in np.ndindex(*shape)]
    corners = {tuple(n - 1 if (c >> k) & 1 else 0 for k, n in enumerate(shape))
               for c in range(2 ** min(len(shape), 10))}
    flat = np.linspace(0, n_points - 1, SAMPLE_POINTS, dtype=np.int64)
    return sorted(corners | {tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat})


def unit_seconds(model: Model, point: Point, settings: BaseModel) -> float:
    """The model's cost of one unit at ``point``, at least :data:`MIN_UNIT_SECONDS`.

    Raises :class:`InputError` naming the model and the point if the cost raises or is not a
    finite number of seconds >= 0 (a bug in the model, caught before anything is computed).
    """
    try:
        value = model.cost(point, settings)
    except Exception as exc:
        raise InputError(f"{model.name}.cost({dict(point)}) raised {type(exc).__name__}: {exc} "
                         "(fix the model's cost method)") from exc
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{model.name}.cost({dict(point)}) returned {value!r}; a cost must "
                         "be a finite number of seconds >= 0 (fix the model's cost method)")
    return max(seconds, MIN_UNIT_SECONDS)


def estimate(model: Model, settings: BaseModel, axes: Mapping[str, np.ndarray],
             fixed: Mapping[str, Scalar], replicas: int) -> Estimate:
    """Compute and memory of a sweep from the model's ``cost`` and ``memory`` per point."""
    names = list(axes)
    n_points = n_points_of(axes)
    sample = _sample(axes, n_points)
    costs: list[float] = []
    mems: list[float] = []
    for idx in sample:
        point = {**fixed, **{n: axes[n][i].item() for n, i in zip(names, idx, strict=True)}}
        costs.append(unit_seconds(model, point, settings))
        mem = model.memory(point, settings)
        if mem is not None:
            mems.append(float(mem))
    mean = sum(costs) / max(len(costs), 1)
    return Estimate(units=n_points * replicas, core_seconds=mean * n_points * replicas,
                    max_unit_seconds=max(costs, default=0.0),
                    max_unit_bytes=max(mems) if mems else None,
                    sampled=len(sample) < n_points)


def check_limits(limits: Limits, n_points: int, replicas: int,
                 est: Estimate | None = None) -> list[tuple[str, str]]:
    """``(field, message)`` for every limit exceeded; sizes alone when ``est`` is None."""
    how = "raise limits.{} in the sweep file if you mean it"
    units = n_points * replicas
    if units > limits.max_units:
        return [("limits.max_units", f"{units:.3g} units ({n_points:.3g} points x {replicas} "
                                     f"replicas) is more than {limits.max_units:.3g}; "
                                     + how.format("max_units"))]
    if est is None:
        return []
    errors = []
    if est.max_unit_bytes is not None and est.max_unit_bytes > limits.max_unit_memory_gib * GIB:
        errors.append(("limits.max_unit_memory_gib",
                       f"one unit needs about {est.max_unit_bytes / GIB:.3g} GiB, more than "
                       f"{limits.max_unit_memory_gib:g} GiB; "
                       + how.format("max_unit_memory_gib")))
    if est.max_unit_seconds > limits.max_unit_hours * 3600:
        errors.append(("limits.max_unit_hours",
                       f"one unit takes about {est.max_unit_seconds / 3600:.3g} hours, more than "
                       f"{limits.max_unit_hours:g}; " + how.format("max_unit_hours")))
    if est.core_seconds > limits.max_core_hours * 3600:
        errors.append(("limits.max_core_hours",
                       f"the sweep takes about {est.core_seconds / 3600:.3g} core-hours, more "
                       f"than {limits.max_core_hours:g}; " + how.format("max_core_hours")))
    return errors


def human_bytes(n: float) -> str:
    """``1.5 GiB`` style."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"  # pragma: no cover


def human_seconds(s: float) -> str:
    """``42 s``, ``3.2 min``, ``5.1 h``, ``2.3 days``."""
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 172800:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} days"
