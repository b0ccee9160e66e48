"""numba kernels of the Hopfield network: patterns, overlaps, the three dynamics and annealing.

Conventions: k_B = 1; p random patterns ``xi`` (``int8`` +-1, shape ``(N, p)``, one row per
spin, so the p pattern bits of spin i are contiguous); Hebbian couplings
``J_ij = (1/N) sum_mu xi_i^mu xi_j^mu`` with ``J_ii = 0``; spins ``s`` are ``int8`` +-1.

Integer bookkeeping. The kernels never form the N x N coupling matrix. They keep the integer
pattern overlaps ``M^mu = sum_j xi_j^mu s_j = N m^mu`` (``int16`` for N <= 32767, else
``int32``) and compute the local field of spin i as

    H_i = N h_i = sum_mu xi_i^mu M^mu - p s_i          (the - p s_i removes J_ii)

in O(p) (an ``int8 x int16 -> int32`` dot product that LLVM vectorises to ``vpmaddwd``); a flip
of spin i updates every ``M^mu`` in O(p). Everything is exact integer arithmetic, so trajectories
are bitwise reproducible and the energy per spin

    E/N = -(1/2N) sum_{i != j} J_ij s_i s_j = -(1/2) sum_mu (m^mu)^2 + p / (2N)

is exact (``sum_mu (M^mu)^2`` is an ``int64``). ``|H_i| <= N p`` must fit an ``int32``.

Update rules (``H`` is the field of spin i, the other spins held fixed):

* zero-T (``async``, ``sync``): ``s_i <- sign(H_i)``, and ``s_i`` is kept when ``H_i = 0`` (a tie
  never flips, so every flip lowers the energy by ``2 |h_i|`` and the dynamics stops). A state is
  a *fixed point* iff ``s_i H_i >= 0`` for every i (single-flip stable).
* Glauber (heat bath): ``s_i <- +1`` with probability ``1 / (1 + exp(-2 h_i / T))``; at T = 0 this
  is ``sign(h_i)`` with a fair coin on ties.

One sweep of the sequential dynamics (``async`` and ``glauber``) visits every spin once in a fresh
random order (Fisher-Yates shuffle from the counter-based generator of :mod:`statmech.rng`).
The asynchronous zero-T dynamics stops after the first sweep without a flip: every spin has then
been checked in the final state, which is therefore a fixed point. The synchronous (Little)
dynamics updates all spins at once from the same field; with symmetric couplings and the tie rule
above (equivalent to an infinitesimal positive self-coupling) it ends in a fixed point or a
2-cycle, which is detected and reported (a 2-cycle state is never a fixed point).

Simulated annealing (:func:`anneal`): ``tau`` heat-bath sweeps (the Glauber rule and random
sequential order above) at the temperatures of :func:`anneal_temperature`, then, optionally,
the zero-T asynchronous rule until a sweep flips nothing.
"""

from __future__ import annotations

import numpy as np
from numba import int8, int32, int64, njit, uint64

from statmech.models.schedules import anneal_temperature
from statmech.rng import GAMMA, JIT, mix64, uniform

#: largest N for which the overlaps are stored as int16 (|M^mu| <= N)
INT16_MAX_N = 32767


def overlap_dtype(n: int) -> type[np.signedinteger]:
    """``int16`` overlaps up to N = 32767 (twice the SIMD width of ``int32``), else ``int32``."""
    return np.int16 if n <= INT16_MAX_N else np.int32


@njit(**JIT)
def make_patterns(key, n, p):
    """``p`` random patterns of ``n`` spins, shape ``(n, p)``, ``int8`` +-1, from stream ``key``.

    Bit ``b`` of the 64-bit word ``i * ceil(p / 64) + c`` of the stream is pattern ``64 c + b``
    at spin ``i`` (set bit: -1), so each pattern bit is one fair coin.
    """
    xi = np.empty((n, p), dtype=np.int8)
    words = (p + 63) // 64
    for i in range(n):
        for c in range(words):
            w = mix64(key + uint64(i * words + c) * GAMMA)
            k0 = 64 * c
            nb = min(64, p - k0)
            for b in range(nb):
                xi[i, k0 + b] = int8(1 - 2 * int64((w >> uint64(b)) & uint64(1)))
    return xi


