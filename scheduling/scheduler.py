"""APScheduler drives the job runner: one interval job that runs whatever is due.

The schedule itself lives in the database (`jobs.ScheduledJob`); APScheduler's own job
(kept in its in-memory store, recreated at every start) is only the heartbeat. It fires
at start (so jobs missed while the server was down run once, straight away), then every
`poll_seconds`; `wake()` fires it at once after a change queued a notice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scheduling.jobs import JobRunner

log = logging.getLogger(__name__)
HEARTBEAT = "consulink-jobs"


class JobScheduler:
    """Starts and stops the heartbeat around a JobRunner."""

    def __init__(self, runner: JobRunner, *, poll_seconds: float) -> None:
        self.runner = runner
        self.poll_seconds = poll_seconds
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    async def _beat(self) -> None:
        try:
            await self.runner.run_due()
        except Exception:  # the next beat tries again; a crash here must not stop the heartbeat
            log.exception("running due jobs failed")

    def start(self) -> None:
        """Begin beating now and every poll interval (call inside the running loop)."""
        self._scheduler.add_job(
            self._beat,
            IntervalTrigger(seconds=self.poll_seconds, timezone=UTC),
            id=HEARTBEAT,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
        )
        self._scheduler.start()

    def wake(self) -> None:
        """Run due jobs as soon as possible (e.g. the notices of a booking just made)."""
        if self._scheduler.running:
            job = self._scheduler.get_job(HEARTBEAT)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    async def stop(self) -> None:
        """Stop beating and wait for a running pass to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self.runner.idle()
