"""Two hundred people press "book" for the same slot at the same moment: one gets it.

Runs on SQLite and, with CONSULINK_TEST_DATABASE_URL set, on PostgreSQL: the requests go
over real HTTP connections (no connection limit) to the real server.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User, issue_api_token
from scheduling.appointments import ACTIVE_VALUES, Interview
from tests.conftest import Clock, World
from tests.test_scheduling_support import add_case, booking_body, set_up_schedule

REQUESTS = 200


async def test_two_hundred_simultaneous_requests_for_one_slot_give_exactly_one_booking(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    schedule = await set_up_schedule(db, world, clock)
    async with db() as session, session.begin():
        # A different person for each request: only the consul, interpreter and room clash.
        case_ids = [
            await add_case(
                session,
                world.tapachula.id,
                f"TAP-2026-{n:04d}",
                deadline=date(2026, 3, 20),
                share_with=world.india.id,
            )
            for n in range(2, 2 + REQUESTS)
        ]
        staff = await session.get(User, world.staff.id)
        assert staff is not None
        token = await issue_api_token(session, staff)

    url = client.make_url("/api/interviews")
    connector = aiohttp.TCPConnector(limit=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        start = asyncio.Event()

        async def book(case_id: int) -> tuple[int, Any]:
            await start.wait()
            body = booking_body(schedule, "2026-03-02T14:00:00Z", case_id=case_id)
            async with http.post(url, json=body) as response:
                return response.status, await response.json()

        tasks = [asyncio.create_task(book(case_id)) for case_id in case_ids]
        await asyncio.sleep(0)
        start.set()
        results = await asyncio.gather(*tasks)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: REQUESTS - 1}, statuses
    (winner,) = [body for status, body in results if status == 201]
    for status, body in results:
        if status == 409:
            clashed = {(c["resource"], c["interview_id"]) for c in body["error"]["details"]}
            assert ("consul", winner["id"]) in clashed
            assert ("room", winner["id"]) in clashed
            assert ("interpreter", winner["id"]) in clashed
    async with db() as session:
        active = (
            await session.scalars(select(Interview).where(Interview.status.in_(ACTIVE_VALUES)))
        ).all()
    assert [row.id for row in active] == [winner["id"]]
