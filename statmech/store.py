"""The zarr v3 store of a sweep: a self-describing xarray dataset filled unit by unit.

Layout. Dimensions are the sweep's axes (in config order), then the replica dimension (``replica``
or ``sample``), then any extra dimensions a variable declares. Every axis carries its coordinate
values. Every variable is chunked one unit per chunk (chunk length 1 along the axes and the
replica dimension, full length along extra dimensions), so no two units ever share a chunk and
writers never race. Besides the model's variables the store holds

* ``done`` (bool): the unit's values are on disk (written *after* the values, so a crash in
  between only causes a recompute);
* ``failed`` (bool: failed after all retries), ``error`` (text: the last error of the unit as
  JSON with time, message and traceback, empty when none) and ``elapsed`` (compute seconds);
* root attributes: conventions, the sweep file's text and hashes, provenance and run history.

Template first, regions after: :meth:`Store.create` writes metadata and coordinates only (xarray,
``compute=False``); workers then write each unit's chunks directly with zarr. Missing units read
as the fill value (NaN for floats), so ``xr.open_zarr`` always works, also mid-sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import warnings
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr
from zarr.core.sync import sync as zarr_sync

from statmech.config import Sweep
from statmech.grid import Grid, Unit
from statmech.models.base import Variable

SCHEMA_VERSION = 1
BOOKKEEPING = ("done", "failed", "error", "elapsed")


class StoreMismatchError(RuntimeError):
    """The store at this path was made from a different sweep."""


class StoreBusyError(RuntimeError):
    """Another sweep is running on this store."""


def lock_path(store: str | os.PathLike[str]) -> Path:
    """The lock file of a store: a sibling ``<store>.lock`` (it can exist before the store)."""
    p = Path(store)
    return p.with_name(p.name + ".lock")


@contextlib.contextmanager
def store_lock(store: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the store for one sweep; a second sweep on the same store is refused.

    The lock is a file created with O_EXCL holding the owner's host, pid and start time. A lock
    left by a process that no longer exists on this host is taken over; a lock from another
    host must be removed by hand (the message says how).
    """
    path = lock_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "since": datetime.now(UTC).isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = json.loads(path.read_text())
            except (OSError, ValueError):
                owner = {}
            if owner.get("host") == me["host"] and not _alive(int(owner.get("pid", -1))):
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            raise StoreBusyError(
                f"{store} is being computed by pid {owner.get('pid')} on {owner.get('host')} "
                f"since {owner.get('since')}; wait for it, or remove {path} if that sweep is "
                "dead."
            ) from None
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(me))
        break
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def grid_of(sweep: Sweep) -> Grid:
    """The grid of a sweep."""
    return Grid(sweep.axes, sweep.fixed, sweep.replicas)


def _bookkeeping_vars() -> tuple[Variable, ...]:
    return (
        Variable("done", "unit computed and written", dtype="bool"),
        Variable("failed", "unit failed after all retries (see statmech status)", dtype="bool"),
        Variable("error", "last error of the unit (JSON: time, final, error), empty if none",
                 dtype="object"),
        Variable("elapsed", "compute time of the unit", units="s", dtype="float64"),
    )


