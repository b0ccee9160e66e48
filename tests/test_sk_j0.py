"""SK with a ferromagnetic coupling mean J0: bitwise compatibility at J0 = 0, exact averages.

* J0 = 0 (absent, or given as 0) reproduces the numbers of the code before J0 existed: the
  digests below were computed on ``main`` before the change (the same configs, the same unit
  seeds, the variables that existed then).
* ``sk-overlap`` thermal moments (q and the new m, |m|, m^2, m^4) equal the exact enumeration
  averages of the same couplings within 4 binning errors at J0 in {0.5, 1.5}, B in {0, 0.3}.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from statmech.config import parse_config
from statmech.grid import Grid
from statmech.models.sk.kernels import EPS, draw_couplings
from statmech.models.sk.model import SK, SKOverlap, SKOverlapSettings
from statmech.seeding import point_key, unit_seed
from statmech.theory import sk as theory

Z_MAX = 4.0

# configs and digests of the unit values computed on main (commit 46b0f22) before J0 existed
BEFORE_J0 = {
    "sk": ("""
name: ref
model: sk
axes: {N: [5, 8], B: [0.0, 0.3]}
replicas: 2
seed: 11
store: /tmp/x.zarr
settings: {max_n: 8, e_bins: 10}
""", ["degeneracy", "degeneracy_capped", "e0", "gap_flip", "gap_minima", "ground_state",
      "n_marginal", "n_stable", "ns_above", "ns_below", "ns_hist"],
        "79a071f73b5871da4d362134bbdc3374890a1d8efc96586786143aeee3ebdb20"),
    "sk-search": ("""
name: ref
model: sk
axes: {N: [6]}
replicas: 2
seed: 12
store: /tmp/x.zarr
settings: {method: search, max_n: 8, runs: 2, sweeps: 50, quenches: 20, e_bins: 10,
           temperatures: [0.5, 1.0]}
""", ["e0", "flip_rate", "ground_state", "n_hits", "quench_chao1", "quench_distinct",
      "quench_e_mean", "quench_e_min", "quench_hist", "quench_hit_fraction", "quench_stable",
      "run_e0", "run_hit_sweep", "success", "swap_rate"],
        "56f1686d6ccb933ac6b9d5f52c25e2993f89ad3ad9a3b5215d328c36958ba0e8"),
    "sk-overlap": ("""
name: ref
model: sk-overlap
axes: {N: [5, 7], B: [0.0, 0.3]}
replicas: 2
seed: 13
store: /tmp/x.zarr
settings: {temperatures: [0.5, 1.0], thermalization: 20, sweeps: 400, every: 5, max_n: 8}
""", ["abs_q", "abs_q_err", "acceptance", "e", "e_err", "m", "m_err", "pq", "q2", "q2_err",
      "q4", "q4_err", "swap_rate", "tau_q2"],
        "f3fed7926bc47af6af5699555b1a21337b6e5e8281867665eb273f506d5b85ef"),
}


def _digest(text: str, keys: list[str]) -> str:
    """SHA-256 of every unit's values (in grid order), as the runner computes them."""
    sweep = parse_config(text)
    grid = Grid(axes=sweep.axes, fixed=sweep.fixed, replicas=sweep.replicas)
    h = hashlib.sha256()
    for idx, r in grid.units():
        point = grid.point(idx)
        out = sweep.model.run(point, sweep.settings,
                              unit_seed(sweep.seed, sweep.model.name, point, r))
        for k in sorted(out):
            if k in keys:
                h.update(k.encode())
                h.update(np.ascontiguousarray(np.asarray(out[k])).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(BEFORE_J0))
@pytest.mark.parametrize("j0", [None, "fixed", "axis"])
def test_j0_zero_reproduces_the_stores_made_before_j0(name: str, j0: str | None) -> None:
    text, keys, digest = BEFORE_J0[name]
    if j0 == "fixed":
        text = text.replace("settings:", "fixed: {J0: 0}\nsettings:")
    elif j0 == "axis":
        text = text.replace("axes: {", "axes: {J0: [0.0], ")
    sweep = parse_config(text)
    assert "J0" in sweep.fixed or "J0" in sweep.axes  # the default enters the point ...
    assert _digest(text, keys) == digest  # ... but not the seed


def test_seed_key_omits_j0_and_tau_only_at_their_default() -> None:
    base = {"N": 8, "B": 0.0}
    assert point_key("sk", {**base, "J0": 0.0, "tau": 0}) == point_key("sk", base)
    assert point_key("sk-overlap", {**base, "J0": -0.0}) == point_key("sk-overlap", base)
    assert point_key("sk", {**base, "J0": 0.5}) != point_key("sk", base)
    assert point_key("sk", {**base, "tau": 10}) != point_key("sk", base)
    # models without such parameters hash every value, as before
    assert "J0" in point_key("ising2d", {"L": 8, "T": 2.0, "J0": 0.0})


