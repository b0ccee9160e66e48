"""Simulated annealing of ``sk`` (method: anneal) against the exact ground states.

The annealing units of a sample see exactly the couplings of the enumeration unit of that
sample (same sweep seed, N, B, J0 and sample; tau and the settings do not enter), so the
residual energy e_final - e0 is exact, in integers of EPS.
"""

from __future__ import annotations

import numpy as np
import pytest

from statmech.config import parse_config
from statmech.grid import Grid
from statmech.models.sk.kernels import EPS, energy_units
from statmech.models.sk.mc import anneal_temperature
from statmech.models.sk.model import SK, SKSettings
from statmech.seeding import unit_seed

ENUM = """
name: e
model: sk
axes: {N: [7, 12], J0: [0.0, 0.8]}
fixed: {B: 0.1}
replicas: 3
seed: 5
store: /tmp/e.zarr
settings: {max_n: 12, e_bins: 4}
"""
ANNEAL = """
name: a
model: sk
axes: {N: [7, 12], J0: [0.0, 0.8], tau: [1, 30, 400]}
fixed: {B: 0.1}
replicas: 3
seed: 5
store: /tmp/a.zarr
settings: {method: anneal, runs: 3, max_n: 12, T_start: 2.0, T_end: 0.1, schedule: geometric}
"""


def _units(text: str) -> list[tuple[dict, int, dict]]:
    sweep = parse_config(text)
    grid = Grid(axes=sweep.axes, fixed=sweep.fixed, replicas=sweep.replicas)
    out = []
    for idx, r in grid.units():
        p = grid.point(idx)
        out.append((p, r, sweep.model.run(p, sweep.settings, unit_seed(5, "sk", p, r))))
    return out


def test_annealing_sees_the_couplings_of_the_enumeration_store_and_never_beats_e0() -> None:
    enum = {(p["N"], p["J0"], r): (p, out) for p, r, out in _units(ENUM)}
    for p, r, out in _units(ANNEAL):
        p_enum, ref = enum[(p["N"], p["J0"], r)]
        assert p_enum["tau"] == 0 and p["tau"] > 0
        jq, bq = SK.couplings(p, unit_seed(5, "sk", p, r))
        jq_e, bq_e = SK.couplings(p_enum, unit_seed(5, "sk", p_enum, r))
        assert np.array_equal(jq, jq_e) and bq == bq_e
        assert out["e0"] == ref["e0"]  # the anneal's own exact reference, bitwise
        n = p["N"]
        E0 = round(float(ref["e0"]) * n / EPS)
        for k in range(3):
            s = out["final_state"][k, :n]
            assert not out["final_state"][k, n:].any() and set(np.unique(s)) <= {-1, 1}
            E = energy_units(jq, bq, s)
            assert E * EPS / n == out["e_final"][k]  # the stored energy is the exact one
            assert E >= E0
        assert out["n_found"] == sum(energy_units(jq, bq, out["final_state"][k, :n]) == E0
                                     for k in range(3))


def test_long_anneals_find_the_ground_state_and_residual_energy_falls_with_tau() -> None:
    settings = SKSettings(method="anneal", runs=4, max_n=14, T_start=3.0, T_end=0.05)
    model = SK()
    samples = 24
    residual = {}
    hit_sample = 0
    for tau in (3, 2000):
        rows = []
        for sample in range(samples):
            point = {"N": 14, "B": 0.0, "J0": 0.0, "tau": tau}
            out = model.run(point, settings, unit_seed(9, "sk", point, sample))
            rho = out["e_final"] - out["e0"]
            assert np.all(rho >= 0)
            rows.append(rho.mean())
            if tau == 2000:
                hit_sample += out["n_found"] > 0
        residual[tau] = (np.mean(rows), np.std(rows, ddof=1) / np.sqrt(samples))
    assert hit_sample >= 0.8 * samples, hit_sample  # most samples: the exact ground state
    (r_short, e_short), (r_long, e_long) = residual[3], residual[2000]
    assert r_short - r_long > 4 * np.hypot(e_short, e_long), residual


def test_schedules_start_and_end_where_asked() -> None:
    for geometric in (False, True):
        assert anneal_temperature(0, 100, 3.0, 0.1, geometric) == 3.0
        assert anneal_temperature(99, 100, 3.0, 0.1, geometric) == 0.1
        assert anneal_temperature(0, 1, 3.0, 0.1, geometric) == 0.1
    assert anneal_temperature(50, 101, 3.0, 1.0, False) == pytest.approx(2.0)
    assert anneal_temperature(50, 101, 4.0, 1.0, True) == pytest.approx(2.0)


def test_anneal_settings_and_points_are_checked() -> None:
    s = SKSettings(method="anneal")
    assert s.n_max == 30
    assert "tau >= 1" in (SK().check_point({"N": 8, "B": 0.0, "tau": 0}, s) or "")
    assert "only used with method: anneal" in (
        SK().check_point({"N": 8, "B": 0.0, "tau": 5}, SKSettings()) or "")
    with pytest.raises(ValueError, match="T_end"):
        SKSettings(method="anneal", T_start=0.5, T_end=1.0)
    with pytest.raises(ValueError, match="reference"):
        SKSettings(method="anneal", max_n=64)
    assert SKSettings(method="anneal", max_n=64, reference=False).n_max == 64
    names = {v.name for v in SK().variables(s)}
    assert names == {"e_final", "final_state", "acceptance", "e0", "n_found"}
