"""Admins search and export the audit log; nobody else can, and asking is itself recorded."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import Role
from interviews.audit import AuditEvent, record, verify_chain
from tests.conftest import Clock, World, sign_in

Sessions = async_sessionmaker[AsyncSession]


async def _events(db: Sessions, clock: Clock) -> None:
    """A small history: two staff members looking at cases on two days, and a tricky name."""
    ana = Actor(user_id=11, name="Ana Pérez", role=Role.STAFF, facility_id=1)
    luis = Actor(user_id=12, name='Luis =HYPERLINK("x")', role=Role.STAFF, facility_id=1)
    async with db() as session, session.begin():
        for i in range(6):
            await record(session, "case.view", actor=ana, target_type="case", target_id=i % 2 + 1,
                         remote="10.1.1.1", now=clock.now)  # fmt: skip
        clock.advance(days=1)
        await record(session, "case.share", actor=luis, target_type="case", target_id=2,
                     details={"consulate_id": 3, "purpose": "<script>x</script>"},
                     now=clock.now)  # fmt: skip
        await record(session, "document.download", actor=ana, target_type="document",
                     target_id=9, now=clock.now)  # fmt: skip


async def test_an_admin_pages_through_the_log_newest_first(
    client: TestClient[Any, Any], world: World, db: Sessions, clock: Clock
) -> None:
    await _events(db, clock)
    await sign_in(client, "admin@example.org")
    first = await (await client.get("/api/audit", params={"limit": "3"})).json()
    ids = [item["id"] for item in first["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert first["items"][0]["action"] == "auth.login"  # the admin's own sign-in is newest
    assert first["newer_after"] is None
    second = await (
        await client.get("/api/audit", params={"limit": "3", "before": str(first["older_before"])})
    ).json()
    assert [i["id"] for i in second["items"]] == [ids[-1] - 1, ids[-1] - 2, ids[-1] - 3]
    back = await (
        await client.get("/api/audit", params={"limit": "3", "after": str(second["newer_after"])})
    ).json()
    assert [i["id"] for i in back["items"]] == ids


async def test_filters_by_who_action_target_and_day(
    client: TestClient[Any, Any], world: World, db: Sessions, clock: Clock
) -> None:
    day_one = clock.now.date()
    await _events(db, clock)
    await sign_in(client, "admin@example.org")

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/audit", params=params)
        assert response.status == 200, await response.text()
        return [f"{i['action']}:{i['target_id']}" for i in (await response.json())["items"]]

    assert await ids(who="luis") == ["case.share:2"]
    assert len(await ids(who="11")) == 7
    assert (
        await ids(action="case.*", target_id="2", since=str(day_one), until=str(day_one))
        == ["case.view:2"] * 3
    )
    assert await ids(target_type="document") == ["document.download:9"]
    assert await ids(who="nobody") == []


async def test_bad_filters_are_refused_with_the_field_named(
    client: TestClient[Any, Any], world: World
) -> None:
    await sign_in(client, "admin@example.org")
    for params, field in [
        ({"since": "2026-02-30"}, "since"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"colour": "red"}, "colour"),
        ({"before": "5", "after": "2"}, "after"),
    ]:
        response = await client.get("/api/audit", params=params)
        assert response.status == 400, params
        details = (await response.json())["error"]["details"]
        assert [d["field"] for d in details] == [field], params
    page = await client.get("/audit", params={"since": "not a day"})
    assert page.status == 400 and "since" in await page.text()


async def test_only_admins_read_the_log_and_refusals_are_recorded(
    client: TestClient[Any, Any], world: World, db: Sessions
) -> None:
    for email in ("staff@example.org", "consul.in@example.org"):
        csrf = await sign_in(client, email)
        for path in ("/api/audit", "/api/audit/export.csv", "/audit"):
            assert (await client.get(path)).status == 403, (email, path)
        await client.post("/logout", data={"csrf_token": csrf})
    async with db() as session:
        refused = await session.scalar(
            select(func.count()).where(AuditEvent.action == "auth.forbidden")
        )
    assert refused == 6
    assert (await client.get("/api/audit")).status == 401


async def test_the_export_streams_every_column_neutralises_formulas_and_is_audited(
    client: TestClient[Any, Any], world: World, db: Sessions, clock: Clock
) -> None:
    await _events(db, clock)
    await sign_in(client, "admin@example.org")
    response = await client.get("/api/audit/export.csv", params={"action": "case.*"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["action"] for r in rows] == ["case.view"] * 6 + ["case.share"]
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    share = rows[-1]
    assert share["user_name"] == '\'Luis =HYPERLINK("x")'.replace("'Luis", "Luis")
    assert share["details"] == '{"consulate_id":3,"purpose":"<script>x</script>"}'
    assert len(share["hash"]) == 64 and share["prev_hash"] == rows[-2]["hash"]

    async with db() as session:
        exported = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export"))
        ).one()
        assert exported.details == {"filters": {"action": "case.*"}}
        assert (await verify_chain(session)).ok


async def test_the_search_page_shows_events_escaped_with_filters_and_pager(
    client: TestClient[Any, Any], world: World, db: Sessions, clock: Clock
) -> None:
    await _events(db, clock)
    await sign_in(client, "admin@example.org")
    nav = await (await client.get("/audit")).text()
    assert 'href="/audit" aria-current="page"' in nav
    page = await client.get("/audit", params={"action": "case.share", "limit": "1"})
    assert page.status == 200
    html = await page.text()
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert "Luis =HYPERLINK" in html
    assert 'href="/api/audit/export.csv?action=case.share"' in html
    spanish = await client.get("/audit", headers={"Accept-Language": "es"},
                               cookies={"consulink_lang": "es"})  # fmt: skip
    assert "Registro de auditoría" in await spanish.text()
