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
rounding). A block of BLOCK = 32 attempts starting at k cannot leave ``[k - 32, k + 32]``, so
the bounds are computed once per *cell* of 16 block starts (window ``[16c - 32, 16c + 47]``)
and kept in a small direct-mapped cache for the run. Then ``u < A1`` is a certain down move,
``A2 <= u < A3`` a certain up move, ``u >= A4`` a certain rejection, whatever the exact k at
that attempt (decided on the top 32 bits, conservatively rounded). So a block is 16
independent hashes and a few vector compares and popcounts (:func:`_block_counts`, written as
LLVM vector code: the hashes in 64-bit lanes, the compares on the same registers read as 32-bit
halves); only when some ``u`` falls in a band ``[A1, A2)`` or ``[A3, A4)`` (probability
O(window/N): about 1 % of the blocks at N = 10^6) is the block replayed attempt by attempt,
with the exact thresholds for the attempts in a band. The trajectory is bitwise the one of the
plain attempt-by-attempt chain (:func:`advance` with ``blocks=False``; tested).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import int32, int64, njit, types, uint32, uint64
from numba.core import cgutils
from numba.extending import intrinsic

from statmech.rng import _M1, _M2, GAMMA, JIT, mix64

#: attempts per vectorised block (a multiple of 8; 32 is the fastest on AVX2 at N = 10^6, 64
#: replays 3-4x more blocks)
BLOCK = 32
#: the block bounds are computed per cell of 2**CELL_BITS block-start states
CELL_BITS = 4
#: cells kept per run (direct-mapped cache of the block bounds; a power of 2)
CACHE = 1024
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
_TOP = (1 << 32) - 1
_HALF = 1 << 31
_IR64 = ir.IntType(64)
_IR32 = ir.IntType(32)
#: 64-bit lanes per vector in the block code (256-bit vectors)
_LANES = 4
_GAMMA = int(GAMMA)


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
def _cell_thresholds(cell, n, beta, J, B, heatbath):
    """Block thresholds on the top 32 bits for the block starts ``k`` of cell ``k >> CELL_BITS``.

    ``(t1, t2, t3, t4)``: ``u32 < t1`` is certainly ``u < D(k)``, ``u32 > t2`` certainly
    ``u >= D(k)``, ``u32 < t3`` certainly ``u < D(k) + U(k)``, ``u32 > t4`` certainly
    ``u >= D(k) + U(k)``, for every k that a block starting in the cell can reach. Returned
    biased, ``t - 2^31`` as int32, so that signed order is the order of the u32.
    """
    kl = max(int64(0), (cell << CELL_BITS) - BLOCK)
    kh = min(int64(n), (cell << CELL_BITS) + ((1 << CELL_BITS) - 1) + BLOCK)
    a1, a2, a3, a4 = _bounds(kl, kh, n, beta, J, B, heatbath)
    # floor(a1 / 2^21) and ceil(a2 / 2^21) - 1 (likewise a3, a4); u32 is in [0, 2^32 - 1], so
    # the clips change no certain decision (at most they make u32 = 2^32 - 1 uncertain)
    t1 = min(max(a1 >> 21, int64(0)), _TOP)
    t2 = min(max(((a2 + _LOW21) >> 21) - 1, int64(0)), _TOP)
    t3 = min(max(a3 >> 21, int64(0)), _TOP)
    t4 = min(max(((a4 + _LOW21) >> 21) - 1, int64(0)), _TOP)
    return int32(t1 - _HALF), int32(t2 - _HALF), int32(t3 - _HALF), int32(t4 - _HALF)


def _i64(v: int) -> ir.Constant:
    v = int(v) & ((1 << 64) - 1)
    return ir.Constant(_IR64, v - (1 << 64) if v >> 63 else v)


def _splat(builder: ir.IRBuilder, x: ir.Value, ty: ir.VectorType) -> ir.Value:
    v = builder.insert_element(ir.Constant(ty, ir.Undefined), x, ir.Constant(_IR32, 0))
    return builder.shuffle_vector(v, ir.Constant(ty, ir.Undefined),
                                  ir.Constant(ir.VectorType(_IR32, ty.count), [0] * ty.count))


