"""numba.cuda checkerboard kernels of the 2D Ising model: the same Markov chain as the CPU kernel.

Same layout, same update rule and the same random numbers as
:func:`statmech.models.ising.kernels.simulate_2d`: site ``j`` of a row takes the high 31 bits
of random word ``j`` of its row if ``j < ceil(H/2)``, else the low 31 bits of word
``j - ceil(H/2)``. Spins, thresholds and measured sums are integers, so a GPU run is bitwise
identical to a CPU run of the same unit -- ``backend: auto`` stays reproducible whatever mix of
workers computes a sweep.

Two kernels, chosen by the lattice size:

* ``L % 16 == 0`` (:func:`_packed_item`): the int8 spins are moved as 32-bit words, four
  spins per word. A thread draws four random words and updates the eight sites that use them
  (four consecutive sites in each half of its row, each group one aligned word). The numbers of
  down neighbours of the four sites are summed in one word (SWAR: bit 7 of each byte is the
  sign of that spin); the side neighbour is the same word shifted by one byte.
* any other even ``L`` (:func:`_pairs_item`): a thread draws one random word and updates the
  two sites that use it.

Measurements stay on the device: each block reduces its sums of flips, ``s`` and ``s S`` in
shared memory and adds them to per-lattice int64 totals with one atomic each; the host reads
them once at the end. Several independent lattices of the same size (``n`` replicas or points,
each with its own key and thresholds) run in the same launches. Large lattices take two
launches per sweep (:func:`_half_sweep`, one work item per thread); small ones
(:data:`RESIDENT_WORK`) run all their sweeps in a single launch with one block per lattice
(:func:`_resident`), since numba's launch cost (tens of microseconds) would otherwise cap them.

Without a GPU the kernels run in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set
before numba.cuda is imported), which is how the test suite covers them.
"""

from __future__ import annotations

import os

import numpy as np
from numba import cuda, int32, int64, uint32, uint64

from statmech.rng import GAMMA

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: threads per block (a power of two: the block reduction halves it); the simulator runs a
#: Python thread per CUDA thread, so there small blocks keep tests fast and span several blocks
BLOCK = 8 if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else 128
#: a block is BX x (BLOCK / BX) threads: BX consecutive words of a row, BLOCK / BX rows
BX = 2 if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else 32
BY = BLOCK // BX
#: lattices with ``L % PACK == 0`` use the packed kernel
PACK = 16
#: lattices with at most this many work items per colour (L <= 256 packed) run every sweep in
#: one launch, one block per lattice: numba's launch cost (tens of us) would dominate them
RESIDENT_WORK = 4096
_LOW31 = uint64(0x7FFFFFFF)
_BYTE_SIGNS = 0x01010101


@cuda.jit(device=True, inline=True)
def _rand_word(key, n):
    """Random word ``n`` of stream ``key`` (SplitMix64, as :func:`statmech.rng.draw64`)."""
    return _mix64(key + uint64(n) * GAMMA)


@cuda.jit(device=True, inline=True)
def _mix64(z):
    """SplitMix64 output function (:func:`statmech.rng.mix64`)."""
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@cuda.jit(device=True, inline=True)
def _flip(s, S, rnd, thr):
    """1 if spin ``s`` with neighbour sum ``S`` flips for the 31-bit number ``rnd``, else 0."""
    idx = ((s * S + 4) >> 1) + 5 * int32(s > 0)
    return int32(rnd <= thr[idx])


@cuda.jit(device=True, inline=True)
def _load_thresholds(thr, lat, tid, sthr):
    for i in range(tid, 10, BLOCK):
        sthr[i] = thr[lat, i]
    cuda.syncthreads()


@cuda.jit(device=True, inline=True)
def _add_block_sums(sh, tid, flips, ms, bs, acc, obs, lat, t, c):
    """Reduce the block's sums in shared memory; thread 0 adds them to the lattice's totals."""
    sh[0, tid] = flips
    sh[1, tid] = ms
    sh[2, tid] = bs
    cuda.syncthreads()
    step = BLOCK // 2
    while step > 0:
        if tid < step:
            sh[0, tid] += sh[0, tid + step]
            sh[1, tid] += sh[1, tid + step]
            sh[2, tid] += sh[2, tid + step]
        cuda.syncthreads()
        step //= 2
    if tid == 0:
        cuda.atomic.add(acc, lat, int64(sh[0, 0]))
        if t >= 0:
            cuda.atomic.add(obs, (lat, t, 1), int64(sh[1, 0]))
            if c == 1:
                cuda.atomic.add(obs, (lat, t, 0), int64(sh[2, 0]))


