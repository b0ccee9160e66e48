"""Stores made by earlier versions keep resuming: the physics hash of an old sweep file is stable.

The hashes below were computed by statmech at commit 4491f7f (before SK gained J0 and annealing
and Hopfield gained annealing). Settings and parameters added since then sit at defaults that
reproduce the old numbers bit for bit, and are left out of the hash there
(:data:`statmech.models.base.ADDED_SETTING`, ``Parameter.seed_omits_default``).
"""

from __future__ import annotations

import pytest

from statmech.config import parse_config

OLD = {
    "0e6f4fbd5c2c353ac021efa3821f984dc10a6b7ff3dc18abf41eb2075723925b": """
model: sk
axes: {N: [8, 10, 12, 14, 16, 18, 20]}
fixed: {B: 0.0}
settings: {method: enumeration, max_n: 20, ground_state_tolerance: 0.0, e_min: -1.0,
           e_max: 0.0, e_bins: 100}
replicas: 200
seed: 20260118
store: results/sk-counting-quick.zarr
""",
    "aa5fae034483e7d57c1fed9012477c100c58468abbc319c6ab1e210e49277a5a": """
model: sk-overlap
axes: {N: [16, 32, 64, 128]}
fixed: {B: 0.0}
settings:
  temperatures: [0.4, 0.45, 0.5, 0.56, 0.62, 0.68, 0.75, 0.82, 0.9, 0.97, 1.04, 1.12,
                 1.21, 1.31, 1.45, 1.6]
  algorithm: pt
  thermalization: 20000
  sweeps: 100000
  every: 10
  max_n: 128
replicas: 100
seed: 20260119
store: results/sk-overlaps.zarr
""",
    "ceed39909e7ec5c4703e13e313659bd70c86622fefd9ee2873fa2d12402dbbb6": """
model: hopfield
axes: {N: [250, 500, 1000], alpha: [0.02, 0.06, 0.1, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2,
                                   0.25]}
fixed: {T: 0.0, noise: 0.0}
settings: {dynamics: async, trials: 5, max_sweeps: 500}
replicas: 24
seed: 20260114
store: results/hopfield-capacity-quick.zarr
""",
}


@pytest.mark.parametrize("old_hash", sorted(OLD))
def test_old_sweep_files_keep_their_physics_hash(old_hash: str) -> None:
    assert parse_config(OLD[old_hash]).physics_hash == old_hash


def test_a_non_default_addition_changes_the_hash() -> None:
    text = OLD["0e6f4fbd5c2c353ac021efa3821f984dc10a6b7ff3dc18abf41eb2075723925b"]
    j0 = text.replace("fixed: {B: 0.0}", "fixed: {B: 0.0, J0: 0.5}")
    assert parse_config(j0).physics_hash != parse_config(text).physics_hash
    same = text.replace("fixed: {B: 0.0}", "fixed: {B: 0.0, J0: 0.0}")
    assert parse_config(same).physics_hash == parse_config(text).physics_hash
    hop = OLD["ceed39909e7ec5c4703e13e313659bd70c86622fefd9ee2873fa2d12402dbbb6"]
    other = hop.replace("max_sweeps: 500}", "max_sweeps: 500, T_end: 0.1}")
    assert parse_config(other).physics_hash != parse_config(hop).physics_hash
