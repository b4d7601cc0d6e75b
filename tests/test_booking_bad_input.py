"""Every wrong booking gets a clear error and books nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import Role, create_user
from interviews.facilities import Facility
from interviews.sharing import CaseShare
from scheduling import availability
from scheduling.appointments import Interview
from scheduling.availability_input import InterpreterProfileIn
from tests.conftest import PASSWORD, Clock, World
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


async def interviews_stored(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(Interview)) or 0)


async def refused(
    client: TestClient[Any, Any], body: dict[str, Any], status: int
) -> dict[str, Any]:
    response = await client.post("/api/interviews", json=body)
    assert response.status == status, await response.text()
    error: dict[str, Any] = (await response.json())["error"]
    return error


def fields(error: dict[str, Any]) -> set[str]:
    return {item["field"] for item in error["details"]}


async def test_slots_outside_hours_in_the_past_or_after_the_deadline_are_refused(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    # 19:00 UTC is 14:00 in New York: the consulate closed at 13:00.
    closed = await refused(client, booking_body(schedule, "2026-03-02T19:00:00Z"), 400)
    assert "starts_at" in fields(closed) and "interview hours" in closed["message"]
    past = await refused(client, booking_body(schedule, "2026-03-02T10:00:00Z"), 400)
    assert "past" in past["message"]
    late = await refused(client, booking_body(schedule, "2026-03-23T14:00:00Z"), 400)
    assert "deadline" in late["message"]
    saturday = await refused(client, booking_body(schedule, "2026-03-07T15:00:00Z"), 400)
    assert "starts_at" in fields(saturday)
    assert await interviews_stored(db) == 0


async def test_an_end_before_the_start_or_a_naive_time_is_refused(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    backwards = booking_body(schedule, "2026-03-02T14:00:00Z", ends_at="2026-03-02T13:00:00Z")
    error = await refused(client, backwards, 400)
    assert fields(error) == {"ends_at"} and "after the start" in error["message"]
    wrong_length = booking_body(schedule, "2026-03-02T14:00:00Z", ends_at="2026-03-02T14:30:00Z")
    assert fields(await refused(client, wrong_length, 400)) == {"ends_at"}
    naive = await refused(client, booking_body(schedule, "2026-03-02T14:00:00"), 400)
    assert "starts_at" in fields(naive)
    garbage = await refused(client, booking_body(schedule, "next tuesday"), 400)
    assert "starts_at" in fields(garbage)
    assert await interviews_stored(db) == 0


async def test_a_slot_overlapping_another_interview_or_its_buffer_is_a_conflict(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    first = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    assert first.status == 201
    winner = await first.json()
    async with db() as session, session.begin():
        other = await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0002",
            deadline=date(2026, 3, 20),
            share_with=schedule.world.india.id,
        )
    # The first interview ends at 15:00 and keeps a 15-minute buffer until 15:15.
    in_buffer = booking_body(schedule, "2026-03-02T15:00:00Z", case_id=other)
    error = await refused(client, in_buffer, 409)
    clashes = {(c["resource"], c["interview_id"]) for c in error["details"]}
    assert ("consul", winner["id"]) in clashes and ("room", winner["id"]) in clashes
    # And the first one's own booking may not be made twice for the same case.
    twice = await refused(client, booking_body(schedule, "2026-03-03T14:00:00Z"), 409)
    assert twice["code"] == "case_has_interview"
    assert await interviews_stored(db) == 1
    after_buffer = booking_body(schedule, "2026-03-02T15:30:00Z", case_id=other)
    assert (await client.post("/api/interviews", json=after_buffer)).status == 201


async def test_an_interpreter_without_the_persons_language_cannot_be_booked(
    client: TestClient[Any, Any],
    schedule: Schedule,
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    async with db() as session, session.begin():
        spanish_only = await create_user(
            session,
            email="maria@example.org",
            name="Maria",
            role=Role.INTERPRETER,
            password=PASSWORD,
        )
        await availability.set_interpreter_profile(
            session,
            spanish_only.id,
            InterpreterProfileIn.model_validate(
                {
                    "time_zone": "America/Mexico_City",
                    "languages": [{"language": "spa", "proficiency": "native"}],
                    "windows": weekdays("08:00", "18:00"),
                }
            ),
            actor=Actor.of(schedule.world.admin),
            now=clock.now,
        )
    await act_as(client, "staff@example.org")
    body = booking_body(schedule, "2026-03-02T14:00:00Z", interpreter_id=spanish_only.id)
    error = await refused(client, body, 400)
    assert fields(error) == {"interpreter_id"} and "language" in error["message"]
    missing = booking_body(schedule, "2026-03-02T14:00:00Z", interpreter_id=None)
    assert fields(await refused(client, missing, 400)) == {"interpreter_id"}
    assert await interviews_stored(db) == 0


async def test_an_unknown_time_zone_is_refused_wherever_it_is_given(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    search = await client.get(f"/api/cases/{schedule.case_id}/slots?tz=Mars/Olympus_Mons")
    assert search.status == 400
    assert fields((await search.json())["error"]) == {"tz"}
    await act_as(client, "interpreter@example.org")
    before = await (await client.get(f"/api/interpreters/{schedule.interpreter_id}/profile")).json()
    profile = {
        "time_zone": "Atlantis/Capital",
        "languages": [{"language": "pan"}],
        "windows": weekdays("08:00", "18:00"),
    }
    response = await client.put(
        f"/api/interpreters/{schedule.interpreter_id}/profile", json=profile
    )
    assert response.status == 400
    assert fields((await response.json())["error"]) == {"time_zone"}
    after = await (await client.get(f"/api/interpreters/{schedule.interpreter_id}/profile")).json()
    assert after == before


async def test_roles_that_may_not_book_are_forbidden(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    for email in ("consul.in@example.org", "interpreter@example.org"):
        await act_as(client, email)
        await refused(client, booking_body(schedule, "2026-03-02T14:00:00Z"), 403)
    # Staff of another facility may not book this facility's case either.
    async with db() as session, session.begin():
        other = Facility(
            name="Estación Migratoria Acayucan",
            country="MX",
            city="Acayucan",
            time_zone="America/Mexico_City",
        )
        session.add(other)
        await session.flush()
        await create_user(
            session,
            email="other@example.org",
            name="Other",
            role=Role.STAFF,
            password=PASSWORD,
            facility_id=other.id,
        )
    await act_as(client, "other@example.org")
    await refused(client, booking_body(schedule, "2026-03-02T14:00:00Z"), 403)
    client.session.cookie_jar.clear()
    client.session.headers.pop("X-CSRF-Token", None)
    await refused(client, booking_body(schedule, "2026-03-02T14:00:00Z"), 401)
    assert await interviews_stored(db) == 0


async def test_malformed_bodies_get_400_and_415(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    not_json = await client.post(
        "/api/interviews", data="starts_at=soon", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status == 415
    broken = await client.post(
        "/api/interviews", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 400
    extra = await refused(client, {**booking_body(schedule, "2026-03-02T14:00:00Z"), "x": 1}, 400)
    assert "x" in fields(extra)
    unknown_case = await refused(
        client, booking_body(schedule, "2026-03-02T14:00:00Z", case_id=999999), 404
    )
    assert unknown_case["code"] == "not_found"
    assert await interviews_stored(db) == 0


async def test_postgresql_refuses_an_overlap_even_from_a_writer_that_skips_the_locks(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    async with db() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the exclusion constraints exist on PostgreSQL only")
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    original = await booked.json()
    async with db() as session:
        row = await session.get(Interview, original["id"])
        assert row is not None
        clone = Interview(
            case_id=row.case_id,
            consulate_id=row.consulate_id,
            facility_id=row.facility_id,
            consul_id=row.consul_id,
            interpreter_id=None,
            room_id=row.room_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            busy_until=row.busy_until,
            status="confirmed",
            reason="",
            requested_at=row.requested_at,
            updated_at=row.updated_at,
        )
        session.add(clone)
        with pytest.raises(IntegrityError, match="ex_interviews_consul_id_overlap"):
            await session.commit()
    assert await interviews_stored(db) == 1


async def test_the_case_s_active_shares_decide_the_consulate_it_is_booked_with(
    client: TestClient[Any, Any], schedule: Schedule, db: async_sessionmaker[AsyncSession]
) -> None:
    await act_as(client, "staff@example.org")
    body = booking_body(schedule, "2026-03-02T14:00:00Z")
    world = schedule.world
    async with db() as session, session.begin():
        await session.execute(
            update(CaseShare)
            .where(CaseShare.case_id == schedule.case_id)
            .values(revoked_at=datetime.now(UTC))
        )
    # A revoked share is the same as none.
    assert (await refused(client, body, 409))["code"] == "not_shared"
    async with db() as session, session.begin():
        for consulate in (world.india, world.nepal):
            session.add(
                CaseShare(
                    case_id=schedule.case_id,
                    consulate_id=consulate.id,
                    purpose="identification interview",
                    legal_basis="consent",
                    legal_basis_note="signed consent form",
                )
            )
    several = await refused(client, body, 400)
    assert fields(several) == {"consulate_id"} and "several" in several["message"]
    elsewhere = await refused(client, {**body, "consulate_id": 999999}, 400)
    assert fields(elsewhere) == {"consulate_id"} and "not shared" in elsewhere["message"]
    assert await interviews_stored(db) == 0
    booked = await client.post("/api/interviews", json={**body, "consulate_id": world.india.id})
    assert booked.status == 201, await booked.text()
    assert (await booked.json())["consulate_id"] == world.india.id
