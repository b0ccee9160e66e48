"""How the command line fails: one line naming the problem and the fix, and an exit code.

:func:`guarded` wraps every command: a :class:`~statmech.errors.StatmechError` (and the few
foreign exceptions with a known meaning: store busy or mismatched, file-system and network
errors) becomes one line on stderr and its exit code; anything else is an internal error
(exit code 5) reported the same way. ``statmech --verbose`` adds the traceback.

:meth:`Failures.interruptible` makes Ctrl-C and SIGTERM stop a running sweep within a second:
one line, the store's lock released, exit code 130 (SIGINT) or 143 (SIGTERM). Units already
stored are kept (every unit is written values first, ``done`` flag last, so a unit cut short is
just recomputed by the next run); worker processes and the temporary Prefect server end with
this process.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console

from statmech.errors import (
    EXIT_CLUSTER,
    EXIT_INTERRUPTED,
    EXIT_STORE,
    InputError,
    StatmechError,
    StoreError,
)

EXIT_INTERNAL = 5
#: the logger Prefect reports a flow run's exception on
PREFECT_FLOW_RUNS = "prefect.flow_runs"
#: an unreadable lock file older than this is taken over (a live writer fills it at once)
GARBAGE_LOCK_AGE = 30.0
_STORE_ERRORS = ("StoreMismatchError", "StoreBusyError", "StoreCorruptError")
_FS_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR,
              errno.EISDIR, errno.EEXIST, errno.EDQUOT, errno.ENOENT}


def short(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type if it has none), cut to ``limit``."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, KeyError | OSError) and not isinstance(exc, ConnectionError):
        first = f"{type(exc).__name__}: {first}"
    return first if len(first) <= limit else first[: limit - 3] + "..."


def describe(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message (with the fix) of an exception escaping a command."""
    from statmech.config import ConfigError

    if isinstance(exc, ConfigError):
        return exc.exit_code, f"Invalid sweep file {exc}"
    if isinstance(exc, StatmechError):
        return exc.exit_code, str(exc)
    if type(exc).__name__ in _STORE_ERRORS:
        return EXIT_STORE, f"store refused: {exc}"
    if isinstance(exc, ConnectionError | TimeoutError):
        return EXIT_CLUSTER, (f"network: {short(exc)}; check that the scheduler and the Prefect "
                              "API are running and reachable")
    if isinstance(exc, OSError) and exc.errno in _FS_ERRNOS:
        where = f" {exc.filename}" if exc.filename else ""
        return EXIT_STORE, (f"cannot write or read{where}: {exc.strerror}; choose a path on a "
                            "writable file system with free space")
    if isinstance(exc, OSError) and "connect" in str(exc).lower():
        return EXIT_CLUSTER, f"network: {short(exc)}; check the scheduler address"
    return EXIT_INTERNAL, (f"internal error: {type(exc).__name__}: {short(exc)} (rerun with "
                           "`statmech --verbose ...` for the traceback and report it)")


class Failures:
    """Where errors go (a stderr console), whether tracebacks are shown, interrupt handling."""

    def __init__(self, console: Console):
        self.console = console
        self.verbose = False
        self._store: str | None = None
        self._rerun = ""
        self._old: dict[int, Any] = {}
        #: run (best effort) before the interrupt line is printed, e.g. stop a progress bar
        self.cleanups: list[Callable[[], Any]] = []

    def fail(self, code: int, message: str, exc: BaseException | None = None) -> None:
        """Print the message (and the traceback when verbose), exit with ``code``."""
        if self.verbose and exc is not None:
            traceback.print_exception(exc, file=sys.stderr)
        self.console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
        raise typer.Exit(code)

    # ------------------------------------------------------------------ interrupts
    def interruptible(self, store: str, rerun: str) -> None:
        """Until :meth:`done_interruptible`: SIGINT/SIGTERM end the process at once, cleanly."""
        self._store, self._rerun = store, rerun
        # the resource tracker of the worker processes outlives us by a moment and would warn
        # about their semaphores (which it then cleans up): keep that off the one-line report
        quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
        if quiet not in sys.warnoptions:
            sys.warnoptions.append(quiet)
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._on_signal)
        _keep_prefect_off_sigterm()
        logging.getLogger(PREFECT_FLOW_RUNS).addFilter(self._not_reported_here)

    def _not_reported_here(self, record: logging.LogRecord) -> bool:
        """Keep Prefect from logging the traceback of an error reported here in one line.

        E.g. a model's bad cost found while planning, in the flow; ``--verbose`` keeps it.
        """
        exc = record.exc_info[1] if record.exc_info else None
        return self.verbose or not isinstance(exc, StatmechError)

    def done_interruptible(self) -> None:
        """Restore the signal handlers of before :meth:`interruptible`."""
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
        logging.getLogger(PREFECT_FLOW_RUNS).removeFilter(self._not_reported_here)
        self._store = None
        self.cleanups.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        code = EXIT_INTERRUPTED if signum == signal.SIGINT else 128 + signum
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        store = self._store
        done = ""
        for cleanup in self.cleanups:
            try:
                cleanup()
            except Exception:  # best effort: nothing may stop the exit
                pass
        try:
            if store:
                release_own_lock(store)
                done = _done_count(store)
        except Exception:  # best effort: nothing may stop the exit
            pass
        try:
            self.console.print(f"[bold red]interrupted[/] ({name}): {done}units already stored "
                               f"in {store} are kept; rerun `{self._rerun}` to compute the rest.",
                               highlight=False)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            # worker processes watch this process and end with it; the temporary Prefect server
            # gets SIGTERM from the kernel (PR_SET_PDEATHSIG)
            os._exit(code)


