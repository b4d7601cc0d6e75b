"""Signed-in people join from their calendar or the interview page: a "Join" link to the
live session on their own confirmed interviews while the join window is open, in Spanish
and English; nobody else gets one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import Role, create_user
from tests.conftest import PASSWORD, Clock, World
from tests.test_scheduling_support import Schedule, act_as, booking_body, set_up_schedule
from web.templating import LANG_COOKIE

IN_WINDOW = datetime(2026, 3, 4, 13, 45, tzinfo=UTC)


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def _confirmed(client: TestClient[Any, Any], schedule: Schedule) -> int:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-04T14:00:00Z")
    )
    assert booked.status == 201, await booked.text()
    interview_id = int((await booked.json())["id"])
    await act_as(client, "consul.in@example.org")
    assert (await client.post(f"/api/interviews/{interview_id}/confirm")).status == 200
    return interview_id


async def _text(client: TestClient[Any, Any], path: str) -> str:
    response = await client.get(path)
    assert response.status == 200 and response.url.path == path.split("?")[0], path
    return await response.text()


async def test_people_on_the_interview_join_from_their_calendar_and_the_interview_page(
    client: TestClient[Any, Any],
    schedule: Schedule,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    interview_id = await _confirmed(client, schedule)
    calendar = f"/calendar/facility/{schedule.world.tapachula.id}?week=2026-03-02"
    page = f"/scheduling/interviews/{interview_id}"
    join = f'href="/session/{interview_id}"'
    async with db() as session, session.begin():
        await create_user(
            session,
            email="staff2@example.org",
            name="Other Staff",
            role=Role.STAFF,
            password=PASSWORD,
            facility_id=schedule.world.tapachula.id,
        )

    await act_as(client, "staff@example.org")
    assert join not in await _text(client, calendar)  # two days early: not yet
    assert join not in await _text(client, page)

    clock.now = IN_WINDOW
    await act_as(client, "staff@example.org")  # signed in afresh: two days have passed
    assert join in await _text(client, calendar)
    assert join in await _text(client, page)
    session_page = await _text(client, f"/session/{interview_id}")
    assert f'data-interview="{interview_id}"' in session_page

    client.session.cookie_jar.update_cookies({LANG_COOKIE: "es"})
    assert ">Entrar</a>" in await _text(client, calendar)
    assert "Conectarse a la entrevista</a>" in await _text(client, page)

    # Someone else of the same facility sees the interview but is not on it.
    await act_as(client, "staff2@example.org")
    assert join not in await _text(client, calendar)
    assert join not in await _text(client, page)
    await act_as(client, "admin@example.org")
    assert join not in await _text(client, page)
