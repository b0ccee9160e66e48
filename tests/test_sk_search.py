"""Ground-state search (parallel tempering) and quenches against exact enumeration.

The two methods of the ``sk`` model draw the same couplings for the same unit seed, so the
search result of every sample can be checked against the exact answer.
"""

from __future__ import annotations

import numpy as np
import pytest

from statmech.models.sk.kernels import (
    EPS,
    draw_couplings,
    energy_units,
    enumerate_sk,
    field_units,
    spins_to_code,
)
from statmech.models.sk.mc import (
    energy_from_fields,
    local_fields,
    mc_couplings,
    pt_ground_state,
    quench_kernel,
    random_spins,
)
from statmech.models.sk.model import SK, SKSettings
from statmech.seeding import unit_seed

SEARCH = SKSettings(method="search", max_n=64, runs=3, agree=3, sweeps=400, quenches=400,
                    temperatures={"min": 0.2, "max": 1.6, "num": 12})
EXACT = SKSettings(method="enumeration", max_n=40)


@pytest.mark.parametrize("B", [0.0, 0.3])
@pytest.mark.parametrize("n", [12, 16, 20])
def test_parallel_tempering_finds_the_exact_ground_state(n: int, B: float) -> None:
    model = SK()
    point = {"N": n, "B": B}
    for sample in range(6):
        seed = unit_seed(42, "sk", point, sample)
        found = model.run(point, SEARCH, seed)
        exact = model.run(point, EXACT, unit_seed(42, "sk", point, sample))
        assert found["e0"] == exact["e0"], (n, B, sample)
        assert bool(found["success"]) and int(found["n_hits"]) == 3
        assert np.array_equal(found["ground_state"][:n], exact["ground_state"][:n])
        assert np.all(found["run_e0"] >= found["e0"])
        assert np.all(found["run_hit_sweep"] < SEARCH.sweeps)
        assert found["quench_e_min"] >= exact["e0"]
        assert found["quench_distinct"] <= exact["n_stable"] + exact["n_marginal"]
        assert 0 < found["quench_hit_fraction"] <= 1


def test_quench_end_points_are_stable_states_of_the_enumeration() -> None:
    n = 12
    rng = np.random.default_rng(8)
    jq = draw_couplings(n, rng)
    bq = field_units(0.1)
    ex = enumerate_sk(jq, bq, max_minima=4096)
    E, hashes, strict = quench_kernel(mc_couplings(jq, bq), bq, np.uint64(5), 3000)
    assert strict.all()
    minima = set(ex.minima_E.tolist())
    assert set(E.tolist()) <= minima
    # every local minimum has a non-empty basin: with 3000 quenches all 12-spin minima are found
    distinct = {(int(e), int(h)) for e, h in zip(E, hashes, strict=True)}
    assert len(distinct) == ex.n_stable + ex.n_marginal


def test_tracked_energies_and_fields_are_exact() -> None:
    n = 40
    jq = draw_couplings(n, np.random.default_rng(2))
    bq = field_units(0.25)
    J2 = mc_couplings(jq, bq)
    s = random_spins(n, np.uint64(1), np.uint64(0))
    h = local_fields(J2, bq, s)
    assert np.array_equal(h, jq @ s.astype(np.int64) + bq)
    assert energy_from_fields(h, bq, s) == energy_units(jq, bq, s)
    best_cfg = np.empty(n, dtype=np.int8)
    betas = EPS / np.geomspace(0.3, 1.5, 8)
    best, hit, flips, swaps = pt_ground_state(J2, bq, betas, np.uint64(3), 200, best_cfg)
    assert best == energy_units(jq, bq, best_cfg)
    assert 0 <= hit < 200 and flips.sum() > 0 and swaps[:-1].sum() > 0


def test_runs_are_reproducible_and_use_the_unit_stream() -> None:
    model = SK()
    point = {"N": 24, "B": 0.0}
    a = model.run(point, SEARCH, unit_seed(1, "sk", point, 0))
    b = model.run(point, SEARCH, unit_seed(1, "sk", point, 0))
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def test_success_criterion_reports_disagreement() -> None:
    """A search far too short for N = 200 cannot have all runs agree on the lowest energy."""
    model = SK()
    point = {"N": 200, "B": 0.0}
    short = SEARCH.model_copy(update={"sweeps": 5, "quenches": 10, "max_n": 256})
    out = model.run(point, short, unit_seed(3, "sk", point, 0))
    assert not bool(out["success"]) and int(out["n_hits"]) < 3
    assert out["e0"] == out["run_e0"].min()
    assert spins_to_code(out["ground_state"][:60]) >= 0


def test_search_cost_estimate_is_reasonable() -> None:
    model = SK()
    assert model.cost({"N": 20, "B": 0.0}, EXACT) < 0.05
    assert model.cost({"N": 1000, "B": 0.0}, SKSettings(method="search")) > 1.0
