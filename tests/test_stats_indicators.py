"""Indicators on the hand-built data set (tests/stats_support.py), answers worked out by hand."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.indicators import ALL, Fine, StatsQuery, compute, percentile
from interviews.stats_tables import dashboard_tables
from tests import stats_support
from tests.conftest import World
from tests.stats_support import Group

JAN_FEB = StatsQuery(first_month=date(2026, 1, 1), last_month=date(2026, 2, 1))


async def test_every_indicator_of_the_hand_built_data_set(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with db() as session, session.begin():
        await stats_support.build(session, world)
    async with db() as session:
        raw = await compute(db, JAN_FEB, as_of=stats_support.AS_OF)
    t = world.tapachula.id

    def count(indicator: str, period: str = "2026-01", nat: str = "IN", value: str = "") -> int:
        return raw.counts.get(Fine(indicator, period, t, nat, value), 0)

    # Cases opened in January, by nationality; minors; the unaccompanied child.
    assert (count("cases_opened"), count("cases_opened", nat="NP")) == (6, 2)
    assert (count("minors"), count("unaccompanied_minors")) == (2, 1)
    # Interviews scheduled in January: 6 requested, 4 held, 1 no-show, 1 cancelled;
    # c4's held interview falls in February.
    assert [count(f"interviews_{s}") for s in ("requested", "held", "no_show", "cancelled")] == [
        6, 4, 1, 1,
    ]  # fmt: skip
    assert (count("interviews_requested", "2026-02"), count("interviews_held", "2026-02")) == (1, 1)
    # The January cohort: five interviewed, five identified (4 confirmed, c3 not).
    assert (count("cases_interviewed"), count("cases_identified")) == (5, 5)
    assert (count("identity_confirmed"), count("identity_not_confirmed")) == (4, 1)
    # Past the deadline without an outcome: c6 (IN) and n1 (NP).
    assert (count("cases_past_deadline"), count("cases_past_deadline", nat="NP")) == (1, 1)
    # Days from detention: first interview 10, 15, 20, 30, 40; identification 11, 16, 21, 31, 41.
    first = raw.histograms[Fine("days_to_first_interview", "2026-01", t, "IN")]
    ident = raw.histograms[Fine("days_to_identification", "2026-01", t, "IN")]
    assert sorted(first.elements()) == [10, 15, 20, 30, 40]
    assert sorted(ident.elements()) == [11, 16, 21, 31, 41]
    assert (percentile(first, 0.5), percentile(first, 0.9)) == (20, 40)
    assert (percentile(ident, 0.5), percentile(ident, 0.9)) == (21, 41)
    # Held interviews per consulate and per interpreted language (c3 had no interpreter).
    assert count("interviews_held_by_consulate", nat=ALL, value=world.india.name) == 4
    assert count("interviews_held_by_language", nat=ALL, value="hin") == 3
    # Two people (three searches) for whom no Nepali interpreter was found.
    assert count("interpreter_shortfall", nat=ALL, value="nep") == 2


async def test_filters_and_scope_narrow_the_figures(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with db() as session, session.begin():
        built = await stats_support.build(session, world)
    async with db() as session:
        nepal_only = await compute(
            db,
            StatsQuery(date(2026, 1, 1), date(2026, 2, 1), nationality="NP"),
            as_of=stats_support.AS_OF,
        )
        february = await compute(
            db, StatsQuery(date(2026, 2, 1), date(2026, 2, 1)), as_of=stats_support.AS_OF
        )
        guatemala = await compute(
            db,
            StatsQuery(date(2026, 1, 1), date(2026, 2, 1), facility_id=built.guatemala.id),
            as_of=stats_support.AS_OF,
        )
        mexico = await compute(
            db,
            StatsQuery(date(2026, 1, 1), date(2026, 2, 1), country="MX"),
            as_of=stats_support.AS_OF,
        )
    assert {f.nationality for f in nepal_only.counts if f.nationality != ALL} == {"NP"}
    # February: only c4's interview; the January cohort is outside the months asked for.
    assert {f.indicator for f, n in february.counts.items() if n} == {
        "interviews_requested", "interviews_held", "interviews_held_by_consulate",
        "interviews_held_by_language",
    }  # fmt: skip
    assert sum(guatemala.counts.values()) == 0
    assert sum(mexico.counts.values()) > 0


async def test_dashboard_tables_suppress_small_counts_and_protect_the_total(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with db() as session, session.begin():
        await stats_support.build(session, world)
    async with db() as session:
        raw = await compute(db, JAN_FEB, as_of=stats_support.AS_OF)
    tables = dashboard_tables(raw, stats_support.AS_OF)
    table = tables.by_nationality
    assert table.rows == ["IN", "NP"]
    # NP opened 2: suppressed. The total (8) is shown, so IN (6) must be hidden as well,
    # or 8 - 6 would give NP's 2 back.
    assert table.value("cases_opened", "NP") is None
    assert table.value("cases_opened", "IN") is None
    assert table.value("cases_opened", ALL) == 8
    # 5 cases with a first interview: median and p90 published; fewer than 5 would not be.
    assert table.days("days_to_first_interview", "IN") == (20, 40)
    assert table.days("days_to_first_interview", "NP") == (None, None)
    # Identity confirmed 4 of 5: the 4 is shown only if 1 (not confirmed) cannot be derived.
    assert table.value("identity_not_confirmed", "IN") is None
    assert table.value("identity_confirmed", "IN") is None
    assert table.rate("identity_confirmed_rate", "IN") is None
    languages = tables.breakdowns["interpreter_shortfall"]
    assert languages.rows == ["nep"]
    assert languages.value("interpreter_shortfall", "nep") is None


def test_percentiles_use_the_nearest_rank() -> None:
    assert percentile(Counter(), 0.5) is None
    assert percentile(Counter({7: 1}), 0.9) == 7
    assert percentile(Counter({1: 1, 2: 1, 3: 1, 4: 1}), 0.5) == 2
    assert percentile(Counter({1: 9, 100: 1}), 0.9) == 1
    assert percentile(Counter({1: 9, 100: 2}), 0.9) == 100


async def test_linked_dashboard_tables_do_not_give_each_other_away(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    """Mexico 7 (two facilities: 3 + 4), Guatemala 6 (one facility), Costa Rica 3: total 16.

    Suppressed one table at a time, 16 − 7 − 6 (Guatemala's facility) gave Costa Rica's 3
    back; and four interviews still requested (20 requested, 16 held) hide the held total
    in the monthly table, which the per-consulate table's total must not give back.
    """
    async with db() as session, session.begin():
        await stats_support.build_region(
            session,
            world,
            [
                Group(world.tapachula.name, "IN", cases=3, confirmed=3),
                Group("Estación Migratoria Acayucan", "IN", cases=4, confirmed=4),
                Group("Albergue IGM", "IN", cases=6, confirmed=6, pending=4),
                Group("Centro de Atención Migratoria", "NP", cases=3, confirmed=3),
            ],
        )
    tables = dashboard_tables(
        await compute(db, JAN_FEB, as_of=stats_support.AS_OF), stats_support.AS_OF
    )
    by_country, by_facility = tables.by_country, tables.by_facility
    assert by_country.rows == ["CR", "GT", "MX"]
    assert by_country.value("cases_opened", "CR") is None
    assert by_country.value("cases_opened", ALL) == 16

    def known(*figures: int | None) -> bool:
        return all(figure is not None for figure in figures)

    mexico = known(by_country.value("cases_opened", "MX")) or known(
        by_facility.value("cases_opened", world.tapachula.name),
        by_facility.value("cases_opened", "Estación Migratoria Acayucan"),
    )
    guatemala = known(by_country.value("cases_opened", "GT")) or known(
        by_facility.value("cases_opened", "Albergue IGM")
    )
    assert not (mexico and guatemala), "16 - Mexico - Guatemala gives Costa Rica's 3"
    # Guatemala's one facility is Guatemala: hidden in both tables, or in neither.
    assert by_country.value("cases_opened", "GT") == by_facility.value(
        "cases_opened", "Albergue IGM"
    )
    # Held interviews for all months: hidden everywhere they show (20 - 16 = 4 pending).
    assert tables.by_period.value("interviews_requested", ALL) == 20
    consulates = tables.breakdowns["interviews_held_by_consulate"]
    languages = tables.breakdowns["interviews_held_by_language"]
    assert tables.by_period.value("interviews_held", ALL) is None
    assert tables.by_nationality.value("interviews_held", ALL) is None
    assert consulates.value("interviews_held_by_consulate", ALL) is None
    # Every held interview had an interpreter: the languages' total is the same figure.
    assert languages.value("interviews_held_by_language", ALL) is None


async def test_rates_and_the_facility_and_country_tables_of_a_region(
    db: async_sessionmaker[AsyncSession], world: World
) -> None:
    """stats_support.LARGE_REGION: counts of 5 or more, so every figure is published."""
    async with db() as session, session.begin():
        await stats_support.build_region(session, world, stats_support.LARGE_REGION)
    tables = dashboard_tables(
        await compute(db, JAN_FEB, as_of=stats_support.AS_OF), stats_support.AS_OF
    )
    by_country, by_facility = tables.by_country, tables.by_facility
    assert by_country.rows == ["GT", "MX"]
    assert [by_country.value("cases_opened", r) for r in [*by_country.rows, ALL]] == [10, 20, 30]
    assert [by_country.value("minors", r) for r in [*by_country.rows, ALL]] == [5, 5, 10]
    tapachula, acayucan = world.tapachula.name, "Estación Migratoria Acayucan"
    assert by_facility.rows == ["Albergue IGM", acayucan, tapachula]
    assert [by_facility.value("cases_opened", r) for r in by_facility.rows] == [10, 5, 15]
    assert [by_facility.value("identity_confirmed", r) for r in by_facility.rows] == [5, 0, 10]
    assert [by_facility.value("interviews_held", r) for r in by_facility.rows] == [10, 5, 15]
    # Confirmed ÷ identified: Tapachula 10 of 15, Acayucan none of 5, Guatemala 5 of 10.
    confirmed = [by_facility.rate("identity_confirmed_rate", r) for r in by_facility.rows]
    assert confirmed == pytest.approx([0.5, 0.0, 2 / 3])
    assert by_facility.rate("identity_not_confirmed_rate", acayucan) == 1.0
    assert by_country.rate("identity_confirmed_rate", "MX") == 0.5
    # Indians: 5 of 15 confirmed; Nepalis 10 of 15.
    by_nationality = tables.by_nationality
    assert by_nationality.rate("identity_confirmed_rate", "IN") == pytest.approx(1 / 3)
    assert by_nationality.rate("identity_not_confirmed_rate", "NP") == pytest.approx(1 / 3)
    assert by_nationality.rate("identity_confirmed_rate", ALL) == 0.5
    assert by_facility.days("days_to_first_interview", acayucan) == (10, 10)
    assert by_country.days("days_to_identification", "GT") == (15, 15)
    consulates = tables.breakdowns["interviews_held_by_consulate"]
    assert [consulates.value("interviews_held_by_consulate", r) for r in consulates.rows] == [
        15, 15,
    ]  # fmt: skip
    assert consulates.value("interviews_held_by_consulate", ALL) == 30
