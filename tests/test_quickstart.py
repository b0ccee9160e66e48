"""README command 1, for real: the quickstart sweep through the CLI, then its physics.

This is the representative end-to-end sweep CI runs: a fresh Prefect API server, a LocalCluster
of worker processes, numba compilation, the zarr store, the plots; then every stored energy and
specific heat is compared with Kaufman's exact finite-lattice result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from statmech.analysis import replica_mean
from statmech.theory.ising import kaufman_energy_heat

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_sweep_plots_and_exact_energies(tmp_path: Path) -> None:
    store, plots = tmp_path / "quickstart.zarr", tmp_path / "plots"
    proc = subprocess.run(
        [sys.executable, "-m", "statmech", "sweep", str(ROOT / "configs" / "quickstart.yaml"),
         "--store", str(store), "--plots", str(plots)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Dask dashboard" in proc.stdout
    assert (plots / "observables.png").stat().st_size > 10_000
    ds = xr.open_zarr(store)
    assert bool(ds["done"].all())
    assert ds.attrs["model"] == "ising2d" and ds["C"].attrs["units"] == "k_B"
    worst = 0.0
    for L in ds["L"].values:
        sub = ds.sel(L=L)
        for name, k in (("e", 0), ("C", 1)):
            mean, err = replica_mean(sub, name)
            exact = np.array([kaufman_energy_heat(int(L), float(T))[k] for T in sub["T"].values])
            z = np.abs(mean.values - exact) / err.values
            worst = max(worst, float(z.max()))
    assert worst < 4.0, f"largest deviation from Kaufman's exact result: {worst:.1f} sigma"
