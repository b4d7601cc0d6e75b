"""Booking: request → the consul confirms or declines → confirmed; reschedule and cancel.

Every change runs in one `WriteGate` transaction that locks what it will hold, re-checks
the slot with the same rules as slot search against the bookings stored at that moment
(`booking_rules.checked_slot`), writes, and queues its notices and timed jobs — all or
nothing. Two requests for an overlapping consul, interpreter or room can therefore never
both succeed; the later one gets a `BookingError` 409 naming what it clashed with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from interviews.access import Action, Actor
from interviews.accounts import Role, User
from interviews.audit import Entry, record, record_many
from interviews.case_access import load_case
from interviews.case_status import (
    change_status,
    change_status_rows,
    move_status,
    record_status_change,
)
from interviews.cases import Case, CaseStatus
from scheduling import zones
from scheduling.appointments import (
    ACTIVE_VALUES,
    Interview,
    InterviewStatus,
    Participant,
    new_nonce,
)
from scheduling.booking_rules import (
    BookIn,
    BookingError,
    RescheduleIn,
    check_case,
    checked_case_status,
    checked_slot,
    consulate_for,
    load_interview,
    no_active_interview,
    people_for,
    recheck,
)
from scheduling.followups import Policy, notice_jobs, notify, schedule_timed, timed_jobs
from scheduling.jobs import enqueue_many
from scheduling.notify import MailEvent
from scheduling.search import SearchContext
from scheduling.slots import Slot
from scheduling.writes import WriteGate


@dataclass(frozen=True)
class Change:
    """Who changes what, when and from where."""

    actor: Actor
    now: datetime
    remote: str = ""


def _entry(action: str, interview: Interview, change: Change, **details: Any) -> Entry:
    return Entry(
        action,
        change.actor,
        target_type="interview",
        target_id=interview.id,
        remote=change.remote,
        details={
            "case_id": interview.case_id,
            "starts_at": interview.starts_at.isoformat(),
            **details,
        },
        note=interview.reason if action in {"interview.decline", "interview.cancel"} else "",
        now=change.now,
    )


async def _audit(
    session: AsyncSession, action: str, interview: Interview, change: Change, **details: Any
) -> None:
    await record_many(session, [_entry(action, interview, change, **details)])


async def request_interview(
    gate: WriteGate,
    data: BookIn,
    change: Change,
    policy: Policy,
    *,
    requester: User | None = None,
) -> Interview:
    """Book a slot as a request to the consulate; the case moves to interview_requested.

    `requester` is the signed-in account of `change.actor` when the caller has it (the web
    handlers do); otherwise it is read.
    """
    async with gate.read() as session:
        found = await load_case(session, change.actor, data.case_id, Action.INTERVIEW_REQUEST)
        await check_case(session, found)
        consulate_id = await consulate_for(session, found, data.consulate_id)
        context, slot = await checked_slot(
            session,
            found,
            consulate_id,
            cache=gate.search_cache,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            consul_id=data.consul_id,
            interpreter_id=data.interpreter_id,
            room_id=data.room_id,
            now=change.now,
        )
        if requester is None or requester.id != change.actor.user_id:
            requester = await session.get(User, change.actor.user_id)
    async with gate.transaction() as session:
        # Everything here holds the write lock: a few statements, each doing several rows.
        seen = found.case_status
        # Usually the case is as the check above saw it: one guarded UPDATE both re-checks
        # and moves it. Otherwise (it changed meanwhile, or is interview_requested already)
        # it is checked as it is now, and moved below if need be.
        moved = seen is not CaseStatus.INTERVIEW_REQUESTED and await move_status(
            session,
            found.id,
            seen,
            CaseStatus.INTERVIEW_REQUESTED,
            now=change.now,
            only_if=no_active_interview(found.id),
        )
        status = seen if moved else await checked_case_status(session, found.id)
        await recheck(session, context, slot)
        interview = Interview(
            case_id=found.id,
            consulate_id=consulate_id,
            facility_id=found.facility_id,
            consul_id=slot.consul_id,
            interpreter_id=slot.interpreter_id,
            language=context.interpreters[slot.interpreter_id].spoken
            if slot.interpreter_id
            else None,
            room_id=slot.room_id,
            starts_at=zones.from_minute(slot.start),
            ends_at=zones.from_minute(slot.end),
            busy_until=zones.from_minute(slot.end + context.settings.buffer_minutes),
            status=InterviewStatus.REQUESTED.value,
            priority_hold=slot.priority_hold,
            sequence=0,
            requested_by=change.actor.user_id,
            requested_at=change.now,
            reason="",
            updated_at=change.now,
        )
        session.add(interview)
        await session.flush()
        await _add_people(session, interview, people_for(context, slot, requester))
        events: list[Entry] = []
        if status is not CaseStatus.INTERVIEW_REQUESTED:
            arguments: dict[str, Any] = {
                "actor": change.actor,
                "reason": f"interview {interview.id} requested",
                "now": change.now,
                "remote": change.remote,
            }
            wanted = CaseStatus.INTERVIEW_REQUESTED
            events.append(
                await record_status_change(session, found.id, status, wanted, **arguments)
                if moved
                else await change_status_rows(session, found.id, status, wanted, **arguments)
            )
        events.append(_entry("interview.request", interview, change, consulate_id=consulate_id))
        await record_many(session, events)
        await enqueue_many(
            session,
            notice_jobs(interview, MailEvent.REQUESTED, interview.participants, now=change.now)
            + timed_jobs(interview, policy, now=change.now),
        )
        return interview


async def _add_people(
    session: AsyncSession, interview: Interview, people: list[Participant]
) -> None:
    """Insert a new interview's participants in one statement (the unit of work would send
    one INSERT each) and attach them to it, in id order as a load would give them."""
    rows = [
        {
            "interview_id": interview.id,
            "user_id": person.user_id,
            "role": person.role,
            "name": person.name,
            "email": person.email,
            "language": person.language,
            "time_zone": person.time_zone,
            "token_nonce": person.token_nonce,
            "removed": False,
            "joined_at": None,
        }
        for person in people
    ]
    stored = (await session.scalars(insert(Participant).returning(Participant), rows)).all()
    set_committed_value(interview, "participants", sorted(stored, key=lambda p: p.id))


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
    People no longer needed get a cancellation; their join links stop working.
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
            person.token_nonce = new_nonce()  # their join link stops working
            removed.append(person)
    present = {p.user_id for p in interview.current_participants()}
    for user_id, person in wanted.items():
        if user_id not in present:
            interview.participants.append(person)
    return removed
