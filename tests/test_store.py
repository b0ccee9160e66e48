"""The zarr store: self-describing template, unit writes, refusal of foreign sweeps, extension."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from statmech.config import parse_config
from statmech.plan import preflight, prepare
from statmech.store import Store, StoreMismatchError
from statmech.writer import UnitWriter

TEXT = """
model: ising2d
axes: {{L: [4, 6], T: [2.0, 3.0, 4.0]}}
fixed: {{B: 0.2}}
settings: {{thermalization: 10, sweeps: 640}}
replicas: 2
seed: 3
store: {store}
"""


def sweep_at(path: Path, text: str = TEXT):  # type: ignore[no-untyped-def]
    return parse_config(text.format(store=path))


def test_template_is_self_describing(tmp_path: Path) -> None:
    sw = sweep_at(tmp_path / "s.zarr")
    plan = prepare(sw)
    assert plan.state == "created" and len(plan.missing) == 12
    ds = xr.open_zarr(sw.store)
    assert ds["e"].dims == ("L", "T", "replica")
    assert ds["e"].attrs["units"] == "J" and "energy per spin" in ds["e"].attrs["long_name"]
    assert ds["L"].attrs["long_name"] == "linear lattice size"
    assert "H = -sum_<ij> s_i s_j - B sum_i s_i" in ds.attrs["conventions"]
    for key in ("config_text", "config_hash", "versions", "host", "created", "statmech_version"):
        assert key in ds.attrs
    assert "git_revision" in ds.attrs
    assert np.isnan(ds["e"].values).all() and not ds["done"].values.any()


def test_unit_write_roundtrip_and_missing(tmp_path: Path) -> None:
    sw = sweep_at(tmp_path / "s.zarr")
    prepare(sw)
    point = {"L": 6, "T": 3.0, "B": 0.2}
    values = sw.model.run(point, sw.settings, np.random.SeedSequence(1))
    writer = UnitWriter(sw.store)
    writer.write(((1, 1), 1), values, elapsed=0.25)
    ds = xr.open_zarr(sw.store)
    for name, v in values.items():
        assert ds[name].values[1, 1, 1] == v
    assert ds["done"].values.sum() == 1 and ds["elapsed"].values[1, 1, 1] == 0.25
    assert ((1, 1), 1) not in Store(sw.store).missing_units()
    assert len(Store(sw.store).missing_units()) == 11
    assert writer.is_done(((1, 1), 1)) and not writer.is_done(((1, 1), 0))


def test_failure_record(tmp_path: Path) -> None:
    sw = sweep_at(tmp_path / "s.zarr")
    prepare(sw)
    w = UnitWriter(sw.store)
    w.record_failure(((0, 2), 0), {"L": 4, "T": 4.0}, "ValueError: boom", final=True)
    st = Store(sw.store)
    assert st.failed_mask()[0, 2, 0] and st.errors()[0]["error"] == "ValueError: boom"
    assert st.errors()[0]["point"] == {"L": 4, "T": 4.0} and st.errors()[0]["final"]
    w.write(((0, 2), 0), {"e": np.float64(-1.0)}, elapsed=0.1)
    assert st.errors() == [] and not st.failed_mask()[0, 2, 0]


def test_foreign_sweep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    prepare(sweep_at(path))
    other = sweep_at(path, TEXT.replace("seed: 3", "seed: 4"))
    with pytest.raises(StoreMismatchError, match="seed"):
        preflight(other)
    fewer = sweep_at(path, TEXT.replace("[2.0, 3.0, 4.0]", "[2.0, 3.0]"))
    with pytest.raises(StoreMismatchError, match="never shrunk"):
        preflight(fewer)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_text("x")
    with pytest.raises(StoreMismatchError, match="not a statmech store"):
        preflight(sweep_at(tmp_path / "junk"))


def test_extension_appends_and_keeps_existing_chunks(tmp_path: Path) -> None:
    path = tmp_path / "s.zarr"
    sw = sweep_at(path)
    prepare(sw)
    UnitWriter(path).write(((0, 0), 0), {"e": np.float64(-1.5)}, elapsed=0.1)
    more = sweep_at(path, TEXT.replace("[2.0, 3.0, 4.0]", "[2.0, 2.5, 3.0, 4.0]"))
    with pytest.raises(StoreMismatchError, match="--extend"):
        preflight(more)
    plan = prepare(more, extend=True)
    assert plan.state == "extended"
    ds = xr.open_zarr(path)
    assert ds["T"].values.tolist() == [2.0, 3.0, 4.0, 2.5]  # appended, analysis sorts
    assert ds["e"].values[0, 0, 0] == -1.5 and ds["done"].values.sum() == 1
    assert len(plan.missing) == 2 * 4 * 2 - 1
    assert ds.attrs["config_hash"] == more.config_hash
    assert preflight(more) == "same"
