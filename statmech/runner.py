"""The worker side of a sweep: compute a group of units and return their validated values.

:func:`compute_group` is plain Python (the flow sends it to Dask workers through
:mod:`statmech.dispatch`), so it can be tested and benchmarked without any orchestration. It gets
the sweep once per worker as a :class:`Job` (validated in the sweep process, scattered to the
workers), derives each unit's seed from (seed, model, point values, replica), runs the model and
checks the values against ``model.variables(settings)`` (names, shapes, dtypes). It writes
nothing: the values travel back to the sweep process, the store's single writer. A unit that
raises or returns values that do not match the declaration is returned as a failure with its
message; the other units of the group are unaffected. Models that compute several units together
(:meth:`statmech.models.base.Model.run_many`, e.g. many lattices in one GPU launch) get the
units of a group in sub-groups of :meth:`~statmech.models.base.Model.group_size`.

This module never imports the orchestration layer (Prefect, :mod:`flows`).
"""

from __future__ import annotations

import pickle
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from statmech.grid import Grid, Unit
from statmech.models.base import Model, Variable
from statmech.seeding import unit_seed

PROGRESS_TOPIC = "statmech-progress"


class BatchFailed(RuntimeError):
    """Some units of a block failed; their errors are recorded in the store."""


@dataclass(frozen=True)
class Job:
    """What a worker needs to compute units of a sweep (built once, in the sweep process)."""

    store: str
    model: Model
    settings: Any
    seed: int
    grid: Grid
    extra_sizes: Mapping[str, int] = field(default_factory=dict)

    @property
    def variables(self) -> tuple[Variable, ...]:
        """The variables every unit must return."""
        return tuple(self.model.variables(self.settings))


#: one unit's outcome: (unit, values or None, compute seconds, error message or None)
Outcome = tuple[Unit, dict[str, np.ndarray] | None, float, str | None]


def _publish(store: str, n: int) -> None:
    try:
        from distributed import get_worker

        get_worker().log_event(PROGRESS_TOPIC, {"store": store, "done": n})
    except (ImportError, ValueError):  # not on a Dask worker
        pass


def warm_up(model: Model, settings: Any) -> None:
    """Load the model's kernels (once per worker, before the first group)."""
    model.warmup(settings)


def check_values(job: Job, values: Any) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """Values as arrays of the declared dtypes, or an error naming the model and variable."""
    model = job.model.name
    if not isinstance(values, Mapping):
        return None, f"model {model} returned {type(values).__name__}, not a mapping of variables"
    declared = job.variables
    names = {v.name for v in declared}
    extra = sorted(set(values) - names)
    if extra:
        return None, f"model {model} returned undeclared variable(s) {extra}"
    out: dict[str, np.ndarray] = {}
    for var in declared:
        if var.name not in values:
            return None, f"model {model} did not return variable {var.name!r}"
        value = np.asarray(values[var.name])
        shape = tuple(job.extra_sizes[d] for d in var.dims)
        if value.shape != shape:
            return None, (f"model {model} variable {var.name!r} has shape {value.shape}, "
                          f"declared {shape} (dims {var.dims})")
        if not np.can_cast(value.dtype, var.dtype, casting="safe"):
            return None, (f"model {model} variable {var.name!r} has dtype {value.dtype}, "
                          f"declared {var.dtype}")
        out[var.name] = value.astype(var.dtype, copy=False)
    return out, None


