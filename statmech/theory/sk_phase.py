"""SK with a ferromagnetic coupling mean J0 in a field B: replica-symmetric theory and AT line.

Conventions: J = 1 (the coupling scale), k_B = 1, ``H = -sum_{i<j} J_ij s_i s_j - B sum_i s_i``
with ``J_ij = J0/N + z_ij/sqrt(N)``, ``z_ij`` standard normal; ``beta = 1/T``; ``Dz`` the
standard Gaussian measure; energies and free energies per spin.

Replica-symmetric (RS) solution (Sherrington & Kirkpatrick 1975). With the effective field
``H(z) = sqrt(q) z + J0 m + B`` the RS free energy per spin is

    -beta f = beta^2 (1 - q)^2 / 4 - beta J0 m^2 / 2 + int Dz ln 2 cosh(beta H(z)),

stationary at ``m = int Dz tanh(beta H)``, ``q = int Dz tanh^2(beta H)`` (derivative in q by
Gaussian integration by parts, ``int Dz z g(z) = int Dz g'(z)``).

de Almeida-Thouless (AT) stability: the replicon eigenvalue of the RS saddle point is
proportional to ``lambda = 1 - beta^2 int Dz sech^4(beta H(z))``; RS is stable for
``lambda > 0``. At J0 = 0 the AT line in the (T, B) plane has the small-field asymptote
``B^2 = (4/3) (1 - T)^3`` (de Almeida & Thouless, J. Phys. A 11, 983 (1978); expand both
equations in tau = 1 - T and B: at leading order lambda = 0 gives q + B^2 = tau and the
B^2 term first appears at order tau^3). :func:`at_field` solves lambda = 0 exactly; the
numbers give ``B_AT / sqrt((4/3) tau^3) = 1 + 0.50 tau + O(tau^2)`` (1.0005 at T = 0.999,
1.0052 at T = 0.99, 1.028 at T = 0.95, 1.40 at T = 0.5): the asymptote in the issue is right,
and only asymptotic.

Phase boundaries at B = 0 (J = 1):

* P/SG: T = 1 for J0 < 1 (q becomes nonzero; m = 0);
* P/F: T = J0 for J0 > 1 (m becomes nonzero; linearise the m equation at q = 0);
* RS SG/F: the line where m bifurcates from the RS spin-glass solution,
  ``beta J0 (1 - q_SG(T)) = 1`` (:func:`rs_sg_f_line`), from (J0, T) = (1, 1) to
  (sqrt(pi/2), 0): re-entrant (at fixed J0 slightly above 1 cooling goes P -> F -> SG);
* in the full-RSB (Parisi) solution the F/mixed boundary is vertical, J0 = 1 for T < 1
  (Toulouse 1980; the Parisi-Toulouse line), and the mixed phase (m != 0 with broken replica
  symmetry) lies below the AT line of the ferromagnetic RS solution (:func:`at_line_ferro`),
  which starts at (1, 1) and falls steeply: T_AT = 0.897 at J0 = 1.01, 0.663 at 1.1, 0.275
  at 1.5, 0.089 at 2 (below T_MIN for J0 >~ 2.6; :func:`at_line_ferro` returns 0 there).

A trapezoid rule on a T-dependent fine grid evaluates the Gaussian integrals (T >= T_MIN); the
tests check every value against adaptive ``scipy.integrate.quad``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize

#: int Dz: trapezoid rule on a uniform grid on [-Z_MAX, Z_MAX] with spacing min(0.25, T/4).
#: The integrands are analytic with poles at distance >= pi T / 2 from the real axis (tanh,
#: sech of beta (sqrt(q) z + c), q <= 1), so the trapezoid error is ~exp(-pi^2 T / spacing)
#: <= 1e-17 -- unlike Gauss-Hermite with a fixed node count, it resolves the sharp tanh at low T.
Z_MAX = 12.0


@functools.lru_cache(maxsize=64)
def _grid(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(-Z_MAX, Z_MAX, nodes)
    w = np.exp(-0.5 * z**2)
    return z, w / w.sum()


def _nodes(T: float) -> int:
    """Grid size for temperature T (odd, so that z = 0 is a node)."""
    return 2 * math.ceil(Z_MAX / min(0.25, T / 4.0)) + 1


#: lowest temperature the quadrature is meant for
T_MIN = 0.03
#: RS SG/F boundary at T -> 0: J0 = 1 / lim beta (1 - q) = sqrt(pi / 2)
RS_SG_F_T0 = math.sqrt(math.pi / 2.0)
#: Parisi-Toulouse F/mixed boundary at B = 0: J0 = 1 for T < 1
TOULOUSE_J0 = 1.0


def _heff(q: float, m: float, J0: float, B: float, T: float) -> tuple[np.ndarray, np.ndarray]:
    """``(H(z), weights)`` on the quadrature grid for temperature T."""
    z, w = _grid(_nodes(T))
    return math.sqrt(max(q, 0.0)) * z + J0 * m + B, w


def rs_equations(T: float, J0: float, B: float, q: float, m: float) -> tuple[float, float]:
    """Right-hand sides ``(int Dz tanh^2(beta H), int Dz tanh(beta H))``."""
    H, w = _heff(q, m, J0, B, T)
    th = np.tanh(H / T)
    return float(w @ th**2), float(w @ th)


def rs_solution_j0(
    T: float, J0: float = 0.0, B: float = 0.0, branch: str = "ferro"
) -> tuple[float, float]:
    """RS ``(q, m)`` at (T, J0, B).

    ``branch``: ``"ferro"`` iterates from (q, m) = (1, 1) (the magnetised solution, if it
    exists; for B = 0 and no ferromagnetic solution it ends at m = 0), ``"sg"`` from (1, 0)
    with m = 0 kept exactly at B = 0 (the RS spin-glass / paramagnetic solution). Damped
    fixed-point iteration, then a Newton polish (``scipy.optimize.root``).
    """
    if J0 == 0 and B != 0:
        # m does not feed back: one equation for q, g(0) = tanh^2(beta B) > 0 > g(1)
        def gq(x: float) -> float:
            return rs_equations(T, 0.0, B, x, 0.0)[0] - x

        q = float(optimize.brentq(gq, 0.0, 1.0, xtol=1e-16, rtol=1e-15))
        return q, rs_equations(T, 0.0, B, q, 0.0)[1]
    if branch == "sg" and B == 0:
        # q -> int Dz tanh^2(beta sqrt(q) z) (m = 0) is increasing and concave with slope
        # beta^2 at 0: a root q > 0 exists iff the map lies above the diagonal near 0
        def g(x: float) -> float:
            return rs_equations(T, J0, 0.0, x, 0.0)[0] - x

        tiny = 1e-12
        if g(tiny) <= 0:
            return 0.0, 0.0
        return float(optimize.brentq(g, tiny, 1.0, xtol=1e-15)), 0.0
    q, m = 1.0, (0.0 if branch == "sg" else 1.0)
    for _ in range(400):
        qn, mn = rs_equations(T, J0, B, q, m)
        if abs(qn - q) + abs(mn - m) < 1e-13:
            q, m = qn, mn
            break
        q, m = qn, mn
    def resid(v: np.ndarray) -> np.ndarray:
        return np.array(rs_equations(T, J0, B, v[0], v[1])) - v

    sol = optimize.root(resid, np.array([q, m]), tol=1e-15)
    if (np.abs(resid(sol.x)).max() < 1e-13 and 0.0 <= sol.x[0] <= 1.0
            and sol.x[1] * m >= 0.0):
        q, m = float(sol.x[0]), float(sol.x[1])
    if B == 0 and abs(m) < 1e-7:
        # no magnetised solution: the m = 0 branch
        return rs_solution_j0(T, J0, 0.0, "sg")
    return q, m


def rs_free_energy(T: float, J0: float, B: float, q: float, m: float) -> float:
    """RS free energy per spin ``f`` (J) at a solution ``(q, m)``."""
    beta = 1.0 / T
    H, w = _heff(q, m, J0, B, T)
    x = beta * H
    lncosh = np.abs(x) + np.log1p(np.exp(-2 * np.abs(x)))  # ln 2 cosh x
    return -T * (beta**2 * (1 - q) ** 2 / 4 - beta * J0 * m * m / 2 + float(w @ lncosh))


def at_lambda(T: float, J0: float, B: float, q: float, m: float) -> float:
    """AT replicon ``lambda = 1 - beta^2 int Dz sech^4(beta H)`` (RS stable iff > 0)."""
    H, w = _heff(q, m, J0, B, T)
    e = np.exp(-2.0 * np.abs(H / T))
    sech = 2.0 * np.sqrt(e) / (1.0 + e)
    return 1.0 - float(w @ sech**4) / T**2


def rs_stable_solution(T: float, J0: float = 0.0, B: float = 0.0) -> tuple[float, float]:
    """The RS ``(q, m)`` of lowest free energy among the ferro and spin-glass branches."""
    a = rs_solution_j0(T, J0, B, "ferro")
    b = rs_solution_j0(T, J0, B, "sg")
    return a if rs_free_energy(T, J0, B, *a) <= rs_free_energy(T, J0, B, *b) + 1e-13 else b


def at_field(T: float, J0: float = 0.0) -> float:
    """The AT field ``B_AT(T)`` (J) for T < 1 at J0 <= 1: lambda = 0 on the RS solution."""
    if not 0 < T < 1:
        raise ValueError("the AT line in a field exists for 0 < T < 1")

    def lam(B: float) -> float:
        return at_lambda(T, J0, B, *rs_solution_j0(T, J0, B, "ferro"))

    hi = 0.5
    while lam(hi) < 0:
        hi *= 2
    return float(optimize.brentq(lam, 1e-9, hi, xtol=1e-14))


def at_field_asymptote(T: float | np.ndarray) -> np.ndarray:
    """Small-field AT asymptote ``B_AT = sqrt((4/3) (1 - T)^3)`` near T = 1 (J0 = 0)."""
    return np.sqrt(4.0 / 3.0 * (1.0 - np.asarray(T, dtype=float)) ** 3)


def rs_sg_f_line(T: float) -> float:
    """RS SG/F boundary ``J0(T) = T / (1 - q_SG(T))`` for 0 < T < 1 (B = 0).

    Where the magnetisation bifurcates from the RS spin-glass solution (linearise
    ``m = int Dz tanh(beta (sqrt q z + J0 m))`` in m). -> 1 at T = 1, sqrt(pi/2) at T -> 0.
    """
    q, _ = rs_solution_j0(T, 0.0, 0.0, "sg")
    return T / (1.0 - q)


def at_line_ferro(J0: float) -> float:
    """AT temperature of the ferromagnetic RS solution at B = 0 and J0 > 1.

    Below it (T < T_AT(J0)) the F solution is unstable: the mixed phase. -> 1 as J0 -> 1+.
    """
    if J0 <= 1:
        raise ValueError("the ferromagnetic AT line starts at J0 = 1")

    def lam(T: float) -> float:
        return at_lambda(T, J0, 0.0, *rs_solution_j0(T, J0, 0.0, "ferro"))

    lo, hi = T_MIN, 1.0 - 1e-9
    if lam(lo) > 0:
        return 0.0
    return float(optimize.brentq(lam, lo, hi, xtol=1e-12))


def paramagnet_m2(T: float | np.ndarray, J0: float) -> np.ndarray:
    """``lim N [<m^2>] = 1 / (1 - J0/T)`` in the paramagnet (B = 0, T > max(1, J0))."""
    return 1.0 / (1.0 - J0 / np.asarray(T, dtype=float))


@functools.cache
def phase_lines(
    j0_max: float = 2.0, t_max: float = 2.0, points: int = 60
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (J0 values, T values)}`` of the B = 0 phase boundaries, for plotting.

    ``P/SG`` (T = 1, J0 < 1), ``P/F`` (T = J0, J0 > 1), ``F/M Parisi-Toulouse`` (J0 = 1,
    T < 1), ``SG/F RS (re-entrant)`` (:func:`rs_sg_f_line`) and ``AT (F)``
    (:func:`at_line_ferro`).
    """
    Ts = np.linspace(T_MIN, 0.999, points)
    j0s = np.linspace(1.001, j0_max, points)
    return {
        "P/SG": (np.array([0.0, 1.0]), np.array([1.0, 1.0])),
        "P/F": (np.array([1.0, min(j0_max, t_max)]), np.array([1.0, min(j0_max, t_max)])),
        "F/M Parisi-Toulouse": (np.array([1.0, 1.0]), np.array([0.0, 1.0])),
        "SG/F RS (re-entrant)": (np.array([rs_sg_f_line(t) for t in Ts]), Ts),
        "AT (F)": (j0s, np.array([at_line_ferro(j) for j in j0s])),
    }


