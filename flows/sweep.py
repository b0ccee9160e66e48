"""The sweep flow: fan the missing batches of a sweep out over Dask through Prefect.

Wiring only. :func:`statmech.plan.prepare` decides what to compute, the ``run-batch`` task calls
:func:`statmech.runner.run_units` on a Dask worker (which writes every unit to the store as soon
as it is done), and Prefect retries a failing batch ``retries`` times (a retry recomputes only the
units still missing). Batches that keep failing leave their units marked ``failed`` in the store
and the rest of the sweep completes.

:func:`run_sweep` is the entry point used by the CLI: it starts (or connects to) the Dask cluster,
makes sure a Prefect API is available, and runs :func:`sweep_flow` with a ``DaskTaskRunner``
bound to that cluster.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.runtime import task_run
from prefect_dask import DaskTaskRunner

from statmech.config import Sweep, parse_config
from statmech.plan import Plan, prepare
from statmech.provenance import now
from statmech.runner import run_units


@task(name="run-batch", cache_policy=NO_CACHE, retry_delay_seconds=1, log_prints=True)
def run_batch(store: str, config_text: str, units: list[list[int]], retries: int) -> dict[str, Any]:
    """Compute and store one batch of units (a Prefect task on a Dask worker)."""
    final = int(task_run.run_count or 1) > retries
    return run_units(store, config_text, units, final_attempt=final)


def _batch_name(plan: Plan, batch: list[tuple[tuple[int, ...], int]], i: int) -> str:
    first = plan.grid.label(batch[0][0])
    more = f" +{len(batch) - 1}" if len(batch) > 1 else ""
    return f"{plan.sweep.model.name} #{i} {first}{more}"


@flow(name="statmech-sweep", log_prints=True, persist_result=False)
def sweep_flow(config_text: str, store: str, extend: bool = False,
               workers: int = 1) -> dict[str, Any]:
    """Run every missing unit of a sweep; returns a summary of what was done."""
    sweep = parse_config(config_text).with_overrides(store=store)
    plan = prepare(sweep, extend=extend, workers=workers)
    started = now()
    t0 = time.perf_counter()
    plan.store.update_attrs(start_time=started, end_time=None)
    units = [[[*u[0], u[1]] for u in b] for b in plan.batches]
    resources = sweep.model.resources(sweep.settings)
    # batches that need e.g. a GPU go only to workers advertising that resource
    with dask.annotate(resources=resources) if resources else contextlib.nullcontext():
        futures = [
            run_batch.with_options(
                task_run_name=_batch_name(plan, b, i), retries=sweep.retries
            ).submit(store, config_text, u, sweep.retries)
            for i, (b, u) in enumerate(zip(plan.batches, units, strict=True))
        ]
    wait(futures)
    computed = failed_batches = 0
    for fut in futures:
        state = fut.state
        if state.is_completed():
            computed += int(fut.result()["computed"])
        else:
            failed_batches += 1
    failed = int(plan.store.failed_mask().sum())
    missing = int((~plan.store.done_mask()).sum())
    ended = now()
    summary = {
        "store": store,
        "state": plan.state,
        "total": plan.total,
        "skipped": plan.skipped,
        "computed": computed,
        "failed": failed,
        "missing": missing,
        "batches": len(plan.batches),
        "failed_batches": failed_batches,
        "start_time": started,
        "end_time": ended,
        "wall_seconds": time.perf_counter() - t0,
    }
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
) -> dict[str, Any]:
    """Run a sweep on its cluster through Prefect (the embedded default: a local cluster).

    ``on_cluster`` is called with the Dask client once the cluster is up (the CLI uses it for
    the dashboard link and the progress bar).
    """
    from statmech.cluster import dask_cluster, prefect_api
    from statmech.runner import warm_up
    from statmech.store import store_lock

    # workers on other hosts resolve paths in their own working directory: send absolute ones
    sweep = sweep.with_overrides(store=str(Path(sweep.store).resolve()))
    with store_lock(sweep.store), prefect_api(), \
            dask_cluster(sweep.cluster, workers, address) as client:
        _check_resources(client, sweep.model.resources(sweep.settings))
        client.run(warm_up, sweep.text)
        if on_cluster is not None:
            on_cluster(client)
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        runner = DaskTaskRunner(address=client.scheduler.address)
        return sweep_flow.with_options(task_runner=runner, flow_run_name=f"{sweep.name}")(
            sweep.text, sweep.store, extend, n_workers
        )
