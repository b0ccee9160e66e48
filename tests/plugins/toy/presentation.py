"""What a ``toy`` store shows: generic figures, one estimate and one refinement target."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statmech.analysis.common import replica_mean, sorted_by_axes
from statmech.analysis.estimate import Estimate
from statmech.presentation import Presentation


def _exact(ds: xr.Dataset) -> xr.DataArray:
    """tanh(B/T) on the store's grid (B an axis or fixed)."""
    fixed = json.loads(ds.attrs.get("fixed_parameters", "{}"))
    B = ds["B"] if "B" in ds.dims else float(fixed.get("B", 0.0))
    return xr.DataArray(np.tanh(B / ds["T"]))


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """Weighted mean over all points of m - tanh(B/T) (exactly 0)."""
    ds = sorted_by_axes(ds)
    mean, err = replica_mean(ds, "m")
    d = (mean - _exact(ds)).values.ravel()
    w = 1.0 / err.values.ravel() ** 2
    ok = np.isfinite(d) & np.isfinite(w)
    value = float(np.sum(w[ok] * d[ok]) / np.sum(w[ok]))
    return [Estimate(value, float(1.0 / np.sqrt(np.sum(w[ok]))), key="m_residual",
                     quantity="weighted mean of m - tanh(B/T) over all points",
                     method="inverse-variance weighted mean", exact=0.0,
                     exact_label="independent spins")]


def half_magnetisation(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Refine B around the field where m = 1/2 at the lowest temperature."""
    ds = sorted_by_axes(ds)
    mean, err = replica_mean(ds, "m")
    sub_m, sub_e = mean.isel(T=0), err.isel(T=0)
    if "N" in sub_m.dims:
        sub_m, sub_e = sub_m.isel(N=-1), sub_e.isel(N=-1)
    B, m = sub_m["B"].values, sub_m.values
    i = int(np.searchsorted(m, 0.5))
    if not 0 < i < len(B):
        raise ValueError("m crosses 1/2 at no swept B")
    slope = (m[i] - m[i - 1]) / (B[i] - B[i - 1])
    centre = B[i - 1] + (0.5 - m[i - 1]) / slope
    return "B", float(centre), float(max(sub_e.values[i - 1], sub_e.values[i]) / abs(slope))


PRESENTATION = Presentation(estimates=estimates, refine={"half-magnetisation": half_magnetisation})
