"""Schema-2 store and the scale-out machinery without a cluster: chunk layout, the single writer,
validation of returned values, integrity checks, atomic creation, interoperability, policies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from statmech.config import ConfigError, parse_config
from statmech.errors import InputError
from statmech.grid import (
    MAX_BLOCKS,
    Grid,
    chunk_shape,
    group_bounds,
    group_count,
    group_seconds,
    last_wave,
    split_blocks,
)
from statmech.limits import unit_seconds
from statmech.plan import plan_groups, preflight, prepare, store_grid
from statmech.runner import BatchFailed, compute_group, make_job, run_units
from statmech.seeding import unit_seed
from statmech.store import Store, StoreMismatchError
from statmech.writer import ChunkWriter, UnitWriter

TESTS = Path(__file__).resolve().parent
os.environ["STATMECH_MODELS"] = "faulty=faulty:Faulty"
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
sys.path.insert(0, str(TESTS))

FAULTY = """
model: faulty
axes: {{x: {xs}}}
settings: {{{settings}}}
replicas: {replicas}
seed: 5
store: {store}
"""


def faulty(store: Path, n: int = 8, replicas: int = 2, settings: str = ""):  # type: ignore[no-untyped-def]
    xs = json.dumps([float(i) for i in range(n)])
    return parse_config(FAULTY.format(xs=xs, settings=settings, replicas=replicas, store=store))


def fill(sweep) -> Store:  # type: ignore[no-untyped-def]
    """Create the store and compute every unit in this process."""
    plan = prepare(sweep)
    run_units(sweep.store, sweep.text, [[*u[0], u[1]] for u in plan.missing])
    return plan.store


def numbers(path: Path) -> xr.Dataset:
    ds = xr.open_zarr(path).load()[["y", "y_err", "done", "failed"]]
    ds.attrs = {}
    return ds


def test_policies() -> None:
    assert chunk_shape((3, 24, 2)) == (3, 24, 2)
    assert chunk_shape((100, 1000, 10)) == (1, 819, 10)
    assert chunk_shape((10**6, 1)) == (8192, 1)
    assert chunk_shape((10, 10, 4), unit_bytes=2**20) == (1, 1, 4)
    # about four tasks per slot, capped by target_seconds, floored by the scheduler's rate,
    # then the largest size at or below that for which each slot's share is the two ramps
    # (1.25 groups) and a whole number of groups: 20 s per slot -> 20 / (1.25 + 3)
    assert group_seconds(1280.0, 64, 10.0) == pytest.approx(20 / 4.25)
    assert group_seconds(5120.0, 256, 10.0) == pytest.approx(20 / 4.25)
    assert group_seconds(20480.0, 1024, 10.0) == pytest.approx(20 / 2.25)  # the rate floor binds
    assert group_seconds(10.0, 1024, 10.0) == pytest.approx(1024 / 100)  # too short: one wave
    assert group_seconds(1e6, 2, 10.0) == pytest.approx(5e5 / 50000.25)  # the target binds
    assert group_seconds(1e6, 2, 10.0) <= 10.0
    # the number of blocks (Prefect task runs) does not grow with the groups
    assert len(split_blocks([[((i,), 0)] for i in range(10**5)])) == MAX_BLOCKS
    assert [len(b) for b in split_blocks([[((i,), 0)] for i in range(5)])] == [1] * 5


def test_staggered_waves() -> None:
    """First wave t/4 .. t, whole waves of t, last wave t .. t/4: spread completions, short tail."""
    P = 64
    t = group_seconds(1280.0, P, 10.0)
    b = group_bounds(1280.0, P, t)
    sizes = np.diff(np.concatenate([[0.0], b]))
    assert b[-1] == 1280.0 and (sizes > 0).all()
    ramp = t * (0.25 + 0.75 * (np.arange(P) + 0.5) / P)
    assert sizes[:P] == pytest.approx(ramp)
    assert sizes[-P:] == pytest.approx(ramp[::-1])
    assert sizes[P:-P] == pytest.approx(np.full(3 * P, t))  # three whole waves in between
    # the thread freed first (smallest first group) takes the largest last group: each slot
    # gets exactly its share
    assert (sizes[:P] + sizes[-P:] + 3 * t) == pytest.approx(np.full(P, 20.0))
    # a size that does not fill whole waves is rounded to the nearest that does
    assert len(group_bounds(1280.0, P, 5.0)) == 5 * P
    # one equal group per slot when the sweep is too short for the two ramps (1.25 waves)
    assert np.diff(group_bounds(60.0, 64, 1.0)) == pytest.approx(np.full(63, 60 / 64))
    assert len(group_bounds(10.0, 1, 1.0)) == 10  # one slot: groups of t
    for total in (80.0, 80.8, 81.0, 100.0, 1000.0):  # boundaries always increase
        b = group_bounds(total, 64, 1.0)
        assert (np.diff(b) > 0).all() and b[-1] == pytest.approx(total)
    # the count check shows: 1280 unit-second units on 64 slots
    assert group_count(1280.0, 1280, 64, 10.0) == 5 * 64
    assert group_count(1280.0, 1280, 64, 10.0, size=7) == 183


def _greedy_ends(group_costs: Sequence[float], starts: Sequence[float]) -> np.ndarray:
    """When each thread ends if every group goes to the thread freed first."""
    import heapq

    free = list(starts)
    heapq.heapify(free)
    for cost in group_costs:
        heapq.heappush(free, heapq.heappop(free) + cost)
    return np.array(free)


def test_whole_waves_end_together_under_greedy_dispatch() -> None:
    """Threads that take the next group as they free up all end within ~one unit of each other.

    A greedy (longest first) dispatch of the planned groups of 1 s units, threads starting up to
    0.5 s apart: the mean idle time at the end stays near the unit's cost. With the previous
    rule (groups of exactly the rate floor, 0.7 of a wave in between) 1024 slots idled 2.0 s.
    """
    rng = np.random.default_rng(0)
    for slots in (64, 1024):
        total = 20.0 * slots
        t = group_seconds(total, slots, 10.0)
        bounds = group_bounds(total, slots, t)
        units = np.searchsorted(bounds, np.arange(total) + 1e-9 * t, side="right")
        ends = _greedy_ends(np.bincount(units).tolist(), rng.uniform(0, 0.5, slots).tolist())
        assert (ends.max() - ends).mean() < 1.5, slots


@pytest.mark.parametrize("slots", [64, 1024])
@pytest.mark.parametrize("costs", ["equal", "two-valued"])
def test_planned_groups_of_whole_units_end_together(slots: int, costs: str) -> None:
    """The last wave is cut to what each thread has left after the groups before it.

    1 s units on 1024 slots make nominal groups of 8.89 s hold 8 or 9 units; with the
    nominal last wave some threads then ended a whole unit after the rest (21 s against a
    20 s share). Cut from a replay of the dispatch, every thread ends at its share.
    """
    n = 20 * slots
    grid = Grid(axes={"x": np.arange(n, dtype=float)}, fixed={}, replicas=1)

    class Model:
        def cost(self, point, settings):  # type: ignore[no-untyped-def]
            return 1.0 if costs == "equal" or point["x"] % 2 else 8.0

    idx = np.stack([np.arange(n), np.zeros(n, dtype=np.int64)], axis=1)
    groups, total = plan_groups(idx, grid, Model(), None, slots, 10.0)
    assert sorted(np.concatenate(groups)[:, 0].tolist()) == list(range(n))
    group_costs = [sum(Model().cost({"x": float(x)}, None) for x in g[:, 0]) for g in groups]
    ends = _greedy_ends(group_costs, [0.0] * slots)
    assert ends.max() == pytest.approx(total / slots)
    assert len(groups) <= group_count(total, n, slots, 10.0)  # no more groups than planned


def test_last_wave_levels_the_threads() -> None:
    # three threads free at 1, 2 and 10 after the groups before; 6 left: the first two rise
    # to 4.5, the third (already past it) takes nothing
    assert last_wave([1.0, 2.0, 10.0], 6.0, 3) == pytest.approx([3.5, 2.5])
    assert last_wave([], 6.0, 3) == pytest.approx([2.0, 2.0, 2.0])  # nothing before: equal
    assert last_wave([4.0, 1.0, 1.0, 1.0], 3.0, 2) == pytest.approx([2.0, 1.0])  # 3 and 4 -> 5


@pytest.mark.parametrize("cost", [0.0, 1e-9, 1e-3])
def test_units_estimated_free_still_spread_over_every_slot(cost: float) -> None:
    """A model whose cost says 0 (or next to nothing) gets one group per slot, not one in all.

    Every unit used to start at 0 on the cumulative-cost axis: a cost of 0 made a single group
    of all 2560 units (one thread computes the sweep), 1e-9 made 66 groups of up to 1280.
    """
    slots, n = 128, 2560
    grid = Grid(axes={"x": np.arange(n, dtype=float)}, fixed={}, replicas=1)

    class Model:
        name = "free"

        def cost(self, point, settings):  # type: ignore[no-untyped-def]
            return cost

    idx = np.stack([np.arange(n), np.zeros(n, dtype=np.int64)], axis=1)
    groups, _ = plan_groups(idx, grid, Model(), None, slots, 10.0)
    assert [len(g) for g in groups] == [n // slots] * slots
    assert sorted(np.concatenate(groups)[:, 0].tolist()) == list(range(n))


def test_a_cost_that_is_not_seconds_is_refused_before_compute(tmp_path: Path) -> None:
    """faulty's cost is its ``sleep`` + 1 ms: a negative one is the model's error, named."""
    with pytest.raises(ConfigError) as err:
        faulty(tmp_path / "c.zarr", settings="sleep: -1.0")
    assert "model: faulty.cost({'x': 0.0}) returned -0.999" in str(err.value)
    assert not (tmp_path / "c.zarr").exists()

    class Broken:
        name = "broken"

        def cost(self, point, settings):  # type: ignore[no-untyped-def]
            return {"L": 1}[point["B"]]

    with pytest.raises(InputError, match=r"broken.cost\(\{'B': 0.5\}\) raised KeyError: 0.5 "):
        unit_seconds(Broken(), {"B": 0.5}, None)  # type: ignore[arg-type]


def test_heterogeneous_costs_go_longest_first(tmp_path: Path) -> None:
    sw = parse_config(FAULTY.format(xs="[0, 1]", settings="sleep: 0.0", replicas=64,
                                    store=tmp_path / "h.zarr"))
    grid = Grid_of(sw)
    units = list(grid.units())

    class Costly:
        def cost(self, point, settings):  # type: ignore[no-untyped-def]
            return 100.0 if point["x"] == 1.0 else 0.01

    idx = np.array([(*u[0], u[1]) for u in units])
    groups, total = plan_groups(idx, grid, Costly(), sw.settings, slots=8, target_seconds=10)
    assert total == pytest.approx(64 * 100.01)
    assert all(r[0] == 1 for r in groups[0].tolist())  # the expensive units start first
    assert max(len(g) for g in groups) > 1  # the cheap ones travel together
    assert sorted(np.concatenate(groups).tolist()) == sorted(idx.tolist())
    sized, _ = plan_groups(idx, grid, Costly(), sw.settings, slots=8, target_seconds=10, size=5)
    assert [len(g) for g in sized] == [5] * 25 + [3]


def Grid_of(sw):  # type: ignore[no-untyped-def]
    from statmech.store import grid_of

    return grid_of(sw)


def test_store_is_small_and_values_are_model_run_with_unit_seed(tmp_path: Path) -> None:
    small = fill(faulty(tmp_path / "small.zarr", n=10))
    big_sweep = faulty(tmp_path / "big.zarr", n=1250)
    big = fill(big_sweep)
    files = [sum(1 for p in s.path.rglob("*") if p.is_file()) for s in (small, big)]
    assert files[0] == files[1] < 30  # grows with chunks, not with units (2500 units here)
    ds = xr.open_zarr(big.path)
    grid = store_grid(big, big_sweep)
    for idx, rep in [((0,), 0), ((617,), 1), ((1249,), 0)]:
        point = grid.point(idx)
        ref = big_sweep.model.run(point, big_sweep.settings,
                                  unit_seed(big_sweep.seed, "faulty", point, rep))
        assert ds["y"].values[idx[0], rep] == ref["y"]
    assert bool(ds["done"].all())


def test_a_group_travels_as_one_blob_with_its_outcomes_unchanged(tmp_path: Path) -> None:
    """Dask sends each numpy array of a result as a frame of its own: a group's result is one
    ``bytes`` (one frame), and unpacking it gives exactly :func:`compute_group`'s outcomes."""
    from statmech.runner import compute_group_packed, unpack

    sw = faulty(tmp_path / "p.zarr", n=4, settings="bad_on: [2.0], bad_kind: shape")
    plan = prepare(sw)
    job = make_job(sw.store, sw, plan.grid)
    rows = [[*u[0], u[1]] for u in plan.missing]
    blob = compute_group_packed(rows, job)
    assert isinstance(blob, bytes)
    got, ref = unpack(blob), compute_group(rows, job)
    assert [(o[0], o[3] is None) for o in got] == [(o[0], o[3] is None) for o in ref]
    for (_, values, _, _), (_, ref_values, _, _) in zip(got, ref, strict=True):
        if ref_values is not None:
            assert values is not None
            assert all(np.array_equal(values[k], v) for k, v in ref_values.items())


