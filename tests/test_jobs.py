"""Reminders, expiries, no-shows and deadline alerts as time passes on a controllable clock,
and what happens to pending jobs when the server stops and starts again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User
from interviews.cases import Case
from scheduling.appointments import Interview
from scheduling.jobs import JobStatus, ScheduledJob
from tests.conftest import Clock, World
from tests.test_scheduling_support import (
    Schedule,
    SmtpServer,
    act_as,
    add_case,
    body_of,
    booking_body,
    join_path,
    set_up_schedule,
    smtp_server,
    smtp_settings,
)
from web.app import create_app
from web.keys import CLOCK, JOB_RUNNER
from web.settings import Settings

__all__ = ["smtp_server"]
WEDNESDAY_14 = "2026-03-04T14:00:00Z"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: SmtpServer) -> Settings:
    """Mail goes to the test SMTP server."""
    return smtp_settings(tmp_path, database_url, smtp_server.port)


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def subjects(smtp: SmtpServer, address: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.received.to(address)]


async def book_and_confirm(client: TestClient[Any, Any], schedule: Schedule) -> dict[str, Any]:
    await act_as(client, "staff@example.org")
    booked = await client.post("/api/interviews", json=booking_body(schedule, WEDNESDAY_14))
    assert booked.status == 201, await booked.text()
    interview: dict[str, Any] = await booked.json()
    await act_as(client, "consul.in@example.org")
    confirmed = await client.post(f"/api/interviews/{interview['id']}/confirm")
    assert confirmed.status == 200
    await client.app[JOB_RUNNER].run_due()
    return interview


async def test_reminders_a_day_and_a_quarter_hour_before_then_a_no_show_mark(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    interview = await book_and_confirm(client, schedule)
    runner = client.app[JOB_RUNNER]
    before = len(smtp_server.received.messages)
    clock.now = at("2026-03-03T13:59:00Z")
    await runner.run_due()
    assert len(smtp_server.received.messages) == before  # a minute too early
    clock.now = at("2026-03-03T14:00:00Z")
    await runner.run_due()
    reminders = smtp_server.received.messages[before:]
    assert sorted(m["To"].addresses[0].addr_spec for m in reminders) == [
        "consul.in@example.org",
        "interpreter@example.org",
        "staff@example.org",
    ]
    assert all(str(m["Subject"]).startswith("Reminder, interview tomorrow") for m in reminders)
    await runner.run_due()
    assert len(smtp_server.received.messages) == before + 3  # nothing runs twice

    clock.now = at("2026-03-04T13:45:00Z")
    await runner.run_due()
    assert subjects(smtp_server, "interpreter@")[-1].startswith("Starting in 15 minutes")
    clock.now = at("2026-03-04T14:15:00Z")
    await runner.run_due()
    async with db() as session:
        row = await session.get(Interview, interview["id"])
        assert row is not None and row.status == "no_show"
    assert subjects(smtp_server, "staff@")[-1].startswith("Nobody joined")
    assert not subjects(smtp_server, "consul.in@")[-1].startswith("Nobody joined")


async def test_someone_opening_their_link_in_time_prevents_the_no_show(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    interview = await book_and_confirm(client, schedule)
    link = join_path(smtp_server.received.to("consul.in@")[-1])
    clock.now = at("2026-03-04T14:05:00Z")
    client.session.cookie_jar.clear()
    assert (await client.get(link, allow_redirects=False)).status == 303
    clock.now = at("2026-03-04T14:30:00Z")
    await client.app[JOB_RUNNER].run_due()
    async with db() as session:
        row = await session.get(Interview, interview["id"])
        assert row is not None and row.status == "confirmed"


async def test_a_request_nobody_answers_expires_and_everyone_is_told(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post("/api/interviews", json=booking_body(schedule, WEDNESDAY_14))
    interview = await booked.json()
    # Requested Monday 12:00; 48 hours later is Wednesday 12:00, before the 14:00 start.
    clock.now = at("2026-03-04T11:59:00Z")
    await client.app[JOB_RUNNER].run_due()
    clock.now = at("2026-03-04T12:00:00Z")
    await client.app[JOB_RUNNER].run_due()
    async with db() as session:
        row = await session.get(Interview, interview["id"])
        case = await session.get(Case, schedule.case_id)
        assert row is not None and row.status == "cancelled"
        assert "did not answer" in row.reason
        assert case is not None and case.status == "open"
    for address in ("consul.in@", "interpreter@", "staff@"):
        assert subjects(smtp_server, address)[-1] == "Interview request expired: case TAP-2026-0001"


async def test_daily_deadline_alert_lists_cases_without_a_confirmed_interview(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0002",
            deadline=date(2026, 3, 5),
            share_with=None,
        )
        await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0003",
            deadline=date(2026, 5, 5),
            share_with=None,
        )
        staff = await session.get(User, schedule.world.staff.id)
        assert staff is not None
        staff.language = "es"
    runner = client.app[JOB_RUNNER]
    clock.now = at("2026-03-02T12:59:00Z")
    await runner.run_due()
    assert smtp_server.received.to("staff@") == []
    clock.now = at("2026-03-02T13:00:00Z")
    await runner.run_due()
    (alert,) = smtp_server.received.to("staff@")
    assert str(alert["Subject"]) == "Alerta de plazos: 1 casos sin entrevista confirmada"
    text = body_of(alert)
    assert "TAP-2026-0002" in text and "quedan 3 días" in text
    assert "TAP-2026-0003" not in text and "TAP-2026-0001" not in text  # 18 days left
    # The next alert is tomorrow at the same hour, once.
    assert await runner.run_due() == 0
    clock.now = at("2026-03-03T13:00:00Z")
    await runner.run_due()
    assert len(smtp_server.received.to("staff@")) == 2


@pytest.fixture
def start_app(settings: Settings, clock: Clock) -> Callable[[], Any]:
    """Start the real app on a real port; each call is a fresh server process's worth of state."""

    async def start() -> TestClient[Any, Any]:
        application: web.Application = create_app(settings)
        application[CLOCK] = clock
        started: TestClient[Any, Any] = TestClient(TestServer(application))
        await started.start_server()
        return started

    return start


