"""The library's errors: one base class, one subclass per kind of problem, one exit code each.

Callers catch :class:`StatmechError` for anything the library reports on purpose; the command
line turns each kind into a one-line message and a documented exit code (README, "Exit codes"):

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     the sweep finished but some units failed or are missing; drift found
2     bad input: sweep file, arguments, a path that is not a store
3     the store is busy (another sweep), belongs to another sweep, is corrupt or unwritable
4     cluster or network: the scheduler or the Prefect API cannot be reached
130   interrupted (Ctrl-C or SIGTERM); units already stored are kept
====  ==========================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED_UNITS = 1
EXIT_INPUT = 2
EXIT_STORE = 3
EXIT_CLUSTER = 4
EXIT_INTERRUPTED = 130


class StatmechError(Exception):
    """Base of every error statmech raises on purpose; ``exit_code`` is the CLI's exit code."""

    exit_code: int = EXIT_INPUT


class InputError(StatmechError, ValueError):
    """A bad argument or input file (exit code 2)."""

    exit_code = EXIT_INPUT


class LimitError(InputError):
    """A sweep beyond the size limits (units, memory, compute); override with ``limits:``."""


class StoreError(StatmechError):
    """A store that cannot be used: busy, from another sweep, corrupt, unwritable (exit code 3)."""

    exit_code = EXIT_STORE


class ClusterError(StatmechError):
    """The Dask scheduler or the Prefect API cannot be reached or refused us (exit code 4)."""

    exit_code = EXIT_CLUSTER


def truncate(text: object, limit: int = 80, quote: bool = True) -> str:
    """``repr`` of user input (``str`` with ``quote=False``), cut to ``limit`` characters."""
    s = repr(text) if quote or not isinstance(text, str) else text
    s = s.replace("\n", "\\n")
    return s if len(s) <= limit else s[: limit - 3] + "..."
