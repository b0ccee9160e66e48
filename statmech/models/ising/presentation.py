"""What an Ising store shows: figures, report estimates and refinement targets.

Reached lazily through ``Ising2D.presentation`` / ``Ising1D.presentation`` (workers, which
import the model, never import this module, matplotlib or the analysis code).

Estimates (2D lattice only, at B = 0): Tc from the U4 crossing of every pair of successive
sizes, Tc from the shift of the chi and C peaks, gamma/nu from chi_max ~ L^(gamma/nu) and the
slope of C_max = a + b ln L, each against its exact value from :mod:`statmech.theory.ising`.
Refinement targets: ``binder-crossing`` and ``chi-peak`` (new temperatures).
"""

from __future__ import annotations

from typing import Any

import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import ising as an
from statmech.analysis.estimate import Estimate
from statmech.plots import ising as plots
from statmech.presentation import Presentation
from statmech.theory import ising as exact

Selection = dict[str, float]

_cache: list[tuple[xr.Dataset, Selection | None, dict[str, Any]]] = []


def _summary(ds: xr.Dataset, sel: Selection | None) -> dict[str, Any]:
    """:func:`statmech.analysis.ising.summary`, computed once for estimates and figures."""
    for cached, csel, s in _cache:
        if cached is ds and csel == sel:
            return s
    s = an.summary(ds, sel)
    _cache[:] = [(ds, sel, s)]
    return s


def _selection(ds: xr.Dataset) -> Selection | None:
    """The B = 0 selection of a 2D store with T on an axis, else None (no estimates)."""
    sel = an.transition_selection(ds)
    if ds.attrs.get("model") != "ising2d" or sel is None or "T" not in ds.dims:
        return None
    return sel


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """The transition estimates of a 2D store against Onsager and the exact exponents."""
    sel = _selection(ds)
    if sel is None:
        return []
    s = _summary(ds, sel or None)
    rows: list[Estimate] = []
    cr = s.get("binder_crossings")
    if isinstance(cr, xr.Dataset):
        for pair, tc, err in zip(cr["pair"].values, cr["Tc"].values, cr["Tc_err"].values,
                                 strict=True):
            rows.append(Estimate(float(tc), float(err), key=f"Tc_binder_{pair}",
                                 quantity=f"Tc from U4 crossing L = {pair}",
                                 method="PCHIP crossing; parametric bootstrap",
                                 exact=exact.TC_2D, exact_label="Onsager"))
    for name in ("chi", "C"):
        fit = s.get(f"{name}_Tc_fit")
        if fit is not None:
            chi2 = f"chi2/dof = {fit.chi2:.1f}/{fit.dof}"
            note = chi2 if "nu" in fit else f"nu fixed at 1; {chi2}"
            rows.append(fit["Tc"].labelled(
                f"Tc_{name}_peak_fit", f"Tc from {name} peak shift T(L) = Tc + a L^(-1/nu)",
                note=note, exact=exact.TC_2D, exact_label="Onsager"))
    g = s.get("gamma_over_nu")
    if g is not None:
        rows.append(g["exponent"].labelled(
            "gamma_over_nu", "gamma/nu from chi_max ~ L^(gamma/nu)",
            exact=exact.GAMMA_OVER_NU_2D, exact_label="exact 7/4",
            note=f"chi2/dof = {g.chi2:.1f}/{g.dof}; "
                 "small L: corrections to scaling"))
    c = s.get("C_log_fit")
    if c is not None:
        rows.append(c["b"].labelled(
            "C_log_slope", "b in C_max = a + b ln L", exact=exact.C_PEAK_LOG_SLOPE_2D,
            exact_label="exact (2/pi) ln^2(1+sqrt 2) (Ferdinand-Fisher)",
            note=f"chi2/dof = {c.chi2:.1f}/{c.dof}"))
    return rows


def report_figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The finite-size-scaling figure (2D store at B = 0 only)."""
    sel = _selection(ds)
    if sel is None:
        return {}
    return {"finite_size_scaling": plots.fss_figure(ds, _summary(ds, sel or None), sel or None)}


def binder_crossing(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Refine T around the U4 crossing of the two largest sizes."""
    est = an.tc_estimate(ds, an.transition_selection(ds) or None)
    return "T", est.value, est.error


def chi_peak(ds: xr.Dataset, k: int) -> tuple[str, float, float]:
    """Refine T around the chi peak of the largest size."""
    pk = an.peaks(ds, "chi", an.transition_selection(ds) or None)
    return "T", float(pk["T_peak"].values[-1]), float(pk["T_peak_err"].values[-1])


PRESENTATION = Presentation(
    figures=plots.figures,
    estimates=estimates,
    report_figures=report_figures,
    refine={"binder-crossing": binder_crossing, "chi-peak": chi_peak},
)
