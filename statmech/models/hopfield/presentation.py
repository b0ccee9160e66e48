"""What a Hopfield store shows: figures, capacity estimates and the ``capacity`` target.

Reached lazily through ``Hopfield.presentation``. Estimates: alpha_c(N) where the retrieval
probability crosses 1/2 (per value of the other axes) and, with two or more sizes, its
extrapolation alpha_c(N -> inf) against the AGS replica-symmetric value
(:func:`statmech.theory.hopfield.ags_critical`). Refinement target ``capacity``: new loads
around the alpha_c whose estimate is least certain.

Annealing stores (``dynamics: anneal``) show the outcome figure
(:func:`statmech.plots.hopfield.anneal_figure`) and the outcome fractions at the longest and
shortest tau (:func:`statmech.analysis.hopfield.anneal_estimates`) instead; ``capacity`` is not
defined for them.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statmech.analysis import hopfield as an
from statmech.analysis.estimate import Estimate
from statmech.plots import hopfield as plots
from statmech.presentation import Presentation
from statmech.theory.hopfield import ags_critical


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """alpha_c per value of the other axes and alpha_c(N -> inf) against AGS.

    Annealing stores: the outcome fractions (:func:`statmech.analysis.hopfield.anneal_estimates`).
    """
    if "m_top" in ds:
        return an.anneal_estimates(ds)
    if "alpha" not in ds.dims:
        return []
    ags = ags_critical().alpha_c
    est, fit = an.capacity_summary(ds)
    others = list(est.dims)
    flat_c = est["alpha_c"].values.ravel()
    flat_e = est["alpha_c_err"].values.ravel()
    rows = []
    method = f"P(m > {an.RETRIEVAL_THRESHOLD:g}) = 1/2 after an isotonic fit; bootstrap"
    for i, combo in enumerate(np.ndindex(*[est.sizes[d] for d in others])):
        label = ", ".join(f"{d}={est[d].values[j]:g}" for d, j in zip(others, combo, strict=True))
        key = "alpha_c" + "".join(f"_{d}{est[d].values[j]:g}"
                                  for d, j in zip(others, combo, strict=True))
        rows.append(Estimate(
            float(flat_c[i]), float(flat_e[i]), key=key,
            quantity=f"alpha_c ({label or 'all'}): P(m > {an.RETRIEVAL_THRESHOLD:g}) = 1/2",
            method=method, note=f"finite N, above the AGS N = inf value {ags:.4f} as expected"))
    if fit is not None:
        rows.append(fit["alpha_inf"].labelled(
            "alpha_c_inf", f"alpha_c(N -> inf), fit alpha_inf + a N^-{fit.fixed['omega']:g}",
            exact=ags, exact_label="AGS", note=f"chi2/dof = {fit.chi2:.1f}/{fit.dof}"))
    return rows


def capacity(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Around alpha_c of the size (or other axis value) whose estimate is least certain."""
    if "m_top" in ds:
        raise ValueError("an annealing store has no capacity estimate (it stores no retrieval "
                         "from a pattern): refine it by adding tau or alpha values by hand")
    est = an.alpha_c_estimates(ds, n_boot=300)
    err = est["alpha_c_err"].values.ravel()
    val = est["alpha_c"].values.ravel()
    ok = np.isfinite(err) & np.isfinite(val)
    if not ok.any():
        raise ValueError("the retrieval probability crosses 1/2 at no swept alpha")
    i = int(np.argmax(np.where(ok, err, -np.inf)))
    return "alpha", float(val[i]), float(err[i])


PRESENTATION = Presentation(figures=plots.figures, estimates=estimates,
                            refine={"capacity": capacity})
