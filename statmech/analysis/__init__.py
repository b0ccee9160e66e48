"""Derived quantities over stored sweeps, one module per model plus shared helpers.

Every function takes an opened dataset (``statmech.store.open_dataset(store)`` or
``xr.open_zarr``) and returns xarray objects with errors, or
:class:`~statmech.analysis.estimate.Estimate` objects (a fit: a
:class:`~statmech.analysis.estimate.FitResult` of them). Reference values come from
:mod:`statmech.theory`; analysis never imports plots or the report.
"""

from statmech.analysis.common import mean_with_error, replica_mean, sorted_by_axes
from statmech.analysis.estimate import Estimate, FitResult

__all__ = ["Estimate", "FitResult", "mean_with_error", "replica_mean", "sorted_by_axes"]
