"""Scale-out: statmech beside plain Dask on a simulated big cluster, and big stores.

Every case runs the peer in the same run, on the same cluster: the local cluster statmech
starts itself (:func:`statmech.cluster.dask_cluster`: fork-server workers, their profiler
sampling every 100 ms), so the rows measure what ``statmech sweep`` gets:

* **sleeping units** (:mod:`benchmarks.sleep_model`, 1 s each, registered through
  ``STATMECH_MODELS``) on 8 worker processes x 8 / 32 / 128 threads = 64 / 256 / 1024 slots,
  20 units per slot (ideal 20 s): the sweep's wall time (inside the flow: store, planning, Dask,
  Prefect, writes) and the cluster's busy fraction = units x 1 s / (slots x wall), beside
  ``client.map`` of the same sleeps (one task per unit) and beside *perfect packing*: one task
  per slot sleeping exactly its share, the best any Dask dispatch can do on this machine;
* **tiny real units**: 10^4 ising1d units (N = 16, 650 sweeps) on 2 single-threaded workers
  beside ``client.map`` over chunks of 250 units + one ``to_zarr``: per-unit overhead, files on
  disk, ``xr.open_zarr(...).load()`` time, and the stored energies compared bitwise;
* **big stores** made without computing (template + values written directly): ``xr.open_zarr(
  ...).load()`` of a 10^5-unit scalar store, ``statmech status`` and the resume planning
  (missing units + Dask groups for 1024 slots) of a 10^6-unit store half done;
* **Prefect API**: task runs per second (60 and 300 submitted at once) against the temporary
  server and against a PostgreSQL-backed ``prefect server`` with basic auth
  (:mod:`benchmarks.postgres`; a row says so where PostgreSQL is not installed), beside what
  statmech needs (what sizes the number of Prefect task runs per sweep).

``--quick`` uses 5 units per slot and 2000 tiny units.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SLEEP_MODEL = "sleep=benchmarks.sleep_model:SleepModel"


def _env() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    models = os.environ.get("STATMECH_MODELS", "")
    if "sleep=" not in models:
        os.environ["STATMECH_MODELS"] = ",".join(filter(None, [models, SLEEP_MODEL]))
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(ROOT) not in paths:  # the workers import benchmarks.sleep_model
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), *paths]))
    from statmech.models import _registry, get_model

    _registry.cache_clear()
    get_model.cache_clear()


def sleep_config(n_points: int, replicas: int, store: str, sleep: float = 1.0) -> str:
    """A sweep of sleeping units."""
    return (f"model: sleep\naxes: {{i: {list(range(n_points))}}}\n"
            f"settings: {{sleep: {sleep}}}\nreplicas: {replicas}\nseed: 1\nstore: {store}\n")


def _sleep(i: int, sleep: float) -> int:
    time.sleep(sleep)
    return i


def _sleep_many(i: int, count: int, sleep: float) -> int:
    for _ in range(count):
        time.sleep(sleep)
    return i


#: Dask's default ``distributed.scheduler.worker-saturation``
DASK_SATURATION = 1.1


def _set_saturation(value: float, dask_scheduler: Any = None) -> float:
    """Set the scheduler's worker-saturation between runs; returns the previous value."""
    old = float(dask_scheduler.WORKER_SATURATION)
    dask_scheduler.WORKER_SATURATION = value
    return old


def _files(path: Path) -> int:
    return sum(1 for p in Path(path).rglob("*") if p.is_file())


