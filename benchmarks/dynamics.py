"""Critical slowing down at Tc: Metropolis vs Wolff, L = 16 ... 128 (2D Ising, one thread).

Autocorrelation times and the cost per independent sample at B = 0, T = Tc.

tau_int of |m| and e in sweeps (a Wolff sweep is the fixed number of clusters that flips about
N spins), the dynamic exponent z from a fit tau ~ L^z, and the cost of one independent sample,
2 tau_int(|m|) x (seconds per sweep). The ratio column is Metropolis cost / Wolff cost at the
same L. The physics check is the energy at Tc against Kaufman's exact finite-L value.
"""

from __future__ import annotations

import time

import numpy as np

from statmech.models.ising.model import Ising2D, IsingSettings
from statmech.seeding import unit_seed
from statmech.theory.ising import TC_2D, kaufman_energy_heat

SWEEPS = {  # measurement sweeps per size (about 1000 tau for Metropolis)
    "metropolis": {16: 200_000, 32: 400_000, 64: 1_000_000, 128: 2_000_000},
    "wolff": {16: 20_000, 32: 20_000, 64: 20_000, 128: 20_000},
}


def run(quick: bool = False) -> list[dict]:
    model = Ising2D()
    sizes = (16, 32) if quick else (16, 32, 64, 128)
    rows, taus, costs = [], {}, {}
    for algorithm in ("metropolis", "wolff"):
        for L in sizes:
            sweeps = SWEEPS[algorithm][L] // (10 if quick else 1)
            settings = IsingSettings(algorithm=algorithm, thermalization=max(2000, sweeps // 20),
                                     sweeps=sweeps)
            point = {"L": L, "T": TC_2D, "B": 0.0}
            model.warmup(settings)
            t0 = time.perf_counter()
            res = model.run(point, settings, unit_seed(1, "ising2d", point, 0))
            per_sweep = (time.perf_counter() - t0) / (settings.thermalization + sweeps)
            # error of the stored tau: Madras-Sokal with the window W = 6 tau
            tau_m, tau_e = float(res["tau_abs_m"]), float(res["tau_e"])
            err_m = tau_m * np.sqrt(2 * (2 * 6 * tau_m + 1) / sweeps)
            e_exact = kaufman_energy_heat(L, TC_2D)[0]
            z = (float(res["e"]) - e_exact) / float(res["e_err"])
            cost = 2 * tau_m * per_sweep
            if algorithm == "wolff":
                spins = float(res["clusters_per_sweep"]) * float(res["cluster_fraction"]) * L * L
                rows.append({
                    "benchmark": "wolff cluster growth, 1 thread", "case": f"L={L}, T=Tc",
                    "value": per_sweep / spins * 1e9, "unit": "ns per spin added",
                    "ratio": None,
                    "check": f"<|C|>/N = {float(res['cluster_fraction']):.3f}; measurement pass "
                             "of every sweep included"})
            taus[(algorithm, L)] = (tau_m, err_m)
            costs[(algorithm, L)] = cost
            rows.append({
                "benchmark": f"tau_int at Tc, {algorithm}", "case": f"L={L}",
                "value": tau_m, "unit": "sweeps (|m|)", "ratio": None,
                "check": f"tau(|m|)={tau_m:.3g}±{err_m:.2g}, tau(e)={tau_e:.3g}; "
                         f"{per_sweep * 1e6:.3g} us/sweep, {cost * 1e3:.3g} ms per independent "
                         f"sample; e={float(res['e']):.5f} vs Kaufman {e_exact:.5f} (z={z:+.1f})",
                "ok": abs(z) < 5,
            })
    for algorithm in ("metropolis", "wolff"):
        L = np.array(sizes, dtype=float)
        t = np.array([taus[(algorithm, n)][0] for n in sizes])
        e = np.array([taus[(algorithm, n)][1] for n in sizes])
        w = 1 / (e / t) ** 2
        zfit, cov = np.polyfit(np.log(L), np.log(t), 1, w=np.sqrt(w), cov="unscaled") \
            if len(sizes) > 2 else (np.polyfit(np.log(L), np.log(t), 1), np.zeros((2, 2)))
        zerr = float(np.sqrt(cov[0, 0])) if len(sizes) > 2 else float("nan")
        rows.append({
            "benchmark": f"dynamic exponent z, {algorithm}", "case": f"L={sizes[0]}..{sizes[-1]}",
            "value": float(zfit[0]), "unit": "z (tau ~ L^z)", "ratio": None,
            "check": f"z = {zfit[0]:.2f} ± {zerr:.2f}"
                     + (" (literature 2.17)" if algorithm == "metropolis" else
                        " (literature: 0.25 in these units)"),
        })
    for L in sizes:
        rows.append({
            "benchmark": "cost per independent sample at Tc", "case": f"L={L}",
            "value": costs[("wolff", L)] * 1e3, "unit": "ms (Wolff)",
            "ratio": costs[("metropolis", L)] / costs[("wolff", L)],
            "check": f"Metropolis {costs[('metropolis', L)] * 1e3:.3g} ms",
        })
    return rows
