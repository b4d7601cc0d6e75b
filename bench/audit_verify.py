"""How long `consulink audit verify` takes on a large audit log (goal: 1,000,000 rows ≤ 10 s).

Builds a log of realistic rows with a correct hash chain in a temporary SQLite file (or
the PostgreSQL database given with --database-url, which must be empty), then times
`verify_chain` the way the CLI runs it, and the append rate of `record` for comparison.
Prints wall and CPU time (the CPU figure is what a busy shared machine distorts least)
and the load average; asserts nothing about time.

    .venv/bin/python bench/audit_verify.py                 # 1,000,000 rows on SQLite
    .venv/bin/python bench/audit_verify.py --rows 200000 --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from interviews.access import Actor
from interviews.accounts import Role
from interviews.audit import (
    GENESIS,
    HASHED_COLUMNS,
    HEAD_ROW,
    AuditEvent,
    AuditHead,
    canonical_json,
    digest,
    record,
    stamp,
    verify_chain,
)
from interviews.db import make_engine, make_sessionmaker, upgrade

ACTIONS = ("case.view", "document.download", "case.share", "auth.login", "questionnaire.answer")
BATCH = 20_000


def _rows(count: int) -> Any:
    """Realistic rows with a correct chain, in batches of dicts for a bulk insert."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS
    batch: list[dict[str, Any]] = []
    for i in range(1, count + 1):
        action = ACTIONS[i % len(ACTIONS)]
        values: dict[str, Any] = {
            "id": i,
            "at": start + timedelta(seconds=i, microseconds=i % 1000),
            "user_id": 1 + i % 50,
            "user_name": f"Usuario Número {i % 50}",
            "role": "staff" if i % 3 else "consul",
            "organisation": f"facility:{1 + i % 4}",
            "action": action,
            "target_type": "case",
            "target_id": str(1 + i % 10_000),
            "remote": f"10.0.{i % 256}.{(i // 256) % 256}",
            "details": {"method": "GET", "case_id": 1 + i % 10_000, "bytes": i % 5_000_000},
            "note": "" if i % 7 else "viewed from the interview room",
            "prev_hash": prev,
        }
        encoded = {
            **values,
            "at": stamp(values["at"]),
            "details": canonical_json(values["details"]),
        }
        values["hash"] = digest(*(encoded[name] for name in HASHED_COLUMNS))
        prev = values["hash"]
        batch.append(values)
        if len(batch) == BATCH:
            yield batch, prev
            batch = []
    if batch:
        yield batch, prev


async def _build(engine: AsyncEngine, rows: int) -> None:
    started = time.perf_counter()
    last_hash = GENESIS
    async with engine.begin() as conn:
        for batch, chain_end in _rows(rows):
            await conn.execute(insert(AuditEvent), batch)
            last_hash = chain_end
        await conn.execute(
            update(AuditHead)
            .where(AuditHead.id == HEAD_ROW)
            .values(last_id=rows, last_hash=last_hash)
        )
    built = time.perf_counter() - started
    print(f"built {rows:,} chained rows in {built:.1f} s ({engine.dialect.name})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--appends", type=int, default=2000, help="record() calls to time")
    parser.add_argument(
        "--keep",
        type=Path,
        help="SQLite file to build once and reuse on later runs (appends are then skipped)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="consulink-bench-") as folder:
        path = args.keep or Path(folder) / "audit.db"
        reuse = args.keep is not None and args.keep.exists()
        engine = make_engine(args.database_url or f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        if reuse:
            async with sessions() as session:
                head = await session.get(AuditHead, HEAD_ROW)
            args.rows = head.last_id if head else 0
            print(f"reusing {path} ({args.rows:,} rows)")
        else:
            await _build(engine, args.rows)
        if not args.database_url:
            print(f"database file: {path.stat().st_size / 1e6:.0f} MB")

        for attempt in (1, 2, 3):
            started, cpu = time.perf_counter(), time.process_time()
            async with sessions() as session:
                report = await verify_chain(session)
            took, cpu_took = time.perf_counter() - started, time.process_time() - cpu
            assert report.ok and report.rows == args.rows, report
            print(
                f"verify run {attempt}: {report.rows:,} rows in {took:.2f} s wall, "
                f"{cpu_took:.2f} s CPU = {report.rows / took:,.0f} rows/s "
                f"(goal for 1,000,000: ≤ 10 s; load average {os.getloadavg()[0]:.1f})"
            )

        if not args.keep:
            actor = Actor(user_id=1, name="Bench", role=Role.STAFF, facility_id=1)
            started = time.perf_counter()
            for i in range(args.appends):
                async with sessions() as session, session.begin():
                    await record(session, "case.view", actor=actor, target_type="case", target_id=i)
            took = time.perf_counter() - started
            print(
                f"record: {args.appends:,} appends, one transaction each, in {took:.2f} s "
                f"= {args.appends / took:,.0f} appends/s"
            )
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