@cuda.jit(device=True, inline=True)
def _pairs_item(a, o, lat, r, word, c, key, ctr, thr):
    """Item ``(r, word)`` of :func:`_item` for int8 arrays: the two sites of that random word."""
    L = a.shape[1]
    H = a.shape[2]
    h2 = (H + 1) // 2
    w = _rand_word(key, ctr + r * h2 + word)
    up = r - 1 if r > 0 else L - 1
    dn = r + 1 if r < L - 1 else 0
    flips = int32(0)
    ms = int32(0)
    bs = int32(0)
    for half in range(2):
        j = word + half * h2
        if j < H:
            if (r + c) & 1 == 0:
                side = o[lat, r, j - 1 if j > 0 else H - 1]
            else:
                side = o[lat, r, j + 1 if j < H - 1 else 0]
            S = int32(o[lat, up, j]) + int32(o[lat, dn, j]) + int32(o[lat, r, j]) + int32(side)
            rnd = int32(w >> uint64(33)) if half == 0 else int32(w & _LOW31)
            s = int32(a[lat, r, j])
            f = _flip(s, S, rnd, thr)
            n = s - 2 * s * f
            a[lat, r, j] = n
            flips += f
            ms += n
            bs += n * S
    return flips, ms, bs


@cuda.jit(device=True, inline=True)
def _downs(x):
    """Per byte of a word of four int8 spins: 1 where the spin is -1 (its sign bit), else 0."""
    return uint32((x >> 7) & _BYTE_SIGNS)


@cuda.jit(device=True, inline=True)
def _byte_sum(x):
    """Sum of the four bytes of ``x`` (each sum below 256)."""
    return int32(uint32(x * _BYTE_SIGNS) >> 24)


@cuda.jit(device=True, inline=True)
def _packed_item(a, o, lat, r, w, c, key, ctr, thr):
    """Item ``(r, w)`` of :func:`_item` for uint32 arrays (four int8 spins per word).

    Item ``(r, w)`` updates words ``w`` and ``w + W/2`` of row ``r`` (``W = H / 4``, and
    ``L % 16 == 0`` makes each half row ``W / 2`` whole words) with random words
    ``4 w .. 4 w + 3`` of the row. Per byte, with ``d`` the spin's down bit and ``nd`` its
    number of down neighbours, the threshold index of :func:`_flip` is ``nd`` for a down spin
    and ``9 - nd`` for an up spin; a flip toggles the byte between 0x01 and 0xFF (XOR 0xFE).
    The sums come from whole words: ``sum n = 4 - 2 #down`` and
    ``sum n S = 4 sum n - 2 (sum_up nd - sum_down nd)``.
    """
    # unsigned indices throughout: numba then skips its negative-index wraparound code
    L = uint32(a.shape[1])
    W = uint32(a.shape[2])
    W2 = uint32(W >> 1)
    lat = uint32(lat)
    r = uint32(r)
    w = uint32(w)
    z = key + uint64(ctr + r * (2 * W) + 4 * w) * GAMMA  # random words 4w .. 4w + 3
    rw = cuda.local.array(4, uint64)
    for i in range(4):
        rw[i] = _mix64(z)
        z += GAMMA
    row = a[lat, r]
    same_row = o[lat, r]
    up_row = o[lat, uint32(r - 1) if r > 0 else uint32(L - 1)]
    dn_row = o[lat, uint32(r + 1) if r < L - 1 else uint32(0)]
    left = (r + c) & 1 == 0  # side neighbour j - 1 (byte i takes byte i - 1), else j + 1
    flips = int32(0)
    ms = int32(0)
    bs = int32(0)
    for half in range(2):
        q = uint32(w + half * W2)
        same = uint32(same_row[q])
        if left:
            prev = uint32(q - 1) if q > 0 else uint32(W - 1)
            side = uint32((same << 8) | (uint32(same_row[prev]) >> 24))
        else:
            nxt = uint32(q + 1) if q < W - 1 else uint32(0)
            side = uint32((same >> 8) | (uint32(same_row[nxt]) << 24))
        nd = uint32(_downs(uint32(up_row[q])) + _downs(uint32(dn_row[q]))
                    + _downs(same) + _downs(side))
        old = uint32(row[q])
        down = uint32(_downs(old) * 0xFF)  # 0xFF in the bytes of down spins
        idx = uint32((nd & down) | ((0x09090909 - nd) & ~down))
        fl = uint32(0)
        for i in range(4):
            if half == 0:
                rnd = int32(rw[i] >> uint64(33))
            else:
                rnd = int32(rw[i] & _LOW31)
            fl |= uint32(int32(rnd <= thr[uint32((idx >> (8 * i)) & 0xFF)]) << (8 * i))
        new = uint32(old ^ (fl * 0xFE))
        row[q] = new
        new_down = uint32(_downs(new) * 0xFF)
        m = 4 - 2 * _byte_sum(_downs(new))
        flips += _byte_sum(fl)
        ms += m
        bs += 4 * m - 2 * (_byte_sum(nd & ~new_down) - _byte_sum(nd & new_down))
    return flips, ms, bs


