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
  the last ``measure`` are averaged (``m_avg``, ``e_avg``);
* ``anneal``: simulated annealing (see below).

Stored per (point, sample, trial): the final overlap ``m`` with the target, its time average
``m_avg``, the best other overlap ``m_other = max_{nu != mu} |m^nu|``, the overlap ``m_mix3``
with the symmetric 3-mixture of the three patterns with the largest ``|m^nu|``, the final and
averaged energy per spin, sweeps, convergence and fixed-point flags, the 2-cycle flag, the
fraction of spins that differ from the initial state and the fraction of unstable spins
(``s_i h_i < 0``) in the initial state, which for ``noise = 0`` is the one-step crosstalk error.

``dynamics: anneal`` (simulated annealing, :data:`ANNEAL_VARIABLES`): per sample, ``trials``
independent runs on the sample's network. A run starts from a uniformly random configuration
(``start: random``) or from pattern ``trial`` with ``round(noise N)`` spins flipped (``start:
pattern``), makes ``tau`` heat-bath sweeps (``tau``: an axis parameter) at the temperatures
``T_start -> T_end`` of the ``linear`` or ``geometric`` schedule of ``sk``'s annealing, and
(``final_quench``) ends with zero-T asynchronous sweeps until a sweep flips nothing. Stored per
run: the ``top`` largest overlaps ``m^mu`` in order of decreasing ``|m^mu|`` and their pattern
indices, the overlaps with the symmetric 3-, 5- and 7-mixtures of the patterns with the largest
``|m^mu|``, the exact energy per spin at the end of the anneal and after the quench, the
fixed-point flag, flip counts and (``max_n``) the final configuration. The classification into
retrieval / mixture / other is done on these raw numbers by
:func:`statmech.analysis.hopfield.classify`. The patterns of an annealing unit are those of the
unit of the same point without ``tau`` (:func:`statmech.seeding.sibling_seed`): every ``tau``
of a sample anneals the network that the ``async`` / ``sync`` / ``glauber`` stores with the same
seed, N, alpha, T, noise and sample hold; the runs' streams come from the unit's own seed.
``tau`` at its default 0 is left out of the unit seed (``seed_omits_default``), so the stores of
the other dynamics are bitwise those made before annealing existed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from statmech.models.base import ADDED_SETTING, Model, Parameter, Point, Scalar, Variable
from statmech.models.hopfield.kernels import (
    anneal,
    count_unstable,
    flip_random,
    make_patterns,
    overlap_dtype,
    overlaps,
    sequential,
    synchronous,
)
from statmech.seeding import kernel_key, sibling_seed

CONVENTIONS = (
    "k_B = 1; T is the temperature in units of the Hebbian coupling scale; p = round(alpha N) "
    "(half up) random +-1 patterns xi^mu per sample; J_ij = (1/N) sum_mu xi_i^mu xi_j^mu, "
    "J_ii = 0; h_i = sum_{j!=i} J_ij s_j; E/N = -(1/2N) sum_{i!=j} J_ij s_i s_j "
    "= -(1/2) sum_mu (m^mu)^2 + p/(2N); m^mu = (1/N) sum_i xi_i^mu s_i; trial t tests pattern t, "
    "started from it with round(noise N) random spins flipped; zero-T rule s_i <- sign(h_i), "
    "ties keep s_i; fixed point: s_i h_i >= 0 for all i; Glauber: P(s_i = +1) = "
    "1/(1 + exp(-2 h_i/T)); one sweep = N updates in a fresh random order (sync: one parallel "
    "step). Anneal: trial = independent run, random start (or pattern trial with noise), tau "
    "heat-bath sweeps at T_t = T_start + (T_end - T_start) t/(tau - 1) (linear) or "
    "T_start (T_end/T_start)^(t/(tau - 1)) (geometric), t = 0 .. tau - 1, then zero-T sweeps "
    "until none flips (final_quench); m_top: overlaps by decreasing |m^mu|; m_mix: overlap with "
    "sign(sum_{nu in top k} sign(m^nu) xi^nu), k = 3, 5, 7."
)

