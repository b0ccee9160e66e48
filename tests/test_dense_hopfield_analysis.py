"""dense-hopfield analysis helpers on synthetic numbers with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from statmech.analysis import dense_hopfield as an
from statmech.models.dense_hopfield.model import n_patterns


def test_k_of_alpha_matches_the_model_rounding() -> None:
    for N, n, alpha, load in ((48, 3, 0.27, "normalised"), (96, 2, 0.2, "plain"),
                              (24, 4, 0.35, "normalised"), (40, 3, 0.0625, "plain")):
        k = float(an.k_of_alpha(alpha, N, n, "power", load))
        assert n_patterns(N, n, alpha, "power", load) == math.floor(k + 0.5 + 1e-9)
    assert float(an.k_of_alpha(0.25, 20, 2, "exp")) == pytest.approx(math.exp(5.0))


def test_fit_slope_recovers_a_power_law() -> None:
    rng = np.random.default_rng(1)
    N = np.array([24.0, 48.0, 96.0, 192.0])
    rel = 0.03
    samples = []
    for _ in range(400):
        K = 0.07 * N**3 * np.exp(rel * rng.standard_normal(4))
        s, se, _, _, dof = an.fit_slope(N, K, rel * K)
        samples.append((s - 3.0) / se)
        assert dof == 2
    z = np.asarray(samples)
    assert abs(z.mean()) < 4 / math.sqrt(len(z))  # unbiased
    assert 0.8 < z.std() < 1.2  # errors are honest (scaled only when chi2/dof > 1)
    with pytest.raises(ValueError):
        an.fit_slope(N[:1], np.array([1.0]), np.array([0.1]))
