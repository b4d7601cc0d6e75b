"""Database plumbing: the declarative base, engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, MetaData, Table, TypeDecorator, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from interviews import sqlite_driver

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MMAP_BYTES = 256 * 1024 * 1024  # of the SQLite file mapped into memory (shared page cache)
# Connections one process keeps, and never more: a connection over the pool's size is
# closed when it is handed back, so under load the old 5 + 10 overflow opened one for
# every two or three requests (an aiosqlite thread, the file, the pragmas: 800 opens in
# 2,000 bookings at 50 clients, two thirds more CPU per booking; bench/README.md). Past
# 20 busy sessions, requests wait for one (up to `pool_timeout`, 30 s).
POOL_SIZE = 20

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every consulink table."""

    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A model's Core table: statements on it skip the ORM's work per statement, which is
    what hot paths (booking's locked write, slot search) cannot afford."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; consulink stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def make_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"timeout": 30}
        if url.startswith("sqlite+aiosqlite"):
            # One hop to aiosqlite's thread per statement (see sqlite_driver).
            connect_args["async_creator_fn"] = sqlite_driver.connect
        engine = create_async_engine(
            url, connect_args=connect_args, pool_size=POOL_SIZE, max_overflow=0
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Read pages through the OS page cache instead of copying them in: statistics
            # and searches hop around large indexes (about 15 % faster on 100,000 cases).
            cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=POOL_SIZE, max_overflow=0, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def _run_alembic(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: action(_alembic_config(sync_conn)))


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Apply migrations up to `revision` on the given engine."""
    await _run_alembic(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Revert migrations down to `revision`."""
    await _run_alembic(engine, lambda cfg: command.downgrade(cfg, revision))
