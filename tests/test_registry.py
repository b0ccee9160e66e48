"""The model registry: names match the classes, and asking for one model imports only that one."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from statmech.config import ConfigError, parse_config
from statmech.models import BUILTIN, get_model, model_names
from statmech.models.base import NoSettings


def test_builtin_names_are_the_class_names() -> None:
    for name in BUILTIN:
        assert get_model(name).name == name
    assert set(BUILTIN) <= set(model_names())


def test_one_model_imports_only_its_own_package() -> None:
    """A worker asks for one model; the others' kernels must not be loaded (seconds each)."""
    code = ("import sys; from statmech.models import get_model; "
            "from statmech.seeding import unit_seed; get_model('ising1d'); "
            "unit_seed(1, 'ising1d', {'N': 8, 'T': 1.0}, 0); "
            "print(sorted(m for m in sys.modules if m.startswith('statmech.models.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = ast.literal_eval(out)
    others = [m for m in loaded if m.split(".")[2] not in {"base", "ising", "gpu"}]
    assert not others, f"asking for ising1d imported {others}"


MINIMAL = '''
import numpy as np
from statmech.models.base import Model, Parameter, Variable

class Minimal(Model):
    name = "minimal"
    parameters = (Parameter("i", "int", "index"),)
    def variables(self, settings):
        return (Variable("v", "a number"),)
    def cost(self, point, settings):
        return 1.0
    def run(self, point, settings, seed):
        return {"v": np.random.default_rng(seed).random()}

class NoCost(Minimal):
    name = "nocost"
    cost = Model.cost

class NoParameters(Model):
    name = "noparameters"
    variables = Minimal.variables
    cost = Minimal.cost
    run = Minimal.run
'''


@pytest.fixture()
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The classes above as plug-ins (STATMECH_MODELS), and a module that does not import."""
    from statmech import models

    (tmp_path / "plugs.py").write_text(MINIMAL)
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("STATMECH_MODELS", "minimal=plugs:Minimal,nocost=plugs:NoCost,"
                                          "noparameters=plugs:NoParameters,broken=broken:X")
    models._registry.cache_clear()
    models.get_model.cache_clear()
    yield
    models._registry.cache_clear()
    models.get_model.cache_clear()


def sweep_file(model: str, settings: str = "") -> str:
    return (f"model: {model}\naxes: {{i: [0, 1]}}\nreplicas: 2\nseed: 1\n"
            f"store: x.zarr\n{settings}")


def test_a_plugin_needs_no_settings_summary_or_conventions(plugins: None) -> None:
    sweep = parse_config(sweep_file("minimal"))
    assert isinstance(sweep.settings, NoSettings)
    with pytest.raises(ConfigError, match=r"settings\.sweeps: unknown key"):
        parse_config(sweep_file("minimal", "settings: {sweeps: 10}"))


@pytest.mark.parametrize(("model", "why"), [
    ("nocost", "cannot be loaded: TypeError: Can't instantiate abstract class NoCost"),
    ("noparameters", "(plugs.NoParameters) does not declare parameters"),
    ("broken", "cannot be loaded: ModuleNotFoundError: No module named "
               "'not_a_module_anywhere'"),
])
def test_a_plugin_that_cannot_be_used_is_a_clear_input_error(plugins: None, model: str,
                                                              why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(sweep_file(model))
    assert f"model: model '{model}' " in str(err.value) and why in str(err.value)