@intrinsic
def _block_counts(typingctx, z, t1, t2, t3, t4):
    """The counts of a certified block: ``(down, up, band)`` over its BLOCK attempts.

    ``z = key + (ctr // 2) GAMMA`` for the block's first (even) attempt ``ctr``: its BLOCK / 2
    words are ``mix64(z + i GAMMA)``, every 32-bit half the ``u32`` of one attempt. The
    thresholds are biased (``t - 2^31``, int32, so that signed order is the order of u32).
    ``down``: how many ``u32 < t1``; ``band``: 1 if some ``u32`` is in ``[t1, t2]`` or
    ``[t3, t4]`` (an uncertain band), else 0; ``up`` (meaningful when ``band == 0``): how many
    ``t2 < u32 < t3``.

    LLVM vector code: 4 words per 256-bit vector, hashed in 64-bit lanes and compared as 8 lanes
    of 32 bits (the word vector read as halves: no shuffles); the compare masks are counted with
    movemask + popcount on the integer side and the band test is one AND over the block.
    """
    sig = types.UniTuple(types.int64, 3)(types.uint64, types.int32, types.int32,
                                         types.int32, types.int32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        z0, a1, a2, a3, a4 = args
        v64 = ir.VectorType(_IR64, _LANES)
        v32 = ir.VectorType(_IR32, 2 * _LANES)
        bits = ir.IntType(2 * _LANES)
        popcount = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(bits, [bits]), f"llvm.ctpop.i{2 * _LANES}")

        def const(v: int) -> ir.Constant:
            return ir.Constant(v64, [_i64(v)] * _LANES)

        def count(masks: list[ir.Value]) -> ir.Value:
            n = [builder.zext(builder.call(popcount, [builder.bitcast(m, bits)]), _IR64)
                 for m in masks]
            while len(n) > 1:  # a tree: short dependency chains
                n = [builder.add(*n[i:i + 2]) if i + 1 < len(n) else n[i]
                     for i in range(0, len(n), 2)]
            return n[0]

        st1, st2, st3, st4 = (_splat(builder, a, v32) for a in (a1, a2, a3, a4))
        flip = _splat(builder, ir.Constant(_IR32, -(1 << 31)), v32)
        zb = _splat(builder, z0, v64)
        down, up = [], []
        sure = None
        for q in range(BLOCK // (2 * _LANES)):
            x = builder.add(zb, ir.Constant(v64, [_i64((q * _LANES + i) * _GAMMA)
                                                  for i in range(_LANES)]))
            x = builder.mul(builder.xor(x, builder.lshr(x, const(30))), const(_M1))
            x = builder.mul(builder.xor(x, builder.lshr(x, const(27))), const(_M2))
            x = builder.xor(x, builder.lshr(x, const(31)))  # statmech.rng.mix64 of 4 words
            u = builder.xor(builder.bitcast(x, v32), flip)  # 8 attempts, in signed order
            below1 = builder.icmp_signed("<", u, st1)
            above2 = builder.icmp_signed(">", u, st2)
            below3 = builder.icmp_signed("<", u, st3)
            above4 = builder.icmp_signed(">", u, st4)
            # certain: outside [t1, t2] and outside [t3, t4]
            s = builder.and_(builder.or_(below1, above2), builder.or_(below3, above4))
            sure = s if sure is None else builder.and_(sure, s)
            down.append(below1)
            up.append(builder.and_(above2, below3))
        band = builder.icmp_unsigned("!=", builder.bitcast(sure, bits),
                                     ir.Constant(bits, (1 << (2 * _LANES)) - 1))
        return context.make_tuple(builder, signature.return_type,
                                  [count(down), count(up), builder.zext(band, _IR64)])

    return sig, codegen


@njit(**JIT)
def _replay(k, key2, z, ctr, t1, t2, t3, t4, n, beta, J, B, heatbath, Dt, Ut, us, dk):
    """A block with some attempt in an uncertain band, attempt by attempt: ``(k, moves)``.

    The certain attempts branch-free, those in a band with the exact thresholds. (A separate
    function: written inline, LLVM reuses the block's hash vectors for it and the fast path
    spills registers.)
    """
    for j in range(BLOCK // 2):
        w = mix64(z)
        z += GAMMA
        us[2 * j] = uint32(w >> uint64(32))
        us[2 * j + 1] = uint32(w & uint64(0xFFFFFFFF))
    for j in range(BLOCK):
        u = int32(us[j] ^ uint32(_HALF))  # the order of u32, as signed numbers
        e = int64(u < t1)
        d = int64(u > t2) & int64(u < t3)
        band = (int64(u <= t2) | (int64(u >= t3) & int64(u <= t4))) & (1 - e)
        dk[j] = d - e + (band << 2)  # +-1, 0 when certain; >= 3 when in a band
    acc = int64(0)
    for j in range(BLOCK):
        if dk[j] > 1:
            k2 = _exact_step(k, int64(us[j]), key2, ctr + uint64(j), n, beta, J, B, heatbath,
                             Dt, Ut)
            acc += int64(k2 != k)
            k = k2
        else:
            k += dk[j]
            acc += dk[j] & 1
    return k, acc


@njit(**JIT)
def _advance(k, n, beta, J, B, heatbath, key, ctr, n_steps, Dt, Ut, stop_k, blocks, tags, thr):
    """:func:`advance` with the block-threshold cache ``tags, thr`` of :func:`_cache`."""
    ctr = uint64(ctr)
    key2 = mix64(key ^ KEY2)
    acc = int64(0)
    done = int64(0)
    us = np.empty(BLOCK, dtype=np.uint32)
    dk = np.empty(BLOCK, dtype=np.int64)
    while done < n_steps:
        if (blocks and n_steps - done >= BLOCK and k - BLOCK > stop_k
                and (ctr & uint64(1)) == 0):
            z = key + (ctr >> uint64(1)) * GAMMA
            for _ in range((n_steps - done) // BLOCK):  # blocks until the stop state is near
                if k - BLOCK <= stop_k:
                    break
                cell = k >> CELL_BITS
                slot = cell & (CACHE - 1)
                if tags[slot] != cell:
                    tags[slot] = cell
                    thr[4 * slot], thr[4 * slot + 1], thr[4 * slot + 2], thr[4 * slot + 3] = (
                        _cell_thresholds(cell, n, beta, J, B, heatbath))
                t1 = thr[4 * slot]
                t2 = thr[4 * slot + 1]
                t3 = thr[4 * slot + 2]
                t4 = thr[4 * slot + 3]
                down, up, band = _block_counts(z, t1, t2, t3, t4)
                if band == 0:  # no attempt in an uncertain band
                    k += up - down
                    acc += up + down
                else:
                    k, a = _replay(k, key2, z, ctr, t1, t2, t3, t4, n, beta, J, B, heatbath,
                                   Dt, Ut, us, dk)
                    acc += a
                z += uint64(BLOCK // 2) * GAMMA
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


@njit(inline="always", **JIT)
def _cache():
    """An empty block-threshold cache: cell tags (-1: empty) and 4 thresholds per slot.

    Valid for one ``(n, beta, J, B, heatbath)``.
    """
    tags = np.full(CACHE, -1, dtype=np.int64)
    return tags, np.empty(4 * CACHE, dtype=np.int32)


@njit(**JIT)
def advance(k, n, beta, J, B, heatbath, key, ctr, n_steps, Dt, Ut, stop_k, blocks):
    """Run ``n_steps`` attempts from ``k`` up spins, attempts ``ctr, ctr+1, ...`` of stream ``key``.

    ``Dt, Ut``: threshold tables (length n + 1) or empty arrays (thresholds computed on demand).
    ``stop_k >= 0``: stop right after the first attempt that leaves ``k <= stop_k``.
    ``blocks``: use the certified vectorised blocks (same trajectory, faster for large n).

    Returns ``(k, next counter, accepted moves, attempts done)``; the attempts done are
    ``n_steps`` unless the stop state was reached (then the attempt that reached it counts).
    """
    tags, thr = _cache()
    return _advance(k, n, beta, J, B, heatbath, key, ctr, n_steps, Dt, Ut, stop_k, blocks,
                    tags, thr)


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
    tags, thr = _cache()
    sweep = uint64(0)
    for _ in range(n_therm):
        k, ctr, _a, _d = _advance(k, n, beta, J, B, heatbath, key, ctr, n, Dt, Ut, NO_STOP,
                                  blocks, tags, thr)
        if flip and (mix64(key3 + sweep * GAMMA) >> uint64(63)):
            k = n - k
        sweep += uint64(1)
    mags = np.empty(n_meas, dtype=np.int64)
    acc = int64(0)
    for t in range(n_meas):
        for _ in range(every):
            k, ctr, a, _d = _advance(k, n, beta, J, B, heatbath, key, ctr, n, Dt, Ut, NO_STOP,
                                     blocks, tags, thr)
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
    tags, thr = _cache()
    for _ in range(max_sweeps):
        k, ctr, _a, done = _advance(k, n, beta, J, B, heatbath, key, ctr, n, Dt, Ut, stop,
                                    blocks, tags, thr)
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
