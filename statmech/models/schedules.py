"""Cooling schedules of simulated annealing, shared by every model with an anneal protocol.

Temperatures in units of J (k_B = 1). Kept apart from the models' kernels so that a worker
running one model loads only this module, not another model's kernels.
"""

from __future__ import annotations

from numba import njit

from statmech.rng import JIT


@njit(**JIT)
def anneal_temperature(t, tau, T_start, T_end, geometric):
    """Temperature of sweep ``t`` (0 .. tau - 1) of an anneal from ``T_start`` to ``T_end``.

    Linear: ``T_start + (T_end - T_start) t / (tau - 1)``; geometric:
    ``T_start (T_end / T_start)^(t / (tau - 1))``. The last sweep is at ``T_end`` exactly
    (``tau = 1``: the single sweep is at ``T_end``).
    """
    if t >= tau - 1:
        return T_end
    frac = t / (tau - 1.0)
    if geometric:
        return T_start * (T_end / T_start) ** frac
    return T_start + (T_end - T_start) * frac
