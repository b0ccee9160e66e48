"""Scheduled reruns: each run writes a fresh store and a drift report against the previous run.

``statmech deploy CONFIG --cron "0 3 * * *"`` serves :func:`scheduled_sweep` as a Prefect
deployment (``flow.serve``: in the foreground, or in the docker-compose ``runner`` service).
Every run writes ``<root>/<UTC time>-<run id>.zarr``, then compares it with the newest earlier
complete run in ``<root>`` (:mod:`statmech.drift`) and keeps the report beside the store as
``<run>.drift.md`` and ``<run>.drift.json``; the markdown is also published as a Prefect
artifact (key ``drift-<sweep name>``). An unchanged rerun must report "identical".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from statmech.config import load_config
from statmech.drift import compare
from statmech.store import Store


def default_root(store: str) -> Path:
    """Where the runs of a scheduled sweep go by default: ``<store without .zarr>-runs``."""
    p = Path(store)
    return p.with_name(p.name.removesuffix(".zarr") + "-runs")


def previous_run(root: Path, before: str) -> Path | None:
    """The newest complete run store in ``root`` older than ``before`` (a run name)."""
    runs = sorted(p for p in root.glob("*.zarr") if p.name < before)
    for p in reversed(runs):
        st = Store(p)
        if st.exists() and bool(st.done_mask().all()):
            return p
    return None


@flow(name="statmech-scheduled-sweep", log_prints=True, persist_result=False)
def scheduled_sweep(config: str, root: str | None = None, address: str | None = None,
                    workers: int | None = None, tls_dir: str | None = None) -> dict[str, Any]:
    """Run the sweep into a new store under ``root`` and report drift against the last run.

    ``tls_dir``: the certificates of :mod:`statmech.certs` for a ``tls://`` scheduler.
    """
    from flows.sweep import run_sweep

    sweep = load_config(config)
    if tls_dir:
        sweep = sweep.with_overrides(cluster=sweep.cluster.model_copy(update={"tls_dir": tls_dir}))
    folder = Path(root) if root else default_root(sweep.store)
    folder.mkdir(parents=True, exist_ok=True)
    # time first (runs sort chronologically), then the flow run id (two runs in one second)
    run_id = str(flow_run.id or "local")[:8]
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{run_id}"
    store = folder / f"{name}.zarr"
    summary = run_sweep(sweep.with_overrides(store=str(store)), workers=workers,
                        address=address)
    prev = previous_run(folder, store.name)
    if prev is None:
        report_md = f"# Drift report\n\nFirst run `{store}`: nothing to compare with.\n"
        verdict = "first run"
        (folder / f"{name}.drift.md").write_text(report_md)
    else:
        report = compare(prev, store)
        verdict = report.verdict
        report_md = report.to_markdown()
        (folder / f"{name}.drift.md").write_text(report_md)
        (folder / f"{name}.drift.json").write_text(report.to_json())
    key = "drift-" + re.sub(r"[^a-z0-9-]+", "-", sweep.name.lower()).strip("-")
    create_markdown_artifact(markdown=report_md, key=key,
                             description=f"drift of {store.name} against the previous run")
    print(f"{store}: {verdict}")
    return {**summary, "store": str(store), "previous": str(prev) if prev else None,
            "verdict": verdict}
