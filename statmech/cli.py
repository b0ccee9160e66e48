"""The ``statmech`` command line (typer + rich).

``statmech sweep CONFIG``   run a sweep (local Dask cluster by default) with a live progress bar
``statmech check CONFIG``   validate a sweep file and show the grid and cost estimate
``statmech status STORE``   done / missing / failed units, the config summary, last errors
``statmech plot STORE``     standard figures with exact results overlaid
``statmech deploy CONFIG``  serve scheduled reruns with drift reports (Prefect deployment)
``statmech drift OLD NEW``  compare two runs of a sweep point by point
``statmech report STORE``   static HTML report with estimates, figures and provenance
``statmech refine STORE``   add points where an estimate is least certain, compute only those
``statmech certs DIR``      TLS certificates (CA, scheduler, worker, client) for a Dask cluster
``statmech verify STORE``   check every chunk's checksum; corrupt units are recomputed next run
``statmech migrate OLD NEW`` rewrite a store of an older schema

Every command ends with one line naming the problem and the fix, and a documented exit code
(:mod:`statmech.errors`, README "Exit codes"); ``statmech --verbose ...`` adds the traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from statmech.errors import InputError, StatmechError, StoreError
from statmech.guard import Failures, guarded

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
FAILURES = Failures(err_console)


class _App(typer.Typer):
    """A Typer app whose commands report errors in one line with an exit code (no traceback)."""

    def command(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        register = super().command(*args, **kwargs)
        return lambda f: register(guarded(f, FAILURES))


app = _App(
    help="Distributed parameter sweeps of statistical-mechanics models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="show the traceback of an error")] = False,
) -> None:
    """Distributed parameter sweeps of statistical-mechanics models."""
    FAILURES.verbose = verbose


def _load(config: Path, store: str | None = None,  # type: ignore[no-untyped-def]
          tls_dir: Path | None = None):
    from statmech.config import load_config

    sweep = load_config(config)  # ConfigError: "Invalid sweep file ...", exit code 2
    if store:
        sweep = sweep.with_overrides(store=store)
    tls = str(tls_dir) if tls_dir else os.environ.get("STATMECH_TLS_DIR") or None
    if tls:
        sweep = sweep.with_overrides(
            cluster=sweep.cluster.model_copy(update={"tls_dir": tls}))
    return sweep


def _check_cluster(sw: Any, address: str | None) -> None:
    """Fail in seconds, before any server starts, when the scheduler cannot be reached."""
    from statmech.cluster import probe_address, use_tls

    address = address or sw.cluster.address
    if sw.cluster.tls_dir:
        use_tls(sw.cluster.tls_dir)
    if address:
        if address.startswith("tls://") and not sw.cluster.tls_dir and not _tls_configured():
            raise InputError(f"{address} is a TLS scheduler: give --tls-dir (the folder of "
                             "`statmech certs`) or set cluster.tls_dir")
        probe_address(address)


def _tls_configured() -> bool:
    import dask

    return bool(dask.config.get("distributed.comm.tls.client.cert", None))


class _Rate(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:  # type: ignore[override]
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f} units/s" if speed else "- units/s", style="progress.data.speed")


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="sweep file (YAML)")],
    workers: Annotated[int | None, typer.Option(help="local Dask worker processes")] = None,
    address: Annotated[
        str | None, typer.Option(help="scheduler of an existing Dask cluster")
    ] = None,
    store: Annotated[str | None, typer.Option(help="store path (overrides the file)")] = None,
    extend: Annotated[bool, typer.Option(help="add new axis values to an existing store")] = False,
    plots: Annotated[
        Path | None, typer.Option(help="write figures to this folder at the end")
    ] = None,
    tls_dir: Annotated[
        Path | None, typer.Option(help="TLS certificates (`statmech certs`) for tls:// clusters")
    ] = None,
    verbose: Annotated[bool, typer.Option(help="show Prefect and Dask logs")] = False,
) -> None:
    """Run a sweep: compute every missing unit and store it as soon as it is done."""
    if verbose:
        FAILURES.verbose = True
    else:  # before dask is imported: worker processes inherit the environment
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    sw = _load(config, store, tls_dir)
    _check_cluster(sw, address)
    state = _preflight_store(sw, extend)
    FAILURES.interruptible(sw.store, f"statmech sweep {config}")
    from flows.sweep import run_sweep
    from statmech.grid import Grid
    from statmech.runner import PROGRESS_TOPIC

    grid = Grid(sw.axes, sw.fixed, sw.replicas)
    shape = " x ".join(f"{k}[{len(v)}]" for k, v in sw.axes.items())
    what = {"new": "new store", "same": "resuming", "extends": "extending"}[state]
    console.print(f"[bold]{sw.name}[/]: model [cyan]{sw.model.name}[/], grid {shape} x "
                  f"{sw.replicas} {sw.model.replica_dim}(s) = {grid.n_units} units -> "
                  f"{sw.store} ({what})")
    progress = Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), _Rate(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=console, transient=False,
    )
    task_id = progress.add_task("units", total=None)
    FAILURES.cleanups.append(progress.stop)  # restores the terminal on Ctrl-C
    lock = threading.Lock()
    store_path = str(Path(sw.store).resolve())  # run_sweep sends absolute paths

    def on_event(event: Any) -> None:
        _, msg = event
        if isinstance(msg, dict) and msg.get("store") == store_path:
            with lock:
                progress.advance(task_id, int(msg.get("done", 1)))

    def on_cluster(client: Any) -> None:
        from statmech.store import Store

        console.print(f"Dask dashboard: [link]{client.dashboard_link}[/link]  "
                      f"({len(client.scheduler_info()['workers'])} workers)")
        st = Store(store_path)
        total = grid.n_units
        done = int(st.done_mask().sum()) if st.exists() else 0
        if state in ("same", "extends") and done:
            console.print(f"Skipping {done} units already in the store; computing "
                          f"{total - done}.")
        progress.update(task_id, total=max(total - done, 0), description="units")
        client.subscribe_topic(PROGRESS_TOPIC, on_event)
        progress.start()

    if not verbose:
        logging.getLogger("distributed").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    try:
        summary = run_sweep(sw, workers=workers, address=address, extend=extend,
                            on_cluster=on_cluster, state=state)  # preflight ran once, above
    finally:
        progress.stop()
        FAILURES.done_interruptible()
    wall = time.perf_counter() - t0
    _print_summary(summary, wall)
    if plots is not None:
        _plot(Path(sw.store), plots)
    if summary["failed"] or summary["missing"]:
        err_console.print(f"[bold red]{summary['missing']} units missing "
                          f"({summary['failed']} failed after retries):[/] "
                          f"see `statmech status {sw.store}`; rerun to retry them.")
        raise typer.Exit(1)


def _preflight_store(sw: Any, extend: bool) -> str:
    """Check the store path before any server or cluster starts: ``new``/``same``/``extends``."""
    from statmech.guard import check_writable, clear_garbage_lock
    from statmech.plan import preflight
    from statmech.store import lock_path, store_lock

    check_writable(Path(sw.store))
    clear_garbage_lock(lock_path(sw.store), err_console)
    try:
        state = preflight(sw, extend)
    except Exception as exc:
        if type(exc).__name__ in ("StoreMismatchError", "StoreBusyError") or \
                isinstance(exc, StoreError):
            raise
        raise StoreError(f"{sw.store} cannot be read ({_short(exc)}); it is corrupt or "
                         f"incomplete: run `statmech verify {sw.store}`, or move it away and "
                         "rerun") from exc
    if lock_path(sw.store).exists():
        with store_lock(sw.store):  # takes over a stale lock, refuses a live one
            pass
    return str(state)


def _short(exc: BaseException) -> str:
    from statmech.guard import short

    return short(exc)


def _print_summary(summary: dict[str, Any], wall: float) -> None:
    """The table a sweep ends with; ``wall`` is the command's time from before the cluster.

    *start-up*: the cluster and the Prefect server starting, the model's kernels compiled on
    the workers, the flow run created; *sweep*: the flow's ``wall_seconds``.

    *cluster busy*: the flow's ``busy``, the units' own compute seconds over worker threads x
    the sweep's wall time (store, planning, compute and flush; not the start-up of the cluster
    and Prefect).
    """
    table = Table(title="sweep finished", show_header=False)
    # units done in this run, whichever attempt wrote them (a batch retried after a lost
    # worker reports only the units its last attempt computed)
    summary = {**summary, "computed": max(
        summary["total"] - summary["skipped"] - summary["missing"], 0)}
    for key in ("store", "total", "skipped", "computed", "failed", "missing", "batches"):
        table.add_row(key, str(summary[key]))
    sweep = float(summary.get("wall_seconds", wall))
    if wall > sweep + 0.05:
        table.add_row("wall time", f"{wall:.1f} s: start-up {wall - sweep:.1f} s, "
                                   f"sweep {sweep:.1f} s")
    else:
        table.add_row("wall time", f"{sweep:.1f} s")
    if summary.get("computed") and summary.get("busy") is not None:
        table.add_row("cluster busy", f"{summary['busy']:.0%} of {summary['worker_threads']} "
                                      f"worker threads ({summary['compute_seconds']:.4g} s of "
                                      "unit compute)")
    console.print(table)


@app.command()
def deploy(
    config: Annotated[Path, typer.Argument(help="sweep file (YAML)")],
    cron: Annotated[str | None, typer.Option(help='cron schedule, e.g. "0 3 * * *"')] = None,
    interval: Annotated[float | None, typer.Option(help="or: seconds between runs")] = None,
    name: Annotated[str | None, typer.Option(help="deployment name")] = None,
    root: Annotated[str | None, typer.Option(help="folder of the run stores")] = None,
    address: Annotated[str | None, typer.Option(help="Dask scheduler of every run")] = None,
    workers: Annotated[int | None, typer.Option(help="local workers of every run")] = None,
    tls_dir: Annotated[
        Path | None, typer.Option(help="TLS certificates (`statmech certs`) for tls:// clusters")
    ] = None,
) -> None:
    """Serve scheduled reruns of a sweep as a Prefect deployment (runs until stopped).

    Every run writes a new store under ROOT and a drift report against the previous run.
    """
    sw = _load(config, tls_dir=tls_dir)
    if (cron is None) == (interval is None):
        raise InputError("give exactly one of --cron and --interval")
    if cron is not None:
        _check_cron(cron)
    if interval is not None and not interval > 0:
        raise InputError(f"--interval must be a positive number of seconds, got {interval:g}")
    if address:
        _check_cluster(sw, address)
    from statmech.cluster import configured_api_url

    if not configured_api_url():
        err_console.print("[yellow]PREFECT_API_URL is not set: the deployment lives in a "
                          "temporary server and disappears when this command stops.[/]")
    from flows.scheduled import default_root, scheduled_sweep

    folder = str(Path(root).resolve()) if root else str(default_root(sw.store).resolve())
    params = {"config": str(config.resolve()), "root": folder, "address": address,
              "workers": workers, "tls_dir": sw.cluster.tls_dir}
    console.print(f"Serving [bold]{name or sw.name}[/]: runs into {folder} "
                  f"({'cron ' + cron if cron else f'every {interval:g} s'}); Ctrl-C stops.")
    # one run at a time: a late run waits instead of piling up on the cluster
    try:
        scheduled_sweep.serve(name=name or sw.name, cron=cron, interval=interval,
                              parameters=params, pause_on_shutdown=False, limit=1)
    except KeyboardInterrupt:
        err_console.print("Stopped serving (Ctrl-C).")


def _check_cron(cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    from statmech.errors import truncate

    try:
        valid = len(cron) <= 200 and CronSchedule(cron=cron) is not None
    except ValueError:
        valid = False
    if not valid:
        raise InputError(f"--cron {truncate(cron, 60)} is not a cron schedule; give five "
                         'fields, minute hour day month weekday, e.g. "0 3 * * *"')


@app.command()
def drift(
    old: Annotated[Path, typer.Argument(help="previous run's store")],
    new: Annotated[Path, typer.Argument(help="this run's store")],
) -> None:
    """Compare two runs of a sweep point by point (exit code 1 on drift)."""
    from statmech.drift import compare

    _require_store(old)
    _require_store(new)
    report = compare(old, new)
    console.print(report.to_markdown(), markup=False, highlight=False)
    if not report.passed:
        err_console.print(f"[bold red]error:[/] {report.verdict}: the runs differ beyond their "
                          "errors; see the report above", highlight=False)
        raise typer.Exit(1)


def _require_store(path: Path, need_done: bool = False) -> None:
    """Refuse a path that is not a readable statmech store in one line (exit 2 or 3)."""
    from statmech.guard import require_store

    require_store(path, need_done)


@app.command()
def check(config: Annotated[Path, typer.Argument(help="sweep file (YAML)")]) -> None:
    """Validate a sweep file; show the grid, the compute and memory estimate and the Dask tasks."""
    sw = _load(config)
    from statmech.cluster import default_workers
    from statmech.grid import Grid, block_count, group_count
    from statmech.limits import estimate, human_bytes, human_seconds

    grid = Grid(sw.axes, sw.fixed, sw.replicas)
    est = sw.estimate or estimate(sw.model, sw.settings, sw.axes, sw.fixed, sw.replicas)
    cost = est.core_seconds
    cfg = sw.cluster
    if cfg.jobqueue is not None:
        slots = cfg.jobqueue.jobs * cfg.jobqueue.cores
    else:
        slots = (cfg.workers or default_workers()) * cfg.threads_per_worker
    groups = group_count(cost, grid.n_units, slots, sw.batch.target_seconds, sw.batch.size)
    blocks = block_count(cost / slots, groups)
    where = ("sized again at run time for the cluster at " + cfg.address if cfg.address
             else "sized again at run time for the cluster's threads")
    table = Table(title=f"{sw.name} ({sw.model.name}) is valid", show_header=False)
    for name, values in sw.axes.items():
        shown = ", ".join(f"{v:g}" for v in values[:8]) + (" ..." if len(values) > 8 else "")
        table.add_row(f"axis {name}", f"{len(values)} values: {shown}")
    for name, value in sw.fixed.items():
        table.add_row(f"fixed {name}", f"{value:g}")
    table.add_row("settings", json.dumps(sw.settings.model_dump(mode="json")))
    table.add_row("units", f"{grid.n_units} ({grid.n_points} points x {sw.replicas})")
    sampled = " (sampled)" if est.sampled else ""
    table.add_row("estimated compute", f"{cost:.0f} core-seconds ({human_seconds(cost)})"
                  f"{sampled}; longest unit {human_seconds(est.max_unit_seconds)}")
    table.add_row("estimated memory", "per unit " + (human_bytes(est.max_unit_bytes)
                                                     if est.max_unit_bytes is not None
                                                     else "not estimated by this model"))
    lim = sw.limits
    table.add_row("limits", f"{lim.max_units:.3g} units, {lim.max_unit_memory_gib:g} GiB and "
                  f"{lim.max_unit_hours:g} h per unit, {lim.max_core_hours:.3g} core-hours "
                  "(raise them under limits: in the sweep file)")
    table.add_row("Dask tasks", f"about {groups} for {slots} worker threads ({where}), "
                  f"tracked by {blocks} Prefect task run(s)")
    table.add_row("store", sw.store)
    console.print(table)


@app.command()
def status(store: Annotated[Path, typer.Argument(help="a statmech zarr store")]) -> None:
    """Show done / missing / failed units, the sweep's summary and the last errors."""
    from statmech.store import Store

    _require_store(store)
    st = Store(store)
    attrs = st.attrs()
    names, coords, replicas = st.grid()
    done = st.done_mask()
    failed = st.failed_mask()
    total = done.size
    table = Table(title=f"{store}", show_header=False)
    table.add_row("model", str(attrs.get("model")))
    table.add_row("grid", " x ".join(f"{n}[{len(coords[n])}]" for n in names)
                  + f" x {replicas} {attrs.get('replica_dim')}")
    table.add_row("done", f"{int(done.sum())} / {total}")
    table.add_row("missing", str(int((~done).sum())))
    table.add_row("failed", str(int(failed.sum())))
    for key in ("created", "start_time", "end_time", "host", "git_revision", "statmech_version"):
        if attrs.get(key):
            table.add_row(key, str(attrs[key]))
    table.add_row("config hash", str(attrs.get("config_hash", ""))[:16])
    console.print(table)
    errors = st.errors()
    if errors:
        err_table = Table(title=f"last errors ({len(errors)} units)")
        for col in ("time", "point", "unit", "error"):
            err_table.add_column(col)
        for rec in errors[-5:]:
            err_table.add_row(rec["time"], json.dumps(rec["point"]), json.dumps(rec["unit"]),
                              rec["error"].splitlines()[0][:120])
        console.print(err_table)


