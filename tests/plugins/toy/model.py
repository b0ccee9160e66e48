"""Independent Ising spins in a field: the smallest exactly solvable model.

H = -B sum_i s_i (J = 0, k_B = 1, s_i = +-1, B > 0 favours up spins). Each spin is up with
probability (1 + tanh(B/T)) / 2, so the magnetisation per spin has mean tanh(B/T) and the energy
per spin is -B tanh(B/T) exactly, at every N.

A unit draws ``samples`` independent configurations of ``N`` spins from its own SeedSequence
(numpy Generator) and stores the mean magnetisation per spin ``m`` with its standard error
``m_err`` (spread over the configurations), the energy per spin ``e`` and a histogram
``hist`` of the per-configuration magnetisation (an extra dimension ``bin``, which the generic
figures leave out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from statmech.models.base import Model, Parameter, Point, Scalar, Variable

BINS = 10


def _positive(x: Scalar) -> str | None:
    return None if x > 0 else "must be > 0"


class ParamagnetSettings(BaseModel):
    """Monte Carlo settings: independent configurations per unit."""

    model_config = ConfigDict(extra="forbid")
    samples: int = Field(200, ge=2, description="independent configurations per unit")


class Paramagnet(Model[ParamagnetSettings]):
    """Independent spins in a field B at temperature T (exact mean tanh(B/T))."""

    name: ClassVar[str] = "toy"
    summary: ClassVar[str] = "independent spins in a field (plug-in test model)"
    conventions: ClassVar[str] = "H = -B sum_i s_i, s_i = +-1, k_B = 1; m, e per spin"
    presentation: ClassVar[str | None] = "toy.presentation:PRESENTATION"
    settings_class = ParamagnetSettings
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("N", "int", "number of spins", "spins", default=16, check=_positive),
        Parameter("T", "float", "temperature", "J/k_B", check=_positive),
        Parameter("B", "float", "field", "J", default=0.0),
    )

    def variables(self, settings: ParamagnetSettings) -> tuple[Variable, ...]:
        """m, m_err, e per unit; hist over the extra dimension ``bin``."""
        return (
            Variable("m", "magnetisation per spin", "1"),
            Variable("m_err", "standard error of m", "1"),
            Variable("e", "energy per spin", "J"),
            Variable("hist", "histogram of the configurations' magnetisation", "1",
                     dtype="int64", dims=("bin",)),
        )

    def extra_coords(
        self, settings: ParamagnetSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``bin``: centres of BINS equal bins on [-1, 1]."""
        return {"bin": np.linspace(-1, 1, BINS + 1)[:-1] + 1.0 / BINS}

    def cost(self, point: Point, settings: ParamagnetSettings) -> float:
        """About 10 ns per spin drawn, plus 1 ms of overhead."""
        return 1e-3 + 1e-8 * int(point["N"]) * settings.samples

    def run(
        self, point: Point, settings: ParamagnetSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """``samples`` configurations from the unit's own stream."""
        rng = np.random.default_rng(seed)
        n, T, B = int(point["N"]), float(point["T"]), float(point["B"])
        p_up = 0.5 * (1.0 + np.tanh(B / T))
        spins = np.where(rng.random((settings.samples, n)) < p_up, 1.0, -1.0)
        per_config = spins.mean(axis=1)
        m = per_config.mean()
        hist, _ = np.histogram(per_config, bins=BINS, range=(-1.0, 1.0))
        return {"m": np.asarray(m), "m_err": np.asarray(per_config.std(ddof=1)
                                                          / np.sqrt(settings.samples)),
                "e": np.asarray(-B * m), "hist": hist.astype(np.int64)}


class BareParamagnet(Paramagnet):
    """The same physics with no presentation at all: generic figures, no estimates, no
    refinement targets."""

    name: ClassVar[str] = "toy-bare"
    presentation: ClassVar[str | None] = None
