"""Ising estimates with errors: Binder crossings, chi and C peaks, finite-size scaling fits.

Errors come from a parametric bootstrap: every (size, temperature) point is an independent
simulation whose replica mean carries a standard error (:func:`replica_mean`); each bootstrap
draw perturbs every point by a normal deviate of its error and repeats the whole estimate
(interpolation, crossing, peak fit). The reported error is the standard deviation of the
draws; the estimate is the one of the unperturbed data. Fixed seed: the numbers are
reproducible.

Every result is a :class:`statmech.analysis.estimate.Estimate` (or a
:class:`~statmech.analysis.estimate.FitResult` of them). Exact values for comparison (2D square
lattice) live in :mod:`statmech.theory.ising`: ``TC_2D``, ``NU_2D``, ``GAMMA_OVER_NU_2D`` and
``C_PEAK_LOG_SLOPE_2D`` (Ferdinand and Fisher 1969).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy import interpolate, optimize

from statmech.analysis.common import replica_mean, sorted_by_axes
from statmech.analysis.estimate import Estimate, FitResult
from statmech.theory import ising as exact

N_BOOT = 400
SEED = 12345


def size_dim(ds: xr.Dataset) -> str:
    """``L`` for the square lattice, ``N`` for the chain."""
    return "L" if ds.attrs.get("model") == "ising2d" else "N"


def curves(ds: xr.Dataset, name: str, selection: dict | None = None) -> xr.Dataset:
    """Replica mean and error of ``name`` on the (size, T) grid, T sorted.

    Every axis other than size and T must be fixed by ``selection``.
    """
    ds = sorted_by_axes(ds)
    if selection:
        ds = ds.sel(selection)
    mean, err = replica_mean(ds, name)
    out = xr.Dataset({"mean": mean, "err": err})
    extra = [d for d in out.dims if d not in (size_dim(ds), "T")]
    if extra:
        raise ValueError(f"select a value of {extra} first (e.g. selection={{'B': 0.0}})")
    return out


def _crossing(T: np.ndarray, y1: np.ndarray, y2: np.ndarray, guess: float | None) -> float:
    """Temperature where two curves cross (the sign change nearest ``guess``).

    The difference of the curves is interpolated with a monotonic cubic (PCHIP) through the
    grid points: linear interpolation of the strongly curved U4(T) biases the root on coarse
    grids; PCHIP does not overshoot and keeps the sign changes of the data.
    """
    d = y1 - y2
    ok = np.isfinite(d)
    T, d = T[ok], d[ok]
    idx = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    if idx.size == 0:
        return np.nan
    spline = interpolate.PchipInterpolator(T, d)
    roots = np.array([optimize.brentq(spline, T[i], T[i + 1]) for i in idx])
    if guess is None:
        # the crossing where the curves separate fastest (largest |slope| of the difference)
        slopes = np.abs((d[idx + 1] - d[idx]) / (T[idx + 1] - T[idx]))
        return float(roots[np.argmax(slopes)])
    return float(roots[np.argmin(np.abs(roots - guess))])


def _bootstrap(f: Callable[[np.ndarray], float], mean: np.ndarray, err: np.ndarray,
               n: int = N_BOOT) -> Estimate:
    value = f(mean)
    rng = np.random.default_rng(SEED)
    draws = np.array([f(mean + rng.normal(size=mean.shape) * np.nan_to_num(err))
                      for _ in range(n)])
    draws = draws[np.isfinite(draws)]
    error = float(np.std(draws, ddof=1)) if draws.size > n // 2 else np.nan
    return Estimate(float(value), error, method=f"parametric bootstrap, {n} draws, seed {SEED}")


def binder_crossings(ds: xr.Dataset, selection: dict | None = None) -> xr.Dataset:
    """Tc from the crossing of U4(T) of every pair of successive sizes.

    Returns a dataset over ``pair`` (``"8-16"``, ...) with ``Tc``, ``Tc_err``, ``L1``, ``L2``.
    """
    c = curves(ds, "U4", selection)
    sd = size_dim(ds)
    sizes = c[sd].values
    T = c["T"].values
    rows = []
    for a, b in itertools.pairwise(sizes):
        m = np.stack([c["mean"].sel({sd: a}).values, c["mean"].sel({sd: b}).values])
        e = np.stack([c["err"].sel({sd: a}).values, c["err"].sel({sd: b}).values])
        guess = _crossing(T, m[0], m[1], None)

        def crossing(y: np.ndarray, g: float = guess) -> float:
            return _crossing(T, y[0], y[1], g)

        est = _bootstrap(crossing, m, e)
        rows.append((f"{a}-{b}", a, b, est.value, est.error))
    pair = [r[0] for r in rows]
    return xr.Dataset(
        {"Tc": ("pair", [r[3] for r in rows], {"long_name": "U4 crossing temperature",
                                              "units": "J/k_B"}),
         "Tc_err": ("pair", [r[4] for r in rows], {"long_name": "bootstrap error of Tc"}),
         "L1": ("pair", [r[1] for r in rows]), "L2": ("pair", [r[2] for r in rows])},
        coords={"pair": pair},
    )


def tc_estimate(ds: xr.Dataset, selection: dict | None = None) -> Estimate:
    """Tc from the Binder crossing of the two largest sizes (the least finite-size biased)."""
    cr = binder_crossings(ds, selection)
    if cr.sizes["pair"] == 0:
        raise ValueError("need at least two sizes for a Binder crossing")
    pair = str(cr["pair"].values[-1])
    label = f"Tc from U4 crossing {size_dim(ds)} = {pair}"
    return Estimate(float(cr["Tc"].values[-1]), float(cr["Tc_err"].values[-1]),
                    key=f"Tc_binder_{pair}", quantity=label,
                    method=f"PCHIP crossing; parametric bootstrap, {N_BOOT} draws",
                    exact=exact.TC_2D if ds.attrs.get("model") == "ising2d" else None,
                    exact_label="Onsager" if ds.attrs.get("model") == "ising2d" else "")


def _peak(T: np.ndarray, y: np.ndarray, half_width: int = 2) -> tuple[float, float]:
    """Peak position and height from a parabola through the maximum and its neighbours."""
    ok = np.isfinite(y)
    T, y = T[ok], y[ok]
    i = int(np.argmax(y))
    lo, hi = max(i - half_width, 0), min(i + half_width + 1, y.size)
    if hi - lo < 3:
        return float(T[i]), float(y[i])
    a, b, c = np.polyfit(T[lo:hi], y[lo:hi], 2)
    if a >= 0:
        return float(T[i]), float(y[i])
    t = -b / (2 * a)
    t = float(np.clip(t, T[lo], T[hi - 1]))
    return t, float(a * t * t + b * t + c)


def peaks(ds: xr.Dataset, name: str = "chi", selection: dict | None = None) -> xr.Dataset:
    """Position ``T_peak`` and height ``height`` of the peak of ``name`` (chi or C) per size."""
    c = curves(ds, name, selection)
    sd = size_dim(ds)
    T = c["T"].values
    out: dict[str, list[float]] = {k: [] for k in ("T_peak", "T_peak_err", "height",
                                                   "height_err")}
    for n in c[sd].values:
        m, e = c["mean"].sel({sd: n}).values, c["err"].sel({sd: n}).values
        pos = _bootstrap(lambda y: _peak(T, y)[0], m, e)
        hgt = _bootstrap(lambda y: _peak(T, y)[1], m, e)
        out["T_peak"].append(pos.value)
        out["T_peak_err"].append(pos.error)
        out["height"].append(hgt.value)
        out["height_err"].append(hgt.error)
    units = ds[name].attrs.get("units", "1")
    return xr.Dataset(
        {"T_peak": (sd, out["T_peak"], {"long_name": f"peak temperature of {name}",
                                         "units": "J/k_B"}),
         "T_peak_err": (sd, out["T_peak_err"]),
         "height": (sd, out["height"], {"long_name": f"peak height of {name}", "units": units}),
         "height_err": (sd, out["height_err"])},
        coords={sd: c[sd].values},
    )


def _fit(f: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray, err: np.ndarray,
         names: tuple[str, ...], p0: list[float], method: str,
         fixed: dict[str, float] | None = None) -> FitResult:
    ok = np.isfinite(y) & np.isfinite(err) & (err > 0)
    x, y, err = x[ok], y[ok], err[ok]
    popt, pcov = optimize.curve_fit(f, x, y, p0=p0, sigma=err, absolute_sigma=True,
                                    maxfev=20000)
    chi2 = float(np.sum(((y - f(x, *popt)) / err) ** 2))
    dof = int(x.size - len(popt))
    return FitResult.from_arrays(names, [float(v) for v in popt], pcov, chi2, dof,
                                 f"weighted least squares {method}", f, fixed=fixed)


def fit_tc_shift(L: np.ndarray, T_peak: np.ndarray, err: np.ndarray,
                 nu: float | None = None) -> FitResult:
    """Fit ``T(L) = Tc + a L^(-1/nu)``.

    ``nu`` is fitted when given as None and there are >= 4 sizes, else held at the given value
    (the exact 1 of the 2D Ising class by default).
    """
    L = np.asarray(L, dtype=float)
    if nu is None and L.size >= 4:
        return _fit(lambda x, tc, a, n: tc + a * x ** (-1.0 / n), L, T_peak, err,
                    ("Tc", "a", "nu"), [float(T_peak[-1]), 1.0, 1.0],
                    "T(L) = Tc + a L^(-1/nu)")
    nu_fixed = exact.NU_2D if nu is None else nu
    return _fit(lambda x, tc, a: tc + a * x ** (-1.0 / nu_fixed), L, T_peak, err, ("Tc", "a"),
                [float(T_peak[-1]), 1.0], "T(L) = Tc + a L^(-1/nu)", {"nu": nu_fixed})


def fit_power(L: np.ndarray, height: np.ndarray, err: np.ndarray) -> FitResult:
    """Fit ``height = A L^x`` (e.g. chi_max with x = gamma/nu = 7/4 in 2D)."""
    L = np.asarray(L, dtype=float)
    return _fit(lambda x, A, p: A * x**p, L, height, err, ("A", "exponent"),
                [float(height[0]), exact.GAMMA_OVER_NU_2D], "height = A L^exponent")


def fit_log(L: np.ndarray, height: np.ndarray, err: np.ndarray) -> FitResult:
    """Fit ``height = a + b ln L`` (the 2D specific-heat peak, alpha = 0)."""
    L = np.asarray(L, dtype=float)
    return _fit(lambda x, a, b: a + b * np.log(x), L, height, err, ("a", "b"), [0.0, 0.5],
                "height = a + b ln L")


def summary(ds: xr.Dataset, selection: dict | None = None) -> dict[str, Any]:
    """Every Ising estimate of a store in one dictionary (used by the report).

    Keys: ``binder_crossings`` (dataset) and ``Tc_binder`` (:class:`Estimate`) with two or
    more sizes; ``chi_peaks``, ``C_peaks`` (datasets); with three or more sizes the
    :class:`FitResult` s ``chi_Tc_fit``, ``C_Tc_fit``, ``gamma_over_nu`` and ``C_log_fit``.
    """
    sd = size_dim(ds)
    out: dict[str, Any] = {}
    if ds.sizes.get(sd, 1) >= 2:
        out["binder_crossings"] = binder_crossings(ds, selection)
        out["Tc_binder"] = tc_estimate(ds, selection)
    for name in ("chi", "C"):
        pk = peaks(ds, name, selection)
        out[f"{name}_peaks"] = pk
        L = pk[sd].values
        if L.size >= 3:
            out[f"{name}_Tc_fit"] = fit_tc_shift(L, pk["T_peak"].values, pk["T_peak_err"].values)
            if name == "chi":
                out["gamma_over_nu"] = fit_power(L, pk["height"].values, pk["height_err"].values)
            else:
                out["C_log_fit"] = fit_log(L, pk["height"].values, pk["height_err"].values)
    return out


def transition_selection(ds: xr.Dataset) -> dict[str, float] | None:
    """Where the transition estimates are taken: ``{"B": 0.0}`` when B is an axis.

    The transition is at zero field: ``{}`` when B is not an axis, ``None`` when B is an axis
    without the value 0 (no transition estimate possible).
    """
    if "B" in ds.dims:
        return {"B": 0.0} if 0.0 in ds["B"].values else None
    return {}
