"""numba kernels of the Curie-Weiss model: the exact single-spin-flip chain, tracked through M only.

Conventions: J = 1 by default, k_B = 1, ``H = -(J/2N)(M^2 - N) - B M``; the state is the number
``k`` of up spins (``M = 2k - N``).

**The chain.** One *attempt* picks a spin uniformly at random and proposes to flip it; the flip
is accepted with the Metropolis probability ``min(1, e^{-beta dE})`` or the heat-bath probability
``1/(1 + e^{beta dE})``. The spin is up with probability k/N (flipping it costs
``dE = 2 (J (M - 1)/N + B)``), down with probability (N - k)/N (``dE = -2 (J (M + 1)/N + B)``).
Since the spins are exchangeable, M alone is an exact Markov chain with

    P(k -> k - 1) = (k/N) a_down(k),   P(k -> k + 1) = ((N - k)/N) a_up(k),

and one attempt is decided by **one** uniform 53-bit integer ``u`` from the unit's counter-based
streams (:mod:`statmech.rng`): attempt number ``c`` takes its top 32 bits from half of word
``c // 2`` of stream ``key`` (the high half for even c), and its low 21 bits from word c of a
second stream ``key2 = mix64(key ^ KEY2)``, which is drawn only when the top bits alone cannot
decide (probability ~2^-32 per attempt). With the integer thresholds
``D(k) = floor(2^53 P(k -> k-1))`` and ``U(k) = floor(2^53 P(k -> k+1))`` the attempt moves
down if ``u < D(k)``, up if ``D(k) <= u < D(k) + U(k)``, and is rejected otherwise. A sweep is
N attempts. This chain *is* the definition of the dynamics: every code path below follows it
to the bit.

**Speed (blocks with certified bounds).** The thresholds change by O(1/N) per step, so over a
window ``[kl, kh]`` of states they are bracketed by cheap bounds (``k/N`` increases with k and
``a_down`` decreases; the reverse for up moves): ``A1 <= D(k) <= A2`` and
``A3 <= D(k) + U(k) <= A4`` for every k in the window (with a safety margin far above float
rounding). For a block of 32 attempts that cannot leave the window, ``u < A1`` is a certain down
move, ``A2 <= u < A3`` a certain up move, ``u >= A4`` a certain rejection, whatever the exact k
at that attempt (decided on the top 32 bits, conservatively rounded). So a block is 16
independent, vectorised hashes, 32 x 4 compare-and-count operations and a sum;
only when some ``u`` falls in a band ``[A1, A2)`` or ``[A3, A4)`` (probability O(window/N)) is the
block replayed attempt by attempt with the exact thresholds. The trajectory is bitwise the one
of the plain attempt-by-attempt chain (:func:`advance` with ``blocks=False``; tested).
"""

from __future__ import annotations

import math

import numpy as np
from numba import int64, njit, uint32, uint64

from statmech.rng import GAMMA, JIT, mix64

#: attempts per vectorised block (32: fastest on AVX2 at N = 10^6)
BLOCK = 32
#: the bounds are recomputed when k has moved more than this from where they were computed
SLACK = 16
#: 2**53: probabilities are compared as 53-bit integers
SCALE = 9007199254740992.0
#: safety margin of the bounds, in units of 2**-53 (float rounding is a few units)
MARGIN = 4096
#: systems at least this large use the blocks (smaller ones use a threshold table)
BLOCK_MIN_N = 1 << 16
#: no stop state (see :func:`advance`)
NO_STOP = -1


@njit(inline="always", **JIT)
def _accept(dE, beta, heatbath):
    """Acceptance probability of a flip costing ``dE`` (Metropolis or heat bath)."""
    x = beta * dE
    if heatbath:
        if x > 700.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(x))
    if x <= 0.0:
        return 1.0
    return math.exp(-x)


@njit(inline="always", **JIT)
def _a_down(k, n, beta, J, B, heatbath):
    """Acceptance of flipping an up spin when k spins are up."""
    M = 2.0 * k - n
    return _accept(2.0 * (J * (M - 1.0) / n + B), beta, heatbath)


@njit(inline="always", **JIT)
def _a_up(k, n, beta, J, B, heatbath):
    """Acceptance of flipping a down spin when k spins are up."""
    M = 2.0 * k - n
    return _accept(-2.0 * (J * (M + 1.0) / n + B), beta, heatbath)


@njit(**JIT)
def thresholds(k, n, beta, J, B, heatbath):
    """The exact integer thresholds ``(D(k), U(k))`` of the chain (module docstring)."""
    fk = float(k) / float(n)
    fn = float(n - k) / float(n)
    D = int64(fk * _a_down(k, n, beta, J, B, heatbath) * SCALE)
    U = int64(fn * _a_up(k, n, beta, J, B, heatbath) * SCALE)
    return D, U


@njit(**JIT)
def threshold_table(n, beta, J, B, heatbath):
    """``D(k)`` and ``U(k)`` for k = 0..n (int64 arrays)."""
    D = np.empty(n + 1, dtype=np.int64)
    U = np.empty(n + 1, dtype=np.int64)
    for k in range(n + 1):
        D[k], U[k] = thresholds(k, n, beta, J, B, heatbath)
    return D, U


