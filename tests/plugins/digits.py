"""An order-revealing test model: its output spells its own coordinates in decimal digits.

For a point (a, b, c) with single-digit axis values, ``code = 100 a + 10 b + c`` and
``digits[k]`` = (a, b, c)[k] (an extra dimension). ``draw`` is one uniform number from the
unit's SeedSequence, so two runs of the same sweep must agree bitwise whatever the batching.
A store written through the real flow then has, at every coordinate, the value that names that
coordinate, whatever the axis order in the sweep file, the order of the values on an axis, the
batch size, the number of workers or the grouping of units (``settings.group`` > 1 sends groups
to :meth:`Digits.run_many`, which computes them in reverse order and must still return them in
order), as in xyzpy's combo-runner tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from statmech.models.base import Model, Parameter, Point, Scalar, Variable


def _digit(x: Scalar) -> str | None:
    return None if x == int(x) and 0 <= x <= 9 else "must be a single decimal digit"


class DigitsSettings(BaseModel):
    """How many units the runner passes to run_many at once."""

    model_config = ConfigDict(extra="forbid")
    group: int = Field(1, ge=1)


class Digits(Model[DigitsSettings]):
    """code = 100 a + 10 b + c; digits = (a, b, c); draw from the unit's stream."""

    name: ClassVar[str] = "digits"
    summary: ClassVar[str] = "order-revealing test model"
    conventions: ClassVar[str] = "code = 100 a + 10 b + c"
    settings_class = DigitsSettings
    parameters: ClassVar[tuple[Parameter, ...]] = tuple(
        Parameter(n, "int", f"digit {n}", default=0, check=_digit) for n in ("a", "b", "c"))

    def variables(self, settings: DigitsSettings) -> tuple[Variable, ...]:
        """code, digits (extra dimension ``place``) and draw."""
        return (Variable("code", "100 a + 10 b + c", dtype="int64"),
                Variable("digits", "(a, b, c)", dtype="int64", dims=("place",)),
                Variable("draw", "uniform draw from the unit's stream"))

    def extra_coords(
        self, settings: DigitsSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``place``: 0, 1, 2 for a, b, c."""
        return {"place": np.arange(3)}

    def cost(self, point: Point, settings: DigitsSettings) -> float:
        """Instantaneous."""
        return 1e-4

    def group_size(self, settings: DigitsSettings) -> int:
        """``settings.group``."""
        return settings.group

    def run(
        self, point: Point, settings: DigitsSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """The point's own digits and one draw from its stream."""
        a, b, c = (int(point[n]) for n in ("a", "b", "c"))
        return {"code": np.asarray(100 * a + 10 * b + c, dtype=np.int64),
                "digits": np.array([a, b, c], dtype=np.int64),
                "draw": np.asarray(np.random.default_rng(seed).random())}

    def run_many(
        self, points: Sequence[Point], settings: DigitsSettings,
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[dict[str, np.ndarray]]:
        """Computed last to first, returned in order."""
        out = [self.run(p, settings, s) for p, s in zip(points[::-1], seeds[::-1], strict=True)]
        return out[::-1]