def _keep_prefect_off_sigterm() -> None:
    """Stop Prefect's flow engine from replacing our SIGTERM handler while the flow runs.

    Prefect swaps in a handler that raises ``TerminationSignal`` through the flow for a graceful
    shutdown, which takes minutes with a busy cluster; this process is the flow's own process
    (no Prefect runner sends it signals), so our immediate, lock-releasing exit is kept instead.
    """
    import contextlib

    try:
        import prefect.flow_engine as engine
    except ImportError:  # pragma: no cover
        return
    if hasattr(engine, "capture_sigterm"):
        engine.capture_sigterm = contextlib.nullcontext  # type: ignore[assignment]


def _done_count(store: str) -> str:
    import numpy as np
    import zarr

    done = np.asarray(zarr.open_array(Path(store) / "done", mode="r")[...], dtype=bool)
    return f"{int(done.sum())} of {done.size} "


def release_own_lock(store: str) -> None:
    """Remove the store's lock file if this process holds it."""
    from statmech.store import lock_path

    path = lock_path(store)
    try:
        owner = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(owner, dict) and owner.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def guarded(f: Callable[..., Any], failures: Failures) -> Callable[..., Any]:
    """Wrap a command: errors become one line and an exit code (see :func:`describe`)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt as exc:
            failures.fail(EXIT_INTERRUPTED, "interrupted (Ctrl-C)", exc)
        except Exception as exc:
            import click

            if isinstance(exc, click.exceptions.ClickException):
                raise
            code, message = describe(exc)
            failures.fail(code, message, exc)
        return None

    return wrapper


# ---------------------------------------------------------------------- store path checks
def check_writable(store: Path) -> None:
    """Refuse a store path that cannot be created or written, naming the reason."""
    p = store.absolute()
    if p.exists() and not p.is_dir():
        raise StoreError(f"store path {store} is a file, not a folder; choose another path")
    ancestor = p.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise StoreError(f"store path {store}: {ancestor} is a file, not a folder; choose "
                         "another store path")
    probe_dir = p if p.exists() else ancestor
    probe = probe_dir / f".statmech-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        why = {errno.EROFS: "the file system is read-only",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.ENOSPC: "no space left"}.get(exc.errno or 0, exc.strerror)
        raise StoreError(f"cannot write the store {store} ({why} in {probe_dir}); choose a "
                         "writable store path with --store or in the sweep file") from None


def clear_garbage_lock(lock: Path, console: Console) -> None:
    """Take over a lock file whose content is unreadable and older than a few seconds.

    A live sweep writes its host and pid right after creating the lock; a lock that still holds
    no valid owner later was left by a crash or written by something else.
    """
    try:
        text = lock.read_bytes()[:4096]
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return
    try:
        owner = json.loads(text)
        if isinstance(owner, dict) and "pid" in owner and "host" in owner:
            return
    except ValueError:
        pass
    if age < GARBAGE_LOCK_AGE:
        raise StoreError(f"{lock} is not a statmech lock (unreadable content, "
                         f"{age:.0f} s old); if no sweep is running, remove it and rerun")
    lock.unlink(missing_ok=True)
    console.print(f"[yellow]removed the unreadable lock file {lock} "
                  f"({age:.0f} s old, no owner recorded)[/]", highlight=False)


def require_store(path: Path, need_done: bool = False) -> None:
    """Refuse (exit 2 or 3) a path that is not a readable statmech store, in one line."""
    if not path.exists():
        raise InputError(f"{path} does not exist; give the path of a statmech store "
                         "(the store: of the sweep file)")
    if not (path / "zarr.json").is_file():
        raise InputError(f"{path} is not a statmech store (no zarr.json); give the path of a "
                         "store written by `statmech sweep`")
    fix = (f"the store is corrupt or incomplete: run `statmech verify {path}`, or move it "
           "away and rerun the sweep")
    try:
        attrs = json.loads((path / "zarr.json").read_bytes()).get("attributes", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise StoreError(f"{path}/zarr.json cannot be read ({short(exc)}); {fix}") from None
    if "statmech_schema" not in attrs:
        raise InputError(f"{path} is a zarr store but not a statmech store (no "
                         "statmech_schema attribute)")
    for meta in sorted(path.glob("*/zarr.json")):  # each array's own metadata (a few files)
        try:
            json.loads(meta.read_bytes())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{meta} cannot be read ({short(exc)}); {fix}") from None
    try:
        from statmech.store import Store, open_dataset

        ds = open_dataset(path)
        done = Store(path).done_mask()
        del ds
    except Exception as exc:
        raise StoreError(f"{path} cannot be read ({short(exc)}); {fix}") from None
    if need_done and not done.any():
        raise StoreError(f"{path} has no finished units yet; run the sweep first (`statmech "
                         "sweep CONFIG`), or wait for the running one")
