"""Invitations as people receive them: the outbox without SMTP, each person's own time zone
and language, and personal join links that work only for that person and interview."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import Role, User, create_user
from scheduling import availability
from scheduling.appointments import Participant
from scheduling.availability_input import InterpreterProfileIn
from scheduling.resources import VideoRoom
from tests.conftest import PASSWORD, Clock, World
from tests.test_scheduling_support import (
    Schedule,
    act_as,
    body_of,
    booking_body,
    event_of,
    join_path,
    set_up_schedule,
    weekdays,
)
from web.keys import JOB_RUNNER
from web.settings import Settings


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


def outbox(settings: Settings) -> list[EmailMessage]:
    """Messages written to <data-dir>/outbox, oldest first."""
    messages = []
    for path in sorted((settings.data_dir / "outbox").glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if address in str(m["To"])]


async def test_without_smtp_invitations_land_in_the_outbox_with_their_ics(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings
) -> None:
    assert settings.smtp_host is None
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    assert booked.status == 201
    await client.app[JOB_RUNNER].run_due()
    messages = outbox(settings)
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "consul.in@example.org",
        "interpreter@example.org",
        "staff@example.org",
    ]
    event = event_of(to(messages, "interpreter@")[0])
    assert str(event["UID"]) == (await booked.json())["uid"]
    assert "mailto:staff@example.org" in [str(a) for a in event["ATTENDEE"]]
    assert str(event["ORGANIZER"]) == "mailto:consulink@localhost"
    # No message names the detained person, only the case reference.
    assert all("Test" not in body_of(m) and "Person" not in body_of(m) for m in messages)


async def test_each_person_reads_the_time_in_their_own_zone_kathmandu_included(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        consul = await session.get(User, schedule.world.consul_india.id)
        assert consul is not None
        consul.time_zone = "Asia/Kathmandu"
    await act_as(client, "staff@example.org")
    await client.post("/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z"))
    await client.app[JOB_RUNNER].run_due()
    consul_text = body_of(to(outbox(settings), "consul.in@")[0])
    # 14:00 UTC is 19:45 in Kathmandu (+05:45) and 09:00 at the consulate in New York.
    assert "When: Monday, March 2, 2026 19:45 (Asia/Kathmandu)" in consul_text
    assert "Consulate time: Monday, March 2, 2026 09:00 (America/New_York)" in consul_text
    assert "Facility time: Monday, March 2, 2026 08:00 (America/Mexico_City)" in consul_text
    assert "Interpreter: Interpreter (Panjabi)" in consul_text


async def test_spanish_readers_get_spanish_text_and_dates(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        interpreter = await session.get(User, schedule.interpreter_id)
        assert interpreter is not None
        interpreter.language = "es"
    await act_as(client, "staff@example.org")
    await client.post("/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z"))
    await client.app[JOB_RUNNER].run_due()
    message = to(outbox(settings), "interpreter@")[0]
    text = body_of(message)
    assert message["Content-Language"] == "es"
    assert str(message["Subject"]) == (
        "Entrevista solicitada, pendiente del consulado: caso TAP-2026-0001"
    )
    assert "Cuándo: lunes, 2 de marzo de 2026 08:00 (America/Mexico_City)" in text
    assert "Intérprete: Interpreter (Panjabi)" in text  # pycountry has no Spanish name for it


async def test_a_join_link_opens_only_for_its_person_at_the_right_time(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-04T14:00:00Z")
    )
    interview = await booked.json()
    await client.app[JOB_RUNNER].run_due()
    link = join_path(to(outbox(settings), "interpreter@")[0])
    client.session.cookie_jar.clear()  # the link needs no account

    waiting = await client.get(link)
    assert waiting.status == 200 and "not confirmed" in await waiting.text()
    await act_as(client, "consul.in@example.org")
    await client.post(f"/api/interviews/{interview['id']}/confirm")
    client.session.cookie_jar.clear()
    early = await client.get(link)
    assert "opens at" in await early.text()

    clock.now = clock.now.replace(day=4, hour=13, minute=55)
    opened = await client.get(link, allow_redirects=False)
    # Open: the link becomes a session pass and leads to the live session.
    assert opened.status == 303
    assert opened.headers["Location"] == f"/session/{interview['id']}"
    async with db() as session:
        person = await session.get(
            Participant,
            next(p["id"] for p in interview["participants"] if p["role"] == "interpreter"),
        )
        assert person is not None and person.joined_at == clock.now

    token = link.removeprefix("/join/")
    payload, signature = token.split(".")
    forged = f"/join/{payload}.{signature[:-2]}AA"
    assert (await client.get(forged)).status == 404
    assert (await client.get("/join/not-a-token")).status == 404


async def test_a_person_replaced_by_a_reschedule_loses_their_link(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        second = await create_user(
            session,
            email="ravi@example.org",
            name="Ravi",
            role=Role.INTERPRETER,
            password=PASSWORD,
        )
        await availability.set_interpreter_profile(
            session,
            second.id,
            InterpreterProfileIn.model_validate(
                {
                    "time_zone": "America/Mexico_City",
                    "languages": [{"language": "pan", "proficiency": "fluent"}],
                    "windows": weekdays("08:00", "18:00"),
                }
            ),
            actor=Actor.of(schedule.world.admin),
            now=clock.now,
        )
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-04T14:00:00Z")
    )
    interview = await booked.json()
    await client.app[JOB_RUNNER].run_due()
    old_link = join_path(to(outbox(settings), "interpreter@")[0])
    moved = await client.post(
        f"/api/interviews/{interview['id']}/reschedule",
        json={
            "starts_at": "2026-03-04T14:00:00Z",
            "interpreter_id": second.id,
            "reason": "First interpreter is ill",
        },
    )
    assert moved.status == 200, await moved.text()
    await client.app[JOB_RUNNER].run_due()
    removed = to(outbox(settings), "interpreter@")[-1]
    assert str(removed["Subject"]).startswith("You are no longer invited")
    assert str(event_of(removed)["STATUS"]) == "CANCELLED"
    assert to(outbox(settings), "ravi@")[0]["Subject"] == "Interview moved: case TAP-2026-0001"
    client.session.cookie_jar.clear()
    assert (await client.get(old_link)).status == 404


async def test_each_notice_names_the_room_as_it_is_when_the_notice_is_sent(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
) -> None:
    """A pass of the job runner reads an interview's names once for all its notices (they
    are claimed together), never for notices of a later pass."""
    await act_as(client, "staff@example.org")
    booked = await client.post(
        "/api/interviews", json=booking_body(schedule, "2026-03-02T14:00:00Z")
    )
    assert booked.status == 201
    await client.app[JOB_RUNNER].run_due()
    requested = outbox(settings)
    assert len(requested) == 3
    assert all("room Sala 1" in body_of(m) for m in requested)
    async with db() as session, session.begin():
        await session.execute(
            update(VideoRoom).where(VideoRoom.id == schedule.room_id).values(name="Sala Azul")
        )
    await act_as(client, "consul.in@example.org")
    confirmed = await client.post(f"/api/interviews/{(await booked.json())['id']}/confirm")
    assert confirmed.status == 200
    await client.app[JOB_RUNNER].run_due()
    later = outbox(settings)[3:]
    assert len(later) == 3
    assert all("room Sala Azul" in body_of(m) for m in later)
