"""Figures of ``rbm`` sweeps (every function takes a Dataset and returns a Figure).

* :func:`phase_figure` -- the divergence phase diagram: per method, a map over (lr, k) of the
  final exact mean log-likelihood (replica mean), cells where at least half of the runs diverged
  marked with a cross; other axes (H, batch) at their largest/first value (named in the title);
* :func:`curves_figure` -- exact LL against epoch, per method, one curve per (lr, k), with the
  upper bound ``-H(D)`` (``-ln K`` for K uniform patterns) overlaid.
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import rbm as an
from statmech.theory import rbm as th


def _reduce_other(ds: xr.Dataset, keep: tuple[str, ...]) -> tuple[xr.Dataset, str]:
    """Select one value of every axis not in ``keep`` (H: largest; others: first)."""
    sel = {}
    for d in an.axes_of(ds):
        if d in keep or d == "method":
            continue
        sel[d] = ds[d].values.max() if d == "H" else ds[d].values[0]
    label = ", ".join(f"{k} = {v:g}" for k, v in sel.items())
    return (ds.sel(sel) if sel else ds), label


def _bound_label(ds: xr.Dataset) -> tuple[float, str]:
    data = an.law(ds)
    bound = th.best_log_likelihood(data)
    if data.patterns:
        return bound, f"−ln K = −ln {len(data.X)} = {bound:.4f}"
    return bound, f"−H(D) = {bound:.4f}"


def phase_figure(ds: xr.Dataset) -> Figure:
    """Final LL over (lr, k) per method; diverged cells (>= half the runs) marked x."""
    ds = an.load(ds)
    codes = an.methods_of(ds)
    fig, axs = plt.subplots(1, len(codes), figsize=(4.8 * len(codes) + 1, 4.2),
                            constrained_layout=True, squeeze=False)
    sub, label = _reduce_other(ds, ("lr", "k"))
    bound, blabel = _bound_label(ds)
    mean, _ = an.final(sub)
    finite = mean.values[np.isfinite(mean.values)]
    vmin = float(finite.min()) if finite.size else bound - 1
    im = None
    for ax, code in zip(axs[0], codes, strict=True):
        m = an.select_method(mean.to_dataset(name="ll"), code)["ll"]
        dv = an.diverged_fraction(an.select_method(sub, code))
        lrs = sub["lr"].values if "lr" in sub.dims else np.array([np.nan])
        ks = sub["k"].values if "k" in sub.dims else np.array([np.nan])
        grid = m.transpose(*[d for d in ("k", "lr") if d in m.dims]).values.reshape(
            len(ks), len(lrs))
        div = dv.transpose(*[d for d in ("k", "lr") if d in dv.dims]).values.reshape(
            len(ks), len(lrs))
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=vmin,
                       vmax=bound)
        for (i, j) in itertools.product(range(len(ks)), range(len(lrs))):
            txt = "nan" if not np.isfinite(grid[i, j]) else f"{grid[i, j]:.2f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=7, color="w")
            if div[i, j] >= 0.5:
                ax.plot(j, i, marker="x", ms=22, color="red", mew=2)
        ax.set_xticks(range(len(lrs)), [f"{x:g}" for x in lrs])
        ax.set_yticks(range(len(ks)), [f"{x:g}" for x in ks])
        ax.set_xlabel("learning rate lr")
        ax.set_ylabel("Gibbs steps k")
        ax.set_title(f"{an.METHOD_NAMES[code]}")
    if im is not None:
        fig.colorbar(im, ax=axs[0].tolist(), label=f"final exact LL (nats); max {blabel}")
    fig.suptitle(f"final mean log-likelihood, {an.law(ds).name}"
                 + (f" ({label})" if label else "") + "; x: diverged")
    return fig


def curves_figure(ds: xr.Dataset) -> Figure:
    """LL against epoch per method, one curve per (lr, k), with the bound overlaid."""
    ds = an.load(ds)
    codes = an.methods_of(ds)
    fig, axs = plt.subplots(1, len(codes), figsize=(5 * len(codes), 4.2),
                            constrained_layout=True, squeeze=False, sharey=True)
    sub, label = _reduce_other(ds, ("lr", "k"))
    bound, blabel = _bound_label(ds)
    rep = an.rep_dim(ds)
    epoch = ds["epoch"].values
    for ax, code in zip(axs[0], codes, strict=True):
        s = an.select_method(sub, code)
        ll = s["ll"].where(s["done"]).mean(rep)
        others = [d for d in ll.dims if d != "epoch"]
        for combo in itertools.product(*(range(ll.sizes[d]) for d in others)):
            idx = dict(zip(others, combo, strict=True))
            y = ll.isel(idx)
            lab = ", ".join(f"{d} = {float(y[d]):g}" for d in others)
            ax.plot(epoch, y.values, marker=".", lw=1, label=lab)
        ax.axhline(bound, color="k", ls="--", lw=1, label=blabel)
        ax.set_xlabel("epoch")
        ax.set_title(an.METHOD_NAMES[code])
        ax.legend(fontsize=6)
    axs[0][0].set_ylabel("exact mean log-likelihood (nats)")
    fig.suptitle(f"training curves, {an.law(ds).name}" + (f" ({label})" if label else ""))
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The standard figures of an ``rbm`` sweep."""
    return {"phase": phase_figure(ds), "ll-curves": curves_figure(ds)}
