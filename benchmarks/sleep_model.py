"""A plug-in model whose units only sleep: a stand-in for long units on a big simulated cluster.

Registered through ``STATMECH_MODELS="sleep=benchmarks.sleep_model:SleepModel"``. A unit sleeps
``sleep`` seconds (threads sleep in parallel, so 8 processes x 128 threads on 2 cores behave
like 1024 busy slots) and returns one number drawn from its seed.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from statmech.models.base import Model, Parameter, Point, Variable


class SleepSettings(BaseModel):
    """How long a unit sleeps."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sleep: float = 1.0


class SleepModel(Model):
    """Units that sleep ``sleep`` seconds and return ``v`` ~ U(0, 1) from their stream."""

    name: ClassVar[str] = "sleep"
    summary: ClassVar[str] = "sleeping units (benchmarks)"
    conventions: ClassVar[str] = "v ~ U(0, 1) from the unit's stream"
    settings_class: ClassVar[type[BaseModel]] = SleepSettings
    parameters: ClassVar[tuple[Parameter, ...]] = (Parameter("i", "int", "unit index"),)

    def variables(self, settings: BaseModel) -> tuple[Variable, ...]:
        """One number per unit."""
        return (Variable("v", "a number from the unit's stream"),)

    def cost(self, point: Point, settings: BaseModel) -> float:
        """The sleep."""
        assert isinstance(settings, SleepSettings)
        return settings.sleep

    def run(self, point: Point, settings: BaseModel,
            seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
        """Sleep, then draw."""
        assert isinstance(settings, SleepSettings)
        time.sleep(settings.sleep)
        return {"v": np.float64(np.random.default_rng(seed).random())}
