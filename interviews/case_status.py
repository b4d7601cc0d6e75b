"""A case's status path and its history: who moved it, when, from where to where, and why.

open → interview requested → interview held → identity confirmed / not confirmed / more
information needed → travel document requested → travel document issued → closed
(returned, released, transferred). A person may be released or transferred at any point
(e.g. the legal deadline passed), so those two closures are open from every active state;
closed cases stay closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Actor
from interviews.audit import Entry, record
from interviews.cases import Case, CaseStatus, CaseStatusChange
from interviews.db import UTCDateTime, table_of

S = CaseStatus
_ALWAYS = (S.CLOSED_RELEASED, S.CLOSED_TRANSFERRED)

# Forward moves, plus the few backward ones real work needs (another interview, more evidence).
TRANSITIONS: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    S.OPEN: (S.INTERVIEW_REQUESTED, S.MORE_INFORMATION_NEEDED, *_ALWAYS),
    S.INTERVIEW_REQUESTED: (S.INTERVIEW_HELD, S.OPEN, *_ALWAYS),
    S.INTERVIEW_HELD: (
        S.IDENTITY_CONFIRMED,
        S.IDENTITY_NOT_CONFIRMED,
        S.MORE_INFORMATION_NEEDED,
        S.INTERVIEW_REQUESTED,
        *_ALWAYS,
    ),
    S.MORE_INFORMATION_NEEDED: (
        S.INTERVIEW_REQUESTED,
        S.IDENTITY_CONFIRMED,
        S.IDENTITY_NOT_CONFIRMED,
        *_ALWAYS,
    ),
    S.IDENTITY_CONFIRMED: (S.TRAVEL_DOCUMENT_REQUESTED, S.CLOSED_RETURNED, *_ALWAYS),
    S.IDENTITY_NOT_CONFIRMED: (S.INTERVIEW_REQUESTED, S.MORE_INFORMATION_NEEDED, *_ALWAYS),
    S.TRAVEL_DOCUMENT_REQUESTED: (S.TRAVEL_DOCUMENT_ISSUED, S.MORE_INFORMATION_NEEDED, *_ALWAYS),
    S.TRAVEL_DOCUMENT_ISSUED: (S.CLOSED_RETURNED, *_ALWAYS),
    S.CLOSED_RETURNED: (),
    S.CLOSED_RELEASED: (),
    S.CLOSED_TRANSFERRED: (),
}


class TransitionRefused(ValueError):
    """The move is not on the path; `allowed` lists where the case may go from here."""

    def __init__(self, current: CaseStatus, wanted: CaseStatus) -> None:
        self.current = current
        self.wanted = wanted
        self.allowed = [status.value for status in TRANSITIONS[current]]
        super().__init__(
            f"a case that is {current.value} cannot become {wanted.value}"
            + (f"; allowed next: {', '.join(self.allowed)}" if self.allowed else "; it is closed")
        )


def allowed_next(status: CaseStatus) -> tuple[CaseStatus, ...]:
    """Where a case in `status` may move next."""
    return TRANSITIONS[status]


async def change_status(
    session: AsyncSession,
    case: Case,
    wanted: CaseStatus,
    *,
    actor: Actor | None,
    reason: str,
    now: datetime,
    remote: str = "",
) -> CaseStatusChange:
    """Move `case` to `wanted` if the path allows it; history row and audit event included.

    The caller has loaded the case through `case_access.load_case` (Action.CASE_STATUS);
    automatic moves (e.g. an interview was booked) pass the acting user or None.
    """
    current = case.case_status
    if wanted not in TRANSITIONS[current]:
        raise TransitionRefused(current, wanted)
    change = CaseStatusChange(
        case_id=case.id,
        at=now,
        user_id=actor.user_id if actor else None,
        user_name=actor.name if actor else "",
        from_status=current.value,
        to_status=wanted.value,
        reason=reason,
    )
    session.add(change)
    case.status = wanted.value
    case.updated_at = now
    case.version += 1
    await session.flush()
    await record(
        session,
        "case.status",
        actor=actor,
        target_type="case",
        target_id=case.id,
        remote=remote,
        details={"from": current.value, "to": wanted.value},
        note=reason,
        now=now,
    )
    return change


async def change_status_rows(
    session: AsyncSession,
    case_id: int,
    current: CaseStatus,
    wanted: CaseStatus,
    *,
    actor: Actor | None,
    reason: str,
    now: datetime,
    remote: str = "",
) -> Entry:
    """`change_status` for a case not loaded as an object, in two statements; the caller
    records the returned audit entry (with its own, in one `record_many`).

    The UPDATE only applies while the case is still `current`; a case that moved meanwhile
    raises TransitionRefused (the caller holds the write lock, so this is a safeguard).
    """
    if not await move_status(session, case_id, current, wanted, now=now):
        raise TransitionRefused(current, wanted)
    return await record_status_change(
        session, case_id, current, wanted, actor=actor, reason=reason, now=now, remote=remote
    )


def move_statement(only_if: ColumnElement[bool] | None = None) -> Update:
    """The guarded UPDATE `move_status` runs, with bound parameters: build it once.

    `only_if` adds a condition of the caller's (its parameters may use `case_id`).
    """
    cases = table_of(Case)
    condition = (cases.c.id == bindparam("case_id")) & (cases.c.status == bindparam("current"))
    if only_if is not None:
        condition = condition & only_if
    return (
        update(cases)
        .where(condition)
        .values(
            status=bindparam("wanted"),
            updated_at=bindparam("now", type_=UTCDateTime()),
            version=cases.c.version + 1,
        )
    )


_MOVE = move_statement()
_HISTORY_ROW = insert(table_of(CaseStatusChange))


async def move_status(
    session: AsyncSession,
    case_id: int,
    current: CaseStatus,
    wanted: CaseStatus,
    *,
    now: datetime,
    statement: Update = _MOVE,
) -> bool:
    """The UPDATE half of `change_status_rows`: move the case if it is still `current` (and
    a `move_statement` condition holds); False when it was not. `record_status_change`
    writes the rest."""
    if wanted not in TRANSITIONS[current]:
        raise TransitionRefused(current, wanted)
    moved = await session.execute(
        statement,
        {"case_id": case_id, "current": current.value, "wanted": wanted.value, "now": now},
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Move:
    """A case's move that `move_status` made, for its history row and audit event."""

    case_id: int
    current: CaseStatus
    wanted: CaseStatus
    actor: Actor | None
    reason: str
    now: datetime
    remote: str = ""


