"""A static HTML report of a store, self-contained in one folder (opens offline).

Figures, estimates with errors, exact-theory comparisons, provenance, run time and cost per point.

What a model contributes comes from its presentation (:mod:`statmech.presentation`): the
estimate rows are its ``estimates(ds)`` (:class:`statmech.analysis.estimate.Estimate` objects,
one table row each), its figures are :func:`statmech.plots.figures` (generic ones for a model
without its own) plus its ``report_figures(ds)``. A model without estimates gets the page
without an estimates table ("No estimates for this model"). Every estimate cell carries its
full-precision value in a ``data-value`` attribute, so that tests can check the page against
:mod:`statmech.analysis`.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis.estimate import Estimate
from statmech.plots import figures, presentation_for
from statmech.store import open_dataset


def _estimates(ds: xr.Dataset) -> tuple[list[Estimate], dict[str, Figure]]:
    """The model's estimate rows and report-only figures (none for a generic model)."""
    pres = presentation_for(ds)
    rows = pres.estimates(ds) if pres.estimates is not None else []
    figs = pres.report_figures(ds) if pres.report_figures is not None else {}
    return rows, figs


def _fmt(x: float | None, digits: int = 6) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(rows_) + "</tr>" for rows_ in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _cell(text: str) -> str:
    return f"<td>{html.escape(text)}</td>"


def _cost_rows(ds: xr.Dataset) -> list[list[str]]:
    done = ds["done"].values
    elapsed = np.where(done, ds["elapsed"].values, np.nan)
    rows = [
        [_cell("units done"), _cell(f"{int(done.sum())} / {done.size}")],
        [_cell("failed units"), _cell(str(int(ds['failed'].values.sum())))],
        [_cell("compute (sum over units)"), _cell(f"{np.nansum(elapsed):.1f} core-seconds")],
        [_cell("mean cost per unit"), _cell(f"{np.nanmean(elapsed):.3g} s")
         if done.any() else _cell("–")],
    ]
    history = json.loads(ds.attrs.get("history", "[]"))
    for run in history:
        busy = (f", cluster {run['busy']:.0%} busy on {run['worker_threads']} worker threads"
                if run.get("computed") and run.get("busy") is not None else "")
        rows.append([_cell(f"run {run.get('start_time', '')}"),
                     _cell(f"{run.get('computed', 0)} computed, {run.get('skipped', 0)} "
                           f"skipped, {run.get('wall_seconds', 0):.1f} s wall{busy}")])
    rep = ds.attrs.get("replica_dim", "replica")
    axes = [d for d in ds["done"].dims if d != rep]
    if axes:
        first = axes[0]
        per = xr.DataArray(elapsed, dims=ds["done"].dims, coords={d: ds[d] for d in axes})
        mean = per.mean([d for d in per.dims if d != first], skipna=True)
        for v, m in zip(mean[first].values, mean.values, strict=True):
            rows.append([_cell(f"mean cost per unit at {first} = {v}"), _cell(f"{m:.3g} s")])
    return rows


def _provenance_rows(ds: xr.Dataset) -> list[list[str]]:
    keys = ("model", "title", "created", "start_time", "end_time", "host", "platform",
            "statmech_version", "git_revision", "config_hash", "seed")
    rows = [[_cell(k), _cell(str(ds.attrs[k]))] for k in keys if ds.attrs.get(k) is not None]
    versions = ds.attrs.get("versions")
    if isinstance(versions, str):  # schema 2 stores keep mappings as JSON text (netCDF-safe)
        versions = json.loads(versions) if versions.startswith("{") else None
    if isinstance(versions, dict):
        rows.append([_cell("versions"),
                     _cell(", ".join(f"{k} {v}" for k, v in versions.items()))])
    rows.append([_cell("conventions"), _cell(str(ds.attrs.get("conventions", "")))])
    return rows


CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}figure{margin:1.5em 0}
img{max-width:100%;border:1px solid #eee}pre{background:#f7f7f7;padding:1em;overflow:auto}
.bad{color:#b00}.good{color:#070}
"""


def write_report(store: str | Path, out: str | Path | None = None) -> Path:
    """Write ``index.html`` with its figures (PNG and SVG) to ``out``; returns the page path."""
    store = Path(store)
    folder = Path(out) if out else store.with_suffix(".report")
    folder.mkdir(parents=True, exist_ok=True)
    ds = open_dataset(store)
    rows, extra_figs = _estimates(ds)
    figs = {**figures(ds), **extra_figs}
    fig_html = []
    for stem, fig in figs.items():
        fig.savefig(folder / f"{stem}.png", dpi=110)
        fig.savefig(folder / f"{stem}.svg")
        plt.close(fig)
        fig_html.append(
            f'<figure><img src="{stem}.png" alt="{html.escape(stem)}">'
            f'<figcaption>{html.escape(stem)} (<a href="{stem}.svg">SVG</a>)</figcaption>'
            "</figure>")
    est_rows = []
    for r in rows:
        z = r.z
        zcls = "" if z is None else (' class="good"' if abs(z) < 3 else ' class="bad"')
        est_rows.append([
            _cell(r.quantity),
            f'<td class="value" data-key="{html.escape(r.key)}" data-value="{r.value!r}">'
            f"{_fmt(r.value)}</td>",
            f'<td class="error" data-key="{html.escape(r.key)}" data-value="{r.error!r}">'
            f"{_fmt(r.error, 2)}</td>",
            _cell(f"{_fmt(r.exact)} {r.exact_label}".strip() if r.exact is not None else "–"),
            f"<td{zcls}>{_fmt(z, 2) if z is not None else '–'}</td>",
            _cell(r.note),
            _cell(r.method),
        ])
    title = html.escape(str(ds.attrs.get("title", store.name)))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{CSS}</style></head>
<body>
<h1>{title}</h1>
<p>Store <code>{html.escape(str(store.resolve()))}</code>.
Errors are one standard error. z = (estimate − exact) / error.</p>
<h2>Estimates</h2>
{_table(["quantity", "estimate", "error", "exact", "z", "note", "method"], est_rows,
         "estimates")
 if est_rows else "<p>No estimates for this model.</p>"}
<h2>Figures</h2>
{"".join(fig_html)}
<h2>Run time and cost</h2>
{_table(["", ""], _cost_rows(ds), "cost")}
<h2>Provenance</h2>
{_table(["", ""], _provenance_rows(ds), "provenance")}
<h2>Sweep file</h2>
<pre>{html.escape(str(ds.attrs.get("config_text", "")))}</pre>
</body></html>
"""
    index = folder / "index.html"
    index.write_text(page)
    return index
