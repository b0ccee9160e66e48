"""Adaptive refinement vs a uniform grid: Tc error for the same number of points.

Start: 2D Ising, L = 8 and 16, 5 temperatures in [1.9, 2.7]. Refined: 3 rounds of
``statmech refine --near binder-crossing --points 4`` (17 temperatures). Uniform: 17
temperatures evenly spread over [1.9, 2.7]. Same settings, seeds and compute per point; the value
is the bootstrap error of the L = 8/16 Binder crossing, the ratio uniform / refined.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from statmech.analysis import ising
from statmech.config import parse_config
from statmech.refine import refined_sweep
from statmech.store import open_dataset
from statmech.theory.ising import TC_2D

TEXT = """
model: ising2d
axes: {{L: [8, 16], T: {T}}}
settings: {{thermalization: 1000, sweeps: {sweeps}}}
replicas: 2
seed: 17
store: {store}
"""


def run(quick: bool = False) -> list[dict]:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from flows.sweep import run_sweep

    sweeps = 5000 if quick else 20000
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        refined = str(Path(tmp) / "refined.zarr")
        sw = parse_config(TEXT.format(T=[1.9, 2.1, 2.3, 2.5, 2.7], sweeps=sweeps, store=refined))
        run_sweep(sw, workers=2)
        for _ in range(rounds):
            sw, _added = refined_sweep(open_dataset(refined), refined, "binder-crossing", 4)
            run_sweep(sw, workers=2, extend=True)
        n_t = 5 + 4 * rounds
        uniform = str(Path(tmp) / "uniform.zarr")
        grid = [float(f"{t:.6g}") for t in np.linspace(1.9, 2.7, n_t)]
        run_sweep(parse_config(TEXT.format(T=grid, sweeps=sweeps, store=uniform)), workers=2)
        est_r = ising.tc_estimate(open_dataset(refined))
        est_u = ising.tc_estimate(open_dataset(uniform))
    check = (f"refined Tc={est_r} vs uniform Tc={est_u}; Onsager {TC_2D:.5f} "
             f"(z={(est_r.value - TC_2D) / est_r.error:+.1f} / "
             f"{(est_u.value - TC_2D) / est_u.error:+.1f})")
    return [{
        "benchmark": "refinement vs uniform grid", "case": f"L=8/16 crossing, {n_t} temperatures",
        "value": est_r.error, "unit": "Tc error (refined)", "ratio": est_u.error / est_r.error,
        "check": check,
        "ok": abs(est_r.value - TC_2D) < 5 * est_r.error + 0.01,
    }]
