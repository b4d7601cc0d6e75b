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

Booking requests that arrive while one is being written wait and go together in the next
transaction (`WriteGate.together`): one BEGIN IMMEDIATE ... COMMIT and a few multi-row
statements for the lot, instead of ten statements each with the lock held between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.accounts import User
from scheduling.resources import VideoRoom
from scheduling.search_cache import SearchCache

_BEGIN_IMMEDIATE = text("BEGIN IMMEDIATE")

T = TypeVar("T")
R = TypeVar("R")
# Writes a batch: one result or exception per item, in order (`WriteGate.together`).
BatchWrite = Callable[["WriteGate", list[T]], Awaitable[list[R | Exception]]]


class _Batches(Generic[T, R]):
    """Items waiting for one batch writer, and the task writing them (while there are any)."""

    def __init__(self, write: BatchWrite[T, R]) -> None:
        self.write = write
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.task: asyncio.Task[None] | None = None

    async def drain(self, gate: WriteGate) -> None:
        while self.waiting:
            # Callers that gave up (a closed connection cancels its handler) are left out.
            batch = [(item, future) for item, future in self.waiting if not future.done()]
            self.waiting = []
            if not batch:
                continue
            try:
                results = await self.write(gate, [item for item, _ in batch])
            except Exception as error:  # the batch writer's own failure: every item's
                results = [error] * len(batch)
            except BaseException:  # shutdown: nobody is left to write for the callers
                for _, future in batch + self.waiting:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


class WriteGate:
    """Opens scheduling write transactions for one database, and holds the cache of slot
    search's static part for it (`search_cache.SearchCache`, checked on every use)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        bind = sessionmaker.kw.get("bind")
        self.dialect = bind.dialect.name if bind is not None else "sqlite"
        self._local = asyncio.Lock()
        self.search_cache = SearchCache()
        self._batches: dict[object, _Batches[Any, Any]] = {}

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

    async def together(self, write: BatchWrite[T, R], item: T) -> R:
        """`write` the item in a batch with the items that arrive while the previous batch
        is written: one task per `write` writes batch after batch until none is waiting,
        and each caller gets its own item's result or exception."""
        batches: _Batches[T, R] = self._batches.setdefault(write, _Batches(write))
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        batches.waiting.append((item, future))
        if batches.task is None or batches.task.done():
            batches.task = asyncio.create_task(batches.drain(self))
        return await future

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
