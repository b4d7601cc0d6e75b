"""Shared set-up for live-session stories: confirmed interviews with three people each,
signalling clients over a real WebSocket, and media participants that are real aiortc
RTCPeerConnections sending a synthetic video and a spoken WAV.

Import from here (`from tests.test_session_support import ...`).
"""

from __future__ import annotations

import asyncio
import fractions
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import VideoStreamTrack
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.cases import Case
from interviews.sharing import CaseShare
from scheduling.appointments import Interview, InterviewStatus, Participant, ParticipantRole
from scheduling.resources import VideoRoom
from scheduling.tokens import make_join_token
from signaling.ice import allow_loopback_candidates
from tests.conftest import Clock, World
from web.settings import Settings

SPEECH = Path(__file__).parent / "fixtures" / "speech" / "consulate.wav"
SECRET = b"test-secret-key-not-for-production"
WAIT_S = 15.0


@pytest.fixture(name="settings")
def session_settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings with loopback ICE (the only network here) and no STUN."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=SECRET.decode(),
        ice_loopback=True,
    )


@dataclass
class Booked:
    """One confirmed interview and its people's join tokens, by role."""

    interview_id: int
    tokens: dict[str, str]
    participants: dict[str, int]


async def book(
    session: AsyncSession, world: World, clock: Clock, reference: str, *, minutes_from_now: int = 5
) -> Booked:
    """A confirmed interview starting soon, with staff (host), consul and interpreter."""
    case = Case(
        reference=reference,
        facility_id=world.tapachula.id,
        claimed_nationality="IN",
        detention_date=date.today() - timedelta(days=10),
        deadline=date.today() + timedelta(days=30),
        given_names="Test",
        family_name="Person",
    )
    session.add(case)
    await session.flush()
    session.add(
        CaseShare(
            case_id=case.id,
            consulate_id=world.india.id,
            purpose="identification interview",
            legal_basis="consent",
            legal_basis_note="signed consent form",
        )
    )
    case_id = case.id
    room = VideoRoom(facility_id=world.tapachula.id, name=f"Room {reference}")
    session.add(room)
    await session.flush()
    starts = clock.now + timedelta(minutes=minutes_from_now)
    interview = Interview(
        case_id=case_id,
        consulate_id=world.india.id,
        facility_id=world.tapachula.id,
        consul_id=world.consul_india.id,
        interpreter_id=world.interpreter.id,
        language="pan",
        room_id=room.id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        busy_until=starts + timedelta(hours=1, minutes=15),
        status=InterviewStatus.CONFIRMED.value,
    )
    people = {
        ParticipantRole.STAFF.value: world.staff,
        ParticipantRole.CONSUL.value: world.consul_india,
        ParticipantRole.INTERPRETER.value: world.interpreter,
    }
    interview.participants = [
        Participant(role=role, user_id=user.id, name=user.name, email=user.email, language="en")
        for role, user in people.items()
    ]
    session.add(interview)
    await session.flush()
    return Booked(
        interview.id,
        {
            p.role: make_join_token(SECRET, interview.id, p.id, p.token_nonce)
            for p in interview.participants
        },
        {p.role: p.id for p in interview.participants},
    )


@dataclass
class Interviews:
    """Interview A (the one under test) and B (another session open at the same time)."""

    a: Booked
    b: Booked


@pytest.fixture(name="interviews")
async def two_interviews(
    db: async_sessionmaker[AsyncSession], world: World, clock: Clock
) -> Interviews:
    """Two confirmed interviews whose join windows are open now.

    B began 100 minutes ago (its link stays valid until two hours after its end), so the
    same consul and interpreter are never booked twice at once: PostgreSQL's exclusion
    constraints refuse that, as they should.
    """
    async with db() as session, session.begin():
        return Interviews(
            await book(session, world, clock, "A-1"),
            await book(session, world, clock, "B-1", minutes_from_now=-100),
        )


