"""A TLS Dask cluster for real: certificates from ``statmech certs``, a scheduler and a worker
as separate processes, a sweep through ``--address tls://... --tls-dir``, and clients without
the cluster's certificate refused.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from statmech.cli import app

BIN = Path(sys.executable).parent
SWEEP = """
model: ising2d
axes: {{L: [4], T: [2.0, 2.5, 3.0]}}
settings: {{thermalization: 10, sweeps: 200}}
replicas: 2
seed: 3
store: {store}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TlsCluster:
    """``dask scheduler`` and ``dask worker`` processes that accept TLS with our CA only."""

    def __init__(self, tmp: Path, certs: Path):
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}
        port = free_port()
        self.address = f"tls://127.0.0.1:{port}"
        tls = ["--tls-ca-file", str(certs / "ca.pem")]
        self.start(tmp, "scheduler", [str(BIN / "dask"), "scheduler", "--protocol", "tls",
                                      "--host", "127.0.0.1", "--port", str(port),
                                      "--dashboard-address", f"127.0.0.1:{free_port()}",
                                      *tls, "--tls-cert", str(certs / "scheduler.pem"),
                                      "--tls-key", str(certs / "scheduler-key.pem")])
        self.start(tmp, "worker", [str(BIN / "dask"), "worker", self.address, "--nthreads",
                                   "1", "--no-nanny", "--host", "127.0.0.1", *tls,
                                   "--tls-cert", str(certs / "worker.pem"),
                                   "--tls-key", str(certs / "worker-key.pem")])

    def start(self, tmp: Path, name: str, cmd: list[str]) -> None:
        log = open(tmp / f"{name}.log", "wb")
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        """Newest first, each before the next (see ``Topology.stop`` in test_cluster.py)."""
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    result = CliRunner().invoke(app, ["certs", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, certs: Path) -> Iterator[TlsCluster]:
    from distributed import Client

    from statmech.certs import security

    c = TlsCluster(tmp_path_factory.mktemp("tls"), certs)
    try:
        with Client(c.address, security=security(certs), timeout=120) as client:
            client.wait_for_workers(1, timeout=120)
        yield c
    finally:
        c.stop()


def test_certs_files_and_permissions(certs: Path) -> None:
    for name in ("ca", "scheduler", "worker", "client"):
        assert (certs / f"{name}.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
        key = certs / f"{name}-key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = CliRunner().invoke(app, ["certs", str(certs)])
    assert again.exit_code == 2 and "exists" in again.stderr  # never overwritten silently
    same = CliRunner().invoke(app, ["certs", str(certs), "--if-missing"])
    assert same.exit_code == 0


def test_sweep_through_the_tls_cluster(cluster: TlsCluster, certs: Path, tmp_path: Path,
                                       prefect_server: str) -> None:
    store = tmp_path / "tls.zarr"
    config = tmp_path / "tls.yaml"
    config.write_text(SWEEP.format(store=store))
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    proc = subprocess.run([sys.executable, "-m", "statmech", "sweep", str(config), "--address",
                           cluster.address, "--tls-dir", str(certs)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ds = xr.open_zarr(store).load()
    assert bool(ds["done"].all())
    assert (ds["e"] < 0).all()  # energies per spin of an ordered-ish lattice


async def identity(address: str, certs: Path, with_cert: bool) -> dict:
    """Ask the scheduler who it is over a raw TLS comm (our CA; a client cert or none)."""
    from distributed.comm import connect

    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.check_hostname = False
    if with_cert:
        ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client-key.pem"))
    comm = await connect(address, timeout=5, ssl_context=ctx)
    try:
        await comm.write({"op": "identity"})
        return await comm.read()
    finally:
        await comm.close()


def test_clients_without_the_certificate_are_refused(cluster: TlsCluster, certs: Path,
                                                    tmp_path: Path) -> None:
    from distributed import Client

    from statmech.certs import create, security

    # a client with a certificate of another CA (anyone can make one) cannot connect
    other = tmp_path / "other"
    create(other)
    t0 = time.perf_counter()
    with pytest.raises(OSError):
        Client(cluster.address, security=security(other), timeout=5)
    assert time.perf_counter() - t0 < 30
    # TLS trusting our CA but presenting no client certificate: the scheduler refuses it,
    # while the same conversation with the client certificate is answered
    with pytest.raises(OSError):
        asyncio.run(identity(cluster.address, certs, with_cert=False))
    assert asyncio.run(identity(cluster.address, certs, with_cert=True))["type"] == "Scheduler"
    # plain TCP to the TLS port: no Dask conversation
    with pytest.raises(OSError):
        Client(cluster.address.replace("tls://", "tcp://"), timeout=5)
    # the cluster's own client certificate works
    with Client(cluster.address, security=security(certs), timeout=30) as client:
        assert client.submit(sum, [1, 2]).result(timeout=30) == 3
