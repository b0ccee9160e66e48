"""Interrupts with real processes: Ctrl-C and SIGTERM stop a sweep at once with one line, the
lock released and nothing lost; the temporary Prefect server never outlives the command and a
dead one is replaced; two sweeps started together: the loser is refused with exit code 3.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import xarray as xr

from flows.sweep import run_sweep
from statmech.config import parse_config
from statmech.plan import prepare
from statmech.runner import run_units
from statmech.store import Store, lock_path

TESTS = Path(__file__).resolve().parent
os.environ["STATMECH_MODELS"] = "faulty=faulty:Faulty"
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)

TEXT = """
model: faulty
axes: {{x: [0, 1, 2, 3, 4, 5]}}
settings: {{sleep: {sleep}}}
replicas: 2
seed: 11
store: {store}
batch: {{size: 1}}
"""


def numbers(path: Path) -> xr.Dataset:
    ds = xr.open_zarr(path).load()[["y", "done", "failed"]]
    ds.attrs = {}
    return ds


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The undisturbed values, computed in-process (no cluster; y does not depend on sleep)."""
    store = tmp_path_factory.mktemp("ref") / "ref.zarr"
    text = TEXT.format(sleep=0.0, store=store)
    plan = prepare(parse_config(text))
    run_units(str(store), text, [[*u[0], u[1]] for u in plan.missing])
    return store


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the module's commands (the database is migrated once)."""
    return tmp_path_factory.mktemp("prefect-home")


def start(home: Path, config: Path, *args: str, api: str | None = None
          ) -> subprocess.Popen[str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "COLUMNS": "200"}
    env.pop("PREFECT_API_URL", None)  # the command starts its own temporary server ...
    if api:  # ... unless it is given one
        env["PREFECT_API_URL"] = api
    return subprocess.Popen([sys.executable, "-m", "statmech", "sweep", str(config),
                             "--workers", "1", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def children(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` and their command lines."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                out[int(stat.parent.name)] = cmd
        except (OSError, IndexError, ValueError):
            continue
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout} s")


def done(store: Path) -> int:
    try:
        return int(Store(store).done_mask().sum())
    except Exception:  # not created yet
        return 0


def server_of(pid: int) -> int:
    servers = [p for p, cmd in children(pid).items() if "uvicorn" in cmd]
    assert len(servers) == 1, children(pid)
    return servers[0]


def config_file(tmp_path: Path, sleep: float) -> tuple[Path, Path]:
    store = tmp_path / "s.zarr"
    config = tmp_path / "s.yaml"
    config.write_text(TEXT.format(sleep=sleep, store=store))
    return config, store


def test_two_at_once_then_ctrl_c_stops_at_once_and_loses_nothing(
        tmp_path: Path, home: Path, reference: Path, prefect_server: str) -> None:
    config, store = config_file(tmp_path, 0.5)
    procs = [start(home, config), start(home, config)]
    wait_for(lambda: any(p.poll() is not None for p in procs), 120, "the loser to exit")
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    _, err = loser.communicate()
    assert loser.returncode == 3, err
    assert "being computed by pid" in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err

    wait_for(lambda: done(store) >= 2, 180, "two units")
    kids = children(winner.pid)
    assert any("uvicorn" in c for c in kids.values()) and len(kids) >= 2, kids
    os.killpg(winner.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    t0 = time.perf_counter()
    out, err = winner.communicate(timeout=30)
    assert time.perf_counter() - t0 < 5
    assert winner.returncode == 130, err
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1].startswith("interrupted (Ctrl-C)") and "are kept" in lines[-1], err
    assert not any("Error" in ln or "Exception" in ln for ln in lines), err
    assert not lock_path(store).exists()
    wait_for(lambda: not any(alive(p) for p in kids), 10, "server and workers to end")
    before = numbers(store)
    done_before = int(before["done"].sum())
    assert 2 <= done_before < 12
    # the rerun completes the rest; the units stored before the interrupt are unchanged
    summary = run_sweep(parse_config(config.read_text()), workers=1)
    assert summary["missing"] == 0 and summary["skipped"] >= done_before
    xr.testing.assert_identical(numbers(reference), numbers(store))


def test_killed_client_takes_its_prefect_server_along(home: Path) -> None:
    code = ("from statmech.cluster import prefect_api\n"
            "import time\n"
            "with prefect_api() as url:\n"
            "    print(url, flush=True)\n"
            "    time.sleep(600)\n")
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        server = server_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the client alone: nobody runs its clean-up
        proc.wait(30)
        wait_for(lambda: not alive(server), 5, "the orphaned Prefect server to end")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_dead_server_is_replaced_and_sigterm_stops_at_once(tmp_path: Path,
                                                            home: Path) -> None:
    config, store = config_file(tmp_path, 0.5)
    proc = start(home, config)
    wait_for(lambda: done(store) >= 2 or proc.poll() is not None, 180, "two units")
    dead = server_of(proc.pid)
    os.kill(dead, signal.SIGKILL)
    before = done(store)
    # the sweep goes on: Prefect's calls reach a new server on the same port
    wait_for(lambda: done(store) >= before + 2 or proc.poll() is not None, 60,
             "two more units after the server died")
    assert proc.poll() is None
    replacement = server_of(proc.pid)
    assert replacement != dead
    kids = children(proc.pid)
    proc.send_signal(signal.SIGTERM)  # the client only, as a service manager does
    t0 = time.perf_counter()
    out, err = proc.communicate(timeout=30)
    assert time.perf_counter() - t0 < 5
    assert proc.returncode == 143, err
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1].startswith("interrupted (SIGTERM)"), err
    assert not lock_path(store).exists()
    wait_for(lambda: not any(alive(p) for p in kids), 10, "server and workers to end")
