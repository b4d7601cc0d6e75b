"""The daily retention job: a persistent row per day, so a restart never loses a run.

Like the deadline alerts, the next run is a `ScheduledJob` keyed by its date and made sure
of before every pass of the runner; a run that dies half-way is retried after its lease
(deleting is idempotent: see interviews.retention), and days missed while the server was
down coalesce into one run at start.
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from sqlalchemy import select

from interviews.retention import Storage, run_retention
from interviews.retention_policy import RetentionPolicy
from scheduling.jobs import BeforePass, JobContext, ScheduledJob, enqueue_once
from scheduling.tasks import next_alert_at
from scheduling.writes import WriteGate

log = logging.getLogger(__name__)
RETENTION = "retention"
# Items per job: a backlog is worked through in several jobs, so reminders and other due
# jobs of the same pass are not held up for minutes (500 items take about 7 s on SQLite).
BATCH = 500


class RetentionTask:
    """Runs retention once a day at a fixed hour (UTC)."""

    def __init__(
        self, policy: RetentionPolicy, storage: Storage, at: time, *, batch: int = BATCH
    ) -> None:
        self.policy = policy
        self.storage = storage
        self.at = at
        self.batch = batch

    async def ensure_daily(self, gate: WriteGate, now: datetime) -> None:
        """Make sure the next run is scheduled (idempotent: one key per day)."""
        due = next_alert_at(now, self.at)
        key = f"{RETENTION}:{due.date()}"
        async with gate.read() as session:
            if await session.scalar(select(ScheduledJob.id).where(ScheduledJob.key == key)):
                return
        async with gate.transaction() as session:
            await enqueue_once(session, RETENTION, due, key, {})

    async def run(self, context: JobContext, job: ScheduledJob) -> None:
        """Delete what expired (a batch; the rest in a follow-up job), then schedule tomorrow's."""
        report = await run_retention(
            context.gate.transaction, self.policy, self.storage, context.now, limit=self.batch
        )
        log.info(
            "retention: deleted %d item(s); %d expired item(s) kept by a legal hold",
            len(report.deleted),
            len(report.held),
        )
        if len(report.expired) > self.batch:
            async with context.gate.transaction() as session:
                await enqueue_once(
                    session, RETENTION, context.now, f"{RETENTION}:more:{job.id}", {}
                )
        await self.ensure_daily(context.gate, context.now)


def both(first: BeforePass, second: BeforePass) -> BeforePass:
    """One before-pass hook that runs two."""

    async def run(gate: WriteGate, now: datetime) -> None:
        await first(gate, now)
        await second(gate, now)

    return run
