"""The single writer of a store: buffer units, rewrite whole chunks, values first and ``done`` last.

zarr has no locks and a chunk of a schema-2 store holds many units, so two processes writing
units of one chunk would lose data. One :class:`ChunkWriter` (in the sweep process) therefore
writes everything: the workers return their units' values, the writer buffers them per chunk
and *flushes*: for every chunk touched since the last flush it reads the chunk of every variable,
sets the new units and writes it back (all variables concurrently through zarr's asynchronous
API), then does the same for ``done``. A crash between the two only causes a recompute; a crash
before a flush loses the buffered results, and a flush happens

* as soon as every unit of a chunk planned in this run has arrived (written by the flush
  thread: the thread that added the result goes on taking results meanwhile), and
* at the latest ``flush_seconds`` (10 s by default) after a result arrived (a timer thread),
* and when the run ends.

So a killed sweep process loses at most the results of the last ``flush_seconds`` (plus the
flush in progress). Flushes are serialised by a lock and the buffers by another, so any
number of threads of the sweep process may :meth:`ChunkWriter.add` results, also while a flush
writes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.core.sync import sync as zarr_sync

from statmech.grid import Unit
from statmech.store import error_record, read_errors, unit_key, write_errors

#: seconds between the arrival of a result and its flush at the latest
FLUSH_SECONDS = 10.0

_Entry = tuple[Mapping[str, Any] | None, float, bool]  # (values or None if failed, elapsed, final)


class ChunkWriter:
    """Buffers results of units and writes whole chunks (see the module docstring)."""

    def __init__(self, path: str | Path, flush_seconds: float = FLUSH_SECONDS):
        self.path = Path(path)
        self.flush_seconds = flush_seconds
        group = zarr.open_group(self.path, mode="r+")
        done = group["done"]
        assert isinstance(done, zarr.Array)
        self.grid_dims = tuple(done.metadata.dimension_names or ())  # type: ignore[union-attr]
        self.shape: tuple[int, ...] = done.shape
        self.chunks: tuple[int, ...] = done.chunks
        self.arrays: dict[str, zarr.Array] = {}
        for name, arr in group.arrays():
            dims = tuple(arr.metadata.dimension_names or ())  # type: ignore[union-attr]
            if dims[: len(self.grid_dims)] == self.grid_dims:
                # every written chunk gets a file, also one equal to the fill value, so that a
                # chunk file absent under done units means a lost chunk (statmech.integrity)
                self.arrays[name] = arr.with_config({"write_empty_chunks": True})
        self._buf: dict[tuple[int, ...], dict[tuple[int, ...], _Entry]] = {}
        self._errors: dict[str, dict[str, Any] | None] = {}  # key -> record, None clears
        self._has_errors = bool(read_errors(self.path))
        self._expected: dict[tuple[int, ...], int] = {}
        self._lock = threading.RLock()  # the buffers
        self._write_lock = threading.Lock()  # one flush at a time
        self._ready: set[tuple[int, ...]] = set()  # chunks whose planned units all arrived
        self._wake = threading.Event()
        self._oldest: float | None = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self.flushed_units = 0
        self.flushes = 0
        self.compute_seconds = 0.0  # of the units added (their ``elapsed``)

    # ------------------------------------------------------------------ bookkeeping
    def _chunk(self, unit: Unit) -> tuple[tuple[int, ...], tuple[int, ...]]:
        idx = (*unit[0], unit[1])
        return (tuple(i // c for i, c in zip(idx, self.chunks, strict=True)),
                tuple(i % c for i, c in zip(idx, self.chunks, strict=True)))

    def expect(self, units: np.ndarray) -> None:
        """Announce units (rows: indices, replica) this run will compute.

        A chunk is flushed as soon as all of its announced units have arrived.
        """
        rows = np.asarray(units, dtype=np.int64).reshape(-1, len(self.chunks))
        if not len(rows):
            return
        chunk_ids, counts = np.unique(rows // np.asarray(self.chunks), axis=0,
                                      return_counts=True)
        with self._lock:
            for chunk, n in zip(map(tuple, chunk_ids.tolist()), counts.tolist(), strict=True):
                self._expected[chunk] = self._expected.get(chunk, 0) + n

    def is_done(self, unit: Unit) -> bool:
        """Whether the unit is marked done on disk."""
        return bool(self.arrays["done"][(*unit[0], unit[1])])

    # ------------------------------------------------------------------ adding results
    def add(self, unit: Unit, values: Mapping[str, Any], elapsed: float) -> None:
        """Buffer one computed unit (validated by the caller)."""
        with self._lock:
            if self._has_errors or self._errors:
                self._errors[unit_key(unit)] = None
            self.compute_seconds += float(elapsed)
        self._put(unit, (values, float(elapsed), False))

    def add_failure(self, unit: Unit, point: Mapping[str, Any], message: str,
                    final: bool) -> None:
        """Keep the error of a unit; with ``final`` also set its ``failed`` flag."""
        with self._lock:
            self._errors[unit_key(unit)] = error_record(unit, point, message, final)
        self._put(unit, (None, float("nan"), final))

    def _put(self, unit: Unit, entry: _Entry) -> None:
        chunk, local = self._chunk(unit)
        with self._lock:
            self._buf.setdefault(chunk, {})[local] = entry
            if self._oldest is None:
                self._oldest = time.monotonic()
            if entry[0] is not None and chunk in self._expected:
                self._expected[chunk] -= 1
                if self._expected[chunk] <= 0:
                    del self._expected[chunk]
                    self._ready.add(chunk)
            ready = bool(self._ready)
        if ready and self._timer is None:  # no flush thread: write here
            self.flush(self._take_ready())
        elif ready:
            self._wake.set()  # the flush thread writes it; the caller goes on

    def _take_ready(self) -> list[tuple[int, ...]]:
        with self._lock:
            ready, self._ready = list(self._ready), set()
        return ready

    # ------------------------------------------------------------------ flushing
    def pending(self) -> int:
        """Units buffered and not yet on disk."""
        with self._lock:
            return sum(len(b) for b in self._buf.values())

    def flush(self, chunks: Iterable[tuple[int, ...]] | None = None) -> int:
        """Write the buffered units (of ``chunks``, default all); returns how many.

        Results go on being added while the chunks are written (only the buffers are locked);
        flushes themselves are serialised, so each chunk's read-set-write is one at a time.
        """
        with self._write_lock:
            with self._lock:
                if chunks is None:
                    buf, self._buf = self._buf, {}
                else:
                    buf = {c: self._buf.pop(c) for c in list(chunks) if c in self._buf}
                if not self._buf:
                    self._oldest = None
                errors, self._errors = self._errors, {}
                if errors:  # records on their way to disk: a unit done meanwhile clears its own
                    self._has_errors = True
            if buf:
                self._write(buf)
            if errors:
                records = read_errors(self.path)
                for key, rec in errors.items():
                    if rec is None:
                        records.pop(key, None)
                    else:
                        records[key] = rec
                write_errors(self.path, records)
                with self._lock:
                    self._has_errors = bool(records)
            n = sum(len(b) for b in buf.values())
            self.flushed_units += sum(1 for b in buf.values() for e in b.values()
                                      if e[0] is not None)
            self.flushes += 1
            return n

    def _region(self, chunk: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(slice(c * n, min((c + 1) * n, s))
                     for c, n, s in zip(chunk, self.chunks, self.shape, strict=True))

    def _write(self, buf: Mapping[tuple[int, ...], Mapping[tuple[int, ...], _Entry]]) -> None:
        async def update(arr: zarr.Array, region: tuple[slice, ...],
                         items: list[tuple[tuple[int, ...], Any]]) -> None:
            block = np.array(await arr._async_array.getitem(region))
            for local, value in items:
                block[local] = value
            await arr._async_array.setitem(region, block)

        def jobs(names: Iterable[str]) -> list[Any]:
            out = []
            for chunk, entries in buf.items():
                region = self._region(chunk)
                for name in names:
                    items: list[tuple[tuple[int, ...], Any]] = []
                    for local, (values, elapsed, final) in entries.items():
                        if values is None:  # a failure: only the failed flag, if final
                            if name == "failed" and final:
                                items.append((local, True))
                        elif name == "elapsed":
                            items.append((local, elapsed))
                        elif name == "failed":
                            items.append((local, False))
                        elif name == "done":
                            items.append((local, True))
                        elif name in values:
                            items.append((local, values[name]))
                    if items:
                        out.append(update(self.arrays[name], region, items))
            return out

        async def run(coros: list[Any]) -> None:
            await asyncio.gather(*coros)

        zarr_sync(run(jobs([n for n in self.arrays if n != "done"])))
        zarr_sync(run(jobs(["done"])))  # strictly after the values

    # ------------------------------------------------------------------ the timer
    def start(self) -> ChunkWriter:
        """Start the timer thread that flushes results older than ``flush_seconds``."""
        def loop() -> None:
            tick = min(1.0, self.flush_seconds / 4)
            while not self._stop.is_set():
                self._wake.wait(tick)
                self._wake.clear()
                ready = self._take_ready()
                if ready:
                    self.flush(ready)
                oldest = self._oldest
                if oldest is not None and time.monotonic() - oldest >= self.flush_seconds:
                    self.flush()

        self._timer = threading.Thread(target=loop, name="statmech-flush", daemon=True)
        self._timer.start()
        return self

    def close(self) -> None:
        """Stop the timer and flush what is left."""
        self._stop.set()
        self._wake.set()
        if self._timer is not None:
            self._timer.join()
        self.flush()

    def __enter__(self) -> ChunkWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class UnitWriter(ChunkWriter):
    """Writes units one at a time, each straight to disk (scripts, tests; one process only)."""

    def write(self, unit: Unit, values: Mapping[str, Any], elapsed: float) -> None:
        """Write every given variable of one unit, then mark it done."""
        self.add(unit, values, elapsed)
        self.flush()

    def record_failure(self, unit: Unit, point: Mapping[str, Any], message: str,
                       final: bool) -> None:
        """Keep the error of a unit; with ``final`` also set its ``failed`` flag."""
        self.add_failure(unit, point, message, final)
        self.flush()
