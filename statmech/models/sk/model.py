"""The Sherrington-Kirkpatrick spin glass: ground and metastable states, finite-T overlaps.

Two models: ``sk`` (ground states and metastable states) and ``sk-overlap`` (finite-temperature
overlaps). Conventions: J = 1 (the coupling scale), k_B = 1,
``H = -sum_{i<j} J_ij s_i s_j - B sum_i s_i`` with ``J_ij = J0/N + z_ij/sqrt(N)``, z_ij
standard normal i.i.d. (``J_ij ~ N(0, 1/N)`` at the default J0 = 0; T_c = 1 at B = 0 and
J0 < 1), ``T`` the temperature. Energies are per spin (``e = H / N``) unless a variable says
"total"; logarithms are natural. Couplings and B are rounded to multiples of
``EPS = 2**-24`` so that every energy and field is exact (see :mod:`statmech.models.sk.kernels`).

Disorder is the ``sample`` dimension: the unit (point, sample) draws its own coupling matrix
from its own random stream, ``seed.spawn(2)[0]`` -> ``numpy.random.default_rng`` ->
:func:`~statmech.models.sk.kernels.draw_couplings`. The couplings therefore depend on
(seed, model name, N, B, J0, sample) only -- not on the settings nor on ``tau``: the
``enumeration``, ``search`` and ``anneal`` methods of ``sk`` see the same samples, and
:meth:`SK.couplings` regenerates them. ``J0`` (and ``tau``) at their default 0 are left out
of the unit seed (``seed_omits_default``), so J0 = 0 stores are bitwise those made before J0
existed; an annealing unit draws its couplings from the seed of its point without ``tau``
(:func:`statmech.seeding.sibling_seed`) and its Monte Carlo stream from its own seed.

``sk`` (``method: enumeration``): exact enumeration of all 2**N configurations per sample:
ground-state energy, degeneracy, gaps, the number of single-spin-flip stable configurations
(``s_i h_i > 0`` for all i, with ``h_i = sum_j J_ij s_j + B``) and the histogram of their
energies, and the ground-state configuration, on the CPU or (``backend: cuda`` / ``auto``) a
GPU with exactly the same result (:mod:`statmech.models.sk.cuda`). ``method: search``: independent
parallel-tempering runs for the ground state (with a success criterion) and zero-temperature
quenches from random starts for metastable states, for N up to a few thousand. ``method:
anneal``: simulated annealing, ``runs`` independent single-spin Metropolis anneals per sample
over ``tau`` sweeps (an axis parameter) from ``T_start`` to ``T_end`` (linear or geometric),
storing the exact final energy and configuration, and (``reference: true``) the exact e0 of
the same couplings by enumeration, so that the residual energy is exact.

``sk-overlap``: two real replicas per sample run at every temperature of a ladder (parallel
tempering or plain Metropolis); per temperature the overlap ``q = (1/N) sum_i s^a_i s^b_i``
moments, its distribution P(q) and the energy.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from statmech.models.base import ADDED_SETTING, Model, Parameter, Point, Scalar, Variable
from statmech.models.sk.kernels import (
    B_LIMIT,
    ENUMERATION_LIMIT,
    EPS,
    draw_couplings,
    enumerate_sk,
    field_units,
)
from statmech.models.sk.mc import (
    anneal_kernel,
    mc_couplings,
    pt_ground_state,
    pt_overlap,
    pt_overlap_chains,
    quench_kernel,
)
from statmech.seeding import kernel_key, sibling_seed
from statmech.stats import N_BLOCKS, binning, tau_int

CONVENTIONS = (
    "SK model: J = 1, k_B = 1; H = -sum_{i<j} J_ij s_i s_j - B sum_i s_i with J_ij ~ N(0, 1/N) "
    "i.i.d. plus the ferromagnetic mean J0/N (J_ij = J0/N + z_ij/sqrt(N); T_c = 1 at B = 0, "
    "J0 < 1); couplings and B rounded to multiples of EPS = 2^-24 J so that "
    "energies and fields are exact; energies per spin (e = H/N) unless marked total; natural "
    "logs. Each sample (the 'sample' dimension) has its own couplings, drawn from the unit's "
    "random stream (seed.spawn(2)[0], upper triangle row-major). Configurations: s and -s are "
    "counted as two. Local field h_i = sum_j J_ij s_j + B; stable (metastable state): s_i h_i > 0 "
    "for all i; local minimum: s_i h_i >= 0 for all i. ground_state: bit-exact lowest "
    "configuration with the smallest code (bit i set iff s_i = -1), padded with 0 beyond N."
)

SK_SUMMARY = "Sherrington-Kirkpatrick spin glass: exact ground states and metastable states"
OVERLAP_SUMMARY = "Sherrington-Kirkpatrick spin glass: replica overlaps at finite temperature"

QUENCH_CAVEAT = (
    "Quench estimates are basin-weighted: a zero-temperature descent from a random start ends in "
    "a local minimum with a probability proportional to its basin of attraction, which is far "
    "from uniform (low minima have large basins). Distinct minima found are a lower bound on "
    "N_s; the Chao1 estimate D + f1(f1-1)/(2(f2+1)) (f1, f2: minima found once, twice) is a "
    "lower-bound estimator of the total under unequal detection probabilities and is still "
    "biased low when most minima are never found (D close to the number of quenches)."
)


# ----------------------------------------------------------------------------- settings
def _ladder(value: Any) -> Any:
    """A temperature ladder: a list, or ``{min, max, num}`` (geometric spacing)."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"min", "max", "num"}
        if unknown or not {"min", "max", "num"} <= set(value):
            raise ValueError("a temperature ladder is a list or a mapping {min, max, num} "
                             "(geometric spacing)")
        lo, hi, num = float(value["min"]), float(value["max"]), value["num"]
        if not (isinstance(num, int) and num >= 1):
            raise ValueError(f"num must be a positive integer, got {num!r}")
        if not 0 < lo <= hi:
            raise ValueError(f"need 0 < min <= max, got min={lo}, max={hi}")
        return tuple(float(f"{t:.12g}") for t in np.geomspace(lo, hi, num))
    return value


