"""Session summaries: stored versions of one canonical JSON document per interview, and
the acknowledgements each party gives to one version.

A summary is assembled (`interviews.summary_assembly`) when a session ends; any later
change to what it says (an outcome edited afterwards, a session that resumed) stores a
*new* version and keeps the old ones, so an acknowledgement or an export always refers
to the exact document it was given for. The document's shape is the contract with the
exports (docs/summaries.md): field names may be added, never renamed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interviews.db import Base, UTCDateTime
from scheduling.appointments import Interview

FORMAT = "consulink-summary/1"
# Fields that change on every assembly without the content changing.
_VOLATILE = ("generated_at", "version")


class Party(StrEnum):
    """Who acknowledges a summary: the consulate's side and the facility's side."""

    CONSUL = "consul"
    FACILITY = "facility"


def canonical_json(document: dict[str, Any]) -> bytes:
    """The one byte form of a document: what is stored, hashed, signed and exported."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class SummaryVersion(Base):
    """One stored version of an interview's summary."""

    __tablename__ = "interview_summaries"
    __table_args__ = (UniqueConstraint("interview_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Why this version was made: ended | left | grace | outcome | refresh.
    reason: Mapped[str] = mapped_column(String(16))
    document_json: Mapped[str] = mapped_column(Text)
    # SHA-256 of canonical_json(document), hex: what acknowledgements and exports name.
    sha256: Mapped[str] = mapped_column(String(64))

    acknowledgements: Mapped[list[SummaryAcknowledgement]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="SummaryAcknowledgement.at",
    )

    @property
    def document(self) -> dict[str, Any]:
        """The summary document as a dict."""
        loaded: dict[str, Any] = json.loads(self.document_json)
        return loaded

    def acknowledged_by(self, party: Party) -> SummaryAcknowledgement | None:
        """This version's acknowledgement by one party, if given."""
        return next((a for a in self.acknowledgements if a.party == party.value), None)


class SummaryAcknowledgement(Base):
    """One party's acknowledgement of one summary version (one per party and version)."""

    __tablename__ = "summary_acknowledgements"
    __table_args__ = (UniqueConstraint("summary_id", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    summary_id: Mapped[int] = mapped_column(
        ForeignKey("interview_summaries.id", ondelete="CASCADE"), index=True
    )
    party: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    user_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The version's digest at the time, so the acknowledgement names the exact bytes.
    sha256: Mapped[str] = mapped_column(String(64))


def _content(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in _VOLATILE}


async def current_summary(session: AsyncSession, interview_id: int) -> SummaryVersion | None:
    """The newest stored version of an interview's summary, or None before the first."""
    found: SummaryVersion | None = await session.scalar(
        select(SummaryVersion)
        .where(SummaryVersion.interview_id == interview_id)
        .order_by(SummaryVersion.version.desc())
        .limit(1)
    )
    return found


async def summary_versions(session: AsyncSession, interview_id: int) -> list[SummaryVersion]:
    """Every stored version of an interview's summary, newest first."""
    rows = await session.scalars(
        select(SummaryVersion)
        .where(SummaryVersion.interview_id == interview_id)
        .order_by(SummaryVersion.version.desc())
    )
    return list(rows)


async def summary_version(
    session: AsyncSession, interview_id: int, version: int
) -> SummaryVersion | None:
    """One version of an interview's summary."""
    found: SummaryVersion | None = await session.scalar(
        select(SummaryVersion).where(
            SummaryVersion.interview_id == interview_id, SummaryVersion.version == version
        )
    )
    return found


async def store_summary(
    session: AsyncSession, document: dict[str, Any], *, reason: str, now: datetime
) -> SummaryVersion | None:
    """Store `document` as the interview's next version, unless it says what the newest says.

    Returns the new version, or None when nothing changed (so repeated or late assembly
    jobs, e.g. after a restart, never duplicate a summary). The caller holds a write
    transaction; the unique (interview, version) pair refuses a concurrent duplicate.
    """
    interview_id = int(document["interview"]["id"])
    newest = await current_summary(session, interview_id)
    if newest is not None and _content(newest.document) == _content(document):
        return None
    number = newest.version + 1 if newest is not None else 1
    stored = {**document, "version": number}
    raw = canonical_json(stored)
    row = SummaryVersion(
        interview_id=interview_id,
        version=number,
        created_at=now,
        reason=reason[:16],
        document_json=raw.decode(),
        sha256=hashlib.sha256(raw).hexdigest(),
        acknowledgements=[],
    )
    session.add(row)
    await session.flush()
    return row


async def summarised_interviews(session: AsyncSession, case_id: int) -> list[tuple[int, int]]:
    """(interview id, number of versions) of a case's interviews that have a summary.

    For retention: summaries are kept as long as the case's documents (see docs/summaries.md).
    """
    rows = await session.execute(
        select(SummaryVersion.interview_id, func.count())
        .join(Interview, Interview.id == SummaryVersion.interview_id)
        .where(Interview.case_id == case_id)
        .group_by(SummaryVersion.interview_id)
        .order_by(SummaryVersion.interview_id)
    )
    return [(int(interview_id), int(count)) for interview_id, count in rows.all()]


async def delete_summaries(session: AsyncSession, interview_id: int) -> int:
    """Delete every version of an interview's summary with its acknowledgements (retention);
    how many versions went. The caller audits it in the same transaction."""
    await session.execute(
        delete(SummaryAcknowledgement).where(
            SummaryAcknowledgement.summary_id.in_(
                select(SummaryVersion.id).where(SummaryVersion.interview_id == interview_id)
            )
        )
    )
    result = await session.execute(
        delete(SummaryVersion).where(SummaryVersion.interview_id == interview_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)
