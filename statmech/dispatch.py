"""Units to Dask and results to the store: the sweep process's side of a run (no Prefect here).

A run's missing units are cut into *groups* (one Dask task each, sized by
:func:`statmech.grid.group_seconds` from the model's cost estimate and the number of worker
threads) and the groups into a bounded number of *blocks* (one Prefect task run each, see
:mod:`flows.sweep`). :class:`Dispatcher` scatters the validated :class:`~statmech.runner.Job` to
every worker once and submits every group at once, longest first (Dask starts them as threads
free up). One *collector* thread takes the groups as they finish, in batches (the results of
a batch fetched in one request, not one round trip each), and hands them to the store's single
writer (:class:`statmech.writer.ChunkWriter`); :meth:`Dispatcher.collect` only waits for one
block to be complete and reports it, so the rate at which results reach the store does not
depend on how many Prefect task runs are active. A retried block resubmits only its units that
have not succeeded.
"""

from __future__ import annotations

import os
import threading
import time
from asyncio import CancelledError
from typing import Any

import numpy as np

from statmech.grid import Unit, split_blocks
from statmech.runner import BatchFailed, Job, Outcome, compute_group_packed, unpack
from statmech.writer import ChunkWriter

#: seconds the scheduler takes to start a submitted group (~0.35 ms on 2 busy cores), at most
#: DISPATCH_SECONDS_MAX in all: how long the collector waits before it tracks submitted groups,
#: and the first wave before the rest is submitted
DISPATCH_SECONDS_PER_GROUP = 0.35e-3
DISPATCH_SECONDS_MAX = 1.0


def worker_slots(client: Any) -> int:
    """Worker threads of the cluster (at least 1)."""
    workers = client.scheduler_info().get("workers", {}).values()
    return max(sum(int(w.get("nthreads", 1)) for w in workers), 1)


def max_blocks() -> int | None:
    """``STATMECH_MAX_BLOCKS`` if set (fewer Prefect task runs, e.g. in tests), else ``None``."""
    value = os.environ.get("STATMECH_MAX_BLOCKS")
    return int(value) if value else None


