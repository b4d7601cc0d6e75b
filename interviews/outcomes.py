"""The consul's outcome of an interview, and the case status it leads to.

Each save is a new row (the newest is the outcome; older rows are its history). Saving
walks the case along its status path (interviews.case_status) to the status the identity
finding calls for, one recorded step at a time — e.g. interview_requested →
interview_held → identity_confirmed. A finding the path cannot reach from where the case
stands (say, identity confirmed after the case has been closed) is refused whole: the
outcome is not saved and the status does not move, so the two never disagree.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Actor
from interviews.audit import record
from interviews.case_status import TRANSITIONS, TransitionRefused, change_status
from interviews.cases import Case, CaseStatus
from interviews.codes import country
from interviews.db import Base, UTCDateTime


class Identity(StrEnum):
    """What the consul found about the person's identity."""

    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    MORE_INFORMATION_NEEDED = "more_information_needed"


class Nationality(StrEnum):
    """Whether the claimed (or another) nationality was confirmed."""

    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"


class TravelDocument(StrEnum):
    """The consulate's decision on a travel document."""

    ISSUE = "issue"
    REFUSE = "refuse"
    PENDING = "pending"


# The case status each identity finding leads to.
TARGET: dict[Identity, CaseStatus] = {
    Identity.CONFIRMED: CaseStatus.IDENTITY_CONFIRMED,
    Identity.NOT_CONFIRMED: CaseStatus.IDENTITY_NOT_CONFIRMED,
    Identity.MORE_INFORMATION_NEEDED: CaseStatus.MORE_INFORMATION_NEEDED,
}
# Where the walk may start, and the only statuses it may pass *through*: it goes the
# ordinary way (open → interview requested → interview held → finding), never through
# another finding, a travel-document or a closed status, and never closes a case.
_START = frozenset(
    {
        CaseStatus.OPEN,
        CaseStatus.INTERVIEW_REQUESTED,
        CaseStatus.INTERVIEW_HELD,
        CaseStatus.MORE_INFORMATION_NEEDED,
        CaseStatus.IDENTITY_CONFIRMED,
        CaseStatus.IDENTITY_NOT_CONFIRMED,
    }
)
_THROUGH = frozenset({CaseStatus.OPEN, CaseStatus.INTERVIEW_REQUESTED, CaseStatus.INTERVIEW_HELD})


class InterviewOutcome(Base):
    """One saved outcome of an interview (the newest row is the current outcome)."""

    __tablename__ = "interview_outcomes"
    __table_args__ = (Index("ix_interview_outcomes_interview", "interview_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(32))
    nationality: Mapped[str] = mapped_column(String(16))
    nationality_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    travel_document: Mapped[str] = mapped_column(String(16))
    next_steps: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def as_document(self) -> dict[str, Any]:
        """The outcome as the summary document holds it."""
        return {
            "identity": self.identity,
            "nationality": self.nationality,
            "nationality_country": self.nationality_country,
            "travel_document": self.travel_document,
            "next_steps": self.next_steps,
            "notes": self.notes,
            "recorded_by": self.recorded_by_name,
            "recorded_at": iso(self.recorded_at),
        }


def iso(moment: datetime) -> str:
    """A UTC time as the summary writes it: ISO 8601 with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


class OutcomeIn(BaseModel):
    """The outcome form (API and page): unknown values are refused with the field named."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    identity: Identity
    nationality: Nationality
    nationality_country: str | None = Field(None, max_length=3)
    travel_document: TravelDocument
    next_steps: str = Field("", max_length=4000)
    notes: str = Field("", max_length=8000)

    @field_validator("nationality_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        return country(value)  # CodeError is a ValueError: pydantic names the field


def status_path(current: CaseStatus, wanted: CaseStatus) -> list[CaseStatus] | None:
    """The shortest ordinary walk from `current` to `wanted` ([] if already there), or None."""
    if current == wanted:
        return []
    if current not in _START:
        return None
    if current in (CaseStatus.OPEN, CaseStatus.INTERVIEW_REQUESTED):
        # An outcome means the interview took place: the history says so before the finding.
        held = [CaseStatus.INTERVIEW_HELD]
        if current is CaseStatus.OPEN:
            held.insert(0, CaseStatus.INTERVIEW_REQUESTED)
        return [*held, wanted]
    seen: set[CaseStatus] = {current}
    queue: deque[tuple[CaseStatus, list[CaseStatus]]] = deque([(current, [])])
    while queue:
        status, path = queue.popleft()
        for step in TRANSITIONS[status]:
            if step == wanted:
                return [*path, step]
            if step in seen or step not in _THROUGH:
                continue
            seen.add(step)
            queue.append((step, [*path, step]))
    return None


async def current_outcome(session: AsyncSession, interview_id: int) -> InterviewOutcome | None:
    """The newest outcome saved for an interview."""
    found: InterviewOutcome | None = await session.scalar(
        select(InterviewOutcome)
        .where(InterviewOutcome.interview_id == interview_id)
        .order_by(InterviewOutcome.id.desc())
        .limit(1)
    )
    return found


async def save_outcome(
    session: AsyncSession,
    interview_id: int,
    case: Case,
    data: OutcomeIn,
    *,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> InterviewOutcome:
    """Save an outcome and walk the case to the status it calls for (all or nothing).

    The caller has checked that `actor` may record it (Action.OUTCOME_RECORD) and holds a
    transaction; TransitionRefused (nothing written) when the path cannot get there.
    """
    wanted = TARGET[data.identity]
    path = status_path(case.case_status, wanted)
    if path is None:
        raise TransitionRefused(case.case_status, wanted)
    row = InterviewOutcome(
        interview_id=interview_id,
        identity=data.identity.value,
        nationality=data.nationality.value,
        nationality_country=data.nationality_country,
        travel_document=data.travel_document.value,
        next_steps=data.next_steps,
        notes=data.notes,
        recorded_by=actor.user_id,
        recorded_by_name=actor.name,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    for step in path:
        await change_status(
            session,
            case,
            step,
            actor=actor,
            reason=f"interview {interview_id} outcome: identity {data.identity.value}",
            now=now,
            remote=remote,
        )
    await record(
        session,
        "interview.outcome",
        actor=actor,
        target_type="interview",
        target_id=interview_id,
        remote=remote,
        details={
            "outcome_id": row.id,
            "identity": row.identity,
            "nationality": row.nationality,
            "travel_document": row.travel_document,
            "case_status": case.status,
        },
        now=now,
    )
    return row
