"""The ``statmech`` command line (typer + rich).

``statmech sweep CONFIG``   run a sweep (local Dask cluster by default) with a live progress bar
``statmech check CONFIG``   validate a sweep file and show the grid and cost estimate
``statmech status STORE``   done / missing / failed units, the config summary, last errors
``statmech plot STORE``     standard figures with exact results overlaid
``statmech deploy CONFIG``  serve scheduled reruns with drift reports (Prefect deployment)
``statmech drift OLD NEW``  compare two runs of a sweep point by point
``statmech report STORE``   static HTML report with estimates, figures and provenance
``statmech refine STORE``   add points where an estimate is least certain, compute only those
``statmech verify STORE``   check every chunk's checksum; corrupt units are recomputed next run
``statmech migrate OLD NEW`` rewrite a store of an older schema
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

app = typer.Typer(
    help="Distributed parameter sweeps of statistical-mechanics models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _load(config: Path, store: str | None = None):  # type: ignore[no-untyped-def]
    from statmech.config import ConfigError, load_config

    try:
        sweep = load_config(config)
    except ConfigError as exc:
        err_console.print(f"[bold red]Invalid sweep file[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if store:
        sweep = sweep.with_overrides(store=store)
    return sweep


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
    verbose: Annotated[bool, typer.Option(help="show Prefect and Dask logs")] = False,
) -> None:
    """Run a sweep: compute every missing unit and store it as soon as it is done."""
    if not verbose:  # before dask is imported: worker processes inherit the environment
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    sw = _load(config, store)
    from statmech.plan import preflight
    from statmech.store import StoreBusyError, StoreMismatchError, lock_path

    try:
        state = preflight(sw, extend)
        if lock_path(sw.store).exists():
            from statmech.store import store_lock

            with store_lock(sw.store):  # takes over a stale lock, refuses a live one
                pass
    except (StoreMismatchError, StoreBusyError) as exc:
        err_console.print(f"[bold red]Store refused:[/] {exc}", highlight=False)
        raise typer.Exit(3) from None
    _graceful_sigterm()
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
    wall = time.perf_counter() - t0
    _print_summary(summary, wall)
    if plots is not None:
        _plot(Path(sw.store), plots)
    if summary["failed"] or summary["missing"]:
        err_console.print(f"[bold red]{summary['missing']} units missing "
                          f"({summary['failed']} failed after retries):[/] "
                          f"see `statmech status {sw.store}`; rerun to retry them.")
        raise typer.Exit(1)


def _graceful_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that the cluster, the server and the lock are released."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _print_summary(summary: dict[str, Any], wall: float) -> None:
    table = Table(title="sweep finished", show_header=False)
    for key in ("store", "total", "skipped", "computed", "failed", "missing", "batches"):
        table.add_row(key, str(summary[key]))
    table.add_row("wall time", f"{wall:.1f} s")
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
) -> None:
    """Serve scheduled reruns of a sweep as a Prefect deployment (runs until stopped).

    Every run writes a new store under ROOT and a drift report against the previous run.
    """
    sw = _load(config)
    if (cron is None) == (interval is None):
        err_console.print("[red]give exactly one of --cron and --interval[/]")
        raise typer.Exit(2)
    from statmech.cluster import configured_api_url

    if not configured_api_url():
        err_console.print("[yellow]PREFECT_API_URL is not set: the deployment lives in a "
                          "temporary server and disappears when this command stops.[/]")
    from flows.scheduled import default_root, scheduled_sweep

    folder = str(Path(root).resolve()) if root else str(default_root(sw.store).resolve())
    params = {"config": str(config.resolve()), "root": folder, "address": address,
              "workers": workers}
    console.print(f"Serving [bold]{name or sw.name}[/]: runs into {folder} "
                  f"({'cron ' + cron if cron else f'every {interval:g} s'}); Ctrl-C stops.")
    # one run at a time: a late run waits instead of piling up on the cluster
    scheduled_sweep.serve(name=name or sw.name, cron=cron, interval=interval,
                          parameters=params, pause_on_shutdown=False, limit=1)


@app.command()
def drift(
    old: Annotated[Path, typer.Argument(help="previous run's store")],
    new: Annotated[Path, typer.Argument(help="this run's store")],
) -> None:
    """Compare two runs of a sweep point by point (exit code 1 on drift)."""
    from statmech.drift import compare

    report = compare(old, new)
    console.print(report.to_markdown(), markup=False, highlight=False)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def check(config: Annotated[Path, typer.Argument(help="sweep file (YAML)")]) -> None:
    """Validate a sweep file; show the grid, the cost estimate and the batches."""
    sw = _load(config)
    from statmech.grid import Grid, make_batches

    grid = Grid(sw.axes, sw.fixed, sw.replicas)
    units = list(grid.units())
    cost = sum(sw.model.cost(grid.point(u[0]), sw.settings) for u in units)
    batches = make_batches(units, lambda u: sw.model.cost(grid.point(u[0]), sw.settings),
                           sw.batch.target_seconds, sw.batch.size)
    table = Table(title=f"{sw.name} ({sw.model.name}) is valid", show_header=False)
    for name, values in sw.axes.items():
        shown = ", ".join(f"{v:g}" for v in values[:8]) + (" ..." if len(values) > 8 else "")
        table.add_row(f"axis {name}", f"{len(values)} values: {shown}")
    for name, value in sw.fixed.items():
        table.add_row(f"fixed {name}", f"{value:g}")
    table.add_row("settings", json.dumps(sw.settings.model_dump(mode="json")))
    table.add_row("units", f"{grid.n_units} ({grid.n_points} points x {sw.replicas})")
    table.add_row("estimated compute", f"{cost:.0f} core-seconds")
    table.add_row("batches", f"{len(batches)} (about {sw.batch.target_seconds:g} s each)")
    table.add_row("store", sw.store)
    console.print(table)


@app.command()
def status(store: Annotated[Path, typer.Argument(help="a statmech zarr store")]) -> None:
    """Show done / missing / failed units, the sweep's summary and the last errors."""
    from statmech.store import Store

    st = Store(store)
    if not st.exists():
        err_console.print(f"[red]{store} is not a statmech store[/]")
        raise typer.Exit(2)
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
    if not (store / "zarr.json").exists():
        err_console.print(f"[red]{store} is not a statmech store[/]")
        raise typer.Exit(2)
    _plot(store, out or store.with_suffix(".plots"))