class Dispatcher:
    """Submits the groups of a run to Dask; a collector thread streams results into the writer.

    Use as a context manager (or call :meth:`close`): the collector stops on exit.
    """

    def __init__(self, client: Any, job: Job, writer: ChunkWriter, groups: list[np.ndarray],
                 resources: dict[str, float] | None = None, blocks: int | None = None):
        from distributed import as_completed

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
        self._owner: dict[Any, tuple[int, list[Unit]]] = {}  # future -> (block, units)
        self._left = [0] * len(self.blocks)  # futures of each block not yet collected
        self._complete = [threading.Event() for _ in self.blocks]
        self._failures: list[list[tuple[Unit, str]]] = [[] for _ in self.blocks]
        self._computed_in = [0] * len(self.blocks)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._ac = as_completed(loop=client.loop, with_results=False)
        self._job_future = client.scatter(job, broadcast=True, hash=False) if groups else None
        if groups:
            writer.expect(np.concatenate(groups))
            block_of = {i: b for b, members in enumerate(self.blocks) for i in members}
            tagged = [(block_of[i], g) for i, g in enumerate(groups)]
            first = worker_slots(client)
            self._submit(tagged[:first])
            if len(tagged) > first:
                # The first wave goes out on its own: the scheduler takes in a graph as a whole
                # before it starts any of it, and sends it to the workers before the rest
                # arrives. Measured with 3072 groups on 8 x 128 threads: submitted together,
                # each thread idled 1.25-1.47 s before its first group; the first wave alone,
                # the rest 0.3 s later, 0.72-0.93 s (docs/scale.md, run 8). The rest is not
                # needed before the smallest first group ends: by the plan's floor on the
                # group size (grid.group_seconds), at least 4 x this wait.
                time.sleep(self._dispatch_seconds(first))
                self._submit(tagged[first:])
        self._thread = threading.Thread(target=self._run, name="statmech-collect", daemon=True)
        self._thread.start()

    def _submit(self, groups: list[tuple[int, np.ndarray]]) -> None:
        payload = [g.tolist() for _, g in groups]
        futs = self.client.map(compute_group_packed, payload, job=self._job_future, pure=False,
                               resources=self.resources)
        with self._lock:
            for fut, (b, _), rows in zip(futs, groups, payload, strict=True):
                self._owner[fut] = (b, [(tuple(r[:-1]), r[-1]) for r in rows])
                self._left[b] += 1
                self._complete[b].clear()
        # Tracked from the client's event loop (from this thread, as_completed.update wakes the
        # loop once per future: 0.7 s for 2768 groups on 2 busy cores), and only once the
        # scheduler has had time to start the first wave: tracking a future costs the loop,
        # which the scheduler shares in a local cluster, about as much as dispatching it.
        # Measured with 2768 groups on 8 x 128 threads: tracked at once, the first group began
        # 0.84-1.17 s after submission and the 1024th 1.20-2.08 s; tracked 1 s later, 0.53 s
        # and 0.78-1.00 s (docs/scale.md, run 5). A group done before it is tracked is
        # collected when it is.
        delay = self._dispatch_seconds(len(futs))
        self.client.loop.add_callback(self.client.loop.call_later, delay, self._track, futs)

    @staticmethod
    def _dispatch_seconds(groups: int) -> float:
        """About how long the scheduler takes to start ``groups`` groups (at most 1 s)."""
        return min(DISPATCH_SECONDS_MAX, DISPATCH_SECONDS_PER_GROUP * groups)

    def _track(self, futs: list[Any]) -> None:
        """On the client's event loop: have the collector take ``futs`` as they finish."""
        if not self._stop.is_set():
            self._ac.update(futs)

    # ------------------------------------------------------------------ the collector thread
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    batch = self._ac.next_batch(block=True)
                except StopIteration:  # nothing in flight (between retries, or done)
                    self._stop.wait(0.05)
                    continue
                self._take(batch)
        except BaseException as exc:  # e.g. the store became unwritable: every block fails
            self._error = exc
            for event in self._complete:
                event.set()

    def _results(self, batch: list[Any]) -> list[Any]:
        """The outcomes of finished groups, or the exception of a group whose task died.

        One gather for the whole batch (one request, not one per group); should it fail (a
        result lost with its worker, a cancelled group), each group is asked on its own.
        """
        finished = [f for f in batch if f.status == "finished"]
        got: dict[Any, Any] = {}
        if finished:
            try:
                got = dict(zip(finished, self.client.gather(finished), strict=True))
            except (Exception, CancelledError):
                got = {}
        out: list[list[Outcome] | BaseException] = []
        for fut in batch:
            if fut in got:
                out.append(unpack(got[fut]))
                continue
            try:
                out.append(unpack(fut.result()))
            except (Exception, CancelledError) as exc:  # the task died (e.g. KilledWorker)
                out.append(exc)
        return out

    def _take(self, batch: list[Any]) -> None:
        for fut, result in zip(batch, self._results(batch), strict=True):
            with self._lock:
                b, units = self._owner.pop(fut)
            if isinstance(result, BaseException):
                outcomes = [(u, None, 0.0, f"{type(result).__name__}: {result}") for u in units]
            else:
                outcomes = result
            fut.release()
            done: list[Unit] = []
            failed: list[tuple[Unit, str]] = []
            for unit, values, elapsed, error in outcomes:
                if values is None:
                    failed.append((unit, str(error)))
                else:
                    self.writer.add(unit, values, elapsed)
                    done.append(unit)
            with self._lock:
                self.succeeded.update(done)
                self.computed += len(done)
                self._computed_in[b] += len(done)
                self._failures[b].extend(failed)
                self._left[b] -= 1
                if self._left[b] == 0:
                    self._complete[b].set()

    # ------------------------------------------------------------------ per block
    def block_units(self, b: int) -> np.ndarray:
        """The units of block ``b`` (rows: indices, replica)."""
        return np.concatenate([self.groups[i] for i in self.blocks[b]])

    def collect(self, b: int, attempt: int = 1, final: bool = True) -> dict[str, Any]:
        """Wait until every group of block ``b`` is in the writer, then flush.

        A later ``attempt`` first resubmits the block's units that have not succeeded. Raises
        :class:`BatchFailed` when units failed (their errors recorded, ``failed`` set when
        ``final``).
        """
        if attempt > 1:
            with self._lock:
                left = [np.array([r for r in self.groups[i].tolist()
                                  if (tuple(r[:-1]), r[-1]) not in self.succeeded],
                                 dtype=np.int64) for i in self.blocks[b]]
                self._failures[b] = []
                self._computed_in[b] = 0
            self._submit([(b, g) for g in left if len(g)])
        self._complete[b].wait()
        if self._error is not None:
            raise self._error
        with self._lock:
            failures = [(u, m) for u, m in self._failures[b] if u not in self.succeeded]
            computed = self._computed_in[b]
        grid = self.job.grid
        for unit, message in failures:
            self.writer.add_failure(unit, grid.point(unit[0]), message, final)
        self.writer.flush()
        if failures:
            shown = "; ".join(f"{grid.label(u[0])} {self.job.model.replica_dim}={u[1]}: "
                              f"{m.splitlines()[0] if m else ''}" for u, m in failures[:3])
            raise BatchFailed(f"{len(failures)} units failed: {shown}"
                              + (" ..." if len(failures) > 3 else ""))
        return {"computed": computed, "units": len(self.block_units(b))}

    def close(self) -> None:
        """Stop the collector thread (groups still in flight are dropped: an interrupted run)."""
        self._stop.set()
        self._ac.clear()  # else the collector waits for every pending group before it stops
        self._thread.join()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
