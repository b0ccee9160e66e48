"""The grid of a sweep: axes x replicas, split into units of work and batches.

A *unit* is one grid point and one replica (index along every axis, replica index). Units are the
granularity of computing, storing and marking done; every unit owns its own zarr chunks, so any
grouping of units into batches is safe to write concurrently. Batches are sized from the model's
cost estimate so that one Prefect task carries enough compute to amortise its orchestration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Unit = tuple[tuple[int, ...], int]
"""(indices along the axes, replica)"""


@dataclass(frozen=True)
class Grid:
    """Axis values (in config order), fixed parameters and the replica count."""

    axes: Mapping[str, np.ndarray]
    fixed: Mapping[str, int | float]
    replicas: int

    @property
    def shape(self) -> tuple[int, ...]:
        """Lengths of the axes followed by the number of replicas."""
        return (*(len(v) for v in self.axes.values()), self.replicas)

    @property
    def n_points(self) -> int:
        """Number of grid points (without replicas)."""
        return int(np.prod([len(v) for v in self.axes.values()], dtype=np.int64))

    @property
    def n_units(self) -> int:
        """Number of units of work (points x replicas)."""
        return self.n_points * self.replicas

    def units(self) -> Iterator[Unit]:
        """All units, in C order of the store's dimensions."""
        for idx in itertools.product(*(range(len(v)) for v in self.axes.values())):
            for r in range(self.replicas):
                yield (tuple(idx), r)

    def point(self, index: Sequence[int]) -> dict[str, int | float]:
        """Parameter values (axes and fixed) of the point at ``index``."""
        out: dict[str, int | float] = dict(self.fixed)
        for (name, values), i in zip(self.axes.items(), index, strict=True):
            out[name] = values[i].item()
        return out

    def label(self, index: Sequence[int]) -> str:
        """Short human label such as ``L=32 T=2.269``."""
        return " ".join(
            f"{n}={v[i].item():g}" for (n, v), i in zip(self.axes.items(), index, strict=True)
        )


def make_batches(
    units: Sequence[Unit],
    cost: Callable[[Unit], float],
    target_seconds: float,
    size: int | None = None,
    workers: int = 1,
) -> list[list[Unit]]:
    """Group units into batches of about ``target_seconds`` estimated compute.

    Units are taken in decreasing cost so the longest batches start first (longest processing
    time first keeps the tail short). With several workers a small sweep is cut finer, into
    about three batches per worker (but never below one second each), so that every worker
    gets work. With ``size``
    every batch has exactly that many units (the last may have fewer). The grouping never
    changes any result: seeds are per unit.
    """
    if size is not None:
        return [list(units[i : i + size]) for i in range(0, len(units), size)]
    costed = sorted(((cost(u), u) for u in units), key=lambda cu: -cu[0])
    total = sum(c for c, _ in costed)
    if workers > 1:
        target_seconds = min(target_seconds, max(total / (3 * workers), 1.0))
    batches: list[list[Unit]] = []
    current: list[Unit] = []
    acc = 0.0
    for c, u in costed:
        if current and acc + c > target_seconds:
            batches.append(current)
            current, acc = [], 0.0
        current.append(u)
        acc += c
    if current:
        batches.append(current)
    return batches