def _check_ladder(temps: tuple[float, ...]) -> tuple[float, ...]:
    if len(temps) == 0:
        raise ValueError("give at least one temperature")
    if any(not np.isfinite(t) or t <= 0 for t in temps):
        raise ValueError(f"temperatures must be finite and > 0, got {list(temps)}")
    if any(b <= a for a, b in itertools.pairwise(temps)):
        raise ValueError(f"temperatures must be strictly increasing, got {list(temps)}")
    return temps


class SKSettings(BaseModel):
    """Settings of the ``sk`` model (ground states and metastable states)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["enumeration", "search", "anneal"] = Field(
        "enumeration",
        description="exact enumeration of all 2^N states, parallel tempering + quenches, or "
                    "simulated annealing (tau sweeps: the axis parameter tau)",
    )
    max_n: int | None = Field(
        None, validate_default=True,
        description="largest N allowed in the sweep; sizes the 'site' dimension of "
                    "ground_state. Default 30 (enumeration, at most 40) or 1024 (search, "
                    "at most 8192)",
    )
    ground_state_tolerance: float = Field(
        0.0, ge=0.0, le=1.0,
        description="J, total energy: local minima with E <= E0 + tolerance count as "
                    "degenerate ground states (0: exact ties on the EPS grid)",
    )
    max_minima: int = Field(
        64, ge=2, le=100_000,
        description="lowest local minima kept per sample (caps the degeneracy count)",
    )
    e_min: float = Field(-1.0, description="lower edge of the energy histogram (J per spin)")
    e_max: float = Field(0.0, description="upper edge of the energy histogram (J per spin)")
    e_bins: int = Field(100, ge=1, le=10_000, description="bins of the energy histogram")
    backend: Literal["cpu", "cuda", "auto"] = Field(
        "cpu",
        description="enumeration only: where it runs: cpu, cuda (GPU workers only: batches "
        "go to Dask workers with a GPU resource) or auto (a GPU when the worker has one); the "
        "GPU enumeration gives exactly the CPU result, so the backend is not part of the "
        "physics hash",
    )
    # -- search
    runs: int = Field(4, ge=1, le=256, description="independent parallel-tempering runs "
                      "(search) or annealing runs per sample (anneal)")
    agree: int = Field(
        2, ge=1, description="success: at least this many runs reach the lowest energy found"
    )
    sweeps: int = Field(2000, ge=1, description="PT sweeps per run (each sweeps every T)")
    temperatures: tuple[float, ...] = Field(
        (0.2, 0.25, 0.31, 0.38, 0.46, 0.55, 0.65, 0.76, 0.88, 1.01, 1.16, 1.33, 1.52),
        description="PT ladder (J/k_B): a list, or {min, max, num} for geometric spacing",
    )
    quenches: int = Field(
        1000, ge=0, le=10_000_000, description="zero-temperature quenches per sample (search)"
    )
    # -- anneal
    T_start: float = Field(
        3.0, gt=0, description="anneal: temperature of the first sweep (J)",
        json_schema_extra=ADDED_SETTING)
    T_end: float = Field(
        0.05, gt=0, description="anneal: temperature of the last sweep (J)",
        json_schema_extra=ADDED_SETTING)
    schedule: Literal["linear", "geometric"] = Field(
        "linear", description="anneal: T linear or geometric in the sweep index",
        json_schema_extra=ADDED_SETTING,
    )
    final_quench: bool = Field(
        True, description="anneal: finish with zero-temperature sweeps (flip iff s_i h_i < 0) "
        "until no spin flips, so that every run ends in a local minimum",
        json_schema_extra=ADDED_SETTING,
    )
    reference: bool = Field(
        True, description="anneal: also enumerate the sample exactly (N <= 40) and store its "
        "ground-state energy e0, so that the residual energy e_final - e0 is exact per unit",
        json_schema_extra=ADDED_SETTING,
    )

    @field_validator("max_n", mode="after")
    @classmethod
    def _max_n(cls, v: int | None, info: ValidationInfo) -> int:
        method = info.data.get("method", "enumeration")
        if method == "enumeration":
            if v is None:
                return 30
            if not 2 <= v <= ENUMERATION_LIMIT:
                raise ValueError(f"max_n = {v} is outside the range allowed for exact "
                                 f"enumeration, 2 <= max_n <= {ENUMERATION_LIMIT} (2^N states)")
            return v
        if v is None:
            return 30 if method == "anneal" else 1024
        if not 2 <= v <= 8192:
            raise ValueError(f"max_n = {v} is outside the range allowed for search, "
                             "2 <= max_n <= 8192")
        return v

    @model_validator(mode="after")
    def _anneal(self) -> SKSettings:
        if self.method == "anneal":
            if self.reference and self.n_max > ENUMERATION_LIMIT:
                raise ValueError(f"max_n = {self.n_max}: the exact reference (reference: true) "
                                 f"enumerates 2^N states, max_n <= {ENUMERATION_LIMIT}; set "
                                 "reference: false for larger N")
            if self.T_end > self.T_start:
                raise ValueError(f"anneal: T_end = {self.T_end} must not exceed T_start = "
                                 f"{self.T_start}")
        return self

    @field_validator("backend", mode="after")
    @classmethod
    def _backend(cls, v: str, info: ValidationInfo) -> str:
        method = info.data.get("method", "enumeration")
        if v != "cpu" and method != "enumeration":
            raise ValueError(f"backend {v} runs the exact enumeration only (method: "
                             f"enumeration); with method: {method} the backend must be cpu "
                             "(allowed: cpu, cuda, auto with method: enumeration)")
        return v

    @field_validator("e_max", mode="after")
    @classmethod
    def _e_range(cls, v: float, info: ValidationInfo) -> float:
        lo = info.data.get("e_min")
        if lo is not None and not v > lo:
            raise ValueError(f"e_max = {v} must be above e_min = {lo}")
        return v

    @field_validator("agree", mode="after")
    @classmethod
    def _agree(cls, v: int, info: ValidationInfo) -> int:
        runs = info.data.get("runs")
        if runs is not None and v > runs:
            raise ValueError(f"agree = {v} cannot exceed runs = {runs}")
        return v

    @field_validator("temperatures", mode="before")
    @classmethod
    def _temps_before(cls, v: Any) -> Any:
        return _ladder(v)

    @field_validator("temperatures", mode="after")
    @classmethod
    def _temps_after(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        return _check_ladder(v)

    @property
    def n_max(self) -> int:
        """``max_n`` resolved (never None after validation)."""
        assert self.max_n is not None
        return self.max_n

    def bin_edges(self) -> np.ndarray:
        """Edges of the energy histogram (J per spin)."""
        return np.linspace(self.e_min, self.e_max, self.e_bins + 1)


class SKOverlapSettings(BaseModel):
    """Settings of the ``sk-overlap`` model (finite-temperature Monte Carlo)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperatures: tuple[float, ...] = Field(
        (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5),
        description="temperatures (J/k_B), strictly increasing: a list or {min, max, num}",
    )
    algorithm: Literal["pt", "metropolis"] = Field(
        "pt", description="parallel tempering over the ladder, or independent Metropolis runs"
    )
    thermalization: int = Field(10_000, ge=0, description="sweeps discarded before measuring")
    sweeps: int = Field(100_000, ge=1, description="sweeps in the measurement phase")
    every: int = Field(10, ge=1, description="sweeps between two measurements")
    max_n: int = Field(
        128, ge=2, le=8192,
        description="largest N allowed in the sweep; sizes the 'hamming' dimension of P(q)",
    )
    connected: bool = Field(
        False, description="run 4 real replicas instead of 2 and store the connected "
        "spin-glass susceptibility chi_sg_conn; every other variable stays that of replicas "
        "1 and 2, bitwise the values without this setting (twice the cost)",
        json_schema_extra=ADDED_SETTING,
    )

    @field_validator("temperatures", mode="before")
    @classmethod
    def _temps_before(cls, v: Any) -> Any:
        return _ladder(v)

    @field_validator("temperatures", mode="after")
    @classmethod
    def _temps_after(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        return _check_ladder(v)

    @field_validator("every", mode="after")
    @classmethod
    def _enough(cls, v: int, info: ValidationInfo) -> int:
        sweeps = info.data.get("sweeps")
        if sweeps is not None and sweeps // v < 2 * N_BLOCKS:
            raise ValueError(f"sweeps / every = {sweeps // v} measurements; at least "
                             f"{2 * N_BLOCKS} are needed for the {N_BLOCKS}-block error analysis")
        return v

    @property
    def n_measurements(self) -> int:
        """Number of measurements taken."""
        return self.sweeps // self.every


# ----------------------------------------------------------------------------- parameters
def _size_check(v: Scalar) -> str | None:
    return None if v >= 3 else f"N must be >= 3 (got {v})"


def _field_check(v: Scalar) -> str | None:
    return None if abs(v) <= B_LIMIT else f"|B| must be <= {B_LIMIT:g} (got {v})"


def _j0_check(v: Scalar) -> str | None:
    return None if abs(v) <= 8.0 else f"|J0| must be <= 8 (got {v})"


def _tau_check(v: Scalar) -> str | None:
    return None if 0 <= v <= 10**9 else f"tau must be in 0 .. 1e9 sweeps (got {v})"


J0_PARAMETER = Parameter(
    "J0", "float", "ferromagnetic mean of the couplings, J_ij = J0/N + z_ij/sqrt(N)", "J",
    default=0.0, check=_j0_check, seed_omits_default=True,
)
PARAMETERS = (
    Parameter("N", "int", "number of spins", "spins", check=_size_check),
    Parameter("B", "float", "uniform magnetic field", "J", default=0.0, check=_field_check),
    J0_PARAMETER,
)
#: what a sample's couplings depend on (besides the sweep seed, the model name and the sample)
DISORDER_PARAMETERS = ("N", "B", "J0")


_S = TypeVar("_S", bound=BaseModel)


class _SKBase(Model[_S]):
    replica_dim: ClassVar[str] = "sample"
    conventions: ClassVar[str] = CONVENTIONS
    parameters: ClassVar[tuple[Parameter, ...]] = PARAMETERS
    presentation: ClassVar[str | None] = "statmech.models.sk.presentation:PRESENTATION"

    @classmethod
    def streams(
        cls, point: Point, seed: np.random.SeedSequence
    ) -> tuple[np.ndarray, int, np.random.SeedSequence]:
        """``(Jq, Bq, kernel seed)`` of a unit: ``seed.spawn(2)`` -> couplings, Monte Carlo.

        ``Jq`` (int64, units EPS) is drawn from the first child, the kernels' keys come from the
        second. ``seed`` must be fresh (``SeedSequence.spawn`` advances its parent). When the
        point has parameters beyond :data:`DISORDER_PARAMETERS` (``tau`` of ``sk``), the
        couplings come from the seed of the point without them
        (:func:`statmech.seeding.sibling_seed`): every ``tau`` of a sample anneals the couplings
        the enumeration of that sample sees. ``J0`` at 0 is left out of the seed key (declared
        ``seed_omits_default``), so J0 = 0 reproduces the stores made before J0 existed.
        """
        coupling_ss, kernel_ss = seed.spawn(2)
        disorder = {k: v for k, v in point.items() if k in DISORDER_PARAMETERS}
        if len(disorder) != len(point):
            coupling_ss = sibling_seed(seed, cls.name, disorder).spawn(2)[0]
        jq = draw_couplings(int(point["N"]), np.random.default_rng(coupling_ss),
                            float(point.get("J0", 0.0)))
        return jq, field_units(float(point["B"])), kernel_ss

    @classmethod
    def couplings(cls, point: Point, seed: np.random.SeedSequence) -> tuple[np.ndarray, int]:
        """The couplings ``(Jq, Bq)`` a unit was computed with, from a fresh ``unit_seed(...)``."""
        jq, bq, _ = cls.streams(point, seed)
        return jq, bq


def _pad(values: np.ndarray, size: int, fill: Any = 0) -> np.ndarray:
    out = np.full(size, fill, dtype=values.dtype)
    out[: values.size] = values
    return out


class SK(_SKBase[SKSettings]):
    """Ground states and metastable states per disorder sample (exact or by search)."""

    name: ClassVar[str] = "sk"
    presentation: ClassVar[str | None] = "statmech.models.sk.presentation:PRESENTATION"
    summary: ClassVar[str] = SK_SUMMARY
    settings_class = SKSettings
    parameters: ClassVar[tuple[Parameter, ...]] = (
        *PARAMETERS,
        Parameter("tau", "int", "annealing length in sweeps (method: anneal only; 0 otherwise)",
                  "sweeps", default=0, check=_tau_check, seed_omits_default=True),
    )

    def check_point(self, point: Point, settings: SKSettings) -> str | None:
        """N within ``settings.max_n`` (the enumeration limit for ``method: enumeration``).

        ``tau`` (annealing sweeps) must be >= 1 with ``method: anneal`` and 0 (absent) otherwise.
        """
        n = int(point["N"])
        tau = int(point.get("tau", 0))
        if settings.method == "anneal" and tau < 1:
            return ("method: anneal needs the annealing length tau >= 1 sweeps (put tau on an "
                    f"axis or under 'fixed'; got tau = {tau})")
        if settings.method != "anneal" and tau != 0:
            return (f"tau = {tau} is the annealing length; it is only used with method: "
                    "anneal (leave it out otherwise)")
        if n > settings.n_max:
            if settings.method == "enumeration":
                return (f"N = {n} is above settings.max_n = {settings.n_max}: exact enumeration "
                        f"visits 2^N states; allowed 3 <= N <= max_n, with max_n <= "
                        f"{ENUMERATION_LIMIT} (raise settings.max_n or use method: search)")
            return (f"N = {n} is above settings.max_n = {settings.n_max}; allowed 3 <= N <= "
                    "max_n (raise settings.max_n, at most 8192)")
        return None

    def variables(self, settings: SKSettings) -> tuple[Variable, ...]:
        """Per-sample results; the set depends on the method (see docs/sk.md)."""
        if settings.method == "anneal":
            return self._anneal_variables(settings)
        out = [
            Variable("e0", "ground-state energy per spin" + (
                "" if settings.method == "enumeration" else " (lowest found)"), "J"),
            Variable("ground_state", "ground-state configuration (0 beyond N)", "1", "int8",
                     ("site",), (
                         "the lowest configuration with the smallest code (bit i set iff "
                         "s_i = -1) among exact ties" if settings.method == "enumeration" else
                         "the lowest configuration found (of s and -s, when both have that "
                         "energy, the one with s_(N-1) = +1)") + "; padded with 0 for sites >= N"),
        ]
        if settings.method == "enumeration":
            out += [
                Variable("degeneracy", "number of ground states (local minima within tolerance)",
                         "1", "int64", description="configurations (s and -s counted apart) "
                         "with s_i h_i >= 0 for all i and E <= E0 + ground_state_tolerance; "
                         "with tolerance 0 this is exactly the number of ground states"),
                Variable("degeneracy_capped", "degeneracy reached max_minima (a lower bound)",
                         "1", "bool"),
                Variable("gap_minima", "E1 - E0 to the lowest other local minimum (total)", "J",
                         description="energy of the lowest local minimum above the ground-state "
                         "window minus E0; NaN if there is none or it was not kept"),
                Variable("gap_flip", "lowest single-flip excitation 2 min_i s_i h_i (total)", "J",
                         description="of the stored ground state"),
                Variable("n_stable", "number of single-flip stable configurations N_s", "1",
                         "int64", description="configurations with s_i h_i > 0 for every i "
                         "(s and -s counted apart), out of 2^N"),
                Variable("n_marginal", "local minima with some h_i = 0 exactly", "1", "int64"),
                Variable("ns_hist", "energy histogram of the stable configurations", "1",
                         "int64", ("e_bin",), "counts per bin of e = E/N; bin k holds "
                         "floor((e - e_min) / de) = k"),
                Variable("ns_below", "stable configurations with e < e_min", "1", "int64"),
                Variable("ns_above", "stable configurations with e >= e_max", "1", "int64"),
                Variable("gs_abs_m", "|m| = |sum_i s_i| / N of the stored ground state", "1",
                         description="of the ground_state configuration (s and -s have the "
                         "same |m|); the ferromagnetic order of the ground state vs J0"),
            ]
            return tuple(out)
        out += [
            Variable("success", "ground-state search succeeded", "1", "bool",
                     description=f"at least settings.agree = {settings.agree} of the "
                     f"{settings.runs} independent PT runs reached the lowest energy found "
                     "(exact equality, or within ground_state_tolerance)"),
            Variable("n_hits", "runs that reached the lowest energy", "1", "int64"),
            Variable("run_e0", "lowest energy per spin of each run", "J", dims=("run",)),
            Variable("run_hit_sweep", "sweep at which each run first reached its lowest energy",
                     "sweeps", "int64", ("run",)),
            Variable("swap_rate", "PT exchange acceptance between T_k and T_(k+1) (at k)", "1",
                     dims=("T",), description="mean over runs; NaN at the highest T"),
            Variable("flip_rate", "Metropolis acceptance per temperature", "1", dims=("T",)),
        ]
        if settings.quenches > 0:
            attrs = {"caveat": QUENCH_CAVEAT}
            out += [
                Variable("quench_distinct", "distinct local minima found by the quenches", "1",
                         "int64", attrs=attrs),
                Variable("quench_chao1", "Chao1 estimate of the number of local minima", "1",
                         attrs=attrs),
                Variable("quench_stable", "quench end points that are strictly stable", "1",
                         "int64", attrs=attrs),
                Variable("quench_e_mean", "mean energy per spin of the quench end points", "J",
                         attrs=attrs),
                Variable("quench_e_min", "lowest energy per spin reached by a quench", "J",
                         attrs=attrs),
                Variable("quench_hit_fraction", "fraction of quenches ending at e0", "1",
                         attrs=attrs),
                Variable("quench_hist", "energy histogram of the distinct minima found", "1",
                         "int64", ("e_bin",), attrs=attrs),
            ]
        return tuple(out)

    @staticmethod
    def _anneal_variables(settings: SKSettings) -> tuple[Variable, ...]:
        out = [
            Variable("e_final", "energy per spin at the end of each annealing run", "J",
                     dims=("run",), description="exact (integer arithmetic in units EPS)"),
            Variable("final_state", "configuration at the end of each annealing run", "1",
                     "int8", ("run", "site"), "+-1 spins; padded with 0 for sites >= N"),
            Variable("acceptance", "Metropolis acceptance over the whole anneal", "1",
                     dims=("run",)),
        ]
        if settings.reference:
            out += [
                Variable("e0", "exact ground-state energy per spin (enumeration)", "J",
                         description="of the same couplings as the anneal and as the "
                         "enumeration store with the same seed, N, B, J0 and sample"),
                Variable("n_found", "annealing runs that ended in a ground state", "1", "int64",
                         description="e_final == e0 exactly (integer energies)"),
            ]
        return tuple(out)

    def extra_coords(
        self, settings: SKSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``site`` (0 .. max_n - 1), ``e_bin`` (bin centres), ``run`` (search, anneal), ``T``."""
        if settings.method == "anneal":
            return {"site": np.arange(settings.n_max), "run": np.arange(settings.runs)}
        edges = settings.bin_edges()
        out = {"site": np.arange(settings.n_max), "e_bin": 0.5 * (edges[:-1] + edges[1:])}
        if settings.method == "search":
            out["run"] = np.arange(settings.runs)
            out["T"] = np.asarray(settings.temperatures, dtype=np.float64)
        return out

    def resources(self, settings: SKSettings) -> dict[str, float]:
        """backend cuda: each batch needs a Dask worker with a GPU resource."""
        return {"GPU": 1} if settings.backend == "cuda" else {}

    def cost(self, point: Point, settings: SKSettings) -> float:
        """Seconds on one core: 2^N x 1.5 ns (x 2 for B != 0) or PT trials x ~10 ns + quenches.

        Measured on a 2-core CI-class machine (1.1 / 2.0 ns per configuration); batch sizing only.
        backend cuda: 2^N x 20 ps (x 2 for B != 0; the design target, not yet measured) plus
        20 ms of launches and transfers.
        """
        n = int(point["N"])
        if settings.method == "anneal":
            trials = settings.runs * int(point.get("tau", 1)) * n
            ref = 2.0**n * 3e-9 if settings.reference else 0.0
            return trials * (6e-9 + 0.25 * n * 0.3e-9) + ref + 2e-3
        if settings.method == "enumeration":
            if settings.backend == "cuda":
                per_config = 2e-11 if float(point["B"]) == 0 else 4e-11
                return 2.0**n * per_config + 2e-2
            per_config = 1.5e-9 if float(point["B"]) == 0 else 3e-9
            return 2.0**n * per_config + 2e-3
        trials = settings.runs * settings.sweeps * len(settings.temperatures) * n
        per_trial = 8e-9 + 0.25 * n * 0.3e-9
        quench = settings.quenches * (3 * n * n * 0.5e-9 + 1e-6)
        return trials * per_trial + quench + 5e-3

    def warmup(self, settings: SKSettings) -> None:
        """Compile or load the kernels on a tiny sample.

        backend cuda on a worker without a device: the CPU kernels (such a worker never gets
        the sweep's batches, but every worker is warmed up).
        """
        tiny = settings.model_copy(update={"sweeps": 2, "quenches": min(settings.quenches, 2)})
        if settings.backend == "cuda" and not _gpu_here():
            tiny = tiny.model_copy(update={"backend": "cpu"})
        extra = {"tau": 2} if settings.method == "anneal" else {}
        for B in (0.0, 0.25):
            self.run({"N": 6, "B": B, **extra}, tiny, np.random.SeedSequence(0))

    def run(
        self, point: Point, settings: SKSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One disorder sample at (N, B, J0) (and annealing length tau)."""
        n = int(point["N"])
        jq, bq, kernel_ss = self.streams(point, seed)
        tol = int(np.floor(settings.ground_state_tolerance / EPS))
        if settings.method == "enumeration":
            return self._enumerate(jq, bq, tol, settings)
        if settings.method == "anneal":
            return self._anneal(jq, bq, settings, kernel_ss, n, int(point["tau"]))
        return self._search(jq, bq, tol, settings, kernel_ss, n)

    def _anneal(
        self, jq: np.ndarray, bq: int, settings: SKSettings, kernel_ss: np.random.SeedSequence,
        n: int, tau: int,
    ) -> dict[str, np.ndarray]:
        J2 = mc_couplings(jq, bq)
        keys = [kernel_key(c) for c in kernel_ss.spawn(settings.runs)]
        E = np.empty(settings.runs, dtype=np.int64)
        acc = np.empty(settings.runs)
        states = np.zeros((settings.runs, settings.n_max), dtype=np.int8)
        s = np.empty(n, dtype=np.int8)
        for r in range(settings.runs):
            E[r], flips = anneal_kernel(J2, bq, keys[r], tau, settings.T_start, settings.T_end,
                                        settings.schedule == "geometric",
                                        settings.final_quench, s)
            acc[r] = flips / (tau * n)
            states[r, :n] = s
        out: dict[str, Any] = {"e_final": E * EPS / n, "final_state": states,
                                      "acceptance": acc}
        if settings.reference:
            ref = enumerate_sk(jq, bq, tol_units=0, max_minima=2, e_min=settings.e_min,
                               e_max=settings.e_max, bins=1)
            E0 = ref.E0
            if int(E.min()) < E0:  # impossible: the enumeration is exact
                raise RuntimeError("annealing went below the exact ground state")
            out["e0"] = np.float64(ref.e0)
            out["n_found"] = np.int64((E == E0).sum())
        return out

    def _enumerate(
        self, jq: np.ndarray, bq: int, tol: int, settings: SKSettings
    ) -> dict[str, Any]:  # arrays and numpy scalars
        run_enumeration = enumerate_sk
        if settings.backend != "cpu":
            if _gpu_here():
                from statmech.models.sk.cuda import enumerate_sk_cuda

                run_enumeration = enumerate_sk_cuda
            elif settings.backend == "cuda":
                raise RuntimeError("backend cuda: this worker has no usable CUDA device")
        r = run_enumeration(jq, bq, tol_units=tol, max_minima=settings.max_minima,
                            e_min=settings.e_min, e_max=settings.e_max, bins=settings.e_bins)
        return {
            "e0": np.float64(r.e0),
            "ground_state": _pad(r.ground_state, settings.n_max),
            "degeneracy": np.int64(r.degeneracy),
            "degeneracy_capped": np.bool_(r.capped),
            "gap_minima": np.float64(r.gap_minima * EPS if r.gap_minima >= 0 else np.nan),
            "gap_flip": np.float64(r.gap_flip * EPS),
            "n_stable": np.int64(r.n_stable),
            "n_marginal": np.int64(r.n_marginal),
            "ns_hist": r.hist,
            "ns_below": np.int64(r.below),
            "ns_above": np.int64(r.above),
            "gs_abs_m": np.float64(abs(int(r.ground_state.astype(np.int64).sum())) / jq.shape[0]),
        }

    def _search(
        self, jq: np.ndarray, bq: int, tol: int, settings: SKSettings,
        kernel_ss: np.random.SeedSequence, n: int,
    ) -> dict[str, Any]:  # arrays and numpy scalars
        J2 = mc_couplings(jq, bq)
        temps = np.asarray(settings.temperatures, dtype=np.float64)
        betas = EPS / temps
        keys = [kernel_key(c)
                for c in kernel_ss.spawn(settings.runs + 1)]
        n_T = temps.size
        run_E = np.empty(settings.runs, dtype=np.int64)
        run_hit = np.empty(settings.runs, dtype=np.int64)
        configs = np.empty((settings.runs, n), dtype=np.int8)
        swaps = np.zeros(n_T)
        flips = np.zeros(n_T)
        for r in range(settings.runs):
            best, hit, fl, sw = pt_ground_state(J2, bq, betas, keys[r], settings.sweeps,
                                                configs[r])
            run_E[r], run_hit[r] = best, hit
            flips += fl / (settings.sweeps * n)
            swaps += sw / settings.sweeps
        E0 = int(run_E.min())
        hits = run_E <= E0 + tol
        first = int(np.argmax(run_E == E0))
        swap_rate = swaps / settings.runs
        swap_rate[-1] = np.nan
        out: dict[str, Any] = {
            "e0": np.float64(E0 * EPS / n),
            "ground_state": _pad(_canonical(configs[first], bq), settings.n_max),
            "success": np.bool_(int(hits.sum()) >= settings.agree),
            "n_hits": np.int64(hits.sum()),
            "run_e0": run_E * EPS / n,
            "run_hit_sweep": run_hit,
            "swap_rate": swap_rate,
            "flip_rate": flips / settings.runs,
        }
        if settings.quenches > 0:
            out.update(_quench_summary(J2, bq, keys[-1], settings, E0, tol, n))
        return out


def _gpu_here() -> bool:
    """Whether backend cuda / auto runs the GPU enumeration here (a device, or the simulator)."""
    from statmech.models.gpu import kernels_runnable

    return kernels_runnable()


def _canonical(s: np.ndarray, bq: int) -> np.ndarray:
    """If -s has the same energy (B = 0 or M = 0): the member with the smaller code, s_{N-1} = 1."""
    if (bq == 0 or int(s.sum()) == 0) and s[-1] < 0:
        return (-s).astype(np.int8)
    return s.astype(np.int8)


def _quench_summary(
    J2: np.ndarray, bq: int, key: np.uint64, settings: SKSettings, E0: int, tol: int, n: int
) -> dict[str, Any]:  # arrays and numpy scalars
    E, hashes, strict = quench_kernel(J2, bq, key, settings.quenches)
    pairs = np.stack([E, hashes.view(np.int64)], axis=1)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    f1 = int((counts == 1).sum())
    f2 = int((counts == 2).sum())
    distinct = int(uniq.shape[0])
    e_distinct = uniq[:, 0] * EPS / n
    edges = settings.bin_edges()
    width = (settings.e_max - settings.e_min) / settings.e_bins
    k = np.floor((e_distinct - settings.e_min) / width)
    hist = np.bincount(k[(k >= 0) & (k < settings.e_bins)].astype(np.int64),
                       minlength=settings.e_bins)[: edges.size - 1]
    return {
        "quench_distinct": np.int64(distinct),
        "quench_chao1": np.float64(distinct + f1 * (f1 - 1) / (2.0 * (f2 + 1))),
        "quench_stable": np.int64(strict.sum()),
        "quench_e_mean": np.float64(E.mean() * EPS / n),
        "quench_e_min": np.float64(E.min() * EPS / n),
        "quench_hit_fraction": np.float64(np.mean(E <= E0 + tol)),
        "quench_hist": hist.astype(np.int64),
    }


class SKOverlap(_SKBase[SKOverlapSettings]):
    """Two real replicas per sample at every temperature of a ladder: overlaps and energies."""

    name: ClassVar[str] = "sk-overlap"
    presentation: ClassVar[str | None] = "statmech.models.sk.presentation:PRESENTATION"
    summary: ClassVar[str] = OVERLAP_SUMMARY
    settings_class = SKOverlapSettings

    def check_point(self, point: Point, settings: SKOverlapSettings) -> str | None:
        """N within ``settings.max_n``."""
        n = int(point["N"])
        if n > settings.max_n:
            return (f"N = {n} is above settings.max_n = {settings.max_n} (the size of the "
                    "'hamming' dimension of P(q)); allowed 3 <= N <= max_n, max_n <= 8192")
        return None

    def variables(self, settings: SKOverlapSettings) -> tuple[Variable, ...]:
        """Per sample and temperature: overlap moments, P(q), energy, diagnostics."""
        out = []
        for name, long_name, units in (
            ("q2", "thermal <q^2>", "1"),
            ("q4", "thermal <q^4>", "1"),
            ("abs_q", "thermal <|q|>", "1"),
            ("e", "thermal <e>, energy per spin (both replicas)", "J"),
            ("m", "thermal <m>, magnetisation per spin (both replicas)", "1"),
            ("abs_m", "thermal <|m|> (both replicas)", "1"),
            ("m2", "thermal <m^2> (both replicas)", "1"),
            ("m4", "thermal <m^4> (both replicas)", "1"),
            ("q", "thermal <q> (signed overlap)", "1"),
        ):
            out.append(Variable(name, long_name, units, dims=("T",)))
            out.append(Variable(f"{name}_err", f"standard error of {name} (binning)", units,
                                dims=("T",)))
        out += [
            *([Variable("chi_sg_conn", "connected spin-glass susceptibility "
                        "(1/N) sum_ij (<s_i s_j> - <s_i><s_j>)^2", "1", dims=("T",),
                        description="N <q_ab^2 - 2 q_ab q_ac + q_ab q_cd> over 4 replicas, "
                        "symmetrised over replica labels"),
               Variable("chi_sg_conn_err", "standard error of chi_sg_conn (binning)", "1",
                        dims=("T",))] if settings.connected else []),
            Variable("pq", "overlap histogram: measurements with Hamming distance d", "1",
                     "int64", ("T", "hamming"), "P(q) at q = 1 - 2d/N is pq / n_measurements; "
                     "entries with d > N are 0"),
            Variable("tau_q2", "integrated autocorrelation time of q^2", "sweeps", dims=("T",)),
            Variable("acceptance", "Metropolis acceptance (both replicas)", "1", dims=("T",)),
            Variable("swap_rate", "PT exchange acceptance between T_k and T_(k+1) (at k)", "1",
                     dims=("T",), description="NaN at the highest T and for metropolis"),
        ]
        return tuple(out)

    def extra_coords(
        self, settings: SKOverlapSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``T`` (the ladder) and ``hamming`` (0 .. max_n)."""
        return {"T": np.asarray(settings.temperatures, dtype=np.float64),
                "hamming": np.arange(settings.max_n + 1)}

    def cost(self, point: Point, settings: SKOverlapSettings) -> float:
        """Seconds: 2 (connected: 4) replicas x sweeps x temperatures x N trials at ~12 ns."""
        n = int(point["N"])
        sweeps = settings.thermalization + settings.sweeps
        chains = 4 if settings.connected else 2
        return chains * sweeps * len(settings.temperatures) * n * 12e-9 + 5e-3

    def warmup(self, settings: SKOverlapSettings) -> None:
        """Compile or load the kernels on a tiny sample."""
        tiny = settings.model_copy(update={"thermalization": 1, "sweeps": 2 * N_BLOCKS,
                                           "every": 1})
        self.run({"N": 6, "B": 0.0}, tiny, np.random.SeedSequence(0))

    def run(
        self, point: Point, settings: SKOverlapSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One disorder sample at (N, B, J0): all temperatures of the ladder."""
        n = int(point["N"])
        jq, bq, kernel_ss = self.streams(point, seed)
        J2 = mc_couplings(jq, bq)
        temps = np.asarray(settings.temperatures, dtype=np.float64)
        if settings.connected:
            # spawn(4)'s first two children are spawn(2)'s: replicas 1, 2 are unchanged
            keys = np.array([kernel_key(c) for c in kernel_ss.spawn(4)], dtype=np.uint64)
            Qp, En, Mg, flips, swaps = pt_overlap_chains(
                J2, bq, EPS / temps, keys, settings.thermalization, settings.n_measurements,
                settings.every, settings.algorithm == "pt")
            out = overlap_observables(np.ascontiguousarray(Qp[:, 0]), En[:, :2], Mg[:, :2],
                                      flips[:2], swaps[:2], n, settings)
            chi = connected_susceptibility(Qp, n)
            vals = [binning(chi[:, k]) for k in range(temps.size)]
            out["chi_sg_conn"] = np.array([b.mean for b in vals])
            out["chi_sg_conn_err"] = np.array([b.error for b in vals])
            return out
        key_a, key_b = (kernel_key(c) for c in kernel_ss.spawn(2))
        Q, En, Mg, flips, swaps = pt_overlap(
            J2, bq, EPS / temps, key_a, key_b, settings.thermalization,
            settings.n_measurements, settings.every, settings.algorithm == "pt",
        )
        return overlap_observables(Q, En, Mg, flips, swaps, n, settings)


def connected_susceptibility(Qp: np.ndarray, n: int) -> np.ndarray:
    """Per measurement ``N (Q2 - 2 Q3 + Q4)`` from the 6 pair overlaps of 4 replicas.

    ``Qp[t, p, k]``: pairs (0,1), (0,2), (0,3), (1,2), (1,3), (2,3). ``Q2``: mean of q_ab^2
    over the 6 pairs; ``Q3``: mean of q_ab q_ac over the 12 (replica a, pair {b, c} of the
    others); ``Q4``: mean of q_ab q_cd over the 3 disjoint pairings. Its thermal mean is
    ``(1/N) sum_ij (<s_i s_j> - <s_i><s_j>)^2``.
    """
    q = Qp.astype(np.float64) / n
    idx = {(0, 1): 0, (0, 2): 1, (0, 3): 2, (1, 2): 3, (1, 3): 4, (2, 3): 5}

    def pair(a: int, b: int) -> np.ndarray:
        return q[:, idx[(min(a, b), max(a, b))]]

    q2 = (q**2).mean(axis=1)
    q3 = np.zeros_like(q2)
    for a in range(4):
        others = [r for r in range(4) if r != a]
        for b, c in itertools.combinations(others, 2):
            q3 += pair(a, b) * pair(a, c)
    q3 /= 12.0
    q4 = (pair(0, 1) * pair(2, 3) + pair(0, 2) * pair(1, 3) + pair(0, 3) * pair(1, 2)) / 3.0
    return n * (q2 - 2.0 * q3 + q4)


def overlap_observables(
    Q: np.ndarray, En: np.ndarray, Mg: np.ndarray, flips: np.ndarray, swaps: np.ndarray, n: int,
    settings: SKOverlapSettings,
) -> dict[str, np.ndarray]:
    """Stored observables from the time series ``Q[t, k]``, ``En[t, c, k]``, ``Mg[t, c, k]``."""
    n_meas, n_T = Q.shape
    out: dict[str, np.ndarray] = {}
    q = Q / n
    e = En.mean(axis=1) * EPS / n
    mg = Mg / n
    series = {"q2": q**2, "q4": q**4, "abs_q": np.abs(q), "e": e, "m": Mg.mean(axis=1) / n,
              "abs_m": np.abs(mg).mean(axis=1), "m2": (mg**2).mean(axis=1),
              "m4": (mg**4).mean(axis=1), "q": q}
    for name, x in series.items():
        vals = [binning(x[:, k]) for k in range(n_T)]
        out[name] = np.array([b.mean for b in vals])
        out[f"{name}_err"] = np.array([b.error for b in vals])
    d = (n - Q.astype(np.int64)) // 2
    pq = np.zeros((n_T, settings.max_n + 1), dtype=np.int64)
    for k in range(n_T):
        pq[k, : n + 1] = np.bincount(d[:, k], minlength=n + 1)
    out["pq"] = pq
    out["tau_q2"] = np.array([tau_int(series["q2"][:, k]) for k in range(n_T)]) * settings.every
    attempts = 2 * n_meas * settings.every * n
    out["acceptance"] = flips.sum(axis=0) / max(attempts, 1)
    if settings.algorithm == "pt" and n_T > 1:
        rate = swaps.sum(axis=0) / (2.0 * n_meas * settings.every)
        rate[-1] = np.nan
    else:
        rate = np.full(n_T, np.nan)
    out["swap_rate"] = rate
    return {k: np.asarray(v) for k, v in out.items()}