class Store:
    """A sweep's zarr store on a (shared) file system."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    # ------------------------------------------------------------------ creation and checks
    def exists(self) -> bool:
        """Whether a zarr group is present at the path."""
        return (self.path / "zarr.json").exists()

    def template(self, sweep: Sweep) -> xr.Dataset:
        """The lazy (dask-backed, fill-valued) dataset describing the complete store."""
        model = sweep.model
        grid = grid_of(sweep)
        base_dims = (*sweep.axes, model.replica_dim)
        coords: dict[str, Any] = {}
        for name, values in sweep.axes.items():
            p = model.parameter(name)
            coords[name] = xr.Variable(name, values, {"long_name": p.doc, "units": p.units})
        coords[model.replica_dim] = xr.Variable(
            model.replica_dim, np.arange(sweep.replicas),
            {"long_name": f"independent {model.replica_dim} index"},
        )
        extra = model.extra_coords(sweep.settings, sweep.axes)
        for name, values in extra.items():
            coords[name] = xr.Variable(name, np.asarray(values))
        data_vars = {}
        for var in (*model.variables(sweep.settings), *_bookkeeping_vars()):
            dims = base_dims + var.dims
            shape = grid.shape + tuple(len(extra[d]) for d in var.dims)
            chunks = (1,) * len(base_dims) + tuple(len(extra[d]) for d in var.dims)
            arr = da.full(shape, var.fill_value, dtype=var.dtype, chunks=chunks)
            attrs = {"long_name": var.long_name, "units": var.units, **var.attrs}
            if var.description:
                attrs["description"] = var.description
            data_vars[var.name] = xr.Variable(dims, arr, attrs)
        fixed = {k: v for k, v in sweep.fixed.items()}
        attrs = {
            "title": f"statmech sweep {sweep.name}: {model.summary}",
            "model": model.name,
            "conventions": model.conventions,
            "replica_dim": model.replica_dim,
            "fixed_parameters": json.dumps(fixed),
            "statmech_schema": SCHEMA_VERSION,
            "config_text": sweep.text,
            "config_hash": sweep.config_hash,
            "physics_hash": sweep.physics_hash,
            "settings": json.dumps(sweep.settings.model_dump(mode="json")),
            "seed": sweep.seed,
            "history": "[]",
        }
        return xr.Dataset(data_vars, coords, attrs)

    def create(self, sweep: Sweep, provenance: Mapping[str, Any]) -> None:
        """Write the template (metadata and coordinates, no data chunks)."""
        ds = self.template(sweep)
        ds.attrs.update({k: _jsonable(v) for k, v in provenance.items()})
        encoding = {}
        for name, var in ds.data_vars.items():
            chunks = tuple(c[0] for c in var.chunks)
            enc: dict[str, Any] = {"chunks": chunks, "fill_value": _fill(var.dtype)}
            if int(np.prod(chunks)) * var.dtype.itemsize < 256:
                enc["compressors"] = None  # compressing a few bytes only costs time
            encoding[name] = enc
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _quiet_consolidation(), warnings.catch_warnings():
            # the object (text) variable "error" is filled with "" in memory: that is intended
            warnings.filterwarnings("ignore", category=xr.SerializationWarning)
            ds.to_zarr(
                self.path, mode="w-", compute=False, zarr_format=3, consolidated=True,
                encoding=encoding,
            )

    def attrs(self) -> dict[str, Any]:
        """Root attributes."""
        return dict(zarr.open_group(self.path, mode="r").attrs)

    def check_compatible(self, sweep: Sweep) -> str:
        """Compare with a sweep: ``"same"`` or ``"extends"`` (same physics, more axis values).

        Raises :class:`StoreMismatchError` with the differences otherwise.
        """
        attrs = self.attrs()
        if attrs.get("statmech_schema") != SCHEMA_VERSION:
            raise StoreMismatchError(
                f"{self.path} has store schema {attrs.get('statmech_schema')!r}; this statmech "
                f"writes schema {SCHEMA_VERSION}. Use a new store path."
            )
        if attrs.get("config_hash") == sweep.config_hash:
            return "same"
        if attrs.get("physics_hash") != sweep.physics_hash:
            old = _physics_from_attrs(attrs)
            new = sweep.physics()
            diffs = [f"{k}: store has {old.get(k)!r}, config has {new[k]!r}"
                     for k in new if old.get(k) != new[k]]
            raise StoreMismatchError(
                f"{self.path} was made from a different sweep ("
                + "; ".join(diffs or ["config hash differs"])
                + "). Use another store path, or delete the store to start over."
            )
        ds = open_dataset(self.path)
        for name, values in sweep.axes.items():
            old_vals = ds[name].values
            missing = set(old_vals.tolist()) - set(values.tolist())
            if missing:
                raise StoreMismatchError(
                    f"{self.path}: axis {name} in the store has values {sorted(missing)} that "
                    "the config lacks; a store can only be extended, never shrunk."
                )
        return "extends"

    def extend(self, sweep: Sweep) -> dict[str, list[Any]]:
        """Append the sweep's new axis values to the store (same physics, see ``extends``).

        New values go at the end of their axis (coordinates need not be sorted; analysis sorts).
        Existing chunks are untouched. Returns the added values per axis.
        """
        group = zarr.open_group(self.path, mode="r+")
        ds = open_dataset(self.path)
        added: dict[str, list[Any]] = {}
        for name, values in sweep.axes.items():
            old = ds[name].values.tolist()
            new = [v for v in values.tolist() if v not in set(old)]
            if not new:
                continue
            added[name] = new
            coord = group[name]
            assert isinstance(coord, zarr.Array)
            n_old = coord.shape[0]
            coord.resize((n_old + len(new),))
            coord[n_old:] = np.asarray(new, dtype=coord.dtype)
            for arr_name, arr in group.arrays():
                dims = arr.metadata.dimension_names or ()  # type: ignore[union-attr]
                if name in dims and arr_name != name:
                    shape = list(arr.shape)
                    shape[dims.index(name)] += len(new)
                    arr.resize(tuple(shape))
        attrs = dict(group.attrs)
        attrs["config_text"] = sweep.text
        attrs["config_hash"] = sweep.config_hash
        group.attrs.update(attrs)
        _consolidate(self.path)
        return added

    # ------------------------------------------------------------------ progress
    def grid(self) -> tuple[list[str], dict[str, np.ndarray], int]:
        """Axis names, their stored values and the replica count."""
        ds = open_dataset(self.path)
        rep = ds.attrs["replica_dim"]
        names = [d for d in ds["done"].dims if d != rep]
        return names, {n: ds[n].values for n in names}, ds.sizes[rep]

    def done_mask(self) -> np.ndarray:
        """Boolean mask over (axes..., replica): units on disk."""
        return np.asarray(zarr.open_array(self.path / "done", mode="r")[...], dtype=bool)

    def failed_mask(self) -> np.ndarray:
        """Boolean mask over (axes..., replica): units that failed after all retries."""
        return np.asarray(zarr.open_array(self.path / "failed", mode="r")[...], dtype=bool)

    def missing_units(self) -> list[Unit]:
        """Units not yet done, in C order."""
        done = self.done_mask()
        return [(tuple(int(i) for i in idx[:-1]), int(idx[-1]))
                for idx in np.argwhere(~done)]

    def errors(self) -> list[dict[str, Any]]:
        """Recorded errors (unit, point, error, final, time), newest last."""
        text = np.asarray(zarr.open_array(self.path / "error", mode="r")[...], dtype=object)
        out = [json.loads(t) for t in text.ravel() if t]
        return sorted(out, key=lambda e: e.get("time", ""))

    # ------------------------------------------------------------------ provenance
    def update_attrs(self, **attrs: Any) -> None:
        """Merge root attributes (from the flow process only) and re-consolidate metadata."""
        group = zarr.open_group(self.path, mode="r+")
        group.attrs.update({k: _jsonable(v) for k, v in attrs.items()})
        _consolidate(self.path)

    def append_history(self, entry: Mapping[str, Any]) -> None:
        """Add one run's record to the ``history`` attribute (JSON list)."""
        history = json.loads(self.attrs().get("history", "[]"))
        history.append({k: _jsonable(v) for k, v in entry.items()})
        self.update_attrs(history=json.dumps(history))


