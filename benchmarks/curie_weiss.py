"""Curie-Weiss kernel throughput (spin-flip attempts per ns, one thread) at N = 10^6, with checks.

An *update* is one single-spin attempt (a random spin, Metropolis or heat-bath acceptance),
accepted or not; a sweep is N of them. Timed: equilibrium runs of the M-only chain
(:func:`statmech.models.curie_weiss.kernels.simulate`, certified vectorised blocks), best of
three; the time is the thread's CPU time (the development machine is shared and often
oversubscribed, so wall time measures the neighbours; the wall-clock rate is in the check
column).

Reference, in the same run: the straightforward kernel that stores the spin array
(:func:`~statmech.models.curie_weiss.kernels.reference_spins`: random site, energy change from
the tracked M, ``exp`` acceptance). The ratio is ours / reference.

Physics checks of the timed numbers: the first sweeps of the timed chain equal, bit for bit, the
plain attempt-by-attempt chain with the exact thresholds; ``N <m^2>`` and ``e`` of the timed run
at T = 1.2 against the exact finite-N partition sums (z from binning errors); the reference's
acceptance rate (same rule, same T) beside ours.
"""

from __future__ import annotations

import time

import numpy as np

from statmech.models.curie_weiss.kernels import reference_spins, simulate
from statmech.stats import binning
from statmech.theory.curie_weiss import finite_moments

_E = np.empty(0, dtype=np.int64)


def _best(fn, repeats: int = 3) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """(best CPU seconds, wall seconds of that repeat, result of the last repeat)."""
    best, wall, out = np.inf, np.nan, None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        out = fn()
        c, w = time.thread_time() - c0, time.perf_counter() - w0
        if c < best:
            best, wall = c, w
    return best, wall, out


def _z(x: np.ndarray, exact: float) -> tuple[float, float, float]:
    b = binning(x)
    return b.mean, b.error, (b.mean - exact) / b.error


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    N, T = 1_000_000, 1.2
    beta = 1 / T
    sweeps = 64 if quick else 1024
    ref_sweeps = 2 if quick else 5
    exact = finite_moments(N, T, 0.0)
    key = np.uint64(2026)
    k0 = N // 2
    simulate(1000, 1000, 1.0, 1.0, 0.0, True, key, np.uint64(0), 1, 1, 1, _E, _E, True)
    simulate(1000, 1000, 1.0, 1.0, 0.0, True, key, np.uint64(0), 1, 1, 1, _E, _E, False)
    reference_spins(np.ones(64, dtype=np.int8), 1.0, 1.0, 0.0, True, key, 1)
    for rule in ("heatbath", "metropolis"):
        hb = rule == "heatbath"

        def ours(hb: bool = hb) -> tuple:
            return simulate(k0, N, beta, 1.0, 0.0, hb, key, np.uint64(0), 20, sweeps, 1, _E,
                            _E, True)

        cpu, wall, (mags, acc, *_rest) = _best(ours)
        rate = (20 + sweeps) * N / cpu / 1e9
        plain = simulate(k0, N, beta, 1.0, 0.0, hb, key, np.uint64(0), 0, 3, 1, _E, _E, False)
        fast = simulate(k0, N, beta, 1.0, 0.0, hb, key, np.uint64(0), 0, 3, 1, _E, _E, True)
        same = bool(np.array_equal(plain[0], fast[0]) and plain[1] == fast[1])
        m = mags / N
        e = -(m * m - 1.0 / N) / 2
        m2, m2_err, z_m2 = _z(N * m * m, N * exact["m2"])
        _e_mean, _e_err, z_e = _z(e, exact["e"])

        spins = np.where(np.arange(N) < k0, 1, -1).astype(np.int8)

        def reference(spins: np.ndarray = spins, hb: bool = hb) -> tuple:
            return reference_spins(spins.copy(), beta, 1.0, 0.0, hb, key, ref_sweeps)

        rcpu, _rwall, (_rmags, racc) = _best(reference)
        ref_rate = ref_sweeps * N / rcpu / 1e9
        rows.append({
            "benchmark": f"curie-weiss {rule}, M-only chain, 1 thread", "case": f"N=1e6, T={T}",
            "value": rate, "unit": "updates/ns", "ratio": rate / ref_rate,
            "check": (f"N<m^2>={m2:.3f}±{m2_err:.3f} vs exact {N * exact['m2']:.3f} "
                      f"(z={z_m2:+.1f}), e z={z_e:+.1f}; first 3 sweeps equal to the plain "
                      f"chain: {same}; acceptance {acc / (sweeps * N):.3f}; wall "
                      f"{(20 + sweeps) * N / wall / 1e9:.2f}/ns"),
            "ok": same and abs(z_m2) < 4 and abs(z_e) < 4,
        })
        rows.append({
            "benchmark": f"reference: spin array, exp acceptance ({rule})", "case": "N=1e6",
            "value": ref_rate, "unit": "updates/ns", "ratio": 1.0,
            "check": f"{ref_sweeps} sweeps from M = 0, acceptance {racc / (ref_sweeps * N):.3f}",
        })
    return rows
