"""Peers measured on the same machine in the same run: ALPS spinmc (``pip install pyalps``).

ALPS's ``spinmc`` runs the 2D Ising model with local Metropolis updates; its throughput is taken
from two runs of different lengths (the difference removes process start-up and I/O; ALPS checks
for completion once a second, so each time is good to about a second) and set beside ours.
Physics check: ALPS's own energy density at T = 2 against Kaufman's exact value.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path


def _spinmc(L: int, T: float, sweeps: int, folder: Path) -> tuple[float, float, float]:
    import pyalps

    params = [{"LATTICE": "square lattice", "T": T, "J": 1, "THERMALIZATION": 1000,
               "SWEEPS": sweeps, "UPDATE": "local", "MODEL": "Ising", "L": L}]
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        inp = pyalps.writeInputFiles(f"parm{sweeps}", params)
        spinmc = Path(pyalps.__file__).parent / "bin" / "spinmc"
        t0 = time.perf_counter()
        subprocess.run([str(spinmc), inp, "--Tmin", "1", "--Tmax", "1"], check=True,
                       capture_output=True)
        dt = time.perf_counter() - t0
        data = pyalps.loadMeasurements(pyalps.getResultFiles(prefix=f"parm{sweeps}"),
                                       ["Energy Density"])
        e = pyalps.flatten(data)[0].y[0]
    finally:
        os.chdir(cwd)
    return dt, float(e.mean), float(e.error)


def run(quick: bool = False) -> list[dict]:
    try:
        import pyalps  # noqa: F401
    except ImportError:
        return [{"benchmark": "peer: ALPS spinmc", "case": "not installed", "value": float("nan"),
                 "unit": "flips/ns", "ratio": None,
                 "check": "pip install pyalps to measure it here"}]
    import numpy as np

    from statmech.models.ising_kernels import flip_thresholds, simulate_2d, split_2d
    from statmech.theory.ising import kaufman_energy_heat

    rows = []
    T = 2.0
    for L in ((64,) if quick else (64, 256)):
        short, long = (4000, 24000) if L == 64 else (250, 1500)
        if quick:
            short, long = short // 4, long // 4
        with tempfile.TemporaryDirectory() as tmp:
            t_short, _, _ = _spinmc(L, T, short, Path(tmp))
            t_long, e, err = _spinmc(L, T, long, Path(tmp))
        alps_rate = (long - short) * L * L / max(t_long - t_short, 1e-9) / 1e9
        a, b = split_2d(np.ones((L, L), dtype=np.int8))
        thr = flip_thresholds(T, 0.0, 4, "metropolis")
        simulate_2d(a, b, thr, np.uint64(1), 100, 1, 1)
        n = max(int(1e8 / L**2), 100)
        t0 = time.perf_counter()
        simulate_2d(a, b, thr, np.uint64(2), 0, n, 1)
        ours = n * L * L / (time.perf_counter() - t0) / 1e9
        exact = kaufman_energy_heat(L, T)[0]
        z = (e - exact) / err if err > 0 else float("nan")
        rows.append({"benchmark": "peer: ALPS spinmc (local Metropolis), 1 thread",
                     "case": f"L={L}", "value": alps_rate, "unit": "flips/ns",
                     "ratio": ours / alps_rate,
                     "check": f"ALPS e(T=2)={e:.5f}±{err:.5f} vs exact {exact:.5f} (z={z:+.1f});"
                              f" ours {ours:.3g} flips/ns (ratio = ours / ALPS)",
                     "ok": abs(z) < 5})
    return rows
