"""Run in a subprocess with NUMBA_ENABLE_CUDASIM=1 (see test_cuda.py): the CUDA kernels, in
numba's simulator, against the CPU kernel, bitwise."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
from cuda_scripts import fast_thread_safe_simulator  # noqa: E402

fast_thread_safe_simulator()
# the simulator evaluates the 64-bit hash with NumPy scalars, which warn on (intended) wraparound
warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)

from statmech.models.ising import cuda as cuda_kernels  # noqa: E402
from statmech.models.ising.cuda import simulate_2d_cuda, simulate_2d_cuda_many  # noqa: E402
from statmech.models.ising.kernels import flip_thresholds, simulate_2d, split_2d  # noqa: E402
from statmech.models.ising.model import Ising2D, IsingSettings  # noqa: E402


def _lattice(L: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(L, L))
    return split_2d(spins)


def single_lattices() -> None:
    """Both kernels (pairs: L = 4, 6; packed: L = 16) against the CPU, one lattice."""
    for L, T, B, algorithm in ((4, 2.3, 0.0, "metropolis"), (6, 1.9, 0.2, "heatbath"),
                               (16, 2.2, 0.0, "metropolis"), (16, 2.6, -0.3, "heatbath")):
        thr = flip_thresholds(T, B, 4, algorithm)
        a1, b1 = _lattice(L, L)
        a2, b2 = _lattice(L, L)
        cpu = simulate_2d(a1, b1, thr, np.uint64(99), 2, 3, 2)
        gpu = simulate_2d_cuda(a2, b2, thr, np.uint64(99), 2, 3, 2)
        assert np.array_equal(cpu[0], gpu[0]), (L, "bonds", cpu[0], gpu[0])
        assert np.array_equal(cpu[1], gpu[1]), (L, "mags", cpu[1], gpu[1])
        assert cpu[2] == gpu[2], (L, "accepted", cpu[2], gpu[2])
        assert np.array_equal(a1, a2) and np.array_equal(b1, b2), (L, "final state")


def many_lattices() -> None:
    """Three lattices with their own T, B and key in one launch = three CPU runs."""
    for L in (6, 16):
        params = ((2.0, 0.0, 7), (2.5, 0.4, 8), (3.5, -0.2, 9))
        thr = np.stack([flip_thresholds(T, B, 4, "metropolis") for T, B, _ in params])
        keys = np.array([k for _, _, k in params], dtype=np.uint64)
        pairs = [_lattice(L, 100 + i) for i in range(len(params))]
        a = np.stack([p[0] for p in pairs])
        b = np.stack([p[1] for p in pairs])
        bonds, mags, acc = simulate_2d_cuda_many(a, b, thr, keys, 1, 2, 3)
        for i, (a1, b1) in enumerate(pairs):
            cpu = simulate_2d(a1, b1, thr[i], keys[i], 1, 2, 3)
            assert np.array_equal(cpu[0], bonds[i]) and np.array_equal(cpu[1], mags[i]), (L, i)
            assert cpu[2] == acc[i], (L, i, "accepted")
            assert np.array_equal(a1, a[i]) and np.array_equal(b1, b[i]), (L, i, "state")


def model_backends() -> None:
    """The model on backend auto (the GPU here) and cuda (grouped units) = the CPU backend."""
    model = Ising2D()
    point = {"L": 4, "T": 2.5, "B": 0.1}
    out = {}
    for backend in ("cpu", "auto"):
        settings = IsingSettings(sweeps=64, thermalization=2, backend=backend)
        out[backend] = model.run(point, settings, np.random.SeedSequence(5))
    for name, v in out["cpu"].items():
        assert np.array_equal(v, out["auto"][name], equal_nan=True), name
    # units grouped into shared launches (two sizes) = the same units one by one on the CPU
    points = [{"L": 4, "T": 2.0, "B": 0.0}, {"L": 6, "T": 2.4, "B": 0.0},
              {"L": 4, "T": 3.0, "B": -0.2}]
    cuda_settings = IsingSettings(sweeps=64, thermalization=2, backend="cuda")
    assert model.group_size(cuda_settings) > 1
    grouped = model.run_many(points, cuda_settings,
                             [np.random.SeedSequence(10 + i) for i in range(3)])
    cpu_settings = cuda_settings.model_copy(update={"backend": "cpu"})
    for i, point in enumerate(points):
        single = model.run(point, cpu_settings, np.random.SeedSequence(10 + i))
        for name, v in single.items():
            assert np.array_equal(v, grouped[i][name], equal_nan=True), (i, name)


def main() -> int:
    default = cuda_kernels.RESIDENT_WORK
    for resident in (1 << 30, 0):  # every sweep in one launch / two launches per sweep
        cuda_kernels.RESIDENT_WORK = resident
        single_lattices()
        many_lattices()
    cuda_kernels.RESIDENT_WORK = default
    model_backends()
    print("cuda simulator: bitwise identical to the CPU kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
