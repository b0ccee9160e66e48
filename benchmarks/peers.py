"""Peers measured on the same machine in the same run (ALPS spinmc; on a GPU, NVIDIA's cuIsing).

ALPS: ``pip install pyalps``. NVIDIA's ising-gpu ``optimized`` code (``cuIsing``, built from
github.com/NVIDIA/ising-gpu): point ``ISING_GPU_BIN`` at the binary; its own "flips/ns" (kernel
time only) stands beside ours, timed the same way, at the same L and T.

ALPS's ``spinmc`` runs the 2D Ising model with local Metropolis updates; its throughput is taken
from two runs of different lengths (the difference removes process start-up and I/O; ALPS checks
for completion once a second, so each time is good to about a second) and set beside ours.
Physics check: ALPS's own energy density at T = 2 against Kaufman's exact value.
"""

from __future__ import annotations

import os
import re
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


def cuising_rate(output: str) -> float:
    """flips/ns from cuIsing's "Kernel execution time for N update steps: ... flips/ns" line."""
    match = re.search(r"Kernel execution time .*?([0-9.]+) flips/ns", output)
    if match is None:
        raise ValueError("no 'Kernel execution time ... flips/ns' line in cuIsing's output")
    return float(match.group(1))


def _ising_gpu_rows(quick: bool) -> list[dict]:
    """cuIsing beside our numba.cuda kernel on the same card, same L and T (kernel time only)."""
    from statmech.models.gpu import gpu_available

    binary = os.environ.get("ISING_GPU_BIN")
    if not binary or not gpu_available():
        return [{"benchmark": "peer: NVIDIA ising-gpu optimized (cuIsing)", "case": "not run",
                 "value": float("nan"), "unit": "flips/ns", "ratio": None,
                 "check": "needs a CUDA GPU and ISING_GPU_BIN=path/to/cuIsing"}]
    import numpy as np
    from numba import cuda

    from statmech.models.ising.cuda import simulate_2d_cuda
    from statmech.models.ising.kernels import flip_thresholds, split_2d
    from statmech.theory.ising import onsager_energy

    rows = []
    T = 2.0
    for L in ((16384,) if quick else (16384, 65536)):
        out = subprocess.run([binary, "-x", str(L), "-y", str(L), "-n", "256", "-t", str(T)],
                             check=True, capture_output=True, text=True).stdout
        theirs = cuising_rate(out)
        a, b = split_2d(np.ones((L, L), dtype=np.int8))
        elapsed = []
        for n in (64, 128):
            cuda.synchronize()
            t0 = time.perf_counter()
            bonds, _, _ = simulate_2d_cuda(a, b, flip_thresholds(T, 0.0, 4, "metropolis"),
                                      np.uint64(n), n - 1, 1, 1)
            cuda.synchronize()
            elapsed.append(time.perf_counter() - t0)
        ours = 64 * L * L / (elapsed[1] - elapsed[0]) / 1e9
        e, exact = float(-bonds[0] / (L * L)), float(onsager_energy(T))
        rows.append({"benchmark": "peer: NVIDIA ising-gpu optimized (cuIsing)", "case": f"L={L}",
                     "value": theirs, "unit": "flips/ns", "ratio": ours / theirs,
                     "check": f"ours {ours:.4g} flips/ns (ratio = ours / cuIsing), our "
                              f"e(T=2)={e:.5f} vs Onsager {exact:.5f}",
                     "ok": abs(e - exact) < 1e-3})
    return rows


def run(quick: bool = False) -> list[dict]:
    rows = _ising_gpu_rows(quick)
    try:
        import pyalps  # noqa: F401
    except ImportError:
        return [*rows, {"benchmark": "peer: ALPS spinmc", "case": "not installed",
                        "value": float("nan"), "unit": "flips/ns", "ratio": None,
                        "check": "pip install pyalps to measure it here"}]
    import numpy as np

    from statmech.models.ising.kernels import flip_thresholds, simulate_2d, split_2d
    from statmech.theory.ising import kaufman_energy_heat

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
