"""Units to Dask and results to the store: the sweep process's side of a run (no Prefect here).

A run's missing units are cut into *groups* (one Dask task each, sized by
:func:`statmech.grid.group_seconds` from the model's cost estimate and the number of worker
threads) and the groups into a bounded number of *blocks* (one Prefect task run each, see
:mod:`flows.sweep`). :class:`Dispatcher` scatters the validated :class:`~statmech.runner.Job` to
every worker once, submits every group at once, longest first (Dask starts them as threads free
up), and :meth:`Dispatcher.collect` streams the outcomes of one block back as they finish into
the store's single writer (:class:`statmech.writer.ChunkWriter`). A retried block resubmits only
its units that have not succeeded.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from statmech.grid import Unit, split_blocks
from statmech.runner import BatchFailed, Job, compute_group
from statmech.writer import ChunkWriter


def worker_slots(client: Any) -> int:
    """Worker threads of the cluster (at least 1)."""
    workers = client.scheduler_info().get("workers", {}).values()
    return max(sum(int(w.get("nthreads", 1)) for w in workers), 1)


def max_blocks() -> int | None:
    """``STATMECH_MAX_BLOCKS`` if set (fewer Prefect task runs, e.g. in tests), else ``None``."""
    value = os.environ.get("STATMECH_MAX_BLOCKS")
    return int(value) if value else None


class Dispatcher:
    """Submits the groups of a run to Dask and collects them block by block into the writer."""

    def __init__(self, client: Any, job: Job, writer: ChunkWriter, groups: list[np.ndarray],
                 resources: dict[str, float] | None = None, blocks: int | None = None):
        self.client = client
        self.job = job
        self.writer = writer
        self.groups = groups
        self.resources = resources or None
        limit = blocks or max_blocks()
        self.blocks = split_blocks(groups, limit) if limit else split_blocks(groups)
        self.succeeded: set[Unit] = set()
        self.computed = 0
        self._lock = threading.Lock()
        self._job_future = client.scatter(job, broadcast=True, hash=False) if groups else None
        self._futures: dict[int, list[tuple[Any, list[Unit]]]] = {}
        if groups:
            writer.expect(np.concatenate(groups))
        if groups:
            futures = self._submit(groups)
            for b, members in enumerate(self.blocks):
                self._futures[b] = [futures[i] for i in members]

    def _submit(self, groups: list[np.ndarray]) -> list[tuple[Any, list[Unit]]]:
        payload = [g.tolist() for g in groups]
        futs = self.client.map(compute_group, payload, job=self._job_future, pure=False,
                               resources=self.resources)
        return [(f, [(tuple(r[:-1]), r[-1]) for r in rows])
                for f, rows in zip(futs, payload, strict=True)]

    def block_units(self, b: int) -> np.ndarray:
        """The units of block ``b`` (rows: indices, replica)."""
        return np.concatenate([self.groups[i] for i in self.blocks[b]])

    def collect(self, b: int, attempt: int = 1, final: bool = True) -> dict[str, Any]:
        """Wait for block ``b``'s groups, hand every outcome to the writer, flush.

        A later ``attempt`` first resubmits the block's units that have not succeeded. Raises
        :class:`BatchFailed` when units failed (recorded, ``failed`` set when ``final``).
        """
        from distributed import as_completed

        if attempt > 1:
            with self._lock:
                left = [np.array([r for r in self.groups[i].tolist()
                                  if (tuple(r[:-1]), r[-1]) not in self.succeeded],
                                 dtype=np.int64) for i in self.blocks[b]]
            self._futures[b] = self._submit([g for g in left if len(g)])
        pending = {fut: units for fut, units in self._futures.get(b, [])}
        computed = 0
        failures: list[str] = []
        grid = self.job.grid
        for fut in as_completed(list(pending)):
            units = pending.pop(fut)
            try:
                outcomes = fut.result()
            except Exception as exc:  # the task itself died (e.g. KilledWorker)
                outcomes = [(u, None, 0.0, f"{type(exc).__name__}: {exc}") for u in units]
            fut.release()
            for unit, values, elapsed, error in outcomes:
                if values is None:
                    self.writer.add_failure(unit, grid.point(unit[0]), str(error), final)
                    failures.append(f"{grid.label(unit[0])} {self.job.model.replica_dim}="
                                    f"{unit[1]}: {str(error).splitlines()[0]}")
                else:
                    self.writer.add(unit, values, elapsed)
                    computed += 1
                    with self._lock:
                        self.succeeded.add(unit)
        self.writer.flush()
        with self._lock:
            self.computed += computed
        if failures:
            shown = "; ".join(failures[:3]) + (" ..." if len(failures) > 3 else "")
            raise BatchFailed(f"{len(failures)} units failed: {shown}")
        return {"computed": computed, "units": len(self.block_units(b))}
