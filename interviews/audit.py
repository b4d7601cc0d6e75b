"""The append-only audit log: who did what to which record, when and from where.

Each row carries the SHA-256 of its own content and the hash of the row before it, so
altering, removing or inserting a row breaks the chain at that point; `verify_chain`
finds the first break. What the chain can and cannot show:

- detected: a changed value in any column of any row (every column is hashed), a row
  removed from the middle, a row inserted or renumbered, rows removed from the end *when
  the one-row `audit_head` table was left alone* (it records the newest id and hash), and
  any change before an anchor (`Anchor`: a head id and hash kept outside the database by
  `consulink audit verify --anchor FILE`, compared on the next run);
- not detected without an anchor: someone with write access to the database who removes
  the newest rows *and* rewinds `audit_head`, or recomputes every hash after an edit. The
  hashes use no secret, so only a copy of the head kept elsewhere (the anchor file, or the
  head line the command prints, pasted into a ticket) can expose a full rewrite.

Writers are serialised by the head row: `record` first bumps `audit_head` (an UPDATE, which
takes SQLite's write lock or a PostgreSQL row lock until commit), so two transactions can
never chain onto the same predecessor, on either database, in one process or many.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    Select,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Actor
from interviews.db import Base, UTCDateTime, table_of, utcnow

GENESIS = "0" * 64
HEAD_ROW = 1


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot go into the audit log's details")


def canonical_json(value: Any) -> str:
    """The one text form of a details value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


class CanonicalJSON(TypeDecorator[Any]):
    """JSON kept as its canonical text, so the stored bytes are exactly what was hashed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class AuditEvent(Base):
    """One audited act. Rows are only ever inserted."""

    __tablename__ = "audit_events"
    # "What happened to this case / entry?", newest first.
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(nullable=True, index=True)
    user_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="")
    organisation: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    remote: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class AuditHead(Base):
    """The newest row of the chain, in a single row every writer updates first."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    # Rows before this id were hashed with the first encoding (`legacy_digest`).
    encoding_from: Mapped[int] = mapped_column(Integer, default=1)


# The columns the hash covers, in encoding order; a test checks this is every column but `hash`.
HASHED_COLUMNS = (
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
)


