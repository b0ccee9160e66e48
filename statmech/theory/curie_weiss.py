"""Exact results for the Curie-Weiss model (mean-field Ising), k_B = 1, J = 1 by default.

``H = -(J/N) sum_{i<j} s_i s_j - B sum_i s_i = -(J/2N)(M^2 - N) - B M`` with ``M = sum_i s_i``
(B > 0 favours s = +1). A configuration with ``k`` up spins has ``M = 2k - N``; there are
``C(N, k)`` of them. Per spin: ``e = H/N``, ``m = M/N``.

* :func:`finite_moments` -- every stored equilibrium observable of a finite system, exactly, from
  ``Z = sum_k C(N,k) exp(-beta H(k))`` in O(N) (log-sum-exp in float64), with the stored
  definitions ``C = N(<e^2>-<e>^2)/T^2``, ``chi = N(<m^2>-<|m|>^2)/T``,
  ``U4 = 1 - <m^4>/(3<m^2>^2)``; :func:`m_distribution` the exact P(M);
* N -> infinity: :func:`magnetization` (the stable root of ``m = tanh(beta(J m + B))``; with
  ``J = 2d`` it is the Weiss mean-field theory of the d-dimensional lattice,
  :func:`lattice_mean_field_m`), :func:`metastable_magnetization`, :func:`energy`,
  :func:`specific_heat`, :func:`susceptibility` (thermodynamic) and :func:`chi_estimator_limit`
  (the N -> infinity limit of the *stored* estimator, which subtracts <|m|>^2), the Landau
  forms :func:`landau_m`, :data:`C_JUMP`, and the spinodal :func:`spinodal_field`;
* at T = Tc: the large-N limits :data:`U4_TC`, :data:`M2_TC` (of ``N^{1/2}<m^2>``) and
  :data:`ABS_M_TC` (of ``N^{1/4}<|m|>``) from ``p(m) ~ exp(-N m^4 / 12)``;
* dynamics: :func:`transition_probabilities` of the exact birth-death chain in M that any
  single-spin-flip rule (random spin, then Metropolis or heat-bath acceptance) projects onto,
  and :func:`mean_escape_time`, the exact mean first-passage time from M = N to M <= 0 in sweeps
  (N single-spin attempts).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special
from scipy.special import logsumexp

#: critical temperature of the Curie-Weiss model, T_c = J (here J = 1)
TC = 1.0
#: jump of the specific heat per spin at T_c (N -> infinity, B = 0): C(Tc-) - C(Tc+) = 3/2
C_JUMP = 1.5
_G14, _G34 = math.gamma(0.25), math.gamma(0.75)
#: lim N^{1/2} <m^2> at T = Tc: sqrt(12) Gamma(3/4) / Gamma(1/4) = 1.1708287
M2_TC = math.sqrt(12.0) * _G34 / _G14
#: lim N^{1/4} <|m|> at T = Tc: 12^{1/4} Gamma(1/2) / Gamma(1/4) = 0.9098906 (the issue's
#: 0.90986 is a misprint)
ABS_M_TC = 12.0**0.25 * math.sqrt(math.pi) / _G14
#: lim N <m^4> at T = Tc: 12 Gamma(5/4) / Gamma(1/4) = 3 exactly
M4_TC = 3.0
#: lim U4 at T = Tc: 1 - Gamma(1/4)^2 / (12 Gamma(3/4)^2) = 0.2705201
U4_TC = 1.0 - _G14**2 / (12.0 * _G34**2)


# ------------------------------------------------------------------------------ finite N
def _levels(N: int, T: float, B: float, J: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M, E, normalised Boltzmann weights including the degeneracy) over k = 0..N."""
    k = np.arange(N + 1, dtype=np.float64)
    M = 2.0 * k - N
    E = -(J / (2.0 * N)) * (M * M - N) - B * M
    logw = special.gammaln(N + 1.0) - special.gammaln(k + 1.0) - special.gammaln(N - k + 1.0)
    logw = logw - E / T
    w = np.exp(logw - logsumexp(logw))
    return M, E, w


