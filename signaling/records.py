"""What a live session leaves behind: its event record, its chat, and its recordings.

The summary (a later issue) reads these: who joined and left when, admissions and
refusals, reconnects and connection quality, the chat, and one row per recorded track
with its offset from the session's start so tracks can be played in sync.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base, UTCDateTime


class EventKind(StrEnum):
    """Things the session record keeps."""

    JOIN = "join"
    LEAVE = "leave"
    ADMIT = "admit"
    REFUSE = "refuse"
    RECONNECT = "reconnect"
    RESTART = "restart"  # an ICE restart on one peer connection
    QUALITY = "quality"
    OPEN = "open"
    END = "end"
    CUT_OFF = "cut_off"  # the server closed a misbehaving connection


class SessionEvent(Base):
    """One event of a live session, with its time."""

    __tablename__ = "session_events"
    __table_args__ = (Index("ix_session_events_interview_at", "interview_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    # Who it concerns: an invited participant, or a signed-in guest (user), or neither.
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("interview_participants.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    peer_id: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(80), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def detail(self) -> dict[str, Any]:
        """The details as a dict."""
        loaded: dict[str, Any] = json.loads(self.details)
        return loaded


class ChatMessage(Base):
    """A text message sent during a session, kept with it."""

    __tablename__ = "session_chat_messages"
    __table_args__ = (Index("ix_session_chat_messages_interview_at", "interview_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("interview_participants.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)


class Recording(Base):
    """One recorded track of one participant: a file under <data-dir>/recordings/."""

    __tablename__ = "session_recordings"
    __table_args__ = (Index("ix_session_recordings_interview", "interview_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("interview_participants.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    peer_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))  # audio | video
    # Relative to <data-dir>/recordings, so the data folder can move.
    path: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Milliseconds from the session's opening to this track's first sample.
    offset_ms: Mapped[int] = mapped_column(Integer)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


async def add_event(
    session: AsyncSession,
    interview_id: int,
    kind: EventKind,
    at: datetime,
    *,
    participant_id: int | None = None,
    user_id: int | None = None,
    peer_id: str = "",
    name: str = "",
    details: dict[str, Any] | None = None,
) -> SessionEvent:
    """Append one event to a session's record."""
    event = SessionEvent(
        interview_id=interview_id,
        at=at,
        kind=kind.value,
        participant_id=participant_id,
        user_id=user_id,
        peer_id=peer_id,
        name=name[:80],
        details=json.dumps(details or {}, sort_keys=True),
    )
    session.add(event)
    await session.flush()
    return event


async def session_events(session: AsyncSession, interview_id: int) -> list[SessionEvent]:
    """A session's record, oldest first."""
    rows = await session.scalars(
        select(SessionEvent)
        .where(SessionEvent.interview_id == interview_id)
        .order_by(SessionEvent.at, SessionEvent.id)
    )
    return list(rows)


async def chat_messages(session: AsyncSession, interview_id: int) -> list[ChatMessage]:
    """A session's chat, oldest first."""
    rows = await session.scalars(
        select(ChatMessage)
        .where(ChatMessage.interview_id == interview_id)
        .order_by(ChatMessage.at, ChatMessage.id)
    )
    return list(rows)


async def recordings(session: AsyncSession, interview_id: int) -> list[Recording]:
    """A session's recorded tracks, in the order they started."""
    rows = await session.scalars(
        select(Recording)
        .where(Recording.interview_id == interview_id)
        .order_by(Recording.started_at, Recording.id)
    )
    return list(rows)


async def session_ended(session: AsyncSession, interview_id: int, sequence: int) -> bool:
    """True once the host has ended the session of the interview as it is now scheduled.

    An END names the interview's `sequence` (rows from before it was kept count as 0): a
    session ended, then rescheduled, can be held at its new time.
    """
    rows = await session.scalars(
        select(SessionEvent.details).where(
            SessionEvent.interview_id == interview_id, SessionEvent.kind == EventKind.END.value
        )
    )
    return any(json.loads(details).get("sequence", 0) == sequence for details in rows)
