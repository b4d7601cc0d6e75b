"""Captions over the real call path: end of speech → caption received by another participant.

A real app on a real port (SQLite file, migrated), a confirmed interview, two signalling
clients: the staff member sends the spoken fixtures over a real aiortc RTCPeerConnection
(Opus, paced in real time, 2 s of silence between fixtures) to the server's peer; the
consul has captions on in Spanish and receives them over the WebSocket. For each fixture,
latency runs from the moment its last sample is sent (the first sent frame's time plus the
sample's position in the audio) to the moment the first final caption that follows reaches
the consul's socket — so it includes Opus, the server's decoding, VAD, the end-of-utterance
silence, recognition (tiny.en), translation and the signalling hop.

Translation: a random-weight Argos-sized en→es model (6+6 layers, d=512, 32k vocabulary;
never ends early, so a worst case), or Apertium with --apertium. Prints p50/p95, word error
rate and process CPU per second of speech (this process also runs the sending peer);
asserts nothing. Bounded: about a minute per round.

    .venv/bin/python bench/captions_call.py [--rounds 2] [--apertium]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import WSMsgType  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.contrib.media import MediaPlayer  # noqa: E402

from interviews import accounts  # noqa: E402
from interviews.accounts import Role  # noqa: E402
from interviews.consulates import Consulate  # noqa: E402
from interviews.db import make_engine, make_sessionmaker  # noqa: E402
from interviews.facilities import Facility  # noqa: E402
from signaling.captions.argos import install_package  # noqa: E402
from signaling.ice import allow_loopback_candidates  # noqa: E402
from tests.captions_models import (  # noqa: E402
    ARGOS_SIZED,
    build_argosmodel,
    fixture_names,
    silence,
    speech_fixture,
    word_errors,
    words,
)
from tests.conftest import Clock, World  # noqa: E402
from tests.test_session_support import SECRET, book  # noqa: E402
from web.app import create_app  # noqa: E402
from web.settings import Settings  # noqa: E402

GAP_S = 2.0
RATE = 16_000


def program(folder: Path, rounds: int) -> tuple[Path, list[tuple[float, str]]]:
    """One WAV of every fixture `rounds` times with gaps; (end of speech s, text) each."""
    pieces, ends, position = [silence(0.5)], [], 0.5
    for _ in range(rounds):
        for name in fixture_names():
            samples, text = speech_fixture(name)
            pieces += [samples, silence(GAP_S)]
            position += len(samples) / RATE
            ends.append((position, text))
            position += GAP_S
    path = folder / "program.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.concatenate(pieces).tobytes())
    return path, ends


class TimedPlayer(MediaPlayer):
    """The WAV once, noting when its first frame is handed to the sender."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path), loop=False)
        self.first_sent: float | None = None
        audio = self.audio
        assert audio is not None
        original = audio.recv

        async def recv() -> Any:
            frame = await original()
            if self.first_sent is None:
                self.first_sent = time.monotonic()
            return frame

        audio.recv = recv  # type: ignore[method-assign]


async def seed(settings: Settings) -> tuple[int, dict[str, str]]:
    """The organisations, three users and one confirmed interview starting in 5 minutes."""
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        india = Consulate(
            name="Embassy of India",
            country="IN",
            kind="embassy",
            city="Washington",
            located_country="US",
            time_zone="America/New_York",
        )
        tapachula = Facility(
            name="Siglo XXI", country="MX", city="Tapachula", time_zone="America/Mexico_City"
        )
        session.add_all([india, tapachula])
        await session.flush()

        async def user(
            email: str, role: Role, *, facility: int | None = None, consulate: int | None = None
        ) -> accounts.User:
            return await accounts.create_user(
                session,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                password="bench-password",
                facility_id=facility,
                consulate_id=consulate,
            )

        staff = await user("staff@example.org", Role.STAFF, facility=tapachula.id)
        consul = await user("consul@example.org", Role.CONSUL, consulate=india.id)
        interpreter = await user("interpreter@example.org", Role.INTERPRETER)
        world = World(india, india, tapachula, staff, staff, consul, consul, interpreter)
        booked = await book(session, world, Clock(datetime.now(UTC)), "BENCH-1")
    await engine.dispose()
    return booked.interview_id, booked.tokens