# ----------------------------------------------------------------------------- finite N
#: coupling quantum (J), as in the models (duplicated: this reference shares no model code)
EPS = 2.0**-24


def draw_sample(n: int, J0: float, rng: np.random.Generator) -> np.ndarray:
    """Integer couplings ``rint((J0/n + z/sqrt(n)) / EPS)`` (the models' convention)."""
    jq = np.zeros((n, n), dtype=np.int64)
    iu = np.triu_indices(n, 1)
    jq[iu] = np.rint((J0 / n + rng.standard_normal(iu[0].size) / math.sqrt(n)) / EPS)
    return jq + jq.T


def exact_correlations(jq: np.ndarray, bq: int, T: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(<s_i>, <s_i s_j>)`` of one sample by summing all 2^N states (N <= ~16).

    Then ``<m^2> = sum_ij <s_i s_j> / N^2`` and, for two independent replicas,
    ``<q^2> = sum_ij <s_i s_j>^2 / N^2`` (O(2^N N^2); no 4^N pair sum).
    """
    from statmech.theory.sk import all_configurations

    jq = np.asarray(jq, dtype=np.int64)
    S = all_configurations(jq.shape[0])
    E = (-((S @ jq) * S).sum(axis=1) // 2 - bq * S.sum(axis=1)) * EPS
    w = np.exp(-(E - E.min()) / T)
    p = w / w.sum()
    Sf = S.astype(np.float64)
    return p @ Sf, Sf.T @ (Sf * p[:, None])


def exact_moments_ladder(
    jq: np.ndarray, bq: int, temperatures: Sequence[float]
) -> list[dict[str, float]]:
    """Exact thermal moments of one sample at each temperature (all 2^N states, N <= ~16).

    Per temperature: ``m``, ``abs_m``, ``m2``, ``m4`` (magnetisation per spin),
    ``q = sum_i <s_i>^2 / N`` and ``q2 = sum_ij <s_i s_j>^2 / N^2`` (two independent replicas),
    ``e`` (energy per spin, J), and the connected spin-glass susceptibility
    ``chi_sg_conn = sum_ij (<s_i s_j> - <s_i><s_j>)^2 / N``. O(2^N N^2) per temperature; the
    states and energies are built once.
    """
    from statmech.theory.sk import all_configurations

    jq = np.asarray(jq, dtype=np.int64)
    n = jq.shape[0]
    S = all_configurations(n)
    E = (-((S @ jq) * S).sum(axis=1) // 2 - bq * S.sum(axis=1)) * EPS
    Sf = S.astype(np.float64)
    mag = Sf.sum(axis=1) / n
    out = []
    for T in temperatures:
        w = np.exp(-(E - E.min()) / T)
        p = w / w.sum()
        mi = p @ Sf
        C = Sf.T @ (Sf * p[:, None])
        conn = C - np.outer(mi, mi)
        out.append({"chi_sg_conn": float((conn**2).sum()) / n,
                    "m": float(p @ mag), "abs_m": float(p @ np.abs(mag)),
                    "m2": float(p @ mag**2), "m4": float(p @ mag**4), "q": float(mi @ mi) / n,
                    "q2": float((C**2).sum()) / n**2, "e": float(p @ E) / n})
    return out


def exact_moments(jq: np.ndarray, bq: int, T: float) -> dict[str, float]:
    """:func:`exact_moments_ladder` at one temperature."""
    return exact_moments_ladder(jq, bq, [T])[0]


def exact_disorder_average(
    n: int, T: float, J0: float, B: float = 0.0, samples: int = 200, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Disorder averages ``{name: (mean, standard error)}`` of exact thermal averages.

    ``samples`` independent samples (:func:`draw_sample`, ``numpy.random.default_rng(seed)``),
    each summed exactly (:func:`exact_correlations`): ``m2 = [<m^2>]``, ``q2 = [<q^2>]``,
    ``Nm2 = N [<m^2>]``, ``Nq2 = N [<q^2>]`` and ``m = [<m>]``.
    """
    rng = np.random.default_rng(seed)
    bq = int(np.rint(B / EPS))
    rows = []
    for _ in range(samples):
        mi, C = exact_correlations(draw_sample(n, J0, rng), bq, T)
        rows.append((C.sum() / n**2, (C**2).sum() / n**2, mi.mean()))
    x = np.array(rows)
    mean, err = x.mean(axis=0), x.std(axis=0, ddof=1) / math.sqrt(samples)
    return {"m2": (mean[0], err[0]), "q2": (mean[1], err[1]), "m": (mean[2], err[2]),
            "Nm2": (n * mean[0], n * err[0]), "Nq2": (n * mean[1], n * err[1])}