def sleeping(slots_threads: list[int], per_slot: int, tmp: Path) -> list[dict[str, Any]]:
    """Busy fraction of 1 s units on 8 processes x ``threads`` beside client.map."""
    from distributed import wait

    from flows.sweep import run_sweep
    from statmech.cluster import dask_cluster
    from statmech.config import ClusterConfig, parse_config

    rows = []
    for threads in slots_threads:
        slots = 8 * threads
        n = per_slot * slots
        with dask_cluster(ClusterConfig(workers=8, threads_per_worker=threads)) as client:
            # The sweep first, on the fresh cluster a `statmech sweep` starts: after a
            # client.map of 20480 tasks on the same cluster the next sweep ran 1.5-3 s slower
            # (cause not found), while client.map after a sweep ran as fast as first
            # (docs/scale.md, run 8).
            sweep = parse_config(sleep_config(n // per_slot, per_slot,
                                              str(tmp / f"sleep{slots}.zarr")))
            t1 = time.perf_counter()
            summary = run_sweep(sweep, address=client.scheduler_info()["address"])
            total = time.perf_counter() - t1
            # plain Dask as Dask comes: its scheduler's own worker-saturation (1.1), with which
            # client.map of 1 s tasks does better than with statmech's 1.0 (68 % busy at 1024
            # slots, docs/scale.md run 8)
            ours = client.run_on_scheduler(_set_saturation, DASK_SATURATION)
            t0 = time.perf_counter()
            futs = client.map(_sleep, range(n), sleep=1.0, pure=False)
            wait(futs)
            peer = time.perf_counter() - t0
            del futs
            client.run_on_scheduler(_set_saturation, ours)
            # the ceiling of any Dask dispatch on this machine: one task per slot holding
            # exactly its share (possible only when every unit's cost is known in advance)
            t0 = time.perf_counter()
            futs = client.map(_sleep_many, range(slots), count=per_slot, sleep=1.0, pure=False)
            wait(futs)
            packed = time.perf_counter() - t0
            del futs
        wall = summary["wall_seconds"]
        ok = summary["missing"] == 0 and summary["computed"] == n
        rows.append({
            "benchmark": "scale: 1 s units, busy fraction",
            "case": f"{slots} slots (8 x {threads}), {n} units, ideal {n / slots:.0f} s: "
                    f"sweep {wall:.1f} s ({total:.1f} s with connect + warm-up), "
                    f"client.map {peer:.1f} s ({n / (slots * peer):.0%} busy, Dask's "
                    f"worker-saturation {DASK_SATURATION}); "
                    f"perfect packing ({slots} tasks of {per_slot} units) {packed:.1f} s "
                    f"({n / (slots * packed):.0%} busy); "
                    f"{summary['batches']} Dask tasks, {summary['blocks']} Prefect task runs",
            "value": n / (slots * wall), "unit": "busy fraction",
            "ratio": wall / peer,
            "check": f"all {n} units done: {ok}",
            "ok": ok,
        })
    return rows


ISING1D = """
model: ising1d
axes: {{N: [16], T: {{start: 0.5, stop: 5.0, num: {n_t}}}}}
settings: {{thermalization: 50, sweeps: 650}}
replicas: 100
seed: 11
store: {store}
"""


def _ising_chunk(units: list[tuple[int, int]], text: str) -> dict[str, np.ndarray]:
    from statmech.config import parse_config
    from statmech.seeding import unit_seed
    from statmech.store import grid_of

    sweep = parse_config(text)
    grid = grid_of(sweep)
    out: dict[str, list[Any]] = {}
    for t, r in units:
        point = grid.point((0, t))
        values = sweep.model.run(point, sweep.settings,
                                 unit_seed(sweep.seed, sweep.model.name, point, r))
        for k, v in values.items():
            out.setdefault(k, []).append(v)
    return {k: np.asarray(v) for k, v in out.items()}


