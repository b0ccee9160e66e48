"""Ising figures (every function takes a Dataset and returns a Figure).

<|m|>, e, C, chi and U4 against T for every lattice size, with error bars (replica
means) and the exact curves: Onsager's Tc, M(T), energy and specific heat and Kaufman's exact
finite-L energy and specific heat for the square lattice at B = 0; the exact finite-N results
(density of states) and the infinite chain for the 1D model.
"""

from __future__ import annotations

import itertools
import json

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import replica_mean, sorted_by_axes
from statmech.theory import ising as exact

ISING_PANELS = (
    ("abs_m", r"$\langle|m|\rangle$"),
    ("e", r"$e = E/N$"),
    ("C", r"$C$ per spin"),
    ("chi", r"$\chi$ per spin"),
    ("U4", r"Binder $U_4$"),
    ("tau_abs_m", r"$\tau_{\rm int}(|m|)$  [sweeps]"),
)


def _other_axes(ds: xr.Dataset, keep: tuple[str, ...]) -> list[str]:
    rep = ds.attrs.get("replica_dim", "replica")
    return [d for d in ds["done"].dims if d != rep and d not in keep]


def ising_figure(ds: xr.Dataset, selection: dict[str, float] | None = None) -> Figure:
    """Five panels of Ising observables against T, one curve per size, with exact results.

    ``selection`` fixes every axis other than T and the size (e.g. ``{"B": 0.1}``).
    """
    ds = sorted_by_axes(ds)
    model = ds.attrs["model"]
    size = "L" if model == "ising2d" else "N"
    if selection:
        ds = ds.sel(selection)
    fixed = {k: v for k, v in _fixed(ds).items() if k not in ds.dims}
    B = float(selection.get("B", fixed.get("B", 0.0))) if selection else float(fixed.get("B", 0))
    sizes = ds[size].values if size in ds.dims else [int(fixed[size])]
    fig, grid = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    axes = grid.ravel()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    T_fine = np.linspace(float(ds["T"].min()), float(ds["T"].max()), 200)
    for (name, label), ax in zip(ISING_PANELS, axes, strict=True):
        for k, n in enumerate(sizes):
            color = colors[k % len(colors)]
            sub = ds.sel({size: n}) if size in ds.dims else ds
            mean, err = replica_mean(sub, name)
            if name.startswith("tau"):
                ax.set_yscale("log")
            ax.errorbar(sub["T"], mean, yerr=err, fmt="o", ms=3.5, capsize=2, color=color,
                        label=f"{size} = {n}")
            _exact_finite(ax, model, name, int(n), B, T_fine, color)
        _exact_infinite(ax, model, name, B, T_fine)
        if name == "abs_m":
            _mean_field_overlay(ax, model, B, T_fine)
        if model == "ising2d" and B == 0:
            ax.axvline(exact.TC_2D, color="0.5", ls=":", lw=1)
        ax.set_xlabel("T  [J/k_B]")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    title = {"ising2d": "2D Ising, square lattice", "ising1d": "1D Ising chain"}[model]
    extra = ", ".join(f"{k} = {v:g}" for k, v in {**fixed, **(selection or {})}.items()
                      if k not in (size,))
    legend = "points: MC (replica mean ± error), dashed: exact finite size"
    if model == "ising2d" and B == 0:
        legend += ", solid: Onsager L = inf, dotted: Tc"
    elif model == "ising1d":
        legend += ", solid: infinite chain"
    fig.suptitle(f"{title}  ({extra})\n{legend}")
    return fig


def _fixed(ds: xr.Dataset) -> dict[str, float]:
    return dict(json.loads(ds.attrs.get("fixed_parameters", "{}")))


