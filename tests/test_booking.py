"""Booking stories over HTTP: find a slot, request it, the consul answers; reschedule and
cancel; every invitation checked as received by a real SMTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User
from interviews.cases import Case
from scheduling.appointments import Interview
from tests.conftest import Clock, World
from tests.test_scheduling_support import (
    Schedule,
    SmtpServer,
    act_as,
    body_of,
    booking_body,
    event_of,
    set_up_schedule,
    smtp_server,
    smtp_settings,
)
from web.keys import JOB_RUNNER
from web.settings import Settings

__all__ = ["smtp_server"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: SmtpServer) -> Settings:
    """Mail goes to the test SMTP server."""
    return smtp_settings(tmp_path, database_url, smtp_server.port)


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def run_jobs(client: TestClient[Any, Any]) -> int:
    """Run every job due at the test clock's time."""
    return await client.app[JOB_RUNNER].run_due()


async def count_interviews(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(Interview)) or 0)


async def test_staff_books_the_earliest_slot_and_the_consul_confirms(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        staff = await session.get(User, schedule.world.staff.id)
        assert staff is not None
        staff.language = "es"
    await act_as(client, "staff@example.org")
    found = await client.get(f"/api/cases/{schedule.case_id}/slots")
    assert found.status == 200, await found.text()
    body = await found.json()
    first = body["slots"][0]
    # Monday 12:00 UTC + 2 h notice: India opens 09:00 New York (14:00 UTC), the
    # interpreter starts 08:00 Mexico City (also 14:00 UTC).
    assert first["starts_at"] == "2026-03-02T14:00:00+00:00"
    assert first["local"]["consulate"] == "2026-03-02T09:00:00-05:00"
    assert first["local"]["facility"] == "2026-03-02T08:00:00-06:00"
    assert first["local"]["interpreter"] == "2026-03-02T08:00:00-06:00"
    assert first["interpreter"]["language"] == "pan" and body["needs_interpreter"]
    assert body["problems"] == []

    booked = await client.post("/api/interviews", json=booking_body(schedule, first["starts_at"]))
    assert booked.status == 201, await booked.text()
    interview = await booked.json()
    assert interview["status"] == "requested"
    async with db() as session:
        case = await session.get(Case, schedule.case_id)
        assert case is not None and case.status == "interview_requested"

    await run_jobs(client)
    consul_mail = smtp_server.received.to("consul.in@example.org")
    assert [m["Subject"] for m in consul_mail] == ["Interview request: case TAP-2026-0001"]
    assert "09:00 (America/New_York)" in body_of(consul_mail[0])
    staff_mail = smtp_server.received.to("staff@example.org")
    assert staff_mail[0]["Subject"].startswith("Entrevista solicitada")
    assert "08:00 (America/Mexico_City)" in body_of(staff_mail[0])
    requested = event_of(consul_mail[0])
    assert str(requested["STATUS"]) == "TENTATIVE" and int(requested["SEQUENCE"]) == 0

    await act_as(client, "consul.in@example.org")
    confirmed = await client.post(f"/api/interviews/{interview['id']}/confirm")
    assert confirmed.status == 200, await confirmed.text()
    assert (await confirmed.json())["status"] == "confirmed"
    await run_jobs(client)
    for address in ("consul.in@example.org", "interpreter@example.org", "staff@example.org"):
        latest = smtp_server.received.to(address)[-1]
        event = event_of(latest)
        assert str(event["STATUS"]) == "CONFIRMED"
        assert int(event["SEQUENCE"]) == 1
        assert str(event["UID"]) == interview["uid"]
        assert event.decoded("DTSTART").isoformat() == "2026-03-02T14:00:00+00:00"
    # Answering twice is a conflict and changes nothing.
    again = await client.post(f"/api/interviews/{interview['id']}/confirm")
    assert again.status == 409


async def test_reschedule_updates_every_calendar_and_cancel_removes_it(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    interview = await booked.json()
    moved = await client.post(
        f"/api/interviews/{interview['id']}/reschedule",
        json={"starts_at": "2026-03-03T15:00:00Z", "reason": "The room is needed for a hearing"},
    )
    assert moved.status == 200, await moved.text()
    assert (await moved.json())["starts_at"] == "2026-03-03T15:00:00+00:00"
    await run_jobs(client)
    latest = smtp_server.received.to("interpreter@example.org")[-1]
    assert latest["Subject"] == "Interview moved: case TAP-2026-0001"
    assert "The room is needed for a hearing" in body_of(latest)
    event = event_of(latest)
    assert int(event["SEQUENCE"]) == 1 and str(event["UID"]) == interview["uid"]
    assert event.decoded("DTSTART").isoformat() == "2026-03-03T15:00:00+00:00"

    cancelled = await client.post(
        f"/api/interviews/{interview['id']}/cancel", json={"reason": "Person was released"}
    )
    assert cancelled.status == 200
    await run_jobs(client)
    latest = smtp_server.received.to("consul.in@example.org")[-1]
    calendar_event = event_of(latest)
    assert str(calendar_event["STATUS"]) == "CANCELLED"
    assert int(calendar_event["SEQUENCE"]) == 2
    assert "Person was released" in body_of(latest)
    from tests.test_scheduling_support import calendar_of

    calendar = calendar_of(latest)
    assert calendar is not None and str(calendar["METHOD"]) == "CANCEL"
    # A cancelled interview cannot be moved again.
    again = await client.post(
        f"/api/interviews/{interview['id']}/reschedule",
        json={"starts_at": "2026-03-04T15:00:00Z", "reason": "try again"},
    )
    assert again.status == 409


async def test_declined_request_reopens_the_case_and_tells_staff_why(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    db: async_sessionmaker[AsyncSession],
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    interview = await booked.json()
    await act_as(client, "consul.in@example.org")
    no_reason = await client.post(f"/api/interviews/{interview['id']}/decline", json={})
    assert no_reason.status == 400
    declined = await client.post(
        f"/api/interviews/{interview['id']}/decline",
        json={"reason": "Consul travelling; <script>alert(1)</script>"},
    )
    assert declined.status == 200
    assert (await declined.json())["status"] == "declined"
    async with db() as session:
        case = await session.get(Case, schedule.case_id)
        assert case is not None and case.status == "open"
    await run_jobs(client)
    latest = smtp_server.received.to("staff@example.org")[-1]
    assert latest["Subject"] == "Interview declined: case TAP-2026-0001"
    assert "<script>alert(1)</script>" in body_of(latest)  # plain text, stored as given
    # The freed slot can be booked again.
    await act_as(client, "staff@example.org")
    rebooked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    assert rebooked.status == 201
