"""Sweep-file validation: every problem reported at once, by field path, before any compute."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from statmech.config import ConfigError, parse_config

GOOD = """
model: ising2d
axes:
  L: [4, 8]
  T: {start: 1.5, stop: 3.5, num: 5}
fixed: {B: 0.1}
settings: {algorithm: heatbath, thermalization: 10, sweeps: 640, every: 2, start: cold}
replicas: 3
seed: 42
store: out.zarr
"""


def errors_of(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return dict(info.value.errors)


def test_good_config_is_resolved() -> None:
    sw = parse_config(GOOD)
    assert sw.model.name == "ising2d"
    assert sw.axes["L"].dtype == np.int64 and sw.axes["L"].tolist() == [4, 8]
    assert sw.axes["T"].tolist() == [1.5, 2.0, 2.5, 3.0, 3.5]
    assert sw.fixed == {"B": 0.1}
    assert sw.settings.algorithm == "heatbath" and sw.settings.n_measurements == 320
    assert sw.replicas == 3 and sw.seed == 42


def test_every_bad_field_is_reported_at_once() -> None:
    errs = errors_of("""
model: ising2d
axes:
  L: [4, 7, 1]
  T: [2.0, -1.0, "hot"]
  J: [1]
fixed: {B: "strong", L: 4}
settings: {algorithm: wolf, sweeps: -5, colour: red}
replicas: 0
seed: -1
store: out.zarr
extra_key: 1
""")
    assert "L must be even" in errs["axes.L[1]"]
    assert "L must be even" in errs["axes.L[2]"]
    assert "T must be > 0" in errs["axes.T[1]"]
    assert "must be a number" in errs["axes.T[2]"]
    assert "unknown parameter" in errs["axes.J"] and "allowed: L, T, B" in errs["axes.J"]
    assert "must be a number" in errs["fixed.B"]
    assert "both an axis and fixed" in errs["fixed.L"]
    assert "settings.algorithm" in errs and "metropolis" in errs["settings.algorithm"]
    assert "settings.sweeps" in errs
    assert errs["settings.colour"] == "unknown key"
    assert "replicas" in errs and "seed" in errs
    assert errs["extra_key"] == "unknown key"


def test_unknown_model_lists_the_available_ones() -> None:
    errs = errors_of(GOOD.replace("ising2d", "isng2d"))
    assert "unknown model 'isng2d'" in errs["model"] and "ising2d" in errs["model"]


@pytest.mark.parametrize(
    ("axis", "path", "fragment"),
    [
        ("L: []", "axes.L", "empty axis"),
        ("L: {start: 4, stop: 8}", "axes.L.num", "missing"),
        ("L: {start: 4, stop: 8, num: 0}", "axes.L.num", "positive integer"),
        ("L: {start: 0, stop: 8, num: 3, log: true}", "axes.L", "log-spaced"),
        ("L: 4", "axes.L", "under 'fixed'"),
        ("L: [4, 4]", "axes.L", "duplicate"),
        ("L: [4.5]", "axes.L[0]", "integer"),
        ("L: [true]", "axes.L[0]", "must be a number"),
    ],
)
def test_axis_problems(axis: str, path: str, fragment: str) -> None:
    text = GOOD.replace("L: [4, 8]", axis)
    errs = errors_of(text)
    assert fragment in errs[path], errs


def test_missing_required_parameter_and_settings_minimum() -> None:
    errs = errors_of(GOOD.replace("  T: {start: 1.5, stop: 3.5, num: 5}\n", "")
                     .replace("sweeps: 640", "sweeps: 10"))
    assert any("parameter T" in m for m in errs.values())
    assert "measurements" in errs["settings"]


def test_yaml_syntax_error() -> None:
    errs = errors_of("model: [ising2d\n")
    assert "not valid YAML" in errs["<yaml>"]


def test_canonical_values_make_the_same_point() -> None:
    a = parse_config(GOOD.replace("T: {start: 1.5, stop: 3.5, num: 5}", "T: [1, 2.0000000000001]"))
    b = parse_config(GOOD.replace("T: {start: 1.5, stop: 3.5, num: 5}", "T: [1.0, 2]"))
    assert a.axes["T"].tolist() == b.axes["T"].tolist() == [1.0, 2.0]
    assert a.config_hash == b.config_hash


def test_log_range_and_int_rounding() -> None:
    sw = parse_config(GOOD.replace("L: [4, 8]", "L: {start: 4, stop: 64, num: 5, log: true}"))
    assert sw.axes["L"].tolist() == [4, 8, 16, 32, 64]


def test_hashes_separate_physics_from_grid() -> None:
    a = parse_config(GOOD)
    b = parse_config(GOOD.replace("num: 5", "num: 6"))
    c = parse_config(GOOD.replace("seed: 42", "seed: 43"))
    d = parse_config(GOOD.replace("store: out.zarr", "store: elsewhere.zarr"))
    assert a.physics_hash == b.physics_hash != c.physics_hash
    assert a.config_hash != b.config_hash
    assert a.config_hash == d.config_hash  # where results go does not change them


def test_cli_rejects_bad_file_before_any_compute(tmp_path: Path) -> None:
    store = tmp_path / "never.zarr"
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("out.zarr", str(store)).replace("[4, 8]", "[4, 9]")
                   .replace("seed: 42", "seed: x"))
    proc = subprocess.run([sys.executable, "-m", "statmech", "sweep", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "axes.L[1]" in proc.stderr and "seed" in proc.stderr
    assert "2 problems" in proc.stderr
    assert not store.exists()


def test_every_shipped_config_is_valid() -> None:
    configs = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))
    assert len(configs) >= 10
    for path in configs:
        sweep = parse_config(path.read_text(), source=str(path))
        assert sweep.model.cost(  # every config has a finite cost estimate
            {**sweep.fixed, **{k: v[0].item() for k, v in sweep.axes.items()}},
            sweep.settings) > 0
