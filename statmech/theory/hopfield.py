"""Replica-symmetric theory and crosstalk estimates of the Hopfield model (Hebbian couplings).

Conventions as in :mod:`statmech.models.hopfield`: k_B = 1, ``J_ij = (1/N) sum_mu xi_i^mu xi_j^mu``,
``J_ii = 0``, ``alpha = p/N``, T the temperature, ``E/N = -(1/2N) sum_{i != j} J_ij s_i s_j``.

Replica-symmetric (RS) retrieval equations of Amit, Gutfreund and Sompolinsky (AGS; Ann. Phys.
173, 30 (1987)) for the overlap m with one condensed pattern, the Edwards-Anderson parameter q and
the noise r from the p - 1 uncondensed patterns (``<<.>> = int Dz``, Dz the unit Gaussian)::

    m = <<tanh(beta (m + sqrt(alpha r) z))>>
    q = <<tanh^2(beta (m + sqrt(alpha r) z))>>
    r = q / (1 - C)^2,   C = beta (1 - q) = beta <<sech^2(beta (m + sqrt(alpha r) z))>>

What is solved here, and how:

* **T = 0** (:func:`ags_m`, :func:`ags_critical`). With ``y = m / sqrt(2 alpha r)`` the equations
  reduce to ``erf(y) = y (sqrt(2 alpha) + (2/sqrt(pi)) exp(-y^2))``, i.e. the closed form
  ``alpha(y) = (erf(y)/y - (2/sqrt(pi)) exp(-y^2))^2 / 2``. Its maximum is the capacity
  ``alpha_c = 0.13791...`` with ``m(alpha_c) = erf(y_c) = 0.96734...``; for alpha < alpha_c the
  retrieval solution is the root with y > y_c. The RS energy of the retrieval state is
  ``E/N = -m^2/2 - alpha r/2 + alpha/2`` (the last term is the J_ii = 0 subtraction).
* **T > 0** (:func:`rs_alpha_of_m`, :func:`alpha_m`, :func:`t_m`). The same trick works at fixed
  T: for given (m, T) the m-equation fixes ``sigma = sqrt(alpha r)`` (its right-hand side falls
  monotonically from tanh(beta m) at sigma = 0 to 0), the sech^2 average gives C, and then
  ``alpha = sigma^2 (1 - C)^2 / (1 - C T)``. The retrieval boundary ``alpha_M(T)`` (the largest
  load at which a retrieval solution m > 0 exists at temperature T, the spinodal where it
  disappears) is the maximum of ``alpha(m; T)`` over m. ``T_M(alpha)`` is its inverse on the
  upper branch: the highest T at which retrieval states exist. In RS the boundary is slightly
  re-entrant near T = 0 (alpha_M(T) first rises above alpha_c to 0.13819 at T = 0.023);
  for alpha in that sliver retrieval exists only in a window of T below T_M.
  These are existence (spinodal) lines: where the retrieval state is the global free-energy
  minimum (AGS's T_c line) is not computed. ``T_g(alpha) = 1 + sqrt(alpha)`` is the RS
  spin-glass transition.
* **Crosstalk** (:func:`p_error_crosstalk`, :func:`p_error_exact`). At a stored pattern,
  ``N xi_i h_i = (N - 1) + X`` with X a sum of ``K = (p - 1)(N - 1)`` independent +-1 terms, so
  a bit is unstable (``xi_i h_i < 0``) with probability ``P(X < -(N - 1))`` exactly (binomial),
  which for large N is the Gaussian estimate ``P_error = (1/2)(1 - erf(sqrt(N / 2p)))``.

* **Mixture states at alpha = 0** (:func:`mixture_overlap`, :func:`mixture_energy`,
  :func:`mixture_state`, :func:`mixture_stability_temperature`). The free energy per spin of a
  finite number of condensed patterns is ``f(m) = |m|^2/2 - T <ln 2 cosh(beta xi.m)>_xi``
  (average over the 2^k sign patterns of xi); the symmetric k-mixture ``m = m_k (1, ..., 1)``
  solves ``m_k = <xi^1 tanh(beta m_k z)>``, ``z = xi^1 + ... + xi^k``. Its Hessian has the
  eigenvalues ``a + (k - 1) b`` (symmetric), ``a - b`` (k - 1 fold, towards unequal
  overlaps) and ``a`` (every uncondensed pattern), with ``a = 1 - beta <sech^2(beta m_k z)>``
  and ``b = -beta <xi^1 xi^2 sech^2(beta m_k z)>``. At T = 0, ``m_k = 2^(1-k) C(k-1, (k-1)/2)``
  (1, 1/2, 3/8, 5/16 for k = 1, 3, 5, 7) and ``E/N = -(k/2) m_k^2`` (-1/2, -3/8, -45/128,
  -175/512). A symmetric odd mixture is a local minimum below ``T_k``: 0.4598 (k = 3), 0.3847
  (5), 0.3439 (7); the pure state (k = 1) below T = 1.
  For finite N, the configuration ``s = sign(sum_{nu<=k} xi^nu)`` of p independent random
  patterns has exactly ``E[E/N] = -(k/2) m_k^2 (1 - 1/N)``, for any p >= k (see
  docs/hopfield.md).

Gaussian averages use composite Gauss-Legendre quadrature on z in [-10, 10] with panels refined
around the kink of tanh at ``z0 = -m/sigma`` (width ``T/sigma``), accurate to ~1e-12 down to
T = 1e-3. Units: m, q, r, alpha, T and E/N are dimensionless (coupling scale 1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

SQRT_PI = math.sqrt(math.pi)


# ----------------------------------------------------------------------------- T = 0
def ags_alpha_of_y(y: float | np.ndarray) -> np.ndarray:
    """The load at which ``y = m / sqrt(2 alpha r)`` solves the T = 0 RS equations."""
    y = np.asarray(y, dtype=float)
    return 0.5 * (special.erf(y) / y - 2.0 / SQRT_PI * np.exp(-y * y)) ** 2


@dataclass(frozen=True)
class Critical:
    """The RS T = 0 capacity: ``alpha_c``, ``m_c = m(alpha_c)`` and ``y_c``."""

    alpha_c: float
    m_c: float
    y_c: float


@lru_cache(maxsize=1)
def ags_critical() -> Critical:
    """``alpha_c = max_y alpha(y)`` (AGS: 0.138) and ``m(alpha_c) = erf(y_c)`` (0.967)."""
    res = optimize.minimize_scalar(lambda y: -float(ags_alpha_of_y(y)), bounds=(0.5, 3.0),
                                   method="bounded", options={"xatol": 1e-13})
    y = float(res.x)
    return Critical(float(ags_alpha_of_y(y)), float(special.erf(y)), y)


def _ags_y(alpha: float) -> float:
    c = ags_critical()
    if not 0 < alpha <= c.alpha_c:
        return math.nan
    if alpha == c.alpha_c:
        return c.y_c
    hi = c.y_c
    while float(ags_alpha_of_y(hi)) > alpha:
        hi *= 2.0
    return float(optimize.brentq(lambda y: float(ags_alpha_of_y(y)) - alpha, c.y_c, hi,
                                 xtol=1e-14))


def ags_m(alpha: float | np.ndarray) -> np.ndarray:
    """RS T = 0 retrieval overlap ``m(alpha) = erf(y)`` (NaN above alpha_c; 1 at alpha = 0)."""
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    out = np.array([1.0 if x == 0 else special.erf(_ags_y(float(x))) for x in a])
    return out.reshape(np.shape(alpha))


def ags_r(alpha: float | np.ndarray) -> np.ndarray:
    """RS T = 0 noise parameter ``r = m^2 / (2 alpha y^2) = 1 / (1 - C)^2`` (NaN above alpha_c)."""
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    out = []
    for x in a:
        y = _ags_y(float(x)) if x > 0 else math.inf
        if x == 0:
            out.append(1.0)
        else:
            out.append(special.erf(y) ** 2 / (2.0 * x * y * y))
    return np.asarray(out).reshape(np.shape(alpha))


def ags_energy(alpha: float | np.ndarray) -> np.ndarray:
    """RS T = 0 energy per spin of the retrieval state, ``-m^2/2 - alpha r/2 + alpha/2``."""
    a = np.asarray(alpha, dtype=float)
    return -0.5 * ags_m(a) ** 2 - 0.5 * a * ags_r(a) + 0.5 * a


def error_fraction(m: float | np.ndarray) -> np.ndarray:
    """Fraction of wrong bits ``(1 - m) / 2`` of a state with overlap m."""
    return (1.0 - np.asarray(m, dtype=float)) / 2.0


# ----------------------------------------------------------------------------- T > 0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)
_Z_MAX = 10.0


def _nodes(z0: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights for ``int_{-10}^{10} dz f(z)`` with f sharp around z0."""
    steps = width * np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    cuts = np.concatenate([[-_Z_MAX, _Z_MAX], z0 - steps, z0 + steps[1:],
                           np.linspace(-_Z_MAX, _Z_MAX, 11)])
    cuts = np.unique(np.clip(cuts, -_Z_MAX, _Z_MAX))
    a, b = cuts[:-1], cuts[1:]
    half = 0.5 * (b - a)
    z = (0.5 * (a + b))[:, None] + half[:, None] * _GL_X[None, :]
    w = half[:, None] * _GL_W[None, :]
    return z.ravel(), w.ravel()


