"""Where sweeps run: the Prefect API the tasks report to, and the Dask cluster they run on.

* :func:`prefect_api` -- with no ``PREFECT_API_URL`` configured, start Prefect's own temporary
  API server once, in this process, and export its URL *before* any Dask worker starts. Process
  workers then all report to that one server (each worker starting its own temporary server on
  the shared SQLite file gives "database is locked" errors and orphaned servers).
  The server runs in its own session (a Ctrl-C in the terminal does not reach it), dies with
  this process (``PR_SET_PDEATHSIG``, also on ``kill -9``), and is restarted on the same port if
  it dies during a sweep.
* :func:`dask_cluster` -- a :class:`distributed.LocalCluster` of single-threaded worker
  processes by default, an existing scheduler when an address is given (``tls://`` with the
  certificates of :mod:`statmech.certs`), or an HPC batch-system cluster through dask-jobqueue.
  An unreachable address fails within seconds (:func:`probe_address`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from statmech.config import ClusterConfig, JobqueueConfig
from statmech.errors import ClusterError, InputError

if TYPE_CHECKING:  # distributed is imported when a cluster is needed (a 2-5 s import)
    from distributed import Client

#: seconds to reach a scheduler before giving up
CONNECT_TIMEOUT = 4.0
#: seconds the temporary Prefect server may take to answer (busy machine, new database)
SERVER_START_TIMEOUT = 120
_PR_SET_PDEATHSIG = 1


def configured_api_url() -> str | None:
    """The Prefect API URL of this process's settings (environment at import, or profile)."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


class PrefectAPI(str):
    """The URL of the Prefect API a sweep reports to; :meth:`ready` waits until it answers."""

    _waiter: threading.Thread | None = None
    _error: BaseException | None = None

    def ready(self) -> None:
        """Block until the API answers (raise :class:`ClusterError` if it never will)."""
        if self._waiter is not None:
            self._waiter.join()
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def _api_url_everywhere(url: str) -> Iterator[None]:
    """Make ``url`` this process's Prefect API in every thread, and its children's.

    ``temporary_settings`` alone reaches only this thread's context (and contexts copied from
    it). A thread started with a fresh context -- the one that sends Prefect's events when it
    was started by, say, a heartbeat -- reads the process-global settings, which Prefect builds
    from the environment once, at import: with no URL there it starts an API server of its own
    and sends the run's events to it (the task runs never reached the real server in a process
    that had imported Prefect before ``PREFECT_API_URL`` was set). So the global settings are
    those of ``url`` too while this lasts, and exactly what they were afterwards.
    """
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    old_env = os.environ.get("PREFECT_API_URL")
    old_global = getattr(prefect.context, "GLOBAL_SETTINGS_CONTEXT", None)
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            if old_global is not None:
                prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.SettingsContext.get()
            yield
    finally:
        if old_global is not None:
            prefect.context.GLOBAL_SETTINGS_CONTEXT = old_global
        if old_env is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = old_env


@contextlib.contextmanager
def prefect_api(wait: bool = True) -> Iterator[PrefectAPI]:
    """Yield the Prefect API URL, starting a temporary local server if none is configured.

    With ``wait=False`` the URL is yielded (and exported) as soon as the server process is
    launched, and its start-up (~10 s on 2 busy cores) overlaps with whatever the caller does
    next, e.g. starting the Dask cluster; call :meth:`PrefectAPI.ready` before using the API.

    Prefect's event and log workers of this process are stopped first: one started by an
    earlier run keeps the API it started with. The URL is made the API of every thread of this
    process (:func:`_api_url_everywhere`) and exported to the worker processes started from
    here on.
    """
    drain_prefect_workers()
    url = configured_api_url()
    if url:
        with _api_url_everywhere(url):
            yield PrefectAPI(url)
        return
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server = TemporaryServer(_free_port())
    api = PrefectAPI(server.api_url)
    watchdog = _Watchdog(server)

    def wait_healthy() -> None:
        try:
            server.wait_healthy(SERVER_START_TIMEOUT)  # a first start migrates a new database
            watchdog.start()
        except Exception as exc:
            api._error = ClusterError(
                f"the temporary Prefect server did not start ({_short(exc)}); "
                "set PREFECT_API_URL to a running Prefect server")

    server.launch()  # from this (main) thread: PR_SET_PDEATHSIG is bound to it
    api._waiter = threading.Thread(target=wait_healthy, name="prefect-server-start",
                                   daemon=True)
    api._waiter.start()
    try:
        if wait:
            api.ready()
        with _api_url_everywhere(server.api_url):
            try:
                yield api
            finally:
                if api._error is None and not api._waiter.is_alive():  # it was used
                    drain_prefect_workers()
    finally:
        watchdog.stopping.set()  # also a watchdog the start-up thread has yet to start
        server.stop()  # ends a start-up still in progress (e.g. Ctrl-C while the cluster starts)
        api._waiter.join()
        if watchdog.is_alive():
            watchdog.join(timeout=2)


