"""Legal holds: a case under a hold keeps everything, whatever the retention periods say.

A hold is set and cleared by facility staff (their own facility's cases) or an admin, each
time with a reason; both acts are audited. One row per hold, kept after it is cleared, so
the case page can show who held it, why, and when it was released.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Actor
from interviews.audit import record
from interviews.cases import Case
from interviews.db import Base, UTCDateTime

MAX_REASON = 2000


class HoldError(ValueError):
    """A hold cannot be set or cleared as asked (web maps it to 400 or 409)."""

    def __init__(self, message: str, *, status: int = 400, field: str = "reason") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class LegalHold(Base):
    """One legal hold on a case: active while `cleared_at` is empty."""

    __tablename__ = "case_legal_holds"
    __table_args__ = (Index("ix_case_legal_holds_case_cleared", "case_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    set_by_name: Mapped[str] = mapped_column(String(200), default="")
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleared_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    cleared_by_name: Mapped[str] = mapped_column(String(200), default="")
    clear_reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def active(self) -> bool:
        """True until the hold is cleared."""
        return self.cleared_at is None


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise HoldError("Say why (a court order, an appeal, a complaint…).")
    if len(reason) > MAX_REASON:
        raise HoldError(f"The reason is longer than {MAX_REASON} characters.")
    return reason


async def lock_case_holds(session: AsyncSession, case_id: int) -> None:
    """Take the case row's lock until the transaction ends: setting or clearing a hold and
    retention deleting something of the case then happen one after the other, so a hold
    that commits is seen by any deletion that has not yet read the holds. PostgreSQL
    only: on SQLite retention's transaction begins IMMEDIATE (scheduling.writes.WriteGate),
    holding the database's write lock from before it reads the holds to its commit."""
    if session.get_bind().dialect.name == "postgresql":
        # NO KEY UPDATE: conflicts with itself, not with rows being added to the case.
        lock = select(Case.id).where(Case.id == case_id).with_for_update(key_share=True)
        await session.execute(lock)


async def active_hold(session: AsyncSession, case_id: int) -> LegalHold | None:
    """The case's active hold, if any."""
    found: LegalHold | None = await session.scalar(
        select(LegalHold).where(LegalHold.case_id == case_id, LegalHold.cleared_at.is_(None))
    )
    return found


async def hold_history(session: AsyncSession, case_id: int) -> list[LegalHold]:
    """Every hold the case has had, newest first."""
    rows = await session.scalars(
        select(LegalHold)
        .where(LegalHold.case_id == case_id)
        .order_by(LegalHold.set_at.desc(), LegalHold.id.desc())
    )
    return list(rows)


async def _audit(
    session: AsyncSession,
    action: str,
    case: Case,
    hold: LegalHold,
    reason: str,
    actor: Actor,
    now: datetime,
    remote: str,
) -> None:
    await record(
        session,
        action,
        actor=actor,
        target_type="case",
        target_id=case.id,
        remote=remote,
        details={"reference": case.reference, "hold_id": hold.id},
        note=reason,
        now=now,
    )


async def set_hold(
    session: AsyncSession, case: Case, reason: str, *, actor: Actor, now: datetime, remote: str = ""
) -> LegalHold:
    """Put the case on hold (409 if it already is); audited. The caller checked permission."""
    text = _reason(reason)
    await lock_case_holds(session, case.id)
    if await active_hold(session, case.id) is not None:
        raise HoldError("This case is already on legal hold.", status=409, field="case")
    hold = LegalHold(
        case_id=case.id, reason=text, set_at=now, set_by=actor.user_id, set_by_name=actor.name
    )
    session.add(hold)
    await session.flush()
    await _audit(session, "case.legal_hold.set", case, hold, text, actor, now, remote)
    return hold


async def clear_hold(
    session: AsyncSession, case: Case, reason: str, *, actor: Actor, now: datetime, remote: str = ""
) -> LegalHold:
    """Release the case's hold (409 if there is none); audited. The caller checked permission."""
    text = _reason(reason)
    await lock_case_holds(session, case.id)
    hold = await active_hold(session, case.id)
    if hold is None:
        raise HoldError("This case is not on legal hold.", status=409, field="case")
    hold.cleared_at = now
    hold.cleared_by = actor.user_id
    hold.cleared_by_name = actor.name
    hold.clear_reason = text
    await session.flush()
    await _audit(session, "case.legal_hold.cleared", case, hold, text, actor, now, remote)
    return hold
