"""Exact results for the Ising model (J = 1, k_B = 1, H = -sum_<ij> s_i s_j - B sum_i s_i).

* :func:`dos_2d` / :func:`dos_chain` -- exact joint density of states g(bond sum, M) by
  enumeration (square lattice, L <= 5) or combinatorics (periodic chain, any N);
* :func:`moments` -- every stored observable of a finite system from a density of states;
* :func:`kaufman_lnZ`, :func:`kaufman_energy_heat` -- Kaufman's exact partition function of the
  finite periodic L x L lattice at B = 0 (energy and specific heat at any L);
* :func:`onsager_*` -- the infinite square lattice: Tc, spontaneous magnetisation, energy and
  specific heat per spin;
* :func:`chain_energy`, :func:`chain_magnetization` -- the infinite chain in a field.

Intensive quantities are per spin. The derived quantities follow the stored definitions:
``C = N (<e^2> - <e>^2) / T^2``, ``chi = N (<m^2> - <|m|>^2) / T``,
``U4 = 1 - <m^4> / (3 <m^2>^2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np
from scipy import special
from scipy.special import logsumexp

TC_2D = 2.0 / math.log(1.0 + math.sqrt(2.0))
"""Onsager's critical temperature of the square lattice, 2 / ln(1 + sqrt 2) = 2.2691853..."""

NU_2D = 1.0
"""Correlation-length exponent of the 2D Ising class (Onsager)."""

GAMMA_OVER_NU_2D = 7.0 / 4.0
"""gamma / nu = 7/4 of the 2D Ising class (gamma = 7/4, nu = 1): chi_max ~ L^(7/4)."""

C_PEAK_LOG_SLOPE_2D = float(2 / np.pi * np.log(1 + np.sqrt(2)) ** 2)
"""Slope b of the specific-heat maximum C_max(L) = a + b ln L of the periodic L x L lattice,
b = (2/pi) ln^2(1 + sqrt 2) = (8/pi) K_c^2 = 0.494538... (Ferdinand and Fisher 1969; alpha = 0)."""


@dataclass(frozen=True)
class DensityOfStates:
    """``count[i]`` configurations with bond sum ``bonds[i]`` and magnetisation ``mags[i]``.

    Counts are stored as natural logarithms (``log_count``) so that large systems do not
    overflow. ``n`` is the number of spins.
    """

    n: int
    bonds: np.ndarray
    mags: np.ndarray
    log_count: np.ndarray


@lru_cache(maxsize=8)
def dos_2d(L: int) -> DensityOfStates:
    """Exact g(bond sum, M) of the periodic L x L lattice by enumerating all 2**(L*L) states.

    Bonds are the right and down neighbours with wrap-around (for L = 2 each pair of
    neighbours is joined by two bonds, as in the simulation). Feasible up to L = 5.
    """
    n = L * L
    if n > 25:
        raise ValueError("exact enumeration is limited to L <= 5")
    codes = np.arange(2**n, dtype=np.int64)
    spins = ((codes[:, None] >> np.arange(n)) & 1).astype(np.int8) * 2 - 1
    grid = spins.reshape(-1, L, L).astype(np.int32)
    bonds = (grid * np.roll(grid, -1, axis=1)).sum(axis=(1, 2)) + (
        grid * np.roll(grid, -1, axis=2)
    ).sum(axis=(1, 2))
    mags = grid.sum(axis=(1, 2))
    return _histogram(n, bonds, mags)


@lru_cache(maxsize=64)
def dos_chain(N: int) -> DensityOfStates:
    """Exact g(bond sum, M) of the periodic chain of N spins, by counting domain walls.

    A configuration with ``n_up`` up spins and ``2w`` domain walls (``w >= 1`` up-runs) has bond
    sum ``N - 4w``; on a ring of N labelled sites there are
    ``(N / w) C(n_up - 1, w - 1) C(N - n_up - 1, w - 1)`` of them, and the two uniform states
    have no walls.
    """
    bonds, mags, logc = [N, N], [N, -N], [0.0, 0.0]
    for n_up in range(1, N):
        n_dn = N - n_up
        for w in range(1, min(n_up, n_dn) + 1):
            lc = (
                math.log(N / w)
                + _log_binom(n_up - 1, w - 1)
                + _log_binom(n_dn - 1, w - 1)
            )
            bonds.append(N - 4 * w)
            mags.append(2 * n_up - N)
            logc.append(lc)
    return DensityOfStates(N, np.array(bonds), np.array(mags), np.array(logc))


