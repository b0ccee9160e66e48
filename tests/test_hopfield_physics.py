"""Hopfield simulations against exact and well-established results, with honest statistics.

Fixed seeds. Errors are the spread over independent samples (pattern sets) or independent
chains, one standard error; every comparison holds within 4 standard errors (never widened).
"""

from __future__ import annotations

import numpy as np
import pytest

from statmech.models.hopfield.kernels import make_patterns, overlap_dtype, overlaps, sequential
from statmech.models.hopfield.model import Hopfield, HopfieldSettings
from statmech.seeding import unit_seed
from statmech.theory import hopfield as th

Z_MAX = 4.0
EMPTY = np.empty(0, dtype=np.int64)


def run_samples(point: dict, settings: HopfieldSettings, samples: int,
                seed: int = 1) -> dict[str, np.ndarray]:
    model = Hopfield()
    outs = [model.run(point, settings, unit_seed(seed, "hopfield", point, r))
            for r in range(samples)]
    return {k: np.stack([o[k] for o in outs]) for k in outs[0]}


def sample_stats(x: np.ndarray) -> tuple[float, float]:
    """Mean over samples of the per-sample trial mean, and its standard error."""
    per = x.reshape(x.shape[0], -1).mean(axis=1)
    return float(per.mean()), float(per.std(ddof=1) / np.sqrt(len(per)))


def test_retrieval_at_alpha_005_n2000() -> None:
    out = run_samples({"N": 2000, "alpha": 0.05, "T": 0.0, "noise": 0.0},
                      HopfieldSettings(trials=5), samples=10)
    assert out["m"].min() > 0.99
    assert np.all(out["fixed_point"]) and np.all(out["converged"])


@pytest.mark.parametrize("N", [1000, 2000])
def test_retrieval_fails_at_alpha_025(N: int) -> None:
    out = run_samples({"N": N, "alpha": 0.25, "T": 0.0, "noise": 0.0},
                      HopfieldSettings(trials=5), samples=10)
    assert np.mean(out["m"] > 0.9) == 0.0  # not a single one of 50 patterns is retrieved
    m, err = sample_stats(out["m"])
    assert m + Z_MAX * err < 0.5
    assert np.all(out["fixed_point"])  # the runs end in (spurious) fixed points, not at the cap


@pytest.mark.parametrize(("N", "alpha"), [(500, 0.1), (1000, 0.138), (400, 0.25)])
def test_crosstalk_error_against_exact_binomial(N: int, alpha: float) -> None:
    """Fraction of unstable bits at stored patterns vs the exact crosstalk probability."""
    out = run_samples({"N": N, "alpha": alpha, "T": 0.0, "noise": 0.0},
                      HopfieldSettings(trials=5, max_sweeps=1), samples=60)
    got, err = sample_stats(out["unstable0"])
    p = int(out["p"][0])
    exact = th.p_error_exact(N, p)
    assert err > 0
    z = (got - exact) / err
    assert abs(z) < Z_MAX, f"unstable fraction {got:.5f} ± {err:.5f} vs exact {exact:.5f}"


def test_glauber_high_temperature_has_no_retrieval() -> None:
    """T = 2 > T_g = 1 + sqrt(alpha): paramagnet, the overlap relaxes to 0."""
    out = run_samples({"N": 500, "alpha": 0.05, "T": 2.0, "noise": 0.0},
                      HopfieldSettings(dynamics="glauber", trials=5, sweeps=60, measure=30),
                      samples=12)
    for name in ("m", "m_avg"):
        m, err = sample_stats(out[name])
        assert abs(m) < Z_MAX * err, f"{name}: {m:.4f} ± {err:.4f}"
    # the snapshot overlap has the paramagnetic spread ~ 1/sqrt(N (1 - 1/T)) (chi = 1/(1 - 1/T))
    assert 0.5 < out["m"].std() * np.sqrt(500 * (1 - 0.5)) < 2.0


def exact_energy(xi: np.ndarray, T: float) -> float:
    """Boltzmann average of E/N by enumerating all 2^N states."""
    N, p = xi.shape
    codes = np.arange(2**N, dtype=np.int64)
    S = ((codes[:, None] >> np.arange(N)) & 1) * 2 - 1
    M = S @ xi.astype(np.int64)
    e = -0.5 * (M * M).sum(axis=1) / N**2 + 0.5 * p / N
    w = np.exp(-(e - e.min()) * N / T)
    return float(w @ e / w.sum())


@pytest.mark.parametrize(("N", "p", "T"), [(8, 2, 0.5), (10, 3, 1.0), (9, 4, 2.0)])
def test_glauber_against_exact_boltzmann_average(N: int, p: int, T: float) -> None:
    """Heat-bath time averages of E/N equal the exact Boltzmann average (detailed balance)."""
    xi = make_patterns(np.uint64(N * p), N, p)
    chains = 64
    per_chain = []
    for c in range(chains):
        s = xi[:, 0].copy()
        M = overlaps(xi, s, np.empty(p, dtype=overlap_dtype(N)))
        sweeps, measure = 2200, 2000
        *_, q_sum, n_meas = sequential(xi, s, M, np.uint64(17 + c), T, False, sweeps, measure,
                                       0, EMPTY, EMPTY)
        assert n_meas == measure
        per_chain.append(-0.5 * q_sum / n_meas / N**2 + 0.5 * p / N)
    per = np.asarray(per_chain)
    got, err = per.mean(), per.std(ddof=1) / np.sqrt(chains)
    exact = exact_energy(xi, T)
    assert abs(got - exact) < Z_MAX * err, f"{got:.5f} ± {err:.5f} vs exact {exact:.5f}"


def test_basin_of_attraction_small_load() -> None:
    """alpha = 0.05: 30% flipped bits are repaired, 49% and 50% (random starts) are not."""
    settings = HopfieldSettings(trials=5)
    near = run_samples({"N": 1000, "alpha": 0.05, "T": 0.0, "noise": 0.3}, settings, 6)
    assert np.all(near["m"] > 0.99)
    far = run_samples({"N": 1000, "alpha": 0.05, "T": 0.0, "noise": 0.5}, settings, 6)
    assert np.mean(far["m"] > 0.9) < 0.2
    assert np.all(far["fixed_point"])


def test_async_fixed_point_has_the_rs_overlap_and_energy() -> None:
    """alpha = 0.1, N = 2000: the fixed point reached from the pattern has AGS's m and E/N.

    (Checked beforehand at N = 4000 and alpha = 0.08, 0.1, 0.12 with 30-40 samples: no
    deviation from RS is visible at the 1e-4 level, so this is a statistical test.)
    """
    out = run_samples({"N": 2000, "alpha": 0.1, "T": 0.0, "noise": 0.0},
                      HopfieldSettings(trials=5), samples=10)
    for name, theory in (("m", float(th.ags_m(0.1))), ("e", float(th.ags_energy(0.1)))):
        got, err = sample_stats(out[name])
        assert abs(got - theory) < Z_MAX * err, f"{name}: {got:.6f} ± {err:.6f} vs {theory:.6f}"
