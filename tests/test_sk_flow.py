"""End to end: the quick SK counting sweep through Prefect + Dask into a zarr store.

The sweep is ``configs/sk-counting-quick.yaml`` trimmed to N = 8 ... 14 (200 samples each)
with the store in tmp_path. Every stored sample is checked against a plain-numpy brute-force
enumeration of the same couplings, regenerated from the seed stream, and the disorder
averages against both the brute force and the exact finite-N theory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from statmech.analysis import sk as an
from statmech.config import parse_config
from statmech.models.sk.kernels import EPS, spins_to_code
from statmech.models.sk.model import SK
from statmech.plots import write_figures
from statmech.seeding import unit_seed
from statmech.store import open_dataset
from statmech.theory import sk as theory

ROOT = Path(__file__).resolve().parent.parent
Z_MAX = 4.0


@pytest.fixture(scope="module")
def quick_store(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> Path:
    from flows.sweep import run_sweep

    raw = yaml.safe_load((ROOT / "configs" / "sk-counting-quick.yaml").read_text())
    assert raw["replicas"] >= 200 and raw["axes"]["N"] == [8, 10, 12, 14, 16, 18, 20]
    store = tmp_path_factory.mktemp("sk") / "quick.zarr"
    raw["axes"]["N"] = [8, 10, 12, 14]
    raw["store"] = str(store)
    sweep = parse_config(yaml.safe_dump(raw))
    summary = run_sweep(sweep, workers=2)
    assert summary["missing"] == 0 and summary["failed"] == 0
    assert summary["computed"] == 4 * raw["replicas"]
    return store


def test_store_matches_brute_force_on_the_same_couplings(quick_store: Path) -> None:
    ds = an.load_store(quick_store)
    sweep = parse_config(ds.attrs["config_text"])
    assert ds.attrs["model"] == "sk" and ds.attrs["replica_dim"] == "sample"
    assert "J_ij ~ N(0, 1/N)" in ds.attrs["conventions"]
    e0 = ds["e0"].values
    deg = ds["degeneracy"].values
    ns = ds["n_stable"].values
    gs = ds["ground_state"].values
    hist = ds["ns_hist"].values
    assert ds["done"].values.all()
    brute_e0 = np.empty_like(e0)
    brute_ns = np.empty_like(ns)
    for i, n in enumerate(ds["N"].values):
        point = {"N": int(n), "B": 0.0}
        for s in range(ds.sizes["sample"]):
            jq, bq = SK.couplings(point, unit_seed(sweep.seed, "sk", point, s))
            b = theory.brute_force(jq, bq, e_min=sweep.settings.e_min,
                                   e_max=sweep.settings.e_max, bins=sweep.settings.e_bins)
            brute_e0[i, s] = b["E0"] * EPS / n
            brute_ns[i, s] = b["n_stable"]
            assert e0[i, s] == brute_e0[i, s], (n, s)
            assert deg[i, s] == b["degeneracy"] == 2  # the +-s pair at B = 0
            assert ns[i, s] == b["n_stable"]
            assert spins_to_code(gs[i, s, :n]) == b["gs_code"]
            assert np.all(gs[i, s, n:] == 0)
            assert np.array_equal(hist[i, s], b["hist"])
    mean, err = an.ground_state_energy(ds)
    assert np.array_equal(mean.values, brute_e0.mean(axis=1))
    assert np.allclose(err.values, brute_e0.std(axis=1, ddof=1) / np.sqrt(e0.shape[1]))
    c = an.complexity(ds)
    assert np.allclose(c["annealed"], np.log(brute_ns.mean(axis=1)) / ds["N"].values)
    z = (c["annealed"] - c["exact_annealed"]) / c["annealed_err"]
    assert np.all(np.abs(z.values) < Z_MAX), z.values


def test_figures_of_the_store(quick_store: Path, tmp_path: Path) -> None:
    paths = write_figures(open_dataset(quick_store), tmp_path / "plots")
    assert {p.stem for p in paths} == {"e0_finite_size", "complexity", "stable_energy_density"}
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_search_sweep_agrees_with_enumeration_sample_by_sample(
    tmp_path: Path, prefect_server: str
) -> None:
    """method: search through the flow; same seed -> same couplings as the enumeration."""
    from flows.sweep import run_sweep

    text = f"""
model: sk
axes: {{N: [12, 18]}}
fixed: {{B: 0.2}}
settings: {{method: search, max_n: 32, runs: 3, agree: 3, sweeps: 300, quenches: 200,
           temperatures: {{min: 0.2, max: 1.6, num: 12}}}}
replicas: 6
seed: 99
store: {tmp_path / "search.zarr"}
"""
    summary = run_sweep(parse_config(text), workers=2)
    assert summary["missing"] == 0
    ds = an.load_store(tmp_path / "search.zarr")
    assert ds["run_e0"].dims == ("N", "sample", "run") and ds.sizes["T"] == 12
    assert "basin" in ds["quench_chao1"].attrs["caveat"]
    p, _ = an.success_rate(ds)
    assert np.all(p.values == 1.0)
    exact = SK()
    settings = parse_config(text.replace("method: search", "method: enumeration")).settings
    for i, n in enumerate(ds["N"].values):
        point = {"N": int(n), "B": 0.2}
        for s in range(6):
            ref = exact.run(point, settings, unit_seed(99, "sk", point, s))
            assert ds["e0"].values[i, s] == ref["e0"]
            assert np.array_equal(ds["ground_state"].values[i, s], ref["ground_state"])
            assert ds["quench_distinct"].values[i, s] <= ref["n_stable"] + ref["n_marginal"]
    figs = write_figures(ds, tmp_path / "plots")
    assert {f.stem for f in figs} == {"e0_finite_size", "search_success"}
