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


def test_temporary_server_is_out_of_reach_of_a_terminal_ctrl_c(prefect_server: str) -> None:
    """It runs in its own session (Ctrl-C reaches only the client, which stops it)."""
    import os
    from pathlib import Path

    port = prefect_server.rsplit(":", 1)[1].split("/")[0]
    mine = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmd = cmdline.read_bytes().split(b"\0")
            stat = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"uvicorn" in b" ".join(cmd) and port.encode() in cmd and int(stat[1]) == os.getpid():
            mine.append(int(cmdline.parent.name))
    assert len(mine) == 1
    assert os.getsid(mine[0]) == mine[0] != os.getsid(0)


def test_the_api_url_reaches_fresh_threads_and_the_global_settings_are_put_back() -> None:
    """Prefect's event worker may start in a thread with a fresh context: it must see the URL.

    Without it, events (task runs included) went to an API server Prefect started by itself.
    """
    import threading

    import prefect.context
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from statmech.cluster import prefect_api

    url = "http://127.0.0.1:9/api"  # a configured URL: never contacted here
    before = prefect.context.GLOBAL_SETTINGS_CONTEXT
    seen: list[str | None] = []
    with temporary_settings(updates={PREFECT_API_URL: url}), prefect_api() as api:
        thread = threading.Thread(target=lambda: seen.append(get_current_settings().api.url))
        thread.start()
        thread.join()
    assert api == url and seen == [url]
    assert prefect.context.GLOBAL_SETTINGS_CONTEXT is before


def test_the_server_port_is_free_and_below_the_ports_handed_out_for_port_0() -> None:
    """Dask's workers bind port 0 while the server starts: they cannot take its port."""
    import socket

    from statmech.cluster import _EPHEMERAL_RANGE, _free_port

    low = int(_EPHEMERAL_RANGE.read_text().split()[0]) if _EPHEMERAL_RANGE.exists() else 49152
    ports = {_free_port() for _ in range(20)}
    assert all(1024 <= p < low for p in ports), (low, ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
