"""Admins see retention at work: the periods in effect, the legal holds, and what a run would
delete now (a dry run that deletes nothing and lists what the real run then deletes). Nobody
else may look; the page is in Spanish and English."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.retention import run_retention
from scheduling.writes import WriteGate
from tests.conftest import Clock, World, sign_in
from tests.test_retention import counts, deletions, store_case
from web.keys import JOB_SCHEDULER, RETENTION_TASK
from web.settings import Settings


async def test_an_admin_sees_periods_holds_and_the_dry_run_that_a_run_then_carries_out(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    await client.app[JOB_SCHEDULER].stop()  # only this test deletes, when it says so
    adult = await store_case(db, settings, world, clock, "ADULT-1", slot=0)
    held = await store_case(db, settings, world, clock, "HELD-1", slot=1)
    csrf = await sign_in(client, "staff@example.org")
    hold = await client.post(
        f"/api/cases/{held.case_id}/legal-hold",
        json={"reason": "appeal pending"},
        headers={"X-CSRF-Token": csrf},
    )
    assert hold.status == 201
    clock.advance(days=91)  # adults' recordings (90 days) have expired; transcripts not

    await sign_in(client, "admin@example.org")
    response = await client.get("/api/retention")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["periods"]["recordings"] == {
        "counted_from": "interview_end",
        "days": {"adult": 90, "minor": 365, "unaccompanied_minor": 365},
    }
    assert body["periods"]["summaries"]["counted_from"] == "case_closed"
    assert body["legal_holds"] == 1
    dry = body["dry_run"]
    assert (dry["due"], dry["held"], dry["truncated"]) == (2, 2, False)
    assert dry["due_by_kind"] == {"recordings": 2, "transcripts": 0, "documents": 0, "summaries": 0}
    assert {(item["kind"], item["case_reference"], item["files"]) for item in dry["items"]} == {
        ("recordings", "ADULT-1", 1)
    }
    assert await counts(db, adult.interview_id) == (2, 2)  # a dry run deletes nothing
    assert await deletions(db) == []

    bounded = await (await client.get("/api/retention", params={"limit": "1"})).json()
    assert len(bounded["dry_run"]["items"]) == 1 and bounded["dry_run"]["truncated"]
    assert bounded["dry_run"]["due"] == 2
    for bad in ("0", "501", "many"):
        refused = await client.get("/api/retention", params={"limit": bad})
        assert refused.status == 400

    # The real run, with the daily job's own policy and storage, deletes exactly that list.
    task = client.app[RETENTION_TASK]
    report = await run_retention(WriteGate(db).transaction, task.policy, task.storage, clock.now)
    assert sorted(item.target_id for item in report.deleted) == sorted(
        item["target_id"] for item in dry["items"]
    )
    after = await (await client.get("/api/retention")).json()
    assert after["dry_run"]["due"] == 0 and after["dry_run"]["held"] == 2


async def test_the_page_in_english_and_spanish_linked_from_the_admin_navigation(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    await client.app[JOB_SCHEDULER].stop()
    await store_case(db, settings, world, clock, "ADULT-1", slot=0)
    clock.advance(days=91)
    await sign_in(client, "admin@example.org")
    home = await (await client.get("/cases")).text()
    assert '<a href="/retention"' in home
    page = await client.get("/retention")
    assert page.status == 200
    html = await page.text()
    assert 'href="/retention" aria-current="page"' in html
    assert "90 days" in html and "the interview&#39;s end" in html
    assert "0 cases are on legal hold" in html
    assert "2 items are due for deletion." in html
    assert html.count(">ADULT-1</a>") == 2
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"})
    spanish = await (await client.get("/retention")).text()
    assert "<h1>Conservación</h1>" in spanish
    assert "90 días" in spanish and "el fin de la entrevista" in spanish
    assert "Menor no acompañado" in spanish and "Grabaciones: 2" in spanish
    assert "2 elementos deben eliminarse." in spanish


async def test_only_admins_may_look(client: TestClient[Any, Any], world: World) -> None:
    assert (await client.get("/api/retention")).status == 401
    for email in ("staff@example.org", "consul.in@example.org", "interpreter@example.org"):
        csrf = await sign_in(client, email)
        for path in ("/api/retention", "/retention"):
            assert (await client.get(path)).status == 403, (email, path)
        nav = await (await client.get("/scheduling")).text()
        assert 'href="/retention"' not in nav
        await client.post("/logout", data={"csrf_token": csrf})