def test_j0_shifts_the_couplings_by_j0_over_n_before_one_rounding() -> None:
    n, J0 = 9, 1.5
    a = draw_couplings(n, np.random.default_rng(3))
    b = draw_couplings(n, np.random.default_rng(3), J0)
    off = ~np.eye(n, dtype=bool)
    assert b.dtype == np.int64 and np.array_equal(b, b.T) and not np.diag(b).any()
    assert np.abs(b[off] - a[off] - J0 / n / EPS).max() <= 1.0
    # the mean of J_ij over many samples is J0/N: (J0/N) * N = J0 within 4 standard errors
    rng = np.random.default_rng(4)
    j = np.concatenate([draw_couplings(n, rng, J0)[np.triu_indices(n, 1)] * EPS
                        for _ in range(300)])
    assert abs(j.mean() * n - J0) < Z_MAX * j.std() * n / np.sqrt(j.size)


TEMPS = (0.4, 0.7, 1.0, 1.5, 2.2)


@pytest.mark.parametrize(("n", "J0", "B", "sample"), [(8, 0.5, 0.0, 0), (8, 1.5, 0.0, 1),
                                                      (10, 0.5, 0.3, 2), (10, 1.5, 0.3, 3),
                                                      (6, 1.5, 0.0, 4)])
def test_overlap_and_magnetisation_moments_against_exact_enumeration(
    n: int, J0: float, B: float, sample: int
) -> None:
    settings = SKOverlapSettings(temperatures=TEMPS, algorithm="pt", thermalization=2000,
                                 sweeps=60_000, every=2, max_n=16)
    point = {"N": n, "B": B, "J0": J0}
    model = SKOverlap()
    out = model.run(point, settings, unit_seed(29, "sk-overlap", point, sample))
    jq, bq = model.couplings(point, unit_seed(29, "sk-overlap", point, sample))
    for k, T in enumerate(TEMPS):
        exact = theory.exact_thermal(jq, bq, T)
        for name in ("q2", "q4", "abs_q", "q", "e", "m", "abs_m", "m2", "m4"):
            got, err = float(out[name][k]), float(out[f"{name}_err"][k])
            assert err > 0, (name, T)
            z = (got - exact[name]) / err
            assert abs(z) < Z_MAX, (
                f"N={n} J0={J0} B={B} T={T} {name}: {got:.5f} ± {err:.5f} vs exact "
                f"{exact[name]:.5f} (z={z:+.1f})")


def test_ground_state_magnetisation_is_stored() -> None:
    from statmech.models.sk.model import SKSettings

    settings = SKSettings(max_n=10, e_bins=4)
    for J0 in (0.0, 3.0):
        point = {"N": 10, "B": 0.0, "J0": J0}
        out = SK().run(point, settings, unit_seed(1, "sk", point, 0))
        s = out["ground_state"][:10].astype(int)
        assert out["gs_abs_m"] == abs(s.sum()) / 10
        jq, bq = SK.couplings(point, unit_seed(1, "sk", point, 0))
        brute = theory.brute_force(jq, bq, bins=4)
        assert int(brute["gs_code"]) == int(((s < 0) * (1 << np.arange(10))).sum())
    assert out["gs_abs_m"] == 1.0  # J0 = 3 >> 1: the ground state is ferromagnetic


@pytest.mark.parametrize(("n", "J0", "B", "sample"), [(8, 0.5, 0.3, 0), (7, 1.5, 0.0, 1)])
def test_connected_susceptibility_with_four_replicas(n: int, J0: float, B: float,
                                                     sample: int) -> None:
    """4 replicas: chi_sg_conn = sum_ij (<s_i s_j> - <s_i><s_j>)^2 / N against exact
    enumeration; replicas 1 and 2 and every other variable bitwise those of the 2-replica run."""
    from statmech.theory.sk_phase import exact_moments_ladder

    temps = (0.5, 0.9, 1.5)
    two_settings = SKOverlapSettings(temperatures=temps, thermalization=2000, sweeps=40_000,
                                     every=2, max_n=16)
    four_settings = SKOverlapSettings(temperatures=temps, thermalization=2000, sweeps=40_000,
                                      every=2, max_n=16, connected=True)
    point = {"N": n, "B": B, "J0": J0}
    model = SKOverlap()
    two = model.run(point, two_settings, unit_seed(31, "sk-overlap", point, sample))
    four = model.run(point, four_settings, unit_seed(31, "sk-overlap", point, sample))
    assert set(four) == set(two) | {"chi_sg_conn", "chi_sg_conn_err"}
    for k in two:
        assert np.array_equal(two[k], four[k], equal_nan=True), k
    jq, bq = model.couplings(point, unit_seed(31, "sk-overlap", point, sample))
    exact = [ex["chi_sg_conn"] for ex in exact_moments_ladder(jq, bq, list(temps))]
    z = (four["chi_sg_conn"] - exact) / four["chi_sg_conn_err"]
    assert np.all(four["chi_sg_conn_err"] > 0) and np.all(np.abs(z) < Z_MAX), (
        four["chi_sg_conn"], four["chi_sg_conn_err"], exact, z)
