"""End to end: a small variant of configs/curie-weiss-quick.yaml (and a tiny escape sweep) through
Prefect and Dask into zarr stores; stored values against the exact finite-N sums; the
presentation's figures and estimates computed on the stores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from statmech.config import load_config, parse_config
from statmech.models.ising.model import VARIABLES as ISING_VARIABLES
from statmech.store import open_dataset
from statmech.theory import curie_weiss as th

ROOT = Path(__file__).resolve().parent.parent


def _small_quick(store: Path) -> str:
    """The quick config with fewer points and sweeps (same settings otherwise)."""
    text = (ROOT / "configs" / "curie-weiss-quick.yaml").read_text()
    text = text.replace("N: [100, 1000, 10000]", "N: [100, 1000]")
    text = text.replace("T: [0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4]",
                        "T: [0.7, 1.0, 1.3]")
    text = text.replace("sweeps: 8000", "sweeps: 4000")
    return text.replace("store: results/curie-weiss-quick.zarr", f"store: {store}")


def test_quick_config_is_valid() -> None:
    sweep = load_config(ROOT / "configs" / "curie-weiss-quick.yaml")
    assert sweep.model.name == "curie-weiss"
    assert sweep.settings.protocol == "equilibrium"
    for name in ("curie-weiss", "curie-weiss-hysteresis", "curie-weiss-escape"):
        load_config(ROOT / "configs" / f"{name}.yaml")


@pytest.mark.timeout(600)
def test_sweep_end_to_end_against_exact(prefect_server: str, tmp_path: Path) -> None:
    from flows.sweep import run_sweep
    from statmech.models.curie_weiss import presentation

    sweep = parse_config(_small_quick(tmp_path / "cw.zarr"))
    summary = run_sweep(sweep, workers=2)
    n_units = 2 * 3 * 2 * sweep.replicas
    assert summary["computed"] == n_units and summary["failed"] == 0

    ds = open_dataset(sweep.store)
    assert ds.attrs["model"] == "curie-weiss"
    assert "-(J/2N)(M^2 - N) - B M" in ds.attrs["conventions"]
    assert json.loads(ds.attrs["settings"])["protocol"] == "equilibrium"
    for v in ISING_VARIABLES:
        assert ds[v.name].dims == ("N", "T", "B", "replica")
    assert bool(ds["done"].all())

    # every stored observable against the exact partition sums, 4 standard errors
    for N in ds["N"].values:
        for T in ds["T"].values:
            for B in ds["B"].values:
                pt = ds.sel(N=N, T=T, B=B)
                exact = th.finite_moments(int(N), float(T), float(B))
                for name in ("e", "m", "abs_m", "m2", "m4", "C", "chi", "U4"):
                    v = pt[name].values
                    err = math.sqrt(float((pt[f"{name}_err"].values ** 2).sum())) / v.size
                    z = (v.mean() - exact[name]) / err
                    assert abs(z) < 4, (name, int(N), float(T), float(B), v.mean(), exact[name])

    figs = presentation.figures(ds)
    assert set(figs) == {"observables_B0", "observables_B0.03", "tc_scaling"}
    rows = presentation.estimates(ds)
    by_key = {r.key: r for r in rows}
    for N in (100, 1000):
        u4 = by_key[f"tc_U4_N{N}"]
        assert u4.exact == pytest.approx(th.finite_moments(N, 1.0)["U4"])
        assert abs(u4.z) < 4
    for name in ("e", "m", "abs_m", "m2", "m4", "C", "chi", "U4"):
        worst = by_key[f"exact_max_z_{name}"]
        assert abs(worst.value) < 4 and worst.details["N"] in (100, 1000)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_escape_sweep_end_to_end(prefect_server: str, tmp_path: Path) -> None:
    from flows.sweep import run_sweep
    from statmech.models.curie_weiss import presentation

    text = (ROOT / "configs" / "curie-weiss-escape.yaml").read_text()
    text = text.replace("N: [64, 256, 1024]", "N: [64]")
    text = text.replace("B: [-0.2, -0.1, -0.07, -0.05, -0.045]", "B: [-0.2, -0.1]")
    text = text.replace("store: results/curie-weiss-escape.zarr", f"store: {tmp_path / 'e.zarr'}")
    sweep = parse_config(text)
    summary = run_sweep(sweep, workers=2)
    assert summary["failed"] == 0
    ds = open_dataset(sweep.store)
    assert bool(ds["escaped"].all())
    rows = presentation.estimates(ds)
    assert len(rows) == 2
    for r in rows:
        assert r.exact is not None and abs(r.z) < 4, (r.key, r.value, r.exact)
    assert set(presentation.figures(ds)) == {"escape"}
    np.testing.assert_allclose(
        sorted(r.exact for r in rows),
        sorted(th.mean_escape_time(64, 0.8, b) for b in (-0.2, -0.1)))
