"""Derived quantities over a stored sweep: averages over replicas with errors.

Every function takes an opened dataset (``statmech.store.open_dataset(store)`` or
``xr.open_zarr``) and returns xarray objects.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import xarray as xr


def mean_with_error(x: xr.DataArray, dim: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean of ``x`` over ``dim`` (NaNs skipped) and its standard error.

    The error is the spread of the independent values, ``std(ddof=1) / sqrt(n)`` with ``n``
    the number of non-NaN values; NaN where ``n < 2``. The one mean-with-error helper of the
    analysis modules (replicas, disorder samples, pattern sets).
    """
    n = x.notnull().sum(dim)
    mean = x.mean(dim)
    err = x.std(dim, ddof=1) / np.sqrt(n)
    return mean.compute(), err.where(n > 1).compute()


def replica_mean(ds: xr.Dataset, name: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean of ``name`` over the replica dimension and its standard error.

    Units that are not done are ignored. When ``<name>_err`` is stored (the per-replica
    binning or jackknife error) the error of the mean is ``sqrt(sum err_r^2) / n``, which is
    sharp even for two replicas; otherwise it is the spread of the replicas,
    ``std(ddof=1) / sqrt(n)``.
    """
    rep = ds.attrs.get("replica_dim", "replica")
    x = ds[name].where(ds["done"])
    mean, err = mean_with_error(x, rep)
    if f"{name}_err" in ds:
        n = x.notnull().sum(rep)
        # numpy's stubs type a ufunc of a DataArray as an ndarray; xarray returns a DataArray
        root = cast(xr.DataArray, np.sqrt((ds[f"{name}_err"].where(ds["done"]) ** 2).sum(rep)))
        err = (root / n).where(n > 0)
    mean.attrs = dict(ds[name].attrs)
    err.attrs = {"long_name": f"standard error of {name}", "units": ds[name].attrs.get("units")}
    return mean, err.compute()


def sorted_by_axes(ds: xr.Dataset) -> xr.Dataset:
    """The dataset with every axis coordinate sorted (extended stores append at the end)."""
    rep = ds.attrs.get("replica_dim", "replica")
    axes = [d for d in ds["done"].dims if d != rep]
    return ds.sortby(axes)
