"""What a booking change schedules: notices to each person, reminders, the request's
expiry and the no-show check — as job rows in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.appointments import Interview, Participant, ParticipantRole
from scheduling.jobs import JobStatus, ScheduledJob, cancel_pending, enqueue_many, job_row
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


def notice_jobs(
    interview: Interview, event: MailEvent, people: Iterable[Participant], *, now: datetime
) -> list[dict[str, Any]]:
    """One message per person, due now, as job rows (participants need their ids)."""
    return [
        job_row(
            MAIL,
            now,
            {
                "interview_id": interview.id,
                "participant_id": person.id,
                "event": event.value,
                "sequence": interview.sequence,
            },
            subject=subject(interview),
        )
        for person in people
    ]


async def notify(
    session: AsyncSession,
    interview: Interview,
    event: MailEvent,
    people: Iterable[Participant],
    *,
    now: datetime,
) -> None:
    """Queue one message per person, due now."""
    await enqueue_many(session, notice_jobs(interview, event, people, now=now))


def timed_jobs(interview: Interview, policy: Policy, *, now: datetime) -> list[dict[str, Any]]:
    """The timed jobs the interview's current state needs, as job rows.

    Requested: expire if the consul has not answered in time (at the latest at the start).
    Confirmed: reminders 24 h and 15 min before, and the no-show check after the start.
    """
    about = subject(interview)
    if interview.status == "requested":
        due = min(now + policy.request_expiry, interview.starts_at)
        payload = {"interview_id": interview.id, "sequence": interview.sequence}
        return [job_row(EXPIRE, due, payload, subject=about)]
    rows: list[dict[str, Any]] = []
    if interview.status == "confirmed":
        for event, lead in REMINDERS:
            due = interview.starts_at - lead
            if due <= now:
                continue  # too late for this reminder: the confirmation itself is the notice
            rows.extend(
                job_row(
                    MAIL,
                    due,
                    {
                        "interview_id": interview.id,
                        "participant_id": person.id,
                        "event": event.value,
                        "sequence": interview.sequence,
                    },
                    subject=about,
                )
                for person in interview.current_participants()
            )
        rows.append(
            job_row(
                NO_SHOW,
                interview.starts_at + policy.no_show_grace,
                {"interview_id": interview.id, "sequence": interview.sequence},
                subject=about,
            )
        )
    return rows


async def schedule_timed(
    session: AsyncSession,
    interview: Interview,
    policy: Policy,
    *,
    now: datetime,
    new: bool = False,
) -> None:
    """Replace the interview's pending timed jobs with those its current state needs
    (`timed_jobs`)."""
    if not new:  # a new interview has nothing to cancel yet
        await cancel_pending(session, subject(interview), (EXPIRE, NO_SHOW), now=now)
        await _cancel_reminders(session, interview, now)
    await enqueue_many(session, timed_jobs(interview, policy, now=now))


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
