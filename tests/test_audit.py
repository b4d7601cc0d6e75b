"""The audit log's hash chain: every tampering an operator worries about is named by row.

Rows are tampered with through plain SQL, as someone with database access would; the
verifier then has to name the first broken row and say why.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.access import Actor
from interviews.accounts import Role
from interviews.audit import (
    GENESIS,
    HASHED_COLUMNS,
    Anchor,
    AuditEvent,
    AuditHead,
    ChainReport,
    Entry,
    canonical_json,
    digest,
    record,
    record_many,
    stamp,
    verify_chain,
)
from interviews.db import UTCDateTime, downgrade, make_engine, make_sessionmaker, upgrade
from tests.conftest import World, sign_in
from web.cli import main
from web.settings import Settings

Sessions = async_sessionmaker[AsyncSession]
LEGACY_TABLE = sa.table(
    "audit_events",
    *(sa.column(name) for name in HASHED_COLUMNS if name not in ("at", "details")),
    sa.column("at", UTCDateTime),
    sa.column("details", sa.JSON),
    sa.column("hash"),
)
ACTOR = Actor(user_id=7, name="Ana Pérez | staff", role=Role.STAFF, facility_id=1)


async def _write(db: Sessions, count: int) -> None:
    for i in range(count):
        async with db() as session, session.begin():
            await record(
                session,
                "case.view",
                actor=ACTOR,
                target_type="case",
                target_id=i + 1,
                remote="10.0.0.9",
                details={"n": i, "name": "Zoë <b>"},
                note="" if i % 2 else "first look",
            )


async def _verify(db: Sessions, anchor: Anchor | None = None, **options: Any) -> ChainReport:
    async with db() as session:
        return await verify_chain(session, batch=3, anchor=anchor, **options)


async def _sql(db: Sessions, statement: Any, **params: Any) -> None:
    async with db() as session, session.begin():
        await session.execute(statement, params)


async def _hash_of(db: Sessions, row_id: int) -> str:
    async with db() as session:
        found = await session.scalar(select(AuditEvent.hash).where(AuditEvent.id == row_id))
    assert found is not None
    return found


@pytest.fixture
def run_audit_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """`await run_audit_cli(*args)` -> (exit status, stdout, stderr) on the test's database."""
    monkeypatch.setenv("CONSULINK_DATABASE_URL", settings.resolved_database_url)

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        # Each command runs its own event loop, so in a thread of its own.
        status = await asyncio.to_thread(main, [*args, "--data-dir", str(settings.data_dir)])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture(params=[True, False], ids=["driver-cursor", "core-rows"])
def reader(request: pytest.FixtureRequest) -> dict[str, bool]:
    """Both ways of reading the log must find the same breaks."""
    return {"driver_cursor": bool(request.param)}


async def test_signing_in_and_a_refused_request_leave_an_intact_chain(
    client: TestClient[Any, Any], world: World, db: Sessions
) -> None:
    await sign_in(client, "staff@example.org")
    assert (await client.get("/api/audit")).status == 403  # staff may not read the log
    report = await _verify(db)
    assert report.ok, report.problem
    async with db() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == ["auth.login", "auth.forbidden"]
    assert report.rows == 2 and report.head_id == 2


async def test_the_hash_covers_every_column(db: Sessions, reader: dict[str, bool]) -> None:
    columns = {column.name for column in AuditEvent.__table__.columns}
    assert columns == {*HASHED_COLUMNS, "hash"}, "a new column must be added to the encoding"
    await _write(db, 5)
    other = datetime(2020, 1, 1, tzinfo=UTC)
    changed_values: dict[str, Any] = {
        "at": other,
        "user_id": 8,
        "user_name": "Someone Else",
        "role": "admin",
        "organisation": "facility:2",
        "action": "case.edit",
        "target_type": "document",
        "target_id": "999",
        "remote": "10.0.0.10",
        "details": {"n": 2, "name": "Zoë"},
        "note": "edited",
    }
    assert set(changed_values) == set(HASHED_COLUMNS) - {"id", "prev_hash"}
    for column, value in changed_values.items():
        async with db() as session:
            original = await session.scalar(
                select(getattr(AuditEvent, column)).where(AuditEvent.id == 3)
            )
        await _sql(db, update(AuditEvent).where(AuditEvent.id == 3).values({column: value}))
        report = await _verify(db, **reader)
        assert (report.first_broken_id, report.rows) == (3, 2), column
        assert "row 3 was altered" in report.problem, column
        await _sql(db, update(AuditEvent).where(AuditEvent.id == 3).values({column: original}))
    assert (await _verify(db, **reader)).ok