def _plot(store: Path, out: Path) -> None:
    from statmech.plots import write_figures
    from statmech.store import open_dataset

    paths = write_figures(open_dataset(store), out)
    for p in paths:
        console.print(f"wrote {p}")


@app.command()
def plot(
    store: Annotated[Path, typer.Argument(help="a statmech zarr store")],
    out: Annotated[Path | None, typer.Option(help="output folder (default: STORE.plots)")] = None,
) -> None:
    """Write the standard figures of a store (PNG) with exact results overlaid."""
    _require_store(store, need_done=True)
    _plot(store, out or store.with_suffix(".plots"))


@app.command()
def report(
    store: Annotated[Path, typer.Argument(help="a statmech zarr store")],
    out: Annotated[Path | None, typer.Option(help="output folder (default: STORE.report)")] = None,
) -> None:
    """Write a static HTML report: figures, estimates with errors, exact comparisons, provenance."""
    _require_store(store, need_done=True)
    from statmech.report import write_report

    console.print(f"wrote {write_report(store, out)}")


@app.command()
def refine(
    store: Annotated[Path, typer.Argument(help="a statmech zarr store")],
    near: Annotated[
        str, typer.Option(help="a refinement target of the store's model (Ising: binder-crossing "
                               "| chi-peak, Hopfield: capacity)")
    ] = "binder-crossing",
    points: Annotated[int, typer.Option(help="axis values to add")] = 4,
    workers: Annotated[int | None, typer.Option(help="local Dask worker processes")] = None,
    address: Annotated[str | None, typer.Option(help="scheduler of an existing cluster")] = None,
    tls_dir: Annotated[
        Path | None, typer.Option(help="TLS certificates (`statmech certs`) for tls:// clusters")
    ] = None,
) -> None:
    """Add axis values where an estimate is least certain and compute only those points."""
    from statmech.refine import refined_sweep
    from statmech.store import open_dataset

    _require_store(store, need_done=True)
    ds = open_dataset(store)
    try:
        sw, added = refined_sweep(ds, str(store), near, points)
    except Exception as exc:  # the estimate cannot be made on this store
        if isinstance(exc, StatmechError):
            raise
        model = ds.attrs.get("model", "?")
        raise InputError(f"cannot refine {store} (model {model}) near {near}: {_short(exc)}; "
                         "choose --near binder-crossing or chi-peak for Ising stores, "
                         "capacity for Hopfield stores") from exc
    if not added:
        console.print("Nothing to add: the proposed values are already in the store.")
        return
    if tls_dir:
        sw = sw.with_overrides(cluster=sw.cluster.model_copy(update={"tls_dir": str(tls_dir)}))
    _check_cluster(sw, address)
    console.print(f"Adding {len(added)} values near {near}: {added}")
    FAILURES.interruptible(str(store), f"statmech refine {store}")
    from flows.sweep import run_sweep

    try:
        summary = run_sweep(sw, workers=workers, address=address, extend=True)
    finally:
        FAILURES.done_interruptible()
    _print_summary(summary, summary["wall_seconds"])
    if summary["missing"]:
        raise typer.Exit(1)


