"""Derived quantities of Hopfield sweeps: overlaps, retrieval probability, capacity alpha_c(N).

Statistics. Samples (independent pattern sets and networks) are the independent units; the
trials of one sample share a network, so every quantity is first averaged over the trials of a
sample and errors are the spread over samples, ``std(ddof=1) / sqrt(n_samples)``. Units that are
not done are ignored.

Estimators:

* mean overlap ``<m>`` and error fraction ``<(1 - m)/2>`` (fraction of wrong bits);
* retrieval probability ``P_ret``: the fraction of trials whose final overlap exceeds
  :data:`RETRIEVAL_THRESHOLD` = 0.9 (a retrieval state has m >= 0.967 up to alpha_c; a failed run
  ends near m ~ 0.3, so the result hardly depends on the threshold between 0.7 and 0.95);
* capacity ``alpha_c(N)`` (:func:`alpha_c_estimates`): the load at which ``P_ret(alpha)``
  crosses 1/2, by linear interpolation between the two grid loads that bracket the crossing,
  after a weighted isotonic (non-increasing) least-squares fit of ``P_ret(alpha)`` that removes
  statistical wiggles (so the crossing is unique). Its error is the standard deviation over
  bootstrap replicas that resample the samples with replacement at every load independently
  (loads are independent sweeps of independent networks);
* ``alpha_c(N -> infinity)`` (:func:`extrapolate_alpha_c`): weighted least squares of
  ``alpha_c(N) = alpha_inf + a N^(-omega)`` with omega = 1/2 by default (an assumed finite-size
  form, not a derived one; compare omega = 1 and check chi^2). The fit error is inflated by
  ``sqrt(chi^2/dof)`` when that exceeds 1.

Simulated annealing (``dynamics: anneal``):

* :func:`classify` (a pure function of the stored overlaps) sorts every run into
  ``retrieval`` (``max_mu |m^mu| >= 0.9``), ``mixture`` (overlap ``>= 0.9`` with the symmetric
  k-mixture ``sign(sum_{nu in top k} sign(m^nu) xi^nu)`` of the k patterns with the largest
  ``|m^nu|``, for the smallest such k in 3, 5, 7) or ``other`` (spin-glass-like states and
  asymmetric mixtures); the rule and its derivation are in docs/hopfield.md;
* :func:`anneal_outcomes`: per point, the fraction of runs in each outcome with its standard
  error and a Wilson interval (see there: runs of one sample share a network, so the error is
  the larger of the binomial one and the ratio-estimator error over samples), and the mean
  final energy of the runs of each outcome;
* :func:`anneal_estimates`: the report rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import xarray as xr

from statmech.analysis.common import mean_with_error, sorted_by_axes
from statmech.analysis.estimate import Estimate, FitResult

#: final overlap above which a trial counts as a successful retrieval
RETRIEVAL_THRESHOLD = 0.9


def load(ds: xr.Dataset, variables: tuple[str, ...] | None = None) -> xr.Dataset:
    """The dataset (or the named variables and ``done``) in memory, read fast.

    A store opened with ``xr.open_zarr`` is one dask task per unit and variable; for thousands
    of units reading through dask costs several times more than zarr's own concurrent reads, so
    a dask-backed dataset that came from a zarr store (and was not subset since) is reopened
    without dask.
    """
    names = list(ds.data_vars) if variables is None else [*variables, "done"]
    names = list(dict.fromkeys(n for n in names if n in ds.data_vars))
    src = ds.encoding.get("source")
    lazy = any(ds[n].chunks is not None for n in names)
    if lazy and src:
        fresh = xr.open_zarr(src, chunks=None)
        same = dict(fresh.sizes) == dict(ds.sizes) and all(
            np.array_equal(fresh[d].values, ds[d].values) for d in ds.dims if d in ds.coords)
        if same:
            return fresh[names].load()
    return ds[names].load()


def _rep(ds: xr.Dataset) -> str:
    return str(ds.attrs.get("replica_dim", "sample"))


def axes_of(ds: xr.Dataset) -> list[str]:
    """The sweep axes of a store (dimensions of ``done`` without the sample dimension)."""
    return [str(d) for d in ds["done"].dims if d != _rep(ds)]


def per_sample(ds: xr.Dataset, values: xr.DataArray) -> xr.DataArray:
    """Trial average per sample of ``values`` (dims axes x sample [x trial]); NaN if not done."""
    x = values.where(ds["done"])
    if "trial" in x.dims:
        x = x.mean("trial")
    return x


def mean_overlap(ds: xr.Dataset, name: str = "m") -> tuple[xr.DataArray, xr.DataArray]:
    """``<m>`` over trials and samples with its error (``name``: m, m_avg, m_other, m_mix3)."""
    mean, err = mean_with_error(per_sample(ds, ds[name].astype(float)), _rep(ds))
    mean.attrs = {"long_name": f"mean {ds[name].attrs.get('long_name', name)}", "units": "1"}
    return mean, err


def retrieval_probability(
    ds: xr.Dataset, threshold: float = RETRIEVAL_THRESHOLD, name: str = "m"
) -> tuple[xr.DataArray, xr.DataArray]:
    """Fraction of trials with ``name > threshold`` and its error (spread over samples)."""
    hit = (ds[name] > threshold).astype(float).where(ds[name].notnull())
    mean, err = mean_with_error(per_sample(ds, hit), _rep(ds))
    mean.attrs = {"long_name": f"retrieval probability P(m > {threshold:g})", "units": "1"}
    return mean, err


def error_fraction(ds: xr.Dataset, name: str = "m") -> tuple[xr.DataArray, xr.DataArray]:
    """Fraction of wrong bits ``(1 - m)/2`` averaged over trials and samples, with its error."""
    mean, err = mean_with_error(per_sample(ds, (1.0 - ds[name]) / 2.0), _rep(ds))
    mean.attrs = {"long_name": "error fraction (1 - m)/2", "units": "1"}
    return mean, err


# ----------------------------------------------------------------------------- alpha_c(N)
def isotonic_decreasing(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-increasing fit of ``y`` (pool-adjacent-violators)."""
    vals: list[float] = []
    wts: list[float] = []
    lens: list[int] = []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        vals.append(yi)
        wts.append(wi)
        lens.append(1)
        while len(vals) > 1 and vals[-2] < vals[-1]:
            wsum = wts[-2] + wts[-1]
            v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum
            n = lens[-2] + lens[-1]
            del vals[-1], wts[-1], lens[-1]
            vals[-1], wts[-1], lens[-1] = v, wsum, n
    return np.repeat(vals, lens)


