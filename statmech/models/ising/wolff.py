"""Wolff single-cluster updates of the 2D Ising model at B = 0 (J = 1, k_B = 1).

The lattice is the full ``(L, L)`` int8 array (row-major, periodic). One cluster update picks a
uniformly random seed site, grows the cluster of aligned neighbours, each bond added with
probability ``p = 1 - exp(-2/T)``, and flips it. Spins are flipped as they join the cluster, so
"aligned with the cluster's old sign and not yet visited" is one comparison. Random numbers come
from the counter-based generator of :mod:`statmech.rng` (31-bit integers against
``threshold31(p)``).

A *sweep* is a fixed number ``k`` of cluster updates, ``k = max(1, round(N / <|C|>))`` with the
mean cluster size measured during the thermalisation, so that a Wolff sweep flips about N = L^2
spins like a sweep of the local algorithms and autocorrelation times in sweeps compare
directly. (The number must be fixed in advance: measuring "after N spins have flipped" samples at
state-dependent times and biases every average.)

Improved estimator: for the Wolff cluster distribution ``<|C|> = N <m^2>`` (the probability of
hitting a Swendsen-Wang cluster is proportional to its size), so ``m2_cluster = |C| / N``
averaged over clusters estimates <m^2> with a smaller variance.
"""

from __future__ import annotations

import numpy as np
from numba import int8, int32, int64, njit, uint64

from statmech.rng import GAMMA, JIT, mix64


@njit(**JIT)
def wolff_cluster(s, thr, key, ctr, stack, stack_c):
    """Grow and flip one cluster; returns (cluster size, next counter).

    ``stack`` holds flat site indices and ``stack_c`` their columns (so that no integer
    division is needed to find the neighbours).
    """
    L = s.shape[0]
    N = L * L
    w = mix64(key + uint64(ctr) * GAMMA)
    ctr += 1
    seed = int32((w >> uint64(32)) * uint64(N) >> uint64(32))
    flat = s.reshape(N)  # a view of the C-contiguous lattice
    old = flat[seed]
    flat[seed] = -old
    stack[0] = seed
    stack_c[0] = seed % L
    top = 1
    size = 1
    while top > 0:
        top -= 1
        site = stack[top]
        c = stack_c[top]
        up = site - L if site >= L else site + N - L
        dn = site + L if site < N - L else site + L - N
        cl = c - 1 if c > 0 else L - 1
        cr = c + 1 if c < L - 1 else 0
        lf = site - c + cl
        rt = site - c + cr
        # two 64-bit words give four 31-bit trial numbers; the additions are branch-free
        # (near Tc both "aligned?" and "accepted?" are coin flips a branch predictor loses)
        w1 = mix64(key + uint64(ctr) * GAMMA)
        w2 = mix64(key + uint64(ctr + 1) * GAMMA)
        ctr += 2
        a0 = int32(flat[up] == old) & int32(int32(w1 >> uint64(33)) <= thr)
        flat[up] = flat[up] * int8(1 - 2 * a0)
        stack[top] = up
        stack_c[top] = c
        top += a0
        a1 = int32(flat[dn] == old) & int32(int32(w1 & uint64(0x7FFFFFFF)) <= thr)
        flat[dn] = flat[dn] * int8(1 - 2 * a1)
        stack[top] = dn
        stack_c[top] = c
        top += a1
        a2 = int32(flat[lf] == old) & int32(int32(w2 >> uint64(33)) <= thr)
        flat[lf] = flat[lf] * int8(1 - 2 * a2)
        stack[top] = lf
        stack_c[top] = cl
        top += a2
        a3 = int32(flat[rt] == old) & int32(int32(w2 & uint64(0x7FFFFFFF)) <= thr)
        flat[rt] = flat[rt] * int8(1 - 2 * a3)
        stack[top] = rt
        stack_c[top] = cr
        top += a3
        size += a0 + a1 + a2 + a3
    return size, ctr


@njit(**JIT)
def _bonds_and_mag(s):
    L = s.shape[0]
    bonds = int64(0)
    mag = int64(0)
    for r in range(L):
        dn = s[(r + 1) % L]
        row = s[r]
        acc = int32(0)
        m = int32(0)
        for c in range(L - 1):
            acc += int32(row[c]) * (int32(row[c + 1]) + int32(dn[c]))
            m += row[c]
        acc += int32(row[L - 1]) * (int32(row[0]) + int32(dn[L - 1]))
        m += row[L - 1]
        bonds += acc
        mag += m
    return bonds, mag


@njit(**JIT)
def simulate_wolff(s, thr, key, n_therm, n_meas, every):
    """Wolff sweeps on the full lattice ``s`` (at least 2 thermalisation sweeps).

    Returns ``(bonds, mags, m2_cluster, clusters, k)``: bond sum and magnetisation after each
    measurement, the improved estimator of m^2 per measurement interval (mean cluster size /
    N), the number of clusters grown in the measurement phase and the clusters per sweep.
    """
    L = s.shape[0]
    N = L * L
    stack = np.empty(N, dtype=np.int32)
    stack_c = np.empty(N, dtype=np.int32)
    ctr = int64(0)
    n_sizes = int64(0)
    sum_sizes = int64(0)
    for t in range(n_therm):
        flipped = 0
        while flipped < N:
            size, ctr = wolff_cluster(s, thr, key, ctr, stack, stack_c)
            flipped += size
            if 2 * t >= n_therm:  # second half: equilibrated cluster sizes
                n_sizes += 1
                sum_sizes += size
    k = 1
    if n_sizes > 0:
        k = max(1, int64(round(N * n_sizes / sum_sizes)))
    bonds = np.empty(n_meas, dtype=np.int64)
    mags = np.empty(n_meas, dtype=np.int64)
    m2c = np.empty(n_meas, dtype=np.float64)
    clusters = int64(0)
    for t in range(n_meas):
        n_c = int64(0)
        sum_c = int64(0)
        for _ in range(every * k):
            size, ctr = wolff_cluster(s, thr, key, ctr, stack, stack_c)
            n_c += 1
            sum_c += size
        clusters += n_c
        b, m = _bonds_and_mag(s)
        bonds[t] = b
        mags[t] = m
        m2c[t] = sum_c / (n_c * N)
    return bonds, mags, m2c, clusters, k
