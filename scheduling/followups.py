"""What a booking change schedules: notices to each person, reminders, the request's
expiry and the no-show check — as job rows in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.appointments import Interview, Participant, ParticipantRole
from scheduling.jobs import JobStatus, ScheduledJob, cancel_pending, enqueue
from scheduling.notify import MailEvent

MAIL = "mail.interview"
EXPIRE = "interview.expire"
NO_SHOW = "interview.no_show"
DEADLINE_ALERTS = "deadline.alerts"
# Jobs that a reschedule, cancellation or answer makes obsolete.
TIMED_KINDS = (MAIL, EXPIRE, NO_SHOW)

REMINDERS = (
    (MailEvent.REMINDER_24H, timedelta(hours=24)),
    (MailEvent.REMINDER_15M, timedelta(minutes=15)),
)


@dataclass(frozen=True)
class Policy:
    """Timing rules for follow-ups (from settings)."""

    request_expiry: timedelta = timedelta(hours=48)
    no_show_grace: timedelta = timedelta(minutes=15)


def subject(interview: Interview) -> str:
    """The job subject of an interview."""
    return f"interview:{interview.id}"


async def notify(
    session: AsyncSession,
    interview: Interview,
    event: MailEvent,
    people: Iterable[Participant],
    *,
    now: datetime,
) -> None:
    """Queue one message per person, due now."""
    for person in people:
        await enqueue(
            session,
            MAIL,
            now,
            {
                "interview_id": interview.id,
                "participant_id": person.id,
                "event": event.value,
                "sequence": interview.sequence,
            },
            subject=subject(interview),
            flush=False,
        )


async def schedule_timed(
    session: AsyncSession,
    interview: Interview,
    policy: Policy,
    *,
    now: datetime,
    new: bool = False,
) -> None:
    """Replace the interview's pending timed jobs with those its current state needs.

    Requested: expire if the consul has not answered in time (at the latest at the start).
    Confirmed: reminders 24 h and 15 min before, and the no-show check after the start.
    """
    if not new:  # a new interview has nothing to cancel yet
        await cancel_pending(session, subject(interview), (EXPIRE, NO_SHOW), now=now)
        await _cancel_reminders(session, interview, now)
    if interview.status == "requested":
        due = min(now + policy.request_expiry, interview.starts_at)
        await enqueue(
            session,
            EXPIRE,
            due,
            {"interview_id": interview.id, "sequence": interview.sequence},
            subject=subject(interview),
            flush=False,
        )
    elif interview.status == "confirmed":
        for event, lead in REMINDERS:
            due = interview.starts_at - lead
            if due <= now:
                continue  # too late for this reminder: the confirmation itself is the notice
            for person in interview.current_participants():
                await enqueue(
                    session,
                    MAIL,
                    due,
                    {
                        "interview_id": interview.id,
                        "participant_id": person.id,
                        "event": event.value,
                        "sequence": interview.sequence,
                    },
                    subject=subject(interview),
                )
        await enqueue(
            session,
            NO_SHOW,
            interview.starts_at + policy.no_show_grace,
            {"interview_id": interview.id, "sequence": interview.sequence},
            subject=subject(interview),
        )


async def _cancel_reminders(session: AsyncSession, interview: Interview, now: datetime) -> None:
    # Reminder mails are MAIL jobs due in the future; notices are due now and must still go.
    await session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.subject == subject(interview),
            ScheduledJob.kind == MAIL,
            ScheduledJob.status == JobStatus.PENDING.value,
            ScheduledJob.due_at > now,
        )
        .values(status=JobStatus.CANCELLED.value, finished_at=now)
    )


def staff_of(interview: Interview) -> list[Participant]:
    """The facility people on an interview."""
    return [p for p in interview.current_participants() if p.role == ParticipantRole.STAFF]
