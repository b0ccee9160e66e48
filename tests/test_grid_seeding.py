"""Grid, batches and seeds: units are covered once, and streams depend on values only."""

from __future__ import annotations

import numpy as np

from statmech.grid import Grid, make_batches
from statmech.seeding import canonical_point, unit_seed


def test_batches_cover_every_unit_once() -> None:
    grid = Grid({"L": np.array([4, 8, 16]), "T": np.linspace(1, 3, 7)}, {"B": 0.0}, 3)
    units = list(grid.units())
    assert len(units) == grid.n_units == 63
    for kw in ({"target_seconds": 5.0}, {"target_seconds": 0.1}, {"target_seconds": 1.0,
               "size": 4}, {"target_seconds": 10.0, "workers": 4}):
        batches = make_batches(units, lambda u: 0.1 * (1 + u[0][0]) ** 2, **kw)
        flat = [u for b in batches for u in b]
        assert sorted(flat) == sorted(units)
    sized = make_batches(units, lambda u: 1.0, 1.0, size=10)
    assert [len(b) for b in sized] == [10] * 6 + [3]


def test_seed_depends_on_values_not_indices() -> None:
    p = {"L": 8, "T": 2.5, "B": 0.0}
    a = unit_seed(1, "ising2d", p, 0).generate_state(4)
    same = unit_seed(1, "ising2d", {"B": 0, "T": 2.5000000000000004, "L": 8}, 0).generate_state(4)
    assert np.array_equal(a, same)
    for other in (unit_seed(2, "ising2d", p, 0), unit_seed(1, "ising1d", p, 0),
                  unit_seed(1, "ising2d", {**p, "T": 2.51}, 0), unit_seed(1, "ising2d", p, 1)):
        assert not np.array_equal(a, other.generate_state(4))


def test_canonical_point() -> None:
    assert canonical_point({"T": 1, "L": np.int64(4), "B": -0.0}) == {"B": 0.0, "L": 4.0, "T": 1.0}
