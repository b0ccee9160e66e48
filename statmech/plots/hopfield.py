"""Hopfield figures (every function takes a Dataset and returns a Figure).

* :func:`overlap_figure` -- mean final overlap, retrieval probability and one-step crosstalk error
  against alpha, one curve per N, with the AGS replica-symmetric m(alpha), alpha_c and the exact
  and Gaussian crosstalk errors;
* :func:`capacity_figure` -- alpha_c(N) (P_ret = 1/2 crossing, bootstrap errors) against
  N^(-1/2) with the extrapolation N -> infinity and the AGS alpha_c;
* :func:`phase_figure` -- heat map of the time-averaged overlap over (alpha, T) with the RS
  retrieval boundary alpha_M(T) and the spin-glass line T_g = 1 + sqrt(alpha);
* :func:`basin_figure` -- retrieval probability over (alpha, initial noise): the basin of
  attraction;
* :func:`anneal_figure` -- simulated annealing: the fractions of runs ending in retrieval, a
  symmetric mixture or another state against the annealing length tau, one panel per alpha,
  one marker per N (Wilson intervals), and the mean final energy per outcome with the
  alpha -> 0 energies of the pure state and the 3- and 5-mixtures.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from statmech.analysis import hopfield as an
from statmech.analysis import sorted_by_axes
from statmech.models.hopfield.model import n_patterns
from statmech.theory import hopfield as th


def _title_extra(sel: dict[str, object], ds: xr.Dataset) -> str:
    fixed = json.loads(ds.attrs.get("fixed_parameters", "{}"))
    items = {**{k: v for k, v in fixed.items() if k not in ds.dims}, **sel}
    dyn = json.loads(ds.attrs.get("settings", "{}")).get("dynamics", "?")
    return ", ".join([f"dynamics {dyn}", *(f"{k} = {v:g}" for k, v in items.items())])


def _sizes(ds: xr.Dataset) -> list[int | None]:
    return [int(n) for n in ds["N"].values] if "N" in ds.dims else [None]


def overlap_figure(ds: xr.Dataset, sel: dict[str, object] | None = None,
                   threshold: float = an.RETRIEVAL_THRESHOLD) -> Figure:
    """<m>, P(m > threshold) and the initial unstable fraction against alpha, per N."""
    ds = sorted_by_axes(ds)
    sel = sel or {}
    sub = ds.sel(sel) if sel else ds
    fig, (ax_m, ax_p, ax_x) = plt.subplots(1, 3, figsize=(16, 5), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    alpha = sub["alpha"].values.astype(float)
    crit = th.ags_critical()
    for k, n in enumerate(_sizes(sub)):
        d = sub.sel(N=n) if n is not None else sub
        c = colors[k % len(colors)]
        label = f"N = {n}" if n is not None else "simulation"
        m, me = an.mean_overlap(d)
        ax_m.errorbar(alpha, m, yerr=me, fmt="o-", ms=3.5, lw=0.8, capsize=2, color=c,
                      label=label)
        pr, pe = an.retrieval_probability(d, threshold)
        ax_p.errorbar(alpha, pr, yerr=pe, fmt="o-", ms=3.5, lw=0.8, capsize=2, color=c,
                      label=label)
        u, ue = an.mean_with_error(an.per_sample(d, d["unstable0"]), an._rep(d))
        shown = u.values > 0  # log scale: runs without any unstable bit are not drawn
        uv, ev = u.values[shown], ue.values[shown]
        ax_x.errorbar(alpha[shown], uv, yerr=[np.minimum(ev, 0.9 * uv), ev], fmt="o", ms=3.5,
                      capsize=2, color=c, label=label)
        if n is not None:
            a_n = np.linspace(alpha.min(), alpha.max(), 60)
            exact = [th.p_error_exact(n, max(n_patterns(n, a), 1)) for a in a_n]
            ax_x.plot(a_n, exact, color=c, lw=0.8, ls="--")
    a_fine = np.linspace(max(alpha.min(), 1e-3), min(alpha.max(), crit.alpha_c), 200)
    ax_m.plot(a_fine, th.ags_m(a_fine), color="k", lw=1.5, label="AGS (RS, T = 0)")
    ax_m.plot([crit.alpha_c], [crit.m_c], "k*", ms=9)
    for ax in (ax_m, ax_p):
        ax.axvline(crit.alpha_c, color="0.5", ls=":", lw=1)
        ax.set_xlabel(r"load $\alpha = p/N$")
    ax_p.axhline(0.5, color="0.7", lw=0.8)
    a_all = np.linspace(max(alpha.min(), 1e-3), alpha.max(), 200)
    ax_x.plot(a_all, th.p_error_crosstalk(1.0, a_all), color="k", lw=1.5,
              label=r"$\frac{1}{2}(1-\mathrm{erf}\sqrt{N/2p})$")
    ax_x.set_yscale("log")
    ax_x.set_ylim(1e-6, None)
    ax_x.set_xlabel(r"load $\alpha = p/N$")
    ax_m.set_ylabel(r"final overlap $\langle m\rangle$")
    ax_p.set_ylabel(f"retrieval probability P(m > {threshold:g})")
    ax_x.set_ylabel("unstable fraction of the initial state (dashed: exact binomial)")
    ax_m.legend(fontsize=8)
    ax_x.legend(fontsize=8)
    fig.suptitle(f"Hopfield retrieval ({_title_extra(sel, ds)}; dotted: AGS "
                 rf"$\alpha_c$ = {crit.alpha_c:.4f})")
    return fig


def capacity_figure(ds: xr.Dataset, sel: dict[str, object] | None = None,
                    threshold: float = an.RETRIEVAL_THRESHOLD, omega: float = 0.5) -> Figure:
    """alpha_c(N) against N^(-omega), the weighted fit and its N -> infinity limit."""
    ds = sorted_by_axes(ds)
    sub = ds.sel(sel) if sel else ds
    est, fit = an.capacity_summary(sub, threshold=threshold, omega=omega)
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    N = est["N"].values.astype(float)
    x = N ** (-omega)
    ax.errorbar(x, est["alpha_c"], yerr=est["alpha_c_err"], fmt="o", capsize=3,
                label=r"$\alpha_c(N)$: $P_{\rm ret} = 1/2$ (bootstrap errors)")
    crit = th.ags_critical()
    ax.plot([0], [crit.alpha_c], "k*", ms=10, label=f"AGS RS {crit.alpha_c:.4f}")
    if fit is not None:
        xf = np.linspace(0, x.max() * 1.05, 50)
        inf, slope = fit["alpha_inf"], fit["slope"]
        ax.plot(xf, inf.value + slope.value * xf, "C1-", lw=1,
                label=(rf"fit: $\alpha_\infty$ = {inf.value:.4f} ± {inf.error:.4f}"
                       rf", $\chi^2$/dof = {fit.chi2:.1f}/{fit.dof}"))
        ax.errorbar([0], [inf.value], yerr=[inf.error], fmt="s", color="C1", capsize=3)
    ax.set_xlim(left=-0.002)
    ax.set_xlabel(rf"$N^{{-{omega:g}}}$")
    ax.set_ylabel(r"$\alpha_c(N)$")
    ax.legend(fontsize=8)
    ax.set_title(f"Storage capacity, threshold m > {threshold:g} ({_title_extra(sel or {}, ds)})")
    return fig


def _edges(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def phase_figure(ds: xr.Dataset, sel: dict[str, object] | None = None) -> Figure:
    """Heat map of <m_avg> over (alpha, T) with the RS retrieval boundary and T_g."""
    ds = sorted_by_axes(ds)
    sub = ds.sel(sel) if sel else ds
    m, _ = an.mean_overlap(sub, "m_avg")
    m = m.transpose("T", "alpha")
    alpha = sub["alpha"].values.astype(float)
    T = sub["T"].values.astype(float)
    fig, ax = plt.subplots(figsize=(8, 6), constrained_layout=True)
    mesh = ax.pcolormesh(_edges(alpha), _edges(T), m.values, cmap="viridis", vmin=0, vmax=1,
                         shading="flat")
    fig.colorbar(mesh, ax=ax, label=r"$\langle m \rangle$ (time average)")
    t_hi = min(float(T.max()), 0.999)
    Ts = np.linspace(0.0, t_hi, 60) if t_hi > 0 else np.array([0.0])
    ax.plot(th.alpha_m(Ts), Ts, "w-", lw=2, label=r"RS retrieval boundary $\alpha_M(T)$")
    a_line = np.linspace(0, alpha.max(), 100)
    tg = th.t_g(a_line)
    keep = tg <= T.max()
    if keep.any():
        ax.plot(a_line[keep], tg[keep], "w--", lw=1.2, label=r"$T_g = 1 + \sqrt{\alpha}$")
    ax.set_xlim(*map(float, _edges(alpha)[[0, -1]]))
    ax.set_ylim(*map(float, _edges(T)[[0, -1]]))
    ax.set_xlabel(r"load $\alpha = p/N$")
    ax.set_ylabel("temperature T")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"Retrieval phase diagram ({_title_extra(sel or {}, ds)})")
    return fig


def basin_figure(ds: xr.Dataset, sel: dict[str, object] | None = None,
                 threshold: float = an.RETRIEVAL_THRESHOLD) -> Figure:
    """Heat map of the retrieval probability over (alpha, initial noise)."""
    ds = sorted_by_axes(ds)
    sub = ds.sel(sel) if sel else ds
    pr, _ = an.retrieval_probability(sub, threshold)
    pr = pr.transpose("noise", "alpha")
    alpha = sub["alpha"].values.astype(float)
    noise = sub["noise"].values.astype(float)
    fig, ax = plt.subplots(figsize=(8, 6), constrained_layout=True)
    mesh = ax.pcolormesh(_edges(alpha), _edges(noise), pr.values, cmap="magma", vmin=0, vmax=1,
                         shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"P(final m > {threshold:g})")
    if pr.notnull().any():
        ax.contour(alpha, noise, pr.values, levels=[0.5], colors="w", linewidths=1.5)
    ax.axvline(th.ags_critical().alpha_c, color="w", ls=":", lw=1)
    ax.set_xlabel(r"load $\alpha = p/N$")
    ax.set_ylabel("initial noise (fraction of flipped bits)")
    ax.set_title(f"Basin of attraction, white: P = 1/2 ({_title_extra(sel or {}, ds)})")
    return fig


#: colours of the annealing outcomes
OUTCOME_COLORS = {"retrieval": "tab:green", "mixture": "tab:orange", "other": "0.35"}


def anneal_figure(ds: xr.Dataset, sel: dict[str, object] | None = None,
                  threshold: float = an.RETRIEVAL_THRESHOLD) -> Figure:
    """Outcome fractions and mean final energies against tau, per alpha (panels) and N."""
    ds = sorted_by_axes(ds)
    sub = ds.sel(sel) if sel else ds
    out = an.anneal_outcomes(sub, threshold)
    alphas: list[float | None] = (
        [float(a) for a in out["alpha"].values] if "alpha" in out.dims else [None])
    sizes = _sizes(out)
    tau = out["tau"].values.astype(float)
    fig, axes = plt.subplots(2, len(alphas), figsize=(1.0 + 4.2 * len(alphas), 8.5),
                             squeeze=False, sharex=True, constrained_layout=True)
    markers = "osD^v<>ph"
    for j, a in enumerate(alphas):
        ax_f, ax_e = axes[0, j], axes[1, j]
        ps = []
        for i, n in enumerate(sizes):
            where = {k: v for k, v in (("alpha", a), ("N", n)) if v is not None}
            d = out.sel(where) if where else out
            shift = tau * 1.06**i  # side by side
            for o in an.OUTCOMES:
                x = d.sel(outcome=o)
                f = x["frac"].values
                yerr = [np.maximum(f - x["lo"].values, 0), np.maximum(x["hi"].values - f, 0)]
                ax_f.errorbar(shift, f, yerr=yerr, fmt=markers[i % len(markers)] + "-",
                              ms=4, lw=0.8, capsize=2, color=OUTCOME_COLORS[o])
                ax_e.errorbar(shift, x["e_mean"].values, yerr=x["e_err"].values,
                              fmt=markers[i % len(markers)] + "-", ms=4, lw=0.8, capsize=2,
                              color=OUTCOME_COLORS[o])
            if n is not None and a is not None:
                ps.append(f"p = {n_patterns(n, a)} at N = {n}")
        for k, lstyle in ((1, "-"), (3, "--"), (5, ":")):
            ax_e.axhline(th.mixture_energy(k), color="k", lw=0.8, ls=lstyle)
        ax_f.set_xscale("log")
        ax_f.set_ylim(-0.02, 1.02)
        ax_f.set_title((rf"$\alpha$ = {a:g}" if a is not None else "") +
                       (f" ({', '.join(ps)})" if ps else ""), fontsize=9)
        ax_e.set_xlabel(r"annealing length $\tau$  [sweeps]")
    axes[0, 0].set_ylabel("fraction of runs")
    axes[1, 0].set_ylabel("mean final energy per spin of the runs of each outcome")
    handles = [Line2D([], [], color=c, lw=2, label=o) for o, c in OUTCOME_COLORS.items()]
    handles += [Line2D([], [], color="k", marker=markers[i % len(markers)], ls="",
                       label=f"N = {n}") for i, n in enumerate(sizes) if n is not None]
    axes[0, -1].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    e_lines = [Line2D([], [], color="k", lw=0.8, ls=ls, label=lab) for ls, lab in (
        ("-", "pure state -1/2"), ("--", "3-mixture -3/8"), (":", "5-mixture -45/128"))]
    axes[1, -1].legend(handles=e_lines, fontsize=8, title=r"$\alpha \to 0$, $N \to \infty$",
                       title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    settings = json.loads(ds.attrs.get("settings", "{}"))
    sched = (f"{settings.get('schedule', '?')} T = {settings.get('T_start', '?')} -> "
             f"{settings.get('T_end', '?')}, start {settings.get('start', '?')}"
             + (", final quench" if settings.get("final_quench") else ""))
    extra = ", ".join(f"{k} = {v:g}" for k, v in (sel or {}).items())
    fig.suptitle(f"Hopfield simulated annealing ({sched}{'; ' + extra if extra else ''})\n"
                 f"retrieval: max|m| >= {threshold:g}; mixture: overlap >= {threshold:g} with "
                 "the symmetric 3-, 5- or 7-mixture of the top patterns; one-sigma Wilson "
                 "intervals", fontsize=10)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The standard figures the store's axes allow (one per value of the remaining axes)."""
    if "m_top" in ds:  # simulated annealing
        if "tau" not in ds.dims:
            raise ValueError("Hopfield annealing plots need tau on an axis")
        ds = an.load(ds, ("m_top", "m_mix", "e"))
    elif "alpha" not in ds.dims:
        raise ValueError("Hopfield plots need alpha on an axis")
    else:
        ds = an.load(ds, ("m", "m_avg", "unstable0"))
    axes = an.axes_of(ds)
    out: dict[str, Figure] = {}

    def combos(keep: tuple[str, ...]) -> Iterator[tuple[dict[str, object], str]]:
        others = [a for a in axes if a not in keep]
        for combo in itertools.product(*(ds[o].values.tolist() for o in others)):
            sel = dict(zip(others, combo, strict=True))
            yield sel, "".join(f"_{k}{v:g}" for k, v in sel.items())

    if "m_top" in ds:
        for sel, suffix in combos(("tau", "alpha", "N")):
            out["anneal_outcomes" + suffix] = anneal_figure(ds, sel)
        return out
    if "T" in axes:
        for sel, suffix in combos(("alpha", "T")):
            out["phase" + suffix] = phase_figure(ds, sel)
    if "noise" in axes:
        for sel, suffix in combos(("alpha", "noise")):
            out["basin" + suffix] = basin_figure(ds, sel)
    if "T" not in axes and "noise" not in axes:
        for sel, suffix in combos(("alpha", "N")):
            out["overlap" + suffix] = overlap_figure(ds, sel)
            if "N" in axes and ds.sizes["N"] >= 2:
                out["capacity" + suffix] = capacity_figure(ds, sel)
    return out
