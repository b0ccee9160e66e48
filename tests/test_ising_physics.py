"""Monte Carlo against exact results, with honest statistics.

Fixed seeds; error bars from binning (primary moments) and block jackknife (C, chi, U4);
every comparison must hold within 4 standard errors (never widened to pass).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from statmech.models.ising.kernels import (
    bond_sum_2d,
    flip_thresholds,
    join_2d,
    sample_states_2d,
    simulate_2d,
    split_2d,
)
from statmech.models.ising.model import Ising1D, Ising2D, IsingSettings
from statmech.seeding import unit_seed
from statmech.theory import ising as ex

Z_MAX = 4.0
SETTINGS = IsingSettings(thermalization=2000, sweeps=400_000)


def assert_within(result: dict, exact: dict, names: tuple[str, ...]) -> None:
    for name in names:
        got, err = float(result[name]), float(result[f"{name}_err"])
        assert err > 0, name
        z = (got - exact[name]) / err
        assert abs(z) < Z_MAX, (
            f"{name}: {got:.6f} ± {err:.6f} vs exact {exact[name]:.6f} (z={z:.1f})")


@pytest.mark.parametrize("algorithm", ["metropolis", "heatbath"])
@pytest.mark.parametrize("B", [0.0, 0.3])
@pytest.mark.parametrize("T", [1.8, ex.TC_2D, 3.2])
def test_l4_against_exact_enumeration(algorithm: str, B: float, T: float) -> None:
    settings = SETTINGS.model_copy(update={"algorithm": algorithm})
    point = {"L": 4, "T": T, "B": B}
    res = Ising2D().run(point, settings, unit_seed(11, "ising2d", point, 0))
    exact = ex.moments(ex.dos_2d(4), T, B)
    names = ("e", "abs_m", "m2", "C", "e2", "m4", "chi", "U4")
    if B != 0:
        names += ("m",)
    assert_within(res, exact, names)
    assert 0 < float(res["acceptance"]) < 1


@pytest.mark.parametrize("algorithm", ["metropolis", "heatbath"])
@pytest.mark.parametrize(("T", "B"), [(0.8, 0.2), (1.5, 0.0), (3.0, -0.4)])
def test_chain_against_exact(algorithm: str, T: float, B: float) -> None:
    settings = SETTINGS.model_copy(update={"algorithm": algorithm})
    point = {"N": 16, "T": T, "B": B}
    res = Ising1D().run(point, settings, unit_seed(5, "ising1d", point, 0))
    assert_within(res, ex.moments(ex.dos_chain(16), T, B),
                  ("e", "abs_m", "m", "m2", "C", "chi", "U4"))


def test_long_chain_against_transfer_matrix() -> None:
    point = {"N": 1000, "T": 1.2, "B": 0.3}
    settings = IsingSettings(thermalization=1000, sweeps=20_000)
    res = Ising1D().run(point, settings, unit_seed(5, "ising1d", point, 0))
    exact = {"e": float(ex.chain_energy(1.2, 0.3)), "m": float(ex.chain_magnetization(1.2, 0.3))}
    assert_within(res, exact, ("e", "m"))


def test_l16_energy_and_heat_against_kaufman() -> None:
    point = {"L": 16, "T": 2.4, "B": 0.0}
    settings = IsingSettings(thermalization=2000, sweeps=200_000)
    res = Ising2D().run(point, settings, unit_seed(3, "ising2d", point, 0))
    e, c = ex.kaufman_energy_heat(16, 2.4)
    assert_within(res, {"e": e, "C": c}, ("e", "C"))


@pytest.mark.parametrize("algorithm", ["metropolis", "heatbath"])
def test_detailed_balance_l2_state_histogram(algorithm: str) -> None:
    """Visited-state histogram of the 16 states of a 2 x 2 lattice vs Boltzmann weights."""
    L, T, B = 2, 2.5, 0.3
    rng = np.random.default_rng(0)
    a, b = split_2d(rng.choice(np.array([-1, 1], dtype=np.int8), size=(L, L)))
    thr = flip_thresholds(T, B, 4, algorithm)
    codes = sample_states_2d(a, b, thr, np.uint64(12345), 100, 200_000, 5)
    counts = np.bincount(codes, minlength=16)
    bits = (np.arange(16)[:, None] >> np.arange(4)) & 1
    spins = (2 * bits - 1).reshape(16, 2, 2)
    energy = np.array([-bond_sum_2d(s) - B * s.sum() for s in spins])
    w = np.exp(-energy / T)
    expected = w / w.sum() * codes.size
    chi2 = ((counts - expected) ** 2 / expected).sum()
    p = sps.chi2.sf(chi2, df=15)
    assert p > 1e-3, (chi2, counts, expected.round())


@pytest.mark.parametrize("algorithm", ["metropolis", "heatbath"])
def test_detailed_balance_l4_energy_magnetisation_histogram(algorithm: str) -> None:
    """(E, M) histogram of the 4 x 4 lattice against the exact density of states."""
    L, T, B = 4, 2.6, 0.15
    rng = np.random.default_rng(1)
    a, b = split_2d(rng.choice(np.array([-1, 1], dtype=np.int8), size=(L, L)))
    thr = flip_thresholds(T, B, 4, algorithm)
    codes = sample_states_2d(a, b, thr, np.uint64(777), 500, 100_000, 10)
    bits = (codes[:, None] >> np.arange(16)) & 1
    spins = (2 * bits - 1).reshape(-1, 4, 4)
    bonds = ((spins * np.roll(spins, -1, 1)).sum((1, 2))
             + (spins * np.roll(spins, -1, 2)).sum((1, 2)))
    mags = spins.sum((1, 2))
    dos = ex.dos_2d(4)
    logw = dos.log_count + (dos.bonds + B * dos.mags) / T
    p = np.exp(logw - logw.max())
    p /= p.sum()
    index = {(int(x), int(y)): i for i, (x, y) in enumerate(zip(dos.bonds, dos.mags, strict=True))}
    observed = np.bincount([index[(int(x), int(y))] for x, y in zip(bonds, mags, strict=True)],
                           minlength=len(p))
    expected = p * codes.size
    keep = expected >= 5
    chi2 = (((observed - expected) ** 2 / expected)[keep]).sum() + (
        (observed[~keep].sum() - expected[~keep].sum()) ** 2 / max(expected[~keep].sum(), 1e-9))
    dof = int(keep.sum())
    assert sps.chi2.sf(chi2, df=dof) > 1e-3, (chi2, dof)


def test_tracked_sums_equal_recomputed_lattice_sums() -> None:
    L = 12
    rng = np.random.default_rng(2)
    a, b = split_2d(rng.choice(np.array([-1, 1], dtype=np.int8), size=(L, L)))
    thr = flip_thresholds(2.2, 0.1, 4, "metropolis")
    bonds, mags, acc = simulate_2d(a, b, thr, np.uint64(9), 3, 50, 1)
    full = join_2d(a, b)
    assert bonds[-1] == bond_sum_2d(full)
    assert mags[-1] == full.sum()
    assert 0 < acc < 50 * L * L


def test_kernel_streams_are_reproducible_and_distinct() -> None:
    L = 8
    s0 = np.random.default_rng(4).choice(np.array([-1, 1], dtype=np.int8), size=(L, L))
    thr = flip_thresholds(2.5, 0.0, 4, "heatbath")
    runs = []
    for key in (1, 1, 2):
        a, b = split_2d(s0)
        runs.append(simulate_2d(a, b, thr, np.uint64(key), 0, 100, 1)[0])
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_cold_start_low_temperature_stays_ordered() -> None:
    settings = IsingSettings(thermalization=0, sweeps=640, start="cold")
    res = Ising2D().run({"L": 16, "T": 0.5, "B": 0.0}, settings, np.random.SeedSequence(0))
    assert float(res["m"]) > 0.999
    assert float(res["e"]) == pytest.approx(-2.0, abs=1e-3)


@pytest.mark.parametrize("T", [1.8, ex.TC_2D, 3.2])
def test_wolff_l4_against_exact_enumeration(T: float) -> None:
    settings = IsingSettings(algorithm="wolff", thermalization=1000, sweeps=200_000)
    point = {"L": 4, "T": T, "B": 0.0}
    res = Ising2D().run(point, settings, unit_seed(13, "ising2d", point, 0))
    exact = ex.moments(ex.dos_2d(4), T, 0.0)
    assert_within(res, exact, ("e", "abs_m", "m2", "C", "m4", "chi", "U4"))
    assert_within(res, {"m2_cluster": exact["m2"]}, ("m2_cluster",))
    if T > 2.0:  # at and above Tc the improved estimator is the more precise one
        assert float(res["m2_cluster_err"]) < float(res["m2_err"])


def test_wolff_l32_at_tc_against_kaufman() -> None:
    settings = IsingSettings(algorithm="wolff", thermalization=500, sweeps=40_000)
    point = {"L": 32, "T": ex.TC_2D, "B": 0.0}
    res = Ising2D().run(point, settings, unit_seed(14, "ising2d", point, 0))
    e, c = ex.kaufman_energy_heat(32, ex.TC_2D)
    assert_within(res, {"e": e, "C": c}, ("e", "C"))
    assert float(res["tau_abs_m"]) < 5  # no critical slowing down to speak of


def test_wolff_is_refused_in_a_field_and_on_the_chain() -> None:
    from statmech.config import ConfigError, parse_config

    base = """
