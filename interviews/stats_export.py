"""Exporting statistics: compute, suppress, write, and record who exported what and when.

The audit event is written in the same transaction as the figures are read, before the
file is handed over, with a SHA-256 of the exact bytes so a file found later can be
matched to its export.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.audit import record
from interviews.indicators import StatsQuery, compute
from interviews.stats_exchange import document, export_rows, scope_text, to_csv, to_json

Format = Literal["csv", "json"]
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@dataclass(frozen=True)
class Export:
    """A finished export: the document, its text, and a file name for it."""

    doc: dict[str, Any]
    text: str
    filename: str


def parse_month(value: str, field: str) -> date:
    """'YYYY-MM' → the first of that month; ValueError naming `field` otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}", value):
        raise ValueError(f"{field}: give a month as YYYY-MM")
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise ValueError(f"{field}: give a month as YYYY-MM") from None
    if not 2000 <= parsed.year <= 2100:
        raise ValueError(f"{field}: the year must be between 2000 and 2100")
    return parsed.date()


async def export_statistics(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    query: StatsQuery,
    *,
    fmt: Format,
    source: str,
    actor: Actor | None,
    now: datetime,
    remote: str = "",
) -> Export:
    """The query's figures as a suppressed export in `fmt`, recorded in the audit log by
    `session` (the figures are read through sessions of their own, see `compute`)."""
    raw = await compute(sessions, query, as_of=now)
    doc = document(
        export_rows(raw),
        source=source,
        first=query.first_month,
        last=query.last_month,
        generated_at=now,
        scope=scope_text(
            {
                "facility": query.facility_id,
                "country": query.country,
                "nationality": query.nationality,
            }
        ),
    )
    text = to_csv(doc) if fmt == "csv" else to_json(doc)
    await record(
        session,
        "stats.export",
        actor=actor,
        target_type="statistics",
        target_id=source,
        remote=remote,
        details={
            "format": fmt,
            "period_from": doc["period_from"],
            "period_to": doc["period_to"],
            "facility_id": query.facility_id,
            "country": query.country,
            "nationality": query.nationality,
            "rows": len(doc["rows"]),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        },
        now=now,
    )
    filename = f"consulink-statistics-{doc['period_from']}-{doc['period_to']}.{fmt}"
    return Export(doc, text, filename)
