"""RS theory of SK with J0 and B, the AT line, and the paramagnetic limits, checked independently.

The solver in :mod:`statmech.theory.sk_phase` uses a fixed trapezoid grid; here every value is
recomputed with adaptive ``scipy.integrate.quad`` (and ``scipy.optimize.fsolve`` for the
fixed points), and the finite-N paramagnetic limits with exact enumeration of random samples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from statmech.theory import sk_phase as th
from statmech.theory.sk import exact_thermal

Z_MAX = 4.0


def _dz(f, c: float = 0.0, width: float = 1.0) -> float:
    """int Dz f(z) by adaptive quadrature (break points around the sharp region z ~ c)."""
    pts = sorted({c - 5 * width, c, c + 5 * width})
    pts = [p for p in pts if -14 < p < 14]
    val, _ = integrate.quad(lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                            -14, 14, points=pts, limit=400, epsabs=1e-13, epsrel=1e-12)
    return val


def _quad_rs(T: float, J0: float, B: float, q0: float, m0: float) -> tuple[float, float]:
    """(q, m) solving the RS equations with quad integrands (fsolve from a nearby start)."""
    def eqs(v: np.ndarray) -> np.ndarray:
        q, m = max(v[0], 1e-300), v[1]
        c = -(J0 * m + B) / math.sqrt(q)
        w = T / math.sqrt(q)
        def heff(z: float) -> float:
            return (math.sqrt(q) * z + J0 * m + B) / T
        return np.array([_dz(lambda z: math.tanh(heff(z)) ** 2, c, w) - q,
                         _dz(lambda z: math.tanh(heff(z)), c, w) - m])
    sol = optimize.fsolve(eqs, np.array([q0, m0]), xtol=1e-13)
    return float(sol[0]), float(sol[1])


def _quad_lambda(T: float, J0: float, B: float, q: float, m: float) -> float:
    c, w = -(J0 * m + B) / math.sqrt(q), T / math.sqrt(q)
    return 1 - _dz(lambda z: 1 / math.cosh((math.sqrt(q) * z + J0 * m + B) / T) ** 4, c, w) / T**2


@pytest.mark.parametrize(("T", "J0", "B"), [(0.5, 0.5, 0.0), (0.5, 1.5, 0.0), (0.8, 0.0, 0.3),
                                           (1.2, 1.5, 0.0), (0.3, 1.2, 0.1), (1.5, 0.5, 0.3)])
def test_rs_solution_against_independent_quadrature(T: float, J0: float, B: float) -> None:
    q, m = th.rs_stable_solution(T, J0, B)
    assert 0 < q < 1
    qq, mq = _quad_rs(T, J0, B, q * 1.01, m * 1.01 if m else 0.0)
    assert abs(qq - q) < 1e-9 and abs(mq - m) < 1e-9, (q, qq, m, mq)


def test_paramagnet_spin_glass_and_ferromagnet_boundaries() -> None:
    # P/SG at T = 1 for J0 < 1: q switches on, m stays 0
    assert th.rs_stable_solution(1.02, 0.5) == (0.0, 0.0)
    q, m = th.rs_stable_solution(0.98, 0.5)
    assert m == 0.0 and 0.015 < q < 0.025  # q ~ (1 - T) near T = 1
    # P/F at T = J0 for J0 > 1
    assert th.rs_stable_solution(1.52, 1.5) == (0.0, 0.0)
    q, m = th.rs_stable_solution(1.48, 1.5)
    assert m > 0.1 and q > 0


def test_at_line_in_a_field_and_its_small_field_asymptote() -> None:
    for T in (0.5, 0.8, 0.95):
        B = th.at_field(T)
        q, m = th.rs_solution_j0(T, 0.0, B)
        qq, mq = _quad_rs(T, 0.0, B, q, m)
        assert abs(_quad_lambda(T, 0.0, B, qq, mq)) < 1e-7
        # RS stable just above the line, unstable below
        assert th.at_lambda(T, 0.0, 1.05 * B, *th.rs_solution_j0(T, 0.0, 1.05 * B)) > 0
        assert th.at_lambda(T, 0.0, 0.95 * B, *th.rs_solution_j0(T, 0.0, 0.95 * B)) < 0
    # B_AT^2 = (4/3) (1 - T)^3 (1 + O(1 - T)): the ratio tends to 1, linearly in 1 - T
    for tau in (0.002, 0.01, 0.05):
        ratio = th.at_field(1 - tau) / float(th.at_field_asymptote(1 - tau))
        assert abs(ratio - 1) < 0.7 * tau, (tau, ratio)
    # a wrong power or prefactor fails: e.g. B^2 = (4/3)(1 - T)^2 is off by a factor 10 at 0.99
    assert th.at_field(0.99) / math.sqrt(4 / 3 * 0.01**2) < 0.2


def test_rs_spin_glass_ferromagnet_line_is_reentrant() -> None:
    # beta J0 (1 - q_SG) = 1: J0 = 1 at T = 1 and sqrt(pi/2) = 1.2533 at T = 0
    assert th.RS_SG_F_T0 == pytest.approx(math.sqrt(math.pi / 2))
    for T in (0.1, 0.5, 0.9):
        q = _quad_rs(T, 0.0, 0.0, th.rs_solution_j0(T, 0.0, 0.0, "sg")[0], 0.0)[0]
        assert th.rs_sg_f_line(T) == pytest.approx(T / (1 - q), abs=1e-8)
    assert th.rs_sg_f_line(0.999) == pytest.approx(1.0, abs=2e-3)
    lines = [th.rs_sg_f_line(T) for T in (0.05, 0.3, 0.6, 0.9)]
    assert all(j > 1 for j in lines) and lines == sorted(lines, reverse=True)
    assert abs(th.rs_sg_f_line(th.T_MIN) - th.RS_SG_F_T0) < 0.03  # -> sqrt(pi/2) linearly in T


def test_ferromagnetic_at_line() -> None:
    for J0 in (1.1, 1.5, 2.0):
        T = th.at_line_ferro(J0)
        assert 0 < T < 1
        q, m = th.rs_solution_j0(T, J0, 0.0, "ferro")
        qq, mq = _quad_rs(T, J0, 0.0, q, m)
        assert abs(_quad_lambda(T, J0, 0.0, qq, mq)) < 1e-7
    temps = [th.at_line_ferro(J0) for J0 in (1.05, 1.2, 1.6, 2.0)]
    assert temps == sorted(temps, reverse=True)


def test_exact_correlations_match_the_pair_sum() -> None:
    jq = th.draw_sample(8, 0.7, np.random.default_rng(0))
    mi, C = th.exact_correlations(jq, 1000, 0.8)
    ex = exact_thermal(jq, 1000, 0.8)
    assert C.sum() / 64 == pytest.approx(ex["m2"], abs=1e-14)
    assert (C**2).sum() / 64 == pytest.approx(ex["q2"], abs=1e-14)
    assert mi.mean() == pytest.approx(ex["m"], abs=1e-14)


@pytest.mark.parametrize("J0", [0.5, 1.0])
def test_paramagnetic_limits_of_exact_finite_n_averages(J0: float) -> None:
    """N [<m^2>] -> 1/(1 - J0/T), N [<q^2>] -> 1/(1 - 1/T^2) at T = 4, B = 0.

    Exact enumeration of 400 samples per N = 4 ... 12; a weighted fit a + b/N (the 1/N
    corrections are large at these N: 10 % for N [<m^2>] at N = 4) extrapolates to a, which
    must equal the limit within 4 standard errors; the data must approach it with N.
    """
    T = 4.0
    sizes = np.array([4, 6, 8, 10, 12])
    rows = [th.exact_disorder_average(int(n), T, J0, samples=400, seed=int(n)) for n in sizes]
    for key, limit in (("Nm2", float(th.paramagnet_m2(T, J0))), ("Nq2", 1 / (1 - 1 / T**2))):
        y = np.array([r[key][0] for r in rows])
        e = np.array([r[key][1] for r in rows])
        X = np.stack([np.ones(sizes.size), 1.0 / sizes], axis=1) / e[:, None]
        cov = np.linalg.inv(X.T @ X)
        a, _slope = cov @ X.T @ (y / e)
        z = (a - limit) / math.sqrt(cov[0, 0])
        assert abs(z) < Z_MAX, (key, a, math.sqrt(cov[0, 0]), limit, z)
        assert abs(y[-1] - limit) < abs(y[0] - limit), (key, y, limit)


def test_exact_moments_match_the_pair_sum() -> None:
    jq = th.draw_sample(9, 1.2, np.random.default_rng(1))
    for bq in (0, 5_000_000):
        got = th.exact_moments(jq, bq, 0.7)
        ex = exact_thermal(jq, bq, 0.7)
        for k in ("m", "abs_m", "m2", "m4", "q", "q2", "e"):
            assert got[k] == pytest.approx(ex[k], abs=1e-13), k
