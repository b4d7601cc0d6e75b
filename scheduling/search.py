"""Loading what slot search needs for one case from the database, in a handful of queries.

Only the relevant rows are read: the case's consulate and its consuls, the interpreters
who speak one of the person's languages, the facility's rooms, their windows and
exceptions (one query each), and the active bookings of exactly those people and rooms
inside the searched range (an indexed range scan per resource kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, lazyload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from interviews.accounts import Role, User
from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.facilities import Facility
from interviews.sharing import CaseShare
from scheduling import zones
from scheduling.appointments import ACTIVE_VALUES, MAX_SPAN, Interview
from scheduling.availability import consulate_settings
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
from scheduling.slots import DayException, Resource, Schedule, SearchRequest, Slot, Weekly

DEFAULT_HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class Person:
    """A consul or an eligible interpreter, as search and invitations need them."""

    id: int
    name: str
    email: str
    language: str  # the language their invitations are written in (en, es)
    time_zone: str  # the account's zone (consuls) or the working zone (interpreters)
    max_per_day: int | None = None
    spoken: str | None = None  # interpreters: which of the person's languages they cover
    proficiency: str | None = None


class epoch_minutes(ColumnElement[int]):
    """Whole minutes since the epoch of a UTC timestamp column, computed by the database.

    Slot search reads thousands of booking times; letting the database hand back integers
    avoids parsing each timestamp in Python (the bulk of the load time on SQLite).
    """

    inherit_cache = True
    # The wrapped column is part of the statement's cache key, so compiled SQL is reused.
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012
    type = Integer()

    def __init__(self, column: QueryableAttribute[datetime]) -> None:
        self.column = column.expression


@compiles(epoch_minutes, "sqlite")
def _epoch_sqlite(element: epoch_minutes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {compiler.process(element.column, **kw)}) AS INTEGER) / 60)"


@compiles(epoch_minutes)
def _epoch_default(element: epoch_minutes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(EXTRACT(EPOCH FROM {compiler.process(element.column, **kw)}) AS BIGINT) / 60)"


class Busy(NamedTuple):
    """An active booking as slot search sees it, times in epoch minutes (a tuple: thousands
    are made per search)."""

    interview_id: int
    consul_id: int
    interpreter_id: int | None
    room_id: int
    start: int
    until: int

    @property
    def starts_at(self) -> datetime:
        """The start as an aware UTC datetime."""
        return zones.from_minute(self.start)

    @property
    def busy_until(self) -> datetime:
        """The end of the buffer as an aware UTC datetime."""
        return zones.from_minute(self.until)


@dataclass
class SearchContext:
    """The rows behind a SearchRequest, to name people and rooms in results and errors."""

    case: Case
    consulate: Consulate
    facility: Facility
    settings: ConsulateSchedule
    consuls: dict[int, Person]
    interpreters: dict[int, Person]
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
        # Scheduling reads the name, zone and languages only.
        .options(lazyload(Consulate.jurisdiction_rows), lazyload(Consulate.evidence_rows))
    )
    return list(rows.all())


def needs_interpreter(case: Case, consulate: Consulate) -> bool:
    """True unless the consulate works in one of the person's languages."""
    return not set(case.languages) & set(consulate.languages)


def deadline_end(case: Case, facility: Facility) -> datetime:
    """The end of the deadline day at the facility: interviews must end by then."""
    return zones.from_minute(zones.day_span(facility.time_zone, case.deadline)[1])


async def _consuls(session: AsyncSession, consulate_id: int, only: int | None) -> dict[int, Person]:
    query = (
        select(User.id, User.name, User.email, User.language, User.time_zone)
        .where(
            User.role == Role.CONSUL.value,
            User.consulate_id == consulate_id,
            User.disabled.is_(False),
        )
        .order_by(User.id)
    )
    if only is not None:
        query = query.where(User.id == only)
    return {row[0]: Person(*row) for row in (await session.execute(query)).all()}


