"""What a ``dense-hopfield`` store shows: retrieval and capacity figures, K_c and slope rows.

Figures: :func:`statmech.plots.dense_hopfield.figures`; report rows:
:func:`statmech.analysis.dense_hopfield.estimates` (K_c per (N, n); the log-log slope of K_c(N)
per n against n - 1; the measured one-step error against the exact convolution); refinement
target ``capacity`` (alpha around the least certain P_ret = 1/2 crossing).
"""

from __future__ import annotations

from statmech.analysis.dense_hopfield import capacity_proposer, estimates
from statmech.plots.dense_hopfield import figures
from statmech.presentation import Presentation

PRESENTATION = Presentation(figures=figures, estimates=estimates,
                            refine={"capacity": capacity_proposer})
