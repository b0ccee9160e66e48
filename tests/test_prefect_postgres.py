"""Prefect on PostgreSQL, as in the docker-compose stack and any real deployment: a throwaway
PostgreSQL cluster (initdb / pg_ctl, as the postgres user, on a free port of 127.0.0.1), a
``prefect server start`` on it with basic auth, a sweep and a served scheduled deployment.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import xarray as xr

from benchmarks.postgres import (
    AUTH,
    BIN,
    PostgresCluster,
    PostgresUnavailable,
    free_port,
    prefect_server,
    spawn,
    terminate,
    wait_for,
)

TESTS = Path(__file__).resolve().parent
FAULTY = """
model: faulty
axes: {{x: [0, 1, 2, 3]}}
replicas: 2
seed: 8
store: {store}
batch: {{size: 4}}
"""


class Stack:
    """PostgreSQL, a Prefect server on it (basic auth), a Dask scheduler and one worker."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self._exit = contextlib.ExitStack()
        try:
            self.pg = self._exit.enter_context(PostgresCluster())
            self.server = self._exit.enter_context(prefect_server(self.pg.url, tmp, env={
                "PREFECT_RUNNER_POLL_FREQUENCY": "2",
                "STATMECH_MODELS": "faulty=faulty:Faulty",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS),
                                                           os.environ.get("PYTHONPATH")])),
            }))
            self.api, self.env = self.server.api, self.server.env
            sched = free_port()
            self.address = f"tcp://127.0.0.1:{sched}"
            self.start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                        str(sched), "--dashboard-address", f"127.0.0.1:{free_port()}"],
                       "scheduler")
            self.start([str(BIN / "dask"), "worker", self.address, "--nthreads", "1",
                        "--no-nanny", "--host", "127.0.0.1"], "worker")
            from distributed import Client

            with Client(self.address, timeout=60) as c:
                c.wait_for_workers(1, timeout=120)
        except BaseException:
            self.stop()
            raise

    def start(self, cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        proc = spawn(cmd, self.env, self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc

    def headers(self) -> dict[str, str]:
        return self.server.headers()

    def stop(self) -> None:
        try:
            terminate(self.procs)
        finally:
            self._exit.close()  # the Prefect server, then PostgreSQL


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from statmech.cluster import drain_prefect_workers

    try:
        st = Stack(tmp_path_factory.mktemp("pg-stack"))
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    keys = ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "STATMECH_MODELS", "PYTHONPATH")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: st.env[k] for k in keys})
    try:
        with temporary_settings(updates={PREFECT_API_URL: st.api,
                                         PREFECT_API_AUTH_STRING: AUTH}):
            try:
                yield st
            finally:
                drain_prefect_workers()
    finally:
        st.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def numbers(path: Path) -> xr.Dataset:
    ds = xr.open_zarr(path).load()[["y", "done", "failed"]]
    ds.attrs = {}
    return ds


def test_the_server_runs_on_postgresql_and_requires_auth(stack: Stack) -> None:
    assert httpx.post(f"{stack.api}/flows/filter", json={}).status_code == 401
    response = httpx.post(f"{stack.api}/flows/filter", json={}, headers=stack.headers())
    assert response.status_code == 200
    log = (stack.tmp / "prefect-server.log").read_text(errors="replace")
    assert "sqlite" not in log.lower()
    version = subprocess.run(
        [sys.executable, "-c", "import asyncio, asyncpg\n"
         f"async def m():\n c = await asyncpg.connect('postgresql://postgres@127.0.0.1:"
         f"{stack.pg.port}/prefect')\n print(await c.fetchval('select count(*) from flow'))\n"
         "asyncio.run(m())"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr  # Prefect's tables live in PostgreSQL


def test_sweep_and_scheduled_deployment_on_postgresql(stack: Stack, tmp_path: Path) -> None:
    from flows.sweep import run_sweep
    from statmech.config import parse_config

    store = tmp_path / "pg.zarr"
    summary = run_sweep(parse_config(FAULTY.format(store=store)), address=stack.address)
    assert summary["missing"] == 0 and summary["computed"] == 8
    flows = httpx.post(f"{stack.api}/flow_runs/filter", json={"limit": 50},
                       headers=stack.headers()).json()
    assert any(f["state_type"] == "COMPLETED" for f in flows)

    config = tmp_path / "tiny.yaml"
    config.write_text(FAULTY.format(store=tmp_path / "tiny.zarr"))
    root = tmp_path / "runs"
    serve = stack.start([str(BIN / "statmech"), "deploy", str(config), "--interval", "3",
                         "--root", str(root), "--address", stack.address], "deploy")
    try:
        wait_for(lambda: any(json.loads(p.read_text())["verdict"] == "identical"
                             for p in root.glob("*.drift.json")), 240, "a second run")
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)
    runs = sorted(root.glob("*.zarr"))
    xr.testing.assert_identical(numbers(runs[0]), numbers(runs[1]))
    xr.testing.assert_identical(numbers(store), numbers(runs[0]))


def test_benchmark_row_without_postgresql(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import benchmarks.postgres
    import benchmarks.scale

    monkeypatch.setattr(benchmarks.postgres, "pg_bin", lambda name: None)
    monkeypatch.setattr(benchmarks.scale, "prefect_throughput",
                        lambda sizes: [{"n": n, "client": 100.0, "stored": 20.0} for n in sizes])
    rows = benchmarks.scale.prefect_rows(tmp_path, (60,))
    assert [r["ok"] for r in rows] == [True, True]
    assert rows[0]["value"] == 20.0 and "room for 100 sweep runs" in rows[0]["check"]
    assert "not measured: PostgreSQL is not installed" in rows[1]["check"]
