"""Booking: request → the consul confirms or declines → confirmed; reschedule and cancel.

Every change runs in one `WriteGate` transaction that locks what it will hold, re-checks
the slot with the same rules as slot search against the bookings stored at that moment
(`booking_rules.checked_slot`), writes, and queues its notices and timed jobs — all or
nothing. Two requests for an overlapping consul, interpreter or room can therefore never
both succeed; the later one gets a `BookingError` 409 naming what it clashed with.
Requests are in `booking_request` (re-exported here with `Change`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Action
from interviews.accounts import Role
from interviews.audit import record, record_many
from interviews.case_status import change_status
from interviews.cases import Case, CaseStatus
from scheduling import zones
from scheduling.appointments import (
    ACTIVE_VALUES,
    Interview,
    InterviewStatus,
    Participant,
    new_nonce,
)
from scheduling.booking_request import request_interview
from scheduling.booking_rules import (
    BookingError,
    RescheduleIn,
    checked_slot,
    load_interview,
    people_for,
    recheck,
)
from scheduling.changes import Change, audit_entry
from scheduling.followups import Policy, notify, schedule_timed
from scheduling.notify import MailEvent
from scheduling.search import SearchContext
from scheduling.slots import Slot
from scheduling.writes import WriteGate

__all__ = ["Change", "request_interview"]  # callers use booking.X for every change


async def _audit(
    session: AsyncSession, action: str, interview: Interview, change: Change, **details: Any
) -> None:
    await record_many(session, [audit_entry(action, interview, change, **details)])


async def confirm(gate: WriteGate, interview_id: int, change: Change, policy: Policy) -> Interview:
    """The consul accepts a requested interview."""
    async with gate.transaction() as session:
        interview = await load_interview(
            session, change.actor, interview_id, Action.INTERVIEW_RESPOND, lock=True
        )
        if interview.interview_status is not InterviewStatus.REQUESTED:
            raise BookingError(
                409, "conflict", f"The interview is {interview.status}, not awaiting an answer."
            )
        if interview.starts_at <= change.now:
            raise BookingError(409, "conflict", "The interview's time has passed.")
        interview.status = InterviewStatus.CONFIRMED.value
        interview.decided_by = change.actor.user_id
        interview.decided_at = change.now
        interview.sequence += 1
        interview.updated_at = change.now
        await session.flush()
        await _audit(session, "interview.confirm", interview, change)
        await notify(
            session,
            interview,
            MailEvent.CONFIRMED,
            interview.current_participants(),
            now=change.now,
        )
        await schedule_timed(session, interview, policy, now=change.now)
        return interview


async def _end(
    session: AsyncSession,
    interview: Interview,
    status: InterviewStatus,
    reason: str,
    event: MailEvent,
    change: Change | None,
    now: datetime,
    policy: Policy,
) -> None:
    """Release the interview's resources, notify everyone and reopen the case if needed."""
    interview.status = status.value
    interview.reason = reason
    interview.sequence += 1
    interview.updated_at = now
    if change is not None:
        interview.decided_by = change.actor.user_id
        interview.decided_at = now
    await session.flush()
    await schedule_timed(session, interview, policy, now=now)
    await notify(session, interview, event, interview.current_participants(), now=now)
    case = await session.get(Case, interview.case_id)
    other = await session.scalar(
        select(Interview.id).where(
            Interview.case_id == interview.case_id,
            Interview.status.in_(ACTIVE_VALUES),
            Interview.id != interview.id,
        )
    )
    if case is not None and case.case_status is CaseStatus.INTERVIEW_REQUESTED and other is None:
        await change_status(
            session,
            case,
            CaseStatus.OPEN,
            actor=change.actor if change else None,
            reason=f"interview {interview.id} {status.value}: {reason}",
            now=now,
            remote=change.remote if change else "",
        )


async def decline(
    gate: WriteGate, interview_id: int, reason: str, change: Change, policy: Policy
) -> Interview:
    """The consul refuses a requested interview, saying why."""
    async with gate.transaction() as session:
        interview = await load_interview(
            session, change.actor, interview_id, Action.INTERVIEW_RESPOND, lock=True
        )
        if interview.interview_status is not InterviewStatus.REQUESTED:
            raise BookingError(
                409, "conflict", f"The interview is {interview.status}, not awaiting an answer."
            )
        await _end(
            session,
            interview,
            InterviewStatus.DECLINED,
            reason,
            MailEvent.DECLINED,
            change,
            change.now,
            policy,
        )
        await _audit(session, "interview.decline", interview, change)
        return interview


async def cancel(
    gate: WriteGate, interview_id: int, reason: str, change: Change, policy: Policy
) -> Interview:
    """Staff or the consul call off a requested or confirmed interview, saying why."""
    async with gate.transaction() as session:
        interview = await load_interview(
            session, change.actor, interview_id, Action.INTERVIEW_CHANGE, lock=True
        )
        if not interview.interview_status.active:
            raise BookingError(409, "conflict", f"The interview is already {interview.status}.")
        await _end(
            session,
            interview,
            InterviewStatus.CANCELLED,
            reason,
            MailEvent.CANCELLED,
            change,
            change.now,
            policy,
        )
        await _audit(session, "interview.cancel", interview, change)
        return interview


