"""numba kernels of the Ising model: 2D square lattice and 1D chain, periodic boundaries.

Conventions: J = 1, k_B = 1, ``H = -sum_<ij> s_i s_j - B sum_i s_i`` with each nearest-neighbour
bond counted once; spins are ``int8`` +-1.

Layout (checkerboard). The L x L lattice is stored as two sublattice arrays ``a`` (colour 0,
``(r + x)`` even) and ``b`` (colour 1), each of shape ``(L, L // 2)``: site ``(r, x)`` of colour
``c`` sits at column ``j = x // 2``, with ``x = 2 j + p`` and ``p = (r + c) % 2``. Its four
neighbours all have the other colour: ``o[r-1, j]``, ``o[r+1, j]``, ``o[r, j]`` and
``o[r, j - 1]`` (``p = 0``) or ``o[r, j + 1]`` (``p = 1``). Within a row the offset is uniform,
so the update loop is branch-free and vectorises (sites of one colour are independent given the
other colour, so updating them in any order is exact).

Update rule. With ``k = s * S`` (``S`` the neighbour sum) the energy change of flipping ``s`` is
``dE = 2 k + 2 s B``; the flip probability (Metropolis ``min(1, exp(-dE/T))`` or heat bath
``1 / (1 + exp(dE/T))``) is precomputed as a 31-bit threshold per ``(s, k)`` and compared with a
31-bit counter-based random integer (:mod:`statmech.rng`).

Measurements come for free: the colour-1 half-sweep accumulates ``sum s S`` over colour-1
sites, which is the bond sum of the whole lattice after the sweep (every bond joins the two
colours), and both half-sweeps accumulate ``sum s``. They are integers, so the time series are
exact and identical on every machine.
"""

from __future__ import annotations

import numpy as np
from numba import int32, int64, njit, uint64

from statmech.rng import GAMMA, JIT, mix64, threshold31


def flip_thresholds(T: float, B: float, z: int, algorithm: str) -> np.ndarray:
    """31-bit flip thresholds indexed by ``(k + z) // 2 + (z + 1) * (s > 0)``.

    ``z`` is the coordination number (4 on the square lattice, 2 on the chain) and
    ``k = s * S`` runs over ``-z, -z + 2, ..., z``.
    """
    thr = np.empty(2 * (z + 1), dtype=np.int32)
    for si, s in enumerate((-1, 1)):
        for kk in range(z + 1):
            k = 2 * kk - z
            dE = 2.0 * k + 2.0 * s * B
            x = dE / T
            if algorithm == "metropolis":
                p = 1.0 if x <= 0 else np.exp(-x)
            elif algorithm == "heatbath":
                p = 1.0 / (1.0 + np.exp(x)) if x < 700 else 0.0
            else:
                raise ValueError(f"unknown algorithm {algorithm!r}")
            thr[kk + (z + 1) * si] = threshold31(p)
    return thr


@njit(inline="always", **JIT)
def _new_spin4(s, S, r, m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, sym):
    """Spin after one trial on the square lattice, branch-free.

    Flips (returns ``-s``) iff ``r <= t(s, k)`` with ``k = s S``. ``n4 ... q4`` are the
    thresholds for ``s = +1`` and ``k = -4, -2, 0, 2, 4``; ``m4 ... p4`` those for ``s = -1``.
    With ``sym`` (B = 0: the threshold does not depend on ``s``) only one chain is evaluated.
    Written as selects rather than a table lookup so that LLVM vectorises it.
    """
    si = int32(s)
    k = si * S
    tp = n4 if k == -4 else (n2 if k == -2 else (y0 if k == 0 else (q2 if k == 2 else q4)))
    if sym:
        t = tp
    else:
        tm = m4 if k == -4 else (m2 if k == -2 else (z0 if k == 0 else (p2 if k == 2 else p4)))
        t = tp if si > 0 else tm
    return si - int32(2) * si * int32(r <= t)


@njit(inline="always", **JIT)
def _new_spin(s, S, r, thr, z):
    """Table-lookup form of :func:`_new_spin4` for coordination ``z`` (used by the chain)."""
    si = int32(s)
    k = si * S
    idx = ((k + int32(z)) >> int32(1)) + int32(z + 1) * int32(si > 0)
    return si - int32(2) * si * int32(r <= thr[idx])


