"""How long a retention run takes on a backlog (e.g. after shortening a period).

Builds, in a temporary SQLite file (or the empty PostgreSQL database given with
--database-url), N closed interviews with two recorded tracks (small files) and two
transcript lines each, and a document per case, all past their period; then times the
dry run (finding what expired) and the real run (one transaction, one audit row and one
file removal per item). Prints wall and CPU time and items per second; asserts nothing.

    .venv/bin/python bench/retention.py                   # 500 interviews on SQLite
    .venv/bin/python bench/retention.py --interviews 2000 --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from interviews.accounts import Role, create_user
from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.db import make_engine, make_sessionmaker, upgrade
from interviews.document_store import DocumentStore
from interviews.documents import Document
from interviews.facilities import Facility
from interviews.retention import Storage, run_retention
from interviews.retention_policy import RetentionPolicy
from scheduling.appointments import Interview
from scheduling.resources import VideoRoom
from scheduling.writes import WriteGate
from signaling.records import Recording
from signaling.transcripts import TranscriptLine

START = datetime(2025, 1, 1, tzinfo=UTC)


async def seed(url: str, root: Path, count: int, store: DocumentStore) -> None:
    """`count` interviews of as many cases, two hours apart, all ended long ago."""
    engine = make_engine(url)
    await upgrade(engine)
    async with make_sessionmaker(engine)() as session, session.begin():
        facility = Facility(name="F", country="MX", city="Tapachula", time_zone="UTC")
        consulate = Consulate(
            name="C", country="IN", kind="embassy", city="W", located_country="US", time_zone="UTC"
        )
        session.add_all([facility, consulate])
        await session.flush()
        consul = await create_user(
            session,
            email="c@example.org",
            name="C",
            role=Role.CONSUL,
            password="a long enough password",
            consulate_id=consulate.id,
        )
        room = VideoRoom(facility_id=facility.id, name="R")
        session.add(room)
        await session.flush()
        for number in range(count):
            case = Case(
                reference=f"B-{number}",
                facility_id=facility.id,
                claimed_nationality="IN",
                detention_date=date(2025, 1, 1),
                deadline=date(2025, 3, 1),
            )
            session.add(case)
            await session.flush()
            starts = START + timedelta(hours=2 * number)
            interview = Interview(
                case_id=case.id,
                consulate_id=consulate.id,
                facility_id=facility.id,
                consul_id=consul.id,
                room_id=room.id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                busy_until=starts + timedelta(hours=1),
                status="confirmed",
            )
            session.add(interview)
            await session.flush()
            for track in range(2):
                relative = f"{interview.id}/p{track}-1-audio.ogg"
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                (root / relative).write_bytes(b"OggS" + os.urandom(4096))
                session.add(
                    Recording(
                        interview_id=interview.id,
                        peer_id=f"p{track}",
                        kind="audio",
                        path=relative,
                        content_type="audio/ogg; codecs=opus",
                        started_at=starts,
                        offset_ms=0,
                        ended_at=starts + timedelta(minutes=50),
                    )
                )
                session.add(
                    TranscriptLine(
                        interview_id=interview.id,
                        at=starts,
                        offset_ms=1000 * track,
                        duration_ms=900,
                        peer_id=f"p{track}",
                        name="P",
                        language="eng",
                        text="words",
                        translations="{}",
                        confidence=0.9,
                    )
                )
            content = os.urandom(2048)
            session.add(
                Document(
                    case_id=case.id,
                    kind="other",
                    content_type="application/pdf",
                    sha256=store.put(content),
                    size=len(content),
                    filename="x.pdf",
                )
            )
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interviews", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        url = args.database_url or f"sqlite+aiosqlite:///{base / 'bench.db'}"
        storage = Storage(base / "recordings", DocumentStore(base / "documents", os.urandom(32)))
        await seed(url, storage.recordings_dir, args.interviews, storage.documents)
        engine = make_engine(url)
        gate = WriteGate(make_sessionmaker(engine))
        policy = RetentionPolicy.from_settings({})
        now = START + timedelta(days=3 * 365)
        for dry_run in (True, False):
            wall, cpu = time.perf_counter(), time.process_time()
            report = await run_retention(gate.transaction, policy, storage, now, dry_run=dry_run)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            items = len(report.expired) if dry_run else len(report.deleted)
            label = "dry run (find)" if dry_run else "run (delete)"
            print(
                f"{label:15} {items:6d} items  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
                f"{items / wall:8.1f} items/s"
            )
        left = sum(1 for path in storage.recordings_dir.rglob("*") if path.is_file())
        print(f"files left under recordings/: {left}; load average {os.getloadavg()[0]:.1f}")
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