def gauss_averages(m: float, sigma: float, T: float) -> tuple[float, float]:
    """``(<<tanh(beta u)>>, beta <<sech^2(beta u)>>)`` with ``u = m + sigma z``, z ~ N(0, 1).

    At T = 0 these are ``erf(m / (sigma sqrt 2))`` and ``sqrt(2/pi) exp(-m^2/2 sigma^2)/sigma``.
    """
    if sigma <= 0:
        if T == 0:
            return math.copysign(1.0, m) if m else 0.0, math.inf if m == 0 else 0.0
        x = m / T
        return math.tanh(x), 1.0 / (T * math.cosh(x) ** 2) if abs(x) < 350 else 0.0
    if T == 0:
        x = m / sigma
        return (float(special.erf(x / math.sqrt(2.0))),
                math.sqrt(2.0 / math.pi) * math.exp(-0.5 * x * x) / sigma)
    z, w = _nodes(-m / sigma, T / sigma)
    w = w * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    xs = (m + sigma * z) / T
    th = np.tanh(xs)
    sech2 = 1.0 / np.cosh(np.minimum(np.abs(xs), 350.0)) ** 2
    return float(w @ th), float(w @ sech2) / T


@dataclass(frozen=True)
class RSSolution:
    """An RS retrieval solution: load, temperature and the order parameters m, q, r, C."""

    alpha: float
    T: float
    m: float
    q: float
    r: float
    C: float


