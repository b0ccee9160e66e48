"""Bounded sweep files: YAML bombs, duplicate keys, YAML 1.2 numbers, size limits, echo length."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from statmech.config import ConfigError, load_config, parse_config
from statmech.errors import InputError, StatmechError

GOOD = """
model: ising2d
axes:
  L: [4, 8]
  T: {start: 1.5, stop: 3.5, num: 5}
settings: {thermalization: 10, sweeps: 640}
replicas: 3
seed: 42
store: out.zarr
"""


def errors_of(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert isinstance(info.value, StatmechError) and isinstance(info.value, InputError)
    return dict(info.value.errors)


def test_billion_laughs_is_refused_at_once_with_a_short_message() -> None:
    bomb = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        bomb.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join(['*' + prev] * 9)}]")
    text = GOOD.replace("store: out.zarr", "store: out.zarr\ndescription: *j") + "\n".join(bomb)
    t0 = time.perf_counter()
    errs = errors_of("\n".join(bomb) + "\n" + GOOD.replace("out.zarr", "*j"))
    assert time.perf_counter() - t0 < 1.0
    assert "aliases" in errs["<yaml>"] and len(errs["<yaml>"]) < 200
    assert "aliases" in errors_of(text)["<yaml>"]


def test_duplicate_keys_are_refused() -> None:
    errs = errors_of(GOOD + "seed: 43\n")
    assert "duplicate key 'seed'" in errs["<yaml>"] and "line 10" in errs["<yaml>"]
    errs = errors_of(GOOD.replace("L: [4, 8]", "L: [4, 8]\n  L: [16]"))
    assert "duplicate key 'L'" in errs["<yaml>"]


def test_yaml_1_2_numbers() -> None:
    sw = parse_config(GOOD.replace("L: [4, 8]", "L: [4, 8]\n  B: [1e-3, 2E-2, -5e-1]"))
    assert sw.axes["B"].tolist() == [0.001, 0.02, -0.5]
    assert parse_config(GOOD.replace("sweeps: 640", "sweeps: 1e3")).settings.sweeps == 1000


def test_size_and_depth_caps() -> None:
    errs = errors_of(GOOD + "description: " + "x" * (1 << 20) + "\n")
    assert "KiB" in errs["<yaml>"]
    errs = errors_of(GOOD + "description: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested deeper" in errs["<yaml>"]


def test_echoed_input_is_truncated() -> None:
    errs = errors_of(GOOD.replace("seed: 42", "seed: " + "9" * 5000))
    assert all(len(m) < 300 for m in errs.values()), errs
    errs = errors_of(GOOD.replace("L: [4, 8]", "L: [" + "'x', " * 10000 + "4]"))
    text = str(ConfigError(list(errs.items())))
    assert len(text) < 5000 and "more" in text


@pytest.mark.parametrize(("change", "field", "fragment"), [
    (("num: 5", "num: 1000000000"), "axes.T.num", "limits.max_units"),
    (("replicas: 3", "replicas: 1e9"), "limits.max_units", "more than"),
    (("L: [4, 8]", "L: [1000000]"), "limits.max_unit_memory_gib", "GiB"),
    (("sweeps: 640", "sweeps: 1e14"), "limits.max_unit_hours", "hours"),
    (("L: [4, 8]", "L: {start: 2, stop: 20000, num: 10000}"), "limits.max_units", "points"),
])
def test_sizes_past_the_limits_are_refused_quickly(change: tuple[str, str], field: str,
                                                    fragment: str) -> None:
    text = GOOD.replace(*change)
    if "num: 10000" in text:  # a 10^9-point grid must be refused by size, not walked
        text = text.replace("num: 5", "num: 100000")
    t0 = time.perf_counter()
    errs = errors_of(text)
    assert time.perf_counter() - t0 < 2.0
    assert fragment in errs[field], errs
    assert "raise limits" in errs[field]


def test_limits_can_be_raised_in_the_sweep_file() -> None:
    big = GOOD.replace("replicas: 3", "replicas: 10000000")
    assert "limits.max_units" in errors_of(big)
    sw = parse_config(big + "limits: {max_units: 1e9}\n")
    assert sw.estimate is not None and sw.estimate.units == 10**8
    with pytest.raises(ConfigError):
        parse_config(GOOD + "limits: {max_units: 0}\n")


def test_estimate_of_a_sampled_grid() -> None:
    sw = parse_config(GOOD.replace("num: 5", "num: 3000") +
                      "limits: {max_units: 100000000, max_core_hours: 1e9}\n")
    assert sw.estimate is not None and sw.estimate.sampled
    assert sw.estimate.max_unit_bytes == pytest.approx(16 * 64 + 2**20)


def test_non_utf8_and_unreadable_files(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes(GOOD.replace("out.zarr", "r\xe9sultats.zarr").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert "not UTF-8" in str(info.value) and "0xe9" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)  # a folder
    assert "cannot read" in str(info.value)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (2 << 20))
    with pytest.raises(ConfigError, match="KiB"):
        load_config(big)


def test_check_shows_the_estimates_and_refuses_past_the_limits(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from statmech.cli import app

    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = CliRunner().invoke(app, ["check", str(good)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "estimated memory" in result.stdout and "per unit 1 MiB" in result.stdout
    assert "core-seconds" in result.stdout and "limits" in result.stdout
    big = tmp_path / "big.yaml"
    big.write_text(GOOD.replace("L: [4, 8]", "L: [1000000]"))
    result = CliRunner().invoke(app, ["check", str(big)])
    assert result.exit_code == 2
    assert "GiB" in result.stderr and "max_unit_memory_gib" in result.stderr
    assert "Traceback" not in result.stderr
