"""The embedded local cluster: workers forked from a fork server still see this process's
environment as it is when each cluster starts (as spawned workers would)."""

from __future__ import annotations

import multiprocessing
import os

import dask
import pytest

from statmech.cluster import (
    LOCAL_PROFILE_INTERVAL,
    WORKER_SATURATION,
    dask_cluster,
    local_start_method,
    local_worker_settings,
    scheduler_settings,
)
from statmech.config import ClusterConfig

pytestmark = pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(),
                                reason="no fork server on this platform")


def test_start_method_is_forkserver_unless_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD", raising=False)
    assert local_start_method() == "forkserver"
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
        assert local_start_method() == "fork"
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD", "spawn")
    assert local_start_method() == "spawn"


def _env(name: str) -> str | None:
    return os.environ.get(name)


def test_forked_workers_see_the_environment_of_each_new_cluster(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD", raising=False)
    cfg = ClusterConfig(workers=1)
    seen = []
    for value in ("first", "second"):  # the fork server started with the first cluster
        monkeypatch.setenv("STATMECH_TEST_MARK", value)
        with dask_cluster(cfg, 1) as client:
            seen += list(client.run(_env, "STATMECH_TEST_MARK").values())
    assert seen == ["first", "second"]


def test_the_local_dashboard_listens_on_loopback_only() -> None:
    import psutil

    with dask_cluster(ClusterConfig(workers=1), 1) as client:
        port = int(client.dashboard_link.split(":")[2].split("/")[0])
        listening = [c.laddr.ip for c in psutil.Process().net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening and set(listening) <= {"127.0.0.1", "::1"}, listening


def _profile_interval() -> str:
    return str(dask.config.get("distributed.worker.profile.interval"))


def test_local_workers_sample_their_stacks_every_100ms_unless_chosen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's 10 ms profiler cost a fifth of 2 cores at 8 x 16 threads (cluster.py)."""
    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL", raising=False)
    with dask_cluster(ClusterConfig(workers=1), 1) as client:
        assert list(client.run(_profile_interval).values()) == [LOCAL_PROFILE_INTERVAL]
    interval = "distributed.worker.profile.interval"
    with dask.config.set({interval: "20ms"}):
        assert local_worker_settings()[interval] == "20ms"
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL", "10ms")
    assert local_worker_settings()[interval] == "10ms"


def _saturation(dask_scheduler) -> float:  # type: ignore[no-untyped-def]
    return float(dask_scheduler.WORKER_SATURATION)


def test_the_scheduler_hands_out_one_group_per_thread_unless_chosen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's 1.1 let workers take the last wave's groups early (cluster.scheduler_settings)."""
    key = "distributed.scheduler.worker-saturation"
    monkeypatch.delenv("DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION", raising=False)
    with dask_cluster(ClusterConfig(workers=1), 1) as client:
        assert client.run_on_scheduler(_saturation) == WORKER_SATURATION == 1.0
    with dask.config.set({key: 2.0}):
        assert scheduler_settings()[key] == 2.0
        with dask_cluster(ClusterConfig(workers=1), 1) as client:
            assert client.run_on_scheduler(_saturation) == 2.0
    assert dask.config.get(key) == 1.1  # Dask's own setting is left as it was
