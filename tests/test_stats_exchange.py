"""The export's figures against a region whose answers are known (stats_support.LARGE_REGION:
10 Indians and 5 Nepalis at Tapachula, 5 Indians at Acayucan, 10 Nepalis in Guatemala)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.indicators import ALL, StatsQuery, compute
from interviews.stats_exchange import export_rows
from tests import stats_support
from tests.conftest import World

TAPACHULA = "Estación Migratoria Siglo XXI"
ACAYUCAN = "Estación Migratoria Acayucan"
GUATEMALA = "Albergue IGM"
INDIA = "Embassy of India, Washington DC"
NEPAL = "Embassy of Nepal, Washington DC"


async def _exported(db: async_sessionmaker[AsyncSession], world: World) -> list[dict[str, Any]]:
    async with db() as session, session.begin():
        await stats_support.build_region(session, world, stats_support.LARGE_REGION)
    query = StatsQuery(date(2026, 1, 1), date(2026, 1, 1))
    return export_rows(await compute(db, query, as_of=stats_support.AS_OF))


async def test_exported_figures_are_the_known_answers(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    rows = await _exported(db, world)
    assert [r for r in rows if r["suppressed"]] == []
    figures = {
        (r["indicator"], r["country_of_detention"], r["facility"], r["nationality"],
         r["dimension_value"]): r["value"]
        for r in rows
    }  # fmt: skip
    expected = {
        # Tapachula: 10 Indians (5 minors, 5 confirmed) and 5 Nepalis (all confirmed).
        ("cases_opened", "MX", TAPACHULA, "IN", ""): 10,
        ("minors", "MX", TAPACHULA, "IN", ""): 5,
        ("cases_opened", "MX", TAPACHULA, ALL, ""): 15,
        ("identity_confirmed", "MX", TAPACHULA, ALL, ""): 10,
        ("identity_not_confirmed", "MX", TAPACHULA, ALL, ""): 5,
        ("interviews_requested", "MX", TAPACHULA, ALL, ""): 15,
        ("interviews_held", "MX", TAPACHULA, ALL, ""): 15,
        ("interviews_held_by_consulate", "MX", TAPACHULA, ALL, INDIA): 10,
        ("interviews_held_by_consulate", "MX", TAPACHULA, ALL, NEPAL): 5,
        ("interviews_held_by_language", "MX", TAPACHULA, ALL, ALL): 15,
        # Mexico: Tapachula and Acayucan (5 Indians, none confirmed).
        ("cases_opened", "MX", ACAYUCAN, "IN", ""): 5,
        ("cases_opened", "MX", ALL, "IN", ""): 15,
        ("cases_opened", "MX", ALL, ALL, ""): 20,
        ("interviews_requested", "MX", ALL, ALL, ""): 20,
        ("interviews_held", "MX", ALL, ALL, ""): 20,
        ("interviews_held", "MX", ACAYUCAN, ALL, ""): 5,
        ("interviews_held_by_consulate", "MX", ALL, ALL, INDIA): 15,
        ("identity_confirmed_rate", "MX", TAPACHULA, "IN", ""): 0.5,
        ("identity_not_confirmed_rate", "MX", ACAYUCAN, "IN", ""): 1.0,
        ("identity_confirmed_rate", "MX", ALL, ALL, ""): 0.5,
        ("days_to_first_interview_median", "MX", ALL, ALL, ""): 10,
        ("days_to_identification_p90", "MX", ALL, ALL, ""): 15,
        # Guatemala: 10 Nepalis.
        ("cases_opened", "GT", ALL, ALL, ""): 10,
        ("interviews_held", "GT", ALL, ALL, ""): 10,
        ("interviews_held_by_consulate", "GT", ALL, ALL, NEPAL): 10,
    }
    assert {key: figures.get(key) for key in expected} == expected


async def test_every_exported_total_is_the_sum_of_its_parts(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    rows = await _exported(db, world)
    totals: dict[tuple[str, ...], int] = {}
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    for r in rows:
        if r["indicator"].endswith(("_rate", "_median", "_p90")):
            continue
        column = r["nationality"] if r["dimension"] == "" else r["dimension_value"]
        cell = (r["period"], r["country_of_detention"], r["facility"])
        if column == ALL:
            totals[(r["indicator"], *cell)] = r["value"]
            if r["facility"] != ALL:
                sums[("facilities", r["indicator"], *cell[:2], ALL)] += r["value"]
        else:
            sums[("columns", r["indicator"], *cell)] += r["value"]
    assert sums and totals
    for (_, indicator, *cell), value in sums.items():
        # Held interviews per consulate have held interviews as their total.
        total = "interviews_held" if indicator == "interviews_held_by_consulate" else indicator
        assert totals[(total, *cell)] == value, (indicator, *cell)
