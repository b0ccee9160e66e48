r"""Dense associative memory (modern Hopfield network, ``dense-hopfield``): capacity and retrieval.

Conventions: k_B = 1, zero temperature. Every sample draws ``K`` random +-1 patterns ``xi^mu``
(the generator of ``hopfield``) and the energy is

    E(s) = - sum_mu F(M^mu),   M^mu = sum_i xi_i^mu s_i   (integer overlap, not normalised),

with ``F(x) = x^n`` (``energy: power``, the parameter ``n >= 2``) or ``F(x) = e^x``
(``energy: exp``; n is then unused and must stay at its default 2). The number of patterns is

* power: ``K = round(alpha N^(n-1))`` (``load: plain``) or ``K = round(alpha N^(n-1) / (2n-3)!!)``
  (``load: normalised``: then alpha is the Gaussian crosstalk load, the one-step error is
  ``(1/2) erfc(sqrt(1/(2 alpha)))`` at every n, and n = 2 is Hopfield's ``p = round(alpha N)``);
* exp: ``K = round(e^(alpha N))``;

rounded half up as ``hopfield``'s ``n_patterns`` (``floor(x + 1/2 + 1e-9)``).

Per sample, ``trials`` patterns (trial t tests pattern t) are each started from with
``round(noise N)`` random spins flipped and run by zero-T asynchronous dynamics: spin i takes the
sign of ``D_i = sum_mu [F(M^mu_{\i} + xi_i^mu) - F(M^mu_{\i} - xi_i^mu)]``,
``M^mu_{\i} = M^mu - xi_i^mu s_i`` (the self-term excluded, like ``J_ii = 0``), ties keep the spin;
sweeps in a fresh random order until a sweep without a flip or ``max_sweeps`` sweeps with flips
(:mod:`statmech.models.dense_hopfield.kernels`).

Streams. At ``energy: power, n = 2`` a unit draws its patterns and keys exactly as ``hopfield``
does at the equivalent point ``(N, alpha, T = 0, noise)`` (same sweep seed and sample index), so
the n = 2 slice of a store equals a ``hopfield`` store bit for bit (:func:`disorder_seed`).
Otherwise the unit's own seed sequence is used.

Stored per (point, sample, trial), with ``hopfield``'s names and meanings: ``m``, ``m_other``,
``sweeps``, ``converged``, ``fixed_point``, ``flipped``, ``flips``, ``unstable0``; per sample
``K``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from statmech.models.base import Model, Parameter, Point, Scalar, Variable
from statmech.models.dense_hopfield.kernels import (
    CLOSED_FORM_MAX_N,
    count_unstable,
    double_factorial_odd,
    exp_table,
    g_table,
    power_bound,
    power_bound_ok,
    sequential,
)
from statmech.models.hopfield.kernels import flip_random, make_patterns, overlap_dtype, overlaps
from statmech.models.hopfield.model import VARIABLES as HOPFIELD_VARIABLES
from statmech.models.hopfield.model import n_flipped
from statmech.seeding import kernel_key, unit_seed

CONVENTIONS = (
    "k_B = 1, T = 0; K random +-1 patterns xi^mu per sample; E(s) = -sum_mu F(M^mu), M^mu = "
    "sum_i xi_i^mu s_i (integer overlap); F(x) = x^n (energy: power) or e^x (energy: exp); "
    "K = round(alpha N^(n-1)) (load: plain), round(alpha N^(n-1)/(2n-3)!!) (load: normalised) "
    "or round(e^(alpha N)) (exp), halves up; zero-T asynchronous rule s_i <- sign(D_i), D_i = "
    "sum_mu [F(M^mu - xi_i^mu s_i + xi_i^mu) - F(M^mu - xi_i^mu s_i - xi_i^mu)] (self-term "
    "excluded), ties keep s_i; fixed point: s_i D_i >= 0 for all i; trial t tests pattern t, "
    "started from it with round(noise N) random spins flipped; one sweep = N updates in a fresh "
    "random order; m^mu = M^mu / N. n = 2 equals hopfield (J_ii = 0) bit for bit."
)

#: largest N * K (pattern bytes) a unit may allocate
MAX_PATTERN_BYTES = 2**30


def n_patterns(N: int, n: int, alpha: float, energy: str = "power", load: str = "plain") -> int:
    """Number of patterns K (see the module docstring), halves rounded up like ``hopfield``."""
    if energy == "exp":
        x = math.exp(alpha * N)
    else:
        x = alpha * float(N) ** (n - 1)
        if load == "normalised":
            x /= double_factorial_odd(n)
    return math.floor(x + 0.5 + 1e-9)


class DenseHopfieldSettings(BaseModel):
    """Energy function, load convention and dynamics settings of the dense Hopfield model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    energy: Literal["power", "exp"] = Field(
        "power", description="power: F(x) = x^n (n a parameter); exp: F(x) = e^x"
    )
    load: Literal["plain", "normalised"] = Field(
        "plain",
        description="power only: K = round(alpha N^(n-1)) (plain) or round(alpha N^(n-1) / "
        "(2n-3)!!) (normalised: alpha is the Gaussian crosstalk load, comparable across n)",
    )
    trials: int = Field(
        5, ge=1, le=10_000,
        description="patterns tested per sample (trial t starts from pattern t); needs K >= trials",
    )
    max_sweeps: int = Field(500, ge=1, description="cap on sweeps with flips")


