"""Prefect on PostgreSQL, as in the docker-compose stack and any real deployment: a throwaway
PostgreSQL cluster (initdb / pg_ctl, as the postgres user, on a free port of 127.0.0.1), a
``prefect server start`` on it with basic auth, a sweep and a served scheduled deployment.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import xarray as xr

TESTS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
AUTH = "statmech:pg-test-secret"
FAULTY = """
model: faulty
axes: {{x: [0, 1, 2, 3]}}
replicas: 2
seed: 8
store: {store}
batch: {{size: 4}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{what} within {timeout} s")


def pg_bin(name: str) -> str | None:
    """A PostgreSQL program: on PATH, or in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


class PostgresCluster:
    """``initdb`` + ``pg_ctl start`` in a temporary folder; ``stop`` removes everything."""

    def __init__(self) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        self.pg_ctl = pg_ctl
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run PostgreSQL")
        self.dir = Path(tempfile.mkdtemp(prefix="statmech-pg-"))
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.port = free_port()
        self.data = self.dir / "data"
        self.run([initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8"])
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self.run([pg_ctl, "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts, "-w",
                  "-t", "120", "start"])
        createdb = pg_bin("createdb")
        assert createdb
        self.run([createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "prefect"])
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/prefect"

    def run(self, cmd: list[str]) -> None:
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid}
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=self.dir,
                             **kwargs)  # type: ignore[call-overload]
        assert out.returncode == 0, out.stdout + out.stderr

    def stop(self) -> None:
        try:
            self.run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Stack:
    """PostgreSQL, a Prefect server on it (basic auth), a Dask scheduler and one worker."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pg = PostgresCluster()
        port = free_port()
        self.api = f"http://127.0.0.1:{port}/api"
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "PREFECT_API_URL": self.api,
            "PREFECT_API_AUTH_STRING": AUTH,
            "PREFECT_SERVER_API_AUTH_STRING": AUTH,
            "PREFECT_API_DATABASE_CONNECTION_URL": self.pg.url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "STATMECH_MODELS": "faulty=faulty:Faulty",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS),
                                                       os.environ.get("PYTHONPATH")])),
        }
        try:
            self.start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                        "--port", str(port)], "prefect-server")
            wait_for(lambda: httpx.get(f"{self.api}/health", timeout=2).status_code == 200,
                     180, "the Prefect server on PostgreSQL")
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
        log = open(self.tmp / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def headers(self) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(AUTH.encode()).decode()}

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.pg.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from statmech.cluster import drain_prefect_workers

    st = Stack(tmp_path_factory.mktemp("pg-stack"))
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
