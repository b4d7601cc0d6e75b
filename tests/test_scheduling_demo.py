"""The demo shows scheduling working: slots with an interpreter, a case no interpreter can
take (and why), and hours, profiles and rooms for everyone who signs in."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.cases import Case
from interviews.demo import DEMO_LOGINS, load_demo
from tests.conftest import sign_in


async def test_the_demo_cases_show_slots_and_a_plain_reason_when_there_are_none(
    client: TestClient[Any, Any], db: async_sessionmaker[AsyncSession]
) -> None:
    async with db() as session, session.begin():
        await load_demo(session)
    async with db() as session:
        cases = {c.given_names: c.id for c in (await session.scalars(select(Case))).all()}
    await sign_in(client, "staff.tapachula@demo.consulink.test", DEMO_LOGINS.password)
    bengali = await (await client.get(f"/api/cases/{cases['Arjun']}/slots")).json()
    assert bengali["slots"], bengali["problems"]
    assert bengali["slots"][0]["interpreter"]["language"] == "ben"
    sylheti = await (await client.get(f"/api/cases/{cases['Rahim']}/slots")).json()
    assert [p["code"] for p in sylheti["problems"]] == ["no_interpreter"]
    assert "Sylheti" in sylheti["problems"][0]["message"]
    child = await (await client.get(f"/api/cases/{cases['Kiran']}/slots")).json()
    assert child["slots"] and child["needs_interpreter"] is False
    page = await client.get("/scheduling")
    assert page.status == 200 and "Buscar un horario" in await page.text()  # staff reads Spanish
