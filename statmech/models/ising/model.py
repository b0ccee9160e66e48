"""The Ising model on the periodic square lattice (``ising2d``) and chain (``ising1d``).

Conventions: J = 1, k_B = 1, ``H = -sum_<ij> s_i s_j - B sum_i s_i`` (B > 0 favours s = +1),
periodic boundaries, each bond counted once. ``T`` is the temperature (not beta). Observables
are per spin: ``e = H / N``, ``m = sum_i s_i / N``. Per unit (point, replica) the store holds
the time averages of e, e^2, m, |m|, m^2, m^4 with binning errors, the derived
``C = N (<e^2> - <e>^2) / T^2``, ``chi = N (<m^2> - <|m|>^2) / T`` and
``U4 = 1 - <m^4> / (3 <m^2>^2)`` with block-jackknife errors, the integrated autocorrelation
times of e and |m| (in sweeps) and the acceptance rate.

One sweep is one update attempt per spin: a checkerboard half-sweep of each colour on the square
lattice, N trials at random sites on the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from statmech.models.base import Model, Parameter, Point, Scalar, Variable
from statmech.models.ising.kernels import flip_thresholds, simulate_1d, simulate_2d, split_2d
from statmech.models.ising.msc import pack, probability_masks, simulate_msc
from statmech.models.ising.wolff import simulate_wolff
from statmech.rng import threshold31
from statmech.seeding import kernel_key
from statmech.stats import N_BLOCKS, binning, jackknife, tau_int
from statmech.theory.ising import TC_2D

CONVENTIONS = (
    "J = 1, k_B = 1; H = -sum_<ij> s_i s_j - B sum_i s_i (B > 0 favours s = +1); periodic "
    "boundaries; T is the temperature; e = H/N and m = sum_i s_i / N per spin; "
    "C = N(<e^2>-<e>^2)/T^2, chi = N(<m^2>-<|m|>^2)/T, U4 = 1 - <m^4>/(3<m^2>^2); "
    "errors are one standard error (binning / block jackknife over 32 blocks); "
    "tau_* are integrated autocorrelation times in sweeps (Sokal window, c = 6)."
)


class IsingSettings(BaseModel):
    """Monte Carlo settings of the Ising models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["metropolis", "heatbath", "wolff", "metropolis-msc", "auto"] = Field(
        "metropolis",
        description="single-spin Metropolis or heat bath (Glauber) updates; Wolff cluster "
        "updates (2D, B = 0); multi-spin-coded Metropolis, 64 spins per word (2D, B = 0, L a "
        "multiple of 128); or auto: Wolff where it is cheaper per independent sample "
        "(2D, B = 0, T < 1.2 Tc; see docs/benchmarks.md), Metropolis elsewhere",
    )
    thermalization: int = Field(1000, ge=0, description="sweeps discarded before measuring")
    sweeps: int = Field(10000, ge=1, description="sweeps in the measurement phase")
    every: int = Field(1, ge=1, description="sweeps between two measurements")
    backend: Literal["cpu", "cuda", "auto"] = Field(
        "cpu",
        description="where the checkerboard kernel runs: cpu, cuda (GPU workers only: their "
        "batches are routed to Dask workers with a GPU resource) or auto (a GPU when the "
        "worker has one); the GPU kernel reproduces the CPU kernel bitwise",
    )
    start: Literal["hot", "cold", "aligned"] = Field(
        "hot",
        description="initial state: random (hot), all spins up (cold), or all along the field "
        "(aligned: the stable branch for B != 0, all up at B = 0)",
    )

    @model_validator(mode="after")
    def _enough_measurements(self) -> IsingSettings:
        n = self.sweeps // self.every
        if n < 2 * N_BLOCKS:
            raise ValueError(
                f"sweeps / every = {n} measurements; at least {2 * N_BLOCKS} are needed "
                f"for the {N_BLOCKS}-block error analysis"
            )
        return self

    @model_validator(mode="after")
    def _wolff_thermalizes(self) -> IsingSettings:
        if self.algorithm in ("wolff", "auto") and self.thermalization < 10:
            raise ValueError("wolff needs thermalization >= 10 sweeps (the mean cluster size "
                             "measured there fixes the clusters per sweep)")
        return self

    @model_validator(mode="after")
    def _gpu_kernels(self) -> IsingSettings:
        if self.backend != "cpu" and self.algorithm not in ("metropolis", "heatbath"):
            raise ValueError(f"backend {self.backend} runs the metropolis and heatbath "
                             f"checkerboard kernels only, not {self.algorithm}")
        return self

    @property
    def n_measurements(self) -> int:
        """Number of measurements taken."""
        return self.sweeps // self.every


