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
    [(40, 3, 98, 80), (32, 4, 404, 60), (60, 3, 300, 40), (63, 2, 12, 120)],
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