def m_distribution(N: int, T: float, B: float = 0.0, J: float = 1.0) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Exact equilibrium ``(M, P(M))`` for ``M = -N, -N+2, ..., N``."""
    M, _, w = _levels(N, T, B, J)
    return M.astype(np.int64), w


def finite_moments(N: int, T: float, B: float = 0.0, J: float = 1.0) -> dict[str, float]:
    """Exact thermal averages of N spins at temperature T and field B, in O(N).

    Returns ``e, e2, m, abs_m, m2, m4, C, chi, U4`` with the stored definitions (module
    docstring); ``e`` includes the constant ``J/2`` of ``-(J/2N)(M^2 - N)``.
    """
    M, E, w = _levels(N, T, B, J)
    e = E / N
    m = M / N
    out = {
        "e": float(w @ e), "e2": float(w @ (e * e)), "m": float(w @ m),
        "abs_m": float(w @ np.abs(m)), "m2": float(w @ (m * m)), "m4": float(w @ m**4),
    }
    out["C"] = N * float(w @ (e - out["e"]) ** 2) / T**2  # centred: no cancellation
    out["chi"] = N * (out["m2"] - out["abs_m"] ** 2) / T
    out["U4"] = 1.0 - out["m4"] / (3.0 * out["m2"] ** 2)
    return out


# ------------------------------------------------------------------------------ N -> infinity
def _root(T: float, B: float, J: float, sign: float) -> float:
    """The root of m = tanh((J m + B)/T) of largest |m| with the sign ``sign`` (nan if none).

    ``sign = +1``: the largest root in (0, 1] (B >= 0: the stable branch; B < 0: the metastable
    one, which exists above the spinodal only); 0 when B = 0 and T >= J.
    """
    if sign < 0:
        return -_root(T, -B, J, 1.0)
    f = lambda m: m - math.tanh((J * m + B) / T)  # noqa: E731
    if B == 0:
        if T >= J:
            return 0.0
        return float(optimize.brentq(f, 1e-12, 1.0, xtol=1e-16, rtol=1e-15))
    if B > 0:  # f(0) < 0 < f(1): exactly one root in (0, 1)... the largest is the stable one
        grid = np.linspace(1.0, 0.0, 4001)
    else:
        grid = np.linspace(1.0, 1e-12, 4001)
    vals = grid - np.tanh((J * grid + B) / T)
    for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:], strict=True):
        if fb == 0:
            return float(b)
        if fa * fb < 0:
            return float(optimize.brentq(f, b, a, xtol=1e-16, rtol=1e-15))
    return math.nan


def magnetization(T: float | np.ndarray, B: float = 0.0, J: float = 1.0) -> np.ndarray:
    """Equilibrium magnetisation per spin, N -> infinity: the stable root of m = tanh(beta(Jm+B)).

    The branch along the field (the positive branch at B = 0, so that this is the spontaneous
    magnetisation ``|m|``); T = 0 gives sign(B) (1 at B = 0).
    """
    def one(t: float) -> float:
        if t <= 0:
            return -1.0 if B < 0 else 1.0
        return _root(t, B, J, -1.0 if B < 0 else 1.0)

    return np.vectorize(one, otypes=[float])(np.asarray(T, dtype=float))


def metastable_magnetization(T: float | np.ndarray, B: float, J: float = 1.0) -> np.ndarray:
    """The positive-m branch of m = tanh(beta(Jm+B)) for B < 0.

    Metastable; nan beyond the spinodal, where it no longer exists.
    """
    def one(t: float) -> float:
        return _root(t, B, J, 1.0)

    return np.vectorize(one, otypes=[float])(np.asarray(T, dtype=float))


def lattice_mean_field_m(T: float | np.ndarray, B: float = 0.0, d: int = 2) -> np.ndarray:
    """Weiss mean-field magnetisation of the d-dimensional hypercubic Ising lattice (J = 1).

    Each spin feels the mean field of its z = 2d neighbours, ``m = tanh(beta(2d m + B))``, so
    ``Tc^MF = 2d`` (2 for the chain, which has no transition; 4 for the square lattice, whose
    exact Tc is 2.269).
    """
    return magnetization(T, B, J=2.0 * d)


def energy(T: float | np.ndarray, B: float = 0.0, J: float = 1.0) -> np.ndarray:
    """Energy per spin for N -> infinity: ``e = -J m^2 / 2 - B m`` on the stable branch."""
    m = magnetization(T, B, J)
    return -0.5 * J * m * m - B * m


def _dm_dT(T: np.ndarray, m: np.ndarray, B: float, J: float) -> np.ndarray:
    """dm/dT along m = tanh((Jm + B)/T) (implicit differentiation)."""
    s = 1.0 - m * m
    with np.errstate(divide="ignore", invalid="ignore"):
        return -s * (J * m + B) / T**2 / (1.0 - J * s / T)


def specific_heat(T: float | np.ndarray, B: float = 0.0, J: float = 1.0) -> np.ndarray:
    """Specific heat per spin for N -> infinity, ``de/dT = -(J m + B) dm/dT``.

    At B = 0: 0 above Tc, ``-> 3/2`` (:data:`C_JUMP`) as T -> Tc from below.
    """
    T = np.asarray(T, dtype=float)
    m = magnetization(T, B, J)
    return -(J * m + B) * _dm_dT(T, m, B, J)


def susceptibility(T: float | np.ndarray, B: float = 0.0, J: float = 1.0) -> np.ndarray:
    """Thermodynamic susceptibility per spin dm/dB, N -> infinity.

    ``chi = beta (1 - m^2) / (1 - beta J (1 - m^2))``; ``1/(T - Tc)`` above Tc at B = 0 and
    ``1/(2 (Tc - T))`` just below (Landau).
    """
    T = np.asarray(T, dtype=float)
    m = magnetization(T, B, J)
    s = 1.0 - m * m
    with np.errstate(divide="ignore"):
        return (s / T) / (1.0 - J * s / T)


def chi_estimator_limit(T: float | np.ndarray, B: float = 0.0, J: float = 1.0) -> np.ndarray:
    """N -> infinity limit of the stored ``chi = N(<m^2> - <|m|>^2)/T``.

    Where ``m != 0`` (below Tc, or any B != 0) ``|m| = +-m`` fluctuates like m and this is the
    thermodynamic :func:`susceptibility`. At B = 0 above Tc m is Gaussian with mean 0 and
    ``N <m^2> = T/(T - Tc)``, so ``<|m|>^2 = (2/pi) <m^2>`` and the limit is
    ``(1 - 2/pi) / (T - Tc)``.
    """
    T = np.asarray(T, dtype=float)
    chi = susceptibility(T, B, J)
    if B == 0:
        chi = np.where(T > J, (1.0 - 2.0 / np.pi) * chi, chi)
    return chi


def landau_m(T: float | np.ndarray, Tc: float = TC) -> np.ndarray:
    """Landau expansion of the spontaneous magnetisation: ``sqrt(3 (1 - T/Tc))`` below Tc."""
    T = np.asarray(T, dtype=float)
    return np.sqrt(3.0 * np.clip(1.0 - T / Tc, 0.0, None))


def spinodal_magnetization(T: float | np.ndarray, J: float = 1.0) -> np.ndarray:
    """``m_s = sqrt(1 - T/J)``: where the metastable branch ends (T < J)."""
    T = np.asarray(T, dtype=float)
    return np.sqrt(np.clip(1.0 - T / J, 0.0, None))


def spinodal_field(T: float | np.ndarray, J: float = 1.0) -> np.ndarray:
    """Spinodal field ``B_s = J m_s - T artanh(m_s)``: the m > 0 branch exists for B > -B_s.

    ``B_s(0.5) = 0.2664200``; near Tc ``B_s ~ (2/3) (1 - T/J)^{3/2}`` (Landau). A slow
    hysteresis loop of a large system switches near ``+-B_s``.
    """
    ms = spinodal_magnetization(T, J)
    return J * ms - np.asarray(T, dtype=float) * np.arctanh(ms)


# ------------------------------------------------------------------------------ dynamics
def acceptance(dE: np.ndarray, T: float, rule: str) -> np.ndarray:
    """Single-spin acceptance: Metropolis ``min(1, e^{-dE/T})``, heat bath ``1/(1+e^{dE/T})``."""
    x = np.asarray(dE, dtype=float) / T
    if rule == "metropolis":
        return np.exp(-np.clip(x, 0.0, None))
    if rule == "heatbath":
        return special.expit(-x)
    raise ValueError(f"unknown rule {rule!r}")


def transition_probabilities(N: int, T: float, B: float, rule: str = "heatbath",
                             J: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-attempt probabilities ``(down[k], up[k])`` of the birth-death chain in k = #up spins.

    One attempt picks a spin uniformly: up with probability k/N, and flipping it (M -> M - 2)
    costs ``dE = 2 (J (M - 1)/N + B)``; down with probability (N-k)/N, flipping costs
    ``dE = -2 (J (M + 1)/N + B)``; the flip is accepted by ``rule``. The spins are exchangeable,
    so M alone is an exact Markov chain with these rates.
    """
    k = np.arange(N + 1, dtype=np.float64)
    M = 2.0 * k - N
    down = (k / N) * acceptance(2.0 * (J * (M - 1.0) / N + B), T, rule)
    up = ((N - k) / N) * acceptance(-2.0 * (J * (M + 1.0) / N + B), T, rule)
    return down, up


def mean_escape_time(N: int, T: float, B: float, rule: str = "heatbath",
                     J: float = 1.0) -> float:
    """Exact mean first-passage time, in sweeps, from M = N (all up) to the first M <= 0.

    With ``t_k`` the mean number of attempts to go from k up spins to k - 1,
    ``t_k = (1 + up_k t_{k+1}) / down_k`` (``t_N = 1 / down_N``), and the escape time is
    ``sum_{k = floor(N/2)+1}^{N} t_k`` attempts, divided by N attempts per sweep.
    """
    down, up = transition_probabilities(N, T, B, rule, J)
    target = N // 2  # M <= 0  <=>  k <= N/2
    t_next = 0.0
    total = 0.0
    for k in range(N, target, -1):
        t_k = (1.0 + up[k] * t_next) / down[k]
        total += t_k
        t_next = t_k
    return total / N
