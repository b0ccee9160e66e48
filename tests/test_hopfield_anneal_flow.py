"""End to end: ``configs/hopfield-anneal-quick.yaml`` (trimmed) through Prefect + Dask into zarr.

The sweep file with N = 100 only (alpha = 0.01 is p = 1 there: the Mattis ferromagnet, every
run retrieves; alpha = 0.02 is p = 2), three tau and 6 samples, the store in tmp_path. Checked:
the store's layout and completeness, the stored energies against the couplings regenerated from
the store's own config, the outcome fractions, the figure, and the report rows (estimates and
the HTML page).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from statmech.analysis import hopfield as an
from statmech.config import parse_config
from statmech.models.hopfield.model import ANNEAL_VARIABLES, Hopfield
from statmech.models.hopfield.presentation import PRESENTATION
from statmech.seeding import unit_seed
from statmech.store import open_dataset

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.slow  # ~30 s with the Prefect server and the Dask cluster; the same
# presentation checks on a store made without orchestration run by default
# (tests/test_hopfield_anneal.py::test_presentation_of_an_anneal_store)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> Path:
    from flows.sweep import run_sweep

    raw = yaml.safe_load((ROOT / "configs" / "hopfield-anneal-quick.yaml").read_text())
    assert raw["settings"]["dynamics"] == "anneal" and raw["axes"]["N"] == [100, 400]
    path = tmp_path_factory.mktemp("hanneal") / "quick.zarr"
    raw["axes"] = {"N": [100], "alpha": [0.01, 0.02], "tau": [1, 30, 300]}
    raw["replicas"] = 6
    raw["store"] = str(path)
    summary = run_sweep(parse_config(yaml.safe_dump(raw)), workers=2)
    assert summary["missing"] == 0 and summary["failed"] == 0
    assert summary["computed"] == 2 * 3 * 6
    return path


def test_store_layout_and_energies_of_the_stored_configurations(store: Path) -> None:
    ds = open_dataset(store).load()
    assert ds.attrs["model"] == "hopfield" and bool(ds["done"].all())
    assert dict(ds.sizes) == {"N": 1, "alpha": 2, "tau": 3, "sample": 6, "trial": 10,
                              "rank": 8, "mixture": 3, "site": 400}
    for v in ANNEAL_VARIABLES:
        assert ds[v.name].dims == ("N", "alpha", "tau", "sample", *v.dims), v.name
    sweep = parse_config(ds.attrs["config_text"])
    for alpha, tau, sample in ((0.01, 1, 0), (0.02, 300, 5)):
        point = {**sweep.fixed, "N": 100, "alpha": alpha, "tau": tau}
        xi = Hopfield.patterns(point, unit_seed(sweep.seed, "hopfield", point, sample))
        NJ = xi.astype(np.int64) @ xi.astype(np.int64).T
        np.fill_diagonal(NJ, 0)
        unit = ds.sel(N=100, alpha=alpha, tau=tau, sample=sample)
        for t in range(10):
            s = unit["final_state"].values[t, :100].astype(np.int64)
            assert not unit["final_state"].values[t, 100:].any()
            assert float(unit["e"][t]) == pytest.approx(-0.5 * s @ NJ @ s / 100**2, abs=1e-13)
            assert np.all(s * (NJ @ s) >= 0)  # the quench ends at a fixed point
    assert int(ds["p"].sel(alpha=0.01).min()) == 1 and int(ds["p"].sel(alpha=0.02).max()) == 2


def test_outcomes_figure_and_report_rows(store: Path, tmp_path: Path) -> None:
    ds = xr.open_zarr(store)
    out = an.anneal_outcomes(an.load(ds))
    assert int(out["n_runs"].min()) == 60
    p1 = out.sel(N=100, alpha=0.01)  # p = 1: every run retrieves, at every tau
    assert np.all(p1["frac"].sel(outcome="retrieval").values == 1.0)
    assert np.allclose(out["frac"].sum("outcome").values, 1.0)

    rows = PRESENTATION.estimates(ds)
    keys = [r.key for r in rows]
    assert keys[:3] == ["anneal_retrieval_N100_alpha0.01_tau300",
                        "anneal_mixture_N100_alpha0.01_tau300",
                        "anneal_retrieval_N100_alpha0.01_tau1"]
    assert len(rows) == 6 and rows[0].value == 1.0 and rows[0].error == pytest.approx(1 / 61)

    from statmech.plots import write_figures
    from statmech.report import write_report

    paths = write_figures(ds, tmp_path / "plots")
    assert [p.name for p in paths] == ["anneal_outcomes.png"]
    page = write_report(store, tmp_path / "report").read_text()
    values = dict(re.findall(r'<td class="value" data-key="([^"]+)" data-value="([^"]+)">',
                             page))
    assert set(keys) <= set(values)
    for r in rows:
        assert float(values[r.key]) == pytest.approx(r.value, rel=1e-6)
    assert (tmp_path / "report" / "anneal_outcomes.png").exists()
