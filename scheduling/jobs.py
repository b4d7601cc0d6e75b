"""Persistent jobs: rows in the application's own database, run when due.

Why rows of our own rather than APScheduler 3's SQLAlchemyJobStore (see docs/scheduling.md):
that store is synchronous (it would block the event loop and need a second, sync driver
for PostgreSQL), pickles callables (a renamed function breaks stored jobs), and does not
stop two server processes from running the same job. Here a job is a row written in the
*same transaction* as the change that causes it (a booking and its reminders commit or
roll back together), claimed with a conditional UPDATE (only one runner can move a row
from pending to running), and marked done afterwards. APScheduler drives the runner on an
interval (`scheduler.py`).

Guarantees: a job whose time passed while the server was down runs once at start; a
finished job never runs again; a job interrupted half-way (the process died between
claiming and finishing) is retried after its lease ends, so handlers are written to be
idempotent (each re-checks the state it acts on).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base, UTCDateTime, table_of, utcnow
from scheduling.writes import WriteGate

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    """A job's life."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    CANCELLED = "cancelled"  # made pointless by a later change (e.g. a reschedule)


MAX_ATTEMPTS = 5


class ScheduledJob(Base):
    """One unit of deferred work."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (Index("ix_scheduled_jobs_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # What it is about (e.g. "interview:12"), so a change can cancel its pending jobs.
    subject: Mapped[str] = mapped_column(String(64), default="", index=True)
    # Set for jobs that must exist at most once (e.g. one deadline alert per day).
    key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


async def enqueue(
    session: AsyncSession,
    kind: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    *,
    subject: str = "",
    key: str | None = None,
    flush: bool = True,
) -> ScheduledJob | None:
    """Add a job in the caller's transaction; with `key`, only if no job has that key yet.

    `flush=False` leaves the INSERT to the transaction's next flush or its commit (several
    jobs then go to the database together).
    """
    if key is not None:
        existing = await session.scalar(select(ScheduledJob.id).where(ScheduledJob.key == key))
        if existing is not None:
            return None
    job = ScheduledJob(
        kind=kind,
        subject=subject,
        key=key,
        due_at=due_at,
        payload=payload or {},
        status=JobStatus.PENDING.value,
        attempts=0,
        last_error="",
    )
    session.add(job)
    if flush:
        await session.flush()
    return job


def job_row(
    kind: str, due_at: datetime, payload: dict[str, Any], *, subject: str = ""
) -> dict[str, Any]:
    """A pending job without a key, as a row for `enqueue_many`."""
    return {
        "kind": kind,
        "subject": subject,
        "key": None,
        "due_at": due_at,
        "payload": payload,
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "last_error": "",
        "created_at": utcnow(),
    }


_INSERT_JOBS = insert(table_of(ScheduledJob))  # Core: no ORM work per statement


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add several keyless jobs (`job_row`) in the caller's transaction, in one statement."""
    if rows:
        await session.execute(_INSERT_JOBS, rows)