async def test_the_stored_details_text_is_what_is_hashed(
    db: Sessions, reader: dict[str, bool]
) -> None:
    await _write(db, 4)
    # The same JSON value with a space: a reader would not notice, the verifier does.
    await _sql(
        db, text("UPDATE audit_events SET details = :d WHERE id = 2"), d='{"n": 1,"name":"Zoë <b>"}'
    )
    report = await _verify(db, **reader)
    assert report.first_broken_id == 2 and "altered" in report.problem


async def test_a_changed_link_is_named(db: Sessions, reader: dict[str, bool]) -> None:
    await _write(db, 4)
    await _sql(db, text("UPDATE audit_events SET prev_hash = :h WHERE id = 3"), h="f" * 64)
    report = await _verify(db, **reader)
    assert report.first_broken_id == 3
    assert report.problem == "row 3 does not follow row 2 (its prev_hash differs)"


async def test_a_row_deleted_from_the_middle_is_named(
    db: Sessions, reader: dict[str, bool]
) -> None:
    await _write(db, 6)
    await _sql(db, delete(AuditEvent).where(AuditEvent.id == 4))
    report = await _verify(db, **reader)
    assert (report.first_broken_id, report.rows) == (4, 3)
    assert report.problem == "row 4 missing (removed before row 5)"


async def _forge(db: Sessions, row_id: int, prev_hash: str, *, correct_hash: bool) -> None:
    values: dict[str, Any] = {
        "id": row_id,
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "user_id": 1,
        "user_name": "Intruder",
        "role": "admin",
        "organisation": "",
        "action": "case.view",
        "target_type": "case",
        "target_id": "1",
        "remote": "",
        "details": {},
        "note": "",
        "prev_hash": prev_hash,
    }
    encoded = {**values, "at": stamp(values["at"]), "details": canonical_json({})}
    good = digest(*(encoded[name] for name in HASHED_COLUMNS))
    await _sql(db, insert(AuditEvent).values(**values, hash=good if correct_hash else "0" * 64))


async def test_an_inserted_row_is_named(db: Sessions, reader: dict[str, bool]) -> None:
    await _write(db, 5)
    # Make room after row 2 (one row at a time: PostgreSQL checks the key per row).
    for row_id in (5, 4, 3):
        await _sql(db, update(AuditEvent).where(AuditEvent.id == row_id).values(id=row_id + 1))
    await _forge(db, 3, await _hash_of(db, 2), correct_hash=False)
    report = await _verify(db, **reader)
    assert report.first_broken_id == 3 and "row 3 was altered" in report.problem

    # Even a well-forged row shows: the row after it was renumbered, and ids are hashed.
    await _sql(db, delete(AuditEvent).where(AuditEvent.id == 3))
    await _forge(db, 3, await _hash_of(db, 2), correct_hash=True)
    report = await _verify(db, **reader)
    assert report.first_broken_id == 4 and "row 4" in report.problem


async def test_a_row_inserted_before_the_first_is_named(
    db: Sessions, reader: dict[str, bool]
) -> None:
    await _write(db, 3)
    await _forge(db, 0, GENESIS, correct_hash=True)
    report = await _verify(db, **reader)
    assert report.first_broken_id == 0
    assert report.problem == "row 0 was inserted before row 1"


async def test_tail_truncation_is_caught_by_the_head_row_and_by_an_anchor(
    db: Sessions, reader: dict[str, bool]
) -> None:
    await _write(db, 6)
    anchor = (await _verify(db)).anchor
    assert anchor.head_id == 6
    await _sql(db, delete(AuditEvent).where(AuditEvent.id > 4))
    report = await _verify(db, **reader)
    assert report.first_broken_id == 5
    assert report.problem == "rows 5-6 recorded in audit_head are gone (the log was truncated)"

    # Someone who also rewinds the head row defeats the chain alone...
    await _sql(
        db,
        update(AuditHead).values(last_id=4, last_hash=await _hash_of(db, 4)),
    )
    assert (await _verify(db, **reader)).ok
    # ...but not the anchor kept outside the database.
    report = await _verify(db, anchor, **reader)
    assert report.first_broken_id == 5
    assert report.problem == "rows 5-6 recorded in the anchor are gone (the log was truncated)"