def _exact_finite(ax, model: str, name: str, n: int, B: float, T: np.ndarray, color: str) -> None:  # type: ignore[no-untyped-def]
    if name not in ("e", "abs_m", "m", "m2", "C", "chi", "U4"):
        return
    if model == "ising1d" and n <= 4096:
        dos = exact.dos_chain(n)
        ax.plot(T, [exact.moments(dos, t, B)[name] for t in T], color=color, lw=1, ls="--")
    elif model == "ising2d" and n <= 4:
        dos = exact.dos_2d(n)
        ax.plot(T, [exact.moments(dos, t, B)[name] for t in T], color=color, lw=1, ls="--")
    elif model == "ising2d" and B == 0 and name in ("e", "C") and n <= 64:
        Tk = T[:: max(len(T) // 60, 1)]
        vals = [exact.kaufman_energy_heat(n, t)[0 if name == "e" else 1] for t in Tk]
        ax.plot(Tk, vals, color=color, lw=1, ls="--")


def _exact_infinite(ax, model: str, name: str, B: float, T: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    style = {"color": "k", "lw": 1.2, "alpha": 0.7}
    if model == "ising2d" and B == 0:
        if name == "abs_m":
            ax.plot(T, exact.onsager_magnetization(T), label="Onsager L=inf", **style)
        elif name == "e":
            ax.plot(T, exact.onsager_energy(T), **style)
        elif name == "C":
            ax.plot(T, exact.onsager_specific_heat(T), **style)
    elif model == "ising1d":
        if name == "e":
            ax.plot(T, exact.chain_energy(T, B), **style)
        elif name == "abs_m" and B != 0:
            ax.plot(T, np.abs(exact.chain_magnetization(T, B)), **style)


def _mean_field_overlay(ax, model: str, B: float, T: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Weiss mean-field |m|(T), labelled "mean field": m = tanh((2d m + B)/T).

    Tc^MF = 2d: 4 on the square lattice (exact 2.269), 2 on the chain (no transition at all).
    """
    from statmech.theory.curie_weiss import lattice_mean_field_m

    d = 2 if model == "ising2d" else 1
    ax.plot(T, np.abs(lattice_mean_field_m(T, B, d)), color="C7", lw=1.2, ls="-.",
            label=f"mean field (Tc = {2 * d})")


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """One observables figure per value of every axis other than T and the size."""
    model = ds.attrs["model"]
    size = "L" if model == "ising2d" else "N"
    if "T" not in ds.dims:
        raise ValueError("Ising plots need T on an axis")
    others = _other_axes(ds, ("T", size))
    out: dict[str, Figure] = {}
    if model == "ising2d" and "B" in ds.dims and ds.sizes["B"] >= 3 and others == ["B"]:
        out["phase_diagram_T_B"] = field_phase_diagram(ds)
        if ds.sizes["B"] > 4:  # one observables figure per field would be too many
            keep = ds["B"].values[np.argsort(np.abs(ds["B"].values))[:3]]
            ds = ds.sel(B=sorted(keep))
    for combo in itertools.product(*(ds[o].values.tolist() for o in others)):
        sel = dict(zip(others, combo, strict=True))
        stem = "observables" + "".join(f"_{k}{v:g}" for k, v in sel.items())
        out[stem] = ising_figure(ds, sel)
    return out


def fss_figure(ds: xr.Dataset, summary: dict | None = None,
               selection: dict | None = None) -> Figure:
    """Finite-size scaling: U4 near its crossings, chi and C peak positions and heights vs L."""
    from statmech.analysis import ising as an

    s = summary if summary is not None else an.summary(ds, selection)
    sd = an.size_dim(ds)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), constrained_layout=True)
    c = an.curves(ds, "U4", selection)
    for n in c[sd].values:
        sub = c.sel({sd: n})
        axes[0].errorbar(sub["T"], sub["mean"], sub["err"], fmt="o-", ms=3, label=f"{sd}={n}")
    if "binder_crossings" in s:
        cr = s["binder_crossings"]
        for tc, err in zip(cr["Tc"].values, cr["Tc_err"].values, strict=True):
            axes[0].axvspan(tc - err, tc + err, color="C3", alpha=0.25)
    axes[0].axvline(exact.TC_2D, color="k", ls=":", lw=1)
    tc_b = s.get("Tc_binder")
    if tc_b is not None:
        axes[0].set_xlim(tc_b.value - 0.15, tc_b.value + 0.15)
    axes[0].set_xlabel("T")
    axes[0].set_ylabel("U4 (red bands: crossings ± error)")
    axes[0].legend(fontsize=8)
    for name, marker, color in (("chi", "o", "C0"), ("C", "s", "C1")):
        pk = s[f"{name}_peaks"]
        L = pk[sd].values.astype(float)
        axes[1].errorbar(1 / L, pk["T_peak"], pk["T_peak_err"], fmt=marker, color=color,
                         label=f"{name} peak")
        fit = s.get(f"{name}_Tc_fit")
        if fit is not None:
            x = np.linspace(0, 1 / L.min(), 50)
            nu = fit.values[fit.names.index("nu")] if "nu" in fit.names else 1.0
            with np.errstate(divide="ignore"):
                axes[1].plot(x, fit.values[0] + fit.values[1] * np.where(x > 0, x, np.nan)
                             ** (1 / nu), lw=1, color=color)
        axes[2].errorbar(L, pk["height"], pk["height_err"], fmt=marker, color=color,
                         label=f"{name} max")
    axes[1].axhline(exact.TC_2D, color="k", ls=":", lw=1)
    axes[1].set_xlim(left=0)
    axes[1].set_xlabel(f"1/{sd}")
    axes[1].set_ylabel("peak temperature")
    axes[1].legend(fontsize=8)
    g = s.get("gamma_over_nu")
    if g is not None:
        L = s["chi_peaks"][sd].values.astype(float)
        axes[2].plot(L, g.values[0] * L ** g.values[1], lw=1, color="C0",
                     label=f"L^{g.values[1]:.3f} (exact 7/4)")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel(sd)
    axes[2].set_ylabel("peak height")
    axes[2].legend(fontsize=8)
    fig.suptitle("Finite-size scaling (dotted: Onsager Tc)")
    return fig


def field_phase_diagram(ds: xr.Dataset, size: int | None = None) -> Figure:
    """The (T, B) phase diagram of the 2D model: a map of <m> for one lattice size.

    The first-order line (B = 0, T < Tc, where m jumps between +M0 and -M0) and the critical
    point (Tc, 0) are drawn on top; the right panel shows m(B) across the line at a few T.
    """
    ds = sorted_by_axes(ds)
    L = int(size if size is not None else ds["L"].values.max()) if "L" in ds.dims else None
    sub = ds.sel(L=L) if L is not None else ds
    mean, _ = replica_mean(sub, "m")
    mean = mean.transpose("B", "T")
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True,
                                  gridspec_kw={"width_ratios": [1.3, 1]})
    mesh = ax.pcolormesh(mean["T"], mean["B"], mean, cmap="RdBu_r", vmin=-1, vmax=1,
                         shading="nearest")
    fig.colorbar(mesh, ax=ax, label=r"$\langle m\rangle$")
    tmin = float(mean["T"].min())
    ax.plot([tmin, exact.TC_2D], [0, 0], color="k", lw=3, label="first-order line (B = 0)")
    ax.plot([exact.TC_2D], [0], "o", color="gold", mec="k", ms=10, label="critical point")
    ax.set_xlabel("T  [J/k_B]")
    ax.set_ylabel("B  [J]")
    ax.set_title(f"2D Ising phase diagram, L = {L}")
    ax.legend(loc="upper right", fontsize=8)
    temps = mean["T"].values
    for t in temps[np.linspace(0, temps.size - 1, min(5, temps.size)).astype(int)]:
        m, e = replica_mean(sub.sel(T=t), "m")
        ax2.errorbar(m["B"], m, e, fmt="o-", ms=3, label=f"T = {t:g}")
    B = mean["B"].values
    for t in (temps[temps < exact.TC_2D][:1]):
        m0 = float(exact.onsager_magnetization(t))
        ax2.plot([B.min(), 0, 0, B.max()], [-m0, -m0, m0, m0], "k:", lw=1,
                 label=f"±M0(T = {t:g}) Onsager")
    ax2.set_xlabel("B  [J]")
    ax2.set_ylabel(r"$\langle m\rangle$")
    ax2.legend(fontsize=8)
    return fig