async def record_status_change(
    session: AsyncSession,
    case_id: int,
    current: CaseStatus,
    wanted: CaseStatus,
    *,
    actor: Actor | None,
    reason: str,
    now: datetime,
    remote: str = "",
) -> Entry:
    """The history row of a move `move_status` made; returns its audit entry to record."""
    (entry,) = await record_status_changes(
        session, [Move(case_id, current, wanted, actor, reason, now, remote)]
    )
    return entry


async def record_status_changes(session: AsyncSession, moves: Sequence[Move]) -> list[Entry]:
    """`record_status_change` for several moves, their history rows in one statement."""
    if not moves:
        return []
    await session.execute(
        _HISTORY_ROW,
        [
            {
                "case_id": move.case_id,
                "at": move.now,
                "user_id": move.actor.user_id if move.actor else None,
                "user_name": move.actor.name if move.actor else "",
                "from_status": move.current.value,
                "to_status": move.wanted.value,
                "reason": move.reason,
            }
            for move in moves
        ],
    )
    return [
        Entry(
            "case.status",
            move.actor,
            target_type="case",
            target_id=move.case_id,
            remote=move.remote,
            details={"from": move.current.value, "to": move.wanted.value},
            note=move.reason,
            now=move.now,
        )
        for move in moves
    ]


async def status_history(session: AsyncSession, case_id: int) -> list[CaseStatusChange]:
    """A case's status changes, oldest first."""
    rows = await session.scalars(
        select(CaseStatusChange)
        .where(CaseStatusChange.case_id == case_id)
        .order_by(CaseStatusChange.at, CaseStatusChange.id)
    )
    return list(rows.all())
