"""statmech.theory.curie_weiss against independent computations.

Brute-force enumeration of spin configurations (pair sums, not the M formula), root finding and
finite differences, mpmath quadrature of the T = Tc limit distribution, a linear solve of the
absorbing Markov chain for the escape time.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from scipy import optimize

from statmech.theory import curie_weiss as cw


def _enumerate(N: int, T: float, B: float) -> dict[str, float]:
    """Thermal averages by summing over all 2^N spin configurations (H from the pair sum)."""
    s = np.array(list(itertools.product([-1, 1], repeat=N)), dtype=np.float64)
    iu = np.triu_indices(N, 1)
    pair = (s[:, iu[0]] * s[:, iu[1]]).sum(axis=1)
    M = s.sum(axis=1)
    H = -pair / N - B * M
    w = np.exp(-(H - H.min()) / T)
    w /= w.sum()
    e, m = H / N, M / N
    out = {"e": w @ e, "e2": w @ e**2, "m": w @ m, "abs_m": w @ np.abs(m), "m2": w @ m**2,
           "m4": w @ m**4}
    out["C"] = N * (out["e2"] - out["e"] ** 2) / T**2
    out["chi"] = N * (out["m2"] - out["abs_m"] ** 2) / T
    out["U4"] = 1 - out["m4"] / (3 * out["m2"] ** 2)
    return out


@pytest.mark.parametrize(("N", "T", "B"), [(6, 0.7, 0.0), (9, 1.0, 0.0), (10, 1.4, 0.2),
                                          (10, 0.8, -0.1)])
def test_finite_moments_equal_enumeration(N: int, T: float, B: float) -> None:
    exact = cw.finite_moments(N, T, B)
    brute = _enumerate(N, T, B)
    for name, value in brute.items():
        assert exact[name] == pytest.approx(value, rel=1e-10, abs=1e-12), name


def test_m_distribution_detailed_balance() -> None:
    """P(M) is stationary for the birth-death chain of both rules (detailed balance)."""
    N, T, B = 40, 0.9, 0.07
    _, P = cw.m_distribution(N, T, B)
    assert P.sum() == pytest.approx(1.0)
    for rule in ("metropolis", "heatbath"):
        down, up = cw.transition_probabilities(N, T, B, rule)
        np.testing.assert_allclose(P[1:] * down[1:], P[:-1] * up[:-1], rtol=1e-10)


@pytest.mark.parametrize(("T", "B"), [(0.5, 0.0), (0.9, 0.0), (0.99, 0.0), (1.2, 0.0),
                                      (0.8, 0.1), (1.5, 0.3), (0.7, -0.2)])
def test_magnetization_solves_mean_field_equation(T: float, B: float) -> None:
    m = float(cw.magnetization(T, B))
    assert m == pytest.approx(math.tanh((m + B) / T), abs=1e-13)
    # independent: fixed-point iteration from the field's side converges to the stable root
    x = 1.0 if B >= 0 else -1.0
    for _ in range(200000):
        x = math.tanh((x + B) / T)
    assert m == pytest.approx(x, abs=1e-8)


def test_landau_expansion_and_critical_behaviour() -> None:
    for eps in (1e-3, 1e-4):
        T = 1 - eps
        assert float(cw.magnetization(T)) / float(cw.landau_m(T)) == pytest.approx(1, abs=eps)
        assert float(cw.specific_heat(T)) == pytest.approx(cw.C_JUMP, rel=5 * eps)
        assert float(cw.susceptibility(T)) == pytest.approx(1 / (2 * eps), rel=5 * eps)
    assert float(cw.specific_heat(1 + 1e-3)) == 0.0
    for T in (1.01, 1.5, 3.0):
        assert float(cw.susceptibility(T)) == pytest.approx(1 / (T - 1), rel=1e-12)
        assert float(cw.chi_estimator_limit(T)) == pytest.approx((1 - 2 / np.pi) / (T - 1))


@pytest.mark.parametrize(("T", "B"), [(0.6, 0.0), (0.9, 0.0), (1.3, 0.2), (0.8, 0.05)])
def test_energy_heat_and_susceptibility_by_finite_differences(T: float, B: float) -> None:
    h = 1e-5
    dedT = (cw.energy(T + h, B) - cw.energy(T - h, B)) / (2 * h)
    assert float(cw.specific_heat(T, B)) == pytest.approx(float(dedT), rel=1e-6, abs=1e-9)
    if B != 0:
        dmdB = (cw.magnetization(T, B + h) - cw.magnetization(T, B - h)) / (2 * h)
        assert float(cw.susceptibility(T, B)) == pytest.approx(float(dmdB), rel=1e-6)
    else:  # B = 0 below Tc: m jumps; the derivative along the positive branch (one-sided)
        dmdB = (4 * cw.magnetization(T, h) - cw.magnetization(T, 2 * h) - 3 * cw.magnetization(
            T, 0.0)) / (2 * h)
        assert float(cw.susceptibility(T, B)) == pytest.approx(float(dmdB), rel=1e-5)


def test_finite_size_approaches_the_thermodynamic_limit() -> None:
    """Large-N exact sums approach the N -> infinity functions (below, above Tc, in a field)."""
    N = 200_000
    for T, B in ((0.7, 0.0), (0.7, 0.05), (1.5, 0.1)):
        ex = cw.finite_moments(N, T, B)
        assert ex["abs_m"] == pytest.approx(abs(float(cw.magnetization(T, B))), abs=1e-4)
        assert ex["e"] == pytest.approx(float(cw.energy(T, B)), abs=1e-4)
        assert ex["C"] == pytest.approx(float(cw.specific_heat(T, B)), rel=0.02, abs=1e-3)
        assert ex["chi"] == pytest.approx(float(cw.chi_estimator_limit(T, B)), rel=0.02)
    ex = cw.finite_moments(N, 1.6, 0.0)
    assert ex["chi"] == pytest.approx(float(cw.chi_estimator_limit(1.6)), rel=0.02)


def test_spinodal() -> None:
    T = 0.5
    assert float(cw.spinodal_field(T)) == pytest.approx(0.26642, abs=5e-6)  # issue's value
    # independent: the minimum of B(m) = T artanh(m) - J m on (0, 1) is -B_s
    res = optimize.minimize_scalar(lambda m: T * math.atanh(m) - m, bounds=(1e-9, 1 - 1e-9),
                                   method="bounded", options={"xatol": 1e-12})
    assert -res.fun == pytest.approx(float(cw.spinodal_field(T)), abs=1e-10)
    assert res.x == pytest.approx(float(cw.spinodal_magnetization(T)), abs=1e-5)
    Bs = float(cw.spinodal_field(T))
    assert np.isfinite(cw.metastable_magnetization(T, -Bs + 1e-4))
    assert np.isnan(cw.metastable_magnetization(T, -Bs - 1e-4))
    eps = 1e-3  # Landau: B_s ~ (2/3) (1 - T)^{3/2}
    assert float(cw.spinodal_field(1 - eps)) == pytest.approx(2 / 3 * eps**1.5, rel=2e-3)


def test_tc_limits_by_quadrature() -> None:
    """The constants from p(x) ~ exp(-x^4/12), x = N^{1/4} m, by mpmath quadrature."""
    mpmath.mp.dps = 25
    Z = mpmath.quad(lambda x: mpmath.exp(-x**4 / 12), [0, mpmath.inf])

    def mom(a: int) -> float:
        return float(mpmath.quad(lambda x: x**a * mpmath.exp(-x**4 / 12), [0, mpmath.inf]) / Z)

    assert cw.M2_TC == pytest.approx(mom(2), rel=1e-14)
    assert cw.ABS_M_TC == pytest.approx(mom(1), rel=1e-14)
    assert cw.M4_TC == pytest.approx(mom(4), rel=1e-14)
    assert cw.U4_TC == pytest.approx(1 - mom(4) / (3 * mom(2) ** 2), rel=1e-14)
    assert cw.U4_TC == pytest.approx(0.27052, abs=5e-6)  # the values
    assert cw.M2_TC == pytest.approx(1.17083, abs=5e-6)
    assert abs(cw.ABS_M_TC - 0.90986) > 2e-5  # the 0.90986 is off: 0.909891


def test_tc_limits_from_exact_finite_sums() -> None:
    """Exact sums at N and 4N, Richardson-extrapolated in 1/sqrt(N), reach the limits."""
    a, b = cw.finite_moments(100_000, 1.0), cw.finite_moments(400_000, 1.0)
    scaled = {"U4": (a["U4"], b["U4"], cw.U4_TC),
              "m2": (a["m2"] * 100_000**0.5, b["m2"] * 400_000**0.5, cw.M2_TC),
              "abs_m": (a["abs_m"] * 100_000**0.25, b["abs_m"] * 400_000**0.25, cw.ABS_M_TC)}
    for name, (va, vb, limit) in scaled.items():
        assert abs(vb - limit) < 2e-3, name  # the raw values converge like N^{-1/2}
        assert 2 * vb - va == pytest.approx(limit, abs=2e-6), name
    va, vb, _ = scaled["abs_m"]
    assert abs(2 * vb - va - 0.90986) > 2e-5


@pytest.mark.parametrize("rule", ["heatbath", "metropolis"])
def test_mean_escape_time_equals_linear_solve(rule: str) -> None:
    """First passage from k = N to k <= N/2: solve (I - Q) t = 1 on the transient states."""
    N, T, B = 21, 0.7, -0.15
    down, up = cw.transition_probabilities(N, T, B, rule)
    states = list(range(N // 2 + 1, N + 1))
    n = len(states)
    A = np.eye(n)
    for i, k in enumerate(states):
        A[i, i] -= 1 - down[k] - up[k]
        if i > 0:
            A[i, i - 1] -= down[k]
        if i < n - 1:
            A[i, i + 1] -= up[k]
    t = np.linalg.solve(A, np.ones(n))
    assert cw.mean_escape_time(N, T, B, rule) == pytest.approx(t[-1] / N, rel=1e-10)


def test_lattice_mean_field() -> None:
    assert float(cw.lattice_mean_field_m(3.9, 0.0, d=2)) > 0.1
    assert float(cw.lattice_mean_field_m(4.01, 0.0, d=2)) == 0.0
    assert float(cw.lattice_mean_field_m(1.9, 0.0, d=1)) > 0.1
    m = float(cw.lattice_mean_field_m(3.0, 0.2, d=2))
    assert m == pytest.approx(math.tanh((4 * m + 0.2) / 3.0), abs=1e-13)


@pytest.mark.parametrize(("model", "size", "tc"), [("ising1d", "N", 2), ("ising2d", "L", 4)])
def test_mean_field_overlay_on_ising_plots(model: str, size: str, tc: int) -> None:
    """The Ising magnetisation panel carries the Weiss mean-field curve with Tc^MF = 2d."""
    import matplotlib

    matplotlib.use("Agg")
    import xarray as xr

    from statmech.models.ising.model import VARIABLES
    from statmech.plots.ising import ising_figure

    T = np.array([1.0, 2.0, 3.0, 4.5])
    shape = (1, T.size, 2)
    data = {v.name: ((size, "T", "replica"), np.full(shape, 0.5)) for v in VARIABLES}
    data["done"] = ((size, "T", "replica"), np.ones(shape, dtype=bool))
    ds = xr.Dataset(data, coords={size: [4], "T": T, "replica": [0, 1]},
                    attrs={"model": model, "replica_dim": "replica",
                           "fixed_parameters": '{"B": 0.0}'})
    fig = ising_figure(ds)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == f"mean field (Tc = {tc})"]
    x, y = line.get_data()
    np.testing.assert_allclose(y, np.abs(cw.lattice_mean_field_m(x, 0.0, tc // 2)))
    assert y[x < tc].min() > 0 and np.all(y[x > tc] == 0)
