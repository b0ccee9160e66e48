"""The Curie-Weiss model (``curie-weiss``): mean-field Ising, Landau theory and metastability.

Conventions: J = 1, k_B = 1, ``H = -(J/N) sum_{i<j} s_i s_j - B sum_i s_i
= -(J/2N)(M^2 - N) - B M`` with ``M = sum_i s_i`` (B > 0 favours s = +1); T is the temperature
(not beta); per spin ``e = H/N`` and ``m = M/N``. T_c = J = 1.

Dynamics: single-spin-flip Metropolis or heat bath (``rule``) with a uniformly random spin per
attempt, simulated exactly through M alone (the spins are exchangeable; see
:mod:`statmech.models.curie_weiss.kernels`), O(1) per attempt at any N. One sweep is N attempts.

Protocols (the ``protocol`` setting; a store has one):

* ``equilibrium``: ``thermalization`` sweeps from a random (``hot``, M ~ Binomial), all-up
  (``cold``) or field-aligned (``aligned``) state, then ``sweeps`` sweeps measured every
  ``every``; with ``global_flip``, at B = 0 every sweep is followed by M -> -M with
  probability 1/2 (exact there; makes <m> = 0 reachable below Tc). Stored exactly like the
  Ising models (:mod:`statmech.models.ising.model`): e, e2, m, abs_m, m2, m4 (binning errors),
  ``C = N(<e^2>-<e>^2)/T^2``, ``chi = N(<m^2>-<|m|>^2)/T``, ``U4 = 1 - <m^4>/(3<m^2>^2)``
  (block-jackknife errors), ``tau_e``, ``tau_abs_m`` (sweeps) and the acceptance rate;
* ``ramp``: all spins up at ``B = +B_max``, ``thermalization`` sweeps there, then the field goes
  from +B_max to -B_max in ``steps`` equal steps and back (``2 steps`` values along
  ``b_step``, the field of each in ``B_ramp``), ``sweeps_per_step`` sweeps at each: ``m`` is the
  mean over those sweeps (after each), ``m_end`` the value after the last;
* ``escape``: all spins up (M = N) in a field B < 0; ``t_escape`` is the number of attempts up
  to and including the first one that leaves M <= 0, divided by N (sweeps, so that its mean is
  exactly :func:`statmech.theory.curie_weiss.mean_escape_time`); capped at ``max_sweeps``
  (then ``escaped`` is false and ``t_escape = max_sweeps``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from statmech.models.base import Model, Parameter, Point, Scalar, Variable
from statmech.models.curie_weiss.kernels import (
    BLOCK_MIN_N,
    first_passage,
    simulate,
    threshold_table,
)
from statmech.models.ising.model import VARIABLES as ISING_VARIABLES
from statmech.models.ising.model import observables
from statmech.seeding import kernel_key
from statmech.stats import N_BLOCKS

#: the coupling (fixed: energies are in units of J)
J = 1.0

CONVENTIONS = (
    "J = 1, k_B = 1; H = -(J/N) sum_{i<j} s_i s_j - B sum_i s_i = -(J/2N)(M^2 - N) - B M "
    "(B > 0 favours s = +1); T is the temperature, Tc = J = 1; e = H/N and m = M/N per spin; "
    "C = N(<e^2>-<e>^2)/T^2, chi = N(<m^2>-<|m|>^2)/T, U4 = 1 - <m^4>/(3<m^2>^2); errors are "
    "one standard error (binning / block jackknife over 32 blocks); tau_* in sweeps (Sokal "
    "window, c = 6); one sweep = N single-spin attempts (random spin, Metropolis or heat-bath "
    "acceptance), simulated exactly through M; ramp: B from +B_max to -B_max and back; escape: "
    "t_escape = attempts until M <= 0 first, / N."
)

_EMPTY = np.empty(0, dtype=np.int64)


class CurieWeissSettings(BaseModel):
    """Protocol and Monte Carlo settings of the Curie-Weiss model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: Literal["equilibrium", "ramp", "escape"] = Field(
        "equilibrium",
        description="equilibrium: thermal averages (Ising observables); ramp: hysteresis loop "
        "B = +B_max -> -B_max -> +B_max; escape: first passage from M = N to M <= 0 at B < 0",
    )
    rule: Literal["metropolis", "heatbath"] = Field(
        "metropolis", description="single-spin acceptance: min(1, e^{-dE/T}) or 1/(1+e^{dE/T})")
    thermalization: int = Field(
        1000, ge=0, description="equilibrium and ramp: sweeps discarded first (ramp: at +B_max)")
    sweeps: int = Field(10000, ge=1, description="equilibrium: sweeps in the measurement phase")
    every: int = Field(1, ge=1, description="equilibrium: sweeps between two measurements")
    start: Literal["hot", "cold", "aligned"] = Field(
        "hot", description="equilibrium: random initial state (M from the binomial "
        "distribution), all spins up (cold), or all along the field (aligned: the stable well "
        "for B != 0, all up at B = 0)")
    global_flip: bool = Field(
        False, description="equilibrium, points with B = 0 only: after every sweep reverse all "
        "spins (M -> -M) with probability 1/2. Exact at B = 0 (E(-M) = E(M)); it restores the "
        "+-m symmetry that single-spin dynamics breaks below Tc for large N, so that <m> = 0 is "
        "sampled (the even observables are unchanged)")
    B_max: float = Field(1.0, gt=0, description="ramp: largest field of the loop [J]")
    steps: int = Field(40, ge=2, description="ramp: fields per leg (+B_max to -B_max)")
    sweeps_per_step: int = Field(10, ge=1, description="ramp: sweeps at each field")
    max_sweeps: int = Field(100000, ge=1, description="escape: cap on the escape time [sweeps]")

    @model_validator(mode="after")
    def _enough_measurements(self) -> CurieWeissSettings:
        n = self.sweeps // self.every
        if self.protocol == "equilibrium" and n < 2 * N_BLOCKS:
            raise ValueError(
                f"sweeps / every = {n} measurements; at least {2 * N_BLOCKS} are needed "
                f"for the {N_BLOCKS}-block error analysis")
        return self

    @property
    def n_measurements(self) -> int:
        """Number of equilibrium measurements."""
        return self.sweeps // self.every

    def ramp_fields(self) -> np.ndarray:
        """The field at each ramp step: +B_max -> -B_max in ``steps`` values, then back."""
        down = np.linspace(self.B_max, -self.B_max, self.steps)
        return np.concatenate([down, down[::-1]])


