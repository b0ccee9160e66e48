"""What ``sk`` and ``sk-overlap`` stores show: figures and report estimates.

Figures: the standard SK figures (:func:`statmech.plots.sk.figures`: ground-state energy,
complexity, overlaps, Binder ratio) and the J0 / field / annealing figures of
:func:`statmech.plots.sk_phase.figures` ((J0, T) phase map, (T, B) map with the AT line,
residual energy of simulated annealing). Annealing stores show only the latter.

Estimates: for ``sk-overlap`` stores with N <= 14 the disorder averages against exact
enumeration of the same samples (:func:`statmech.analysis.sk_phase.phase_estimates`); for
annealing stores the residual-energy exponent, residual energy and hit rate at the longest
tau (:func:`statmech.analysis.sk_phase.anneal_estimates`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from statmech.presentation import Presentation

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

    from statmech.analysis.estimate import Estimate


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """Standard SK figures plus the J0 / AT / annealing figures the store supports."""
    from statmech.analysis.sk import in_memory
    from statmech.plots import sk, sk_phase

    ds = in_memory(ds)
    out: dict[str, Figure] = {}
    if "e_final" not in ds:  # annealing stores have none of the enumeration variables
        out.update(sk.figures(ds))
    out.update(sk_phase.figures(ds))
    return out


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """Report rows: exact-enumeration comparisons (sk-overlap) or annealing results (sk)."""
    from statmech.analysis import sk_phase
    from statmech.analysis.sk import in_memory

    ds = in_memory(ds)
    if ds.attrs.get("model") == "sk-overlap":
        return sk_phase.phase_estimates(ds)
    return sk_phase.anneal_estimates(ds)


PRESENTATION = Presentation(figures=figures, estimates=estimates)
