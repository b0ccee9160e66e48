"""The sweep flow: the missing units of a sweep on Dask, a few Prefect task runs to track them.

Wiring only. :func:`statmech.plan.prepare` decides what to compute (store created, resumed or
extended; missing units cut into groups sized for the cluster), a
:class:`statmech.dispatch.Dispatcher` sends every group to the Dask workers at once and the
sweep process writes the results (it is the store's only writer). Prefect sees one ``run-block``
task run per *block* of groups (at most :data:`statmech.grid.MAX_BLOCKS` per run, whatever the
number of units): the task collects its block's results as they stream back, and Prefect retries
a block with failed units ``retries`` times (a retry recomputes only the units of the block that
have not succeeded). Blocks that keep failing leave their units marked ``failed`` in the store
and the rest of the sweep completes.

:func:`run_sweep` is the entry point used by the CLI: it takes the store's lock, starts (or
connects to) the Dask cluster, makes sure a Prefect API is available and runs
:func:`sweep_flow` in this process.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.runtime import task_run

from statmech.config import Sweep, parse_config
from statmech.dispatch import Dispatcher, worker_slots
from statmech.grid import block_count
from statmech.plan import Plan, prepare
from statmech.provenance import now
from statmech.runner import make_job, warm_up
from statmech.writer import FLUSH_SECONDS, ChunkWriter

#: dispatchers of the runs in progress in this process, by run id (task parameters stay small)
_RUNS: dict[str, Dispatcher] = {}


@task(name="run-block", cache_policy=NO_CACHE, retry_delay_seconds=1, log_prints=True)
def run_block(run_id: str, block: int, retries: int) -> dict[str, Any]:
    """Collect one block's units from the Dask workers into the store (in the flow process)."""
    attempt = int(task_run.run_count or 1)
    return _RUNS[run_id].collect(block, attempt=attempt, final=attempt > retries)


def _block_name(plan: Plan, d: Dispatcher, b: int) -> str:
    units = d.block_units(b)
    first = plan.grid.label(units[0][:-1].tolist()) if len(units) else ""
    return f"{plan.sweep.model.name} block {b + 1}/{len(d.blocks)}: {len(units)} units from {first}"


def flush_seconds(est_wall: float) -> float:
    """Seconds between flushes: a twentieth of the estimated run, between 1 and 10 s.

    ``STATMECH_FLUSH_SECONDS`` overrides it.
    """
    env = os.environ.get("STATMECH_FLUSH_SECONDS")
    if env:
        return float(env)
    return min(FLUSH_SECONDS, max(1.0, est_wall / 20))


@flow(name="statmech-sweep", log_prints=True, persist_result=False)
def sweep_flow(config_text: str, store: str, extend: bool = False, workers: int = 1,
               state: str | None = None) -> dict[str, Any]:
    """Run every missing unit of a sweep on the current Dask client; returns a summary.

    ``workers`` is the number of worker threads; ``state`` the store check already done by the
    caller (:func:`statmech.plan.preflight`), if any.
    """
    from distributed import get_client

    client = get_client()
    sweep = parse_config(config_text).with_overrides(store=store)
    t0 = time.perf_counter()  # the wall time includes creating the store and the planning
    plan = prepare(sweep, extend=extend, workers=workers, state=state)
    started = now()
    plan.store.update_attrs(start_time=started, end_time=None)
    model, settings = sweep.model, sweep.settings
    est_wall = plan.cost / max(workers, 1)
    job = make_job(store, sweep, plan.grid)
    run_id = uuid.uuid4().hex
    failed_blocks = 0
    with ChunkWriter(store, flush_seconds=flush_seconds(est_wall)) as writer, \
            Dispatcher(client, job, writer, plan.groups, resources=model.resources(settings),
                       blocks=block_count(est_wall, len(plan.groups))) as dispatcher:
        _RUNS[run_id] = dispatcher
        try:
            futures = [
                run_block.with_options(task_run_name=_block_name(plan, dispatcher, b),
                                       retries=sweep.retries).submit(run_id, b, sweep.retries)
                for b in range(len(dispatcher.blocks))
            ]
            wait(futures)
            failed_blocks = sum(1 for f in futures if not f.state.is_completed())
        finally:
            del _RUNS[run_id]
    failed = int(plan.store.failed_mask().sum())
    missing = int((~plan.store.done_mask()).sum())
    ended = now()
    summary = {
        "store": store,
        "state": plan.state,
        "total": plan.total,
        "skipped": plan.skipped,
        "computed": dispatcher.computed,
        "failed": failed,
        "missing": missing,
        "batches": len(plan.groups),
        "blocks": len(dispatcher.blocks),
        "failed_blocks": failed_blocks,
        "flushes": writer.flushes,
        "worker_threads": workers,
        "compute_seconds": writer.compute_seconds,
        "start_time": started,
        "end_time": ended,
        "wall_seconds": time.perf_counter() - t0,
    }
    # the units' own compute over worker threads x wall time (store, planning, compute, flush)
    summary["busy"] = writer.compute_seconds / (max(workers, 1) * summary["wall_seconds"])
    plan.store.update_attrs(end_time=ended)
    plan.store.append_history(summary)
    return summary


def _check_resources(client: Any, needed: dict[str, float]) -> None:
    """Refuse at once when no worker offers a resource the batches need (Dask would wait)."""
    if not needed:
        return
    workers = client.scheduler_info().get("workers", {}).values()
    for name, amount in needed.items():
        if not any(w.get("resources", {}).get(name, 0) >= amount for w in workers):
            raise RuntimeError(
                f"the sweep needs workers with resource {name}={amount:g} and none has it: "
                f"start them with `dask worker ... --resources {name}={amount:g}` (or choose "
                "backend: auto / cpu)")


def run_sweep(
    sweep: Sweep,
    *,
    workers: int | None = None,
    address: str | None = None,
    extend: bool = False,
    on_cluster: Callable[[Any], None] | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """Run a sweep on its cluster through Prefect (the embedded default: a local cluster).

    ``on_cluster`` is called with the Dask client once the cluster is up (the CLI uses it for
    the dashboard link and the progress bar). The store's lock is taken once, here, for the
    whole run; ``state`` passes on a :func:`statmech.plan.preflight` the caller already ran.
    """
    from statmech.cluster import dask_cluster, prefect_api
    from statmech.store import store_lock

    # workers on other hosts resolve paths in their own working directory: send absolute ones
    sweep = sweep.with_overrides(store=str(Path(sweep.store).resolve()))
    # the Prefect server starts while the Dask cluster does (each takes seconds)
    with store_lock(sweep.store), prefect_api(wait=False) as api, \
            dask_cluster(sweep.cluster, workers, address) as client:
        _check_resources(client, sweep.model.resources(sweep.settings))
        client.run(warm_up, sweep.model, sweep.settings)
        # the store template's libraries (1.0-1.4 s to import on 2 cores), while the Prefect
        # server may still be starting, rather than inside the sweep's planning
        import dask.array  # noqa: F401
        import xarray  # noqa: F401

        api.ready()
        if on_cluster is not None:
            on_cluster(client)
        return sweep_flow.with_options(flow_run_name=f"{sweep.name}")(
            sweep.text, sweep.store, extend, worker_slots(client), state
        )
