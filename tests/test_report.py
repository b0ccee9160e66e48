"""The HTML report in a real headless browser (Debian's chromium), and its numbers."""

from __future__ import annotations

import re
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
from statmech.theory.ising import C_PEAK_LOG_SLOPE_2D, TC_2D
from statmech.writer import UnitWriter

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
    ds = xr.open_zarr(store)
    assert title == str(ds.attrs.get("title", store.name))
    shown = {k: (float(v), float(errors[k])) for k, v, _ in cells}
    check_numbers(shown, ds)


def check_numbers(shown: dict[str, tuple[float, float]], ds: xr.Dataset) -> None:
    """The page's estimates are statmech.analysis's, bit for bit, against the exact values."""
    cr = ising.binder_crossings(ds)
    for i, pair in enumerate(cr["pair"].values):
        assert shown[f"Tc_binder_{pair}"] == (float(cr["Tc"].values[i]),
                                              float(cr["Tc_err"].values[i]))
    summary = ising.summary(ds)
    for name in ("chi", "C"):
        fit = summary[f"{name}_Tc_fit"]["Tc"]
        assert shown[f"Tc_{name}_peak_fit"] == (fit.value, fit.error)
    g = summary["gamma_over_nu"]["exponent"]
    assert shown["gamma_over_nu"] == (g.value, g.error)
    b = summary["C_log_fit"]["b"]
    assert shown["C_log_slope"] == (b.value, b.error)
    assert set(shown) == {*(f"Tc_binder_{p}" for p in cr["pair"].values), "Tc_chi_peak_fit",
                          "Tc_C_peak_fit", "gamma_over_nu", "C_log_slope"}
    # the largest pair's crossing is within 4 standard errors of Onsager's Tc
    tc, err = shown["Tc_binder_8-16"]
    assert abs(tc - TC_2D) < 4 * err


def _cells(page: str, cls: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(
        rf'<td class="{cls}" data-key="([^"]+)" data-value="([^"]+)">', page)}


def test_report_page_numbers_and_exact_references(store: Path, tmp_path: Path) -> None:
    """Without a browser: the page's table against statmech.analysis and statmech.theory."""
    from statmech.report import write_report

    page = write_report(store, tmp_path / "r").read_text()
    values, errors = _cells(page, "value"), _cells(page, "error")
    check_numbers({k: (v, errors[k]) for k, v in values.items()}, xr.open_zarr(store))
    # exact references and z-scores as rendered: Onsager Tc, 7/4, Ferdinand-Fisher
    assert f"{TC_2D:.6g} Onsager" in page and "1.75 exact 7/4" in page
    assert f"{C_PEAK_LOG_SLOPE_2D:.6g} exact (2/pi) ln^2(1+sqrt 2)" in page
    tc, err = values["Tc_binder_8-16"], errors["Tc_binder_8-16"]
    assert f"{(tc - TC_2D) / err:.2g}</td>" in page
    assert (tmp_path / "r" / "finite_size_scaling.png").exists()
    assert (tmp_path / "r" / "observables.png").exists()


def test_binder_crossing_is_consistent_with_onsager(store: Path) -> None:
    est = ising.tc_estimate(xr.open_zarr(store))
    assert abs(est.value - TC_2D) < 4 * est.error
    assert est.error < 0.02
    assert np.isfinite(est.error)


def test_each_run_shows_how_busy_its_cluster_was(store: Path, tmp_path: Path) -> None:
    from statmech.report import write_report
    from statmech.store import Store

    copy = tmp_path / "s.zarr"
    shutil.copytree(store, copy)
    Store(copy).append_history({"start_time": "2026-12-01T15:00:00+00:00", "computed": 2560,
                                "skipped": 0, "wall_seconds": 20.5, "worker_threads": 128,
                                "busy": 0.976})
    page = write_report(copy, tmp_path / "r").read_text()
    assert ("2560 computed, 0 skipped, 20.5 s wall, cluster 98% busy on 128 worker threads"
            in page)
