"""Run a CUDA check script of tests/ in a new interpreter (numba fixes its CUDA mode at import)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent


def run_check(script: str, simulator: bool) -> str:
    """Run ``tests/<script>`` with or without numba's CUDA simulator; its stdout (asserts rc 0)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    if simulator:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    proc = subprocess.run([sys.executable, str(TESTS / script)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def fast_thread_safe_simulator() -> None:
    """In a check script under numba's CUDA simulator: make it thread-safe, then fast.

    The simulator runs every CUDA thread as a Python thread, and two of its helpers race
    between those threads (numba 0.68):

    * a device function call swaps the ``cuda`` module in the function's globals for the
      simulated one and restores it on return: the first of two threads in device functions of
      one module to return restored the real module while the other still used it ("module
      'numba.cuda' has no attribute 'atomic'"; fixed in NVIDIA/numba-cuda#690);
    * ``cuda.shared.array`` looks up the block's array for the calling line and creates it if
      absent, unlocked: two threads could each create one, and their reductions then summed
      into different arrays (kernel results off the CPU's, now and then).

    Both are replaced here by locked versions of the same logic. Then the GIL is handed over
    every 50 us instead of 5 ms: the simulator's loop that polls all threads no longer
    starves them (the Ising model check took 2.2 s instead of 23.6 s). Python's default
    interval made both races rare, not absent.
    """
    import numpy as np
    from numba import cuda
    from numba.cuda.simulator import kernel, kernelapi
    from numba.np import numpy_support

    lock = threading.Lock()
    swapped: dict[int, tuple[int, dict[str, Any]]] = {}  # id(globals) -> (depth, originals)

    @contextlib.contextmanager
    def swapped_cuda_module(fn: Any, fake: Any) -> Iterator[None]:
        glob = fn.__globals__
        with lock:
            depth, orig = swapped.get(id(glob), (0, {}))
            if depth == 0:
                orig = {k: v for k, v in glob.items() if v is cuda}
                glob.update(dict.fromkeys(orig, fake))
            swapped[id(glob)] = (depth + 1, orig)
        try:
            yield
        finally:
            with lock:
                depth, orig = swapped.pop(id(glob))
                if depth > 1:
                    swapped[id(glob)] = (depth - 1, orig)
                else:
                    glob.update(orig)

    dynamic = kernelapi.FakeCUDAShared.array

    def shared_array(self: Any, shape: Any, dtype: Any) -> Any:
        if shape == 0:
            return dynamic(self, shape, dtype)
        if isinstance(dtype, kernelapi.types.Type):
            dtype = numpy_support.as_dtype(dtype)
        frame = sys._getframe(1)
        caller = (frame.f_code.co_filename, frame.f_lineno)  # the simulator's key
        with lock:
            res = self._allocations.get(caller)
            if res is None:
                res = self._allocations[caller] = np.empty(shape, dtype)
        return res

    kernel.swapped_cuda_module = swapped_cuda_module  # type: ignore[attr-defined]
    kernelapi.FakeCUDAShared.array = shared_array  # type: ignore[method-assign]
    sys.setswitchinterval(5e-5)
