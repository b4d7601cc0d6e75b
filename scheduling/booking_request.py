"""Requesting an interview: the checks without a lock, then the short locked write.

`check_request` applies every rule to the chosen slot against the bookings as they are
(hours, eligibility, deadline, overlaps), reading the static part from the search cache;
`write_request` takes the write lock, re-checks what another writer could have changed
meanwhile (the case, the slot's bookings) and writes the interview, its participants, the
case's move, the audit events and the jobs; requests that arrive together are written in
one transaction of about ten statements however many they are (group commit, see
`write_request`). `request_interview` is both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from interviews.accounts import User
from interviews.audit import Entry, record_many
from interviews.case_status import Move, move_statement, record_status_changes
from interviews.cases import Case, CaseStatus
from interviews.db import table_of
from scheduling import zones
from scheduling.appointments import Interview, InterviewStatus, Participant, new_uid
from scheduling.booking_rules import (
    BookIn,
    BookingError,
    CaseState,
    case_states,
    case_to_book,
    check_state,
    checked_slot,
    people_for,
    recheck_against,
    recheck_span,
)
from scheduling.busy import Busy, active_bookings
from scheduling.changes import Change, audit_entry
from scheduling.followups import Policy, notice_jobs, timed_jobs
from scheduling.jobs import enqueue_many
from scheduling.notify import MailEvent
from scheduling.search import SearchContext
from scheduling.slots import Slot
from scheduling.writes import WriteGate, lock_resources


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
        found, consulate_id, seen = await case_to_book(
            session, change.actor, data.case_id, data.consulate_id
        )
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
            seen=seen,
        )
        if requester is None or requester.id != change.actor.user_id:
            requester = await session.get(User, change.actor.user_id)
    return CheckedRequest(found, consulate_id, context, slot, requester)


async def write_request(
    gate: WriteGate, checked: CheckedRequest, change: Change, policy: Policy
) -> Interview:
    """The locked write of a checked request (409 when the case or slot changed meanwhile).

    Requests that arrive while another batch is being written go together in the next
    transaction (`WriteGate.together`), each re-checked as if written alone in turn.
    """
    return await gate.together(_write_batch, _Write(checked, change, policy))


@dataclass(frozen=True)
class _Write:
    """One request waiting for the locked write."""

    checked: CheckedRequest
    change: Change
    policy: Policy


async def _write_batch(gate: WriteGate, writes: list[_Write]) -> list[Interview | Exception]:
    """Write the requests in one transaction; if it fails (an error that is not a refusal),
    write them again one by one, so that it fails only the request it belongs to."""
    try:
        async with gate.transaction() as session:
            return await _write_all(session, writes)
    except Exception as error:
        if len(writes) == 1:
            return [error]
    results: list[Interview | Exception] = []
    for write in writes:
        try:
            async with gate.transaction() as session:
                results += await _write_all(session, [write])
        except Exception as error:
            results.append(error)
    return results


async def _write_all(session: AsyncSession, writes: list[_Write]) -> list[Interview | Exception]:
    """Re-check each request, in order, against the database as it is now and the requests
    before it that passed, then write those that passed together: about ten statements
    for the whole batch. A request that fails its re-check gets its `BookingError`."""
    slots = [write.checked.slot for write in writes]
    states = await case_states(session, [write.checked.case.id for write in writes])
    await lock_resources(
        session,
        [ident for slot in slots for ident in (slot.consul_id, slot.interpreter_id)],
        [slot.room_id for slot in slots],
    )
    low, high = recheck_span(slots)
    stored = await active_bookings(
        session,
        low=low,
        high=high,
        consul_ids=sorted({slot.consul_id for slot in slots}),
        interpreter_ids=sorted({s.interpreter_id for s in slots if s.interpreter_id is not None}),
        room_ids=sorted({slot.room_id for slot in slots}),
    )
    # Decided with stand-in ids for the batch's own interviews, then the refusals made
    # again with their real ids, so that a request refused because of another in its batch
    # names that interview as it would had the other been written first.
    refusals = _refusals(writes, states, stored, [-1 - n for n in range(len(writes))])
    passed = [n for n, refusal in enumerate(refusals) if refusal is None]
    rows = [_interview_row(writes[n]) for n in passed]
    ids = [0] * len(writes)
    if rows:
        by_uid: dict[str, int] = dict((await session.execute(_INSERT, rows)).all())
        for n, row in zip(passed, rows, strict=True):
            ids[n] = by_uid[row["uid"]]
    if len(passed) < len(writes):
        refusals = _refusals(writes, states, stored, ids)
        if [n for n, refusal in enumerate(refusals) if refusal is None] != passed:
            raise RuntimeError("a batch's re-check changed between its two passes")
    moves: list[Move] = []
    for n in passed:
        write = writes[n]
        current = states[write.checked.case.id][0]
        if current is not CaseStatus.INTERVIEW_REQUESTED:
            change = write.change
            reason = f"interview {ids[n]} requested"
            moves.append(
                Move(
                    write.checked.case.id,
                    current,
                    CaseStatus.INTERVIEW_REQUESTED,
                    change.actor,
                    reason,
                    change.now,
                    change.remote,
                )
            )
    if moves:
        params = [
            {
                "case_id": m.case_id,
                "current": m.current.value,
                "wanted": m.wanted.value,
                "now": m.now,
            }
            for m in moves
        ]
        result = await session.execute(_MOVE, params)
        # The cases are locked and were just read, so this is a safeguard (where the driver
        # counts the rows of several parameter sets).
        sane = session.get_bind().dialect.supports_sane_multi_rowcount
        if sane and result.rowcount != len(moves):  # type: ignore[attr-defined]
            raise RuntimeError("a case moved while its booking's write held it")
    moved = {
        move.case_id: entry
        for move, entry in zip(moves, await record_status_changes(session, moves), strict=True)
    }
    interviews: dict[int, Interview] = {}
    people: list[tuple[Interview, Participant]] = []
    for n, row in zip(passed, rows, strict=True):
        # Core INSERTs and the objects made afterwards, as a load then a closed session
        # would leave them (detached): the unit of work cost more than the statements.
        interview = interviews[n] = Interview(id=ids[n], **row)
        make_transient_to_detached(interview)
        checked = writes[n].checked
        people += [
            (interview, person)
            for person in people_for(checked.context, checked.slot, checked.requester)
        ]
    await _add_people(session, people)
    events: list[Entry] = []
    jobs: list[dict[str, Any]] = []
    for n, interview in interviews.items():
        write = writes[n]
        if interview.case_id in moved:
            events.append(moved[interview.case_id])
        events.append(
            audit_entry(
                "interview.request", interview, write.change, consulate_id=interview.consulate_id
            )
        )
        now = write.change.now
        jobs += notice_jobs(interview, MailEvent.REQUESTED, interview.participants, now=now)
        jobs += timed_jobs(interview, write.policy, now=now)
    await record_many(session, events)
    await enqueue_many(session, jobs)
    return [interviews[n] if refusal is None else refusal for n, refusal in enumerate(refusals)]


def _refusals(
    writes: list[_Write], states: dict[int, CaseState], stored: list[Busy], ids: list[int]
) -> list[BookingError | None]:
    """Each request's refusal (None: it passes) against the cases' states and the bookings
    read, and the requests before it that passed, as interviews with these `ids`."""
    states = dict(states)
    bookings = list(stored)
    refusals: list[BookingError | None] = []
    for n, write in enumerate(writes):
        checked = write.checked
        try:
            check_state(states.get(checked.case.id))
            recheck_against(checked.context, checked.slot, bookings)
        except BookingError as refusal:
            refusals.append(refusal)
            continue
        refusals.append(None)
        slot = checked.slot
        states[checked.case.id] = (CaseStatus.INTERVIEW_REQUESTED, ids[n])
        until = slot.end + checked.context.settings.buffer_minutes
        bookings.append(
            Busy(ids[n], slot.consul_id, slot.interpreter_id, slot.room_id, slot.start, until)
        )
    return refusals


def _interview_row(write: _Write) -> dict[str, Any]:
    """The interviews row of a request that passed its re-check."""
    checked, change = write.checked, write.change
    context, slot = checked.context, checked.slot
    return {
        "uid": new_uid(),
        "case_id": checked.case.id,
        "consulate_id": checked.consulate_id,
        "facility_id": checked.case.facility_id,
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


_INTERVIEWS = table_of(Interview)
_PARTICIPANTS = table_of(Participant)
_INSERT = insert(_INTERVIEWS).returning(_INTERVIEWS.c.uid, _INTERVIEWS.c.id)
_INSERT_PEOPLE = insert(_PARTICIPANTS).returning(
    _PARTICIPANTS.c.interview_id, _PARTICIPANTS.c.role, _PARTICIPANTS.c.id
)
_MOVE = move_statement()


async def _add_people(session: AsyncSession, people: list[tuple[Interview, Participant]]) -> None:
    """Insert new interviews' participants in one statement (the unit of work would send
    one INSERT each) and attach them, in id order as a load would give them.

    Core, not the ORM's bulk insert: the rows are known here, only their ids come back.
    A new interview has one participant per role, so interview and role tell whose id it is.
    """
    keys = {(interview.id, person.role) for interview, person in people}
    if len(keys) != len(people):
        raise ValueError("a new interview has one participant per role")
    if not people:
        return
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
        for interview, person in people
    ]
    result = await session.execute(_INSERT_PEOPLE, rows)
    ids = {(interview_id, role): ident for interview_id, role, ident in result.all()}
    attached: dict[int, tuple[Interview, list[Participant]]] = {}
    for interview, person in people:
        person.id = ids[(interview.id, person.role)]
        person.interview_id = interview.id
        person.removed = False
        person.joined_at = None
        make_transient_to_detached(person)
        attached.setdefault(interview.id, (interview, []))[1].append(person)
    for interview, persons in attached.values():
        set_committed_value(interview, "participants", sorted(persons, key=lambda p: p.id))