async def cancel_pending(
    session: AsyncSession, subject: str, kinds: tuple[str, ...], *, now: datetime
) -> int:
    """Cancel the subject's pending jobs of the given kinds (in the caller's transaction)."""
    result = await session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.subject == subject,
            ScheduledJob.kind.in_(kinds),
            ScheduledJob.status == JobStatus.PENDING.value,
        )
        .values(status=JobStatus.CANCELLED.value, finished_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the write gate for its own transactions, and the time.

    `shared` lives for one pass (the jobs claimed together): handlers may keep there what
    the other jobs of the pass would read again, such as the names a change's notices
    mention. Anything whose state a handler checks must still be read by each job.
    """

    gate: WriteGate
    now: datetime
    shared: dict[Any, Any] = field(default_factory=dict)


Handler = Callable[[JobContext, ScheduledJob], Awaitable[None]]
# Runs before each pass, e.g. to make sure recurring jobs have their next row.
BeforePass = Callable[[WriteGate, datetime], Awaitable[None]]


def _claimable() -> ColumnElement[bool]:
    # Pending, or running under a lease that ran out (the runner holding it died).
    return (ScheduledJob.status == JobStatus.PENDING.value) | (
        (ScheduledJob.status == JobStatus.RUNNING.value)
        & (ScheduledJob.lease_until < bindparam("now", type_=UTCDateTime()))
    )


# The runner's statements, built once. The claim picks the batch and takes it in one
# UPDATE (it holds the write lock on SQLite, where bookings wait for it).
_ANY_DUE = (
    select(ScheduledJob.id)
    .where(
        ScheduledJob.due_at <= bindparam("now", type_=UTCDateTime()),
        ScheduledJob.status.in_((JobStatus.PENDING.value, JobStatus.RUNNING.value)),
    )
    .limit(1)
)
_CLAIM = (
    update(ScheduledJob)
    .where(
        ScheduledJob.id.in_(
            select(ScheduledJob.id)
            .where(ScheduledJob.due_at <= bindparam("now", type_=UTCDateTime()), _claimable())
            .order_by(ScheduledJob.due_at, ScheduledJob.id)
            .limit(bindparam("batch", type_=Integer()))
        ),
        _claimable(),
    )
    .values(
        status=JobStatus.RUNNING.value,
        attempts=ScheduledJob.attempts + 1,
        lease_until=bindparam("lease_until", type_=UTCDateTime()),
    )
    .returning(ScheduledJob)
)
_JOBS = table_of(ScheduledJob)
_DONE = (
    update(_JOBS)
    .where(
        _JOBS.c.id.in_(bindparam("done", expanding=True)),
        _JOBS.c.status == JobStatus.RUNNING.value,
    )
    .values(
        status=JobStatus.DONE.value,
        finished_at=bindparam("now", type_=UTCDateTime()),
        last_error="",
        lease_until=None,
    )
)


class JobRunner:
    """Claims due jobs and runs their handlers; one pass at a time in this process."""

    def __init__(
        self,
        gate: WriteGate,
        clock: Callable[[], datetime],
        handlers: dict[str, Handler],
        *,
        lease: timedelta = timedelta(minutes=10),
        batch: int = 100,
        before_pass: BeforePass | None = None,
    ) -> None:
        self.gate = gate
        self.clock = clock
        self.handlers = handlers
        self.before_pass = before_pass
        self.lease = lease
        self.batch = batch
        self._pass = asyncio.Lock()

    async def run_due(self, *, max_passes: int = 20) -> int:
        """Run every job due by now (also jobs that became due while running); the count run."""
        ran = 0
        async with self._pass:
            if self.before_pass is not None:
                await self.before_pass(self.gate, self.clock())
            for _ in range(max_passes):
                now = self.clock()
                claimed = await self._claim(now)
                if not claimed:
                    break
                shared: dict[Any, Any] = {}
                outcomes = [(job, await self._run(job, now, shared)) for job in claimed]
                await self._finish(outcomes, now)
                ran += len(claimed)
        return ran

    async def idle(self) -> None:
        """Wait until no pass is running (used before the database closes)."""
        async with self._pass:
            return

    async def _claim(self, now: datetime) -> list[ScheduledJob]:
        # Look first without the write lock: most beats find nothing due.
        async with self.gate.read() as session:
            due = await session.scalar(_ANY_DUE, {"now": now})
        if due is None:
            return []
        async with self.gate.transaction() as session:
            # One conditional UPDATE for the batch, on the state it finds: of several
            # runners (or processes) only the one that moves a row from pending wins it.
            claimed = await session.scalars(
                _CLAIM,
                {"now": now, "batch": self.batch, "lease_until": now + self.lease},
                execution_options={"populate_existing": True},
            )
            return sorted(claimed.all(), key=lambda job: (job.due_at, job.id))

    async def _run(self, job: ScheduledJob, now: datetime, shared: dict[Any, Any]) -> str | None:
        """Run one job's handler; the error text when it failed."""
        handler = self.handlers.get(job.kind)
        if handler is None:
            return f"no handler for job kind {job.kind!r}"
        try:
            await handler(JobContext(self.gate, now, shared), job)
        except Exception as failure:  # a failing job must not stop the others
            log.exception("job %s (%s) failed", job.id, job.kind)
            return f"{type(failure).__name__}: {failure}"[:2000]
        return None

    async def _finish(self, outcomes: list[tuple[ScheduledJob, str | None]], now: datetime) -> None:
        # One write transaction for the whole batch: writers queue for one lock on SQLite.
        done = [job.id for job, error in outcomes if error is None]
        async with self.gate.transaction() as session:
            if done:  # the usual case: the whole batch in one statement
                await session.execute(_DONE, {"done": done, "now": now})
            for job, error in outcomes:
                if error is None:
                    continue
                values: dict[str, Any] = {"lease_until": None}
                if job.attempts >= MAX_ATTEMPTS or job.kind not in self.handlers:
                    values.update(status=JobStatus.FAILED.value, finished_at=now, last_error=error)
                else:
                    # Back off: 1, 4, 9, 16 minutes.
                    retry = now + timedelta(minutes=job.attempts**2)
                    values.update(status=JobStatus.PENDING.value, due_at=retry, last_error=error)
                await session.execute(
                    update(ScheduledJob)
                    .where(
                        ScheduledJob.id == job.id, ScheduledJob.status == JobStatus.RUNNING.value
                    )
                    .values(**values)
                )


async def enqueue_once(
    session: AsyncSession, kind: str, due_at: datetime, key: str, payload: dict[str, Any]
) -> None:
    """Like `enqueue` with a key, tolerating a concurrent insert of the same key."""
    try:
        async with session.begin_nested():
            await enqueue(session, kind, due_at, payload, key=key)
    except IntegrityError:
        return
