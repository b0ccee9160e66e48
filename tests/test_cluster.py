"""The cluster topology without containers: a real Prefect server, a real Dask scheduler and
real workers on loopback, started and stopped here; sweeps, a killed worker, scheduled reruns.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import xarray as xr

from flows.sweep import run_sweep
from statmech.cluster import drain_prefect_workers
from statmech.config import parse_config
from statmech.store import Store

TESTS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


class Topology:
    """Prefect server + Dask scheduler + worker processes, all on 127.0.0.1."""

    def __init__(self, tmp: Path, n_workers: int = 2):
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.api = f"http://127.0.0.1:{free_port()}/api"
        port = int(self.api.split(":")[2].split("/")[0])
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "PREFECT_API_URL": self.api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "STATMECH_MODELS": "faulty=faulty:Faulty",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS),
                                                       os.environ.get("PYTHONPATH")])),
        }
        self.start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                    "--port", str(port)], "prefect-server")
        wait_for(lambda: httpx.get(f"{self.api}/health", timeout=2).status_code == 200, 120,
                 "prefect server")
        sched = free_port()
        self.address = f"tcp://127.0.0.1:{sched}"
        self.start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                    str(sched), "--dashboard-address", f"127.0.0.1:{free_port()}"],
                   "scheduler")
        self.workers = [self.add_worker(i) for i in range(n_workers)]
        self.wait_workers(n_workers)

    def start(self, cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def add_worker(self, i: int) -> subprocess.Popen[bytes]:
        return self.start([str(BIN / "dask"), "worker", self.address, "--nthreads", "1",
                           "--no-nanny", "--name", f"w{i}", "--host", "127.0.0.1"],
                          f"worker{i}")

    def wait_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as c:
            c.wait_for_workers(n, timeout=60)

    def stop(self) -> None:
        """Stop the newest first, each before the next: a worker stopped while its scheduler
        went down too hung 15 s in its close (all at once, this teardown took 15 s, not 1)."""
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from statmech import models

    topo = Topology(tmp_path_factory.mktemp("topology"))
    old = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "STATMECH_MODELS", "PYTHONPATH")}
    os.environ.update({k: topo.env[k] for k in old})
    models._registry.cache_clear()  # the registry reads STATMECH_MODELS once
    models.get_model.cache_clear()
    try:
        with temporary_settings(updates={PREFECT_API_URL: topo.api}):
            try:
                yield topo
            finally:  # send queued events while the server is still up
                drain_prefect_workers()
    finally:
        topo.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        models._registry.cache_clear()
        models.get_model.cache_clear()


ISING = """
model: ising2d
axes: {{L: [8, 16], T: [2.0, 2.3, 2.6]}}
settings: {{thermalization: 200, sweeps: 5000}}
replicas: 2
seed: 31
store: {store}
batch: {{size: 2}}
"""


def test_sweep_on_a_separately_started_cluster_reports_to_the_server(
        topology: Topology, tmp_path: Path) -> None:
    store = tmp_path / "ising.zarr"
    summary = run_sweep(parse_config(ISING.format(store=store)), address=topology.address)
    assert summary["computed"] == 12 and summary["missing"] == 0
    # the flow and its task runs are on the real server, with meaningful names
    runs = httpx.post(f"{topology.api}/task_runs/filter", json={"limit": 200}).json()
    names = {r["name"] for r in runs}
    blocks = {n for n in names if n.startswith("ising2d block ")}
    # one task run per block of Dask groups, named after what it holds; never one per unit
    assert blocks and len(blocks) <= summary["batches"] < 12, names
    assert any(n.endswith("units from L=16 T=2.6") or "units from" in n for n in blocks), names
    flows = httpx.post(f"{topology.api}/flow_runs/filter", json={"limit": 50}).json()
    assert any(f["state_type"] == "COMPLETED" for f in flows)


FAULTY = """
model: faulty
axes: {{x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}
settings: {{sleep: {sleep}}}
replicas: 2
seed: 8
store: {store}
batch: {{size: 4}}
"""


def numbers(path: Path) -> xr.Dataset:
    ds = xr.open_zarr(path).load()[["y", "done", "failed"]]
    ds.attrs = {}
    return ds


def test_killed_worker_loses_nothing(topology: Topology, tmp_path: Path) -> None:
    ref = tmp_path / "ref.zarr"
    run_sweep(parse_config(FAULTY.format(sleep=0.0, store=ref)), address=topology.address)
    store = tmp_path / "killed.zarr"
    sweep = parse_config(FAULTY.format(sleep=0.4, store=store))
    victim = topology.workers[0]

    def kill_when_started() -> None:
        wait_for(lambda: Store(store).done_mask().sum() >= 2, 120, "first units")
        os.killpg(victim.pid, signal.SIGKILL)

    import threading

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    summary = run_sweep(sweep, address=topology.address)
    killer.join()
    assert victim.poll() is not None  # the worker really died mid-sweep
    assert summary["missing"] == 0 and summary["failed"] == 0
    xr.testing.assert_identical(numbers(ref), numbers(store))
    topology.workers[0] = topology.add_worker(10)
    topology.wait_workers(2)


def test_served_deployment_reruns_and_reports_identical(topology: Topology,
                                                        tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(FAULTY.format(sleep=0.0, store=tmp_path / "tiny.zarr"))
    root = tmp_path / "runs"
    serve = topology.start([str(BIN / "statmech"), "deploy", str(config), "--interval", "4",
                            "--root", str(root), "--address", topology.address], "deploy")
    try:
        wait_for(lambda: any(json.loads(p.read_text())["verdict"] == "identical"
                             for p in root.glob("*.drift.json")), 240, "a second run")
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)
    report = sorted(root.glob("*.drift.md"))[-1].read_text()
    assert "identical" in report and "PASS" in report
    runs = sorted(root.glob("*.zarr"))
    assert len(runs) >= 2
    xr.testing.assert_identical(numbers(runs[0]), numbers(runs[1]))
    artifacts = httpx.post(f"{topology.api}/artifacts/filter", json={"limit": 20}).json()
    assert any(a.get("key") == "drift-tiny" for a in artifacts)
