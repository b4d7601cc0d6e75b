"""Disclosing a case to a consulate: an explicit, recorded, revocable act by facility staff.

A consulate sees a case only while a share with it is active (`active_share`). Cases with
an asylum or refugee claim are not shared with the consulate of the claimed nationality
(the country the person may be fleeing) unless a supervisor records a justification.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Action, Actor, Forbidden
from interviews.accounts import Role, User
from interviews.audit import record
from interviews.cases import Case, CaseStatus
from interviews.consulates import Consulate
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


class ShareError(ValueError):
    """A share or revocation that cannot be made; `field` names the input at fault."""

    def __init__(self, field: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


class ShareIn(BaseModel):
    """What staff record when they share a case with a consulate."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    consulate_id: int
    purpose: Annotated[str, Field(min_length=1, max_length=2000)]
    legal_basis: LegalBasis
    legal_basis_note: Annotated[str, Field(min_length=1, max_length=2000)]
    supervisor_justification: Annotated[str, Field(max_length=4000)] = ""


class RevokeIn(BaseModel):
    """Why a share ends."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, Field(min_length=1, max_length=2000)]


def endangered_countries(case: Case) -> set[str]:
    """Countries an asylum claimant may be fleeing: the claimed and any other nationality."""
    if not case.asylum_claim:
        return set()
    return {case.claimed_nationality, *case.other_nationalities}


async def is_supervisor(session: AsyncSession, actor: Actor, facility_id: int) -> bool:
    """Admins, and staff named supervisor of this facility, may justify sensitive shares."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.STAFF or actor.facility_id != facility_id:
        return False
    found = await session.get(FacilitySupervisor, (facility_id, actor.user_id))
    return found is not None


async def share_case(
    session: AsyncSession,
    case: Case,
    data: ShareIn,
    *,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> CaseShare:
    """Share `case` with a consulate, recording purpose and legal basis; audited.

    The caller loaded the case with Action.CASE_SHARE. An asylum case goes to a consulate
    of a country the person may be fleeing only when a supervisor writes a justification.
    """
    consulate = await session.get(Consulate, data.consulate_id)
    if consulate is None:
        raise ShareError("consulate_id", "no such consulate")
    if CaseStatus(case.status).closed:
        raise ShareError("case", "a closed case is not shared any more", status=409)
    if await active_share(session, case.id, consulate.id) is not None:
        raise ShareError(
            "consulate_id", "the case is already shared with this consulate", status=409
        )
    justification = ""
    supervisor_id = None
    if consulate.country in endangered_countries(case):
        if not await is_supervisor(session, actor, case.facility_id):
            raise Forbidden(
                Action.CASE_SHARE,
                "this person claims asylum: only a supervisor, with a written justification, "
                f"may share the case with a consulate of {consulate.country}",
            )
        justification = data.supervisor_justification
        if len(justification) < 20:
            raise ShareError(
                "supervisor_justification",
                "explain in at least 20 characters why sharing with this country is justified",
            )
        supervisor_id = actor.user_id
    share = CaseShare(
        case_id=case.id,
        consulate_id=consulate.id,
        purpose=data.purpose,
        legal_basis=data.legal_basis.value,
        legal_basis_note=data.legal_basis_note,
        shared_by=actor.user_id,
        shared_by_name=actor.name,
        shared_at=now,
        supervisor_justification=justification,
        supervisor_id=supervisor_id,
        revoke_reason="",
        revoked_by_name="",
    )
    session.add(share)
    await session.flush()
    await record(
        session,
        "case.share",
        actor=actor,
        target_type="case",
        target_id=case.id,
        remote=remote,
        details={
            "share_id": share.id,
            "consulate_id": consulate.id,
            "legal_basis": share.legal_basis,
            "supervisor_justified": bool(justification),
        },
        now=now,
    )
    return share


async def revoke_share(
    session: AsyncSession,
    share: CaseShare,
    reason: str,
    *,
    actor: Actor | None,
    now: datetime,
    remote: str = "",
) -> CaseShare:
    """End a share now: the consulate loses sight of the case at once; audited."""
    if share.revoked_at is not None:
        raise ShareError("share", "this share was already revoked", status=409)
    share.revoked_at = now
    share.revoked_by = actor.user_id if actor else None
    share.revoked_by_name = actor.name if actor else ""
    share.revoke_reason = reason
    await session.flush()
    await record(
        session,
        "case.revoke",
        actor=actor,
        target_type="case",
        target_id=share.case_id,
        remote=remote,
        details={"share_id": share.id, "consulate_id": share.consulate_id},
        note=reason,
        now=now,
    )
    return share


async def revoke_endangering_shares(
    session: AsyncSession, case: Case, *, actor: Actor | None, now: datetime, remote: str = ""
) -> list[CaseShare]:
    """After an edit: end active shares with a country the person may be fleeing that no
    supervisor justified (e.g. the asylum claim was recorded after the case was shared)."""
    countries = endangered_countries(case)
    if not countries:
        return []
    revoked = []
    for share, country in (
        await session.execute(
            select(CaseShare, Consulate.country)
            .join(Consulate, Consulate.id == CaseShare.consulate_id)
            .where(CaseShare.case_id == case.id, CaseShare.revoked_at.is_(None))
        )
    ).all():
        if country in countries and not share.supervisor_justification:
            reason = "asylum claim recorded: sharing with this country needs a supervisor"
            revoked.append(
                await revoke_share(session, share, reason, actor=actor, now=now, remote=remote)
            )
    return revoked


async def case_shares(session: AsyncSession, case_id: int) -> list[tuple[CaseShare, Consulate]]:
    """Every share of a case (active and revoked), newest first, with its consulate."""
    rows = await session.execute(
        select(CaseShare, Consulate)
        .join(Consulate, Consulate.id == CaseShare.consulate_id)
        .where(CaseShare.case_id == case_id)
        .order_by(CaseShare.shared_at.desc(), CaseShare.id.desc())
    )
    return [(share, consulate) for share, consulate in rows.all()]


async def get_share(session: AsyncSession, case_id: int, share_id: int) -> CaseShare | None:
    """A share of this case by id."""
    share = await session.get(CaseShare, share_id)
    return share if share is not None and share.case_id == case_id else None


def share_dict(share: CaseShare, consulate: Consulate | None = None) -> dict[str, Any]:
    """A share as the JSON API shows it."""
    return {
        "id": share.id,
        "case_id": share.case_id,
        "consulate_id": share.consulate_id,
        "consulate_name": consulate.name if consulate else None,
        "purpose": share.purpose,
        "legal_basis": share.legal_basis,
        "legal_basis_note": share.legal_basis_note,
        "shared_by": share.shared_by_name,
        "shared_at": share.shared_at.isoformat(),
        "supervisor_justification": share.supervisor_justification,
        "active": share.active,
        "revoked_at": share.revoked_at.isoformat() if share.revoked_at else None,
        "revoked_by": share.revoked_by_name or None,
        "revoke_reason": share.revoke_reason or None,
    }


async def name_supervisor(session: AsyncSession, user: User, *, remove: bool = False) -> None:
    """Make a staff member supervisor of their facility (or stop it)."""
    if user.role != Role.STAFF.value or user.facility_id is None:
        raise ShareError("user", "only facility staff can be named supervisor")
    row = await session.get(FacilitySupervisor, (user.facility_id, user.id))
    if remove and row is not None:
        await session.delete(row)
    elif not remove and row is None:
        session.add(FacilitySupervisor(facility_id=user.facility_id, user_id=user.id))
    await session.flush()