#: the kernel's range of ports handed out for port 0 (Linux), read from here
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _free_port() -> int:
    """A free port on 127.0.0.1 for the temporary server, below the range the OS hands out.

    The server binds it seconds later (after its imports), while the Dask cluster starts and
    binds ports of its own with port 0. A port from that range could be handed to a worker in
    between: seen once in a fresh-clone quickstart, where the server then exited with "address
    already in use" and its health check reached a Dask worker. No port-0 bind gets a port
    below the range. Falls back to a port-0 port if none below is free.
    """
    import random

    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 49152  # the IANA range (macOS, Windows)
    pick = random.Random()
    for _ in range(100):
        port = pick.randrange(max(1024, low - 10000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """In a child process: own session (no terminal Ctrl-C), SIGTERM when the parent dies."""
    os.setsid()
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def popen_bound(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``Popen`` of a helper process that never outlives this one (Linux; elsewhere plain).

    ``PR_SET_PDEATHSIG`` fires when the *thread* that started the child ends: call this from a
    thread that lives as long as the child should (the main thread).
    """
    if sys.platform.startswith("linux"):
        kwargs.setdefault("preexec_fn", _die_with_parent)
    else:  # pragma: no cover
        kwargs.setdefault("start_new_session", True)
    return subprocess.Popen(args, **kwargs)


class TemporaryServer:
    """Prefect's temporary API server (what Prefect starts itself when no API URL is set).

    The command is the one of Prefect's ``SubprocessASGIServer`` (uvicorn serving
    ``prefect.server.api.server:create_app`` on 127.0.0.1, without the UI), launched with
    :func:`popen_bound` so that it dies with this process. Launching it needs no import of the
    server code (Prefect's own class imports the whole API app first: ~3 s on 2 busy cores,
    before the Dask cluster could start).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.server_process: subprocess.Popen[Any] | None = None

    def popen(self) -> subprocess.Popen[Any]:
        """Start the server process."""
        import prefect
        from prefect.settings import get_current_settings

        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1",
               **get_current_settings().to_environment_variables(exclude_unset=True)}
        return popen_bound(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=env)

    def launch(self) -> None:
        """Start the server process and return at once (see :meth:`wait_healthy`)."""
        self.server_process = self.popen()

    def wait_healthy(self, timeout: float) -> None:
        """Poll ``/health`` until it answers 200; raise if the process ends or time runs out."""
        import httpx

        deadline = time.monotonic() + timeout
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                proc = self.server_process
                code = proc.poll() if proc is not None else None
                if code is not None:
                    raise RuntimeError(f"the server process exited with code {code}")
                try:
                    if client.get(f"{self.api_url}/health", timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"no answer from {self.api_url} within {timeout:g} s")

    def stop(self) -> None:
        """Terminate the server process (kill it after 5 s)."""
        proc, self.server_process = self.server_process, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Watchdog(threading.Thread):
    """Restart the temporary server on its port if it dies while the sweep still needs it.

    Without it, every Prefect call of a running sweep retries against a dead port for minutes.
    """

    def __init__(self, server: Any) -> None:
        super().__init__(name="prefect-server-watchdog", daemon=True)
        self.server = server
        self.stopping = threading.Event()
        self.restarts = 0

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            proc = self.server.server_process
            if proc is None or proc.poll() is None:
                continue
            if self.stopping.is_set():
                return
            self.restarts += 1
            # NB: started from this thread, PDEATHSIG fires when this (daemon) thread ends,
            # i.e. when the process exits: that is what we want.
            self.server.server_process = self.server.popen()


def drain_prefect_workers() -> None:
    """Send Prefect's queued events and logs before the temporary server goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        try:
            worker.drain_all(timeout=5, at_exit=False)
        except Exception:  # draining is best effort
            pass


def jobqueue_cluster(cfg: JobqueueConfig):  # type: ignore[no-untyped-def]
    """Build a dask-jobqueue cluster from the sweep file's section (no job submitted yet)."""
    try:
        import dask_jobqueue
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            "cluster.jobqueue needs dask-jobqueue: pip install 'statmech[hpc]'"
        ) from exc
    classes = {
        "slurm": dask_jobqueue.SLURMCluster,
        "pbs": dask_jobqueue.PBSCluster,
        "sge": dask_jobqueue.SGECluster,
        "lsf": dask_jobqueue.LSFCluster,
        "htcondor": dask_jobqueue.HTCondorCluster,
    }
    kwargs = {
        "cores": cfg.cores,
        "memory": cfg.memory,
        "processes": cfg.processes or cfg.cores,
        "job_extra_directives": list(cfg.job_extra_directives),
        "job_script_prologue": list(cfg.job_script_prologue),
    }
    for name in ("queue", "account", "walltime", "local_directory"):
        value = getattr(cfg, name)
        if value is not None:
            kwargs[name] = value
    if cfg.system == "htcondor":
        kwargs.pop("queue", None)
        kwargs.pop("account", None)
    api = os.environ.get("PREFECT_API_URL")
    if api:  # workers must report to the same Prefect API
        kwargs["job_script_prologue"].append(f"export PREFECT_API_URL={api}")
    return classes[cfg.system](**kwargs)