def _check_N(v: Scalar) -> str | None:
    return None if v >= 2 else f"N must be >= 2 (got {v})"


def _check_n(v: Scalar) -> str | None:
    return None if v >= 2 else f"n must be >= 2 (got {v})"


def _check_alpha(v: Scalar) -> str | None:
    return None if v > 0 else f"alpha must be > 0 (got {v})"


def _check_noise(v: Scalar) -> str | None:
    return None if 0 <= v <= 0.5 else f"noise must be in [0, 0.5] (got {v})"


def _variables() -> tuple[Variable, ...]:
    by_name = {v.name: v for v in HOPFIELD_VARIABLES}
    same = ("m", "sweeps", "converged", "flipped", "flips")
    changed = {
        "m_other": "max_{nu != mu} |m^nu| of the final state (NaN if K = 1)",
        "fixed_point": "s_i D_i >= 0 for every i (single-flip stable)",
        "unstable0": "fraction with s_i D_i < 0 at the start; for noise = 0 the one-step "
                     "crosstalk error of the stored pattern",
    }
    out = [by_name[n] for n in same]
    out += [dataclasses.replace(by_name[n], description=d) for n, d in changed.items()]
    out.append(Variable("K", "number of stored patterns", dtype="int64",
                        description="K = round(alpha N^(n-1)) (or see settings.load / energy)"))
    order = ("m", "m_other", "sweeps", "converged", "fixed_point", "flipped", "flips",
             "unstable0", "K")
    return tuple(sorted(out, key=lambda v: order.index(v.name)))


VARIABLES = _variables()


def hopfield_point(point: Point) -> dict[str, Scalar]:
    """The ``hopfield`` point with the same patterns at n = 2: ``(N, alpha, T = 0, noise)``."""
    return {"N": point["N"], "alpha": point["alpha"], "T": 0.0, "noise": point["noise"]}


def disorder_seed(
    point: Point, settings: DenseHopfieldSettings, seed: np.random.SeedSequence
) -> np.random.SeedSequence:
    """The seed sequence a unit draws its patterns and keys from.

    At ``energy: power`` and n = 2: ``unit_seed(seed.entropy, "hopfield", hopfield_point(point),
    replica)`` with the sample index ``replica = seed.spawn_key[-1]``, i.e. the stream
    ``hopfield`` uses for the same sweep seed, point and sample (``seed`` must come from
    :func:`statmech.seeding.unit_seed`; a seed without a spawn key is used as it is). Otherwise
    ``seed`` itself (the unit's own stream, which hashes the model name and the whole point).
    """
    if settings.energy == "power" and int(point["n"]) == 2 and seed.spawn_key:
        return unit_seed(int(seed.entropy), "hopfield", hopfield_point(point),  # type: ignore[arg-type]
                         int(seed.spawn_key[-1]))
    return seed


