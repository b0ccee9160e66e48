"""The zarr v3 store of a sweep: a self-describing xarray dataset filled block by block.

Layout (schema 2). Dimensions are the sweep's axes (in config order), then the replica dimension
(``replica`` or ``sample``), then any extra dimensions a variable declares. Every axis carries its
coordinate values. Every variable is chunked the same way along the grid: one chunk covers a C-order
block of up to 8192 units (:func:`statmech.grid.chunk_shape`; full length along extra dimensions),
so a store's object count grows with chunks, never with units. Every chunk is compressed (zstd)
and checksummed (crc32c, checked on every read). Besides the model's variables the store holds

* ``done`` (bool): the unit's values are on disk (written *after* the values, so a crash in
  between only causes a recompute);
* ``failed`` (bool: failed after all retries) and ``elapsed`` (compute seconds);
* the sub-group ``errors``: one text array holding, as JSON, the last error of every unit that
  has one (time, point, message and traceback), keyed by unit; it is not a variable of the root
  dataset, so every variable of ``xr.open_zarr(store)`` is numeric (``ds.where``,
  ``to_netcdf`` and ``to_dataframe`` work) and its size grows with failures only;
* root attributes: conventions, the sweep file's text and hashes, provenance and run history,
  all netCDF-safe (strings and numbers; mappings and lists as JSON text).

zarr has no locks and a chunk is always rewritten whole, so exactly one process writes a store:
the sweep process (:class:`statmech.writer.ChunkWriter`), which buffers the units streamed back
from the workers and rewrites the affected chunks (values first, ``done`` last). Creation is
atomic: the template is written at ``<store>.tmp-<host>-<pid>`` and renamed into place, so a store
that exists is complete. Missing units read as the fill value (NaN for floats), so
``xr.open_zarr`` always works, also mid-sweep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import warnings
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
from zarr.codecs import Crc32cCodec, ZstdCodec

from statmech.config import Sweep
from statmech.grid import Grid, Unit, chunk_shape
from statmech.models.base import Variable

if TYPE_CHECKING:  # xarray and dask are imported where used: `statmech status` stays fast
    import xarray as xr

SCHEMA_VERSION = 2
BOOKKEEPING = ("done", "failed", "elapsed")
ERRORS_ARRAY = "errors/records"


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
        Variable("elapsed", "compute time of the unit", units="s", dtype="float64"),
    )


def compressors(dtype: Any) -> list[Any]:
    """The bytes-to-bytes codecs of every array: zstd, then a crc32c checksum of the chunk."""
    return [ZstdCodec(level=1), Crc32cCodec()]


def store_chunks(sweep_or_model: Any, settings: Any, grid_shape: tuple[int, ...],
                 extra: Mapping[str, int]) -> tuple[int, ...]:
    """Chunk lengths along the grid dimensions for the variables of a model (see module doc)."""
    unit_bytes = 1
    for var in (*sweep_or_model.variables(settings), *_bookkeeping_vars()):
        n = int(np.prod([extra[d] for d in var.dims], dtype=np.int64)) if var.dims else 1
        unit_bytes = max(unit_bytes, n * np.dtype(var.dtype).itemsize)
    return chunk_shape(grid_shape, unit_bytes)


class Store:
    """A sweep's zarr store on a (shared) file system."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    # ------------------------------------------------------------------ creation and checks
    def exists(self) -> bool:
        """Whether a zarr group is present at the path."""
        return (self.path / "zarr.json").exists()

    def template(self, sweep: Sweep, axes: Mapping[str, np.ndarray] | None = None) -> xr.Dataset:
        """The lazy (dask-backed, fill-valued) dataset describing the complete store.

        ``axes`` overrides the sweep's axis values (their order in an existing store).
        """
        import dask.array as da
        import xarray as xr

        model = sweep.model
        axes = dict(sweep.axes if axes is None else axes)
        grid = Grid(axes, sweep.fixed, sweep.replicas)
        base_dims = (*axes, model.replica_dim)
        coords: dict[str, Any] = {}
        for name, values in axes.items():
            p = model.parameter(name)
            coords[name] = xr.Variable(name, values, {"long_name": p.doc, "units": p.units})
        coords[model.replica_dim] = xr.Variable(
            model.replica_dim, np.arange(sweep.replicas),
            {"long_name": f"independent {model.replica_dim} index"},
        )
        extra = model.extra_coords(sweep.settings, axes)
        for name, values in extra.items():
            coords[name] = xr.Variable(name, np.asarray(values))
        sizes = {d: len(v) for d, v in extra.items()}
        gchunks = store_chunks(model, sweep.settings, grid.shape, sizes)
        data_vars = {}
        for var in (*model.variables(sweep.settings), *_bookkeeping_vars()):
            dims = base_dims + var.dims
            shape = grid.shape + tuple(sizes[d] for d in var.dims)
            chunks = gchunks + tuple(sizes[d] for d in var.dims)
            arr = da.full(shape, var.fill_value, dtype=var.dtype, chunks=chunks)
            attrs = {"long_name": var.long_name, "units": var.units,
                     **{k: netcdf_attr(v) for k, v in var.attrs.items()}}
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

    def create(self, sweep: Sweep, provenance: Mapping[str, Any],
               axes: Mapping[str, np.ndarray] | None = None) -> None:
        """Write the template (metadata and coordinates, no data chunks), atomically.

        The store is built at ``<path>.tmp-<host>-<pid>`` and renamed to ``path`` when complete:
        a killed creation leaves no half-made store (its temporary folder is removed by the
        next creation on this host once its process is gone).
        """
        ds = self.template(sweep, axes)
        ds.attrs.update({k: netcdf_attr(v) for k, v in provenance.items()})
        encoding = {}
        for name, var in ds.data_vars.items():
            chunks = tuple(c[0] for c in var.chunks)
            encoding[name] = {"chunks": chunks, "fill_value": _fill(var.dtype),
                              "compressors": compressors(var.dtype)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.path)
        tmp = self.path.with_name(f"{self.path.name}.tmp-{socket.gethostname()}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with _quiet_consolidation():
                ds.to_zarr(tmp, mode="w-", compute=False, zarr_format=3, consolidated=False,
                           encoding=encoding)
                root = zarr.open_group(tmp, mode="r+")
                root.create_array(ERRORS_ARRAY, shape=(1,), dtype=str, fill_value="",
                                  compressors=compressors(str))
                zarr.consolidate_metadata(tmp)
            os.rename(tmp, self.path)  # atomic; replaces an empty folder, refuses a full one
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def attrs(self) -> dict[str, Any]:
        """Root attributes."""
        return dict(zarr.open_group(self.path, mode="r").attrs)

    def check_schema(self) -> None:
        """Raise :class:`StoreMismatchError` naming the fix for a store of another schema."""
        schema = self.attrs().get("statmech_schema")
        if schema != SCHEMA_VERSION:
            raise StoreMismatchError(
                f"{self.path} has store schema {schema!r}; this statmech reads and writes schema "
                f"{SCHEMA_VERSION} (chunks of many units). Convert it with `statmech migrate "
                f"{self.path} NEW_PATH` (bitwise the same numbers), or use a new store path."
            )

    def check_compatible(self, sweep: Sweep) -> str:
        """Compare with a sweep: ``"same"`` or ``"extends"`` (same physics, more axis values).

        Raises :class:`StoreMismatchError` with the differences otherwise.
        """
        self.check_schema()
        attrs = self.attrs()
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
        grows = False
        for name, values in sweep.axes.items():
            old_vals = set(ds[name].values.tolist())
            missing = old_vals - set(values.tolist())
            if missing:
                raise StoreMismatchError(
                    f"{self.path}: axis {name} in the store has values {sorted(missing)} that "
                    "the config lacks; a store can only be extended, never shrunk."
                )
            grows = grows or bool(set(values.tolist()) - old_vals)
        # the same axis values (perhaps in another order, or with other non-physics settings
        # such as batch or cluster) are the same units: the store's order is used
        return "extends" if grows else "same"

    def extend(self, sweep: Sweep) -> dict[str, list[Any]]:
        """Append the sweep's new axis values to the store (same physics, see ``extends``).

        New values go at the end of their axis (coordinates need not be sorted; analysis sorts).
        Existing values are untouched (a chunk at the old end of an axis is later rewritten
        with the new units added beside the old ones, bitwise unchanged). Returns the added
        values per axis.
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
        """Axis names, their stored values and the replica count (from the metadata only)."""
        group = zarr.open_group(self.path, mode="r")
        rep = str(group.attrs["replica_dim"])
        done = group["done"]
        assert isinstance(done, zarr.Array)
        dims = list(done.metadata.dimension_names or ())  # type: ignore[union-attr]
        names = [d for d in dims if d != rep]
        coords = {}
        for n in names:
            arr = group[n]
            assert isinstance(arr, zarr.Array)
            coords[n] = np.asarray(arr[...])
        return names, coords, int(done.shape[dims.index(rep)])

    def done_mask(self) -> np.ndarray:
        """Boolean mask over (axes..., replica): units on disk."""
        return np.asarray(zarr.open_array(self.path / "done", mode="r")[...], dtype=bool)

    def failed_mask(self) -> np.ndarray:
        """Boolean mask over (axes..., replica): units that failed after all retries."""
        return np.asarray(zarr.open_array(self.path / "failed", mode="r")[...], dtype=bool)

    def missing_indices(self) -> np.ndarray:
        """Units not yet done as rows (indices along the axes, replica), in C order."""
        return np.argwhere(~self.done_mask())

    def missing_units(self) -> list[Unit]:
        """Units not yet done, in C order."""
        return [(tuple(row[:-1]), row[-1]) for row in self.missing_indices().tolist()]

    def errors(self) -> list[dict[str, Any]]:
        """Recorded errors (unit, point, error, final, time), newest last."""
        return sorted(read_errors(self.path).values(), key=lambda e: e.get("time", ""))

    def verify(self, repair: bool = True) -> dict[str, Any]:
        """Check every chunk (see :func:`statmech.integrity.verify`)."""
        from statmech.integrity import verify

        return verify(self.path, repair=repair)

    # ------------------------------------------------------------------ provenance
    def update_attrs(self, **attrs: Any) -> None:
        """Merge root attributes (from the flow process only) and re-consolidate metadata."""
        group = zarr.open_group(self.path, mode="r+")
        group.attrs.update({k: netcdf_attr(v) for k, v in attrs.items()})
        _consolidate(self.path)

    def append_history(self, entry: Mapping[str, Any]) -> None:
        """Add one run's record to the ``history`` attribute (JSON list)."""
        history = json.loads(self.attrs().get("history", "[]"))
        history.append({k: _jsonable(v) for k, v in entry.items()})
        self.update_attrs(history=json.dumps(history))


def read_errors(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The error records of a store, keyed by :func:`unit_key`."""
    try:
        arr = zarr.open_array(Path(path) / ERRORS_ARRAY, mode="r")
    except (FileNotFoundError, KeyError, ValueError):
        return {}
    text = str(arr[0])
    return dict(json.loads(text)) if text else {}


def write_errors(path: str | os.PathLike[str], records: Mapping[str, Any]) -> None:
    """Replace the error records (one chunk, written atomically by zarr's local store)."""
    arr = zarr.open_array(Path(path) / ERRORS_ARRAY, mode="r+")
    arr[0] = json.dumps(records, sort_keys=True)


def unit_key(unit: Unit) -> str:
    """Text key of a unit in the error records: indices then replica, comma separated."""
    return ",".join(str(int(i)) for i in (*unit[0], unit[1]))


def error_record(unit: Unit, point: Mapping[str, Any], message: str, final: bool
                 ) -> dict[str, Any]:
    """One unit's error as stored (time in UTC ISO 8601)."""
    return {
        "unit": [[int(i) for i in unit[0]], int(unit[1])],
        "point": {k: _jsonable(v) for k, v in point.items()},
        "error": message,
        "final": final,
        "time": datetime.now(UTC).isoformat(),
    }


def netcdf_attr(v: Any) -> Any:
    """An attribute value netCDF can hold: strings and numbers.

    Mappings and lists become JSON text, ``None`` an empty string, booleans 0/1.
    """
    v = _jsonable(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dict | list):
        return json.dumps(v)
    return v


def json_attr(v: Any) -> Any:
    """Read back an attribute written by :func:`netcdf_attr` (JSON text becomes the object)."""
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _remove_stale_temporaries(path: Path) -> None:
    host = socket.gethostname()
    for tmp in path.parent.glob(f"{path.name}.tmp-{host}-*"):
        try:
            pid = int(tmp.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)


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

    ``xr.open_zarr(path)`` works as well (one dask task per chunk of many units).
    """
    import xarray as xr

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


def migrate(old: str | os.PathLike[str], new: str | os.PathLike[str]) -> int:
    """Rewrite a store of an older schema (1: one chunk per unit) as a schema-2 store at ``new``.

    Every value is copied bitwise (axis order kept), the ``error`` text variable of schema 1
    becomes the error records, provenance and history are kept. Returns the number of units
    done. ``new`` must not exist; ``old`` is left as it was.
    """
    import xarray as xr

    from statmech.config import parse_config

    old_ds = xr.open_zarr(old, chunks=None)
    attrs = dict(old_ds.attrs)
    sweep = parse_config(attrs["config_text"]).with_overrides(store=str(new))
    axes = {name: np.asarray(old_ds[name].values) for name in sweep.axes}
    target = Store(new)
    if target.exists() or (target.path.exists() and any(target.path.iterdir())):
        raise StoreMismatchError(f"{target.path} exists; migrate writes a new store")
    template_keys = set(target.template(sweep, axes).attrs)
    kept = {k: v for k, v in attrs.items() if k not in template_keys or k == "history"}
    target.create(sweep, kept, axes=axes)
    group = zarr.open_group(target.path, mode="r+")
    for name, arr in group.arrays():
        if name in old_ds.data_vars and name not in sweep.axes:
            full = arr.with_config({"write_empty_chunks": True})
            full[...] = np.asarray(old_ds[name].values, dtype=arr.dtype)
    if "error" in old_ds.data_vars:
        records = {}
        for text in np.asarray(old_ds["error"].values, dtype=object).ravel():
            if text:
                rec = json.loads(str(text))
                records[unit_key((tuple(rec["unit"][0]), rec["unit"][1]))] = rec
        if records:
            write_errors(target.path, records)
    target.update_attrs(history=attrs.get("history", "[]"))
    return int(np.asarray(old_ds["done"].values).sum())
