"""Figures and report estimates of the Curie-Weiss model, with exact theory overlaid.

* equilibrium: ``observables[_B...]`` -- <|m|>, U4, chi, C and e against T, one colour per N,
  points = replica mean ± error, dashed = exact finite-N sums, black = N -> infinity (mean-field
  equation, Landau); ``tc_scaling`` -- N^{1/2}<m^2>, N^{1/4}<|m|> and U4 at T = Tc against N with
  the exact finite-N values and the large-N limits. Estimates: every observable at every point
  summarised against the exact sums (largest |z| per observable), and at T = Tc, B = 0 per N
  the rows U4, N^{1/2}<m^2>, N^{1/4}<|m|> against their exact finite-N values (z-scores) with
  the limits in the note;
* ramp: ``hysteresis`` -- m along the loop per T, with the N -> infinity stable and metastable
  branches and the spinodal fields ±B_s(T); estimates: switching fields against -B_s(T);
* escape: ``escape`` -- mean escape time against the exact birth-death first-passage mean;
  estimates: each point's mean escape time with its z-score.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from itertools import product

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import replica_mean, sorted_by_axes
from statmech.analysis.estimate import Estimate
from statmech.presentation import Presentation
from statmech.theory import curie_weiss as th

OBSERVABLES = ("e", "m", "abs_m", "m2", "m4", "C", "chi", "U4")
PANELS = (
    ("abs_m", r"$\langle|m|\rangle$"),
    ("U4", r"Binder $U_4$"),
    ("chi", r"$\chi = N(\langle m^2\rangle-\langle|m|\rangle^2)/T$"),
    ("C", r"$C$ per spin"),
    ("e", r"$e = E/N$"),
    ("m", r"$\langle m\rangle$"),
)


def _settings(ds: xr.Dataset) -> dict:
    return json.loads(ds.attrs.get("settings", "{}"))


def _protocol(ds: xr.Dataset) -> str:
    return _settings(ds).get("protocol", "equilibrium")


def _fixed(ds: xr.Dataset) -> dict[str, float]:
    return dict(json.loads(ds.attrs.get("fixed_parameters", "{}")))


def _axis_values(ds: xr.Dataset, name: str) -> list[float]:
    if name in ds.dims:
        return [v.item() for v in ds[name].values]
    fixed = _fixed(ds)
    return [fixed.get(name, 0.0)]


def _sel(ds: xr.Dataset, **point: float) -> xr.Dataset:
    return ds.sel({k: v for k, v in point.items() if k in ds.dims})


@lru_cache(maxsize=4096)
def _exact(N: int, T: float, B: float) -> dict[str, float]:
    return th.finite_moments(int(N), float(T), float(B))


# ------------------------------------------------------------------------------ equilibrium
def observables_figure(ds: xr.Dataset, B: float) -> Figure:
    """Six panels against T at field B: MC points, exact finite N (dashed), N -> inf (black)."""
    sub = _sel(ds, B=B)
    Ns = _axis_values(ds, "N")
    fig, grid = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    T = np.asarray(_axis_values(ds, "T"), dtype=float)
    T_fine = np.linspace(T.min(), T.max(), 80)
    for (name, label), ax in zip(PANELS, grid.ravel(), strict=True):
        for i, N in enumerate(Ns):
            c = colors[i % len(colors)]
            pts = _sel(sub, N=N)
            mean, err = replica_mean(pts, name)
            ax.errorbar(T, np.ravel(mean.values), yerr=np.ravel(err.values), fmt="o", ms=3.5,
                        capsize=2, color=c, label=f"N = {int(N)}")
            if N <= 2_000_000:
                T_ex = T_fine if N <= 20_000 else T_fine[::3]
                ax.plot(T_ex, [_exact(int(N), float(t), float(B))[name] for t in T_ex], "--",
                        lw=1, color=c)
        _infinite(ax, name, float(B), T_fine)
        if B == 0:
            ax.axvline(th.TC, color="0.5", ls=":", lw=1)
        ax.set_xlabel("T  [J/k_B]")
        ax.set_ylabel(label)
    grid[0, 0].legend(fontsize=8)
    fig.suptitle(f"Curie-Weiss model, B = {B:g}: points MC (replica mean ± error), dashed exact "
                 "finite-N sums, black N = inf (mean field; dash-dot Landau)")
    return fig


def _infinite(ax, name: str, B: float, T: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    style = {"color": "k", "lw": 1.3, "alpha": 0.75}
    if name == "abs_m":
        ax.plot(T, np.abs(th.magnetization(T, B)), label="N = inf", **style)
        if B == 0:
            below = T[T < th.TC]
            ax.plot(below, th.landau_m(below), "-.", color="k", lw=1, label="Landau")
    elif name == "m" and B != 0:
        ax.plot(T, th.magnetization(T, B), **style)
    elif name == "e":
        ax.plot(T, th.energy(T, B), **style)
    elif name == "C":
        ax.plot(T, th.specific_heat(T, B), **style)
    elif name == "chi":
        chi = th.chi_estimator_limit(T, B)
        ax.plot(T, np.where(np.abs(T - th.TC) < 0.02, np.nan, chi), **style)
        ax.set_yscale("log")
    elif name == "U4":
        ax.axhline(th.U4_TC, color="k", lw=0.8, ls=":")


def tc_scaling_figure(ds: xr.Dataset) -> Figure:
    """N^{1/2}<m^2>, N^{1/4}<|m|> and U4 at T = Tc, B = 0 against N, with exact and limits."""
    sub = _sel(ds, T=th.TC, B=0.0)
    N = np.asarray(_axis_values(ds, "N"), dtype=float)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), constrained_layout=True)
    for ax, (name, power, limit, label) in zip(axes, (
            ("m2", 0.5, th.M2_TC, r"$N^{1/2}\langle m^2\rangle$"),
            ("abs_m", 0.25, th.ABS_M_TC, r"$N^{1/4}\langle|m|\rangle$"),
            ("U4", 0.0, th.U4_TC, r"$U_4$")), strict=True):
        mean, err = replica_mean(sub, name)
        ax.errorbar(N, np.ravel(mean.values) * N**power, np.ravel(err.values) * N**power,
                    fmt="o", label="MC")
        Nf = np.unique(np.geomspace(N.min(), N.max(), 25).astype(int))
        Nf = Nf[Nf <= 2_000_000]
        ax.plot(Nf, [_exact(int(n), 1.0, 0.0)[name] * n**power for n in Nf], "--", lw=1,
                label="exact finite N")
        ax.axhline(limit, color="k", lw=1, label=f"N = inf: {limit:.5f}")
        ax.set_xscale("log")
        ax.set_xlabel("N")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle("Curie-Weiss at T = Tc, B = 0: finite-size scaling (corrections ~ N^-1/2)")
    return fig


def _equilibrium_figures(ds: xr.Dataset) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    if "T" in ds.dims:
        Bs = _axis_values(ds, "B")
        for B in Bs:
            stem = "observables" + (f"_B{B:g}" if "B" in ds.dims else "")
            out[stem] = observables_figure(ds, B)
    if ("N" in ds.dims and ds.sizes["N"] >= 2 and th.TC in _axis_values(ds, "T")
            and 0.0 in _axis_values(ds, "B")):
        out["tc_scaling"] = tc_scaling_figure(ds)
    return out


def _equilibrium_estimates(ds: xr.Dataset) -> list[Estimate]:
    rows: list[Estimate] = []
    worst: dict[str, tuple[float, dict]] = {n: (0.0, {}) for n in OBSERVABLES}
    counts = dict.fromkeys(OBSERVABLES, 0)
    chi2 = dict.fromkeys(OBSERVABLES, 0.0)
    for N, T, B in product(_axis_values(ds, "N"), _axis_values(ds, "T"), _axis_values(ds, "B")):
        if N > 4_000_000:
            continue
        pt = _sel(ds, N=N, T=T, B=B)
        exact = _exact(int(N), float(T), float(B))
        for name in OBSERVABLES:
            mean, err = (float(x) for x in replica_mean(pt, name))
            if not (math.isfinite(mean) and err > 0):
                continue
            z = (mean - exact[name]) / err
            counts[name] += 1
            chi2[name] += z * z
            if abs(z) >= abs(worst[name][0]):
                worst[name] = (z, {"N": int(N), "T": T, "B": B, "value": mean, "error": err,
                                   "exact": exact[name]})
        if T == th.TC and B == 0:
            for name, power, limit in (("U4", 0.0, th.U4_TC), ("m2", 0.5, th.M2_TC),
                                       ("abs_m", 0.25, th.ABS_M_TC)):
                mean, err = (float(x) * N**power for x in replica_mean(pt, name))
                scaled = {"U4": "U4", "m2": "N^1/2 <m^2>", "abs_m": "N^1/4 <|m|>"}[name]
                rows.append(Estimate(
                    mean, err, key=f"tc_{name}_N{int(N)}", quantity=f"{scaled} at Tc, N = {int(N)}",
                    method="replica mean of binning/jackknife estimates",
                    exact=exact[name] * N**power, exact_label="exact finite-N sum",
                    note=f"N = inf limit {limit:.6f}"))
    for name in OBSERVABLES:
        if not counts[name]:
            continue
        z, where = worst[name]
        rows.append(Estimate(
            z, math.nan, key=f"exact_max_z_{name}",
            quantity=f"{name}: largest |z| vs exact finite N over {counts[name]} points",
            method=f"chi2/points = {chi2[name] / counts[name]:.2f}", details=where,
            note="z = (MC - exact) / error; |z| < 4 expected everywhere"))
    return rows


# ------------------------------------------------------------------------------ ramp
def hysteresis_figure(ds: xr.Dataset) -> Figure:
    """m along the field loop, one panel per N, one colour per T, with theory branches."""
    Ns = _axis_values(ds, "N")
    Ts = _axis_values(ds, "T")
    fig, axes = plt.subplots(1, len(Ns), figsize=(5.5 * len(Ns), 4.6), squeeze=False,
                             constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    rep = ds.attrs.get("replica_dim", "replica")
    for ax, N in zip(axes[0], Ns, strict=True):
        for i, T in enumerate(Ts):
            c = colors[i % len(colors)]
            pt = _sel(ds, N=N, T=T)
            B = pt["B_ramp"].isel({rep: 0}).values.ravel()
            m, err = replica_mean(pt, "m")
            ax.errorbar(B, np.ravel(m.values), np.ravel(err.values), fmt=".-", lw=0.8, ms=3,
                        color=c, label=f"T = {T:g}")
            Bf = np.linspace(B.min(), B.max(), 301)
            ax.plot(Bf, [float(th.magnetization(T, b)) for b in Bf], color="k", lw=0.8, ls=":")
            if T < th.TC:
                Bs = float(th.spinodal_field(T))
                meta = Bf[(Bf < 0) & (Bf > -Bs)]
                mm = np.array([float(th.metastable_magnetization(T, b)) for b in meta])
                ax.plot(meta, mm, color="k", lw=1.0, ls="--")
                ax.plot(-meta, -mm, color="k", lw=1.0, ls="--")
                for s in (-Bs, Bs):
                    ax.axvline(s, color=c, lw=0.8, ls="-.")
        ax.set_xlabel("B  [J]")
        ax.set_ylabel(r"$m$ (mean over each step's sweeps)")
        ax.set_title(f"N = {int(N)}")
        ax.legend(fontsize=8)
    st = _settings(ds)
    fig.suptitle(f"Curie-Weiss hysteresis ({st.get('rule')}, {st.get('sweeps_per_step')} sweeps "
                 "per field step)\ndotted: N = inf equilibrium; dashed: metastable branch; "
                 "dash-dot: spinodal ±B_s(T)")
    return fig


def switching_fields(ds: xr.Dataset, N: float, T: float) -> tuple[float, float]:
    """Field where m first turns negative on the way down: mean ± error over replicas.

    Each replica's switch lies between the last field with m >= 0 and the first with m < 0: its
    value is their midpoint, with the step's uniform uncertainty (dB / sqrt 12) added in
    quadrature to the spread over replicas.
    """
    rep = ds.attrs.get("replica_dim", "replica")
    pt = _sel(ds, N=N, T=T)
    steps = int(_settings(ds)["steps"])
    m = np.asarray(pt["m"].where(pt["done"]).values).reshape(-1, 2 * steps)[:, :steps]
    B = np.asarray(pt["B_ramp"].isel({rep: 0}).values).ravel()[:steps]
    sw = []
    for row in m:
        if np.all(np.isfinite(row)) and (row < 0).any() and row[0] >= 0:
            i = int(np.argmax(row < 0))
            sw.append(0.5 * (B[i - 1] + B[i]))
    if not sw:
        return math.nan, math.nan
    dB = abs(B[1] - B[0])
    spread = float(np.std(sw, ddof=1) / np.sqrt(len(sw))) if len(sw) > 1 else 0.0
    return float(np.mean(sw)), math.hypot(spread, dB / math.sqrt(12))


def _ramp_estimates(ds: xr.Dataset) -> list[Estimate]:
    rows = []
    for N, T in product(_axis_values(ds, "N"), _axis_values(ds, "T")):
        if T >= th.TC:
            continue
        value, err = switching_fields(ds, N, T)
        rows.append(Estimate(
            value, err, key=f"switch_N{int(N)}_T{T:g}",
            quantity=f"switching field (down leg), N = {int(N)}, T = {T:g}",
            method="midpoint of the step where m turns negative, mean over replicas (error: "
                   "spread and step width / sqrt 12)",
            exact=-float(th.spinodal_field(T)), exact_label="-B_s(T), N = inf spinodal",
            note="a finite system switches before the spinodal (thermal activation) and a "
                 "fast ramp after it (lag); the z-score measures both"))
    return rows


# ------------------------------------------------------------------------------ escape
def _escape_table(ds: xr.Dataset) -> list[tuple[dict, float, float, float, float]]:
    rule = _settings(ds).get("rule", "heatbath")
    out = []
    for N, T, B in product(_axis_values(ds, "N"), _axis_values(ds, "T"), _axis_values(ds, "B")):
        pt = _sel(ds, N=N, T=T, B=B)
        done = pt["done"].values.ravel()
        t = pt["t_escape"].values.ravel()[done]
        esc = pt["escaped"].values.ravel()[done]
        n = t.size
        mean = float(t.mean()) if n else math.nan
        err = float(t.std(ddof=1) / np.sqrt(n)) if n > 1 else math.nan
        exact = th.mean_escape_time(int(N), float(T), float(B), rule) if N <= 10**7 else math.nan
        frac = float(esc.mean()) if n else math.nan
        out.append(({"N": int(N), "T": T, "B": B}, mean, err, exact, frac))
    return out


def escape_figure(ds: xr.Dataset) -> Figure:
    """Mean escape time (± error over replicas) against the exact first-passage mean."""
    table = _escape_table(ds)
    axis = next((a for a in ("B", "T", "N") if a in ds.dims and ds.sizes[a] > 1), "B")
    fig, ax = plt.subplots(figsize=(7, 4.8), constrained_layout=True)
    groups: dict[tuple, list] = {}
    for point, mean, err, exact, _frac in table:
        key = tuple((k, v) for k, v in point.items() if k != axis)
        groups.setdefault(key, []).append((point[axis], mean, err, exact))
    for i, (key, rows) in enumerate(groups.items()):
        rows.sort()
        x, mean, err, exact = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
        c = f"C{i % 10}"
        lab = ", ".join(f"{k} = {v:g}" for k, v in key)
        ax.errorbar(x, mean, err, fmt="o", color=c, label=f"MC {lab}")
        ax.plot(x, exact, "-", color=c, lw=1, label="exact first passage" if i == 0 else None)
    ax.set_yscale("log")
    if axis == "N":
        ax.set_xscale("log")
    ax.set_xlabel(axis)
    ax.set_ylabel("mean escape time  [sweeps]")
    ax.legend(fontsize=7)
    rule = _settings(ds).get("rule")
    fig.suptitle(f"Curie-Weiss escape from m = +1 ({rule}); line: exact birth-death mean")
    return fig


def _escape_estimates(ds: xr.Dataset) -> list[Estimate]:
    rows = []
    for point, mean, err, exact, frac in _escape_table(ds):
        lab = ", ".join(f"{k} = {v:g}" for k, v in point.items())
        rows.append(Estimate(
            mean, err, key="escape_" + "_".join(f"{k}{v:g}" for k, v in point.items()),
            quantity=f"mean escape time [sweeps], {lab}", method="mean over replicas",
            exact=None if not math.isfinite(exact) else exact,
            exact_label="exact birth-death first passage",
            note=f"escaped fraction {frac:.3f}" + ("" if frac == 1 else
                                                  " (capped runs bias the mean low)")))
    return rows


# ------------------------------------------------------------------------------ dispatch
def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The standard figures of the store's protocol."""
    ds = sorted_by_axes(ds)
    protocol = _protocol(ds)
    if protocol == "ramp":
        return {"hysteresis": hysteresis_figure(ds)}
    if protocol == "escape":
        return {"escape": escape_figure(ds)}
    return _equilibrium_figures(ds)


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """Report rows with z-scores against the exact references of the store's protocol."""
    ds = sorted_by_axes(ds)
    protocol = _protocol(ds)
    if protocol == "ramp":
        return _ramp_estimates(ds)
    if protocol == "escape":
        return _escape_estimates(ds)
    return _equilibrium_estimates(ds)


PRESENTATION = Presentation(figures=figures, estimates=estimates)
