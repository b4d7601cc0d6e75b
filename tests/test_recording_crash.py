"""A crash mid-call: a real `consulink serve` process is killed with SIGKILL while three
participants send media; what it recorded up to the last two seconds still plays.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.records import recordings
from tests.test_session_support import (  # noqa: F401 - fixtures
    SECRET,
    Interviews,
    MediaParticipant,
    Signal,
    duration_of,
    media_participants,
    session_settings,
    two_interviews,
)
from web.settings import Settings

# Long enough that "plays to within 2 s of the kill" says something: a file cut after
# the first segment would fail it.
MEDIA_S = 8.0
LOSS_ALLOWED_S = 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_until_up(base: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(60):
        while True:
            assert process.returncode is None, "consulink serve exited"
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_a_killed_server_leaves_recordings_that_play_up_to_the_last_two_seconds(
    tmp_path: Path,
    settings: Settings,
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
) -> None:
    port = _free_port()
    data_dir = tmp_path / "served"
    environment = {
        **os.environ,
        "CONSULINK_DATA_DIR": str(data_dir),
        "CONSULINK_DATABASE_URL": settings.resolved_database_url,
        "CONSULINK_SECRET_KEY": SECRET.decode(),
        "CONSULINK_ICE_LOOPBACK": "true",
        "CONSULINK_JOBS_POLL_SECONDS": "3600",
    }
    base = f"http://127.0.0.1:{port}"
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "serve",
        "--port",
        str(port),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    a = interviews.a
    try:
        await _wait_until_up(base, server)
        async with aiohttp.ClientSession() as http:
            signals: list[Signal] = []
            for role in ("staff", "consul", "interpreter"):
                ws = await http.ws_connect(f"{base}/session/{a.interview_id}/ws")
                joined = Signal(ws)
                await joined.send(
                    {
                        "type": "join",
                        "name": role,
                        "language": "en",
                        "consent_recording": True,
                        "token": a.tokens[role],
                    }
                )
                await joined.expect("welcome")
                signals.append(joined)
            await signals[0].send({"type": "open"})
            for joined in signals:
                await joined.expect("connect")
                participants.append(MediaParticipant(joined))
            await asyncio.gather(*(p.start() for p in participants))
            await asyncio.gather(*(p.connected() for p in participants))
            started = time.monotonic()
            await asyncio.sleep(MEDIA_S)
            server.send_signal(signal.SIGKILL)
            sent_s = time.monotonic() - started
            async with asyncio.timeout(10):
                await server.wait()
    finally:
        if server.returncode is None:
            server.kill()
            async with asyncio.timeout(10):
                await server.wait()

    async with db() as session:
        rows = await recordings(session, a.interview_id)
    assert sorted(r.kind for r in rows) == ["audio"] * 3 + ["video"] * 3
    assert all(r.ended_at is None for r in rows)  # nobody got to finish them
    for row in rows:
        played = duration_of(data_dir / "recordings" / row.path)
        assert played >= sent_s - LOSS_ALLOWED_S, (row.kind, played, sent_s)
