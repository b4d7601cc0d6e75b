"""The one settings object: `CONSULINK_*` environment variables, overridden by CLI flags.

Every field here must have a row in the README's settings table (tests/test_docs.py checks).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    queue_near_deadline_days: int = Field(
        7,
        ge=0,
        le=365,
        description="Cases whose legal deadline is this many days away or fewer are marked "
        "'deadline near' in the work queue.",
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'consulink.db').resolve()}"
