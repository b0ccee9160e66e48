"""What a model shows: its figures, its report estimates and its refinement targets.

The presentation contract. A model names its presentation lazily, as a ``"module:attribute"``
string in :attr:`statmech.models.base.Model.presentation` (so that workers, which import the
model, never import matplotlib or the analysis code). The attribute is a :class:`Presentation`.
Every field is optional; what a model leaves out gets a generic fallback:

* ``figures(ds) -> {file stem: Figure}`` — the standard figures (``statmech plot``,
  ``sweep --plots``, the report). Fallback: every scalar variable against every axis, replica
  mean with its standard error (:mod:`statmech.plots.generic`).
* ``estimates(ds) -> list[Estimate]`` — the report's estimate rows, each an
  :class:`statmech.analysis.estimate.Estimate` with a ``key``, a ``quantity`` label and, where
  theory has one, an ``exact`` reference (the report shows z-scores). Fallback: none.
* ``report_figures(ds) -> {stem: Figure}`` — figures shown in the report only (e.g. a
  finite-size-scaling fit). Fallback: none.
* ``refine`` — ``{target name: proposer}``; a proposer ``(ds, k) -> (axis, centre, error)``
  says where ``statmech refine --near NAME`` adds ``k`` new axis values. Fallback: no targets
  (``refine`` then says so and names the targets other models have).

:func:`presentation_of` resolves a model name to its :class:`Presentation`. This module
imports nothing of plots, report or analysis: those import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

    from statmech.analysis.estimate import Estimate

Figures = Callable[["xr.Dataset"], dict[str, "Figure"]]
Estimates = Callable[["xr.Dataset"], list["Estimate"]]
Proposer = Callable[["xr.Dataset", int], tuple[str, float, float]]
"""(dataset, k) -> (axis name, centre, standard error of the centre)"""


@dataclass(frozen=True)
class Presentation:
    """A model's figures, report estimates and refinement targets (all optional)."""

    figures: Figures | None = None
    estimates: Estimates | None = None
    report_figures: Figures | None = None
    refine: Mapping[str, Proposer] = field(default_factory=dict)


GENERIC = Presentation()


def presentation_of(model_name: str) -> Presentation:
    """The presentation a model declares, or :data:`GENERIC` (all fallbacks) if none."""
    from statmech.models import get_model

    target = type(get_model(model_name)).presentation
    if not target:
        return GENERIC
    module, _, attr = target.partition(":")
    found = getattr(import_module(module), attr)
    if not isinstance(found, Presentation):
        raise TypeError(f"{target} (presentation of model {model_name!r}) is not a Presentation")
    return found
