"""Figures from stored sweeps (matplotlib, headless).

Every figure function takes an xarray Dataset and returns a :class:`matplotlib.figure.Figure`;
:func:`figures` collects a store's standard figures and :func:`write_figures` saves them.

Which figures: the ones the store's model declares in its presentation
(:func:`statmech.presentation.presentation_of`, e.g. :mod:`statmech.models.ising.presentation`
draws with :mod:`statmech.plots.ising`); a model without figures — any plug-in model, or a store
whose model is not installed here — gets the generic ones (:mod:`statmech.plots.generic`: every
scalar variable against every axis with error bars). When a model's own figures cannot be drawn
for the store's axes (they raise ``ValueError``, e.g. Ising plots without T on an axis), the
generic figures are drawn instead and the reason is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import xarray as xr
from matplotlib.figure import Figure

from statmech.presentation import GENERIC, Presentation, presentation_of

log = logging.getLogger(__name__)


def presentation_for(ds: xr.Dataset) -> Presentation:
    """The presentation of the store's model (:data:`GENERIC` if the model is not installed)."""
    try:
        return presentation_of(str(ds.attrs["model"]))
    except KeyError:
        return GENERIC


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """All standard figures of a store, keyed by a file stem."""
    from statmech.plots import generic

    make = presentation_for(ds).figures
    if make is None:
        return generic.figures(ds)
    try:
        return make(ds)
    except ValueError as exc:
        log.warning("the figures of model %s do not fit this store (%s): generic figures",
                    ds.attrs.get("model"), exc)
        return generic.figures(ds)


def write_figures(
    ds: xr.Dataset, out: str | Path, formats: tuple[str, ...] = ("png",)
) -> list[Path]:
    """Write :func:`figures` to the folder ``out`` (PNG by default); returns the paths."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in figures(ds).items():
        for fmt in formats:
            path = folder / f"{stem}.{fmt}"
            fig.savefig(path, dpi=120)
            paths.append(path)
        plt.close(fig)
    return paths
