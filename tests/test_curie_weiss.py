"""Curie-Weiss model: the kernels' exactness and every protocol against exact references.

Equilibrium observables against the exact finite-N partition sums (statmech.theory.curie_weiss),
the M histogram against P(M), escape times against the exact birth-death first-passage mean,
hysteresis symmetry and closure; the certified block kernel against the plain chain, bitwise.
Tolerances: 4 standard errors (binning/jackknife errors combined over replicas, or the replica
spread for escape times and ramps). Seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from statmech.models import get_model
from statmech.models.curie_weiss import kernels
from statmech.models.curie_weiss.kernels import (
    BLOCK,
    BLOCK_MIN_N,
    NO_STOP,
    advance,
    first_passage,
    simulate,
    threshold_table,
)
from statmech.models.curie_weiss.model import CurieWeissSettings
from statmech.models.ising.model import VARIABLES as ISING_VARIABLES
from statmech.stats import binning
from statmech.theory import curie_weiss as cw

MODEL = get_model("curie-weiss")
E = np.empty(0, dtype=np.int64)
OBSERVABLES = ("e", "e2", "m", "abs_m", "m2", "m4", "C", "chi", "U4")


def _replicas(point: dict, settings: CurieWeissSettings, R: int, seed: int) -> list[dict]:
    return [MODEL.run(point, settings, np.random.SeedSequence([seed, r])) for r in range(R)]


def _z_scores(outs: list[dict], exact: dict[str, float], names=OBSERVABLES) -> dict[str, float]:
    z = {}
    for name in names:
        v = np.array([o[name] for o in outs])
        err = np.sqrt(np.sum([o[f"{name}_err"] ** 2 for o in outs])) / len(outs)
        z[name] = (v.mean() - exact[name]) / err
    return z


def test_stored_variables_are_the_ising_set() -> None:
    s = CurieWeissSettings(sweeps=640)
    assert MODEL.variables(s) == ISING_VARIABLES
    out = MODEL.run({"N": 20, "T": 1.0, "B": 0.0}, s, np.random.SeedSequence(1))
    assert set(out) == {v.name for v in ISING_VARIABLES}
    assert {"e", "abs_m", "m", "m2", "m4", "U4", "C", "chi", "tau_e", "tau_abs_m"} <= set(out)
    ramp = CurieWeissSettings(protocol="ramp", steps=5)
    assert MODEL.extra_coords(ramp, {})["b_step"].size == 10
    assert MODEL.check_point({"N": 10, "T": 1, "B": 0.1}, ramp) is not None
    esc = CurieWeissSettings(protocol="escape")
    assert MODEL.check_point({"N": 10, "T": 1, "B": 0.1}, esc) is not None
    assert MODEL.check_point({"N": 10, "T": 1, "B": -0.1}, esc) is None


@pytest.mark.parametrize("rule", ["metropolis", "heatbath"])
@pytest.mark.parametrize("B", [0.0, 0.15])
def test_blocks_reproduce_the_plain_chain_bitwise(rule: str, B: float) -> None:
    """The certified vectorised blocks follow the attempt-by-attempt chain exactly."""
    hb = rule == "heatbath"
    for N, T in ((4096, 0.8), (20000, 1.0), (70001, 1.3)):
        Dt, Ut = threshold_table(N, 1 / T, 1.0, B, hb)
        a = simulate(N // 3, N, 1 / T, 1.0, B, hb, np.uint64(7), np.uint64(0), 2, 30, 1, E, E,
                     True)
        b = simulate(N // 3, N, 1 / T, 1.0, B, hb, np.uint64(7), np.uint64(0), 2, 30, 1, Dt,
                     Ut, False)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    for N in (4096, 70000):
        fa = first_passage(N, 1 / 0.8, 1.0, -0.1, hb, np.uint64(3), 100, E, E, True)
        fb = first_passage(N, 1 / 0.8, 1.0, -0.1, hb, np.uint64(3), 100, E, E, False)
        assert fa == fb and fa[1]


@njit
def _block_counts_both(z, t):
    """The vector block counts and a plain loop over the same attempts."""
    v = kernels._block_counts(z, t[0], t[1], t[2], t[3])
    down = up = band = 0
    for i in range(BLOCK // 2):
        w = kernels.mix64(z + np.uint64(i) * kernels.GAMMA)
        for u in (np.int64(w >> np.uint64(32)), np.int64(w & np.uint64(0xFFFFFFFF))):
            s = u - (1 << 31)  # the biased thresholds' scale
            down += s < t[0]
            up += (s > t[1]) & (s < t[2])
            band |= not ((s < t[0] or s > t[1]) and (s < t[2] or s > t[3]))
    return v, (down, up, int(band))


def test_block_counts_equal_a_plain_loop() -> None:
    """The LLVM vector code of a block counts exactly what an attempt-by-attempt loop counts."""
    rng = np.random.default_rng(0)
    lo, hi = -(1 << 31), (1 << 31) - 1
    for trial in range(3000):
        z = np.uint64(rng.integers(0, 2**63)) * np.uint64(2 if trial % 2 else 1)
        if trial % 3 == 0:  # edges: empty and full bands, extreme thresholds
            t = np.sort(rng.choice([lo, lo + 1, -1, 0, 1, hi - 1, hi], 4)).astype(np.int32)
        else:  # narrow bands somewhere, so that some blocks hit them
            c = np.sort(rng.integers(lo, hi, 2))
            w = rng.integers(0, 1 << 28, 2)
            t = np.array([c[0], min(c[0] + w[0], hi), c[1], min(c[1] + w[1], hi)], np.int32)
            t = np.sort(t)
        v, ref = _block_counts_both(z, t)
        assert v[2] == ref[2], (z, t)
        assert v[0] == ref[0] and (ref[2] or v[1] == ref[1]), (z, t, v, ref)


@pytest.mark.parametrize("rule", ["metropolis", "heatbath"])
def test_block_path_is_the_plain_chain_over_long_runs(rule: str) -> None:
    """Blocks equal the plain chain bit for bit: hundreds of sweeps where many blocks are replayed.

    N just above BLOCK_MIN_N near Tc and at small N the uncertain bands are hit in ~10-60 % of
    the blocks (replayed attempt by attempt); also B != 0, the window clipped at k = 0 and k = N,
    odd counters and partial blocks (``advance`` with odd step counts) and the stop state.
    """
    hb = rule == "heatbath"
    key = np.uint64(0xC0FFEE)
    for N, T, B, k0, sweeps in (
        (BLOCK_MIN_N, 1.0, 0.0, BLOCK_MIN_N // 2, 300),
        (BLOCK_MIN_N + 1, 0.97, 0.01, BLOCK_MIN_N // 3, 300),
        (5000, 1.05, -0.02, 2500, 1000),
        (BLOCK_MIN_N, 0.5, 0.4, BLOCK_MIN_N, 100),  # k ~ N
        (BLOCK_MIN_N, 0.5, -0.4, 0, 100),  # k ~ 0
        (300_007, 4.0, 0.2, 1, 20),
    ):
        beta = 1 / T
        Dt, Ut = threshold_table(N, beta, 1.0, B, hb)
        a = simulate(k0, N, beta, 1.0, B, hb, key, np.uint64(3), 0, sweeps, 1, E, E, True)
        b = simulate(k0, N, beta, 1.0, B, hb, key, np.uint64(3), 0, sweeps, 1, Dt, Ut, False)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:], (N, T, B)
        # partial blocks and odd counters; then stop as soon as k <= N/2 - 100 (escape path)
        sa = sb = (k0, np.uint64(1), 0, 0)
        for i, stop in enumerate([NO_STOP] * 20 + [N // 2 - 100] * 20):
            n_steps = 4 * BLOCK * (i + 1) + i
            sa = advance(sa[0], N, beta, 1.0, B, hb, key, sa[1], n_steps, E, E, stop, True)
            sb = advance(sb[0], N, beta, 1.0, B, hb, key, sb[1], n_steps, Dt, Ut, stop, False)
            assert sa == sb, (N, T, B, i)
    for N, T, B in ((BLOCK_MIN_N, 0.8, -0.07), (BLOCK_MIN_N + 3, 0.7, -0.2), (200_000, 0.9, -0.1)):
        Dt, Ut = threshold_table(N, 1 / T, 1.0, B, hb)
        fa = first_passage(N, 1 / T, 1.0, B, hb, key, 400, E, E, True)
        fb = first_passage(N, 1 / T, 1.0, B, hb, key, 400, Dt, Ut, False)
        assert fa == fb and fa[1], (N, T, B)


@pytest.mark.parametrize("rule", ["metropolis", "heatbath"])
@pytest.mark.parametrize(("N", "T", "B"), [
    (16, 0.6, 0.0), (16, 1.0, 0.0), (64, 1.0, 0.0), (64, 1.4, 0.0), (64, 0.8, 0.1),
    (200, 1.2, -0.05), (200, 0.9, 0.05),
])
def test_equilibrium_matches_exact_finite_n(rule: str, N: int, T: float, B: float) -> None:
    s = CurieWeissSettings(rule=rule, thermalization=500, sweeps=20000)
    outs = _replicas({"N": N, "T": T, "B": B}, s, 4, seed=N * 1000 + int(100 * T))
    z = _z_scores(outs, cw.finite_moments(N, T, B))
    bad = {k: round(v, 2) for k, v in z.items() if not abs(v) < 4}
    assert not bad, f"|z| >= 4 at N={N} T={T} B={B} {rule}: {bad}"
    acc = np.mean([o["acceptance"] for o in outs])
    assert 0 < acc < 1
    assert all(o["tau_abs_m"] >= 0.5 for o in outs)


def test_global_flip_restores_symmetry_below_tc() -> None:
    """N = 2000, T = 0.8, B = 0: no tunnelling in the run; with global flips <m> = 0 is sampled."""
    N, T = 2000, 0.8
    exact = cw.finite_moments(N, T, 0.0)
    for flip in (False, True):
        s = CurieWeissSettings(rule="metropolis", thermalization=200, sweeps=4000, start="cold",
                               global_flip=flip)
        outs = _replicas({"N": N, "T": T, "B": 0.0}, s, 2, seed=3)
        z = _z_scores(outs, exact)
        if flip:
            assert all(abs(v) < 4 for v in z.values()), z
        else:  # stuck in the m > 0 well: every even observable still right, <m> is not
            assert all(abs(v) < 4 for k, v in z.items() if k != "m"), z
            assert z["m"] > 100


@pytest.mark.parametrize(("T", "B"), [(1.5, 0.0), (0.8, 0.03)])
def test_equilibrium_large_n_block_path(T: float, B: float) -> None:
    """N = 2^17 (certified blocks) against the exact sums, away from Tc (short tau)."""
    N = 1 << 17
    assert N >= BLOCK_MIN_N
    s = CurieWeissSettings(rule="heatbath", thermalization=100, sweeps=1280, start="cold")
    outs = _replicas({"N": N, "T": T, "B": B}, s, 2, seed=17)
    names = ("e", "m2", "abs_m", "m4", "chi", "C") if B == 0 else OBSERVABLES
    z = _z_scores(outs, cw.finite_moments(N, T, B), names)
    assert all(abs(v) < 4 for v in z.values()), z


def test_m_histogram_matches_exact_distribution() -> None:
    """Every bin of the M histogram (N = 12, heat bath, Tc) within 4 binning errors of P(M)."""
    N, T, B = 12, 1.0, 0.05
    Dt, Ut = threshold_table(N, 1 / T, 1.0, B, True)
    mags, *_ = simulate(N // 2, N, 1 / T, 1.0, B, True, np.uint64(99), np.uint64(0), 100,
                        200_000, 1, Dt, Ut, False)
    M, P = cw.m_distribution(N, T, B)
    chi2 = 0.0
    for Mi, Pi in zip(M, P, strict=True):
        b = binning((mags == Mi).astype(np.float64))
        z = (b.mean - Pi) / b.error
        assert abs(z) < 4, (Mi, b.mean, Pi)
        chi2 += z * z
    assert chi2 < 2 * (N + 1) + 4 * np.sqrt(2 * (N + 1))


@pytest.mark.parametrize(("rule", "N", "T", "B", "R"), [
    ("heatbath", 64, 0.8, -0.1, 1500),
    ("metropolis", 40, 0.7, -0.15, 1500),
    ("heatbath", 1 << 16, 0.8, -0.1, 24),  # beyond the spinodal: block path, fast escape
])
def test_escape_time_matches_exact_first_passage(rule: str, N: int, T: float, B: float,
                                                 R: int) -> None:
    s = CurieWeissSettings(protocol="escape", rule=rule, max_sweeps=100_000)
    outs = [MODEL.run({"N": N, "T": T, "B": B}, s, np.random.SeedSequence([5, r]))
            for r in range(R)]
    assert all(bool(o["escaped"]) for o in outs)
    t = np.array([float(o["t_escape"]) for o in outs])
    exact = cw.mean_escape_time(N, T, B, rule)
    z = (t.mean() - exact) / (t.std(ddof=1) / np.sqrt(R))
    assert abs(z) < 4, (t.mean(), exact, z)


def test_escape_is_capped() -> None:
    s = CurieWeissSettings(protocol="escape", rule="heatbath", max_sweeps=5)
    out = MODEL.run({"N": 400, "T": 0.5, "B": -0.05}, s, np.random.SeedSequence(0))
    assert not bool(out["escaped"]) and float(out["t_escape"]) == 5.0


def _ramp(N: int, T: float, s: CurieWeissSettings, R: int) -> tuple[np.ndarray, np.ndarray]:
    outs = [MODEL.run({"N": N, "T": T, "B": 0.0}, s, np.random.SeedSequence([11, r]))
            for r in range(R)]
    m = np.array([o["m"] for o in outs])
    np.testing.assert_array_equal(outs[0]["B_ramp"], s.ramp_fields())
    err = m.std(axis=0, ddof=1) / np.sqrt(R) if R > 1 else np.full(m.shape[1], np.nan)
    return m.mean(axis=0), err


def test_hysteresis_is_symmetric_and_switches_at_the_spinodal() -> None:
    steps = 26
    s = CurieWeissSettings(protocol="ramp", rule="heatbath", B_max=0.5, steps=steps,
                           sweeps_per_step=10, thermalization=20)
    B = s.ramp_fields()
    m, err = _ramp(200, 0.5, s, 32)
    down, up = m[:steps], m[steps:]
    # up[i] is at field -B[i]: the loop is odd under (B, m) -> (-B, -m)
    d = down + up
    sig = np.hypot(err[:steps], err[steps:])
    assert np.all(np.abs(d) < 4 * sig + 1e-12), d
    assert down[steps // 2 - 1] > 0.9 and up[steps // 2 - 1] < -0.9  # open loop at B ~ 0
    # a large system stays metastable down to the spinodal field -B_s(0.5) = -0.266
    N = 1 << 16
    m, _ = _ramp(N, 0.5, s.model_copy(update={"steps": 51}), 1)
    B = s.model_copy(update={"steps": 51}).ramp_fields()[:51]
    i = int(np.argmax(m[:51] < 0))
    Bs = float(cw.spinodal_field(0.5))
    assert B[i] < -Bs < B[i - 1] + 0.02 + 1e-12, (B[i - 1], B[i], -Bs)


def test_slow_ramp_loop_closes_above_tc() -> None:
    steps = 11
    s = CurieWeissSettings(protocol="ramp", rule="metropolis", B_max=0.5, steps=steps,
                           sweeps_per_step=400, thermalization=100)
    m, err = _ramp(200, 1.5, s, 6)
    down, up = m[:steps], m[steps:][::-1]  # both legs at the same fields
    sig = np.hypot(err[:steps], err[steps:][::-1])
    assert np.all(np.abs(down - up) < 4 * sig), (down - up) / sig
    fields = s.ramp_fields()[:steps]
    exact = np.array([cw.finite_moments(200, 1.5, b)["m"] for b in fields])
    assert np.all(np.abs(down - exact) < 4 * err[:steps] + 0.01)  # slow: near equilibrium


def test_very_large_n_runs_in_constant_memory() -> None:
    """N = 10^8: two sweeps from M = 0 at T = 1.5 stay paramagnetic (N <m^2> ~ T/(T - 1) = 3)."""
    N = 10**8
    mags, acc, _k, _ = simulate(N // 2, N, 1 / 1.5, 1.0, 0.0, True, np.uint64(8), np.uint64(0),
                               0, 2, 1, E, E, True)
    assert np.all(np.abs(mags) < 10 * np.sqrt(3 * N))
    assert abs(acc / (2 * N) - 0.5) < 0.01  # heat bath near m = 0 accepts half the attempts
