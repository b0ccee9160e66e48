"""Hopfield kernel throughput (spin updates per ns, one thread) at alpha = 0.138, with checks.

An *update* is one visit of one spin (its local field computed and the rule applied, whether or
not it flips). Timed: the dynamics kernels only, run from every tested stored pattern to the end
(zero-T asynchronous: until a sweep without flips; synchronous: until a fixed point or 2-cycle),
best of three repeats over the same set of runs. Patterns, the initial overlaps and the
stability counts are not timed.

Reference: the straightforward dense-matrix dynamics, ``h_i = sum_j J_ij s_j`` from the N x N
coupling matrix (``N J_ij`` as float32, exact integers; vectorised fastmath dot), with the same
random order and rule, measured in the same run on the same networks. The ratio is ours /
reference. Physics checks: the fraction of unstable bits at the stored patterns against the
exact binomial crosstalk probability (z from the spread over samples); the dense reference must
reproduce our final states bit for bit; synchronous runs must end in a fixed point or a 2-cycle.
"""

from __future__ import annotations

import time

import numpy as np
from numba import float32, njit, uint64

from statmech.models.hopfield.kernels import (
    _shuffle,
    count_unstable,
    make_patterns,
    overlap_dtype,
    overlaps,
    sequential,
    synchronous,
)
from statmech.models.hopfield.model import n_patterns
from statmech.seeding import kernel_key
from statmech.theory.hopfield import p_error_crosstalk, p_error_exact

ALPHA = 0.138
_EMPTY = np.empty(0, dtype=np.int64)


@njit(cache=True, fastmath=True)
def _dense_dot(row, s):  # pragma: no cover - benchmark baseline
    h = float32(0.0)
    for j in range(row.shape[0]):
        h += row[j] * s[j]
    return h


@njit(cache=True)
def _reference_async(NJ, s, key, max_sweeps):  # pragma: no cover - benchmark baseline
    """Zero-T asynchronous dynamics with fields from the dense matrix ``NJ`` (diagonal 0)."""
    n = s.shape[0]
    order = np.arange(n)
    ctr = uint64(0)
    sweeps = 0
    for _ in range(max_sweeps + 1):
        ctr = _shuffle(order, key, ctr)
        changed = 0
        for t in range(n):
            i = order[t]
            H = _dense_dot(NJ[i], s)
            if s[i] * H < 0:
                s[i] = -s[i]
                changed += 1
        if changed == 0:
            return sweeps, True
        sweeps += 1
        if sweeps == max_sweeps:
            break
    return sweeps, False


def _networks(N: int, samples: int, seed: int) -> list[np.ndarray]:
    p = n_patterns(N, ALPHA)
    ss = np.random.SeedSequence(seed).spawn(samples)
    return [make_patterns(kernel_key(c), N, p) for c in ss]


def _run_ours(nets: list[np.ndarray], trials: int, sync: bool) -> dict:
    """Run every (network, trial) once; returns timings, updates and per-run results."""
    t_kernel = 0.0
    updates = 0
    finals = []
    unstable = np.zeros((len(nets), trials))
    info: dict[str, list] = {"m": [], "ok": [], "cycle": []}
    for a, xi in enumerate(nets):
        N, p = xi.shape
        for t in range(trials):
            s = xi[:, t].copy()
            M = overlaps(xi, s, np.empty(p, dtype=overlap_dtype(N)))
            unstable[a, t] = count_unstable(xi, M, s) / N
            key = np.uint64(1000 * a + t + 1)
            t0 = time.perf_counter()
            if sync:
                steps, conv, cyc, *_ = synchronous(xi, s, M, 1000, t, _EMPTY)
                t_kernel += time.perf_counter() - t0
                updates += (steps + (1 if conv else 0)) * N
                info["ok"].append(bool(conv or cyc))
                info["cycle"].append(bool(cyc))
            else:
                sweeps, conv, *_ = sequential(xi, s, M, key, 0.0, True, 1000, 0, t, _EMPTY,
                                              _EMPTY)
                t_kernel += time.perf_counter() - t0
                updates += (sweeps + (1 if conv else 0)) * N
                info["ok"].append(bool(conv))
            info["m"].append(int(M[t]) / N)
            finals.append(s)
    return {"seconds": t_kernel, "updates": updates, "finals": finals, "unstable": unstable,
            **info}


def _dense(xi: np.ndarray) -> np.ndarray:
    """``N J`` with zero diagonal as float32 (exact: integers below 2**24)."""
    x = xi.astype(np.float32)
    NJ = x @ x.T
    np.fill_diagonal(NJ, 0.0)
    return NJ


