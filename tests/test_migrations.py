"""Migrations build exactly the schema the models describe, from an empty database.

Alembic's own autogenerate comparison is the judge, so a model changed without a migration
(or a migration that differs from its model) fails here, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from interviews.db import MIGRATIONS_DIR, downgrade, make_engine, upgrade
from interviews.models import Base


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def _drift(engine: AsyncEngine) -> list[Any]:
    """What `alembic revision --autogenerate` would put in a new migration (should be [])."""

    def compare(sync: Connection) -> list[Any]:
        # The same options as interviews/migrations/env.py uses to generate migrations.
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def test_migrations_from_an_empty_database_build_every_table_of_the_models(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        assert await _tables(engine) == set()
        await upgrade(engine)
        assert await _tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
        assert await _drift(engine) == []
        # A second upgrade (every `serve` start does one) finds nothing to do.
        await upgrade(engine)
        assert await _drift(engine) == []
    finally:
        await engine.dispose()


async def test_every_migration_can_be_reverted_and_applied_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        await downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        await upgrade(engine)
        assert await _tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
        assert await _drift(engine) == []
    finally:
        await engine.dispose()


def test_the_migration_history_has_one_head() -> None:
    """Branches grown in parallel are joined by a merge revision before they land."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: add a merge revision"