def tiny(n_t: int, tmp: Path) -> list[dict[str, Any]]:
    """Tiny ising1d units: statmech vs client.map in chunks of 250 + one to_zarr."""
    import xarray as xr

    from flows.sweep import run_sweep
    from statmech.cluster import dask_cluster
    from statmech.config import ClusterConfig, parse_config

    ours_path, peer_path = tmp / "tiny.zarr", tmp / "tiny-peer.zarr"
    text = ISING1D.format(n_t=n_t, store=ours_path)
    sweep = parse_config(text)
    n = n_t * 100
    with dask_cluster(ClusterConfig(workers=2)) as client:
        client.run(sweep.model.warmup, sweep.settings)
        t0 = time.perf_counter()
        units = [(t, r) for t in range(n_t) for r in range(100)]
        chunks = [units[i:i + 250] for i in range(0, n, 250)]
        parts = client.gather(client.map(_ising_chunk, chunks, text=text, pure=False))
        data = {k: np.concatenate([p[k] for p in parts]).reshape(1, n_t, 100)
                for k in parts[0]}
        ds = xr.Dataset({k: (("N", "T", "replica"), v) for k, v in data.items()},
                        coords={"N": [16], "T": sweep.axes["T"], "replica": np.arange(100)})
        ds.to_zarr(peer_path, mode="w", zarr_format=3, consolidated=False)
        peer = time.perf_counter() - t0
        summary = run_sweep(sweep, address=client.scheduler_info()["address"])
    wall = summary["wall_seconds"]
    t1 = time.perf_counter()
    ours_ds = xr.open_zarr(ours_path).load()
    read_ours = time.perf_counter() - t1
    t2 = time.perf_counter()
    xr.open_zarr(peer_path, consolidated=False).load()
    read_peer = time.perf_counter() - t2
    same = bool((ours_ds["e"].values == data["e"]).all() and ours_ds["done"].values.all())
    files_ours, files_peer = _files(ours_path), _files(peer_path)
    return [
        {"benchmark": "scale: tiny units (ising1d N=16, 650 sweeps), 2 workers",
         "case": f"{n} units: sweep {wall:.1f} s, client.map + to_zarr {peer:.1f} s; "
                 f"{summary['batches']} Dask tasks, {summary['blocks']} Prefect task runs",
         "value": (wall - peer) / n * 1e3, "unit": "ms overhead per unit",
         "ratio": wall / peer, "check": f"stored e bitwise equal to the peer's: {same}",
         "ok": same},
        {"benchmark": "scale: files on disk", "case": f"{n} ising1d units (23 variables)",
         "value": files_ours, "unit": "files", "ratio": files_ours / files_peer,
         "check": f"one to_zarr: {files_peer} files", "ok": True},
        {"benchmark": "scale: xr.open_zarr(store).load()", "case": f"{n} ising1d units",
         "value": read_ours, "unit": "s", "ratio": read_ours / read_peer,
         "check": f"one to_zarr: {read_peer:.2f} s", "ok": True},
    ]


def _made_store(path: Path, n_points: int, replicas: int, done_fraction: float) -> Any:
    """A sleep-model store created and filled directly (no compute)."""
    import zarr

    from statmech.config import parse_config
    from statmech.plan import prepare

    sweep = parse_config(sleep_config(n_points, replicas, str(path)))
    prepare(sweep)
    group = zarr.open_group(path, mode="r+")
    rng = np.random.default_rng(0)
    done = rng.random((n_points, replicas)) < done_fraction
    values = {"v": np.where(done, rng.random((n_points, replicas)), np.nan),
              "elapsed": np.where(done, 1.0, np.nan), "done": done}
    for name, value in values.items():
        array = group[name]
        assert isinstance(array, zarr.Array)
        array[...] = value
    return sweep


