"""SK kernels: exact enumeration (ns per configuration) and parallel tempering (flips per ns).

Enumeration: ``value`` is wall time / 2^N, i.e. per configuration of the full state space
(our kernel visits 2^(N-1) Gray-code steps and evaluates s and -s at each; the per-step time
is in the case column). The reference, measured in the same run on the same couplings, is a
straightforward float64 Gray-code kernel: the same ±s halving, a fused field-update loop, a
branchy early-exit stability test, energy tracked per step; ``ratio`` = reference time / ours
(> 1: ours is faster). Physics check: ground-state energy and number of stable states equal to
the reference's (an independent float64 implementation; exact on the dyadic couplings), and
at N = 12 equal to plain-numpy brute force for 200 samples.

Parallel tempering: ``value`` is attempted single-spin updates per ns (16 temperatures,
sequential Metropolis sweeps, exchanges after every sweep); ``ratio`` against a plain float64
Metropolis/PT reference (``exp`` at every uphill trial, row views). Checks: the tracked lowest
energy equals the recomputed energy of the stored configuration, and PT finds the exact ground
state of every N = 20 sample.

All timings are one thread, best of several repeats (the benchmark machine may be shared).

GPU enumeration (numba.cuda, :func:`statmech.models.sk.cuda.enumerate_sk_cuda`; only where
``gpu_available()``, otherwise one row says it was skipped): ``value`` is wall time of a whole
call (transfers and host-side merging included, best of 2, the first compiles) / 2^N in
picoseconds per configuration at N = 32 ... 40; ``ratio`` = the one-thread CPU kernel's time
per configuration in this run / the GPU's. Checks: the recomputed energy of the returned ground
state equals E0 and it is a local minimum; at N = 28 (``--quick``: 22) every field of the
result equals the CPU enumeration's for B = 0 and B = 0.3.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from statmech.models.sk.kernels import (
    EPS,
    Enumeration,
    draw_couplings,
    energy_units,
    enumerate_sk,
)
from statmech.models.sk.mc import mc_couplings, pt_ground_state
from statmech.theory.sk import brute_force


@njit(cache=True)
def _reference_enumeration(J, n):  # pragma: no cover - benchmark baseline
    """float64 Gray code over 2^(n-1) states (s_{n-1} = +1), B = 0; returns (E0, N_s)."""
    h = np.zeros(n)
    s = np.ones(n)
    for i in range(n):
        for j in range(n):
            h[i] += J[i, j]
    E = 0.0
    for i in range(n):
        E -= 0.5 * h[i]
    best = np.inf
    n_stable = 0
    stable = True
    for j in range(n):
        if s[j] * h[j] <= 0.0:
            stable = False
    if stable:
        n_stable += 2
        best = E
    for t in range(1, 1 << (n - 1)):
        i = trailing_zeros(t)
        E += 2.0 * s[i] * h[i]
        s[i] = -s[i]
        d = 2.0 * s[i]
        for j in range(n):
            h[j] += d * J[i, j]
        stable = True
        for j in range(n):
            if s[j] * h[j] <= 0.0:
                stable = False
                break
        if stable:
            n_stable += 2
            if E < best:
                best = E
    return best, n_stable


@njit(cache=True)
def _reference_pt(J, betas, sweeps, seed):  # pragma: no cover - benchmark baseline
    """Plain float64 PT: exp at every uphill trial, row views, numba's global generator."""
    n = J.shape[0]
    n_T = betas.shape[0]
    np.random.seed(seed)  # noqa: NPY002  (the baseline as commonly written)
    s = np.ones((n_T, n))
    h = np.zeros((n_T, n))
    E = np.zeros(n_T)
    for r in range(n_T):
        for i in range(n):
            if np.random.random() < 0.5:  # noqa: NPY002
                s[r, i] = -1.0
        h[r] = J @ s[r]
        E[r] = -0.5 * (s[r] @ h[r])
    slot = np.arange(n_T)
    best = np.inf
    for _ in range(sweeps):
        for k in range(n_T):
            r = slot[k]
            for i in range(n):
                dE = 2.0 * s[r, i] * h[r, i]
                if dE <= 0.0 or np.random.random() < np.exp(-betas[k] * dE):  # noqa: NPY002
                    s[r, i] = -s[r, i]
                    h[r] += 2.0 * s[r, i] * J[i]
                    E[r] += dE
        for k in range(n_T - 1):
            a, b = slot[k], slot[k + 1]
            x = (betas[k] - betas[k + 1]) * (E[a] - E[b])
            if x >= 0 or np.random.random() < np.exp(x):  # noqa: NPY002
                slot[k], slot[k + 1] = b, a
        best = min(best, E.min())
    return best


