"""The server's media side of every room: one receive-only peer per admitted participant.

Implements rooms.MediaHost. Each peer's tracks are recorded (recorder.py) to
<data-dir>/recordings/<interview id>/ and registered in the database when their first
frame arrives, with the offset from the session's opening so tracks play in sync.
Captions attach to a participant's decoded audio through `peer_for(...).attach_audio`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signaling.ice import IceSettings, rtc_configuration
from signaling.protocol import SERVER_PEER
from signaling.recorder import AUDIO, VIDEO, TrackFormat, TrackRecorder
from signaling.records import Recording
from signaling.room import Member, Room, RoomError
from signaling.server_peer import ServerPeer

log = logging.getLogger(__name__)


class _PeerRecording:
    """The recorders of one server peer, and their database rows."""

    def __init__(self, media: ServerMedia, room: Room, member: Member, attempt: int) -> None:
        self.media = media
        self.room = room
        self.member = member
        self.attempt = attempt
        self.recorders: dict[str, TrackRecorder] = {}
        self.rows: dict[str, asyncio.Task[int]] = {}

    def sink(self, track: TrackFormat) -> Callable[[bytes, int], bool]:
        def take(data: bytes, timestamp: int) -> bool:
            recorder = self.recorders.get(track.kind)
            if recorder is None:
                name = f"{self.member.peer_id}-{self.attempt}-{track.kind}{track.suffix}"
                path = self.media.recordings_dir / str(self.room.interview_id) / name
                recorder = self.recorders[track.kind] = TrackRecorder(
                    path, track, self.media.executor
                )
            if recorder.add(data, timestamp):
                self.rows[track.kind] = asyncio.get_running_loop().create_task(
                    self.media.register(self.room, self.member, recorder)
                )
            return recorder.waits_for_key_frame

        return take

    async def close(self) -> None:
        for recorder in self.recorders.values():
            recorder.close()
        ended = self.media.clock()
        for task in self.rows.values():
            with contextlib.suppress(Exception):
                row_id = await task
                await self.media.finish(row_id, ended)


class ServerMedia:
    """Receive-only peers and recorders for all rooms of one app."""

    def __init__(
        self,
        recordings_dir: Path,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        ice: IceSettings,
        *,
        writer_threads: int = 2,
    ) -> None:
        self.recordings_dir = recordings_dir
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.ice = ice
        self.executor = ThreadPoolExecutor(writer_threads, thread_name_prefix="recorder")
        self.peers: dict[str, tuple[ServerPeer, _PeerRecording]] = {}
        self.attempts: dict[str, int] = {}
        self.closing: set[asyncio.Task[None]] = set()  # peers being hung up
        # Told of each new peer (captions attach to its audio): see signaling.captions_session.
        self.on_peer: Callable[[Room, Member, ServerPeer], Awaitable[None]] | None = None

    def peer_for(self, member: Member) -> ServerPeer | None:
        """The server's current peer connection with a member, if any."""
        found = self.peers.get(member.peer_id)
        return found[0] if found else None

    async def admitted(self, room: Room, member: Member) -> None:
        """Ask the member to connect its media to the server's peer."""
        member.send({"type": "connect", "peer": SERVER_PEER, "video": room.record_video})

    async def signal(self, room: Room, member: Member, message: dict[str, Any]) -> None:
        """An offer (a new or replacing connection) or a trickled candidate."""
        if message["type"] == "answer":
            raise RoomError("unexpected", "The server's peer never offers.")
        if message["type"] == "candidate":
            peer = self.peer_for(member)
            if peer is not None:
                try:
                    await peer.add_candidate(message["candidate"])
                except ValueError as error:
                    raise RoomError("bad_candidate", f"Unusable candidate: {error}") from None
            return
        await self._hang_up(member)
        attempt = self.attempts[member.peer_id] = self.attempts.get(member.peer_id, 0) + 1
        recording = _PeerRecording(self, room, member, attempt)
        peer = ServerPeer(
            rtc_configuration(self.ice, member.peer_id, self.clock()),
            {"audio": recording.sink(AUDIO), "video": recording.sink(VIDEO)},
            record_video=room.record_video,
        )
        self.peers[member.peer_id] = (peer, recording)
        try:
            sdp = await peer.answer(message["sdp"])
        except Exception as error:  # aiortc refuses unusable SDP with assorted exception types
            await self._hang_up(member)
            raise RoomError("bad_offer", f"The offer could not be used: {error}") from None
        except BaseException:
            await self._hang_up(member)  # cancelled mid-answer: close what was gathered
            raise
        member.send({"type": "answer", "from": SERVER_PEER, "sdp": sdp})
        if self.on_peer is not None:
            await self.on_peer(room, member, peer)

    async def register(self, room: Room, member: Member, recorder: TrackRecorder) -> int:
        """Add a track's row once its first frame is in (so offsets are real)."""
        started = self.clock()
        opened = room.opened_at or started
        async with self.sessionmaker() as session, session.begin():
            row = Recording(
                interview_id=room.interview_id,
                participant_id=member.entrant.participant_id,
                user_id=member.entrant.user_id,
                peer_id=member.peer_id,
                kind=recorder.format.kind,
                path=str(recorder.path.relative_to(self.recordings_dir)),
                content_type=recorder.format.content_type,
                started_at=started,
                offset_ms=max(0, round((started - opened).total_seconds() * 1000)),
            )
            session.add(row)
            await session.flush()
            return row.id

    async def finish(self, row_id: int, ended: datetime) -> None:
        """Note when a track stopped."""
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Recording).where(Recording.id == row_id).values(ended_at=ended)
            )

    async def _hang_up(self, member: Member) -> None:
        found = self.peers.pop(member.peer_id, None)
        if found is None:
            return
        # Closing runs in a task of its own that the caller's cancellation cannot stop: a
        # connection handler cancelled mid-close (a browser gone, a server shutting down)
        # would leave aiortc's close() half done, and it cannot be resumed (a second call
        # waits forever), so the peer's ICE sockets and decoder threads stayed behind.
        task = asyncio.get_running_loop().create_task(self._close_peer(*found))
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)
        await asyncio.shield(task)

    async def _close_peer(self, peer: ServerPeer, recording: _PeerRecording) -> None:
        try:
            await peer.close()
        finally:
            await recording.close()

    async def left(self, room: Room, member: Member) -> None:
        """Close a departed member's peer and finish its files."""
        await self._hang_up(member)
        self.attempts.pop(member.peer_id, None)

    async def room_closed(self, room: Room) -> None:
        """Close every peer of a room."""
        for peer_id, (_peer, recording) in list(self.peers.items()):
            if recording.room is room:
                await self._hang_up(recording.member)
                self.attempts.pop(peer_id, None)

    async def close(self) -> None:
        """Shut down: hang up everyone, then let the writers finish the files."""
        for _peer, recording in list(self.peers.values()):
            await self._hang_up(recording.member)
        if self.closing:
            await asyncio.gather(*self.closing, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown, True)
