"""Bad input and abuse of join links and the signalling socket: each refused, nothing changed,
other sessions untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.protocol import MAX_MESSAGE_BYTES, MAX_STRIKES
from signaling.records import session_events
from tests.conftest import Clock
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    connect,
    joined,
    media_participants,
    session_settings,
    two_interviews,
)


async def _pass_status(
    client: TestClient[Any, Any], interview_id: int, token: str
) -> tuple[int, str]:
    response = await client.post(f"/api/sessions/{interview_id}/passes", json={"token": token})
    body = await response.json()
    return response.status, body.get("error", {}).get("code", "")


async def test_a_link_for_interview_a_opens_nothing_of_interview_b(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a, b = interviews.a, interviews.b
    assert await _pass_status(client, b.interview_id, a.tokens["consul"]) == (
        403,
        "other_interview",
    )
    assert "consulink_pass_" not in str(
        client.session.cookie_jar.filter_cookies(client.make_url("/"))
    )

    intruder = await connect(client, b.interview_id, a.tokens["consul"], "Intruder")
    assert (await intruder.expect("error"))["code"] == "other_interview"
    assert await intruder.closed() == 4403
    async with db() as session:
        assert await session_events(session, b.interview_id) == []

    # A's own pass does not open B either: cookies are per interview.
    assert await _pass_status(client, a.interview_id, a.tokens["consul"]) == (200, "")
    config = await client.get(f"/api/sessions/{b.interview_id}/config")
    assert config.status == 401
    assert (await client.get(f"/api/sessions/{a.interview_id}/config")).status == 200


async def test_links_outside_their_window_or_altered_are_refused(
    client: TestClient[Any, Any], interviews: Interviews, clock: Clock
) -> None:
    a = interviews.a
    token = a.tokens["interpreter"]
    payload, signature = token.split(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert await _pass_status(client, a.interview_id, tampered) == (404, "invalid_link")
    assert await _pass_status(client, a.interview_id, "not-a-token") == (404, "invalid_link")
    assert (await client.post(f"/api/sessions/{a.interview_id}/passes", json={})).status == 400

    clock.advance(hours=-1)  # more than half an hour before the start
    assert await _pass_status(client, a.interview_id, token) == (403, "not_yet")
    early = await connect(client, a.interview_id, token, "Early")
    assert (await early.expect("error"))["code"] == "not_yet"

    clock.advance(hours=5)  # more than two hours after the end
    assert await _pass_status(client, a.interview_id, token) == (403, "expired")
    late = await connect(client, a.interview_id, token, "Late")
    assert (await late.expect("error"))["code"] == "expired"

    tampered_join = await connect(client, a.interview_id, tampered, "Forger")
    assert (await tampered_join.expect("error"))["code"] == "invalid_link"


async def test_a_socket_without_a_link_or_sign_in_gets_nothing(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    anonymous = await connect(client, interviews.a.interview_id, None, "Nobody")
    assert (await anonymous.expect("error"))["code"] == "unauthorized"
    assert await anonymous.closed() == 4401


async def test_cross_site_sockets_are_refused(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    response = await client.get(
        f"/session/{interviews.a.interview_id}/ws",
        headers={
            "Origin": "https://evil.example",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403


async def test_people_in_the_lobby_cannot_send_offers(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")  # the host has not opened the session
    await consul.send({"type": "offer", "to": host.peer, "sdp": "v=0"})
    assert (await consul.expect("error"))["code"] == "not_admitted"
    await consul.send({"type": "offer", "to": "server", "sdp": "v=0"})
    assert (await consul.expect("error"))["code"] == "not_admitted"
    await host.latest("roster")
    assert not [m for m in host.received if m["type"] == "offer"]


async def test_a_peer_of_another_session_cannot_be_addressed(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a, b = interviews.a, interviews.b
    host_a = await joined(client, a, "staff")
    host_b = await joined(client, b, "staff")
    await host_a.send({"type": "open"})
    await host_b.send({"type": "open"})
    await host_a.expect("admitted")
    await host_a.send({"type": "offer", "to": host_b.peer, "sdp": "v=0 hijack"})
    assert (await host_a.expect("error"))["code"] == "unknown_peer"
    await host_b.latest("roster")
    assert not [m for m in host_b.received if m["type"] == "offer"]


async def test_a_message_over_the_size_limit_closes_with_1009(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    consul = await joined(client, interviews.a, "consul")
    await consul.ws.send_str(json.dumps({"type": "chat", "text": "x" * (MAX_MESSAGE_BYTES + 1)}))
    assert await consul.closed() == 1009


async def test_a_thousand_malformed_messages_cut_the_sender_off_and_others_carry_on(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a, b = interviews.a, interviews.b
    host_a = await joined(client, a, "staff")
    flooder = await joined(client, a, "consul")
    bystander = await joined(client, b, "staff")
    bad = ["{", "[]", '{"type": "nope"}', '{"type": "chat"}', '{"type": "media", "audio": 1}']
    for index in range(MAX_STRIKES):
        await flooder.ws.send_str(bad[index % len(bad)])
    assert await flooder.closed() == 1008
    errors = [m for m in flooder.received if m["type"] == "error"]
    assert errors and {e["code"] for e in errors} <= {"malformed", "rate_limited"}

    # The other session, and the flooder's own host, still work.
    await bystander.send({"type": "open"})
    assert (await bystander.expect("roster", state="open"))["state"] == "open"
    assert (await host_a.latest("roster"))["participants"][0]["role"] == "staff"
    async with db() as session:
        kinds = [e.kind for e in await session_events(session, a.interview_id)]
    assert "cut_off" in kinds


async def test_well_formed_messages_over_the_rate_are_dropped_and_a_flood_is_cut_off(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    """docs/signaling.md: 20 a second on average, bursts of 100; extra messages dropped
    unread with at most one `rate_limited` error a second; each drop is a strike."""
    a = interviews.a
    host = await joined(client, a, "staff")
    await host.send({"type": "open"})
    consul = await joined(client, a, "consul")
    await consul.expect("admitted")  # so its media state is told to the call
    started = time.monotonic()
    for _ in range(300):
        await consul.send({"type": "ping"})
    await asyncio.sleep(1.2)  # the bucket refills: the connection carries on
    await consul.send({"type": "media", "audio": False, "video": False})
    await consul.expect("media", audio=False)
    elapsed = time.monotonic() - started
    pongs = [m for m in consul.received if m["type"] == "pong"]
    limited = [m for m in consul.received if m["type"] == "error"]
    assert {m["code"] for m in limited} == {"rate_limited"}
    assert 1 <= len(limited) <= elapsed + 1
    assert 99 <= len(pongs) < 100 + 20 * elapsed < 300  # the join took one of the 100

    # A sustained flood runs out of strikes: cut off like any other abuse.
    flooder = await joined(client, a, "interpreter")
    for _ in range(MAX_STRIKES + 200):
        await flooder.send({"type": "ping"})
    assert await flooder.closed() == 1008
    await consul.send({"type": "ping"})
    await consul.expect("pong")


async def test_messages_are_validated_field_by_field(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    consul = await joined(client, interviews.a, "consul")
    await consul.send({"type": "chat", "text": ""})
    error = await consul.expect("error")
    assert error["code"] == "malformed" and error["in_reply_to"] == "chat"
    assert error["message"].startswith("chat.text")
    await consul.send({"type": "candidate", "to": "../../etc", "candidate": None})
    assert (await consul.expect("error"))["code"] == "malformed"
    await consul.ws.send_bytes(b"\x00\x01")
    assert (await consul.expect("error"))["code"] == "malformed"
    await consul.send(
        {"type": "join", "name": "Again", "language": "en", "consent_recording": True}
    )
    assert (await consul.expect("error"))["code"] == "already_joined"
    await consul.send({"type": "ping"})
    await consul.expect("pong")  # still connected: a few bad messages are only refused


async def test_joining_without_consent_to_recording_is_refused(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    ws = await client.ws_connect(f"/session/{a.interview_id}/ws")
    await ws.send_json(
        {
            "type": "join",
            "name": "X",
            "language": "en",
            "consent_recording": False,
            "token": a.tokens["consul"],
        }
    )
    reply = await ws.receive_json(timeout=15)
    assert reply["code"] == "malformed" and "consent_recording" in reply["message"]


async def test_a_bad_candidate_or_offer_to_the_server_is_refused_and_the_socket_stays(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    await host.send({"type": "open"})
    await host.expect("admitted")
    consul = await joined(client, a, "consul")
    await consul.expect("admitted")
    participants.append(MediaParticipant(consul, video=False))
    await participants[0].start()
    for line in ["garbage", "candidate:1 1 udp notanint 1.2.3.4 5 typ host"]:
        candidate = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}
        await consul.send({"type": "candidate", "to": "server", "candidate": candidate})
        assert (await consul.expect("error"))["code"] == "bad_candidate"
    bad_offer = (
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio x UDP/TLS/RTP/SAVPF 111\r\n"
    )
    await consul.send({"type": "offer", "to": "server", "sdp": bad_offer})
    assert (await consul.expect("error"))["code"] == "bad_offer"
    await consul.send({"type": "ping"})
    await consul.expect("pong")  # still connected, still in the room
    roster = await host.latest("roster")
    assert [p["role"] for p in roster["participants"]] == ["staff", "consul"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_only_people_in_the_call_add_reports_and_chat_within_their_caps(
    client: TestClient[Any, Any],
    interviews: Interviews,
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/signaling.md: quality and restart need admission and name someone in the
    call; one of each per peer every 5 s; at most MAX_CHAT_MESSAGES chat messages each
    (lowered to 3 here so the test need not send 500)."""
    a, b = interviews.a, interviews.b
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")  # in the lobby
    for message in (
        {"type": "quality", "peer": host.peer, "level": "poor"},
        {"type": "restart", "peer": host.peer},
    ):
        await consul.send(message)
        assert (await consul.expect("error"))["code"] == "not_admitted"

    await host.send({"type": "open"})
    await consul.expect("admitted")
    other = await joined(client, b, "staff")
    for peer in (other.peer, consul.peer, "server"):  # another session's, their own, none
        await consul.send({"type": "quality", "peer": peer, "level": "poor"})
        assert (await consul.expect("error"))["code"] == "unknown_peer"
    await consul.send({"type": "quality", "peer": host.peer, "level": "poor"})
    await consul.send({"type": "quality", "peer": host.peer, "level": "good"})
    assert (await consul.expect("error"))["code"] == "too_frequent"
    clock.advance(seconds=5)
    await consul.send({"type": "quality", "peer": host.peer, "level": "good"})
    await consul.send({"type": "restart", "peer": host.peer})

    monkeypatch.setattr("signaling.rooms.MAX_CHAT_MESSAGES", 3)
    for index in range(4):
        await consul.send({"type": "chat", "text": f"message {index}"})
    assert (await consul.expect("error"))["code"] == "chat_limit"
    await host.latest("chat")
    assert [m["text"] for m in host.received if m["type"] == "chat"] == [
        "message 0",
        "message 1",
        "message 2",
    ]
    async with db() as session:
        kinds = [e.kind for e in await session_events(session, a.interview_id)]
    assert kinds.count("quality") == 2 and kinds.count("restart") == 1