def local_gpus() -> int:
    """Number of CUDA devices on this machine (0 without numba.cuda or a driver)."""
    from statmech.models.gpu import gpu_available

    if not gpu_available():
        return 0
    from numba import cuda

    return len(cuda.gpus)


def default_workers() -> int:
    """Local worker processes by default: one per core."""
    return max(os.cpu_count() or 1, 1)


def probe_address(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`ClusterError` at once if nothing listens at a scheduler address."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        raise ClusterError(f"scheduler address {address!r}: use tcp://HOST:PORT or "
                           "tls://HOST:PORT")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ClusterError(f"scheduler address {address!r} has no host and port; use "
                           "tcp://HOST:PORT or tls://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({why}): start it, "
                           "or check the address and the firewall") from None


def tls_security(tls_dir: str | os.PathLike[str], role: str = "client") -> Any:
    """A :class:`distributed.security.Security` from a :mod:`statmech.certs` folder."""
    from statmech.certs import security

    return security(tls_dir, role)


def use_tls(tls_dir: str | os.PathLike[str]) -> None:
    """Make every Dask client of this process (and its children) use the TLS certificates.

    Set through Dask's configuration (and the environment), so that clients created elsewhere --
    Prefect's ``DaskTaskRunner`` -- encrypt and authenticate too.
    """
    import dask

    from statmech.certs import paths

    p = paths(tls_dir)
    settings = {
        "distributed.comm.require-encryption": True,
        "distributed.comm.tls.ca-file": str(p["ca"]),
        "distributed.comm.tls.client.cert": str(p["client"]),
        "distributed.comm.tls.client.key": str(p["client_key"]),
    }
    for path in (p["ca"], p["client"], p["client_key"]):
        if not Path(path).is_file():
            raise InputError(f"TLS folder {tls_dir}: {Path(path).name} is missing; create the "
                             f"certificates with `statmech certs {tls_dir}`")
    dask.config.set(settings)
    for key, value in settings.items():
        env = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
        os.environ[env] = str(value)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start children that ignore SIGINT.

    A terminal Ctrl-C then reaches only this process, which shuts the cluster down in order
    (instead of every worker dying noisily at once).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def dask_cluster(cfg: ClusterConfig, workers: int | None = None,
                 address: str | None = None) -> Iterator[Client]:
    """Yield a client of the cluster the sweep runs on (closing what this call started)."""
    import dask
    from distributed import Client, LocalCluster

    address = address or cfg.address
    if cfg.tls_dir:
        use_tls(cfg.tls_dir)
    if address:
        probe_address(address)
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT + 6}s")
        except OSError as exc:
            raise ClusterError(f"cannot connect to the Dask scheduler at {address}: "
                               f"{_short(exc)}; for tls:// give --tls-dir (or cluster.tls_dir) "
                               "with the cluster's certificates") from None
        with client:
            yield client
        return
    if cfg.jobqueue is not None and workers is None:
        with dask.config.set(scheduler_settings()), jobqueue_cluster(cfg.jobqueue) as cluster, \
                Client(cluster) as client:
            cluster.scale(jobs=cfg.jobqueue.jobs)
            client.wait_for_workers(1)
            yield client
        return
    n = workers or cfg.workers or default_workers()
    gpus = local_gpus()
    with _sigint_ignored(), dask.config.set({**local_worker_settings(), **scheduler_settings()}):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=cfg.threads_per_worker,
            processes=True,
            dashboard_address="127.0.0.1:8787",  # no unauthenticated page on the network
            resources={"GPU": 1} if gpus else None,  # a local GPU is shared by the local workers
            # a forked worker has the environment of the fork server, not this process's now
            env=dict(os.environ),
        )
    with cluster, Client(cluster) as client:
        yield client