def half_crossing(alpha: np.ndarray, prob: np.ndarray, weights: np.ndarray) -> float:
    """The load where the isotonic fit of ``prob(alpha)`` crosses 1/2 (NaN if it does not).

    ``alpha`` must be increasing. Linear interpolation between the last load with fitted
    probability >= 1/2 and the next one.
    """
    ok = np.isfinite(prob) & (weights > 0)
    a, y = alpha[ok], isotonic_decreasing(prob[ok], weights[ok])
    above = np.nonzero(y >= 0.5)[0]
    if len(a) < 2 or len(above) == 0 or above[-1] == len(a) - 1:
        return float("nan")
    k = int(above[-1])
    y0, y1 = y[k], y[k + 1]
    return float(a[k] + (y0 - 0.5) / (y0 - y1) * (a[k + 1] - a[k]))


def _combos(da: xr.DataArray, keep: tuple[str, ...]) -> Iterator[dict[str, object]]:
    others = [str(d) for d in da.dims if d not in keep]
    if not others:
        yield {}
        return
    import itertools

    for combo in itertools.product(*(da[o].values.tolist() for o in others)):
        yield dict(zip(others, combo, strict=True))


def alpha_c_estimates(
    ds: xr.Dataset, threshold: float = RETRIEVAL_THRESHOLD, n_boot: int = 1000, seed: int = 0,
) -> xr.Dataset:
    """``alpha_c`` (and ``alpha_c_err``) for every value of the axes other than alpha.

    See the module docstring for the estimator. Needs ``alpha`` on an axis; NaN where the
    retrieval probability does not cross 1/2 inside the swept loads.
    """
    ds = sorted_by_axes(ds)
    if "alpha" not in ds.dims:
        raise ValueError("alpha_c needs alpha on an axis")
    rep = _rep(ds)
    hit = (ds["m"] > threshold).astype(float).where(ds["m"].notnull())
    f = per_sample(ds, hit).transpose(..., "alpha", rep)
    alpha = ds["alpha"].values.astype(float)
    rng = np.random.default_rng(seed)
    others = [d for d in f.dims if d not in ("alpha", rep)]
    shape = tuple(f.sizes[d] for d in others)
    est = np.full(shape, np.nan)
    err = np.full(shape, np.nan)
    for idx, sel in zip(np.ndindex(*shape), _combos(f, ("alpha", rep)), strict=True):
        x = f.sel(sel).values  # (alpha, sample)
        n = np.sum(np.isfinite(x), axis=1).astype(float)
        p = np.nanmean(np.where(n[:, None] > 0, x, 0.0), axis=1)
        p[n == 0] = np.nan
        est[idx] = half_crossing(alpha, p, n)
        pb = np.full((n_boot, len(alpha)), np.nan)
        for a in range(len(alpha)):
            xa = x[a][np.isfinite(x[a])]
            if len(xa):
                pb[:, a] = xa[rng.integers(0, len(xa), size=(n_boot, len(xa)))].mean(axis=1)
        b = np.array([half_crossing(alpha, row, n) for row in pb])
        b = b[np.isfinite(b)]
        if len(b) > 1 and np.isfinite(est[idx]):
            err[idx] = float(np.std(b, ddof=1))
    coords = {d: ds[d].values for d in others}
    out = xr.Dataset(
        {
            "alpha_c": (others, est, {"long_name": f"alpha where P(m > {threshold:g}) = 1/2",
                                      "units": "1"}),
            "alpha_c_err": (others, err, {"long_name": "bootstrap standard error of alpha_c",
                                          "units": "1"}),
        },
        coords=coords,
        attrs={"threshold": threshold, "n_boot": n_boot},
    )
    return out


