"""Loading what slot search needs for one case from the database, in a handful of queries.

Only the relevant rows are read: the case's consulate and its consuls, the interpreters
who speak one of the person's languages, the facility's rooms, their windows and
exceptions (one query each), and the active bookings of exactly those people and rooms
inside the searched range (an indexed range scan per resource kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.accounts import Role, User
from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.facilities import Facility
from interviews.sharing import CaseShare
from scheduling import zones
from scheduling.appointments import ACTIVE_VALUES, MAX_SPAN, Interview
from scheduling.availability import consulate_settings, schedule_of
from scheduling.resources import (
    AvailabilityException,
    AvailabilityWindow,
    ConsulateSchedule,
    InterpreterLanguage,
    InterpreterProfile,
    OwnerKind,
    Proficiency,
    VideoRoom,
)
from scheduling.slots import Resource, SearchRequest

DEFAULT_HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class Interpreting:
    """An interpreter eligible for a case, and which of the person's languages they cover."""

    user: User
    profile: InterpreterProfile
    language: str
    proficiency: str


@dataclass(frozen=True)
class Busy:
    """An active booking as slot search sees it."""

    interview_id: int
    consul_id: int
    interpreter_id: int | None
    room_id: int
    starts_at: datetime
    busy_until: datetime


@dataclass
class SearchContext:
    """The rows behind a SearchRequest, to name people and rooms in results and errors."""

    case: Case
    consulate: Consulate
    facility: Facility
    settings: ConsulateSchedule
    consuls: dict[int, User]
    interpreters: dict[int, Interpreting]
    rooms: dict[int, VideoRoom]
    needs_interpreter: bool
    request: SearchRequest
    bookings: list[Busy] = field(default_factory=list)


async def case_consulates(session: AsyncSession, case_id: int) -> list[Consulate]:
    """Consulates the case is shared with right now: the only ones that may interview."""
    rows = await session.scalars(
        select(Consulate)
        .join(CaseShare, CaseShare.consulate_id == Consulate.id)
        .where(CaseShare.case_id == case_id, CaseShare.revoked_at.is_(None))
        .order_by(Consulate.name)
        .distinct()
    )
    return list(rows.all())


def needs_interpreter(case: Case, consulate: Consulate) -> bool:
    """True unless the consulate works in one of the person's languages."""
    return not set(case.languages) & set(consulate.languages)


def deadline_end(case: Case, facility: Facility) -> datetime:
    """The end of the deadline day at the facility: interviews must end by then."""
    return zones.from_minute(zones.day_span(facility.time_zone, case.deadline)[1])


async def _interpreters(session: AsyncSession, languages: list[str]) -> dict[int, Interpreting]:
    if not languages:
        return {}
    rows = await session.execute(
        select(User, InterpreterProfile, InterpreterLanguage)
        .join(InterpreterProfile, InterpreterProfile.user_id == User.id)
        .join(InterpreterLanguage, InterpreterLanguage.user_id == User.id)
        .where(
            User.role == Role.INTERPRETER.value,
            User.disabled.is_(False),
            InterpreterProfile.active.is_(True),
            InterpreterLanguage.language.in_(languages),
        )
        .order_by(User.id)
    )
    found: dict[int, Interpreting] = {}
    for user, profile, spoken in rows.all():
        current = found.get(user.id)
        if current is None or _language_rank(spoken.proficiency, spoken.language, languages) < (
            _language_rank(current.proficiency, current.language, languages)
        ):
            found[user.id] = Interpreting(user, profile, spoken.language, spoken.proficiency)
    return found


def _language_rank(proficiency: str, language: str, languages: list[str]) -> int:
    # Better proficiency first; between equals, the person's main language first.
    return Proficiency(proficiency).rank * 100 + languages.index(language)


async def _schedules(
    session: AsyncSession, owners: list[tuple[OwnerKind, list[int]]]
) -> tuple[
    dict[tuple[str, int], list[AvailabilityWindow]],
    dict[tuple[str, int], list[AvailabilityException]],
]:
    clauses = [
        and_(AvailabilityWindow.owner_kind == kind.value, AvailabilityWindow.owner_id.in_(ids))
        for kind, ids in owners
        if ids
    ]
    windows: dict[tuple[str, int], list[AvailabilityWindow]] = {}
    exceptions: dict[tuple[str, int], list[AvailabilityException]] = {}
    if not clauses:
        return windows, exceptions
    for window in await session.scalars(select(AvailabilityWindow).where(or_(*clauses))):
        windows.setdefault((window.owner_kind, window.owner_id), []).append(window)
    exception_clauses = [
        and_(
            AvailabilityException.owner_kind == kind.value, AvailabilityException.owner_id.in_(ids)
        )
        for kind, ids in owners
        if ids
    ]
    for item in await session.scalars(select(AvailabilityException).where(or_(*exception_clauses))):
        exceptions.setdefault((item.owner_kind, item.owner_id), []).append(item)
    return windows, exceptions


