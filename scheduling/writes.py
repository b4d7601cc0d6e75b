"""Write transactions for scheduling: the one way bookings and jobs change the database.

Conflict safety comes from the database, not from this process:

- SQLite: every scheduling write runs in `BEGIN IMMEDIATE`, which takes the database's
  write lock before the first read, so the overlap re-check and the insert that follows
  it see no interleaved writer (also across processes). pysqlite's default transaction
  handling only emits its own BEGIN before DML, so a BEGIN IMMEDIATE sent first on a fresh
  session opens the transaction and commit/rollback close it as usual.
  In this process, writers also queue on an asyncio lock first: waiting there is free,
  whereas waiting on SQLite's busy handler sleeps in growing steps and would cap
  throughput at a few dozen bookings a second under contention.
- PostgreSQL: the booking locks the rows of the resources it will hold (`lock_resources`:
  users, then rooms, in id order so two bookings never wait on each other in a cycle),
  re-checks overlaps and inserts. An exclusion constraint on the interviews table
  (migration 0004) backs this up, so even a writer that skipped the locks cannot store an
  overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User
from scheduling.resources import VideoRoom
from scheduling.search_cache import SearchCache

_BEGIN_IMMEDIATE = text("BEGIN IMMEDIATE")


class WriteGate:
    """Opens scheduling write transactions for one database, and holds the cache of slot
    search's static part for it (`search_cache.SearchCache`, checked on every use)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        bind = sessionmaker.kw.get("bind")
        self.dialect = bind.dialect.name if bind is not None else "sqlite"
        self._local = asyncio.Lock()
        self.search_cache = SearchCache()

    @property
    def sqlite(self) -> bool:
        """True on the embedded SQLite database."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction, committed on success, rolled back on error."""
        if self.sqlite:
            # The queue is left at commit; closing the session (a hop to reset the
            # connection) no longer holds up the next writer.
            async with self.sessionmaker() as session, self._local, session.begin():
                await session.execute(_BEGIN_IMMEDIATE)
                yield session
        else:
            async with self.sessionmaker() as session, session.begin():
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (no lock taken)."""
        async with self.sessionmaker() as session:
            yield session


async def lock_resources(
    session: AsyncSession, user_ids: Iterable[int | None], room_ids: Iterable[int]
) -> None:
    """On PostgreSQL, lock the rows of the people and rooms a booking will hold.

    SQLite needs nothing here: the whole transaction already holds the write lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    users = sorted({u for u in user_ids if u is not None})
    rooms = sorted(set(room_ids))
    if users:
        await session.execute(
            select(User.id)
            .where(User.id.in_(users))
            .order_by(User.id)
            .with_for_update(key_share=True)
        )
    if rooms:
        await session.execute(
            select(VideoRoom.id)
            .where(VideoRoom.id.in_(rooms))
            .order_by(VideoRoom.id)
            .with_for_update(key_share=True)
        )
