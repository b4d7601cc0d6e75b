"""Work queue latency with 10,000 cases (goal: p95 ≤ 30 ms per page).

Seeds a temporary SQLite file (or an empty PostgreSQL database given with --database-url)
with cases of varied flags, deadlines, nationalities and languages, serves the real app on
127.0.0.1, and times GET /api/cases as a staff member: the first page, filtered pages and
deep pages reached by keyset cursors. Prints figures and the query plan; asserts nothing.

    .venv/bin/python bench/work_queue.py
    .venv/bin/python bench/work_queue.py --cases 10000 --requests 300
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
from sqlalchemy import insert, select, text

from interviews import accounts
from interviews.access import Actor
from interviews.accounts import Role
from interviews.case_access import visible_cases
from interviews.cases import Case, CaseLanguage, CaseStatus, queue_priority
from interviews.db import make_engine, make_sessionmaker
from interviews.facilities import Facility
from web.app import create_app
from web.settings import Settings

NATIONALITIES = ["IN", "NP", "BD", "LK", "AF", "ET", "ER", "SO", "CN", "PK"]
LANGUAGES = ["hin", "pan", "nep", "ben", "sin", "tam", "prs", "amh", "tir", "som", "urd"]
STATUSES = [s.value for s in CaseStatus]


def _case_rows(count: int, facilities: list[int], rng: random.Random) -> list[dict[str, Any]]:
    today = date.today()
    now = datetime.now(UTC)
    rows = []
    for i in range(1, count + 1):
        alone = rng.random() < 0.03
        minor = alone or rng.random() < 0.08
        detained = today - timedelta(days=rng.randint(0, 90))
        rows.append(
            {
                "id": i,
                "reference": f"BEN-2026-{i:05d}",
                "facility_id": facilities[0] if rng.random() < 0.8 else facilities[1],
                "given_names": f"Nombre {i}",
                "family_name": f"Apellido {i % 997}",
                "aliases": "",
                "sex": rng.choice(["male", "female", "unknown"]),
                "date_of_birth": None,
                "estimated_age": rng.randint(12, 60),
                "claimed_nationality": rng.choice(NATIONALITIES),
                "other_nationalities": [],
                "photo_document_id": None,
                "detention_date": detained,
                "deadline": detained + timedelta(days=60),
                "minor": minor,
                "unaccompanied_minor": alone,
                "asylum_claim": rng.random() < 0.1,
                "trafficking_victim": False,
                "medical_needs": False,
                # Most cases are still being worked on; a fifth are closed.
                "status": rng.choice(STATUSES[:8] * 4 + STATUSES[8:]),
                "queue_priority": queue_priority(minor=minor, unaccompanied_minor=alone),
                "version": 1,
                "created_by": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def seed(settings: Settings, count: int) -> str:
    """Create facilities, a staff member with a token, and `count` cases; returns the token."""
    rng = random.Random(7)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        facilities = [
            Facility(name="Bench A", country="MX", city="Benito", time_zone="America/Mexico_City"),
            Facility(name="Bench B", country="PA", city="Darién", time_zone="America/Panama"),
        ]
        session.add_all(facilities)
        await session.flush()
        user = await accounts.create_user(
            session,
            email="bench@example.org",
            name="Bench Staff",
            role=Role.STAFF,
            password="correct horse battery",
            facility_id=facilities[0].id,
        )
        token = await accounts.issue_api_token(session, user, "bench")
        rows = _case_rows(count, [f.id for f in facilities], rng)
        for start in range(0, count, 2000):
            await session.execute(insert(Case), rows[start : start + 2000])
        languages = [
            {"case_id": row["id"], "language": language, "note": "", "position": position}
            for row in rows
            for position, language in enumerate(rng.sample(LANGUAGES, rng.randint(1, 2)))
        ]
        for start in range(0, len(languages), 4000):
            await session.execute(insert(CaseLanguage), languages[start : start + 4000])
        staff = Actor.of(user)
    if engine.dialect.name == "sqlite":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        async with sessions() as session:
            query = (
                select(Case.id)
                .where(visible_cases(staff), Case.status.in_(STATUSES[:8]))
                .order_by(Case.queue_priority, Case.deadline, Case.id)
                .limit(51)
            )
            compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            plan = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            print("query plan (first page):")
            for row in plan:
                print("   ", row[-1])
    await engine.dispose()
    return token


def _figures(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(
        f"{label:<34} n={len(samples):4d}  p50={statistics.median(ordered):6.2f} ms  "
        f"p95={p95:6.2f} ms  max={ordered[-1]:6.2f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    """Seed, serve, measure, print."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=args.database_url,
            secret_key="bench-secret",
            port=0,
        )
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()  # migrates the database
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started = time.perf_counter()
        token = await seed(settings, args.cases)
        print(f"seeded {args.cases:,} cases in {time.perf_counter() - started:.1f} s")
        load = os.getloadavg()
        print(
            f"load average {load[0]:.1f} on {os.cpu_count()} CPUs (others' work inflates wall time)"
        )
        base = f"http://127.0.0.1:{port}/api/cases"
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as http:

            async def timed(url: str) -> tuple[float, dict[str, Any]]:
                begin = time.perf_counter()
                async with http.get(url) as response:
                    body = await response.json()
                    assert response.status == 200, body
                return (time.perf_counter() - begin) * 1000, body

            for _ in range(10):  # warm up
                await timed(base)
            scenarios = {
                "first page (50)": base,
                "nationality=NP": base + "?nationality=NP",
                "language=tam": base + "?language=tam",
                "status=interview_requested": base + "?status=interview_requested",
            }
            for label, url in scenarios.items():
                cpu = time.process_time()
                _figures(label, [(await timed(url))[0] for _ in range(args.requests)])
                # Client and server share this process: CPU per request is an upper bound
                # of the server's cost that other load on the machine does not inflate.
                per = (time.process_time() - cpu) * 1000 / args.requests
                print(f"{'':<34} CPU of client+server per request: {per:.2f} ms")
            deep: list[float] = []
            cursor: str | None = None
            pages = 0
            for _ in range(args.requests):
                elapsed, body = await timed(base + (f"?after={cursor}" if cursor else ""))
                deep.append(elapsed)
                pages += 1
                cursor = body["next_cursor"]
                if cursor is None:
                    cursor = None  # wrapped around: start again from the top
            _figures(f"walking pages by cursor ({pages})", deep)

            async def client_loop() -> list[float]:
                return [(await timed(base))[0] for _ in range(args.requests // 4)]

            results = await asyncio.gather(*(client_loop() for _ in range(4)))
            _figures("first page, 4 concurrent clients", [x for r in results for x in r])
        await runner.cleanup()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
