"""A booking moves its case to interview_requested once, with its history row and audit
event, whatever happened to the case since the booking's checks looked at it.

The booking's write transaction reads the case's status and any active interview under
the lock, checks them as they are now and moves the case from that status. The stories
below make the case change between the checks and the write through a second engine on
the same database, as another request or process would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.audit import AuditEvent
from interviews.cases import Case, CaseStatusChange
from scheduling import booking
from scheduling.appointments import Interview
from scheduling.booking_rules import BookIn, BookingError
from scheduling.writes import WriteGate
from tests.conftest import Clock, World
from tests.test_scheduling_support import Schedule, act_as, booking_body, set_up_schedule
from web.keys import BOOKING_POLICY, CLOCK, WRITE_GATE


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def set_status(db: async_sessionmaker[AsyncSession], case_id: int, status: str) -> None:
    async with db() as session, session.begin():
        await session.execute(update(Case).where(Case.id == case_id).values(status=status))


async def history(db: async_sessionmaker[AsyncSession], case_id: int) -> list[tuple[str, str]]:
    async with db() as session:
        rows = await session.execute(
            select(CaseStatusChange.from_status, CaseStatusChange.to_status)
            .where(CaseStatusChange.case_id == case_id)
            .order_by(CaseStatusChange.id)
        )
        return [(a, b) for a, b in rows.all()]


async def counted(db: async_sessionmaker[AsyncSession], model: Any, **where: Any) -> int:
    async with db() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(await session.scalar(query) or 0)


class ChangedMeanwhile(WriteGate):
    """The app's gate, but something happens just before the write transaction starts."""

    def __init__(self, inner: WriteGate, meanwhile: Callable[[], Awaitable[None]]) -> None:
        super().__init__(inner.sessionmaker)
        self.search_cache = inner.search_cache
        self.meanwhile = meanwhile

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        meanwhile, self.meanwhile = self.meanwhile, _nothing
        await meanwhile()
        async with super().transaction() as session:
            yield session


async def _nothing() -> None:
    return None


async def book_meanwhile(
    app: web.Application,
    schedule: Schedule,
    meanwhile: Callable[[], Awaitable[None]],
    starts_at: str = "2026-03-02T14:00:00+00:00",
) -> Interview:
    gate = ChangedMeanwhile(app[WRITE_GATE], meanwhile)
    data = BookIn.model_validate(booking_body(schedule, starts_at))
    staff = Actor.of(schedule.world.staff)
    return await booking.request_interview(
        gate, data, booking.Change(staff, app[CLOCK]()), app[BOOKING_POLICY]
    )


async def test_an_open_case_moves_once_with_its_history_and_audit_event(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()
    assert await history(db, schedule.case_id) == [("open", "interview_requested")]
    assert await counted(db, AuditEvent, action="case.status") == 1
    assert len((await booked.json())["participants"]) == 3


async def test_a_case_already_marked_interview_requested_is_booked_without_a_second_move(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await set_status(db, schedule.case_id, "interview_requested")
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()
    assert await history(db, schedule.case_id) == []
    assert await counted(db, AuditEvent, action="case.status") == 0
    assert await counted(db, AuditEvent, action="interview.request") == 1


async def test_a_case_closed_after_the_checks_is_refused_and_nothing_is_written(
    client: TestClient[Any, Any],
    app: web.Application,
    schedule: Schedule,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async def close() -> None:
        await set_status(db, schedule.case_id, "closed_released")

    with pytest.raises(BookingError) as refused:
        await book_meanwhile(app, schedule, close)
    assert refused.value.code == "case_closed"
    assert await counted(db, Interview) == 0
    assert await history(db, schedule.case_id) == []


async def test_a_case_booked_meanwhile_is_refused_even_if_its_status_was_set_back(
    client: TestClient[Any, Any],
    app: web.Application,
    schedule: Schedule,
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Only the "no active interview" part of the guard can tell: the status is still
    open, as the checks saw it."""

    async def book_another_then_reopen() -> None:
        await book_meanwhile(app, schedule, _nothing, "2026-03-03T14:00:00+00:00")
        await set_status(db, schedule.case_id, "open")

    with pytest.raises(BookingError) as refused:
        await book_meanwhile(app, schedule, book_another_then_reopen)
    assert refused.value.code == "case_has_interview"
    assert await counted(db, Interview) == 1


async def test_a_case_moved_on_after_the_checks_is_moved_from_where_it_is_now(
    client: TestClient[Any, Any],
    app: web.Application,
    schedule: Schedule,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async def ask_for_more() -> None:
        await set_status(db, schedule.case_id, "more_information_needed")

    made = await book_meanwhile(app, schedule, ask_for_more)
    assert made.status == "requested"
    assert await history(db, schedule.case_id) == [
        ("more_information_needed", "interview_requested")
    ]
    async with db() as session:
        case = await session.get(Case, schedule.case_id)
    assert case is not None and case.status == "interview_requested"


async def test_two_simultaneous_bookings_of_one_case_at_different_times_give_one_interview(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    """The case is interview_requested already (set by hand), so neither booking moves it:
    only the case check under the write lock (a row lock on PostgreSQL) keeps the rule of
    one requested or confirmed interview per case."""
    await set_status(db, schedule.case_id, "interview_requested")
    await act_as(client, "staff@example.org")
    replies = await asyncio.gather(
        *(
            client.post("/api/interviews", json=booking_body(schedule, starts_at))
            for starts_at in ("2026-03-02T14:00:00+00:00", "2026-03-02T16:00:00+00:00")
        )
    )
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201, 409], [await reply.text() for reply in replies]
    refused = next(reply for reply in replies if reply.status == 409)
    assert (await refused.json())["error"]["code"] == "case_has_interview"
    assert await counted(db, Interview, case_id=schedule.case_id) == 1
