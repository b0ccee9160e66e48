"""Simulated annealing of ``hopfield`` (dynamics: anneal) against exact results.

* The other dynamics are bitwise what they were before annealing existed (digests of unit
  values computed on commit bd89e2c, before ``tau`` was added).
* The schedules are ``sk``'s; at a constant temperature an anneal is bitwise the Glauber kernel.
* Exact checks: p = 1 (the Mattis ferromagnet: the only fixed points are +-xi, and heat-bath
  moments equal the exact finite-N Boltzmann ones); the exact finite-N energies of a stored
  pattern and of the symmetric 3- and 5-mixture configurations; every stored energy equals the
  energy of the stored configuration computed from the dense couplings; end states at
  T_end -> 0 are single-flip stable (brute force).
* Reproducibility: the same seed gives the same unit and the same store whatever the order and
  grouping of the units; an annealing unit sees the patterns of the async unit of its sample.

Statistical comparisons hold within Z_MAX = 4 standard errors with fixed seeds.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from scipy import special

from statmech.analysis import hopfield as an
from statmech.config import ConfigError, parse_config
from statmech.grid import Grid
from statmech.models.hopfield.kernels import (
    anneal,
    anneal_temperature,
    make_patterns,
    overlap_dtype,
    overlaps,
    sequential,
)
from statmech.models.hopfield.model import (
    ANNEAL_VARIABLES,
    MIX_ORDERS,
    Hopfield,
    HopfieldSettings,
    overlap_summary,
    run_trial,
)
from statmech.seeding import point_key, unit_seed
from statmech.theory import hopfield as th

Z_MAX = 4.0
EMPTY = np.empty(0, dtype=np.int64)
ROOT = Path(__file__).resolve().parent.parent


def dense(xi: np.ndarray) -> np.ndarray:
    """Integer couplings N J_ij = sum_mu xi_i^mu xi_j^mu with zero diagonal."""
    x = xi.astype(np.int64)
    NJ = x @ x.T
    np.fill_diagonal(NJ, 0)
    return NJ


def energy(NJ: np.ndarray, s: np.ndarray) -> float:
    """E/N = -(1/2N) sum_{i != j} J_ij s_i s_j from the dense couplings."""
    s = s.astype(np.int64)
    return -0.5 * float(s @ NJ @ s) / len(s) ** 2


def M_of(xi: np.ndarray, s: np.ndarray) -> np.ndarray:
    return overlaps(xi, s, np.empty(xi.shape[1], dtype=overlap_dtype(xi.shape[0])))


def anneal_settings(**changes: object) -> HopfieldSettings:
    return HopfieldSettings(**{"dynamics": "anneal", "trials": 10, **changes})  # type: ignore[arg-type]


def run(point: dict, settings: HopfieldSettings, sample: int, seed: int = 1) -> dict:
    full = {"T": 0.0, "noise": 0.0, **point}
    return Hopfield().run(full, settings, unit_seed(seed, "hopfield", full, sample))


# ----------------------------------------------------------------------------- compatibility
# unit values of the other dynamics computed on commit bd89e2c (before tau existed)
BEFORE_TAU = {
    "async": ("""
name: ref
model: hopfield
axes: {N: [60, 101], alpha: [0.05, 0.2]}
fixed: {noise: 0.2}
replicas: 2
seed: 21
store: /tmp/x.zarr
settings: {dynamics: async, trials: 3}
""", "caf01e9402db084da95514d4511c3dec0576aab368a14cf3318e23e18d0284c0"),
    "sync": ("""
name: ref
model: hopfield
axes: {alpha: [0.1], noise: [0.0, 0.4]}
fixed: {N: 80}
replicas: 2
seed: 22
store: /tmp/x.zarr
settings: {dynamics: sync, trials: 2}
""", "c694250bd95dd27b724b1e3df7ae7a4118885168f9a16d478a0f1ceb9ab2110b"),
    "glauber": ("""
