"""End to end through Prefect and a local Dask cluster: reproducibility, resume, extension.

Every run here is a real Prefect flow on a real LocalCluster of worker processes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from flows.sweep import run_sweep
from statmech.config import parse_config

TEXT = """
model: ising2d
axes: {{L: [4, 8], T: [1.8, 2.4, 3.1]}}
fixed: {{B: 0.1}}
settings: {{thermalization: 100, sweeps: 4000, algorithm: heatbath}}
replicas: 2
seed: 99
store: {store}
batch: {{size: {size}}}
"""

VALUES = ("e", "e_err", "abs_m", "m2", "m4", "C", "chi", "U4", "tau_e", "acceptance")


def sweep(store: Path, size: int = 1, text: str = TEXT):  # type: ignore[no-untyped-def]
    return parse_config(text.format(store=store, size=size))


def values(path: Path) -> xr.Dataset:
    """The stored numbers (run provenance such as times and hashes left out)."""
    ds = xr.open_zarr(path).load()[[*VALUES, "done"]]
    ds.attrs = {}
    return ds


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> Path:
    """One worker, one unit per batch."""
    path = tmp_path_factory.mktemp("ref") / "ref.zarr"
    summary = run_sweep(sweep(path, size=1), workers=1)
    assert summary["computed"] == 12 and summary["missing"] == 0 and summary["batches"] == 12
    return path


def test_bitwise_identical_for_workers_and_batch_sizes(reference: Path, tmp_path: Path) -> None:
    other = tmp_path / "two.zarr"
    summary = run_sweep(sweep(other, size=5), workers=2)
    assert summary["batches"] == 3
    # what the command's "cluster busy" row is made of: every unit's stored compute time
    assert summary["worker_threads"] == 2
    elapsed = xr.open_zarr(other)["elapsed"].values
    assert summary["compute_seconds"] == pytest.approx(float(elapsed.sum()), rel=1e-9)
    assert summary["busy"] == pytest.approx(
        summary["compute_seconds"] / (2 * summary["wall_seconds"]))
    assert 0 < summary["busy"] <= 1
    xr.testing.assert_identical(values(reference), values(other))
    assert bool(values(other)["done"].all())


def test_rerun_skips_every_point(reference: Path) -> None:
    before = values(reference)
    summary = run_sweep(sweep(reference), workers=1)
    assert summary["skipped"] == 12 and summary["computed"] == 0 and summary["batches"] == 0
    xr.testing.assert_identical(before, values(reference))


def test_adding_a_temperature_changes_no_existing_point(reference: Path, tmp_path: Path) -> None:
    text = TEXT.replace("[1.8, 2.4, 3.1]", "[1.8, 2.2, 2.4, 3.1]")
    new = tmp_path / "more.zarr"
    run_sweep(sweep(new, text=text), workers=2)
    a = values(reference)
    b = values(new).sel(T=[1.8, 2.4, 3.1])
    xr.testing.assert_identical(a, b)
    # extending the reference store in place computes only the new temperature
    ext = tmp_path / "ext.zarr"
    subprocess.run(["cp", "-r", str(reference), str(ext)], check=True)
    summary = run_sweep(sweep(ext, text=text), workers=1, extend=True)
    assert summary["state"] == "extended" and summary["computed"] == 4 and summary["skipped"] == 12
    xr.testing.assert_identical(values(ext).sortby("T"), values(new))


def test_physics_of_the_stored_sweep(reference: Path) -> None:
    from statmech.analysis import replica_mean
    from statmech.theory.ising import dos_2d, moments

    ds = xr.open_zarr(reference).sel(L=4)
    mean, err = replica_mean(ds, "e")
    exact = np.array([moments(dos_2d(4), T, 0.1)["e"] for T in ds["T"].values])
    assert np.all(np.abs(mean.values - exact) < 4 * err.values)


def test_cli_end_to_end_status_and_refusal(reference: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text(TEXT.format(store=reference, size=1))
    env_py = [sys.executable, "-m", "statmech"]
    out = subprocess.run([*env_py, "sweep", str(cfg)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Skipping 12 units" in out.stdout
    status = subprocess.run([*env_py, "status", str(reference)], capture_output=True, text=True)
    assert status.returncode == 0 and "12 / 12" in status.stdout
    cfg.write_text(TEXT.format(store=reference, size=1).replace("seed: 99", "seed: 98"))
    refused = subprocess.run([*env_py, "sweep", str(cfg)], capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 3 and "different sweep" in refused.stderr