def compute_group(units: Sequence[Sequence[int]], job: Job) -> list[Outcome]:
    """Compute ``units`` (``[i_axis0, ..., replica]`` lists); one outcome per unit, in order."""
    model, settings, grid = job.model, job.settings, job.grid
    todo: list[Unit] = [(tuple(int(i) for i in u[:-1]), int(u[-1])) for u in units]
    out: list[Outcome] = []

    def seed(unit: Unit) -> np.random.SeedSequence:
        return unit_seed(job.seed, model.name, grid.point(unit[0]), unit[1])

    def failure(unit: Unit, message: str) -> Outcome:
        return (unit, None, 0.0, message)

    def finish(unit: Unit, values: Any, elapsed: float) -> None:
        checked, problem = check_values(job, values)
        out.append(failure(unit, problem) if problem else (unit, checked, elapsed, None))

    def run_one(unit: Unit) -> None:
        t0 = time.perf_counter()
        try:
            values = model.run(grid.point(unit[0]), settings, seed(unit))
        except Exception as exc:  # recorded in the store, the group goes on
            message = "".join(traceback.format_exception_only(exc)).strip()
            out.append(failure(unit, message + "\n" + traceback.format_exc()))
            return
        finish(unit, values, time.perf_counter() - t0)

    size = max(1, model.group_size(settings)) if len(todo) > 1 else 1
    for start in range(0, len(todo), size):
        group = todo[start:start + size]
        if len(group) == 1:
            run_one(group[0])
            continue
        t0 = time.perf_counter()
        try:
            results = model.run_many([grid.point(u[0]) for u in group], settings,
                                     [seed(u) for u in group])
            if len(results) != len(group):
                raise ValueError(f"run_many returned {len(results)} results for {len(group)}")
        except Exception:  # find and record the failing units one by one
            for unit in group:
                run_one(unit)
            continue
        elapsed = (time.perf_counter() - t0) / len(group)
        for unit, values in zip(group, results, strict=True):
            finish(unit, values, elapsed)
    _publish(job.store, sum(1 for o in out if o[3] is None))
    return out


def compute_group_packed(units: Sequence[Sequence[int]], job: Job) -> bytes:
    """:func:`compute_group`'s outcomes pickled into one ``bytes`` (read with :func:`unpack`).

    Dask sends each numpy array of a result as a frame of its own, i.e. one per variable per
    unit. A group's outcomes as one blob travel as one frame. Measured on 8 x 128 threads, 1024
    tasks of 20 units ending together: collecting their results as they finish took 2.5-3.1 s
    longer than waiting for them; pickled, 0.1-0.4 s longer (docs/scale.md, run 6).
    """
    return pickle.dumps(compute_group(units, job), protocol=pickle.HIGHEST_PROTOCOL)


def unpack(blob: bytes) -> list[Outcome]:
    """The outcomes of :func:`compute_group_packed` (results of this sweep's own workers)."""
    outcomes: list[Outcome] = pickle.loads(blob)  # Dask would unpickle them too
    return outcomes


def make_job(store: str, sweep: Any, grid: Grid) -> Job:
    """The :class:`Job` of a validated sweep over the grid as laid out in its store."""
    extra = sweep.model.extra_coords(sweep.settings, grid.axes)
    return Job(store=store, model=sweep.model, settings=sweep.settings, seed=sweep.seed,
               grid=grid, extra_sizes={k: len(v) for k, v in extra.items()})


def run_units(
    store: str, config_text: str, units: Sequence[Sequence[int]], final_attempt: bool = True
) -> dict[str, Any]:
    """Compute and store ``units`` in this process (no cluster; scripts and tests).

    Returns counts; raises :class:`BatchFailed` if any unit failed (its error is recorded).
    """
    from statmech.config import parse_config
    from statmech.plan import store_grid
    from statmech.store import Store
    from statmech.writer import ChunkWriter

    sweep = parse_config(config_text)
    job = make_job(store, sweep, store_grid(Store(store), sweep))
    done = Store(store).done_mask()
    pending = [list(u) for u in units if not done[tuple(u)]]
    failures = []
    with ChunkWriter(store) as writer:
        for unit, values, elapsed, error in compute_group(pending, job):
            if values is None:
                writer.add_failure(unit, job.grid.point(unit[0]), str(error), final_attempt)
                failures.append(str(error).splitlines()[0])
            else:
                writer.add(unit, values, elapsed)
    if failures:
        raise BatchFailed(f"{len(failures)} of {len(units)} units failed: {failures[0]}")
    return {"computed": len(pending), "skipped": len(units) - len(pending), "failed": 0}
