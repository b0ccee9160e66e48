"""Drift reports: identical reruns, consistent changes within errors, and real drift."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import zarr

from statmech.config import parse_config
from statmech.drift import compare
from statmech.plan import prepare
from statmech.writer import UnitWriter

TEXT = """
model: ising2d
axes: {{L: [4], T: [2.0, 2.5, 3.0, 3.5]}}
settings: {{thermalization: 10, sweeps: 2000}}
replicas: 4
seed: 1
store: {store}
"""


def filled_store(path: Path) -> Path:
    sw = parse_config(TEXT.format(store=path))
    prepare(sw)
    w = UnitWriter(path)
    for t in range(4):
        for r in range(4):
            point = {"L": 4, "T": float(sw.axes["T"][t]), "B": 0.0}
            values = sw.model.run(point, sw.settings, np.random.SeedSequence(t * 4 + r))
            w.write(((0, t), r), values, elapsed=0.0)
    return path


def perturb(path: Path, name: str, shift: float | None = None) -> None:
    """Move every value by ``shift`` error bars, or by N(0, 1) error bars when None."""
    arr = zarr.open_array(path / name, mode="r+")
    err = zarr.open_array(path / f"{name}_err", mode="r")[...]
    z = np.random.default_rng(0).normal(size=err.shape) if shift is None else shift
    arr[...] = arr[...] + z * err


def test_identical_consistent_drift(tmp_path: Path) -> None:
    a = filled_store(tmp_path / "a.zarr")
    b = tmp_path / "b.zarr"
    shutil.copytree(a, b)
    same = compare(a, b)
    assert same.verdict == "identical" and same.passed and same.compared_units == 16
    assert "identical" in same.to_markdown() and "PASS" in same.to_markdown()

    perturb(b, "e")  # a change within errors: z ~ N(0, 1) (times 1/sqrt 2)
    ok = compare(a, b)
    assert ok.verdict == "consistent" and ok.passed and ok.differing_values == 16
    assert ok.max_abs_z < ok.threshold

    perturb(b, "e", 8.0)  # the energy shifted by 8 error bars everywhere
    bad = compare(a, b)
    assert bad.verdict == "drift" and not bad.passed
    assert bad.worst[0]["variable"] == "e" and bad.worst[0]["z"] > 5
    assert "DRIFT" in bad.to_markdown() and "FAIL" in bad.to_markdown()


def test_different_sweeps_are_incomparable(tmp_path: Path) -> None:
    a = filled_store(tmp_path / "a.zarr")
    c = tmp_path / "c.zarr"
    prepare(parse_config(TEXT.format(store=c).replace("seed: 1", "seed: 2")))
    assert compare(a, c).verdict == "incomparable"


def test_a_value_that_became_nan_or_infinite_is_drift(tmp_path: Path) -> None:
    a = filled_store(tmp_path / "a.zarr")
    for bad in (np.nan, np.inf):
        b = tmp_path / f"b{bad}.zarr"
        shutil.copytree(a, b)
        arr = zarr.open_array(b / "m2", mode="r+")
        values = arr[...]
        values[0, 2, 1] = bad  # one value of one unit; its error bar stays finite
        arr[...] = values
        report = compare(a, b)
        assert report.verdict == "drift" and not report.passed, report
        assert report.non_finite == 1
        assert "m2 at L=4, T=3, replica=1" in report.note
        assert "FAIL" in report.to_markdown()


def test_cli_drift_fails_on_nan(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from statmech.cli import app

    a = filled_store(tmp_path / "a.zarr")
    b = tmp_path / "b.zarr"
    shutil.copytree(a, b)
    arr = zarr.open_array(b / "e", mode="r+")
    arr[...] = np.full(arr.shape, np.nan)
    result = CliRunner().invoke(app, ["drift", str(a), str(b)])
    assert result.exit_code == 1, result.output
    assert "NaN or infinite" in result.output
