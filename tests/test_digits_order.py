"""Every stored value is at its coordinates, whatever the order and batching (real flow).

The digits model (tests/plugins/digits.py, registered through STATMECH_MODELS) stores
``100 a + 10 b + c`` at the point (a, b, c). The same grid is swept with the axes in different
orders, the values of each axis shuffled, different batch sizes, worker counts and groupings;
every store must hold at each coordinate the value that spells it, and the unit-seeded draws
must agree bitwise between the runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from statmech import models

PLUGINS = Path(__file__).resolve().parent / "plugins"
A, B, C = [1, 2, 3], [4, 5, 6, 7], [8, 9]

RUNS = [  # (axis order, shuffled values, batch, workers, group)
    (("a", "b", "c"), False, {"size": 1}, 1, 1),
    (("c", "a", "b"), True, {"size": 5}, 2, 3),
    (("b", "c", "a"), True, {"target_seconds": 0.0005}, 2, 2),
]


@pytest.fixture
def digits_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """``digits`` registered through STATMECH_MODELS for this process and its workers."""
    monkeypatch.setenv("STATMECH_MODELS", "digits=digits:Digits")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(PLUGINS), os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.syspath_prepend(str(PLUGINS))
    models._registry.cache_clear()
    models.get_model.cache_clear()
    yield
    models._registry.cache_clear()
    models.get_model.cache_clear()


def _config(order: tuple[str, ...], shuffle: bool, batch: dict, group: int, store: Path,
            rng: np.random.Generator) -> str:
    values = {"a": A, "b": B, "c": C}
    axes = {n: (rng.permutation(values[n]).tolist() if shuffle else values[n]) for n in order}
    return yaml.safe_dump({"model": "digits", "axes": axes, "settings": {"group": group},
                           "replicas": 2, "seed": 7, "store": str(store), "batch": batch},
                          sort_keys=False)


def test_every_value_is_at_its_coordinates(
        digits_registered: None, tmp_path: Path, prefect_server: str) -> None:
    from flows.sweep import run_sweep
    from statmech.config import parse_config

    rng = np.random.default_rng(0)
    draws = []
    for i, (order, shuffle, batch, workers, group) in enumerate(RUNS):
        store = tmp_path / f"d{i}.zarr"
        sw = parse_config(_config(order, shuffle, batch, group, store, rng))
        summary = run_sweep(sw, workers=workers)
        assert summary["failed"] == 0 and summary["missing"] == 0
        ds = xr.open_zarr(store).load()
        assert bool(ds["done"].all())
        assert list(ds["done"].dims)[:3] == list(order)
        a, b, c = ds["a"], ds["b"], ds["c"]
        expected = (100 * a + 10 * b + c).broadcast_like(ds["code"])
        np.testing.assert_array_equal(ds["code"].transpose(*expected.dims).values,
                                      expected.values)
        for k, axis in enumerate((a, b, c)):
            np.testing.assert_array_equal(
                ds["digits"].sel(place=k).transpose(*expected.dims).values,
                axis.broadcast_like(ds["code"]).transpose(*expected.dims).values)
        draws.append(ds["draw"].transpose("a", "b", "c", "replica").sortby(["a", "b", "c"]))
    for d in draws[1:]:
        np.testing.assert_array_equal(d.values, draws[0].values)
    assert np.unique(draws[0].values).size == draws[0].size  # every unit its own stream