@app.command()
def report(
    store: Annotated[Path, typer.Argument(help="a statmech zarr store")],
    out: Annotated[Path | None, typer.Option(help="output folder (default: STORE.report)")] = None,
) -> None:
    """Write a static HTML report: figures, estimates with errors, exact comparisons, provenance."""
    if not (store / "zarr.json").exists():
        err_console.print(f"[red]{store} is not a statmech store[/]")
        raise typer.Exit(2)
    from statmech.report import write_report

    console.print(f"wrote {write_report(store, out)}")


@app.command()
def refine(
    store: Annotated[Path, typer.Argument(help="a statmech zarr store")],
    near: Annotated[
        str, typer.Option(help="binder-crossing | chi-peak | capacity")
    ] = "binder-crossing",
    points: Annotated[int, typer.Option(help="axis values to add")] = 4,
    workers: Annotated[int | None, typer.Option(help="local Dask worker processes")] = None,
    address: Annotated[str | None, typer.Option(help="scheduler of an existing cluster")] = None,
) -> None:
    """Add axis values where an estimate is least certain and compute only those points."""
    from statmech.refine import refined_sweep
    from statmech.store import open_dataset

    if not (store / "zarr.json").exists():
        err_console.print(f"[red]{store} is not a statmech store[/]")
        raise typer.Exit(2)
    try:
        sw, added = refined_sweep(open_dataset(store), str(store), near, points)
    except ValueError as exc:
        err_console.print(f"[red]cannot refine:[/] {exc}")
        raise typer.Exit(2) from None
    if not added:
        console.print("Nothing to add: the proposed values are already in the store.")
        return
    console.print(f"Adding {len(added)} values near {near}: {added}")
    _graceful_sigterm()
    from flows.sweep import run_sweep

    summary = run_sweep(sw, workers=workers, address=address, extend=True)
    _print_summary(summary, summary["wall_seconds"])
    if summary["missing"]:
        raise typer.Exit(1)


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
