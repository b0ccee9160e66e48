"""End to end: a small dense-hopfield capacity sweep and a hopfield sweep through Prefect and Dask.

The n = 2 slice of the dense-hopfield store must equal the hopfield store of the same seed, N,
loads, noise, trials and samples bit for bit (both through the real flow). Then the
presentation's figures and estimates are computed on the dense store.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
import yaml

from statmech.analysis import hopfield as hop
from statmech.config import parse_config
from statmech.models.dense_hopfield.model import VARIABLES, n_patterns
from statmech.models.dense_hopfield.presentation import PRESENTATION
from statmech.theory import dense_hopfield as th

ROOT = Path(__file__).resolve().parent.parent
N_VALUES = [24, 48]
ALPHAS = [0.2, 0.3, 0.4, 0.6]
SHARED = {"replicas": 6, "seed": 20261499}
NAMES = ("m", "m_other", "converged", "fixed_point", "sweeps", "flipped", "flips", "unstable0")


def test_quick_config_is_valid() -> None:
    from statmech.config import load_config

    sweep = load_config(ROOT / "configs" / "dense-hopfield-quick.yaml")
    assert sweep.model.name == "dense-hopfield"
    assert set(sweep.axes) == {"N", "n", "alpha"}


@pytest.mark.timeout(400)
def test_small_sweep_end_to_end_and_n2_equals_hopfield(prefect_server: str,
                                                       tmp_path: Path) -> None:
    from flows.sweep import run_sweep

    dense = parse_config(yaml.safe_dump({
        "model": "dense-hopfield", "axes": {"N": N_VALUES, "n": [2, 3], "alpha": ALPHAS},
        "fixed": {"noise": 0.0}, "settings": {"load": "normalised", "trials": 3},
        "store": str(tmp_path / "dense.zarr"), **SHARED}, sort_keys=False))
    hopfield = parse_config(yaml.safe_dump({
        "model": "hopfield", "axes": {"N": N_VALUES, "alpha": ALPHAS},
        "fixed": {"T": 0.0, "noise": 0.0}, "settings": {"dynamics": "async", "trials": 3},
        "store": str(tmp_path / "hopfield.zarr"), **SHARED}, sort_keys=False))
    for sweep, units in ((dense, 2 * 2 * 4 * 6), (hopfield, 2 * 4 * 6)):
        summary = run_sweep(sweep, workers=2)
        assert summary["computed"] == units and summary["failed"] == 0

    d = hop.load(xr.open_zarr(dense.store))
    h = hop.load(xr.open_zarr(hopfield.store))
    assert d.attrs["model"] == "dense-hopfield" and d.attrs["replica_dim"] == "sample"
    assert json.loads(d.attrs["settings"])["load"] == "normalised"
    for v in VARIABLES:
        assert d[v.name].dims == ("N", "n", "alpha", "sample", *v.dims)
    assert bool(d["done"].all()) and bool(h["done"].all())
    K = d["K"].isel(sample=0)
    for N in N_VALUES:
        for n in (2, 3):
            want = [n_patterns(N, n, a, load="normalised") for a in ALPHAS]
            np.testing.assert_array_equal(K.sel(N=N, n=n).values, want)

    d2 = d.sel(n=2)
    np.testing.assert_array_equal(d2["K"].values, h["p"].values)
    for name in NAMES:
        np.testing.assert_array_equal(d2[name].values, h[name].values, err_msg=name)
    assert int((h["flips"] > 0).sum()) > 20  # the runs really moved

    figs = PRESENTATION.figures(xr.open_zarr(dense.store))
    assert sorted(figs) == ["capacity", "retrieval_n2", "retrieval_n3"]
    for f in figs.values():
        plt.close(f)
    est = {e.key: e for e in PRESENTATION.estimates(xr.open_zarr(dense.store))}
    assert {"kc_slope_n2", "kc_slope_n3"} <= set(est)
    assert est["kc_slope_n2"].exact == 1.0 and est["kc_slope_n3"].exact == 2.0
    assert est["kc_slope_n3"].value > est["kc_slope_n2"].value  # K_c grows faster with n
    axis, centre, error = PRESENTATION.refine["capacity"](xr.open_zarr(dense.store), 3)
    assert axis == "alpha" and min(ALPHAS) < centre < max(ALPHAS) and error > 0
    rows = [e for k, e in est.items() if k.startswith("unstable0_")]
    assert rows
    for e in rows:  # exact references are those of the stored K
        assert e.exact == th.p_error_exact(e.details["N"], e.details["n"], e.details["K"])
        assert e.z is not None
