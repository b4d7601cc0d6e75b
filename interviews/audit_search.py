"""Reading the audit log: filtered search newest first with keyset paging, and CSV export.

Paging is by row id (`before` / `after`), not by offset, so the thousandth page of a
million-row log costs what the first does. The export writes every column, the chain's
hashes included; cells a spreadsheet would run as a formula (starting with =, +, -, @,
tab or carriage return) are written with a leading apostrophe, because user-supplied text
(a failed sign-in's e-mail, a note) lands in this log and admins open exports in
spreadsheets. The database, not the export, is what `consulink audit verify` checks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Text, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.audit import AuditEvent

EXPORT_COLUMNS = (
    "id",
    "at",
    "user_id",
    "user_name",
    "role",
    "organisation",
    "action",
    "target_type",
    "target_id",
    "remote",
    "details",
    "note",
    "prev_hash",
    "hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


class AuditFilters(BaseModel):
    """What to look for; empty fields do not filter. Dates are whole UTC days, inclusive."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    who: Annotated[str, Field(max_length=200)] = ""
    action: Annotated[str, Field(max_length=64)] = ""
    target_type: Annotated[str, Field(max_length=32)] = ""
    target_id: Annotated[str, Field(max_length=64)] = ""
    since: date | None = None
    until: date | None = None

    @field_validator("since", "until", mode="before")
    @classmethod
    def _empty_date(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("until")
    @classmethod
    def _order(cls, value: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if value is not None and since is not None and value < since:
            raise ValueError("must not be before since")
        return value

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses for these filters."""
        out: list[ColumnElement[bool]] = []
        if self.who.isdigit():
            out.append(AuditEvent.user_id == int(self.who))
        elif self.who:
            pattern = "%" + _like_escape(self.who.lower()) + "%"
            out.append(func.lower(AuditEvent.user_name).like(pattern, escape="\\"))
        if self.action.endswith(".*"):
            prefix = _like_escape(self.action[:-1])
            out.append(AuditEvent.action.like(prefix + "%", escape="\\"))
        elif self.action:
            out.append(AuditEvent.action == self.action)
        if self.target_type:
            out.append(AuditEvent.target_type == self.target_type)
        if self.target_id:
            out.append(AuditEvent.target_id == self.target_id)
        if self.since:
            out.append(AuditEvent.at >= datetime.combine(self.since, time(), UTC))
        if self.until:
            out.append(
                AuditEvent.at < datetime.combine(self.until + timedelta(days=1), time(), UTC)
            )
        return out

    def as_query(self) -> dict[str, str]:
        """The filters as query-string values (empty ones left out), for links."""
        raw = self.model_dump(mode="json")
        return {k: str(v) for k, v in raw.items() if v not in (None, "")}


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first, with cursors to the pages either side."""

    items: list[AuditEvent]
    newer_after: int | None  # pass as `after` for the newer page
    older_before: int | None  # pass as `before` for the older page


async def search(
    session: AsyncSession,
    filters: AuditFilters,
    *,
    limit: int = 50,
    before: int | None = None,
    after: int | None = None,
) -> AuditPage:
    """Events matching all filters, newest first; `before`/`after` are row ids to page from."""
    conditions = filters.conditions()
    query = select(AuditEvent).where(*conditions)
    if after is not None:
        rows = list(
            (
                await session.scalars(
                    query.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(limit)
                )
            ).all()
        )
        rows.reverse()
    else:
        if before is not None:
            query = query.where(AuditEvent.id < before)
        rows = list(
            (await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))).all()
        )
    if not rows:
        return AuditPage([], None, None)

    async def exists(condition: ColumnElement[bool]) -> bool:
        found = await session.scalar(select(AuditEvent.id).where(*conditions, condition).limit(1))
        return found is not None

    newer = rows[0].id if await exists(AuditEvent.id > rows[0].id) else None
    older = rows[-1].id if await exists(AuditEvent.id < rows[-1].id) else None
    return AuditPage(rows, newer, older)


async def known_values(session: AsyncSession) -> tuple[list[str], list[str]]:
    """The actions and target types the log holds, for the search form's choices."""
    actions = await session.scalars(
        select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    )
    types = await session.scalars(
        select(AuditEvent.target_type)
        .distinct()
        .where(AuditEvent.target_type != "")
        .order_by(AuditEvent.target_type)
    )
    return list(actions.all()), list(types.all())


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """An event in the API's JSON shape."""
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "user_name": event.user_name,
        "role": event.role,
        "organisation": event.organisation,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "remote": event.remote,
        "details": event.details,
        "note": event.note,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def export_csv(
    session: AsyncSession, filters: AuditFilters, *, batch: int = 2000
) -> AsyncIterator[str]:
    """The matching events as CSV text in chunks, oldest first, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    table = AuditEvent.__table__
    columns = [
        type_coerce(table.c.details, Text) if name == "details" else table.c[name]
        for name in EXPORT_COLUMNS
    ]
    connection = await session.connection()
    result = await connection.stream(
        select(*columns)
        .where(*filters.conditions())
        .order_by(AuditEvent.id)
        .execution_options(yield_per=batch)
    )
    try:
        async for rows in result.partitions():
            writer.writerows([_cell(value) for value in row] for row in rows)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    finally:
        await result.close()
    if buffer.tell():
        yield buffer.getvalue()
