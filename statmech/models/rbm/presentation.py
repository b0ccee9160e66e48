"""Presentation of the ``rbm`` model: the divergence phase diagram, training curves, estimates.

Imported only by the presentation layer (never by workers).
"""

from __future__ import annotations

from statmech.analysis.rbm import estimates, propose_divergence
from statmech.plots.rbm import figures
from statmech.presentation import Presentation

PRESENTATION = Presentation(figures=figures, estimates=estimates,
                            refine={"cd-divergence": propose_divergence})
