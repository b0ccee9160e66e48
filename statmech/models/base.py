"""The plug-in contract every model fulfils.

A model is physics only: it never knows about Prefect, Dask or zarr.  It declares

* its **parameters** (the names a sweep file may put on an axis or in ``fixed``), each with a
  type, an optional default, a unit and a validity check;
* its **settings** (a pydantic model: Monte Carlo lengths, algorithm, ...);
* the **variables** it returns per unit of work, with their extra dimensions, units and long
  names, so that the stored dataset is self-describing;
* a rough **cost** estimate in seconds, used only to size batches;
* a pure ``run(point, settings, seed)`` returning ``{variable: ndarray}``, and optionally a
  ``run_many`` that computes several units in one go (e.g. one GPU launch for many lattices),
  each exactly as ``run`` would.

A *unit of work* is one grid point and one replica (or disorder sample): the smallest thing that
is computed, stored and marked done on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

Scalar = int | float
Point = Mapping[str, Scalar]


#: ``json_schema_extra`` of a settings field added after stores existed, whose default keeps the
#: old behaviour bit for bit: at its default it is left out of the physics hash, so stores made
#: before the field existed still resume, extend and compare (``drift``) with new sweep files.
#: ``Field(..., json_schema_extra=ADDED_SETTING)``.
ADDED_SETTING: dict[str, Any] = {"physics_omits_default": True}


@dataclass(frozen=True)
class Parameter:
    """A model parameter that can be swept (an axis) or held fixed.

    ``check`` returns an error message for an invalid value, or ``None``. ``seed_omits_default``
    marks a parameter added after stores existed: at its default value it is left out of the
    seed key (:func:`statmech.seeding.point_key`), so those points keep the random streams --
    and so the numbers -- they had before the parameter existed; it is also left out of the
    physics hash there (:meth:`statmech.config.Sweep.physics`), so existing stores resume.
    """

    name: str
    kind: Literal["int", "float"]
    doc: str
    units: str = "1"
    default: Scalar | None = None
    check: Callable[[Scalar], str | None] | None = None
    seed_omits_default: bool = False


@dataclass(frozen=True)
class Variable:
    """One stored output variable (per unit of work, possibly with extra dimensions)."""

    name: str
    long_name: str
    units: str = "1"
    dtype: str = "float64"
    dims: tuple[str, ...] = ()
    description: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fill_value(self) -> Any:
        """Value read back for a unit that has not been written (NaN for floats)."""
        kind = np.dtype(self.dtype).kind
        if kind == "f":
            return np.nan
        if kind == "b":
            return False
        if kind == "O":
            return ""
        return 0


S = TypeVar("S", bound=BaseModel)
"""The settings type of a model (a pydantic model)."""


class NoSettings(BaseModel):
    """The settings of a model that declares none: the sweep file's ``settings:`` stay empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Model(ABC, Generic[S]):
    """Base class of all models; subclasses are registered in :mod:`statmech.models`.

    Generic in its settings class: ``class MyModel(Model[MySettings])`` with
    ``settings_class = MySettings`` types every hook's ``settings`` as ``MySettings`` (the
    sweep file's ``settings:`` are validated into that class before any hook is called).
    """

    name: ClassVar[str]
    parameters: ClassVar[tuple[Parameter, ...]]
    #: one line for listings and the store's title
    summary: ClassVar[str] = ""
    #: units and sign conventions, stored in every store (J = 1, k_B = 1, ...)
    conventions: ClassVar[str] = ""
    #: the pydantic class of the sweep file's ``settings:`` (none by default)
    settings_class: type[S] = NoSettings  # type: ignore[assignment]
    replica_dim: ClassVar[str] = "replica"
    #: ``"module:attribute"`` of this model's :class:`statmech.presentation.Presentation`
    #: (figures, report estimates, refinement targets), imported only by the presentation
    #: layer; ``None``: generic figures and no estimates
    presentation: ClassVar[str | None] = None

    def parameter(self, name: str) -> Parameter:
        """The declared parameter called ``name`` (``KeyError`` if there is none)."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def check_point(self, point: Point, settings: S) -> str | None:
        """Cross-parameter checks of one point (e.g. an algorithm that needs B = 0)."""
        return None

    def check_settings(self, settings: S, axes: Mapping[str, np.ndarray]) -> list[str]:
        """Checks of the settings against the whole grid; one message per problem."""
        return []

    @abstractmethod
    def variables(self, settings: S) -> tuple[Variable, ...]:
        """The variables stored per unit of work."""

    def extra_coords(
        self, settings: S, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Coordinates of the extra (non-grid) dimensions used by :meth:`variables`."""
        return {}

    def warmup(self, settings: S) -> None:  # optional hook
        """Compile or load the kernels (run once per worker before the first batch)."""

    def resources(self, settings: S) -> dict[str, float]:
        """Dask worker resources every batch needs (e.g. ``{"GPU": 1}``); none by default."""
        return {}

    @abstractmethod
    def cost(self, point: Point, settings: S) -> float:
        """Rough wall time of one unit in seconds on one core (for batch sizing only)."""

    def memory(self, point: Point, settings: BaseModel) -> float | None:
        """Rough peak memory of one unit in bytes (for the size limits); ``None``: unknown."""
        return None

    @abstractmethod
    def run(
        self, point: Point, settings: S, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """Compute one unit of work; every random number must come from ``seed``."""

    def group_size(self, settings: S) -> int:
        """How many pending units of a batch the runner passes to :meth:`run_many` at once.

        1 (the default): units are computed and stored one by one.
        """
        return 1

    def run_many(
        self, points: Sequence[Point], settings: S, seeds: Sequence[np.random.SeedSequence]
    ) -> list[dict[str, np.ndarray]]:
        """Several units, each bitwise what :meth:`run` returns for it (one after another here)."""
        return [self.run(p, settings, s) for p, s in zip(points, seeds, strict=True)]