async def expire(
    gate: WriteGate, interview_id: int, sequence: int, now: datetime, policy: Policy
) -> bool:
    """Cancel a request the consul never answered (job); False when it was answered meanwhile."""
    async with gate.transaction() as session:
        interview = await session.get(Interview, interview_id)
        if (
            interview is None
            or interview.interview_status is not InterviewStatus.REQUESTED
            or interview.sequence != sequence
        ):
            return False
        reason = "The consulate did not answer the request in time."
        await _end(
            session,
            interview,
            InterviewStatus.CANCELLED,
            reason,
            MailEvent.EXPIRED,
            None,
            now,
            policy,
        )
        await record(
            session,
            "interview.expire",
            actor=None,
            target_type="interview",
            target_id=interview.id,
            details={"case_id": interview.case_id},
            now=now,
        )
        return True


async def mark_no_show(gate: WriteGate, interview_id: int, sequence: int, now: datetime) -> bool:
    """Mark a confirmed interview nobody joined as not held (job); False if someone joined."""
    async with gate.transaction() as session:
        interview = await session.get(Interview, interview_id)
        if (
            interview is None
            or interview.interview_status is not InterviewStatus.CONFIRMED
            or interview.sequence != sequence
            or any(p.joined_at is not None for p in interview.participants)
        ):
            return False
        interview.status = InterviewStatus.NO_SHOW.value
        interview.updated_at = now
        await session.flush()
        staff = [p for p in interview.current_participants() if p.role == "staff"]
        await notify(session, interview, MailEvent.NO_SHOW, staff, now=now)
        await record(
            session,
            "interview.no_show",
            actor=None,
            target_type="interview",
            target_id=interview.id,
            details={"case_id": interview.case_id},
            now=now,
        )
        return True


async def reschedule(
    gate: WriteGate, interview_id: int, data: RescheduleIn, change: Change, policy: Policy
) -> Interview:
    """Move an interview (and optionally change its people or room), notifying everyone.

    Staff moving it make it a request again; a consul moving it keeps it confirmed.
    People no longer needed get a cancellation. Every old join link stops working: the
    notices carry new ones, so a link always belongs to the interview as last announced.
    """
    async with gate.read() as session:
        found = await load_interview(session, change.actor, interview_id, Action.INTERVIEW_CHANGE)
        _check_movable(found)
        case = await session.get(Case, found.case_id)
        if case is None:
            raise BookingError(409, "conflict", "The case of this interview is gone.")
        interpreter_id = (
            data.interpreter_id
            if "interpreter_id" in data.model_fields_set
            else found.interpreter_id
        )
        context, slot = await checked_slot(
            session,
            case,
            found.consulate_id,
            cache=gate.search_cache,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            consul_id=data.consul_id or found.consul_id,
            interpreter_id=interpreter_id,
            room_id=data.room_id or found.room_id,
            now=change.now,
            exclude=found.id,
        )
    async with gate.transaction() as session:
        interview = await load_interview(
            session, change.actor, interview_id, Action.INTERVIEW_CHANGE, lock=True
        )
        _check_movable(interview)  # it may have changed since the check above
        await recheck(session, context, slot, exclude=interview.id)
        before = {
            "starts_at": interview.starts_at.isoformat(),
            "consul_id": interview.consul_id,
            "interpreter_id": interview.interpreter_id,
            "room_id": interview.room_id,
        }
        interview.starts_at = zones.from_minute(slot.start)
        interview.ends_at = zones.from_minute(slot.end)
        interview.busy_until = zones.from_minute(slot.end + context.settings.buffer_minutes)
        interview.consul_id = slot.consul_id
        interview.interpreter_id = slot.interpreter_id
        interview.language = (
            context.interpreters[slot.interpreter_id].spoken if slot.interpreter_id else None
        )
        interview.room_id = slot.room_id
        interview.priority_hold = slot.priority_hold
        interview.reason = data.reason
        interview.sequence += 1
        interview.updated_at = change.now
        if change.actor.role is not Role.CONSUL:
            interview.status = InterviewStatus.REQUESTED.value
        removed = _replace_people(interview, context, slot)
        for person in interview.participants:
            person.token_nonce = new_nonce()
        await session.flush()
        await _audit(session, "interview.reschedule", interview, change, before=before)
        await notify(session, interview, MailEvent.REMOVED, removed, now=change.now)
        await notify(
            session,
            interview,
            MailEvent.RESCHEDULED,
            interview.current_participants(),
            now=change.now,
        )
        await schedule_timed(session, interview, policy, now=change.now)
        return interview


def _check_movable(interview: Interview) -> None:
    if not interview.interview_status.active:
        raise BookingError(
            409, "conflict", f"A {interview.status} interview cannot be rescheduled."
        )


def _replace_people(interview: Interview, context: SearchContext, slot: Slot) -> list[Participant]:
    """Swap the consul or interpreter participant when the resource changed; the removed."""
    wanted = {p.user_id: p for p in people_for(context, slot, None)}
    removed = []
    for person in interview.current_participants():
        if person.role in ("consul", "interpreter") and person.user_id not in wanted:
            person.removed = True
            removed.append(person)
    present = {p.user_id for p in interview.current_participants()}
    for user_id, person in wanted.items():
        if user_id not in present:
            interview.participants.append(person)
    return removed
