"""The numba.cuda SK enumeration: in numba's CUDA simulator against the CPU, settings, routing.

The kernel runs in a subprocess with NUMBA_ENABLE_CUDASIM=1 (set before numba.cuda is
imported; see sk_cuda_sim_check.py). Where a real GPU is present the kernel is also compared
with the CPU at moderate N in this process.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from cuda_scripts import run_check

from statmech.config import ConfigError, parse_config
from statmech.models.gpu import gpu_available
from statmech.models.sk.cuda import (
    LAUNCH_STEPS,
    bin_thresholds,
    enumerate_sk_cuda,
    kernel_lanes,
    kernel_source,
    segment_bits,
)
from statmech.models.sk.kernels import EPS, Enumeration, draw_couplings, enumerate_sk
from statmech.models.sk.model import SK, SKSettings

SWEEP = """
model: sk
axes: {{N: [8, 10]}}
settings: {{method: {method}, backend: {backend}}}
replicas: 2
seed: 1
store: x.zarr
"""


def test_gpu_enumeration_in_the_simulator_equals_the_cpu() -> None:
    assert "identical to the CPU" in run_check("sk_cuda_sim_check.py", simulator=True)


def test_bin_thresholds_reproduce_the_float_bins() -> None:
    """#(thresholds <= E) - 1 is the CPU's floor((E EPS / n - e_min) / de), clipped."""
    rng = np.random.default_rng(3)
    for n, e_min, e_max, bins in ((12, -1.0, 0.0, 100), (7, -0.9, -0.2, 7), (40, -2.0, 1.0, 12),
                                  (3, -1e-7, 1e-7, 10_000), (20, -0.8, -0.7999999, 3)):
        thr = bin_thresholds(n, e_min, e_max, bins)
        assert thr.shape == (bins + 1,) and np.all(np.diff(thr) >= 0)
        width = (e_max - e_min) / bins
        centre = int(0.5 * (e_min + e_max) * n / EPS)
        spread = int(max(abs(e_min), abs(e_max), 1e-6) * 2 * n / EPS)
        E = np.concatenate([rng.integers(-spread, spread, 20_000),
                            centre + rng.integers(-50, 50, 2_000), thr[thr < 2**62],
                            thr[thr < 2**62] - 1])
        cpu = np.floor((E.astype(np.float64) * EPS / n - e_min) / width)
        gpu = np.searchsorted(thr, E, side="right") - 1
        assert np.array_equal(np.clip(cpu, -1, bins), gpu), (n, e_min, e_max, bins)


def test_generated_kernels_are_valid_python() -> None:
    for lanes in range(4, 41, 4):
        for field in (False, True):
            compile(kernel_source(lanes, field), "<test>", "exec")
    assert [kernel_lanes(n) for n in (2, 4, 5, 31, 40)] == [4, 4, 8, 32, 40]


def test_segment_sizes() -> None:
    for n in range(2, 41):
        k = segment_bits(n)
        assert min(n - 1, 4) <= k <= min(n - 1, 12)
        per_launch = min(2 ** (n - 1), LAUNCH_STEPS) >> k
        if n >= 24:
            assert per_launch >= 2**19  # ~30 blocks of 128 threads per H100 SM and launch


def test_backend_settings_are_validated() -> None:
    sweep = parse_config(SWEEP.format(method="enumeration", backend="cuda"))
    assert sweep.model.resources(sweep.settings) == {"GPU": 1}
    for backend in ("cpu", "auto"):
        sweep = parse_config(SWEEP.format(method="enumeration", backend=backend))
        assert sweep.model.resources(sweep.settings) == {}
    with pytest.raises(ConfigError, match=r"settings\.backend.*method: enumeration"):
        parse_config(SWEEP.format(method="search", backend="cuda"))
    with pytest.raises(ConfigError, match=r"settings\.backend"):
        parse_config(SWEEP.format(method="enumeration", backend="gpu"))
    parse_config(SWEEP.format(method="search", backend="cpu"))


def test_backend_is_not_physics() -> None:
    """The GPU gives the CPU's numbers: a store can be extended with either backend, and stores
    made before the setting existed keep their physics hash."""
    hashes = {b: parse_config(SWEEP.format(method="enumeration", backend=b)).physics_hash
              for b in ("cpu", "cuda", "auto")}
    assert len(set(hashes.values())) == 1
    old = parse_config(SWEEP.replace(", backend: {backend}", "").format(method="enumeration"))
    assert old.physics_hash == hashes["cpu"]
    assert SKSettings(backend="cuda").model_dump()["backend"] == "cuda"  # shown, not hashed


@pytest.mark.skipif(gpu_available(), reason="this machine has a GPU")
def test_backend_cuda_without_a_device_fails_clearly() -> None:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("the simulator counts as a device")
    with pytest.raises(RuntimeError, match="no usable CUDA device"):
        SK().run({"N": 6, "B": 0.0}, SKSettings(backend="cuda"), np.random.SeedSequence(1))
    SK().warmup(SKSettings(backend="cuda"))  # every worker is warmed up: the CPU kernels here
    # auto falls back to the CPU
    out = SK().run({"N": 6, "B": 0.0}, SKSettings(backend="auto"), np.random.SeedSequence(1))
    ref = SK().run({"N": 6, "B": 0.0}, SKSettings(), np.random.SeedSequence(1))
    for name, v in ref.items():
        assert np.array_equal(v, out[name], equal_nan=True), name


@pytest.mark.skipif(not gpu_available(), reason="no CUDA device")
def test_gpu_equals_cpu_on_a_real_device() -> None:  # pragma: no cover - needs a GPU
    rng = np.random.default_rng(11)
    for n, B in ((16, 0.0), (20, 0.3), (22, 0.0), (23, -0.2)):
        jq = draw_couplings(n, rng)
        bq = int(np.rint(B / EPS))
        kw = {"max_minima": 16, "e_min": -0.9, "e_max": -0.3, "bins": 60}
        cpu, gpu = enumerate_sk(jq, bq, **kw), enumerate_sk_cuda(jq, bq, **kw)
        for f in dataclasses.fields(Enumeration):
            assert np.array_equal(getattr(cpu, f.name), getattr(gpu, f.name)), (n, f.name)
