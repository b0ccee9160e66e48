"""Shared fixtures: an isolated Prefect home and one temporary Prefect API server per session.

The environment is set when this file is imported, before any test module imports Prefect
(Prefect reads its settings at import time).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PREFECT_HOME = tempfile.mkdtemp(prefix="statmech-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.pop("PREFECT_API_URL", None)
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["DASK_LOGGING__DISTRIBUTED"] = "warning"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"  # no log flush to a stopped server at exit


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One real temporary Prefect API server for all flow tests (PREFECT_API_URL exported)."""
    from statmech.cluster import prefect_api

    with prefect_api() as url:
        yield url
