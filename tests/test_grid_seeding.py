"""Seeds: streams depend on the coordinate values only."""

from __future__ import annotations

import numpy as np

from statmech.seeding import canonical_point, unit_seed


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
