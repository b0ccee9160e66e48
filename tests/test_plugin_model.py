"""A plug-in model family that lives outside the repository gets the whole tool chain.

tests/plugins/toy is copied to a temporary folder outside the repository, put on PYTHONPATH
and registered through STATMECH_MODELS only (no edit inside statmech/). Two models: ``toy``
(its own presentation: one estimate and a refinement target, generic figures) and
``toy-bare`` (no presentation at all). Every command runs as a subprocess, as a user would:
sweep --plots (the real Prefect + Dask flow), plot, report, refine, status and drift.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

HERE = Path(__file__).resolve().parent
MODELS = "toy=toy.model:Paramagnet,toy-bare=toy.model:BareParamagnet"

CONFIG = """
model: {model}
axes: {{T: [0.5, 1.0, 2.0], B: [0.0, 0.25, 0.5, 1.0]}}
fixed: {{N: 32}}
settings: {{samples: 100}}
replicas: 3
seed: 11
store: {store}
batch: {{target_seconds: 0.01}}
"""


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a user with the plug-in installed outside the repository."""
    outside = tmp_path_factory.mktemp("site")
    shutil.copytree(HERE / "plugins" / "toy", outside / "toy")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(outside), str(HERE.parent), env.get("PYTHONPATH", "")) if p)
    env["STATMECH_MODELS"] = MODELS
    env["COLUMNS"] = "200"
    return env


def cli(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "statmech", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def sweep(env: dict[str, str], tmp: Path, model: str, name: str) -> Path:
    store = tmp / f"{name}.zarr"
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(CONFIG.format(model=model, store=store))
    cli(env, "sweep", str(cfg), "--workers", "2", "--plots", str(tmp / f"{name}-plots"))
    return store


def test_toy_plugin_sweep_plot_report_refine_status(
        plugin_env: dict[str, str], tmp_path: Path, prefect_server: str) -> None:
    store = sweep(plugin_env, tmp_path, "toy", "toy")
    # sweep --plots drew the generic figures (toy declares none): one per axis
    assert sorted(p.name for p in (tmp_path / "toy-plots").iterdir()) == ["vs_B.png", "vs_T.png"]

    # exact physics: m = tanh(B/T) at every point, within the stored per-unit errors
    ds = xr.open_zarr(store).load()
    assert bool(ds["done"].all()) and ds.attrs["model"] == "toy"
    m = ds["m"].mean("replica")
    err = np.sqrt((ds["m_err"] ** 2).sum("replica")) / ds.sizes["replica"]
    z = ((m - np.tanh(ds["B"] / ds["T"])) / err).values
    z = z[np.isfinite(z)]  # B = 0 ... all points have a positive error
    assert z.size == 12 and np.abs(z).max() < 4, z
    assert np.sum(z**2) < 12 + 4 * np.sqrt(2 * 12)  # chi^2 with 12 dof

    cli(plugin_env, "report", str(store), "--out", str(tmp_path / "report"))
    page = (tmp_path / "report" / "index.html").read_text()
    shown = float(re.search(r'class="value" data-key="m_residual" data-value="([^"]+)"',
                            page).group(1))
    sys.path.insert(0, plugin_env["PYTHONPATH"].split(os.pathsep)[0])
    try:
        from toy.presentation import estimates
    finally:
        sys.path.pop(0)
    [est] = estimates(xr.open_zarr(store))
    assert shown == est.value and est.exact == 0.0 and abs(est.z) < 4

    proc = cli(plugin_env, "refine", str(store), "--near", "nope", ok=False)
    assert proc.returncode != 0
    msg = proc.stderr.strip()
    assert len(msg.splitlines()) == 1 and "half-magnetisation" in msg, msg

    cli(plugin_env, "refine", str(store), "--near", "half-magnetisation", "--points", "2",
        "--workers", "2")
    after = xr.open_zarr(store)
    assert after.sizes["B"] == 6 and bool(after["done"].all())
    history = json.loads(after.attrs["history"])
    assert history[-1]["computed"] == 2 * 3 * 3

    status = cli(plugin_env, "status", str(store))
    assert "toy" in status.stdout


@pytest.fixture(scope="module")
def bare_store(plugin_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
               prefect_server: str) -> Path:
    return sweep(plugin_env, tmp_path_factory.mktemp("bare"), "toy-bare", "bare")


def test_bare_plugin_has_generic_plots_report_status_and_drift(
        plugin_env: dict[str, str], bare_store: Path, tmp_path: Path) -> None:
    store = bare_store
    plots = store.parent / "bare-plots"
    assert sorted(p.name for p in plots.iterdir()) == ["vs_B.png", "vs_T.png"]
    cli(plugin_env, "plot", str(store), "--out", str(tmp_path / "plot"))
    assert (tmp_path / "plot" / "vs_T.png").stat().st_size > 0
    cli(plugin_env, "report", str(store), "--out", str(tmp_path / "report"))
    page = (tmp_path / "report" / "index.html").read_text()
    assert "No estimates for this model." in page and 'src="vs_T.png"' in page
    assert "toy-bare" in page and "core-seconds" in page  # provenance and cost

    proc = cli(plugin_env, "refine", str(store), "--near", "binder-crossing", ok=False)
    assert proc.returncode != 0
    msg = proc.stderr.strip()
    assert len(msg.splitlines()) == 1 and "no refinement targets" in msg, msg

    status = cli(plugin_env, "status", str(store))
    assert "toy-bare" in status.stdout
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    drift = cli(plugin_env, "drift", str(store), str(copy))
    assert "identical" in drift.stdout.lower()


@pytest.mark.slow  # a second sweep through the flow
def test_bare_plugin_reruns_bitwise_identically(
        plugin_env: dict[str, str], bare_store: Path, tmp_path: Path) -> None:
    rerun = sweep(plugin_env, tmp_path, "toy-bare", "bare-again")
    drift = cli(plugin_env, "drift", str(bare_store), str(rerun))
    assert "identical" in drift.stdout.lower()
