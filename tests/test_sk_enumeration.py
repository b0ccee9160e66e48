"""Exact enumeration of the SK model against plain-numpy brute force, symmetries and theory.

Energies are exact integers on the EPS grid, so comparisons are equalities. The annealed count
is compared with the exact finite-N formula within 4 standard errors (never widened).
"""

from __future__ import annotations

import numpy as np
import pytest

from statmech.config import ConfigError, parse_config
from statmech.models.sk.kernels import (
    EPS,
    code_to_spins,
    draw_couplings,
    energy_units,
    enumerate_sk,
    field_units,
    spins_to_code,
)
from statmech.models.sk.model import SK, SKSettings
from statmech.seeding import unit_seed
from statmech.theory import sk as theory

Z_MAX = 4.0


def assert_same(r, b: dict) -> None:
    assert r.E0 == b["E0"]
    assert r.degeneracy == b["degeneracy"]
    assert r.n_stable == b["n_stable"]
    assert r.n_marginal == b["n_marginal"]
    assert np.array_equal(r.hist, b["hist"])
    assert (r.below, r.above) == (b["below"], b["above"])
    assert int(r.minima_code[0]) == b["gs_code"]
    assert r.gap_minima == b["gap_minima"]
    assert r.gap_flip == b["gap_flip"]
    assert not r.capped


def test_gaussian_couplings_against_brute_force() -> None:
    """400 random samples, N = 2 ... 12, four fields: every result exactly equal."""
    rng = np.random.default_rng(20260118)
    fields = (0.0, 0.3, -0.45, 1.1)
    for trial in range(400):
        n = 2 + trial % 11
        jq = draw_couplings(n, rng)
        bq = field_units(fields[trial % 4])
        r = enumerate_sk(jq, bq, max_minima=2**n)
        b = theory.brute_force(jq, bq)
        assert_same(r, b)
        assert r.e0 == b["E0"] * EPS / n
        assert energy_units(jq, bq, r.ground_state) == r.E0


@pytest.mark.parametrize("n", [14, 16])
def test_larger_n_against_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    for B in (0.0, 0.2):
        jq = draw_couplings(n, rng)
        r = enumerate_sk(jq, field_units(B), e_min=-0.9, e_max=-0.2, bins=7)
        assert_same(r, theory.brute_force(jq, field_units(B), e_min=-0.9, e_max=-0.2, bins=7))


