"""Monte Carlo kernels of the SK model: Metropolis, parallel tempering, zero-temperature quenches.

Conventions as in :mod:`statmech.models.sk.kernels`: ``H = -sum_{i<j} J_ij s_i s_j - B sum_i s_i``,
k_B = 1, ``beta = 1 / T``. Exact integer arithmetic: the kernels take the integer couplings
``Jq`` (int32, ``J = EPS * Jq``) and ``Bq``; local fields ``h_i = sum_j Jq_ij s_j + Bq`` are
int32 and energies int64, all in units of ``EPS = 2**-24`` J. Incremental energies never drift
and the energies of two runs can be compared with ``==``. (int32 fields need
``sum_j |J_ij| + |B| < 127`` J, about N < 25000 for B = 0; :func:`check_mc_range` tests it.)

Single-spin dynamics: sequential Metropolis sweeps (site 0, 1, ..., N-1; one sweep = N trials).
A trial draws one counter-based uniform ``u`` and flips iff ``dE = 2 s_i h_i <= 0`` or
``u < exp(-x)`` with ``x = beta EPS dE``. The exponential is only evaluated when the bounds
``1 - x < exp(-x) < 1 / (1 + x)`` do not already decide (the same decision, a few times
cheaper at low T). A flip adds or subtracts one row of ``2 Jq`` to all N fields (int32,
vectorised).

Parallel tempering: after every sweep of all temperatures, neighbouring temperatures
``k, k + 1`` (k = 0, 1, ...) exchange their configurations with probability
``min(1, exp((beta_k - beta_{k+1}) (E_k - E_{k+1})))``. Configurations stay in place; a
permutation ``slot[k]`` (replica currently at temperature k) is swapped instead.

Random numbers: every trial, exchange and initial spin uses ``draw64(key, counter)`` with a
counter that advances by a fixed amount per step, so a run is a pure function of its key.
"""

from __future__ import annotations

import numpy as np
from numba import int8, int32, int64, njit, uint64

from statmech.models.schedules import anneal_temperature
from statmech.models.sk.kernels import EPS
from statmech.rng import GAMMA, JIT, draw64, mix64, uniform

#: int32 fields: sum_j |J_ij| + |B| must stay below this (J units)
MC_FIELD_LIMIT = 127.0


def check_mc_range(jq: np.ndarray, bq: int) -> None:
    """Raise if int32 fields could overflow for these couplings."""
    worst = int(np.abs(jq).sum(axis=1).max(initial=0)) + abs(int(bq))
    if worst * EPS >= MC_FIELD_LIMIT:
        raise ValueError(f"sum_j |J_ij| + |B| = {worst * EPS:.3g} J exceeds the int32 field "
                         f"range of the Monte Carlo kernels ({MC_FIELD_LIMIT:g} J)")


def mc_couplings(jq: np.ndarray, bq: int) -> np.ndarray:
    """``2 Jq`` as a C-contiguous int32 matrix (the rows added to the fields at a flip)."""
    check_mc_range(jq, bq)
    return np.ascontiguousarray(2 * jq, dtype=np.int32)


@njit(inline="always", **JIT)
def _flip(s, h, J2, i):
    """Flip spin ``i`` and update every field (``J_ii = 0`` leaves ``h_i`` unchanged).

    Indexes ``J2[i, j]`` directly: a row view would cost two reference-count updates per flip.
    """
    if s[i] > 0:
        s[i] = -1
        for j in range(h.shape[0]):
            h[j] = int32(h[j] - J2[i, j])
    else:
        s[i] = 1
        for j in range(h.shape[0]):
            h[j] = int32(h[j] + J2[i, j])


@njit(inline="always", **JIT)
def _accept(x, u):
    """``u < exp(-x)`` for ``x > 0``; the exponential is evaluated only if the bounds don't decide.

    ``1 - x < exp(-x) < 1 / (1 + x)`` with a margin of about ``x**2 / 2``, far above float64
    rounding for every ``x >= EPS / T`` that occurs, so the decision is that of the full test.
    """
    if u * (1.0 + x) >= 1.0:
        return False
    if u < 1.0 - x:
        return True
    return u < np.exp(-x)


