"""When summaries are assembled: as a persistent job, so a restart loses none.

The live session tells us (signaling.room.Lifecycle) when it opens and when it closes
(the host ended it, or everyone left). Opening queues the grace-period job — due at the
scheduled end plus `grace` — so a session nobody ends still gets its summary; closing
queues an assembly due now and wakes the job runner. Every job re-assembles from the
records and stores a version only when the content changed, so a late, repeated or
retried job never duplicates a summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from interviews.summary_assembly import assemble_summary
from scheduling.appointments import Interview
from scheduling.jobs import Handler, JobContext, ScheduledJob, enqueue, enqueue_once
from scheduling.writes import WriteGate

log = logging.getLogger(__name__)

ASSEMBLE = "summary.assemble"


def subject(interview_id: int) -> str:
    """The job subject of an interview (as scheduling.followups names it)."""
    return f"interview:{interview_id}"


class SummaryJobs:
    """The assembly job handler and the live session's open/close hooks."""

    def __init__(
        self,
        gate: WriteGate,
        clock: Callable[[], datetime],
        *,
        grace: timedelta,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.gate = gate
        self.clock = clock
        self.grace = grace
        self.wake = wake

    def handlers(self) -> dict[str, Handler]:
        """Job kind → handler."""
        return {ASSEMBLE: self.assemble}

    async def assemble(self, context: JobContext, job: ScheduledJob) -> None:
        """Assemble the interview's summary; a new version only if something changed."""
        async with context.gate.transaction() as session:
            if await session.get(Interview, job.payload["interview_id"]) is None:
                return  # deleted since (retention): nothing to summarise
            stored = await assemble_summary(
                session,
                job.payload["interview_id"],
                reason=str(job.payload.get("reason", "refresh")),
                now=context.now,
            )
        if stored is not None:
            log.info("summary v%s of interview %s stored", stored.version, stored.interview_id)

    async def opened(self, interview_id: int) -> None:
        """The session opened: queue the grace-period assembly (once per interview)."""
        now = self.clock()
        async with self.gate.transaction() as session:
            interview = await session.get(Interview, interview_id)
            if interview is None:
                return
            due = max(interview.ends_at, now) + self.grace
            await enqueue_once(
                session,
                ASSEMBLE,
                due,
                f"{ASSEMBLE}:grace:{interview_id}",
                {"interview_id": interview_id, "reason": "grace"},
            )

    async def closed(self, interview_id: int, reason: str) -> None:
        """The session closed (`ended` by the host, or everyone `left`): assemble now."""
        async with self.gate.transaction() as session:
            await enqueue(
                session,
                ASSEMBLE,
                self.clock(),
                {"interview_id": interview_id, "reason": reason},
                subject=subject(interview_id),
            )
        self.wake()