async def run(rounds: int, apertium: bool) -> None:
    allow_loopback_candidates()
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        settings = Settings(
            data_dir=work / "data",
            database_url=f"sqlite+aiosqlite:///{work / 'bench.db'}",
            secret_key=SECRET.decode(),
            ice_loopback=True,
            translation_engines={"en-es": "apertium"} if apertium else {},
        )
        if not apertium:
            model = build_argosmodel(work / "en_es.argosmodel", size=ARGOS_SIZED)
            install_package(model, settings.data_dir / "argos-packages")
        wav, ends = program(work, rounds)
        client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
        await client.start_server()
        try:
            interview_id, tokens = await seed(settings)
            await measure(client, interview_id, tokens, wav, ends)
        finally:
            await client.close()


async def measure(
    client: TestClient[Any, Any],
    interview_id: int,
    tokens: dict[str, str],
    wav: Path,
    ends: list[tuple[float, str]],
) -> None:
    sockets = {}
    for role in ("staff", "consul"):
        ws = await client.ws_connect(f"/session/{interview_id}/ws")
        await ws.send_json(
            {
                "type": "join",
                "name": role.title(),
                "language": "en",
                "consent_recording": True,
                "token": tokens[role],
            }
        )
        sockets[role] = ws
    staff, consul = sockets["staff"], sockets["consul"]
    await staff.send_json({"type": "open", "record_video": False})
    await consul.send_json({"type": "captions", "on": True, "language": "es"})

    player = TimedPlayer(wav)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    assert player.audio is not None
    pc.addTrack(player.audio)
    async with asyncio.timeout(30):
        while True:  # until the server asks for media
            message = await staff.receive_json()
            if message["type"] == "connect":
                break
    await pc.setLocalDescription(await pc.createOffer())
    await staff.send_json({"type": "offer", "to": "server", "sdp": pc.localDescription.sdp})
    async with asyncio.timeout(30):
        while True:
            message = await staff.receive_json()
            if message["type"] == "answer":
                break
    await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))

    async def drain() -> None:
        # Keep reading the speaker's socket: it answers the server's heartbeat pings.
        async for _frame in staff:
            pass

    draining = asyncio.get_running_loop().create_task(drain())

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    received: list[tuple[float, dict[str, Any]]] = []
    speech_s = ends[-1][0] + 0.5
    deadline = time.monotonic() + speech_s + 30
    while time.monotonic() < deadline:
        try:
            frame = await asyncio.wait_for(consul.receive(), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        if frame.type is not WSMsgType.TEXT:
            print(f"consul's socket: {frame.type.name} {frame.data!r}")
            break
        message = json.loads(frame.data)
        if os.environ.get("BENCH_VERBOSE") and message["type"] != "caption":
            print("  message:", str(message)[:150])
        if message["type"] == "caption" and message.get("final"):
            received.append((time.monotonic(), message))
        if player.first_sent and time.monotonic() > player.first_sent + speech_s + 5:
            break
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    if os.environ.get("BENCH_VERBOSE") and player.first_sent:
        print(f"  listened until {time.monotonic() - player.first_sent:.1f} s of the audio")
    await pc.close()
    for ws in sockets.values():
        await ws.close()
    draining.cancel()

    assert player.first_sent is not None, "no audio was sent"
    latencies, errors, total = [], 0, 0
    heard_by_fixture: list[list[str]] = [[] for _ in ends]
    for at, message in received:
        sent = at - player.first_sent
        index = max((i for i, (end, _) in enumerate(ends) if end - 1.0 <= sent), default=0)
        heard_by_fixture[index].append(message["text"])
    for index, (end, text) in enumerate(ends):
        after = [
            at - player.first_sent - end for at, _ in received if at - player.first_sent >= end
        ]
        after = [value for value in after if value < GAP_S + 3.0]
        if after:
            latencies.append(min(after))
        errors += word_errors(text, " ".join(heard_by_fixture[index]))
        total += len(words(text))
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    spoken = sum(len(speech_fixture(n)[0]) for n in fixture_names()) / RATE * (len(ends) / 8)
    print(f"utterances {len(ends)}, final captions received {len(received)}")
    if os.environ.get("BENCH_VERBOSE"):
        for at, message in received:
            print(f"  {at - player.first_sent:6.2f} s  {message['text']}")
        print("  ends:", [round(end, 2) for end, _ in ends])
    if latencies:
        ordered = sorted(latencies)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(
            f"end of speech → caption at the other participant: p50 "
            f"{statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s "
            f"({len(ordered)} measured)"
        )
    print(f"word error rate over the call: {errors / max(1, total):.1%}")
    print(f"process CPU per second of speech (server + sending peer): {cpu / spoken:.2f} s")
    print(f"load average: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, choices=range(1, 5))
    parser.add_argument("--apertium", action="store_true", help="translate with Apertium")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.apertium))


if __name__ == "__main__":
    main()
