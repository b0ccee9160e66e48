"""End to end: a smaller variant of configs/rbm-quick.yaml through Prefect and Dask into zarr.

Then the store is checked against exact references computed independently here: the final LL
recomputed by enumeration from the stored W, a, b; the bound -ln 14; KL = -ln 14 - LL; bitwise
reruns of stored units; the presentation's figures and estimates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from statmech.config import load_config
from statmech.models.rbm.model import VARIABLES
from statmech.seeding import unit_seed
from statmech.store import grid_of, open_dataset
from statmech.theory import rbm as th

ROOT = Path(__file__).resolve().parent.parent


def _small_quick(tmp_path: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "configs" / "rbm-quick.yaml").read_text())
    cfg["axes"] = {"method": [0, 1, 2], "H": [15, 16], "k": [1, 3], "lr": [0.3, 3.0]}
    cfg["settings"].update(epochs=30, checkpoint=10, chains=20, hidden_size=16)
    cfg["store"] = str(tmp_path / "quick.zarr")
    path = tmp_path / "rbm-small.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_quick_config_is_valid() -> None:
    sweep = load_config(ROOT / "configs" / "rbm-quick.yaml")
    assert sweep.settings.dataset == "bars-and-stripes-3x3"
    assert min(sweep.axes["H"]) >= 15 and len(sweep.axes["k"]) >= 2
    assert set(sweep.axes["method"]) == {0, 1, 2}
    for name in ("rbm-divergence.yaml", "rbm-fvbm-quick.yaml"):
        load_config(ROOT / "configs" / name)


@pytest.mark.timeout(400)
def test_small_quick_sweep_end_to_end(prefect_server: str, tmp_path: Path) -> None:
    from flows.sweep import run_sweep

    sweep = load_config(_small_quick(tmp_path))
    summary = run_sweep(sweep, workers=2)
    n_units = 3 * 2 * 2 * 2
    assert summary["computed"] == n_units and summary["failed"] == 0

    ds = open_dataset(sweep.store)
    assert ds.attrs["model"] == "rbm"
    assert json.loads(ds.attrs["settings"])["dataset"] == "bars-and-stripes-3x3"
    assert "E(v,h) = -v^T W h - a^T v - b^T h" in ds.attrs["conventions"]
    assert dict(ds.sizes) == {"method": 3, "H": 2, "k": 2, "lr": 2, "replica": 1, "epoch": 4,
                              "visible": 9, "visible_j": 9, "hidden": 16}
    np.testing.assert_array_equal(ds["epoch"].values, [0, 10, 20, 30])
    for v in VARIABLES:
        assert ds[v.name].dims == ("method", "H", "k", "lr", "replica", *v.dims)
    assert bool(ds["done"].all())

    law = th.law_from_settings(ds.attrs["settings"])
    bound = -math.log(14)
    ll = ds["ll"].values
    assert np.nanmax(ll) <= bound
    np.testing.assert_allclose(ds["kl"].values, bound - ll, atol=1e-13)
    # independent recomputation from the stored parameters (joint-sum ln Z, numpy)
    worst = 0.0
    for idx in np.ndindex(3, 2, 2, 2):
        u = ds.isel(method=idx[0], H=idx[1], k=idx[2], lr=idx[3], replica=0)
        H = int(u["H"])
        W, a, b = u["W"].values, u["a"].values, u["b"].values
        assert np.isnan(W[:, H:]).all() and np.isnan(b[H:]).all()
        W, b = W[:, :H], b[:H]
        if not np.isfinite(W).all():
            assert bool(u["diverged"])
            continue
        v = law.X.astype(float)
        lp = v @ a + np.logaddexp(0, v @ W + b).sum(axis=1)
        # ln Z through the hidden layer, summed in numpy (H = 15, 16: 2^H states)
        h = ((np.arange(2**H)[:, None] >> np.arange(H)) & 1).astype(float)
        lz_terms = h @ b + np.logaddexp(0, h @ W.T + a).sum(axis=1)
        lz = np.logaddexp.reduce(lz_terms)
        worst = max(worst, abs(float(law.w @ lp - lz) - float(u["ll"].isel(epoch=-1))))
    assert worst < 1e-10
    # exact-gradient runs are the cosine-1 reference and improve on the uniform start
    ex = ds.sel({"method": 0})
    assert np.all(ex["grad_cos"].values == 1.0)
    assert float(ex["ll"].sel(lr=0.3).isel(epoch=-1).min()) > float(ds["ll"].isel(epoch=0).max())

    # bitwise rerun of stored units
    from statmech.models import get_model

    model = get_model("rbm")
    grid = grid_of(sweep)
    for index in [(0, 0, 0, 0), (1, 1, 1, 1), (2, 0, 1, 0)]:
        point = grid.point(index)
        res = model.run(point, sweep.settings, unit_seed(sweep.seed, "rbm", point, 0))
        stored = ds.isel(method=index[0], H=index[1], k=index[2], lr=index[3], replica=0)
        for name in ("ll", "grad_cos", "W", "a", "b", "diverged"):
            assert np.asarray(res[name]).tobytes() == stored[name].values.tobytes(), name

    from statmech.presentation import presentation_of

    pres = presentation_of("rbm")
    figs = pres.figures(xr.open_zarr(sweep.store))
    assert set(figs) == {"phase", "ll-curves"}
    est = {e.key: e for e in pres.estimates(ds)}
    assert est["ll_recomputed_deviation"].value < 1e-10
    assert est["best_ll_exact"].exact == pytest.approx(bound, abs=1e-15)
    assert est["best_ll_exact"].value <= bound
    assert {"diverged_cd", "diverged_pcd", "best_ll_cd"} <= set(est)
