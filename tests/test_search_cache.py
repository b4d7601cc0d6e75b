"""Slot search's cache of hours, people and rooms: it is used, and it never goes stale.

Edits here are made through a second engine on the same database (the `db` fixture), the
way another server process or the CLI would make them: the app learns of them only
through the `scheduling_version` row that the database's triggers change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.cases import Case
from scheduling.search import load_context
from scheduling.search_cache import SchedulingVersion, SearchCache
from tests.conftest import Clock, World, sign_in
from tests.test_scheduling_support import (
    Schedule,
    act_as,
    add_case,
    booking_body,
    set_up_schedule,
)
from web.keys import CLOCK, WRITE_GATE


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def version(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        value = await session.scalar(select(SchedulingVersion.version))
    assert value is not None
    return int(value)


async def edit(db: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> None:
    """Plain SQL through the other engine, committed."""
    async with db() as session, session.begin():
        await session.execute(text(sql), params)


async def first_slot(client: TestClient[Any, Any], schedule: Schedule) -> dict[str, Any]:
    response = await client.get(f"/api/cases/{schedule.case_id}/slots")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_searches_reuse_the_cache_and_see_edits_made_elsewhere_at_once(
    client: TestClient[Any, Any],
    app: web.Application,
    schedule: Schedule,
    db: async_sessionmaker[AsyncSession],
) -> None:
    cache = app[WRITE_GATE].search_cache
    await act_as(client, "staff@example.org")
    body = await first_slot(client, schedule)
    assert body["slots"][0]["starts_at"] == "2026-03-02T14:00:00+00:00"
    assert body["slots"][0]["room"]["name"] == "Sala 1"
    loads = cache.loads
    await first_slot(client, schedule)
    assert cache.loads == loads, "a second search read the hours and people again"

    # The consulate now opens at 11:00 New York (16:00 UTC).
    await edit(
        db, "UPDATE availability_windows SET start_minute = 660 WHERE owner_kind = 'consulate'"
    )
    body = await first_slot(client, schedule)
    assert body["slots"][0]["starts_at"] == "2026-03-02T16:00:00+00:00"

    await edit(db, "UPDATE video_rooms SET name = 'Sala Azul' WHERE id = :id", id=schedule.room_id)
    body = await first_slot(client, schedule)
    assert {slot["room"]["name"] for slot in body["slots"]} == {"Sala Azul"}

    # The interpreter stops working in Punjabi, the person's only language.
    await edit(
        db,
        "DELETE FROM interpreter_languages WHERE user_id = :id AND language = 'pan'",
        id=schedule.interpreter_id,
    )
    body = await first_slot(client, schedule)
    assert body["slots"] == []
    assert [p["code"] for p in body["problems"]] == ["no_interpreter"]


async def test_a_booking_checks_the_hours_as_they_are_now(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    await first_slot(client, schedule)  # fills the cache
    await edit(db, "UPDATE video_rooms SET active = false WHERE id = :id", id=schedule.room_id)
    refused = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert refused.status == 400
    details = (await refused.json())["error"]["details"]
    assert [item["field"] for item in details] == ["room_id"]
    await edit(db, "UPDATE video_rooms SET active = true WHERE id = :id", id=schedule.room_id)
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()


async def test_the_cached_context_is_the_one_a_fresh_load_gives(
    client: TestClient[Any, Any],
    app: web.Application,
    schedule: Schedule,
    db: async_sessionmaker[AsyncSession],
) -> None:
    await act_as(client, "staff@example.org")
    await first_slot(client, schedule)
    shared = app[WRITE_GATE].search_cache
    async with db() as session:
        case = await session.get(Case, schedule.case_id)
        assert case is not None
        contexts = [
            await load_context(
                session, case, schedule.world.india.id, cache=cache, now=app[CLOCK]()
            )
            for cache in (shared, SearchCache())
        ]
    cached, fresh = contexts
    assert cached.request == fresh.request
    assert (cached.consulate, cached.facility, cached.settings) == (
        fresh.consulate,
        fresh.facility,
        fresh.settings,
    )
    assert (cached.consuls, cached.interpreters, cached.rooms) == (
        fresh.consuls,
        fresh.interpreters,
        fresh.rooms,
    )


WATCHED = [
    ("a consulate's hours", "UPDATE availability_windows SET end_minute = 720"),
    ("a holiday", "INSERT INTO availability_exceptions (owner_kind, owner_id, day, available, "
     "reason) VALUES ('consulate', :india, '2026-03-04', false, 'closed')"),
    ("the interview length", "UPDATE consulate_schedules SET interview_minutes = 45"),
    ("an interpreter's daily maximum", "UPDATE interpreter_profiles SET max_per_day = 2"),
    ("an interpreter's languages", "DELETE FROM interpreter_languages WHERE language = 'hin'"),
    ("a room", "UPDATE video_rooms SET name = 'Sala 2'"),
    ("a room's hours", "DELETE FROM availability_windows WHERE owner_kind = 'room'"),
    ("a consulate's languages", "DELETE FROM consulate_languages WHERE language = 'eng'"),
    ("a consul's name", "UPDATE users SET name = 'Consul Two' WHERE id = :consul"),
    ("a consul's zone", "UPDATE users SET time_zone = 'America/Chicago' WHERE id = :consul"),
    ("an account disabled", "UPDATE users SET disabled = true WHERE id = :consul"),
    ("a facility's zone", "UPDATE facilities SET time_zone = 'America/Cancun'"),
    ("a consulate's name", "UPDATE consulates SET name = 'India, DC' WHERE id = :india"),
]  # fmt: skip
IGNORED = [
    ("a sign-in", "UPDATE users SET failed_logins = 0, locked_until = NULL"),
    ("a wrong password", "UPDATE users SET failed_logins = failed_logins + 1"),
    ("a user saved unchanged", "UPDATE users SET name = name, role = role"),
    ("a facility's deadline days", "UPDATE facilities SET deadline_days = 30"),
    ("a consulate's phone", "UPDATE consulates SET phone = '+1 202 939 7000'"),
    ("a case", "UPDATE cases SET family_name = 'Other'"),
]


async def test_each_change_search_depends_on_gives_a_new_version_and_nothing_else_does(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    """The triggers of migration 0013, on SQLite and PostgreSQL alike; a migration that
    rebuilds a watched table (SQLite batch mode) and drops them fails here."""
    # Signing in and booking write to the database too, but not to what search caches.
    before = await version(db)
    await sign_in(client, "staff@example.org")
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T15:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()
    assert await version(db) == before
    ids = {"india": schedule.world.india.id, "consul": schedule.world.consul_india.id}
    for label, sql in WATCHED:
        before = await version(db)
        await edit(db, sql, **{k: v for k, v in ids.items() if f":{k}" in sql})
        assert await version(db) != before, f"{label} did not change the version"
    for label, sql in IGNORED:
        before = await version(db)
        await edit(db, sql)
        assert await version(db) == before, f"{label} changed the version"


async def test_a_search_skips_the_times_bookings_hold_with_their_pause(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    """Bookings are read fresh on every search (as busy times per resource), never cached."""
    async with db() as session, session.begin():
        other = await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0002",
            deadline=date(2026, 3, 20),
            share_with=schedule.world.india.id,
        )
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()
    body = await (await client.get(f"/api/cases/{other}/slots")).json()
    # 14:00-15:00 and its 15-minute pause: the same consul, interpreter and room are free
    # from 15:15, so the next slot on the consulate's 30-minute grid is 15:30.
    assert body["slots"][0]["starts_at"] == "2026-03-02T15:30:00+00:00"


async def test_a_booking_its_cancellation_and_new_hours_change_the_very_next_search(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    """Slot search remembers its work per resource and per kind of resource (keyed by the
    bookings and hours it was worked out from) and the parsing of each resource's bookings:
    a search right after a change must still see it, and a search after the change is
    undone must see the earlier times again."""
    async with db() as session, session.begin():
        other, third = [
            await add_case(
                session,
                schedule.world.tapachula.id,
                reference,
                deadline=date(2026, 3, 20),
                share_with=schedule.world.india.id,
            )
            for reference in ("TAP-2026-0002", "TAP-2026-0003")
        ]
    await act_as(client, "staff@example.org")
    # The consul, interpreter and room already have a booking: each search reads it.
    earlier = await client.post(
        "/api/interviews",
        json=booking_body(schedule, "2026-03-04T14:00:00+00:00", case_id=third),
    )
    assert earlier.status == 201, await earlier.text()

    async def earliest() -> str:
        body = await (await client.get(f"/api/cases/{other}/slots")).json()
        start: str = body["slots"][0]["starts_at"]
        return start

    assert await earliest() == "2026-03-02T14:00:00+00:00"
    assert await earliest() == "2026-03-02T14:00:00+00:00"  # now from what was remembered
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()
    assert await earliest() == "2026-03-02T15:30:00+00:00"
    interview = await booked.json()
    cancelled = await client.post(
        f"/api/interviews/{interview['id']}/cancel", json={"reason": "Person was released"}
    )
    assert cancelled.status == 200, await cancelled.text()
    assert await earliest() == "2026-03-02T14:00:00+00:00"
    # The room now opens at 10:00 Mexico City (16:00 UTC) on weekdays.
    await edit(
        db,
        "UPDATE availability_windows SET start_minute = 600 WHERE owner_kind = 'room'"
        " AND owner_id = :id",
        id=schedule.room_id,
    )
    assert await earliest() == "2026-03-02T16:00:00+00:00"