class UnitWriter:
    """Writes units into an existing store (used on the workers; one per batch).

    The chunks of one unit are written concurrently through zarr's asynchronous API (a unit has
    two dozen tiny chunks; writing them one after the other costs several times longer), then
    the ``done`` flag, strictly after.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.group = zarr.open_group(self.path, mode="r+")
        self._arrays: dict[str, zarr.Array] = {}

    def _array(self, name: str) -> zarr.Array:
        if name not in self._arrays:
            arr = self.group[name]
            assert isinstance(arr, zarr.Array)
            self._arrays[name] = arr
        return self._arrays[name]

    def is_done(self, unit: Unit) -> bool:
        """Whether the unit is already on disk (a retried batch skips it)."""
        idx, rep = unit
        return bool(self._array("done")[(*idx, rep)])

    def write(self, unit: Unit, values: Mapping[str, np.ndarray], elapsed: float) -> None:
        """Write every variable of one unit, then mark it done (in that order)."""
        idx, rep = unit
        key = (*idx, rep)
        items = [*values.items(), ("elapsed", np.float64(elapsed)), ("failed", np.False_),
                 ("error", "")]
        arrays = [self._array(name) for name, _ in items]

        async def write_values() -> None:
            await asyncio.gather(*(
                arr._async_array.setitem(key, value)
                for arr, (_, value) in zip(arrays, items, strict=True)
            ))

        zarr_sync(write_values())
        self._array("done")[key] = True

    def record_failure(self, unit: Unit, point: Mapping[str, Any], message: str,
                       final: bool) -> None:
        """Keep the error of a unit; with ``final`` also set its ``failed`` flag."""
        idx, rep = unit
        record = {
            "unit": [list(idx), rep],
            "point": {k: _jsonable(v) for k, v in point.items()},
            "error": message,
            "final": final,
            "time": datetime.now(UTC).isoformat(),
        }
        self._array("error")[(*idx, rep)] = json.dumps(record)
        if final:
            self._array("failed")[(*idx, rep)] = True


@contextlib.contextmanager
def _quiet_consolidation() -> Iterator[None]:
    """Consolidated metadata is a zarr-python extension of v3; xarray relies on it to open fast."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        yield


def _consolidate(path: Path) -> None:
    with _quiet_consolidation():
        zarr.consolidate_metadata(path)


def _fill(dtype: Any) -> Any:
    kind = np.dtype(dtype).kind
    return {"f": np.nan, "b": False, "O": ""}.get(kind, 0)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def _physics_from_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    from statmech.config import parse_config

    try:
        return parse_config(attrs["config_text"]).physics()
    except Exception:  # the stored config may come from another statmech version
        return {}


def open_dataset(path: str | os.PathLike[str], only_done: bool = False) -> xr.Dataset:
    """Open a store with xarray (lazily, without dask); ``only_done`` masks units not done.

    ``xr.open_zarr(path)`` works too, but it makes one dask task per stored chunk, and every
    unit has its own chunks: for analysis of a whole store reading without dask
    (``chunks=None``, what this function does) is many times faster.
    """
    ds = xr.open_zarr(path, chunks=None)
    if only_done:
        skip = set(BOOKKEEPING)
        for name in list(ds.data_vars):
            if name not in skip and ds[name].dtype.kind == "f":
                ds[name] = ds[name].where(ds["done"])
    return ds


def units_from(indices: Iterable[Iterable[int]]) -> list[Unit]:
    """Units from JSON-able ``[i0, i1, ..., replica]`` lists."""
    out: list[Unit] = []
    for item in indices:
        vals = [int(v) for v in item]
        out.append((tuple(vals[:-1]), vals[-1]))
    return out
