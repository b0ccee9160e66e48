r"""numba kernels of the dense associative memory (modern Hopfield network).

Conventions: ``K`` random patterns ``xi`` (``int8`` +-1, shape ``(N, K)``, one row per spin, as
in :mod:`statmech.models.hopfield.kernels`, whose pattern generator, flip selection, overlap
count and Fisher-Yates shuffle are reused unchanged); spins ``s`` are ``int8`` +-1. The energy is

    E(s) = - sum_mu F(M^mu),   M^mu = sum_i xi_i^mu s_i   (integer overlap, not normalised)

with ``F(x) = x^n`` (``power``, integer n >= 2) or ``F(x) = e^x`` (``exp``).

Update rule (zero temperature, asynchronous). With ``a^mu = M^mu - xi_i^mu s_i`` the overlap
without spin i (``M^mu_{\i}``), the energy gain of ``s_i = +1`` over ``s_i = -1`` is

    D_i = sum_mu [F(a^mu + xi_i^mu) - F(a^mu - xi_i^mu)] = sum_mu xi_i^mu g(a^mu),
    g(a) = F(a + 1) - F(a - 1),

(the second form because ``F(a - 1) - F(a + 1) = -g(a)`` for ``xi = -1``), and spin i takes the
sign of ``D_i``; ``D_i = 0`` keeps it. The self-term is excluded exactly (``a`` does not contain
spin i), so for n = 2, ``g(a) = 4a`` and ``D_i = 4 (sum_mu xi_i^mu M^mu - K s_i) = 4 H_i`` with
``H_i`` the integer Hebbian field of ``hopfield`` (``J_ii = 0``): the same sign, the same ties,
hence the same trajectory.

Arithmetic.

* ``power``: exact ``int64``. ``g`` is a closed-form polynomial for n <= 6 and tabulated once
  per network on ``a = -N ... N`` (``gtab[a + N]``) beyond. ``|D_i| <= K g(N - 1) <=
  K (N + 1)^n``; the model refuses points where ``K (N + 1)^n >= 2^63``
  (:func:`power_bound_ok`), so nothing can overflow and ties are exact.
* ``exp``: ``float64``. ``D_i = 2 sinh(1) sum_mu xi_i^mu e^{a^mu}``; the positive factor is dropped
  and the sum is evaluated as ``sum_mu xi_i^mu e^{a^mu - c}`` with ``c = max_mu M^mu + 1 >=
  max_mu a^mu`` (the maximum subtracted: the largest term is >= e^-2, nothing overflows; terms
  below e^-745 underflow to 0, which cannot change a sign decided by a term >= e^-2 unless the
  large terms cancel). ``e^{-d}`` comes from a table on ``d = 0 ... 2N + 2``. When the float sum
  is within its rounding bound (``4 eps K`` times the sum of the magnitudes) of 0, the sign is
  recomputed exactly: the integer level counts ``c_a = sum_{mu: a^mu = a} xi_i^mu`` are zero
  for every a iff ``D_i = 0`` exactly (e is transcendental), which is a tie; otherwise the sign
  of ``sum_a c_a e^{a - c}`` summed from the top level down decides.
"""

from __future__ import annotations

import math

import numpy as np
from numba import int8, int32, int64, njit, uint64

from statmech.models.hopfield.kernels import _shuffle
from statmech.rng import JIT

#: largest n whose g(a) the kernels evaluate in closed form (a table beyond)
CLOSED_FORM_MAX_N = 6
#: relative rounding bound per term of the exp sum (the fallback to exact level counts)
EXP_TIE_EPS = 4.0 * np.finfo(np.float64).eps


def double_factorial_odd(n: int) -> int:
    """``(2n - 3)!! = 1 * 3 * ... * (2n - 3)`` (1 for n = 2): the crosstalk variance constant."""
    return math.prod(range(1, 2 * n - 2, 2))


def g_table(n_spins: int, n: int) -> np.ndarray:
    """``g(a) = (a + 1)^n - (a - 1)^n`` for ``a = -N ... N`` as ``int64`` (index ``a + N``).

    Exact Python integers, checked to fit int64.
    """
    out = np.empty(2 * n_spins + 1, dtype=np.int64)
    for k, a in enumerate(range(-n_spins, n_spins + 1)):
        v = (a + 1) ** n - (a - 1) ** n
        if abs(v) >= 2**63:
            raise OverflowError(f"g({a}) = {v} does not fit int64 (N = {n_spins}, n = {n})")
        out[k] = v
    return out


def exp_table(n_spins: int) -> np.ndarray:
    """``e^{-d}`` for ``d = 0 ... 2N + 2`` (float64; underflows to 0 beyond d ~ 745)."""
    return np.exp(-np.arange(2 * n_spins + 3, dtype=np.float64))


def power_bound(n_spins: int, n_patterns: int, n: int) -> int:
    """Bound ``K (N + 1)^n`` on ``|D_i|`` for the power energy (exact Python integer)."""
    return n_patterns * (n_spins + 1) ** n


def power_bound_ok(n_spins: int, n_patterns: int, n: int) -> bool:
    """Whether the exact int64 power kernel cannot overflow (``K (N + 1)^n < 2^63``)."""
    return power_bound(n_spins, n_patterns, n) < 2**63


