"""Multi-spin-coded Metropolis for the 2D Ising model at B = 0: 64 spins per machine word.

Layout: the checkerboard of :mod:`statmech.models.ising.kernels` with each sublattice row of
``H = L / 2`` sites packed into ``Q = H / 64`` words (so L must be a multiple of 128); bit ``b``
of word ``q`` is site ``j = 64 q + b``, set when the spin is up. Site ``j`` of colour ``c`` in
row ``r`` has its neighbours in the other colour at ``(r +- 1, j)``, ``(r, j)`` and
``(r, j - 1)`` if ``(r + c)`` is even, else ``(r, j + 1)``; the shifted rows are built with
shifts across word boundaries (periodic).

Update, 64 sites at once: with ``x_k = s XOR neighbour_k`` (1 = anti-aligned), the number of
anti-aligned neighbours ``n`` gives ``dE = 8 - 4 n`` (J = 1). Metropolis flips every spin with
``n >= 2``, a spin with ``n = 1`` with probability ``p4 = exp(-4/T)`` and one with ``n = 0``
with ``p8 = exp(-8/T) = p4^2``. ``n >= 2``, ``n = 1`` and ``n = 0`` are full-adder logic.

Random acceptance bits, independent for every spin: a mask whose bits are 1 with probability
``p`` comes from comparing, bit-serially from the most significant bit, 64 uniform random
binary fractions with the binary expansion of ``p`` -- one random 64-bit word per binary digit.
A bit is decided at the first digit where its random fraction differs from p; bits that need no
randomness are never in question. The first 12 digits are resolved for a block of rows at
once (branch-free, vectorised); the rare words with bits still undecided continue alone. The
acceptance probability is exact to 2^-64. Spins with ``n = 1`` compare their fraction with
``p4``, spins with ``n = 0`` with ``p8`` (each spin needs one comparison, so one random word
per digit serves both classes). The words come from the
counter-based generator of :mod:`statmech.rng`.

Measurements use popcounts: the magnetisation ``2 (#up) - N`` and, during the colour-1
half-sweep, the bond sum ``2 N - 2 (#anti-aligned bonds)``.
"""

from __future__ import annotations

import numpy as np
from numba import int64, njit, uint64

from statmech.rng import GAMMA, JIT, mix64

ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(inline="always", **JIT)
def _popcount(x):
    """Number of set bits (SWAR; LLVM turns it into a popcnt instruction)."""
    x = x - ((x >> uint64(1)) & uint64(0x5555555555555555))
    x = (x & uint64(0x3333333333333333)) + ((x >> uint64(2)) & uint64(0x3333333333333333))
    x = (x + (x >> uint64(4))) & uint64(0x0F0F0F0F0F0F0F0F)
    return int64((x * uint64(0x0101010101010101)) >> uint64(56))


#: binary digits of p resolved for all words at once, vectorised; the few words with bits still
#: undecided after them (probability ~ 64 * 2^-FAST_LEVELS each) continue one by one
FAST_LEVELS = 12


@njit(inline="always", **JIT)
def _acceptance_masks(und4, und8, acc, p4, p8, key, base, nw, k0, count):
    """``acc[k]``: bits of ``und4[k]`` accepted with probability p4, of ``und8[k]`` with p8.

    Works on ``count`` words whose global indices start at ``k0``. Every spin draws one uniform
    binary fraction u, digit by digit (digit i of global word k is random word
    ``base + i * nw + k``), and is accepted when u < p; a bit is decided at the first digit
    where u and p differ. ``p4[i]``, ``p8[i]`` are all ones where digit i of p is 1. The first
    FAST_LEVELS digits are resolved branch-free for all words (vectorised), then word by word.
    ``und4`` and ``und8`` are consumed.
    """
    for k in range(count):
        acc[k] = uint64(0)
    for i in range(FAST_LEVELS):
        P4 = p4[i]
        P8 = p8[i]
        off = base + uint64(i * nw + k0)
        for k in range(count):
            u = mix64(key + (off + uint64(k)) * GAMMA)
            a4 = und4[k]
            a8 = und8[k]
            acc[k] |= (a4 & ~u & P4) | (a8 & ~u & P8)
            und4[k] = a4 & ~(u ^ P4)
            und8[k] = a8 & ~(u ^ P8)
    for k in range(count):
        a4 = und4[k]
        a8 = und8[k]
        i = FAST_LEVELS
        while (a4 | a8) != uint64(0) and i < 64:
            u = mix64(key + (base + uint64(i * nw + k0 + k)) * GAMMA)
            acc[k] |= (a4 & ~u & p4[i]) | (a8 & ~u & p8[i])
            a4 &= ~(u ^ p4[i])
            a8 &= ~(u ^ p8[i])
            i += 1


#: words per block of rows processed together (the block's work arrays stay in cache)
BLOCK_WORDS = 128


