"""Shared set-up for the scheduling stories: hours, an interpreter, a room, a shared case,
and a real SMTP server (aiosmtpd) on loopback that keeps what it receives.

Import the fixtures from here (`from tests.test_scheduling_support import ...`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.cases import Case, CaseLanguage
from interviews.consulates import ConsulateLanguage
from interviews.sharing import CaseShare
from scheduling import availability
from scheduling.availability_input import ConsulateHoursIn, InterpreterProfileIn, RoomIn
from tests.conftest import Clock, World, sign_in
from web.settings import Settings

# A Monday. New York is on EST (UTC-5) until DST starts on Sunday 8 March 2026;
# Mexico City stays at UTC-6 all year.
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def weekdays(start: str, end: str, days: range = range(5)) -> list[dict[str, Any]]:
    """The same window on several weekdays, as the API takes it."""
    return [{"weekday": day, "start": start, "end": end} for day in days]


@dataclass
class Received:
    """Messages the test SMTP server accepted."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to `address`."""
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1."""

    port: int
    received: Received


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    """aiosmtpd on a free loopback port, in this test's event loop."""
    received = Received()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(received, hostname="consulink-test"), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    yield SmtpServer(port, received)
    server.close()
    await server.wait_closed()


def smtp_settings(tmp_path: Path, database_url: str, port: int) -> Settings:
    """Test settings that send mail to the test SMTP server."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        public_url="https://consulink.test",
        jobs_poll_seconds=3600,  # tests run due jobs themselves, at the clock they set
    )


def calendar_of(message: EmailMessage) -> icalendar.Calendar | None:
    """The .ics attached to a message, parsed, if any."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return icalendar.Calendar.from_ical(payload)
    return None


def event_of(message: EmailMessage) -> icalendar.Event:
    """The VEVENT of a message's .ics."""
    calendar = calendar_of(message)
    assert calendar is not None, "no .ics attached"
    (event,) = [c for c in calendar.walk() if c.name == "VEVENT"]
    return event


def body_of(message: EmailMessage) -> str:
    """The plain-text body."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def join_path(message: EmailMessage) -> str:
    """The path of the personal join link in a message."""
    found = re.search(r"https?://[^/\s]+(/join/[A-Za-z0-9_\-.]+)", body_of(message))
    assert found, "no join link in the message"
    return found.group(1)


@dataclass
class Schedule:
    """What the stories book with."""

    world: World
    case_id: int
    room_id: int
    interpreter_id: int


async def add_case(
    session: AsyncSession,
    facility_id: int,
    reference: str,
    *,
    languages: tuple[str, ...] = ("pan",),
    deadline: date,
    share_with: int | None,
    unaccompanied_minor: bool = False,
) -> int:
    """A case at a facility, optionally shared with a consulate."""
    case = Case(
        reference=reference,
        facility_id=facility_id,
        claimed_nationality="IN",
        detention_date=deadline - timedelta(days=40),
        deadline=deadline,
        minor=unaccompanied_minor,
        unaccompanied_minor=unaccompanied_minor,
        given_names="<b>Test</b>",
        family_name="Person",
    )
    case.language_rows = [
        CaseLanguage(language=code, position=index) for index, code in enumerate(languages)
    ]
    session.add(case)
    await session.flush()
    if share_with is not None:
        session.add(
            CaseShare(
                case_id=case.id,
                consulate_id=share_with,
                purpose="identification interview",
                legal_basis="consent",
                legal_basis_note="signed consent form",
            )
        )
        await session.flush()
    return case.id


async def set_up_schedule(
    db: async_sessionmaker[AsyncSession], world: World, clock: Clock, **hours: Any
) -> Schedule:
    """India interviews Mon-Fri 09:00-13:00 New York; a Punjabi interpreter in Mexico City
    Mon-Fri 08:00-18:00; one room at Tapachula 07:00-19:00; a case shared with India."""
    clock.now = MONDAY_NOON
    admin = Actor.of(world.admin)
    async with db() as session, session.begin():
        session.add(ConsulateLanguage(consulate_id=world.india.id, language="hin", position=0))
        session.add(ConsulateLanguage(consulate_id=world.india.id, language="eng", position=1))
        await availability.set_consulate_hours(
            session,
            world.india.id,
            ConsulateHoursIn.model_validate({"windows": weekdays("09:00", "13:00"), **hours}),
            actor=admin,
            now=clock.now,
        )
        await availability.set_interpreter_profile(
            session,
            world.interpreter.id,
            InterpreterProfileIn.model_validate(
                {
                    "time_zone": "America/Mexico_City",
                    "languages": [
                        {"language": "pan", "proficiency": "native"},
                        {"language": "hin", "proficiency": "fluent"},
                    ],
                    "windows": weekdays("08:00", "18:00"),
                }
            ),
            actor=admin,
            now=clock.now,
        )
        room = await availability.save_room(
            session,
            world.tapachula.id,
            RoomIn.model_validate({"name": "Sala 1", "windows": weekdays("07:00", "19:00")}),
            room=None,
            actor=admin,
            now=clock.now,
        )
        case_id = await add_case(
            session,
            world.tapachula.id,
            "TAP-2026-0001",
            deadline=date(2026, 3, 20),
            share_with=world.india.id,
        )
    return Schedule(world, case_id, int(room["id"]), world.interpreter.id)


async def act_as(client: TestClient[Any, Any], email_address: str) -> str:
    """Sign in through the form (as a fresh visitor) and send the session's CSRF token with
    every later request."""
    client.session.cookie_jar.clear()
    client.session.headers.pop("X-CSRF-Token", None)
    csrf = await sign_in(client, email_address)
    client.session.headers["X-CSRF-Token"] = csrf
    return csrf


def booking_body(schedule: Schedule, starts_at: str, **changes: Any) -> dict[str, Any]:
    """A POST /api/interviews body for the standard set-up."""
    return {
        "case_id": schedule.case_id,
        "starts_at": starts_at,
        "consul_id": schedule.world.consul_india.id,
        "interpreter_id": schedule.interpreter_id,
        "room_id": schedule.room_id,
        **changes,
    }
