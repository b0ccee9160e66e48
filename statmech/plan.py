"""From a validated sweep to the work still to do: store creation or checks, missing units, groups.

Plain library code (no Prefect): the flow in :mod:`flows.sweep` only wires these steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from statmech.config import Sweep
from statmech.grid import Grid, Unit, group_seconds, make_batches
from statmech.provenance import provenance
from statmech.store import Store, StoreMismatchError


@dataclass(frozen=True)
class Plan:
    """What a run of a sweep will do."""

    sweep: Sweep
    store: Store
    state: str  # "created" | "same" | "extended"
    grid: Grid
    missing: list[Unit]
    batches: list[list[Unit]]  # groups of units, one Dask task each, longest first

    @property
    def total(self) -> int:
        """Number of units in the store."""
        return self.grid.n_units

    @property
    def skipped(self) -> int:
        """Units already done (not recomputed)."""
        return self.total - len(self.missing)


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


def plan_groups(units: Sequence[Unit], grid: Grid, model: Any, settings: Any, slots: int,
                target_seconds: float, size: int | None = None) -> list[list[Unit]]:
    """Groups of units for Dask tasks, longest first (``size`` fixes the units per group).

    Sized by :func:`statmech.grid.group_seconds` from the model's cost estimate and the
    number of worker threads ``slots``.
    """
    if not units:
        return []

    def cost(u: Unit) -> float:
        return float(model.cost(grid.point(u[0]), settings))

    if size is not None:
        return make_batches(units, cost, target_seconds, size=size)
    total = sum(cost(u) for u in units)
    return make_batches(units, cost, group_seconds(total, slots, target_seconds))


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
    missing = store.missing_units()
    batches = plan_groups(missing, grid, sweep.model, sweep.settings, workers,
                          sweep.batch.target_seconds, sweep.batch.size)
    return Plan(sweep, store, state, grid, missing, batches)
