"""The Hopfield network with Hebbian couplings (``hopfield``): storage capacity and retrieval.

Conventions: k_B = 1, T is the temperature (in units of the Hebbian coupling scale). Every
sample draws ``p = round(alpha N)`` (half up) random +-1 patterns ``xi^mu`` and builds the network
``J_ij = (1/N) sum_mu xi_i^mu xi_j^mu``, ``J_ii = 0`` (never as a matrix, see
:mod:`statmech.models.hopfield.kernels`). Local field ``h_i = sum_{j != i} J_ij s_j``; energy per
spin ``E/N = -(1/2N) sum_{i != j} J_ij s_i s_j = -(1/2) sum_mu (m^mu)^2 + p/(2N)``; overlap
``m^mu = (1/N) sum_i xi_i^mu s_i``.

Per sample, ``trials`` patterns (``mu = 0 ... trials - 1``, the ``trial`` dimension) are tested
one after the other: the network starts from the pattern with ``round(noise N)`` distinct
randomly chosen spins flipped (initial overlap ``1 - 2 round(noise N) / N``) and runs the chosen
dynamics:

* ``async``: zero-T random sequential updates ``s_i <- sign(h_i)`` (ties keep ``s_i``), sweep by
  sweep in a fresh random order, until a sweep flips nothing (a fixed point) or ``max_sweeps``
  sweeps with flips;
* ``sync``: zero-T synchronous (Little) updates of all spins at once, until a fixed point, a
  2-cycle (detected, reported as ``cycle2`` and never as a fixed point) or ``max_sweeps`` steps;
* ``glauber``: heat-bath updates at temperature T, random sequential, ``sweeps`` sweeps of which
  the last ``measure`` are averaged (``m_avg``, ``e_avg``).

Stored per (point, sample, trial): the final overlap ``m`` with the target, its time average
``m_avg``, the best other overlap ``m_other = max_{nu != mu} |m^nu|``, the overlap ``m_mix3``
with the symmetric 3-mixture of the three patterns with the largest ``|m^nu|``, the final and
averaged energy per spin, sweeps, convergence and fixed-point flags, the 2-cycle flag, the
fraction of spins that differ from the initial state and the fraction of unstable spins
(``s_i h_i < 0``) in the initial state, which for ``noise = 0`` is the one-step crosstalk error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from statmech.models.base import Model, Parameter, Point, Scalar, Variable
from statmech.models.hopfield.kernels import (
    count_unstable,
    flip_random,
    make_patterns,
    overlap_dtype,
    overlaps,
    sequential,
    synchronous,
)
from statmech.seeding import kernel_key

CONVENTIONS = (
    "k_B = 1; T is the temperature in units of the Hebbian coupling scale; p = round(alpha N) "
    "(half up) random +-1 patterns xi^mu per sample; J_ij = (1/N) sum_mu xi_i^mu xi_j^mu, "
    "J_ii = 0; h_i = sum_{j!=i} J_ij s_j; E/N = -(1/2N) sum_{i!=j} J_ij s_i s_j "
    "= -(1/2) sum_mu (m^mu)^2 + p/(2N); m^mu = (1/N) sum_i xi_i^mu s_i; trial t tests pattern t, "
    "started from it with round(noise N) random spins flipped; zero-T rule s_i <- sign(h_i), "
    "ties keep s_i; fixed point: s_i h_i >= 0 for all i; Glauber: P(s_i = +1) = "
    "1/(1 + exp(-2 h_i/T)); one sweep = N updates in a fresh random order (sync: one parallel "
    "step)."
)

_EMPTY = np.empty(0, dtype=np.int64)


def n_patterns(N: int, alpha: float) -> int:
    """``p = round(alpha N)``, halves rounded up: ``floor(alpha N + 1/2)``.

    (1e-9 is added so that a half such as 0.138 x 250 = 34.5, stored as 34.4999..., rounds up.)
    """
    return math.floor(alpha * N + 0.5 + 1e-9)


def n_flipped(N: int, noise: float) -> int:
    """Spins flipped in the initial state: ``round(noise N)``, halves rounded up."""
    return math.floor(noise * N + 0.5 + 1e-9)


class HopfieldSettings(BaseModel):
    """Dynamics and measurement settings of the Hopfield model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dynamics: Literal["async", "sync", "glauber"] = Field(
        "async",
        description="async: zero-T random sequential; sync: zero-T synchronous (Little); "
        "glauber: heat bath at temperature T",
    )
    trials: int = Field(
        5, ge=1, le=10_000,
        description="patterns tested per sample (trial t starts from pattern t); needs p >= trials",
    )
    max_sweeps: int = Field(
        500, ge=1, description="zero-T dynamics: cap on sweeps (async) or steps (sync) with flips"
    )
    sweeps: int = Field(200, ge=1, description="glauber: sweeps run per trial")
    measure: int = Field(
        100, ge=1, description="glauber: final sweeps averaged into m_avg and e_avg"
    )

    @model_validator(mode="after")
    def _measure_within_sweeps(self) -> HopfieldSettings:
        if self.measure > self.sweeps:
            raise ValueError(
                f"measure = {self.measure} must be <= sweeps = {self.sweeps} (the measurement "
                "window is the last `measure` of the `sweeps` Glauber sweeps)"
            )
        return self