def curie_weiss_m(T: float) -> float:
    """The alpha = 0 retrieval overlap ``m = tanh(m/T)`` (1 at T = 0, 0 for T >= 1)."""
    if T == 0:
        return 1.0
    if T >= 1:
        return 0.0
    return float(optimize.brentq(lambda m: math.tanh(m / T) - m, 1e-12, 1.0, xtol=1e-15))


def rs_alpha_of_m(m: float, T: float) -> RSSolution | None:
    """The RS solution with overlap m at temperature T, or None if there is none.

    The m-equation is solved for ``sigma = sqrt(alpha r)``; C follows from the sech^2 average,
    ``q = 1 - C T``, ``r = q / (1 - C)^2`` and ``alpha = sigma^2 / r``. None when m is not below
    the alpha = 0 value :func:`curie_weiss_m` or when C >= 1 (no admissible solution).
    """
    if not 0 < m < curie_weiss_m(T):
        return None

    def f(sig: float) -> float:
        return gauss_averages(m, sig, T)[0] - m

    hi = 1.0
    while f(hi) > 0:
        hi *= 2.0
        if hi > 1e6:
            return None
    sigma = float(optimize.brentq(f, 1e-14, hi, xtol=1e-14, rtol=1e-13))
    C = gauss_averages(m, sigma, T)[1]
    if C >= 1.0:
        return None
    q = 1.0 - C * T
    r = q / (1.0 - C) ** 2
    return RSSolution(alpha=sigma**2 / r, T=T, m=m, q=q, r=r, C=C)


