"""The server's receive-only WebRTC peer for one participant (aiortc).

The participant offers (send-only), the server answers: audio always, video only when
the session records video (else the video section is answered inactive and the browser
sends none). The server accepts Opus and VP8 only, so recordings can be written as
received (see recorder.py).

aiortc decodes every frame it receives and offers no public way to take the encoded
ones, yet decoding alone would break the CPU budget (VP8 ≈ 0.07 core per stream). So
each receiver's decoder queue is replaced by an `EncodedTap` before the receiver
starts: encoded frames go to the recorder, and on to aiortc's decoder only while some
consumer wants decoded audio (captions attach through `attach_audio`). The tap relies
on one private attribute of aiortc's RTCRtpReceiver; `install_tap` fails loudly if it
moves, and the recording tests catch it.

aiortc asks the sender for a new key frame (a PLI) when its decoder fails; with the
decoder bypassed that never happens, and senders only send key frames on request (aiortc
every 3,000 frames, browsers never). So when the recorder still waits for a key frame
(the first was lost, or arrived before it could be used) the tap asks for one itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger(__name__)

_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"
KEPT_CODECS = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}


class AudioConsumer(Protocol):
    """Something that takes a participant's decoded 48 kHz audio (captions do)."""

    def push(self, frame: av.AudioFrame) -> None:
        """One decoded frame; the consumer owns it and may change it."""

    def end(self) -> None:
        """The participant's audio has ended."""


# Takes one encoded frame (data, RTP timestamp); True while it waits for a key frame.
EncodedSink = Callable[[bytes, int], bool]
KEY_FRAME_REQUEST_S = 0.5  # at most two picture-loss indications a second


class EncodedTap(queue.Queue[Any]):
    """Stands in for a receiver's decoder queue: encoded frames go to `sink` first."""

    def __init__(self, receiver: RTCRtpReceiver, sink: EncodedSink) -> None:
        super().__init__()
        self.receiver = receiver
        self.sink = sink
        self.decode = False
        self.key_frame_requests = 0
        self._requested_at = -KEY_FRAME_REQUEST_S
        self._requests: set[asyncio.Task[None]] = set()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Called by aiortc on the event loop for each complete encoded frame."""
        if item is not None:
            _codec, frame = item
            if self.sink(frame.data, frame.timestamp):
                self._request_key_frame()
            if not self.decode:
                return
        super().put(item, block, timeout)

    def _request_key_frame(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._requested_at < KEY_FRAME_REQUEST_S:
            return
        self._requested_at = loop.time()
        self.key_frame_requests += 1
        for source in self.receiver.getSynchronizationSources():
            task = loop.create_task(self.receiver._send_rtcp_pli(source.source))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)


def install_tap(receiver: RTCRtpReceiver, sink: EncodedSink) -> EncodedTap:
    """Put a tap in place of a receiver's decoder queue (before the receiver starts)."""
    if not isinstance(getattr(receiver, _QUEUE_ATTRIBUTE, None), queue.Queue):
        raise RuntimeError("this aiortc version has no decoder queue to tap; see server_peer.py")
    tap = EncodedTap(receiver, sink)
    setattr(receiver, _QUEUE_ATTRIBUTE, tap)
    return tap


def copy_audio_frame(frame: av.AudioFrame) -> av.AudioFrame:
    """An independent copy (PyAV consumers rewrite pts and may resample in place)."""
    copy = av.AudioFrame.from_ndarray(
        frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
    )
    copy.sample_rate = frame.sample_rate
    copy.pts = frame.pts
    copy.time_base = frame.time_base
    return copy


class ServerPeer:
    """One participant's connection to the server; media goes to the sinks given."""

    def __init__(
        self,
        configuration: RTCConfiguration,
        sinks: dict[str, EncodedSink],
        *,
        record_video: bool,
    ) -> None:
        self.pc = RTCPeerConnection(configuration)
        self.sinks = sinks
        self.record_video = record_video
        self.taps: dict[str, EncodedTap] = {}
        self.audio_track: MediaStreamTrack | None = None
        self.consumers: list[AudioConsumer] = []
        self._reader: asyncio.Task[None] | None = None

    async def answer(self, sdp: str) -> str:
        """Take the participant's offer; the answer's SDP (with all candidates)."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in self.pc.getTransceivers():
            kind = transceiver.kind
            wanted = kind == "audio" or (kind == "video" and self.record_video)
            if not wanted or kind in self.taps:
                transceiver.direction = "inactive"
                continue
            capabilities = RTCRtpReceiver.getCapabilities(kind)
            assert capabilities is not None
            transceiver.setCodecPreferences(
                [c for c in capabilities.codecs if c.mimeType in KEPT_CODECS[kind]]
            )
            transceiver.direction = "recvonly"
            self.taps[kind] = install_tap(transceiver.receiver, self.sinks[kind])
            if kind == "audio":
                self.audio_track = transceiver.receiver.track
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def add_candidate(self, candidate: dict[str, Any] | None) -> None:
        """A trickled remote candidate (end-of-candidates is implied by aiortc's checks).

        Raises ValueError when the candidate line cannot be parsed.
        """
        if candidate is None or not candidate.get("candidate"):
            return
        try:
            parsed = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
        except Exception as error:  # aiortc's parser asserts, indexes and int()s as it goes
            raise ValueError(f"not an ICE candidate: {error}") from None
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        with contextlib.suppress(ValueError):
            await self.pc.addIceCandidate(parsed)

    def attach_audio(self, consumer: AudioConsumer) -> None:
        """Start handing decoded audio to `consumer` (decoding starts with the first one)."""
        self.consumers.append(consumer)
        tap = self.taps.get("audio")
        if tap is None or self.audio_track is None:
            return
        tap.decode = True
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read_audio())

    def detach_audio(self, consumer: AudioConsumer) -> None:
        """Stop handing audio to `consumer`; decoding stops with the last one."""
        if consumer in self.consumers:
            self.consumers.remove(consumer)
            consumer.end()
        if not self.consumers and "audio" in self.taps:
            self.taps["audio"].decode = False

    async def _read_audio(self) -> None:
        assert self.audio_track is not None
        try:
            while True:
                frame = await self.audio_track.recv()
                assert isinstance(frame, av.AudioFrame)
                consumers = list(self.consumers)
                for index, consumer in enumerate(consumers):
                    # The last consumer may keep the original; the others get copies.
                    consumer.push(frame if index == len(consumers) - 1 else copy_audio_frame(frame))
        except MediaStreamError:
            pass
        finally:
            for consumer in self.consumers:
                consumer.end()

    async def close(self) -> None:
        """Hang up."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.pc.close()