#: orders k of the symmetric mixtures whose overlaps an annealing run stores (``mixture`` dim)
MIX_ORDERS = (3, 5, 7)

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

    dynamics: Literal["async", "sync", "glauber", "anneal"] = Field(
        "async",
        description="async: zero-T random sequential; sync: zero-T synchronous (Little); "
        "glauber: heat bath at temperature T; anneal: heat bath from T_start to T_end over tau "
        "sweeps (tau: the axis parameter), then a zero-T quench",
    )
    trials: int = Field(
        5, ge=1, le=10_000,
        description="patterns tested per sample (trial t starts from pattern t); needs p >= trials",
    )
    max_sweeps: int = Field(
        500, ge=1, description="zero-T dynamics: cap on sweeps (async, the final quench of "
        "anneal) or steps (sync) with flips"
    )
    sweeps: int = Field(200, ge=1, description="glauber: sweeps run per trial")
    measure: int = Field(
        100, ge=1, description="glauber: final sweeps averaged into m_avg and e_avg"
    )
    # -- anneal
    start: Literal["random", "pattern"] = Field(
        "random", description="anneal: initial state: a uniformly random configuration, or "
        "pattern `trial` with round(noise N) random spins flipped",
        json_schema_extra=ADDED_SETTING,
    )
    T_start: float = Field(
        1.5, gt=0, description="anneal: temperature of the first sweep",
        json_schema_extra=ADDED_SETTING)
    T_end: float = Field(
        0.05, gt=0, description="anneal: temperature of the last sweep",
        json_schema_extra=ADDED_SETTING)
    schedule: Literal["linear", "geometric"] = Field(
        "linear", description="anneal: T linear or geometric in the sweep index",
        json_schema_extra=ADDED_SETTING,
    )
    final_quench: bool = Field(
        True, description="anneal: finish with zero-T random sequential sweeps (flip iff "
        "s_i h_i < 0) until a sweep flips nothing, so that every run ends at a fixed point",
        json_schema_extra=ADDED_SETTING,
    )
    top: int = Field(
        8, ge=4, le=64, description="anneal: overlaps stored per run, the largest |m^mu| "
        "(m_top, top_pattern; rank dimension)",
        json_schema_extra=ADDED_SETTING,
    )
    max_n: int | None = Field(
        None, ge=2, description="anneal: also store each run's final configuration "
        "(final_state, site dimension of this size; every N must be <= max_n); none: not stored",
        json_schema_extra=ADDED_SETTING)

    @model_validator(mode="after")
    def _measure_within_sweeps(self) -> HopfieldSettings:
        if self.measure > self.sweeps:
            raise ValueError(
                f"measure = {self.measure} must be <= sweeps = {self.sweeps} (the measurement "
                "window is the last `measure` of the `sweeps` Glauber sweeps)"
            )
        if self.dynamics == "anneal" and self.T_end > self.T_start:
            raise ValueError(f"anneal: T_end = {self.T_end} must not exceed T_start = "
                             f"{self.T_start}")
        return self


def _check_N(v: Scalar) -> str | None:
    return None if v >= 2 else f"N must be >= 2 (got {v})"


def _check_alpha(v: Scalar) -> str | None:
    return None if v > 0 else f"alpha must be > 0 (got {v})"


def _check_T(v: Scalar) -> str | None:
    return None if v >= 0 else f"T must be >= 0 (got {v})"


def _check_noise(v: Scalar) -> str | None:
    return None if 0 <= v <= 0.5 else f"noise must be in [0, 0.5] (got {v})"


def _check_tau(v: Scalar) -> str | None:
    return None if 0 <= v <= 10**9 else f"tau must be in 0 .. 1e9 sweeps (got {v})"


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


