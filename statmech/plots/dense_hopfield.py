"""Dense-Hopfield figures (every function takes a Dataset and returns a Figure).

* :func:`retrieval_figure` -- per n: the retrieval probability P(m > 0.9) and the one-step error
  (mean ``unstable0``) against the load, one curve per N, with the exact convolution (dashed) and
  the Gaussian approximation (dotted) of the one-step error;
* :func:`capacity_figure` -- K_c(N) on log-log axes, one colour per n, with the fitted power law
  (slope ± error), the perfect-recall capacity ``N^(n-1)/(2 (2n-3)!! ln N)`` (dashed) and the
  Gaussian analogue of AGS ``0.138 N^(n-1)/(2n-3)!!`` (dotted).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import dense_hopfield as an
from statmech.analysis import hopfield as hop
from statmech.analysis.common import sorted_by_axes
from statmech.theory import dense_hopfield as th


def _title(ds: xr.Dataset) -> str:
    st = an.settings_of(ds)
    fixed = {k: v for k, v in an.fixed_of(ds).items() if k not in ds.dims}
    items = [f"energy {st['energy']}", f"load {st['load']}",
             *(f"{k} = {v:g}" for k, v in fixed.items())]
    return ", ".join(items)


def retrieval_figure(ds: xr.Dataset, n: int | None = None,
                     max_fft: int = an.REPORT_MAX_FFT) -> Figure:
    """P(m > 0.9) and the one-step error against alpha at one n, per N, with theory."""
    ds = sorted_by_axes(ds)
    sub = ds.sel(n=n) if n is not None and "n" in ds.dims else ds
    n_val = int(an.value_of(sub, "n", {} if n is None else {"n": n}))
    st = an.settings_of(ds)
    fig, (ax_p, ax_x) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    alpha = sub["alpha"].values.astype(float)
    sizes = [int(v) for v in sub["N"].values] if "N" in sub.dims else [None]
    for k, N in enumerate(sizes):
        d = sub.sel(N=N) if N is not None else sub
        Nv = int(an.value_of(d, "N", {}))
        c = colors[k % len(colors)]
        pr, pe = hop.retrieval_probability(d)
        ax_p.errorbar(alpha, pr, yerr=pe, fmt="o-", ms=3.5, lw=0.8, capsize=2, color=c,
                      label=f"N = {Nv}")
        u, ue = an.unstable_mean(d)
        shown = u.values > 0
        uv, ev = u.values[shown], ue.values[shown]
        ax_x.errorbar(alpha[shown], uv, yerr=[np.minimum(ev, 0.9 * uv), ev], fmt="o", ms=3.5,
                      capsize=2, color=c, label=f"N = {Nv}")
        if st["energy"] != "power":
            continue
        Ks = d["K"].isel({hop._rep(d): 0}).values.astype(int)
        ex = [th.p_error_exact(Nv, n_val, int(K)) if th.fft_length(Nv, n_val, int(K)) <= max_fft
              else np.nan for K in Ks]
        ax_x.plot(alpha, ex, color=c, lw=0.9, ls="--")
        ax_x.plot(alpha, th.p_error_gaussian(Nv, n_val, Ks), color=c, lw=0.9, ls=":")
    ax_p.axhline(0.5, color="0.7", lw=0.8)
    ax_p.set_ylabel(f"retrieval probability P(m > {an.RETRIEVAL_THRESHOLD:g})")
    ax_x.set_yscale("log")
    ax_x.set_ylim(1e-5, None)
    ax_x.set_ylabel("one-step error (unstable fraction at a stored pattern)")
    xlabel = (r"load $\alpha$, $K = e^{\alpha N}$" if st["energy"] == "exp" else
              r"load $\alpha$, $K = \alpha N^{n-1}$"
              + (r"$/(2n-3)!!$" if st["load"] == "normalised" else ""))
    for ax in (ax_p, ax_x):
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    if st["energy"] == "exp":
        for ax in (ax_p, ax_x):
            ax.axvline(th.EXP_ALPHA_ALL, color="0.5", ls=":", lw=1)
    ax_x.set_title("dashed: exact convolution, dotted: Gaussian", fontsize=9)
    fig.suptitle(f"Dense associative memory, n = {n_val} ({_title(ds)})")
    return fig


def capacity_figure(ds: xr.Dataset, cap: xr.Dataset | None = None) -> Figure:
    """K_c(N) per n on log-log axes with fitted slopes and the theory lines."""
    ds = sorted_by_axes(ds)
    cap = an.capacity(ds) if cap is None else cap
    fig, ax = plt.subplots(figsize=(7.5, 5.5), constrained_layout=True)
    N = cap["N"].values.astype(float)
    Nf = np.geomspace(N.min() * 0.9, N.max() * 1.1, 50)
    slopes = {int(e.key.rsplit("n", 1)[1]): e for e in an.slopes(cap, ds)}
    for k, n in enumerate(an._n_values(ds)):
        c = f"C{k}"
        sub = cap.sel(n=n) if "n" in cap.dims else cap
        lab = f"n = {n}"
        if n in slopes:
            e = slopes[n]
            lab += f": slope {e.value:.2f} ± {e.error:.2f} (n - 1 = {n - 1})"
        ax.errorbar(N, sub["K_c"], yerr=sub["K_c_err"], fmt="o", color=c, capsize=3, label=lab)
        if n in slopes:
            s, _, c0, _, _ = an.fit_slope(N, sub["K_c"].values, sub["K_c_err"].values)
            ax.plot(Nf, np.exp(c0) * Nf**s, color=c, lw=0.8)
        ax.plot(Nf, th.k_max(Nf, n), color=c, ls="--", lw=0.9)
        ax.plot(Nf, th.k_c_gaussian(Nf, n), color=c, ls=":", lw=0.9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel(r"$K_c(N)$: $P(m > 0.9) = 1/2$")
    ax.legend(fontsize=8, title=r"dashed: $N^{n-1}/(2(2n-3)!!\ln N)$, dotted: "
              r"$0.138\,N^{n-1}/(2n-3)!!$", title_fontsize=8)
    ax.set_title(f"Capacity of the dense associative memory ({_title(ds)})", fontsize=10)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """Retrieval figures per n and, with N on an axis, the capacity figure."""
    if "alpha" not in ds.dims:
        raise ValueError("dense-Hopfield plots need alpha on an axis")
    ds = hop.load(ds, ("m", "unstable0", "K"))
    out: dict[str, Figure] = {}
    extra = [d for d in hop.axes_of(ds) if d not in ("alpha", "N", "n")]
    if extra:
        raise ValueError(f"dense-Hopfield plots support the axes N, n, alpha (not {extra})")
    if "n" in ds.dims:
        for n in ds["n"].values:
            out[f"retrieval_n{int(n)}"] = retrieval_figure(ds, int(n))
    else:
        out["retrieval"] = retrieval_figure(ds)
    if "N" in ds.dims and ds.sizes["N"] >= 2:
        out["capacity"] = capacity_figure(ds)
    return out
