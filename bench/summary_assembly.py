"""Summary assembly for a long interview: how long building and storing a version takes.

Seeds a temporary SQLite file (or --database-url) with one 60-minute, three-party
interview as a real session leaves it: joins, two reconnects, a quality report per pair
every 10 s (what the call page sends: 2,160 rows), 100 chat messages, 600 transcript
lines each with a Spanish translation, six recorded tracks and an outcome. Then times,
over --runs runs:

- `build_summary` (read everything, build the document),
- `assemble_summary` when nothing changed (build + compare: what a repeated job costs),
- `assemble_summary` storing a new version (build + canonical JSON + SHA-256 + insert),

and prints the document's size. Then the issue's figure, summary + PDF (goal ≤ 2 s), end
to end over --pdf-runs runs: assemble a new version from those rows and export it as a
sealed PDF the way the export API does (labels from the catalogs, fonts found, the seal
hashing the six tracks: small files here, as the 1 GiB case is bench/summary_export.py's),
timed together (wall and CPU); then the same work once more under tracemalloc for its
peak Python memory (tracemalloc slows fpdf2 several times, so never both), and the
process's peak RSS.

    .venv/bin/python bench/summary_assembly.py
    .venv/bin/python bench/summary_assembly.py --runs 50 --pdf-runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's code, not an installed copy

from interviews.accounts import Role, create_user  # noqa: E402
from interviews.cases import Case  # noqa: E402
from interviews.consulates import Consulate  # noqa: E402
from interviews.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from interviews.export_files import build_export  # noqa: E402
from interviews.export_labels import label_languages, make_labels  # noqa: E402
from interviews.facilities import Facility  # noqa: E402
from interviews.outcomes import InterviewOutcome  # noqa: E402
from interviews.seal import load_or_create_signing_key  # noqa: E402
from interviews.summaries import canonical_json  # noqa: E402
from interviews.summary_assembly import assemble_summary, build_summary  # noqa: E402
from scheduling.appointments import Interview, Participant  # noqa: E402
from scheduling.resources import VideoRoom  # noqa: E402
from signaling.records import ChatMessage, EventKind, Recording, SessionEvent  # noqa: E402
from signaling.transcripts import TranscriptLine  # noqa: E402
from web.i18n import Catalogs  # noqa: E402

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
MINUTES = 60


async def seed(sessions: async_sessionmaker[AsyncSession]) -> int:
    """One held 60-minute interview with everything a summary reads; its id."""
    async with sessions() as session, session.begin():
        consulate = Consulate(
            name="Embassy of India",
            country="IN",
            kind="embassy",
            city="Washington",
            located_country="US",
            time_zone="America/New_York",
        )
        facility = Facility(
            name="Estación Migratoria", country="MX", city="Tapachula", time_zone="UTC"
        )
        session.add_all([consulate, facility])
        await session.flush()
        users = [
            await create_user(
                session,
                email=f"{role.value}@example.org",
                name=role.value.title(),
                role=role,
                password="bench password 1",
                **org,
            )
            for role, org in (
                (Role.STAFF, {"facility_id": facility.id}),
                (Role.CONSUL, {"consulate_id": consulate.id}),
                (Role.INTERPRETER, {}),
            )
        ]
        case = Case(
            reference="BENCH-1",
            facility_id=facility.id,
            claimed_nationality="IN",
            detention_date=date(2026, 11, 1),
            deadline=date(2026, 12, 30),
            given_names="Test",
            family_name="Person",
        )
        room = VideoRoom(facility_id=facility.id, name="Room 1")
        session.add_all([case, room])
        await session.flush()
        interview = Interview(
            case_id=case.id,
            consulate_id=consulate.id,
            facility_id=facility.id,
            consul_id=users[1].id,
            interpreter_id=users[2].id,
            language="pan",
            room_id=room.id,
            starts_at=START,
            ends_at=START + timedelta(minutes=MINUTES),
            busy_until=START + timedelta(minutes=MINUTES + 15),
            status="confirmed",
        )
        interview.participants = [
            Participant(role=r, user_id=u.id, name=u.name, email=u.email, language="en")
            for r, u in zip(("staff", "consul", "interpreter"), users, strict=True)
        ]
        session.add(interview)
        await session.flush()
        people = interview.participants
        rows: list[object] = []

        def event(at: datetime, kind: EventKind, who: Participant, **details: object) -> None:
            rows.append(
                SessionEvent(
                    interview_id=interview.id,
                    at=at,
                    kind=kind.value,
                    participant_id=who.id,
                    user_id=who.user_id,
                    peer_id=f"p{who.id}",
                    name=who.name,
                    details=json.dumps(details),
                )
            )

        for person in people:
            event(START, EventKind.JOIN, person, role=person.role)
        event(START, EventKind.OPEN, people[0])
        for second in range(10, MINUTES * 60, 10):
            at = START + timedelta(seconds=second)
            for person in people:
                for other in people:
                    if other is not person:
                        level = "poor" if 1200 <= second < 1260 else "good"
                        event(at, EventKind.QUALITY, person, peer=f"p{other.id}", level=level)
        for minute in (20, 40):
            at = START + timedelta(minutes=minute)
            event(at, EventKind.LEAVE, people[1])
            event(at + timedelta(seconds=8), EventKind.RECONNECT, people[1])
        event(START + timedelta(minutes=MINUTES), EventKind.END, people[0])
        for n in range(100):
            rows.append(
                ChatMessage(
                    interview_id=interview.id,
                    at=START + timedelta(seconds=30 * n),
                    participant_id=people[n % 3].id,
                    user_id=people[n % 3].user_id,
                    name=people[n % 3].name,
                    text=f"Message number {n} about the documents.",
                )
            )
        for n in range(600):
            speaker = people[n % 3]
            rows.append(
                TranscriptLine(
                    interview_id=interview.id,
                    at=START + timedelta(seconds=6 * n + 2),
                    offset_ms=6000 * n,
                    duration_ms=2300,
                    participant_id=speaker.id,
                    user_id=speaker.user_id,
                    peer_id=f"p{speaker.id}",
                    name=speaker.name,
                    language="eng",
                    text=f"This is sentence {n} of the interview, about the village and family.",
                    translations=json.dumps(
                        {
                            "spa": {
                                "text": f"Esta es la frase {n} de la entrevista.",
                                "status": "translated",
                                "engine": "apertium",
                            }
                        }
                    ),
                    confidence=0.9,
                    delayed=False,
                )
            )
        for n, person in enumerate(people):
            for kind in ("audio", "video"):
                rows.append(
                    Recording(
                        interview_id=interview.id,
                        participant_id=person.id,
                        user_id=person.user_id,
                        peer_id=f"p{person.id}",
                        kind=kind,
                        path=f"{interview.id}/{n}-{kind}.webm",
                        content_type=f"{kind}/webm",
                        started_at=START,
                        offset_ms=0,
                        ended_at=START + timedelta(minutes=MINUTES),
                    )
                )
        rows.append(
            InterviewOutcome(
                interview_id=interview.id,
                identity="confirmed",
                nationality="confirmed",
                nationality_country="IN",
                travel_document="issue",
                next_steps="Emergency certificate.",
                notes="",
                recorded_by=users[1].id,
                recorded_by_name=users[1].name,
                recorded_at=START + timedelta(minutes=55),
            )
        )
        session.add_all(rows)
        return interview.id


def report(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{label:<44} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})")


@dataclass(frozen=True)
class Exporter:
    """What the server holds from its start: the catalogs and the signing key."""

    catalogs: Catalogs
    key: Ed25519PrivateKey
    data_dir: Path


async def summary_and_pdf(
    sessions: async_sessionmaker[AsyncSession], interview_id: int, exporter: Exporter, edit: str
) -> int:
    """What ending a session and then exporting its PDF cost: a new version (the notes
    change) assembled from the rows, sealed and rendered as the export API does. PDF size."""
    now = START + timedelta(minutes=MINUTES + 1)
    async with sessions() as session, session.begin():
        outcome = await session.get(InterviewOutcome, 1)
        assert outcome is not None
        outcome.notes = edit
        await session.flush()
        version = await assemble_summary(session, interview_id, reason="outcome", now=now)
        assert version is not None
        document = version.document
    catalogs = exporter.catalogs
    labels = make_labels(label_languages(document), lambda ui: catalogs.get(ui).gettext)
    export = build_export(
        document, "pdf", data_dir=exporter.data_dir, key=exporter.key, labels=labels, now=now
    )
    return len(export.data)


async def end_to_end(
    sessions: async_sessionmaker[AsyncSession], interview_id: int, data_dir: Path, runs: int
) -> None:
    """Print summary + PDF: wall and CPU per run, then peak Python memory in its own run."""
    async with sessions() as session:
        for rec in (await build_summary(session, interview_id, START))["recordings"]:
            path = data_dir / "recordings" / rec["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(64 * 1024))
    exporter = Exporter(
        Catalogs.load(), load_or_create_signing_key(data_dir / "signing.key"), data_dir
    )
    print(f"summary + PDF, end to end (load average {os.getloadavg()}):")
    for run in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        size = await summary_and_pdf(sessions, interview_id, exporter, f"pdf run {run}")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  run {run + 1}: wall {wall:5.2f} s  cpu {cpu:5.2f} s  PDF {size / 1024:.0f} KiB")
    tracemalloc.start()
    await summary_and_pdf(sessions, interview_id, exporter, "memory run")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak Python memory (tracemalloc run) {peak / 2**20:.1f} MiB; peak RSS {rss:.0f} MiB")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pdf-runs", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        interview_id = await seed(sessions)
        now = START + timedelta(minutes=MINUTES + 1)
        built, same, stored = [], [], []
        size = 0
        for run in range(args.runs):
            async with sessions() as session:
                began = time.perf_counter()
                document = await build_summary(session, interview_id, now)
                built.append(time.perf_counter() - began)
                size = len(canonical_json(document))
            async with sessions() as session, session.begin():
                began = time.perf_counter()
                await assemble_summary(
                    session, interview_id, reason="refresh", now=now + timedelta(seconds=run)
                )
                (stored if run == 0 else same).append(time.perf_counter() - began)
        # A new version each time: the notes change, so the content differs.
        for run in range(args.runs):
            async with sessions() as session, session.begin():
                outcome = await session.get(InterviewOutcome, 1)
                assert outcome is not None
                outcome.notes = f"edit {run}"
                await session.flush()
                began = time.perf_counter()
                await assemble_summary(session, interview_id, reason="outcome", now=now)
                stored.append(time.perf_counter() - began)
        print(f"document: {size / 1024:.0f} KiB canonical JSON, 600 transcript lines, 100 chat")
        report("build_summary", built)
        report("assemble_summary, nothing changed", same)
        report("assemble_summary, new version stored", stored)
        await end_to_end(sessions, interview_id, Path(folder), args.pdf_runs)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