def _best_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _enumeration_rows(quick: bool) -> list[dict]:
    rows = []
    sizes = (20, 22, 24) if quick else (24, 26, 28)
    rng = np.random.default_rng(2026)
    enumerate_sk(draw_couplings(6, rng), 0)  # compile / load the caches
    _reference_enumeration(draw_couplings(6, rng) * EPS, 6)
    for n in sizes:
        jq = draw_couplings(n, rng)
        J = jq * EPS
        result = {}

        def ours(jq=jq, result=result):
            result["r"] = enumerate_sk(jq, 0)

        def ref(J=J, n=n, result=result):
            result["ref"] = _reference_enumeration(J, n)

        t = _best_time(ours, 3)
        t_ref = _best_time(ref, 2)
        r = result["r"]
        ref_e0, ref_ns = result["ref"]
        ok = r.E0 * EPS == ref_e0 and r.n_stable == ref_ns
        rows.append({
            "benchmark": "sk exact enumeration, B = 0, 1 thread",
            "case": f"N={n}: {t / 2 ** (n - 1) * 1e9:.2f} ns/step, reference "
                    f"{t_ref / 2 ** n * 1e9:.2f} ns/config",
            "value": t / 2**n * 1e9, "unit": "ns/config", "ratio": t_ref / t,
            "check": f"e0 = {r.e0:.6f}, N_s = {r.n_stable}: equal to the float64 reference: {ok}",
            "ok": ok,
        })
    n = sizes[1]
    jq = draw_couplings(n, rng)
    bq = int(np.rint(0.3 / EPS))
    t = _best_time(lambda: enumerate_sk(jq, bq), 3)
    r = enumerate_sk(jq, bq)
    ok = energy_units(jq, bq, r.ground_state) == r.E0
    rows.append({
        "benchmark": "sk exact enumeration, B = 0.3, 1 thread", "case": f"N={n}",
        "value": t / 2**n * 1e9, "unit": "ns/config", "ratio": None,
        "check": f"e0 = {r.e0:.6f}, N_s = {r.n_stable}; E(ground_state) recomputed equal: {ok}",
        "ok": ok,
    })
    same = 0
    for k in range(200):
        jq = draw_couplings(12, rng)
        bq = int(np.rint((0.0, 0.3)[k % 2] / EPS))
        r, b = enumerate_sk(jq, bq), brute_force(jq, bq)
        same += (r.E0, r.degeneracy, r.n_stable) == (b["E0"], b["degeneracy"], b["n_stable"])
    rows.append({
        "benchmark": "sk exact enumeration vs numpy brute force", "case": "N=12, 200 samples",
        "value": float(same), "unit": "samples equal", "ratio": None,
        "check": f"e0, degeneracy, N_s exactly equal in {same}/200", "ok": same == 200,
    })
    return rows


