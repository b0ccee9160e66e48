"""Disorder averages and finite-size analysis of SK stores (``sk`` and ``sk-overlap``).

Every function takes an opened store (:func:`load_store` reads one into memory fast;
``statmech.store.open_dataset(path)`` works too, lazily); units that are not done are ignored.
Errors are one standard error over disorder samples: for a sample average ``[x]`` it is
``std(x, ddof=1) / sqrt(n)`` (each sample's own thermal noise is part of the
sample-to-sample spread, so this is the complete error of ``[x]``); nonlinear functions of
averages (``ln [N_s]``, the Binder ratio) use the delta method or the delete-one jackknife
over samples, as stated.

Finite-size fits are weighted least squares ``y = a + b x`` with weights ``1 / err^2``; the
parameter errors come from the covariance without rescaling by chi^2 (chi^2 and the degrees of
freedom are returned so that a poor fit is visible, never hidden).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from statmech.analysis.common import mean_with_error
from statmech.analysis.estimate import Estimate, FitResult
from statmech.theory import sk as theory

SAMPLE = "sample"


# ----------------------------------------------------------------------------- helpers
def load_store(path: str | Path) -> xr.Dataset:
    """Read a whole store into memory, without dask (5x faster for one-chunk-per-unit stores).

    SK stores are small (one value or a short histogram per unit) but have thousands of tiny
    chunks; reading them through zarr directly beats a dask graph with a task per chunk.
    """
    return xr.open_zarr(path, chunks=None).load()


def in_memory(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` loaded into memory; re-read without dask when it is an unmodified open store."""
    src = ds.encoding.get("source")
    lazy = any(v.chunks is not None for v in ds.data_vars.values())
    if lazy and src:
        fresh = xr.open_zarr(src, chunks=None)
        if dict(fresh.sizes) == dict(ds.sizes) and set(fresh.data_vars) == set(ds.data_vars) \
                and fresh.attrs.get("config_hash") == ds.attrs.get("config_hash"):
            return fresh.load()
    return ds.load()


def parameter(ds: xr.Dataset, name: str) -> xr.DataArray:
    """A model parameter as a DataArray: the axis coordinate, or the fixed value (0-d)."""
    if name in ds.dims:
        return ds[name]
    fixed = json.loads(ds.attrs.get("fixed_parameters", "{}"))
    if name not in fixed:
        raise KeyError(f"parameter {name!r} is neither an axis nor fixed in this store")
    return xr.DataArray(fixed[name])


def _done(ds: xr.Dataset, name: str) -> xr.DataArray:
    x = ds[name]
    return x.where(ds["done"]) if x.dtype.kind == "f" else x.astype(float).where(ds["done"])


def disorder_mean(ds: xr.Dataset, name: str) -> tuple[xr.DataArray, xr.DataArray]:
    """``[x]`` over samples and its standard error ``std(ddof=1) / sqrt(n)`` (done units only)."""
    mean, err = mean_with_error(_done(ds, name), SAMPLE)
    mean.attrs = {"long_name": f"disorder average of {name}",
                  "units": ds[name].attrs.get("units", "1")}
    err.attrs = {"long_name": f"standard error of [{name}]",
                 "units": ds[name].attrs.get("units", "1")}
    return mean, err


def _line(x: np.ndarray | float, a: float, b: float) -> np.ndarray:
    return a + b * np.asarray(x)


def linear_fit(x: np.ndarray, y: np.ndarray, err: np.ndarray) -> FitResult:
    """Weighted least squares of ``y = a + b x`` (at least 2 points with finite, positive err).

    The parameters are ``fit["a"]`` and ``fit["b"]``; ``fit(x)`` is the line and
    ``fit.band(x)`` its one-sigma error.
    """
    x, y, err = (np.asarray(v, dtype=float) for v in (x, y, err))
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(err) & (err > 0)
    x, y, err = x[ok], y[ok], err[ok]
    if x.size < 2:
        raise ValueError("a linear fit needs at least two points with errors")
    A = np.stack([np.ones_like(x), x], axis=1) / err[:, None]
    cov = np.linalg.inv(A.T @ A)
    params = cov @ (A.T @ (y / err))
    chi2 = float((((y - params[0] - params[1] * x) / err) ** 2).sum())
    return FitResult.from_arrays(("a", "b"), params, cov, chi2, int(x.size - 2),
                                 "weighted least squares y = a + b x", _line)


