"""Live captions in a call: the caption pipeline wired to the rooms and the server's peers.

The rule: a room is captioned while at least one person in the call has turned captions
on (the `captions` message); nothing is decoded or recognised otherwise. While it is,
every admitted participant's audio from the server's receive-only peer feeds the
pipeline in the language they speak — their interview participant record's language (or
a signed-in guest's profile language), never guessed from the audio. Each final caption
goes to every viewer with captions on, with the translation into the language that
viewer reads, and is kept in the session transcript (signaling/transcripts.py).

Everything here runs on the event loop and only queues work: recognition and translation
run in the pipeline's worker threads, WebSocket messages go through each member's outbox,
and transcript rows are written by tasks of their own, so media and signalling never wait
for captions. The speech model is loaded once, on first use, and shared by all rooms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.codes import CodeError, language_name
from signaling.captions.config import CaptionConfig
from signaling.captions.events import (
    Caption,
    CaptionEvent,
    CaptionStatus,
    InterimCaption,
    Translation,
)
from signaling.captions.languages import iso3
from signaling.captions.pipeline import CaptionService, CaptionSession, SpeakerStream
from signaling.room import Member, Room, RoomError
from signaling.server_peer import ServerPeer
from signaling.transcripts import transcript_line

log = logging.getLogger(__name__)

ServiceFactory = Callable[[CaptionConfig], CaptionService]


@dataclass(frozen=True)
class Speaker:
    """Who a caption's speaker id stands for (kept after they leave, for late captions)."""

    peer_id: str
    name: str
    participant_id: int | None
    user_id: int | None


@dataclass(eq=False)
class _RoomCaptions:
    """One captioned room: its pipeline session and the audio streams feeding it."""

    room: Room
    session: CaptionSession
    speakers: dict[str, Speaker] = field(default_factory=dict)
    streams: dict[str, tuple[ServerPeer, SpeakerStream]] = field(default_factory=dict)
    sequence: int = 0


def viewer_language(member: Member) -> str | None:
    """The ISO 639-3 language a member reads captions in (None if it is not a known code)."""
    try:
        return iso3(member.language)
    except CodeError:
        return None


