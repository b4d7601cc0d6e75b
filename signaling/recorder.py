"""Crash-safe track recording: encoded media written as received, off the event loop.

The server never decodes or re-encodes to record: each participant's Opus frames go into
an Ogg file and their VP8 frames into a WebM file exactly as they arrived (a remux),
which costs a small fraction of a decode. Both containers are written so that a killed
process leaves a playable file: Ogg pages are closed every half second and WebM clusters
every second, and every packet is flushed to the operating system as it is written, so a
SIGKILL loses at most about a second (the goal is two).

Writes happen on a worker thread of a shared executor; one recorder's packets are
written in order by at most one worker at a time.
"""

from __future__ import annotations

import logging
import struct
import threading
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

log = logging.getLogger(__name__)

# Opus in Ogg needs its identification header: version 1, stereo, 312 samples of
# pre-skip (what libopus uses), 48 kHz, no gain, mapping family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, 48000, 0, 0)


@dataclass(frozen=True)
class TrackFormat:
    """How one kind of track is stored."""

    kind: str
    codec: str
    container: str
    suffix: str
    content_type: str
    clock_rate: int
    options: dict[str, str]


AUDIO = TrackFormat(
    kind="audio",
    codec="opus",
    container="ogg",
    suffix=".ogg",
    content_type="audio/ogg; codecs=opus",
    clock_rate=48_000,
    options={"flush_packets": "1", "page_duration": "500000"},
)
VIDEO = TrackFormat(
    kind="video",
    codec="vp8",
    container="webm",
    suffix=".webm",
    content_type="video/webm; codecs=vp8",
    clock_rate=90_000,
    options={"flush_packets": "1", "cluster_time_limit": "1000"},
)


def vp8_keyframe_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) if `data` is a VP8 key frame (RFC 6386 section 9.1), else None."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width & 0x3FFF, height & 0x3FFF


class TrackRecorder:
    """One participant's audio or video track, written to one file."""

    def __init__(self, path: Path, track: TrackFormat, executor: Executor) -> None:
        self.path = path
        self.format = track
        self.executor = executor
        self._pending: list[tuple[bytes, int]] = []
        self._lock = threading.Lock()
        self._scheduled = False
        self._closed = False
        self._container: Any = None
        self._stream: Any = None
        self._last_timestamp: int | None = None
        self._extended = 0  # RTP timestamp since the first frame, unwrapped past 2**32
        self._last_pts = -1
        self.packets_written = 0

    @property
    def waits_for_key_frame(self) -> bool:
        """True for a video track that has kept no frame yet: it can only start at a key frame."""
        return self.format.kind == "video" and self._last_timestamp is None and not self._closed

    def add(self, data: bytes, timestamp: int) -> bool:
        """Queue one encoded frame (event-loop thread); True for the first frame kept."""
        if self._closed:
            return False
        first = False
        if self._last_timestamp is None:
            if self.format.kind == "video" and vp8_keyframe_size(data) is None:
                return False  # a decoder can only start at a key frame
            first = True
        else:
            # RTP timestamps are 32 bits from a random start, so they wrap within hours:
            # step by the signed 32-bit difference from the previous one (RFC 3550 A.1).
            step = (timestamp - self._last_timestamp) & 0xFFFF_FFFF
            self._extended += step - (1 << 32) if step >= 1 << 31 else step
        self._last_timestamp = timestamp
        with self._lock:
            self._pending.append((data, self._extended))
            if self._scheduled:
                return first
            self._scheduled = True
        self.executor.submit(self._drain)
        return first

    def close(self) -> None:
        """Stop taking frames; the file is finished once what is queued is written."""
        with self._lock:
            self._closed = True
            if self._scheduled:
                return  # the running drain sees _closed and finishes the file
            self._scheduled = True
        self.executor.submit(self._drain)

    def _open(self, first: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(
            str(self.path), "w", format=self.format.container, options=self.format.options
        )
        stream: Any
        if self.format.kind == "audio":
            stream = container.add_stream("opus", rate=self.format.clock_rate)
            stream.codec_context.extradata = OPUS_HEAD
        else:
            stream = container.add_stream("vp8")
            stream.width, stream.height = vp8_keyframe_size(first) or (640, 480)
            stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, self.format.clock_rate)
        self._container, self._stream = container, stream

    def _write(self, data: bytes, pts: int) -> None:
        if self._container is None:
            self._open(data)
        if pts <= self._last_pts:  # a retransmitted or reordered frame already covered
            return
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = Fraction(1, self.format.clock_rate)
        packet.stream = self._stream
        if self.format.kind == "video" and vp8_keyframe_size(data) is not None:
            packet.is_keyframe = True
        self._container.mux(packet)
        self._last_pts = pts
        self.packets_written += 1

    def _drain(self) -> None:
        """Write everything queued (worker thread); finish the file once closed."""
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._scheduled = False
                    finish = self._closed
                    if not finish:
                        return
            if not batch:
                self._finish()
                return
            for data, pts in batch:
                try:
                    self._write(data, pts)
                except (av.FFmpegError, ValueError) as error:
                    log.warning("recording %s: dropped a frame: %s", self.path.name, error)

    def _finish(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except av.FFmpegError as error:
                log.warning("recording %s: could not finish: %s", self.path.name, error)
            self._container = None