async def test_a_rewritten_log_with_recomputed_hashes_is_caught_only_by_an_anchor(
    db: Sessions, reader: dict[str, bool]
) -> None:
    await _write(db, 5)
    anchor = (await _verify(db)).anchor
    async with db() as session, session.begin():
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        prev = GENESIS
        for event in rows:
            if event.id == 2:
                event.note = "nothing happened here"
            event.prev_hash = prev
            event.hash = digest(
                *(
                    stamp(event.at) if name == "at"
                    else canonical_json(event.details) if name == "details"
                    else getattr(event, name)
                    for name in HASHED_COLUMNS
                )
            )  # fmt: skip
            prev = event.hash
        await session.execute(update(AuditHead).values(last_hash=prev))
    assert (await _verify(db, **reader)).ok
    report = await _verify(db, anchor, **reader)
    assert report.first_broken_id == 5
    assert report.problem == "row 5 differs from the anchor (the log was rewritten)"


async def test_concurrent_writers_never_fork_the_chain(db: Sessions) -> None:
    """Writers interleave between reading and appending; none may chain onto a stale head."""
    writers, each = 6, 5

    async def writer(number: int) -> None:
        for i in range(each):
            async with db() as session, session.begin():
                # Read first, as a request handler does, then yield to the others.
                await session.execute(select(func.count(AuditEvent.id)))
                await asyncio.sleep(0)
                await record(session, "case.view", actor=ACTOR, target_id=f"{number}-{i}")
                await asyncio.sleep(0)

    async def verifier() -> list[ChainReport]:
        reports = []
        for _ in range(5):
            reports.append(await _verify(db))
            await asyncio.sleep(0)
        return reports

    *_, during = await asyncio.gather(*(writer(n) for n in range(writers)), verifier())
    assert all(report.ok for report in during), [r.problem for r in during]
    report = await _verify(db)
    assert report.ok, report.problem
    assert report.rows == writers * each


async def test_record_many_writes_what_record_would_and_keeps_one_chain(db: Sessions) -> None:
    """A batch (as a booking writes) gives the rows and hashes of one `record` per event,
    in order, also while single writers append at the same time."""
    moment = datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=UTC)
    entries = [
        Entry("case.status", ACTOR, "case", 5, "10.0.0.9", {"from": "open"}, "why", moment),
        Entry("interview.request", None, "interview", 9, details={"case_id": 5}, now=moment),
    ]

    async def batch(times: int) -> list[list[int]]:
        written = []
        for _ in range(times):
            async with db() as session, session.begin():
                written.append(await record_many(session, entries))
                await asyncio.sleep(0)
        return written

    async def single(times: int) -> None:
        for i in range(times):
            async with db() as session, session.begin():
                await record(session, "case.view", actor=ACTOR, target_id=i)
                await asyncio.sleep(0)

    batches, _ = await asyncio.gather(batch(5), single(5))
    assert all(second == first + 1 for first, second in batches)
    report = await _verify(db)
    assert report.ok, report.problem
    assert report.rows == 15
    async with db() as session:
        rows = (
            await session.scalars(select(AuditEvent).where(AuditEvent.id.in_(batches[0])))
        ).all()
    first, second = sorted(rows, key=lambda row: row.id)
    assert (first.action, first.user_id, first.target_id, first.remote, first.note) == (
        "case.status", 7, "5", "10.0.0.9", "why"
    )  # fmt: skip
    assert (second.action, second.user_id, second.role, second.prev_hash) == (
        "interview.request", None, "", first.hash
    )  # fmt: skip
    assert first.at == moment and first.details == {"from": "open"}


async def test_two_engines_writing_at_once_share_one_chain(db: Sessions, database_url: str) -> None:
    """Like two server processes on one database: separate connection pools."""
    other = make_engine(database_url)
    try:
        second = make_sessionmaker(other)

        async def burst(sessions: Sessions, tag: str) -> None:
            for i in range(8):
                async with sessions() as session, session.begin():
                    await record(session, "case.view", actor=ACTOR, target_id=f"{tag}{i}")
                    await asyncio.sleep(0)

        await asyncio.gather(burst(db, "a"), burst(second, "b"), burst(db, "c"))
    finally:
        await other.dispose()
    report = await _verify(db)
    assert report.ok and report.rows == 24