def _pt_rows(quick: bool) -> list[dict]:
    rows = []
    temps = np.geomspace(0.3, 1.6, 16)
    betas = EPS / temps
    rng = np.random.default_rng(7)
    sizes = (64, 256) if quick else (64, 256, 1024)
    budget = 1e7 if quick else 4e7  # attempted flips per timed repeat
    small = mc_couplings(draw_couplings(8, rng), 0)
    pt_ground_state(small, 0, betas, np.uint64(1), 2, np.empty(8, dtype=np.int8))
    _reference_pt(small * EPS / 2, 1 / temps, 2, 1)
    for n in sizes:
        jq = draw_couplings(n, rng)
        J2 = mc_couplings(jq, 0)
        sweeps = max(int(budget / (n * temps.size)), 5)
        cfg = np.empty(n, dtype=np.int8)
        out = {}

        def ours(J2=J2, sweeps=sweeps, cfg=cfg, out=out):
            out["r"] = pt_ground_state(J2, 0, betas, np.uint64(11), sweeps, cfg)

        ref_sweeps = max(sweeps // 4, 2)
        t = _best_time(ours, 3)
        t_ref = _best_time(lambda jq=jq, s=ref_sweeps: _reference_pt(jq * EPS, 1 / temps, s, 3), 2)
        rate = sweeps * n * temps.size / t / 1e9
        ref_rate = ref_sweeps * n * temps.size / t_ref / 1e9
        best, _, flips, _ = out["r"]
        ok = int(best) == energy_units(jq, 0, cfg)
        acc = flips.sum() / (sweeps * n * temps.size)
        rows.append({
            "benchmark": "sk parallel tempering, 16 T in [0.3, 1.6], 1 thread",
            "case": f"N={n}, {sweeps} sweeps, acceptance {acc:.2f}",
            "value": rate, "unit": "flips/ns (attempted)", "ratio": rate / ref_rate,
            "check": f"lowest e = {best * EPS / n:.4f}; tracked energy equal to recomputed: {ok}",
            "ok": ok,
        })
    found = 0
    for _ in range(10):
        jq = draw_couplings(20, rng)
        cfg = np.empty(20, dtype=np.int8)
        best, *_ = pt_ground_state(mc_couplings(jq, 0), 0, EPS / np.geomspace(0.2, 1.6, 12),
                                   np.uint64(5), 300, cfg)
        found += int(best) == enumerate_sk(jq, 0).E0
    rows.append({
        "benchmark": "sk parallel tempering ground states", "case": "N=20, 300 sweeps, 12 T",
        "value": float(found), "unit": "of 10 samples exact", "ratio": None,
        "check": f"exact ground state found in {found}/10 samples (enumeration)",
        "ok": found == 10,
    })
    return rows


def _gpu_rows(quick: bool, cpu_ns: float | None) -> list[dict]:
    """numba.cuda enumeration: ps per configuration at N = 32 ... 40 and the CPU comparison."""
    import dataclasses

    from statmech.models.gpu import gpu_available

    if not gpu_available():
        return [{"benchmark": "sk exact enumeration, numba.cuda", "case": "skipped: no CUDA GPU",
                 "value": float("nan"), "unit": "ps/config", "ratio": None,
                 "check": "run on a machine with a CUDA GPU"}]
    from statmech.models.sk.cuda import enumerate_sk_cuda

    rng = np.random.default_rng(2027)
    rows = []
    cases = ((28, 0.0), (30, 0.0), (32, 0.0), (32, 0.3)) if quick else (
        (32, 0.0), (34, 0.0), (36, 0.0), (38, 0.0), (40, 0.0), (36, 0.3))
    for n, B in cases:
        jq = draw_couplings(n, rng)
        bq = int(np.rint(B / EPS))
        result = {}

        def ours(jq=jq, bq=bq, result=result):
            result["r"] = enumerate_sk_cuda(jq, bq)

        t = _best_time(ours, 2)
        r = result["r"]
        ok = energy_units(jq, bq, r.ground_state) == r.E0 and r.gap_flip >= 0
        ps = t / 2**n * 1e12
        rows.append({
            "benchmark": f"sk exact enumeration, numba.cuda, B = {B:g}",
            "case": f"N={n}: {t:.3g} s per sample",
            "value": ps, "unit": "ps/config",
            "ratio": cpu_ns * 1e3 / ps if cpu_ns and B == 0 else None,
            "check": f"e0 = {r.e0:.6f}, N_s = {r.n_stable}; E(ground_state) recomputed equal, "
                     f"a local minimum: {ok}",
            "ok": ok,
        })
    n = 22 if quick else 28
    same = 0
    for B in (0.0, 0.3, 0.0, 0.3):
        jq = draw_couplings(n, rng)
        bq = int(np.rint(B / EPS))
        cpu, gpu = enumerate_sk(jq, bq), enumerate_sk_cuda(jq, bq)
        same += all(np.array_equal(getattr(cpu, f.name), getattr(gpu, f.name))
                    for f in dataclasses.fields(Enumeration))
    rows.append({
        "benchmark": "sk exact enumeration, numba.cuda vs CPU", "case": f"N={n}, 4 samples",
        "value": float(same), "unit": "samples equal", "ratio": None,
        "check": f"every field of the result (B = 0, 0.3) equal in {same}/4", "ok": same == 4,
    })
    return rows


def run(quick: bool = False) -> list[dict]:
    enumeration = _enumeration_rows(quick)
    cpu_ns = next((r["value"] for r in reversed(enumeration)
                   if r["benchmark"] == "sk exact enumeration, B = 0, 1 thread"), None)
    return enumeration + _gpu_rows(quick, cpu_ns) + _pt_rows(quick)
