"""The access log of `consulink serve` never holds a join token or a query string: both can
carry credentials (the join link is the person's key to the interview), and logs are kept,
copied and read far more widely than the database.

A real `consulink serve` process runs with Python logging sent to stderr at INFO, as a
deployment would configure it; the test opens a join link, the same link with a query,
and other addresses with queries, then reads every line the server wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.test_session_support import (  # noqa: F401 - fixtures
    SECRET,
    Interviews,
    session_settings,
    two_interviews,
)
from web.settings import Settings

# What a deployment does before starting the server: log INFO and above to stderr.
SERVE_WITH_LOGGING = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
    "from web.cli import main; "
    "sys.exit(main(sys.argv[1:]))"
)
QUERY_SECRET = "query-secret-4f1c"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_until_up(
    http: aiohttp.ClientSession, base: str, server: asyncio.subprocess.Process
) -> None:
    async with asyncio.timeout(60):
        while True:
            assert server.returncode is None, "consulink serve exited"
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_the_access_log_never_holds_a_join_token_or_a_query(
    tmp_path: Path, settings: Settings, interviews: Interviews
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "CONSULINK_DATA_DIR": str(tmp_path / "served"),
        "CONSULINK_DATABASE_URL": settings.resolved_database_url,
        "CONSULINK_SECRET_KEY": SECRET.decode(),
        "CONSULINK_JOBS_POLL_SECONDS": "3600",
    }
    log_path = tmp_path / "serve.log"
    a = interviews.a
    token = a.tokens["consul"]
    with log_path.open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SERVE_WITH_LOGGING,
            "serve",
            "--port",
            str(port),
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_until_up(http, base, server)
            # The person's own link: exchanged for a pass, redirected to the session page.
            async with http.get(f"{base}/join/{token}", allow_redirects=False) as opened:
                assert opened.status == 303
                assert opened.headers["Location"] == f"/session/{a.interview_id}"
            # The same link with a query, a link that is not genuine, and queries elsewhere.
            async with http.get(f"{base}/join/{token}?lang=es&ref={QUERY_SECRET}") as response:
                assert response.status == 200
            async with http.get(f"{base}/join/{token}x{QUERY_SECRET}") as response:
                assert response.status in (200, 404)
            async with http.get(f"{base}/healthz?key={QUERY_SECRET}") as response:
                assert response.status == 200
            async with http.get(f"{base}/login?next=/cases%3Ftoken%3D{QUERY_SECRET}") as response:
                assert response.status < 500
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(20):
                    await server.wait()
            except TimeoutError:
                server.kill()
                await server.wait()

    lines = log_path.read_text(errors="replace").splitlines()
    access = [line for line in lines if "aiohttp.access" in line]
    # The requests were logged (so this checks something), with the token replaced.
    assert sum("/join/[token]" in line for line in access) >= 3, lines
    assert any('"GET /healthz"' in line for line in access), access
    assert any("/login" in line for line in access), access
    for line in lines:  # nothing the server wrote, access log or not
        assert token not in line, line
        assert QUERY_SECRET not in line, line
    for line in access:
        assert "?" not in line, line
