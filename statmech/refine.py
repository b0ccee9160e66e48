"""Adaptive refinement: add axis values where an estimate is least certain, compute only those.

``statmech refine STORE --near TARGET --points K`` proposes K new values of the relevant axis
around the current estimate of TARGET, writes them into the store's sweep
(the stored sweep file gets an explicit list for that axis), extends the store in place and runs
the new units only. Existing points are untouched: their seeds depend on their coordinate
values, not on the grid.

The targets are the model's: its presentation's ``refine`` mapping
(:mod:`statmech.presentation`), e.g. ``binder-crossing`` and ``chi-peak`` for the Ising
models, ``capacity`` for Hopfield. A model without targets cannot be refined (a
:class:`NoTarget` error saying so).

Where the new values go: K values equally spaced over the estimate ± 2 standard errors, but
at least over the grid interval that brackets the estimate (a crossing or a peak is interpolated
between its neighbouring grid points, which is where the interpolation is least constrained),
never closer than 1e-6 to an existing value.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
import yaml

from statmech.config import Sweep, parse_config
from statmech.presentation import Proposer
from statmech.presentation import presentation_of as _presentation_of


class NoTarget(ValueError):
    """The store's model has no refinement target of that name (or none at all)."""


def targets(model: str) -> dict[str, Proposer]:
    """The refinement targets of a model: ``{name: proposer}`` (empty if it has none)."""
    try:
        return dict(_presentation_of(model).refine)
    except KeyError:
        return {}


def proposer(model: str, near: str) -> Proposer:
    """The proposer of target ``near`` of ``model`` (:class:`NoTarget` if there is none)."""
    found = targets(model)
    if near in found:
        return found[near]
    if not found:
        raise NoTarget(f"model {model!r} has no refinement targets (its presentation "
                       f"declares none): nothing to refine near {near!r}")
    raise NoTarget(f"model {model!r} has no refinement target {near!r}; its targets are "
                   f"{', '.join(sorted(found))}")


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
    axis, center, error = proposer(str(ds.attrs["model"]), near)(ds, k)
    existing = ds[axis].values
    added = new_values(existing, center, error, k)
    raw = yaml.safe_load(ds.attrs["config_text"])
    raw["axes"][axis] = sorted(float(v) for v in [*existing.tolist(), *added])
    text = yaml.safe_dump(raw, sort_keys=False)
    return parse_config(text).with_overrides(store=store), added
