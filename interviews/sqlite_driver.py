"""aiosqlite with one trip to its worker thread per statement instead of three or four.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches and closes as separate
awaits, each a hop to aiosqlite's thread and back to the event loop (a queue put, a
thread wake-up, a `call_soon_threadsafe`, and a wait for the busy loop to get round to
it). Here a cursor runs cursor + execute + fetch (+ close) as one function in that thread
and hands back the rows: a booking went from 126 hops to 31, a slot search from 62 to 19
(bench/README.md). Results longer than `BATCH` rows keep their cursor open and fetch the
rest on later hops, so streamed reads (the audit log) stay bounded in memory; reading all
that is left closes the cursor in the same hop. Commit and rollback with no transaction
open (a session that only read, closing) take no hop at all.

It relies on two internals of aiosqlite (0.20 to 0.22) that SQLAlchemy's own adapter also
uses: `Connection._execute(fn)` (run `fn` in the connection's thread) and
`Connection._conn` (the sqlite3 connection, only touched inside that thread).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from threading import Thread
from typing import Any, TypeVar

import aiosqlite

BATCH = 1000  # rows fetched in the same hop as the statement
T = TypeVar("T")


class OneHopCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy uses, one hop per execute."""

    def __init__(self, connection: aiosqlite.Connection, owner: OneHopConnection) -> None:
        self._connection = connection
        self._owner = owner
        self._open: sqlite3.Cursor | None = None  # only while rows remain to be fetched
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def _run(self, fn: Callable[[], T]) -> Awaitable[T]:
        return self._connection._execute(fn)  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _start(self, call: Callable[[sqlite3.Cursor], object]) -> Any:
        """In the worker thread: run the statement and take the first batch of rows."""
        connection: sqlite3.Connection = self._connection._conn
        cursor = connection.cursor()
        try:
            call(cursor)
            rows = cursor.fetchmany(BATCH) if cursor.description else []
            state = (cursor.description, cursor.rowcount, cursor.lastrowid)
            if len(rows) < BATCH:
                cursor.close()
                return rows, state, None
            return rows, state, cursor
        except BaseException:
            cursor.close()
            raise
        finally:
            # Also after a failed statement: pysqlite may have opened a transaction first.
            self._owner.idle = not connection.in_transaction

    async def _begin(self, call: Callable[[sqlite3.Cursor], object]) -> OneHopCursor:
        await self.close()
        rows, state, self._open = await self._run(lambda: self._start(call))
        self._rows = deque(rows)
        self.description, self.rowcount, self.lastrowid = state
        return self

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        """Run one statement (and fetch its first rows) in one hop."""
        if parameters is None:
            return await self._begin(lambda cursor: cursor.execute(sql))
        return await self._begin(lambda cursor: cursor.execute(sql, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneHopCursor:
        """Run one statement for many parameter sets in one hop."""
        return await self._begin(lambda cursor: cursor.executemany(sql, parameters))

    async def fetchone(self) -> Any:
        """The next row, or None."""
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to `size` rows (the cursor's arraysize by default)."""
        wanted = size or self.arraysize
        if len(self._rows) < wanted and self._open is not None:
            opened = self._open
            more = await self._run(lambda: opened.fetchmany(max(BATCH, wanted)))
            self._rows.extend(more)
            if not more:
                await self.close()
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> Sequence[Any]:
        """Every remaining row."""
        rows = list(self._rows)
        self._rows.clear()
        if self._open is not None:
            opened, self._open = self._open, None
            rows.extend(await self._run(lambda: _drain(opened)))
        return rows

    async def close(self) -> None:
        """Release the thread-side cursor, if rows were left unread."""
        if self._open is not None:
            opened, self._open = self._open, None
            await self._run(opened.close)


def _drain(cursor: sqlite3.Cursor) -> list[Any]:
    """In the worker thread: the remaining rows, and the cursor closed, in one hop."""
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


# aiosqlite methods that run SQL outside OneHopCursor: after them, commit and rollback no
# longer know whether a transaction is open, so they always make their hop.
_UNTRACKED = frozenset({"execute", "executemany", "executescript", "execute_fetchall", "_tx"})


class OneHopConnection:
    """An aiosqlite connection whose cursors are `OneHopCursor`s; all else is aiosqlite's.

    Commit and rollback skip their hop when no transaction is open: SQLAlchemy rolls back
    twice when a session that only read closes (the session, then the pool's reset), and
    pysqlite opens no transaction for reads, so both were trips to do nothing.
    """

    def __init__(self, inner: aiosqlite.Connection) -> None:
        self._inner = inner
        # Whether the sqlite3 connection is outside any transaction, as it was left by the
        # last statement, commit or rollback (read in the worker thread, after it).
        self.idle = True

    def cursor(self) -> OneHopCursor:
        """A cursor that runs each statement in one hop."""
        return OneHopCursor(self._inner, self)

    async def commit(self) -> None:
        """Commit the open transaction, if there is one."""
        if not self.idle:
            await self._inner._execute(self._finish, "commit")  # type: ignore[no-untyped-call]

    async def rollback(self) -> None:
        """Roll back the open transaction, if there is one."""
        if not self.idle:
            await self._inner._execute(self._finish, "rollback")  # type: ignore[no-untyped-call]

    def _finish(self, how: str) -> None:
        connection: sqlite3.Connection = self._inner._conn
        try:
            getattr(connection, how)()
        finally:
            self.idle = not connection.in_transaction

    def __getattr__(self, name: str) -> Any:
        if name in _UNTRACKED:
            self.idle = False
        return getattr(self._inner, name)


async def connect(*args: Any, **kwargs: Any) -> OneHopConnection:
    """aiosqlite.connect, wrapped (SQLAlchemy's `async_creator_fn` connect argument)."""
    pending = aiosqlite.connect(*args, **kwargs)
    # As SQLAlchemy does, never let the thread keep the process alive; before aiosqlite
    # 0.22 the connection was itself the thread.
    thread = pending if isinstance(pending, Thread) else getattr(pending, "_thread", None)
    if thread is not None:
        thread.daemon = True
    return OneHopConnection(await pending)