def _power_law(N: np.ndarray, alpha_inf: float, slope: float, omega: float) -> np.ndarray:
    return alpha_inf + slope * np.asarray(N, dtype=float) ** (-omega)


def extrapolate_alpha_c(
    N: np.ndarray, alpha_c: np.ndarray, err: np.ndarray, omega: float = 0.5
) -> FitResult:
    """Weighted least squares of ``alpha_c(N) = alpha_inf + slope N^(-omega)`` (NaNs dropped).

    Returns the parameters ``alpha_inf`` and ``slope`` (``omega`` is held fixed and stored in
    each parameter's ``details``). Parameter errors come from the covariance of the fit,
    multiplied by ``sqrt(chi^2/dof)`` when that is above 1 (never shrunk).
    """
    N, y, e = (np.asarray(v, dtype=float) for v in (N, alpha_c, err))
    ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
    N, y, e = N[ok], y[ok], e[ok]
    if len(N) < 2:
        raise ValueError("need alpha_c at two or more sizes with finite errors")
    X = np.stack([np.ones_like(N), N ** (-omega)], axis=1)
    W = 1.0 / e**2
    cov = np.linalg.inv(X.T @ (X * W[:, None]))
    beta = cov @ (X.T @ (W * y))
    chi2 = float(np.sum(W * (y - X @ beta) ** 2))
    dof = len(N) - 2
    scale = np.sqrt(max(1.0, chi2 / dof)) if dof > 0 else 1.0
    se = np.sqrt(np.diag(cov)) * scale
    return FitResult.from_arrays(
        ("alpha_inf", "slope"), beta, cov * scale**2, chi2, dof,
        "weighted least squares alpha_c(N) = alpha_inf + slope N^-omega",
        lambda n, a, b: _power_law(n, a, b, omega), errors=se, fixed={"omega": omega})


def capacity_summary(
    ds: xr.Dataset, threshold: float = RETRIEVAL_THRESHOLD, omega: float = 0.5,
    n_boot: int = 1000,
) -> tuple[xr.Dataset, FitResult | None]:
    """``alpha_c(N)`` estimates and their extrapolation (None with fewer than two sizes)."""
    est = alpha_c_estimates(ds, threshold=threshold, n_boot=n_boot)
    if "N" not in est.dims or est.sizes["N"] < 2 or len(est.dims) > 1:
        return est, None
    try:
        fit = extrapolate_alpha_c(est["N"].values, est["alpha_c"].values,
                                  est["alpha_c_err"].values, omega)
    except ValueError:
        return est, None
    return est, fit


