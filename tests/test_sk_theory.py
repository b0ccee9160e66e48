"""SK reference results (constants, exact finite-N formula, RS solution) and the fit helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from statmech.analysis import sk as an
from statmech.theory import sk as theory


def test_annealed_complexity_constant() -> None:
    alpha, z = theory.annealed_complexity()
    assert alpha == pytest.approx(0.199228, abs=2e-6)
    assert round(alpha, 4) == theory.ANNEALED_COMPLEXITY
    # saddle point: z = phi(z) / Phi(z)
    from scipy.stats import norm

    assert z == pytest.approx(norm.pdf(z) / norm.cdf(z), abs=1e-6)


def test_exact_mean_count_limits() -> None:
    assert theory.mean_stable_states(3) == pytest.approx(2.0, rel=1e-9)  # N = 3: always 2
    alpha = theory.annealed_complexity()[0]
    big = [theory.log_mean_stable_states(n) / n for n in (1000, 4000, 16000)]
    assert all(b > alpha for b in big) and np.all(np.diff(big) < 0)
    assert big[-1] == pytest.approx(alpha, abs=2e-5)
    # 1/N correction: N (ln<N_s>/N - alpha) tends to a constant
    c = [n * (theory.log_mean_stable_states(n) / n - alpha) for n in (2000, 8000)]
    assert c[0] == pytest.approx(c[1], abs=0.01)
    # a field reduces the number of stable states; B -> -B symmetric
    assert theory.mean_stable_states(20, 0.3) < theory.mean_stable_states(20, 0.0)
    assert theory.mean_stable_states(20, -0.3) == pytest.approx(theory.mean_stable_states(20,
                                                                                          0.3))


def test_brute_force_small_case_by_hand() -> None:
    """Two spins, J = +1 (ferro): ground states ++ and --, both stable; E0 = -1."""
    unit = 2**24
    jq = np.array([[0, unit], [unit, 0]])
    b = theory.brute_force(jq, 0, e_min=-1.0, e_max=0.0, bins=2)
    assert b["E0"] == -unit and b["degeneracy"] == 2 and b["n_stable"] == 2
    assert b["gs_code"] == 0 and b["gap_flip"] == 2 * unit and b["gap_minima"] == -1
    assert b["hist"].tolist() == [0, 2]  # e = -1/2 per spin: lower edge of bin [-0.5, 0)


def test_rs_solution() -> None:
    q, m, e = theory.rs_solution(1.5)
    assert (q, m) == (0.0, 0.0) and e == pytest.approx(-1 / 3)
    q, m, e = theory.rs_solution(0.5)
    assert 0.5 < q < 0.6 and m == pytest.approx(0.0, abs=1e-12)
    q, m, e = theory.rs_solution(0.8, 0.5)
    assert m > 0 and q > m * m  # q >= m^2 (Cauchy-Schwarz)
    assert theory.energy_from_overlap(0.5, 1.0) == 0.0
    assert theory.paramagnet_sg_susceptibility(2.0) == pytest.approx(4 / 3)
    assert np.isnan(theory.paramagnet_sg_susceptibility(0.9))


def test_linear_fit_recovers_parameters_with_honest_errors() -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(0.05, 0.3, 8)
    err = np.full_like(x, 0.004)
    zs = []
    for _ in range(400):
        y = -0.76 + 0.8 * x + rng.normal(0, err)
        fit = an.linear_fit(x, y, err)
        zs.append((fit["a"].value + 0.76) / fit["a"].error)
    zs = np.array(zs)
    assert abs(zs.mean()) < 0.2 and zs.std() == pytest.approx(1.0, abs=0.1)
    assert fit.dof == 6 and 0 <= fit.p_value <= 1
    assert fit.band(0.0) == pytest.approx(fit["a"].error)
    assert fit(0.0) == pytest.approx(fit["a"].value)
    assert fit.names == ("a", "b") and "chi2/dof" in fit["a"].method


def _synthetic_store(sizes: list[int], samples: int) -> xr.Dataset:
    rng = np.random.default_rng(2)
    e0 = np.stack([-0.7633 + 0.7 * n ** (-2 / 3) + rng.normal(0, 0.03, samples) for n in sizes])
    ns = np.stack([rng.poisson(theory.mean_stable_states(n), samples) for n in sizes])
    return xr.Dataset(
        {"e0": (("N", "sample"), e0), "n_stable": (("N", "sample"), ns),
         "done": (("N", "sample"), np.ones_like(ns, dtype=bool))},
        {"N": sizes, "sample": np.arange(samples)},
        attrs={"model": "sk", "replica_dim": "sample",
               "fixed_parameters": json.dumps({"B": 0.0})},
    )


def test_extrapolations_on_synthetic_data() -> None:
    ds = _synthetic_store([20, 30, 40, 60, 80], 400)
    [ex] = an.extrapolate_e0(ds)
    assert abs(ex.value - theory.PARISI_E0) < 4 * ex.error
    assert ex.exact == theory.PARISI_E0_PRECISE and ex.z is not None and abs(ex.z) < 5
    c = an.complexity(ds)
    assert np.allclose(c["exact_annealed"], [theory.log_mean_stable_states(n) / n
                                             for n in ds["N"].values])
    [fit] = an.extrapolate_complexity(ds, "annealed")
    assert fit.exact == theory.annealed_complexity()[0]
    assert fit.z is not None and abs(fit.z) < 4


def test_parameter_lookup() -> None:
    ds = _synthetic_store([8], 3)
    assert float(an.parameter(ds, "B")) == 0.0
    assert list(an.parameter(ds, "N").values) == [8]
    with pytest.raises(KeyError):
        an.parameter(ds, "T")