def _alpha_curve(T: float, n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    mmax = curie_weiss_m(T)
    ms = mmax * (1.0 - np.linspace(0.0, 1.0, n + 2)[1:-1] ** 2)  # dense near m_max
    al = np.array([(s.alpha if (s := rs_alpha_of_m(float(x), T)) else np.nan) for x in ms])
    return ms, al


@lru_cache(maxsize=256)
def alpha_m_solution(T: float) -> RSSolution | None:
    """The RS retrieval spinodal at temperature T: the solution of largest alpha (None for T >= 1).

    At T = 0 this is (alpha_c, m_c) of :func:`ags_critical`.
    """
    if T >= 1.0:
        return None
    if T == 0:
        c = ags_critical()
        r = 1.0 / (1.0 - math.sqrt(2.0 / math.pi) * math.exp(-c.y_c**2)
                   / (c.m_c / (c.y_c * math.sqrt(2.0)))) ** 2
        return RSSolution(c.alpha_c, 0.0, c.m_c, 1.0, r, 1.0 - 1.0 / math.sqrt(r))
    ms, al = _alpha_curve(T)
    if not np.isfinite(al).any():
        return None
    k = int(np.nanargmax(al))
    lo = ms[min(k + 1, len(ms) - 1)]
    hi = ms[max(k - 1, 0)]

    def neg(x: float) -> float:
        s = rs_alpha_of_m(x, T)
        return -s.alpha if s else 0.0

    res = optimize.minimize_scalar(neg, bounds=(float(lo), float(hi)), method="bounded",
                                   options={"xatol": 1e-9})
    return rs_alpha_of_m(float(res.x), T)


def alpha_m(T: float | np.ndarray) -> np.ndarray:
    """RS retrieval boundary ``alpha_M(T)``: the largest load with a retrieval state at T.

    0 for T >= 1.
    """
    Ts = np.atleast_1d(np.asarray(T, dtype=float))
    out = [(s.alpha if (s := alpha_m_solution(float(t))) else 0.0) for t in Ts]
    return np.asarray(out).reshape(np.shape(T))


def t_m(alpha: float | np.ndarray) -> np.ndarray:
    """RS ``T_M(alpha)``: the highest temperature at which retrieval states exist.

    The upper branch of the inverse of :func:`alpha_m` (which peaks at ``T* = 0.023``): 1 at
    alpha = 0, 0 at alpha_c, NaN above the re-entrant maximum of alpha_M.
    """
    T_star, a_star = _reentrance()
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    out = []
    for x in a:
        if x <= 0:
            out.append(1.0)
        elif x > a_star:
            out.append(math.nan)
        else:
            out.append(float(optimize.brentq(lambda t, x=x: float(alpha_m(t)) - x, T_star,
                                             1.0 - 1e-12, xtol=1e-8)))
    return np.asarray(out).reshape(np.shape(alpha))


@lru_cache(maxsize=1)
def _reentrance() -> tuple[float, float]:
    """``(T*, alpha_M(T*))``: the maximum of the RS retrieval boundary over T."""
    res = optimize.minimize_scalar(lambda t: -float(alpha_m(t)), bounds=(1e-3, 0.3),
                                   method="bounded", options={"xatol": 1e-6})
    return float(res.x), float(alpha_m(float(res.x)))


def rs_retrieval(alpha: float, T: float) -> RSSolution | None:
    """The stable RS retrieval solution (largest m) at (alpha, T), or None if there is none."""
    if T == 0:
        m = float(ags_m(alpha))
        if not math.isfinite(m):
            return None
        r = float(ags_r(alpha))
        return RSSolution(alpha, 0.0, m, 1.0, r, 1.0 - 1.0 / math.sqrt(r))
    edge = alpha_m_solution(T)
    if edge is None or alpha > edge.alpha:
        return None
    m_hi = curie_weiss_m(T) * (1 - 1e-12)

    def g(m: float) -> float:
        s = rs_alpha_of_m(m, T)
        return (s.alpha if s else 0.0) - alpha

    if alpha == edge.alpha:
        return edge
    m = float(optimize.brentq(g, edge.m, m_hi, xtol=1e-13))
    return rs_alpha_of_m(m, T)


def t_g(alpha: float | np.ndarray) -> np.ndarray:
    """RS spin-glass transition temperature ``T_g = 1 + sqrt(alpha)``."""
    return 1.0 + np.sqrt(np.asarray(alpha, dtype=float))


# ----------------------------------------------------------------------------- crosstalk
def p_error_crosstalk(N: float | np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """One-step crosstalk error ``(1/2)(1 - erf(sqrt(N / 2p)))`` (Gaussian, large N)."""
    N = np.asarray(N, dtype=float)
    p = np.asarray(p, dtype=float)
    return 0.5 * special.erfc(np.sqrt(N / (2.0 * p)))


def p_error_exact(N: int, p: int) -> float:
    """Exact probability that a bit of a stored pattern is unstable (``xi_i h_i < 0``).

    ``N xi_i h_i = (N - 1) + X``, ``X = 2B - K``, ``B ~ Binomial(K, 1/2)``, ``K = (p-1)(N-1)``;
    a tie (``h_i = 0``) keeps the bit, so the error is ``P(B < (K - N + 1) / 2)``.
    """
    K = (p - 1) * (N - 1)
    if K == 0:
        return 0.0
    b_max = math.ceil((K - N + 1) / 2) - 1  # largest B with 2B - K < -(N - 1)
    return float(stats.binom.cdf(b_max, K, 0.5)) if b_max >= 0 else 0.0


# ----------------------------------------------------------------------------- mixtures
def mixture_overlap(k: int) -> float:
    """T = 0, alpha = 0 overlap of the symmetric k-mixture (k odd): ``2^(1-k) C(k-1, (k-1)/2)``.

    ``m_k = <xi^1 sign(z)>`` with ``z = xi^1 + ... + xi^k``: the sign agrees with xi^1 unless the
    other k - 1 bits outvote it, and ``<xi^1 sign(z)> = P(the other k-1 bits tie)``.
    """
    if k < 1 or k % 2 == 0:
        raise ValueError(f"symmetric mixtures have an odd number of patterns (got k = {k})")
    return math.comb(k - 1, (k - 1) // 2) / 2.0 ** (k - 1)


def mixture_energy(k: int, N: int | None = None) -> float:
    """Energy per spin of the symmetric k-mixture configuration ``sign(xi^1 + ... + xi^k)``.

    ``N = None``: the T = 0, alpha = 0, N -> infinity value ``-(k/2) m_k^2``. Finite N: the exact
    average over random patterns, ``-(k/2) m_k^2 (1 - 1/N)`` (independent of p >= k; k = 1 is a
    stored pattern, ``-(1/2)(1 - 1/N)``).
    """
    m = mixture_overlap(k)
    return -0.5 * k * m * m * (1.0 if N is None else 1.0 - 1.0 / N)


def _z_weights(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``z = xi^1 + ... + xi^k`` over the 2^k sign patterns: values, ``xi^1``, ``xi^1 xi^2``."""
    xs = np.array(list(itertools.product((-1.0, 1.0), repeat=k)))
    return xs.sum(axis=1), xs[:, 0], xs[:, 0] * xs[:, 1] if k > 1 else np.zeros(len(xs))


@dataclass(frozen=True)
class MixtureState:
    """The symmetric k-mixture at alpha = 0 and temperature T.

    ``m``: overlap with each of the k patterns; ``f``: free energy per spin; ``e``: energy per
    spin ``-k m^2 / 2``; Hessian eigenvalues ``lam_sym`` (equal overlaps), ``lam_asym`` (towards
    unequal ones; absent, NaN, for k = 1) and ``lam_out`` (uncondensed patterns). A local
    minimum iff all are positive.
    """

    k: int
    T: float
    m: float
    f: float
    e: float
    lam_sym: float
    lam_asym: float
    lam_out: float

    @property
    def stable(self) -> bool:
        """All Hessian eigenvalues positive (NaN ones ignored)."""
        lams = [x for x in (self.lam_sym, self.lam_asym, self.lam_out) if not math.isnan(x)]
        return min(lams) > 0


def mixture_state(k: int, T: float) -> MixtureState:
    """The symmetric k-mixture (k odd) at alpha = 0, temperature ``0 < T < 1``.

    Solves ``m = <xi^1 tanh(m z / T)>`` by bisection (the nonzero root; it exists for T < 1)
    and evaluates the Hessian of ``f`` there (see the module docstring).
    """
    mixture_overlap(k)  # checks k
    if not 0 < T < 1:
        raise ValueError(f"mixture states exist for 0 < T < 1 (got T = {T})")
    z, x1, x12 = _z_weights(k)
    beta = 1.0 / T

    def g(m: float) -> float:
        return m - float(np.mean(x1 * np.tanh(beta * m * z)))

    m = float(optimize.brentq(g, 1e-12, 1.0, xtol=1e-15, rtol=1e-15))
    sech2 = 1.0 / np.cosh(beta * m * z) ** 2
    a = 1.0 - beta * float(np.mean(sech2))
    b = -beta * float(np.mean(x12 * sech2)) if k > 1 else math.nan
    f = 0.5 * k * m * m - T * float(np.mean(np.logaddexp(beta * m * z, -beta * m * z)))
    return MixtureState(k=k, T=T, m=m, f=f, e=-0.5 * k * m * m,
                        lam_sym=a + (k - 1) * b if k > 1 else a,
                        lam_asym=a - b if k > 1 else math.nan, lam_out=a)


@lru_cache(maxsize=16)
def mixture_stability_temperature(k: int) -> float:
    """The temperature below which the symmetric k-mixture is a local free-energy minimum.

    The largest T at which the smallest Hessian eigenvalue of :func:`mixture_state` vanishes
    (bisection after a scan of T in (0, 1)); 1 for the pure state k = 1.
    """
    if k == 1:
        return 1.0

    def lam(T: float) -> float:
        s = mixture_state(k, T)
        return min(s.lam_sym, s.lam_asym, s.lam_out)

    Ts = np.linspace(0.999, 0.02, 200)
    vals = [lam(float(T)) for T in Ts]
    for i in range(len(Ts) - 1):
        if vals[i] <= 0 < vals[i + 1]:
            return float(optimize.brentq(lam, Ts[i + 1], Ts[i], xtol=1e-13))
    raise ValueError(f"no stability temperature found for k = {k}")
