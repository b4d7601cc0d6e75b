"""What each job kind does when it runs: send a message, expire a request, mark a no-show,
send the daily deadline alerts.

Each handler re-reads the state it acts on, so a job that is late, repeated after a crash
or made obsolete by a later change does nothing harmful: a stale notice is skipped, a
reminder after the start is dropped, an answered request does not expire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

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


_FACTS = (
    select(
        Case.reference,
        Consulate.name,
        Consulate.time_zone,
        Facility.name,
        Facility.time_zone,
        VideoRoom.name,
        User.name,
    )
    .select_from(Interview)
    .outerjoin(Case, Case.id == Interview.case_id)
    .outerjoin(Consulate, Consulate.id == Interview.consulate_id)
    .outerjoin(Facility, Facility.id == Interview.facility_id)
    .outerjoin(VideoRoom, VideoRoom.id == Interview.room_id)
    .outerjoin(User, User.id == Interview.interpreter_id)
    .where(Interview.id == bindparam("interview_id"))
)


async def interview_facts(session: AsyncSession, interview: Interview) -> InterviewFacts:
    """Names and zones a message about `interview` mentions (one statement)."""
    row = (await session.execute(_FACTS, {"interview_id": interview.id})).first()
    reference, consulate, consulate_zone, facility, facility_zone, room, interpreter = (
        row or (None,) * 7
    )
    return InterviewFacts(
        interview=interview,
        case_reference=reference or str(interview.case_id),
        consulate_name=consulate or "",
        consulate_zone=consulate_zone or "UTC",
        facility_name=facility or "",
        facility_zone=facility_zone or "UTC",
        room_name=room or "",
        interpreter_name=interpreter if interview.interpreter_id else None,
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
            # Participants joined in: the person is then found without another statement.
            interview = await session.get(
                Interview, job.payload["interview_id"], options=[joinedload(Interview.participants)]
            )
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
            # The notices of one change are claimed together: the names and zones they
            # mention are read once per interview and version of it in a pass.
            key = ("facts", interview.id, interview.sequence)
            known = context.shared.get(key)
            if isinstance(known, InterviewFacts):
                facts = replace(known, interview=interview)
            else:
                facts = context.shared[key] = await interview_facts(session, interview)
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
