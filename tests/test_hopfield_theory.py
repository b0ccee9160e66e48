"""Replica-symmetric theory of the Hopfield model and the crosstalk estimates.

Reference values: AGS (Ann. Phys. 173, 30 (1987)): alpha_c = 0.138, m(alpha_c) = 0.967 at T = 0;
T_M -> 1 - 1.95 sqrt(alpha) for small alpha; T_g = 1 + sqrt(alpha).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special, stats

from statmech.theory import hopfield as th


def test_ags_capacity_and_overlap() -> None:
    c = th.ags_critical()
    assert abs(c.alpha_c - 0.138) <= 0.001
    assert c.m_c == pytest.approx(0.967, abs=0.0005)
    # more digits (the maximum of the closed form, found independently by a grid search)
    y = np.linspace(1.3, 1.7, 400001)
    a = th.ags_alpha_of_y(y)
    assert c.alpha_c == pytest.approx(a.max(), abs=1e-10)
    assert c.alpha_c == pytest.approx(0.137905566, abs=1e-8)
    assert c.m_c == pytest.approx(0.967417, abs=1e-5)


def test_ags_solution_solves_the_original_equations() -> None:
    """m = erf(m/sqrt(2 alpha r)), r = 1/(1-C)^2, C = sqrt(2/(pi alpha r)) exp(-m^2/(2 alpha r))."""
    for alpha in (0.01, 0.05, 0.1, 0.13, 0.1379):
        m, r = float(th.ags_m(alpha)), float(th.ags_r(alpha))
        s2 = 2 * alpha * r
        C = math.sqrt(2 / (math.pi * alpha * r)) * math.exp(-m * m / s2)
        assert m == pytest.approx(math.erf(m / math.sqrt(s2)), abs=1e-12)
        assert r == pytest.approx(1 / (1 - C) ** 2, rel=1e-10)
    assert np.isnan(th.ags_m(0.139)) and float(th.ags_m(0.0)) == 1.0
    m = th.ags_m(np.array([0.05, 0.1, 0.13]))
    assert np.all(np.diff(m) < 0) and m.shape == (3,)


def test_finite_t_solution_solves_the_rs_equations() -> None:
    for alpha, T in ((0.05, 0.3), (0.1, 0.2), (0.01, 0.8)):
        s = th.rs_retrieval(alpha, T)
        assert s is not None
        sigma = math.sqrt(alpha * s.r)
        z, w = np.polynomial.hermite_e.hermegauss(200)
        w = w / w.sum()
        u = (s.m + sigma * z) / T
        assert s.m == pytest.approx(float(w @ np.tanh(u)), abs=1e-8)
        assert s.q == pytest.approx(float(w @ np.tanh(u) ** 2), abs=1e-8)
        assert s.r == pytest.approx(s.q / (1 - (1 - s.q) / T) ** 2, rel=1e-8)
        assert s.alpha == pytest.approx(alpha, rel=1e-9)


def test_low_temperature_limit_is_the_t0_solution() -> None:
    """m(T) -> m(0) linearly (q = 1 - C T enters r at first order in T)."""
    for alpha in (0.05, 0.1, 0.13):
        m0, r0 = float(th.ags_m(alpha)), float(th.ags_r(alpha))
        s1, s2 = th.rs_retrieval(alpha, 2e-4), th.rs_retrieval(alpha, 1e-4)
        assert s1 is not None and s2 is not None
        assert abs(s2.m - m0) < 2e-6 and abs(s2.r - r0) < 1e-4 * r0
        if abs(s1.m - m0) > 1e-9:
            assert (s1.m - m0) / (s2.m - m0) == pytest.approx(2.0, rel=0.05)
    assert float(th.alpha_m(1e-3)) == pytest.approx(th.ags_critical().alpha_c, abs=5e-4)


@pytest.mark.slow  # 8-33 s on 2 busy cores (root finding along the boundary)
def test_retrieval_boundary() -> None:
    # small alpha: T_M = 1 - 1.95 sqrt(alpha) + O(alpha)
    for alpha in (1e-5, 1e-4):
        assert float(th.t_m(alpha)) == pytest.approx(1 - 1.95 * math.sqrt(alpha), abs=3 * alpha)
    assert float(th.t_m(0.0)) == 1.0
    # monotone decrease to 0 at alpha_c; the RS re-entrance peaks just above alpha_c
    a = np.array([0.01, 0.03, 0.05, 0.08, 0.1, 0.12, 0.135])
    t = th.t_m(a)
    assert np.all(np.diff(t) < 0) and 0 < t[-1] < 0.15
    T_star, a_star = th._reentrance()
    assert 0 < T_star < 0.1 and th.ags_critical().alpha_c < a_star < 0.1385
    assert np.isnan(th.t_m(0.14))
    # at the boundary the retrieval solution still exists; slightly beyond it does not
    for alpha in (0.02, 0.1):
        T = float(th.t_m(alpha))
        assert th.rs_retrieval(alpha, T * 0.999) is not None
        assert th.rs_retrieval(alpha, T * 1.001 + 1e-4) is None
    assert float(th.alpha_m(1.0)) == 0.0
    np.testing.assert_allclose(th.t_g([0.0, 0.04]), [1.0, 1.2])


def test_crosstalk_exact_against_gaussian_and_direct_sampling() -> None:
    # large N: the exact binomial tends to the erf estimate
    assert th.p_error_exact(100_000, 10_000) == pytest.approx(
        float(th.p_error_crosstalk(100_000, 10_000)), rel=0.01)
    assert float(th.p_error_crosstalk(1000, 138)) == pytest.approx(
        0.5 * (1 - special.erf(math.sqrt(1000 / 276))))
    assert th.p_error_exact(50, 1) == 0.0
    # direct sampling of N xi_i h_i = (N - 1) + X at N = 30, p = 10
    N, p = 30, 10
    rng = np.random.default_rng(1)
    n = 400_000
    X = 2 * rng.binomial((p - 1) * (N - 1), 0.5, size=n) - (p - 1) * (N - 1)
    frac = float(np.mean(N - 1 + X < 0))
    exact = th.p_error_exact(N, p)
    err = math.sqrt(exact * (1 - exact) / n)
    assert abs(frac - exact) < 4 * err
    # and against brute force over random patterns (bits of pattern 0, site 0)
    xi = rng.choice([-1, 1], size=(40_000, N, p))
    # N xi_0^0 h_0 = xi_0^0 sum_mu xi_0^mu sum_j xi_j^mu xi_j^0 - p  (the j = 0 term is p)
    h = xi[:, 0, 0] * np.einsum("kj,kjm,km->k", xi[:, :, 0], xi, xi[:, 0, :]) - p
    frac = float(np.mean(h < 0))
    err = math.sqrt(exact * (1 - exact) / len(h))
    assert abs(frac - exact) < 4 * err
    assert stats.binom.cdf(0, 1, 0.5) == 0.5  # scipy sanity


# ----------------------------------------------------------------------------- mixture states
def _free_energy(m: np.ndarray, T: float) -> float:
    """alpha = 0 free energy per spin, f(m) = |m|^2/2 - T <ln 2 cosh(m.xi / T)>_xi (all 2^k xi)."""
    k = len(m)
    xs = np.array(list(itertools.product((-1.0, 1.0), repeat=k)))
    x = xs @ m / T
    return float(0.5 * m @ m - T * np.mean(np.logaddexp(x, -x)))


def _hessian_eigenvalues(k: int, T: float) -> np.ndarray:
    """Eigenvalues of the finite-difference Hessian of f at the symmetric k-mixture (k + 1
    dimensions: the k condensed patterns and one uncondensed one)."""
    m = np.r_[np.full(k, th.mixture_state(k, T).m), 0.0]
    h = 1e-4
    n = len(m)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (_free_energy(m + ei + ej, T) - _free_energy(m + ei - ej, T)
                       - _free_energy(m - ei + ej, T) + _free_energy(m - ei - ej, T)) / (4 * h * h)
    return np.linalg.eigvalsh(H)


def test_mixture_overlaps_and_energies_at_zero_temperature() -> None:
    assert [th.mixture_overlap(k) for k in (1, 3, 5, 7)] == [1.0, 0.5, 0.375, 0.3125]
    assert [th.mixture_energy(k) for k in (1, 3, 5, 7)] == [-0.5, -0.375, -45 / 128, -175 / 512]
    assert th.mixture_energy(3, 100) == pytest.approx(-0.375 * 0.99)
    with pytest.raises(ValueError, match="odd"):
        th.mixture_overlap(2)
    for k in (1, 3, 5, 7):  # the T -> 0 limit of the finite-T solution
        s = th.mixture_state(k, 0.01)
        assert s.m == pytest.approx(th.mixture_overlap(k), abs=1e-12)
        assert s.e == pytest.approx(th.mixture_energy(k), abs=1e-12) and s.stable
    assert th.mixture_state(1, 0.6).m == pytest.approx(th.curie_weiss_m(0.6), abs=1e-12)


@pytest.mark.parametrize("k", [3, 5, 7])
def test_mixture_stability_temperatures(k: int) -> None:
    """T_3 = 0.4598 (AGS 1985 quote 0.46), T_5 = 0.3847, T_7 = 0.3439; checked against the
    finite-difference Hessian of the full (k + 1)-pattern free energy."""
    Tk = th.mixture_stability_temperature(k)
    assert Tk == pytest.approx({3: 0.45979, 5: 0.38474, 7: 0.34393}[k], abs=2e-5)
    below, above = _hessian_eigenvalues(k, Tk - 0.005), _hessian_eigenvalues(k, Tk + 0.005)
    assert below.min() > 0 > above.min()
    s = th.mixture_state(k, Tk - 0.005)
    assert np.sort([s.lam_sym, s.lam_asym, s.lam_out]) == pytest.approx(
        np.unique(below.round(5)), abs=1e-4)
    assert th.mixture_state(k, Tk + 0.005).lam_asym < 0  # it decays towards unequal overlaps
    assert th.mixture_stability_temperature(1) == 1.0
