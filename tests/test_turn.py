"""ICE servers from settings: TURN credentials in coturn's use-auth-secret scheme, and no
public STUN server unless one is configured. The relay-only call through a real coturn is
in tests/test_turn_relay.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from signaling.ice import IceSettings, ice_servers, rtc_configuration, turn_credentials
from tests.conftest import Clock
from tests.test_session_support import Interviews, two_interviews  # noqa: F401 - fixture
from web.settings import Settings


def test_turn_credentials_follow_the_rest_api_scheme() -> None:
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    username, password = turn_credentials("shared-secret", "7-12", expires)
    assert username == f"{int(expires.timestamp())}:7-12"
    digest = hmac.new(b"shared-secret", username.encode(), hashlib.sha1).digest()
    assert password == base64.b64encode(digest).decode()


def test_no_ice_server_is_used_unless_configured() -> None:
    now = datetime.now(UTC)
    assert ice_servers(IceSettings(), "x", now) == []
    # aiortc would fall back to a public STUN server when given None; we always pass a list.
    assert rtc_configuration(IceSettings(), "x", now).iceServers == []
    # A TURN URL without its secret is not offered (it could not authenticate).
    assert ice_servers(IceSettings(turn_urls=("turn:127.0.0.1:3478",)), "x", now) == []


@pytest.fixture(name="settings")
def turn_settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings with one STUN and one TURN server and a 10-minute credential lifetime."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        stun_urls=["stun:127.0.0.1:3478"],
        turn_urls=["turn:127.0.0.1:3478?transport=udp"],
        turn_secret="shared-secret",
        turn_credential_seconds=600,
        ice_relay_only=True,
    )


async def test_each_person_gets_short_lived_turn_credentials(
    client: TestClient[Any, Any], interviews: Interviews, clock: Clock
) -> None:
    a = interviews.a
    exchanged = await client.post(
        f"/api/sessions/{a.interview_id}/passes", json={"token": a.tokens["consul"]}
    )
    assert exchanged.status == 200
    config = await (await client.get(f"/api/sessions/{a.interview_id}/config")).json()
    assert config["ice_transport_policy"] == "relay"
    stun, turn = config["ice_servers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    expiry, label = turn["username"].split(":")
    assert int(expiry) == int((clock.now + timedelta(seconds=600)).timestamp())
    assert label == f"{a.interview_id}-{a.participants['consul']}"
    expected = hmac.new(b"shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(expected).decode()
