"""Compile every CUDA kernel for a real GPU (sm_90) with NVVM, no device needed.

numba's CUDA simulator runs the kernels as Python, so it cannot catch what only the CUDA
compiler rejects (unsupported functions, typing of device code). Run by test_cuda.py where
libNVVM is installed (the ``nvidia-cuda-nvcc-cu12`` wheel of the test extra).
"""

from __future__ import annotations

import os
import sys

import numba.cuda.dispatcher
from numba import cuda, types

assert os.environ.get("NUMBA_ENABLE_CUDASIM") != "1"

from statmech.models.ising import cuda as cuda_kernels  # noqa: E402
from statmech.models.sk import cuda as sk_cuda  # noqa: E402

CC = (9, 0)


class _Device:
    """Stands in for a device: lowering device-function calls asks for its compute capability."""

    compute_capability = CC


numba.cuda.dispatcher.get_current_device = lambda: _Device()


def main() -> int:
    i64, boolean = types.int64, types.boolean
    thr = types.Array(types.int32, 2, "C")
    keys = types.Array(types.uint64, 1, "C")
    acc = types.Array(types.int64, 1, "C")
    obs = types.Array(types.int64, 3, "C")
    compiled = 0
    for spins in (types.uint32, types.int8):  # packed and pairs
        arr = types.Array(spins, 3, "C")
        for kernel, sig in (
            (cuda_kernels._half_sweep, (arr, arr, i64, thr, keys, i64, acc, obs, i64, boolean,
                                        boolean)),
            (cuda_kernels._resident, (arr, arr, thr, keys, i64, i64, i64, i64, acc, obs,
                                      boolean)),
        ):
            ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=CC)
            assert ".entry" in ptx
            compiled += 1
    a1 = types.Array(types.int64, 1, "C")
    for lanes in (4, 40):
        for field in (False, True):
            sig = (types.Array(types.int32, 3, "C"), types.Array(types.int32, 1, "C"),
                   *([i64] * 9), a1, a1, a1, a1, a1, a1)
            ptx, _ = cuda.compile_ptx(sk_cuda._kernel(lanes, field).py_func, sig, cc=CC)
            assert ".entry" in ptx
            compiled += 1
    print(f"compiled {compiled} kernels for sm_{CC[0]}{CC[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
