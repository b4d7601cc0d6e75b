"""Requesting an interview: the checks without a lock, then the short locked write.

`check_request` applies every rule to the chosen slot against the bookings as they are
(hours, eligibility, deadline, overlaps), reading the static part from the search cache;
`write_request` takes the write lock, re-checks what another writer could have changed
meanwhile (the case, the slot's bookings) and writes the interview, its participants, the
case's move, the audit events and the jobs, in ten statements. `request_interview` is both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from interviews.access import Action
from interviews.accounts import User
from interviews.audit import Entry, record_many
from interviews.case_access import load_case
from interviews.case_status import change_status_rows, move_status, record_status_change
from interviews.cases import Case, CaseStatus
from interviews.db import table_of
from scheduling import zones
from scheduling.appointments import Interview, InterviewStatus, Participant, new_uid
from scheduling.booking_rules import (
    MOVE_IF_FREE,
    BookIn,
    check_case,
    checked_case_status,
    checked_slot,
    consulate_for,
    people_for,
    recheck,
)
from scheduling.changes import Change, audit_entry
from scheduling.followups import Policy, notice_jobs, timed_jobs
from scheduling.jobs import enqueue_many
from scheduling.notify import MailEvent
from scheduling.search import SearchContext
from scheduling.slots import Slot
from scheduling.writes import WriteGate


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed every check: the case, consulate, context, slot and requester."""

    case: Case
    consulate_id: int
    context: SearchContext
    slot: Slot
    requester: User | None


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
    checked = await check_request(gate, data, change, requester=requester)
    return await write_request(gate, checked, change, policy)


async def check_request(
    gate: WriteGate, data: BookIn, change: Change, *, requester: User | None = None
) -> CheckedRequest:
    """Every rule, without a lock; a `BookingError` names the first that fails."""
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
    return CheckedRequest(found, consulate_id, context, slot, requester)


async def write_request(
    gate: WriteGate, checked: CheckedRequest, change: Change, policy: Policy
) -> Interview:
    """The locked write of a checked request (409 when the case or slot changed meanwhile)."""
    found, consulate_id = checked.case, checked.consulate_id
    context, slot = checked.context, checked.slot
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
            statement=MOVE_IF_FREE,
        )
        status = seen if moved else await checked_case_status(session, found.id)
        await recheck(session, context, slot)
        values: dict[str, Any] = {
            "uid": new_uid(),
            "case_id": found.id,
            "consulate_id": consulate_id,
            "facility_id": found.facility_id,
            "consul_id": slot.consul_id,
            "interpreter_id": slot.interpreter_id,
            "language": context.interpreters[slot.interpreter_id].spoken
            if slot.interpreter_id
            else None,
            "room_id": slot.room_id,
            "starts_at": zones.from_minute(slot.start),
            "ends_at": zones.from_minute(slot.end),
            "busy_until": zones.from_minute(slot.end + context.settings.buffer_minutes),
            "status": InterviewStatus.REQUESTED.value,
            "priority_hold": slot.priority_hold,
            "sequence": 0,
            "requested_by": change.actor.user_id,
            "requested_at": change.now,
            "decided_by": None,
            "decided_at": None,
            "reason": "",
            "updated_at": change.now,
        }
        # Core INSERTs and the objects made afterwards, as a load then a closed session
        # would leave them (detached): the unit of work cost more than the statements.
        interview = Interview(id=(await session.execute(_INSERT, values)).scalar_one(), **values)
        make_transient_to_detached(interview)
        await _add_people(session, interview, people_for(context, slot, checked.requester))
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
        events.append(
            audit_entry("interview.request", interview, change, consulate_id=consulate_id)
        )
        await record_many(session, events)
        await enqueue_many(
            session,
            notice_jobs(interview, MailEvent.REQUESTED, interview.participants, now=change.now)
            + timed_jobs(interview, policy, now=change.now),
        )
        return interview


_INSERT = insert(table_of(Interview)).returning(table_of(Interview).c.id)
_INSERT_PEOPLE = insert(table_of(Participant)).returning(
    table_of(Participant).c.id, table_of(Participant).c.role
)


async def _add_people(
    session: AsyncSession, interview: Interview, people: list[Participant]
) -> None:
    """Insert a new interview's participants in one statement (the unit of work would send
    one INSERT each) and attach them to it, in id order as a load would give them.

    Core, not the ORM's bulk insert: the rows are known here, only their ids come back.
    A new interview has one participant per role, so the role tells which id is whose.
    """
    if len({person.role for person in people}) != len(people):
        raise ValueError("a new interview has one participant per role")
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
    ids = {role: ident for ident, role in (await session.execute(_INSERT_PEOPLE, rows)).all()}
    for person in people:
        person.id = ids[person.role]
        person.interview_id = interview.id
        person.removed = False
        person.joined_at = None
        make_transient_to_detached(person)
    set_committed_value(interview, "participants", sorted(people, key=lambda p: p.id))
