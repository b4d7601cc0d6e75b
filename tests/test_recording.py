"""Recording stories: real aiortc participants send a spoken WAV and synthetic video to the
server's receive-only peer; what the server writes decodes with PyAV and lasts as long as
the call.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.ice import allow_loopback_candidates
from signaling.recorder import AUDIO, VIDEO, TrackRecorder, vp8_keyframe_size
from signaling.records import recordings
from signaling.server_peer import ServerPeer
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    MediaParticipant,
    MovingPattern,
    duration_of,
    joined,
    media_participants,
    session_settings,
    two_interviews,
)
from web.keys import SERVER_MEDIA
from web.settings import Settings

CALL_S = 3.0


async def _call(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    roles: tuple[str, ...],
    *,
    record_video: bool,
) -> tuple[float, list[Any]]:
    a = interviews.a
    signals = [await joined(client, a, role) for role in roles]
    await signals[0].send({"type": "open", "record_video": record_video})
    for signal in signals:
        connect = await signal.expect("connect")
        assert connect["video"] is record_video
    for signal in signals:
        participants.append(MediaParticipant(signal, video=True))
    await asyncio.gather(*(p.start() for p in participants))
    await asyncio.gather(*(p.connected() for p in participants))
    started = time.monotonic()
    await asyncio.sleep(CALL_S)
    for signal in signals:
        await signal.send({"type": "leave"})
    call_s = time.monotonic() - started
    return call_s, signals


async def test_each_participant_is_recorded_in_sync_and_playable(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    call_s, _ = await _call(
        client, interviews, participants, ("staff", "consul", "interpreter"), record_video=True
    )
    async with asyncio.timeout(15):
        while True:  # the rows are finished once the peers have hung up
            async with db() as session:
                rows = await recordings(session, interviews.a.interview_id)
            if len(rows) == 6 and all(r.ended_at is not None for r in rows):
                break
            await asyncio.sleep(0.1)
    assert sorted(r.kind for r in rows) == ["audio"] * 3 + ["video"] * 3
    assert len({r.participant_id for r in rows}) == 3
    for row in rows:
        path = settings.data_dir / "recordings" / row.path
        assert row.offset_ms >= 0 and row.offset_ms < 10_000
        # Written as received; it plays for as long as the media flowed, within a second.
        assert abs(duration_of(path) - call_s) < 1.0, (row.kind, duration_of(path), call_s)
    audio = next(r for r in rows if r.kind == "audio")
    with av.open(str(settings.data_dir / "recordings" / audio.path)) as container:
        frame = next(container.decode(audio=0))
        assert frame.sample_rate == 48_000
    video = next(r for r in rows if r.kind == "video")
    with av.open(str(settings.data_dir / "recordings" / video.path)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (320, 240)


async def test_audio_only_sessions_take_no_video(
    client: TestClient[Any, Any],
    interviews: Interviews,
    participants: list[MediaParticipant],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await _call(client, interviews, participants, ("staff", "consul"), record_video=False)
    async with asyncio.timeout(15):
        while True:
            async with db() as session:
                rows = await recordings(session, interviews.a.interview_id)
            if len(rows) == 2 and all(r.ended_at is not None for r in rows):
                break
            await asyncio.sleep(0.1)
    assert [r.kind for r in rows] == ["audio", "audio"]
    # The server answered the video section inactive: the browser sent no video at all.
    for participant in participants:
        video = [t for t in participant.pc.getTransceivers() if t.kind == "video"]
        assert video and video[0].currentDirection == "inactive"


class Collect:
    """An audio consumer like the caption pipeline: keeps frames, and (`rewrite`) changes
    their pts as PyAV encoders do."""

    def __init__(self, enough: int = 50, *, rewrite: bool = False) -> None:
        self.frames: list[av.AudioFrame] = []
        self.ended = False
        self.enough = enough
        self.rewrite = rewrite
        self.filled = asyncio.Event()

    def push(self, frame: av.AudioFrame) -> None:
        if self.rewrite:
            frame.pts = 0  # consumers may rewrite what they are given
        self.frames.append(frame)
        if len(self.frames) >= self.enough:
            self.filled.set()

    def end(self) -> None:
        self.ended = True


async def test_captions_can_take_each_participants_decoded_audio(
    client: TestClient[Any, Any],
    app: web.Application,
    interviews: Interviews,
    participants: list[MediaParticipant],
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    await host.send({"type": "open"})
    await host.expect("connect")
    participant = MediaParticipant(host, video=False)
    participants.append(participant)
    await participant.start()
    await participant.connected()
    media = app[SERVER_MEDIA]
    member = next(iter(app_rooms_members(app, a.interview_id)))
    peer = media.peer_for(member)
    assert peer is not None
    # A rewriting consumer between two that keep what they get: the frame is handed out
    # (copied or not) both before and after the rewrite.
    before, rewriter, after = Collect(), Collect(rewrite=True), Collect()
    for consumer in (before, rewriter, after):
        peer.attach_audio(consumer)
    async with asyncio.timeout(15):
        await after.filled.wait()
    assert all(f.sample_rate == 48_000 for f in rewriter.frames)
    # The rewrite reached none of the others' frames: their pts still count up.
    for keeper in (before, after):
        stamps = [f.pts for f in keeper.frames]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), stamps[:5]
    # Never the same frame object for two consumers: one rewriting pts cannot touch the other.
    assert not {id(f) for f in rewriter.frames} & {id(f) for f in after.frames + before.frames}
    peer.detach_audio(rewriter)
    assert rewriter.ended and not after.ended


def app_rooms_members(app: web.Application, interview_id: int) -> list[Any]:
    """The members of a live room (in the order they joined)."""
    from web.keys import ROOMS

    return list(app[ROOMS].rooms[interview_id].members.values())


def _opus_packets(seconds: float) -> list[bytes]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", "s16"
    tone = (np.sin(np.arange(960) * 2 * np.pi * 440 / 48_000) * 8000).astype(np.int16)
    packets: list[bytes] = []
    for i in range(int(seconds * 50)):
        sound = av.AudioFrame.from_ndarray(
            np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        sound.sample_rate, sound.pts = 48_000, i * 960
        packets += [bytes(p) for p in encoder.encode(sound)]
    return packets


def _vp8_frames(seconds: float) -> list[bytes]:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, 30), Fraction(30)
    frames: list[bytes] = []
    for i in range(int(seconds * 30)):
        image = np.full((120, 160, 3), (i * 7) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frames += [bytes(p) for p in encoder.encode(frame)]
    return frames + [bytes(p) for p in encoder.encode(None)]


def test_a_recording_continues_past_the_rtp_timestamp_wrap(tmp_path: Path) -> None:
    """Browsers start RTP timestamps at random and they wrap at 2**32 (about a day of
    audio at most, an hour or less for many calls): the frames after the wrap are kept.
    Real Opus and VP8 from PyAV's encoders go through the recorder with timestamps that
    start three seconds before the wrap, as they would arrive from aiortc."""
    seconds = 6.0
    with ThreadPoolExecutor(1) as executor:
        audio = TrackRecorder(tmp_path / "a.ogg", AUDIO, executor)
        for i, packet in enumerate(_opus_packets(seconds)):
            audio.add(packet, (2**32 - 48_000 * 3 + i * 960) % 2**32)
        video = TrackRecorder(tmp_path / "v.webm", VIDEO, executor)
        for i, frame in enumerate(_vp8_frames(seconds)):
            video.add(frame, (2**32 - 90_000 * 3 + i * 3000) % 2**32)
        audio.close()
        video.close()
    assert duration_of(tmp_path / "a.ogg") > seconds - 0.5
    assert duration_of(tmp_path / "v.webm") > seconds - 0.5


async def test_a_lost_first_key_frame_is_asked_for_again_at_once() -> None:
    """A video recording can only start at a key frame, and senders send one at the start
    and then only when asked. If the first is lost (a burst of loss on a busy uplink), the
    server's peer asks for another instead of waiting for the sender's next one (aiortc's
    comes after 3,000 frames, a browser's never). A real aiortc participant sends video;
    the server's sink throws its first key frame away as the network might."""
    allow_loopback_candidates()
    key_frames: list[float] = []
    recording_starts = asyncio.Event()

    def video(data: bytes, _timestamp: int) -> bool:
        if vp8_keyframe_size(data) is not None:
            key_frames.append(time.monotonic())
        if len(key_frames) < 2:
            return True  # still waiting while only the lost one has come
        recording_starts.set()
        return False

    server = ServerPeer(
        RTCConfiguration(iceServers=[]),
        {"audio": lambda _data, _timestamp: False, "video": video},
        record_video=True,
    )
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sender.addTrack(MovingPattern())
    try:
        await sender.setLocalDescription(await sender.createOffer())
        answer = await server.answer(sender.localDescription.sdp)
        await sender.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        async with asyncio.timeout(10):
            await recording_starts.wait()
        assert server.taps["video"].key_frame_requests >= 1
        # Asked at once, the next one comes within a frame or two; the recording loses no
        # more than the call tests allow (a second). Unasked, aiortc's came after 3 s.
        assert key_frames[1] - key_frames[0] < 1.0
    finally:
        await sender.close()
        await server.close()
