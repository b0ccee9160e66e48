"""Hopfield figures from small stores computed without orchestration (plan + runner)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
import yaml

from statmech.analysis import hopfield as an
from statmech.config import parse_config
from statmech.plan import prepare
from statmech.plots import figures
from statmech.runner import run_units


def small_store(tmp_path: Path, axes: dict, fixed: dict, settings: dict) -> xr.Dataset:
    text = yaml.safe_dump({"model": "hopfield", "axes": axes, "fixed": fixed,
                           "settings": {"trials": 5, **settings}, "replicas": 3, "seed": 5,
                           "store": str(tmp_path / "s.zarr")}, sort_keys=False)
    sweep = parse_config(text)
    plan = prepare(sweep)
    run_units(sweep.store, text, [[*u[0], u[1]] for b in plan.batches for u in b])
    return xr.open_zarr(sweep.store)


def test_phase_figure(tmp_path: Path) -> None:
    ds = small_store(tmp_path, {"alpha": [0.02, 0.1], "T": [0.0, 0.4, 1.2]}, {"N": 300},
                     {"dynamics": "glauber", "sweeps": 40, "measure": 20})
    figs = figures(ds)
    assert list(figs) == ["phase"]
    m, _ = an.mean_overlap(an.load(ds), "m_avg")
    assert float(m.sel(alpha=0.02, T=0.0)) > 0.95  # retrieval at low load and T
    assert abs(float(m.sel(alpha=0.02, T=1.2))) < 0.3  # paramagnet above T = 1
    for f in figs.values():
        plt.close(f)


def test_basin_and_overlap_figures(tmp_path: Path) -> None:
    ds = small_store(tmp_path, {"alpha": [0.05, 0.1], "noise": [0.0, 0.2, 0.5]}, {"N": 200},
                     {"dynamics": "sync"})
    figs = figures(ds)
    assert list(figs) == ["basin"]
    P, _ = an.retrieval_probability(an.load(ds))
    assert float(P.sel(alpha=0.05, noise=0.0)) == 1.0
    assert float(P.sel(alpha=0.05, noise=0.5)) < 0.5
    for f in figs.values():
        plt.close(f)
    from statmech.plots import hopfield as hopfield_plots

    no_alpha = ds.isel(alpha=0).squeeze()
    with pytest.raises(ValueError, match="alpha on an axis"):
        hopfield_plots.figures(no_alpha)
    generic = figures(no_alpha)  # the model's figures do not fit: the generic ones instead
    assert list(generic) == ["vs_noise"]
    for f in generic.values():
        plt.close(f)
    assert np.isfinite(an.alpha_c_estimates(an.load(ds).sel(noise=0.5))["alpha_c"]).sum() <= 1
