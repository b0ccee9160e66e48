"""Failures lose nothing: retries, recorded errors, killed runs, concurrent sweeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xarray as xr

from flows.sweep import run_sweep
from statmech.config import parse_config
from statmech.store import Store, StoreBusyError, store_lock

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module", autouse=True)
def faulty_registered() -> Iterator[None]:
    """``faulty`` registered for this module's tests and their workers, then unregistered."""
    from statmech import models

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STATMECH_MODELS", "faulty=faulty:Faulty")
        mp.setenv("PYTHONPATH", os.pathsep.join(
            p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p))
        mp.syspath_prepend(str(TESTS))
        models._registry.cache_clear()
        models.get_model.cache_clear()
        yield
    models._registry.cache_clear()
    models.get_model.cache_clear()

TEXT = """
model: faulty
axes: {{x: [0, 1, 2, 3, 4, 5, 6, 7]}}
settings: {{sleep: {sleep}, flaky_on: {flaky}, marks: "{marks}"}}
replicas: 2
seed: 5
store: {store}
batch: {{size: 4}}
retries: 1
"""


def cfg(tmp: Path, store: Path, sleep: float = 0.0, flaky: str = "[]") -> str:
    return TEXT.format(sleep=sleep, flaky=flaky, marks=tmp / "marks", store=store)


def numbers(path: Path) -> xr.Dataset:
    ds = xr.open_zarr(path).load()[["y", "y_err", "done", "failed"]]
    ds.attrs = {}
    return ds


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> Path:
    tmp = tmp_path_factory.mktemp("undisturbed")
    store = tmp / "ref.zarr"
    summary = run_sweep(parse_config(cfg(tmp, store)), workers=2)
    assert summary["missing"] == 0
    return store


def test_grouped_units_equal_single_units_and_a_failing_group_is_split(
        tmp_path: Path, undisturbed: Path) -> None:
    store = tmp_path / "g.zarr"
    text = cfg(tmp_path, store).replace('marks: "', 'group: 3, marks: "')
    os.environ["FAULTY_FAIL_ON"] = "3"  # fails the groups holding x = 3: their units run alone
    try:
        summary = run_sweep(parse_config(text), workers=2)
    finally:
        del os.environ["FAULTY_FAIL_ON"]
    assert summary["missing"] == 2 and summary["failed"] == 2
    assert len(Store(store).errors()) == 2
    ref, got = numbers(undisturbed), numbers(store)
    ok = got["x"] != 3.0
    xr.testing.assert_identical(ref["y"].where(ok), got["y"].where(ok))
    assert int(got["done"].sum()) == 14


def test_failing_units_are_retried_recorded_and_the_rest_completes(
        tmp_path: Path, undisturbed: Path) -> None:
    store = tmp_path / "f.zarr"
    sweep = parse_config(cfg(tmp_path, store, flaky="[5.0]"))
    os.environ["FAULTY_FAIL_ON"] = "3"  # a bug in the "kernel" for x = 3
    try:
        summary = run_sweep(sweep, workers=2)
    finally:
        del os.environ["FAULTY_FAIL_ON"]
    # x = 3 always fails (2 replicas): missing and failed after the retry; x = 5 failed once
    # and succeeded on the retry; everything else completed
    assert summary["missing"] == 2 and summary["failed"] == 2
    st = Store(store)
    errors = st.errors()
    assert len(errors) == 2 and all("kernel assertion failed at x=3.0" in e["error"]
                                    for e in errors)
    assert all(e["final"] for e in errors)
    ref, got = numbers(undisturbed), numbers(store)
    ok = got["x"] != 3.0
    xr.testing.assert_identical(ref["y"].where(ok), got["y"].where(ok))
    assert list((tmp_path / "marks").iterdir())  # the flaky units did fail once
    # the CLI says what failed and exits non-zero; status shows the error
    status = subprocess.run([sys.executable, "-m", "statmech", "status", str(store)],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "250"})
    assert "kernel assertion failed" in status.stdout and "failed" in status.stdout
    # the bug fixed, the same sweep file rerun computes exactly the two missing units
    again = run_sweep(sweep, workers=1)
    assert again["computed"] == 2 and again["missing"] == 0 and again["failed"] == 0
    xr.testing.assert_identical(numbers(undisturbed), numbers(store))
    assert Store(store).errors() == []


def test_killed_run_resumes_and_matches(tmp_path: Path, undisturbed: Path) -> None:
    store = tmp_path / "k.zarr"
    config = tmp_path / "k.yaml"
    config.write_text(cfg(tmp_path, store, sleep=0.5))
    env = {**os.environ}
    env.pop("PREFECT_API_URL", None)  # the CLI starts its own temporary server
    proc = subprocess.Popen([sys.executable, "-m", "statmech", "sweep", str(config),
                             "--workers", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    def done() -> int:
        try:
            return int(Store(store).done_mask().sum())
        except (FileNotFoundError, KeyError, ValueError):  # the store is being created
            return 0

    deadline = time.time() + 180
    while time.time() < deadline and not 2 <= done() < 16:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run: CLI, server, cluster
    proc.wait()
    done_before = int(Store(store).done_mask().sum())
    assert 2 <= done_before < 16
    summary = run_sweep(parse_config(config.read_text()), workers=2)
    assert summary["skipped"] >= done_before and summary["missing"] == 0
    assert summary["computed"] == 16 - summary["skipped"]
    xr.testing.assert_identical(numbers(undisturbed), numbers(store))


def test_two_sweeps_on_one_store(tmp_path: Path) -> None:
    store = tmp_path / "c.zarr"
    with store_lock(store):
        with pytest.raises(StoreBusyError, match="being computed by pid"):
            run_sweep(parse_config(cfg(tmp_path, store)), workers=1)
        config = tmp_path / "c.yaml"
        config.write_text(cfg(tmp_path, store))
        out = subprocess.run([sys.executable, "-m", "statmech", "sweep", str(config)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 3 and "being computed" in out.stderr
    # a lock left by a dead process is taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = store.with_name(store.name + ".lock")
    lock.write_text(f'{{"host": "{os.uname().nodename}", "pid": {dead.pid}, "since": "x"}}')
    with store_lock(store):
        assert lock.exists()
    assert not lock.exists()


def test_killed_between_compute_and_flush_loses_only_unflushed_results(
        tmp_path: Path, undisturbed: Path) -> None:
    """SIGKILL the sweep process while computed results wait in its buffer, then rerun."""
    store = tmp_path / "u.zarr"
    config = tmp_path / "u.yaml"
    config.write_text(cfg(tmp_path, store))
    trace = tmp_path / "trace"
    trace.mkdir()
    env = {**os.environ, "FAULTY_TRACE": str(trace), "FAULTY_SLOW_ON": "7",
           "FAULTY_SLOW_SECONDS": "120",
           # no timed flush, one block: nothing reaches the disk before the slow units end
           "STATMECH_FLUSH_SECONDS": "3600", "STATMECH_MAX_BLOCKS": "1"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "statmech", "sweep", str(config),
                             "--workers", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and len(list(trace.iterdir())) < 14:
        time.sleep(0.2)
    time.sleep(1.0)  # the 14 fast results travel back to the sweep process
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(trace.iterdir())) >= 14  # computed ...
    assert int(Store(store).done_mask().sum()) == 0  # ... but not flushed: lost, nothing else
    summary = run_sweep(parse_config(config.read_text()), workers=2)
    assert summary["computed"] == 16 and summary["missing"] == 0
    xr.testing.assert_identical(numbers(undisturbed), numbers(store))