def _positive(name: str) -> Callable[[Scalar], str | None]:
    def check(v: Scalar) -> str | None:
        return None if v > 0 else f"{name} must be > 0 (got {v})"

    return check


def _even_size(name: str) -> Callable[[Scalar], str | None]:
    def check(v: Scalar) -> str | None:
        if v < 2 or v % 2:
            return (f"{name} must be even and >= 2 for the checkerboard update (got {v})")
        return None

    return check


def _min_size(name: str, smallest: int) -> Callable[[Scalar], str | None]:
    def check(v: Scalar) -> str | None:
        return None if v >= smallest else f"{name} must be >= {smallest} (got {v})"

    return check


def _variables() -> tuple[Variable, ...]:
    out: list[Variable] = []
    primary = [
        ("e", "energy per spin <e>", "J"),
        ("e2", "second moment of the energy per spin <e^2>", "J^2"),
        ("m", "magnetisation per spin <m>", "1"),
        ("abs_m", "absolute magnetisation per spin <|m|>", "1"),
        ("m2", "second moment of the magnetisation <m^2>", "1"),
        ("m4", "fourth moment of the magnetisation <m^4>", "1"),
        ("C", "specific heat per spin N(<e^2>-<e>^2)/T^2", "k_B"),
        ("chi", "susceptibility per spin N(<m^2>-<|m|>^2)/T", "1/J"),
        ("U4", "Binder cumulant 1-<m^4>/(3<m^2>^2)", "1"),
    ]
    for name, long_name, units in primary:
        out.append(Variable(name, long_name, units))
        out.append(Variable(f"{name}_err", f"standard error of {name}", units))
    out += [
        Variable("tau_e", "integrated autocorrelation time of e", "sweeps"),
        Variable("tau_abs_m", "integrated autocorrelation time of |m|", "sweeps"),
        Variable("acceptance", "fraction of accepted spin flips", "1"),
    ]
    return tuple(out)


VARIABLES = _variables()
#: algorithm auto uses Wolff at B = 0 for T < AUTO_WOLFF_BELOW * Tc (docs/benchmarks.md)
AUTO_WOLFF_BELOW = 1.2
#: on a GPU, up to this many pending units of a batch run in shared launches ...
GPU_GROUP = 64
#: ... holding at most this many spins together (one byte each, twice for the device copies)
GPU_GROUP_SPINS = 2**28
WOLFF_VARIABLES = (
    Variable("m2_cluster", "improved (cluster-size) estimator of <m^2>: <|C|>/N", "1"),
    Variable("m2_cluster_err", "standard error of m2_cluster", "1"),
    Variable("cluster_fraction", "mean Wolff cluster size / N", "1"),
    Variable("clusters_per_sweep", "Wolff clusters per sweep (fixed after thermalization)",
             "1"),
)


def observables(
    bonds: np.ndarray, mags: np.ndarray, n: int, T: float, B: float, accepted: int,
    attempts: int, every: int,
) -> dict[str, np.ndarray]:
    """Stored observables from the integer time series of bond sum and magnetisation."""
    e = (-bonds - B * mags) / n
    m = mags / n
    am = np.abs(m)
    out: dict[str, float] = {}
    for name, x in (("e", e), ("e2", e * e), ("m", m), ("abs_m", am), ("m2", m * m),
                    ("m4", m**4)):
        b = binning(x)
        out[name], out[f"{name}_err"] = b.mean, b.error
    out["C"], out["C_err"] = jackknife(lambda e1, e2: n * (e2 - e1 * e1) / T**2, [e, e * e])
    out["chi"], out["chi_err"] = jackknife(lambda a1, m2: n * (m2 - a1 * a1) / T, [am, m * m])
    out["U4"], out["U4_err"] = jackknife(
        lambda m2, m4: 1.0 - m4 / (3.0 * m2 * m2) if m2 > 0 else np.nan, [m * m, m**4]
    )
    out["tau_e"] = tau_int(e) * every
    out["tau_abs_m"] = tau_int(am) * every
    out["acceptance"] = accepted / attempts
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


