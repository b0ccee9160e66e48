"""Model registry: built-in models plus plug-ins from the ``statmech.models`` entry point group.

A third-party package registers a model with, in its ``pyproject.toml``::

    [project.entry-points."statmech.models"]
    mymodel = "mypackage.module:MyModel"

Without packaging, ``STATMECH_MODELS="mymodel=mypackage.module:MyModel,..."`` in the environment
of the client and of every worker does the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, partial
from importlib import import_module, metadata
from typing import Any

from statmech.errors import InputError
from statmech.models.base import Model

#: built-in models: name -> "module:Class" (imported only when asked for)
BUILTIN = {
    "ising2d": "statmech.models.ising.model:Ising2D",
    "ising1d": "statmech.models.ising.model:Ising1D",
    "hopfield": "statmech.models.hopfield.model:Hopfield",
    "sk": "statmech.models.sk.model:SK",
    "sk-overlap": "statmech.models.sk.model:SKOverlap",
    "curie-weiss": "statmech.models.curie_weiss.model:CurieWeiss",
    "rbm": "statmech.models.rbm.model:RBM",
    "dense-hopfield": "statmech.models.dense_hopfield.model:DenseHopfield",
}


def _load(target: str) -> type[Model[Any]]:
    module, _, attr = target.partition(":")
    cls: type[Model[Any]] = getattr(import_module(module.strip()), attr.strip())
    return cls


@cache
def _registry() -> dict[str, Callable[[], type[Model[Any]]]]:
    """name -> loader of the model class; nothing is imported until a model is asked for.

    (A worker process asks for one model: importing every model's kernels there would cost
    seconds per worker.)
    """
    models: dict[str, Callable[[], type[Model[Any]]]] = {
        name: partial(_load, target) for name, target in BUILTIN.items()}
    for ep in metadata.entry_points(group="statmech.models"):
        models.setdefault(ep.name, ep.load)
    for item in filter(None, os.environ.get("STATMECH_MODELS", "").split(",")):
        name, _, target = item.partition("=")
        models.setdefault(name.strip(), partial(_load, target))
    return models


def model_names() -> list[str]:
    """Names of all available models."""
    return sorted(_registry())


@cache
def get_model(name: str) -> Model[Any]:
    """The model called ``name`` (``KeyError`` if unknown).

    A model that cannot be imported or built (a plug-in's error, a class that leaves out
    ``name``, ``parameters`` or one of the abstract methods) raises :class:`InputError` saying
    which and why.
    """
    load = _registry()[name]
    try:
        cls = load()
        model = cls()
    except Exception as exc:
        raise InputError(f"model {name!r} cannot be loaded: {type(exc).__name__}: {exc}") \
            from exc
    missing = [attr for attr in ("name", "parameters") if not hasattr(model, attr)]
    if missing:
        raise InputError(f"model {name!r} ({cls.__module__}.{cls.__qualname__}) does not "
                         f"declare {' and '.join(missing)}: see docs/adding-a-model.md")
    return model
