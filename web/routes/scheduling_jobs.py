"""Scheduling's resources on the app (write gate, mailer, job runner, APScheduler heartbeat),
opened and closed in cleanup_ctx, and the admins' view of the job queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta

from aiohttp import web
from sqlalchemy import func, select

from interviews.access import Action, authorize
from interviews.retention import Storage
from interviews.summary_jobs import SummaryJobs
from scheduling.followups import Policy
from scheduling.jobs import JobRunner, JobStatus, ScheduledJob
from scheduling.mail import SmtpConfig, make_mailer
from scheduling.notify import MailSettings
from scheduling.retention_job import RETENTION, RetentionTask, both
from scheduling.scheduler import JobScheduler
from scheduling.tasks import Tasks
from scheduling.writes import WriteGate
from web.keys import (
    BOOKING_POLICY,
    CATALOGS,
    CLOCK,
    DOCUMENT_STORE,
    JOB_RUNNER,
    JOB_SCHEDULER,
    RETENTION_TASK,
    SECRET_KEY,
    SESSIONMAKER,
    SETTINGS,
    SUMMARY_JOBS,
    WRITE_GATE,
)
from web.openapi import error_responses, json_ok
from web.request_tools import signed_in, transaction
from web.settings import Settings

routes = web.RouteTableDef()

OPENAPI = {
    "/api/scheduling/jobs": {
        "get": {
            "summary": "Job queue counts by kind and status, and the latest failures (admins)",
            "responses": {"200": json_ok("Counts and failures"), **error_responses(401, 403)},
        }
    }
}


def public_url(settings: Settings) -> str:
    """The base of links in e-mail."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """SMTP settings, or None to write the outbox folder instead."""
    if not settings.smtp_host:
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        tls=settings.smtp_tls,
    )


async def scheduling_context(app: web.Application) -> AsyncIterator[None]:
    """Open scheduling after the database; stop the heartbeat before the database closes."""
    settings = app[SETTINGS]
    gate = WriteGate(app[SESSIONMAKER])
    policy = Policy(
        request_expiry=timedelta(hours=settings.request_expiry_hours),
        no_show_grace=timedelta(minutes=settings.no_show_minutes),
    )
    tasks = Tasks(
        mailer=make_mailer(smtp_config(settings), settings.data_dir / "outbox"),
        mail=MailSettings(
            sender_name="consulink",
            sender_email=settings.mail_from,
            public_url=public_url(settings),
            secret=app[SECRET_KEY],
        ),
        translations=app[CATALOGS].get,
        policy=policy,
        deadline_days=settings.deadline_alert_days,
        alert_at=time(settings.deadline_alert_hour),
    )
    retention = RetentionTask(
        settings.retention_policy(),
        Storage(settings.data_dir / "recordings", app[DOCUMENT_STORE]),
        time(settings.retention_hour),
    )
    # Read the clock through the app each time: tests replace it after the app is built.
    summaries = SummaryJobs(
        gate,
        lambda: app[CLOCK](),
        grace=timedelta(minutes=settings.summary_grace_minutes),
        wake=lambda: app[JOB_SCHEDULER].wake(),
    )
    runner = JobRunner(
        gate,
        lambda: app[CLOCK](),
        {**tasks.handlers(), **summaries.handlers(), RETENTION: retention.run},
        before_pass=both(tasks.ensure_daily_alert, retention.ensure_daily),
    )
    scheduler = JobScheduler(runner, poll_seconds=settings.jobs_poll_seconds)
    app[SUMMARY_JOBS] = summaries
    app[WRITE_GATE] = gate
    app[BOOKING_POLICY] = policy
    app[JOB_RUNNER] = runner
    app[JOB_SCHEDULER] = scheduler
    app[RETENTION_TASK] = retention
    scheduler.start()
    yield
    await scheduler.stop()


@routes.get("/api/scheduling/jobs")
async def job_queue(request: web.Request) -> web.Response:
    """How many jobs of each kind are in each state, and the last ten failures."""
    authorize(signed_in(request), Action.AUDIT_READ)
    async with transaction(request) as session:
        counts = await session.execute(
            select(ScheduledJob.kind, ScheduledJob.status, func.count())
            .group_by(ScheduledJob.kind, ScheduledJob.status)
            .order_by(ScheduledJob.kind, ScheduledJob.status)
        )
        failures = await session.scalars(
            select(ScheduledJob)
            .where(ScheduledJob.status == JobStatus.FAILED.value)
            .order_by(ScheduledJob.id.desc())
            .limit(10)
        )
        return web.json_response(
            {
                "counts": [
                    {"kind": kind, "status": status, "count": count}
                    for kind, status, count in counts.all()
                ],
                "failures": [
                    {
                        "id": job.id,
                        "kind": job.kind,
                        "subject": job.subject,
                        "due_at": job.due_at.isoformat(),
                        "attempts": job.attempts,
                        "error": job.last_error,
                    }
                    for job in failures.all()
                ],
            }
        )
