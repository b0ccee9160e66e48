"""The grid of a sweep: axes x replicas, split into units of work and batches.

A *unit* is one grid point and one replica (index along every axis, replica index). Units are the
granularity of computing, seeding and marking done. Three coarser groupings sit on top:

* **chunks** (:func:`chunk_shape`): the zarr chunk of every variable covers a block of many units
  along the grid, so a store's object count grows with chunks, not units;
* **groups** (:func:`statmech.plan.plan_groups`, :func:`group_seconds`): the units one Dask
  task computes, sized from the model's cost estimate and the cluster's size;
* **blocks** (:func:`split_blocks`): the groups one Prefect task run tracks (a bounded number).

No grouping changes a number: seeds are per unit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
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


#: Dask tasks per second the policy plans for (measured: ~500 trivial tasks/s with scheduler,
#: client and two workers on 2 shared cores; half of that leaves room for the results' traffic)
DASK_TASKS_PER_SECOND = 250.0
#: units per zarr chunk aimed at, and the largest uncompressed chunk of one variable
CHUNK_UNITS = 8192
CHUNK_BYTES = 4 * 2**20
#: most Prefect task runs (blocks) per sweep run; a task run costs ~0.1-0.4 s of central work
MAX_BLOCKS = 16


def chunk_shape(grid_shape: Sequence[int], unit_bytes: int = 8,
                target_units: int = CHUNK_UNITS, max_bytes: int = CHUNK_BYTES) -> tuple[int, ...]:
    """Chunk lengths along the grid dimensions (axes..., replica) shared by every variable.

    Filled from the last dimension (replicas, then the last axis, ...) so a chunk is a C-order
    block of about ``min(target_units, max_bytes / unit_bytes)`` units, where ``unit_bytes`` is
    the largest size of one unit of any variable. At least one unit per chunk.
    """
    budget = max(1, min(target_units, max_bytes // max(unit_bytes, 1)))
    out = [1] * len(grid_shape)
    for d in range(len(grid_shape) - 1, -1, -1):
        n = max(int(grid_shape[d]), 1)
        if n <= budget:
            out[d] = n
            budget //= n
        else:
            out[d] = budget
            break
    return tuple(out)


def group_seconds(total_cost: float, slots: int, target_seconds: float,
                  tasks_per_second: float = DASK_TASKS_PER_SECOND) -> float:
    """Estimated compute per Dask task for a sweep of ``total_cost`` core-seconds on ``slots``.

    About four tasks per slot for load balance (longest first), never more than
    ``target_seconds``, but never so short that the scheduler has to start more than
    ``tasks_per_second`` tasks per second with every slot busy (``slots / tasks_per_second``
    seconds per task), and at least 20 ms so tiny units travel in groups.
    """
    slots = max(int(slots), 1)
    t = min(target_seconds, total_cost / (4 * slots))
    return max(t, slots / tasks_per_second, 0.02)


def split_blocks(groups: Sequence[Sized], max_blocks: int = MAX_BLOCKS
                 ) -> list[list[int]]:
    """Indices of ``groups`` per block: contiguous runs of about equal size.

    At most ``max_blocks`` of them (the groups come longest first, so block 0 finishes first).
    """
    n = len(groups)
    if n == 0:
        return []
    k = min(max_blocks, n)
    per = math.ceil(n / k)
    return [list(range(i, min(i + per, n))) for i in range(0, n, per)]
