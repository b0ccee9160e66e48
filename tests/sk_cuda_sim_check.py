"""Run in a subprocess with NUMBA_ENABLE_CUDASIM=1 (see test_sk_cuda.py): the GPU enumeration of
the SK model, in numba's CUDA simulator, against the CPU enumeration, every field exactly.

The simulator runs one Python thread per CUDA thread, so sizes are tiny (N = 2 ... 10) and the
segments short (1 to 16 steps per thread, a few threads per block, a few steps per launch) so
that segment, block and launch boundaries, the start states of the threads and the candidate
buffer's overflow and retry are all exercised.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
from cuda_scripts import fast_thread_safe_simulator  # noqa: E402

fast_thread_safe_simulator()

from statmech.models.sk.cuda import THREADS, enumerate_sk_cuda  # noqa: E402
from statmech.models.sk.kernels import (  # noqa: E402
    Enumeration,
    draw_couplings,
    enumerate_sk,
    field_units,
)
from statmech.models.sk.model import SK, SKSettings  # noqa: E402

CASES = 0
TOTALS = {"launches": 0, "retries": 0, "multi_launch": 0, "multi_block": 0}


def same(cpu: Enumeration, gpu: Enumeration, label: object) -> None:
    """Every field of the two results exactly equal."""
    global CASES
    for f in dataclasses.fields(Enumeration):
        a, b = getattr(cpu, f.name), getattr(gpu, f.name)
        assert np.array_equal(a, b), (label, f.name, a, b)
    CASES += 1


def compare(jq: np.ndarray, bq: int, label: object, geo: dict, **kw: object) -> Enumeration:
    """CPU and GPU enumerations of (jq, bq) with the same settings ``kw``; returns the CPU's."""
    cpu = enumerate_sk(jq, bq, **kw)  # type: ignore[arg-type]
    stats: dict[str, int] = {}
    gpu = enumerate_sk_cuda(jq, bq, **kw, **geo, stats=stats)  # type: ignore[arg-type]
    same(cpu, gpu, label)
    n = jq.shape[0]
    segments = 2 ** (n - 1 - stats["seg_bits"])
    TOTALS["launches"] += stats["launches"]
    TOTALS["retries"] += stats["retries"]
    TOTALS["multi_launch"] += stats["launches"] > 1 + stats["retries"]
    TOTALS["multi_block"] += segments > geo.get("threads", THREADS)
    return cpu


def geometry(n: int, variant: int, capacity: int | None = None) -> dict:
    """Launch geometries for a tiny N: 1 to 8 steps per thread, 3 to 8 threads per block,
    1 or 4 launches (so segment, block and launch boundaries all occur)."""
    seg_bits = min(n - 1, variant % 4)
    steps = 2 ** (n - 1)
    geo = {"seg_bits": seg_bits, "threads": (3, 8, 4)[variant % 3],
           "launch_steps": max(steps // 4, 2**seg_bits) if variant % 2 else steps}
    if capacity is not None:
        geo["capacity"] = capacity
    return geo


def gaussian() -> None:
    """Random samples, B = 0 and B != 0, every size from 2 to 10, several geometries."""
    rng = np.random.default_rng(2026)
    fields = (0.0, 0.3, -0.45, 1.1)
    for trial in range(27):
        n = 2 + trial % 9
        jq = draw_couplings(n, rng)
        bq = field_units(fields[trial % 4])
        geo = geometry(n, trial) if trial % 6 else {}  # {}: the default geometry
        compare(jq, bq, ("gaussian", trial, n), geo, max_minima=2**n, e_min=-0.9, e_max=-0.2,
                bins=7)
        # the kept list capped at 2, a 3-record candidate buffer: overflows and retries
        compare(jq, bq, ("gaussian capped", trial, n), geometry(n, trial + 1, 3), max_minima=2,
                tol_units=2**22 * (trial % 3))


def degenerate() -> None:
    """+-J couplings: exact ties (sorting by code), zero fields (marginal states), tolerance."""
    rng = np.random.default_rng(7)
    unit = 2**20
    n_marginal = n_degenerate = 0
    for trial in range(18):
        n = 4 + trial % 6
        a = np.triu(rng.choice([-unit, unit], size=(n, n)), 1)
        jq = a + a.T
        bq = (0, unit, -2 * unit)[trial % 3]
        tol = (0, 2 * unit, 5 * unit)[(trial // 3) % 3]
        kw = {"tol_units": tol, "e_min": -2.0, "e_max": 1.0, "bins": 12}
        for variant, (max_minima, capacity) in enumerate(((2**n, None), (3, 4), (5, 6))):
            r = compare(jq, bq, ("pm-J", trial, n, max_minima),
                        geometry(n, trial + variant, capacity), max_minima=max_minima, **kw)
            n_marginal += r.n_marginal > 0
            n_degenerate += r.degeneracy > 2
    assert n_marginal > 0 and n_degenerate > 0, (n_marginal, n_degenerate)


def all_marginal() -> None:
    """Zero couplings: every one of the 2^N states is a marginal local minimum at E = 0.

    The candidate buffer (5 records) overflows in every launch; the threshold tightens by code.
    """
    for n, bq in ((6, 0), (7, 0), (5, 3 * 2**20)):
        jq = np.zeros((n, n), dtype=np.int64)
        r = compare(jq, bq, ("zero couplings", n, bq),
                    {"seg_bits": 1, "threads": 4, "launch_steps": 16, "capacity": 5},
                    max_minima=4)
        if bq == 0:
            assert r.n_marginal == 2**n and r.capped, r


def settings_dispatch() -> None:
    """The model with backend cpu, cuda and auto: identical stored values."""
    model = SK()
    out = {}
    for backend in ("cpu", "cuda", "auto"):
        settings = SKSettings(backend=backend, max_n=12, max_minima=4, e_bins=10)
        out[backend] = model.run({"N": 9, "B": 0.2}, settings, np.random.SeedSequence(3))
    for name, v in out["cpu"].items():
        assert np.array_equal(v, out["cuda"][name], equal_nan=True), name
        assert np.array_equal(v, out["auto"][name], equal_nan=True), name


def main() -> int:
    gaussian()
    degenerate()
    all_marginal()
    settings_dispatch()
    # the paths the geometries are meant to exercise did run
    assert TOTALS["retries"] > 10 and TOTALS["multi_launch"] > 10, TOTALS
    assert TOTALS["multi_block"] > 10, TOTALS
    print(f"sk cuda simulator: {CASES} enumerations identical to the CPU ({TOTALS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
