"""Retention: find what has outlived its period and delete it, files and rows, with an audit row.

When does a period start? Recordings and transcripts: the interview's end, the later of its
booked end and the last thing its live session recorded (a session that ran over counts
from when it really stopped). Documents and summaries: the day the case was closed (the
last move to a closed status); they are never deleted while the case is open.

A case on legal hold (`legal_holds`) keeps everything. Deletion is idempotent and done one
item per transaction: the row goes and its audit row is written in the same transaction,
and the file is removed just before that commits. A crash in between leaves a row whose
file is gone, which the next run deletes (never a file nobody can find).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.audit import record
from interviews.cases import CLOSED_STATUSES, Case, CaseStatusChange
from interviews.document_store import DocumentStore
from interviews.documents import Document
from interviews.legal_holds import LegalHold, lock_case_holds
from interviews.retention_policy import (
    CaseCategory,
    RetainedKind,
    RetentionPolicy,
    case_category,
)
from interviews.summaries import delete_summaries, summarised_interviews
from scheduling.appointments import Interview
from signaling.records import Recording, SessionEvent
from signaling.transcripts import TranscriptLine

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]
AUDIT_ACTION = "retention.delete"
# The audit row's target: what `target_id` names (for transcripts and summaries, the interview).
TARGET_TYPES = {
    RetainedKind.RECORDINGS: "recording",
    RetainedKind.TRANSCRIPTS: "transcript",
    RetainedKind.DOCUMENTS: "document",
    RetainedKind.SUMMARIES: "summary",
}


@dataclass(frozen=True)
class Expired:
    """One thing whose period has ended: what, whose, counted from when, and its files."""

    kind: RetainedKind
    target_id: int  # the row (recording, document) or, for a transcript or summary, the interview
    case_id: int
    case_reference: str
    category: CaseCategory
    counted_from: datetime
    expired_at: datetime
    interview_id: int | None = None
    files: tuple[Path, ...] = ()
    rows: int = 1

    def describe(self) -> str:
        """One line for the CLI and the logs."""
        where = f" interview {self.interview_id}" if self.interview_id is not None else ""
        return (
            f"{self.kind.value} #{self.target_id} ({self.rows} row(s), {len(self.files)} "
            f"file(s)) case {self.case_reference} [{self.category.value}]{where}, "
            f"expired {self.expired_at.date().isoformat()}"
        )


@dataclass
class RetentionReport:
    """What a run found: deleted (or, in a dry run, would delete), and kept by a legal hold."""

    dry_run: bool
    expired: list[Expired] = field(default_factory=list)
    held: list[Expired] = field(default_factory=list)
    deleted: list[Expired] = field(default_factory=list)


@dataclass(frozen=True)
class Storage:
    """Where the files retention deletes live."""

    recordings_dir: Path
    documents: DocumentStore


async def _held_cases(session: AsyncSession) -> set[int]:
    rows = await session.scalars(select(LegalHold.case_id).where(LegalHold.cleared_at.is_(None)))
    return set(rows)


async def _interview_ends(session: AsyncSession, ids: Sequence[int]) -> dict[int, datetime]:
    """Each interview's end: its booked end or its session's last event, whichever is later."""
    ends: dict[int, datetime] = {}
    booked = await session.execute(
        select(Interview.id, Interview.ends_at).where(Interview.id.in_(ids))
    )
    for interview_id, ends_at in booked.all():
        ends[interview_id] = ends_at
    last_event = (
        select(SessionEvent.interview_id, func.max(SessionEvent.at))
        .where(SessionEvent.interview_id.in_(ids))
        .group_by(SessionEvent.interview_id)
    )
    last_track = (
        select(Recording.interview_id, func.max(Recording.ended_at))
        .where(Recording.interview_id.in_(ids))
        .group_by(Recording.interview_id)
    )
    for query in (last_event, last_track):
        for interview_id, at in (await session.execute(query)).all():
            if at is not None and at > ends[interview_id]:
                ends[interview_id] = at
    return ends


async def _expired_session_media(
    session: AsyncSession, policy: RetentionPolicy, storage: Storage, now: datetime
) -> list[Expired]:
    """Recordings (one item per track) and transcripts (one item per interview)."""
    with_media = select(Recording.interview_id).union(select(TranscriptLine.interview_id))
    pairs = (
        await session.execute(
            select(Interview.id, Case)
            .join(Case, Case.id == Interview.case_id)
            .where(Interview.id.in_(with_media))
            .order_by(Interview.id)
        )
    ).all()
    if not pairs:
        return []
    ends = await _interview_ends(session, [interview_id for interview_id, _ in pairs])
    found: list[Expired] = []
    for interview_id, case in pairs:
        category = case_category(case)
        end = ends[interview_id]
        for kind in (RetainedKind.RECORDINGS, RetainedKind.TRANSCRIPTS):
            period = policy.period(kind, category)
            if period is None or now < end + period:
                continue
            common: dict[str, Any] = {
                "case_id": case.id,
                "case_reference": case.reference,
                "category": category,
                "counted_from": end,
                "expired_at": end + period,
                "interview_id": interview_id,
            }
            if kind is RetainedKind.RECORDINGS:
                tracks = await session.scalars(
                    select(Recording)
                    .where(Recording.interview_id == interview_id)
                    .order_by(Recording.id)
                )
                found += [
                    Expired(kind, row.id, files=(storage.recordings_dir / row.path,), **common)
                    for row in tracks
                ]
            else:
                lines = await session.scalar(
                    select(func.count()).where(TranscriptLine.interview_id == interview_id)
                )
                if lines:
                    found.append(Expired(kind, interview_id, rows=int(lines), **common))
    return found


async def _closed_cases(session: AsyncSession) -> list[tuple[Case, datetime]]:
    """Closed cases with the moment each was closed."""
    closed = [status.value for status in CLOSED_STATUSES]
    rows = await session.execute(
        select(Case, func.max(CaseStatusChange.at))
        .join(CaseStatusChange, CaseStatusChange.case_id == Case.id)
        .where(Case.status.in_(closed), CaseStatusChange.to_status.in_(closed))
        .group_by(Case.id)
        .order_by(Case.id)
    )
    return [(case, at) for case, at in rows.all()]


async def _expired_after_closing(
    session: AsyncSession, policy: RetentionPolicy, storage: Storage, now: datetime
) -> list[Expired]:
    """Documents (one item each) and summaries (one item per interview, all its versions)
    of cases closed longer ago than their category's period."""
    found: list[Expired] = []
    for case, closed_at in await _closed_cases(session):
        category = case_category(case)
        common: dict[str, Any] = {
            "case_id": case.id,
            "case_reference": case.reference,
            "category": category,
            "counted_from": closed_at,
        }
        period = policy.period(RetainedKind.DOCUMENTS, category)
        if period is not None and now >= closed_at + period:
            documents = await session.scalars(
                select(Document.id).where(Document.case_id == case.id).order_by(Document.id)
            )
            found += [
                Expired(
                    RetainedKind.DOCUMENTS, document_id, expired_at=closed_at + period, **common
                )
                for document_id in documents
            ]
        period = policy.period(RetainedKind.SUMMARIES, category)
        if period is not None and now >= closed_at + period:
            found += [
                Expired(
                    RetainedKind.SUMMARIES,
                    interview_id,
                    interview_id=interview_id,
                    rows=versions,
                    expired_at=closed_at + period,
                    **common,
                )
                for interview_id, versions in await summarised_interviews(session, case.id)
            ]
    return found


