"""The peer benchmark reads NVIDIA cuIsing's own throughput line."""

from __future__ import annotations

import pytest

from benchmarks.peers import cuising_rate


def test_cuising_rate_is_read_from_its_output() -> None:
    out = ("Final   magnetization:  0.001418, up_s:   4288877118 (iter:      128)\n\n"
           "Kernel execution time for 128 update steps: 6.105666E+02 ms, 1800.81 flips/ns "
           "(BW: 2703.41 GB/s)\n")
    assert cuising_rate(out) == 1800.81
    with pytest.raises(ValueError, match="Kernel execution time"):
        cuising_rate("Usage: cuIsing [options]")
