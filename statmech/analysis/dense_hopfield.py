"""Derived quantities of dense-Hopfield sweeps: capacity K_c(N) per n, its slope, one-step error.

Statistics as in :mod:`statmech.analysis.hopfield` (whose estimators are reused): samples are
the independent units, every quantity is first averaged over the trials of a sample, errors are
the spread over samples.

* ``K_c(N)`` per n (:func:`capacity`): ``alpha_c`` is the load where the retrieval probability
  ``P(m > 0.9)`` crosses 1/2 (:func:`statmech.analysis.hopfield.alpha_c_estimates`: isotonic
  fit, linear interpolation, bootstrap errors), converted to patterns with the store's load
  convention, ``K_c = alpha_c N^(n-1)`` (divided by (2n-3)!! for ``load: normalised``; exp:
  ``e^(alpha_c N)``), error propagated linearly.
* slope of ``ln K_c`` against ``ln N`` per n (:func:`slopes`): weighted least squares with
  ``sigma(ln K_c) = K_c_err / K_c``; its error from the fit covariance, multiplied by
  ``sqrt(chi^2/dof)`` when that exceeds 1. Reported against n - 1 (the leading-order exponent;
  the log correction of K_max and finite N bias it low).
* one-step error (:func:`one_step_rows`): mean ``unstable0`` at noise 0 against the exact
  convolution :func:`statmech.theory.dense_hopfield.p_error_exact` at the stored K.
"""

from __future__ import annotations

import json
import math

import numpy as np
import xarray as xr

from statmech.analysis import hopfield as hop
from statmech.analysis.common import sorted_by_axes
from statmech.analysis.estimate import Estimate
from statmech.models.dense_hopfield.kernels import double_factorial_odd
from statmech.theory import dense_hopfield as th

RETRIEVAL_THRESHOLD = hop.RETRIEVAL_THRESHOLD
#: largest FFT the report's exact one-step references may use (a few seconds each)
REPORT_MAX_FFT = 2**23


def settings_of(ds: xr.Dataset) -> dict[str, object]:
    """The store's model settings (defaults filled in for missing keys)."""
    s = {"energy": "power", "load": "plain"}
    s.update(json.loads(ds.attrs.get("settings", "{}")))
    return s


def fixed_of(ds: xr.Dataset) -> dict[str, float]:
    """The store's fixed parameters."""
    return json.loads(ds.attrs.get("fixed_parameters", "{}"))


def value_of(ds: xr.Dataset, name: str, sel: dict[str, object]) -> float:
    """Parameter ``name`` at the selection ``sel`` (axis value, or the fixed value)."""
    if name in sel:
        return float(sel[name])  # type: ignore[arg-type]
    if name in ds.coords and ds[name].size == 1:
        return float(ds[name].values.ravel()[0])
    return float(fixed_of(ds)[name])


def k_of_alpha(alpha: float | np.ndarray, N: float, n: int, energy: str = "power",
               load: str = "plain") -> np.ndarray:
    """Unrounded ``K(alpha)`` of the store's load convention (see the model docstring)."""
    a = np.asarray(alpha, dtype=float)
    if energy == "exp":
        return np.exp(a * N)
    k = a * float(N) ** (n - 1)
    return k / double_factorial_odd(n) if load == "normalised" else k


def capacity(ds: xr.Dataset, threshold: float = RETRIEVAL_THRESHOLD,
             n_boot: int = 1000) -> xr.Dataset:
    """``alpha_c``, ``K_c`` and their errors for every value of the axes other than alpha."""
    ds = sorted_by_axes(hop.load(ds, ("m", "unstable0", "K")))
    est = hop.alpha_c_estimates(ds, threshold=threshold, n_boot=n_boot)
    st = settings_of(ds)
    kc = np.full(est["alpha_c"].shape, np.nan)
    ke = np.full(est["alpha_c"].shape, np.nan)
    dims = list(est["alpha_c"].dims)
    for idx in np.ndindex(*est["alpha_c"].shape):
        sel = {d: est[d].values[i] for d, i in zip(dims, idx, strict=True)}
        N, n = value_of(ds, "N", sel), int(value_of(ds, "n", sel))
        a, e = float(est["alpha_c"].values[idx]), float(est["alpha_c_err"].values[idx])
        k = float(k_of_alpha(a, N, n, str(st["energy"]), str(st["load"])))
        dk = float(k_of_alpha(1.0, N, n, str(st["energy"]), str(st["load"])))
        kc[idx] = k
        ke[idx] = e * (k * N if st["energy"] == "exp" else dk)
    est["K_c"] = (dims, kc, {"long_name": "patterns at the P_ret = 1/2 crossing", "units": "1"})
    est["K_c_err"] = (dims, ke, {"long_name": "bootstrap standard error of K_c", "units": "1"})
    return est


def fit_slope(N: np.ndarray, K: np.ndarray, K_err: np.ndarray) -> tuple[float, float, float,
                                                                         float, int]:
    """Weighted least squares ``ln K = c + s ln N``: ``(s, s_err, c, chi2, dof)``."""
    N, K, e = (np.asarray(v, dtype=float) for v in (N, K, K_err))
    ok = np.isfinite(K) & np.isfinite(e) & (e > 0) & (K > 0)
    N, K, e = N[ok], K[ok], e[ok]
    if len(N) < 2:
        raise ValueError("need K_c at two or more sizes with finite errors")
    x, y, w = np.log(N), np.log(K), (K / e) ** 2
    X = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    beta = cov @ (X.T @ (w * y))
    chi2 = float(np.sum(w * (y - X @ beta) ** 2))
    dof = len(N) - 2
    scale = math.sqrt(max(1.0, chi2 / dof)) if dof > 0 else 1.0
    return float(beta[1]), float(math.sqrt(cov[1, 1]) * scale), float(beta[0]), chi2, dof


