"""The rules a booking change must pass, its inputs and its errors (used by `booking`).

`checked_slot` locks the resources a slot would hold, loads the bookings stored around it
at that moment and applies the same rules as slot search (`slots.fits`); problems become
a `BookingError`: 400 for a slot that could never be booked, 409 naming the clashing
interviews when another booking holds the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import Role, User
from interviews.case_access import load_case_with
from interviews.case_status import allowed_next
from interviews.cases import Case, CaseStatus
from interviews.sharing import CaseShare, active_share
from scheduling import intervals as iv
from scheduling import zones
from scheduling.appointments import (
    ACTIVE_VALUES,
    Interview,
    Participant,
    ParticipantRole,
    new_nonce,
)
from scheduling.busy import Busy, active_bookings
from scheduling.search import SearchContext, load_context, shared_consulate_ids
from scheduling.search_cache import VERSION, SearchCache, Version
from scheduling.slots import Problem, Resource, Slot, fits, held_time
from scheduling.writes import lock_resources

NOBODY = 0  # a user id no one has: an interview without interpreter concerns no interpreter
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class BookingError(Exception):
    """A booking change refused: HTTP-like status, stable code, message, field, details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details


class InterviewNotFound(LookupError):
    """No interview with that id."""


class BookIn(BaseModel):
    """A booking request: a slot from the search, with the resources it named."""

    model_config = ConfigDict(extra="forbid")

    case_id: int
    consulate_id: int | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    consul_id: int
    interpreter_id: int | None = None
    room_id: int


class RescheduleIn(BaseModel):
    """A new time (and optionally other resources) for an interview, and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    consul_id: int | None = None
    interpreter_id: int | None = None
    room_id: int | None = None
    reason: Reason


class ReasonIn(BaseModel):
    """Why an interview is declined or cancelled."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason


# -- loading ------------------------------------------------------------------------------


async def load_interview(
    session: AsyncSession,
    actor: Actor | None,
    interview_id: int,
    action: Action,
    *,
    lock: bool = False,
) -> Interview:
    """The interview if `actor` may do `action` on it; consuls also need the case shared."""
    query = select(Interview).where(Interview.id == interview_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Interview)
    interview = await session.scalar(query)
    if interview is None:
        authorize(actor, action)
        raise InterviewNotFound(interview_id)
    checked = authorize(
        actor,
        action,
        consulate_id=interview.consulate_id,
        facility_id=interview.facility_id,
        user_id=interview.interpreter_id if interview.interpreter_id is not None else NOBODY,
    )
    if (
        checked.role is Role.CONSUL
        and await active_share(session, interview.case_id, interview.consulate_id) is None
    ):
        raise Forbidden(action, "this case is no longer shared with your consulate")
    return interview


def choose_consulate(shared: list[int], consulate_id: int | None) -> int:
    """The consulate to book with, among those the case is shared with (their ids)."""
    if consulate_id is None:
        if len(shared) == 1:
            return shared[0]
        if not shared:
            raise BookingError(
                409, "not_shared", "Share the case with a consulate before booking an interview."
            )
        raise BookingError(
            400,
            "invalid",
            "The case is shared with several consulates: choose one.",
            field="consulate_id",
        )
    if consulate_id in shared:
        return consulate_id
    raise BookingError(
        400, "invalid", "The case is not shared with this consulate.", field="consulate_id"
    )


async def consulate_for(session: AsyncSession, case: Case, consulate_id: int | None) -> int:
    """`choose_consulate` among the case's active shares (one query)."""
    return choose_consulate(await shared_consulate_ids(session, case.id), consulate_id)


# -- checks -------------------------------------------------------------------------------

_FIELD = {"consul": "consul_id", "interpreter": "interpreter_id", "room": "room_id"}


def _check_times(starts_at: datetime, ends_at: datetime | None, minutes: int) -> None:
    if starts_at.second or starts_at.microsecond:
        raise BookingError(400, "invalid", "Give a whole minute.", field="starts_at")
    if ends_at is not None:
        if ends_at <= starts_at:
            raise BookingError(400, "invalid", "The end must be after the start.", field="ends_at")
        if ends_at - starts_at != timedelta(minutes=minutes):
            raise BookingError(
                400,
                "invalid",
                f"Interviews with this consulate last {minutes} minutes.",
                field="ends_at",
            )


