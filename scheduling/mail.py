"""Sending e-mail: to an SMTP server when one is configured, else into an outbox folder.

The outbox keeps each message as an .eml file (what the SMTP server would have got), so a
demo or a server without mail still shows every invitation, reminder and alert.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Protocol

import aiosmtplib


class Mailer(Protocol):
    """Something that delivers a finished message."""

    async def send(self, message: Message) -> None:
        """Deliver or raise."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the SMTP server."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True  # upgrade a plain connection (port 587)
    tls: bool = False  # TLS from the first byte (port 465)
    timeout: float = 30.0


class SmtpMailer:
    """Delivers through aiosmtplib, one connection per message (mail volume is low)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: Message) -> None:
        """Hand the message to the SMTP server; raises on refusal or network failure."""
        config = self.config
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.tls,
            start_tls=config.starttls if not config.tls else False,
            timeout=config.timeout,
        )


class OutboxMailer:
    """Writes each message to `<folder>/<UTC time>-<random>.eml`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: Message) -> None:
        """Store the message as a file (written to a temporary name, then renamed)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        await asyncio.to_thread(self._write, name, message.as_bytes())

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(data)
        temporary.replace(self.folder / name)


def make_mailer(smtp: SmtpConfig | None, outbox: Path) -> Mailer:
    """SMTP when configured, otherwise the outbox folder."""
    return SmtpMailer(smtp) if smtp is not None else OutboxMailer(outbox)