def big_stores(tmp: Path) -> list[dict[str, Any]]:
    """Read-back of 10^5 units, status and resume planning of 10^6 units."""
    import xarray as xr

    from statmech.plan import prepare

    rows = []
    p5 = tmp / "e5.zarr"
    _made_store(p5, 10_000, 10, 1.0)
    t0 = time.perf_counter()
    ds = xr.open_zarr(p5).load()
    read5 = time.perf_counter() - t0
    rows.append({"benchmark": "scale: xr.open_zarr(store).load()",
                 "case": f"10^5 scalar units ({_files(p5)} files)", "value": read5,
                 "unit": "s", "ratio": None, "check": f"all done: {bool(ds['done'].all())}",
                 "ok": bool(ds["done"].all())})
    p6 = tmp / "e6.zarr"
    sweep = _made_store(p6, 10_000, 100, 0.5)
    t1 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "statmech", "status", str(p6)],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    status = time.perf_counter() - t1
    t2 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import statmech.cli"], check=True)
    imports = time.perf_counter() - t2
    t3 = time.perf_counter()
    plan = prepare(sweep, workers=1024)
    planning = time.perf_counter() - t3
    ok = out.returncode == 0 and "/ 1000000" in out.stdout
    rows.append({"benchmark": "scale: statmech status", "case": "10^6 units, half done",
                 "value": status, "unit": "s", "ratio": None,
                 "check": f"reports the counts: {ok} (python + imports alone {imports:.1f} s)",
                 "ok": ok})
    rows.append({"benchmark": "scale: resume planning", "case":
                 f"10^6 units, half done: {len(plan.missing)} missing -> "
                 f"{len(plan.batches)} Dask tasks for 1024 slots",
                 "value": planning, "unit": "s", "ratio": None,
                 "check": f"{plan.skipped} skipped", "ok": plan.skipped + len(plan.missing)
                 == 10**6})
    return rows


#: trivial task runs submitted at once per measurement: statmech's burst (<= MAX_BLOCKS task runs
#: submitted when a sweep run starts) of ~4 and of ~19 sweeps starting together
PREFECT_SIZES = (60, 300)
#: seconds of estimated wall time per block (flows.sweep.n_blocks): a sweep run creates at most
#: one Prefect task run per this many seconds
SECONDS_PER_BLOCK = 5.0


def _stored(flow_run_id: str, n: int, t0: float, timeout: float = 300.0) -> float:
    """Seconds from ``t0`` until the API has stored ``n`` COMPLETED task runs of the flow run.

    Prefect 3 sends task-run states as events, which the server's task-run recorder writes to
    its database after the client moved on (one event per transaction by default): this is the
    rate the server sustains, not only what the client sends.
    """
    import httpx
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    secret = api.auth_string.get_secret_value() if api.auth_string else None
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}},
            "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    auth = httpx.BasicAuth(*secret.split(":", 1)) if secret and ":" in secret else None
    with httpx.Client(base_url=str(api.url), auth=auth, timeout=30) as http:
        while True:
            count = http.post("/task_runs/count", json=body).raise_for_status().json()
            if count >= n:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"{count} of {n} task runs stored after {timeout:.0f} s")
            time.sleep(min(0.5, max(0.05, (time.perf_counter() - t0) / 50)))  # light polling


def prefect_throughput(sizes: tuple[int, ...] = PREFECT_SIZES) -> list[dict[str, float]]:
    """Task runs per second a flow gets from the configured Prefect API (settings of this process).

    For each ``n``: a flow submits ``n`` trivial task runs at once (as a sweep run submits its
    blocks); ``client``: until its ``wait`` returns, ``stored``: until the server has stored them
    all COMPLETED. A warm-up flow of 5 task runs comes first.
    """
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.futures import wait
    from prefect.runtime import flow_run

    @task(cache_policy=NO_CACHE)
    def noop(i: int) -> int:
        return i

    @flow(persist_result=False)
    def many(k: int) -> tuple[float, float]:
        t0 = time.perf_counter()
        wait([noop.submit(i) for i in range(k)])
        client = time.perf_counter() - t0
        return client, _stored(str(flow_run.id), k, t0)

    many(5)
    out = []
    for n in sizes:
        client, stored = many(n)
        out.append({"n": n, "client": n / client, "stored": n / stored})
    return out