@pytest.fixture
async def stopper() -> AsyncIterator[list[TestClient[Any, Any]]]:
    """Clients to close at the end, whatever happened."""
    running: list[TestClient[Any, Any]] = []
    yield running
    for started in running:
        await started.close()


async def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    """Wait (bounded) until the server's own heartbeat has done its work."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the scheduler did not run the due jobs")


async def test_jobs_missed_while_the_server_was_down_run_once_at_start(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
    start_app: Callable[[], Any],
    stopper: list[TestClient[Any, Any]],
) -> None:
    await book_and_confirm(client, schedule)
    await client.close()  # the server stops with reminders pending
    sent_before = len(smtp_server.received.messages)
    # It stays down past the 24-hour reminder's time.
    clock.now = at("2026-03-03T20:00:00Z")

    first = await start_app()
    stopper.append(first)
    # No one runs the jobs by hand: the scheduler's heartbeat at start does.
    await wait_for(lambda: len(smtp_server.received.messages) >= sent_before + 3)
    await first.app[JOB_RUNNER].idle()
    reminders = smtp_server.received.messages[sent_before:]
    assert len(reminders) == 3
    assert all(str(m["Subject"]).startswith("Reminder, interview tomorrow") for m in reminders)
    await first.close()

    second = await start_app()
    stopper.append(second)
    await second.app[JOB_RUNNER].run_due()
    await asyncio.sleep(0.2)  # give a wrongly repeated job the chance to show itself
    assert len(smtp_server.received.messages) == sent_before + 3
    async with db() as session:
        jobs = (await session.scalars(select(ScheduledJob))).all()
    reminders_24h = [j for j in jobs if j.payload.get("event") == "reminder_24h"]
    assert [(j.status, j.attempts) for j in reminders_24h] == [(JobStatus.DONE.value, 1)] * 3


async def test_daily_alerts_missed_for_days_are_sent_once_not_once_per_day(
    client: TestClient[Any, Any],
    schedule: Schedule,
    smtp_server: SmtpServer,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
    start_app: Callable[[], Any],
    stopper: list[TestClient[Any, Any]],
) -> None:
    async with db() as session, session.begin():
        await add_case(
            session,
            schedule.world.tapachula.id,
            "TAP-2026-0002",
            deadline=date(2026, 3, 9),
            share_with=None,
        )
    await client.app[JOB_RUNNER].run_due()  # Monday 12:00: today's 13:00 alert is scheduled
    await client.close()
    clock.now = clock.now + timedelta(days=3, hours=5)  # Thursday 17:00: three alerts missed
    started = await start_app()
    stopper.append(started)
    await wait_for(lambda: len(smtp_server.received.to("staff@")) >= 1)
    await started.app[JOB_RUNNER].run_due()
    assert len(smtp_server.received.to("staff@")) == 1
