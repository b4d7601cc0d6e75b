"""The demo a newcomer sees: the places, consulates and people of the 2012 meeting.

Every printed sign-in must work, and loading again (every `serve --demo` start does) must
add nothing and change nothing, not even what was edited in the demo meanwhile.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User
from interviews.consulates import Consulate
from interviews.demo import DEMO_LOGINS, load_demo
from interviews.facilities import Facility
from interviews.models import Base
from tests.conftest import sign_in
from web.keys import JOB_SCHEDULER


async def _load(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session, session.begin():
        return await load_demo(session)


async def _snapshot(db: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table, as text, so any insert or change shows up."""
    async with db() as session:
        tables = {}
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
        return tables


async def test_the_demo_has_the_meetings_places_consulates_and_procedures(
    db: async_sessionmaker[AsyncSession],
) -> None:
    assert await _load(db) > 0
    async with db() as session:
        facilities = (await session.scalars(select(Facility))).all()
        consulates = {c.country: c for c in (await session.scalars(select(Consulate))).all()}
        users = (await session.scalars(select(User))).all()

    assert {f.country for f in facilities} == {"MX", "GT", "CR", "PA"}
    assert all(f.deadline_days > 0 and f.time_zone.startswith("America/") for f in facilities)
    assert set(consulates) == {"IN", "BD", "NP", "LK", "ET", "AF"}

    india = consulates["IN"]
    assert india.accepted_evidence == ["passport_copy", "interview", "questionnaire"]
    assert india.questionnaire_name == "Identification questionnaire (20 parameters)"
    assert (india.questionnaire_parameters, india.questionnaire_required) == (20, 5)
    assert india.languages[0] == "hin" and india.video_interviews
    assert set(india.jurisdiction) >= {"MX", "GT", "CR", "PA"}
    assert consulates["AF"].languages[:2] == ["prs", "pus"]

    # Contacts are visibly fictional, so nobody mistakes the demo for a directory.
    for entry in consulates.values():
        assert entry.email.endswith("@example.org")
        assert entry.website.startswith("https://example.org/")
        assert re.fullmatch(r"\+1 202 555-01\d\d", entry.phone), entry.phone

    by_role: dict[str, list[User]] = {}
    for user in users:
        by_role.setdefault(user.role, []).append(user)
    assert len(by_role["admin"]) == 1
    assert {u.facility_id for u in by_role["staff"]} == {f.id for f in facilities}
    assert {u.consulate_id for u in by_role["consul"]} == {c.id for c in consulates.values()}
    assert len(by_role["interpreter"]) >= 6
    assert {u.email for u in users} == {email for email, _ in DEMO_LOGINS.accounts}


async def test_loading_the_demo_again_adds_and_changes_nothing(
    client: TestClient[Any, Any], db: async_sessionmaker[AsyncSession]
) -> None:
    # The running app's heartbeat writes its own rows (the next daily alert): stopped, so
    # every change between the snapshots is the demo loader's.
    await client.app[JOB_SCHEDULER].stop()
    await _load(db)
    # Someone edits the demo between two starts; the edit must survive.
    async with db() as session, session.begin():
        india = await session.scalar(select(Consulate).where(Consulate.country == "IN"))
        assert india is not None
        india.phone = "+1 202 555-0199"
    before = await _snapshot(db)

    assert await _load(db) == 0

    assert await _snapshot(db) == before
    assert "+1 202 555-0199" in repr(before["consulates"])


async def test_the_printed_demo_logins_sign_in_with_their_roles(
    client: TestClient[Any, Any], db: async_sessionmaker[AsyncSession]
) -> None:
    await _load(db)
    async with db() as session:
        users = (await session.scalars(select(User))).all()
    assert not any(user.disabled for user in users)
    # One sign-in per role (each costs an argon2 verification); all share the password.
    one_per_role = {
        description.split()[0].strip(":,"): email for email, description in DEMO_LOGINS.accounts
    }
    assert set(one_per_role) == {"admin", "staff", "consul", "interpreter"}
    for role, email in one_per_role.items():
        csrf = await sign_in(client, email, DEMO_LOGINS.password)
        me = await (await client.get("/api/me")).json()
        assert (me["email"], me["role"]) == (email, role)
        await client.post("/logout", data={"csrf_token": csrf})
