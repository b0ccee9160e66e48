"""Adaptive refinement: add axis values where an estimate is least certain, compute only those.

``statmech refine STORE --near binder-crossing|chi-peak|capacity --points K`` proposes K new
values of the relevant axis around the current estimate, writes them into the store's sweep
(the stored sweep file gets an explicit list for that axis), extends the store in place and runs
the new units only. Existing points are untouched: their seeds depend on their coordinate
values, not on the grid.

Where the new values go: K values equally spaced over the estimate ± 2 standard errors, but
at least over the grid interval that brackets the estimate (a crossing or a peak is interpolated
between its neighbouring grid points, which is where the interpolation is least constrained),
never closer than 1e-6 to an existing value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr
import yaml

from statmech.config import Sweep, parse_config

Proposer = Callable[[xr.Dataset, int], tuple[str, float, float]]
"""(dataset, K) -> (axis name, estimate, standard error)"""


def _binder(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    from statmech.analysis import ising

    est = ising.tc_estimate(ds, ising._report_selection(ds) or None)
    return "T", est.value, est.error


def _chi_peak(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    from statmech.analysis import ising

    pk = ising.peaks(ds, "chi", ising._report_selection(ds) or None)
    return "T", float(pk["T_peak"].values[-1]), float(pk["T_peak_err"].values[-1])


def _capacity(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Around alpha_c of the size (or other axis value) whose estimate is least certain."""
    from statmech.analysis import hopfield

    est = hopfield.alpha_c_estimates(ds, n_boot=300)
    err = est["alpha_c_err"].values.ravel()
    val = est["alpha_c"].values.ravel()
    ok = np.isfinite(err) & np.isfinite(val)
    if not ok.any():
        raise ValueError("the retrieval probability crosses 1/2 at no swept alpha")
    i = int(np.argmax(np.where(ok, err, -np.inf)))
    return "alpha", float(val[i]), float(err[i])


PROPOSERS: dict[str, Proposer] = {
    "binder-crossing": _binder,
    "chi-peak": _chi_peak,
    "capacity": _capacity,
}


def new_values(existing: np.ndarray, center: float, error: float, k: int) -> list[float]:
    """K new axis values around ``center`` (see the module docstring)."""
    grid = np.sort(np.asarray(existing, dtype=float))
    lo, hi = center - 2 * error, center + 2 * error
    below, above = grid[grid <= center], grid[grid >= center]
    if below.size and above.size:  # widen to the bracketing grid interval
        lo, hi = min(lo, below[-1]), max(hi, above[0])
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        raise ValueError(f"cannot place points around {center} ± {error}")
    candidates = np.linspace(lo, hi, k + 2)[1:-1]
    out: list[float] = []
    for c in candidates:
        v = float(f"{c:.6g}")
        if np.min(np.abs(grid - v)) > 1e-6 and v not in out:
            out.append(v)
    return out


def refined_sweep(ds: xr.Dataset, store: str, near: str, k: int) -> tuple[Sweep, list[float]]:
    """The store's sweep with K new values on the refined axis, and those values."""
    if near not in PROPOSERS:
        raise ValueError(f"--near must be one of {', '.join(PROPOSERS)}; got {near!r}")
    axis, center, error = PROPOSERS[near](ds, k)
    existing = ds[axis].values
    added = new_values(existing, center, error, k)
    raw = yaml.safe_load(ds.attrs["config_text"])
    raw["axes"][axis] = sorted(float(v) for v in [*existing.tolist(), *added])
    text = yaml.safe_dump(raw, sort_keys=False)
    return parse_config(text).with_overrides(store=store), added
