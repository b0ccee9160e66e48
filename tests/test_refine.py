"""Adaptive refinement near the Binder crossing: new points only, old points untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from flows.sweep import run_sweep
from statmech.analysis import ising
from statmech.config import parse_config

TEXT = """
model: ising2d
axes: {{L: [8, 16], T: [1.9, 2.1, 2.3, 2.5, 2.7]}}
settings: {{thermalization: 1000, sweeps: 20000}}
replicas: 2
seed: 17
store: {store}
"""


@pytest.mark.slow  # two Ising sweeps; refine through the flow: test_plugin_model (quick)
def test_refine_adds_points_at_the_crossing_and_shrinks_the_error(
        tmp_path: Path, prefect_server: str) -> None:
    store = tmp_path / "r.zarr"
    run_sweep(parse_config(TEXT.format(store=store)), workers=2)
    before = xr.open_zarr(store).load()
    tc0 = ising.tc_estimate(before)
    proc = subprocess.run([sys.executable, "-m", "statmech", "refine", str(store), "--near",
                           "binder-crossing", "--points", "4", "--workers", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = xr.open_zarr(store).load()
    new_T = sorted(set(after["T"].values.tolist()) - set(before["T"].values.tolist()))
    assert len(new_T) == 4
    lo, hi = min(tc0.value - 2 * tc0.error, 2.1), max(tc0.value + 2 * tc0.error, 2.3)
    assert all(lo <= t <= hi for t in new_T), (new_T, tc0)
    # only the new units were computed; existing ones are bitwise unchanged
    history = __import__("json").loads(after.attrs["history"])
    assert history[-1]["computed"] == 4 * 2 * 2 and history[-1]["skipped"] == 20
    for name in ("U4", "e", "chi", "elapsed"):
        old = before[name].values
        assert np.array_equal(after[name].sel(T=before["T"].values).values, old)
    assert bool(after["done"].all())
    tc1 = ising.tc_estimate(after)
    assert tc1.error < tc0.error
    assert "binder-crossing" in proc.stdout or "Adding 4 values" in proc.stdout