def _raise_for(problems: list[Problem], context: SearchContext, slot: Slot) -> None:
    """Turn the slot's problems into one BookingError: invalid input (400) before clashes (409)."""
    if not problems:
        return
    messages = {
        "too_early": "The slot is in the past or inside the consulate's notice period.",
        "after_deadline": "The slot ends after the case's deadline.",
        "consulate_hours": "The slot is outside the consulate's interview hours.",
        "consul_not_eligible": "This consul does not belong to the consulate.",
        "interpreter_not_eligible": "This interpreter does not work in any of the person's "
        "languages (or is not available for interviews).",
        "room_not_eligible": "This room is not an active video room of the case's facility.",
        "consul_hours": "The slot is outside the consulate's interview hours.",
        "interpreter_hours": "The slot is outside the interpreter's hours.",
        "room_hours": "The slot is outside the room's hours.",
    }
    invalid = [p for p in problems if p.code in messages]
    if invalid:
        first = invalid[0]
        kind = first.code.split("_")[0]
        raise BookingError(
            400,
            "invalid",
            messages[first.code],
            field=_FIELD.get(kind, "starts_at"),
            details=[
                {
                    "field": _FIELD.get(p.code.split("_")[0], "starts_at"),
                    "message": messages[p.code],
                }
                for p in invalid
            ],
        )
    clashes: list[dict[str, Any]] = []
    for problem in problems:
        kind = problem.code.split("_")[0]
        if problem.code.endswith("_busy"):
            ident = problem.params["id"]
            for busy in context.bookings:
                if (
                    getattr(busy, f"{kind}_id") == ident
                    and busy.starts_at
                    < zones.from_minute(slot.end + context.settings.buffer_minutes)
                    and zones.from_minute(slot.start) < busy.busy_until
                ):
                    clashes.append(
                        {
                            "resource": kind,
                            "id": ident,
                            "interview_id": busy.interview_id,
                            "starts_at": busy.starts_at.isoformat(),
                            "busy_until": busy.busy_until.isoformat(),
                        }
                    )
        elif problem.code.endswith("_daily_limit"):
            clashes.append(
                {
                    "resource": kind,
                    "id": problem.params["id"],
                    "daily_limit": problem.params["limit"],
                }
            )
    raise BookingError(
        409,
        "conflict",
        "The slot is no longer free: " + ", ".join(sorted({c["resource"] for c in clashes})) + ".",
        details=clashes,
    )


def _check_status(status: CaseStatus) -> None:
    if status.closed:
        raise BookingError(409, "case_closed", "The case is closed.")
    if (
        status is not CaseStatus.INTERVIEW_REQUESTED
        and CaseStatus.INTERVIEW_REQUESTED not in allowed_next(status)
    ):
        raise BookingError(
            409, "case_status", f"A case that is {status.value} cannot have an interview booked."
        )


_ACTIVE_OF_CASE = (
    select(Interview.id)
    .where(Interview.case_id == Case.id, Interview.status.in_(ACTIVE_VALUES))
    .limit(1)
    .correlate(Case)
    .scalar_subquery()
)
_CASE_STATES = select(Case.id, Case.status, _ACTIVE_OF_CASE).where(
    Case.id.in_(bindparam("case_ids", expanding=True))
)
_LOCK_CASES = (
    select(Case.id)
    .where(Case.id.in_(bindparam("case_ids", expanding=True)))
    .order_by(Case.id)
    .with_for_update()
)


def _refuse_other(other: int | None) -> None:
    if other is not None:
        raise BookingError(
            409,
            "case_has_interview",
            "The case already has an interview requested or confirmed.",
            details={"interview_id": other},
        )


