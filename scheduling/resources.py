"""The tables of who can hold an interview when: consulate interview hours, interpreter
profiles and facility video rooms, with weekly windows and dated exceptions.

Windows and exceptions of all three kinds share two tables keyed by (owner_kind,
owner_id): slot search loads them in one indexed query each, and every owner's set is
always replaced as a whole by `availability.py`, which also removes them with their owner.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interviews.db import Base


class OwnerKind(StrEnum):
    """Whose availability a window or exception describes."""

    CONSULATE = "consulate"
    INTERPRETER = "interpreter"  # owner_id is the interpreter's user id
    ROOM = "room"


class Proficiency(StrEnum):
    """How well an interpreter speaks a language; slot search prefers the first."""

    NATIVE = "native"
    FLUENT = "fluent"
    WORKING = "working"

    @property
    def rank(self) -> int:
        """0 for native, 1 fluent, 2 working: lower is preferred."""
        return list(Proficiency).index(self)


class ConsulateSchedule(Base):
    """How a consulate runs interviews: length, buffer between them, notice and grid."""

    __tablename__ = "consulate_schedules"

    consulate_id: Mapped[int] = mapped_column(
        ForeignKey("consulates.id", ondelete="CASCADE"), primary_key=True
    )
    interview_minutes: Mapped[int] = mapped_column(Integer, default=60)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # Slots start on this grid of the consulate's local clock (e.g. :00 and :30).
    step_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # How far ahead a request must be made, so the consul can prepare.
    notice_minutes: Mapped[int] = mapped_column(Integer, default=120)


class AvailabilityWindow(Base):
    """A weekly window in the owner's local time: weekday 0=Monday, minutes [start, end)."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        Index("ix_availability_windows_owner", "owner_kind", "owner_id"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("start_minute >= 0 AND start_minute < end_minute", name="order"),
        CheckConstraint("end_minute <= 1440", name="end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(Integer)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    # Consulates only: time held for priority (unaccompanied minors') cases.
    priority_only: Mapped[bool] = mapped_column(Boolean, default=False)


class AvailabilityException(Base):
    """A local date (all day, or minutes [start, end)) closed — or open beyond the windows."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (
        Index("ix_availability_exceptions_owner", "owner_kind", "owner_id", "day"),
        CheckConstraint(
            "(start_minute IS NULL AND end_minute IS NULL) OR "
            "(start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440)",
            name="span",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    start_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    end_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")


class InterpreterProfile(Base):
    """An interpreter's working zone, daily maximum and whether they take interviews."""

    __tablename__ = "interpreter_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    time_zone: Mapped[str] = mapped_column(String(64))
    max_per_day: Mapped[int] = mapped_column(Integer, default=4)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    language_rows: Mapped[list[InterpreterLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InterpreterLanguage.language"
    )

    @property
    def languages(self) -> dict[str, str]:
        """ISO 639-3 code → proficiency."""
        return {row.language: row.proficiency for row in self.language_rows}


class InterpreterLanguage(Base):
    """A language an interpreter works in, and how well."""

    __tablename__ = "interpreter_languages"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("interpreter_profiles.user_id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)
    proficiency: Mapped[str] = mapped_column(String(16), default=Proficiency.FLUENT.value)


class VideoRoom(Base):
    """A room at a facility equipped for video interviews; its hours are its own."""

    __tablename__ = "video_rooms"
    __table_args__ = (UniqueConstraint("facility_id", "name", name="uq_video_rooms_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
