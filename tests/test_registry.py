"""The model registry: names match the classes, and asking for one model imports only that one."""

from __future__ import annotations

import ast
import subprocess
import sys

from statmech.models import BUILTIN, get_model, model_names


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