@cuda.jit(device=True, inline=True)
def _item(a, o, lat, r, x, c, key, ctr, thr, packed):
    """Update work item ``x`` of row ``r`` of colour ``c`` (array ``a``) of lattice ``lat``.

    Returns the item's ``(flips, sum of new s, sum of new s * S)``.
    """
    if packed:
        return _packed_item(a, o, lat, r, x, c, key, ctr, thr)
    return _pairs_item(a, o, lat, r, x, c, key, ctr, thr)


@cuda.jit(device=True, inline=True)
def _row_items(a, packed):
    """Work items per row of a colour."""
    if packed:
        return a.shape[2] // 2
    return (a.shape[2] + 1) // 2


@cuda.jit
def _half_sweep(a, o, c, thr, keys, ctr, acc, obs, t, measure, packed):
    """Colour ``c`` of lattice ``blockIdx.z``, one work item per thread (large lattices).

    ``a``, ``o``: ``(n, L, H)`` int8, or ``(n, L, H / 4)`` uint32 views with ``packed``. With
    ``measure`` the flips are added to ``acc[lat]`` and, for ``t >= 0``, ``sum s`` to
    ``obs[lat, t, 1]`` and (colour 1) ``sum s S`` to ``obs[lat, t, 0]``.
    """
    lat = cuda.blockIdx.z
    tid = cuda.threadIdx.y * BX + cuda.threadIdx.x
    sthr = cuda.shared.array(10, int32)
    _load_thresholds(thr, lat, tid, sthr)
    x = cuda.blockIdx.x * BX + cuda.threadIdx.x
    r = cuda.blockIdx.y * BY + cuda.threadIdx.y
    flips = int32(0)
    ms = int32(0)
    bs = int32(0)
    if x < _row_items(a, packed) and r < a.shape[1]:
        flips, ms, bs = _item(a, o, lat, r, x, c, keys[lat], ctr, sthr, packed)
    if measure:
        sh = cuda.shared.array((3, BLOCK), int32)
        _add_block_sums(sh, tid, flips, ms, bs, acc, obs, lat, t, c)