@njit(**JIT)
def _bounds(kl, kh, n, beta, J, B, heatbath):
    """``(A1, A2, A3, A4)`` with ``A1 <= D(k) <= A2``, ``A3 <= D(k) + U(k) <= A4`` on [kl, kh]."""
    dlo = int64(float(kl) / n * _a_down(kh, n, beta, J, B, heatbath) * SCALE) - MARGIN
    dhi = int64(float(kh) / n * _a_down(kl, n, beta, J, B, heatbath) * SCALE) + MARGIN
    ulo = int64(float(n - kh) / n * _a_up(kl, n, beta, J, B, heatbath) * SCALE) - MARGIN
    uhi = int64(float(n - kl) / n * _a_up(kh, n, beta, J, B, heatbath) * SCALE) + MARGIN
    return dlo, dhi, dlo + ulo, dhi + uhi


#: the second stream's key is ``mix64(key ^ KEY2)``
KEY2 = np.uint64(0x6A09E667F3BCC909)
_LOW21 = (1 << 21) - 1


@njit(inline="always", **JIT)
def _u32(key, ctr):
    """Top 32 bits of the uniform of attempt ``ctr`` (half of word ``ctr // 2``)."""
    w = mix64(key + (ctr >> uint64(1)) * GAMMA)
    if ctr & uint64(1):
        return int64(w & uint64(0xFFFFFFFF))
    return int64(w >> uint64(32))


@njit(inline="always", **JIT)
def _below(u32, x, key2, ctr):
    """Whether the 53-bit uniform of attempt ``ctr`` (top bits ``u32``) is ``< x``."""
    xh = x >> 21
    if u32 != xh:
        return u32 < xh
    return int64(mix64(key2 + ctr * GAMMA) >> uint64(43)) < (x & _LOW21)


@njit(inline="always", **JIT)
def _exact_step(k, u32, key2, ctr, n, beta, J, B, heatbath, Dt, Ut):
    """New k after attempt ``ctr`` (top random bits ``u32``).

    Thresholds from the tables if given, else computed.
    """
    if Dt.shape[0] > 0:
        D = Dt[k]
        U = Ut[k]
    else:
        D, U = thresholds(k, n, beta, J, B, heatbath)
    S = D + U
    dh = D >> 21
    sh = S >> 21
    if u32 == dh or u32 == sh:  # the top 32 bits do not decide (rare): draw the low bits
        if _below(u32, D, key2, ctr):
            return k - 1
        if _below(u32, S, key2, ctr):
            return k + 1
        return k
    # branch-free: down iff u32 < dh, up iff dh < u32 < sh
    return k + int64(u32 < sh) - 2 * int64(u32 < dh)


