"""dense-hopfield physics: the measured one-step error at stored patterns against the exact law.

``unstable0`` (noise 0) is the fraction of bits of a stored pattern with ``s_i D_i < 0``. Its
mean over trials and samples must agree with :func:`statmech.theory.dense_hopfield.
p_error_exact` (the exact (K-1)-fold convolution of the per-pattern crosstalk) within 4 standard
errors; errors are the spread of the per-sample means over independent samples (bits and trials
of one sample share patterns and are correlated).
"""

from __future__ import annotations

import numpy as np
import pytest

from statmech.models import get_model
from statmech.models.dense_hopfield.model import DenseHopfieldSettings, n_patterns
from statmech.seeding import unit_seed
from statmech.theory import dense_hopfield as th


@pytest.mark.parametrize(
    ("N", "n", "K", "samples"),
    [(40, 3, 98, 80), (32, 4, 404, 40), (60, 3, 300, 40), (63, 2, 12, 120)],
)
def test_one_step_error_matches_exact_convolution(N: int, n: int, K: int, samples: int) -> None:
    model = get_model("dense-hopfield")
    alpha = K / N ** (n - 1)
    assert n_patterns(N, n, alpha) == K
    settings = DenseHopfieldSettings(trials=10, max_sweeps=1)
    point = {"N": N, "n": n, "alpha": alpha, "noise": 0.0}
    per_sample = np.array([
        model.run(point, settings, unit_seed(14, "dense-hopfield", point, r))["unstable0"].mean()
        for r in range(samples)])
    mean = per_sample.mean()
    err = per_sample.std(ddof=1) / np.sqrt(samples)
    exact = th.p_error_exact(N, n, K)
    assert 0.005 < exact < 0.05  # informative loads: a few unstable bits per pattern
    z = (mean - exact) / err
    assert abs(z) < 4, f"unstable0 = {mean:.5f} ± {err:.5f}, exact {exact:.5f} (z = {z:+.2f})"


def test_exp_energy_retrieves_below_ln2_over_2() -> None:
    """alpha = 0.25 < ln 2 / 2 at N = 30 (K = 1808): every tested pattern is a fixed point.

    Theory: a pattern fails only through a pattern within Hamming distance 1 (probability
    ``exp_twin_probability`` ~ 5e-5 here); at N = 20, alpha = 0.45 (K = 8103) twins are common
    and the measured one-step error is near the twin approximation (not an exact law: shown,
    with a loose factor-2 band, not a 4-sigma test).
    """
    model = get_model("dense-hopfield")
    settings = DenseHopfieldSettings(energy="exp", trials=10)
    point = {"N": 30, "n": 2, "alpha": 0.25, "noise": 0.0}
    assert th.exp_twin_probability(30, 1808) < 1e-4 and 0.25 < th.EXP_ALPHA_ALL
    for r in range(5):
        out = model.run(point, settings, unit_seed(5, "dense-hopfield", point, r))
        assert int(out["K"]) == 1808
        assert np.all(out["unstable0"] == 0) and np.all(out["m"] == 1.0)
        assert np.all(out["fixed_point"]) and np.all(out["sweeps"] == 0)
    point = {"N": 20, "n": 2, "alpha": 0.45, "noise": 0.0}
    u = np.mean([model.run(point, settings, unit_seed(5, "dense-hopfield", point, r))
                 ["unstable0"].mean() for r in range(10)])
    approx = th.exp_p_error_twin(20, 8103)
    assert 0.5 * approx < u < 2 * approx
