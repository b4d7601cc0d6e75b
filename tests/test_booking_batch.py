"""Requests that reach the locked write together are written in one transaction, and each
gets what it would have got alone, in turn.

The requests are checked first (`check_request`, no lock), then handed to `write_request`
in the same instant, so they wait for the writer together and go in one batch; counting
the database transactions shows they did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import User
from interviews.cases import CaseStatusChange
from scheduling import booking_request
from scheduling.appointments import ACTIVE_VALUES, Interview
from scheduling.booking_request import CheckedRequest
from scheduling.booking_rules import BookIn, BookingError
from scheduling.changes import Change
from scheduling.writes import WriteGate
from tests.conftest import Clock, World
from tests.test_scheduling_support import Schedule, add_case, booking_body, set_up_schedule
from web.keys import BOOKING_POLICY, CLOCK, WRITE_GATE


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def another_case(db: async_sessionmaker[AsyncSession], world: World, n: int) -> int:
    async with db() as session, session.begin():
        return await add_case(
            session,
            world.tapachula.id,
            f"TAP-2026-{n:04d}",
            deadline=date(2026, 3, 20),
            share_with=world.india.id,
        )


async def checked(
    app: web.Application, schedule: Schedule, starts_at: str, **changes: Any
) -> CheckedRequest:
    data = BookIn.model_validate(booking_body(schedule, starts_at, **changes))
    return await booking_request.check_request(app[WRITE_GATE], data, change(app, schedule))


def change(app: web.Application, schedule: Schedule) -> Change:
    return Change(Actor.of(schedule.world.staff), app[CLOCK]())


@contextmanager
def transactions(gate: WriteGate) -> Iterator[list[object]]:
    """The database transactions begun on the app's engine meanwhile."""
    begun: list[object] = []
    engine = gate.sessionmaker.kw["bind"].sync_engine

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(engine, "begin", on_begin)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", on_begin)


async def write_together(
    app: web.Application, schedule: Schedule, requests: list[CheckedRequest]
) -> list[Interview | BaseException]:
    gate = app[WRITE_GATE]
    return await asyncio.gather(
        *(
            booking_request.write_request(gate, one, change(app, schedule), app[BOOKING_POLICY])
            for one in requests
        ),
        return_exceptions=True,
    )


async def active(db: async_sessionmaker[AsyncSession]) -> list[tuple[int, int]]:
    async with db() as session:
        rows = await session.execute(
            select(Interview.id, Interview.case_id)
            .where(Interview.status.in_(ACTIVE_VALUES))
            .order_by(Interview.id)
        )
        return [(a, b) for a, b in rows.all()]


async def test_two_requests_for_one_slot_in_one_batch_the_second_gets_the_usual_conflict(
    client: TestClient[Any, Any],
    app: web.Application,
    db: async_sessionmaker[AsyncSession],
    schedule: Schedule,
) -> None:
    other_case = await another_case(db, schedule.world, 2)
    first = await checked(app, schedule, "2026-03-02T14:00:00Z")
    second = await checked(app, schedule, "2026-03-02T14:00:00Z", case_id=other_case)

    with transactions(app[WRITE_GATE]) as begun:
        won, lost = await write_together(app, schedule, [first, second])
    assert len(begun) == 1  # one batch

    assert isinstance(won, Interview)
    assert isinstance(lost, BookingError)
    assert await active(db) == [(won.id, schedule.case_id)]
    # The same refusal as a third person's who asks for the slot once it is taken.
    third_case = await another_case(db, schedule.world, 3)
    with pytest.raises(BookingError) as later:
        await checked(app, schedule, "2026-03-02T14:00:00Z", case_id=third_case)
    assert (lost.status, lost.code, lost.message) == (409, "conflict", later.value.message)
    assert lost.details == later.value.details
    assert {(c["resource"], c["interview_id"]) for c in lost.details} == {
        ("consul", won.id),
        ("interpreter", won.id),
        ("room", won.id),
    }


async def test_two_slots_for_one_case_in_one_batch_book_it_once(
    client: TestClient[Any, Any],
    app: web.Application,
    db: async_sessionmaker[AsyncSession],
    schedule: Schedule,
) -> None:
    first = await checked(app, schedule, "2026-03-02T14:00:00Z")
    second = await checked(app, schedule, "2026-03-03T14:00:00Z")

    with transactions(app[WRITE_GATE]) as begun:
        won, lost = await write_together(app, schedule, [first, second])
    assert len(begun) == 1

    assert isinstance(won, Interview)
    assert isinstance(lost, BookingError)
    assert (lost.status, lost.code, lost.details) == (
        409,
        "case_has_interview",
        {"interview_id": won.id},
    )
    assert await active(db) == [(won.id, schedule.case_id)]
    async with db() as session:
        moves = await session.scalar(select(func.count()).select_from(CaseStatusChange))
    assert moves == 1


async def test_a_request_that_fails_its_statement_fails_alone(
    client: TestClient[Any, Any],
    app: web.Application,
    db: async_sessionmaker[AsyncSession],
    schedule: Schedule,
) -> None:
    """The middle request names a requester who is not in the database, so inserting its
    participants breaks a foreign key: the batch is written again one by one."""
    cases = [schedule.case_id] + [await another_case(db, schedule.world, n) for n in (2, 3)]
    requests = [
        await checked(app, schedule, f"2026-03-0{day}T14:00:00Z", case_id=case_id)
        for day, case_id in zip((2, 3, 4), cases, strict=True)
    ]
    ghost = User(
        id=999_999, name="Ghost", email="ghost@example.org", language="en", time_zone="UTC"
    )
    requests[1] = replace(requests[1], requester=ghost)

    with transactions(app[WRITE_GATE]) as begun:
        first, broken, third = await write_together(app, schedule, requests)
    assert len(begun) == 1 + 3  # the batch, then each alone

    assert isinstance(broken, IntegrityError)
    assert isinstance(first, Interview)
    assert isinstance(third, Interview)
    assert await active(db) == [(first.id, cases[0]), (third.id, cases[2])]
    assert [p.user_id for p in first.participants][-1] == schedule.world.staff.id
