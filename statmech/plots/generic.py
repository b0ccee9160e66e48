"""Generic figures for any model: every scalar variable against every axis, with error bars.

What a model without its own figures gets (plug-in models, see ``docs/adding-a-model.md``).
A *scalar* variable has no dimensions besides the grid axes and the replica dimension
(variables with extra dimensions, such as histograms, are left out, and so are the bookkeeping
variables ``done``, ``failed``, ``error``, ``elapsed`` and the per-replica errors ``<name>_err``
of a stored ``<name>``). Points are the replica mean with its standard error
(:func:`statmech.analysis.common.replica_mean`; units not done are ignored).

One figure per axis, with one panel per variable (at most :data:`PANELS` panels a figure, more
variables go to further figures). In each panel the other axes are separate curves; a grid with
more than :data:`MAX_CURVES` combinations of the other axes shows :data:`MAX_CURVES` of them,
evenly spaced over the combinations, and says so in the title.
"""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis.common import replica_mean, sorted_by_axes

#: variables every store has that are not results
BOOKKEEPING = frozenset({"done", "failed", "error", "elapsed"})
#: at most this many curves (combinations of the other axes) per panel
MAX_CURVES = 8
#: at most this many panels (variables) per figure
PANELS = 9


def scalar_variables(ds: xr.Dataset) -> list[str]:
    """Numeric result variables with exactly the dimensions of ``done`` (axes and replica)."""
    dims = set(ds["done"].dims)
    out = []
    for name, var in ds.data_vars.items():
        name = str(name)
        if name in BOOKKEEPING or set(var.dims) != dims or var.dtype.kind not in "biuf":
            continue
        if name.endswith("_err") and name[: -len("_err")] in ds.data_vars:
            continue
        out.append(name)
    return out


def grid_axes(ds: xr.Dataset) -> list[str]:
    """The sweep axes of a store (dimensions of ``done`` other than the replica dimension)."""
    rep = ds.attrs.get("replica_dim", "replica")
    return [str(d) for d in ds["done"].dims if d != rep]


def _combos(ds: xr.Dataset, others: list[str]) -> tuple[list[dict[str, object]], int]:
    """Selections of the other axes to draw (at most MAX_CURVES) and how many there are."""
    all_combos = [dict(zip(others, c, strict=True))
                  for c in itertools.product(*(ds[o].values.tolist() for o in others))]
    if len(all_combos) <= MAX_CURVES:
        return all_combos, len(all_combos)
    pick = np.unique(np.linspace(0, len(all_combos) - 1, MAX_CURVES).round().astype(int))
    return [all_combos[i] for i in pick], len(all_combos)


def _units(da: xr.DataArray) -> str:
    units = da.attrs.get("units")
    return f"  [{units}]" if units and units != "1" else ""


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """``{"vs_<axis>" (or "vs_<axis>_<k>"): Figure}``: the scalar variables against each axis."""
    ds = sorted_by_axes(ds)
    names = scalar_variables(ds)
    axes = grid_axes(ds)
    model = ds.attrs.get("model", "?")
    means = {n: replica_mean(ds, n) for n in names}
    out: dict[str, Figure] = {}
    if not names:
        return out
    if not axes:  # every parameter fixed: one point per variable
        fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(names)), 4), constrained_layout=True)
        for i, n in enumerate(names):
            m, e = means[n]
            ax.errorbar([i], [float(m)], yerr=[float(e)], fmt="o", capsize=3)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(f"{model}: replica means ± standard error")
        out["variables"] = fig
        return out
    for axis in axes:
        others = [a for a in axes if a != axis]
        combos, total = _combos(ds, others)
        for part, start in enumerate(range(0, len(names), PANELS)):
            chunk = names[start:start + PANELS]
            cols = min(3, len(chunk))
            rows = math.ceil(len(chunk) / cols)
            fig, grid = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows),
                                     constrained_layout=True, squeeze=False)
            for ax, name in zip(grid.ravel(), chunk, strict=False):
                mean, err = means[name]
                for sel in combos:
                    m, e = mean.sel(sel), err.sel(sel)
                    label = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                                      for k, v in sel.items())
                    ax.errorbar(m[axis].values, m.values, yerr=e.values, fmt="o-", ms=3,
                                capsize=2, lw=1, label=label or None)
                var = ds[name]
                ax.set_xlabel(f"{axis}{_units(ds[axis])}")
                ax.set_ylabel(f"{var.attrs.get('long_name', name)}{_units(var)}")
                if combos and combos[0]:
                    ax.legend(fontsize=7)
            for ax in grid.ravel()[len(chunk):]:
                ax.set_visible(False)
            shown = f" (showing {len(combos)} of {total} combinations of {', '.join(others)})" \
                if total > len(combos) else ""
            fig.suptitle(f"{model}: replica mean ± standard error against {axis}{shown}")
            out[f"vs_{axis}" if part == 0 else f"vs_{axis}_{part + 1}"] = fig
    return out