@njit(**JIT)
def advance(k, n, beta, J, B, heatbath, key, ctr, n_steps, Dt, Ut, stop_k, blocks):
    """Run ``n_steps`` attempts from ``k`` up spins, attempts ``ctr, ctr+1, ...`` of stream ``key``.

    ``Dt, Ut``: threshold tables (length n + 1) or empty arrays (thresholds computed on demand).
    ``stop_k >= 0``: stop right after the first attempt that leaves ``k <= stop_k``.
    ``blocks``: use the certified vectorised blocks (same trajectory, faster for large n).

    Returns ``(k, next counter, accepted moves, attempts done)``; the attempts done are
    ``n_steps`` unless the stop state was reached (then the attempt that reached it counts).
    """
    ctr = uint64(ctr)
    key2 = mix64(key ^ KEY2)
    acc = int64(0)
    done = int64(0)
    buf = np.empty(BLOCK, dtype=np.uint32)
    kc = int64(-(1 << 62))
    t1 = t2 = t3 = t4 = int64(0)
    while done < n_steps:
        if (blocks and n_steps - done >= BLOCK and k - BLOCK > stop_k
                and (ctr & uint64(1)) == 0):
            if abs(k - kc) > SLACK:
                kc = k
                kl = max(int64(0), kc - SLACK - BLOCK)
                kh = min(int64(n), kc + SLACK + BLOCK)
                a1, a2, a3, a4 = _bounds(kl, kh, n, beta, J, B, heatbath)
                # on the top 32 bits: certain below a1 / a3 under t1 / t3, certain above
                # a2 / a4 from t2 / t4 on
                t1 = a1 >> 21
                t2 = (a2 + _LOW21) >> 21
                t3 = a3 >> 21
                t4 = (a4 + _LOW21) >> 21
            c1 = int64(0)
            c2 = int64(0)
            c3 = int64(0)
            c4 = int64(0)
            z = key + (ctr >> uint64(1)) * GAMMA
            for j in range(BLOCK // 2):
                w = mix64(z)
                z += GAMMA
                hi = int64(w >> uint64(32))
                lo = int64(w & uint64(0xFFFFFFFF))
                buf[2 * j] = uint32(hi)
                buf[2 * j + 1] = uint32(lo)
                c1 += int64(hi < t1) + int64(lo < t1)
                c2 += int64(hi < t2) + int64(lo < t2)
                c3 += int64(hi < t3) + int64(lo < t3)
                c4 += int64(hi < t4) + int64(lo < t4)
            if c2 == c1 and c4 == c3:  # no attempt in an uncertain band
                k += (c3 - c2) - c1
                acc += (c3 - c2) + c1
            else:
                for j in range(BLOCK):
                    u = int64(buf[j])
                    if (u >= t1 and u < t2) or (u >= t3 and u < t4):
                        k2 = _exact_step(k, u, key2, ctr + uint64(j), n, beta, J, B,
                                         heatbath, Dt, Ut)
                        acc += int64(k2 != k)
                        k = k2
                    else:
                        d = int64(u >= t2) & int64(u < t3)
                        e = int64(u < t1)
                        k += d - e
                        acc += d + e
            ctr += uint64(BLOCK)
            done += BLOCK
        else:
            k2 = _exact_step(k, _u32(key, ctr), key2, ctr, n, beta, J, B, heatbath, Dt, Ut)
            acc += int64(k2 != k)
            k = k2
            ctr += uint64(1)
            done += 1
            if k <= stop_k:
                break
    return k, ctr, acc, done


#: the global-flip stream's key is ``mix64(key ^ KEY3)``
KEY3 = np.uint64(0xBB67AE8584CAA73B)


@njit(**JIT)
def simulate(k, n, beta, J, B, heatbath, key, ctr, n_therm, n_meas, every, Dt, Ut, blocks,
             flip=False):
    """Equilibrium run: ``n_therm`` sweeps, then ``n_meas`` measurements ``every`` sweeps apart.

    ``flip`` (for B = 0 only): after every sweep, reverse all spins (k -> n - k) with
    probability 1/2 (word ``sweep`` of stream ``mix64(key ^ KEY3)``), an exact move at B = 0.

    Returns ``(M after each measurement (int64), accepted moves during measurement, k, ctr)``.
    """
    key3 = mix64(key ^ KEY3)
    sweep = uint64(0)
    for _ in range(n_therm):
        k, ctr, _a, _d = advance(k, n, beta, J, B, heatbath, key, ctr, n, Dt, Ut, NO_STOP,
                                 blocks)
        if flip and (mix64(key3 + sweep * GAMMA) >> uint64(63)):
            k = n - k
        sweep += uint64(1)
    mags = np.empty(n_meas, dtype=np.int64)
    acc = int64(0)
    for t in range(n_meas):
        for _ in range(every):
            k, ctr, a, _d = advance(k, n, beta, J, B, heatbath, key, ctr, n, Dt, Ut, NO_STOP,
                                    blocks)
            acc += a
            if flip and (mix64(key3 + sweep * GAMMA) >> uint64(63)):
                k = n - k
            sweep += uint64(1)
        mags[t] = 2 * k - n
    return mags, acc, k, ctr


@njit(**JIT)
def first_passage(n, beta, J, B, heatbath, key, max_sweeps, Dt, Ut, blocks):
    """Start at M = n (all up), run until the first attempt that leaves M <= 0.

    Returns ``(attempts, escaped)``: the number of attempts up to and including that one (or
    ``max_sweeps * n`` attempts without escape).
    """
    k = int64(n)
    ctr = uint64(0)
    total = int64(0)
    stop = int64(n // 2)
    for _ in range(max_sweeps):
        k, ctr, _a, done = advance(k, n, beta, J, B, heatbath, key, ctr, n, Dt, Ut, stop,
                                   blocks)
        total += done
        if k <= stop:
            return total, True
    return total, False


@njit(**JIT)
def reference_spins(spins, beta, J, B, heatbath, key, n_sweeps):
    """Benchmark reference: the straightforward kernel that stores the spin array.

    Random site (Lemire's multiply-shift on a 64-bit word), energy change from the tracked M,
    acceptance by ``exp`` (Metropolis: ``u < e^{-beta dE}``; heat bath ``u < 1/(1 + e^{beta dE})``)
    with a second uniform. Returns the magnetisation after each sweep (int64) and accepted flips.
    """
    n = spins.shape[0]
    M = int64(0)
    for i in range(n):
        M += spins[i]
    mags = np.empty(n_sweeps, dtype=np.int64)
    ctr = uint64(0)
    acc = int64(0)
    for t in range(n_sweeps):
        for _ in range(n):
            w = mix64(key + ctr * GAMMA)
            i = int64(((w >> uint64(32)) * uint64(n)) >> uint64(32))
            u = float(mix64(key + (ctr + uint64(1)) * GAMMA) >> uint64(11)) / SCALE
            ctr += uint64(2)
            s = spins[i]
            dE = 2.0 * s * (J * (M - s) / n + B)
            if u < _accept(dE, beta, heatbath):
                spins[i] = -s
                M -= 2 * s
                acc += 1
        mags[t] = M
    return mags, acc