def _n_values(ds: xr.Dataset) -> list[int]:
    if "n" in ds.dims:
        return [int(v) for v in ds["n"].values]
    return [int(value_of(ds, "n", {}))]


def slopes(cap: xr.Dataset, ds: xr.Dataset) -> list[Estimate]:
    """The log-log slope of ``K_c(N)`` per n (needs N on an axis; power energy)."""
    if "N" not in cap.dims or settings_of(ds)["energy"] != "power":
        return []
    out = []
    for n in _n_values(ds):
        sub = cap.sel(n=n) if "n" in cap.dims else cap
        if len(sub.dims) != 1:
            continue  # other axes (e.g. noise): one slope per combination is not reported
        try:
            s, se, _, chi2, dof = fit_slope(sub["N"].values, sub["K_c"].values,
                                            sub["K_c_err"].values)
        except ValueError:
            continue
        out.append(Estimate(
            s, se, key=f"kc_slope_n{n}", quantity=f"d ln K_c / d ln N (n = {n})",
            method=f"weighted least squares over N, chi2/dof = {chi2:.1f}/{dof}",
            exact=float(n - 1), exact_label="n - 1 (leading order)",
            note="K_max ~ N^(n-1)/(2 (2n-3)!! ln N): finite N and the log bias it low"))
    return out


def unstable_mean(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean ``unstable0`` over trials and samples, with its error (spread over samples)."""
    return hop.sample_mean(hop.per_sample(ds, ds["unstable0"]), hop._rep(ds))


def one_step_rows(ds: xr.Dataset, max_fft: int = REPORT_MAX_FFT,
                  target: float = 0.02) -> list[Estimate]:
    """Measured one-step error against the exact convolution, one row per (N, n).

    Per (N, n) (and other axes) the load whose measured ``unstable0`` is closest to ``target``
    among those whose exact reference fits ``max_fft``. Power energy and noise 0 only.
    """
    if settings_of(ds)["energy"] != "power" or "alpha" not in ds.dims:
        return []
    ds = sorted_by_axes(hop.load(ds, ("unstable0", "K")))
    if "noise" in ds.dims or value_of(ds, "noise", {}) != 0:
        return []
    u, ue = unstable_mean(ds)
    others = [d for d in u.dims if d != "alpha"]
    rows = []
    for combo in np.ndindex(*[u.sizes[d] for d in others]):
        sel = {d: u[d].values[i] for d, i in zip(others, combo, strict=True)}
        N, n = int(value_of(ds, "N", sel)), int(value_of(ds, "n", sel))
        uu, ee = u.sel(sel), ue.sel(sel)
        Ks = ds["K"].sel(sel).isel({hop._rep(ds): 0}).values
        best = None
        for j in np.argsort(np.abs(uu.values - target)):
            if not (np.isfinite(uu.values[j]) and np.isfinite(ee.values[j]) and ee.values[j] > 0):
                continue
            if th.fft_length(N, n, int(Ks[j])) <= max_fft:
                best = int(j)
                break
        if best is None:
            continue
        K = int(Ks[best])
        label = ", ".join(f"{k}={float(v):g}" for k, v in sel.items())
        rows.append(Estimate(
            float(uu.values[best]), float(ee.values[best]),
            key="unstable0" + "".join(f"_{k}{float(v):g}" for k, v in sel.items())
            + f"_K{K}",
            quantity=f"one-step error at a stored pattern ({label}, K = {K})",
            method="mean unstable0 over trials and samples, error from the sample spread",
            exact=th.p_error_exact(N, n, K), exact_label="exact convolution of the crosstalk",
            details={"N": N, "n": n, "K": K,
                     "gaussian": float(th.p_error_gaussian(N, n, K))}))
    return rows


def capacity_rows(cap: xr.Dataset) -> list[Estimate]:
    """``K_c`` per (N, n) as estimates (no exact reference at finite N)."""
    rows = []
    dims = list(cap["K_c"].dims)
    for idx in np.ndindex(*cap["K_c"].shape):
        sel = {d: cap[d].values[i] for d, i in zip(dims, idx, strict=True)}
        label = ", ".join(f"{k}={float(v):g}" for k, v in sel.items())
        rows.append(Estimate(
            float(cap["K_c"].values[idx]), float(cap["K_c_err"].values[idx]),
            key="K_c" + "".join(f"_{k}{float(v):g}" for k, v in sel.items()),
            quantity=f"K_c ({label or 'all'}): P(m > {RETRIEVAL_THRESHOLD:g}) = 1/2",
            method="isotonic P_ret(alpha), linear interpolation, bootstrap over samples"))
    return rows


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """Report rows: K_c per (N, n), the slope per n, the one-step error against exact."""
    if "alpha" not in ds.dims:
        return []
    cap = capacity(ds)
    return [*slopes(cap, ds), *capacity_rows(cap), *one_step_rows(ds)]


def capacity_proposer(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Refinement target ``capacity``: alpha_c of the (N, n) whose estimate is least certain."""
    est = hop.alpha_c_estimates(sorted_by_axes(hop.load(ds, ("m",))), n_boot=300)
    err = est["alpha_c_err"].values.ravel()
    val = est["alpha_c"].values.ravel()
    ok = np.isfinite(err) & np.isfinite(val)
    if not ok.any():
        raise ValueError("the retrieval probability crosses 1/2 at no swept alpha")
    i = int(np.argmax(np.where(ok, err, -np.inf)))
    return "alpha", float(val[i]), float(err[i])