@njit(**JIT)
def flip_random(s, k, key):
    """Flip ``k`` distinct spins of ``s`` chosen uniformly (partial Fisher-Yates, stream ``key``).

    Returns the flipped indices (``int64``).
    """
    n = s.shape[0]
    idx = np.arange(n)
    for t in range(k):
        w = mix64(key + uint64(t) * GAMMA)
        j = t + int64(((w >> uint64(32)) * uint64(n - t)) >> uint64(32))
        idx[t], idx[j] = idx[j], idx[t]
        s[idx[t]] = -s[idx[t]]
    return idx[:k].copy()


@njit(**JIT)
def overlaps(xi, s, out):
    """``out[mu] = sum_i xi_i^mu s_i`` (exact; ``out`` is int16 or int32). Returns ``out``."""
    n, p = xi.shape
    acc = np.zeros(p, dtype=np.int32)
    for i in range(n):
        si = int32(s[i])
        row = xi[i]
        for k in range(p):
            acc[k] = int32(acc[k] + si * int32(row[k]))
    for k in range(p):
        out[k] = acc[k]
    return out


@njit(inline="always", **JIT)
def _dot(row, M):
    """``sum_mu row[mu] M[mu]`` in int32 (vectorised: int8 x int16 -> int32 multiply-add)."""
    h = int32(0)
    for k in range(row.shape[0]):
        h = int32(h + int32(row[k]) * int32(M[k]))
    return h


@njit(inline="always", **JIT)
def _add_row(M, row, d):
    """``M += d * row`` (the overlap update after a flip; ``d = 2 s_new``)."""
    for k in range(row.shape[0]):
        M[k] = M[k] + d * row[k]


@njit(**JIT)
def count_unstable(xi, M, s):
    """Number of spins with ``s_i h_i < 0`` (a state is a fixed point iff this is 0)."""
    n, p = xi.shape
    bad = 0
    for i in range(n):
        si = int32(s[i])
        if si * _dot(xi[i], M) < p:  # s_i H_i = s_i (xi_i . M) - p < 0
            bad += 1
    return bad


@njit(**JIT)
def sum_sq(M):
    """``sum_mu (M^mu)^2`` as int64 (``E/N = -sum_sq / (2 N^2) + p / (2N)``)."""
    q = int64(0)
    for k in range(M.shape[0]):
        q += int64(M[k]) * int64(M[k])
    return q


@njit(inline="always", **JIT)
def _shuffle(order, key, ctr):
    """Fisher-Yates shuffle of ``order`` in place from counters ``ctr, ctr + 1, ...``.

    Each 64-bit word gives two swap indices (Lemire's multiply-shift on each 32-bit half; the
    bias is below n / 2**32). Returns the next unused counter.
    """
    t = order.shape[0] - 1
    while t > 0:
        w = mix64(key + ctr * GAMMA)
        ctr += uint64(1)
        j = int64(((w >> uint64(32)) * uint64(t + 1)) >> uint64(32))
        order[t], order[j] = order[j], order[t]
        t -= 1
        if t > 0:
            j = int64(((w & uint64(0xFFFFFFFF)) * uint64(t + 1)) >> uint64(32))
            order[t], order[j] = order[j], order[t]
            t -= 1
    return ctr