def _log_binom(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _histogram(n: int, bonds: np.ndarray, mags: np.ndarray) -> DensityOfStates:
    keys, counts = np.unique(np.stack([bonds, mags]), axis=1, return_counts=True)
    return DensityOfStates(n, keys[0], keys[1], np.log(counts.astype(np.float64)))


def moments(dos: DensityOfStates, T: float, B: float = 0.0) -> dict[str, float]:
    """Exact thermal averages of a finite system at temperature ``T`` and field ``B``.

    Returns ``e, e2, m, abs_m, m2, m4, C, chi, U4`` with the module's definitions.
    """
    E = -dos.bonds - B * dos.mags
    logw = dos.log_count - E / T
    w = np.exp(logw - logsumexp(logw))
    n = dos.n
    e = E / n
    m = dos.mags / n
    out = {
        "e": float(w @ e),
        "e2": float(w @ e**2),
        "m": float(w @ m),
        "abs_m": float(w @ np.abs(m)),
        "m2": float(w @ m**2),
        "m4": float(w @ m**4),
    }
    out["C"] = n * (out["e2"] - out["e"] ** 2) / T**2
    out["chi"] = n * (out["m2"] - out["abs_m"] ** 2) / T
    out["U4"] = 1.0 - out["m4"] / (3.0 * out["m2"] ** 2)
    return out


# ----------------------------------------------------------------------------- square lattice
def onsager_magnetization(T: float | np.ndarray) -> np.ndarray:
    """Spontaneous magnetisation per spin, ``(1 - sinh(2/T)**-4)**(1/8)`` below Tc, else 0."""
    T = np.asarray(T, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = 1.0 - np.sinh(2.0 / T) ** -4
        return np.where(T < TC_2D, np.clip(x, 0.0, None) ** 0.125, 0.0)


def onsager_energy(T: float | np.ndarray) -> np.ndarray:
    """Energy per spin of the infinite square lattice at B = 0 (Onsager).

    ``u = -coth(2K) [1 + (2/pi) (2 tanh^2(2K) - 1) K1(k)]`` with ``K = 1/T``,
    ``k = 2 sinh(2K) / cosh^2(2K)`` and K1 the complete elliptic integral of the first kind
    (at Tc the product is 0 x infinity and ``u = -sqrt 2``).
    """
    K = 1.0 / np.asarray(T, dtype=float)
    k = 2.0 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    factor = 2.0 * np.tanh(2 * K) ** 2 - 1.0
    with np.errstate(invalid="ignore"):
        term = np.where(np.abs(factor) < 1e-12, 0.0, factor * special.ellipk(np.minimum(k**2, 1.0)))
    return -1.0 / np.tanh(2 * K) * (1.0 + 2.0 / np.pi * term)


def _onsager_energy_mp(K: mpmath.mpf) -> mpmath.mpf:
    k = 2 * mpmath.sinh(2 * K) / mpmath.cosh(2 * K) ** 2
    t = mpmath.tanh(2 * K)
    return -(1 + 2 / mpmath.pi * (2 * t**2 - 1) * mpmath.ellipk(k**2)) / t


def onsager_specific_heat(T: float | np.ndarray) -> np.ndarray:
    """Specific heat per spin of the infinite square lattice at B = 0 (infinite at Tc).

    ``C = -K^2 du/dK`` with Onsager's energy differentiated in 30-digit arithmetic.
    """
    def one(t: float) -> float:
        if t == TC_2D:
            return math.inf
        with mpmath.workdps(30):
            K = 1 / mpmath.mpf(t)
            return float(-(K**2) * mpmath.diff(_onsager_energy_mp, K))

    return np.vectorize(one, otypes=[float])(np.asarray(T, dtype=float))


def kaufman_lnZ(L: int, beta: mpmath.mpf) -> mpmath.mpf:
    """ln Z of the periodic L x L lattice at B = 0, exactly (Kaufman 1949), in mpmath precision.

    ``Z = 1/2 (2 sinh 2K)^(N/2) [prod 2cosh(L g_{2r+1}/2) + prod 2sinh(L g_{2r+1}/2)
    + prod 2cosh(L g_{2r}/2) + prod 2sinh(L g_{2r}/2)]`` with
    ``cosh g_l = cosh 2K coth 2K - cos(pi l / L)`` and ``g_0 = 2K + ln tanh K`` (signed).
    """
    K = mpmath.mpf(beta)
    c = mpmath.cosh(2 * K) / mpmath.tanh(2 * K)

    def gamma(l: int) -> mpmath.mpf:
        if l == 0:
            return 2 * K + mpmath.log(mpmath.tanh(K))
        return mpmath.acosh(c - mpmath.cos(mpmath.pi * l / L))

    g_odd = [gamma(2 * r + 1) for r in range(L)]
    g_even = [gamma(2 * r) for r in range(L)]
    z1 = mpmath.fprod(2 * mpmath.cosh(L * g / 2) for g in g_odd)
    z2 = mpmath.fprod(2 * mpmath.sinh(L * g / 2) for g in g_odd)
    z3 = mpmath.fprod(2 * mpmath.cosh(L * g / 2) for g in g_even)
    z4 = mpmath.fprod(2 * mpmath.sinh(L * g / 2) for g in g_even)
    n = L * L
    return (
        -mpmath.log(2)
        + mpmath.mpf(n) / 2 * mpmath.log(2 * mpmath.sinh(2 * K))
        + mpmath.log(z1 + z2 + z3 + z4)
    )


def kaufman_energy_heat(L: int, T: float) -> tuple[float, float]:
    """Exact ``(e, C)`` per spin of the finite periodic L x L lattice at B = 0.

    ``e = -d lnZ/d beta / N`` and ``C = beta^2 d^2 lnZ/d beta^2 / N``, differentiated in
    40-digit arithmetic.
    """
    with mpmath.workdps(40):
        beta = mpmath.mpf(1) / mpmath.mpf(T)
        d1 = mpmath.diff(lambda b: kaufman_lnZ(L, b), beta, 1)
        d2 = mpmath.diff(lambda b: kaufman_lnZ(L, b), beta, 2)
        n = L * L
        return float(-d1 / n), float(beta**2 * d2 / n)


# ----------------------------------------------------------------------------- chain
def chain_energy(T: float | np.ndarray, B: float = 0.0) -> np.ndarray:
    """Energy per spin of the infinite chain, ``-d ln(lambda_+)/d beta``."""
    T = np.asarray(T, dtype=float)
    beta = 1.0 / T
    h = 1e-6
    return -(_ln_lambda(beta + h, B) - _ln_lambda(beta - h, B)) / (2 * h)


def chain_magnetization(T: float | np.ndarray, B: float = 0.0) -> np.ndarray:
    """Magnetisation per spin of the infinite chain, ``sinh(bB) / sqrt(sinh^2(bB) + e^(-4b))``."""
    beta = 1.0 / np.asarray(T, dtype=float)
    sh = np.sinh(beta * B)
    return sh / np.sqrt(sh**2 + np.exp(-4 * beta))


def _ln_lambda(beta: np.ndarray | float, B: float) -> np.ndarray:
    """ln of the largest transfer-matrix eigenvalue of the chain."""
    beta = np.asarray(beta, dtype=float)
    return beta + np.log(np.cosh(beta * B) + np.sqrt(np.sinh(beta * B) ** 2 + np.exp(-4 * beta)))
