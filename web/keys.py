"""Typed application keys: the only place shared state lives (no module globals)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import User
from interviews.document_store import DocumentStore
from interviews.summary_jobs import SummaryJobs
from scheduling.followups import Policy
from scheduling.jobs import JobRunner
from scheduling.retention_job import RetentionTask
from scheduling.scheduler import JobScheduler
from scheduling.writes import WriteGate
from signaling.captions_session import LiveCaptions
from signaling.media import ServerMedia
from signaling.probe import ConnectivityProbes
from signaling.rooms import RoomRegistry
from web.i18n import Catalogs
from web.settings import Settings

if TYPE_CHECKING:
    from web.stats_cache import FiguresCache

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
SECRET_KEY = web.AppKey("secret_key", bytes)
CATALOGS = web.AppKey("catalogs", Catalogs)
# The time as the app sees it; tests swap in a controllable clock.
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")

# Per-request values set by the auth middleware and the templating layer.
ACTOR = web.RequestKey("actor", Actor)
USER = web.RequestKey("user", User)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
LANGUAGE = web.RequestKey("language", str)
# A session-pass cookie the request presented that no longer admits (session_common).
STALE_PASS = web.RequestKey("stale_pass", str)
OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict[str, Any])
# Encrypted document files under <data-dir>/documents (see interviews.document_store).
DOCUMENT_STORE = web.AppKey("document_store", DocumentStore)
# Scheduling: write transactions (BEGIN IMMEDIATE / row locks), persistent jobs and the
# APScheduler heartbeat that runs them, and the timing rules of booking follow-ups.
WRITE_GATE = web.AppKey("write_gate", WriteGate)
JOB_RUNNER = web.AppKey("job_runner", JobRunner)
JOB_SCHEDULER = web.AppKey("job_scheduler", JobScheduler)
BOOKING_POLICY = web.AppKey("booking_policy", Policy)
# The daily retention job: its policy and storage are what the admins' retention page shows.
RETENTION_TASK = web.AppKey("retention_task", RetentionTask)
# Live sessions: the rooms (lobby, admission, signalling) and the server's media peers.
ROOMS = web.AppKey("rooms", RoomRegistry)
SERVER_MEDIA = web.AppKey("server_media", ServerMedia)
# The pre-join connectivity check's short-lived peers.
PROBES = web.AppKey("probes", ConnectivityProbes)
# Live captions for every room (the speech model loads once, on the first captioned room).
LIVE_CAPTIONS = web.AppKey("live_captions", LiveCaptions)
# Summary assembly: the job handler and the live session's open/close hooks.
SUMMARY_JOBS = web.AppKey("summary_jobs", SummaryJobs)
# The statistics dashboard's figures, kept a few minutes per filter (web.stats_cache).
STATS_FIGURES: web.AppKey[FiguresCache] = web.AppKey("stats_figures")
# The Ed25519 key that seals exported summaries (interviews.seal; docs/records.md).
SIGNING_KEY = web.AppKey("signing_key", Ed25519PrivateKey)
