"""Hopfield model: settings validation, reproducibility and the kernels against brute force.

Brute force means the dense coupling matrix ``N J = xi xi^T - p 1`` and, for N <= 14, all 2^N
states: the single-flip-stable states are enumerated and every zero-T run must end in one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from statmech.config import ConfigError, parse_config
from statmech.models import get_model
from statmech.models.hopfield.kernels import (
    count_unstable,
    flip_random,
    make_patterns,
    overlap_dtype,
    overlaps,
    sequential,
    synchronous,
)
from statmech.models.hopfield.model import (
    VARIABLES,
    Hopfield,
    HopfieldSettings,
    n_flipped,
    n_patterns,
    run_trial,
)
from statmech.seeding import unit_seed

EMPTY = np.empty(0, dtype=np.int64)


def dense(xi: np.ndarray) -> np.ndarray:
    """Integer couplings N J_ij with zero diagonal."""
    x = xi.astype(np.int64)
    NJ = x @ x.T
    np.fill_diagonal(NJ, 0)
    return NJ


def energy(NJ: np.ndarray, s: np.ndarray) -> float:
    """E/N = -(1/2N) sum_{i != j} J_ij s_i s_j."""
    N = len(s)
    s = s.astype(np.int64)
    return -0.5 * float(s @ NJ @ s) / N**2


def M_of(xi: np.ndarray, s: np.ndarray) -> np.ndarray:
    return overlaps(xi, s, np.empty(xi.shape[1], dtype=overlap_dtype(xi.shape[0])))


def sweep_file(**changes: object) -> str:
    settings = {"dynamics": "async", "trials": 2}
    settings.update(changes.pop("settings", {}))  # type: ignore[arg-type]
    axes = changes.pop("axes", {"alpha": [0.05, 0.1]})
    fixed = changes.pop("fixed", {"N": 100})
    import yaml

    return yaml.safe_dump({"model": "hopfield", "axes": axes, "fixed": fixed,
                           "settings": settings, "replicas": 2, "seed": 1,
                           "store": "x.zarr", **changes})


# ----------------------------------------------------------------------------- configuration
def test_registered_and_valid_config() -> None:
    assert isinstance(get_model("hopfield"), Hopfield)
    sweep = parse_config(sweep_file())
    assert sweep.fixed == {"N": 100, "T": 0.0, "noise": 0.0, "tau": 0}
    assert sweep.model.replica_dim == "sample"


@pytest.mark.parametrize(
    ("changes", "where", "words"),
    [
        ({"settings": {"dynamics": "metropolis"}}, "settings.dynamics",
         ["'async'", "'sync'", "'glauber'"]),
        ({"settings": {"dynamics": "glauber", "sweeps": 10, "measure": 20}}, "settings",
         ["measure = 20", "sweeps = 10"]),
        ({"settings": {"trials": 0}}, "settings.trials", ["greater than or equal to 1"]),
        ({"settings": {"sweps": 10}}, "settings.sweps", ["unknown key"]),
        ({"fixed": {"N": 100, "noise": 0.7}}, "fixed.noise", ["[0, 0.5]"]),
        ({"fixed": {"N": 100, "T": -1}}, "fixed.T", [">= 0"]),
        ({"axes": {"alpha": [0.0, 0.1]}}, "axes.alpha[0]", ["alpha must be > 0"]),
        ({"fixed": {"N": 100, "T": 0.5}}, "axes (alpha=0.05)", ["dynamics: glauber"]),
        ({"settings": {"trials": 8}}, "axes (alpha=0.05)", ["p = round(alpha N) = 5",
                                                             "trials = 8"]),
        ({"axes": {"alpha": [0.001]}}, "axes (alpha=0.001)", ["rounds to p = 0"]),
    ],
)
def test_bad_settings_are_named_before_compute(changes: dict, where: str,
                                               words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(sweep_file(**changes))
    messages = {path: msg for path, msg in info.value.errors}
    assert where in messages, info.value.errors
    for w in words:
        assert w in messages[where], messages[where]


def test_settings_model_direct_errors() -> None:
    with pytest.raises(ValueError, match="dynamics"):
        HopfieldSettings(dynamics="parallel")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="extra"):
        HopfieldSettings(temperature=1.0)  # type: ignore[call-arg]


def test_rounding_half_up() -> None:
    assert n_patterns(250, 0.138) == 35  # 34.5 -> 35 (not banker's rounding)
    assert n_patterns(1000, 0.138) == 138
    assert n_flipped(10, 0.25) == 3
    assert n_flipped(1000, 0.0) == 0


# ----------------------------------------------------------------------------- run()
def test_run_shapes_reproducibility_and_trial_streams() -> None:
    model = Hopfield()
    point = {"N": 300, "alpha": 0.1, "T": 0.0, "noise": 0.1}
    s5 = HopfieldSettings(trials=5)
    a = model.run(point, s5, unit_seed(3, "hopfield", point, 0))
    b = model.run(point, s5, unit_seed(3, "hopfield", point, 0))
    c = model.run(point, HopfieldSettings(trials=3), unit_seed(3, "hopfield", point, 0))
    d = model.run(point, s5, unit_seed(3, "hopfield", point, 1))
    assert set(a) == {v.name for v in VARIABLES}
    for v in VARIABLES:
        assert a[v.name].shape == ((5,) if v.dims else ()), v.name
        assert a[v.name].dtype == np.dtype(v.dtype), v.name
        np.testing.assert_array_equal(a[v.name], b[v.name])
        if v.dims:
            np.testing.assert_array_equal(a[v.name][:3], c[v.name])  # adding trials keeps them
    assert not np.array_equal(a["m"], d["m"]) or not np.array_equal(a["flips"], d["flips"])
    assert int(a["p"]) == 30
    # noise 0.1: 30 flipped bits, initial overlap 0.8; retrieval at alpha = 0.1 repairs them
    assert np.all(a["m"] > 0.95)
    assert np.all(a["converged"]) and np.all(a["fixed_point"]) and not np.any(a["cycle2"])


def test_initial_flips_are_distinct_and_exact() -> None:
    s = np.ones(1000, dtype=np.int8)
    idx = flip_random(s, 123, np.uint64(7))
    assert len(np.unique(idx)) == 123
    assert int((s == -1).sum()) == 123


def test_patterns_are_fair_coins() -> None:
    xi = make_patterns(np.uint64(11), 2000, 100)
    assert xi.dtype == np.int8 and set(np.unique(xi)) == {-1, 1}
    # 200000 fair +-1: the mean has standard error 1/sqrt(200000) = 0.0022
    assert abs(xi.mean()) < 4 * 0.0022
    # distinct patterns are uncorrelated: q = xi^mu . xi^nu / N has std 1/sqrt(N)
    q = (xi[:, :50].T.astype(np.int64) @ xi[:, 50:].astype(np.int64)) / 2000
    assert abs(q.mean()) < 4 * (1 / np.sqrt(2000)) / 50
    # the standard deviation of 2500 such overlaps has relative standard error 1/sqrt(5000)
    assert abs(q.std() * np.sqrt(2000) - 1) < 4 / np.sqrt(5000)


@pytest.mark.parametrize("N", [500, 40000])
def test_overlaps_int16_and_int32(N: int) -> None:
    xi = make_patterns(np.uint64(5), N, 7)
    s = xi[:, 0].copy()
    M = M_of(xi, s)
    assert M.dtype == (np.int16 if N <= 32767 else np.int32)
    np.testing.assert_array_equal(M, xi.astype(np.int64).T @ s.astype(np.int64))
    assert M[0] == N
    for dynamics in ("async", "sync"):
        res = run_trial(xi, 1, N // 5, np.uint64(1), np.uint64(2),
                        HopfieldSettings(trials=1, dynamics=dynamics))
        assert res["m"] == 1.0 and res["fixed_point"] and res["flipped"] == 0.2


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
def test_load_fast_path_only_for_the_whole_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import xarray as xr

    from statmech.analysis.hopfield import load

    ds = xr.Dataset({"m": (("alpha", "sample"), np.arange(6.0).reshape(3, 2)),
                     "done": (("alpha", "sample"), np.ones((3, 2), bool))},
                    coords={"alpha": [0.1, 0.2, 0.3], "sample": [0, 1]})
    ds.chunk().to_zarr(tmp_path / "s.zarr", zarr_format=3, consolidated=True)
    lazy = xr.open_zarr(tmp_path / "s.zarr")
    np.testing.assert_array_equal(load(lazy)["m"].values, ds["m"].values)
    sub = load(lazy.sel(alpha=0.2), ("m",))
    assert sub["m"].dims == ("sample",)
    np.testing.assert_array_equal(sub["m"].values, [2.0, 3.0])


# ----------------------------------------------------------------------------- T = 0 dynamics
def test_async_energy_never_increases_flip_by_flip() -> None:
    """Replay every flip of the kernel with dense couplings: each one lowers E strictly."""
    N, p = 200, 30
    xi = make_patterns(np.uint64(21), N, p)
    NJ = dense(xi)
    for trial in range(4):
        s = xi[:, trial].copy()
        flip_random(s, 60, np.uint64(100 + trial))
        start = s.copy()
        M = M_of(xi, s)
        log = np.full(50 * N, -1, dtype=np.int64)
        trace = np.full(200, np.iinfo(np.int64).min, dtype=np.int64)
        sweeps, conv, flips, *_ = sequential(xi, s, M, np.uint64(trial), 0.0, True, 150, 0,
                                             trial, trace, log)
        assert conv and 0 < flips <= len(log)
        x = start.astype(np.int64)
        e = energy(NJ, x)
        for i in log[:flips]:
            h = NJ[i] @ x
            assert x[i] * h < 0, "only unstable spins flip"
            x[i] = -x[i]
            e_new = energy(NJ, x)
            assert e_new < e
            assert e_new == pytest.approx(e - 2 * abs(h) / N**2, abs=1e-12)
            e = e_new
        np.testing.assert_array_equal(x, s)
        np.testing.assert_array_equal(M, xi.astype(np.int64).T @ x)
        # the per-sweep trace of sum_mu M_mu^2 (E/N = -sum/(2N^2) + p/(2N)) never decreases
        q = trace[: sweeps + 2]
        assert np.all(np.diff(q) >= 0)
        assert -0.5 * q[-1] / N**2 + 0.5 * p / N == pytest.approx(energy(NJ, s), abs=1e-12)


def test_single_pattern_and_small_load_patterns_are_fixed_points() -> None:
    model = Hopfield()
    settings = HopfieldSettings(trials=1)
    for N in (50, 501):
        point = {"N": N, "alpha": 1 / N, "T": 0.0, "noise": 0.0}
        out = model.run(point, settings, unit_seed(1, "hopfield", point, 0))
        assert int(out["p"]) == 1
        assert out["unstable0"][0] == 0 and out["fixed_point"][0] and out["sweeps"][0] == 0
        assert out["m"][0] == 1.0 and np.isnan(out["m_other"][0])
        # p = 1: any start with fewer than half of the bits wrong is repaired in one sweep
        point = {**point, "noise": 0.4}
        out = model.run(point, settings, unit_seed(1, "hopfield", point, 0))
        assert out["m"][0] == 1.0 and out["sweeps"][0] == 1
    # alpha = 0.02, N = 1000: P(unstable bit) = 0.5 erfc(5) = 8e-13, every pattern is stable
    settings = HopfieldSettings(trials=20)
    point = {"N": 1000, "alpha": 0.02, "T": 0.0, "noise": 0.0}
    out = model.run(point, settings, unit_seed(1, "hopfield", point, 0))
    assert np.all(out["unstable0"] == 0) and np.all(out["fixed_point"])
    assert np.all(out["m"] == 1.0) and np.all(out["sweeps"] == 0) and np.all(out["flipped"] == 0)


def all_states(N: int) -> np.ndarray:
    codes = np.arange(2**N, dtype=np.int64)
    return (((codes[:, None] >> np.arange(N)) & 1) * 2 - 1).astype(np.int8)


NETWORKS = [(10, 1, 1), (10, 2, 2), (12, 3, 3), (12, 4, 4), (13, 5, 5), (14, 3, 6), (14, 6, 7)]


@pytest.mark.parametrize(("N", "p", "key"), NETWORKS)
def test_exhaustive_fixed_points(N: int, p: int, key: int) -> None:
    """All 2^N states: zero-T runs end in true single-flip-stable states; stability agrees."""
    xi = make_patterns(np.uint64(key), N, p)
    NJ = dense(xi)
    S = all_states(N)
    H = S.astype(np.int64) @ NJ  # N h for every state
    stable_mask = np.all(S * H >= 0, axis=1)
    stable = {s.tobytes() for s in S[stable_mask]}
    assert len(stable) >= 2  # at least one pair +-s (the global minimum is stable)
    # the kernel's stability count agrees with brute force on every state
    for s, h in zip(S, H, strict=True):
        assert count_unstable(xi, M_of(xi, s), s) == int(np.sum(s * h < 0))
    # stored patterns: the model's classification agrees with the enumeration
    for mu in range(p):
        res = run_trial(xi, mu, 0, np.uint64(0), np.uint64(mu), HopfieldSettings(trials=1))
        truly = xi[:, mu].tobytes() in stable
        assert (res["unstable0"] == 0) == truly
        assert res["fixed_point"] and res["converged"]
        assert (res["sweeps"] == 0) == truly
    # random starts: async ends in a stable state; sync in a stable state or a 2-cycle
    rng = np.random.default_rng(key)
    starts = S[rng.choice(len(S), size=min(len(S), 300), replace=False)]
    seen = set()
    for k, s0 in enumerate(starts):
        res = run_trial(xi, 0, 0, np.uint64(0), np.uint64(k), HopfieldSettings(trials=1), s0=s0)
        s = s0.copy()
        M = M_of(xi, s)
        _, conv, *_ = sequential(xi, s, M, np.uint64(k), 0.0, True, 1000, 0, 0, EMPTY, EMPTY)
        assert conv and s.tobytes() in stable
        assert res["fixed_point"] and res["converged"]
        assert res["e"] == pytest.approx(energy(NJ, s), abs=1e-12)
        assert res["e"] <= energy(NJ, s0) + 1e-12
        seen.add(s.tobytes())
        s = s0.copy()
        M = M_of(xi, s)
        _, conv, cyc, *_ = synchronous(xi, s, M, 1000, 0, EMPTY)
        assert conv != cyc  # a fixed point or a 2-cycle, never the cap
        h = NJ @ s.astype(np.int64)
        F = np.where(h == 0, s, np.sign(h)).astype(np.int8)
        if conv:
            assert s.tobytes() in stable and np.array_equal(F, s)
        else:
            hF = NJ @ F.astype(np.int64)
            FF = np.where(hF == 0, F, np.sign(hF)).astype(np.int8)
            assert not np.array_equal(F, s) and np.array_equal(FF, s)
            assert s.tobytes() not in stable and F.tobytes() not in stable
    assert seen <= stable


def test_sync_two_cycle_reported_as_not_a_fixed_point() -> None:
    """Find 2-cycles of the Little dynamics in small networks and check how they are stored."""
    found = 0
    for key, (N, p) in itertools.product(range(40), [(12, 4), (20, 6)]):
        xi = make_patterns(np.uint64(key), N, p)
        rng = np.random.default_rng(key)
        for _ in range(10):
            s0 = (rng.integers(0, 2, N) * 2 - 1).astype(np.int8)
            res = run_trial(xi, 0, 0, np.uint64(0), np.uint64(0),
                            HopfieldSettings(trials=1, dynamics="sync"), s0=s0)
            if res["cycle2"]:
                found += 1
                assert not res["converged"] and not res["fixed_point"]
                # the final state s and its image F(s) form the cycle; m_avg averages both
                s = s0.copy()
                synchronous(xi, s, M_of(xi, s), 1000, 0, EMPTY)
                NJ = dense(xi)
                h = NJ @ s.astype(np.int64)
                F = np.where(h == 0, s, np.sign(h))
                assert not np.array_equal(F, s)
                m_pair = (xi[:, 0] @ s.astype(np.int64) + xi[:, 0] @ F) / (2 * N)
                assert res["m_avg"] == pytest.approx(m_pair, abs=1e-12)
                assert res["e_avg"] == pytest.approx(
                    0.5 * (energy(NJ, s) + energy(NJ, F)), abs=1e-12)
    assert found > 0


def test_mixture_state_is_detected() -> None:
    """A symmetric 3-mixture of patterns 0, 1, 2 is (nearly) stable at small load: m_mix3 ~ 1."""
    N, p = 3000, 6
    xi = make_patterns(np.uint64(4), N, p)
    mix = np.sign(xi[:, :3].astype(np.int32).sum(axis=1)).astype(np.int8)
    res = run_trial(xi, 0, 0, np.uint64(0), np.uint64(1), HopfieldSettings(trials=1), s0=mix)
    assert res["fixed_point"] and res["sweeps"] == 0 and res["flipped"] == 0
    assert res["m_mix3"] == 1.0
    assert abs(res["m"] - 0.5) < 0.05 and abs(res["m_other"] - 0.5) < 0.05
    # a pure retrieval state has m_mix3 = 1/2 up to O(N^-1/2)
    res = run_trial(xi, 0, 0, np.uint64(0), np.uint64(1), HopfieldSettings(trials=1))
    # (one site: P(sign(x + y + z) = x) = 3/4, so the mean is 1/2 and the std sqrt(3/4 N))
    assert res["m"] == 1.0 and abs(res["m_mix3"] - 0.5) < 4 * np.sqrt(0.75 / N)


def test_glauber_zero_temperature_reaches_a_fixed_point() -> None:
    xi = make_patterns(np.uint64(9), 400, 20)
    res = run_trial(xi, 0, 80, np.uint64(1), np.uint64(2),
                    HopfieldSettings(dynamics="glauber", sweeps=30, measure=10), T=0.0)
    assert res["fixed_point"] and res["m"] == res["m_avg"] and res["m"] > 0.99
    assert res["sweeps"] == 30 and not res["converged"]