@njit(**JIT)
def sequential(xi, s, M, key, T, zero_t, n_sweeps, measure, target, trace, flip_log):
    """Random sequential dynamics: zero-T asynchronous (``zero_t``) or Glauber heat bath at ``T``.

    ``s`` (spins) and ``M`` (their overlaps, see :func:`overlaps`) are updated in place.

    Zero-T: at most ``n_sweeps`` sweeps with flips; stops after the first sweep without one.
    Glauber: exactly ``n_sweeps`` sweeps; the last ``measure`` of them are measurements (after
    each such sweep the target overlap ``M[target]`` and ``sum_mu M_mu^2`` are accumulated).

    ``trace`` (``int64``, length 0 to disable) receives ``sum_mu M_mu^2`` before the first sweep
    and after each sweep (unused entries keep their value); ``flip_log`` (``int64``, length 0 to
    disable) receives the index of every flipped spin in order, as far as it has room.

    Returns ``(sweeps, converged, flips, m_sum, q_sum, n_meas)``: sweeps with at least one flip
    (zero-T) or sweeps run (Glauber); whether a sweep without flips was reached (zero-T only);
    total flips; sums of ``M[target]`` and ``sum_mu M_mu^2`` over the ``n_meas`` measurements.
    """
    n, p = xi.shape
    order = np.arange(n)
    ctr = uint64(0)
    c2 = 2.0 / (n * T) if T > 0 else np.inf  # P(up) = 1 / (1 + exp(-c2 H)), c2 = 2 / (N T)
    sweeps = 0
    converged = False
    flips = int64(0)
    m_sum = int64(0)
    q_sum = int64(0)
    n_meas = 0
    if trace.shape[0] > 0:
        trace[0] = sum_sq(M)
    for sweep in range(n_sweeps + (1 if zero_t else 0)):
        ctr = _shuffle(order, key, ctr)
        changed = 0
        for t in range(n):
            i = order[t]
            row = xi[i]
            si = int32(s[i])
            H = _dot(row, M) - int32(p) * si
            if zero_t:
                flip = si * H < 0
            else:
                u = uniform(key, ctr)
                ctr += uint64(1)
                if H == 0:
                    up = u < 0.5
                else:
                    up = u * (1.0 + np.exp(-c2 * H)) < 1.0
                flip = (si > 0) != up
            if flip:
                s[i] = int8(-si)
                _add_row(M, row, int32(-2) * si)
                if flips < flip_log.shape[0]:
                    flip_log[flips] = i
                flips += 1
                changed += 1
        if trace.shape[0] > sweep + 1:
            trace[sweep + 1] = sum_sq(M)
        if zero_t:
            if changed == 0:
                converged = True
                break
            sweeps += 1
            if sweeps == n_sweeps:
                break
        else:
            sweeps += 1
            if sweep >= n_sweeps - measure:
                m_sum += int64(M[target])
                q_sum += sum_sq(M)
                n_meas += 1
    return sweeps, converged, flips, m_sum, q_sum, n_meas


@njit(**JIT)
def synchronous(xi, s, M, n_steps, target, trace):
    """Zero-T synchronous (Little) dynamics: ``s_i <- sign(H_i)`` for all i at once (ties keep).

    Stops at a fixed point (a step changes nothing), at a 2-cycle (the new state equals the one
    before the last step) or after ``n_steps`` steps that changed something. ``s`` and ``M`` are
    updated in place and hold the state after the last step (for a 2-cycle: the state the cycle
    returned to). ``trace`` as in :func:`sequential`.

    Returns ``(steps, converged, cycle2, flips, m_other_state, q_other_state)``: steps that
    changed the state, whether a fixed point was reached, whether a 2-cycle was found, total
    flips, and ``M[target]`` and ``sum_mu M_mu^2`` of the other state of the 2-cycle (of the
    final state otherwise).
    """
    n, p = xi.shape
    new = s.copy()
    prev = s.copy()
    steps = 0
    converged = False
    cycle2 = False
    flips = int64(0)
    m_other = int64(M[target])
    q_other = sum_sq(M)
    if trace.shape[0] > 0:
        trace[0] = q_other
    for step in range(n_steps):
        changed = 0
        for i in range(n):
            si = int32(s[i])
            H = _dot(xi[i], M) - int32(p) * si
            ni = si if H == 0 else (int32(1) if H > 0 else int32(-1))
            new[i] = int8(ni)
            changed += ni != si
        if changed == 0:
            converged = True
            break
        back = step > 0
        if back:
            for i in range(n):
                if new[i] != prev[i]:
                    back = False
                    break
        m_other = int64(M[target])
        q_other = sum_sq(M)
        for i in range(n):
            prev[i] = s[i]
            if new[i] != s[i]:
                s[i] = new[i]
                _add_row(M, xi[i], int32(2) * int32(new[i]))
        flips += changed
        steps += 1
        if trace.shape[0] > step + 1:
            trace[step + 1] = sum_sq(M)
        if back:
            cycle2 = True
            break
    if not cycle2:
        m_other = int64(M[target])
        q_other = sum_sq(M)
    return steps, converged, cycle2, flips, m_other, q_other


