"""All statistics indicators over 3 years: 100,000 cases, 200,000 interviews (goal ≤ 2 s).

Seeds a temporary SQLite file (or an empty PostgreSQL database given with --database-url)
with three years of cases across 10 facilities in 5 countries and 10 nationalities,
interviews of every status (held ones with a participant who joined), identification
outcomes and interpreter shortfalls. Then prints:

- the time to compute every indicator (interviews.indicators.compute: the SQL), and the
  time to turn them into suppressed tables (dashboard) and export rows;
- the query plans of the heaviest queries (SQLite);
- the dashboard's latency: GET /statistics for the three years as an admin, served by the
  real app on 127.0.0.1, p50/p95 over --requests requests.

Asserts nothing.

    .venv/bin/python bench/stats_indicators.py
    .venv/bin/python bench/stats_indicators.py --cases 100000 --interviews 200000 --requests 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert, text

from interviews import accounts
from interviews.accounts import Role
from interviews.cases import Case, CaseStatusChange
from interviews.consulates import Consulate
from interviews.db import make_engine, make_sessionmaker, upgrade
from interviews.facilities import Facility
from interviews.indicators import StatsQuery, compute
from interviews.stats_exchange import export_rows
from interviews.stats_tables import dashboard_tables
from scheduling.appointments import Interview, Participant
from scheduling.resources import VideoRoom
from scheduling.shortfalls import InterpreterShortfall
from web.app import create_app
from web.settings import Settings

NATIONALITIES = ["IN", "NP", "BD", "LK", "AF", "ET", "ER", "SO", "CN", "PK"]
LANGUAGES = ["hin", "nep", "ben", "sin", "prs", "amh", "tir", "som", "cmn", "urd"]
COUNTRIES = ["MX", "GT", "CR", "PA", "HN"]
START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 3 * 365
STATUSES = ["confirmed"] * 6 + ["no_show", "cancelled", "declined", "requested"]
BATCH = 5000


async def _batched(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(table), rows[start : start + BATCH])


async def seed(settings: Settings, cases: int, interviews: int) -> None:
    """Facilities, consulates, a consul, rooms; then cases, interviews, outcomes, shortfalls."""
    rng = random.Random(11)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        facilities = [
            Facility(name=f"Bench {i}", country=COUNTRIES[i % 5], city=f"City {i}",
                     time_zone="America/Mexico_City")
            for i in range(10)
        ]  # fmt: skip
        consulates = [
            Consulate(name=f"Embassy {n}", country=n, kind="embassy", city="Washington",
                      located_country="US", time_zone="America/New_York")
            for n in NATIONALITIES
        ]  # fmt: skip
        session.add_all([*facilities, *consulates])
        await session.flush()
        rooms = [VideoRoom(facility_id=f.id, name="Sala") for f in facilities]
        session.add_all(rooms)
        consul = await accounts.create_user(
            session, email="consul@bench.org", name="Consul", role=Role.CONSUL,
            password="correct horse battery", consulate_id=consulates[0].id,
        )  # fmt: skip
        await accounts.create_user(
            session, email="admin@bench.org", name="Admin", role=Role.ADMIN,
            password="correct horse battery",
        )  # fmt: skip
        await session.flush()
        case_rows, detained_on = [], []
        for i in range(1, cases + 1):
            opened = START + timedelta(days=rng.randrange(DAYS), hours=rng.randrange(24))
            detained = opened.date() - timedelta(days=rng.randrange(10))
            alone = rng.random() < 0.03
            detained_on.append((opened, detained))
            case_rows.append({
                "id": i, "reference": f"BEN-{i:06d}", "facility_id": facilities[i % 10].id,
                "claimed_nationality": NATIONALITIES[rng.randrange(10)],
                "detention_date": detained, "deadline": detained + timedelta(days=60),
                "minor": alone or rng.random() < 0.08, "unaccompanied_minor": alone,
                "created_at": opened, "updated_at": opened, "other_nationalities": [],
                "status": "open", "queue_priority": 2, "version": 1,
            })  # fmt: skip
        await _batched(session, Case, case_rows)
        interview_rows, participant_rows, outcome_rows, shortfall_rows = [], [], [], []
        for j in range(1, interviews + 1):
            case_id = rng.randrange(1, cases + 1)
            opened, _ = detained_on[case_id - 1]
            starts = opened + timedelta(days=rng.randrange(5, 60), hours=rng.randrange(8))
            status = rng.choice(STATUSES)
            facility = facilities[case_id % 10]
            interview_rows.append({
                "id": j, "uid": f"bench-{j}", "case_id": case_id,
                "consulate_id": consulates[rng.randrange(10)].id, "facility_id": facility.id,
                "consul_id": consul.id, "room_id": rooms[case_id % 10].id,
                "language": rng.choice([*LANGUAGES, None]), "starts_at": starts,
                "ends_at": starts + timedelta(hours=1), "busy_until": starts + timedelta(hours=1),
                "status": status, "priority_hold": False, "sequence": 0, "requested_at": opened,
                "reason": "", "updated_at": opened,
            })  # fmt: skip
            held = status == "confirmed" and rng.random() < 0.9
            participant_rows.append({
                "interview_id": j, "user_id": consul.id, "role": "consul", "name": "Consul",
                "email": "consul@bench.org", "language": "en", "time_zone": "UTC",
                "token_nonce": f"n{j}", "removed": False,
                "joined_at": starts if held else None,
            })  # fmt: skip
            if held and rng.random() < 0.8:
                outcome = rng.choice(["identity_confirmed"] * 4 + ["identity_not_confirmed"])
                outcome_rows.append({
                    "case_id": case_id, "at": starts + timedelta(days=rng.randrange(3)),
                    "user_name": "", "from_status": "interview_held", "to_status": outcome,
                    "reason": "",
                })  # fmt: skip
        for _ in range(cases // 20):
            case_id = rng.randrange(1, cases + 1)
            opened, _ = detained_on[case_id - 1]
            shortfall_rows.append({
                "at": opened + timedelta(days=1), "case_id": case_id,
                "facility_id": facilities[case_id % 10].id,
                "language": rng.choice(LANGUAGES), "reason": "none_registered",
            })  # fmt: skip
        await _batched(session, Interview, interview_rows)
        await _batched(session, Participant, participant_rows)
        await _batched(session, CaseStatusChange, outcome_rows)
        await _batched(session, InterpreterShortfall, shortfall_rows)
    if engine.dialect.name == "sqlite":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


def _figures(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]
    print(
        f"{label:<40} n={len(samples):3d}  p50={statistics.median(ordered):7.0f} ms  "
        f"p95={p95:7.0f} ms  max={ordered[-1]:7.0f} ms"
    )


async def measure_compute(settings: Settings, runs: int) -> None:
    """Time the SQL (compute) and the Python roll-ups separately."""
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    query = StatsQuery(date(2023, 1, 1), date(2025, 12, 1))
    sql, sql_cpu, tables, export = [], [], [], []
    for _ in range(runs):
        begin, cpu = time.perf_counter(), time.process_time()
        raw = await compute(sessions, query, as_of=datetime(2026, 1, 1, tzinfo=UTC))
        sql.append((time.perf_counter() - begin) * 1000)
        # SQLite runs in this process (aiosqlite's threads): CPU time is the queries' own
        # cost, which other engineers' load on the machine inflates far less than wall time.
        sql_cpu.append((time.process_time() - cpu) * 1000)
        begin = time.perf_counter()
        dashboard_tables(raw, datetime(2026, 1, 1, tzinfo=UTC))  # every table, country too
        tables.append((time.perf_counter() - begin) * 1000)
        begin = time.perf_counter()
        rows = export_rows(raw)
        export.append((time.perf_counter() - begin) * 1000)
    print(f"fine-grained figures: {len(raw.counts):,} counts, {len(raw.histograms):,} histograms;"
          f" export rows: {len(rows):,}")  # fmt: skip
    _figures("compute: every indicator (SQL), wall", sql)
    _figures("compute: every indicator (SQL), CPU", sql_cpu)
    _figures("dashboard tables + suppression", tables)
    _figures("export rows + suppression", export)
    await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    """Seed, measure the computation, serve, measure the dashboard, print."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder), database_url=args.database_url, secret_key="bench", port=0
        )
        engine = make_engine(settings.resolved_database_url)
        await upgrade(engine)
        await engine.dispose()
        started = time.perf_counter()
        # Seed before the app starts: its job heartbeat would compete for SQLite's write lock.
        await seed(settings, args.cases, args.interviews)
        print(f"seeded {args.cases:,} cases and {args.interviews:,} interviews "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} on {os.cpu_count()} CPUs (others' work inflates it)")
        await measure_compute(settings, args.runs)
        # Computed on every view (cache off), then the views the cache serves.
        await measure_dashboard(settings.model_copy(update={"stats_cache_seconds": 0}), args)
        await measure_dashboard(settings, args)


async def measure_dashboard(settings: Settings, args: argparse.Namespace) -> None:
    """GET /statistics for three years as an admin, on the real app."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    engine = make_engine(settings.resolved_database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        admin = await accounts.find_user(session, "admin@bench.org")
        assert admin is not None
        token = await accounts.issue_api_token(session, admin, "bench")
    await engine.dispose()
    url = f"http://127.0.0.1:{port}/statistics?from=2023-01&to=2025-12"
    kept = settings.stats_cache_seconds > 0  # three years, as an admin
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        samples = []
        for _ in range(args.requests + 1):
            begin = time.perf_counter()
            async with http.get(url) as response:
                body = await response.text()
                assert response.status == 200, body[:500]
            samples.append((time.perf_counter() - begin) * 1000)
        if kept:
            _figures("GET /statistics, first view", samples[:1])
        _figures(f"GET /statistics, {'figures kept' if kept else 'cache off'}", samples[1:])
        print(f"page size: {len(body) / 1024:.0f} KiB")
    await runner.cleanup()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--interviews", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