def test_pm_j_couplings_degeneracies_and_tolerance() -> None:
    """+-J couplings: massive exact degeneracies, zero fields and tolerance windows."""
    rng = np.random.default_rng(7)
    unit = 2**20
    seen_marginal = seen_degenerate = 0
    for trial in range(300):
        n = 3 + trial % 9
        a = np.triu(rng.choice([-unit, unit], size=(n, n)), 1)
        jq = a + a.T
        bq = (0, unit, -2 * unit)[trial % 3]
        tol = (0, 2 * unit, 5 * unit)[(trial // 3) % 3]
        r = enumerate_sk(jq, bq, tol_units=tol, max_minima=2**n, e_min=-2.0, e_max=1.0,
                         bins=12)
        b = theory.brute_force(jq, bq, tol_units=tol, e_min=-2.0, e_max=1.0, bins=12)
        assert_same(r, b)
        seen_marginal += r.n_marginal > 0
        seen_degenerate += r.degeneracy > 2
    assert seen_marginal > 50 and seen_degenerate > 50  # the hard cases were exercised


def test_degeneracy_cap_is_flagged() -> None:
    n, unit = 8, 2**20
    jq = np.zeros((n, n), dtype=np.int64)  # all 256 states degenerate, all marginal
    jq[0, 1] = jq[1, 0] = unit
    r = enumerate_sk(jq, 0, max_minima=8)
    assert r.capped and r.degeneracy == 8
    full = enumerate_sk(jq, 0, max_minima=512)
    assert full.degeneracy == 128 and not full.capped  # s_0 = s_1: 2^7 ground states


def test_field_reversal_symmetry() -> None:
    """B -> -B with s -> -s: same spectrum, same counts, reversed ground state."""
    rng = np.random.default_rng(3)
    for n in (5, 9, 14, 17):
        jq = draw_couplings(n, rng)
        bq = field_units(0.37)
        plus, minus = enumerate_sk(jq, bq), enumerate_sk(jq, -bq)
        assert plus.E0 == minus.E0
        assert plus.n_stable == minus.n_stable
        assert np.array_equal(plus.hist, minus.hist)
        assert np.array_equal(plus.ground_state, -minus.ground_state)
        assert plus.ground_state.sum() >= 0  # B > 0 favours up spins in the ground state


def test_gauge_and_permutation_invariance() -> None:
    """J_ij -> t_i t_j J_ij (B = 0) and relabelling spins leave everything but the state."""
    rng = np.random.default_rng(4)
    for n in (6, 11, 18):
        jq = draw_couplings(n, rng)
        ref = enumerate_sk(jq, 0)
        t = rng.choice([-1, 1], size=n)
        gauged = enumerate_sk(jq * np.outer(t, t), 0)
        perm = rng.permutation(n)
        permuted = enumerate_sk(jq[np.ix_(perm, perm)], 0)
        for other in (gauged, permuted):
            assert other.E0 == ref.E0 and other.n_stable == ref.n_stable
            assert other.degeneracy == ref.degeneracy
            assert np.array_equal(other.hist, ref.hist)
        gs = gauged.ground_state * t
        assert energy_units(jq, 0, gs) == ref.E0
        assert set(map(int, (spins_to_code(gs), spins_to_code(-gs)))) == {
            int(c) for c in ref.minima_code[:2]}


def test_coupling_sign_reversal_maps_ground_state_to_highest_state() -> None:
    """At B = 0, H(s; -J) = -H(s; J): the ground state of -J is the highest state of J."""
    rng = np.random.default_rng(5)
    for n in (4, 8, 12):
        jq = draw_couplings(n, rng)
        assert enumerate_sk(-jq, 0).E0 == -theory.brute_force(jq, 0)["E_max"]


def test_strong_field_ground_state_is_all_up() -> None:
    n = 12
    jq = draw_couplings(n, np.random.default_rng(6))
    r = enumerate_sk(jq, field_units(20.0))
    assert np.all(r.ground_state == 1)
    assert r.E0 == -int(jq.sum()) // 2 - field_units(20.0) * n
    assert r.degeneracy == 1


def test_codes_round_trip() -> None:
    s = np.array([1, -1, -1, 1, -1], dtype=np.int8)
    assert spins_to_code(s) == 0b10110
    assert np.array_equal(code_to_spins(0b10110, 5), s)


@pytest.mark.parametrize(("n", "B", "samples"), [(6, 0.0, 3000), (9, 0.0, 2000), (12, 0.0, 1500),
                                                 (10, 0.3, 2000)])
def test_mean_number_of_stable_states_against_exact_formula(n: int, B: float,
                                                            samples: int) -> None:
    """Sample mean of N_s over independent couplings vs the exact finite-N <N_s>."""
    rng = np.random.default_rng(1000 + n)
    counts = np.array([enumerate_sk(draw_couplings(n, rng), field_units(B)).n_stable
                       for _ in range(samples)], dtype=float)
    exact = theory.mean_stable_states(n, B)
    err = counts.std(ddof=1) / np.sqrt(samples)
    z = (counts.mean() - exact) / err
    assert abs(z) < Z_MAX, (counts.mean(), err, exact, z)


def test_model_run_uses_the_unit_stream_and_pads() -> None:
    model = SK()
    settings = SKSettings(max_n=16)
    point = {"N": 10, "B": 0.2}
    out = model.run(point, settings, unit_seed(9, "sk", point, 3))
    jq, bq = model.couplings(point, unit_seed(9, "sk", point, 3))
    b = theory.brute_force(jq, bq)
    assert out["e0"] == b["E0"] * EPS / 10
    assert out["n_stable"] == b["n_stable"] and out["degeneracy"] == b["degeneracy"]
    assert out["ground_state"].shape == (16,) and np.all(out["ground_state"][10:] == 0)
    assert spins_to_code(out["ground_state"][:10]) == b["gs_code"]
    other = model.run(point, settings, unit_seed(9, "sk", point, 4))
    assert other["e0"] != out["e0"]  # another sample, other couplings


def _config(settings: str, axes: str = "N: [8, 12]") -> str:
    return f"""
model: sk
axes: {{{axes}}}
settings: {{{settings}}}
replicas: 2
seed: 1
store: /tmp/never-created.zarr
"""


def test_enumeration_above_the_limit_is_refused_before_compute() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config("method: enumeration, max_n: 30", "N: [20, 34]"))
    text = str(info.value)
    assert "N=34" in text and "settings.max_n = 30" in text and "max_n <= 40" in text
    with pytest.raises(ConfigError) as info:
        parse_config(_config("method: enumeration, max_n: 44"))
    assert "settings.max_n" in str(info.value) and "2 <= max_n <= 40" in str(info.value)
    parse_config(_config("method: search, max_n: 44", "N: [20, 44]"))  # fine for search


@pytest.mark.parametrize(("settings", "where"), [
    ("e_min: 0.0, e_max: -1.0", "settings.e_max"),
    ("runs: 2, agree: 3", "settings.agree"),
    ("temperatures: [1.0, 0.5]", "settings.temperatures"),
    ("temperatures: {min: 0.2, max: 1.5}", "settings.temperatures"),
    ("ground_state_tolerance: -1", "settings.ground_state_tolerance"),
    ("colour: red", "settings.colour"),
])
def test_bad_settings_name_the_field(settings: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config(settings))
    assert where in str(info.value)


def test_field_out_of_range_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config("", "N: [8], B: [0.0, 31.0]"))
    assert "|B| must be <= 30" in str(info.value)


def test_ladder_mapping_is_geometric() -> None:
    s = SKSettings(method="search", temperatures={"min": 0.2, "max": 1.6, "num": 4})
    assert s.temperatures == pytest.approx((0.2, 0.4, 0.8, 1.6))
    assert s.max_n == 1024 and SKSettings().max_n == 30


def test_shipped_configs_are_valid() -> None:
    from pathlib import Path

    from statmech.config import load_config
    from statmech.grid import Grid

    root = Path(__file__).resolve().parent.parent / "configs"
    quick = load_config(root / "sk-counting-quick.yaml")
    assert quick.axes["N"].tolist() == list(range(8, 21, 2)) and quick.replicas >= 200
    full = load_config(root / "sk-counting.yaml")
    assert full.axes["N"].tolist() == list(range(8, 29, 2)) and full.replicas >= 200
    grid = Grid(quick.axes, quick.fixed, quick.replicas)
    assert sum(quick.model.cost(grid.point(u[0]), quick.settings) for u in grid.units()) < 60
    overlaps = load_config(root / "sk-overlaps.yaml")
    temps = overlaps.settings.temperatures
    assert overlaps.model.name == "sk-overlap" and min(temps) < 0.5 and max(temps) > 1.5