@njit(**JIT)
def anneal(xi, s, M, key, tau, T_start, T_end, geometric, quench, max_quench, trace):
    """Simulated annealing: ``tau`` heat-bath sweeps on a cooling schedule, then a zero-T quench.

    ``s`` (spins) and ``M`` (their overlaps) are updated in place. Sweep ``t`` (0 .. tau - 1)
    visits every spin once in a fresh random order at ``T_t = anneal_temperature(t, ...)``
    (``T_t > 0``) with the Glauber rule of :func:`sequential`, consuming the stream ``key``
    exactly as :func:`sequential` does: at ``T_start = T_end = T`` the anneal is bitwise
    ``sequential(..., T, False, tau, ...)``. With ``quench``, zero-T random sequential sweeps
    (flip iff ``s_i h_i < 0``; the stream continues) follow until a sweep flips nothing (then
    the state is a fixed point) or ``max_quench`` sweeps with flips have run.

    ``trace`` (``int64``, length 0 to disable) receives ``sum_mu M_mu^2`` before the first sweep
    and after each annealing sweep.

    Returns ``(flips, q_anneal, quench_flips, quench_sweeps, converged)``: flips during the
    anneal, ``sum_mu M_mu^2`` at its end (before the quench), flips and sweeps with flips of the
    quench, and whether the quench reached a sweep without flips (False without a quench).
    """
    n, p = xi.shape
    order = np.arange(n)
    ctr = uint64(0)
    flips = int64(0)
    if trace.shape[0] > 0:
        trace[0] = sum_sq(M)
    for t in range(tau):
        T = anneal_temperature(t, tau, T_start, T_end, geometric)
        c2 = 2.0 / (n * T)  # P(up) = 1 / (1 + exp(-c2 H)), c2 = 2 / (N T)
        ctr = _shuffle(order, key, ctr)
        for k in range(n):
            i = order[k]
            row = xi[i]
            si = int32(s[i])
            H = _dot(row, M) - int32(p) * si
            u = uniform(key, ctr)
            ctr += uint64(1)
            if H == 0:
                up = u < 0.5
            else:
                up = u * (1.0 + np.exp(-c2 * H)) < 1.0
            if (si > 0) != up:
                s[i] = int8(-si)
                _add_row(M, row, int32(-2) * si)
                flips += 1
        if trace.shape[0] > t + 1:
            trace[t + 1] = sum_sq(M)
    q_anneal = sum_sq(M)
    quench_flips = int64(0)
    quench_sweeps = 0
    converged = False
    if quench:
        for _ in range(max_quench + 1):
            ctr = _shuffle(order, key, ctr)
            changed = 0
            for k in range(n):
                i = order[k]
                row = xi[i]
                si = int32(s[i])
                if si * (_dot(row, M) - int32(p) * si) < 0:
                    s[i] = int8(-si)
                    _add_row(M, row, int32(-2) * si)
                    changed += 1
            quench_flips += changed
            if changed == 0:
                converged = True
                break
            quench_sweeps += 1
            if quench_sweeps == max_quench:
                break
    return flips, q_anneal, quench_flips, quench_sweeps, converged