# ----------------------------------------------------------------------------- annealing
#: outcome labels of :func:`classify`, in code order (0, 1, 2; -1: a run that was not done)
OUTCOMES = ("retrieval", "mixture", "other")
RETRIEVAL, MIXTURE, OTHER = 0, 1, 2


def classify(
    m_top: np.ndarray, m_mix: np.ndarray, orders: tuple[int, ...] = (3, 5, 7),
    threshold: float = RETRIEVAL_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome of annealing runs from their overlaps: ``(outcome, k)``.

    ``m_top`` (``(..., rank)``): the overlaps of a run by decreasing ``|m^mu|`` (only rank 0 is
    used); ``m_mix`` (``(..., len(orders))``): the overlaps with the symmetric mixtures of the
    top k patterns for k in ``orders`` (NaN where p < k). ``outcome`` is :data:`RETRIEVAL` if
    ``|m_top[0]| >= threshold``, else :data:`MIXTURE` if some ``m_mix >= threshold`` (``k``:
    the smallest such order), else :data:`OTHER`; -1 where ``m_top[0]`` is NaN (no data).
    ``k`` is 0 unless the outcome is a mixture.

    With ``threshold > 0.8`` the classes are disjoint: a state within Hamming distance
    ``(1 - threshold) N / 2`` of two configurations forces their overlap above
    ``2 threshold - 1 = 0.8``, while a pattern and a k-mixture (k >= 3) overlap by
    ``m_k <= 1/2`` and the 3-, 5- and 7-mixtures of nested pattern sets by at most 11/16
    (N -> infinity).
    """
    m_top = np.asarray(m_top, dtype=float)
    m_mix = np.asarray(m_mix, dtype=float)
    a1 = np.abs(m_top[..., 0])
    hit = np.where(np.isnan(m_mix), -np.inf, m_mix) >= threshold
    has_mix = hit.any(axis=-1)
    k = np.where(has_mix, np.asarray(orders)[np.argmax(hit, axis=-1)], 0)
    outcome = np.where(a1 >= threshold, RETRIEVAL, np.where(has_mix, MIXTURE, OTHER))
    outcome = np.where(np.isnan(a1), -1, outcome)
    return outcome.astype(np.int64), np.where(outcome == MIXTURE, k, 0).astype(np.int64)


def _ratio(y: xr.DataArray, x: xr.DataArray, dim: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Ratio estimator ``R = sum y / sum x`` over ``dim`` and its standard error.

    ``Var R = S / (S - 1) sum_s (y_s - R x_s)^2 / (sum_s x_s)^2`` over the S clusters (samples)
    with ``x_s > 0``: the error of a mean over runs that share a cluster (NaN if S < 2).
    """
    X = x.sum(dim)
    R = y.sum(dim) / X.where(X > 0)
    S = (x > 0).sum(dim)
    var = ((y - R * x) ** 2).where(x > 0).sum(dim) / X.where(X > 0) ** 2 * S / (S - 1)
    return R, var.where(S > 1) ** 0.5


def anneal_outcomes(ds: xr.Dataset, threshold: float = RETRIEVAL_THRESHOLD) -> xr.Dataset:
    """Fractions of annealing runs ending in each outcome, per point (dims axes x ``outcome``).

    Variables: ``frac`` (fraction of the done runs), ``err`` (standard error: the larger of the
    binomial ``sqrt(f (1 - f) / n)`` and the ratio-estimator error over samples, which accounts
    for the runs of a sample sharing a network; at f = 0 or 1, where both vanish, ``1/(n + 1)``,
    the distance to the one-sigma Wilson bound), ``lo`` and ``hi`` (Wilson score interval at one
    standard deviation for ``n_eff = f (1 - f) / err^2`` runs, so that it never collapses at
    f = 0 or 1), ``n_runs``; ``e_mean`` and ``e_err`` (mean final energy per spin
    of the runs with that outcome, ratio-estimator error), ``k_frac`` (fraction of the runs that
    end in each symmetric mixture order, dims axes x ``mixture``).
    """
    ds = sorted_by_axes(ds)
    rep = _rep(ds)
    orders = tuple(int(k) for k in ds["mixture"].values)
    done = ds["done"]
    code, k = xr.apply_ufunc(
        lambda a, b: classify(a, b, orders, threshold), ds["m_top"], ds["m_mix"],
        input_core_dims=[["rank"], ["mixture"]], output_core_dims=[[], []])
    code = code.where(done, -1)
    runs = (code >= 0).sum("trial")
    fr, er, lo, hi, em, ee = [], [], [], [], [], []
    for c in range(len(OUTCOMES)):
        is_c = code == c
        f, e_cl = _ratio(is_c.sum("trial"), runs, rep)
        n = runs.sum(rep)
        e_bin = np.sqrt(f * (1 - f) / n.where(n > 0))
        err = np.maximum(e_bin, e_cl.fillna(0.0))
        err = xr.where((f > 0) & (f < 1), err, 1.0 / (n + 1)).where(n > 0)
        n_eff = xr.where(err > 0, f * (1 - f) / err**2, n).where(n > 0)
        n_eff = xr.where((f > 0) & (f < 1), n_eff, n)
        centre = (f + 0.5 / n_eff) / (1 + 1 / n_eff)
        half = np.sqrt(f * (1 - f) / n_eff + 0.25 / n_eff**2) / (1 + 1 / n_eff)
        fr.append(f)
        er.append(err)
        lo.append(np.maximum(centre - half, 0.0))
        hi.append(np.minimum(centre + half, 1.0))
        e_sum = ds["e"].where(is_c, 0.0).sum("trial")
        m_e, s_e = _ratio(e_sum, is_c.sum("trial"), rep)
        em.append(m_e)
        ee.append(s_e)
    coord = {"outcome": list(OUTCOMES)}
    out = xr.Dataset({
        "frac": xr.concat(fr, "outcome").assign_coords(coord),
        "err": xr.concat(er, "outcome").assign_coords(coord),
        "lo": xr.concat(lo, "outcome").assign_coords(coord),
        "hi": xr.concat(hi, "outcome").assign_coords(coord),
        "e_mean": xr.concat(em, "outcome").assign_coords(coord),
        "e_err": xr.concat(ee, "outcome").assign_coords(coord),
        "n_runs": runs.sum(rep),
    })
    k_frac = [(k == order).where(code >= 0).sum("trial").sum(rep) / out["n_runs"]
              for order in orders]
    out["k_frac"] = xr.concat(k_frac, "mixture").assign_coords(mixture=list(orders))
    out.attrs = {"threshold": threshold}
    return out


def anneal_estimates(ds: xr.Dataset) -> list[Estimate]:
    """Report rows of an annealing store, per value of the axes other than tau.

    The fractions of runs ending in retrieval and in a symmetric mixture at the longest tau and
    in retrieval at the shortest (standard errors as in :func:`anneal_outcomes`).
    """
    if "m_top" not in ds or "tau" not in ds.dims:
        return []
    out = anneal_outcomes(load(ds, ("m_top", "m_mix", "e")))
    taus = out["tau"].values
    rows = []
    method = (f"runs classified by max|m| >= {RETRIEVAL_THRESHOLD:g} or symmetric-mixture "
              "overlap >= 0.9; error: max(binomial, spread over samples)")
    for sel in _combos(out["frac"], ("outcome", "tau")):
        label = ", ".join(f"{d}={v:g}" for d, v in sel.items())
        key = "".join(f"_{d}{v:g}" for d, v in sel.items())
        sub = out.sel(sel) if sel else out
        for outcome, tau in (("retrieval", taus.max()), ("mixture", taus.max()),
                             ("retrieval", taus.min())):
            at = sub.sel(outcome=outcome, tau=tau)
            rows.append(Estimate(
                float(at["frac"]), float(at["err"]), key=f"anneal_{outcome}{key}_tau{tau:g}",
                quantity=f"fraction of runs ending in {outcome} ({label or 'all'}, tau={tau:g})",
                method=method, details={"n_runs": int(at["n_runs"])}))
    return rows
