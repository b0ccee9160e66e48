"""The HTML report in a real headless browser (Debian's chromium), and its numbers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from statmech.analysis import ising
from statmech.config import parse_config
from statmech.plan import prepare
from statmech.seeding import unit_seed
from statmech.store import UnitWriter

TEXT = """
model: ising2d
axes: {{L: [4, 8, 16], T: [2.0, 2.1, 2.2, 2.25, 2.3, 2.35, 2.4, 2.5, 2.6]}}
settings: {{thermalization: 1000, sweeps: 20000}}
replicas: 2
seed: 4
store: {store}
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Ising store filled without orchestration (the flow is tested elsewhere)."""
    path = tmp_path_factory.mktemp("report") / "s.zarr"
    sw = parse_config(TEXT.format(store=path))
    plan = prepare(sw)
    writer = UnitWriter(path)
    for idx, rep in plan.missing:
        point = plan.grid.point(idx)
        writer.write((idx, rep), sw.model.run(point, sw.settings,
                                              unit_seed(sw.seed, "ising2d", point, rep)), 0.1)
    return path


def browser():  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_report_renders_in_headless_chromium(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "statmech", "report", str(store), "--out",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    page = out / "index.html"
    drv = browser()
    try:
        drv.get(page.as_uri())
        images = drv.execute_script(
            "return Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth])")
        assert len(images) >= 2
        for src, complete, width in images:
            assert complete and width > 0, f"image did not render: {src}"
        cells = drv.execute_script(
            "return Array.from(document.querySelectorAll('td.value'))"
            ".map(td => [td.dataset.key, td.dataset.value, td.textContent])")
        errors = drv.execute_script(
            "return Object.fromEntries(Array.from(document.querySelectorAll('td.error'))"
            ".map(td => [td.dataset.key, td.dataset.value]))")
        title = drv.title
    finally:
        drv.quit()
    assert "ising2d" in title or "statmech" in title
    shown = {k: (float(v), float(errors[k])) for k, v, _ in cells}
    ds = xr.open_zarr(store)
    cr = ising.binder_crossings(ds)
    assert shown["Tc_binder_8-16"] == (float(cr["Tc"].values[1]), float(cr["Tc_err"].values[1]))
    summary = ising.summary(ds)
    fit = summary["chi_Tc_fit"]["Tc"]
    assert shown["Tc_chi_peak_fit"] == (fit.value, fit.error)
    g = summary["gamma_over_nu"]["exponent"]
    assert shown["gamma_over_nu"] == (g.value, g.error)


def test_binder_crossing_is_consistent_with_onsager(store: Path) -> None:
    from statmech.theory.ising import TC_2D

    est = ising.tc_estimate(xr.open_zarr(store))
    assert abs(est.value - TC_2D) < 4 * est.error
    assert est.error < 0.02
    assert np.isfinite(est.error)
