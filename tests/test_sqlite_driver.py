"""The one-hop aiosqlite cursor: same results as aiosqlite's, one trip to its thread per
statement, longer results fetched in batches, errors raised as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from interviews import sqlite_driver
from interviews.db import make_engine, make_sessionmaker


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls into aiosqlite's worker thread."""
    counted = [0]
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counted[0] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return counted


async def test_statements_take_one_hop_and_long_results_arrive_whole(
    tmp_path: Path, hops: list[int]
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    sessions = make_sessionmaker(engine)
    rows = sqlite_driver.BATCH * 2 + 500
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, word TEXT)"))
            await session.execute(
                text("INSERT INTO t (n, word) VALUES (:n, :word)"),
                [{"n": n, "word": f"w{n}"} for n in range(rows)],
            )
        async with sessions() as session:
            before = hops[0]
            one = (await session.execute(text("SELECT word FROM t WHERE n = 7"))).all()
            assert one == [("w7",)]
            assert hops[0] - before == 1  # cursor, execute, fetch and close in one trip
            everything = (await session.execute(text("SELECT n FROM t ORDER BY n"))).all()
            assert [n for (n,) in everything] == list(range(rows))
        async with engine.connect() as connection:  # a server-side cursor, in pieces
            result = await connection.stream(
                text("SELECT n FROM t ORDER BY n").execution_options(yield_per=300)
            )
            streamed = [n async for (n,) in result]
            assert streamed == list(range(rows))
        async with sessions() as session:
            with pytest.raises(IntegrityError):
                await session.execute(text("INSERT INTO t (n, word) VALUES (1, 'again')"))
            await session.rollback()
            assert await session.scalar(text("SELECT count(*) FROM t")) == rows
    finally:
        await engine.dispose()


async def test_closing_a_session_that_only_read_takes_no_hop_and_writes_still_end_right(
    tmp_path: Path, hops: list[int]
) -> None:
    """Commit and rollback skip their hop only when no transaction is open."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        before = hops[0]
        async with sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 0
        assert hops[0] - before == 1  # the statement; the session's and pool's resets: none

        before = hops[0]
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (n) VALUES (1)"))
        assert hops[0] - before == 2  # the statement and its commit
        # A transaction a failed statement left open is rolled back, with the rows before.
        async with sessions() as session:
            await session.execute(text("INSERT INTO t (n) VALUES (2)"))
            with pytest.raises(IntegrityError):
                await session.execute(text("INSERT INTO t (n) VALUES (1)"))
            await session.rollback()
        async with sessions() as session:
            assert (await session.execute(text("SELECT n FROM t"))).all() == [(1,)]
        # Even when the failed statement was the first: pysqlite had begun a transaction
        # (holding the write lock) before running it.
        async with sessions() as session:
            with pytest.raises(IntegrityError):
                await session.execute(text("INSERT INTO t (n) VALUES (1)"))
            before = hops[0]
            await session.rollback()
            assert hops[0] - before == 1
        # SQL run through aiosqlite itself, outside the one-hop cursor, is rolled back too.
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, sqlite_driver.OneHopConnection)
            await driver.execute("INSERT INTO t (n) VALUES (3)")
            await driver.rollback()
        async with sessions() as session:
            assert (await session.execute(text("SELECT n FROM t"))).all() == [(1,)]
    finally:
        await engine.dispose()
