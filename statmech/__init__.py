"""statmech: distributed parameter sweeps of statistical-mechanics models.

A sweep file (YAML) names a model and a grid; :func:`statmech.config.load_config` validates it,
:mod:`flows.sweep` runs it on Dask through Prefect and :mod:`statmech.store` keeps every finished
unit on disk in a self-describing zarr store.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("statmech")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"


class StatmechWarning(UserWarning):
    """Warnings raised by statmech itself (turned into errors in the test suite)."""