model: {model}
axes: {{{size}: [8], T: [2.0]}}
fixed: {{B: {B}}}
settings: {{algorithm: wolff, thermalization: 100, sweeps: 1000}}
seed: 1
store: x.zarr
"""
    with pytest.raises(ConfigError, match="B = 0 only"):
        parse_config(base.format(model="ising2d", size="L", B=0.1))
    with pytest.raises(ConfigError, match="ising2d only"):
        parse_config(base.format(model="ising1d", size="N", B=0.0))
    parse_config(base.format(model="ising2d", size="L", B=0.0))


@pytest.mark.parametrize("T", [2.0, 3.0])
def test_multispin_kernel_against_kaufman(T: float) -> None:
    settings = IsingSettings(algorithm="metropolis-msc", thermalization=2000, sweeps=20_000)
    point = {"L": 128, "T": T, "B": 0.0}
    res = Ising2D().run(point, settings, unit_seed(21, "ising2d", point, 0))
    e, c = ex.kaufman_energy_heat(128, T)
    assert_within(res, {"e": e, "C": c}, ("e", "C"))


def test_multispin_kernel_matches_the_scalar_kernel_statistically() -> None:
    point = {"L": 128, "T": 2.35, "B": 0.0}
    results = {}
    for algorithm in ("metropolis", "metropolis-msc"):
        settings = IsingSettings(algorithm=algorithm, thermalization=5000, sweeps=40_000)
        results[algorithm] = Ising2D().run(point, settings, unit_seed(22, "ising2d", point, 0))
    a, b = results["metropolis"], results["metropolis-msc"]
    for name in ("e", "abs_m", "m2", "U4", "acceptance"):
        if name == "acceptance":  # same Metropolis rule: the same acceptance rate
            assert abs(float(a[name]) - float(b[name])) < 2e-3
            continue
        err = np.hypot(float(a[f"{name}_err"]), float(b[f"{name}_err"]))
        assert abs(float(a[name]) - float(b[name])) < Z_MAX * err, name


def test_multispin_acceptance_bits_have_the_right_probability() -> None:
    """From the ordered lattice (every spin in class n = 0, flipping with p8 = exp(-8/T)):
    nothing flips at T = 0.05 (p8 = e^-160); at T = 1 flips appear at a small rate."""
    from statmech.models.ising.msc import pack, probability_masks, simulate_msc, unpack

    L = 128
    for T, expected in ((1.0, None), (0.05, 0.0)):
        a8, b8 = split_2d(np.ones((L, L), dtype=np.int8))
        a, b = pack(a8), pack(b8)
        _, mags, acc = simulate_msc(a, b, probability_masks(np.exp(-4 / T)),
                                    probability_masks(np.exp(-8 / T)), np.uint64(5), 0, 200, 1)
        rate = acc / (200 * L * L)
        if expected is not None:  # ordered lattice, p8 = e^-160: nothing ever flips
            assert rate == expected and mags[-1] == L * L
        else:  # from the ordered state at T = 1 flips happen at rate ~ p8 = e^-8 first
            assert 0 < rate < 0.01
        assert np.array_equal(unpack(pack(unpack(a))), unpack(a))


def test_multispin_is_refused_where_it_does_not_apply() -> None:
    from statmech.config import ConfigError, parse_config

    base = """
model: ising2d
axes: {{L: [{L}], T: [2.0]}}
fixed: {{B: {B}}}
settings: {{algorithm: metropolis-msc, sweeps: 1000}}
seed: 1
store: x.zarr
"""
    with pytest.raises(ConfigError, match="multiple of 128"):
        parse_config(base.format(L=64, B=0.0))
    with pytest.raises(ConfigError, match="B = 0 only"):
        parse_config(base.format(L=128, B=0.2))
    parse_config(base.format(L=256, B=0.0))
