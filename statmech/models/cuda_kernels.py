"""numba.cuda checkerboard kernel of the 2D Ising model: the same Markov chain as the CPU kernel.

Same layout, same update rule and the same random numbers as
:func:`statmech.models.ising_kernels.simulate_2d`: site ``j`` of a row takes the high 31 bits
of random word ``j`` of its row if ``j < ceil(H/2)``, else the low 31 bits of word
``j - ceil(H/2)``. Spins, thresholds and measured sums are integers, so a GPU run is bitwise
identical to a CPU run of the same unit -- ``backend: auto`` stays reproducible whatever mix of
workers computes a sweep. One thread updates one site; the bond sum and the magnetisation are
reduced with integer atomics.

Without a GPU the kernels run in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set
before numba.cuda is imported), which is how the test suite covers them.
"""

from __future__ import annotations

import os

import numpy as np
from numba import cuda, int32, int64, uint64

from statmech.rng import GAMMA

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
THREADS = (8, 32)


def gpu_available() -> bool:
    """Whether a real CUDA device can run the kernels (the simulator does not count)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # no driver, no toolkit
        return False


@cuda.jit(device=True, inline=True)
def _mix64(z):
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@cuda.jit
def _half_sweep(a, o, c, thr, key, ctr, sums, measure):
    """One colour: thread (r, j) updates site j of row r; sums = [flips, sum s, sum s S]."""
    r, j = cuda.grid(2)
    L = a.shape[0]
    H = a.shape[1]
    if r >= L or j >= H:
        return
    h2 = (H + 1) // 2
    up = o[(r - 1 + L) % L, j]
    dn = o[(r + 1) % L, j]
    same = o[r, j]
    if (r + c) & 1 == 0:
        side = o[r, (j - 1 + H) % H]
    else:
        side = o[r, (j + 1) % H]
    S = int32(up) + int32(dn) + int32(same) + int32(side)
    word = j if j < h2 else j - h2
    w = _mix64(uint64(key) + uint64(ctr + r * h2 + word) * GAMMA)
    if j < h2:
        rnd = int32(w >> uint64(33))
    else:
        rnd = int32(w & uint64(0x7FFFFFFF))
    s = int32(a[r, j])
    k = s * S
    idx = ((k + 4) >> 1) + 5 * int32(s > 0)
    n = s - 2 * s * int32(rnd <= thr[idx])
    a[r, j] = n
    if measure:
        if n != s:
            cuda.atomic.add(sums, 0, int64(1))
        cuda.atomic.add(sums, 1, int64(n))
        cuda.atomic.add(sums, 2, int64(n * S))


def simulate_2d_cuda(a: np.ndarray, b: np.ndarray, thr: np.ndarray, key: np.uint64,
                     n_therm: int, n_meas: int, every: int):  # type: ignore[no-untyped-def]
    """GPU twin of :func:`statmech.models.ising_kernels.simulate_2d` (same arguments/results)."""
    L, H = a.shape
    per_half = L * ((H + 1) // 2)
    d_a, d_b = cuda.to_device(a), cuda.to_device(b)
    d_thr = cuda.to_device(thr)
    sums = cuda.to_device(np.zeros(3, dtype=np.int64))
    blocks = ((L + THREADS[0] - 1) // THREADS[0], (H + THREADS[1] - 1) // THREADS[1])
    ukey = np.uint64(key)
    ctr = 0
    for _ in range(n_therm):
        _half_sweep[blocks, THREADS](d_a, d_b, 0, d_thr, ukey, ctr, sums, False)
        _half_sweep[blocks, THREADS](d_b, d_a, 1, d_thr, ukey, ctr + per_half, sums, False)
        ctr += 2 * per_half
    bonds = np.empty(n_meas, dtype=np.int64)
    mags = np.empty(n_meas, dtype=np.int64)
    accepted = 0
    zero = np.zeros(3, dtype=np.int64)
    for t in range(n_meas):
        for _ in range(every):
            sums.copy_to_device(zero)
            _half_sweep[blocks, THREADS](d_a, d_b, 0, d_thr, ukey, ctr, sums, True)
            s0 = sums.copy_to_host()
            sums.copy_to_device(zero)
            _half_sweep[blocks, THREADS](d_b, d_a, 1, d_thr, ukey, ctr + per_half, sums, True)
            s1 = sums.copy_to_host()
            ctr += 2 * per_half
            accepted += int(s0[0] + s1[0])
        bonds[t] = s1[2]
        mags[t] = s0[1] + s1[1]
    a[...] = d_a.copy_to_host()
    b[...] = d_b.copy_to_host()
    return bonds, mags, accepted
