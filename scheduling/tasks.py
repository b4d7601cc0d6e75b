"""What each job kind does when it runs: send a message, expire a request, mark a no-show,
send the daily deadline alerts.

Each handler re-reads the state it acts on, so a job that is late, repeated after a crash
or made obsolete by a later change does nothing harmful: a stale notice is skipped, a
reminder after the start is dropped, an answered request does not expire.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.accounts import Role, User
from interviews.cases import ACTIVE_STATUSES, Case
from interviews.consulates import Consulate
from interviews.facilities import Facility
from scheduling import booking, zones
from scheduling.appointments import Interview, InterviewStatus, Participant
from scheduling.followups import DEADLINE_ALERTS, EXPIRE, MAIL, NO_SHOW, Policy
from scheduling.jobs import Handler, JobContext, ScheduledJob, enqueue_once
from scheduling.mail import Mailer
from scheduling.notify import (
    DeadlineItem,
    InterviewFacts,
    MailEvent,
    MailSettings,
    Translations,
    deadline_message,
    interview_message,
)
from scheduling.resources import VideoRoom
from scheduling.writes import WriteGate

REMINDER_EVENTS = {MailEvent.REMINDER_24H, MailEvent.REMINDER_15M}


async def interview_facts(session: AsyncSession, interview: Interview) -> InterviewFacts:
    """Names and zones a message about `interview` mentions."""
    case = await session.get(Case, interview.case_id)
    consulate = await session.get(Consulate, interview.consulate_id)
    facility = await session.get(Facility, interview.facility_id)
    room = await session.get(VideoRoom, interview.room_id)
    interpreter = (
        await session.get(User, interview.interpreter_id) if interview.interpreter_id else None
    )
    return InterviewFacts(
        interview=interview,
        case_reference=case.reference if case else str(interview.case_id),
        consulate_name=consulate.name if consulate else "",
        consulate_zone=consulate.time_zone if consulate else "UTC",
        facility_name=facility.name if facility else "",
        facility_zone=facility.time_zone if facility else "UTC",
        room_name=room.name if room else "",
        interpreter_name=interpreter.name if interpreter else None,
    )


def next_alert_at(now: datetime, at: time) -> datetime:
    """The next daily alert time (UTC) after `now`."""
    today = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    return today if today > now else today + timedelta(days=1)


class Tasks:
    """The job handlers, with the mailer, texts and policy they need."""

    def __init__(
        self,
        *,
        mailer: Mailer,
        mail: MailSettings,
        translations: Callable[[str], Translations],
        policy: Policy,
        deadline_days: int,
        alert_at: time,
    ) -> None:
        self.mailer = mailer
        self.mail = mail
        self.translations = translations
        self.policy = policy
        self.deadline_days = deadline_days
        self.alert_at = alert_at

    def handlers(self) -> dict[str, Handler]:
        """Job kind → handler."""
        return {
            MAIL: self.send_interview_mail,
            EXPIRE: self.expire_request,
            NO_SHOW: self.mark_no_show,
            DEADLINE_ALERTS: self.send_deadline_alerts,
        }

    async def send_interview_mail(self, context: JobContext, job: ScheduledJob) -> None:
        """Compose one person's message from the interview as it is now, and send it."""
        event = MailEvent(job.payload["event"])
        async with context.gate.read() as session:
            interview = await session.get(Interview, job.payload["interview_id"])
            person = await session.get(Participant, job.payload["participant_id"])
            if interview is None or person is None:
                return
            if not event.cancels and job.payload.get("sequence") != interview.sequence:
                return  # a later change sent (or will send) the current news
            if person.removed and event is not MailEvent.REMOVED:
                return
            if event in REMINDER_EVENTS and (
                interview.interview_status is not InterviewStatus.CONFIRMED
                or context.now >= interview.starts_at
            ):
                return
            facts = await interview_facts(session, interview)
            everyone = interview.current_participants()
        message = interview_message(
            self.mail,
            self.translations(person.language),
            facts,
            person,
            everyone,
            event,
            context.now,
        )
        await self.mailer.send(message)

    async def expire_request(self, context: JobContext, job: ScheduledJob) -> None:
        """Cancel a request nobody answered."""
        await booking.expire(
            context.gate,
            job.payload["interview_id"],
            job.payload["sequence"],
            context.now,
            self.policy,
        )

    async def mark_no_show(self, context: JobContext, job: ScheduledJob) -> None:
        """Mark a confirmed interview nobody joined."""
        await booking.mark_no_show(
            context.gate, job.payload["interview_id"], job.payload["sequence"], context.now
        )

    async def ensure_daily_alert(self, gate: WriteGate, now: datetime) -> None:
        """Make sure the next deadline alert is scheduled (idempotent: a key per day).

        Called before every pass, so the daily chain survives a failed or cancelled alert.
        """
        due = next_alert_at(now, self.alert_at)
        key = f"{DEADLINE_ALERTS}:{due.date()}"
        async with gate.read() as session:
            if await session.scalar(select(ScheduledJob.id).where(ScheduledJob.key == key)):
                return  # the usual case: no write transaction needed
        async with gate.transaction() as session:
            await enqueue_once(session, DEADLINE_ALERTS, due, key, {})

    async def send_deadline_alerts(self, context: JobContext, job: ScheduledJob) -> None:
        """Tell each facility's staff which cases near their deadline lack a confirmed
        interview; then schedule the next alert (after now, so missed days coalesce)."""
        now = context.now
        async with context.gate.read() as session:
            per_facility = await _cases_near_deadline(session, now, self.deadline_days)
            recipients = await _staff(session, list(per_facility))
        for facility, items in per_facility.values():
            for user in recipients.get(facility.id, []):
                message = deadline_message(
                    self.mail,
                    self.translations(user.language),
                    name=user.name,
                    email=user.email,
                    language=user.language,
                    facility_name=facility.name,
                    days=self.deadline_days,
                    items=items,
                    now=now,
                )
                await self.mailer.send(message)
        await self.ensure_daily_alert(context.gate, now)


async def _cases_near_deadline(
    session: AsyncSession, now: datetime, days: int
) -> dict[int, tuple[Facility, list[DeadlineItem]]]:
    confirmed = select(Interview.case_id).where(
        Interview.status == InterviewStatus.CONFIRMED.value, Interview.ends_at > now
    )
    latest_deadline = (now + timedelta(days=days + 1)).date()
    rows = await session.execute(
        select(Case, Facility)
        .join(Facility, Facility.id == Case.facility_id)
        .where(
            Case.status.in_([s.value for s in ACTIVE_STATUSES]),
            Case.deadline <= latest_deadline,
            Case.id.not_in(confirmed),
        )
        .order_by(Case.facility_id, Case.deadline, Case.reference)
    )
    out: dict[int, tuple[Facility, list[DeadlineItem]]] = {}
    for case, facility in rows.all():
        today = zones.local_date(facility.time_zone, zones.to_minute(now))
        left = (case.deadline - today).days
        if left < days:
            out.setdefault(facility.id, (facility, []))[1].append(
                DeadlineItem(case.reference, case.deadline, left)
            )
    return out


async def _staff(session: AsyncSession, facility_ids: list[int]) -> dict[int, list[User]]:
    if not facility_ids:
        return {}
    rows = await session.scalars(
        select(User)
        .where(
            User.role == Role.STAFF.value,
            User.facility_id.in_(facility_ids),
            User.disabled.is_(False),
        )
        .order_by(User.id)
    )
    out: dict[int, list[User]] = {}
    for user in rows.all():
        if user.facility_id is not None:
            out.setdefault(user.facility_id, []).append(user)
    return out