@njit(inline="always", **JIT)
def _drive_power(row, M, si, n, gtab, n_spins):
    """``D_i`` (int64) of a spin with pattern row ``row`` and value ``si`` (power energy).

    ``g`` in closed form for n <= 6 (``2 sum_{k odd} C(n, k) a^(n-k)``; the branch is outside
    the pattern loop, which vectorises), from the table ``gtab`` beyond.
    """
    d = int64(0)
    if n == 2:
        for k in range(row.shape[0]):
            x = int64(row[k])
            d += x * (int64(M[k]) - x * si)
        return 4 * d
    if n == 3:
        for k in range(row.shape[0]):
            x = int64(row[k])
            a = int64(M[k]) - x * si
            d += x * (6 * a * a + 2)
        return d
    if n == 4:
        for k in range(row.shape[0]):
            x = int64(row[k])
            a = int64(M[k]) - x * si
            d += x * (8 * a * a + 8) * a
        return d
    if n == 5:
        for k in range(row.shape[0]):
            x = int64(row[k])
            a = int64(M[k]) - x * si
            b = a * a
            d += x * ((10 * b + 20) * b + 2)
        return d
    if n == 6:
        for k in range(row.shape[0]):
            x = int64(row[k])
            a = int64(M[k]) - x * si
            b = a * a
            d += x * ((12 * b + 40) * b + 12) * a
        return d
    for k in range(row.shape[0]):
        x = int64(row[k])
        a = int64(M[k]) - x * si
        d += x * gtab[a + n_spins]
    return d


@njit(**JIT)
def _exp_exact_sign(row, M, si, etab, top, n_spins, counts):
    """Exact sign of ``sum_mu xi^mu e^{a^mu}`` from integer level counts (0 for a true tie)."""
    for k in range(counts.shape[0]):
        counts[k] = 0
    for k in range(row.shape[0]):
        x = int64(row[k])
        a = int64(M[k]) - x * si
        counts[a + n_spins] += x
    acc = 0.0
    nonzero = False
    for j in range(counts.shape[0] - 1, -1, -1):  # from the top level down
        c = counts[j]
        if c != 0:
            nonzero = True
            acc += float(c) * etab[top - (j - n_spins)]
    if not nonzero:
        return int64(0)
    if acc > 0:
        return int64(1)
    if acc < 0:
        return int64(-1)
    return int64(0)  # pragma: no cover - cancellation below float64 resolution


@njit(inline="always", **JIT)
def _max_overlap(M):
    top = int64(M[0])
    for k in range(1, M.shape[0]):
        if int64(M[k]) > top:
            top = int64(M[k])
    return top


@njit(**JIT)
def drive_sign(xi, M, s, i, exp_energy, n, gtab, etab, counts):
    """Sign (-1, 0, +1) of ``D_i`` for spin i in the state ``s`` with overlaps ``M``."""
    n_spins = xi.shape[0]
    row = xi[i]
    si = int64(s[i])
    if not exp_energy:
        d = _drive_power(row, M, si, n, gtab, n_spins)
        return int64(1) if d > 0 else (int64(-1) if d < 0 else int64(0))
    top = _max_overlap(M) + 1
    acc = 0.0
    mag = 0.0
    for k in range(row.shape[0]):
        x = int64(row[k])
        a = int64(M[k]) - x * si
        e = etab[top - a]
        acc += float(x) * e
        mag += e
    if abs(acc) <= EXP_TIE_EPS * row.shape[0] * mag:
        return _exp_exact_sign(row, M, si, etab, top, n_spins, counts)
    return int64(1) if acc > 0 else int64(-1)


@njit(**JIT)
def count_unstable(xi, M, s, exp_energy, n, gtab, etab):
    """Number of spins with ``s_i D_i < 0`` (a state is a fixed point iff this is 0)."""
    n_spins = xi.shape[0]
    counts = np.zeros(2 * n_spins + 1, dtype=np.int64)
    bad = 0
    for i in range(n_spins):
        if int64(s[i]) * drive_sign(xi, M, s, i, exp_energy, n, gtab, etab, counts) < 0:
            bad += 1
    return bad


@njit(**JIT)
def sequential(xi, s, M, key, exp_energy, n, gtab, etab, n_sweeps):
    """Zero-T asynchronous dynamics; ``s`` and ``M`` (:func:`overlaps`) are updated in place.

    The loop is that of :func:`statmech.models.hopfield.kernels.sequential` at ``zero_t``: each
    sweep visits every spin once in a fresh Fisher-Yates order from counters ``0, 1, ...`` of
    stream ``key`` (the same shuffle), a spin flips iff ``s_i D_i < 0``, and the run stops after
    the first sweep without a flip (converged) or after ``n_sweeps`` sweeps with flips.

    Returns ``(sweeps, converged, flips)``: sweeps with at least one flip, whether a sweep
    without flips was reached, total flips.
    """
    n_spins = xi.shape[0]
    order = np.arange(n_spins)
    counts = np.zeros(2 * n_spins + 1, dtype=np.int64)
    ctr = uint64(0)
    sweeps = 0
    converged = False
    flips = int64(0)
    for _sweep in range(n_sweeps + 1):
        ctr = _shuffle(order, key, ctr)
        changed = 0
        for t in range(n_spins):
            i = order[t]
            si = int32(s[i])
            if si * drive_sign(xi, M, s, i, exp_energy, n, gtab, etab, counts) < 0:
                s[i] = int8(-si)
                row = xi[i]
                d = int32(-2) * si
                for k in range(row.shape[0]):
                    M[k] = M[k] + d * row[k]
                flips += 1
                changed += 1
        if changed == 0:
            converged = True
            break
        sweeps += 1
        if sweeps == n_sweeps:
            break
    return sweeps, converged, flips
