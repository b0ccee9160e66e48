"""Crosstalk theory of the dense associative memory against independent computations.

* the exact one-step error (FFT convolution) equals Hopfield's binomial at n = 2 and a direct
  convolution at small (N, n, K), to 1e-12;
* the crosstalk variance constant (2n-3)!! (the even Gaussian moment, by quadrature) and the
  convergence of the exact variance E[g(a)^2] to 4 n^2 (2n-3)!! N^(n-1);
* the Gaussian approximation approaches the exact error at fixed signal-to-noise ratio;
* the exp-energy constants by mpmath.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import integrate

from statmech.models.dense_hopfield.kernels import double_factorial_odd
from statmech.theory import dense_hopfield as th
from statmech.theory.hopfield import p_error_exact as hopfield_p_error


@pytest.mark.parametrize(("N", "K"), [(50, 10), (101, 30), (200, 41), (7, 2)])
def test_n2_is_hopfields_binomial(N: int, K: int) -> None:
    assert th.p_error_exact(N, 2, K) == pytest.approx(hopfield_p_error(N, K), abs=1e-12)


@pytest.mark.parametrize(("N", "n", "K"), [(12, 3, 6), (9, 4, 5), (10, 5, 4), (13, 3, 9)])
def test_fft_equals_direct_convolution(N: int, n: int, K: int) -> None:
    """The law of S by repeated direct convolution of the per-pattern law (built here anew)."""
    a = np.arange(-(N - 1), N, 2)
    pa = np.array([math.comb(N - 1, (x + N - 1) // 2) for x in a]) / 2.0 ** (N - 1)
    law: dict[int, float] = {0: 1.0}
    for _ in range(K - 1):
        new: dict[int, float] = {}
        for s, p in law.items():
            for x, q in zip(a, pa, strict=True):
                g = (int(x) + 1) ** n - (int(x) - 1) ** n
                for v in (g, -g):
                    new[s + v] = new.get(s + v, 0.0) + 0.5 * p * q
        law = new
    g0 = N**n - (N - 2) ** n
    want = sum(p for s, p in law.items() if s < -g0)
    assert th.p_error_exact(N, n, K) == pytest.approx(want, abs=1e-12)
    assert want > 1e-4  # a case with a non-trivial error


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_variance_constant(n: int) -> None:
    moment = integrate.quad(lambda z: z ** (2 * n - 2) * math.exp(-z * z / 2)
                            / math.sqrt(2 * math.pi), -np.inf, np.inf)[0]
    assert moment == pytest.approx(double_factorial_odd(n), rel=1e-10)
    sizes = (100, 1000, 10000)
    ratios = [np.divide(*th.crosstalk_variance(N, n)) for N in sizes]
    # exact / leading order = 1 - c_n / N + O(N^-2): N (1 - ratio) converges to c_n
    c = [N * (1 - r) for N, r in zip(sizes, ratios, strict=True)]
    assert abs(1 - ratios[2]) < 2e-3
    if n > 2:
        assert abs(c[2] / c[1] - 1) < 0.01 and abs(c[2] / c[0] - 1) < 0.1
    else:  # E[(4a)^2] = 16 (N - 1) exactly
        assert th.crosstalk_variance(101, 2)[0] == pytest.approx(1600.0, rel=1e-12)


def test_gaussian_approaches_exact_at_fixed_snr() -> None:
    """n = 3 at N^2 / (3 K) = 2.5: the relative deviation shrinks as N grows."""
    devs = []
    for N in (16, 32, 64):
        K = round(N * N / 7.5)
        ex = th.p_error_exact(N, 3, K)
        ga = float(th.p_error_gaussian(N, 3, K))
        devs.append(abs(ga / ex - 1))
    assert devs[2] < devs[1] < devs[0] and devs[2] < 0.05


def test_capacity_formulas() -> None:
    assert float(th.k_max(1000.0, 2)) == pytest.approx(1000 / (2 * math.log(1000)))
    assert float(th.k_max(100.0, 3)) == pytest.approx(1e4 / (6 * math.log(100)))
    assert float(th.p_error_gaussian(100, 2, 20)) == pytest.approx(
        0.5 * math.erfc(math.sqrt(100 / 40)))


def test_exp_constants() -> None:
    mpmath.mp.dps = 30
    assert th.EXP_ALPHA_ALL == pytest.approx(float(mpmath.log(2) / 2), rel=1e-15)
    assert th.EXP_ALPHA_GAUSSIAN == pytest.approx(float(2 - mpmath.log(mpmath.cosh(2))),
                                                  rel=1e-14)
    assert th.EXP_ALPHA_GAUSSIAN == pytest.approx(0.67500, abs=5e-6)
    # twin probability: exact formula against direct counting of the complement
    N, K = 12, 30
    q = (N + 1) / 2**N
    assert th.exp_twin_probability(N, K) == pytest.approx(1 - (1 - q) ** (K - 1), rel=1e-12)
