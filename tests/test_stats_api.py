"""The statistics dashboard and exchange over HTTP: scope, bad input, export, import, schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from interviews.accounts import Role
from interviews.audit import AuditEvent
from interviews.db import make_engine, make_sessionmaker
from interviews.stats_exchange import csv_as_data
from interviews.stats_imports import ImportedStatistic
from tests import stats_support
from tests.conftest import PASSWORD, Clock, World, sign_in
from tests.test_scheduling_support import act_as
from web.app import create_app
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "statistics.schema.json").read_text())
MONTHS = "from=2026-01&to=2026-02"


async def _built(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> None:
    async with db() as session, session.begin():
        await stats_support.build(session, world)
    clock.now = stats_support.AS_OF


async def test_admins_see_every_chart_with_its_table_and_small_counts_suppressed(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    await _built(db, world, clock)
    await act_as(client, "admin@example.org")
    response = await client.get(f"/statistics?{MONTHS}")
    assert response.status == 200
    page = await response.text()
    assert page.count('<svg class="chart"') == 8
    for chart in ("cases", "interviews", "nationality", "country", "facility", "consulates",
                  "languages", "shortfall"):  # fmt: skip
        assert f'aria-describedby="chart-{chart}-table"' in page
        assert f'<table id="chart-{chart}-table"' in page
    assert "&lt;5" in page  # NP's two cases, in the chart and the table
    by_country = page.split('id="chart-country-table"')[1].split("</table>")[0]
    assert "Mexico" in by_country and ">8<" in by_country
    for column in ("Cases with an identification outcome", "Identity confirmed",
                   "Identity not confirmed", "Identity not confirmed (share)"):  # fmt: skip
        assert f'<th scope="col">{column}</th>' in by_country, column
    assert "Export as CSV" in page
    client.session.cookie_jar.update_cookies({"consulink_lang": "es"}, client.make_url("/"))
    spanish = await (await client.get(f"/statistics?{MONTHS}")).text()
    assert "Estadísticas" in spanish and "Casos abiertos por mes" in spanish
    assert "Identidad no confirmada (porcentaje)" in spanish


async def test_staff_see_their_facility_and_consuls_their_nationality_only(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    await _built(db, world, clock)
    await act_as(client, "staff@example.org")
    own = await client.get(f"/statistics?{MONTHS}")
    assert own.status == 200
    assert "Export as CSV" not in await own.text()
    other = await client.get(f"/statistics?{MONTHS}&facility={world.tapachula.id + 1}")
    assert other.status == 403
    assert (await client.get(f"/api/statistics/export?{MONTHS}&format=csv")).status == 403
    await act_as(client, "consul.np@example.org")
    nepal = await (await client.get(f"/statistics?{MONTHS}")).text()
    assert "India" not in nepal.split('id="chart-nationality-table"')[1].split("</table>")[0]
    assert (await client.get(f"/statistics?{MONTHS}&nationality=IN")).status == 403
    await act_as(client, "interpreter@example.org")
    assert (await client.get("/statistics")).status == 403


async def test_bad_filters_are_refused_naming_the_field(
    client: TestClient[Any, Any], world: World
) -> None:
    await act_as(client, "admin@example.org")
    for query, field in (
        ("from=2026-13", "from"),
        ("from=2026-03&to=2026-01", "to"),
        ("nationality=XX", "nationality"),
        ("facility=abc", "facility"),
        ("from=2000-01&to=2026-01", "from"),
    ):
        response = await client.get(f"/api/statistics/export?{query}&format=json")
        assert response.status == 400, query
        details = (await response.json())["error"]["details"]
        assert [d["field"] for d in details] == [field], query
    response = await client.get(f"/api/statistics/export?{MONTHS}&format=xml")
    assert response.status == 400


async def test_exports_follow_the_schema_are_suppressed_and_audited(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    await _built(db, world, clock)
    await act_as(client, "admin@example.org")
    response = await client.get(f"/api/statistics/export?{MONTHS}&format=json")
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    doc = await response.json()
    jsonschema.validate(doc, SCHEMA)
    as_csv = await (await client.get(f"/api/statistics/export?{MONTHS}&format=csv")).text()
    from_csv = csv_as_data(as_csv)
    jsonschema.validate(from_csv, SCHEMA)
    assert from_csv["rows"] == [{**row, "value": row["value"]} for row in doc["rows"]]
    figures = {
        (r["indicator"], r["facility"], r["nationality"], r["period"]): r for r in doc["rows"]
    }
    tapachula = world.tapachula.name
    nepal = figures[("cases_opened", tapachula, "NP", "2026-01")]
    assert nepal["suppressed"] is True and nepal["value"] is None
    # 2 NP + 6 IN = 8 at Tapachula: with NP hidden, IN must be too.
    assert figures[("cases_opened", tapachula, "IN", "2026-01")]["suppressed"] is True
    assert figures[("cases_opened", tapachula, "*", "2026-01")]["value"] == 8
    median = figures[("days_to_first_interview_median", tapachula, "IN", "2026-01")]
    assert median["value"] == 20
    for row in doc["rows"]:
        if row["value"] is not None and not row["indicator"].endswith(("_rate", "_median", "_p90")):
            assert not 0 < row["value"] < 5, row
    async with db() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "stats.export"))
        ).all()
    assert [e.details["format"] for e in events] == ["json", "csv"]
    assert events[0].user_name == world.admin.name
    assert events[0].details["period_from"] == "2026-01" and len(events[0].details["sha256"]) == 64


async def _regional_office(
    tmp_path: Path, aiohttp_client: Callable[..., Any]
) -> tuple[TestClient[Any, Any], async_sessionmaker[AsyncSession]]:
    """A second consulink (its own SQLite file) where a regional office combines countries."""
    settings = Settings(
        data_dir=tmp_path / "regional",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'regional.db'}",
        secret_key="regional-test-key",
        stats_source="REGIONAL",
    )
    regional: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    maker = make_sessionmaker(make_engine(settings.resolved_database_url))
    async with maker() as session, session.begin():
        await accounts.create_user(
            session, email="admin@regional.org", name="Regional", role=Role.ADMIN,
            password=PASSWORD,
        )  # fmt: skip
    csrf = await sign_in(regional, "admin@regional.org")
    regional.session.headers["X-CSRF-Token"] = csrf
    return regional, maker


async def _imported_count(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count(ImportedStatistic.id))) or 0)


async def test_export_then_import_elsewhere_gives_the_same_figures_once(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
    tmp_path: Path,
    aiohttp_client: Callable[..., Any],
) -> None:
    await _built(db, world, clock)
    await act_as(client, "admin@example.org")
    exported_json = await (await client.get(f"/api/statistics/export?{MONTHS}&format=json")).text()
    exported_csv = await (await client.get(f"/api/statistics/export?{MONTHS}&format=csv")).text()
    exported = json.loads(exported_json)
    regional, maker = await _regional_office(tmp_path, aiohttp_client)
    try:
        first = await regional.post(
            "/api/statistics/import", data=exported_json,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert first.status == 200, await first.text()
        assert (await first.json())["added"] == len(exported["rows"])
        # The same months again, now as CSV: replaced, not added to.
        again = await regional.post(
            "/api/statistics/import", data=exported_csv, headers={"Content-Type": "text/csv"}
        )
        assert (await again.json())["replaced"] == len(exported["rows"])
        assert await _imported_count(maker) == len(exported["rows"])
        back = await regional.get(f"/api/statistics/imported?source={exported['source']}&{MONTHS}")
        assert (await back.json())["rows"] == exported["rows"]
        page = await (await regional.get(f"/statistics?{MONTHS}")).text()
        assert exported["source"] in page and "Mexico" in page
        # The page's upload form does the same.
        form = FormData()
        form.add_field("csrf_token", regional.session.headers["X-CSRF-Token"])
        form.add_field("file", exported_csv.encode(), filename="mx.csv", content_type="text/csv")
        uploaded = await regional.post("/statistics/import", data=form, allow_redirects=False)
        assert uploaded.status == 303
        assert await _imported_count(maker) == len(exported["rows"])
    finally:
        await maker.kw["bind"].dispose()


async def test_bad_imports_are_refused_and_change_nothing(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    await _built(db, world, clock)
    await act_as(client, "admin@example.org")
    good = await (await client.get(f"/api/statistics/export?{MONTHS}&format=json")).json()
    foreign = {**good, "source": "GT-IGM"}
    row = foreign["rows"][0]
    assert good["scope"] == ""
    # An export of one nationality holds part of its source's figures: importing it would
    # replace the rest of GT-IGM's figures for those months.
    part = await client.get(f"/api/statistics/export?{MONTHS}&nationality=IN&format=json")
    partial = {**(await part.json()), "source": "GT-IGM"}
    assert partial["scope"] == "nationality=IN"
    part_csv = await (
        await client.get(f"/api/statistics/export?{MONTHS}&nationality=IN&format=csv")
    ).text()

    def variant(**changes: Any) -> dict[str, Any]:
        return {**foreign, "rows": [{**row, **changes}]}

    cases: list[tuple[Any, str, int, str]] = [
        ("{not json", "application/json", 400, "document"),
        (json.dumps(good), "application/json", 400, "source"),  # our own export
        (json.dumps(variant(value=None, suppressed=False)), "application/json", 400, "rows.0"),
        (json.dumps(variant(indicator="happiness")), "application/json", 400, "rows.0.indicator"),
        (json.dumps(variant(period="2027-01")), "application/json", 400, "document"),
        (json.dumps({**foreign, "schema_version": "2.0"}), "application/json", 400,
         "schema_version"),
        (json.dumps({**foreign, "rows": [row, row]}), "application/json", 400, "rows.1"),
        ("a,b\n1,2\n", "text/csv", 400, "header"),
        (json.dumps(partial), "application/json", 400, "scope"),
        (part_csv.replace(good["source"], "GT-IGM"), "text/csv", 400, "scope"),
        ("<xml/>", "application/xml", 415, ""),
    ]  # fmt: skip
    for body, media, status, field in cases:
        response = await client.post(
            "/api/statistics/import", data=body, headers={"Content-Type": media}
        )
        assert response.status == status, (body[:60], await response.text())
        if field:
            details = (await response.json())["error"]["details"]
            assert details[0]["field"].startswith(field), details
    await act_as(client, "staff@example.org")
    refused = await client.post(
        "/api/statistics/import", data=json.dumps(foreign),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert refused.status == 403
    async with db() as session:
        assert await session.scalar(select(func.count(ImportedStatistic.id))) == 0
