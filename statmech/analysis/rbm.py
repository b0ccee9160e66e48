"""Analysis of ``rbm`` sweeps: final likelihoods, divergence, exact re-checks from the store.

Every function takes an opened dataset. The replica dimension is ``replica``; ``method`` is an
axis (integer codes 0 exact, 1 cd, 2 pcd, 3 fvbm) or a fixed parameter.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import xarray as xr

from statmech.analysis.common import sorted_by_axes
from statmech.analysis.estimate import Estimate
from statmech.theory import rbm as th

METHOD_NAMES = {0: "exact", 1: "cd", 2: "pcd", 3: "fvbm"}


def load(ds: xr.Dataset) -> xr.Dataset:
    """The dataset in memory (reopened without dask when it came from a zarr store)."""
    src = ds.encoding.get("source")
    if src and any(ds[n].chunks is not None for n in ds.data_vars):
        fresh = xr.open_zarr(src, chunks=None)
        if dict(fresh.sizes) == dict(ds.sizes):
            return sorted_by_axes(fresh.load())
    return sorted_by_axes(ds.load())


def rep_dim(ds: xr.Dataset) -> str:
    """Name of the replica dimension."""
    return str(ds.attrs.get("replica_dim", "replica"))


def axes_of(ds: xr.Dataset) -> list[str]:
    """Grid axes (dimensions of ``done`` other than the replica)."""
    return [d for d in ds["done"].dims if d != rep_dim(ds)]


def fixed_parameters(ds: xr.Dataset) -> dict[str, float]:
    """The sweep's fixed parameters."""
    return json.loads(ds.attrs.get("fixed_parameters", "{}"))


def methods_of(ds: xr.Dataset) -> list[int]:
    """Method codes present (axis values, or the fixed value, default 1 = cd)."""
    if "method" in ds.dims:
        return [int(m) for m in ds["method"].values]
    return [int(fixed_parameters(ds).get("method", 1))]


def select_method(ds: xr.Dataset, code: int) -> xr.Dataset:
    """The part of the dataset trained with method ``code``."""
    return ds.sel({"method": code}) if "method" in ds.dims else ds


def law(ds: xr.Dataset):  # type: ignore[no-untyped-def]
    """The data law of the sweep (:class:`statmech.models.rbm.datasets.DataLaw`)."""
    return th.law_from_settings(ds.attrs["settings"])


def final(ds: xr.Dataset, name: str = "ll") -> tuple[xr.DataArray, xr.DataArray]:
    """Replica mean of ``name`` at the last checkpoint and its standard error (spread)."""
    rep = rep_dim(ds)
    x = ds[name].isel(epoch=-1).where(ds["done"])
    n = x.notnull().sum(rep)
    err = x.std(rep, ddof=1) / np.sqrt(n)
    return x.mean(rep), err.where(n > 1)


def diverged_fraction(ds: xr.Dataset) -> xr.DataArray:
    """Fraction of done replicas that diverged."""
    rep = rep_dim(ds)
    d = ds["diverged"].where(ds["done"]).astype(float)
    return d.mean(rep)


