"""Figures of SK with J0 and B (``sk-overlap``) and of simulated annealing (``sk``, anneal).

* :func:`phase_map_figure` -- maps of ``[<|m|>]`` and ``[<q^2>]`` over (J0, T) for each N,
  with the B = 0 phase lines of :func:`statmech.theory.sk_phase.phase_lines` (P/SG T = 1,
  P/F T = J0, Parisi-Toulouse J0 = 1, the re-entrant RS SG/F line, the AT line of F);
* :func:`at_map_figure` -- ``N [<q^2> - <q>^2]`` over (T, B) with the RS AT line ``B_AT(T)``
  and its small-field asymptote ``B^2 = (4/3)(1 - T)^3``;
* :func:`residual_figure` -- residual energy per spin ``e_final - e0`` against tau (log-log)
  with the power-law fit, and the fraction of runs ending in a ground state.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import sk_phase as an
from statmech.theory import sk_phase as theory

_LINE_STYLES = {
    "P/SG": ("k", "-"),
    "P/F": ("k", "-"),
    "F/M Parisi-Toulouse": ("k", "--"),
    "SG/F RS (re-entrant)": ("tab:red", ":"),
    "AT (F)": ("tab:blue", "-."),
}


def _edges(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def _sizes(ds: xr.Dataset, most: int = 3) -> list[int]:
    return [int(n) for n in np.sort(ds["N"].values)[-most:]]


def _reduce_other_axes(x: xr.DataArray | xr.Dataset, keep: tuple[str, ...]) -> Any:
    """First value of every axis not in ``keep`` (maps are 2-D)."""
    return x.isel({d: 0 for d in x.dims if d not in keep})


def phase_map_figure(ds: xr.Dataset) -> Figure:
    """``[<|m|>]`` and ``[<q^2>]`` over (J0, T) for the largest N, with the phase lines."""
    ds = ds.sortby([a for a in an.axes_of(ds)])
    sizes = _sizes(ds)
    B = an.parameter(ds, "B")
    fig, axes = plt.subplots(len(sizes), 2, figsize=(11, 4 * len(sizes)), squeeze=False,
                             constrained_layout=True)
    lines = theory.phase_lines(j0_max=max(2.0, float(ds["J0"].max())), t_max=float(ds["T"].max()))
    for row, n in enumerate(sizes):
        for col, (name, label) in enumerate((("abs_m", r"$[\langle|m|\rangle]$"),
                                             ("q2", r"$[\langle q^2\rangle]$"))):
            mean, _ = an.disorder_average(ds, name)
            z = _reduce_other_axes(mean.sel(N=n), ("J0", "T")).transpose("T", "J0")
            ax = axes[row, col]
            mesh = ax.pcolormesh(_edges(ds["J0"].values), _edges(ds["T"].values), z.values,
                                 shading="flat", cmap="viridis", vmin=0, vmax=1)
            fig.colorbar(mesh, ax=ax, label=label)
            if isinstance(B, float) and B == 0.0:
                for lname, (jx, ty) in lines.items():
                    c, ls = _LINE_STYLES[lname]
                    ax.plot(jx, ty, color=c if col == 0 else "w", ls=ls, lw=1.3,
                            label=lname if row == 0 else None)
            ax.set_xlim(_edges(ds["J0"].values)[[0, -1]])
            ax.set_ylim(_edges(ds["T"].values)[[0, -1]])
            ax.set_xlabel(r"$J_0$  [J]")
            ax.set_ylabel(r"$T$  [J]")
            ax.set_title(f"{label}, N = {n}")
    if isinstance(B, float) and B == 0.0:
        axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"SK phase diagram (B = {B}; {ds.sizes['sample']} samples). Lines: "
                 "N -> infinity theory; finite N smears them over ~N^(-1/3)")
    return fig


def at_map_figure(ds: xr.Dataset) -> Figure:
    """``N [<q^2> - <q>^2]`` over (T, B) with the AT line, for the largest N."""
    ds = ds.sortby([a for a in an.axes_of(ds)])
    sizes = _sizes(ds)
    J0 = an.parameter(ds, "J0")
    var, _ = an.sg_variance(ds)
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4.5), squeeze=False,
                             constrained_layout=True)
    Ts = np.linspace(max(theory.T_MIN, float(ds["T"].min())), 0.999, 50)
    at = np.array([theory.at_field(t) for t in Ts]) if J0 == 0.0 else None
    for col, n in enumerate(sizes):
        ax = axes[0, col]
        z = _reduce_other_axes(var.sel(N=n), ("B", "T")).transpose("B", "T")
        mesh = ax.pcolormesh(_edges(ds["T"].values), _edges(ds["B"].values), z.values,
                             shading="flat", cmap="magma")
        fig.colorbar(mesh, ax=ax, label=r"$N[\langle q^2\rangle - \langle q\rangle^2]$")
        if at is not None:
            ax.plot(Ts, at, color="c", lw=1.5, label="AT line (RS, N -> inf)")
            ax.plot(Ts, theory.at_field_asymptote(Ts), color="c", ls="--", lw=1,
                    label=r"$B^2 = \frac{4}{3}(1-T)^3$")
            ax.legend(fontsize=7)
        ax.set_xlim(_edges(ds["T"].values)[[0, -1]])
        ax.set_ylim(_edges(ds["B"].values)[[0, -1]])
        ax.set_xlabel(r"$T$  [J]")
        ax.set_ylabel(r"$B$  [J]")
        ax.set_title(f"N = {n}")
    fig.suptitle(f"SK in a field (J0 = {J0}): thermal variance of the overlap; below the AT "
                 "line replica symmetry is broken")
    return fig


def residual_figure(ds: xr.Dataset) -> Figure:
    """Residual energy per spin against tau (log-log) with fits, and the hit rate."""
    ds = ds.sortby([a for a in an.axes_of(ds)])
    r = an.residual_energy(ds)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    tau = ds["tau"].values.astype(float)
    for k, n in enumerate(ds["N"].values):
        c = colors[k % len(colors)]
        sub = _reduce_other_axes(r.sel(N=n), ("tau",))
        ax.errorbar(tau, sub["rho"], yerr=sub["rho_err"], fmt="o", ms=4, capsize=2, color=c,
                    label=f"N = {int(n)}")
        fit = an.residual_fit(ds, int(n))
        if np.isfinite(fit.value):
            xs = np.geomspace(fit.details["tau_min"], fit.details["tau_max"], 50)
            ax.plot(xs, fit.details["A"] * xs ** -fit.value, color=c, lw=1,
                    label=fr"fit $\alpha$ = {fit.value:.3f} ± {fit.error:.3f}")
        ax2.errorbar(tau, sub["found"], yerr=sub["found_err"], fmt="o-", ms=4, capsize=2,
                     color=c, label=f"N = {int(n)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"annealing length $\tau$  [sweeps]")
    ax.set_ylabel(r"residual energy per spin $[e_{final} - e_0]$  [J]")
    ax.legend(fontsize=8)
    ax2.set_xscale("log")
    ax2.set_ylim(0, 1.02)
    ax2.set_xlabel(r"annealing length $\tau$  [sweeps]")
    ax2.set_ylabel("fraction of runs ending in a ground state")
    ax2.legend(fontsize=8)
    fig.suptitle(f"SK simulated annealing ({ds.sizes['sample']} samples x {ds.sizes['run']} "
                 "runs; e0 exact by enumeration of the same couplings)")
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The J0 / field / annealing figures a store supports (empty dict if none)."""
    out: dict[str, Figure] = {}
    if ds.attrs.get("model") == "sk-overlap" and "abs_m" in ds and "N" in ds.dims:
        if "J0" in ds.dims and "T" in ds.dims:
            out["phase_map_j0_T"] = phase_map_figure(ds)
        if "B" in ds.dims and "q" in ds:
            out["at_map_T_B"] = at_map_figure(ds)
    if ds.attrs.get("model") == "sk" and "e_final" in ds and "e0" in ds and "tau" in ds.dims:
        out["anneal_residual_energy"] = residual_figure(ds)
    return out
