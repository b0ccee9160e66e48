"""No raw tracebacks: every failure of a command is one line naming the problem and the fix,
with the documented exit code (README "Exit codes"); ``--verbose`` shows the traceback.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from statmech.cli import app
from statmech.config import parse_config
from statmech.plan import prepare
from statmech.store import StoreMismatchError, lock_path
from statmech.writer import UnitWriter

ISING = """
model: ising2d
axes: {{L: [4], T: [2.0, 2.5]}}
settings: {{thermalization: 10, sweeps: 200}}
replicas: 2
seed: 1
store: {store}
"""
HOPFIELD = """
model: hopfield
axes: {{alpha: [0.1, 0.2]}}
fixed: {{N: 50, T: 0.0}}
settings: {{trials: 2, max_sweeps: 20}}
replicas: 1
seed: 1
store: {store}
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_one_line(err: str, *fragments: str) -> None:
    """The error is one logical line (no traceback), naming the problem."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for f in fragments:
        assert f in err, err


def filled(path: Path, text: str = ISING, units: int | None = None) -> Path:
    sw = parse_config(text.format(store=path))
    prepare(sw)
    writer = UnitWriter(path)
    names = list(sw.axes)
    done = 0
    for idx in np.ndindex(*(len(v) for v in sw.axes.values())):
        for r in range(sw.replicas):
            if units is not None and done >= units:
                return path
            point = {**sw.fixed, **{n: sw.axes[n][i].item() for n, i in zip(names, idx,
                                                                             strict=True)}}
            values = sw.model.run(point, sw.settings, np.random.SeedSequence(done))
            writer.write((tuple(int(i) for i in idx), r), values, elapsed=0.0)
            done += 1
    return path


@pytest.fixture(scope="module")
def ising_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return filled(tmp_path_factory.mktemp("s") / "ising.zarr")


def config(tmp_path: Path, store: Path | str, text: str = ISING) -> Path:
    p = tmp_path / "sweep.yaml"
    p.write_text(text.format(store=store))
    return p


def test_deploy_with_a_bad_cron() -> None:
    code, _, err = invoke("deploy", "configs/quickstart.yaml", "--cron", "not a cron")
    assert code == 2
    assert_one_line(err, "not a cron schedule", "0 3 * * *")


def test_drift_on_a_missing_path(ising_store: Path, tmp_path: Path) -> None:
    code, _, err = invoke("drift", str(ising_store), str(tmp_path / "nope.zarr"))
    assert code == 2
    assert_one_line(err, "nope.zarr does not exist")


def test_non_utf8_config(tmp_path: Path) -> None:
    p = tmp_path / "latin.yaml"
    p.write_bytes(ISING.format(store="caf\xe9.zarr").encode("latin-1"))
    for cmd in ("check", "sweep"):
        code, _, err = invoke(cmd, str(p))
        assert code == 2 and "not UTF-8" in err and "Traceback" not in err, err


@pytest.mark.parametrize("target", ["zarr.json", "done/zarr.json", "T/zarr.json"])
def test_corrupt_metadata(ising_store: Path, tmp_path: Path, target: str) -> None:
    import shutil

    store = tmp_path / "c.zarr"
    shutil.copytree(ising_store, store)
    (store / target).write_bytes(os.urandom(64))
    for cmd in ("status", "report", "plot"):
        code, _, err = invoke(cmd, str(store))
        assert code == 3, (cmd, err)
        assert_one_line(err, "corrupt", f"statmech verify {store}")
    code, _, err = invoke("drift", str(ising_store), str(store))
    assert code == 3 and "corrupt" in err and "Traceback" not in err
    code, _, err = invoke("sweep", str(config(tmp_path, store)), "--address", "tcp://x:1")
    assert code in (3, 4) and "Traceback" not in err, err


def test_report_on_an_empty_store(tmp_path: Path) -> None:
    store = tmp_path / "empty.zarr"
    prepare(parse_config(ISING.format(store=store)))
    for cmd in ("report", "plot", "refine"):
        code, _, err = invoke(cmd, str(store))
        assert code == 3, err
        assert_one_line(err, "no finished units", "statmech sweep")


def test_report_on_a_partial_store(tmp_path: Path) -> None:
    store = filled(tmp_path / "partial.zarr", units=2)
    code, _, err = invoke("report", str(store), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert (tmp_path / "rep").is_dir()


def test_refine_near_binder_crossing_on_a_hopfield_store(tmp_path: Path) -> None:
    store = filled(tmp_path / "h.zarr", HOPFIELD)
    code, _, err = invoke("refine", str(store), "--near", "binder-crossing")
    assert code == 2
    assert_one_line(err, "cannot refine", "model hopfield", "capacity")


def test_unreachable_address_fails_fast(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = config(tmp_path, tmp_path / "a.zarr")
    t0 = time.perf_counter()
    code, _, err = invoke("sweep", str(cfg), "--address", f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 5
    assert code == 4
    assert_one_line(err, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    code, _, err = invoke("sweep", str(cfg), "--address", "tcp://127.0.0.1:1")
    assert code == 4 and "Traceback" not in err
    code, _, err = invoke("sweep", str(cfg), "--address", "tls://127.0.0.1:1")
    assert code == 2
    assert_one_line(err, "--tls-dir")
    assert not (tmp_path / "a.zarr").exists()


def test_file_parented_and_read_only_store_paths(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    code, _, err = invoke("sweep", str(config(tmp_path, tmp_path / "file.txt" / "s.zarr")))
    assert code == 3
    assert_one_line(err, "is a file, not a folder")
    code, _, err = invoke("sweep", str(config(tmp_path, tmp_path / "file.txt")))
    assert code == 3 and "is a file" in err
    code, _, err = invoke("sweep", str(config(tmp_path, "/proc/statmech-test.zarr")))
    assert code == 3
    assert_one_line(err, "cannot write the store", "choose a writable store path")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_unwritable_store_path_as_another_user() -> None:
    import shutil
    import tempfile

    from statmech.errors import StoreError
    from statmech.guard import check_writable

    top = Path(tempfile.mkdtemp(prefix="statmech-ro-"))  # pytest's tmp_path is root-only
    try:
        top.chmod(0o755)
        folder = top / "ro"
        folder.mkdir(mode=0o555)
        cfg = config(top, folder / "s.zarr")
        cfg.chmod(0o644)
        code, _, err = invoke("check", str(cfg))  # imports what the command needs, as root
        assert code == 0, err
        os.seteuid(65534)  # nobody: the folder's permissions apply (root ignores them)
        try:
            with pytest.raises(StoreError, match="permission denied"):
                check_writable(folder / "s.zarr")
            code, _, err = invoke("sweep", str(cfg))
        finally:
            os.seteuid(0)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    if "ModuleNotFoundError" not in err:  # else nobody cannot read this Python installation
        assert code == 3, err
        assert_one_line(err, "permission denied", "cannot write the store")


def test_garbage_lock_file(tmp_path: Path) -> None:
    store = tmp_path / "g.zarr"
    cfg = config(tmp_path, store)
    lock = lock_path(store)
    lock.write_bytes(b"\x00garbage\xff")
    code, _, err = invoke("sweep", str(cfg))  # fresh garbage: maybe a lock being written
    assert code == 3
    assert_one_line(err, "not a statmech lock", "remove it")
    from rich.console import Console

    from statmech.guard import clear_garbage_lock

    old = time.time() - 3600
    os.utime(lock, (old, old))
    clear_garbage_lock(lock, Console(stderr=True))
    assert not lock.exists()  # old garbage is taken over
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                "since": "now"}))
    os.utime(lock, (old, old))
    clear_garbage_lock(lock, Console(stderr=True))
    assert lock.exists()  # a valid lock is left to store_lock
    code, _, err = invoke("sweep", str(cfg))
    assert code == 3
    assert_one_line(err, "being computed by pid")


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    code, _, err = invoke("--verbose", "drift", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 2 and "Traceback" in err and "does not exist" in err


def test_summary_counts_units_of_a_lost_attempt_as_computed() -> None:
    from statmech.cli import _print_summary, console

    with console.capture() as cap:
        _print_summary({"store": "s", "total": 20, "skipped": 4, "computed": 10, "failed": 0,
                        "missing": 0, "batches": 5}, 1.0)
    rows = {ln.split("│")[1].strip(): ln.split("│")[2].strip()
            for ln in cap.get().splitlines() if ln.count("│") == 3}
    assert rows["skipped"] == "4" and rows["computed"] == "16"
    assert rows["wall time"] == "1.0 s" and "cluster busy" not in rows


def test_summary_splits_the_wall_time_and_shows_how_busy_the_cluster_was() -> None:
    from statmech.cli import _print_summary, console

    with console.capture() as cap:
        _print_summary({"store": "s", "total": 2560, "skipped": 0, "computed": 2560,
                        "failed": 0, "missing": 0, "batches": 639, "wall_seconds": 20.5,
                        "worker_threads": 128, "compute_seconds": 2560.3,
                        "busy": 2560.3 / (128 * 20.5)}, 24.5)
    rows = {ln.split("│")[1].strip(): ln.split("│")[2].strip()
            for ln in cap.get().splitlines() if ln.count("│") == 3}
    assert rows["wall time"] == "24.5 s: start-up 4.0 s, sweep 20.5 s"
    assert rows["cluster busy"] == "98% of 128 worker threads (2560 s of unit compute)"


def test_reordered_axis_values_resume_the_same_store(tmp_path: Path) -> None:
    """The same axis values in another order (or other batch settings) are the same units."""
    from statmech.plan import preflight

    store = tmp_path / "o.zarr"
    prepare(parse_config(ISING.format(store=store)))
    reordered = parse_config(ISING.replace("[2.0, 2.5]", "[2.5, 2.0]").format(store=store))
    assert preflight(reordered) == "same"
    more = parse_config(ISING.replace("[2.0, 2.5]", "[2.5, 2.0, 3.0]").format(store=store))
    with pytest.raises(StoreMismatchError, match="--extend"):
        preflight(more)
    assert preflight(more, extend=True) == "extends"


def test_tls_dir_without_certificates(tmp_path: Path) -> None:
    cfg = config(tmp_path, tmp_path / "t.zarr")
    code, _, err = invoke("sweep", str(cfg), "--address", "tls://127.0.0.1:1", "--tls-dir",
                          str(tmp_path / "nocerts"))
    assert code == 2
    assert_one_line(err, "ca.pem is missing", "statmech certs")


def test_prefect_logs_no_traceback_of_an_error_the_command_reports() -> None:
    """A model's bad cost is found while planning, inside the flow: one line, not Prefect's
    traceback first (unless --verbose); an unexpected error keeps Prefect's log."""
    import logging

    from rich.console import Console

    from statmech.errors import InputError
    from statmech.guard import PREFECT_FLOW_RUNS, Failures

    log = logging.getLogger(PREFECT_FLOW_RUNS)
    failures = Failures(Console(stderr=True))

    def logged(exc: BaseException) -> bool:
        seen: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = seen.append  # type: ignore[method-assign]
        log.addHandler(handler)  # Prefect's loggers do not propagate to pytest's
        try:
            log.error("Encountered exception during execution", exc_info=exc)
        finally:
            log.removeHandler(handler)
        return bool(seen)

    failures.interruptible("s.zarr", "statmech sweep x.yaml")
    try:
        assert not logged(InputError("m.cost({'i': 2}) returned nan"))
        assert logged(RuntimeError("a bug"))
        failures.verbose = True
        assert logged(InputError("m.cost({'i': 2}) returned nan"))
    finally:
        failures.done_interruptible()
    failures.verbose = False
    assert logged(InputError("outside a run"))