@app.command()
def certs(
    folder: Annotated[Path, typer.Argument(help="folder for the certificates and keys")],
    host: Annotated[list[str] | None, typer.Option(
        help="extra scheduler host name or IP address (repeatable)")] = None,
    days: Annotated[int, typer.Option(help="validity in days", min=1)] = 365,
    overwrite: Annotated[bool, typer.Option(help="replace existing certificates")] = False,
    if_missing: Annotated[bool, typer.Option(
        help="do nothing if the folder already holds a CA (for container start-up)")] = False,
) -> None:
    """Create TLS certificates for a Dask cluster: a CA, scheduler, worker and client pairs."""
    from statmech.certs import create, paths

    if if_missing and paths(folder)["ca"].exists():
        console.print(f"{folder} already holds certificates; nothing to do")
        return
    out = create(folder, tuple(host or ()), days, overwrite)
    console.print(f"wrote a CA and scheduler, worker and client certificates to {folder}")
    console.print(f"  scheduler: dask scheduler --tls-ca-file {out['ca']} --tls-cert "
                  f"{out['scheduler']} --tls-key {out['scheduler_key']} ...", highlight=False)
    console.print(f"  worker:    dask worker tls://HOST:8786 --tls-ca-file {out['ca']} "
                  f"--tls-cert {out['worker']} --tls-key {out['worker_key']} ...",
                  highlight=False)
    console.print(f"  client:    statmech sweep CONFIG --address tls://HOST:8786 --tls-dir "
                  f"{folder}", highlight=False)


