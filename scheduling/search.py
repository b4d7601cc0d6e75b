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
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.sharing import CaseShare
from scheduling import zones
from scheduling.busy import CONSUL, INTERPRETER, ROOM, Busy, active_bookings, busy_times
from scheduling.search_cache import (
    ConsulateInfo,
    FacilityInfo,
    InterviewRules,
    Person,
    RoomInfo,
    SearchCache,
    Version,
    rank,
)
from scheduling.slots import Resource, SearchRequest, Slot

DEFAULT_HORIZON = timedelta(days=30)


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
    seen: Version | None = None,
) -> SearchContext:
    """Everything slot search (or a booking's check) needs for `case` with the consulate.

    The consulate, facility, people, rooms and hours come from `cache` (one statement to
    check it is current); the bookings are always read: one statement.
    `span` narrows the bookings read to the time around one slot (booking checks);
    `exclude` leaves out the interview being rescheduled; `only` keeps just the consul,
    interpreter and room a booking names (the others cannot matter to it); `seen` is the
    cache's version if the caller read it already (`SearchCache.statics`).
    """
    languages = case.languages
    statics = await cache.statics(
        session,
        consulate_id=consulate_id,
        facility_id=case.facility_id,
        languages=languages,
        seen=seen,
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
    bookings: list[Busy] = []
    read_from, read_until = low - timedelta(days=1), high + timedelta(days=1)
    if only is None:  # a search: the busy times per resource are all it needs
        held = await busy_times(
            session,
            low=read_from,
            high=read_until,
            consul_ids=list(consuls),
            interpreter_ids=list(interpreters),
            room_ids=list(rooms),
            exclude=exclude,
            pairs=cache.busy_pairs,
        )
    else:  # a booking's check: the bookings themselves, to name any clash
        bookings = await active_bookings(
            session,
            low=read_from,
            high=read_until,
            consul_ids=list(consuls),
            interpreter_ids=list(interpreters),
            room_ids=list(rooms),
            exclude=exclude,
        )
        lists: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for item in bookings:
            minutes = (item.start, item.until)
            lists.setdefault((CONSUL, item.consul_id), []).append(minutes)
            if item.interpreter_id is not None:
                lists.setdefault((INTERPRETER, item.interpreter_id), []).append(minutes)
            lists.setdefault((ROOM, item.room_id), []).append(minutes)
        held = dict(lists)

    def busy(kind: int, ident: int) -> tuple[tuple[int, int], ...]:
        return tuple(held.get((kind, ident), ()))

    request = SearchRequest(
        earliest=zones.to_minute(earliest),
        latest=zones.to_minute(latest),
        length=settings.interview_minutes,
        buffer=settings.buffer_minutes,
        step=settings.step_minutes,
        consulate=statics.consulate.schedule,
        consuls=[Resource(u.id, u.name, busy=busy(CONSUL, u.id)) for u in consuls.values()],
        interpreters=[
            Resource(
                item.id,
                item.name,
                statics.interpreter_schedules[item.id],
                busy=busy(INTERPRETER, item.id),
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
                busy=busy(ROOM, room.id),
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