@pytest.mark.parametrize("kind", ["missing", "shape", "dtype", "extra"])
def test_values_that_do_not_match_the_declaration_are_unit_failures(
        tmp_path: Path, kind: str) -> None:
    sw = faulty(tmp_path / "v.zarr", n=4, settings=f"bad_on: [2.0], bad_kind: {kind}")
    plan = prepare(sw)
    job = make_job(sw.store, sw, plan.grid)
    outcomes = compute_group([[*u[0], u[1]] for u in plan.missing], job)
    bad = [o for o in outcomes if o[3] is not None]
    assert [o[0] for o in bad] == [((2,), 0), ((2,), 1)]
    assert all("model faulty" in str(o[3]) for o in bad)
    with pytest.raises(BatchFailed):
        run_units(sw.store, sw.text, [[*u[0], u[1]] for u in plan.missing])
    st = Store(sw.store)
    done = st.done_mask()
    assert not done[2].any() and done.sum() == 6  # never NaN marked done
    assert st.failed_mask()[2].all()
    assert all("model faulty" in e["error"] and "'y" in e["error"] + "'y'" for e in st.errors())


def test_writer_flushes_on_timer_and_on_complete_chunks(tmp_path: Path) -> None:
    sw = faulty(tmp_path / "w.zarr", n=4, replicas=1)
    plan = prepare(sw)
    st = plan.store
    with ChunkWriter(sw.store, flush_seconds=0.3) as w:
        w.add(((0,), 0), {"y": 1.0, "y_err": 0.1}, 0.0)
        assert st.done_mask().sum() == 0  # buffered
        deadline = time.time() + 10
        while st.done_mask().sum() == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert st.done_mask().sum() == 1  # flushed by the timer
    with ChunkWriter(sw.store, flush_seconds=3600) as w:
        w.expect(np.array([[1, 0], [2, 0]]))
        w.add(((1,), 0), {"y": 2.0, "y_err": 0.1}, 0.0)
        assert st.done_mask().sum() == 1
        w.add(((2,), 0), {"y": 3.0, "y_err": 0.1}, 0.0)
        deadline = time.time() + 10  # written by the flush thread, not after the 3600 s timer
        while st.done_mask().sum() < 3 and time.time() < deadline:
            time.sleep(0.01)
        assert st.done_mask().sum() == 3  # the chunk's planned units all arrived
        assert w.pending() == 0
    assert Store(sw.store).errors() == []


