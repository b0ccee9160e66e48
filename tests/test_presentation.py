"""The presentation contract: each built-in model names one; fallbacks; estimates; figures."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from statmech.analysis.estimate import Estimate, FitResult
from statmech.models import get_model, model_names
from statmech.plots import generic, presentation_for
from statmech.presentation import GENERIC, Presentation, presentation_of
from statmech.refine import NoTarget, proposer
from statmech.theory import sk as sk_theory

BUILT_IN_TARGETS = {"ising2d": {"binder-crossing", "chi-peak"},
                    "ising1d": {"binder-crossing", "chi-peak"},
                    "hopfield": {"capacity"}, "sk": set(), "sk-overlap": set()}


@pytest.mark.parametrize("name", sorted(BUILT_IN_TARGETS))
def test_every_built_in_model_names_its_presentation(name: str) -> None:
    assert name in model_names()
    pres = presentation_of(name)
    assert isinstance(pres, Presentation) and pres is not GENERIC
    assert pres.figures is not None and pres.estimates is not None
    assert set(pres.refine) == BUILT_IN_TARGETS[name]
    assert type(get_model(name)).presentation.endswith(":PRESENTATION")


def test_unknown_target_names_the_models_targets() -> None:
    with pytest.raises(NoTarget, match="its targets are binder-crossing, chi-peak"):
        proposer("ising2d", "capacity")
    with pytest.raises(NoTarget, match="'sk' has no refinement targets"):
        proposer("sk", "capacity")


def test_a_store_of_an_unknown_model_gets_the_generic_presentation() -> None:
    assert presentation_for(xr.Dataset(attrs={"model": "not-installed"})) is GENERIC


def test_fit_result_holds_one_estimate_per_parameter() -> None:
    fit = FitResult.from_arrays(("a", "b"), [1.0, 2.0], np.diag([0.04, 0.09]), 3.0, 4,
                                "weighted least squares", lambda x, a, b: a + b * x,
                                fixed={"omega": 0.5})
    assert fit["b"] == Estimate(2.0, 0.3, key="b", quantity="b", method=fit["b"].method,
                                details={"chi2": 3.0, "dof": 4})
    assert "omega fixed at 0.5" in fit["a"].method and "chi2/dof = 3.0/4" in fit["a"].method
    assert fit(2.0) == 5.0 and fit.band(0.0) == pytest.approx(0.2)
    assert fit.names == ("a", "b") and "a" in fit and fit.p_value == pytest.approx(0.5578254)
    with pytest.raises(KeyError):
        fit["c"]


def _overlap_store(rng: np.random.Generator) -> xr.Dataset:
    """A synthetic sk-overlap store (N x sample, T extra) obeying the equilibrium identity."""
    sizes, n_s, T = [8, 16], 50, np.array([0.5, 1.0, 2.0])
    q2 = rng.uniform(0.0, 0.3, (2, n_s, 3))
    m = rng.normal(0.0, 0.1, (2, n_s, 3))
    e = -(1 - q2) / (2 * T)  # B = 0: e + (1 - q^2)/2T = 0 sample by sample
    e[:, :, 0] += rng.normal(0.01, 0.005, (2, n_s))  # lowest T out of equilibrium by 0.01
    dims = ("N", "sample", "T")
    return xr.Dataset(
        {"e": (dims, e), "q2": (dims, q2), "m": (dims, m),
         "done": (("N", "sample"), np.ones((2, n_s), bool))},
        {"N": sizes, "sample": np.arange(n_s), "T": T},
        attrs={"model": "sk-overlap", "replica_dim": "sample",
               "fixed_parameters": json.dumps({"B": 0.0})})


def test_sk_overlap_estimates_against_the_identity_and_the_paramagnet() -> None:
    ds = _overlap_store(np.random.default_rng(3))
    rows = {r.key: r for r in presentation_of("sk-overlap").estimates(ds)}
    assert set(rows) == {"identity_N8_T0.5", "identity_N16_T0.5", "chi_sg_N8_T2",
                         "chi_sg_N16_T2"}
    for n in (8, 16):
        d = rows[f"identity_N{n}_T0.5"]
        x = ds["e"].sel(N=n, T=0.5) + (1 - ds["q2"].sel(N=n, T=0.5)) / 1.0
        assert d.value == pytest.approx(float(x.mean())) and d.exact == 0.0
        assert d.error == pytest.approx(float(x.std(ddof=1)) / np.sqrt(50))
        chi = rows[f"chi_sg_N{n}_T2"]
        assert chi.value == pytest.approx(n * float(ds["q2"].sel(N=n, T=2.0).mean()))
        assert chi.exact == pytest.approx(4 / 3) == float(sk_theory.paramagnet_sg_susceptibility(2))


def test_generic_figures_cover_scalars_against_every_axis_and_cap_curves() -> None:
    rng = np.random.default_rng(1)
    shape = (12, 2, 3, 2)  # x, y, z, replica
    dims = ("x", "y", "z", "replica")
    ds = xr.Dataset(
        {"a": (dims, rng.normal(size=shape)), "a_err": (dims, np.full(shape, 0.1)),
         "b": (dims, rng.integers(0, 5, shape)), "hist": ((*dims, "bin"), np.ones((*shape, 3))),
         "done": (dims, np.ones(shape, bool)), "failed": (dims, np.zeros(shape, bool)),
         "elapsed": (dims, np.ones(shape)), "error": (dims, np.full(shape, "", object))},
        {"x": np.arange(12.0), "y": [1, 2], "z": [0.1, 0.2, 0.3], "replica": [0, 1]},
        attrs={"model": "plug"})
    assert generic.scalar_variables(ds) == ["a", "b"]
    figs = generic.figures(ds)
    assert list(figs) == ["vs_x", "vs_y", "vs_z"]
    panel = figs["vs_y"].axes[0]
    assert len(panel.containers) == generic.MAX_CURVES  # 36 combinations of x and z, 8 drawn
    assert "showing 8 of 36" in figs["vs_y"].get_suptitle()
    assert len(figs["vs_x"].axes[0].containers) == 6  # 2 x 3 combinations of y and z
    assert "showing" not in figs["vs_x"].get_suptitle()
    # points are replica means, error bars from the stored a_err: sqrt(2 * 0.1^2) / 2
    line = figs["vs_x"].axes[0].containers[0]
    sel = ds["a"].isel(y=0, z=0).mean("replica").values
    np.testing.assert_allclose(line.lines[0].get_ydata(), sel)
    bars = line.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1][1] - s[0][1] for s in bars], 2 * np.sqrt(2 * 0.01) / 2)
    for f in figs.values():
        plt.close(f)