@app.command()
def verify(
    store: Annotated[Path, typer.Argument(help="a statmech zarr store")],
    repair: Annotated[bool, typer.Option(help="clear the done flags of affected units")] = True,
) -> None:
    """Check every chunk (checksums, lost chunks, non-finite values); exit code 1 on damage.

    Affected units lose their done flag, so rerunning the sweep recomputes exactly them.
    """
    from statmech.store import Store

    if not Store(store).exists():
        err_console.print(f"[red]{store} is not a statmech store[/]")
        raise typer.Exit(2)
    found = Store(store).verify(repair=repair)
    for kind in ("corrupt", "missing"):
        for item in found[kind]:
            console.print(f"{kind} chunk: {item}")
    for name, n in found["nonfinite"].items():
        console.print(f"non-finite values: {name} in {n} units")
    action = "marked for recompute" if repair else "affected"
    console.print(f"checked {found['checked']} chunks; {found['affected']} units {action}")
    if found["affected"] or found["corrupt"]:
        raise typer.Exit(1)


@app.command()
def migrate(
    old: Annotated[Path, typer.Argument(help="store of an older schema")],
    new: Annotated[Path, typer.Argument(help="new store path")],
) -> None:
    """Rewrite a store of an older schema (one chunk per unit) in the current layout."""
    from statmech.store import migrate as migrate_store

    done = migrate_store(old, new)
    console.print(f"wrote {new}: {done} units done, values copied bitwise")


def main() -> None:  # pragma: no cover
    """Entry point for ``python -m statmech``."""
    app(prog_name="statmech")
    sys.exit(0)