class DenseHopfield(Model):
    """Dense associative memory: E = -sum_mu F(M^mu), zero-T asynchronous retrieval."""

    name: ClassVar[str] = "dense-hopfield"
    summary: ClassVar[str] = (
        "dense associative memory (modern Hopfield): E = -sum_mu F(overlap), F = x^n or e^x")
    conventions: ClassVar[str] = CONVENTIONS
    settings_class: ClassVar[type[BaseModel]] = DenseHopfieldSettings
    replica_dim: ClassVar[str] = "sample"
    presentation: ClassVar[str | None] = (
        "statmech.models.dense_hopfield.presentation:PRESENTATION")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("N", "int", "number of neurons (spins)", "spins", check=_check_N),
        Parameter("n", "int", "power of the interaction F(x) = x^n (energy: power)", "1",
                  default=2, check=_check_n),
        Parameter("alpha", "float", "load: K = round(alpha N^(n-1)) (power) or round(e^(alpha N)) "
                  "(exp)", "1", check=_check_alpha),
        Parameter("noise", "float", "fraction of spins flipped in the initial state", "1",
                  default=0.0, check=_check_noise),
    )
    #: seconds per pattern term of D_i (int8 row, overlap, table gather, multiply-add) and per
    #: spin visit; one core of a 2-core AMD EPYC (benchmarks/dense_hopfield.py). Batch sizing only.
    s_per_term: ClassVar[float] = 1.5e-9
    s_per_update: ClassVar[float] = 1e-8

    def variables(self, settings: BaseModel) -> tuple[Variable, ...]:
        """Per-sample variables; all but ``K`` have the ``trial`` dimension."""
        return VARIABLES

    def extra_coords(
        self, settings: BaseModel, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``trial``: index of the tested pattern."""
        assert isinstance(settings, DenseHopfieldSettings)
        return {"trial": np.arange(settings.trials)}

    def check_point(self, point: Point, settings: BaseModel) -> str | None:
        """K >= trials, n integer (2 under exp), exact int64 drive, bounded pattern memory."""
        assert isinstance(settings, DenseHopfieldSettings)
        N, n, alpha = int(point["N"]), point["n"], float(point["alpha"])
        if n != int(n):
            return f"n must be an integer (got {n})"
        n = int(n)
        if settings.energy == "exp" and n != 2:
            return (f"n = {n} has no meaning with settings.energy: exp (F = e^x); leave n at its "
                    "default 2")
        if settings.energy == "exp" and settings.load != "plain":
            return "settings.load: normalised applies to energy: power only"
        if settings.energy == "exp" and alpha * N > 40:
            return f"alpha N = {alpha * N:g} > 40: K = e^(alpha N) patterns do not fit in memory"
        K = n_patterns(N, n, alpha, settings.energy, settings.load)
        if K < 1:
            return f"alpha = {alpha:g} gives K = 0 patterns at N = {N}, n = {n}; increase alpha"
        if K < settings.trials:
            return (f"K = {K} patterns but settings.trials = {settings.trials}: every trial tests "
                    "a different pattern, so trials must be <= K (lower trials or raise alpha)")
        if N * K > MAX_PATTERN_BYTES:
            return f"N K = {N * K} pattern bytes exceed {MAX_PATTERN_BYTES}"
        if settings.energy == "power" and not power_bound_ok(N, K, n):
            return (f"K (N + 1)^n = {power_bound(N, K, n):.3e} >= 2^63: the exact int64 drive "
                    "D_i could overflow")
        return None

    def cost(self, point: Point, settings: BaseModel) -> float:
        """Seconds: trials x (a few sweeps) x N K terms, plus pattern generation and the write."""
        assert isinstance(settings, DenseHopfieldSettings)
        N, n, alpha = int(point["N"]), int(point["n"]), float(point["alpha"])
        K = max(n_patterns(N, n, alpha, settings.energy, settings.load), 1)
        passes = min(settings.max_sweeps, 6.0) + 2.0
        per_trial = passes * N * (K * self.s_per_term + self.s_per_update) + 2e-5
        return settings.trials * per_trial + N * K * 2e-9 + 0.015

    def warmup(self, settings: BaseModel) -> None:
        """Compile or load the kernels on a tiny network."""
        assert isinstance(settings, DenseHopfieldSettings)
        tiny = settings.model_copy(update={"trials": 1, "max_sweeps": 3})
        alpha = 0.2 if settings.energy == "exp" else 0.25
        self.run({"N": 16, "n": 2, "alpha": alpha, "noise": 0.25}, tiny,
                 np.random.SeedSequence(0))

    def run(
        self, point: Point, settings: BaseModel, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One sample: a fresh pattern set, then ``trials`` retrieval runs.

        Streams (as ``hopfield``): child 0 of :func:`disorder_seed` draws the patterns; child
        ``t + 1`` gives trial ``t`` two keys (initial flips, dynamics).
        """
        assert isinstance(settings, DenseHopfieldSettings)
        N, n, alpha = int(point["N"]), int(point["n"]), float(point["alpha"])
        noise = float(point["noise"])
        K = n_patterns(N, n, alpha, settings.energy, settings.load)
        n_trials = settings.trials
        children = disorder_seed(point, settings, seed).spawn(1 + n_trials)
        xi = make_patterns(kernel_key(children[0]), N, K)
        k = n_flipped(N, noise)
        out = {v.name: np.zeros(n_trials, dtype=v.dtype) for v in VARIABLES if v.dims}
        for t in range(n_trials):
            init_key, dyn_key = children[t + 1].generate_state(2, np.uint64)
            res = run_trial(xi, t, k, init_key, dyn_key, settings, n)
            for name, value in res.items():
                out[name][t] = value
        out["K"] = np.asarray(K, dtype=np.int64)
        return out


def tables(N: int, n: int, energy: str) -> tuple[bool, np.ndarray, np.ndarray]:
    """``(exp_energy, gtab, etab)`` for the kernels (the unused table is empty)."""
    if energy == "exp":
        return True, np.zeros(0, dtype=np.int64), exp_table(N)
    gtab = g_table(N, n) if n > CLOSED_FORM_MAX_N else np.zeros(0, dtype=np.int64)
    return False, gtab, np.zeros(0, dtype=np.float64)


def run_trial(
    xi: np.ndarray, target: int, k: int, init_key: np.uint64, dyn_key: np.uint64,
    settings: DenseHopfieldSettings, n: int = 2,
) -> dict[str, float | int | bool]:
    """One retrieval run from pattern ``target`` with ``k`` random spins flipped.

    ``xi`` is ``int8``, shape ``(N, K)``; returns the per-trial values of :data:`VARIABLES`
    (computed by the same formulas as ``hopfield``'s ``run_trial``).
    """
    N, K = xi.shape
    exp_energy, gtab, etab = tables(N, n, settings.energy)
    s = xi[:, target].copy()
    flip_random(s, k, init_key)
    start = s.copy()
    M = overlaps(xi, s, np.empty(K, dtype=overlap_dtype(N)))
    unstable0 = count_unstable(xi, M, s, exp_energy, n, gtab, etab) / N
    sweeps, converged, flips = sequential(xi, s, M, dyn_key, exp_energy, n, gtab, etab,
                                          settings.max_sweeps)
    fixed = bool(converged) or count_unstable(xi, M, s, exp_energy, n, gtab, etab) == 0
    m_all = M.astype(np.int64) / N
    a = np.abs(m_all)
    return {
        "m": m_all[target],
        "m_other": float(np.delete(a, target).max()) if K > 1 else np.nan,
        "sweeps": int(sweeps),
        "converged": bool(converged),
        "fixed_point": fixed,
        "flipped": float(np.count_nonzero(s != start)) / N,
        "flips": int(flips) / N,
        "unstable0": unstable0,
    }
