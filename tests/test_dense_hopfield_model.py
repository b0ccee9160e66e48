"""dense-hopfield: configuration, the update rule against brute force, n = 2 == hopfield, guards.

Brute force: the energy E = -sum_mu F(M^mu) of the two states s_i = +-1 in exact Python integers
(power) or 60-digit mpmath (exp); the kernel's sign of D_i must be the sign of
E(s_i = -1) - E(s_i = +1).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import yaml

from statmech.config import ConfigError, parse_config
from statmech.models import get_model
from statmech.models.dense_hopfield.kernels import (
    count_unstable,
    drive_sign,
    exp_table,
    g_table,
    power_bound_ok,
)
from statmech.models.dense_hopfield.model import (
    VARIABLES,
    DenseHopfield,
    DenseHopfieldSettings,
    disorder_seed,
    n_patterns,
    run_trial,
    tables,
)
from statmech.models.hopfield.kernels import make_patterns, overlap_dtype, overlaps
from statmech.models.hopfield.model import HopfieldSettings
from statmech.seeding import unit_seed

HOPFIELD_NAMES = ("m", "m_other", "converged", "fixed_point", "sweeps", "flipped", "flips",
                  "unstable0")


def sweep_file(**changes: object) -> str:
    settings = {"trials": 2}
    settings.update(changes.pop("settings", {}))  # type: ignore[arg-type]
    axes = changes.pop("axes", {"alpha": [0.1, 0.2]})
    fixed = changes.pop("fixed", {"N": 40, "n": 3})
    return yaml.safe_dump({"model": "dense-hopfield", "axes": axes, "fixed": fixed,
                           "settings": settings, "replicas": 2, "seed": 1, "store": "x.zarr",
                           **changes})


def M_of(xi: np.ndarray, s: np.ndarray) -> np.ndarray:
    return overlaps(xi, s, np.empty(xi.shape[1], dtype=overlap_dtype(xi.shape[0])))


def brute_sign(xi: np.ndarray, s: np.ndarray, i: int, F) -> int:  # type: ignore[no-untyped-def]
    """Sign of E(s_i = -1) - E(s_i = +1) with E = -sum_mu F(M^mu), exactly."""
    def energy(si: int):  # type: ignore[no-untyped-def]
        t = [int(v) for v in s]
        t[i] = si
        return -sum(F(sum(int(xi[j, mu]) * t[j] for j in range(len(t))))
                    for mu in range(xi.shape[1]))
    d = energy(-1) - energy(1)
    return (d > 0) - (d < 0)


# ----------------------------------------------------------------------------- configuration
def test_registered_and_valid_config() -> None:
    model = get_model("dense-hopfield")
    assert isinstance(model, DenseHopfield)
    sweep = parse_config(sweep_file())
    assert sweep.fixed == {"N": 40, "n": 3, "noise": 0.0}
    assert sweep.model.replica_dim == "sample"
    assert [v.name for v in VARIABLES] == [*HOPFIELD_NAMES[:2], "sweeps", "converged",
                                          "fixed_point", "flipped", "flips", "unstable0", "K"]
    assert model.presentation == "statmech.models.dense_hopfield.presentation:PRESENTATION"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"settings": {"trials": 500}}, "trials must be <= K"),
        ({"settings": {"energy": "exp"}, "fixed": {"N": 20, "n": 3}}, "no meaning"),
        ({"fixed": {"N": 100, "n": 10}, "axes": {"alpha": [1e-12, 2e-12]}}, "2^63"),
        ({"fixed": {"N": 40, "n": 2.5}}, "integer"),
        ({"settings": {"energy": "exp"}, "fixed": {"N": 200}, "axes": {"alpha": [0.5]}},
         "do not fit"),
    ],
)
def test_invalid_points_are_refused(changes: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("^", r"\^")):
        parse_config(sweep_file(**changes))


def test_pattern_counts() -> None:
    assert n_patterns(100, 2, 0.138) == 14  # hopfield's round(alpha N): 13.8 -> 14
    assert n_patterns(250, 2, 0.138) == 35  # a half rounds up (34.5)
    assert n_patterns(40, 3, 0.0625) == 100
    assert n_patterns(40, 3, 0.1875, load="normalised") == 100  # / 3!! = 3
    assert n_patterns(30, 4, 0.3, load="normalised") == round(0.3 * 27000 / 15)
    assert n_patterns(20, 2, 0.25, energy="exp") == 148  # e^5 = 148.41


# ----------------------------------------------------------------------------- update rule
@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_drive_sign_matches_brute_force(n: int) -> None:
    """Closed forms (n <= 6) and the table (n = 7) against exact energy differences."""
    rng = np.random.default_rng(n)
    N, K = 11, 7
    exp_energy, gtab, etab = tables(N, n, "power")
    counts = np.zeros(2 * N + 1, dtype=np.int64)
    ties = 0
    for _ in range(12):
        xi = rng.choice(np.array([-1, 1], dtype=np.int8), size=(N, K))
        s = rng.choice(np.array([-1, 1], dtype=np.int8), size=N)
        M = M_of(xi, s)
        for i in range(N):
            got = drive_sign(xi, M, s, i, exp_energy, n, gtab, etab, counts)
            want = brute_sign(xi, s, i, lambda x: x**n)
            assert got == want, (n, i)
            ties += want == 0
    g = g_table(N, n)
    assert [int(v) for v in g] == [(a + 1) ** n - (a - 1) ** n for a in range(-N, N + 1)]
    if n % 2 == 0:
        assert ties > 0  # even n on an odd N gives exact ties: the rule must keep them


def test_exp_drive_sign_matches_high_precision() -> None:
    rng = np.random.default_rng(5)
    N, K = 13, 9
    exp_energy, gtab, etab = tables(N, 2, "exp")
    counts = np.zeros(2 * N + 1, dtype=np.int64)
    mpmath.mp.dps = 60
    for _ in range(10):
        xi = rng.choice(np.array([-1, 1], dtype=np.int8), size=(N, K))
        s = rng.choice(np.array([-1, 1], dtype=np.int8), size=N)
        M = M_of(xi, s)
        for i in range(N):
            want = brute_sign(xi, s, i, lambda x: mpmath.exp(x))
            assert drive_sign(xi, M, s, i, exp_energy, 2, gtab, etab, counts) == want


def test_exact_ties_keep_the_spin_for_power_and_exp() -> None:
    """Two patterns that differ only at spin 0: at s = xi^1 their terms cancel exactly."""
    rng = np.random.default_rng(3)
    N = 30
    base = rng.choice(np.array([-1, 1], dtype=np.int8), size=N)
    twin = base.copy()
    twin[0] = -twin[0]
    xi = np.stack([base, twin], axis=1)
    s = base.copy()
    M = M_of(xi, s)
    counts = np.zeros(2 * N + 1, dtype=np.int64)
    for n, energy in ((3, "power"), (2, "exp"), (4, "power")):
        e, g, t = tables(N, n, energy)
        assert drive_sign(xi, M, s, 0, e, n, g, t, counts) == 0
        assert count_unstable(xi, M, s, e, n, g, t) == 0


def test_exp_is_stable_at_large_N() -> None:
    """N = 1500 (overlaps up to 1500: e^1500 overflows float64) with 30 % noise retrieves."""
    N, alpha = 1500, 0.004  # K = round(e^6) = 403
    K = n_patterns(N, 2, alpha, energy="exp")
    xi = make_patterns(np.uint64(11), N, K)
    with pytest.raises(OverflowError):
        math.exp(N)  # the naive e^M overflows
    settings = DenseHopfieldSettings(energy="exp", trials=1)
    res = run_trial(xi, 0, 450, np.uint64(3), np.uint64(4), settings)
    assert res["m"] == 1.0 and res["converged"] and res["fixed_point"]
    assert res["unstable0"] == pytest.approx(0.3)  # exactly the flipped bits are unstable
    assert np.all(np.isfinite(exp_table(N)))


# ----------------------------------------------------------------------------- overflow guard
def test_int64_guard_and_exactness_near_the_bound() -> None:
    assert power_bound_ok(100, 10**6, 5) and not power_bound_ok(100, 10**6, 9)
    with pytest.raises(OverflowError):
        g_table(10**4, 7)  # g(N) ~ 14 N^6 = 1.4e25
    # n = 6, N = 200: |D_i| up to K g(199) ~ 1e17, well inside int64, checked against Python ints
    N, n, K = 200, 6, 1000
    assert power_bound_ok(N, K, n)
    xi = make_patterns(np.uint64(9), N, K)
    s = xi[:, 0].copy()
    s[:60] = -s[:60]
    M = M_of(xi, s)
    e, g, t = tables(N, n, "power")
    counts = np.zeros(2 * N + 1, dtype=np.int64)
    Mi = [int(v) for v in M]
    for i in range(0, N, 17):
        si = int(s[i])
        d = sum(int(x) * ((m - int(x) * si + 1) ** n - (m - int(x) * si - 1) ** n)
                for x, m in zip(xi[i], Mi, strict=True))
        assert drive_sign(xi, M, s, i, e, n, g, t, counts) == (d > 0) - (d < 0)


# ----------------------------------------------------------------------------- n = 2 == hopfield
def test_n2_equals_hopfield_bitwise() -> None:
    """Same seed, N, load, noise and trials: every stored value equal, NaN for NaN."""
    hop = get_model("hopfield")
    dense = get_model("dense-hopfield")
    hs = HopfieldSettings(dynamics="async", trials=4)
    ds_ = DenseHopfieldSettings(trials=4)
    flips = 0
    for N, alpha, noise in ((60, 0.1, 0.0), (60, 0.2, 0.15), (101, 0.14, 0.0), (101, 0.3, 0.3)):
        for r in range(3):
            hp = {"N": N, "alpha": alpha, "T": 0.0, "noise": noise}
            dp = {"N": N, "n": 2, "alpha": alpha, "noise": noise}
            a = hop.run(hp, hs, unit_seed(42, "hopfield", hp, r))
            b = dense.run(dp, ds_, unit_seed(42, "dense-hopfield", dp, r))
            assert int(a["p"]) == int(b["K"])
            for name in HOPFIELD_NAMES:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)
            flips += int(np.sum(a["flips"] > 0))
    assert flips > 5  # the comparison covers real dynamics, not only fixed starts


def test_streams_are_the_units_own_except_at_n2() -> None:
    s = DenseHopfieldSettings()
    p3 = {"N": 40, "n": 3, "alpha": 0.1, "noise": 0.0}
    ss = unit_seed(1, "dense-hopfield", p3, 2)
    assert disorder_seed(p3, s, ss) is ss
    p2 = {**p3, "n": 2}
    ss2 = unit_seed(1, "dense-hopfield", p2, 2)
    h = disorder_seed(p2, s, ss2)
    want = unit_seed(1, "hopfield", {"N": 40, "alpha": 0.1, "T": 0.0, "noise": 0.0}, 2)
    assert h.entropy == want.entropy and h.spawn_key == want.spawn_key
    assert disorder_seed(p2, DenseHopfieldSettings(energy="exp"), ss2) is ss2