def _sizes(ds: xr.Dataset) -> np.ndarray:
    return np.atleast_1d(parameter(ds, "N").values).astype(int)


def _other_points(ds: xr.Dataset, data: xr.DataArray) -> list[dict[str, Any]]:
    """Selections over every dimension of ``data`` other than N (one dict per combination)."""
    import itertools

    others = [d for d in data.dims if d != "N"]
    values = [data[d].values.tolist() for d in others]
    return [dict(zip(others, combo, strict=True)) for combo in itertools.product(*values)]


# ----------------------------------------------------------------------------- ground states
def ground_state_energy(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """``[e0]`` and its standard error per grid point (J per spin)."""
    return disorder_mean(ds, "e0")


def extrapolate_e0(
    ds: xr.Dataset, n_min: int = 0, omega: float = theory.FINITE_SIZE_EXPONENT
) -> list[Estimate]:
    """Fit ``[e0](N) = e_inf + A N^(-omega)`` for ``N >= n_min``, one fit per other axis value.

    Each result is the estimate of ``e_inf`` (J per spin) with Parisi's value as its exact
    reference; ``details`` holds the ``selection`` (other axis values), the ``sizes`` used,
    ``omega`` and the whole ``fit`` (a :class:`FitResult` in ``x = N^-omega``).
    """
    mean, err = ground_state_energy(ds)
    if "N" not in mean.dims:
        raise ValueError("a finite-size fit needs N on an axis")
    out = []
    for sel in _other_points(ds, mean):
        m, e = mean.sel(sel), err.sel(sel)
        sizes = m["N"].values
        keep = sizes >= n_min
        fit = linear_fit(sizes[keep] ** -omega, m.values[keep], e.values[keep])
        where = ", ".join(f"{k}={v:g}" for k, v in sel.items())
        out.append(fit["a"].labelled(
            "e_inf" + "".join(f"_{k}{v:g}" for k, v in sel.items()),
            f"e0(N -> inf) from [e0] = e_inf + A N^-2/3 {where}".strip(),
            method=f"extrapolation: {fit['a'].method}",
            exact=theory.PARISI_E0_PRECISE, exact_label="Parisi",
            note=f"N = {sizes[keep].min()}..{sizes[keep].max()}",
            details={"selection": sel, "sizes": sizes[keep], "omega": omega, "fit": fit}))
    return out


def success_rate(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Fraction of samples whose ground-state search succeeded, with ``sqrt(p (1-p) / n)``.

    (When every sample agrees, p = 0 or 1, the binomial error is 0; the rule-of-three bound
    ``3 / n`` is the honest 95% limit then.)
    """
    x = _done(ds, "success")
    n = x.notnull().sum(SAMPLE)
    p = x.mean(SAMPLE)
    return p.compute(), np.sqrt(p * (1 - p) / n).compute()


# ----------------------------------------------------------------------------- metastable states
def complexity(ds: xr.Dataset, counts: str = "n_stable") -> xr.Dataset:
    """Quenched ``[ln N_s] / N`` and annealed ``ln [N_s] / N`` with errors, per grid point.

    Quenched error: ``std(ln N_s) / sqrt(n) / N``; annealed error by the delta method,
    ``se([N_s]) / [N_s] / N`` (the jackknife over samples agrees to a few per cent here).
    Samples with ``N_s = 0`` (only marginal minima, probability ~1e-7) are left out of the
    quenched average and counted in ``n_zero``. ``exact_annealed`` is the exact finite-N
    ``ln <N_s> / N`` for Gaussian couplings (:func:`statmech.theory.sk.log_mean_stable_states`).
    """
    ns = _done(ds, counts)
    N = parameter(ds, "N")
    logs = np.log(ns.where(ns > 0))
    n = logs.notnull().sum(SAMPLE)
    quenched = logs.mean(SAMPLE) / N
    quenched_err = logs.std(SAMPLE, ddof=1) / np.sqrt(n) / N
    mean, err = disorder_mean(ds, counts)
    annealed = np.log(mean) / N
    annealed_err = err / mean / N
    B = parameter(ds, "B")
    exact = xr.apply_ufunc(
        np.vectorize(lambda nn, bb: theory.log_mean_stable_states(int(nn), float(bb)) / nn),
        N, B,
    )
    out = xr.Dataset({
        "quenched": quenched, "quenched_err": quenched_err,
        "annealed": annealed, "annealed_err": annealed_err,
        "exact_annealed": exact,
        "n_samples": ns.notnull().sum(SAMPLE),
        "n_zero": (ns == 0).sum(SAMPLE),
    })
    return out.compute()


def extrapolate_complexity(
    ds: xr.Dataset, kind: str = "annealed", n_min: int = 0
) -> list[Estimate]:
    """Fit ``quenched`` or ``annealed`` complexity ``= alpha + c / N`` for ``N >= n_min``.

    Each result is the estimate of ``alpha`` with the annealed complexity at B = 0
    (:func:`statmech.theory.sk.annealed_complexity`) as its reference; ``details`` holds the
    ``kind``, ``selection``, ``sizes`` and the whole ``fit`` (a :class:`FitResult` in 1/N).

    The 1/N form is exact for the leading correction of the annealed value (the prefactor of
    ``<N_s> ~ C exp(alpha N)`` is N-independent to leading order); for the quenched value it is
    an assumption.
    """
    if kind not in ("annealed", "quenched"):
        raise ValueError("kind is 'annealed' or 'quenched'")
    c = complexity(ds)
    y, err = c[kind], c[f"{kind}_err"]
    if "N" not in y.dims:
        raise ValueError("a finite-size fit needs N on an axis")
    out = []
    for sel in _other_points(ds, y):
        yy, ee = y.sel(sel), err.sel(sel)
        sizes = yy["N"].values
        keep = sizes >= n_min
        fit = linear_fit(1.0 / sizes[keep], yy.values[keep], ee.values[keep])
        field = float(sel["B"]) if "B" in sel else float(parameter(ds, "B"))
        out.append(fit["a"].labelled(
            f"complexity_{kind}" + "".join(f"_{k}{v:g}" for k, v in sel.items()),
            f"{kind} complexity, fit a + c/N", method=f"extrapolation: {fit['a'].method}",
            exact=theory.annealed_complexity()[0] if field == 0.0 else None,
            exact_label="Tanaka-Edwards / Bray-Moore (annealed, B = 0)",
            details={"kind": kind, "selection": sel, "sizes": sizes[keep], "fit": fit}))
    return out


def stable_energy_density(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """``[ns_hist] / de``: mean number of stable configurations per unit energy per spin."""
    mean, err = disorder_mean(ds, "ns_hist")
    width = float(np.diff(ds["e_bin"].values[:2])[0]) if ds.sizes["e_bin"] > 1 else 1.0
    return mean / width, err / width


# ----------------------------------------------------------------------------- overlaps
def binder_ratio(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Spin-glass Binder ratio ``g = (3 - [<q^4>] / [<q^2>]^2) / 2`` with a jackknife error.

    Ratio of disorder averages (the standard definition); the error is the delete-one
    jackknife over samples.
    """
    q2 = _done(ds, "q2")
    q4 = _done(ds, "q4")
    ok = q2.notnull() & q4.notnull()
    q2, q4 = q2.where(ok, 0.0), q4.where(ok, 0.0)
    n = ok.sum(SAMPLE)
    s2, s4 = q2.sum(SAMPLE), q4.sum(SAMPLE)
    g = 0.5 * (3 - (s4 / n) / (s2 / n) ** 2)
    loo2 = (s2 - q2) / (n - 1)
    loo4 = (s4 - q4) / (n - 1)
    g_i = (0.5 * (3 - loo4 / loo2**2)).where(ok)
    err = np.sqrt((n - 1) / n * ((g_i - g_i.mean(SAMPLE)) ** 2).sum(SAMPLE))
    g.attrs = {"long_name": "spin-glass Binder ratio g", "units": "1"}
    return g.compute(), err.where(n > 2).compute()


def overlap_distribution(ds: xr.Dataset, **selection: Any) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
    """``(q, P(q), error)``: the disorder-averaged overlap density at one (N, T, ...) point.

    ``selection`` must fix every axis and T, e.g. ``overlap_distribution(ds, N=64, T=0.5)``.
    Each sample's histogram is normalised to a density on the grid ``q = 1 - 2d/N`` (spacing
    ``2/N``), then averaged over samples (error: standard error over samples).
    """
    sub = ds.sel(selection)
    N = int(selection.get("N", parameter(ds, "N")))
    pq = sub["pq"].astype(float).where(sub["done"])
    counts = pq.isel(hamming=slice(0, N + 1))
    dens = counts / counts.sum("hamming") / (2.0 / N)
    n = dens.notnull().all("hamming").sum(SAMPLE)
    d = np.arange(N + 1)
    q = 1.0 - 2.0 * d / N
    mean = dens.mean(SAMPLE).values
    err = (dens.std(SAMPLE, ddof=1) / np.sqrt(n)).values
    order = np.argsort(q)
    return q[order], mean[order], err[order]


def q_ea(ds: xr.Dataset) -> xr.Dataset:
    """Finite-N estimators of the Edwards-Anderson order parameter per (N, T, ...).

    ``rms = sqrt([<q^2>])`` (error by the delta method) and ``peak``: the |q| of the maximum
    of the disorder-averaged ``P(|q|)``. Both tend to ``q_EA = q_max`` of the Parisi solution
    for N -> infinity below T_c (and to 0 above); at finite N ``rms`` is biased by the weight
    of P(q) at small |q| and ``peak`` is quantised in steps of 2/N.
    """
    q2, q2_err = disorder_mean(ds, "q2")
    rms = np.sqrt(q2)
    rms_err = q2_err / (2 * rms)
    pq = _done(ds, "pq")
    dens = pq / pq.sum("hamming")
    mean = dens.mean(SAMPLE)
    N = parameter(ds, "N")
    d = ds["hamming"]
    absq = np.abs(1.0 - 2.0 * d / N).where(d <= N)
    peak = absq.isel(hamming=mean.where(d <= N).fillna(-1).argmax("hamming"))
    return xr.Dataset({"rms": rms, "rms_err": rms_err, "peak": peak}).compute()


def energy_overlap_check(ds: xr.Dataset) -> xr.Dataset:
    """The equilibrium identity ``[<e>] = -(1 - [<q^2>]) / (2T) - B [<m>]`` per (N, T, ...).

    Exact for Gaussian couplings at any N in equilibrium; ``delta`` is the disorder average of
    ``e + (1 - q^2) / (2T) + B m`` per sample (0 in equilibrium; positive when the replicas are
    not equilibrated from random starts: too high an energy, too small an overlap), with its
    standard error and ``z = delta / err``.
    """
    T = ds["T"]
    B = parameter(ds, "B")
    x = _done(ds, "e") + (1 - _done(ds, "q2")) / (2 * T) + B * _done(ds, "m")
    n = x.notnull().sum(SAMPLE)
    delta = x.mean(SAMPLE)
    err = x.std(SAMPLE, ddof=1) / np.sqrt(n)
    return xr.Dataset({"delta": delta, "err": err, "z": delta / err}).compute()
