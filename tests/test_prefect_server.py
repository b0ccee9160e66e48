"""Prefect's embedded API server really starts (fastapi pins have broken it before)."""

from __future__ import annotations

import httpx


def test_temporary_server_starts_and_answers(prefect_server: str) -> None:
    response = httpx.get(f"{prefect_server}/health", timeout=30)
    assert response.status_code == 200


def test_server_app_imports() -> None:
    # With fastapi >= 0.155 this import failed: Body() got an unexpected keyword 'min_items'.
    import prefect.server.api.server as server

    assert server.create_app is not None