def _run_reference(nets: list[np.ndarray], dense: list[np.ndarray], trials: int) -> dict:
    """The dense-matrix dynamics from the same states with the same keys as :func:`_run_ours`."""
    seconds = 0.0
    updates = 0
    finals = []
    for a, (xi, NJ) in enumerate(zip(nets, dense, strict=False)):
        N = xi.shape[0]
        for t in range(trials):
            s = xi[:, t].astype(np.float32)
            t0 = time.perf_counter()
            sweeps, conv = _reference_async(NJ, s, np.uint64(1000 * a + t + 1), 1000)
            seconds += time.perf_counter() - t0
            updates += (sweeps + (1 if conv else 0)) * N
            finals.append(s.astype(np.int8))
    return {"seconds": seconds, "updates": updates, "finals": finals}


def _best(fn, repeats: int = 3) -> dict:
    runs = [fn() for _ in range(repeats)]
    return min(runs, key=lambda r: r["seconds"] / r["updates"])


def _crosstalk_check(N: int, unstable: np.ndarray) -> tuple[str, bool]:
    per_sample = unstable.mean(axis=1)
    mean = float(per_sample.mean())
    err = float(per_sample.std(ddof=1) / np.sqrt(len(per_sample)))
    p = n_patterns(N, ALPHA)
    exact = p_error_exact(N, p)
    z = (mean - exact) / err
    text = (f"unstable bits at patterns {mean:.5f}±{err:.5f} vs exact {exact:.5f} (z={z:+.1f}; "
            f"erf estimate {float(p_error_crosstalk(N, p)):.5f})")
    return text, abs(z) < 5


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    cases = ((1000, 32, 5, 16), (8000, 8, 5, 1)) if quick else (
        (1000, 64, 5, 32), (8000, 16, 5, 3))
    tiny = _networks(64, 1, 0)[0]  # compile or load the kernels outside the timings
    _run_ours([tiny], 2, False)
    _run_ours([tiny], 2, True)
    _run_reference([tiny], [_dense(tiny)], 2)
    for N, samples, trials, ref_samples in cases:
        nets = _networks(N, samples, seed=N)
        ours = _best(lambda nets=nets, trials=trials: _run_ours(nets, trials, sync=False))
        rate = ours["updates"] / ours["seconds"] / 1e9
        check, ok = _crosstalk_check(N, ours["unstable"])
        m = np.asarray(ours["m"])
        # dense reference on the first ref_samples networks, same keys and initial states
        dense = [_dense(xi) for xi in nets[:ref_samples]]
        ref = _best(lambda nets=nets, dense=dense, trials=trials: _run_reference(
            nets, dense, trials))
        del dense
        ref_s, ref_updates = ref["seconds"], ref["updates"]
        same = sum(bool(np.array_equal(f, ours["finals"][i])) for i, f in enumerate(ref["finals"]))
        ref_rate = ref_updates / ref_s / 1e9
        n_ref = ref_samples * trials
        rows.append({
            "benchmark": "hopfield async T=0, alpha=0.138, 1 thread", "case": f"N={N}",
            "value": rate, "unit": "updates/ns", "ratio": rate / ref_rate,
            "check": (f"{check}; final m {m.mean():.4f} (min {m.min():.3f}), "
                      f"{np.mean(ours['ok']):.0%} fixed points; dense reference identical "
                      f"{same}/{n_ref}"),
            "ok": ok and same == n_ref and all(ours["ok"]),
        })
        rows.append({
            "benchmark": "reference: dense N x N field (float32 fastmath)", "case": f"N={N}",
            "value": ref_rate, "unit": "updates/ns", "ratio": 1.0,
            "check": f"{n_ref} runs, {1 / (ref_rate * N):.3f} ns per coupling",
        })
        sync = _best(lambda nets=nets, trials=trials: _run_ours(nets, trials, sync=True))
        s_rate = sync["updates"] / sync["seconds"] / 1e9
        rows.append({
            "benchmark": "hopfield sync (Little) T=0, alpha=0.138, 1 thread", "case": f"N={N}",
            "value": s_rate, "unit": "updates/ns", "ratio": None,
            "check": (f"{sum(sync['ok'])}/{len(sync['ok'])} runs ended in a fixed point or a "
                      f"2-cycle ({sum(sync['cycle'])} 2-cycles); final m "
                      f"{np.mean(sync['m']):.4f}"),
            "ok": all(sync["ok"]),
        })
    return rows
