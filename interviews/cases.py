"""Cases: one detained person whose identity a consulate is asked to establish.

A case belongs to one facility. Its status moves along the path in `case_status`; its
documents live in `documents`, its disclosures to consulates in `sharing`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from interviews.db import Base, UTCDateTime, utcnow


class CaseStatus(StrEnum):
    """Where a case stands; the allowed moves are in `case_status.TRANSITIONS`."""

    OPEN = "open"
    INTERVIEW_REQUESTED = "interview_requested"
    INTERVIEW_HELD = "interview_held"
    IDENTITY_CONFIRMED = "identity_confirmed"
    IDENTITY_NOT_CONFIRMED = "identity_not_confirmed"
    MORE_INFORMATION_NEEDED = "more_information_needed"
    TRAVEL_DOCUMENT_REQUESTED = "travel_document_requested"
    TRAVEL_DOCUMENT_ISSUED = "travel_document_issued"
    CLOSED_RETURNED = "closed_returned"
    CLOSED_RELEASED = "closed_released"
    CLOSED_TRANSFERRED = "closed_transferred"

    @property
    def closed(self) -> bool:
        """True for the three final states."""
        return self.value.startswith("closed_")


CLOSED_STATUSES = frozenset(status for status in CaseStatus if status.closed)
ACTIVE_STATUSES = frozenset(CaseStatus) - CLOSED_STATUSES


class Sex(StrEnum):
    """Sex as recorded by the facility (as the person states it, or unknown)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class QueuePriority:
    """Queue order: unaccompanied minors first, then minors, then everyone else."""

    UNACCOMPANIED_MINOR = 0
    MINOR = 1
    ADULT = 2


def queue_priority(*, minor: bool, unaccompanied_minor: bool) -> int:
    """The queue rank a case's flags give it (lower comes first)."""
    if unaccompanied_minor:
        return QueuePriority.UNACCOMPANIED_MINOR
    if minor:
        return QueuePriority.MINOR
    return QueuePriority.ADULT


class Case(Base):
    """A detained person whose identity is to be established."""

    __tablename__ = "cases"
    __table_args__ = (
        # The work queue: a facility's cases in queue order, paged by keyset on these columns.
        Index("ix_cases_queue", "facility_id", "queue_priority", "deadline", "id"),
        # The same order across facilities (admins).
        Index("ix_cases_queue_all", "queue_priority", "deadline", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    given_names: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    aliases: Mapped[str] = mapped_column(Text, default="")
    sex: Mapped[str] = mapped_column(String(16), default=Sex.UNKNOWN.value)
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    estimated_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    claimed_nationality: Mapped[str] = mapped_column(String(2), index=True)
    # ISO 3166-1 alpha-2 codes, in the order given; filters use claimed_nationality only.
    other_nationalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A row of `documents`; no foreign key because documents point back at cases.
    photo_document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detention_date: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    unaccompanied_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    asylum_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    trafficking_victim: Mapped[bool] = mapped_column(Boolean, default=False)
    medical_needs: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default=CaseStatus.OPEN.value)
    # Derived from the flags on every write (see the mapper events below); indexed for the queue.
    queue_priority: Mapped[int] = mapped_column(Integer, default=QueuePriority.ADULT)
    # Bumped on every edit, so a stale form cannot silently overwrite a newer one.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    language_rows: Mapped[list[CaseLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseLanguage.position"
    )

    @property
    def languages(self) -> list[str]:
        """ISO 639-3 codes of the languages the person speaks, the main one first."""
        return [row.language for row in self.language_rows]

    @property
    def full_name(self) -> str:
        """Given names and family name as one line (may be empty when unknown)."""
        return " ".join(part for part in (self.given_names, self.family_name) if part)

    @property
    def case_status(self) -> CaseStatus:
        """The status as an enum member."""
        return CaseStatus(self.status)


class CaseLanguage(Base):
    """A language the person speaks, with a free note (dialect, level)."""

    __tablename__ = "case_languages"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class CaseStatusChange(Base):
    """One move of a case's status: who, when, from where to where, and why."""

    __tablename__ = "case_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    user_name: Mapped[str] = mapped_column(String(200), default="")
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")


class CaseReferenceCounter(Base):
    """The last number handed out for a reference prefix in a year (TAP-2026-0007)."""

    __tablename__ = "case_reference_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


@event.listens_for(Case, "before_insert")
@event.listens_for(Case, "before_update")
def _derive_priority(_mapper: Mapper[Any], _connection: Any, target: Case) -> None:
    # An unaccompanied minor is a minor; the queue rank always follows the flags.
    if target.unaccompanied_minor:
        target.minor = True
    target.queue_priority = queue_priority(
        minor=bool(target.minor), unaccompanied_minor=bool(target.unaccompanied_minor)
    )