def stamp(moment: datetime) -> str:
    """A time as the hash encodes it: UTC, "YYYY-MM-DD HH:MM:SS.ffffff" (SQLite stores this)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def digest(
    id: int,
    at: str,
    user_id: int | None,
    user_name: str,
    role: str,
    organisation: str,
    action: str,
    target_type: str,
    target_id: str,
    remote: str,
    details_json: str,
    note: str,
    prev_hash: str,
) -> str:
    """SHA-256 of one row's canonical encoding (arguments in `HASHED_COLUMNS` order).

    `at` is `stamp(time)`, `details_json` the canonical JSON text as stored. Text fields are
    length-prefixed (in code points), so no value can imitate a field boundary; the string
    is hashed as UTF-8. Kept to one f-string: the verifier calls this once per row.
    """
    uid = "" if user_id is None else user_id
    encoded = (
        f"v2|{id}|{at}|{uid}|{len(user_name)}:{user_name}|{len(role)}:{role}"
        f"|{len(organisation)}:{organisation}|{len(action)}:{action}"
        f"|{len(target_type)}:{target_type}|{len(target_id)}:{target_id}"
        f"|{len(remote)}:{remote}|{len(details_json)}:{details_json}|{len(note)}:{note}"
        f"|{prev_hash}"
    )
    return sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def legacy_digest(row: tuple[Any, ...]) -> str:
    """The first encoding (rows written before migration 0003), same argument order."""
    content = dict(zip(HASHED_COLUMNS, row, strict=True))
    content["at"] = datetime.fromisoformat(row[1]).replace(tzinfo=UTC).isoformat()
    content["details"] = json.loads(row[10])
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(canonical.encode()).hexdigest()


def _head_table() -> Table:
    table: Table = AuditHead.__table__  # type: ignore[assignment]
    return table


async def _claim_next(session: AsyncSession) -> tuple[int, str]:
    """Take the head's write lock and the next id; returns (new id, previous row's hash)."""
    head = _head_table()
    claimed = (
        await session.execute(
            update(head)
            .where(head.c.id == HEAD_ROW)
            .values(last_id=head.c.last_id + 1)
            .returning(head.c.last_id, head.c.last_hash)
        )
    ).first()
    if claimed is not None:
        return int(claimed[0]), str(claimed[1])
    # Only a schema made without migrations lacks the head row: start it from the log itself.
    last = (
        await session.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        )
    ).first()
    last_id, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    await session.execute(
        insert(head).values(
            id=HEAD_ROW, last_id=last_id + 1, last_hash=last_hash, encoding_from=last_id + 1
        )
    )
    return last_id + 1, last_hash


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: Actor | None,
    target_type: str = "",
    target_id: str | int = "",
    remote: str = "",
    details: dict[str, Any] | None = None,
    note: str = "",
    now: datetime | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction, chained to the newest row.

    The head row stays locked until the caller's transaction ends, so keep audited
    transactions short.
    """
    new_id, prev_hash = await _claim_next(session)
    event = AuditEvent(
        id=new_id,
        at=_utc(now or utcnow()),
        user_id=actor.user_id if actor else None,
        # Clipped to the columns' sizes: PostgreSQL would refuse longer values, and an
        # audit row must never be the reason a request fails.
        user_name=(actor.name if actor else "")[:200],
        role=actor.role.value if actor else "",
        organisation=(actor.organisation if actor else "")[:64],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        remote=remote[:64],
        details=details or {},
        note=note,
        prev_hash=prev_hash,
    )
    event.hash = digest(*_hashed_values(event))
    session.add(event)
    await session.flush()
    head = _head_table()
    await session.execute(update(head).where(head.c.id == HEAD_ROW).values(last_hash=event.hash))
    return event


# record_many's statements, built once (composing them per call cost as much as running).
_HEAD = _head_table()
_CLAIM = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW)
    .values(last_id=_HEAD.c.last_id + bindparam("count", type_=Integer()))
    .returning(_HEAD.c.last_id, _HEAD.c.last_hash)
)
_INSERT_EVENTS = insert(table_of(AuditEvent))
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ROW).values(last_hash=bindparam("new_hash"))


@dataclass(frozen=True)
class Entry:
    """One event for `record_many`: the arguments `record` takes."""

    action: str
    actor: Actor | None
    target_type: str = ""
    target_id: str | int = ""
    remote: str = ""
    details: dict[str, Any] | None = None
    note: str = ""
    now: datetime | None = None


