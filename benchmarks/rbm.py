"""RBM kernels: block-Gibbs sampling throughput and exact ln Z enumeration rate, one thread.

* **Gibbs**: ``k`` block-Gibbs steps (``h ~ p(h|v)``, then ``v ~ p(v|h)``) on ``n`` independent
  chains of an RBM with ``V = 16``, ``H = 32``, ``W ~ N(0, 0.3^2)``, biases ``N(0, 0.5^2)``. A
  *spin update* is one unit resampled, so a step is ``V + H`` updates per chain. Reference: the
  straightforward numpy sampler (``sigmoid(V @ W + b) > rng.random``, float64 matmuls over all
  chains, numpy's default generator), same machine, same chains. Physics check of the timed
  samples: the mean of every visible unit over the chains against the exact ``<v_i>`` from
  enumeration, as the largest |z| (standard error from the spread over independent chains).
* **ln Z**: enumeration of the ``2^V`` visible states (``ln p~(v) = a.v + sum_j softplus(b_j +
  v.W_:j)``, log-sum-exp) at ``V = 20``, ``H = 16``, in states/ns. Reference: numpy, all states in
  blocks of 2^16 (``X @ W``, ``logaddexp``). Check: ours, numpy and the enumeration of the other
  layer (2^H states) agree to 1e-10 (relative).
"""

from __future__ import annotations

import math
import time

import numpy as np

from statmech.models.rbm import kernels as K
from statmech.models.rbm.datasets import all_states


def _best(fn, repeats: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _machine(V: int, H: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    return g.normal(0, 0.3, (V, H)), g.normal(0, 0.5, V), g.normal(0, 0.5, H)


def _numpy_gibbs(v: np.ndarray, W: np.ndarray, a: np.ndarray, b: np.ndarray, k: int,
                 rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - reference
    v = v.astype(np.float64)
    for _ in range(k):
        h = (rng.random((len(v), len(b))) < 1 / (1 + np.exp(-(v @ W + b)))).astype(np.float64)
        v = (rng.random((len(v), len(a))) < 1 / (1 + np.exp(-(h @ W.T + a)))).astype(np.float64)
    return v


def _numpy_log_z(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:  # pragma: no cover
    V = W.shape[0]
    block = 1 << min(V, 16)
    low = all_states(min(V, 16)).astype(np.float64)
    parts = []
    for hi in range(1 << (V - min(V, 16))):
        X = np.zeros((block, V))
        X[:, :min(V, 16)] = low
        if V > 16:
            X[:, 16:] = (hi >> np.arange(V - 16)) & 1
        parts.append(np.logaddexp.reduce(X @ a + np.logaddexp(0, X @ W + b).sum(axis=1)))
    return float(np.logaddexp.reduce(np.array(parts)))


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    V, H = 16, 32
    W, a, b = _machine(V, H, 1)
    n, k = (500, 20) if quick else (2000, 50)
    tiny = np.zeros((2, V), dtype=np.uint8)
    K.gibbs(tiny, W, a, b, 1, np.uint64(1), np.uint64(0))  # compile / load outside the timing
    start = np.random.default_rng(2).integers(0, 2, (n, V), dtype=np.uint8)

    def ours() -> np.ndarray:
        v = start.copy()
        K.gibbs(v, W, a, b, k, np.uint64(12345), np.uint64(0))
        return v

    t_ours, v_ours = _best(ours)
    t_ref, v_ref = _best(lambda: _numpy_gibbs(start, W, a, b, k, np.random.default_rng(3)))
    updates = n * k * (V + H)
    _, mv, _, _ = K.model_moments(W, a, b, True)
    zs = []
    for v in (v_ours, v_ref):
        mean = np.asarray(v, dtype=np.float64).mean(axis=0)
        se = np.sqrt(mean * (1 - mean) / (n - 1)) + 1e-300
        zs.append(float(np.max(np.abs(mean - mv) / se)))
    rate, ref_rate = updates / t_ours / 1e9, updates / t_ref / 1e9
    rows.append({
        "benchmark": "rbm block Gibbs, 1 thread", "case": f"V={V} H={H} n={n} k={k}",
        "value": rate, "unit": "spin updates/ns", "ratio": rate / ref_rate,
        "check": f"<v_i> over chains vs exact enumeration: max |z| = {zs[0]:.2f} over {V}",
        "ok": zs[0] < 4.0,
    })
    rows.append({
        "benchmark": "reference: numpy block Gibbs (matmul over chains)", "case": f"V={V} H={H}",
        "value": ref_rate, "unit": "spin updates/ns", "ratio": 1.0,
        "check": f"max |z| = {zs[1]:.2f}", "ok": zs[1] < 4.0,
    })

    Vz, Hz = (16, 16) if quick else (20, 16)
    W, a, b = _machine(Vz, Hz, 4)
    K.log_z_visible(W[:4, :2], a[:4], b[:2])
    t_ours, lz = _best(lambda: K.log_z_visible(W, a, b))
    t_ref, lz_ref = _best(lambda: _numpy_log_z(W, a, b), repeats=2)
    lz_h = K.log_z_hidden(W, a, b)
    dev = max(abs(lz - lz_ref), abs(lz - lz_h)) / abs(lz)
    states = 2.0**Vz
    rows.append({
        "benchmark": "rbm exact ln Z (enumerate visible), 1 thread", "case": f"V={Vz} H={Hz}",
        "value": states / t_ours / 1e9, "unit": "states/ns", "ratio": t_ref / t_ours,
        "check": f"ln Z = {lz:.10f}; numpy and hidden-layer enumeration agree to {dev:.1e}",
        "ok": dev < 1e-10,
    })
    rows.append({
        "benchmark": "reference: numpy enumeration (blocks of 2^16)", "case": f"V={Vz} H={Hz}",
        "value": states / t_ref / 1e9, "unit": "states/ns", "ratio": 1.0,
        "check": f"{t_ref * 1e9 / states:.1f} ns per state",
    })
    return rows