def _anneal_variables() -> tuple[Variable, ...]:
    t = ("trial",)
    return (
        Variable("m_top", "largest overlaps, by decreasing |m^mu|", dims=("trial", "rank"),
                 description="m^mu of the final state for the `top` patterns with the largest "
                 "|m^mu| (rank 0: the largest), with their sign; NaN for rank >= p"),
        Variable("top_pattern", "pattern index of m_top", dtype="int32", dims=("trial", "rank"),
                 description="mu of each m_top entry (ties: the lower mu first); -1 for "
                 "rank >= p"),
        Variable("m_mix", "overlap with the symmetric k-mixture of the top k patterns",
                 dims=("trial", "mixture"),
                 description="(1/N) sum_i sign(sum_{nu in top k} sign(m^nu) xi_i^nu) s_i for "
                 "k = 3, 5, 7 (the mixture coordinate), top k = the k patterns with the "
                 "largest |m^nu| (m^nu = 0 counts as +); 1 in that mixture state; NaN if p < k"),
        Variable("m_target", "final overlap with pattern `trial`", dims=t,
                 description="start: pattern only (the pattern the run started from); NaN "
                 "with start: random"),
        Variable("e", "final energy per spin", dims=t,
                 description="E/N = -(1/2) sum_mu (m^mu)^2 + p/(2N), exact (integer overlaps)"),
        Variable("e_anneal", "energy per spin at the end of the tau sweeps", dims=t,
                 description="before the final quench (= e without final_quench)"),
        Variable("fixed_point", "final state is a fixed point", dtype="bool", dims=t,
                 description="s_i h_i >= 0 for every i (single-flip stable), counted directly"),
        Variable("acceptance", "flips per spin update during the anneal", dims=t,
                 description="accepted heat-bath flips / (tau N)"),
        Variable("quench_flips", "flips per spin in the final quench", dims=t,
                 description="zero-T flips after the tau sweeps / N (0 without final_quench)"),
        Variable("quench_sweeps", "sweeps with flips in the final quench", dtype="int32",
                 dims=t, units="sweeps", description="= max_sweeps when the cap was reached"),
        Variable("p", "number of stored patterns", dtype="int64",
                 description="p = round(alpha N), halves up; the effective load is p/N"),
    )


ANNEAL_VARIABLES = _anneal_variables()
FINAL_STATE = Variable("final_state", "configuration at the end of each run", dtype="int8",
                       dims=("trial", "site"),
                       description="+-1 spins; 0 for sites >= N (stored when settings.max_n "
                       "is given)")


