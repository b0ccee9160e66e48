"""End to end: trimmed ``sk-phase-quick`` and ``sk-anneal-quick`` sweeps through Prefect + Dask.

The stored disorder averages equal the exact enumeration averages of the same samples
(couplings regenerated from the store's config) within 4 thermal standard errors; the
annealing store holds the enumeration's samples (the same e0 as ``method: enumeration``), never
goes below e0, and the presentation (figures, estimates) works on both stores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from statmech.analysis import sk_phase as an
from statmech.config import parse_config
from statmech.models.sk.model import SK, SKSettings
from statmech.models.sk.presentation import PRESENTATION
from statmech.seeding import unit_seed
from statmech.store import open_dataset

ROOT = Path(__file__).resolve().parent.parent
Z_MAX = 4.0


def _sweep(name: str, changes: dict, store: Path) -> None:
    from flows.sweep import run_sweep

    raw = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
    for key, value in changes.items():
        section, _, sub = key.partition(".")
        if sub:
            raw[section][sub] = value
        else:
            raw[section] = value
    raw["store"] = str(store)
    summary = run_sweep(parse_config(yaml.safe_dump(raw)), workers=2)
    assert summary["missing"] == 0 and summary["failed"] == 0


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("skphase")
    out = {"phase": tmp / "phase.zarr", "anneal": tmp / "anneal.zarr"}
    _sweep("sk-phase-quick", {"axes.N": [8], "axes.J0": [0.5, 1.5], "replicas": 6,
                              "settings.temperatures": [0.4, 0.8, 1.3, 2.2],
                              "settings.sweeps": 10000}, out["phase"])
    _sweep("sk-anneal-quick", {"axes.N": [12], "axes.tau": [3, 30, 300], "replicas": 8},
           out["anneal"])
    return out


def test_phase_store_equals_exact_enumeration_of_the_same_samples(stores: dict) -> None:
    ds = open_dataset(stores["phase"]).load()
    assert ds.attrs["model"] == "sk-overlap" and bool(ds["done"].all())
    exact = an.exact_same_samples(ds)
    for name in an.EXACT_NAMES:
        cmp = an.exact_comparison(ds, exact, name)
        assert int(cmp["n"].min()) == 6
        z = cmp["z"].values
        assert np.all(np.isfinite(z)) and np.all(np.abs(z) < Z_MAX), (name, z)
    rows = PRESENTATION.estimates(ds)
    assert rows[-1].key == "exact_chi2_per_dof" and rows[-1].z is not None
    assert all(abs(r.z) < Z_MAX for r in rows[:-1] if r.z is not None)
    assert {"phase_map_j0_T", "overlap_distribution"} <= set(PRESENTATION.figures(ds))


def test_anneal_store_holds_the_enumeration_samples(stores: dict) -> None:
    ds = open_dataset(stores["anneal"]).load()
    assert bool(ds["done"].all())
    sweep = parse_config(ds.attrs["config_text"])
    enum = SKSettings(max_n=20, e_bins=2)
    for s in (0, 5):
        point = {**sweep.fixed, "N": 12}
        ref = SK().run(point, enum, unit_seed(sweep.seed, "sk", point, s))
        assert np.all(ds["e0"].sel(N=12, sample=s).values == ref["e0"])
    rho = (ds["e_final"] - ds["e0"]).values
    assert np.all(rho >= 0)
    r = an.residual_energy(ds)
    assert float(r["rho"].sel(N=12, tau=3)) > float(r["rho"].sel(N=12, tau=300))
    keys = [e.key for e in PRESENTATION.estimates(ds)]
    assert keys[0] == "anneal_alpha_N12"
    assert set(PRESENTATION.figures(ds)) == {"anneal_residual_energy"}
