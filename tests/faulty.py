"""A test model for failure handling (loaded on workers through STATMECH_MODELS).

``y`` is a deterministic function of the unit's seed; a unit sleeps ``sleep`` seconds first (so
that processes can be killed mid-sweep), always raises for ``x`` in ``fail_on``, and raises on
its first attempt only for ``x`` in ``flaky_on`` (marker files in ``marks``). With ``group > 1``
the runner hands it units in groups (:meth:`Model.run_many`). The always-failing
values come from the environment (``FAULTY_FAIL_ON="3,4"``), standing for a code bug that a
later fix removes without changing the sweep file. Also from the environment:
``FAULTY_SLOW_ON="7"`` makes the units at those ``x`` sleep ``FAULTY_SLOW_SECONDS`` (default 60)
more, and ``FAULTY_TRACE=DIR`` leaves a file per computed unit in DIR (what a test killing the
sweep process between compute and flush needs to know). ``bad_on`` values return values that do
not match the declared variables (``bad_kind``: missing, shape, dtype or extra).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from statmech.models.base import Model, Parameter, Point, Variable


class FaultySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sleep: float = 0.0
    flaky_on: tuple[float, ...] = ()
    marks: str = ""
    group: int = 1
    bad_on: tuple[float, ...] = ()
    bad_kind: str = "missing"


class Faulty(Model):
    name: ClassVar[str] = "faulty"
    summary: ClassVar[str] = "test model with injected failures"
    conventions: ClassVar[str] = "y ~ N(0, 1/100) from the unit's stream"
    settings_class: ClassVar[type[BaseModel]] = FaultySettings
    parameters: ClassVar[tuple[Parameter, ...]] = (Parameter("x", "float", "control"),)

    def variables(self, settings: BaseModel) -> tuple[Variable, ...]:
        return (Variable("y", "value", attrs={"finite": 1}), Variable("y_err", "error of y"))

    def cost(self, point: Point, settings: BaseModel) -> float:
        assert isinstance(settings, FaultySettings)
        return settings.sleep + 0.001

    def group_size(self, settings: BaseModel) -> int:
        assert isinstance(settings, FaultySettings)
        return settings.group

    def run(self, point: Point, settings: BaseModel, seed: np.random.SeedSequence):  # type: ignore[no-untyped-def]
        assert isinstance(settings, FaultySettings)
        x = float(point["x"])
        time.sleep(settings.sleep)
        slow = [float(v) for v in os.environ.get("FAULTY_SLOW_ON", "").split(",") if v]
        if x in slow:
            time.sleep(float(os.environ.get("FAULTY_SLOW_SECONDS", "60")))
        fail_on = [float(v) for v in os.environ.get("FAULTY_FAIL_ON", "").split(",") if v]
        if x in fail_on:
            raise AssertionError(f"kernel assertion failed at x={x}")
        if x in settings.flaky_on:
            mark = Path(settings.marks) / f"{x}-{seed.spawn_key[-1]}"
            if not mark.exists():
                mark.parent.mkdir(parents=True, exist_ok=True)
                mark.write_text("failed once")
                raise RuntimeError(f"transient failure at x={x}")
        y = np.random.default_rng(seed).normal(size=100).mean()
        trace = os.environ.get("FAULTY_TRACE")
        if trace:
            Path(trace, f"{x}-{seed.spawn_key[-1]}").write_text("computed")
        if x in settings.bad_on:
            return {"missing": {"y": np.float64(y)},
                    "shape": {"y": np.zeros(3), "y_err": np.float64(0.1)},
                    "dtype": {"y": np.complex128(y), "y_err": np.float64(0.1)},
                    "extra": {"y": np.float64(y), "y_err": np.float64(0.1), "z": 1.0},
                    }[settings.bad_kind]
        return {"y": np.float64(y), "y_err": np.float64(0.1)}