async def active_bookings(
    session: AsyncSession,
    *,
    low: datetime,
    high: datetime,
    consul_ids: list[int],
    interpreter_ids: list[int],
    room_ids: list[int],
    exclude: int | None = None,
) -> list[Busy]:
    """Requested or confirmed interviews of these people and rooms overlapping [low, high)."""
    holders = []
    if consul_ids:
        holders.append(Interview.consul_id.in_(consul_ids))
    if interpreter_ids:
        holders.append(Interview.interpreter_id.in_(interpreter_ids))
    if room_ids:
        holders.append(Interview.room_id.in_(room_ids))
    if not holders:
        return []
    query = (
        select(
            Interview.id,
            Interview.consul_id,
            Interview.interpreter_id,
            Interview.room_id,
            Interview.starts_at,
            Interview.busy_until,
        )
        .where(
            or_(*holders),
            Interview.status.in_(ACTIVE_VALUES),
            Interview.starts_at >= low - MAX_SPAN,
            Interview.starts_at < high,
            Interview.busy_until > low,
        )
        .order_by(Interview.starts_at)
    )
    if exclude is not None:
        query = query.where(Interview.id != exclude)
    return [Busy(*row) for row in (await session.execute(query)).all()]


async def load_context(
    session: AsyncSession,
    case: Case,
    consulate: Consulate,
    *,
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    span: tuple[datetime, datetime] | None = None,
    exclude: int | None = None,
    limit: int = 20,
    per_day: int | None = None,
) -> SearchContext:
    """Everything slot search (or a booking re-check) needs for `case` with `consulate`.

    `span` narrows the bookings read to the time around one slot (booking re-checks);
    `exclude` leaves out the interview being rescheduled.
    """
    facility = await session.get(Facility, case.facility_id)
    if facility is None:
        raise LookupError(f"facility {case.facility_id} is missing")
    settings = await consulate_settings(session, consulate.id)
    consul_rows = await session.scalars(
        select(User)
        .where(
            User.role == Role.CONSUL.value,
            User.consulate_id == consulate.id,
            User.disabled.is_(False),
        )
        .order_by(User.id)
    )
    consuls = {user.id: user for user in consul_rows.all()}
    interpreter_needed = needs_interpreter(case, consulate)
    interpreters = await _interpreters(session, case.languages) if interpreter_needed else {}
    room_rows = await session.scalars(
        select(VideoRoom)
        .where(VideoRoom.facility_id == facility.id, VideoRoom.active.is_(True))
        .order_by(VideoRoom.name)
    )
    rooms = {room.id: room for room in room_rows.all()}
    windows, exceptions = await _schedules(
        session,
        [
            (OwnerKind.CONSULATE, [consulate.id]),
            (OwnerKind.INTERPRETER, list(interpreters)),
            (OwnerKind.ROOM, list(rooms)),
        ],
    )
    earliest = now + timedelta(minutes=settings.notice_minutes)
    latest = min(deadline_end(case, facility), now + horizon)
    # Daily maximums count every interview of the interpreter's local day: read a day more.
    low, high = span or (earliest, latest)
    bookings = await active_bookings(
        session,
        low=low - timedelta(days=1),
        high=high + timedelta(days=1),
        consul_ids=list(consuls),
        interpreter_ids=list(interpreters),
        room_ids=list(rooms),
        exclude=exclude,
    )

    def busy(match: str, ident: int) -> tuple[tuple[int, int], ...]:
        return tuple(
            (zones.to_minute(b.starts_at), zones.to_minute(b.busy_until))
            for b in bookings
            if getattr(b, match) == ident
        )

    request = SearchRequest(
        earliest=zones.to_minute(earliest),
        latest=zones.to_minute(latest),
        length=settings.interview_minutes,
        buffer=settings.buffer_minutes,
        step=settings.step_minutes,
        consulate=schedule_of(
            consulate.time_zone,
            windows.get((OwnerKind.CONSULATE.value, consulate.id), []),
            exceptions.get((OwnerKind.CONSULATE.value, consulate.id), []),
        ),
        consuls=[Resource(u.id, u.name, busy=busy("consul_id", u.id)) for u in consuls.values()],
        interpreters=[
            Resource(
                item.user.id,
                item.user.name,
                schedule_of(
                    item.profile.time_zone,
                    windows.get((OwnerKind.INTERPRETER.value, item.user.id), []),
                    exceptions.get((OwnerKind.INTERPRETER.value, item.user.id), []),
                ),
                busy=busy("interpreter_id", item.user.id),
                max_per_day=item.profile.max_per_day,
                language=item.language,
                rank=_language_rank(item.proficiency, item.language, case.languages),
            )
            for item in interpreters.values()
        ]
        if interpreter_needed
        else None,
        rooms=[
            Resource(
                room.id,
                room.name,
                schedule_of(
                    facility.time_zone,
                    windows.get((OwnerKind.ROOM.value, room.id), []),
                    exceptions.get((OwnerKind.ROOM.value, room.id), []),
                ),
                busy=busy("room_id", room.id),
            )
            for room in rooms.values()
        ],
        priority=case.unaccompanied_minor,
        languages=tuple(case.languages),
        limit=limit,
        per_day=per_day,
    )
    return SearchContext(
        case=case,
        consulate=consulate,
        facility=facility,
        settings=settings,
        consuls=consuls,
        interpreters=interpreters,
        rooms=rooms,
        needs_interpreter=interpreter_needed,
        request=request,
        bookings=bookings,
    )