@njit(**JIT)
def half_sweep_msc(a, o, c, p4, p8, key, ctr, measure, scratch):
    """Metropolis update of colour ``c`` (packed rows ``a``) given the other colour ``o``.

    Blocks of rows go through three passes (their sites are independent given the other
    colour): neighbour classes, acceptance masks, flips. Returns ``(flips, #up spins of
    colour c, #anti-aligned bonds)``; the bond count is only accumulated when ``measure`` is
    true. Uses random words ``ctr ... ctr + 64 * L * Q - 1`` (the same numbers whatever the
    blocking). ``scratch`` is a ``(9, >= BLOCK_WORDS)`` work array (at least Q words).
    """
    L, Q = a.shape
    nw = L * Q
    rows_per_block = max(1, BLOCK_WORDS // Q)
    xs = scratch[0:4]
    eq0s = scratch[4]
    eq1s = scratch[5]
    und4 = scratch[6]
    und8 = scratch[7]
    acc = scratch[8]
    flips = int64(0)
    ups = int64(0)
    anti = int64(0)
    for r0 in range(0, L, rows_per_block):
        r1 = min(L, r0 + rows_per_block)
        for r in range(r0, r1):
            up = o[(r - 1) % L]
            dn = o[(r + 1) % L]
            same = o[r]
            row = a[r]
            left = (r + c) & 1 == 0  # neighbour j - 1, else j + 1
            for q in range(Q):
                s = row[q]
                w = same[q]
                if left:
                    prev = same[q - 1] if q > 0 else same[Q - 1]
                    side = (w << uint64(1)) | (prev >> uint64(63))
                else:
                    nxt = same[q + 1] if q < Q - 1 else same[0]
                    side = (w >> uint64(1)) | (nxt << uint64(63))
                x1 = s ^ up[q]
                x2 = s ^ dn[q]
                x3 = s ^ w
                x4 = s ^ side
                s12 = x1 ^ x2
                c12 = x1 & x2
                s34 = x3 ^ x4
                c34 = x3 & x4
                k = (r - r0) * Q + q
                eq0 = ~(x1 | x2 | x3 | x4)
                eq1 = (s12 ^ s34) & ~(c12 | c34)
                eq0s[k] = eq0
                eq1s[k] = eq1
                und4[k] = eq1
                und8[k] = eq0
                xs[0, k] = x1
                xs[1, k] = x2
                xs[2, k] = x3
                xs[3, k] = x4
        count = (r1 - r0) * Q
        _acceptance_masks(und4, und8, acc, p4, p8, key, uint64(ctr), nw, r0 * Q, count)
        flat = a[r0:r1].reshape(count)
        for k in range(count):
            eq0 = eq0s[k]
            eq1 = eq1s[k]
            flip = ~(eq0 | eq1) | acc[k]
            s2 = flat[k] ^ flip
            flat[k] = s2
            flips += _popcount(flip)
            ups += _popcount(s2)
        if measure:  # anti-aligned bonds of the new spins (the neighbours did not move)
            for k in range(count):
                eq0 = eq0s[k]
                eq1 = eq1s[k]
                flip = ~(eq0 | eq1) | acc[k]
                anti += (_popcount(xs[0, k] ^ flip) + _popcount(xs[1, k] ^ flip)
                         + _popcount(xs[2, k] ^ flip) + _popcount(xs[3, k] ^ flip))
    return flips, ups, anti


@njit(**JIT)
def simulate_msc(a, b, p4, p8, key, n_therm, n_meas, every):
    """Like :func:`statmech.models.ising.kernels.simulate_2d` on packed sublattices.

    ``p4``, ``p8`` are the 64 binary digits of ``exp(-4/T)`` and ``exp(-8/T)`` as all-ones /
    zero words (:func:`probability_masks`).
    """
    L, Q = a.shape
    n = 2 * L * Q * 64
    per_half = L * 64 * Q
    scratch = np.empty((9, max(BLOCK_WORDS, Q)), dtype=np.uint64)
    ctr = int64(0)
    for _ in range(n_therm):
        half_sweep_msc(a, b, 0, p4, p8, key, ctr, False, scratch)
        half_sweep_msc(b, a, 1, p4, p8, key, ctr + per_half, False, scratch)
        ctr += 2 * per_half
    bonds = np.empty(n_meas, dtype=np.int64)
    mags = np.empty(n_meas, dtype=np.int64)
    accepted = int64(0)
    for t in range(n_meas):
        for k in range(every):
            last = k == every - 1
            f0, u0, _a0 = half_sweep_msc(a, b, 0, p4, p8, key, ctr, False, scratch)
            f1, u1, anti = half_sweep_msc(b, a, 1, p4, p8, key, ctr + per_half, last, scratch)
            ctr += 2 * per_half
            accepted += f0 + f1
        # every bond joins a colour-1 site: bonds = sum over them of (4 - 2 n_anti)
        bonds[t] = 2 * n - 2 * anti
        mags[t] = 2 * (u0 + u1) - n
    return bonds, mags, accepted


def probability_masks(p: float) -> np.ndarray:
    """The 64 binary digits of p in [0, 1), most significant first, as all-ones / 0 words.

    Exact for a double ``p`` (53 significant bits).
    """
    words = np.zeros(64, dtype=np.uint64)
    x = float(p)
    for i in range(64):
        x *= 2.0
        if x >= 1.0:
            words[i] = ONES
            x -= 1.0
    return words


def pack(a: np.ndarray) -> np.ndarray:
    """Checkerboard int8 rows ``(L, H)`` -> packed ``(L, H // 64)`` uint64 (bit = spin up)."""
    L, H = a.shape
    bits = (a > 0).astype(np.uint64).reshape(L, H // 64, 64)
    return (bits << np.arange(64, dtype=np.uint64)).sum(axis=2, dtype=np.uint64)


def unpack(p: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack`."""
    L, Q = p.shape
    bits = (p[:, :, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    return (bits.reshape(L, Q * 64).astype(np.int8) * 2 - 1).astype(np.int8)