@njit(**JIT)
def random_spins(n, key, ctr):
    """``n`` random +-1 spins (int8) from 64-bit words ``ctr, ctr + 1, ...``; one word per 64."""
    s = np.empty(n, dtype=np.int8)
    for w in range((n + 63) // 64):
        word = draw64(key, uint64(ctr + w))
        for b in range(min(64, n - 64 * w)):
            s[64 * w + b] = int8(1 - 2 * int64((word >> uint64(b)) & uint64(1)))
    return s


@njit(**JIT)
def local_fields(J2, bq, s):
    """``h_i = sum_j Jq_ij s_j + Bq`` (int32, units EPS) from ``J2 = 2 Jq``."""
    n = s.shape[0]
    acc = np.zeros(n, dtype=np.int64)
    for i in range(n):
        row = J2[i]
        if s[i] > 0:
            for j in range(n):
                acc[j] += row[j]
        else:
            for j in range(n):
                acc[j] -= row[j]
    h = np.empty(n, dtype=np.int32)
    for j in range(n):
        h[j] = int32(acc[j] // 2 + bq)
    return h


@njit(**JIT)
def energy_from_fields(h, bq, s):
    """``H(s)`` in units EPS (int64) from the fields: ``-(sum_i s_i (h_i - Bq)) / 2 - Bq M``."""
    sh = int64(0)
    m = int64(0)
    for i in range(s.shape[0]):
        sh += int64(s[i]) * (int64(h[i]) - bq)
        m += int64(s[i])
    return -(sh // 2) - bq * m


@njit(**JIT)
def metropolis_sweep(s, h, J2, beta_eps, key, ctr):
    """One sequential Metropolis sweep at ``beta_eps = EPS / T``.

    Returns ``(energy change in units EPS, accepted flips)``; uses the uniforms number
    ``ctr, ..., ctr + N - 1`` of stream ``key`` (one per trial, drawn only when ``dE > 0``).
    """
    n = s.shape[0]
    dE_total = int64(0)
    accepted = 0
    for i in range(n):
        dE = 2 * int64(s[i]) * int64(h[i])
        if dE > 0 and not _accept(beta_eps * float(dE), uniform(key, uint64(ctr + i))):
            continue
        _flip(s, h, J2, i)
        dE_total += dE
        accepted += 1
    return dE_total, accepted


@njit(**JIT)
def exchange(E, betas, slot, key, ctr, swaps):
    """Replica-exchange attempts between temperatures k and k + 1 for k = 0 .. n_T - 2.

    ``E[r]`` is the energy of replica ``r`` (units EPS), ``betas`` are ``EPS / T`` (so that
    ``beta E`` is dimensionless) and ``slot[k]`` is the replica at temperature ``k``;
    accepted swaps are counted in ``swaps[k]``. Uses uniforms ``ctr .. ctr + n_T - 2``.
    """
    for k in range(betas.shape[0] - 1):
        a = slot[k]
        b = slot[k + 1]
        x = (betas[k] - betas[k + 1]) * float(E[a] - E[b])
        if x >= 0.0 or uniform(key, uint64(ctr + k)) < np.exp(x):
            slot[k] = b
            slot[k + 1] = a
            swaps[k] += 1


@njit(**JIT)
def _init_replicas(J2, bq, n_rep, key, ctr):
    n = J2.shape[0]
    s = np.empty((n_rep, n), dtype=np.int8)
    h = np.empty((n_rep, n), dtype=np.int32)
    E = np.empty(n_rep, dtype=np.int64)
    words = (n + 63) // 64
    for r in range(n_rep):
        s[r] = random_spins(n, key, ctr + r * words)
        h[r] = local_fields(J2, bq, s[r])
        E[r] = energy_from_fields(h[r], bq, s[r])
    return s, h, E, ctr + n_rep * words


@njit(**JIT)
def pt_ground_state(J2, bq, betas, key, sweeps, best_config):
    """Parallel tempering in search of the ground state; one independent run.

    ``J2 = 2 Jq`` (int32), ``bq`` the field and ``betas = EPS / T`` per temperature; exchanges
    happen between neighbours in the given order (sort the ladder). After every sweep
    of all temperatures and the exchange step, the energy of every replica is compared with the
    lowest seen so far. Returns ``(lowest energy (units EPS), first sweep at which it was seen,
    accepted flips per temperature, accepted swaps per neighbour pair)``; the configuration is
    written to ``best_config``.
    """
    n_T = betas.shape[0]
    n = J2.shape[0]
    s, h, E, ctr = _init_replicas(J2, bq, n_T, key, uint64(0))
    slot = np.arange(n_T)
    flips = np.zeros(n_T, dtype=np.int64)
    swaps = np.zeros(n_T, dtype=np.int64)
    best = np.iinfo(np.int64).max
    hit = -1
    for t in range(sweeps):
        for k in range(n_T):
            r = slot[k]
            dE, acc = metropolis_sweep(s[r], h[r], J2, betas[k], key, ctr)
            ctr += uint64(n)
            E[r] += dE
            flips[k] += acc
        exchange(E, betas, slot, key, ctr, swaps)
        ctr += uint64(n_T)
        for r in range(n_T):
            if E[r] < best:
                best = E[r]
                hit = t
                best_config[:] = s[r]
    return best, hit, flips, swaps


@njit(**JIT)
def pt_overlap(J2, bq, betas, key_a, key_b, n_therm, n_meas, every, tempering):
    """Two independent real replicas (chains a and b) per temperature; overlaps and energies.

    Each chain runs all temperatures (parallel tempering if ``tempering``, else independent
    Metropolis runs at each temperature). After ``n_therm`` sweeps, ``n_meas`` measurements
    are taken every ``every`` sweeps. Returns ``Q[t, k] = sum_i s^a_i s^b_i`` (int32) of the two
    configurations at temperature k, their energies ``En[t, c, k]`` (units EPS) and
    magnetisations ``Mg[t, c, k] = sum_i s_i`` (int32), the accepted
    flips ``flips[c, k]`` and swaps ``swaps[c, k]`` (pair k, k + 1) of the measurement phase.
    """
    n_T = betas.shape[0]
    n = J2.shape[0]
    keys = np.empty(2, dtype=np.uint64)
    keys[0] = key_a
    keys[1] = key_b
    s = np.empty((2, n_T, n), dtype=np.int8)
    h = np.empty((2, n_T, n), dtype=np.int32)
    E = np.empty((2, n_T), dtype=np.int64)
    slot = np.empty((2, n_T), dtype=np.int64)
    ctrs = np.empty(2, dtype=np.uint64)
    for c in range(2):
        sc, hc, Ec, end = _init_replicas(J2, bq, n_T, keys[c], uint64(0))
        ctrs[c] = end
        s[c] = sc
        h[c] = hc
        E[c] = Ec
        slot[c] = np.arange(n_T)
    flips = np.zeros((2, n_T), dtype=np.int64)
    swaps = np.zeros((2, n_T), dtype=np.int64)
    unused = np.zeros(n_T, dtype=np.int64)
    Q = np.empty((n_meas, n_T), dtype=np.int32)
    En = np.empty((n_meas, 2, n_T), dtype=np.int64)
    Mg = np.empty((n_meas, 2, n_T), dtype=np.int32)
    for t in range(n_therm + n_meas * every):
        measuring = t >= n_therm
        for c in range(2):
            key = keys[c]
            ctr = ctrs[c]
            for k in range(n_T):
                r = slot[c, k]
                dE, acc = metropolis_sweep(s[c, r], h[c, r], J2, betas[k], key, ctr)
                ctr += uint64(n)
                E[c, r] += dE
                if measuring:
                    flips[c, k] += acc
            if tempering:
                exchange(E[c], betas, slot[c], key, ctr, swaps[c] if measuring else unused)
            ctrs[c] = ctr + uint64(n_T)
        if measuring and (t - n_therm + 1) % every == 0:
            m = (t - n_therm) // every
            for k in range(n_T):
                a = s[0, slot[0, k]]
                b = s[1, slot[1, k]]
                q = int32(0)
                ma = int32(0)
                mb = int32(0)
                for i in range(n):
                    q += int32(a[i]) * int32(b[i])
                    ma += int32(a[i])
                    mb += int32(b[i])
                Q[m, k] = q
                Mg[m, 0, k] = ma
                Mg[m, 1, k] = mb
                En[m, 0, k] = E[0, slot[0, k]]
                En[m, 1, k] = E[1, slot[1, k]]
    return Q, En, Mg, flips, swaps


@njit(**JIT)
def _hash_spins(s):
    """64-bit hash of a configuration (SplitMix64 over the packed spin bits)."""
    n = s.shape[0]
    hsh = uint64(n)
    for w in range((n + 63) // 64):
        word = uint64(0)
        for b in range(min(64, n - 64 * w)):
            if s[64 * w + b] < 0:
                word |= uint64(1) << uint64(b)
        hsh = mix64(hsh ^ (word + uint64(w) * GAMMA))
    return hsh


@njit(**JIT)
def quench_kernel(J2, bq, key, n_quench):
    """Zero-temperature descents from random configurations.

    Each quench starts from random spins and repeats passes over the sites in a fresh random
    order (Fisher-Yates), flipping every spin with ``s_i h_i < 0``, until a pass flips nothing:
    the end point is a local minimum (``s_i h_i >= 0`` for all i). Returns per quench the
    energy (units EPS), a 64-bit hash of the configuration and whether it is strictly stable (every
    ``s_i h_i > 0``).
    """
    n = J2.shape[0]
    E = np.empty(n_quench, dtype=np.int64)
    hashes = np.empty(n_quench, dtype=np.uint64)
    strict = np.empty(n_quench, dtype=np.bool_)
    order = np.arange(n)
    words = (n + 63) // 64
    ctr = uint64(0)
    for q in range(n_quench):
        s = random_spins(n, key, ctr)
        ctr += uint64(words)
        h = local_fields(J2, bq, s)
        e = energy_from_fields(h, bq, s)
        changed = True
        while changed:
            changed = False
            for i in range(n - 1, 0, -1):  # Fisher-Yates shuffle of the visiting order
                w = draw64(key, ctr)
                ctr += uint64(1)
                j = int64((w >> uint64(32)) * uint64(i + 1) >> uint64(32))
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp
            for k in range(n):
                i = order[k]
                g = int64(s[i]) * int64(h[i])
                if g < 0:
                    e += 2 * g
                    _flip(s, h, J2, i)
                    changed = True
        ok = True
        for i in range(n):
            if int64(s[i]) * int64(h[i]) <= 0:
                ok = False
        E[q] = e
        hashes[q] = _hash_spins(s)
        strict[q] = ok
    return E, hashes, strict


@njit(**JIT)
def anneal_kernel(J2, bq, key, tau, T_start, T_end, geometric, quench, s_out):
    """One simulated-annealing run: ``tau`` sequential Metropolis sweeps on a cooling schedule.

    Starts from random spins (uniforms from ``key``), then sweep ``t`` runs at
    :func:`anneal_temperature` ``(t, ...)``. With ``quench``, sequential zero-temperature sweeps
    follow (flip iff ``s_i h_i < 0``, strictly lowering the energy) until no spin flips, so the
    end point is a local minimum. Integer fields and energies (units EPS) as in
    :func:`metropolis_sweep`, so the final energy is exact. Writes the final configuration
    to ``s_out`` and returns ``(final energy (units EPS), accepted flips during the anneal)``.
    """
    n = J2.shape[0]
    s = random_spins(n, key, uint64(0))
    ctr = uint64((n + 63) // 64)
    h = local_fields(J2, bq, s)
    E = energy_from_fields(h, bq, s)
    accepted = int64(0)
    for t in range(tau):
        T = anneal_temperature(t, tau, T_start, T_end, geometric)
        dE, acc = metropolis_sweep(s, h, J2, EPS / T, key, ctr)
        ctr += uint64(n)
        E += dE
        accepted += acc
    if quench:
        flipped = True
        while flipped:
            flipped = False
            for i in range(n):
                if int64(s[i]) * int64(h[i]) < 0:
                    E += 2 * int64(s[i]) * int64(h[i])
                    _flip(s, h, J2, i)
                    flipped = True
    s_out[:] = s
    return E, accepted


@njit(**JIT)
def pt_overlap_chains(J2, bq, betas, keys, n_therm, n_meas, every, tempering):
    """Like :func:`pt_overlap` for ``len(keys)`` independent chains; all pair overlaps.

    Chain c uses ``keys[c]`` and its own counter exactly as in :func:`pt_overlap`, so chains
    0 and 1 are bitwise the two chains of ``pt_overlap(..., keys[0], keys[1], ...)``. Returns
    ``Q[t, p, k]`` for the pairs ``p`` of chains (a < b, in lexicographic order), ``En[t, c, k]``,
    ``Mg[t, c, k]``, ``flips[c, k]`` and ``swaps[c, k]``.
    """
    n_c = keys.shape[0]
    n_T = betas.shape[0]
    n = J2.shape[0]
    s = np.empty((n_c, n_T, n), dtype=np.int8)
    h = np.empty((n_c, n_T, n), dtype=np.int32)
    E = np.empty((n_c, n_T), dtype=np.int64)
    slot = np.empty((n_c, n_T), dtype=np.int64)
    ctrs = np.empty(n_c, dtype=np.uint64)
    for c in range(n_c):
        sc, hc, Ec, end = _init_replicas(J2, bq, n_T, keys[c], uint64(0))
        ctrs[c] = end
        s[c] = sc
        h[c] = hc
        E[c] = Ec
        slot[c] = np.arange(n_T)
    flips = np.zeros((n_c, n_T), dtype=np.int64)
    swaps = np.zeros((n_c, n_T), dtype=np.int64)
    unused = np.zeros(n_T, dtype=np.int64)
    n_p = n_c * (n_c - 1) // 2
    Q = np.empty((n_meas, n_p, n_T), dtype=np.int32)
    En = np.empty((n_meas, n_c, n_T), dtype=np.int64)
    Mg = np.empty((n_meas, n_c, n_T), dtype=np.int32)
    for t in range(n_therm + n_meas * every):
        measuring = t >= n_therm
        for c in range(n_c):
            key = keys[c]
            ctr = ctrs[c]
            for k in range(n_T):
                r = slot[c, k]
                dE, acc = metropolis_sweep(s[c, r], h[c, r], J2, betas[k], key, ctr)
                ctr += uint64(n)
                E[c, r] += dE
                if measuring:
                    flips[c, k] += acc
            if tempering:
                exchange(E[c], betas, slot[c], key, ctr, swaps[c] if measuring else unused)
            ctrs[c] = ctr + uint64(n_T)
        if measuring and (t - n_therm + 1) % every == 0:
            m = (t - n_therm) // every
            for k in range(n_T):
                p = 0
                for a in range(n_c):
                    sa = s[a, slot[a, k]]
                    mg = int32(0)
                    for i in range(n):
                        mg += int32(sa[i])
                    Mg[m, a, k] = mg
                    En[m, a, k] = E[a, slot[a, k]]
                    for b in range(a + 1, n_c):
                        sb = s[b, slot[b, k]]
                        q = int32(0)
                        for i in range(n):
                            q += int32(sa[i]) * int32(sb[i])
                        Q[m, p, k] = q
                        p += 1
    return Q, En, Mg, flips, swaps
