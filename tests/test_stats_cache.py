"""The dashboard keeps its figures for CONSULINK_STATS_CACHE_SECONDS and says when they were
computed; exports are always computed afresh."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.cases import Case
from tests import stats_support
from tests.conftest import Clock, World
from tests.test_scheduling_support import act_as
from web.settings import Settings

MONTHS = "from=2026-01&to=2026-02"
KEPT_SECONDS = 60.0


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Figures kept one minute of the test's clock: kept, then refreshed once it moves on."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        stats_cache_seconds=KEPT_SECONDS,
    )


def _mexico(page: str) -> str:
    """The Mexico row of the cases-by-country table."""
    table = page.split('id="chart-country-table"')[1].split("</table>")[0]
    return table.split("Mexico")[1].split("</tr>")[0]


async def test_a_new_case_shows_on_the_dashboard_once_its_figures_are_refreshed(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
) -> None:
    async with db() as session, session.begin():
        await stats_support.build(session, world)
    clock.now = stats_support.AS_OF
    await act_as(client, "admin@example.org")
    first = await (await client.get(f"/statistics?{MONTHS}")).text()
    assert ">8<" in _mexico(first)
    assert "Figures computed at 2026-03-15 00:00 UTC." in first
    assert "Newer events appear within 1 min." in first

    async with db() as session, session.begin():
        session.add(
            Case(
                reference="TST-2026-0100",
                facility_id=world.tapachula.id,
                family_name="Late",
                claimed_nationality="IN",
                detention_date=date(2026, 1, 2),
                deadline=date(2026, 3, 1),
                created_at=stats_support.at("2026-01-06"),
                updated_at=stats_support.at("2026-01-06"),
            )
        )
    kept = await (await client.get(f"/statistics?{MONTHS}")).text()
    assert ">8<" in _mexico(kept), "figures computed a moment ago are shown again"
    exported = await (await client.get(f"/api/statistics/export?{MONTHS}&format=json")).json()
    opened = [
        row["value"]
        for row in exported["rows"]
        if (row["indicator"], row["period"], row["facility"], row["nationality"])
        == ("cases_opened", "2026-01", "*", "*")
    ]
    assert opened == [9], "an export is computed afresh"

    clock.now = stats_support.AS_OF + timedelta(seconds=KEPT_SECONDS)
    fresh = await (await client.get(f"/statistics?{MONTHS}")).text()
    assert ">9<" in _mexico(fresh)