class LiveCaptions:
    """Captions for every room of one app (an AppKey resource; see web/routes/signaling_ws)."""

    def __init__(
        self,
        config: CaptionConfig,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        *,
        peer_for: Callable[[Member], ServerPeer | None],
        service_factory: ServiceFactory = CaptionService,
    ) -> None:
        self.config = config
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.peer_for = peer_for
        self.service_factory = service_factory
        self.service: CaptionService | None = None
        self.warming: asyncio.Task[None] | None = None
        self.rooms: dict[int, _RoomCaptions] = {}
        # Transcript writes still running; close() waits for them before the database goes.
        self.writes: set[asyncio.Task[None]] = set()

    async def _service(self) -> CaptionService:
        """The shared pipeline, created on the first captioned room (models load lazily)."""
        if self.service is None:
            self.service = self.service_factory(self.config)
            await self.service.start()
            # Load the speech model now, in a thread, rather than when the first utterance
            # ends: loading holds the interpreter long enough to disturb audio arriving then.
            self.warming = asyncio.get_running_loop().create_task(self._warm_up(self.service))
        return self.service

    @staticmethod
    async def _warm_up(service: CaptionService) -> None:
        try:
            await service.warm_up()
        except Exception:  # no model: each speaker's viewers are told when they attach
            log.exception("captions: the speech model could not be loaded")

    # -- what the rooms and the server's peers tell us ---------------------------------

    async def choose(self, room: Room, member: Member, on: bool, language: str | None) -> None:
        """A member turned captions on or off, or chose the language they read them in."""
        if language is not None:
            try:
                iso3(language)
            except CodeError:
                raise RoomError(
                    "unknown_language", f"{language!r} is not an ISO 639 language code."
                ) from None
            member.language = language
        member.captions = on
        member.send({"type": "captions", "on": on, "language": member.language})
        await self.update(room)

    async def update(self, room: Room) -> None:
        """Start or stop a room's captions, and keep its translation languages current."""
        viewers = self._viewers(room)
        captioned = self.rooms.get(room.interview_id)
        if not viewers or room.state != "open":
            if captioned is not None:
                self._stop(captioned)
            return
        if captioned is None:
            service = await self._service()
            # Events arrive through the loop's queue, so `made` is filled before the first one.
            made: list[_RoomCaptions] = []
            session = service.open_session(
                str(room.interview_id), lambda event: self._deliver(made[0], event)
            )
            captioned = _RoomCaptions(room, session)
            made.append(captioned)
            self.rooms[room.interview_id] = captioned
            for member in room.admitted_members():
                peer = self.peer_for(member)
                if peer is not None:
                    self._attach(captioned, member, peer)
        captioned.session.set_languages(
            {code for code in map(viewer_language, viewers) if code is not None}
        )

    async def peer_ready(self, room: Room, member: Member, peer: ServerPeer) -> None:
        """The server's peer with a member is up (a new or replacing connection)."""
        captioned = self.rooms.get(room.interview_id)
        if captioned is None:
            await self.update(room)
            return
        self._attach(captioned, member, peer)

    async def left(self, room: Room, member: Member) -> None:
        """A member left: their stream ends with their peer; maybe nobody reads any more."""
        captioned = self.rooms.get(room.interview_id)
        if captioned is not None:
            found = captioned.streams.pop(member.peer_id, None)
            if found is not None:
                found[0].detach_audio(found[1])
        await self.update(room)

    async def room_closed(self, room: Room) -> None:
        """The room ended: stop its captions."""
        captioned = self.rooms.get(room.interview_id)
        if captioned is not None and captioned.room is room:
            self._stop(captioned)

    async def close(self) -> None:
        """Shutdown: stop every room, wait for transcript writes, stop the pipeline."""
        for captioned in list(self.rooms.values()):
            self._stop(captioned)
        if self.writes:
            await asyncio.wait(self.writes, timeout=5)
        if self.warming is not None:
            await self.warming
        if self.service is not None:
            await self.service.close()

    # -- inside -------------------------------------------------------------------------

    @staticmethod
    def _viewers(room: Room) -> list[Member]:
        return [m for m in room.admitted_members() if m.captions and not m.closing]

    def _attach(self, captioned: _RoomCaptions, member: Member, peer: ServerPeer) -> None:
        old = captioned.streams.pop(member.peer_id, None)
        if old is not None:
            old[0].detach_audio(old[1])
        try:
            spoken = iso3(member.entrant.language)
        except CodeError:
            log.warning("captions: %s has no known language; not captioned", member.peer_id)
            return
        opened = captioned.room.opened_at or self.clock()
        offset = max(0.0, (self.clock() - opened).total_seconds())
        captioned.speakers[member.peer_id] = Speaker(
            member.peer_id, member.name, member.entrant.participant_id, member.entrant.user_id
        )
        stream = captioned.session.add_speaker(member.peer_id, spoken, offset_s=offset)
        captioned.streams[member.peer_id] = (peer, stream)
        peer.attach_audio(stream)

    def _stop(self, captioned: _RoomCaptions) -> None:
        self.rooms.pop(captioned.room.interview_id, None)
        for peer, stream in captioned.streams.values():
            peer.detach_audio(stream)
        captioned.streams.clear()
        captioned.session.close()

    def _deliver(self, captioned: _RoomCaptions, event: CaptionEvent) -> None:
        """A pipeline event, on the event loop: to each viewer, and finals to the transcript."""
        viewers = self._viewers(captioned.room)
        if isinstance(event, CaptionStatus):
            notice = {
                "type": "caption_status",
                "kind": event.kind,
                "message": event.message,
                "speaker": event.speaker,
            }
            for viewer in viewers:
                viewer.send(notice)
            return
        speaker = captioned.speakers.get(event.speaker)
        base: dict[str, Any] = {
            "type": "caption",
            "speaker": event.speaker,
            "name": speaker.name if speaker else "",
            "language": event.language,
            "offset": event.offset_s,
            "text": event.text,
            "machine": True,
        }
        if isinstance(event, InterimCaption):
            for viewer in viewers:
                viewer.send({**base, "final": False, "translation": None})
            return
        captioned.sequence += 1
        base.update(
            id=captioned.sequence,
            final=True,
            delayed=event.delayed,
            confidence=round(event.confidence, 3),
        )
        for viewer in viewers:
            viewer.send({**base, "translation": _translation_for(viewer, event)})
        if speaker is not None:
            self._keep(captioned.room.interview_id, event, speaker)

    def _keep(self, interview_id: int, caption: Caption, speaker: Speaker) -> None:
        task = asyncio.get_running_loop().create_task(self._write(interview_id, caption, speaker))
        self.writes.add(task)
        task.add_done_callback(self.writes.discard)

    async def _write(self, interview_id: int, caption: Caption, speaker: Speaker) -> None:
        row = transcript_line(
            interview_id,
            caption,
            self.clock(),
            participant_id=speaker.participant_id,
            user_id=speaker.user_id,
            peer_id=speaker.peer_id,
            name=speaker.name,
        )
        try:
            async with self.sessionmaker() as session, session.begin():
                session.add(row)
        except Exception:  # a lost row must not take captions down; the operator is told
            log.exception("captions: transcript row for interview %s not stored", interview_id)


def _translation_for(viewer: Member, caption: Caption) -> dict[str, Any] | None:
    """What one viewer reads beside the original: None when they read the speech language."""
    language = viewer_language(viewer)
    if language is None or language == caption.language:
        return None
    found = caption.translations.get(language)
    if found is None:  # chosen after this caption was translated
        found = Translation(
            language,
            caption.text,
            "missing",
            notice=f"Not translated into {language_name(language)} yet: "
            "translations start with the next caption.",
        )
    return {
        "language": found.language,
        "text": found.text,
        "status": found.status,
        "engine": found.engine,
        "notice": found.notice,
    }
