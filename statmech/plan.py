"""From a validated sweep to the work still to do: store creation or checks, missing units, groups.

Plain library code (no Prefect): the flow in :mod:`flows.sweep` only wires these steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from statmech.config import Sweep
from statmech.grid import Grid, Unit, group_bounds, group_seconds, last_wave
from statmech.limits import unit_seconds
from statmech.provenance import provenance
from statmech.store import Store, StoreMismatchError


@dataclass(frozen=True)
class Plan:
    """What a run of a sweep will do."""

    sweep: Sweep
    store: Store
    state: str  # "created" | "same" | "extended"
    grid: Grid
    missing_idx: np.ndarray  # (units, axes + 1): indices along the axes, then the replica
    groups: list[np.ndarray]  # groups of rows of missing_idx, one Dask task each, longest first
    cost: float = 0.0  # estimated core-seconds of the missing units

    @property
    def batches(self) -> list[list[Unit]]:
        """The groups as lists of units (one Dask task each)."""
        return [[(tuple(r[:-1]), r[-1]) for r in g.tolist()] for g in self.groups]

    @property
    def missing(self) -> list[Unit]:
        """The missing units, in C order."""
        return [(tuple(r[:-1]), r[-1]) for r in self.missing_idx.tolist()]

    @property
    def total(self) -> int:
        """Number of units in the store."""
        return self.grid.n_units

    @property
    def skipped(self) -> int:
        """Units already done (not recomputed)."""
        return self.total - len(self.missing_idx)


def store_grid(store: Store, sweep: Sweep) -> Grid:
    """The grid as laid out in the store (axis values in stored order)."""
    _, coords, replicas = store.grid()
    return Grid(coords, sweep.fixed, replicas)


def preflight(sweep: Sweep, extend: bool = False) -> str:
    """Check the store path without changing anything: ``"new"``, ``"same"`` or ``"extends"``.

    An existing store made from the same sweep is resumed. One with the same physics but fewer
    axis values is extended only with ``extend`` (existing values stay bitwise unchanged, since
    seeds depend on coordinate values); anything else raises :class:`StoreMismatchError`.
    """
    store = Store(sweep.store)
    if not store.exists():
        if store.path.exists() and (not store.path.is_dir() or any(store.path.iterdir())):
            raise StoreMismatchError(f"{store.path} exists and is not a statmech store; "
                                     "choose another store path")
        return "new"
    state = store.check_compatible(sweep)
    if state == "extends" and not extend:
        raise StoreMismatchError(
            f"{store.path} holds the same sweep with fewer axis values; rerun with "
            "--extend to add the new values (existing points are kept unchanged)."
        )
    return state


def plan_groups(idx: np.ndarray, grid: Grid, model: Any, settings: Any, slots: int,
                target_seconds: float, size: int | None = None
                ) -> tuple[list[np.ndarray], float]:
    """Groups of unit rows ``idx`` for Dask tasks, longest first, and their total cost.

    The model's cost is asked once per point. Units are sorted by decreasing cost and cut into
    consecutive groups of about :func:`statmech.grid.group_seconds`, staggered in the first
    and last waves (:func:`statmech.grid.group_bounds`; a unit costlier than a group is
    alone). The last wave is cut to what each thread has left once the groups before it,
    made of whole units, are dispatched (:func:`statmech.grid.last_wave`). ``size`` instead
    fixes the units per group, in C order.
    """
    idx = np.asarray(idx, dtype=np.int64).reshape(-1, len(grid.shape))
    if len(idx) == 0:
        return [], 0.0
    points, inverse = np.unique(idx[:, :-1], axis=0, return_inverse=True)
    point_cost = np.array([unit_seconds(model, grid.point(p), settings) for p in points.tolist()])
    cost = point_cost[inverse.ravel()]
    total = float(cost.sum())
    if size is not None:
        return [idx[i:i + size] for i in range(0, len(idx), size)], total
    t = group_seconds(total, slots, target_seconds)
    order = np.argsort(-cost, kind="stable")
    c = cost[order]
    start = np.cumsum(c) - c  # where each unit starts on the cumulative-cost axis
    bounds = group_bounds(total, slots, t)
    # a unit belongs to the group in which it starts (so one costlier than t is alone); eps
    # absorbs the rounding of the cumulative sums, and is below half the cheapest unit
    eps = min(1e-6 * t, 0.5 * float(c[-1]))
    gid = np.searchsorted(bounds, start + eps, side="right")
    n_head = int(np.searchsorted(gid, len(bounds) - slots)) if len(bounds) > slots > 1 else 0
    if 0 < n_head < len(c):  # the last wave, sized from the groups the units really made
        head = np.bincount(gid[:n_head], weights=c[:n_head])
        last = start[n_head] + np.cumsum(last_wave(head[head > 0], float(c[n_head:].sum()), slots))
        gid[n_head:] = len(bounds) + np.searchsorted(last[:-1], start[n_head:] + eps,
                                                     side="right")
    cuts = np.flatnonzero(np.diff(gid)) + 1
    return [idx[g] for g in np.split(order, cuts)], total


def prepare(sweep: Sweep, extend: bool = False, workers: int = 1,
            state: str | None = None) -> Plan:
    """Create, resume or extend the store and group the missing units.

    ``state`` is the result of :func:`preflight` when the caller already ran it (it is not
    repeated); ``workers`` is the number of worker threads the groups are sized for.
    """
    store = Store(sweep.store)
    if state is None:
        state = preflight(sweep, extend)
    if state == "new":
        store.create(sweep, provenance())
        state = "created"
    elif state == "extends":
        store.extend(sweep)
        state = "extended"
    grid = store_grid(store, sweep)
    missing = store.missing_indices()
    groups, cost = plan_groups(missing, grid, sweep.model, sweep.settings, workers,
                               sweep.batch.target_seconds, sweep.batch.size)
    return Plan(sweep, store, state, grid, missing, groups, cost)
