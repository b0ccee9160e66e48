"""Analysis of SK with J0 and B (``sk-overlap``) and of simulated annealing (``sk``, anneal).

Conventions as in :mod:`statmech.models.sk.model` (J = 1, k_B = 1, energies per spin).
Disorder averages ``[x]`` are over the ``sample`` dimension (done units only) with the
standard error ``std(ddof=1)/sqrt(n)``.

Exact references for the same samples: :func:`exact_same_samples` regenerates every unit's
couplings from the store's config (seed, model, point, sample) and sums all 2^N states
(:func:`statmech.theory.sk_phase.exact_moments`). The measured disorder average and the exact
average of the *same* samples differ only by thermal noise, so their difference is compared
with the thermal error ``sqrt(sum_s err_s^2) / n`` (the disorder fluctuation cancels exactly):
a clean z-score at any N small enough to enumerate.

Annealing: the residual energy per spin ``rho = e_final - e0 >= 0`` (exact: e0 from the
enumeration of the same couplings), averaged over runs, then over samples;
:func:`residual_fit` fits ``rho = A tau^-alpha`` by weighted least squares in log-log.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from statmech.analysis.estimate import Estimate
from statmech.theory import sk_phase as theory

SAMPLE = "sample"
#: largest N for which exact references are computed (2^N states per unit and temperature)
EXACT_N_MAX = 14
#: quantities compared with the exact enumeration of the same samples
EXACT_NAMES = ("abs_m", "m2", "q2")


def _done(ds: xr.Dataset, name: str) -> xr.DataArray:
    x = ds[name]
    x = x if x.dtype.kind == "f" else x.astype(float)
    return x.where(ds["done"]) if "done" in ds else x


def disorder_average(ds: xr.Dataset, name: str) -> tuple[xr.DataArray, xr.DataArray]:
    """``([x], standard error)`` over samples (done units only)."""
    x = _done(ds, name)
    n = x.notnull().sum(SAMPLE)
    return x.mean(SAMPLE), (x.std(SAMPLE, ddof=1) / np.sqrt(n)).where(n > 1)


def parameter(ds: xr.Dataset, name: str, default: float = 0.0) -> float | xr.DataArray:
    """An axis coordinate, or the fixed value of a parameter (``default`` if absent)."""
    import json

    if name in ds.dims:
        return ds[name]
    return float(json.loads(ds.attrs.get("fixed_parameters", "{}")).get(name, default))


def axes_of(ds: xr.Dataset) -> list[str]:
    """The grid axes of the store (the dimensions of ``done`` without ``sample``)."""
    return [str(d) for d in ds["done"].dims if d != SAMPLE]


def sg_variance(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """``N [<q^2> - <q>^2]``: N times the thermal variance of the overlap, with its error.

    Large where P(q) is broad (replica symmetry broken), O(1) in the replica-symmetric phase
    at large N. Per sample ``<q>^2`` uses the measured ``<q>`` (its O(1/n_meas) bias is
    negligible next to the disorder error).
    """
    x = (_done(ds, "q2") - _done(ds, "q") ** 2) * ds["N"]
    n = x.notnull().sum(SAMPLE)
    return x.mean(SAMPLE), (x.std(SAMPLE, ddof=1) / np.sqrt(n)).where(n > 1)


# ----------------------------------------------------------------------------- exact
def exact_same_samples(
    ds: xr.Dataset, names: Sequence[str] = EXACT_NAMES, n_max: int = EXACT_N_MAX
) -> xr.Dataset:
    """Exact thermal averages of every stored sample (same couplings), N <= ``n_max``.

    Returns ``names`` with the dimensions (axes..., sample, T) of the store; NaN for units
    that are not done or have N > n_max.
    """
    from statmech.config import parse_config
    from statmech.models.sk.model import SKOverlap
    from statmech.seeding import unit_seed

    sweep = parse_config(ds.attrs["config_text"])
    axes = axes_of(ds)
    temps = ds["T"].values
    shape = [ds.sizes[a] for a in axes] + [ds.sizes[SAMPLE], temps.size]
    out = {k: np.full(shape, np.nan) for k in names}
    done = ds["done"].transpose(*axes, SAMPLE).values
    for idx in np.ndindex(*shape[:-2]):
        point = {**sweep.fixed, **{a: ds[a].values[i].item() for a, i in zip(axes, idx,
                                                                            strict=True)}}
        if int(point["N"]) > n_max:
            continue
        for s in range(shape[-2]):
            if not done[(*idx, s)]:
                continue
            jq, bq = SKOverlap.couplings(point, unit_seed(sweep.seed, sweep.model.name,
                                                          point, int(ds[SAMPLE].values[s])))
            for k, ex in enumerate(theory.exact_moments_ladder(jq, bq, temps.tolist())):
                for name in names:
                    out[name][(*idx, s, k)] = ex[name]
    dims = (*axes, SAMPLE, "T")
    coords = {d: ds[d] for d in dims}
    return xr.Dataset({k: (dims, v) for k, v in out.items()}, coords=coords)


def exact_comparison(ds: xr.Dataset, exact: xr.Dataset, name: str) -> xr.Dataset:
    """Measured ``[x]`` vs the exact average of the same samples: value, thermal error, z.

    ``err = sqrt(sum_s err_s^2) / n`` (binning errors of the samples); ``z = (value - exact) /
    err``. Dimensions: the axes and T.
    """
    x = _done(ds, name).transpose(*exact[name].dims)
    e = _done(ds, f"{name}_err").transpose(*exact[name].dims)
    ok = exact[name].notnull() & x.notnull()
    n = ok.sum(SAMPLE)
    value = x.where(ok).mean(SAMPLE)
    ref = exact[name].where(ok).mean(SAMPLE)
    err = np.sqrt((e.where(ok) ** 2).sum(SAMPLE)) / n
    return xr.Dataset({"value": value, "exact": ref, "err": err, "z": (value - ref) / err,
                       "n": n})


def _nearest(values: np.ndarray, target: float) -> float:
    return float(values[np.argmin(np.abs(values - target))])


def phase_estimates(ds: xr.Dataset, exact: xr.Dataset | None = None) -> list[Estimate]:
    """Report rows of an ``sk-overlap`` store against exact enumeration of the same samples.

    For the largest N <= :data:`EXACT_N_MAX`: ``[<|m|>]`` and ``[<q^2>]`` at every point of
    the other axes, at the lowest temperature and the one nearest T = 1; and one summary row,
    ``chi^2/dof`` over every (point, T, quantity in :data:`EXACT_NAMES`, and ``chi_sg_conn``
    when stored) (exact value 1, error sqrt(2/dof)).
    """
    if "N" not in ds.dims or "q2" not in ds or "abs_m" not in ds:
        return []
    sizes = [int(n) for n in ds["N"].values if n <= EXACT_N_MAX]
    if not sizes:
        return []
    names = (*EXACT_NAMES, "chi_sg_conn") if "chi_sg_conn" in ds else EXACT_NAMES
    exact = exact if exact is not None else exact_same_samples(ds, names)
    rows: list[Estimate] = []
    chi2, dof = 0.0, 0
    for name in names:
        cmp = exact_comparison(ds, exact, name).sel(N=sizes)
        z = cmp["z"].values
        z = z[np.isfinite(z)]
        chi2 += float((z**2).sum())
        dof += z.size
    n_top = max(sizes)
    temps = ds["T"].values
    others = [a for a in axes_of(ds) if a != "N"]
    for name, label in (("abs_m", "[<|m|>]"), ("q2", "[<q^2>]")):
        cmp = exact_comparison(ds, exact, name).sel(N=n_top)
        for T in sorted({float(temps.min()), _nearest(temps, 1.0)}):
            sub = cmp.sel(T=T)
            for idx in np.ndindex(*[sub.sizes[a] for a in others]):
                sel = {a: sub[a].values[i].item() for a, i in zip(others, idx, strict=True)}
                r = sub.isel({a: i for a, i in zip(others, idx, strict=True)})
                where = " ".join(f"{a}={v:g}" for a, v in sel.items())
                rows.append(Estimate(
                    float(r["value"]), float(r["err"]),
                    key=f"{name}_N{n_top}_T{T:g}" + "".join(f"_{a}{v:g}" for a, v in sel.items()),
                    quantity=f"{label} N={n_top} T={T:.3g} {where}".strip(),
                    method=f"Monte Carlo (PT), mean of {int(r['n'])} samples; thermal error",
                    exact=float(r["exact"]), exact_label="exact enumeration, same samples"))
    if dof:
        rows.append(Estimate(chi2 / dof, math.sqrt(2.0 / dof), key="exact_chi2_per_dof",
                             quantity=f"chi^2/dof of {', '.join(names)} vs exact, "
                                      f"N = {', '.join(map(str, sizes))}",
                             method=f"{dof} (point, T, quantity) comparisons",
                             exact=1.0, exact_label="1 (statistical agreement)"))
    return rows


# ----------------------------------------------------------------------------- annealing
def residual_energy(ds: xr.Dataset) -> xr.Dataset:
    """Residual energy per spin and ground-state hit rate of an anneal store.

    ``rho`` = ``[mean_runs(e_final - e0)]`` with ``rho_err``; ``found`` the fraction of runs
    ending in a ground state with ``found_err`` (over samples); ``found_any`` the fraction of
    samples where some run did. Dimensions: the axes (N, tau, ...).
    """
    rho = (_done(ds, "e_final") - _done(ds, "e0")).mean("run")
    runs = ds.sizes["run"]
    hit = _done(ds, "n_found") / runs
    any_hit = (_done(ds, "n_found") > 0).astype(float).where(ds["done"])
    out = {}
    for name, x in (("rho", rho), ("found", hit), ("found_any", any_hit)):
        n = x.notnull().sum(SAMPLE)
        out[name] = x.mean(SAMPLE)
        out[f"{name}_err"] = (x.std(SAMPLE, ddof=1) / np.sqrt(n)).where(n > 1)
    return xr.Dataset(out)


def residual_fit(ds: xr.Dataset, N: int, tau_min: int = 10) -> Estimate:
    """Exponent ``alpha`` of ``rho(tau) = A tau^-alpha`` at N (tau >= tau_min, rho > 0).

    Weighted least squares of ``ln rho`` on ``ln tau`` with errors ``rho_err / rho``;
    ``details`` holds ``A``, ``chi2``, ``dof`` and the tau range. ``alpha`` is an effective
    exponent over that range: at finite N rho saturates once tau finds the ground state.
    """
    r = residual_energy(ds).sel(N=N)
    tau = r["tau"].values.astype(float)
    rho, err = r["rho"].values, r["rho_err"].values
    ok = (tau >= tau_min) & (rho > 0) & np.isfinite(err) & (err > 0)
    if ok.sum() < 3:
        return Estimate(math.nan, math.nan, key=f"anneal_alpha_N{N}",
                        quantity=f"residual-energy exponent alpha, N={N}",
                        note="fewer than 3 usable tau")
    x, y, s = np.log(tau[ok]), np.log(rho[ok]), err[ok] / rho[ok]
    X = np.stack([np.ones_like(x), x], axis=1) / s[:, None]
    cov = np.linalg.inv(X.T @ X)
    a, b = cov @ X.T @ (y / s)
    chi2 = float((((y - a - b * x) / s) ** 2).sum())
    dof = int(ok.sum()) - 2
    return Estimate(float(-b), float(math.sqrt(cov[1, 1])), key=f"anneal_alpha_N{N}",
                    quantity=f"residual-energy exponent alpha (rho ~ tau^-alpha), N={N}",
                    method=f"weighted LSQ in log-log, tau = {tau[ok].min():g}..{tau[ok].max():g}"
                           f", chi2/dof = {chi2:.1f}/{dof}",
                    details={"A": math.exp(a), "chi2": chi2, "dof": dof,
                             "tau_min": float(tau[ok].min()), "tau_max": float(tau[ok].max())})


def anneal_estimates(ds: xr.Dataset) -> list[Estimate]:
    """Report rows of an anneal store: alpha per N, rho and hit rate at the longest tau."""
    if "e_final" not in ds or "e0" not in ds or "tau" not in ds.dims:
        return []
    r = residual_energy(ds)
    rows = []
    tau_max = float(ds["tau"].max())
    for n in ds["N"].values if "N" in ds.dims else []:
        n = int(n)
        rows.append(residual_fit(ds, n))
        at = r.sel(N=n, tau=tau_max)
        rows.append(Estimate(float(at["rho"]), float(at["rho_err"]),
                             key=f"anneal_rho_N{n}_tau{tau_max:g}",
                             quantity=f"residual energy per spin, N={n}, tau={tau_max:g}",
                             method="mean over runs and samples; e0 exact (enumeration)"))
        rows.append(Estimate(float(at["found"]), float(at["found_err"]),
                             key=f"anneal_found_N{n}_tau{tau_max:g}",
                             quantity=f"fraction of runs ending in a ground state, N={n}, "
                                      f"tau={tau_max:g}", method="e_final == e0 exactly"))
    return rows
