"""SK figures (every function takes a Dataset and returns a Figure).

``sk`` stores: the disorder-averaged ground-state energy against ``N^(-2/3)`` with the
weighted fit ``e_inf + A N^(-2/3)`` and Parisi's ``e_inf``; the quenched and annealed
complexities ``[ln N_s]/N`` and ``ln [N_s]/N`` against N with the exact finite-N annealed
curve and the asymptote 0.1992; the energy density of stable states; for ``method: search``
the success rate. ``sk-overlap`` stores: P(q) at several temperatures for each N, the Binder
ratio ``g(T)``, ``N [<q^2>]`` with the paramagnetic limit and the energy-overlap equilibrium
check. Error bars are one standard error over disorder samples.
"""

from __future__ import annotations

import itertools
import json

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import sk as an
from statmech.analysis import sorted_by_axes
from statmech.theory import sk as theory


def _colors() -> list[str]:
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _label(sel: dict) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in sel.items())


def _fixed_text(ds: xr.Dataset) -> str:
    fixed = json.loads(ds.attrs.get("fixed_parameters", "{}"))
    return ", ".join(f"{k} = {v:g}" for k, v in fixed.items())


def e0_figure(ds: xr.Dataset, n_min: int = 0) -> Figure:
    """``[e0]`` against ``N^(-2/3)`` with the extrapolation and Parisi's value."""
    ds = sorted_by_axes(ds)
    mean, err = an.ground_state_energy(ds)
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    x_max = float(mean["N"].min()) ** -theory.FINITE_SIZE_EXPONENT * 1.05
    xs = np.linspace(0, x_max, 100)
    for k, ex in enumerate(an.extrapolate_e0(ds, n_min=n_min)):
        c = _colors()[k % len(_colors())]
        sel, fit = ex.details["selection"], ex.details["fit"]
        m, e = mean.sel(sel), err.sel(sel)
        x = m["N"].values ** -ex.details["omega"]
        ax.errorbar(x, m, yerr=e, fmt="o", ms=4, capsize=2, color=c,
                    label=f"[e0] {_label(sel)}".strip())
        ax.plot(xs, fit(xs), color=c, lw=1)
        ax.fill_between(xs, fit(xs) - fit.band(xs), fit(xs) + fit.band(xs),
                        color=c, alpha=0.15, lw=0)
        ax.errorbar([0], [ex.value], yerr=[ex.error], fmt="s", color=c, capsize=3,
                    label=f"fit N >= {ex.details['sizes'].min()}: e_inf = {ex.value:.4f} ± "
                          f"{ex.error:.4f} (chi2/dof = {fit.chi2:.1f}/{fit.dof})")
    ax.axhline(theory.PARISI_E0, color="k", ls="--", lw=1,
               label=f"Parisi e_inf = {theory.PARISI_E0}")
    ax.set_xlabel(r"$N^{-2/3}$")
    ax.set_ylabel(r"ground-state energy per spin $[e_0]$  [J]")
    ax.set_xlim(left=-0.01)
    ax.legend(fontsize=8)
    ax.set_title(f"SK ground-state energy ({_fixed_text(ds)}; {ds.sizes['sample']} samples)")
    return fig


def complexity_figure(ds: xr.Dataset) -> Figure:
    """Quenched and annealed ``ln N_s / N`` against N, exact annealed curve and 0.1992."""
    ds = sorted_by_axes(ds)
    c = an.complexity(ds)
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    others = [d for d in c["quenched"].dims if d != "N"]
    combos = list(itertools.product(*(c[o].values.tolist() for o in others)))
    n_fine = np.arange(int(ds["N"].min()), int(ds["N"].max()) + 1)
    for k, combo in enumerate(combos):
        sel = dict(zip(others, combo, strict=True))
        col = _colors()[k % len(_colors())]
        sub = c.sel(sel)
        N = sub["N"].values
        ax.errorbar(N - 0.1, sub["quenched"], yerr=sub["quenched_err"], fmt="o", ms=4,
                    capsize=2, color=col, label=rf"quenched $[\ln N_s]/N$ {_label(sel)}")
        ax.errorbar(N + 0.1, sub["annealed"], yerr=sub["annealed_err"], fmt="s", ms=4,
                    capsize=2, color=col, mfc="none",
                    label=rf"annealed $\ln [N_s]/N$ {_label(sel)}")
        B = float(sel.get("B", an.parameter(ds, "B")))
        exact = [theory.log_mean_stable_states(int(n), B) / n for n in n_fine]
        ax.plot(n_fine, exact, color=col, lw=1, ls=":",
                label=rf"exact $\ln\langle N_s\rangle/N$ (Gaussian J, B = {B:g})")
    ax.axhline(theory.ANNEALED_COMPLEXITY, color="k", ls="--", lw=1,
               label="N -> inf: 0.1992 (Tanaka-Edwards, Bray-Moore; B = 0)")
    ax.set_xlabel("N")
    ax.set_ylabel(r"complexity  $\ln N_s / N$")
    ax.legend(fontsize=7)
    ax.set_title("SK single-flip stable states")
    return fig


