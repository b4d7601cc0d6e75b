"""Loading what slot search needs for one case: the cached static part and the bookings.

The consulate, its consuls, the interpreters who speak one of the person's languages, the
facility's rooms and everyone's hours come from the app's `SearchCache` (checked against
the database's `scheduling_version` on every use). The active bookings of exactly those
people and rooms inside the searched range are read every time, in one statement (an
indexed range scan per resource kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, CompoundSelect, Integer, bindparam, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, lazyload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.sharing import CaseShare
from scheduling import zones
from scheduling.appointments import ACTIVE_VALUES, MAX_SPAN, Interview
from scheduling.search_cache import (
    ConsulateInfo,
    FacilityInfo,
    InterviewRules,
    Person,
    RoomInfo,
    SearchCache,
    rank,
)
from scheduling.slots import Resource, SearchRequest, Slot

DEFAULT_HORIZON = timedelta(days=30)


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
    """What a search (or a booking's check) ran on, to name people and rooms in results
    and errors."""

    case: Case
    consulate: ConsulateInfo
    facility: FacilityInfo
    settings: InterviewRules
    consuls: dict[int, Person]
    interpreters: dict[int, Person]
    rooms: dict[int, RoomInfo]
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


def deadline_end(case: Case, facility: FacilityInfo) -> datetime:
    """The end of the deadline day at the facility: interviews must end by then."""
    return zones.from_minute(zones.day_span(facility.time_zone, case.deadline)[1])


def _bookings_query(*, excluding: bool) -> CompoundSelect[Any]:
    # One indexed range scan per resource kind, glued with UNION ALL: an OR across the three
    # columns would make SQLite scan every active booking in the range instead. Built once
    # with bound parameters: composing it per call cost as much as running it.
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
        (Interview.consul_id, "consul_ids"),
        (Interview.interpreter_id, "interpreter_ids"),
        (Interview.room_id, "room_ids"),
    ):
        part = select(*columns).where(
            column.in_(bindparam(ids, expanding=True)),
            Interview.starts_at >= bindparam("first_start"),
            Interview.starts_at < bindparam("high"),
            Interview.busy_until > bindparam("low"),
            Interview.status.in_(ACTIVE_VALUES),
        )
        if excluding:
            part = part.where(Interview.id != bindparam("exclude"))
        parts.append(part)
    return union_all(*parts)


_BOOKINGS = _bookings_query(excluding=False)
_BOOKINGS_EXCEPT = _bookings_query(excluding=True)


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
    if not (consul_ids or interpreter_ids or room_ids):
        return []
    params: dict[str, Any] = {
        "consul_ids": consul_ids,
        "interpreter_ids": interpreter_ids,
        "room_ids": room_ids,
        "first_start": low - MAX_SPAN,
        "high": high,
        "low": low,
    }
    query = _BOOKINGS
    if exclude is not None:
        query = _BOOKINGS_EXCEPT
        params["exclude"] = exclude
    seen: set[int] = set()
    found: list[Busy] = []
    for row in (await session.execute(query, params)).all():
        if row[0] not in seen:
            seen.add(row[0])
            found.append(Busy._make(row))
    return found


_SHARED = (
    select(CaseShare.consulate_id)
    .where(CaseShare.case_id == bindparam("case_id"), CaseShare.revoked_at.is_(None))
    .distinct()
    .order_by(CaseShare.consulate_id)
)


async def shared_consulate_ids(session: AsyncSession, case_id: int) -> list[int]:
    """Ids of the consulates the case is shared with right now (one plain query)."""
    return list((await session.scalars(_SHARED, {"case_id": case_id})).all())


async def load_context(
    session: AsyncSession,
    case: Case,
    consulate_id: int,
    *,
    cache: SearchCache,
    now: datetime,
    horizon: timedelta | None = DEFAULT_HORIZON,
    span: tuple[datetime, datetime] | None = None,
    exclude: int | None = None,
    limit: int = 20,
    per_day: int | None = None,
    only: Slot | None = None,
) -> SearchContext:
    """Everything slot search (or a booking's check) needs for `case` with the consulate.

    The consulate, facility, people, rooms and hours come from `cache` (one statement to
    check it is current); the bookings are always read: one statement.
    `span` narrows the bookings read to the time around one slot (booking checks);
    `exclude` leaves out the interview being rescheduled; `only` keeps just the consul,
    interpreter and room a booking names (the others cannot matter to it).
    """
    languages = case.languages
    statics = await cache.statics(
        session, consulate_id=consulate_id, facility_id=case.facility_id, languages=languages
    )
    consulate = statics.consulate.consulate
    settings = statics.consulate.rules
    facility = statics.facility.facility
    consuls = statics.consulate.consuls
    interpreters = statics.interpreters
    rooms = statics.facility.rooms
    if only is not None:
        consuls = _only(consuls, only.consul_id)
        interpreters = _only(interpreters, only.interpreter_id)
        rooms = _only(rooms, only.room_id)
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

    request = SearchRequest(
        earliest=zones.to_minute(earliest),
        latest=zones.to_minute(latest),
        length=settings.interview_minutes,
        buffer=settings.buffer_minutes,
        step=settings.step_minutes,
        consulate=statics.consulate.schedule,
        consuls=[Resource(u.id, u.name, busy=busy("consul_id", u.id)) for u in consuls.values()],
        interpreters=[
            Resource(
                item.id,
                item.name,
                statics.interpreter_schedules[item.id],
                busy=busy("interpreter_id", item.id),
                max_per_day=item.max_per_day,
                language=item.spoken,
                rank=rank(item, languages),
            )
            for item in interpreters.values()
        ]
        if statics.needs_interpreter
        else None,
        rooms=[
            Resource(
                room.id,
                room.name,
                statics.facility.schedules[room.id],
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
        needs_interpreter=statics.needs_interpreter,
        request=request,
        bookings=bookings,
    )


T = TypeVar("T")


def _only(found: dict[int, T], ident: int | None) -> dict[int, T]:
    return {ident: found[ident]} if ident is not None and ident in found else {}
