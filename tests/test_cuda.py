"""The numba.cuda backend without a GPU: the kernel in numba's CUDA simulator, routing rules."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from cuda_scripts import run_check

from flows.sweep import _check_resources
from statmech.config import ConfigError, parse_config


def test_cuda_kernel_in_the_simulator_is_bitwise_the_cpu_kernel() -> None:
    assert "bitwise identical" in run_check("cuda_sim_check.py", simulator=True)


@pytest.mark.slow  # ~1 min of NVVM compilation; the simulator test runs the kernels in CI
def test_cuda_kernels_compile_for_a_real_gpu() -> None:
    # the simulator runs kernels as Python; NVVM sees what a GPU would compile
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    probe = subprocess.run([sys.executable, "-c", "from numba.cuda.cudadrv import nvvm; "
                            "nvvm.NVVM()"], env=env, capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip("libNVVM not installed (pip install nvidia-cuda-nvcc-cu12)")
    assert "compiled 8 kernels" in run_check("cuda_compile_check.py", simulator=False)


def test_numba_cuda_imports() -> None:
    # numba-cuda 0.30.4 once failed to import with NumPy 2.4 (np.row_stack removed)
    proc = subprocess.run([sys.executable, "-c", "from numba import cuda; cuda.is_available()"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_gpu_batches_need_gpu_workers() -> None:
    class FakeClient:
        def __init__(self, resources: dict) -> None:
            self.info = {"workers": {"w1": {"resources": resources}}}

        def scheduler_info(self) -> dict:
            return self.info

    with pytest.raises(RuntimeError, match="--resources GPU=1"):
        _check_resources(FakeClient({}), {"GPU": 1})
    _check_resources(FakeClient({"GPU": 1}), {"GPU": 1})
    _check_resources(FakeClient({}), {})


def test_backend_settings_are_validated() -> None:
    base = """
model: {model}
axes: {{{size}: [8], T: [2.0]}}
settings: {{backend: cuda, algorithm: {algorithm}, thermalization: 100, sweeps: 1000}}
seed: 1
store: x.zarr
"""
    sweep = parse_config(base.format(model="ising2d", size="L", algorithm="heatbath"))
    assert sweep.model.resources(sweep.settings) == {"GPU": 1}
    # the GPU gives the CPU's bits: a store can be extended with either backend
    on_cpu = parse_config(base.replace("backend: cuda", "backend: cpu").format(
        model="ising2d", size="L", algorithm="heatbath"))
    assert on_cpu.physics_hash == sweep.physics_hash
    with pytest.raises(ConfigError, match="checkerboard kernels only"):
        parse_config(base.format(model="ising2d", size="L", algorithm="wolff"))
    with pytest.raises(ConfigError, match="ising2d only"):
        parse_config(base.format(model="ising1d", size="N", algorithm="metropolis"))


def test_a_worker_without_gpu_warms_up_and_refuses_gpu_units() -> None:
    from statmech.models.gpu import kernels_runnable
    from statmech.models.ising.model import Ising2D, IsingSettings

    if kernels_runnable():
        pytest.skip("this machine can run the CUDA kernels")
    settings = IsingSettings(backend="cuda", thermalization=10, sweeps=64)
    Ising2D().warmup(settings)  # every worker is warmed up, GPU or not
    with pytest.raises(RuntimeError, match="no usable CUDA device"):
        Ising2D().run({"L": 4, "T": 2.0, "B": 0.0}, settings, np.random.SeedSequence(0))
    for backend in ("cuda", "auto"):  # units are not grouped: each fails or runs on its own
        assert Ising2D().group_size(settings.model_copy(update={"backend": backend})) == 1