@njit(inline="always", **JIT)
def _row_2d(row, up, dn, same, p, rnd, m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, sym):
    """Update one row of one colour; returns ``(sum s_old s_new, sum s_new, sum s_new S)``.

    Inlined with a literal ``sym`` so that LLVM compiles one specialised loop per case.
    """
    H = row.shape[0]
    sn = int32(0)
    ms = int32(0)
    bs = int32(0)
    if p == 0:  # neighbours j - 1 and j in the same row of the other colour
        s = row[0]
        S = int32(up[0]) + int32(dn[0]) + int32(same[0]) + int32(same[H - 1])
        n = _new_spin4(s, S, rnd[0], m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, sym)
        sn += int32(s) * n
        ms += n
        bs += n * S
        row[0] = n
        for j in range(1, H):
            s = row[j]
            S = int32(up[j]) + int32(dn[j]) + int32(same[j]) + int32(same[j - 1])
            n = _new_spin4(s, S, rnd[j], m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, sym)
            sn += int32(s) * n
            ms += n
            bs += n * S
            row[j] = n
    else:  # neighbours j and j + 1
        for j in range(H - 1):
            s = row[j]
            S = int32(up[j]) + int32(dn[j]) + int32(same[j]) + int32(same[j + 1])
            n = _new_spin4(s, S, rnd[j], m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, sym)
            sn += int32(s) * n
            ms += n
            bs += n * S
            row[j] = n
        s = row[H - 1]
        S = int32(up[H - 1]) + int32(dn[H - 1]) + int32(same[H - 1]) + int32(same[0])
        n = _new_spin4(s, S, rnd[H - 1], m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, sym)
        sn += int32(s) * n
        ms += n
        bs += n * S
        row[H - 1] = n
    return sn, ms, bs


@njit(**JIT)
def half_sweep_2d(a, o, c, thr, key, ctr, rnd):
    """Update every site of colour ``c`` (array ``a``) given the other colour ``o``.

    Returns ``(flips, sum of new s, sum of new s * S)``; consumes ``L * ceil(H / 2)`` 64-bit
    random words from counter ``ctr`` on (two 31-bit numbers per word). ``rnd`` is scratch
    space of length ``H + 1``.
    """
    L, H = a.shape
    h2 = (H + 1) // 2
    m4, m2, z0, p2, p4 = thr[0], thr[1], thr[2], thr[3], thr[4]
    n4, n2, y0, q2, q4 = thr[5], thr[6], thr[7], thr[8], thr[9]
    sym = m4 == n4 and m2 == n2 and z0 == y0 and p2 == q2 and p4 == q4
    flips = int64(0)
    msum = int64(0)
    bsum = int64(0)
    for r in range(L):
        base = key + uint64(ctr + r * h2) * GAMMA
        for j in range(h2):
            w = mix64(base + uint64(j) * GAMMA)
            rnd[j] = int32(w >> uint64(33))
            rnd[j + h2] = int32(w & uint64(0x7FFFFFFF))
        p = (r + c) & 1
        up = o[(r - 1) % L]
        dn = o[(r + 1) % L]
        if sym:
            sn, ms, bs = _row_2d(a[r], up, dn, o[r], p, rnd,
                                 m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, True)
        else:
            sn, ms, bs = _row_2d(a[r], up, dn, o[r], p, rnd,
                                 m4, m2, z0, p2, p4, n4, n2, y0, q2, q4, False)
        flips += (H - sn) // 2
        msum += ms
        bsum += bs
    return flips, msum, bsum


