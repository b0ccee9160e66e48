"""A throwaway PostgreSQL cluster and a Prefect server on it, for tests and benchmarks.

As in the docker-compose stack and any real deployment: ``initdb`` / ``pg_ctl`` (as the postgres
user when run as root: initdb refuses root) on a free port of 127.0.0.1, and ``prefect server
start`` on that database with basic auth. No pytest here: where PostgreSQL cannot run,
:class:`PostgresUnavailable` is raised (the tests turn it into a skip, the benchmarks into a row
saying so).
"""

from __future__ import annotations

import base64
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

BIN = Path(sys.executable).parent
#: basic-auth credentials ("user:password") of the servers started here
AUTH = "statmech:pg-test-secret"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or cannot be run by this user."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (exceptions count as not yet) until true; TimeoutError after timeout."""
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
    """``initdb`` + ``pg_ctl start`` in a temporary folder; ``stop`` removes everything.

    A context manager too. ``url`` is the SQLAlchemy URL of its empty database ``prefect``.
    """

    def __init__(self) -> None:
        initdb, pg_ctl, createdb = pg_bin("initdb"), pg_bin("pg_ctl"), pg_bin("createdb")
        if not initdb or not pg_ctl or not createdb:
            raise PostgresUnavailable(
                "PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        self.pg_ctl = pg_ctl
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no postgres user to "
                                          "run PostgreSQL") from None
        self.dir = Path(tempfile.mkdtemp(prefix="statmech-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/prefect"
        self._started = False
        try:
            if self.user is not None:
                os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
            self.run([initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "--no-sync", "-E", "UTF8"])
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            self._started = True
            self.run([pg_ctl, "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts,
                      "-w", "-t", "120", "start"])
            self.run([createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                      "prefect"])
        except BaseException:
            self.stop()
            raise

    def run(self, cmd: list[str]) -> None:
        """Run a PostgreSQL program (as the postgres user when root); RuntimeError if it fails."""
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid}
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=self.dir,
                             **kwargs)  # type: ignore[call-overload]
        if out.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed ({out.returncode}): "
                               f"{out.stdout}{out.stderr}")

    def stop(self) -> None:
        """Stop the cluster (immediately: nothing in it is kept) and remove its folder."""
        try:
            if self._started:
                self._started = False
                self.run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def spawn(cmd: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session (:func:`terminate` reaches its children), output to log."""
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def terminate(procs: Iterable[subprocess.Popen[bytes]], grace: float = 15) -> None:
    """SIGTERM the process groups of ``procs`` (last started first), SIGKILL after ``grace``."""
    procs = list(procs)
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@dataclass(frozen=True)
class PrefectServer:
    """A running ``prefect server start``.

    Its API URL, basic-auth string, log, and the environment of its clients and itself
    (``PREFECT_API_URL``, ``PREFECT_API_AUTH_STRING``, ``PREFECT_HOME``, ...).
    """

    api: str
    auth: str
    env: dict[str, str]
    log: Path

    def headers(self) -> dict[str, str]:
        """HTTP headers authenticating a request to the API."""
        return {"Authorization": "Basic " + base64.b64encode(self.auth.encode()).decode()}


@contextmanager
def prefect_server(database_url: str, folder: Path, auth: str = AUTH,
                   env: Mapping[str, str] | None = None,
                   timeout: float = 180) -> Iterator[PrefectServer]:
    """``prefect server start`` on ``database_url`` with basic auth ``auth`` while in the block.

    ``folder`` holds its ``PREFECT_HOME`` and its log ``prefect-server.log``; ``env`` is added to
    this process's environment for the server (and to the yielded client environment).
    """
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_env = {
        **os.environ,
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_API_AUTH_STRING": auth,
        "PREFECT_SERVER_API_AUTH_STRING": auth,
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        **(env or {}),
    }
    log = folder / "prefect-server.log"
    proc = spawn([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                  str(port)], server_env, log)
    try:
        import httpx

        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server start exited ({proc.returncode}); see {log}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:  # not up yet
                pass
            if time.time() > deadline:
                raise TimeoutError(f"the Prefect server on PostgreSQL within {timeout} s "
                                   f"(log: {log})")
            time.sleep(0.3)
        yield PrefectServer(api=api, auth=auth, env=server_env, log=log)
    finally:
        terminate([proc])

