"""Where sweeps run: the Prefect API the tasks report to, and the Dask cluster they run on.

* :func:`prefect_api` -- with no ``PREFECT_API_URL`` configured, start Prefect's own temporary
  API server once, in this process, and export its URL *before* any Dask worker starts. Process
  workers then all report to that one server (each worker starting its own temporary server on
  the shared SQLite file gives "database is locked" errors and orphaned servers).
* :func:`dask_cluster` -- a :class:`distributed.LocalCluster` of single-threaded worker
  processes by default, an existing scheduler when an address is given, or an HPC batch-system
  cluster through dask-jobqueue.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from distributed import Client, LocalCluster

from statmech.config import ClusterConfig, JobqueueConfig


def configured_api_url() -> str | None:
    """The Prefect API URL of this process's settings (environment at import, or profile)."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """Yield a Prefect API URL, starting a temporary local server if none is configured."""
    url = configured_api_url()
    if url:
        yield url
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server = SubprocessASGIServer()
    server.start()
    # Prefect reads its settings when imported: update this process's settings explicitly,
    # and the environment for the worker processes started from here on.
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                drain_prefect_workers()
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


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


@contextlib.contextmanager
def dask_cluster(cfg: ClusterConfig, workers: int | None = None,
                 address: str | None = None) -> Iterator[Client]:
    """Yield a client of the cluster the sweep runs on (closing what this call started)."""
    address = address or cfg.address
    if address:
        with Client(address) as client:
            yield client
        return
    if cfg.jobqueue is not None and workers is None:
        with jobqueue_cluster(cfg.jobqueue) as cluster, Client(cluster) as client:
            cluster.scale(jobs=cfg.jobqueue.jobs)
            client.wait_for_workers(1)
            yield client
        return
    n = workers or cfg.workers or default_workers()
    gpus = local_gpus()
    with LocalCluster(
        n_workers=n,
        threads_per_worker=cfg.threads_per_worker,
        processes=True,
        dashboard_address=":8787",
        resources={"GPU": 1} if gpus else None,  # a local GPU is shared by the local workers
    ) as cluster, Client(cluster) as client:
        yield client