def _check_N(v: Scalar) -> str | None:
    return None if v >= 2 else f"N must be >= 2 (got {v})"


def _check_alpha(v: Scalar) -> str | None:
    return None if v > 0 else f"alpha must be > 0 (got {v})"


def _check_T(v: Scalar) -> str | None:
    return None if v >= 0 else f"T must be >= 0 (got {v})"


def _check_noise(v: Scalar) -> str | None:
    return None if 0 <= v <= 0.5 else f"noise must be in [0, 0.5] (got {v})"


def _variables() -> tuple[Variable, ...]:
    t = ("trial",)
    return (
        Variable("m", "final overlap with the target pattern", dims=t,
                 description="m^mu = (1/N) sum_i xi_i^mu s_i of the final state, mu = trial"),
        Variable("m_avg", "time-averaged overlap with the target pattern", dims=t,
                 description="glauber: mean over the last `measure` sweeps; sync 2-cycle: mean "
                 "over the two states; otherwise equal to m"),
        Variable("m_other", "largest |overlap| with another pattern", dims=t,
                 description="max_{nu != mu} |m^nu| of the final state (NaN if p = 1)"),
        Variable("m_mix3", "overlap with the symmetric 3-mixture of the top patterns", dims=t,
                 description="(1/N) sum_i sign(sum_{nu in top3} sign(m^nu) xi_i^nu) s_i, top3 = "
                 "the three patterns with the largest |m^nu| in the final state (NaN if p < 3); "
                 "1 in a symmetric 3-mixture state, 1/2 in a pure retrieval state"),
        Variable("e", "final energy per spin", dims=t,
                 description="E/N = -(1/2) sum_mu (m^mu)^2 + p/(2N)"),
        Variable("e_avg", "time-averaged energy per spin", dims=t,
                 description="like m_avg, for E/N"),
        Variable("sweeps", "sweeps (steps for sync) that changed the state", dtype="int32",
                 dims=t, units="sweeps",
                 description="zero-T: sweeps with at least one flip before convergence (0 if the "
                 "start is a fixed point; = max_sweeps when the cap was reached); glauber: "
                 "sweeps run"),
        Variable("converged", "zero-T dynamics stopped at a fixed point", dtype="bool", dims=t,
                 description="False when the cap was reached, on a sync 2-cycle, and for glauber"),
        Variable("fixed_point", "final state is a fixed point", dtype="bool", dims=t,
                 description="s_i h_i >= 0 for every i (single-flip stable)"),
        Variable("cycle2", "sync dynamics ended in a 2-cycle", dtype="bool", dims=t),
        Variable("flipped", "fraction of spins differing from the initial state", dims=t,
                 description="Hamming distance between the final and the initial state / N"),
        Variable("flips", "spin flips per spin during the run", dims=t,
                 description="total accepted flips / N (sync: spins changed summed over steps)"),
        Variable("unstable0", "fraction of unstable spins in the initial state", dims=t,
                 description="fraction with s_i h_i < 0 at the start; for noise = 0 the one-step "
                 "crosstalk error of the stored pattern"),
        Variable("p", "number of stored patterns", dtype="int64",
                 description="p = round(alpha N), halves up; the effective load is p/N"),
    )


VARIABLES = _variables()


