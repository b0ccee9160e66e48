"""Run a CUDA check script of tests/ in a new interpreter (numba fixes its CUDA mode at import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
