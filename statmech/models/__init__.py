"""Model registry: built-in models plus plug-ins from the ``statmech.models`` entry point group.

A third-party package registers a model with, in its ``pyproject.toml``::

    [project.entry-points."statmech.models"]
    mymodel = "mypackage.module:MyModel"
"""

from __future__ import annotations

from functools import cache
from importlib import metadata

from statmech.models.base import Model


@cache
def _registry() -> dict[str, type[Model]]:
    from statmech.models.ising import Ising1D, Ising2D
    from statmech.models.sk import SK, SKOverlap

    models: dict[str, type[Model]] = {m.name: m for m in (Ising2D, Ising1D, SK, SKOverlap)}
    for ep in metadata.entry_points(group="statmech.models"):
        models.setdefault(ep.name, ep.load())
    return models


def model_names() -> list[str]:
    """Names of all available models."""
    return sorted(_registry())


@cache
def get_model(name: str) -> Model:
    """The model called ``name`` (``KeyError`` if unknown)."""
    return _registry()[name]()