def _postgres_throughput(tmp: Path, sizes: tuple[int, ...]) -> list[dict[str, float]]:
    """:func:`prefect_throughput` against a PostgreSQL-backed ``prefect server`` (basic auth).

    In a subprocess: Prefect's settings are process-global, this process keeps its own.
    Raises :class:`benchmarks.postgres.PostgresUnavailable` where PostgreSQL cannot run.
    """
    import json

    from benchmarks.postgres import PostgresCluster, prefect_server

    folder = tmp / "pg-prefect"
    folder.mkdir()
    with PostgresCluster() as pg, prefect_server(pg.url, folder) as server:
        env = {**os.environ, **{k: server.env[k] for k in
                                ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_HOME")}}
        code = ("import json; from benchmarks.scale import prefect_throughput; "
                f"print('RATES', json.dumps(prefect_throughput({tuple(sizes)!r})))")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=900, cwd=ROOT)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RATES ")]
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"the measurement failed ({out.returncode}): "
                               f"{(out.stdout + out.stderr)[-2000:]}")
        return list(json.loads(lines[-1].split(" ", 1)[1]))


def _headroom(rate: float, n: int) -> str:
    """The check text: what a measured rate leaves for statmech's bounded task runs."""
    from statmech.grid import MAX_BLOCKS

    need = 1 / SECONDS_PER_BLOCK
    return (f"needed: <= {need:.1f}/s per sweep run (<= {MAX_BLOCKS} task runs, one per "
            f">= {SECONDS_PER_BLOCK:.0f} s of estimated wall time) -> room for "
            f"{rate / need:.0f} sweep runs at once; {n} at once "
            f"(= {n / MAX_BLOCKS:.0f} sweep runs starting together) stored in {n / rate:.1f} s")


def prefect_rows(tmp: Path, sizes: tuple[int, ...] = PREFECT_SIZES) -> list[dict[str, Any]]:
    """Rows of task runs/s: the temporary server (this process's API) and PostgreSQL."""
    from benchmarks.postgres import PostgresUnavailable

    title = "scale: Prefect API, trivial task runs submitted at once"
    rows: list[dict[str, Any]] = []
    ours = prefect_throughput(sizes)
    for r in ours:
        rows.append({"benchmark": title,
                     "case": f"{r['n']} task runs, temporary server (SQLite): stored "
                             f"{r['stored']:.0f}/s, client {r['client']:.0f}/s",
                     "value": r["stored"], "unit": "task runs/s", "ratio": None,
                     "check": _headroom(r["stored"], int(r["n"])), "ok": True})
    case = "PostgreSQL-backed `prefect server` (basic auth)"
    try:
        pg = _postgres_throughput(tmp, sizes)
    except PostgresUnavailable as exc:
        return [*rows, {"benchmark": title, "case": case, "value": float("nan"),
                        "unit": "task runs/s", "ratio": None,
                        "check": f"not measured: {exc}", "ok": True}]
    except Exception as exc:  # a PostgreSQL that is there but fails is a failed case
        return [*rows, {"benchmark": title, "case": case, "value": float("nan"),
                        "unit": "task runs/s", "ratio": None,
                        "check": f"FAILED: {type(exc).__name__}: {str(exc)[-500:]}",
                        "ok": False}]
    for r, t in zip(pg, ours, strict=True):
        rows.append({"benchmark": title,
                     "case": f"{r['n']} task runs, {case}: stored {r['stored']:.0f}/s, "
                             f"client {r['client']:.0f}/s",
                     "value": r["stored"], "unit": "task runs/s",
                     "ratio": r["stored"] / t["stored"],
                     "check": _headroom(r["stored"], int(r["n"])), "ok": True})
    return rows


def run_prefect(quick: bool = False) -> list[dict[str, Any]]:
    """Only the Prefect API case (``python -m benchmarks prefect-api``, about 2 minutes)."""
    _env()
    from statmech.cluster import prefect_api

    with tempfile.TemporaryDirectory() as tmp, prefect_api():
        return prefect_rows(Path(tmp))


def run(quick: bool = False) -> list[dict[str, Any]]:
    """All scale cases (about 7 minutes on 2 cores; ``quick``: about 3)."""
    _env()
    from statmech.cluster import prefect_api

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, prefect_api():
        rows += prefect_rows(Path(tmp))
        rows += big_stores(Path(tmp))
        rows += tiny(20 if quick else 100, Path(tmp))
        rows += sleeping([8, 32, 128], 5 if quick else 20, Path(tmp))
    return rows
