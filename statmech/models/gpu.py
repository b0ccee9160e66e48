"""Where CUDA kernels can run: a real device, or numba's simulator in tests.

Shared by every model family with a GPU backend (and by the cluster set-up, which advertises a
``GPU`` resource on workers that have one). numba.cuda is imported only when asked.
"""

from __future__ import annotations

import os


def simulator() -> bool:
    """Whether numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``, set before import)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def gpu_available() -> bool:
    """Whether a real CUDA device can run the kernels (the simulator does not count)."""
    if simulator():
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # no driver, no toolkit
        return False


def kernels_runnable() -> bool:
    """Whether the CUDA kernels can run here: a real device, or numba's simulator (tests)."""
    return gpu_available() or simulator()