name: ref
model: hopfield
axes: {T: [0.3, 1.2], alpha: [0.05]}
fixed: {N: 70, noise: 0.1}
replicas: 2
seed: 23
store: /tmp/x.zarr
settings: {dynamics: glauber, trials: 2, sweeps: 30, measure: 10}
""", "f056b738464cde9b30f00ca7098ae820d538c265ea8d1acbd57efd1b2c015cd1"),
}


def _digest(text: str) -> str:
    """SHA-256 of every unit's values (all variables, sorted by name, in grid order)."""
    sweep = parse_config(text)
    grid = Grid(axes=sweep.axes, fixed=sweep.fixed, replicas=sweep.replicas)
    h = hashlib.sha256()
    for idx, r in grid.units():
        point = grid.point(idx)
        out = sweep.model.run(point, sweep.settings, unit_seed(sweep.seed, "hopfield", point, r))
        for k in sorted(out):
            h.update(k.encode())
            h.update(np.ascontiguousarray(np.asarray(out[k])).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(BEFORE_TAU))
@pytest.mark.parametrize("tau", [None, "fixed"])
def test_other_dynamics_are_bitwise_those_before_tau(name: str, tau: str | None) -> None:
    text, digest = BEFORE_TAU[name]
    if tau == "fixed":
        raw = yaml.safe_load(text)
        raw.setdefault("fixed", {})["tau"] = 0
        text = yaml.safe_dump(raw)
    sweep = parse_config(text)
    assert sweep.fixed["tau"] == 0  # the default enters the point ...
    assert _digest(text) == digest  # ... but not the seed
    names = {v.name for v in sweep.model.variables(sweep.settings)}
    assert "m_top" not in names and "m_avg" in names  # and the store layout is the old one


def test_seed_key_omits_tau_only_at_its_default() -> None:
    base = {"N": 100, "alpha": 0.05, "T": 0.0, "noise": 0.0}
    assert point_key("hopfield", {**base, "tau": 0}) == point_key("hopfield", base)
    assert point_key("hopfield", {**base, "tau": 10}) != point_key("hopfield", base)


