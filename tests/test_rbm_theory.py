"""Exact references of the ``rbm`` model: counts, ln Z both ways, the LL bound, gradients,
product optimum, block-Gibbs stationarity (chi-square) and inverse Ising by the fvbm."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from statmech.models.rbm import kernels as K
from statmech.models.rbm.datasets import all_states, bars_and_stripes, make_dataset
from statmech.models.rbm.model import RBMSettings, train_fvbm
from statmech.theory import rbm as th


def _random_rbm(V: int, H: int, scale: float, seed: int):
    g = np.random.default_rng(seed)
    return g.normal(0, scale, (V, H)), g.normal(0, 1, V), g.normal(0, 1, H)


def test_bars_and_stripes_counted_by_brute_force() -> None:
    for n, K_expected in ((3, 14), (4, 30)):
        imgs = all_states(n * n).reshape(-1, n, n)
        rows_const = (imgs == imgs[:, :, :1]).all(axis=(1, 2))
        cols_const = (imgs == imgs[:, :1, :]).all(axis=(1, 2))
        brute = imgs[rows_const | cols_const].reshape(-1, n * n)
        assert len(brute) == K_expected == th.bars_and_stripes_count(n)
        ours = bars_and_stripes(n)
        assert {r.tobytes() for r in ours} == {r.tobytes() for r in brute}
    assert th.BEST_LL_BAS3 == pytest.approx(-2.639057329615259, abs=1e-15)
    assert round(th.BEST_LL_BAS3, 5) == -2.63906
    assert make_dataset("bars-and-stripes-3x3").entropy == pytest.approx(math.log(14), 1e-14)


@pytest.mark.parametrize(("V", "H"), [(4, 3), (5, 7), (9, 6), (8, 8)])
def test_log_z_both_directions_and_joint(V: int, H: int) -> None:
    W, a, b = _random_rbm(V, H, 1.5, V * 100 + H)
    lv, lh = K.log_z_visible(W, a, b), K.log_z_hidden(W, a, b)
    assert abs(lv - lh) < 1e-10
    assert abs(lv - th.log_z_joint(W, a, b)) < 1e-10
    # large weights: log-sum-exp must not overflow
    big = 40.0 * W
    assert abs(K.log_z_visible(big, a, b) - K.log_z_hidden(big, a, b)) < 1e-10 * abs(
        K.log_z_hidden(big, a, b))


def test_moments_both_directions_agree() -> None:
    W, a, b = _random_rbm(6, 5, 1.0, 3)
    r1 = K.model_moments(W, a, b, True)
    r2 = K.model_moments(W, a, b, False)
    for x, y in zip(r1, r2, strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def test_log_likelihood_never_exceeds_minus_entropy() -> None:
    laws = [make_dataset("bars-and-stripes-3x3"),
            make_dataset("random-patterns", visible=7, patterns=5, seed=3),
            make_dataset("product-bernoulli", visible=6, seed=1)]
    for law in laws:
        for s in range(20):
            W, a, b = _random_rbm(law.V, 5, 2.0, s)
            assert th.mean_log_likelihood(law, W, a, b) <= th.best_log_likelihood(law) + 1e-12
    # equality at the product optimum
    law = laws[2]
    W, a, b = th.product_optimum(law.truth["p"], 4)
    assert th.mean_log_likelihood(law, W, a, b) == pytest.approx(-law.entropy, abs=1e-12)


def test_exact_gradient_finite_differences() -> None:
    law = make_dataset("random-patterns", visible=6, patterns=5, seed=2)
    W, a, b = _random_rbm(6, 4, 0.8, 7)
    _, gW, ga, gb = th.exact_gradient(law, W, a, b)
    eps = 1e-5
    worst = 0.0
    for arr, g in ((W, gW), (a, ga), (b, gb)):
        for idx in itertools.product(*map(range, arr.shape)):
            old = arr[idx]
            arr[idx] = old + eps
            up = th.mean_log_likelihood(law, W, a, b)
            arr[idx] = old - eps
            dn = th.mean_log_likelihood(law, W, a, b)
            arr[idx] = old
            worst = max(worst, abs((up - dn) / (2 * eps) - g[idx]))
    assert worst < 1e-8  # central differences: O(eps^2) truncation, O(1e-16/eps) rounding


def test_exact_gradient_vanishes_at_product_optimum() -> None:
    law = make_dataset("product-bernoulli", visible=5, probabilities=(0.2, 0.5, 0.7, 0.9, 0.35))
    W, a, _ = th.product_optimum(law.truth["p"], 3)
    b = np.array([-1.0, 0.3, 2.0])  # any hidden bias
    _, gW, ga, gb = th.exact_gradient(law, W, a, b)
    assert max(np.abs(gW).max(), np.abs(ga).max(), np.abs(gb).max()) < 1e-14
    _, gW, _, _ = th.exact_gradient(law, W, a + 0.1, b)  # and not elsewhere
    assert np.abs(gW).max() > 1e-3


def test_gibbs_kernel_leaves_marginal_invariant() -> None:
    W, a, b = _random_rbm(4, 4, 1.0, 11)
    T = th.gibbs_kernel(W, a, b)
    p = th.marginal_visible(W, a, b)
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(p @ T, p, atol=1e-14)


def test_block_gibbs_samples_the_marginal_chi_square() -> None:
    """Independent chains (all started at v = 0) after ``k`` steps: chi-square against p(v).

    ``k`` is chosen so that the exact k-step law (``e_0 T^k``) differs from ``p`` by less than
    1e-9 in total variation, far below what 20000 samples resolve; 16 states -> 15 degrees of
    freedom; the test fails above the 4-sigma point of chi2_15 (15 + 4 sqrt(30) = 36.9).
    """
    W, a, b = _random_rbm(4, 4, 1.0, 11)
    p = th.marginal_visible(W, a, b)
    k, n = 40, 20000
    start = np.zeros(16)
    start[0] = 1.0
    tv = 0.5 * np.abs(start @ np.linalg.matrix_power(th.gibbs_kernel(W, a, b), k) - p).sum()
    assert tv < 1e-9
    Vs = np.zeros((n, 4), dtype=np.uint8)
    K.gibbs(Vs, W, a, b, k, np.uint64(20260114), np.uint64(0))
    idx = (Vs.astype(np.int64) << np.arange(4)).sum(axis=1)
    counts = np.bincount(idx, minlength=16)
    chi2 = float(((counts - n * p) ** 2 / (n * p)).sum())
    assert chi2 < 15 + 4 * math.sqrt(30), chi2
    assert stats.chi2.sf(chi2, 15) > 1e-4
    # the same counts clearly reject a slightly different law (the test can fail)
    q = th.marginal_visible(W, a + 0.15, b)
    assert float(((counts - n * q) ** 2 / (n * q)).sum()) > 100


def test_fvbm_recovers_random_ising_couplings() -> None:
    settings = RBMSettings(dataset="ising-random", visible=8, epochs=3000, checkpoint=1000,
                           coupling_scale=0.5, field_scale=0.5, dataset_seed=4)
    law = settings.law()
    res = train_fvbm(law, settings, 1.0, 10**9, np.random.SeedSequence(0))
    assert res["updates"] == 3000 and not res["diverged"]
    assert np.abs(res["J"] - law.truth["J"]).max() < 1e-6
    assert np.abs(res["a"] - law.truth["h"]).max() < 1e-6
    assert res["kl"][-1] < 1e-12 and res["kl"][0] > 0.01
    # too large a step (lr above 2 / the largest Fisher eigenvalue) oscillates: no recovery
    bad = train_fvbm(law, settings, 2.0, 10**9, np.random.SeedSequence(0))
    assert bad["kl"][-1] > 0.1 and np.abs(bad["J"] - law.truth["J"]).max() > 0.1
