"""Error analysis against processes with known answers."""

from __future__ import annotations

import numpy as np

from statmech.stats import binning, jackknife, tau_int


def ar1(rho: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = rng.normal() / np.sqrt(1 - rho**2)
    eps = rng.normal(size=n)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + eps[i]
    return x


def test_tau_int_and_binning_on_ar1() -> None:
    rho = 0.9
    exact_tau = 0.5 * (1 + rho) / (1 - rho)  # 9.5
    taus, errs, btaus = [], [], []
    for seed in range(8):
        x = ar1(rho, 200_000, seed)
        taus.append(tau_int(x))
        b = binning(x)
        errs.append(b.error)
        btaus.append(b.tau)
    # tau estimates scatter by a few percent around the exact value
    assert abs(np.mean(taus) / exact_tau - 1) < 0.05
    # the binning error matches the true standard deviation of the mean
    true_sd = np.sqrt(2 * exact_tau / 200_000 / (1 - rho**2))
    assert abs(np.mean(errs) / true_sd - 1) < 0.1
    # tau from binning has ~25 % scatter per run (32 bins); the mean of 8 runs ~9 %
    assert abs(np.mean(btaus) / exact_tau - 1) < 0.25


def test_independent_samples() -> None:
    x = np.random.default_rng(3).normal(size=100_000)
    assert abs(tau_int(x) - 0.5) < 0.05
    b = binning(x)
    assert abs(b.error / (1 / np.sqrt(1e5)) - 1) < 0.15
    assert tau_int(np.ones(100)) == 0.5


def test_jackknife_of_variance_matches_replicas() -> None:
    # f = <x^2> - <x>^2 of N(0, 1): estimate 1 with error sqrt(2/n)
    n = 64_000
    vals, errs = [], []
    for seed in range(20):
        x = np.random.default_rng(seed).normal(size=n)
        v, e = jackknife(lambda a, b: b - a * a, [x, x * x])
        vals.append(v)
        errs.append(e)
    assert abs(np.mean(errs) / np.sqrt(2 / n) - 1) < 0.1
    assert abs(np.std(vals) / np.sqrt(2 / n) - 1) < 0.35
