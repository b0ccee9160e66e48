"""2D Ising kernel throughput (spin flips per ns, one thread) with physics checks.

The reference is a plain branchy int8 numba checkerboard (one ``np.random.random()`` and one
``exp`` lookup per site), measured in the same run; the ratio is ours / reference.
Physics check: the mean energy per spin at T = 2 against the exact value (Kaufman's finite-L
result; Onsager's for L = 512 and up, where the difference is far below the error).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from statmech.models.ising.kernels import flip_thresholds, simulate_2d, split_2d
from statmech.stats import binning
from statmech.theory.ising import kaufman_energy_heat, onsager_energy


@njit(cache=True)
def _reference_sweeps(s, beta, n):  # pragma: no cover - benchmark baseline
    L = s.shape[0]
    acc = np.exp(-beta * np.arange(0, 9))
    np.random.seed(1)  # noqa: NPY002  (numba's global generator: the baseline as written)
    for _ in range(n):
        for c in range(2):
            for i in range(L):
                for j in range((i + c) % 2, L, 2):
                    nb = s[(i + 1) % L, j] + s[i - 1, j] + s[i, (j + 1) % L] + s[i, j - 1]
                    de = 2 * s[i, j] * nb
                    if de <= 0 or np.random.random() < acc[de]:  # noqa: NPY002
                        s[i, j] = -s[i, j]


def _best_rate(fn, flips: float, repeats: int = 3) -> float:
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = max(best, flips / (time.perf_counter() - t0) / 1e9)
    return best


def run(quick: bool = False) -> list[dict]:
    rows = []
    T = 2.0
    thr = flip_thresholds(T, 0.0, 4, "metropolis")
    sizes = (64, 256) if quick else (64, 256, 1024)
    budget = 2e7 if quick else 2e8  # spin flips per timed repeat
    ref_rate = {}
    for L in sizes:
        s = np.ones((L, L), dtype=np.int8)
        n_ref = max(int(budget / 10 / L**2), 2)
        _reference_sweeps(s, 1 / T, 1)
        ref_rate[L] = _best_rate(lambda s=s, n=n_ref: _reference_sweeps(s, 1 / T, n),
                                 n_ref * L * L, repeats=2)
    for L in sizes:
        a, b = split_2d(np.ones((L, L), dtype=np.int8))
        n = max(int(budget / L**2), 64)
        simulate_2d(a, b, thr, np.uint64(1), 1, 1, 1)  # compile / load cache
        simulate_2d(a, b, thr, np.uint64(2), 2000 if L <= 256 else 300, 1, 1)  # equilibrate
        series = []

        def timed(a=a, b=b, n=n, series=series):
            bonds, _, _ = simulate_2d(a, b, thr, np.uint64(3 + len(series)), 0, n, 1)
            series.append(bonds)

        rate = _best_rate(timed, n * L * L)
        e = -np.concatenate(series) / (L * L)
        bn = binning(e)
        exact = float(onsager_energy(T)) if L >= 512 else kaufman_energy_heat(L, T)[0]
        z = (bn.mean - exact) / bn.error
        rows.append({
            "benchmark": "ising2d metropolis, 1 thread", "case": f"L={L}", "value": rate,
            "unit": "flips/ns", "ratio": rate / ref_rate[L],
            "check": f"e(T=2)={bn.mean:.5f}±{bn.error:.5f}, exact {exact:.5f} (z={z:+.1f})",
            "ok": abs(z) < 5,
        })
    for L in sizes:
        rows.append({"benchmark": "reference: branchy int8 numba", "case": f"L={L}",
                     "value": ref_rate[L], "unit": "flips/ns", "ratio": 1.0, "check": ""})
    if not quick:
        rows.append(_onsager_check())
    rows += _msc_rows(quick, ref_rate)
    rows += _cuda_rows(quick, rows[len(sizes) - 1]["value"])
    return rows


def _msc_rows(quick: bool, ref_rate: dict) -> list[dict]:
    """The multi-spin-coded kernel (64 spins per word), with the energy check at T = 2."""
    from statmech.models.ising.msc import pack, probability_masks, simulate_msc

    rows = []
    T = 2.0
    p4, p8 = probability_masks(np.exp(-4 / T)), probability_masks(np.exp(-8 / T))
    for L in ((256,) if quick else (256, 1024)):
        a8, b8 = split_2d(np.ones((L, L), dtype=np.int8))
        a, b = pack(a8), pack(b8)
        simulate_msc(a, b, p4, p8, np.uint64(1), 1000 if L <= 256 else 300, 1, 1)
        n = max(int((3e7 if quick else 3e8) / L**2), 64)
        series = []

        def timed(a=a, b=b, n=n, series=series):
            bonds, _, _ = simulate_msc(a, b, p4, p8, np.uint64(3 + len(series)), 0, n, 1)
            series.append(bonds)

        rate = _best_rate(timed, n * L * L)
        bn = binning(-np.concatenate(series) / (L * L))
        exact = kaufman_energy_heat(L, T)[0] if L <= 256 else float(onsager_energy(T))
        z = (bn.mean - exact) / bn.error
        rows.append({
            "benchmark": "ising2d metropolis-msc (64 spins/word), 1 thread", "case": f"L={L}",
            "value": rate, "unit": "flips/ns",
            "ratio": rate / ref_rate[L] if L in ref_rate else None,
            "check": f"e(T=2)={bn.mean:.5f}±{bn.error:.5f}, exact {exact:.5f} (z={z:+.1f})",
            "ok": abs(z) < 5,
        })
    return rows


def _cuda_rows(quick: bool, cpu_rate: float) -> list[dict]:
    """numba.cuda checkerboard throughput on a real GPU (skipped without one).

    One large lattice per launch (L = 1024 ... 65536), and many small lattices per launch (the
    way a phase scan runs on a GPU, :meth:`Ising2D.run_many`). The ratio is to the one-thread
    CPU kernel at its largest size in this run; the time is that of ``n`` extra sweeps (two runs
    differenced, so host-device copies are excluded as in NVIDIA's ising-gpu figures); the check
    is the energy at T = 2 (binned error) against Kaufman (L <= 256) or Onsager.
    """
    from statmech.models.gpu import gpu_available
    from statmech.models.ising.cuda import simulate_2d_cuda_many

    if not gpu_available():
        return [{"benchmark": "ising2d metropolis, numba.cuda", "case": "no GPU here",
                 "value": float("nan"), "unit": "flips/ns", "ratio": None,
                 "check": "run on a machine with a CUDA GPU"}]
    from numba import cuda

    T = 2.0
    thr = flip_thresholds(T, 0.0, 4, "metropolis")
    cases = ((1024, 1), (64, 1024)) if quick else (
        (1024, 1), (4096, 1), (16384, 1), (65536, 1), (64, 1024), (128, 512), (256, 128))
    rows = []
    for L, n_lat in cases:
        a1, b1 = split_2d(np.ones((L, L), dtype=np.int8))
        a, b = np.repeat(a1[None], n_lat, axis=0), np.repeat(b1[None], n_lat, axis=0)
        del a1, b1
        thrs = np.repeat(thr[None], n_lat, axis=0)
        keys = np.arange(n_lat, dtype=np.uint64)
        simulate_2d_cuda_many(a, b, thrs, keys + 1, 100, 0, 1)  # compile, equilibrate
        sweeps = max(int(1e11 / (n_lat * L * L)), 20)
        elapsed = []
        for n in (sweeps, 2 * sweeps):  # the difference cancels copies and set-up
            cuda.synchronize()
            t0 = time.perf_counter()
            simulate_2d_cuda_many(a, b, thrs, keys + 2, n, 0, 1)
            cuda.synchronize()
            elapsed.append(time.perf_counter() - t0)
        rate = sweeps * n_lat * L * L / (elapsed[1] - elapsed[0]) / 1e9
        bonds, _, _ = simulate_2d_cuda_many(a, b, thrs, keys + 3, 0, 128, 1)
        bn = binning(-bonds.mean(axis=0) / (L * L))
        exact = kaufman_energy_heat(L, T)[0] if L <= 256 else float(onsager_energy(T))
        z = (bn.mean - exact) / bn.error
        rows.append({
            "benchmark": "ising2d metropolis, numba.cuda",
            "case": f"L={L}" + (f" x {n_lat} lattices per launch" if n_lat > 1 else ""),
            "value": rate, "unit": "flips/ns", "ratio": rate / cpu_rate,
            "check": f"e(T=2)={bn.mean:.6f}±{bn.error:.6f}, exact {exact:.6f} (z={z:+.1f})",
            "ok": abs(z) < 5})
    return rows


def _onsager_check() -> dict:
    """Energy at T = 2, L = 512 against Onsager with an honest error bar."""
    L, T = 512, 2.0
    a, b = split_2d(np.ones((L, L), dtype=np.int8))
    thr = flip_thresholds(T, 0.0, 4, "metropolis")
    t0 = time.perf_counter()
    bonds, _, acc = simulate_2d(a, b, thr, np.uint64(11), 500, 2000, 1)
    rate = 2500 * L * L / (time.perf_counter() - t0) / 1e9
    bn = binning(-bonds / (L * L))
    exact = float(onsager_energy(T))
    z = (bn.mean - exact) / bn.error
    return {"benchmark": "ising2d metropolis, 1 thread", "case": "L=512, physics run",
            "value": rate, "unit": "flips/ns", "ratio": None,
            "check": f"e={bn.mean:.5f}±{bn.error:.5f} vs Onsager {exact:.5f} (z={z:+.1f}), "
                     f"acceptance {acc / (2000 * L * L):.3f}",
            "ok": abs(z) < 5}
