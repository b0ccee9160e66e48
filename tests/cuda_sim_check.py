"""Run in a subprocess with NUMBA_ENABLE_CUDASIM=1 (see test_cuda.py): the CUDA kernel, in
numba's simulator, against the CPU kernel, bitwise."""

from __future__ import annotations

import os
import sys

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

from statmech.models.cuda_kernels import simulate_2d_cuda  # noqa: E402
from statmech.models.ising import Ising2D, IsingSettings  # noqa: E402
from statmech.models.ising_kernels import flip_thresholds, simulate_2d, split_2d  # noqa: E402


def main() -> int:
    for L, T, B, algorithm in ((4, 2.3, 0.0, "metropolis"), (6, 1.9, 0.2, "heatbath"),
                               (8, 3.0, -0.1, "metropolis")):
        spins = np.random.default_rng(L).choice(np.array([-1, 1], dtype=np.int8), size=(L, L))
        thr = flip_thresholds(T, B, 4, algorithm)
        a1, b1 = split_2d(spins)
        a2, b2 = split_2d(spins)
        cpu = simulate_2d(a1, b1, thr, np.uint64(99), 3, 5, 2)
        gpu = simulate_2d_cuda(a2, b2, thr, np.uint64(99), 3, 5, 2)
        assert np.array_equal(cpu[0], gpu[0]), (L, "bonds", cpu[0], gpu[0])
        assert np.array_equal(cpu[1], gpu[1]), (L, "mags")
        assert cpu[2] == gpu[2], (L, "accepted")
        assert np.array_equal(a1, a2) and np.array_equal(b1, b2), (L, "final state")
    model = Ising2D()
    point = {"L": 4, "T": 2.5, "B": 0.1}
    out = {}
    for backend in ("cpu", "cuda", "auto"):
        settings = IsingSettings(sweeps=64, thermalization=2, backend=backend)
        out[backend] = model.run(point, settings, np.random.SeedSequence(5))
    for name, v in out["cpu"].items():
        assert np.array_equal(v, out["cuda"][name], equal_nan=True), name
        assert np.array_equal(v, out["auto"][name], equal_nan=True), name
    print("cuda simulator: bitwise identical to the CPU kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
