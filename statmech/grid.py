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
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
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


#: Dask tasks per second the policy plans for, on average over a run. Measured on 2 shared cores
#: (scheduler, client and workers together): ~1000 trivial tasks/s, ~500 when the client also
#: fetches every result, 200-300 of statmech's groups (results fetched, validated, written) at
#: 1024 worker threads. Planning for 100/s leaves room for bursts; it only binds on large
#: clusters (groups of at least slots/100 s: 10 s at 1024 slots, where 4 waves of 5 s groups
#: kept the cluster 68-75 % busy and 2 waves of 10 s groups 78-87 %).
DASK_TASKS_PER_SECOND = 100.0
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
    seconds per task), and at least 20 ms so tiny units travel in groups. Then lowered to the
    largest size for which every slot's share is exactly the two ramps of :func:`group_bounds`
    and a whole number of groups in between, at least one: a run then has more than twice as
    many groups as slots, which Dask's scheduler queues and hands out as threads free up (its
    "root-ish" rule). With exactly two groups per slot (the ramps alone) it assigned every
    group to a worker at once and 2 of 3 runs of 1 s units on 1024 slots took 33 s instead of
    23 s (docs/scale.md, run 7).
    """
    slots = max(int(slots), 1)
    t = max(min(target_seconds, total_cost / (4 * slots)), slots / tasks_per_second, 0.02)
    share = total_cost / slots
    if slots == 1 or share < 1.25 * t:
        return t
    return share / (1.25 + max(1, math.ceil(share / t - 1.25 - 1e-9)))


def group_bounds(total_cost: float, slots: int, t: float) -> np.ndarray:
    """Boundaries of the groups on the cumulative-cost axis [0, total_cost] (longest units first).

    Groups of ``t`` seconds, except that the first wave (``slots`` groups) grows evenly from
    ``t/4`` to ``t`` and the last wave shrinks the same way. Equal groups would all finish
    together: a burst of ``slots`` results that the scheduler and the sweep process serve one
    after the other while threads wait (measured: a quarter of 1024 slots idle for ~4 s at every
    wave). Staggered first groups spread the completions (and so the next starts) over the
    whole run, and the shrinking last wave lets the threads finish within about ``t/4`` of each
    other (the thread freed first takes the largest group left). That pairing holds only when
    the groups in between fill whole waves (each slot takes the same number of them): ``t`` is
    rounded to the nearest size for which they do, with at least one wave of them
    (:func:`group_seconds` already returns such a size).
    Measured with 1 s units on 1024 slots (docs/scale.md, run 7): with 720 groups in between
    (0.7 of a wave) the threads finished over 4 s, and a greedy simulation of that plan gave a
    2.0 s mean tail against 1.2 s with whole waves.

    A sweep too short for the two ramps (1.25 groups of ``t`` per slot) is cut into one equal
    group per slot; on one slot, into groups of ``t``. This is the nominal plan: groups are
    made of whole units, and :func:`statmech.plan.plan_groups` cuts the last wave again from
    the groups the units really made (:func:`last_wave`).
    """
    slots = max(int(slots), 1)
    share = total_cost / slots
    if slots == 1:
        n = max(1, math.ceil(total_cost / t))
        return np.linspace(0.0, total_cost, n + 1)[1:]
    if share < 1.25 * t:
        return np.linspace(0.0, total_cost, slots + 1)[1:]
    middle = max(1, round(share / t - 1.25))  # groups of t in between, per slot
    t = share / (1.25 + middle)
    ramp = t * (0.25 + 0.75 * (np.arange(slots) + 0.5) / slots)  # sums to 0.625 t per slot
    first = np.cumsum(ramp)
    between = first[-1] + t * np.arange(1, middle * slots + 1)
    last = first[-1] + middle * slots * t + np.cumsum(ramp[::-1])
    last[-1] = total_cost
    return np.concatenate([first, between, last])


def last_wave(head: Iterable[float], rest: float, slots: int) -> np.ndarray:
    """Costs of the last wave's groups, in submission order, so every thread ends together.

    ``head`` holds the costs of the groups before the last wave, in submission order, and
    ``rest`` the cost left for the last wave. The greedy dispatch is replayed (each group goes
    to the thread freed first, every thread starting at 0) to get the time each thread frees
    up; the thread freed ``j``-th takes the ``j``-th group of the last wave, which is sized to
    end at the common level that uses up ``rest`` (a thread already past that level takes
    nothing, so there may be fewer groups than slots). The nominal last wave of
    :func:`group_bounds` does the same for groups of exactly their nominal cost; the replay
    also absorbs what whole units do to the groups before (1 s units make groups of 8.89 s
    nominal hold 8 or 9 units: threads then ended up to 1 s apart).
    """
    import heapq

    slots = max(int(slots), 1)
    free = [(0.0, i) for i in range(slots)]  # (when the thread frees up, thread)
    for cost in head:
        when, thread = heapq.heappop(free)
        heapq.heappush(free, (when + float(cost), thread))
    f = np.sort([when for when, _ in free])
    # water level: the most threads k whose level (rest + their free times) / k is above
    # the k-th free time
    level = (rest + np.cumsum(f)) / np.arange(1, slots + 1)
    k = int(np.flatnonzero(level >= f)[-1]) + 1
    return level[k - 1] - f[:k]


def block_count(est_wall: float, groups: int) -> int:
    """Prefect task runs of a run: one per ~5 s of estimated wall time, 1 to MAX_BLOCKS."""
    return max(1, min(MAX_BLOCKS, groups, math.ceil(est_wall / 5.0)))


def group_count(total_cost: float, n_units: int, slots: int, target_seconds: float,
                size: int | None = None) -> int:
    """About how many Dask tasks :func:`statmech.plan.plan_groups` makes (units of equal cost)."""
    if n_units <= 0:
        return 0
    if size is not None:
        return math.ceil(n_units / size)
    t = group_seconds(total_cost, slots, target_seconds)
    return min(n_units, len(group_bounds(total_cost, slots, t)))


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
