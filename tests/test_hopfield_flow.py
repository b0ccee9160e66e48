"""End to end: configs/hopfield-capacity-quick.yaml through Prefect and Dask into a zarr store.

The sweep file CI runs, with its store moved to tmp_path; then the store, the capacity analysis
(retrieval collapses near alpha = 0.14) and the standard figures are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from statmech.analysis import hopfield as an
from statmech.config import load_config
from statmech.models.hopfield.model import VARIABLES
from statmech.theory.hopfield import ags_critical

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_quick_capacity_sweep_end_to_end(prefect_server: str, tmp_path: Path) -> None:
    from flows.sweep import run_sweep

    sweep = load_config(ROOT / "configs" / "hopfield-capacity-quick.yaml")
    sweep = sweep.with_overrides(store=str(tmp_path / "quick.zarr"))
    summary = run_sweep(sweep, workers=2)
    n_units = 3 * 11 * sweep.replicas
    assert summary["total"] == n_units and summary["computed"] == n_units
    assert summary["failed"] == 0 and summary["missing"] == 0

    ds = xr.open_zarr(sweep.store)
    assert ds.attrs["model"] == "hopfield" and ds.attrs["replica_dim"] == "sample"
    assert "J_ij = (1/N) sum_mu xi_i^mu xi_j^mu" in ds.attrs["conventions"]
    assert json.loads(ds.attrs["settings"])["dynamics"] == "async"
    assert dict(ds.sizes) == {"N": 3, "alpha": 11, "sample": sweep.replicas, "trial": 5}
    for v in VARIABLES:
        assert ds[v.name].dims == ("N", "alpha", "sample", *v.dims)
        assert ds[v.name].attrs["units"] == v.units
    ds = an.load(ds)
    assert bool(ds["done"].all())
    np.testing.assert_array_equal(
        ds["p"].isel(sample=0).values,
        np.floor(np.outer(ds["N"].values, ds["alpha"].values) + 0.5 + 1e-9))
    assert bool(ds["converged"].all()) and bool(ds["fixed_point"].all())

    # retrieval collapses near alpha ~ 0.14: perfect below 0.1, gone at 0.25 for N = 1000
    P, _ = an.retrieval_probability(ds)
    assert float(P.sel(alpha=slice(None, 0.1)).min()) > 0.95
    assert float(P.sel(N=1000, alpha=0.25)) < 0.05
    m, _ = an.mean_overlap(ds)
    assert float(m.sel(N=1000, alpha=0.02)) == 1.0 and float(m.sel(N=1000, alpha=0.25)) < 0.5
    est, fit = an.capacity_summary(ds, n_boot=300)
    ac = est["alpha_c"].values
    assert np.all(np.isfinite(ac)) and np.all((ac > 0.14) & (ac < 0.21))
    assert ac[-1] < ac[0]  # the finite-size crossing moves down towards alpha_c with N
    assert fit is not None
    z = (fit.alpha_inf - ags_critical().alpha_c) / fit.alpha_inf_err
    assert abs(z) < 4, f"alpha_inf = {fit.alpha_inf:.4f} ± {fit.alpha_inf_err:.4f}"

    from statmech.plots import write_figures

    paths = write_figures(xr.open_zarr(sweep.store), tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["capacity.png", "overlap.png"]