# Read with the case in one statement by `case_to_book`: the shares' consulate ids as text
# (a list in one column on both databases) and the search cache's version.
_SHARED_OF_CASE = (
    select(func.aggregate_strings(cast(CaseShare.consulate_id, String), ","))
    .where(CaseShare.case_id == Case.id, CaseShare.revoked_at.is_(None))
    .correlate(Case)
    .scalar_subquery()
)
_WITH_CASE = (_ACTIVE_OF_CASE, _SHARED_OF_CASE, VERSION.scalar_subquery())


async def case_to_book(
    session: AsyncSession, actor: Actor, case_id: int, consulate_id: int | None
) -> tuple[Case, int, Version]:
    """The case (`load_case`'s access rule), checked as bookable: not closed, a status path
    that allows an interview, no requested or confirmed interview; the consulate to book
    with (`choose_consulate` among its active shares); and the search cache's version.
    One statement for all of it."""
    case, (other, shared, version) = await load_case_with(
        session, actor, case_id, Action.INTERVIEW_REQUEST, _WITH_CASE
    )
    check_state((case.case_status, other))
    ids = sorted({int(ident) for ident in shared.split(",")}) if shared else []
    return case, choose_consulate(ids, consulate_id), Version(version)


CaseState = tuple[CaseStatus, int | None]  # a case's status and its active interview, if any


async def case_states(session: AsyncSession, case_ids: Iterable[int]) -> dict[int, CaseState]:
    """The cases' statuses and active interviews, for the write transaction (`check_state`
    checks one); a case that is gone is missing.

    On PostgreSQL the case rows are locked first (in id order), in a statement of their
    own: two bookings of one case then read this one after the other, and the second, with
    a snapshot taken after the first committed, sees its interview (SQLite's write lock
    already serialises them)."""
    params = {"case_ids": sorted(set(case_ids))}
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_CASES, params)
    rows = (await session.execute(_CASE_STATES, params)).all()
    return {row[0]: (CaseStatus(row[1]), row[2]) for row in rows}


def check_state(state: CaseState | None) -> None:
    """Refuse a booking for a case that is gone (None), closed, on a status path that allows
    no interview, or with a requested or confirmed interview."""
    if state is None:
        raise BookingError(409, "conflict", "The case is gone.")
    _check_status(state[0])
    _refuse_other(state[1])


# -- participants -------------------------------------------------------------------------


def _zone(zone_name: str, fallback: str) -> str:
    # Accounts default to UTC; then the person's organisation's zone is the better guess.
    return zone_name if zone_name and zone_name != "UTC" else fallback


def people_for(context: SearchContext, slot: Slot, requester: User | None) -> list[Participant]:
    """The participants a slot invites: its consul and interpreter, and the requester."""
    consul = context.consuls[slot.consul_id]
    people = [
        Participant(
            user_id=consul.id,
            role=ParticipantRole.CONSUL.value,
            name=consul.name,
            email=consul.email,
            language=consul.language,
            time_zone=_zone(consul.time_zone, context.consulate.time_zone),
            token_nonce=new_nonce(),
            removed=False,
        )
    ]
    if slot.interpreter_id is not None:
        item = context.interpreters[slot.interpreter_id]
        people.append(
            Participant(
                user_id=item.id,
                role=ParticipantRole.INTERPRETER.value,
                name=item.name,
                email=item.email,
                language=item.language,
                time_zone=item.time_zone,
                token_nonce=new_nonce(),
                removed=False,
            )
        )
    if requester is not None:
        people.append(
            Participant(
                user_id=requester.id,
                role=ParticipantRole.STAFF.value,
                name=requester.name,
                email=requester.email,
                language=requester.language,
                time_zone=_zone(requester.time_zone, context.facility.time_zone),
                token_nonce=new_nonce(),
                removed=False,
            )
        )
    return people


