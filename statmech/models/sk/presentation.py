"""What an SK store (``sk`` or ``sk-overlap``) shows: figures and report estimates.

Reached lazily through ``SK.presentation`` and ``SKOverlap.presentation``.

Figures: the standard SK figures (:func:`statmech.plots.sk.figures`: ground-state energy,
complexity, overlaps, Binder ratio) and the J0 / field / annealing figures of
:func:`statmech.plots.sk_phase.figures` ((J0, T) phase map, (T, B) map with the AT line,
residual energy of simulated annealing). Annealing stores show only the latter.

Besides the estimates below: for ``sk-overlap`` stores with N <= 14 the disorder averages
against exact enumeration of the same samples
(:func:`statmech.analysis.sk_phase.phase_estimates`); for annealing stores the residual-energy
exponent, residual energy and hit rate at the longest tau
(:func:`statmech.analysis.sk_phase.anneal_estimates`).

``sk`` estimates (three or more sizes on the N axis): the ground-state energy extrapolated
to N -> inf against Parisi's value, and the annealed and quenched complexities of single-flip
stable states (fit a + c/N) against the annealed value at B = 0.

``sk-overlap`` estimates, per size: the equilibrium identity
``[e] + (1 - [q^2]) / 2T + B [m] = 0`` at the lowest temperature (the hardest to equilibrate;
exact reference 0, so the z-score is an equilibration check), and ``N [<q^2>]`` at the highest
temperature above T_c = 1 against the paramagnetic limit ``1 / (1 - 1/T^2)`` (B = 0 only; an
N = inf value, so finite-N corrections show as a drift with N). No refinement targets.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech.analysis import sk as an
from statmech.analysis import sk_phase
from statmech.analysis.estimate import Estimate
from statmech.plots import sk as plots
from statmech.plots import sk_phase as phase_plots
from statmech.presentation import Presentation
from statmech.theory import sk as theory


def _sk_estimates(ds: xr.Dataset) -> list[Estimate]:
    if "N" not in ds.dims or ds.sizes["N"] < 3:
        return []
    rows = list(an.extrapolate_e0(ds))
    if "n_stable" in ds:
        for kind in ("annealed", "quenched"):
            for fit in an.extrapolate_complexity(ds, kind):
                if fit.details["selection"].get("B", 0.0) != 0.0:
                    continue
                rows.append(fit.labelled(
                    f"complexity_{kind}", fit.quantity,
                    note="quenched and annealed agree to leading order"
                    if kind == "quenched" else ""))
    return rows


def _overlap_estimates(ds: xr.Dataset) -> list[Estimate]:
    if "T" not in ds.dims:
        return []
    ds = an.in_memory(ds)
    others = {str(d): ds[d].values[0] for d in ds["done"].dims
              if d not in ("N", "T", an.SAMPLE)}
    sizes = np.atleast_1d(an.parameter(ds, "N").values)
    B = float(np.ravel(an.parameter(ds, "B").values)[0]) if "B" not in ds.dims \
        else float(others["B"])
    where = "".join(f", {k} = {v:g}" for k, v in others.items())
    chk = an.energy_overlap_check(ds)
    q2, q2_err = an.disorder_mean(ds, "q2")
    t_lo, t_hi = float(ds["T"].min()), float(ds["T"].max())
    rows: list[Estimate] = []
    for n in sizes:
        sel: dict[str, object] = {**others, **({"N": n} if "N" in ds.dims else {})}
        c = chk.sel(sel).sel(T=t_lo)
        rows.append(Estimate(
            float(c["delta"]), float(c["err"]), key=f"identity_N{n}_T{t_lo:g}",
            quantity=f"[e] + (1 - [q^2])/2T + B[m] at N = {n}, T = {t_lo:g}{where}",
            method="disorder average of the per-sample identity", exact=0.0,
            exact_label="equilibrium identity (Gaussian J)",
            note="positive: replicas not equilibrated"))
        if B == 0.0 and t_hi > theory.TC:
            q = q2.sel(sel).sel(T=t_hi)
            e = q2_err.sel(sel).sel(T=t_hi)
            rows.append(Estimate(
                float(n * q), float(n * e), key=f"chi_sg_N{n}_T{t_hi:g}",
                quantity=f"N [<q^2>] at N = {n}, T = {t_hi:g}{where}",
                method="disorder average over samples",
                exact=float(theory.paramagnet_sg_susceptibility(t_hi)),
                exact_label="paramagnet 1/(1 - 1/T^2), N = inf",
                note="finite-N corrections of order 1/N"))
    return rows


def estimates(ds: xr.Dataset) -> list[Estimate]:
    """The report estimates of an ``sk`` or ``sk-overlap`` store (see the module docstring)."""
    ds = an.in_memory(ds)
    if ds.attrs.get("model") == "sk-overlap":
        return _overlap_estimates(ds) + sk_phase.phase_estimates(ds)
    if ds.attrs.get("model") == "sk":
        if "e_final" in ds:  # simulated annealing
            return sk_phase.anneal_estimates(ds)
        return _sk_estimates(ds)
    return []


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """Standard SK figures plus the J0 / AT / annealing figures the store supports."""
    ds = an.in_memory(ds)
    out: dict[str, Figure] = {}
    if "e_final" not in ds:  # annealing stores have none of the enumeration variables
        out.update(plots.figures(ds))
    out.update(phase_plots.figures(ds))
    return out


PRESENTATION = Presentation(figures=figures, estimates=estimates)
