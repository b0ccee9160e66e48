"""The worker side of a sweep: compute units and put each on disk as soon as it is done.

:func:`run_units` is plain Python (the Prefect task in :mod:`flows.sweep` wraps it), so it can
be tested and benchmarked without any orchestration. For every unit it derives the seed from
(seed, model, point values, replica), runs the model, writes the values and then the ``done``
flag, and publishes a progress event on the Dask scheduler when running on a Dask worker.
Models that compute several units together (:meth:`statmech.models.base.Model.run_many`, e.g.
many lattices in one GPU launch) get the pending units of a batch in groups; each unit of a
group is stored as soon as the group is done.
A unit that raises is recorded in the store and the remaining units still run; the batch then
raises :class:`BatchFailed` so that Prefect retries it (a retry skips units already done).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from statmech.config import parse_config
from statmech.grid import Unit
from statmech.plan import store_grid
from statmech.seeding import unit_seed
from statmech.store import Store, UnitWriter, units_from

PROGRESS_TOPIC = "statmech-progress"


class BatchFailed(RuntimeError):
    """Some units of a batch raised; their errors are recorded in the store."""


def _publish(store: str, n: int) -> None:
    try:
        from distributed import get_worker

        get_worker().log_event(PROGRESS_TOPIC, {"store": store, "done": n})
    except (ImportError, ValueError):  # not on a Dask worker
        pass


def warm_up(config_text: str) -> None:
    """Import everything a batch needs and load the model's kernels (once per worker)."""
    import flows.sweep  # noqa: F401  (Prefect's import cost, paid before the first batch)

    sweep = parse_config(config_text)
    sweep.model.warmup(sweep.settings)


def run_units(
    store: str, config_text: str, units: Sequence[Sequence[int]], final_attempt: bool = True
) -> dict[str, Any]:
    """Compute and store ``units`` (``[i_axis0, ..., replica]`` lists) of a sweep.

    Returns counts and timings; raises :class:`BatchFailed` if any unit failed.
    """
    sweep = parse_config(config_text)
    grid = store_grid(Store(store), sweep)
    writer = UnitWriter(store)
    model, settings = sweep.model, sweep.settings
    pending = [unit for unit in units_from(units) if not writer.is_done(unit)]
    skipped = len(units) - len(pending)
    computed = 0
    failures: list[str] = []
    compute_s = write_s = 0.0

    def seed(unit: Unit) -> np.random.SeedSequence:
        return unit_seed(sweep.seed, model.name, grid.point(unit[0]), unit[1])

    def store_unit(unit: Unit, values: dict[str, np.ndarray], elapsed: float) -> None:
        nonlocal computed, compute_s, write_s
        t1 = time.perf_counter()
        writer.write(unit, values, elapsed=elapsed)
        write_s += time.perf_counter() - t1
        compute_s += elapsed
        computed += 1
        _publish(store, 1)

    def run_one(unit: Unit) -> None:
        point = grid.point(unit[0])
        t0 = time.perf_counter()
        try:
            values = model.run(point, settings, seed(unit))
        except Exception as exc:  # recorded in the store, the batch goes on
            message = "".join(traceback.format_exception_only(exc)).strip()
            writer.record_failure(unit, point, message + "\n" + traceback.format_exc(),
                                  final=final_attempt)
            failures.append(f"{grid.label(unit[0])} {model.replica_dim}={unit[1]}: {message}")
            return
        store_unit(unit, values, time.perf_counter() - t0)

    size = max(1, model.group_size(settings)) if len(pending) > 1 else 1
    for start in range(0, len(pending), size):
        group = pending[start:start + size]
        if len(group) == 1:
            run_one(group[0])
            continue
        t0 = time.perf_counter()
        try:
            results = model.run_many([grid.point(u[0]) for u in group], settings,
                                     [seed(u) for u in group])
        except Exception:  # find and record the failing units one by one
            for unit in group:
                run_one(unit)
            continue
        elapsed = (time.perf_counter() - t0) / len(group)
        for unit, values in zip(group, results, strict=True):
            store_unit(unit, values, elapsed)
    report = {"computed": computed, "skipped": skipped, "failed": len(failures),
              "compute_seconds": compute_s, "write_seconds": write_s}
    if failures:
        shown = "; ".join(failures[:3]) + (" ..." if len(failures) > 3 else "")
        raise BatchFailed(f"{len(failures)} of {len(units)} units failed: {shown}")
    return report