@dataclass
class Signal:
    """A signalling client on a real WebSocket; keeps every message it receives."""

    ws: ClientWebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)
    peer: str = ""

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message."""
        await self.ws.send_str(json.dumps(message))

    async def expect(self, kind: str, **match: Any) -> dict[str, Any]:
        """The next message of `kind` (matching fields), waiting at most WAIT_S."""
        for seen in self.received:
            if seen["type"] == kind and all(seen.get(k) == v for k, v in match.items()):
                self.received.remove(seen)
                return seen
        async with asyncio.timeout(WAIT_S):
            while True:
                frame = await self.ws.receive()
                if frame.type is not WSMsgType.TEXT:
                    raise AssertionError(f"socket closed waiting for {kind}: {frame}")
                message = json.loads(frame.data)
                if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                    return message
                self.received.append(message)

    async def latest(self, kind: str) -> dict[str, Any]:
        """The newest message of `kind` so far (after a ping round trip, so none is in flight)."""
        await self.send({"type": "ping"})
        await self.expect("pong")
        found = [m for m in self.received if m["type"] == kind]
        assert found, f"no {kind} received"
        return found[-1]

    async def closed(self) -> int:
        """Wait for the server to close the socket; its close code."""
        async with asyncio.timeout(WAIT_S):
            while True:
                frame = await self.ws.receive()
                if frame.type is WSMsgType.CLOSE:
                    return int(frame.data)
                if frame.type in (WSMsgType.CLOSED, WSMsgType.CLOSING):
                    return self.ws.close_code or 0
                if frame.type is WSMsgType.TEXT:
                    self.received.append(json.loads(frame.data))


async def connect(
    client: TestClient[Any, Any], interview_id: int, token: str | None, name: str, **join: Any
) -> Signal:
    """Open the signalling socket and join (with the token in the join message)."""
    ws = await client.ws_connect(f"/session/{interview_id}/ws")
    signal = Signal(ws)
    message = {"type": "join", "name": name, "language": "en", "consent_recording": True, **join}
    if token is not None:
        message["token"] = token
    await signal.send(message)
    return signal


async def joined(client: TestClient[Any, Any], booked: Booked, role: str) -> Signal:
    """Join as one role and wait for the welcome."""
    signal = await connect(client, booked.interview_id, booked.tokens[role], role.title())
    welcome = await signal.expect("welcome")
    signal.peer = welcome["peer"]
    return signal


class SpeechTrack(MediaPlayer):
    """A spoken WAV, looped (aiortc's MediaPlayer reads and paces it in real time)."""

    def __init__(self, path: Path = SPEECH) -> None:
        super().__init__(str(path), loop=True)


class MovingPattern(VideoStreamTrack):
    """Synthetic video whose content changes every frame (so it is not all one colour)."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.size = (width, height)
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        width, height = self.size
        image = np.zeros((height, width, 3), dtype=np.uint8)
        image[:, (self.count * 4) % width] = 255
        image[..., 1] = (self.count * 3) % 256
        self.count += 1
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, fractions.Fraction(time_base)
        return frame


class MediaParticipant:
    """A participant's media to the server's peer: a real RTCPeerConnection that offers."""

    def __init__(
        self,
        signal: Signal,
        *,
        video: bool = True,
        policy: str = "all",
        ice_servers: list[Any] | None = None,
    ) -> None:
        allow_loopback_candidates()
        self.signal = signal
        self.pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=[RTCIceServer(**s) for s in (ice_servers or [])],
                iceTransportPolicy=RTCIceTransportPolicy(policy),
            )
        )
        self.player = SpeechTrack()
        assert self.player.audio is not None
        self.pc.addTrack(self.player.audio)
        if video:
            self.pc.addTrack(MovingPattern())

    async def start(self) -> None:
        """Offer to the server and apply its answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.signal.send(
            {"type": "offer", "to": "server", "sdp": self.pc.localDescription.sdp}
        )
        answer = await self.signal.expect("answer", **{"from": "server"})
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def connected(self) -> None:
        """Wait until media flows (ICE and DTLS done)."""
        async with asyncio.timeout(WAIT_S):
            while self.pc.connectionState != "connected":
                if self.pc.connectionState == "failed":
                    raise AssertionError("peer connection failed")
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Hang up."""
        await self.pc.close()
        if self.player.audio is not None:
            self.player.audio.stop()


@pytest.fixture(name="participants")
async def media_participants() -> AsyncIterator[list[MediaParticipant]]:
    """Media participants a test starts; closed afterwards even if it fails."""
    started: list[MediaParticipant] = []
    yield started
    for participant in started:
        await participant.close()


def duration_of(path: Path) -> float:
    """Seconds from the first to the last decodable frame of a recording (decodes it all)."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        times = [frame.time for frame in container.decode(stream) if frame.time is not None]
    assert times, f"{path.name} has no decodable frame"
    return max(times) - min(times)
