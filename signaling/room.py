"""One live room: its members, the hooks media and captions attach to, and its close codes.

`rooms.RoomRegistry` holds the rooms and moves people through them; this module is what a
room and a member are, so the media and caption hosts can speak of them without the
registry.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from signaling.admission import Entrant

log = logging.getLogger(__name__)

OUTBOX_SIZE = 512
# WebSocket close codes of our own (4000-4999 are for applications).
CLOSE_REFUSED = 4403
CLOSE_REPLACED = 4409
CLOSE_ENDED = 4410
CLOSE_WITHDRAWN = 4412  # the interview was cancelled or rescheduled
CLOSE_FULL = 4413
# Browsers send their media to every other party (a mesh): past five, uplinks and CPUs
# of ordinary laptops give out, so a room seats five: the people on the interview (in
# the call or not yet) and the guests let in. Guests waiting to be let in take no seat,
# so they cannot keep out someone invited; at most MAX_WAITING_GUESTS wait at once.
MAX_PARTIES = 5
MAX_WAITING_GUESTS = 5
CLOSE_SLOW = 1013
# What one person may add to the session record: chat messages per session, and one
# quality report (or ICE restart) per peer every REPORT_INTERVAL (the page sends one
# every 10 s).
MAX_CHAT_MESSAGES = 500
REPORT_INTERVAL = timedelta(seconds=5)

Person = tuple[int | None, int | None]  # (participant id, user id): the same across reconnects


class Connection(Protocol):
    """What a room needs of a member's transport."""

    async def close_with(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code."""


@dataclass(eq=False)
class Member:
    """One person's connection to a room."""

    entrant: Entrant
    name: str
    language: str
    connection: Connection
    peer_id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    admitted: bool = False
    audio: bool = True
    video: bool = True
    outbox: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_SIZE)
    )
    closing: bool = False
    # Captions turned on (the `captions` message); `language` is the one they read them in.
    captions: bool = False

    @property
    def person(self) -> Person:
        """Who this is across reconnects: (participant id, user id)."""
        return (self.entrant.participant_id, self.entrant.user_id)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; a member too slow to keep up is cut off."""
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.closing = True
            log.warning("signalling: %s too slow, cut off", self.peer_id)
            asyncio.get_running_loop().create_task(
                self.connection.close_with(CLOSE_SLOW, "too slow")
            )

    def public(self) -> dict[str, Any]:
        """How others see this member in the roster."""
        return {
            "peer": self.peer_id,
            "name": self.name,
            "role": self.entrant.role,
            "language": self.language,
            "invited": self.entrant.invited,
            "host": self.entrant.host,
            "admitted": self.admitted,
            "audio": self.audio,
            "video": self.video,
        }


class MediaHost(Protocol):
    """The server's own media side of a room (recording, captions): see signaling.media."""

    async def admitted(self, room: Room, member: Member) -> None:
        """A member may now send media to the server."""

    async def signal(self, room: Room, member: Member, message: dict[str, Any]) -> None:
        """An offer or candidate a member addressed to the server's peer."""

    async def left(self, room: Room, member: Member) -> None:
        """A member left: close its peer connection."""

    async def room_closed(self, room: Room) -> None:
        """The room is gone: close everything it had."""


class CaptionHost(Protocol):
    """Live captions for the rooms (see signaling.captions_session)."""

    async def choose(self, room: Room, member: Member, on: bool, language: str | None) -> None:
        """A member turned captions on or off, or changed their caption language."""

    async def update(self, room: Room) -> None:
        """Someone came or went, or the room opened: start or stop its captions."""

    async def left(self, room: Room, member: Member) -> None:
        """A member left."""

    async def room_closed(self, room: Room) -> None:
        """The room is gone."""


class Lifecycle(Protocol):
    """Told when a session opens and closes (the summary's assembly jobs hang on this)."""

    async def opened(self, interview_id: int) -> None:
        """The host opened the session."""

    async def closed(self, interview_id: int, reason: str) -> None:
        """The session closed: `ended` by the host, or everyone `left` an open session."""


class RoomError(Exception):
    """A message the room refuses, with a code for the error reply."""

    def __init__(self, code: str, message: str, close_code: int = CLOSE_REFUSED) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # How a refused join closes the connection (the page shows why by this code).
        self.close_code = close_code


@dataclass(eq=False)
class Room:
    """One interview's live session."""

    interview_id: int
    record_video: bool
    state: str = "lobby"  # lobby | open | ended
    opened_at: datetime | None = None
    members: dict[str, Member] = field(default_factory=dict)
    # People let in once stay let in when they reconnect.
    admitted_people: set[Person] = field(default_factory=set)
    # People the host turned away: refused again when they come back.
    refused_people: set[Person] = field(default_factory=set)
    # For the caps on what each person adds to the record (see MAX_CHAT_MESSAGES).
    chat_counts: Counter[Person] = field(default_factory=Counter)
    last_reports: dict[tuple[Person, str, Person], datetime] = field(default_factory=dict)

    def holds_seat(self, member: Member) -> bool:
        """Invited people and guests let in count toward MAX_PARTIES; waiting guests not."""
        return member.entrant.invited or member.admitted or member.person in self.admitted_people

    def no_place_for(self, member: Member, *, joining: bool = True) -> bool:
        """Whether `member` would take a seat (or a waiting place) there is none left of."""
        others = [m for m in self.members.values() if m.person != member.person]
        if self.holds_seat(member) or not joining:
            return sum(self.holds_seat(m) for m in others) >= MAX_PARTIES
        return sum(not self.holds_seat(m) for m in others) >= MAX_WAITING_GUESTS

    def admitted_members(self) -> list[Member]:
        """Members in the call (past the lobby)."""
        return [m for m in self.members.values() if m.admitted]

    def roster(self) -> dict[str, Any]:
        """Everyone in the room, as every member sees it."""
        return {
            "type": "roster",
            "state": self.state,
            "record_video": self.record_video,
            "recording": self.state == "open",
            "participants": [m.public() for m in self.members.values()],
        }

    def broadcast(self, message: dict[str, Any], *, admitted_only: bool = False) -> None:
        """Send to every member (or only those in the call)."""
        for member in list(self.members.values()):
            if member.admitted or not admitted_only:
                member.send(message)
