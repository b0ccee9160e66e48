"""Figures from stored sweeps (matplotlib, headless). One module per model.

Every figure function takes an xarray Dataset and returns a :class:`matplotlib.figure.Figure`;
:func:`figures` collects a store's standard figures and :func:`write_figures` saves them.
Each model module provides ``figures(ds) -> dict[str, Figure]`` and is listed in
:data:`FIGURES` under the model names it handles.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import xarray as xr
from matplotlib.figure import Figure

#: model name -> module (under statmech.plots) with a ``figures(ds)`` function
FIGURES: dict[str, str] = {
    "ising2d": "ising",
    "ising1d": "ising",
    "hopfield": "hopfield",
    "sk": "sk",
    "sk-overlap": "sk",
}


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """All standard figures of a store, keyed by a file stem."""
    model = ds.attrs["model"]
    if model not in FIGURES:
        raise ValueError(f"no standard figures for model {model!r}")
    make: Callable[[xr.Dataset], dict[str, Figure]] = import_module(
        f"statmech.plots.{FIGURES[model]}"
    ).figures
    return make(ds)


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
