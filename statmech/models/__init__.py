"""Model registry: built-in models plus plug-ins from the ``statmech.models`` entry point group.

A third-party package registers a model with, in its ``pyproject.toml``::

    [project.entry-points."statmech.models"]
    mymodel = "mypackage.module:MyModel"

Without packaging, ``STATMECH_MODELS="mymodel=mypackage.module:MyModel,..."`` in the environment
of the client and of every worker does the same.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import import_module, metadata

from statmech.models.base import Model


@cache
def _registry() -> dict[str, type[Model]]:
    from statmech.models.curie_weiss.model import CurieWeiss
    from statmech.models.dense_hopfield.model import DenseHopfield
    from statmech.models.hopfield.model import Hopfield
    from statmech.models.ising.model import Ising1D, Ising2D
    from statmech.models.rbm.model import RBM
    from statmech.models.sk.model import SK, SKOverlap

    models: dict[str, type[Model]] = {
        m.name: m
        for m in (Ising2D, Ising1D, Hopfield, SK, SKOverlap, CurieWeiss, RBM, DenseHopfield)
    }
    for ep in metadata.entry_points(group="statmech.models"):
        models.setdefault(ep.name, ep.load())
    for item in filter(None, os.environ.get("STATMECH_MODELS", "").split(",")):
        name, _, target = item.partition("=")
        module, _, attr = target.partition(":")
        models.setdefault(name.strip(), getattr(import_module(module.strip()), attr.strip()))
    return models


def model_names() -> list[str]:
    """Names of all available models."""
    return sorted(_registry())


@cache
def get_model(name: str) -> Model:
    """The model called ``name`` (``KeyError`` if unknown)."""
    return _registry()[name]()