def unit_parameters(ds: xr.Dataset, index: dict[str, object]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final ``(W, a, b)`` of one unit, the NaN padding of the hidden dimension removed."""
    u = ds.sel(index)
    W, a, b = u["W"].values, u["a"].values, u["b"].values
    keep = ~np.isnan(b)
    return W[:, keep], a, b[keep]


def recomputed_ll(ds: xr.Dataset) -> xr.DataArray:
    """Mean log-likelihood recomputed by enumeration from every done unit's stored parameters.

    RBM units use ``W, a, b``; fvbm units ``J, a``. NaN for units not done or non-finite.
    """
    data = law(ds)
    dims = [*axes_of(ds), rep_dim(ds)]
    out = xr.full_like(ds["done"], np.nan, dtype=float)
    fixed = fixed_parameters(ds)
    for combo in itertools.product(*(range(ds.sizes[d]) for d in dims)):
        index = dict(zip(dims, combo, strict=True))
        if not bool(ds["done"].isel(index)):
            continue
        u = ds.isel(index)
        code = int(u["method"]) if "method" in ds.dims else int(fixed.get("method", 1))
        if code == 3:
            J, a = u["J"].values, u["a"].values
            val = th.fvbm_log_likelihood(data, J, a) if np.isfinite(J).all() else math.nan
        else:
            b = u["b"].values
            keep = ~np.isnan(b)
            W, a, b = u["W"].values[:, keep], u["a"].values, b[keep]
            ok = np.isfinite(W).all() and np.isfinite(a).all()
            val = th.mean_log_likelihood(data, W, a, b) if ok else math.nan
        out[index] = val
    return out


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """Report rows of an ``rbm`` sweep.

    Per method the best final LL against the bound ``-H(D)`` and the diverged fraction; the
    largest deviation of the recomputed from the stored final LL (exactly 0).
    """
    ds = load(ds)
    data = law(ds)
    bound = th.best_log_likelihood(data)
    rows: list[Estimate] = []
    for code in methods_of(ds):
        name = METHOD_NAMES[code]
        sub = select_method(ds, code)
        mean, err = final(sub)
        ok = diverged_fraction(sub) < 0.5
        m = mean.where(ok)
        if bool(m.notnull().any()):
            best = m.where(m == m.max(), drop=True)
            where = {d: best[d].values[0].item() for d in best.dims}
            e = err.sel(where)
            rows.append(Estimate(
                float(m.max()), float(e) if np.isfinite(e) else math.nan,
                key=f"best_ll_{name}", quantity=f"best final LL, {name} (nats)",
                method=f"max over the grid of the replica mean; at {where}",
                exact=bound, exact_label=f"-H(D) = {bound:.5f} (upper bound, {data.name})"))
        frac = diverged_fraction(sub)
        rows.append(Estimate(
            float(frac.mean()), math.nan, key=f"diverged_{name}",
            quantity=f"fraction of runs diverged, {name}",
            method=f"ll fell below its best by > threshold or non-finite; "
            f"{int(frac.size)} grid points"))
    stored = ds["ll"].isel(epoch=-1).where(ds["done"])
    dev = np.abs(recomputed_ll(ds) - stored)
    rows.append(Estimate(
        float(dev.max()) if bool(dev.notnull().any()) else math.nan, math.nan,
        key="ll_recomputed_deviation", quantity="max |LL from stored parameters - stored LL|",
        method="ln Z re-enumerated from the stored final W, a, b (fvbm: J, a)", exact=0.0,
        exact_label="0 (same parameters)"))
    return rows


def divergence_onset(ds: xr.Dataset, code: int = 1) -> tuple[float, float]:
    """Learning rate where training starts to diverge for method ``code`` (default cd).

    At the smallest k (and the largest H, the first batch), the geometric mean of the largest
    ``lr`` below which every cell has a diverged fraction < 1/2 and the next ``lr``; the error is
    half the gap. ``(nan, nan)`` if no cell (or every cell) diverged.
    """
    ds = load(ds)
    sub = select_method(ds, code)
    sel = {}
    for d in axes_of(sub):
        if d == "lr":
            continue
        vals = sub[d].values
        sel[d] = vals.max() if d == "H" else vals.min() if d == "k" else vals[0]
    frac = diverged_fraction(sub.sel(sel) if sel else sub)
    lrs = frac["lr"].values.astype(float)
    bad = frac.values >= 0.5
    if not bad.any() or bad[0]:
        return math.nan, math.nan
    i = int(np.argmax(bad))
    lo, hi = lrs[i - 1], lrs[i]
    return float(math.sqrt(lo * hi)), float((hi - lo) / 2)


def propose_divergence(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Refinement proposer: new ``lr`` values around the CD divergence onset."""
    centre, err = divergence_onset(ds)
    if not math.isfinite(centre):
        raise ValueError("no divergence onset inside the lr range (need a diverged cell above "
                         "a non-diverged one for cd at the smallest k)")
    return "lr", centre, err