class _Ising(Model[IsingSettings]):
    settings_class = IsingSettings
    conventions: ClassVar[str] = CONVENTIONS
    size_name: ClassVar[str]
    ns_per_flip: ClassVar[float]

    def variables(self, settings: IsingSettings) -> tuple[Variable, ...]:
        """Per-replica observables (see the module docstring); Wolff adds cluster estimators."""
        wolff = settings.algorithm in ("wolff", "auto")
        return VARIABLES + (WOLFF_VARIABLES if wolff else ())

    def cost(self, point: Point, settings: IsingSettings) -> float:
        """Seconds: sweeps x (spins x time per flip + rows x time per row) + analysis.

        Calibrated on one core of a 2-core CI-class machine; only used to size batches.
        """
        n = self.n_spins(point)
        sweeps = settings.thermalization + settings.sweeps
        T, B = float(point.get("T", 1.0)), float(point.get("B", 0.0))
        wolff = isinstance(self, Ising2D) and self.algorithm_at(T, B, settings) == "wolff"
        ns = 25.0 if wolff else (0.25 if settings.algorithm == "metropolis-msc"
                                 else self.ns_per_flip)
        per_sweep = n * ns + self.rows(point) * 80.0
        return sweeps * per_sweep * 1e-9 + 5e-7 * settings.n_measurements + 5e-3

    def memory(self, point: Point, settings: BaseModel) -> float:
        """Bytes: spins, cluster stack and flags (~16 bytes a spin) plus 1 MiB of overhead."""
        return 16.0 * self.n_spins(point) + 2.0**20

    def rows(self, point: Point) -> int:
        """Rows of the checkerboard layout (per-row loop overhead)."""
        return 0

    def n_spins(self, point: Point) -> int:
        """Number of spins of the point."""
        raise NotImplementedError

    def warmup(self, settings: IsingSettings) -> None:
        """Load the compiled kernels by running a tiny system."""
        tiny = settings.model_copy(update={"thermalization": 1, "sweeps": 2 * N_BLOCKS,
                                           "every": 1})
        if settings.backend == "cuda":
            from statmech.models.gpu import kernels_runnable

            if not kernels_runnable():  # every worker is warmed up; this one gets no GPU batch
                tiny = tiny.model_copy(update={"backend": "cpu"})
        point: dict[str, Scalar] = {p.name: p.default for p in self.parameters
                                    if p.default is not None}
        point.update({self.size_name: 4, "T": 2.0})
        self.run(point, tiny, np.random.SeedSequence(0))

    def _initial(self, n: int, settings: IsingSettings, ss: np.random.SeedSequence,
                 B: float = 0.0) -> np.ndarray:
        if settings.start == "cold":
            return np.ones(n, dtype=np.int8)
        if settings.start == "aligned":
            return np.full(n, -1 if B < 0 else 1, dtype=np.int8)
        rng = np.random.default_rng(ss)
        return (rng.integers(0, 2, size=n, dtype=np.int8) * 2 - 1).astype(np.int8)