def stable_density_figure(ds: xr.Dataset) -> Figure:
    """Mean number of stable configurations per unit energy per spin, one curve per N."""
    ds = sorted_by_axes(ds)
    dens, _ = an.stable_energy_density(ds)
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    others = [d for d in dens.dims if d not in ("N", "e_bin")]
    first = {o: dens[o].values[0] for o in others}
    sub = dens.sel(first) if first else dens
    for k, n in enumerate(sub["N"].values):
        y = sub.sel(N=n)
        ax.semilogy(y["e_bin"], y, color=_colors()[k % len(_colors())], lw=1, label=f"N = {n}")
    ax.axvline(theory.PARISI_E0, color="k", ls="--", lw=1, label="Parisi e_inf")
    ax.set_xlabel("energy per spin e  [J]")
    ax.set_ylabel(r"$[N_s(e)]$ per unit e")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(f"energy density of stable states {_label(first)}".strip())
    return fig


def success_figure(ds: xr.Dataset) -> Figure:
    """Success rate of the ground-state search and quench statistics against N."""
    ds = sorted_by_axes(ds)
    p, err = an.success_rate(ds)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    axes[0].errorbar(p["N"], p, yerr=err, fmt="o-", capsize=2)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].set_xlabel("N")
    axes[0].set_ylabel("success rate (runs agreeing on the lowest energy)")
    if "quench_chao1" in ds:
        chao, chao_err = an.disorder_mean(ds, "quench_chao1")
        dist, dist_err = an.disorder_mean(ds, "quench_distinct")
        axes[1].errorbar(chao["N"], chao, yerr=chao_err, fmt="o-", label="Chao1 estimate")
        axes[1].errorbar(dist["N"], dist, yerr=dist_err, fmt="s-", label="distinct minima found")
        n_fine = np.arange(int(ds["N"].min()), int(ds["N"].max()) + 1)
        B = float(an.parameter(ds, "B").values.ravel()[0])
        axes[1].plot(n_fine, [theory.mean_stable_states(int(n), B) for n in n_fine], "k:",
                     label="exact <N_s> (annealed)")
        axes[1].set_yscale("log")
        axes[1].set_xlabel("N")
        axes[1].set_ylabel("local minima (basin-weighted quench estimates)")
        axes[1].legend(fontsize=8)
    fig.suptitle("SK ground-state search (parallel tempering) and quenches")
    return fig


def overlap_figure(ds: xr.Dataset, temperatures: int = 5) -> Figure:
    """P(q) for up to ``temperatures`` temperatures, one panel per N."""
    ds = sorted_by_axes(ds)
    sizes = np.atleast_1d(an.parameter(ds, "N").values)
    Ts = ds["T"].values
    pick = Ts[np.unique(np.linspace(0, Ts.size - 1, min(temperatures, Ts.size)).round()
                        .astype(int))]
    fig, axes = plt.subplots(1, sizes.size, figsize=(4.5 * sizes.size, 4), squeeze=False,
                             constrained_layout=True)
    others = {str(d): ds[d].values[0] for d in ds["done"].dims if d not in ("N", "sample")}
    for ax, n in zip(axes[0], sizes, strict=True):
        for k, T in enumerate(pick):
            sel = {**others, "T": T}
            if "N" in ds.dims:
                sel["N"] = n
            q, P, err = an.overlap_distribution(ds, **sel)
            c = _colors()[k % len(_colors())]
            ax.plot(q, P, color=c, lw=1.2, label=f"T = {T:g}")
            ax.fill_between(q, P - err, P + err, color=c, alpha=0.2, lw=0)
        ax.set_xlabel("q")
        ax.set_ylabel("P(q)")
        ax.set_title(f"N = {n}")
        ax.legend(fontsize=8)
    fig.suptitle(f"SK overlap distribution ({_fixed_text(ds)}; T_c = 1)")
    return fig