def test_schedules_are_those_of_sk() -> None:
    from statmech.models.sk.mc import anneal_temperature as sk_temperature

    for geometric in (False, True):
        for tau in (1, 2, 7, 1000):
            for t in range(0, tau, max(1, tau // 37)):
                for T0, T1 in ((3.0, 0.05), (1.5, 0.05), (0.7, 0.7)):
                    got = anneal_temperature(t, tau, T0, T1, geometric)
                    assert got == sk_temperature(t, tau, T0, T1, geometric)
        assert anneal_temperature(0, 100, 1.5, 0.05, geometric) == 1.5
        assert anneal_temperature(99, 100, 1.5, 0.05, geometric) == 0.05
        assert anneal_temperature(0, 1, 1.5, 0.05, geometric) == 0.05


def _sweep_file(**changes: object) -> str:
    settings = {"dynamics": "anneal", "trials": 2, **changes.pop("settings", {})}  # type: ignore[dict-item]
    axes = changes.pop("axes", {"alpha": [0.05], "tau": [1, 10]})
    fixed = changes.pop("fixed", {"N": 100})
    return yaml.safe_dump({"model": "hopfield", "axes": axes, "fixed": fixed,
                           "settings": settings, "replicas": 2, "seed": 1,
                           "store": "x.zarr", **changes})


@pytest.mark.parametrize(
    ("changes", "where", "words"),
    [
        ({"axes": {"alpha": [0.05]}}, "axes (alpha=0.05)", ["tau >= 1"]),
        ({"settings": {"dynamics": "async"}}, "axes (alpha=0.05, tau=1)",
         ["only used with dynamics: anneal"]),
        ({"fixed": {"N": 100, "T": 0.5}}, "axes (alpha=0.05, tau=1)", ["T_start", "T_end"]),
        ({"fixed": {"N": 100, "noise": 0.1}}, "axes (alpha=0.05, tau=1)",
         ["start: random", "start: pattern"]),
        ({"settings": {"T_start": 0.5, "T_end": 1.0}}, "settings", ["T_end = 1.0"]),
        ({"settings": {"max_n": 50}}, "axes (alpha=0.05, tau=1)", ["settings.max_n = 50"]),
        ({"settings": {"start": "pattern", "trials": 6}}, "axes (alpha=0.05, tau=1)",
         ["trials = 6"]),
        ({"settings": {"schedule": "exponential"}}, "settings.schedule", ["'geometric'"]),
        ({"settings": {"top": 2}}, "settings.top", ["greater than or equal to 4"]),
        ({"axes": {"alpha": [0.05], "tau": [-1]}}, "axes.tau[0]", ["tau must be in 0 .. 1e9"]),
    ],
)
def test_bad_anneal_settings_are_named_before_compute(changes: dict, where: str,
                                                      words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_sweep_file(**changes))
    messages = {path: msg for path, msg in info.value.errors}
    assert where in messages, info.value.errors
    for w in words:
        assert w in messages[where], messages[where]


def test_anneal_variables_and_coordinates() -> None:
    sweep = parse_config(_sweep_file(settings={"max_n": 100, "start": "pattern"}))
    names = [v.name for v in sweep.model.variables(sweep.settings)]
    assert names == [v.name for v in ANNEAL_VARIABLES] + ["final_state"]
    coords = sweep.model.extra_coords(sweep.settings, sweep.axes)
    assert list(coords["mixture"]) == list(MIX_ORDERS) and len(coords["rank"]) == 8
    assert len(coords["site"]) == 100
    point = {"N": 100, "alpha": 0.05, "T": 0.0, "noise": 0.1, "tau": 10}
    out = run(point, sweep.settings, 0)
    for v in sweep.model.variables(sweep.settings):
        shape = tuple(len(coords[d]) for d in v.dims)
        assert out[v.name].shape == shape and out[v.name].dtype == np.dtype(v.dtype), v.name
    assert set(out) == set(names)
    Hopfield().warmup(sweep.settings)  # compiles on a tiny network (pattern and random starts)
    Hopfield().warmup(anneal_settings(max_n=400))
    xi = Hopfield.patterns(point, unit_seed(1, "hopfield", point, 0)).astype(np.int64)
    for t in range(2):  # start: pattern: m_target is the overlap with the start pattern t
        assert out["m_target"][t] == float(out["final_state"][t] @ xi[:, t]) / 100
    random = run({"N": 100, "alpha": 0.05, "tau": 10},
                 anneal_settings(trials=2), 0)  # no max_n: no configurations
    assert "final_state" not in random and np.all(np.isnan(random["m_target"]))


# ----------------------------------------------------------------------------- the kernel
def test_constant_temperature_anneal_is_the_glauber_kernel_bitwise() -> None:
    xi = make_patterns(np.uint64(3), 150, 9)
    for T, geometric in ((0.4, False), (1.3, True)):
        s0 = make_patterns(np.uint64(4), 150, 1)[:, 0].copy()
        s1, s2 = s0.copy(), s0.copy()
        M1, M2 = M_of(xi, s1), M_of(xi, s2)
        trace1 = np.zeros(41, dtype=np.int64)
        trace2 = np.zeros(41, dtype=np.int64)
        flips, q, qf, qs, conv = anneal(xi, s1, M1, np.uint64(5), 40, T, T, geometric, False,
                                        10, trace1)
        _, _, flips2, *_ = sequential(xi, s2, M2, np.uint64(5), T, False, 40, 1, 0, trace2,
                                      EMPTY)
        assert np.array_equal(s1, s2) and np.array_equal(M1, M2)
        assert flips == flips2 and np.array_equal(trace1, trace2) and q == trace1[-1]
        assert (qf, qs, conv) == (0, 0, False)


def test_schedule_is_applied_sweep_by_sweep() -> None:
    """Cooling from the paramagnet: the energy trace falls from ~0 to the retrieval value."""
    N, p = 400, 4
    xi = make_patterns(np.uint64(8), N, p)
    s = make_patterns(np.uint64(9), N, 1)[:, 0].copy()
    M = M_of(xi, s)
    trace = np.zeros(301, dtype=np.int64)
    anneal(xi, s, M, np.uint64(10), 300, 3.0, 0.05, False, False, 10, trace)
    e = -0.5 * trace / N**2 + 0.5 * p / N
    # T > T_c = 1 during the first 2/3 of the sweeps: paramagnet, E/N = O(p/N)
    assert np.all(np.abs(e[1:150]) < 0.1)
    assert e[-1] < -0.45  # condensed into a pattern at the end


# ----------------------------------------------------------------------------- classification
def _mixture(xi: np.ndarray, nus: list[int], signs: list[int]) -> np.ndarray:
    return np.sign(xi[:, nus].astype(np.int64) @ np.asarray(signs)).astype(np.int8)


def _classify(xi: np.ndarray, s: np.ndarray) -> tuple[int, int]:
    summary = overlap_summary(xi, s, 8)
    code, k = an.classify(summary["m_top"], summary["m_mix"])
    return int(code), int(k)


def test_classification_of_constructed_states() -> None:
    N, p = 4000, 12
    xi = make_patterns(np.uint64(12), N, p)
    rng = np.random.default_rng(0)

    def noisy(s: np.ndarray, frac: float) -> np.ndarray:
        s = s.copy()
        idx = rng.choice(N, size=round(frac * N), replace=False)
        s[idx] = -s[idx]
        return s

    R, X, O = an.RETRIEVAL, an.MIXTURE, an.OTHER
    assert _classify(xi, xi[:, 3]) == (R, 0)
    assert _classify(xi, -xi[:, 3]) == (R, 0)
    assert _classify(xi, noisy(xi[:, 3], 0.04)) == (R, 0)  # m = 0.92
    assert _classify(xi, noisy(xi[:, 3], 0.06)) == (O, 0)  # m = 0.88: below the threshold
    for k in MIX_ORDERS:  # symmetric k-mixtures, any signs, with 4% of the spins flipped
        nus = list(rng.choice(p, size=k, replace=False))
        signs = list(rng.choice([-1, 1], size=k))
        mix = _mixture(xi, nus, signs)
        assert _classify(xi, mix) == (X, k)
        assert _classify(xi, noisy(mix, 0.04)) == (X, k)
        top = overlap_summary(xi, mix, 8)
        assert set(top["top_pattern"][:k]) == set(nus)
        assert np.allclose(np.abs(top["m_top"][:k]), th.mixture_overlap(k), atol=4 / np.sqrt(N))
    random = np.where(rng.random(N) < 0.5, 1, -1).astype(np.int8)
    assert _classify(xi, random) == (O, 0)
    # an asymmetric mixture sign(2 xi^0 + xi^1 + xi^2 + xi^3): m = (3/4, 1/4, 1/4, 1/4)
    asym = _mixture(xi, [0, 0, 1, 2, 3], [1, 1, 1, 1, 1])
    assert _classify(xi, asym) == (O, 0)
    # half of one pattern, half of another: m ~ (1/2, 1/2), an even "mixture"
    half = np.where(np.arange(N) < N // 2, xi[:, 0], xi[:, 1]).astype(np.int8)
    assert _classify(xi, half) == (O, 0)
    # vectorised, with missing runs (NaN) and p < k (NaN mixture overlaps)
    code, k = an.classify(np.array([[1.0, 0.1], [np.nan, np.nan], [0.5, 0.5]]),
                          np.array([[0.5, np.nan, np.nan], [np.nan] * 3, [0.95, np.nan, np.nan]]))
    assert list(code) == [R, -1, X] and list(k) == [0, 0, 3]


def test_overlap_summary_matches_a_direct_computation() -> None:
    N, p = 301, 6
    xi = make_patterns(np.uint64(13), N, p)
    s = make_patterns(np.uint64(14), N, 1)[:, 0].copy()
    out = overlap_summary(xi, s, 8)
    m = xi.astype(np.int64).T @ s.astype(np.int64) / N
    order = np.argsort(-np.abs(m), kind="stable")
    assert np.array_equal(out["top_pattern"], [*order, -1, -1])
    assert np.array_equal(out["m_top"][:p], m[order]) and np.all(np.isnan(out["m_top"][p:]))
    for j, k in enumerate(MIX_ORDERS):
        if k > p:
            assert np.isnan(out["m_mix"][j])
            continue
        mix = _mixture(xi, list(order[:k]), list(np.where(m[order[:k]] >= 0, 1, -1)))
        assert out["m_mix"][j] == float(mix.astype(np.int64) @ s) / N


# ----------------------------------------------------------------------------- exact: p = 1
def test_p1_fixed_points_are_the_pattern_and_its_reverse() -> None:
    """p = 1 (Mattis): s_i H_i = (s_i xi_i) M - 1 >= 0 for all i forces s = +-xi (enumerated)."""
    N = 12
    xi = make_patterns(np.uint64(15), N, 1)
    NJ = dense(xi)
    codes = np.arange(2**N)
    S = (((codes[:, None] >> np.arange(N)) & 1) * 2 - 1).astype(np.int64)
    stable = S[np.all(S * (S @ NJ) >= 0, axis=1)]
    assert sorted(map(tuple, stable)) == sorted([tuple(xi[:, 0]), tuple(-xi[:, 0])])


@pytest.mark.parametrize("tau", [1, 30])
def test_p1_every_anneal_with_a_quench_retrieves(tau: int) -> None:
    settings = anneal_settings(max_n=101)
    for sample in range(4):
        point = {"N": 101, "alpha": 1 / 101, "tau": tau}
        out = run(point, settings, sample)
        xi = Hopfield.patterns({"T": 0.0, "noise": 0.0, **point},
                               unit_seed(1, "hopfield", {"T": 0.0, "noise": 0.0, **point},
                                         sample))
        assert int(out["p"]) == 1 and np.all(np.abs(out["m_top"][:, 0]) == 1.0)
        for s in out["final_state"]:
            assert abs(int(s.astype(np.int64) @ xi[:, 0])) == 101
        code, _ = an.classify(out["m_top"], out["m_mix"])
        assert np.all(code == an.RETRIEVAL)


def mattis_boltzmann(N: int, T: float) -> tuple[float, float]:
    """Exact ``<m^2>`` at p = 1 and ``P(|m| < 0.9)``: ``P(M) ~ C(N, (N+M)/2) exp(M^2 / 2NT)``."""
    M = np.arange(-N, N + 1, 2)
    logw = (special.gammaln(N + 1) - special.gammaln((N + M) / 2 + 1)
            - special.gammaln((N - M) / 2 + 1) + M**2 / (2 * N * T))
    w = np.exp(logw - logw.max())
    w /= w.sum()
    m = M / N
    return float(w @ m**2), float(w[np.abs(m) < 0.9].sum())


def test_p1_heat_bath_reaches_the_exact_boltzmann_moments() -> None:
    """Constant T = 0.8 < T_c = 1 (T_start = T_end): <m^2> of the end states is the exact one."""
    N, T = 64, 0.8
    settings = anneal_settings(T_start=T, T_end=T, final_quench=False, trials=25)
    m2 = np.concatenate([run({"N": N, "alpha": 1 / N, "tau": 150}, settings, r)["m_top"][:, 0]
                         for r in range(24)]) ** 2
    exact, _ = mattis_boltzmann(N, T)
    got, err = m2.mean(), m2.std(ddof=1) / np.sqrt(m2.size)  # runs are independent (p = 1:
    z = (got - exact) / err  # a sample is one random gauge of the same ferromagnet)
    assert abs(z) < Z_MAX, f"<m^2> = {got:.5f} ± {err:.5f} vs exact {exact:.5f} (z = {z:.2f})"


def test_p1_slow_cooling_without_a_quench_ends_in_retrieval() -> None:
    """T_end = 0.05: the exact equilibrium P(|m| < 0.9) is below 1e-12, so every run retrieves."""
    N = 64
    _, p_fail = mattis_boltzmann(N, 0.05)
    assert p_fail < 1e-12
    settings = anneal_settings(final_quench=False, trials=20)
    for r in range(5):
        out = run({"N": N, "alpha": 1 / N, "tau": 100}, settings, r)
        assert np.all(np.abs(out["m_top"][:, 0]) >= 0.9)
        assert np.all(out["quench_flips"] == 0) and np.all(out["e"] == out["e_anneal"])


# ----------------------------------------------------------------------------- exact energies
@pytest.mark.parametrize("k", [1, 3, 5])
def test_finite_n_energy_of_pattern_and_mixture_configurations(k: int) -> None:
    """E[E/N] of sign(xi^1 + ... + xi^k) over random patterns is -(k/2) m_k^2 (1 - 1/N).

    N = 25 (p = 7), 20000 pattern sets: the 1/N term is resolved; the N = infinity value is
    rejected by many standard errors.
    """
    N, p, S = 25, 7, 20000
    rng = np.random.default_rng(k)
    xi = rng.choice(np.array([-1, 1], dtype=np.int64), size=(S, N, p))
    s = np.sign(xi[:, :, :k].sum(axis=2))
    m = np.einsum("sip,si->sp", xi, s) / N
    e = -0.5 * (m**2).sum(axis=1) + 0.5 * p / N
    # the same energy from the dense couplings, for a few sets
    for j in range(3):
        assert e[j] == pytest.approx(energy(dense(xi[j]), s[j]), abs=1e-12)
    got, err = e.mean(), e.std(ddof=1) / np.sqrt(S)
    exact = th.mixture_energy(k, N)
    assert abs(got - exact) < Z_MAX * err, f"{got:.6f} ± {err:.6f} vs {exact:.6f}"
    assert abs(got - th.mixture_energy(k)) > 10 * err  # the finite-N term is real


def test_stored_energies_and_end_states_against_the_dense_couplings() -> None:
    """Every stored e is the energy of the stored configuration; the quench never raises it;
    every end state is single-flip stable; exact-pattern and exact-mixture end states have
    the energies of those configurations computed from the couplings."""
    settings = anneal_settings(max_n=200)
    n_pattern = n_mix = 0
    for N, alpha, tau in ((200, 0.02, 1), (200, 0.02, 30), (101, 0.05, 3), (150, 0.1, 20)):
        for sample in range(3):
            point = {"N": N, "alpha": alpha, "T": 0.0, "noise": 0.0, "tau": tau}
            out = Hopfield().run(point, settings, unit_seed(1, "hopfield", point, sample))
            xi = Hopfield.patterns(point, unit_seed(1, "hopfield", point, sample))
            NJ = dense(xi)
            q = xi.astype(np.int64).T @ xi.astype(np.int64) / N
            e_pattern = -0.5 * (q**2).sum(axis=1) + 0.5 * xi.shape[1] / N
            for t, s in enumerate(out["final_state"][:, :N]):
                assert not out["final_state"][t, N:].any() and set(np.unique(s)) <= {-1, 1}
                assert out["e"][t] == pytest.approx(energy(NJ, s), abs=1e-13)
                assert out["e"][t] <= out["e_anneal"][t] + 1e-15
                h = NJ @ s.astype(np.int64)
                assert np.all(s * h >= 0) and out["fixed_point"][t]
                summary = overlap_summary(xi, s, settings.top)
                for name in ("m_top", "top_pattern", "m_mix"):
                    np.testing.assert_array_equal(summary[name], out[name][t])
                if abs(out["m_top"][t, 0]) == 1.0:  # exactly +-xi^mu
                    mu = out["top_pattern"][t, 0]
                    assert np.array_equal(s, np.sign(out["m_top"][t, 0]) * xi[:, mu])
                    assert out["e"][t] == pytest.approx(e_pattern[mu], abs=1e-13)
                    n_pattern += 1
                if out["m_mix"][t, 0] == 1.0:  # exactly the symmetric 3-mixture template
                    top = out["top_pattern"][t, :3]
                    mix = _mixture(xi, list(top), list(np.sign(out["m_top"][t, :3]).astype(int)))
                    assert np.array_equal(s, mix)
                    assert out["e"][t] == pytest.approx(energy(NJ, mix), abs=1e-13)
                    n_mix += 1
    assert n_pattern >= 50 and n_mix >= 3, (n_pattern, n_mix)


def test_single_flips_never_lower_the_energy_of_an_end_state() -> None:
    """Literally: flip every spin of a few end states and recompute E from the couplings."""
    point = {"N": 120, "alpha": 0.05, "T": 0.0, "noise": 0.0, "tau": 5}
    out = Hopfield().run(point, anneal_settings(max_n=120, trials=4),
                         unit_seed(2, "hopfield", point, 0))
    NJ = dense(Hopfield.patterns(point, unit_seed(2, "hopfield", point, 0)))
    for s in out["final_state"]:
        e0 = energy(NJ, s)
        for i in range(len(s)):
            x = s.copy()
            x[i] = -x[i]
            assert energy(NJ, x) >= e0 - 1e-15


def test_cooling_to_t_end_near_zero_ends_in_a_local_minimum_without_a_quench() -> None:
    """Geometric cooling to T_end = 1e-4 << 1/N (N even, p odd: no field is 0, |h_i| >= 1/N)
    ends single-flip stable; the quench then flips nothing (same streams: the same anneal)."""
    N = 100
    point = {"N": N, "alpha": 0.05, "T": 0.0, "noise": 0.0, "tau": 300}
    bare = anneal_settings(final_quench=False, schedule="geometric", T_end=1e-4, max_n=N)
    quenched = bare.model_copy(update={"final_quench": True})
    for sample in range(3):
        seed = unit_seed(3, "hopfield", point, sample)
        a = Hopfield().run(point, bare, seed)
        b = Hopfield().run(point, quenched, unit_seed(3, "hopfield", point, sample))
        NJ = dense(Hopfield.patterns(point, unit_seed(3, "hopfield", point, sample)))
        assert int(a["p"]) % 2 == 1
        for s in a["final_state"]:
            assert np.all(s * (NJ @ s.astype(np.int64)) > 0)
        assert np.all(a["fixed_point"]) and np.all(b["quench_flips"] == 0)
        np.testing.assert_array_equal(a["final_state"], b["final_state"])
        np.testing.assert_array_equal(a["e"], b["e"])


# ----------------------------------------------------------------------------- reproducibility
def test_same_seed_same_unit_and_patterns_shared_with_the_async_unit() -> None:
    settings = anneal_settings(max_n=150, trials=3)
    point = {"N": 150, "alpha": 0.2, "T": 0.0, "noise": 0.0, "tau": 20}
    a = Hopfield().run(point, settings, unit_seed(4, "hopfield", point, 1))
    b = Hopfield().run(point, settings, unit_seed(4, "hopfield", point, 1))
    c = Hopfield().run(point, settings, unit_seed(4, "hopfield", point, 2))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["final_state"], c["final_state"])
    assert not np.array_equal(a["final_state"][0], a["final_state"][1])
    # the patterns of every tau of a sample are those of the async unit of that sample ...
    async_point = {**point, "tau": 0}
    xi0 = Hopfield.patterns(async_point, unit_seed(4, "hopfield", async_point, 1))
    for tau in (1, 20, 500):
        p = {**point, "tau": tau}
        assert np.array_equal(Hopfield.patterns(p, unit_seed(4, "hopfield", p, 1)), xi0)
    # ... which are the ones the async unit ran on: its trials again, on these patterns
    async_settings = HopfieldSettings(trials=3)
    seed = unit_seed(4, "hopfield", async_point, 1)
    out = Hopfield().run(async_point, async_settings, seed)
    children = unit_seed(4, "hopfield", async_point, 1).spawn(4)
    for t in range(3):
        keys = children[t + 1].generate_state(2, np.uint64)
        res = run_trial(xi0, t, 0, keys[0], keys[1], async_settings)
        for name in ("m", "unstable0", "flips", "e"):
            assert res[name] == out[name][t], name
    assert out["unstable0"].max() > 0  # alpha = 0.2: the comparison is not trivial
    # a group of units is bitwise each unit alone
    points = [{**point, "tau": t} for t in (1, 20)]
    seeds = [unit_seed(4, "hopfield", q, 1) for q in points]
    many = Hopfield().run_many(points, settings, seeds)
    np.testing.assert_array_equal(many[1]["final_state"], a["final_state"])


def _store(path: Path, order: str) -> Path:
    """A small anneal store computed in this process (plan + runner, no orchestration)."""
    from statmech.plan import prepare
    from statmech.runner import run_units

    text = yaml.safe_dump({"model": "hopfield",
                           "axes": {"N": [60, 90], "alpha": [0.05, 0.1], "tau": [2, 15]},
                           "settings": {"dynamics": "anneal", "trials": 3, "max_n": 90},
                           "replicas": 3, "seed": 8, "store": str(path)})
    sweep = parse_config(text)
    units = [[*u[0], u[1]] for b in prepare(sweep).batches for u in b]
    if order == "reversed":
        for u in units[::-1]:  # one at a time, last first
            run_units(sweep.store, text, [u])
    else:
        run_units(sweep.store, text, units)
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("hopfield-anneal")
    return _store(tmp / "a.zarr", "plan"), _store(tmp / "b.zarr", "reversed")


def test_stores_are_bitwise_independent_of_unit_order_and_grouping(
    stores: tuple[Path, Path],
) -> None:
    a, b = (xr.open_zarr(p).load() for p in stores)
    assert bool(a["done"].all()) and bool(b["done"].all())
    for name in [v.name for v in ANNEAL_VARIABLES] + ["final_state"]:
        assert a[name].dtype == b[name].dtype
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_presentation_of_an_anneal_store(stores: tuple[Path, Path], tmp_path: Path) -> None:
    """The figure and the report rows (the flow version: tests/test_hopfield_anneal_flow.py)."""
    import re

    from statmech.models.hopfield.presentation import PRESENTATION, capacity
    from statmech.plots import write_figures
    from statmech.report import write_report

    ds = xr.open_zarr(stores[0])
    out = an.anneal_outcomes(an.load(ds))
    assert np.allclose(out["frac"].sum("outcome").values, 1.0)
    assert int(out["n_runs"].min()) == 9
    assert np.all((out["lo"] <= out["frac"]) & (out["frac"] <= out["hi"]))
    rows = PRESENTATION.estimates(ds)
    assert len(rows) == 3 * 4 and rows[0].key == "anneal_retrieval_N60_alpha0.05_tau15"
    for r in rows:
        o = out.sel(outcome=r.key.split("_")[1], N=int(r.key.split("_N")[1].split("_")[0]),
                    alpha=float(r.key.split("_alpha")[1].split("_")[0]),
                    tau=int(r.key.split("_tau")[1]))
        assert r.value == float(o["frac"]) and r.error == float(o["err"]) > 0
    with pytest.raises(ValueError, match="annealing store"):
        capacity(ds, 3)
    paths = write_figures(ds, tmp_path / "plots")
    assert [p.name for p in paths] == ["anneal_outcomes.png"]
    page = write_report(stores[0], tmp_path / "report").read_text()
    keys = set(re.findall(r'<td class="value" data-key="([^"]+)"', page))
    assert {r.key for r in rows} <= keys


# ----------------------------------------------------------------------------- physics
def test_slow_cooling_favours_retrieval_over_mixtures_at_small_load() -> None:
    """N = 200, alpha = 0.02 (p = 4): a quench (tau = 1) from a random state ends in a
    symmetric mixture in ~20% of the runs; slow cooling (tau = 300) in a pattern."""
    settings = anneal_settings()
    frac: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for tau in (1, 300):
        per = np.array([np.bincount(an.classify(o["m_top"], o["m_mix"])[0], minlength=3)
                        for o in (run({"N": 200, "alpha": 0.02, "tau": tau}, settings, r)
                                  for r in range(20))]) / settings.trials
        frac[tau] = per.mean(axis=0), per.std(axis=0, ddof=1) / math.sqrt(len(per))
    (f1, e1), (f2, e2) = frac[1], frac[300]
    ret, mix = an.RETRIEVAL, an.MIXTURE
    assert f2[ret] - f1[ret] > Z_MAX * math.hypot(e1[ret], e2[ret]), frac
    assert f1[mix] - f2[mix] > Z_MAX * math.hypot(e1[mix], e2[mix]), frac
    assert f2[ret] > 0.95


def test_mixtures_catch_runs_that_condense_below_their_stability_temperature() -> None:
    """N = 300, alpha = 0.01 (p = 3), tau = 200: condensing at T = 0.6 > T_3 = 0.46 (mixtures
    are saddles there) ends in a pattern; starting the same slow anneal at T = 0.15 < T_3
    (mixtures are local minima) ends in the 3-mixture in ~10% of the runs."""
    assert 0.15 < th.mixture_stability_temperature(3) < 0.6
    frac = {}
    for T0 in (0.6, 0.15):
        settings = anneal_settings(T_start=T0)
        per = np.array([np.bincount(an.classify(o["m_top"], o["m_mix"])[0], minlength=3)
                        for o in (run({"N": 300, "alpha": 0.01, "tau": 200}, settings, r,
                                      seed=7) for r in range(20))]) / settings.trials
        frac[T0] = per.mean(axis=0), per.std(axis=0, ddof=1) / math.sqrt(len(per))
    (f_hot, e_hot), (f_cold, e_cold) = frac[0.6], frac[0.15]
    mix = an.MIXTURE
    assert f_hot[mix] == 0.0 and f_hot[an.RETRIEVAL] == 1.0
    assert f_cold[mix] - f_hot[mix] > Z_MAX * math.hypot(e_cold[mix], e_hot[mix]), frac
