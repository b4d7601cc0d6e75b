"""Availability, slot search and calendars over the JSON API: each party edits its own,
searches say what is missing, time zones hold across DST, calendars show the right week."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User
from scheduling.resources import AvailabilityWindow, VideoRoom
from tests.conftest import Clock, World
from tests.test_scheduling_support import (
    Schedule,
    act_as,
    add_case,
    booking_body,
    set_up_schedule,
    weekdays,
)


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def windows_stored(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(AvailabilityWindow)) or 0)


def error_fields(body: dict[str, Any]) -> set[str]:
    return {item["field"] for item in body["error"]["details"]}


async def test_a_consul_sets_the_consulates_hours_and_only_their_own(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    world = schedule.world
    await act_as(client, "consul.in@example.org")
    url = f"/api/consulates/{world.india.id}/interview-hours"
    hours = {
        "interview_minutes": 45,
        "buffer_minutes": 10,
        "windows": weekdays("10:00", "12:00"),
        "exceptions": [{"day": "2026-03-03", "reason": "Holi"}],
    }
    saved = await client.put(url, json=hours)
    assert saved.status == 200, await saved.text()
    body = await (await client.get(url)).json()
    assert body["interview_minutes"] == 45 and len(body["windows"]) == 5
    assert body["exceptions"] == [
        {"day": "2026-03-03", "start": None, "end": None, "available": False, "reason": "Holi"}
    ]
    before = await windows_stored(db)
    nepal = await client.put(f"/api/consulates/{world.nepal.id}/interview-hours", json=hours)
    assert nepal.status == 403
    backwards = {**hours, "windows": [{"weekday": 0, "start": "13:00", "end": "09:00"}]}
    refused = await client.put(url, json=backwards)
    assert refused.status == 400 and error_fields(await refused.json()) == {"windows.0"}
    bad_day = await client.put(
        url, json={**hours, "windows": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}
    )
    assert bad_day.status == 400 and "windows.0.weekday" in error_fields(await bad_day.json())
    bad_clock = await client.put(
        url, json={**hours, "windows": [{"weekday": 1, "start": "25:00", "end": "26:00"}]}
    )
    assert bad_clock.status == 400
    assert await windows_stored(db) == before
    await act_as(client, "staff@example.org")
    assert (await client.put(url, json=hours)).status == 403


async def test_a_holiday_removes_that_day_from_the_search(
    client: TestClient[Any, Any], schedule: Schedule
) -> None:
    await act_as(client, "consul.in@example.org")
    url = f"/api/consulates/{schedule.world.india.id}/interview-hours"
    current = await (await client.get(url)).json()
    current.pop("consulate_id")
    current["exceptions"] = [{"day": "2026-03-02", "reason": "closed Monday"}]
    assert (await client.put(url, json=current)).status == 200
    await act_as(client, "staff@example.org")
    found = await (await client.get(f"/api/cases/{schedule.case_id}/slots")).json()
    assert found["slots"][0]["starts_at"] == "2026-03-03T14:00:00+00:00"


async def test_interpreters_keep_their_own_profile(
    client: TestClient[Any, Any], schedule: Schedule
) -> None:
    url = f"/api/interpreters/{schedule.interpreter_id}/profile"
    await act_as(client, "interpreter@example.org")
    profile = await (await client.get(url)).json()
    assert profile["languages"] == [
        {"language": "hin", "proficiency": "fluent"},
        {"language": "pan", "proficiency": "native"},
    ]
    changed = {
        "time_zone": "America/New_York",
        "max_per_day": 2,
        "languages": [{"language": "pa", "proficiency": "native"}],  # 639-1 is widened
        "windows": weekdays("08:00", "12:00"),
    }
    saved = await client.put(url, json=changed)
    assert saved.status == 200, await saved.text()
    assert (await saved.json())["languages"] == [{"language": "pan", "proficiency": "native"}]
    unknown = await client.put(url, json={**changed, "languages": [{"language": "zzz"}]})
    assert unknown.status == 400 and error_fields(await unknown.json()) == {"languages.0.language"}
    twice = await client.put(
        url, json={**changed, "languages": [{"language": "pan"}, {"language": "pan"}]}
    )
    assert twice.status == 400
    await act_as(client, "consul.in@example.org")
    assert (await client.get(url)).status == 403
    await act_as(client, "admin@example.org")
    assert (await client.get(url)).status == 200


async def test_staff_add_rooms_to_their_facility_only(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    facility = schedule.world.tapachula.id
    await act_as(client, "staff@example.org")
    room = {"name": "Sala <2>", "windows": weekdays("08:00", "16:00")}
    added = await client.post(f"/api/facilities/{facility}/rooms", json=room)
    assert added.status == 201
    assert (await added.json())["name"] == "Sala <2>"
    again = await client.post(f"/api/facilities/{facility}/rooms", json=room)
    assert again.status == 409
    listed = await (await client.get(f"/api/facilities/{facility}/rooms")).json()
    assert [r["name"] for r in listed["rooms"]] == ["Sala 1", "Sala <2>"]
    assert (await client.post("/api/facilities/999/rooms", json=room)).status == 403
    await act_as(client, "consul.in@example.org")
    assert (await client.get(f"/api/facilities/{facility}/rooms")).status == 403
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(VideoRoom)) == 2


async def test_no_slot_says_plainly_what_is_missing(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    async with db() as session, session.begin():
        sinhala = await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0007",
            languages=("sin",),
            deadline=date(2026, 3, 20),
            share_with=schedule.world.india.id,
        )
        unshared = await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0008",
            deadline=date(2026, 3, 20),
            share_with=None,
        )
        late = await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0009",
            deadline=date(2026, 3, 1),
            share_with=schedule.world.india.id,
        )
    await act_as(client, "staff@example.org")
    body = await (await client.get(f"/api/cases/{sinhala}/slots")).json()
    assert body["slots"] == []
    assert [p["code"] for p in body["problems"]] == ["no_interpreter"]
    assert "Sinhala" in body["problems"][0]["message"]
    not_shared = await client.get(f"/api/cases/{unshared}/slots")
    assert not_shared.status == 409
    assert "Share the case" in (await not_shared.json())["error"]["message"]
    passed = await (await client.get(f"/api/cases/{late}/slots")).json()
    assert [p["code"] for p in passed["problems"]] == ["deadline_passed"]
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"}, client.make_url("/"))
    spanish = await client.get(f"/api/cases/{sinhala}/slots")
    message = (await spanish.json())["problems"][0]["message"]
    assert message.startswith("No hay ningún intérprete registrado")


async def test_times_follow_new_york_across_its_dst_change_and_mexico_city_has_none(
    client: TestClient[Any, Any], schedule: Schedule, clock: Clock
) -> None:
    await act_as(client, "staff@example.org")
    body = await (
        await client.get(f"/api/cases/{schedule.case_id}/slots?per_day=1&limit=10")
    ).json()
    by_day = {s["starts_at"][:10]: s for s in body["slots"]}
    # Friday 6 March: New York on EST (-5). 14:00 UTC = 09:00 NY = 08:00 Mexico City.
    assert by_day["2026-03-06"]["local"]["consulate"] == "2026-03-06T09:00:00-05:00"
    # Monday 9 March: New York on EDT (-4) opens 09:00 = 13:00 UTC, but the interpreter in
    # Mexico City (no DST since 2022) starts at 08:00 = 14:00 UTC, i.e. 10:00 in New York.
    monday = by_day["2026-03-09"]
    assert monday["starts_at"] == "2026-03-09T14:00:00+00:00"
    assert monday["local"]["consulate"] == "2026-03-09T10:00:00-04:00"
    assert monday["local"]["interpreter"] == "2026-03-09T08:00:00-06:00"
    kathmandu = await (
        await client.get(f"/api/cases/{schedule.case_id}/slots?tz=Asia/Kathmandu&limit=1")
    ).json()
    assert kathmandu["slots"][0]["local"]["viewer"] == "2026-03-02T19:45:00+05:45"


async def test_unaccompanied_minors_may_take_time_held_for_priority_cases(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "consul.in@example.org")
    url = f"/api/consulates/{schedule.world.india.id}/interview-hours"
    held = [{"weekday": 0, "start": "09:00", "end": "10:00", "priority_only": True}]
    hours = {"windows": weekdays("10:00", "13:00") + held}
    assert (await client.put(url, json=hours)).status == 200
    async with db() as session, session.begin():
        minor = await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0010",
            deadline=date(2026, 3, 20),
            share_with=schedule.world.india.id,
            unaccompanied_minor=True,
        )
    await act_as(client, "staff@example.org")
    adult = await (await client.get(f"/api/cases/{schedule.case_id}/slots")).json()
    assert adult["slots"][0]["starts_at"] == "2026-03-02T15:00:00+00:00"
    child = await (await client.get(f"/api/cases/{minor}/slots")).json()
    assert child["slots"][0]["starts_at"] == "2026-03-02T14:00:00+00:00"
    assert child["slots"][0]["priority_hold"] is True
    refused = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    assert refused.status == 400  # the adult's case may not take the held hour
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z", case_id=minor)
    )
    assert booked.status == 201 and (await booked.json())["priority_hold"] is True


async def test_week_calendars_show_each_party_its_interviews_in_its_zone(
    client: TestClient[Any, Any], schedule: Schedule
) -> None:
    world = schedule.world
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-04T14:00:00Z")
    )
    interview = await booked.json()
    facility = await (
        await client.get(f"/api/calendar/facility/{world.tapachula.id}?week=2026-03-04")
    ).json()
    assert facility["week_start"] == "2026-03-02" and facility["time_zone"] == "America/Mexico_City"
    (wednesday,) = [d for d in facility["days"] if d["interviews"]]
    assert wednesday["date"] == "2026-03-04"
    assert wednesday["interviews"][0]["starts_at"] == "2026-03-04T08:00:00-06:00"
    assert wednesday["interviews"][0]["id"] == interview["id"]
    assert (await client.get(f"/api/calendar/consulate/{world.india.id}")).status == 403
    bad_zone = await client.get(f"/api/calendar/facility/{world.tapachula.id}?tz=Nowhere")
    assert bad_zone.status == 400 and error_fields(await bad_zone.json()) == {"tz"}
    bad_week = await client.get(f"/api/calendar/facility/{world.tapachula.id}?week=soon")
    assert bad_week.status == 400 and error_fields(await bad_week.json()) == {"week"}

    await act_as(client, "consul.in@example.org")
    consulate = await (
        await client.get(f"/api/calendar/consulate/{world.india.id}?week=2026-03-02")
    ).json()
    entry = next(e for d in consulate["days"] for e in d["interviews"])
    assert entry["starts_at"] == "2026-03-04T09:00:00-05:00"
    assert (await client.get(f"/api/calendar/consulate/{world.nepal.id}")).status == 403
    assert (await client.get(f"/api/calendar/facility/{world.tapachula.id}")).status == 403

    await act_as(client, "interpreter@example.org")
    mine = await (
        await client.get(
            f"/api/calendar/interpreter/{schedule.interpreter_id}?week=2026-03-02&tz=Asia/Kathmandu"
        )
    ).json()
    entry = next(e for d in mine["days"] for e in d["interviews"])
    assert entry["starts_at"] == "2026-03-04T19:45:00+05:45"
    assert (await client.get(f"/api/calendar/interpreter/{world.admin.id}")).status == 403


async def test_an_interview_is_shown_in_the_callers_zone_else_their_organisations(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00+00:00")
    )
    assert booked.status == 201, await booked.text()
    interview = await booked.json()
    # Accounts are in UTC by default: then the facility's zone for staff...
    assert interview["viewer_time_zone"] == "America/Mexico_City"
    assert interview["local_starts_at"] == "2026-03-02T08:00:00-06:00"
    url = f"/api/interviews/{interview['id']}"
    shown = await client.get(url, params={"tz": "Asia/Kathmandu"})
    assert (await shown.json())["viewer_time_zone"] == "Asia/Kathmandu"
    # ...the consulate's for its consuls, and anyone's own zone when they set one.
    await act_as(client, "consul.in@example.org")
    confirmed = await client.post(f"{url}/confirm")
    assert (await confirmed.json())["viewer_time_zone"] == "America/New_York"
    async with db() as session, session.begin():
        await session.execute(
            update(User).where(User.id == schedule.world.staff.id).values(time_zone="Europe/Madrid")
        )
    await act_as(client, "staff@example.org")
    assert (await (await client.get(url)).json())["viewer_time_zone"] == "Europe/Madrid"