FINDERS = (_expired_session_media, _expired_after_closing)


async def find_expired(
    session: AsyncSession, policy: RetentionPolicy, storage: Storage, now: datetime
) -> list[Expired]:
    """Everything past its period at `now`, held cases included (the caller splits them)."""
    found: list[Expired] = []
    for finder in FINDERS:
        found += await finder(session, policy, storage, now)
    return found


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the interview's folder, once its last track is gone
        path.parent.rmdir()


async def _delete_recording(session: AsyncSession, item: Expired, storage: Storage) -> bool:
    result = await session.execute(delete(Recording).where(Recording.id == item.target_id))
    return bool(getattr(result, "rowcount", 0))


async def _delete_transcript(session: AsyncSession, item: Expired, storage: Storage) -> bool:
    result = await session.execute(
        delete(TranscriptLine).where(TranscriptLine.interview_id == item.interview_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def _document_files(
    session: AsyncSession, document: Document, storage: Storage
) -> list[Path]:
    """The document's stored files that no other document shares (storage is by content)."""
    files = []
    for digest in (document.sha256, document.thumbnail_sha256):
        if digest is None:
            continue
        shared = await session.scalar(
            select(Document.id)
            .where(
                Document.id != document.id,
                or_(Document.sha256 == digest, Document.thumbnail_sha256 == digest),
            )
            .limit(1)
        )
        if shared is None:
            files.append(storage.documents.path_for(digest))
    return files


async def _delete_document(session: AsyncSession, item: Expired, storage: Storage) -> bool:
    document = await session.get(Document, item.target_id)
    if document is None:
        return False
    for path in await _document_files(session, document, storage):
        path.unlink(missing_ok=True)
    await session.execute(
        update(Case)
        .where(Case.id == item.case_id, Case.photo_document_id == document.id)
        .values(photo_document_id=None)
    )
    await session.delete(document)
    return True


async def _delete_summary(session: AsyncSession, item: Expired, storage: Storage) -> bool:
    assert item.interview_id is not None
    return await delete_summaries(session, item.interview_id) > 0


DELETERS = {
    RetainedKind.RECORDINGS: _delete_recording,
    RetainedKind.TRANSCRIPTS: _delete_transcript,
    RetainedKind.DOCUMENTS: _delete_document,
    RetainedKind.SUMMARIES: _delete_summary,
}


async def _delete_one(
    transaction: Transaction, item: Expired, storage: Storage, now: datetime
) -> bool:
    """Delete one item and audit it, unless it is already gone or its case is now held."""
    async with transaction() as session:
        await lock_case_holds(session, item.case_id)  # a hold committing now waits, or is seen
        if item.case_id in await _held_cases(session):
            return False
        if not await DELETERS[item.kind](session, item, storage):
            return False
        await record(
            session,
            AUDIT_ACTION,
            actor=None,
            target_type=TARGET_TYPES[item.kind],
            target_id=item.target_id,
            details={
                "kind": item.kind.value,
                "case_id": item.case_id,
                "case_reference": item.case_reference,
                "category": item.category.value,
                "interview_id": item.interview_id,
                "counted_from": item.counted_from.isoformat(),
                "expired_at": item.expired_at.isoformat(),
                "rows": item.rows,
                "files": [path.name for path in item.files],
            },
            note="retention period ended",
            now=now,
        )
        await session.flush()
        # Last, so a failure above leaves the file; a crash after this leaves only the row,
        # which the next run deletes.
        for path in item.files:
            _remove(path)
    return True


async def run_retention(
    transaction: Transaction,
    policy: RetentionPolicy,
    storage: Storage,
    now: datetime,
    *,
    dry_run: bool = False,
    limit: int | None = None,
) -> RetentionReport:
    """Find what expired at `now` and (unless `dry_run`) delete up to `limit` items of it."""
    report = RetentionReport(dry_run=dry_run)
    async with transaction() as session:
        found = await find_expired(session, policy, storage, now)
        held = await _held_cases(session)
    report.held = [item for item in found if item.case_id in held]
    report.expired = [item for item in found if item.case_id not in held]
    if dry_run:
        return report
    for item in report.expired[:limit]:
        if await _delete_one(transaction, item, storage, now):
            report.deleted.append(item)
    return report
