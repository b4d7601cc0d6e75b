"""A call through a real TURN server: coturn (the Debian package) runs on loopback with
`use-auth-secret`, consulink hands out credentials derived from the same secret and the
relay-only ICE policy, and two aiortc participants talk to each other and to the
server's receive-only peer with every path going through the relay.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.records import recordings
from tests.test_session_support import (  # noqa: F401 - fixtures
    SECRET,
    WAIT_S,
    Interviews,
    MediaParticipant,
    MovingPattern,
    Signal,
    duration_of,
    joined,
    media_participants,
    two_interviews,
)
from web.keys import SERVER_MEDIA
from web.settings import Settings

TURN_SECRET = "turn-test-secret"
CALL_S = 3.0
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"

pytestmark = pytest.mark.slow


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_stun(port: int) -> bool:
    """True when a STUN Binding request to the port gets a Binding success response."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            response = probe.recv(2048)
        except OSError:
            return False
    return response[:2] == b"\x01\x01" and response[8:20] == request[8:20]


@dataclass
class Turn:
    """A running coturn and where its log goes."""

    port: int
    log: Path


@pytest.fixture(name="turn")
def coturn(tmp_path: Path) -> Iterator[Turn]:
    """coturn on 127.0.0.1, TURN REST API credentials only, no TLS, no CLI."""
    if not os.path.exists(TURNSERVER):
        if os.geteuid() != 0:
            pytest.skip("turnserver (Debian package coturn) is not installed and we are not root")
        pytest.fail("turnserver is missing although we are root: scripts/test installs coturn")
    port = _free_udp_port()
    log = tmp_path / "turnserver.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                TURNSERVER,
                "-n",  # no configuration file: everything is on this command line
                "--listening-ip=127.0.0.1",
                f"--listening-port={port}",
                "--relay-ip=127.0.0.1",
                "--min-port=40000",
                "--max-port=40999",
                "--use-auth-secret",
                f"--static-auth-secret={TURN_SECRET}",
                "--realm=consulink.test",
                "--fingerprint",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--allow-loopback-peers",
                "--no-multicast-peers",
                f"--userdb={tmp_path / 'turndb'}",
                f"--pidfile={tmp_path / 'turnserver.pid'}",
                "--log-file=stdout",
                "--simple-log",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while not _answers_stun(port):
            assert process.poll() is None, f"turnserver exited:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "turnserver did not answer STUN in 20 s"
            time.sleep(0.1)
        yield Turn(port, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(name="settings")
def relay_settings(tmp_path: Path, database_url: str, turn: Turn) -> Settings:
    """consulink pointed at the local coturn, relay-only, no STUN."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=SECRET.decode(),
        turn_urls=[f"turn:127.0.0.1:{turn.port}?transport=udp"],
        turn_secret=TURN_SECRET,
        ice_relay_only=True,
        ice_loopback=True,
    )


async def _config_for(client: TestClient[Any, Any], interview_id: int, token: str) -> Any:
    """What this person's browser would be told: ICE servers (with TURN credentials), policy."""
    exchanged = await client.post(f"/api/sessions/{interview_id}/passes", json={"token": token})
    assert exchanged.status == 200
    response = await client.get(f"/api/sessions/{interview_id}/config")
    assert response.status == 200
    return await response.json()


def _relay_pc(config: Any) -> RTCPeerConnection:
    assert config["ice_transport_policy"] == "relay"
    return RTCPeerConnection(
        RTCConfiguration(
            iceServers=[RTCIceServer(**s) for s in config["ice_servers"]],
            iceTransportPolicy=RTCIceTransportPolicy.RELAY,
        )
    )


def _selected_pair_types(pc: RTCPeerConnection) -> set[tuple[str, str]]:
    """(local, remote) candidate types of the pairs ICE selected, per transport in use.

    aiortc's getStats has no candidate-pair report, so this reads the nominated pairs of
    the ICE agent (aioice) behind each RTCIceTransport.
    """
    pairs: set[tuple[str, str]] = set()
    for transceiver in pc.getTransceivers():
        if transceiver.currentDirection in (None, "inactive"):
            continue
        ice = transceiver.receiver.transport.transport
        nominated = ice._connection._nominated  # no public API for this
        assert nominated, "no nominated candidate pair"
        pairs |= {(p.local_candidate.type, p.remote_candidate.type) for p in nominated.values()}
    return pairs


async def _first_frame(track: MediaStreamTrack) -> Any:
    async with asyncio.timeout(WAIT_S):
        return await track.recv()


async def test_a_relay_only_call_goes_through_coturn_and_is_recorded(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    turn: Turn,
) -> None:
    a = interviews.a
    configs = {role: await _config_for(client, a.interview_id, a.tokens[role]) for role in a.tokens}
    for config in configs.values():
        (server,) = config["ice_servers"]
        assert server["urls"] == [f"turn:127.0.0.1:{turn.port}?transport=udp"]

    staff, consul = await joined(client, a, "staff"), await joined(client, a, "consul")
    await staff.send({"type": "open", "record_video": True})
    for signal in (staff, consul):
        await signal.expect("connect")

    # Each participant's media to the server's peer, relay-only with its own credentials.
    for signal, role in ((staff, "staff"), (consul, "consul")):
        participants.append(
            MediaParticipant(signal, policy="relay", ice_servers=configs[role]["ice_servers"])
        )
    await asyncio.gather(*(p.start() for p in participants))

    # And the two of them to each other, as the browsers' mesh does, through the same relay.
    mesh = {"staff": _relay_pc(configs["staff"]), "consul": _relay_pc(configs["consul"])}
    received: dict[str, asyncio.Future[MediaStreamTrack]] = {}
    for role, pc in mesh.items():
        pc.addTrack(MovingPattern())
        future = received[role] = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track: MediaStreamTrack, future: Any = future) -> None:
            if not future.done():
                future.set_result(track)

    try:
        await _negotiate(mesh["staff"], staff, mesh["consul"], consul)
        await asyncio.gather(*(p.connected() for p in participants))
        started = time.monotonic()  # the server's peers record from about now
        async with asyncio.timeout(WAIT_S):
            tracks = {role: await future for role, future in received.items()}
        frames = await asyncio.gather(*(_first_frame(t) for t in tracks.values()))
        assert all((f.width, f.height) == (320, 240) for f in frames)

        # Every selected path starts at a relayed candidate: nothing went direct.
        for pc in [*mesh.values(), *(p.pc for p in participants)]:
            pairs = _selected_pair_types(pc)
            assert pairs and all(local == "relay" for local, _remote in pairs), pairs
        for pc in mesh.values():  # both ends relay-only: the far end is a relay too
            assert all(remote == "relay" for _local, remote in _selected_pair_types(pc))
        # The server's own peers honour the policy too: their end is a relay as well.
        server_pcs = [peer.pc for peer, _recording in client.app[SERVER_MEDIA].peers.values()]
        assert len(server_pcs) == 2
        for pc in server_pcs:
            assert _selected_pair_types(pc) == {("relay", "relay")}

        await asyncio.sleep(max(0.0, CALL_S - (time.monotonic() - started)))
        for signal in (staff, consul):
            await signal.send({"type": "leave"})
        call_s = time.monotonic() - started
    finally:
        for pc in mesh.values():
            await pc.close()

    # The rows are finished once the server's peers have hung up (through the relay).
    deadline = time.monotonic() + 30
    while True:
        async with db() as session:
            rows = await recordings(session, a.interview_id)
        if len(rows) == 4 and all(r.ended_at is not None for r in rows):
            break
        assert time.monotonic() < deadline, [(r.kind, r.peer_id, r.ended_at) for r in rows]
        await asyncio.sleep(0.1)
    assert sorted(r.kind for r in rows) == ["audio", "audio", "video", "video"]
    for row in rows:
        played = duration_of(settings.data_dir / "recordings" / row.path)
        assert abs(played - call_s) < 1.0, (row.kind, played, call_s)


async def _negotiate(
    offerer: RTCPeerConnection,
    offer_signal: Signal,
    answerer: RTCPeerConnection,
    answer_signal: Signal,
) -> None:
    """One offer/answer between two participants, relayed by the signalling server."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await offer_signal.send(
        {"type": "offer", "to": answer_signal.peer, "sdp": offerer.localDescription.sdp}
    )
    offer = await answer_signal.expect("offer", **{"from": offer_signal.peer})
    await answerer.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
    await answerer.setLocalDescription(await answerer.createAnswer())
    await answer_signal.send(
        {"type": "answer", "to": offer_signal.peer, "sdp": answerer.localDescription.sdp}
    )
    answer = await offer_signal.expect("answer", **{"from": answer_signal.peer})
    await offerer.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