def _check_N(v: Scalar) -> str | None:
    return None if v >= 2 and v < 2**62 else f"N must be in [2, 2^62) (got {v})"


def _check_T(v: Scalar) -> str | None:
    return None if v > 0 else f"T must be > 0 (got {v})"


RAMP_VARIABLES = (
    Variable("m", "magnetisation per spin, mean over the sweeps of the ramp step",
             dims=("b_step",)),
    Variable("m_end", "magnetisation per spin at the end of the ramp step", dims=("b_step",)),
    Variable("B_ramp", "field of the ramp step", "J", dims=("b_step",),
             description="+B_max -> -B_max in `steps` values, then back (the same for every "
             "unit: the coordinate of b_step)"),
    Variable("acceptance", "fraction of accepted spin flips over the ramp", "1"),
)
ESCAPE_VARIABLES = (
    Variable("t_escape", "escape time: attempts until the first M <= 0, / N", "sweeps",
             description="first passage from M = N; = max_sweeps when not escaped"),
    Variable("escaped", "M <= 0 reached within max_sweeps", dtype="bool"),
)


class CurieWeiss(Model[CurieWeissSettings]):
    """Curie-Weiss (mean-field Ising) model: N all-to-all coupled spins, J/N per pair."""

    name: ClassVar[str] = "curie-weiss"
    summary: ClassVar[str] = "Curie-Weiss (mean-field Ising) model of N all-to-all coupled spins"
    conventions: ClassVar[str] = CONVENTIONS
    settings_class = CurieWeissSettings
    presentation: ClassVar[str | None] = (
        "statmech.models.curie_weiss.presentation:PRESENTATION")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("N", "int", "number of spins", "spins", check=_check_N),
        Parameter("T", "float", "temperature", "J/k_B", check=_check_T),
        Parameter("B", "float", "magnetic field (escape: the negative field; ramp: 0)", "J",
                  default=0.0),
    )
    #: seconds per attempt: certified blocks (large N) and the plain table-driven chain;
    #: one core of the 2-core development machine (benchmarks/curie_weiss.py)
    s_per_attempt_blocks: ClassVar[float] = 0.8e-9  # measured 0.63-0.65 ns at N = 10^6
    s_per_attempt_table: ClassVar[float] = 6e-9

    def variables(self, settings: CurieWeissSettings) -> tuple[Variable, ...]:
        """The Ising observable set (equilibrium), the loop (ramp) or the escape time."""
        if settings.protocol == "ramp":
            return RAMP_VARIABLES
        if settings.protocol == "escape":
            return ESCAPE_VARIABLES
        return ISING_VARIABLES

    def extra_coords(
        self, settings: CurieWeissSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``b_step``: index of the ramp step (ramp only; the fields are in ``B_ramp``)."""
        if settings.protocol == "ramp":
            return {"b_step": np.arange(2 * settings.steps)}
        return {}

    def check_point(self, point: Point, settings: CurieWeissSettings) -> str | None:
        """Ramp sets the field itself (B must be 0); escape needs B < 0."""
        B = float(point.get("B", 0.0))
        if settings.protocol == "ramp" and B != 0:
            return (f"protocol ramp sweeps the field itself (+B_max -> -B_max -> +B_max); "
                    f"leave B at 0 (got {B:g})")
        if settings.protocol == "escape" and not B < 0:
            return f"protocol escape starts at M = +N and needs a field B < 0 (got {B:g})"
        return None

    def _attempts(self, point: Point, settings: CurieWeissSettings) -> float:
        N = int(point["N"])
        if settings.protocol == "ramp":
            return N * (settings.thermalization + 2 * settings.steps * settings.sweeps_per_step)
        if settings.protocol == "escape":
            return N * min(settings.max_sweeps, 1000)
        return N * (settings.thermalization + settings.sweeps)

    def cost(self, point: Point, settings: CurieWeissSettings) -> float:
        """Seconds: attempts x time per attempt + threshold tables + analysis (sizing only)."""
        N = int(point["N"])
        blocks = N >= BLOCK_MIN_N
        per = self.s_per_attempt_blocks if blocks else self.s_per_attempt_table
        table = 0.0 if blocks else 3e-8 * N * (2 * settings.steps
                                               if settings.protocol == "ramp" else 1)
        return self._attempts(point, settings) * per + table + 5e-7 * settings.sweeps + 5e-3

    def warmup(self, settings: CurieWeissSettings) -> None:
        """Compile or load the kernels (both code paths) on tiny systems."""
        for n in (8, BLOCK_MIN_N):
            simulate(n, n, 1.0, J, 0.0, False, np.uint64(1), np.uint64(0), 0, 1, 1, _EMPTY,
                     _EMPTY, n >= BLOCK_MIN_N, settings.global_flip)
            first_passage(n, 1.0, J, -1.0, True, np.uint64(1), 1, _EMPTY, _EMPTY,
                          n >= BLOCK_MIN_N)

    @staticmethod
    def _tables(N: int, beta: float, B: float, heatbath: bool,
                ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Threshold tables for small N (plain chain), none for large N (certified blocks)."""
        if N >= BLOCK_MIN_N:
            return _EMPTY, _EMPTY, True
        D, U = threshold_table(N, beta, J, B, heatbath)
        return D, U, False

    def run(
        self, point: Point, settings: CurieWeissSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One replica at (N, T, B) under the chosen protocol.

        Streams: child 0 of ``seed`` draws the hot start, child 1 keys the chain.
        """
        N, T, B = int(point["N"]), float(point["T"]), float(point.get("B", 0.0))
        init_ss, kernel_ss = seed.spawn(2)
        key = kernel_key(kernel_ss)
        beta = 1.0 / T
        hb = settings.rule == "heatbath"
        if settings.protocol == "escape":
            Dt, Ut, blocks = self._tables(N, beta, B, hb)
            attempts, escaped = first_passage(N, beta, J, B, hb, key, settings.max_sweeps,
                                              Dt, Ut, blocks)
            t = attempts / N if escaped else float(settings.max_sweeps)
            return {"t_escape": np.asarray(t, dtype=np.float64),
                    "escaped": np.asarray(bool(escaped))}
        if settings.protocol == "ramp":
            return self._ramp(N, beta, hb, key, settings)
        if settings.start == "hot":
            k0 = int(np.random.default_rng(init_ss).binomial(N, 0.5))
        else:
            k0 = 0 if settings.start == "aligned" and B < 0 else N
        Dt, Ut, blocks = self._tables(N, beta, B, hb)
        flip = settings.global_flip and B == 0.0
        mags, acc, _k, _ctr = simulate(k0, N, beta, J, B, hb, key, np.uint64(0),
                                       settings.thermalization, settings.n_measurements,
                                       settings.every, Dt, Ut, blocks, flip)
        Mf = mags.astype(np.float64)
        bonds = J * (Mf * Mf - N) / (2.0 * N)  # -e N = bonds + B M
        attempts = settings.n_measurements * settings.every * N
        return observables(bonds, Mf, N, T, B, int(acc), attempts, settings.every)

    def _ramp(self, N: int, beta: float, hb: bool, key: np.uint64,
              settings: CurieWeissSettings) -> dict[str, np.ndarray]:
        fields = settings.ramp_fields()
        k = N
        ctr = np.uint64(0)
        Dt, Ut, blocks = self._tables(N, beta, fields[0], hb)
        _m, _a, k, ctr = simulate(k, N, beta, J, float(fields[0]), hb, key, ctr,
                                  settings.thermalization, 0, 1, Dt, Ut, blocks)
        m = np.empty(fields.size)
        m_end = np.empty(fields.size)
        acc = 0
        for i, b in enumerate(fields):
            Dt, Ut, blocks = self._tables(N, beta, float(b), hb)
            mags, a, k, ctr = simulate(k, N, beta, J, float(b), hb, key, ctr, 0,
                                       settings.sweeps_per_step, 1, Dt, Ut, blocks)
            m[i] = mags.mean() / N
            m_end[i] = mags[-1] / N
            acc += int(a)
        return {"m": m, "m_end": m_end, "B_ramp": fields.astype(np.float64),
                "acceptance": np.asarray(acc / (fields.size * settings.sweeps_per_step * N))}