async def record_many(session: AsyncSession, entries: Sequence[Entry]) -> list[int]:
    """Append several events in the caller's transaction, in order; returns their ids.

    The same rows and hashes as calling `record` once per entry, in three statements
    instead of three per event (claim the ids, insert the rows, move the head), which is
    what keeps a booking's write transaction short.
    """
    if not entries:
        return []
    claimed = (await session.execute(_CLAIM, {"count": len(entries)})).first()
    if claimed is None:  # no head row yet (schema made without migrations): one by one
        return [
            (
                await record(
                    session,
                    e.action,
                    actor=e.actor,
                    target_type=e.target_type,
                    target_id=e.target_id,
                    remote=e.remote,
                    details=e.details,
                    note=e.note,
                    now=e.now,
                )
            ).id
            for e in entries
        ]
    next_id = int(claimed[0]) - len(entries) + 1
    prev_hash = str(claimed[1])
    rows: list[dict[str, Any]] = []
    for offset, entry in enumerate(entries):
        actor = entry.actor
        row: dict[str, Any] = {
            "id": next_id + offset,
            "at": _utc(entry.now or utcnow()),
            "user_id": actor.user_id if actor else None,
            "user_name": (actor.name if actor else "")[:200],
            "role": actor.role.value if actor else "",
            "organisation": (actor.organisation if actor else "")[:64],
            "action": entry.action[:64],
            "target_type": entry.target_type[:32],
            "target_id": str(entry.target_id)[:64],
            "remote": entry.remote[:64],
            "details": entry.details or {},
            "note": entry.note,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = digest(
            row["id"],
            stamp(row["at"]),
            row["user_id"],
            row["user_name"],
            row["role"],
            row["organisation"],
            row["action"],
            row["target_type"],
            row["target_id"],
            row["remote"],
            canonical_json(row["details"]),
            row["note"],
            row["prev_hash"],
        )
        rows.append(row)
    await session.execute(_INSERT_EVENTS, rows)
    await session.execute(_MOVE_HEAD, {"new_hash": prev_hash})
    return [row["id"] for row in rows]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; the audit log stores aware UTC times only")
    return moment.astimezone(UTC)


def _hashed_values(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.id,
        stamp(event.at),
        event.user_id,
        event.user_name,
        event.role,
        event.organisation,
        event.action,
        event.target_type,
        event.target_id,
        event.remote,
        canonical_json(event.details),
        event.note,
        event.prev_hash,
    )


@dataclass(frozen=True)
class Anchor:
    """A row id and its hash, kept outside the database to catch truncation and rewrites."""

    head_id: int
    head_hash: str


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain."""

    rows: int
    first_broken_id: int | None
    problem: str = ""
    head_id: int = 0
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        """True when every row is intact and linked."""
        return self.first_broken_id is None

    @property
    def anchor(self) -> Anchor:
        """The head this report saw, to keep for the next verification."""
        return Anchor(self.head_id, self.head_hash)


class AnchorError(ValueError):
    """An anchor file that cannot be read."""


def read_anchor(path: Path) -> Anchor | None:
    """The anchor kept in `path` by an earlier verification, or None if there is none yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Anchor(int(data["head_id"]), str(data["head_hash"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AnchorError(f"cannot read the anchor file {path}: {error}") from None


def write_anchor(path: Path, report: ChainReport, verified_at: datetime) -> None:
    """Keep the verified head in `path` (replaced atomically) for the next verification."""
    body = {
        "head_id": report.head_id,
        "head_hash": report.head_hash,
        "rows": report.rows,
        "verified_at": verified_at.astimezone(UTC).isoformat(),
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def _columns(dialect: str) -> list[Any]:
    table = AuditEvent.__table__
    at: Any = table.c.at
    if dialect == "sqlite":
        at = type_coerce(at, String)  # stored as the very text `stamp` makes
    elif dialect == "postgresql":
        # Formatted by the server, so no datetime objects are built only to be formatted.
        at = func.to_char(func.timezone("UTC", at), "YYYY-MM-DD HH24:MI:SS.US")
    else:
        at = type_coerce(at, DateTime(timezone=True))
    # The stored details text is what was hashed: read it as is, without parsing it.
    raw = {"details": type_coerce(table.c.details, Text), "at": at}
    return [raw.get(name, table.c[name]) for name in (*HASHED_COLUMNS, "hash")]


async def verify_chain(
    session: AsyncSession,
    batch: int = 20_000,
    anchor: Anchor | None = None,
    *,
    driver_cursor: bool = True,
) -> ChainReport:
    """Walk the log in order and report the first row that was altered, removed or inserted.

    The head row (read first) and an `anchor` from an earlier run are checkpoints: the row
    they name must still be there with the same hash, which catches truncation and
    rewrites. Writers may keep appending meanwhile: both only ever grow. Rows are read as
    plain tuples in batches, straight from the driver's cursor when it is aiosqlite or
    asyncpg (`driver_cursor`): SQLAlchemy's row objects cost more than the hashing does.
    """
    head = (await session.execute(select(AuditHead).where(AuditHead.id == HEAD_ROW))).scalar()
    checkpoints: dict[int, list[tuple[str, str]]] = {}
    if head is not None and head.last_id > 0:
        checkpoints.setdefault(head.last_id, []).append((head.last_hash, "audit_head"))
    if anchor is not None and anchor.head_id > 0:
        checkpoints.setdefault(anchor.head_id, []).append((anchor.head_hash, "the anchor"))
    connection = await session.connection()
    statement = select(*_columns(connection.dialect.name)).order_by(AuditEvent.id)
    batches = (
        _driver_batches(connection, statement, batch)
        if driver_cursor
        else _core_batches(connection, statement, batch)
    )
    try:
        walked = await _walk(batches, head.encoding_from if head else 1, checkpoints)
    finally:
        await batches.aclose()
    if walked.first_broken_id is not None:
        return walked
    rows = walked.rows
    beyond = sorted((row_id, source) for row_id in checkpoints if row_id > rows
                    for _hash, source in checkpoints[row_id])  # fmt: skip
    if beyond:
        row_id, source = beyond[-1]
        problem = f"rows {rows + 1}-{row_id} recorded in {source} are gone (the log was truncated)"
        return ChainReport(rows, rows + 1, problem, rows, walked.head_hash)
    return walked


Batches = AsyncGenerator[Sequence[Sequence[Any]], None]


async def _core_batches(connection: AsyncConnection, statement: Select[Any], size: int) -> Batches:
    result = await connection.stream(statement.execution_options(yield_per=size))
    try:
        async for rows in result.partitions():
            yield rows
    finally:
        await result.close()


async def _driver_batches(
    connection: AsyncConnection, statement: Select[Any], size: int
) -> Batches:
    driver = (await connection.get_raw_connection()).driver_connection
    name = connection.dialect.driver
    if driver is None or name not in ("aiosqlite", "asyncpg"):
        async for rows in _core_batches(connection, statement, size):
            yield rows
        return
    # Its only parameters are constants (time format), inlined so the text runs as is.
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if name == "aiosqlite":
        cursor = await driver.execute(sql)
        try:
            while rows := await cursor.fetchmany(size):
                yield rows
        finally:
            await cursor.close()
        return
    # asyncpg: a server-side cursor inside the transaction the session has already begun.
    pg_cursor = await driver.cursor(sql)
    while rows := await pg_cursor.fetch(size):
        yield rows


def _digest_of(row: Sequence[Any], row_id: int, at: str, encoding_from: int) -> str:
    if row_id < encoding_from:
        return legacy_digest((row_id, at, *tuple(row)[2:13]))
    # Plain indexing: asyncpg records do not slice, and unpacking costs more.
    return digest(
        row_id, at, row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
        row[11], row[12],
    )  # fmt: skip


async def _walk(
    batches: Batches, encoding_from: int, checkpoints: dict[int, list[tuple[str, str]]]
) -> ChainReport:
    prev_hash = GENESIS
    expected = 1
    async for rows in batches:
        for row in rows:
            row_id, at = row[0], row[1]
            if at.__class__ is not str:
                at = stamp(at)
            problem = ""
            if row_id != expected:
                if row_id < expected:
                    problem = f"row {row_id} was inserted before row {expected}"
                else:
                    gap = f"{expected}" if row_id == expected + 1 else f"{expected}-{row_id - 1}"
                    problem = f"row {gap} missing (removed before row {row_id})"
                    row_id = expected
            elif row[12] != prev_hash:
                problem = f"row {row_id} does not follow row {row_id - 1} (its prev_hash differs)"
            elif _digest_of(row, row_id, at, encoding_from) != row[13]:
                problem = f"row {row_id} was altered (its content does not match its hash)"
            elif row_id in checkpoints:
                for expected_hash, source in checkpoints[row_id]:
                    if row[13] != expected_hash:
                        problem = f"row {row_id} differs from {source} (the log was rewritten)"
            if problem:
                return ChainReport(expected - 1, row_id, problem, expected - 1, prev_hash)
            prev_hash = row[13]
            expected += 1
    return ChainReport(expected - 1, None, "", expected - 1, prev_hash)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that differ, as {field: [before, after]} for the log's details."""
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