_SATURATION = "distributed.scheduler.worker-saturation"
#: tasks the scheduler of a cluster statmech starts sends a worker per thread (Dask's: 1.1)
WORKER_SATURATION = 1.0


def scheduler_settings() -> dict[str, float | str]:
    """Dask settings of the scheduler of a cluster statmech starts (local or batch jobs).

    ``worker-saturation`` 1.0: a worker holds exactly as many groups as it has threads, so a
    thread that frees up takes the next group in the plan's order, from the scheduler. With
    Dask's 1.1 each worker holds a tenth more, taken early: the last wave's smallest groups
    waited on workers whose threads were all busy while other workers' threads idled, and the
    plan's threads no longer ended together. Measured with the plan's 3072 groups of sleeps on
    8 x 128 threads in plain ``client.map``: 86-88 % busy at 1.1, 94-95 % at 1.0
    (docs/scale.md, run 8). A value set in Dask's configuration (other than the default) or in
    ``DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION`` is kept; a cluster given by address
    keeps its own scheduler's setting (docs/scale.md says how to set it there).
    """
    import dask

    chosen = _chosen(_SATURATION, "1.1") is not None
    return {_SATURATION: dask.config.get(_SATURATION) if chosen else WORKER_SATURATION}


_MP_METHOD = "distributed.worker.multiprocessing-method"
_PROFILE_INTERVAL = "distributed.worker.profile.interval"
#: the local workers' profiler samples every thread's stack this often (Dask's default: 10ms)
LOCAL_PROFILE_INTERVAL = "100ms"


def local_worker_settings() -> dict[str, str]:
    """Dask settings of the worker processes of an embedded local cluster.

    * how they start: :func:`local_start_method`;
    * how often their statistical profiler (the dashboard's *Profile* page) samples the stacks
      of all their threads: every 100 ms instead of Dask's 10 ms. At 10 ms the sampling cost
      0.36 of 2 cores for 8 workers x 16 threads of sleeping tasks and 1.2 of 2 cores for
      8 x 128, against nothing measurable and 0.13 at 100 ms (worker CPU time over a run of
      1 s sleeps). An interval set in Dask's configuration (other than the default) or in
      ``DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL`` is kept.
    """
    interval = _chosen(_PROFILE_INTERVAL, "10ms") or LOCAL_PROFILE_INTERVAL
    return {_MP_METHOD: local_start_method(), _PROFILE_INTERVAL: interval}


def _chosen(key: str, dask_default: str) -> str | None:
    """The value of Dask setting ``key`` if the user chose one, else ``None``.

    Chosen: a value other than Dask's default in its configuration, or its environment variable
    set at all.
    """
    import dask

    value = str(dask.config.get(key, dask_default))
    env = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
    return value if value != dask_default or env in os.environ else None


def local_start_method() -> str:
    """How local worker processes start: ``forkserver`` where the platform has it.

    Dask's default, ``spawn``, starts a fresh interpreter per worker that imports numpy, pandas,
    dask and distributed again: 3.4-3.8 s for 8 workers on 2 idle cores (and 0.85 s to stop
    them). ``forkserver`` imports them once in a server process and forks the workers from it:
    2.0 s (0.1 s to stop). A method chosen in Dask's configuration (other than the default) or
    in ``DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD`` is kept.
    """
    import multiprocessing

    chosen = _chosen(_MP_METHOD, "spawn")
    if chosen is None and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return chosen or "spawn"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."
