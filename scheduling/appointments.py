"""Interview bookings and the people invited to each.

An interview holds a consul, at most one interpreter and one video room from `starts_at`
until `busy_until` (its end plus the consulate's buffer) while it is requested or
confirmed. Overlap queries are indexed range scans on (resource, starts_at), bounded
below by `MAX_SPAN` — no interview with its buffer is longer than that.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interviews.db import Base, UTCDateTime, utcnow

MAX_SPAN = timedelta(hours=12)


class InterviewStatus(StrEnum):
    """Where a booking stands."""

    REQUESTED = "requested"  # waiting for the consul
    CONFIRMED = "confirmed"
    DECLINED = "declined"  # the consul said no, with a reason
    CANCELLED = "cancelled"  # by staff, the consul, or because nobody answered in time
    NO_SHOW = "no_show"  # nobody joined within the grace period

    @property
    def active(self) -> bool:
        """True while the interview holds its consul, interpreter and room."""
        return self in ACTIVE


ACTIVE = frozenset({InterviewStatus.REQUESTED, InterviewStatus.CONFIRMED})
ACTIVE_VALUES = tuple(status.value for status in ACTIVE)


class ParticipantRole(StrEnum):
    """Why a person is invited."""

    CONSUL = "consul"
    INTERPRETER = "interpreter"
    STAFF = "staff"


def new_uid() -> str:
    """A globally unique calendar UID, kept across reschedules so calendars update in place."""
    return f"{uuid.uuid4()}@consulink"


def new_nonce() -> str:
    """A random value bound into a person's join link; changing it revokes the link."""
    return secrets.token_urlsafe(16)


class Interview(Base):
    """One booked (or once-booked) interview."""

    __tablename__ = "interviews"
    __table_args__ = (
        # (resource, status, start): "this resource's active bookings in a range" is two
        # equality terms and a range on one index, which SQLite's planner prefers; with
        # the end of the hold too, slot search reads its busy times from the index alone.
        Index("ix_interviews_consul_start", "consul_id", "status", "starts_at", "busy_until"),
        Index(
            "ix_interviews_interpreter_start",
            "interpreter_id",
            "status",
            "starts_at",
            "busy_until",
        ),
        Index("ix_interviews_room_start", "room_id", "status", "starts_at", "busy_until"),
        Index("ix_interviews_status_start", "status", "starts_at"),
        Index("ix_interviews_facility_start", "facility_id", "starts_at"),
        Index("ix_interviews_consulate_start", "consulate_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(80), unique=True, default=new_uid)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    consulate_id: Mapped[int] = mapped_column(ForeignKey("consulates.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    consul_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    interpreter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The person's language the interpreter covers (None when no interpreter is needed).
    language: Mapped[str | None] = mapped_column(String(3), nullable=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("video_rooms.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    busy_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=InterviewStatus.REQUESTED.value)
    priority_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # The iCalendar SEQUENCE: bumped on every change attendees must see.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why it was declined, cancelled or last rescheduled.
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participants: Mapped[list[Participant]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Participant.id"
    )

    @property
    def interview_status(self) -> InterviewStatus:
        """The status as an enum member."""
        return InterviewStatus(self.status)

    def current_participants(self) -> list[Participant]:
        """Those still invited (people replaced by a reschedule are kept, marked removed)."""
        return [p for p in self.participants if not p.removed]


class Participant(Base):
    """A person invited to an interview, with what their invitation needs."""

    __tablename__ = "interview_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    token_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


async def case_interviews(
    session: AsyncSession, case_id: int, *, consulate_id: int | None = None
) -> list[Interview]:
    """A case's interviews, newest first; a consulate sees only its own."""
    query = select(Interview).where(Interview.case_id == case_id)
    if consulate_id is not None:
        query = query.where(Interview.consulate_id == consulate_id)
    rows = await session.scalars(query.order_by(Interview.starts_at.desc()))
    return list(rows.all())
