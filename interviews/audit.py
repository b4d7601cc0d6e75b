"""The append-only audit log: who did what to which record, when and from where.

Each row carries the SHA-256 of its own content and of the row before it, so altering
or deleting a row breaks the chain at that point; `verify_chain` finds the first break.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Actor
from interviews.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    """One audited act. Rows are only ever inserted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(nullable=True, index=True)
    user_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="")
    organisation: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    remote: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


def _row_digest(event: AuditEvent) -> str:
    content = {
        "id": event.id,
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "user_name": event.user_name,
        "role": event.role,
        "organisation": event.organisation,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "remote": event.remote,
        "details": event.details,
        "note": event.note,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: Actor | None,
    target_type: str = "",
    target_id: str | int = "",
    remote: str = "",
    details: dict[str, Any] | None = None,
    note: str = "",
    now: datetime | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction, chained to the newest row."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers so two transactions never chain onto the same predecessor.
        await session.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
    last = (
        await session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()))
    ).first()
    event = AuditEvent(
        id=(last[0] + 1) if last else 1,
        at=now or utcnow(),
        user_id=actor.user_id if actor else None,
        user_name=actor.name if actor else "",
        role=actor.role.value if actor else "",
        organisation=actor.organisation if actor else "",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        remote=remote,
        details=details or {},
        note=note,
        prev_hash=last[1] if last else GENESIS,
    )
    event.hash = _row_digest(event)
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain."""

    rows: int
    first_broken_id: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when every row is intact and linked."""
        return self.first_broken_id is None


async def _stream(session: AsyncSession, batch: int) -> AsyncIterator[AuditEvent]:
    result = await session.stream_scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)
    )
    async for event in result:
        yield event


async def verify_chain(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Walk the log in order and report the first row that was altered, removed or inserted."""
    prev_hash = GENESIS
    expected_id = 1
    rows = 0
    async for event in _stream(session, batch):
        rows += 1
        if event.id != expected_id:
            return ChainReport(rows, expected_id, f"row {expected_id} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(rows, event.id, f"row {event.id} does not follow the row before")
        if _row_digest(event) != event.hash:
            return ChainReport(rows, event.id, f"row {event.id} was altered")
        prev_hash = event.hash
        expected_id += 1
    return ChainReport(rows, None)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that differ, as {field: [before, after]} for the log's details."""
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
