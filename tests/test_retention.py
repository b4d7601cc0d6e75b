"""Retention stories on a controllable clock: the daily job deletes what expired, files and
rows, with one audit row per deletion; a case on legal hold and what has not yet expired
are kept; a run cut off by a crash is finished after a restart; the CLI reports (or only
lists) what it deletes; a bad retention setting stops the start with a clear message.

Recorded tracks here are small files written by the test with rows like the server's
(the recording itself is covered by test_recording.py; retention only deletes files).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import User
from interviews.audit import AuditEvent
from interviews.case_status import change_status
from interviews.cases import Case, CaseStatus
from interviews.document_store import DocumentStore, load_or_create_key
from interviews.documents import Document
from interviews.legal_holds import set_hold
from interviews.retention import AUDIT_ACTION, Storage, run_retention
from interviews.retention_policy import RetainedKind, RetentionPolicy
from interviews.summaries import summarised_interviews
from interviews.summary_assembly import assemble_summary
from scheduling.jobs import JobRunner, JobStatus, ScheduledJob, enqueue
from scheduling.retention_job import RETENTION, RetentionTask
from scheduling.writes import WriteGate
from signaling.records import Recording
from signaling.transcripts import TranscriptLine
from tests.conftest import Clock, World, sign_in
from tests.test_jobs import start_app, stopper
from tests.test_session_support import Booked, book
from web import cli
from web.keys import JOB_RUNNER, JOB_SCHEDULER
from web.settings import Settings

__all__ = ["start_app", "stopper"]  # fixtures


@dataclass
class Stored:
    """One case with an interview, its recorded tracks, transcript lines and documents."""

    case_id: int
    interview_id: int
    tracks: list[Path]
    documents: list[Path]


def recordings_dir(settings: Settings) -> Path:
    return settings.data_dir / "recordings"


async def store_case(
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
    reference: str,
    *,
    slot: int,
    minor: bool = False,
    unaccompanied: bool = False,
) -> Stored:
    """A case with a booked interview, two recorded tracks, two transcript lines, a document.

    Each `slot` is a different past hour pair: the same consul is never booked twice at once
    (PostgreSQL's exclusion constraints refuse that).
    """
    store = DocumentStore(
        settings.data_dir / "documents", load_or_create_key(None, settings.data_dir)
    )
    async with db() as session, session.begin():
        booked: Booked = await book(
            session, world, clock, reference, minutes_from_now=-70 - 150 * slot
        )
        interview_id = booked.interview_id
        case = await session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        case.minor, case.unaccompanied_minor = minor, unaccompanied
        tracks = []
        for role, participant_id in list(booked.participants.items())[:2]:
            relative = f"{interview_id}/{role}-1-audio.ogg"
            path = recordings_dir(settings) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"OggS" + bytes(200))
            tracks.append(path)
            session.add(
                Recording(
                    interview_id=interview_id,
                    participant_id=participant_id,
                    peer_id=role,
                    kind="audio",
                    path=relative,
                    content_type="audio/ogg; codecs=opus",
                    started_at=clock.now - timedelta(minutes=65 + 150 * slot),
                    offset_ms=0,
                    ended_at=clock.now - timedelta(minutes=40 + 150 * slot),
                )
            )
            session.add(
                TranscriptLine(
                    interview_id=interview_id,
                    at=clock.now - timedelta(minutes=60 + 150 * slot),
                    offset_ms=1000,
                    duration_ms=2000,
                    participant_id=participant_id,
                    peer_id=role,
                    name=role,
                    language="eng",
                    text=f"Hello from {role}",
                    translations="{}",
                    confidence=0.9,
                )
            )
        content = f"passport of {reference}".encode()
        digest = store.put(content)
        session.add(
            Document(
                case_id=case.id,
                kind="passport_copy",
                content_type="application/pdf",
                sha256=digest,
                size=len(content),
                filename="passport.pdf",
            )
        )
        return Stored(case.id, interview_id, tracks, [store.path_for(digest)])


async def close_case(db: async_sessionmaker[AsyncSession], case_id: int, when: datetime) -> None:
    async with db() as session, session.begin():
        case = await session.get(Case, case_id)
        assert case is not None
        await change_status(
            session, case, CaseStatus.CLOSED_RELEASED, actor=None, reason="released", now=when
        )


async def counts(db: async_sessionmaker[AsyncSession], interview_id: int) -> tuple[int, int]:
    async with db() as session:
        tracks = await session.scalar(
            select(func.count()).where(Recording.interview_id == interview_id)
        )
        lines = await session.scalar(
            select(func.count()).where(TranscriptLine.interview_id == interview_id)
        )
    return int(tracks or 0), int(lines or 0)


async def deletions(db: async_sessionmaker[AsyncSession]) -> list[AuditEvent]:
    async with db() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION).order_by(AuditEvent.id)
        )
        return list(rows)


async def test_the_daily_job_deletes_expired_recordings_and_keeps_the_rest(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    adult = await store_case(db, settings, world, clock, "ADULT-1", slot=0)
    child = await store_case(db, settings, world, clock, "MINOR-1", slot=1, minor=True)
    held = await store_case(db, settings, world, clock, "HELD-1", slot=2)
    csrf = await sign_in(client, "staff@example.org")
    hold = await client.post(
        f"/api/cases/{held.case_id}/legal-hold",
        json={"reason": "appeal pending before the court"},
        headers={"X-CSRF-Token": csrf},
    )
    assert hold.status == 201, await hold.text()
    runner = client.app[JOB_RUNNER]

    clock.advance(days=89)
    await runner.run_due()
    assert await counts(db, adult.interview_id) == (2, 2)  # not yet expired
    assert all(path.exists() for path in adult.tracks)

    clock.advance(days=2)  # 91 days after the interview ended: adults' recordings expired
    await runner.run_due()
    assert await counts(db, adult.interview_id) == (0, 2)  # transcripts last a year
    assert not any(path.exists() for path in adult.tracks)
    assert not (recordings_dir(settings) / str(adult.interview_id)).exists()
    assert await counts(db, child.interview_id) == (2, 2)  # minors: a year
    assert all(path.exists() for path in child.tracks)
    assert await counts(db, held.interview_id) == (2, 2)  # on legal hold
    assert all(path.exists() for path in held.tracks)
    audit = await deletions(db)
    assert [(row.target_type, row.details["case_reference"]) for row in audit] == [
        ("recording", "ADULT-1"),
        ("recording", "ADULT-1"),
    ]
    assert audit[0].details["category"] == "adult" and audit[0].user_id is None
    # Each run scheduled the next day's: one pending, after now; none failed.
    async with db() as session:
        jobs = (
            await session.scalars(select(ScheduledJob).where(ScheduledJob.kind == RETENTION))
        ).all()
    assert sorted(job.status for job in jobs) == ["done", "done", "pending"]
    assert all(job.due_at > clock.now for job in jobs if job.status == "pending")

    clock.advance(days=280)  # past a year: adult transcripts and the minor's recordings go
    await runner.run_due()
    assert await counts(db, adult.interview_id) == (0, 0)
    assert await counts(db, child.interview_id) == (0, 2)
    assert await counts(db, held.interview_id) == (2, 2)
    kinds = [(row.target_type, row.details["case_reference"]) for row in await deletions(db)]
    assert kinds[2:] == [
        ("transcript", "ADULT-1"),
        ("recording", "MINOR-1"),
        ("recording", "MINOR-1"),
    ]

    # Cleared, the hold no longer protects: the next run deletes what expired meanwhile.
    csrf = await sign_in(client, "staff@example.org")  # a year on: a new sign-in
    released = await client.post(
        f"/api/cases/{held.case_id}/legal-hold/release",
        json={"reason": "appeal decided"},
        headers={"X-CSRF-Token": csrf},
    )
    assert released.status == 200
    clock.advance(days=1)
    await runner.run_due()
    assert await counts(db, held.interview_id) == (0, 0)
    assert not any(path.exists() for path in held.tracks)


async def test_documents_and_summaries_go_a_period_after_the_case_closed_never_while_open(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    closed = await store_case(db, settings, world, clock, "CLOSED-1", slot=0)
    still_open = await store_case(db, settings, world, clock, "OPEN-1", slot=1)
    async with db() as session, session.begin():  # what the end-of-session job stores
        for stored in (closed, still_open):
            assert await assemble_summary(
                session, stored.interview_id, reason="ended", now=clock.now
            )
    await close_case(db, closed.case_id, clock.now)
    runner = client.app[JOB_RUNNER]
    clock.advance(days=364)
    await runner.run_due()
    assert all(path.exists() for path in closed.documents)
    clock.advance(days=2)
    await runner.run_due()
    assert not any(path.exists() for path in closed.documents)
    assert all(path.exists() for path in still_open.documents)  # open: never
    async with db() as session:
        left = (await session.scalars(select(Document.case_id))).all()
        assert await summarised_interviews(session, closed.case_id) == [(closed.interview_id, 1)]
    assert left == [still_open.case_id]
    documents = [row for row in await deletions(db) if row.target_type == "document"]
    assert [row.details["case_reference"] for row in documents] == ["CLOSED-1"]

    clock.advance(days=5 * 365 - 366 + 1)  # adults' summaries: five years after closing
    await runner.run_due()
    async with db() as session:
        assert await summarised_interviews(session, closed.case_id) == []
        assert await summarised_interviews(session, still_open.case_id) != []
    summaries = [row for row in await deletions(db) if row.target_type == "summary"]
    assert [(row.target_id, row.details["rows"]) for row in summaries] == [
        (str(closed.interview_id), 1)
    ]


async def test_a_cli_dry_run_lists_and_deletes_nothing_then_a_run_deletes(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI runs at the real time: here the adult period is one day and the data is old."""
    clock.advance(days=-3)
    adult = await store_case(db, settings, world, clock, "OLD-1", slot=0)
    monkeypatch.setenv("CONSULINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CONSULINK_RETENTION_RECORDINGS_DAYS", json.dumps({"adult": 1}))
    arguments = ["retention", "run", "--data-dir", str(settings.data_dir)]
    # Each command runs its own event loop: in a worker thread, as tests/test_cli.py does.
    assert await asyncio.to_thread(cli.main, [*arguments, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would delete: recordings") == 2 and "OLD-1" in out
    assert await counts(db, adult.interview_id) == (2, 2)
    assert await deletions(db) == []

    assert await asyncio.to_thread(cli.main, arguments) == 0
    out = capsys.readouterr().out
    assert out.count("deleted: recordings") == 2
    assert "2 item(s) deleted" in out
    assert await counts(db, adult.interview_id) == (0, 2)
    assert len(await deletions(db)) == 2


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CONSULINK_RETENTION_RECORDINGS_DAYS", '{"child": 30}', "unknown case category 'child'"),
        ("CONSULINK_RETENTION_DOCUMENTS_DAYS", '{"adult": 0}', "adult: 0 is not a number"),
        ("CONSULINK_RETENTION_TRANSCRIPTS_DAYS", '{"minor": "soon"}', "retention_transcripts"),
        ("CONSULINK_RETENTION_SUMMARIES_DAYS", "[30]", "retention_summaries_days"),
    ],
)
def test_an_invalid_retention_setting_stops_the_start_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv(variable, value)
    data = tmp_path / "data"
    assert cli.main(["serve", "--data-dir", str(data), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert named in error and variable.removeprefix("CONSULINK_").lower() in error
    assert not data.exists()  # nothing started, nothing written


async def test_a_run_cut_off_by_a_crash_is_finished_after_the_restart(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
    start_app: Callable[[], Any],
    stopper: list[TestClient[Any, Any]],
) -> None:
    first = await store_case(db, settings, world, clock, "CRASH-1", slot=0)
    second = await store_case(db, settings, world, clock, "CRASH-2", slot=1)
    await client.app[JOB_RUNNER].run_due()  # today's pass: schedules the retention job
    await client.app[JOB_SCHEDULER].stop()  # from here on, this server only "crashes"
    clock.advance(days=91)
    async with db() as session, session.begin():
        job = await session.scalar(
            select(ScheduledJob).where(
                ScheduledJob.kind == RETENTION, ScheduledJob.status == JobStatus.PENDING.value
            )
        )
        assert job is not None and job.due_at <= clock.now
        # What a server that died mid-run leaves: the job claimed (running, leased) and one
        # track deleted with its audit row, the rest untouched.
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == job.id)
            .values(
                status=JobStatus.RUNNING.value,
                attempts=1,
                lease_until=clock.now + timedelta(minutes=10),
            )
        )
    store = DocumentStore(
        settings.data_dir / "documents", load_or_create_key(None, settings.data_dir)
    )
    gate = WriteGate(db)
    partial = await run_retention(
        gate.transaction,
        settings.retention_policy(),
        Storage(recordings_dir(settings), store),
        clock.now,
        limit=1,
    )
    assert len(partial.deleted) == 1
    await client.close()  # the process is gone

    clock.advance(minutes=11)  # the dead run's lease has ended
    restarted = await start_app()
    stopper.append(restarted)
    await restarted.app[JOB_RUNNER].run_due()
    await restarted.app[JOB_RUNNER].idle()

    assert await counts(db, first.interview_id) == (0, 2)
    assert await counts(db, second.interview_id) == (0, 2)
    assert not any(path.exists() for path in first.tracks + second.tracks)
    audit = await deletions(db)
    assert len(audit) == 4  # each track once: nothing deleted twice, nothing missed
    assert len({row.target_id for row in audit}) == 4
    async with db() as session:
        finished = await session.get(ScheduledJob, job.id)
    assert finished is not None and finished.status == JobStatus.DONE.value
    assert finished.attempts == 2


async def test_a_backlog_is_worked_through_in_batches_of_follow_up_jobs(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    """Batches of one item here (500 in the server): each job hands the rest to the next."""
    stored = [await store_case(db, settings, world, clock, f"BULK-{n}", slot=n) for n in range(2)]
    store = DocumentStore(
        settings.data_dir / "documents", load_or_create_key(None, settings.data_dir)
    )
    task = RetentionTask(
        settings.retention_policy(), Storage(recordings_dir(settings), store), time(2), batch=1
    )
    await client.app[JOB_SCHEDULER].stop()  # only this runner, with its batch of one
    gate = WriteGate(db)
    runner = JobRunner(gate, clock, {RETENTION: task.run})
    clock.advance(days=91)
    async with gate.transaction() as session:
        await enqueue(session, RETENTION, clock.now, key="first-batch")
    # Four tracks, one per job (this runner also meets the app's own due jobs: it has no
    # handler for the deadline alert, and runs the app's daily retention job too).
    assert await runner.run_due() >= 4
    for item in stored:
        assert await counts(db, item.interview_id) == (0, 2)
    audit = await deletions(db)
    assert len(audit) == 4 and len({row.target_id for row in audit}) == 4
    async with db() as session:
        jobs = (
            await session.scalars(select(ScheduledJob).where(ScheduledJob.kind == RETENTION))
        ).all()
    assert [job for job in jobs if job.key and ":more:" in job.key]  # follow-ups ran
    pending = [job for job in jobs if job.status == JobStatus.PENDING.value]
    assert len(pending) == 1  # only tomorrow's run is left
    assert pending[0].due_at > clock.now


async def test_an_unaccompanied_minor_has_a_period_of_its_own(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    """Periods set apart for minors and unaccompanied minors; a case flagged both is the latter."""
    await client.app[JOB_SCHEDULER].stop()  # only the runs below delete
    child = await store_case(db, settings, world, clock, "MINOR-1", slot=0, minor=True)
    alone = await store_case(
        db, settings, world, clock, "ALONE-1", slot=1, minor=True, unaccompanied=True
    )
    policy = RetentionPolicy.from_settings(
        {RetainedKind.RECORDINGS: {"minor": 200, "unaccompanied_minor": 500}}
    )
    store = DocumentStore(
        settings.data_dir / "documents", load_or_create_key(None, settings.data_dir)
    )
    storage = Storage(recordings_dir(settings), store)
    gate = WriteGate(db)

    clock.advance(days=201)
    await run_retention(gate.transaction, policy, storage, clock.now)
    assert await counts(db, child.interview_id) == (0, 2)
    assert await counts(db, alone.interview_id) == (2, 2)  # not the minors' 200 days
    assert all(path.exists() for path in alone.tracks)

    clock.advance(days=298)  # 499 days: still inside its own period
    await run_retention(gate.transaction, policy, storage, clock.now)
    assert await counts(db, alone.interview_id) == (2, 2)
    clock.advance(days=2)
    report = await run_retention(gate.transaction, policy, storage, clock.now)
    assert await counts(db, alone.interview_id) == (0, 2)
    assert not any(path.exists() for path in alone.tracks)
    assert {(item.kind, item.case_reference) for item in report.deleted} == {
        (RetainedKind.RECORDINGS, "ALONE-1")
    }
    audit = [row for row in await deletions(db) if row.details["case_reference"] == "ALONE-1"]
    assert [row.details["category"] for row in audit] == ["unaccompanied_minor"] * 2
    counted_from, expired_at = (
        datetime.fromisoformat(audit[0].details[key]) for key in ("counted_from", "expired_at")
    )
    assert expired_at - counted_from == timedelta(days=500)


async def test_a_legal_hold_keeps_documents_and_summaries_too(
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    clock: Clock,
) -> None:
    held = await store_case(db, settings, world, clock, "HELD-1", slot=0)
    async with db() as session, session.begin():
        assert await assemble_summary(session, held.interview_id, reason="ended", now=clock.now)
    await close_case(db, held.case_id, clock.now)
    csrf = await sign_in(client, "staff@example.org")
    hold = await client.post(
        f"/api/cases/{held.case_id}/legal-hold",
        json={"reason": "complaint before the ombudsman"},
        headers={"X-CSRF-Token": csrf},
    )
    assert hold.status == 201
    runner = client.app[JOB_RUNNER]
    await runner.run_due()  # schedules tomorrow's run

    clock.advance(days=5 * 365 + 2)  # past every adult period: summaries' five years too
    await runner.run_due()
    async with db() as session:
        ran = await session.scalar(
            select(func.count()).where(
                ScheduledJob.kind == RETENTION, ScheduledJob.status == JobStatus.DONE.value
            )
        )
    assert ran  # the run happened, and kept everything
    assert all(path.exists() for path in held.documents + held.tracks)
    async with db() as session:
        assert await session.scalar(select(func.count()).where(Document.case_id == held.case_id))
        assert await summarised_interviews(session, held.case_id) == [(held.interview_id, 1)]
    assert await counts(db, held.interview_id) == (2, 2)
    assert await deletions(db) == []

    csrf = await sign_in(client, "staff@example.org")  # years on: a new sign-in
    released = await client.post(
        f"/api/cases/{held.case_id}/legal-hold/release",
        json={"reason": "complaint closed"},
        headers={"X-CSRF-Token": csrf},
    )
    assert released.status == 200
    clock.advance(days=1)
    await runner.run_due()
    assert not any(path.exists() for path in held.documents + held.tracks)
    async with db() as session:
        assert await summarised_interviews(session, held.case_id) == []
    assert sorted({row.target_type for row in await deletions(db)}) == [
        "document",
        "recording",
        "summary",
        "transcript",
    ]


async def test_a_hold_set_while_retention_runs_is_never_outrun_on_postgresql(
    db: async_sessionmaker[AsyncSession], settings: Settings, world: World, clock: Clock
) -> None:
    """A supervisor sets a hold (outside the write gate) while the daily run is about to
    delete the case's tracks: the run waits for the hold's transaction, then keeps them.
    Without the case row's lock it read the holds before the hold committed and deleted."""
    held = await store_case(db, settings, world, clock, "RACE-1", slot=0)
    async with db() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite's write lock already serialises these (BEGIN IMMEDIATE)")
        staff = await session.scalar(select(User).where(User.email == "staff@example.org"))
        assert staff is not None
    clock.advance(days=91)  # past adults' 90 days for recordings
    store = DocumentStore(
        settings.data_dir / "documents", load_or_create_key(None, settings.data_dir)
    )
    storage = Storage(recordings_dir(settings), store)
    policy = settings.retention_policy()
    due = await run_retention(WriteGate(db).transaction, policy, storage, clock.now, dry_run=True)
    assert len(due.expired) == 2 and not due.held  # the two tracks are due
    async with db() as holding, holding.begin():
        case = await holding.get(Case, held.case_id)
        assert case is not None
        await set_hold(holding, case, "court order", actor=Actor.of(staff), now=clock.now)
        run = asyncio.create_task(
            run_retention(
                WriteGate(db).transaction, settings.retention_policy(), storage, clock.now
            )
        )
        await asyncio.sleep(0.5)
        assert not run.done()  # waiting on the case row
    report = await run
    assert report.deleted == []
    assert all(path.exists() for path in held.tracks)
    assert await counts(db, held.interview_id) == (2, 2)