async def _interpreters(
    session: AsyncSession, languages: list[str], only: int | None
) -> dict[int, Person]:
    if not languages:
        return {}
    query = (
        select(
            User.id,
            User.name,
            User.email,
            User.language,
            InterpreterProfile.time_zone,
            InterpreterProfile.max_per_day,
            InterpreterLanguage.language,
            InterpreterLanguage.proficiency,
        )
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
    if only is not None:
        query = query.where(User.id == only)
    found: dict[int, Person] = {}
    for row in (await session.execute(query)).all():
        person = Person(*row)
        current = found.get(person.id)
        if current is None or _rank(person, languages) < _rank(current, languages):
            found[person.id] = person
    return found


def _rank(person: Person, languages: list[str]) -> int:
    return _language_rank(
        person.proficiency or Proficiency.WORKING.value, person.spoken or "", languages
    )


def _language_rank(proficiency: str, language: str, languages: list[str]) -> int:
    # Better proficiency first; between equals, the person's main language first.
    position = languages.index(language) if language in languages else len(languages)
    return Proficiency(proficiency).rank * 100 + position


Owner = tuple[str, int]


async def _schedules(
    session: AsyncSession, owners: list[tuple[OwnerKind, list[int]]]
) -> tuple[dict[Owner, list[Weekly]], dict[Owner, list[DayException]]]:
    """Windows and exceptions of these owners: two queries, plain tuples (no ORM objects)."""
    windows: dict[Owner, list[Weekly]] = {}
    exceptions: dict[Owner, list[DayException]] = {}
    wanted = [(kind, ids) for kind, ids in owners if ids]
    if not wanted:
        return windows, exceptions
    window_query = union_all(
        *(
            select(
                AvailabilityWindow.owner_kind,
                AvailabilityWindow.owner_id,
                AvailabilityWindow.weekday,
                AvailabilityWindow.start_minute,
                AvailabilityWindow.end_minute,
                AvailabilityWindow.priority_only,
            ).where(
                AvailabilityWindow.owner_kind == kind.value, AvailabilityWindow.owner_id.in_(ids)
            )
            for kind, ids in wanted
        )
    )
    for kind, owner, weekday, start, end, priority in (await session.execute(window_query)).all():
        windows.setdefault((kind, owner), []).append(Weekly(weekday, start, end, bool(priority)))
    exception_query = union_all(
        *(
            select(
                AvailabilityException.owner_kind,
                AvailabilityException.owner_id,
                AvailabilityException.day,
                AvailabilityException.start_minute,
                AvailabilityException.end_minute,
                AvailabilityException.available,
            ).where(
                AvailabilityException.owner_kind == kind.value,
                AvailabilityException.owner_id.in_(ids),
            )
            for kind, ids in wanted
        )
    )
    for kind, owner, day, first, last, available in (await session.execute(exception_query)).all():
        if isinstance(day, str):  # a UNION's columns lose their Date type on SQLite
            day = date.fromisoformat(day)
        exceptions.setdefault((kind, owner), []).append(
            DayException(day, first, last, bool(available))
        )
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
    # One indexed range scan per resource kind, glued with UNION ALL: an OR across the three
    # columns would make SQLite scan every active booking in the range instead.
    columns = (
        Interview.id,
        Interview.consul_id,
        Interview.interpreter_id,
        Interview.room_id,
        epoch_minutes(Interview.starts_at),
        epoch_minutes(Interview.busy_until),
    )
    parts = []
    for column, ids in (
        (Interview.consul_id, consul_ids),
        (Interview.interpreter_id, interpreter_ids),
        (Interview.room_id, room_ids),
    ):
        if not ids:
            continue
        part = select(*columns).where(
            column.in_(ids),
            Interview.starts_at >= low - MAX_SPAN,
            Interview.starts_at < high,
            Interview.busy_until > low,
            Interview.status.in_(ACTIVE_VALUES),
        )
        if exclude is not None:
            part = part.where(Interview.id != exclude)
        parts.append(part)
    if not parts:
        return []
    seen: set[int] = set()
    found: list[Busy] = []
    for row in (await session.execute(union_all(*parts))).all():
        if row[0] not in seen:
            seen.add(row[0])
            found.append(Busy._make(row))
    return found


async def load_context(
    session: AsyncSession,
    case: Case,
    consulate: Consulate,
    *,
    now: datetime,
    horizon: timedelta | None = DEFAULT_HORIZON,
    span: tuple[datetime, datetime] | None = None,
    exclude: int | None = None,
    limit: int = 20,
    per_day: int | None = None,
    only: Slot | None = None,
) -> SearchContext:
    """Everything slot search (or a booking re-check) needs for `case` with `consulate`.

    `span` narrows the bookings read to the time around one slot (booking re-checks);
    `exclude` leaves out the interview being rescheduled; `only` keeps just the consul,
    interpreter and room a booking names (the others cannot matter to it).
    """
    facility = await session.get(Facility, case.facility_id)
    if facility is None:
        raise LookupError(f"facility {case.facility_id} is missing")
    settings = await consulate_settings(session, consulate.id)
    consuls = await _consuls(session, consulate.id, only.consul_id if only else None)
    languages = case.languages
    interpreter_needed = needs_interpreter(case, consulate)
    interpreters = {}
    if interpreter_needed and (only is None or only.interpreter_id is not None):
        wanted = only.interpreter_id if only else None
        interpreters = await _interpreters(session, languages, wanted)
    room_query = (
        select(VideoRoom)
        .where(VideoRoom.facility_id == facility.id, VideoRoom.active.is_(True))
        .order_by(VideoRoom.name)
    )
    if only is not None:
        room_query = room_query.where(VideoRoom.id == only.room_id)
    room_rows = await session.scalars(room_query)
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
    latest = deadline_end(case, facility)
    if horizon is not None:  # how far a search looks; a booking may go up to the deadline
        latest = min(latest, now + horizon)
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

    held: dict[tuple[str, int | None], list[tuple[int, int]]] = {}
    for item in bookings:
        minutes = (item.start, item.until)
        held.setdefault(("consul_id", item.consul_id), []).append(minutes)
        held.setdefault(("interpreter_id", item.interpreter_id), []).append(minutes)
        held.setdefault(("room_id", item.room_id), []).append(minutes)

    def busy(match: str, ident: int) -> tuple[tuple[int, int], ...]:
        return tuple(held.get((match, ident), ()))

    def schedule(kind: OwnerKind, ident: int, zone_name: str) -> Schedule:
        key = (kind.value, ident)
        return Schedule(zone_name, tuple(windows.get(key, ())), tuple(exceptions.get(key, ())))

    request = SearchRequest(
        earliest=zones.to_minute(earliest),
        latest=zones.to_minute(latest),
        length=settings.interview_minutes,
        buffer=settings.buffer_minutes,
        step=settings.step_minutes,
        consulate=schedule(OwnerKind.CONSULATE, consulate.id, consulate.time_zone),
        consuls=[Resource(u.id, u.name, busy=busy("consul_id", u.id)) for u in consuls.values()],
        interpreters=[
            Resource(
                item.id,
                item.name,
                schedule(OwnerKind.INTERPRETER, item.id, item.time_zone),
                busy=busy("interpreter_id", item.id),
                max_per_day=item.max_per_day,
                language=item.spoken,
                rank=_rank(item, languages),
            )
            for item in interpreters.values()
        ]
        if interpreter_needed
        else None,
        rooms=[
            Resource(
                room.id,
                room.name,
                schedule(OwnerKind.ROOM, room.id, facility.time_zone),
                busy=busy("room_id", room.id),
            )
            for room in rooms.values()
        ],
        priority=case.unaccompanied_minor,
        languages=tuple(languages),
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