class Ising2D(_Ising):
    """Square lattice L x L, checkerboard Metropolis or heat-bath updates in a field B."""

    name: ClassVar[str] = "ising2d"
    presentation: ClassVar[str | None] = "statmech.models.ising.presentation:PRESENTATION"
    summary: ClassVar[str] = "2D Ising model on the periodic L x L square lattice"
    size_name: ClassVar[str] = "L"
    ns_per_flip: ClassVar[float] = 1.5
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("L", "int", "linear lattice size", "sites", check=_even_size("L")),
        Parameter("T", "float", "temperature", "J/k_B", check=_positive("T")),
        Parameter("B", "float", "magnetic field", "J", default=0.0),
    )

    def n_spins(self, point: Point) -> int:
        """L**2."""
        return int(point["L"]) ** 2

    def rows(self, point: Point) -> int:
        """Two half-sweeps of L rows each."""
        return 2 * int(point["L"])

    def run(
        self, point: Point, settings: IsingSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """Simulate one replica at (L, T, B)."""
        L, T, B = int(point["L"]), float(point["T"]), float(point["B"])
        init_ss, kernel_ss = seed.spawn(2)
        spins = self._initial(L * L, settings, init_ss, B).reshape(L, L)
        algorithm = self.algorithm_at(T, B, settings)
        if algorithm == "wolff":
            return self._run_wolff(spins, T, settings, kernel_ss)
        a, b = split_2d(spins)
        if algorithm == "metropolis-msc":
            return self._run_msc(a, b, T, settings, kernel_ss)
        thr = flip_thresholds(T, B, 4, algorithm)
        key = kernel_key(kernel_ss)
        simulate = simulate_2d
        if self._on_gpu(settings):
            from statmech.models.ising.cuda import simulate_2d_cuda as simulate
        bonds, mags, acc = simulate(
            a, b, thr, key, settings.thermalization, settings.n_measurements, settings.every
        )
        return self._checkerboard_observables(bonds, mags, int(acc), L, T, B, settings)

    @staticmethod
    def _on_gpu(settings: IsingSettings) -> bool:
        """Whether the checkerboard kernel runs on the GPU here (cuda without one: an error)."""
        if settings.backend == "cpu":
            return False
        from statmech.models.gpu import kernels_runnable

        if kernels_runnable():
            return True
        if settings.backend == "cuda":
            raise RuntimeError("backend cuda: this worker has no usable CUDA device")
        return False

    @staticmethod
    def _checkerboard_observables(bonds: np.ndarray, mags: np.ndarray, accepted: int, L: int,
                                  T: float, B: float, settings: IsingSettings,
                                  ) -> dict[str, np.ndarray]:
        attempts = settings.n_measurements * settings.every * L * L
        out = observables(bonds, mags, L * L, T, B, accepted, attempts, settings.every)
        if settings.algorithm == "auto":
            out.update({v.name: np.asarray(np.nan) for v in WOLFF_VARIABLES})
        return out

    def group_size(self, settings: IsingSettings) -> int:
        """On a GPU, up to :data:`GPU_GROUP` units go to the device together.

        Without a usable device: 1, so that each unit fails (backend cuda) or runs on the CPU
        (auto) on its own.
        """
        if settings.backend == "cpu":
            return 1
        from statmech.models.gpu import kernels_runnable

        return GPU_GROUP if kernels_runnable() else 1

    def run_many(
        self, points: Sequence[Point], settings: IsingSettings,
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[dict[str, np.ndarray]]:
        """On a GPU: the units of each lattice size in shared launches (one lattice each).

        Every unit gets exactly what :meth:`run` gives it; groups hold at most
        :data:`GPU_GROUP_SPINS` spins so that large lattices still fit on the device.
        """
        if not self._on_gpu(settings):
            return super().run_many(points, settings, seeds)
        from statmech.models.ising.cuda import simulate_2d_cuda_many

        results: list[dict[str, np.ndarray]] = [{} for _ in points]
        by_size: dict[int, list[int]] = {}
        for i, point in enumerate(points):
            by_size.setdefault(int(point["L"]), []).append(i)
        for L, members in by_size.items():
            per_group = max(1, GPU_GROUP_SPINS // (L * L))
            for start in range(0, len(members), per_group):
                group = members[start:start + per_group]
                a, b, thr, keys = [], [], [], []
                for i in group:
                    T, B = float(points[i]["T"]), float(points[i]["B"])
                    init_ss, kernel_ss = seeds[i].spawn(2)
                    pair = split_2d(self._initial(L * L, settings, init_ss, B).reshape(L, L))
                    a.append(pair[0])
                    b.append(pair[1])
                    thr.append(flip_thresholds(T, B, 4, self.algorithm_at(T, B, settings)))
                    keys.append(kernel_key(kernel_ss))
                bonds, mags, acc = simulate_2d_cuda_many(
                    np.stack(a), np.stack(b), np.stack(thr), np.array(keys, dtype=np.uint64),
                    settings.thermalization, settings.n_measurements, settings.every)
                for k, i in enumerate(group):
                    results[i] = self._checkerboard_observables(
                        bonds[k], mags[k], int(acc[k]), L, float(points[i]["T"]),
                        float(points[i]["B"]), settings)
        return results

    @staticmethod
    def algorithm_at(T: float, B: float, settings: IsingSettings) -> str:
        """The update used at (T, B): ``auto`` takes Wolff at B = 0 below 1.2 Tc."""
        if settings.algorithm != "auto":
            return settings.algorithm
        return "wolff" if B == 0 and T < AUTO_WOLFF_BELOW * TC_2D else "metropolis"

    def _run_wolff(self, spins: np.ndarray, T: float, settings: IsingSettings,
                   kernel_ss: np.random.SeedSequence) -> dict[str, np.ndarray]:
        L = spins.shape[0]
        n = L * L
        thr = threshold31(-np.expm1(-2.0 / T))  # bond probability 1 - exp(-2/T)
        key = kernel_key(kernel_ss)
        bonds, mags, m2c, _clusters, k = simulate_wolff(
            spins, thr, key, settings.thermalization, settings.n_measurements, settings.every)
        out = observables(bonds, mags, n, T, 0.0, 0, 1, settings.every)
        out["acceptance"] = np.asarray(np.nan)
        b = binning(m2c)
        out["m2_cluster"], out["m2_cluster_err"] = np.asarray(b.mean), np.asarray(b.error)
        out["cluster_fraction"] = np.asarray(b.mean)  # <|C|>/N: the same number, by construction
        out["clusters_per_sweep"] = np.asarray(float(k))
        return out

    def _run_msc(self, a: np.ndarray, b: np.ndarray, T: float, settings: IsingSettings,
                 kernel_ss: np.random.SeedSequence) -> dict[str, np.ndarray]:
        L = a.shape[0]
        pa, pb = pack(a), pack(b)
        key = kernel_key(kernel_ss)
        bonds, mags, acc = simulate_msc(
            pa, pb, probability_masks(np.exp(-4.0 / T)), probability_masks(np.exp(-8.0 / T)),
            key, settings.thermalization, settings.n_measurements, settings.every)
        attempts = settings.n_measurements * settings.every * L * L
        return observables(bonds, mags, L * L, T, 0.0, int(acc), attempts, settings.every)

    def resources(self, settings: IsingSettings) -> dict[str, float]:
        """backend cuda: each batch needs a Dask worker with a GPU resource."""
        return {"GPU": 1} if settings.backend == "cuda" else {}

    def check_point(self, point: Point, settings: IsingSettings) -> str | None:
        """Wolff and the multi-spin-coded kernel need B = 0; the latter L % 128 == 0."""
        B = float(point.get("B", 0.0))
        if settings.algorithm in ("wolff", "metropolis-msc") and B != 0.0:
            return (f"algorithm {settings.algorithm} works at B = 0 only (use metropolis or "
                    "heatbath in a field)")
        if settings.algorithm == "metropolis-msc" and int(point["L"]) % 128:
            return ("algorithm metropolis-msc packs 64 sites of a sublattice row per word: "
                    f"L must be a multiple of 128 (got {point['L']})")
        return None


class Ising1D(_Ising):
    """Periodic chain of N spins, random-site Metropolis or heat-bath updates in a field B."""

    name: ClassVar[str] = "ising1d"
    presentation: ClassVar[str | None] = "statmech.models.ising.presentation:PRESENTATION"
    summary: ClassVar[str] = "1D Ising chain of N spins with periodic boundaries"
    size_name: ClassVar[str] = "N"
    ns_per_flip: ClassVar[float] = 8.0
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("N", "int", "number of spins", "sites", check=_min_size("N", 2)),
        Parameter("T", "float", "temperature", "J/k_B", check=_positive("T")),
        Parameter("B", "float", "magnetic field", "J", default=0.0),
    )

    def n_spins(self, point: Point) -> int:
        """N."""
        return int(point["N"])

    def check_settings(self, settings: IsingSettings, axes: Mapping[str, np.ndarray]) -> list[str]:
        """The chain has local updates only."""
        if settings.backend != "cpu":
            return [f"backend {settings.backend} is implemented for ising2d only"]
        if settings.algorithm in ("wolff", "auto", "metropolis-msc"):
            return [f"algorithm {settings.algorithm} is implemented for ising2d only; "
                    "use metropolis or heatbath for the chain"]
        return []

    def run(
        self, point: Point, settings: IsingSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """Simulate one replica at (N, T, B)."""
        N, T, B = int(point["N"]), float(point["T"]), float(point["B"])
        init_ss, kernel_ss = seed.spawn(2)
        spins = self._initial(N, settings, init_ss, B)
        thr = flip_thresholds(T, B, 2, settings.algorithm)
        key = kernel_key(kernel_ss)
        n_meas = settings.n_measurements
        bonds, mags, acc = simulate_1d(
            spins, thr, key, settings.thermalization, n_meas, settings.every
        )
        attempts = n_meas * settings.every * N
        return observables(bonds, mags, N, T, B, int(acc), attempts, settings.every)
