"""Derived quantities over stored sweeps, one module per model plus shared helpers.

Every function takes an opened dataset (``statmech.store.open_dataset(store)`` or
``xr.open_zarr``) and returns xarray objects
with errors.
"""

from statmech.analysis.common import replica_mean, sorted_by_axes

__all__ = ["replica_mean", "sorted_by_axes"]
