"""Orchestration overhead: a sweep through Prefect + Dask vs the same units in a plain loop.

Both sides compute the same units of a 2D Ising sweep on one core (the flow on a LocalCluster of
one single-threaded worker, so the comparison is core for core). ``ratio`` is
flow wall time / loop wall time, for points of about one second and for tiny points; the
per-point overhead is (flow - loop) / units. The flow's wall time is measured inside the flow
(store creation, batching, Prefect task runs, zarr writes, done marks); the start of the
temporary Prefect server and of the cluster is reported separately as a fixed cost.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import xarray as xr

from statmech.config import parse_config
from statmech.grid import Grid
from statmech.seeding import unit_seed

CASES = {
    # name: (L, sweeps, number of temperatures, replicas)
    "~1 s points": (128, 50_000, 6, 2),
    "tiny points (~2 ms)": (8, 1_000, 50, 4),
}


def _config(L: int, sweeps: int, n_t: int, replicas: int, store: str) -> str:
    return f"""
model: ising2d
axes: {{L: [{L}], T: {{start: 2.0, stop: 2.6, num: {n_t}}}}}
settings: {{thermalization: 0, sweeps: {sweeps}}}
replicas: {replicas}
seed: 7
store: {store}
cluster: {{workers: 1}}
"""


def run(quick: bool = False) -> list[dict]:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from flows.sweep import run_sweep

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (L, sweeps, n_t, reps) in CASES.items():
            if quick:
                sweeps, n_t = sweeps // 10, max(n_t // 4, 2)
            store = str(Path(tmp) / f"{L}.zarr")
            sweep = parse_config(_config(L, sweeps, n_t, reps, store))
            grid = Grid(sweep.axes, sweep.fixed, sweep.replicas)
            units = list(grid.units())
            # warm the JIT cache in this process, then time the plain loop
            p0 = grid.point(units[0][0])
            sweep.model.run(p0, sweep.settings, unit_seed(0, "ising2d", p0, 0))
            t0 = time.perf_counter()
            loop_values = {}
            for idx, rep in units:
                point = grid.point(idx)
                loop_values[(idx, rep)] = sweep.model.run(
                    point, sweep.settings, unit_seed(sweep.seed, "ising2d", point, rep))
            loop_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            summary = run_sweep(sweep, workers=1)
            total_s = time.perf_counter() - t1
            flow_s = summary["wall_seconds"]
            ds = xr.open_zarr(store)
            same = all(float(ds["e"].values[idx][rep]) == float(v["e"])
                       for (idx, rep), v in loop_values.items())
            n = len(units)
            rows.append({
                "benchmark": "flow overhead (Prefect + Dask, 1 worker)",
                "case": f"{name}: {n} units, loop {loop_s:.1f} s, flow {flow_s:.1f} s",
                "value": (flow_s - loop_s) / n * 1e3, "unit": "ms per point",
                "ratio": flow_s / loop_s,
                "check": f"stored e identical to the loop: {same}; "
                         f"fixed start-up {total_s - flow_s:.1f} s",
                "ok": same,
            })
    return rows
