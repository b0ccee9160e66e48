"""The exact references themselves, checked against brute force and against each other."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from statmech.theory import ising as ex


@pytest.mark.parametrize("T", [1.2, ex.TC_2D, 3.7])
@pytest.mark.parametrize("L", [2, 4])
def test_kaufman_equals_enumeration(L: int, T: float) -> None:
    e, c = ex.kaufman_energy_heat(L, T)
    m = ex.moments(ex.dos_2d(L), T)
    assert e == pytest.approx(m["e"], rel=1e-10)
    assert c == pytest.approx(m["C"], rel=1e-8)


def test_kaufman_tends_to_onsager() -> None:
    for T in (1.8, 2.0, 3.0):
        e, c = ex.kaufman_energy_heat(128, T)
        assert e == pytest.approx(float(ex.onsager_energy(T)), abs=1e-9)
        assert c == pytest.approx(float(ex.onsager_specific_heat(T)), abs=1e-6)


def test_onsager_values() -> None:
    assert ex.TC_2D == pytest.approx(2.269185314213022)
    assert float(ex.onsager_energy(ex.TC_2D)) == pytest.approx(-np.sqrt(2))
    T = np.array([1.5, 2.0, 2.2, 2.6, 3.5])
    h = 1e-5
    dudT = (ex.onsager_energy(T + h) - ex.onsager_energy(T - h)) / (2 * h)
    assert np.allclose(ex.onsager_specific_heat(T), dudT, rtol=1e-6)
    assert float(ex.onsager_magnetization(2.0)) == pytest.approx(0.911319377877496, rel=1e-12)
    assert float(ex.onsager_magnetization(2.3)) == 0.0


def test_dos_2d_counts_brute_force_l2() -> None:
    d = ex.dos_2d(2)
    assert np.exp(d.log_count).sum() == pytest.approx(16)
    # all up: 8 bonds (each of the 4 neighbour pairs is joined twice)
    i = np.flatnonzero(d.mags == 4)[0]
    assert d.bonds[i] == 8


@pytest.mark.parametrize("N", [2, 3, 5, 8, 11])
def test_chain_dos_equals_brute_force(N: int) -> None:
    d = ex.dos_chain(N)
    got: dict[tuple[int, int], float] = {}
    for b, m, lc in zip(d.bonds, d.mags, d.log_count, strict=True):
        got[(int(b), int(m))] = got.get((int(b), int(m)), 0) + np.exp(lc)
    want: dict[tuple[int, int], int] = {}
    for s in itertools.product((-1, 1), repeat=N):
        a = np.array(s)
        key = (int((a * np.roll(a, -1)).sum()), int(a.sum()))
        want[key] = want.get(key, 0) + 1
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v)


def test_chain_finite_n_tends_to_transfer_matrix() -> None:
    for T, B in ((0.7, 0.2), (1.5, 0.0), (2.0, -0.5)):
        m = ex.moments(ex.dos_chain(2000), T, B)
        assert m["e"] == pytest.approx(float(ex.chain_energy(T, B)), abs=1e-6)
        assert m["m"] == pytest.approx(float(ex.chain_magnetization(T, B)), abs=1e-6)
