"""Disclosing a case to a consulate: an explicit, recorded, revocable act by facility staff.

A consulate sees a case only while a share with it is active (`active_share`). Cases with
an asylum or refugee claim are not shared with the consulate of the claimed nationality
(the country the person may be fleeing) unless a supervisor records a justification.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base, UTCDateTime, utcnow


class LegalBasis(StrEnum):
    """Why the disclosure is lawful: the person's consent, or a legal basis."""

    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_INTEREST = "public_interest"


class CaseShare(Base):
    """One disclosure of a case to a consulate, active until revoked."""

    __tablename__ = "case_shares"
    __table_args__ = (
        # "Which cases does this consulate see?" and "is this case shared with it?".
        Index("ix_case_shares_consulate_case", "consulate_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    consulate_id: Mapped[int] = mapped_column(ForeignKey("consulates.id"))
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(32))
    # How consent was given (or which law applies), in the staff member's words.
    legal_basis_note: Mapped[str] = mapped_column(Text, default="")
    shared_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    shared_by_name: Mapped[str] = mapped_column(String(200), default="")
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set only when an asylum case goes to the claimed nationality's consulate.
    supervisor_justification: Mapped[str] = mapped_column(Text, default="")
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    revoked_by_name: Mapped[str] = mapped_column(String(200), default="")
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None


class FacilitySupervisor(Base):
    """A staff member an admin named supervisor of their facility (may justify sensitive shares)."""

    __tablename__ = "facility_supervisors"

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    named_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


async def active_share(session: AsyncSession, case_id: int, consulate_id: int) -> CaseShare | None:
    """The share through which `consulate_id` may see `case_id` right now, if any."""
    found: CaseShare | None = await session.scalar(
        select(CaseShare)
        .where(
            CaseShare.case_id == case_id,
            CaseShare.consulate_id == consulate_id,
            CaseShare.revoked_at.is_(None),
        )
        .order_by(CaseShare.id.desc())
        .limit(1)
    )
    return found