def binder_figure(ds: xr.Dataset) -> Figure:
    """``g(T)``, ``N [<q^2>]`` and the energy-overlap identity, one curve per N."""
    ds = sorted_by_axes(ds)
    g, g_err = an.binder_ratio(ds)
    q2, q2_err = an.disorder_mean(ds, "q2")
    chk = an.energy_overlap_check(ds)
    qea = an.q_ea(ds)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), constrained_layout=True)
    axes = axes.ravel()
    N = an.parameter(ds, "N")
    sizes = np.atleast_1d(N.values)
    others = {str(d): ds[d].values[0] for d in ds["done"].dims if d not in ("N", "sample")}
    T = ds["T"].values
    for k, n in enumerate(sizes):
        c = _colors()[k % len(_colors())]
        sel: dict[str, object] = {**others, **({"N": n} if "N" in ds.dims else {})}
        axes[0].errorbar(T, g.sel(sel), yerr=g_err.sel(sel), fmt="o-", ms=3, capsize=2,
                         color=c, label=f"N = {n}")
        axes[1].errorbar(T, n * q2.sel(sel), yerr=n * q2_err.sel(sel), fmt="o-", ms=3,
                         capsize=2, color=c, label=f"N = {n}")
        axes[2].errorbar(T, qea["rms"].sel(sel), yerr=qea["rms_err"].sel(sel), fmt="o-",
                         ms=3, capsize=2, color=c, label=rf"$\sqrt{{[q^2]}}$ N = {n}")
        axes[2].plot(T, qea["peak"].sel(sel), "x:", color=c, label=f"P(|q|) peak N = {n}")
        axes[3].errorbar(T, chk["delta"].sel(sel), yerr=chk["err"].sel(sel), fmt="o-", ms=3,
                         capsize=2, color=c, label=f"N = {n}")
    T_fine = np.linspace(T.min(), T.max(), 200)
    axes[1].plot(T_fine, theory.paramagnet_sg_susceptibility(T_fine), "k--", lw=1,
                 label=r"$1/(1-\beta^2)$, N -> inf")
    B = float(np.ravel(an.parameter(ds, "B").values)[0])
    axes[2].plot(T_fine, [theory.rs_solution(t, B)[0] for t in T_fine], "k--", lw=1,
                 label="replica-symmetric q (approx. below T_c)")
    axes[3].axhline(0, color="k", lw=1)
    for ax in axes:
        ax.axvline(theory.TC, color="0.5", ls=":", lw=1)
        ax.set_xlabel("T  [J/k_B]")
        ax.legend(fontsize=7)
    axes[0].set_ylabel(r"Binder ratio $g = (3 - [q^4]/[q^2]^2)/2$")
    axes[1].set_ylabel(r"$N [\langle q^2\rangle]$")
    axes[1].set_yscale("log")
    axes[2].set_ylabel(r"$q_{EA}$ estimators")
    axes[3].set_ylabel(r"$[e] + (1 - [q^2])/2T + B[m]$  (0 in equilibrium)")
    fig.suptitle(f"SK finite-temperature overlaps ({_fixed_text(ds)})")
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The standard figures of an ``sk`` or ``sk-overlap`` store.

    The store is read into memory once (one small chunk per unit: re-reading it for every
    panel would dominate the time).
    """
    ds = an.in_memory(ds)
    out: dict[str, Figure] = {}
    if ds.attrs["model"] == "sk-overlap":
        out["overlap_distribution"] = overlap_figure(ds)
        out["binder_q2_qea"] = binder_figure(ds)
        return out
    n_axis = "N" in ds.dims and ds.sizes["N"] > 1
    if n_axis:
        out["e0_finite_size"] = e0_figure(ds)
    if "n_stable" in ds:
        if n_axis:
            out["complexity"] = complexity_figure(ds)
        out["stable_energy_density"] = stable_density_figure(ds)
    if "success" in ds and n_axis:
        out["search_success"] = success_figure(ds)
    return out