class Hopfield(Model[HopfieldSettings]):
    """Hopfield network: Hebbian couplings, random patterns, zero-T or Glauber retrieval."""

    name: ClassVar[str] = "hopfield"
    presentation: ClassVar[str | None] = "statmech.models.hopfield.presentation:PRESENTATION"
    summary: ClassVar[str] = "Hopfield network with Hebbian couplings: retrieval of stored patterns"
    conventions: ClassVar[str] = CONVENTIONS
    settings_class = HopfieldSettings
    replica_dim: ClassVar[str] = "sample"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("N", "int", "number of neurons (spins)", "spins", check=_check_N),
        Parameter("alpha", "float", "load alpha = p/N (p = round(alpha N) patterns)", "1",
                  check=_check_alpha),
        Parameter("T", "float", "temperature (glauber only; 0 for async and sync)", "1",
                  default=0.0, check=_check_T),
        Parameter("noise", "float", "fraction of spins flipped in the initial state", "1",
                  default=0.0, check=_check_noise),
        Parameter("tau", "int", "annealing length in sweeps (dynamics: anneal only; 0 "
                  "otherwise)", "sweeps", default=0, check=_check_tau, seed_omits_default=True),
    )
    #: seconds per int8 x int16 multiply-add of a local field and per spin visit (shuffle,
    #: rule, random row access); one core of a 2-core AMD EPYC (benchmarks/hopfield.py: 13 ns
    #: per update at p = 138, 51 ns at p = 1104). Used for batch sizing only.
    s_per_mac: ClassVar[float] = 4.5e-11
    s_per_update: ClassVar[float] = 6e-9

    def variables(self, settings: HopfieldSettings) -> tuple[Variable, ...]:
        """Per-sample variables; all but ``p`` have the ``trial`` dimension.

        ``dynamics: anneal``: :data:`ANNEAL_VARIABLES` (and ``final_state`` with ``max_n``).
        """
        if settings.dynamics == "anneal":
            return ANNEAL_VARIABLES + ((FINAL_STATE,) if settings.max_n else ())
        return VARIABLES

    def extra_coords(
        self, settings: HopfieldSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``trial``: index of the tested pattern (anneal: of the run).

        Anneal also: ``rank`` (of m_top), ``mixture`` (k of m_mix), with ``max_n`` ``site``.
        """
        out = {"trial": np.arange(settings.trials)}
        if settings.dynamics == "anneal":
            out["rank"] = np.arange(settings.top)
            out["mixture"] = np.asarray(MIX_ORDERS)
            if settings.max_n:
                out["site"] = np.arange(settings.max_n)
        return out

    def check_point(self, point: Point, settings: HopfieldSettings) -> str | None:
        """p >= trials, T = 0 for the zero-T dynamics, and int32 local fields (N p < 2^31).

        ``tau`` (annealing sweeps) must be >= 1 with ``dynamics: anneal`` and 0 (absent)
        otherwise; annealing takes its temperatures from the settings (T = 0), uses ``noise``
        only with ``start: pattern`` (and then needs p >= trials), and N <= ``max_n``.
        """
        N, alpha, T = int(point["N"]), float(point["alpha"]), float(point["T"])
        tau, noise = int(point.get("tau", 0)), float(point.get("noise", 0.0))
        p = n_patterns(N, alpha)
        anneal = settings.dynamics == "anneal"
        if p < 1:
            return f"alpha N = {alpha * N:g} rounds to p = 0 patterns; increase alpha or N"
        if anneal and tau < 1:
            return ("dynamics: anneal needs the annealing length tau >= 1 sweeps (put tau on an "
                    f"axis or under 'fixed'; got tau = {tau})")
        if not anneal and tau != 0:
            return (f"tau = {tau} is the annealing length; it is only used with dynamics: "
                    "anneal (leave it out otherwise)")
        if anneal and T != 0:
            return (f"T = {T:g}: dynamics: anneal takes its temperatures from settings.T_start "
                    "and settings.T_end (T is the temperature of dynamics: glauber; leave it "
                    "out)")
        if anneal and settings.start == "random" and noise != 0:
            return (f"noise = {noise:g} flips spins of a starting pattern; with settings.start: "
                    "random every run starts from a uniformly random configuration (leave "
                    "noise out, or set settings.start: pattern)")
        if (not anneal or settings.start == "pattern") and p < settings.trials:
            return (f"p = round(alpha N) = {p} patterns but settings.trials = {settings.trials}: "
                    "every trial tests a different pattern, so trials must be <= p "
                    "(lower trials or raise alpha N)")
        if not anneal and settings.dynamics != "glauber" and T != 0:
            return (f"T = {T:g} > 0 needs settings.dynamics: glauber "
                    f"({settings.dynamics} is a zero-temperature dynamics)")
        if anneal and settings.max_n is not None and N > settings.max_n:
            return (f"N = {N} is above settings.max_n = {settings.max_n} (the size of the "
                    "stored final configurations): raise settings.max_n, or leave it out to "
                    "store no configurations")
        if N * p >= 2**31:
            return f"N p = {N * p} must be < 2^31 (integer local fields)"
        return None

    def cost(self, point: Point, settings: HopfieldSettings) -> float:
        """Seconds: trials x passes x N p multiply-adds (+ pattern generation and overhead).

        Zero-T passes: the initial stability count, the sweeps with flips (a few below alpha_c,
        tens above, growing with N; roughly 3 + 60 alpha sqrt(N / 250)) and the final check.
        Glauber: up to two passes per sweep (a flip also updates the overlaps, in O(p)). The
        constant 15 ms is the store write of the unit's 17 small chunks, which dominates below
        N ~ 2000. Only used to size batches.
        """
        N, alpha = int(point["N"]), float(point["alpha"])
        p = max(n_patterns(N, alpha), 1)
        if settings.dynamics == "glauber":  # every sweep, plus exp and a flip most visits
            passes = 2.0 * settings.sweeps + 2.0
        elif settings.dynamics == "anneal":  # like glauber, plus a short quench
            passes = 2.0 * int(point.get("tau", 1)) + 12.0
        else:
            passes = min(settings.max_sweeps, 3.0 + 60.0 * alpha * math.sqrt(N / 250)) + 2.0
        per_trial = passes * N * (p * self.s_per_mac + self.s_per_update) + 2e-5
        return settings.trials * per_trial + N * p * 1e-9 + 0.015

    def warmup(self, settings: HopfieldSettings) -> None:
        """Compile or load the kernels of the chosen dynamics on a tiny network."""
        tiny = settings.model_copy(update={"trials": 1, "max_sweeps": 3, "sweeps": 2,
                                           "measure": 1, "max_n": None})
        T = 0.5 if settings.dynamics == "glauber" else 0.0
        if settings.dynamics == "anneal":
            noise = 0.25 if settings.start == "pattern" else 0.0
            self.run({"N": 16, "alpha": 0.5, "T": 0.0, "noise": noise, "tau": 2}, tiny,
                     np.random.SeedSequence(0))
            return
        self.run({"N": 16, "alpha": 0.25, "T": T, "noise": 0.25}, tiny,
                 np.random.SeedSequence(0))

    @classmethod
    def patterns(cls, point: Point, seed: np.random.SeedSequence) -> np.ndarray:
        """The patterns ``xi`` (``int8``, ``(N, p)``) of a unit, from a fresh ``unit_seed``.

        Child 0 of the seed of the point without ``tau`` (for ``tau = 0`` that is the unit's
        own seed: the seed key omits ``tau`` at its default), as :meth:`run` draws them.
        """
        N, alpha = int(point["N"]), float(point["alpha"])
        disorder = {k: v for k, v in point.items() if k != "tau"}
        ss = sibling_seed(seed, cls.name, disorder).spawn(1)[0]
        return make_patterns(kernel_key(ss), N, n_patterns(N, alpha))

    def run(
        self, point: Point, settings: HopfieldSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One sample: a fresh pattern set, then ``trials`` retrieval runs.

        Streams: child 0 of ``seed`` draws the patterns; child ``t + 1`` gives trial ``t`` two
        keys (initial flips, dynamics), so adding trials never changes the existing ones.
        """
        if settings.dynamics == "anneal":
            return self._anneal(point, settings, seed)
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

    def _anneal(
        self, point: Point, settings: HopfieldSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One sample annealed ``trials`` times.

        Patterns from the point without ``tau`` (:meth:`patterns`); run ``t`` from child
        ``t + 1`` of the unit's own seed (two keys: initial state, dynamics), as in the other
        dynamics.
        """
        N, noise = int(point["N"]), float(point["noise"])
        tau = int(point["tau"])
        xi = self.patterns(point, seed)
        p = xi.shape[1]
        n_trials, top = settings.trials, settings.top
        children = seed.spawn(1 + n_trials)
        out: dict[str, np.ndarray] = {v.name: np.zeros(n_trials, dtype=v.dtype)
                                      for v in ANNEAL_VARIABLES if v.dims == ("trial",)}
        out["m_top"] = np.full((n_trials, top), np.nan)
        out["top_pattern"] = np.full((n_trials, top), -1, dtype=np.int32)
        out["m_mix"] = np.full((n_trials, len(MIX_ORDERS)), np.nan)
        states = np.zeros((n_trials, settings.max_n or 0), dtype=np.int8)
        k = n_flipped(N, noise)
        for t in range(n_trials):
            init_key, dyn_key = children[t + 1].generate_state(2, np.uint64)
            if settings.start == "random":
                s0 = make_patterns(init_key, N, 1)[:, 0].copy()
                target = -1
            else:
                s0 = xi[:, t].copy()
                flip_random(s0, k, init_key)
                target = t
            res, s = anneal_run(xi, s0, dyn_key, tau, settings)
            for name in ("e", "e_anneal", "fixed_point", "acceptance", "quench_flips",
                         "quench_sweeps"):
                out[name][t] = res[name]
            summary = overlap_summary(xi, s, top)
            out["m_top"][t] = summary["m_top"]
            out["top_pattern"][t] = summary["top_pattern"]
            out["m_mix"][t] = summary["m_mix"]
            out["m_target"][t] = summary["m"][target] if target >= 0 else np.nan
            if settings.max_n:
                states[t, :N] = s
        if settings.max_n:
            out["final_state"] = states
        out["p"] = np.asarray(p, dtype=np.int64)
        return out


def anneal_run(
    xi: np.ndarray, s0: np.ndarray, dyn_key: np.uint64, tau: int, settings: HopfieldSettings
) -> tuple[dict[str, float | int | bool], np.ndarray]:
    """One annealing run of the network ``xi`` from ``s0`` (stream ``dyn_key``).

    Returns the per-run energies, flags and flip counts of :data:`ANNEAL_VARIABLES` and the
    final configuration.
    """
    N, p = xi.shape
    s = np.asarray(s0, dtype=np.int8).copy()
    M = overlaps(xi, s, np.empty(p, dtype=overlap_dtype(N)))
    flips, q_anneal, q_flips, q_sweeps, _ = anneal(
        xi, s, M, dyn_key, tau, settings.T_start, settings.T_end,
        settings.schedule == "geometric", settings.final_quench, settings.max_sweeps, _EMPTY)
    res: dict[str, float | int | bool] = {
        "e": -0.5 * _sumsq(M) / N**2 + 0.5 * p / N,
        "e_anneal": -0.5 * int(q_anneal) / N**2 + 0.5 * p / N,
        "fixed_point": count_unstable(xi, M, s) == 0,
        "acceptance": int(flips) / (tau * N),
        "quench_flips": int(q_flips) / N,
        "quench_sweeps": int(q_sweeps),
    }
    return res, s


def overlap_summary(xi: np.ndarray, s: np.ndarray, top: int) -> dict[str, np.ndarray]:
    """The raw overlaps an annealing run stores, of the configuration ``s`` in network ``xi``.

    ``m`` (all p overlaps), ``m_top`` (the ``top`` largest by ``|m^mu|``, signed, NaN-padded),
    ``top_pattern`` (their indices, -1-padded; ties in ``|m|``: the lower index first) and
    ``m_mix`` (overlap of ``s`` with ``sign(sum_{nu in top k} sign(m^nu) xi^nu)`` for
    ``k`` in :data:`MIX_ORDERS`, ``sign(0) = +1`` for the weights; NaN if p < k). Exact
    integer overlaps divided by N.
    """
    N, p = xi.shape
    Mi = overlaps(xi, s, np.empty(p, dtype=overlap_dtype(N))).astype(np.int64)
    order = np.argsort(-np.abs(Mi), kind="stable")
    kept = order[:top]
    m_top = np.full(top, np.nan)
    m_top[: kept.size] = Mi[kept] / N
    top_pattern = np.full(top, -1, dtype=np.int32)
    top_pattern[: kept.size] = kept
    m_mix = np.full(len(MIX_ORDERS), np.nan)
    si = s.astype(np.int64)
    for j, k in enumerate(MIX_ORDERS):
        if p >= k:
            sel = order[:k]
            signs = np.where(Mi[sel] >= 0, 1, -1)
            mix = np.sign(xi[:, sel].astype(np.int64) @ signs)  # odd sum of +-1: never 0
            m_mix[j] = float(mix @ si) / N
    return {"m": Mi / N, "m_top": m_top, "top_pattern": top_pattern, "m_mix": m_mix}


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
