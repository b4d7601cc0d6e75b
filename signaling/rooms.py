"""Live rooms: who is in each session, the lobby, admission, and message routing.

One `Room` (signaling/room.py) per interview, held by the app's `RoomRegistry` (an
AppKey, never a module global). A member is one WebSocket connection; messages go out
through the member's bounded outbox so one slow browser never holds up the others. Peers
can only address members of their own room: there is no lookup across rooms at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.joining import note_entry
from signaling.records import ChatMessage, EventKind, add_event
from signaling.room import (
    CLOSE_ENDED,
    CLOSE_FULL,
    CLOSE_REFUSED,
    CLOSE_REPLACED,
    CLOSE_WITHDRAWN,
    MAX_CHAT_MESSAGES,
    REPORT_INTERVAL,
    CaptionHost,
    Lifecycle,
    MediaHost,
    Member,
    Room,
    RoomError,
)

log = logging.getLogger(__name__)

# How long a room's window timer naps between looks at the clock (wall time may jump).
WINDOW_CHECK_S = 60.0


class RoomRegistry:
    """All live rooms of one app; the single entry point the WebSocket handler uses."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        *,
        record_video: bool,
        media: MediaHost | None = None,
        captions: CaptionHost | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        self.rooms: dict[int, Room] = {}
        self.lifecycle = lifecycle
        # Set at server shutdown: people dropped by a restart have not "left" the session.
        self.shutting_down = False
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.record_video = record_video
        self.media = media
        self.captions = captions
        # Connection handlers still running; shutdown waits for their last database writes.
        self.handlers: set[asyncio.Task[Any]] = set()
        # Per interview: when its join window closes, and the task that withdraws its room then.
        self.closers: dict[int, tuple[datetime, asyncio.Task[None]]] = {}

    def room(self, interview_id: int) -> Room:
        """The room of an interview, created on first use."""
        found = self.rooms.get(interview_id)
        if found is None:
            found = self.rooms[interview_id] = Room(interview_id, self.record_video)
        return found

    async def record(
        self, room: Room, kind: EventKind, member: Member | None, **details: Any
    ) -> None:
        """Append to the session record (one short transaction)."""
        at = self.clock()
        async with self.sessionmaker() as session, session.begin():
            await add_event(
                session,
                room.interview_id,
                kind,
                at,
                participant_id=member.entrant.participant_id if member else None,
                user_id=member.entrant.user_id if member else None,
                peer_id=member.peer_id if member else "",
                name=member.name if member else "",
                details=details,
            )
            entered = kind in (EventKind.JOIN, EventKind.RECONNECT)
            if entered and member is not None and member.entrant.participant_id is not None:
                # However they came in (link, pass, sign-in), they came: no "no-show".
                await note_entry(session, room.interview_id, member.entrant.participant_id, at)

    async def join(self, room: Room, member: Member, *, rejoin: bool) -> None:
        """Enter the room: straight in when allowed, else wait in the lobby."""
        if room.state == "ended":
            raise RoomError("ended", "The host has ended this session.")
        if member.person in room.refused_people:
            raise RoomError("refused", "The host did not let you into this session.")
        if room.no_place_for(member):
            raise RoomError(
                "full", "This session already has five people, the most it can hold.", CLOSE_FULL
            )
        returning = member.person in room.admitted_people
        for other in list(room.members.values()):
            if other.person == member.person:  # a reload or a second tab: keep the newest
                returning = True
                await self.remove(room, other, replaced=True)
                other.closing = True
                await other.connection.close_with(CLOSE_REPLACED, "joined elsewhere")
        room.members[member.peer_id] = member
        self._close_at(room, member.entrant.until)
        member.admitted = (
            member.entrant.host
            or member.person in room.admitted_people
            or (room.state == "open" and member.entrant.invited)
        )
        kind = EventKind.RECONNECT if (rejoin or returning) else EventKind.JOIN
        await self.record(room, kind, member, role=member.entrant.role)
        member.send(self._welcome(room, member))
        await self._after_admission(room, member)
        room.broadcast(room.roster())

    def _close_at(self, room: Room, until: datetime) -> None:
        """Withdraw the room when its join window closes: a call nobody ended (or an open
        room left empty) must not go on recording for ever."""
        current = self.closers.get(room.interview_id)
        if current is not None and current[0] == until:
            return
        self._cancel_closer(room.interview_id)
        task = asyncio.get_running_loop().create_task(self._close_when_due(room, until))
        self.closers[room.interview_id] = (until, task)

    async def _close_when_due(self, room: Room, until: datetime) -> None:
        # Naps on the loop's clock, decides on the app's: wall time may jump meanwhile.
        while True:
            left = (until - self.clock()).total_seconds()
            if left <= 0:
                break
            await asyncio.sleep(min(left, WINDOW_CHECK_S))
        self.closers.pop(room.interview_id, None)
        if self.rooms.get(room.interview_id) is not room:
            return
        try:
            await self.withdraw(room.interview_id, "window_closed")
        except Exception:
            log.exception("closing session %s at the end of its window failed", room.interview_id)

    def _cancel_closer(self, interview_id: int) -> None:
        found = self.closers.pop(interview_id, None)
        if found is not None and found[1] is not asyncio.current_task():
            found[1].cancel()

    def _welcome(self, room: Room, member: Member) -> dict[str, Any]:
        return {
            "type": "welcome",
            "peer": member.peer_id,
            "role": member.entrant.role,
            "host": member.entrant.host,
            "admitted": member.admitted,
            "state": room.state,
            "record_video": room.record_video,
        }

    async def _after_admission(self, room: Room, member: Member) -> None:
        if not member.admitted:
            return
        room.admitted_people.add(member.person)
        member.send({"type": "admitted", "record_video": room.record_video})
        if self.media is not None and room.state == "open":
            await self.media.admitted(room, member)
        if self.captions is not None and room.state == "open":
            await self.captions.update(room)  # they may have turned captions on in the lobby

    async def open(self, room: Room, host: Member, record_video: bool | None) -> None:
        """Host: start the session; invited people waiting in the lobby come in."""
        self._host_only(host)
        if room.state != "lobby":
            raise RoomError("already_open", "The session is already open.")
        if record_video is not None:
            room.record_video = record_video
        room.state = "open"
        room.opened_at = self.clock()
        await self.record(room, EventKind.OPEN, host, record_video=room.record_video)
        await self._tell("opened", room.interview_id)
        for member in list(room.members.values()):
            if member.entrant.invited and not member.admitted:
                member.admitted = True
            if member.admitted:
                await self._after_admission(room, member)
        room.broadcast(room.roster())

    async def admit(self, room: Room, host: Member, peer_id: str) -> None:
        """Host: let a waiting person in."""
        self._host_only(host)
        target = self._waiting(room, peer_id)
        if room.no_place_for(target, joining=False):
            raise RoomError("full", "The session already has five people; one must leave first.")
        target.admitted = True
        await self.record(room, EventKind.ADMIT, target, by=host.peer_id)
        await self._after_admission(room, target)
        room.broadcast(room.roster())

    async def refuse(self, room: Room, host: Member, peer_id: str) -> None:
        """Host: turn away a waiting person who is not on the interview."""
        self._host_only(host)
        target = self._waiting(room, peer_id)
        if target.entrant.invited:
            raise RoomError("invited", "People on the interview cannot be refused.")
        await self.record(room, EventKind.REFUSE, target, by=host.peer_id)
        room.refused_people.add(target.person)
        target.send({"type": "refused"})
        await self.remove(room, target)
        target.closing = True
        await target.connection.close_with(CLOSE_REFUSED, "refused by the host")
        room.broadcast(room.roster())

    def _host_only(self, member: Member) -> None:
        if not member.entrant.host:
            raise RoomError("not_host", "Only the host may do this.")

    def _waiting(self, room: Room, peer_id: str) -> Member:
        target = room.members.get(peer_id)
        if target is None:
            raise RoomError("unknown_peer", "There is nobody with that id in this session.")
        if target.admitted:
            raise RoomError("already_admitted", "That person is already in the call.")
        return target

    async def relay(self, room: Room, sender: Member, message: dict[str, Any]) -> None:
        """Pass an offer, answer or candidate to one peer of the same room."""
        if not sender.admitted or room.state != "open":
            raise RoomError("not_admitted", "Wait until the host lets you in.")
        to = message["to"]
        if to == "server":
            if self.media is None:
                raise RoomError("unknown_peer", "This server takes no media.")
            await self.media.signal(room, sender, message)
            return
        target = room.members.get(to)
        if target is None or target is sender:
            raise RoomError("unknown_peer", "There is nobody with that id in this session.")
        if not target.admitted:
            raise RoomError("not_admitted_peer", "That person is still in the lobby.")
        target.send({**{k: v for k, v in message.items() if k != "to"}, "from": sender.peer_id})

    async def set_media(self, room: Room, member: Member, audio: bool, video: bool) -> None:
        """Someone muted or unmuted, or turned their camera on or off."""
        member.audio, member.video = audio, video
        if not member.admitted:
            return  # kept for the roster once they are let in; the call does not hear of it
        room.broadcast({"type": "media", "peer": member.peer_id, "audio": audio, "video": video})

    async def report(
        self, room: Room, member: Member, kind: EventKind, peer: str, **details: Any
    ) -> None:
        """Record a quality report or an ICE restart toward another member of the call."""
        if not member.admitted or room.state != "open":
            raise RoomError("not_admitted", "Wait until the host lets you in.")
        target = room.members.get(peer)
        if target is None or target is member or not target.admitted:
            raise RoomError("unknown_peer", "There is nobody with that id in the call.")
        now, key = self.clock(), (member.person, kind.value, target.person)
        last = room.last_reports.get(key)
        if last is not None and now - last < REPORT_INTERVAL:
            raise RoomError("too_frequent", "At most one report per peer every 5 seconds.")
        room.last_reports[key] = now
        await self.record(room, kind, member, peer=peer, **details)

    async def chat(self, room: Room, member: Member, text: str) -> None:
        """Keep a chat message with the session and show it to everyone in the call."""
        if not member.admitted:
            raise RoomError("not_admitted", "Wait until the host lets you in.")
        if room.chat_counts[member.person] >= MAX_CHAT_MESSAGES:
            raise RoomError("chat_limit", f"At most {MAX_CHAT_MESSAGES} chat messages each.")
        room.chat_counts[member.person] += 1
        at = self.clock()
        async with self.sessionmaker() as session, session.begin():
            row = ChatMessage(
                interview_id=room.interview_id,
                at=at,
                participant_id=member.entrant.participant_id,
                user_id=member.entrant.user_id,
                name=member.name,
                text=text,
            )
            session.add(row)
            await session.flush()
            row_id = row.id
        room.broadcast(
            {
                "type": "chat",
                "id": row_id,
                "from": member.peer_id,
                "name": member.name,
                "text": text,
                "at": at.isoformat(),
            },
            admitted_only=True,
        )

    async def choose_captions(
        self, room: Room, member: Member, on: bool, language: str | None
    ) -> None:
        """Someone turned their captions on or off, or chose their caption language."""
        if self.captions is None:
            raise RoomError("captions_unavailable", "This server has no live captions.")
        await self.captions.choose(room, member, on, language)
        room.broadcast(room.roster())  # the roster shows each person's caption language

    async def end(self, room: Room, host: Member) -> None:
        """Host: end the session for everyone; links stop working."""
        self._host_only(host)
        room.state = "ended"
        await self.record(room, EventKind.END, host, sequence=host.entrant.sequence)
        await self._close_room(room, {"type": "ended"}, CLOSE_ENDED, "ended", summary=True)

    async def withdraw(self, interview_id: int, reason: str) -> None:
        """The interview was cancelled or rescheduled, or its join window closed: everyone's
        right to be here lapsed.

        Unlike `end` the session is not marked ended, so a moved interview can be held
        later; the people are told `reason` and their connections are closed.
        """
        room = self.rooms.get(interview_id)
        if room is None:
            return
        for member in list(room.members.values()):
            await self.record(room, EventKind.LEAVE, member, withdrawn=reason)
        farewell = {"type": "withdrawn", "reason": reason}
        # A session that was held has recordings: its summary is assembled now as well.
        summary = room.opened_at is not None
        await self._close_room(room, farewell, CLOSE_WITHDRAWN, reason, summary=summary)

    async def _close_room(
        self, room: Room, farewell: dict[str, Any], code: int, reason: str, *, summary: bool
    ) -> None:
        members = list(room.members.values())
        for member in members:
            member.send(farewell)
            member.closing = True
        room.members.clear()
        self.rooms.pop(room.interview_id, None)
        self._cancel_closer(room.interview_id)
        if self.captions is not None:
            await self.captions.room_closed(room)
        if self.media is not None:
            await self.media.room_closed(room)
        # After the recordings are closed, so the summary names their ends; before the
        # sockets close, so whoever sees the session end can find the assembly queued.
        if summary:
            await self._tell("closed", room.interview_id, reason)
        await asyncio.gather(*(member.connection.close_with(code, reason) for member in members))

    async def remove(self, room: Room, member: Member, *, replaced: bool = False) -> None:
        """Forget a member whose connection ended; the others are told."""
        if room.members.get(member.peer_id) is not member:
            return
        del room.members[member.peer_id]
        if self.media is not None:
            await self.media.left(room, member)
        if self.captions is not None:
            await self.captions.left(room, member)
        await self.record(room, EventKind.LEAVE, member, replaced=replaced)
        room.broadcast({"type": "left", "peer": member.peer_id})
        room.broadcast(room.roster())
        if not room.members and room.state == "open" and not replaced and not self.shutting_down:
            await self._tell("closed", room.interview_id, "left")
        if not room.members and room.state == "lobby":
            # Nobody waiting any more: forget it. An open room is kept until the host ends
            # it, so a reload or a dropped network comes back to the same open session.
            self.rooms.pop(room.interview_id, None)
            self._cancel_closer(room.interview_id)

    async def _tell(self, hook: str, *args: Any) -> None:
        # The session goes on whatever the summary jobs do: a failure here is logged only.
        if self.lifecycle is None:
            return
        try:
            await getattr(self.lifecycle, hook)(*args)
        except Exception:
            log.exception("session lifecycle hook %s failed for %s", hook, args)

    async def close(self) -> None:
        """Server shutdown: close every room's media and connections."""
        self.shutting_down = True
        for interview_id in list(self.closers):
            self._cancel_closer(interview_id)
        for room in list(self.rooms.values()):
            for member in room.members.values():
                member.closing = True
            await asyncio.gather(
                *(
                    m.connection.close_with(1001, "server shutting down")
                    for m in room.members.values()
                )
            )
            if self.captions is not None:
                await self.captions.room_closed(room)
            if self.media is not None:
                await self.media.room_closed(room)
        self.rooms.clear()
        if self.handlers:
            await asyncio.wait(self.handlers, timeout=5)
