"""Exact and asymptotic results for the Sherrington-Kirkpatrick model.

Conventions: J = 1, k_B = 1, ``H = -sum_{i<j} J_ij s_i s_j - B sum_i s_i`` with
``J_ij ~ N(0, 1/N)``; energies per spin; natural logs.

Constants (with references):

* :data:`TC` -- the critical temperature at B = 0, ``T_c = 1`` (Sherrington & Kirkpatrick,
  Phys. Rev. Lett. 35, 1792 (1975)).
* :data:`PARISI_E0` -- the ground-state energy per spin for N -> infinity from Parisi's
  full replica-symmetry-breaking solution, ``e_inf = -0.7633`` (Parisi, J. Phys. A 13, L115
  (1980)); :data:`PARISI_E0_PRECISE` = -0.7631667 is the high-precision evaluation of the
  same solution (Crisanti & Rizzo, Phys. Rev. E 65, 046137 (2002)).
* :data:`FINITE_SIZE_EXPONENT` -- the leading finite-size correction of the ground-state
  energy, ``e0(N) = e_inf + A N^(-2/3)`` (Boettcher, Eur. Phys. J. B 46, 501 (2005);
  Palassini, J. Stat. Mech. P10005 (2008)).
* :func:`brute_force` and :func:`exact_thermal` -- plain-numpy sums over all 2^N states of one
  sample (the references the kernels are tested against).
* :data:`ANNEALED_COMPLEXITY` -- ``lim ln<N_s>/N = 0.1992`` for the mean number of
  single-spin-flip stable configurations at B = 0 (Tanaka & Edwards, J. Phys. F 10, 2769
  (1980); Bray & Moore, J. Phys. C 13, L469 (1980)); :func:`annealed_complexity` evaluates
  the saddle point ``max_z [ln 2 - z^2/2 + ln Phi(z)] = 0.199228...``. By Jensen's inequality
  it bounds the quenched complexity ``lim [ln N_s]/N`` from above.

Exact finite-N result: :func:`mean_stable_states` gives the disorder average ``<N_s>`` at any
N >= 3 and B for Gaussian couplings (no large-N approximation): for a fixed configuration the
gauge-transformed fields ``g_i = s_i sum_j J_ij s_j`` are Gaussian with variance (N-1)/N and
covariance 1/N, i.e. ``g_i = sqrt((N-2)/N) xi_i + t / sqrt(N)`` with independent standard
normals, so that

    <N_s> = int dt phi(t) [Phi((t + B sqrt N) / sqrt(N-2)) + Phi((t - B sqrt N) / sqrt(N-2))]^N.

Finite-temperature relations used as checks: for Gaussian couplings, integration by parts
gives the exact equilibrium identity ``[<e>] = -(beta/2) (1 - [<q^2>]) - B [<m>]`` at every N,
T and B (q from two independent replicas; Katzgraber, Palassini & Young, Phys. Rev. B 63,
184422 (2001)); in the paramagnet (B = 0, T > 1) ``N [<q^2>] -> 1 / (1 - beta^2)``;
:func:`rs_solution` is the replica-symmetric solution (exact above the de Almeida-Thouless
line, an approximation below it).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special

TC = 1.0
PARISI_E0 = -0.7633
PARISI_E0_PRECISE = -0.7631667
FINITE_SIZE_EXPONENT = 2.0 / 3.0
ANNEALED_COMPLEXITY = 0.1992


def _log_ndtr(x: np.ndarray | float) -> np.ndarray:
    return special.log_ndtr(x)


def annealed_complexity() -> tuple[float, float]:
    """``(alpha, z*)``: ``alpha = max_z [ln 2 - z^2/2 + ln Phi(z)]`` = 0.199228... (B = 0)."""
    res = optimize.minimize_scalar(lambda z: -(math.log(2) - z * z / 2 + float(_log_ndtr(z))),
                                   bounds=(-5.0, 5.0), method="bounded",
                                   options={"xatol": 1e-12})
    return float(-res.fun), float(res.x)


def log_mean_stable_states(N: int, B: float = 0.0) -> float:
    """``ln <N_s>`` exactly for N spins (Gaussian couplings, field B); see the module docstring.

    ``N_s`` counts every configuration of the 2^N (s and -s apart) with ``s_i h_i > 0`` for all
    i. Computed in log space by adaptive quadrature around the maximum of the integrand.
    """
    if N < 3:
        raise ValueError("the formula needs N >= 3")
    c = 1.0 / math.sqrt(N - 2)
    shift = B * math.sqrt(N)

    def log_f(t: float) -> float:
        a = float(_log_ndtr((t + shift) * c))
        b = float(_log_ndtr((t - shift) * c))
        return -0.5 * t * t - 0.5 * math.log(2 * math.pi) + N * float(np.logaddexp(a, b))

    span = 10.0 + math.sqrt(N) * (2.0 + abs(B))
    res = optimize.minimize_scalar(lambda t: -log_f(t), bounds=(-span, span), method="bounded",
                                   options={"xatol": 1e-10})
    t0, f0 = float(res.x), -float(res.fun)
    lo, hi = t0 - 40.0, t0 + 40.0
    val, _ = integrate.quad(lambda t: math.exp(log_f(t) - f0), lo, hi, points=[t0],
                            epsabs=0.0, epsrel=1e-12, limit=400)
    return f0 + math.log(val)


def mean_stable_states(N: int, B: float = 0.0) -> float:
    """``<N_s>`` for N spins (may overflow to inf for N > ~3500; use the log form)."""
    return math.exp(log_mean_stable_states(N, B))


def paramagnet_sg_susceptibility(T: float | np.ndarray) -> np.ndarray:
    """``lim N [<q^2>] = 1 / (1 - 1/T^2)`` for T > 1 at B = 0 (NaN for T <= 1)."""
    T = np.asarray(T, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(T > TC, 1.0 / (1.0 - 1.0 / T**2), np.nan)


def energy_from_overlap(T: float | np.ndarray, q2: float | np.ndarray, m: float | np.ndarray = 0.0,
                        B: float = 0.0) -> np.ndarray:
    """The exact equilibrium identity ``[<e>] = -(1/2T) (1 - [<q^2>]) - B [<m>]`` (any N)."""
    return -(1.0 - np.asarray(q2)) / (2.0 * np.asarray(T)) - B * np.asarray(m)


def rs_solution(T: float, B: float = 0.0) -> tuple[float, float, float]:
    """Replica-symmetric ``(q, m, e)`` of SK (1975): ``q = int Dz tanh^2(beta (sqrt q z + B))``.

    ``m = int Dz tanh(beta (sqrt q z + B))``, ``e = -(beta/2) (1 - q^2) - B m``. Exact at
    B = 0 for T >= 1 (q = 0, e = -1/(2T)); below the AT line an approximation.
    """
    beta = 1.0 / T
    z, w = np.polynomial.hermite_e.hermegauss(121)
    w = w / w.sum()

    def moments(q: float) -> tuple[float, float]:
        th = np.tanh(beta * (math.sqrt(max(q, 0.0)) * z + B))
        return float(w @ th**2), float(w @ th)

    q = 0.999
    for _ in range(20000):
        q_new, _m = moments(q)
        if abs(q_new - q) < 1e-14:
            q = q_new
            break
        q = q_new
    _, m = moments(q)
    if B == 0 and T >= TC:
        q, m = 0.0, 0.0
    return q, m, -0.5 * beta * (1.0 - q * q) - B * m


# ----------------------------------------------------------------------------- brute force
#: coupling quantum of the models (J); duplicated from statmech.models.sk.kernels on purpose
#: so that this reference shares no code with the kernels it checks
EPS = 2.0**-24


def all_configurations(n: int) -> np.ndarray:
    """All ``2**n`` configurations as an int64 (2**n, n) array; row c has s_i = -1 iff bit i."""
    codes = np.arange(2**n, dtype=np.int64)
    return 1 - 2 * ((codes[:, None] >> np.arange(n, dtype=np.int64)) & 1)


def brute_force(
    jq: np.ndarray, bq: int, tol_units: int = 0, e_min: float = -1.0, e_max: float = 0.0,
    bins: int = 100,
) -> dict[str, object]:
    """Plain-numpy enumeration of all 2^N states (integer ``Jq`` and ``Bq`` in units EPS).

    The reference the enumeration kernel is tested against (N <= ~20). Returns ``E0`` (units
    EPS), ``E_max``, ``degeneracy`` (local minima -- ``s_i h_i >= 0`` for all i -- within
    ``tol_units`` of E0), ``n_stable`` (``s_i h_i > 0`` for all i), ``n_marginal``, ``hist``
    (stable energies per spin in ``bins`` bins on ``[e_min, e_max)``, bin
    ``floor((e - e_min) / de)``), ``below``, ``above``, ``gs_code`` (smallest code among the
    exact ground states), ``gap_minima`` (units EPS, -1 if none) and ``gap_flip``.
    """
    jq = np.asarray(jq, dtype=np.int64)
    n = jq.shape[0]
    width = (float(e_max) - float(e_min)) / bins
    E_all, weak_all, strict_all = [], [], []
    chunk = 1 << 14
    for start in range(0, 2**n, chunk):
        codes = np.arange(start, min(start + chunk, 2**n), dtype=np.int64)
        S = 1 - 2 * ((codes[:, None] >> np.arange(n, dtype=np.int64)) & 1)
        SJ = S @ jq
        E_all.append(-(SJ * S).sum(axis=1) // 2 - bq * S.sum(axis=1))
        g = S * (SJ + bq)
        weak_all.append((g >= 0).all(axis=1))
        strict_all.append((g > 0).all(axis=1))
    E = np.concatenate(E_all)
    weak = np.concatenate(weak_all)
    strict = np.concatenate(strict_all)
    E0 = int(E.min())
    minima = np.sort(E[weak])
    inside = minima <= E0 + tol_units
    e = E[strict].astype(np.float64) * EPS / n
    k = np.floor((e - e_min) / width)
    hist = np.bincount(k[(k >= 0) & (k < bins)].astype(np.int64), minlength=bins)
    gs_code = int(np.flatnonzero(E == E0)[0])
    S0 = 1 - 2 * ((np.int64(gs_code) >> np.arange(n, dtype=np.int64)) & 1)
    g0 = S0 * (jq @ S0 + bq)
    return {
        "E0": E0,
        "E_max": int(E.max()),
        "degeneracy": int(inside.sum()),
        "n_stable": int(strict.sum()),
        "n_marginal": int((weak & ~strict).sum()),
        "hist": hist,
        "below": int((k < 0).sum()),
        "above": int((k >= bins).sum()),
        "gs_code": gs_code,
        "gap_minima": int(minima[~inside][0] - E0) if (~inside).any() else -1,
        "gap_flip": int(2 * g0.min()),
    }


def exact_thermal(jq: np.ndarray, bq: int, T: float) -> dict[str, float]:
    """Exact thermal averages of one sample at temperature T by summing all 2^N states.

    ``q2 = <q^2>`` and ``q4 = <q^4>`` of two independent replicas (``<q^2> = sum_ij
    <s_i s_j>^2 / N^2``), ``abs_q``, the energy ``e`` and magnetisation ``m`` per spin, and
    ``pd[d]``, the probability that the replicas differ at d sites. For N <= ~12.
    """
    jq = np.asarray(jq, dtype=np.int64)
    n = jq.shape[0]
    S = all_configurations(n)
    E = (-((S @ jq) * S).sum(axis=1) // 2 - bq * S.sum(axis=1)) * EPS
    w = np.exp(-(E - E.min()) / T)
    p = w / w.sum()
    Q = S @ S.T
    pair = np.outer(p, p)
    d = (n - Q) // 2
    pd = np.bincount(d.ravel(), weights=pair.ravel(), minlength=n + 1)
    q = 1.0 - 2.0 * np.arange(n + 1) / n
    return {
        "q2": float(pd @ q**2),
        "q4": float(pd @ q**4),
        "abs_q": float(pd @ np.abs(q)),
        "e": float(p @ E) / n,
        "m": float(p @ S.sum(axis=1)) / n,
        "pd": pd,
    }
