"""Couplings and exact enumeration of the Sherrington-Kirkpatrick model.

Conventions: k_B = 1, ``H = -sum_{i<j} J_ij s_i s_j - B sum_i s_i`` with ``J_ij ~ N(0, 1/N)``
i.i.d.; spins are +-1; energies are in units of J (the coupling scale).

Couplings on a dyadic grid. Every coupling is rounded to the nearest multiple of
``EPS = 2**-24`` (and so is B): ``J_ij = EPS * Jq_ij`` with integer ``Jq``. The rounding changes
a coupling by at most 3e-8 -- invisible in any physical quantity -- and makes every energy and
every local field an exact integer multiple of ``EPS``. The enumeration therefore runs in exact
integer arithmetic, and float64 arithmetic on these couplings (the Monte Carlo kernels) is exact
too as long as magnitudes stay below 2**29 (always true here). Degeneracies and the stability
test ``s_i h_i > 0`` are decided exactly, with no rounding ambiguity.

Exact enumeration (:func:`enumerate_sk`). Gray-code order: step ``t`` flips spin ``ctz(t)``, so
consecutive configurations differ by one spin and the local fields are updated with one row of
the coupling matrix. Spin ``N - 1`` never flips: the ``2**(N-1)`` visited configurations ``s``
stand for the pairs ``{s, -s}``, and both members are evaluated at every step from the same
fields (``s`` is stable iff ``s_j (h^J_j + B) > 0`` for all j, ``-s`` iff ``s_j (h^J_j - B) > 0``,
with ``h^J`` the field without B), so the symmetry halves the work for every B.

Inner loop, branch-free and vectorised: the fields are int32 in units ``EPS / 2`` (even numbers);
the lowest bit of a stored field marks a down spin (``h'_j = h_j - [s_j = -1]``), so that
``h'_j ^ -(h'_j & 1) = s_j h_j`` exactly (two's complement) and one OR-reduction of these
numbers tells whether any spin is unstable (sign bit). The row added at a flip carries the
flip of that low bit at its own site (``J_ii = 0``), so a step is: ``ctz``, one vector add of
a coupling row, one vector OR-reduction, one predictable branch. Only configurations that pass
(local minima: ``s_i h_i >= 0`` for all i, a few hundred out of 2**N) take the slow path, which
computes their energy, strict stability, histogram bin and ground-state bookkeeping. Four
walkers (one per value of spins N-2 and N-3) advance together, sharing each coupling row: their
four independent field updates hide the store-to-load latency that bounds a single walker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import int32, int64, njit
from numba.cpython.unsafe.numbers import trailing_zeros

from statmech.rng import JIT

#: coupling quantum (J): couplings and B are integer multiples of it
EPS = 2.0**-24
#: largest N the enumeration accepts (2**39 steps of a few ns: tens of minutes per sample)
ENUMERATION_LIMIT = 40
#: fields are int32 in units EPS / 2: sum_j |J_ij| + |B| must stay below this (J units)
FIELD_LIMIT = 60.0
#: and |B| below this (the padding lanes hold 2**30 in units EPS / 2)
B_LIMIT = 30.0
_PAD_FIELD = 1 << 30
_ONE = np.int32(1)
_INT64_MAX = np.iinfo(np.int64).max


# ----------------------------------------------------------------------------- couplings
def draw_couplings(n: int, rng: np.random.Generator) -> np.ndarray:
    """Symmetric integer couplings ``Jq`` (units :data:`EPS`) with ``J_ij ~ N(0, 1/n)``.

    ``n (n - 1) / 2`` standard normals fill the upper triangle in row-major order
    (``np.triu_indices(n, 1)``); ``Jq = rint(g / sqrt(n) / EPS)``; zero diagonal.
    """
    g = rng.standard_normal(n * (n - 1) // 2)
    jq = np.zeros((n, n), dtype=np.int64)
    iu = np.triu_indices(n, 1)
    jq[iu] = np.rint(g / np.sqrt(n) / EPS).astype(np.int64)
    return jq + jq.T


def field_units(B: float) -> int:
    """B as an integer multiple of :data:`EPS` (rounded to the nearest)."""
    return int(np.rint(float(B) / EPS))


def energy_units(jq: np.ndarray, bq: int, s: np.ndarray) -> int:
    """Exact energy ``H(s)`` in units of :data:`EPS` (``s``: +-1 array)."""
    s64 = np.asarray(s, dtype=np.int64)
    return int(-(s64 @ jq @ s64) // 2 - bq * s64.sum())


def local_fields_units(jq: np.ndarray, bq: int, s: np.ndarray) -> np.ndarray:
    """Exact local fields ``h_i = sum_j J_ij s_j + B`` in units of :data:`EPS`."""
    return jq @ np.asarray(s, dtype=np.int64) + bq


def code_to_spins(code: int, n: int) -> np.ndarray:
    """Configuration with bit ``i`` of ``code`` set iff ``s_i = -1`` (int8 +-1 array)."""
    bits = (np.int64(code) >> np.arange(n, dtype=np.int64)) & 1
    return (1 - 2 * bits).astype(np.int8)


def spins_to_code(s: np.ndarray) -> int:
    """Inverse of :func:`code_to_spins`."""
    bits = (np.asarray(s) < 0).astype(np.int64)
    return int((bits << np.arange(bits.size, dtype=np.int64)).sum())


# ----------------------------------------------------------------------------- hot loop
@njit(inline="always", **JIT)
def _update_sym(h, row, m):
    """``h += row`` and the OR of ``s_j h_j`` over ``m`` lanes (sign bit: some spin unstable)."""
    acc = int32(0)
    for j in range(m):
        hj = int32(h[j] + row[j])
        h[j] = hj
        acc = int32(acc | int32(hj ^ int32(-int32(hj & _ONE))))
    return acc


@njit(inline="always", **JIT)
def _update_field(h, row, b2, m):
    """Like :func:`_update_sym` for B != 0: ORs of ``s_j (h_j + B)`` and ``s_j (h_j - B)``."""
    accp = int32(0)
    accm = int32(0)
    for j in range(m):
        hj = int32(h[j] + row[j])
        h[j] = hj
        u = int32(-int32(hj & _ONE))
        accp = int32(accp | int32(int32(hj + b2) ^ u))
        accm = int32(accm | int32(int32(hj - b2) ^ u))
    return accp, accm


@njit(**JIT)
def _record(E, code, strict, n, lo, width, hist, counts, heap_E, heap_code):
    """Book one local minimum: counts, histogram (strict only) and the sorted minima list."""
    if strict:
        counts[0] += 1
        e = float(E) * EPS / n
        k = np.floor((e - lo) / width)
        nb = hist.shape[0]
        if k < 0:
            counts[2] += 1
        elif k >= nb:
            counts[3] += 1
        else:
            hist[int64(k)] += 1
    else:
        counts[1] += 1
    kmax = heap_E.shape[0]
    size = counts[4]
    if size == kmax:
        last = size - 1
        if E > heap_E[last] or (E == heap_E[last] and code >= heap_code[last]):
            return
        pos = last
    else:
        pos = size
        counts[4] = size + 1
    while pos > 0 and (heap_E[pos - 1] > E or (heap_E[pos - 1] == E and heap_code[pos - 1] > code)):
        heap_E[pos] = heap_E[pos - 1]
        heap_code[pos] = heap_code[pos - 1]
        pos -= 1
    heap_E[pos] = E
    heap_code[pos] = code


@njit(**JIT)
def _visit(h, n, gray, mask, b2, lo, width, hist, counts, heap_E, heap_code):
    """Slow path: the visited ``s`` or ``-s`` is a local minimum (``s_i h_i >= 0`` for all i)."""
    sum_x = int64(0)
    M = int64(0)
    minp = int64(_INT64_MAX)
    minm = int64(_INT64_MAX)
    for j in range(n):
        hj = int64(h[j])
        u = -(hj & 1)
        sum_x += hj ^ u
        M += 1 + 2 * u
        minp = min(minp, (hj + b2) ^ u)
        minm = min(minm, (hj - b2) ^ u)
    EJ = -(sum_x // 2)  # units EPS / 2, even
    if minp >= 0:
        _record((EJ - b2 * M) // 2, gray, minp > 0, n, lo, width, hist, counts, heap_E,
                heap_code)
    if minm >= 0:
        _record((EJ + b2 * M) // 2, gray ^ mask, minm > 0, n, lo, width, hist, counts, heap_E,
                heap_code)


@njit(inline="always", **JIT)
def _update4_sym(H, rows, d, i, m):
    """Four walkers: ``H[w] += rows[d, i]`` and the OR of ``s_j h_j`` per walker (B = 0).

    Indexes ``rows[d, i, j]`` directly (a row view costs reference counting at every step).
    """
    a0 = int32(0)
    a1 = int32(0)
    a2 = int32(0)
    a3 = int32(0)
    for j in range(m):
        r = rows[d, i, j]
        x0 = int32(H[0, j] + r)
        x1 = int32(H[1, j] + r)
        x2 = int32(H[2, j] + r)
        x3 = int32(H[3, j] + r)
        H[0, j] = x0
        H[1, j] = x1
        H[2, j] = x2
        H[3, j] = x3
        a0 = int32(a0 | int32(x0 ^ int32(-int32(x0 & _ONE))))
        a1 = int32(a1 | int32(x1 ^ int32(-int32(x1 & _ONE))))
        a2 = int32(a2 | int32(x2 ^ int32(-int32(x2 & _ONE))))
        a3 = int32(a3 | int32(x3 ^ int32(-int32(x3 & _ONE))))
    return a0, a1, a2, a3


@njit(inline="always", **JIT)
def _update4_field(H, rows, d, i, b, m):
    """Four walkers, B != 0: per walker the AND of the ORs for ``s`` and ``-s``.

    The returned value of a walker is negative iff both ``s`` and ``-s`` have an unstable spin.
    """
    p0 = int32(0)
    p1 = int32(0)
    p2 = int32(0)
    p3 = int32(0)
    m0 = int32(0)
    m1 = int32(0)
    m2 = int32(0)
    m3 = int32(0)
    for j in range(m):
        r = rows[d, i, j]
        x0 = int32(H[0, j] + r)
        x1 = int32(H[1, j] + r)
        x2 = int32(H[2, j] + r)
        x3 = int32(H[3, j] + r)
        H[0, j] = x0
        H[1, j] = x1
        H[2, j] = x2
        H[3, j] = x3
        u0 = int32(-int32(x0 & _ONE))
        u1 = int32(-int32(x1 & _ONE))
        u2 = int32(-int32(x2 & _ONE))
        u3 = int32(-int32(x3 & _ONE))
        p0 = int32(p0 | int32(int32(x0 + b) ^ u0))
        p1 = int32(p1 | int32(int32(x1 + b) ^ u1))
        p2 = int32(p2 | int32(int32(x2 + b) ^ u2))
        p3 = int32(p3 | int32(int32(x3 + b) ^ u3))
        m0 = int32(m0 | int32(int32(x0 - b) ^ u0))
        m1 = int32(m1 | int32(int32(x1 - b) ^ u1))
        m2 = int32(m2 | int32(int32(x2 - b) ^ u2))
        m3 = int32(m3 | int32(int32(x3 - b) ^ u3))
    return int32(p0 & m0), int32(p1 & m1), int32(p2 & m2), int32(p3 & m3)


@njit(**JIT)
def _walk1(rows, h0, n, b2, lo, width, hist, counts, heap_E, heap_code):
    """One Gray-code walker over the ``2**(n-1)`` states with ``s_{n-1} = +1`` (small n)."""
    h = h0.copy()
    mask = (int64(1) << n) - 1
    gray = int64(0)
    b32 = int32(b2)
    if _weak_start(h, n, b2):
        _visit(h, n, gray, mask, b2, lo, width, hist, counts, heap_E, heap_code)
    for t in range(1, int64(1) << (n - 1)):
        i = trailing_zeros(t)
        d = (gray >> i) & 1
        gray ^= int64(1) << i
        row = rows[d, i]
        if b2 == 0:
            ok = _update_sym(h, row, h.shape[0]) >= 0
        else:
            accp, accm = _update_field(h, row, b32, h.shape[0])
            ok = accp >= 0 or accm >= 0
        if ok:
            _visit(h, n, gray, mask, b2, lo, width, hist, counts, heap_E, heap_code)


@njit(**JIT)
def _walk4(rows, h0, n, b2, lo, width, hist, counts, heap_E, heap_code):
    """Four interleaved Gray-code walkers (n >= 6), one per value of spins n-2 and n-3.

    Walker ``w`` starts from the all-up state with spin ``n-2`` flipped if ``w & 1`` and spin
    ``n-3`` flipped if ``w & 2``; all four then flip the same spin ``ctz(t)`` of the lower
    ``n-3`` spins, in the same direction, sharing the coupling row. Their field updates are
    four independent dependency chains that the core overlaps (a single walker is bound by the
    latency of store -> load -> add -> store of the fields from one step to the next).
    """
    Np = h0.shape[0]
    H = np.empty((4, Np), dtype=np.int32)
    mask = (int64(1) << n) - 1
    base = np.empty(4, dtype=np.int64)
    for w in range(4):
        H[w] = h0
        base[w] = int64(0)
        if w & 1:
            base[w] |= int64(1) << (n - 2)
            for j in range(Np):
                H[w, j] += rows[0, n - 2, j]
        if w & 2:
            base[w] |= int64(1) << (n - 3)
            for j in range(Np):
                H[w, j] += rows[0, n - 3, j]
        if _weak_start(H[w], n, b2):
            _visit(H[w], n, base[w], mask, b2, lo, width, hist, counts, heap_E, heap_code)
    b32 = int32(b2)
    # one specialised loop per (B = 0 or not, lane count): constant trip counts, no
    # loop-invariant branches inside the hot loop
    if b2 == 0:
        if Np == 16:
            _loop4(H, rows, n, b32, True, 16, base, mask, b2, lo, width, hist, counts, heap_E,
                   heap_code)
        elif Np == 32:
            _loop4(H, rows, n, b32, True, 32, base, mask, b2, lo, width, hist, counts, heap_E,
                   heap_code)
        else:
            _loop4(H, rows, n, b32, True, 48, base, mask, b2, lo, width, hist, counts, heap_E,
                   heap_code)
    elif Np == 16:
        _loop4(H, rows, n, b32, False, 16, base, mask, b2, lo, width, hist, counts, heap_E,
               heap_code)
    elif Np == 32:
        _loop4(H, rows, n, b32, False, 32, base, mask, b2, lo, width, hist, counts, heap_E,
               heap_code)
    else:
        _loop4(H, rows, n, b32, False, 48, base, mask, b2, lo, width, hist, counts, heap_E,
               heap_code)


@njit(inline="always", **JIT)
def _loop4(H, rows, n, b32, sym, m, base, mask, b2, lo, width, hist, counts, heap_E, heap_code):
    """The hot loop of :func:`_walk4`, inlined with literal ``sym`` and lane count ``m``."""
    gray = int64(0)
    for t in range(1, int64(1) << (n - 3)):
        i = trailing_zeros(t)
        d = (gray >> i) & 1
        gray ^= int64(1) << i
        if sym:
            a0, a1, a2, a3 = _update4_sym(H, rows, d, i, m)
        else:
            a0, a1, a2, a3 = _update4_field(H, rows, d, i, b32, m)
        if (a0 & a1 & a2 & a3) >= 0:  # some walker is at a local minimum (rare)
            if a0 >= 0:
                _visit(H[0], n, gray | base[0], mask, b2, lo, width, hist, counts, heap_E,
                       heap_code)
            if a1 >= 0:
                _visit(H[1], n, gray | base[1], mask, b2, lo, width, hist, counts, heap_E,
                       heap_code)
            if a2 >= 0:
                _visit(H[2], n, gray | base[2], mask, b2, lo, width, hist, counts, heap_E,
                       heap_code)
            if a3 >= 0:
                _visit(H[3], n, gray | base[3], mask, b2, lo, width, hist, counts, heap_E,
                       heap_code)


@njit(**JIT)
def enumerate_kernel(rows, h0, n, b2, lo, width, hist, counts, heap_E, heap_code):
    """Visit all ``2**(n-1)`` configurations with ``s_{n-1} = +1`` in Gray-code order.

    ``rows[d, i]`` is the int32 vector added to the fields when spin ``i`` flips from
    ``s = +1`` (``d = 0``) or ``s = -1`` (``d = 1``): ``-+4 Jq[i]`` with ``-+1`` at site ``i``
    (units EPS / 2). ``h0`` holds the fields of the all-up state (``2 Jq.sum(1)``, even) padded
    to a multiple of 16 lanes with a large positive value. ``b2 = 2 Bq``. Results go to
    ``hist`` (strictly stable energies per spin in bins ``[lo + k width, lo + (k+1) width)``),
    ``counts = [n_stable, n_marginal, below, above, n_minima_kept]`` and the sorted lists
    ``heap_E``/``heap_code`` of the lowest local minima (energy in units EPS, code: bit i set iff
    ``s_i = -1``). Four interleaved walkers for ``n >= 6`` (:func:`_walk4`), one below.
    """
    if n >= 6:
        _walk4(rows, h0, n, b2, lo, width, hist, counts, heap_E, heap_code)
    else:
        _walk1(rows, h0, n, b2, lo, width, hist, counts, heap_E, heap_code)


@njit(**JIT)
def _weak_start(h, n, b2):
    """Whether the configuration held by the fields ``h`` or its reverse is a local minimum."""
    okp = True
    okm = True
    for j in range(n):
        hj = int64(h[j])
        u = -(hj & 1)
        if (hj + b2) ^ u < 0:
            okp = False
        if (hj - b2) ^ u < 0:
            okm = False
    return okp or okm


# ----------------------------------------------------------------------------- driver
@dataclass(frozen=True)
class Enumeration:
    """Exact results of one coupling matrix (energies exact on the EPS grid).

    Counting conventions: every configuration of the ``2**N`` is counted on its own (``s`` and
    ``-s`` are two configurations). A *local minimum* has ``s_i h_i >= 0`` for all i; it is
    *stable* if every ``s_i h_i > 0`` and *marginal* otherwise (a zero field: exact on the
    grid, probability ~1e-7 per state).
    """

    n: int
    #: lowest energy, total, units EPS (exact)
    E0: int
    #: number of local minima with ``E <= E0 + tol`` (every ground state is a local minimum)
    degeneracy: int
    #: True when the kept list of minima was all within the window (degeneracy is a lower bound)
    capped: bool
    #: lowest local-minimum energy above the window minus E0 (units EPS; -1 if unknown or none)
    gap_minima: int
    #: lowest single-flip excitation of the stored ground state, ``2 min_i s_i h_i`` (units EPS)
    gap_flip: int
    n_stable: int
    n_marginal: int
    hist: np.ndarray
    below: int
    above: int
    #: the ground state with the smallest code (bit i set iff s_i = -1) among the exact ties
    ground_state: np.ndarray
    #: the lowest local minima found (sorted by energy then code), energies in units EPS
    minima_E: np.ndarray
    minima_code: np.ndarray

    @property
    def e0(self) -> float:
        """Ground-state energy per spin (J)."""
        return self.E0 * EPS / self.n


def padded_lanes(n: int) -> int:
    """Fields are padded to a multiple of 16 int32 lanes."""
    return max(16, (n + 15) // 16 * 16)


def check_field_range(jq: np.ndarray, bq: int) -> None:
    """Raise if the int32 fields could overflow (needs sum_j |J_ij| + |B| < 60, |B| <= 30)."""
    if abs(int(bq)) * EPS > B_LIMIT:
        raise ValueError(f"|B| = {abs(int(bq)) * EPS:g} exceeds the enumeration's limit "
                         f"{B_LIMIT:g} J")
    worst = int(np.abs(jq).sum(axis=1).max(initial=0)) + abs(int(bq))
    if worst * EPS >= FIELD_LIMIT:
        raise ValueError(
            f"sum_j |J_ij| + |B| = {worst * EPS:.3g} J exceeds the int32 field range of the "
            f"enumeration ({FIELD_LIMIT} J); reduce |B|"
        )


def prepare_rows(jq: np.ndarray, bq: int) -> tuple[np.ndarray, np.ndarray]:
    """The int32 flip rows and start fields of :func:`enumerate_kernel`."""
    n = jq.shape[0]
    check_field_range(jq, bq)
    lanes = padded_lanes(n)
    rows = np.zeros((2, n, lanes), dtype=np.int32)
    rows[0, :, :n] = -4 * jq
    rows[1, :, :n] = 4 * jq
    idx = np.arange(n)
    rows[0, idx, idx] = -1
    rows[1, idx, idx] = 1
    h0 = np.full(lanes, _PAD_FIELD, dtype=np.int32)
    h0[:n] = 2 * jq.sum(axis=1)
    return rows, h0


def check_enumeration_args(n: int, max_minima: int) -> None:
    """Raise ``ValueError`` unless ``2 <= n <= ENUMERATION_LIMIT`` and ``max_minima >= 2``."""
    if not 2 <= n <= ENUMERATION_LIMIT:
        raise ValueError(f"enumeration needs 2 <= N <= {ENUMERATION_LIMIT}, got {n}")
    if max_minima < 2:
        raise ValueError("max_minima must be >= 2")


def summarize(
    jq: np.ndarray,
    bq: int,
    *,
    tol_units: int,
    counts: np.ndarray,
    hist: np.ndarray,
    minima_E: np.ndarray,
    minima_code: np.ndarray,
    max_minima: int,
) -> Enumeration:
    """The :class:`Enumeration` from an enumeration's raw results (shared by CPU and GPU).

    ``counts = [n_stable, n_marginal, below, above]``; ``hist``: int64 counts of the stable
    configurations per energy bin; ``minima_E`` / ``minima_code``: the lowest
    ``min(max_minima, n_stable + n_marginal)`` local minima sorted by (energy, code), energies
    in units EPS, codes with bit i set iff ``s_i = -1``.
    """
    n = int(jq.shape[0])
    kept = int(minima_E.shape[0])
    E0 = int(minima_E[0])
    inside = minima_E <= E0 + tol_units
    degeneracy = int(inside.sum())
    capped = kept == max_minima and bool(inside.all())
    outside = minima_E[~inside]
    gap_minima = int(outside[0] - E0) if outside.size else -1
    gs = code_to_spins(int(minima_code[0]), n)
    g = local_fields_units(jq, bq, gs) * gs
    return Enumeration(
        n=n, E0=E0, degeneracy=degeneracy, capped=capped, gap_minima=gap_minima,
        gap_flip=int(2 * g.min()), n_stable=int(counts[0]), n_marginal=int(counts[1]),
        hist=hist, below=int(counts[2]), above=int(counts[3]), ground_state=gs,
        minima_E=minima_E, minima_code=minima_code,
    )


def enumerate_sk(
    jq: np.ndarray,
    bq: int,
    *,
    tol_units: int = 0,
    max_minima: int = 64,
    e_min: float = -1.0,
    e_max: float = 0.0,
    bins: int = 100,
) -> Enumeration:
    """Exact ground state, degeneracy and metastable states of one sample by enumeration.

    ``jq``: symmetric integer couplings (units EPS, zero diagonal); ``bq``: B in units EPS;
    ``tol_units``: ground-state window ``E <= E0 + tol`` (units EPS; 0 = exact ties);
    ``max_minima``: how many of the lowest local minima are kept (caps the degeneracy count);
    the histogram of stable-state energies per spin has ``bins`` bins on ``[e_min, e_max)``
    (bin ``floor((e - e_min) / de)`` in float64), states outside are counted in ``below`` /
    ``above``. The GPU twin is :func:`statmech.models.sk.cuda.enumerate_sk_cuda`.
    """
    n = int(jq.shape[0])
    check_enumeration_args(n, max_minima)
    rows, h0 = prepare_rows(jq, bq)
    width = (float(e_max) - float(e_min)) / bins
    hist = np.zeros(bins, dtype=np.int64)
    counts = np.zeros(5, dtype=np.int64)
    heap_E = np.zeros(max_minima, dtype=np.int64)
    heap_code = np.zeros(max_minima, dtype=np.int64)
    enumerate_kernel(rows, h0, n, 2 * int(bq), float(e_min), width, hist, counts, heap_E,
                     heap_code)
    kept = int(counts[4])
    return summarize(jq, bq, tol_units=tol_units, counts=counts[:4], hist=hist,
                     minima_E=heap_E[:kept].copy(), minima_code=heap_code[:kept].copy(),
                     max_minima=max_minima)