async def test_rows_written_before_the_encoding_change_still_verify(
    database_url: str,
) -> None:
    """A database that already had audit rows at revision 0002 upgrades without re-hashing."""
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0002")
        prev = GENESIS
        start = datetime(2026, 11, 1, tzinfo=UTC)
        async with engine.begin() as conn:
            for i in range(1, 4):
                content = {
                    "id": i,
                    "at": (start + timedelta(minutes=i)).isoformat(),
                    "user_id": None,
                    "user_name": "",
                    "role": "",
                    "organisation": "",
                    "action": "auth.login_failed",
                    "target_type": "user",
                    "target_id": "x@example.org",
                    "remote": "127.0.0.1",
                    "details": {"locked": False},
                    "note": "",
                    "prev_hash": prev,
                }
                canonical = json.dumps(
                    content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
                row_hash = hashlib.sha256(canonical.encode()).hexdigest()
                # Stored as revision 0002's model stored rows: JSON column, aware UTC time.
                await conn.execute(
                    insert(LEGACY_TABLE).values(
                        {**content, "at": start + timedelta(minutes=i), "hash": row_hash}
                    )
                )
                prev = row_hash
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        await _write(sessions, 2)
        async with sessions() as session:
            head = await session.get(AuditHead, 1)
            assert head is not None and head.encoding_from == 4 and head.last_id == 5
            assert (await verify_chain(session)).ok
        await _sql(
            sessions, text("UPDATE audit_events SET target_id = 'y@example.org' WHERE id = 2")
        )
        async with sessions() as session:
            report = await verify_chain(session)
        assert report.first_broken_id == 2 and "altered" in report.problem
        await downgrade(engine, "0002")
    finally:
        await engine.dispose()


async def test_audit_verify_command_reports_and_keeps_an_anchor(
    run_audit_cli: Any, db: Sessions, tmp_path: Path
) -> None:
    await _write(db, 4)
    status, out, _ = await run_audit_cli("audit", "verify")
    assert status == 0
    assert out.splitlines()[0] == "4 rows, chain intact"
    assert f"head: row 4 sha256 {await _hash_of(db, 4)}" in out

    anchor_file = tmp_path / "audit-anchor.json"
    status, out, _ = await run_audit_cli("audit", "verify", "--anchor", str(anchor_file))
    assert status == 0 and "head saved to" in out
    assert json.loads(anchor_file.read_text())["head_id"] == 4

    await _write(db, 2)
    status, out, _ = await run_audit_cli("audit", "verify", "--anchor", str(anchor_file))
    assert status == 0 and "row 4 matched" in out
    assert json.loads(anchor_file.read_text())["head_id"] == 6

    await _sql(db, text("UPDATE audit_events SET user_name = 'Nobody' WHERE id = 3"))
    status, out, _ = await run_audit_cli("audit", "verify", "--anchor", str(anchor_file))
    assert status == 1
    assert out.splitlines()[0] == (
        "chain broken at row 3: row 3 was altered (its content does not match its hash)"
    )
    assert "2 rows before it are intact." in out
    # A broken chain never moves the anchor forward.
    assert json.loads(anchor_file.read_text())["head_id"] == 6

    anchor_file.write_text("not json")
    status, _, err = await run_audit_cli("audit", "verify", "--anchor", str(anchor_file))
    assert status == 2 and "cannot read the anchor file" in err


async def test_overlong_values_are_clipped_not_refused(db: Sessions) -> None:
    """A failed sign-in with a 300-character e-mail must still be recorded (PostgreSQL too)."""
    async with db() as session, session.begin():
        event = await record(
            session,
            "auth.login_failed",
            actor=None,
            target_type="user",
            target_id="x" * 300 + "@example.org",
            remote="2001:db8::" + "f" * 100,
            details={"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
        )
    assert len(event.target_id) == 64 and len(event.remote) == 64
    async with db() as session:
        stored = await session.get(AuditEvent, event.id)
        assert stored is not None and stored.details == {"when": "2026-01-02T03:04:05+00:00"}
        assert (await verify_chain(session)).ok