async def checked_slot(
    session: AsyncSession,
    case: Case,
    consulate_id: int,
    *,
    cache: SearchCache,
    starts_at: datetime,
    ends_at: datetime | None,
    consul_id: int,
    interpreter_id: int | None,
    room_id: int,
    now: datetime,
    exclude: int | None = None,
    seen: Version | None = None,
) -> tuple[SearchContext, Slot]:
    """Load the bookings around the slot and apply every rule (no lock: see `recheck`)."""
    span = (starts_at - timedelta(days=1), starts_at + timedelta(days=1))
    start = zones.to_minute(starts_at)
    named = Slot(start, start, consul_id, interpreter_id, room_id)
    context = await load_context(
        session,
        case,
        consulate_id,
        cache=cache,
        now=now,
        horizon=None,
        span=span,
        exclude=exclude,
        only=named,
        seen=seen,
    )
    minutes = context.settings.interview_minutes
    _check_times(starts_at, ends_at, minutes)
    if context.needs_interpreter and interpreter_id is None:
        raise BookingError(
            400,
            "invalid",
            "An interpreter is needed: the consulate does not work in the person's languages.",
            field="interpreter_id",
        )
    if not context.needs_interpreter and interpreter_id is not None:
        raise BookingError(
            400,
            "invalid",
            "No interpreter is needed: the consulate works in the person's language.",
            field="interpreter_id",
        )
    slot = Slot(start, start + minutes, consul_id, interpreter_id, room_id)
    _raise_for(fits(context.request, slot), context, slot)
    held = bool(context.request.priority) and _in_hold(context, slot)
    return context, Slot(slot.start, slot.end, consul_id, interpreter_id, room_id, held)


async def recheck(
    session: AsyncSession, context: SearchContext, slot: Slot, *, exclude: int | None = None
) -> None:
    """Inside the write transaction: lock the slot's resources, read their bookings as they
    are now and re-apply the overlap, buffer and daily-limit rules (409 on a clash).

    `checked_slot` did the expensive part (hours, eligibility, the rest of the search
    context) before the lock was taken, so writers hold it only for this short re-check.
    """
    await lock_resources(session, [slot.consul_id, slot.interpreter_id], [slot.room_id])
    low, high = _recheck_span(slot)
    bookings = await active_bookings(
        session,
        low=low,
        high=high,
        consul_ids=[slot.consul_id],
        interpreter_ids=[slot.interpreter_id] if slot.interpreter_id is not None else [],
        room_ids=[slot.room_id],
        exclude=exclude,
    )
    recheck_against(context, slot, bookings)


def _recheck_span(slot: Slot) -> tuple[datetime, datetime]:
    start = zones.from_minute(slot.start)
    return start - timedelta(days=1), start + timedelta(days=1)


def recheck_span(slots: Sequence[Slot]) -> tuple[datetime, datetime]:
    """The time whose bookings `recheck_against` needs for these slots."""
    spans = [_recheck_span(slot) for slot in slots]
    return min(low for low, _ in spans), max(high for _, high in spans)


def recheck_against(context: SearchContext, slot: Slot, bookings: Sequence[Busy]) -> None:
    """`recheck` without its query: the overlap, buffer and daily-limit rules against
    `bookings`, which hold at least the slot's resources' active bookings in its
    `recheck_span` (others are left out here)."""
    low, high = (zones.to_minute(moment) for moment in _recheck_span(slot))
    near = [
        b
        for b in bookings
        if b.start < high
        and b.until > low
        and (
            b.consul_id == slot.consul_id
            or (slot.interpreter_id is not None and b.interpreter_id == slot.interpreter_id)
            or b.room_id == slot.room_id
        )
    ]

    def fresh(resources: Sequence[Resource], field_name: str, wanted: int | None) -> list[Resource]:
        spans = tuple((b.start, b.until) for b in near if getattr(b, field_name) == wanted)
        return [replace(r, busy=spans) for r in resources if r.id == wanted]

    request = context.request
    current = replace(
        context,
        bookings=near,
        request=replace(
            request,
            consuls=fresh(request.consuls, "consul_id", slot.consul_id),
            interpreters=None
            if request.interpreters is None
            else fresh(request.interpreters, "interpreter_id", slot.interpreter_id),
            rooms=fresh(request.rooms, "room_id", slot.room_id),
        ),
    )
    _raise_for(fits(current.request, slot), current, slot)


def _in_hold(context: SearchContext, slot: Slot) -> bool:
    held = held_time(context.request.consulate, slot.start - 1440, slot.end + 1440)
    return iv.overlaps(held, slot.start, slot.end)
