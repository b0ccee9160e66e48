"""Integrity of a store: find corrupt, missing or non-finite chunks and make them recomputable.

Every chunk carries a crc32c checksum that zarr checks when it decodes the chunk. :func:`verify`
reads every chunk of every variable: a chunk that fails to decode (checksum mismatch, truncated
or garbled file) is *corrupt*; a chunk file that is absent although units in it are marked done
is *missing* (the writer stores every chunk it writes, even one equal to the fill
value); values that are not finite in a float variable whose attributes say ``finite = 1``
are *non-finite*. With ``repair`` the corrupt chunk files are removed (they then read as the fill
value) and the ``done`` flags of every affected unit are cleared, so the next run of the sweep
recomputes exactly those units (bitwise what an undisturbed run stores: seeds are per unit).
Run it only while no sweep writes the store.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import zarr


def _chunk_file(path: Path, name: str, arr: zarr.Array, coords: tuple[int, ...]) -> Path:
    key = arr.metadata.encode_chunk_key(coords)
    return path / name / key


def verify(path: str | Path, repair: bool = True) -> dict[str, Any]:
    """Check a store chunk by chunk; returns what was found (and, with ``repair``, cleared).

    The report has ``corrupt`` and ``missing`` (lists of ``"variable chunk-key"``),
    ``nonfinite`` (variable -> number of units), ``affected`` (units whose ``done`` flag was or
    would be cleared) and ``checked`` (chunks read).
    """
    path = Path(path)
    group = zarr.open_group(path, mode="r+" if repair else "r")
    done_arr = group["done"]
    assert isinstance(done_arr, zarr.Array)
    gdims = tuple(done_arr.metadata.dimension_names or ())  # type: ignore[union-attr]
    shape, chunks = done_arr.shape, done_arr.chunks
    arrays = {}
    for name, arr in group.arrays():
        dims = tuple(arr.metadata.dimension_names or ())  # type: ignore[union-attr]
        if dims[: len(gdims)] == gdims:
            arrays[name] = arr
    grid_chunks = [range(-(-s // c)) for s, c in zip(shape, chunks, strict=True)]
    corrupt: list[str] = []
    missing: list[str] = []
    nonfinite: dict[str, int] = {}
    clear = np.zeros(shape, dtype=bool)
    checked = 0
    for chunk in itertools.product(*grid_chunks):
        region = tuple(slice(c * n, min((c + 1) * n, s))
                       for c, n, s in zip(chunk, chunks, shape, strict=True))
        try:
            done = np.asarray(done_arr[region], dtype=bool)
        except Exception:  # the done mask itself is unreadable: nothing in it counts as done
            corrupt.append(f"done {done_arr.metadata.encode_chunk_key(chunk)}")
            if repair:
                _chunk_file(path, "done", done_arr, chunk).unlink(missing_ok=True)
            continue
        checked += 1
        if not done.any():
            continue
        for name, arr in arrays.items():
            if name == "done":
                continue
            coords = chunk + (0,) * (arr.ndim - len(gdims))
            label = f"{name} {arr.metadata.encode_chunk_key(coords)}"
            checked += 1
            if not _chunk_file(path, name, arr, coords).exists():
                missing.append(label)
                clear[region] |= done
                continue
            try:
                block = np.asarray(arr[region])
            except Exception:  # checksum mismatch, truncated or undecodable chunk
                corrupt.append(label)
                clear[region] |= done
                if repair:
                    _chunk_file(path, name, arr, coords).unlink(missing_ok=True)
                continue
            if block.dtype.kind == "f" and arr.attrs.get("finite", 0) == 1:
                axes = tuple(range(len(gdims), block.ndim))
                bad = ~np.isfinite(block).all(axis=axes) & done
                if bad.any():
                    nonfinite[name] = nonfinite.get(name, 0) + int(bad.sum())
                    clear[region] |= bad
    if repair and clear.any():
        current = np.asarray(done_arr[...], dtype=bool)
        done_arr[...] = current & ~clear
    return {"checked": checked, "corrupt": corrupt, "missing": missing, "nonfinite": nonfinite,
            "affected": int(clear.sum()), "repaired": bool(repair)}