@cuda.jit
def _resident(a, b, thr, keys, n_therm, n_meas, every, per_half, acc, obs, packed):
    """Every sweep of lattice ``blockIdx.x`` in one launch, one block per lattice (small L).

    The block's threads stride over the work items of a colour and synchronise between the
    half-sweeps; the results are those of :func:`_half_sweep` launched sweep by sweep.
    """
    lat = cuda.blockIdx.x
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * BX + tx
    sthr = cuda.shared.array(10, int32)
    _load_thresholds(thr, lat, tid, sthr)
    sh = cuda.shared.array((3, BLOCK), int32)
    L = a.shape[1]
    width = _row_items(a, packed)
    key = keys[lat]
    for step in range(n_therm + n_meas * every):
        k = step - n_therm
        t = k // every if k >= 0 and (k + 1) % every == 0 else -1
        ctr = step * 2 * per_half
        for c in range(2):
            flips = int32(0)
            ms = int32(0)
            bs = int32(0)
            for r in range(ty, L, BY):
                for x in range(tx, width, BX):
                    if c == 0:
                        f, m, d = _item(a, b, lat, r, x, 0, key, ctr, sthr, packed)
                    else:
                        f, m, d = _item(b, a, lat, r, x, 1, key, ctr + per_half, sthr, packed)
                    flips += f
                    ms += m
                    bs += d
            cuda.syncthreads()  # the other colour sees every update of this one
            if k >= 0:
                _add_block_sums(sh, tid, flips, ms, bs, acc, obs, lat, t, c)


def simulate_2d_cuda_many(
    a: np.ndarray, b: np.ndarray, thr: np.ndarray, keys: np.ndarray,
    n_therm: int, n_meas: int, every: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` independent lattices of one size in one set of launches.

    ``a``, ``b``: int8 ``(n, L, L/2)`` checkerboard arrays (updated in place); ``thr``:
    ``(n, 10)`` thresholds of :func:`statmech.models.ising.kernels.flip_thresholds`;
    ``keys``: ``n`` uint64 stream keys. Returns ``bonds``, ``mags`` (int64 ``(n, n_meas)``) and
    ``accepted`` (int64 ``(n,)``): lattice ``i`` gets exactly what
    :func:`statmech.models.ising.kernels.simulate_2d` returns for ``a[i], b[i], thr[i], keys[i]``.
    """
    n, L, H = a.shape
    per_half = L * ((H + 1) // 2)
    packed = L % PACK == 0
    a_host, b_host = np.ascontiguousarray(a), np.ascontiguousarray(b)
    if packed:
        d_a, d_b = cuda.to_device(a_host.view(np.uint32)), cuda.to_device(b_host.view(np.uint32))
        width = H // 8
    else:
        d_a, d_b = cuda.to_device(a_host), cuda.to_device(b_host)
        width = (H + 1) // 2
    d_thr = cuda.to_device(np.ascontiguousarray(thr, dtype=np.int32))
    d_keys = cuda.to_device(np.ascontiguousarray(keys, dtype=np.uint64))
    acc = cuda.to_device(np.zeros(n, dtype=np.int64))
    obs = cuda.to_device(np.zeros((n, max(n_meas, 1), 2), dtype=np.int64))
    if L * width <= RESIDENT_WORK:
        _resident[n, (BX, BY)](
            d_a, d_b, d_thr, d_keys, n_therm, n_meas, every, per_half, acc, obs, packed)
    else:
        launch = _half_sweep[(-(-width // BX), -(-L // BY), n), (BX, BY)]
        ctr = 0
        for step in range(n_therm + n_meas * every):
            k = step - n_therm
            t = k // every if k >= 0 and (k + 1) % every == 0 else -1
            launch(d_a, d_b, 0, d_thr, d_keys, ctr, acc, obs, t, k >= 0, packed)
            launch(d_b, d_a, 1, d_thr, d_keys, ctr + per_half, acc, obs, t, k >= 0, packed)
            ctr += 2 * per_half
    a[...] = d_a.copy_to_host().view(np.int8).reshape(a.shape)
    b[...] = d_b.copy_to_host().view(np.int8).reshape(b.shape)
    sums = obs.copy_to_host()[:, :n_meas]
    return sums[..., 0].copy(), sums[..., 1].copy(), acc.copy_to_host()


def simulate_2d_cuda(a: np.ndarray, b: np.ndarray, thr: np.ndarray, key: np.uint64,
                     n_therm: int, n_meas: int, every: int,
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """GPU twin of :func:`statmech.models.ising.kernels.simulate_2d` (same arguments/results)."""
    a3, b3 = a[None].copy(), b[None].copy()
    bonds, mags, acc = simulate_2d_cuda_many(
        a3, b3, thr[None], np.array([key], dtype=np.uint64), n_therm, n_meas, every)
    a[...], b[...] = a3[0], b3[0]
    return bonds[0], mags[0], int(acc[0])