@njit(**JIT)
def simulate_2d(a, b, thr, key, n_therm, n_meas, every):
    """Run ``n_therm`` sweeps, then ``n_meas`` measurements taken every ``every`` sweeps.

    Returns the bond-sum and magnetisation time series (``int64``, totals over the lattice,
    ``sum_<ij> s_i s_j`` and ``sum_i s_i``) and the number of accepted flips during the
    measurement phase. Updates ``a`` and ``b`` in place.
    """
    L, H = a.shape
    rnd = np.empty(H + 1, dtype=np.int32)
    per_half = L * ((H + 1) // 2)
    ctr = int64(0)
    for _ in range(n_therm):
        half_sweep_2d(a, b, 0, thr, key, ctr, rnd)
        half_sweep_2d(b, a, 1, thr, key, ctr + per_half, rnd)
        ctr += 2 * per_half
    bonds = np.empty(n_meas, dtype=np.int64)
    mags = np.empty(n_meas, dtype=np.int64)
    accepted = int64(0)
    for t in range(n_meas):
        for _ in range(every):
            f0, m0, _b0 = half_sweep_2d(a, b, 0, thr, key, ctr, rnd)
            f1, m1, b1 = half_sweep_2d(b, a, 1, thr, key, ctr + per_half, rnd)
            ctr += 2 * per_half
            accepted += f0 + f1
        bonds[t] = b1
        mags[t] = m0 + m1
    return bonds, mags, accepted


@njit(**JIT)
def simulate_1d(s, thr, key, n_therm, n_meas, every):
    """Chain of ``N = len(s)`` spins with random-site updates; returns like :func:`simulate_2d`.

    One sweep is ``N`` trials at uniformly random sites (a site index from the high bits, the
    acceptance number from the low 31 bits of one random word). The chain is not updated on a
    checkerboard: there, Metropolis flips every spin with ``dE = 0`` deterministically, domain
    walls travel ballistically and the dynamics is not ergodic at B = 0. Bond sum and
    magnetisation are tracked incrementally (exact integers).
    """
    N = s.shape[0]
    bonds_now = int64(0)
    mag_now = int64(0)
    for i in range(N):
        bonds_now += int64(s[i]) * int64(s[(i + 1) % N])
        mag_now += int64(s[i])
    bonds = np.empty(n_meas, dtype=np.int64)
    mags = np.empty(n_meas, dtype=np.int64)
    accepted = int64(0)
    ctr = uint64(0)
    for t in range(n_therm + n_meas * every):
        for _ in range(N):
            w = mix64(key + ctr * GAMMA)
            ctr += uint64(1)
            i = int64((w >> uint64(32)) * uint64(N) >> uint64(32))
            r = int32(w & uint64(0x7FFFFFFF))
            si = s[i]
            S = int32(s[(i - 1 + N) % N]) + int32(s[(i + 1) % N])
            n = _new_spin(si, S, r, thr, 2)
            if n != si:
                s[i] = n
                bonds_now += int64(n) * S * 2
                mag_now += int64(n) * 2
                if t >= n_therm:
                    accepted += 1
        k = t - n_therm
        if k >= 0 and (k + 1) % every == 0:
            bonds[k // every] = bonds_now
            mags[k // every] = mag_now
    return bonds, mags, accepted


@njit(**JIT)
def sample_states_2d(a, b, thr, key, n_therm, n_samples, every):
    """Configuration codes every ``every`` sweeps (for detailed-balance tests).

    Bit ``i`` is set when spin ``i`` of the row-major lattice is up (at most 62 spins).
    """
    L, H = a.shape
    rnd = np.empty(H + 1, dtype=np.int32)
    per_half = L * ((H + 1) // 2)
    ctr = int64(0)
    codes = np.empty(n_samples, dtype=np.int64)
    for t in range(n_therm + n_samples * every):
        half_sweep_2d(a, b, 0, thr, key, ctr, rnd)
        half_sweep_2d(b, a, 1, thr, key, ctr + per_half, rnd)
        ctr += 2 * per_half
        k = t - n_therm
        if k >= 0 and (k + 1) % every == 0:
            code = int64(0)
            for r in range(L):
                for j in range(H):
                    x_a = 2 * j + (r & 1)
                    x_b = 2 * j + 1 - (r & 1)
                    if a[r, j] > 0:
                        code |= int64(1) << int64(r * L + x_a)
                    if b[r, j] > 0:
                        code |= int64(1) << int64(r * L + x_b)
            codes[k // every] = code
    return codes


def split_2d(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full ``(L, L)`` lattice -> checkerboard arrays ``(a, b)``."""
    L = spins.shape[0]
    a = np.empty((L, L // 2), dtype=np.int8)
    b = np.empty((L, L // 2), dtype=np.int8)
    for r in range(L):
        a[r] = spins[r, (r % 2)::2]
        b[r] = spins[r, ((r + 1) % 2)::2]
    return a, b


def join_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Checkerboard arrays ``(a, b)`` -> full ``(L, L)`` lattice."""
    L = a.shape[0]
    spins = np.empty((L, L), dtype=np.int8)
    for r in range(L):
        spins[r, (r % 2)::2] = a[r]
        spins[r, ((r + 1) % 2)::2] = b[r]
    return spins


def bond_sum_2d(spins: np.ndarray) -> int:
    """``sum_<ij> s_i s_j`` of a full periodic lattice (right and down bonds)."""
    s = spins.astype(np.int64)
    return int((s * np.roll(s, -1, 0)).sum() + (s * np.roll(s, -1, 1)).sum())