def test_concurrent_adds_lose_nothing(tmp_path: Path) -> None:
    sw = faulty(tmp_path / "c.zarr", n=200, replicas=2)
    prepare(sw)
    units = [((i,), r) for i in range(200) for r in range(2)]

    with ChunkWriter(sw.store, flush_seconds=0.01) as w:
        def add(part: list) -> None:  # type: ignore[type-arg]
            for u in part:
                w.add(u, {"y": float(u[0][0] * 10 + u[1]), "y_err": 0.0}, 0.0)

        threads = [threading.Thread(target=add, args=(units[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ds = xr.open_zarr(sw.store).load()
    assert bool(ds["done"].all())
    np.testing.assert_array_equal(ds["y"].values,
                                  np.arange(200)[:, None] * 10 + np.arange(2)[None, :])


def test_verify_finds_corrupt_missing_nonfinite_and_the_rerun_is_bitwise(tmp_path: Path) -> None:
    ref = fill(faulty(tmp_path / "ref.zarr"))
    sw = faulty(tmp_path / "s.zarr")
    st = fill(sw)
    assert st.verify() == {"checked": 5, "corrupt": [], "missing": [], "nonfinite": {},
                           "affected": 0, "repaired": True}
    chunk = st.path / "y" / "c" / "0" / "0"
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte
    chunk.write_bytes(bytes(raw))
    with pytest.raises(Exception):  # noqa: B017  (zarr reports the checksum mismatch)
        zarr.open_array(st.path / "y", mode="r")[...]
    found = st.verify(repair=False)
    assert found["corrupt"] == ["y c/0/0"] and found["affected"] == 16
    assert st.done_mask().all()  # nothing changed without repair
    found = st.verify()
    assert found["affected"] == 16 and not st.done_mask().any()
    (st.path / "y_err" / "c" / "0" / "0").unlink()
    run_units(sw.store, sw.text, [[*u[0], u[1]] for u in st.missing_units()])
    xr.testing.assert_identical(numbers(ref.path), numbers(st.path))
    (st.path / "y_err" / "c" / "0" / "0").unlink()  # a lost chunk file
    assert st.verify()["missing"] == ["y_err c/0/0"] and st.done_mask().sum() == 0
    run_units(sw.store, sw.text, [[*u[0], u[1]] for u in st.missing_units()])
    xr.testing.assert_identical(numbers(ref.path), numbers(st.path))
    UnitWriter(st.path).write(((3,), 1), {"y": np.nan, "y_err": 0.1}, 0.0)  # NaN marked done
    found = st.verify()
    assert found["nonfinite"] == {"y": 1} and found["affected"] == 1
    assert st.missing_units() == [((3,), 1)]
    run_units(sw.store, sw.text, [[3, 1]])
    xr.testing.assert_identical(numbers(ref.path), numbers(st.path))


def test_verify_command(tmp_path: Path) -> None:
    st = fill(faulty(tmp_path / "s.zarr", n=2))
    out = subprocess.run([sys.executable, "-m", "statmech", "verify", str(st.path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "0 units" in out.stdout, out.stdout + out.stderr
    (st.path / "y" / "c" / "0" / "0").write_bytes(b"garbage")
    out = subprocess.run([sys.executable, "-m", "statmech", "verify", str(st.path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "corrupt" in out.stdout and "4 units" in out.stdout


def test_creation_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.zarr"
    sw = faulty(path, n=3)

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert not path.exists()  # never visible half-made
        raise KeyboardInterrupt("killed while creating")

    monkeypatch.setattr(zarr, "consolidate_metadata", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare(sw)
    monkeypatch.undo()
    assert not path.exists() and not list(tmp_path.glob("a.zarr.tmp-*"))
    # a temporary folder left by a dead process (kill -9) is removed by the next creation
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"a.zarr.tmp-{os.uname().nodename}-{dead.pid}"
    stale.mkdir()
    (stale / "zarr.json").write_text("{}")
    assert preflight(sw) == "new"
    plan = prepare(sw)
    assert plan.state == "created" and not stale.exists() and len(plan.missing) == 6


def test_interop_where_mean_netcdf_dataframe(tmp_path: Path) -> None:
    sw = faulty(tmp_path / "i.zarr", n=4)
    prepare(sw)
    os.environ["FAULTY_FAIL_ON"] = "1"
    try:
        with pytest.raises(BatchFailed):
            run_units(sw.store, sw.text, [[i, r] for i in range(4) for r in range(2)])
    finally:
        del os.environ["FAULTY_FAIL_ON"]
    ds = xr.open_zarr(sw.store)
    masked = ds.where(ds.done)
    assert int(masked["y"].count()) == 6
    assert np.isfinite(float(ds.mean()["y_err"]))
    ds.to_netcdf(tmp_path / "i.nc")
    back = xr.open_dataset(tmp_path / "i.nc")
    assert json.loads(back.attrs["versions"])["zarr"] == zarr.__version__
    assert ds.to_dataframe().shape[0] == 8
    xr.open_zarr(sw.store).load()
    assert Store(sw.store).errors()[0]["unit"] in ([[1], 0], [[1], 1])


def test_schema_1_store_is_refused_with_the_fix(tmp_path: Path) -> None:
    sw = faulty(tmp_path / "old.zarr", n=2)
    fill(sw)
    group = zarr.open_group(sw.store, mode="r+")
    group.attrs["statmech_schema"] = 1
    with pytest.raises(StoreMismatchError, match="statmech migrate"):
        preflight(sw)


def test_migrate_rewrites_an_old_store_bitwise(tmp_path: Path) -> None:
    sw = faulty(tmp_path / "old.zarr", n=3)
    fill(sw)
    group = zarr.open_group(sw.store, mode="r+")
    group.attrs["statmech_schema"] = 1
    new = tmp_path / "new.zarr"
    out = subprocess.run([sys.executable, "-m", "statmech", "migrate", sw.store, str(new)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    xr.testing.assert_identical(numbers(Path(sw.store)), numbers(new))
    assert preflight(sw.with_overrides(store=str(new))) == "same"


def test_an_interrupted_run_stops_its_collector_at_once(tmp_path: Path) -> None:
    """Closing the dispatcher with groups still running (Ctrl-C, a failed flow) does not wait."""
    from distributed import Client, LocalCluster

    from statmech.dispatch import Dispatcher

    sweep = faulty(tmp_path / "c.zarr", n=4, settings="sleep: 5.0")
    with LocalCluster(n_workers=1, threads_per_worker=8, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        plan = prepare(sweep, workers=8)
        with ChunkWriter(sweep.store) as writer:
            dispatcher = Dispatcher(client, make_job(sweep.store, sweep, plan.grid), writer,
                                    plan.groups)
            time.sleep(0.5)
            t0 = time.perf_counter()
            dispatcher.close()
            assert time.perf_counter() - t0 < 2.5  # not the 5 s the groups still need
        assert not Store(sweep.store).done_mask().any()


def test_a_group_whose_task_dies_fails_only_its_units(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dask task that fails itself (not one of its units: e.g. KilledWorker) comes back in a
    batch with finished groups: its units are recorded as failed, the others are stored."""
    from distributed import Client, LocalCluster

    from statmech import dispatch
    from statmech.runner import BatchFailed

    real = dispatch.compute_group_packed

    def dies_with_x0(units, job):  # type: ignore[no-untyped-def]
        if any(int(u[0]) == 0 for u in units):
            raise RuntimeError("the task died")
        return real(units, job)

    monkeypatch.setattr(dispatch, "compute_group_packed", dies_with_x0)
    sweep = faulty(tmp_path / "d.zarr", n=6, replicas=4, settings="sleep: 0.0")
    with LocalCluster(n_workers=1, threads_per_worker=4, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        plan = prepare(sweep, workers=4)
        groups = np.split(np.concatenate(plan.groups), 6)  # one point (4 replicas) each
        assert all((g[:, 0] == g[0, 0]).all() for g in groups)
        with ChunkWriter(sweep.store) as writer, \
                dispatch.Dispatcher(client, make_job(sweep.store, sweep, plan.grid), writer,
                                    groups, blocks=1) as dispatcher:
            with pytest.raises(BatchFailed, match="RuntimeError: the task died"):
                dispatcher.collect(0)
    dead = np.zeros((6, 4), dtype=bool)
    for g in groups:
        if (g[:, 0] == 0).any():
            dead[g[:, 0], g[:, 1]] = True
    store = Store(sweep.store)
    assert dead[0].all() and not dead.all()
    assert (store.failed_mask() == dead).all()
    assert (store.done_mask() == ~dead).all()