class Hopfield(Model):
    """Hopfield network: Hebbian couplings, random patterns, zero-T or Glauber retrieval."""

    name: ClassVar[str] = "hopfield"
    summary: ClassVar[str] = "Hopfield network with Hebbian couplings: retrieval of stored patterns"
    conventions: ClassVar[str] = CONVENTIONS
    settings_class: ClassVar[type[BaseModel]] = HopfieldSettings
    replica_dim: ClassVar[str] = "sample"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("N", "int", "number of neurons (spins)", "spins", check=_check_N),
        Parameter("alpha", "float", "load alpha = p/N (p = round(alpha N) patterns)", "1",
                  check=_check_alpha),
        Parameter("T", "float", "temperature (glauber only; 0 for async and sync)", "1",
                  default=0.0, check=_check_T),
        Parameter("noise", "float", "fraction of spins flipped in the initial state", "1",
                  default=0.0, check=_check_noise),
    )
    #: seconds per int8 x int16 multiply-add of a local field and per spin visit (shuffle,
    #: rule, random row access); one core of a 2-core AMD EPYC (benchmarks/hopfield.py: 13 ns
    #: per update at p = 138, 51 ns at p = 1104). Used for batch sizing only.
    s_per_mac: ClassVar[float] = 4.5e-11
    s_per_update: ClassVar[float] = 6e-9

    def variables(self, settings: BaseModel) -> tuple[Variable, ...]:
        """Per-sample variables; all but ``p`` have the ``trial`` dimension."""
        return VARIABLES

    def extra_coords(
        self, settings: BaseModel, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``trial``: index of the tested pattern."""
        assert isinstance(settings, HopfieldSettings)
        return {"trial": np.arange(settings.trials)}

    def check_point(self, point: Point, settings: BaseModel) -> str | None:
        """p >= trials, T = 0 for the zero-T dynamics, and int32 local fields (N p < 2^31)."""
        assert isinstance(settings, HopfieldSettings)
        N, alpha, T = int(point["N"]), float(point["alpha"]), float(point["T"])
        p = n_patterns(N, alpha)
        if p < 1:
            return f"alpha N = {alpha * N:g} rounds to p = 0 patterns; increase alpha or N"
        if p < settings.trials:
            return (f"p = round(alpha N) = {p} patterns but settings.trials = {settings.trials}: "
                    "every trial tests a different pattern, so trials must be <= p "
                    "(lower trials or raise alpha N)")
        if settings.dynamics != "glauber" and T != 0:
            return (f"T = {T:g} > 0 needs settings.dynamics: glauber "
                    f"({settings.dynamics} is a zero-temperature dynamics)")
        if N * p >= 2**31:
            return f"N p = {N * p} must be < 2^31 (integer local fields)"
        return None

    def cost(self, point: Point, settings: BaseModel) -> float:
        """Seconds: trials x passes x N p multiply-adds (+ pattern generation and overhead).

        Zero-T passes: the initial stability count, the sweeps with flips (a few below alpha_c,
        tens above, growing with N; roughly 3 + 60 alpha sqrt(N / 250)) and the final check.
        Glauber: up to two passes per sweep (a flip also updates the overlaps, in O(p)). The
        constant 15 ms is the store write of the unit's 17 small chunks, which dominates below
        N ~ 2000. Only used to size batches.
        """
        assert isinstance(settings, HopfieldSettings)
        N, alpha = int(point["N"]), float(point["alpha"])
        p = max(n_patterns(N, alpha), 1)
        if settings.dynamics == "glauber":  # every sweep, plus exp and a flip most visits
            passes = 2.0 * settings.sweeps + 2.0
        else:
            passes = min(settings.max_sweeps, 3.0 + 60.0 * alpha * math.sqrt(N / 250)) + 2.0
        per_trial = passes * N * (p * self.s_per_mac + self.s_per_update) + 2e-5
        return settings.trials * per_trial + N * p * 1e-9 + 0.015

    def warmup(self, settings: BaseModel) -> None:
        """Compile or load the kernels of the chosen dynamics on a tiny network."""
        assert isinstance(settings, HopfieldSettings)
        tiny = settings.model_copy(update={"trials": 1, "max_sweeps": 3, "sweeps": 2,
                                           "measure": 1})
        T = 0.5 if settings.dynamics == "glauber" else 0.0
        self.run({"N": 16, "alpha": 0.25, "T": T, "noise": 0.25}, tiny,
                 np.random.SeedSequence(0))

    def run(
        self, point: Point, settings: BaseModel, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One sample: a fresh pattern set, then ``trials`` retrieval runs.

        Streams: child 0 of ``seed`` draws the patterns; child ``t + 1`` gives trial ``t`` two
        keys (initial flips, dynamics), so adding trials never changes the existing ones.
        """
        assert isinstance(settings, HopfieldSettings)
        N, alpha = int(point["N"]), float(point["alpha"])
        T, noise = float(point["T"]), float(point["noise"])
        p = n_patterns(N, alpha)
        n_trials = settings.trials
        children = seed.spawn(1 + n_trials)
        xi = make_patterns(kernel_key(children[0]), N, p)
        k = n_flipped(N, noise)
        out = {v.name: np.zeros(n_trials, dtype=v.dtype) for v in VARIABLES if v.dims}
        for t in range(n_trials):
            init_key, dyn_key = children[t + 1].generate_state(2, np.uint64)
            res = run_trial(xi, t, k, init_key, dyn_key, settings, T)
            for name, value in res.items():
                out[name][t] = value
        out["p"] = np.asarray(p, dtype=np.int64)
        return out


def run_trial(
    xi: np.ndarray, target: int, k: int, init_key: np.uint64, dyn_key: np.uint64,
    settings: HopfieldSettings, T: float = 0.0, s0: np.ndarray | None = None,
) -> dict[str, float | int | bool]:
    """One retrieval run in the network of patterns ``xi`` (``int8``, shape ``(N, p)``).

    Starts from pattern ``target`` with ``k`` random spins flipped (stream ``init_key``), or from
    ``s0`` when given; returns the per-trial values of :data:`VARIABLES`.
    """
    N, p = xi.shape
    if s0 is None:
        s = xi[:, target].copy()
        flip_random(s, k, init_key)
    else:
        s = np.asarray(s0, dtype=np.int8).copy()
    start = s.copy()
    M = overlaps(xi, s, np.empty(p, dtype=overlap_dtype(N)))
    unstable0 = count_unstable(xi, M, s) / N
    cycle2 = False
    if settings.dynamics == "sync":
        sweeps, converged, cycle2, flips, m_o, q_o = synchronous(
            xi, s, M, settings.max_sweeps, target, _EMPTY)
        m_sum, q_sum, n_meas = int(M[target]) + m_o, _sumsq(M) + q_o, 2
    elif settings.dynamics == "async":
        sweeps, converged, flips, *_ = sequential(
            xi, s, M, dyn_key, 0.0, True, settings.max_sweeps, 0, target, _EMPTY, _EMPTY)
        m_sum, q_sum, n_meas = int(M[target]), _sumsq(M), 1  # frozen at the final state
    else:
        sweeps, converged, flips, m_sum, q_sum, n_meas = sequential(
            xi, s, M, dyn_key, T, False, settings.sweeps, settings.measure, target, _EMPTY,
            _EMPTY)
    fixed = bool(converged) or (not cycle2 and count_unstable(xi, M, s) == 0)
    Mi = M.astype(np.int64)
    m_all = Mi / N
    e_of = lambda q: -0.5 * q / N**2 + 0.5 * p / N  # noqa: E731  (sum M^2 -> E/N)
    res: dict[str, float | int | bool] = {
        "m": m_all[target],
        "m_avg": m_sum / (n_meas * N),
        "e": e_of(float(_sumsq(M))),
        "e_avg": e_of(q_sum / n_meas),
        "sweeps": int(sweeps),
        "converged": bool(converged),
        "fixed_point": fixed,
        "cycle2": bool(cycle2),
        "flipped": float(np.count_nonzero(s != start)) / N,
        "flips": int(flips) / N,
        "unstable0": unstable0,
    }
    a = np.abs(m_all)
    res["m_other"] = float(np.delete(a, target).max()) if p > 1 else np.nan
    if p >= 3:
        top = np.argsort(-a, kind="stable")[:3]
        signs = np.where(Mi[top] >= 0, 1, -1)
        mix = np.sign(xi[:, top].astype(np.int32) @ signs)  # odd sum of three +-1: never 0
        res["m_mix3"] = float(mix @ s.astype(np.int32)) / N
    else:
        res["m_mix3"] = np.nan
    return res


def _sumsq(M: np.ndarray) -> int:
    Mi = M.astype(np.int64)
    return int(Mi @ Mi)
